"""Linear algebra on stacks of matrices: LAPACKE / CBLAS per matrix, in place on the output."""

from __future__ import annotations

import numpy as np
from llvmlite import ir

from fnad_compiler import blas, fusion
from fnad_compiler.llvm_ir import (
    I8,
    I32,
    I64,
    PTR,
    VOID,
    Loop,
    const,
    extern,
    i32,
    i64,
    intrinsic,
    load_at,
    reg_type,
    store_at,
)
from fnad_compiler.lower.rules import opaque_rule
from fnad_compiler.lower.scope import copy_atom

_CBLAS_LEFT, _CBLAS_RIGHT, _CBLAS_UPPER, _CBLAS_LOWER, _CBLAS_NON_UNIT, _CBLAS_UNIT = 141, 142, 121, 122, 131, 132
_CBLAS_CONJ_TRANS, _CBLAS_CONJ_NO_TRANS = 113, 114  # OpenBLAS's conjugating trsm options


def _char(c):
    return ir.Constant(I8, ord(c))


def _per_matrix(scope, avals, body, count=None):
    """for each of the stack's matrices: body([pointer of matrix i of each buffer]) where `avals` pairs
    (pointer, aval) name buffers whose trailing axes are per matrix; `count` matrices (by default the
    first buffer's leading axes before its last two)."""
    b = scope.b
    if count is None:
        count = _count(avals[0][1])
    with Loop(b, i64(0), i64(count)) as i:
        parts = []
        for pointer, aval in avals:
            per = fusion.nbytes(aval) // max(count, 1)
            parts.append(b.gep(pointer, [b.mul(i, i64(per))], source_etype=I8))
        body(parts)


def _count(aval, complex_=False):
    """The number of matrices in a stack (of interleaved complex matrices when complex_)."""
    return int(np.prod(aval.shape[: -3 if complex_ else -2], dtype=np.int64))


def _in_place(scope, src, dst):
    """Copy src into dst, which a factorisation then overwrites; False when dst is empty."""
    if not dst.aval.size:
        return False
    copy_atom(scope, src, scope.pointer(dst), dst.aval)
    return True


def _lapacke(scope, routine, dtype, ret, args, complex_=False):
    """Declare LAPACKE_?`routine` (s or d by the float dtype, c or z with complex_) with LLVM argument
    types `args`; chars sign-extended."""
    blas.library()
    letter = ("c" if dtype == np.float32 else "z") if complex_ else ("s" if dtype == np.float32 else "d")
    fn = extern(scope.module, f"scipy_LAPACKE_{letter}{routine}", ret, args)
    for arg, ty in zip(fn.args, args):
        if ty == I8:
            arg.add_attribute("signext")
    return fn


def _fill_nan_if(scope, failed, pointer, size, dtype):
    """pointer[0:size] = NaN when `failed` (LLVM i1): what a matrix LAPACK could not factor gives."""
    b = scope.b
    with b.if_then(failed), Loop(b, i64(0), i64(size)) as i:
        store_at(b, const(dtype, np.nan), pointer, i, dtype)


def _copy_block(scope, src, src_cols, dst, dst_cols, rows, cols, dtype, keep=None, parts=1):
    """dst[r, c] = src[r, c] for r < rows, c < cols (row-major with the given row lengths, elements of
    `parts` floats: 2 for interleaved complex); where keep(r, c) (LLVM i1) is false, 0 instead."""
    b = scope.b
    with Loop(b, i64(0), i64(rows)) as r, Loop(b, i64(0), i64(cols)) as c, Loop(b, i64(0), i64(parts)) as k:
        at = lambda row_length: b.add(b.mul(b.add(b.mul(r, i64(row_length)), c), i64(parts)), k)
        value = load_at(b, src, at(src_cols), dtype)
        if keep is not None:
            value = b.select(keep(r, c), value, const(dtype, 0))
        store_at(b, value, dst, at(dst_cols), dtype)


@opaque_rule("cholesky")
def _cholesky(scope, e):
    (a,), (out,) = e.invars, e.outvars
    complex_ = e.params.get("complex_layout", False)
    n, dtype, parts = out.aval.shape[-1 - complex_], a.aval.dtype, 1 + complex_
    if not _in_place(scope, a, out):
        return
    potrf = _lapacke(scope, "potrf", dtype, I32, [I32, I8, I32, PTR, I32], complex_)
    b = scope.b

    def body(ptrs):
        (m,) = ptrs
        info = b.call(potrf, [i32(blas.ROW_MAJOR), _char("L"), i32(n), m, i32(n)])
        failed = b.icmp_signed("!=", info, i32(0))  # not positive definite: all NaN, as the impl
        _copy_block(scope, m, n, m, n, n, n, dtype, keep=lambda r, c: b.icmp_signed("<=", c, r), parts=parts)
        _fill_nan_if(scope, failed, m, n * n * parts, dtype)

    _per_matrix(scope, [(scope.pointer(out), out.aval)], body, _count(out.aval, complex_))


