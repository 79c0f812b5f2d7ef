"""The disk cache runs the object code it loads, so it must load only what this process (or another
of ours) compiled for exactly this key: not through a swapped directory or a symbolic link, not a
file others could write, not a valid entry of other code copied under this key. And a cache that
cannot be written must only cost compiles (issue 11, items 9-11)."""

import ctypes
import errno
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fnad
from fnad.passes import prepare_for_compile
from fnad_compiler import cache, compile_jaxpr

IR = "define i64 @f(i64 %a) {\n  %b = mul i64 %a, FACTOR\n  ret i64 %b\n}\n"
KEY_TEXT = "the same key text for every factor"


def times(factor, calls=None):
    """A build of `f(a) = a * factor`, under KEY_TEXT whatever the factor (as if other code had been
    stored under our key)."""

    def build():
        if calls is not None:
            calls.append(factor)
        return IR.replace("FACTOR", str(factor)), ["f"], {}

    return build


def run(compiled, x):
    return compiled.library.function("f", ctypes.c_int64, ctypes.c_int64)(x)


def entry_path(directory, key_text=KEY_TEXT):
    return directory / (cache.cache_key(key_text) + ".fnad")


@pytest.fixture
def foreign_entry(tmp_path):
    """A valid entry under KEY_TEXT's key whose code multiplies by 5: what an attacker would plant."""
    other = tmp_path / "other"
    assert run(cache.Cache(disk=cache.DiskCache(other)).get_or_compile(KEY_TEXT, times(5)), 1) == 5
    return entry_path(other)


def compile_times_3(directory):
    """Compile-or-load KEY_TEXT in a fresh in-memory cache over `directory`: (result of f(2), builds)."""
    calls = []
    c = cache.Cache(disk=cache.DiskCache(directory))
    return run(c.get_or_compile(KEY_TEXT, times(3, calls)), 2), calls, c.stats()


# ------------------------------------------------------------------------------------------------
# Item 9: the directory is opened once, every file is reached through it and checked


