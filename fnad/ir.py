"""fnad's IR ("jaxpr"): typed variables, literals, equations, closed sub-IRs; its printer,
its interpreter and the passes that keep it small (dead-code and common-subexpression elimination,
constant folding of literal-only equations).

This is the contract between `fnad` (tracing and transforms) and `fnad_compiler/` (lowering).
"""

from __future__ import annotations

import itertools

import numpy as np

from .core import ShapedArray, get_aval


class Var:
    """A typed SSA variable. Names are assigned when printing."""

    __slots__ = ("aval", "count")
    _counter = itertools.count()

    def __init__(self, aval):
        self.aval = aval
        self.count = next(Var._counter)

    def __repr__(self):
        return f"Var({self.count}:{self.aval.str_short()})"


class Literal:
    """A scalar constant written inline in the IR."""

    __slots__ = ("aval", "val")

    def __init__(self, val, aval=None):
        self.val = val
        self.aval = aval if aval is not None else get_aval(val)

    def __repr__(self):
        return f"Literal({self.val})"

    def text(self):
        v = self.val
        v = v.item() if hasattr(v, "item") else v
        return f"{v!r}:{self.aval.str_short()}"


class Eqn:
    """`outvars = primitive[params](invars)`; `source` is (file, line, function) of the user code."""

    __slots__ = ("invars", "outvars", "params", "primitive", "source")

    def __init__(self, primitive, invars, outvars, params, source=None):
        self.primitive, self.invars, self.outvars, self.params, self.source = (
            primitive,
            invars,
            outvars,
            params,
            source,
        )

    def replace(self, **kw):
        new = Eqn(self.primitive, self.invars, self.outvars, self.params, self.source)
        for k, v in kw.items():
            setattr(new, k, v)
        return new


class Jaxpr:
    """A function in IR form: `{ lambda constvars ; invars . let eqns in outvars }`."""

    __slots__ = ("constvars", "eqns", "invars", "outvars")

    def __init__(self, constvars, invars, eqns, outvars):
        self.constvars, self.invars, self.eqns, self.outvars = (
            list(constvars),
            list(invars),
            list(eqns),
            list(outvars),
        )

    in_avals = property(lambda self: [v.aval for v in self.invars])
    out_avals = property(lambda self: [v.aval for v in self.outvars])

    def __str__(self):
        return pp_jaxpr(self)

    __repr__ = __str__


class ClosedJaxpr:
    """A Jaxpr with values for its constvars (the object `make_jaxpr` returns)."""

    __slots__ = ("__weakref__", "consts", "derived", "jaxpr")

    def __init__(self, jaxpr, consts):
        self.jaxpr, self.consts = jaxpr, list(consts)
        self.derived = {}  # IRs derived from this one (fnad.transforms.jaxpr_rules.jaxpr_cache)

    in_avals = property(lambda self: self.jaxpr.in_avals)
    out_avals = property(lambda self: self.jaxpr.out_avals)
    eqns = property(lambda self: self.jaxpr.eqns)

    def __str__(self):
        return pp_jaxpr(self.jaxpr)

    __repr__ = __str__

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other


def axis_names_in_params(params):
    """The named axes that the sub-IRs among `params` communicate over (their collectives'): the
    `axis_names` rule of the primitives holding sub-IRs (control flow, calls), so that a vmap binding
    such a name batches them even when none of their operands is batched."""
    names = []
    for sub in _sub_closed(params):
        names.extend(n for n in axis_names_of(sub) if n not in names)
    return tuple(names)


def runs_in_python(closed):
    """Whether `closed` holds (at any depth) a primitive that must run in Python (`runs_in_python`):
    `jit` then evaluates it op by op rather than compiling it."""
    found = closed.derived.get(runs_in_python)
    if found is None:
        found = any(
            e.primitive.runs_in_python or any(runs_in_python(sub) for sub in _sub_closed(e.params))
            for e in closed.jaxpr.eqns
        )
        closed.derived[runs_in_python] = found
    return found


def _sub_closed(params):
    for value in params.values():
        for sub in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(sub, ClosedJaxpr):
                yield sub


