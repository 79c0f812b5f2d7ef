"""Hessian-vector products without forming the Hessian: forward-over-reverse differentiation.

For f: R^n -> R, H(x) v is the directional derivative of the gradient along v, so it is one forward-
mode pass over a reverse-mode gradient:

    hvp(f, x, v) = jvp(grad(f), (x,), (v,))[1]

It costs a small constant times an evaluation of f and O(n) memory, whereas `hessian(f)(x) @ v`
builds the n x n matrix first (n Hessian-vector products and O(n^2) memory). Newton-CG, Lanczos
and curvature diagnostics only need products, so they never have to form H.

The example uses the chained Rosenbrock function, whose Hessian is tridiagonal with a closed form,
checks forward-over-reverse against reverse-over-reverse (`grad` of <grad f, v>), against
`hessian(f)(x) @ v` and against the closed form, then times HVP vs forming the Hessian as n grows.

    python examples/hessian_vector_products.py [--quick] [--sizes 10 100 300 1000]
"""

from __future__ import annotations

import argparse
import timeit

import numpy as np

import fnad
import fnad.numpy as fnp


def rosenbrock(x):
    return fnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def hvp(f, x, v):
    """Forward-over-reverse: differentiate grad(f) along v."""
    return fnad.jvp(fnad.grad(f), (x,), (v,))[1]


def hvp_reverse_over_reverse(f, x, v):
    """The same product as the gradient of the scalar <grad f(x), v> (two reverse passes)."""
    return fnad.grad(lambda y: fnp.vdot(fnad.grad(f)(y), v))(x)


def hvp_via_hessian(f, x, v):
    return fnad.hessian(f)(x) @ v


def rosenbrock_hvp_closed_form(x, v):
    """H v for the tridiagonal Rosenbrock Hessian, derived by hand from the terms
    100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2."""
    diagonal = np.zeros_like(x)
    diagonal[:-1] += 1200 * x[:-1] ** 2 - 400 * x[1:] + 2
    diagonal[1:] += 200
    off_diagonal = -400 * x[:-1]  # H[i, i+1] = H[i+1, i]
    hv = diagonal * v
    hv[:-1] += off_diagonal * v[1:]
    hv[1:] += off_diagonal * v[:-1]
    return hv


def best_time(fun, *args, repeats=3):
    return min(timeit.repeat(lambda: fun(*args), number=1, repeat=repeats))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[10, 100, 300, 1000], help="dimensions n for the timing table"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)

    n = 6
    x_small, v_small = rng.normal(size=n), rng.normal(size=n)
    methods = {
        "jvp(grad(f)) forward-over-reverse": hvp,
        "grad(<grad f, v>) reverse-over-reverse": hvp_reverse_over_reverse,
        "hessian(f)(x) @ v": hvp_via_hessian,
    }
    products = {name: np.asarray(method(rosenbrock, x_small, v_small)) for name, method in methods.items()}
    closed = rosenbrock_hvp_closed_form(x_small, v_small)
    print(f"Rosenbrock in n = {n}: H v by hand = {np.array2string(closed, precision=6)}")
    errors = {}
    for name, value in products.items():
        errors[name] = float(np.max(np.abs(value - closed)))
        print(f"  {name:40} max |error| {errors[name]:.1e}")

    sizes = [10, 30, 100] if args.quick else args.sizes
    print(f"\n{'n':>6} {'HVP':>10} {'Hessian @ v':>12} {'ratio':>7} {'rel. error vs closed form':>26}")
    timing = []
    for size in sizes:
        x, v = rng.normal(size=size), rng.normal(size=size)
        hv = np.asarray(hvp(rosenbrock, x, v))
        t_hvp = best_time(hvp, rosenbrock, x, v)
        t_hessian = best_time(hvp_via_hessian, rosenbrock, x, v)
        err = float(np.max(np.abs(hv - rosenbrock_hvp_closed_form(x, v))) / np.max(np.abs(hv)))
        timing.append((size, t_hvp, t_hessian, err))
        print(f"{size:6d} {t_hvp * 1e3:8.2f}ms {t_hessian * 1e3:10.2f}ms {t_hessian / t_hvp:7.1f} {err:26.1e}")
    print("(error relative to max |H v|; the Hessian's cost grows with n, the HVP's stays ~one gradient)")
    return {"x": x_small, "v": v_small, "products": products, "errors": errors, "timing": timing}


if __name__ == "__main__":
    main()
