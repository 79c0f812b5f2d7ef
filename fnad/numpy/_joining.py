"""fnad.numpy's joining, splitting, tiling and padding: concatenate (concat), stack, block, append,
insert, delete, hstack/vstack/dstack, split (hsplit/vsplit/dsplit), unstack, tile, repeat, resize, flip, rot90,
roll, pad, atleast_3d."""

from __future__ import annotations

import builtins
import itertools

import numpy as np

from ..core import Tracer, get_aval
from ..primitives import cumulative as cum
from ..primitives import elementwise as ew
from ..primitives import indexing as ix
from ..primitives import reductions as red
from ..primitives import shape as sh
from ._core import asarray_traced, convert, normalize_axis, numpy_when_eager, promoted, stack_traced
from ._core import concrete as _concrete
from ._core import shape_of as _shape
from ._core import traced_array as _traced_array
from ._elementwise import equal, mod
from ._indexing import take
from ._shapes import atleast_1d, atleast_2d, broadcast_to, ravel, reshape


@numpy_when_eager(lambda arrays, axis=0, dtype=None: np.concatenate(arrays, axis=axis, dtype=dtype))
def concatenate(arrays, axis=0, dtype=None):
    """Join arrays along an existing axis (`axis=None` flattens them first), promoting dtypes as
    NumPy. Derivatives split back to each input.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.concatenate([np.ones(2), np.zeros(1)])
    Array([1., 1., 0.], dtype=float64)
    >>> fnad.grad(lambda v: fnp.sum(fnp.concatenate([v, 2.0 * v]) ** 2))(np.array([1.0, 2.0]))
    Array([10., 20.], dtype=float64)
    """
    arrays = promoted(arrays, dtype)
    if axis is None:
        arrays, axis = [ravel(a) for a in arrays], 0
    if get_aval(arrays[0]).ndim == 0:
        raise ValueError("concatenate: zero-dimensional arrays cannot be concatenated")
    return ix.concatenate(arrays, normalize_axis(axis, get_aval(arrays[0]).ndim))


@numpy_when_eager(lambda arrays, axis=0, dtype=None: np.stack(arrays, axis=axis, dtype=dtype))
def stack(arrays, axis=0, dtype=None):
    """Join arrays of equal shape along a new axis.

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.stack([np.ones(2), np.zeros(2)], axis=1)
    Array([[1., 0.],
           [1., 0.]], dtype=float64)
    """
    return stack_traced(arrays, axis, dtype)


def atleast_3d(*arys):
    """Each argument with at least three axes (shape (n,) becomes (1, n, 1), (m, n) becomes (m, n, 1)).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.atleast_3d(np.ones(2)).shape, fnp.atleast_3d(np.ones((2, 3))).shape
    ((1, 2, 1), (2, 3, 1))
    """
    res = []
    for a in arys:
        a = asarray_traced(a)
        n = get_aval(a).ndim
        res.append(a if n >= 3 else reshape(a, {0: (1, 1, 1), 1: (1, -1, 1), 2: _shape(a) + (1,)}[n]))
    return res[0] if len(res) == 1 else res


def _as_list(arrays):
    return [arrays] if isinstance(arrays, Tracer) else list(arrays)


@numpy_when_eager(np.hstack)
def hstack(tup, dtype=None):
    """Join arrays along their second axis (the first for 1-d arrays).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.hstack([np.array([1.0, 2.0]), np.array([3.0])])
    Array([1., 2., 3.], dtype=float64)
    >>> fnp.hstack([np.ones((2, 1)), np.zeros((2, 2))]).shape
    (2, 3)
    """
    arrays = [atleast_1d(a) for a in _as_list(tup)]
    return concatenate(arrays, 0 if get_aval(asarray_traced(arrays[0])).ndim == 1 else 1, dtype)


@numpy_when_eager(np.vstack)
def vstack(tup, dtype=None):
    """Join arrays as rows (1-d arrays become rows).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.vstack([np.array([1.0, 2.0]), np.array([3.0, 4.0])])
    Array([[1., 2.],
           [3., 4.]], dtype=float64)
    """
    return concatenate([atleast_2d(a) for a in _as_list(tup)], 0, dtype)


