"""fnad.lax.linalg: jax.lax.linalg's factorisations with JAX's signatures and defaults (full matrices,
right-side triangular solves, eigh returning (vectors, values)), over fnad.primitives.linalg and
fnad.primitives.linalg_forms (Schur, Hessenberg and tridiagonal reductions, Householder products,
tridiagonal solves), plus JAX's compositions symmetric_product, cholesky_update and qdwh.

Every function works eagerly, under vmap and under jit (LAPACK through scipy-openblas32). The
reductions and Householder products have no derivative, as in JAX (schur and hessenberg run on CPU
only in JAX; here everywhere fnad runs).
"""

from __future__ import annotations

import enum

import numpy as np

from ..core import get_aval, is_complex_dtype
from ..primitives import elementwise as ew
from ..primitives import linalg as la
from ..primitives import linalg_forms as forms
from ..primitives import shape as sh
from ..primitives.indexing import concatenate, slice_in_dim
from ..primitives.reductions import reduce_max, reduce_sum
from .control_flow import while_loop

__all__ = [
    "EigImplementation",
    "EighImplementation",
    "SvdAlgorithm",
    "cholesky",
    "cholesky_update",
    "eig",
    "eigh",
    "hessenberg",
    "householder_product",
    "lu",
    "lu_pivots_to_permutation",
    "ormqr",
    "qdwh",
    "qr",
    "schur",
    "svd",
    "symmetric_product",
    "triangular_solve",
    "tridiagonal",
    "tridiagonal_solve",
]


class EigImplementation(enum.Enum):
    """Which eig implementation (JAX's enum; fnad always runs LAPACK's geev)."""

    CUSOLVER = "cusolver"
    MAGMA = "magma"
    LAPACK = "lapack"


class EighImplementation(enum.Enum):
    """Which eigh implementation (JAX's enum; fnad always runs LAPACK's syevd)."""

    QR = "qr"
    JACOBI = "jacobi"
    QDWH = "qdwh"


class SvdAlgorithm(enum.Enum):
    """Which svd algorithm (JAX's enum; fnad always runs LAPACK's gesdd)."""

    DEFAULT = "default"
    QR = "QR"
    JACOBI = "Jacobi"
    POLAR = "polar"
    DIVIDE_AND_CONQUER = "divide_and_conquer"


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


def _inexact_operand(name, x):
    """x as an fnad value, floating or complex (integer input is refused as JAX refuses it)."""
    dtype = get_aval(x).dtype
    if not np.issubdtype(dtype, np.inexact):
        raise TypeError(f"lax.linalg.{name}: expected a floating-point or complex array, got dtype {dtype.name}")
    return x


def schur(x, *, compute_schur_vectors=True, sort_eig_vals=False, select_callable=None):
    """[T, Z] with x = Z T Z^H, Z unitary and T upper triangular (complex x) or quasi upper triangular
    with 2x2 blocks for complex-conjugate eigenvalue pairs (real x); [T] without compute_schur_vectors
    (lists, as JAX's). Not differentiable (as in JAX).

    >>> import numpy as np
    >>> from fnad import lax
    >>> t, z = lax.linalg.schur(np.array([[1.0, 2.0], [0.0, 3.0]]))
    >>> np.round(np.diag(t), 12)
    array([1., 3.])
    """
    if sort_eig_vals or select_callable is not None:
        raise NotImplementedError(
            "lax.linalg.schur: sorting the eigenvalues (gees's sort) is not implemented, as in JAX"
        )
    return forms.schur(_inexact_operand("schur", x), compute_schur_vectors=compute_schur_vectors)


def hessenberg(a):
    """[a, taus]: the Hessenberg form H of square matrices in a's upper triangle and first subdiagonal,
    the Householder reflectors of Q (a = Q H Q^H) below it with their scalars taus (..., n - 1), as
    LAPACK's gehrd. Not differentiable (as in JAX).

    >>> import numpy as np
    >>> from fnad import lax
    >>> h, taus = lax.linalg.hessenberg(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [0.0, 8.0, 9.0]]))
    >>> taus
    Array([0., 0.], dtype=float64)
    """
    return forms.hessenberg(_inexact_operand("hessenberg", a))


def householder_product(a, taus):
    """The (..., m, n) matrix with orthonormal columns H(0) ... H(k-1) [I; 0] of the reflectors
    H(i) = I - taus[i] v_i v_i^H stored below a's diagonal (as geqrf leaves them), as LAPACK's orgqr.

    >>> import numpy as np
    >>> from fnad import lax
    >>> lax.linalg.householder_product(np.array([[0.0], [1.0]]), np.array([1.0]))
    Array([[ 0.],
           [-1.]], dtype=float64)
    """
    return forms.householder_product(_inexact_operand("householder_product", a), taus)


