"""fnad.numpy's elementwise functions: the ufuncs that `_core.elementwise` generates over one
primitive each, and the compositions (logical ops, abs, power, floor_divide, mod, hypot, logaddexp,
clip, where, ...) that NumPy defines elementwise."""

from __future__ import annotations

import builtins

import numpy as np

from ..core import ConcretizationError, Tracer, get_aval
from ..primitives import elementwise as ew
from ..primitives.reductions import reduce_or
from ..primitives.shape import full
from ._core import asarray_traced as _asarray_traced
from ._core import broadcast_arrays as _broadcast_arrays
from ._core import convert as _convert
from ._core import elementwise as _elementwise
from ._core import is_traced as _is_traced
from ._core import numpy_when_eager, ufunc_out_dtype
from ._core import result_type as _result_type
from ._nonzero import check_size, sized_nonzero

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
    if get_aval(x).dtype.kind == "c":  # both parts, as NumPy
        return ew.complex(round(ew.real(x), decimals), round(ew.imag(x), decimals))
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
    Array(0.5, dtype=float64)
    """
    x, y, _ = _promoted_pair(np.logaddexp, x, y)
    big, small = _larger_first(x, y)
    return where(isnan(subtract(x, y)), add(x, y), big + log1p(exp(small - big)))


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


def _clip_bounds(a_min, a_max, lower, upper):
    """The bounds of clip given positionally, as NumPy's a_min/a_max or as JAX's (and NumPy 2's) min/max."""
    if (a_min is not None and lower is not None) or (a_max is not None and upper is not None):
        raise TypeError("clip: give each bound once, as a_min/a_max or as min/max (JAX's names), not both")
    return (a_min if lower is None else lower), (a_max if upper is None else upper)


@numpy_when_eager(
    lambda a, a_min=None, a_max=None, *, min=None, max=None: np.clip(a, *_clip_bounds(a_min, a_max, min, max))
)
def clip(a, a_min=None, a_max=None, *, min=None, max=None):
    """Elementwise min(max(a, lower), upper), the bounds given positionally, as `min=`/`max=` (JAX) or as
    `a_min=`/`a_max=` (NumPy); either may be None. The derivative is 1 inside the bounds, 0 outside and
    1/2 exactly at a bound.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.clip(np.array([-2.0, 0.5, 3.0]), 0.0, 1.0)
    Array([0. , 0.5, 1. ], dtype=float64)
    >>> fnad.grad(lambda x: fnp.sum(fnp.clip(x, 0.0, 1.0)))(np.array([-2.0, 0.5, 3.0]))
    Array([0., 1., 0.], dtype=float64)
    """
    a_min, a_max = _clip_bounds(a_min, a_max, min, max)
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


def _where_eager(condition, x=None, y=None, /, *, size=None, fill_value=None):
    if x is None and y is None:
        check_size("where", size)
        return np.where(condition) if size is None else sized_nonzero(condition, size, fill_value, "where")
    return np.where(condition, x, y)


@numpy_when_eager(_where_eager)
def where(condition, x=None, y=None, /, *, size=None, fill_value=None):
    """Elementwise `x` where `condition` else `y` (broadcast together; x and y promoted as NumPy).
    The derivative flows to the selected operand only. The one-argument form `where(condition)` is
    nonzero(condition): its length depends on the values, so it needs a concrete condition, or a static
    `size` (padded with `fill_value`, as in JAX).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> x = np.array([-1.0, 2.0, -3.0])
    >>> fnp.where(x > 0, x, 0.0)
    Array([0., 2., 0.], dtype=float64)
    >>> fnad.grad(lambda x: fnp.sum(fnp.where(x > 0, x, 0.0)))(x)
    Array([0., 1., 0.], dtype=float64)
    >>> fnad.jit(lambda x: fnp.where(x < 0, size=3, fill_value=-1))(x)
    (Array([ 0,  2, -1], dtype=int64),)
    """
    if x is None and y is None:
        check_size("where", size)
        if size is None:
            raise ConcretizationError(
                "where(condition) with one argument has a data-dependent output shape and needs a concrete "
                "value; pass size= (a static bound on the output length), or use the three-argument "
                "where(condition, x, y)"
            )
        return sized_nonzero(condition, size, fill_value, "where")
    if x is None or y is None:
        raise ValueError("where: either both or neither of x and y should be given")
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


# The Array API names (NumPy 2 has both spellings).
acos, acosh, asin, asinh, atan, atanh, atan2 = arccos, arccosh, arcsin, arcsinh, arctan, arctanh, arctan2
bitwise_invert, bitwise_left_shift, bitwise_right_shift, pow = invert, left_shift, right_shift, power
nextafter = _elementwise(np.nextafter, ew.nextafter, "nextafter")


@numpy_when_eager(lambda x1, x2: np.fmax(x1, x2))
def fmax(x1, x2):
    """Elementwise maximum ignoring NaN (NaN only where both are NaN), as numpy.fmax.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.fmax(np.array([1.0, np.nan, np.nan]), np.array([2.0, 3.0, np.nan]))
    Array([ 2.,  3., nan], dtype=float64)
    """
    x1, x2, _ = _promoted_pair(np.fmax, x1, x2)
    return where(logical_or(greater_equal(x1, x2), isnan(x2)), x1, x2)


@numpy_when_eager(lambda x1, x2: np.fmin(x1, x2))
def fmin(x1, x2):
    """Elementwise minimum ignoring NaN (NaN only where both are NaN), as numpy.fmin.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.fmin(np.array([1.0, np.nan, 4.0]), np.array([2.0, 3.0, np.nan]))
    Array([1., 3., 4.], dtype=float64)
    """
    x1, x2, _ = _promoted_pair(np.fmin, x1, x2)
    return where(logical_or(less_equal(x1, x2), isnan(x2)), x1, x2)


@numpy_when_eager(lambda x1, x2: np.logaddexp2(x1, x2))
def logaddexp2(x1, x2):
    """Elementwise log2(2**x1 + 2**x2) computed stably, as numpy.logaddexp2.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.logaddexp2(np.array([1.0, 1000.0]), np.array([1.0, 1000.0]))
    Array([   2., 1001.], dtype=float64)
    >>> fnad.grad(fnp.logaddexp2)(3.0, 3.0)
    Array(0.5, dtype=float64)
    """
    x1, x2, dt = _promoted_pair(np.logaddexp2, x1, x2)
    big, small = _larger_first(x1, x2)
    return where(isnan(subtract(x1, x2)), add(x1, x2), big + log1p(exp2(small - big)) / np.array(np.log(2), dt))


def _larger_first(x1, x2):
    """(the larger, the smaller) of x1 and x2, each picked whole from one argument, so that at a tie the
    derivative of logaddexp's formula splits evenly (a max and an abs would cancel it out)."""
    first = greater_equal(x1, x2)
    return where(first, x1, x2), where(first, x2, x1)


@numpy_when_eager(np.trunc)
def trunc(x):
    """Elementwise rounding toward zero; integers are returned as they are.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.trunc(np.array([-1.7, 0.5, 2.9]))
    Array([-1.,  0.,  2.], dtype=float64)
    """
    x = _asarray_traced(x)
    return x if get_aval(x).dtype.kind in "biu" else where(less(x, 0), ceil(x), floor(x))


@numpy_when_eager(lambda x: np.modf(x))
def modf(x):
    """The fractional and integral parts of x, both with x's sign: (x - trunc(x), trunc(x)); the fraction of
    +-inf is +-0, as in NumPy.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.modf(np.array([-1.5, 2.25]))
    (Array([-0.5 ,  0.25], dtype=float64), Array([-1.,  2.], dtype=float64))
    """
    x = _float(x)
    whole = trunc(x)
    return copysign(where(isinf(x), 0, x - whole), x), whole


@numpy_when_eager(lambda x1, x2: np.divmod(x1, x2))
def divmod(x1, x2):
    """(floor_divide(x1, x2), mod(x1, x2)), as Python's divmod elementwise.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.divmod(np.array([7, -7]), 3)
    (Array([ 2, -3], dtype=int64), Array([1, 2], dtype=int64))
    """
    return floor_divide(x1, x2), mod(x1, x2)


def _float(x):
    """x converted to the float dtype NumPy's float ufuncs return for it (float64 for integers)."""
    x = _asarray_traced(x)
    dt = ufunc_out_dtype(np.sqrt, [get_aval(x)])
    return x if get_aval(x).dtype == dt else _convert(x, dt, get_aval(x).weak_type)


@numpy_when_eager(lambda x1, x2: np.float_power(x1, x2))
def float_power(x1, x2):
    """Elementwise x1 ** x2 computed in float64 (complex input is not supported on traced values).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.float_power(np.array([2, 3]), 2)
    Array([4., 9.], dtype=float64)
    """
    return power(_convert(_asarray_traced(x1), np.float64), _convert(_asarray_traced(x2), np.float64))


@numpy_when_eager(lambda x1, x2: np.heaviside(x1, x2))
def heaviside(x1, x2):
    """The Heaviside step: 0 where x1 < 0, x2 where x1 == 0, 1 where x1 > 0 (NaN where x1 is NaN).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.heaviside(np.array([-2.0, 0.0, 3.0]), 0.5)
    Array([0. , 0.5, 1. ], dtype=float64)
    """
    x1, x2, _ = _promoted_pair(np.heaviside, x1, x2)
    return where(isnan(x1), x1, where(less(x1, 0), 0, where(greater(x1, 0), 1, x2)))


@numpy_when_eager(np.sinc)
def sinc(x):
    """The normalized sinc function sin(pi x) / (pi x), 1 at 0 (where its first derivative is 0).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.sinc(np.array([0.0, 0.5, 1.0])).round(6)
    Array([1.     , 0.63662, 0.     ], dtype=float64)
    >>> fnad.grad(fnp.sinc)(0.0)
    Array(0., dtype=float64)
    """
    x = _float(x)
    zero = equal(x, 0)
    # the guarded value keeps the derivative at 0 finite (0, the limit)
    px = multiply(where(zero, 1, x), np.pi)
    return where(zero, 1, sin(px) / px)


@numpy_when_eager(lambda x1, x2: np.ldexp(x1, x2))
def ldexp(x1, x2):
    """Elementwise x1 * 2**x2 for an integer exponent x2, as numpy.ldexp (also beyond the range of 2**x2
    itself, e.g. ldexp(1e-300, 1100)).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.ldexp(np.array([0.75, 1e-300]), np.array([3, 1100]))
    Array([6.00000000e+00, 1.35829853e+31], dtype=float64)
    """
    x1 = _float(x1)
    x2 = _asarray_traced(x2)
    if get_aval(x2).dtype.kind not in "biu":
        raise TypeError(f"ldexp: the exponent must be an integer array, got dtype {get_aval(x2).dtype}")
    dt = get_aval(x1).dtype
    half = floor_divide(x2, 2)
    # two exact scalings by powers of two, so that neither factor overflows or underflows on its own
    return x1 * exp2(_convert(half, dt)) * exp2(_convert(x2 - half, dt))


@numpy_when_eager(lambda x: np.frexp(x))
def frexp(x):
    """The mantissa m (0.5 <= |m| < 1, or 0) and integer exponent e with x = m * 2**e, as numpy.frexp;
    inf and NaN give (x, 0).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.frexp(np.array([8.0, -0.75, 0.0]))
    (Array([ 0.5 , -0.75,  0.  ], dtype=float64), Array([4, 0, 0], dtype=int32))
    """
    x = _float(x)
    finite_nonzero = logical_and(isfinite(x), not_equal(x, 0))
    safe = where(finite_nonzero, abs(x), 1)
    e = floor(log2(safe)) + 1
    m = ldexp(x, _convert(-e, np.int32))
    # log2 may be off by one near powers of two: bring |m| into [0.5, 1)
    too_big, too_small = greater_equal(abs(m), 1), less(abs(m), 0.5)
    e = where(too_big, e + 1, where(too_small, e - 1, e))
    m = where(too_big, m * 0.5, where(too_small, m * 2, m))
    return where(finite_nonzero, m, x), _convert(where(finite_nonzero, e, 0), np.int32)


@numpy_when_eager(np.spacing)
def spacing(x):
    """The distance from x to the next representable number away from zero (negative for negative x).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.spacing(np.array([1.0, -1.0])) / np.finfo(float).eps
    Array([ 1., -1.], dtype=float64)
    """
    x = _float(x)
    return nextafter(x, where(less(x, 0), -np.inf, np.inf)) - x


def _gcd_traced(x1, x2):
    from ..lax.control_flow import while_loop  # here: fnad.lax is not imported until a program uses it

    def body(ab):
        a, b = ab
        nonzero = not_equal(b, 0)
        return where(nonzero, b, a), where(nonzero, mod(a, where(nonzero, b, 1)), 0)

    def any_left(ab):
        b = ab[1]
        return reduce_or(not_equal(b, 0), tuple(range(get_aval(b).ndim)))

    return while_loop(any_left, body, (abs(x1), abs(x2)))[0]


def _int_pair(np_fn, x1, x2):
    x1, x2, dt = _promoted_pair(np_fn, x1, x2)
    if dt.kind not in "iu":
        raise TypeError(f"{np_fn.__name__}: arguments must be integers, got dtype {dt}")
    return x1, x2


@numpy_when_eager(lambda x1, x2: np.gcd(x1, x2))
def gcd(x1, x2):
    """Elementwise greatest common divisor of integers (non-negative; gcd(0, 0) = 0), by Euclid's algorithm
    in a while_loop when traced.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnad.jit(fnp.gcd)(np.array([12, -18, 0]), np.array([8, 12, 5]))
    Array([4, 6, 5], dtype=int64)
    """
    return _gcd_traced(*_int_pair(np.gcd, x1, x2))


@numpy_when_eager(lambda x1, x2: np.lcm(x1, x2))
def lcm(x1, x2):
    """Elementwise least common multiple of integers (non-negative; 0 if either is 0).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnad.jit(fnp.lcm)(np.array([4, -6, 0]), np.array([6, 4, 5]))
    Array([12, 12,  0], dtype=int64)
    """
    x1, x2 = _int_pair(np.lcm, x1, x2)
    g = _gcd_traced(x1, x2)
    return where(equal(g, 0), 0, abs(x1 * floor_divide(x2, where(equal(g, 0), 1, g))))


@numpy_when_eager(np.bitwise_count)
def bitwise_count(x):
    """The number of one bits in |x| for each integer (uint8), as numpy.bitwise_count.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnad.jit(fnp.bitwise_count)(np.array([0, 7, -8, 255]))
    Array([0, 3, 1, 8], dtype=uint8)
    """
    x = _asarray_traced(x)
    dt = get_aval(x).dtype
    if dt.kind not in "biu":
        raise TypeError(f"bitwise_count: x must be an integer array, got dtype {dt}")
    u = _convert(abs(x) if dt.kind == "i" else x, np.uint64)
    c = lambda v: np.array(v, np.uint64)
    shift = lambda v, n: ew.shift_right_logical(v, c(n))
    # the classic parallel bit count over 64-bit words
    u = u - ew.bitwise_and(shift(u, 1), c(0x5555555555555555))
    u = ew.bitwise_and(u, c(0x3333333333333333)) + ew.bitwise_and(shift(u, 2), c(0x3333333333333333))
    u = ew.bitwise_and(u + shift(u, 4), c(0x0F0F0F0F0F0F0F0F))
    return _convert(shift(u * c(0x0101010101010101), 56), np.uint8)


@numpy_when_eager(np.isposinf)
def isposinf(x):
    """Elementwise test for +inf.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.isposinf(np.array([np.inf, -np.inf, 1.0]))
    Array([ True, False, False], dtype=bool)
    """
    return equal(x, np.inf) if get_aval(_asarray_traced(x)).dtype.kind in "fc" else not_equal(x, x)


@numpy_when_eager(np.isneginf)
def isneginf(x):
    """Elementwise test for -inf.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.isneginf(np.array([np.inf, -np.inf, 1.0]))
    Array([False,  True, False], dtype=bool)
    """
    return equal(x, -np.inf) if get_aval(_asarray_traced(x)).dtype.kind in "fc" else not_equal(x, x)


def _is_complex(x):
    return get_aval(x).dtype.kind == "c"


@numpy_when_eager(np.real)
def real(val):
    """The real part (the array itself for real input).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.real(np.array([1.5 + 2j, -2.0]))
    Array([ 1.5, -2. ], dtype=float64)
    >>> fnad.grad(lambda z: fnp.real(z * z))(1.0 + 2j)    # JAX's convention: df/dx - i df/dy
    Array(2.+4.j, dtype=complex128)
    """
    x = _asarray_traced(val)
    return ew.real(x) if _is_complex(x) else x


@numpy_when_eager(np.imag)
def imag(val):
    """The imaginary part (zeros for real input).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.imag(np.array([1.5 + 2j, -2.0]))
    Array([2., 0.], dtype=float64)
    """
    x = _asarray_traced(val)
    return ew.imag(x) if _is_complex(x) else full(get_aval(x).shape, 0, get_aval(x).dtype)


@numpy_when_eager(np.conjugate)
def conjugate(x):
    """The complex conjugate (also `conj`); real input is returned as it is.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.conj(np.array([1.5 + 2j, -2.0]))
    Array([ 1.5-2.j, -2. -0.j], dtype=complex128)
    """
    x = _asarray_traced(x)
    return ew.conj(x) if _is_complex(x) else x


conj = conjugate


@numpy_when_eager(lambda z, deg=False: np.angle(z, deg))
def angle(z, deg=False):
    """The argument of z, arctan2(imag(z), real(z)) (in degrees with deg=True); for real input 0 for
    z >= +0 and pi for z < 0 or -0.0.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.angle(np.array([2.0, -1.0]), deg=True)
    Array([  0., 180.], dtype=float64)
    >>> fnp.angle(np.array([1j, -1 - 1e-300j]))
    Array([ 1.57079633, -3.14159265], dtype=float64)
    """
    z = _asarray_traced(z)
    if _is_complex(z):
        a = ew.angle(z)
    else:
        z = _float(z)
        dt = get_aval(z).dtype
        a = where(isnan(z), z, where(signbit(z), np.array(np.pi, dt), np.array(0, dt)))  # arctan2(+0, z)
    return rad2deg(a) if deg else a


@numpy_when_eager(np.isreal)
def isreal(x):
    """Elementwise test for a zero imaginary part (all true for real input).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.isreal(np.array([1.0 + 0j, 2.0 + 1j]))
    Array([ True, False], dtype=bool)
    """
    x = _asarray_traced(x)
    return equal(ew.imag(x), 0) if _is_complex(x) else full(get_aval(x).shape, True, np.bool_)


@numpy_when_eager(np.iscomplex)
def iscomplex(x):
    """Elementwise test for a nonzero imaginary part (all false for real input).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.iscomplex(np.array([1.0 + 0j, 2.0 + 1j]))
    Array([False,  True], dtype=bool)
    """
    return logical_not(isreal(x))


def isrealobj(x):
    """True unless x has a complex dtype (a static answer, also on traced values).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.isrealobj(np.array([1.0])), fnp.isrealobj(np.array([1j]))
    (True, False)
    """
    return get_aval(_asarray_traced(x)).dtype.kind != "c"


def iscomplexobj(x):
    """True if x has a complex dtype (a static answer, also on traced values).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.iscomplexobj(np.array([1.0]))
    False
    """
    return not isrealobj(x)


@numpy_when_eager(
    lambda a, b, rtol=1e-05, atol=1e-08, equal_nan=False: np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)
)
def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Elementwise |a - b| <= atol + rtol * |b| (infinities close only to themselves; NaN to NaN only with
    equal_nan=True), as numpy.isclose.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.isclose(np.array([1.0, 1.1, np.inf, np.nan]), np.array([1.0 + 1e-9, 1.0, np.inf, np.nan]))
    Array([ True, False,  True, False], dtype=bool)
    """
    a, b = _float(a), _float(b)
    dt, weak = _result_type(a, b)
    a, b = _convert(a, dt, weak), _convert(b, dt, weak)
    finite = logical_and(isfinite(a), isfinite(b))
    out = logical_and(finite, less_equal(abs(a - b), atol + rtol * abs(b)))
    out = logical_or(out, logical_and(logical_not(finite), equal(a, b)))
    return logical_or(out, logical_and(isnan(a), isnan(b))) if equal_nan else out
