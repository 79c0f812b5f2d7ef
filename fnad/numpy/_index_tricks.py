"""fnad.numpy's index tricks: the concatenating and grid-building index objects r_, c_, mgrid, ogrid, and the index-array builders indices, ix_, ravel_multi_index,
unravel_index. Slices in r_/c_/mgrid/ogrid are static (they fix the shape); array items may be traced."""

from __future__ import annotations

import numpy as np

from ..core import get_aval
from ..primitives import shape as sh
from ._core import asarray_traced as _asarray_traced
from ._core import concrete as _concrete
from ._core import shape_of as _shape
from ._creation import arange, array, linspace
from ._elementwise import clip, floor_divide, mod, where
from ._joining import concatenate, stack
from ._shapes import reshape, transpose
from ._sorting import meshgrid


def _range_of(item):
    """The values of a slice item: arange(start, stop, step), or linspace for an imaginary step (its
    magnitude is the number of points, end included), as NumPy's index tricks."""
    start = 0 if item.start is None else item.start
    step = 1 if item.step is None else item.step
    if isinstance(step, complex):
        return linspace(start, item.stop, int(abs(step)))
    return arange(start, item.stop, step)


class _Concatenator:
    """r_ and c_: items (arrays, scalars, slices) joined along an axis; a leading string 'axis[,ndmin[,trans1d]]'
    sets the axis, the minimum number of axes and where 1-d items' axis goes (as NumPy's AxisConcatenator)."""

    def __init__(self, axis, ndmin, trans1d, name):
        self.axis, self.ndmin, self.trans1d, self.name = axis, ndmin, trans1d, name

    def __getitem__(self, key):
        items = key if isinstance(key, tuple) else (key,)
        axis, ndmin, trans1d = self.axis, self.ndmin, self.trans1d
        parts = []
        for i, item in enumerate(items):
            if isinstance(item, str):
                if i != 0:
                    raise ValueError(f"{self.name}: a directive string must come first, got {item!r} at {i}")
                if item in ("r", "c"):
                    raise NotImplementedError(f"{self.name}: matrix directives ('r', 'c') are not supported")
                try:
                    settings = [int(v) for v in item.split(",")]
                except ValueError:
                    raise ValueError(f"{self.name}: unknown directive {item!r}") from None
                axis, ndmin, trans1d = (settings + [ndmin, trans1d][len(settings) - 1 :])[:3]
                continue
            if isinstance(item, slice):
                part, item_ndim = _range_of(item), 1
            else:
                part = _asarray_traced(item)
                item_ndim = get_aval(part).ndim
            part = array(part, ndmin=ndmin)
            if trans1d != -1 and item_ndim < ndmin:
                # as NumPy: the item's own axes end up at position trans1d of the ndmin axes
                k2 = ndmin - item_ndim
                k1 = trans1d + k2 + 1 if trans1d < 0 else trans1d
                axes = list(range(ndmin))
                part = transpose(part, axes[:k1] + axes[k2:] + axes[k1:k2])
            parts.append(part)
        if not parts:
            return np.array([])
        return concatenate(parts, axis=axis)

    def __len__(self):
        return 0


r_ = _Concatenator(0, 1, -1, "r_")
c_ = _Concatenator(-1, 2, 0, "c_")


class _Grid:
    """mgrid (dense) and ogrid (open): the coordinate arrays of a grid of static slices."""

    def __init__(self, sparse, name):
        self.sparse, self.name = sparse, name

    def __getitem__(self, key):
        if isinstance(key, slice):
            return _range_of(key)
        ranges = [_range_of(k) for k in key]
        grids = meshgrid(*ranges, indexing="ij", sparse=self.sparse)
        return grids if self.sparse else stack(grids, axis=0)


mgrid = _Grid(False, "mgrid")
ogrid = _Grid(True, "ogrid")


