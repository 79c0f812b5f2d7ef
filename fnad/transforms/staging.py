"""Staging: a trace that records primitives into IR instead of running them (make_jaxpr, jit,
and the tangent half of linearize)."""

from __future__ import annotations

import numpy as np

from ..core import Trace, Tracer, get_aval, new_main, user_frame
from ..ir import ClosedJaxpr, Eqn, Jaxpr, Literal, Var, simplify


def _with_vma(prim, in_vmas, out_avals, params):
    """The outputs' avals with the mesh axes they vary over (inside a shard_map body): the primitive's
    `vma_rule`, or by default every axis any input varies over. The outputs of a primitive holding
    sub-IRs (calls, custom rules) are those of its sub-IR, traced on its operands' avals: kept."""
    if prim.vma_rule is not None:
        out_vmas = prim.vma_rule(in_vmas, **params)
    elif prim.stage is not None or any(isinstance(v, ClosedJaxpr) for v in params.values()):
        return out_avals
    else:
        out_vmas = [frozenset().union(*in_vmas)] * len(out_avals)
    return [a if a.vma == v else a.update(vma=v) for a, v in zip(out_avals, out_vmas)]


class StagingTracer(Tracer):
    __slots__ = ("_aval", "source", "var")

    def __init__(self, trace, aval, var, source=None):
        self._trace, self._aval, self.var, self.source = trace, aval, var, source

    @property
    def aval(self):
        return self._aval

    def source_info(self):
        if self.source is None:
            return ""
        f, line, fn = self.source
        return f", at {f}:{line} in {fn}"


class JaxprBuilder:
    """Collects equations, constants and arguments of one staging trace."""

    def __init__(self):
        self.eqns = []
        self.invars = []
        self.const_vals = {}  # id(value) -> (constvar, value)

    def to_jaxpr(self, trace, outs, simplify_ir=True):
        outs = [trace.full_raise(o) for o in outs]
        consts = list(self.const_vals.values())
        jaxpr = Jaxpr([v for v, _ in consts], self.invars, self.eqns, [o.var for o in outs])
        if simplify_ir:
            jaxpr = simplify(jaxpr)
        used = set(jaxpr.constvars)
        return ClosedJaxpr(jaxpr, [val for v, val in consts if v in used])


class StagingTrace(Trace):
    __slots__ = ()

    @property
    def builder(self):
        return self.main.payload

    def new_arg(self, aval):
        var = Var(aval)
        self.builder.invars.append(var)
        return StagingTracer(self, aval, var, user_frame())

    def pure(self, x):
        aval = get_aval(x)
        if aval.shape == () and not isinstance(x, Tracer):
            return StagingTracer(self, aval, Literal(np.asarray(x, aval.dtype)[()], aval))
        entry = self.builder.const_vals.get(id(x))
        if entry is None:
            entry = self.builder.const_vals[id(x)] = (Var(aval), x)
        return StagingTracer(self, entry[0].aval, entry[0])

    lift = pure

    def process_primitive(self, prim, tracers, params):
        if prim.stage is not None:
            return prim.stage(self, tracers, **params)
        out_avals = prim.abstract_eval(*[t.aval for t in tracers], **params)
        return self.emit(prim, tracers, out_avals, params)

    def emit(self, prim, tracers, out_avals, params):
        """Record `prim` applied to `tracers` with the given output avals; returns output tracers."""
        src = user_frame()
        avals = out_avals if prim.multiple_results else [out_avals]
        if prim.vma_rule is not None or any(t.aval.vma for t in tracers):  # inside a shard_map body only
            avals = _with_vma(prim, [t.aval.vma for t in tracers], avals, params)
        outs = [StagingTracer(self, a, Var(a), src) for a in avals]
        self.builder.eqns.append(Eqn(prim, [t.var for t in tracers], [o.var for o in outs], params, src))
        return outs if prim.multiple_results else outs[0]


def trace_to_jaxpr(flat_fun, in_avals, name="make_jaxpr", dynamic=True):
    """Trace `flat_fun(*args) -> list` on abstract arguments; returns a simplified ClosedJaxpr."""
    with new_main(StagingTrace, name, JaxprBuilder(), dynamic=dynamic) as main:
        trace = main.trace
        args = [trace.new_arg(a) for a in in_avals]
        outs = flat_fun(*args)
        return main.payload.to_jaxpr(trace, outs)


def decomposition(fn):
    """A `decompose(*in_avals, **params) -> ClosedJaxpr` rule (how `jit` compiles the primitive:
    `fnad.passes.prepare_for_compile` puts this IR in its place) from a function that computes the
    primitive with other primitives."""
    return lambda *avals, **params: trace_to_jaxpr(lambda *xs: list(fn(*xs, **params)), list(avals), "decompose")
