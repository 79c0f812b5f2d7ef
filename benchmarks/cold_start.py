"""One fresh process: import the framework, build the MLP 784-512-512-10 train step (value_and_grad +
SGD, batch 128, float32), run it once, print the seconds from process start to the first result.

    python -m benchmarks.cold_start fnad|jax
"""

import time

START = time.perf_counter()

import itertools
import sys

import numpy as np

SIZES, BATCH, LR = (784, 512, 512, 10), 128, 0.01


def data():
    rng = np.random.default_rng(3)
    params = [
        (rng.standard_normal((m, n)).astype(np.float32) * np.float32(np.sqrt(2 / m)), np.zeros(n, np.float32))
        for m, n in itertools.pairwise(SIZES)
    ]
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    y = np.eye(SIZES[-1], dtype=np.float32)[rng.integers(0, SIZES[-1], BATCH)]
    return params, x, y


def make_step(framework, donate=False):
    """The jitted step; `donate`: the parameters' buffers may be reused for the new ones (donate_argnums)."""
    if framework == "fnad":
        import fnad as fw
        import fnad.numpy as xp

        tree_map = fw.tree_util.tree_map
        logsumexp = lambda z: (
            xp.log(xp.sum(xp.exp(z - fw.stop_gradient(xp.max(z, 1, keepdims=True))), 1))
            + fw.stop_gradient(xp.max(z, 1))
        )
    else:
        import jax as fw
        import jax.numpy as xp

        tree_map = fw.tree_util.tree_map
        logsumexp = lambda z: fw.nn.logsumexp(z, axis=1)

    def loss(params, x, y):
        h = x
        for w, b in params[:-1]:
            h = xp.maximum(h @ w + b, 0.0)
        w, b = params[-1]
        logits = h @ w + b
        return xp.mean(logsumexp(logits) - xp.sum(logits * y, axis=1))

    def step(params, x, y):
        value, grads = fw.value_and_grad(loss)(params, x, y)
        return value, tree_map(lambda p, g: p - LR * g, params, grads)

    return fw.jit(step, donate_argnums=(0,) if donate else ())


def main():
    framework = sys.argv[1]
    step = make_step(framework)
    value, _ = step(*data())
    float(value)
    print(f"{time.perf_counter() - START:.4f}")


if __name__ == "__main__":
    main()
