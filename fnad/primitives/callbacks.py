"""Primitives that call Python from traced and compiled code: `debug_callback` (a side effect, kept in
program order, never dropped: `fnad.debug.print` / `fnad.debug.callback`) and `pure_callback` (a
value computed by a pure Python function, `fnad.pure_callback`).

Their `callback` param is a `FlatCallback`: the user's function with the pytree structure of its
arguments, taking and returning flat lists of arrays. Compiled code calls it through
`fnad_compiler.callbacks`, with copies of its operands as fnad.Arrays (the buffers they live in are
reused) and writing its results into the program's buffers. JAX's rules: a debug callback sees
primal values only (under jvp, tangents are not passed; under vmap it runs once per batch element,
in order); a pure callback has no derivative (use custom_jvp/custom_vjp around it) and is batched as
its `vmap_method` says."""

from __future__ import annotations

import numpy as np

from ..array import as_array
from ..core import Primitive, ShapedArray, get_aval
from ..tree_util import tree_flatten, tree_unflatten

VMAP_METHODS = ("sequential", "sequential_unrolled", "expand_dims", "broadcast_all", "legacy_vectorized")


class FlatCallback:
    """The `callback` param: `fn(*flat_arrays)`, returning the flat list of results (pure_callback)
    or None (debug_callback). Printed by name only, so IR text (which keys the compiled-code
    cache) does not depend on the process; which function runs is the param's, not the code's."""

    __slots__ = ("fn", "name")

    def __init__(self, fn, name):
        self.fn, self.name = fn, name

    def __call__(self, *flat):
        return self.fn(*flat)

    def __repr__(self):
        return f"callback({self.name})"


# ----------------------------------------------------------------------------------------------
# debug_callback


def _debug_impl(*args, callback):
    callback(*map(as_array, args))
    return []


def _debug_jvp(primals, tangents, callback):
    return debug_callback_p.bind(*primals, callback=callback), []


def _debug_batch(args, dims, callback):
    """Once per batch element, in order (as JAX unrolls it)."""
    from ..transforms.batching import move_bdim

    size = next(get_aval(a).shape[d] for a, d in zip(args, dims) if d is not None)
    args = [a if d is None else move_bdim(a, d, 0, size) for a, d in zip(args, dims)]
    for i in range(size):
        debug_callback_p.bind(*[a if d is None else a[i] for a, d in zip(args, dims)], callback=callback)
    return [], []


debug_callback_p = Primitive("debug_callback", multiple_results=True)
debug_callback_p.effectful = True
debug_callback_p.impl = _debug_impl
debug_callback_p.abstract_eval = lambda *avals, callback: []
debug_callback_p.jvp = _debug_jvp
debug_callback_p.batch = _debug_batch


# ----------------------------------------------------------------------------------------------
# pure_callback


def conform_results(results, result_avals, name):
    """The callback's flat `results` as arrays of exactly `result_avals`, or a ValueError/TypeError
    naming the callback and what differs."""
    if len(results) != len(result_avals):
        raise ValueError(
            f"pure_callback: {name} returned {len(results)} arrays, but result_shape_dtypes declares "
            f"{len(result_avals)}"
        )
    out = []
    for k, (r, aval) in enumerate(zip(results, result_avals)):
        r = np.asarray(r)
        if r.shape != aval.shape or r.dtype != aval.dtype:
            raise ValueError(
                f"pure_callback: result {k} of {name} has shape {r.shape} and dtype {r.dtype}, but "
                f"result_shape_dtypes declares {aval.str_short()} (shape {aval.shape}, dtype {aval.dtype}); "
                "return arrays of the declared shapes and dtypes (e.g. np.asarray(r, dtype))"
            )
        out.append(r)
    return out


def _pure_impl(*args, callback, result_avals, vmap_method):
    return conform_results(callback(*map(as_array, args)), result_avals, repr(callback))


def _pure_jvp(primals, tangents, **params):
    raise ValueError(
        "Pure callbacks do not support JVP (differentiation). Wrap the function calling "
        "fnad.pure_callback in fnad.custom_jvp or fnad.custom_vjp to give it a derivative."
    )


