"""fnad.scipy.linalg: jax.scipy.linalg's functions (SciPy's names and argument conventions) over
fnad.numpy.linalg and fnad.lax.linalg, so each is differentiable, batchable and compiled.

As in JAX: cho_factor returns the factor with zeros in its other triangle (SciPy leaves the input's
entries there), solve with assume_a='pos' solves through the Cholesky factor and any other assume_a
through LU, and expm is Higham's Pade scaling and squaring (the order and the number of squarings
chosen from the 1-norm at run time), differentiated through its operations.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .. import lax
from .. import numpy as fnp
from ..api import jvp, vmap
from ..core import get_aval
from ..numpy import linalg as _nla
from ..numpy._core import asarray_traced
from ..primitives import elementwise as ew
from ..primitives import linalg as la
from ..primitives.shape import broadcast_to_rank_shape

__all__ = [
    "block_diag",
    "cho_factor",
    "cho_solve",
    "cholesky",
    "det",
    "eigh",
    "expm",
    "expm_frechet",
    "inv",
    "lu",
    "lu_factor",
    "lu_solve",
    "qr",
    "solve",
    "solve_triangular",
    "sqrtm",
    "svd",
]


def _inexact(*arrays):
    """fnad values promoted to their common floating dtype (float64 for integers), as JAX's
    promote_dtypes_inexact."""
    arrays = [asarray_traced(a) for a in arrays]
    dtype = np.result_type(*[get_aval(a).dtype for a in arrays])
    if not np.issubdtype(dtype, np.inexact):
        dtype = np.dtype(np.float64)
    return [a if get_aval(a).dtype == dtype else ew.convert_element_type(a, dtype) for a in arrays]


def _square(name, a):
    shape = get_aval(a).shape
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(f"scipy.linalg.{name}: expected a square matrix or a stack of them, got shape {shape}")
    return a


def cholesky(a, lower=False, overwrite_a=False, check_finite=True):
    """The Cholesky factor, upper (a = U^T U) by default as SciPy, lower with lower=True.

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> linalg.cholesky(np.array([[4.0, 2.0], [2.0, 2.0]]))
    Array([[2., 1.],
           [0., 1.]], dtype=float64)
    """
    (a,) = _inexact(a)
    l = la.cholesky(la.symmetrize(_square("cholesky", a)))
    return l if lower else la.adjoint(l)


def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    """(c, lower) for cho_solve: the Cholesky factor (zeros in its other triangle, as JAX).

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> c, lower = linalg.cho_factor(np.array([[4.0, 2.0], [2.0, 2.0]]))
    >>> linalg.cho_solve((c, lower), np.array([2.0, 1.0]))
    Array([0.5, 0. ], dtype=float64)
    """
    return cholesky(a, lower=lower), lower


def _rhs_matrix(name, a, b):
    """b as a stack of matrices (..., m, k) broadcast with a's leading axes; and whether it was a vector."""
    m = get_aval(a).shape[-1]
    bshape = get_aval(b).shape
    vector = len(bshape) == get_aval(a).ndim - 1 or len(bshape) == 1
    if vector:
        b = lax.expand_dims(b, (len(bshape),))
    bshape = get_aval(b).shape
    if bshape[-2] != m:
        raise ValueError(
            f"scipy.linalg.{name}: b of shape {get_aval(b).shape[:-1] if vector else bshape} does not match a matrix "
            f"of size {m}"
        )
    batch = np.broadcast_shapes(get_aval(a).shape[:-2], bshape[:-2])
    a = broadcast_to_rank_shape(a, batch + get_aval(a).shape[-2:])
    b = broadcast_to_rank_shape(b, batch + bshape[-2:])
    return a, b, vector


def _undo_vector(x, vector):
    return lax.squeeze(x, (get_aval(x).ndim - 1,)) if vector else x


def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    """x with a x = b from cho_factor(a).

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> linalg.cho_solve(linalg.cho_factor(np.diag([2.0, 4.0])), np.array([[2.0], [2.0]]))
    Array([[1. ],
           [0.5]], dtype=float64)
    """
    c, lower = c_and_lower
    c, b = _inexact(c, b)
    c, b, vector = _rhs_matrix("cho_solve", _square("cho_solve", c), b)
    # a = L L^H (lower) or U^H U: two triangular solves with the one factor
    y = la.triangular_solve(c, b, left_side=True, lower=lower, transpose_a=not lower, conjugate_a=not lower)
    x = la.triangular_solve(c, y, left_side=True, lower=lower, transpose_a=lower, conjugate_a=lower)
    return _undo_vector(x, vector)


