"""Special-function primitives: log-gamma, digamma, polygamma, Hurwitz zeta, the regularized incomplete
gamma (and its a-derivative) and beta functions, erfc, and the exponentially scaled Bessel functions
I0e and I1e, with JAX's names (`lax.lgamma`, `lax.igamma`, ...), derivatives and edge values; and those
`fnad.scipy.special` builds on that JAX writes with jnp (erfcx, ndtri, the exponential, Dawson, Spence,
sine, cosine and Fresnel integrals, Owen's T, 1F1 and 2F1), with JAX's derivative rules.

Elementwise like `fnad.primitives.elementwise` (equal shapes or rank 0, equal float dtypes). Their
values come from `fnad.special_math`, whose branch-free algorithms run eagerly on NumPy arrays and, under
jit, as vectorised native kernels (`fnad_compiler.lower.special`): the same operations either way.
"""

from __future__ import annotations

import numpy as np

from .. import special_math as sm
from ..core import get_aval
from ..transforms.jvp import defjvp
from .elementwise import (
    abs,
    add,
    cos,
    div,
    eq,
    erf,
    exp,
    gt,
    log,
    log1p,
    lt,
    mul,
    nary,
    neg,
    scalar_like,
    select,
    sign,
    sin,
    sub,
    unary,
)

_REAL = (np.floating,)

# ----------------------------------------------------------------------------------------------
# Definitions: the primitive, its NumPy implementation (the shared algorithm) and its lax function


def _define(name, algorithm, arity):
    def impl(*args):
        dtypes = [np.asarray(a).dtype for a in args]  # eager binds skip abstract evaluation: its checks here
        for dtype in dtypes:
            if not np.issubdtype(dtype, np.floating):
                raise TypeError(f"{name} does not accept dtype {dtype.name}")
        if len(set(dtypes)) > 1:
            raise TypeError(
                f"{name}: operand dtypes must be equal, got {', '.join(d.name for d in dtypes)}. "
                "Hint: convert with .astype() (fnad.scipy.special promotes for you)."
            )
        return sm.evaluate(algorithm, *args)

    make = unary if arity == 1 else nary
    prim = make(name, impl, kinds=_REAL)
    prim.algorithm = algorithm  # what the compiler's kernel evaluates (fnad_compiler.lower.special)
    return prim


lgamma_p = _define("lgamma", sm.lgamma, 1)
digamma_p = _define("digamma", sm.digamma, 1)
erfc_p = _define("erfc", sm.erfc, 1)
bessel_i0e_p = _define("bessel_i0e", sm.bessel_i0e, 1)
bessel_i1e_p = _define("bessel_i1e", sm.bessel_i1e, 1)
polygamma_p = _define("polygamma", sm.polygamma, 2)
zeta_p = _define("zeta", sm.zeta, 2)
igamma_p = _define("igamma", sm.igamma, 2)
igammac_p = _define("igammac", sm.igammac, 2)
igamma_grad_a_p = _define("igamma_grad_a", sm.igamma_grad_a, 2)
random_gamma_grad_p = _define("random_gamma_grad", sm.random_gamma_grad, 2)
regularized_incomplete_beta_p = _define("regularized_incomplete_beta", sm.betainc, 3)
# Not lax primitives in JAX (jax.scipy.special builds them from jnp), here primitives so that their
# tails get the kernels' accuracy: erfcx(x) = exp(x^2) erfc(x), ndtri the inverse normal CDF.
erfcx_p = _define("erfcx", sm.erfcx, 1)
ndtri_p = _define("ndtri", sm.ndtri, 1)
exp1_p = _define("exp1", sm.exp1, 1)
expi_p = _define("expi", sm.expi, 1)
# jax.scipy.special writes these with jnp; primitives here for the kernels' speed and accuracy (see special_math)
dawsn_p = _define("dawsn", sm.dawsn, 1)
spence_p = _define("spence", sm.spence, 1)
sine_integral_p = _define("sine_integral", sm.sine_integral, 1)
cosine_integral_p = _define("cosine_integral", sm.cosine_integral, 1)
fresnel_s_p = _define("fresnel_s", sm.fresnel_s, 1)
fresnel_c_p = _define("fresnel_c", sm.fresnel_c, 1)
expn_p = _define("expn", sm.expn, 2)
owens_t_p = _define("owens_t", sm.owens_t, 2)
hyp1f1_p = _define("hyp1f1", sm.hyp1f1, 3)
hyp1f1_grad_a_p = _define("hyp1f1_grad_a", sm.hyp1f1_grad_a, 3)
hyp1f1_grad_b_p = _define("hyp1f1_grad_b", sm.hyp1f1_grad_b, 3)
hyp2f1_p = _define("hyp2f1", sm.hyp2f1, 4)
hyp2f1_grad_a_p = _define("hyp2f1_grad_a", sm.hyp2f1_grad_a, 4)
hyp2f1_grad_b_p = _define("hyp2f1_grad_b", sm.hyp2f1_grad_b, 4)
hyp2f1_grad_c_p = _define("hyp2f1_grad_c", sm.hyp2f1_grad_c, 4)


