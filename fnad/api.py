"""The public transforms: grad, value_and_grad, jvp, vjp, linearize, vmap, jacfwd, jacrev (alias
jacobian), hessian, make_jaxpr, eval_shape. Each flattens pytrees, runs a flat transform from
`fnad.transforms`, and unflattens. Also the small context managers of JAX's top level
(disable_jit, named_scope)."""

from __future__ import annotations

import contextlib
import functools

import numpy as np

from . import numpy as fnp
from .ad_util import Zero, instantiate
from .api_util import argnums_tuple, as_tuple, flatten_fun, partial_args, without_static
from .array import as_array
from .config import config
from .core import ShapedArray, Tracer, get_aval, is_float_dtype, is_masked_array, masked_array_error
from .primitives.elementwise import zeros_like
from .transforms.batching import vmap_flat
from .transforms.jvp import check_tangent, jvp_flat
from .transforms.reverse import backward_pass, eval_linear, linearize_flat
from .transforms.staging import trace_to_jaxpr
from .tree_util import tree_flatten, tree_leaves, tree_map, tree_structure, tree_unflatten


def _to_output(x):
    """Top-level results are fnad.Arrays; traced values stay as they are."""
    if isinstance(x, Tracer):
        return x
    if type(x) is Zero:
        x = instantiate(x)
    return as_array(x)


# ----------------------------------------------------------------------------------------------
# Forward mode


def jvp(fun, primals, tangents, has_aux=False):
    """Forward mode: evaluate `fun` at `primals` and its Jacobian-vector product with `tangents`.

    `primals` and `tangents` are tuples (or lists) with one entry per positional argument of `fun`,
    of matching pytree structure and shapes. Returns `(fun(*primals), J @ tangents)`; with
    `has_aux=True`, `fun` returns `(out, aux)` and the result is `(out, tangent_out, aux)`.
    The cost is about one evaluation of `fun`, whatever the output size.

    >>> import fnad, fnad.numpy as fnp
    >>> fnad.jvp(fnp.sin, (0.0,), (2.0,))
    (Array(0., dtype=float64), Array(2., dtype=float64))
    >>> fnad.jvp(lambda x, y: x * y, (3.0, 4.0), (1.0, 0.0))   # d(xy)/dx at (3, 4)
    (Array(12., dtype=float64), Array(4., dtype=float64))
    """
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
        return (
            tree_unflatten(out_tree, out_p[:n]),
            tree_unflatten(out_tree, out_t[:n]),
            tree_unflatten(aux_tree, out_p[n:]),
        )
    return tree_unflatten(store.val, out_p), tree_unflatten(store.val, out_t)


def linearize(fun, *primals):
    """Evaluate `fun` at `primals` once and return `(out, jvp_fn)`, where `jvp_fn(*tangents)` applies
    the Jacobian at `primals` to new tangents without re-running the primal computation (the
    tangent part is staged into a linear IR when `linearize` is called).

    >>> import fnad
    >>> y, f_jvp = fnad.linearize(lambda x: x ** 2, 3.0)
    >>> y, f_jvp(1.0), f_jvp(2.0)
    (Array(9., dtype=float64), Array(6., dtype=float64), Array(12., dtype=float64))
    """
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
        cts = [_to_output(zeros_like(p) if c is None else c) for c, p in zip(cts, p_flat)]
        return tree_unflatten(in_tree, cts)

    primal_out = tree_unflatten(out_tree, [_to_output(x) for x in out_main])
    return primal_out, vjp_fn, aux


def vjp(fun, *primals, has_aux=False):
    """Reverse mode: returns `(fun(*primals), vjp_fn)` (and `aux` third with `has_aux=True`).

    `vjp_fn(ct)` takes a cotangent with the structure and shapes of the output and returns a tuple
    with one cotangent per primal, `ct @ J`. It can be called any number of times.

    >>> import numpy as np, fnad
    >>> y, f_vjp = fnad.vjp(lambda x: x * np.array([1.0, 2.0, 3.0]), np.ones(3))
    >>> y
    Array([1., 2., 3.], dtype=float64)
    >>> f_vjp(np.array([1.0, 0.0, 1.0]))
    (Array([1., 0., 3.], dtype=float64),)
    """
    out, vjp_fn, aux = _vjp(fun, primals, has_aux)
    return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)


