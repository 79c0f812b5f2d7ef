"""Rules over whole IRs, for the higher-order primitives (control flow, calls) whose params hold
sub-IRs: the jvp of an IR, its linearization (primal and tangent parts), partial evaluation,
transpose and batching, each giving a new ClosedJaxpr.

Derived IRs are cached per source IR (`jaxpr_cache`): the same derivation of the same IR object
gives the same object again, so its compiled code and its own derivations are found again too.
The cache lives on the source ClosedJaxpr, so entries die with it: it is weak-keyed in effect, and
unlike a WeakKeyDictionary, a derived IR that refers back to its source cannot pin it forever.
"""

from __future__ import annotations

import functools

from ..ad_util import Zero, full, instantiate, tangent_aval
from ..core import new_main
from ..ir import ClosedJaxpr, Jaxpr, Var, dce, eval_closed
from .batching import BatchTrace, BatchTracer, current_axis, move_bdim
from .jvp import jvp_flat
from .reverse import backward_pass
from .staging import trace_to_jaxpr


def jaxpr_cache(rule):
    """`rule(source, *args)` computed once per source IR object (a ClosedJaxpr, or a tuple of them
    such as cond's branches) and hashable `args`, kept on the source IR (on its first, for a tuple).
    Threads deriving the same IR at once each compute it; all get the first result stored."""

    @functools.wraps(rule)
    def cached(source, *args):
        if isinstance(source, ClosedJaxpr):
            owner, key = source, (rule, *args)
        else:  # the other IRs of the tuple are part of the key (they hash by identity)
            owner, key = source[0], (rule, source[1:], *args)
        derived = owner.derived
        hit = derived.get(key, derived)
        if hit is not derived:
            return hit
        return derived.setdefault(key, rule(source, *args))

    return cached


# ----------------------------------------------------------------------------------------------
# Tracing a function to a sub-IR


def hoist_consts(closed):
    """`closed` as (a ClosedJaxpr without consts whose leading inputs are the old consts, their values)."""
    j = closed.jaxpr
    return ClosedJaxpr(Jaxpr([], j.constvars + j.invars, j.eqns, j.outvars), []), list(closed.consts)


def trace_flat(flat_fun, in_avals, name):
    """Trace `flat_fun` (list -> list) on `in_avals`: (ClosedJaxpr taking its consts first, the consts)."""
    return hoist_consts(trace_to_jaxpr(flat_fun, list(in_avals), name))


# ----------------------------------------------------------------------------------------------
# Forward mode and linearization


@jaxpr_cache
def jvp_jaxpr(closed, nonzeros, instantiate_outs=False):
    """The IR of the jvp of `closed`: inputs are its primals then the tangents of the inputs flagged
    in `nonzeros`; outputs its primal outputs then the tangents of the outputs flagged in
    `instantiate_outs` (a tuple, which must flag every non-zero output tangent), or of every output
    (True) or of the non-zero ones (False). Returns (ClosedJaxpr, which output tangents it returns)."""
    in_avals = closed.in_avals
    n = len(in_avals)
    out_kept = []

    def fun(*args):
        it = iter(args[n:])
        tangents = [next(it) if nz else Zero(tangent_aval(a)) for a, nz in zip(in_avals, nonzeros)]
        out_p, out_t = jvp_flat(lambda *xs: eval_closed(closed, *xs), list(args[:n]), tangents)
        if isinstance(instantiate_outs, bool):
            out_kept[:] = [instantiate_outs or type(t) is not Zero for t in out_t]
        else:
            for t, keep in zip(out_t, instantiate_outs):
                assert keep or type(t) is Zero, "jvp_jaxpr: a non-zero output tangent was not requested"
            out_kept[:] = instantiate_outs
        return out_p + [instantiate(t) for t, keep in zip(out_t, out_kept) if keep]

    t_avals = [tangent_aval(a) for a, nz in zip(in_avals, nonzeros) if nz]
    return trace_to_jaxpr(fun, list(in_avals) + t_avals, "jvp_jaxpr"), tuple(out_kept)


def out_nonzeros(closed, nonzeros):
    """Which outputs of `closed` get non-zero tangents when the inputs flagged in `nonzeros` have them."""
    return jvp_jaxpr(closed, tuple(nonzeros))[1]


@jaxpr_cache
def split_linear(closed, nonzeros, instantiate_outs):
    """Linearize `closed` as IR: (primal part: primals -> outputs, then residuals; tangent part:
    residuals, then tangents of the `nonzeros` inputs -> tangents of the `instantiate_outs` outputs;
    number of residuals). The tangent part is linear in its tangent inputs."""
    n_out = len(closed.out_avals)
    jvp_closed = jvp_jaxpr(closed, nonzeros, instantiate_outs)[0]
    n_in, n_t = len(closed.in_avals), sum(nonzeros)
    known, unknown, out_unknown, n_res = partial_eval_jaxpr(jvp_closed, [False] * n_in + [True] * n_t)
    assert not any(out_unknown[:n_out])
    t_unknown = out_unknown[n_out:]
    if all(t_unknown):
        return known, unknown, n_res
    # A tangent output that reads no tangent (an instantiated zero) is computed by the primal part:
    # it becomes one more residual, which the tangent part returns as it is.
    k = t_unknown.count(False)
    k_avals = [a for a, u in zip(jvp_closed.out_avals[n_out:], t_unknown) if not u]

    def fun(*args):
        known_t, lin = iter(args[:k]), iter(eval_closed(unknown, *args[k:]))
        return [next(lin) if u else next(known_t) for u in t_unknown]

    return known, trace_to_jaxpr(fun, k_avals + list(unknown.in_avals), "tangent"), n_res + k


