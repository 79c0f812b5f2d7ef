"""The classic TensorFlow gradient snippets, rewritten the fnad way.

TensorFlow records operations on a tape (or builds a graph) and asks it for the gradients of a tensor
with respect to other tensors. fnad has no tape: a derivative is a *function* built from a function.
`fnad.grad(f)` is a new Python function that returns df/dx; `argnums` picks which arguments to
differentiate; `value_and_grad` returns the value too; parameters are any pytree (here a dict), and
an optimizer step is a `tree_map` over the parameter and gradient trees.

    python examples/tensorflow_to_fnad.py [--quick] [--seed 0] [--steps 5]
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np

import fnad
import fnad.numpy as fnp
from fnad.tree_util import tree_map

TF_SUM_OF_PRODUCTS = """
a, b, c = tf.constant(3.0), tf.constant(2.0), tf.constant(1.0)
y = a * b + c
grads = tf.gradients(y, [a, b, c])          # TF1 graph mode: [2.0, 3.0, 1.0]"""


def sum_of_products(a, b, c):
    return a * b + c


TF_SQUARE = """
x = tf.Variable(3.0)
with tf.GradientTape() as tape:
    y = x ** 2
dy_dx = tape.gradient(y, x)                 # 6.0"""


def square(x):
    return x**2


TF_TWO_VARIABLES = """
x, y = tf.Variable(3.0), tf.Variable(2.0)
with tf.GradientTape() as tape:
    z = x * y + y ** 2
dz_dx, dz_dy = tape.gradient(z, [x, y])     # 2.0, 7.0"""


def two_variables(x, y):
    return x * y + y**2


TF_DENSE_NETWORK = """
model = tf.keras.Sequential([tf.keras.layers.Dense(5, activation="relu"), tf.keras.layers.Dense(1)])
optimizer = tf.keras.optimizers.SGD(learning_rate=0.01)
with tf.GradientTape() as tape:
    loss = tf.reduce_mean((model(x) - y) ** 2)
grads = tape.gradient(loss, model.trainable_variables)
optimizer.apply_gradients(zip(grads, model.trainable_variables))"""


def init_dense_params(rng, sizes=(10, 5, 1)):
    """Glorot-uniform weights and zero biases, like Keras' Dense defaults."""
    params = {}
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes), start=1):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        params[f"w{i}"] = rng.uniform(-limit, limit, size=(fan_in, fan_out))
        params[f"b{i}"] = np.zeros(fan_out)
    return params


def dense_network(params, x):
    hidden = fnp.maximum(x @ params["w1"] + params["b1"], 0.0)  # Dense(5, activation="relu")
    return hidden @ params["w2"] + params["b2"]  # Dense(1)


def mse_loss(params, x, y):
    return fnp.mean((dense_network(params, x) - y) ** 2)


def sgd_step(params, x, y, learning_rate):
    """One step of plain SGD: the whole optimizer is a tree_map over (params, grads)."""
    loss, grads = fnad.value_and_grad(mse_loss)(params, x, y)
    return tree_map(lambda p, g: p - learning_rate * g, params, grads), loss, grads


def show(tf_code, fnad_line, result):
    print("TensorFlow:" + "\n    ".join(tf_code.splitlines()))
    print(f"fnad:\n    {fnad_line}\n    -> {result}\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller batch and fewer steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=5, help="SGD steps on the Dense network")
    parser.add_argument("--lr", type=float, default=0.01)
    args = parser.parse_args(argv)

    abc_grads = fnad.grad(sum_of_products, argnums=(0, 1, 2))(3.0, 2.0, 1.0)
    show(
        TF_SUM_OF_PRODUCTS,
        "fnad.grad(lambda a, b, c: a * b + c, argnums=(0, 1, 2))(3.0, 2.0, 1.0)",
        [float(g) for g in abc_grads],
    )

    square_grad = fnad.grad(square)(3.0)
    show(TF_SQUARE, "fnad.grad(lambda x: x ** 2)(3.0)", float(square_grad))

    xy_grads = fnad.grad(two_variables, argnums=(0, 1))(3.0, 2.0)
    show(
        TF_TWO_VARIABLES,
        "fnad.grad(lambda x, y: x * y + y ** 2, argnums=(0, 1))(3.0, 2.0)",
        tuple(float(g) for g in xy_grads),
    )

    rng = np.random.default_rng(args.seed)
    batch = 8 if args.quick else 32
    steps = min(args.steps, 3) if args.quick else args.steps
    x = rng.normal(size=(batch, 10))
    y = rng.normal(size=(batch, 1))
    params = init_dense_params(rng)
    print("TensorFlow:" + "\n    ".join(TF_DENSE_NETWORK.splitlines()))
    print(
        "fnad:\n    loss, grads = fnad.value_and_grad(mse_loss)(params, x, y)\n"
        "    params = tree_map(lambda p, g: p - lr * g, params, grads)"
    )
    initial_params = params
    losses = []
    for step in range(steps):
        params, loss, grads = sgd_step(params, x, y, args.lr)
        losses.append(float(loss))
        if step == 0:
            first_grads = grads
        print(f"    step {step}: loss {float(loss):.6f}")
    losses.append(float(mse_loss(params, x, y)))
    print(f"    loss before {losses[0]:.6f} -> after {steps} step(s) {losses[-1]:.6f}")

    return {
        "abc_grads": tuple(float(g) for g in abc_grads),
        "square_grad": float(square_grad),
        "xy_grads": tuple(float(g) for g in xy_grads),
        "losses": losses,
        "initial_params": initial_params,
        "first_grads": first_grads,
        "x": x,
        "y": y,
    }


if __name__ == "__main__":
    main()
