"""fft: the discrete Fourier transform over an array's trailing axes, as JAX's lax.fft (XLA's Fft).

Params: `fft_type` (an `FftType`: FFT and IFFT complex to complex, IFFT scaled by 1/N; RFFT real
to the n//2 + 1 non-negative frequencies of the last axis; IRFFT back, scaled by 1/N) and
`fft_lengths`, the lengths of the transformed trailing axes (of the real side for RFFT/IRFFT).

It is linear, so its jvp transforms the tangent. The transposes are JAX's: FFT and IFFT are
symmetric matrices (their own transposes); RFFT's is the real part of a full FFT of the cotangent
padded to length n (the transpose of an FFT followed by a slice), computed as an IRFFT (see
`_fft_transpose`); IRFFT's is the conjugate of the RFFT of the cotangent, scaled by 1/N and by 2 on
the frequencies that stand for a conjugate pair.
vmap keeps a mapped axis that is not transformed, else moves it first. Under jit it runs on
complex memory itself (`complex_native`): its lowering receives the interleaved float views and
runs the kernels of `fnad_compiler.fft_kernels`.
"""

from __future__ import annotations

import enum
import math

import numpy as np

from ..core import Primitive, ShapedArray, get_aval
from ..transforms.batching import move_bdim
from ..transforms.jvp import deflinear
from ..transforms.reverse import is_undefined
from .elementwise import convert_element_type

__all__ = ["FftType", "fft", "fft_p"]


class FftType(enum.IntEnum):
    """The kind of transform (JAX's lax.FftType)."""

    FFT = 0
    IFFT = 1
    RFFT = 2
    IRFFT = 3

    def __repr__(self):
        return f"FftType.{self.name}"

    __str__ = __repr__


def _complex_dtype(dtype):
    return np.dtype(np.complex64) if np.dtype(dtype) in (np.float32, np.complex64) else np.dtype(np.complex128)


def _real_dtype(dtype):
    return np.dtype(np.float32) if np.dtype(dtype) in (np.float32, np.complex64) else np.dtype(np.float64)


