"""Timing: contenders of one workload are run interleaved (A B C A B C ...) so machine noise hits
them alike; each sample times a block of calls long enough to dwarf the timer's resolution."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Result:
    name: str
    samples: list = field(default_factory=list)  # seconds per call

    @property
    def median(self):
        return float(np.median(self.samples))

    @property
    def min(self):
        return float(np.min(self.samples))

    @property
    def max(self):
        return float(np.max(self.samples))


def byte_compile_fnad():
    """Byte-compile fnad's packages as `pip install` does for an installed package, so that fresh
    processes timed by a benchmark load .pyc files as JAX, NumPy and llvmlite do. (An editable
    install under PYTHONDONTWRITEBYTECODE=1, as on this machine, would otherwise compile fnad's
    sources in every fresh process: about 0.1 s of the compiler's first import.)"""
    import compileall
    import os

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for package in ("fnad", "fnad_compiler"):
        compileall.compile_dir(os.path.join(root, package), quiet=1)


def _block_size(fn, target=2e-3):
    """Calls per sample so one sample takes about `target` seconds."""
    fn()
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= target or n >= 1 << 20:
            return n
        n *= 2 if dt == 0 else max(2, min(100, int(target / dt)))


def interleaved(contenders: dict, repeats=15, target=2e-3, settle=5e-3, warm=50e-3):
    """contenders: name -> zero-argument callable (already warmed up / compiled).
    Returns {name: Result} with per-call times. Before each block the process sleeps `settle`
    seconds, so that threads a contender left spinning (OpenMP, OpenBLAS, XLA pools) go idle
    instead of competing with the next contender for the cores; then untimed calls for at least
    `warm` seconds (one call at minimum) bring the contender's own threads back and onto their
    cores, so a sample is the steady state of calls in a loop (a training loop does not sleep
    between steps). On the 2-vCPU machine of the README, the second core takes 10-30 ms of work
    to come back to full speed after any pause (idle, or one core busy): fnad's two-thread
    logsumexp of 10^7 floats, timed after 0 / 2 / 5 / 10 / 20 / 50 ms of untimed calls, took
    2.86 / 2.68 / 2.01 / 1.76 / 1.66 / 1.67 ms in one measurement, and after 30 ms of one-core
    work it needed ~10 calls to recover in another, so the default warm-up is 50 ms."""
    blocks = {k: _block_size(f, target) for k, f in contenders.items()}
    results = {k: Result(k) for k in contenders}
    for _ in range(repeats):
        for k, f in contenders.items():
            n = blocks[k]
            time.sleep(settle)
            _warm_up(f, warm)
            t0 = time.perf_counter()
            for _ in range(n):
                f()
            results[k].samples.append((time.perf_counter() - t0) / n)
    return results


def _warm_up(fn, seconds):
    """Untimed calls of `fn` for at least `seconds` (one call at minimum)."""
    end = time.perf_counter() + seconds
    fn()
    while time.perf_counter() < end:
        fn()


def fmt_time(s):
    if s < 1e-6:
        return f"{s * 1e9:.0f} ns"
    if s < 1e-3:
        return f"{s * 1e6:.1f} us"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"
