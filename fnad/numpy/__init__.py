"""fnad.numpy: the NumPy API over fnad's primitives. Eager calls (nothing traced) run NumPy itself;
traced calls promote dtypes like NumPy 2, broadcast, and bind primitives."""
from __future__ import annotations

import builtins

import numpy as np

from .. import core
from ..core import Tracer, get_aval
from ..primitives import elementwise as ew
from ..primitives import reductions as red
from ..primitives import shape as sh
from ..primitives.dot import dot_general
from ._core import (is_traced, result_type, elementwise, convert, broadcast_arrays, asarray_traced,
                    normalize_axis, normalize_axes)

float16, float32, float64 = np.float16, np.float32, np.float64
int8, int16, int32, int64 = np.int8, np.int16, np.int32, np.int64
uint8, uint32, uint64, bool_ = np.uint8, np.uint32, np.uint64, np.bool_
complex64, complex128 = np.complex64, np.complex128
pi, e, inf, nan, newaxis = np.pi, np.e, np.inf, np.nan, None
dtype, finfo, iinfo, ndarray = np.dtype, np.finfo, np.iinfo, np.ndarray

# ----------------------------------------------------------------------------------------------
# Elementwise

negative = elementwise(np.negative, ew.neg, "negative")
positive = elementwise(np.positive, lambda x: x, "positive")
sign = elementwise(np.sign, ew.sign, "sign")
floor = elementwise(np.floor, ew.floor, "floor")
ceil = elementwise(np.ceil, ew.ceil, "ceil")
rint = elementwise(np.rint, ew.round, "rint")
exp = elementwise(np.exp, ew.exp, "exp")
exp2 = elementwise(np.exp2, ew.exp2, "exp2")
log = elementwise(np.log, ew.log, "log")
log1p = elementwise(np.log1p, ew.log1p, "log1p")
expm1 = elementwise(np.expm1, ew.expm1, "expm1")
sqrt = elementwise(np.sqrt, ew.sqrt, "sqrt")
cbrt = elementwise(np.cbrt, ew.cbrt, "cbrt")
sin = elementwise(np.sin, ew.sin, "sin")
cos = elementwise(np.cos, ew.cos, "cos")
tan = elementwise(np.tan, ew.tan, "tan")
arcsin = elementwise(np.arcsin, ew.asin, "arcsin")
arccos = elementwise(np.arccos, ew.acos, "arccos")
arctan = elementwise(np.arctan, ew.atan, "arctan")
sinh = elementwise(np.sinh, ew.sinh, "sinh")
cosh = elementwise(np.cosh, ew.cosh, "cosh")
tanh = elementwise(np.tanh, ew.tanh, "tanh")
arcsinh = elementwise(np.arcsinh, ew.asinh, "arcsinh")
arccosh = elementwise(np.arccosh, ew.acosh, "arccosh")
arctanh = elementwise(np.arctanh, ew.atanh, "arctanh")
isfinite = elementwise(np.isfinite, ew.is_finite, "isfinite", out_bool=True)
isnan = elementwise(np.isnan, ew.is_nan, "isnan", out_bool=True)
add = elementwise(np.add, ew.add, "add")
subtract = elementwise(np.subtract, ew.sub, "subtract")
multiply = elementwise(np.multiply, ew.mul, "multiply")
true_divide = divide = elementwise(np.true_divide, ew.div, "divide")
arctan2 = elementwise(np.arctan2, ew.atan2, "arctan2")
maximum = elementwise(np.maximum, ew.max, "maximum")
minimum = elementwise(np.minimum, ew.min, "minimum")
equal = elementwise(np.equal, ew.eq, "equal", out_bool=True)
not_equal = elementwise(np.not_equal, ew.ne, "not_equal", out_bool=True)
less = elementwise(np.less, ew.lt, "less", out_bool=True)
less_equal = elementwise(np.less_equal, ew.le, "less_equal", out_bool=True)
greater = elementwise(np.greater, ew.gt, "greater", out_bool=True)
greater_equal = elementwise(np.greater_equal, ew.ge, "greater_equal", out_bool=True)
bitwise_and = elementwise(np.bitwise_and, ew.bitwise_and, "bitwise_and")
bitwise_or = elementwise(np.bitwise_or, ew.bitwise_or, "bitwise_or")
bitwise_xor = elementwise(np.bitwise_xor, ew.bitwise_xor, "bitwise_xor")
invert = bitwise_not = elementwise(np.invert, ew.bitwise_not, "invert")
left_shift = elementwise(np.left_shift, ew.shift_left, "left_shift")
right_shift = elementwise(np.right_shift, ew.shift_right_arithmetic, "right_shift")
_logical_and = elementwise(np.logical_and, ew.bitwise_and, "logical_and", kind="logical")
_logical_or = elementwise(np.logical_or, ew.bitwise_or, "logical_or", kind="logical")
_logical_xor = elementwise(np.logical_xor, ew.bitwise_xor, "logical_xor", kind="logical")
_logical_not = elementwise(np.logical_not, ew.bitwise_not, "logical_not", kind="logical")


