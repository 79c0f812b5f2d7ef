"""`fnad.scipy.special`: SciPy's special functions with `jax.scipy.special`'s names, signatures and edge values.

Built from the special-function primitives (`fnad.primitives.special`: log-gamma, digamma, zeta,
incomplete gamma and beta, erfc, erfcx, ndtri, Bessel I0e/I1e, the exponential, Dawson, Spence, sine,
cosine and Fresnel integrals, Owen's T, 1F1, 2F1) and fnad.numpy (wofz, bessel_jn, sph_harm_y and the
composites), so every function is
differentiable, batchable and compiles to native code under `jit`. Arguments are promoted as JAX does
(integers to float64, NumPy broadcasting).
"""

from __future__ import annotations

import operator

import numpy as np

from .. import lax
from .. import nn as _nn
from .. import numpy as fnp
from ..core import get_aval
from ..custom_derivatives import custom_jvp
from ..numpy._core import concrete, promoted_inexact
from ..primitives import special as _sp


def _inexact(*args):
    """The arguments promoted to a common inexact dtype and broadcast to a common shape."""
    args = promoted_inexact(*args)
    return fnp.broadcast_arrays(*args) if len(args) > 1 else args


def _safe(cond, x, fill):
    """x where `cond`, else the harmless `fill` (so that the unselected side of a `where` stays finite
    and its derivative does not turn into NaN)."""
    return fnp.where(cond, x, fill)


# ----------------------------------------------------------------------------------------------
# Error function family


def erf(x):
    """The error function, as `jax.scipy.special.erf`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.erf(np.array([0.0, 1.0]))
    Array([0.        , 0.84270079], dtype=float64)
    """
    (x,) = _inexact(x)
    return lax.erf(x)


def erfc(x):
    """The complementary error function 1 - erf(x), accurate where it is tiny, as `jax.scipy.special.erfc`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.erfc(np.array([0.0, 20.0]))
    Array([1.00000000e+000, 5.39586561e-176], dtype=float64)
    """
    (x,) = _inexact(x)
    return _sp.erfc(x)


def erfinv(x):
    """The inverse error function, as `jax.scipy.special.erfinv`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.erfinv(np.array([0.0, 0.5]))
    Array([0.        , 0.47693628], dtype=float64)
    """
    (x,) = _inexact(x)
    return lax.erf_inv(x)


def erfcx(x):
    """The scaled complementary error function exp(x^2) erfc(x), as `jax.scipy.special.erfcx`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.erfcx(np.array([0.0, 100.0]))
    Array([1.        , 0.00564161], dtype=float64)
    """
    (x,) = _inexact(x)
    return _sp.erfcx(x)


def ndtr(x):
    """The standard normal CDF, as `jax.scipy.special.ndtr` (erf in the middle, erfc in the tails).

    >>> import numpy as np; from fnad.scipy import special
    >>> special.ndtr(np.array([0.0, -10.0]))
    Array([5.00000000e-01, 7.61985302e-24], dtype=float64)
    """
    (x,) = _inexact(x)
    half_sqrt_2 = np.sqrt(0.5)
    t = x * half_sqrt_2
    z = fnp.abs(t)
    y = fnp.where(z < half_sqrt_2, 1 + lax.erf(t), fnp.where(t > 0, 2 - _sp.erfc(z), _sp.erfc(z)))
    return 0.5 * y


def ndtri(p):
    """The inverse of the standard normal CDF, as `jax.scipy.special.ndtri`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.ndtri(np.array([0.5, 1e-300]))
    Array([  0.       , -37.0470963], dtype=float64)
    """
    (p,) = _inexact(p)
    return _sp.ndtri(p)


def log_ndtr(x, series_order=3):
    """log of the standard normal CDF, accurate far into both tails, as `jax.scipy.special.log_ndtr`
    (here from erfcx below -1: log(erfcx(-x / sqrt 2) / 2) - x^2 / 2; `series_order` is accepted and,
    unlike JAX's asymptotic series, not needed).

    >>> import numpy as np; from fnad.scipy import special
    >>> special.log_ndtr(np.array([0.0, -40.0, 10.0]))
    Array([-6.93147181e-01, -8.04608442e+02, -7.61985302e-24], dtype=float64)
    """
    if not isinstance(series_order, int) or series_order < 0:
        raise ValueError(f"log_ndtr: series_order must be a non-negative Python int, got {series_order!r}")
    (x,) = _inexact(x)
    r = np.sqrt(0.5)
    low = x < -1
    x_low = _safe(low, x, -1.0)
    lower = fnp.log(0.5 * _sp.erfcx(-x_low * r)) - 0.5 * x_low * x_low
    x_mid = _safe(low, 0.0, x)
    upper = fnp.where(x_mid < 0, fnp.log(0.5 * _sp.erfc(-x_mid * r)), fnp.log1p(-0.5 * _sp.erfc(x_mid * r)))
    return fnp.where(low, lower, upper)


