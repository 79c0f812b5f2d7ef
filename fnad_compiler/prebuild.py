"""Builds fnad's runtime libraries into the disk cache ahead of any program.

Generated code calls a few libraries that do not depend on the user's program: the scratch
allocator, the result pool, the parallel-for and parallel-gemm runtimes, the convolution driver
and the huge-argument trig reductions. Each is compiled the first time code needing it is loaded,
and kept in the disk cache; together they took 100-150 ms of the first call of a small program on
a fresh cache (chain-grad 10, chain-jacfwd 10 of `benchmarks.compile_time`). Building them once
per machine and fnad version, as JAX ships XLA's runtime compiled, leaves a first call only its
program's own code to compile:

    python -m fnad_compiler.prebuild
"""

import importlib
import time

from fnad_compiler import engine

# Every module registering with `engine.register_symbol` the symbols runtime libraries define, or
# call (pyentry's: Python's and NumPy's C API). MPI's are libmpi's own, loaded with mpi4py: not built.
RUNTIME_MODULES = (
    "fnad_compiler.scratch",
    "fnad_compiler.buffers",
    "fnad_compiler.parallel",
    "fnad_compiler.blas",
    "fnad_compiler.lower.conv",
    "fnad_compiler.huge_trig",
    "fnad_compiler.pyentry",
)


def prebuild():
    """Compile (or find in the disk cache) every runtime library; returns the seconds it took."""
    start = time.perf_counter()
    for module in RUNTIME_MODULES:
        importlib.import_module(module)
    engine.resolve_registered()
    return time.perf_counter() - start


if __name__ == "__main__":
    print(f"fnad runtime libraries ready in {prebuild():.2f} s")
