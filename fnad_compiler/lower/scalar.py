"""Scalar rules: one per elementwise primitive, rule(b, eqn, *args) -> value (register types),
registered with `scalar_rule` (transcendental math with its cost), and `ONCE`, the shorter-latency
variants for a kernel that computes a single element."""

from __future__ import annotations

import numpy as np
from llvmlite import ir

from fnad.ir import Literal
from fnad_compiler.llvm_ir import I1, convert, dtype_kind, intrinsic, reg_type, type_suffix, zero_of
from fnad_compiler.lower.rules import scalar_rule
from fnad_compiler.vecmath import emit_math, emit_powi


def _dt(e, i=0):
    return e.invars[i].aval.dtype


def out_dtype(e):
    return e.outvars[0].aval.dtype


def _sel(b, c, x, y):
    return b.select(c, x, y)


@scalar_rule("add", "add_any")
def _add(b, e, x, y):
    k = dtype_kind(_dt(e))
    return b.fadd(x, y) if k == "f" else (b.or_(x, y) if k == "b" else b.add(x, y))


@scalar_rule("sub")
def _sub(b, e, x, y):
    return b.fsub(x, y) if dtype_kind(_dt(e)) == "f" else b.sub(x, y)


@scalar_rule("mul")
def _mul(b, e, x, y):
    k = dtype_kind(_dt(e))
    return b.fmul(x, y) if k == "f" else (b.and_(x, y) if k == "b" else b.mul(x, y))


def _int_divmod(b, e, x, y, rem):
    """C-style truncating division/remainder; 0 where y == 0 (and no overflow trap at MIN / -1)."""
    ty = x.type
    zero, one = ir.Constant(ty, 0), ir.Constant(ty, 1)
    y0 = b.icmp_unsigned("==", y, zero)
    if dtype_kind(_dt(e)) == "u":
        safe = _sel(b, y0, one, y)
        r = b.urem(x, safe) if rem else b.udiv(x, safe)
        return _sel(b, y0, zero, r)
    minus1 = b.icmp_signed("==", y, ir.Constant(ty, -1))
    safe = _sel(b, b.or_(y0, minus1), one, y)
    r = b.srem(x, safe) if rem else b.sdiv(x, safe)
    special = zero if rem else b.sub(zero, x)  # x % -1 == 0, x / -1 == -x (wrapping)
    return _sel(b, y0, zero, _sel(b, minus1, special, r))


@scalar_rule("div")
def _div(b, e, x, y):
    return b.fdiv(x, y) if dtype_kind(_dt(e)) == "f" else _int_divmod(b, e, x, y, rem=False)


@scalar_rule("rem", cost=8)
def _rem(b, e, x, y):
    return b.frem(x, y) if dtype_kind(_dt(e)) == "f" else _int_divmod(b, e, x, y, rem=True)


def _extremum(b, e, x, y, is_max):
    k = dtype_kind(_dt(e))
    if k == "f":
        return intrinsic(b, f"llvm.{'maximum' if is_max else 'minimum'}.{type_suffix(x.type)}", x.type, [x, y])
    if k == "b":
        return b.or_(x, y) if is_max else b.and_(x, y)
    cmp = b.icmp_signed if k == "i" else b.icmp_unsigned
    return _sel(b, cmp(">" if is_max else "<", x, y), x, y)


scalar_rule("max")(lambda b, e, x, y: _extremum(b, e, x, y, True))
scalar_rule("min")(lambda b, e, x, y: _extremum(b, e, x, y, False))
scalar_rule("pow", cost=8)(
    lambda b, e, x, y: emit_math(b, "pow", x, y) if dtype_kind(_dt(e)) == "f" else _int_pow(b, e, x, y)
)
scalar_rule("atan2", cost=8)(lambda b, e, x, y: emit_math(b, "atan2", x, y))
scalar_rule("and")(lambda b, e, x, y: b.and_(x, y))
scalar_rule("or")(lambda b, e, x, y: b.or_(x, y))
scalar_rule("xor")(lambda b, e, x, y: b.xor(x, y))


