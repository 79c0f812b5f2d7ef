"""Control flow as IR: `cond` (if/switch), `while` and `scan` are higher-order primitives whose params
hold closed sub-IRs; values the functions close over are hoisted into explicit leading operands.

Derivatives follow fnad's reverse-mode design (linearize, then transpose): each jvp rule emits the
primal computation as an equation that reads no tangents, and the tangent computation as a separate
equation linear in the tangents whose non-linear inputs are primal residuals.

- cond: a primal cond whose branches also return their residuals (zeros in the slots of the other
  branches), and a linear cond of the branches' tangent parts; transpose: a cond of transposed branches.
- scan: a primal scan that also stacks per-iteration residuals (residuals that depend only on the
  loop constants are computed once, outside), and a linear scan; transpose: a scan the other way.
- while: a primal while that also counts its trip count N, and the linear primitive `while_lin`
  (N steps of the body's jvp from the initial carry). Its transpose is the primitive `revolve`: the
  backward pass with Griewank's binomial checkpointing schedule, decided at run time from N. At most
  `checkpoints` = c carries are kept (slot 0 the initial one); segments between them are recomputed.
  A loop of N <= C(c + t, t) steps is reversed with at most t recomputations of each step and
  t N - C(c + t, t - 1) in all, the fewest possible with c slots. Eagerly the schedule runs in Python
  over a list of carries; compiled, batched or differentiated it is a while loop over buffers of
  static shape [c, *carry].

Batching: a batched predicate turns cond into a select of all branches' outputs and makes while run
until every lane is done, finished lanes frozen by select; scan carries the batch dimension.
"""

from __future__ import annotations

import functools

import numpy as np

from ..ad_util import Zero, add_tangents, instantiate, tangent_aval, zero_cotangents, zeros_like_aval
from ..core import Primitive, ShapedArray, get_aval, is_float_dtype
from ..ir import ClosedJaxpr, Eqn, Jaxpr, Literal, Var, axis_names_in_params, dce, eval_closed, literal_key
from ..transforms.batching import move_bdim, move_to_front
from ..transforms.jaxpr_rules import (
    batch_jaxpr,
    jaxpr_cache,
    jvp_jaxpr,
    out_nonzeros,
    split_linear,
    trace_flat,
    transpose_jaxpr,
)
from ..transforms.jvp import jvp_flat
from ..transforms.reverse import is_undefined
from ..transforms.staging import decomposition, trace_to_jaxpr
from .elementwise import add, bitwise_or, convert_element_type, div, eq, gt, lt, mul, select, sub
from .elementwise import max as maximum
from .elementwise import min as minimum
from .indexing import dynamic_slice, dynamic_update_slice
from .reductions import reduce_max, reduce_or
from .shape import broadcast_in_dim, full, reshape

_I64 = np.dtype(np.int64)


def _i64(v):
    return np.array(v, _I64)


# ----------------------------------------------------------------------------------------------
# Sub-IR helpers


def _tangent_zero(aval):
    return Zero(tangent_aval(aval))


def batched_carries(body, const_b, carry_b, xs_b, n_ys, axis_size):
    """Fixed point: a carry is batched if its initial value or the body's output for it is."""
    carry_b = tuple(carry_b)
    while True:
        out_b = batch_jaxpr(body, const_b + carry_b + xs_b, axis_size, carry_b + (False,) * n_ys)[1]
        new = tuple(a or b for a, b in zip(carry_b, out_b))
        if new == carry_b:
            return carry_b
        carry_b = new


def _masked(pred, new, old):
    """select(pred, new, old) with a predicate of shape (batch,) against operands (batch, ...)."""
    shape = get_aval(old).shape
    if get_aval(pred).shape != shape:
        pred = broadcast_in_dim(pred, shape, (0,))
    return select(pred, new, old)


def define_rules(prim, impl, abstract_eval, jvp, batch, transpose=None):
    prim.impl, prim.abstract_eval, prim.jvp, prim.batch, prim.transpose = impl, abstract_eval, jvp, batch, transpose
    prim.batch_needs_size = True
    prim.axis_names = axis_names_in_params  # a vmap batches away the collectives of the sub-IRs over its name


def _same_type(a, b):
    return a.shape == b.shape and a.dtype == b.dtype


def _join_avals(avals_list):
    first = avals_list[0]
    return [a.update(weak_type=all(x[i].weak_type for x in avals_list)) for i, a in enumerate(first)]


def _split(seq, *sizes):
    out, i = [], 0
    for n in sizes:
        out.append(list(seq[i : i + n]))
        i += n
    out.append(list(seq[i:]))
    return out


# ----------------------------------------------------------------------------------------------
# cond: cond[branches](index, *operands) runs branches[index] (index int32, clamped by the API)

cond_p = Primitive("cond", multiple_results=True)


def _cond_impl(index, *ops, branches):
    return eval_closed(branches[int(np.clip(index, 0, len(branches) - 1))], *ops)


def _cond_abstract_eval(index, *ops, branches):
    if index.shape != () or index.dtype != np.int32:
        raise TypeError(f"cond: the branch index must be an int32 scalar, got {index.str_short()}")
    for i, b in enumerate(branches):
        if len(b.in_avals) != len(ops) or not all(map(_same_type, b.in_avals, ops)):
            raise TypeError(
                f"cond: branch {i} takes {[a.str_short() for a in b.in_avals]} but the operands "
                f"are {[a.str_short() for a in ops]}"
            )
        if not all(map(_same_type, b.out_avals, branches[0].out_avals)):
            raise TypeError(
                f"cond: branch {i} returns {[a.str_short() for a in b.out_avals]} but branch 0 "
                f"returns {[a.str_short() for a in branches[0].out_avals]}"
            )
    return _join_avals([b.out_avals for b in branches])


@jaxpr_cache
def _cond_linearized(branches, nonzeros, out_nz):
    """Primal branches (operands -> outputs + every branch's residual slots) and tangent branches
    (all residuals + non-zero tangents -> tangents of `out_nz` outputs)."""
    n_out = len(branches[0].out_avals)
    splits = [split_linear(b, nonzeros, out_nz) for b in branches]
    res_avals = [[a.strip_weak() for a in known.out_avals[n_out:]] for known, _, _ in splits]
    offsets = np.cumsum([0] + [len(r) for r in res_avals]).tolist()
    all_res = [a for r in res_avals for a in r]
    primal, tangent = [], []
    for i, (known, unknown, n_res) in enumerate(splits):

        def primal_fun(*ops, known=known, i=i):
            outs = eval_closed(known, *ops)
            res = [zeros_like_aval(a) for a in all_res]
            res[offsets[i] : offsets[i + 1]] = outs[n_out:]
            return outs[:n_out] + res

        def tangent_fun(*args, unknown=unknown, i=i):
            return eval_closed(unknown, *args[offsets[i] : offsets[i + 1]], *args[len(all_res) :])

        primal.append(trace_to_jaxpr(primal_fun, list(branches[0].in_avals), "cond_primal"))
        t_in = [a for a in unknown.in_avals[len(res_avals[i]) :]]
        tangent.append(trace_to_jaxpr(tangent_fun, all_res + t_in, "cond_tangent"))
    return tuple(primal), tuple(tangent)


