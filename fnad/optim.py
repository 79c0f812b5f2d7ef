"""Functional optimizers over pytrees (jit-compatible): `opt = adam(1e-3)`, `state = opt.init(params)`,
`updates, state = opt.update(grads, state, params)`, `params = apply_updates(params, updates)`."""
from __future__ import annotations

from typing import Callable, NamedTuple

from . import numpy as fnp
from .tree_util import tree_map


class Optimizer(NamedTuple):
    init: Callable
    update: Callable


def apply_updates(params, updates):
    """params + updates, leaf by leaf."""
    return tree_map(lambda p, u: p + u, params, updates)


def sgd(learning_rate):
    """Plain gradient descent: update = -learning_rate * grad."""
    def init(params):
        return ()

    def update(grads, state, params=None):
        return tree_map(lambda g: -learning_rate * g, grads), state
    return Optimizer(init, update)


def momentum(learning_rate, mass=0.9, nesterov=False):
    """Heavy-ball momentum: v = mass * v + g; update = -learning_rate * v (or the Nesterov form)."""
    def init(params):
        return tree_map(fnp.zeros_like, params)

    def update(grads, velocity, params=None):
        velocity = tree_map(lambda v, g: mass * v + g, velocity, grads)
        step = tree_map(lambda v, g: mass * v + g, velocity, grads) if nesterov else velocity
        return tree_map(lambda s: -learning_rate * s, step), velocity
    return Optimizer(init, update)


class AdamState(NamedTuple):
    count: object
    mu: object
    nu: object


def adam(learning_rate, b1=0.9, b2=0.999, eps=1e-8):
    """Adam (Kingma & Ba) with bias correction."""
    def init(params):
        zeros = tree_map(fnp.zeros_like, params)
        return AdamState(fnp.zeros((), fnp.int32), zeros, zeros)

    def update(grads, state, params=None):
        count = state.count + 1
        mu = tree_map(lambda m, g: b1 * m + (1 - b1) * g, state.mu, grads)
        nu = tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, state.nu, grads)
        c = count.astype(fnp.float64)
        corr1, corr2 = 1 - fnp.power(b1, c), 1 - fnp.power(b2, c)

        def step(m, v):
            mhat, vhat = m / corr1.astype(m.dtype), v / corr2.astype(v.dtype)
            return -learning_rate * mhat / (fnp.sqrt(vhat) + eps)
        return tree_map(step, mu, nu), AdamState(count, mu, nu)
    return Optimizer(init, update)
