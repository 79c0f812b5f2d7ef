"""fnad.scipy.stats against scipy.stats (values inside and outside the supports), derivatives against
central differences, vmap against a loop and jit against eager."""

import numpy as np
import pytest
import scipy.stats as ss

import fnad
from fnad.scipy import stats

RNG = np.random.default_rng(0)
X = np.concatenate([RNG.normal(0, 3, 40), [-1e3, -1.0, 0.0, 0.5, 1.0, 1e3]])
P = np.concatenate([RNG.uniform(0, 1, 40), [0.0, 1e-300, 1e-10, 0.5, 1 - 1e-10, 1.0]])
K = np.concatenate([np.arange(-2.0, 25.0), [1.5, 100.0]])

# (name, fnad function, scipy function, arguments after the first, the first argument)
CASES = [
    ("norm.logpdf", stats.norm.logpdf, ss.norm.logpdf, (0.5, 2.0), X),
    ("norm.pdf", stats.norm.pdf, ss.norm.pdf, (0.5, 2.0), X),
    ("norm.cdf", stats.norm.cdf, ss.norm.cdf, (0.5, 2.0), X),
    ("norm.logcdf", stats.norm.logcdf, ss.norm.logcdf, (0.5, 2.0), X),
    ("norm.sf", stats.norm.sf, ss.norm.sf, (0.5, 2.0), X),
    ("norm.logsf", stats.norm.logsf, ss.norm.logsf, (0.5, 2.0), X),
    ("norm.ppf", stats.norm.ppf, ss.norm.ppf, (0.5, 2.0), P),
    # isf(q) as ppf(1 - q), as JAX computes it (so q below 1e-16 rounds to the upper end)
    ("norm.isf", stats.norm.isf, lambda q, m, s: ss.norm.ppf(1 - q, m, s), (0.5, 2.0), P),
    ("expon.logpdf", stats.expon.logpdf, ss.expon.logpdf, (0.5, 2.0), X),
    ("expon.cdf", stats.expon.cdf, ss.expon.cdf, (0.5, 2.0), X),
    ("expon.logcdf", stats.expon.logcdf, ss.expon.logcdf, (0.5, 2.0), np.abs(X) + 0.6),
    ("expon.sf", stats.expon.sf, ss.expon.sf, (0.5, 2.0), X),
    ("expon.logsf", stats.expon.logsf, ss.expon.logsf, (0.5, 2.0), X),
    ("expon.ppf", stats.expon.ppf, ss.expon.ppf, (0.5, 2.0), P),
    ("laplace.logpdf", stats.laplace.logpdf, ss.laplace.logpdf, (0.5, 2.0), X),
    ("laplace.cdf", stats.laplace.cdf, ss.laplace.cdf, (0.5, 2.0), X),
    ("logistic.logpdf", stats.logistic.logpdf, ss.logistic.logpdf, (0.5, 2.0), X),
    ("logistic.cdf", stats.logistic.cdf, ss.logistic.cdf, (0.5, 2.0), X),
    ("logistic.sf", stats.logistic.sf, ss.logistic.sf, (0.5, 2.0), X),
    ("logistic.ppf", stats.logistic.ppf, ss.logistic.ppf, (0.5, 2.0), P),
    ("logistic.isf", stats.logistic.isf, ss.logistic.isf, (0.5, 2.0), P),
    ("uniform.logpdf", stats.uniform.logpdf, ss.uniform.logpdf, (-1.0, 3.0), X),
    ("uniform.cdf", stats.uniform.cdf, ss.uniform.cdf, (-1.0, 3.0), X),
    ("uniform.ppf", stats.uniform.ppf, ss.uniform.ppf, (-1.0, 3.0), P),
    ("cauchy.logpdf", stats.cauchy.logpdf, ss.cauchy.logpdf, (0.5, 2.0), X),
    ("cauchy.cdf", stats.cauchy.cdf, ss.cauchy.cdf, (0.5, 2.0), X[np.abs(X) < 100]),
    ("cauchy.sf", stats.cauchy.sf, ss.cauchy.sf, (0.5, 2.0), X[np.abs(X) < 100]),
    ("cauchy.ppf", stats.cauchy.ppf, ss.cauchy.ppf, (0.5, 2.0), P[(P > 1e-6) & (P < 1 - 1e-6)]),
    ("t.logpdf", stats.t.logpdf, ss.t.logpdf, (3.5, 0.5, 2.0), X),
    ("gamma.logpdf", stats.gamma.logpdf, ss.gamma.logpdf, (2.5, 0.5, 2.0), X),
    ("gamma.cdf", stats.gamma.cdf, ss.gamma.cdf, (2.5, 0.5, 2.0), X),
    ("gamma.sf", stats.gamma.sf, ss.gamma.sf, (2.5, 0.5, 2.0), X),
    ("gamma.logsf", stats.gamma.logsf, ss.gamma.logsf, (2.5, 0.5, 2.0), X[np.abs(X) < 100]),
    ("chi2.logpdf", stats.chi2.logpdf, ss.chi2.logpdf, (3.0, 0.5, 2.0), X[X > 0.5]),
    ("chi2.cdf", stats.chi2.cdf, ss.chi2.cdf, (3.0, 0.5, 2.0), X),
    ("chi2.sf", stats.chi2.sf, ss.chi2.sf, (3.0, 0.5, 2.0), X),
    ("beta.logpdf", stats.beta.logpdf, ss.beta.logpdf, (2.5, 1.5, -1.0, 3.0), X),
    ("beta.cdf", stats.beta.cdf, ss.beta.cdf, (2.5, 1.5, -1.0, 3.0), X),
    ("beta.sf", stats.beta.sf, ss.beta.sf, (2.5, 1.5, -1.0, 3.0), X),
    ("pareto.logpdf", stats.pareto.logpdf, ss.pareto.logpdf, (2.5, 0.5, 2.0), X),
    ("pareto.cdf", stats.pareto.cdf, ss.pareto.cdf, (2.5, 0.5, 2.0), X),
    ("pareto.logsf", stats.pareto.logsf, ss.pareto.logsf, (2.5, 0.5, 2.0), X),
    ("pareto.ppf", stats.pareto.ppf, ss.pareto.ppf, (2.5, 0.5, 2.0), P),
    ("gumbel_r.logpdf", stats.gumbel_r.logpdf, ss.gumbel_r.logpdf, (0.5, 2.0), X[np.abs(X) < 100]),
    ("gumbel_r.cdf", stats.gumbel_r.cdf, ss.gumbel_r.cdf, (0.5, 2.0), X),
    ("gumbel_r.logsf", stats.gumbel_r.logsf, ss.gumbel_r.logsf, (0.5, 2.0), X[np.abs(X) < 100]),
    ("gumbel_r.ppf", stats.gumbel_r.ppf, ss.gumbel_r.ppf, (0.5, 2.0), P[(P > 0) & (P < 1)]),
    ("gumbel_l.logpdf", stats.gumbel_l.logpdf, ss.gumbel_l.logpdf, (0.5, 2.0), X[np.abs(X) < 100]),
    ("gumbel_l.cdf", stats.gumbel_l.cdf, ss.gumbel_l.cdf, (0.5, 2.0), X),
    ("gumbel_l.ppf", stats.gumbel_l.ppf, ss.gumbel_l.ppf, (0.5, 2.0), P[(P > 0) & (P < 1)]),
    ("vonmises.logpdf", stats.vonmises.logpdf, ss.vonmises.logpdf, (2.5,), X[np.abs(X) < 4]),
    ("poisson.logpmf", stats.poisson.logpmf, ss.poisson.logpmf, (3.5,), K),
    ("poisson.pmf", stats.poisson.pmf, ss.poisson.pmf, (3.5,), K),
    ("poisson.cdf", stats.poisson.cdf, ss.poisson.cdf, (3.5,), K),
    ("bernoulli.logpmf", stats.bernoulli.logpmf, ss.bernoulli.logpmf, (0.3,), K),
    ("bernoulli.cdf", stats.bernoulli.cdf, ss.bernoulli.cdf, (0.3,), K),
    ("bernoulli.ppf", stats.bernoulli.ppf, ss.bernoulli.ppf, (0.3,), P[P > 0]),  # q = 0: see the edge values
    ("binom.logpmf", stats.binom.logpmf, ss.binom.logpmf, (12.0, 0.3), K[K == np.round(K)]),
    ("binom.pmf", stats.binom.pmf, ss.binom.pmf, (12.0, 0.3), K[K == np.round(K)]),
    ("geom.logpmf", stats.geom.logpmf, ss.geom.logpmf, (0.3,), K[K == np.round(K)]),
    ("nbinom.logpmf", stats.nbinom.logpmf, ss.nbinom.logpmf, (4.0, 0.3), K[(K == np.round(K)) & (K >= 0)]),
    ("betabinom.logpmf", stats.betabinom.logpmf, ss.betabinom.logpmf, (12.0, 2.5, 1.5), K[K == np.round(K)]),
    ("truncnorm.logpdf", stats.truncnorm.logpdf, ss.truncnorm.logpdf, (-1.0, 2.5, 0.5, 2.0), X),
    ("truncnorm.logpdf-tail", stats.truncnorm.logpdf, ss.truncnorm.logpdf, (8.0, 9.0), np.linspace(8, 9, 11)),
    ("truncnorm.cdf", stats.truncnorm.cdf, ss.truncnorm.cdf, (-1.0, 2.5, 0.5, 2.0), X),
    ("truncnorm.logcdf", stats.truncnorm.logcdf, ss.truncnorm.logcdf, (-1.0, 2.5, 0.5, 2.0), X),
    ("truncnorm.sf", stats.truncnorm.sf, ss.truncnorm.sf, (-1.0, 2.5, 0.5, 2.0), X),
    ("truncnorm.logsf", stats.truncnorm.logsf, ss.truncnorm.logsf, (-1.0, 2.5, 0.5, 2.0), X),
    ("wrapcauchy.logpdf", stats.wrapcauchy.logpdf, ss.wrapcauchy.logpdf, (0.4,), np.linspace(0.0, 2 * np.pi, 9)),
    ("gennorm.logpdf", stats.gennorm.logpdf, ss.gennorm.logpdf, (1.5,), X),
    ("gennorm.cdf", stats.gennorm.cdf, ss.gennorm.cdf, (1.5,), X),
]