# ----------------------------------------------------------------------------------------------
# Gamma function family


def gammaln(x):
    """log|Gamma(x)|, as `jax.scipy.special.gammaln`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.gammaln(np.array([0.5, 100.0]))
    Array([  0.57236494, 359.13420537], dtype=float64)
    """
    (x,) = _inexact(x)
    return _sp.lgamma(x)


def gammasgn(x):
    """The sign of Gamma(x) (NaN at the poles and -inf, -1 at -0), as `jax.scipy.special.gammasgn`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.gammasgn(np.array([2.5, -0.5, -1.5]))
    Array([ 1., -1.,  1.], dtype=float64)
    """
    (x,) = _inexact(x)
    floor_x = fnp.floor(x)
    negative = x < 0
    odd = fnp.fmod(floor_x, 2) != 0
    minus = (negative & odd) | ((x == 0) & fnp.signbit(x))
    nan = (negative & (x == floor_x)) | fnp.isnan(x)
    return fnp.where(nan, np.nan, fnp.where(minus, -1.0, 1.0)).astype(get_aval(x).dtype)


def gamma(x):
    """The gamma function, as `jax.scipy.special.gamma` (sign times exp(gammaln)).

    >>> import numpy as np; from fnad.scipy import special
    >>> special.gamma(np.array([5.0, 0.5, -0.5]))
    Array([24.        ,  1.77245385, -3.5449077 ], dtype=float64)
    """
    (x,) = _inexact(x)
    return gammasgn(x) * fnp.exp(_sp.lgamma(x))


def loggamma(x):
    """The principal branch of log Gamma on real arguments: gammaln for x > 0, NaN elsewhere, as
    `jax.scipy.special.loggamma` on real input.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.loggamma(np.array([3.0, -0.5]))
    Array([0.69314718,        nan], dtype=float64)
    """
    (x,) = _inexact(x)
    return fnp.where(x > 0, _sp.lgamma(x), np.nan)


def digamma(x):
    """The digamma function psi(x), as `jax.scipy.special.digamma`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.digamma(np.array([1.0, 0.5]))
    Array([-0.57721566, -1.96351003], dtype=float64)
    """
    (x,) = _inexact(x)
    return _sp.digamma(x)


def polygamma(n, x):
    """The n-th derivative of digamma; `n` must have an integer dtype, as in `jax.scipy.special.polygamma`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.polygamma(np.array([1, 2]), np.array([1.0, 1.0]))
    Array([ 1.64493407, -2.40411381], dtype=float64)
    """
    dtype = get_aval(n).dtype if not isinstance(n, int) else np.dtype(int)
    if not np.issubdtype(dtype, np.integer):
        raise ValueError(f"polygamma: argument `n` must be of integer type, got dtype {dtype.name}")
    n, x = _inexact(n, x)
    return _sp.polygamma(n, x)


def multigammaln(a, d):
    """log of the multivariate gamma function of dimension d (a static int), as `jax.scipy.special.multigammaln`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.multigammaln(np.array([3.0]), 2)
    Array([1.55019499], dtype=float64)
    """
    d = operator.index(concrete(d, "multigammaln's d"))
    (a,) = _inexact(a)
    constant = 0.25 * d * (d - 1) * np.log(np.pi)
    b = np.arange(d, dtype=get_aval(a).dtype) / 2
    return fnp.sum(_sp.lgamma(fnp.expand_dims(a, -1) - b), axis=-1) + constant


def factorial(n, exact=False):
    """n! as exp(gammaln(n + 1)), 0 for n < 0, as `jax.scipy.special.factorial` (exact=True is not supported).

    >>> import numpy as np; from fnad.scipy import special
    >>> special.factorial(np.array([0.0, 5.0, -1.0]))
    Array([  1., 120.,   0.], dtype=float64)
    """
    if exact:
        raise NotImplementedError("factorial with exact=True (as in JAX)")
    (n,) = _inexact(n)
    return fnp.where(n < 0, 0.0, fnp.exp(_sp.lgamma(n + 1))).astype(get_aval(n).dtype)


