"""Reverse mode: linearize (jvp with the tangent half staged to a linear IR) and transposition
of that linear IR (the backward pass). Transpose rules of linear primitives do the work."""
from __future__ import annotations

from ..ad_util import Zero, tangent_aval, instantiate, add_tangents, full
from ..core import get_aval, is_float_dtype, new_main
from ..ir import Var, Literal, Jaxpr, ClosedJaxpr, dce, eval_jaxpr
from .jvp import JVPTrace, JVPTracer
from .staging import StagingTrace, JaxprBuilder, trace_to_jaxpr


class UndefinedPrimal:
    """Marks a linear input of an equation in a transpose rule: its value is what we solve for."""
    __slots__ = ("aval",)

    def __init__(self, aval):
        self.aval = aval

    def __repr__(self):
        return f"UndefinedPrimal({self.aval.str_short()})"


def is_undefined(x):
    return type(x) is UndefinedPrimal


def linearize_flat(flat_fun, primals):
    """Returns (primal outputs, linear ClosedJaxpr mapping input tangents to output tangents).

    Primal computation runs now (at the callers' level); only operations on tangents are staged,
    so the linear IR holds exactly the derivative's work with the needed primal values as consts."""
    with new_main(StagingTrace, "linearize", JaxprBuilder()) as smain:
        strace = smain.trace
        tangents_in = []
        for p in primals:
            aval = tangent_aval(get_aval(p))
            t = strace.new_arg(aval)
            tangents_in.append(t if is_float_dtype(aval.dtype) else Zero(aval))
        with new_main(JVPTrace, "jvp") as jmain:
            jtrace = jmain.trace
            ins = [JVPTracer(jtrace, p, t) for p, t in zip(primals, tangents_in)]
            outs = [jtrace.full_raise(o) for o in flat_fun(*ins)]
            out_primals = [o.primal for o in outs]
            out_tangents = [o.tangent for o in outs]
        # No clean-up pass: the backward pass skips equations no cotangent reaches.
        linear = smain.payload.to_jaxpr(strace, [instantiate(t) for t in out_tangents], simplify_ir=False)
    return out_primals, linear


def backward_pass(jaxpr, consts, cts_out):
    """Transpose a linear jaxpr: given output cotangents (None for zero), the input cotangents."""
    env = dict(zip(jaxpr.constvars, consts))
    linear = set(jaxpr.invars)
    for e in jaxpr.eqns:   # evaluate any equation that does not touch the linear inputs
        if any(type(v) is Var and v in linear for v in e.invars):
            linear.update(e.outvars)
        else:
            out = e.primitive.bind(*[v.val if type(v) is Literal else env[v] for v in e.invars], **e.params)
            env.update(zip(e.outvars, out if e.primitive.multiple_results else [out]))
    ct_env = {}

    def write(v, ct):
        if ct is not None and type(v) is Var and v in linear:
            ct_env[v] = add_tangents(ct_env[v], ct) if v in ct_env else ct

    for v, ct in zip(jaxpr.outvars, cts_out):
        write(v, ct)
    for e in reversed(jaxpr.eqns):
        if not any(v in ct_env for v in e.outvars):
            continue
        cts = [ct_env.pop(v, None) for v in e.outvars]
        args = [UndefinedPrimal(v.aval) if type(v) is Var and v in linear
                else (v.val if type(v) is Literal else env[v]) for v in e.invars]
        if e.primitive.transpose is None:
            raise NotImplementedError(f"transpose rule for '{e.primitive.name}' is not implemented "
                                      "(needed for reverse-mode differentiation)")
        if e.primitive.multiple_results:
            cts_in = e.primitive.transpose(cts, *args, **e.params)
        else:
            cts_in = e.primitive.transpose(cts[0], *args, **e.params)
        for v, ct in zip(e.invars, cts_in):
            write(v, None if type(ct) is Zero else ct)
    return [ct_env.get(v) for v in jaxpr.invars]


def eval_linear(linear, tangents):
    return eval_jaxpr(linear.jaxpr, linear.consts, *tangents)


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
    known = dce(Jaxpr(jaxpr.constvars, [v for v, u in zip(jaxpr.invars, unknowns) if not u], known_eqns,
                      known_out + residuals))
    const_of = dict(zip(jaxpr.constvars, closed.consts))
    unknown = Jaxpr([], residuals + [v for v, u in zip(jaxpr.invars, unknowns) if u], unknown_eqns,
                    [v for v, u in zip(jaxpr.outvars, out_unknowns) if u])
    known_closed = ClosedJaxpr(known, [const_of[v] for v in known.constvars])
    return known_closed, ClosedJaxpr(dce(unknown), []), out_unknowns, len(residuals)


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
