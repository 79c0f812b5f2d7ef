"""The Laplace distribution, as `jax.scipy.stats.laplace`.

>>> import numpy as np; from fnad.scipy.stats import laplace
>>> laplace.logpdf(np.array([0.0, 1.0]))
Array([-0.69314718, -1.69314718], dtype=float64)
>>> laplace.cdf(np.array([0.0, 1.0]))
Array([0.5       , 0.81606028], dtype=float64)
"""

from ... import numpy as fnp
from ._core import args


def logpdf(x, loc=0, scale=1):
    """log density at x."""
    x, loc, scale = args(x, loc, scale)
    return -(fnp.abs(x - loc) / scale + fnp.log(2 * scale))


def pdf(x, loc=0, scale=1):
    """density at x."""
    return fnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    """P(X <= x)."""
    x, loc, scale = args(x, loc, scale)
    z = (x - loc) / scale
    return fnp.where(z <= 0, 0.5 * fnp.exp(fnp.minimum(z, 0)), 1 - 0.5 * fnp.exp(-fnp.maximum(z, 0)))
