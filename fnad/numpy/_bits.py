"""fnad.numpy's bit packing: packbits (booleans to the bits of uint8 values) and unpackbits (back), composed
from shifts, masks and sums so they work under jit and vmap."""

from __future__ import annotations

import numpy as np

from ..core import get_aval
from ..primitives import elementwise as ew
from ._core import asarray_traced as _asarray_traced
from ._core import convert as _convert
from ._core import normalize_axis as _normalize_axis
from ._core import shape_of as _shape
from ._elementwise import not_equal
from ._joining import pad
from ._reductions import sum
from ._shapes import broadcast_to, moveaxis, ravel, reshape

_BIG = np.array([128, 64, 32, 16, 8, 4, 2, 1], np.uint8)


def _bit_weights(bitorder, name):
    if bitorder not in ("big", "little"):
        raise ValueError(f"{name}: bitorder must be 'big' or 'little', got {bitorder!r}")
    return _BIG if bitorder == "big" else _BIG[::-1].copy()


def packbits(a, axis=None, bitorder="big"):
    """The truth values of `a` (integers or booleans) packed 8 to a uint8 along `axis` (of the flattened
    array when None), padding with zero bits, as numpy.packbits.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.packbits(np.array([1, 0, 1, 1, 0, 0, 0, 0, 1]))
    Array([176, 128], dtype=uint8)
    """
    a = _asarray_traced(a)
    if get_aval(a).dtype.kind not in "biu":
        raise TypeError(f"packbits: expected an integer or boolean array, got dtype {get_aval(a).dtype}")
    weights = _bit_weights(bitorder, "packbits")
    if axis is None:
        a, axis = ravel(a), 0
    axis = _normalize_axis(axis, get_aval(a).ndim)
    bits = moveaxis(_convert(not_equal(a, 0), np.uint8), axis, -1)
    n = _shape(bits)[-1]
    bits = pad(bits, [(0, 0)] * (get_aval(bits).ndim - 1) + [(0, -n % 8)])
    groups = reshape(bits, _shape(bits)[:-1] + (-1, 8))
    return moveaxis(sum(groups * weights, axis=-1, dtype=np.uint8), -1, axis)


def unpackbits(a, axis=None, count=None, bitorder="big"):
    """The bits of the uint8 array `a` as 0/1 uint8 values along `axis` (of the flattened array when None),
    the first `count` of them (all by default; a negative count drops that many), as numpy.unpackbits.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.unpackbits(np.array([176, 128], dtype=np.uint8), count=9)
    Array([1, 0, 1, 1, 0, 0, 0, 0, 1], dtype=uint8)
    """
    a = _asarray_traced(a)
    if get_aval(a).dtype != np.uint8:
        raise TypeError(f"unpackbits: expected an input array of unsigned byte data type, got {get_aval(a).dtype}")
    shifts = np.log2(_bit_weights(bitorder, "unpackbits")).astype(np.uint8)
    if axis is None:
        a, axis = ravel(a), 0
    axis = _normalize_axis(axis, get_aval(a).ndim)
    a = moveaxis(a, axis, -1)
    column = reshape(a, _shape(a) + (1,))
    lanes = _shape(column)[:-1] + (8,)
    bits = ew.bitwise_and(
        ew.shift_right_logical(broadcast_to(column, lanes), broadcast_to(shifts, lanes)), np.array(1, np.uint8)
    )
    bits = reshape(bits, _shape(a)[:-1] + (-1,))
    n = _shape(bits)[-1]
    if count is not None:
        keep = count if count >= 0 else max(n + count, 0)
        bits = pad(bits[..., :keep], [(0, 0)] * (get_aval(bits).ndim - 1) + [(0, max(keep - n, 0))])
    return moveaxis(bits, -1, axis)
