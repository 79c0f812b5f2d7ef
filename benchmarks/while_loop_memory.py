"""Reverse mode through a long while_loop: peak memory and recomputation of the checkpointed sweep.

    python -m benchmarks.while_loop_memory [--steps 100000] [--size 1000] [--checkpoints 20] [--tracemalloc]

The loop runs `steps` iterations (a trip count known only at run time) of an elementwise update of a
float64 carry of `size` elements. fnad's reverse mode keeps at most `checkpoints` carries and recomputes
the others (binomial schedule). We report the peak resident-memory growth during `grad` (and, with
--tracemalloc, the peak of traced allocations, which is exact but slows the run several times), the
number of recomputed loop steps per step (counted by counting `sin` evaluations: the backward pass of
sin needs only cos, so every sin after the forward pass is a recomputation), and the gradient's error
against the closed form (a product of per-step derivatives along the trajectory).
"""

from __future__ import annotations

import argparse
import resource
import threading
import time
import tracemalloc

import numpy as np

import fnad
import fnad.numpy as fnp
from fnad import lax
from fnad.primitives import elementwise
from fnad.primitives.control_flow import revolve_cost


def make_loss(steps, checkpoints):
    def loss(x, rate):
        def body(c):
            i, x = c
            return i + 1, x * (1.0 - rate) + rate * fnp.sin(x)

        return lax.while_loop(lambda c: c[0] < steps, body, (0, x), checkpoints=checkpoints)[1].sum()

    return loss


def reference_grad(x, rate, steps):
    g = np.ones_like(x)
    for _ in range(steps):
        g *= (1.0 - rate) + rate * np.cos(x)
        x = x * (1.0 - rate) + rate * np.sin(x)
    return g


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


class PeakRSS:
    """Samples the resident set size every millisecond in a thread; `.growth` is the peak over the
    value when the block started."""

    def __enter__(self):
        self.base = self.peak = rss_bytes()
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while self.running:
            self.peak = max(self.peak, rss_bytes())
            time.sleep(0.001)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()
        self.peak = max(self.peak, rss_bytes())
        self.growth = self.peak - self.base


class SinCounter:
    """Counts evaluations of the sin primitive's NumPy implementation."""

    def __init__(self):
        self.count, self.impl = 0, elementwise.sin_p.impl

    def __enter__(self):
        def counted(x):
            self.count += 1
            return self.impl(x)

        elementwise.sin_p.impl = counted
        return self

    def __exit__(self, *exc):
        elementwise.sin_p.impl = self.impl


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument("--checkpoints", type=int, default=20)
    ap.add_argument("--tracemalloc", action="store_true")
    ap.add_argument(
        "--jit",
        action="store_true",
        help="run grad compiled by fnad.jit (needs the compiler's "
        "lowerings of while/cond; recomputation is then not counted)",
    )
    args = ap.parse_args(argv)
    n, size, c = args.steps, args.size, args.checkpoints
    x0, rate = np.linspace(0.0, 2.0, size), 1e-5
    loss = make_loss(n, c)
    carry_bytes = x0.nbytes

    t0 = time.perf_counter()
    loss(x0, rate)
    t_fwd = time.perf_counter() - t0
    fnad.grad(make_loss(10, c))(x0, rate)  # warm up (imports, caches) before measuring memory

    grad = fnad.grad(loss)
    if args.jit:
        grad = fnad.jit(grad)
        grad(x0, rate)  # compile
    with SinCounter() as sins, PeakRSS() as rss:
        t0 = time.perf_counter()
        g = grad(x0, rate)
        t_grad = time.perf_counter() - t0
    rss_growth = rss.growth
    traced = None
    if args.tracemalloc:
        tracemalloc.start()
        fnad.grad(loss)(x0, rate)
        traced = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    err = np.abs(g - reference_grad(x0.copy(), rate, n)).max() / np.abs(g).max()
    recomputed = sins.count - n
    planned, slots = revolve_cost(n, c)

    print(
        f"while_loop reverse mode: {n:,} steps, carry {size:,} x float64 ({carry_bytes / 1e3:.0f} kB), {c} checkpoints"
    )
    print(f"  forward {t_fwd:.2f} s (eager), grad {t_grad:.2f} s ({'jit' if args.jit else 'eager'})")
    print(
        f"  peak RSS growth during grad: {rss_growth / 1e6:.1f} MB = {rss_growth / carry_bytes:.0f} carries "
        f"(storing every carry: {n * carry_bytes / 1e6:,.0f} MB)"
    )
    if traced is not None:
        print(f"  tracemalloc peak during grad: {traced / 1e6:.2f} MB = {traced / carry_bytes:.1f} carries")
    counted = "" if args.jit else f"counted {recomputed:,}, "
    print(
        f"  recomputed steps: {counted}schedule {planned:,} = {planned / n:.2f} per step (slots used {slots} "
        f"of {c}); forward pass + recomputation = {(n + planned) / n:.2f} x the forward"
    )
    print(f"  max relative error of the gradient vs the closed form: {err:.1e}")


if __name__ == "__main__":
    main()
