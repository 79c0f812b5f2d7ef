"""fnad.numpy's polynomials, as coefficient arrays with the highest power first (NumPy's convention):
polyval, polyfit, vander, poly, roots, polyadd, polysub, polymul, polydiv, polyder, polyint. Loops run over the
(static) number of coefficients, so everything differentiates, batches and compiles; polydiv keeps the
remainder's leading zeros unless trim_leading_zeros=True (as in JAX)."""

from __future__ import annotations

import numpy as np

from ..core import get_aval
from ..primitives import indexing as ix
from ._core import asarray_traced as _asarray_traced
from ._core import concrete as _concrete
from ._core import convert as _convert
from ._core import inexact as _inexact
from ._core import promoted as _promoted
from ._core import shape_of as _shape
from ._creation import arange, eye, zeros
from ._elementwise import multiply, sqrt, where
from ._joining import concatenate, flip, pad, roll
from ._products import convolve, dot
from ._reductions import all, argmin, sum
from ._shapes import atleast_1d, broadcast_to, reshape, transpose
from ._sorting import argsort, cumprod
from .linalg import eigvals, qr, solve


def polyval(p, x, *, unroll=16):
    """The polynomial with coefficients p (highest power first) at x, by Horner's rule, as numpy.polyval.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.polyval(np.array([3.0, 0.0, 1.0]), np.array([1.0, 2.0]))
    Array([ 4., 13.], dtype=float64)
    >>> fnad.grad(fnp.polyval, argnums=1)(np.array([3.0, 0.0, 1.0]), 2.0)
    Array(12., dtype=float64)
    """
    p, x = _promoted([p, x])
    if get_aval(p).ndim != 1:
        raise ValueError(f"polyval: p must be 1-d, got shape {_shape(p)}")
    y = multiply(x, 0)  # as NumPy: starting from zeros like x
    for i in range(_shape(p)[0]):
        y = y * x + p[i]
    return y


