"""fnad.numpy's joining, splitting, tiling and padding: concatenate, stack, hstack/vstack/dstack,
split, tile, repeat, flip, roll, pad, atleast_3d."""

from __future__ import annotations

import builtins
import itertools

import numpy as np

from ..core import Tracer, get_aval
from ..primitives import elementwise as ew
from ..primitives import indexing as ix
from ..primitives import shape as sh
from ._core import asarray_traced, convert, normalize_axis, numpy_when_eager, promoted, stack_traced
from ._core import concrete as _concrete
from ._core import shape_of as _shape
from ._core import traced_array as _traced_array
from ._elementwise import mod
from ._indexing import take
from ._shapes import atleast_1d, atleast_2d, ravel, reshape


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
    >>> fnp.repeat(np.array([[1, 2], [3, 4]]), [1, 2], axis=0)
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
