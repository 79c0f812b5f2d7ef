"""fnad.numpy.roots against numpy.roots and JAX's `strip_zeros=False` results (NaN roots for leading
zeros, values from jax.numpy.roots 0.10.2 written below), derivatives against central differences,
vmap and jit; and JAX's aliases float_, complex_ and ComplexWarning."""

import numpy as np
import pytest

import fnad
import fnad.numpy as fnp

NAN = complex(np.nan, np.nan)


@pytest.mark.parametrize("p", [[1.0, -3.0, 2.0], [2.0, 1.0, 5.0, 3.0], [0.0, 0.0, 1.0, 2.0], [1, 0, 0], [3.0], [0, 0]])
def test_roots_match_numpy(p):
    got = fnp.roots(np.array(p))
    expected = np.roots(p)
    assert got.dtype == np.complex128 and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-12)


@pytest.mark.parametrize(
    "p,expected",  # jax.numpy.roots(np.array(p), strip_zeros=False) with jax_enable_x64
    [
        ([0.0, 0.0, 1.0, 2.0], [-2.0, NAN, NAN]),
        ([0.0, 1.0, 0.0, 0.0], [0.0, 0.0, NAN]),
        ([0.0, 0.0, 0.0], [NAN, NAN]),
        ([1.0, -3.0, 2.0], [2.0, 1.0]),
    ],
)
def test_roots_keeping_leading_zeros_match_jax_and_jit(p, expected):
    np.testing.assert_allclose(fnp.roots(np.array(p), strip_zeros=False), expected, atol=1e-12)
    jitted = fnad.jit(lambda p: fnp.roots(p, strip_zeros=False))(np.array(p))
    np.testing.assert_allclose(jitted, expected, atol=1e-12)


def test_roots_differentiate_and_batch():
    p = np.array([1.0, -3.0, 2.0])
    g = fnad.grad(lambda p: fnp.real(fnp.roots(p)[0]))(p)
    eps = 1e-6
    fd = [(np.roots(p + eps * e)[0].real - np.roots(p - eps * e)[0].real) / (2 * eps) for e in np.eye(3)]
    np.testing.assert_allclose(g, fd, rtol=1e-7)
    np.testing.assert_allclose(g, [-4.0, -2.0, -1.0], rtol=1e-12)  # jax.grad of the same function
    rows = np.array([[1.0, -3.0, 2.0], [1.0, 0.0, -4.0]])
    batched = fnad.vmap(lambda p: fnp.roots(p, strip_zeros=False))(rows)
    np.testing.assert_allclose(batched, [np.roots(r) for r in rows], atol=1e-12)


def test_roots_bad_input():
    with pytest.raises(ValueError, match="rank-1"):
        fnp.roots(np.ones((2, 2)))
    with pytest.raises(fnad.ConcretizationError, match="strip_zeros=False"):
        fnad.jit(fnp.roots)(np.array([1.0, 2.0]))


def test_jax_aliases():
    assert fnp.float_ is np.float64 and fnp.complex_ is np.complex128
    assert fnp.ComplexWarning is np.exceptions.ComplexWarning
    assert fnp.zeros(2, fnp.float_).dtype == np.float64
