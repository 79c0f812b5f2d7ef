"""custom_jvp / custom_vjp: functions with user-defined derivative rules (JAX semantics).

A call binds a higher-order primitive whose params hold Python callables: the function (`call`)
and its rule(s). The impl runs the function; the jvp rule runs the user's rule; the batching rule
re-binds with vmapped callables; under staging (make_jaxpr, jit) the function is traced to a sub-IR
that replaces `call` in the equation (the compiler inlines it), so evaluating the IR re-binds the
primitive with the same rules.

custom_vjp under differentiation runs `fwd` on the primals and emits the output tangents through
the linear primitive `custom_vjp_lin` (residuals + input tangents -> output tangents) whose transpose
calls `bwd`. Reverse mode (linearize + transpose) therefore uses the user's backward rule; forward
mode has no rule to apply and raises, as in JAX.

Limitations: rules are Python callables kept in the IR, so values they close over must not be traced
values of an enclosing transform (pass those as arguments); `nondiff_argnums` arguments must not be
traced either.
"""
from __future__ import annotations

import functools
import inspect

from .core import Primitive, Tracer, get_aval, is_float_dtype
from .ir import ClosedJaxpr, Jaxpr, eval_closed
from .tree_util import tree_flatten, tree_unflatten, tree_structure, tree_leaves, tree_map
from .ad_util import Zero, instantiate, tangent_aval, zeros_like_aval
from .transforms.reverse import is_undefined
from .transforms.batching import vmap_flat, move_bdim
from .transforms.staging import trace_to_jaxpr
from .primitives.elementwise import convert_element_type
from .primitives.reductions import reduce_sum

__all__ = ["custom_jvp", "custom_vjp"]


# ----------------------------------------------------------------------------------------------
# Shared machinery of the two call primitives


def _callable(call):
    """The function a `call` param denotes (a Python callable, or a staged ClosedJaxpr)."""
    if isinstance(call, ClosedJaxpr):
        return lambda *xs: eval_closed(call, *xs)
    return call


def _call_impl(*args, call, **rules):
    return list(_callable(call)(*args))


def _call_abstract_eval(*avals, call, **rules):
    if isinstance(call, ClosedJaxpr):
        return call.out_avals
    return trace_to_jaxpr(lambda *xs: list(call(*xs)), list(avals)).out_avals


def _stage_call(prim):
    """Staging records the function as a sub-IR whose constants (values it closes over) become
    leading inputs of the equation (counted in `num_consts`)."""
    def stage(trace, tracers, call, num_consts, **rules):
        if not isinstance(call, ClosedJaxpr):
            closed = trace_to_jaxpr(lambda *xs: list(call(*xs)), [t.aval for t in tracers], prim.name)
            j = closed.jaxpr
            call = ClosedJaxpr(Jaxpr([], j.constvars + j.invars, j.eqns, j.outvars), [])
            tracers = [trace.full_raise(c) for c in closed.consts] + list(tracers)
            num_consts += len(closed.consts)
        return trace.emit(prim, tracers, call.out_avals, dict(call=call, num_consts=num_consts, **rules))
    return stage


def _call_primitive(name):
    """A higher-order primitive whose `call` param is the function (callable or staged sub-IR)."""
    p = Primitive(name, multiple_results=True)
    p.inline_param = "call"      # the compiler inlines the staged sub-IR
    p.impl, p.abstract_eval, p.stage = _call_impl, _call_abstract_eval, _stage_call(p)
    p.batch_needs_size = True
    return p


def _vmapped(flat_fun, in_dims, axis_size):
    """`flat_fun` (list -> list) vmapped over `in_dims`; every output batched along axis 0."""
    n_out = []

    def counted(*xs):
        outs = list(flat_fun(*xs))
        n_out[:] = [len(outs)]
        return outs

    def batched(*xs):
        return vmap_flat(counted, list(xs), list(in_dims), axis_size, lambda: [0] * n_out[0])
    return batched


def _unbatched_aval(x, d):
    aval = get_aval(x)
    return aval if d is None else aval.update(shape=aval.shape[:d] + aval.shape[d + 1:])


class _Store:
    __slots__ = ("val",)

    def __init__(self):
        self.val = None


def _record_tree(store, tree, what, name):
    if store.val is not None and store.val != tree:
        raise TypeError(f"{name}: {what} has structure {tree}, but the function's output has structure "
                        f"{store.val}")
    store.val = tree


