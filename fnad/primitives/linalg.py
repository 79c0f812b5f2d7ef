"""Linear-algebra primitives on stacks of matrices (all leading axes are batch axes): cholesky,
triangular_solve, lu, eigh, qr, geqrf, svd and eig, real or complex, with jvp rules from the standard
matrix-calculus identities (conjugate transposes for complex matrices, as JAX's).

Under jit they call LAPACK (fnad_compiler/lower/linalg.py). Complex operands reach those lowerings as
interleaved float buffers (the complex contract: `complex_native`); where the avals alone cannot tell a
complex matrix from a real stack, the primitive carries the param `complex_layout` (set by its binding
function from the dtype, checked by its shape rule).

Implementations are NumPy only: np.linalg where it has the factorisation (cholesky, eigh, qr) and
short vectorised loops otherwise (triangular substitution and partially pivoted LU iterate over
rows/columns, each step a whole-stack NumPy operation). vmap moves the batch axis to the front,
where it joins the leading batch axes.
"""

from __future__ import annotations

import numpy as np

from ..ad_util import Zero, tangent_aval
from ..core import Primitive, ShapedArray, get_aval, is_complex_dtype, is_float_dtype, real_dtype
from ..transforms.batching import move_bdim
from ..transforms.jvp import defjvp
from ..transforms.reverse import is_undefined
from . import elementwise as ew
from . import shape as sh
from .dot import dot_general
from .indexing import concatenate, slice_in_dim
from .reductions import argmax, reduce_sum

# ----------------------------------------------------------------------------------------------
# Matrix helpers on stacks (..., m, n), built from primitives


def swap_last(x):
    """Transpose of every matrix of the stack."""
    nd = get_aval(x).ndim
    return sh.transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def matmul(a, b):
    """Stacked matrix product (equal leading axes)."""
    nd = get_aval(a).ndim
    batch = tuple(range(nd - 2))
    return dot_general(a, b, (((nd - 1,), (nd - 2,)), (batch, batch)))


def _index_grids(shape):
    nd = len(shape)
    return sh.iota(np.int32, shape, nd - 2), sh.iota(np.int32, shape, nd - 1)


def tri_mask(shape, lower, k=0):
    """Boolean mask of the lower (col <= row + k) or upper (col >= row + k) triangle."""
    rows, cols = _index_grids(shape)
    rows = ew.add(rows, np.int32(k))
    return ew.le(cols, rows) if lower else ew.ge(cols, rows)


def eye_mask(shape):
    rows, cols = _index_grids(shape)
    return ew.eq(rows, cols)


def tril(x, k=0):
    return ew.select(tri_mask(get_aval(x).shape, True, k), x, ew.scalar_like(x, 0))


def triu(x, k=0):
    return ew.select(tri_mask(get_aval(x).shape, False, k), x, ew.scalar_like(x, 0))


def diagonal(x):
    """The diagonals of a stack of square matrices: (..., m, m) -> (..., m)."""
    return reduce_sum(ew.select(eye_mask(get_aval(x).shape), x, ew.scalar_like(x, 0)), (get_aval(x).ndim - 1,))


def symmetrize(x):
    """(x + x^H) / 2: the symmetric (Hermitian) part."""
    return ew.mul(ew.add(x, adjoint(x)), ew.scalar_like(x, 0.5))


def _is_complex(x):
    return is_complex_dtype(get_aval(x).dtype)


def _as_dtype_of(x, like):
    """x converted to like's dtype (a real matrix entering complex arithmetic)."""
    dtype = get_aval(like).dtype
    return x if get_aval(x).dtype == dtype else ew.convert_element_type(x, dtype)


def _broadcast_last(v, shape, along_rows):
    """A stack of vectors (..., m) spread over (..., m, m): v[i] at (i, j) (along_rows) or (j, i)."""
    nb = len(shape) - 2
    return sh.broadcast_in_dim(v, shape, tuple(range(nb)) + ((nb,) if along_rows else (nb + 1,)))


# ----------------------------------------------------------------------------------------------
# Shared rules


def _check_matrix(name, a, square=True):
    if a.ndim < 2 or (square and a.shape[-1] != a.shape[-2]):
        raise ValueError(
            f"{name}: expected a {'square ' if square else ''}matrix or a stack of them "
            f"(shape (..., m, m)), got shape {a.shape}"
        )
    if not is_float_dtype(a.dtype):
        raise TypeError(
            f"{name}: expected a floating-point matrix, got dtype {a.dtype.name}. Hint: convert with .astype(float)."
        )


def _checked_bind(prim, *args, **params):
    """Bind after the shape/dtype rule, so eager calls get the same errors as traced ones."""
    prim.abstract_eval(*[get_aval(a) for a in args], **params)
    return prim.bind(*args, **params)


def _define(prim, impl, abstract_eval, jvp):
    prim.impl, prim.abstract_eval, prim.jvp = impl, abstract_eval, jvp
    _batch_leading(prim)


