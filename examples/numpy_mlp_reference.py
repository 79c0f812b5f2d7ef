"""Hand-written NumPy MLP (64-128-10, ReLU, softmax cross-entropy, SGD) on the
digits: the reference that fnad's grad/jit example is checked and timed against.

Run ``python examples/numpy_mlp_reference.py`` to train it and print the test
accuracy and the median training-step time.
"""

import time

import numpy as np


def init_params(sizes=(64, 128, 10), seed=0, dtype=np.float32):
    """He-initialised weights and zero biases: ``{"w1", "b1", "w2", "b2"}``."""
    rng = np.random.default_rng(seed)
    n_in, n_hidden, n_out = sizes
    return {
        "w1": (rng.standard_normal((n_in, n_hidden)) * np.sqrt(2.0 / n_in)).astype(dtype),
        "b1": np.zeros(n_hidden, dtype),
        "w2": (rng.standard_normal((n_hidden, n_out)) * np.sqrt(2.0 / n_hidden)).astype(dtype),
        "b2": np.zeros(n_out, dtype),
    }


def logits(params, x):
    hidden = np.maximum(x @ params["w1"] + params["b1"], 0)
    return hidden @ params["w2"] + params["b2"]


def loss_and_grads(params, x, y):
    """Mean softmax cross-entropy of integer labels ``y`` and its gradient."""
    pre = x @ params["w1"] + params["b1"]
    hidden = np.maximum(pre, 0)
    out = hidden @ params["w2"] + params["b2"]
    shifted = out - out.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    sum_exp = exp.sum(axis=1, keepdims=True)
    rows = np.arange(len(y))
    loss = np.mean(np.log(sum_exp[:, 0]) - shifted[rows, y])

    d_out = exp / sum_exp  # softmax
    d_out[rows, y] -= 1
    d_out /= len(y)
    d_hidden = d_out @ params["w2"].T
    d_pre = d_hidden * (pre > 0)
    grads = {
        "w1": x.T @ d_pre,
        "b1": d_pre.sum(axis=0),
        "w2": hidden.T @ d_out,
        "b2": d_out.sum(axis=0),
    }
    return loss, grads


def numpy_train_step(params, x, y, lr):
    """One SGD step; returns ``(loss before the step, new params)``."""
    loss, grads = loss_and_grads(params, x, y)
    return loss, {k: p - lr * grads[k] for k, p in params.items()}


def accuracy(params, x, y):
    return float(np.mean(np.argmax(logits(params, x), axis=1) == y))


def train(x_train, y_train, epochs=60, batch_size=64, lr=0.2, seed=0):
    """Minibatch SGD; returns ``(params, per-step seconds)``."""
    params = init_params(seed=seed)
    rng = np.random.default_rng(seed)
    step_times = []
    for _ in range(epochs):
        order = rng.permutation(len(x_train))
        for start in range(0, len(order) - batch_size + 1, batch_size):
            batch = order[start : start + batch_size]
            xb, yb = x_train[batch], y_train[batch]
            t0 = time.perf_counter()
            _, params = numpy_train_step(params, xb, yb, lr)
            step_times.append(time.perf_counter() - t0)
    return params, step_times


def main():
    from datasets import load_digits, train_test_split

    x, y = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(x, y)
    batch_size = 64
    params, step_times = train(x_train, y_train, batch_size=batch_size)
    print(f"train accuracy: {accuracy(params, x_train, y_train):.4f}")
    print(f"test accuracy:  {accuracy(params, x_test, y_test):.4f} ({len(y_test)} images)")
    print(f"median step time: {np.median(step_times) * 1e6:.1f} us (batch {batch_size}, {len(step_times)} steps)")


if __name__ == "__main__":
    main()