def _args(*args):
    """Python scalars take the dtype of the first array operand (as lax's binary functions)."""
    ref = next((a for a in args if type(a) not in (int, float, bool)), None)
    if ref is None:
        return [np.asarray(float(a)) for a in args]
    return [scalar_like(ref, a) if type(a) in (int, float, bool) else a for a in args]


def lgamma(x):
    """Elementwise log|Gamma(x)| (+inf at the poles), as `jax.lax.lgamma`.

    >>> import numpy as np; from fnad import lax
    >>> lax.lgamma(np.array([0.5, 1.0, 10.0]))
    Array([ 0.57236494,  0.        , 12.80182748], dtype=float64)
    """
    return lgamma_p.bind(x)


def digamma(x):
    """Elementwise digamma psi(x) = d/dx log Gamma(x) (NaN at 0 and the negative integers), as `jax.lax.digamma`.

    >>> import numpy as np; from fnad import lax
    >>> lax.digamma(np.array([1.0, 2.0]))
    Array([-0.57721566,  0.42278434], dtype=float64)
    """
    return digamma_p.bind(x)


def polygamma(m, x):
    """Elementwise polygamma psi^(m)(x), the m-th derivative of digamma (m a natural number, as a float
    array; NaN otherwise), as `jax.lax.polygamma`.

    >>> import numpy as np; from fnad import lax
    >>> lax.polygamma(np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    Array([ 1.64493407, -2.40411381], dtype=float64)
    """
    return polygamma_p.bind(*_args(m, x))


def zeta(x, q):
    """Elementwise Hurwitz zeta sum_k (q + k)^-x (x > 1), as `jax.lax.zeta`.

    >>> import numpy as np; from fnad import lax
    >>> lax.zeta(np.array([2.0, 4.0]), np.array([1.0, 1.0]))
    Array([1.64493407, 1.08232323], dtype=float64)
    """
    return zeta_p.bind(*_args(x, q))


def igamma(a, x):
    """Elementwise regularized lower incomplete gamma function P(a, x), as `jax.lax.igamma`.

    >>> import numpy as np; from fnad import lax
    >>> lax.igamma(np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    Array([0.63212056, 0.26424112], dtype=float64)
    """
    return igamma_p.bind(*_args(a, x))


def igammac(a, x):
    """Elementwise regularized upper incomplete gamma function Q(a, x) = 1 - P(a, x), as `jax.lax.igammac`.

    >>> import numpy as np; from fnad import lax
    >>> lax.igammac(np.array([1.0]), np.array([1.0]))
    Array([0.36787944], dtype=float64)
    """
    return igammac_p.bind(*_args(a, x))


def igamma_grad_a(a, x):
    """Elementwise derivative of `igamma(a, x)` with respect to a, as `jax.lax.igamma_grad_a`.

    >>> import numpy as np; from fnad import lax
    >>> lax.igamma_grad_a(np.array([1.0]), np.array([1.0]))
    Array([-0.43172971], dtype=float64)
    """
    return igamma_grad_a_p.bind(*_args(a, x))


