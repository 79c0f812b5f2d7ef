"""The binomial distribution, as `jax.scipy.stats.binom`.

>>> import numpy as np; from fnad.scipy.stats import binom
>>> binom.pmf(np.array([0.0, 1.0, 2.0, 3.0]), 2.0, 0.5)
Array([0.25, 0.5 , 0.25, 0.  ], dtype=float64)
"""

import numpy as np

from ... import numpy as fnp
from .. import special
from ._core import args


def logpmf(k, n, p, loc=0):
    """log P(X = k) for n trials of probability p."""
    k, n, p, loc = args(k, n, p, loc)
    y = k - loc
    comb = special.gammaln(n + 1) - (special.gammaln(y + 1) + special.gammaln(n - y + 1))
    log_linear = special.xlogy(y, p) + special.xlog1py(n - y, -p)
    log_probs = fnp.where(((y == 0) & (n == 0)) | (log_linear == 0), 0.0, comb + log_linear)
    return fnp.where((k >= loc) & (k < loc + n + 1), log_probs, -np.inf)


def pmf(k, n, p, loc=0):
    """P(X = k)."""
    return fnp.exp(logpmf(k, n, p, loc))