def _as_bool(x):
    return x if not is_traced((x,)) or get_aval(asarray_traced(x)).dtype == np.bool_ else not_equal(x, 0)


def logical_and(x, y):
    return _logical_and(_as_bool(x), _as_bool(y))


def logical_or(x, y):
    return _logical_or(_as_bool(x), _as_bool(y))


def logical_xor(x, y):
    return _logical_xor(_as_bool(x), _as_bool(y))


def logical_not(x):
    return _logical_not(_as_bool(x))


def abs(x):
    if not is_traced((x,)):
        return np.abs(x)
    x = asarray_traced(x)
    return x if get_aval(x).dtype == np.bool_ or np.issubdtype(get_aval(x).dtype, np.unsignedinteger) else ew.abs(x)


absolute = abs
fabs = abs


def square(x):
    if not is_traced((x,)):
        return np.square(x)
    return ew.integer_pow(asarray_traced(x), 2)


def reciprocal(x):
    if not is_traced((x,)):
        return np.reciprocal(x)
    x = asarray_traced(x)
    return divide(np.ones((), get_aval(x).dtype), x)


def round(x, decimals=0):
    if not is_traced((x,)):
        return np.round(x, decimals)
    x = asarray_traced(x)
    if not np.issubdtype(get_aval(x).dtype, np.inexact):
        return x
    if decimals == 0:
        return ew.round(x)
    f = np.array(10.0 ** decimals, get_aval(x).dtype)
    return ew.div(ew.round(ew.mul(x, f)), f)


around = round


def power(x, y):
    if not is_traced((x, y)):
        return np.power(x, y)
    if type(y) is int or (isinstance(y, np.integer) and not isinstance(y, bool)):
        x = asarray_traced(x)
        dt = get_aval(x).dtype
        if np.issubdtype(dt, np.inexact) or y >= 0:
            return ew.integer_pow(x, int(y))
    return _power(x, y)


_power = elementwise(np.power, ew.pow, "power")


def floor_divide(x, y):
    if not is_traced((x, y)):
        return np.floor_divide(x, y)
    dt, weak = result_type(x, y)
    x, y = broadcast_arrays(convert(x, dt, weak), convert(y, dt, weak))
    if np.issubdtype(dt, np.integer):
        q = ew.div(x, y)
        fix = ew.bitwise_and(ew.ne(ew.rem(x, y), np.array(0, dt)),
                             ew.ne(ew.lt(x, np.array(0, dt)), ew.lt(y, np.array(0, dt))))
        return ew.select(fix, ew.sub(q, np.array(1, dt)), q)
    return ew.floor(ew.div(x, y))


