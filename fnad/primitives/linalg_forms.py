"""Condensed forms and Householder products on stacks of matrices, as jax.lax.linalg's: schur (gees),
hessenberg (gehrd), tridiagonal (sytrd / hetrd), householder_product (orgqr / ungqr), ormqr (ormqr /
unmqr) and tridiagonal_solve (gtsv), real or complex.

The reductions and the Householder products are not differentiable, as in JAX (their jvp rules raise a
NotImplementedError naming the function); tridiagonal_solve is, in every argument, by JAX's rules (it
is linear in b, with a transpose). Matrices LAPACK cannot process give NaN, as JAX's.

Implementations are NumPy, with LAPACK's conventions (dlarfg's reflectors: beta = -sign(re alpha)
|(alpha, x)|, tau = (beta - alpha) / beta, v = x / (alpha - beta)), so hessenberg, tridiagonal and the
products agree with jit's LAPACK calls (fnad_compiler/lower/linalg_forms.py) to rounding. A Schur form
is unique only up to the order of the eigenvalues, phases of the Schur vectors and (real form) the
rotation inside a 2x2 block: eagerly it is Francis's QR algorithm on the Hessenberg form (implicit
double shifts for real matrices, single Wilkinson shifts for complex ones; 2x2 blocks in LAPACK's
standard form), whose eigenvalue order may differ from LAPACK's gees under jit.
"""

from __future__ import annotations

import numpy as np

from ..ad_util import Zero, tangent_aval
from ..core import Primitive, ShapedArray, get_aval, real_dtype
from ..transforms.reverse import is_undefined
from . import elementwise as ew
from .indexing import pad, slice_in_dim
from .linalg import _batch_leading, _check_layout, _check_matrix, _checked_bind, _layout
from .shape import broadcast_in_dim

__all__ = [
    "hessenberg",
    "householder_product",
    "ormqr",
    "schur",
    "tridiagonal",
    "tridiagonal_solve",
]


def _not_differentiable(prim, name):
    """A jvp rule that passes zero tangents through and refuses any other, naming the function."""

    def jvp(primals, tangents, **params):
        if any(type(t) is not Zero for t in tangents):
            raise NotImplementedError(
                f"{name}: no derivative (as in JAX: its output depends on LAPACK's representation choices); "
                "differentiate a function built from eigh, eig, svd or qr instead"
            )
        out = prim.bind(*primals, **params)
        zeros = [Zero(tangent_aval(get_aval(o))) for o in (out if prim.multiple_results else [out])]
        return out, (zeros if prim.multiple_results else zeros[0])

    return jvp


def _define(prim, impl, abstract_eval, name):
    prim.impl, prim.abstract_eval, prim.jvp = impl, abstract_eval, _not_differentiable(prim, name)
    prim.complex_native = True  # complex operands reach the lowering as interleaved floats (complex_layout)
    _batch_leading(prim)


# ----------------------------------------------------------------------------------------------
# Householder reflectors with LAPACK's conventions, on stacks (leading axes batch)


def _reflector(alpha, x):
    """dlarfg / zlarfg on a stack: (beta, tau, v) with (I - tau [1; v] [1; v]^H)^H [alpha; x] = [beta; 0],
    beta real; tau = 0 (the identity) where x = 0 and alpha is real."""
    big = np.abs(x).max(axis=-1, initial=0)  # the norm scaled as LAPACK's nrm2: no under- or overflow
    xnorm = big * np.linalg.norm(x / np.where(big == 0, 1, big)[..., None], axis=-1)
    identity = (xnorm == 0) & (np.imag(alpha) == 0)
    re = np.real(alpha)
    beta = -np.where(re >= 0, 1.0, -1.0) * np.hypot(np.abs(alpha), xnorm)
    beta = np.where(identity, re, beta)
    safe_beta = np.where(identity, 1.0, beta)
    tau = np.where(identity, 0, (beta - alpha) / safe_beta).astype(alpha.dtype)
    scale = np.where(identity, 1, 1 / np.where(identity, 1, alpha - beta))
    return beta.astype(real_dtype(alpha.dtype)), tau, (x * scale[..., None]).astype(x.dtype)


