"""Elementwise primitives: unary math, binary arithmetic, comparisons, select and dtype conversion.

Operands must have equal shapes, except that rank-0 operands broadcast (as XLA scalars do);
operands must have equal dtypes. `fnad.numpy` does NumPy-style promotion and broadcasting on top.
"""

from __future__ import annotations

import builtins

import numpy as np

from ..ad_util import Zero, add_any, add_any_p, broadcast_in_dim, full, tangent_aval  # noqa: F401 (add_any re-exported)
from ..core import (
    Primitive,
    ShapedArray,
    ShapeError,
    componentwise_parts,
    get_aval,
    is_complex_dtype,
    is_float_dtype,
    real_dtype,
)
from ..ir import Literal
from ..transforms.batching import move_bdim
from ..transforms.jvp import defjvp, deflinear
from ..transforms.reverse import is_undefined

# ----------------------------------------------------------------------------------------------
# Rules shared by the family


def _result_shape(name, avals):
    shape = ()
    for a in avals:
        if a.shape:
            if shape and a.shape != shape:
                raise ShapeError(
                    f"{name}: operand shapes must be equal (or rank 0), got "
                    + ", ".join(str(a.shape) for a in avals)
                    + ". Hint: broadcast explicitly (fnad.numpy broadcasts for you)."
                )
            shape = a.shape
    return shape


def _same_dtype(name, avals):
    dtype = avals[0].dtype
    for a in avals[1:]:
        if a.dtype != dtype:
            raise TypeError(
                f"{name}: operand dtypes must be equal, got "
                + ", ".join(a.dtype.name for a in avals)
                + ". Hint: convert with .astype() (fnad.numpy promotes for you)."
            )
    return dtype


def _standard_eval(name, kinds, out_dtype=None):
    def abstract_eval(*avals, **params):
        shape = _result_shape(name, avals)
        dtype = _same_dtype(name, avals)
        if kinds is not None and not any(np.issubdtype(dtype, k) for k in kinds):
            raise TypeError(f"{name} does not accept dtype {dtype.name}")
        weak = all(a.weak_type for a in avals)
        return ShapedArray(shape, dtype if out_dtype is None else out_dtype, weak and out_dtype is None)

    return abstract_eval


def _batch_elementwise(prim):
    def rule(vals, dims, **params):
        size = next(get_aval(v).shape[d] for v, d in zip(vals, dims) if d is not None)
        ranks = [get_aval(v).ndim - (d is not None) for v, d in zip(vals, dims)]
        rank = builtins.max(ranks)
        first = next(d for d in dims if d is not None)
        if all((d == first and r == rank) or (d is None and r == 0) for d, r in zip(dims, ranks)):
            return prim.bind(*vals, **params), first
        new = []
        for v, d, r in zip(vals, dims, ranks):
            if d is None and r == 0:
                new.append(v)
                continue
            v = move_bdim(v, d, 0, size)
            if r < rank:  # a batched scalar among higher-rank operands
                v = broadcast_in_dim(v, (size,) + _full_shape(vals, dims), (0,))
            new.append(v)
        return prim.bind(*new, **params), 0

    return rule


def _full_shape(vals, dims):
    for v, d in zip(vals, dims):
        s = get_aval(v).shape
        if d is not None:
            s = s[:d] + s[d + 1 :]
        if s:
            return s
    return ()


def unbroadcast(aval, ct):
    """Sum a cotangent down to a rank-0 operand's shape (the implicit scalar broadcast)."""
    if ct is None or type(ct) is Zero:
        return None
    if aval.shape == () and get_aval(ct).shape != ():
        from .reductions import reduce_sum

        ct = reduce_sum(ct, tuple(range(get_aval(ct).ndim)))
    if get_aval(ct).dtype != aval.dtype:
        ct = convert_element_type(ct, aval.dtype)
    return ct


_FLOAT = (np.inexact,)
_REAL = (np.floating,)  # NumPy and JAX define these on real numbers only
_NUM = (np.number,)
_REAL_NUM = (np.integer, np.floating)
_INT_BOOL = (np.integer, np.bool_)


def unary(name, impl, kinds=_FLOAT, out_dtype=None):
    p = Primitive(name)
    p.impl = impl
    p.abstract_eval = _standard_eval(name, kinds, out_dtype)
    p.batch = lambda vals, dims, **params: (p.bind(*vals, **params), dims[0])
    return p


def nary(name, impl, kinds=_NUM, out_dtype=None):
    p = Primitive(name)
    p.impl = impl
    p.abstract_eval = _standard_eval(name, kinds, out_dtype)
    p.batch = _batch_elementwise(p)
    return p


def scalar_like(x, value):
    """A rank-0 NumPy constant of x's dtype (rank-0 operands broadcast in elementwise primitives)."""
    return np.array(value, dtype=get_aval(x).dtype)


def _takes_dtype_of(x, y):
    """Whether the Python scalar x takes y's dtype in a lax-level binary function (a complex scalar only a
    complex one's, as in JAX)."""
    t = type(x)
    if t not in (int, float, bool, builtins.complex) or get_aval(x).dtype == get_aval(y).dtype:
        return False
    return t is not builtins.complex or is_complex_dtype(get_aval(y).dtype)


def _bind2(prim):
    """lax-level binary function: Python scalars take the other operand's dtype (and stay Python
    scalars, so weakly typed, when they already have it)."""

    def f(x, y):
        if _takes_dtype_of(x, y):
            x = scalar_like(y, x)
        elif _takes_dtype_of(y, x):
            y = scalar_like(x, y)
        return prim.bind(x, y)

    f.__name__ = f.__qualname__ = prim.name
    f.__doc__ = (
        f"lax-level `{prim.name}` of two arrays of equal shape (or rank 0) and dtype; a Python "
        "scalar takes the other operand's dtype."
    )
    return f


# ----------------------------------------------------------------------------------------------
# Arithmetic

# On bool, add is logical or and mul logical and (as NumPy's add and multiply).
add_p = nary("add", np.add, kinds=(np.number, np.bool_))
sub_p = nary("sub", np.subtract)
mul_p = nary("mul", np.multiply, kinds=(np.number, np.bool_))
div_p = nary("div", lambda x, y: _div_impl(x, y))
rem_p = nary("rem", np.fmod, kinds=_REAL_NUM)
# On integers pow wraps as NumPy's; a negative exponent raises eagerly (NumPy) and gives the
# truncated 1 / x**|y| in compiled code, which cannot raise (1 for x == 1, +-1 for x == -1, else 0).
pow_p = nary("pow", np.power, kinds=_NUM)
max_p = nary("max", np.maximum, kinds=(np.number, np.bool_))
min_p = nary("min", np.minimum, kinds=(np.number, np.bool_))
atan2_p = nary("atan2", np.arctan2, kinds=_REAL)
nextafter_p = nary("nextafter", np.nextafter, kinds=_REAL)
and_p = nary("and", np.bitwise_and, kinds=_INT_BOOL)
or_p = nary("or", np.bitwise_or, kinds=_INT_BOOL)
xor_p = nary("xor", np.bitwise_xor, kinds=_INT_BOOL)
shift_left_p = nary("shift_left", np.left_shift, kinds=(np.integer,))
shift_right_logical_p = nary("shift_right_logical", lambda x, y: _shift_right_logical(x, y), kinds=(np.integer,))
shift_right_arithmetic_p = nary("shift_right_arithmetic", np.right_shift, kinds=(np.integer,))


