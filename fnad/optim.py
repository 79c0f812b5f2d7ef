"""Functional optimizers over pytrees (jit-compatible): `opt = adam(1e-3)`, `state = opt.init(params)`,
`updates, state = opt.update(grads, state, params)`, `params = apply_updates(params, updates)`."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from . import numpy as fnp
from .tree_util import tree_map


class Optimizer(NamedTuple):
    """A pair of pure functions: `init(params) -> state` and
    `update(grads, state, params=None) -> (updates, new_state)`."""

    init: Callable
    update: Callable


def apply_updates(params, updates):
    """`params + updates`, leaf by leaf (the two pytrees must have the same structure).

    >>> import numpy as np
    >>> from fnad import optim
    >>> optim.apply_updates({"w": np.array([1.0, 2.0])}, {"w": np.array([0.5, -0.5])})
    {'w': array([1.5, 1.5])}
    """
    return tree_map(lambda p, u: p + u, params, updates)


def sgd(learning_rate):
    """Plain gradient descent: `update = -learning_rate * grad`; the state is empty.

    >>> import numpy as np
    >>> from fnad import optim
    >>> params, grads = {"w": np.array([1.0, -2.0])}, {"w": np.array([0.5, 0.5])}
    >>> opt = optim.sgd(0.1)
    >>> updates, state = opt.update(grads, opt.init(params), params)
    >>> optim.apply_updates(params, updates)
    {'w': array([ 0.95, -2.05])}
    """

    def init(params):
        return ()

    def update(grads, state, params=None):
        return tree_map(lambda g: -learning_rate * g, grads), state

    return Optimizer(init, update)


def momentum(learning_rate, mass=0.9, nesterov=False):
    """Heavy-ball momentum: `v = mass * v + g`, `update = -learning_rate * v`; with `nesterov=True`
    the update uses `mass * v + g` instead of `v`. The state is the velocity (zeros at init).

    >>> import numpy as np
    >>> from fnad import optim
    >>> grads = {"w": np.array([0.5, 0.5])}
    >>> opt = optim.momentum(0.1, mass=0.9)
    >>> state = opt.init({"w": np.zeros(2)})
    >>> updates, state = opt.update(grads, state)
    >>> updates, state = opt.update(grads, state)      # v = 0.9 * 0.5 + 0.5
    >>> updates
    {'w': Array([-0.095, -0.095], dtype=float64)}
    """

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
    """Adam (Kingma & Ba, 2015) with bias correction: per-leaf running means of the gradient (`b1`)
    and of its square (`b2`); `update = -learning_rate * mhat / (sqrt(vhat) + eps)`. The state is
    an `AdamState(count, mu, nu)`. Jit-compatible: the step count is an array.

    >>> import numpy as np, fnad
    >>> from fnad import optim
    >>> loss = lambda p: fnad.numpy.sum((p["w"] - 3.0) ** 2)
    >>> params = {"w": np.array([0.0, 1.0])}
    >>> opt = optim.adam(0.1)
    >>> state = opt.init(params)
    >>> @fnad.jit
    ... def step(params, state):
    ...     updates, state = opt.update(fnad.grad(loss)(params), state, params)
    ...     return optim.apply_updates(params, updates), state
    >>> params, state = step(params, state)
    >>> params                          # the first Adam step moves each entry by learning_rate
    {'w': Array([0.1, 1.1], dtype=float64)}
    >>> print(state.count)
    1
    """

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
