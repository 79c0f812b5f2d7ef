"""fnad.scipy.stats' descriptive statistics (mode, rankdata, sem) and gaussian_kde against scipy.stats, with
JAX's conventions where the two differ, derivatives against central differences, vmap against a loop, jit
against eager, and clear errors for bad input."""

import numpy as np
import pytest
import scipy.stats as ss

import fnad
import fnad.numpy as fnp
from fnad.scipy import stats

RNG = np.random.default_rng(0)
INTS = RNG.integers(0, 5, (7, 6))
FLOATS = np.round(RNG.normal(size=(6, 5)), 1)  # rounded, so that there are ties


# ----------------------------------------------------------------------------------------------
# mode


@pytest.mark.parametrize("axis", [0, 1, -1, None])
@pytest.mark.parametrize("keepdims", [False, True])
def test_mode_matches_scipy(axis, keepdims):
    for data in (INTS, FLOATS):
        got = stats.mode(data, axis=axis, keepdims=keepdims)
        ref = ss.mode(data, axis=axis, keepdims=keepdims)
        np.testing.assert_array_equal(np.asarray(got.mode), ref.mode)
        np.testing.assert_array_equal(np.asarray(got.count), ref.count)
        assert got.mode.shape == ref.mode.shape


def test_mode_conventions_of_jax():
    # jax.scipy.stats.mode: the dtype of the data kept; the smallest of equally common values; an empty
    # sample gives (nan, 0)
    out = stats.mode(np.array([3, 1, 3, 1, 2]))
    assert (int(out.mode), int(out.count)) == (1, 2) and out.mode.dtype == np.int64
    empty = stats.mode(np.zeros((0, 3)))
    assert np.all(np.isnan(np.asarray(empty.mode))) and np.all(np.asarray(empty.count) == 0)
    assert int(stats.mode(np.array(4)).mode) == 4  # a scalar is a sample of one


def test_mode_under_jit_and_vmap():
    np.testing.assert_array_equal(np.asarray(fnad.jit(lambda x: stats.mode(x).mode)(INTS)), ss.mode(INTS).mode)
    batched = fnad.vmap(lambda x: stats.mode(x).count)(INTS)
    np.testing.assert_array_equal(np.asarray(batched), [ss.mode(row).count for row in INTS])


# ----------------------------------------------------------------------------------------------
# rankdata


@pytest.mark.parametrize("method", ["average", "min", "max", "dense", "ordinal"])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_rankdata_matches_scipy(method, axis):
    for data in (INTS, FLOATS):
        got = stats.rankdata(data, method, axis=axis)
        ref = ss.rankdata(data, method, axis=axis)
        assert got.dtype == np.float64  # JAX's default float; SciPy's is int for all but 'average'
        np.testing.assert_array_equal(np.asarray(got), ref)


def test_rankdata_nan_and_jit():
    # a NaN makes every rank NaN (JAX, and SciPy's nan_policy='propagate')
    data = np.array([1.0, np.nan, 0.5])
    np.testing.assert_array_equal(np.asarray(stats.rankdata(data)), ss.rankdata(data))
    compiled = fnad.jit(lambda x: stats.rankdata(x, "min"))(FLOATS)
    np.testing.assert_array_equal(np.asarray(compiled), ss.rankdata(FLOATS, "min"))
    batched = fnad.vmap(stats.rankdata)(FLOATS)
    np.testing.assert_array_equal(np.asarray(batched), ss.rankdata(FLOATS, axis=1))


# ----------------------------------------------------------------------------------------------
# sem


@pytest.mark.parametrize("axis", [0, 1, None])
@pytest.mark.parametrize("ddof", [0, 1, 2])
def test_sem_matches_scipy(axis, ddof):
    data = RNG.normal(size=(6, 5))
    np.testing.assert_allclose(stats.sem(data, axis=axis, ddof=ddof), ss.sem(data, axis=axis, ddof=ddof), rtol=1e-14)
    kept = stats.sem(data, axis=axis, ddof=ddof, keepdims=True)
    np.testing.assert_allclose(kept, ss.sem(data, axis=axis, ddof=ddof, keepdims=True), rtol=1e-14)
    holes = np.where(RNG.uniform(size=data.shape) < 0.2, np.nan, data)
    np.testing.assert_allclose(
        stats.sem(holes, axis=axis, ddof=ddof, nan_policy="omit"),
        ss.sem(holes, axis=axis, ddof=ddof, nan_policy="omit"),
        rtol=1e-14,
    )
    np.testing.assert_array_equal(np.isnan(stats.sem(holes, axis=axis)), np.isnan(ss.sem(holes, axis=axis)))


