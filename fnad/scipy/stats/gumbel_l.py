"""The left-skewed Gumbel distribution, as `jax.scipy.stats.gumbel_l`.

>>> import numpy as np; from fnad.scipy.stats import gumbel_l
>>> gumbel_l.logpdf(np.array([0.0, -1.0]))
Array([-1.        , -1.36787944], dtype=float64)
>>> gumbel_l.cdf(np.array([0.0]))
Array([0.63212056], dtype=float64)
"""

import numpy as np

from ... import numpy as fnp
from ._core import args


def logpdf(x, loc=0, scale=1):
    """log density at x (NaN for scale <= 0)."""
    x, loc, scale = args(x, loc, scale)
    z = (x - loc) / scale
    return fnp.where(scale > 0, -fnp.log(scale) + z - fnp.exp(z), np.nan)


def pdf(x, loc=0, scale=1):
    """density at x."""
    return fnp.exp(logpdf(x, loc, scale))


def logcdf(x, loc=0, scale=1):
    """log P(X <= x)."""
    x, loc, scale = args(x, loc, scale)
    return fnp.where(scale > 0, fnp.log(-fnp.expm1(-fnp.exp((x - loc) / scale))), np.nan)


def cdf(x, loc=0, scale=1):
    """P(X <= x)."""
    return fnp.exp(logcdf(x, loc, scale))


def logsf(x, loc=0, scale=1):
    """log P(X > x)."""
    x, loc, scale = args(x, loc, scale)
    return fnp.where(scale > 0, -fnp.exp((x - loc) / scale), np.nan)


def sf(x, loc=0, scale=1):
    """P(X > x)."""
    return fnp.exp(logsf(x, loc, scale))


def ppf(p, loc=0, scale=1):
    """The quantile (NaN outside (0, 1))."""
    p, loc, scale = args(p, loc, scale)
    ok = (p > 0) & (p < 1)
    return fnp.where(ok, loc + scale * fnp.log(-fnp.log1p(-fnp.where(ok, p, 0.5))), np.nan)