def _cond_jvp(primals, tangents, branches):
    index, ops = primals[0], primals[1:]
    nonzeros = tuple(type(t) is not Zero for t in tangents[1:])
    out_avals = branches[0].out_avals
    out_nz = tuple(any(col) for col in zip(*[out_nonzeros(b, nonzeros) for b in branches]))
    if not any(out_nz):
        return cond_p.bind(*primals, branches=branches), [_tangent_zero(a) for a in out_avals]
    primal, tangent = _cond_linearized(branches, nonzeros, out_nz)
    outs = cond_p.bind(index, *ops, branches=primal)
    n_out = len(out_avals)
    touts = iter(cond_p.bind(index, *outs[n_out:], *[t for t in tangents[1:] if type(t) is not Zero], branches=tangent))
    return outs[:n_out], [next(touts) if nz else _tangent_zero(a) for a, nz in zip(out_avals, out_nz)]


@jaxpr_cache
def _transposed_branches(branches, linear):
    return tuple(transpose_jaxpr(b, list(linear)) for b in branches)


def _cond_transpose(cts, index, *ops, branches):
    assert not is_undefined(index), "cond: the branch index cannot be linear"
    linear = tuple(is_undefined(a) for a in ops)
    cts = zero_cotangents(cts, branches[0].out_avals)
    outs = iter(
        cond_p.bind(
            index, *[a for a, lin in zip(ops, linear) if not lin], *cts, branches=_transposed_branches(branches, linear)
        )
    )
    return [None] + [next(outs) if lin else None for lin in linear]


def _cond_batch(vals, dims, branches, axis_size):
    (index, *ops), (index_dim, *op_dims) = vals, dims
    op_batched = tuple(d is not None for d in op_dims)
    ops = move_to_front(ops, op_dims, op_batched, axis_size)
    n_out = len(branches[0].out_avals)
    if index_dim is None:
        out_b = [
            any(col) for col in zip(*[batch_jaxpr(b, op_batched, axis_size, (False,) * n_out)[1] for b in branches])
        ]
        batched = tuple(batch_jaxpr(b, op_batched, axis_size, tuple(out_b))[0] for b in branches)
        return cond_p.bind(index, *ops, branches=batched), [0 if b else None for b in out_b]
    # A batched predicate: every branch runs on every lane, each lane selects its branch's outputs.
    index = move_bdim(index, index_dim, 0, axis_size)
    results = [eval_closed(batch_jaxpr(b, op_batched, axis_size, (True,) * n_out)[0], *ops) for b in branches]
    outs = results[0]
    for i, res in enumerate(results[1:], 1):
        chosen = eq(index, np.int32(i))
        outs = [_masked(chosen, r, o) for r, o in zip(res, outs)]
    return outs, [0] * n_out


define_rules(cond_p, _cond_impl, _cond_abstract_eval, _cond_jvp, _cond_batch, _cond_transpose)


def _cond_vma(in_vmas, branches):
    # An output varies where any branch's does, and everywhere the branch index does.
    return [in_vmas[0].union(*(b.out_avals[k].vma for b in branches)) for k in range(len(branches[0].out_avals))]


cond_p.vma_rule = _cond_vma


def cond_flat(index, branches, operands):
    """Bind cond on flat operands. `branches` are (ClosedJaxpr taking its consts first, consts) pairs as
    `trace_flat` returns; every branch receives every branch's consts (its own are used)."""
    all_consts = [c for _, consts in branches for c in consts]
    joined, start = [], 0
    for closed, consts in branches:
        j, k = closed.jaxpr, len(consts)
        before = [Var(get_aval(c)) for c in all_consts[:start]]
        after = [Var(get_aval(c)) for c in all_consts[start + k :]]
        joined.append(ClosedJaxpr(Jaxpr([], before + j.invars[:k] + after + j.invars[k:], j.eqns, j.outvars), []))
        start += k
    return cond_p.bind(index, *all_consts, *operands, branches=tuple(joined))


# ----------------------------------------------------------------------------------------------
# while: while[cond_jaxpr, body_jaxpr](*cond_consts, *body_consts, *carry)

while_p = Primitive("while", multiple_results=True)


def _while_impl(*args, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts, checkpoints):
    cconsts, bconsts, carry = _split(args, cond_nconsts, body_nconsts)
    while eval_closed(cond_jaxpr, *cconsts, *carry)[0]:
        carry = eval_closed(body_jaxpr, *bconsts, *carry)
    return list(carry)


def _while_abstract_eval(*avals, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts, checkpoints):
    carry = avals[cond_nconsts + body_nconsts :]
    (pred,) = cond_jaxpr.out_avals
    if pred.shape != () or pred.dtype != np.bool_:
        raise TypeError(f"while: the loop condition must return a bool scalar, got {pred.str_short()}")
    if not all(map(_same_type, body_jaxpr.out_avals, carry)):
        raise TypeError(
            f"while: the body returns {[a.str_short() for a in body_jaxpr.out_avals]} for a carry "
            f"of {[a.str_short() for a in carry]}"
        )
    return [a.strip_weak() for a in carry]


def carry_nonzeros(body, const_nz, carry_nz, n_carry, carry_avals, extra_nz=()):
    """Fixed point: a float carry has a non-zero tangent if its initial value or any body output has."""
    carry_nz = tuple(nz and is_float_dtype(a.dtype) for nz, a in zip(carry_nz, carry_avals))
    while True:
        out = out_nonzeros(body, tuple(const_nz) + carry_nz + tuple(extra_nz))[:n_carry]
        new = tuple((a or b) and is_float_dtype(av.dtype) for a, b, av in zip(carry_nz, out, carry_avals))
        if new == carry_nz:
            return carry_nz
        carry_nz = new


@jaxpr_cache
def _counted(body_jaxpr, nconsts):
    """The body with a leading int64 counter in its carry: (consts, i, carry) -> (i + 1, body(carry))."""
    avals = list(body_jaxpr.in_avals)

    def fun(*args):
        consts, (i, *carry) = args[:nconsts], args[nconsts:]
        return [add(i, _i64(1))] + eval_closed(body_jaxpr, *consts, *carry)

    return trace_to_jaxpr(fun, avals[:nconsts] + [ShapedArray((), _I64)] + avals[nconsts:], "counted_body")


@jaxpr_cache
def _counted_cond(cond_jaxpr, nconsts):
    avals = list(cond_jaxpr.in_avals)

    def fun(*args):
        return eval_closed(cond_jaxpr, *args[:nconsts], *args[nconsts + 1 :])

    return trace_to_jaxpr(fun, avals[:nconsts] + [ShapedArray((), _I64)] + avals[nconsts:], "counted_cond")


