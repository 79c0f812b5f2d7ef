"""The negative binomial distribution, as `jax.scipy.stats.nbinom`.

>>> import numpy as np; from fnad.scipy.stats import nbinom
>>> nbinom.pmf(np.array([0.0, 1.0]), 2.0, 0.5)
Array([0.25, 0.25], dtype=float64)
"""

import numpy as np

from ... import numpy as fnp
from .. import special
from ._core import args


def logpmf(k, n, p, loc=0):
    """log P(X = k): k failures before the n-th success of probability p."""
    k, n, p, loc = args(k, n, p, loc)
    y = k - loc
    comb = special.gammaln(y + n) - special.gammaln(n) - special.gammaln(y + 1)
    log_probs = comb + special.xlogy(n, p) + special.xlogy(y, 1 - p)
    return fnp.where(k < loc, -np.inf, log_probs)


def pmf(k, n, p, loc=0):
    """P(X = k)."""
    return fnp.exp(logpmf(k, n, p, loc))
