"""The public transforms: grad, value_and_grad, jvp, vjp, linearize, vmap, jacfwd, jacrev, hessian,
make_jaxpr. Each flattens pytrees, runs a flat transform from `fnad.transforms`, and unflattens."""
from __future__ import annotations

import functools

import numpy as np

from .core import Tracer, get_aval, is_float_dtype, ShapedArray
from .tree_util import tree_flatten, tree_unflatten, tree_structure, tree_leaves, tree_map
from .transforms.jvp import jvp_flat, check_tangent, instantiate, Zero
from .transforms.reverse import linearize_flat, backward_pass, eval_linear
from .transforms.batching import vmap_flat
from .transforms.staging import trace_to_jaxpr


def _to_output(x):
    """Top-level results are NumPy arrays; traced values stay as they are."""
    if isinstance(x, Tracer):
        return x
    if type(x) is Zero:
        x = instantiate(x)
    return x if isinstance(x, np.ndarray) else np.asarray(x)


class _Store:
    __slots__ = ("val",)


def flatten_fun(fun, in_tree, has_aux=False):
    """`fun` on pytrees -> a function on flat lists; the output structure is stored after a call."""
    store = _Store()

    def flat_fun(*flat_args):
        out = fun(*tree_unflatten(in_tree, list(flat_args)))
        if has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise TypeError("has_aux=True requires the function to return a pair (output, aux)")
            out, aux = out
            out_flat, out_tree = tree_flatten(out)
            aux_flat, aux_tree = tree_flatten(aux)
            store.val = (out_tree, aux_tree, len(out_flat))
            return out_flat + aux_flat
        out_flat, store.val = tree_flatten(out)
        return out_flat
    return flat_fun, store


def _argnums_tuple(argnums, nargs, name):
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for i in nums:
        if not -nargs <= i < nargs:
            raise ValueError(f"{name}: argnums={argnums} is out of range for a call with {nargs} positional arguments")
    return tuple(i % nargs for i in nums)


def _partial_args(fun, args, kwargs, nums):
    """fun restricted to the positional arguments `nums` (the others fixed)."""
    def f(*dyn):
        full = list(args)
        for i, a in zip(nums, dyn):
            full[i] = a
        return fun(*full, **kwargs)
    return f, tuple(args[i] for i in nums)


# ----------------------------------------------------------------------------------------------
# Forward mode