def _apply_left(tau, v, c):
    """(I - tau v v^H)^H c = c - conj(tau) v (v^H c): stacks of reflectors (v (..., m)) on c (..., m, k)."""
    w = np.einsum("...i,...ik->...k", np.conj(v), c)
    c -= np.conj(tau)[..., None, None] * v[..., :, None] * w[..., None, :]


def _apply_right(tau, v, c):
    """c (I - tau v v^H) = c - tau (c v) v^H on c (..., k, m)."""
    w = np.einsum("...ki,...i->...k", c, v)
    c -= tau[..., None, None] * w[..., :, None] * np.conj(v)[..., None, :]


def _unit_head(v_tail):
    """[1; v_tail] on a stack of vectors."""
    return np.concatenate([np.ones(v_tail.shape[:-1] + (1,), v_tail.dtype), v_tail], axis=-1)


# ----------------------------------------------------------------------------------------------
# hessenberg: (a, taus) with a's upper triangle and first subdiagonal the Hessenberg form H and the
# reflectors below, taus (..., n - 1); A = Q H Q^H with Q = H(0) ... H(n-2) (LAPACK's gehrd).

hessenberg_p = Primitive("hessenberg", multiple_results=True)


def _hessenberg_impl(a, complex_layout=False):
    a = np.array(a, copy=True)
    n = a.shape[-1]
    taus = np.zeros(a.shape[:-2] + (max(n - 1, 0),), a.dtype)
    for i in range(n - 1):  # the last one makes a complex last subdiagonal entry real
        beta, tau, v = _reflector(a[..., i + 1, i], a[..., i + 2 :, i])
        full = _unit_head(v)
        a[..., i + 1, i] = beta
        a[..., i + 2 :, i] = 0
        _apply_left(tau, full, a[..., i + 1 :, i + 1 :])
        _apply_right(tau, full, a[..., :, i + 1 :])
        a[..., i + 2 :, i] = v
        taus[..., i] = tau
    return [a, taus]


def _hessenberg_eval(a, complex_layout=False):
    _check_matrix("hessenberg", a)
    _check_layout("hessenberg", a, complex_layout)
    return [a.strip_weak(), ShapedArray(a.shape[:-2] + (max(a.shape[-1] - 1, 0),), a.dtype)]


_define(hessenberg_p, _hessenberg_impl, _hessenberg_eval, "hessenberg")


def hessenberg(a):
    """[a, taus]: LAPACK's packed Hessenberg reduction (see hessenberg_p above)."""
    return _checked_bind(hessenberg_p, a, **_layout(a))


# ----------------------------------------------------------------------------------------------
# householder_product: the first n columns of H(0) ... H(k-1), H(i) = I - taus[i] v_i v_i^H with
# v_i = [0 (i), 1, a[i+1:, i]], for a (..., m, n), m >= n >= k (LAPACK's orgqr).

householder_product_p = Primitive("householder_product")


def _reflector_vectors(a, k):
    """V (..., m, k): a's first k columns below the diagonal, a unit diagonal, zeros above."""
    m = a.shape[-2]
    v = np.tril(a[..., :, :k], -1)
    v[..., np.arange(min(m, k)), np.arange(min(m, k))] = 1
    return v


def _householder_product_impl(a, taus, complex_layout=False):
    a, taus = np.asarray(a), np.asarray(taus)
    m, n = a.shape[-2:]
    k = taus.shape[-1]
    v = _reflector_vectors(a, k)
    q = np.broadcast_to(np.eye(m, n, dtype=a.dtype), a.shape).copy()
    for i in reversed(range(k)):
        _apply_left(np.conj(taus[..., i]), v[..., i], q)
    return q