@functools.lru_cache(maxsize=512)  # keyed by avals, not by an IR
def _below(carry_avals):
    """Loop condition (limit, i, *carry) -> i < limit."""
    return trace_to_jaxpr(lambda k, i, *carry: [lt(i, k)], [ShapedArray((), _I64)] * 2 + list(carry_avals), "below")


def repeat_body(body_jaxpr, nconsts, consts, carry, times, checkpoints):
    """Apply the body `times` (traced int64) times to the carry."""
    outs = while_p.bind(
        times,
        *consts,
        _i64(0),
        *carry,
        cond_jaxpr=_below(tuple(body_jaxpr.out_avals)),
        body_jaxpr=_counted(body_jaxpr, nconsts),
        cond_nconsts=1,
        body_nconsts=nconsts,
        checkpoints=checkpoints,
    )
    return outs[1:]


def _while_jvp(primals, tangents, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts, checkpoints):
    cconsts, bconsts, init = _split(primals, cond_nconsts, body_nconsts)
    _, t_bconsts, t_init = _split(tangents, cond_nconsts, body_nconsts)
    carry_avals = body_jaxpr.out_avals
    const_nz = tuple(type(t) is not Zero for t in t_bconsts)
    carry_nz = carry_nonzeros(body_jaxpr, const_nz, [type(t) is not Zero for t in t_init], len(init), carry_avals)
    params = {
        "cond_jaxpr": cond_jaxpr,
        "body_jaxpr": body_jaxpr,
        "cond_nconsts": cond_nconsts,
        "body_nconsts": body_nconsts,
        "checkpoints": checkpoints,
    }
    if not any(carry_nz):
        return while_p.bind(*primals, **params), [_tangent_zero(a) for a in carry_avals]
    # The primal loop also counts its iterations; the tangent is `while_lin` over that many steps.
    n, *outs = while_p.bind(
        *cconsts,
        *bconsts,
        _i64(0),
        *init,
        cond_jaxpr=_counted_cond(cond_jaxpr, cond_nconsts),
        body_jaxpr=_counted(body_jaxpr, body_nconsts),
        cond_nconsts=cond_nconsts,
        body_nconsts=body_nconsts,
        checkpoints=checkpoints,
    )
    touts = iter(
        while_lin_p.bind(
            *bconsts,
            *init,
            n,
            *[t for t, nz in zip(t_bconsts, const_nz) if nz],
            *[instantiate(t) for t, nz in zip(t_init, carry_nz) if nz],
            body_jaxpr=body_jaxpr,
            const_nz=const_nz,
            carry_nz=carry_nz,
            checkpoints=checkpoints,
        )
    )
    return outs, [next(touts) if nz else _tangent_zero(a) for a, nz in zip(carry_avals, carry_nz)]


def _while_batch(vals, dims, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts, checkpoints, axis_size):
    cconsts, bconsts, init = _split(vals, cond_nconsts, body_nconsts)
    cdims, bdims, idims = _split(dims, cond_nconsts, body_nconsts)
    cb, bb = tuple(d is not None for d in cdims), tuple(d is not None for d in bdims)
    carry_b = batched_carries(body_jaxpr, bb, [d is not None for d in idims], (), 0, axis_size)
    pred_batched = batch_jaxpr(cond_jaxpr, cb + carry_b, axis_size, (False,))[1][0]
    if pred_batched:
        carry_b = (True,) * len(init)
    cconsts = move_to_front(cconsts, cdims, cb, axis_size)
    bconsts = move_to_front(bconsts, bdims, bb, axis_size)
    init = move_to_front(init, idims, carry_b, axis_size)
    cond_b = batch_jaxpr(cond_jaxpr, cb + carry_b, axis_size, (False,))[0]
    body_b = batch_jaxpr(body_jaxpr, bb + carry_b, axis_size, carry_b)[0]
    if not pred_batched:
        outs = while_p.bind(
            *cconsts,
            *bconsts,
            *init,
            cond_jaxpr=cond_b,
            body_jaxpr=body_b,
            cond_nconsts=cond_nconsts,
            body_nconsts=body_nconsts,
            checkpoints=checkpoints,
        )
        return outs, [0 if b else None for b in carry_b]
    # Batched predicate: run while any lane runs; lanes whose predicate is false keep their carry.
    any_cond, masked_body = _masked_loop(cond_b, body_b, cond_nconsts)
    outs = while_p.bind(
        *cconsts,
        *cconsts,
        *bconsts,
        *init,
        cond_jaxpr=any_cond,
        body_jaxpr=masked_body,
        cond_nconsts=cond_nconsts,
        body_nconsts=cond_nconsts + body_nconsts,
        checkpoints=checkpoints,
    )
    return outs, [0] * len(outs)


@jaxpr_cache
def _masked_loop(cond_b, body_b, cond_nconsts):
    carry_avals = list(body_b.out_avals)
    n_body_consts = len(body_b.in_avals) - len(carry_avals)
    c_avals = list(cond_b.in_avals[:cond_nconsts])

    def any_cond(*args):
        return [reduce_or(eval_closed(cond_b, *args)[0], (0,))]

    def body(*args):
        cconsts, bconsts, carry = _split(args, cond_nconsts, n_body_consts)
        (running,) = eval_closed(cond_b, *cconsts, *carry)
        new = eval_closed(body_b, *bconsts, *carry)
        return [_masked(running, n, o) for n, o in zip(new, carry)]

    return (
        trace_to_jaxpr(any_cond, list(cond_b.in_avals), "while_any"),
        trace_to_jaxpr(body, c_avals + list(body_b.in_avals), "while_masked_body"),
    )


define_rules(while_p, _while_impl, _while_abstract_eval, _while_jvp, _while_batch)


def _loop_carry_vma(what, carry_in, body_out):
    """The mesh axes a loop's carries vary over (inside a shard_map body): those they enter with. A body
    that makes a carry vary over more axes was traced as if it did not, so this is an error (as JAX's):
    the initial value must be marked varying first."""
    for k, (enters, leaves) in enumerate(zip(carry_in, body_out)):
        if not leaves <= enters:
            axes = tuple(sorted(leaves - enters))
            raise TypeError(
                f"{what}: carry {k} enters the loop the same on every process along the mesh axes {axes}, "
                f"but the loop body makes it vary over them. Mark the initial value as varying: "
                f"fnad.lax.pvary(init, {axes!r})"
            )
    return list(carry_in)


def _while_vma(in_vmas, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts, checkpoints):
    carry = _loop_carry_vma("while_loop", in_vmas[cond_nconsts + body_nconsts :], [a.vma for a in body_jaxpr.out_avals])
    return [c | cond_jaxpr.out_avals[0].vma for c in carry]  # a varying predicate makes every carry vary


