"""The beta-binomial distribution, as `jax.scipy.stats.betabinom`.

>>> import numpy as np; from fnad.scipy.stats import betabinom
>>> betabinom.pmf(np.array([0.0, 1.0, 2.0]), 2.0, 1.0, 1.0)
Array([0.33333333, 0.33333333, 0.33333333], dtype=float64)
"""

import numpy as np

from ... import numpy as fnp
from .. import special
from ._core import args


def logpmf(k, n, a, b, loc=0):
    """log P(X = k) for n trials with a Beta(a, b) success probability."""
    k, n, a, b, loc = args(k, n, a, b, loc)
    y = fnp.floor(k) - loc
    support = (y >= -loc) & (y <= n) & (y + a > 0)
    ys = fnp.where(support, y, 0.0)
    combiln = -(fnp.log1p(n) + special.betaln(n - ys + 1, ys + 1))
    log_probs = combiln + special.betaln(ys + a, n - ys + b) - special.betaln(a, b)
    log_probs = fnp.where((y == 0) & (n == 0), 0.0, log_probs)
    log_probs = fnp.where(support, log_probs, -np.inf)
    return fnp.where((n < 0) | (a <= 0) | (b <= 0), np.nan, log_probs)


def pmf(k, n, a, b, loc=0):
    """P(X = k)."""
    return fnp.exp(logpmf(k, n, a, b, loc))
