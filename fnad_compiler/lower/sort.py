"""Sort (stable, along one axis, several operands by several keys): radix sort of one numeric key,
else qsort_r of positions with a generated comparator; then every operand gathered in that order."""

from __future__ import annotations

import numpy as np
from llvmlite import ir

from fnad.core import ShapedArray
from fnad.ir import Var
from fnad_compiler.llvm_ir import (
    I8,
    I32,
    I64,
    PTR,
    VOID,
    Loop,
    const,
    dtype_kind,
    extern,
    i64,
    load_at,
    mem_type,
    store_at,
)
from fnad_compiler.lower.elemental import affine_combination, row_major, unit_row
from fnad_compiler.lower.kernel import Kernel, Spec
from fnad_compiler.lower.rules import opaque_rule


def _less(b, dtype, x, y):
    """x < y in sort order (NaN after everything, as NumPy sorts)."""
    k = dtype_kind(dtype)
    if k == "f":
        return b.or_(b.fcmp_ordered("<", x, y), b.and_(b.fcmp_ordered("ord", x, x), b.fcmp_unordered("uno", y, y)))
    return (b.icmp_signed if k == "i" else b.icmp_unsigned)("<", x, y)


def _sort_comparator(module, name, key_dtypes, stride):
    """int cmp(i64* a, i64* b, ctx) for qsort_r: ctx = the key rows' pointers; compares the keys
    at positions *a and *b (elements `stride` apart) lexicographically, then the positions (stable)."""
    fn = ir.Function(module, ir.FunctionType(I32, [PTR, PTR, PTR]), name)
    fn.linkage = "internal"
    pa, pb, ctx = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    ia, ib = b.load(pa, typ=I64), b.load(pb, typ=I64)
    oa, ob = b.mul(ia, i64(stride)), b.mul(ib, i64(stride))
    minus, plus = ir.Constant(I32, -1), ir.Constant(I32, 1)
    for k, dtype in enumerate(key_dtypes):
        key = b.load(b.gep(ctx, [i64(k)], source_etype=PTR), typ=PTR)
        x, y = load_at(b, key, oa, dtype), load_at(b, key, ob, dtype)
        for cond, result in ((_less(b, dtype, x, y), minus), (_less(b, dtype, y, x), plus)):
            with b.if_then(cond):
                b.ret(result)
    b.ret(b.select(b.icmp_signed("<", ia, ib), minus, b.select(b.icmp_signed(">", ia, ib), plus, ir.Constant(I32, 0))))
    return fn


_RADIX_MIN = 256  # row length from which one numeric key is sorted by radix instead of qsort_r


def _radix_key(b, dtype, x):
    """An unsigned integer of x's width ordered as `_less` orders x, ties included: NaNs (all
    equal) above everything, -0.0 equal to +0.0."""
    width = 8 * np.dtype(dtype).itemsize
    ity = ir.IntType(width)
    sign = ir.Constant(ity, 1 << (width - 1))
    if dtype_kind(dtype) == "i":
        return b.xor(x, sign)
    if dtype_kind(dtype) != "f":
        return x
    x = b.select(b.fcmp_ordered("==", x, const(dtype, 0)), const(dtype, 0), x)
    bits = b.bitcast(x, ity)
    key = b.select(b.icmp_signed("<", bits, ir.Constant(ity, 0)), b.not_(bits), b.or_(bits, sign))
    return b.select(b.fcmp_unordered("uno", x, x), ir.Constant(ity, -1), key)


def _radix_order(kernel, key, row, stride, n, buffers):
    """Positions 0..n-1 of the row of `key` at `row` (elements `stride` apart) in stable sort order,
    by least-significant-digit radix sort of `_radix_key`s, a byte per pass: one read counts every
    byte's histogram, then each pass whose byte is not the same for all keys scatters (key,
    position) pairs in order. `buffers`: pointers to two key arrays and two position arrays (i64)
    of n. Returns the pointer to the array of positions."""
    b, dtype = kernel.b, key.aval.dtype
    passes = np.dtype(dtype).itemsize
    ity = ir.IntType(8 * passes)
    keys_a, keys_b, pos_a, pos_b = buffers
    hist = kernel.alloca_builder.alloca(I64, size=256 * passes)
    with Loop(b, i64(0), i64(256 * passes)) as j:
        b.store(i64(0), b.gep(hist, [j], source_etype=I64))

    def slot(k, p):
        digit = b.zext(b.trunc(b.lshr(k, ir.Constant(ity, 8 * p)), I8), I64) if passes > 1 else b.zext(k, I64)
        return b.gep(hist, [b.add(digit, i64(256 * p))], source_etype=I64)

    with Loop(b, i64(0), i64(n)) as i:
        k = _radix_key(b, dtype, load_at(b, kernel.em.pointers[key], b.add(row, b.mul(i, i64(stride))), dtype))
        b.store(k, b.gep(keys_a, [i], source_etype=ity))
        b.store(i, b.gep(pos_a, [i], source_etype=I64))
        for p in range(passes):
            h = slot(k, p)
            b.store(b.add(b.load(h, typ=I64), i64(1)), h)
    some_key = b.load(keys_a, typ=ity)
    cur = [kernel.alloca_builder.alloca(PTR) for _ in range(4)]  # source keys, positions; destinations
    for c, v in zip(cur, (keys_a, pos_a, keys_b, pos_b)):
        b.store(v, c)
    total = kernel.alloca_builder.alloca(I64)
    for p in range(passes):
        with b.if_then(b.icmp_signed("!=", b.load(slot(some_key, p), typ=I64), i64(n))):
            b.store(i64(0), total)
            with Loop(b, i64(0), i64(256)) as j:  # counts -> first position of each digit
                h = b.gep(hist, [b.add(j, i64(256 * p))], source_etype=I64)
                count = b.load(h, typ=I64)
                b.store(b.load(total, typ=I64), h)
                b.store(b.add(b.load(total, typ=I64), count), total)
            src_k, src_p, dst_k, dst_p = [b.load(c, typ=PTR) for c in cur]
            with Loop(b, i64(0), i64(n)) as i:
                k = b.load(b.gep(src_k, [i], source_etype=ity), typ=ity)
                h = slot(k, p)
                at = b.load(h, typ=I64)
                b.store(b.add(at, i64(1)), h)
                b.store(k, b.gep(dst_k, [at], source_etype=ity))
                b.store(b.load(b.gep(src_p, [i], source_etype=I64), typ=I64), b.gep(dst_p, [at], source_etype=I64))
            for c, v in zip(cur, (dst_k, dst_p, src_k, src_p)):
                b.store(v, c)
    return b.load(cur[1], typ=PTR)


