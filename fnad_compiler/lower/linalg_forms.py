"""Condensed forms and Householder products (fnad/primitives/linalg_forms.py): LAPACKE per matrix of
the stack, in place on the output. schur: gees; hessenberg: gehrd; tridiagonal: sytrd (hetrd);
householder_product: orgqr (ungqr); ormqr: ormqr (unmqr); tridiagonal_solve: gtsv. Complex operands
(param `complex_layout`) come as interleaved floats and go to the c/z routines. A matrix LAPACKE
refuses (its NaN check) or cannot process (singular for gtsv, no convergence for gees) gives NaN
outputs, as JAX's `_replace_not_ok_with_nan`.
"""

from __future__ import annotations

from llvmlite import ir

from fnad_compiler import blas
from fnad_compiler.llvm_ir import I8, I32, PTR, i32, i64
from fnad_compiler.lower.linalg import _char, _copy_block, _count, _fill_nan_if, _in_place, _lapacke, _per_matrix
from fnad_compiler.lower.rules import opaque_rule

_NULL = ir.Constant(PTR, None)


def _matrix_dims(aval, complex_):
    """(rows, columns) of the stack's matrices (interleaved complex: before the trailing 2)."""
    return aval.shape[aval.ndim - 2 - complex_ : aval.ndim - complex_]


def _work(scope, aval, count):
    """Per-matrix bytes of a buffer, and a scratch pointer standing in for it when it is empty (LAPACKE
    may still be handed its address)."""
    per = aval.size * aval.dtype.itemsize // max(count, 1)
    return per, scope.malloc(max(per, 16))