@numpy_when_eager(np.dstack)
def dstack(tup):
    """Join arrays along their third axis (after atleast_3d).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.dstack([np.ones((2, 2)), np.zeros((2, 2))]).shape
    (2, 2, 2)
    """
    return concatenate([atleast_3d(a) for a in _as_list(tup)], 2)


@numpy_when_eager(np.column_stack)
def column_stack(tup):
    """Join 1-d arrays as columns (2-d arrays are joined along their second axis).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.column_stack([np.array([1.0, 2.0]), np.array([3.0, 4.0])])
    Array([[1., 3.],
           [2., 4.]], dtype=float64)
    """
    arrays = [asarray_traced(a) for a in _as_list(tup)]
    return concatenate([reshape(a, (-1, 1)) if get_aval(a).ndim < 2 else a for a in arrays], 1)


def _split(ary, indices_or_sections, axis, even):
    ary = asarray_traced(ary)
    axis = normalize_axis(axis, get_aval(ary).ndim)
    n = _shape(ary)[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError("number sections must be larger than 0.")
        if even and n % sections:
            raise ValueError(
                f"array split does not result in an equal division: axis {axis} of size {n} into {sections} sections"
            )
        size, extra = divmod(n, sections)
        bounds = np.concatenate([[0], np.cumsum([size + 1] * extra + [size] * (sections - extra))])
    else:
        bounds = (
            [0]
            + [builtins.min(builtins.max(int(i) + (n if int(i) < 0 else 0), 0), n) for i in indices_or_sections]
            + [n]
        )
    return [
        ix.slice_in_dim(ary, int(lo), builtins.max(int(lo), int(hi)), axis=axis)
        for lo, hi in itertools.pairwise(bounds)
    ]


@numpy_when_eager(np.split)
def split(ary, indices_or_sections, axis=0):
    """A list of sub-arrays of `ary` along `axis`: `indices_or_sections` equal sections (an int dividing the
    size) or the split points. Static sizes: the points must be Python ints.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.split(np.arange(6.0), 3)
    [Array([0., 1.], dtype=float64), Array([2., 3.], dtype=float64), Array([4., 5.], dtype=float64)]
    >>> fnp.split(np.arange(5.0), [1, 3])
    [Array([0.], dtype=float64), Array([1., 2.], dtype=float64), Array([3., 4.], dtype=float64)]
    """
    return _split(ary, indices_or_sections, axis, even=True)


@numpy_when_eager(np.array_split)
def array_split(ary, indices_or_sections, axis=0):
    """Like split, but an int number of sections need not divide the axis (the first sections are one longer).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.array_split(np.arange(5.0), 2)
    [Array([0., 1., 2.], dtype=float64), Array([3., 4.], dtype=float64)]
    """
    return _split(ary, indices_or_sections, axis, even=False)


@numpy_when_eager(np.tile)
def tile(A, reps):
    """`A` repeated `reps` times along each axis, as numpy.tile.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.tile(np.array([1, 2]), 2)
    Array([1, 2, 1, 2], dtype=int64)
    >>> fnp.tile(np.array([1, 2]), (2, 1))
    Array([[1, 2],
           [1, 2]], dtype=int64)
    """
    A = asarray_traced(A)
    reps = (int(reps),) if isinstance(reps, (int, np.integer)) else tuple(int(r) for r in reps)
    nd = builtins.max(get_aval(A).ndim, len(reps))
    shape = (1,) * (nd - get_aval(A).ndim) + _shape(A)
    reps = (1,) * (nd - len(reps)) + reps
    interleaved = tuple(v for r, s in zip(reps, shape) for v in (r, s))
    out = sh.broadcast_in_dim(sh.reshape(A, shape), interleaved, tuple(range(1, 2 * nd, 2)))
    return sh.reshape(out, tuple(r * s for r, s in zip(reps, shape)))


@numpy_when_eager(np.repeat)
def repeat(a, repeats, axis=None):
    """Each element of `a` repeated `repeats` times (an int or one count per element) along `axis` (of the
    flattened array when None). The counts must be concrete.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.repeat(np.array([1.0, 2.0]), 2)
    Array([1., 1., 2., 2.], dtype=float64)
    >>> fnp.repeat(np.array([[1, 2], [3, 4]]), np.array([1, 2]), axis=0)
    Array([[1, 2],
           [3, 4],
           [3, 4]], dtype=int64)
    """
    a = asarray_traced(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = normalize_axis(axis, get_aval(a).ndim)
    counts = _concrete(repeats, "repeat with traced repeats")
    n = _shape(a)[axis]
    if counts.ndim == 0:
        r = int(counts)
        shape = _shape(a)
        expanded = sh.broadcast_in_dim(
            a, shape[: axis + 1] + (r,) + shape[axis + 1 :], tuple(d + (d > axis) for d in range(len(shape)))
        )
        return sh.reshape(expanded, shape[:axis] + (n * r,) + shape[axis + 1 :])
    return take(a, np.repeat(np.arange(n), counts), axis=axis)


@numpy_when_eager(np.flip)
def flip(m, axis=None):
    """`m` with the order of elements reversed along `axis` (all axes when None).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.flip(np.array([[1, 2], [3, 4]]))
    Array([[4, 3],
           [2, 1]], dtype=int64)
    >>> fnp.flip(np.array([[1, 2], [3, 4]]), axis=1)
    Array([[2, 1],
           [4, 3]], dtype=int64)
    """
    m = asarray_traced(m)
    nd = get_aval(m).ndim
    axes = range(nd) if axis is None else (axis if isinstance(axis, (tuple, list)) else (axis,))
    return ix.rev(m, tuple(normalize_axis(int(d), nd) for d in axes))


def fliplr(m):
    """`m` with its columns (axis 1) reversed.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.fliplr(np.array([[1, 2], [3, 4]]))
    Array([[2, 1],
           [4, 3]], dtype=int64)
    """
    return flip(m, 1)


def flipud(m):
    """`m` with its rows (axis 0) reversed.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.flipud(np.array([[1, 2], [3, 4]]))
    Array([[3, 4],
           [1, 2]], dtype=int64)
    """
    return flip(m, 0)


@numpy_when_eager(np.roll)
def roll(a, shift, axis=None):
    """np.roll; the shift may be traced (a window of the doubled array at a dynamic start).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.roll(np.arange(5), 2)
    Array([3, 4, 0, 1, 2], dtype=int64)
    >>> fnad.jit(lambda x, s: fnp.roll(x, s))(np.arange(5.0), 1)
    Array([4., 0., 1., 2., 3.], dtype=float64)
    """
    a = asarray_traced(a)
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), _shape(a))
    shifts = shift if isinstance(shift, (tuple, list)) else (shift,)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    if len(shifts) == 1:
        shifts = shifts * len(axes)
    if len(axes) == 1:
        axes = axes * len(shifts)
    if len(shifts) != len(axes):
        raise ValueError(f"roll: shift {shift} and axis {axis} must broadcast together")
    for s, ax in zip(shifts, axes):
        ax = normalize_axis(ax, get_aval(a).ndim)
        n = _shape(a)[ax]
        if n == 0:
            continue
        start = mod(ew.neg(_traced_array(s)) if isinstance(s, Tracer) else -s, n)
        starts = [0] * get_aval(a).ndim
        starts[ax] = start
        a = ix.dynamic_slice(ix.concatenate([a, a], ax), starts, _shape(a))
    return a


