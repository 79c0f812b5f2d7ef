"""Caches of compiled code: a bounded in-memory LRU, a persistent on-disk object cache, and `Cache`,
which puts them in front of `fnad_compiler.engine` and counts hits, misses and compiles.

Disk entries are named by `cache_key` (a BLAKE2b digest of the IR text, `code_version()` and the host
toolchain/CPU, `host_id`) and hold their own key, object bytes and a caller's JSON metadata and signature,
behind a header with a magic, a format version and a checksum. A damaged entry, one stored under
another key or signature, or a file that is not safely ours is deleted and recompiled, never
loaded (see `DiskCache`).
"""

import collections
import errno
import functools
import importlib.util
import json
import os
import stat
import struct
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np

from fnad_compiler import engine, tiers

__all__ = [
    "COMPILER_VERSION",
    "Build",
    "Cache",
    "Compiled",
    "DiskCache",
    "LRUCache",
    "cache_key",
    "code_version",
    "default_cache",
    "default_directory",
    "host_id",
]

try:  # CPython's BLAKE2 itself: importing hashlib loads OpenSSL first, 5 ms of a process's first compile or lookup
    from _blake2 import blake2b
except ImportError:
    from hashlib import blake2b


def digest(data=b""):
    """A 256-bit BLAKE2b hash object of `data` (keys, unit symbols, integrity checks)."""
    return blake2b(data, digest_size=32)


COMPILER_VERSION = "fnad-compiler-1"  # bump when generated code changes for the same IR text
_MAGIC = b"FNADOBJ\n"
_FORMAT = 3
# magic, format, the entry's own key (hex), object length, metadata length, digest of key + payload
_HEADER = struct.Struct("<8sI64sQQ32s")
_SUFFIX = ".fnad"
_STALE_TEMP_SECONDS = 3600
_RESCAN_PUTS = 64  # writes after which a process rescans the disk cache's directory (see `DiskCache`)


class LRUCache:
    """Thread-safe mapping of at most `maxsize` entries (any hashable key); least recently used
    entries are dropped first."""

    def __init__(self, maxsize=256):
        if not isinstance(maxsize, int) or maxsize < 1:
            raise ValueError(f"maxsize must be a positive int, got {maxsize!r}")
        self.maxsize = maxsize
        self._data = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, default=None):
        with self._lock:
            if key not in self._data:
                return default
            self._data.move_to_end(key)
            return self._data[key]

    def put(self, key, value):
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self):
        with self._lock:
            self._data.clear()

    def __contains__(self, key):
        with self._lock:
            return key in self._data

    def __len__(self):
        return len(self._data)


def cache_key(ir_text, version=None):
    """Hex BLAKE2b digest naming the code compiled from `ir_text` (LLVM IR or the caller's own IR text)
    by compiler `version` (default `code_version()`), llvmlite/LLVM versions and host CPU name and
    features (`host_id`)."""
    if not isinstance(ir_text, str):
        raise TypeError(f"cache key text must be str, got {type(ir_text).__name__}")
    version = code_version() if version is None else version
    return digest(json.dumps([version, host_id(), ir_text]).encode()).hexdigest()


_HOST_ID_FROM_MEMO = []  # [fingerprint] once `host_id` answered from the memo (not from LLVM)


@functools.cache
def host_id():
    """`engine.host_id()`, which loads LLVM (a sixth of a warm-cache cold start), remembered in the
    default disk cache under `engine.host_fingerprint()`, so that a process whose code all comes
    from the disk cache never loads LLVM. The memo is a disk entry (same integrity checks as code)
    whose metadata names the fingerprint; a process that loads LLVM anyway checks the memo it used
    (`check_host_id`)."""
    fingerprint = engine.host_fingerprint()
    disk = default_cache().disk
    if fingerprint is None or disk is None or engine.llvm_loaded():
        return _store_host_id(disk, fingerprint)
    entry = disk.get(_host_key(fingerprint))
    if entry is None or entry[1] != {"host": fingerprint}:
        return _store_host_id(disk, fingerprint)
    _HOST_ID_FROM_MEMO.append(fingerprint)
    return entry[0].decode()


