"""The uniform distribution on [loc, loc + scale], as `jax.scipy.stats.uniform`.

>>> import numpy as np; from fnad.scipy.stats import uniform
>>> uniform.logpdf(np.array([0.5, 2.0]), 0.0, 2.0)
Array([-0.69314718, -0.69314718], dtype=float64)
>>> uniform.cdf(np.array([-1.0, 0.25, 3.0]))
Array([0.  , 0.25, 1.  ], dtype=float64)
"""

import numpy as np

from ... import numpy as fnp
from ._core import args


def logpdf(x, loc=0, scale=1):
    """log density at x (-inf outside the support)."""
    x, loc, scale = args(x, loc, scale)
    return fnp.where((x > loc + scale) | (x < loc), -np.inf, -fnp.log(scale))


def pdf(x, loc=0, scale=1):
    """density at x."""
    return fnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    """P(X <= x)."""
    x, loc, scale = args(x, loc, scale)
    inside = fnp.where((x >= loc) & (x <= loc + scale), (x - loc) / scale, 0.0)  # 0 for NaN, as JAX
    return fnp.where(x < loc, 0.0, fnp.where(x > loc + scale, 1.0, inside))


def ppf(q, loc=0, scale=1):
    """The quantile (NaN outside [0, 1])."""
    q, loc, scale = args(q, loc, scale)
    return fnp.where(fnp.isnan(q) | (q < 0) | (q > 1), np.nan, loc + scale * q)
