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
from ._core import (is_traced as _is_traced, result_type as _result_type, convert as _convert, broadcast_arrays as _broadcast_arrays, asarray_traced as _asarray_traced, normalize_axis as _normalize_axis, normalize_axes as _normalize_axes, elementwise as _elementwise)

float16, float32, float64 = np.float16, np.float32, np.float64
int8, int16, int32, int64 = np.int8, np.int16, np.int32, np.int64
uint8, uint32, uint64, bool_ = np.uint8, np.uint32, np.uint64, np.bool_
complex64, complex128 = np.complex64, np.complex128
pi, e, inf, nan, newaxis = np.pi, np.e, np.inf, np.nan, None
dtype, finfo, iinfo, ndarray = np.dtype, np.finfo, np.iinfo, np.ndarray

# ----------------------------------------------------------------------------------------------
# Elementwise

negative = _elementwise(np.negative, ew.neg, "negative")
positive = _elementwise(np.positive, lambda x: x, "positive")
sign = _elementwise(np.sign, ew.sign, "sign")
floor = _elementwise(np.floor, ew.floor, "floor")
ceil = _elementwise(np.ceil, ew.ceil, "ceil")
rint = _elementwise(np.rint, ew.round, "rint")
exp = _elementwise(np.exp, ew.exp, "exp")
exp2 = _elementwise(np.exp2, ew.exp2, "exp2")
log = _elementwise(np.log, ew.log, "log")
log1p = _elementwise(np.log1p, ew.log1p, "log1p")
expm1 = _elementwise(np.expm1, ew.expm1, "expm1")
sqrt = _elementwise(np.sqrt, ew.sqrt, "sqrt")
cbrt = _elementwise(np.cbrt, ew.cbrt, "cbrt")
sin = _elementwise(np.sin, ew.sin, "sin")
cos = _elementwise(np.cos, ew.cos, "cos")
tan = _elementwise(np.tan, ew.tan, "tan")
arcsin = _elementwise(np.arcsin, ew.asin, "arcsin")
arccos = _elementwise(np.arccos, ew.acos, "arccos")
arctan = _elementwise(np.arctan, ew.atan, "arctan")
sinh = _elementwise(np.sinh, ew.sinh, "sinh")
cosh = _elementwise(np.cosh, ew.cosh, "cosh")
tanh = _elementwise(np.tanh, ew.tanh, "tanh")
arcsinh = _elementwise(np.arcsinh, ew.asinh, "arcsinh")
arccosh = _elementwise(np.arccosh, ew.acosh, "arccosh")
arctanh = _elementwise(np.arctanh, ew.atanh, "arctanh")
isfinite = _elementwise(np.isfinite, ew.is_finite, "isfinite", out_bool=True)
isnan = _elementwise(np.isnan, ew.is_nan, "isnan", out_bool=True)
add = _elementwise(np.add, ew.add, "add")
subtract = _elementwise(np.subtract, ew.sub, "subtract")
multiply = _elementwise(np.multiply, ew.mul, "multiply")
true_divide = divide = _elementwise(np.true_divide, ew.div, "divide")
arctan2 = _elementwise(np.arctan2, ew.atan2, "arctan2")
maximum = _elementwise(np.maximum, ew.max, "maximum")
minimum = _elementwise(np.minimum, ew.min, "minimum")
equal = _elementwise(np.equal, ew.eq, "equal", out_bool=True)
not_equal = _elementwise(np.not_equal, ew.ne, "not_equal", out_bool=True)
less = _elementwise(np.less, ew.lt, "less", out_bool=True)
less_equal = _elementwise(np.less_equal, ew.le, "less_equal", out_bool=True)
greater = _elementwise(np.greater, ew.gt, "greater", out_bool=True)
greater_equal = _elementwise(np.greater_equal, ew.ge, "greater_equal", out_bool=True)
bitwise_and = _elementwise(np.bitwise_and, ew.bitwise_and, "bitwise_and")
bitwise_or = _elementwise(np.bitwise_or, ew.bitwise_or, "bitwise_or")
bitwise_xor = _elementwise(np.bitwise_xor, ew.bitwise_xor, "bitwise_xor")
invert = bitwise_not = _elementwise(np.invert, ew.bitwise_not, "invert")
left_shift = _elementwise(np.left_shift, ew.shift_left, "left_shift")
right_shift = _elementwise(np.right_shift, ew.shift_right_arithmetic, "right_shift")
_logical_and = _elementwise(np.logical_and, ew.bitwise_and, "logical_and", kind="logical")
_logical_or = _elementwise(np.logical_or, ew.bitwise_or, "logical_or", kind="logical")
_logical_xor = _elementwise(np.logical_xor, ew.bitwise_xor, "logical_xor", kind="logical")
_logical_not = _elementwise(np.logical_not, ew.bitwise_not, "logical_not", kind="logical")


def _as_bool(x):
    return x if not _is_traced((x,)) or get_aval(_asarray_traced(x)).dtype == np.bool_ else not_equal(x, 0)


def logical_and(x, y):
    """Elementwise truth of `x and y` (nonzero is true), as numpy.logical_and; a boolean result.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.logical_and(np.array([1.0, 0.0, 2.0]), np.array([True, True, False]))
    array([ True, False, False])
    """
    return _logical_and(_as_bool(x), _as_bool(y))


def logical_or(x, y):
    """Elementwise truth of `x or y` (nonzero is true), as numpy.logical_or.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.logical_or(np.array([1, 0, 0]), np.array([0, 0, 3]))
    array([ True, False,  True])
    """
    return _logical_or(_as_bool(x), _as_bool(y))


def logical_xor(x, y):
    """Elementwise truth of `x xor y` (nonzero is true), as numpy.logical_xor.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.logical_xor(np.array([1, 0, 1]), np.array([1, 1, 0]))
    array([False,  True,  True])
    """
    return _logical_xor(_as_bool(x), _as_bool(y))