def _householder_product_eval(a, taus, complex_layout=False):
    _check_matrix("householder_product", a, square=False)
    _check_layout("householder_product", a, complex_layout)
    m, n = a.shape[-2:]
    if m < n:
        raise ValueError(f"householder_product: a needs at least as many rows as columns, got shape {a.shape}")
    if taus.ndim != a.ndim - 1 or taus.shape[:-1] != a.shape[:-2] or taus.shape[-1] > n or taus.dtype != a.dtype:
        raise ValueError(
            f"householder_product: taus {taus.str_short()} does not fit a {a.str_short()}: need taus of shape "
            f"{a.shape[:-2]} + (k,) with k <= {n}, of a's dtype"
        )
    return a.strip_weak()


_define(householder_product_p, _householder_product_impl, _householder_product_eval, "householder_product")


def householder_product(a, taus):
    """The orthonormal columns H(0) ... H(k-1) [I_n; 0] (see householder_product_p above)."""
    return _checked_bind(householder_product_p, a, taus, **_layout(a))


# ----------------------------------------------------------------------------------------------
# ormqr: Q c, Q^H c (left) or c Q, c Q^H with Q = H(0) ... H(k-1) (m x m) from reflectors as
# householder_product's, without forming Q (LAPACK's ormqr / unmqr; transpose means Q^H).

ormqr_p = Primitive("ormqr")


def _ormqr_impl(a, taus, c, left, transpose, complex_layout=False):
    a, taus, c = np.asarray(a), np.asarray(taus), np.array(c, copy=True)
    k = taus.shape[-1]
    v = _reflector_vectors(a, k)
    # Q c applies H(k-1) first; Q^H c, c Q start from H(0); c Q^H from H(k-1)^H
    order = range(k) if left == transpose else reversed(range(k))
    for i in order:
        tau = taus[..., i] if transpose else np.conj(taus[..., i])
        if left:
            _apply_left(tau, v[..., i], c)
        else:
            _apply_right(np.conj(tau), v[..., i], c)
    return c


def _ormqr_eval(a, taus, c, left, transpose, complex_layout=False):
    _check_matrix("ormqr", a, square=False)
    _check_matrix("ormqr", c, square=False)
    _check_layout("ormqr", a, complex_layout)
    m = a.shape[-2]
    k = taus.shape[-1] if taus.ndim else -1
    side = c.shape[-2] if left else c.shape[-1]
    if (
        taus.ndim != a.ndim - 1
        or k > min(a.shape[-2:])
        or a.shape[:-2] != taus.shape[:-1]
        or a.shape[:-2] != c.shape[:-2]
        or not a.dtype == taus.dtype == c.dtype
        or side != m
    ):
        which = "rows" if left else "columns"
        raise ValueError(
            f"ormqr: incompatible a {a.str_short()}, taus {taus.str_short()} and c {c.str_short()} (left={left}): "
            f"need equal leading axes and dtypes, k <= min(m, n) reflectors and c with {m} {which}"
        )
    return c.strip_weak()


_define(ormqr_p, _ormqr_impl, _ormqr_eval, "ormqr")


def ormqr(a, taus, c, left=True, transpose=False):
    """Q c, Q^H c, c Q or c Q^H for Q = H(0) ... H(k-1) (see ormqr_p above)."""
    return _checked_bind(ormqr_p, a, taus, c, left=bool(left), transpose=bool(transpose), **_layout(a))


# ----------------------------------------------------------------------------------------------
# tridiagonal: (a, d, e, taus) of symmetric (Hermitian) matrices read from their lower (or upper)
# triangle, LAPACK's sytrd / hetrd: A = Q T Q^H with T tridiagonal (real diagonal d (..., n), real
# off-diagonal e (..., n - 1)); a holds T's diagonal and off-diagonal in the triangle read, the
# reflectors beyond them, and the other triangle untouched.

tridiagonal_p = Primitive("tridiagonal", multiple_results=True)


