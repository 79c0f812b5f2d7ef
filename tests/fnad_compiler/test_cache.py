import ctypes
import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from fnad_compiler import cache

IR = "define i64 @f(i64 %a) {\n  %b = mul i64 %a, FACTOR\n  ret i64 %b\n}\n"


def builder(factor, calls):
    def build():
        calls.append(factor)
        return IR.replace("FACTOR", str(factor)), ["f"], {"factor": factor}

    return build


def call_f(compiled, x):
    return compiled.library.function("f", ctypes.c_int64, ctypes.c_int64)(x)


@pytest.fixture
def disk(tmp_path):
    return cache.DiskCache(tmp_path / "c")


def test_lru_evicts_least_recently_used():
    lru = cache.LRUCache(2)
    lru.put(("a", 1), 1)
    lru.put("b", 2)
    assert lru.get(("a", 1)) == 1  # "b" is now the oldest
    lru.put("c", 3)
    assert "b" not in lru and lru.get("c") == 3 and len(lru) == 2 and lru.get("zz", 0) == 0
    with pytest.raises(ValueError):
        cache.LRUCache(0)


def test_key_depends_on_text_and_version():
    k = cache.cache_key(IR)
    assert len(k) == 64 and k == cache.cache_key(IR)
    assert k != cache.cache_key(IR + " ") and k != cache.cache_key(IR, version="other")
    with pytest.raises(TypeError):
        cache.cache_key(b"bytes")


def test_disk_roundtrip_and_directory_mode(disk):
    key = cache.cache_key("x")
    assert disk.get(key) is None
    disk.put(key, b"\x7fELFobj", {"a": [1, 2]})
    assert disk.get(key) == (b"\x7fELFobj", {"a": [1, 2]})
    assert oct(disk.directory.stat().st_mode & 0o777) == oct(0o700)
    assert [p.name for p in disk.directory.iterdir()] == [key + ".fnad"]  # no temp files left
    with pytest.raises(ValueError):
        disk.get("../etc/passwd")


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "header_only"])
def test_corrupted_entry_is_detected_deleted_and_recompiled(disk, damage):
    c, calls = cache.Cache(disk=disk), []
    assert call_f(c.get_or_compile("k", builder(3, calls)), 5) == 15
    path = disk.directory / (cache.cache_key("k") + ".fnad")
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x01
    elif damage == "truncate":
        data = data[:-7]
    elif damage == "empty":
        data = b""
    else:
        data = data[:40]
    path.write_bytes(bytes(data))
    assert disk.get(cache.cache_key("k")) is None and not path.exists()
    fresh = cache.Cache(disk=disk)
    assert call_f(fresh.get_or_compile("k", builder(3, calls)), 5) == 15
    assert calls == [3, 3] and fresh.stats()["compiles"] == 1 and path.exists()


def test_memory_and_disk_hits(disk):
    calls = []
    c = cache.Cache(disk=disk)
    a = c.get_or_compile("k3", builder(3, calls))
    assert c.get_or_compile("k3", builder(3, calls)) is a
    assert c.stats() == {"memory_hits": 1, "disk_hits": 0, "misses": 1, "compiles": 1, "corrupt": 0, "refused": 0}
    c2 = cache.Cache(disk=disk)
    b = c2.get_or_compile("k3", builder(3, calls))
    assert b.metadata == {"factor": 3} and call_f(b, 7) == 21 and calls == [3]
    assert c2.stats()["disk_hits"] == 1 and c2.stats()["compiles"] == 0
    tup = c.get_or_compile("k5", lambda: (IR.replace("FACTOR", "5"), ["f"], {"shape": (2, 3)}))
    assert tup.metadata == {"shape": [2, 3]}  # as a disk hit would return it
    with pytest.raises(TypeError):  # metadata must be JSON
        c.get_or_compile("k4", lambda: (IR.replace("FACTOR", "4"), ["f"], {"x": object()}))


def test_optimisation_level_is_part_of_the_key(disk):
    calls = []
    c = cache.Cache(disk=disk)
    unoptimised = c.get_or_compile("k7", builder(7, calls), speed_level=0)
    optimised = c.get_or_compile("k7", builder(7, calls))
    assert unoptimised is not optimised and calls == [7, 7] and c.stats()["compiles"] == 2
    assert call_f(unoptimised, 3) == call_f(optimised, 3) == 21
    assert c.get_or_compile("k7", builder(7, calls), speed_level=0) is unoptimised


