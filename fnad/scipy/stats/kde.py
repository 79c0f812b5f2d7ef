"""Gaussian kernel density estimation, as `jax.scipy.stats.gaussian_kde`: an immutable pytree (so it passes
through `jit` and `vmap`, and is differentiable in its data) built from fnad.numpy, fnad.scipy.linalg and
fnad.random.

>>> import numpy as np; from fnad.scipy import stats
>>> kde = stats.gaussian_kde(np.array([0.0, 1.0, 3.0]))
>>> kde.evaluate(np.array([0.0, 1.0]))
Array([0.19165564, 0.21489537], dtype=float64)
"""

from __future__ import annotations

import functools

import numpy as np

from ... import numpy as fnp
from ... import random
from ...api import vmap
from ...core import get_aval
from ...numpy._core import promoted_inexact
from ...tree_util import register_pytree_node_class
from .. import linalg, special


def _real(name, x):
    x = fnp.asarray(x)
    if np.issubdtype(get_aval(x).dtype, np.complexfloating):
        raise NotImplementedError(f"gaussian_kde does not support complex {name} (as in JAX)")
    return x


@register_pytree_node_class
class gaussian_kde:
    """A Gaussian kernel density estimate of `dataset` (shape (n,) or (d, n)), with bandwidth `bw_method`
    ('scott' (default), 'silverman', a scalar factor or a callable of the estimator) and optional
    `weights`, as `jax.scipy.stats.gaussian_kde`.

    >>> import numpy as np; from fnad.scipy import stats
    >>> kde = stats.gaussian_kde(np.array([[0.0, 1.0, 3.0, 4.0], [1.0, 0.0, 2.0, 5.0]]))
    >>> kde.d, kde.n
    (2, 4)
    >>> kde.logpdf(np.array([[1.0], [1.0]]))
    Array([-3.27409278], dtype=float64)
    >>> float(stats.gaussian_kde(np.array([0.0, 1.0, 3.0])).integrate_box_1d(-np.inf, np.inf))
    1.0
    """

    __slots__ = ("covariance", "dataset", "inv_cov", "neff", "weights")

    def __init__(self, dataset, bw_method=None, weights=None):
        dataset = fnp.atleast_2d(_real("data", dataset))
        if not dataset.size > 1:
            raise ValueError("gaussian_kde: `dataset` input should have multiple elements")
        d, n = dataset.shape
        if weights is not None:
            dataset, weights = promoted_inexact(dataset, weights)
            weights = fnp.atleast_1d(weights)
            if weights.ndim != 1:
                raise ValueError("gaussian_kde: `weights` input should be one-dimensional")
            if weights.shape[0] != n:
                raise ValueError(f"gaussian_kde: `weights` input should be of length n = {n}, got {weights.shape[0]}")
            weights = weights / fnp.sum(weights)
        else:
            (dataset,) = promoted_inexact(dataset)
            weights = fnp.full(n, 1.0 / n, dtype=get_aval(dataset).dtype)
        self._set("dataset", dataset)
        self._set("weights", weights)
        neff = self._set("neff", 1 / fnp.sum(weights**2))
        bw_method = "scott" if bw_method is None else bw_method
        if isinstance(bw_method, str) and bw_method == "scott":
            factor = fnp.power(neff, -1.0 / (d + 4))
        elif isinstance(bw_method, str) and bw_method == "silverman":
            factor = fnp.power(neff * (d + 2) / 4.0, -1.0 / (d + 4))
        elif fnp.isscalar(bw_method) and not isinstance(bw_method, str):
            factor = bw_method
        elif callable(bw_method):
            factor = bw_method(self)
        else:
            raise ValueError(
                f"gaussian_kde: `bw_method` should be 'scott', 'silverman', a scalar, or a callable, got {bw_method!r}"
            )
        data_covariance = fnp.atleast_2d(fnp.cov(dataset, rowvar=True, bias=False, aweights=weights))
        self._set("covariance", data_covariance * factor**2)
        self._set("inv_cov", fnp.linalg.inv(data_covariance) / factor**2)

    def _set(self, name, value):
        object.__setattr__(self, name, value)
        return value

    def __setattr__(self, name, value):
        raise AttributeError(f"gaussian_kde is immutable (cannot set {name!r})")

    def tree_flatten(self):
        return (self.neff, self.dataset, self.weights, self.covariance, self.inv_cov), None

    @classmethod
    def tree_unflatten(cls, aux_data, children):
        kde = cls.__new__(cls)
        for name, value in zip(("neff", "dataset", "weights", "covariance", "inv_cov"), children):
            kde._set(name, value)
        return kde

    @property
    def d(self):
        """The number of dimensions."""
        return self.dataset.shape[0]

    @property
    def n(self):
        """The number of data points."""
        return self.dataset.shape[1]

    def evaluate(self, points):
        """The estimated density at `points` (shape (d, m), or (m,) when d = 1)."""
        return self._kernel_sum(self._reshape_points(points), log=False)

    __call__ = evaluate
    pdf = evaluate

    def logpdf(self, x):
        """The log of the estimated density at `x`, by logsumexp (accurate far from the data)."""
        return self._kernel_sum(self._reshape_points(x), log=True)

    def integrate_gaussian(self, mean, cov):
        """The integral of the estimate times the normal density N(mean, cov)."""
        mean = fnp.atleast_1d(fnp.squeeze(fnp.asarray(mean)))
        cov = fnp.atleast_2d(cov)
        if mean.shape != (self.d,):
            raise ValueError(f"gaussian_kde.integrate_gaussian: mean does not have dimension {self.d}")
        if cov.shape != (self.d, self.d):
            raise ValueError(f"gaussian_kde.integrate_gaussian: covariance does not have dimension {self.d}")
        chol = linalg.cho_factor(self.covariance + cov)
        norm = 1.0 / (np.sqrt(2 * np.pi) ** self.d * fnp.prod(fnp.diag(chol[0])))
        return _kernel_convolve(chol, norm, self.dataset, self.weights, mean)

    def integrate_box_1d(self, low, high):
        """The integral of a one-dimensional estimate from `low` to `high` (scalars)."""
        if self.d != 1:
            raise ValueError("gaussian_kde.integrate_box_1d only handles 1D pdfs")
        if np.ndim(low) != 0 or np.ndim(high) != 0:
            raise ValueError("gaussian_kde.integrate_box_1d: the limits of integration must be scalars")
        sigma = fnp.squeeze(fnp.sqrt(self.covariance))
        low = fnp.squeeze((low - self.dataset) / sigma)
        high = fnp.squeeze((high - self.dataset) / sigma)
        return fnp.sum(self.weights * (special.ndtr(high) - special.ndtr(low)))

    def integrate_kde(self, other):
        """The integral of the product of this estimate and `other`."""
        if other.d != self.d:
            raise ValueError(f"gaussian_kde.integrate_kde: the KDEs have dimensions {self.d} and {other.d}")
        chol = linalg.cho_factor(self.covariance + other.covariance)
        norm = 1.0 / (np.sqrt(2 * np.pi) ** self.d * fnp.prod(fnp.diag(chol[0])))
        small, large = (self, other) if self.n < other.n else (other, self)
        convolve = vmap(functools.partial(_kernel_convolve, chol, norm, large.dataset, large.weights), in_axes=1)
        return fnp.sum(convolve(small.dataset) * small.weights)

    def resample(self, key, shape=()):
        """`shape` samples from the estimate (data points drawn by weight, plus normal noise), shape (d, *shape)."""
        index_key, noise_key = random.split(key)
        index = random.choice(index_key, self.n, shape=shape, p=self.weights)
        mean = fnp.zeros(self.d, get_aval(self.covariance).dtype)
        noise = random.multivariate_normal(noise_key, mean, self.covariance, shape=shape)
        return self.dataset[:, index] + fnp.moveaxis(noise, -1, 0)

    def integrate_box(self, low_bounds, high_bounds, maxpts=None):
        """Not supported (as in JAX): use `integrate_box_1d`."""
        raise NotImplementedError("gaussian_kde: only 1D box integrations are supported; use `integrate_box_1d`")

    def set_bandwidth(self, bw_method=None):
        """Not supported (as in JAX): the estimator is immutable; build a new one."""
        raise NotImplementedError("gaussian_kde: dynamically changing the bandwidth method is not supported")

    def _reshape_points(self, points):
        points = fnp.atleast_2d(_real("coordinates", points))
        d, m = points.shape
        if d != self.d:
            if d == 1 and m == self.d:
                return fnp.reshape(points, (self.d, 1))
            raise ValueError(f"gaussian_kde: points have dimension {d}, dataset has dimension {self.d}")
        return points

    def _kernel_sum(self, points, log):
        """sum_i w_i N(x; data_i, covariance) at each point (its log by logsumexp), in whitened coordinates."""
        data, x, weights, precision = promoted_inexact(self.dataset.T, points.T, self.weights, self.inv_cov)
        whitening = linalg.cholesky(precision, lower=True)
        data, x = fnp.dot(data, whitening), fnp.dot(x, whitening)
        log_norm = fnp.sum(fnp.log(fnp.diag(whitening))) - 0.5 * self.d * np.log(2 * np.pi)
        exponent = log_norm - 0.5 * fnp.sum((x[:, None, :] - data[None, :, :]) ** 2, axis=-1)
        if log:
            return special.logsumexp(exponent + fnp.log(weights), axis=1)
        return fnp.sum(weights * fnp.exp(exponent), axis=1)


def _kernel_convolve(chol, norm, target, weights, mean):
    diff = target - mean[:, None]
    alpha = linalg.cho_solve(chol, diff)
    return norm * fnp.sum(fnp.exp(-0.5 * fnp.sum(diff * alpha, axis=0)) * weights)