def test_symlinked_cache_directory_is_refused(tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.warns(RuntimeWarning, match="symbolic link") as record:
        disk = cache.DiskCache(link)
    assert len(record) == 1 and not disk.enabled and disk.get(cache.cache_key("x")) is None
    disk.put(cache.cache_key("x"), b"obj")  # a disabled cache stores nothing, silently
    assert list(real.iterdir()) == []


def test_symlinked_cache_directory_warns_once_and_jit_still_computes(tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(real)
    script = textwrap.dedent("""
        import numpy as np, fnad
        x = np.arange(4.0)
        assert np.array_equal(fnad.jit(lambda x: x * 100.0)(x), x * 100.0)
        assert np.array_equal(fnad.jit(lambda x: x + 1.0)(x), x + 1.0)
        print("ok")
    """)
    env = dict(os.environ, FNAD_CACHE_DIR=str(tmp_path / "link"))
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, check=False, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
    assert out.stderr.count("disk cache disabled") == 1 and "symbolic link" in out.stderr
    assert list(real.iterdir()) == []


def test_symlinked_entry_is_refused_and_recompiled(tmp_path, foreign_entry):
    mine = tmp_path / "mine"
    cache.DiskCache(mine)
    entry_path(mine).symlink_to(foreign_entry)
    with pytest.warns(RuntimeWarning, match="symbolic link"):
        value, calls, stats = compile_times_3(mine)
    assert value == 6 and calls == [3] and stats["refused"] == 1
    assert not entry_path(mine).is_symlink()  # replaced by our own entry
    assert compile_times_3(mine)[:2] == (6, [])


@pytest.mark.parametrize("unsafe", ["group_writable", "world_writable", "other_owner", "fifo"])
def test_entry_not_safely_ours_is_refused_and_recompiled(tmp_path, foreign_entry, unsafe):
    mine = tmp_path / "mine"
    cache.DiskCache(mine)
    path = entry_path(mine)
    if unsafe == "fifo":  # must not hang the reader
        os.mkfifo(path, 0o600)
    else:
        shutil.copyfile(foreign_entry, path)
        path.chmod({"group_writable": 0o620, "world_writable": 0o602}.get(unsafe, 0o600))
    if unsafe == "other_owner":
        if os.geteuid() != 0:
            pytest.skip("only root can give a file to another user")
        os.chown(path, 65534, 65534)
    with pytest.warns(RuntimeWarning, match="not loaded"):
        value, calls, stats = compile_times_3(mine)
    assert value == 6 and calls == [3] and stats["refused"] == 1


def test_directory_swapped_after_open_does_not_redirect_reads(tmp_path):
    path = tmp_path / "cache"
    disk = cache.DiskCache(path)
    assert run(cache.Cache(disk=disk).get_or_compile(KEY_TEXT, times(3)), 2) == 6
    path.rename(tmp_path / "moved")
    assert run(cache.Cache(disk=cache.DiskCache(path)).get_or_compile(KEY_TEXT, times(5)), 2) == 10
    calls = []
    fresh = cache.Cache(disk=disk)  # empty memory cache: this is a disk read through the handle
    assert run(fresh.get_or_compile(KEY_TEXT, times(7, calls)), 2) == 6
    assert calls == [] and fresh.stats()["disk_hits"] == 1


def test_missing_parents_are_created_private(tmp_path):
    disk = cache.DiskCache(tmp_path / "home" / ".cache" / "fnad")
    assert disk.enabled
    for p in [tmp_path / "home", tmp_path / "home" / ".cache", tmp_path / "home" / ".cache" / "fnad"]:
        assert p.stat().st_mode & 0o777 == 0o700


# ------------------------------------------------------------------------------------------------
# Item 10: an entry names its key and signature


def test_cache_refuses_file_copied_under_another_key(tmp_path):
    disk = cache.DiskCache(tmp_path / "c")
    k1, k2 = cache.cache_key("one"), cache.cache_key("two")
    disk.put(k1, b"\x7fELF one", {})
    shutil.copyfile(disk.directory / (k1 + ".fnad"), disk.directory / (k2 + ".fnad"))
    assert disk.get(k2) is None and disk.refused == 1 and not (disk.directory / (k2 + ".fnad")).exists()
    assert disk.get(k1) == (b"\x7fELF one", {})


def test_cache_refuses_entry_stored_with_another_signature(tmp_path):
    calls = []
    first = cache.Cache(disk=cache.DiskCache(tmp_path / "c"))
    first.get_or_compile(KEY_TEXT, times(5, calls), signature={"in": ["i64"]})
    second = cache.Cache(disk=cache.DiskCache(tmp_path / "c"))
    assert run(second.get_or_compile(KEY_TEXT, times(3, calls), signature={"in": ["i32"]}), 2) == 6
    assert calls == [5, 3] and second.stats()["refused"] == 1 and second.stats()["disk_hits"] == 0


def _closed(f, x):
    return prepare_for_compile(fnad.jit(f).lower(x).jaxpr)


def _entry_added(directory, closed, code_cache):
    """The executable and its program's disk entry (not its units')."""
    before = set(directory.iterdir())
    exe = compile_jaxpr(closed, code_cache)
    (added,) = [p for p in set(directory.iterdir()) - before if "unit" not in cache._decode(p.read_bytes())[2]]
    return exe, added


@pytest.mark.parametrize("case", ["other_function", "large_kernel_under_small_key"])
def test_jit_cache_entry_copied_under_another_key_is_recompiled(tmp_path, case):
    disk = cache.DiskCache(tmp_path / "c")
    small = np.arange(4.0)
    if case == "other_function":
        donor, donor_x = _closed(lambda x: x + 1.0, small), small
    else:
        donor_x = np.arange(400_000.0)
        donor = _closed(lambda x: x * 3.0 - 1.0, donor_x)
    target = _closed(lambda x: x * 100.0, small)
    warm = cache.Cache(disk=disk)
    _, donor_file = _entry_added(disk.directory, donor, warm)
    _, target_file = _entry_added(disk.directory, target, warm)
    shutil.copyfile(donor_file, target_file)
    fresh = cache.Cache(disk=cache.DiskCache(tmp_path / "c"))
    (out,) = compile_jaxpr(target, fresh)(small)
    assert np.array_equal(out, small * 100.0)
    assert fresh.stats()["refused"] == 1 and fresh.stats()["compiles"] == 1


# ------------------------------------------------------------------------------------------------
# Item 11: a cache that cannot be written costs compiles, with one warning


def _read_only(monkeypatch, disk):
    """Every write into `disk`'s directory fails as on a read-only file system."""
    real_open, real_utime, real_unlink = os.open, os.utime, os.unlink

    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    def open_(path, flags, *args, dir_fd=None, **kwargs):
        if dir_fd == disk._fd and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            refuse()
        return real_open(path, flags, *args, dir_fd=dir_fd, **kwargs)

    monkeypatch.setattr(os, "open", open_)
    monkeypatch.setattr(os, "utime", lambda p, *a, **k: refuse() if isinstance(p, int) else real_utime(p, *a, **k))
    monkeypatch.setattr(
        os,
        "unlink",
        lambda p, *a, dir_fd=None, **k: refuse() if dir_fd == disk._fd else real_unlink(p, *a, dir_fd=dir_fd, **k),
    )


def test_read_only_cache_costs_only_a_compile_with_one_warning(tmp_path, monkeypatch):
    disk = cache.DiskCache(tmp_path / "c")
    cache.Cache(disk=disk).get_or_compile("stored before", times(2))
    entry_path(disk.directory, "damaged").write_bytes(b"garbage")
    _read_only(monkeypatch, disk)
    c, calls = cache.Cache(disk=disk), []
    with pytest.warns(RuntimeWarning, match="cannot write") as record:  # noqa: PT031 (one warning for all of them)
        assert run(c.get_or_compile("stored before", times(2, calls)), 3) == 6  # still read
        for factor in (3, 4, 5):
            assert run(c.get_or_compile(f"new {factor}", times(factor, calls)), 3) == 3 * factor
        assert run(c.get_or_compile("damaged", times(7, calls)), 3) == 21  # cannot even delete it
    assert len(record) == 1 and calls == [3, 4, 5, 7]
    assert c.stats()["disk_hits"] == 1 and c.stats()["corrupt"] == 1


def test_replace_failing_costs_only_a_compile_and_leaves_no_temp_file(tmp_path, monkeypatch):
    disk = cache.DiskCache(tmp_path / "c")

    def replace(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "replace", replace)
    c = cache.Cache(disk=disk)
    with pytest.warns(RuntimeWarning, match="cannot write") as record:
        assert [run(c.get_or_compile(f"k{f}", times(f)), 2) for f in (3, 4)] == [6, 8]
    assert len(record) == 1 and list(disk.directory.iterdir()) == []


def test_cache_path_that_is_a_file_costs_only_compiles(tmp_path):
    path = tmp_path / "not-a-dir"
    path.write_text("")
    with pytest.warns(RuntimeWarning, match="not a directory") as record:  # noqa: PT031 (one warning for all of them)
        c = cache.Cache(disk=cache.DiskCache(path))
        assert run(c.get_or_compile(KEY_TEXT, times(3)), 2) == 6
    assert len(record) == 1


def test_read_only_mount_costs_only_compiles_with_one_warning(tmp_path):
    """A real read-only file system: a read-only bind mount in a private mount namespace."""
    if (
        shutil.which("unshare") is None
        or subprocess.run(
            ["unshare", "-m", "--propagation", "private", "mount", "-t", "tmpfs", "none", str(tmp_path)],
            check=False,
            capture_output=True,
        ).returncode
        != 0
    ):
        pytest.skip("cannot create a private mount namespace here")
    src, ro = tmp_path / "src", tmp_path / "ro"
    ro.mkdir()
    warm = textwrap.dedent("""
        import numpy as np, fnad
        assert np.array_equal(fnad.jit(lambda x: x * 100.0)(np.arange(3.0)), np.arange(3.0) * 100.0)
    """)
    env = dict(os.environ, FNAD_CACHE_DIR=str(src))
    subprocess.run([sys.executable, "-c", warm], env=env, check=True, timeout=600)
    script = textwrap.dedent("""
        import numpy as np, fnad
        from fnad_compiler import cache
        x = np.arange(3.0)
        for _ in range(2):
            assert np.array_equal(fnad.jit(lambda x: x * 100.0)(x), x * 100.0)   # stored before
            assert np.array_equal(fnad.jit(lambda x: x + 1.0)(x), x + 1.0)       # new
            assert np.array_equal(fnad.jit(lambda x: x - 2.0)(x), x - 2.0)       # new
        s = cache.default_cache().stats()
        assert s["disk_hits"] >= 1 and s["compiles"] >= 2, s
        print("ok")
    """)
    mount = f'mount --bind {src} {ro} && mount -o remount,ro,bind {ro} && exec {sys.executable} -c "$SCRIPT"'
    out = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", mount],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, FNAD_CACHE_DIR=str(ro), SCRIPT=script),
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok" and out.stderr.count("cannot write to disk cache") == 1
    assert "Read-only file system" in out.stderr