def mod(x, y):
    if not is_traced((x, y)):
        return np.mod(x, y)
    dt, weak = result_type(x, y)
    x, y = broadcast_arrays(convert(x, dt, weak), convert(y, dt, weak))
    r = ew.rem(x, y)
    zero = np.array(0, dt)
    fix = ew.bitwise_and(ew.ne(r, zero), ew.ne(ew.lt(r, zero), ew.lt(y, zero)))
    return ew.select(fix, ew.add(r, y), r)


remainder = mod


def fmod(x, y):
    if not is_traced((x, y)):
        return np.fmod(x, y)
    dt, weak = result_type(x, y)
    return ew.rem(*broadcast_arrays(convert(x, dt, weak), convert(y, dt, weak)))


def hypot(x, y):
    if not is_traced((x, y)):
        return np.hypot(x, y)
    x, y = abs(x), abs(y)
    big, small = maximum(x, y), minimum(x, y)
    safe = where(big == 0, 1, big)
    r = small / safe
    return where(big == 0, 0, big * sqrt(1 + r * r))


def logaddexp(x, y):
    if not is_traced((x, y)):
        return np.logaddexp(x, y)
    amax = maximum(x, y)
    d = subtract(x, y)
    return where(isnan(d), add(x, y), amax + log1p(exp(-abs(d))))


def log2(x):
    if not is_traced((x,)):
        return np.log2(x)
    y = log(x)
    return y / np.array(np.log(2), get_aval(y).dtype)


def log10(x):
    if not is_traced((x,)):
        return np.log10(x)
    y = log(x)
    return y / np.array(np.log(10), get_aval(y).dtype)


def deg2rad(x):
    return multiply(x, np.pi / 180)


def rad2deg(x):
    return multiply(x, 180 / np.pi)


radians, degrees = deg2rad, rad2deg


def clip(a, a_min=None, a_max=None):
    if not is_traced((a, a_min, a_max)):
        return np.clip(a, a_min, a_max)
    if a_min is not None:
        a = maximum(a, a_min)
    if a_max is not None:
        a = minimum(a, a_max)
    return a


def where(condition, x=None, y=None):
    """Elementwise `x` where `condition` else `y` (broadcast together; x and y promoted as NumPy).
    The derivative flows to the selected operand only. The one-argument form `where(condition)`
    has a data-dependent shape, so it needs a concrete (not traced) condition.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> x = np.array([-1.0, 2.0, -3.0])
    >>> fnp.where(x > 0, x, 0.0)
    array([0., 2., 0.])
    >>> fnad.grad(lambda x: fnp.sum(fnp.where(x > 0, x, 0.0)))(x)
    array([0., 1., 0.])
    """
    if x is None and y is None:
        if is_traced((condition,)):
            raise TypeError("where(condition) with one argument has a data-dependent output shape and "
                            "needs a concrete value; use the three-argument where(condition, x, y)")
        return np.where(condition)
    if not is_traced((condition, x, y)):
        return np.where(condition, x, y)
    dt, weak = result_type(x, y)
    c = _as_bool(asarray_traced(condition))
    c, xx, yy = broadcast_arrays(c, convert(asarray_traced(x) if isinstance(x, (list, tuple)) else x, dt, weak),
                                 convert(asarray_traced(y) if isinstance(y, (list, tuple)) else y, dt, weak))
    return ew.select(c, xx, yy)


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    if not is_traced((x,)):
        return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)
    info = np.finfo(get_aval(x).dtype)
    x = where(isnan(x), nan, x)
    x = where(x == np.inf, info.max if posinf is None else posinf, x)
    return where(x == -np.inf, info.min if neginf is None else neginf, x)


def isinf(x):
    return logical_and(logical_not(isfinite(x)), logical_not(isnan(x)))


def signbit(x):
    if not is_traced((x,)):
        return np.signbit(x)
    return logical_or(less(x, 0), logical_and(equal(x, 0), less(reciprocal(x), 0)))


def copysign(x, y):
    if not is_traced((x, y)):
        return np.copysign(x, y)
    return where(signbit(y), -abs(x), abs(x))


