"""One derivative three ways: finite differences, a closed form by hand, and automatic differentiation.

f(x) = x sin(x^2) has the closed form f'(x) = sin(x^2) + 2 x^2 cos(x^2).

1. Numerical differentiation approximates the limit with a finite step h. Its error has two parts:
   truncation (the neglected Taylor terms, ~h for a forward difference, ~h^2 for a central one),
   which shrinks with h, and rounding (f is only known to ~1e-16 relative, and that error is divided
   by h), which grows as h shrinks. The total is V-shaped in log-log: smallest near h ~ sqrt(eps)
   ~ 1e-8 (forward) or eps^(1/3) ~ 1e-5 (central), and never better than about 1e-8 / 1e-11.
2. The symbolic closed form is exact but has to be derived (by hand or by a computer-algebra system),
   and for real programs the expression swells.
3. Automatic differentiation applies the chain rule to the operations the program executes, with
   exact local derivatives (d sin = cos, ...). There is no step h: the result equals the closed form
   up to floating-point rounding, in forward mode (`jvp`, `jacfwd`) and reverse mode (`grad`) alike.

AD differentiates the program *as it ran*: with Python `if`/`while` on concrete values, eager `grad`
sees the branch and the trip count that were taken and differentiates that path (a trip count is a
constant, so d/dx (3^n sin x) = 3^n cos x). The structured `fnad.lax.cond` / `fnad.lax.while_loop`
do the same, and also work where values are abstract (under `vmap` and `jit`).

    python examples/autodiff_three_ways.py [--quick] [--x 1.3]
"""

from __future__ import annotations

import argparse

import numpy as np

import fnad
import fnad.numpy as fnp


def f(x):
    return x * fnp.sin(x**2)


def f_prime_closed_form(x):
    return np.sin(x**2) + 2 * x**2 * np.cos(x**2)


def forward_difference(fun, x, h):
    return (fun(x + h) - fun(x)) / h


def central_difference(fun, x, h):
    return (fun(x + h) - fun(x - h)) / (2 * h)


def finite_difference_table(x, exact, steps):
    """Absolute errors of forward and central differences for each step h."""
    rows = []
    for h in steps:
        fwd = abs(forward_difference(f, x, h) - exact)
        cen = abs(central_difference(f, x, h) - exact)
        rows.append((h, float(fwd), float(cen)))
    return rows


def log_bar(err, width=30):
    """A bar whose length grows with log10(err) from 1e-16 to 1e0: the V shape made visible."""
    level = 16 + np.log10(max(err, 1e-16))
    return "#" * round(width * min(level, 16) / 16)


# ---- control flow: the path that ran is the one that is differentiated ----------------------------

GROWTH = 3.0
LIMIT = 10.0


def python_control_flow(x):
    """Python `if` and `while` on concrete values (fine eagerly, also under grad)."""
    y = fnp.sin(x) if x > 0 else x**2
    while y < LIMIT:
        y = GROWTH * y
    return y


def path_derivative(x):
    """d/dx of the path taken, by hand: n trips multiply the derivative of the branch by GROWTH^n."""
    y, dy = (np.sin(x), np.cos(x)) if x > 0 else (x**2, 2 * x)
    while y < LIMIT:
        y, dy = GROWTH * y, GROWTH * dy
    return dy


def lax_control_flow(x):
    """The same function with structured control flow: traceable, so it also works under vmap/jit."""
    y = fnad.lax.cond(x > 0, fnp.sin, lambda v: v**2, x)
    return fnad.lax.while_loop(lambda v: v < LIMIT, lambda v: GROWTH * v, y)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer step sizes and grid points")
    parser.add_argument("--x", type=float, default=1.3, help="the point at which to differentiate")
    args = parser.parse_args(argv)
    x = args.x
    exact = float(f_prime_closed_form(x))
    print(f"f(x) = x sin(x^2) at x = {x}:  closed form f'(x) = sin(x^2) + 2x^2 cos(x^2) = {exact!r}\n")

    print("1. Finite differences: absolute error as h shrinks (bar ~ log10 error)")
    steps = 10.0 ** -np.arange(1, 16, 2 if args.quick else 1)
    table = finite_difference_table(x, exact, steps)
    print(f"{'h':>8} {'forward':>10}  {'':30} {'central':>10}")
    for h, fwd, cen in table:
        print(f"{h:8.0e} {fwd:10.2e}  {log_bar(fwd):30} {cen:10.2e}  {log_bar(cen)}")
    best_fwd = min(table, key=lambda r: r[1])
    best_cen = min(table, key=lambda r: r[2])
    print(
        f"best forward: h={best_fwd[0]:.0e} error {best_fwd[1]:.1e};  "
        f"best central: h={best_cen[0]:.0e} error {best_cen[2]:.1e}"
    )
    print(
        "(left of the minimum the error falls as h (forward) or h^2 (central): truncation;"
        " right of it, it grows as eps/h: rounding)\n"
    )

    print("2. Closed form by hand:", exact, "\n")

    print("3. Automatic differentiation")
    _, jvp_value = fnad.jvp(f, (x,), (1.0,))
    jacfwd_value = fnad.jacfwd(f)(x)
    grad_value = fnad.grad(f)(x)
    ad = {"forward jvp": float(jvp_value), "forward jacfwd": float(jacfwd_value), "reverse grad": float(grad_value)}
    for name, value in ad.items():
        print(f"   {name:15} {value!r:24} |error| {abs(value - exact):.1e}")
    print("   AD equals the closed form to rounding: no step size, no truncation.\n")

    print("Control flow is differentiated as the program ran")
    grid = [-2.5, -1.0, 0.3, 1.0, 2.0] if args.quick else [-3.0, -2.5, -1.0, -0.5, 0.3, 1.0, 1.5, 2.0, 2.8]
    python_grads = [float(fnad.grad(python_control_flow)(x0)) for x0 in grid]
    by_hand = [float(path_derivative(x0)) for x0 in grid]
    fd = [float(central_difference(python_control_flow, x0, 1e-6)) for x0 in grid]
    print(f"{'x':>6} {'grad (Python if/while)':>24} {'path rule by hand':>20} {'central diff':>14}")
    for row in zip(grid, python_grads, by_hand, fd):
        print(f"{row[0]:6.2f} {row[1]:24.10f} {row[2]:20.10f} {row[3]:14.6f}")

    try:
        fnad.vmap(fnad.grad(python_control_flow))(np.array(grid))
        vmap_error = None
    except fnad.ConcretizationError as err:
        vmap_error = str(err)
        print(
            f"vmap of the Python version has no single path to follow:\n  ConcretizationError: "
            f"{vmap_error.split('. ')[0]}."
        )
    result = {
        "x": x,
        "exact": exact,
        "fd_table": table,
        "ad": ad,
        "grid": grid,
        "python_grads": python_grads,
        "python_vmap_error": vmap_error,
        "lax_grads": None,
        "lax_vmap_grads": None,
    }
    if hasattr(fnad.lax, "while_loop"):
        lax_grads = [float(fnad.grad(lax_control_flow)(x0)) for x0 in grid]
        lax_vmap = fnad.vmap(fnad.grad(lax_control_flow))(np.array(grid))
        print("with fnad.lax.cond / fnad.lax.while_loop:  grad", np.round(lax_grads, 10))
        print("                        vmap(grad) over the grid", np.round(lax_vmap, 10))
        result.update(lax_grads=lax_grads, lax_vmap_grads=[float(v) for v in lax_vmap])
    else:
        print("(fnad.lax.while_loop is not available in this build: the lax.cond/while_loop part is skipped)")
    return result


if __name__ == "__main__":
    main()
