"""fnad.nn: values against NumPy formulas, derivatives against finite differences and closed forms,
JAX's conventions at kinks, and stability of the softmax family for large and infinite logits."""

import json
import math
import pathlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fnad
from fnad import nn
from fnad.ir import eval_closed
from fnad.test_util import check_grads


def staged(f):
    """f through its IR (make_jaxpr, then re-binding each equation): the traced code path."""
    return lambda x: eval_closed(fnad.make_jaxpr(f)(x), x)[0]


def np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def np_logsumexp(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    return np.squeeze(m, axis) + np.log(np.sum(np.exp(x - m), axis=axis))


_erf = np.vectorize(math.erf)

ACTIVATIONS = {
    "relu": (nn.relu, lambda x: np.maximum(x, 0)),
    "relu6": (nn.relu6, lambda x: np.clip(x, 0, 6)),
    "sigmoid": (nn.sigmoid, np_sigmoid),
    "softplus": (nn.softplus, lambda x: np.log1p(np.exp(x))),
    "log_sigmoid": (nn.log_sigmoid, lambda x: np.log(np_sigmoid(x))),
    "gelu": (nn.gelu, lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))),
    "gelu_exact": (lambda x: nn.gelu(x, approximate=False), lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2)))),
    "silu": (nn.silu, lambda x: x * np_sigmoid(x)),
    "elu": (nn.elu, lambda x: np.where(x > 0, x, np.expm1(x))),
    "selu": (nn.selu, lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x))),
    "leaky_relu": (nn.leaky_relu, lambda x: np.where(x >= 0, x, 0.01 * x)),
    "hard_tanh": (nn.hard_tanh, lambda x: np.clip(x, -1, 1)),
    "tanh": (nn.tanh, np.tanh),
}

