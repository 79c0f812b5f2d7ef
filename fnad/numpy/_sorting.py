"""fnad.numpy's sorting, searching and cumulative ops: sort, argsort, cumsum, cumprod, diff,
meshgrid, searchsorted."""

from __future__ import annotations

import builtins

import numpy as np

from ..core import get_aval
from ..primitives import cumulative as cum
from ..primitives import indexing as ix
from ..primitives import shape as sh
from ..primitives import sorting
from ..primitives.reductions import reduce_sum
from ._core import asarray_traced, broadcast_arrays, convert, normalize_axis, numpy_when_eager
from ._core import shape_of as _shape
from ._core import traced_array as _traced_array
from ._elementwise import isnan, less, less_equal, logical_and, logical_not, logical_or, not_equal, subtract
from ._indexing import take
from ._joining import concatenate
from ._shapes import broadcast_to, ravel, reshape


@numpy_when_eager(np.sort)
def sort(a, axis=-1, kind=None, order=None, stable=None):
    """`a` sorted along `axis` (the flattened array when None); NaN sorts last. The gradient flows back
    through the permutation.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.sort(np.array([[3.0, 1.0, 2.0], [0.0, -1.0, 5.0]]))
    Array([[ 1.,  2.,  3.],
           [-1.,  0.,  5.]], dtype=float64)
    >>> fnad.grad(lambda x: fnp.sort(x)[0])(np.array([3.0, 1.0, 2.0]))
    Array([0., 1., 0.], dtype=float64)
    """
    a = asarray_traced(a)
    if axis is None:
        a, axis = ravel(a), 0
    return sorting.sort(a, normalize_axis(axis, get_aval(a).ndim))


@numpy_when_eager(
    lambda a, axis=-1, kind=None, order=None, stable=None: np.argsort(
        a, axis=axis, kind="stable" if kind is None and stable is None else kind, order=order, stable=stable
    )
)
def argsort(a, axis=-1, kind=None, order=None, stable=None):
    """Stable argsort (ties keep their order, as kind='stable'); NaN sorts last.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.argsort(np.array([3.0, 1.0, 2.0, 1.0]))
    Array([1, 3, 2, 0], dtype=int64)
    >>> fnad.vmap(fnp.argsort)(np.array([[2.0, 1.0], [0.0, 5.0]]))
    Array([[1, 0],
           [0, 1]], dtype=int64)
    """
    a = asarray_traced(a)
    if axis is None:
        a, axis = ravel(a), 0
    return sorting.argsort(a, normalize_axis(axis, get_aval(a).ndim))


def _accumulate(np_fn, lax_fn):
    @numpy_when_eager(np_fn)
    def fn(a, axis=None, dtype=None):
        a = asarray_traced(a)
        if axis is None:
            a, axis = ravel(a), 0
        dt = get_aval(a).dtype
        if dtype is not None:
            dt = np.dtype(dtype)
        elif dt == np.bool_ or (np.issubdtype(dt, np.integer) and dt.itemsize < 8):
            dt = np.dtype(np.uint64 if np.issubdtype(dt, np.unsignedinteger) else np.int64)
        return lax_fn(convert(a, dt) if dt != get_aval(a).dtype else a, normalize_axis(axis, get_aval(a).ndim))

    fn.__name__ = fn.__qualname__ = np_fn.__name__
    fn.__doc__ = f"fnad version of numpy.{np_fn.__name__}."
    return fn


cumsum = _accumulate(np.cumsum, cum.cumsum)
cumsum.__doc__ += """

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.cumsum(np.array([[1, 2], [3, 4]]), axis=1)
    Array([[1, 3],
           [3, 7]], dtype=int64)
    >>> fnad.grad(lambda x: fnp.sum(fnp.cumsum(x)))(np.ones(3))
    Array([3., 2., 1.], dtype=float64)
    """
cumprod = _accumulate(np.cumprod, cum.cumprod)
cumprod.__doc__ += """

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.cumprod(np.array([1.0, 2.0, 3.0]))
    Array([1., 2., 6.], dtype=float64)
    >>> fnad.jacfwd(fnp.cumprod)(np.array([1.0, 2.0, 3.0]))
    Array([[1., 0., 0.],
           [2., 1., 0.],
           [6., 3., 2.]], dtype=float64)
    """


