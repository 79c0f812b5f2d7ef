"""fnad.numpy's window functions (bartlett, blackman, hamming, hanning, kaiser) and the modified Bessel
function i0 that the Kaiser window is built on. The windows of a static length are constants; kaiser's
beta and i0's argument may be traced (i0 uses Cephes' Chebyshev expansions, as NumPy)."""

from __future__ import annotations

import numpy as np

from ..array import as_array
from ..core import get_aval
from ._core import asarray_traced as _asarray_traced
from ._core import convert as _convert
from ._core import numpy_when_eager
from ._elementwise import abs, exp, sqrt, where

# Cephes' Chebyshev coefficients of exp(-x) i0(x) on [0, 8] and of exp(-x) sqrt(x) i0(x) on (8, inf)
_I0_SMALL = (
    -4.4153416464793395e-18,
    3.3307945188222384e-17,
    -2.431279846547955e-16,
    1.715391285555133e-15,
    -1.1685332877993451e-14,
    7.676185498604936e-14,
    -4.856446783111929e-13,
    2.95505266312964e-12,
    -1.726826291441556e-11,
    9.675809035373237e-11,
    -5.189795601635263e-10,
    2.6598237246823866e-09,
    -1.300025009986248e-08,
    6.046995022541919e-08,
    -2.670793853940612e-07,
    1.1173875391201037e-06,
    -4.4167383584587505e-06,
    1.6448448070728896e-05,
    -5.754195010082104e-05,
    0.00018850288509584165,
    -0.0005763755745385824,
    0.0016394756169413357,
    -0.004324309995050576,
    0.010546460394594998,
    -0.02373741480589947,
    0.04930528423967071,
    -0.09490109704804764,
    0.17162090152220877,
    -0.3046826723431984,
    0.6767952744094761,
)
_I0_LARGE = (
    -7.233180487874754e-18,
    -4.830504485944182e-18,
    4.46562142029676e-17,
    3.461222867697461e-17,
    -2.8276239805165836e-16,
    -3.425485619677219e-16,
    1.7725601330565263e-15,
    3.8116806693526224e-15,
    -9.554846698828307e-15,
    -4.150569347287222e-14,
    1.54008621752141e-14,
    3.8527783827421426e-13,
    7.180124451383666e-13,
    -1.7941785315068062e-12,
    -1.3215811840447713e-11,
    -3.1499165279632416e-11,
    1.1889147107846439e-11,
    4.94060238822497e-10,
    3.3962320257083865e-09,
    2.266668990498178e-08,
    2.0489185894690638e-07,
    2.8913705208347567e-06,
    6.889758346916825e-05,
    0.0033691164782556943,
    0.8044904110141088,
)


def _chebyshev(x, coefficients):
    """Clenshaw's evaluation of a Chebyshev series (Cephes' chbevl)."""
    b0, b1, b2 = coefficients[0], 0.0, 0.0
    for c in coefficients[1:]:
        b2, b1 = b1, b0
        b0 = x * b1 - b2 + c
    return 0.5 * (b0 - b2)


@numpy_when_eager(np.i0)
def i0(x):
    """The modified Bessel function of the first kind of order 0, elementwise (real input), as numpy.i0.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.i0(np.array([0.0, 1.0, 10.0]))
    Array([1.00000000e+00, 1.26606588e+00, 2.81571663e+03], dtype=float64)
    >>> fnad.grad(fnp.i0)(1.0)   # i0' = i1
    Array(0.5651591, dtype=float64)
    """
    x = _asarray_traced(x)
    if get_aval(x).dtype.kind == "c":
        raise TypeError("i0 not supported for complex values")
    if get_aval(x).dtype.kind != "f":
        x = _convert(x, np.float64)
    x = abs(x)
    small = x <= 8.0
    x_large = where(small, 16.0, x)  # each branch sees arguments in its own range (finite gradients)
    x_small = where(small, x, 0.0)
    inside = exp(x_small) * _chebyshev(x_small / 2.0 - 2, _I0_SMALL)
    outside = exp(x_large) * _chebyshev(32.0 / x_large - 2.0, _I0_LARGE) / sqrt(x_large)
    return where(small, inside, outside)


def _window(np_window, name):
    def window(M):
        return as_array(np_window(int(M)))

    window.__name__ = window.__qualname__ = name
    window.__doc__ = (
        f"The {name} window of M points (a constant of static length M), as numpy.{name}.\n\n"
        f"    >>> import numpy as np, fnad, fnad.numpy as fnp\n"
        f"    >>> fnp.{name}(5).round(4)\n"
        f"    {np.array2string(np_window(5).round(4), separator=', ').join(('Array(', ', dtype=float64)'))}\n    "
    )
    return window


bartlett = _window(np.bartlett, "bartlett")
blackman = _window(np.blackman, "blackman")
hamming = _window(np.hamming, "hamming")
hanning = _window(np.hanning, "hanning")


def kaiser(M, beta):
    """The Kaiser window of M points with shape parameter beta (which may be traced), as numpy.kaiser.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.kaiser(4, 5.0).round(4)
    Array([0.0367, 0.7753, 0.7753, 0.0367], dtype=float64)
    """
    M = int(M)
    if M < 1:
        return np.zeros(0)
    if M == 1:
        return np.ones(1)
    n = np.arange(0, M)
    alpha = (M - 1) / 2.0
    return i0(beta * np.sqrt(1 - ((n - alpha) / alpha) ** 2.0)) / i0(beta)
