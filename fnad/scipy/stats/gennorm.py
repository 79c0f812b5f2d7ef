"""The generalized normal distribution with shape beta, as `jax.scipy.stats.gennorm`.

>>> import numpy as np; from fnad.scipy.stats import gennorm
>>> gennorm.logpdf(np.array([0.0, 1.0]), 2.0)
Array([-0.57236494, -1.57236494], dtype=float64)
>>> gennorm.cdf(np.array([0.0, 1.0]), 2.0)
Array([0.5      , 0.9213504], dtype=float64)
"""

from ... import numpy as fnp
from ...primitives.special import igamma, igammac, lgamma
from ._core import args


def logpdf(x, beta):
    """log density at x."""
    x, beta = args(x, beta)
    return fnp.log(0.5 * beta) - lgamma(1 / beta) - fnp.abs(x) ** beta


def pdf(x, beta):
    """density at x."""
    return fnp.exp(logpdf(x, beta))


def cdf(x, beta):
    """P(X <= x) (the lower tail from igammac: JAX's 1 - igamma there keeps fewer digits)."""
    x, beta = args(x, beta)
    t = fnp.abs(x) ** beta
    return fnp.where(x < 0, 0.5 * igammac(1 / beta, t), 0.5 * (1 + igamma(1 / beta, t)))