def _nan_on_failure(scope, info, outs, count):
    """Each output of the matrix NaN when LAPACKE's `info` is not 0: outs pairs (pointer, aval)."""
    failed = scope.b.icmp_signed("!=", info, i32(0))
    for pointer, aval in outs:
        _fill_nan_if(scope, failed, pointer, aval.size // max(count, 1), aval.dtype)


def _pointers(scope, outvars, count):
    """Data pointers of the outputs, a scratch stand-in for an empty one."""
    return [(scope.pointer(v) if v.aval.size else _work(scope, v.aval, count)[1], v.aval) for v in outvars]


@opaque_rule("hessenberg")
def _hessenberg(scope, e):
    (a,), (packed, taus) = e.invars, e.outvars
    complex_ = e.params.get("complex_layout", False)
    n, dtype = _matrix_dims(a.aval, complex_)[0], a.aval.dtype
    count = _count(a.aval, complex_)
    if not _in_place(scope, a, packed):
        return
    gehrd = _lapacke(scope, "gehrd", dtype, I32, [I32, I32, I32, I32, PTR, I32, PTR], complex_)
    outs = _pointers(scope, [packed, taus], count)

    def body(ptrs):
        m, tau = ptrs
        info = scope.b.call(gehrd, [i32(blas.ROW_MAJOR), i32(n), i32(1), i32(n), m, i32(n), tau])
        _nan_on_failure(scope, info, zip(ptrs, [packed.aval, taus.aval]), count)

    _per_matrix(scope, outs, body, count)


@opaque_rule("householder_product")
def _householder_product(scope, e):
    (a, taus), (q,) = e.invars, e.outvars
    complex_ = e.params.get("complex_layout", False)
    (m, n), dtype = _matrix_dims(a.aval, complex_), a.aval.dtype
    k = taus.aval.shape[-1 - complex_]
    count = _count(a.aval, complex_)
    if not _in_place(scope, a, q):
        return
    orgqr = _lapacke(scope, "ungqr" if complex_ else "orgqr", dtype, I32, [I32, I32, I32, I32, PTR, I32, PTR], complex_)
    tau_in = [(scope.atom_pointer(taus), taus.aval)] if k else [_pointers(scope, [taus], count)[0]]

    def body(ptrs):
        qm, tau = ptrs
        info = scope.b.call(orgqr, [i32(blas.ROW_MAJOR), i32(m), i32(n), i32(k), qm, i32(n), tau])
        _nan_on_failure(scope, info, [(qm, q.aval)], count)

    _per_matrix(scope, [(scope.pointer(q), q.aval)] + tau_in, body, count)


@opaque_rule("ormqr")
def _ormqr(scope, e):
    (a, taus, c), (out,) = e.invars, e.outvars
    p = e.params
    complex_ = p.get("complex_layout", False)
    (rows, cols), dtype = _matrix_dims(c.aval, complex_), c.aval.dtype
    a_cols = _matrix_dims(a.aval, complex_)[1]
    k = taus.aval.shape[-1 - complex_]
    count = _count(c.aval, complex_)
    if not _in_place(scope, c, out) or k == 0:
        return
    ormqr = _lapacke(
        scope,
        "unmqr" if complex_ else "ormqr",
        dtype,
        I32,
        [I32, I8, I8, I32, I32, I32, PTR, I32, PTR, PTR, I32],
        complex_,
    )
    side = _char("L" if p["left"] else "R")
    trans = _char(("C" if complex_ else "T") if p["transpose"] else "N")

    def body(ptrs):
        am, tau, cm = ptrs
        args = [i32(blas.ROW_MAJOR), side, trans, i32(rows), i32(cols), i32(k), am, i32(a_cols), tau, cm, i32(cols)]
        _nan_on_failure(scope, scope.b.call(ormqr, args), [(cm, out.aval)], count)

    avals = [(scope.atom_pointer(a), a.aval), (scope.atom_pointer(taus), taus.aval), (scope.pointer(out), out.aval)]
    _per_matrix(scope, avals, body, count)


@opaque_rule("tridiagonal")
def _tridiagonal(scope, e):
    (a,), outs = e.invars, e.outvars
    packed = outs[0]
    complex_ = e.params.get("complex_layout", False)
    n, dtype = _matrix_dims(a.aval, complex_)[0], a.aval.dtype
    count = _count(a.aval, complex_)
    if not _in_place(scope, a, packed):
        return
    sytrd = _lapacke(
        scope, "hetrd" if complex_ else "sytrd", dtype, I32, [I32, I8, I32, PTR, I32, PTR, PTR, PTR], complex_
    )
    uplo = _char("L" if e.params["lower"] else "U")

    def body(ptrs):
        m, d, off, tau = ptrs
        info = scope.b.call(sytrd, [i32(blas.ROW_MAJOR), uplo, i32(n), m, i32(n), d, off, tau])
        _nan_on_failure(scope, info, zip(ptrs, [v.aval for v in outs]), count)

    _per_matrix(scope, _pointers(scope, outs, count), body, count)


@opaque_rule("schur")
def _schur(scope, e):
    (a,), outs = e.invars, e.outvars
    t = outs[0]
    complex_ = e.params.get("complex_layout", False)
    vectors = e.params["compute_schur_vectors"]
    n, dtype = _matrix_dims(a.aval, complex_)[0], a.aval.dtype
    count = _count(a.aval, complex_)
    if not _in_place(scope, a, t):
        return
    parts = 1 + complex_
    sdim = scope.malloc(4)
    eigenvalues = scope.malloc(n * 2 * dtype.itemsize)  # wr, wi (real) or w (complex)
    spare_vectors = None if vectors else scope.malloc(n * n * parts * dtype.itemsize)
    if complex_:
        gees = _lapacke(scope, "gees", dtype, I32, [I32, I8, I8, PTR, I32, PTR, I32, PTR, PTR, PTR, I32], True)
        values = [eigenvalues]
    else:
        gees = _lapacke(scope, "gees", dtype, I32, [I32, I8, I8, PTR, I32, PTR, I32, PTR, PTR, PTR, PTR, I32])
        values = [eigenvalues, scope.b.gep(eigenvalues, [i64(n * dtype.itemsize)], source_etype=I8)]

    def body(ptrs):
        tm, *zm = ptrs
        z = zm[0] if vectors else spare_vectors
        head = [i32(blas.ROW_MAJOR), _char("V" if vectors else "N"), _char("N"), _NULL, i32(n), tm, i32(n), sdim]
        info = scope.b.call(gees, head + values + [z, i32(n)])
        _nan_on_failure(scope, info, zip(ptrs, [v.aval for v in outs]), count)

    _per_matrix(scope, [(scope.pointer(v), v.aval) for v in outs], body, count)


@opaque_rule("tridiagonal_solve")
def _tridiagonal_solve(scope, e):
    dl, d, du, b_in = e.invars
    (out,) = e.outvars
    complex_ = e.params.get("complex_layout", False)
    (m, k), dtype = _matrix_dims(out.aval, complex_), out.aval.dtype
    count = _count(out.aval, complex_)
    if not _in_place(scope, b_in, out):
        return
    parts = 1 + complex_
    item = parts * dtype.itemsize
    gtsv = _lapacke(scope, "gtsv", dtype, I32, [I32, I32, I32, PTR, PTR, PTR, PTR, I32], complex_)
    # gtsv overwrites the diagonals: copies (LAPACK's dl is A[i+1, i] = dl[1:], du is du[:-1])
    lower, diag, upper = (scope.malloc(max(m, 1) * item) for _ in range(3))
    b = scope.b

    def body(ptrs):
        dlm, dm, dum, xm = ptrs
        shifted = b.gep(dlm, [i64(item)], source_etype=I8)
        _copy_block(scope, shifted, m - 1, lower, m - 1, 1, m - 1, dtype, parts=parts)
        _copy_block(scope, dm, m, diag, m, 1, m, dtype, parts=parts)
        _copy_block(scope, dum, m - 1, upper, m - 1, 1, m - 1, dtype, parts=parts)
        info = b.call(gtsv, [i32(blas.ROW_MAJOR), i32(m), i32(k), lower, diag, upper, xm, i32(max(k, 1))])
        _nan_on_failure(scope, info, [(xm, out.aval)], count)

    avals = [(scope.atom_pointer(v), v.aval) for v in (dl, d, du)] + [(scope.pointer(out), out.aval)]
    _per_matrix(scope, avals, body, count)