def _batch_leading(prim):
    """vmap: the batch axis moves to the front of every operand and joins the leading batch axes."""

    def rule(vals, dims, axis_size, **params):
        vals = [move_bdim(v, d, 0, axis_size) for v, d in zip(vals, dims)]
        out = prim.bind(*vals, **params)
        return out, ([0] * len(out) if prim.multiple_results else 0)

    prim.batch = rule
    prim.batch_needs_size = True


# ----------------------------------------------------------------------------------------------
# cholesky: the lower factor L of a symmetric positive-definite A = L L^T (reads A's lower
# triangle); NaN for matrices that are not positive definite, as in JAX.

cholesky_p = Primitive("cholesky")


def _cholesky_impl(a, complex_layout=False):
    a = np.asarray(a)
    try:
        return np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        flat = a.reshape((-1,) + a.shape[-2:])
        out = np.full_like(flat, np.nan)
        for i, m in enumerate(flat):
            try:
                out[i] = np.linalg.cholesky(m)
            except np.linalg.LinAlgError:
                pass
        return out.reshape(a.shape)


def _cholesky_eval(a, complex_layout=False):
    _check_matrix("cholesky", a)
    _check_layout("cholesky", a, complex_layout)
    return a.strip_weak()


def _cholesky_jvp(primals, tangents, complex_layout=False):
    # dL = L Phi(L^-1 dA L^-H), Phi: lower triangle with the diagonal halved (dA made Hermitian).
    (a,), (da,) = primals, tangents
    l = cholesky(a)
    if type(da) is Zero:
        return l, Zero(tangent_aval(get_aval(l)))
    da = symmetrize(da)
    x = triangular_solve(l, da, left_side=False, lower=True, transpose_a=True, conjugate_a=True)
    x = triangular_solve(l, x, left_side=True, lower=True)
    shape = get_aval(x).shape
    half_diag = ew.select(eye_mask(shape), ew.mul(x, ew.scalar_like(x, 0.5)), ew.scalar_like(x, 0))
    phi = ew.select(tri_mask(shape, True, -1), x, half_diag)
    return l, matmul(l, phi)


_define(cholesky_p, _cholesky_impl, _cholesky_eval, _cholesky_jvp)
cholesky_p.complex_native = True


def _layout(*operands):
    """{'complex_layout': True} for complex operands (how their lowering tells them from real stacks), else {}."""
    return {"complex_layout": True} if any(_is_complex(x) for x in operands) else {}


def _check_layout(name, aval, complex_layout):
    if bool(complex_layout) != is_complex_dtype(aval.dtype):
        raise ValueError(f"{name}: complex_layout={complex_layout} does not match dtype {aval.dtype.name}")


def cholesky(a):
    return _checked_bind(cholesky_p, a, **_layout(a))


# ----------------------------------------------------------------------------------------------
# triangular_solve: x with op(a) x = b (left_side) or x op(a) = b, op(a) = a, conj(a) (conjugate_a),
# a^T (transpose_a) or a^H (both), where only the lower or upper triangle of a is read (and not its diagonal
# when unit_diagonal).

triangular_solve_p = Primitive("triangular_solve")


def _substitute(a, b, lower, unit_diagonal):
    """Solve a x = b for x by forward (lower) or backward substitution, row by row."""
    m = a.shape[-1]
    x = np.array(b, dtype=np.result_type(a, b), copy=True)
    for i in range(m) if lower else range(m - 1, -1, -1):
        known = slice(0, i) if lower else slice(i + 1, m)
        if known.start != known.stop:
            x[..., i, :] -= (a[..., i : i + 1, known] @ x[..., known, :])[..., 0, :]
        if not unit_diagonal:
            x[..., i, :] /= a[..., i, i, None]
    return x


@np.errstate(divide="ignore", invalid="ignore")  # singular matrices give inf/NaN, as LAPACK's trsm
def _triangular_solve_impl(a, b, left_side, lower, transpose_a, conjugate_a, unit_diagonal, complex_layout=False):
    a, b = np.asarray(a), np.asarray(b)
    if conjugate_a:
        a = np.conj(a)
    if transpose_a:
        a, lower = np.swapaxes(a, -1, -2), not lower
    if left_side:
        return _substitute(a, b, lower, unit_diagonal)
    # x op(a) = b  <=>  op(a)^T x^T = b^T
    return np.swapaxes(_substitute(np.swapaxes(a, -1, -2), np.swapaxes(b, -1, -2), not lower, unit_diagonal), -1, -2)


def _triangular_solve_eval(a, b, left_side, lower, transpose_a, conjugate_a, unit_diagonal, complex_layout=False):
    _check_matrix("triangular_solve", a)
    _check_matrix("triangular_solve", b, square=False)
    _check_layout("triangular_solve", a, complex_layout)
    m = a.shape[-1]
    side = b.shape[-2] if left_side else b.shape[-1]
    if a.shape[:-2] != b.shape[:-2] or side != m or a.dtype != b.dtype:
        which = "b.shape[-2]" if left_side else "b.shape[-1]"
        raise ValueError(
            f"triangular_solve: incompatible a {a.str_short()} and b {b.str_short()} "
            f"(left_side={left_side}): need equal leading axes, equal dtypes and {which} == "
            f"{m}. Hint: fnad.numpy.linalg.solve broadcasts for you."
        )
    return b.strip_weak()