def _host_key(fingerprint):
    return digest(f"fnad host id\0{fingerprint}".encode()).hexdigest()


def _store_host_id(disk, fingerprint):
    """`engine.host_id()`, remembered on `disk` (if any) under `fingerprint` (if any)."""
    real = engine.host_id()
    if disk is not None and fingerprint is not None:
        entry = disk.get(_host_key(fingerprint))
        if entry is None or entry != (real.encode(), {"host": fingerprint}):
            disk.put(_host_key(fingerprint), real.encode(), {"host": fingerprint})
    return real


def check_host_id():
    """If `host_id` came from the memo, compare it with LLVM's answer (LLVM is loaded now anyway);
    a difference means the fingerprint missed something that changes code: warn, and correct the
    memo for later processes."""
    if _HOST_ID_FROM_MEMO and engine.llvm_loaded():
        fingerprint = _HOST_ID_FROM_MEMO.pop()
        if host_id() != engine.host_id():
            warnings.warn(
                f"fnad: the remembered host id differs from LLVM's ({host_id()!r} != {engine.host_id()!r}); "
                "corrected for later processes",
                RuntimeWarning,
                stacklevel=2,
            )
            _store_host_id(default_cache().disk, fingerprint)


_CODE_PACKAGES = ("fnad_compiler", "fnad")  # their rules decide the IR and how it is lowered


@functools.cache
def code_version():
    """Everything besides the IR text and the host (`engine.host_id`) that decides the compiled
    code: `COMPILER_VERSION`, every source file of the `fnad_compiler` and `fnad` packages, and the
    Python and NumPy versions (generated code uses their C APIs and object layouts).

    Reading and hashing the sources (1.9 MB) took 5 ms of every start, so the digest is remembered
    in the default disk cache under the sources' fingerprint (`_sources_fingerprint`: each file's
    path, size, modification time in ns and inode, as Python's own bytecode cache trusts size and
    mtime): an edited, replaced or added file changes the fingerprint and the sources are hashed
    again. The memo is a disk entry, with the integrity checks of code."""
    versions = json.dumps([COMPILER_VERSION, sys.version, sys.implementation.cache_tag, np.__version__])
    files = [(package, root, path) for package, root in _package_roots() for path in sorted(_sources(root))]
    memo_key = digest(f"fnad code version\0{versions}\0{_sources_fingerprint(files)}".encode()).hexdigest()
    disk = default_cache().disk
    entry = disk.get(memo_key) if disk is not None else None
    if entry is not None and entry[1] == _CODE_VERSION_MEMO:
        return entry[0].decode()
    sources = digest(versions.encode())
    for package, root, path in files:
        with open(path, "rb", buffering=0) as f:
            data = f.readall()
        sources.update(f"\0{package}{path[len(root) :]}\0{len(data)}\0".encode())
        sources.update(data)
    version = f"{COMPILER_VERSION}-{sources.hexdigest()[:32]}"
    if disk is not None:
        disk.put(memo_key, version.encode(), _CODE_VERSION_MEMO)
    return version


_CODE_VERSION_MEMO = {"memo": "code version"}  # the metadata of `code_version`'s disk entries


def _package_roots():
    """(package, its directory) of each of `_CODE_PACKAGES`."""
    return [(p, importlib.util.find_spec(p).submodule_search_locations[0]) for p in _CODE_PACKAGES]


def _sources_fingerprint(files):
    """Text naming the state of `files` ((package, root, path) each) without reading them."""
    lines = []
    for _, _, path in files:
        st = os.stat(path)
        lines.append(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}")
    return "\n".join(lines)


