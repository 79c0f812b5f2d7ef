"""fnad.numpy's diagonals and triangles: trace, diagonal, tril, triu, tri, diag, diagflat, fill_diagonal, and
the (static) index helpers tril_indices, triu_indices (and _from), diag_indices (and _from), mask_indices."""

from __future__ import annotations

import builtins

import numpy as np

from ..array import as_array
from ..core import get_aval
from ..primitives import elementwise as ew
from ..primitives import indexing as ix
from ..primitives import shape as sh
from ._core import asarray_traced, convert, numpy_when_eager
from ._core import shape_of as _shape
from ._reductions import sum
from ._selection import nonzero
from ._shapes import broadcast_to, moveaxis, ravel, reshape, shape


@numpy_when_eager(np.trace)
def trace(a, offset=0, axis1=0, axis2=1):
    """The sum along diagonal `offset` of the axes `axis1`, `axis2`.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> fnp.trace(a), fnp.trace(a, offset=1)
    (Array(5., dtype=float64), Array(2., dtype=float64))
    >>> fnad.grad(fnp.trace)(a)
    Array([[1., 0.],
           [0., 1.]], dtype=float64)
    """
    return sum(diagonal(a, offset, axis1, axis2), axis=-1)


@numpy_when_eager(np.diagonal)
def diagonal(a, offset=0, axis1=0, axis2=1):
    """Diagonal `offset` of the axes `axis1`, `axis2`, which become the last axis of the result.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.diagonal(np.array([[1.0, 2.0], [3.0, 4.0]]))
    Array([1., 4.], dtype=float64)
    >>> fnad.vmap(fnp.diagonal)(np.arange(8.0).reshape(2, 2, 2))
    Array([[0., 3.],
           [4., 7.]], dtype=float64)
    """
    a = moveaxis(asarray_traced(a), (axis1, axis2), (-2, -1))
    *batch, n, m = shape(a)
    d = builtins.max(0, builtins.min(n, m - offset) if offset >= 0 else builtins.min(n + offset, m))
    # In the row-major flattened matrix the diagonal is every (m + 1)-th element from its first one: a
    # strided slice (exact for any values, inf and -0.0 included; it differentiates as a slice).
    flat = reshape(a, (*batch, n * m))
    if d == 0:
        return ix.slice_in_dim(flat, 0, 0, axis=-1 % (len(batch) + 1))
    first = offset if offset >= 0 else -offset * m
    return ix.slice_in_dim(flat, first, first + (d - 1) * (m + 1) + 1, m + 1, axis=len(batch))


def _tri_mask(shape, k, lower):
    n, m = shape[-2:]
    i, j = sh.iota(np.int64, (n, m), 0), sh.iota(np.int64, (n, m), 1)
    i_k = ew.add(i, np.array(k, np.int64))
    return ew.ge(i_k, j) if lower else ew.le(i_k, j)


def _tri(m, k, lower):
    m = asarray_traced(m)
    if get_aval(m).ndim < 2:
        n = _shape(m)[-1] if get_aval(m).ndim else 1
        m = broadcast_to(m, (n, n))
    mask = sh.broadcast_to_rank_shape(_tri_mask(_shape(m), k, lower), _shape(m))
    return ew.select(mask, m, ew.zeros_like(m))


@numpy_when_eager(np.tril)
def tril(m, k=0):
    """`m` with the elements above diagonal `k` set to zero (the lower triangle).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.tril(np.ones((3, 3)))
    Array([[1., 0., 0.],
           [1., 1., 0.],
           [1., 1., 1.]], dtype=float64)
    >>> fnp.tril(np.ones((2, 3)), k=1)
    Array([[1., 1., 0.],
           [1., 1., 1.]], dtype=float64)
    """
    return _tri(m, k, lower=True)


@numpy_when_eager(np.triu)
def triu(m, k=0):
    """`m` with the elements below diagonal `k` set to zero (the upper triangle).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.triu(np.arange(1, 10).reshape(3, 3))
    Array([[1, 2, 3],
           [0, 5, 6],
           [0, 0, 9]], dtype=int64)
    """
    return _tri(m, k, lower=False)


@numpy_when_eager(np.diag)
def diag(v, k=0):
    """For a 1-d `v`, the square matrix with v on diagonal `k`; for a 2-d `v`, its diagonal `k`.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.diag(np.array([1.0, 2.0]))
    Array([[1., 0.],
           [0., 2.]], dtype=float64)
    >>> fnp.diag(np.array([[1, 2], [3, 4]]), k=1)
    Array([2], dtype=int64)
    """
    v = asarray_traced(v)
    if get_aval(v).ndim == 2:
        return diagonal(v, k)
    if get_aval(v).ndim != 1:
        raise ValueError(f"diag: input must be 1- or 2-d, got shape {_shape(v)}")
    n = _shape(v)[0] + builtins.abs(k)
    # Row i holds v[i] on the diagonal for k >= 0, column j holds v[j] for k < 0.
    padded = ix.pad(v, ew.scalar_like(v, 0), [(0, builtins.abs(k), 0)])
    values = sh.broadcast_in_dim(padded, (n, n), (0,) if k >= 0 else (1,))
    on = ew.eq(ew.add(sh.iota(np.int64, (n, n), 0), np.array(k, np.int64)), sh.iota(np.int64, (n, n), 1))
    return ew.select(on, values, ew.zeros_like(values))


@numpy_when_eager(np.diagflat)
def diagflat(v, k=0):
    """The square matrix with the flattened `v` on diagonal `k`.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.diagflat(np.array([[1, 2]]), k=-1)
    Array([[0, 0, 0],
           [1, 0, 0],
           [0, 2, 0]], dtype=int64)
    """
    return diag(ravel(v), k)