# ----------------------------------------------------------------------------------------------
# Creation


def _in_transform(x):
    """Inside a transform, a created array is a value of the innermost one (so `.at[...]` and the
    other traced-array methods work on it, as on JAX arrays); otherwise the NumPy array itself."""
    stack = core._trace_stack
    return stack[-1].trace.pure(x) if stack else x


def array(object, dtype=None, copy=True, ndmin=0):
    if isinstance(object, Tracer) or (isinstance(object, (list, tuple)) and is_traced(object)):
        out = asarray_traced(object)
        if dtype is not None:
            out = convert(out, np.dtype(dtype))
        while get_aval(out).ndim < ndmin:
            out = sh.expand_dims(out, (0,))
        return out
    return _in_transform(np.array(object, dtype=dtype, copy=copy, ndmin=ndmin))


def asarray(a, dtype=None):
    if isinstance(a, Tracer) or (isinstance(a, (list, tuple)) and is_traced(a)):
        return array(a, dtype=dtype)
    return _in_transform(np.asarray(a, dtype=dtype))


def _full(shape, fill_value, dtype):
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if isinstance(fill_value, Tracer):
        dtype = get_aval(fill_value).dtype if dtype is None else np.dtype(dtype)
        return sh.broadcast_in_dim(convert(fill_value, dtype), shape, ())
    dtype = np.result_type(fill_value) if dtype is None and not isinstance(fill_value, float) else dtype
    dtype = np.dtype(np.float64 if dtype is None else dtype)
    if not is_traced(()):
        return _in_transform(np.full(shape, fill_value, dtype))
    return sh.full(shape, fill_value, dtype)


def zeros(shape, dtype=None):
    return _full(shape, 0, dtype or np.float64)


def ones(shape, dtype=None):
    return _full(shape, 1, dtype or np.float64)


def full(shape, fill_value, dtype=None):
    return _full(shape, fill_value, dtype)


def empty(shape, dtype=None):
    return zeros(shape, dtype)


def _like(a, dtype, shape):
    aval = get_aval(asarray_traced(a) if isinstance(a, (list, tuple)) else a)
    return (aval.shape if shape is None else shape), (aval.dtype if dtype is None else dtype)


def zeros_like(a, dtype=None, shape=None):
    return _full(*_like(a, dtype, shape)[:1], 0, _like(a, dtype, shape)[1])


def ones_like(a, dtype=None, shape=None):
    return _full(*_like(a, dtype, shape)[:1], 1, _like(a, dtype, shape)[1])


def full_like(a, fill_value, dtype=None, shape=None):
    s, d = _like(a, dtype, shape)
    return _full(s, fill_value, d)


empty_like = zeros_like


def arange(start, stop=None, step=None, dtype=None):
    for v in (start, stop, step):
        if isinstance(v, Tracer):
            raise TypeError("arange needs concrete (static) start/stop/step: its output shape depends on "
                            "them. Under jit, mark them static with static_argnums.")
    if not is_traced(()):
        return _in_transform(np.arange(start, stop, step, dtype=dtype))
    ref = np.arange(start, stop, step, dtype=dtype)   # computes length and dtype exactly as NumPy
    if ref.size == 0:
        return ref
    first = ref[0]
    st = (ref[1] - ref[0]) if ref.size > 1 else 1
    return ew.add(ew.mul(sh.iota(ref.dtype, ref.size), np.array(st, ref.dtype)), np.array(first, ref.dtype))


def linspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    if not is_traced((start, stop)):
        return _in_transform(np.linspace(start, stop, num, endpoint=endpoint, dtype=dtype, axis=axis))
    dt = np.dtype(dtype) if dtype is not None else result_type(start, stop, 1.0)[0]
    div = (num - 1) if endpoint else num
    t = sh.iota(dt, num)
    start, stop = asarray(start, dt), asarray(stop, dt)
    step = (stop - start) / builtins.max(div, 1)
    out = expand_dims(start, -1) + expand_dims(step, -1) * t if get_aval(start).ndim else start + step * t
    if endpoint and num > 1:
        out = concatenate([out[..., :-1], expand_dims(stop, -1) if get_aval(stop).ndim else reshape(stop, (1,))], -1)
    return moveaxis(out, -1, axis) if get_aval(out).ndim > 1 else out


