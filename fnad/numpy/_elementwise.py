"""fnad.numpy's elementwise functions: the ufuncs that `_core.elementwise` generates over one
primitive each, and the compositions (logical ops, abs, power, floor_divide, mod, hypot, logaddexp,
clip, where, ...) that NumPy defines elementwise."""

from __future__ import annotations

import builtins

import numpy as np

from ..core import Tracer, get_aval
from ..primitives import elementwise as ew
from ._core import asarray_traced as _asarray_traced
from ._core import broadcast_arrays as _broadcast_arrays
from ._core import convert as _convert
from ._core import elementwise as _elementwise
from ._core import is_traced as _is_traced
from ._core import numpy_when_eager, ufunc_out_dtype
from ._core import result_type as _result_type

negative = _elementwise(np.negative, ew.neg, "negative")
positive = _elementwise(np.positive, lambda x: x, "positive")
sign = _elementwise(np.sign, ew.sign, "sign")


def _on_ints(prim_fn, int_fn):
    """`prim_fn` for float operands, `int_fn` for integer and bool ones, which the rounding and
    float-class primitives refuse but NumPy 2 accepts (floor/ceil keep them as they are; isnan is
    false and isfinite true)."""
    return lambda x: int_fn(x) if get_aval(x).dtype.kind in "biu" else prim_fn(x)


