"""fnad.numpy's shape functions: shape/ndim/size, reshape, transpose (permute_dims, matrix_transpose)
and axis moves (swapaxes, moveaxis, rollaxis), expand_dims, squeeze, broadcasting (broadcast_to,
broadcast_arrays, broadcast_shapes), result_type, atleast_1d/2d."""

from __future__ import annotations

import numpy as np

from ..core import get_aval
from ..primitives import shape as sh
from ._core import asarray_traced as _asarray_traced
from ._core import normalize_axes as _normalize_axes
from ._core import normalize_axis as _normalize_axis
from ._core import numpy_when_eager
from ._core import result_type as _result_type


def shape(a):
    """The shape of `a` (static: works on traced values too).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.shape([[1, 2, 3]])
    (1, 3)
    >>> fnad.vmap(lambda x: fnp.shape(x)[0] * x)(np.ones((2, 3)))
    Array([[3., 3., 3.],
           [3., 3., 3.]], dtype=float64)
    """
    return get_aval(_asarray_traced(a) if isinstance(a, (list, tuple)) else a).shape


def ndim(a):
    """The number of axes of `a`.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.ndim(np.ones((2, 3)))
    2
    """
    return len(shape(a))


def size(a, axis=None):
    """The number of elements of `a` (along `axis` if given).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.size(np.ones((2, 3))), fnp.size(np.ones((2, 3)), 1)
    (6, 3)
    """
    s = shape(a)
    return int(np.prod(s, dtype=np.int64)) if axis is None else s[axis]


def _reshape_target(newshape, order, shape):
    if order == "A":
        raise NotImplementedError("reshape: order='A' is not supported (as in JAX); use 'C' or 'F'")
    if order not in ("C", "F"):
        raise ValueError(f"reshape: order must be 'C' or 'F', got {order!r}")
    return shape if newshape is None else newshape