def _tridiagonal_impl(a, lower, complex_layout=False):
    a = np.asarray(a)
    n = a.shape[-1]
    # the Hermitian matrix the read triangle stands for, reduced in place
    half = np.tril(a, -1) if lower else np.triu(a, 1)
    work = half + np.conj(np.swapaxes(half, -1, -2))
    work[..., np.arange(n), np.arange(n)] = np.real(a[..., np.arange(n), np.arange(n)])
    packed = np.array(a, copy=True)
    e = np.zeros(a.shape[:-2] + (max(n - 1, 0),), real_dtype(a.dtype))
    taus = np.zeros(a.shape[:-2] + (max(n - 1, 0),), a.dtype)
    for j in range(n - 1):
        # lower: column i = j annihilated below row i + 1; upper: column i + 1 = n - 1 - j above row i
        i = j if lower else n - 2 - j
        if lower:
            beta, tau, v = _reflector(work[..., i + 1, i], work[..., i + 2 :, i])
            full, block = _unit_head(v), (slice(i + 1, n),) * 2
            packed[..., i + 1, i], packed[..., i + 2 :, i] = beta, v
        else:
            beta, tau, v = _reflector(work[..., i, i + 1], work[..., :i, i + 1][..., ::-1])
            v = v[..., ::-1]
            full, block = np.concatenate([v, np.ones(v.shape[:-1] + (1,), v.dtype)], -1), (slice(0, i + 1),) * 2
            packed[..., i, i + 1], packed[..., :i, i + 1] = beta, v
        sub = work[(Ellipsis,) + block]
        _apply_left(tau, full, sub)
        _apply_right(tau, full, sub)
        work[(Ellipsis,) + block] = sub
        e[..., i], taus[..., i] = beta, tau
    d = np.real(work[..., np.arange(n), np.arange(n)])
    packed[..., np.arange(n), np.arange(n)] = d
    return [packed, d.astype(real_dtype(a.dtype)), e, taus]


def _tridiagonal_eval(a, lower, complex_layout=False):
    _check_matrix("tridiagonal", a)
    _check_layout("tridiagonal", a, complex_layout)
    if a.shape[-1] == 0:
        raise ValueError("tridiagonal: expected a non-empty square matrix, got shape {a.shape} (as JAX)")
    batch, n = a.shape[:-2], a.shape[-1]
    real = real_dtype(a.dtype)
    return [
        a.strip_weak(),
        ShapedArray(batch + (n,), real),
        ShapedArray(batch + (n - 1,), real),
        ShapedArray(batch + (n - 1,), a.dtype),
    ]


_define(tridiagonal_p, _tridiagonal_impl, _tridiagonal_eval, "tridiagonal")


def tridiagonal(a, lower=True):
    """[a, d, e, taus]: LAPACK's packed tridiagonal reduction (see tridiagonal_p above)."""
    return _checked_bind(tridiagonal_p, a, lower=bool(lower), **_layout(a))


# ----------------------------------------------------------------------------------------------
# schur: (T, Z) with A = Z T Z^H, Z unitary and T upper triangular (complex input) or quasi upper
# triangular with 2x2 blocks for complex-conjugate eigenvalue pairs (real input); T alone without
# compute_schur_vectors. Eagerly Francis's QR algorithm (see the module docstring); NaN where it does
# not converge (and, under jit, where gees fails), as JAX.

schur_p = Primitive("schur", multiple_results=True)
_MAX_SWEEPS_PER_EIGENVALUE = 30  # LAPACK's hseqr gives up after 30 per eigenvalue too


def _givens(x, y):
    """(c, s) with [[c, s], [-conj(s), c]] [x; y] = [r; 0], c real."""
    r = np.hypot(np.abs(x), np.abs(y))
    if r == 0:
        return 1.0, 0.0 * x
    return np.abs(x) / r if x != 0 else 0.0, (x / np.abs(x) if x != 0 else 1.0) * np.conj(y) / r