@opaque_rule("triangular_solve")
def _triangular_solve(scope, e):
    a, rhs = e.invars
    out, p = e.outvars[0], e.params
    complex_ = p.get("complex_layout", False)
    dtype = out.aval.dtype
    if not _in_place(scope, rhs, out):
        return
    blas.library()
    letter = ("c" if dtype == np.float32 else "z") if complex_ else ("s" if dtype == np.float32 else "d")
    alpha_type = PTR if complex_ else reg_type(dtype)  # complex CBLAS takes alpha by pointer
    trsm = extern(scope.module, f"scipy_cblas_{letter}trsm", VOID, [I32] * 7 + [alpha_type, PTR, I32, PTR, I32])
    m_rows, n_cols = out.aval.shape[-2 - complex_ : out.aval.ndim - complex_]
    k = a.aval.shape[-1 - complex_]
    if p["transpose_a"]:
        trans = _CBLAS_CONJ_TRANS if p["conjugate_a"] else blas.TRANS
    else:
        trans = _CBLAS_CONJ_NO_TRANS if p["conjugate_a"] else blas.NO_TRANS
    if complex_:
        alpha = scope.malloc(2 * dtype.itemsize)
        store_at(scope.b, const(dtype, 1), alpha, i64(0), dtype)
        store_at(scope.b, const(dtype, 0), alpha, i64(1), dtype)
    else:
        alpha = ir.Constant(alpha_type, 1.0)
    flags = [
        i32(blas.ROW_MAJOR),
        i32(_CBLAS_LEFT if p["left_side"] else _CBLAS_RIGHT),
        i32(_CBLAS_LOWER if p["lower"] else _CBLAS_UPPER),
        i32(trans),
        i32(_CBLAS_UNIT if p["unit_diagonal"] else _CBLAS_NON_UNIT),
        i32(m_rows),
        i32(n_cols),
    ]
    _per_matrix(
        scope,
        [(scope.atom_pointer(a), a.aval), (scope.pointer(out), out.aval)],
        lambda ptrs: scope.b.call(trsm, flags + [alpha, ptrs[0], i32(max(k, 1)), ptrs[1], i32(max(n_cols, 1))]),
        _count(out.aval, complex_),
    )


@opaque_rule("lu")
def _lu(scope, e):
    (a,), (lu, pivots, perm) = e.invars, e.outvars
    complex_ = lu.aval.ndim == pivots.aval.ndim + 2  # pivots (..., n) against lu (..., n, n[, 2])
    n, dtype = pivots.aval.shape[-1], a.aval.dtype
    if not _in_place(scope, a, lu):
        return
    getrf = _lapacke(scope, "getrf", dtype, I32, [I32, I32, I32, PTR, I32, PTR], complex_)
    b = scope.b

    def body(ptrs):
        m, piv, order = ptrs
        b.call(getrf, [i32(blas.ROW_MAJOR), i32(n), i32(n), m, i32(n), piv])
        with Loop(b, i64(0), i64(n)) as i:  # 1-based pivots -> 0-based; identity permutation
            slot = b.gep(piv, [i], source_etype=I32)
            b.store(b.sub(b.load(slot, typ=I32), i32(1)), slot)
            b.store(b.trunc(i, I32), b.gep(order, [i], source_etype=I32))
        with Loop(b, i64(0), i64(n)) as i:  # apply the row swaps in order
            j = b.sext(b.load(b.gep(piv, [i], source_etype=I32), typ=I32), I64)
            pi, pj = b.gep(order, [i], source_etype=I32), b.gep(order, [j], source_etype=I32)
            vi, vj = b.load(pi, typ=I32), b.load(pj, typ=I32)
            b.store(vj, pi)
            b.store(vi, pj)

    count = int(np.prod(pivots.aval.shape[:-1], dtype=np.int64))
    _per_matrix(scope, [(scope.pointer(v), v.aval) for v in (lu, pivots, perm)], body, count)