def _resolve_args(fun, args, kwargs, name):
    if not kwargs:
        return tuple(args)
    try:
        bound = inspect.signature(fun).bind(*args, **kwargs)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name}: could not bind the arguments to the function's signature: {e}") from None
    if bound.kwargs:
        raise TypeError(f"{name}: keyword-only arguments ({', '.join(bound.kwargs)}) are not supported by "
                        "custom_jvp/custom_vjp functions; make them positional.")
    return tuple(bound.args)


def _split_nondiff(args, nondiff_argnums, name):
    nums = tuple(i % len(args) for i in nondiff_argnums) if args else ()
    for i in nums:
        if any(isinstance(leaf, Tracer) for leaf in tree_leaves(args[i])):
            raise TypeError(f"{name}: argument {i} is in nondiff_argnums but is a traced value "
                            f"({get_aval(tree_leaves(args[i])[0]).str_short()}). nondiff_argnums are for "
                            "static values (ints, functions, shapes); pass arrays as ordinary arguments.")
    return tuple(args[i] for i in nums), tuple(a for i, a in enumerate(args) if i not in nums), nums


def _merge(nums, nondiff, diff):
    out = list(diff)
    for i, a in sorted(zip(nums, nondiff), key=lambda p: p[0]):
        out.insert(i, a)
    return out


def _match_tangent(name, primal, tangent):
    """A user rule's tangent for `primal`: checked shape, primal's dtype (zeros for non-floats)."""
    pa = get_aval(primal)
    if not is_float_dtype(pa.dtype):
        return zeros_like_aval(pa)
    ta = get_aval(tangent)
    if ta.shape != pa.shape:
        raise TypeError(f"{name}: the custom rule returned a tangent of shape {ta.shape} for a primal "
                        f"output of shape {pa.shape}; they must be equal.")
    if ta.dtype != pa.dtype:
        return convert_element_type(tangent, pa.dtype)
    return tangent


def _flat_call(fun, nums, nondiff, in_tree, out_store, name):
    def call(*xs):
        out_flat, tree = tree_flatten(fun(*_merge(nums, nondiff, tree_unflatten(in_tree, list(xs)))))
        _record_tree(out_store, tree, "the output", name)
        return out_flat
    call.__name__ = name
    return call


def _fun_name(fun):
    return getattr(fun, "__name__", type(fun).__name__)


class _CustomFunction:
    def __init__(self, fun, nondiff_argnums):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)

    def _prepare(self, args, kwargs, kind, rule, definer):
        """(name, nondiff args, diff args, nondiff positions, flat diff leaves, their tree)."""
        name = f"{kind} function {_fun_name(self.fun)}"
        if rule is None:
            raise AttributeError(f"No {kind[-3:].upper()} defined for {name}: use {definer} before calling it.")
        args = _resolve_args(self.fun, args, kwargs, name)
        nondiff, diff, nums = _split_nondiff(args, self.nondiff_argnums, name)
        flat, in_tree = tree_flatten(diff)
        return name, nondiff, diff, nums, flat, in_tree


# ----------------------------------------------------------------------------------------------
# custom_jvp


custom_jvp_call_p = _call_primitive("custom_jvp_call")


def _custom_jvp_jvp(primals, tangents, call, jvp, num_consts):
    outs, touts = jvp(list(primals[num_consts:]), [instantiate(t) for t in tangents[num_consts:]])
    return outs, [t if is_float_dtype(get_aval(o).dtype) else Zero(tangent_aval(get_aval(o)))
                  for o, t in zip(outs, touts)]


