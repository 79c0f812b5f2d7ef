"""Vectorisable elementary functions emitted as LLVM IR.

Owns the scalar math kernels that jit-compiled loops call instead of `llvm.exp` & co. (which
llvmlite lowers to scalar libm calls).  `emit_math(builder, name, *args)` defines the kernel
`fnad.vm.<name>.<f32|f64|v8f32...>` once per module (internal, alwaysinline, straight-line: no
branches, no calls except single-instruction intrinsics) and calls it; after inlining, LLVM's
loop vectoriser turns a loop over it into SIMD code.  Arguments are float/double scalars or
vectors of them.

`emit_math(..., once=True)` marks a value computed once rather than per element of a loop (a
scalar step of a sequential loop, where latency is what counts): float64 sin/cos/tan then branch
on |x|: up to pi/4 straight to the polynomials (Estrin's scheme, ~28 cycles of latency), up to
2^10 through a short reduction (no q correction, no renormalised remainder; ~48 cycles), else the
general kernel (~100 cycles).  Arguments that jump between these ranges at random pay branch
mispredictions (a chain of such sin calls: 34 instead of 27 ns each); smoothly varying ones,
as in an ODE integrator, run 2-4x faster.

Methods: Cody-Waite range reduction with fma, minimax polynomials (fitted for this module),
exponent manipulation through integer bitcasts, `select` for special values.  float32 pow
evaluates exp(y log x) in float64, float32 sin/cos/tan reduce their argument in float64.

Accuracy, measured by tests/fnad_compiler/test_vecmath.py (dense log-spaced sweeps over each domain,
special values, random bit patterns) against the correctly rounded value as NumPy computes it
(NumPy in float64 rounded for float32; NumPy float64 / libm erf / long double logistic for
float64), max ulp float32 / float64:
    1/1  exp exp2 log log2 sin cos cosh acos erf        1/2  expm1 log1p asin
    2/2  log10 sinh tanh asinh acosh atanh atan atan2 logistic      0/1 pow cbrt    0/2 tan
(cbrt against long double cbrtl: glibc's double cbrt is itself up to 3 ulp off).  `emit_powi`
(x**n for a Python int n) is within 1 ulp of long double powl for |n| up to 2^31.
Against NumPy's own float32 kernels (which are up to 4 ulp off themselves) the distance is at
most 4 (atan2), 3 (log, log2, log10, asin, tan, tanh), else 2.  Special values follow NumPy:
inf, nan, signed zeros, subnormal inputs and results, overflow/underflow thresholds, and the
C99/IEEE cases of pow (negative base with integer exponent, 0**negative, 1**nan = 1, ...).

Range: everything holds over the whole domain.  sin, cos and tan reduce |x| <= 2**50 (about
1.1e15) by Cody-Waite in the vectorised code; larger arguments branch to a scalar Payne-Hanek
reduction (2/pi to 1344 bits; see `_ph_reduce`), within 1/1 ulp (tan 1/2) up to the largest
float and exact to the last bit on the hardest float64 case.  A vectorised loop pays one call
per vector for it (a masked vector variant that returns at once): measured (min CPU time, 10^5
elements in [-100, 100]) 3-5% on float64 sin/cos/tan, 7-12% on float32 sin/cos, 17% on float32
tan (128-bit vectors, where the call cannot preserve all registers).
"""

import numpy as np
from llvmlite import ir

from fnad_compiler import huge_trig_names

__all__ = ["SUPPORTED", "emit_math", "emit_powi"]


def _type_suffix(ty):
    """LLVM's overload suffix: f32, f64, v8f32, ..."""
    if isinstance(ty, ir.VectorType):
        return f"v{ty.count}{ty.element.intrinsic_name}"
    return ty.intrinsic_name


class _Emitter:
    """Arithmetic on one float type (scalar or vector) inside the kernel being built.

    Every method accepts Python numbers wherever a value is expected and turns them into
    constants of the right type (rounded to float32 for float kernels)."""

    def __init__(self, builder, fty):
        self.b = builder
        self.fty = fty
        self.lanes = fty.count if isinstance(fty, ir.VectorType) else None
        scalar = fty.element if self.lanes else fty
        self.is64 = isinstance(scalar, ir.DoubleType)
        self.bits = 64 if self.is64 else 32
        self.mbits = 52 if self.is64 else 23  # explicit mantissa bits
        self.p = self.mbits + 1  # precision
        self.bias = 1023 if self.is64 else 127
        self.ity = self._typed(ir.IntType(self.bits))
        self._round = float if self.is64 else (lambda v: float(np.float32(v)))
        self._scalar = scalar

    def _typed(self, scalar):
        return ir.VectorType(scalar, self.lanes) if self.lanes else scalar

    def sibling(self, scalar):
        """An emitter for another scalar type with the same lane count."""
        return _Emitter(self.b, self._typed(scalar))

    # constants and conversions
    def c(self, v):
        if isinstance(v, ir.Value):
            return v
        v = self._round(v)
        return ir.Constant(self.fty, [v] * self.lanes if self.lanes else v)

    def ci(self, v):
        if isinstance(v, ir.Value):
            return v
        return ir.Constant(self.ity, [v] * self.lanes if self.lanes else v)

    def as_int(self, x):
        return self.b.bitcast(x, self.ity)

    def as_flt(self, i):
        return self.b.bitcast(i, self.fty)

    def to_int(self, x):
        return self.b.fptosi(self.c(x), self.ity)

    def to_flt(self, i):
        return self.b.sitofp(self.ci(i), self.fty)

    # float arithmetic
    def add(self, a, b):
        return self.b.fadd(self.c(a), self.c(b))

    def sub(self, a, b):
        return self.b.fsub(self.c(a), self.c(b))

    def mul(self, a, b):
        return self.b.fmul(self.c(a), self.c(b))

    def div(self, a, b):
        return self.b.fdiv(self.c(a), self.c(b))

    def neg(self, a):
        return self.b.fneg(self.c(a))

    def _intr(self, name, *args):
        fnty = ir.FunctionType(self.fty, [self.fty] * len(args))
        fn = self.b.module.declare_intrinsic(f"{name}.{_type_suffix(self.fty)}", (), fnty)
        return self.b.call(fn, [self.c(a) for a in args])

    def fma(self, a, b, c):
        return self._intr("llvm.fma", a, b, c)

    def fabs(self, a):
        return self._intr("llvm.fabs", a)

    def floor(self, a):
        return self._intr("llvm.floor", a)

    def rint(self, a):
        return self._intr("llvm.rint", a)

    def sqrt(self, a):
        return self._intr("llvm.sqrt", a)

    def copysign(self, mag, sign):
        return self._intr("llvm.copysign", mag, sign)

    def fmin(self, a, b):
        return self._intr("llvm.minnum", a, b)

    def fmax(self, a, b):
        return self._intr("llvm.maxnum", a, b)

    def clamp(self, x, lo, hi):
        """min(max(x, lo), hi); NaN becomes a bound, so callers restore NaN with `keep_nan`."""
        return self.fmin(self.fmax(x, lo), hi)

    def horner(self, x, coeffs):
        acc = self.c(coeffs[-1])
        for k in reversed(coeffs[:-1]):
            acc = self.fma(acc, x, k)
        return acc

    def estrin(self, x, coeffs):
        """The polynomial by Estrin's scheme: more operations than Horner's, but a dependency
        chain of about log2(len(coeffs)) fma + mul pairs instead of len(coeffs) fmas."""
        terms = [
            _mac(self, self.c(coeffs[i]), x, coeffs[i + 1]) if i + 1 < len(coeffs) else self.c(coeffs[i])
            for i in range(0, len(coeffs), 2)
        ]
        while len(terms) > 1:
            x = self.mul(x, x)
            terms = [
                self.fma(terms[i + 1], x, terms[i]) if i + 1 < len(terms) else terms[i] for i in range(0, len(terms), 2)
            ]
        return terms[0]

    # comparisons and selection (ordered comparisons are false on NaN)
    def lt(self, a, b):
        return self.b.fcmp_ordered("<", self.c(a), self.c(b))

    def le(self, a, b):
        return self.b.fcmp_ordered("<=", self.c(a), self.c(b))

    def gt(self, a, b):
        return self.b.fcmp_ordered(">", self.c(a), self.c(b))

    def ge(self, a, b):
        return self.b.fcmp_ordered(">=", self.c(a), self.c(b))

    def eq(self, a, b):
        return self.b.fcmp_ordered("==", self.c(a), self.c(b))

    def ne(self, a, b):
        return self.b.fcmp_ordered("!=", self.c(a), self.c(b))

    def isnan(self, a):
        return self.b.fcmp_unordered("uno", a, a)

    def sel(self, cond, a, b):
        return self.b.select(cond, self.c(a), self.c(b))

    def keep_nan(self, x, result):
        return self.sel(self.isnan(x), x, result)

    # integer arithmetic on the same-width integer type
    def iadd(self, a, b):
        return self.b.add(self.ci(a), self.ci(b))

    def isub(self, a, b):
        return self.b.sub(self.ci(a), self.ci(b))

    def iand(self, a, b):
        return self.b.and_(self.ci(a), self.ci(b))

    def ishl(self, a, b):
        return self.b.shl(self.ci(a), self.ci(b))

    def iashr(self, a, b):
        return self.b.ashr(self.ci(a), self.ci(b))

    def imin(self, a, b):
        a, b = self.ci(a), self.ci(b)
        return self.b.select(self.b.icmp_signed("<", a, b), a, b)

    def pow2(self, n):
        """2.0**n for an integer n within the normal exponent range."""
        return self.as_flt(self.ishl(self.iadd(n, self.bias), self.mbits))

    def ldexp(self, v, n, one_plus=False):
        """v * 2**n (or (1 + v) * 2**n) for integer |n| <= 2*(bias-1); two factors so that
        subnormal results round once."""
        n1 = self.iashr(n, 1)
        s1 = self.pow2(n1)
        v = self.fma(v, s1, s1) if one_plus else self.mul(v, s1)
        return self.mul(v, self.pow2(self.isub(n, n1)))