def axis_names_of(closed):
    """The named axes the collectives of `closed` (at any depth) communicate over (kept on it)."""
    names = closed.derived.get(axis_names_in_params)
    if names is None:
        names = []
        for e in closed.jaxpr.eqns:
            if e.primitive.axis_names is not None:
                names.extend(n for n in e.primitive.axis_names(e.params) if n not in names)
        names = closed.derived.setdefault(axis_names_in_params, tuple(names))
    return names


# ----------------------------------------------------------------------------------------------
# Printer


class _Namer:
    def __init__(self):
        self.names = {}

    def __call__(self, v):
        if isinstance(v, Literal):
            return v.text()
        name = self.names.get(v)
        if name is None:
            n, s = len(self.names), ""
            while True:
                s = chr(ord("a") + n % 26) + s
                n = n // 26 - 1
                if n < 0:
                    break
            name = self.names[v] = s
        return name


def _fmt_param(value, namer, indent):
    if isinstance(value, ClosedJaxpr):
        value = value.jaxpr
    if isinstance(value, Jaxpr):
        return "\n" + _pp(value, namer, indent + 4)
    if isinstance(value, (tuple, list)) and value and all(isinstance(v, (Jaxpr, ClosedJaxpr)) for v in value):
        return "(" + "".join(_fmt_param(v, namer, indent) for v in value) + ")"
    if isinstance(value, np.dtype) or isinstance(value, type) and issubclass(value, np.generic):
        return np.dtype(value).name
    if callable(value):
        return getattr(value, "__name__", type(value).__name__)
    return repr(value)


def _pp(jaxpr, namer, indent):
    pad = " " * indent
    decl = lambda vs: " ".join(f"{namer(v)}:{v.aval.str_short()}" for v in vs)
    head = f"{pad}{{ lambda {decl(jaxpr.constvars)}; {decl(jaxpr.invars)}. let"
    lines = [head]
    for e in jaxpr.eqns:
        outs = " ".join(f"{namer(v)}:{v.aval.str_short()}" for v in e.outvars)
        params = ""
        if e.params:
            params = (
                "[" + " ".join(f"{k}={_fmt_param(v, namer, indent + 4)}" for k, v in sorted(e.params.items())) + "]"
            )
        args = " ".join(namer(v) for v in e.invars)
        lines.append(f"{pad}    {outs} = {e.primitive.name}{params} {args}")
    lines.append(f"{pad}  in ({', '.join(namer(v) for v in jaxpr.outvars)}{',' if len(jaxpr.outvars) == 1 else ''}) }}")
    return "\n".join(lines)


def pp_jaxpr(jaxpr):
    return _pp(jaxpr, _Namer(), 0)


# ----------------------------------------------------------------------------------------------
# Interpreter


def eval_jaxpr(jaxpr, consts, *args):
    """Evaluate by binding each equation's primitive: under transforms this re-traces the IR."""
    env = {}
    for v, x in zip(jaxpr.constvars, consts):
        env[v] = x
    for v, x in zip(jaxpr.invars, args):
        env[v] = x
    read = lambda a: a.val if type(a) is Literal else env[a]
    for e in jaxpr.eqns:
        out = e.primitive.bind(*map(read, e.invars), **e.params)
        if e.primitive.multiple_results:
            for v, x in zip(e.outvars, out):
                env[v] = x
        else:
            env[e.outvars[0]] = out
    return [read(v) for v in jaxpr.outvars]


def eval_closed(closed, *args):
    return eval_jaxpr(closed.jaxpr, closed.consts, *args)


# ----------------------------------------------------------------------------------------------
# Passes


def _sub_jaxprs(params):
    for v in params.values():
        if isinstance(v, (Jaxpr, ClosedJaxpr)):
            yield v
        elif isinstance(v, (tuple, list)):
            yield from (x for x in v if isinstance(x, (Jaxpr, ClosedJaxpr)))


def has_effects(eqn):
    return eqn.primitive.effectful