while_p.vma_rule = _while_vma


def while_flat(cond, body, init, checkpoints):
    """Bind while on a flat carry; `cond`/`body` are (ClosedJaxpr taking its consts first, consts)."""
    (cj, cc), (bj, bc) = cond, body
    return while_p.bind(
        *cc,
        *bc,
        *init,
        cond_jaxpr=cj,
        body_jaxpr=bj,
        cond_nconsts=len(cc),
        body_nconsts=len(bc),
        checkpoints=checkpoints,
    )


# ----------------------------------------------------------------------------------------------
# while_lin: the tangent of a while loop, linear in its tangent inputs.
#   while_lin[body_jaxpr, const_nz, carry_nz](*consts, *init, n, *const_tangents, *init_tangents)
# = the carry tangents after n steps of the body's jvp from (init, init_tangents).


while_lin_p = Primitive("while_lin", multiple_results=True)


def _lin_args(args, body_jaxpr, const_nz):
    nb = len(const_nz)
    nc = len(body_jaxpr.in_avals) - nb
    consts, init, (n,), tc, tx = _split(args, nb, nc, 1, sum(const_nz))
    return consts, init, n, tc, tx


@jaxpr_cache
def _jvp_step(body_jaxpr, const_nz, carry_nz):
    """(consts, const tangents, i, carry, carry tangents) -> (i + 1, carry, carry tangents)."""
    nb, nc = len(const_nz), len(carry_nz)
    jvp_body = jvp_jaxpr(body_jaxpr, const_nz + carry_nz, carry_nz)[0]
    n_tc = sum(const_nz)

    def fun(*args):
        consts, tc, (i, *rest) = _split(args, nb, n_tc)
        carry, tx = rest[:nc], rest[nc:]
        return [add(i, _i64(1))] + eval_closed(jvp_body, *consts, *carry, *tc, *tx)

    avals = list(body_jaxpr.in_avals)
    t_avals = [tangent_aval(a) for a, nz in zip(avals, const_nz + carry_nz) if nz]
    return trace_to_jaxpr(
        fun, avals[:nb] + t_avals[:n_tc] + [ShapedArray((), _I64)] + avals[nb:] + t_avals[n_tc:], "while_jvp_step"
    )


def _while_lin_forward(*args, body_jaxpr, const_nz, carry_nz, checkpoints):
    """The definition of while_lin as a loop over (primal, tangent) carries."""
    consts, init, n, tc, tx = _lin_args(args, body_jaxpr, const_nz)
    step = _jvp_step(body_jaxpr, const_nz, carry_nz)
    outs = while_p.bind(
        n,
        *consts,
        *tc,
        _i64(0),
        *init,
        *tx,
        cond_jaxpr=_below(tuple(step.out_avals[1:])),
        body_jaxpr=step,
        cond_nconsts=1,
        body_nconsts=len(consts) + len(tc),
        checkpoints=checkpoints,
    )
    return outs[1 + len(init) :]


@jaxpr_cache
def _cond_with_tangents(cond_jaxpr, tangent_avals):
    """A loop condition that also takes (and ignores) trailing tangent carries."""
    avals = list(cond_jaxpr.in_avals)
    return trace_to_jaxpr(
        lambda *args: eval_closed(cond_jaxpr, *args[: len(avals)]), avals + list(tangent_avals), "while_jvp_cond"
    )


def _same_atoms(xs, ys):
    return len(xs) == len(ys) and all(
        x is y or type(x) is type(y) is Literal and literal_key(x) == literal_key(y) for x, y in zip(xs, ys)
    )


def _fuse_with_primal_loop(lin, producer_of):
    """Forward evaluation of a while_lin whose step count is the trip count of the primal loop next
    to it (the pair `_while_jvp` emits) as one loop carrying primal and tangents, stopping where
    the primal loop does: the primal then runs once, not twice. Used by `fnad.passes` on IR about
    to be compiled, where nothing is transposed any more. Returns (primal loop, fused eqn) or None."""
    p = lin.params
    body, const_nz = p["body_jaxpr"], p["const_nz"]
    consts, init, n, tc, tx = _lin_args(lin.invars, body, const_nz)
    loop = producer_of(n)
    if loop is None or loop.primitive is not while_p or loop.outvars[0] is not n:
        return None
    nc, nb = loop.params["cond_nconsts"], loop.params["body_nconsts"]
    cconsts, bconsts, (start, *loop_init) = _split(loop.invars, nc, nb)
    if (
        loop.params["body_jaxpr"] is not _counted(body, nb)
        or not _same_atoms(bconsts, consts)
        or not _same_atoms(loop_init, init)
        or not (type(start) is Literal and start.val == 0)
    ):
        return None
    params = {
        "cond_jaxpr": _cond_with_tangents(loop.params["cond_jaxpr"], tuple(a.aval for a in tx)),
        "body_jaxpr": _jvp_step(body, const_nz, p["carry_nz"]),
        "cond_nconsts": nc,
        "body_nconsts": nb + len(tc),
        "checkpoints": p["checkpoints"],
    }
    invars = [*cconsts, *bconsts, *tc, start, *init, *tx]
    return loop, Eqn(while_p, invars, [*loop.outvars, *lin.outvars], params, loop.source)


def _while_lin_abstract_eval(*avals, body_jaxpr, const_nz, carry_nz, checkpoints):
    return [tangent_aval(a) for a, nz in zip(body_jaxpr.out_avals, carry_nz) if nz]


def _while_lin_jvp(primals, tangents, **params):
    return jvp_flat(lambda *xs: _while_lin_forward(*xs, **params), list(primals), list(tangents))


def _while_lin_transpose(cts, *args, body_jaxpr, const_nz, carry_nz, checkpoints):
    consts, init, n, tc, tx = _lin_args(args, body_jaxpr, const_nz)
    assert not any(map(is_undefined, consts + init + [n])), "while_lin: primal inputs cannot be linear"
    cts = zero_cotangents(cts, [a for a, nz in zip(body_jaxpr.out_avals, carry_nz) if nz])
    outs = revolve_p.bind(
        *consts, *init, n, *cts, body_jaxpr=body_jaxpr, const_nz=const_nz, carry_nz=carry_nz, checkpoints=checkpoints
    )
    ct_x, ct_c = outs[: len(cts)], outs[len(cts) :]
    return (
        [None] * (len(consts) + len(init) + 1)
        + [c if is_undefined(t) else None for c, t in zip(ct_c, tc)]
        + [c if is_undefined(t) else None for c, t in zip(ct_x, tx)]
    )