def _pad_eager(array, pad_width, mode="constant", constant_values=0, **kwargs):
    if mode == "constant":  # numpy.pad refuses constant_values with the other modes
        kwargs["constant_values"] = constant_values
    return np.pad(array, pad_width, mode=mode, **kwargs)


@numpy_when_eager(_pad_eager)
def pad(array, pad_width, mode="constant", constant_values=0, **kwargs):
    """np.pad with modes constant (the value may be traced), edge, reflect, symmetric and wrap.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.pad(np.array([1.0, 2.0]), (1, 2))
    Array([0., 1., 2., 0., 0.], dtype=float64)
    >>> fnp.pad(np.array([1, 2, 3]), 2, mode='reflect')
    Array([3, 2, 1, 2, 3, 2, 1], dtype=int64)
    >>> fnad.grad(lambda c: fnp.sum(fnp.pad(np.ones(2), 1, constant_values=c)))(5.0)
    Array(2., dtype=float64)
    """
    array = asarray_traced(array)
    nd = get_aval(array).ndim
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (nd, 2))
    if (widths < 0).any():
        raise ValueError(f"pad: index can't contain negative values (pad_width={pad_width})")
    if mode == "constant":
        dtype = get_aval(array).dtype
        values = constant_values
        if isinstance(values, Tracer) or np.ndim(values) == 0:
            config = [(int(lo), int(hi), 0) for lo, hi in widths]
            return ix.pad(array, convert(_traced_array(values), dtype), config)
        values = np.broadcast_to(np.asarray(values, dtype), (nd, 2))
        for d in range(nd):
            for side in (0, 1):
                config = [(0, 0, 0)] * nd
                config[d] = (int(widths[d, 0]), 0, 0) if side == 0 else (0, int(widths[d, 1]), 0)
                array = ix.pad(array, values[d, side], config)
        return array
    if mode not in ("edge", "reflect", "symmetric", "wrap") or kwargs:
        raise NotImplementedError(
            f"pad: mode={mode!r} {kwargs or ''} is not supported on traced values "
            "(supported: constant, edge, reflect, symmetric, wrap)"
        )
    for d in range(nd):
        if widths[d].any():
            source = np.pad(np.arange(_shape(array)[d]), tuple(widths[d]), mode=mode)
            array = take(array, source, axis=d)
    return array


