"""Reverse-mode differentiation through a converging while_loop: Newton's method for sqrt(a).

Newton's iteration x <- (x + a / x) / 2 converges quadratically to sqrt(a); how many steps it takes
depends on the data, so the loop is a `fnad.lax.while_loop(cond_fun, body_fun, init_val)` that runs
until the relative residual |x^2 - a| / a is below a tolerance. Differentiating the result with
respect to a differentiates the iterations that actually ran; the derivatives of the iterates
converge (quadratically, like the iterates) to d sqrt(a)/da = 1 / (2 sqrt(a)), which the derivative
of the last iterate matches to ~1e-13 relative or better. (JAX's `grad`
refuses reverse mode through `while_loop`; fnad supports it, keeping memory bounded by checkpointing.)

Under `vmap` every lane has its own trip count: the batched loop runs until the slowest lane has
converged, and lanes that are done keep their values.

    python examples/newton_while_loop.py [--quick] [--lanes 1000] [--tol 1e-15]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import fnad
import fnad.numpy as fnp
from fnad import lax

MAX_ITERATIONS = 100


def newton_sqrt(a, tol=1e-15):
    """(sqrt(a) by Newton's method, the number of iterations it took). The start (1 + a) / 2 is
    the first Newton step from 1: tangent to sqrt at a = 1, where no iteration is needed."""

    def not_converged(state):
        x, i = state
        return (fnp.abs(x * x - a) > tol * a) & (i < MAX_ITERATIONS)

    def newton_step(state):
        x, i = state
        return 0.5 * (x + a / x), i + 1

    return lax.while_loop(not_converged, newton_step, (0.5 * (1.0 + a), 0))


def sqrt_by_newton(a, tol=1e-15):
    return newton_sqrt(a, tol)[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few lanes")
    parser.add_argument("--lanes", type=int, default=1000, help="values of a under vmap, log-spaced")
    parser.add_argument("--tol", type=float, default=1e-15, help="relative residual tolerance")
    args = parser.parse_args(argv)

    a = 2.0
    root, trips = newton_sqrt(a, args.tol)
    d_root = fnad.grad(sqrt_by_newton)(a, args.tol)
    _, d_root_fwd = fnad.jvp(lambda v: sqrt_by_newton(v, args.tol), (a,), (1.0,))
    print(f"a = {a}: sqrt by Newton = {float(root)!r} after {int(trips)} iterations (np.sqrt: {float(np.sqrt(a))!r})")
    print(f"  grad (reverse mode through while_loop) = {float(d_root)!r}")
    print(f"  jvp  (forward mode)                    = {float(d_root_fwd)!r}")
    print(f"  closed form 1 / (2 sqrt a)             = {float(1 / (2 * np.sqrt(a)))!r}")

    lanes = np.logspace(-6, 6, 7 if args.quick else args.lanes)
    start = time.perf_counter()
    roots, lane_trips = fnad.vmap(newton_sqrt, in_axes=(0, None))(lanes, args.tol)
    lane_grads = fnad.vmap(fnad.grad(sqrt_by_newton), in_axes=(0, None))(lanes, args.tol)
    elapsed = time.perf_counter() - start
    exact_grads = 1 / (2 * np.sqrt(lanes))
    rel_err = np.abs(np.asarray(lane_grads) - exact_grads) / exact_grads
    print(f"\nvmap over {len(lanes)} values of a from 1e-6 to 1e6 ({elapsed * 1e3:.1f} ms for value + grad):")
    print(f"  trip counts per lane: min {int(np.min(lane_trips))}, max {int(np.max(lane_trips))}")
    if args.quick:
        print(f"{'a':>10} {'trips':>6} {'sqrt':>22} {'grad':>22} {'rel. error':>11}")
        for row in zip(lanes, lane_trips, roots, lane_grads, rel_err):
            print(f"{row[0]:10.0e} {int(row[1]):6d} {float(row[2]):22.15g} {float(row[3]):22.15g} {row[4]:11.1e}")
    print(f"  max relative error of vmap(grad) vs 1/(2 sqrt a): {rel_err.max():.1e}")
    return {
        "a": a,
        "root": float(root),
        "trips": int(trips),
        "grad": float(d_root),
        "jvp": float(d_root_fwd),
        "lanes": lanes,
        "lane_roots": np.asarray(roots),
        "lane_trips": np.asarray(lane_trips),
        "lane_grads": np.asarray(lane_grads),
    }


if __name__ == "__main__":
    main()