def _sources(directory):
    """Paths of every .py file under `directory`, recursively (str paths and os.scandir: this runs
    at every start, and pathlib doubled its cost)."""
    with os.scandir(directory) as it:
        for e in it:
            if e.name.endswith(".py"):
                yield e.path
            elif e.name != "__pycache__" and e.is_dir(follow_symlinks=False):
                yield from _sources(e.path)


def default_directory():
    """$FNAD_CACHE_DIR, else $XDG_CACHE_HOME/fnad, else ~/.cache/fnad."""
    if os.environ.get("FNAD_CACHE_DIR"):
        return Path(os.environ["FNAD_CACHE_DIR"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "fnad"


def _unsafe(st, kind):
    """Why a file of stat `st` must not be trusted as a cache `kind`, or None: it must be a `kind`
    ("directory" or "file") that we own and that neither group nor others can write (whoever can
    write it can choose the code we run)."""
    is_kind = stat.S_ISDIR if kind == "directory" else stat.S_ISREG
    if not is_kind(st.st_mode):
        return f"is not a regular {kind}" if kind == "file" else "is not a directory"
    if st.st_uid != os.geteuid():
        return f"is owned by uid {st.st_uid}, not by us (uid {os.geteuid()})"
    if st.st_mode & 0o022:
        return f"is group- or world-writable (mode {stat.S_IMODE(st.st_mode):o})"
    return None


def _open_directory(path):
    """A file descriptor of the cache directory `path`, which is created (mode 0o700, like missing
    parents) if needed, or a str saying why it is refused. The last component must not be a
    symbolic link; the directory is checked through the descriptor, and every later access goes
    through it, so what was checked is what is used even if `path` is replaced afterwards. Parents
    are not checked: whoever can swap `path` can only swap in a directory that passes the checks."""
    missing = []
    for p in [path, *path.parents]:
        if os.path.lexists(p):
            break
        missing.append(p)
    try:
        for p in reversed(missing):
            try:
                os.mkdir(p, 0o700)
            except FileExistsError:
                pass  # created concurrently: checked below like any other
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as e:
        if os.path.islink(path):
            return "is a symbolic link"
        return "is not a directory" if e.errno == errno.ENOTDIR else f"cannot be opened ({e})"
    problem = _unsafe(os.fstat(fd), "directory")
    if problem is None:
        return fd
    os.close(fd)
    return problem


class DiskCache:
    """Object code on disk, keyed by `cache_key` hex strings, at most `max_bytes` in total (oldest
    entries evicted). `enabled` is False when the directory was refused.

    Loading an entry is running its code, so: the directory is opened once and every file is
    reached through that descriptor (see `_open_directory`); an entry is loaded only if it is a
    regular file (not a symbolic link) that we own and others cannot write, and it must name the
    key it is loaded under (a file copied under another key is refused, not run). A cache that
    cannot be read or written (read-only file system, foreign file) only costs compiles: one
    warning per problem, never an exception."""

    def __init__(self, directory=None, max_bytes=512 << 20):
        if not isinstance(max_bytes, int) or max_bytes < 1:
            raise ValueError(f"max_bytes must be a positive int, got {max_bytes!r}")
        path = Path(directory or default_directory())
        self.max_bytes = max_bytes
        self._bytes = None  # the directory's size at the last scan, plus what this process wrote since
        self._puts = 0
        self.corrupt = 0  # damaged entries found and deleted
        self.refused = 0  # entries not trusted (unsafe file, key or signature mismatch) and deleted
        self._warned = set()
        self._fd = _open_directory(path)
        if isinstance(self._fd, str):
            self._warn("directory", f"fnad: disk cache disabled: {path} {self._fd}")
            self._fd = None
        self.directory = path if self._fd is not None else None

    @property
    def enabled(self):
        return self._fd is not None

    def __del__(self):
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)

    def _warn(self, kind, message):
        """Warn once per cache and kind of problem: a broken cache must not flood every call."""
        if kind not in self._warned:
            self._warned.add(kind)
            warnings.warn(message, RuntimeWarning, stacklevel=4)

    @staticmethod
    def _name(key):
        if not (isinstance(key, str) and len(key) == 64 and all(c in "0123456789abcdef" for c in key)):
            raise ValueError(f"disk cache keys are 64-digit hex digests (see cache_key), got {key!r}")
        return key + _SUFFIX

    def _unlink(self, name):
        try:
            os.unlink(name, dir_fd=self._fd)
        except OSError:
            pass  # gone already, or a read-only cache: it is refused again next time

    def get(self, key):
        """(object bytes, metadata) for `key`, or None if absent, damaged or untrusted (then deleted)."""
        name = self._name(key)
        if not self.enabled:
            return None
        try:
            # O_NONBLOCK: a FIFO placed here must not hang us before fstat refuses it.
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=self._fd)
        except FileNotFoundError:
            return None
        except OSError as e:
            if e.errno == errno.ELOOP:
                problem = "is a symbolic link"
            else:
                self._warn("read", f"fnad: cannot read disk cache entry {self.directory / name}: {e}")
                return None
        else:
            with open(fd, "rb") as f:
                problem = _unsafe(os.fstat(f.fileno()), "file")
                if problem is None:
                    data = f.read()
                    try:
                        os.utime(f.fileno())  # recently used: evicted last
                    except OSError:
                        pass  # a read-only cache still serves what it has
        if problem is not None:
            self._warn("unsafe", f"fnad: disk cache entry {self.directory / name} {problem}; not loaded")
            self.refused += 1
            self._unlink(name)
            return None
        entry = _decode(data)
        if entry is None:
            self.corrupt += 1
            self._unlink(name)
            return None
        stored_key, obj, metadata = entry
        if stored_key != key:
            self.refused += 1  # a valid entry of other code, copied or renamed to this key
            self._unlink(name)
            return None
        return obj, metadata

    def put(self, key, obj, metadata=None):
        """Store atomically (temp file + rename); failures only warn (once), the cache is an
        optimisation."""
        name = self._name(key)
        if not self.enabled:
            return
        data = _encode(key, bytes(obj), json.dumps(metadata if metadata is not None else {}).encode())
        tmp = f".tmp-{os.getpid()}-{os.urandom(8).hex()}"
        try:
            fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=self._fd
            )
            try:
                with open(fd, "wb") as f:
                    f.write(data)
                os.replace(tmp, name, src_dir_fd=self._fd, dst_dir_fd=self._fd)
            except BaseException:
                self._unlink(tmp)
                raise
        except OSError as e:
            self._warn(
                "write",
                f"fnad: cannot write to disk cache {self.directory} ({e}); compiled code will not be kept on disk",
            )
            return
        self._account(len(data))

    def _account(self, written):
        """Evict (`_evict`) when this process's estimate of the directory's size passes `max_bytes`,
        and every `_RESCAN_PUTS` writes, since other processes write too. Scanning the directory on
        every write made storing a program's units take time quadratic in their number."""
        self._puts += 1
        if self._bytes is not None:
            self._bytes += written
        if self._bytes is None or self._bytes > self.max_bytes or self._puts % _RESCAN_PUTS == 0:
            self._bytes = self._evict()

    def _scan(self):
        """(name, stat) of every file in the directory, not following symbolic links."""
        with os.scandir(self._fd) as it:
            for e in it:
                try:
                    yield e.name, e.stat(follow_symlinks=False)
                except OSError:
                    continue  # removed concurrently

    def _evict(self):
        entries, total, now = [], 0, time.time()
        for name, st in self._scan():
            if name.startswith(".tmp-") and now - st.st_mtime > _STALE_TEMP_SECONDS:
                self._unlink(name)  # left by a killed writer
            elif name.endswith(_SUFFIX):
                entries.append((st.st_mtime, st.st_size, name))
                total += st.st_size
        for _, size, name in sorted(entries):
            if total <= self.max_bytes:
                break
            self._unlink(name)
            total -= size
        return total

    def clear(self):
        if self.enabled:
            for name, _ in list(self._scan()):
                if name.endswith(_SUFFIX):
                    self._unlink(name)