# ---------------------------------------------------------------------------------------------
# Constants.  Splits are (hi, lo) with hi rounded to the kernel's precision; polynomial
# coefficients are weighted minimax fits (lowest degree first) made for this module.


def _c(f32, f64):
    return {32: f32, 64: f64}


_LN2 = _c((0.6931471824645996, -1.9046542121259336e-09), (0.6931471805599453, 2.3190468138462996e-17))
_LOG2E = _c((1.4426950216293335, 1.925963033500011e-08), (1.4426950408889634, 2.0355273740931033e-17))
_LOG10_2 = _c((0.3010300099849701, -1.432098883924482e-08), (0.3010299956639812, -2.8037281277851704e-18))
_LOG10E = _c((0.4342944920063019, -1.0103049952192578e-08), (0.4342944819032518, 1.098319650216765e-17))
_PIO4 = _c((0.7853981852531433, -2.1855694143368964e-08), (0.7853981633974483, 3.061616997868383e-17))
_PIO2 = _c((1.5707963705062866, -4.371138828673793e-08), (1.5707963267948966, 6.123233995736766e-17))
_3PIO4 = _c((2.356194496154785, -5.962440319251527e-09), (2.356194490192345, 9.184850993605148e-17))
_PI = _c((3.1415927410125732, -8.742277657347586e-08), (3.141592653589793, 1.2246467991473532e-16))
_TWO_THIRDS = (0.6666666666666666, 3.700743415417188e-17)
# pi/2 as a sum of four doubles, and 2/pi, for the float64 trig argument reduction.
_PIO2_PARTS = (1.5707963267948966, 6.123233995736766e-17, -1.4973849048591698e-33, 5.562271104316826e-50)
_TWO_OVER_PI = (0.6366197723675814, -3.935735335036497e-17)
_TRIG_LIMIT = 2.0**50
_SHORT_TRIG = 2.0**10
_TAN_PI_8 = 0.41421356237309503
_TAN_3PI_8 = 2.414213562373095

# expm1(r) = r + r^2/2 + r^3 P(r), |r| <= ln2/2
_EXPM1 = _c(
    (0.1666666567325592, 0.041666481643915176, 0.008333420380949974, 0.0013933422742411494, 0.00019824053742922843),
    (
        0.16666666666666677,
        0.041666666666666574,
        0.008333333333321985,
        0.0013888888888943386,
        0.00019841269885453468,
        2.4801587197267293e-05,
        2.755724472028383e-06,
        2.755738735265176e-07,
        2.5108905253001306e-08,
        2.0878986839970266e-09,
    ),
)
# log1p(f) = 2s + s R, R = z P(z), s = f/(2+f), z = s^2, |s| <= 3 - 2 sqrt(2)
_LOG = _c(
    (0.6666678190231323, 0.3997707962989807, 0.29885202646255493),
    (
        0.666666666666674,
        0.39999999999377905,
        0.28571428751316114,
        0.2222219758622521,
        0.18183619037902862,
        0.15312568772001348,
        0.14811549994064613,
    ),
)
# log1p(f) = 2s + 2s^3/3 + s^5 P(z) (the double-double logarithm of pow)
_LOG_DD = (
    0.4000000000000242,
    0.28571428570016016,
    0.2222222253546782,
    0.18181782956942188,
    0.15386824384057796,
    0.1325521193387131,
    0.13211609936654797,
)
# sin(r) = r + r z P(z), cos(r) = 1 - z/2 + z^2 Q(z), z = r^2, |r| <= pi/4
_SIN = _c(
    (-0.16666653752326965, 0.008332112804055214, -0.00019508735567796975),
    (
        -0.16666666666666627,
        0.008333333333320937,
        -0.00019841269828616272,
        2.755731327528338e-06,
        -2.505069237473169e-08,
        1.5892956529446186e-10,
    ),
)
_COS = _c(
    (0.04166664555668831, -0.0013887251261621714, 2.4425673473160714e-05),
    (
        0.04166666666666658,
        -0.0013888888888871373,
        2.480158728778145e-05,
        -2.7557313865134105e-07,
        2.0875657518541737e-09,
        -1.13562639311502e-11,
    ),
)
# atan(z) = z + z^3 P(z^2), |z| <= tan(pi/8)
_ATAN = _c(
    (-0.3333331346511841, 0.19998416304588318, -0.14242413640022278, 0.10585108399391174, -0.060551900416612625),
    (
        -0.3333333333333318,
        0.19999999999948798,
        -0.14285714279698175,
        0.11111110757877915,
        -0.09090897005655049,
        0.07692046580228733,
        -0.06662946460064312,
        0.058467255602973826,
        -0.05033991102562309,
        0.037927935519802475,
        -0.01775596150558474,
    ),
)
# asin(s) = s + s^3 P(s^2), |s| <= 1/2
_ASIN = _c(
    (
        0.16666659712791443,
        0.07500503957271576,
        0.04451695829629898,
        0.03180769830942154,
        0.014438691549003124,
        0.03751632198691368,
    ),
    (
        0.1666666666666676,
        0.07499999999970798,
        0.044642857174612416,
        0.03038194270778464,
        0.022372214987041467,
        0.01735161203251764,
        0.01398082024816225,
        0.01139891510370206,
        0.010780235027509737,
        0.0037064798318360488,
        0.021707267695992224,
        -0.02099880262832787,
        0.03262845877388774,
    ),
)
# sinh(x) = x + x^3 P(x^2), |x| <= 1
_SINH = _c(
    (0.1666666716337204, 0.008333349600434303, 0.0001983615948120132, 2.8169517918286147e-06),
    (
        0.16666666666666669,
        0.008333333333333148,
        0.0001984126984143188,
        2.7557319157070014e-06,
        2.5052123136983165e-08,
        1.6057259750594545e-10,
        7.758749300488503e-13,
    ),
)
# erf(x) = x + x P(x^2), |x| <= 1
_ERF_SMALL = _c(
    (
        0.12837916612625122,
        -0.3761262595653534,
        0.1128358542919159,
        -0.026853810995817184,
        0.00518832728266716,
        -0.0008010189048945904,
        7.853846909711137e-05,
    ),
    (
        0.12837916709551256,
        -0.3761263890318352,
        0.11283791670944185,
        -0.026866170643111423,
        0.0052239776061181265,
        -0.0008548325929298499,
        0.0001205529357644023,
        -1.4924712293486805e-05,
        1.6447131469820254e-06,
        -1.6206313007913141e-07,
        1.3710977257886892e-08,
        -7.779462812515364e-10,
    ),
)
# erfc(x) = exp(-x^2) t P(v), t = 1/x, v = (t - tm)/th maps [1/xmax, 1] onto [-1, 1];
# xmax is where erf rounds to 1.  Entries: (xmax, 1/th, -tm/th, coefficients).
_ERFC = _c(
    (
        4.0,
        8.0 / 3.0,
        -5.0 / 3.0,
        (
            0.489524781703949,
            -0.06434448063373566,
            -0.00018229364650323987,
            0.003800167702138424,
            -0.001536575029604137,
            0.0003662455710582435,
            -4.4268548663239926e-05,
        ),
    ),
    (
        6.0,
        2.4,
        -1.4,
        (
            0.49666648512593875,
            -0.07128287792547497,
            -0.001936888067712513,
            0.006219717587762283,
            -0.002669343030674994,
            0.0006408677407039376,
            -2.43902392816444e-06,
            -9.303457116927693e-05,
            5.9516148637028044e-05,
            -2.385634431960787e-05,
            5.901954659777833e-06,
            2.142622183718157e-07,
            -1.2967833793406989e-06,
            9.308324387093077e-07,
            -4.363429405052621e-07,
            1.3475403896172414e-07,
            -1.7936833357312958e-08,
            -3.525980793710302e-09,
            1.3018227116186936e-09,
        ),
    ),
)