def random_gamma_grad(a, x):
    """Elementwise derivative of a Gamma(a) sample x with respect to a (at fixed P(a, x)), as
    `jax.lax.random_gamma_grad`.

    >>> import numpy as np; from fnad import lax
    >>> lax.random_gamma_grad(np.array([1.0]), np.array([1.0]))
    Array([1.17356...], dtype=float64)
    """
    return random_gamma_grad_p.bind(*_args(a, x))


def betainc(a, b, x):
    """Elementwise regularized incomplete beta function I_x(a, b), as `jax.lax.betainc`.

    >>> import numpy as np; from fnad import lax
    >>> lax.betainc(np.array([2.0]), np.array([3.0]), np.array([0.5]))
    Array([0.6875], dtype=float64)
    """
    return regularized_incomplete_beta_p.bind(*_args(a, b, x))


def erfc(x):
    """Elementwise complementary error function 1 - erf(x), accurate in the tail, as `jax.lax.erfc`.

    >>> import numpy as np; from fnad import lax
    >>> lax.erfc(np.array([0.0, 10.0]))
    Array([1.00000000e+00, 2.08848758e-45], dtype=float64)
    """
    return erfc_p.bind(x)


def erfcx(x):
    """Elementwise scaled complementary error function exp(x^2) erfc(x) (no overflow for large x).

    >>> import numpy as np; from fnad.primitives.special import erfcx
    >>> erfcx(np.array([0.0, 1e10]))
    Array([1.00000000e+00, 5.64189584e-11], dtype=float64)
    """
    return erfcx_p.bind(x)


def ndtri(p):
    """Elementwise inverse of the standard normal CDF (-inf at 0, inf at 1, NaN outside [0, 1]).

    >>> import numpy as np; from fnad.primitives.special import ndtri
    >>> ndtri(np.array([0.5, 0.975]))
    Array([0.       , 1.95996398], dtype=float64)
    """
    return ndtri_p.bind(p)


def exp1(x):
    """Elementwise exponential integral E1(x) = int_x^inf e^-t / t dt (inf at 0, NaN below, as SciPy).

    >>> import numpy as np; from fnad.primitives.special import exp1
    >>> exp1(np.array([1.0, 10.0]))
    Array([2.19383934e-01, 4.15696893e-06], dtype=float64)
    """
    return exp1_p.bind(x)


def expi(x):
    """Elementwise exponential integral Ei(x), the principal value of int_-inf^x e^t / t dt.

    >>> import numpy as np; from fnad.primitives.special import expi
    >>> expi(np.array([-1.0, 1.0]))
    Array([-0.21938393,  1.89511782], dtype=float64)
    """
    return expi_p.bind(x)


def dawsn(x):
    """Elementwise Dawson integral exp(-x^2) int_0^x exp(t^2) dt.

    >>> import numpy as np; from fnad.primitives.special import dawsn
    >>> dawsn(np.array([1.0, 10.0]))
    Array([0.53807951, 0.05025385], dtype=float64)
    """
    return dawsn_p.bind(x)


def spence(x):
    """Elementwise Spence function int_1^x log(t) / (1 - t) dt (x >= 0; NaN below).

    >>> import numpy as np; from fnad.primitives.special import spence
    >>> spence(np.array([0.0, 2.0]))
    Array([ 1.64493407, -0.82246703], dtype=float64)
    """
    return spence_p.bind(x)


def sine_integral(x):
    """Elementwise sine integral Si(x) = int_0^x sin(t) / t dt.

    >>> import numpy as np; from fnad.primitives.special import sine_integral
    >>> sine_integral(np.array([1.0, 1e10]))
    Array([0.94608307, 1.57079633], dtype=float64)
    """
    return sine_integral_p.bind(x)


def cosine_integral(x):
    """Elementwise cosine integral Ci(|x|) = gamma + log|x| + int_0^|x| (cos t - 1) / t dt (NaN at -inf).

    >>> import numpy as np; from fnad.primitives.special import cosine_integral
    >>> cosine_integral(np.array([1.0, 0.0]))
    Array([0.33740392,       -inf], dtype=float64)
    """
    return cosine_integral_p.bind(x)


