"""The beta distribution, as `jax.scipy.stats.beta`.

>>> import numpy as np; from fnad.scipy.stats import beta
>>> beta.logpdf(np.array([0.5, 2.0]), 2.0, 3.0)
Array([0.40546511,       -inf], dtype=float64)
>>> beta.cdf(np.array([0.5]), 2.0, 3.0)
Array([0.6875], dtype=float64)
"""

import numpy as np

from ... import numpy as fnp
from .. import special
from ._core import args


def logpdf(x, a, b, loc=0, scale=1):
    """log density at x (-inf outside [loc, loc + scale]; NaN for nonpositive a, b or scale)."""
    x, a, b, loc, scale = args(x, a, b, loc, scale)
    outside = (x > loc + scale) | (x < loc)
    y = fnp.where(outside, 0.5, (x - loc) / scale)
    log_linear = special.xlogy(a - 1, y) + special.xlog1py(b - 1, -y)
    log_probs = log_linear - special.betaln(a, b) - fnp.log(scale)
    out = fnp.where(outside, -np.inf, log_probs)
    return fnp.where((a <= 0) | (b <= 0) | (scale <= 0), np.nan, out)


def pdf(x, a, b, loc=0, scale=1):
    """density at x."""
    return fnp.exp(logpdf(x, a, b, loc, scale))


def cdf(x, a, b, loc=0, scale=1):
    """P(X <= x)."""
    x, a, b, loc, scale = args(x, a, b, loc, scale)
    return special.betainc(a, b, fnp.clip((x - loc) / scale, 0, 1))


def logcdf(x, a, b, loc=0, scale=1):
    """log P(X <= x)."""
    return fnp.log(cdf(x, a, b, loc, scale))


def sf(x, a, b, loc=0, scale=1):
    """P(X > x)."""
    x, a, b, loc, scale = args(x, a, b, loc, scale)
    return special.betainc(b, a, 1 - fnp.clip((x - loc) / scale, 0, 1))


def logsf(x, a, b, loc=0, scale=1):
    """log P(X > x)."""
    return fnp.log(sf(x, a, b, loc, scale))
