"""`fnad.scipy.fft`: the discrete cosine transform (type 2) and its inverse, as `jax.scipy.fft` has them.

Each one-dimensional transform is one complex FFT of the reordered input (Makhoul's algorithm, as JAX's),
through `fnad.numpy.fft`, so it differentiates in both modes, batches and compiles to the native FFT
kernels; the N-dimensional ones apply it along each axis in turn. Like JAX, only type 2 exists (types 1,
3 and 4 raise NotImplementedError) and `norm` is None, "backward" or "ortho"; complex input transforms its
real and imaginary parts separately."""

from __future__ import annotations

import math
import operator

import numpy as np

from .. import numpy as fnp
from ..core import get_aval
from ..numpy import fft as fnp_fft

__all__ = ["dct", "dctn", "idct", "idctn"]

_NORMS = (None, "backward", "ortho")


def _checked(name, x, type, norm):
    """x as an array, after JAX's checks of `type` and `norm`."""
    if type != 2:
        raise NotImplementedError(f"fnad.scipy.fft.{name}: only DCT type 2 is implemented (as in JAX), got {type=}")
    if norm not in _NORMS:
        raise ValueError(f'fnad.scipy.fft.{name}: norm must be None, "backward" or "ortho" (as in JAX), got {norm!r}')
    return fnp.asarray(x)


def _axis(name, axis, ndim):
    try:
        axis = operator.index(axis)
    except TypeError:
        raise TypeError(f"fnad.scipy.fft.{name}: axis must be an integer, got {axis!r}") from None
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(
            f"fnad.scipy.fft.{name}: axis {axis} is out of bounds for an array of rank {ndim}"
        )
    return axis % ndim


def _length(name, n, size):
    """The transform length: `n` (crop or zero-pad to it) or the axis' size."""
    if n is None:
        return size
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"fnad.scipy.fft.{name}: n must be an integer, got {n!r}") from None
    if n < 1:
        raise ValueError(f"fnad.scipy.fft.{name}: invalid number of data points ({n}) specified")
    return n


def _fit_last(x, n):
    """x cropped or zero-padded at the end of its last axis to length n."""
    size = get_aval(x).shape[-1]
    if n < size:
        return x[..., :n]
    if n > size:
        return fnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, n - size)])
    return x


def _ortho_scale(n, dtype):
    """The factors the orthonormal DCT-II multiplies the unnormalised one by: 1/sqrt(4n), then 1/sqrt(2n)."""
    scale = np.full(n, 1 / math.sqrt(2 * n))
    scale[0] = 1 / math.sqrt(4 * n)
    return scale.astype(dtype)


def _twiddle(n):
    """exp(-i pi k / 2n), the quarter-wave rotation relating the DCT-II to the FFT of the reordered input."""
    return np.exp(-0.5j * np.pi * np.arange(n) / n)


def _interleaved(n):
    """Makhoul's order: the even samples, then the odd ones reversed (x0 x2 x4 ... x5 x3 x1)."""
    return np.concatenate([np.arange(0, n, 2), np.arange(1, n, 2)[::-1]])


def _complex_parts(fn, x, **kwargs):
    """fn of a complex x, as JAX: fn of its real and imaginary parts, recombined."""
    return fn(fnp.real(x), **kwargs) + 1j * fn(fnp.imag(x), **kwargs)


def _dct_last(x, norm):
    """The DCT-II of a real x along its last axis."""
    n = get_aval(x).shape[-1]
    spectrum = fnp_fft.fft(x[..., _interleaved(n)], axis=-1)
    out = 2 * fnp.real(spectrum * _twiddle(n).astype(get_aval(spectrum).dtype))
    if norm == "ortho":
        out = out * _ortho_scale(n, get_aval(out).dtype)
    return out


def _idct_last(x, norm):
    """The inverse of `_dct_last` (a scaled DCT-III) of a real x along its last axis."""
    x = fnp.asarray(x, fnp.result_type(x, 1.0))
    n = get_aval(x).shape[-1]
    dtype = get_aval(x).dtype
    scale = _ortho_scale(n, dtype)
    if norm != "ortho":
        scale = scale * _ortho_scale(n, dtype)
    # Undo the rotation and the orthonormal scaling, then the inverse FFT gives the reordered samples.
    rotated = (x * (2 * n * scale)) / _twiddle(n).astype(np.promote_types(dtype, np.complex64))
    reordered = fnp.real(fnp_fft.ifft(rotated, axis=-1))
    return reordered[..., np.argsort(_interleaved(n))]


