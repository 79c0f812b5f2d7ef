"""fnad.numpy's sorting, searching and cumulative ops: sort, argsort, partition, argpartition, lexsort,
cumsum, cumprod, nancumsum, nancumprod, cumulative_sum, cumulative_prod, diff, meshgrid, searchsorted."""

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
from ._elementwise import isnan, less, less_equal, logical_and, logical_not, logical_or, not_equal, subtract, where
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


@numpy_when_eager(np.sort_complex)
def sort_complex(a):
    """`a` sorted along its last axis in NumPy's order of complex numbers (by real part, then imaginary
    part), as a complex array (complex64 for int8/int16/uint8/uint16 input, else complex128, as NumPy).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.sort_complex(np.array([1 + 2j, 1 - 1j, -3 + 0j]))
    Array([-3.+0.j,  1.-1.j,  1.+2.j], dtype=complex128)
    """
    a = sort(a)
    dtype = get_aval(a).dtype
    if dtype.kind != "c":
        a = convert(a, np.complex64 if dtype.char in "bhBH" else np.complex128)
    return a


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
    lambda *xi, copy=True, sparse=False, indexing="xy": list(
        np.meshgrid(*xi, copy=copy, sparse=sparse, indexing=indexing)
    )
)
def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """A list of coordinate arrays (as JAX; NumPy returns a tuple) from 1-d coordinate vectors ('xy'
    Cartesian or 'ij' matrix indexing; sparse=True keeps size-1 axes).

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
    return out if sparse else list(broadcast_arrays(*out))


_SEARCH_METHODS = ("scan", "scan_unrolled", "sort", "compare_all")


def _searchsorted_eager(a, v, side="left", sorter=None, *, method="scan"):
    _check_search_method(method)
    return np.searchsorted(a, v, side=side, sorter=sorter)


def _check_search_method(method):
    if method not in _SEARCH_METHODS:
        raise ValueError(f"searchsorted: method must be one of {_SEARCH_METHODS}, got {method!r}")


@numpy_when_eager(_searchsorted_eager)
def searchsorted(a, v, side="left", sorter=None, *, method="scan"):
    """Insertion points of v in the sorted 1-d a, by counting (O(len(a) * size(v))). JAX's `method` (how
    the search runs) is accepted; every method gives the same result.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.searchsorted(np.array([1.0, 2.0, 3.0]), np.array([0.5, 2.0, 9.0]))
    Array([0, 1, 3], dtype=int64)
    >>> fnp.searchsorted(np.array([1.0, 2.0, 3.0]), 2.0, side='right')
    Array(2, dtype=int64)
    """
    _check_search_method(method)
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


def _partition_axis(a, kth, axis, name):
    a = asarray_traced(a)
    axis = normalize_axis(axis, get_aval(a).ndim)
    n = _shape(a)[axis]
    kth = int(kth)
    if not -n <= kth < n:
        raise ValueError(f"{name}: kth {kth} is out of bounds for an axis of length {n}")
    return a, axis, kth % n, n


def partition(a, kth, axis=-1):
    """`a` rearranged along `axis` so that the element at position `kth` is the one a sort would put there,
    smaller ones before it and larger ones after. As in JAX, the first kth + 1 come out sorted ascending
    and the rest descending (NumPy leaves both sides in an unspecified order). Differentiable.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.partition(np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0]), 2)
    Array([1., 1., 2., 9., 5., 4., 3.], dtype=float64)
    """
    a, axis, kth, n = _partition_axis(a, kth, axis, "partition")
    s = sort(a, axis=axis)
    bottom = ix.slice_in_dim(s, 0, kth + 1, axis=axis)
    top = ix.rev(ix.slice_in_dim(s, kth + 1, n, axis=axis), (axis,))
    return concatenate([bottom, top], axis)


def argpartition(a, kth, axis=-1):
    """The indices that partition `a` along `axis` (see partition), in JAX's order: those of the kth + 1
    smallest elements by ascending value (ties by position), then the others by ascending position.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.argpartition(np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0]), 2)
    Array([1, 3, 6, 0, 2, 4, 5], dtype=int64)
    """
    a, axis, kth, n = _partition_axis(a, kth, axis, "argpartition")
    order = argsort(a, axis=axis)
    rest = sort(ix.slice_in_dim(order, kth + 1, n, axis=axis), axis=axis)
    return concatenate([ix.slice_in_dim(order, 0, kth + 1, axis=axis), rest], axis)


def lexsort(keys, axis=-1):
    """The stable permutation that sorts by the last key, then the one before it, and so on, as
    numpy.lexsort.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.lexsort((np.array([1, 2, 1]), np.array([0, 0, -1])))
    Array([2, 0, 1], dtype=int64)
    """
    keys = [asarray_traced(k) for k in keys]
    if not keys:
        raise TypeError("lexsort: need at least one key")
    keys = broadcast_arrays(*keys, op="lexsort")
    keys = [broadcast_to(k, _shape(keys[0])) for k in keys]  # rank-0 keys too
    if get_aval(keys[0]).ndim == 0:
        return np.array(0, np.int64)
    axis = normalize_axis(axis, get_aval(keys[0]).ndim)
    positions = sh.iota(np.int64, _shape(keys[0]), axis)
    return sorting.sort(keys[::-1] + [positions], axis, num_keys=len(keys))[-1]


def _nan_as(a, fill):
    a = asarray_traced(a)
    return where(isnan(a), fill, a) if get_aval(a).dtype.kind in "fc" else a


def nancumsum(a, axis=None, dtype=None, out=None):
    """The cumulative sum along `axis` treating NaN as zero, as numpy.nancumsum.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.nancumsum(np.array([1.0, np.nan, 2.0]))
    Array([1., 1., 3.], dtype=float64)
    """
    return cumsum(_nan_as(a, 0), axis=axis, dtype=dtype)


def nancumprod(a, axis=None, dtype=None, out=None):
    """The cumulative product along `axis` treating NaN as one, as numpy.nancumprod.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.nancumprod(np.array([2.0, np.nan, 3.0]))
    Array([2., 2., 6.], dtype=float64)
    """
    return cumprod(_nan_as(a, 1), axis=axis, dtype=dtype)


def _cumulative(accumulate, identity, name):
    def fn(x, /, *, axis=None, dtype=None, include_initial=False):
        x = asarray_traced(x)
        if axis is None:
            if get_aval(x).ndim > 1:
                raise ValueError(f"{name}: axis must be given for arrays of more than one dimension")
            axis = 0
        out = accumulate(x, axis=axis, dtype=dtype)
        if not include_initial:
            return out
        axis = normalize_axis(axis, get_aval(out).ndim)
        first = broadcast_to(
            np.array(identity, get_aval(out).dtype), _shape(out)[:axis] + (1,) + _shape(out)[axis + 1 :]
        )
        return concatenate([first, out], axis)

    fn.__name__ = fn.__qualname__ = name
    return fn


cumulative_sum = _cumulative(cumsum, 0, "cumulative_sum")
cumulative_sum.__doc__ = """The Array API cumulative sum: cumsum along `axis` (required for arrays of more than one
    dimension), starting with a 0 when include_initial=True.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.cumulative_sum(np.array([[1, 2], [3, 4]]), axis=1, include_initial=True)
    Array([[0, 1, 3],
           [0, 3, 7]], dtype=int64)
    """
cumulative_prod = _cumulative(cumprod, 1, "cumulative_prod")
cumulative_prod.__doc__ = """The Array API cumulative product: cumprod along `axis`, starting with a 1 when
    include_initial=True.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.cumulative_prod(np.array([2.0, 3.0]), include_initial=True)
    Array([1., 2., 6.], dtype=float64)
    """
