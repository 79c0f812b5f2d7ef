"""Collectives across processes: `mpiexec -n 2 python -m benchmarks.distributed` (FNAD_NUM_THREADS=1
and OPENBLAS_NUM_THREADS=1 for one thread per process), or `python -m benchmarks.distributed`, which
launches those jobs itself and prints the markdown rows.

- allreduce of 1e3, 1e5, 1e7 float32 through `jit(shard_map(psum))` against raw mpi4py `Allreduce` on
  the same buffers (target <= 1.1x);
- the data-parallel MLP step (jit of a shard_map differentiating the loss averaged with pmean) on 2
  processes x 1 thread, each with the batch of the 1-process run (weak scaling; target >= 85%), and
  the same step's arithmetic in NumPy without communication, the efficiency this machine allows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import numpy as np


def _median_time(fn, comm, repeats=15, min_block=2e-3):
    """Median seconds per call, in blocks of calls all processes run together (barrier between blocks)."""
    fn()
    n = 1
    while True:
        comm.Barrier()
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = comm.allreduce(time.perf_counter() - t0, op=_max())
        if dt >= min_block or n >= 1 << 16:
            break
        n *= 2
    samples = []
    for _ in range(repeats):
        comm.Barrier()
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append(comm.allreduce(time.perf_counter() - t0, op=_max()) / n)
    return float(np.median(samples))


def _max():
    from mpi4py import MPI

    return MPI.MAX


def _fmt(seconds):
    return f"{seconds * 1e6:.1f} us" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def allreduce_rows(comm):
    import fnad
    from fnad import P, lax

    mesh = fnad.make_mesh((comm.size,), ("data",))
    psum = fnad.jit(fnad.shard_map(lambda x: lax.psum(x, "data"), mesh=mesh, in_specs=P("data"), out_specs=P()))
    rows = []
    for size in (10**3, 10**5, 10**7):
        x = np.ones(size, np.float32)
        out = np.empty_like(x)
        np.testing.assert_array_equal(psum(x), x * comm.size)
        t_fnad = _median_time(lambda x=x: psum(x), comm)
        t_mpi = _median_time(lambda x=x, out=out: comm.Allreduce(x, out), comm)
        rows.append(
            f"| allreduce {size:.0e} float32, {comm.size} processes | {_fmt(t_fnad)} | {_fmt(t_mpi)} | "
            f"{t_fnad / t_mpi:.2f}x | <= 1.1x |"
        )
    return rows


def mlp_step_time(comm, per_process_batch=512):
    """Seconds per data-parallel SGD step of a 784-256-10 MLP, each process on its own batch."""
    import fnad
    import fnad.numpy as fnp
    from fnad import P, lax

    rng = np.random.default_rng(0)
    params = {
        "w1": rng.normal(size=(784, 256)).astype(np.float32) * 0.05,
        "b1": np.zeros(256, np.float32),
        "w2": rng.normal(size=(256, 10)).astype(np.float32) * 0.05,
        "b2": np.zeros(10, np.float32),
    }
    x = rng.normal(size=(per_process_batch, 784)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, per_process_batch)]

    def loss(p, x, y):
        logits = fnp.tanh(x @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]
        return -fnp.mean(fnp.sum(fnad.nn.log_softmax(logits) * y, axis=1))

    def step(p, x, y):
        g = fnad.grad(lambda p: lax.pmean(loss(p, x, y), "data"))(p)
        return fnad.tree_util.tree_map(lambda a, b: a - 0.1 * b, p, g)

    mesh = fnad.make_mesh((comm.size,), ("data",))
    sharded = fnad.jit(fnad.shard_map(step, mesh=mesh, in_specs=(P(), P("data"), P("data")), out_specs=P()))
    return _median_time(lambda: sharded(params, x, y), comm, repeats=9)


def numpy_step_time(comm, per_process_batch=512):
    """Seconds per step of the same model's SGD step written in NumPy, each process on its own batch
    with no communication: how two processes share this machine's cores and memory when they do the
    data-parallel step's arithmetic, the ceiling of the step's weak scaling here."""
    rng = np.random.default_rng(0)
    w1, w2 = rng.normal(size=(784, 256)).astype(np.float32) * 0.05, rng.normal(size=(256, 10)).astype(np.float32) * 0.05
    b1, b2 = np.zeros(256, np.float32), np.zeros(10, np.float32)
    x = rng.normal(size=(per_process_batch, 784)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, per_process_batch)]

    def step():
        h = np.tanh(x @ w1 + b1)
        logits = h @ w2 + b2
        e = np.exp(logits - logits.max(1, keepdims=True))
        d = (e / e.sum(1, keepdims=True) - y) / np.float32(len(x))
        dh = (d @ w2.T) * (1 - h * h)
        return w1 - 0.1 * (x.T @ dh), b1 - 0.1 * dh.sum(0), w2 - 0.1 * (h.T @ d), b2 - 0.1 * d.sum(0)

    return _median_time(step, comm, repeats=9)


def worker(what):
    import fnad

    fnad.distributed.initialize()
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    steps = {"mlp": mlp_step_time, "numpy_step": numpy_step_time}
    lines = allreduce_rows(comm) if what == "allreduce" else [repr(steps[what](comm))]
    if comm.rank == 0:
        print("\n".join(lines), flush=True)


def _job(n, what):
    env = dict(os.environ, FNAD_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    cmd = [shutil.which("mpiexec"), "-n", str(n), sys.executable, "-m", "benchmarks.distributed", what]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, timeout=900)
    return out.stdout.strip()


def available():
    """Whether mpi4py and mpiexec are installed (the `mpi` extra)."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return shutil.which("mpiexec") is not None


def main():
    """Launch the jobs and print the rows (markdown)."""
    print("| workload | fnad | mpi4py / 1 process | ratio | target |")
    print("|---|---|---|---|---|")
    print(_job(2, "allreduce"))
    # Weak scaling compares jobs run one after the other, so the 1- and 2-process jobs alternate (three
    # pairs; medians) and the same arithmetic in NumPy, without communication, gives this machine's own
    # efficiency for two processes: the shared memory system, and a busy host, cost both alike.
    for what, name, target in (
        ("mlp", "data-parallel MLP step", ">= 85%"),
        ("numpy_step", "the same step in NumPy, no communication (the machine's ceiling)", ""),
    ):
        pairs = [(float(_job(1, what)), float(_job(2, what))) for _ in range(3)]
        one, two = (float(np.median(times)) for times in zip(*pairs))
        efficiency = float(np.median([a / b for a, b in pairs]))
        print(
            f"| {name}, batch 512 per process: 2 processes x 1 thread vs 1 x 1 | {_fmt(two)} | "
            f"{_fmt(one)} | weak-scaling efficiency {efficiency:.0%} | {target} |"
        )


if __name__ == "__main__":
    if len(sys.argv) > 1:
        worker(sys.argv[1])
    else:
        main()