def linear_transpose(fun, *primals):
    """The transpose of `fun`, a function linear in its arguments, traced at the shapes and dtypes
    of `primals` (their values are not used): `fun_t(ct)` takes a cotangent shaped like `fun`'s
    output and returns a tuple shaped like `primals`, `ct @ J` for fun's (constant) Jacobian J.
    Unlike `vjp` it evaluates nothing of `fun` forward.

    >>> import fnad
    >>> fun_t = fnad.linear_transpose(lambda x, y: 2.0 * x + y, 1.0, 1.0)
    >>> fun_t(3.0)
    (Array(6., dtype=float64), Array(3., dtype=float64))
    """
    p_flat, in_tree = tree_flatten(primals)
    flat_fun, store = flatten_fun(fun, in_tree)
    closed = trace_to_jaxpr(flat_fun, [_arg_aval(x) for x in p_flat])
    out_tree, out_avals = store.val, closed.out_avals

    def transposed(out_cotangent):
        ct_flat, ct_tree = tree_flatten(out_cotangent)
        if ct_tree != out_tree:
            raise ValueError(
                f"linear_transpose: cotangent structure {ct_tree} does not match the output structure {out_tree}"
            )
        for c, want in zip(ct_flat, out_avals):
            have = get_aval(c)
            if (have.shape, have.dtype) != (want.shape, want.dtype):
                raise ValueError(
                    f"linear_transpose: cotangent of shape {have.shape} and dtype {have.dtype} does not match the "
                    f"output's {want.shape} {want.dtype}"
                )
        try:
            cts = backward_pass(closed.jaxpr, closed.consts, list(ct_flat))
        except NotImplementedError as e:
            raise TypeError(f"linear_transpose: fun is not linear in its arguments ({e})") from None
        cts = [_to_output(zeros_like(p) if c is None or type(c) is Zero else c) for c, p in zip(cts, p_flat)]
        return tree_unflatten(in_tree, cts)

    return transposed


def _check_holomorphic_input(name, holomorphic, x):
    """JAX's input rule: holomorphic=True needs complex inputs; jacfwd without it needs real floats."""
    dtype = get_aval(x).dtype
    if holomorphic and dtype.kind != "c":
        raise TypeError(f"{name} with holomorphic=True requires inputs with complex dtype, but got {dtype.name}.")
    if name == "jacfwd" and not holomorphic and dtype.kind != "f":
        raise TypeError(
            f"jacfwd requires real-valued inputs (input dtype that is a sub-dtype of np.floating), but got "
            f"{dtype.name}. For holomorphic differentiation, pass holomorphic=True. For differentiation of "
            "non-holomorphic functions involving complex inputs or integer inputs, use fnad.jvp directly."
        )


def _check_holomorphic_output(name, holomorphic, x):
    """JAX's output rule: holomorphic=True needs complex outputs; grad and jacrev without it real ones."""
    dtype = get_aval(x).dtype
    if holomorphic and dtype.kind != "c":
        raise TypeError(f"{name} with holomorphic=True requires outputs with complex dtype, but got {dtype.name}.")
    if not holomorphic and dtype.kind == "c" and name != "jacfwd":
        raise TypeError(
            f"{name} requires real-valued outputs (output dtype that is a sub-dtype of np.floating), but got "
            f"{dtype.name}. For holomorphic differentiation, pass holomorphic=True. For differentiation of "
            "non-holomorphic functions involving complex outputs, use fnad.vjp directly."
        )


