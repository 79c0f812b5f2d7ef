"""The normal distribution, as `jax.scipy.stats.norm`.

>>> import numpy as np; from fnad.scipy.stats import norm
>>> norm.logpdf(np.array([0.0, 1.0]))
Array([-0.91893853, -1.41893853], dtype=float64)
>>> norm.cdf(np.array([0.0, 1.96]))
Array([0.5       , 0.9750021], dtype=float64)
>>> norm.ppf(np.array([0.5, 0.975]), loc=1.0, scale=2.0)
Array([1.        , 4.91992797], dtype=float64)
"""

import numpy as np

from ... import numpy as fnp
from .. import special
from ._core import args


def logpdf(x, loc=0, scale=1):
    """log density of N(loc, scale^2) at x."""
    x, loc, scale = args(x, loc, scale)
    return -0.5 * (fnp.log(2 * np.pi * scale * scale) + ((x - loc) / scale) ** 2)


def pdf(x, loc=0, scale=1):
    """density of N(loc, scale^2) at x."""
    return fnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    """P(X <= x)."""
    x, loc, scale = args(x, loc, scale)
    return special.ndtr((x - loc) / scale)


def logcdf(x, loc=0, scale=1):
    """log P(X <= x), accurate far into the lower tail."""
    x, loc, scale = args(x, loc, scale)
    return special.log_ndtr((x - loc) / scale)


def sf(x, loc=0, scale=1):
    """P(X > x)."""
    x, loc, scale = args(x, loc, scale)
    return cdf(-x, -loc, scale)


def logsf(x, loc=0, scale=1):
    """log P(X > x)."""
    x, loc, scale = args(x, loc, scale)
    return logcdf(-x, -loc, scale)


def ppf(q, loc=0, scale=1):
    """The quantile: x with P(X <= x) = q."""
    q, loc, scale = args(q, loc, scale)
    return special.ndtri(q) * scale + loc


def isf(q, loc=0, scale=1):
    """The inverse survival function: x with P(X > x) = q."""
    q, loc, scale = args(q, loc, scale)
    return ppf(1 - q, loc, scale)