def eye(N, M=None, k=0, dtype=None):
    if not is_traced(()):
        return _in_transform(np.eye(N, M, k, dtype=dtype or np.float64))
    M = N if M is None else M
    dt = np.dtype(dtype or np.float64)
    i = sh.iota(np.int64, (N, M), 0)
    j = sh.iota(np.int64, (N, M), 1)
    return convert(ew.eq(ew.add(i, np.array(k, np.int64)), j), dt)


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


# ----------------------------------------------------------------------------------------------
# Reductions


def _reduce(np_fn, prim_fn, name, int_to=None, bool_to=None):
    def fn(a, axis=None, dtype=None, keepdims=False, **kw):
        if not is_traced((a,)):
            kwargs = dict(axis=axis, keepdims=keepdims, **kw)
            if dtype is not None:
                kwargs["dtype"] = dtype
            return np_fn(a, **kwargs)
        a = asarray_traced(a)
        aval = get_aval(a)
        dt = aval.dtype
        if dtype is not None:
            dt = np.dtype(dtype)
        elif dt == np.bool_ and bool_to is not None:
            dt = np.dtype(bool_to)
        elif np.issubdtype(dt, np.integer) and int_to is not None and dt.itemsize < 8:
            dt = np.dtype(int_to if np.issubdtype(dt, np.signedinteger) else np.uint64)
        axes = normalize_axes(axis, aval.ndim)
        out = prim_fn(convert(a, dt, aval.weak_type) if dt != aval.dtype else a, axes)
        return _keepdims(out, aval.ndim, axes) if keepdims else out
    fn.__name__ = name
    fn.__doc__ = (f"fnad version of numpy.{name}(a, axis=None, dtype=None, keepdims=False): a reduction "
                  f"over `axis` (an int, a tuple, or None for all axes). Without traced arguments it "
                  f"calls numpy.{name} itself; on traced values it binds fnad primitives (grad, jvp, "
                  f"vjp, vmap, jit).")
    return fn


def _keepdims(out, ndim, axes):
    return sh.expand_dims(out, axes)


sum = _reduce(np.sum, red.reduce_sum, "sum", int_to=np.int64, bool_to=np.int64)
sum.__doc__ += """

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> fnp.sum(a, axis=0)
    array([4., 6.])
    >>> fnad.vmap(fnp.sum)(a)          # one sum per row
    array([3., 7.])
    """
prod = _reduce(np.prod, red.reduce_prod, "prod", int_to=np.int64, bool_to=np.int64)
_max = _reduce(np.max, red.reduce_max, "max")
_min = _reduce(np.min, red.reduce_min, "min")
all = _reduce(np.all, lambda a, axes: red.reduce_and(_as_bool(a), axes), "all")
any = _reduce(np.any, lambda a, axes: red.reduce_or(_as_bool(a), axes), "any")


def max(a, axis=None, keepdims=False, initial=None, where=None):
    if initial is not None or where is not None:
        if is_traced((a,)):
            raise NotImplementedError("max(initial=, where=) is not supported on traced values")
        return np.max(a, axis=axis, keepdims=keepdims, initial=initial, where=where)
    return _max(a, axis=axis, keepdims=keepdims)


def min(a, axis=None, keepdims=False, initial=None, where=None):
    if initial is not None or where is not None:
        if is_traced((a,)):
            raise NotImplementedError("min(initial=, where=) is not supported on traced values")
        return np.min(a, axis=axis, keepdims=keepdims, initial=initial, where=where)
    return _min(a, axis=axis, keepdims=keepdims)


amax, amin = max, min