def _div_impl(x, y):
    x, y = np.asarray(x), np.asarray(y)
    if np.issubdtype(x.dtype, np.integer):  # C-style truncating division, as lax.div
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.trunc(np.true_divide(x, y))
        return np.where(y == 0, 0, q).astype(np.result_type(x, y))
    return np.true_divide(x, y)


def _shift_right_logical(x, y):
    x = np.asarray(x)
    u = x.view(np.dtype(f"uint{x.dtype.itemsize * 8}")) if np.issubdtype(x.dtype, np.signedinteger) else x
    return np.right_shift(u, np.asarray(y).astype(u.dtype)).astype(x.dtype)


add, sub, mul, div, rem, pow, max, min, atan2, nextafter = map(
    _bind2, [add_p, sub_p, mul_p, div_p, rem_p, pow_p, max_p, min_p, atan2_p, nextafter_p]
)
bitwise_and, bitwise_or, bitwise_xor = map(_bind2, [and_p, or_p, xor_p])
shift_left, shift_right_logical, shift_right_arithmetic = map(
    _bind2, [shift_left_p, shift_right_logical_p, shift_right_arithmetic_p]
)


def _t_add(ct, x, y):
    return [unbroadcast(x.aval, ct) if is_undefined(x) else None, unbroadcast(y.aval, ct) if is_undefined(y) else None]


def _t_sub(ct, x, y):
    return [
        unbroadcast(x.aval, ct) if is_undefined(x) else None,
        unbroadcast(y.aval, neg(ct)) if is_undefined(y) else None,
    ]


def _t_mul(ct, x, y):
    if is_undefined(x) and is_undefined(y):
        raise ValueError("mul: transpose of a product of two linear values (the IR is not linear)")
    if is_undefined(x):
        return [unbroadcast(x.aval, mul(ct, y)), None]
    return [None, unbroadcast(y.aval, mul(x, ct))]


def _t_div(ct, x, y):
    assert not is_undefined(y), "div is linear only in its numerator"
    return [unbroadcast(x.aval, div(ct, y)), None]


defjvp(add_p, lambda g, ans, x, y: _bcast_like(g, ans), lambda g, ans, x, y: _bcast_like(g, ans))
add_p.transpose = _t_add
add_any_p.batch = _batch_elementwise(add_any_p)  # declared in ad_util (the interpreters bind it)
defjvp(add_any_p, lambda g, ans, x, y: _bcast_like(g, ans), lambda g, ans, x, y: _bcast_like(g, ans))
add_any_p.transpose = _t_add
defjvp(sub_p, lambda g, ans, x, y: _bcast_like(g, ans), lambda g, ans, x, y: _bcast_like(neg(g), ans))
sub_p.transpose = _t_sub
defjvp(mul_p, lambda g, ans, x, y: mul(g, y), lambda g, ans, x, y: mul(x, g))
mul_p.transpose = _t_mul
defjvp(div_p, lambda g, ans, x, y: div(g, y), lambda g, ans, x, y: neg(mul(g, div(ans, y))))
div_p.transpose = _t_div
defjvp(
    rem_p,
    lambda g, ans, x, y: _bcast_like(g, ans),
    lambda g, ans, x, y: mul(neg(g), mul(sign(div(x, y)), floor(abs(div(x, y))))),
)
defjvp(pow_p, lambda g, ans, x, y: mul(g, _pow_dx(x, y)), lambda g, ans, x, y: mul(g, _pow_dy(ans, x)))
defjvp(
    atan2_p,
    lambda g, ans, x, y: mul(g, div(y, add(mul(x, x), mul(y, y)))),
    lambda g, ans, x, y: mul(g, div(neg(x), add(mul(x, x), mul(y, y)))),
)
for _p in (nextafter_p, and_p, or_p, xor_p, shift_left_p, shift_right_logical_p, shift_right_arithmetic_p):
    defjvp(_p)


def _pow_dx(x, y):
    # y * x**(y-1), with 0 where y == 0 (so d/dx x**0 = 0 even at x = 0)
    one = scalar_like(y, 1)
    return select(eq(y, scalar_like(y, 0)), zeros_like(mul(x, y)), mul(y, pow(x, sub(y, one))))


def _pow_dy(ans, x):
    # x**y * log(x), defined as 0 where x == 0 (JAX's convention)
    zero = scalar_like(x, 0)
    safe_x = select(eq(x, zero), ones_like(x), x)
    return mul(ans, select(eq(x, zero), zeros_like(ans), log(safe_x)))


def _balanced_eq(x, z, y):
    # Derivative weight of max/min at ties: split evenly between equal operands (JAX's convention).
    one, half = scalar_like(x, 1), scalar_like(x, 0.5)
    return select(eq(x, z), select(eq(y, z), _bcast_like(half, z), _bcast_like(one, z)), zeros_like(z))


defjvp(
    max_p, lambda g, ans, x, y: mul(g, _balanced_eq(x, ans, y)), lambda g, ans, x, y: mul(g, _balanced_eq(y, ans, x))
)
defjvp(
    min_p, lambda g, ans, x, y: mul(g, _balanced_eq(x, ans, y)), lambda g, ans, x, y: mul(g, _balanced_eq(y, ans, x))
)


def _bcast_like(g, ans):
    """A tangent `g` of a rank-0 operand, broadcast to the result's shape."""
    shape = get_aval(ans).shape
    if get_aval(g).shape == shape:
        return g
    return broadcast_in_dim(g, shape, ())


# ----------------------------------------------------------------------------------------------
# Unary


neg_p = unary("neg", np.negative, kinds=_NUM)
sign_p = unary("sign", np.sign, kinds=_NUM)
floor_p = unary("floor", np.floor, kinds=_REAL)
ceil_p = unary("ceil", np.ceil, kinds=_REAL)
round_p = unary("round", np.round, kinds=_REAL)  # half to even, as NumPy
abs_p = unary("abs", np.abs, kinds=_NUM)
abs_p.abstract_eval = lambda a, _eval=abs_p.abstract_eval: _eval(a).update(
    dtype=real_dtype(a.dtype)
)  # |complex| is real
exp_p = unary("exp", np.exp)
exp2_p = unary("exp2", np.exp2)
log_p = unary("log", np.log)
log1p_p = unary("log1p", np.log1p)
expm1_p = unary("expm1", np.expm1)
sqrt_p = unary("sqrt", np.sqrt)
rsqrt_p = unary("rsqrt", lambda x: 1 / np.sqrt(x))
cbrt_p = unary("cbrt", np.cbrt, kinds=_REAL)
sin_p = unary("sin", np.sin)
cos_p = unary("cos", np.cos)
tan_p = unary("tan", np.tan)
asin_p = unary("asin", np.arcsin)
acos_p = unary("acos", np.arccos)
atan_p = unary("atan", np.arctan)
sinh_p = unary("sinh", np.sinh)
cosh_p = unary("cosh", np.cosh)
tanh_p = unary("tanh", np.tanh)
asinh_p = unary("asinh", np.arcsinh)
acosh_p = unary("acosh", np.arccosh)
atanh_p = unary("atanh", np.arctanh)
logistic_p = unary("logistic", lambda x: _logistic_impl(x), kinds=_REAL)
erf_p = unary("erf", lambda x: _erf_impl(x), kinds=_REAL)
erf_inv_p = unary("erf_inv", lambda x: _erf_inv_impl(x), kinds=_REAL)
not_p = unary("not", lambda x: np.logical_not(x) if np.asarray(x).dtype == bool else np.invert(x), kinds=_INT_BOOL)