def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False, debug=None, check_finite=True):
    """x with op(a) x = b, op(a) = a (trans 0 or 'N'), a^T (1, 'T') or a^H (2, 'C'), reading only a's
    lower (lower=True) or upper triangle; b is (..., m) or (..., m, k).

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> linalg.solve_triangular(np.array([[2.0, 0.0], [1.0, 1.0]]), np.array([2.0, 3.0]), lower=True)
    Array([1., 2.], dtype=float64)
    """
    if trans in (0, "N"):
        transpose_a = False
    elif trans in (1, "T", 2, "C"):
        transpose_a = True
    else:
        raise ValueError(f"scipy.linalg.solve_triangular: invalid trans value {trans!r} (use 0, 1, 2, 'N', 'T' or 'C')")
    a, b = _inexact(a, b)
    _square("solve_triangular", a)
    if get_aval(b).ndim == 1:  # (m,) against a's stack
        a, b, vector = _rhs_matrix("solve_triangular", a, b)
    else:
        a, b, vector = _rhs_matrix("solve_triangular", a, b) if get_aval(b).ndim == get_aval(a).ndim else (a, b, False)
    conjugate_a = trans in (2, "C")
    x = la.triangular_solve(
        a, b, left_side=True, lower=lower, transpose_a=transpose_a, conjugate_a=conjugate_a, unit_diagonal=unit_diagonal
    )
    return _undo_vector(x, vector)


def lu(a, permute_l=False, overwrite_a=False, check_finite=True):
    """(p, l, u) with a = p @ l @ u (partial pivoting), or (p @ l, u) with permute_l=True; square matrices.

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> p, l, u = linalg.lu(np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> p
    Array([[0., 1.],
           [1., 0.]], dtype=float64)
    >>> np.round(p @ l @ u, 12)
    array([[1., 2.],
           [3., 4.]])
    """
    (a,) = _inexact(a)
    packed, _, perm = la.lu(_square("lu", a))
    dtype = get_aval(a).dtype
    p = la.swap_last(la.permutation_matrix(perm, dtype))  # p[perm[i], i] = 1, so p^T a = a[perm]
    l = ew.add(la.tril(packed, -1), ew.convert_element_type(la.eye_mask(get_aval(packed).shape), dtype))
    u = la.triu(packed)
    return (la.matmul(p, l), u) if permute_l else (p, l, u)


def lu_factor(a, overwrite_a=False, check_finite=True):
    """(lu, piv): L (unit diagonal implied) and U packed, and LAPACK's 0-based row swaps.

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> lu_, piv = linalg.lu_factor(np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> piv
    Array([1, 1], dtype=int32)
    """
    (a,) = _inexact(a)
    packed, pivots, _ = la.lu(_square("lu_factor", a))
    return packed, pivots


def lu_solve(lu_and_piv, b, trans=0, overwrite_b=False, check_finite=True):
    """x with a x = b (trans 0), a^T x = b (trans 1) or a^H x = b (trans 2) from lu_factor(a).

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> np.round(linalg.lu_solve(linalg.lu_factor(a), np.array([5.0, 11.0])), 12)
    array([1., 2.])
    """
    packed, pivots = lu_and_piv
    packed, b = _inexact(packed, b)
    _square("lu_solve", packed)
    m = get_aval(packed).shape[-1]
    perm = lax.linalg.lu_pivots_to_permutation(pivots, m)
    packed, b, vector = _rhs_matrix("lu_solve", packed, b)
    perm = broadcast_to_rank_shape(perm, get_aval(packed).shape[:-1])
    p = la.permutation_matrix(perm, get_aval(packed).dtype)  # (p b)[i] = b[perm[i]]
    if trans == 0:
        x = la.matmul(p, b)
        x = la.triangular_solve(packed, x, left_side=True, lower=True, unit_diagonal=True)
        x = la.triangular_solve(packed, x, left_side=True, lower=False)
    elif trans in (1, 2):
        conj = trans == 2
        x = la.triangular_solve(packed, b, left_side=True, lower=False, transpose_a=True, conjugate_a=conj)
        x = la.triangular_solve(
            packed, x, left_side=True, lower=True, transpose_a=True, conjugate_a=conj, unit_diagonal=True
        )
        x = la.matmul(la.swap_last(p), x)
    else:
        raise ValueError(f"scipy.linalg.lu_solve: trans must be 0, 1 or 2, got {trans!r}")
    return _undo_vector(x, vector)