def concat(arrays, /, *, axis=0):
    """The Array API name of concatenate.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.concat([np.ones(1), np.zeros(2)])
    Array([1., 0., 0.], dtype=float64)
    """
    return concatenate(arrays, axis=axis)


def append(arr, values, axis=None):
    """`values` appended to `arr` along `axis` (both flattened when None), as numpy.append.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.append(np.array([[1, 2], [3, 4]]), np.array([5, 6]))
    Array([1, 2, 3, 4, 5, 6], dtype=int64)
    >>> fnp.append(np.array([[1, 2]]), np.array([[5, 6]]), axis=0)
    Array([[1, 2],
           [5, 6]], dtype=int64)
    """
    if axis is None:
        return concatenate([ravel(asarray_traced(arr)), ravel(asarray_traced(values))])
    return concatenate([arr, values], axis=axis)


def _static_indices(obj, what):
    """The concrete integer (or boolean) index array `obj` of insert/delete."""
    if isinstance(obj, Tracer):
        return _concrete(obj, what, "Pass the indices as a static (NumPy or Python) value.")
    return np.asarray(obj)


def insert(arr, obj, values, axis=None):
    """`values` inserted into `arr` before the index or indices `obj` along `axis` (of the flattened array
    when None), as numpy.insert. The indices must be static; the values may be traced.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.insert(np.array([1, 2, 3]), 1, 9)
    Array([1, 9, 2, 3], dtype=int64)
    >>> fnp.insert(np.array([[1, 2], [3, 4]]), np.array([0, 2]), np.array([7, 8]), axis=1)
    Array([[7, 1, 2, 8],
           [7, 3, 4, 8]], dtype=int64)
    """
    arr = asarray_traced(arr)
    if axis is None:
        arr, axis = ravel(arr), 0
    nd = get_aval(arr).ndim
    axis = normalize_axis(axis, nd)
    n = _shape(arr)[axis]
    dtype = get_aval(arr).dtype
    if isinstance(obj, slice):
        indices = np.arange(*obj.indices(n))
    else:
        indices = _static_indices(obj, "insert with traced indices")
    if indices.dtype == np.bool_:
        raise TypeError("insert: boolean indices are not supported (as NumPy 2)")
    if indices.ndim > 1:
        raise ValueError("insert: index array argument obj must be a scalar or 1-d")
    values = convert(asarray_traced(values), dtype) if get_aval(asarray_traced(values)).dtype != dtype else values
    values = asarray_traced(values)
    if (indices < -n).any() or (indices > n).any():
        raise IndexError(f"insert: index {obj} is out of bounds for axis {axis} with size {n}")
    indices = np.where(indices < 0, indices + n, indices)
    if indices.ndim == 0:  # one block of values, its first axis along `axis` (as NumPy)
        block = reshape(values, (1,) * builtins.max(nd - get_aval(values).ndim, 0) + _shape(values))
        block = sh.transpose(block, _axis_first_to(axis, get_aval(block).ndim)) if get_aval(block).ndim > 1 else block
        k = _shape(block)[axis] if get_aval(block).ndim == nd else 1
        block = _broadcast_slot(block, _shape(arr), axis, k)
        i = int(indices)
        return ix.concatenate(
            [ix.slice_in_dim(arr, 0, i, axis=axis), block, ix.slice_in_dim(arr, i, n, axis=axis)], axis
        )
    k = len(indices)
    block = _broadcast_slot(values, _shape(arr), axis, k)
    order = np.argsort(indices, kind="stable")
    new_positions = np.empty(k, np.int64)
    new_positions[order] = indices[order] + np.arange(k)
    source = np.empty(n + k, np.int64)
    is_new = np.zeros(n + k, bool)
    is_new[new_positions] = True
    source[new_positions] = n + np.arange(k)
    source[~is_new] = np.arange(n)
    return take(ix.concatenate([arr, block], axis), source, axis=axis)