def _encode(key, obj, meta):
    key = key.encode()
    return _HEADER.pack(_MAGIC, _FORMAT, key, len(obj), len(meta), digest(key + obj + meta).digest()) + obj + meta


def _decode(data):
    """(key, object bytes, metadata) of an entry, or None if it is damaged."""
    if len(data) < _HEADER.size:
        return None
    magic, fmt, key, n_obj, n_meta, checksum = _HEADER.unpack_from(data)
    payload = data[_HEADER.size :]
    if (
        (magic, fmt) != (_MAGIC, _FORMAT)
        or len(payload) != n_obj + n_meta
        or not n_obj
        or digest(key + payload).digest() != checksum
    ):
        return None
    try:
        return key.decode("ascii"), payload[:n_obj], json.loads(payload[n_obj:])
    except ValueError:
        return None


class Build:
    """What a cache miss compiles: `llvm_ir` (text or llvmlite module) exporting `exports`, the
    caller's JSON-serialisable `metadata`, `units` (symbol -> IR text of a module defining each
    symbol `llvm_ir` calls through its slot; see `fnad_compiler.llvm_ir.unit_text`), `codegen_level`
    for `llvm_ir` (0 for glue too long to be worth LLVM's time; see `engine.target_machine`),
    `quick_units`: the units that may start in the quick tier, symbol -> level (see
    `fnad_compiler.tiers`), and
    `unroll`: whether LLVM may unroll `llvm_ir`'s loops (see `engine.optimize`). (A plain class,
    like `Compiled`: importing dataclasses took 1 ms of every process that loads code.)"""

    __slots__ = ("codegen_level", "exports", "llvm_ir", "metadata", "quick_units", "units", "unroll")

    def __init__(self, llvm_ir, exports, metadata, units=None, codegen_level=3, quick_units=None, unroll=True):
        self.llvm_ir = llvm_ir
        self.exports = exports
        self.metadata = metadata
        self.units = {} if units is None else units
        self.codegen_level = codegen_level
        self.quick_units = {} if quick_units is None else quick_units
        self.unroll = unroll


