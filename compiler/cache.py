"""Caches of compiled code: a bounded in-memory LRU, a persistent on-disk object cache, and `Cache`,
which puts them in front of `compiler.engine` and counts hits, misses and compiles.

Disk entries are named by `cache_key` (sha256 of the IR text, the compiler version and the host
toolchain/CPU) and hold object bytes plus a caller's JSON metadata, behind a header with a magic,
a format version and a checksum. A damaged entry is deleted and recompiled, never loaded.
"""
import collections
import hashlib
import json
import os
import stat
import struct
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from compiler import engine

__all__ = ["COMPILER_VERSION", "LRUCache", "DiskCache", "Cache", "Compiled", "cache_key",
           "default_directory", "default_cache"]

COMPILER_VERSION = "fnad-compiler-1"  # bump when generated code changes for the same IR text
_MAGIC = b"FNADOBJ\n"
_FORMAT = 1
_HEADER = struct.Struct("<8sIQQ32s")  # magic, format, object length, metadata length, sha256
_SUFFIX = ".fnad"
_STALE_TEMP_SECONDS = 3600


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


def cache_key(ir_text, version=COMPILER_VERSION):
    """Hex sha256 naming the code compiled from `ir_text` (LLVM IR or the caller's own IR text)
    by this compiler `version`, llvmlite/LLVM versions and host CPU name and features."""
    if not isinstance(ir_text, str):
        raise TypeError(f"cache key text must be str, got {type(ir_text).__name__}")
    return hashlib.sha256(json.dumps([version, engine.host_id(), ir_text]).encode()).hexdigest()