def value_and_grad(fun, argnums=0, has_aux=False, holomorphic=False):
    """Like `grad`, but the returned function gives `(fun(*args), gradient)` from one forward
    and one backward pass; with `has_aux=True`, `((value, aux), gradient)`.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnad.value_and_grad(lambda x: fnp.sum(x ** 2))(np.array([1.0, 2.0]))
    (Array(5., dtype=float64), Array([2., 4.], dtype=float64))
    >>> loss = lambda w: (w ** 2, {"w": w})          # has_aux: (scalar, anything)
    >>> (value, aux), g = fnad.value_and_grad(loss, has_aux=True)(3.0)
    >>> value, g
    (Array(9., dtype=float64), Array(6., dtype=float64))
    """

    @functools.wraps(fun)
    def value_and_grad_fun(*args, **kwargs):
        nums = argnums_tuple(argnums, len(args), "grad")
        f, dyn = partial_args(fun, args, kwargs, nums)
        for i, a in zip(nums, dyn):
            for leaf in tree_leaves(a):
                if is_masked_array(leaf):
                    raise masked_array_error(leaf, f"grad: argument {i}")
                _check_holomorphic_input("grad", holomorphic, leaf)
                if not is_float_dtype(get_aval(leaf).dtype):
                    raise TypeError(
                        f"grad requires real-valued (floating-point) inputs, but argument {i} has dtype "
                        f"{get_aval(leaf).dtype.name}. Pass a float (e.g. 3.0, or x.astype(float)), or "
                        "exclude the argument from argnums."
                    )
        out, vjp_fn, aux = _vjp(f, dyn, has_aux)
        leaves = tree_leaves(out)
        if len(leaves) != 1 or get_aval(leaves[0]).shape != ():
            shapes = [get_aval(x).shape for x in leaves]
            raise TypeError(
                f"grad requires a scalar output (shape ()), but the function returned shape(s) "
                f"{shapes[0] if len(shapes) == 1 else shapes}. Use jacrev/jacfwd/vjp for "
                "non-scalar outputs, or reduce the output (e.g. .sum())."
            )
        oaval = get_aval(leaves[0])
        _check_holomorphic_output("grad", holomorphic, leaves[0])
        if not is_float_dtype(oaval.dtype):
            raise TypeError(
                f"grad requires a real-valued (floating-point) output, but the function "
                f"returned dtype {oaval.dtype.name}."
            )
        g = vjp_fn(tree_unflatten(tree_structure(out), [np.ones((), oaval.dtype)]))
        g = g[0] if isinstance(argnums, int) else g
        return ((out, aux), g) if has_aux else (out, g)

    return value_and_grad_fun


def grad(fun, argnums=0, has_aux=False, holomorphic=False):
    """The gradient of a scalar-valued `fun` with respect to positional argument(s) `argnums`.

    Returns a function with `fun`'s signature. The gradient has the structure of the argument (a
    pytree: arrays, tuples, lists, dicts); a tuple `argnums` gives a tuple of gradients. With
    `has_aux=True`, `fun` returns `(scalar, aux)` and the result is `(gradient, aux)`.
    The output must be a real scalar (shape ()) and the differentiated inputs floating point or complex
    (pass `3.0`, not `3`); otherwise a TypeError says so. Results are NumPy arrays.
    Complex inputs follow JAX's convention: for a real-valued f of z = x + iy the result is
    df/dx - i df/dy, the conjugate of the steepest-ascent direction (so `grad(lambda z: abs(z)**2)(z)`
    is 2 conj(z)). With `holomorphic=True` the inputs and the output must be complex and the result is
    the complex derivative f'(z).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnad.grad(lambda x: x ** 3)(2.0)
    Array(12., dtype=float64)
    >>> fnad.grad(lambda x, y: x * y, argnums=(0, 1))(2.0, 5.0)
    (Array(5., dtype=float64), Array(2., dtype=float64))
    >>> fnad.grad(lambda p: fnp.sum(p["w"] * p["b"]))({"w": np.array([1.0, 2.0]), "b": np.array([3.0, 4.0])})
    {'b': Array([1., 2.], dtype=float64), 'w': Array([3., 4.], dtype=float64)}
    >>> fnad.grad(fnad.grad(fnp.sin))(0.0)           # derivatives compose
    Array(-0., dtype=float64)
    >>> fnad.grad(lambda z: fnp.abs(z) ** 2)(3.0 + 4j)
    Array(6.-8.j, dtype=complex128)
    >>> fnad.grad(lambda z: z**2, holomorphic=True)(3.0 + 4j)
    Array(6.+8.j, dtype=complex128)
    """
    vg = value_and_grad(fun, argnums, has_aux, holomorphic)

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
        raise ValueError(
            f"vmap {what} specification {prefix!r} does not match the structure of the "
            f"arguments/outputs {tree_structure(tree)}: {e}"
        ) from None
    out = []
    for ax, sub in zip(tree_leaves(prefix, is_leaf=is_none), subtrees):
        if ax is not None and not isinstance(ax, (int, np.integer)):
            raise TypeError(f"vmap {what} entries must be None or int, got {ax!r}")
        out.extend([ax] * len(tree_leaves(sub)))
    return out