def _rotate(h, z, k, c, s, lo, hi):
    """H <- G H G^H on rows/columns k, k + 1 (rows from column `lo` on, columns down to row `hi`), Z <- Z G^H."""
    rows = h[k : k + 2, lo:].copy()
    h[k, lo:], h[k + 1, lo:] = c * rows[0] + s * rows[1], -np.conj(s) * rows[0] + c * rows[1]
    for m in (h[:hi], z):
        cols = m[:, k : k + 2].copy()
        m[:, k], m[:, k + 1] = c * cols[:, 0] + np.conj(s) * cols[:, 1], -s * cols[:, 0] + c * cols[:, 1]


def _householder3(h, z, k, x, lo, hi):
    """Apply the reflector P mapping x (2 or 3 entries) onto its first axis at rows/columns k...: H <- P H P."""
    size = len(x)
    v = x.copy()
    norm = np.linalg.norm(x)
    if norm == 0:
        return
    v[0] += np.copysign(norm, x[0])
    v /= np.linalg.norm(v)
    block = slice(k, k + size)
    h[block, lo:] -= 2 * np.outer(v, v @ h[block, lo:])
    h[:hi, block] -= 2 * np.outer(h[:hi, block] @ v, v)
    z[:, block] -= 2 * np.outer(z[:, block] @ v, v)


def _deflation_point(h, hi, eps):
    """The start of the unreduced block ending at row hi - 1 (negligible subdiagonals set to zero)."""
    lo = hi - 1
    while lo > 0:
        scale = abs(h[lo - 1, lo - 1]) + abs(h[lo, lo])
        if abs(h[lo, lo - 1]) <= eps * (scale if scale else 1.0):
            h[lo, lo - 1] = 0
            break
        lo -= 1
    return lo


def _standardize_block(h, z, k):
    """A deflated 2x2 block at k in LAPACK's standard form (dlanv2): upper triangular by a rotation when
    its eigenvalues are real, equal diagonal entries (the eigenvalues' real part) when they are complex."""
    a, b, c, d = h[k, k], h[k, k + 1], h[k + 1, k], h[k + 1, k + 1]
    if c == 0:
        return
    p = 0.5 * (a - d)
    disc = p * p + b * c
    if disc >= 0:  # real eigenvalues: rotate an eigenvector onto e_1
        lam = d + p + np.copysign(np.sqrt(disc), p)  # the eigenvalue away from cancellation
        x, y = (lam - d, c) if abs(lam - d) + abs(c) > abs(b) + abs(lam - a) else (b, lam - a)
        norm = np.hypot(x, y)
        _rotate(h, z, k, x / norm, y / norm, k, k + 2)
        h[k + 1, k] = 0
    elif a != d:  # complex pair: the rotation that equalises the diagonal (dlanv2's)
        sigma = b + c
        tau = np.hypot(sigma, a - d)
        cs = np.sqrt(0.5 * (1 + abs(sigma) / tau))
        sn = -(p / (tau * cs)) * np.copysign(1.0, sigma)
        _rotate(h, z, k, cs, sn, k, k + 2)
        h[k, k] = h[k + 1, k + 1] = 0.5 * (h[k, k] + h[k + 1, k + 1])