def test_sem_derivative_jit_and_integers():
    data = RNG.normal(size=8)
    g = np.asarray(fnad.grad(stats.sem)(data))
    h = 1e-6
    fd = [(float(stats.sem(data + h * e)) - float(stats.sem(data - h * e))) / (2 * h) for e in np.eye(8)]
    np.testing.assert_allclose(g, fd, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(fnad.jit(stats.sem)(FLOATS), ss.sem(FLOATS), rtol=1e-14)
    assert stats.sem(INTS).dtype == np.float64


# ----------------------------------------------------------------------------------------------
# gaussian_kde

DATA = RNG.normal(size=(2, 30))
WEIGHTS = RNG.uniform(0.5, 2.0, 30)
POINTS = RNG.normal(size=(2, 7)) * 2


@pytest.mark.parametrize("bw_method", [None, "scott", "silverman", 0.4, lambda kde: 0.5 * kde.neff ** (-1 / 6)])
@pytest.mark.parametrize("weights", [None, WEIGHTS])
def test_gaussian_kde_matches_scipy(bw_method, weights):
    kde = stats.gaussian_kde(DATA, bw_method=bw_method, weights=weights)
    ref = ss.gaussian_kde(DATA, bw_method=bw_method, weights=weights)
    np.testing.assert_allclose(kde.covariance, ref.covariance, rtol=1e-13)
    for method in ("evaluate", "pdf", "logpdf", "__call__"):
        np.testing.assert_allclose(getattr(kde, method)(POINTS), getattr(ref, method)(POINTS), rtol=1e-13)
    assert float(kde.neff) == pytest.approx(ref.neff, rel=1e-14)
    mean, cov = np.array([0.2, -0.1]), np.array([[1.0, 0.3], [0.3, 2.0]])
    assert float(kde.integrate_gaussian(mean, cov)) == pytest.approx(ref.integrate_gaussian(mean, cov), rel=1e-13)
    other, ref_other = stats.gaussian_kde(POINTS), ss.gaussian_kde(POINTS)
    assert float(kde.integrate_kde(other)) == pytest.approx(ref.integrate_kde(ref_other), rel=1e-13)


def test_gaussian_kde_one_dimensional():
    data = RNG.normal(size=40)
    kde, ref = stats.gaussian_kde(data), ss.gaussian_kde(data)
    x = np.linspace(-4, 4, 9)
    np.testing.assert_allclose(kde(x), ref(x), rtol=1e-13)
    # far out the density underflows; its log does not (logsumexp)
    np.testing.assert_allclose(kde.logpdf(np.array([60.0])), ref.logpdf([60.0]), rtol=1e-12)
    assert float(kde.integrate_box_1d(-0.5, 1.0)) == pytest.approx(ref.integrate_box_1d(-0.5, 1.0), rel=1e-13)
    assert kde.d == 1 and kde.n == 40
    np.testing.assert_allclose(kde(np.array(0.3)), ref(0.3), rtol=1e-13)  # a scalar point


def test_gaussian_kde_resample():
    kde = stats.gaussian_kde(DATA, weights=WEIGHTS)
    samples = kde.resample(fnad.random.PRNGKey(0), (4000,))
    assert samples.shape == (2, 4000)
    # the estimate's mean is the weighted data mean, its covariance the data's plus the kernel's
    weights = WEIGHTS / WEIGHTS.sum()
    np.testing.assert_allclose(np.mean(samples, axis=1), DATA @ weights, atol=0.1)
    expected_cov = np.cov(DATA, aweights=weights, bias=True) + np.asarray(kde.covariance)
    np.testing.assert_allclose(np.cov(samples), expected_cov, atol=0.15)
    assert stats.gaussian_kde(DATA).resample(fnad.random.PRNGKey(1)).shape == (2,)


def test_gaussian_kde_is_a_pytree_under_jit_grad_and_vmap():
    kde = stats.gaussian_kde(DATA)
    compiled = fnad.jit(lambda k, x: k.logpdf(x))(kde, POINTS)
    np.testing.assert_allclose(compiled, kde.logpdf(POINTS), rtol=1e-13)
    leaves, _ = fnad.tree_util.tree_flatten(kde)
    assert len(leaves) == 5
    # the derivative of the log density in the data, against central differences
    point = np.array([[0.3], [-0.2]])

    def log_density(data):
        return stats.gaussian_kde(data).logpdf(point)[0]

    g = np.asarray(fnad.grad(log_density)(DATA))
    h = 1e-6
    for i, j in [(0, 0), (1, 5), (0, 29)]:
        e = np.zeros_like(DATA)
        e[i, j] = h
        fd = (float(log_density(DATA + e)) - float(log_density(DATA - e))) / (2 * h)
        assert abs(g[i, j] - fd) < 1e-7
    batched = fnad.vmap(lambda p: kde.evaluate(p[:, None])[0], in_axes=1)(POINTS)
    np.testing.assert_allclose(batched, [float(kde.evaluate(POINTS[:, i : i + 1])[0]) for i in range(7)], rtol=1e-14)


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="illegal nan_policy"):
        stats.mode(INTS, nan_policy="ignore")
    with pytest.raises(NotImplementedError, match="nan_policy='omit' is not supported"):
        stats.rankdata(FLOATS, nan_policy="omit")
    with pytest.raises(ValueError, match="unknown method 'middle'"):
        stats.rankdata(FLOATS, "middle")
    with pytest.raises(ValueError, match="axis 2 is out of bounds"):
        stats.mode(INTS, axis=2)
    with pytest.raises(NotImplementedError, match="complex"):
        stats.gaussian_kde(np.array([1j, 2j]))
    with pytest.raises(ValueError, match="multiple elements"):
        stats.gaussian_kde(np.array([1.0]))
    with pytest.raises(ValueError, match="should be of length n = 30"):
        stats.gaussian_kde(DATA, weights=np.ones(3))
    with pytest.raises(ValueError, match="bw_method"):
        stats.gaussian_kde(DATA, bw_method="wide")
    kde = stats.gaussian_kde(DATA)
    with pytest.raises(ValueError, match="points have dimension 3, dataset has dimension 2"):
        kde.evaluate(np.ones((3, 4)))
    with pytest.raises(ValueError, match="only handles 1D"):
        kde.integrate_box_1d(0.0, 1.0)
    with pytest.raises(NotImplementedError, match="integrate_box_1d"):
        kde.integrate_box(np.zeros(2), np.ones(2))
    with pytest.raises(AttributeError, match="immutable"):
        kde.dataset = fnp.zeros((2, 3))
