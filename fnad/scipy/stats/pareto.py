"""The Pareto distribution, as `jax.scipy.stats.pareto`.

>>> import numpy as np; from fnad.scipy.stats import pareto
>>> pareto.logpdf(np.array([0.5, 2.0]), 3.0)
Array([       -inf, -1.67397643], dtype=float64)
>>> pareto.cdf(np.array([2.0]), 3.0)
Array([0.875], dtype=float64)
"""

import numpy as np

from ... import numpy as fnp
from ._core import args


def logpdf(x, b, loc=0, scale=1):
    """log density at x (-inf below loc + scale)."""
    x, b, loc, scale = args(x, b, loc, scale)
    z = fnp.where(x < loc + scale, 1.0, (x - loc) / scale)  # 1 below the support: no NaN on the unused side
    return fnp.where(x < loc + scale, -np.inf, -(fnp.log(scale / b) + (b + 1) * fnp.log(z)))


def pdf(x, b, loc=0, scale=1):
    """density at x."""
    return fnp.exp(logpdf(x, b, loc, scale))


def cdf(x, b, loc=0, scale=1):
    """P(X <= x)."""
    x, b, loc, scale = args(x, b, loc, scale)
    z = fnp.where(x < loc + scale, 1.0, (x - loc) / scale)  # 1 below the support: no NaN on the unused side
    return fnp.where(x < loc + scale, 0.0, 1 - fnp.power(z, -b))


def logcdf(x, b, loc=0, scale=1):
    """log P(X <= x)."""
    x, b, loc, scale = args(x, b, loc, scale)
    z = fnp.where(x < loc + scale, 1.0, (x - loc) / scale)  # 1 below the support: no NaN on the unused side
    return fnp.where(x < loc + scale, -np.inf, fnp.log1p(-fnp.power(z, -b)))


def logsf(x, b, loc=0, scale=1):
    """log P(X > x)."""
    x, b, loc, scale = args(x, b, loc, scale)
    z = fnp.where(x < loc + scale, 1.0, (x - loc) / scale)  # 1 below the support: no NaN on the unused side
    return fnp.where(x < loc + scale, 0.0, -b * fnp.log(z))


def sf(x, b, loc=0, scale=1):
    """P(X > x)."""
    return fnp.exp(logsf(x, b, loc, scale))


def ppf(q, b, loc=0, scale=1):
    """The quantile (NaN outside [0, 1])."""
    q, b, loc, scale = args(q, b, loc, scale)
    return fnp.where(fnp.isnan(q) | (q < 0) | (q > 1), np.nan, loc + scale * fnp.power(1 - q, -1 / b))