def _op_triangle(x, lower, transpose_a, conjugate_a, unit_diagonal):
    """op(tri(x)): the part of x the solve reads, transposed (and conjugated) as op says."""
    x = tril(x, -1 if unit_diagonal else 0) if lower else triu(x, 1 if unit_diagonal else 0)
    x = ew.conj(x) if conjugate_a else x
    return swap_last(x) if transpose_a else x


def _triangular_solve_jvp_a(
    g, x, a, b, left_side, lower, transpose_a, conjugate_a, unit_diagonal, complex_layout=False
):
    # d(op(a)) x + op(a) dx = 0  =>  dx = -op(a)^-1 op(da) x   (mirrored for the right side)
    dop = _op_triangle(g, lower, transpose_a, conjugate_a, unit_diagonal)
    rhs = matmul(dop, x) if left_side else matmul(x, dop)
    return ew.neg(triangular_solve(a, rhs, left_side, lower, transpose_a, conjugate_a, unit_diagonal))


def _triangular_solve_transpose(
    ct, a, b, left_side, lower, transpose_a, conjugate_a, unit_diagonal, complex_layout=False
):
    if is_undefined(a):
        raise ValueError("triangular_solve: transpose with respect to the matrix (the IR is not linear in a)")
    # the linear transpose (not the adjoint): op(a)^T flips the transposition and keeps the conjugation
    return [None, triangular_solve(a, ct, left_side, lower, not transpose_a, conjugate_a, unit_diagonal)]


triangular_solve_p.impl = _triangular_solve_impl
triangular_solve_p.abstract_eval = _triangular_solve_eval
triangular_solve_p.transpose = _triangular_solve_transpose
triangular_solve_p.complex_native = True
defjvp(
    triangular_solve_p, _triangular_solve_jvp_a, lambda g, x, a, b, **params: triangular_solve_p.bind(a, g, **params)
)
_batch_leading(triangular_solve_p)


def triangular_solve(a, b, left_side=True, lower=True, transpose_a=False, conjugate_a=False, unit_diagonal=False):
    if _is_complex(a) != _is_complex(b):  # one complex: both (a real triangle solving complex right-hand sides)
        a, b = (_as_dtype_of(a, b), b) if _is_complex(b) else (a, _as_dtype_of(b, a))
    return _checked_bind(
        triangular_solve_p,
        a,
        b,
        left_side=bool(left_side),
        lower=bool(lower),
        transpose_a=bool(transpose_a),
        conjugate_a=bool(conjugate_a) and _is_complex(a),
        unit_diagonal=bool(unit_diagonal),
        **_layout(a),
    )


# ----------------------------------------------------------------------------------------------
# lu: partially pivoted P A = L U of square matrices. Outputs (lu, pivots, permutation): L's strict
# lower triangle (unit diagonal implied) and U packed in `lu`; pivots[i] = the row swapped with row
# i at step i (LAPACK's convention, 0-based); A[permutation] = L U.

lu_p = Primitive("lu", multiple_results=True)


def _lu_impl(a):
    a = np.asarray(a)
    m = a.shape[-1]
    lu = a.reshape((-1, m, m)).copy()
    stacks = np.arange(lu.shape[0])
    pivots = np.zeros((lu.shape[0], m), np.int32)
    perm = np.tile(np.arange(m, dtype=np.int32), (lu.shape[0], 1))
    for k in range(m):
        p = k + np.argmax(np.abs(lu[:, k:, k]), axis=1)
        pivots[:, k] = p
        lu[stacks, k], lu[stacks, p] = lu[stacks, p], lu[stacks, k].copy()
        perm[stacks, k], perm[stacks, p] = perm[stacks, p], perm[stacks, k].copy()
        pivot = lu[:, k, k]
        lu[:, k + 1 :, k] /= np.where(pivot == 0, 1, pivot)[:, None]  # a zero pivot: column is zero
        lu[:, k + 1 :, k + 1 :] -= lu[:, k + 1 :, k : k + 1] * lu[:, k : k + 1, k + 1 :]
    batch = a.shape[:-2]
    return [lu.reshape(a.shape), pivots.reshape(batch + (m,)), perm.reshape(batch + (m,))]


def _lu_eval(a):
    _check_matrix("lu", a)
    idx = ShapedArray(a.shape[:-1], np.int32)
    return [a.strip_weak(), idx, idx]


