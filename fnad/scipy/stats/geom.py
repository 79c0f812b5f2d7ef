"""The geometric distribution (support 1, 2, ...), as `jax.scipy.stats.geom`.

>>> import numpy as np; from fnad.scipy.stats import geom
>>> geom.pmf(np.array([0.0, 1.0, 2.0]), 0.5)
Array([0.  , 0.5 , 0.25], dtype=float64)
"""

import numpy as np

from ... import numpy as fnp
from .. import special
from ._core import args


def logpmf(k, p, loc=0):
    """log P(X = k)."""
    k, p, loc = args(k, p, loc)
    x = k - loc
    return fnp.where(x <= 0, -np.inf, special.xlog1py(x - 1, -p) + fnp.log(p))


def pmf(k, p, loc=0):
    """P(X = k)."""
    return fnp.exp(logpmf(k, p, loc))
