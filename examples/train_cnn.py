"""Train a LeNet-style convolutional network on the 8x8 handwritten digits shipped in examples/data,
with a jit-compiled value_and_grad + Adam step: two blocks of 3x3 convolution, ReLU and 2x2 max
pooling (8x8x1 -> 4x4x16 -> 2x2x32), then a dense layer to the 10 classes. Layouts are flax's
(NHWC images, HWIO kernels); the pooling is fnad.nn.max_pool (flax.linen's signature).

    python examples/train_cnn.py [--epochs 30] [--batch-size 32] [--lr 0.003] [--seed 0] [--no-jit] [--quick]
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from datasets import load_digits, train_test_split
from train_mlp import progress

import fnad
import fnad.numpy as fnp
from fnad import lax, nn, optim

NUM_CLASSES = 10
CHANNELS = (1, 16, 32)
DIMENSION_NUMBERS = ("NHWC", "HWIO", "NHWC")


def init_params(seed=0, dtype=np.float32):
    """He-initialised 3x3 kernels (HWIO) and dense weights, zero biases."""
    rng = np.random.default_rng(seed)
    params = {}
    for i, (c_in, c_out) in enumerate(itertools.pairwise(CHANNELS)):
        params[f"conv{i}"] = (rng.standard_normal((3, 3, c_in, c_out)) * np.sqrt(2.0 / (9 * c_in))).astype(dtype)
        params[f"bias{i}"] = np.zeros(c_out, dtype)
    features = 2 * 2 * CHANNELS[-1]
    params["dense"] = (rng.standard_normal((features, NUM_CLASSES)) * np.sqrt(1.0 / features)).astype(dtype)
    params["dense_bias"] = np.zeros(NUM_CLASSES, dtype)
    return params


def predict(params, images):
    """Logits of a batch of (batch, 8, 8, 1) images."""
    x = images
    for i in range(len(CHANNELS) - 1):
        x = lax.conv_general_dilated(x, params[f"conv{i}"], (1, 1), "SAME", dimension_numbers=DIMENSION_NUMBERS)
        x = nn.max_pool(nn.relu(x + params[f"bias{i}"]), (2, 2), strides=(2, 2))
    return x.reshape(x.shape[0], -1) @ params["dense"] + params["dense_bias"]


def loss_and_accuracy(params, images, labels):
    """Mean softmax cross-entropy of the integer labels, and the batch accuracy (as aux)."""
    logits = predict(params, images)
    log_probs = nn.log_softmax(logits)
    loss = -fnp.mean(fnp.sum(nn.one_hot(labels, NUM_CLASSES) * log_probs, axis=1))
    return loss, fnp.mean((fnp.argmax(logits, axis=1) == labels).astype(np.float32))


def make_train_step(optimizer, use_jit=True):
    def train_step(params, opt_state, images, labels):
        (loss, acc), grads = fnad.value_and_grad(loss_and_accuracy, has_aux=True)(params, images, labels)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optim.apply_updates(params, updates), opt_state, loss, acc

    return fnad.jit(train_step) if use_jit else train_step


def evaluate(params, images, labels):
    return float(np.mean(np.argmax(np.asarray(fnad.jit(predict)(params, images)), axis=1) == labels))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.003)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-jit", action="store_true", help="run the step eagerly (for debugging)")
    ap.add_argument("--quick", action="store_true", help="3 epochs (a smoke test)")
    args = ap.parse_args(argv)
    epochs = 3 if args.quick else args.epochs

    x, y = load_digits()
    images = x.reshape(-1, 8, 8, 1)
    x_train, x_test, y_train, y_test = train_test_split(images, y, seed=args.seed)
    optimizer = optim.adam(args.lr)
    params = init_params(seed=args.seed)
    opt_state = optimizer.init(params)
    step = make_train_step(optimizer, not args.no_jit)
    rng = np.random.default_rng(args.seed)
    n_batches = len(x_train) // args.batch_size
    print(
        f"fnad {fnad.__version__}: CNN conv3x3(16)-pool-conv3x3(32)-pool-dense(10) on {len(x_train)} digits, "
        f"adam lr={args.lr}, batch {args.batch_size}, {'jit' if not args.no_jit else 'eager'}"
    )
    t_start = time.perf_counter()
    losses = []
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(x_train))
        t0 = time.perf_counter()
        epoch_losses, accs = [], []
        for b in range(n_batches):
            idx = order[b * args.batch_size : (b + 1) * args.batch_size]
            params, opt_state, loss, acc = step(params, opt_state, x_train[idx], y_train[idx])
            epoch_losses.append(float(loss))
            accs.append(float(acc))
        losses.append(float(np.mean(epoch_losses)))
        rate = n_batches / (time.perf_counter() - t0)
        line = progress(epoch, epochs, losses[-1], np.mean(accs), rate)
        print(("\r" + line) if sys.stdout.isatty() else line, end="" if sys.stdout.isatty() else "\n", flush=True)
    if sys.stdout.isatty():
        print()
    print(f"trained {epochs} epochs in {time.perf_counter() - t_start:.1f} s")
    test_acc = evaluate(params, x_test, y_test)
    print(f"test accuracy: {test_acc:.4f} ({len(y_test)} held-out images)")
    return {"test_accuracy": test_acc, "epoch_losses": losses}


if __name__ == "__main__":
    main()