def logical_not(x):
    """Elementwise `not x` (nonzero is true), as numpy.logical_not.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnad.vmap(fnp.logical_not)(np.array([0.0, 2.0]))
    array([ True, False])
    """
    return _logical_not(_as_bool(x))


def abs(x):
    """Elementwise absolute value (also `absolute`, `fabs`); bool and unsigned input is returned as is. The
    derivative at 0 is taken as 1.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.abs(np.array([-2.0, 0.0, 3.0]))
    array([2., 0., 3.])
    >>> fnad.grad(lambda x: fnp.sum(fnp.abs(x)))(np.array([-2.0, 0.0, 3.0]))
    array([-1.,  1.,  1.])
    """
    if not _is_traced((x,)):
        return np.abs(x)
    x = _asarray_traced(x)
    return x if get_aval(x).dtype == np.bool_ or np.issubdtype(get_aval(x).dtype, np.unsignedinteger) else ew.abs(x)


absolute = abs
fabs = abs


def square(x):
    """Elementwise x * x (staged as integer_pow(x, 2)).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.square(np.array([1.0, -3.0]))
    array([1., 9.])
    >>> fnad.grad(fnp.square)(3.0)
    array(6.)
    """
    if not _is_traced((x,)):
        return np.square(x)
    return ew.integer_pow(_asarray_traced(x), 2)


def reciprocal(x):
    """Elementwise 1 / x, in x's dtype.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.reciprocal(np.array([2.0, 4.0]))
    array([0.5 , 0.25])
    >>> fnad.grad(fnp.reciprocal)(2.0)
    array(-0.25)
    """
    if not _is_traced((x,)):
        return np.reciprocal(x)
    x = _asarray_traced(x)
    return divide(np.ones((), get_aval(x).dtype), x)


def round(x, decimals=0):
    """Round to `decimals` decimals, halves to even as numpy.round (also `around`); integer input is returned
    as is. Its derivative is zero.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.round(np.array([0.5, 1.5, 2.675]), 2)
    array([0.5 , 1.5 , 2.68])
    >>> fnad.vmap(fnp.round)(np.array([0.5, 1.5, -2.5]))
    array([ 0.,  2., -2.])
    """
    if not _is_traced((x,)):
        return np.round(x, decimals)
    x = _asarray_traced(x)
    if not np.issubdtype(get_aval(x).dtype, np.inexact):
        return x
    if decimals == 0:
        return ew.round(x)
    f = np.array(10.0 ** decimals, get_aval(x).dtype)
    return ew.div(ew.round(ew.mul(x, f)), f)


around = round


def power(x, y):
    """Elementwise x ** y with NumPy promotion; an integer Python exponent is staged as integer_pow (exact,
    defined for negative x).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.power(np.array([1.0, 2.0, 3.0]), 2)
    array([1., 4., 9.])
    >>> fnad.grad(lambda x: fnp.power(x, 3))(-2.0)
    array(12.)
    >>> fnad.grad(fnp.power, argnums=1)(2.0, 3.0)
    array(5.54517744)
    """
    if not _is_traced((x, y)):
        return np.power(x, y)
    if type(y) is int or (isinstance(y, np.integer) and not isinstance(y, bool)):
        x = _asarray_traced(x)
        dt = get_aval(x).dtype
        if np.issubdtype(dt, np.inexact) or y >= 0:
            return ew.integer_pow(x, int(y))
    return _power(x, y)


_power = _elementwise(np.power, ew.pow, "power")


def _promoted_pair(x, y):
    """x and y converted to their NumPy result dtype and broadcast together; returns (x, y, dtype)."""
    dt, weak = _result_type(x, y)
    x, y = _broadcast_arrays(_convert(x, dt, weak), _convert(y, dt, weak))
    return x, y, dt


def floor_divide(x, y):
    """Elementwise floor(x / y) (Python's `//`: rounds toward minus infinity, also for integers).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.floor_divide(np.array([7, -7]), 2)
    array([ 3, -4])
    >>> fnad.vmap(lambda x: fnp.floor_divide(x, 2.0))(np.array([7.0, -7.0]))
    array([ 3., -4.])
    """
    if not _is_traced((x, y)):
        return np.floor_divide(x, y)
    x, y, dt = _promoted_pair(x, y)
    if np.issubdtype(dt, np.integer):
        q = ew.div(x, y)
        fix = ew.bitwise_and(ew.ne(ew.rem(x, y), np.array(0, dt)),
                             ew.ne(ew.lt(x, np.array(0, dt)), ew.lt(y, np.array(0, dt))))
        return ew.select(fix, ew.sub(q, np.array(1, dt)), q)
    # NumPy's float floor division (npy_divmod): (x - fmod(x, y)) / y, one less where the remainder
    # and y differ in sign, snapped to the nearest integer.  floor(x / y) differs: 1 // 0.1 is 9, not
    # 10 (x / y rounds up); -inf // 0.5 and inf // 2 are NaN (fmod is NaN), not +-inf; -1 // inf is -1.
    c = lambda v: np.array(v, dt)
    r = ew.rem(x, y)
    q = ew.div(ew.sub(x, r), y)
    q = ew.select(ew.bitwise_and(ew.ne(r, c(0)), ew.ne(ew.lt(r, c(0)), ew.lt(y, c(0)))), ew.sub(q, c(1)), q)
    f = ew.floor(q)
    f = ew.select(ew.gt(ew.sub(q, f), c(0.5)), ew.add(f, c(1)), f)
    f = ew.select(ew.eq(q, c(0)), ew.mul(ew.div(x, y), c(0)), f)        # 0 with the sign of x / y
    return ew.select(ew.eq(y, c(0)), ew.div(x, y), f)                    # x / 0: +-inf or NaN