def vmap(fun, in_axes=0, out_axes=0, axis_name=None, axis_size=None):
    """Vectorise `fun` over an axis of its arguments: `vmap(f)(xs)` equals `stack([f(x) for x in xs])`,
    computed with batched primitives instead of a Python loop.

    `in_axes` is an int (the mapped axis of every argument), None (not mapped), or a tuple/pytree
    prefix of the arguments with an int or None per entry; `out_axes` says where the mapped axis
    goes in the outputs. All mapped axes must have the same size; `axis_size` gives it when no
    argument is mapped (every in_axes None), and must agree with the mapped axes otherwise.
    `axis_name` names the mapped axis for the collectives of `fnad.lax` (`psum`, `all_gather`,
    `axis_index`, ...), which then compute across the mapped lanes.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> xs = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> fnad.vmap(fnp.dot)(xs, np.array([[1.0, 0.0], [0.0, 1.0]]))   # row-wise dot products
    Array([1., 4.], dtype=float64)
    >>> fnad.vmap(lambda a, b: a * b, in_axes=(0, None))(np.array([1.0, 2.0, 3.0]), 10.0)
    Array([10., 20., 30.], dtype=float64)
    >>> fnad.vmap(fnp.sum, in_axes=1)(xs)            # map over columns
    Array([4., 6.], dtype=float64)
    >>> fnad.vmap(lambda x: x + 1.0, in_axes=None, axis_size=3)(1.0)
    Array([2., 2., 2.], dtype=float64)
    >>> fnad.vmap(lambda x: x / fnad.lax.psum(x, "i"), axis_name="i")(np.array([1.0, 3.0]))
    Array([0.25, 0.75], dtype=float64)
    """

    @functools.wraps(fun)
    def vmapped(*args, **kwargs):
        axes_spec = tuple(in_axes) if isinstance(in_axes, list) else in_axes
        if isinstance(axes_spec, tuple) and len(axes_spec) != len(args):
            raise ValueError(
                f"vmap in_axes has {len(axes_spec)} entries but the function was called with "
                f"{len(args)} positional arguments"
            )
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
        if axis_size is not None:
            sizes.setdefault(int(axis_size), []).append(f"axis_size={axis_size}")
        if not sizes:
            raise ValueError(
                "vmap needs at least one argument mapped over an axis (in_axes not all None), or axis_size"
            )
        if len(sizes) > 1:
            raise ValueError(
                "vmap got inconsistent sizes for the mapped axes: "
                + "; ".join(f"size {n} from {v}" for n, v in sizes.items())
            )
        size = next(iter(sizes))
        flat_fun, store = flatten_fun(lambda *a: fun(*a, **kwargs), in_tree)

        def out_dims():
            if isinstance(out_axes, (int, type(None))):
                return [out_axes] * store.val.num_leaves
            return _broadcast_prefix(out_axes, tree_unflatten(store.val, [0] * store.val.num_leaves), "out_axes")

        outs = vmap_flat(flat_fun, flat_args, norm_dims, size, out_dims, axis_name)
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