def poch(z, m):
    """The Pochhammer symbol Gamma(z + m) / Gamma(z), as `jax.scipy.special.poch`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.poch(np.array([3.0]), np.array([2.0]))
    Array([12.], dtype=float64)
    """
    z, m = _inexact(z, m)
    return fnp.where(m == 0.0, 1.0, gamma(z + m) / gamma(z)).astype(get_aval(z).dtype)


def comb(N, k, *, repetition=False):
    """N choose k from gammaln (0 outside 0 <= k <= N), as `jax.scipy.special.comb`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.comb(np.array([5.0, 5.0]), np.array([2.0, 7.0]))
    Array([10.,  0.], dtype=float64)
    """
    N, k = _inexact(N, k)
    if repetition:
        return fnp.where((k == 0) & (N >= 0), 1.0, comb(N + k - 1, k)).astype(get_aval(N).dtype)
    ok = (k <= N) & (N >= 0) & (k >= 0)
    n_, k_ = _safe(ok, N, 0.0), _safe(ok, k, 0.0)
    value = fnp.exp(_sp.lgamma(n_ + 1) - _sp.lgamma(k_ + 1) - _sp.lgamma(n_ + 1 - k_))
    return fnp.where(ok, value, 0.0).astype(get_aval(N).dtype)


def betaln(a, b):
    """log|B(a, b)| = gammaln(a) + gammaln(b) - gammaln(a + b), as `jax.scipy.special.betaln`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.betaln(np.array([2.0]), np.array([3.0]))
    Array([-2.48490665], dtype=float64)
    """
    a, b = _inexact(a, b)
    return _sp.lgamma(a) + _sp.lgamma(b) - _sp.lgamma(a + b)


def beta(a, b):
    """The beta function B(a, b), as `jax.scipy.special.beta`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.beta(np.array([2.0]), np.array([3.0]))
    Array([0.08333333], dtype=float64)
    """
    a, b = _inexact(a, b)
    return gammasgn(a) * gammasgn(b) * gammasgn(a + b) * fnp.exp(betaln(a, b))


def betainc(a, b, x):
    """The regularized incomplete beta function I_x(a, b), as `jax.scipy.special.betainc`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.betainc(np.array([2.0]), np.array([3.0]), np.array([0.25]))
    Array([0.26171875], dtype=float64)
    """
    a, b, x = _inexact(a, b, x)
    return _sp.betainc(a, b, x)


def gammainc(a, x):
    """The regularized lower incomplete gamma function P(a, x), as `jax.scipy.special.gammainc`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.gammainc(np.array([2.0]), np.array([3.0]))
    Array([0.80085173], dtype=float64)
    """
    a, x = _inexact(a, x)
    return _sp.igamma(a, x)


def gammaincc(a, x):
    """The regularized upper incomplete gamma function Q(a, x), as `jax.scipy.special.gammaincc`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.gammaincc(np.array([2.0]), np.array([3.0]))
    Array([0.19914827], dtype=float64)
    """
    a, x = _inexact(a, x)
    return _sp.igammac(a, x)


def zeta(x, q=None):
    """The Hurwitz zeta function sum_k (q + k)^-x; the Riemann zeta function when q is None (JAX raises there).

    >>> import numpy as np; from fnad.scipy import special
    >>> special.zeta(np.array([2.0, 3.0]), np.array([1.0, 2.0]))
    Array([1.64493407, 0.2020569 ], dtype=float64)
    """
    if q is None:
        q = 1.0
    x, q = _inexact(x, q)
    return _sp.zeta(x, q)


def bernoulli(n):
    """The first n + 1 Bernoulli numbers (B_1 = -1/2), as `jax.scipy.special.bernoulli`.

    >>> from fnad.scipy import special
    >>> special.bernoulli(4)
    Array([ 1.        , -0.5       ,  0.16666667,  0.        , -0.03333333], dtype=float64)
    """
    n = operator.index(concrete(n, "bernoulli's n"))
    if n < 0:
        raise ValueError(f"bernoulli: n must be a non-negative integer, got {n}")
    out = np.zeros(n + 1)
    out[: min(n + 1, 3)] = [1.0, -0.5, 1 / 6][: n + 1]
    m = np.arange(4, n + 1, 2, dtype=np.float64)
    if m.size:  # B_m = (-1)^(m/2+1) 2 m! / (2 pi)^m zeta(m), the product formed step by step
        factor = np.cumprod(-(m - 1) * m / (4 * np.pi**2)) / np.pi**2
        out[4::2] = factor * np.asarray(_sp.zeta(m, 1.0))
    return fnp.asarray(out)