def ormqr(a, taus, c, *, left=True, transpose=False):
    """Q c (left), c Q (left=False), or with Q^H (transpose), for Q = H(0) ... H(k-1) the product of
    the Householder reflectors stored in a and taus (geqrf's output), without forming Q.

    >>> import numpy as np
    >>> from fnad import lax
    >>> lax.linalg.ormqr(np.array([[0.0], [1.0]]), np.array([1.0]), np.eye(2))  # H = I - [1 1]^T [1 1]
    Array([[ 0., -1.],
           [-1.,  0.]], dtype=float64)
    """
    return forms.ormqr(_inexact_operand("ormqr", a), taus, c, left=left, transpose=transpose)


def tridiagonal(a, *, lower=True):
    """[a, d, e, taus]: symmetric (Hermitian) matrices reduced to tridiagonal T = Q^H a Q from their
    lower (or upper) triangle, as LAPACK's sytrd/hetrd: real diagonal d, real off-diagonal e, the
    reflectors of Q beyond them in a with their scalars taus. Not differentiable (as in JAX).

    >>> import numpy as np
    >>> from fnad import lax
    >>> _, d, e, _ = lax.linalg.tridiagonal(np.array([[2.0, 1.0, 0.0], [1.0, 2.0, 1.0], [0.0, 1.0, 2.0]]))
    >>> d, e
    (Array([2., 2., 2.], dtype=float64), Array([1., 1.], dtype=float64))
    """
    return forms.tridiagonal(_inexact_operand("tridiagonal", a), lower=lower)


def tridiagonal_solve(dl, d, du, b, *, perturb_singular=False):
    """x with A x = b for the tridiagonal A with lower diagonal dl (dl[..., 0] unused), diagonal d and
    upper diagonal du (du[..., -1] unused), each (..., m); b is (..., m, k). Gaussian elimination with
    partial pivoting (LAPACK's gtsv); NaN for singular A. Differentiable in all four arguments.

    >>> import numpy as np
    >>> from fnad import lax
    >>> lax.linalg.tridiagonal_solve(np.array([0.0, 1.0]), np.array([2.0, 2.0]), np.array([1.0, 0.0]),
    ...                              np.array([[3.0], [3.0]]))
    Array([[1.],
           [1.]], dtype=float64)
    """
    if perturb_singular:
        raise NotImplementedError("lax.linalg.tridiagonal_solve: perturb_singular=True is not implemented")
    return forms.tridiagonal_solve(*(_inexact_operand("tridiagonal_solve", v) for v in (dl, d, du, b)))


def symmetric_product(a_matrix, c_matrix, *, alpha=1.0, beta=0.0, symmetrize_output=False):
    """alpha a a^T + beta c for a (..., m, n) and symmetric c (..., m, m); with symmetrize_output the
    upper triangle is the lower one's transpose (JAX promises only the lower triangle otherwise).

    >>> import numpy as np
    >>> from fnad import lax
    >>> lax.linalg.symmetric_product(np.array([[1.0, 2.0]]), np.array([[1.0]]), alpha=2.0, beta=3.0)
    Array([[13.]], dtype=float64)
    """
    a, c = _float("symmetric_product", a_matrix), _float("symmetric_product", c_matrix)
    ashape, cshape = get_aval(a).shape, get_aval(c).shape
    if len(ashape) < 2 or len(cshape) < 2 or cshape[-1] != cshape[-2] or ashape[-2] != cshape[-1]:
        raise ValueError(
            f"lax.linalg.symmetric_product: expected a (..., m, n) and c (..., m, m), got shapes {ashape} and {cshape}"
        )
    out = ew.add(ew.mul(la.matmul(a, la.swap_last(a)), ew.scalar_like(a, alpha)), ew.mul(c, ew.scalar_like(c, beta)))
    return ew.add(la.tril(out), la.swap_last(la.tril(out, -1))) if symmetrize_output else out