def _axis_first_to(axis, ndim):
    """The permutation moving axis 0 to `axis` (numpy.moveaxis(x, 0, axis))."""
    perm = list(range(1, ndim))
    perm.insert(axis, 0)
    return tuple(perm)


def _broadcast_slot(values, shape, axis, k):
    return broadcast_to(values, shape[:axis] + (k,) + shape[axis + 1 :])


def delete(arr, obj, axis=None, *, assume_unique_indices=False):
    """`arr` without the entries at the index, indices, slice or boolean mask `obj` along `axis` (of the
    flattened array when None), as numpy.delete. Static indices; traced ones need
    assume_unique_indices=True (as in JAX), so the output length is known.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.delete(np.array([1, 2, 3, 4]), np.array([0, 2]))
    Array([2, 4], dtype=int64)
    >>> fnad.jit(lambda a, i: fnp.delete(a, i, assume_unique_indices=True))(np.arange(5), np.array([4, 1]))
    Array([0, 2, 3], dtype=int64)
    """
    arr = asarray_traced(arr)
    if axis is None:
        arr, axis = ravel(arr), 0
    axis = normalize_axis(axis, get_aval(arr).ndim)
    n = _shape(arr)[axis]
    if isinstance(obj, Tracer) and obj.concrete_value() is None:
        if not assume_unique_indices:
            raise ValueError(
                "delete: traced indices need assume_unique_indices=True (the output length must be static)"
            )
        obj = ravel(obj)
        k = _shape(obj)[0]
        positions = sh.iota(np.int64, (n,), 0)
        hit = equal(sh.expand_dims(positions, (1,)), sh.expand_dims(mod(obj, n), (0,)))
        keep = ew.bitwise_not(red.reduce_or(hit, (1,)))
        # each kept position's place in the output (n - k for the deleted ones: dropped by the scatter)
        rank = ew.select(keep, ew.sub(cum.cumsum(ew.convert_element_type(keep, np.int64)), np.int64(1)), n - k)
        source = ix.scatter(sh.full((n - k,), 0, np.int64), sh.expand_dims(rank, (1,)), positions, (0,))
        return take(arr, source, axis=axis)
    if isinstance(obj, slice):
        keep = np.ones(n, bool)
        keep[obj] = False
    else:
        indices = _static_indices(obj, "delete")
        if indices.dtype == np.bool_:
            if indices.shape != (n,):
                raise ValueError(f"delete: boolean mask of shape {indices.shape} must match axis {axis} (length {n})")
            keep = ~indices
        else:
            if ((indices < -n) | (indices >= n)).any():
                raise IndexError(f"delete: index {obj} is out of bounds for axis {axis} with size {n}")
            keep = np.ones(n, bool)
            keep[indices] = False
    return take(arr, np.flatnonzero(keep), axis=axis)


def rot90(m, k=1, axes=(0, 1)):
    """`m` rotated by 90 degrees k times in the plane of `axes` (from the first axis toward the second), as
    numpy.rot90.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.rot90(np.array([[1, 2], [3, 4]]))
    Array([[2, 4],
           [1, 3]], dtype=int64)
    """
    m = asarray_traced(m)
    nd = get_aval(m).ndim
    if len(axes) != 2:
        raise ValueError("rot90: len(axes) must be 2")
    a0, a1 = (normalize_axis(a, nd) for a in axes)
    if a0 == a1:
        raise ValueError("rot90: axes must be different")
    k = int(k) % 4
    perm = list(range(nd))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, a0), a1)
    if k == 1:
        return sh.transpose(flip(m, a1), tuple(perm))
    return flip(sh.transpose(m, tuple(perm)), a1)


