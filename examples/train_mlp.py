"""Train a multilayer perceptron on the 8x8 handwritten digits shipped in examples/data, with a
jit-compiled value_and_grad + optimizer step, and compare its step time with the same step written
by hand in NumPy (examples/numpy_mlp_reference.py).

    python examples/train_mlp.py [--epochs 30] [--batch-size 64] [--lr 0.05] [--seed 0]
                                 [--optimizer adam|momentum|sgd] [--no-jit] [--quick]

Data-parallel over MPI processes (`pip install fnad[mpi]`): each process takes its share of each batch,
and the jitted step, a `shard_map`, differentiates the loss averaged over the processes (`lax.pmean`):

    mpiexec -n 2 python examples/train_mlp.py --distributed
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from datasets import load_digits, train_test_split
from numpy_mlp_reference import init_params, numpy_train_step

import fnad
import fnad.numpy as fnp
from fnad import P, lax, optim

NUM_CLASSES = 10


def predict(params, x):
    hidden = fnp.maximum(x @ params["w1"] + params["b1"], 0.0)
    return hidden @ params["w2"] + params["b2"]


def loss_and_accuracy(params, x, y):
    """Mean softmax cross-entropy of integer labels y, and the batch accuracy (as aux)."""
    logits = predict(params, x)
    shifted = logits - fnad.stop_gradient(fnp.max(logits, axis=1, keepdims=True))
    log_probs = shifted - fnp.log(fnp.sum(fnp.exp(shifted), axis=1, keepdims=True))
    one_hot = (y[:, None] == fnp.arange(NUM_CLASSES)).astype(log_probs.dtype)
    loss = -fnp.mean(fnp.sum(one_hot * log_probs, axis=1))
    accuracy = fnp.mean((fnp.argmax(logits, axis=1) == y).astype(log_probs.dtype))
    return loss, accuracy


def make_train_step(optimizer, use_jit, mesh=None, donate=False):
    """The training step; with a `mesh`, run by every process on its share of the batch, with the
    loss (and the reported accuracy) averaged over the processes. `donate`: the step may compute the
    new parameters and optimizer state in the old ones' buffers (`donate_argnums`, as in JAX), so
    callers must use only what it returns."""

    def averaged(params, x, y):
        # The global batch's loss: replicated params meet each process's share, so the gradient
        # of the average over processes is the full batch's (shard_map sums the replicated
        # parameters' cotangents over the processes).
        return lax.pmean(loss_and_accuracy(params, x, y), "data")

    def train_step(params, opt_state, x, y):
        objective = loss_and_accuracy if mesh is None else averaged
        (loss, acc), grads = fnad.value_and_grad(objective, has_aux=True)(params, x, y)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optim.apply_updates(params, updates), opt_state, loss, acc

    if mesh is not None:
        train_step = fnad.shard_map(train_step, mesh=mesh, in_specs=(P(), P(), P("data"), P("data")), out_specs=P())
    return fnad.jit(train_step, donate_argnums=(0, 1) if donate else ()) if use_jit else train_step


def evaluate(params, x, y):
    return float(np.mean(np.argmax(np.asarray(predict(params, x)), axis=1) == y))


def progress(epoch, epochs, loss, acc, steps_per_s, width=24):
    done = int(width * epoch / epochs)
    bar = "#" * done + "." * (width - done)
    return f"epoch {epoch:3d}/{epochs} [{bar}] loss {loss:.4f}  acc {acc:.3f}  {steps_per_s:,.0f} steps/s"


def median_step_times(step_a, step_b, repeats=200):
    """Interleaved medians (seconds) of two zero-argument step functions."""
    ta, tb = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step_a()
        t1 = time.perf_counter()
        step_b()
        t2 = time.perf_counter()
        ta.append(t1 - t0)
        tb.append(t2 - t1)
    return float(np.median(ta)), float(np.median(tb))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=None, help="default: 0.003 for adam, 0.1 otherwise")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--optimizer", choices=("adam", "momentum", "sgd"), default="adam")
    ap.add_argument("--no-jit", action="store_true", help="run the step eagerly (for debugging)")
    ap.add_argument("--quick", action="store_true", help="3 epochs and a short timing (a smoke test)")
    ap.add_argument("--distributed", action="store_true", help="data-parallel over the processes of mpiexec")
    args = ap.parse_args(argv)
    if args.quick:
        args.epochs = 3
    mesh, share, me = None, slice(None), 0
    if args.distributed:
        fnad.distributed.initialize()
        n, me = fnad.process_count(), fnad.process_index()
        if args.batch_size % n:
            ap.error(f"--batch-size {args.batch_size} must be a multiple of the number of processes ({n})")
        mesh = fnad.make_mesh((n,), ("data",))
        share = slice(me * args.batch_size // n, (me + 1) * args.batch_size // n)
    say = print if me == 0 else (lambda *a, **k: None)
    lr = args.lr if args.lr is not None else (0.003 if args.optimizer == "adam" else 0.1)

    x, y = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(x, y, seed=args.seed)
    optimizer = getattr(optim, args.optimizer)(lr)
    params = init_params(seed=args.seed)
    opt_state = optimizer.init(params)
    step = make_train_step(optimizer, not args.no_jit, mesh, donate=True)
    rng = np.random.default_rng(args.seed)
    n_batches = len(x_train) // args.batch_size
    say(
        f"fnad {fnad.__version__}: MLP 64-128-10 on {len(x_train)} digits, {args.optimizer} lr={lr}, "
        f"batch {args.batch_size}, {'jit' if not args.no_jit else 'eager'}"
        + (f", data-parallel over {fnad.process_count()} processes" if mesh is not None else "")
    )
    t_start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(len(x_train))
        t0 = time.perf_counter()
        losses, accs = [], []
        for b in range(n_batches):
            idx = order[b * args.batch_size : (b + 1) * args.batch_size][share]
            params, opt_state, loss, acc = step(params, opt_state, x_train[idx], y_train[idx])
            losses.append(float(loss))
            accs.append(float(acc))
        rate = n_batches / (time.perf_counter() - t0)
        line = progress(epoch, args.epochs, np.mean(losses), np.mean(accs), rate)
        say(("\r" + line) if sys.stdout.isatty() else line, end="" if sys.stdout.isatty() else "\n", flush=True)
    if sys.stdout.isatty():
        say()
    train_time = time.perf_counter() - t_start
    test_acc = evaluate(params, x_test, y_test)
    if mesh is not None:  # the step-time comparison below is of the one-process step
        say(f"trained {args.epochs} epochs in {train_time:.1f} s")
        say(f"test accuracy: {test_acc:.4f} ({len(y_test)} held-out images)")
        return test_acc

    # Step time side by side with the hand-written NumPy step (plain SGD there; same shapes).
    xb, yb = x_train[: args.batch_size], y_train[: args.batch_size]
    sgd_step = make_train_step(optim.sgd(0.1), not args.no_jit)
    p0 = init_params(seed=args.seed)
    fnad_s, numpy_s = median_step_times(
        lambda: sgd_step(p0, (), xb, yb), lambda: numpy_train_step(p0, xb, yb, 0.1), repeats=20 if args.quick else 200
    )
    print(f"trained {args.epochs} epochs in {train_time:.1f} s")
    print(
        f"SGD step time (batch {args.batch_size}): fnad {'jit' if not args.no_jit else 'eager'} "
        f"{fnad_s * 1e6:.0f} us, hand-written NumPy {numpy_s * 1e6:.0f} us "
        f"(ratio {fnad_s / numpy_s:.2f})"
    )
    print(f"test accuracy: {test_acc:.4f} ({len(y_test)} held-out images)")
    return test_acc


if __name__ == "__main__":
    main()