def _fft_eval(x, fft_type, fft_lengths):
    lengths, count = tuple(fft_lengths), len(fft_lengths)
    if count > x.ndim:
        raise ValueError(
            f"FFT input shape {x.shape} must have at least as many input dimensions as fft_lengths {lengths}."
        )
    if any(n < 1 for n in lengths):
        raise ValueError(f"fft: fft_lengths must be positive, got {lengths}")
    trailing = x.shape[x.ndim - count :]
    if fft_type == FftType.RFFT:
        if x.dtype not in (np.float32, np.float64):
            raise TypeError(f"RFFT input must be float32 or float64, got {x.dtype.name}")
        if trailing != lengths:
            raise ValueError(
                f"RFFT fft_lengths must match the last len(fft_lengths) dimensions of input shape: {x.shape} vs "
                f"{lengths}"
            )
        shape = x.shape[: x.ndim - count] + lengths[:-1] + (lengths[-1] // 2 + 1,)
        return ShapedArray(shape, _complex_dtype(x.dtype))
    if x.dtype not in (np.complex64, np.complex128):
        raise TypeError(f"{fft_type.name} input must be complex64 or complex128, got {x.dtype.name}")
    if fft_type == FftType.IRFFT:
        if trailing != lengths[:-1] + (lengths[-1] // 2 + 1,):
            raise ValueError(
                f"IRFFT fft_lengths must match the last len(fft_lengths) dimensions of input shape, with the last "
                f"one n//2 + 1: {x.shape} vs {lengths}"
            )
        return ShapedArray(x.shape[: x.ndim - count] + lengths, _real_dtype(x.dtype))
    if trailing != lengths:
        raise ValueError(
            f"FFT fft_lengths must match the last len(fft_lengths) dimensions of input shape: {x.shape} vs {lengths}"
        )
    return ShapedArray(x.shape, x.dtype)


def _fft_impl(x, fft_type, fft_lengths):
    """The NumPy reference (NumPy 2's pocketfft keeps single precision)."""
    x = np.asarray(x)
    out = _fft_eval(ShapedArray(x.shape, x.dtype), fft_type, fft_lengths)
    axes = tuple(range(x.ndim - len(fft_lengths), x.ndim))
    if fft_type == FftType.FFT:
        y = np.fft.fftn(x, axes=axes)
    elif fft_type == FftType.IFFT:
        y = np.fft.ifftn(x, axes=axes)
    elif fft_type == FftType.RFFT:
        y = np.fft.rfftn(x, axes=axes)
    else:
        y = np.fft.irfftn(x, s=fft_lengths, axes=axes)
    return np.asarray(y, out.dtype)


def _aval(x):
    return x.aval if is_undefined(x) else get_aval(x)


def _pair_mask(m, n, pair):
    """`pair` on the m = n//2 + 1 frequencies of a real transform of length n that stand for a
    conjugate pair (all but 0 and, for even n, n/2), 1 on the others."""
    mask = np.full(m, pair)
    mask[0] = 1.0
    if n % 2 == 0:
        mask[-1] = 1.0
    return mask


def _fft_transpose(ct, x, fft_type, fft_lengths):
    from .elementwise import conj
    from .shape import broadcast_in_dim

    if fft_type == FftType.RFFT:
        # JAX's transpose, real(FFT(ct padded to n)), is N irfft(conj(ct) m) with m = 1/2 on the
        # frequencies that stand for a conjugate pair (Re z = Re conj z): a real transform, not a
        # complex one of the full length
        aval = get_aval(ct)
        mask = _pair_mask(aval.shape[-1], fft_lengths[-1], 0.5) * math.prod(fft_lengths)
        y = conj(ct) * broadcast_in_dim(mask.astype(_real_dtype(aval.dtype)), aval.shape, (aval.ndim - 1,))
        return [_bind(y, FftType.IRFFT, fft_lengths)]
    if fft_type == FftType.IRFFT:
        y = _bind(ct, FftType.RFFT, fft_lengths)
        aval = get_aval(y)
        mask = _pair_mask(aval.shape[-1], fft_lengths[-1], 2.0) / math.prod(fft_lengths)
        scaled = y * broadcast_in_dim(mask.astype(_real_dtype(aval.dtype)), aval.shape, (aval.ndim - 1,))
        return [conj(scaled)]  # JAX's convention for complex cotangents
    return [_bind(ct, fft_type, fft_lengths)]


def _fft_batch(vals, dims, fft_type, fft_lengths):
    (x,), (d,) = vals, dims
    ndim = get_aval(x).ndim
    if d >= ndim - len(fft_lengths):  # a transformed axis: move the mapped one in front
        x, d = move_bdim(x, d, 0, None), 0
    return _bind(x, fft_type, fft_lengths), d


fft_p = Primitive("fft")
fft_p.impl = _fft_impl
fft_p.abstract_eval = _fft_eval
fft_p.batch = _fft_batch
fft_p.complex_native = True  # under jit its lowering works on the interleaved complex memory
deflinear(fft_p, _fft_transpose)


def _bind(x, fft_type, fft_lengths):
    return fft_p.bind(x, fft_type=FftType(fft_type), fft_lengths=tuple(int(n) for n in fft_lengths))


def fft(x, fft_type, fft_lengths):
    """The discrete Fourier transform of the trailing `len(fft_lengths)` axes of x, as JAX's lax.fft.

    `fft_type` is an `FftType` or its name ('fft', 'ifft', 'rfft', 'irfft'): FFT and IFFT (scaled
    by 1/N) map complex to complex; RFFT maps real to the n//2 + 1 non-negative frequencies of the
    last axis; IRFFT inverts it (scaled by 1/N), `fft_lengths` giving the real lengths. Inputs are
    converted to the complex (RFFT: float) dtype of their precision.

    >>> import numpy as np; from fnad import lax
    >>> lax.fft(np.array([1.0, 2.0, 3.0, 4.0]), 'fft', (4,))
    Array([10.+0.j, -2.+2.j, -2.+0.j, -2.-2.j], dtype=complex128)
    >>> lax.fft(np.array([1.0, 2.0, 3.0, 4.0]), lax.FftType.RFFT, (4,))
    Array([10.+0.j, -2.+2.j, -2.+0.j], dtype=complex128)
    """
    if isinstance(fft_type, str):
        try:
            fft_type = FftType[fft_type.upper()]
        except KeyError:
            raise ValueError(
                f"fft: unknown fft_type {fft_type!r} (expected 'fft', 'ifft', 'rfft' or 'irfft')"
            ) from None
    fft_type = FftType(fft_type)
    dtype = get_aval(x).dtype
    if fft_type == FftType.RFFT:
        if dtype.kind == "c":
            raise ValueError(f"only real valued inputs supported for rfft, got {dtype.name}")
        target = _real_dtype(dtype) if dtype.kind == "f" else np.dtype(np.float64)
    else:
        target = _complex_dtype(dtype) if dtype.kind in "fc" else np.dtype(np.complex128)
    if dtype != target:
        x = convert_element_type(x, target)
    fft_lengths = tuple(int(n) for n in fft_lengths)
    if not fft_lengths:
        return x
    return _bind(x, fft_type, fft_lengths)
