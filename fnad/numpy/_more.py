"""fnad.numpy: indexing (`x[...]`, `x.at[...]`), joining and splitting, padding, sorting, cumulative
ops, einsum and friends. Eager calls (nothing traced) run NumPy itself; traced ones bind the
indexing, sorting and cumulative primitives.

Traced integer indices follow JAX: negative ones wrap as in NumPy, out-of-bounds reads clamp and
out-of-bounds `.at[...]` updates are dropped. Static indices out of bounds raise IndexError.
"""
from __future__ import annotations

import builtins
import string

import numpy as np

from ..core import ConcretizationError, Tracer, get_aval
from ..primitives import cumulative as cum, elementwise as ew, indexing as ix, shape as sh, sorting
from ..primitives.dot import dot_general
from ..primitives.reductions import reduce_sum
from ._core import _has_tracer, asarray_traced, broadcast_arrays, convert, is_traced, normalize_axis, result_type
from . import (not_equal, less, less_equal, moveaxis, ravel, reshape, subtract, where, multiply,
               diagonal, broadcast_to, atleast_1d, atleast_2d, mod, clip)

__all__ = ["_getitem", "_IndexUpdateHelper", "concatenate", "stack", "hstack", "vstack", "dstack",
           "column_stack", "atleast_3d", "split", "array_split", "tile", "repeat", "flip", "fliplr", "flipud",
           "roll", "pad", "take", "take_along_axis", "tril", "triu", "diag", "diagflat", "kron", "cross",
           "sort", "argsort", "cumsum", "cumprod", "diff", "meshgrid", "searchsorted", "einsum", "nonzero",
           "argwhere", "flatnonzero", "unique", "select"]


def _shape(x):
    return get_aval(x).shape


def _traced_array(a, dtype=None):
    a = asarray_traced(a)
    return a if dtype is None or get_aval(a).dtype == dtype else convert(a, np.dtype(dtype))


def _concrete(x, what):
    """The concrete value of x, or a clear error for outputs whose shape depends on values."""
    if not isinstance(x, Tracer):
        return np.asarray(x)
    value = x.concrete_value()
    if value is None:
        raise ConcretizationError(
            f"{what} has a data-dependent output shape, so it needs a concrete value, but got an abstract "
            f"traced array {x.aval.str_short()} (traced by {x._trace.main.name}{x.source_info()}). Use "
            "fnad.numpy.where(condition, x, y) to select values with a fixed shape instead.")
    return np.asarray(value)


# ----------------------------------------------------------------------------------------------
# Indexing: x[idx] and x.at[idx]


def _is_index_array(e):
    return not isinstance(e, (builtins.slice, int))


def _as_index_array(item):
    a = item if isinstance(item, Tracer) else asarray_traced(item)
    dtype = get_aval(a).dtype
    if dtype == np.bool_ or np.issubdtype(dtype, np.integer):
        return a
    if isinstance(a, np.ndarray) and a.size == 0:    # x[[]]: an empty integer index
        return a.astype(np.int64)
    raise IndexError(f"only integers, slices (':'), ellipsis ('...'), None and integer or boolean arrays are "
                     f"valid indices; got an array of dtype {dtype.name}")


def _mask_indices(mask):
    return _concrete(mask, "Boolean mask indexing x[mask]").nonzero()


def _expand_index(idx, shape):
    """`idx` as one entry per axis of x after inserting the axes of None (returned as a list of
    (entry, is_new_axis)); entries are static ints, slices or integer index arrays (boolean masks
    become their nonzero() arrays)."""
    items = list(idx) if isinstance(idx, tuple) else [idx]
    parsed, consumed = [], 0
    for item in items:
        if item is None:
            parsed.append(("new", builtins.slice(None)))
        elif item is Ellipsis:
            parsed.append(("ellipsis", None))
        elif isinstance(item, builtins.slice):
            for v in (item.start, item.stop, item.step):
                if v is not None and not isinstance(v, (int, np.integer)):
                    raise IndexError(f"slice bounds must be static ints or None, got {v!r}. For a window at a "
                                     "traced position use fnad.lax.dynamic_slice(x, starts, sizes).")
            parsed.append(("axis", item))
            consumed += 1
        elif isinstance(item, (bool, np.bool_)):
            parsed.append(("new", np.arange(int(item))))
        elif isinstance(item, (int, np.integer)):
            parsed.append(("axis", int(item)))
            consumed += 1
        else:
            a = _as_index_array(item)
            if get_aval(a).dtype == np.bool_:
                if get_aval(a).ndim == 0:
                    parsed.append(("new", np.arange(int(_concrete(a, "Boolean mask indexing x[mask]")))))
                    continue
                parsed.append(("mask", a))
                consumed += get_aval(a).ndim
            else:
                parsed.append(("axis", a))
                consumed += 1
    ellipses = builtins.sum(kind == "ellipsis" for kind, _ in parsed)
    if ellipses > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if consumed > len(shape):
        raise IndexError(f"too many indices for array: array of shape {shape} is {len(shape)}-dimensional, "
                         f"but {consumed} were indexed")
    rest = [("axis", builtins.slice(None))] * (len(shape) - consumed)
    if ellipses:
        at = next(i for i, (kind, _) in enumerate(parsed) if kind == "ellipsis")
        parsed[at:at + 1] = rest
    else:
        parsed += rest
    entries, axis = [], 0
    for kind, e in parsed:
        if kind == "new":
            entries.append((e, True))
        elif kind == "mask":
            covered = shape[axis:axis + get_aval(e).ndim]
            if get_aval(e).shape != covered:
                raise IndexError(f"boolean index of shape {get_aval(e).shape} does not match the indexed axes "
                                 f"{axis}..{axis + get_aval(e).ndim - 1} of shape {covered} (array shape {shape})")
            entries += [(a, False) for a in _mask_indices(e)]
            axis += len(covered)
        else:
            entries.append((e, False))
            axis += 1
    return entries


