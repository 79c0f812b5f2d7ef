"""The multivariate normal distribution, as `jax.scipy.stats.multivariate_normal` (x's last axis is the
vector; mean of shape (n,) or a scalar; cov a scalar, or one (n, n) matrix).

>>> import numpy as np; from fnad.scipy.stats import multivariate_normal
>>> multivariate_normal.logpdf(np.array([0.0, 1.0]), np.zeros(2), np.eye(2))
Array(-2.33787707, dtype=float64)
"""

import numpy as np

from ... import numpy as fnp
from ...core import get_aval
from ...numpy._core import promoted_inexact
from ...primitives.linalg import cholesky, triangular_solve


def logpdf(x, mean, cov, allow_singular=None):
    """log density at x."""
    if allow_singular is not None:
        raise NotImplementedError("allow_singular argument of multivariate_normal.logpdf (as in JAX)")
    x, mean, cov = promoted_inexact(x, mean, cov)
    mshape, cshape = get_aval(mean).shape, get_aval(cov).shape
    if not mshape:
        return -0.5 * (x - mean) ** 2 / cov - 0.5 * (np.log(2 * np.pi) + fnp.log(cov))
    n = mshape[-1]
    y = x - mean
    if not cshape:
        return -0.5 * fnp.sum(y * y, axis=-1) / cov - n / 2 * (np.log(2 * np.pi) + fnp.log(cov))
    if cshape != (n, n):
        raise ValueError(
            f"multivariate_normal.logpdf got incompatible shapes: mean {mshape}, cov {cshape} "
            "(one (n, n) covariance matrix; stacked covariances are not supported, vmap over them instead)"
        )
    lower = cholesky(cov)
    batch = get_aval(y).shape[:-1]
    columns = fnp.reshape(y, (-1, n)).T
    z = triangular_solve(lower, columns, left_side=True, lower=True)
    quad = fnp.reshape(fnp.sum(z * z, axis=0), batch)
    return -0.5 * quad - n / 2 * np.log(2 * np.pi) - fnp.sum(fnp.log(fnp.diagonal(lower)))


def pdf(x, mean, cov):
    """density at x."""
    return fnp.exp(logpdf(x, mean, cov))