def permutation_matrix(perm, dtype):
    """P with P[..., i, j] = (perm[..., i] == j), so (P A)[i] = A[perm[i]]."""
    shape = get_aval(perm).shape + get_aval(perm).shape[-1:]
    return ew.convert_element_type(ew.eq(_broadcast_last(perm, shape, True), _index_grids(shape)[1]), dtype)


def _lu_jvp(primals, tangents):
    # With P A = L U:  L^-1 P dA U^-1 = L^-1 dL + dU U^-1, strictly lower + upper parts.
    (a,), (da,) = primals, tangents
    lu_, pivots, perm = lu_p.bind(a)
    zeros = [Zero(tangent_aval(get_aval(pivots))), Zero(tangent_aval(get_aval(perm)))]
    if type(da) is Zero:
        return [lu_, pivots, perm], [Zero(tangent_aval(get_aval(lu_)))] + zeros
    dtype = get_aval(lu_).dtype
    shape = get_aval(lu_).shape
    pda = matmul(permutation_matrix(perm, dtype), da)
    x = triangular_solve(lu_, pda, left_side=True, lower=True, unit_diagonal=True)
    x = triangular_solve(lu_, x, left_side=False, lower=False)
    l = ew.select(tri_mask(shape, True, -1), lu_, ew.convert_element_type(eye_mask(shape), dtype))
    dlu = ew.add(matmul(l, tril(x, -1)), matmul(triu(x), triu(lu_)))
    return [lu_, pivots, perm], [dlu] + zeros


_define(lu_p, _lu_impl, _lu_eval, _lu_jvp)
lu_p.complex_native = True  # the lowering tells complex input by its integer pivots' shape


def lu(a):
    return _checked_bind(lu_p, a)


# ----------------------------------------------------------------------------------------------
# eigh: eigenvectors V (columns) and eigenvalues w (ascending, real) of symmetric (Hermitian) matrices,
# reading the lower (or upper) triangle. Derivatives: dw = real(diag(V^H dA V)), dV = V (F o V^H dA V)
# with F[i, j] = 1 / (w[j] - w[i]) off the diagonal (infinite for repeated eigenvalues, as in JAX).

eigh_p = Primitive("eigh", multiple_results=True)


def _eigh_impl(a, lower):
    w, v = np.linalg.eigh(np.asarray(a), UPLO="L" if lower else "U")
    return [v, w]


def _eigh_eval(a, lower):
    _check_matrix("eigh", a)
    return [a.strip_weak(), ShapedArray(a.shape[:-1], real_dtype(a.dtype))]


def _eigh_jvp(primals, tangents, lower):
    (a,), (da,) = primals, tangents
    v, w = eigh_p.bind(a, lower=lower)
    if type(da) is Zero:
        return [v, w], [Zero(tangent_aval(get_aval(v))), Zero(tangent_aval(get_aval(w)))]
    vt_da_v = matmul(adjoint(v), matmul(symmetrize(da), v))
    shape = get_aval(v).shape
    eye = ew.convert_element_type(eye_mask(shape), get_aval(w).dtype)
    gaps = ew.sub(_broadcast_last(w, shape, False), _broadcast_last(w, shape, True))  # w[j] - w[i]
    f = _as_dtype_of(ew.sub(ew.div(ew.scalar_like(eye, 1), ew.add(gaps, eye)), eye), v)
    dw = diagonal(vt_da_v)
    return [v, w], [matmul(v, ew.mul(f, vt_da_v)), ew.real(dw) if _is_complex(dw) else dw]


_define(eigh_p, _eigh_impl, _eigh_eval, _eigh_jvp)
eigh_p.complex_native = True  # the lowering tells complex input by its real eigenvalues' shape


def eigh(a, lower=True):
    """(V, w): eigenvectors and ascending eigenvalues of the symmetric matrices a."""
    return _checked_bind(eigh_p, a, lower=bool(lower))


# ----------------------------------------------------------------------------------------------
# qr: A = Q R of (..., m, n) with k = min(m, n): reduced (Q (..., m, k) with orthonormal columns, R
# (..., k, n) upper trapezoidal) or full (Q (..., m, m), R (..., m, n)); LAPACK's signs (geqrf). jvp
# (Walter & Lehmann, as JAX): for m >= n with X = Q^T dA R^-1 and W = tril(X, -1) - tril(X, -1)^T,
# dR = (X - W) R and dQ = dA R^-1 - Q X + Q W; a wide matrix [A1 A2] (m < n) differentiates its square
# block A1 = Q R1 that way and R2 = Q^T A2 by the product rule; the full Q of a tall matrix follows
# arXiv:2409.13374 (LAPACK's completion, differentiated through its construction), as JAX.

qr_p = Primitive("qr", multiple_results=True)


def _qr_eval(a, full_matrices, complex_layout=False):
    _check_matrix("qr", a, square=False)
    _check_layout("qr", a, complex_layout)
    m, n = a.shape[-2:]
    k = m if full_matrices else min(m, n)
    return [ShapedArray(a.shape[:-2] + (m, k), a.dtype), ShapedArray(a.shape[:-2] + (k, n), a.dtype)]