def _static_position(i, axis, n, shape):
    if not -n <= i < n:
        raise IndexError(f"index {i} is out of bounds for axis {axis} with size {n} (array shape {shape})")
    return i % n


def _wrapped(a, axis, n, shape):
    """Index array `a` for an axis of size n with negative entries wrapped (static ones checked)."""
    if isinstance(a, Tracer):
        return ew.select(ew.lt(a, ew.scalar_like(a, 0)), ew.add(a, ew.scalar_like(a, n)), a)
    a = np.asarray(a)
    bad = (a < -n) | (a >= n)
    if bad.any():
        raise IndexError(f"index {a[bad].flat[0]} is out of bounds for axis {axis} with size {n} "
                         f"(array shape {shape})")
    return np.where(a < 0, a + n, a)


def _stack_indices(arrays):
    """Index arrays broadcast together and stacked along a new last axis (shape batch + (k,))."""
    shapes = [_shape(a) for a in arrays]
    try:
        batch = np.broadcast_shapes(*shapes)
    except ValueError:
        raise IndexError("shape mismatch: indexing arrays could not be broadcast together with shapes "
                         + " ".join(map(str, shapes))) from None
    if not any(isinstance(a, Tracer) for a in arrays):
        return np.stack([np.broadcast_to(a, batch) for a in arrays], -1)
    dtypes = {get_aval(a).dtype for a in arrays}
    dtype = dtypes.pop() if len(dtypes) == 1 else np.dtype(np.int64)
    columns = [sh.reshape(sh.broadcast_to_rank_shape(convert(a, dtype), batch), batch + (1,)) for a in arrays]
    return ix.concatenate(columns, len(batch))


def _index(x, idx, fill=None):
    """x[idx] with NumPy's rules (basic and advanced indexing). Traced indices out of bounds are
    clamped, or give `fill` when it is not None."""
    x = asarray_traced(x)
    entries = _expand_index(idx, _shape(x))
    if any(new for _, new in entries):
        sizes = iter(_shape(x))
        x = sh.reshape(x, tuple(1 if new else next(sizes) for _, new in entries))
    shape = _shape(x)
    advanced = any(_is_index_array(e) for e, _ in entries)
    # Basic indexing: one rev, one slice and one reshape (dropping the axes of static ints).
    starts, limits, strides, flipped, kept = [], [], [], [], []
    for axis, ((e, _), n) in enumerate(zip(entries, shape)):
        if isinstance(e, builtins.slice):
            start, stop, step = e.indices(n)
            count = len(range(start, stop, step))
            if step < 0:
                flipped.append(axis)
                start, step = n - 1 - start, -step
            starts.append(start)
            limits.append(start + (count - 1) * step + 1 if count else start)
            strides.append(step)
            kept.append(axis)
        elif isinstance(e, int) and not advanced:
            i = _static_position(e, axis, n, shape)
            starts.append(i), limits.append(i + 1), strides.append(1)
        else:
            starts.append(0), limits.append(n), strides.append(1)
            kept.append(axis)
    y = ix.slice(ix.rev(x, flipped), starts, limits, strides)
    if not advanced:
        return sh.reshape(y, tuple(_shape(y)[a] for a in kept))
    # Advanced indexing: a point gather over the indexed axes; ints count as 0-d index arrays.
    y_shape = _shape(y)
    positions = [a for a, (e, _) in enumerate(entries) if not isinstance(e, builtins.slice)]
    arrays = [_wrapped(np.asarray(entries[a][0]) if isinstance(entries[a][0], int) else entries[a][0],
                       a, y_shape[a], shape) for a in positions]
    indices = _stack_indices(arrays)
    out = ix.gather(y, indices, positions)
    nb = len(_shape(indices)) - 1
    if fill is not None:
        inside = ix.indices_in_bounds(indices, y_shape, positions)
        out = ew.select(sh.broadcast_in_dim(inside, _shape(out), tuple(range(nb))), out,
                        sh.full(_shape(out), fill, get_aval(out).dtype))
    first = positions[0]
    if positions == list(range(first, first + len(positions))):   # adjacent: the batch axes stay in place
        rest = len(_shape(out)) - nb
        perm = [nb + i for i in range(first)] + list(range(nb)) + [nb + i for i in range(first, rest)]
        out = sh.transpose(out, perm)
    return out


def _getitem(x, idx):
    """x[idx] for traced x (installed as Tracer.__getitem__)."""
    return _index(x, idx)


