"""The Cauchy distribution, as `jax.scipy.stats.cauchy`.

>>> import numpy as np; from fnad.scipy.stats import cauchy
>>> cauchy.logpdf(np.array([0.0, 1.0]))
Array([-1.14472989, -1.83787707], dtype=float64)
>>> cauchy.cdf(np.array([0.0, 1.0]))
Array([0.5 , 0.75], dtype=float64)
"""

import numpy as np

from ... import numpy as fnp
from ._core import args


def logpdf(x, loc=0, scale=1):
    """log density at x."""
    x, loc, scale = args(x, loc, scale)
    z = (x - loc) / scale
    return -(fnp.log(np.pi * scale) + fnp.log1p(z * z))


def pdf(x, loc=0, scale=1):
    """density at x."""
    return fnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    """P(X <= x)."""
    x, loc, scale = args(x, loc, scale)
    return 0.5 + fnp.arctan((x - loc) / scale) / np.pi


def logcdf(x, loc=0, scale=1):
    """log P(X <= x)."""
    return fnp.log(cdf(x, loc, scale))


def sf(x, loc=0, scale=1):
    """P(X > x)."""
    x, loc, scale = args(x, loc, scale)
    return cdf(-x, -loc, scale)


def logsf(x, loc=0, scale=1):
    """log P(X > x)."""
    x, loc, scale = args(x, loc, scale)
    return logcdf(-x, -loc, scale)


def ppf(q, loc=0, scale=1):
    """The quantile."""
    q, loc, scale = args(q, loc, scale)
    return fnp.tan(np.pi * q - np.pi / 2) * scale + loc


def isf(q, loc=0, scale=1):
    """The inverse survival function."""
    q, loc, scale = args(q, loc, scale)
    return fnp.tan(np.pi / 2 - np.pi * q) * scale + loc