def _while_lin_batch(vals, dims, body_jaxpr, const_nz, carry_nz, checkpoints, axis_size):
    consts, init, n, tc, tx = _lin_args(vals, body_jaxpr, const_nz)
    cdims, idims, (ndim,), tcdims, txdims = _split(dims, len(consts), len(init), 1, len(tc))
    tcd = iter(tcdims)
    const_b = tuple(
        d is not None or (nz and next(tcd) is not None) if nz else d is not None for d, nz in zip(cdims, const_nz)
    )
    consts = move_to_front(consts, cdims, const_b, axis_size)
    tc = move_to_front(tc, tcdims, [b for b, nz in zip(const_b, const_nz) if nz], axis_size)
    init = move_to_front(init, idims, [True] * len(init), axis_size)
    tx = move_to_front(tx, txdims, [True] * len(tx), axis_size)
    if ndim is not None:
        # Per-lane trip counts: run max(n) steps, each lane frozen once it has done its own n.
        body_jaxpr = _masked_count_body(body_jaxpr, len(consts))
        consts, init = consts + [move_bdim(n, ndim, 0, axis_size)], [full((axis_size,), 0, _I64)] + init
        const_b, const_nz, carry_nz = const_b + (True,), const_nz + (False,), (False,) + carry_nz
        n = reduce_max(move_bdim(n, ndim, 0, axis_size), (0,))
    body_b = batch_jaxpr(body_jaxpr, const_b + (True,) * len(init), axis_size, (True,) * len(init))[0]
    outs = while_lin_p.bind(
        *consts, *init, n, *tc, *tx, body_jaxpr=body_b, const_nz=const_nz, carry_nz=carry_nz, checkpoints=checkpoints
    )
    return outs, [0] * len(outs)


@jaxpr_cache
def _masked_count_body(body_jaxpr, nconsts):
    """(consts, n, i, carry) -> (i + 1, body(carry) if i < n else carry)."""
    avals = list(body_jaxpr.in_avals)
    i64 = ShapedArray((), _I64)

    def fun(*args):
        consts, (n, i), carry = _split(args, nconsts, 2)
        new = eval_closed(body_jaxpr, *consts, *carry)
        running = lt(i, n)
        return [add(i, _i64(1))] + [select(running, a, b) for a, b in zip(new, carry)]

    return trace_to_jaxpr(fun, avals[:nconsts] + [i64, i64] + avals[nconsts:], "masked_count_body")


define_rules(
    while_lin_p, _while_lin_forward, _while_lin_abstract_eval, _while_lin_jvp, _while_lin_batch, _while_lin_transpose
)
while_lin_p.decompose = decomposition(_while_lin_forward)  # compiled as the loop that defines it
# Tangent carries vary where their primal carries do (the axes they entered the loop with).
while_lin_p.vma_rule = lambda in_vmas, body_jaxpr, const_nz, carry_nz, checkpoints: [
    a.vma for a, nz in zip(body_jaxpr.in_avals[len(const_nz) :], carry_nz) if nz
]
while_lin_p.fuse_with_producer = _fuse_with_primal_loop


# ----------------------------------------------------------------------------------------------
# revolve: the backward sweep of while_lin (its transpose).
#   revolve[body_jaxpr, const_nz, carry_nz, checkpoints](*consts, *init, n, *carry_cotangents)
# = (cotangents of the flagged carries, of the flagged consts) at the loop's start.
# A primitive of its own so that eager evaluation runs the schedule in Python over a list of carries
# (each recomputed step one evaluation of the body); everywhere else (jit, vmap, jvp) it is the
# while loop `_revolve_loop`, whose schedule is decided in IR at run time.

revolve_p = Primitive("revolve", multiple_results=True)


@jaxpr_cache
def _step_vjp(body_jaxpr, const_nz, carry_nz):
    """One backward step: (consts, carry, carry cotangents) -> (const cotangents, carry cotangents),
    for the flagged consts and carries."""
    nb, nc = len(const_nz), len(carry_nz)
    known, tangent, n_res = split_linear(body_jaxpr, const_nz + carry_nz, carry_nz)
    n_t = sum(const_nz) + sum(carry_nz)
    backward = transpose_jaxpr(tangent, [False] * n_res + [True] * n_t)

    def fun(*args):
        res = eval_closed(known, *args[: nb + nc])[nc:]
        return eval_closed(backward, *res, *args[nb + nc :])

    ct_avals = [tangent_aval(a) for a, nz in zip(body_jaxpr.out_avals, carry_nz) if nz]
    return trace_to_jaxpr(fun, list(body_jaxpr.in_avals) + ct_avals, "while_step_vjp")


def _binomial_advance(snaps, length):
    """Revolve's stride for a segment of l = `length` >= 2 steps whose first carry is checkpointed, with
    s = `snaps` >= 2 slots for it (that one and the free ones). With t the least count such that
    beta(s, t) = C(s + t, t) >= l, the stride is min(beta(s, t - 1), l - beta(s - 1, t - 1)): the largest
    of those for which reversing the l - stride steps after it with s - 1 slots, then the stride with s,
    takes the fewest recomputed steps, t * l - beta(s + 1, t - 1) (Griewank). `revolve_stride` mirrors it."""

    def cond(snaps, length, t, b, prev):
        return [lt(b, length)]

    def body(snaps, length, t, b, prev):
        t1 = add(t, _i64(1))
        return [snaps, length, t1, div(mul(b, add(snaps, t1)), t1), b]

    avals = [ShapedArray((), _I64)] * 5
    _, _, t, _, prev = while_flat(
        trace_flat(cond, avals, "beta_cond"),
        trace_flat(body, avals, "beta_body"),
        [snaps, length, _i64(0), _i64(1), _i64(1)],
        1,
    )
    # beta(s - 1, t - 1) = beta(s, t - 1) * s / (s + t - 1), exactly. The divisor is 0 only for
    # length <= 1 with one slot, which this branch never sees; lanes of a batched sweep that run it
    # without taking it may, hence the max.
    return minimum(prev, sub(length, div(mul(prev, snaps), maximum(sub(add(snaps, t), _i64(1)), _i64(1)))))