def fresnel_s(x):
    """Elementwise Fresnel integral S(x) = int_0^x sin(pi t^2 / 2) dt.

    >>> import numpy as np; from fnad.primitives.special import fresnel_s
    >>> fresnel_s(np.array([1.0, np.inf]))
    Array([0.43825915, 0.5       ], dtype=float64)
    """
    return fresnel_s_p.bind(x)


def fresnel_c(x):
    """Elementwise Fresnel integral C(x) = int_0^x cos(pi t^2 / 2) dt.

    >>> import numpy as np; from fnad.primitives.special import fresnel_c
    >>> fresnel_c(np.array([1.0, -np.inf]))
    Array([ 0.7798934, -0.5      ], dtype=float64)
    """
    return fresnel_c_p.bind(x)


def expn(n, x):
    """Elementwise generalized exponential integral E_n(x) = int_1^inf e^(-x t) / t^n dt (n a natural number
    as a float; NaN otherwise and for x < 0).

    >>> import numpy as np; from fnad.primitives.special import expn
    >>> expn(np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    Array([0.21938393, 0.14849551], dtype=float64)
    """
    return expn_p.bind(*_args(n, x))


def owens_t(h, a):
    """Elementwise Owen's T function 1/(2 pi) int_0^a exp(-h^2 (1 + x^2) / 2) / (1 + x^2) dx.

    >>> import numpy as np; from fnad.primitives.special import owens_t
    >>> owens_t(np.array([0.5, 10.0]), np.array([2.0, 0.5]))
    Array([1.41580604e-01, 3.80992477e-24], dtype=float64)
    """
    return owens_t_p.bind(*_args(h, a))


def hyp1f1(a, b, x):
    """Elementwise confluent hypergeometric function 1F1(a; b; x) = sum_k (a)_k / (b)_k x^k / k!.

    >>> import numpy as np; from fnad.primitives.special import hyp1f1
    >>> hyp1f1(np.array([1.0, 0.5]), np.array([2.0, 1.5]), np.array([1.0, -30.0]))
    Array([1.71828183, 0.16180216], dtype=float64)
    """
    return hyp1f1_p.bind(*_args(a, b, x))


def hyp2f1(a, b, c, x):
    """Elementwise Gauss hypergeometric function 2F1(a, b; c; x) = sum_k (a)_k (b)_k / (c)_k x^k / k! (x <= 1).

    >>> import numpy as np; from fnad.primitives.special import hyp2f1
    >>> hyp2f1(np.array([1.0, 0.5]), np.array([1.0, 0.5]), np.array([2.0, 1.5]), np.array([0.5, -3.0]))
    Array([1.38629436, 0.760346  ], dtype=float64)
    """
    return hyp2f1_p.bind(*_args(a, b, c, x))


def bessel_i0e(x):
    """Elementwise exp(-|x|) I0(x), as `jax.lax.bessel_i0e`.

    >>> import numpy as np; from fnad import lax
    >>> lax.bessel_i0e(np.array([0.0, 1.0]))
    Array([1.        , 0.46575961], dtype=float64)
    """
    return bessel_i0e_p.bind(x)


def bessel_i1e(x):
    """Elementwise exp(-|x|) I1(x), as `jax.lax.bessel_i1e`.

    >>> import numpy as np; from fnad import lax
    >>> lax.bessel_i1e(np.array([0.0, 1.0]))
    Array([0.        , 0.20791042], dtype=float64)
    """
    return bessel_i1e_p.bind(x)


# ----------------------------------------------------------------------------------------------
# Derivatives (JAX's rules; what JAX leaves undifferentiable raises as in JAX)


def _not_differentiable(what):
    def rule(*args, **params):
        raise ValueError(f"{what} is not supported (as in JAX)")

    return rule


def _c(x, v):
    return scalar_like(x, v)


def _igamma_dx(a, x):
    # x^(a-1) e^-x / Gamma(a)
    return exp(sub(mul(sub(a, _c(a, 1)), log(x)), add(x, lgamma(a))))


