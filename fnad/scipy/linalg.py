"""fnad.scipy.linalg: jax.scipy.linalg's functions (SciPy's names and argument conventions) over
fnad.numpy.linalg and fnad.lax.linalg, so each is differentiable, batchable and compiled.

As in JAX: cho_factor returns the factor with zeros in its other triangle (SciPy leaves the input's
entries there), solve with assume_a='pos' solves through the Cholesky factor and any other assume_a
through LU, and expm is Higham's Pade scaling and squaring (the order and the number of squarings
chosen from the 1-norm at run time), differentiated through its operations.

The Schur-based functions (schur, rsf2csf, funm, solve_sylvester) and hessenberg follow JAX's
algorithms over fnad.lax.linalg's reductions; like JAX's they have no derivative with respect to the
matrix reduced (solve_sylvester is differentiable in C). polar is JAX's QDWH (or the SVD), and the
matrix constructors (toeplitz, hankel, circulant, ...) are gathers and elementwise operations, so
they are differentiable and batch over leading axes where JAX's do.
"""

from __future__ import annotations

import functools
import math
import operator

import numpy as np

from .. import lax
from .. import numpy as fnp
from ..api import jvp, vmap
from ..core import get_aval
from ..numpy import linalg as _nla
from ..numpy._core import asarray_traced
from ..primitives import elementwise as ew
from ..primitives import linalg as la
from ..primitives import linalg_forms as forms
from ..primitives.shape import broadcast_to_rank_shape
from .special import comb

