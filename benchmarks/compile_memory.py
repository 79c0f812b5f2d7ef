"""Memory kept per compile, in a fresh process with an empty disk cache (so every compile is real):
N distinct jitted functions, each compiled once and kept alive by the caller, with the in-process
caches bounded at FNAD_JIT_CACHE_ENTRIES=64 (a function's signature and its executable are an entry
each, so they are full after 32 functions; the LRU of loaded libraries is set to 32 too). Prints the RSS growth per compile while the caches fill
(what they keep per compiled function, plus the rest) and after: what no cache bound can free
(llvmlite's per-compile leaks, see fnad_compiler/engine.py).

    python -m benchmarks.compile_memory [N]
"""

import gc
import os
import subprocess
import sys
import tempfile

ENTRIES = 64
FILLED = ENTRIES // 2  # compiles after which the bounded caches are full


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(n):
    """(KB per compile while the caches fill, KB per compile after), in this process."""
    import numpy as np

    import fnad
    import fnad.numpy as fnp
    from fnad_compiler import cache

    cache.default_cache().memory.maxsize = FILLED  # its LRU of loaded libraries (256): full as soon
    x = np.ones(4)
    fnad.jit(lambda x: x + 1.0)(x)  # runtime code loaded once, outside the measurement
    kept, marks = [], [rss()]
    for i in range(n):
        f = fnad.jit(lambda x, c=i + 0.5: fnp.sin(x) * c + 1.0)
        f(x)
        kept.append(f)
        if i + 1 in (FILLED, n):
            gc.collect()
            marks.append(rss())
    return (marks[1] - marks[0]) / FILLED / 1024, (marks[2] - marks[1]) / (n - FILLED) / 1024


def line(n=200):
    """The benchmark report's line, measured in a fresh process."""
    with tempfile.TemporaryDirectory(prefix="fnad-compile-memory-") as d:
        env = dict(os.environ, FNAD_CACHE_DIR=d, FNAD_JIT_CACHE_ENTRIES=str(ENTRIES))
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.compile_memory", str(n)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    first, rest = map(float, out.split())
    return (
        f"Compile memory ({n} distinct jitted functions kept alive, in-process caches bounded at "
        f"{ENTRIES} entries, loaded libraries at {FILLED}): RSS +{first:.0f} KB per compile while the caches fill (first {FILLED}), "
        f"+{rest:.0f} KB per compile once they are full (llvmlite's per-compile leaks)"
    )


if __name__ == "__main__":
    print(*measure(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
