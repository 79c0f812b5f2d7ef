"""Indexing: dynamic_slice / dynamic_update_slice through pointers offset by the clamped starts,
concatenate and pad as stores at affine output offsets, gather and scatter with loaded indices."""

from __future__ import annotations

import numpy as np
from llvmlite import ir

from fnad.ir import Literal
from fnad_compiler.llvm_ir import I1, convert, dtype_kind, i64, load_at, mem_type, store_at
from fnad_compiler.lower.elemental import affine_combination, identity_map, row_major, unit_row
from fnad_compiler.lower.kernel import Kernel, Spec, reduce_step
from fnad_compiler.lower.rules import opaque_rule


def _store_kernel(lw, domain, element, out, out_form=None, body=None, structural=False):
    """Store `element` over `domain` into `out`. `structural` when `element` only returns an
    `em.value` (a copy): the kernel's function is then known from its structure, and kernels of the
    same structure (a concatenate's equal operands, the copies of a Jacobian's rows) share one
    unit's text instead of each generating it (see `Kernel.structure`)."""
    flags = {"out_form": out_form, "body": body, "structural": structural}
    spec = Spec(domain, [False] * len(domain), element, out, None, out.aval.dtype, {}, **flags)
    Kernel(lw, spec).launch()


def _element_pointer(lw, v, offset):
    return lw.b.gep(lw.pointer(v), [offset], inbounds=True, source_etype=mem_type(v.aval.dtype))


def _clamped_start(lw, start, limit):
    """A start index (scalar atom) as i64 clamped to [0, limit]."""
    b = lw.b
    if type(start) is Literal:
        return i64(min(max(int(start.val), 0), limit))
    return _clamp_index(b, load_at(b, lw.pointer(start), i64(0), start.aval.dtype), start.aval.dtype, limit)


def _clamp_index(b, v, dtype, limit):
    """Index `v` of `dtype` as i64 clamped to [0, limit]. Unsigned indices compare unsigned: a
    uint64 of 2**63 or more is past the end (as NumPy's clip sees it), not negative."""
    v = convert(b, v, dtype, np.int64)
    if dtype_kind(dtype) == "u":
        return b.select(b.icmp_unsigned(">", v, i64(limit)), i64(limit), v)
    v = b.select(b.icmp_signed("<", v, i64(0)), i64(0), v)
    return b.select(b.icmp_signed(">", v, i64(limit)), i64(limit), v)


def _window_offset(lw, shape, sizes, starts):
    b, acc = lw.b, i64(0)
    for st, n, m, s in zip(row_major(shape), shape, sizes, starts):
        acc = b.add(acc, b.mul(_clamped_start(lw, s, n - m), i64(st)))
    return acc


def _identity_copy(lw, src, out):
    n = src.aval.ndim
    _store_kernel(lw, src.aval.shape, lambda em: em.value(src, identity_map(n)), out, structural=True)


@opaque_rule("dynamic_slice")
def _dynamic_slice(lw, e):
    x, *starts = e.invars
    out = e.outvars[0]
    sizes = e.params["slice_sizes"]
    view = lw.view(x.aval, _element_pointer(lw, x, _window_offset(lw, x.aval.shape, sizes, starts)))
    n = len(sizes)
    _store_kernel(lw, sizes, lambda em: em.value(view, identity_map(n)), out, structural=True)


@opaque_rule("dynamic_update_slice")
def _dynamic_update_slice(lw, e):
    x, u, *starts = e.invars
    out = e.outvars[0]
    if out not in lw.plan.in_place:
        _identity_copy(lw, x, out)
    view = lw.view(out.aval, _element_pointer(lw, out, _window_offset(lw, x.aval.shape, u.aval.shape, starts)))
    n = u.aval.ndim
    form = affine_combination(identity_map(n), row_major(x.aval.shape))
    _store_kernel(lw, u.aval.shape, lambda em: em.value(u, identity_map(n)), view, out_form=form, structural=True)


@opaque_rule("concatenate")
def _concatenate(lw, e):
    out, axis = e.outvars[0], e.params["dimension"]
    strides, offset = row_major(out.aval.shape), 0
    for x in e.invars:
        n = x.aval.ndim
        view = lw.view(out.aval, _element_pointer(lw, out, i64(offset * strides[axis])))
        form = affine_combination(identity_map(n), strides)
        element = (lambda x: lambda em: em.value(x, identity_map(n)))(x)
        _store_kernel(lw, x.aval.shape, element, view, out_form=form, structural=True)
        offset += x.aval.shape[axis]