def _cache_stats_of_two_processes(tmp_path, script):
    """The compile cache's stats printed (as JSON) by `script` run in two processes, one after the
    other, sharing a new disk cache."""
    env = dict(os.environ, FNAD_CACHE_DIR=str(tmp_path / "shared"))
    return [
        json.loads(
            subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True, text=True).stdout
        )
        for _ in range(2)
    ]


def test_second_process_hits_disk_cache(tmp_path):
    script = textwrap.dedent(f"""
        import ctypes, json
        from fnad_compiler import cache
        c = cache.default_cache()
        ir = {IR!r}.replace("FACTOR", "6")
        got = c.get_or_compile(ir, lambda: (ir, ["f"], {{"n": 1}}))
        assert got.library.function("f", ctypes.c_int64, ctypes.c_int64)(7) == 42
        print(json.dumps(c.stats()))
    """)
    runs = _cache_stats_of_two_processes(tmp_path, script)
    assert runs[0]["compiles"] == 1 and runs[0]["disk_hits"] == 0
    assert runs[1]["compiles"] == 0 and runs[1]["disk_hits"] == 1 and runs[1]["misses"] == 0


def test_second_process_compiles_nothing_for_a_parallel_program(tmp_path):
    """The jitted program, the parallel runtime it calls and the pool its 2 MB result comes from
    (fnad_compiler.buffers) all come from the disk cache."""
    script = textwrap.dedent("""
        import json, numpy as np, fnad
        from fnad_compiler import cache, parallel
        x = np.arange(1 << 18, dtype=np.float64)
        assert np.array_equal(fnad.jit(lambda x: x * 2.0 + 1.0)(x), x * 2.0 + 1.0)
        assert parallel.get_num_threads() >= 1
        print(json.dumps(cache.default_cache().stats()))
    """)
    runs = _cache_stats_of_two_processes(tmp_path, script)
    assert runs[0]["compiles"] == 3 and runs[0]["disk_hits"] == 0
    assert runs[1]["compiles"] == 0 and runs[1]["disk_hits"] == 3


def test_second_process_loads_code_calling_the_huge_argument_trig_library(tmp_path):
    """Kernels calling sin/cos only declare the huge-argument functions (fnad_compiler.vecmath's
    runtime library); a process loading such a kernel from disk, which lowers nothing, must still
    resolve them, not count the kernel corrupt and compile it again."""
    script = textwrap.dedent("""
        import json, numpy as np, fnad, fnad.numpy as fnp
        from fnad_compiler import cache
        x = np.linspace(0.0, 1e60, 1000)
        assert np.allclose(fnad.jit(lambda x: fnp.cos(x) * 2.0)(x), np.cos(x) * 2.0, rtol=1e-13, atol=1e-13)
        print(json.dumps(cache.default_cache().stats()))
    """)
    runs = _cache_stats_of_two_processes(tmp_path, script)
    assert runs[0]["compiles"] >= 2
    assert runs[1]["compiles"] == 0 and runs[1]["corrupt"] == 0


def test_prebuilt_runtime_leaves_a_first_program_only_its_own_code_to_compile(tmp_path):
    """After `fnad_compiler.prebuild`, a process running programs that call the parallel runtime, the
    result pool, the scratch allocator and the huge-argument trig library compiles the programs
    only, and finds the trig library on disk without generating its LLVM IR."""
    env = dict(os.environ, FNAD_CACHE_DIR=str(tmp_path / "cache"))
    subprocess.run([sys.executable, "-m", "fnad_compiler.prebuild"], env=env, check=True, capture_output=True)
    script = textwrap.dedent("""
        import json, numpy as np, fnad, fnad.numpy as fnp
        from fnad_compiler import cache, vecmath
        generated = []
        original = vecmath.huge_trig_ir
        vecmath.huge_trig_ir = lambda *a: generated.append(a) or original(*a)
        x = np.linspace(0.0, 1e60, 1 << 18)
        assert np.allclose(fnad.jit(lambda x: fnp.cos(x) * 2.0)(x), np.cos(x) * 2.0, rtol=1e-13, atol=1e-13)
        w = np.linspace(-1.0, 1.0, 64 * 64).reshape(64, 64)
        assert np.allclose(fnad.jit(lambda w: fnp.sum(fnp.tanh(w @ w)))(w), np.sum(np.tanh(w @ w)))
        print(json.dumps(cache.default_cache().stats() | {"generated": len(generated)}))
    """)
    stats = json.loads(
        subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True, text=True).stdout
    )
    assert stats["compiles"] == 2, stats
    assert stats["disk_hits"] >= 3 and stats["corrupt"] == 0 and stats["generated"] == 0, stats