def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of the 1-d x: columns x**(N-1), ..., x, 1 (the reverse with increasing=True),
    powers by repeated multiplication as NumPy.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.vander(np.array([1, 2, 3]), 3)
    Array([[1, 1, 1],
           [4, 2, 1],
           [9, 3, 1]], dtype=int64)
    """
    x = _asarray_traced(x)
    if get_aval(x).ndim != 1:
        raise ValueError(f"vander: x must be 1-d, got shape {_shape(x)}")
    n = _shape(x)[0] if N is None else int(N)
    if n < 0:
        raise ValueError("vander: N must be non-negative")
    dt = get_aval(x).dtype
    if n == 0:
        return zeros((_shape(x)[0], 0), dt)
    column = reshape(x, (-1, 1))
    factors = concatenate(
        [broadcast_to(np.ones((), dt), (_shape(x)[0], 1)), broadcast_to(column, (_shape(x)[0], n - 1))], 1
    )
    powers = cumprod(factors, axis=1)
    return powers if increasing else flip(powers, 1)


def polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False):
    """The least-squares polynomial fit of degree `deg` to the points (x, y) (y may hold several data sets
    in columns), optionally weighted by w: the coefficients, highest power first, as numpy.polyfit with the
    default full=False, cov=False. Solved by QR of the column-scaled Vandermonde matrix, so it is
    differentiable in x, y and w.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.polyfit(np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0, 3.0, 5.0, 7.0]), 1).round(12)
    Array([2., 1.], dtype=float64)
    """
    if full or cov:
        raise NotImplementedError("polyfit: full=True and cov=True are not supported")
    deg = int(deg)
    if deg < 0:
        raise ValueError("polyfit: expected deg >= 0")
    x, y = _inexact(x), _inexact(y)
    x, y = _promoted([x, y])
    if get_aval(x).ndim != 1 or get_aval(y).ndim not in (1, 2) or _shape(x)[0] != _shape(y)[0]:
        raise TypeError(f"polyfit: x must be 1-d and y 1-d or 2-d of the same length, got {_shape(x)} and {_shape(y)}")
    if _shape(x)[0] < deg + 1:
        raise ValueError(f"polyfit: {_shape(x)[0]} points cannot determine a polynomial of degree {deg}")
    lhs = vander(x, deg + 1)
    rhs = y
    if w is not None:
        w = _asarray_traced(w)
        if _shape(w) != _shape(x):
            raise TypeError(f"polyfit: w must have the shape of x {_shape(x)}, got {_shape(w)}")
        lhs = lhs * reshape(w, (-1, 1))
        rhs = rhs * (w if get_aval(y).ndim == 1 else reshape(w, (-1, 1)))
    scale = sqrt(sum(lhs * lhs, axis=0))  # column scaling improves the conditioning, as in NumPy
    q, r = qr(lhs / scale)
    c = solve(r, dot(transpose(q), rhs))
    return c / (scale if get_aval(y).ndim == 1 else reshape(scale, (-1, 1)))


def poly(seq_of_zeros):
    """The coefficients (highest power first, leading 1) of the monic polynomial with the given roots. For
    a square matrix (its characteristic polynomial) the eigenvalues are needed: concrete input only.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.poly(np.array([1.0, 2.0]))
    Array([ 1., -3.,  2.], dtype=float64)
    """
    z = _asarray_traced(seq_of_zeros)
    if get_aval(z).ndim == 2:
        return np.poly(_concrete(z, "poly of a matrix (its eigenvalues)", "Pass the roots instead."))
    z = atleast_1d(z)
    dt = np.result_type(get_aval(z).dtype, np.float64) if get_aval(z).dtype.kind in "biu" else get_aval(z).dtype
    out = np.ones(1, dt)
    for i in range(_shape(z)[0]):
        out = convolve(out, concatenate([np.ones(1, dt), -reshape(_convert(z[i], dt), (1,))]))
    return out


def _companion_eigvals(p):
    """The roots of the polynomial p (leading coefficient nonzero): the eigenvalues of its companion
    matrix, built as NumPy's roots builds it (so the roots come in NumPy's order)."""
    n = _shape(p)[0]
    top = reshape(-p[1:] / p[0], (1, n - 1))
    return eigvals(concatenate([top, eye(n - 2, n - 1, dtype=get_aval(p).dtype)], axis=0))


def roots(p, *, strip_zeros=True):
    """The roots of the polynomial with coefficients p (highest power first), complex, as jax.numpy.roots:
    leading zeros are stripped (which needs concrete coefficients), or with `strip_zeros=False` kept, each
    giving a NaN root at the end (a fixed shape, so it works under jit). Differentiable where the roots
    are simple.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.roots(np.array([1.0, -3.0, 2.0]))
    Array([2.+0.j, 1.+0.j], dtype=complex128)
    >>> fnp.roots(np.array([0.0, 1.0, 2.0]), strip_zeros=False)
    Array([-2. +0.j,  nan+nanj], dtype=complex128)
    """
    p = atleast_1d(_inexact(_asarray_traced(p)))
    if get_aval(p).ndim != 1:
        raise ValueError(f"roots: p must be a rank-1 array of coefficients, got shape {_shape(p)}")
    n = _shape(p)[0]
    complex_dtype = np.promote_types(get_aval(p).dtype, np.complex64)
    if n < 2:
        return zeros(0, complex_dtype)
    if strip_zeros:
        values = _concrete(p, "roots (stripping leading zeros)", "Pass strip_zeros=False to use roots under jit.")
        nonzero = np.flatnonzero(values)
        start = int(nonzero[0]) if nonzero.size else n
        return _companion_eigvals(p[start:]) if n - start >= 2 else zeros(0, complex_dtype)
    is_zero = p == 0
    leading = where(all(is_zero), n, argmin(is_zero))
    # As JAX: move the leading zeros to the end (each adds a zero root), then put those zero roots last and
    # make them NaN; a polynomial of zeros becomes all ones first, so the eigenvalue solver sees no NaNs.
    found = _companion_eigvals(roll(where(leading == n, 1.0, p), -leading))
    found = found[argsort(found == 0, stable=True)]
    return where(arange(n - 1) < n - 1 - leading, found, complex(np.nan, np.nan))


def _aligned(a1, a2):
    a1, a2 = _promoted([atleast_1d(a1), atleast_1d(a2)])
    n = max(_shape(a1)[0], _shape(a2)[0])
    return pad(a1, (n - _shape(a1)[0], 0)), pad(a2, (n - _shape(a2)[0], 0))


def polyadd(a1, a2):
    """The sum of two polynomials (the shorter padded with leading zeros).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.polyadd(np.array([1, 2]), np.array([9, 5, 4]))
    Array([9, 6, 6], dtype=int64)
    """
    a1, a2 = _aligned(a1, a2)
    return a1 + a2


def polysub(a1, a2):
    """The difference of two polynomials (the shorter padded with leading zeros).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.polysub(np.array([2, 10, -2]), np.array([3, 10, -4]))
    Array([-1,  0,  2], dtype=int64)
    """
    a1, a2 = _aligned(a1, a2)
    return a1 - a2


def _trim(p, name):
    values = _concrete(p, f"{name}(trim_leading_zeros=True)", "Leave trim_leading_zeros=False under jit.")
    nonzero = np.flatnonzero(values)
    start = int(nonzero[0]) if nonzero.size else len(values) - 1
    return p[start:]


def polymul(a1, a2, *, trim_leading_zeros=False):
    """The product of two polynomials (the convolution of their coefficients).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.polymul(np.array([1.0, 2.0]), np.array([1.0, -2.0]))
    Array([ 1.,  0., -4.], dtype=float64)
    """
    a1, a2 = atleast_1d(a1), atleast_1d(a2)
    if trim_leading_zeros:
        a1, a2 = _trim(a1, "polymul"), _trim(a2, "polymul")
    return convolve(a1, a2)


def polydiv(u, v, *, trim_leading_zeros=False):
    """(quotient, remainder) of the polynomial division u / v, as jax.numpy.polydiv: the remainder keeps
    the length of u (leading zeros included) unless trim_leading_zeros=True (concrete values only).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> q, r = fnp.polydiv(np.array([1.0, -3.0, 2.0]), np.array([1.0, -1.0]))
    >>> q, r
    (Array([ 1., -2.], dtype=float64), array([0., 0., 0.]))
    """
    u, v = _promoted([_inexact(atleast_1d(u)), _inexact(atleast_1d(v))])
    m, n = _shape(u)[0] - 1, _shape(v)[0] - 1
    quotient, r = [], u
    for k in range(max(m - n + 1, 0)):
        d = r[k] / v[0]
        quotient.append(d)
        r = r - d * pad(v, (k, m - n - k))
    q = concatenate([reshape(d, (1,)) for d in quotient]) if quotient else zeros(1, get_aval(u).dtype)
    if trim_leading_zeros:
        r = _trim(r, "polydiv")
    return q, r


def polyder(p, m=1):
    """The coefficients of the m-th derivative of the polynomial p.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.polyder(np.array([1, 3, 2, 5]))
    Array([3, 6, 2], dtype=int64)
    """
    m = int(m)
    if m < 0:
        raise ValueError("polyder: order of derivative must be positive")
    p = atleast_1d(p)
    for _ in range(m):
        n = _shape(p)[0] - 1
        p = ix.slice_in_dim(p, 0, max(n, 0), axis=0) * np.arange(n, 0, -1)
    return p


def polyint(p, m=1, k=None):
    """The coefficients of the m-th antiderivative of the polynomial p, with integration constants k (a
    scalar or m values, zero by default).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.polyint(np.array([3.0, 2.0, 1.0]), k=5.0)
    Array([1., 1., 1., 5.], dtype=float64)
    """
    m = int(m)
    if m < 0:
        raise ValueError("polyint: order of integral must be positive")
    p = _inexact(atleast_1d(p))
    k = zeros(m, get_aval(p).dtype) if k is None else atleast_1d(_asarray_traced(k))
    if _shape(k)[0] == 1 and m > 1:
        k = broadcast_to(k, (m,))
    if _shape(k)[0] < m:
        raise ValueError("polyint: k must be a scalar or have at least m entries")
    for i in range(m):
        n = _shape(p)[0]
        p = concatenate([p / np.arange(n, 0, -1), reshape(k[i], (1,))])
    return p