floor = _elementwise(np.floor, _on_ints(ew.floor, lambda x: x), "floor")
ceil = _elementwise(np.ceil, _on_ints(ew.ceil, lambda x: x), "ceil")
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
isfinite = _elementwise(np.isfinite, _on_ints(ew.is_finite, lambda x: ew.eq(x, x)), "isfinite", out_bool=True)
isnan = _elementwise(np.isnan, _on_ints(ew.is_nan, lambda x: ew.ne(x, x)), "isnan", out_bool=True)
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
    Array([ True, False, False], dtype=bool)
    """
    return _logical_and(_as_bool(x), _as_bool(y))


def logical_or(x, y):
    """Elementwise truth of `x or y` (nonzero is true), as numpy.logical_or.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.logical_or(np.array([1, 0, 0]), np.array([0, 0, 3]))
    Array([ True, False,  True], dtype=bool)
    """
    return _logical_or(_as_bool(x), _as_bool(y))


def logical_xor(x, y):
    """Elementwise truth of `x xor y` (nonzero is true), as numpy.logical_xor.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.logical_xor(np.array([1, 0, 1]), np.array([1, 1, 0]))
    Array([False,  True,  True], dtype=bool)
    """
    return _logical_xor(_as_bool(x), _as_bool(y))


def logical_not(x):
    """Elementwise `not x` (nonzero is true), as numpy.logical_not.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnad.vmap(fnp.logical_not)(np.array([0.0, 2.0]))
    Array([ True, False], dtype=bool)
    """
    return _logical_not(_as_bool(x))


@numpy_when_eager(np.abs)
def abs(x):
    """Elementwise absolute value (also `absolute`, `fabs`); bool and unsigned input is returned as is. The
    derivative at 0 is taken as 1.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.abs(np.array([-2.0, 0.0, 3.0]))
    Array([2., 0., 3.], dtype=float64)
    >>> fnad.grad(lambda x: fnp.sum(fnp.abs(x)))(np.array([-2.0, 0.0, 3.0]))
    Array([-1.,  1.,  1.], dtype=float64)
    """
    x = _asarray_traced(x)
    return x if get_aval(x).dtype == np.bool_ or np.issubdtype(get_aval(x).dtype, np.unsignedinteger) else ew.abs(x)


absolute = abs
fabs = abs


@numpy_when_eager(np.square)
def square(x):
    """Elementwise x * x (staged as integer_pow(x, 2)).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.square(np.array([1.0, -3.0]))
    Array([1., 9.], dtype=float64)
    >>> fnad.grad(fnp.square)(3.0)
    Array(6., dtype=float64)
    """
    return ew.integer_pow(_asarray_traced(x), 2)


@numpy_when_eager(np.reciprocal)
def reciprocal(x):
    """Elementwise 1 / x, in x's dtype.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.reciprocal(np.array([2.0, 4.0]))
    Array([0.5 , 0.25], dtype=float64)
    >>> fnad.grad(fnp.reciprocal)(2.0)
    Array(-0.25, dtype=float64)
    """
    x = _asarray_traced(x)
    if get_aval(x).dtype.kind in "iu":  # NumPy keeps integers: 1 / x truncated toward zero
        return ew.div(np.ones((), get_aval(x).dtype), x)
    return divide(np.ones((), get_aval(x).dtype), x)


@numpy_when_eager(lambda x, decimals=0: np.round(x, decimals))
def round(x, decimals=0):
    """Round to `decimals` decimals, halves to even as numpy.round (also `around`); integer input is returned
    as is. Its derivative is zero.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.round(np.array([0.5, 1.5, 2.675]), 2)
    Array([0.5 , 1.5 , 2.68], dtype=float64)
    >>> fnad.vmap(fnp.round)(np.array([0.5, 1.5, -2.5]))
    Array([ 0.,  2., -2.], dtype=float64)
    """
    x = _asarray_traced(x)
    if not np.issubdtype(get_aval(x).dtype, np.inexact):
        return x
    if decimals == 0:
        return ew.round(x)
    f = np.array(10.0**decimals, get_aval(x).dtype)
    return ew.div(ew.round(ew.mul(x, f)), f)


around = round


@numpy_when_eager(lambda x, y: np.power(x, y))
def power(x, y):
    """Elementwise x ** y with NumPy promotion; an integer Python exponent is staged as integer_pow (exact,
    defined for negative x). Integer arrays to negative integer powers: NumPy raises ValueError, but
    on traced values the exponent is data, so the traced result is the truncated 1 / x**|y| (0 for
    |x| > 1), as in JAX.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.power(np.array([1.0, 2.0, 3.0]), 2)
    Array([1., 4., 9.], dtype=float64)
    >>> fnad.grad(lambda x: fnp.power(x, 3))(-2.0)
    Array(12., dtype=float64)
    >>> fnad.grad(fnp.power, argnums=1)(2.0, 3.0)
    Array(5.54517744, dtype=float64)
    """
    if type(y) is int or (isinstance(y, np.integer) and not isinstance(y, bool)):
        x = _asarray_traced(x)
        dt = get_aval(x).dtype
        if np.issubdtype(dt, np.inexact) or y >= 0:
            return ew.integer_pow(x, int(y))
    return _power(x, y)


_power = _elementwise(np.power, ew.pow, "power")


def _promoted_pair(np_fn, x, y):
    """x and y converted to the dtype numpy `np_fn` returns for them and broadcast together; returns
    (x, y, dtype). That dtype is the promoted one, except where NumPy's ufunc has no loop for it:
    a float for integer input of hypot, logaddexp and copysign, int8 for bools in floor_divide."""
    x, y = (_asarray_traced(v) if isinstance(v, (list, tuple)) else v for v in (x, y))
    avals = [get_aval(x), get_aval(y)]
    dt, weak = ufunc_out_dtype(np_fn, avals), all(a.weak_type for a in avals)
    x, y = _broadcast_arrays(_convert(x, dt, weak), _convert(y, dt, weak))
    return x, y, dt


@numpy_when_eager(lambda x, y: np.floor_divide(x, y))
def floor_divide(x, y):
    """Elementwise floor(x / y) (Python's `//`: rounds toward minus infinity, also for integers).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.floor_divide(np.array([7, -7]), 2)
    Array([ 3, -4], dtype=int64)
    >>> fnad.vmap(lambda x: fnp.floor_divide(x, 2.0))(np.array([7.0, -7.0]))
    Array([ 3., -4.], dtype=float64)
    """
    x, y, dt = _promoted_pair(np.floor_divide, x, y)
    if np.issubdtype(dt, np.integer):
        q = ew.div(x, y)
        fix = ew.bitwise_and(
            ew.ne(ew.rem(x, y), np.array(0, dt)), ew.ne(ew.lt(x, np.array(0, dt)), ew.lt(y, np.array(0, dt)))
        )
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
    f = ew.select(ew.eq(q, c(0)), ew.mul(ew.div(x, y), c(0)), f)  # 0 with the sign of x / y
    return ew.select(ew.eq(y, c(0)), ew.div(x, y), f)  # x / 0: +-inf or NaN


@numpy_when_eager(lambda x, y: np.mod(x, y))
def mod(x, y):
    """Elementwise remainder with the sign of the divisor, as Python's `%` and numpy.mod (also `remainder`).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.mod(np.array([7, -7]), 3)
    Array([1, 2], dtype=int64)
    >>> fnad.grad(lambda x: fnp.mod(x, 3.0))(7.5)
    Array(1., dtype=float64)
    """
    x, y, dt = _promoted_pair(np.mod, x, y)
    r = ew.rem(x, y)
    zero = np.array(0, dt)
    fix = ew.bitwise_and(ew.ne(r, zero), ew.ne(ew.lt(r, zero), ew.lt(y, zero)))
    r = ew.select(fix, ew.add(r, y), r)
    if np.issubdtype(dt, np.inexact):  # a zero remainder takes the sign of y, as in NumPy
        r = ew.select(ew.eq(r, zero), ew.select(ew.lt(y, zero), np.array(-0.0, dt), zero), r)
    return r


remainder = mod


@numpy_when_eager(lambda x, y: np.fmod(x, y))
def fmod(x, y):
    """Elementwise remainder with the sign of the dividend (C fmod), as numpy.fmod.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.fmod(np.array([7, -7]), 3)
    Array([ 1, -1], dtype=int64)
    >>> fnad.vmap(lambda x: fnp.fmod(x, 3.0))(np.array([7.5, -7.5]))
    Array([ 1.5, -1.5], dtype=float64)
    """
    return ew.rem(*_promoted_pair(np.fmod, x, y)[:2])


@numpy_when_eager(lambda x, y: np.hypot(x, y))
def hypot(x, y):
    """Elementwise sqrt(x**2 + y**2) without overflow for large x, y (scaled by the larger).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.hypot(np.array([3.0, 1e200]), np.array([4.0, 1e200]))
    Array([5.00000000e+000, 1.41421356e+200], dtype=float64)
    >>> fnad.grad(fnp.hypot)(3.0, 4.0)
    Array(0.6, dtype=float64)
    """
    x, y, _ = _promoted_pair(np.hypot, x, y)
    x, y = abs(x), abs(y)
    big, small = maximum(x, y), minimum(x, y)
    safe = where(big == 0, 1, big)
    r = small / safe
    # an infinite side wins over NaN, as in C99 hypot
    return where(logical_or(isinf(x), isinf(y)), np.inf, where(big == 0, 0, big * sqrt(1 + r * r)))


@numpy_when_eager(lambda x, y: np.logaddexp(x, y))
def logaddexp(x, y):
    """Elementwise log(exp(x) + exp(y)) computed stably (no overflow for large inputs).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.logaddexp(np.array([0.0, 1000.0]), np.array([0.0, 1000.0]))
    Array([6.93147181e-01, 1.00069315e+03], dtype=float64)
    >>> fnad.grad(fnp.logaddexp)(1.0, 1.0)
    Array(0., dtype=float64)
    """
    x, y, _ = _promoted_pair(np.logaddexp, x, y)
    amax = maximum(x, y)
    d = subtract(x, y)
    return where(isnan(d), add(x, y), amax + log1p(exp(-abs(d))))


@numpy_when_eager(np.log2)
def log2(x):
    """Elementwise base-2 logarithm.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.log2(np.array([1.0, 8.0]))
    Array([0., 3.], dtype=float64)
    >>> fnad.grad(fnp.log2)(1.0) * np.log(2)
    Array(1., dtype=float64)
    """
    y = log(x)
    return y / np.array(np.log(2), get_aval(y).dtype)


@numpy_when_eager(np.log10)
def log10(x):
    """Elementwise base-10 logarithm.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.log10(np.array([1.0, 1000.0]))
    Array([0., 3.], dtype=float64)
    """
    y = log(x)
    return y / np.array(np.log(10), get_aval(y).dtype)


def deg2rad(x):
    """Degrees to radians (also `radians`).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.deg2rad(np.array([0.0, 180.0])) / np.pi
    Array([0., 1.], dtype=float64)
    """
    return multiply(x, np.pi / 180)


def rad2deg(x):
    """Radians to degrees (also `degrees`).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.rad2deg(np.pi / 2)
    Array(90., dtype=float64)
    """
    return multiply(x, 180 / np.pi)


radians, degrees = deg2rad, rad2deg


@numpy_when_eager(lambda a, a_min=None, a_max=None: np.clip(a, a_min, a_max))
def clip(a, a_min=None, a_max=None):
    """Elementwise min(max(a, a_min), a_max); either bound may be None. The derivative is 1 inside the bounds,
    0 outside and 1/2 exactly at a bound.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.clip(np.array([-2.0, 0.5, 3.0]), 0.0, 1.0)
    Array([0. , 0.5, 1. ], dtype=float64)
    >>> fnad.grad(lambda x: fnp.sum(fnp.clip(x, 0.0, 1.0)))(np.array([-2.0, 0.5, 3.0]))
    Array([0., 1., 0.], dtype=float64)
    """
    dt = get_aval(_asarray_traced(a)).dtype
    if dt.kind in "iu":  # as NumPy: Python-int bounds outside an integer dtype's range are clipped to it
        a_min, a_max = _int_bound(a_min, dt), _int_bound(a_max, dt)
    if a_min is not None:
        a = maximum(a, a_min)
    if a_max is not None:
        a = minimum(a, a_max)
    return a


def _int_bound(bound, dtype):
    """A Python-int (or weakly typed traced int) clip bound brought inside `dtype`'s range (as far
    as int64 reaches), so that it converts to `dtype` without overflow; other bounds as they are."""
    if bound is None or not (
        type(bound) is int
        or isinstance(bound, Tracer)
        and get_aval(bound).weak_type
        and get_aval(bound).dtype.kind == "i"
    ):
        return bound
    info, i64 = np.iinfo(dtype), np.iinfo(np.int64)
    if type(bound) is int:
        return builtins.min(builtins.max(bound, int(info.min)), int(info.max))
    return minimum(maximum(bound, int(info.min)), builtins.min(int(info.max), int(i64.max)))


@numpy_when_eager(
    lambda condition, x=None, y=None: np.where(condition) if x is None and y is None else np.where(condition, x, y)
)
def where(condition, x=None, y=None):
    """Elementwise `x` where `condition` else `y` (broadcast together; x and y promoted as NumPy).
    The derivative flows to the selected operand only. The one-argument form `where(condition)`
    has a data-dependent shape, so it needs a concrete (not traced) condition.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> x = np.array([-1.0, 2.0, -3.0])
    >>> fnp.where(x > 0, x, 0.0)
    Array([0., 2., 0.], dtype=float64)
    >>> fnad.grad(lambda x: fnp.sum(fnp.where(x > 0, x, 0.0)))(x)
    Array([0., 1., 0.], dtype=float64)
    """
    if x is None and y is None:
        raise TypeError(
            "where(condition) with one argument has a data-dependent output shape and "
            "needs a concrete value; use the three-argument where(condition, x, y)"
        )
    dt, weak = _result_type(x, y)
    c = _as_bool(_asarray_traced(condition))
    c, xx, yy = _broadcast_arrays(
        c,
        _convert(_asarray_traced(x) if isinstance(x, (list, tuple)) else x, dt, weak),
        _convert(_asarray_traced(y) if isinstance(y, (list, tuple)) else y, dt, weak),
    )
    return ew.select(c, xx, yy)


@numpy_when_eager(lambda x, nan=0.0, posinf=None, neginf=None: np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf))
def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """NaN replaced by `nan`, +/-inf by `posinf`/`neginf` (by default the dtype's largest finite values).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.nan_to_num(np.array([np.nan, np.inf, -np.inf, 1.0]), posinf=9.0, neginf=-9.0)
    Array([ 0.,  9., -9.,  1.], dtype=float64)
    """
    if get_aval(x).dtype.kind in "biu":  # nothing to replace
        return _asarray_traced(x)
    info = np.finfo(get_aval(x).dtype)
    x = where(isnan(x), nan, x)
    x = where(x == np.inf, info.max if posinf is None else posinf, x)
    return where(x == -np.inf, info.min if neginf is None else neginf, x)


def isinf(x):
    """Elementwise test for +inf or -inf (a boolean result with a zero derivative).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.isinf(np.array([1.0, np.inf, -np.inf, np.nan]))
    Array([False,  True,  True, False], dtype=bool)
    """
    return logical_and(logical_not(isfinite(x)), logical_not(isnan(x)))


@numpy_when_eager(np.signbit)
def signbit(x):
    """Elementwise test for a set sign bit (true for -0.0 and negative values).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.signbit(np.array([-1.0, -0.0, 0.0, 2.0]))
    Array([ True,  True, False, False], dtype=bool)
    """
    return logical_or(less(x, 0), logical_and(equal(x, 0), less(reciprocal(x), 0)))


@numpy_when_eager(lambda x, y: np.copysign(x, y))
def copysign(x, y):
    """Elementwise |x| with the sign of y (including the sign of -0.0).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.copysign(np.array([1.0, 2.0]), np.array([-0.0, 3.0]))
    Array([-1.,  2.], dtype=float64)
    >>> fnad.grad(fnp.copysign)(2.0, -1.0)
    Array(-1., dtype=float64)
    """
    x, y, _ = _promoted_pair(np.copysign, x, y)
    return where(signbit(y), -abs(x), abs(x))