class _IndexUpdateRef:
    """`x.at[idx]`: functional updates x.at[idx].set(v) / add / multiply (mul) / min / max, and get()."""
    __slots__ = ("x", "idx")

    def __init__(self, x, idx):
        self.x, self.idx = x, idx

    def get(self, mode=None, fill_value=None):
        if mode == "fill":
            dtype = get_aval(self.x).dtype
            default = np.nan if np.issubdtype(dtype, np.inexact) else np.iinfo(dtype).min
            return _index(self.x, self.idx, default if fill_value is None else fill_value)
        return _index(self.x, self.idx)

    def _update(self, scatter, values):
        x = asarray_traced(self.x)
        shape, dtype = _shape(x), get_aval(x).dtype
        # The flat positions the index selects (NumPy computes them when the index is static);
        # positions of out-of-bounds traced indices are -1, which the scatter drops.
        positions = np.arange(int(np.prod(shape, dtype=np.int64))).reshape(shape)
        if _has_tracer(self.idx if isinstance(self.idx, tuple) else (self.idx,)):
            positions = _index(positions, self.idx, fill=-1)
        else:
            positions = positions[self.idx]
        target = _shape(positions)
        values = _traced_array(values, dtype)
        try:
            values = broadcast_to(values, target)
        except ValueError:
            raise ValueError(f"x.at[...]: cannot broadcast the values of shape {_shape(values)} to the indexed "
                             f"shape {target} (array shape {shape})") from None
        size = int(np.prod(target, dtype=np.int64))
        flat = scatter(sh.reshape(x, (int(np.prod(shape, dtype=np.int64)),)), sh.reshape(positions, (size, 1)),
                       sh.reshape(values, (size,)), (0,))
        return sh.reshape(flat, shape)

    def set(self, values):
        return self._update(ix.scatter, values)

    def add(self, values):
        return self._update(ix.scatter_add, values)

    def multiply(self, values):
        return self._update(ix.scatter_mul, values)

    mul = multiply

    def min(self, values):
        return self._update(ix.scatter_min, values)

    def max(self, values):
        return self._update(ix.scatter_max, values)


class _IndexUpdateHelper:
    """The `.at` property of traced arrays (JAX's functional in-place updates): `x.at[idx].set(v)`
    is a new array equal to x with x[idx] replaced by v; also `.add`, `.multiply` (`.mul`), `.min`,
    `.max` and `.get(mode="fill", fill_value=...)`. `idx` is any index `x[idx]` accepts, and `v`
    broadcasts to the indexed shape. Unlike NumPy's `x[idx] += v`, repeated indices accumulate
    (`.add`). Out-of-bounds traced indices are dropped. `.at` exists on values inside a transform
    (jit, grad, vmap...), not on the NumPy arrays that eager calls return.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnad.jit(lambda x: x.at[1].set(10.0))(np.zeros(3))
    array([ 0., 10.,  0.])
    >>> fnad.jit(lambda x: x.at[np.array([0, 0, 2])].add(1.0))(np.zeros(3))   # index 0 twice
    array([2., 0., 1.])
    >>> fnad.grad(lambda x: fnp.sum(x.at[0].set(5.0) ** 2))(np.array([1.0, 2.0]))   # x[0] overwritten
    array([0., 4.])
    """
    __slots__ = ("x",)

    def __init__(self, x):
        self.x = x

    def __getitem__(self, idx):
        return _IndexUpdateRef(self.x, idx)