def _qr_impl(a, full_matrices, complex_layout=False):
    return list(np.linalg.qr(np.asarray(a), mode="complete" if full_matrices else "reduced"))


def _thin_qr_jvp(q, r, da):
    da_rinv = triangular_solve(r, da, left_side=False, lower=False)
    x = matmul(adjoint(q), da_rinv)
    x_low = tril(x, -1)
    w = ew.sub(x_low, adjoint(x_low))  # skew-Hermitian
    if _is_complex(x):  # the imaginary part of X's diagonal belongs to W too (JAX's correction)
        w = ew.add(
            w, ew.select(eye_mask(get_aval(x).shape), ew.sub(x, _as_dtype_of(ew.real(x), x)), ew.scalar_like(x, 0))
        )
    return ew.add(da_rinv, matmul(q, ew.sub(w, x))), matmul(ew.sub(x, w), r)


def _qr_jvp(primals, tangents, full_matrices, complex_layout=False):
    (a,), (da,) = primals, tangents
    q, r = qr_p.bind(a, full_matrices=full_matrices, **_layout(a))
    if type(da) is Zero:
        return [q, r], [Zero(tangent_aval(get_aval(q))), Zero(tangent_aval(get_aval(r)))]
    m, n = get_aval(a).shape[-2:]
    if m < n:
        dq, dr1 = _thin_qr_jvp(q, _last_cols(r, 0, m), _last_cols(da, 0, m))
        a2, da2 = _last_cols(a, m, n), _last_cols(da, m, n)
        dr2 = ew.add(matmul(adjoint(dq), a2), matmul(adjoint(q), da2))
        return [q, r], [dq, concatenate([dr1, dr2], get_aval(a).ndim - 1)]
    if not full_matrices or m == n:
        dq, dr = _thin_qr_jvp(q, r, da)
        return [q, r], [dq, dr]
    # full Q of a tall matrix (arXiv:2409.13374, eqs. 32-33, as JAX): the thin part as above, the
    # completion's columns from Z = Q_pn (Q_nn - I)^-1, where Q_nn, Q_pn are the thin Q's top n and
    # bottom m - n rows
    q_mn, q_mp = _last_cols(q, 0, n), _last_cols(q, n, m)
    dq_mn, dr_nn = _thin_qr_jvp(q_mn, _rows(r, 0, n), da)
    q_nn, q_pn = _rows(q_mn, 0, n), _rows(q_mn, n, m)
    eye = ew.convert_element_type(eye_mask(get_aval(q_nn).shape), get_aval(q).dtype)
    z_h = _solve(adjoint(ew.sub(q_nn, eye)), adjoint(q_pn))
    z = adjoint(z_h)
    correction = adjoint(ew.sub(_rows(dq_mn, n, m), matmul(z, _rows(dq_mn, 0, n))))
    dq_mp = ew.sub(matmul(dq_mn, z_h), matmul(ew.add(q_mn, matmul(q_mp, z)), correction))
    zeros = _zeros_stack(get_aval(r).shape[:-2], m - n, n, get_aval(r).dtype)
    dr = concatenate([dr_nn, zeros], get_aval(r).ndim - 2)
    return [q, r], [concatenate([dq_mn, dq_mp], get_aval(q).ndim - 1), dr]


def _last_cols(x, start, stop):
    """x[..., :, start:stop]."""
    return slice_in_dim(x, start, stop, axis=get_aval(x).ndim - 1)


def _rows(x, start, stop):
    """x[..., start:stop, :]."""
    return slice_in_dim(x, start, stop, axis=get_aval(x).ndim - 2)


_define(qr_p, _qr_impl, _qr_eval, _qr_jvp)
qr_p.complex_native = True


def qr(a, full_matrices=False):
    """(Q, R) with A = Q R: reduced (Q (..., m, min(m, n))) or full (Q (..., m, m))."""
    aval = get_aval(a)
    qr_p.abstract_eval(aval, full_matrices=bool(full_matrices), **_layout(a))
    m, n = aval.shape[-2:]
    if m == 0 or n == 0:  # nothing to factor: Q is (part of) the identity, R is empty or zero
        k = m if full_matrices else min(m, n)
        return [_eye_stack(aval.shape[:-2], m, k, aval.dtype), _zeros_stack(aval.shape[:-2], k, n, aval.dtype)]
    return qr_p.bind(a, full_matrices=bool(full_matrices), **_layout(a))


def _eye_stack(batch, rows, cols, dtype):
    return ew.convert_element_type(eye_mask(batch + (rows, cols)), dtype)


def _zeros_stack(batch, rows, cols, dtype):
    return sh.broadcast_in_dim(np.zeros((), dtype), batch + (rows, cols), ())


# ----------------------------------------------------------------------------------------------
# geqrf: LAPACK's raw QR of (..., m, n): R in the upper triangle and the Householder reflectors below
# it, with their scalars tau (..., min(m, n)). Not differentiable (as in JAX: the reflectors'
# representation is LAPACK's choice); numpy.linalg.qr(mode='raw') returns its transpose.

