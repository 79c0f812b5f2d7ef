"""Higher derivatives of tanh by nesting grad, checked against their closed forms, and the IR they make.

`fnad.grad(f)` is an ordinary function, so it can be differentiated again: `grad(grad(tanh))` is the
second derivative, and `vmap` turns each scalar derivative into one evaluated over a whole grid.
With t = tanh(x) the closed forms are polynomials in t:

    tanh'    = 1 - t^2
    tanh''   = -2 t (1 - t^2)
    tanh'''  = -2 + 8 t^2 - 6 t^4
    tanh'''' = 16 t - 40 t^3 + 24 t^5

Naive nesting can make the program grow exponentially with the order (each derivative of a product
doubles it). fnad keeps the traced IR small by not materialising symbolic zeros and by simplifying
each staged program (dead code, common subexpressions, x*1, x+0, ...); the table printed at the end
compares `len(make_jaxpr(grad^n(tanh))(x).eqns)` with JAX's jaxpr and with XLA after optimisation.

    python examples/higher_derivatives.py [--quick] [--out tanh_derivatives.png] [--points 401]
"""

from __future__ import annotations

import argparse
import os

import numpy as np

import fnad
import fnad.numpy as fnp

MAX_ORDER = 4

# Equation counts measured with JAX for grad^n(tanh), n = 1..6: the jaxpr as traced, and the
# HLO instruction count after XLA's optimisation passes.
JAX_JAXPR_EQNS = (5, 15, 34, 75, 172, 417)
XLA_OPTIMISED = (8, 12, 20, 40, 81, 171)


def closed_form(order, x):
    t = np.tanh(x)
    return {1: 1 - t**2, 2: -2 * t * (1 - t**2), 3: -2 + 8 * t**2 - 6 * t**4, 4: 16 * t - 40 * t**3 + 24 * t**5}[order]


def nth_grad(fun, order):
    for _ in range(order):
        fun = fnad.grad(fun)
    return fun


def derivatives_on_grid(x, max_order=MAX_ORDER):
    """{n: vmap(grad^n(tanh))(x)} for n = 1..max_order."""
    return {n: np.asarray(fnad.vmap(nth_grad(fnp.tanh, n))(x)) for n in range(1, max_order + 1)}


def ir_sizes(max_order, x=1.0):
    return [len(fnad.make_jaxpr(nth_grad(fnp.tanh, n))(x).eqns) for n in range(1, max_order + 1)]


def save_plot(x, derivs, path):
    """Plot tanh and its derivatives to a PNG; returns False when matplotlib is not installed."""
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(x, np.tanh(x), label="tanh", color="black")
    for n, values in derivs.items():
        ax.plot(x, values, label=f"grad^{n}(tanh)")
    ax.set_xlabel("x")
    ax.set_title("tanh and its derivatives, by nested fnad.grad under vmap")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def print_table(x, derivs, rows=9):
    picks = np.linspace(0, len(x) - 1, rows).astype(int)
    print(f"{'x':>6} " + " ".join(f"{f'grad^{n}(tanh)':>14}" for n in derivs))
    for i in picks:
        print(f"{x[i]:6.2f} " + " ".join(f"{derivs[n][i]:14.8f}" for n in derivs))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer grid points")
    parser.add_argument("--points", type=int, default=401, help="grid points on [-4, 4]")
    parser.add_argument(
        "--out", default="tanh_derivatives.png", help="where to save the plot (when matplotlib is installed)"
    )
    args = parser.parse_args(argv)

    x = np.linspace(-4.0, 4.0, 41 if args.quick else args.points)
    derivs = derivatives_on_grid(x)
    errors = {n: float(np.max(np.abs(derivs[n] - closed_form(n, x)))) for n in derivs}
    for n, err in errors.items():
        print(f"order {n}: max |vmap(grad^{n}(tanh)) - closed form| over {len(x)} points = {err:.1e}")

    plotted = save_plot(x, derivs, args.out)
    if plotted:
        print(f"plot saved to {os.path.abspath(args.out)}")
    else:
        print("matplotlib is not installed: a table instead of a plot")
        print_table(x, derivs)

    sizes = ir_sizes(len(JAX_JAXPR_EQNS))
    print("\nIR size of grad^n(tanh): equations in make_jaxpr(...)(1.0)")
    print(f"{'n':>2} {'fnad':>6} {'JAX jaxpr':>10} {'XLA optimised':>14}")
    for n, (ours, jax_eqns, xla) in enumerate(zip(sizes, JAX_JAXPR_EQNS, XLA_OPTIMISED), start=1):
        print(f"{n:>2} {ours:>6} {jax_eqns:>10} {xla:>14}")
    print("\nthird derivative, as fnad stages it:")
    print(fnad.make_jaxpr(nth_grad(fnp.tanh, 3))(1.0))
    return {"x": x, "derivatives": derivs, "errors": errors, "ir_sizes": sizes, "plotted": plotted}


if __name__ == "__main__":
    main()