# Points away from the kinks, so finite differences are meaningful.
_KINKS = np.array([-1.0, 0.0, 1.0, 6.0])
_xs = hnp.arrays(np.float64, st.integers(1, 6), elements=st.floats(-8, 8)).filter(
    lambda x: np.all(np.abs(x[:, None] - _KINKS) > 1e-2)
)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@settings(max_examples=15)
@given(x=_xs)
def test_activation_values_and_derivatives(name, x):
    f, ref = ACTIVATIONS[name]
    np.testing.assert_allclose(f(x), ref(x), rtol=1e-12, atol=1e-14)
    check_grads(f, (x,), order=2)
    np.testing.assert_allclose(fnad.vmap(fnad.grad(f))(x), fnad.grad(lambda v: f(v).sum())(x), rtol=1e-12)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activations_jit_and_staged(name, mode):
    f, ref = ACTIVATIONS[name]
    x = np.linspace(-9, 9, 37)
    np.testing.assert_allclose(mode(f)(x), ref(x), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(mode(fnad.vmap(fnad.grad(f)))(x), fnad.vmap(fnad.grad(f))(x), rtol=1e-12, atol=1e-14)


def test_kink_conventions():
    at = np.array([-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(fnad.vmap(fnad.grad(nn.relu))(at), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(fnad.vmap(fnad.grad(nn.relu6))(np.array([0.0, 3.0, 6.0, 7.0])), [0, 1, 0, 0])
    assert fnad.grad(nn.leaky_relu)(0.0) == 1.0
    assert np.isnan(nn.relu(np.nan))
    assert nn.relu(np.array([3], np.int64)).dtype == np.int64


def test_activations_are_stable_in_the_tails():
    big = np.array([-1000.0, -50.0, 50.0, 1000.0])
    with np.errstate(over="raise"):
        np.testing.assert_allclose(nn.softplus(big), [0.0, np.exp(-50.0), 50.0, 1000.0], rtol=1e-15)
        np.testing.assert_allclose(nn.log_sigmoid(big), [-1000.0, -50.0, -np.exp(-50.0), 0.0], rtol=1e-15)
        np.testing.assert_allclose(nn.elu(big), [-1.0, -1.0, 50.0, 1000.0])
    for f in (nn.softplus, nn.log_sigmoid, nn.sigmoid, nn.silu, nn.gelu, nn.elu):
        g = fnad.vmap(fnad.grad(f))(big)
        assert np.all(np.isfinite(g)), f.__name__


# ----------------------------------------------------------------------------------------------
# softmax family

_logits = st.integers(1, 3).flatmap(
    lambda nd: hnp.arrays(
        np.float64, hnp.array_shapes(min_dims=nd, max_dims=nd, min_side=1, max_side=4), elements=st.floats(-20, 20)
    )
)


def _check_softmax_family(x, axis, run):
    e = np.exp(x - x.max(axis, keepdims=True))
    ref = e / e.sum(axis, keepdims=True)
    np.testing.assert_allclose(run(lambda v: nn.softmax(v, axis))(x), ref, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(run(lambda v: nn.log_softmax(v, axis))(x), np.log(ref), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(run(lambda v: nn.logsumexp(v, axis))(x), np_logsumexp(x, axis), rtol=1e-12)


@pytest.mark.parametrize("shape,axis", [((5,), 0), ((3, 4), 0), ((2, 3, 4), -1)])
def test_softmax_family_jit(shape, axis, mode):
    _check_softmax_family(np.random.default_rng(0).normal(0, 10, shape), axis, mode)


@given(x=_logits, data=st.data())
def test_softmax_family_values(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    _check_softmax_family(x, axis, lambda f: f)
    _check_softmax_family(x, axis, staged)
    np.testing.assert_allclose(
        nn.logsumexp(x, axis, keepdims=True), np.expand_dims(np_logsumexp(x, axis), axis), rtol=1e-12
    )
    np.testing.assert_allclose(nn.logsumexp(x), np_logsumexp(x.ravel(), 0), rtol=1e-12)


@settings(max_examples=30)
@given(x=_logits)
def test_softmax_family_derivatives(x):
    check_grads(lambda v: nn.softmax(v, -1), (x,), order=2)
    check_grads(lambda v: nn.log_softmax(v, 0), (x,), order=2)
    check_grads(lambda v: nn.logsumexp(v, -1), (x,), order=2)
    # closed forms: d logsumexp = softmax; the softmax Jacobian is diag(p) - p p^T
    v = x.ravel()
    np.testing.assert_allclose(fnad.grad(nn.logsumexp)(v), nn.softmax(v), rtol=1e-12, atol=1e-300)
    p = nn.softmax(v)
    np.testing.assert_allclose(fnad.jacrev(nn.softmax)(v), np.diag(p) - np.outer(p, p), atol=1e-15)
    np.testing.assert_allclose(fnad.jacfwd(nn.softmax)(v), fnad.jacrev(nn.softmax)(v), atol=1e-15)


def test_softmax_family_with_large_and_infinite_logits():
    big = np.array([1000.0, 0.0, -1000.0])
    np.testing.assert_allclose(nn.softmax(big), [1.0, 0.0, 0.0])
    np.testing.assert_allclose(nn.log_softmax(big), [0.0, -1000.0, -2000.0])
    assert nn.logsumexp(big) == 1000.0
    for f in (nn.softmax, nn.log_softmax, nn.logsumexp):
        jac = fnad.jacrev(f)(big)
        assert np.all(np.isfinite(jac)), f.__name__
    np.testing.assert_allclose(fnad.grad(lambda v: nn.log_softmax(v).sum())(big), [-2.0, 1.0, 1.0])
    masked = np.array([-np.inf, 0.0, np.log(3.0)])
    np.testing.assert_allclose(nn.softmax(masked), [0.0, 0.25, 0.75])
    np.testing.assert_allclose(fnad.grad(nn.logsumexp)(masked), [0.0, 0.25, 0.75])
    with np.errstate(divide="ignore"):
        assert nn.logsumexp(np.array([-np.inf, -np.inf])) == -np.inf


def test_logsumexp_with_weights():
    a, b = np.array([1.0, 2.0, 0.5]), np.array([2.0, 0.5, 1.0])
    np.testing.assert_allclose(nn.logsumexp(a, b=b), np.log(np.sum(b * np.exp(a))), rtol=1e-14)
    check_grads(lambda a, b: nn.logsumexp(a, b=b), (a, b), order=1)
    val, sign = nn.logsumexp(a, b=np.array([1.0, -2.0, 0.0]), return_sign=True)
    np.testing.assert_allclose(val, np.log(2 * np.exp(2.0) - np.exp(1.0)), rtol=1e-14)
    assert sign == -1.0
    with np.errstate(invalid="ignore"):
        assert np.isnan(nn.logsumexp(a, b=np.array([1.0, -2.0, 0.0])))


def test_one_hot():
    x = np.array([[0, 2], [1, -1]])
    out = nn.one_hot(x, 3)
    assert out.shape == (2, 2, 3) and out.dtype == np.float64
    np.testing.assert_array_equal(out, np.eye(3)[[[0, 2], [1, 0]]] * np.array([[1], [1], [1], [0]]).reshape(2, 2, 1))
    np.testing.assert_array_equal(nn.one_hot(np.array([1, 5]), 3, axis=0), [[0, 0], [1, 0], [0, 0]])
    np.testing.assert_array_equal(
        fnad.vmap(lambda i: nn.one_hot(i, 4, dtype=np.int32))(np.array([3, 0])), np.eye(4, dtype=np.int32)[[3, 0]]
    )
    assert nn.one_hot(np.array([1]), 2, dtype=np.float32).dtype == np.float32


def test_standardize():
    x = np.random.default_rng(0).normal(3.0, 2.0, (4, 5))
    y = nn.standardize(x, axis=-1, epsilon=0.0)
    np.testing.assert_allclose(y.mean(-1), 0, atol=1e-14)
    np.testing.assert_allclose(y.var(-1), 1, rtol=1e-12)
    check_grads(lambda v: nn.standardize(v, axis=0), (x,), order=1)


# ----------------------------------------------------------------------------------------------
# initializers: JAX's numbers for the same key (tests/data/make_jax_initializers.py)

INIT_DATA = np.load(pathlib.Path(__file__).parent / "data" / "jax_initializers.npz")
INIT_CASES = json.loads(str(INIT_DATA["cases"]))


@pytest.mark.parametrize(
    "index", range(len(INIT_CASES)), ids=[c.split("(")[0][2:] + str(i) for i, c in enumerate(INIT_CASES)]
)
def test_initializers_draw_jaxs_numbers(index):
    got = eval(INIT_CASES[index], {"I": nn.initializers, "key": fnad.random.PRNGKey(7)})
    want = INIT_DATA[str(index)]
    assert type(got) is fnad.Array and got.dtype == want.dtype and got.shape == want.shape
    tol = 1e-6 if want.dtype in (np.float32, np.complex64) else 1e-13
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=INIT_CASES[index])


def test_initializers_spread_and_orthogonality():
    key = fnad.random.key(3)
    w = nn.initializers.he_normal()(key, (3, 3, 64, 128))  # a conv kernel: fan in 3*3*64
    np.testing.assert_allclose(np.std(w), np.sqrt(2 / (3 * 3 * 64)), rtol=0.03)
    q = nn.initializers.orthogonal()(key, (50, 20))
    np.testing.assert_allclose(q.T @ q, np.eye(20), atol=1e-12)
    np.testing.assert_array_equal(
        fnad.jit(nn.initializers.glorot_uniform(), static_argnums=1)(key, (4, 4)),
        nn.initializers.glorot_uniform()(key, (4, 4)),
    )
    with pytest.raises(ValueError, match="in_axis"):
        nn.initializers.lecun_normal()(key, (5,))
    with pytest.raises(ValueError, match="mode"):
        nn.initializers.variance_scaling(1.0, "fan_sum", "normal")
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        nn.initializers.orthogonal()(key, (4,))