geqrf_p = Primitive("geqrf", multiple_results=True)


def _geqrf_impl(a, complex_layout=False):
    h, tau = np.linalg.qr(np.asarray(a), mode="raw")
    return [np.ascontiguousarray(np.swapaxes(h, -1, -2)), tau]


def _geqrf_eval(a, complex_layout=False):
    _check_matrix("geqrf", a, square=False)
    _check_layout("geqrf", a, complex_layout)
    return [a.strip_weak(), ShapedArray(a.shape[:-2] + (min(a.shape[-2:]),), a.dtype)]


geqrf_p.impl, geqrf_p.abstract_eval = _geqrf_impl, _geqrf_eval
geqrf_p.complex_native = True
_batch_leading(geqrf_p)


def geqrf(a):
    """[factored a, tau]: LAPACK's Householder form of A's QR factorisation."""
    return _checked_bind(geqrf_p, a, **_layout(a))


# ----------------------------------------------------------------------------------------------
# svd: A = U diag(s) V^T of (..., m, n), k = min(m, n), s descending and non-negative (..., k); U
# (..., m, k) and Vt (..., k, n), or (..., m, m) and (..., n, n) with full_matrices; LAPACK's signs
# (gesdd, as NumPy and JAX on CPU). Outputs (s,) or (s, U, Vt). jvp as JAX (Townsend's notes): with
# dS = U^T dA V, ds = diag(dS); dU = U (F o (dS S + S dS^T)), dV = V (F o (S dS + dS^T S)),
# F[i, j] = 1 / (s[j]^2 - s[i]^2) off the diagonal (infinite for repeated singular values, as in
# JAX), plus the components outside U's (or V's) span for a tall (wide) matrix, divided by s.

svd_p = Primitive("svd", multiple_results=True)


def _svd_nan_safe(fn, a):
    """fn per matrix, NaN results for matrices LAPACK cannot factor (non-finite entries), as JAX."""
    finite = np.isfinite(a).all(axis=(-1, -2))
    if finite.all():
        return fn(a)
    outs = fn(np.where(finite[..., None, None], a, 0))
    return [np.where(finite.reshape(finite.shape + (1,) * (o.ndim - finite.ndim)), o, np.nan) for o in outs]


def _svd_impl(a, full_matrices, compute_uv):
    def run(a):
        if not compute_uv:
            return [np.linalg.svd(a, compute_uv=False)]
        u, s, vt = np.linalg.svd(a, full_matrices=full_matrices)
        return [s, u, vt]

    return _svd_nan_safe(run, np.asarray(a))


def _svd_eval(a, full_matrices, compute_uv):
    _check_matrix("svd", a, square=False)
    batch, (m, n) = a.shape[:-2], a.shape[-2:]
    k = min(m, n)
    s = ShapedArray(batch + (k,), real_dtype(a.dtype))
    if not compute_uv:
        return [s]
    ucols, vrows = (m, n) if full_matrices else (k, k)
    return [s, ShapedArray(batch + (m, ucols), a.dtype), ShapedArray(batch + (vrows, n), a.dtype)]


def _svd_jvp(primals, tangents, full_matrices, compute_uv):
    (a,), (da,) = primals, tangents
    m, n = get_aval(a).shape[-2:]
    if compute_uv and full_matrices and m != n:
        raise NotImplementedError(
            "svd: the derivative of the full U and Vt of a non-square matrix is not implemented (as in "
            "JAX); use full_matrices=False"
        )
    s, u, vt = svd_p.bind(a, full_matrices=False, compute_uv=True)
    primal_out = [s, u, vt] if compute_uv else [s]
    if type(da) is Zero:
        return primal_out, [Zero(tangent_aval(get_aval(x))) for x in primal_out]
    v = adjoint(vt)
    ds_full = matmul(adjoint(u), matmul(da, v))
    ds = diagonal(ds_full)
    ds = ew.real(ds) if _is_complex(ds) else ds
    if not compute_uv:
        return [s], [ds]
    shape = get_aval(ds_full).shape
    s_cols, s_rows = _broadcast_last(s, shape, False), _broadcast_last(s, shape, True)  # s[j], s[i]
    eye = ew.convert_element_type(eye_mask(shape), get_aval(s).dtype)
    gaps = ew.mul(ew.add(s_cols, s_rows), ew.sub(s_cols, s_rows))  # s[j]^2 - s[i]^2
    f = _as_dtype_of(ew.sub(ew.div(ew.scalar_like(eye, 1), ew.add(gaps, eye)), eye), u)
    dss, sds = ew.mul(_as_dtype_of(s_cols, u), ds_full), ew.mul(_as_dtype_of(s_rows, u), ds_full)
    inner_u = ew.mul(f, ew.add(dss, adjoint(dss)))
    if _is_complex(u):  # the phase the diagonal of dS leaves: i imag(dS_kk) / s_k on the diagonal (JAX's)
        s_inv = ew.div(ew.scalar_like(s, 1), ew.select(ew.eq(s, ew.scalar_like(s, 0)), ew.scalar_like(s, 1), s))
        s_inv = ew.select(ew.eq(s, ew.scalar_like(s, 0)), ew.scalar_like(s, 0), s_inv)
        phase = ew.mul(
            ew.mul(ew.sub(ds_full, adjoint(ds_full)), ew.scalar_like(ds_full, 0.5)),
            _as_dtype_of(_broadcast_last(s_inv, shape, False), u),
        )
        inner_u = ew.add(inner_u, ew.select(eye_mask(shape), phase, ew.scalar_like(phase, 0)))
    du = matmul(u, inner_u)
    dv = matmul(v, ew.mul(f, ew.add(sds, adjoint(sds))))
    if m > n:
        dav = matmul(da, v)
        outside = ew.sub(dav, matmul(u, matmul(adjoint(u), dav)))
        du = ew.add(du, ew.div(outside, _as_dtype_of(_broadcast_last(s, get_aval(outside).shape, False), u)))
    if n > m:
        datu = matmul(adjoint(da), u)
        outside = ew.sub(datu, matmul(v, matmul(vt, datu)))
        dv = ew.add(dv, ew.div(outside, _as_dtype_of(_broadcast_last(s, get_aval(outside).shape, False), u)))
    return primal_out, [ds, du, adjoint(dv)]