def jacfwd(fun, argnums=0, has_aux=False, holomorphic=False):
    """The Jacobian of `fun` with respect to `argnums` by forward mode (a vmap of jvp over the input
    basis): entry `[i..., j...]` is d out[i...] / d in[j...], shape `out.shape + in.shape`.
    Efficient when inputs are smaller than outputs; `jacrev` computes the same matrix.
    Inputs must be real floats; with `holomorphic=True` inputs and outputs must be complex and the
    entries are complex derivatives (as JAX).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> f = lambda x: fnp.stack([x[0] * x[1], fnp.sin(x[0])])
    >>> fnad.jacfwd(f)(np.array([0.0, 2.0]))
    Array([[2., 0.],
           [1., 0.]], dtype=float64)
    """

    def jac_fun(*args, **kwargs):
        nums = argnums_tuple(argnums, len(args), "jacfwd")
        f, dyn = partial_args(fun, args, kwargs, nums)
        p_flat, in_tree = tree_flatten(dyn)
        for p in p_flat:
            _check_holomorphic_input("jacfwd", holomorphic, p)
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
        for leaf in tree_leaves(per_input[0]):
            _check_holomorphic_output("jacfwd", holomorphic, leaf)
        out_tree = tree_structure(per_input[0])
        leaves = [tree_leaves(t) for t in per_input]
        jac = tree_unflatten(
            out_tree,
            [
                (lambda t: t[0] if isinstance(argnums, int) else t)(tree_unflatten(in_tree, [l[k] for l in leaves]))
                for k in range(out_tree.num_leaves)
            ],
        )
        return (jac, aux) if has_aux else jac

    return jac_fun


def jacrev(fun, argnums=0, has_aux=False, holomorphic=False):
    """The Jacobian of `fun` with respect to `argnums` by reverse mode (a vmap of vjp over the output
    basis), shape `out.shape + in.shape`. Efficient when outputs are smaller than inputs.
    Outputs must be real (complex inputs then get JAX's conjugate convention, as in `grad`); with
    `holomorphic=True` inputs and outputs must be complex and the entries are complex derivatives.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> f = lambda x: fnp.stack([x[0] * x[1], fnp.sin(x[0])])
    >>> fnad.jacrev(f)(np.array([0.0, 2.0]))
    Array([[2., 0.],
           [1., 0.]], dtype=float64)
    """

    def jac_fun(*args, **kwargs):
        nums = argnums_tuple(argnums, len(args), "jacrev")
        f, dyn = partial_args(fun, args, kwargs, nums)
        for p in tree_leaves(dyn):
            _check_holomorphic_input("jacrev", holomorphic, p)
        out, vjp_fn, aux = _vjp(f, dyn, has_aux)
        o_flat, out_tree = tree_flatten(out)
        for o in o_flat:
            _check_holomorphic_output("jacrev", holomorphic, o)
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


def hessian(fun, argnums=0, has_aux=False, holomorphic=False):
    """The matrix of second derivatives of a scalar `fun`, computed as `jacfwd(jacrev(fun))`
    (forward over reverse); shape `in.shape + in.shape`.

    >>> import numpy as np, fnad
    >>> fnad.hessian(lambda x: x[0] ** 2 * x[1])(np.array([1.0, 2.0]))
    Array([[4., 2.],
           [2., 0.]], dtype=float64)
    """
    return jacfwd(jacrev(fun, argnums, has_aux, holomorphic), argnums, has_aux, holomorphic)


jacobian = jacrev  # JAX's name for the reverse-mode Jacobian


# ----------------------------------------------------------------------------------------------
# Staging


def make_jaxpr(fun, static_argnums=()):
    """`make_jaxpr(f)(*args)` traces `f` on the shapes and dtypes of `args` (arrays, scalars or
    `ShapedArray`s) and returns the IR as a ClosedJaxpr; `print` it to read it. Arguments in
    `static_argnums` are passed to `f` as Python values and do not appear in the IR.

    >>> import fnad, fnad.numpy as fnp
    >>> print(fnad.make_jaxpr(lambda x: fnp.sin(x) * 2.0)(1.0))
    { lambda ; a:f64[]. let
        b:f64[] = sin a
        c:f64[] = mul b 2.0:f64[]
      in (c,) }
    """
    static = as_tuple(static_argnums)

    def make(*args, **kwargs):
        f, dyn = without_static(fun, args, kwargs, static)
        flat, in_tree = tree_flatten(dyn)
        flat_fun, _store = flatten_fun(f, in_tree)
        return trace_to_jaxpr(flat_fun, [_arg_aval(x) for x in flat])

    return make