defjvp(lgamma_p, lambda g, ans, x: mul(g, digamma(x)))
defjvp(digamma_p, lambda g, ans, x: mul(g, polygamma(_c(x, 1), x)))
defjvp(
    polygamma_p,
    _not_differentiable("polygamma gradient with respect to m"),
    lambda g, ans, m, x: mul(g, polygamma(add(m, _c(m, 1)), x)),
)
defjvp(
    zeta_p,
    _not_differentiable("zeta gradient with respect to x (the exponent)"),
    lambda g, ans, s, q: mul(g, neg(mul(s, zeta(add(s, _c(s, 1)), q)))),
)
defjvp(igamma_p, lambda g, ans, a, x: mul(g, igamma_grad_a(a, x)), lambda g, ans, a, x: mul(g, _igamma_dx(a, x)))
defjvp(
    igammac_p,
    lambda g, ans, a, x: neg(mul(g, igamma_grad_a(a, x))),
    lambda g, ans, a, x: neg(mul(g, _igamma_dx(a, x))),
)
defjvp(
    igamma_grad_a_p,
    _not_differentiable("igamma_grad_a gradient"),
    _not_differentiable("igamma_grad_a gradient"),
)
defjvp(
    random_gamma_grad_p,
    _not_differentiable("random_gamma_grad gradient"),
    _not_differentiable("random_gamma_grad gradient"),
)


def _betainc_dx(g, ans, a, b, x):
    lbeta = sub(add(lgamma(a), lgamma(b)), lgamma(add(a, b)))
    return mul(g, exp(sub(add(mul(sub(b, _c(b, 1)), log1p(neg(x))), mul(sub(a, _c(a, 1)), log(x))), lbeta)))


defjvp(
    regularized_incomplete_beta_p,
    _not_differentiable("betainc gradient with respect to a and b"),
    _not_differentiable("betainc gradient with respect to a and b"),
    _betainc_dx,
)
defjvp(erfc_p, lambda g, ans, x: mul(g, mul(_c(x, -2 / np.sqrt(np.pi)), exp(neg(mul(x, x))))))
defjvp(erfcx_p, lambda g, ans, x: mul(g, sub(mul(mul(_c(x, 2), x), ans), _c(x, 2 / np.sqrt(np.pi)))))
defjvp(ndtri_p, lambda g, ans, p: mul(g, mul(_c(p, np.sqrt(2 * np.pi)), exp(mul(mul(ans, ans), _c(p, 0.5))))))
defjvp(exp1_p, lambda g, ans, x: mul(g, neg(div(exp(neg(x)), x))))
defjvp(expi_p, lambda g, ans, x: mul(g, div(exp(x), x)))
defjvp(bessel_i0e_p, lambda g, ans, x: mul(g, sub(bessel_i1e(x), mul(sign(x), ans))))
defjvp(dawsn_p, lambda g, ans, x: mul(g, sub(_c(x, 1), mul(mul(_c(x, 2), x), ans))))


def _spence_jvp(g, ans, x):
    # log(x) / (1 - x); at x = 1 (where JAX's piecewise definition gives 0) its Taylor series
    # -1 + u/2 - u^2/3 + u^3/4 in u = x - 1, whose value is the limit and whose derivatives are the
    # limits of the derivatives (a constant -1 there made grad(grad(spence))(1.0) 0, not 1/2)
    one = eq(x, _c(x, 1))
    safe = select(one, _c(x, 2), x)
    u = sub(x, _c(x, 1))
    series = add(_c(x, -1), mul(u, add(_c(x, 0.5), mul(u, add(_c(x, -1 / 3), mul(u, _c(x, 0.25)))))))
    return mul(g, select(one, series, div(log(safe), sub(_c(x, 1), safe))))


def _sine_integral_jvp(g, ans, x):
    # sin(x) / x, below 0.01 by its Taylor series (to x^8, exact there), so that its own derivatives do not
    # cancel as (x cos x - sin x) / x^2 does near 0 (JAX's sinc has a rule of its own there)
    small = lt(abs(x), _c(x, 0.01))
    safe = select(small, _c(x, 1), x)
    x2 = mul(x, x)
    series = _c(x, 1 / 362880)
    for coefficient in (-1 / 5040, 1 / 120, -1 / 6, 1.0):
        series = add(mul(series, x2), _c(x, coefficient))
    return mul(g, select(small, series, div(sin(safe), safe)))


