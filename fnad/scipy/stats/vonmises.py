"""The von Mises distribution, as `jax.scipy.stats.vonmises`.

>>> import numpy as np; from fnad.scipy.stats import vonmises
>>> vonmises.logpdf(np.array([0.0, 1.0]), 2.0)
Array([-0.66187061, -1.581266  ], dtype=float64)
"""

import numpy as np

from ... import numpy as fnp
from ...primitives.special import bessel_i0e
from ._core import args


def logpdf(x, kappa):
    """log density at x (NaN for kappa <= 0)."""
    x, kappa = args(x, kappa)
    safe = fnp.where(kappa > 0, kappa, 1.0)
    return fnp.where(kappa > 0, safe * (fnp.cos(x) - 1) - fnp.log(2 * np.pi * bessel_i0e(safe)), np.nan)


def pdf(x, kappa):
    """density at x."""
    return fnp.exp(logpdf(x, kappa))