def test_eviction_keeps_total_size_bounded(tmp_path):
    disk = cache.DiskCache(tmp_path / "c", max_bytes=3000)
    keys = [cache.cache_key(str(i)) for i in range(6)]
    for i, k in enumerate(keys):
        disk.put(k, bytes(1000), {})
        os.utime(disk.directory / (k + ".fnad"), (i, i))  # distinct ages
    left = sorted(p.name[:-5] for p in disk.directory.iterdir())
    assert left == sorted(keys[-2:])  # each entry is 1000 bytes + header


def test_writes_scan_the_directory_only_when_it_may_be_full(tmp_path, monkeypatch):
    disk = cache.DiskCache(tmp_path / "c", max_bytes=10**6)
    scans = []
    scan = disk._scan
    monkeypatch.setattr(disk, "_scan", lambda: scans.append(1) or scan())
    for i in range(100):
        disk.put(cache.cache_key(str(i)), bytes(100), {})
    assert len(scans) == 1 + 100 // cache._RESCAN_PUTS  # the first write, then every _RESCAN_PUTS
    disk.max_bytes = 5000
    disk.put(cache.cache_key("over"), bytes(100), {})  # the estimate passes max_bytes: scanned, evicted
    assert len(scans) == 2 + 100 // cache._RESCAN_PUTS
    assert sum(p.stat().st_size for p in disk.directory.iterdir()) <= 5000