def _arg_aval(x):
    if isinstance(x, ShapedArray):
        return x
    if hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, (np.ndarray, np.generic, Tracer)):
        return ShapedArray(x.shape, x.dtype)  # ShapeDtypeStruct-like
    return get_aval(x)


class ShapeDtypeStruct:
    """The shape and dtype of an array, without data: what `eval_shape` returns, and an argument
    `eval_shape`, `make_jaxpr` and `jit(...).lower` accept in place of an array.

    >>> import numpy as np, fnad
    >>> fnad.ShapeDtypeStruct((2, 3), np.float32)
    ShapeDtypeStruct(shape=(2, 3), dtype=float32)
    """

    __slots__ = ("dtype", "shape", "weak_type")

    def __init__(self, shape, dtype, *, weak_type=False):
        self.shape = tuple(int(d) for d in shape)
        self.dtype = np.dtype(dtype)
        self.weak_type = bool(weak_type)

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: int(np.prod(self.shape, dtype=np.int64)))

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __eq__(self, other):
        if not isinstance(other, ShapeDtypeStruct):
            return NotImplemented
        return (self.shape, self.dtype, self.weak_type) == (other.shape, other.dtype, other.weak_type)

    def __hash__(self):
        return hash((self.shape, self.dtype, self.weak_type))

    def __repr__(self):
        weak = ", weak_type=True" if self.weak_type else ""
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype.name}{weak})"


def eval_shape(fun, *args, **kwargs):
    """The shapes and dtypes of `fun(*args, **kwargs)` (a pytree of `ShapeDtypeStruct`), found by
    tracing `fun` without running it. Arguments may be arrays, scalars or `ShapeDtypeStruct`s.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnad.eval_shape(lambda x, w: fnp.tanh(x @ w), fnad.ShapeDtypeStruct((8, 3), np.float32), np.ones((3, 5), np.float32))
    ShapeDtypeStruct(shape=(8, 5), dtype=float32)
    """
    flat, in_tree = tree_flatten((args, kwargs))
    flat_fun, store = flatten_fun(lambda a, k: fun(*a, **k), in_tree)
    closed = trace_to_jaxpr(flat_fun, [_arg_aval(x) for x in flat])
    outs = [ShapeDtypeStruct(a.shape, a.dtype, weak_type=a.weak_type) for a in closed.out_avals]
    return tree_unflatten(store.val, outs)


@contextlib.contextmanager
def disable_jit(disable=True):
    """Context manager: inside it, jitted functions run as plain Python on concrete values (to print
    them or step through with a debugger). Sets the global `fnad.config.disable_jit` (so it applies
    to every thread) and restores it on exit.

    >>> import fnad
    >>> f = fnad.jit(lambda x: print(type(x).__name__) or x + 1.0)
    >>> with fnad.disable_jit():
    ...     f(2.0)
    float
    3.0
    """
    previous = config.disable_jit
    config.update("disable_jit", bool(disable))
    try:
        yield
    finally:
        config.update("disable_jit", previous)


def default_backend():
    """The platform fnad computes on: always "cpu" (`jax.default_backend()`)."""
    return "cpu"


def named_call(fun, *, name=None):
    """`fun` itself (`jax.named_call` names the call in the IR; fnad's IR carries no names). The name,
    if given, must be a string."""
    if name is not None and not isinstance(name, str):
        raise TypeError(f"named_call: the name must be a string, got {type(name).__name__}")
    return fun


@contextlib.contextmanager
def named_scope(name):
    """Context manager naming a region of a traced program (`jax.named_scope`). fnad's IR carries no
    scope names, so this only checks the name; it changes nothing in the computation.

    >>> import fnad, fnad.numpy as fnp
    >>> with fnad.named_scope("layer1"):
    ...     y = fnp.sin(0.0)
    """
    if not isinstance(name, str):
        raise TypeError(f"named_scope: the name must be a string, got {type(name).__name__}")
    yield