def mean(a, axis=None, dtype=None, keepdims=False):
    """The mean over `axis` (all axes by default), as numpy.mean; integer input gives float64.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> fnp.mean(a, axis=1, keepdims=True)
    array([[1.5],
           [3.5]])
    >>> fnad.grad(fnp.mean)(a)
    array([[0.25, 0.25],
           [0.25, 0.25]])
    """
    if not is_traced((a,)):
        return np.mean(a, axis=axis, dtype=dtype, keepdims=keepdims)
    a = asarray_traced(a)
    aval = get_aval(a)
    axes = normalize_axes(axis, aval.ndim)
    n = int(np.prod([aval.shape[i] for i in axes], dtype=np.int64))
    dt = np.dtype(dtype) if dtype is not None else (aval.dtype if np.issubdtype(aval.dtype, np.inexact)
                                                     else np.dtype(np.float64))
    s = sum(convert(a, dt) if dt != aval.dtype else a, axis=axes, keepdims=keepdims)
    return ew.div(s, np.array(n, dt))


def var(a, axis=None, dtype=None, ddof=0, keepdims=False):
    if not is_traced((a,)):
        return np.var(a, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims)
    a = asarray_traced(a)
    aval = get_aval(a)
    axes = normalize_axes(axis, aval.ndim)
    n = int(np.prod([aval.shape[i] for i in axes], dtype=np.int64))
    centered = a - mean(a, axis=axes, dtype=dtype, keepdims=True)
    ss = sum(centered * centered, axis=axes, keepdims=keepdims)
    return ss / np.array(builtins.max(n - ddof, 0), get_aval(ss).dtype)


def std(a, axis=None, dtype=None, ddof=0, keepdims=False):
    if not is_traced((a,)):
        return np.std(a, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims)
    return sqrt(var(a, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims))


def _arg(np_fn, prim_fn):
    def fn(a, axis=None, keepdims=False):
        if not is_traced((a,)):
            return np_fn(a, axis=axis, keepdims=keepdims)
        a = asarray_traced(a)
        if axis is None:
            out = prim_fn(ravel(a), 0)
            return reshape(out, (1,) * get_aval(a).ndim) if keepdims else out
        ax = normalize_axis(axis, get_aval(a).ndim)
        out = prim_fn(a, ax)
        return sh.expand_dims(out, (ax,)) if keepdims else out
    fn.__name__ = np_fn.__name__
    return fn


argmax = _arg(np.argmax, red.argmax)
argmin = _arg(np.argmin, red.argmin)


# ----------------------------------------------------------------------------------------------
# Shapes


def shape(a):
    return get_aval(asarray_traced(a) if isinstance(a, (list, tuple)) else a).shape


def ndim(a):
    return len(shape(a))


def size(a, axis=None):
    s = shape(a)
    return int(np.prod(s, dtype=np.int64)) if axis is None else s[axis]