def solve(a, b, lower=False, overwrite_a=False, overwrite_b=False, debug=False, check_finite=True, assume_a="gen"):
    """x with a x = b: through the Cholesky factor for assume_a='pos' (reading a's `lower` or upper
    triangle), through LU otherwise ('gen', 'sym', 'her', as JAX).

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> linalg.solve(np.array([[2.0, 1.0], [1.0, 2.0]]), np.array([3.0, 3.0]), assume_a="pos")
    Array([1., 1.], dtype=float64)
    """
    if assume_a not in ("gen", "sym", "her", "pos"):
        raise ValueError(f"scipy.linalg.solve: assume_a must be 'gen', 'sym', 'her' or 'pos', got {assume_a!r}")
    if assume_a != "pos":
        return _nla.solve(a, b)
    return cho_solve(cho_factor(a, lower=lower), b)


def inv(a, overwrite_a=False, check_finite=True):
    """The inverse of (stacks of) square matrices.

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> linalg.inv(np.diag([2.0, 4.0]))
    Array([[0.5 , 0.  ],
           [0.  , 0.25]], dtype=float64)
    """
    return _nla.inv(a)


def det(a, overwrite_a=False, check_finite=True):
    """The determinant of (stacks of) square matrices.

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> print(np.round(linalg.det(np.diag([2.0, 4.0])), 12))
    8.0
    """
    return _nla.det(a)


def eigh(
    a,
    b=None,
    lower=True,
    eigvals_only=False,
    overwrite_a=False,
    overwrite_b=False,
    turbo=True,
    eigvals=None,
    type=1,
    check_finite=True,
):
    """(w, v) (or w with eigvals_only): ascending eigenvalues and eigenvectors of symmetric matrices.
    The generalised problem (b) is not supported, as in JAX.

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> linalg.eigh(np.array([[2.0, 1.0], [1.0, 2.0]]), eigvals_only=True)
    Array([1., 3.], dtype=float64)
    """
    if b is not None:
        raise NotImplementedError("scipy.linalg.eigh: only the standard problem (b=None) is supported, as in JAX")
    if eigvals is not None:
        raise NotImplementedError("scipy.linalg.eigh: eigvals= (a subset) is not supported, as in JAX")
    w, v = _nla.eigh(a, UPLO="L" if lower else "U")
    return w if eigvals_only else (w, v)


def svd(a, full_matrices=True, compute_uv=True, overwrite_a=False, check_finite=True, lapack_driver="gesdd"):
    """(u, s, vh) with a = u diag(s) vh (s alone with compute_uv=False).

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> linalg.svd(np.diag([1.0, -3.0]), compute_uv=False)
    Array([3., 1.], dtype=float64)
    """
    if lapack_driver not in ("gesdd", "gesvd"):
        raise ValueError(f"scipy.linalg.svd: lapack_driver must be 'gesdd' or 'gesvd', got {lapack_driver!r}")
    out = _nla.svd(a, full_matrices=full_matrices, compute_uv=compute_uv)
    return tuple(out) if compute_uv else out


def qr(a, overwrite_a=False, lwork=None, mode="full", pivoting=False, check_finite=True):
    """(q, r): mode 'full' (q (..., m, m)) or 'economic' (q (..., m, min(m, n))); mode 'r' gives (r,), as JAX.

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> q, r = linalg.qr(np.ones((3, 2)), mode="economic")
    >>> q.shape, r.shape
    ((3, 2), (2, 2))
    """
    if pivoting:
        raise NotImplementedError("scipy.linalg.qr: pivoting=True is not supported")
    if mode not in ("full", "r", "economic"):
        raise ValueError(f"scipy.linalg.qr: unsupported mode {mode!r} (use 'full', 'economic' or 'r')")
    (a,) = _inexact(a)
    q, r = la.qr(a, full_matrices=mode != "economic")
    return (r,) if mode == "r" else (q, r)


