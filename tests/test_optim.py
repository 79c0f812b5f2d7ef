"""fnad.optim against hand-written NumPy updates, over pytrees, eager and under jit."""

import numpy as np
import pytest

import fnad
import fnad.numpy as fnp
from fnad import optim


def numpy_reference(name, lr, grads_seq, p0):
    p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    for t, g in enumerate(grads_seq, 1):
        if name == "sgd":
            p = p - lr * g
        elif name == "momentum":
            m = 0.9 * m + g
            p = p - lr * m
        else:
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            p = p - lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return p


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam"])
def test_matches_numpy_reference(name, mode):
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal(5)
    grads_seq = [rng.standard_normal(5) for _ in range(4)]
    opt = getattr(optim, name)(0.05)
    params = {"w": p0}
    state = opt.init(params)
    update = mode(lambda g, s, p: opt.update(g, s, p))
    for g in grads_seq:
        updates, state = update({"w": g}, state, params)
        params = optim.apply_updates(params, updates)
    np.testing.assert_allclose(params["w"], numpy_reference(name, 0.05, grads_seq, p0), rtol=1e-12)


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam"])
def test_minimises_a_quadratic_over_a_pytree(name):
    target = (np.array([1.0, -2.0]), np.float32(3.0))
    params = (np.zeros(2), np.float32(0.0))
    loss = lambda p: fnp.sum((p[0] - target[0]) ** 2) + (p[1] - target[1]) ** 2
    opt = getattr(optim, name)(0.1 if name != "adam" else 0.3)
    state = opt.init(params)
    for _ in range(300):
        updates, state = opt.update(fnad.grad(loss)(params), state, params)
        params = optim.apply_updates(params, updates)
    assert float(loss(params)) < 1e-3
    assert np.asarray(params[1]).dtype == np.float32  # a float32 leaf stays float32
