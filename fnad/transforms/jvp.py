"""Forward mode: a trace whose tracers carry (primal, tangent); tangents may be symbolic zeros."""

from __future__ import annotations

import numpy as np

from ..ad_util import Zero, add_tangents, instantiate, tangent_aval
from ..core import Trace, Tracer, UnexpectedTracerError, get_aval, is_float_dtype, new_main


class JVPTracer(Tracer):
    __slots__ = ("primal", "tangent")

    def __init__(self, trace, primal, tangent):
        self._trace, self.primal, self.tangent = trace, primal, tangent

    @property
    def aval(self):
        return get_aval(self.primal)

    def concrete_value(self):
        p = self.primal
        return p.concrete_value() if isinstance(p, Tracer) else p

    def source_info(self):
        p = self.primal
        return p.source_info() if isinstance(p, Tracer) else ""


class JVPTrace(Trace):
    __slots__ = ()

    def pure(self, x):
        return JVPTracer(self, x, Zero(tangent_aval(get_aval(x))))

    lift = pure

    def process_primitive(self, prim, tracers, params):
        primals = [t.primal for t in tracers]
        tangents = [t.tangent for t in tracers]
        if all(type(t) is Zero for t in tangents):
            out = prim.bind(*primals, **params)
            if prim.multiple_results:
                return [self.pure(o) for o in out]
            return self.pure(out)
        if prim.jvp is None:
            raise NotImplementedError(f"differentiation rule for '{prim.name}' is not implemented")
        primal_out, tangent_out = prim.jvp(primals, tangents, **params)
        if prim.multiple_results:
            return [JVPTracer(self, self.lower(p), self.lower(t)) for p, t in zip(primal_out, tangent_out)]
        return JVPTracer(self, self.lower(primal_out), self.lower(tangent_out))

    def lower(self, x):
        """A rule's result as a value below this trace. A rule can create values of this very trace
        (fnad.numpy creation functions lift into the innermost trace, for `.at`); such a value has a
        zero tangent, so its primal is what the rule meant."""
        if type(x) is JVPTracer and x._trace is self:
            if type(x.tangent) is not Zero:
                raise UnexpectedTracerError(f"a jvp rule returned a value differentiated by its own trace: {x}")
            return x.primal
        return x


def defjvp(prim, *rules):
    """Per-argument jvp rules `rule(g, ans, *args, **params) -> tangent contribution` (None: the
    output does not depend on that argument differentiably). Contributions are summed; zero
    tangents are skipped without being materialised."""

    def jvp(primals, tangents, **params):
        ans = prim.bind(*primals, **params)
        acc = None
        for rule, t in zip(rules, tangents):
            if rule is None or type(t) is Zero:
                continue
            c = rule(t, ans, *primals, **params)
            acc = c if acc is None else add_tangents(acc, c)
        return ans, Zero(tangent_aval(get_aval(ans))) if acc is None else acc

    prim.jvp = jvp


def deflinear(prim, transpose):
    """A primitive linear in all its (array) arguments: its jvp applies it to the tangents."""

    def jvp(primals, tangents, **params):
        ans = prim.bind(*primals, **params)
        if all(type(t) is Zero for t in tangents):
            return ans, Zero(tangent_aval(get_aval(ans)))
        return ans, prim.bind(*map(instantiate, tangents), **params)

    prim.jvp = jvp
    prim.transpose = transpose


def jvp_flat(flat_fun, primals, tangents):
    """Run `flat_fun` on (primal, tangent) pairs; returns (primal outputs, tangent outputs)."""
    with new_main(JVPTrace, "jvp") as main:
        trace = main.trace
        ins = [JVPTracer(trace, p, t) for p, t in zip(primals, tangents)]
        outs = [trace.full_raise(o) for o in flat_fun(*ins)]
        return [o.primal for o in outs], [o.tangent for o in outs]


def check_tangent(primal, tangent):
    """The tangent a user passed for `primal`, as a Zero for non-float primals."""
    pa = get_aval(primal)
    if not is_float_dtype(pa.dtype):
        return Zero(pa)
    ta = get_aval(tangent)
    if ta.shape != pa.shape:
        raise ValueError(f"jvp: tangent shape {ta.shape} does not match primal shape {pa.shape}")
    if ta.dtype != pa.dtype and not ta.weak_type:
        raise TypeError(f"jvp: tangent dtype {ta.dtype} does not match primal dtype {pa.dtype}")
    return tangent if ta.dtype == pa.dtype else np.asarray(tangent, pa.dtype)
