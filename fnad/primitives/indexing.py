"""Indexing primitives: static slice, pad, concatenate, rev; dynamic_slice / dynamic_update_slice
with traced starts (clamped so the window stays in bounds, as in JAX); point gather and the scatter
family (set, add, mul, min, max) that NumPy integer-array indexing and `.at[...]` lower to.

gather(x, indices, axes): `indices` has shape batch + (k,); each index tuple picks the point
x[axes[0] = i_0, ..., axes[k-1] = i_{k-1}] (indices clamped into bounds) and keeps the other axes
whole, so the output shape is batch + (the non-indexed axes of x, in order).
scatter*(x, indices, updates, axes) writes `updates` (the shape gather would return) to those
points, combining as its name says; index tuples out of bounds are dropped.
"""

from __future__ import annotations

import builtins

import numpy as np

from ..ad_util import Zero, add_tangents, instantiate, tangent_aval
from ..core import Primitive, ShapedArray, ShapeError, componentwise_parts, get_aval
from ..transforms.batching import move_bdim
from ..transforms.jvp import deflinear
from ..transforms.reverse import is_undefined
from .elementwise import (
    add,
    bitwise_and,
    convert_element_type,
    div,
    eq,
    ge,
    lt,
    max,
    min,
    mul,
    ne,
    scalar_like,
    select,
    sub,
    zeros_like,
)
from .reductions import reduce_and, reduce_sum
from .shape import broadcast_in_dim, full, iota, reshape


def _aval(x):
    return x.aval if is_undefined(x) else get_aval(x)


def _linear_in(prim, linear, transpose):
    """A primitive linear (jointly) in the operands at positions `linear` and not differentiable in
    the others (indices): its jvp applies it to those tangents, the other operands unchanged."""

    def jvp(primals, tangents, **params):
        ans = prim.bind(*primals, **params)
        if all(type(tangents[i]) is Zero for i in linear):
            return ans, Zero(tangent_aval(get_aval(ans)))
        args = [instantiate(t) if i in linear else p for i, (p, t) in enumerate(zip(primals, tangents))]
        return ans, prim.bind(*args, **params)

    prim.jvp = jvp
    prim.transpose = transpose


def _batch_size(vals, dims):
    return next(get_aval(v).shape[d] for v, d in zip(vals, dims) if d is not None)


def _unbatched_shape(x, bdim):
    shape = get_aval(x).shape
    return shape if bdim is None else shape[:bdim] + shape[bdim + 1 :]


def _insert(t, pos, value):
    return tuple(t[:pos]) + (value,) + tuple(t[pos:])


# ----------------------------------------------------------------------------------------------
# slice: x[start:limit:stride] per axis, all static

slice_p = Primitive("slice")