@jaxpr_cache
def _revolve_sweep(body_jaxpr, const_nz, carry_nz, checkpoints):
    """The backward sweep as (cond, body) of a while loop over
    (slots per carry leaf [c, ...], slot positions [c], top, end, carry cotangents, const cotangents).
    Slot `top` holds the carry at step pos[top]; steps [end, N) are done. Each iteration either steps
    back once (recomputing from the top checkpoint) or advances to revolve's next checkpoint."""
    nb, nc, c = len(const_nz), len(carry_nz), checkpoints
    avals = list(body_jaxpr.in_avals)
    c_avals, x_avals = avals[:nb], avals[nb:]
    ct_x_avals = [tangent_aval(a) for a, nz in zip(x_avals, carry_nz) if nz]
    ct_c_avals = [tangent_aval(a) for a, nz in zip(c_avals, const_nz) if nz]
    step_vjp = _step_vjp(body_jaxpr, const_nz, carry_nz)
    i64 = ShapedArray((), _I64)

    def read(buf, i):
        shape = get_aval(buf).shape
        return reshape(dynamic_slice(buf, [i] + [_i64(0)] * (len(shape) - 1), (1,) + shape[1:]), shape[1:])

    def write(buf, i, x):
        shape = get_aval(buf).shape
        return dynamic_update_slice(buf, reshape(x, (1,) + shape[1:]), [i] + [_i64(0)] * (len(shape) - 1))

    # Branch operands: consts, slots, pos, top, end, ct_x, ct_c, p (top's position), x (its carry), length,
    # snaps (the slots for the segment [p, end): top's and the free ones)
    def unpack(args):
        consts, slots, (pos, top, end), ct_x, ct_c, (p,), x, (length, snaps) = _split(
            args, nb, nc, 3, len(ct_x_avals), len(ct_c_avals), 1, nc
        )
        return consts, slots, pos, top, end, ct_x, ct_c, p, x, length, snaps

    def push(*args):
        consts, slots, pos, top, end, ct_x, ct_c, p, x, length, snaps = unpack(args)
        stride = _binomial_advance(snaps, length)
        x = repeat_body(body_jaxpr, nb, consts, x, stride, c)
        top = add(top, _i64(1))
        return (
            [write(s, top, xi) for s, xi in zip(slots, x)] + [write(pos, top, add(p, stride)), top, end] + ct_x + ct_c
        )

    def step(*args):
        consts, slots, pos, top, end, ct_x, ct_c, p, x, length, _snaps = unpack(args)
        x = repeat_body(body_jaxpr, nb, consts, x, sub(length, _i64(1)), c)
        cts = eval_closed(step_vjp, *consts, *x, *ct_x)
        ct_c = [add_tangents(a, b) for a, b in zip(ct_c, cts[: len(ct_c)])]
        end = sub(end, _i64(1))
        top = select(eq(p, end), sub(top, _i64(1)), top)
        return slots + [pos, top, end] + cts[len(ct_c) :] + ct_c

    slot_avals = [a.update(shape=(c,) + a.shape) for a in x_avals]
    branch_avals = (
        c_avals
        + slot_avals
        + [ShapedArray((c,), _I64), i64, i64]
        + ct_x_avals
        + ct_c_avals
        + [i64]
        + x_avals
        + [i64, i64]
    )
    branches = [trace_flat(f, branch_avals, f.__name__) for f in (push, step)]

    def sweep_body(*args):
        consts, slots, (pos, top, end), rest = _split(args, nb, nc, 3)
        p = read(pos, top)
        x = [read(s, top) for s in slots]
        length, snaps = sub(end, p), sub(_i64(c), top)
        stepping = bitwise_or(eq(length, _i64(1)), eq(snaps, _i64(1)))
        return cond_flat(
            convert_element_type(stepping, np.int32),
            branches,
            consts + slots + [pos, top, end] + rest + [p] + x + [length, snaps],
        )

    carry_avals = slot_avals + [ShapedArray((c,), _I64), i64, i64] + ct_x_avals + ct_c_avals
    sweep_cond = trace_to_jaxpr(lambda *args: [gt(args[nc + 2], _i64(0))], carry_avals, "sweep_cond")
    return sweep_cond, trace_to_jaxpr(sweep_body, c_avals + carry_avals, "sweep_body")