def partial_eval_jaxpr(closed, unknowns):
    """Split `closed` into a known part (inputs: the known inputs; outputs: the known outputs, then
    residuals) and an unknown part (inputs: residuals, then the unknown inputs; outputs: the outputs
    that depend on unknown inputs). An equation with any unknown input is unknown.
    Returns (known ClosedJaxpr, unknown ClosedJaxpr, out_unknowns, number of residuals)."""
    jaxpr = closed.jaxpr
    unknown_vars = {v for v, u in zip(jaxpr.invars, unknowns) if u}
    known_eqns, unknown_eqns = [], []
    for e in jaxpr.eqns:
        if any(type(v) is Var and v in unknown_vars for v in e.invars):
            unknown_eqns.append(e)
            unknown_vars.update(e.outvars)
        else:
            known_eqns.append(e)
    out_unknowns = [type(v) is Var and v in unknown_vars for v in jaxpr.outvars]
    # Residuals: known values (not literals) that unknown equations or unknown outputs read.
    residuals, seen = [], set()
    for e in unknown_eqns:
        for v in e.invars:
            if type(v) is Var and v not in unknown_vars and v not in seen:
                seen.add(v)
                residuals.append(v)
    known_out = [v for v, u in zip(jaxpr.outvars, out_unknowns) if not u]
    known = dce(
        Jaxpr(jaxpr.constvars, [v for v, u in zip(jaxpr.invars, unknowns) if not u], known_eqns, known_out + residuals)
    )
    const_of = dict(zip(jaxpr.constvars, closed.consts))
    unknown = Jaxpr(
        [],
        residuals + [v for v, u in zip(jaxpr.invars, unknowns) if u],
        unknown_eqns,
        [v for v, u in zip(jaxpr.outvars, out_unknowns) if u],
    )
    known_closed = ClosedJaxpr(known, [const_of[v] for v in known.constvars])
    return known_closed, ClosedJaxpr(dce(unknown), []), out_unknowns, len(residuals)


# ----------------------------------------------------------------------------------------------
# Transpose


def transpose_jaxpr(closed, linear_mask):
    """The IR of the transpose of `closed` (linear in the inputs flagged by `linear_mask`): inputs are
    the non-linear inputs then the output cotangents; outputs the cotangents of the linear inputs
    (zeros where none flows)."""
    jaxpr = closed.jaxpr
    lin_avals = [a for a, m in zip(closed.in_avals, linear_mask) if m]
    res_avals = [a for a, m in zip(closed.in_avals, linear_mask) if not m]
    n_res = len(res_avals)

    def fun(*args):
        res, cts = args[:n_res], args[n_res:]
        # Residual (non-linear) inputs become constants of the jaxpr being transposed.
        it_res = iter(res)
        env_vars, env_vals, lin_vars = [], [], []
        for v, m in zip(jaxpr.invars, linear_mask):
            if m:
                lin_vars.append(v)
            else:
                env_vars.append(v)
                env_vals.append(next(it_res))
        lin = Jaxpr(list(jaxpr.constvars) + env_vars, lin_vars, jaxpr.eqns, jaxpr.outvars)
        cts_in = backward_pass(lin, list(closed.consts) + env_vals, list(cts))
        return [full(a.shape, 0, a.dtype) if c is None else c for c, a in zip(cts_in, lin_avals)]

    return trace_to_jaxpr(fun, res_avals + [a.strip_weak() for a in closed.out_avals], "transpose_jaxpr")


# ----------------------------------------------------------------------------------------------
# Batching


def batch_jaxpr(closed, in_batched, axis_size, force_out=None):
    """`closed` vmapped over a leading axis of the inputs flagged in `in_batched`. Returns (ClosedJaxpr,
    out_batched): outputs batched along axis 0 where they depend on the batch or `force_out` says so
    (True: all of them). Called by a batch rule, it binds the name of the axis that rule batches, so
    the collectives of the sub-IR over that name are batched away."""
    return _batch_jaxpr(closed, in_batched, axis_size, force_out, current_axis()[0])


@jaxpr_cache
def _batch_jaxpr(closed, in_batched, axis_size, force_out, axis_name):
    n_out = len(closed.out_avals)
    force_out = (False,) * n_out if force_out is None else (force_out,) * n_out if force_out is True else force_out
    out_batched = []

    def fun(*args):
        with new_main(BatchTrace, "vmap", axis_size, axis_name=axis_name) as main:
            trace = main.trace
            ins = [BatchTracer(trace, a, 0) if b else a for a, b in zip(args, in_batched)]
            outs = [trace.full_raise(o) for o in eval_closed(closed, *ins)]
            out_batched[:] = [o.bdim is not None or f for o, f in zip(outs, force_out)]
            return [move_bdim(o.val, o.bdim, 0, axis_size) if b else o.val for o, b in zip(outs, out_batched)]

    avals = [a.update(shape=(axis_size,) + a.shape) if b else a for a, b in zip(closed.in_avals, in_batched)]
    return trace_to_jaxpr(fun, avals, "vmap"), tuple(out_batched)