def _int_pow(b, e, x, y):
    """Integer x ** y by square-and-multiply over every bit of y: straight-line code, so it
    vectorises; wraps as NumPy. A negative y (NumPy raises) gives the truncated 1 / x**|y|."""
    ty = x.type
    one = ir.Constant(ty, 1)
    acc, base = one, x
    for bit in range(ty.width):
        if bit:
            base = b.mul(base, base)
        acc = b.select(b.trunc(b.lshr(y, ir.Constant(ty, bit)), I1), b.mul(acc, base), acc)
    if dtype_kind(_dt(e)) == "u":
        return acc
    minus_one = ir.Constant(ty, -1)
    odd = b.trunc(y, I1)
    at_minus_one = b.select(odd, minus_one, one)
    inverse = b.select(
        b.icmp_signed("==", x, one), one, b.select(b.icmp_signed("==", x, minus_one), at_minus_one, zero_of(ty))
    )
    return b.select(b.icmp_signed("<", y, zero_of(ty)), inverse, acc)


@scalar_rule("nextafter")
def _nextafter(b, e, x, y):
    ity = ir.IntType(x.type.intrinsic_name == "f32" and 32 or 64)
    bits = b.bitcast(x, ity)
    up = b.icmp_signed("==", b.fcmp_ordered("<", x, y), b.fcmp_ordered(">", x, zero_of(x.type)))
    stepped = b.bitcast(_sel(b, up, b.add(bits, ir.Constant(ity, 1)), b.sub(bits, ir.Constant(ity, 1))), x.type)
    tiny = intrinsic(b, f"llvm.copysign.{type_suffix(x.type)}", x.type, [b.bitcast(ir.Constant(ity, 1), x.type), y])
    r = _sel(b, b.fcmp_ordered("==", x, zero_of(x.type)), tiny, stepped)
    r = _sel(b, b.fcmp_ordered("==", x, y), y, r)
    return _sel(b, b.fcmp_unordered("uno", x, y), b.fadd(x, y), r)


def _shift(b, e, x, y, how):
    ty = x.type
    too_far = b.icmp_unsigned(">=", y, ir.Constant(ty, ty.width))
    if how == "left":
        return _sel(b, too_far, ir.Constant(ty, 0), b.shl(x, _sel(b, too_far, ir.Constant(ty, 0), y)))
    if how == "logical" or dtype_kind(_dt(e)) == "u":
        return _sel(b, too_far, ir.Constant(ty, 0), b.lshr(x, _sel(b, too_far, ir.Constant(ty, 0), y)))
    return b.ashr(x, _sel(b, too_far, ir.Constant(ty, ty.width - 1), y))


scalar_rule("shift_left")(lambda b, e, x, y: _shift(b, e, x, y, "left"))
scalar_rule("shift_right_logical")(lambda b, e, x, y: _shift(b, e, x, y, "logical"))
scalar_rule("shift_right_arithmetic")(lambda b, e, x, y: _shift(b, e, x, y, "arithmetic"))


@scalar_rule("neg")
def _neg(b, e, x):
    return b.fneg(x) if dtype_kind(_dt(e)) == "f" else b.sub(zero_of(x.type), x)


@scalar_rule("sign")
def _sign(b, e, x):
    ty, k = x.type, dtype_kind(_dt(e))
    one = ir.Constant(ty, 1.0 if k == "f" else 1)
    if k == "u":
        return _sel(b, b.icmp_unsigned("!=", x, zero_of(ty)), one, zero_of(ty))
    minus = ir.Constant(ty, -1.0 if k == "f" else -1)
    if k == "i":
        return _sel(
            b, b.icmp_signed(">", x, zero_of(ty)), one, _sel(b, b.icmp_signed("<", x, zero_of(ty)), minus, zero_of(ty))
        )
    zero_or_nan = _sel(b, b.fcmp_ordered("==", x, zero_of(ty)), zero_of(ty), x)
    return _sel(
        b, b.fcmp_ordered(">", x, zero_of(ty)), one, _sel(b, b.fcmp_ordered("<", x, zero_of(ty)), minus, zero_or_nan)
    )


def _float_intrinsic(name):
    return lambda b, e, x: intrinsic(b, f"llvm.{name}.{type_suffix(x.type)}", x.type, [x])


scalar_rule("floor")(_float_intrinsic("floor"))
scalar_rule("ceil")(_float_intrinsic("ceil"))
scalar_rule("round")(_float_intrinsic("roundeven"))
scalar_rule("sqrt")(_float_intrinsic("sqrt"))
scalar_rule("rsqrt")(lambda b, e, x: b.fdiv(ir.Constant(x.type, 1.0), _float_intrinsic("sqrt")(b, e, x)))