def cholesky_update(r_matrix, w_vector):
    """The upper Cholesky factor of R^T R + w w^T from the upper factor R (n, n) of R^T R and w (n,):
    Givens rotations, O(n^2) work (JAX's algorithm; differentiable here, where JAX's is not).

    >>> import numpy as np
    >>> from fnad import lax
    >>> lax.linalg.cholesky_update(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0.0, 1.0]))
    Array([[1.        , 0.        ],
           [0.        , 1.41421356]], dtype=float64)
    """
    r, z = _float("cholesky_update", r_matrix), _float("cholesky_update", w_vector)
    rshape, zshape = get_aval(r).shape, get_aval(z).shape
    if len(rshape) != 2 or rshape[0] != rshape[1] or zshape != rshape[:1] or get_aval(r).dtype != get_aval(z).dtype:
        raise ValueError(
            "lax.linalg.cholesky_update: expected a square matrix (n, n) and a vector (n,) of one dtype, "
            f"got {get_aval(r).str_short()} and {get_aval(z).str_short()}"
        )
    n = rshape[0]
    rows = [sh.reshape(slice_in_dim(r, k, k + 1, axis=0), (n,)) for k in range(n)]
    for k in range(n):
        x, y = _entry(rows[k], k), _entry(z, k)
        # drotg: c = x / h, s = -y / h with h = hypot(x, y), scaled by max(|x|, |y|) against overflow
        scale = ew.max(ew.abs(x), ew.abs(y))
        nonzero = ew.ne(y, ew.scalar_like(y, 0))
        safe = ew.select(ew.eq(scale, ew.scalar_like(scale, 0)), ew.scalar_like(scale, 1), scale)
        xs, ys = ew.div(x, safe), ew.div(y, safe)
        rh = ew.rsqrt(ew.add(ew.mul(xs, xs), ew.mul(ys, ys)))
        c = ew.select(nonzero, ew.mul(xs, rh), ew.scalar_like(x, 1))
        s = ew.select(nonzero, ew.neg(ew.mul(ys, rh)), ew.scalar_like(x, 0))
        row, c_, s_ = rows[k], sh.broadcast_in_dim(c, (n,), ()), sh.broadcast_in_dim(s, (n,), ())
        rows[k] = ew.sub(ew.mul(c_, row), ew.mul(s_, z))
        z = ew.add(ew.mul(c_, z), ew.mul(s_, row))
    return concatenate([sh.reshape(row, (1, n)) for row in rows], 0)


def _entry(v, k):
    """v[k] of a vector, as a scalar."""
    return sh.reshape(slice_in_dim(v, k, k + 1, axis=0), ())


def _frobenius(x):
    absx = ew.abs(x)
    return ew.sqrt(reduce_sum(ew.mul(absx, absx), tuple(range(get_aval(x).ndim))))


def _eye(n, dtype):
    return ew.convert_element_type(la.eye_mask((n, n)), dtype)


def _qdwh_qr_step(u, params):
    """e u + (a - e) / sqrt(c) Q1 Q2^H with [sqrt(c) u; I] = [Q1; Q2] R (QDWH's QR form)."""
    a_minus_e_by_sqrt_c, sqrt_c, e = params
    m, n = get_aval(u).shape
    q, _ = la.qr(concatenate([ew.mul(u, ew.scalar_like(u, sqrt_c)), _eye(n, get_aval(u).dtype)], 0))
    q1, q2 = slice_in_dim(q, 0, m, axis=0), slice_in_dim(q, m, m + n, axis=0)
    return ew.add(
        ew.mul(u, ew.scalar_like(u, e)), ew.mul(la.matmul(q1, la.adjoint(q2)), ew.scalar_like(u, a_minus_e_by_sqrt_c))
    )


def _qdwh_cholesky_step(u, params):
    """e u + (a - e) u (c u^H u + I)^-1 (QDWH's Cholesky form)."""
    a_minus_e, c, e = params
    n = get_aval(u).shape[1]
    dtype = get_aval(u).dtype
    y = la.cholesky(ew.add(ew.mul(la.matmul(la.adjoint(u), u), ew.scalar_like(u, c)), _eye(n, dtype)))
    # z = u (y y^H)^-1 through two triangular solves from the right
    z = la.triangular_solve(y, u, left_side=False, lower=True, transpose_a=True, conjugate_a=True)
    z = la.triangular_solve(y, z, left_side=False, lower=True)
    return ew.add(ew.mul(u, ew.scalar_like(u, e)), ew.mul(z, ew.scalar_like(u, a_minus_e)))