def _pure_transpose(cts, *args, **params):
    raise ValueError(
        "Pure callbacks do not support transpose. Wrap the function calling fnad.pure_callback in "
        "fnad.custom_vjp to give it a derivative."
    )


def _pure_batch(args, dims, callback, result_avals, vmap_method):
    from ..lax import map as lax_map
    from ..numpy import broadcast_to
    from ..transforms.batching import move_bdim

    size = next(get_aval(a).shape[d] for a, d in zip(args, dims) if d is not None)
    args = [a if d is None else move_bdim(a, d, 0, size) for a, d in zip(args, dims)]
    batched_avals = tuple(ShapedArray((size, *a.shape), a.dtype) for a in result_avals)
    if vmap_method in ("expand_dims", "broadcast_all", "legacy_vectorized"):
        if vmap_method != "legacy_vectorized":
            n = size if vmap_method == "broadcast_all" else 1
            args = [broadcast_to(a, (n, *get_aval(a).shape)) if d is None else a for a, d in zip(args, dims)]
        outs = pure_callback_p.bind(*args, callback=callback, result_avals=batched_avals, vmap_method=vmap_method)
    elif vmap_method in ("sequential", "sequential_unrolled"):
        mapped = [d is not None for d in dims]

        def one(xs):
            it = iter(xs)
            operands = [next(it) if m else a for a, m in zip(args, mapped)]
            return pure_callback_p.bind(
                *operands, callback=callback, result_avals=result_avals, vmap_method=vmap_method
            )

        outs = lax_map(one, [a for a, m in zip(args, mapped) if m])
    else:
        raise NotImplementedError(
            f"vmap of pure_callback({callback!r}) needs vmap_method, one of {', '.join(map(repr, VMAP_METHODS))} "
            f"(got {vmap_method!r}): it says how the callback is called on a batch, as in JAX"
        )
    return list(outs), [0] * len(outs)


pure_callback_p = Primitive("pure_callback", multiple_results=True)
pure_callback_p.impl = _pure_impl
pure_callback_p.abstract_eval = lambda *avals, callback, result_avals, vmap_method: list(result_avals)
pure_callback_p.jvp = _pure_jvp
pure_callback_p.transpose = _pure_transpose
pure_callback_p.batch = _pure_batch


# ----------------------------------------------------------------------------------------------
# The public functions (fnad.debug.print, fnad.debug.callback, fnad.pure_callback)


def _name(fn):
    return getattr(fn, "__name__", type(fn).__name__)


def _is_array_leaf(x):
    return isinstance(x, (np.ndarray, np.generic, int, float, complex, bool)) or hasattr(x, "aval")


def debug_callback(callback=None, *args, ordered=False, partitioned=False, **kwargs):
    """Call `callback(*args, **kwargs)` (Python, returning None) with the values of `args` as fnad.Arrays,
    eagerly and from traced and compiled code: each time a jitted function runs, in program order.
    As JAX's `jax.debug.callback`: under `vmap` it runs once per batch element; under `grad` it
    sees the primal values; non-array leaves are passed as they are. With `callback` omitted it
    returns a function taking it (the two-call form, `fnad.debug.callback(ordered=True)(f, x)`).
    `ordered` and `partitioned` are accepted for JAX's sake: fnad runs callbacks in program order
    on one device.

    >>> import fnad, fnad.numpy as fnp
    >>> seen = []
    >>> f = fnad.jit(lambda x: (fnad.debug.callback(seen.append, x * 2), x + 1)[1])
    >>> f(fnp.arange(3.0))
    Array([1., 2., 3.], dtype=float64)
    >>> seen
    [Array([0., 2., 4.], dtype=float64)]
    """
    if callback is None:
        return lambda callback, *args, **kwargs: debug_callback(callback, *args, **kwargs)
    leaves, in_tree = tree_flatten((args, kwargs))
    is_array = [_is_array_leaf(x) for x in leaves]
    static = [x for x, a in zip(leaves, is_array) if not a]

    def flat(*arrays):
        it_arrays, it_static = iter(arrays), iter(static)
        both = [next(it_arrays) if a else next(it_static) for a in is_array]
        args, kwargs = tree_unflatten(in_tree, both)
        callback(*args, **kwargs)

    operands = [x for x, a in zip(leaves, is_array) if a]
    debug_callback_p.bind(*operands, callback=FlatCallback(flat, _name(callback)))