def _population_count_impl(x):
    """The number of 1 bits of each integer's two's complement form, in its own dtype (as JAX's)."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.integer):  # eagerly too: NumPy would count a float's integer part
        raise TypeError(f"population_count does not accept dtype {x.dtype.name}")
    return np.bitwise_count(x.astype(f"u{x.dtype.itemsize}")).astype(x.dtype)


population_count_p = unary("population_count", _population_count_impl, kinds=(np.integer,))
is_finite_p = unary("is_finite", np.isfinite, out_dtype=np.dtype(bool))
is_nan_p = unary("is_nan", np.isnan, out_dtype=np.dtype(bool))


def _logistic_impl(x):
    x = np.asarray(x)
    with np.errstate(over="ignore"):
        return (1 / (1 + np.exp(-x))).astype(x.dtype)


def _erf_impl(x):
    from math import erf

    x = np.asarray(x)
    return np.vectorize(erf, otypes=[x.dtype])(x) if x.size else x.copy()


def _erf_inv_impl(x):
    # Newton iterations on erf from a good start; accurate to float64 rounding.
    x = np.asarray(x)
    dt = x.dtype
    x64 = x.astype(np.float64)
    a = 0.147
    ln = np.log1p(-x64 * x64)
    t = 2 / (np.pi * a) + ln / 2
    y = np.sign(x64) * np.sqrt(np.sqrt(t * t - ln / a) - t)
    for _ in range(3):
        err = _erf_impl(y) - x64
        y = y - err / (2 / np.sqrt(np.pi) * np.exp(-y * y))
    y = np.where(np.abs(x64) == 1, np.sign(x64) * np.inf, y)
    return y.astype(dt)


def _bind1(prim):
    """lax-level unary function (a plain function, so it can carry a docstring)."""

    def f(x):
        return prim.bind(x)

    f.__name__ = f.__qualname__ = prim.name
    f.__doc__ = f"lax-level `{prim.name}` elementwise on one array (no promotion or broadcasting)."
    return f


(
    neg,
    sign,
    floor,
    ceil,
    round,
    abs,
    exp,
    exp2,
    log,
    log1p,
    expm1,
    sqrt,
    rsqrt,
    cbrt,
    sin,
    cos,
    tan,
    asin,
    acos,
    atan,
    sinh,
    cosh,
    tanh,
    asinh,
    acosh,
    atanh,
    logistic,
    erf,
    erf_inv,
    bitwise_not,
    population_count,
    is_finite,
    is_nan,
) = [
    _bind1(p)
    for p in (
        neg_p,
        sign_p,
        floor_p,
        ceil_p,
        round_p,
        abs_p,
        exp_p,
        exp2_p,
        log_p,
        log1p_p,
        expm1_p,
        sqrt_p,
        rsqrt_p,
        cbrt_p,
        sin_p,
        cos_p,
        tan_p,
        asin_p,
        acos_p,
        atan_p,
        sinh_p,
        cosh_p,
        tanh_p,
        asinh_p,
        acosh_p,
        atanh_p,
        logistic_p,
        erf_p,
        erf_inv_p,
        not_p,
        population_count_p,
        is_finite_p,
        is_nan_p,
    )
]


deflinear(neg_p, lambda ct, x: [neg(ct)])
for _p in (sign_p, floor_p, ceil_p, round_p, not_p, population_count_p, is_finite_p, is_nan_p):
    defjvp(_p)
defjvp(abs_p, lambda g, ans, x: _abs_jvp(g, ans, x))
defjvp(exp_p, lambda g, ans, x: mul(g, ans))
defjvp(exp2_p, lambda g, ans, x: mul(g, mul(ans, scalar_like(ans, np.log(2)))))
defjvp(log_p, lambda g, ans, x: div(g, x))
defjvp(log1p_p, lambda g, ans, x: div(g, add(x, scalar_like(x, 1))))
defjvp(expm1_p, lambda g, ans, x: mul(g, add(ans, scalar_like(ans, 1))))
defjvp(sqrt_p, lambda g, ans, x: div(g, mul(ans, scalar_like(ans, 2))))
defjvp(rsqrt_p, lambda g, ans, x: mul(g, mul(div(ans, x), scalar_like(ans, -0.5))))
defjvp(cbrt_p, lambda g, ans, x: div(g, mul(mul(ans, ans), scalar_like(ans, 3))))
defjvp(sin_p, lambda g, ans, x: mul(g, cos(x)))
defjvp(cos_p, lambda g, ans, x: neg(mul(g, sin(x))))
defjvp(tan_p, lambda g, ans, x: mul(g, add(scalar_like(ans, 1), mul(ans, ans))))
defjvp(asin_p, lambda g, ans, x: mul(g, rsqrt(sub(scalar_like(x, 1), mul(x, x)))))
defjvp(acos_p, lambda g, ans, x: neg(mul(g, rsqrt(sub(scalar_like(x, 1), mul(x, x))))))
defjvp(atan_p, lambda g, ans, x: div(g, add(scalar_like(x, 1), mul(x, x))))
defjvp(sinh_p, lambda g, ans, x: mul(g, cosh(x)))
defjvp(cosh_p, lambda g, ans, x: mul(g, sinh(x)))
defjvp(tanh_p, lambda g, ans, x: mul(g, sub(scalar_like(ans, 1), mul(ans, ans))))
defjvp(asinh_p, lambda g, ans, x: mul(g, rsqrt(add(mul(x, x), scalar_like(x, 1)))))
defjvp(acosh_p, lambda g, ans, x: mul(g, rsqrt(mul(sub(x, scalar_like(x, 1)), add(x, scalar_like(x, 1))))))
defjvp(atanh_p, lambda g, ans, x: div(g, sub(scalar_like(x, 1), mul(x, x))))
defjvp(logistic_p, lambda g, ans, x: mul(g, mul(ans, sub(scalar_like(ans, 1), ans))))
defjvp(erf_p, lambda g, ans, x: mul(g, mul(scalar_like(x, 2 / np.sqrt(np.pi)), exp(neg(mul(x, x))))))
defjvp(erf_inv_p, lambda g, ans, x: mul(g, mul(scalar_like(x, np.sqrt(np.pi) / 2), exp(mul(ans, ans)))))


def integer_pow(x, y):
    """Elementwise x ** y for a static Python int y (exact repeated multiplication; negative y divides).

    >>> import numpy as np, fnad; from fnad import lax
    >>> lax.integer_pow(np.array([2.0, -3.0]), 3)
    Array([  8., -27.], dtype=float64)
    >>> fnad.grad(lambda x: lax.integer_pow(x, -1))(2.0)
    Array(-0.25, dtype=float64)
    """
    return integer_pow_p.bind(x, y=int(y))


integer_pow_p = Primitive("integer_pow")
integer_pow_p.impl = lambda x, y: _integer_pow_impl(x, y)
integer_pow_p.abstract_eval = lambda a, y: _check_integer_pow(a.dtype, y) or a
integer_pow_p.batch = lambda vals, dims, y: (integer_pow(vals[0], y), dims[0])


def _check_integer_pow(dtype, y):
    if y < 0 and not is_float_dtype(dtype):
        raise ValueError(
            f"integer_pow: {np.dtype(dtype).name} to the negative power {y} is not allowed "
            "(integers to negative integer powers); convert to a float dtype first"
        )


def _integer_pow_impl(x, y):
    x = np.asarray(x)
    _check_integer_pow(x.dtype, y)
    if not is_float_dtype(x.dtype):
        return np.power(x, x.dtype.type(y))
    # one correctly rounded pow (1/x**-y would be 0 once x**-y overflows, e.g. 10.0**-320); the
    # exponent as float64 so that float32 keeps odd exponents beyond 2**24 odd
    return np.power(x, np.float64(y)).astype(x.dtype)


def _integer_pow_jvp(g, ans, x, y):
    if y == 0:
        return zeros_like(g)
    dx = scalar_like(x, y) if y == 1 else mul(scalar_like(x, y), x if y == 2 else integer_pow(x, y - 1))
    return mul(g, dx)


defjvp(integer_pow_p, _integer_pow_jvp)

# ----------------------------------------------------------------------------------------------
# Comparisons, select, conversion

eq_p = nary("eq", np.equal, kinds=None, out_dtype=np.dtype(bool))
ne_p = nary("ne", np.not_equal, kinds=None, out_dtype=np.dtype(bool))
lt_p = nary("lt", np.less, kinds=None, out_dtype=np.dtype(bool))
le_p = nary("le", np.less_equal, kinds=None, out_dtype=np.dtype(bool))
gt_p = nary("gt", np.greater, kinds=None, out_dtype=np.dtype(bool))
ge_p = nary("ge", np.greater_equal, kinds=None, out_dtype=np.dtype(bool))
for _p in (eq_p, ne_p, lt_p, le_p, gt_p, ge_p):
    defjvp(_p)
eq, ne, lt, le, gt, ge = map(_bind2, [eq_p, ne_p, lt_p, le_p, gt_p, ge_p])

select_p = Primitive("select")  # select(pred, on_true, on_false)


def _select_eval(pred, t, f):
    if pred.dtype != np.bool_:
        raise TypeError(f"select: predicate must be bool, got {pred.dtype.name}")
    shape = _result_shape("select", [pred, t, f])
    _same_dtype("select", [t, f])
    return ShapedArray(shape, t.dtype, t.weak_type and f.weak_type)


def _select_transpose(ct, pred, t, f):
    assert not is_undefined(pred)
    z = zeros_like(ct)
    return [
        None,
        unbroadcast(t.aval, select(pred, ct, z)) if is_undefined(t) else None,
        unbroadcast(f.aval, select(pred, z, ct)) if is_undefined(f) else None,
    ]


select_p.impl = lambda p, t, f: np.where(p, t, f)
select_p.abstract_eval = _select_eval
select_p.batch = _batch_elementwise(select_p)
select_p.transpose = _select_transpose
defjvp(
    select_p,
    None,
    lambda g, ans, p, t, f: select(p, _bcast_like(g, ans), zeros_like(ans)),
    lambda g, ans, p, t, f: select(p, zeros_like(ans), _bcast_like(g, ans)),
)


def select(pred, on_true, on_false):
    """Elementwise `on_true` where the boolean `pred` holds, else `on_false` (equal shapes and dtypes; rank-0
    operands broadcast). The derivative flows into the selected branch only.

    >>> import numpy as np, fnad; from fnad import lax
    >>> x = np.array([-1.0, 2.0])
    >>> lax.select(x > 0, x, np.zeros(2))
    Array([0., 2.], dtype=float64)
    >>> fnad.grad(lambda x: lax.select(x > 0, x * x, -x).sum())(x)
    Array([-1.,  4.], dtype=float64)
    """
    return select_p.bind(pred, on_true, on_false)


convert_element_type_p = Primitive("convert_element_type")
convert_element_type_p.impl = lambda x, new_dtype, weak_type=False: _convert_impl(x, new_dtype)
convert_element_type_p.abstract_eval = lambda a, new_dtype, weak_type=False: ShapedArray(a.shape, new_dtype, weak_type)
convert_element_type_p.batch = lambda vals, dims, **p: (convert_element_type_p.bind(vals[0], **p), dims[0])


def _convert_impl(x, new_dtype):
    x = np.asarray(x)
    if x.dtype.kind == "c" and new_dtype.kind not in "cb":  # the real part, as lax (NumPy would warn)
        x = x.real
    return x.astype(new_dtype)


def convert_element_type(x, new_dtype, weak_type=False):
    """x converted to `new_dtype` (as NumPy's astype; float to int truncates; complex to real keeps the real
    part, as JAX). The derivative passes through conversions between float and complex dtypes and is zero
    through integer ones.

    >>> import numpy as np, fnad; from fnad import lax
    >>> lax.convert_element_type(np.array([1.7, -1.7]), np.int32)
    Array([ 1, -1], dtype=int32)
    >>> fnad.grad(lambda x: lax.convert_element_type(x, np.float32).astype(np.float64) * 2)(1.0)
    Array(2., dtype=float64)
    """
    new_dtype = np.dtype(new_dtype)
    aval = get_aval(x)
    if aval.dtype == new_dtype and aval.weak_type == weak_type and type(x) not in (int, float, bool, builtins.complex):
        return x
    return convert_element_type_p.bind(x, new_dtype=new_dtype, weak_type=weak_type)


bitcast_convert_type_p = Primitive("bitcast_convert_type")
bitcast_convert_type_p.impl = lambda x, new_dtype: np.array(x, order="C").view(new_dtype)
bitcast_convert_type_p.abstract_eval = lambda a, new_dtype: ShapedArray(a.shape, new_dtype)
bitcast_convert_type_p.batch = lambda vals, dims, **p: (bitcast_convert_type_p.bind(vals[0], **p), dims[0])
defjvp(bitcast_convert_type_p)  # the bits of a value are not a differentiable function of it (JAX: zero)


def bitcast_convert_type(operand, new_dtype):
    """The bits of each element of `operand` read as `new_dtype`, a number type of the same width (as
    NumPy's `view`). JAX also converts between widths (adding or removing a last axis); fnad does not.

    >>> import numpy as np; from fnad import lax
    >>> lax.bitcast_convert_type(np.array([1.0, -2.0]), np.int64)
    Array([ 4607182418800017408, -4611686018427387904], dtype=int64)
    """
    new_dtype = np.dtype(new_dtype)
    dtype = get_aval(operand).dtype
    if dtype == new_dtype:
        return operand
    if dtype.kind not in "iuf" or new_dtype.kind not in "iuf":
        raise TypeError(
            f"lax.bitcast_convert_type converts between integer and float types, got {dtype.name} to {new_dtype.name}"
        )
    if dtype.itemsize != new_dtype.itemsize:
        raise NotImplementedError(
            f"lax.bitcast_convert_type between widths ({dtype.name} to {new_dtype.name}) is not implemented in fnad; "
            "types of one width are"
        )
    return bitcast_convert_type_p.bind(operand, new_dtype=new_dtype)


def _convert_jvp(primals, tangents, new_dtype, weak_type=False):
    (x,), (g,) = primals, tangents
    ans = convert_element_type(x, new_dtype, weak_type)
    if type(g) is Zero or not is_float_dtype(new_dtype) or not is_float_dtype(get_aval(x).dtype):
        return ans, Zero(tangent_aval(get_aval(ans)))
    return ans, convert_element_type(g, new_dtype)


convert_element_type_p.jvp = _convert_jvp
convert_element_type_p.transpose = lambda ct, x, new_dtype, weak_type=False: [convert_element_type(ct, x.aval.dtype)]


def zeros_like(x):
    a = get_aval(x)
    return full(a.shape, 0, a.dtype)


def ones_like(x):
    a = get_aval(x)
    return full(a.shape, 1, a.dtype)


# ----------------------------------------------------------------------------------------------
# Algebraic simplification rules used by fnad.ir.simplify (x*1 -> x, x*-1 -> -x, x+0 -> x, ...)


def _literal_is(a, value):
    return type(a) is Literal and a.aval.shape == () and bool(np.asarray(a.val) == value)


def _fits(a, out_aval):
    return a.aval.shape == out_aval.shape and a.aval.dtype == out_aval.dtype


def _other(invars, value, out_aval):
    x, y = invars
    if _literal_is(x, value) and _fits(y, out_aval):
        return y
    if _literal_is(y, value) and _fits(x, out_aval):
        return x
    return None


def _simplify_mul(invars, params, out_aval, defs):
    one = _other(invars, 1, out_aval)
    if one is not None:
        return one
    minus = _other(invars, -1, out_aval)
    return None if minus is None else (neg_p, [minus], {})


def _simplify_add(invars, params, out_aval, defs):
    return _other(invars, 0, out_aval)


def _simplify_sub(invars, params, out_aval, defs):
    x, y = invars
    if _literal_is(y, 0) and _fits(x, out_aval):
        return x
    if _literal_is(x, 0) and _fits(y, out_aval):
        return (neg_p, [y], {})
    return None


def _simplify_div(invars, params, out_aval, defs):
    x, y = invars
    return x if _literal_is(y, 1) and _fits(x, out_aval) else None


def _simplify_neg(invars, params, out_aval, defs):
    producer = defs.get(invars[0])
    return producer.invars[0] if producer is not None and producer.primitive is neg_p else None


def _simplify_convert(invars, params, out_aval, defs):
    return invars[0] if invars[0].aval == out_aval else None


mul_p.simplify = _simplify_mul
add_p.simplify = add_any_p.simplify = _simplify_add
sub_p.simplify = _simplify_sub
div_p.simplify = _simplify_div
neg_p.simplify = _simplify_neg
convert_element_type_p.simplify = _simplify_convert
for _p in (add_p, add_any_p, mul_p, max_p, min_p, eq_p, ne_p, and_p, or_p, xor_p):
    _p.commutative = True


# ----------------------------------------------------------------------------------------------
# Complex numbers: real, imag, complex, conj, and how each primitive of the family computes on real
# and imaginary parts under jit (its `complex_parts` rule; `fnad.passes.lower_complex`). Transposes
# are linear, as JAX's: the cotangent pairing is Re(ct * t), without conjugation.


def _complex_only(name):
    def abstract_eval(a, **params):
        if not is_complex_dtype(a.dtype):
            raise TypeError(
                f"{name} requires a complex array, got dtype {a.dtype.name} (fnad.numpy.{name} also takes real ones)"
            )
        return a if name == "conj" else ShapedArray(a.shape, real_dtype(a.dtype), a.weak_type)

    return abstract_eval


def _complex_eval(x, y):
    shape = _result_shape("complex", [x, y])
    dtype = _same_dtype("complex", [x, y])
    if not np.issubdtype(dtype, np.floating):
        raise TypeError(f"complex requires float operands (the real and imaginary parts), got dtype {dtype.name}")
    return ShapedArray(shape, np.result_type(dtype, np.complex64), x.weak_type and y.weak_type)


def _complex_impl(x, y):
    x, y = np.asarray(x), np.asarray(y)
    out = np.empty(np.broadcast_shapes(x.shape, y.shape), np.result_type(x.dtype, np.complex64))
    out.real, out.imag = x, y  # not x + 1j * y, which turns inf * 1j into nan + inf j
    return out


def _complex_impl_of(name, fn):
    """The NumPy implementation `fn`, refusing real input as staging does (as JAX's lax.real)."""
    check = _complex_only(name)

    def impl(x):
        check(get_aval(x))
        return fn(x)

    return impl


real_p = unary("real", _complex_impl_of("real", np.real), kinds=None)
imag_p = unary("imag", _complex_impl_of("imag", np.imag), kinds=None)
conj_p = unary("conj", _complex_impl_of("conj", np.conj), kinds=None)
real_p.abstract_eval, imag_p.abstract_eval, conj_p.abstract_eval = map(_complex_only, ("real", "imag", "conj"))
complex_p = nary("complex", _complex_impl)
complex_p.abstract_eval = _complex_eval


def real(x):
    """The real part of a complex array (lax-level: complex input only; fnad.numpy.real takes real ones too).

    >>> import numpy as np, fnad; from fnad import lax
    >>> lax.real(np.array([1 + 2j, 3 - 4j]))
    Array([1., 3.], dtype=float64)
    """
    return real_p.bind(x)


def imag(x):
    """The imaginary part of a complex array (lax-level: complex input only).

    >>> import numpy as np, fnad; from fnad import lax
    >>> lax.imag(np.array([1 + 2j, 3 - 4j]))
    Array([ 2., -4.], dtype=float64)
    """
    return imag_p.bind(x)


def conj(x):
    """The complex conjugate; real input is converted to complex first (as JAX's lax.conj).

    >>> import numpy as np, fnad; from fnad import lax
    >>> lax.conj(np.array([1 + 2j]))
    Array([1.-2.j], dtype=complex128)
    """
    dtype = get_aval(x).dtype
    if not is_complex_dtype(dtype):
        x = convert_element_type(x, np.result_type(dtype, np.complex64))
    return conj_p.bind(x)


def complex(x, y):
    """x + i y elementwise from real arrays of one float dtype (equal shapes or rank 0): complex64 from
    float32, complex128 from float64.

    >>> import numpy as np, fnad; from fnad import lax
    >>> lax.complex(np.array([1.0, 2.0]), np.array([3.0, -1.0]))
    Array([1.+3.j, 2.-1.j], dtype=complex128)
    """
    return _complex2(x, y)


_complex2 = _bind2(complex_p)


def angle(x):
    """The argument of x, atan2(imag(x), real(x)), in (-pi, pi]; for real x, 0 or pi (atan2(0, x)).

    >>> import numpy as np, fnad; from fnad import lax
    >>> lax.angle(np.array([1j, -1.0 + 0j]))
    Array([1.57079633, 3.14159265], dtype=float64)
    """
    if is_complex_dtype(get_aval(x).dtype):
        return atan2(imag(x), real(x))
    return atan2(zeros_like(x), x)


deflinear(real_p, lambda ct, x: [complex(ct, zeros_like(ct))])
deflinear(imag_p, lambda ct, x: [complex(zeros_like(ct), neg(ct))])
deflinear(conj_p, lambda ct, x: [conj(ct)])
deflinear(
    complex_p,
    lambda ct, x, y: [
        unbroadcast(x.aval, real(ct)) if is_undefined(x) else None,
        unbroadcast(y.aval, neg(imag(ct))) if is_undefined(y) else None,
    ],
)


def _abs_jvp(g, ans, x):
    if not is_complex_dtype(get_aval(x).dtype):
        return select(ge(x, scalar_like(x, 0)), g, neg(g))  # d|x|/dx = 1 at 0, as JAX
    # Re(conj(x) g) / |x|, and 0 at x = 0 (JAX's rule)
    safe = select(eq(ans, zeros_like(ans)), ones_like(ans), ans)
    return real(mul(g, div(conj(x), convert_element_type(safe, get_aval(x).dtype))))


# The rules on parts: a complex operand is a pair (re, im) of real arrays of its shape.


def _c(x, value):
    return scalar_like(x, value)


def mul_parts(x, y):
    """The product of two complex numbers given as (re, im) pairs of real arrays."""
    (a, b), (c, d) = x, y
    return sub(mul(a, c), mul(b, d)), add(mul(a, d), mul(b, c))


def bilinear_parts(prim):
    """A `complex_parts` rule for a primitive bilinear in its two operands (dot_general, convolutions):
    (a + ib)(c + id) = ac - bd + i(ad + bc), four real products."""

    def rule(x, y, **params):
        (a, b), (c, d) = x, y
        f = lambda u, v: prim.bind(u, v, **params)
        return sub(f(a, c), f(b, d)), add(f(a, d), f(b, c))

    return rule


def _cdiv(x, y):
    # Smith's algorithm, as NumPy's: scale by the larger of |c|, |d| so that c*c + d*d never overflows
    (a, b), (c, d) = x, y
    c_larger = ge(abs(c), abs(d))
    big, small = select(c_larger, c, d), select(c_larger, d, c)
    ratio = div(small, big)
    scale = div(_c(big, 1), add(big, mul(small, ratio)))
    re = select(c_larger, add(a, mul(b, ratio)), add(mul(a, ratio), b))
    im = select(c_larger, sub(b, mul(a, ratio)), sub(mul(b, ratio), a))
    re, im = mul(re, scale), mul(im, scale)
    by_zero = bitwise_and(eq(c, _c(c, 0)), eq(d, _c(d, 0)))  # x / 0: NumPy's (a / |c|, b / |d|)
    return select(by_zero, div(a, abs(c)), re), select(by_zero, div(b, abs(d)), im)


def _is_inf(x):
    return eq(abs(x), _c(x, np.inf))


def _hypot(a, b):
    """|a + ib| without overflow or underflow: the larger magnitude times sqrt(1 + ratio**2)."""
    a, b = abs(a), abs(b)
    big, small = max(a, b), min(a, b)
    ratio = div(small, select(eq(big, _c(big, 0)), ones_like(big), big))
    h = mul(big, sqrt(add(_c(ratio, 1), mul(ratio, ratio))))
    return select(bitwise_or(_is_inf(a), _is_inf(b)), _bcast_like(_c(a, np.inf), h), h)  # inf beats nan


def _copysign(magnitude, sign_of):
    negative = bitwise_or(
        lt(sign_of, _c(sign_of, 0)),
        bitwise_and(eq(sign_of, _c(sign_of, 0)), lt(div(_c(sign_of, 1), sign_of), _c(sign_of, 0))),
    )
    return select(negative, neg(magnitude), magnitude)


def _overflow_threshold(x):
    return 700.0 if get_aval(x).dtype == np.float64 else 85.0


def _exp_times(x, s):
    """exp(x) * s, finite also where exp(x) alone overflows: there exp(x - T) * s * exp(T), one exp
    either way (x - T is exact)."""
    t = _overflow_threshold(x)
    big = gt(x, _c(x, t))
    r = mul(exp(select(big, sub(x, _c(x, t)), x)), s)
    return select(big, mul(r, _c(r, np.exp(t))), r)


def _hyp_times(x, s, odd):
    """cosh(x) * s (sinh(x) * s if `odd`), finite also where cosh(x) alone overflows."""
    large = _exp_times(abs(x), mul(s, _c(s, 0.5)))
    if odd:
        large = select(lt(x, _c(x, 0)), neg(large), large)
    return select(gt(abs(x), _c(x, _overflow_threshold(x))), large, mul(sinh(x) if odd else cosh(x), s))


def _cexp(a, b):
    # exp(x + 0j) is real, also for x = +-inf (where inf * sin(0) would be nan)
    re, im = _exp_times(a, cos(b)), select(eq(b, _c(b, 0)), b, _exp_times(a, sin(b)))
    # C99's limits for an infinite real part and an infinite or nan imaginary part: exp(-inf + i y) = 0,
    # exp(inf + i y) = inf + i nan
    b_nonfinite = bitwise_not(is_finite(b))
    to_zero = bitwise_and(eq(a, _c(a, -np.inf)), b_nonfinite)
    to_inf = bitwise_and(eq(a, _c(a, np.inf)), b_nonfinite)
    re = select(to_zero, zeros_like(re), select(to_inf, _bcast_like(_c(a, np.inf), re), re))
    return re, select(to_zero, zeros_like(im), im)


def _two_sum(a, b):
    """a + b as an unevaluated sum s + e of two floats, exactly (Knuth)."""
    s = add(a, b)
    bb = sub(s, a)
    return s, add(sub(a, sub(s, bb)), sub(b, bb))


def _two_square(x):
    """x * x as an unevaluated sum p + e of two floats, exactly (Dekker's product with Veltkamp's split)."""
    p = mul(x, x)
    c = mul(x, _c(x, 134217729.0 if get_aval(x).dtype == np.float64 else 4097.0))  # 2**27 + 1 (2**12 + 1)
    hi = sub(c, sub(c, x))
    lo = sub(x, hi)
    return p, add(add(sub(mul(hi, hi), p), mul(add(hi, hi), lo)), mul(lo, lo))


def _clog(a, b):
    aa, bb = abs(a), abs(b)
    big, small = max(aa, bb), min(aa, bb)
    ratio = div(small, select(eq(big, _c(big, 0)), ones_like(big), big))
    far = add(log(big), mul(_c(ratio, 0.5), log1p(mul(ratio, ratio))))
    # near |z| = 1, log|z| = log1p(big**2 - 1 + small**2) / 2, the argument summed exactly enough that its
    # cancellation leaves a correctly rounded value: big - 1 is exact there, big**2 - 1 = x**2 + 2x
    x = sub(big, _c(big, 1))
    x2, x2_err = _two_square(x)
    s2, s2_err = _two_square(small)
    t, t_err = _two_sum(add(x, x), s2)
    t, t_err2 = _two_sum(t, x2)
    near = mul(_c(big, 0.5), log1p(add(t, add(add(t_err, t_err2), add(x2_err, s2_err)))))
    near_one = bitwise_and(gt(big, _c(big, 0.5)), lt(big, _c(big, 2)))
    re = select(_is_inf(big), big, select(near_one, near, far))
    return re, atan2(b, a)


def _csqrt(a, b):
    # t = sqrt((|a| + |z|) / 2) has no cancellation; the other part is b / 2t (as C99 csqrt)
    t = sqrt(add(mul(abs(a), _c(a, 0.5)), mul(_hypot(a, b), _c(a, 0.5))))
    other = div(abs(b), add(t, t))
    re = select(ge(a, _c(a, 0)), t, other)
    im = select(ge(a, _c(a, 0)), _copysign(other, b), _copysign(t, b))
    zero = eq(t, _c(t, 0))  # sqrt(+-0 + bj) = 0 + bj only for b = 0
    re, im = select(zero, zeros_like(t), re), select(zero, b, im)
    inf_b = _is_inf(b)  # sqrt(x +- inf j) = inf +- inf j, even for x nan
    return select(inf_b, abs(b), re), select(inf_b, b, im)


def _csin(a, b):
    # sin(+-0 + iy) = +-0 + i sinh(y) exactly, also for y = +-inf (where 0 * cosh(y) would be nan)
    a_zero = eq(a, _c(a, 0))
    im = _hyp_times(b, cos(a), True)
    # sin(x +- 0j) for x = +-inf or nan: nan +- 0j, as C99 (cos(x) * 0 would make it nan)
    im = select(bitwise_and(eq(b, _c(b, 0)), bitwise_not(is_finite(a))), b, im)
    return select(a_zero, a, _hyp_times(b, sin(a), False)), im


def _ccos(a, b):
    # cos(+-0 + iy) = cosh(y) - i (+-0)(sign y), also for y = +-inf
    a_zero = eq(a, _c(a, 0))
    signed_zero = neg(mul(a, _copysign(ones_like(b), b)))
    im = select(a_zero, signed_zero, neg(_hyp_times(b, sin(a), True)))
    # cos(x +- 0j) for x = +-inf or nan: nan + 0j, as NumPy
    im = select(bitwise_and(eq(b, _c(b, 0)), bitwise_not(is_finite(a))), zeros_like(im), im)
    return _hyp_times(b, cos(a), False), im


def _ctanh(a, b):
    # Kahan's algorithm (as C99 ctanh): exact limits for large |a|, no overflow of sinh or cosh
    t = tan(b)
    beta = add(_c(t, 1), mul(t, t))
    s = sinh(a)
    rho = sqrt(add(_c(s, 1), mul(s, s)))
    den = add(_c(s, 1), mul(beta, mul(s, s)))
    large = gt(abs(a), _c(a, 22 if get_aval(a).dtype == np.float64 else 9))
    sign_a = select(lt(a, _c(a, 0)), _bcast_like(_c(a, -1), a), _bcast_like(_c(a, 1), a))
    tiny = mul(mul(_c(b, 4), mul(sin(b), cos(b))), exp(mul(_c(a, -2), abs(a))))
    tiny = select(_is_inf(a), _copysign(zeros_like(b), b), tiny)  # tanh(+-inf + iy) = +-1 + 0i, also for y inf, nan
    re = select(eq(a, _c(a, 0)), a, div(mul(beta, mul(rho, s)), den))  # tanh(+-0 + iy) = +-0 + i tan(y)
    return select(large, sign_a, re), select(large, tiny, div(t, den))


def _clog1p(a, b):
    # log(1 + z); for small |z| the real part log|1 + z| = log1p(2a + a*a + b*b) / 2 keeps its accuracy
    small = lt(max(abs(a), abs(b)), _c(a, 0.5))
    near = mul(_c(a, 0.5), log1p(add(mul(a, add(a, _c(a, 2))), mul(b, b))))
    one_plus = add(a, _c(a, 1))
    re, _ = _clog(one_plus, b)
    return select(small, near, re), atan2(b, one_plus)


def _cexpm1(a, b):
    # exp(z) - 1 = expm1(a) cos(b) - 2 sin(b/2)**2 + i exp(a) sin(b): no cancellation for small z
    half_sin = sin(mul(b, _c(b, 0.5)))
    re = sub(mul(expm1(a), cos(b)), mul(_c(b, 2), mul(half_sin, half_sin)))
    return re, select(eq(b, _c(b, 0)), b, mul(exp(a), sin(b)))


def _casin_parts(a, b):
    """sqrt(1 - z) and sqrt(1 + z), from which Kahan's formulas give asin and acos without cancellation."""
    one = _c(a, 1)
    return _csqrt(sub(one, a), neg(b)), _csqrt(add(one, a), b)


def _casin(a, b):
    # Kahan: asin z = atan2(Re z, Re(s1 s2)) + i asinh(Im(conj(s1) s2)), s1 = sqrt(1 - z), s2 = sqrt(1 + z)
    (p, q), (r, t) = _casin_parts(a, b)
    return atan2(a, sub(mul(p, r), mul(q, t))), asinh(sub(mul(p, t), mul(q, r)))


def _cacos(a, b):
    # Kahan: acos z = 2 atan2(Re s1, Re s2) + i asinh(Im(conj(s2) s1))
    (p, q), (r, t) = _casin_parts(a, b)
    return mul(_c(a, 2), atan2(p, r)), asinh(sub(mul(r, q), mul(t, p)))


def _cacosh(a, b):
    # Kahan: acosh z = asinh(Re(conj(s1) s2)) + 2i atan2(Im s1, Re s2), s1 = sqrt(z - 1), s2 = sqrt(z + 1)
    one = _c(a, 1)
    (p, q), (r, t) = _csqrt(sub(a, one), b), _csqrt(add(a, one), b)
    return asinh(add(mul(p, r), mul(q, t))), mul(_c(a, 2), atan2(q, r))


def _catanh(a, b):
    # atanh z = log((1 + z) / (1 - z)) / 2, computed for Re z >= 0 (atanh is odd): there
    # re = log1p(4a / |1 - z|**2) / 4 has no cancellation (|1 - z| by hypot: no overflow), and
    # im = atan2(2b, 1 - a**2 - b**2) / 2, its second argument summed exactly enough to survive its
    # cancellation near |z| = 1 (+-pi/2 on the cuts, following the sign of b)
    flip = lt(a, _c(a, 0))
    a, b = select(flip, neg(a), a), select(flip, neg(b), b)
    h = _hypot(sub(_c(a, 1), a), b)
    re = mul(_c(a, 0.25), log1p(div(div(mul(_c(a, 4), a), h), h)))
    a2, a2_err = _two_square(a)
    b2, b2_err = _two_square(b)
    t, t_err = _two_sum(_c(a, 1), neg(a2))
    t, t_err2 = _two_sum(t, neg(b2))
    d = add(t, sub(add(t_err, t_err2), add(a2_err, b2_err)))
    # far from the unit circle the plain sum is exact enough (and the splitting would overflow)
    huge = gt(max(a, abs(b)), _c(a, 1e150 if get_aval(a).dtype == np.float64 else 1e18))
    d = select(huge, sub(sub(_c(a, 1), mul(a, a)), mul(b, b)), d)
    im = mul(_c(a, 0.5), atan2(add(b, b), d))
    return select(flip, neg(re), re), select(flip, neg(im), im)


def _via_i(rule, turn):
    """f(z) from g(i z): f = -i g(iz) (turn) for sinh from sin, tan from tanh, asinh from asin, atan from
    atanh; f = g(iz) for cosh from cos."""

    def parts(a, b):
        p, q = rule(neg(b), a)
        return (q, neg(p)) if turn else (p, q)

    return parts


def _cabs(x):
    return _hypot(*x)


def _csign(x):
    r = _hypot(*x)
    zero = eq(r, _c(r, 0))
    safe = select(zero, ones_like(r), r)
    return select(zero, zeros_like(r), div(x[0], safe)), select(zero, zeros_like(r), div(x[1], safe))


def _cone(x):
    return ones_like(x[0]), zeros_like(x[0])


def power_by_squaring(x, n, multiply):
    """x to the integer power n >= 1 under `multiply`, by repeated squaring (about 2 log2(n) products)."""
    acc = None
    while n:
        if n & 1:
            acc = x if acc is None else multiply(acc, x)
        n >>= 1
        if n:
            x = multiply(x, x)
    return acc


def _cinteger_pow(x, y):
    """x ** y by repeated squaring (as NumPy for small integer powers); a negative power divides 1 by it."""
    if y == 0:
        return _cone(x)
    acc = power_by_squaring(x, builtins.abs(y), mul_parts)
    return _cdiv(_cone(x), acc) if y < 0 else acc


def _cpow(x, y):
    r = _cexp(*mul_parts(y, _clog(*x)))
    # 0 ** y: 1 for y = 0, 0 for real y > 0, nan otherwise (as NumPy)
    x_zero = bitwise_and(eq(x[0], _c(x[0], 0)), eq(x[1], _c(x[1], 0)))
    y_zero = bitwise_and(eq(y[0], _c(y[0], 0)), eq(y[1], _c(y[1], 0)))
    y_pos_real = bitwise_and(gt(y[0], _c(y[0], 0)), eq(y[1], _c(y[1], 0)))
    nan = _c(x[0], np.nan)
    zero_re = select(y_zero, ones_like(r[0]), select(y_pos_real, zeros_like(r[0]), _bcast_like(nan, r[0])))
    zero_im = select(bitwise_or(y_zero, y_pos_real), zeros_like(r[1]), _bcast_like(nan, r[1]))
    return select(x_zero, zero_re, r[0]), select(x_zero, zero_im, r[1])


def _lexicographic(strict, less):
    """NumPy's order of complex numbers: by real part, then by imaginary part."""
    return lambda x, y: bitwise_or(less(x[0], y[0]), bitwise_and(eq(x[0], y[0]), strict(x[1], y[1])))


def _convert_parts(x, new_dtype, weak_type=False):
    if type(x) is not tuple:  # real -> complex
        re = convert_element_type(x, real_dtype(new_dtype))
        return re, zeros_like(re)
    re, im = x
    if is_complex_dtype(new_dtype):
        return convert_element_type(re, real_dtype(new_dtype)), convert_element_type(im, real_dtype(new_dtype))
    if new_dtype == np.bool_:
        return bitwise_or(ne(re, _c(re, 0)), ne(im, _c(im, 0)))
    return convert_element_type(re, new_dtype)  # the real part


def _full_shape_parts(*parts):
    """The parts broadcast to their common shape (rank-0 ones are broadcast; a pair's parts must agree)."""
    shape = _result_shape("complex", [get_aval(p) for p in parts])
    return [p if get_aval(p).shape == shape else broadcast_in_dim(p, shape, ()) for p in parts]


def _select_max(ge_rule):
    def rule(x, y):
        a, b, c, d = _full_shape_parts(*x, *y)
        take_x = ge_rule((a, b), (c, d))
        return select(take_x, a, c), select(take_x, b, d)

    return rule


for _p in (add_p, add_any_p, sub_p, neg_p, select_p):
    _p.complex_parts = componentwise_parts(_p)
_unary_parts = {
    exp_p: _cexp,
    log_p: _clog,
    sqrt_p: _csqrt,
    sin_p: _csin,
    cos_p: _ccos,
    tanh_p: _ctanh,
    sinh_p: _via_i(_csin, True),
    cosh_p: _via_i(_ccos, False),
    tan_p: _via_i(_ctanh, True),
    log1p_p: _clog1p,
    expm1_p: _cexpm1,
    asin_p: _casin,
    acos_p: _cacos,
    acosh_p: _cacosh,
    atanh_p: _catanh,
    asinh_p: _via_i(_casin, True),  # asinh z = -i asin(iz)
    atan_p: _via_i(_catanh, True),  # atan z = -i atanh(iz)
}
for _p, _rule in _unary_parts.items():
    _p.complex_parts = (lambda rule: lambda x: rule(*x))(_rule)
mul_p.complex_parts = mul_parts
div_p.complex_parts = _cdiv
pow_p.complex_parts = _cpow
abs_p.complex_parts = _cabs
sign_p.complex_parts = _csign
rsqrt_p.complex_parts = lambda x: _cdiv(_cone(x), _csqrt(*x))
exp2_p.complex_parts = lambda x: _cexp(*mul_parts(x, (_c(x[0], np.log(2)), _c(x[0], 0))))
integer_pow_p.complex_parts = _cinteger_pow
real_p.complex_parts = lambda x: x[0]
imag_p.complex_parts = lambda x: x[1]
conj_p.complex_parts = lambda x: (x[0], neg(x[1]))
complex_p.complex_parts = lambda x, y: tuple(_full_shape_parts(x, y))
convert_element_type_p.complex_parts = _convert_parts
is_finite_p.complex_parts = lambda x: bitwise_and(is_finite(x[0]), is_finite(x[1]))
is_nan_p.complex_parts = lambda x: bitwise_or(is_nan(x[0]), is_nan(x[1]))
eq_p.complex_parts = lambda x, y: bitwise_and(eq(x[0], y[0]), eq(x[1], y[1]))
ne_p.complex_parts = lambda x, y: bitwise_or(ne(x[0], y[0]), ne(x[1], y[1]))
lt_p.complex_parts = _lexicographic(lt, lt)
le_p.complex_parts = _lexicographic(le, lt)
gt_p.complex_parts = _lexicographic(gt, gt)
ge_p.complex_parts = _lexicographic(ge, gt)
max_p.complex_parts = _select_max(ge_p.complex_parts)
min_p.complex_parts = _select_max(le_p.complex_parts)