def _real(name, *args):
    """The arguments promoted and broadcast as `_inexact`; complex ones are refused (JAX raises too)."""
    args = _inexact(*args)
    if np.issubdtype(get_aval(args[0]).dtype, np.complexfloating):
        raise ValueError(f"{name} does not support complex-valued inputs (as in JAX)")
    return args


def dawsn(x):
    """Dawson's integral exp(-x^2) int_0^x exp(t^2) dt, as `jax.scipy.special.dawsn`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.dawsn(np.array([0.5, -2.0]))
    Array([ 0.42443638, -0.30134039], dtype=float64)
    """
    (x,) = _real("dawsn", x)
    return _sp.dawsn(x)


def spence(x):
    """Spence's function int_1^x log(t) / (1 - t) dt for x >= 0 (NaN below), as `jax.scipy.special.spence`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.spence(np.array([0.5, 1.0, 3.0]))
    Array([ 0.58224053,  0.        , -1.43674637], dtype=float64)
    """
    (x,) = _real("spence", x)
    return _sp.spence(x)


def sici(x):
    """The sine and cosine integrals (Si(x), Ci(x)) (Ci(|x|) below 0, the real part, as JAX), as
    `jax.scipy.special.sici`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.sici(np.array([1.0, 10.0]))
    (Array([0.94608307, 1.65834759], dtype=float64), Array([ 0.33740392, -0.04545643], dtype=float64))
    """
    (x,) = _real("sici", x)
    return _sp.sine_integral(x), _sp.cosine_integral(x)


def fresnel(x):
    """The Fresnel integrals (S(x), C(x)), int_0^x of sin and cos of pi t^2 / 2, as `jax.scipy.special.fresnel`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.fresnel(np.array([0.5, 2.0]))
    (Array([0.06473243, 0.34341568], dtype=float64), Array([0.49234423, 0.48825341], dtype=float64))
    """
    (x,) = _real("fresnel", x)
    return _sp.fresnel_s(x), _sp.fresnel_c(x)


def expn(n, x):
    """The generalized exponential integral E_n(x) = int_1^inf e^(-x t) / t^n dt, NaN unless n is a natural
    number and x >= 0, as `jax.scipy.special.expn` (differentiable in x).

    >>> import numpy as np; from fnad.scipy import special
    >>> special.expn(np.array([0, 1, 3]), np.array([1.0, 1.0, 0.5]))
    Array([0.36787944, 0.21938393, 0.22160436], dtype=float64)
    """
    n, x = _real("expn", n, x)
    return _sp.expn(n, x)


def hyp1f1(a, b, x):
    """The confluent hypergeometric function 1F1(a; b; x) = sum_k (a)_k / (b)_k x^k / k!, as
    `jax.scipy.special.hyp1f1` (1 at a = b = 0 as JAX; differentiable in a, b and x). Accurate to ~1e-14 for
    b > 0 where the series of M(a, b, x) or of Kummer's e^x M(b - a, b, -x) has terms of one sign (a >= 0 for
    x > 0, a <= b for x < 0) and moderate a, b (tests/test_special_breadth.py has the bounds measured).

    >>> import numpy as np; from fnad.scipy import special
    >>> special.hyp1f1(np.array([1.0, 2.0]), np.array([2.0, 3.0]), np.array([1.0, -40.0]))
    Array([1.71828183e+00, 1.25000000e-03], dtype=float64)
    """
    a, b, x = _real("hyp1f1", a, b, x)
    return _sp.hyp1f1(a, b, x)


def _weideman_coefficients(n):
    """Weideman's (1994) rational approximation of the Faddeeva function in the upper half plane:
    w(z) = 2 p(Z) / (L - iz)^2 + 1 / (sqrt(pi) (L - iz)), Z = (L + iz) / (L - iz), with p's coefficients
    (highest power first) from an FFT. n = 40 terms reach ~1e-14 relative (JAX's n = 32: 3e-13)."""
    m = 2 * n
    length = np.sqrt(n / np.sqrt(2))
    t = length * np.tan(np.arange(-m + 1, m) * np.pi / (2 * m))
    f = np.concatenate([[0.0], np.exp(-t * t) * (length**2 + t * t)])
    a = np.real(np.fft.fft(np.fft.fftshift(f))) / (2 * m)
    return float(length), [float(c) for c in a[n:0:-1]]  # Python floats: they keep complex64 arguments complex64


_WOFZ_L, _WOFZ_C = _weideman_coefficients(40)
_INV_SQRT_PI = float(1 / np.sqrt(np.pi))


