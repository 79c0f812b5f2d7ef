"""Passes that prepare IR for the compiler: `prepare_for_compile(closed)` gives the plain IR that
`fnad_compiler` lowers. Call-like primitives (those with an `inline_param`: jit, the custom_jvp/vjp
calls, checkpoint) have their bodies spliced in, and primitives with a `decompose` rule (e.g. the loops
that define while_lin, revolve and remat_lin) are replaced by the IR it gives, at every depth of
sub-IRs. The compiler then never calls back into tracing, and the expanded equations fuse with
their neighbours."""

from __future__ import annotations

from .ir import ClosedJaxpr, Jaxpr, Var, simplify

__all__ = ["prepare_for_compile"]


def prepare_for_compile(closed):
    """`closed` with calls inlined and decompositions expanded (constants hoisted), recursively in
    the sub-IRs of control flow; the same object if there is nothing to do."""
    jaxpr = closed.jaxpr
    consts = dict(zip(jaxpr.constvars, closed.consts))
    eqns = []
    rename = {}
    sub = lambda a: rename.get(a, a) if type(a) is Var else a

    def splice(inner, args, outvars):
        inner = prepare_for_compile(inner)
        env = dict(zip(inner.jaxpr.invars, args))
        for v, c in zip(inner.jaxpr.constvars, inner.consts):
            nv = Var(v.aval)
            consts[nv] = c
            env[v] = nv
        lookup = lambda a: env.get(a, a) if type(a) is Var else a
        for e in inner.jaxpr.eqns:
            new_outs = [Var(v.aval) for v in e.outvars]
            env.update(zip(e.outvars, new_outs))
            eqns.append(e.replace(invars=[lookup(a) for a in e.invars], outvars=new_outs))
        for v, a in zip(outvars, inner.jaxpr.outvars):
            rename[v] = lookup(a)

    changed = False
    for e in jaxpr.eqns:
        param = getattr(e.primitive, "inline_param", None)
        decompose = getattr(e.primitive, "decompose", None)
        if param or decompose is not None:
            body = e.params[param] if param else decompose(*[a.aval for a in e.invars], **e.params)
            splice(body, [sub(a) for a in e.invars], e.outvars)
            changed = True
            continue
        params = {k: _prepared_param(v) for k, v in e.params.items()}
        changed = changed or any(params[k] is not e.params[k] for k in params)
        eqns.append(e.replace(invars=[sub(a) for a in e.invars], params=params))
    if not changed:
        return closed
    new = simplify(Jaxpr(list(consts), jaxpr.invars, eqns, [sub(v) for v in jaxpr.outvars]))
    return ClosedJaxpr(new, [consts[v] for v in new.constvars])


def _prepared_param(v):
    """A param with its sub-IRs (control-flow branches and bodies) prepared."""
    if isinstance(v, ClosedJaxpr):
        return prepare_for_compile(v)
    if isinstance(v, tuple) and v and all(isinstance(x, ClosedJaxpr) for x in v):
        new = tuple(prepare_for_compile(x) for x in v)
        return v if all(a is b for a, b in zip(new, v)) else new
    return v
