"""Per-example gradients of logistic regression with vmap(grad(loss)).

`grad(loss)(w, x_i, y_i)` is the gradient for one example. `vmap` turns it into a function over a
batch without a Python loop: `in_axes=(None, 0, 0)` says the weights are shared while x and y are
batched along their first axis, so the result has one gradient row per example. (Per-example
gradients are what differentially private SGD clips, and what influence and variance diagnostics
need; the ordinary batch gradient is their mean.)

For the logistic loss  l(w; x, y) = log(1 + exp(x.w)) - y x.w  the closed form is
dl/dw = (sigmoid(x.w) - y) x, and the example checks vmap(grad) against it and against a Python loop.
The batched function is compiled to native code with `fnad.jit`; `--no-jit` keeps the eager path,
and the output says which one ran.

    python examples/per_example_gradients.py [--quick] [--examples 4096] [--features 50] [--no-jit]
"""

from __future__ import annotations

import argparse
import timeit

import numpy as np

import fnad
import fnad.numpy as fnp


def logistic_loss(w, x, y):
    """Loss of one example (x: features, y in {0, 1}); logaddexp(0, z) = log(1 + e^z) without overflow."""
    z = fnp.dot(x, w)
    return fnp.logaddexp(0.0, z) - y * z


per_example_grads = fnad.vmap(fnad.grad(logistic_loss), in_axes=(None, 0, 0))


def closed_form_grads(w, x, y):
    z = x @ w
    return (1.0 / (1.0 + np.exp(-z)) - y)[:, None] * x


def python_loop_grads(w, x, y):
    grad_one = fnad.grad(logistic_loss)
    return np.stack([grad_one(w, xi, yi) for xi, yi in zip(x, y)])


def best_time(fun, *args, repeats=5):
    return min(timeit.repeat(lambda: fun(*args), number=1, repeat=repeats))


def make_data(rng, n, d):
    x = rng.normal(size=(n, d))
    true_w = rng.normal(size=d)
    y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-x @ true_w))).astype(np.float64)
    return x, y


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small batch")
    parser.add_argument("--examples", type=int, default=4096)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-jit", action="store_true", help="run vmap(grad) eagerly")
    args = parser.parse_args(argv)
    n, d = (128, 8) if args.quick else (args.examples, args.features)

    rng = np.random.default_rng(args.seed)
    x, y = make_data(rng, n, d)
    w = 0.1 * rng.normal(size=d)

    use_jit = not args.no_jit
    fun = fnad.jit(per_example_grads) if use_jit else per_example_grads
    path = "fnad.jit(vmap(grad))" if use_jit else "eager vmap(grad)"
    print(f"{n} examples, {d} features; running {path}")

    grads = np.asarray(fun(w, x, y))
    reference = closed_form_grads(w, x, y)
    loop_n = min(n, 64) if args.quick else min(n, 256)
    loop = python_loop_grads(w, x[:loop_n], y[:loop_n])
    err_closed = float(np.max(np.abs(grads - reference)))
    err_loop = float(np.max(np.abs(grads[:loop_n] - loop)))
    print(
        f"shape {grads.shape};  max |vmap(grad) - closed form| = {err_closed:.1e};"
        f"  max |vmap(grad) - Python loop over {loop_n}| = {err_loop:.1e}"
    )

    mean_grad = fnad.grad(lambda w: fnp.mean(fnad.vmap(logistic_loss, in_axes=(None, 0, 0))(w, x, y)))(w)
    err_mean = float(np.max(np.abs(grads.mean(axis=0) - mean_grad)))
    norms = np.linalg.norm(grads, axis=1)
    print(f"mean of per-example gradients vs grad of the mean loss: {err_mean:.1e}")
    print(f"per-example gradient norms: min {norms.min():.3f}  median {np.median(norms):.3f}  max {norms.max():.3f}")

    timings = {"eager vmap(grad)": best_time(per_example_grads, w, x, y)}
    if use_jit:
        timings[path] = best_time(fun, w, x, y)
    timings[f"Python loop of grad (extrapolated from {loop_n})"] = (
        best_time(python_loop_grads, w, x[:loop_n], y[:loop_n], repeats=2) * n / loop_n
    )
    print(f"time for {n} gradients:")
    for name, seconds in timings.items():
        print(f"  {name:45} {seconds * 1e3:10.3f} ms")
    return {
        "w": w,
        "x": x,
        "y": y,
        "grads": grads,
        "loop_grads": loop,
        "mean_grad": np.asarray(mean_grad),
        "jit_used": use_jit,
        "path": path,
    }


if __name__ == "__main__":
    main()