def _qdwh_schedule(eps, max_iterations):
    """JAX's static QDWH weights: QR-form steps while c > 100, then Cholesky-form steps, until the
    lower bound l of the singular values reaches 1 (to within 5 eps) or max_iterations."""
    qr_params, chol_params = [], []
    l, tol_l = eps, 10.0 * eps / 2.0
    while l + tol_l < 1 and len(qr_params) + len(chol_params) < max_iterations:
        l2 = l * l
        dd = (4 * (1 / l2 - 1) / l2) ** (1 / 3)
        sqd = (1.0 + dd) ** (1 / 2)
        a = sqd + (2 - dd + 2 * (2 - l2) / (l2 * sqd)) ** (1 / 2)
        b = (a - 1) ** 2 / 4
        c = a + b - 1
        l = l * (a + b * l2) / (1 + c * l2)
        e = b / c
        if c > 100:
            qr_params.append(((a - e) / c ** (1 / 2), c ** (1 / 2), e))
        else:
            chol_params.append((a - e, c, e))
    return qr_params, chol_params


def qdwh(x, *, is_hermitian=False, max_iterations=None, eps=None, dynamic_shape=None):
    """(u, h, num_iters, is_converged): the polar decomposition x = u h of a full-rank (m, n) matrix,
    m >= n, by the QR-based dynamically weighted Halley iteration (JAX's schedule and stopping rule).

    >>> import numpy as np
    >>> from fnad import lax
    >>> u, h, iters, ok = lax.linalg.qdwh(np.array([[2.0, 0.0], [0.0, -3.0]]))
    >>> np.round(np.asarray(u), 8), np.round(np.asarray(h), 8), bool(ok)
    (array([[ 1.,  0.],
           [ 0., -1.]]), array([[2., 0.],
           [0., 3.]]), True)
    """
    if dynamic_shape is not None:
        raise NotImplementedError("lax.linalg.qdwh: dynamic_shape (a padded input) is not supported")
    x = _inexact_operand("qdwh", x)
    aval = get_aval(x)
    if aval.ndim != 2 or aval.shape[0] < aval.shape[1]:
        raise ValueError(f"lax.linalg.qdwh: expected one (m, n) matrix with m >= n, got shape {aval.shape}")
    max_iterations = 10 if max_iterations is None else int(max_iterations)
    real = np.finfo(aval.dtype).dtype
    eps = float(np.finfo(real).eps) if eps is None else float(eps)
    tol_norm = (10.0 * eps / 2.0) ** (1 / 3)
    absx = ew.abs(x)
    one_norm, inf_norm = reduce_max(reduce_sum(absx, (0,)), (0,)), reduce_max(reduce_sum(absx, (1,)), (0,))
    zero_norm = ew.eq(one_norm, ew.scalar_like(one_norm, 0))
    alpha_inverse = ew.mul(ew.rsqrt(one_norm), ew.rsqrt(inf_norm))
    alpha_inverse = ew.select(zero_norm, ew.scalar_like(alpha_inverse, 1), alpha_inverse)
    u = ew.mul(x, ew.convert_element_type(alpha_inverse, aval.dtype) if is_complex_dtype(aval.dtype) else alpha_inverse)
    qr_params, chol_params = _qdwh_schedule(eps, max_iterations)
    for params in qr_params:
        u = _qdwh_qr_step(u, params)
    not_converged = np.bool_(True)
    for params in chol_params:
        previous, u = u, _qdwh_cholesky_step(u, params)
        not_converged = ew.gt(_frobenius(ew.sub(u, previous)), ew.scalar_like(one_norm, tol_norm))

    def more(state):
        k, _, going = state
        return ew.bitwise_and(going, ew.lt(k, np.int32(max_iterations)))

    def step(state):
        k, u, _ = state
        new = _qdwh_cholesky_step(u, (3.0 - 1.0 / 3.0, 3.0, 1.0 / 3.0))  # the Halley limit a = 3, b = 1, c = 3
        return ew.add(k, np.int32(1)), new, ew.gt(_frobenius(ew.sub(new, u)), ew.scalar_like(one_norm, tol_norm))

    start = np.int32(len(qr_params) + len(chol_params))
    num_iters, u, not_converged = while_loop(more, step, (start, u, ew.convert_element_type(not_converged, np.bool_)))
    # one Newton-Schulz step polishes the orthogonality: u (3 I - u^H u) / 2
    u = ew.sub(
        ew.mul(u, ew.scalar_like(u, 1.5)), ew.mul(la.matmul(u, la.matmul(la.adjoint(u), u)), ew.scalar_like(u, 0.5))
    )
    h = la.symmetrize(la.matmul(la.adjoint(u), x))
    return u, h, num_iters, ew.eq(not_converged, np.bool_(False))