def _wofz_upper(z):
    iz = 1j * z
    denominator = _WOFZ_L - iz
    big_z = (_WOFZ_L + iz) / denominator
    p = _WOFZ_C[0] + 0 * big_z
    for c in _WOFZ_C[1:]:
        p = p * big_z + c
    return 2 * p / (denominator * denominator) + _INV_SQRT_PI / denominator


@custom_jvp
def _wofz(z):
    upper = fnp.imag(z) >= 0
    w_upper = _wofz_upper(fnp.where(upper, z, -z))
    zl = fnp.where(upper, 0, z)  # (the unselected side kept finite)
    lower = 2 * fnp.exp(-zl * zl) - w_upper  # w(z) = 2 exp(-z^2) - w(-z)
    # on the real axis exactly exp(-x^2) + 2i / sqrt(pi) dawsn(x) (the rational's real part is only accurate
    # absolutely there, where exp(-x^2) is tiny)
    x = fnp.real(z)
    real_axis = fnp.exp(-x * x) + 2j * _INV_SQRT_PI * _sp.dawsn(x)
    return fnp.where(fnp.imag(z) == 0, real_axis, fnp.where(upper, w_upper, lower))


_wofz.defjvps(lambda g, ans, z: g * (2j * _INV_SQRT_PI - 2 * z * ans))


def wofz(z):
    """The Faddeeva function w(z) = exp(-z^2) erfc(-iz), complex (real input is promoted), as
    `jax.scipy.special.wofz` (Weideman's rational approximation with 40 terms, ~1e-14 relative, and exact on
    the real axis).

    >>> import numpy as np; from fnad.scipy import special
    >>> special.wofz(np.array([1.0 + 1.0j, 2.0]))
    Array([0.30474421+0.20821894j, 0.01831564+0.34002622j], dtype=complex128)
    """
    (z,) = _inexact(z)
    dtype = get_aval(z).dtype
    if not np.issubdtype(dtype, np.complexfloating):
        z = z.astype(np.result_type(dtype, np.complex64))
    return _wofz(z)


def owens_t(h, a):
    """Owen's T function 1/(2 pi) int_0^a exp(-h^2 (1 + x^2) / 2) / (1 + x^2) dx, as `jax.scipy.special.owens_t`
    (here to float64 precision into the tails, where JAX's 13-point rule loses all digits).

    >>> import numpy as np; from fnad.scipy import special
    >>> special.owens_t(np.array([0.5, 30.0]), np.array([2.0, 0.5]))
    Array([1.41580604e-001, 2.45335696e-198], dtype=float64)
    """
    h, a = _real("owens_t", h, a)
    return _sp.owens_t(h, a)


def hyp2f1(a, b, c, x):
    """The Gauss hypergeometric function 2F1(a, b; c; x) = sum_k (a)_k (b)_k / (c)_k x^k / k! for x <= 1 (inf
    above, as JAX, except for polynomials), as `jax.scipy.special.hyp2f1` (differentiable in a, b, c and x).
    Accurate to ~1e-13 for moderate parameters; within 1e-12 of an integer c - a - b the integer formula is used
    (as Cephes), and a bit beyond that the connection formula loses digits as eps / |c - a - b - integer|.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.hyp2f1(np.array([1.0, 0.5]), np.array([1.0, 0.5]), np.array([2.0, 1.5]), np.array([0.5, 0.99]))
    Array([1.38629436, 1.47803766], dtype=float64)
    """
    a, b, c, x = _real("hyp2f1", a, b, c, x)
    return _sp.hyp2f1(a, b, c, x)


def exp1(x):
    """The exponential integral E1(x) (inf at 0, NaN below 0), as `jax.scipy.special.exp1` on x >= 0.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.exp1(np.array([0.5, 5.0]))
    Array([0.55977359, 0.0011483 ], dtype=float64)
    """
    (x,) = _inexact(x)
    return _sp.exp1(x)


def expi(x):
    """The exponential integral Ei(x), as `jax.scipy.special.expi`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.expi(np.array([-0.5, 0.5, 100.0]))
    Array([-5.59773595e-01,  4.54219905e-01,  2.71555274e+41], dtype=float64)
    """
    (x,) = _inexact(x)
    return _sp.expi(x)


# ----------------------------------------------------------------------------------------------
# Bessel functions