def block(arrays):
    """An array assembled from nested lists of blocks: the innermost lists join along the last axis, the
    next ones along the one before, and so on, as numpy.block.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.block([[np.eye(2), np.zeros((2, 1))], [np.ones((1, 2)), np.array([[5.0]])]])
    Array([[1., 0., 0.],
           [0., 1., 0.],
           [1., 1., 5.]], dtype=float64)
    """

    def depth_of(x):
        if isinstance(x, tuple):
            raise TypeError("block: arrays is a tuple; only lists can be used to arrange blocks")
        if isinstance(x, list):
            if not x:
                raise ValueError("block: lists cannot be empty")
            depths = {depth_of(e) for e in x}
            if len(depths) != 1:
                raise ValueError("block: list depths are mismatched")
            return depths.pop() + 1
        return 0

    def leaves(x):
        return [leaf for e in x for leaf in leaves(e)] if isinstance(x, list) else [asarray_traced(x)]

    list_depth = depth_of(arrays)
    ndim = builtins.max([list_depth] + [get_aval(a).ndim for a in leaves(arrays)])

    def assemble(x, depth):
        if not isinstance(x, list):
            x = asarray_traced(x)
            return reshape(x, (1,) * (ndim - get_aval(x).ndim) + _shape(x))
        return concatenate([assemble(e, depth + 1) for e in x], axis=-(list_depth - depth))

    return assemble(arrays, 0)


def unstack(x, /, *, axis=0):
    """The slices of x along `axis`, as a tuple (the Array API unstack).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.unstack(np.array([[1, 2], [3, 4]]), axis=1)
    (Array([1, 3], dtype=int64), Array([2, 4], dtype=int64))
    """
    x = asarray_traced(x)
    if get_aval(x).ndim == 0:
        raise ValueError("unstack: x must have at least one dimension")
    axis = normalize_axis(axis, get_aval(x).ndim)
    return tuple(sh.squeeze(ix.slice_in_dim(x, i, i + 1, axis=axis), (axis,)) for i in range(_shape(x)[axis]))


def hsplit(ary, indices_or_sections):
    """split along the second axis (the first for 1-d arrays), as numpy.hsplit.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.hsplit(np.arange(4.0), 2)
    [Array([0., 1.], dtype=float64), Array([2., 3.], dtype=float64)]
    """
    return split(ary, indices_or_sections, axis=1 if get_aval(asarray_traced(ary)).ndim > 1 else 0)


def vsplit(ary, indices_or_sections):
    """split along the first axis of an array of at least 2 dimensions, as numpy.vsplit.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> [p.shape for p in fnp.vsplit(np.ones((4, 2)), 2)]
    [(2, 2), (2, 2)]
    """
    if get_aval(asarray_traced(ary)).ndim < 2:
        raise ValueError("vsplit only works on arrays of 2 or more dimensions")
    return split(ary, indices_or_sections, axis=0)


def dsplit(ary, indices_or_sections):
    """split along the third axis of an array of at least 3 dimensions, as numpy.dsplit.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> [p.shape for p in fnp.dsplit(np.ones((1, 2, 4)), [1])]
    [(1, 2, 1), (1, 2, 3)]
    """
    if get_aval(asarray_traced(ary)).ndim < 3:
        raise ValueError("dsplit only works on arrays of 3 or more dimensions")
    return split(ary, indices_or_sections, axis=2)


def resize(a, new_shape):
    """An array of `new_shape` filled with the elements of `a` (flattened), repeated as often as needed, as
    numpy.resize.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.resize(np.array([1, 2, 3]), (2, 4))
    Array([[1, 2, 3, 1],
           [2, 3, 1, 2]], dtype=int64)
    """
    new_shape = (int(new_shape),) if np.ndim(new_shape) == 0 else tuple(int(s) for s in new_shape)
    if any(s < 0 for s in new_shape):
        raise ValueError("resize: all elements of `new_shape` must be non-negative")
    flat = ravel(asarray_traced(a))
    size, n = int(np.prod(new_shape, dtype=np.int64)), _shape(flat)[0]
    if n == 0:  # as NumPy: zeros
        return sh.full(new_shape, 0, get_aval(flat).dtype)
    return reshape(take(flat, np.arange(size) % n), new_shape)
