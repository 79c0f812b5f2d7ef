"""The wrapped Cauchy distribution on [0, 2 pi], as `jax.scipy.stats.wrapcauchy`.

>>> import numpy as np; from fnad.scipy.stats import wrapcauchy
>>> wrapcauchy.logpdf(np.array([0.0, 3.0]), 0.5)
Array([-0.73926478, -2.93203165], dtype=float64)
"""

import numpy as np

from ... import numpy as fnp
from ._core import args


def logpdf(x, c):
    """log density at x (-inf outside [0, 2 pi]; NaN unless 0 < c < 1)."""
    x, c = args(x, c)
    value = fnp.log(1 - c * c) - np.log(2 * np.pi) - fnp.log(1 + c * c - 2 * c * fnp.cos(x))
    value = fnp.where((x >= 0) & (x <= 2 * np.pi), value, -np.inf)
    return fnp.where((c > 0) & (c < 1), value, np.nan)


def pdf(x, c):
    """density at x."""
    return fnp.exp(logpdf(x, c))