_define(svd_p, _svd_impl, _svd_eval, _svd_jvp)
svd_p.complex_native = True  # the lowering tells complex input by its real singular values' shape


def svd(a, full_matrices=False, compute_uv=True):
    """[s] or [s, U, Vt] with a = U diag(s) Vt, s descending (see svd_p above)."""
    aval = get_aval(a)
    params = {"full_matrices": bool(full_matrices), "compute_uv": bool(compute_uv)}
    svd_p.abstract_eval(aval, **params)
    m, n = aval.shape[-2:]
    if m == 0 or n == 0:  # no singular values; the full U and Vt are identities (as NumPy and JAX)
        s = sh.broadcast_in_dim(np.zeros((), real_dtype(aval.dtype)), aval.shape[:-2] + (0,), ())
        if not compute_uv:
            return [s]
        ucols, vrows = (m, n) if full_matrices else (0, 0)
        return [s, _eye_stack(aval.shape[:-2], m, ucols, aval.dtype), _eye_stack(aval.shape[:-2], vrows, n, aval.dtype)]
    return svd_p.bind(a, **params)


# ----------------------------------------------------------------------------------------------
# eig: eigenvalues w (..., n) and right (columns of vr: a vr = vr diag(w)) and left eigenvectors (vl:
# vl^H a = diag(w) vl^H) of general square matrices, always complex (as JAX). LAPACK's geev normalises
# every eigenvector to unit 2-norm with its largest component real. Eagerly NumPy's eig (geev) gives w
# and vr; vl comes from vr^-H, normalised the same way with its largest component real and positive.
# jvp as JAX: dw = diag(vr^-1 da vr); eigenvector derivatives only with enable_eigvec_derivs (JAX's
# opt-in), from first-order perturbation theory fixed by geev's normalisation.

eig_p = Primitive("eig", multiple_results=True)


def _complex_dtype(dtype):
    return np.result_type(dtype, np.complex64)


def _eig_impl(a, compute_left_eigenvectors, compute_right_eigenvectors, enable_eigvec_derivs):
    a = np.asarray(a)
    dtype = _complex_dtype(a.dtype)
    finite = np.isfinite(a).all(axis=(-1, -2))
    safe = np.where(finite[..., None, None], a, 0)
    w, vr = np.linalg.eig(safe)
    w, vr = w.astype(dtype), vr.astype(dtype)
    outs = [w]
    if compute_left_eigenvectors:
        outs.append(_largest_component_positive(np.conj(np.swapaxes(np.linalg.inv(vr), -1, -2))))
    if compute_right_eigenvectors:
        outs.append(vr)
    return [
        np.where(finite.reshape(finite.shape + (1,) * (o.ndim - finite.ndim)), o, np.nan).astype(dtype) for o in outs
    ]


def _largest_component_positive(v):
    """Each column scaled to unit 2-norm with its largest-magnitude entry real and positive."""
    v = v / np.linalg.norm(v, axis=-2, keepdims=True)
    k = np.argmax(np.abs(v), axis=-2)[..., None, :]
    big = np.take_along_axis(v, k, axis=-2)
    return v * (np.conj(big) / np.abs(big))


def _eig_eval(a, compute_left_eigenvectors, compute_right_eigenvectors, enable_eigvec_derivs):
    _check_matrix("eig", a)
    dtype = _complex_dtype(a.dtype)
    vectors = ShapedArray(a.shape, dtype)
    return [ShapedArray(a.shape[:-1], dtype)] + [vectors] * (compute_left_eigenvectors + compute_right_eigenvectors)


