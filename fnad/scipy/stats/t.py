"""Student's t distribution, as `jax.scipy.stats.t`.

>>> import numpy as np; from fnad.scipy.stats import t
>>> t.logpdf(np.array([0.0, 1.0]), 3.0)
Array([-1.00088885, -1.57625299], dtype=float64)
"""

import numpy as np

from ... import numpy as fnp
from ...primitives.special import lgamma
from ._core import args


def logpdf(x, df, loc=0, scale=1):
    """log density at x with df degrees of freedom."""
    x, df, loc, scale = args(x, df, loc, scale)
    z = (x - loc) / scale
    half_df = df / 2
    normalize = lgamma(half_df) + fnp.log(scale * scale * np.pi * df) / 2 - lgamma(half_df + 0.5)
    return -(normalize + (half_df + 0.5) * fnp.log1p(z * z / df))


def pdf(x, df, loc=0, scale=1):
    """density at x."""
    return fnp.exp(logpdf(x, df, loc, scale))