def dce(jaxpr, used_outputs=None):
    """Drop equations whose outputs are unused (and unused constvars). Returns a new Jaxpr."""
    outvars = jaxpr.outvars if used_outputs is None else [v for v, u in zip(jaxpr.outvars, used_outputs) if u]
    live = {v for v in outvars if isinstance(v, Var)}
    kept = []
    for e in reversed(jaxpr.eqns):
        if has_effects(e) or any(v in live for v in e.outvars):
            kept.append(e)
            live.update(v for v in e.invars if isinstance(v, Var))
    kept.reverse()
    return Jaxpr([v for v in jaxpr.constvars if v in live], jaxpr.invars, kept, outvars)


def param_key(v, exact=False):
    """A hashable key equal for equal params. An unhashable value that is not a container or an
    array is keyed by its identity, which is only meaningful while it lives; with `exact`, such a
    value raises TypeError instead (for keys that outlive the IR)."""
    if isinstance(v, dict):
        items = tuple(sorted(v.items()))
        try:  # the common case, and the key the loop below would build for it
            hash(items)
            return items
        except TypeError:
            return tuple(sorted((k, param_key(x, exact)) for k, x in v.items()))
    if isinstance(v, (list, tuple)):
        return tuple(param_key(x, exact) for x in v)
    if isinstance(v, np.ndarray):
        return ("nd", v.shape, v.dtype.str, v.tobytes())
    try:
        hash(v)
        return v
    except TypeError:
        if exact:
            raise
        return ("id", id(v))


def literal_key(a):
    """A hashable key equal for Literals of equal value and abstract value."""
    return ("lit", np.asarray(a.val).tobytes(), a.aval)


def rewrite(jaxpr):
    """One forward pass of local rewrites: constant folding of scalar-literal equations, each
    primitive's algebraic `simplify` rule (x*1 -> x, neg(neg x) -> x, ...), and common-subexpression
    elimination (operands of `commutative` primitives put in a canonical order)."""
    rename, seen, defs, eqns = {}, {}, {}, []
    sub = lambda a: rename.get(a, a) if type(a) is Var else a
    for e in jaxpr.eqns:
        prim, invars, params = e.primitive, [sub(a) for a in e.invars], e.params
        if not prim.multiple_results and not has_effects(e):
            if (
                invars
                and all(type(a) is Literal for a in invars)
                and e.outvars[0].aval.shape == ()
                and not any(True for _ in _sub_jaxprs(params))
                and prim.axis_names is None  # a collective's value depends on the other lanes
            ):
                aval = e.outvars[0].aval
                rename[e.outvars[0]] = Literal(
                    np.asarray(prim.impl(*[a.val for a in invars], **params), aval.dtype)[()], aval
                )
                continue
            rule = prim.simplify
            if rule is not None:
                res = rule(invars, params, e.outvars[0].aval, defs)
                if isinstance(res, (Var, Literal)):
                    rename[e.outvars[0]] = res
                    continue
                if res is not None:
                    prim, invars, params = res
        if prim.commutative:
            invars = sorted(invars, key=lambda a: (1, 0) if type(a) is Literal else (0, a.count))
        key = None
        if not has_effects(e):
            key = (prim, tuple(literal_key(a) if type(a) is Literal else a for a in invars), param_key(params))
            try:
                prev = seen.get(key)
            except TypeError:
                key, prev = None, None
            if prev is not None:
                rename.update(zip(e.outvars, prev.outvars))
                continue
        new = Eqn(prim, invars, e.outvars, params, e.source)
        if key is not None:
            seen[key] = new
        for v in new.outvars:
            defs[v] = new
        eqns.append(new)
    return Jaxpr(jaxpr.constvars, jaxpr.invars, eqns, [sub(v) for v in jaxpr.outvars])


def simplify(jaxpr):
    """The standard clean-up run after tracing: rewrites and dead-code elimination to a fixed point."""
    for _ in range(4):
        n = len(jaxpr.eqns)
        jaxpr = dce(rewrite(jaxpr))
        if len(jaxpr.eqns) == n:
            break
    return jaxpr


__all__ = [
    "ClosedJaxpr",
    "Eqn",
    "Jaxpr",
    "Literal",
    "ShapedArray",
    "Var",
    "dce",
    "eval_closed",
    "eval_jaxpr",
    "literal_key",
    "param_key",
    "pp_jaxpr",
    "rewrite",
    "simplify",
]