def mod(x, y):
    """Elementwise remainder with the sign of the divisor, as Python's `%` and numpy.mod (also `remainder`).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.mod(np.array([7, -7]), 3)
    array([1, 2])
    >>> fnad.grad(lambda x: fnp.mod(x, 3.0))(7.5)
    array(1.)
    """
    if not _is_traced((x, y)):
        return np.mod(x, y)
    x, y, dt = _promoted_pair(x, y)
    r = ew.rem(x, y)
    zero = np.array(0, dt)
    fix = ew.bitwise_and(ew.ne(r, zero), ew.ne(ew.lt(r, zero), ew.lt(y, zero)))
    r = ew.select(fix, ew.add(r, y), r)
    if np.issubdtype(dt, np.inexact):   # a zero remainder takes the sign of y, as in NumPy
        r = ew.select(ew.eq(r, zero), ew.select(ew.lt(y, zero), np.array(-0.0, dt), zero), r)
    return r


remainder = mod


def fmod(x, y):
    """Elementwise remainder with the sign of the dividend (C fmod), as numpy.fmod.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.fmod(np.array([7, -7]), 3)
    array([ 1, -1])
    >>> fnad.vmap(lambda x: fnp.fmod(x, 3.0))(np.array([7.5, -7.5]))
    array([ 1.5, -1.5])
    """
    if not _is_traced((x, y)):
        return np.fmod(x, y)
    return ew.rem(*_promoted_pair(x, y)[:2])


def hypot(x, y):
    """Elementwise sqrt(x**2 + y**2) without overflow for large x, y (scaled by the larger).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.hypot(np.array([3.0, 1e200]), np.array([4.0, 1e200]))
    array([5.00000000e+000, 1.41421356e+200])
    >>> fnad.grad(fnp.hypot)(3.0, 4.0)
    array(0.6)
    """
    if not _is_traced((x, y)):
        return np.hypot(x, y)
    x, y = abs(x), abs(y)
    big, small = maximum(x, y), minimum(x, y)
    safe = where(big == 0, 1, big)
    r = small / safe
    return where(big == 0, 0, big * sqrt(1 + r * r))


def logaddexp(x, y):
    """Elementwise log(exp(x) + exp(y)) computed stably (no overflow for large inputs).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.logaddexp(np.array([0.0, 1000.0]), np.array([0.0, 1000.0]))
    array([6.93147181e-01, 1.00069315e+03])
    >>> fnad.grad(fnp.logaddexp)(1.0, 1.0)
    array(0.)
    """
    if not _is_traced((x, y)):
        return np.logaddexp(x, y)
    amax = maximum(x, y)
    d = subtract(x, y)
    return where(isnan(d), add(x, y), amax + log1p(exp(-abs(d))))


def log2(x):
    """Elementwise base-2 logarithm.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.log2(np.array([1.0, 8.0]))
    array([0., 3.])
    >>> fnad.grad(fnp.log2)(1.0) * np.log(2)
    np.float64(1.0)
    """
    if not _is_traced((x,)):
        return np.log2(x)
    y = log(x)
    return y / np.array(np.log(2), get_aval(y).dtype)


def log10(x):
    """Elementwise base-10 logarithm.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.log10(np.array([1.0, 1000.0]))
    array([0., 3.])
    """
    if not _is_traced((x,)):
        return np.log10(x)
    y = log(x)
    return y / np.array(np.log(10), get_aval(y).dtype)


def deg2rad(x):
    """Degrees to radians (also `radians`).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.deg2rad(np.array([0.0, 180.0])) / np.pi
    array([0., 1.])
    """
    return multiply(x, np.pi / 180)


def rad2deg(x):
    """Radians to degrees (also `degrees`).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.rad2deg(np.pi / 2)
    np.float64(90.0)
    """
    return multiply(x, 180 / np.pi)


radians, degrees = deg2rad, rad2deg


def clip(a, a_min=None, a_max=None):
    """Elementwise min(max(a, a_min), a_max); either bound may be None. The derivative is 1 inside the bounds,
    0 outside and 1/2 exactly at a bound.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.clip(np.array([-2.0, 0.5, 3.0]), 0.0, 1.0)
    array([0. , 0.5, 1. ])
    >>> fnad.grad(lambda x: fnp.sum(fnp.clip(x, 0.0, 1.0)))(np.array([-2.0, 0.5, 3.0]))
    array([0., 1., 0.])
    """
    if not _is_traced((a, a_min, a_max)):
        return np.clip(a, a_min, a_max)
    dt = get_aval(_asarray_traced(a)).dtype
    if dt.kind in "iu":    # as NumPy: Python-int bounds outside an integer dtype's range are clipped to it
        a_min, a_max = _int_bound(a_min, dt), _int_bound(a_max, dt)
    if a_min is not None:
        a = maximum(a, a_min)
    if a_max is not None:
        a = minimum(a, a_max)
    return a


