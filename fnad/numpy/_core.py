"""The NumPy-compatible layer's machinery: dtype promotion (NEP 50, Python scalars weak), NumPy
broadcasting onto the primitives' equal-shape rule, and the eager fast path (plain NumPy when
nothing is traced)."""

from __future__ import annotations

import functools
import sys

import numpy as np

from .. import core
from ..array import Array, as_numpy, as_result
from ..core import ConcretizationError, ShapedArray, ShapeError, Tracer, get_aval
from ..primitives import elementwise as ew
from ..primitives import indexing as ix
from ..primitives import shape as sh
from ..primitives.shape import broadcast_to_rank_shape
from ._examples import EXAMPLES

_WEAK_PLACEHOLDER = {"b": False, "i": 0, "u": 0, "f": 0.0, "c": 0j}
_PY_SCALARS = (int, float, bool, complex)


def is_traced(args, name=None):
    """True when the call must go through the primitives (a tracer, or a staging trace active).
    Refuses NumPy masked arrays (TypeError naming the function `name` and the argument): the NumPy
    call of the eager path would keep the mask, but no traced path could."""
    if core.is_staging():
        return True
    for i, a in enumerate(args):
        if isinstance(a, Tracer):
            return True
        t = type(a)
        if t in (list, tuple):
            if is_traced(a, name):
                return True
        elif t is not np.ndarray and t is not Array and core.is_masked_array(a):
            name = name or sys._getframe(1).f_code.co_name
            raise core.masked_array_error(a, f"fnad.numpy.{name}: argument {i}")
    return False


def numpy_when_eager(numpy_call):
    """Decorator: the one place where a fnad.numpy function chooses its path. When no argument is
    traced and no staging trace is active (an eager call) it returns `numpy_call(*args, **kwargs)`,
    NumPy's own result (NumPy's function itself, or an adapter with the decorated signature) as
    `fnad.Array`s, given plain views of Array arguments; otherwise it runs the decorated body, which
    binds primitives (jit runs that path). tests/test_numpy_parity.py checks that the two agree for
    every public function."""

    def decorate(traced):
        @functools.wraps(traced)
        def fn(*args, **kwargs):
            if is_traced(args, fn.__name__) or (kwargs and is_traced(tuple(kwargs.values()), fn.__name__)):
                return traced(*args, **kwargs)
            if Array in map(type, args):  # plain views: adapters index with NumPy's rules (not JAX's clamping)
                args = map(as_numpy, args)
            if kwargs and Array in map(type, kwargs.values()):
                kwargs = {k: as_numpy(v) for k, v in kwargs.items()}
            return as_result(numpy_call(*args, **kwargs))

        fn.numpy_call = numpy_call  # the eager call, which Array's operators make directly
        return fn

    return decorate


def aval_of(x):
    if isinstance(x, (list, tuple)):
        return get_aval(asarray_traced(x))
    return get_aval(x)


def _placeholder(aval):
    return _WEAK_PLACEHOLDER[aval.dtype.kind] if aval.weak_type else aval.dtype


def result_type(*args):
    """NumPy 2 promotion of the arguments' dtypes, Python scalars (and weak values) being weak.
    Returns (dtype, weak)."""
    avals = [aval_of(a) for a in args]
    dtype = np.result_type(*[_placeholder(a) for a in avals])
    return dtype, all(a.weak_type for a in avals)


@functools.lru_cache(maxsize=4096)
def _ufunc_out_dtype(np_fn, key):
    vals = [(_WEAK_PLACEHOLDER[k] if w else np.ones((), dtype=k)) for k, w in key]
    with np.errstate(all="ignore"):
        return np.asarray(np_fn(*vals)).dtype


def ufunc_out_dtype(np_fn, avals):
    key = tuple((a.dtype.kind, True) if a.weak_type else (a.dtype, False) for a in avals)
    return _ufunc_out_dtype(np_fn, key)


_PY_TYPE_OF_KIND = {"b": bool, "i": int, "f": float, "c": complex}


def convert(x, dtype, weak=False):
    if type(x) in _PY_SCALARS:
        if weak:  # stay a Python scalar, so that the staged literal keeps its weak type
            x = _PY_TYPE_OF_KIND[np.dtype(dtype).kind](x)
            if get_aval(x).dtype == dtype:
                return x
        return np.array(x, dtype=dtype)
    return ew.convert_element_type(x, dtype, weak)


def broadcast_arrays(*args, op="broadcast_arrays"):
    """Broadcast to a common shape; rank-0 operands are left for the primitives' scalar broadcast."""
    shapes = [get_aval(a).shape for a in args]
    try:
        shape = np.broadcast_shapes(*shapes)
    except ValueError:
        raise ShapeError(
            f"{op}: operands with shapes "
            + ", ".join(map(str, shapes))
            + " cannot be broadcast together (NumPy broadcasting aligns trailing axes; "
            "sizes must be equal or 1)"
        ) from None
    return [a if s == shape or s == () else broadcast_to_rank_shape(a, shape) for a, s in zip(args, shapes)]


def asarray_traced(x, dtype=None):
    """x (array-like possibly holding tracers) as a tracer or NumPy array."""
    if isinstance(x, Tracer):
        return x if dtype is None else convert(x, dtype)
    if isinstance(x, (list, tuple)) and any(isinstance(e, (Tracer, list, tuple)) for e in x) and _has_tracer(x):
        return stack_traced([asarray_traced(e, dtype) for e in x])
    if type(x) is not np.ndarray and core.is_masked_array(x):
        raise core.masked_array_error(x, "fnad.numpy: an argument")
    return np.asarray(x, dtype=dtype)


