"""fnad.scipy.signal against scipy.signal, and fnad.scipy.optimize.minimize against SciPy's BFGS and
closed forms: values, derivatives (central differences, implicit-function closed forms), vmap against
a loop, jit against eager."""

import numpy as np
import pytest
import scipy.optimize
import scipy.signal

import fnad
import fnad.numpy as fnp
from fnad.scipy import optimize, signal

RNG = np.random.default_rng(15)
SHAPES = [((7,), (3,)), ((3,), (7,)), ((4,), (4,)), ((5, 6), (2, 3)), ((2, 3), (5, 6)), ((4, 5, 3), (2, 2, 2))]


@pytest.mark.parametrize("s1,s2", SHAPES)
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_convolve_and_correlate_match_scipy(s1, s2, mode):
    a, b = RNG.normal(size=s1), RNG.normal(size=s2)
    for ours, theirs in ((signal.convolve, scipy.signal.convolve), (signal.correlate, scipy.signal.correlate)):
        expected = theirs(a, b, mode=mode, method="direct")
        for method in ("direct", "fft"):
            got = ours(a, b, mode=mode, method=method)
            assert got.shape == expected.shape
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(signal.fftconvolve(a, b, mode), scipy.signal.fftconvolve(a, b, mode), atol=1e-12)
    if len(s1) == 2:
        np.testing.assert_allclose(signal.convolve2d(a, b, mode), scipy.signal.convolve2d(a, b, mode), atol=1e-12)
        np.testing.assert_allclose(signal.correlate2d(a, b, mode), scipy.signal.correlate2d(a, b, mode), atol=1e-12)
        jitted = fnad.jit(lambda a, b: signal.correlate2d(a, b, mode))(a, b)
        np.testing.assert_allclose(jitted, scipy.signal.correlate2d(a, b, mode), atol=1e-12)


def test_convolve_differentiates_batches_and_refuses_bad_input():
    a, b = RNG.normal(size=9), RNG.normal(size=4)
    w = RNG.normal(size=9)

    def loss(a, b):
        return (signal.convolve(a, b, mode="same") * w).sum()

    ga, gb = fnad.grad(loss, (0, 1))(a, b)
    eps = 1e-6
    fd_a = [(loss(a + eps * e, b) - loss(a - eps * e, b)) / (2 * eps) for e in np.eye(9)]
    fd_b = [(loss(a, b + eps * e) - loss(a, b - eps * e)) / (2 * eps) for e in np.eye(4)]
    np.testing.assert_allclose(ga, fd_a, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(gb, fd_b, rtol=1e-7, atol=1e-9)
    rows = RNG.normal(size=(3, 9))
    np.testing.assert_allclose(
        fnad.vmap(lambda r: signal.convolve(r, b))(rows), [np.convolve(r, b) for r in rows], atol=1e-12
    )
    assert signal.convolve(np.array([1, 2, 3]), np.array([1, 1])).dtype == np.float64
    with pytest.raises(ValueError, match="same number of dimensions"):
        signal.convolve(np.ones(3), np.ones((2, 2)))
    with pytest.raises(ValueError, match="at least as large"):
        signal.convolve(np.ones((3, 1)), np.ones((1, 3)))
    with pytest.raises(ValueError, match="mode must be"):
        signal.convolve(np.ones(3), np.ones(2), mode="wrap")
    with pytest.raises(NotImplementedError, match="boundary='fill'"):
        signal.convolve2d(np.ones((3, 3)), np.ones((2, 2)), boundary="wrap")


def _rosen(x):
    return fnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


@pytest.mark.parametrize("x0", [np.zeros(2), np.full(5, -0.5), np.array([-1.2, 1.0, 0.3])])
def test_bfgs_finds_the_minimum_scipy_finds(x0):
    res = optimize.minimize(_rosen, x0, method="BFGS")
    expected = scipy.optimize.minimize(lambda x: float(_rosen(x)), x0, method="BFGS")
    assert bool(res.success) and int(res.status) == 0
    np.testing.assert_allclose(res.x, expected.x, atol=1e-4)  # SciPy differentiates by finite differences
    np.testing.assert_allclose(res.x, np.ones_like(x0), atol=1e-5)
    assert np.max(np.abs(res.jac)) < 1e-5
    assert float(res.fun) < 1e-10
    assert 0 < int(res.nit) <= 200 * len(x0) and int(res.nfev) >= int(res.nit)


def test_bfgs_reports_the_iteration_limit_and_refuses_bad_input():
    res = optimize.minimize(_rosen, np.zeros(2), method="BFGS", options={"maxiter": 3})
    assert not bool(res.success) and int(res.status) == 1 and int(res.nit) == 3
    with pytest.raises(ValueError, match="BFGS"):
        optimize.minimize(_rosen, np.zeros(2), method="Nelder-Mead")
    with pytest.raises(ValueError, match="1-d"):
        optimize.minimize(_rosen, np.zeros((2, 2)), method="BFGS")
    with pytest.raises(TypeError, match="unknown options"):
        optimize.minimize(_rosen, np.zeros(2), method="BFGS", options={"xtol": 1.0})


def _objective(x, a):
    return fnp.sum((x - a) ** 2) + 0.1 * fnp.sum(x**4)


def _argmin(a):
    return optimize.minimize(_objective, fnp.zeros(3), (a,), method="BFGS").x


def test_the_minimiser_differentiates_implicitly():
    a = np.array([0.5, -1.0, 2.0])
    x = np.asarray(_argmin(a))
    np.testing.assert_allclose(2 * (x - a) + 0.4 * x**3, 0, atol=1e-5)  # optimality
    # grad_x f = 2(x - a) + 0.4 x^3 = 0  =>  dx/da = 2 / (2 + 1.2 x^2), elementwise
    closed = np.diag(2 / (2 + 1.2 * x**2))
    np.testing.assert_allclose(fnad.jacrev(_argmin)(a), closed, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(fnad.jacfwd(_argmin)(a), closed, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(fnad.jit(_argmin)(a), x, atol=1e-12)
    batch = np.stack([a, 2 * a])
    np.testing.assert_allclose(fnad.vmap(_argmin)(batch), [_argmin(r) for r in batch], atol=1e-7)
    # The optimal value's gradient is the partial derivative at the optimum (envelope theorem).
    g = fnad.grad(lambda a: optimize.minimize(_objective, fnp.zeros(3), (a,), method="BFGS").fun)(a)
    np.testing.assert_allclose(g, 2 * (a - x), atol=1e-5)