def _schur_real(h, z, eps):
    n = h.shape[0]
    hi, sweeps = n, 0
    while hi > 0:
        lo = _deflation_point(h, hi, eps)
        if hi - lo <= 2:
            if hi - lo == 2:
                _standardize_block(h, z, lo)
            hi, sweeps = lo, 0
            continue
        sweeps += 1
        if sweeps > _MAX_SWEEPS_PER_EIGENVALUE * n:
            return False
        m = hi - 1
        if sweeps % 10 == 0:  # exceptional shift (as LAPACK's dlahqr), out of a cycle
            s = 1.5 * (abs(h[m, m - 1]) + abs(h[m - 1, m - 2]))
            t = s * s / 2.25
        else:  # the trailing 2x2 block's eigenvalues (their sum and product)
            s = h[m - 1, m - 1] + h[m, m]
            t = h[m - 1, m - 1] * h[m, m] - h[m - 1, m] * h[m, m - 1]
        x = h[lo, lo] * h[lo, lo] + h[lo, lo + 1] * h[lo + 1, lo] - s * h[lo, lo] + t
        y = h[lo + 1, lo] * (h[lo, lo] + h[lo + 1, lo + 1] - s)
        w = h[lo + 1, lo] * h[lo + 2, lo + 1]
        for k in range(lo, hi - 2):  # chase the bulge down
            _householder3(h, z, k, np.array([x, y, w]), max(lo, k - 1), min(k + 4, hi))
            x, y = h[k + 1, k], h[k + 2, k]
            if k < hi - 3:
                w = h[k + 3, k]
            if k > lo:
                h[k + 1 :, k - 1] = 0
        _householder3(h, z, hi - 2, np.array([x, y]), hi - 3, hi)
        h[hi - 1 :, hi - 3] = 0
    return True


def _schur_complex(h, z, eps):
    n = h.shape[0]
    hi, sweeps = n, 0
    while hi > 0:
        lo = _deflation_point(h, hi, eps)
        if hi - lo == 1:
            hi, sweeps = lo, 0
            continue
        sweeps += 1
        if sweeps > _MAX_SWEEPS_PER_EIGENVALUE * n:
            return False
        m = hi - 1
        if sweeps % 10 == 0:
            mu = h[m, m] + 1.5 * abs(h[m, m - 1])
        else:  # Wilkinson's shift: the trailing 2x2 block's eigenvalue nearer its last diagonal entry
            a, b, c, d = h[m - 1, m - 1], h[m - 1, m], h[m, m - 1], h[m, m]
            p = 0.5 * (a - d)
            root = np.sqrt(p * p + b * c)
            mu = d - b * c / (p + root if abs(p + root) >= abs(p - root) else p - root) if b * c != 0 else d
        x, y = h[lo, lo] - mu, h[lo + 1, lo]
        for k in range(lo, hi - 1):
            if k > lo:
                x, y = h[k, k - 1], h[k + 1, k - 1]
            c, s = _givens(x, y)
            _rotate(h, z, k, c, s, max(lo, k - 1), min(k + 3, hi))
            if k > lo:
                h[k + 1, k - 1] = 0
    return True


def _schur_impl(a, compute_schur_vectors, complex_layout=False):
    a = np.asarray(a)
    n = a.shape[-1]
    complex_ = np.iscomplexobj(a)
    packed, taus = _hessenberg_impl(a)
    z_all = _householder_product_impl(_shift_reflectors(packed), _pad_taus(taus))
    t_all = np.triu(packed, -1)
    eps = np.finfo(a.dtype).eps
    count = int(np.prod(a.shape[:-2], dtype=np.int64))
    flat_t, flat_z = t_all.reshape((count, n, n)), z_all.reshape((count, n, n))
    for t, z in zip(flat_t, flat_z):
        wide = t.astype(np.complex128 if complex_ else np.float64)
        zz = z.astype(wide.dtype)
        finite = np.isfinite(wide).all()
        scale = np.abs(wide).max() if finite and n else 0.0
        scale = scale if scale > 0 else 1.0  # iterate on entries of order one: no under- or overflow in the shifts
        wide /= scale
        ok = finite and (_schur_complex if complex_ else _schur_real)(wide, zz, eps)
        t[...], z[...] = (wide * scale, zz) if ok else (np.nan, np.nan)
    t_all = np.triu(t_all, -1) if not complex_ else np.triu(t_all)
    return [t_all, z_all] if compute_schur_vectors else [t_all]


