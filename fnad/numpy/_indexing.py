"""fnad.numpy's indexing: `x[...]` and `x.at[...]` on traced arrays and `fnad.Array`s, take and
take_along_axis.

Integer indices follow JAX, static or traced, eagerly or under jit: negative ones wrap as in NumPy,
out-of-bounds reads clamp (or give a fill value with `.at[i].get(mode="fill")`) and out-of-bounds
`.at[...]` updates are dropped (or clamped with `mode="clip"`). An Array indexed eagerly with an
in-bounds static index takes NumPy's own path (a read-only view for basic indexing).
"""

from __future__ import annotations

import builtins

import numpy as np

from ..array import as_array
from ..core import ShapeError, Tracer, get_aval
from ..primitives import elementwise as ew
from ..primitives import indexing as ix
from ..primitives import shape as sh
from ._core import _has_tracer, asarray_traced, convert, normalize_axis, numpy_when_eager
from ._core import concrete as _concrete
from ._core import shape_of as _shape
from ._core import traced_array as _traced_array
from ._elementwise import clip, divide, mod, power
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


def _check_not_empty(axis, n, shape):
    if n == 0:
        raise IndexError(f"index is out of bounds for axis {axis} with size 0 (array shape {shape})")


def _static_position(i, axis, n, shape):
    """A static int index for an axis of size n: negative ones wrap, out-of-bounds ones clamp (JAX)."""
    _check_not_empty(axis, n, shape)
    return builtins.min(builtins.max(i + n if i < 0 else i, 0), n - 1)


def _wrapped(a, axis, n, shape):
    """Index array `a` for an axis of size n with negative entries wrapped (the gather then clamps
    what is still out of bounds)."""
    if get_aval(a).size:
        _check_not_empty(axis, n, shape)
    if isinstance(a, Tracer):
        return ew.select(ew.lt(a, ew.scalar_like(a, 0)), ew.add(a, ew.scalar_like(a, n)), a)
    a = np.asarray(a)
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
    # With a fill value, static ints go through the gather too, which tells the out-of-bounds ones.
    advanced = any(_is_index_array(e) or (fill is not None and isinstance(e, int)) for e, _ in entries)
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


def _is_static(idx):
    t = type(idx)
    return t is int or t is builtins.slice or not _has_tracer(idx if t is tuple else (idx,))


_BASIC_ENTRIES = frozenset([int, builtins.slice, type(None), type(Ellipsis)])
_ndarray_getitem = np.ndarray.__getitem__


def array_getitem(x, idx):
    """x[idx] for an Array x (installed as Array.__getitem__): NumPy's own indexing when the index is
    static and in bounds (also while staging: x is a constant); fnad's otherwise (traced indices,
    out-of-bounds clamping). Basic indexing gives a view of x (an Array, read-only as x is): with a
    trailing '...' NumPy returns a 0-d view rather than a scalar, so no conversion is needed."""
    t = type(idx)
    try:
        if t is int or t is builtins.slice:
            return _ndarray_getitem(x, (idx, Ellipsis))
        if t is tuple and _BASIC_ENTRIES.issuperset(map(type, idx)):
            return _ndarray_getitem(x, idx if Ellipsis in idx else (*idx, Ellipsis))
        if _is_static(idx):
            return as_array(x.view(np.ndarray)[idx])
    except IndexError:
        pass  # out of bounds: clamped below, as in JAX (other IndexErrors are raised again there)
    return _index(x, idx)


_GET_MODES = {None: "clip", "clip": "clip", "promise_in_bounds": "clip", "fill": "fill", "drop": "fill"}
_UPDATE_MODES = {None: "drop", "drop": "drop", "fill": "drop", "promise_in_bounds": "drop", "clip": "clip"}


def _mode(mode, modes, what):
    if mode not in modes:
        raise ValueError(f"x.at[...].{what}: mode must be one of {sorted(m for m in modes if m)} or None, got {mode!r}")
    return modes[mode]


def _default_fill(dtype):
    """JAX's fill for out-of-bounds reads: NaN, the most negative signed, the largest unsigned, True."""
    if np.issubdtype(dtype, np.inexact):
        return np.nan
    if dtype == np.bool_:
        return True
    info = np.iinfo(dtype)
    return info.max if dtype.kind == "u" else info.min