@scalar_rule("abs")
def _abs(b, e, x):
    k = dtype_kind(_dt(e))
    if k == "f":
        return _float_intrinsic("fabs")(b, e, x)
    return x if k == "u" else intrinsic(b, f"llvm.abs.{type_suffix(x.type)}", x.type, [x, ir.Constant(I1, 0)])


for _name in (
    "exp",
    "exp2",
    "log",
    "log1p",
    "expm1",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
    "tanh",
    "asinh",
    "acosh",
    "atanh",
    "logistic",
    "erf",
    "cbrt",
):
    scalar_rule(_name, cost=8)((lambda n: lambda b, e, x: emit_math(b, n, x))(_name))
# Rules for a kernel that computes one element (e.g. a scalar step of a sequential loop): no loop
# to vectorise, so the math may branch to a shorter path for common arguments (lower latency).
ONCE = {n: (lambda n: lambda b, e, x: emit_math(b, n, x, once=True))(n) for n in ("sin", "cos", "tan")}


@scalar_rule("erf_inv", cost=8)
def _erf_inv(b, e, x):
    """The reference algorithm (Winitzki's start, three Newton steps on erf) in float64."""
    d = ir.DoubleType()
    c = lambda v: ir.Constant(d, float(v))
    x64 = x if x.type == d else b.fpext(x, d)
    a = 0.147
    ln = emit_math(b, "log1p", b.fneg(b.fmul(x64, x64)))
    t = b.fadd(c(2 / (np.pi * a)), b.fmul(ln, c(0.5)))
    inner = intrinsic(b, "llvm.sqrt.f64", d, [b.fsub(b.fmul(t, t), b.fdiv(ln, c(a)))])
    sign = _sign(b, e.replace(invars=[Literal(0.0)]), x64)
    y = b.fmul(sign, intrinsic(b, "llvm.sqrt.f64", d, [b.fsub(inner, t)]))
    for _ in range(3):
        err = b.fsub(emit_math(b, "erf", y), x64)
        slope = b.fmul(c(2 / np.sqrt(np.pi)), emit_math(b, "exp", b.fneg(b.fmul(y, y))))
        y = b.fsub(y, b.fdiv(err, slope))
    one = b.fcmp_ordered("==", intrinsic(b, "llvm.fabs.f64", d, [x64]), c(1.0))
    y = _sel(b, one, b.fmul(sign, c(np.inf)), y)
    return y if x.type == d else b.fptrunc(y, x.type)


@scalar_rule("not")
def _not(b, e, x):
    return b.xor(x, ir.Constant(x.type, -1 if x.type.width > 1 else 1))


scalar_rule("population_count")(lambda b, e, x: intrinsic(b, f"llvm.ctpop.i{x.type.width}", x.type, [x]))


@scalar_rule("is_finite")
def _is_finite(b, e, x):
    return b.fcmp_ordered("!=", _float_intrinsic("fabs")(b, e, x), ir.Constant(x.type, float("inf")))


scalar_rule("is_nan")(lambda b, e, x: b.fcmp_unordered("uno", x, x))


@scalar_rule("integer_pow")
def _integer_pow(b, e, x):
    y = e.params["y"]
    if dtype_kind(_dt(e)) == "f":
        return emit_powi(b, x, y)
    result, base, n = None, x, y  # integers: wrapping products (negative y is rejected upstream)
    while n:
        if n & 1:
            result = base if result is None else b.mul(result, base)
        n >>= 1
        if n:
            base = b.mul(base, base)
    return ir.Constant(x.type, 1) if result is None else result


_CMP = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def _compare(b, e, x, y):
    op, k = _CMP[e.primitive.name], dtype_kind(_dt(e))
    if k == "f":
        return b.fcmp_unordered(op, x, y) if op == "!=" else b.fcmp_ordered(op, x, y)
    return (b.icmp_signed if k == "i" else b.icmp_unsigned)(op, x, y)


scalar_rule(*_CMP)(_compare)
scalar_rule("select")(lambda b, e, p, t, f: b.select(p, t, f))


scalar_rule("convert_element_type")(lambda b, e, x: convert(b, x, _dt(e), out_dtype(e)))
scalar_rule("bitcast_convert_type")(lambda b, e, x: b.bitcast(x, reg_type(out_dtype(e))))
