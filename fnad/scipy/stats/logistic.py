"""The logistic distribution, as `jax.scipy.stats.logistic`.

>>> import numpy as np; from fnad.scipy.stats import logistic
>>> logistic.logpdf(np.array([0.0, 1000.0]))
Array([  -1.38629436, -1000.        ], dtype=float64)
>>> logistic.ppf(np.array([0.5, 0.75]))
Array([0.        , 1.09861229], dtype=float64)
"""

from ... import numpy as fnp
from .. import special
from ._core import args


def logpdf(x, loc=0, scale=1):
    """log density at x (stable for large |x|)."""
    x, loc, scale = args(x, loc, scale)
    half = (x - loc) / scale / 2
    return -2 * fnp.logaddexp(half, -half) - fnp.log(scale)


def pdf(x, loc=0, scale=1):
    """density at x."""
    return fnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    """P(X <= x)."""
    x, loc, scale = args(x, loc, scale)
    return special.expit((x - loc) / scale)


def sf(x, loc=0, scale=1):
    """P(X > x)."""
    x, loc, scale = args(x, loc, scale)
    return special.expit(-(x - loc) / scale)


def ppf(x, loc=0, scale=1):
    """The quantile."""
    x, loc, scale = args(x, loc, scale)
    return special.logit(x) * scale + loc


def isf(x, loc=0, scale=1):
    """The inverse survival function."""
    x, loc, scale = args(x, loc, scale)
    return -special.logit(x) * scale + loc
