"""fnad.numpy.fft: NumPy's FFT API (as jax.numpy.fft) over the one `fft` primitive (fnad.primitives.fft).

Every transform moves its axes last, crops or zero-pads them to the lengths asked for (`n`, `s`),
binds `fft` on the trailing axes and moves them back; `norm` ("backward", the default, "ortho" or
"forward") is a real scale of the result. Dtypes follow JAX: float32 (complex64) in, complex64
(float32) out; float64, integers and bools compute in double precision. Being built from primitives,
everything here is differentiable in both modes, batchable and compiled natively by jit.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from ..core import Tracer, get_aval
from ..primitives import indexing as ix
from ..primitives.fft import FftType
from ..primitives.fft import fft as _lax_fft
from ._core import asarray_traced
from ._creation import asarray
from ._elementwise import conjugate
from ._joining import roll
from ._shapes import moveaxis

__all__ = [
    "fft",
    "fft2",
    "fftfreq",
    "fftn",
    "fftshift",
    "hfft",
    "ifft",
    "ifft2",
    "ifftn",
    "ifftshift",
    "ihfft",
    "irfft",
    "irfft2",
    "irfftn",
    "rfft",
    "rfft2",
    "rfftfreq",
    "rfftn",
]

_NORMS = ("backward", "ortho", "forward")


def _axis(axis, ndim, name):
    try:
        axis = operator.index(axis)
    except TypeError:
        raise TypeError(f"fnad.numpy.fft.{name}: axis must be an integer, got {axis!r}") from None
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(f"axis {axis} is out of bounds for array of dimension {ndim}")
    return axis % ndim


def _norm_scale(norm, lengths, inverse, name):
    """The factor `norm` multiplies the (backward-normalised) transform by."""
    if norm is None or norm == "backward":
        return 1.0
    if norm not in _NORMS:
        raise ValueError(
            f'fnad.numpy.fft.{name}: invalid norm value {norm!r}; should be "backward", "ortho" or "forward"'
        )
    n = math.prod(lengths)
    if norm == "ortho":
        return math.sqrt(n) if inverse else 1 / math.sqrt(n)
    return n if inverse else 1 / n


def _transform(name, fft_type, a, s, axes, norm):
    """The shared body (JAX's _fft_core): `s` lengths over `axes` (None: NumPy's defaults)."""
    x = asarray_traced(a)
    ndim = get_aval(x).ndim
    if s is not None:
        try:
            s = tuple(operator.index(n) for n in s)
        except TypeError:
            raise TypeError(f"fnad.numpy.fft.{name}: s must be a sequence of integers, got {s!r}") from None
        if any(n < 1 for n in s):
            bad = next(n for n in s if n < 1)
            raise ValueError(f"fnad.numpy.fft.{name}: invalid number of data points ({bad}) specified")
    if axes is None:
        axes = tuple(range(ndim - (ndim if s is None else len(s)), ndim))
    else:
        axes = tuple(_axis(ax, ndim, name) for ax in axes)
    if s is not None and len(s) != len(axes):
        raise ValueError(f"fnad.numpy.fft.{name}: shape and axes have different lengths ({s} and {axes})")
    if len(set(axes)) != len(axes):
        raise ValueError(f"fnad.numpy.fft.{name} does not support repeated axes, got axes {axes}")
    if not axes:
        return x
    trailing = tuple(range(ndim - len(axes), ndim))
    x = moveaxis(x, axes, trailing)
    shape = get_aval(x).shape
    if s is None:
        s = tuple(shape[ndim - len(axes) :])
        if fft_type == FftType.IRFFT:
            s = s[:-1] + (2 * (s[-1] - 1),)
        if any(n < 1 for n in s):
            bad = next(n for n in s if n < 1)
            raise ValueError(f"fnad.numpy.fft.{name}: invalid number of data points ({bad}) specified")
    target = s[:-1] + (s[-1] // 2 + 1,) if fft_type == FftType.IRFFT else s
    x = _fit(x, target)
    y = _lax_fft(x, fft_type, s)
    scale = _norm_scale(norm, s, name.startswith("i"), name)  # JAX's: ihfft scales as an inverse
    if scale != 1.0:
        y = y * scale
    return moveaxis(y, trailing, axes)


def _fit(x, lengths):
    """x with its trailing axes cropped or zero-padded (at the end) to `lengths`."""
    aval = get_aval(x)
    lead = aval.ndim - len(lengths)
    have = aval.shape[lead:]
    if have == tuple(lengths):
        return x
    crop = tuple(min(h, n) for h, n in zip(have, lengths))
    if crop != have:
        x = ix.slice(x, (0,) * aval.ndim, aval.shape[:lead] + crop)
    if crop != tuple(lengths):
        config = [(0, 0, 0)] * lead + [(0, n - c, 0) for c, n in zip(crop, lengths)]
        x = ix.pad(x, np.zeros((), aval.dtype), config)
    return x


def _one_axis(name, fft_type, a, n, axis, norm):
    if isinstance(axis, (list, tuple)):
        raise TypeError(f"fnad.numpy.fft.{name}: axis must be an integer, got {axis!r}")
    return _transform(name, fft_type, a, None if n is None else (n,), (axis,), norm)


def fft(a, n=None, axis=-1, norm=None):
    """The one-dimensional discrete Fourier transform along `axis`, of length `n` (cropped or
    zero-padded; default the axis' length), as numpy.fft.fft.

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.fft.fft(np.array([1.0, 2.0, 3.0, 4.0]))
    Array([10.+0.j, -2.+2.j, -2.+0.j, -2.-2.j], dtype=complex128)
    """
    return _one_axis("fft", FftType.FFT, a, n, axis, norm)


def ifft(a, n=None, axis=-1, norm=None):
    """The one-dimensional inverse discrete Fourier transform, as numpy.fft.ifft.

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.fft.ifft(np.array([10.0, -2 + 2j, -2.0, -2 - 2j]))
    Array([1.+0.j, 2.+0.j, 3.+0.j, 4.+0.j], dtype=complex128)
    """
    return _one_axis("ifft", FftType.IFFT, a, n, axis, norm)


def rfft(a, n=None, axis=-1, norm=None):
    """The transform of real input: the n//2 + 1 non-negative frequencies, as numpy.fft.rfft.

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.fft.rfft(np.array([1.0, 2.0, 3.0, 4.0], np.float32))
    Array([10.+0.j, -2.+2.j, -2.+0.j], dtype=complex64)
    """
    return _one_axis("rfft", FftType.RFFT, a, n, axis, norm)


def irfft(a, n=None, axis=-1, norm=None):
    """The inverse of rfft: `n` real samples (default 2 (m - 1) for m frequencies), as numpy.fft.irfft.

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.fft.irfft(np.array([10.0, -2 + 2j, -2.0]))
    Array([1., 2., 3., 4.], dtype=float64)
    """
    return _one_axis("irfft", FftType.IRFFT, a, n, axis, norm)


def hfft(a, n=None, axis=-1, norm=None):
    """The transform of a Hermitian-symmetric signal given by its first half: real, `n` points
    (default 2 (m - 1)), as numpy.fft.hfft.

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.fft.hfft(np.array([1.0, 2.0, 3.0]))
    Array([ 8., -2.,  0., -2.], dtype=float64)
    """
    x = asarray_traced(a)
    ndim = get_aval(x).ndim
    if isinstance(axis, (list, tuple)):
        raise TypeError(f"fnad.numpy.fft.hfft: axis must be an integer, got {axis!r}")
    length = 2 * (get_aval(x).shape[_axis(axis, ndim, "hfft")] - 1) if n is None else n
    return _one_axis("hfft", FftType.IRFFT, conjugate(x), n, axis, norm) * length


def ihfft(a, n=None, axis=-1, norm=None):
    """The inverse of hfft: the first n//2 + 1 values of the Hermitian spectrum of real input, as
    numpy.fft.ihfft.

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.fft.ihfft(np.array([8.0, -2.0, 0.0, -2.0]))
    Array([1.-0.j, 2.-0.j, 3.-0.j], dtype=complex128)
    """
    x = asarray_traced(a)
    ndim = get_aval(x).ndim
    if isinstance(axis, (list, tuple)):
        raise TypeError(f"fnad.numpy.fft.ihfft: axis must be an integer, got {axis!r}")
    length = get_aval(x).shape[_axis(axis, ndim, "ihfft")] if n is None else n
    y = _one_axis("ihfft", FftType.RFFT, x, n, axis, norm)
    return conjugate(y) * (1 / length)


def fftn(a, s=None, axes=None, norm=None):
    """The n-dimensional discrete Fourier transform over `axes` (default all, or the last len(s)),
    as numpy.fft.fftn.

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.fft.fftn(np.ones((2, 2)))
    Array([[4.+0.j, 0.+0.j],
           [0.+0.j, 0.+0.j]], dtype=complex128)
    """
    return _transform("fftn", FftType.FFT, a, s, axes, norm)


def ifftn(a, s=None, axes=None, norm=None):
    """The n-dimensional inverse transform, as numpy.fft.ifftn.

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.fft.ifftn(np.array([[4.0, 0.0], [0.0, 0.0]]))
    Array([[1.+0.j, 1.+0.j],
           [1.+0.j, 1.+0.j]], dtype=complex128)
    """
    return _transform("ifftn", FftType.IFFT, a, s, axes, norm)


def rfftn(a, s=None, axes=None, norm=None):
    """The n-dimensional transform of real input (the last axis halved), as numpy.fft.rfftn.

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.fft.rfftn(np.ones((2, 4))).shape
    (2, 3)
    """
    return _transform("rfftn", FftType.RFFT, a, s, axes, norm)


def irfftn(a, s=None, axes=None, norm=None):
    """The inverse of rfftn, as numpy.fft.irfftn.

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.fft.irfftn(np.array([[8.0, 0.0, 0.0], [0.0, 0.0, 0.0]]))
    Array([[1., 1., 1., 1.],
           [1., 1., 1., 1.]], dtype=float64)
    """
    return _transform("irfftn", FftType.IRFFT, a, s, axes, norm)


def fft2(a, s=None, axes=(-2, -1), norm=None):
    """The two-dimensional transform over `axes`, as numpy.fft.fft2.

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.fft.fft2(np.ones((2, 2)))[0, 0]
    Array(4.+0.j, dtype=complex128)
    """
    return _transform("fft2", FftType.FFT, a, s, axes, norm)


def ifft2(a, s=None, axes=(-2, -1), norm=None):
    """The two-dimensional inverse transform, as numpy.fft.ifft2.

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.fft.ifft2(np.array([[4.0, 0.0], [0.0, 0.0]]))[1, 1]
    Array(1.+0.j, dtype=complex128)
    """
    return _transform("ifft2", FftType.IFFT, a, s, axes, norm)


def rfft2(a, s=None, axes=(-2, -1), norm=None):
    """The two-dimensional transform of real input, as numpy.fft.rfft2.

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.fft.rfft2(np.ones((2, 4))).shape
    (2, 3)
    """
    return _transform("rfft2", FftType.RFFT, a, s, axes, norm)


def irfft2(a, s=None, axes=(-2, -1), norm=None):
    """The inverse of rfft2, as numpy.fft.irfft2.

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.fft.irfft2(np.array([[8.0, 0.0, 0.0], [0.0, 0.0, 0.0]])).shape
    (2, 4)
    """
    return _transform("irfft2", FftType.IRFFT, a, s, axes, norm)


def fftfreq(n, d=1.0, *, dtype=None, device=None):
    """The sample frequencies of an n-point transform with sample spacing d: [0, 1, ..., n/2 - 1,
    -n/2, ..., -1] / (d n) for even n, as numpy.fft.fftfreq.

    >>> import fnad.numpy as fnp
    >>> fnp.fft.fftfreq(4)
    Array([ 0.  ,  0.25, -0.5 , -0.25], dtype=float64)
    """
    n = operator.index(n)
    if n < 1:
        raise ValueError(f"fnad.numpy.fft.fftfreq: n must be positive, got {n}")
    k = np.concatenate([np.arange((n - 1) // 2 + 1), np.arange(-(n // 2), 0)])
    return _freqs(k, n, d, dtype)


def rfftfreq(n, d=1.0, *, dtype=None, device=None):
    """The non-negative sample frequencies [0, 1, ..., n//2] / (d n) of an n-point rfft, as
    numpy.fft.rfftfreq.

    >>> import fnad.numpy as fnp
    >>> fnp.fft.rfftfreq(4)
    Array([0.  , 0.25, 0.5 ], dtype=float64)
    """
    n = operator.index(n)
    if n < 1:
        raise ValueError(f"fnad.numpy.fft.rfftfreq: n must be positive, got {n}")
    return _freqs(np.arange(n // 2 + 1), n, d, dtype)


def _freqs(k, n, d, dtype):
    """k / (n d) as NumPy computes it (k times 1 / (n d)), in `dtype` (default float64)."""
    dtype = np.dtype(dtype or np.float64)
    if isinstance(d, Tracer):
        return asarray(k, dtype=dtype) * (1.0 / (d * n))
    return asarray(k * (1.0 / (n * d)), dtype=dtype)


def fftshift(x, axes=None):
    """x rolled so that the zero frequency is in the middle of each of `axes` (default all), as
    numpy.fft.fftshift.

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.fft.fftshift(np.array([0.0, 1.0, 2.0, -2.0, -1.0]))
    Array([-2., -1.,  0.,  1.,  2.], dtype=float64)
    """
    return _shift(x, axes, lambda n: n // 2)


def ifftshift(x, axes=None):
    """The inverse of fftshift, as numpy.fft.ifftshift.

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.fft.ifftshift(np.array([-2.0, -1.0, 0.0, 1.0, 2.0]))
    Array([ 0.,  1.,  2., -2., -1.], dtype=float64)
    """
    return _shift(x, axes, lambda n: -(n // 2))


def _shift(x, axes, amount):
    x = asarray_traced(x)
    shape = get_aval(x).shape
    if axes is None:
        axes = tuple(range(len(shape)))
    elif isinstance(axes, int):
        axes = (axes,)
    axes = tuple(_axis(ax, len(shape), "fftshift") for ax in axes)
    if not axes:
        return x
    return roll(x, tuple(amount(shape[ax]) for ax in axes), axes)
