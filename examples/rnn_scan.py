"""A recurrent network over a sequence with `lax.scan`, trained by backpropagation through time.

An Elman RNN reads a noisy sine wave one value at a time,

    h_t = tanh(W_h h_{t-1} + W_x x_t + b),     prediction_t = h_t . w_out + b_out,

and predicts the next value. `fnad.lax.scan(f, init, xs)` runs `f(carry, x_t) -> (carry, y_t)` over
the leading axis of xs and stacks the y_t: one traced step instead of T unrolled copies, so the
program and its derivative stay the same size for any sequence length. `grad` of the loss through
the scan is backpropagation through time; the example checks it against the same RNN written as a
Python loop (unrolled while tracing) and then trains for a few SGD steps.

    python examples/rnn_scan.py [--quick] [--length 200] [--hidden 32] [--steps 100] [--lr 0.1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import fnad
import fnad.numpy as fnp
from fnad import lax
from fnad.tree_util import tree_leaves, tree_map


def init_params(rng, hidden):
    scale = 1.0 / np.sqrt(hidden)
    return {
        "w_h": scale * rng.normal(size=(hidden, hidden)),
        "w_x": rng.normal(size=hidden),
        "b": np.zeros(hidden),
        "w_out": scale * rng.normal(size=hidden),
        "b_out": np.zeros(()),
    }


def rnn_cell(params, h, x_t):
    h = fnp.tanh(params["w_h"] @ h + params["w_x"] * x_t + params["b"])
    return h, h @ params["w_out"] + params["b_out"]


def predictions_scan(params, xs):
    h0 = fnp.zeros(params["b"].shape)
    _, ys = lax.scan(lambda h, x_t: rnn_cell(params, h, x_t), h0, xs)
    return ys


def mse(predictions, targets):
    return fnp.mean((predictions - targets) ** 2)


def loss_scan(params, xs, targets):
    return mse(predictions_scan(params, xs), targets)


def loss_unrolled(params, xs, targets):
    """The same loss with a Python loop over the (NumPy) sequence: T copies of the cell when traced."""
    h = fnp.zeros(params["b"].shape)
    total = 0.0
    for x_t, target_t in zip(xs, targets):
        h, y_t = rnn_cell(params, h, x_t)
        total = total + (y_t - target_t) ** 2
    return total / len(xs)


def make_sequence(rng, length):
    t = np.arange(length + 1) * 0.1
    wave = np.sin(t) + 0.05 * rng.normal(size=length + 1)
    return wave[:-1], wave[1:]  # inputs and next-step targets


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short sequence, a small RNN, a few steps")
    parser.add_argument("--length", type=int, default=200)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--steps", type=int, default=100, help="SGD steps")
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    length, hidden, steps = (20, 8, 5) if args.quick else (args.length, args.hidden, args.steps)

    rng = np.random.default_rng(args.seed)
    xs, targets = make_sequence(rng, length)
    params = initial_params = init_params(rng, hidden)

    start = time.perf_counter()
    loss, grads = fnad.value_and_grad(loss_scan)(params, xs, targets)
    t_scan = time.perf_counter() - start
    start = time.perf_counter()
    loss_loop, grads_loop = fnad.value_and_grad(loss_unrolled)(params, xs, targets)
    t_loop = time.perf_counter() - start
    grad_diff = max(float(np.max(np.abs(a - b))) for a, b in zip(tree_leaves(grads), tree_leaves(grads_loop)))
    scan_eqns = len(fnad.make_jaxpr(fnad.grad(loss_scan))(params, xs, targets).eqns)
    loop_eqns = len(fnad.make_jaxpr(fnad.grad(loss_unrolled))(params, xs, targets).eqns)
    print(f"RNN with {hidden} hidden units over a sequence of {length}")
    print(f"  loss: scan {float(loss):.12f}  unrolled loop {float(loss_loop):.12f}")
    print(f"  max |grad(scan) - grad(unrolled loop)| over all parameters = {grad_diff:.1e}")
    print(f"  value_and_grad time: scan {t_scan * 1e3:.1f} ms, unrolled {t_loop * 1e3:.1f} ms")
    print(f"  equations in make_jaxpr(grad(loss)): scan {scan_eqns}, unrolled {loop_eqns}")

    step = fnad.value_and_grad(loss_scan)
    losses = []
    for i in range(steps):
        value, g = step(params, xs, targets)
        params = tree_map(lambda p, gp: p - args.lr * gp, params, g)
        losses.append(float(value))
    losses.append(float(loss_scan(params, xs, targets)))
    print(f"  SGD (lr {args.lr}) for {steps} steps: loss {losses[0]:.5f} -> {losses[-1]:.5f}")
    return {
        "xs": xs,
        "targets": targets,
        "initial_params": initial_params,
        "loss": float(loss),
        "loss_unrolled": float(loss_loop),
        "grads": grads,
        "grads_unrolled": grads_loop,
        "losses": losses,
        "scan_eqns": scan_eqns,
        "loop_eqns": loop_eqns,
    }


if __name__ == "__main__":
    main()