def _custom_jvp_batch(vals, dims, call, jvp, num_consts, axis_size):
    arg_dims = list(dims[num_consts:])
    n_args = len(arg_dims)
    batched_call = _vmapped(_callable(call), dims, axis_size)
    batched_rule = _vmapped(lambda *xs: (lambda o, t: list(o) + list(t))(*jvp(list(xs[:n_args]), list(xs[n_args:]))),
                            arg_dims + arg_dims, axis_size)

    def batched_jvp(primals, tangents):
        outs = batched_rule(*primals, *tangents)
        return outs[:len(outs) // 2], outs[len(outs) // 2:]
    batched_call.__name__ = f"vmap_{_fun_name(call)}"
    batched_jvp.__name__ = f"vmap_{_fun_name(jvp)}"
    outs = custom_jvp_call_p.bind(*vals, call=batched_call, jvp=batched_jvp, num_consts=num_consts)
    return outs, [0] * len(outs)


custom_jvp_call_p.jvp = _custom_jvp_jvp
custom_jvp_call_p.batch = _custom_jvp_batch


class custom_jvp(_CustomFunction):
    """A function with a custom forward-mode derivative rule (decorator; JAX semantics).

    `f.defjvp(rule)` sets `rule(primals, tangents) -> (primal_out, tangent_out)`, where primals and
    tangents are tuples with one entry per argument; `f.defjvps(*fns)` instead gives one
    `fn(g, ans, *args)` per argument. The rule must be linear in the tangents: reverse mode
    (grad, vjp) transposes it. With `nondiff_argnums` the rule is called as
    `rule(*nondiff_args, primals, tangents)`. Rules run on values of the enclosing transforms, so
    values they close over must not be traced (pass them as arguments).

    >>> import fnad, fnad.numpy as fnp
    >>> @fnad.custom_jvp
    ... def log1pexp(x):
    ...     return fnp.log1p(fnp.exp(x))
    >>> @log1pexp.defjvp
    ... def log1pexp_jvp(primals, tangents):
    ...     (x,), (t,) = primals, tangents
    ...     return log1pexp(x), t * (1.0 - 1.0 / (1.0 + fnp.exp(x)))   # stable sigmoid(x) * t
    >>> fnad.grad(log1pexp)(0.0)
    array(0.5)
    >>> fnad.jvp(log1pexp, (2.0,), (3.0,))
    (array(2.12692801), array(2.64239123))
    """

    def __init__(self, fun, nondiff_argnums=()):
        super().__init__(fun, nondiff_argnums)
        self.jvp = None

    def defjvp(self, jvp):
        self.jvp = jvp
        return jvp

    def defjvps(self, *tangent_fns):
        """One rule per argument, `fn(g, ans, *args) -> contribution` (None: no dependence)."""
        if self.nondiff_argnums:
            raise TypeError("defjvps is not supported together with nondiff_argnums; use defjvp")

        def jvp(primals, tangents):
            ans = self(*primals)
            contributions = [fn(t, ans, *primals) for fn, t in zip(tangent_fns, tangents) if fn is not None]
            if not contributions:
                return ans, tree_map(lambda a: zeros_like_aval(tangent_aval(get_aval(a))), ans)
            return ans, functools.reduce(lambda a, b: tree_map(lambda u, v: u + v, a, b), contributions)
        jvp.__name__ = f"{_fun_name(self.fun)}_jvps"
        self.defjvp(jvp)

    def __call__(self, *args, **kwargs):
        name, nondiff, diff, nums, flat, in_tree = self._prepare(args, kwargs, "custom_jvp", self.jvp, "defjvp")
        out_tree = _Store()
        rule = self.jvp

        def jvp(primals, tangents):
            res = rule(*nondiff, tree_unflatten(in_tree, list(primals)), tree_unflatten(in_tree, list(tangents)))
            if not (isinstance(res, (tuple, list)) and len(res) == 2):
                raise TypeError(f"{name}: the jvp rule must return a pair (primal_out, tangent_out)")
            out_flat, tree = tree_flatten(res[0])
            _record_tree(out_tree, tree, "the jvp rule's primal output", name)
            t_flat, t_tree = tree_flatten(res[1])
            if t_tree != tree:
                raise TypeError(f"{name}: the jvp rule's tangent output has structure {t_tree}, but its primal "
                                f"output has structure {tree}")
            return out_flat, [_match_tangent(name, o, t) for o, t in zip(out_flat, t_flat)]
        jvp.__name__ = _fun_name(rule)
        call = _flat_call(self.fun, nums, nondiff, in_tree, out_tree, _fun_name(self.fun))
        outs = custom_jvp_call_p.bind(*flat, call=call, jvp=jvp, num_consts=0)
        return tree_unflatten(out_tree.val, outs)


# ----------------------------------------------------------------------------------------------
# custom_vjp


custom_vjp_call_p = _call_primitive("custom_vjp_call")
custom_vjp_lin_p = Primitive("custom_vjp_lin", multiple_results=True)


def _custom_vjp_jvp(primals, tangents, call, fwd, bwd, num_consts):
    outs, res = fwd(*primals[num_consts:])
    tangents = tangents[num_consts:]
    nonzero = tuple(type(t) is not Zero for t in tangents)
    zero_outs = [Zero(tangent_aval(get_aval(o))) for o in outs]
    if not any(nonzero):
        return outs, zero_outs
    out_avals = tuple(tangent_aval(get_aval(o)) for o in outs)
    touts = custom_vjp_lin_p.bind(*res, *[t for t in tangents if type(t) is not Zero], bwd=bwd,
                                  num_res=len(res), nonzero=nonzero, out_avals=out_avals)
    return outs, [t if is_float_dtype(a.dtype) else z for t, a, z in zip(touts, out_avals, zero_outs)]


def _batched_bwd(bwd, arg_avals, arg_dims, axis_size):
    """`bwd` over residuals and cotangents batched along axis 0. The cotangents it returns are laid
    out like the arguments: batch axis at `arg_dims`, summed over the batch for unbatched arguments.
    `arg_avals` are per-example avals; None marks arguments whose cotangent is not wanted."""
    wanted = [a for a in arg_avals if a is not None]

    def new_bwd(res, cts):
        k = len(res)

        def flat_bwd(*ys):
            cts_in = bwd(list(ys[:k]), list(ys[k:]))
            return [zeros_like_aval(a) if c is None else c for c, a in zip(cts_in, arg_avals) if a is not None]
        outs = iter(_vmapped(flat_bwd, [0] * (k + len(cts)), axis_size)(*res, *cts) if wanted else [])
        result = []
        for a, d in zip(arg_avals, arg_dims):
            if a is None:
                result.append(None)
                continue
            c = next(outs)
            if d is None:
                result.append(reduce_sum(c, (0,)))
            else:
                result.append(move_bdim(c, 0, d, axis_size))
        return result
    new_bwd.__name__ = f"vmap_{_fun_name(bwd)}"
    return new_bwd


def _custom_vjp_batch(vals, dims, call, fwd, bwd, num_consts, axis_size):
    arg_vals, arg_dims = vals[num_consts:], list(dims[num_consts:])
    batched_call = _vmapped(_callable(call), dims, axis_size)
    n_out = []

    def flat_fwd(*xs):
        outs, res = fwd(*xs)
        n_out[:] = [len(outs)]
        return list(outs) + list(res)
    batched_fwd_flat = _vmapped(flat_fwd, arg_dims, axis_size)

    def batched_fwd(*xs):
        both = batched_fwd_flat(*xs)
        return both[:n_out[0]], both[n_out[0]:]
    arg_avals = [_unbatched_aval(v, d) for v, d in zip(arg_vals, arg_dims)]
    batched_call.__name__ = f"vmap_{_fun_name(call)}"
    batched_fwd.__name__ = f"vmap_{_fun_name(fwd)}"
    outs = custom_vjp_call_p.bind(*vals, call=batched_call, fwd=batched_fwd,
                                  bwd=_batched_bwd(bwd, arg_avals, arg_dims, axis_size), num_consts=num_consts)
    return outs, [0] * len(outs)


custom_vjp_call_p.jvp = _custom_vjp_jvp
custom_vjp_call_p.batch = _custom_vjp_batch


def _lin_impl(*args, **params):
    raise TypeError("can't apply forward-mode differentiation (jvp) to a custom_vjp function. "
                    "Use reverse mode (grad, vjp, jacrev), or define the function with custom_jvp.")


def _lin_transpose(cts, *args, bwd, num_res, nonzero, out_avals):
    cts = [instantiate(Zero(a)) if c is None or type(c) is Zero else c for c, a in zip(cts, out_avals)]
    cts_in = bwd(list(args[:num_res]), cts)
    return [None] * num_res + [c for c, nz in zip(cts_in, nonzero) if nz]


def _lin_batch(vals, dims, bwd, num_res, nonzero, out_avals, axis_size):
    vals = [move_bdim(v, d, 0, axis_size) for v, d in zip(vals, dims)]
    lin = iter(vals[num_res:])
    arg_avals = [_unbatched_aval(next(lin), 0) if nz else None for nz in nonzero]
    new_bwd = _batched_bwd(bwd, arg_avals, [0] * len(nonzero), axis_size)
    out_avals = tuple(a.update(shape=(axis_size,) + a.shape) for a in out_avals)
    outs = custom_vjp_lin_p.bind(*vals, bwd=new_bwd, num_res=num_res, nonzero=nonzero, out_avals=out_avals)
    return outs, [0] * len(outs)


custom_vjp_lin_p.impl = _lin_impl
custom_vjp_lin_p.abstract_eval = lambda *avals, out_avals, **params: list(out_avals)
custom_vjp_lin_p.transpose = _lin_transpose
custom_vjp_lin_p.batch = _lin_batch
custom_vjp_lin_p.batch_needs_size = True


class custom_vjp(_CustomFunction):
    """A function with a custom reverse-mode derivative rule (decorator; JAX semantics).

    `f.defvjp(fwd, bwd)`: `fwd(*args) -> (out, residuals)` runs on the forward pass;
    `bwd(residuals, ct)` returns a tuple with one cotangent (or None) per argument. With
    `nondiff_argnums`, `fwd` receives all arguments and `bwd` is called as
    `bwd(*nondiff_args, residuals, ct)`, returning cotangents for the other arguments only.
    Forward-mode differentiation (jvp, jacfwd) of such a function raises a TypeError, as in JAX.

    >>> import fnad, fnad.numpy as fnp
    >>> @fnad.custom_vjp
    ... def clip_gradient(x):
    ...     return x
    >>> def fwd(x):
    ...     return x, None
    >>> def bwd(residuals, ct):
    ...     return (fnp.clip(ct, -1.0, 1.0),)
    >>> clip_gradient.defvjp(fwd, bwd)
    >>> fnad.grad(lambda x: 5.0 * clip_gradient(x))(2.0)    # 5.0 clipped to 1.0
    array(1.)
    """

    def __init__(self, fun, nondiff_argnums=()):
        super().__init__(fun, nondiff_argnums)
        self.fwd = self.bwd = None

    def defvjp(self, fwd, bwd):
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args, **kwargs):
        name, nondiff, diff, nums, flat, in_tree = self._prepare(args, kwargs, "custom_vjp", self.fwd, "defvjp")
        out_tree, res_tree = _Store(), _Store()
        user_fwd, user_bwd = self.fwd, self.bwd
        arg_trees = [tree_structure(a) for a in diff]

        def fwd(*xs):
            res = user_fwd(*_merge(nums, nondiff, tree_unflatten(in_tree, list(xs))))
            if not (isinstance(res, (tuple, list)) and len(res) == 2):
                raise TypeError(f"{name}: the fwd rule must return a pair (output, residuals)")
            out_flat, tree = tree_flatten(res[0])
            _record_tree(out_tree, tree, "the fwd rule's output", name)
            res_flat, res_tree.val = tree_flatten(res[1])
            return out_flat, res_flat

        def bwd(res, cts):
            out = user_bwd(*nondiff, tree_unflatten(res_tree.val, list(res)), tree_unflatten(out_tree.val, list(cts)))
            if not isinstance(out, (tuple, list)) or len(out) != len(diff):
                raise TypeError(f"{name}: the bwd rule must return a tuple with one cotangent per "
                                f"differentiable argument ({len(diff)}), got "
                                f"{type(out).__name__}{'' if not isinstance(out, (tuple, list)) else f' of length {len(out)}'}")
            cts_flat = []
            for i, (tree, ct) in enumerate(zip(arg_trees, out)):
                if ct is None:
                    cts_flat.extend([None] * tree.num_leaves)
                    continue
                try:
                    cts_flat.extend(tree.flatten_up_to(ct))
                except ValueError as e:
                    raise TypeError(f"{name}: the bwd rule's cotangent for argument {i} does not match the "
                                    f"argument's structure {tree}: {e}") from None
            return [_check_cotangent(name, p, c) for p, c in zip(flat, cts_flat)]
        fwd.__name__, bwd.__name__ = _fun_name(user_fwd), _fun_name(user_bwd)
        call = _flat_call(self.fun, nums, nondiff, in_tree, out_tree, _fun_name(self.fun))
        outs = custom_vjp_call_p.bind(*flat, call=call, fwd=fwd, bwd=bwd, num_consts=0)
        return tree_unflatten(out_tree.val, outs)


def _check_cotangent(name, primal, ct):
    if ct is None or not is_float_dtype(get_aval(primal).dtype):
        return None
    pa, ca = get_aval(primal), get_aval(ct)
    if ca.shape != pa.shape:
        raise ValueError(f"{name}: the bwd rule returned a cotangent of shape {ca.shape} for an argument of "
                         f"shape {pa.shape}; they must be equal.")
    if ca.dtype != pa.dtype:
        return convert_element_type(ct, tangent_aval(pa).dtype)
    return ct
