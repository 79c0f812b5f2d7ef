"""Regression tests for fused loop nests whose values are read through layouts (pad, rev, broadcast,
transpose) at more than one index map: a value that a kernel both stores and reads again through
another layout, and pads inside reductions. Each compares `jit` with eager fnad and NumPy.

The cause of these bugs: a kernel decides how to merge its loop axes, and where to split them at
pad boundaries, from a dry pass over the index forms it will read. That pass saw only the root's
expression, not the members the kernel also stores, so a stored value read at forms nobody had
checked (out of bounds, or through the wrong pad segment). And a pad evaluated in a loop that is
not split at its boundaries (a reduced axis) took its fill for the whole segment.
"""

import numpy as np
import pytest

import fnad
import fnad.numpy as fnp
from fnad import lax, nn
from tests.test_control_flow import fd_grad as central_difference_grad


def assert_jit_matches_eager(f, *args, rtol=1e-12):
    got, want = fnad.jit(f)(*args), f(*args)
    if not isinstance(want, tuple):
        got, want = (got,), (want,)
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=rtol, atol=1e-12)


X3 = np.array([0.5, -1.0, 2.0])


@pytest.mark.parametrize(
    "loss",
    [
        lambda x: (x - fnp.log(fnp.sum(fnp.exp(x))))[2],
        lambda x: nn.log_softmax(x)[1],
        lambda x: nn.softmax(x)[0],
        lambda x: (x - fnp.mean(x))[0] ** 2,
    ],
    ids=["lse_index", "log_softmax_index", "softmax_index", "centred_index"],
)
def test_jit_grad_of_one_element_of_a_normalised_value(loss):
    want = central_difference_grad(lambda v: float(loss(v)), X3)
    np.testing.assert_allclose(fnad.jit(fnad.grad(loss))(X3), want, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(fnad.jit(fnad.grad(loss))(X3), fnad.grad(loss)(X3), rtol=1e-12, atol=1e-14)


def test_jit_grad_of_a_column_of_log_softmax_of_a_product():
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(5, 3)), rng.normal(size=(3, 4))
    loss = lambda w: fnp.sum(nn.log_softmax(x @ w)[:, 0])
    want = central_difference_grad(lambda v: float(loss(v)), w)
    np.testing.assert_allclose(fnad.jit(fnad.grad(loss))(w), want, rtol=1e-6, atol=1e-8)


def test_pad_of_a_constant_summed_and_reused():
    h = lambda x: (lambda c: c + fnp.sum(c) + x)(lax.pad(fnp.ones(1), 0.0, ((0, 1, 0),)))
    np.testing.assert_array_equal(fnad.jit(h)(np.array([3.0])), [5.0, 4.0])


def numpy_pad(x, fill, config):
    """lax.pad without interior padding, negative edges cropping."""
    p = np.pad(x, [(max(lo, 0), max(hi, 0)) for lo, hi, _ in config], constant_values=fill)
    return p[tuple(slice(-min(lo, 0), p.shape[d] + min(hi, 0)) for d, (lo, hi, _) in enumerate(config))]


@pytest.mark.parametrize("fill", [0.0, 2.5])
@pytest.mark.parametrize("config", [((0, 0, 0), (1, 2, 0)), ((2, -1, 0), (0, 0, 0)), ((1, 1, 0), (-1, 3, 0))])
def test_reductions_over_padded_axes(fill, config):
    x = np.arange(1.0, 13.0).reshape(3, 4)
    f = lambda x: (
        fnp.sum(lax.pad(x, fill, config), axis=1),
        fnp.max(lax.pad(x, fill, config)),
        fnp.sum(lax.pad(x * 2.0, fill, config), axis=0),
        fnp.argmin(lax.pad(-x, fill, config), axis=1),
    )
    p = numpy_pad(x, fill, config)
    got = fnad.jit(f)(x)
    for g, w in zip(
        got, [p.sum(1), p.max(), numpy_pad(2 * x, fill, config).sum(0), numpy_pad(-x, fill, config).argmin(1)]
    ):
        np.testing.assert_array_equal(g, w)


def test_reversed_value_returned_with_its_double_reverse_reads_in_bounds():
    f = fnad.jit(lambda x: (x[::-1], x[::-1][::-1]))
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    a, b = f(x)
    np.testing.assert_array_equal(a, x[::-1])
    np.testing.assert_array_equal(b, x)
    big = np.arange(8e5).reshape(100_000, 8)  # 6.4 MB: an out-of-bounds read would fault
    a, b = f(big)
    np.testing.assert_array_equal(a, big[::-1])
    np.testing.assert_array_equal(b, big)


def test_padded_value_returned_with_its_reverse():
    f = lambda x: (lambda p: (p, p[::-1, ::-1]))(fnp.pad(x, ((0, 0), (0, 1))))
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    p, r = fnad.jit(f)(x)
    np.testing.assert_array_equal(p, [[1.0, 2.0, 0.0], [3.0, 4.0, 0.0]])
    np.testing.assert_array_equal(r, np.pad(x, ((0, 0), (0, 1)))[::-1, ::-1])


def test_broadcast_returned_with_its_transpose():
    def f(x):
        b = fnp.broadcast_to(x[:, None, :], (2, 2, 2))
        return b, fnp.transpose(b, (0, 2, 1))

    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    b, t = fnad.jit(f)(x)
    np.testing.assert_array_equal(b, np.broadcast_to(x[:, None, :], (2, 2, 2)))
    np.testing.assert_array_equal(t, np.transpose(b, (0, 2, 1)))


@pytest.mark.parametrize("n", [2, 5, 9, 33])
def test_jit_grad_of_sum_of_cumprod(n):
    x = np.linspace(1.1, 2.3, n)
    f = lambda x: fnp.sum(fnp.cumprod(x))
    want = np.array([sum(np.prod(np.delete(x[: k + 1], i)) for k in range(i, n)) for i in range(n)])
    np.testing.assert_allclose(fnad.jit(fnad.grad(f))(x), want, rtol=1e-12)


def test_chain_of_300_fused_ops_compiles():
    def f(v):
        for _ in range(300):
            v = fnp.sin(v) * 1.01
        return v

    x = np.linspace(0.0, 1.0, 8)
    np.testing.assert_allclose(fnad.jit(f)(x), f(x), rtol=1e-12)


def test_padded_elementwise_result_larger_than_the_caches():
    """Results of >= 8 MB take the streaming-store loops, which must split at pad boundaries too."""
    x = np.arange(2e6)
    f = lambda x: fnp.pad(x, (1, 1), constant_values=5.0) * 2.0
    np.testing.assert_array_equal(fnad.jit(f)(x), np.pad(x, (1, 1), constant_values=5.0) * 2.0)
