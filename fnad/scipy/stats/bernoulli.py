"""The Bernoulli distribution, as `jax.scipy.stats.bernoulli`.

>>> import numpy as np; from fnad.scipy.stats import bernoulli
>>> bernoulli.pmf(np.array([0.0, 1.0, 2.0]), 0.25)
Array([0.75, 0.25, 0.  ], dtype=float64)
>>> bernoulli.ppf(np.array([0.5, 0.9]), 0.25)
Array([0., 1.], dtype=float64)
"""

import numpy as np

from ... import numpy as fnp
from .. import special
from ._core import args


def logpmf(k, p, loc=0):
    """log P(X = k)."""
    k, p, loc = args(k, p, loc)
    x = k - loc
    log_probs = special.xlogy(x, p) + special.xlog1py(1 - x, -p)
    return fnp.where((x < 0) | (x > 1), -np.inf, log_probs)


def pmf(k, p, loc=0):
    """P(X = k)."""
    return fnp.exp(logpmf(k, p, loc))


def cdf(k, p):
    """P(X <= k) (NaN for p outside [0, 1])."""
    k, p = args(k, p)
    bad = fnp.isnan(k) | fnp.isnan(p) | (p < 0) | (p > 1)
    return fnp.where(bad, np.nan, fnp.where(k < 0, 0.0, fnp.where(k < 1, 1 - p, 1.0)))


def ppf(q, p):
    """The quantile: 0 up to q = 1 - p, else 1."""
    q, p = args(q, p)
    bad = fnp.isnan(q) | fnp.isnan(p) | (p < 0) | (p > 1) | (q < 0) | (q > 1)
    return fnp.where(bad, np.nan, fnp.where(q <= 1 - p, 0.0, 1.0))
