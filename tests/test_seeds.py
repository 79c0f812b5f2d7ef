"""The seed examples, exactly: small gradients with known values and a two-layer network trained
by SGD over a params pytree."""

from __future__ import annotations

import itertools

import numpy as np

import fnad
import fnad.numpy as fnp
from fnad import nn
from fnad.test_util import check_grads
from fnad.tree_util import tree_leaves, tree_map


def test_gradients_of_a_times_b_plus_c():
    f = lambda a, b, c: a * b + c
    assert fnad.grad(f, argnums=(0, 1, 2))(3.0, 2.0, 1.0) == (2.0, 3.0, 1.0)


def test_gradient_of_x_squared():
    assert fnad.grad(lambda x: x**2)(3.0) == 6.0


def test_gradients_of_x_y_plus_y_squared():
    assert fnad.grad(lambda x, y: x * y + y**2, argnums=(0, 1))(3.0, 2.0) == (2.0, 7.0)


def init_params(rng):
    return {
        "dense1": {"w": rng.standard_normal((10, 5)) * 0.3, "b": np.zeros(5)},
        "dense2": {"w": rng.standard_normal((5, 1)) * 0.3, "b": np.zeros(1)},
    }


def predict(params, x):
    h = nn.relu(x @ params["dense1"]["w"] + params["dense1"]["b"])
    return h @ params["dense2"]["w"] + params["dense2"]["b"]


def mse(params, x, y):
    return fnp.mean((predict(params, x) - y) ** 2)


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 10))
    y = np.sin(x[:, :1]) + 0.5 * x[:, 1:2]
    return init_params(rng), x, y


def test_two_layer_network_trains_with_sgd(mode):
    params, x, y = _data()
    step_fn = mode(fnad.value_and_grad(mse))
    losses = []
    for _ in range(5):
        loss, grads = step_fn(params, x, y)
        assert set(grads) == {"dense1", "dense2"} and grads["dense1"]["w"].shape == (10, 5)
        losses.append(float(loss))
        params = tree_map(lambda p, g: p - 0.01 * g, params, grads)
    print(f"\nMSE over 5 SGD steps ({mode.name}): {losses}")
    assert all(b < a for a, b in itertools.pairwise(losses)), losses
    np.testing.assert_allclose(losses[0], np.mean((predict(_data()[0], x) - y) ** 2), rtol=1e-12)


def test_two_layer_network_gradient_matches_finite_differences():
    params, x, y = _data()
    # steps of 1e-5 move pre-activations by ~1e-4: none crosses relu's kink
    assert np.abs(x @ params["dense1"]["w"]).min() > 5e-4
    check_grads(lambda p: mse(p, x, y), (params,), order=1, eps=1e-5)


def test_two_layer_network_gradient_matches_hand_written_backprop():
    params, x, y = _data()
    w1, b1, w2, b2 = params["dense1"]["w"], params["dense1"]["b"], params["dense2"]["w"], params["dense2"]["b"]
    z = x @ w1 + b1
    h = np.maximum(z, 0)
    d_out = 2 * (h @ w2 + b2 - y) / y.size
    d_z = (d_out @ w2.T) * (z > 0)
    expected = {"dense1": {"w": x.T @ d_z, "b": d_z.sum(0)}, "dense2": {"w": h.T @ d_out, "b": d_out.sum(0)}}
    grads = fnad.grad(mse)(params, x, y)
    for g, e in zip(tree_leaves(grads), tree_leaves(expected)):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-15)
