"""Passes that prepare IR for the compiler: `prepare_for_compile(closed)` gives the plain IR that
`fnad_compiler` lowers. Call-like primitives (those with an `inline_param`: jit, the custom_jvp/vjp
calls, checkpoint) have their bodies spliced in, and primitives with a `decompose` rule (e.g. the loops
that define while_lin, revolve and remat_lin) are replaced by the IR it gives, at every depth of
sub-IRs. The compiler then never calls back into tracing, and the expanded equations fuse with
their neighbours. Before that, a primitive's `fuse_with_producer` rule may merge an equation with
the one producing its input into one equation (the tangent loop of a `while_loop` under jvp rides
along in its primal loop): rules for IR that will only run forward, never be transposed."""

from __future__ import annotations

from .ir import ClosedJaxpr, Jaxpr, Var, simplify

__all__ = ["prepare_for_compile"]


def prepare_for_compile(closed):
    """`closed` with calls inlined and decompositions expanded (constants hoisted), recursively in
    the sub-IRs of control flow; the same object if there is nothing to do."""
    jaxpr = closed.jaxpr
    consts = dict(zip(jaxpr.constvars, closed.consts))
    fused = _fuse_with_producers(jaxpr.eqns)
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

    changed = fused is not jaxpr.eqns
    for e in fused:
        param = getattr(e.primitive, "inline_param", None)
        decompose = getattr(e.primitive, "decompose", None)
        if param:
            body = e.params[param]
        else:  # a decomposition may be None: the equation is compiled as it is
            body = None if decompose is None else decompose(*[a.aval for a in e.invars], **e.params)
        if body is not None:
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


def _fuse_with_producers(eqns):
    """`eqns` with each equation whose primitive has a `fuse_with_producer` rule merged, where the
    rule agrees, with the equation producing one of its inputs. The merged equation takes the
    producer's place if all its inputs exist there, else the consumer's if nothing in between reads
    the producer's outputs. Returns `eqns` itself if nothing merged."""
    index = {v: i for i, e in enumerate(eqns) for v in e.outvars}
    out = list(eqns)
    for j, e in enumerate(eqns):
        rule = getattr(e.primitive, "fuse_with_producer", None)
        if rule is None:
            continue
        merged = rule(e, lambda v: out[index[v]] if type(v) is Var and v in index else None)
        if merged is None:
            continue
        producer, new = merged
        i = index[producer.outvars[0]]
        if all(type(a) is not Var or index.get(a, -1) < i for a in new.invars):
            out[i], out[j] = new, None
        elif not any(
            type(a) is Var and a in producer.outvars for k in range(i + 1, j) if out[k] for a in out[k].invars
        ):
            out[i], out[j] = None, new
        else:
            continue
        index.update({v: i if out[i] is new else j for v in new.outvars})
    return eqns if len(out) == len(eqns) and all(a is b for a, b in zip(out, eqns)) else [e for e in out if e]


def _prepared_param(v):
    """A param with its sub-IRs (control-flow branches and bodies) prepared."""
    if isinstance(v, ClosedJaxpr):
        return prepare_for_compile(v)
    if isinstance(v, tuple) and v and all(isinstance(x, ClosedJaxpr) for x in v):
        new = tuple(prepare_for_compile(x) for x in v)
        return v if all(a is b for a, b in zip(new, v)) else new
    return v
