"""Reverse mode: linearize (jvp with the tangent half staged to a linear IR) and transposition
of that linear IR (the backward pass). Transpose rules of linear primitives do the work."""

from __future__ import annotations

from ..ad_util import Zero, add_tangents, cotangent_like, instantiate, tangent_aval
from ..core import get_aval, is_float_dtype, new_main
from ..ir import Literal, Var, eval_jaxpr
from .jvp import JVPTrace, JVPTracer
from .staging import JaxprBuilder, StagingTrace


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
    for e in jaxpr.eqns:  # evaluate any equation that does not touch the linear inputs
        if any(type(v) is Var and v in linear for v in e.invars):
            linear.update(e.outvars)
        else:
            out = e.primitive.bind(*[v.val if type(v) is Literal else env[v] for v in e.invars], **e.params)
            env.update(zip(e.outvars, out if e.primitive.multiple_results else [out]))
    ct_env = {}

    def write(v, ct):
        if ct is not None and type(v) is Var and v in linear:
            if type(ct) is not Zero:
                ct = cotangent_like(ct, v.aval)
            ct_env[v] = add_tangents(ct_env[v], ct) if v in ct_env else ct

    for v, ct in zip(jaxpr.outvars, cts_out):
        write(v, ct)
    for e in reversed(jaxpr.eqns):
        if not any(v in ct_env for v in e.outvars):
            continue
        cts = [ct_env.pop(v, None) for v in e.outvars]
        args = [
            UndefinedPrimal(v.aval) if type(v) is Var and v in linear else (v.val if type(v) is Literal else env[v])
            for v in e.invars
        ]
        if e.primitive.transpose is None:
            raise NotImplementedError(
                f"transpose rule for '{e.primitive.name}' is not implemented (needed for reverse-mode differentiation)"
            )
        if e.primitive.multiple_results:
            cts_in = e.primitive.transpose(cts, *args, **e.params)
        else:
            cts_in = e.primitive.transpose(cts[0], *args, **e.params)
        for v, ct in zip(e.invars, cts_in):
            write(v, None if type(ct) is Zero else ct)
    return [ct_env.get(v) for v in jaxpr.invars]


def eval_linear(linear, tangents):
    return eval_jaxpr(linear.jaxpr, linear.consts, *tangents)