def _diff_eager(a, n=1, axis=-1, prepend=None, append=None):
    kw = {k: v for k, v in (("prepend", prepend), ("append", append)) if v is not None}
    return np.diff(a, n, axis, **kw)


@numpy_when_eager(_diff_eager)
def diff(a, n=1, axis=-1, prepend=None, append=None):
    """The `n`-th discrete difference a[i+1] - a[i] along `axis`, with optional values to prepend/append.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.diff(np.array([1.0, 4.0, 9.0, 16.0]))
    Array([3., 5., 7.], dtype=float64)
    >>> fnp.diff(np.array([1.0, 4.0, 9.0, 16.0]), n=2)
    Array([2., 2.], dtype=float64)
    >>> fnp.diff(np.array([1, 4]), prepend=0)
    Array([1, 3], dtype=int64)
    """
    a = asarray_traced(a)
    axis = normalize_axis(axis, get_aval(a).ndim)
    if prepend is not None or append is not None:
        edge = lambda v: (
            broadcast_to(_traced_array(v), _shape(a)[:axis] + (1,) + _shape(a)[axis + 1 :]) if np.ndim(v) == 0 else v
        )
        parts = ([edge(prepend)] if prepend is not None else []) + [a] + ([edge(append)] if append is not None else [])
        a = concatenate(parts, axis)
    for _ in range(n):
        m = _shape(a)[axis]
        hi = ix.slice_in_dim(a, builtins.min(1, m), m, axis=axis)  # empty when m == 0, as NumPy
        lo = ix.slice_in_dim(a, 0, builtins.max(m - 1, 0), axis=axis)
        a = not_equal(hi, lo) if get_aval(a).dtype == np.bool_ else subtract(hi, lo)
    return a


@numpy_when_eager(
    lambda *xi, copy=True, sparse=False, indexing="xy": np.meshgrid(*xi, copy=copy, sparse=sparse, indexing=indexing)
)
def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """Coordinate arrays from 1-d coordinate vectors ('xy' Cartesian or 'ij' matrix indexing; sparse=True
    keeps size-1 axes).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> X, Y = fnp.meshgrid(np.array([1, 2, 3]), np.array([10, 20]))
    >>> X
    Array([[1, 2, 3],
           [1, 2, 3]], dtype=int64)
    >>> Y
    Array([[10, 10, 10],
           [20, 20, 20]], dtype=int64)
    >>> [g.shape for g in fnp.meshgrid(np.ones(3), np.ones(2), indexing='ij')]
    [(3, 2), (3, 2)]
    """
    if indexing not in ("xy", "ij"):
        raise ValueError("meshgrid: valid values for `indexing` are 'xy' and 'ij'")
    nd = len(xi)
    out = []
    for i, x in enumerate(xi):
        pos = (1 - i if i < 2 else i) if indexing == "xy" and nd > 1 else i
        out.append(reshape(ravel(asarray_traced(x)), (1,) * pos + (-1,) + (1,) * (nd - pos - 1)))
    return tuple(out) if sparse else tuple(broadcast_arrays(*out))


@numpy_when_eager(np.searchsorted)
def searchsorted(a, v, side="left", sorter=None):
    """Insertion points of v in the sorted 1-d a, by counting (O(len(a) * size(v))).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.searchsorted(np.array([1.0, 2.0, 3.0]), np.array([0.5, 2.0, 9.0]))
    Array([0, 1, 3], dtype=int64)
    >>> fnp.searchsorted(np.array([1.0, 2.0, 3.0]), 2.0, side='right')
    Array(2, dtype=int64)
    """
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    a = asarray_traced(a)
    if sorter is not None:
        a = take(a, sorter)
    v = asarray_traced(v)
    column = sh.expand_dims(v, (get_aval(v).ndim,))
    before = (less if side == "left" else less_equal)(a, column)
    if get_aval(a).dtype.kind == "f" or get_aval(v).dtype.kind == "f":  # NaN sorts last, as in np.sort
        nan_v = isnan(column)
        before = logical_or(before, logical_and(nan_v, logical_not(isnan(a))) if side == "left" else nan_v)
    return reduce_sum(convert(before, np.int64), (get_aval(v).ndim,))
