"""fnad.lax.linalg: jax.lax.linalg's factorisations with JAX's signatures and defaults (full matrices,
right-side triangular solves, eigh returning (vectors, values)), over fnad.primitives.linalg.

Every function works eagerly, under grad/jvp/vmap and under jit (LAPACK through scipy-openblas32).
"""

from __future__ import annotations

import numpy as np

from ..core import get_aval
from ..primitives import elementwise as ew
from ..primitives import linalg as la
from ..primitives import shape as sh
from ..primitives.indexing import slice_in_dim
from ..primitives.reductions import reduce_sum

__all__ = [
    "cholesky",
    "eig",
    "eigh",
    "lu",
    "lu_pivots_to_permutation",
    "qr",
    "svd",
    "triangular_solve",
]


def _float(name, x):
    """x as an fnad value; integer matrices are refused as JAX refuses them."""
    dtype = get_aval(x).dtype
    if not np.issubdtype(dtype, np.inexact):
        raise TypeError(f"lax.linalg.{name}: expected a floating-point array, got dtype {dtype.name}")
    return x


def cholesky(x, *, symmetrize_input=True):
    """The lower Cholesky factor of symmetric positive-definite matrices (NaN where not positive definite).

    >>> import numpy as np
    >>> from fnad import lax
    >>> lax.linalg.cholesky(np.array([[4.0, 2.0], [2.0, 2.0]]))
    Array([[2., 0.],
           [1., 1.]], dtype=float64)
    """
    x = _float("cholesky", x)
    return la.cholesky(la.symmetrize(x) if symmetrize_input else x)


def triangular_solve(a, b, *, left_side=False, lower=False, transpose_a=False, conjugate_a=False, unit_diagonal=False):
    """x with op(a) x = b (left_side) or x op(a) = b, op(a) = a or a^T; reads only a's `lower` or upper triangle.
    JAX's defaults: right side, upper triangle. conjugate_a uses conj(a) (nothing for real matrices).

    >>> import numpy as np
    >>> from fnad import lax
    >>> lax.linalg.triangular_solve(np.array([[2.0, 1.0], [0.0, 4.0]]), np.array([[2.0, 5.0]]))
    Array([[1., 1.]], dtype=float64)
    """
    a, b = _float("triangular_solve", a), _float("triangular_solve", b)
    return la.triangular_solve(
        a,
        b,
        left_side=left_side,
        lower=lower,
        transpose_a=transpose_a,
        conjugate_a=conjugate_a,
        unit_diagonal=unit_diagonal,
    )


def qr(x, *, pivoting=False, full_matrices=True, use_magma=None):
    """(q, r) with x = q r; full q (..., m, m) by default, as JAX.

    >>> import numpy as np
    >>> from fnad import lax
    >>> q, r = lax.linalg.qr(np.array([[3.0], [4.0]]))
    >>> q.shape, np.round(np.abs(r), 12)
    ((2, 2), array([[5.],
           [0.]]))
    """
    if pivoting:
        raise NotImplementedError("lax.linalg.qr: pivoting=True (geqp3) is not supported")
    q, r = la.qr(_float("qr", x), full_matrices=full_matrices)
    return q, r


def svd(x, *, full_matrices=True, compute_uv=True, subset_by_index=None, algorithm=None):
    """(u, s, vh) with x = u diag(s) vh, s descending (s alone with compute_uv=False).

    >>> import numpy as np
    >>> from fnad import lax
    >>> lax.linalg.svd(np.array([[0.0, 2.0], [1.0, 0.0]]), compute_uv=False)
    Array([2., 1.], dtype=float64)
    """
    if subset_by_index is not None:
        raise NotImplementedError("lax.linalg.svd: subset_by_index is not supported (JAX supports it on TPU only)")
    out = la.svd(_float("svd", x), full_matrices=full_matrices, compute_uv=compute_uv)
    return (out[1], out[0], out[2]) if compute_uv else out[0]


