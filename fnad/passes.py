"""Passes that prepare IR for the compiler: `prepare_for_compile(closed)` gives the plain IR that
`fnad_compiler` lowers. Call-like primitives (those with an `inline_param`: jit, the custom_jvp/vjp
calls, checkpoint) have their bodies spliced in, and primitives with a `decompose` rule (e.g. the loops
that define while_lin, revolve and remat_lin) are replaced by the IR it gives, at every depth of
sub-IRs. The compiler then never calls back into tracing, and the expanded equations fuse with
their neighbours. Before that, a primitive's `fuse_with_producer` rule may merge an equation with
the one producing its input into one equation (the tangent loop of a `while_loop` under jvp rides
along in its primal loop): rules for IR that will only run forward, never be transposed.

Last, `lower_complex` rewrites complex arithmetic into real arithmetic (the complex contract): a
complex array of shape S is a float array of shape S+(2,) in compiled code (its real and imaginary
parts interleaved, the same bytes), so the compiler never sees a complex dtype. Between equations a
complex value is kept as its two real parts (arrays of shape S), so that chains of complex math fuse
into real loops; the interleaved form is made only where it is needed (results, control-flow
operands, `complex_native` equations). Each primitive says how it computes on real and imaginary
parts in its `complex_parts` rule, or on the interleaved form in its `complex_interleaved` rule (the
scatters, which write the pairs in one pass), set in its family module."""

from __future__ import annotations

import numpy as np

from .core import ShapedArray, get_aval, innermost_trace, is_complex_dtype, real_dtype
from .ir import ClosedJaxpr, Jaxpr, Literal, Var, simplify
from .primitives.collectives import psum_p
from .primitives.elementwise import add
from .primitives.indexing import pad, slice
from .primitives.reductions import reduce_sum_p
from .primitives.shape import reshape
from .transforms.staging import trace_to_jaxpr

__all__ = ["lower_complex", "prepare_for_compile", "real_representation"]


def prepare_for_compile(closed):
    """`closed` with calls inlined and decompositions expanded (constants hoisted), recursively in
    the sub-IRs of control flow, and complex values lowered to real ones (`lower_complex`); the
    same object if there is nothing to do."""
    return lower_complex(_inline(closed))


def _inline(closed):
    jaxpr = closed.jaxpr
    consts = dict(zip(jaxpr.constvars, closed.consts))
    fused = _sum_before_psum(_fuse_with_producers(jaxpr.eqns), jaxpr.outvars)
    eqns = []
    rename = {}
    sub = lambda a: rename.get(a, a) if type(a) is Var else a

    def splice(inner, args, outvars):
        inner = _inline(inner)
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


def _sum_before_psum(eqns, outvars):
    """`eqns` with each `reduce_sum(psum(x))`, where the psum's result has no other use, computed as
    `psum(reduce_sum(x))`: the same sum in another order, over a smaller array. Reverse mode makes
    the first form: the cotangent of a broadcast that every process shares (a bias under shard_map)
    is summed over the processes where it is written, then reduced by the broadcast's transpose, so
    the step of a data-parallel MLP allreduced each layer's activations' cotangents, not the bias's.
    Returns `eqns` itself if nothing changed."""
    producers = {e.outvars[0]: i for i, e in enumerate(eqns) if e.primitive is psum_p}
    if not producers:  # the common case: no collective at this level
        return eqns
    uses = {}
    for a in (*(a for e in eqns for a in e.invars), *outvars):
        if type(a) is Var:
            uses[a] = uses.get(a, 0) + 1
    out = list(eqns)
    for j, e in enumerate(eqns):
        x = e.invars[0] if e.primitive is reduce_sum_p else None
        if x not in producers or uses[x] != 1:
            continue
        psum = eqns[producers[x]]
        partial = Var(e.outvars[0].aval.update(vma=psum.invars[0].aval.vma))
        out[producers[x]] = None
        out[j] = [e.replace(invars=psum.invars, outvars=[partial]), psum.replace(invars=[partial], outvars=e.outvars)]
    if all(a is b for a, b in zip(out, eqns)):
        return eqns
    return [new for e in out if e is not None for new in (e if isinstance(e, list) else [e])]


def _prepared_param(v):
    """A param with its sub-IRs (control-flow branches and bodies) prepared."""
    if isinstance(v, ClosedJaxpr):
        return _inline(v)
    if isinstance(v, tuple) and v and all(isinstance(x, ClosedJaxpr) for x in v):
        new = tuple(_inline(x) for x in v)
        return v if all(a is b for a, b in zip(new, v)) else new
    return v


# ----------------------------------------------------------------------------------------------
# The complex contract


def real_representation(aval):
    """The aval compiled code gives a value of `aval`: float S+(2,) for complex S, else `aval` itself."""
    if not is_complex_dtype(aval.dtype):
        return aval
    return ShapedArray(aval.shape + (2,), real_dtype(aval.dtype))


def _has_complex(jaxpr):
    vs = [*jaxpr.invars, *jaxpr.constvars, *jaxpr.outvars]
    return any(is_complex_dtype(v.aval.dtype) for v in vs) or any(_eqn_has_complex(e) for e in jaxpr.eqns)


def _eqn_has_complex(e):
    if any(is_complex_dtype(v.aval.dtype) for v in [*e.invars, *e.outvars]):
        return True
    return any(_has_complex(j.jaxpr) for j in _sub_jaxprs(e.params))