def debug_print(fmt=None, *args, ordered=False, partitioned=False, **kwargs):
    """Print `fmt.format(*args, **kwargs)` with the values of traced arrays, eagerly and each time
    compiled code runs (JAX's `jax.debug.print`; an f-string would format tracers once, at trace
    time). Values are formatted as NumPy arrays; a `fmt` without placeholders is followed by the
    arguments, space-separated, as JAX does.

    >>> import fnad, fnad.numpy as fnp
    >>> f = fnad.jit(lambda x: (fnad.debug.print("x = {}, sum = {s}", x, s=x.sum()), x * 2)[1])
    >>> _ = f(fnp.arange(3.0))
    x = [0. 1. 2.], sum = 3.0
    """
    if fmt is None:
        return lambda fmt, *args, **kwargs: debug_print(fmt, *args, **kwargs)
    if not isinstance(fmt, str):
        raise TypeError(f"fnad.debug.print: the format must be a string, got {type(fmt).__name__}")
    import string

    has_placeholders = any(field is not None for _, field, _, _ in string.Formatter().parse(fmt))

    def show(*args, **kwargs):
        plain = lambda v: np.asarray(v) if isinstance(v, np.ndarray) else v
        args, kwargs = [plain(a) for a in args], {k: plain(v) for k, v in kwargs.items()}
        text = fmt.format(*args, **kwargs) if has_placeholders else " ".join([fmt, *map(str, args)])
        print(text, flush=True)

    debug_callback(show, *args, **kwargs)


def pure_callback(callback, result_shape_dtypes, *args, sharding=None, vmap_method=None, **kwargs):
    """`callback(*args, **kwargs)`, a pure Python function of arrays, as a value of traced and compiled
    code (JAX's `jax.pure_callback`): it is called with fnad.Arrays and must return arrays
    matching `result_shape_dtypes` (a pytree of objects with `.shape` and `.dtype`, e.g.
    `fnad.ShapeDtypeStruct`). Being pure, it may be called fewer or more times than written.
    It has no derivative (wrap it in `fnad.custom_jvp`/`custom_vjp`); under `vmap`, `vmap_method`
    says how it is called: "sequential" (once per element), "expand_dims" (once, unbatched
    arguments with a new leading axis of size 1), "broadcast_all" (tiled to the batch) or
    "legacy_vectorized".

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> f = fnad.jit(lambda x: fnad.pure_callback(np.sin, fnad.ShapeDtypeStruct(x.shape, x.dtype), x) * 2)
    >>> f(fnp.zeros(2))
    Array([0., 0.], dtype=float64)
    """
    if vmap_method is not None and vmap_method not in VMAP_METHODS:
        raise ValueError(f"pure_callback: vmap_method must be one of {VMAP_METHODS} or None, got {vmap_method!r}")
    leaves, in_tree = tree_flatten((args, kwargs))
    shapes, out_tree = tree_flatten(result_shape_dtypes)
    try:
        result_avals = tuple(ShapedArray(tuple(s.shape), np.dtype(s.dtype)) for s in shapes)
    except AttributeError:
        raise TypeError(
            "pure_callback: result_shape_dtypes must be a pytree of objects with .shape and .dtype "
            f"(e.g. fnad.ShapeDtypeStruct), got {result_shape_dtypes!r}"
        ) from None
    name = _name(callback)

    def flat(*arrays):
        args, kwargs = tree_unflatten(in_tree, list(arrays))
        leaves_out, tree = tree_flatten(callback(*args, **kwargs))
        if tree != out_tree:
            raise ValueError(
                f"pure_callback: {name} returned a value of structure {tree}, but result_shape_dtypes has {out_tree}"
            )
        return leaves_out

    outs = pure_callback_p.bind(
        *leaves, callback=FlatCallback(flat, name), result_avals=result_avals, vmap_method=vmap_method
    )
    return tree_unflatten(out_tree, outs)