@opaque_rule("eigh")
def _eigh(scope, e):
    """syevd (heevd for complex input, told by its real eigenvalues having one axis fewer than usual)."""
    (a,), (vectors, values) = e.invars, e.outvars
    complex_ = vectors.aval.ndim == values.aval.ndim + 2
    n, dtype = values.aval.shape[-1], a.aval.dtype
    if not _in_place(scope, a, vectors):
        return
    evd = _lapacke(scope, "heevd" if complex_ else "syevd", dtype, I32, [I32, I8, I8, I32, PTR, I32, PTR], complex_)
    uplo = _char("L" if e.params["lower"] else "U")
    _per_matrix(
        scope,
        [(scope.pointer(vectors), vectors.aval), (scope.pointer(values), values.aval)],
        lambda ptrs: scope.b.call(evd, [i32(blas.ROW_MAJOR), _char("V"), uplo, i32(n), ptrs[0], i32(n), ptrs[1]]),
        int(np.prod(values.aval.shape[:-1], dtype=np.int64)),
    )


@opaque_rule("qr")
def _qr(scope, e):
    """geqrf on a copy of each matrix (R in the upper triangle, reflectors below), R copied out,
    orgqr (ungqr) forms Q's columns in the same work matrix (m x max(n, Q's columns)), then Q copied out."""
    (a,), (q, r) = e.invars, e.outvars
    complex_ = e.params.get("complex_layout", False)
    parts = 1 + complex_
    (m, n), dtype = a.aval.shape[a.aval.ndim - 2 - complex_ : a.aval.ndim - complex_], a.aval.dtype
    qcols, k = q.aval.shape[-1 - complex_], min(m, n)
    width = max(n, qcols)
    geqrf = _lapacke(scope, "geqrf", dtype, I32, [I32, I32, I32, PTR, I32, PTR], complex_)
    orgqr = _lapacke(scope, "ungqr" if complex_ else "orgqr", dtype, I32, [I32, I32, I32, I32, PTR, I32, PTR], complex_)
    work = scope.malloc(m * width * parts * dtype.itemsize)
    tau = scope.malloc(max(k, 1) * parts * dtype.itemsize)
    b = scope.b

    def body(ptrs):
        am, qm, rm = ptrs
        _copy_block(scope, am, n, work, width, m, n, dtype, parts=parts)
        with Loop(b, i64(0), i64(m)) as i, Loop(b, i64(n * parts), i64(width * parts)) as j:
            store_at(
                b, const(dtype, 0), work, b.add(b.mul(i, i64(width * parts)), j), dtype
            )  # LAPACKE checks them for NaN
        b.call(geqrf, [i32(blas.ROW_MAJOR), i32(m), i32(n), work, i32(width), tau])
        rows = r.aval.shape[-2 - complex_]
        upper = lambda i, j: b.icmp_signed(">=", j, i)
        _copy_block(scope, work, width, rm, n, rows, n, dtype, keep=upper, parts=parts)
        b.call(orgqr, [i32(blas.ROW_MAJOR), i32(m), i32(qcols), i32(k), work, i32(width), tau])
        _copy_block(scope, work, width, qm, qcols, m, qcols, dtype, parts=parts)

    avals = [(scope.atom_pointer(a), a.aval), (scope.pointer(q), q.aval), (scope.pointer(r), r.aval)]
    _per_matrix(scope, avals, body, _count(a.aval, complex_))