def _int_bound(bound, dtype):
    """A Python-int (or weakly typed traced int) clip bound brought inside `dtype`'s range (as far
    as int64 reaches), so that it converts to `dtype` without overflow; other bounds as they are."""
    if bound is None or not (type(bound) is int or isinstance(bound, Tracer) and get_aval(bound).weak_type
                             and get_aval(bound).dtype.kind == "i"):
        return bound
    info, i64 = np.iinfo(dtype), np.iinfo(np.int64)
    if type(bound) is int:
        return builtins.min(builtins.max(bound, int(info.min)), int(info.max))
    return minimum(maximum(bound, int(info.min)), builtins.min(int(info.max), int(i64.max)))


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
        if _is_traced((condition,)):
            raise TypeError("where(condition) with one argument has a data-dependent output shape and "
                            "needs a concrete value; use the three-argument where(condition, x, y)")
        return np.where(condition)
    if not _is_traced((condition, x, y)):
        return np.where(condition, x, y)
    dt, weak = _result_type(x, y)
    c = _as_bool(_asarray_traced(condition))
    c, xx, yy = _broadcast_arrays(c, _convert(_asarray_traced(x) if isinstance(x, (list, tuple)) else x, dt, weak),
                                 _convert(_asarray_traced(y) if isinstance(y, (list, tuple)) else y, dt, weak))
    return ew.select(c, xx, yy)


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """NaN replaced by `nan`, +/-inf by `posinf`/`neginf` (by default the dtype's largest finite values).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.nan_to_num(np.array([np.nan, np.inf, -np.inf, 1.0]), posinf=9.0, neginf=-9.0)
    array([ 0.,  9., -9.,  1.])
    """
    if not _is_traced((x,)):
        return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)
    info = np.finfo(get_aval(x).dtype)
    x = where(isnan(x), nan, x)
    x = where(x == np.inf, info.max if posinf is None else posinf, x)
    return where(x == -np.inf, info.min if neginf is None else neginf, x)


def isinf(x):
    """Elementwise test for +inf or -inf (a boolean result with a zero derivative).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.isinf(np.array([1.0, np.inf, -np.inf, np.nan]))
    array([False,  True,  True, False])
    """
    return logical_and(logical_not(isfinite(x)), logical_not(isnan(x)))


def signbit(x):
    """Elementwise test for a set sign bit (true for -0.0 and negative values).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.signbit(np.array([-1.0, -0.0, 0.0, 2.0]))
    array([ True,  True, False, False])
    """
    if not _is_traced((x,)):
        return np.signbit(x)
    return logical_or(less(x, 0), logical_and(equal(x, 0), less(reciprocal(x), 0)))


def copysign(x, y):
    """Elementwise |x| with the sign of y (including the sign of -0.0).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.copysign(np.array([1.0, 2.0]), np.array([-0.0, 3.0]))
    array([-1.,  2.])
    >>> fnad.grad(fnp.copysign)(2.0, -1.0)
    array(-1.)
    """
    if not _is_traced((x, y)):
        return np.copysign(x, y)
    return where(signbit(y), -abs(x), abs(x))


# ----------------------------------------------------------------------------------------------
# Creation


def _in_transform(x):
    """Inside a transform, a created array is a value of the innermost one (so `.at[...]` and the
    other traced-array methods work on it, as on JAX arrays); otherwise the NumPy array itself."""
    stack = core.trace_state.stack
    return stack[-1].trace.pure(x) if stack else x


def array(object, dtype=None, copy=True, ndmin=0):
    """An array from `object` (nested lists may hold traced values, which are stacked); NumPy's own array
    otherwise.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.array([1, 2], dtype=np.float32)
    array([1., 2.], dtype=float32)
    >>> fnad.grad(lambda x: fnp.sum(fnp.array([x, 2 * x]) ** 2))(1.0)
    array(10.)
    """
    if isinstance(object, Tracer) or (isinstance(object, (list, tuple)) and _is_traced(object)) \
            or _is_traced((object,), "array"):
        out = _asarray_traced(object)
        if dtype is not None:
            out = _convert(out, np.dtype(dtype))
        while get_aval(out).ndim < ndmin:
            out = sh.expand_dims(out, (0,))
        return out
    return _in_transform(np.array(object, dtype=dtype, copy=copy, ndmin=ndmin))


def asarray(a, dtype=None):
    """`a` as an array without copying when it already is one; lists of traced values are stacked.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.asarray([[1.0, 2.0]]).shape
    (1, 2)
    >>> fnad.vmap(lambda x: fnp.asarray([x, -x]))(np.array([1.0, 2.0]))
    array([[ 1., -1.],
           [ 2., -2.]])
    """
    if isinstance(a, Tracer) or (isinstance(a, (list, tuple)) and _is_traced(a)) or _is_traced((a,), "asarray"):
        return array(a, dtype=dtype)
    return _in_transform(np.asarray(a, dtype=dtype))


def _full(shape, fill_value, dtype):
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if isinstance(fill_value, Tracer):
        dtype = get_aval(fill_value).dtype if dtype is None else np.dtype(dtype)
        return sh.broadcast_in_dim(_convert(fill_value, dtype), shape, ())
    dtype = np.result_type(fill_value) if dtype is None and not isinstance(fill_value, float) else dtype
    dtype = np.dtype(np.float64 if dtype is None else dtype)
    if not _is_traced(()):
        return _in_transform(np.full(shape, fill_value, dtype))
    return sh.full(shape, fill_value, dtype)


def zeros(shape, dtype=None):
    """An array of zeros (float64 by default).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.zeros((2, 3)).shape
    (2, 3)
    >>> fnp.zeros(2, dtype=np.int32)
    array([0, 0], dtype=int32)
    """
    return _full(shape, 0, dtype or np.float64)


def ones(shape, dtype=None):
    """An array of ones (float64 by default).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.ones(3)
    array([1., 1., 1.])
    """
    return _full(shape, 1, dtype or np.float64)


def full(shape, fill_value, dtype=None):
    """An array of `shape` filled with `fill_value` (which may be traced); the dtype is the value's unless
    given.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.full((2, 2), 7)
    array([[7, 7],
           [7, 7]])
    >>> fnad.grad(lambda x: fnp.sum(fnp.full(3, x)))(1.0)
    array(3.)
    """
    return _full(shape, fill_value, dtype)


def empty(shape, dtype=None):
    """Like zeros (fnad arrays are never uninitialised).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.empty(2)
    array([0., 0.])
    """
    return zeros(shape, dtype)


def _like(a, dtype, shape):
    aval = get_aval(_asarray_traced(a) if isinstance(a, (list, tuple)) else a)
    return (aval.shape if shape is None else shape), (aval.dtype if dtype is None else dtype)


