"""The chi-squared distribution, as `jax.scipy.stats.chi2`.

>>> import numpy as np; from fnad.scipy.stats import chi2
>>> chi2.logpdf(np.array([1.0]), 3.0)
Array([-1.41893853], dtype=float64)
>>> chi2.cdf(np.array([3.0]), 3.0)
Array([0.60837482], dtype=float64)
"""

import numpy as np

from ... import numpy as fnp
from ...primitives.special import lgamma
from .. import special
from ._core import args


def logpdf(x, df, loc=0, scale=1):
    """log density at x (-inf below loc)."""
    x, df, loc, scale = args(x, df, loc, scale)
    y = (x - loc) / scale
    half = df / 2
    kernel = (half - 1) * fnp.log(y) - y / 2
    constant = -(lgamma(half) + np.log(2) * df / 2)
    return fnp.where(x < loc, -np.inf, constant - fnp.log(scale) + kernel)


def pdf(x, df, loc=0, scale=1):
    """density at x."""
    return fnp.exp(logpdf(x, df, loc, scale))


def cdf(x, df, loc=0, scale=1):
    """P(X <= x)."""
    x, df, loc, scale = args(x, df, loc, scale)
    return special.gammainc(df / 2, fnp.clip((x - loc) / (scale * 2), 0, np.inf))


def logcdf(x, df, loc=0, scale=1):
    """log P(X <= x)."""
    return fnp.log(cdf(x, df, loc, scale))


def sf(x, df, loc=0, scale=1):
    """P(X > x)."""
    x, df, loc, scale = args(x, df, loc, scale)
    return special.gammaincc(df / 2, fnp.clip((x - loc) / (scale * 2), 0, np.inf))


def logsf(x, df, loc=0, scale=1):
    """log P(X > x)."""
    return fnp.log(sf(x, df, loc, scale))
