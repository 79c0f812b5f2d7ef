"""fnad.numpy's diagonals and triangles: trace, diagonal, tril, triu, diag, diagflat."""

from __future__ import annotations

import builtins

import numpy as np

from ..core import get_aval
from ..primitives import elementwise as ew
from ..primitives import indexing as ix
from ..primitives import shape as sh
from ._core import asarray_traced, convert, numpy_when_eager
from ._core import shape_of as _shape
from ._elementwise import multiply
from ._reductions import sum
from ._shapes import broadcast_to, moveaxis, ravel, shape


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
    n, m = shape(a)[-2:]
    i = sh.iota(np.int64, (n, m), 0)
    j = sh.iota(np.int64, (n, m), 1)
    mask = convert(ew.eq(ew.add(i, np.array(offset, np.int64)), j), get_aval(a).dtype)
    masked = multiply(a, mask)
    # Sum the masked matrix along the axis that leaves one entry per diagonal position.
    if offset >= 0:
        d = builtins.max(0, builtins.min(n, m - offset))
        return sum(masked, axis=-2)[..., offset : offset + d]
    d = builtins.max(0, builtins.min(n + offset, m))
    return sum(masked, axis=-1)[..., -offset : -offset + d]


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
