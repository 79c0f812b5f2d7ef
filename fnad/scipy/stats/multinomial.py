"""The multinomial distribution, as `jax.scipy.stats.multinomial` (x and n of an integer dtype).

>>> import numpy as np; from fnad.scipy.stats import multinomial
>>> multinomial.pmf(np.array([1, 1]), 2, np.array([0.5, 0.5]))
Array(0.5, dtype=float64)
"""

import numpy as np

from ... import numpy as fnp
from ...core import get_aval
from ...numpy._core import promoted_inexact
from .. import special


def logpmf(x, n, p):
    """log P(X = x) for n draws with category probabilities p (last axis)."""
    (p,) = promoted_inexact(p)
    dtype = get_aval(p).dtype
    for name, v in (("x", x), ("n", n)):
        vdtype = get_aval(v).dtype if not isinstance(v, int) else np.dtype(int)
        if not np.issubdtype(vdtype, np.integer):
            raise ValueError(f"multinomial.logpmf: x and n must be of integer type; got {name}.dtype={vdtype}")
    x = fnp.asarray(x).astype(dtype)
    n = fnp.asarray(n).astype(dtype)
    log_probs = special.gammaln(n + 1) + fnp.sum(special.xlogy(x, p) - special.gammaln(x + 1), axis=-1)
    return fnp.where(fnp.sum(x) == n, log_probs, -np.inf)


def pmf(x, n, p):
    """P(X = x)."""
    return fnp.exp(logpmf(x, n, p))