def indices(dimensions, dtype=None, sparse=False):
    """The index grid of an array of shape `dimensions`: an array of shape (len(dimensions),) + dimensions
    whose k-th entry holds the k-th index (with sparse=True a tuple of broadcastable arrays).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.indices((2, 3))[1]
    Array([[0, 1, 2],
           [0, 1, 2]], dtype=int64)
    >>> [g.shape for g in fnp.indices((2, 3), sparse=True)]
    [(2, 1), (1, 3)]
    """
    dimensions = tuple(int(d) for d in dimensions)
    dt = np.dtype(dtype or np.int64)
    n = len(dimensions)
    if sparse:
        return tuple(sh.iota(dt, tuple(d if j == k else 1 for j, d in enumerate(dimensions)), k) for k in range(n))
    if n == 0:
        return np.zeros((0,), dt)
    return stack([sh.iota(dt, dimensions, k) for k in range(n)], axis=0)


def ix_(*args):
    """Open-mesh index arrays from 1-d sequences: the k-th has shape (1, ..., n_k, ..., 1), so that
    x[ix_(rows, cols)] picks a sub-grid. Boolean sequences are turned into indices (concrete only).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> rows, cols = fnp.ix_(np.array([0, 2]), np.array([1, 3, 4]))
    >>> rows.shape, cols.shape
    ((2, 1), (1, 3))
    """
    out = []
    for k, a in enumerate(args):
        a = _asarray_traced(a)
        if get_aval(a).ndim != 1:
            raise ValueError(f"ix_: cross index must be 1 dimensional, got shape {_shape(a)}")
        if get_aval(a).dtype == np.bool_:
            a = np.flatnonzero(_concrete(a, "ix_ of a boolean sequence"))
        out.append(reshape(a, (1,) * k + (-1,) + (1,) * (len(args) - k - 1)))
    return tuple(out)


def ravel_multi_index(multi_index, dims, mode="raise", order="C", *, dtype=None):
    """The flat indices, into an array of shape `dims`, of the index tuples in `multi_index`; mode 'wrap'
    or 'clip' maps out-of-range indices, 'raise' checks them (concrete values only).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.ravel_multi_index((np.array([1, 0]), np.array([2, 3])), (2, 4))
    Array([6, 3], dtype=int64)
    """
    dims = tuple(int(d) for d in dims)
    if len(multi_index) != len(dims):
        raise ValueError(f"ravel_multi_index: {len(multi_index)} index arrays for {len(dims)} dimensions")
    if order not in ("C", "F"):
        raise ValueError(f"ravel_multi_index: order must be 'C' or 'F', got {order!r}")
    index = [_asarray_traced(i) for i in multi_index]
    if mode == "raise":
        for i, d in zip(index, dims):
            values = _concrete(i, "ravel_multi_index(mode='raise')", "Use mode='clip' or mode='wrap' under jit.")
            if values.size and (values.min() < 0 or values.max() >= d):
                raise ValueError("ravel_multi_index: invalid entry in coordinates array")
    elif mode == "wrap":
        index = [mod(i, d) for i, d in zip(index, dims)]
    elif mode == "clip":
        index = [clip(i, 0, d - 1) for i, d in zip(index, dims)]
    else:
        raise ValueError(f"ravel_multi_index: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    order_dims = range(len(dims)) if order == "C" else reversed(range(len(dims)))
    flat = 0
    for k in order_dims:
        flat = flat * dims[k] + index[k]
    return array(flat, dtype=dtype or np.int64)


def unravel_index(indices, shape):
    """The index tuples, in an array of `shape`, of the flat `indices` (negative ones count from the end;
    out-of-range ones are clipped, as in JAX).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.unravel_index(np.array([5, 7]), (2, 4))
    (Array([1, 1], dtype=int64), Array([1, 3], dtype=int64))
    """
    shape = tuple(int(s) for s in shape)
    size = int(np.prod(shape, dtype=np.int64))
    i = _asarray_traced(indices)
    i = clip(where(i < 0, i + size, i), 0, size - 1)
    out = []
    for d in reversed(shape):
        out.append(mod(i, d))
        i = floor_divide(i, d)
    return tuple(reversed(out))
