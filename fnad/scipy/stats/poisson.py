"""The Poisson distribution, as `jax.scipy.stats.poisson`.

>>> import numpy as np; from fnad.scipy.stats import poisson
>>> poisson.logpmf(np.array([0.0, 2.0, 1.5]), 2.0)
Array([-2.        , -1.30685282,        -inf], dtype=float64)
>>> poisson.cdf(np.array([2.0]), 2.0)
Array([0.67667642], dtype=float64)
"""

import numpy as np

from ... import numpy as fnp
from .. import special
from ._core import args


def logpmf(k, mu, loc=0):
    """log P(X = k) (-inf off the non-negative integers)."""
    k, mu, loc = args(k, mu, loc)
    x = k - loc
    log_probs = special.xlogy(x, mu) - special.gammaln(x + 1) - mu
    return fnp.where((x < 0) | (fnp.round(k) != k), -np.inf, log_probs)


def pmf(k, mu, loc=0):
    """P(X = k)."""
    return fnp.exp(logpmf(k, mu, loc))


def cdf(k, mu, loc=0):
    """P(X <= k)."""
    k, mu, loc = args(k, mu, loc)
    x = k - loc
    return fnp.where(x < 0, 0.0, special.gammaincc(fnp.floor(1 + fnp.maximum(x, 0)), mu))