def _shift_reflectors(packed):
    """gehrd's reflectors (below the first subdiagonal) moved up one row and left one column,
    where orgqr reads them: Q = householder_product of that matrix with taus (first row/column e_1)."""
    shifted = np.zeros_like(packed)
    shifted[..., 1:, 1:] = np.tril(packed[..., 1:, :-1], -1)
    return shifted


def _pad_taus(taus):
    """gehrd's taus with a zero in front (the identity reflector of the first row)."""
    return np.concatenate([np.zeros(taus.shape[:-1] + (1,), taus.dtype), taus], -1) if taus.shape[-1] else taus


def _schur_eval(a, compute_schur_vectors, complex_layout=False):
    _check_matrix("schur", a)
    _check_layout("schur", a, complex_layout)
    return [a.strip_weak()] * (2 if compute_schur_vectors else 1)


_define(schur_p, _schur_impl, _schur_eval, "schur")


def schur(a, compute_schur_vectors=True):
    """[T, Z] (or [T]) with a = Z T Z^H (see schur_p above)."""
    return _checked_bind(schur_p, a, compute_schur_vectors=bool(compute_schur_vectors), **_layout(a))


# ----------------------------------------------------------------------------------------------
# tridiagonal_solve: x with A x = b for tridiagonal A (..., m, m) given by its three diagonals, each
# (..., m): dl[i] = A[i, i-1] (dl[0] unused), d[i] = A[i, i], du[i] = A[i, i+1] (du[m-1] unused); b
# (..., m, k). LAPACK's gtsv (Gaussian elimination with partial pivoting); NaN for singular systems.
# jvp and transpose as JAX's: dx = A^-1 (db - dA x); the transpose in b solves with A^T, whose
# diagonals are du and dl shifted by one.

tridiagonal_solve_p = Primitive("tridiagonal_solve")


@np.errstate(divide="ignore", invalid="ignore")
def _tridiagonal_solve_impl(dl, d, du, b, complex_layout=False):
    dtype = np.asarray(b).dtype
    lower = np.array(np.asarray(dl)[..., 1:], dtype)  # LAPACK's DL: A[i+1, i]
    diag = np.array(d, dtype)
    upper = np.array(np.asarray(du)[..., :-1], dtype)  # LAPACK's DU: A[i, i+1]
    x = np.array(b, dtype, copy=True)
    m = diag.shape[-1]
    second = np.zeros_like(upper)  # U's second superdiagonal (fill-in of row swaps)
    for i in range(m - 1):
        swap = np.abs(diag[..., i]) < np.abs(lower[..., i])
        keep_fact = lower[..., i] / diag[..., i]
        swap_fact = diag[..., i] / lower[..., i]
        next_d, next_x = diag[..., i + 1].copy(), x[..., i + 1, :].copy()
        next_up = upper[..., i + 1].copy() if i < m - 2 else np.zeros_like(next_d)
        # no swap: row i + 1 -= fact row i
        kept_d = next_d - keep_fact * upper[..., i]
        kept_x = next_x - keep_fact[..., None] * x[..., i, :]
        # swap rows i and i + 1, then eliminate
        swapped_d = upper[..., i] - swap_fact * next_d
        swapped_x = x[..., i, :] - swap_fact[..., None] * next_x
        diag[..., i] = np.where(swap, lower[..., i], diag[..., i])
        if i < m - 2:
            second[..., i] = np.where(swap, next_up, 0)
            upper[..., i + 1] = np.where(swap, -swap_fact * next_up, next_up)
        upper[..., i] = np.where(swap, next_d, upper[..., i])
        x[..., i, :] = np.where(swap[..., None], next_x, x[..., i, :])
        diag[..., i + 1] = np.where(swap, swapped_d, kept_d)
        x[..., i + 1, :] = np.where(swap[..., None], swapped_x, kept_x)
    singular = (diag == 0).any(axis=-1)
    for i in reversed(range(m)):
        if i + 1 < m:
            x[..., i, :] -= upper[..., i, None] * x[..., i + 1, :]
        if i + 2 < m:
            x[..., i, :] -= second[..., i, None] * x[..., i + 2, :]
        x[..., i, :] /= diag[..., i, None]
    return np.where(singular[..., None, None], np.nan, x).astype(dtype)


