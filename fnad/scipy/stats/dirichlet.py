"""The Dirichlet distribution, as `jax.scipy.stats.dirichlet` (x's first axis runs over the categories).

>>> import numpy as np; from fnad.scipy.stats import dirichlet
>>> dirichlet.logpdf(np.array([0.2, 0.3, 0.5]), np.array([1.0, 2.0, 3.0]))
Array(1.5040774, dtype=float64)
"""

import numpy as np

from ... import numpy as fnp
from ...core import get_aval
from ...numpy._core import promoted_inexact
from .. import special


def logpdf(x, alpha):
    """log density at x (-inf off the simplex); x may leave out the last coordinate."""
    x, alpha = promoted_inexact(x, alpha)
    xs, alphas = get_aval(x).shape, get_aval(alpha).shape
    if len(alphas) != 1:
        raise ValueError(f"dirichlet.logpdf: `alpha` must be one-dimensional; got alpha.shape={alphas}")
    if not xs or xs[0] not in (alphas[0], alphas[0] - 1):
        raise ValueError(
            "dirichlet.logpdf: `x` must have either the same number of entries as `alpha` or one entry fewer; "
            f"got x.shape={xs}, alpha.shape={alphas}"
        )
    if xs[0] != alphas[0]:
        x = fnp.concatenate([x, 1 - fnp.sum(x, axis=0, keepdims=True)], axis=0)
    normalize = fnp.sum(special.gammaln(alpha)) - special.gammaln(fnp.sum(alpha))
    a = fnp.reshape(alpha, alphas + (1,) * (len(xs) - 1))
    log_probs = fnp.sum(special.xlogy(a - 1, x), axis=0) - normalize
    simplex = fnp.all(x > 0, axis=0) & (fnp.abs(fnp.sum(x, axis=0) - 1) < 1e-6)
    return fnp.where(simplex, log_probs, -np.inf)


def pdf(x, alpha):
    """density at x."""
    return fnp.exp(logpdf(x, alpha))
