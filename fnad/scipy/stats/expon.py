"""The exponential distribution, as `jax.scipy.stats.expon`.

>>> import numpy as np; from fnad.scipy.stats import expon
>>> expon.logpdf(np.array([-1.0, 1.0]))
Array([-inf,  -1.], dtype=float64)
>>> expon.ppf(np.array([0.5]))
Array([0.69314718], dtype=float64)
"""

import numpy as np

from ... import numpy as fnp
from ._core import args


def logpdf(x, loc=0, scale=1):
    """log density at x (-inf below loc)."""
    x, loc, scale = args(x, loc, scale)
    return fnp.where(x < loc, -np.inf, -((x - loc) / scale + fnp.log(scale)))


def pdf(x, loc=0, scale=1):
    """density at x."""
    return fnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    """P(X <= x)."""
    x, loc, scale = args(x, loc, scale)
    return fnp.where(x < loc, 0.0, -fnp.expm1((loc - x) / scale))


def logsf(x, loc=0, scale=1):
    """log P(X > x)."""
    x, loc, scale = args(x, loc, scale)
    return fnp.where(x < loc, 0.0, (loc - x) / scale)


def sf(x, loc=0, scale=1):
    """P(X > x)."""
    return fnp.exp(logsf(x, loc, scale))


def logcdf(x, loc=0, scale=1):
    """log P(X <= x)."""
    return fnp.log1p(-sf(x, loc, scale))


def ppf(q, loc=0, scale=1):
    """The quantile (NaN outside [0, 1])."""
    q, loc, scale = args(q, loc, scale)
    return fnp.where(fnp.isnan(q) | (q < 0) | (q > 1), np.nan, loc - scale * fnp.log1p(-q))