_INF = float("inf")
_NAN = float("nan")


def _mac(e, acc, x, c):
    """acc + x*c for a constant c; acc None means 0, and c of 0 or 1 costs no multiplication."""
    if c == 0:
        return acc
    if acc is None:
        return x if c == 1 else e.mul(x, c)
    return e.add(x, acc) if c == 1 else e.fma(x, c, acc)


def _pick(e, cond, a, b):
    """Select between two (hi, lo) constant pairs."""
    return e.sel(cond, a[0], b[0]), e.sel(cond, a[1], b[1])


def _compose(e, k, m, main, corr):
    """(K_hi + m*main) + (m*corr + K_lo): adds a two-part constant to m*(main + corr)."""
    return e.add(e.fma(m, main, k[0]), e.fma(m, corr, k[1]))


def _two_sum(e, a, b):
    s = e.add(a, b)
    bb = e.sub(s, a)
    return s, e.add(e.sub(a, e.sub(s, bb)), e.sub(b, bb))


# --- exponentials ------------------------------------------------------------------------------

_EXP_CLAMP = _c(150.0, 800.0)  # |x| beyond which exp has over/underflowed: keeps n in ldexp's range


def _expm1_poly(e, r):
    """expm1(r) for |r| <= ln2/2."""
    return e.fma(e.mul(r, r), e.fma(r, e.horner(r, _EXPM1[e.bits]), 0.5), r)


def _exp_parts(e, x, lo=None):
    """exp(x + lo) = 2^n (1 + em): returns (em, integer n).  x must lie within +-_EXP_CLAMP."""
    n = e.rint(e.mul(x, _LOG2E[e.bits][0]))
    ln2_hi, ln2_lo = _LN2[e.bits]
    r = e.fma(e.neg(n), ln2_hi, x)  # exact: both terms are multiples of ulp(ln2_hi)
    r = e.fma(e.neg(n), ln2_lo, r)
    if lo is not None:
        r = e.add(r, lo)
    return _expm1_poly(e, r), e.to_int(n)


def _exp_scaled(e, x, shift=0, lo=None):
    """exp(x + lo) * 2**shift; overflows to inf and underflows through subnormals like the exact value."""
    lim = _EXP_CLAMP[e.bits]
    em, n = _exp_parts(e, e.clamp(x, -lim, lim), lo)
    return e.ldexp(em, e.iadd(n, shift) if shift else n, one_plus=True)


def _exp(e, x):
    return e.keep_nan(x, _exp_scaled(e, x))


_EXP_SUMMAND_RANGE = _c((-87.0, 88.0), (-708.0, 709.0))  # 2^n stays a normal number


def _exp_summand(e, x):
    """exp(x) as `_exp` computes it (the same bits) for results in the normal range, without the
    work that only subnormal, overflowing or NaN results need: x is clamped to
    `_EXP_SUMMAND_RANGE` and the result is (1 + em) 2^n in one fma."""
    em, n = _exp_parts(e, e.clamp(x, *_EXP_SUMMAND_RANGE[e.bits]))
    s = e.pow2(n)
    return e.fma(em, s, s)


def _exp2(e, x):
    lim = 1.1 * _EXP_CLAMP[e.bits] / _LN2[e.bits][0]
    xc = e.clamp(x, -lim, lim)
    n = e.rint(xc)
    t = e.sub(xc, n)
    ln2_hi, ln2_lo = _LN2[e.bits]
    r = e.mul(t, ln2_hi)
    r_lo = e.fma(t, ln2_lo, e.fma(t, ln2_hi, e.neg(r)))  # t*ln2 = r + r_lo
    em = _expm1_poly(e, r)
    em = e.add(em, e.fma(em, r_lo, r_lo))
    return e.keep_nan(x, e.ldexp(em, e.to_int(n), one_plus=True))


_EXPM1_LO = _c(-18.5, -40.0)  # below this expm1 rounds to -1


def _expm1_value(e, x, hi=None):
    """expm1(x) = 2^n (em + 1) - 1, evaluated as one fma while 2^n is moderate (no NaN/-0 care).
    x is clamped to [_EXPM1_LO, hi]; a small `hi` (tanh) skips the scaling of large results."""
    hi = _EXP_CLAMP[e.bits] if hi is None else hi
    em, n = _exp_parts(e, e.clamp(x, _EXPM1_LO[e.bits], hi))
    cap = e.p + 8
    if hi * _LOG2E[e.bits][0] < cap - 1:
        s = e.pow2(n)
        return e.fma(em, s, e.sub(s, 1.0))
    m = e.imin(n, cap)
    s = e.pow2(m)
    return e.ldexp(e.fma(em, s, e.sub(s, 1.0)), e.isub(n, m))


def _expm1(e, x):
    return e.sel(e.eq(x, 0.0), x, e.keep_nan(x, _expm1_value(e, x)))


def _cosh(e, x):
    h = _exp_scaled(e, e.fabs(x), -1)  # e^|x| / 2, finite as long as cosh is
    return e.keep_nan(x, e.add(h, e.div(0.25, h)))


def _sinh(e, x):
    a = e.fabs(x)
    z = e.mul(a, a)
    small = e.fma(e.mul(a, z), e.horner(z, _SINH[e.bits]), a)
    h = _exp_scaled(e, a, -1)
    large = e.sub(h, e.div(0.25, h))
    return e.keep_nan(x, e.copysign(e.sel(e.lt(a, 1.0), small, large), x))


_TANH_ONE = _c(9.5, 19.5)  # tanh rounds to 1 beyond this


def _tanh(e, x):
    em = _expm1_value(e, e.mul(e.fabs(x), 2.0), 2 * _TANH_ONE[e.bits])
    d = e.add(em, 2.0)
    if not e.is64:  # within 2 ulp as it is
        return e.keep_nan(x, e.copysign(e.div(em, d), x))
    # float64 (3 ulp otherwise): em + 2 as an exact sum d + d_lo and the quotient corrected by its
    # residual, so that only em's own error remains
    d_lo = e.add(e.sub(2.0, d), em)
    inv = e.div(1.0, d)
    q = e.mul(em, inv)
    resid = e.fma(e.neg(q), d_lo, e.fma(e.neg(q), d, em))
    return e.keep_nan(x, e.copysign(e.fma(resid, inv, q), x))


def _logistic(e, x):
    t = _exp_scaled(e, e.neg(e.fabs(x)))
    return e.keep_nan(x, e.div(e.sel(e.ge(x, 0.0), 1.0, t), e.add(t, 1.0)))


# --- logarithms --------------------------------------------------------------------------------


def _sqrt_half_bits(e):
    dt = np.float64 if e.is64 else np.float32
    return int(np.array(np.sqrt(0.5), dtype=dt).view(np.int64 if e.is64 else np.int32))


def _log_decompose(e, w):
    """w = 2^k (1 + f) with 1 + f in [sqrt(1/2), sqrt(2)), k as a float; w positive finite (subnormal ok)."""
    tiny = e.lt(w, 2.0 ** (1 - e.bias))
    w = e.sel(tiny, e.mul(w, 2.0 ** (e.p + 1)), w)
    base = _sqrt_half_bits(e)
    ix = e.isub(e.as_int(w), base)
    k = e.sub(e.to_flt(e.iashr(ix, e.mbits)), e.sel(tiny, float(e.p + 1), 0.0))
    m = e.as_flt(e.iadd(e.iand(ix, (1 << e.mbits) - 1), base))
    return k, e.sub(m, 1.0)


def _log1p_poly(e, f):
    """log(1 + f) for |f| <= sqrt(2) - 1, as f - (f^2/2 - s (f^2/2 + R))."""
    s = e.div(f, e.add(f, 2.0))
    z = e.mul(s, s)
    r = e.mul(z, e.horner(z, _LOG[e.bits]))
    hfsq = e.mul(e.mul(f, 0.5), f)
    return e.sub(f, e.sub(hfsq, e.mul(s, e.add(hfsq, r))))


