"""`python -m benchmarks [names...] [--repeats N]`: run the workloads and print a markdown table of
medians (min-max) and ratios of fnad to each other contender."""

from __future__ import annotations

import argparse
import os
import platform
import traceback

import numpy as np

from . import compile_memory, compile_time, distributed, workloads
from .harness import fmt_time, interleaved

CONTENDERS = ("fnad", "numpy", "jax", "torch")


def machine_line():
    import llvmlite.binding as llvm

    llvm.initialize_native_target()
    cpu = llvm.get_host_cpu_name()
    return (
        f"{platform.machine()} {cpu}, {len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}, "
        f"NumPy {np.__version__}"
        + (", JAX available" if workloads.HAVE_JAX else "")
        + (", PyTorch available" if workloads.HAVE_TORCH else "")
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "names",
        nargs="*",
        help=f"workload groups (default all): {', '.join(workloads.ALL)}, compile_time, distributed (MPI jobs)",
    )
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args(argv)
    names = args.names or [*workloads.ALL, "compile_time", *(["distributed"] if distributed.available() else [])]
    print(f"Machine: {machine_line()}\n")
    print("| workload | " + " | ".join(CONTENDERS) + " | fnad/numpy | fnad/jax | fnad/torch | target |")
    print("|---|" + "---|" * (len(CONTENDERS) + 4))
    for name in names:
        if name in ("compile_time", "distributed"):
            continue  # tables of their own, below
        try:
            group = workloads.ALL[name]()
        except Exception as e:  # noqa: BLE001 (report and go on: one broken workload must not hide the rest)
            print(f"| {name} | failed: {type(e).__name__}: {str(e).splitlines()[0][:80]} |")
            traceback.print_exc()
            continue
        for w in group:
            res = interleaved(w.contenders, repeats=args.repeats)
            cells = []
            for c in CONTENDERS:
                r = res.get(c)
                cells.append("-" if r is None else f"{fmt_time(r.median)} ({fmt_time(r.min)}-{fmt_time(r.max)})")
            ratio = lambda mine, other: "-" if other not in res else f"{res[mine].median / res[other].median:.2f}x"
            print(
                f"| {w.name} | "
                + " | ".join(cells)
                + f" | {ratio('fnad', 'numpy')} | {ratio('fnad', 'jax')} | {ratio('fnad', 'torch')} | "
                f"{w.target} |",
                flush=True,
            )
            for extra in (c for c in res if c not in CONTENDERS):  # variants of fnad (e.g. a warm cache)
                r = res[extra]
                print(
                    f"| {w.name}: {extra} | {fmt_time(r.median)} ({fmt_time(r.min)}-{fmt_time(r.max)}) |"
                    + " - |" * (len(CONTENDERS) - 1)
                    + f" {ratio(extra, 'numpy')} | {ratio(extra, 'jax')} | {ratio(extra, 'torch')} | |"
                )
    counts = workloads.ir_sizes()
    print(
        "\nIR size of grad^n(tanh), n=1..6: fnad "
        + "/".join(map(str, counts))
        + " equations (JAX jaxpr 5/15/34/75/172/417; after XLA's optimiser 8/12/20/40/81/171)"
    )
    print(compile_memory.line())
    if "compile_time" in names:
        print("\nCompile time (benchmarks/compile_time.py: fresh processes, no compiled program on disk):\n")
        compile_time.table(have_jax=workloads.HAVE_JAX)
    if "distributed" in names:
        print("\nAcross processes (benchmarks/distributed.py: mpiexec jobs, one thread per process):\n")
        distributed.main()


if __name__ == "__main__":
    main()