def _tridiagonal_solve_eval(dl, d, du, b, complex_layout=False):
    _check_matrix("tridiagonal_solve", b, square=False)
    _check_layout("tridiagonal_solve", b, complex_layout)
    if not (dl.shape == d.shape == du.shape == b.shape[:-1]) or not (dl.dtype == d.dtype == du.dtype == b.dtype):
        raise ValueError(
            f"tridiagonal_solve: diagonals dl {dl.str_short()}, d {d.str_short()}, du {du.str_short()} and b "
            f"{b.str_short()}: need diagonals of shape b.shape[:-1] and one dtype for all four"
        )
    return b.strip_weak()


def _shift(x, axis, down):
    """x moved one place along `axis`, down (x[i-1] at i) or up (x[i+1] at i), zero filled."""
    size = get_aval(x).shape[axis]
    config = [(0, 0, 0)] * get_aval(x).ndim
    config[axis] = (1, 0, 0) if down else (0, 1, 0)
    kept = slice_in_dim(x, 0, size - 1, axis=axis) if down else slice_in_dim(x, 1, size, axis=axis)
    return pad(kept, ew.scalar_like(x, 0), config)


def _spread_columns(v, like):
    """A diagonal (..., m) spread over like's columns (..., m, k)."""
    shape = get_aval(like).shape
    return broadcast_in_dim(v, shape, tuple(range(len(shape) - 1)))


def _tridiagonal_product(dl, d, du, x):
    """A x for the tridiagonal A given by its diagonals: d x + dl (x moved down) + du (x moved up)."""
    rows = get_aval(x).ndim - 2
    terms = [(d, x), (dl, _shift(x, rows, True)), (du, _shift(x, rows, False))]
    products = [ew.mul(_spread_columns(v, x), y) for v, y in terms]
    return ew.add(products[0], ew.add(products[1], products[2]))


def _tridiagonal_solve_jvp(primals, tangents, complex_layout=False):
    dl, d, du, b = primals
    x = tridiagonal_solve(dl, d, du, b)
    if all(type(t) is Zero for t in tangents):
        return x, Zero(tangent_aval(get_aval(x)))
    ddl, dd, ddu, db = [ew.zeros_like(p) if type(t) is Zero else t for p, t in zip(primals, tangents)]
    rhs = ew.sub(db, _tridiagonal_product(ddl, dd, ddu, x))
    return x, tridiagonal_solve(dl, d, du, rhs)


def _tridiagonal_solve_transpose(ct, dl, d, du, b, complex_layout=False):
    if is_undefined(dl) or is_undefined(d) or is_undefined(du):
        raise ValueError("tridiagonal_solve: transpose with respect to a diagonal (the IR is not linear in them)")
    last = get_aval(dl).ndim - 1
    # A^T's lower diagonal is A's upper one moved down, its upper diagonal A's lower one moved up
    return [None, None, None, tridiagonal_solve(_shift(du, last, True), d, _shift(dl, last, False), ct)]


tridiagonal_solve_p.impl = _tridiagonal_solve_impl
tridiagonal_solve_p.abstract_eval = _tridiagonal_solve_eval
tridiagonal_solve_p.jvp = _tridiagonal_solve_jvp
tridiagonal_solve_p.transpose = _tridiagonal_solve_transpose
tridiagonal_solve_p.complex_native = True
_batch_leading(tridiagonal_solve_p)


def tridiagonal_solve(dl, d, du, b):
    """x with A x = b for the tridiagonal A with diagonals dl, d, du (see tridiagonal_solve_p above)."""
    return _checked_bind(tridiagonal_solve_p, dl, d, du, b, **_layout(b))