def _slice_shape(start_indices, limit_indices, strides):
    return tuple(builtins.max(0, -(-(l - s) // st)) for s, l, st in zip(start_indices, limit_indices, strides))


def _slice_eval(a, start_indices, limit_indices, strides):
    if not len(start_indices) == len(limit_indices) == len(strides) == a.ndim:
        raise ValueError(
            f"slice: start_indices {start_indices}, limit_indices {limit_indices} and strides "
            f"{strides} need one entry per axis of the operand shape {a.shape}"
        )
    for d, (s, l, st) in enumerate(zip(start_indices, limit_indices, strides)):
        if not 0 <= s <= l <= a.shape[d] or st < 1:
            raise ValueError(
                f"slice: {s}:{l}:{st} is not a valid slice of axis {d} of operand shape {a.shape} "
                "(need 0 <= start <= limit <= size and stride >= 1)"
            )
    return ShapedArray(_slice_shape(start_indices, limit_indices, strides), a.dtype, a.weak_type)


def _slice_impl(x, start_indices, limit_indices, strides):
    return np.asarray(x)[tuple(builtins.slice(*t) for t in zip(start_indices, limit_indices, strides))]


def _slice_transpose(ct, x, start_indices, limit_indices, strides):
    out = get_aval(ct).shape
    config = tuple(
        (s, n - s - ((m - 1) * st + 1 if m else 0), st - 1)
        for s, n, m, st in zip(start_indices, x.aval.shape, out, strides)
    )
    return [pad(ct, scalar_like(ct, 0), config)]


def _slice_batch(vals, dims, start_indices, limit_indices, strides):
    (x,), (d,) = vals, dims
    n = get_aval(x).shape[d]
    return slice(x, _insert(start_indices, d, 0), _insert(limit_indices, d, n), _insert(strides, d, 1)), d


slice_p.impl = _slice_impl
slice_p.abstract_eval = _slice_eval
slice_p.batch = _slice_batch
deflinear(slice_p, _slice_transpose)


def slice(x, start_indices, limit_indices, strides=None):
    """x[start:limit:stride] along every axis (static bounds, positive strides).

    >>> import numpy as np, fnad; from fnad import lax
    >>> lax.slice(np.arange(10), (1,), (8,), (3,))
    Array([1, 4, 7], dtype=int64)
    >>> lax.slice(np.arange(6).reshape(2, 3), (0, 1), (2, 3))
    Array([[1, 2],
           [4, 5]], dtype=int64)
    """
    start_indices = tuple(int(i) for i in start_indices)
    limit_indices = tuple(int(i) for i in limit_indices)
    strides = (1,) * len(start_indices) if strides is None else tuple(int(i) for i in strides)
    shape = get_aval(x).shape
    if start_indices == (0,) * len(shape) and limit_indices == shape and strides == (1,) * len(shape):
        return x
    return slice_p.bind(x, start_indices=start_indices, limit_indices=limit_indices, strides=strides)


def slice_in_dim(x, start, limit, stride=1, axis=0):
    """x[start:limit:stride] along `axis` only (static bounds).

    >>> import numpy as np, fnad; from fnad import lax
    >>> lax.slice_in_dim(np.arange(6).reshape(2, 3), 1, 3, axis=1)
    Array([[1, 2],
           [4, 5]], dtype=int64)
    """
    shape = get_aval(x).shape
    starts, limits, strides = [0] * len(shape), list(shape), [1] * len(shape)
    starts[axis], limits[axis], strides[axis] = start, limit, stride
    return slice(x, starts, limits, strides)


# ----------------------------------------------------------------------------------------------
# pad: per axis (lo, hi, interior); negative lo/hi crop

pad_p = Primitive("pad")


def _padded_size(n, lo, hi, interior):
    return lo + hi + n + builtins.max(n - 1, 0) * interior


def _pad_eval(a, padding_value, padding_config):
    if padding_value.shape != () or padding_value.dtype != a.dtype:
        raise TypeError(
            f"pad: padding_value must be a scalar of the operand's dtype {a.dtype.name}, got "
            f"{padding_value.str_short()}"
        )
    if len(padding_config) != a.ndim:
        raise ValueError(
            f"pad: padding_config {padding_config} needs one (lo, hi, interior) per axis of operand shape {a.shape}"
        )
    shape = []
    for d, (n, (lo, hi, interior)) in enumerate(zip(a.shape, padding_config)):
        size = _padded_size(n, lo, hi, interior)
        if interior < 0 or size < 0:
            raise ValueError(
                f"pad: (lo, hi, interior) = {(lo, hi, interior)} is invalid for axis {d} of operand "
                f"shape {a.shape} (interior must be >= 0 and the padded size >= 0, got {size})"
            )
        shape.append(size)
    return ShapedArray(shape, a.dtype, a.weak_type)


def _interior_slice(n, lo, interior):
    """Where the operand's elements land along an axis padded by (lo >= 0, interior)."""
    return builtins.slice(lo, lo + builtins.max(n - 1, 0) * (interior + 1) + (1 if n else 0), interior + 1)


def _pad_impl(x, padding_value, padding_config):
    x = np.asarray(x)
    grown = [(builtins.max(lo, 0), builtins.max(hi, 0), i) for lo, hi, i in padding_config]
    out = np.full([_padded_size(n, *c) for n, c in zip(x.shape, grown)], padding_value, x.dtype)
    out[tuple(_interior_slice(n, lo, i) for n, (lo, _, i) in zip(x.shape, grown))] = x
    return out[
        tuple(
            builtins.slice(-builtins.min(lo, 0), out.shape[d] + builtins.min(hi, 0))
            for d, (lo, hi, _) in enumerate(padding_config)
        )
    ]


def _unpad(ct, shape, padding_config):
    """The operand-shaped part of a padded array (the transpose of pad in its operand)."""
    regrown = pad(
        ct, scalar_like(ct, 0), tuple((builtins.max(-lo, 0), builtins.max(-hi, 0), 0) for lo, hi, _ in padding_config)
    )
    where = [_interior_slice(n, builtins.max(lo, 0), i) for n, (lo, _, i) in zip(shape, padding_config)]
    return slice(regrown, [s.start for s in where], [s.stop for s in where], [s.step for s in where])


def _pad_transpose(ct, x, padding_value, padding_config):
    ct_x = _unpad(ct, _aval(x).shape, padding_config)
    ct_value = sub(reduce_sum(ct), reduce_sum(ct_x)) if is_undefined(padding_value) else None
    return [ct_x if is_undefined(x) else None, ct_value]


def _pad_batch(vals, dims, padding_config):
    (x, value), (dx, dv) = vals, dims
    if dv is None:
        return pad(x, value, _insert(padding_config, dx, (0, 0, 0))), dx
    x = move_bdim(x, dx, 0, get_aval(value).shape[0])
    config = ((0, 0, 0),) + tuple(padding_config)
    padded = pad(x, scalar_like(x, 0), config)
    inside = pad(full(get_aval(x).shape, True, np.bool_), np.array(False), config)
    return select(inside, padded, broadcast_in_dim(value, get_aval(padded).shape, (0,))), 0


pad_p.impl = _pad_impl
pad_p.abstract_eval = _pad_eval
pad_p.batch = _pad_batch
_linear_in(pad_p, (0, 1), _pad_transpose)


def pad(x, padding_value, padding_config):
    """Pad x with the scalar padding_value: per axis (lo, hi, interior) elements before, after and
    between its elements; negative lo/hi remove elements.

    >>> import numpy as np, fnad; from fnad import lax
    >>> lax.pad(np.array([1.0, 2.0, 3.0]), 0.0, [(1, 2, 1)])
    Array([0., 1., 0., 2., 0., 3., 0., 0.], dtype=float64)
    >>> lax.pad(np.array([1.0, 2.0, 3.0]), 0.0, [(-1, 0, 0)])
    Array([2., 3.], dtype=float64)
    """
    padding_config = tuple((int(lo), int(hi), int(i)) for lo, hi, i in padding_config)
    if all(c == (0, 0, 0) for c in padding_config) and len(padding_config) == get_aval(x).ndim:
        return x
    if type(padding_value) in (int, float, bool):
        padding_value = scalar_like(x, padding_value)
    return pad_p.bind(x, padding_value, padding_config=padding_config)


# ----------------------------------------------------------------------------------------------
# concatenate along one axis

concatenate_p = Primitive("concatenate")


def _concat_eval(*avals, dimension):
    if not avals:
        raise ValueError("concatenate needs at least one operand")
    first = avals[0]
    if not 0 <= dimension < first.ndim:
        raise ValueError(
            f"concatenate: dimension {dimension} is out of range for operands of rank {first.ndim} "
            "(0-d arrays cannot be concatenated)"
        )
    for a in avals[1:]:
        if a.dtype != first.dtype:
            raise TypeError(
                "concatenate: operand dtypes must be equal, got "
                + ", ".join(b.dtype.name for b in avals)
                + " (fnad.numpy promotes for you)"
            )
        if a.ndim != first.ndim or any(m != n for d, (m, n) in enumerate(zip(a.shape, first.shape)) if d != dimension):
            raise ShapeError(
                f"concatenate along axis {dimension}: operand shapes "
                + ", ".join(str(b.shape) for b in avals)
                + " must agree on every other axis"
            )
    shape = list(first.shape)
    shape[dimension] = builtins.sum(a.shape[dimension] for a in avals)
    return ShapedArray(shape, first.dtype, builtins.all(a.weak_type for a in avals))


def _concat_transpose(ct, *xs, dimension):
    cts, offset = [], 0
    for x in xs:
        n = _aval(x).shape[dimension]
        cts.append(slice_in_dim(ct, offset, offset + n, axis=dimension) if is_undefined(x) else None)
        offset += n
    return cts


def _concat_batch(vals, dims, dimension):
    size = _batch_size(vals, dims)
    return concatenate([move_bdim(v, d, 0, size) for v, d in zip(vals, dims)], dimension + 1), 0


concatenate_p.impl = lambda *xs, dimension: np.concatenate(xs, axis=dimension)
concatenate_p.abstract_eval = _concat_eval
concatenate_p.batch = _concat_batch
deflinear(concatenate_p, _concat_transpose)


def concatenate(operands, dimension):
    """Join `operands` (same dtype, equal shapes except along `dimension`) along `dimension`.

    >>> import numpy as np, fnad; from fnad import lax
    >>> lax.concatenate([np.ones((1, 2)), np.zeros((2, 2))], 0).shape
    (3, 2)
    """
    operands = list(operands)
    if len(operands) == 1:
        return operands[0]
    return concatenate_p.bind(*operands, dimension=int(dimension))


# ----------------------------------------------------------------------------------------------
# rev: reverse the order of elements along some axes

rev_p = Primitive("rev")


def _rev_eval(a, dimensions):
    if len(set(dimensions)) != len(dimensions) or any(not 0 <= d < a.ndim for d in dimensions):
        raise ValueError(f"rev: invalid dimensions {dimensions} for operand shape {a.shape}")
    return a


rev_p.impl = lambda x, dimensions: np.flip(x, dimensions)
rev_p.abstract_eval = _rev_eval
rev_p.batch = lambda vals, dims, dimensions: (rev(vals[0], tuple(d + (d >= dims[0]) for d in dimensions)), dims[0])
deflinear(rev_p, lambda ct, x, dimensions: [rev(ct, dimensions)])


def rev(x, dimensions):
    """x with the order of its elements reversed along each axis in `dimensions`.

    >>> import numpy as np, fnad; from fnad import lax
    >>> lax.rev(np.array([[1, 2], [3, 4]]), (1,))
    Array([[2, 1],
           [4, 3]], dtype=int64)
    """
    dimensions = tuple(int(d) for d in dimensions)
    return rev_p.bind(x, dimensions=dimensions) if dimensions else x


# ----------------------------------------------------------------------------------------------
# dynamic_slice / dynamic_update_slice: windows at traced start indices (one scalar per axis)


def _check_starts(name, a, starts):
    if len(starts) != a.ndim:
        raise ValueError(f"{name}: got {len(starts)} start indices for operand shape {a.shape} (need one per axis)")
    for s in starts:
        if s.shape != () or not np.issubdtype(s.dtype, np.integer):
            raise TypeError(f"{name}: start indices must be integer scalars, got {s.str_short()}")


def _clamped_starts(shape, sizes, starts):
    return [int(np.clip(s, 0, n - m)) for s, n, m in zip(starts, shape, sizes)]


def _window(starts, sizes):
    return tuple(builtins.slice(s, s + m) for s, m in zip(starts, sizes))


def _window_indices(starts, dims, operand_shape, sizes, size):
    """Per batch element, the index tuples of the window of `sizes` at the (batched) clamped starts:
    an int64 array of shape (size,) + sizes + (len(sizes),)."""
    out_shape = (size,) + tuple(sizes) + (1,)
    columns = []
    for j, (s, d) in enumerate(zip(starts, dims)):
        s = move_bdim(s, d, 0, size)
        if get_aval(s).dtype == np.uint64:  # clamped as unsigned: 2**63 and more is past the end
            s = min(s, np.array(_I64_MAX, np.uint64))
        s = convert_element_type(s, np.int64)
        s = min(max(s, np.array(0, np.int64)), np.array(operand_shape[j] - sizes[j], np.int64))
        columns.append(add(broadcast_in_dim(s, out_shape, (0,)), iota(np.int64, out_shape, j + 1)))
    return concatenate(columns, len(sizes) + 1)


dynamic_slice_p = Primitive("dynamic_slice")


def _ds_eval(a, *starts, slice_sizes):
    _check_starts("dynamic_slice", a, starts)
    if len(slice_sizes) != a.ndim or any(not 0 <= m <= n for m, n in zip(slice_sizes, a.shape)):
        raise ValueError(
            f"dynamic_slice: slice_sizes {slice_sizes} must give one size per axis of operand "
            f"shape {a.shape}, each between 0 and that axis' size"
        )
    return ShapedArray(slice_sizes, a.dtype, a.weak_type)


def _ds_impl(x, *starts, slice_sizes):
    x = np.asarray(x)
    return x[_window(_clamped_starts(x.shape, slice_sizes, starts), slice_sizes)]


def _ds_transpose(ct, x, *starts, slice_sizes):
    zeros = full(x.aval.shape, 0, x.aval.dtype)
    return [dynamic_update_slice(zeros, ct, starts)] + [None] * len(starts)


def _ds_batch(vals, dims, slice_sizes):
    (x, *starts), (dx, *dstarts) = vals, dims
    size = _batch_size(vals, dims)
    if builtins.all(d is None for d in dstarts):
        starts = _insert(starts, dx, np.array(0, np.int64))
        return dynamic_slice_p.bind(x, *starts, slice_sizes=_insert(slice_sizes, dx, size)), dx
    idx = _window_indices(starts, dstarts, _unbatched_shape(x, dx), slice_sizes, size)
    nd = len(slice_sizes)
    if dx is None:
        return gather(x, idx, tuple(range(nd))), 0
    return gather(move_bdim(x, dx, 0, size), _prepend_batch_index(idx), tuple(range(nd + 1))), 0


dynamic_slice_p.impl = _ds_impl
dynamic_slice_p.abstract_eval = _ds_eval
dynamic_slice_p.batch = _ds_batch
_linear_in(dynamic_slice_p, (0,), _ds_transpose)


_I64_MIN, _I64_MAX = int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max)


def _as_starts(starts):
    """Concrete starts as int64 (saturating: they are clamped into the operand anyway, and a uint64
    of 2**63 or more is past the end, not negative); traced ones as they are."""
    return [
        np.array(builtins.min(builtins.max(int(s), _I64_MIN), _I64_MAX), np.int64)
        if type(s) is int or isinstance(s, np.integer)
        else s
        for s in starts
    ]


def dynamic_slice(x, start_indices, slice_sizes):
    """The window of `slice_sizes` at `start_indices` (traced scalars allowed), starts clamped so the
    window stays inside x.

    >>> import numpy as np, fnad; from fnad import lax
    >>> x = np.arange(10.0)
    >>> lax.dynamic_slice(x, (2,), (3,))
    Array([2., 3., 4.], dtype=float64)
    >>> lax.dynamic_slice(x, (8,), (3,))          # the start is clamped to 7
    Array([7., 8., 9.], dtype=float64)
    >>> fnad.jit(lambda x, i: lax.dynamic_slice(x, (i,), (2,)))(x, 4)
    Array([4., 5.], dtype=float64)
    """
    return dynamic_slice_p.bind(x, *_as_starts(start_indices), slice_sizes=tuple(int(m) for m in slice_sizes))


dynamic_update_slice_p = Primitive("dynamic_update_slice")


def _dus_eval(a, u, *starts):
    _check_starts("dynamic_update_slice", a, starts)
    if u.dtype != a.dtype or u.ndim != a.ndim or any(m > n for m, n in zip(u.shape, a.shape)):
        raise ValueError(
            f"dynamic_update_slice: update {u.str_short()} must have the operand's dtype and rank "
            f"and fit inside the operand {a.str_short()}"
        )
    return ShapedArray(a.shape, a.dtype, a.weak_type)


def _dus_impl(x, update, *starts):
    out = np.array(x, copy=True)
    update = np.asarray(update)
    out[_window(_clamped_starts(out.shape, update.shape, starts), update.shape)] = update
    return out


def _dus_transpose(ct, x, update, *starts):
    u = _aval(update)
    ct_x = dynamic_update_slice(ct, full(u.shape, 0, u.dtype), starts) if is_undefined(x) else None
    ct_u = dynamic_slice(ct, starts, u.shape) if is_undefined(update) else None
    return [ct_x, ct_u] + [None] * len(starts)


def _dus_batch(vals, dims):
    (x, u, *starts), (dx, du, *dstarts) = vals, dims
    size = _batch_size(vals, dims)
    x_shape, u_shape = _unbatched_shape(x, dx), _unbatched_shape(u, du)
    x, u = move_bdim(x, dx, 0, size), move_bdim(u, du, 0, size)
    if builtins.all(d is None for d in dstarts):
        return dynamic_update_slice(x, u, [np.array(0, np.int64)] + list(starts)), 0
    idx = _prepend_batch_index(_window_indices(starts, dstarts, x_shape, u_shape, size))
    return scatter(x, idx, u, tuple(range(len(x_shape) + 1))), 0


dynamic_update_slice_p.impl = _dus_impl
dynamic_update_slice_p.abstract_eval = _dus_eval
dynamic_update_slice_p.batch = _dus_batch
_linear_in(dynamic_update_slice_p, (0, 1), _dus_transpose)


def dynamic_update_slice(x, update, start_indices):
    """x with `update` written at `start_indices` (traced scalars allowed, clamped to keep it inside).

    >>> import numpy as np, fnad; from fnad import lax
    >>> lax.dynamic_update_slice(np.zeros(5), np.ones(2), (1,))
    Array([0., 1., 1., 0., 0.], dtype=float64)
    >>> fnad.jit(lambda x, i: lax.dynamic_update_slice(x, np.ones((1, 2)), (i, 0)))(np.zeros((3, 2)), 2)
    Array([[0., 0.],
           [0., 0.],
           [1., 1.]], dtype=float64)
    """
    return dynamic_update_slice_p.bind(x, update, *_as_starts(start_indices))


# ----------------------------------------------------------------------------------------------
# gather and scatter (point indices along some axes, whole slices along the others)


def _index_shape(name, a, idx, axes):
    if not np.issubdtype(idx.dtype, np.integer):
        raise TypeError(f"{name}: indices must be integers, got {idx.str_short()}")
    if idx.ndim < 1 or idx.shape[-1] != len(axes) or not axes:
        raise ValueError(
            f"{name}: indices of shape {idx.shape} must end in an axis of size len(axes) = "
            f"{len(axes)} >= 1 (axes={axes})"
        )
    if len(set(axes)) != len(axes) or any(not 0 <= d < a.ndim for d in axes):
        raise ValueError(f"{name}: invalid axes {axes} for operand shape {a.shape}")
    return idx.shape[:-1] + tuple(n for d, n in enumerate(a.shape) if d not in axes)


def _indexed_first(ndim, axes):
    return tuple(axes) + tuple(d for d in range(ndim) if d not in axes)


def _prepend_batch_index(idx):
    """Index tuples (batch first) extended with the batch position: (N,) + B + (k,) -> (k + 1)."""
    a = get_aval(idx)
    return concatenate([iota(a.dtype, a.shape[:-1] + (1,), 0), idx], a.ndim - 1)


def _bounds(idx, shape, axes, offset=0):
    a = get_aval(idx)
    return broadcast_in_dim(np.array([shape[d] + offset for d in axes], a.dtype), a.shape, (a.ndim - 1,))


def _clamp_indices(idx, shape, axes):
    return min(max(idx, scalar_like(idx, 0)), _bounds(idx, shape, axes, -1))


def indices_in_bounds(idx, shape, axes):
    """Which index tuples are inside the operand (shape: the index batch shape)."""
    ok = bitwise_and(ge(idx, scalar_like(idx, 0)), lt(idx, _bounds(idx, shape, axes)))
    return reduce_and(ok, (get_aval(ok).ndim - 1,))


def _over_updates(mask, updates):
    """A mask over the index batch shape, broadcast over the updates' trailing (slice) axes."""
    return broadcast_in_dim(mask, get_aval(updates).shape, tuple(range(get_aval(mask).ndim)))


gather_p = Primitive("gather")


def _gather_eval(a, idx, axes):
    shape = _index_shape("gather", a, idx, axes)
    if int(np.prod(idx.shape[:-1])) and any(a.shape[d] == 0 for d in axes):
        raise IndexError(f"gather: cannot index axis of size 0 (operand shape {a.shape}, axes {axes})")
    return ShapedArray(shape, a.dtype, a.weak_type)


def _gather_impl(x, idx, axes):
    x, idx = np.asarray(x), np.asarray(idx)
    points = tuple(np.clip(idx[..., j], 0, x.shape[d] - 1) for j, d in enumerate(axes))
    return np.transpose(x, _indexed_first(x.ndim, axes))[points]


def _gather_transpose(ct, x, idx, axes):
    zeros = full(x.aval.shape, 0, x.aval.dtype)
    return [scatter_add(zeros, _clamp_indices(idx, x.aval.shape, axes), ct, axes), None]


def _gather_batch(vals, dims, axes):
    (x, idx), (dx, di) = vals, dims
    if di is None:
        new_axes = tuple(d + (d >= dx) for d in axes)
        kept_before = builtins.sum(1 for d in range(dx) if d not in new_axes)
        return gather(x, idx, new_axes), get_aval(idx).ndim - 1 + kept_before
    idx = move_bdim(idx, di, 0, None)
    if dx is None:
        return gather(x, idx, axes), 0
    return gather(move_bdim(x, dx, 0, None), _prepend_batch_index(idx), (0,) + tuple(d + 1 for d in axes)), 0


gather_p.impl = _gather_impl
gather_p.abstract_eval = _gather_eval
gather_p.batch = _gather_batch
_linear_in(gather_p, (0,), _gather_transpose)


def gather(x, indices, axes):
    """Points of x at index tuples `indices[..., :]` along `axes` (clamped), other axes whole.

    >>> import numpy as np, fnad; from fnad import lax
    >>> x = np.arange(12.0).reshape(3, 4)
    >>> lax.gather(x, np.array([[2], [0]]), (0,))      # rows 2 and 0
    Array([[ 8.,  9., 10., 11.],
           [ 0.,  1.,  2.,  3.]], dtype=float64)
    >>> lax.gather(x, np.array([[0, 1], [2, 3]]), (0, 1))  # points x[0, 1] and x[2, 3]
    Array([ 1., 11.], dtype=float64)
    >>> fnad.grad(lambda x: lax.gather(x, np.array([[1], [1]]), (0,)).sum())(np.ones(3))
    Array([0., 2., 0.], dtype=float64)
    """
    return gather_p.bind(x, indices, axes=tuple(int(d) for d in axes))


def _scatter_eval(name):
    def abstract_eval(a, idx, updates, axes, complex_pairs=False):
        shape = _index_shape(name, a, idx, axes)
        if complex_pairs and (a.dtype.kind != "f" or a.shape[-1:] != (2,) or a.ndim - 1 in axes):
            raise ValueError(
                f"{name}: complex_pairs needs a float operand whose last, non-indexed axis holds (re, im) pairs, "
                f"got {a.str_short()} with axes {axes}"
            )
        if updates.shape != shape or updates.dtype != a.dtype:
            raise ValueError(
                f"{name}: updates {updates.str_short()} must have the operand's dtype {a.dtype.name} "
                f"and shape {shape} (the index batch shape {idx.shape[:-1]} + the operand's "
                f"non-indexed axes) for operand {a.str_short()}, axes {axes}"
            )
        return ShapedArray(a.shape, a.dtype, a.weak_type)

    return abstract_eval


def _scatter_impl(combine):
    """NumPy scatter; `combine` is a ufunc (its .at accumulates duplicates) or None (assignment)."""

    def impl(x, idx, updates, axes, complex_pairs=False):
        if complex_pairs:  # float (re, im) pairs on a last axis, combined as complex numbers
            out = impl(_as_complex(x), idx, _as_complex(updates), axes)
            return out[..., None].view(np.asarray(x).dtype)
        out = np.array(x, copy=True)
        idx, updates = np.asarray(idx), np.asarray(updates)
        valid = np.all((idx >= 0) & (idx < np.array([out.shape[d] for d in axes])), axis=-1)
        points, values = tuple(idx[valid].T), updates[valid]
        view = np.transpose(out, _indexed_first(out.ndim, axes))
        if combine is None:
            view[points] = values
        else:
            combine.at(view, points, values)
        return out

    return impl


def _as_complex(pairs):
    """Float pairs (re, im) on a last axis of size 2 as complex numbers."""
    pairs = np.ascontiguousarray(pairs)
    return pairs.view(np.dtype(f"c{2 * pairs.dtype.itemsize}"))[..., 0]


def _scatter_batch(prim):
    def rule(vals, dims, axes):
        (x, idx, u), (dx, di, du) = vals, dims
        size = _batch_size(vals, dims)
        x = move_bdim(x, dx, 0, size)
        shifted = tuple(d + 1 for d in axes)
        if di is None:
            u = move_bdim(u, du, get_aval(idx).ndim - 1, size)
            return prim.bind(x, idx, u, axes=shifted), 0
        idx = _prepend_batch_index(move_bdim(idx, di, 0, size))
        return prim.bind(x, idx, move_bdim(u, du, 0, size), axes=(0,) + shifted), 0

    return rule


def _make_scatter(name, combine):
    p = Primitive(name)
    p.impl = _scatter_impl(combine)
    p.abstract_eval = _scatter_eval(name)
    p.batch = _scatter_batch(p)
    return p


scatter_p = _make_scatter("scatter", None)
scatter_add_p = _make_scatter("scatter_add", np.add)
scatter_mul_p = _make_scatter("scatter_mul", np.multiply)
scatter_min_p = _make_scatter("scatter_min", np.minimum)
scatter_max_p = _make_scatter("scatter_max", np.maximum)


def _scatter_fn(prim):
    def f(x, indices, updates, axes):
        return prim.bind(x, indices, updates, axes=tuple(int(d) for d in axes))

    f.__name__ = prim.name
    f.__doc__ = f"{prim.name}: combine `updates` into x at the index tuples (out-of-bounds ones are dropped)."
    return f


scatter, scatter_add, scatter_mul, scatter_min, scatter_max = map(
    _scatter_fn, [scatter_p, scatter_add_p, scatter_mul_p, scatter_min_p, scatter_max_p]
)
scatter.__doc__ += """

    >>> import numpy as np, fnad; from fnad import lax
    >>> lax.scatter(np.zeros((2, 2)), np.array([[1]]), np.array([[5.0, 6.0]]), (0,))
    Array([[0., 0.],
           [5., 6.]], dtype=float64)
    >>> fnad.grad(lambda u: lax.scatter(np.zeros(3), np.array([[2]]), u, (0,)).sum())(np.array([1.0]))
    Array([1.], dtype=float64)
    """
scatter_add.__doc__ += """

    >>> import numpy as np, fnad; from fnad import lax
    >>> idx = np.array([[0], [2], [0]])
    >>> lax.scatter_add(np.zeros(3), idx, np.array([1.0, 2.0, 3.0]), (0,))
    Array([4., 0., 2.], dtype=float64)
    >>> lax.scatter(np.zeros(3), np.array([[1], [5]]), np.array([7.0, 9.0]), (0,))   # index 5 is dropped
    Array([0., 7., 0.], dtype=float64)
    >>> lax.scatter_max(np.zeros((2, 2)), np.array([[1]]), np.array([[-1.0, 4.0]]), (0,))
    Array([[0., 0.],
           [0., 4.]], dtype=float64)
    """


def _scatter_add_transpose(ct, x, idx, updates, axes):
    ct_u = None
    if is_undefined(updates):
        g = gather(ct, idx, axes)
        ct_u = select(_over_updates(indices_in_bounds(idx, _aval(x).shape, axes), g), g, zeros_like(g))
    return [ct if is_undefined(x) else None, None, ct_u]


_linear_in(scatter_add_p, (0, 2), _scatter_add_transpose)


def _zeros(aval):
    return full(aval.shape, 0, aval.dtype)


def _scatter_jvp(primals, tangents, axes):
    # Tangent: gx where no update landed, plus the tangent of the update that won each point
    # (found by scattering update ids, so duplicates agree with the primal).
    (x, idx, u), (gx, _, gu) = primals, tangents
    ans = scatter(x, idx, u, axes)
    if type(gx) is Zero and type(gu) is Zero:
        return ans, Zero(tangent_aval(get_aval(ans)))
    xa, ua = get_aval(x), get_aval(u)
    ids = add(reshape(iota(np.int64, ua.size), ua.shape), np.array(1, np.int64))
    winner = scatter(full(xa.shape, 0, np.int64), idx, ids, axes)
    out = Zero(tangent_aval(xa))
    if type(gx) is not Zero:
        out = select(ne(winner, np.array(0, np.int64)), zeros_like(gx), gx)
    if type(gu) is not Zero:
        won = eq(gather(winner, idx, axes), ids)
        out = add_tangents(out, scatter_add(_zeros(tangent_aval(xa)), idx, select(won, gu, zeros_like(gu)), axes))
    return ans, out


scatter_p.jvp = _scatter_jvp


def _scatter_mul_jvp(primals, tangents, axes):
    # d/dx: scatter_mul(gx, idx, u). d/du_b: x * (product of the other updates at b's point),
    # computed without dividing by zero: from the product of the nonzero updates and their zero count.
    (x, idx, u), (gx, _, gu) = primals, tangents
    ans = scatter_mul(x, idx, u, axes)
    out = Zero(tangent_aval(get_aval(ans)))
    if type(gx) is not Zero:
        out = scatter_mul(gx, idx, u, axes)
    if type(gu) is not Zero:
        shape = get_aval(x).shape
        nonzero = ne(u, scalar_like(u, 0))
        safe_u = select(nonzero, u, full(get_aval(u).shape, 1, get_aval(u).dtype))
        product = gather(scatter_mul(full(shape, 1, get_aval(x).dtype), idx, safe_u, axes), idx, axes)
        zeros = gather(
            scatter_add(full(shape, 0, np.int64), idx, convert_element_type(eq(u, scalar_like(u, 0)), np.int64), axes),
            idx,
            axes,
        )
        zero_count_is = lambda n: eq(zeros, np.array(n, np.int64))
        others = select(
            nonzero,
            select(zero_count_is(0), div(product, safe_u), zeros_like(u)),
            select(zero_count_is(1), product, zeros_like(u)),
        )
        out = add_tangents(out, mul(x, scatter_add(_zeros(get_aval(x)), idx, mul(gu, others), axes)))
    return ans, out


scatter_mul_p.jvp = _scatter_mul_jvp
scatter_mul_p.transpose = lambda ct, x, idx, u, axes: [scatter_mul(ct, idx, u, axes), None, None]


def _scatter_extremum_jvp(prim):
    # The tangent of whichever of x and the updates attains the result; ties share it equally.
    def jvp(primals, tangents, axes):
        (x, idx, u), (gx, _, gu) = primals, tangents
        ans = prim.bind(x, idx, u, axes=axes)
        if type(gx) is Zero and type(gu) is Zero:
            return ans, Zero(tangent_aval(get_aval(ans)))
        shape, dtype = get_aval(x).shape, get_aval(x).dtype
        x_hit = eq(x, ans)
        u_hit = bitwise_and(eq(u, gather(ans, idx, axes)), _over_updates(indices_in_bounds(idx, shape, axes), u))
        count = add(
            convert_element_type(x_hit, dtype),
            scatter_add(full(shape, 0, dtype), idx, convert_element_type(u_hit, dtype), axes),
        )
        total = Zero(tangent_aval(get_aval(ans)))
        if type(gx) is not Zero:
            total = select(x_hit, gx, zeros_like(gx))
        if type(gu) is not Zero:
            total = add_tangents(total, scatter_add(_zeros(get_aval(x)), idx, select(u_hit, gu, zeros_like(gu)), axes))
        return ans, div(total, max(count, scalar_like(count, 1)))

    prim.jvp = jvp


_scatter_extremum_jvp(scatter_min_p)
_scatter_extremum_jvp(scatter_max_p)


def take_along_axis(x, indices, axis):
    """x[..., indices[...], ...] along `axis`: indices has x's shape except along `axis` (clamped).

    >>> import numpy as np, fnad; from fnad import lax
    >>> x = np.array([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]])
    >>> lax.take_along_axis(x, np.array([[2, 0], [1, 1]]), 1)
    Array([[30., 10.],
           [50., 50.]], dtype=float64)
    """
    a = get_aval(indices)
    shape = a.shape + (1,)
    columns = [reshape(indices, shape) if d == axis else iota(a.dtype, shape, d) for d in range(a.ndim)]
    return gather(x, concatenate(columns, a.ndim), tuple(range(a.ndim)))


# Complex values under jit: these move the real and imaginary parts alike (fnad.passes.lower_complex).
for _p in (
    slice_p,
    pad_p,
    concatenate_p,
    rev_p,
    dynamic_slice_p,
    dynamic_update_slice_p,
    gather_p,
):
    _p.complex_parts = componentwise_parts(_p)


# Scatters under jit write the interleaved (re, im) pairs of the operand (one pass over it, not one per
# part): .at[].set/add as real scatters (the pair axis is one more non-indexed axis), .at[].multiply/min/max
# with `complex_pairs`, telling the lowering (and the NumPy impl) to combine each update with its point as
# one complex number (a product, or NumPy's lexicographic order), which the parts taken apart cannot.
def _scatter_interleaved(prim, **params):
    return lambda x, idx, u, axes: prim.bind(x, idx, u, axes=axes, **params)


for _p in (scatter_p, scatter_add_p):
    _p.complex_interleaved = _scatter_interleaved(_p)
for _p in (scatter_mul_p, scatter_min_p, scatter_max_p):
    _p.complex_interleaved = _scatter_interleaved(_p, complex_pairs=True)