def jvp(fun, primals, tangents, has_aux=False):
    """Forward-mode derivative: returns (fun(*primals), J @ tangents)."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples or lists, e.g. jvp(f, (x,), (t,))")
    p_flat, in_tree = tree_flatten(tuple(primals))
    t_flat, t_tree = tree_flatten(tuple(tangents))
    if in_tree != t_tree:
        raise ValueError(f"jvp: primal and tangent structures differ: {in_tree} vs {t_tree}")
    flat_fun, store = flatten_fun(fun, in_tree, has_aux)
    out_p, out_t = jvp_flat(flat_fun, p_flat, [check_tangent(p, t) for p, t in zip(p_flat, t_flat)])
    out_p = [_to_output(x) for x in out_p]
    out_t = [_to_output(x) for x in out_t]
    if has_aux:
        out_tree, aux_tree, n = store.val
        return (tree_unflatten(out_tree, out_p[:n]), tree_unflatten(out_tree, out_t[:n]),
                tree_unflatten(aux_tree, out_p[n:]))
    return tree_unflatten(store.val, out_p), tree_unflatten(store.val, out_t)


def linearize(fun, *primals):
    """Returns (fun(*primals), jvp_fn) where jvp_fn(*tangents) evaluates the linearized function."""
    p_flat, in_tree = tree_flatten(primals)
    flat_fun, store = flatten_fun(fun, in_tree)
    out_p, linear = linearize_flat(flat_fun, p_flat)
    out_tree = store.val

    def jvp_fn(*tangents):
        t_flat, t_tree = tree_flatten(tangents)
        if t_tree != in_tree:
            raise ValueError(f"linearize: tangent structure {t_tree} does not match primals {in_tree}")
        t_flat = [check_tangent(p, t) for p, t in zip(p_flat, t_flat)]
        t_flat = [instantiate(t) for t in t_flat]
        return tree_unflatten(out_tree, [_to_output(x) for x in eval_linear(linear, t_flat)])
    return tree_unflatten(out_tree, [_to_output(x) for x in out_p]), jvp_fn


# ----------------------------------------------------------------------------------------------
# Reverse mode


def _vjp(fun, primals, has_aux):
    p_flat, in_tree = tree_flatten(primals)
    flat_fun, store = flatten_fun(fun, in_tree, has_aux)
    out_p, linear = linearize_flat(flat_fun, p_flat)
    if has_aux:
        out_tree, aux_tree, n = store.val
        aux = tree_unflatten(aux_tree, [_to_output(x) for x in out_p[n:]])
    else:
        out_tree, n, aux = store.val, len(out_p), None
    out_main = out_p[:n]

    def vjp_fn(ct):
        ct_flat, ct_tree = tree_flatten(ct)
        if ct_tree != out_tree:
            raise ValueError(f"vjp: cotangent structure {ct_tree} does not match the output structure {out_tree}")
        for c, o in zip(ct_flat, out_main):
            ca, oa = get_aval(c), get_aval(o)
            if ca.shape != oa.shape:
                raise ValueError(f"vjp: cotangent shape {ca.shape} does not match output shape {oa.shape}")
        cts = backward_pass(linear.jaxpr, linear.consts, list(ct_flat) + [None] * (len(out_p) - n))
        from .primitives.elementwise import zeros_like
        cts = [_to_output(zeros_like(p) if c is None else c) for c, p in zip(cts, p_flat)]
        return tree_unflatten(in_tree, cts)

    primal_out = tree_unflatten(out_tree, [_to_output(x) for x in out_main])
    return primal_out, vjp_fn, aux


def vjp(fun, *primals, has_aux=False):
    """Reverse mode: returns (fun(*primals), vjp_fn[, aux]); vjp_fn(ct) returns a tuple of
    cotangents, one per primal."""
    out, vjp_fn, aux = _vjp(fun, primals, has_aux)
    return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)


def value_and_grad(fun, argnums=0, has_aux=False):
    """Returns a function computing (fun(*args), gradient w.r.t. args[argnums]); with has_aux,
    ((value, aux), gradient)."""
    @functools.wraps(fun)
    def value_and_grad_fun(*args, **kwargs):
        nums = _argnums_tuple(argnums, len(args), "grad")
        f, dyn = _partial_args(fun, args, kwargs, nums)
        for i, a in zip(nums, dyn):
            for leaf in tree_leaves(a):
                if not is_float_dtype(get_aval(leaf).dtype):
                    raise TypeError(
                        f"grad requires real-valued (floating-point) inputs, but argument {i} has dtype "
                        f"{get_aval(leaf).dtype.name}. Pass a float (e.g. 3.0, or x.astype(float)), or "
                        "exclude the argument from argnums.")
        out, vjp_fn, aux = _vjp(f, dyn, has_aux)
        leaves = tree_leaves(out)
        if len(leaves) != 1 or get_aval(leaves[0]).shape != ():
            shapes = [get_aval(x).shape for x in leaves]
            raise TypeError(f"grad requires a scalar output (shape ()), but the function returned shape(s) "
                            f"{shapes[0] if len(shapes) == 1 else shapes}. Use jacrev/jacfwd/vjp for "
                            "non-scalar outputs, or reduce the output (e.g. .sum()).")
        oaval = get_aval(leaves[0])
        if not is_float_dtype(oaval.dtype):
            raise TypeError(f"grad requires a real-valued (floating-point) output, but the function "
                            f"returned dtype {oaval.dtype.name}.")
        g = vjp_fn(tree_unflatten(tree_structure(out), [np.ones((), oaval.dtype)]))
        g = g[0] if isinstance(argnums, int) else g
        return ((out, aux), g) if has_aux else (out, g)
    return value_and_grad_fun


def grad(fun, argnums=0, has_aux=False):
    """The gradient of a scalar-valued `fun` with respect to args[argnums] (same structure)."""
    vg = value_and_grad(fun, argnums, has_aux)

    @functools.wraps(fun)
    def grad_fun(*args, **kwargs):
        out, g = vg(*args, **kwargs)
        return (g, out[1]) if has_aux else g
    return grad_fun


# ----------------------------------------------------------------------------------------------
# Batching


def _broadcast_prefix(prefix, tree, what):
    """One entry of `prefix` (None / int) for each leaf of `tree`, where prefix is a tree prefix."""
    is_none = lambda x: x is None
    pdef = tree_structure(prefix, is_leaf=is_none)
    try:
        subtrees = pdef.flatten_up_to(tree)
    except ValueError as e:
        raise ValueError(f"vmap {what} specification {prefix!r} does not match the structure of the "
                         f"arguments/outputs {tree_structure(tree)}: {e}") from None
    out = []
    for ax, sub in zip(tree_leaves(prefix, is_leaf=is_none), subtrees):
        if ax is not None and not isinstance(ax, (int, np.integer)):
            raise TypeError(f"vmap {what} entries must be None or int, got {ax!r}")
        out.extend([ax] * len(tree_leaves(sub)))
    return out


def vmap(fun, in_axes=0, out_axes=0):
    """Vectorise `fun` over a new leading (or `in_axes`) axis of its arguments."""
    @functools.wraps(fun)
    def vmapped(*args, **kwargs):
        axes_spec = tuple(in_axes) if isinstance(in_axes, list) else in_axes
        if isinstance(axes_spec, tuple) and len(axes_spec) != len(args):
            raise ValueError(f"vmap in_axes has {len(axes_spec)} entries but the function was called with "
                             f"{len(args)} positional arguments")
        flat_args, in_tree = tree_flatten(args)
        if not isinstance(axes_spec, tuple):
            axes_spec = (axes_spec,) * len(args)
        in_dims = _broadcast_prefix(axes_spec, args, "in_axes")
        sizes = {}
        norm_dims = []
        for x, d in zip(flat_args, in_dims):
            if d is None:
                norm_dims.append(None)
                continue
            shape = get_aval(x).shape
            if not -len(shape) <= d < len(shape):
                raise ValueError(f"vmap: in_axes={d} is out of range for an argument of shape {shape}")
            d = d % len(shape)
            norm_dims.append(d)
            sizes.setdefault(shape[d], []).append(shape)
        if not sizes:
            raise ValueError("vmap needs at least one argument mapped over an axis (in_axes not all None)")
        if len(sizes) > 1:
            raise ValueError("vmap got inconsistent sizes for the mapped axes: "
                             + "; ".join(f"size {n} from argument shapes {v}" for n, v in sizes.items()))
        axis_size = next(iter(sizes))
        flat_fun, store = flatten_fun(lambda *a: fun(*a, **kwargs), in_tree)

        def out_dims():
            if isinstance(out_axes, (int, type(None))):
                return [out_axes] * store.val.num_leaves
            return _broadcast_prefix(out_axes, tree_unflatten(store.val, [0] * store.val.num_leaves), "out_axes")
        outs = vmap_flat(flat_fun, flat_args, norm_dims, axis_size, out_dims)
        return tree_unflatten(store.val, [_to_output(o) for o in outs])
    return vmapped


# ----------------------------------------------------------------------------------------------
# Jacobians


def _basis(aval):
    """The standard basis of a leaf's space, stacked: shape (size,) + aval.shape."""
    n = int(np.prod(aval.shape, dtype=np.int64))
    return np.eye(n, dtype=aval.dtype).reshape((n,) + aval.shape)