_BASE_E = (_LN2, _c((1.0, 0.0), (1.0, 0.0)))
_BASE_2 = (_c((1.0, 0.0), (1.0, 0.0)), _LOG2E)
_BASE_10 = (_LOG10_2, _LOG10E)


def _log_core(e, w, c=None, base=_BASE_E):
    """log_base(w) + c/ln(base) for finite positive w; c is a small correction in natural-log units."""
    k, f = _log_decompose(e, w)
    lp = _log1p_poly(e, f)
    if c is not None:
        lp = e.add(lp, c)
    (a_hi, a_lo), (b_hi, b_lo) = base[0][e.bits], base[1][e.bits]
    acc = _mac(e, None, lp, b_lo)
    acc = _mac(e, acc, k, a_lo)
    acc = _mac(e, acc, lp, b_hi)
    return _mac(e, acc, k, a_hi)


def _log1p_args(e, u):
    """(w, c) with log1p(u) = log(w) + c: w = 1 + u rounded, c corrects for the rounding."""
    w = e.add(u, 1.0)
    return w, e.div(e.sub(u, e.sub(w, 1.0)), w)


def _log_specials(e, w, r):
    """log-like result r of argument w: +inf at +inf, -inf at 0, NaN below 0 and at NaN."""
    r = e.sel(e.eq(w, _INF), _INF, r)
    r = e.sel(e.eq(w, 0.0), -_INF, r)
    return e.sel(e.ge(w, 0.0), r, _NAN)


def _log_kernel(base):
    def kernel(e, x):
        return _log_specials(e, x, _log_core(e, x, base=base))

    return kernel


def _log1p(e, x):
    w, c = _log1p_args(e, x)
    return e.sel(e.eq(x, 0.0), x, _log_specials(e, w, _log_core(e, w, c)))