@opaque_rule("svd")
def _svd(scope, e):
    """gesdd (divide and conquer, as NumPy) on a copy of each matrix; NaN outputs where it fails
    (non-finite entries: LAPACKE's NaN check refuses them), as JAX. Complex input (told by the real
    singular values having one axis fewer than usual) goes to zgesdd/cgesdd."""
    (a,), outs = e.invars, e.outvars
    s_aval = outs[0].aval
    complex_ = a.aval.ndim == s_aval.ndim + 2
    parts = 1 + complex_
    (m, n), dtype = a.aval.shape[a.aval.ndim - 2 - complex_ : a.aval.ndim - complex_], a.aval.dtype
    compute_uv = e.params["compute_uv"]
    jobz = "N" if not compute_uv else "A" if e.params["full_matrices"] else "S"
    gesdd = _lapacke(scope, "gesdd", dtype, I32, [I32, I8, I32, I32, PTR, I32, PTR, PTR, I32, PTR, I32], complex_)
    work = scope.malloc(m * n * parts * dtype.itemsize)
    dummy = scope.malloc(parts * dtype.itemsize)
    b = scope.b
    ucols = outs[1].aval.shape[-1 - complex_] if compute_uv else 1
    count = _count(a.aval, complex_)

    def body(ptrs):
        am, sv, *uv = ptrs
        um, vm = uv if compute_uv else (dummy, dummy)
        _copy_block(scope, am, n, work, n, m, n, dtype, parts=parts)
        ldvt = n if compute_uv else 1
        args = [i32(blas.ROW_MAJOR), _char(jobz), i32(m), i32(n), work, i32(n), sv, um, i32(ucols), vm, i32(ldvt)]
        failed = b.icmp_signed("!=", b.call(gesdd, args), i32(0))
        for pointer, v in zip(ptrs[1:], outs):
            _fill_nan_if(scope, failed, pointer, v.aval.size // count, dtype)

    _per_matrix(scope, [(scope.atom_pointer(a), a.aval)] + [(scope.pointer(v), v.aval) for v in outs], body, count)


@opaque_rule("geqrf")
def _geqrf(scope, e):
    """geqrf in place on a copy of each matrix."""
    (a,), (factored, tau) = e.invars, e.outvars
    complex_ = e.params.get("complex_layout", False)
    (m, n), dtype = a.aval.shape[a.aval.ndim - 2 - complex_ : a.aval.ndim - complex_], a.aval.dtype
    if not _in_place(scope, a, factored):
        return
    geqrf = _lapacke(scope, "geqrf", dtype, I32, [I32, I32, I32, PTR, I32, PTR], complex_)
    _per_matrix(
        scope,
        [(scope.pointer(factored), factored.aval), (scope.pointer(tau), tau.aval)],
        lambda ptrs: scope.b.call(geqrf, [i32(blas.ROW_MAJOR), i32(m), i32(n), ptrs[0], i32(n), ptrs[1]]),
        _count(a.aval, complex_),
    )


@opaque_rule("eig")
def _eig(scope, e):
    """geev on a copy of each matrix: dgeev/sgeev for real input (eigenvalues as (wr, wi), a complex
    pair's eigenvectors packed as two real columns, unpacked here into complex columns), zgeev/cgeev
    for complex input (float (..., n, n, 2) buffers, the complex contract). Left eigenvectors are then
    rescaled so each column's largest component is real and positive, as the eager path does."""
    (a,), outs = e.invars, e.outvars
    w = outs[0]
    p = e.params
    n, dtype = w.aval.shape[-2], a.aval.dtype
    complex_input = a.aval.ndim == w.aval.ndim + 1  # w is complex: (..., n, 2); a is (..., n, n) or (..., n, n, 2)
    jobvl, jobvr = ("V" if p["compute_left_eigenvectors"] else "N"), ("V" if p["compute_right_eigenvectors"] else "N")
    parts = 2 if complex_input else 1
    work = scope.malloc(n * n * parts * dtype.itemsize)
    vl_work = scope.malloc(n * n * parts * dtype.itemsize)
    vr_work = scope.malloc(n * n * parts * dtype.itemsize)
    wr, wi = scope.malloc(n * dtype.itemsize), scope.malloc(n * dtype.itemsize)
    slots = scope.malloc(16)
    b = scope.b
    count = _count(a.aval, complex_input)
    vector_outs = list(outs[1:])

    def body(ptrs):
        am, wm, *vms = ptrs
        _copy_block(scope, am, n, work, n, n, n, dtype, parts=parts)
        if complex_input:
            geev = _lapacke(
                scope, "geev", dtype, I32, [I32, I8, I8, I32, PTR, I32, PTR, PTR, I32, PTR, I32], complex_=True
            )
            args = [work, i32(n), wm, vl_work, i32(n), vr_work, i32(n)]
        else:
            geev = _lapacke(scope, "geev", dtype, I32, [I32, I8, I8, I32, PTR, I32, PTR, PTR, PTR, I32, PTR, I32])
            args = [work, i32(n), wr, wi, vl_work, i32(n), vr_work, i32(n)]
        info = b.call(geev, [i32(blas.ROW_MAJOR), _char(jobvl), _char(jobvr), i32(n)] + args)
        if not complex_input:
            with Loop(b, i64(0), i64(n)) as j:
                store_at(b, load_at(b, wr, j, dtype), wm, b.mul(j, i64(2)), dtype)
                store_at(b, load_at(b, wi, j, dtype), wm, b.add(b.mul(j, i64(2)), i64(1)), dtype)
        sources = ([vl_work] if p["compute_left_eigenvectors"] else []) + (
            [vr_work] if p["compute_right_eigenvectors"] else []
        )
        for src, dst in zip(sources, vms):
            if complex_input:
                _copy_block(scope, src, n * n * 2, dst, 0, 1, n * n * 2, dtype)
            else:
                _unpack_real_eigenvectors(scope, src, wi, dst, n, dtype)
        if p["compute_left_eigenvectors"]:
            _largest_component_positive(scope, vms[0], n, dtype, slots)
        failed = b.icmp_signed("!=", info, i32(0))
        for pointer, v in zip([wm] + vms, [w] + vector_outs):
            _fill_nan_if(scope, failed, pointer, v.aval.size // max(count, 1), dtype)

    avals = [(scope.atom_pointer(a), a.aval)] + [(scope.pointer(v), v.aval) for v in outs]
    with Loop(b, i64(0), i64(count)) as i:
        ptrs = [
            b.gep(pointer, [b.mul(i, i64(fusion.nbytes(aval) // max(count, 1)))], source_etype=I8)
            for pointer, aval in avals
        ]
        body(ptrs)


def _unpack_real_eigenvectors(scope, packed, wi, out, n, dtype):
    """out[i, j] (complex, interleaved) from real geev's packing: column j itself for a real eigenvalue;
    for a complex pair (wi[j] > 0, wi[j + 1] < 0) columns j and j + 1 are the real and imaginary parts of
    the first vector, the second is its conjugate."""
    b = scope.b
    zero = const(dtype, 0)
    with Loop(b, i64(0), i64(n)) as j:
        imag_part = load_at(b, wi, j, dtype)
        first, second = b.fcmp_ordered(">", imag_part, zero), b.fcmp_ordered("<", imag_part, zero)
        before = b.select(b.icmp_signed(">", j, i64(0)), b.sub(j, i64(1)), j)
        after = b.select(b.icmp_signed("<", j, i64(n - 1)), b.add(j, i64(1)), j)
        with Loop(b, i64(0), i64(n)) as i:
            row = b.mul(i, i64(n))
            own = load_at(b, packed, b.add(row, j), dtype)
            prev = load_at(b, packed, b.add(row, before), dtype)
            nxt = load_at(b, packed, b.add(row, after), dtype)
            re = b.select(second, prev, own)
            im = b.select(first, nxt, b.select(second, b.fneg(own), zero))
            at = b.mul(b.add(row, j), i64(2))
            store_at(b, re, out, at, dtype)
            store_at(b, im, out, b.add(at, i64(1)), dtype)


def _largest_component_positive(scope, v, n, dtype, slots):
    """Scale each column of the complex n x n matrix v by conj(v[k]) / |v[k]|, k its largest entry."""
    b = scope.b
    best_at = slots  # i64 index of the largest entry so far, then its squared magnitude (as dtype)
    best = b.gep(slots, [i64(8)], source_etype=I8)
    with Loop(b, i64(0), i64(n)) as j:
        b.store(i64(0), best_at)
        store_at(b, const(dtype, -1), best, i64(0), dtype)
        with Loop(b, i64(0), i64(n)) as i:
            at = b.mul(b.add(b.mul(i, i64(n)), j), i64(2))
            re, im = load_at(b, v, at, dtype), load_at(b, v, b.add(at, i64(1)), dtype)
            size = b.fadd(b.fmul(re, re), b.fmul(im, im))
            larger = b.fcmp_ordered(">", size, load_at(b, best, i64(0), dtype))
            with b.if_then(larger):
                b.store(i, best_at)
                store_at(b, size, best, i64(0), dtype)
        k = b.load(best_at, typ=I64)
        at = b.mul(b.add(b.mul(k, i64(n)), j), i64(2))
        kre, kim = load_at(b, v, at, dtype), load_at(b, v, b.add(at, i64(1)), dtype)
        magnitude = _sqrt(b, load_at(b, best, i64(0), dtype), dtype)
        cre, cim = b.fdiv(kre, magnitude), b.fneg(b.fdiv(kim, magnitude))  # conj(v[k]) / |v[k]|
        with Loop(b, i64(0), i64(n)) as i:
            at = b.mul(b.add(b.mul(i, i64(n)), j), i64(2))
            re, im = load_at(b, v, at, dtype), load_at(b, v, b.add(at, i64(1)), dtype)
            store_at(b, b.fsub(b.fmul(re, cre), b.fmul(im, cim)), v, at, dtype)
            store_at(b, b.fadd(b.fmul(re, cim), b.fmul(im, cre)), v, b.add(at, i64(1)), dtype)


def _sqrt(b, x, dtype):
    name = "llvm.sqrt.f32" if dtype == np.float32 else "llvm.sqrt.f64"
    return intrinsic(b, name, reg_type(dtype), [x])