def _sub_jaxprs(params):
    for v in params.values():
        for x in v if isinstance(v, tuple) else (v,):
            if isinstance(x, ClosedJaxpr):
                yield x


class _Complex:
    """A complex value during `lower_complex`: its real and imaginary parts (real arrays of shape S), or
    its interleaved form (float S+(2,)), each made from the other when first asked for."""

    __slots__ = ("_joined", "_parts")

    def __init__(self, parts=None, joined=None):
        self._parts, self._joined = parts, joined

    def parts(self):
        if self._parts is None:
            x = self._joined
            shape = x.shape[:-1]
            start = (0,) * len(shape)
            self._parts = tuple(reshape(slice(x, start + (k,), shape + (k + 1,)), shape) for k in (0, 1))
        return self._parts

    def joined(self):
        if self._joined is None:
            re, im = self._parts
            aval = get_aval(re)
            shape = aval.shape
            edges = [(0, 0, 0)] * len(shape)
            zero = np.array(-0.0, aval.dtype)  # x + -0.0 is x, also for x = -0.0 (+0.0 would not keep it)
            # two pads and a sum: elementwise, so the parts' math fuses into the loop writing the pair
            self._joined = add(
                pad(reshape(re, shape + (1,)), zero, edges + [(0, 1, 0)]),
                pad(reshape(im, shape + (1,)), zero, edges + [(1, 0, 0)]),
            )
        return self._joined


def _interleaved(value):
    """A complex NumPy value as float S+(2,) (a view of its memory when it is contiguous)."""
    value = np.asarray(value)
    value = value if value.flags.c_contiguous else np.ascontiguousarray(value)
    return value.reshape(-1).view(real_dtype(value.dtype)).reshape(value.shape + (2,))


def lower_complex(closed):
    """`closed` with every complex value replaced by its real representation (`real_representation`)
    and every equation on complex values by real equations (its primitive's `complex_parts` rule, or
    its `complex_interleaved` rule on the interleaved forms), or kept with its avals changed
    (`complex_native` primitives, and control flow, whose sub-IRs are lowered alike). The same object
    when nothing in it is complex. A complex equation whose primitive has no rule raises
    NotImplementedError naming it."""
    if not _has_complex(closed.jaxpr):
        return closed
    jaxpr = closed.jaxpr
    consts = [
        _Complex(joined=_interleaved(c)) if is_complex_dtype(v.aval.dtype) else c
        for v, c in zip(jaxpr.constvars, closed.consts)
    ]

    def run(*args):
        env = dict(zip(jaxpr.constvars, consts))
        env.update((v, _Complex(joined=a) if is_complex_dtype(v.aval.dtype) else a) for v, a in zip(jaxpr.invars, args))
        for e in jaxpr.eqns:
            ins = [_read(env, v) for v in e.invars]
            if not _eqn_has_complex(e):
                outs = _emit(e, [_joined(x) for x in ins], e.params)
            elif e.primitive.complex_native or any(True for _ in _sub_jaxprs(e.params)):
                params = {k: _lowered_param(v) for k, v in e.params.items()}
                outs = _emit(e, [_joined(x) for x in ins], params)
                outs = [_Complex(joined=o) if is_complex_dtype(v.aval.dtype) else o for v, o in zip(e.outvars, outs)]
            elif e.primitive.complex_interleaved is not None:
                res = e.primitive.complex_interleaved(*[_joined(x) for x in ins], **e.params)
                res = res if e.primitive.multiple_results else [res]
                outs = [_Complex(joined=r) if is_complex_dtype(v.aval.dtype) else r for v, r in zip(e.outvars, res)]
            elif e.primitive.complex_parts is not None:
                args_ = [x.parts() if type(x) is _Complex else x for x in ins]
                res = e.primitive.complex_parts(*args_, **e.params)
                res = res if e.primitive.multiple_results else [res]
                outs = [_Complex(parts=r) if type(r) is tuple else r for r in res]
            else:
                raise NotImplementedError(
                    f"jit: the primitive '{e.primitive.name}' cannot be compiled on complex values (it has no "
                    "complex_parts rule); it runs eagerly (outside jit) on complex arrays"
                )
            env.update(zip(e.outvars, outs))
        return [_joined(_read(env, v)) for v in jaxpr.outvars]

    return trace_to_jaxpr(run, [real_representation(v.aval) for v in jaxpr.invars], "lower_complex")


def _read(env, v):
    if type(v) is Literal:
        if is_complex_dtype(v.aval.dtype):
            val = complex(v.val)
            dt = real_dtype(v.aval.dtype)
            return _Complex(parts=(np.array(val.real, dt), np.array(val.imag, dt)))
        return v.val
    return env[v]


def _joined(x):
    return x.joined() if type(x) is _Complex else x


def _emit(e, ins, params):
    """`e` recorded again on `ins` (tracers or constants of the lowering trace), with its outputs
    typed by their real representation."""
    trace = innermost_trace()
    avals = [real_representation(v.aval) for v in e.outvars]
    outs = trace.emit(
        e.primitive, [trace.full_raise(x) for x in ins], avals if e.primitive.multiple_results else avals[0], params
    )
    return outs if e.primitive.multiple_results else [outs]


def _lowered_param(v):
    if isinstance(v, ClosedJaxpr):
        return lower_complex(v)
    if isinstance(v, tuple) and v and all(isinstance(x, ClosedJaxpr) for x in v):
        return tuple(lower_complex(x) for x in v)
    return v