def block_diag(*arrs):
    """The block-diagonal matrix of the given arrays (scalars and vectors count as 1 x n matrices).

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> linalg.block_diag(np.ones((1, 2)), 2.0)
    Array([[1., 1., 0.],
           [0., 0., 2.]], dtype=float64)
    """
    if not arrs:
        return asarray_traced(np.zeros((1, 0)))
    arrs = [asarray_traced(a) for a in arrs]
    dtype = np.result_type(*[get_aval(a).dtype for a in arrs])
    blocks = []
    for a in arrs:
        nd = get_aval(a).ndim
        if nd > 2:
            raise ValueError(
                f"scipy.linalg.block_diag: arguments must have at most 2 dimensions, got shape {get_aval(a).shape}"
            )
        a = lax.reshape(a, (1,) * (2 - nd) + get_aval(a).shape)
        blocks.append(ew.convert_element_type(a, dtype) if get_aval(a).dtype != dtype else a)
    cols = sum(get_aval(b).shape[1] for b in blocks)
    rows, start = [], 0
    for b in blocks:
        c = get_aval(b).shape[1]
        rows.append(lax.pad(b, np.zeros((), dtype), [(0, 0, 0), (start, cols - start - c, 0)]))
        start += c
    return lax.concatenate(rows, 0)


# ----------------------------------------------------------------------------------------------
# expm: Higham (2005) as JAX does it: the Pade degree from the 1-norm, scaling by 2^-s, squaring s times.

_PADE_COEFFICIENTS = {
    3: (120.0, 60.0, 12.0, 1.0),
    5: (30240.0, 15120.0, 3360.0, 420.0, 30.0, 1.0),
    7: (17297280.0, 8648640.0, 1995840.0, 277200.0, 25200.0, 1512.0, 56.0, 1.0),
    9: (17643225600.0, 8821612800.0, 2075673600.0, 302702400.0, 30270240.0, 2162160.0, 110880.0, 3960.0, 90.0, 1.0),
    13: (
        64764752532480000.0,
        32382376266240000.0,
        7771770303897600.0,
        1187353796428800.0,
        129060195264000.0,
        10559470521600.0,
        670442572800.0,
        33522128640.0,
        1323241920.0,
        40840800.0,
        960960.0,
        16380.0,
        182.0,
        1.0,
    ),
}
# Per dtype: the 1-norm bound of the scaled matrix and the thresholds that pick the lower degrees.
_EXPM_BOUNDS = {
    np.dtype(np.float64): (
        5.371920351148152,
        (1.495585217958292e-2, 2.539398330063230e-1, 9.504178996162932e-1, 2.097847961257068),
        (3, 5, 7, 9, 13),
    ),
    np.dtype(np.float32): (3.925724783138660, (4.258730016922831e-1, 1.880152677804762), (3, 5, 7)),
}
_EXPM_BOUNDS[np.dtype(np.complex128)] = _EXPM_BOUNDS[np.dtype(np.float64)]
_EXPM_BOUNDS[np.dtype(np.complex64)] = _EXPM_BOUNDS[np.dtype(np.float32)]


def _pade(degree):
    """(U, V) of the [degree/degree] Pade approximant: p(A) = V + U, q(A) = V - U."""
    b = _PADE_COEFFICIENTS[degree]

    def weighted(evens, indices, drop):
        """sum over i in indices of b[i] * A^(i - drop), highest first."""
        return functools.reduce(fnp.add, [b[i] * evens[i - drop] for i in indices])

    def approximant(a):
        evens = {0: fnp.eye(get_aval(a).shape[-1], dtype=get_aval(a).dtype), 2: la.matmul(a, a)}
        for k in range(4, min(degree, 7), 2):
            evens[k] = la.matmul(evens[k - 2], evens[2])
        if degree == 9:
            evens[8] = la.matmul(evens[6], evens[2])
        if degree < 13:
            u = la.matmul(a, weighted(evens, range(degree, 0, -2), 1))
            return u, weighted(evens, range(degree - 1, -1, -2), 0)
        # Higham's degree 13: A^6 factored out of the highest terms
        a6 = evens[6]
        u = la.matmul(a, la.matmul(a6, weighted(evens, (13, 11, 9), 7)) + weighted(evens, (7, 5, 3, 1), 1))
        v = la.matmul(a6, weighted(evens, (12, 10, 8), 6)) + weighted(evens, (6, 4, 2, 0), 0)
        return u, v

    return approximant