@opaque_rule("pad")
def _pad(lw, e):
    x, fill = e.invars
    out = e.outvars[0]
    _store_kernel(lw, out.aval.shape, lambda em: em.value(fill, ()), out, structural=True)
    strides = row_major(out.aval.shape)
    rows, counts, coefs, constant = [], [], [], 0
    for d, (n, (lo, hi, interior)) in enumerate(zip(x.aval.shape, e.params["padding_config"])):
        step, size = interior + 1, out.aval.shape[d]
        first = max(0, -(lo // step) if lo < 0 else 0)
        last = min(n - 1, (size - 1 - lo) // step) if size - 1 - lo >= 0 else -1
        counts.append(max(0, last - first + 1))
        rows.append(unit_row(d, x.aval.ndim, 1, first))
        coefs.append(step * strides[d])
        constant += (lo + first * step) * strides[d]
    form = affine_combination(identity_map(x.aval.ndim), coefs, constant)
    _store_kernel(lw, counts, lambda em: em.value(x, tuple(rows)), out, out_form=form, structural=True)


def _gather_parts(x, idx, axes, ndomain, nbatch):
    """Index rows of the index tuples (per indexed axis) and the affine part of x's offset."""
    k = len(axes)
    idx_rows = [
        tuple(unit_row(i, ndomain) for i in range(nbatch)) + (unit_row(None, ndomain, constant=j),) for j in range(k)
    ]
    rest = [d for d in range(x.aval.ndim) if d not in axes]
    strides = row_major(x.aval.shape)
    x_form = affine_combination(
        [unit_row(nbatch + r, ndomain) for r in range(len(rest))], [strides[d] for d in rest], ndomain=ndomain
    )
    return idx_rows, x_form, strides


def _index_value(em, idx, row, limit, clamp):
    """One index as i64: clamped to [0, limit - 1], or (value, in-bounds flag)."""
    b = em.b
    if clamp:
        return _clamp_index(b, em.value(idx, row), idx.aval.dtype, limit - 1), None
    v = convert(b, em.value(idx, row), idx.aval.dtype, np.int64)
    return v, b.icmp_unsigned("<", v, i64(limit))  # negative (or >= 2**63 unsigned) is outside too


@opaque_rule("gather")
def _gather(lw, e):
    x, idx = e.invars
    out, axes = e.outvars[0], e.params["axes"]
    nd, nbatch = out.aval.ndim, idx.aval.ndim - 1
    idx_rows, x_form, strides = _gather_parts(x, idx, axes, nd, nbatch)

    def element(em):
        if em.dry:
            for row in idx_rows:
                em.value(idx, row)
            return em.load(x, x_form)
        extra = i64(0)
        for row, d in zip(idx_rows, axes):
            v, _ = _index_value(em, idx, row, x.aval.shape[d], clamp=True)
            extra = em.b.add(extra, em.b.mul(v, i64(strides[d])))
        return em.load(x, x_form, extra)

    _store_kernel(lw, out.aval.shape, element, out)


SCATTER = {"scatter": None, "scatter_add": "sum", "scatter_mul": "prod", "scatter_min": "min", "scatter_max": "max"}


@opaque_rule(*SCATTER)
def _scatter(lw, e):
    x, idx, u = e.invars
    out, axes = e.outvars[0], e.params["axes"]
    combine = SCATTER[e.primitive.name]
    if out not in lw.plan.in_place:
        _identity_copy(lw, x, out)
    # complex_pairs: operand and updates are complex numbers as (re, im) pairs on a last axis, which the
    # domain (the updates' points) leaves out. _gather_parts gives that axis of out the row of domain
    # axis nd, which does not exist: a zero row, so out_form addresses a pair's re, and re + 1 its im.
    pairs = e.params.get("complex_pairs", False)
    nd, nbatch = u.aval.ndim - pairs, idx.aval.ndim - 1
    idx_rows, out_form, strides = _gather_parts(out, idx, axes, nd, nbatch)
    dtype = out.aval.dtype
    u_forms = [identity_map(nd) + (unit_row(None, nd, constant=k),) for k in (0, 1)] if pairs else [identity_map(nd)]

    def element(em):
        if em.dry:
            for row in idx_rows:
                em.value(idx, row)
            em.forms.append(out_form)
        return [em.value(u, form) for form in u_forms]

    def body(kernel):
        em, b = kernel.em, kernel.b
        value = element(em)
        extra, ok = i64(0), ir.Constant(I1, 1)
        for row, d in zip(idx_rows, axes):
            v, inside = _index_value(em, idx, row, out.aval.shape[d], clamp=False)
            extra, ok = b.add(extra, b.mul(v, i64(strides[d]))), b.and_(ok, inside)
        with b.if_then(ok):
            offset = b.add(em.offset(out_form), extra)
            offsets = [offset, b.add(offset, i64(1))] if pairs else [offset]
            if pairs:
                acc = [load_at(b, kernel.out_ptr, o, dtype) for o in offsets]
                value = _complex_step(b, combine, acc, value)
            elif combine is not None:
                value = [reduce_step(b, combine, dtype, load_at(b, kernel.out_ptr, offsets[0], dtype), value[0])]
            for o, v in zip(offsets, value):
                store_at(b, v, kernel.out_ptr, o, dtype)

    _store_kernel(lw, u.aval.shape[:nd], element, out, out_form=(0,) * (nd + 1), body=body)


def _complex_step(b, combine, acc, u):
    """acc combined with update u, both (re, im), as NumPy's complex ufuncs: the product
    (ar ur - ai ui, ar ui + ai ur); for min and max NumPy's lexicographic order, keeping acc where
    it has a NaN or does not lose, else taking u (so a NaN in either propagates)."""
    (ar, ai), (ur, ui) = acc, u
    if combine == "prod":
        return [b.fsub(b.fmul(ar, ur), b.fmul(ai, ui)), b.fadd(b.fmul(ar, ui), b.fmul(ai, ur))]
    strict, weak = ("<", "<=") if combine == "min" else (">", ">=")
    no_nan_im = b.and_(b.fcmp_ordered("ord", ai, ai), b.fcmp_ordered("ord", ui, ui))
    wins = b.or_(
        b.and_(b.fcmp_ordered(strict, ar, ur), no_nan_im),
        b.and_(b.fcmp_ordered("==", ar, ur), b.fcmp_ordered(weak, ai, ui)),
    )
    keep = b.or_(b.or_(b.fcmp_unordered("uno", ar, ar), b.fcmp_unordered("uno", ai, ai)), wins)
    return [b.select(keep, ar, ur), b.select(keep, ai, ui)]