def _eig_jvp(primals, tangents, compute_left_eigenvectors, compute_right_eigenvectors, enable_eigvec_derivs):
    (a,), (da,) = primals, tangents
    if (compute_left_eigenvectors or compute_right_eigenvectors) and not enable_eigvec_derivs:
        raise NotImplementedError(
            "eig: derivatives of non-symmetric eigenvectors are only valid under assumptions on the input that "
            "cannot be checked (as in JAX); pass enable_eigvec_derivs=True to fnad.lax.linalg.eig to opt in, or "
            "differentiate the eigenvalues alone (eigvals)"
        )
    outs = eig_p.bind(
        a,
        compute_left_eigenvectors=compute_left_eigenvectors,
        compute_right_eigenvectors=True,
        enable_eigvec_derivs=enable_eigvec_derivs,
    )
    w, vr = outs[0], outs[-1]
    primal_out = outs if compute_right_eigenvectors else outs[:-1]
    if type(da) is Zero:
        return primal_out, [Zero(tangent_aval(get_aval(x))) for x in primal_out]
    da = ew.convert_element_type(da, get_aval(vr).dtype)
    if not (compute_left_eigenvectors or compute_right_eigenvectors):
        return [w], [reduce_sum(ew.mul(_solve(vr, da), swap_last(vr)), (get_aval(vr).ndim - 1,))]
    dw, dvr = _eig_vector_jvp(w, vr, da)
    tangent_out = [dw]
    if compute_left_eigenvectors:
        tangent_out.append(_eig_vector_jvp(ew.conj(w), outs[1], adjoint(da))[1])
    if compute_right_eigenvectors:
        tangent_out.append(dvr)
    return primal_out, tangent_out


def _solve(a, b):
    """a^-1 b for stacks of square a (LU with partial pivoting)."""
    lu_, _, perm = lu(a)
    x = matmul(permutation_matrix(perm, get_aval(lu_).dtype), b)
    x = triangular_solve(lu_, x, left_side=True, lower=True, unit_diagonal=True)
    return triangular_solve(lu_, x, left_side=True, lower=False)


def _eig_vector_jvp(w, v, da):
    """(dw, dv) by nondegenerate perturbation theory; dv_j = u_j + c_j v_j with c_j fixed by geev's two
    real normalisation constraints (unit norm, largest component real), as JAX."""
    shape = get_aval(v).shape
    eye = ew.convert_element_type(eye_mask(shape), get_aval(v).dtype)
    gaps = ew.sub(_broadcast_last(w, shape, False), _broadcast_last(w, shape, True))  # w[j] - w[i]
    f = ew.sub(ew.div(ew.scalar_like(eye, 1), ew.add(gaps, eye)), eye)
    p = matmul(_solve(v, da), v)
    dw = diagonal(p)
    u = matmul(v, ew.mul(f, p))
    rows = len(shape) - 2
    k = argmax(ew.abs(v), rows, np.int32)
    mask = ew.convert_element_type(
        ew.eq(sh.iota(np.int32, shape, rows), sh.broadcast_in_dim(k, shape, tuple(range(rows)) + (rows + 1,))),
        get_aval(v).dtype,
    )
    re = ew.neg(ew.real(reduce_sum(ew.mul(ew.conj(v), u), (rows,))))
    im = ew.neg(ew.div(ew.imag(reduce_sum(ew.mul(mask, u), (rows,))), ew.real(reduce_sum(ew.mul(mask, v), (rows,)))))
    c = ew.complex(re, im)
    return dw, ew.add(u, ew.mul(v, _broadcast_last(c, shape, False)))


_define(eig_p, _eig_impl, _eig_eval, _eig_jvp)
eig_p.complex_native = True  # geev's complex results (and zgeev's complex operand) in their own memory


def eig(a, compute_left_eigenvectors=True, compute_right_eigenvectors=True, enable_eigvec_derivs=False):
    """[w, vl?, vr?]: eigenvalues and the requested eigenvectors, complex."""
    return _checked_bind(
        eig_p,
        a,
        compute_left_eigenvectors=bool(compute_left_eigenvectors),
        compute_right_eigenvectors=bool(compute_right_eigenvectors),
        enable_eigvec_derivs=bool(enable_eigvec_derivs),
    )


def adjoint(x):
    """The conjugate transpose of every matrix of the stack (the transpose for real ones)."""
    return swap_last(ew.conj(x)) if is_complex_dtype(get_aval(x).dtype) else swap_last(x)


__all__ = [
    "adjoint",
    "cholesky",
    "diagonal",
    "eig",
    "eigh",
    "eye_mask",
    "geqrf",
    "lu",
    "matmul",
    "permutation_matrix",
    "qr",
    "svd",
    "swap_last",
    "symmetrize",
    "tri_mask",
    "triangular_solve",
    "tril",
    "triu",
]
