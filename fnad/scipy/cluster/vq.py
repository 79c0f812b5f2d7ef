"""`fnad.scipy.cluster.vq`: assigning observations to their nearest code, as `jax.scipy.cluster.vq.vq`."""

from __future__ import annotations

from ... import numpy as fnp

__all__ = ["vq"]


def vq(obs, code_book, check_finite=True):
    """The index of the nearest (Euclidean) code in `code_book` for each observation in `obs`, and the
    distance to it, as scipy.cluster.vq.vq (jax.scipy.cluster.vq.vq): `obs` is (M, N) and `code_book`
    (K, N), or both one-dimensional for scalar observations. `check_finite` is accepted and ignored, as in
    JAX. Distances are differentiable; ties go to the first code.

    >>> import numpy as np; from fnad.scipy.cluster.vq import vq
    >>> codes, dist = vq(np.array([[1.0, 1.0], [4.0, 3.0]]), np.array([[0.0, 0.0], [4.0, 4.0]]))
    >>> codes, dist
    (Array([0, 1], dtype=int64), Array([1.41421356, 1.        ], dtype=float64))
    """
    del check_finite  # as in JAX: nothing is checked under tracing
    obs, code_book = fnp.asarray(obs), fnp.asarray(code_book)
    dtype = fnp.result_type(obs, code_book, 1.0)
    obs, code_book = obs.astype(dtype), code_book.astype(dtype)
    if obs.ndim != code_book.ndim:
        raise ValueError(
            f"vq: observation and code_book should have the same rank, got shapes {obs.shape} and {code_book.shape}"
        )
    if obs.ndim == 1:
        obs, code_book = obs[:, None], code_book[:, None]
    if obs.ndim != 2:
        raise ValueError(f"vq: ndim different than 1 or 2 are not supported, got shape {obs.shape}")
    if obs.shape[1] != code_book.shape[1]:
        raise ValueError(
            f"vq: observations and codes must have the same number of features, got {obs.shape} and {code_book.shape}"
        )
    dist = fnp.linalg.norm(obs[:, None, :] - code_book[None, :, :], axis=-1)
    code = fnp.argmin(dist, axis=-1)
    return code, fnp.take_along_axis(dist, code[:, None], axis=-1)[:, 0]