def reshape(a, newshape=None, order="C", shape=None):
    """`a` with a new shape of the same size (one entry may be -1), in C order only. Under jit the
    new shape must be static (Python ints), not computed from traced values.

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.reshape(np.arange(6.0), (2, -1))
    array([[0., 1., 2.],
           [3., 4., 5.]])
    """
    newshape = shape if newshape is None else newshape
    if order != "C":
        raise NotImplementedError("reshape: only order='C' is supported")
    if not is_traced((a,)):
        return np.reshape(a, newshape)
    a = asarray_traced(a)
    newshape = (newshape,) if isinstance(newshape, (int, np.integer)) else tuple(newshape)
    size_ = get_aval(a).size
    if -1 in newshape:
        known = int(np.prod([d for d in newshape if d != -1], dtype=np.int64))
        if newshape.count(-1) > 1 or known == 0 or size_ % known:
            raise ValueError(f"cannot reshape array of shape {get_aval(a).shape} into shape {newshape}")
        newshape = tuple(size_ // known if d == -1 else d for d in newshape)
    return sh.reshape(a, newshape)


def ravel(a):
    return reshape(a, (-1,))


def transpose(a, axes=None):
    if not is_traced((a,)):
        return np.transpose(a, axes)
    a = asarray_traced(a)
    nd = get_aval(a).ndim
    perm = tuple(reversed(range(nd))) if axes is None else tuple(normalize_axis(int(x), nd) for x in axes)
    return sh.transpose(a, perm)


def swapaxes(a, axis1, axis2):
    if not is_traced((a,)):
        return np.swapaxes(a, axis1, axis2)
    nd = ndim(a)
    perm = list(range(nd))
    i, j = normalize_axis(axis1, nd), normalize_axis(axis2, nd)
    perm[i], perm[j] = perm[j], perm[i]
    return sh.transpose(asarray_traced(a), tuple(perm))


def moveaxis(a, source, destination):
    if not is_traced((a,)):
        return np.moveaxis(a, source, destination)
    nd = ndim(a)
    src = [normalize_axis(s, nd) for s in (source if isinstance(source, (tuple, list)) else (source,))]
    dst = [normalize_axis(d, nd) for d in (destination if isinstance(destination, (tuple, list)) else (destination,))]
    order = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return sh.transpose(asarray_traced(a), tuple(order))


def expand_dims(a, axis):
    if not is_traced((a,)):
        return np.expand_dims(a, axis)
    a = asarray_traced(a)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out_nd = get_aval(a).ndim + len(axes)
    return sh.expand_dims(a, tuple(sorted(normalize_axis(x, out_nd) for x in axes)))


def squeeze(a, axis=None):
    if not is_traced((a,)):
        return np.squeeze(a, axis)
    a = asarray_traced(a)
    s = get_aval(a).shape
    axes = tuple(i for i, d in enumerate(s) if d == 1) if axis is None else normalize_axes(axis, len(s))
    return sh.squeeze(a, axes)


def broadcast_to(a, shape):
    if not is_traced((a,)):
        return np.broadcast_to(a, shape)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return sh.broadcast_to_rank_shape(asarray_traced(a), shape)


def broadcast_arrays_(*args):
    return broadcast_arrays(*[asarray_traced(a) for a in args])


def atleast_1d(*arys):
    res = [a if ndim(a) >= 1 else reshape(a, (1,)) for a in arys]
    return res[0] if len(res) == 1 else res


def atleast_2d(*arys):
    res = []
    for a in arys:
        n = ndim(a)
        res.append(a if n >= 2 else reshape(a, (1, 1) if n == 0 else (1, shape(a)[0])))
    return res[0] if len(res) == 1 else res


# ----------------------------------------------------------------------------------------------
# Linear algebra


def _matmul_traced(a, b):
    dt, weak = result_type(a, b)
    a, b = convert(asarray_traced(a), dt, weak), convert(asarray_traced(b), dt, weak)
    sa, sb = get_aval(a).shape, get_aval(b).shape
    if not sa or not sb:
        raise ValueError("matmul: input operand does not have enough dimensions (0-d arrays are not allowed; "
                         "use multiply or *)")
    va, vb = len(sa) == 1, len(sb) == 1
    if va:
        a, sa = sh.reshape(a, (1,) + sa), (1,) + sa
    if vb:
        b, sb = sh.reshape(b, sb + (1,)), sb + (1,)
    if sa[-1] != sb[-2]:
        raise ValueError(f"matmul: shapes {get_aval(a).shape if not va else sa[1:]} and "
                         f"{sb if not vb else sb[:-1]} are not aligned: contraction sizes {sa[-1]} != {sb[-2]}")
    batch = np.broadcast_shapes(sa[:-2], sb[:-2])
    nb = len(batch)
    if sa[:-2] != batch:
        a = sh.broadcast_to_rank_shape(a, batch + sa[-2:])
    if sb[:-2] != batch:
        b = sh.broadcast_to_rank_shape(b, batch + sb[-2:])
    bd = tuple(range(nb))
    out = dot_general(a, b, (((nb + 1,), (nb,)), (bd, bd)))
    if va:
        out = sh.squeeze(out, (nb,))
    if vb:
        out = sh.squeeze(out, (get_aval(out).ndim - 1,))
    return out


def matmul(a, b):
    """Matrix product with NumPy's `@` rules: 1-d operands are vectors, leading axes broadcast as
    batch axes. Traced calls bind one `dot_general`.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> fnp.matmul(a, np.array([1.0, 1.0]))
    array([3., 7.])
    >>> fnad.grad(lambda a: fnp.sum(a @ a))(a)
    array([[ 7., 11.],
           [ 9., 13.]])
    """
    if not is_traced((a, b)):
        try:
            return np.matmul(a, b)
        except ValueError as e:
            raise ValueError(f"matmul: shapes {np.shape(a)} and {np.shape(b)} are not aligned ({e})") from None
    return _matmul_traced(a, b)


def dot(a, b):
    if not is_traced((a, b)):
        return np.dot(a, b)
    if ndim(a) == 0 or ndim(b) == 0:
        return multiply(a, b)
    if ndim(b) <= 2:
        return _matmul_traced(a, b)
    # N-d dot: contract a's last axis with b's second-to-last
    return tensordot(a, b, axes=((ndim(a) - 1,), (ndim(b) - 2,)))


def vdot(a, b):
    return dot(ravel(a), ravel(b))


def inner(a, b):
    if ndim(a) == 0 or ndim(b) == 0:
        return multiply(a, b)
    return tensordot(a, b, axes=((ndim(a) - 1,), (ndim(b) - 1,)))


def outer(a, b):
    return multiply(reshape(ravel(a), (-1, 1)), ravel(b))


def tensordot(a, b, axes=2):
    if not is_traced((a, b)):
        return np.tensordot(a, b, axes)
    dt, weak = result_type(a, b)
    a, b = convert(asarray_traced(a), dt, weak), convert(asarray_traced(b), dt, weak)
    na, nb = ndim(a), ndim(b)
    if isinstance(axes, (int, np.integer)):
        ca, cb = tuple(range(na - axes, na)), tuple(range(axes))
    else:
        ca, cb = axes
        ca = tuple(normalize_axis(x, na) for x in (ca if isinstance(ca, (list, tuple)) else (ca,)))
        cb = tuple(normalize_axis(x, nb) for x in (cb if isinstance(cb, (list, tuple)) else (cb,)))
    return dot_general(a, b, ((ca, cb), ((), ())))


def trace(a, offset=0, axis1=0, axis2=1):
    if not is_traced((a,)):
        return np.trace(a, offset, axis1, axis2)
    return sum(diagonal(a, offset, axis1, axis2), axis=-1)


def diagonal(a, offset=0, axis1=0, axis2=1):
    if not is_traced((a,)):
        return np.diagonal(a, offset, axis1, axis2)
    a = moveaxis(asarray_traced(a), (axis1, axis2), (-2, -1))
    n, m = shape(a)[-2:]
    i = sh.iota(np.int64, (n, m), 0)
    j = sh.iota(np.int64, (n, m), 1)
    mask = convert(ew.eq(ew.add(i, np.array(offset, np.int64)), j), get_aval(a).dtype)
    masked = multiply(a, mask)
    # Sum the masked matrix along the axis that leaves one entry per diagonal position.
    if offset >= 0:
        d = builtins.max(0, builtins.min(n, m - offset))
        return sum(masked, axis=-2)[..., offset:offset + d]
    d = builtins.max(0, builtins.min(n + offset, m))
    return sum(masked, axis=-1)[..., -offset:-offset + d]


from ._more import *  # noqa: E402,F401,F403  (indexing, joining, sorting, einsum, ... : see _more.py)
from . import linalg  # noqa: E402,F401
from ._methods import install_tracer_methods  # noqa: E402

install_tracer_methods()