def tri(N, M=None, k=0, dtype=None):
    """The N x M matrix with ones at and below diagonal k and zeros above (float64 by default).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.tri(3, k=-1, dtype=np.int64)
    Array([[0, 0, 0],
           [1, 0, 0],
           [1, 1, 0]], dtype=int64)
    """
    M = N if M is None else M
    return convert(_tri_mask((int(N), int(M)), int(k), lower=True), np.dtype(dtype or np.float64))


def _tri_indices(n, k, m, lower):
    # static: the mask is computed by NumPy (the number of indices depends on n, k, m only)
    return tuple(map(as_array, np.nonzero(np.tri(n, m, k, dtype=bool) if lower else ~np.tri(n, m, k - 1, dtype=bool))))


def tril_indices(n, k=0, m=None):
    """The (row, column) indices of the lower triangle (at and below diagonal k) of an n x m matrix.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.tril_indices(3)
    (Array([0, 1, 1, 2, 2, 2], dtype=int64), Array([0, 0, 1, 0, 1, 2], dtype=int64))
    """
    return _tri_indices(int(n), int(k), None if m is None else int(m), lower=True)


def triu_indices(n, k=0, m=None):
    """The (row, column) indices of the upper triangle (at and above diagonal k) of an n x m matrix.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.triu_indices(3, k=1)
    (Array([0, 0, 1], dtype=int64), Array([1, 2, 2], dtype=int64))
    """
    return _tri_indices(int(n), int(k), None if m is None else int(m), lower=False)


def _matrix_shape(arr, name):
    s = shape(arr)
    if len(s) != 2:
        raise ValueError(f"{name}: arr must be 2-d, got shape {s}")
    return s


def tril_indices_from(arr, k=0):
    """tril_indices for the shape of the 2-d `arr`.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.tril_indices_from(np.ones((2, 3)))
    (Array([0, 1, 1], dtype=int64), Array([0, 0, 1], dtype=int64))
    """
    n, m = _matrix_shape(arr, "tril_indices_from")
    return tril_indices(n, k, m)


def triu_indices_from(arr, k=0):
    """triu_indices for the shape of the 2-d `arr`.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.triu_indices_from(np.ones((2, 3)))
    (Array([0, 0, 0, 1, 1], dtype=int64), Array([0, 1, 2, 1, 2], dtype=int64))
    """
    n, m = _matrix_shape(arr, "triu_indices_from")
    return triu_indices(n, k, m)


def diag_indices(n, ndim=2):
    """The indices of the main diagonal of an n x ... x n array (`ndim` axes): ndim copies of arange(n).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.diag_indices(3)
    (Array([0, 1, 2], dtype=int64), Array([0, 1, 2], dtype=int64))
    """
    if n < 0 or ndim < 0:
        raise ValueError(f"diag_indices: n and ndim must be non-negative, got n={n}, ndim={ndim}")
    return (as_array(np.arange(n)),) * ndim


def diag_indices_from(arr):
    """diag_indices for `arr`, whose axes (at least 2) must all have the same length.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.diag_indices_from(np.ones((2, 2, 2)))
    (Array([0, 1], dtype=int64), Array([0, 1], dtype=int64), Array([0, 1], dtype=int64))
    """
    s = shape(arr)
    if len(s) < 2 or len(set(s)) != 1:
        raise ValueError(f"diag_indices_from: arr must have at least 2 axes, all of the same length; got shape {s}")
    return diag_indices(s[0], len(s))


def mask_indices(n, mask_func, k=0, *, size=None):
    """The indices where mask_func(ones((n, n)), k) is nonzero, e.g. mask_indices(n, triu); under jit pass a
    static `size` (as nonzero).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.mask_indices(3, fnp.triu, 1)
    (Array([0, 0, 1], dtype=int64), Array([1, 2, 2], dtype=int64))
    """
    return nonzero(mask_func(np.ones((n, n), np.int64), k), size=size)


def fill_diagonal(a, val, wrap=False, *, inplace=True):
    """A copy of `a` with its main diagonal set to `val` (repeated as needed), as numpy.fill_diagonal; for a
    tall matrix, wrap=True restarts the diagonal every n + 1 rows. Arrays are immutable: pass inplace=False
    (as in JAX).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.fill_diagonal(np.zeros((3, 3)), np.array([1.0, 2.0]), inplace=False)
    Array([[1., 0., 0.],
           [0., 2., 0.],
           [0., 0., 1.]], dtype=float64)
    """
    if inplace:
        raise ValueError(
            "fill_diagonal: fnad arrays are immutable, so it cannot modify its argument in place; pass "
            "inplace=False to get the updated array (as in JAX)"
        )
    a = asarray_traced(a)
    s = _shape(a)
    if len(s) < 2 or (len(s) > 2 and len(set(s)) != 1):
        raise ValueError(f"fill_diagonal: array must be at least 2-d with all axes of equal length beyond 2-d, got {s}")
    if len(s) == 2:
        step, end = s[1] + 1, (s[0] * s[1] if wrap else s[1] * s[1])
    else:
        step, end = 1 + int(np.cumprod(s[:-1]).sum()), int(np.prod(s))
    points = np.arange(0, builtins.min(end, int(np.prod(s))), step)
    values = ravel(convert(asarray_traced(val), get_aval(a).dtype))
    if _shape(values)[0] == 0:
        return a
    values = ix.gather(values, (np.arange(len(points)) % _shape(values)[0])[:, None], (0,))
    return reshape(ix.scatter(ravel(a), points[:, None], values, (0,)), s)