@numpy_when_eager(
    lambda a, newshape=None, order="C", shape=None: np.reshape(a, _reshape_target(newshape, order, shape), order=order)
)
def reshape(a, newshape=None, order="C", shape=None):
    """`a` with a new shape of the same size (one entry may be -1), its elements read and placed in C
    order (the last index fastest) or with `order="F"` in Fortran order (the first fastest). Under
    jit the new shape must be static (Python ints), not computed from traced values.

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.reshape(np.arange(6.0), (2, -1))
    Array([[0., 1., 2.],
           [3., 4., 5.]], dtype=float64)
    >>> fnp.reshape(np.arange(6.0), (2, 3), order="F")
    Array([[0., 2., 4.],
           [1., 3., 5.]], dtype=float64)
    """
    newshape = _reshape_target(newshape, order, shape)
    a = _asarray_traced(a)
    if order == "F":  # Fortran order is C order of the axes reversed
        return transpose(reshape(transpose(a), tuple(np.atleast_1d(newshape))[::-1]))
    newshape = (newshape,) if isinstance(newshape, (int, np.integer)) else tuple(newshape)
    size_ = get_aval(a).size
    if -1 in newshape:
        known = int(np.prod([d for d in newshape if d != -1], dtype=np.int64))
        if newshape.count(-1) > 1 or known == 0 or size_ % known:
            raise ValueError(f"cannot reshape array of shape {get_aval(a).shape} into shape {newshape}")
        newshape = tuple(size_ // known if d == -1 else d for d in newshape)
    return sh.reshape(a, newshape)


def ravel(a, order="C"):
    """`a` flattened to 1-d in C order (or `order="F"`, Fortran order).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.ravel(np.array([[1, 2], [3, 4]]))
    Array([1, 2, 3, 4], dtype=int64)
    """
    return reshape(a, (-1,), order)


@numpy_when_eager(np.transpose)
def transpose(a, axes=None):
    """`a` with its axes permuted by `axes` (reversed by default), as numpy.transpose.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.transpose(np.ones((2, 3, 4)), (1, 2, 0)).shape
    (3, 4, 2)
    >>> fnad.vmap(fnp.transpose)(np.ones((5, 2, 3))).shape
    (5, 3, 2)
    >>> fnp.transpose(np.array([[1, 2], [3, 4]]))
    Array([[1, 3],
           [2, 4]], dtype=int64)
    """
    a = _asarray_traced(a)
    nd = get_aval(a).ndim
    perm = tuple(reversed(range(nd))) if axes is None else tuple(_normalize_axis(int(x), nd) for x in axes)
    return sh.transpose(a, perm)


@numpy_when_eager(np.swapaxes)
def swapaxes(a, axis1, axis2):
    """`a` with axes `axis1` and `axis2` interchanged.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.swapaxes(np.ones((2, 3, 4)), 0, -1).shape
    (4, 3, 2)
    """
    nd = ndim(a)
    perm = list(range(nd))
    i, j = _normalize_axis(axis1, nd), _normalize_axis(axis2, nd)
    perm[i], perm[j] = perm[j], perm[i]
    return sh.transpose(_asarray_traced(a), tuple(perm))


@numpy_when_eager(np.moveaxis)
def moveaxis(a, source, destination):
    """`a` with axes `source` moved to positions `destination` (ints or sequences), the other axes keeping
    their order.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.moveaxis(np.ones((2, 3, 4)), 0, -1).shape
    (3, 4, 2)
    >>> fnp.moveaxis(np.ones((2, 3, 4)), (0, 1), (2, 0)).shape
    (3, 4, 2)
    """
    nd = ndim(a)
    src = [_normalize_axis(s, nd) for s in (source if isinstance(source, (tuple, list)) else (source,))]
    dst = [_normalize_axis(d, nd) for d in (destination if isinstance(destination, (tuple, list)) else (destination,))]
    order = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return sh.transpose(_asarray_traced(a), tuple(order))


@numpy_when_eager(np.expand_dims)
def expand_dims(a, axis):
    """`a` with new size-1 axes at positions `axis` (an int or a tuple) of the result.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.expand_dims(np.array([1.0, 2.0]), 0)
    Array([[1., 2.]], dtype=float64)
    >>> fnp.expand_dims(np.ones(3), (0, 2)).shape
    (1, 3, 1)
    """
    a = _asarray_traced(a)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out_nd = get_aval(a).ndim + len(axes)
    return sh.expand_dims(a, tuple(sorted(_normalize_axis(x, out_nd) for x in axes)))


@numpy_when_eager(np.squeeze)
def squeeze(a, axis=None):
    """`a` without its size-1 axes (or only those in `axis`, which must have size 1).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.squeeze(np.ones((1, 3, 1))).shape
    (3,)
    >>> fnp.squeeze(np.ones((1, 3, 1)), axis=0).shape
    (3, 1)
    """
    a = _asarray_traced(a)
    s = get_aval(a).shape
    axes = tuple(i for i, d in enumerate(s) if d == 1) if axis is None else _normalize_axes(axis, len(s))
    return sh.squeeze(a, axes)


@numpy_when_eager(lambda a, shape: np.broadcast_to(a, shape))
def broadcast_to(a, shape):
    """`a` broadcast to `shape` with NumPy's rules (trailing axes aligned); the gradient sums over the
    broadcast axes.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.broadcast_to(np.array([1.0, 2.0]), (2, 2))
    Array([[1., 2.],
           [1., 2.]], dtype=float64)
    >>> fnad.grad(lambda x: fnp.sum(fnp.broadcast_to(x, (3, 2))))(np.array([1.0, 2.0]))
    Array([3., 3.], dtype=float64)
    """
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return sh.broadcast_to_rank_shape(_asarray_traced(a), shape)


@numpy_when_eager(lambda *args: np.broadcast_arrays(*args))
def broadcast_arrays(*args):
    """Arrays broadcast against each other to one shape, as numpy.broadcast_arrays.

    >>> import numpy as np, fnad.numpy as fnp
    >>> [a.shape for a in fnp.broadcast_arrays(np.ones((2, 1)), np.ones(3))]
    [(2, 3), (2, 3)]
    """
    target = np.broadcast_shapes(*[shape(a) for a in args])
    return [broadcast_to(a, target) for a in args]


def result_type(*args):
    """The dtype NumPy 2 promotion gives these arguments (Python scalars weak), as numpy.result_type.

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.result_type(np.float32(1), 2.0), fnp.result_type(np.int32(1), 2.5)
    (dtype('float32'), dtype('float64'))
    """
    return _result_type(*args)[0]


def atleast_1d(*arys):
    """Each argument with at least one axis (scalars become shape (1,)); one argument gives one array, several
    a list.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.atleast_1d(3.0)
    Array([3.], dtype=float64)
    >>> [x.shape for x in fnp.atleast_1d(1.0, np.ones((2, 2)))]
    [(1,), (2, 2)]
    """
    res = [a if ndim(a) >= 1 else reshape(a, (1,)) for a in arys]
    return res[0] if len(res) == 1 else res


def atleast_2d(*arys):
    """Each argument with at least two axes (a 1-d array becomes one row).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.atleast_2d(np.array([1.0, 2.0]))
    Array([[1., 2.]], dtype=float64)
    """
    res = []
    for a in arys:
        n = ndim(a)
        res.append(a if n >= 2 else reshape(a, (1, 1) if n == 0 else (1, shape(a)[0])))
    return res[0] if len(res) == 1 else res


def permute_dims(a, /, axes):
    """The Array API name of transpose (the axes are required).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.permute_dims(np.ones((2, 3, 4)), (2, 0, 1)).shape
    (4, 2, 3)
    """
    return transpose(a, axes)


def matrix_transpose(x, /):
    """The transpose of the matrices in the last two axes of x (of at least 2 dimensions).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.matrix_transpose(np.ones((5, 2, 3))).shape
    (5, 3, 2)
    """
    if ndim(x) < 2:
        raise ValueError(f"matrix_transpose: x must have at least 2 dimensions, got shape {shape(x)}")
    return swapaxes(x, -1, -2)


def rollaxis(a, axis, start=0):
    """`a` with `axis` moved to just before position `start`, as numpy.rollaxis (moveaxis is clearer).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.rollaxis(np.ones((3, 4, 5, 6)), 3, 1).shape
    (3, 6, 4, 5)
    """
    n = ndim(a)
    axis = _normalize_axis(axis, n)
    if not -n <= start <= n:
        raise ValueError(f"rollaxis: start {start} is out of bounds for an array of dimension {n}")
    start = start + n if start < 0 else start
    if axis < start:
        start -= 1
    return _asarray_traced(a) if axis == start else moveaxis(a, axis, start)


def broadcast_shapes(*shapes):
    """The shape that arrays of the given shapes broadcast to (static), as numpy.broadcast_shapes.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.broadcast_shapes((2, 1), (3,))
    (2, 3)
    """
    return np.broadcast_shapes(*shapes)