def revolve_stride(snaps, length):
    """`_binomial_advance` in Python."""
    t, b, prev = 0, 1, 1
    while b < length:
        t, prev = t + 1, b
        b = b * (snaps + t) // t
    return min(prev, length - prev * snaps // (snaps + t - 1))


def revolve_schedule(n, checkpoints, start, advance, step_back):
    """Run the schedule of `_revolve_sweep` in Python for n steps from the carry `start`, keeping at
    most `checkpoints` carries: `advance(x, k)` returns the carry k steps after x; `step_back(x)` is
    called with the carry before each step, last step first. Returns the peak number of slots used."""
    stack, end, peak = [(0, start)], n, 1
    while end > 0:
        p, x = stack[-1]
        length, snaps = end - p, checkpoints - len(stack) + 1
        if length == 1 or snaps == 1:
            step_back(advance(x, length - 1))
            end -= 1
            if p == end:
                stack.pop()
        else:
            stride = revolve_stride(snaps, length)
            stack.append((p + stride, advance(x, stride)))
            peak = max(peak, len(stack))
    return peak


def revolve_cost(n, checkpoints):
    """(forward recomputation steps, peak checkpoint slots used) of the backward sweep for n steps."""
    recomputed = 0

    def advance(x, k):
        nonlocal recomputed
        recomputed += k

    peak = revolve_schedule(n, checkpoints, None, advance, lambda x: None)
    return recomputed, peak


def _revolve_impl(*args, body_jaxpr, const_nz, carry_nz, checkpoints):
    nb, nc = len(const_nz), len(carry_nz)
    consts, init, (n,), ct_x = _split(args, nb, nc, 1)
    step_vjp = _step_vjp(body_jaxpr, const_nz, carry_nz)
    ct_c = [np.zeros(np.shape(x), tangent_aval(get_aval(x)).dtype) for x, nz in zip(consts, const_nz) if nz]

    def advance(x, k):
        for _ in range(k):
            x = eval_closed(body_jaxpr, *consts, *x)
        return x

    def step_back(x):
        nonlocal ct_x, ct_c
        cts = eval_closed(step_vjp, *consts, *x, *ct_x)
        ct_c, ct_x = [add(a, b) for a, b in zip(ct_c, cts)], cts[len(ct_c) :]

    revolve_schedule(int(n), checkpoints, init, advance, step_back)
    return list(ct_x) + ct_c


def _revolve_loop(*args, body_jaxpr, const_nz, carry_nz, checkpoints):
    """The sweep as one while loop over slot buffers (see `_revolve_sweep`)."""
    nb, nc, c = len(const_nz), len(carry_nz), checkpoints
    consts, init, (n,), ct_x = _split(args, nb, nc, 1)
    ct_c = [zeros_like_aval(tangent_aval(get_aval(x))) for x, nz in zip(consts, const_nz) if nz]
    slots = [broadcast_in_dim(x, (c,) + get_aval(x).shape, tuple(range(1, get_aval(x).ndim + 1))) for x in init]
    sweep_cond, sweep_body = _revolve_sweep(body_jaxpr, const_nz, carry_nz, checkpoints)
    outs = while_p.bind(
        *consts,
        *slots,
        full((c,), 0, _I64),
        _i64(0),
        n,
        *ct_x,
        *ct_c,
        cond_jaxpr=sweep_cond,
        body_jaxpr=sweep_body,
        cond_nconsts=0,
        body_nconsts=nb,
        checkpoints=checkpoints,
    )
    return outs[nc + 3 :]


def _revolve_vma(in_vmas, body_jaxpr, const_nz, carry_nz, checkpoints):
    nb = len(const_nz)
    carries = [a.vma for a, nz in zip(body_jaxpr.in_avals[nb:], carry_nz) if nz]
    return carries + [v for v, nz in zip(in_vmas[:nb], const_nz) if nz]


def _revolve_abstract_eval(*avals, body_jaxpr, const_nz, carry_nz, checkpoints):
    nb = len(const_nz)
    return [tangent_aval(a) for a, nz in zip(body_jaxpr.out_avals, carry_nz) if nz] + [
        tangent_aval(a) for a, nz in zip(avals[:nb], const_nz) if nz
    ]


def _revolve_jvp(primals, tangents, **params):
    return jvp_flat(lambda *xs: _revolve_loop(*xs, **params), list(primals), list(tangents))


def _revolve_batch(vals, dims, axis_size, **params):
    batched = tuple(d is not None for d in dims)
    vals = move_to_front(vals, dims, batched, axis_size)
    avals = [get_aval(v).update(shape=get_aval(v).shape[1:]) if b else get_aval(v) for v, b in zip(vals, batched)]
    loop = trace_to_jaxpr(lambda *xs: _revolve_loop(*xs, **params), avals, "revolve")
    loop_b, out_b = batch_jaxpr(loop, batched, axis_size)
    return eval_closed(loop_b, *vals), [0 if b else None for b in out_b]


define_rules(revolve_p, _revolve_impl, _revolve_abstract_eval, _revolve_jvp, _revolve_batch)
revolve_p.decompose = decomposition(_revolve_loop)  # compiled as the loop that defines it
revolve_p.vma_rule = _revolve_vma


# ----------------------------------------------------------------------------------------------
# scan: scan[jaxpr](*consts, *init, *xs): for each i (backwards with reverse), (carry, y_i) =
# jaxpr(consts, carry, x_i); returns (final carry, ys stacked along a new leading axis)

scan_p = Primitive("scan", multiple_results=True)


def _scan_impl(*args, jaxpr, num_consts, num_carry, length, reverse, unroll):
    consts, carry, xs = _split(args, num_consts, num_carry)
    ys = []
    for i in range(length - 1, -1, -1) if reverse else range(length):
        out = eval_closed(jaxpr, *consts, *carry, *[x[i] for x in xs])
        carry = out[:num_carry]
        ys.append(out[num_carry:])
    if reverse:
        ys.reverse()
    avals = jaxpr.out_avals
    stacked = [
        np.stack([np.asarray(y[j], a.dtype) for y in ys]) if ys else np.zeros((0,) + a.shape, a.dtype)
        for j, a in enumerate(avals[num_carry:])
    ]
    return [np.asarray(c, a.dtype) for c, a in zip(carry, avals)] + stacked


def _scan_abstract_eval(*avals, jaxpr, num_consts, num_carry, length, reverse, unroll):
    consts, carry, xs = _split(avals, num_consts, num_carry)
    for x in xs:
        if not x.shape or x.shape[0] != length:
            raise TypeError(
                f"scan: every scanned-over input needs a leading axis of length {length}, got {x.str_short()}"
            )
    slices = [x.update(shape=x.shape[1:]) for x in xs]
    if not all(map(_same_type, jaxpr.in_avals, consts + carry + slices)):
        raise TypeError(
            f"scan: the body takes {[a.str_short() for a in jaxpr.in_avals]} but gets "
            f"{[a.str_short() for a in consts + carry + slices]}"
        )
    if not all(map(_same_type, jaxpr.out_avals[:num_carry], carry)):
        raise TypeError(
            f"scan: the body returns the carry {[a.str_short() for a in jaxpr.out_avals[:num_carry]]} "
            f"for a carry of {[a.str_short() for a in carry]}"
        )
    return [a.strip_weak() for a in carry] + [
        ShapedArray((length,) + a.shape, a.dtype) for a in jaxpr.out_avals[num_carry:]
    ]


@jaxpr_cache
def _scan_linearized(jaxpr, num_consts, num_carry, nonzeros, inst):
    """Primal body (consts, carry, x -> carry, y, per-iteration residuals), the loop-invariant
    residuals as a function of the consts, the tangent body in scan layout (invariant residuals,
    const tangents; carry tangents; per-iteration residuals, x tangents) and the residual counts."""
    n_out = len(jaxpr.out_avals)
    known, unknown, n_res = split_linear(jaxpr, nonzeros, inst)
    kj = known.jaxpr
    invariant = set(kj.constvars) | set(kj.invars[:num_consts])
    for e in kj.eqns:
        if all(type(v) is not Var or v in invariant for v in e.invars):
            invariant.update(e.outvars)
    res = kj.outvars[n_out:]
    inv_mask = [type(v) is not Var or v in invariant for v in res]
    const_of = dict(zip(kj.constvars, known.consts))

    def closed(j):
        j = dce(j)
        return ClosedJaxpr(j, [const_of[v] for v in j.constvars])

    inv_fun = closed(
        Jaxpr(
            kj.constvars,
            kj.invars[:num_consts],
            [e for e in kj.eqns if e.outvars[0] in invariant],
            [v for v, m in zip(res, inv_mask) if m],
        )
    )
    primal = closed(
        Jaxpr(kj.constvars, kj.invars, kj.eqns, kj.outvars[:n_out] + [v for v, m in zip(res, inv_mask) if not m])
    )
    res_avals = list(unknown.in_avals[:n_res])
    inv_avals = [a for a, m in zip(res_avals, inv_mask) if m]
    var_avals = [a for a, m in zip(res_avals, inv_mask) if not m]
    t_avals = list(unknown.in_avals[n_res:])
    n_tc, n_tcar = sum(nonzeros[:num_consts]), sum(inst[:num_carry])

    def fun(*args):
        inv, tcs, tcar, var, txs = _split(args, len(inv_avals), n_tc, n_tcar, len(var_avals))
        inv_it, var_it = iter(inv), iter(var)
        return eval_closed(unknown, *[next(inv_it) if m else next(var_it) for m in inv_mask], *tcs, *tcar, *txs)

    tangent = trace_to_jaxpr(
        fun, inv_avals + t_avals[: n_tc + n_tcar] + var_avals + t_avals[n_tc + n_tcar :], "scan_tangent"
    )
    return primal, inv_fun, tangent, len(inv_avals), len(var_avals)


def _scan_jvp(primals, tangents, jaxpr, num_consts, num_carry, length, reverse, unroll):
    consts, init, xs = _split(primals, num_consts, num_carry)
    tcs, tinit, txs = _split(tangents, num_consts, num_carry)
    params = {"length": length, "reverse": reverse, "unroll": unroll}
    const_nz, xs_nz = tuple(type(t) is not Zero for t in tcs), tuple(type(t) is not Zero for t in txs)
    carry_avals = jaxpr.out_avals[:num_carry]
    carry_nz = carry_nonzeros(jaxpr, const_nz, [type(t) is not Zero for t in tinit], num_carry, carry_avals, xs_nz)
    nonzeros = const_nz + carry_nz + xs_nz
    inst = carry_nz + tuple(out_nonzeros(jaxpr, nonzeros)[num_carry:])
    out_avals = _scan_abstract_eval(
        *map(get_aval, primals), jaxpr=jaxpr, num_consts=num_consts, num_carry=num_carry, **params
    )
    if not any(inst):
        return (
            scan_p.bind(*primals, jaxpr=jaxpr, num_consts=num_consts, num_carry=num_carry, **params),
            [_tangent_zero(a) for a in out_avals],
        )
    primal, invariant, tangent, n_inv, _n_var = _scan_linearized(jaxpr, num_consts, num_carry, nonzeros, inst)
    inv_res = eval_closed(invariant, *consts)
    outs = scan_p.bind(*consts, *init, *xs, jaxpr=primal, num_consts=num_consts, num_carry=num_carry, **params)
    n_out = len(out_avals)
    t_consts = [t for t, nz in zip(tcs, const_nz) if nz]
    touts = iter(
        scan_p.bind(
            *inv_res,
            *t_consts,
            *[instantiate(t) for t, nz in zip(tinit, carry_nz) if nz],
            *outs[n_out:],
            *[t for t, nz in zip(txs, xs_nz) if nz],
            jaxpr=tangent,
            num_consts=n_inv + len(t_consts),
            num_carry=sum(carry_nz),
            **params,
        )
    )
    return outs[:n_out], [next(touts) if nz else _tangent_zero(a) for a, nz in zip(out_avals, inst)]


@jaxpr_cache
def _scan_transposed_body(jaxpr, num_consts, num_carry, const_lin, xs_lin):
    """Body of the transposed scan: consts: non-linear consts; carry: (cotangents of the linear consts,
    carry cotangents); xs: (non-linear xs, cotangents of the ys)."""
    backward = transpose_jaxpr(jaxpr, list(const_lin) + [True] * num_carry + list(xs_lin))
    avals = list(jaxpr.in_avals)
    c_avals, _, x_avals = _split(avals, num_consts, num_carry)
    res_c = [a for a, lin in zip(c_avals, const_lin) if not lin]
    acc = [tangent_aval(a) for a, lin in zip(c_avals, const_lin) if lin]
    res_x = [a for a, lin in zip(x_avals, xs_lin) if not lin]
    out_avals = [a.strip_weak() for a in jaxpr.out_avals]

    def fun(*args):
        rc, ct_acc, ct_carry, rx, ct_y = _split(args, len(res_c), len(acc), num_carry, len(res_x))
        ct_c, ct_carry_in, ct_x = _split(eval_closed(backward, *rc, *rx, *ct_carry, *ct_y), len(acc), num_carry)
        return [add_tangents(a, b) for a, b in zip(ct_acc, ct_c)] + ct_carry_in + ct_x

    return trace_to_jaxpr(fun, res_c + acc + out_avals[:num_carry] + res_x + out_avals[num_carry:], "scan_transpose")


def _scan_transpose(cts, *args, jaxpr, num_consts, num_carry, length, reverse, unroll):
    # Carries of a linear scan are linear (even an instantiated zero arriving as a value).
    consts, init, xs = _split(args, num_consts, num_carry)
    const_lin, xs_lin = tuple(map(is_undefined, consts)), tuple(map(is_undefined, xs))
    out_avals = jaxpr.out_avals
    ct_carry = zero_cotangents(cts[:num_carry], out_avals[:num_carry])
    ct_ys = zero_cotangents(cts[num_carry:], [a.update(shape=(length,) + a.shape) for a in out_avals[num_carry:]])
    acc = [zeros_like_aval(tangent_aval(a.aval)) for a in consts if is_undefined(a)]
    res_c = [a for a in consts if not is_undefined(a)]
    res_x = [a for a in xs if not is_undefined(a)]
    outs = scan_p.bind(
        *res_c,
        *acc,
        *ct_carry,
        *res_x,
        *ct_ys,
        jaxpr=_scan_transposed_body(jaxpr, num_consts, num_carry, const_lin, xs_lin),
        num_consts=len(res_c),
        num_carry=len(acc) + num_carry,
        length=length,
        reverse=not reverse,
        unroll=unroll,
    )
    ct_consts, ct_init, ct_xs = _split(outs, len(acc), num_carry)
    ct_consts, ct_xs = iter(ct_consts), iter(ct_xs)
    return (
        [next(ct_consts) if lin else None for lin in const_lin]
        + [c if is_undefined(a) else None for c, a in zip(ct_init, init)]
        + [next(ct_xs) if lin else None for lin in xs_lin]
    )


def _scan_batch(vals, dims, jaxpr, num_consts, num_carry, length, reverse, unroll, axis_size):
    consts, init, xs = _split(vals, num_consts, num_carry)
    cdims, idims, xdims = _split(dims, num_consts, num_carry)
    cb, xb = tuple(d is not None for d in cdims), tuple(d is not None for d in xdims)
    n_ys = len(jaxpr.out_avals) - num_carry
    carry_b = batched_carries(jaxpr, cb, [d is not None for d in idims], xb, n_ys, axis_size)
    body, out_b = batch_jaxpr(jaxpr, cb + carry_b + xb, axis_size, carry_b + (False,) * n_ys)
    consts = move_to_front(consts, cdims, cb, axis_size)
    init = move_to_front(init, idims, carry_b, axis_size)
    xs = [x if d is None else move_bdim(x, d, 1, axis_size) for x, d in zip(xs, xdims)]
    outs = scan_p.bind(
        *consts,
        *init,
        *xs,
        jaxpr=body,
        num_consts=num_consts,
        num_carry=num_carry,
        length=length,
        reverse=reverse,
        unroll=unroll,
    )
    return outs, [0 if b else None for b in carry_b] + [1 if b else None for b in out_b[num_carry:]]


define_rules(scan_p, _scan_impl, _scan_abstract_eval, _scan_jvp, _scan_batch, _scan_transpose)


def _scan_vma(in_vmas, jaxpr, num_consts, num_carry, length, reverse, unroll):
    outs = [a.vma for a in jaxpr.out_avals]
    return _loop_carry_vma("scan", in_vmas[num_consts : num_consts + num_carry], outs[:num_carry]) + outs[num_carry:]


scan_p.vma_rule = _scan_vma


def scan_flat(body, init, xs, length, reverse=False, unroll=1):
    """Bind scan on flat carries and xs; `body` is (ClosedJaxpr taking its consts first, consts)."""
    closed, consts = body
    return scan_p.bind(
        *consts,
        *init,
        *xs,
        jaxpr=closed,
        num_consts=len(consts),
        num_carry=len(init),
        length=length,
        reverse=reverse,
        unroll=unroll,
    )