def default_directory():
    """$FNAD_CACHE_DIR, else $XDG_CACHE_HOME/fnad, else ~/.cache/fnad."""
    if os.environ.get("FNAD_CACHE_DIR"):
        return Path(os.environ["FNAD_CACHE_DIR"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "fnad"


def _usable_directory(path):
    """Create `path` (mode 0o700) if needed; None, with a warning, unless it is a directory owned
    by us that neither group nor others can write."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = path.stat()
    except OSError as e:
        problem = f"cannot be created ({e})"
    else:
        if not stat.S_ISDIR(st.st_mode):
            problem = "is not a directory"
        elif st.st_uid != os.getuid():
            problem = f"is owned by uid {st.st_uid}, not by us (uid {os.getuid()})"
        elif st.st_mode & 0o022:
            problem = f"is group- or world-writable (mode {stat.S_IMODE(st.st_mode):o})"
        else:
            return path
    warnings.warn(f"fnad: disk cache disabled: {path} {problem}", RuntimeWarning, stacklevel=3)
    return None


class DiskCache:
    """Object code on disk, keyed by `cache_key` hex strings, at most `max_bytes` in total (oldest
    entries evicted). `enabled` is False when the directory was refused."""

    def __init__(self, directory=None, max_bytes=512 << 20):
        if not isinstance(max_bytes, int) or max_bytes < 1:
            raise ValueError(f"max_bytes must be a positive int, got {max_bytes!r}")
        self.directory = _usable_directory(Path(directory or default_directory()))
        self.max_bytes = max_bytes
        self.corrupt = 0  # damaged entries found and deleted

    @property
    def enabled(self):
        return self.directory is not None

    def _path(self, key):
        if not (isinstance(key, str) and len(key) == 64 and all(c in "0123456789abcdef" for c in key)):
            raise ValueError(f"disk cache keys are sha256 hex strings (see cache_key), got {key!r}")
        return self.directory / (key + _SUFFIX)

    def get(self, key):
        """(object bytes, metadata) for `key`, or None if absent or damaged (then deleted)."""
        if not self.enabled:
            return None
        path = self._path(key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        entry = _decode(data)
        if entry is None:
            self.corrupt += 1
            path.unlink(missing_ok=True)
            return None
        os.utime(path)  # recently used: evicted last
        return entry

    def put(self, key, obj, metadata=None):
        """Store atomically (temp file + rename); failures only warn, the cache is an optimisation."""
        if not self.enabled:
            return
        data = _encode(bytes(obj), json.dumps(metadata if metadata is not None else {}).encode())
        path = self._path(key)
        try:
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.replace(tmp, path)
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError as e:
            warnings.warn(f"fnad: cannot write disk cache entry {path}: {e}", RuntimeWarning, stacklevel=2)
            return
        self._evict()

    def _evict(self):
        entries, total, now = [], 0, time.time()
        for p in self.directory.iterdir():
            try:
                st = p.stat()
                if p.name.startswith(".tmp-") and now - st.st_mtime > _STALE_TEMP_SECONDS:
                    p.unlink()  # left by a killed writer
                elif p.suffix == _SUFFIX:
                    entries.append((st.st_mtime, st.st_size, p))
                    total += st.st_size
            except OSError:
                continue  # removed concurrently
        for _, size, p in sorted(entries):
            if total <= self.max_bytes:
                break
            p.unlink(missing_ok=True)
            total -= size

    def clear(self):
        if self.enabled:
            for p in self.directory.glob("*" + _SUFFIX):
                p.unlink(missing_ok=True)


def _encode(obj, meta):
    return _HEADER.pack(_MAGIC, _FORMAT, len(obj), len(meta), hashlib.sha256(obj + meta).digest()) + obj + meta


def _decode(data):
    if len(data) < _HEADER.size:
        return None
    magic, fmt, n_obj, n_meta, digest = _HEADER.unpack_from(data)
    payload = data[_HEADER.size:]
    if (magic, fmt) != (_MAGIC, _FORMAT) or len(payload) != n_obj + n_meta or not n_obj \
            or hashlib.sha256(payload).digest() != digest:
        return None
    try:
        return payload[:n_obj], json.loads(payload[n_obj:])
    except ValueError:
        return None


@dataclass(frozen=True)
class Compiled:
    """A loaded cache entry: the native code and the metadata its builder attached."""
    library: engine.NativeLibrary
    metadata: dict


class Cache:
    """In-memory LRU of loaded code in front of a `DiskCache` (or none: `disk=None`)."""

    def __init__(self, memory_size=256, disk=None):
        self.memory = LRUCache(memory_size)
        self.disk = disk
        self._counts = collections.Counter()
        self._lock = threading.Lock()

    def _count(self, what):
        with self._lock:
            self._counts[what] += 1

    def get_or_compile(self, key_text, build, version=COMPILER_VERSION, speed_level=3):
        """The `Compiled` code for `key_text`, the text identifying it (LLVM IR, or the caller's IR
        so that a hit skips generating LLVM IR). On a miss `build()` is called and must return
        `(llvm_ir, exports, metadata)`: IR text or llvmlite module, exported symbol names and a
        JSON-serialisable dict; it is compiled at optimisation level `speed_level`."""
        key = cache_key(key_text, version if speed_level == 3 else f"{version} O{speed_level}")
        compiled = self.memory.get(key)
        if compiled is not None:
            self._count("memory_hits")
            return compiled
        entry = self.disk.get(key) if self.disk is not None else None
        if entry is not None:
            self._count("disk_hits")
            obj, stored = entry
        else:
            self._count("misses")
            llvm_ir, exports, metadata = build()
            # Through JSON now: fails early if it cannot be stored, and equals what a disk hit gives.
            stored = json.loads(json.dumps({"exports": list(exports), "metadata": metadata}))
            obj = engine.compile_object(llvm_ir, speed_level)
            self._count("compiles")
            if self.disk is not None:
                self.disk.put(key, obj, stored)
        compiled = Compiled(engine.load_object(obj, stored["exports"]), stored["metadata"])
        self.memory.put(key, compiled)
        return compiled

    def stats(self):
        """Counters: memory_hits, disk_hits, misses, compiles, corrupt (damaged disk entries)."""
        with self._lock:
            counts = dict.fromkeys(["memory_hits", "disk_hits", "misses", "compiles"], 0) | self._counts
        counts["corrupt"] = self.disk.corrupt if self.disk is not None else 0
        return counts


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