def _zeros(aval):
    return np.zeros(aval.shape, aval.dtype)


def jacfwd(fun, argnums=0, has_aux=False):
    """Jacobian by forward mode (vmap of jvp over each input leaf's basis): out.shape + in.shape."""
    def jac_fun(*args, **kwargs):
        from . import numpy as fnp
        nums = _argnums_tuple(argnums, len(args), "jacfwd")
        f, dyn = _partial_args(fun, args, kwargs, nums)
        p_flat, in_tree = tree_flatten(dyn)
        avals = [get_aval(p).update(weak_type=False) for p in p_flat]
        per_input, aux = [], None
        for i, a in enumerate(avals):
            def push(t, i=i):
                tangents = [t if j == i else _zeros(b) for j, b in enumerate(avals)]
                out = jvp(f, dyn, tree_unflatten(in_tree, tangents), has_aux=has_aux)
                return (out[1], out[2]) if has_aux else out[1]
            res = vmap(push, out_axes=-1)(_basis(a))
            if has_aux:
                res, aux = res
                aux = tree_map(lambda x: x[..., 0], aux)
            per_input.append(tree_map(lambda o, a=a: fnp.reshape(o, get_aval(o).shape[:-1] + a.shape), res))
        if not per_input:
            raise ValueError("jacfwd: no inputs to differentiate with respect to")
        out_tree = tree_structure(per_input[0])
        leaves = [tree_leaves(t) for t in per_input]
        jac = tree_unflatten(out_tree, [
            (lambda t: t[0] if isinstance(argnums, int) else t)(tree_unflatten(in_tree, [l[k] for l in leaves]))
            for k in range(out_tree.num_leaves)])
        return (jac, aux) if has_aux else jac
    return jac_fun


