"""`fnad.scipy.signal`: N-dimensional convolution and correlation, as `jax.scipy.signal` has them.

Each is one `lax.conv_general_dilated` of a single image with a single flipped kernel (or, by FFT,
`fftconvolve`), so it differentiates in both inputs, batches and compiles to native kernels."""

from __future__ import annotations

import numpy as np

from .. import numpy as fnp
from ..core import get_aval
from ..primitives.conv import conv_general_dilated
from ..primitives.indexing import rev, slice

__all__ = ["convolve", "convolve2d", "correlate", "correlate2d", "fftconvolve"]

_MODES = ("full", "same", "valid")


def _inexact_pair(name, in1, in2):
    in1, in2 = fnp.asarray(in1), fnp.asarray(in2)
    dtype = np.result_type(get_aval(in1).dtype, get_aval(in2).dtype)
    if dtype.kind in "biu":
        dtype = np.dtype(np.float64)
    if dtype.kind == "c":
        raise NotImplementedError(f"{name}: complex inputs are not supported yet (issue 14)")
    return in1.astype(dtype), in2.astype(dtype)


def _checked_pair(name, in1, in2, mode):
    """The operands as one inexact dtype, after SciPy's checks of the mode and the shapes."""
    if mode not in _MODES:
        raise ValueError(f"{name}: mode must be one of {list(_MODES)}, got {mode!r}")
    in1, in2 = _inexact_pair(name, in1, in2)
    s1, s2 = get_aval(in1).shape, get_aval(in2).shape
    if len(s1) != len(s2):
        raise ValueError(f"{name}: in1 and in2 must have the same number of dimensions, got shapes {s1} and {s2}")
    if 0 in s1 or 0 in s2:
        raise ValueError(f"{name}: zero-size arrays are not supported, got shapes {s1} and {s2}")
    if not (all(a >= b for a, b in zip(s1, s2)) or all(a <= b for a, b in zip(s1, s2))):
        raise ValueError(f"{name}: one input must be at least as large as the other in every axis, got {s1} and {s2}")
    return in1, in2


