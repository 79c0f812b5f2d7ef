"""The normal distribution truncated to [a, b] (in standard units), as `jax.scipy.stats.truncnorm`.

>>> import numpy as np; from fnad.scipy.stats import truncnorm
>>> truncnorm.logpdf(np.array([0.0, 2.0]), -1.0, 1.0)
Array([-0.53722339,        -inf], dtype=float64)
>>> truncnorm.cdf(np.array([0.0]), -1.0, 1.0)
Array([0.5], dtype=float64)
"""

import numpy as np

from ... import numpy as fnp
from .. import special
from . import norm
from ._core import args


def _log_diff(x, y):
    """log(exp(x) - exp(y)) for x >= y."""
    return x + fnp.log(-fnp.expm1(fnp.minimum(y - x, 0.0)))


def _log_gauss_mass(a, b):
    """log P(a <= Z <= b) for a standard normal Z, accurate in both tails."""
    a, b = fnp.broadcast_arrays(a, b)
    left, right = b <= 0, a > 0
    a_tail = fnp.where(right, -b, a)
    b_tail = fnp.where(right, -a, b)
    tail = _log_diff(special.log_ndtr(b_tail), special.log_ndtr(a_tail))
    central = fnp.log1p(-special.ndtr(a) - special.ndtr(-b))
    return fnp.where(left | right, tail, central)


def logpdf(x, a, b, loc=0, scale=1):
    """log density at x (-inf outside [a, b] in standard units; NaN for a >= b)."""
    x, a, b, loc, scale = args(x, a, b, loc, scale)
    val = norm.logpdf(x, loc, scale) - _log_gauss_mass(a, b)
    z = (x - loc) / scale
    val = fnp.where((z < a) | (z > b), -np.inf, val)
    return fnp.where(a >= b, np.nan, val)


def pdf(x, a, b, loc=0, scale=1):
    """density at x."""
    return fnp.exp(logpdf(x, a, b, loc, scale))


def logcdf(x, a, b, loc=0, scale=1):
    """log P(X <= x)."""
    x, a, b, loc, scale = args(x, a, b, loc, scale)
    z = (x - loc) / scale
    mass = _log_gauss_mass(a, b)
    inside = fnp.clip(z, a, b)
    lower = _log_gauss_mass(a, inside) - mass
    upper = _log_gauss_mass(inside, b) - mass
    value = fnp.where(lower > -0.1, fnp.log1p(-fnp.exp(upper)), lower)
    value = fnp.where(z >= b, 0.0, fnp.where(z <= a, -np.inf, value))
    return fnp.where(a >= b, np.nan, value)


def cdf(x, a, b, loc=0, scale=1):
    """P(X <= x)."""
    return fnp.exp(logcdf(x, a, b, loc, scale))


def logsf(x, a, b, loc=0, scale=1):
    """log P(X > x)."""
    x, a, b, loc, scale = args(x, a, b, loc, scale)
    return logcdf(-x, -b, -a, -loc, scale)


def sf(x, a, b, loc=0, scale=1):
    """P(X > x)."""
    return fnp.exp(logsf(x, a, b, loc, scale))