def bessel_jn(z, *, v, n_iter=50):
    """Bessel functions of the first kind J_0(z) ... J_v(z) of a real argument, shape (v + 1, *z.shape), as
    `jax.scipy.special.bessel_jn`: Miller's backward recurrence from order `n_iter`, normalized by
    J_0 + 2 (J_2 + J_4 + ...) = 1 (accurate where n_iter exceeds |z| by a margin; JAX's rule of thumb: the
    smallest n with 0.5 log10(6.28 + n) - n log10(1.36 + |z| / n) > 20). Unlike JAX, rescaled on the way down,
    so that small |z| does not overflow into NaN, and exact at z = 0.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.bessel_jn(np.array([1.0, 5.0]), v=2)
    Array([[ 0.76519769, -0.17759677],
           [ 0.44005059, -0.32757914],
           [ 0.11490348,  0.04656512]], dtype=float64)
    """
    (z,) = _inexact(z)
    if np.issubdtype(get_aval(z).dtype, np.complexfloating):
        raise ValueError("bessel_jn: complex input is not supported (as in JAX)")
    v = operator.index(concrete(v, "bessel_jn's v"))
    n_iter = operator.index(concrete(n_iter, "bessel_jn's n_iter"))
    if v < 0 or n_iter < v:
        raise ValueError(f"bessel_jn: need 0 <= v <= n_iter, got v={v}, n_iter={n_iter}")
    zero = z == 0
    safe = _safe(zero, 1.0, z)
    # f_k = 2 (k + 1) f_(k+1) / z - f_(k+2) from k = n_iter down, each f_k with k <= v kept, rescaled with the
    # rest when they grow large (they grow like (2k / z)^k)
    above, current = fnp.zeros_like(z), fnp.full_like(z, 1e-16)
    norm, kept = fnp.zeros_like(z), []
    for k in range(n_iter, -1, -1):
        above, current = current, 2.0 * (k + 1) * current / safe - above
        if k % 2 == 0:
            norm = norm + (2.0 if k else 1.0) * current
        if k <= v:
            kept.append(current)
        scale = fnp.where(fnp.abs(current) > 1e250, 1e-250, 1.0)
        above, current, norm = above * scale, current * scale, norm * scale
        kept = [value * scale for value in kept]
    values = fnp.stack(kept[::-1]) / norm
    at_zero = (fnp.arange(v + 1) == 0).astype(get_aval(z).dtype).reshape((v + 1,) + (1,) * z.ndim)
    return fnp.where(zero, at_zero, values)


def sph_harm_y(n, m, theta, phi, diff_n=None, n_max=None):
    """The spherical harmonics Y_n^m(theta, phi) (theta the polar angle, phi the azimuth; with the
    Condon-Shortley phase, 0 for |m| > n), complex, as `jax.scipy.special.sph_harm_y`: `n_max` (static; max(n)
    by default, so n must then be concrete) caps the degree, and a scalar theta gives a 1-D result.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.sph_harm_y(np.array([0, 1, 2]), np.array([0, 1, -1]), np.array([0.3, 1.0, 2.0]), np.array([0.1, 2.0, 4.0]))
    Array([0.28209479+0.j        , 0.12098358-0.26435395j, 0.19108178-0.22123856j], dtype=complex128)
    """
    if diff_n is not None:
        raise NotImplementedError("sph_harm_y: the diff_n argument is not supported (as in JAX)")
    if np.ndim(theta) == 0 and not hasattr(theta, "shape"):
        theta = np.array([theta])
    if n_max is None:
        n_max = np.max(np.asarray(concrete(n, "sph_harm_y's n (or pass n_max)")))
    n_max = operator.index(concrete(n_max, "sph_harm_y's n_max"))
    theta, phi = _real("sph_harm_y", theta, phi)
    dtype = get_aval(theta).dtype
    degree = fnp.minimum(fnp.asarray(n), n_max).astype(dtype)
    order = fnp.asarray(m).astype(dtype)
    degree, order, theta, phi = fnp.broadcast_arrays(degree, order, theta, phi)
    am = fnp.abs(order)
    x, sin = fnp.cos(theta), fnp.sin(theta)
    # the orthonormal P_k^k up to k = |m|, then the three-term recurrence in the degree up to n
    p = fnp.full_like(x, 1 / np.sqrt(4 * np.pi))
    for k in range(1, n_max + 1):
        p = fnp.where(k <= am, -np.sqrt((2 * k + 1) / (2 * k)) * sin * p, p)
    below, scaled_below = fnp.zeros_like(x), fnp.zeros_like(x)
    for step in range(1, n_max + 1):
        d = am + step
        a = fnp.sqrt((4 * d * d - 1) / (d * d - am * am))
        nxt = a * (x * p - scaled_below)
        active = d <= degree
        below, p = fnp.where(active, p, below), fnp.where(active, nxt, p)
        scaled_below = fnp.where(active, below / a, scaled_below)
    legendre = fnp.where(am > degree, 0.0, p)
    angle = am * phi
    harmonic = lax.complex(legendre * fnp.cos(angle), legendre * fnp.sin(angle))
    odd = fnp.fmod(am, 2) == 1
    return fnp.where(order < 0, fnp.where(odd, -1.0, 1.0) * fnp.conj(harmonic), harmonic)