def test_default_directory_respects_env(monkeypatch, tmp_path):
    monkeypatch.delenv("FNAD_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.default_directory() == tmp_path / "xdg" / "fnad"
    monkeypatch.setenv("FNAD_CACHE_DIR", str(tmp_path / "mine"))
    assert cache.default_directory() == tmp_path / "mine"


def test_unsafe_directories_are_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.warns(RuntimeWarning, match="world-writable"):
        assert not cache.DiskCache(shared).enabled
    not_dir = tmp_path / "file"
    not_dir.write_text("")
    with pytest.warns(RuntimeWarning, match="not a directory|cannot be created"):
        assert not cache.DiskCache(not_dir).enabled
    if os.geteuid() == 0:  # only root can hand a directory to another user
        theirs = tmp_path / "theirs"
        theirs.mkdir(mode=0o700)
        os.chown(theirs, 12345, 12345)
        with pytest.warns(RuntimeWarning, match="owned by uid 12345"):
            disabled = cache.DiskCache(theirs)
        assert not disabled.enabled and disabled.get(cache.cache_key("x")) is None


def test_key_covers_every_source_file_of_fnad_and_compiler(tmp_path):
    """Stale code must not be served after a rule in fnad/ (or any compiler file) changes."""
    root = os.path.dirname(os.path.dirname(cache.__file__))
    for package in ("fnad_compiler", "fnad"):
        shutil.copytree(os.path.join(root, package), tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    script = "from fnad_compiler import cache; print(cache.code_version(), cache.cache_key('ir'))"

    def version():
        return subprocess.run(
            [sys.executable, "-c", script],
            cwd=tmp_path,
            check=True,
            capture_output=True,
            text=True,
            env=dict(os.environ, PYTHONPATH=str(tmp_path)),
        ).stdout.split()

    before = version()
    assert before == version()
    nested = min((tmp_path / "fnad").glob("*/*.py"))  # a rule file below the package root
    nested.write_text(nested.read_text() + "\n# changed\n")
    after_fnad = version()
    assert after_fnad[0] != before[0] and after_fnad[1] != before[1]
    (tmp_path / "fnad_compiler" / "engine.py").write_text((tmp_path / "fnad_compiler" / "engine.py").read_text() + "\n")
    assert version()[0] not in (before[0], after_fnad[0])


def test_code_version_is_remembered_under_the_sources_fingerprint(tmp_path):
    """A warm process takes the sources' digest from its memo in the disk cache (without reading them);
    a file whose modification time changes is hashed again."""
    root = os.path.dirname(os.path.dirname(cache.__file__))
    for package in ("fnad_compiler", "fnad"):
        shutil.copytree(os.path.join(root, package), tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    env = dict(os.environ, PYTHONPATH=str(tmp_path), FNAD_CACHE_DIR=str(tmp_path / "cache"))

    def version():
        script = "from fnad_compiler import cache; print(cache.code_version())"
        return subprocess.run(
            [sys.executable, "-c", script], cwd=tmp_path, check=True, capture_output=True, text=True, env=env
        ).stdout.strip()

    real = version()
    disk = cache.DiskCache(tmp_path / "cache")
    (memo_key,) = [p.stem for p in (tmp_path / "cache").iterdir() if disk.get(p.stem)[1] == {"memo": "code version"}]
    assert disk.get(memo_key)[0] == real.encode()
    disk.put(memo_key, b"remembered", {"memo": "code version"})
    assert version() == "remembered"  # what later processes use
    engine = tmp_path / "fnad_compiler" / "engine.py"
    os.utime(engine, ns=(engine.stat().st_atime_ns, engine.stat().st_mtime_ns + 1))
    assert version() == real  # hashed again: the same sources, the same digest


# ------------------------------------------------------------------------------------------------
# In-process caches (fnad.jit_dispatch): one LRU across all jitted functions


def test_in_memory_caches_are_bounded_across_functions_and_free_evicted_code(monkeypatch):
    import gc
    import weakref

    import numpy as np

    import fnad
    from fnad import jit_dispatch

    monkeypatch.setattr(jit_dispatch, "_CACHE_ENTRIES", 8)
    x = np.arange(3.0)
    traces = []

    def make(c):
        def f(x):
            traces.append(c)
            return x * c + 1.0

        return fnad.jit(f)

    funs = [make(float(c)) for c in range(20)]
    for c, f in enumerate(funs):
        assert np.array_equal(f(x), x * c + 1.0)
        assert np.array_equal(f(x), x * c + 1.0)  # the native chain
        if c == 0:
            (entry,) = f._cache.values()
            first_code = weakref.ref(entry.exe)
            del entry
        assert len(jit_dispatch._IN_MEMORY) <= 8
    gc.collect()
    assert first_code() is None  # evicted: nothing keeps the first executable alive
    assert not funs[0]._cache and not funs[0]._fast and "__call__" not in type(funs[0]).__dict__
    assert traces == [float(c) for c in range(20)]
    assert np.array_equal(funs[0](x), x * 0.0 + 1.0) and traces[-1] == 0.0  # traced again, right
    assert np.array_equal(funs[19](x), x * 19.0 + 1.0) and traces.count(19.0) == 1  # still cached


def test_in_memory_lru_keeps_what_the_python_dispatch_used_recently(monkeypatch):
    import numpy as np

    import fnad
    from fnad import jit_dispatch

    monkeypatch.setattr(jit_dispatch, "_CACHE_ENTRIES", 8)
    traces = []
    hot = fnad.jit(lambda x, s: traces.append("hot") or x * s)
    x = np.arange(3.0)
    for c in range(12):
        assert np.array_equal(hot(x, s=2.0), x * 2.0)  # a keyword argument: the Python dispatch
        assert np.array_equal(fnad.jit(lambda x: x - c)(x), x - c)
    assert traces == ["hot"]


def test_cache_entries_from_environment_are_checked():
    script = "import fnad.jit_dispatch as d; print(d._CACHE_ENTRIES)"
    run = lambda value: subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        capture_output=True,
        text=True,
        env=dict(os.environ, FNAD_JIT_CACHE_ENTRIES=value),
    )
    assert run("77").stdout.strip() == "77"
    bad = run("lots")
    assert bad.returncode != 0 and "FNAD_JIT_CACHE_ENTRIES must be a positive integer" in bad.stderr