def _expm_one(a, upper_triangular, max_squarings):
    maxnorm, thresholds, degrees = _EXPM_BOUNDS[np.dtype(get_aval(a).dtype)]
    norm1 = _nla.norm(a, 1)
    squarings = fnp.maximum(0, fnp.floor(fnp.log2(norm1 / maxnorm)))
    scaled = a / fnp.power(2.0, squarings)
    index = fnp.sum(fnp.asarray(thresholds, dtype=get_aval(norm1).dtype) <= norm1).astype(np.int32)
    u, v = lax.switch(index, [_pade(d) for d in degrees], scaled)
    p, q = u + v, v - u
    r = la.triangular_solve(q, p, left_side=True, lower=False) if upper_triangular else _nla.solve(q, p)

    def square(i, r):
        return lax.cond(i < squarings, lambda r: la.matmul(r, r), lambda r: r, r)

    r = lax.fori_loop(0, max_squarings, square, r)
    return fnp.where(squarings > max_squarings, np.nan, r)


def expm(A, *, upper_triangular=False, max_squarings=16):
    """The matrix exponential of (stacks of) square matrices; NaN when more than max_squarings
    squarings would be needed. Differentiable in both modes (through its operations, as JAX).

    >>> import numpy as np, fnad
    >>> from fnad.scipy import linalg
    >>> np.round(linalg.expm(np.array([[0.0, 1.0], [0.0, 0.0]])), 12)
    array([[1., 1.],
           [0., 1.]])
    >>> np.round(fnad.grad(lambda t: linalg.expm(t * np.eye(2))[0, 0])(1.0), 6)
    np.float64(2.718282)
    """
    (a,) = _inexact(A)
    _square("expm", a)
    if np.dtype(get_aval(a).dtype) not in _EXPM_BOUNDS:
        raise TypeError(f"scipy.linalg.expm: dtype {get_aval(a).dtype} is not supported (float32/64, complex64/128)")
    shape = get_aval(a).shape
    one = lambda m: _expm_one(m, upper_triangular, max_squarings)
    with np.errstate(divide="ignore"):  # eagerly, log2 of a zero norm: -inf, no squaring (as JAX, silently)
        if len(shape) == 2:
            return one(a)
        flat = lax.reshape(a, (math.prod(shape[:-2]),) + shape[-2:])
        return lax.reshape(vmap(one)(flat), shape)


def expm_frechet(A, E, *, method=None, compute_expm=True):
    """The Frechet derivative of expm at A in direction E (with expm(A) first when compute_expm): the jvp of expm.

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> expm_a, d = linalg.expm_frechet(np.zeros((2, 2)), np.eye(2))
    >>> np.round(d, 12)
    array([[1., 0.],
           [0., 1.]])
    """
    if method not in (None, "SPS"):
        raise ValueError(f"scipy.linalg.expm_frechet: unknown method {method!r}")
    (a, e) = _inexact(A, E)
    if get_aval(a).shape != get_aval(e).shape or get_aval(a).ndim != 2:
        raise ValueError(
            f"scipy.linalg.expm_frechet: A and E must be square matrices of one shape, got {get_aval(a).shape} and {get_aval(e).shape}"
        )
    expm_a, frechet = jvp(expm, (a,), (e,))
    return (expm_a, frechet) if compute_expm else frechet


def sqrtm(A, blocksize=1):
    """The principal square root of (stacks of) square matrices, complex as JAX's. From the
    eigendecomposition A = V diag(w) V^-1 (JAX goes through the Schur form): exact for diagonalisable
    matrices, less accurate as V's condition grows, and differentiable where the eigenvalues are distinct.

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> np.round(linalg.sqrtm(np.array([[4.0, 0.0], [0.0, -1.0]])), 12)
    array([[2.+0.j, 0.+0.j],
           [0.+0.j, 0.+1.j]])
    """
    if blocksize != 1:
        raise NotImplementedError("scipy.linalg.sqrtm: only blocksize=1 is supported, as in JAX")
    (a,) = _inexact(A)
    _square("sqrtm", a)
    w, v = la.eig(a, compute_left_eigenvectors=False, enable_eigvec_derivs=True)
    return la.matmul(v * fnp.expand_dims(fnp.sqrt(w), -2), _nla.inv(v))
