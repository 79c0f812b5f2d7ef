"""`fnad.scipy.stats`: probability distributions with `jax.scipy.stats`'s modules, functions, signatures
(`loc`, `scale`, shape parameters) and edge values, built from `fnad.scipy.special` and fnad.numpy, so
every density, CDF and quantile is differentiable, batchable and compiles under `jit`.
"""

from . import (
    bernoulli,
    beta,
    binom,
    cauchy,
    chi2,
    dirichlet,
    expon,
    gamma,
    geom,
    gumbel_l,
    gumbel_r,
    laplace,
    logistic,
    multivariate_normal,
    nbinom,
    norm,
    pareto,
    poisson,
    t,
    uniform,
    vonmises,
)

__all__ = [
    "bernoulli",
    "beta",
    "binom",
    "cauchy",
    "chi2",
    "dirichlet",
    "expon",
    "gamma",
    "geom",
    "gumbel_l",
    "gumbel_r",
    "laplace",
    "logistic",
    "multivariate_normal",
    "nbinom",
    "norm",
    "pareto",
    "poisson",
    "t",
    "uniform",
    "vonmises",
]
