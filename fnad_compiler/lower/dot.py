"""dot_general: CBLAS gemm per batch for large float products, else a reduction nest (outer products
are elemental and fuse with their neighbours, see `elemental`)."""

from __future__ import annotations

import numpy as np
from llvmlite import ir

from fnad.ir import Var
from fnad_compiler import blas
from fnad_compiler.llvm_ir import i32, i64, reg_type
from fnad_compiler.lower.elemental import free_axes, unit_row
from fnad_compiler.lower.kernel import Kernel, Spec
from fnad_compiler.lower.rules import SCALAR, opaque_rule

_BLAS_MIN = 1 << 15  # m*n*k from which dot_general calls BLAS


@opaque_rule("dot_general")
def _dot_general(lw, e):
    x, y = e.invars
    out = e.outvars[0]
    (lc, rc), (lb, rb) = e.params["dimension_numbers"]
    lf, rf = free_axes(x.aval.ndim, lc, lb), free_axes(y.aval.ndim, rc, rb)
    size = lambda a, axes: int(np.prod([a.aval.shape[i] for i in axes], dtype=np.int64))
    nb, m, n, k = size(x, lb), size(x, lf), size(y, rf), size(x, lc)
    dtype = out.aval.dtype
    if dtype in (np.float32, np.float64) and m * n * k >= _BLAS_MIN and max(m, n, k) < 2**31:
        return _dot_blas(lw, e, (nb, m, n, k), (lb, lf, lc), (rb, rc, rf))
    # A reduction nest: domain = batch, lhs free, rhs free, contracting axes.
    domain = (
        [x.aval.shape[i] for i in lb]
        + [x.aval.shape[i] for i in lf]
        + [y.aval.shape[i] for i in rf]
        + [x.aval.shape[i] for i in lc]
    )
    nd = len(domain)
    unit = lambda j: unit_row(j, nd)
    pos_x = {a: j for j, a in enumerate(list(lb) + list(lf))}
    pos_x.update({a: nd - len(lc) + j for j, a in enumerate(lc)})
    pos_y = {a: j for j, a in enumerate(rb)}
    pos_y.update({a: len(lb) + len(lf) + j for j, a in enumerate(rf)})
    pos_y.update({a: nd - len(rc) + j for j, a in enumerate(rc)})
    mx = tuple(unit(pos_x[i]) for i in range(x.aval.ndim))
    my = tuple(unit(pos_y[i]) for i in range(y.aval.ndim))
    mul = SCALAR["mul"]

    def element(em):
        a, c = em.value(x, mx), em.value(y, my)
        return (a, c) if em.dry else mul(em.b, e, a, c)  # the product's dtype is the spec's

    reduced = [False] * (nd - len(lc)) + [True] * len(lc)
    Kernel(lw, Spec(domain, reduced, element, out, "sum", dtype, {}, structural=True)).launch()


def _dot_blas(lw, e, dims, lhs_axes, rhs_axes):
    """Per batch: C (m x n) = A (m x k) @ B (k x n) with cblas gemm, row-major."""
    b = lw.b
    x, y = e.invars
    out = e.outvars[0]
    nb, m, n, k = dims
    dtype = out.aval.dtype
    lb, lf, lc = lhs_axes
    rb, rc, rf = rhs_axes

    def operand(v, batch, first, second, rows, cols):
        """(pointer, transposed, leading dimension) of v viewed as batch x (rows x cols)."""
        order = tuple(range(v.aval.ndim))
        if tuple(batch) + tuple(first) + tuple(second) == order:
            return lw.pointer(v), False, max(cols, 1)
        if tuple(batch) + tuple(second) + tuple(first) == order:
            return lw.pointer(v), True, max(rows, 1)
        perm = tuple(batch) + tuple(first) + tuple(second)  # copy into that layout
        shape = [v.aval.shape[i] for i in perm]
        tmp = lw.malloc(int(np.prod(shape)) * dtype.itemsize)
        M = tuple(unit_row(perm.index(i), len(perm)) for i in range(len(perm)))
        copy = Var(v.aval.update(shape=tuple(shape)))
        lw.temporary[copy] = tmp
        element = lambda em: em.value(v, M)
        Kernel(lw, Spec(shape, [False] * len(shape), element, copy, None, dtype, {}, structural=True)).launch()
        return tmp, False, max(cols, 1)

    a, ta, lda = operand(x, lb, lf, lc, m, k)
    bb, tb, ldb = operand(y, rb, rc, rf, k, n)
    c = lw.pointer(out)
    fty = reg_type(dtype)
    item = dtype.itemsize
    arguments = [
        i32(blas.ROW_MAJOR),
        i32(blas.TRANS if ta else blas.NO_TRANS),
        i32(blas.TRANS if tb else blas.NO_TRANS),
        i32(m),
        i32(n),
        i32(k),
        ir.Constant(fty, 1.0),
        a,
        i32(lda),
        bb,
        i32(ldb),
        ir.Constant(fty, 0.0),
        c,
        i32(n),
    ]
    if nb == 1:
        b.call(blas.declare_gemm(lw.module, dtype), arguments)
    else:  # one call, its loop in the runtime: main stays straight-line glue (see `fnad_compiler.lower`)
        steps = [i64(nb), i64(m * k * item), i64(k * n * item), i64(m * n * item)]
        b.call(blas.declare_gemm_batched(lw.module, dtype), steps + arguments)
