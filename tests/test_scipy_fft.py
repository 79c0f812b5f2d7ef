"""fnad.scipy.fft (the type-2 DCT and its inverse, 1-d and N-d) against scipy.fft: values for every
length, `n`/`s` cropping and padding, axes, norms, complex and float32 inputs; derivatives against
central differences; vmap against a loop; jit against eager; JAX's errors for what it does not do."""

import numpy as np
import pytest
import scipy.fft

import fnad
from fnad.scipy import fft
from fnad.test_util import check_grads

RNG = np.random.default_rng(14)


@pytest.mark.parametrize("length", [1, 2, 3, 4, 5, 7, 8, 12])
@pytest.mark.parametrize("norm", [None, "backward", "ortho"])
def test_dct_and_idct_match_scipy(length, norm):
    x = RNG.normal(size=(3, length))
    for ours, theirs in ((fft.dct, scipy.fft.dct), (fft.idct, scipy.fft.idct)):
        for n in (None, 1, length + 2, max(length - 1, 1)):
            for axis in (0, 1, -1):
                got = ours(x, n=n, axis=axis, norm=norm)
                expected = theirs(x, n=n, axis=axis, norm=norm)
                assert got.shape == expected.shape and got.dtype == np.float64
                np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fft.idct(fft.dct(x, norm=norm), norm=norm), x, atol=1e-12)


@pytest.mark.parametrize(
    "s,axes", [(None, None), ((3, 6), None), (None, (0, 2)), ((2,), (1,)), (4, -1), (None, (2, 0, 1)), ((5, 2), (1, 2))]
)
@pytest.mark.parametrize("norm", [None, "ortho"])
def test_dctn_and_idctn_match_scipy(s, axes, norm):
    x = RNG.normal(size=(4, 3, 5))
    for ours, theirs in ((fft.dctn, scipy.fft.dctn), (fft.idctn, scipy.fft.idctn)):
        np.testing.assert_allclose(ours(x, s=s, axes=axes, norm=norm), theirs(x, s=s, axes=axes, norm=norm), atol=1e-12)


def test_complex_float32_and_integer_inputs():
    z = RNG.normal(size=6) + 1j * RNG.normal(size=6)
    for ours, theirs in ((fft.dct, scipy.fft.dct), (fft.idct, scipy.fft.idct)):
        got = ours(z, norm="ortho")
        assert got.dtype == np.complex128
        np.testing.assert_allclose(got, theirs(z, norm="ortho"), atol=1e-12)
    np.testing.assert_allclose(fft.dctn(z.reshape(2, 3)), scipy.fft.dctn(z.reshape(2, 3)), atol=1e-12)
    x32 = RNG.normal(size=7).astype(np.float32)
    for ours, theirs in ((fft.dct, scipy.fft.dct), (fft.idct, scipy.fft.idct)):
        got = ours(x32)
        assert got.dtype == np.float32  # as JAX: float32 stays float32
        np.testing.assert_allclose(got, theirs(x32.astype(np.float64)), rtol=2e-5, atol=2e-5)
    assert fft.dct(np.arange(5)).dtype == np.float64
    np.testing.assert_allclose(fft.dct(np.arange(5)), scipy.fft.dct(np.arange(5.0)), atol=1e-12)


@pytest.mark.parametrize("fn", [fft.dct, fft.idct])
@pytest.mark.parametrize("norm", [None, "ortho"])
def test_derivatives_match_central_differences(fn, norm):
    x = RNG.normal(size=(2, 5))
    check_grads(lambda x: fn(x, n=6, axis=-1, norm=norm), (x,), order=1, modes=("fwd", "rev"))
    check_grads(lambda x: fft.dctn(x, norm=norm) if fn is fft.dct else fft.idctn(x, norm=norm), (x,), order=1)


def test_vmap_matches_a_loop_and_jit_matches_eager():
    rows = RNG.normal(size=(4, 3, 6))
    for fn in (lambda r: fft.dct(r, axis=0), lambda r: fft.idct(r, n=4), lambda r: fft.dctn(r, norm="ortho")):
        np.testing.assert_allclose(fnad.vmap(fn)(rows), [fn(r) for r in rows], atol=1e-12)
        np.testing.assert_allclose(fnad.jit(fn)(rows[0]), fn(rows[0]), atol=1e-12)


def test_what_jax_does_not_do_raises_clear_errors():
    x = np.ones((3, 4))
    for fn in (fft.dct, fft.idct, fft.dctn, fft.idctn):
        with pytest.raises(NotImplementedError, match="only DCT type 2"):
            fn(x, type=3)
        with pytest.raises(ValueError, match="norm must be"):
            fn(x, norm="forward")
    with pytest.raises(np.exceptions.AxisError, match="out of bounds"):
        fft.dct(x, axis=2)
    with pytest.raises(ValueError, match="invalid number of data points"):
        fft.idct(x, n=0)
    with pytest.raises(TypeError, match="n must be an integer"):
        fft.dct(x, n=2.5)
    with pytest.raises(ValueError, match="at most x.ndim"):
        fft.dctn(x, s=(2, 2, 2))
    with pytest.raises(ValueError, match="repeated axes"):
        fft.idctn(x, axes=(0, 0))
    with pytest.raises(ValueError, match="different lengths"):
        fft.dctn(x, s=(2, 2), axes=(0,))