def eigh(x, *, lower=True, symmetrize_input=True, sort_eigenvalues=True, subset_by_index=None, implementation=None):
    """(v, w): eigenvectors (columns) and ascending eigenvalues of symmetric matrices.

    >>> import numpy as np
    >>> from fnad import lax
    >>> v, w = lax.linalg.eigh(np.array([[2.0, 1.0], [1.0, 2.0]]))
    >>> w
    Array([1., 3.], dtype=float64)
    """
    if subset_by_index is not None:
        raise NotImplementedError("lax.linalg.eigh: subset_by_index is not supported")
    x = _float("eigh", x)
    v, w = la.eigh(la.symmetrize(x) if symmetrize_input else x, lower=lower)
    return v, w


def eig(
    x,
    *,
    compute_left_eigenvectors=True,
    compute_right_eigenvectors=True,
    enable_eigvec_derivs=False,
    implementation=None,
    use_magma=None,
):
    """[w, vl, vr] (those asked for): eigenvalues and left and right eigenvectors, complex, as JAX.

    >>> import numpy as np
    >>> from fnad import lax
    >>> w, vl, vr = lax.linalg.eig(np.array([[2.0, 0.0], [0.0, 1.0]]))
    >>> w
    Array([2.+0.j, 1.+0.j], dtype=complex128)
    """
    return la.eig(
        _float("eig", x),
        compute_left_eigenvectors=compute_left_eigenvectors,
        compute_right_eigenvectors=compute_right_eigenvectors,
        enable_eigvec_derivs=enable_eigvec_derivs,
    )


def lu(x):
    """(lu, pivots, permutation) of partially pivoted P x = L U (square matrices): L's strict lower
    triangle and U packed in lu, LAPACK's 0-based row swaps in pivots, x[permutation] = L U.

    >>> import numpy as np
    >>> from fnad import lax
    >>> lu, pivots, perm = lax.linalg.lu(np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> pivots, perm
    (Array([1, 1], dtype=int32), Array([1, 0], dtype=int32))
    """
    return tuple(la.lu(_float("lu", x)))


def lu_pivots_to_permutation(pivots, permutation_size):
    """The permutation that applying the row swaps `pivots` (..., k) in order makes of
    range(permutation_size).

    >>> import numpy as np
    >>> from fnad import lax
    >>> lax.linalg.lu_pivots_to_permutation(np.array([2, 2, 2], np.int32), 4)
    Array([2, 0, 1, 3], dtype=int32)
    """
    aval = get_aval(pivots)
    if not np.issubdtype(aval.dtype, np.integer) or aval.ndim < 1:
        raise TypeError(
            f"lax.linalg.lu_pivots_to_permutation: expected integer pivots (..., k), got {aval.str_short()}"
        )
    k, n = aval.shape[-1], int(permutation_size)
    if k > n:
        raise ValueError(f"lax.linalg.lu_pivots_to_permutation: {k} pivots for a permutation of size {n}")
    shape = aval.shape[:-1] + (n,)
    last = len(shape) - 1
    positions = sh.iota(np.int32, shape, last)
    perm = positions
    pivots = ew.convert_element_type(pivots, np.int32)
    for i in range(k):  # swap entries i and pivots[..., i]
        j = sh.broadcast_in_dim(
            sh.reshape(slice_in_dim(pivots, i, i + 1, axis=last), shape[:-1]), shape, tuple(range(last))
        )
        at_i = sh.broadcast_in_dim(
            sh.reshape(slice_in_dim(perm, i, i + 1, axis=last), shape[:-1]), shape, tuple(range(last))
        )
        at_j = _take_last(perm, j)
        perm = ew.select(ew.eq(positions, np.int32(i)), at_j, ew.select(ew.eq(positions, j), at_i, perm))
    return perm


def _take_last(x, index):
    """x[..., index[..., 0]] spread along the last axis (index is constant along it)."""
    shape = get_aval(x).shape
    last = len(shape) - 1
    onehot = ew.eq(sh.iota(np.int32, shape, last), index)
    picked = reduce_sum(ew.select(onehot, x, ew.scalar_like(x, 0)), (last,))
    return sh.broadcast_in_dim(picked, shape, tuple(range(last)))
