"""custom_jvp / custom_vjp: functions with user-defined derivative rules (JAX semantics).

A call binds a higher-order primitive whose params hold Python callables: the function (`call`)
and its rule(s). The impl runs the function; the jvp rule runs the user's rule; the batching rule
re-binds with vmapped callables; under staging (make_jaxpr, jit) the function is traced to a sub-IR
that replaces `call` in the equation (`fnad.passes` inlines it before compiling), so evaluating the IR re-binds the
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

from .ad_util import tangent_aval, zeros_like_aval
from .api_util import OutTree, flatten_fun, merge_args
from .core import Tracer, get_aval, is_float_dtype
from .primitives.calls import custom_jvp_call_p, custom_vjp_call_p, fun_name
from .primitives.elementwise import convert_element_type
from .tree_util import tree_flatten, tree_leaves, tree_map, tree_structure, tree_unflatten

__all__ = ["custom_jvp", "custom_vjp"]


def _resolve_args(fun, args, kwargs, name):
    if not kwargs:
        return tuple(args)
    try:
        bound = inspect.signature(fun).bind(*args, **kwargs)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name}: could not bind the arguments to the function's signature: {e}") from None
    if bound.kwargs:
        raise TypeError(
            f"{name}: keyword-only arguments ({', '.join(bound.kwargs)}) are not supported by "
            "custom_jvp/custom_vjp functions; make them positional."
        )
    return tuple(bound.args)


def _split_nondiff(args, nondiff_argnums, name):
    nums = tuple(i % len(args) for i in nondiff_argnums) if args else ()
    for i in nums:
        if any(isinstance(leaf, Tracer) for leaf in tree_leaves(args[i])):
            raise TypeError(
                f"{name}: argument {i} is in nondiff_argnums but is a traced value "
                f"({get_aval(tree_leaves(args[i])[0]).str_short()}). nondiff_argnums are for "
                "static values (ints, functions, shapes); pass arrays as ordinary arguments."
            )
    return tuple(args[i] for i in nums), tuple(a for i, a in enumerate(args) if i not in nums), nums


def _match_tangent(name, primal, tangent):
    """A user rule's tangent for `primal`: checked shape, primal's dtype (zeros for non-floats)."""
    pa = get_aval(primal)
    if not is_float_dtype(pa.dtype):
        return zeros_like_aval(pa)
    ta = get_aval(tangent)
    if ta.shape != pa.shape:
        raise TypeError(
            f"{name}: the custom rule returned a tangent of shape {ta.shape} for a primal "
            f"output of shape {pa.shape}; they must be equal."
        )
    if ta.dtype != pa.dtype:
        return convert_element_type(tangent, pa.dtype)
    return tangent


class _CustomFunction:
    def __init__(self, fun, nondiff_argnums):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)

    def _prepare(self, args, kwargs, kind, rule, definer):
        """(name, nondiff args, diff args, nondiff positions, flat diff leaves, their tree)."""
        name = f"{kind} function {fun_name(self.fun)}"
        if rule is None:
            raise AttributeError(f"No {kind[-3:].upper()} defined for {name}: use {definer} before calling it.")
        args = _resolve_args(self.fun, args, kwargs, name)
        nondiff, diff, nums = _split_nondiff(args, self.nondiff_argnums, name)
        flat, in_tree = tree_flatten(diff)
        return name, nondiff, diff, nums, flat, in_tree

    def _flat_call(self, nums, nondiff, in_tree, out_tree):
        """The function on the flat differentiable leaves (its output structure kept in `out_tree`)."""
        name = fun_name(self.fun)
        call, _ = flatten_fun(
            lambda *diff: self.fun(*merge_args(nums, nondiff, diff)), in_tree, out_tree=out_tree, name=name
        )
        call.__name__ = name
        return call


# ----------------------------------------------------------------------------------------------
# custom_jvp


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
    Array(0.5, dtype=float64)
    >>> fnad.jvp(log1pexp, (2.0,), (3.0,))
    (Array(2.12692801, dtype=float64), Array(2.64239123, dtype=float64))
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

        jvp.__name__ = f"{fun_name(self.fun)}_jvps"
        self.defjvp(jvp)

    def __call__(self, *args, **kwargs):
        name, nondiff, _diff, nums, flat, in_tree = self._prepare(args, kwargs, "custom_jvp", self.jvp, "defjvp")
        out_tree = OutTree()
        rule = self.jvp

        def jvp(primals, tangents):
            res = rule(*nondiff, tree_unflatten(in_tree, list(primals)), tree_unflatten(in_tree, list(tangents)))
            if not (isinstance(res, (tuple, list)) and len(res) == 2):
                raise TypeError(f"{name}: the jvp rule must return a pair (primal_out, tangent_out)")
            out_flat, tree = tree_flatten(res[0])
            out_tree.record(tree, "the jvp rule's primal output", name)
            t_flat, t_tree = tree_flatten(res[1])
            if t_tree != tree:
                raise TypeError(
                    f"{name}: the jvp rule's tangent output has structure {t_tree}, but its primal "
                    f"output has structure {tree}"
                )
            return out_flat, [_match_tangent(name, o, t) for o, t in zip(out_flat, t_flat)]

        jvp.__name__ = fun_name(rule)
        call = self._flat_call(nums, nondiff, in_tree, out_tree)
        outs = custom_jvp_call_p.bind(*flat, call=call, jvp=jvp, num_consts=0)
        return tree_unflatten(out_tree.val, outs)


# ----------------------------------------------------------------------------------------------
# custom_vjp


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
    Array(1., dtype=float64)
    """

    def __init__(self, fun, nondiff_argnums=()):
        super().__init__(fun, nondiff_argnums)
        self.fwd = self.bwd = None

    def defvjp(self, fwd, bwd):
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args, **kwargs):
        name, nondiff, diff, nums, flat, in_tree = self._prepare(args, kwargs, "custom_vjp", self.fwd, "defvjp")
        out_tree, res_tree = OutTree(), OutTree()
        user_fwd, user_bwd = self.fwd, self.bwd
        arg_trees = [tree_structure(a) for a in diff]

        def fwd(*xs):
            res = user_fwd(*merge_args(nums, nondiff, tree_unflatten(in_tree, list(xs))))
            if not (isinstance(res, (tuple, list)) and len(res) == 2):
                raise TypeError(f"{name}: the fwd rule must return a pair (output, residuals)")
            out_flat, tree = tree_flatten(res[0])
            out_tree.record(tree, "the fwd rule's output", name)
            res_flat, res_tree.val = tree_flatten(res[1])
            return out_flat, res_flat

        def bwd(res, cts):
            out = user_bwd(*nondiff, tree_unflatten(res_tree.val, list(res)), tree_unflatten(out_tree.val, list(cts)))
            if not isinstance(out, (tuple, list)) or len(out) != len(diff):
                raise TypeError(
                    f"{name}: the bwd rule must return a tuple with one cotangent per "
                    f"differentiable argument ({len(diff)}), got "
                    f"{type(out).__name__}{'' if not isinstance(out, (tuple, list)) else f' of length {len(out)}'}"
                )
            cts_flat = []
            for i, (tree, ct) in enumerate(zip(arg_trees, out)):
                if ct is None:
                    cts_flat.extend([None] * tree.num_leaves)
                    continue
                try:
                    cts_flat.extend(tree.flatten_up_to(ct))
                except ValueError as e:
                    raise TypeError(
                        f"{name}: the bwd rule's cotangent for argument {i} does not match the "
                        f"argument's structure {tree}: {e}"
                    ) from None
            return [_check_cotangent(name, p, c) for p, c in zip(flat, cts_flat)]

        fwd.__name__, bwd.__name__ = fun_name(user_fwd), fun_name(user_bwd)
        call = self._flat_call(nums, nondiff, in_tree, out_tree)
        outs = custom_vjp_call_p.bind(*flat, call=call, fwd=fwd, bwd=bwd, num_consts=0)
        return tree_unflatten(out_tree.val, outs)


def _check_cotangent(name, primal, ct):
    if ct is None or not is_float_dtype(get_aval(primal).dtype):
        return None
    pa, ca = get_aval(primal), get_aval(ct)
    if ca.shape != pa.shape:
        raise ValueError(
            f"{name}: the bwd rule returned a cotangent of shape {ca.shape} for an argument of "
            f"shape {pa.shape}; they must be equal."
        )
    if ca.dtype != pa.dtype:
        return convert_element_type(ct, tangent_aval(pa).dtype)
    return ct