@opaque_rule("sort")
def _sort(lw, e):
    """Per row along `dimension`: the positions 0..n-1 in stable order of the keys (radix sort of
    one numeric key of `_RADIX_MIN` elements or more, else qsort_r comparing the keys, then the
    positions), then every operand gathered in that order."""
    operands, outs = e.invars, e.outvars
    dim, num_keys = e.params["dimension"], e.params["num_keys"]
    shape = operands[0].aval.shape
    n, stride = shape[dim], row_major(shape)[dim]
    if not outs[0].aval.size:
        return
    kept = [d for d in range(len(shape)) if d != dim]
    strides = row_major(shape)
    row_form = affine_combination([unit_row(j, len(kept)) for j in range(len(kept))], [strides[d] for d in kept])
    perm = Var(ShapedArray((n,), np.int64))
    lw.temporary[perm] = lw.malloc(8 * n)
    radix = num_keys == 1 and dtype_kind(operands[0].aval.dtype) in "fiu" and n >= _RADIX_MIN
    scratch = []
    if radix:
        key_dtype = operands[0].aval.dtype
        scratch = [
            Var(ShapedArray((n,), key_dtype)),
            Var(ShapedArray((n,), key_dtype)),
            Var(ShapedArray((n,), np.int64)),
        ]
        for v in scratch:
            lw.temporary[v] = lw.malloc(v.aval.dtype.itemsize * n)
    cmp = _sort_comparator(lw.module, lw.fresh("sort_cmp"), [v.aval.dtype for v in operands[:num_keys]], stride)
    qsort = extern(lw.module, "qsort_r", VOID, [PTR, I64, I64, PTR, PTR])

    def element(em):
        for v in list(operands) + [perm] + scratch:
            em.load(v, row_form)
        em.forms.append(row_form)

    def body(kernel):
        em, b = kernel.em, kernel.b
        row = em.offset(row_form)
        if radix:
            buffers = [em.pointers[scratch[0]], em.pointers[scratch[1]], em.pointers[perm], em.pointers[scratch[2]]]
            gather(kernel, row, _radix_order(kernel, operands[0], row, stride, n, buffers))
            return
        ctx = kernel.alloca_builder.alloca(PTR, size=num_keys)
        for k, v in enumerate(operands[:num_keys]):
            b.store(
                b.gep(em.pointers[v], [row], source_etype=mem_type(v.aval.dtype)),
                b.gep(ctx, [i64(k)], source_etype=PTR),
            )
        order = em.pointers[perm]
        with Loop(b, i64(0), i64(n)) as i:
            b.store(i, b.gep(order, [i], source_etype=I64))
        b.call(qsort, [order, i64(n), i64(8), cmp, ctx])
        gather(kernel, row, order)

    def gather(kernel, row, order):
        em, b = kernel.em, kernel.b
        with Loop(b, i64(0), i64(n)) as i:
            src = b.add(row, b.mul(b.load(b.gep(order, [i], source_etype=I64), typ=I64), i64(stride)))
            dst = b.add(row, b.mul(i, i64(stride)))
            for v, o in zip(operands, outs):
                store_at(b, load_at(b, em.pointers[v], src, v.aval.dtype), em.pointers[o], dst, o.aval.dtype)

    Kernel(
        lw,
        Spec(
            [shape[d] for d in kept],
            [False] * len(kept),
            element,
            outs[0],
            None,
            outs[0].aval.dtype,
            {},
            out_form=(0,) * (len(kept) + 1),
            body=body,
            stores=outs[1:],
        ),
    ).launch()