def _in_mode(full, s1, s2, mode):
    """The 'full' convolution cut to `mode`: 'same' is its centre with in1's shape, 'valid' the part
    needing no padding."""
    if mode == "full":
        return full
    full_shape = tuple(a + b - 1 for a, b in zip(s1, s2))
    out_shape = s1 if mode == "same" else tuple(max(a, b) - min(a, b) + 1 for a, b in zip(s1, s2))
    start = [(f - o) // 2 if mode == "same" else min(a, b) - 1 for f, o, a, b in zip(full_shape, out_shape, s1, s2)]
    return slice(full, start, [b + o for b, o in zip(start, out_shape)])


def _convolve_nd(name, in1, in2, mode):
    in1, in2 = _checked_pair(name, in1, in2, mode)
    s1, s2 = get_aval(in1).shape, get_aval(in2).shape
    # Convolution commutes: slide the smaller array over the larger one.
    image, kernel = (in1, in2) if all(a >= b for a, b in zip(s1, s2)) else (in2, in1)
    sk = get_aval(kernel).shape
    ndim = len(sk)
    full = conv_general_dilated(
        image[None, None],
        rev(kernel, tuple(range(ndim)))[None, None],
        (1,) * ndim,
        [(k - 1, k - 1) for k in sk],
    )[0, 0]
    return _in_mode(full, s1, s2, mode)


def fftconvolve(in1, in2, mode="full", axes=None):
    """The N-dimensional convolution of `in1` and `in2` through FFTs (`fnad.numpy.fft`), as
    scipy.signal.fftconvolve with `axes=None`: the same results as `convolve` up to rounding, in
    O(n log n) for large inputs.

    >>> import numpy as np; from fnad.scipy import signal
    >>> np.round(signal.fftconvolve(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5])), 12)
    Array([0. , 1. , 2.5, 4. , 1.5], dtype=float64)
    """
    if axes is not None:
        raise NotImplementedError("fftconvolve: axes= is not supported; it convolves over every axis")
    in1, in2 = _checked_pair("fftconvolve", in1, in2, mode)
    s1, s2 = get_aval(in1).shape, get_aval(in2).shape
    full_shape = tuple(a + b - 1 for a, b in zip(s1, s2))
    axes = tuple(range(len(s1)))
    product = fnp.fft.rfftn(in1, full_shape, axes) * fnp.fft.rfftn(in2, full_shape, axes)
    full = fnp.fft.irfftn(product, full_shape, axes).astype(get_aval(in1).dtype)
    return _in_mode(full, s1, s2, mode)


def convolve(in1, in2, mode="full", method="auto", precision=None):
    """The N-dimensional convolution of `in1` and `in2` (same rank), as scipy.signal.convolve: mode
    'full', 'same' (the centre, with in1's shape) or 'valid'; integer inputs give float64. `method`
    'auto' and 'direct' compute it directly, 'fft' by `fftconvolve`; `precision` is accepted and
    ignored, as in fnad's other products.

    >>> import numpy as np; from fnad.scipy import signal
    >>> signal.convolve(np.array([1.0, 2.0, 3.0, 2.0, 1.0]), np.array([1.0, 1.0, 1.0]), mode='same')
    Array([3., 6., 7., 6., 3.], dtype=float64)
    """
    del precision
    if method == "fft":
        return fftconvolve(in1, in2, mode)
    if method not in ("auto", "direct"):
        raise ValueError(f"convolve: method must be 'auto', 'direct' or 'fft', got {method!r}")
    return _convolve_nd("convolve", in1, in2, mode)


def correlate(in1, in2, mode="full", method="auto", precision=None):
    """The N-dimensional cross-correlation of `in1` and `in2`, as scipy.signal.correlate (that is, the
    convolution of in1 with in2 reversed in every axis).

    >>> import numpy as np; from fnad.scipy import signal
    >>> signal.correlate(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5]))
    Array([0.5, 2. , 3.5, 3. , 0. ], dtype=float64)
    """
    del precision
    if method not in ("auto", "direct", "fft"):
        raise ValueError(f"correlate: method must be 'auto', 'direct' or 'fft', got {method!r}")
    in2 = fnp.asarray(in2)
    return convolve(in1, rev(in2, tuple(range(get_aval(in2).ndim))), mode, method)


def _check_2d(name, in1, in2, boundary, fillvalue):
    if boundary != "fill" or fillvalue != 0:
        raise NotImplementedError(f"{name}: only boundary='fill' with fillvalue=0 is supported (as in JAX)")
    if fnp.ndim(in1) != 2 or fnp.ndim(in2) != 2:
        raise ValueError(f"{name}: in1 and in2 must be 2-dimensional, got shapes {fnp.shape(in1)} and {fnp.shape(in2)}")


def convolve2d(in1, in2, mode="full", boundary="fill", fillvalue=0, precision=None):
    """The 2-D convolution of `in1` and `in2`, as scipy.signal.convolve2d (zero fill at the boundary only).

    >>> import numpy as np; from fnad.scipy import signal
    >>> signal.convolve2d(np.eye(2), np.ones((2, 2)))
    Array([[1., 1., 0.],
           [1., 2., 1.],
           [0., 1., 1.]], dtype=float64)
    """
    _check_2d("convolve2d", in1, in2, boundary, fillvalue)
    return convolve(in1, in2, mode, precision=precision)


def correlate2d(in1, in2, mode="full", boundary="fill", fillvalue=0, precision=None):
    """The 2-D cross-correlation of `in1` and `in2`, as scipy.signal.correlate2d (zero fill only).

    >>> import numpy as np; from fnad.scipy import signal
    >>> signal.correlate2d(np.eye(2), np.array([[1.0, 2.0], [3.0, 4.0]]), mode='valid')
    Array([[5.]], dtype=float64)
    """
    _check_2d("correlate2d", in1, in2, boundary, fillvalue)
    if mode == "same":
        # SciPy centres correlate2d's 'same' output as the reversed convolution of the reversed in1.
        in1 = fnp.asarray(in1)
        return rev(convolve(rev(in1, (0, 1)), in2, mode, precision=precision), (0, 1))
    return correlate(in1, in2, mode, precision=precision)
