"""One pass over memory for the max and the sum of exponentials of logsumexp and softmax.

`m = reduce_max(x, A); s = reduce_sum(exp(x - m broadcast over A), A)` reads `x` twice, since `m` is
needed before the first exponential. `rewrite(jaxpr)` replaces such a pair (A the trailing axes, the
difference, the exponentials and the broadcast used nowhere else) by one `online_max_sumexp`
equation, which `emit` lowers as one pass: per block of `_BLOCK` elements (which stays in L1), one
loop finds the block's max m and sums s = exp(x - M), M the max of the blocks before, and (M, S)
<- (max(M, m), (S + s) exp(M - max(M, m))); the memory reads overlap the exponentials. The first
block, one after a non-finite M, and one whose m is NaN, +inf or so far above M that a term may
have overflowed are summed again relative to m, combining as S' = S exp(M - M') + s exp(m - M')
(see `_fold_block`); the fused loop's exponentials can therefore be exp's `summand` variant, which
skips the subnormal, overflow and NaN work (14% less time per element from cache). Large full
reductions split into fixed blocks of `_PAR_BLOCK` elements run in parallel and combined in order
(results do not depend on the thread count); reductions over rows run rows in parallel. Results equal the two reductions' up to rounding, NaN and infinities
included: a block whose max is -inf adds nothing, and an all -inf row (non-empty) sums to NaN, as
exp(-inf - -inf) makes the two-pass sum. The max may also reach the subtraction as
select(is_finite(m), m, 0), as in fnad.nn.logsumexp and JAX's, which only changes rows whose max
is not finite (see `_finish`).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir

from fnad.core import Primitive, ShapedArray
from fnad.ir import Eqn, Jaxpr, Var
from fnad_compiler import parallel
from fnad_compiler.llvm_ir import (
    I1,
    PTR,
    Loop,
    const,
    i64,
    intrinsic,
    load_at,
    mem_type,
    reg_type,
    store_at,
    type_suffix,
)
from fnad_compiler.lower import kernel  # its tuning constants read at call time, so one setting governs both
from fnad_compiler.lower.kernel import KeyExtremes, prefetch_lines, reduce_identity, reduce_step, strip_loop
from fnad_compiler.lower.rules import opaque_rule
from fnad_compiler.vecmath import emit_math

__all__ = ["emit", "online_max_sumexp_p", "rewrite"]

_BLOCK = 4096  # elements whose max is found with their exponentials summed
_PAR_BLOCK = 1 << 16  # elements per partial result of a large full reduction
_PAR_MIN = 1 << 17  # elements from which the pass runs on several threads
# How far a block's max may exceed the running max it is summed against: 4096 exp(_HEADROOM) stays
# finite (by itemsize)
_HEADROOM = {4: 64.0, 8: 512.0}

online_max_sumexp_p = Primitive("online_max_sumexp", multiple_results=True)


def _impl(x, *, axes, finite_guard):
    m = np.max(x, axis=axes)
    shift = np.where(np.isfinite(m), m, 0) if finite_guard else m
    return [m, np.sum(np.exp(x - np.expand_dims(shift, axes)), axis=axes)]


def _abstract_eval(x, *, axes, finite_guard):
    kept = tuple(d for i, d in enumerate(x.shape) if i not in axes)
    return [ShapedArray(kept, x.dtype), ShapedArray(kept, x.dtype)]


online_max_sumexp_p.impl = _impl
online_max_sumexp_p.abstract_eval = _abstract_eval


# ----------------------------------------------------------------------------------------------
# The rewrite


def rewrite(jaxpr):
    """`jaxpr` with each max / sum-of-exp pair in one `online_max_sumexp` equation (the same
    Jaxpr object if there is none)."""
    eqns = jaxpr.eqns
    producer = {v: e for e in eqns for v in e.outvars}
    uses = {}
    for e in eqns:
        for a in e.invars:
            if type(a) is Var:
                uses[a] = uses.get(a, 0) + 1
    for v in jaxpr.outvars:
        if type(v) is Var:
            uses[v] = uses.get(v, 0) + 2  # an output is used outside: never absorbed
    replaced, dropped = {}, set()
    for total in eqns:
        pair = _match(total, producer, uses)
        if pair is None or pair[0] in replaced or dropped & set(pair[1]):
            continue
        top, absorbed, guarded = pair
        x = top.invars[0]
        replaced[top] = Eqn(
            online_max_sumexp_p,
            [x],
            [top.outvars[0], total.outvars[0]],
            {"axes": top.params["axes"], "finite_guard": guarded},
        )
        dropped.update(absorbed)
        dropped.add(total)
    if not replaced:
        return jaxpr
    new = [replaced.get(e, e) for e in eqns if e not in dropped]
    return Jaxpr(jaxpr.constvars, jaxpr.invars, new, jaxpr.outvars)


def _match(total, producer, uses):
    """(the reduce_max eqn, the eqns absorbed) if `total` sums exp(x - max(x)) as described."""
    if total.primitive.name != "reduce_sum":
        return None
    axes = tuple(sorted(total.params["axes"]))
    single = lambda v: type(v) is Var and uses.get(v) == 1 and v in producer
    d = total.invars[0]
    if not single(d) or producer[d].primitive.name != "exp":
        return None
    exp_eqn = producer[d]
    c = exp_eqn.invars[0]
    if not single(c) or producer[c].primitive.name != "sub":
        return None
    sub_eqn = producer[c]
    x, mb = sub_eqn.invars
    if type(x) is not Var or np.dtype(x.aval.dtype).kind != "f" or x.aval.shape != c.aval.shape or x.aval.size == 0:
        return None
    n = x.aval.ndim
    if axes != tuple(range(n - len(axes), n)) or not axes:
        return None
    chain, absorbed = [], [exp_eqn, sub_eqn]  # layout ops from m to the subtrahend, last first
    private, guarded = True, False  # so far each value is used only by the next op
    while (
        type(mb) is Var
        and mb in producer
        and (
            producer[mb].primitive.name in ("broadcast_in_dim", "reshape", "stop_gradient")
            or _finite_guard(producer[mb], producer)
        )
    ):
        guarded = guarded or producer[mb].primitive.name == "select"
        private = private and uses.get(mb) == 1
        if private:  # e.g. not m reshaped for keepdims and also returned
            absorbed.append(producer[mb])
        chain.append(producer[mb])
        mb = producer[mb].invars[1 if producer[mb].primitive.name == "select" else 0]
    top = producer.get(mb) if type(mb) is Var else None
    if (
        top is None
        or top.primitive.name != "reduce_max"
        or top.invars[0] is not x
        or tuple(sorted(top.params["axes"])) != axes
        or not _broadcasts_over(chain, mb.aval.shape, axes, x.aval.shape)
    ):
        return None
    return top, absorbed, guarded


def _finite_guard(e, producer):
    """Whether `e` is select(is_finite(v), v, 0): the max replaced by 0 where it is not finite (as
    fnad.nn.logsumexp and JAX's do)."""
    if e.primitive.name != "select" or len(e.invars) != 3:
        return False
    pred, v, zero = e.invars
    return (
        type(pred) is Var
        and pred in producer
        and producer[pred].primitive.name == "is_finite"
        and producer[pred].invars[0] is v
        and type(zero) is not Var
        and np.all(zero.val == 0)
    )


def _broadcasts_over(chain, kept_shape, axes, x_shape):
    """Whether the layout ops `chain` (last applied first) take m (of `kept_shape`) to a value whose
    element at each index of x is m at that index without `axes`. Tracks, for every axis of the
    value, the axis of x it follows (None: the value is constant along it)."""
    shape, dims = tuple(kept_shape), [d for d in range(len(x_shape)) if d not in axes]
    for e in reversed(chain):
        out = tuple(e.outvars[0].aval.shape)
        if e.primitive.name == "reshape":  # only inserting or removing size-1 axes
            if [s for s in shape if s != 1] != [s for s in out if s != 1]:
                return False
            it = iter([d for d, s in zip(dims, shape) if s != 1])
            dims = [next(it) if s != 1 else None for s in out]
        elif e.primitive.name == "broadcast_in_dim":
            new = [None] * len(out)
            for src, dst in enumerate(e.params["broadcast_dimensions"]):
                new[dst] = dims[src] if shape[src] == out[dst] else None
            dims = new
        shape = out
    if shape == ():
        return len(axes) == len(x_shape)
    return shape == tuple(x_shape) and all(
        (dims[i] is None) if i in axes else (dims[i] == i or x_shape[i] == 1) for i in range(len(x_shape))
    )


# ----------------------------------------------------------------------------------------------
# The lowering


@opaque_rule(online_max_sumexp_p.name)
def emit(scope, e):
    """Lower one `online_max_sumexp` equation at `scope` (a `scope.Scope`)."""
    x, (m_out, s_out) = e.invars[0], e.outvars
    dtype = np.dtype(x.aval.dtype)
    rows = int(np.prod(m_out.aval.shape, dtype=np.int64))
    length = int(np.prod([x.aval.shape[a] for a in e.params["axes"]], dtype=np.int64))
    split = rows == 1 and length > _PAR_BLOCK  # one row: fixed blocks as work items
    items = -(-length // _PAR_BLOCK) if split else rows
    stride = _PAR_BLOCK if split else length
    ty, mt = reg_type(dtype), mem_type(dtype)
    b = scope.b
    if split:
        m_dst, s_dst = scope.entry_alloca(mt, items), scope.entry_alloca(mt, items)
    else:
        m_dst, s_dst = scope.pointer(m_out), scope.pointer(s_out)

    fn = ir.Function(scope.module, parallel.CHUNK_TYPE, scope.fresh("online"))
    fn.linkage = "internal"
    set.add(fn.attributes, '"prefer-vector-width"="512"')
    frame, start, end = fn.args
    kb = ir.IRBuilder(fn.append_basic_block("entry"))
    xp, mp, sp = [kb.load(kb.gep(frame, [i64(i)], source_etype=PTR), typ=PTR) for i in range(3)]
    acc = [kb.alloca(ty) for _ in range(2)]
    block = (KeyExtremes(kb.alloca, "max", dtype), kb.alloca(ty), kb.alloca(I1))
    with Loop(kb, start, end) as item:
        lo = kb.mul(item, i64(stride))
        hi = kb.add(lo, i64(stride))
        hi = kb.select(kb.icmp_signed("<", hi, i64(length * rows)), hi, i64(length * rows))
        kb.store(reduce_identity("max", dtype), acc[0])
        kb.store(const(dtype, 0), acc[1])
        with Loop(kb, lo, hi, _BLOCK) as b0:
            b1 = kb.add(b0, i64(_BLOCK))
            _fold_block(
                kb,
                dtype,
                xp,
                b0,
                kb.select(kb.icmp_signed("<", b1, hi), b1, hi),
                acc,
                block,
                prefetch=rows * length * dtype.itemsize >= kernel.PREFETCH_MIN,
            )
        acc_m, acc_s = acc
        m_final = kb.load(acc_m, typ=ty)
        s_final = kb.load(acc_s, typ=ty)
        if not split:
            s_final = _finish(kb, dtype, m_final, s_final, e.params["finite_guard"])
        store_at(kb, m_final, mp, item, dtype)
        store_at(kb, s_final, sp, item, dtype)
    kb.ret_void()

    args = scope.entry_alloca(PTR, 3)
    for i, p in enumerate([scope.pointer(x), m_dst, s_dst]):
        b.store(p, b.gep(args, [i64(i)], source_etype=PTR))
    if rows * length >= _PAR_MIN and items > 1:
        grain = max(1, -(-items * kernel.PAR_GRAIN // max(rows * length, 1)))
        b.call(parallel.declare_parallel_for(scope.module), [fn, args, i64(items), i64(grain)])
    else:
        b.call(fn, [args, i64(0), i64(items)])
    if split:  # combine the blocks' partial results in order
        acc_m, acc_s = scope.entry_alloca(ty, 1), scope.entry_alloca(ty, 1)
        b.store(reduce_identity("max", dtype), acc_m)
        b.store(const(dtype, 0), acc_s)
        with Loop(b, i64(0), i64(items)) as i:
            _merge(b, dtype, acc_m, acc_s, load_at(b, m_dst, i, dtype), load_at(b, s_dst, i, dtype))
        m_final = b.load(acc_m, typ=ty)
        s_final = _finish(b, dtype, m_final, b.load(acc_s, typ=ty), e.params["finite_guard"])
        store_at(b, m_final, scope.pointer(m_out), i64(0), dtype)
        store_at(b, s_final, scope.pointer(s_out), i64(0), dtype)


def _fold_block(b, dtype, xp, b0, b1, acc, block, prefetch):
    """Fold elements [b0, b1) of xp into the running (max M, sum S) in allocas `acc`. Where M is
    finite, one loop sums s = sum exp(x - M) while finding the block's max m (as `KeyExtremes`:
    exactly, NaN included); if m - M <= `_HEADROOM` (no term overflowed), (M, S) <- (M', (S + s)
    exp(M - M')), M' = max(M, m), and the block is read once. Otherwise (the first block, M not
    finite, m NaN or +inf or too far above M) the block is summed again relative to m and merged by
    `_merge`. `block` holds scratch allocas: the block's extremes, its sum, a flag. With `prefetch`
    the fused loop runs in strips with software prefetches (see `kernel.strip_loop`)."""
    ty = reg_type(dtype)
    acc_m, acc_s = acc
    blk_m, blk_s, redo = block
    constant = lambda v: const(dtype, v)
    shift = b.load(acc_m, typ=ty)
    blk_m.reset(b)
    b.store(constant(0), blk_s)
    finite = b.fcmp_ordered("<", intrinsic(b, f"llvm.fabs.{type_suffix(ty)}", ty, [shift]), constant(np.inf))
    with b.if_else(finite) as (fused, separate):
        with fused:

            def fused_body(i):
                x = load_at(b, xp, i, dtype)
                blk_m.add(b, x)
                term = emit_math(b, "exp", b.fsub(x, shift), summand=True)  # NaN/overflow: redone below
                b.store(b.fadd(b.load(blk_s, typ=ty), term, flags=("reassoc",)), blk_s)

            if prefetch:
                strip_loop(
                    b, b0, b1, fused_body, lambda pb, start: prefetch_lines(pb, xp, start, dtype.itemsize, kernel.STRIP)
                )
            else:
                with Loop(b, b0, b1) as i:
                    fused_body(i)
            bm = blk_m.value(b)
            fits = b.fcmp_ordered("<=", b.fsub(bm, shift), constant(_HEADROOM[dtype.itemsize]))
            b.store(b.not_(fits), redo)
            with b.if_then(fits):
                new_m = reduce_step(b, "max", dtype, shift, bm)  # +0.0 above -0.0
                total = b.fadd(b.load(acc_s, typ=ty), b.load(blk_s, typ=ty))
                b.store(b.fmul(total, emit_math(b, "exp", b.fsub(shift, new_m))), acc_s)
                b.store(new_m, acc_m)
        with separate:
            with Loop(b, b0, b1) as i:
                blk_m.add(b, load_at(b, xp, i, dtype))
            b.store(ir.Constant(I1, 1), redo)
    with b.if_then(b.load(redo, typ=I1)):
        bm = blk_m.value(b)
        b.store(constant(0), blk_s)
        with Loop(b, b0, b1) as i:
            term = emit_math(b, "exp", b.fsub(load_at(b, xp, i, dtype), bm))
            b.store(b.fadd(b.load(blk_s, typ=ty), term, flags=("reassoc",)), blk_s)
        _merge(b, dtype, acc_m, acc_s, bm, b.load(blk_s, typ=ty))


def _finish(b, dtype, m, s, finite_guard):
    """The sum for a final max m, as the two-pass form computes it where m is not finite: with
    the max itself subtracted, an all -inf (non-empty) row sums to NaN (exp(-inf - -inf)); with the
    max replaced by 0 there, it sums to 0, and a row with +inf to +inf (NaN stays NaN)."""
    constant = lambda v: const(dtype, v)
    if not finite_guard:
        return b.select(b.fcmp_ordered("==", m, constant(-np.inf)), constant(np.nan), s)
    s = b.select(b.fcmp_ordered("==", m, constant(np.inf)), constant(np.inf), s)
    return b.select(b.fcmp_ordered("==", m, constant(-np.inf)), constant(0), s)


def _merge(b, dtype, acc_m, acc_s, m, s):
    """(M, S) <- (max(M, m), S exp(M - M') + s exp(m - M')); a part whose max is -inf adds nothing
    (its sum is NaN or 0 relative to its own max, but 0 relative to any finite one)."""
    ty = reg_type(dtype)
    old_m, old_s = b.load(acc_m, typ=ty), b.load(acc_s, typ=ty)
    new_m = reduce_step(b, "max", dtype, old_m, m)
    neg_inf = const(dtype, -np.inf)
    scale = lambda part_m, part_s: b.select(
        b.fcmp_ordered("==", part_m, neg_inf),
        const(dtype, 0),
        b.fmul(part_s, emit_math(b, "exp", b.fsub(part_m, new_m))),
    )
    b.store(new_m, acc_m)
    b.store(b.fadd(scale(old_m, old_s), scale(m, s)), acc_s)