def _has_tracer(x):
    return any(isinstance(e, Tracer) or (isinstance(e, (list, tuple)) and _has_tracer(e)) for e in x)


def _prepare(args):
    return [asarray_traced(a) if isinstance(a, (list, tuple)) else a for a in args]


def elementwise(np_fn, prim_fn, name, kind=None, out_bool=False):
    """A fnad.numpy function over `prim_fn`: eager -> NumPy itself; traced -> promote as NumPy would
    (dtype from NumPy's own type resolution), broadcast, bind. kind='inexact' requires float inputs
    for the primitive (ints are converted to the dtype NumPy would return)."""

    def eager(*args):
        try:
            return np_fn(*args)
        except ValueError as e:
            raise ValueError(f"{name}: {e}") from None

    def fn(*args):
        args = _prepare(args)
        avals = [get_aval(a) for a in args]
        weak = all(a.weak_type for a in avals)
        out_dtype = ufunc_out_dtype(np_fn, avals)
        if out_bool or out_dtype == np.bool_ and kind != "logical":
            in_dtype = np.result_type(*[_placeholder(a) for a in avals])
            weak_in = weak
        else:
            in_dtype, weak_in = out_dtype, weak
        args = [
            convert(a, in_dtype, weak_in) if get_aval(a).dtype != in_dtype or type(a) in _PY_SCALARS else a
            for a in args
        ]
        return prim_fn(*broadcast_arrays(*args, op=name))

    fn.__name__ = name
    fn = numpy_when_eager(eager)(fn)
    fn.__qualname__ = name
    np_name = np_fn.__name__ if hasattr(np_fn, "__name__") else name
    fn.__doc__ = (
        f"fnad version of numpy.{np_name}: the same elementwise result, NumPy broadcasting and "
        f"NumPy 2 dtype promotion (Python scalars are weak), array arguments only (no out=, "
        f"where=, dtype=). Without traced arguments it calls numpy.{np_name} itself and returns "
        f"NumPy values; on traced values it binds fnad primitives, so it works under grad, jvp, "
        f"vjp, vmap and jit" + (" (the boolean result has a zero derivative)." if out_bool else ".")
    )
    if name in EXAMPLES:
        fn.__doc__ += "\n\n" + EXAMPLES[name]
    return fn


def normalize_axis(axis, ndim, name="axis"):
    if not -ndim <= axis < max(ndim, 1):
        raise ValueError(f"{name} {axis} is out of bounds for an array of dimension {ndim}")
    return axis % ndim if ndim else 0


def normalize_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = tuple(sorted(normalize_axis(int(a), ndim) for a in axes))
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {axis}")
    return out


def promoted(arrays, dtype=None):
    """The arrays converted to `dtype`, or to their NumPy result dtype (Python scalars weak)."""
    arrays = [asarray_traced(a) for a in arrays]
    if dtype is not None:
        dt, weak = np.dtype(dtype), False
    else:
        dt, weak = result_type(*arrays)
    return [a if get_aval(a).dtype == dt else convert(a, dt, weak) for a in arrays]


def stack_traced(arrays, axis=0, dtype=None):
    """numpy.stack on traced values (here rather than with `stack`, because asarray_traced stacks
    nested lists of tracers with it)."""
    arrays = promoted(arrays, dtype)
    shapes = {shape_of(a) for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"stack: all input arrays must have the same shape, got {sorted(shapes)}")
    nd = get_aval(arrays[0]).ndim + 1
    axis = normalize_axis(axis, nd)
    return ix.concatenate([sh.expand_dims(a, (axis,)) for a in arrays], axis)


def inexact(a, dtype=None):
    """`a` as an array of an inexact dtype: `dtype` if given, else its own if inexact, float64 for integers and
    bools (as NumPy's statistics and JAX's promote_dtypes_inexact)."""
    a = asarray_traced(a)
    dt = get_aval(a).dtype if dtype is None else np.dtype(dtype)
    if not np.issubdtype(dt, np.inexact):
        dt = np.dtype(np.float64)
    return a if get_aval(a).dtype == dt else convert(a, dt)


def promoted_inexact(*arrays):
    """The arrays converted to their common dtype, made inexact as by `inexact`."""
    arrays = [asarray_traced(a) for a in arrays]
    dt = np.result_type(*[get_aval(a).dtype for a in arrays])
    return [inexact(a, dt) for a in arrays]


def shape_of(x):
    return get_aval(x).shape


def traced_array(a, dtype=None):
    a = asarray_traced(a)
    return a if dtype is None or get_aval(a).dtype == dtype else convert(a, np.dtype(dtype))


def concrete(x, what, hint=None):
    """The concrete value of x, or a clear error for outputs whose shape depends on values; `hint` says
    how to get a fixed shape instead (by default: fnad.numpy.where)."""
    if not isinstance(x, Tracer):
        return np.asarray(x)
    value = x.concrete_value()
    if value is None:
        hint = hint or "Use fnad.numpy.where(condition, x, y) to select values with a fixed shape instead."
        raise ConcretizationError(
            f"{what} has a data-dependent output shape, so it needs a concrete value, but got an abstract "
            f"traced array {x.aval.str_short()} (traced by {x._trace.main.name}{x.source_info()}). {hint}"
        )
    return np.asarray(value)


__all__ = [
    "ShapedArray",
    "asarray_traced",
    "broadcast_arrays",
    "concrete",
    "convert",
    "elementwise",
    "inexact",
    "is_traced",
    "normalize_axes",
    "normalize_axis",
    "promoted",
    "promoted_inexact",
    "result_type",
    "shape_of",
    "stack_traced",
    "traced_array",
]