def take(a, indices, axis=None, mode=None):
    """Elements of `a` at `indices` along `axis` (of the flattened array when None), as numpy.take; mode
    'wrap' or 'clip' handles out-of-range indices. The gradient scatter-adds into the taken positions.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([10.0, 20.0, 30.0])
    >>> fnp.take(a, np.array([2, 0, 2]))
    array([30., 10., 30.])
    >>> fnp.take(a, np.array([3, -4]), mode='clip')
    array([30., 10.])
    >>> fnad.grad(lambda a: fnp.sum(fnp.take(a, np.array([2, 0, 2]))))(a)
    array([1., 0., 2.])
    """
    if not is_traced((a, indices)):
        return np.take(a, indices, axis=axis, mode="raise" if mode is None else mode)
    a = _traced_array(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = normalize_axis(axis, get_aval(a).ndim)
    n = _shape(a)[axis]
    if mode == "wrap":
        indices = mod(indices, n)
    elif mode == "clip":
        indices = clip(indices, 0, n - 1)
    return _index(a, (builtins.slice(None),) * axis + (_traced_array(indices),))


def take_along_axis(arr, indices, axis):
    """Values of `arr` at `indices` along `axis`, where indices has arr's number of axes (e.g. from argsort),
    as numpy.take_along_axis.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]])
    >>> fnp.take_along_axis(a, fnp.argsort(a, axis=1), axis=1)
    array([[1., 2., 3.],
           [0., 4., 5.]])
    >>> fnp.take_along_axis(a, np.array([[0], [1]]), axis=1)
    array([[3.],
           [5.]])
    """
    if not is_traced((arr, indices)):
        return np.take_along_axis(arr, indices, axis)
    arr, indices = _traced_array(arr), _traced_array(indices)
    if axis is None:
        arr, axis = ravel(arr), 0
    if get_aval(arr).ndim != get_aval(indices).ndim:
        raise ValueError(f"take_along_axis: indices of shape {_shape(indices)} must have the same number of "
                         f"dimensions as the array of shape {_shape(arr)}")
    axis = normalize_axis(axis, get_aval(arr).ndim)
    n = _shape(arr)[axis]
    with_one = lambda s: s[:axis] + (1,) + s[axis + 1:]
    common = np.broadcast_shapes(with_one(_shape(arr)), with_one(_shape(indices)))
    arr = broadcast_to(arr, common[:axis] + (n,) + common[axis + 1:])
    indices = broadcast_to(_wrapped(indices, axis, n, _shape(arr)),
                           common[:axis] + (_shape(indices)[axis],) + common[axis + 1:])
    return ix.take_along_axis(arr, indices, axis)


# ----------------------------------------------------------------------------------------------
# Joining, splitting, tiling


def _promoted(arrays, dtype=None):
    arrays = [asarray_traced(a) for a in arrays]
    if dtype is not None:
        dt, weak = np.dtype(dtype), False
    else:
        dt, weak = result_type(*arrays)
    return [a if get_aval(a).dtype == dt else convert(a, dt, weak) for a in arrays]


def concatenate(arrays, axis=0, dtype=None):
    """Join arrays along an existing axis (`axis=None` flattens them first), promoting dtypes as
    NumPy. Derivatives split back to each input.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.concatenate([np.ones(2), np.zeros(1)])
    array([1., 1., 0.])
    >>> fnad.grad(lambda v: fnp.sum(fnp.concatenate([v, 2.0 * v]) ** 2))(np.array([1.0, 2.0]))
    array([10., 20.])
    """
    if not is_traced(arrays):
        return np.concatenate(arrays, axis=axis, dtype=dtype)
    arrays = _promoted(arrays, dtype)
    if axis is None:
        arrays, axis = [ravel(a) for a in arrays], 0
    if get_aval(arrays[0]).ndim == 0:
        raise ValueError("concatenate: zero-dimensional arrays cannot be concatenated")
    return ix.concatenate(arrays, normalize_axis(axis, get_aval(arrays[0]).ndim))


def stack(arrays, axis=0, dtype=None):
    """Join arrays of equal shape along a new axis.

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.stack([np.ones(2), np.zeros(2)], axis=1)
    array([[1., 0.],
           [1., 0.]])
    """
    if not is_traced(arrays):
        return np.stack(arrays, axis=axis, dtype=dtype)
    arrays = _promoted(arrays, dtype)
    shapes = {_shape(a) for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"stack: all input arrays must have the same shape, got {sorted(shapes)}")
    nd = get_aval(arrays[0]).ndim + 1
    axis = normalize_axis(axis, nd)
    return ix.concatenate([sh.expand_dims(a, (axis,)) for a in arrays], axis)


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


def hstack(tup, dtype=None):
    """Join arrays along their second axis (the first for 1-d arrays).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.hstack([np.array([1.0, 2.0]), np.array([3.0])])
    array([1., 2., 3.])
    >>> fnp.hstack([np.ones((2, 1)), np.zeros((2, 2))]).shape
    (2, 3)
    """
    if not is_traced(tup):
        return np.hstack(tup, dtype=dtype)
    arrays = [atleast_1d(a) for a in _as_list(tup)]
    return concatenate(arrays, 0 if get_aval(asarray_traced(arrays[0])).ndim == 1 else 1, dtype)


def vstack(tup, dtype=None):
    """Join arrays as rows (1-d arrays become rows).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.vstack([np.array([1.0, 2.0]), np.array([3.0, 4.0])])
    array([[1., 2.],
           [3., 4.]])
    """
    if not is_traced(tup):
        return np.vstack(tup, dtype=dtype)
    return concatenate([atleast_2d(a) for a in _as_list(tup)], 0, dtype)


def dstack(tup):
    """Join arrays along their third axis (after atleast_3d).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.dstack([np.ones((2, 2)), np.zeros((2, 2))]).shape
    (2, 2, 2)
    """
    if not is_traced(tup):
        return np.dstack(tup)
    return concatenate([atleast_3d(a) for a in _as_list(tup)], 2)


def column_stack(tup):
    """Join 1-d arrays as columns (2-d arrays are joined along their second axis).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.column_stack([np.array([1.0, 2.0]), np.array([3.0, 4.0])])
    array([[1., 3.],
           [2., 4.]])
    """
    if not is_traced(tup):
        return np.column_stack(tup)
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
            raise ValueError(f"array split does not result in an equal division: axis {axis} of size {n} into "
                             f"{sections} sections")
        size, extra = divmod(n, sections)
        bounds = np.concatenate([[0], np.cumsum([size + 1] * extra + [size] * (sections - extra))])
    else:
        bounds = [0] + [builtins.min(builtins.max(int(i) + (n if int(i) < 0 else 0), 0), n)
                        for i in indices_or_sections] + [n]
    return [ix.slice_in_dim(ary, int(lo), builtins.max(int(lo), int(hi)), axis=axis)
            for lo, hi in zip(bounds[:-1], bounds[1:])]


def split(ary, indices_or_sections, axis=0):
    """A list of sub-arrays of `ary` along `axis`: `indices_or_sections` equal sections (an int dividing the
    size) or the split points. Static sizes: the points must be Python ints.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.split(np.arange(6.0), 3)
    [array([0., 1.]), array([2., 3.]), array([4., 5.])]
    >>> fnp.split(np.arange(5.0), [1, 3])
    [array([0.]), array([1., 2.]), array([3., 4.])]
    """
    if not is_traced((ary,)):
        return np.split(ary, indices_or_sections, axis)
    return _split(ary, indices_or_sections, axis, even=True)


def array_split(ary, indices_or_sections, axis=0):
    """Like split, but an int number of sections need not divide the axis (the first sections are one longer).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.array_split(np.arange(5.0), 2)
    [array([0., 1., 2.]), array([3., 4.])]
    """
    if not is_traced((ary,)):
        return np.array_split(ary, indices_or_sections, axis)
    return _split(ary, indices_or_sections, axis, even=False)


def tile(A, reps):
    """`A` repeated `reps` times along each axis, as numpy.tile.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.tile(np.array([1, 2]), 2)
    array([1, 2, 1, 2])
    >>> fnp.tile(np.array([1, 2]), (2, 1))
    array([[1, 2],
           [1, 2]])
    """
    if not is_traced((A,)):
        return np.tile(A, reps)
    A = asarray_traced(A)
    reps = (int(reps),) if isinstance(reps, (int, np.integer)) else tuple(int(r) for r in reps)
    nd = builtins.max(get_aval(A).ndim, len(reps))
    shape = (1,) * (nd - get_aval(A).ndim) + _shape(A)
    reps = (1,) * (nd - len(reps)) + reps
    interleaved = tuple(v for r, s in zip(reps, shape) for v in (r, s))
    out = sh.broadcast_in_dim(sh.reshape(A, shape), interleaved, tuple(range(1, 2 * nd, 2)))
    return sh.reshape(out, tuple(r * s for r, s in zip(reps, shape)))


def repeat(a, repeats, axis=None):
    """Each element of `a` repeated `repeats` times (an int or one count per element) along `axis` (of the
    flattened array when None). The counts must be concrete.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.repeat(np.array([1.0, 2.0]), 2)
    array([1., 1., 2., 2.])
    >>> fnp.repeat(np.array([[1, 2], [3, 4]]), [1, 2], axis=0)
    array([[1, 2],
           [3, 4],
           [3, 4]])
    """
    if not is_traced((a, repeats)):
        return np.repeat(a, repeats, axis)
    a = asarray_traced(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = normalize_axis(axis, get_aval(a).ndim)
    counts = _concrete(repeats, "repeat with traced repeats")
    n = _shape(a)[axis]
    if counts.ndim == 0:
        r = int(counts)
        shape = _shape(a)
        expanded = sh.broadcast_in_dim(a, shape[:axis + 1] + (r,) + shape[axis + 1:],
                                       tuple(d + (d > axis) for d in range(len(shape))))
        return sh.reshape(expanded, shape[:axis] + (n * r,) + shape[axis + 1:])
    return take(a, np.repeat(np.arange(n), counts), axis=axis)


def flip(m, axis=None):
    """`m` with the order of elements reversed along `axis` (all axes when None).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.flip(np.array([[1, 2], [3, 4]]))
    array([[4, 3],
           [2, 1]])
    >>> fnp.flip(np.array([[1, 2], [3, 4]]), axis=1)
    array([[2, 1],
           [4, 3]])
    """
    if not is_traced((m,)):
        return np.flip(m, axis)
    m = asarray_traced(m)
    nd = get_aval(m).ndim
    axes = range(nd) if axis is None else (axis if isinstance(axis, (tuple, list)) else (axis,))
    return ix.rev(m, tuple(normalize_axis(int(d), nd) for d in axes))


def fliplr(m):
    """`m` with its columns (axis 1) reversed.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.fliplr(np.array([[1, 2], [3, 4]]))
    array([[2, 1],
           [4, 3]])
    """
    return flip(m, 1)


def flipud(m):
    """`m` with its rows (axis 0) reversed.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.flipud(np.array([[1, 2], [3, 4]]))
    array([[3, 4],
           [1, 2]])
    """
    return flip(m, 0)


def roll(a, shift, axis=None):
    """np.roll; the shift may be traced (a window of the doubled array at a dynamic start).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.roll(np.arange(5), 2)
    array([3, 4, 0, 1, 2])
    >>> fnad.jit(lambda x, s: fnp.roll(x, s))(np.arange(5.0), 1)
    array([4., 0., 1., 2., 3.])
    """
    if not is_traced((a, shift)):
        return np.roll(a, shift, axis)
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


def pad(array, pad_width, mode="constant", constant_values=0, **kwargs):
    """np.pad with modes constant (the value may be traced), edge, reflect, symmetric and wrap.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.pad(np.array([1.0, 2.0]), (1, 2))
    array([0., 1., 2., 0., 0.])
    >>> fnp.pad(np.array([1, 2, 3]), 2, mode='reflect')
    array([3, 2, 1, 2, 3, 2, 1])
    >>> fnad.grad(lambda c: fnp.sum(fnp.pad(np.ones(2), 1, constant_values=c)))(5.0)
    array(2.)
    """
    if not is_traced((array, constant_values)):
        return np.pad(array, pad_width, mode=mode, constant_values=constant_values, **kwargs) \
            if mode == "constant" else np.pad(array, pad_width, mode=mode, **kwargs)
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
        raise NotImplementedError(f"pad: mode={mode!r} {kwargs or ''} is not supported on traced values "
                                  "(supported: constant, edge, reflect, symmetric, wrap)")
    for d in range(nd):
        if widths[d].any():
            source = np.pad(np.arange(_shape(array)[d]), tuple(widths[d]), mode=mode)
            array = take(array, source, axis=d)
    return array


# ----------------------------------------------------------------------------------------------
# Triangles, diagonals, products


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


def tril(m, k=0):
    """`m` with the elements above diagonal `k` set to zero (the lower triangle).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.tril(np.ones((3, 3)))
    array([[1., 0., 0.],
           [1., 1., 0.],
           [1., 1., 1.]])
    >>> fnp.tril(np.ones((2, 3)), k=1)
    array([[1., 1., 0.],
           [1., 1., 1.]])
    """
    return np.tril(m, k) if not is_traced((m,)) else _tri(m, k, lower=True)


def triu(m, k=0):
    """`m` with the elements below diagonal `k` set to zero (the upper triangle).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.triu(np.arange(1, 10).reshape(3, 3))
    array([[1, 2, 3],
           [0, 5, 6],
           [0, 0, 9]])
    """
    return np.triu(m, k) if not is_traced((m,)) else _tri(m, k, lower=False)


def diag(v, k=0):
    """For a 1-d `v`, the square matrix with v on diagonal `k`; for a 2-d `v`, its diagonal `k`.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.diag(np.array([1.0, 2.0]))
    array([[1., 0.],
           [0., 2.]])
    >>> fnp.diag(np.array([[1, 2], [3, 4]]), k=1)
    array([2])
    """
    if not is_traced((v,)):
        return np.diag(v, k)
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


def diagflat(v, k=0):
    """The square matrix with the flattened `v` on diagonal `k`.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.diagflat(np.array([[1, 2]]), k=-1)
    array([[0, 0, 0],
           [1, 0, 0],
           [0, 2, 0]])
    """
    if not is_traced((v,)):
        return np.diagflat(v, k)
    return diag(ravel(v), k)


def kron(a, b):
    """The Kronecker product: blocks a[i, j] * b.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.kron(np.eye(2), np.array([[1.0, 2.0]]))
    array([[1., 2., 0., 0.],
           [0., 0., 1., 2.]])
    """
    if not is_traced((a, b)):
        return np.kron(a, b)
    a, b = _promoted((a, b))
    nd = builtins.max(get_aval(a).ndim, get_aval(b).ndim)
    sa = (1,) * (nd - get_aval(a).ndim) + _shape(a)
    sb = (1,) * (nd - get_aval(b).ndim) + _shape(b)
    out = multiply(sh.reshape(a, tuple(v for s in sa for v in (s, 1))),
                   sh.reshape(b, tuple(v for s in sb for v in (1, s))))
    return sh.reshape(out, tuple(x * y for x, y in zip(sa, sb)))


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """The cross product of 3-vectors along the last axes (2-vectors give the z component).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.cross(np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
    array([0., 0., 1.])
    >>> fnad.jacfwd(lambda a: fnp.cross(a, np.array([0.0, 0.0, 1.0])))(np.ones(3))
    array([[ 0.,  1.,  0.],
           [-1.,  0.,  0.],
           [ 0.,  0.,  0.]])
    """
    if not is_traced((a, b)):
        return np.cross(a, b, axisa, axisb, axisc, axis)
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = _promoted((a, b))
    a, b = moveaxis(a, axisa, -1), moveaxis(b, axisb, -1)
    na, nb = _shape(a)[-1], _shape(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError(f"cross: incompatible dimensions for cross product (dimension must be 2 or 3), got "
                         f"{na} and {nb}")
    a0, a1, b0, b1 = a[..., 0], a[..., 1], b[..., 0], b[..., 1]
    z = subtract(multiply(a0, b1), multiply(a1, b0))
    if na == nb == 2:
        return z
    a2 = a[..., 2] if na == 3 else ew.zeros_like(a0)
    b2 = b[..., 2] if nb == 3 else ew.zeros_like(b0)
    out = stack(broadcast_arrays(subtract(multiply(a1, b2), multiply(a2, b1)),
                                 subtract(multiply(a2, b0), multiply(a0, b2)), z), -1)
    return moveaxis(out, -1, axisc)


# ----------------------------------------------------------------------------------------------
# Sorting, searching, cumulative ops


def sort(a, axis=-1, kind=None, order=None, stable=None):
    """`a` sorted along `axis` (the flattened array when None); NaN sorts last. The gradient flows back
    through the permutation.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.sort(np.array([[3.0, 1.0, 2.0], [0.0, -1.0, 5.0]]))
    array([[ 1.,  2.,  3.],
           [-1.,  0.,  5.]])
    >>> fnad.grad(lambda x: fnp.sort(x)[0])(np.array([3.0, 1.0, 2.0]))
    array([0., 1., 0.])
    """
    if not is_traced((a,)):
        return np.sort(a, axis=axis, kind=kind, order=order, stable=stable)
    a = asarray_traced(a)
    if axis is None:
        a, axis = ravel(a), 0
    return sorting.sort(a, normalize_axis(axis, get_aval(a).ndim))


def argsort(a, axis=-1, kind=None, order=None, stable=None):
    """Stable argsort (ties keep their order, as kind='stable'); NaN sorts last.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.argsort(np.array([3.0, 1.0, 2.0, 1.0]))
    array([1, 3, 2, 0])
    >>> fnad.vmap(fnp.argsort)(np.array([[2.0, 1.0], [0.0, 5.0]]))
    array([[1, 0],
           [0, 1]])
    """
    if not is_traced((a,)):
        return np.argsort(a, axis=axis, kind="stable" if kind is None and stable is None else kind,
                          order=order, stable=stable)
    a = asarray_traced(a)
    if axis is None:
        a, axis = ravel(a), 0
    return sorting.argsort(a, normalize_axis(axis, get_aval(a).ndim))


def _accumulate(np_fn, lax_fn):
    def fn(a, axis=None, dtype=None):
        if not is_traced((a,), np_fn.__name__):
            return np_fn(a, axis=axis, dtype=dtype)
        a = asarray_traced(a)
        if axis is None:
            a, axis = ravel(a), 0
        dt = get_aval(a).dtype
        if dtype is not None:
            dt = np.dtype(dtype)
        elif dt == np.bool_ or (np.issubdtype(dt, np.integer) and dt.itemsize < 8):
            dt = np.dtype(np.uint64 if np.issubdtype(dt, np.unsignedinteger) else np.int64)
        return lax_fn(convert(a, dt) if dt != get_aval(a).dtype else a, normalize_axis(axis, get_aval(a).ndim))
    fn.__name__ = np_fn.__name__
    fn.__doc__ = f"fnad version of numpy.{np_fn.__name__}."
    return fn


cumsum = _accumulate(np.cumsum, cum.cumsum)
cumsum.__doc__ += """

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.cumsum(np.array([[1, 2], [3, 4]]), axis=1)
    array([[1, 3],
           [3, 7]])
    >>> fnad.grad(lambda x: fnp.sum(fnp.cumsum(x)))(np.ones(3))
    array([3., 2., 1.])
    """
cumprod = _accumulate(np.cumprod, cum.cumprod)
cumprod.__doc__ += """

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.cumprod(np.array([1.0, 2.0, 3.0]))
    array([1., 2., 6.])
    >>> fnad.jacfwd(fnp.cumprod)(np.array([1.0, 2.0, 3.0]))
    array([[1., 0., 0.],
           [2., 1., 0.],
           [6., 3., 2.]])
    """


def diff(a, n=1, axis=-1, prepend=None, append=None):
    """The `n`-th discrete difference a[i+1] - a[i] along `axis`, with optional values to prepend/append.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.diff(np.array([1.0, 4.0, 9.0, 16.0]))
    array([3., 5., 7.])
    >>> fnp.diff(np.array([1.0, 4.0, 9.0, 16.0]), n=2)
    array([2., 2.])
    >>> fnp.diff(np.array([1, 4]), prepend=0)
    array([1, 3])
    """
    if not is_traced((a, prepend, append)):
        kw = {k: v for k, v in (("prepend", prepend), ("append", append)) if v is not None}
        return np.diff(a, n, axis, **kw)
    a = asarray_traced(a)
    axis = normalize_axis(axis, get_aval(a).ndim)
    if prepend is not None or append is not None:
        edge = lambda v: broadcast_to(_traced_array(v), _shape(a)[:axis] + (1,) + _shape(a)[axis + 1:]) \
            if np.ndim(v) == 0 else v
        parts = ([edge(prepend)] if prepend is not None else []) + [a] + ([edge(append)] if append is not None else [])
        a = concatenate(parts, axis)
    for _ in range(n):
        m = _shape(a)[axis]
        hi = ix.slice_in_dim(a, builtins.min(1, m), m, axis=axis)     # empty when m == 0, as NumPy
        lo = ix.slice_in_dim(a, 0, builtins.max(m - 1, 0), axis=axis)
        a = not_equal(hi, lo) if get_aval(a).dtype == np.bool_ else subtract(hi, lo)
    return a


def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """Coordinate arrays from 1-d coordinate vectors ('xy' Cartesian or 'ij' matrix indexing; sparse=True
    keeps size-1 axes).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> X, Y = fnp.meshgrid(np.array([1, 2, 3]), np.array([10, 20]))
    >>> X
    array([[1, 2, 3],
           [1, 2, 3]])
    >>> Y
    array([[10, 10, 10],
           [20, 20, 20]])
    >>> [g.shape for g in fnp.meshgrid(np.ones(3), np.ones(2), indexing='ij')]
    [(3, 2), (3, 2)]
    """
    if not is_traced(xi):
        return np.meshgrid(*xi, copy=copy, sparse=sparse, indexing=indexing)
    if indexing not in ("xy", "ij"):
        raise ValueError("meshgrid: valid values for `indexing` are 'xy' and 'ij'")
    nd = len(xi)
    out = []
    for i, x in enumerate(xi):
        pos = (1 - i if i < 2 else i) if indexing == "xy" and nd > 1 else i
        out.append(reshape(ravel(asarray_traced(x)), (1,) * pos + (-1,) + (1,) * (nd - pos - 1)))
    return tuple(out) if sparse else tuple(broadcast_arrays(*out))


def searchsorted(a, v, side="left", sorter=None):
    """Insertion points of v in the sorted 1-d a, by counting (O(len(a) * size(v))).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.searchsorted(np.array([1.0, 2.0, 3.0]), np.array([0.5, 2.0, 9.0]))
    array([0, 1, 3])
    >>> fnp.searchsorted(np.array([1.0, 2.0, 3.0]), 2.0, side='right')
    np.int64(2)
    """
    if not is_traced((a, v, sorter)):
        return np.searchsorted(a, v, side, sorter)
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    a = asarray_traced(a)
    if sorter is not None:
        a = take(a, sorter)
    v = asarray_traced(v)
    before = (less if side == "left" else less_equal)(a, sh.expand_dims(v, (get_aval(v).ndim,)))
    return reduce_sum(convert(before, np.int64), (get_aval(v).ndim,))


# ----------------------------------------------------------------------------------------------
# einsum: diagonals and single-operand sums first, then a greedy order of pairwise dot_generals


def _einsum_spec(subscripts, ndims):
    """(input label strings, output label string) with '...' replaced by fresh labels."""
    spec = subscripts.replace(" ", "")
    lhs, arrow, out = spec.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        raise ValueError(f"einsum: subscripts '{subscripts}' name {len(terms)} operands but {len(ndims)} were given")
    fresh = iter(c for c in string.ascii_letters if c not in spec)
    counts = [nd - len(t.replace("...", "")) if "..." in t else 0 for t, nd in zip(terms, ndims)]
    ellipsis = "".join(next(fresh) for _ in range(builtins.max(counts, default=0)))
    terms = [t.replace("...", ellipsis[len(ellipsis) - c:]) for t, c in zip(terms, counts)]
    for t, nd in zip(terms, ndims):
        if len(t) != nd or not builtins.all(c in string.ascii_letters for c in t):
            raise ValueError(f"einsum: subscripts '{t}' do not match an operand with {nd} dimensions")
    if arrow:
        out = out.replace("...", ellipsis)
    else:
        joined = "".join(terms)
        out = ellipsis + "".join(sorted(c for c in set(joined) if joined.count(c) == 1 and c not in ellipsis))
    if len(set(out)) != len(out) or any(c not in "".join(terms) for c in out):
        raise ValueError(f"einsum: invalid output subscripts '{out}' for inputs {terms}")
    return terms, out


def _einsum_diagonal(x, labels):
    """Collapse repeated labels of one operand onto their diagonal."""
    while len(set(labels)) < len(labels):
        c = next(c for c in labels if labels.count(c) > 1)
        i = labels.index(c)
        j = labels.index(c, i + 1)
        moved = moveaxis(x, (i, j), (-2, -1))
        ar = np.arange(_shape(x)[i])
        x = moved[..., ar, ar]
        labels = "".join(l for k, l in enumerate(labels) if k not in (i, j)) + c
    return x, labels


def einsum(subscripts, *operands, optimize=None, dtype=None):
    """Einstein summation with a subscripts string (explicit `->` or implicit output, repeated
    labels for diagonals), as numpy.einsum; traced calls become dot_general / reductions.
    `optimize` is accepted and ignored.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> fnp.einsum("ij,j->i", a, np.array([1.0, 1.0]))
    array([3., 7.])
    >>> print(fnp.einsum("ii", a))      # trace
    5.0
    >>> fnad.grad(lambda a: fnp.einsum("ij,ij->", a, a))(a)
    array([[2., 4.],
           [6., 8.]])
    """
    if not is_traced(operands):
        return np.einsum(subscripts, *operands, dtype=dtype)
    if not isinstance(subscripts, str):
        raise NotImplementedError("einsum: only the subscripts-string form is supported on traced values")
    ops = _promoted(operands, dtype)
    terms, out = _einsum_spec(subscripts, [get_aval(o).ndim for o in ops])
    sizes = {}
    for o, t in zip(ops, terms):
        for c, n in zip(t, _shape(o)):     # size 1 broadcasts; 0 is a size like any other
            if sizes.get(c, 1) == 1:
                sizes[c] = n
            elif n not in (1, sizes[c]):
                raise ValueError(f"einsum: label '{c}' has sizes {sizes[c]} and {n} in different operands")
    work = []
    for k, (o, t) in enumerate(zip(ops, terms)):
        o, t = _einsum_diagonal(o, t)
        o = sh.broadcast_in_dim(o, tuple(sizes[c] for c in t), tuple(range(len(t))))
        needed = out + "".join(terms[:k] + terms[k + 1:])
        summed = tuple(i for i, c in enumerate(t) if c not in needed)
        work.append((reduce_sum(o, summed), "".join(c for c in t if c in needed)))
    while len(work) > 1:
        def result_labels(i, j):
            (_, ta), (_, tb) = work[i], work[j]
            needed = out + "".join(t for k, (_, t) in enumerate(work) if k not in (i, j))
            batch = "".join(c for c in ta if c in tb and c in needed)
            return (batch + "".join(c for c in ta if c not in tb) + "".join(c for c in tb if c not in ta),
                    batch, "".join(c for c in ta if c in tb and c not in needed))
        pairs = [(i, j) for i in range(len(work)) for j in range(i + 1, len(work))]
        i, j = builtins.min(pairs, key=lambda p: np.prod([sizes[c] for c in result_labels(*p)[0]]))
        labels, batch, contracted = result_labels(i, j)
        (a, ta), (b, tb) = work[i], work[j]
        dims = (tuple(ta.index(c) for c in contracted), tuple(tb.index(c) for c in contracted))
        prod = dot_general(a, b, (dims, (tuple(ta.index(c) for c in batch), tuple(tb.index(c) for c in batch))))
        work = [w for k, w in enumerate(work) if k not in (i, j)] + [(prod, labels)]
    (x, labels), = work
    x = reduce_sum(x, tuple(i for i, c in enumerate(labels) if c not in out))
    labels = "".join(c for c in labels if c in out)
    return sh.transpose(x, tuple(labels.index(c) for c in out))


# ----------------------------------------------------------------------------------------------
# Data-dependent shapes (concrete values only) and selection


def nonzero(a):
    """The indices of the nonzero elements (a tuple with one index array per axis). Its output shape depends
    on the values, so `a` must be concrete (not traced under jit/vmap/grad).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.nonzero(np.array([[0, 1], [2, 0]]))
    (array([0, 1]), array([1, 0]))
    """
    return np.nonzero(_concrete(a, "nonzero"))


def argwhere(a):
    """The indices of the nonzero elements as rows of an (n, ndim) array (concrete input only, as nonzero).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.argwhere(np.array([[0, 1], [2, 0]]))
    array([[0, 1],
           [1, 0]])
    """
    return np.argwhere(_concrete(a, "argwhere"))


def flatnonzero(a):
    """The indices of the nonzero elements of the flattened array (concrete input only, as nonzero).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.flatnonzero(np.array([[0, 1], [2, 0]]))
    array([1, 2])
    """
    return np.flatnonzero(_concrete(a, "flatnonzero"))


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None):
    """np.unique of a concrete array; the unique values of a traced one are gathered from it (so
    they carry derivatives).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.unique(np.array([3, 1, 3, 2]))
    array([1, 2, 3])
    >>> fnp.unique(np.array([3, 1, 3]), return_counts=True)
    (array([1, 3]), array([1, 2]))
    """
    if not is_traced((ar,)):
        return np.unique(ar, return_index, return_inverse, return_counts, axis)
    if axis is not None:
        raise NotImplementedError("unique(axis=...) is not supported on traced values")
    res = np.unique(_concrete(ar, "unique"), True, return_inverse, return_counts)
    values = take(ravel(ar), res[1])
    extra = ((res[1],) if return_index else ()) + tuple(res[2:])
    return (values,) + extra if extra else values


def select(condlist, choicelist, default=0):
    """For each element, the value of the first choice whose condition holds, else `default`, as numpy.select.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> x = np.array([-2.0, 0.5, 3.0])
    >>> fnp.select([x < 0, x < 1], [-x, 10 * x], default=x)
    array([2., 5., 3.])
    >>> fnad.grad(lambda x: fnp.sum(fnp.select([x < 0, x < 1], [-x, 10 * x], x)))(x)
    array([-1., 10.,  1.])
    """
    if not is_traced((condlist, choicelist, default)):
        return np.select(condlist, choicelist, default)
    if len(condlist) != len(choicelist):
        raise ValueError("select: list of cases must be same length as list of conditions")
    out = default
    for cond, choice in zip(reversed(condlist), reversed(choicelist)):
        out = where(cond, choice, out)
    return out
