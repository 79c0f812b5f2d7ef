"""fnad.numpy's indexing: `x[...]` and `x.at[...]` on traced arrays, take and take_along_axis.

Traced integer indices follow JAX: negative ones wrap as in NumPy, out-of-bounds reads clamp and
out-of-bounds `.at[...]` updates are dropped. Static indices out of bounds raise IndexError.
"""

from __future__ import annotations

import builtins

import numpy as np

from ..core import Tracer, get_aval
from ..primitives import elementwise as ew
from ..primitives import indexing as ix
from ..primitives import shape as sh
from ._core import _has_tracer, asarray_traced, convert, normalize_axis, numpy_when_eager
from ._core import concrete as _concrete
from ._core import shape_of as _shape
from ._core import traced_array as _traced_array
from ._elementwise import clip, mod
from ._shapes import broadcast_to, ravel


def _is_index_array(e):
    return not isinstance(e, (builtins.slice, int))


def _as_index_array(item):
    a = item if isinstance(item, Tracer) else asarray_traced(item)
    dtype = get_aval(a).dtype
    if dtype == np.bool_ or np.issubdtype(dtype, np.integer):
        return a
    if isinstance(a, np.ndarray) and a.size == 0:  # x[[]]: an empty integer index
        return a.astype(np.int64)
    raise IndexError(
        f"only integers, slices (':'), ellipsis ('...'), None and integer or boolean arrays are "
        f"valid indices; got an array of dtype {dtype.name}"
    )


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
                    raise IndexError(
                        f"slice bounds must be static ints or None, got {v!r}. For a window at a "
                        "traced position use fnad.lax.dynamic_slice(x, starts, sizes)."
                    )
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
        raise IndexError(
            f"too many indices for array: array of shape {shape} is {len(shape)}-dimensional, "
            f"but {consumed} were indexed"
        )
    rest = [("axis", builtins.slice(None))] * (len(shape) - consumed)
    if ellipses:
        at = next(i for i, (kind, _) in enumerate(parsed) if kind == "ellipsis")
        parsed[at : at + 1] = rest
    else:
        parsed += rest
    entries, axis = [], 0
    for kind, e in parsed:
        if kind == "new":
            entries.append((e, True))
        elif kind == "mask":
            covered = shape[axis : axis + get_aval(e).ndim]
            if get_aval(e).shape != covered:
                raise IndexError(
                    f"boolean index of shape {get_aval(e).shape} does not match the indexed axes "
                    f"{axis}..{axis + get_aval(e).ndim - 1} of shape {covered} (array shape {shape})"
                )
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
        raise IndexError(f"index {a[bad].flat[0]} is out of bounds for axis {axis} with size {n} (array shape {shape})")
    return np.where(a < 0, a + n, a)


def _stack_indices(arrays):
    """Index arrays broadcast together and stacked along a new last axis (shape batch + (k,))."""
    shapes = [_shape(a) for a in arrays]
    try:
        batch = np.broadcast_shapes(*shapes)
    except ValueError:
        raise IndexError(
            "shape mismatch: indexing arrays could not be broadcast together with shapes " + " ".join(map(str, shapes))
        ) from None
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
    arrays = [
        _wrapped(np.asarray(entries[a][0]) if isinstance(entries[a][0], int) else entries[a][0], a, y_shape[a], shape)
        for a in positions
    ]
    indices = _stack_indices(arrays)
    out = ix.gather(y, indices, positions)
    nb = len(_shape(indices)) - 1
    if fill is not None:
        inside = ix.indices_in_bounds(indices, y_shape, positions)
        out = ew.select(
            sh.broadcast_in_dim(inside, _shape(out), tuple(range(nb))),
            out,
            sh.full(_shape(out), fill, get_aval(out).dtype),
        )
    first = positions[0]
    if positions == list(range(first, first + len(positions))):  # adjacent: the batch axes stay in place
        rest = len(_shape(out)) - nb
        perm = [nb + i for i in range(first)] + list(range(nb)) + [nb + i for i in range(first, rest)]
        out = sh.transpose(out, perm)
    return out


def _getitem(x, idx):
    """x[idx] for traced x (installed as Tracer.__getitem__)."""
    return _index(x, idx)


class _IndexUpdateRef:
    """`x.at[idx]`: functional updates x.at[idx].set(v) / add / multiply (mul) / min / max, and get()."""

    __slots__ = ("idx", "x")

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
            raise ValueError(
                f"x.at[...]: cannot broadcast the values of shape {_shape(values)} to the indexed "
                f"shape {target} (array shape {shape})"
            ) from None
        size = int(np.prod(target, dtype=np.int64))
        flat = scatter(
            sh.reshape(x, (int(np.prod(shape, dtype=np.int64)),)),
            sh.reshape(positions, (size, 1)),
            sh.reshape(values, (size,)),
            (0,),
        )
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


@numpy_when_eager(
    lambda a, indices, axis=None, mode=None: np.take(a, indices, axis=axis, mode="raise" if mode is None else mode)
)
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


@numpy_when_eager(np.take_along_axis)
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
    arr, indices = _traced_array(arr), _traced_array(indices)
    if axis is None:
        arr, axis = ravel(arr), 0
    if get_aval(arr).ndim != get_aval(indices).ndim:
        raise ValueError(
            f"take_along_axis: indices of shape {_shape(indices)} must have the same number of "
            f"dimensions as the array of shape {_shape(arr)}"
        )
    axis = normalize_axis(axis, get_aval(arr).ndim)
    n = _shape(arr)[axis]
    with_one = lambda s: s[:axis] + (1,) + s[axis + 1 :]
    common = np.broadcast_shapes(with_one(_shape(arr)), with_one(_shape(indices)))
    arr = broadcast_to(arr, common[:axis] + (n,) + common[axis + 1 :])
    indices = broadcast_to(
        _wrapped(indices, axis, n, _shape(arr)), common[:axis] + (_shape(indices)[axis],) + common[axis + 1 :]
    )
    return ix.take_along_axis(arr, indices, axis)