def _one_axis(name, transform, x, type, n, axis, norm):
    x = _checked(name, x, type, norm)
    if fnp.iscomplexobj(x):
        return _complex_parts(lambda part: _one_axis(name, transform, part, type, n, axis, norm), x)
    axis = _axis(name, axis, x.ndim)
    x = fnp.moveaxis(x, axis, -1)
    x = _fit_last(x, _length(name, n, get_aval(x).shape[-1]))
    return fnp.moveaxis(transform(x, norm), -1, axis)


def _many_axes(name, transform, x, type, s, axes, norm):
    x = _checked(name, x, type, norm)
    ndim = x.ndim
    if s is not None:
        s = [s] if np.ndim(s) == 0 else list(s)
        if len(s) > ndim:
            raise ValueError(f"fnad.scipy.fft.{name}: s must have at most x.ndim ({ndim}) elements, got {len(s)}")
    if axes is None:
        axes = tuple(range(ndim - (ndim if s is None else len(s)), ndim))
    else:
        axes = [axes] if np.ndim(axes) == 0 else list(axes)
        axes = tuple(_axis(name, a, ndim) for a in axes)
        if len(set(axes)) != len(axes):
            raise ValueError(f"fnad.scipy.fft.{name}: repeated axes {axes}")
    if s is not None and len(s) != len(axes):
        raise ValueError(f"fnad.scipy.fft.{name}: s and axes have different lengths ({s} and {axes})")
    lengths = [None] * len(axes) if s is None else s
    for axis, n in zip(axes, lengths):
        x = _one_axis(name, transform, x, 2, n, axis, norm)
    return x


def dct(x, type=2, n=None, axis=-1, norm=None):
    """The discrete cosine transform (type 2) of `x` along `axis`, cropped or zero-padded to length `n`,
    as scipy.fft.dct (jax.scipy.fft.dct): `y[k] = 2 sum_j x[j] cos(pi k (2j + 1) / 2n)`, scaled to an
    orthonormal transform with `norm="ortho"`.

    >>> import numpy as np; from fnad.scipy import fft
    >>> fft.dct(np.array([1.0, 2.0, 3.0, 4.0]))
    Array([20.        , -6.30864406,  0.        , -0.44834153], dtype=float64)
    """
    return _one_axis("dct", _dct_last, x, type, n, axis, norm)


def idct(x, type=2, n=None, axis=-1, norm=None):
    """The inverse of `dct` (a scaled type-3 DCT) along `axis`, as scipy.fft.idct (jax.scipy.fft.idct).

    >>> import numpy as np; from fnad.scipy import fft
    >>> import fnad.numpy as fnp
    >>> fnp.round(fft.idct(fft.dct(np.array([1.0, 2.0, 3.0, 4.0]))), 12)
    Array([1., 2., 3., 4.], dtype=float64)
    """
    return _one_axis("idct", _idct_last, x, type, n, axis, norm)


def dctn(x, type=2, s=None, axes=None, norm=None):
    """The N-dimensional DCT (type 2) over `axes` (default: the last len(s) axes, or all), each cropped or
    zero-padded to the lengths `s`, as scipy.fft.dctn (jax.scipy.fft.dctn).

    >>> import numpy as np; from fnad.scipy import fft
    >>> fft.dctn(np.array([[1.0, 2.0], [3.0, 4.0]]))
    Array([[ 40.        ,  -5.65685425],
           [-11.3137085 ,   0.        ]], dtype=float64)
    """
    return _many_axes("dctn", _dct_last, x, type, s, axes, norm)


def idctn(x, type=2, s=None, axes=None, norm=None):
    """The inverse of `dctn`, as scipy.fft.idctn (jax.scipy.fft.idctn).

    >>> import numpy as np; from fnad.scipy import fft
    >>> import fnad.numpy as fnp
    >>> fnp.round(fft.idctn(fft.dctn(np.array([[1.0, 2.0], [3.0, 4.0]]))), 12)
    Array([[1., 2.],
           [3., 4.]], dtype=float64)
    """
    return _many_axes("idctn", _idct_last, x, type, s, axes, norm)