__all__ = [
    "block_diag",
    "cho_factor",
    "cho_solve",
    "cholesky",
    "circulant",
    "companion",
    "convolution_matrix",
    "det",
    "dft",
    "eigh",
    "eigh_tridiagonal",
    "expm",
    "expm_frechet",
    "fiedler",
    "fiedler_companion",
    "funm",
    "hadamard",
    "hankel",
    "helmert",
    "hessenberg",
    "hilbert",
    "inv",
    "invhilbert",
    "invpascal",
    "leslie",
    "lu",
    "lu_factor",
    "lu_solve",
    "pascal",
    "polar",
    "qr",
    "qr_multiply",
    "rsf2csf",
    "schur",
    "solve",
    "solve_sylvester",
    "solve_triangular",
    "sqrtm",
    "svd",
    "toeplitz",
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


# ----------------------------------------------------------------------------------------------
# Schur and Hessenberg forms, and what JAX builds on them


def _complex(a):
    """a converted to the complex dtype of its precision (complex128 for float64, complex64 for float32)."""
    dtype = get_aval(a).dtype
    target = np.result_type(dtype, np.complex64)
    return a if dtype == target else ew.convert_element_type(a, target)


def schur(a, output="real"):
    """(T, Z) with a = Z T Z^H: T quasi upper triangular with 2x2 blocks for complex eigenvalue pairs
    (output='real', real a) or upper triangular (output='complex', or complex a). Not differentiable.

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> a = np.array([[1.0, 2.0, 3.0], [1.0, 4.0, 2.0], [3.0, 2.0, 1.0]])
    >>> t, z = linalg.schur(a)
    >>> np.allclose(z @ t @ z.T, a), np.allclose(z.T @ z, np.eye(3))
    (True, True)
    """
    if output not in ("real", "complex"):
        raise ValueError(f"scipy.linalg.schur: output must be 'real' or 'complex', got {output!r}")
    (a,) = _inexact(a)
    _square("schur", a)
    t, z = lax.linalg.schur(_complex(a) if output == "complex" else a)
    return t, z


def rsf2csf(T, Z, check_finite=True):
    """(T, Z) in complex Schur form from a real Schur form (T, Z) (as schur(output='real') gives): each
    2x2 block is split by a unitary rotation, JAX's (and SciPy's) algorithm. Stacks broadcast.

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> t, z = linalg.rsf2csf(np.array([[0.0, -1.0], [1.0, 0.0]]), np.eye(2))
    >>> np.round(np.diag(t), 12)
    array([0.+1.j, 0.-1.j])
    """
    t, z = _inexact(T, Z)
    t, z = _complex(t), _complex(z)
    for name, m in (("T", t), ("Z", z)):
        shape = get_aval(m).shape
        if len(shape) < 2 or shape[-1] != shape[-2]:
            raise ValueError(f"scipy.linalg.rsf2csf: input {name!r} must be square, got shape {shape}")
    if get_aval(t).shape[-1] != get_aval(z).shape[-1]:
        raise ValueError(
            f"scipy.linalg.rsf2csf: input array shapes must match: Z: {get_aval(z).shape} vs. T: {get_aval(t).shape}"
        )
    batch = np.broadcast_shapes(get_aval(t).shape[:-2], get_aval(z).shape[:-2])
    n = get_aval(t).shape[-1]
    t, z = fnp.broadcast_to(t, batch + (n, n)), fnp.broadcast_to(z, batch + (n, n))
    eps = np.finfo(get_aval(t).dtype).eps
    for m in range(n - 1, 0, -1):
        a, b, c, d = t[..., m - 1, m - 1], t[..., m - 1, m], t[..., m, m - 1], t[..., m, m]
        half = (a - d) / 2
        mu = half + fnp.sqrt(half * half + b * c)  # the block's eigenvalue of positive imaginary part, minus d
        r = fnp.sqrt(fnp.abs(mu) ** 2 + fnp.abs(c) ** 2).astype(get_aval(t).dtype)
        safe_r = fnp.where(r == 0, 1, r)
        cs, sn = mu / safe_r, c / safe_r
        g = fnp.stack([fnp.stack([fnp.conj(cs), sn], -1), fnp.stack([-sn, cs], -1)], -2)  # (..., 2, 2)
        g_h = fnp.conj(fnp.swapaxes(g, -1, -2))
        rotated = t.at[..., m - 1 : m + 1, m - 1 :].set(g @ t[..., m - 1 : m + 1, m - 1 :])
        rotated = rotated.at[..., : m + 1, m - 1 : m + 1].set(rotated[..., : m + 1, m - 1 : m + 1] @ g_h)
        split = (fnp.abs(c) > eps * (fnp.abs(a) + fnp.abs(d)))[..., None, None]
        t = fnp.where(split, rotated, t).at[..., m, m - 1].set(0)
        z = fnp.where(split, z.at[..., :, m - 1 : m + 1].set(z[..., :, m - 1 : m + 1] @ g_h), z)
    return t, z


def hessenberg(a, *, calc_q=False, overwrite_a=False, check_finite=True):
    """H (or (H, Q) with calc_q) with a = Q H Q^H, H zero below its first subdiagonal, Q unitary
    (Householder reduction, LAPACK's gehrd). Not differentiable, as in JAX.

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> a = np.array([[1.0, 2.0, 3.0, 4.0], [1.0, 4.0, 2.0, 3.0], [3.0, 2.0, 1.0, 4.0], [2.0, 3.0, 2.0, 2.0]])
    >>> h, q = linalg.hessenberg(a, calc_q=True)
    >>> print(np.round(np.asarray(h), 3))
    [[ 1.    -5.078  1.167  1.361]
     [-3.742  5.786 -3.613 -1.825]
     [ 0.    -2.992  2.493 -0.577]
     [ 0.     0.    -0.043 -1.279]]
    >>> np.allclose(q @ h @ q.T, a)
    True
    """
    (a,) = _inexact(a)
    _square("hessenberg", a)
    n = get_aval(a).shape[-1]
    if n == 0:
        return (fnp.zeros_like(a), fnp.zeros_like(a)) if calc_q else fnp.zeros_like(a)
    packed, taus = forms.hessenberg(a)
    h = fnp.triu(packed, -1)
    if not calc_q:
        return h
    # Q = diag(1, householder_product of the reflectors below the subdiagonal)
    q = forms.householder_product(packed[..., 1:, :-1], taus)
    nb = get_aval(q).ndim - 2
    q = lax.pad(q, np.zeros((), get_aval(q).dtype), [(0, 0, 0)] * nb + [(1, 0, 0), (1, 0, 0)])
    return h, q.at[..., 0, 0].set(1)


def funm(A, func, disp=True):
    """func applied to the square matrix A, through the Schur form (Parlett's recurrence, Golub and Van
    Loan's algorithm 11.1.1, as JAX): func maps a vector of eigenvalues elementwise. Complex result, as
    JAX's. With disp=False, (F, err) with JAX's error estimate. Not differentiable with respect to A.

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> f = linalg.funm(np.array([[1.0, 2.0], [0.0, 3.0]]), lambda x: x * x)
    >>> np.round(f, 12)
    array([[1.+0.j, 8.+0.j],
           [0.+0.j, 9.+0.j]])
    """
    (a,) = _inexact(A)
    if get_aval(a).ndim != 2 or get_aval(a).shape[0] != get_aval(a).shape[1]:
        raise ValueError(f"scipy.linalg.funm: expected a square matrix, got shape {get_aval(a).shape}")
    n = get_aval(a).shape[0]
    t, z = rsf2csf(*schur(a))
    dtype = get_aval(t).dtype
    diag_t = fnp.diagonal(t)
    f = fnp.diag(fnp.asarray(func(diag_t)).astype(dtype))
    rows, cols = np.indices((n, n))
    gaps = diag_t[None, :] - diag_t[:, None]  # T[j, j] - T[i, i]
    safe_gaps = fnp.where(gaps != 0, gaps, 1)
    for p in range(1, n):
        # with F known on its first p diagonals, (T F - F T)[i, i + p] is the recurrence's numerator
        s = t @ f - f @ t
        f = f + fnp.where(cols - rows == p, s / safe_gaps, 0)
    result = z @ f @ fnp.conj(z.T)
    if disp:
        return result
    real = np.finfo(dtype).dtype
    tol = np.finfo(np.float32 if real == np.float32 else np.float64).eps
    upper = cols > rows
    minden = fnp.min(fnp.where(upper, fnp.abs(gaps), fnp.inf), initial=fnp.abs(t[0, 0])) if n else fnp.inf
    minden = fnp.where(minden == 0, tol, minden)
    err = fnp.minimum(1, fnp.maximum(tol, (tol / minden) * _nla.norm(fnp.triu(t, 1), 1)))
    return result, fnp.where(fnp.any(fnp.isinf(result)), fnp.inf, err)


def solve_sylvester(A, B, C, *, method="schur", tol=1e-8):
    """X with A X + X B = C (stacks broadcast): Bartels-Stewart through the complex Schur forms of A
    and B^H (method='schur', as JAX), or the eigendecompositions (method='eigen'). NaN when some
    eigenvalue of A plus one of B is within tol of zero, as JAX. Differentiable in C only.

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> x = linalg.solve_sylvester(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[5.0, 6.0], [7.0, 8.0]]),
    ...                            np.array([[6.0, 8.0], [10.0, 12.0]]))
    >>> np.round(x, 10)
    array([[1., 0.],
           [0., 1.]])
    """
    a, b, c = _inexact(A, B, C)
    m, n = get_aval(c).shape[-2:]
    if get_aval(a).shape[-2:] != (m, m) or get_aval(b).shape[-2:] != (n, n):
        raise ValueError(
            f"scipy.linalg.solve_sylvester: incompatible shapes A {get_aval(a).shape}, B {get_aval(b).shape}, "
            f"C {get_aval(c).shape}: need A (..., m, m), B (..., n, n), C (..., m, n)"
        )
    batch = np.broadcast_shapes(*[get_aval(x).shape[:-2] for x in (a, b, c)])
    a, b, c = (fnp.broadcast_to(x, batch + get_aval(x).shape[-2:]) for x in (a, b, c))
    with np.errstate(divide="ignore", invalid="ignore"):  # eagerly, singular systems: NaN below, silently as JAX
        x, eig_a, eig_b = _sylvester(a, b, c, m, n, method)
    if not np.issubdtype(get_aval(c).dtype, np.complexfloating):
        x = fnp.real(x)
    near_zero = fnp.any(fnp.abs(eig_a[..., :, None] + eig_b[..., None, :]) < tol, axis=(-2, -1))
    return fnp.where(near_zero[..., None, None], np.nan, x)


def _sylvester(a, b, c, m, n, method):
    """(X, eigenvalues of A, eigenvalues of B) for A X + X B = C, stacks of equal leading axes."""
    if method == "schur":
        r, u = schur(a, output="complex")
        s, v = schur(fnp.conj(fnp.swapaxes(b, -1, -2)), output="complex")
        low = fnp.conj(fnp.swapaxes(s, -1, -2))  # lower triangular, B's eigenvalues on its diagonal
        f = fnp.conj(fnp.swapaxes(u, -1, -2)) @ c.astype(get_aval(r).dtype) @ v
        # column j of R Y + Y L = F: (R + L[j, j] I) y_j = f_j - sum_{k > j} y_k L[k, j], last column first
        eye = fnp.eye(m, dtype=get_aval(r).dtype)
        columns = []
        for j in range(n - 1, -1, -1):
            rhs = f[..., :, j : j + 1]
            if columns:
                later = fnp.concatenate(columns[::-1], -1)
                rhs = rhs - later @ low[..., j + 1 :, j : j + 1]
            shifted = r + low[..., j, j, None, None] * eye
            columns.append(la.triangular_solve(shifted, rhs, left_side=True, lower=False))
        y = fnp.concatenate(columns[::-1], -1)
        x = u @ y @ fnp.conj(fnp.swapaxes(v, -1, -2))
        eig_a, eig_b = fnp.diagonal(r, axis1=-2, axis2=-1), fnp.diagonal(low, axis1=-2, axis2=-1)
    elif method == "eigen":
        eig_a, ua = _nla.eig(a)
        eig_b, ub = _nla.eig(b)
        f = _nla.solve(ua, c.astype(get_aval(ua).dtype) @ ub)
        x = ua @ (f / (eig_a[..., :, None] + eig_b[..., None, :])) @ _nla.inv(ub)
    else:
        raise ValueError(f'scipy.linalg.solve_sylvester: unrecognized method {method!r} (use "schur" or "eigen")')
    return x, eig_a, eig_b


def polar(a, side="right", *, method="qdwh", eps=None, max_iterations=None):
    """(u, p) with a = u p (side='right', p (..., n, n)) or a = p u (side='left', p (..., m, m)), u with
    orthonormal columns (rows when n > m) and p positive semidefinite: JAX's QDWH iteration (method
    'qdwh': m >= n for side 'right', m < n for 'left', as JAX) or the SVD (method 'svd').

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> u, p = linalg.polar(np.array([[1.0, 2.0, 3.0], [5.0, 4.0, 2.0], [3.0, 2.0, 1.0]]))
    >>> print(np.round(np.asarray(p), 2))
    [[4.79 3.25 1.23]
     [3.25 3.06 2.01]
     [1.23 2.01 2.91]]
    """
    (a,) = _inexact(a)
    shape = get_aval(a).shape
    if len(shape) < 2:
        raise ValueError("scipy.linalg.polar: the input `a` must be at least a 2-D array.")
    if side not in ("right", "left"):
        raise ValueError("scipy.linalg.polar: the argument `side` must be either 'right' or 'left'.")
    m, n = shape[-2:]
    if method == "svd":
        u, s, vh = _nla.svd(a, full_matrices=False)
        s = s.astype(get_aval(u).dtype)
        unitary = u @ vh
        if side == "right":
            return unitary, (fnp.conj(fnp.swapaxes(vh, -1, -2)) * s[..., None, :]) @ vh
        return unitary, (u * s[..., None, :]) @ fnp.conj(fnp.swapaxes(u, -1, -2))
    if method != "qdwh":
        raise ValueError(f"scipy.linalg.polar: unknown polar decomposition method {method!r}")
    if not ((m >= n and side == "right") or (m < n and side == "left")):
        raise NotImplementedError(
            "scipy.linalg.polar: method='qdwh' only supports m >= n with side='right' and m < n with side='left' "
            f"(as JAX), got shape {shape} with side={side!r}"
        )
    adjoint = side == "left"

    def one(x):
        x = fnp.conj(x.T) if adjoint else x
        u, p, _, _ = lax.linalg.qdwh(x, eps=eps, max_iterations=max_iterations)
        return (fnp.conj(u.T), fnp.conj(p.T)) if adjoint else (u, p)

    if len(shape) == 2:
        return one(a)
    u, p = vmap(one)(fnp.reshape(a, (-1, m, n)))
    return fnp.reshape(u, shape), fnp.reshape(p, shape[:-2] + get_aval(p).shape[-2:])


def qr_multiply(a, c, mode="right", pivoting=False, conjugate=False, overwrite_a=False, overwrite_c=False):
    """(Q c, R) (mode 'left', c (..., min(m, n), p)) or (c Q, R) (mode 'right', c (..., p, m)) for the
    QR factorisation a = Q R, Q applied from geqrf's reflectors without forming it (as JAX); a vector
    c is a column (left) or a row (right). conjugate uses conj(Q). Not differentiable (as in JAX).

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> a = np.array([[1.0, 1.0], [1.0, 2.0], [1.0, 3.0], [1.0, 4.0]])
    >>> qtb, r = linalg.qr_multiply(a, np.array([2.0, 4.0, 5.0, 4.0]))
    >>> np.round(linalg.solve_triangular(r, qtb), 12)
    array([2. , 0.7])
    """
    if pivoting:
        raise NotImplementedError("scipy.linalg.qr_multiply: pivoting=True (geqp3) is not supported")
    if mode not in ("right", "left"):
        raise ValueError(f"scipy.linalg.qr_multiply: mode must be 'right' or 'left', got {mode!r}")
    a, c = _inexact(a, c)
    if get_aval(a).ndim < 2:
        raise ValueError(f"scipy.linalg.qr_multiply: a must be a matrix, got shape {get_aval(a).shape}")
    vector = get_aval(c).ndim == 1
    if vector:
        c = c[:, None] if mode == "left" else c[None, :]
    m, n = get_aval(a).shape[-2:]
    k = min(m, n)
    if mode == "left" and get_aval(c).shape[-2] != k:
        raise ValueError(
            f"scipy.linalg.qr_multiply: a of shape {get_aval(a).shape} has Q with {k} columns, but c has "
            f"{get_aval(c).shape[-2]} rows (expected {k})"
        )
    if mode == "right" and get_aval(c).shape[-1] != m:
        raise ValueError(
            f"scipy.linalg.qr_multiply: a of shape {get_aval(a).shape} has Q with {m} rows, but c has "
            f"{get_aval(c).shape[-1]} columns (expected {m})"
        )
    batch = np.broadcast_shapes(get_aval(a).shape[:-2], get_aval(c).shape[:-2])
    a, c = fnp.broadcast_to(a, batch + (m, n)), fnp.broadcast_to(c, batch + get_aval(c).shape[-2:])
    r, taus = la.geqrf(a)
    if m > n and mode == "left":
        c = fnp.concatenate([c, fnp.zeros(batch + (m - k, get_aval(c).shape[-1]), get_aval(c).dtype)], -2)
    if conjugate:  # conj(Q) c = (c^T Q^H)^T: c changes side, Q becomes Q^H
        c = fnp.swapaxes(c, -1, -2)
    product = forms.ormqr(r, taus, c, left=(mode == "left") != conjugate, transpose=conjugate)
    if conjugate:
        product = fnp.swapaxes(product, -1, -2)
    if mode == "right":
        product = product[..., :k]
    if vector:
        product = fnp.ravel(product)
    return product, fnp.triu(r[..., :k, :])


def eigh_tridiagonal(d, e, *, eigvals_only=False, select="a", select_range=None, tol=None, key=None):
    """Eigenvalues (ascending; and with eigvals_only=False the eigenvectors, as columns) of the
    Hermitian tridiagonal matrix with diagonal d (n,) and off-diagonal e (n - 1,); select='i' keeps
    indices select_range[0]..select_range[1]. Through LAPACK's eigh of the dense matrix (JAX bisects;
    tol and key are accepted and unused), so differentiable.

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> w = linalg.eigh_tridiagonal(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 1.0, 1.0]), eigvals_only=True)
    >>> np.round(w, 6)
    array([0.254719, 1.822717, 3.177283, 4.745281])
    """
    d, e = fnp.asarray(d), fnp.asarray(e)
    if get_aval(d).dtype != get_aval(e).dtype:
        raise TypeError(
            f"scipy.linalg.eigh_tridiagonal: diagonal and off-diagonal values must have same dtype, got "
            f"{get_aval(d).dtype} and {get_aval(e).dtype}"
        )
    if not np.issubdtype(get_aval(d).dtype, np.inexact):
        raise TypeError(
            f"scipy.linalg.eigh_tridiagonal: only floating-point or complex inputs are supported, got {get_aval(d).dtype}"
        )
    if get_aval(d).ndim != 1 or get_aval(e).shape != (max(get_aval(d).shape[0] - 1, 0),):
        raise ValueError(
            f"scipy.linalg.eigh_tridiagonal: expected d (n,) and e (n - 1,), got {get_aval(d).shape} and {get_aval(e).shape}"
        )
    n = get_aval(d).shape[0]
    if select == "a":
        lo, hi = 0, n
    elif select == "i":
        if select_range is None:
            raise ValueError("scipy.linalg.eigh_tridiagonal: for select='i', select_range must be specified.")
        if select_range[0] > select_range[1]:
            raise ValueError("scipy.linalg.eigh_tridiagonal: got empty index range in select_range.")
        lo, hi = int(select_range[0]), int(select_range[1]) + 1
    elif select == "v":
        raise NotImplementedError("scipy.linalg.eigh_tridiagonal: select='v' is not implemented, as in JAX")
    else:
        raise ValueError("scipy.linalg.eigh_tridiagonal: select must have a value in {'a', 'i', 'v'}.")
    if n <= 1:
        w = fnp.real(d)
        return w if eigvals_only else (w, fnp.eye(n, dtype=get_aval(d).dtype))
    matrix = fnp.diag(fnp.real(d).astype(get_aval(d).dtype)) + fnp.diag(e, -1) + fnp.diag(fnp.conj(e), 1)
    v, w = la.eigh(matrix)
    return w[lo:hi] if eigvals_only else (w[lo:hi], v[:, lo:hi])


# ----------------------------------------------------------------------------------------------
# Special matrices, as jax.scipy.linalg builds them (leading axes of the vector arguments are batch axes)


def _vectors(name, *arrays):
    """The arguments as fnad arrays of at least one dimension, broadcast over their leading axes."""
    arrays = [fnp.atleast_1d(fnp.asarray(x)) for x in arrays]
    try:
        batch = np.broadcast_shapes(*[get_aval(x).shape[:-1] for x in arrays])
    except ValueError:
        raise ValueError(
            f"scipy.linalg.{name}: leading axes of shapes {[get_aval(x).shape for x in arrays]} do not broadcast"
        ) from None
    return [fnp.broadcast_to(x, batch + get_aval(x).shape[-1:]) for x in arrays]


def toeplitz(c, r=None):
    """The Toeplitz matrix A[i, j] = c[i - j] (i >= j), r[j - i] (i < j), r defaulting to conj(c);
    (..., n, m) for c (..., n) and r (..., m) (r[0] is ignored).

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> linalg.toeplitz(np.array([1, 2, 3]), np.array([-1, -2, -3]))
    Array([[ 1, -2, -3],
           [ 2,  1, -2],
           [ 3,  2,  1]], dtype=int64)
    """
    c = fnp.asarray(c)
    c, r = _vectors("toeplitz", c, fnp.conj(c) if r is None else r)
    n, m = get_aval(c).shape[-1], get_aval(r).shape[-1]
    elements = fnp.concatenate([fnp.flip(c, -1), r[..., 1:]], -1)  # c reversed, then r: A[i, j] at n - 1 - i + j
    if n == 0 or m == 0:
        return fnp.zeros(get_aval(c).shape[:-1] + (n, m), get_aval(elements).dtype)
    return elements[..., n - 1 - np.arange(n)[:, None] + np.arange(m)[None, :]]


def hankel(c, r=None):
    """The Hankel matrix H[i, j] = v[i + j], v = concatenate([c, r[1:]]) (r[0] is ignored), r
    defaulting to zeros; (..., n, m) for c (..., n) and r (..., m).

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> linalg.hankel(np.array([1, 2, 3]), np.array([999, 4, 5, 6]))
    Array([[1, 2, 3, 4],
           [2, 3, 4, 5],
           [3, 4, 5, 6]], dtype=int64)
    """
    c = fnp.asarray(c)
    if get_aval(c).ndim == 0 or (r is not None and fnp.ndim(r) == 0):
        raise ValueError("scipy.linalg.hankel: c and r must be at least 1-dimensional, got a scalar.")
    c, r = _vectors("hankel", c, fnp.zeros_like(c) if r is None else r)
    n, m = get_aval(c).shape[-1], get_aval(r).shape[-1]
    v = fnp.concatenate([c, r[..., 1:]], -1)
    if n == 0 or m == 0:
        return fnp.zeros(get_aval(c).shape[:-1] + (n, m), get_aval(v).dtype)
    return v[..., np.arange(n)[:, None] + np.arange(m)[None, :]]


def circulant(c):
    """The circulant matrix A[i, j] = c[(i - j) mod n] of c (..., n).

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> linalg.circulant(np.array([1, 2, 3]))
    Array([[1, 3, 2],
           [2, 1, 3],
           [3, 2, 1]], dtype=int64)
    """
    (c,) = _vectors("circulant", c)
    n = get_aval(c).shape[-1]
    return c[..., (np.arange(n)[:, None] - np.arange(n)[None, :]) % max(n, 1)]


def leslie(f, s):
    """The Leslie matrix: fecundities f (..., n), n >= 2, as its first row and survivals s (..., n - 1)
    on its first subdiagonal.

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> linalg.leslie(np.array([0.1, 2.0, 1.0]), np.array([0.2, 0.8]))
    Array([[0.1, 2. , 1. ],
           [0.2, 0. , 0. ],
           [0. , 0.8, 0. ]], dtype=float64)
    """
    f, s = fnp.atleast_1d(fnp.asarray(f)), fnp.atleast_1d(fnp.asarray(s))
    n = get_aval(f).shape[-1]
    if n < 2:
        raise ValueError(
            f"scipy.linalg.leslie: the length of f along the last axis must be at least 2; got shape {get_aval(f).shape}"
        )
    if get_aval(s).shape[-1] != n - 1:
        raise ValueError(
            "scipy.linalg.leslie: the length of s along the last axis must be one less than the length of f; got "
            f"f shape {get_aval(f).shape} and s shape {get_aval(s).shape}"
        )
    dtype = np.result_type(get_aval(f).dtype, get_aval(s).dtype)
    f, s = _vectors("leslie", f.astype(dtype), s.astype(dtype))
    below = fnp.concatenate([s, fnp.zeros(get_aval(s).shape[:-1] + (1,), dtype)], -1)  # s[j] at (j + 1, j)
    rows, cols = np.indices((n, n))
    subdiagonal = fnp.where(rows == cols + 1, below[..., None, :], 0).astype(dtype)
    return fnp.where(rows == 0, f[..., None, :], subdiagonal)


def companion(a):
    """The companion matrix of the polynomial with coefficients a (..., n), n >= 2: first row
    -a[1:] / a[0], ones on the first subdiagonal; its eigenvalues are the polynomial's roots.

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> linalg.companion(np.array([1.0, -10.0, 31.0, -30.0]))
    Array([[ 10., -31.,  30.],
           [  1.,   0.,   0.],
           [  0.,   1.,   0.]], dtype=float64)
    """
    (a,) = _inexact(fnp.atleast_1d(fnp.asarray(a)))
    n = get_aval(a).shape[-1]
    if n < 2:
        raise ValueError(
            f"scipy.linalg.companion: the length of `a` along the last axis must be at least 2; got shape {get_aval(a).shape}"
        )
    first_row = -a[..., 1:] / a[..., :1]
    rows = np.arange(n - 1)[:, None]
    return fnp.where(rows == 0, first_row[..., None, :], fnp.eye(n - 1, k=-1, dtype=get_aval(a).dtype))


def fiedler(a):
    """The symmetric Fiedler matrix F[i, j] = |a[i] - a[j]| of a (..., n).

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> linalg.fiedler(np.array([1, 4, 12]))
    Array([[ 0,  3, 11],
           [ 3,  0,  8],
           [11,  8,  0]], dtype=int64)
    """
    a = fnp.atleast_1d(fnp.asarray(a))
    return fnp.abs(a[..., :, None] - a[..., None, :])


def fiedler_companion(a):
    """The Fiedler companion matrix of the polynomial with coefficients a (..., n): pentadiagonal, with
    the polynomial's roots as eigenvalues ((..., 0, 0) for n = 1).

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> linalg.fiedler_companion(np.array([1.0, -16.0, 86.0, -176.0, 105.0]))
    Array([[  16.,  -86.,    1.,    0.],
           [   1.,    0.,    0.,    0.],
           [   0.,  176.,    0., -105.],
           [   0.,    1.,    0.,    0.]], dtype=float64)
    """
    (a,) = _inexact(fnp.atleast_1d(fnp.asarray(a)))
    if get_aval(a).shape[-1] == 0:
        raise ValueError(
            f"scipy.linalg.fiedler_companion: the last axis of 'a' must have nonzero length, got shape {get_aval(a).shape}"
        )
    n = get_aval(a).shape[-1] - 1
    if n == 0:
        return fnp.zeros(get_aval(a).shape[:-1] + (0, 0), get_aval(a).dtype)
    a = a / a[..., :1]
    i, j = np.indices((n, n))
    # the pentadiagonal layout (as JAX): -a[1] and 1 in the first column, then by the parity of the row
    # -a[i + 2] and 1 right of an even row's diagonal, -a[i + 1] left of it, 1 two left of an odd row's
    pick = lambda index: a[..., np.minimum(index, n)]  # clipped: the masks keep only valid cells
    even, odd = i % 2 == 0, i % 2 == 1
    out = fnp.zeros(get_aval(a).shape[:-1] + (n, n), get_aval(a).dtype)
    out = fnp.where((j == i - 2) & odd & (i >= 3), 1, out)
    out = fnp.where((j == i - 1) & even & (i >= 2), -pick(i + 1), out)
    out = fnp.where((j == i + 2) & even, 1, out)
    out = fnp.where((j == i + 1) & even, -pick(i + 2), out)
    out = fnp.where((i == 1) & (j == 0), 1, out)
    return fnp.where((i == 0) & (j == 0), -a[..., 1:2, None], out).astype(get_aval(a).dtype)


def convolution_matrix(a, n, mode="full"):
    """The Toeplitz matrix A with A @ v = numpy.convolve(a, v, mode) for v of length n; (..., k, n),
    k = m + n - 1 ('full'), max(m, n) ('same') or max(m, n) - min(m, n) + 1 ('valid') for a (..., m).

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> linalg.convolution_matrix(np.array([-1, 4, -2]), 5, mode="same")
    Array([[ 4, -1,  0,  0,  0],
           [-2,  4, -1,  0,  0],
           [ 0, -2,  4, -1,  0],
           [ 0,  0, -2,  4, -1],
           [ 0,  0,  0, -2,  4]], dtype=int64)
    """
    n = operator.index(n)
    if n <= 0:
        raise ValueError(f"scipy.linalg.convolution_matrix: n must be a positive integer; got {n}.")
    a = fnp.asarray(a)
    if get_aval(a).ndim == 0:
        raise ValueError("scipy.linalg.convolution_matrix: a must be at least 1-dimensional, got a scalar.")
    m = get_aval(a).shape[-1]
    if m < 1:
        raise ValueError(f"scipy.linalg.convolution_matrix: len(a) must be at least 1; got shape {get_aval(a).shape}.")
    if mode not in ("full", "valid", "same"):
        raise ValueError(f"scipy.linalg.convolution_matrix: mode must be one of 'full', 'valid', 'same'; got {mode!r}.")
    widths = [(0, 0)] * (get_aval(a).ndim - 1) + [(0, n - 1)]
    padded, reversed_padded = fnp.pad(a, widths), fnp.pad(fnp.flip(a, -1), widths)
    length = m + n - 1
    if mode == "same":
        trim = min(n, m) - 1
        begin, end = trim // 2, trim - trim // 2
    elif mode == "valid":
        begin = end = min(n, m) - 1
    else:
        begin = end = 0
    return toeplitz(padded[..., begin : length - end], reversed_padded[..., length - n - begin : length - begin])


def _binom(n, k):
    """Binomial coefficients through the log-gamma function (JAX's, so not exact integers)."""
    return fnp.exp(lax.lgamma(n + 1.0) - lax.lgamma(n - k + 1.0) - lax.lgamma(k + 1.0))


def _kind(name, kind):
    kind = "symmetric" if kind is None else kind
    if kind not in ("symmetric", "lower", "upper"):
        raise ValueError(f"scipy.linalg.{name}: expected kind to be one of ['symmetric', 'lower', 'upper']; got {kind}")
    return kind


def hilbert(n):
    """The Hilbert matrix H[i, j] = 1 / (i + j + 1) of order n.

    >>> from fnad.scipy import linalg
    >>> linalg.hilbert(2)
    Array([[1.        , 0.5       ],
           [0.5       , 0.33333333]], dtype=float64)
    """
    a = fnp.arange(n, dtype=float)[:, None]
    return 1 / (a + a.T + 1)


def invhilbert(n):
    """The inverse of the Hilbert matrix of order n, from its closed form in binomial coefficients
    (floating point, as JAX: no exact=True).

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> np.round(linalg.invhilbert(2), 9)
    array([[ 4., -6.],
           [-6., 12.]])
    """
    a = fnp.arange(n, dtype=float)
    i, j = a[:, None], a[None, :]
    s = i + j
    return (-1.0) ** s * (s + 1.0) * comb(n + i, n - j - 1) * comb(n + j, n - i - 1) * comb(s, i) ** 2


def pascal(n, kind=None):
    """The Pascal matrix of order n ('symmetric', 'lower' or 'upper'), from log-gamma binomial
    coefficients in float32, as JAX's (approximate integers).

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> np.round(linalg.pascal(3, kind="lower"))
    array([[1., 0., 0.],
           [1., 1., 0.],
           [1., 2., 1.]], dtype=float32)
    """
    kind = _kind("pascal", kind)
    a = fnp.arange(n, dtype=np.float32)
    lower = _binom(a[:, None], a[None, :])
    return lower if kind == "lower" else lower.T if kind == "upper" else lower @ lower.T


def invpascal(n, kind=None):
    """The inverse of the Pascal matrix of order n: L^-1[i, j] = (-1)^(i - j) binom(i, j), U^-1 its
    transpose, the symmetric one U^-1 L^-1 (floating point, as JAX: no exact=True).

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> np.round(linalg.invpascal(3, kind="lower")) + 0.0
    array([[ 1.,  0.,  0.],
           [-1.,  1.,  0.],
           [ 1., -2.,  1.]])
    """
    kind = _kind("invpascal", kind)
    a = fnp.arange(n, dtype=float)
    i, j = a[:, None], a[None, :]
    lower = (-1.0) ** (i - j) * _binom(i, j)
    return lower if kind == "lower" else lower.T if kind == "upper" else lower.T @ lower


def helmert(n, full=False):
    """The Helmert matrix: rows of orthonormal contrasts (1, ..., 1, -k, 0, ...) / sqrt(k (k + 1)),
    (n - 1, n), with a first row of 1 / sqrt(n) when full.

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> np.round(linalg.helmert(2, full=True), 3)
    array([[ 0.707,  0.707],
           [ 0.707, -0.707]])
    """
    n = operator.index(n)
    if n < 1:
        raise ValueError(f"scipy.linalg.helmert: n must be a positive integer; got {n}.")
    i, j = np.arange(n - 1)[:, None], np.arange(n)[None, :]
    k = fnp.asarray(i + 1, dtype=float)
    denominator = fnp.sqrt(k * (k + 1))
    h = fnp.where(j <= i, 1.0 / denominator, fnp.where(j == i + 1, -k / denominator, 0.0))
    return fnp.concatenate([fnp.full((1, n), 1.0 / math.sqrt(n)), h], 0) if full else h


def hadamard(n, dtype=int):
    """The Hadamard matrix of order n (a power of 2) by Sylvester's construction: H H^T = n I.

    >>> from fnad.scipy import linalg
    >>> linalg.hadamard(2)
    Array([[ 1,  1],
           [ 1, -1]], dtype=int64)
    """
    if n < 1 or not math.log2(n).is_integer():
        raise ValueError(f"scipy.linalg.hadamard: n must be a positive power of 2; got {n}.")
    h = np.ones((1, 1))
    for _ in range(int(math.log2(n))):
        h = np.block([[h, h], [h, -h]])
    return fnp.asarray(h, dtype=dtype)


def dft(n, scale=None, *, dtype=None):
    """The discrete Fourier transform matrix W[i, j] = exp(-2 pi i j / n) of order n, scaled by
    1 / sqrt(n) (scale='sqrtn') or 1 / n (scale='n'); complex128 unless dtype says otherwise.

    >>> import numpy as np
    >>> from fnad.scipy import linalg
    >>> np.round(linalg.dft(2), 12) + 0.0
    array([[ 1.+0.j,  1.+0.j],
           [ 1.+0.j, -1.+0.j]])
    """
    if scale not in (None, "sqrtn", "n"):
        raise ValueError(f"scipy.linalg.dft: scale must be None, 'sqrtn', or 'n'; got {scale!r}.")
    dtype = np.dtype(np.complex128 if dtype is None else dtype)
    if not np.issubdtype(dtype, np.complexfloating):
        raise ValueError(f"scipy.linalg.dft: dtype must be a complex floating-point type; got {dtype}.")
    a = fnp.arange(n, dtype=dtype)
    omegas = fnp.exp(-2j * np.pi * a[:, None] * a[None, :] / n)
    return omegas / math.sqrt(n) if scale == "sqrtn" else omegas / n if scale == "n" else omegas