def assert_close(actual, expected, rtol=1e-12, atol=1e-300):
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_array_equal(np.isinf(actual), np.isinf(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(actual[finite], expected[finite], rtol=rtol, atol=atol)


@pytest.mark.parametrize(("name", "f", "ref", "params", "x"), CASES, ids=[c[0] for c in CASES])
def test_against_scipy(name, f, ref, params, x):
    with np.errstate(all="ignore"):
        expected = ref(x, *params)
    assert_close(f(x, *params), expected)


def test_edge_values_follow_jax():
    # where jax.scipy.stats departs from scipy.stats (values from JAX 0.10.2, x64):
    # jax.scipy.stats.beta.logpdf(0.5, -1.0, 2.0) -> nan; jax.scipy.stats.vonmises.logpdf(0.0, 0.0) -> nan;
    # jax.scipy.stats.uniform.cdf(nan) -> 0.0; jax.scipy.stats.bernoulli.ppf(0.5, 1.5) -> nan;
    # jax.scipy.stats.bernoulli.ppf(0.0, 0.3) -> 0.0 (SciPy: -1)
    assert np.isnan(stats.beta.logpdf(0.5, -1.0, 2.0))
    assert np.isnan(stats.vonmises.logpdf(0.0, 0.0))
    assert float(stats.uniform.cdf(np.nan)) == 0.0
    assert np.isnan(stats.bernoulli.ppf(0.5, 1.5))
    assert float(stats.bernoulli.ppf(0.0, 0.3)) == 0.0


def test_multivariate_normal():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(3, 3))
    cov = a @ a.T + 3 * np.eye(3)
    mean = rng.normal(size=3)
    x = rng.normal(size=(5, 3))
    assert_close(stats.multivariate_normal.logpdf(x, mean, cov), ss.multivariate_normal.logpdf(x, mean, cov))
    assert_close(stats.multivariate_normal.pdf(x[0], mean, cov), ss.multivariate_normal.pdf(x[0], mean, cov))
    assert_close(
        stats.multivariate_normal.logpdf(x, mean, 2.0), ss.multivariate_normal.logpdf(x, mean, 2.0 * np.eye(3))
    )
    assert_close(stats.multivariate_normal.logpdf(x[:, 0], 0.5, 2.0), ss.norm.logpdf(x[:, 0], 0.5, np.sqrt(2.0)))
    with pytest.raises(ValueError, match="incompatible shapes"):
        stats.multivariate_normal.logpdf(x, mean, np.eye(2))


def test_multinomial():
    x, p = np.array([[2, 1, 0], [1, 1, 1]]), np.array([0.5, 0.3, 0.2])
    for row in x:
        assert_close(stats.multinomial.logpmf(row, 3, p), ss.multinomial.logpmf(row, 3, p))
    assert float(stats.multinomial.logpmf(np.array([2, 2, 0]), 3, p)) == -np.inf
    with pytest.raises(ValueError, match="must be of integer type"):
        stats.multinomial.logpmf(np.array([1.0, 2.0, 0.0]), 3, p)


def test_dirichlet():
    alpha = np.array([1.5, 2.0, 3.0])
    x = np.array([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]]).T  # categories on the first axis, as JAX and SciPy
    assert_close(stats.dirichlet.logpdf(x, alpha), ss.dirichlet.logpdf(x, alpha))
    assert_close(stats.dirichlet.logpdf(x[:2], alpha), ss.dirichlet.logpdf(x, alpha))  # last coordinate implied
    assert float(stats.dirichlet.logpdf(np.array([0.5, 0.6, 0.1]), alpha)) == -np.inf  # off the simplex
    with pytest.raises(ValueError, match="`alpha` must be one-dimensional"):
        stats.dirichlet.logpdf(x, alpha[None])