def _huge(e):
    """Above this, sqrt(x^2 +- 1) == x and asinh/acosh are log(x) + ln2."""
    return 2.0 ** (e.p // 2 + 1)


def _asinh(e, x):
    a = e.fabs(x)
    a2 = e.mul(a, a)
    ws, cs = _log1p_args(e, e.add(a, e.div(a2, e.add(e.sqrt(e.add(a2, 1.0)), 1.0))))
    huge = e.gt(a, _huge(e))
    wl = e.sel(huge, a, e.add(e.add(a, a), e.div(1.0, e.add(e.sqrt(e.add(a2, 1.0)), a))))
    cl = e.sel(huge, _LN2[e.bits][0], 0.0)
    small = e.lt(a, 2.0)
    r = _log_core(e, e.sel(small, ws, wl), e.sel(small, cs, cl))
    r = e.sel(e.eq(a, _INF), _INF, r)
    return e.keep_nan(x, e.copysign(r, x))


def _acosh(e, x):
    t = e.sub(x, 1.0)
    ws, cs = _log1p_args(e, e.add(t, e.sqrt(e.fma(t, t, e.add(t, t)))))
    huge = e.gt(x, _huge(e))
    wl = e.sel(huge, x, e.sub(e.add(x, x), e.div(1.0, e.add(x, e.sqrt(e.fma(x, x, -1.0))))))
    cl = e.sel(huge, _LN2[e.bits][0], 0.0)
    small = e.lt(x, 2.0)
    r = _log_core(e, e.sel(small, ws, wl), e.sel(small, cs, cl))
    r = e.sel(e.eq(x, _INF), _INF, r)
    return e.sel(e.ge(x, 1.0), r, _NAN)


def _atanh(e, x):
    a = e.fabs(x)
    t = e.add(a, a)
    one_minus = e.sub(1.0, a)
    u = e.sel(e.lt(a, 0.5), e.add(t, e.div(e.mul(t, a), one_minus)), e.div(t, one_minus))
    r = e.mul(_log_core(e, *_log1p_args(e, u)), 0.5)
    r = e.sel(e.eq(a, 1.0), _INF, r)
    return e.copysign(e.sel(e.le(a, 1.0), r, _NAN), x)


# --- trigonometric -----------------------------------------------------------------------------


def _trig_reduce(d, x, extended, short=False):
    """x = q pi/2 + r + r_lo with |r| <= pi/4, in float64; returns (r, r_lo or None, integer q).

    q = rint(x 2/pi) is read from the low mantissa bits of x 2/pi + 1.5 2^52.  x - q P1 is exact
    (fma, |result| < 2), so the reduction holds while |q| < 2^51, i.e. |x| <= _TRIG_LIMIT.
    `extended` (float64 inputs) corrects q with the low part of 2/pi (else |r| may exceed pi/4
    by ~|x| 2^-54) and keeps the remainder in double-double with pi/2 in four parts; float32
    inputs need only two parts and a plain double, and their polynomials absorb the excess.
    `short` (float64, |x| <= _SHORT_TRIG) shortens the dependency chain for scalars: q is not
    corrected (an excess of |x| 2^-54 the polynomials absorb) and r_lo is not renormalised
    (it may exceed ulp(r) only where r is tiny, and enters linearly there)."""
    magic = 1.5 * 2.0**52
    two_over_pi, two_over_pi_lo = _TWO_OVER_PI
    t = d.fma(x, two_over_pi, magic)
    p1, p2, p3, p4 = _PIO2_PARTS
    if not extended:
        minus_q = d.sub(magic, t)
        return d.fma(minus_q, p2, d.fma(minus_q, p1, x)), None, d.as_int(t)
    if not short:
        frac = d.fma(x, two_over_pi_lo, d.fma(x, two_over_pi, d.sub(magic, t)))
        t = d.add(t, d.rint(frac))
    minus_q = d.sub(magic, t)
    r = d.fma(minus_q, p1, x)
    y = d.mul(minus_q, p2)
    r, r_lo = _two_sum(d, r, y)
    r_lo = d.fma(minus_q, p4, d.fma(minus_q, p3, d.add(r_lo, d.fma(minus_q, p2, d.neg(y)))))
    if short:
        return r, r_lo, d.as_int(t)
    hi = d.add(r, r_lo)
    return hi, d.sub(r_lo, d.sub(hi, r)), d.as_int(t)


def _sincos_poly(e, r, r_lo=None, poly=_Emitter.horner):
    """(sin, cos) of r + r_lo for |r| <= pi/4 (r_lo a tiny tail or None)."""
    z = e.mul(r, r)
    rz_s = (e.mul(r, z), poly(e, z, _SIN[e.bits]))
    c = e.fma(z, e.fma(z, poly(e, z, _COS[e.bits]), -0.5), 1.0)
    if r_lo is None:
        return e.fma(*rz_s, r), c
    s = e.add(r, e.fma(*rz_s, e.fma(e.mul(z, -0.5), r_lo, r_lo)))
    return s, e.fma(e.neg(r), r_lo, c)


def _flip_sign(e, v, q):
    """v with its sign flipped where bit 1 of the integer q is set."""
    return e.as_flt(e.b.xor(e.as_int(v), e.ishl(e.iand(q, 2), e.bits - 2)))


def _trig_value(e, which, x, r, r_lo, q, poly=_Emitter.horner):
    """sin, cos or tan of x from its reduction x = q pi/2 + r + r_lo (r, r_lo in float64)."""
    d = e if e.is64 else e.sibling(ir.DoubleType())
    # float32 sin/cos evaluate in float32; tan (a quotient, so less forgiving) in float64
    pe = d if which == "tan" else e
    if pe is not d:
        r, q = e.b.fptrunc(r, e.fty), e.b.trunc(q, e.ity)
    s, c = _sincos_poly(pe, r, r_lo, poly)
    odd = pe.b.icmp_signed("!=", pe.iand(q, 1), pe.ci(0))
    if which == "sin":
        return _flip_sign(pe, pe.sel(odd, c, s), q)
    if which == "cos":
        return _flip_sign(pe, pe.sel(odd, s, c), pe.iadd(q, 1))
    v = pe.div(pe.sel(odd, c, s), pe.sel(odd, pe.neg(s), c))
    return v if e.is64 else e.b.fptrunc(v, e.fty)


def _trig_kernel(which):
    """Cody-Waite reduction for |x| <= _TRIG_LIMIT, straight-line; larger |x| branch to the
    Payne-Hanek slow path (`_huge_trig_call`), NaN for inf and NaN."""

    def kernel(e, x):
        d = e if e.is64 else e.sibling(ir.DoubleType())
        v = _trig_value(e, which, x, *_trig_reduce(d, x if e.is64 else e.b.fpext(x, d.fty), e.is64))
        if which != "cos":
            v = e.sel(e.eq(x, 0.0), x, v)  # keep the sign of zero
        v = e.sel(e.le(e.fabs(x), _TRIG_LIMIT), v, _NAN)
        return _huge_trig_call(e, which, x, e.gt(e.fabs(x), _TRIG_LIMIT), v)

    return kernel


# --- Payne-Hanek reduction for |x| > _TRIG_LIMIT -------------------------------------------------
#
# x = M 2^E with an integer M < 2^53 (E >= -2 here); then x 2/pi mod 4 = M g(E) mod 4, where
# g(E) = 2^E 2/pi mod 4 takes the bits of 2/pi of weight 2^(1-E) and below.  g(E) is read from
# a bit table as T0 + T1 + T2 + T3 (52, then 53-bit chunks: weights 2^1..2^-50, ..2^-103,
# ..2^-156, ..2^-209), so that M T0 mod 4 is exact in double-double and the 209 bits cover
# the worst case of float64 (x mod pi/2 as small as ~2^-61 x 2^-53 needs ~2^-118 absolute).
#
# The vectorised loop must not pay for this: the kernel branches on |x| > _TRIG_LIMIT to a call
# of a scalar function (not inlined), and tells LLVM's loop vectoriser through the
# "vector-function-abi-variant" call attribute that masked vector versions exist, which call
# the scalar function for each lane only when some lane of the mask is set.  A vectorised loop
# then makes one call per vector that returns at once for ordinary arguments.


def _two_over_pi_words(nbits=1344):
    """The bits of 2/pi after the point, preceded by 64 zero bits (for weights 2^1 and 2^0 of
    the smallest E), as big-endian 64-bit words; pi by Machin's formula in integers."""
    guard = nbits + 128

    def atan_inv(n):  # atan(1/n) 2^guard
        total, term, k, n2 = 0, (1 << guard) // n, 0, n * n
        while term:
            total += term // (2 * k + 1) if k % 2 == 0 else -(term // (2 * k + 1))
            term //= n2
            k += 1
        return total

    pi = 16 * atan_inv(5) - 4 * atan_inv(239)  # pi 2^guard, error < 2^-100 here
    bits = (1 << (nbits + 1 + guard)) // pi  # floor(2/pi 2^nbits) (+-1 in the last bits)
    words = [0] + [(bits >> (nbits - 64 * (j + 1))) & (2**64 - 1) for j in range(nbits // 64)]
    return [w - 2**64 if w >= 2**63 else w for w in words]  # as signed i64 constants


_PH_WORDS = _two_over_pi_words()
_PH_MAX_E = 2046 - 1075  # x = M 2^E, largest finite
_PH_CHUNKS = ((-1, 52, 1 - 51), (51, 53, -51 - 52), (104, 53, -104 - 52), (157, 53, -157 - 52))
# (first bit i of 2/pi relative to E, bit count, weight exponent of the chunk's last bit)


def _ph_bits(b, table, p, count):
    """`count` (<= 53) bits of the table starting at bit p (i64), as an i64."""
    i64, i128 = ir.IntType(64), ir.IntType(128)
    word = b.lshr(p, i64(6))
    pair = [b.zext(b.load(b.gep(table, [i64(0), b.add(word, i64(k))], inbounds=True), typ=i64), i128) for k in (0, 1)]
    both = b.or_(b.shl(pair[0], i128(64)), pair[1])
    both = b.shl(both, b.zext(b.and_(p, i64(63)), i128))
    return b.trunc(b.lshr(both, i128(128 - count)), i64)


def _ph_reduce(d, x):
    """|x| 2/pi = k + h + l (k an integer, |h + l| <= 1/2 + tiny), for finite |x| > 2^50 in float64;
    returns (r, r_lo, k) with r + r_lo = (h + l) pi/2 and the sign of x applied."""
    b, i64 = d.b, ir.IntType(64)
    module = b.module
    table = module.globals.get("fnad.vm.two_over_pi")
    if table is None:
        aty = ir.ArrayType(i64, len(_PH_WORDS))
        table = ir.GlobalVariable(module, aty, "fnad.vm.two_over_pi")
        table.linkage, table.global_constant = "internal", True
        table.initializer = ir.Constant(aty, _PH_WORDS)
    ix = d.as_int(x)
    big_e = d.isub(d.iand(d.b.lshr(ix, d.ci(52)), 0x7FF), 1075)
    big_e = d.imin(d.b.select(d.b.icmp_signed("<", big_e, d.ci(-2)), d.ci(-2), big_e), _PH_MAX_E)
    m = d.b.uitofp(d.b.or_(d.iand(ix, (1 << 52) - 1), d.ci(1 << 52)), d.fty)
    ts = []
    for first, count, weight in _PH_CHUNKS:
        chunk = _ph_bits(b, table, d.iadd(big_e, first + 63), count)  # bit i of 2/pi is table bit i + 63
        ts.append(d.mul(b.uitofp(chunk, d.fty), 2.0**weight))
    prods = []
    for t in ts[:3]:
        hi = d.mul(m, t)
        prods.append((hi, d.fma(m, t, d.neg(hi))))
    (p0, p0_lo), (p1, p1_lo), (p2, p2_lo) = prods
    mod4 = lambda v: d.sub(v, d.mul(d.floor(d.mul(v, 0.25)), 4.0))  # exact
    a = d.add(mod4(p0), p0_lo)  # M T0 mod 4 in (-2, 6), a multiple of 2^-50: exact
    p1 = mod4(p1)
    k = d.rint(d.add(a, p1))
    h, l = _two_sum(d, d.sub(a, k), p1)  # |a - k| < 4.5 (exact), then exact
    for v in (p1_lo, p2, p2_lo, d.mul(m, ts[3])):  # smaller and smaller
        s, err = _two_sum(d, h, v)
        h = d.add(s, d.add(l, err))
        l = d.sub(d.add(l, err), d.sub(h, s))
    p1_, p2_ = _PIO2_PARTS[:2]
    r = d.mul(h, p1_)
    r_lo = d.fma(l, p1_, d.fma(h, p2_, d.fma(h, p1_, d.neg(r))))
    hi = d.add(r, r_lo)
    r, r_lo = hi, d.sub(r_lo, d.sub(hi, r))
    neg = d.lt(x, 0.0)
    q = d.to_int(k)
    return d.sel(neg, d.neg(r), r), d.sel(neg, d.neg(r_lo), r_lo), d.b.select(neg, d.isub(0, q), q)


def _huge_scalar_symbol(which, fty):
    return huge_trig_names.scalar_symbol(which, _type_suffix(fty))


def _huge_vector_symbol(which, vty):
    return huge_trig_names.vector_symbol(which, _type_suffix(vty.element), vty.count)


def _huge_cc(vty):
    """The masked vector function's calling convention (see `_define_huge_vector`). Not for 128-bit
    vectors: x86 code returning one from AVX code ends in vzeroupper, which clears the upper halves
    of the caller's ymm registers whatever the calling convention says."""
    bits = vty.count * (64 if isinstance(vty.element, ir.DoubleType) else 32)
    return "preserve_allcc" if bits >= 256 else ""


def _define_huge_scalar(module, which, fty):
    """The scalar function `fnad.vm.<which>.huge.<type>`: sin, cos or tan of one |x| > 2^50 by
    Payne-Hanek; NaN for inf and NaN."""
    symbol = _huge_scalar_symbol(which, fty)
    if symbol in module.globals:
        return module.globals[symbol]
    fn = ir.Function(module, ir.FunctionType(fty, [fty]), symbol)
    for attr in ("noinline", "nounwind"):
        fn.attributes.add(attr)
    e = _Emitter(ir.IRBuilder(fn.append_basic_block("entry")), fty)
    x = fn.args[0]
    d = e if e.is64 else e.sibling(ir.DoubleType())
    xd = x if e.is64 else e.b.fpext(x, d.fty)
    v = _trig_value(d, which, xd, *_ph_reduce(d, xd))  # float32 too in float64: one rounding
    v = v if e.is64 else e.b.fptrunc(v, e.fty)
    e.b.ret(e.sel(e.lt(e.fabs(x), _INF), v, _NAN))
    return fn


def _define_huge_vector(module, which, vty):
    """The masked vector version of `_define_huge_scalar` for vector type vty: lanes whose mask bit
    is set get the scalar function's value, when any is set (other lanes are don't-care).

    For vectors of 256 bits and more its calling convention preserves all registers, so that the
    vectorised loop keeps its constants and values in registers across the call; the work (and
    the saving of registers it needs) is in a second function called only when some mask bit is
    set, since LLVM saves the registers in the prologue, on the fast path too."""
    symbol = _huge_vector_symbol(which, vty)
    scalar = _define_huge_scalar(module, which, vty.element)
    cc = _huge_cc(vty)
    lanes = ir.Function(module, ir.FunctionType(vty, [vty]), f"fnad.vm.{which}.huge.{_type_suffix(vty)}")
    lanes.linkage, lanes.calling_convention = "internal", cc
    for attr in ("noinline", "nounwind"):
        lanes.attributes.add(attr)
    # A loop over the lanes in memory, not one call per lane: code of one size for every width
    # (the library is compiled unoptimised, in time about proportional to its size).
    b = ir.IRBuilder(lanes.append_basic_block("entry"))
    i64 = ir.IntType(64)
    slots = b.alloca(vty)
    b.store(lanes.args[0], slots)
    elements = b.bitcast(slots, vty.element.as_pointer())
    entry, loop, done = b.block, lanes.append_basic_block("lane"), lanes.append_basic_block("done")
    b.branch(loop)
    b.position_at_end(loop)
    k = b.phi(i64)
    k.add_incoming(i64(0), entry)
    p = b.gep(elements, [k])
    b.store(b.call(scalar, [b.load(p)]), p)
    following = b.add(k, i64(1))
    k.add_incoming(following, loop)
    b.cbranch(b.icmp_unsigned("<", following, i64(vty.count)), loop, done)
    b.position_at_end(done)
    b.ret(b.load(slots, typ=vty))

    mty = ir.VectorType(ir.IntType(1), vty.count)
    fn = ir.Function(module, ir.FunctionType(vty, [vty, mty]), symbol)
    fn.calling_convention = cc
    fn.attributes.add("nounwind")
    x, mask = fn.args
    entry, slow, done = (fn.append_basic_block(n) for n in ("entry", "slow", "done"))
    b = ir.IRBuilder(entry)
    bits = b.bitcast(mask, ir.IntType(vty.count))
    b.cbranch(b.icmp_unsigned("!=", bits, ir.Constant(bits.type, 0)), slow, done)
    b.position_at_end(slow)
    v = b.call(lanes, [x])
    b.branch(done)
    b.position_at_end(done)
    out = b.phi(vty)
    out.add_incoming(x, entry)
    out.add_incoming(v, slow)
    b.ret(out)
    return fn


def huge_trig_ir(which, suffix):
    """(LLVM IR text, exported symbols) of the library of huge-argument `which` (sin, cos or tan)
    for floats `suffix` (f32, f64): the scalar function and its masked vector versions
    (`huge_trig_names.VECTOR_LANES`).
    Code calling them declares them (`_huge_trig_call`): they are compiled once per process (and
    kept in the disk cache), not with every kernel calling sin, whose module they made 10x larger
    (30 KB of IR, 30 ms of lowering and more of LLVM's time per unit)."""
    module, fty = ir.Module(name=f"fnad_vm_{which}_huge"), _FLOAT_TYPES[suffix]()
    functions = [_define_huge_scalar(module, which, fty)]
    functions += [_define_huge_vector(module, which, ir.VectorType(fty, n)) for n in huge_trig_names.VECTOR_LANES]
    return str(module), [f.name for f in functions]


def huge_trig_libraries(symbols):
    """`huge_trig_ir` of each library defining some of `symbols` (names code declares)."""
    wanted = {(m[1], m[2]) for m in map(huge_trig_names.SYMBOL.fullmatch, symbols) if m}
    return [huge_trig_ir(which, suffix) for which, suffix in sorted(wanted)]


_FLOAT_TYPES = {"f32": ir.FloatType, "f64": ir.DoubleType}


def _declare_huge(module, symbol, ftype, cc):
    """Declare `symbol` of a huge-argument library (`huge_trig_ir`) in `module`."""
    fn = module.globals.get(symbol)
    if fn is None:
        fn = ir.Function(module, ftype, symbol)
        fn.calling_convention = cc
        fn.attributes.add("nounwind")
    return fn


def _huge_trig_scalar(module, which, fty):
    return _declare_huge(module, _huge_scalar_symbol(which, fty), ir.FunctionType(fty, [fty]), "")


def _huge_trig_vector(module, which, vty):
    if vty.count not in huge_trig_names.VECTOR_LANES:
        raise ValueError(f"{which} of explicit vectors takes {huge_trig_names.VECTOR_LANES} lanes, got {vty}")
    symbol, mty = _huge_vector_symbol(which, vty), ir.VectorType(ir.IntType(1), vty.count)
    ftype = ir.FunctionType(vty, [vty, mty])
    known = symbol in module.globals
    fn = _declare_huge(module, symbol, ftype, _huge_cc(vty))
    if not known:
        _keep(module, fn)
    return fn


def _keep(module, fn):
    """List fn in @llvm.compiler.used: it is referenced only by name in a call attribute, and would
    be deleted as unused before the loop vectoriser looks for it."""
    used = module.globals.get("llvm.compiler.used")
    if used is None:
        used = ir.GlobalVariable(module, ir.ArrayType(ir.PointerType(), 0), "llvm.compiler.used")
        used.linkage, used.section = "appending", "llvm.metadata"
        used.fnad_functions = []
    used.fnad_functions.append(fn)
    used.value_type = ir.ArrayType(ir.PointerType(), len(used.fnad_functions))
    used.initializer = ir.Constant(used.value_type, used.fnad_functions)


def _huge_trig_call(e, which, x, huge, v):
    """v, or where the i1 (vector) `huge` is set, the Payne-Hanek value of x (see above)."""
    b = e.b
    module = b.module
    origin = b.block
    slow, done = b.append_basic_block("huge"), b.append_basic_block("done")
    if e.lanes:  # explicit vectors: test the lanes here, then call the masked vector version
        any_huge = b.icmp_unsigned("!=", b.bitcast(huge, ir.IntType(e.lanes)), ir.Constant(ir.IntType(e.lanes), 0))
        b.cbranch(any_huge, slow, done)
        b.position_at_end(slow)
        s = b.select(huge, b.call(_huge_trig_vector(module, which, e.fty), [x, huge]), v)
    else:
        b.cbranch(huge, slow, done)
        b.position_at_end(slow)
        scalar = _huge_trig_scalar(module, which, e.fty)
        variants = ",".join(
            f"_ZGV_LLVM_M{n}v_{scalar.name}({_huge_trig_vector(module, which, ir.VectorType(e.fty, n)).name})"
            for n in huge_trig_names.VECTOR_LANES
        )
        s = b.call(scalar, [x])
        set.add(s.attributes, f'"vector-function-abi-variant"="{variants}"')  # llvmlite knows no string attributes
    b.branch(done)
    b.position_at_end(done)
    out = b.phi(e.fty)
    out.add_incoming(v, origin)
    out.add_incoming(s, slow)
    return out


def _scalar_trig_kernel(which):
    """float64 scalars branch by |x|: up to pi/4 the polynomials need no reduction at all, up to
    _SHORT_TRIG the short reduction; neither needs the special-value selects.  Zeros, large
    arguments, inf and NaN take the general kernel."""
    general = _trig_kernel(which)

    def kernel(e, x):
        if not e.is64:
            return general(e, x)
        ax = e.fabs(x)
        paths = [
            (e.b.and_(e.gt(ax, 0.0), e.le(ax, _PIO4[64][0])), lambda: (x, None, e.ci(0))),
            (e.b.and_(e.gt(ax, 0.0), e.le(ax, _SHORT_TRIG)), lambda: _trig_reduce(e, x, True, short=True)),
        ]
        done = e.b.append_basic_block("done")
        v = ir.IRBuilder(done).phi(e.fty)
        for taken, reduce in paths:
            path, rest = e.b.append_basic_block("path"), e.b.append_basic_block("rest")
            e.b.cbranch(taken, path, rest)
            e.b.position_at_end(path)
            v.add_incoming(_trig_value(e, which, x, *reduce(), _Emitter.estrin), e.b.block)
            e.b.branch(done)
            e.b.position_at_end(rest)
        v.add_incoming(general(e, x), e.b.block)
        e.b.branch(done)
        e.b.position_at_end(done)
        return v

    return kernel


# --- inverse trigonometric ---------------------------------------------------------------------


def _atan_sum(e, a, b, neg=None):
    """atan(a/b) for a, b >= 0 (pi - atan(a/b) where the i1 `neg`), without forming a/b.

    The ratio is reduced to |z| <= tan(pi/8) around 0, pi/4 or pi/2; both operands are
    scaled down by 4 when large so that a + b cannot overflow."""
    big = e.gt(e.fmax(a, b), 2.0 ** (e.bias - 2))
    a = e.sel(big, e.mul(a, 0.25), a)
    b = e.sel(big, e.mul(b, 0.25), b)
    r0 = e.le(a, e.mul(b, _TAN_PI_8))
    r1 = e.le(a, e.mul(b, _TAN_3PI_8))
    num = e.sel(r0, a, e.sel(r1, e.sub(a, b), e.neg(b)))
    den = e.sel(r0, b, e.sel(r1, e.add(a, b), a))
    z = e.div(num, den)
    z2 = e.mul(z, z)
    corr = e.mul(e.mul(z, z2), e.horner(z2, _ATAN[e.bits]))
    k = _pick(e, r0, (0.0, 0.0), _pick(e, r1, _PIO4[e.bits], _PIO2[e.bits]))
    m = e.c(1.0)
    if neg is not None:
        kn = _pick(e, r0, _PI[e.bits], _pick(e, r1, _3PIO4[e.bits], _PIO2[e.bits]))
        k = _pick(e, neg, kn, k)
        m = e.sel(neg, -1.0, 1.0)
    return _compose(e, k, m, z, corr)


def _atan(e, x):
    return e.copysign(_atan_sum(e, e.fabs(x), 1.0), x)


def _atan2(e, y, x):
    a, b = e.fabs(y), e.fabs(x)
    neg = e.b.icmp_signed("<", e.as_int(x), e.ci(0))  # sign bit: atan2(0, -0) = pi
    t = _atan_sum(e, a, b, neg)
    both_inf = e.b.and_(e.eq(a, _INF), e.eq(b, _INF))
    t = e.sel(both_inf, e.sel(neg, _3PIO4[e.bits][0], _PIO4[e.bits][0]), t)
    t = e.sel(e.eq(a, 0.0), e.sel(neg, _PI[e.bits][0], 0.0), t)
    return e.sel(e.b.or_(e.isnan(x), e.isnan(y)), _NAN, e.copysign(t, y))


def _asin_parts(e, v, small):
    """(s, corr) with asin(s + corr-ish) = s + corr: s = v where `small`, else sqrt((1 - |v|)/2)
    carried with its rounding error so that pi/2 - 2 asin(s) keeps full precision."""
    z = e.sel(small, e.mul(v, v), e.mul(e.sub(1.0, e.fabs(v)), 0.5))
    s = e.sel(small, v, e.sqrt(z))
    s_lo = e.div(e.fma(e.neg(s), s, z), e.fmax(e.add(s, s), 2.0 ** (1 - e.bias)))
    s_lo = e.sel(small, 0.0, s_lo)
    return s, e.fma(e.mul(s, z), e.horner(z, _ASIN[e.bits]), s_lo)


def _asin(e, x):
    small = e.lt(e.fabs(x), 0.5)
    s, corr = _asin_parts(e, e.fabs(x), small)
    k = _pick(e, small, (0.0, 0.0), _PIO2[e.bits])
    return e.copysign(_compose(e, k, e.sel(small, 1.0, -2.0), s, corr), x)


def _acos(e, x):
    small = e.lt(e.fabs(x), 0.5)
    s, corr = _asin_parts(e, x, small)
    neg = e.lt(x, 0.0)
    k = _pick(e, small, _PIO2[e.bits], _pick(e, neg, _PI[e.bits], (0.0, 0.0)))
    m = e.sel(small, -1.0, e.sel(neg, -2.0, 2.0))
    return _compose(e, k, m, s, corr)


# --- erf ---------------------------------------------------------------------------------------


def _erf(e, x):
    xmax, inv_th, off, coeffs = _ERFC[e.bits]
    a = e.clamp(e.fabs(x), 0.0, xmax)
    z = e.mul(a, a)
    small = e.fma(a, e.horner(z, _ERF_SMALL[e.bits]), a)
    # erfc(a) = exp(-a^2) t P(v); a^2 = z + z_lo exactly, exp(-z - z_lo) ~ exp(-z) (1 - z_lo)
    z_lo = e.fma(a, a, e.neg(z))
    ex = _exp_scaled(e, e.neg(z))
    ex = e.fma(ex, e.neg(z_lo), ex)
    t = e.div(1.0, a)
    erfc = e.mul(ex, e.mul(t, e.horner(e.fma(t, inv_th, off), coeffs)))
    r = e.sel(e.lt(a, 1.0), small, e.sub(1.0, erfc))
    return e.keep_nan(x, e.copysign(r, x))


# --- pow ---------------------------------------------------------------------------------------


def _log_dd(e, w):
    """log(w) as an unevaluated sum hi + lo good to about 2^-66 relative (float64, w > 0 finite)."""
    k, f = _log_decompose(e, w)
    # s = f / (2 + f) in double-double
    d = e.add(f, 2.0)
    d_lo = e.add(e.sub(2.0, d), f)
    s = e.div(f, d)
    s_lo = e.div(e.fma(e.neg(s), d_lo, e.fma(e.neg(s), d, f)), d)
    # log1p(f) = 2s + (2/3) s^3 + s^5 P(s^2), the first two terms in double-double
    sq = e.mul(s, s)
    sq_lo = e.fma(e.add(s, s), s_lo, e.fma(s, s, e.neg(sq)))
    cu = e.mul(sq, s)
    cu_lo = e.fma(sq_lo, s, e.fma(sq, s_lo, e.fma(sq, s, e.neg(cu))))
    t_hi, t_lo = _TWO_THIRDS
    tt = e.mul(cu, t_hi)
    tt_lo = e.fma(cu_lo, t_hi, e.fma(cu, t_lo, e.fma(cu, t_hi, e.neg(tt))))
    tail = e.mul(e.mul(cu, sq), e.horner(sq, _LOG_DD))
    two_s = e.add(s, s)
    l_hi = e.add(two_s, tt)
    l_lo = e.add(e.sub(tt, e.sub(l_hi, two_s)), e.add(e.fma(s_lo, 2.0, tt_lo), tail))
    # + k ln2
    ln2_hi, ln2_lo = _LN2[64]
    kl = e.mul(k, ln2_hi)
    kl_lo = e.fma(k, ln2_lo, e.fma(k, ln2_hi, e.neg(kl)))
    hi, err = _two_sum(e, kl, l_hi)
    return hi, e.add(err, e.add(l_lo, kl_lo))


def _pow_core(e, ax, y):
    """ax**y for finite positive ax as exp(y log ax): float64 carries log ax in double-double;
    float32 needs only a float64 log and exp (|y log ax| < 104 wherever the float32 result is
    finite and nonzero, so their error stays below 2^-44)."""
    if not e.is64:
        d = e.sibling(ir.DoubleType())
        yd = e.b.fpext(y, d.fty)
        return e.b.fptrunc(_exp_scaled(d, d.mul(yd, _log_core(d, e.b.fpext(ax, d.fty)))), e.fty)
    l_hi, l_lo = _log_dd(e, ax)
    p_hi = e.mul(y, l_hi)
    p_lo = e.fma(y, l_lo, e.fma(y, l_hi, e.neg(p_hi)))
    p_lo = e.sel(e.le(e.fabs(p_hi), _EXP_CLAMP[64]), p_lo, 0.0)
    return _exp_scaled(e, p_hi, lo=p_lo)


def _pow(e, x, y):
    ax, ay = e.fabs(x), e.fabs(y)
    core = _pow_core(e, ax, y)
    # |x| in {0, inf} or |y| = inf: the magnitude is 0 or inf (|x| = 1 is handled below)
    special = e.b.or_(e.b.or_(e.eq(ax, 0.0), e.eq(ax, _INF)), e.eq(ay, _INF))
    grows = e.b.icmp_unsigned("==", e.gt(ax, 1.0), e.gt(y, 0.0))
    mag = e.sel(special, e.sel(grows, _INF, 0.0), core)
    y_int = e.eq(e.floor(y), y)
    half = e.mul(y, 0.5)
    y_odd = e.b.and_(y_int, e.ne(e.floor(half), half))
    x_neg = e.b.icmp_signed("<", e.as_int(x), e.ci(0))
    r = e.sel(e.b.and_(x_neg, y_odd), e.neg(mag), mag)
    neg_finite = e.b.and_(e.lt(x, 0.0), e.ne(x, -_INF))
    r = e.sel(e.b.and_(neg_finite, e.b.not_(y_int)), _NAN, r)
    r = e.sel(e.b.or_(e.isnan(x), e.isnan(y)), _NAN, r)
    one = e.b.or_(e.b.or_(e.eq(y, 0.0), e.eq(x, 1.0)), e.b.and_(e.eq(x, -1.0), e.eq(ay, _INF)))
    return e.sel(one, 1.0, r)


# --- cbrt ---------------------------------------------------------------------------------------

_CBRT_SCALE = 162  # subnormal float64 arguments are scaled by 2^162 (a cube) first


def _cbrt(e, x):
    """|x|^(1/3) by pow in float64 and one Newton step whose residual y^3 - |x| is computed nearly
    exactly (fma), the sign of x put back.  float64 subnormals are scaled up by a cube first:
    their cube roots are normal, but y^3 would not be, and the Newton step would lose its bits."""
    d = e if e.is64 else e.sibling(ir.DoubleType())
    a = d.fabs(x if e.is64 else e.b.fpext(x, d.fty))
    tiny = d.lt(a, 2.0 ** (1 - d.bias))
    a = d.sel(tiny, d.mul(a, 2.0**_CBRT_SCALE), a)
    y = _pow(d, a, d.c(1 / 3))
    y2 = d.mul(y, y)
    resid = d.fma(d.fma(y, y, d.neg(y2)), y, d.fma(y2, y, d.neg(a)))  # y^3 - a
    newton = d.sub(y, d.div(resid, d.mul(y2, 3.0)))
    y = d.sel(d.b.or_(d.eq(y, 0.0), d.eq(y, _INF)), y, d.keep_nan(y, newton))
    y = d.sel(tiny, d.mul(y, 2.0 ** -(_CBRT_SCALE // 3)), y)
    return e.copysign(y if e.is64 else e.b.fptrunc(y, e.fty), x)


# --- integer powers ------------------------------------------------------------------------------


def _dd_mul(e, a, b):
    """(a_hi + a_lo)(b_hi + b_lo) as hi + lo (a lo of None is zero); lo is None if not `e.is64`:
    float32 powers are formed in plain float64, whose error stays far below float32's ulp."""
    hi = e.mul(a[0], b[0])
    if not e.is64:
        return hi, None
    lo = e.fma(a[0], b[0], e.neg(hi))
    if a[1] is not None:
        lo = e.fma(a[1], b[0], lo)
    if b[1] is not None:
        lo = e.fma(a[0], b[1], lo)
    if a[1] is not None and b[1] is not None:
        # lo is not renormalised (so that hi stays the plain product, inf and 0 included), so
        # lo/hi doubles with each squaring: x**n carries lo/hi ~ n 2^-53, and a_lo b_lo matters
        lo = e.fma(a[1], b[1], lo)
    return hi, lo


def _powi(e, x, n):
    """x**n for a Python int n, by repeated squaring in double-double (float64) or float64
    (float32), so that the result is rounded once: plain repeated squaring in the working
    precision loses about log2(n) bits (x**100: up to 61 ulp).  Negative n raise the double-
    double reciprocal of x to -n, so that results in the subnormal range come out right (x**-n
    as 1/x**n is 0 once x**n overflows, e.g. 10.0**-320).  0, inf and NaN powers take the plain
    product of the high parts, which the double-double tail (NaN there) must not touch."""
    if n in (0, 1, 2, -1):  # exact or rounded once as they stand; NaN**0 == 1 as in C99
        return {0: lambda: e.c(1.0), 1: lambda: x, 2: lambda: e.mul(x, x), -1: lambda: e.div(1.0, x)}[n]()
    d = e if e.is64 else e.sibling(ir.DoubleType())
    xd = x if e.is64 else e.b.fpext(x, d.fty)
    if n < 0:
        q = d.div(1.0, xd)
        base = (q, d.mul(d.fma(d.neg(xd), q, 1.0), q) if e.is64 else None)
    else:
        base = (xd, None)
    acc, k = None, abs(n)
    while k:
        if k & 1:
            acc = base if acc is None else _dd_mul(d, acc, base)
        k >>= 1
        if k:
            base = _dd_mul(d, base, base)
    hi, lo = acc
    if lo is not None:
        regular = d.b.and_(d.lt(d.fabs(hi), _INF), d.ne(hi, 0.0))
        hi = d.sel(regular, d.add(hi, lo), hi)
    return hi if e.is64 else e.b.fptrunc(hi, e.fty)


def emit_powi(builder, x, n):
    """Emit x**n for a float or double scalar (or vector) x and a Python int n, inline."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"integer power: the exponent must be a Python int, got {n!r}")
    fty = x.type
    scalar = fty.element if isinstance(fty, ir.VectorType) else fty
    if not isinstance(scalar, (ir.FloatType, ir.DoubleType)):
        raise TypeError(f"integer power needs a float or double argument, got {fty}")
    return _powi(_Emitter(builder, fty), x, int(n))


# --- registry and public entry point -----------------------------------------------------------

_KERNELS = {
    "exp": (1, _exp),
    "exp2": (1, _exp2),
    "expm1": (1, _expm1),
    "log": (1, _log_kernel(_BASE_E)),
    "log2": (1, _log_kernel(_BASE_2)),
    "log10": (1, _log_kernel(_BASE_10)),
    "log1p": (1, _log1p),
    "sin": (1, _trig_kernel("sin")),
    "cos": (1, _trig_kernel("cos")),
    "tan": (1, _trig_kernel("tan")),
    "sinh": (1, _sinh),
    "cosh": (1, _cosh),
    "tanh": (1, _tanh),
    "logistic": (1, _logistic),
    "asinh": (1, _asinh),
    "acosh": (1, _acosh),
    "atanh": (1, _atanh),
    "atan": (1, _atan),
    "atan2": (2, _atan2),
    "asin": (1, _asin),
    "acos": (1, _acos),
    "erf": (1, _erf),
    "pow": (2, _pow),
    "cbrt": (1, _cbrt),
}
SUPPORTED = frozenset(_KERNELS)
# Variants for values computed once (not in a vectorisable loop), where a predictable branch to a
# shorter path for common arguments lowers the latency of loop-carried chains.
_SCALAR_KERNELS = {name: (1, _scalar_trig_kernel(name)) for name in ("sin", "cos", "tan")}
# Variants for terms of a sum known to stay >= 1 whose NaN and overflow the caller detects otherwise
# (logsumexp's one pass): results below the normal range come out as about the smallest normal
# number (4096 such terms add < 1e-34), and those above it or of NaN arguments are meaningless.
_SUMMAND_KERNELS = {"exp": (1, _exp_summand)}


def _kernel(module, name, fty, once, summand):
    """Get or define the kernel `fnad.vm.<name>.<type>[.once|.summand]` in `module`."""
    kernels, variant = None, ""
    if once and name in _SCALAR_KERNELS and not isinstance(fty, ir.VectorType):
        kernels, variant = _SCALAR_KERNELS, ".once"
    elif summand:
        if name not in _SUMMAND_KERNELS:
            raise ValueError(f"no summand variant of {name!r}; there is one of {sorted(_SUMMAND_KERNELS)}")
        kernels, variant = _SUMMAND_KERNELS, ".summand"
    symbol = f"fnad.vm.{name}.{_type_suffix(fty)}{variant}"
    if symbol in module.globals:
        return module.globals[symbol]
    nargs, body = (kernels or _KERNELS)[name]
    fn = ir.Function(module, ir.FunctionType(fty, [fty] * nargs), symbol)
    fn.linkage = "internal"
    fn.attributes.add("alwaysinline")
    fn.attributes.add("nounwind")
    builder = ir.IRBuilder(fn.append_basic_block("entry"))
    builder.ret(body(_Emitter(builder, fty), *fn.args))
    return fn


def emit_math(builder, name, *args, once=False, summand=False):
    """Emit `name(*args)` at `builder`; args are float or double scalars (or vectors) of one type.

    `once`: the value is computed once where it stands, not per element of a loop that LLVM should
    vectorise (e.g. a scalar inside a sequential loop body); the kernel may then branch.
    `summand` (exp only): a term of a sum that stays >= 1, whose NaN and overflow the caller
    detects another way (see `_SUMMAND_KERNELS`); same bits as exp for normal results, cheaper."""
    if name not in _KERNELS:
        raise ValueError(f"unsupported math function {name!r}; supported: {sorted(SUPPORTED)}")
    nargs = _KERNELS[name][0]
    if len(args) != nargs:
        raise TypeError(f"{name} takes {nargs} argument(s), got {len(args)}")
    fty = args[0].type
    scalar = fty.element if isinstance(fty, ir.VectorType) else fty
    if not isinstance(scalar, (ir.FloatType, ir.DoubleType)) or any(a.type != fty for a in args):
        raise TypeError(f"{name} needs float or double arguments of one type, got {[str(a.type) for a in args]}")
    return builder.call(_kernel(builder.module, name, fty, once, summand), args)
