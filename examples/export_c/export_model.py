"""Export a small model's loss and gradient as a C library, and train the same model with fnad.jit
so the C program's numbers can be checked (see README.md in this directory).

    python examples/export_c/export_model.py [--out DIR] [--steps 2000] [--quick]

writes DIR/libmlp.so, DIR/mlp.h and DIR/libscipy_openblas.so (default DIR: examples/export_c/build),
then prints fnad.jit's loss after the same gradient descent that train.c runs, and the time of one
gradient through fnad.jit.
"""

from __future__ import annotations

import argparse
import pathlib
import time

import numpy as np

import fnad
import fnad.numpy as fnp
from fnad.tree_util import tree_flatten, tree_leaves, tree_map, tree_unflatten

HERE = pathlib.Path(__file__).resolve().parent
WIDTH = 16
LEARNING_RATE = 0.1  # train.c uses the same
POINTS = 64


def data():
    """Samples of sin(1.5 x) on [-2, 2]: embedded in the library as constants."""
    x = np.linspace(-2.0, 2.0, POINTS).reshape(POINTS, 1)
    return x, np.sin(1.5 * x)


def initial_params():
    """Deterministic start, computed exactly alike in train.c: element i of leaf k (in tree_util
    order: b1, b2, b3, w1, w2, w3) is ((37 i + 11 k) mod 101 - 50) / 250."""
    shapes = {"b1": (WIDTH,), "b2": (WIDTH,), "b3": (1,), "w1": (1, WIDTH), "w2": (WIDTH, WIDTH), "w3": (WIDTH, 1)}
    return {
        name: ((np.arange(np.prod(shape)) * 37 + 11 * k) % 101 - 50).reshape(shape) / 250.0
        for k, (name, shape) in enumerate(sorted(shapes.items()))
    }


def model(params, x):
    h = fnp.tanh(x @ params["w1"] + params["b1"])
    h = fnp.tanh(h @ params["w2"] + params["b2"])
    return h @ params["w3"] + params["b3"]


def make_loss():
    x, y = data()

    def loss(params):
        return fnp.mean((model(params, x) - y) ** 2)

    return loss


def train(params, grad, steps):
    """Plain gradient descent, the update written as train.c writes it (p -= lr * g)."""
    for _ in range(steps):
        params = tree_map(lambda p, g: p - LEARNING_RATE * g, params, grad(params))
    return params


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE / "build"), help="directory of the library and header")
    parser.add_argument("--steps", type=int, default=2000, help="gradient descent steps (as train.c's argument)")
    parser.add_argument("--quick", action="store_true", help="200 steps")
    args = parser.parse_args(argv)
    steps = 200 if args.quick else args.steps

    loss = make_loss()
    params = initial_params()
    start = time.perf_counter()
    library = fnad.export.c_library(
        {"loss": loss, "grad_loss": fnad.grad(loss)}, params, directory=args.out, library="mlp"
    )
    print(f"wrote {library.path}, {library.header} in {time.perf_counter() - start:.2f} s")
    for declaration in library.declarations:
        print("  " + declaration)

    grad = fnad.jit(fnad.grad(loss))
    trained = train(params, grad, steps)
    final = float(fnad.jit(loss)(trained))
    print(f"fnad.jit: loss after {steps} steps {final:.17g}")

    # Time per gradient through fnad.jit: with the dict (Python flattens and rebuilds the pytrees
    # on each call), and with the leaves as positional arrays (the native entry calls the code).
    leaves, treedef = tree_flatten(params)
    flat_grad = fnad.jit(lambda *xs: tree_leaves(fnad.grad(loss)(tree_unflatten(treedef, list(xs)))))
    calls = 200 if args.quick else 2000
    times = {}
    for label, call in [("dict argument", lambda: grad(params)), ("flat arrays", lambda: flat_grad(*leaves))]:
        call()  # compiled before timing
        start = time.perf_counter()
        for _ in range(calls):
            call()
        times[label] = (time.perf_counter() - start) / calls
        print(f"fnad.jit: {times[label] * 1e6:.2f} us per gradient ({label})")
    per_call = times["flat arrays"]
    return {"library": library, "steps": steps, "loss": final, "params": trained, "seconds_per_grad": per_call}


if __name__ == "__main__":
    main()