def test_gradients_against_central_differences():
    def check(f, x0, h=1e-6):
        g = float(fnad.grad(f)(x0))
        fd = (float(f(x0 + h)) - float(f(x0 - h))) / (2 * h)
        assert abs(g - fd) <= 1e-6 * max(1.0, abs(fd)), (g, fd)

    check(lambda s: stats.norm.logpdf(1.3, 0.2, s), 1.5)
    check(lambda m: stats.norm.logcdf(-8.0, m, 1.0), 0.5)
    check(lambda a: stats.gamma.logpdf(2.0, a), 2.5)
    check(lambda x: stats.gamma.cdf(x, 2.5), 1.7)
    check(lambda x: stats.beta.cdf(x, 2.5, 1.5), 0.4)
    check(lambda d: stats.t.logpdf(0.7, d), 4.0)
    check(lambda p: stats.norm.ppf(p), 0.01)
    check(lambda mu: stats.poisson.logpmf(3.0, mu), 2.5)
    check(lambda k: stats.vonmises.logpdf(0.4, k), 2.0)
    mean = lambda m: fnad.numpy.stack([m, 0.0])
    check(lambda m: stats.multivariate_normal.logpdf(np.array([0.3, -0.2]), mean(m), np.eye(2) * 2), 0.1)


def test_vmap_matches_a_loop():
    locs = np.array([-1.0, 0.0, 2.0])
    batched = fnad.vmap(lambda m: stats.norm.logcdf(X, m, 2.0))(locs)
    looped = np.stack([np.asarray(stats.norm.logcdf(X, m, 2.0)) for m in locs])
    np.testing.assert_array_equal(np.asarray(batched), looped)
    a = np.array([0.5, 2.0, 7.0])
    batched = fnad.vmap(stats.gamma.cdf, in_axes=(None, 0))(np.abs(X), a)
    looped = np.stack([np.asarray(stats.gamma.cdf(np.abs(X), ai)) for ai in a])
    np.testing.assert_array_equal(np.asarray(batched), looped)


def test_jit_matches_eager():
    def model(x, loc, scale):
        return (
            stats.norm.logpdf(x, loc, scale).sum()
            + stats.norm.logcdf(x, loc, scale).sum()
            + stats.gamma.logpdf(fnad.numpy.abs(x), 2.0).sum()
            + stats.beta.logpdf(fnad.numpy.clip(x, 0.01, 0.99), 2.0, 3.0).sum()  # (betainc: test_special.py)
            + stats.poisson.logpmf(fnad.numpy.round(fnad.numpy.abs(x)), 3.0).sum()
        )

    x = X[(np.abs(X) < 100) & (X != 0)]
    eager = float(model(x, 0.3, 1.7))
    compiled = float(fnad.jit(model)(x, 0.3, 1.7))
    assert abs(compiled - eager) <= 1e-12 * abs(eager)
    g_eager = np.asarray(fnad.grad(model, argnums=(1, 2))(x, 0.3, 1.7))
    g_jit = np.asarray(fnad.jit(fnad.grad(model, argnums=(1, 2)))(x, 0.3, 1.7))
    np.testing.assert_allclose(g_jit, g_eager, rtol=1e-12)
