"""The gamma distribution with shape a, as `jax.scipy.stats.gamma`.

>>> import numpy as np; from fnad.scipy.stats import gamma
>>> gamma.logpdf(np.array([1.0, -1.0]), 2.0)
Array([ -1., -inf], dtype=float64)
>>> gamma.cdf(np.array([1.0, 2.0]), 2.0)
Array([0.26424112, 0.59399415], dtype=float64)
"""

import numpy as np

from ... import numpy as fnp
from .. import special
from ._core import args


def logpdf(x, a, loc=0, scale=1):
    """log density at x (-inf below loc)."""
    x, a, loc, scale = args(x, a, loc, scale)
    ok = x >= loc
    y = fnp.where(ok, (x - loc) / scale, 1.0)
    log_probs = special.xlogy(a - 1, y) - y - (special.gammaln(a) + fnp.log(scale))
    return fnp.where(ok, log_probs, -np.inf)


def pdf(x, a, loc=0, scale=1):
    """density at x."""
    return fnp.exp(logpdf(x, a, loc, scale))


def cdf(x, a, loc=0, scale=1):
    """P(X <= x)."""
    x, a, loc, scale = args(x, a, loc, scale)
    return special.gammainc(a, fnp.clip((x - loc) / scale, 0, np.inf))


def logcdf(x, a, loc=0, scale=1):
    """log P(X <= x)."""
    return fnp.log(cdf(x, a, loc, scale))


def sf(x, a, loc=0, scale=1):
    """P(X > x)."""
    x, a, loc, scale = args(x, a, loc, scale)
    y = (x - loc) / scale
    return fnp.where(y < 0, 1.0, special.gammaincc(a, fnp.maximum(y, 0)))


def logsf(x, a, loc=0, scale=1):
    """log P(X > x)."""
    return fnp.log(sf(x, a, loc, scale))