def jacrev(fun, argnums=0, has_aux=False):
    """Jacobian by reverse mode (vmap of vjp over each output leaf's basis): out.shape + in.shape."""
    def jac_fun(*args, **kwargs):
        from . import numpy as fnp
        nums = _argnums_tuple(argnums, len(args), "jacrev")
        f, dyn = _partial_args(fun, args, kwargs, nums)
        out, vjp_fn, aux = _vjp(f, dyn, has_aux)
        o_flat, out_tree = tree_flatten(out)
        avals = [get_aval(o).update(weak_type=False) for o in o_flat]
        rows = []
        for i, a in enumerate(avals):
            def pull(c, i=i):
                cts = [c if j == i else _zeros(b) for j, b in enumerate(avals)]
                return vjp_fn(tree_unflatten(out_tree, cts))
            cts = vmap(pull)(_basis(a))
            t = tree_map(lambda c, a=a: fnp.reshape(c, a.shape + get_aval(c).shape[1:]), cts)
            rows.append(t[0] if isinstance(argnums, int) else t)
        jac = tree_unflatten(out_tree, rows)
        return (jac, aux) if has_aux else jac
    return jac_fun


def hessian(fun, argnums=0):
    """Matrix of second derivatives: jacfwd(jacrev(fun))."""
    return jacfwd(jacrev(fun, argnums), argnums)


# ----------------------------------------------------------------------------------------------
# Staging


def make_jaxpr(fun, static_argnums=()):
    """make_jaxpr(f)(*args) -> ClosedJaxpr: the IR of f traced on the shapes/dtypes of args."""
    static = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)

    def make(*args, **kwargs):
        dyn_nums = tuple(i for i in range(len(args)) if i not in static)
        f, dyn = _partial_args(fun, args, kwargs, dyn_nums)
        flat, in_tree = tree_flatten(dyn)
        flat_fun, store = flatten_fun(f, in_tree)
        return trace_to_jaxpr(flat_fun, [_arg_aval(x) for x in flat])
    return make


def _arg_aval(x):
    if isinstance(x, ShapedArray):
        return x
    if hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, (np.ndarray, np.generic, Tracer)):
        return ShapedArray(x.shape, x.dtype)     # ShapeDtypeStruct-like
    return get_aval(x)