def i0e(x):
    """exp(-|x|) I0(x), as `jax.scipy.special.i0e`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.i0e(np.array([0.0, 1.0]))
    Array([1.        , 0.46575961], dtype=float64)
    """
    (x,) = _inexact(x)
    return _sp.bessel_i0e(x)


def i1e(x):
    """exp(-|x|) I1(x), as `jax.scipy.special.i1e`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.i1e(np.array([0.0, 1.0]))
    Array([0.        , 0.20791042], dtype=float64)
    """
    (x,) = _inexact(x)
    return _sp.bessel_i1e(x)


def i0(x):
    """The modified Bessel function I0, as `jax.scipy.special.i0`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.i0(np.array([0.0, 1.0]))
    Array([1.        , 1.26606588], dtype=float64)
    """
    (x,) = _inexact(x)
    return fnp.exp(fnp.abs(x)) * _sp.bessel_i0e(x)


def i1(x):
    """The modified Bessel function I1, as `jax.scipy.special.i1`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.i1(np.array([0.0, 1.0]))
    Array([0.       , 0.5651591], dtype=float64)
    """
    (x,) = _inexact(x)
    return fnp.exp(fnp.abs(x)) * _sp.bessel_i1e(x)


# ----------------------------------------------------------------------------------------------
# Logarithms, entropies, logistic


def xlogy(x, y):
    """x log(y), 0 where x = 0 (NaN in y propagates), as `jax.scipy.special.xlogy`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.xlogy(np.array([0.0, 2.0]), np.array([0.0, 3.0]))
    Array([0.        , 2.19722458], dtype=float64)
    """
    x, y = _inexact(x, y)
    ok = (x != 0) | fnp.isnan(y)
    return fnp.where(ok, x * fnp.log(_safe(ok, y, 1.0)), 0.0).astype(get_aval(x).dtype)


def xlog1py(x, y):
    """x log(1 + y), 0 where x = 0 (NaN in y propagates), as `jax.scipy.special.xlog1py`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.xlog1py(np.array([0.0, 2.0]), np.array([-1.0, 1e-10]))
    Array([0.e+00, 2.e-10], dtype=float64)
    """
    x, y = _inexact(x, y)
    ok = (x != 0) | fnp.isnan(y)
    return fnp.where(ok, x * fnp.log1p(_safe(ok, y, 0.0)), 0.0).astype(get_aval(x).dtype)


def _xlogx(x):
    positive = x > 0
    safe = _safe(positive, x, 1.0)
    return fnp.where(positive, safe * fnp.log(safe), 0.0).astype(get_aval(x).dtype)


def entr(x):
    """-x log(x), 0 at 0, -inf below 0, as `jax.scipy.special.entr`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.entr(np.array([0.0, 0.5, -1.0]))
    Array([-0.        ,  0.34657359,        -inf], dtype=float64)
    """
    (x,) = _inexact(x)
    return fnp.where(x < 0, -np.inf, -_xlogx(x)).astype(get_aval(x).dtype)


def rel_entr(p, q):
    """p log(p / q) for p, q > 0, 0 at p = 0 <= q, inf elsewhere, as `jax.scipy.special.rel_entr`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.rel_entr(np.array([0.5, 0.0, 1.0]), np.array([0.25, 1.0, -1.0]))
    Array([0.34657359, 0.        ,        inf], dtype=float64)
    """
    p, q = _inexact(p, q)
    both = (p > 0) & (q > 0)
    zero = (p == 0) & (q >= 0)
    sp, sq = _safe(both, p, 1.0), _safe(both, q, 1.0)
    value = _xlogx(sp) - xlogy(sp, sq)
    return fnp.where(both, value, fnp.where(zero, 0.0, np.inf)).astype(get_aval(p).dtype)


def kl_div(p, q):
    """p log(p / q) - p + q (inf outside the domain), as `jax.scipy.special.kl_div`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.kl_div(np.array([0.5]), np.array([0.25]))
    Array([0.09657359], dtype=float64)
    """
    p, q = _inexact(p, q)
    return rel_entr(p, q) - p + q