def _expn_jvp(g, ans, n, x):
    # -E_(n-1)(x); for n = 0, the derivative of e^-x / x (JAX's rule gives NaN there, from E_-1)
    at_zero = neg(mul(ans, add(_c(x, 1), div(_c(x, 1), x))))
    return mul(g, select(eq(n, _c(n, 0)), at_zero, neg(expn(sub(n, _c(n, 1)), x))))


defjvp(spence_p, _spence_jvp)
defjvp(sine_integral_p, _sine_integral_jvp)
defjvp(cosine_integral_p, lambda g, ans, x: mul(g, div(cos(x), x)))
_HALF_PI = np.pi / 2
defjvp(fresnel_s_p, lambda g, ans, x: mul(g, sin(mul(_c(x, _HALF_PI), mul(x, x)))))
defjvp(fresnel_c_p, lambda g, ans, x: mul(g, cos(mul(_c(x, _HALF_PI), mul(x, x)))))
defjvp(expn_p, None, _expn_jvp)  # n is an integer: no tangent (JAX's nondiff_argnums gives it zero too)
_SQRT_HALF = np.sqrt(0.5)
defjvp(
    owens_t_p,
    # JAX's rules: -exp(-h^2 / 2) erf(a h / sqrt 2) / (2 sqrt(2 pi)) and exp(-(1 + a^2) h^2 / 2) / (2 pi (1 + a^2))
    lambda g, ans, h, a: mul(
        g,
        mul(
            _c(h, -1 / (2 * np.sqrt(2 * np.pi))),
            mul(exp(mul(_c(h, -0.5), mul(h, h))), erf(mul(_c(h, _SQRT_HALF), mul(a, h)))),
        ),
    ),
    lambda g, ans, h, a: mul(
        g,
        div(
            exp(mul(_c(h, -0.5), mul(add(_c(a, 1), mul(a, a)), mul(h, h)))),
            mul(_c(a, 2 * np.pi), add(_c(a, 1), mul(a, a))),
        ),
    ),
)
defjvp(
    hyp1f1_p,
    lambda g, ans, a, b, x: mul(g, hyp1f1_grad_a_p.bind(a, b, x)),
    lambda g, ans, a, b, x: mul(g, hyp1f1_grad_b_p.bind(a, b, x)),
    lambda g, ans, a, b, x: mul(g, mul(div(a, b), hyp1f1(add(a, _c(a, 1)), add(b, _c(b, 1)), x))),
)
for _p in (hyp1f1_grad_a_p, hyp1f1_grad_b_p):
    _no_second = _not_differentiable(f"{_p.name} gradient")
    defjvp(_p, _no_second, _no_second, _no_second)


def _hyp2f1_dx(g, ans, a, b, c, x):
    one = _c(a, 1)
    return mul(g, mul(div(mul(a, b), c), hyp2f1(add(a, one), add(b, one), add(c, one), x)))


defjvp(
    hyp2f1_p,
    lambda g, ans, a, b, c, x: mul(g, hyp2f1_grad_a_p.bind(a, b, c, x)),
    lambda g, ans, a, b, c, x: mul(g, hyp2f1_grad_b_p.bind(a, b, c, x)),
    lambda g, ans, a, b, c, x: mul(g, hyp2f1_grad_c_p.bind(a, b, c, x)),
    _hyp2f1_dx,
)
for _p in (hyp2f1_grad_a_p, hyp2f1_grad_b_p, hyp2f1_grad_c_p):
    _no_second = _not_differentiable(f"{_p.name} gradient")
    defjvp(_p, _no_second, _no_second, _no_second, _no_second)


def _bessel_i1e_jvp(g, ans, x):
    # i1e' = i0e - i1e (sign(x) + 1/x), 1/2 at 0 (JAX's rule, with x kept away from 0)
    eps = _c(x, np.finfo(get_aval(x).dtype).eps)
    not_tiny = gt(abs(x), eps)
    safe = select(not_tiny, x, eps)
    slope = sub(bessel_i0e(safe), mul(ans, add(sign(safe), div(_c(x, 1), safe))))
    return mul(g, select(not_tiny, slope, _c(x, 0.5)))


defjvp(bessel_i1e_p, _bessel_i1e_jvp)
