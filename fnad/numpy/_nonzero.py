"""The fixed-length nonzero that fnad.numpy's nonzero(size=) (and argwhere, flatnonzero, unique, the set
operations) and where(condition, size=) share: the indices of the first `size` nonzero elements, padded
with a fill value, built from a cumulative sum and a scatter so that it works under jit and vmap (as JAX's
`size=`). It stands on the primitives alone, so the elementwise module can use it too."""

from __future__ import annotations

import numpy as np

from ..core import get_aval
from ..primitives import cumulative as cum
from ..primitives import elementwise as ew
from ..primitives import indexing as ix
from ..primitives import shape as sh
from ._core import asarray_traced, convert


def check_size(name, size):
    """A clear TypeError unless `size` is None or a non-negative Python int."""
    if size is not None and (not isinstance(size, (int, np.integer)) or size < 0):
        raise TypeError(f"{name}: size must be a non-negative Python int (a static length), got {size!r}")


def sized_nonzero(a, size, fill_value=None, name="nonzero"):
    """nonzero(a) as a tuple of index arrays of length `size`: the first `size` indices, then `fill_value`
    (0 by default; one per axis in a tuple)."""
    a = asarray_traced(a)
    shape = get_aval(a).shape
    if not shape:
        raise ValueError(f"{name}: calling nonzero on 0-d arrays is not allowed (use atleast_1d)")
    fills = fill_value if isinstance(fill_value, (tuple, list)) else (fill_value,) * len(shape)
    if len(fills) != len(shape):
        raise ValueError(f"{name}: fill_value must be a scalar or a tuple of {len(shape)} scalars, got {fill_value!r}")
    n = int(np.prod(shape))
    flat = sh.reshape(a, (n,))
    mask = flat if get_aval(flat).dtype == np.bool_ else ew.ne(flat, np.zeros((), get_aval(flat).dtype))
    rank = ew.sub(cum.cumsum(ew.convert_element_type(mask, np.int64), 0), np.int64(1))
    # each true entry's place in the output; `size` (out of bounds: dropped by the scatter) for the others
    positions = sh.reshape(ew.select(mask, rank, sh.full((n,), size, np.int64)), (n, 1))
    index = sh.iota(np.int64, (n,), 0)
    strides = np.cumprod((shape + (1,))[::-1])[::-1][1:]
    out = []
    for length, stride, fill in zip(shape, strides, fills):
        coordinate = ew.rem(ew.div(index, np.int64(stride)), np.int64(length))
        padding = sh.broadcast_in_dim(convert(0 if fill is None else fill, np.dtype(np.int64)), (size,), ())
        out.append(ix.scatter(padding, positions, coordinate, (0,)))
    return tuple(out)