class _IndexUpdateRef:
    """`x.at[idx]`: functional updates `set`, `add`, `multiply` (`mul`), `divide`, `power`, `min`,
    `max`, `apply`, and `get`. Update modes: None/"drop" (out-of-bounds updates dropped) or "clip";
    get modes: None/"clip" (indices clamped) or "fill" (out-of-bounds reads give `fill_value`).
    `indices_are_sorted` and `unique_indices` are accepted as JAX's hints."""

    __slots__ = ("idx", "x")

    def __init__(self, x, idx):
        self.x, self.idx = x, idx

    def get(self, *, indices_are_sorted=False, unique_indices=False, mode=None, fill_value=None):
        if _mode(mode, _GET_MODES, "get") == "fill":
            dtype = get_aval(self.x).dtype
            return _index(self.x, self.idx, _default_fill(dtype) if fill_value is None else fill_value)
        return _index(self.x, self.idx)

    def _positions(self, shape, mode):
        """The flat positions in an array of `shape` that the index selects: NumPy computes them when
        the index is static and in bounds; otherwise out-of-bounds ones are -1 (which the scatter
        drops) or, with mode 'clip', clamped."""
        positions = np.arange(int(np.prod(shape, dtype=np.int64))).reshape(shape)
        fill = -1 if _mode(mode, _UPDATE_MODES, "update") == "drop" else None
        if _is_static(self.idx):
            try:
                return positions[self.idx]
            except IndexError:
                pass  # out of bounds: as a traced index would be
        return _index(positions, self.idx, fill=fill)

    def _update(self, scatter, values, mode):
        x = asarray_traced(self.x)
        shape, dtype = _shape(x), get_aval(x).dtype
        positions = self._positions(shape, mode)
        target = _shape(positions)
        values = _traced_array(values, dtype)
        try:
            values = broadcast_to(values, target)
        except ValueError:
            raise ShapeError(
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

    def set(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        return self._update(ix.scatter, values, mode)

    def add(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        return self._update(ix.scatter_add, values, mode)

    def multiply(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        return self._update(ix.scatter_mul, values, mode)

    mul = multiply

    def divide(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """x with x[idx] divided by values (as JAX: x / ones.at[idx].multiply(values), so ints give floats)."""
        ones = np.ones(_shape(self.x), get_aval(self.x).dtype)
        return divide(self.x, _IndexUpdateRef(ones, self.idx).multiply(values, mode=mode))

    def power(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """x with x[idx] raised to values (as JAX: x ** ones.at[idx].multiply(values))."""
        ones = np.ones(_shape(self.x), get_aval(self.x).dtype)
        return power(self.x, _IndexUpdateRef(ones, self.idx).multiply(values, mode=mode))

    def min(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        return self._update(ix.scatter_min, values, mode)

    def max(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        return self._update(ix.scatter_max, values, mode)

    def apply(self, func, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """x with the elementwise `func` applied at idx, once per occurrence of a position (as JAX:
        a repeated index applies it repeatedly); out-of-bounds positions are dropped."""
        x = asarray_traced(self.x)
        shape = _shape(x)
        positions = self._positions(shape, mode)
        size = int(np.prod(_shape(positions), dtype=np.int64))
        flat = sh.reshape(x, (int(np.prod(shape, dtype=np.int64)),))
        positions = sh.reshape(positions, (size, 1))

        def apply_at(flat, points):
            values = asarray_traced(func(ix.gather(flat, points, (0,))))
            values = broadcast_to(_traced_array(values, get_aval(flat).dtype), _shape(points)[:1])
            return ix.scatter(flat, points, values, (0,))

        if unique_indices or not isinstance(positions, Tracer) and len(np.unique(positions)) == size:
            flat = apply_at(flat, positions)
        else:
            from ..lax.control_flow import fori_loop  # here: fnad.lax is not imported until a program uses it

            one_at = lambda i, flat: apply_at(flat, ix.dynamic_slice(positions, (i, 0), (1, 1)))
            flat = fori_loop(0, size, one_at, flat)
        return sh.reshape(flat, shape)


class _IndexUpdateHelper:
    """The `.at` property of fnad arrays and traced values (JAX's functional in-place updates):
    `x.at[idx].set(v)` is a new array equal to x with x[idx] replaced by v; also `.add`, `.multiply`
    (`.mul`), `.divide`, `.power`, `.min`, `.max`, `.apply(func)` and `.get(mode="fill",
    fill_value=...)`. `idx` is any index `x[idx]` accepts, and `v` broadcasts to the indexed shape.
    Unlike NumPy's `x[idx] += v`, repeated indices accumulate (`.add`). Out-of-bounds updates are
    dropped (`mode="clip"` clamps them instead).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.zeros(3).at[1].set(10.0)
    Array([ 0., 10.,  0.], dtype=float64)
    >>> fnad.jit(lambda x: x.at[np.array([0, 0, 2])].add(1.0))(np.zeros(3))   # index 0 twice
    Array([2., 0., 1.], dtype=float64)
    >>> fnp.arange(3.0).at[5].get(mode="fill", fill_value=-1.0)                # out of bounds
    Array(-1., dtype=float64)
    >>> fnp.arange(3.0).at[1].apply(fnp.exp)
    Array([0.        , 2.71828183, 2.        ], dtype=float64)
    >>> fnad.grad(lambda x: fnp.sum(x.at[0].set(5.0) ** 2))(np.array([1.0, 2.0]))   # x[0] overwritten
    Array([0., 4.], dtype=float64)
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
    Array([30., 10., 30.], dtype=float64)
    >>> fnp.take(a, np.array([3, -4]), mode='clip')
    Array([30., 10.], dtype=float64)
    >>> fnad.grad(lambda a: fnp.sum(fnp.take(a, np.array([2, 0, 2]))))(a)
    Array([1., 0., 2.], dtype=float64)
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
    Array([[1., 2., 3.],
           [0., 4., 5.]], dtype=float64)
    >>> fnp.take_along_axis(a, np.array([[0], [1]]), axis=1)
    Array([[3.],
           [5.]], dtype=float64)
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