def expit(x):
    """The logistic sigmoid 1 / (1 + exp(-x)), as `jax.scipy.special.expit`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.expit(np.array([0.0, 2.0]))
    Array([0.5       , 0.88079708], dtype=float64)
    """
    (x,) = _inexact(x)
    return lax.logistic(x)


def logit(x):
    """log(x / (1 - x)), the inverse of expit, as `jax.scipy.special.logit`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.logit(np.array([0.5, 0.9]))
    Array([0.        , 2.19722458], dtype=float64)
    """
    (x,) = _inexact(x)
    return fnp.log(x / (1 - x))


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False, where=None):
    """log(sum(b * exp(a))) along `axis`, stable; with `return_sign` (log|sum|, sign), as
    `jax.scipy.special.logsumexp` (`where` masks terms out).

    >>> import numpy as np; from fnad.scipy import special
    >>> special.logsumexp(np.array([1000.0, 1000.0]))
    Array(1000.69314718, dtype=float64)
    >>> special.logsumexp(np.array([0.0, 0.0]), b=np.array([1.0, -2.0]), return_sign=True)
    (Array(0., dtype=float64), Array(-1., dtype=float64))
    """
    (a,) = _inexact(a)
    if where is not None:
        a = fnp.where(where, a, -np.inf)
        if b is not None:
            b = fnp.where(where, b, 0.0)
    return _nn.logsumexp(a, axis=axis, b=b, keepdims=keepdims, return_sign=return_sign)


def softmax(x, /, *, axis=None):
    """exp(x) / sum(exp(x)) over `axis` (all axes by default, as SciPy), as `jax.scipy.special.softmax`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.softmax(np.array([[0.0, 0.0], [0.0, 0.0]]))
    Array([[0.25, 0.25],
           [0.25, 0.25]], dtype=float64)
    """
    return _nn.softmax(x, axis=axis)


def log_softmax(x, /, *, axis=None):
    """x - logsumexp(x) over `axis` (all axes by default), as `jax.scipy.special.log_softmax`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.log_softmax(np.array([0.0, 0.0]))
    Array([-0.69314718, -0.69314718], dtype=float64)
    """
    return _nn.log_softmax(x, axis=axis)


def boxcox(x, lmbda):
    """The Box-Cox transform (x^l - 1) / l, log(x) at l = 0, as `jax.scipy.special.boxcox`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.boxcox(np.array([2.0, 2.0]), np.array([0.0, 2.0]))
    Array([0.69314718, 1.5       ], dtype=float64)
    """
    x, lmbda = _inexact(x, lmbda)
    zero = lmbda == 0
    safe = _safe(zero, 1.0, lmbda)
    log_x = fnp.log(x)
    return fnp.where(zero, log_x, fnp.expm1(safe * log_x) / safe)


def boxcox1p(x, lmbda):
    """The Box-Cox transform of 1 + x, as `jax.scipy.special.boxcox1p`.

    >>> import numpy as np; from fnad.scipy import special
    >>> special.boxcox1p(np.array([1.0, 1.0]), np.array([0.0, 2.0]))
    Array([0.69314718, 1.5       ], dtype=float64)
    """
    x, lmbda = _inexact(x, lmbda)
    zero = lmbda == 0
    safe = _safe(zero, 1.0, lmbda)
    log1p_x = fnp.log1p(x)
    return fnp.where(zero, log1p_x, fnp.expm1(safe * log1p_x) / safe)


__all__ = [
    "bernoulli",
    "bessel_jn",
    "beta",
    "betainc",
    "betaln",
    "boxcox",
    "boxcox1p",
    "comb",
    "dawsn",
    "digamma",
    "entr",
    "erf",
    "erfc",
    "erfcx",
    "erfinv",
    "exp1",
    "expi",
    "expit",
    "expn",
    "factorial",
    "fresnel",
    "gamma",
    "gammainc",
    "gammaincc",
    "gammaln",
    "gammasgn",
    "hyp1f1",
    "hyp2f1",
    "i0",
    "i0e",
    "i1",
    "i1e",
    "kl_div",
    "log_ndtr",
    "log_softmax",
    "loggamma",
    "logit",
    "logsumexp",
    "multigammaln",
    "ndtr",
    "ndtri",
    "owens_t",
    "poch",
    "polygamma",
    "rel_entr",
    "sici",
    "softmax",
    "spence",
    "sph_harm_y",
    "wofz",
    "xlog1py",
    "xlogy",
    "zeta",
]