def zeros_like(a, dtype=None, shape=None):
    """Zeros with the shape and dtype of `a` (also `empty_like`); `dtype`/`shape` override them.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.zeros_like(np.array([1, 2]))
    array([0, 0])
    >>> fnp.zeros_like(np.array([1, 2]), dtype=np.float64, shape=(1, 2))
    array([[0., 0.]])
    """
    return _full(*_like(a, dtype, shape)[:1], 0, _like(a, dtype, shape)[1])


def ones_like(a, dtype=None, shape=None):
    """Ones with the shape and dtype of `a`.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.ones_like(np.array([[1.0, 2.0]]))
    array([[1., 1.]])
    """
    return _full(*_like(a, dtype, shape)[:1], 1, _like(a, dtype, shape)[1])


def full_like(a, fill_value, dtype=None, shape=None):
    """`fill_value` with the shape and dtype of `a`.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.full_like(np.array([1.0, 2.0]), 0.5)
    array([0.5, 0.5])
    """
    s, d = _like(a, dtype, shape)
    return _full(s, fill_value, d)


empty_like = zeros_like


def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in [start, stop) as numpy.arange. start/stop/step must be concrete (its shape
    depends on them): under jit pass them as static arguments.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.arange(4)
    array([0, 1, 2, 3])
    >>> fnp.arange(0.0, 1.0, 0.25)
    array([0.  , 0.25, 0.5 , 0.75])
    """
    for v in (start, stop, step):
        if isinstance(v, Tracer):
            raise TypeError("arange needs concrete (static) start/stop/step: its output shape depends on "
                            "them. Under jit, mark them static with static_argnums.")
    if not _is_traced(()):
        return _in_transform(np.arange(start, stop, step, dtype=dtype))
    ref = np.arange(start, stop, step, dtype=dtype)   # computes length and dtype exactly as NumPy
    if ref.size == 0:
        return ref
    first = ref[0]
    st = (ref[1] - ref[0]) if ref.size > 1 else 1
    return ew.add(ew.mul(sh.iota(ref.dtype, ref.size), np.array(st, ref.dtype)), np.array(first, ref.dtype))


def linspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """`num` evenly spaced values from start to stop (inclusive unless endpoint=False); start and stop may be
    traced.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.linspace(0.0, 1.0, 5)
    array([0.  , 0.25, 0.5 , 0.75, 1.  ])
    >>> fnad.jacfwd(lambda s: fnp.linspace(0.0, s, 3))(2.0)
    array([0. , 0.5, 1. ])
    """
    if not _is_traced((start, stop)):
        return _in_transform(np.linspace(start, stop, num, endpoint=endpoint, dtype=dtype, axis=axis))
    dt = np.dtype(dtype) if dtype is not None else _result_type(start, stop, 1.0)[0]
    div = (num - 1) if endpoint else num
    t = sh.iota(dt, num)
    start, stop = asarray(start, dt), asarray(stop, dt)
    step = (stop - start) / builtins.max(div, 1)
    out = expand_dims(start, -1) + expand_dims(step, -1) * t if get_aval(start).ndim else start + step * t
    if endpoint and num > 1:
        out = concatenate([out[..., :-1], expand_dims(stop, -1) if get_aval(stop).ndim else reshape(stop, (1,))], -1)
    return moveaxis(out, -1, axis) if get_aval(out).ndim > 1 else out


def eye(N, M=None, k=0, dtype=None):
    """The N x M matrix with ones on diagonal k (float64 by default).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.eye(2, 3, k=1)
    array([[0., 1., 0.],
           [0., 0., 1.]])
    """
    if not _is_traced(()):
        return _in_transform(np.eye(N, M, k, dtype=dtype or np.float64))
    M = N if M is None else M
    dt = np.dtype(dtype or np.float64)
    i = sh.iota(np.int64, (N, M), 0)
    j = sh.iota(np.int64, (N, M), 1)
    return _convert(ew.eq(ew.add(i, np.array(k, np.int64)), j), dt)


def identity(n, dtype=None):
    """The n x n identity matrix.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.identity(2, dtype=np.int64)
    array([[1, 0],
           [0, 1]])
    """
    return eye(n, dtype=dtype)


# ----------------------------------------------------------------------------------------------
# Reductions


def _reduce(np_fn, prim_fn, name, int_to=None, bool_to=None):
    def fn(a, axis=None, dtype=None, keepdims=False, **kw):
        if not _is_traced((a,), name):
            kwargs = dict(axis=axis, keepdims=keepdims, **kw)
            if dtype is not None:
                kwargs["dtype"] = dtype
            return np_fn(a, **kwargs)
        a = _asarray_traced(a)
        aval = get_aval(a)
        dt = aval.dtype
        if dtype is not None:
            dt = np.dtype(dtype)
        elif dt == np.bool_ and bool_to is not None:
            dt = np.dtype(bool_to)
        elif np.issubdtype(dt, np.integer) and int_to is not None and dt.itemsize < 8:
            dt = np.dtype(int_to if np.issubdtype(dt, np.signedinteger) else np.uint64)
        axes = _normalize_axes(axis, aval.ndim)
        out = prim_fn(_convert(a, dt, aval.weak_type) if dt != aval.dtype else a, axes)
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
prod.__doc__ += """

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> fnp.prod(a, axis=1)
    array([ 2., 12.])
    >>> fnad.grad(fnp.prod)(np.array([2.0, 3.0, 4.0]))
    array([12.,  8.,  6.])
    """
_max = _reduce(np.max, red.reduce_max, "max")
_min = _reduce(np.min, red.reduce_min, "min")
all = _reduce(np.all, lambda a, axes: red.reduce_and(_as_bool(a), axes), "all")
all.__doc__ += """

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.all(np.array([[1, 0], [1, 1]]), axis=1)
    array([False,  True])
    """
any = _reduce(np.any, lambda a, axes: red.reduce_or(_as_bool(a), axes), "any")
any.__doc__ += """

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.any(np.array([[1, 0], [0, 0]]), axis=1)
    array([ True, False])
    """


def max(a, axis=None, keepdims=False, initial=None, where=None):
    """The maximum over `axis` (all axes by default), as numpy.max (also `amax`); `initial=`/`where=` work on
    concrete arrays only. The gradient is shared equally among tied maxima.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([[1.0, 4.0], [3.0, 2.0]])
    >>> fnp.max(a, axis=0)
    array([3., 4.])
    >>> fnad.grad(fnp.max)(np.array([1.0, 3.0, 3.0]))
    array([0. , 0.5, 0.5])
    """
    if initial is not None or where is not None:
        if _is_traced((a,)):
            raise NotImplementedError("max(initial=, where=) is not supported on traced values")
        return np.max(a, axis=axis, keepdims=keepdims, initial=initial, where=where)
    return _max(a, axis=axis, keepdims=keepdims)


def min(a, axis=None, keepdims=False, initial=None, where=None):
    """The minimum over `axis` (all axes by default), as numpy.min (also `amin`).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.min(np.array([[1.0, 4.0], [3.0, 2.0]]), axis=1, keepdims=True)
    array([[1.],
           [2.]])
    """
    if initial is not None or where is not None:
        if _is_traced((a,)):
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
    if not _is_traced((a,)):
        return np.mean(a, axis=axis, dtype=dtype, keepdims=keepdims)
    a = _asarray_traced(a)
    aval = get_aval(a)
    axes = _normalize_axes(axis, aval.ndim)
    n = int(np.prod([aval.shape[i] for i in axes], dtype=np.int64))
    dt = np.dtype(dtype) if dtype is not None else (aval.dtype if np.issubdtype(aval.dtype, np.inexact)
                                                     else np.dtype(np.float64))
    s = sum(_convert(a, dt) if dt != aval.dtype else a, axis=axes, keepdims=keepdims)
    return ew.div(s, np.array(n, dt))


def var(a, axis=None, dtype=None, ddof=0, keepdims=False):
    """The variance over `axis` with `ddof` delta degrees of freedom, as numpy.var (integer input gives
    float64).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([1.0, 2.0, 3.0, 4.0])
    >>> fnp.var(a), fnp.var(a, ddof=1)
    (np.float64(1.25), np.float64(1.6666666666666667))
    >>> fnad.grad(fnp.var)(a)
    array([-0.75, -0.25,  0.25,  0.75])
    """
    if not _is_traced((a,)):
        return np.var(a, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims)
    a = _asarray_traced(a)
    aval = get_aval(a)
    axes = _normalize_axes(axis, aval.ndim)
    n = int(np.prod([aval.shape[i] for i in axes], dtype=np.int64))
    centered = a - mean(a, axis=axes, dtype=dtype, keepdims=True)
    ss = sum(centered * centered, axis=axes, keepdims=keepdims)
    return ss / np.array(builtins.max(n - ddof, 0), get_aval(ss).dtype)


def std(a, axis=None, dtype=None, ddof=0, keepdims=False):
    """The standard deviation over `axis`, sqrt(var), as numpy.std.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.std(np.array([[1.0, 3.0], [2.0, 2.0]]), axis=1)
    array([1., 0.])
    >>> fnad.grad(fnp.std)(np.array([1.0, 3.0]))
    array([-0.5,  0.5])
    """
    if not _is_traced((a,)):
        return np.std(a, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims)
    return sqrt(var(a, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims))


def _arg(np_fn, prim_fn):
    def fn(a, axis=None, keepdims=False):
        if not _is_traced((a,), np_fn.__name__):
            return np_fn(a, axis=axis, keepdims=keepdims)
        a = _asarray_traced(a)
        if axis is None:
            out = prim_fn(ravel(a), 0)
            return reshape(out, (1,) * get_aval(a).ndim) if keepdims else out
        ax = _normalize_axis(axis, get_aval(a).ndim)
        out = prim_fn(a, ax)
        return sh.expand_dims(out, (ax,)) if keepdims else out
    fn.__name__ = np_fn.__name__
    fn.__doc__ = (f"fnad version of numpy.{np_fn.__name__}(a, axis=None, keepdims=False): the index (int64) of "
                  f"the first extremum along `axis` (of the flattened array when None); an integer result, "
                  f"so its derivative is zero.")
    return fn


argmax = _arg(np.argmax, red.argmax)
argmax.__doc__ += """

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([[1.0, 5.0, 5.0], [7.0, 2.0, 3.0]])
    >>> fnp.argmax(a, axis=1)
    array([1, 0])
    >>> fnad.vmap(fnp.argmax)(a)
    array([1, 0])
    """
argmin = _arg(np.argmin, red.argmin)
argmin.__doc__ += """

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.argmin(np.array([[1.0, 5.0], [7.0, 2.0]]), axis=0)
    array([0, 1])
    """


# ----------------------------------------------------------------------------------------------
# Shapes


def shape(a):
    """The shape of `a` (static: works on traced values too).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.shape([[1, 2, 3]])
    (1, 3)
    >>> fnad.vmap(lambda x: fnp.shape(x)[0] * x)(np.ones((2, 3)))
    array([[3., 3., 3.],
           [3., 3., 3.]])
    """
    return get_aval(_asarray_traced(a) if isinstance(a, (list, tuple)) else a).shape


def ndim(a):
    """The number of axes of `a`.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.ndim(np.ones((2, 3)))
    2
    """
    return len(shape(a))


def size(a, axis=None):
    """The number of elements of `a` (along `axis` if given).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.size(np.ones((2, 3))), fnp.size(np.ones((2, 3)), 1)
    (6, 3)
    """
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
    if not _is_traced((a,)):
        return np.reshape(a, newshape)
    a = _asarray_traced(a)
    newshape = (newshape,) if isinstance(newshape, (int, np.integer)) else tuple(newshape)
    size_ = get_aval(a).size
    if -1 in newshape:
        known = int(np.prod([d for d in newshape if d != -1], dtype=np.int64))
        if newshape.count(-1) > 1 or known == 0 or size_ % known:
            raise ValueError(f"cannot reshape array of shape {get_aval(a).shape} into shape {newshape}")
        newshape = tuple(size_ // known if d == -1 else d for d in newshape)
    return sh.reshape(a, newshape)


def ravel(a):
    """`a` flattened to 1-d in C order.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.ravel(np.array([[1, 2], [3, 4]]))
    array([1, 2, 3, 4])
    """
    return reshape(a, (-1,))


def transpose(a, axes=None):
    """`a` with its axes permuted by `axes` (reversed by default), as numpy.transpose.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.transpose(np.ones((2, 3, 4)), (1, 2, 0)).shape
    (3, 4, 2)
    >>> fnad.vmap(fnp.transpose)(np.ones((5, 2, 3))).shape
    (5, 3, 2)
    >>> fnp.transpose(np.array([[1, 2], [3, 4]]))
    array([[1, 3],
           [2, 4]])
    """
    if not _is_traced((a,)):
        return np.transpose(a, axes)
    a = _asarray_traced(a)
    nd = get_aval(a).ndim
    perm = tuple(reversed(range(nd))) if axes is None else tuple(_normalize_axis(int(x), nd) for x in axes)
    return sh.transpose(a, perm)


def swapaxes(a, axis1, axis2):
    """`a` with axes `axis1` and `axis2` interchanged.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.swapaxes(np.ones((2, 3, 4)), 0, -1).shape
    (4, 3, 2)
    """
    if not _is_traced((a,)):
        return np.swapaxes(a, axis1, axis2)
    nd = ndim(a)
    perm = list(range(nd))
    i, j = _normalize_axis(axis1, nd), _normalize_axis(axis2, nd)
    perm[i], perm[j] = perm[j], perm[i]
    return sh.transpose(_asarray_traced(a), tuple(perm))


def moveaxis(a, source, destination):
    """`a` with axes `source` moved to positions `destination` (ints or sequences), the other axes keeping
    their order.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.moveaxis(np.ones((2, 3, 4)), 0, -1).shape
    (3, 4, 2)
    >>> fnp.moveaxis(np.ones((2, 3, 4)), (0, 1), (2, 0)).shape
    (3, 4, 2)
    """
    if not _is_traced((a,)):
        return np.moveaxis(a, source, destination)
    nd = ndim(a)
    src = [_normalize_axis(s, nd) for s in (source if isinstance(source, (tuple, list)) else (source,))]
    dst = [_normalize_axis(d, nd) for d in (destination if isinstance(destination, (tuple, list)) else (destination,))]
    order = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return sh.transpose(_asarray_traced(a), tuple(order))


def expand_dims(a, axis):
    """`a` with new size-1 axes at positions `axis` (an int or a tuple) of the result.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.expand_dims(np.array([1.0, 2.0]), 0)
    array([[1., 2.]])
    >>> fnp.expand_dims(np.ones(3), (0, 2)).shape
    (1, 3, 1)
    """
    if not _is_traced((a,)):
        return np.expand_dims(a, axis)
    a = _asarray_traced(a)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out_nd = get_aval(a).ndim + len(axes)
    return sh.expand_dims(a, tuple(sorted(_normalize_axis(x, out_nd) for x in axes)))


def squeeze(a, axis=None):
    """`a` without its size-1 axes (or only those in `axis`, which must have size 1).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.squeeze(np.ones((1, 3, 1))).shape
    (3,)
    >>> fnp.squeeze(np.ones((1, 3, 1)), axis=0).shape
    (3, 1)
    """
    if not _is_traced((a,)):
        return np.squeeze(a, axis)
    a = _asarray_traced(a)
    s = get_aval(a).shape
    axes = tuple(i for i, d in enumerate(s) if d == 1) if axis is None else _normalize_axes(axis, len(s))
    return sh.squeeze(a, axes)


def broadcast_to(a, shape):
    """`a` broadcast to `shape` with NumPy's rules (trailing axes aligned); the gradient sums over the
    broadcast axes.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.broadcast_to(np.array([1.0, 2.0]), (2, 2))
    array([[1., 2.],
           [1., 2.]])
    >>> fnad.grad(lambda x: fnp.sum(fnp.broadcast_to(x, (3, 2))))(np.array([1.0, 2.0]))
    array([3., 3.])
    """
    if not _is_traced((a,)):
        return np.broadcast_to(a, shape)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return sh.broadcast_to_rank_shape(_asarray_traced(a), shape)


def broadcast_arrays(*args):
    """Arrays broadcast against each other to one shape, as numpy.broadcast_arrays.

    >>> import numpy as np, fnad.numpy as fnp
    >>> [a.shape for a in fnp.broadcast_arrays(np.ones((2, 1)), np.ones(3))]
    [(2, 3), (2, 3)]
    """
    if not _is_traced(args):
        return np.broadcast_arrays(*args)
    target = np.broadcast_shapes(*[shape(a) for a in args])
    return [broadcast_to(a, target) for a in args]


def result_type(*args):
    """The dtype NumPy 2 promotion gives these arguments (Python scalars weak), as numpy.result_type.

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.result_type(np.float32(1), 2.0), fnp.result_type(np.int32(1), 2.5)
    (dtype('float32'), dtype('float64'))
    """
    return _result_type(*args)[0]


def atleast_1d(*arys):
    """Each argument with at least one axis (scalars become shape (1,)); one argument gives one array, several
    a list.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.atleast_1d(3.0)
    array([3.])
    >>> [x.shape for x in fnp.atleast_1d(1.0, np.ones((2, 2)))]
    [(1,), (2, 2)]
    """
    res = [a if ndim(a) >= 1 else reshape(a, (1,)) for a in arys]
    return res[0] if len(res) == 1 else res


def atleast_2d(*arys):
    """Each argument with at least two axes (a 1-d array becomes one row).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.atleast_2d(np.array([1.0, 2.0]))
    array([[1., 2.]])
    """
    res = []
    for a in arys:
        n = ndim(a)
        res.append(a if n >= 2 else reshape(a, (1, 1) if n == 0 else (1, shape(a)[0])))
    return res[0] if len(res) == 1 else res


# ----------------------------------------------------------------------------------------------
# Linear algebra


def _matmul_traced(a, b):
    dt, weak = _result_type(a, b)
    a, b = _convert(_asarray_traced(a), dt, weak), _convert(_asarray_traced(b), dt, weak)
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
    if not _is_traced((a, b)):
        try:
            return np.matmul(a, b)
        except ValueError as e:
            raise ValueError(f"matmul: shapes {np.shape(a)} and {np.shape(b)} are not aligned ({e})") from None
    return _matmul_traced(a, b)


def dot(a, b):
    """numpy.dot: a product for scalars, the matrix product for 1-d/2-d operands, otherwise a contraction of
    a's last axis with b's second-to-last.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> fnp.dot(a, np.array([1.0, -1.0]))
    array([-1., -1.])
    >>> fnad.grad(lambda v: fnp.dot(v, v))(np.array([1.0, 2.0]))
    array([2., 4.])
    """
    if not _is_traced((a, b)):
        return np.dot(a, b)
    if ndim(a) == 0 or ndim(b) == 0:
        return multiply(a, b)
    if ndim(b) <= 2:
        return _matmul_traced(a, b)
    # N-d dot: contract a's last axis with b's second-to-last
    return tensordot(a, b, axes=((ndim(a) - 1,), (ndim(b) - 2,)))


def vdot(a, b):
    """The dot product of the flattened operands (real arrays; no complex conjugation).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.vdot(np.array([[1.0, 2.0], [3.0, 4.0]]), np.ones((2, 2)))
    np.float64(10.0)
    """
    return dot(ravel(a), ravel(b))


def inner(a, b):
    """Sum of products over the last axes of a and b (a product when either is a scalar).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.inner(np.array([1.0, 2.0]), np.array([[1.0, 0.0], [1.0, 1.0]]))
    array([1., 3.])
    """
    if ndim(a) == 0 or ndim(b) == 0:
        return multiply(a, b)
    return tensordot(a, b, axes=((ndim(a) - 1,), (ndim(b) - 1,)))


def outer(a, b):
    """The outer product of the flattened operands: out[i, j] = a[i] * b[j].

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.outer(np.array([1.0, 2.0]), np.array([1.0, 10.0, 100.0]))
    array([[  1.,  10., 100.],
           [  2.,  20., 200.]])
    """
    return multiply(reshape(ravel(a), (-1, 1)), ravel(b))


def tensordot(a, b, axes=2):
    """Contract the last `axes` axes of a with the first of b (an int), or the axes listed in a pair of
    sequences; one dot_general when traced.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a, b = np.ones((2, 3, 4)), np.ones((3, 4, 5))
    >>> fnp.tensordot(a, b).shape
    (2, 5)
    >>> fnp.tensordot(a, b, axes=([1], [0])).shape
    (2, 4, 4, 5)
    """
    if not _is_traced((a, b)):
        return np.tensordot(a, b, axes)
    dt, weak = _result_type(a, b)
    a, b = _convert(_asarray_traced(a), dt, weak), _convert(_asarray_traced(b), dt, weak)
    na, nb = ndim(a), ndim(b)
    if isinstance(axes, (int, np.integer)):
        ca, cb = tuple(range(na - axes, na)), tuple(range(axes))
    else:
        ca, cb = axes
        ca = tuple(_normalize_axis(x, na) for x in (ca if isinstance(ca, (list, tuple)) else (ca,)))
        cb = tuple(_normalize_axis(x, nb) for x in (cb if isinstance(cb, (list, tuple)) else (cb,)))
    return dot_general(a, b, ((ca, cb), ((), ())))


def trace(a, offset=0, axis1=0, axis2=1):
    """The sum along diagonal `offset` of the axes `axis1`, `axis2`.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> fnp.trace(a), fnp.trace(a, offset=1)
    (np.float64(5.0), np.float64(2.0))
    >>> fnad.grad(fnp.trace)(a)
    array([[1., 0.],
           [0., 1.]])
    """
    if not _is_traced((a,)):
        return np.trace(a, offset, axis1, axis2)
    return sum(diagonal(a, offset, axis1, axis2), axis=-1)


def diagonal(a, offset=0, axis1=0, axis2=1):
    """Diagonal `offset` of the axes `axis1`, `axis2`, which become the last axis of the result.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.diagonal(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([1., 4.])
    >>> fnad.vmap(fnp.diagonal)(np.arange(8.0).reshape(2, 2, 2))
    array([[0., 3.],
           [4., 7.]])
    """
    if not _is_traced((a,)):
        return np.diagonal(a, offset, axis1, axis2)
    a = moveaxis(_asarray_traced(a), (axis1, axis2), (-2, -1))
    n, m = shape(a)[-2:]
    i = sh.iota(np.int64, (n, m), 0)
    j = sh.iota(np.int64, (n, m), 1)
    mask = _convert(ew.eq(ew.add(i, np.array(offset, np.int64)), j), get_aval(a).dtype)
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