class Compiled:
    """A loaded cache entry: the native code (which keeps the units it calls loaded) and the
    metadata its builder attached. (A plain class: a dataclass's generated methods took 1 ms of
    every process that loads code.)"""

    __slots__ = ("library", "metadata")

    def __init__(self, library, metadata):
        self.library = library  # an engine.NativeLibrary
        self.metadata = metadata


class Cache:
    """In-memory LRU of loaded code in front of a `DiskCache` (or none: `disk=None`)."""

    def __init__(self, memory_size=256, disk=None, unit_memory_size=4096):
        self.memory = LRUCache(memory_size)
        self.units = LRUCache(unit_memory_size)  # unit key (its full tier's) -> tiers.UnitSlot
        self.disk = disk
        self._counts = collections.Counter()
        self._lock = threading.Lock()

    def _count(self, what):
        with self._lock:
            self._counts[what] += 1

    def get_or_compile(self, key_text, build, version=None, speed_level=3, signature=None):
        """The `Compiled` code for `key_text`, the text identifying it (LLVM IR, or the caller's IR
        so that a hit skips generating LLVM IR). On a miss `build()` is called and returns a `Build`
        (or a tuple `(llvm_ir, exports, metadata)`). Its units are cached on their own, by their
        text, so code that shares one compiles it once; new ones are compiled in parallel
        (`engine.compile_objects`). Everything is optimised at level `speed_level`, except that at
        level 3 the build's `quick_units` start in the quick tier (`fnad_compiler.tiers`). `signature`
        (JSON-serialisable: what callers rely on, e.g. argument and result types) is stored with a
        disk entry, and an entry with another signature is recompiled, never loaded."""
        version = code_version() if version is None else version
        version = version if speed_level == 3 else f"{version} O{speed_level}"
        key = cache_key(key_text, version)
        compiled = self.memory.get(key)
        if compiled is not None:
            self._count("memory_hits")
            return compiled
        signature = json.loads(json.dumps(signature))
        compiled = self._load_from_disk(key, signature, build)
        if compiled is None:
            self._count("misses")
            built = _built(build)
            unit_keys = {symbol: cache_key(text, version) for symbol, text in built.units.items()}
            quick_keys = {
                s: [cache_key(built.units[s], f"{version} quick O{level}"), level]
                for s, level in sorted(built.quick_units.items())
            }
            # Through JSON now: fails early if it cannot be stored, and equals what a disk hit gives.
            stored = {"exports": list(built.exports), "metadata": built.metadata, "signature": signature}
            stored = json.loads(json.dumps(stored | {"units": unit_keys, "quick": quick_keys}))
            main_text, main_object = str(built.llvm_ir), []

            def compile_main():  # in this thread, while the compile threads work on the units
                engine.resolve_ahead([main_text, *built.units.values()])
                main_object.append(engine.compile_object(main_text, speed_level, built.codegen_level, built.unroll))

            slots = self._units(stored, built.units, speed_level, compile_main)
            (obj,) = main_object
            self._count("compiles")
            check_host_id()
            if self.disk is not None:
                self.disk.put(key, obj, stored)
            compiled = self._link(obj, stored, slots, lambda: built.units)
        self.memory.put(key, compiled)
        return compiled

    def _link(self, obj, stored, slots, unit_texts):
        """Load main's object `obj` against its units' `slots`; have the quick ones promoted when it
        is called often (`unit_texts()`: symbol -> their LLVM IR text)."""
        library = engine.load_object(obj, stored["exports"], [slots[symbol] for symbol in stored["units"]])
        quick = [slot for slot in slots.values() if slot.level != tiers.FULL_LEVEL]
        if quick and tiers.CALLS_SYMBOL in stored["exports"]:
            tiers.watch(library, quick, unit_texts, self)
        return Compiled(library, stored["metadata"])

    def _units(self, stored, texts=None, speed_level=3, meanwhile=None):
        """symbol -> `tiers.UnitSlot` of each unit of main's entry `stored` (from memory, then disk at
        the full tier, then the quick one, then compiled from `texts`, while `meanwhile()` runs
        here); None if one is found nowhere and `texts` is None. At `speed_level` 3 the units in
        stored["quick"] (symbol -> [key, level]) are compiled quick (unless $FNAD_COMPILE_TIERS is
        "full")."""
        slots, missing = {}, []
        quick_keys = stored["quick"] if speed_level == tiers.FULL_LEVEL and tiers.mode() != "full" else {}
        for symbol, key in stored["units"].items():
            slot = self.units.get(key)
            if slot is not None and slot.level < quick_keys.get(symbol, (None, tiers.FULL_LEVEL))[1]:
                # Code quicker than this program wants (full code: in a loop, or $FNAD_COMPILE_TIERS
                # "full"; vectorised quick code: more work per call than the program that compiled
                # it): promoted now, from `texts` (so without them the program is rebuilt).
                if texts is None:
                    return None
                self.promote(slot, texts[symbol])
            if slot is None:
                library, level = self._unit_from_disk(key, symbol), tiers.FULL_LEVEL
                if library is None and symbol in quick_keys:
                    quick_key, level = quick_keys[symbol]
                    library = self._unit_from_disk(quick_key, symbol, quick=True)
                if library is not None:
                    slot = tiers.UnitSlot(symbol, library, level, key)
                    self.units.put(key, slot)
            if slot is not None:
                slots[symbol] = slot
            elif texts is None:
                return None
            else:
                missing.append(symbol)
        levels = [quick_keys[s][1] if s in quick_keys else speed_level for s in missing]
        objects = engine.compile_objects([texts[s] for s in missing], levels, meanwhile)
        for symbol, obj, level in zip(missing, objects, levels):
            quick = symbol in quick_keys
            self._count("unit_compiles")
            if quick:
                self._count("quick_unit_compiles")
            if self.disk is not None:
                key = quick_keys[symbol][0] if quick else stored["units"][symbol]
                self.disk.put(key, obj, _unit_metadata(symbol, quick))
            slots[symbol] = tiers.UnitSlot(symbol, engine.load_object(obj, [symbol]), level, stored["units"][symbol])
            self.units.put(stored["units"][symbol], slots[symbol])
        return slots

    def promote(self, slot, text):
        """Compile `slot`'s unit (LLVM IR `text`) at the full tier in this thread, store it on disk
        and swap it in (see `fnad_compiler.tiers`)."""
        obj = engine.compile_in_this_thread(text, tiers.FULL_LEVEL)
        if self.disk is not None:
            self.disk.put(slot.full_key, obj, _unit_metadata(slot.symbol, False))
        slot.swap(engine.load_object(obj, [slot.symbol]), tiers.FULL_LEVEL)
        self._count("promotions")

    def _from_disk(self, key, trusted, link, hit):
        """`link(obj, stored)` of disk entry `key` if `trusted(stored)`, counted as `hit` unless it
        returns None (a miss). An entry stored by other code under this key counts as refused, one
        that passed the checksum but does not link as corrupt: both are recompiled and replaced."""
        entry = self.disk.get(key) if self.disk is not None else None
        if entry is None:
            return None
        obj, stored = entry
        if not trusted(stored):
            self.disk.refused += 1
            return None
        try:
            loaded = link(obj, stored)
        except (engine.CompileError, TypeError, ValueError, KeyError):
            self.disk.corrupt += 1
            return None
        if loaded is not None:
            self._count(hit)
        return loaded

    def _unit_from_disk(self, key, symbol, quick=False):
        return self._from_disk(
            key,
            lambda stored: stored == _unit_metadata(symbol, quick),
            lambda obj, stored: engine.load_object(obj, [symbol]),
            "unit_disk_hits",
        )

    def _load_from_disk(self, key, signature, build):
        def trusted(stored):
            return (
                isinstance(stored, dict)
                and stored.keys() == {"exports", "metadata", "signature", "units", "quick"}
                and stored["signature"] == signature
                and isinstance(stored["units"], dict)
                and isinstance(stored["quick"], dict)
                and stored["quick"].keys() <= stored["units"].keys()
                and all(isinstance(q, list) and len(q) == 2 for q in stored["quick"].values())
            )

        def link(obj, stored):
            slots = self._units(stored)  # None if a unit is gone: rebuilt, reusing the others
            return None if slots is None else self._link(obj, stored, slots, lambda: _built(build).units)

        return self._from_disk(key, trusted, link, "disk_hits")

    def stats(self):
        """Counters: memory_hits, disk_hits, misses, compiles, corrupt (damaged disk entries),
        refused (disk entries not trusted: unsafe file, other key or signature), and for units
        unit_compiles (of which quick_unit_compiles were in the quick tier), unit_disk_hits and
        promotions (when there were any)."""
        with self._lock:
            counts = dict.fromkeys(["memory_hits", "disk_hits", "misses", "compiles"], 0) | self._counts
        counts["corrupt"] = self.disk.corrupt if self.disk is not None else 0
        counts["refused"] = self.disk.refused if self.disk is not None else 0
        return counts


def _unit_metadata(symbol, quick):
    return {"exports": [symbol], "unit": True} | ({"tier": "quick"} if quick else {})


def _built(build):
    built = build()
    return built if isinstance(built, Build) else Build(*built)


_DEFAULT = None
_DEFAULT_LOCK = threading.Lock()


def default_cache():
    """The process-wide `Cache`, with a disk cache in `default_directory()` if that is usable."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            disk = DiskCache()
            _DEFAULT = Cache(disk=disk if disk.enabled else None)
        return _DEFAULT
