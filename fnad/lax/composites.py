"""lax functions that JAX offers and fnad writes as compositions of its primitives, in JAX's
signatures: `dot`, `clamp`, `top_k` and the approximate top-k, shape and stacking helpers, indexing
along one axis, JAX's dimension-number `gather` and `scatter*` (with their named tuples and modes) over
fnad's point gather and scatter, and the convolution patches.

They are written with existing primitives, so every transform and `jit` handles them. `clamp` carries
JAX's own derivative rule (a custom jvp), because composing max and min would split the derivative
differently where the operand touches a bound."""

from __future__ import annotations

import builtins
import enum
import itertools
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ..core import get_aval
from ..custom_derivatives import custom_jvp
from ..primitives import elementwise as ew
from ..primitives import reductions as red
from ..primitives.conv import ConvDimensionNumbers, conv_dimension_numbers, conv_general_dilated
from ..primitives.dot import dot_general
from ..primitives.indexing import (
    concatenate,
    dynamic_slice,
    dynamic_update_slice,
    slice_in_dim,
    take_along_axis,
)
from ..primitives.indexing import gather as _point_gather
from ..primitives.indexing import scatter as _point_scatter
from ..primitives.indexing import scatter_add as _point_scatter_add
from ..primitives.indexing import scatter_max as _point_scatter_max
from ..primitives.indexing import scatter_min as _point_scatter_min
from ..primitives.indexing import scatter_mul as _point_scatter_mul
from ..primitives.shape import broadcast_in_dim, expand_dims, full, iota, reshape, squeeze, transpose
from ..primitives.sorting import sort
from .control_flow import while_loop
from .folds import reduce

__all__ = [
    "ConvGeneralDilatedDimensionNumbers",
    "DotDimensionNumbers",
    "GatherDimensionNumbers",
    "GatherScatterMode",
    "Precision",
    "ScatterDimensionNumbers",
    "approx_max_k",
    "approx_min_k",
    "batch_matmul",
    "broadcast",
    "broadcast_shapes",
    "broadcast_to_rank",
    "clamp",
    "clz",
    "collapse",
    "conv_general_dilated_patches",
    "dot",
    "dynamic_index_in_dim",
    "dynamic_slice_in_dim",
    "dynamic_update_index_in_dim",
    "dynamic_update_slice_in_dim",
    "empty",
    "full_like",
    "gather",
    "index_in_dim",
    "index_take",
    "optimization_barrier",
    "reciprocal",
    "reduce_xor",
    "scatter",
    "scatter_add",
    "scatter_apply",
    "scatter_max",
    "scatter_min",
    "scatter_mul",
    "scatter_sub",
    "select_n",
    "sort_key_val",
    "split",
    "square",
    "stack",
    "tile",
    "top_k",
    "unstack",
    "with_sharding_constraint",
]


def _strict_operand(x):
    """Python scalars count as int64/float64/bool, as lax's other strict functions take them."""
    return np.asarray(x) if type(x) in (int, float, bool) else x


def dot(lhs, rhs, *, dimension_numbers=None, precision=None, preferred_element_type=None):
    """The vector/matrix product of `lhs` and `rhs` (vector-vector, matrix-vector, matrix-matrix), or
    the contraction `dimension_numbers` names (as `dot_general`), as JAX's lax.dot. Operands of different
    dtypes are promoted; `preferred_element_type` sets the result's dtype. `precision` is accepted and
    ignored: fnad always computes at the operands' precision.

    >>> import numpy as np; from fnad import lax
    >>> lax.dot(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([1.0, 1.0]))
    Array([3., 7.], dtype=float64)
    """
    del precision
    lhs, rhs = _strict_operand(lhs), _strict_operand(rhs)
    la, ra = get_aval(lhs), get_aval(rhs)
    if dimension_numbers is None:
        if la.ndim not in (1, 2) or ra.ndim not in (1, 2) or la.shape[-1] != ra.shape[0]:
            raise ValueError(
                "lax.dot: without dimension_numbers it computes vector-vector, matrix-vector or matrix-matrix "
                f"products with matching inner sizes; got lhs shape {la.shape} and rhs shape {ra.shape}. "
                "Pass dimension_numbers=((lhs_contracting, rhs_contracting), (lhs_batch, rhs_batch)) otherwise."
            )
        dimension_numbers = (((la.ndim - 1,), (0,)), ((), ()))
    out = dot_general(lhs, rhs, dimension_numbers)
    if preferred_element_type is not None:
        out = ew.convert_element_type(out, np.dtype(preferred_element_type))
    return out


@custom_jvp
def _clamp(lo, x, hi):
    return ew.select(ew.lt(x, lo), lo, ew.select(ew.lt(hi, x), hi, x))  # rank-0 bounds broadcast


@_clamp.defjvp
def _clamp_jvp(primals, tangents):
    # JAX's rule: the operand's tangent passes strictly inside the bounds; a bound's passes where it
    # strictly binds (the lower one only while it is below the upper one).
    lo, x, hi = primals
    t_lo, t_x, t_hi = tangents
    zero = ew.zeros_like(t_x)
    inside = ew.bitwise_and(ew.lt(lo, x), ew.lt(x, hi))
    from_lo = ew.bitwise_and(ew.lt(x, lo), ew.lt(lo, hi))
    tangent = ew.add(
        ew.add(ew.select(inside, t_x, zero), ew.select(from_lo, t_lo, zero)), ew.select(ew.lt(hi, x), t_hi, zero)
    )
    return _clamp(lo, x, hi), tangent


def clamp(min, x, max):
    """`x` clipped elementwise to [min, max], as JAX's lax.clamp: `min` and `max` are scalars or have
    `x`'s shape, and all three have one dtype (Python scalars count as int64/float64). Derivatives are
    JAX's: `x`'s passes strictly inside the bounds, a bound's where it strictly binds.

    >>> import numpy as np; from fnad import lax
    >>> lax.clamp(0.0, np.array([-1.0, 0.5, 2.0]), 1.0)
    Array([0. , 0.5, 1. ], dtype=float64)
    """
    lo, x, hi = (_strict_operand(v) for v in (min, x, max))
    avals = [get_aval(v) for v in (lo, x, hi)]
    if len({a.dtype for a in avals}) != 1:
        raise TypeError(
            "lax.clamp requires arguments to have the same dtypes, got "
            + ", ".join(a.dtype.name for a in avals)
            + ". (Tip: fnad.numpy.clip is a similar function that does automatic type promotion on inputs.)"
        )
    for name, a in (("min", avals[0]), ("max", avals[2])):
        if a.shape not in ((), avals[1].shape):
            raise TypeError(
                f"lax.clamp requires {name}.shape == operand.shape or {name}.shape == (), got "
                f"{name}.shape={a.shape}, operand.shape={avals[1].shape}"
            )
    if avals[1].dtype.kind not in "fiu":
        raise TypeError(f"lax.clamp: needs numbers, got {avals[1].dtype.name}")
    return _clamp(lo, x, hi)


def _extreme_k(name, operand, k, axis, largest):
    """The `k` largest (or smallest) elements along `axis` and their int32 indices, equal values in
    index order; NaN counts as the largest."""
    x = _strict_operand(operand)
    aval = get_aval(x)
    if aval.ndim == 0:
        raise TypeError(f"lax.{name}: the operand must have at least one axis, got a scalar")
    if not -aval.ndim <= axis < aval.ndim:
        raise ValueError(f"lax.{name}: axis {axis} is out of range for an operand of rank {aval.ndim}")
    axis %= aval.ndim
    n = aval.shape[axis]
    if not isinstance(k, (int, np.integer)) or not 0 <= k <= n:
        raise ValueError(f"lax.{name}: k must be an integer in [0, {n}] (the size of axis {axis}), got {k!r}")
    if aval.dtype.kind in "biu":
        keys = [ew.bitwise_not(x)] if largest else [x]  # order-reversing without overflow
    elif largest:
        keys = [ew.bitwise_not(ew.is_nan(x)), ew.neg(x)]  # NaN first, then decreasing
    else:
        keys = [ew.is_nan(x), x]  # increasing, NaN last
    positions = iota(np.int32, aval.shape, axis)
    order = sort((*keys, positions), axis, num_keys=len(keys))[-1]
    indices = slice_in_dim(order, 0, int(k), axis=axis)
    return [take_along_axis(x, indices, axis), indices]  # a list, as JAX's (a multiple-result primitive)


def top_k(operand, k, *, axis=-1):
    """The `k` largest elements along `axis` in decreasing order and their int32 indices, a list of the
    two, as JAX's lax.top_k: equal values keep their order (lower index first) and NaN counts as the
    largest. Differentiable in the values (the derivative flows to the chosen elements).

    >>> import numpy as np; from fnad import lax
    >>> lax.top_k(np.array([1.0, 3.0, 2.0, 3.0]), 3)
    [Array([3., 3., 2.], dtype=float64), Array([1, 3, 2], dtype=int32)]
    """
    return _extreme_k("top_k", operand, k, axis, largest=True)


def _approx_k(name, largest):
    def approx_k(
        operand,
        k,
        reduction_dimension=-1,
        recall_target=0.95,
        reduction_input_size_override=-1,
        aggregate_to_topk=True,
    ):
        del recall_target, reduction_input_size_override
        n = get_aval(operand).shape[reduction_dimension] if get_aval(operand).ndim else 0
        # Without aggregation JAX may return more than k candidates; on CPU it returns them all, sorted.
        return _extreme_k(
            name, operand, k if aggregate_to_topk else n, reduction_dimension, largest
        )  # a list, as JAX's

    approx_k.__name__ = name
    which = "largest" if largest else "smallest"
    approx_k.__doc__ = (
        f"The `k` {which} elements along `reduction_dimension` and their int32 indices, a list of the two: fnad's "
        "answer is exact (JAX's approximation on CPU is exact too); with `aggregate_to_topk=False` all "
        f"elements come back, ordered from the {which}."
    )
    return approx_k


approx_max_k = _approx_k("approx_max_k", largest=True)
approx_min_k = _approx_k("approx_min_k", largest=False)


# ----------------------------------------------------------------------------------------------
# Shapes, stacking and splitting


def _canonical_axis(name, axis, ndim):
    if not -ndim <= axis < ndim:
        raise ValueError(f"lax.{name}: axis {axis} is out of range for an operand of rank {ndim}")
    return axis % ndim


def broadcast(operand, sizes, *, out_sharding=None):
    """`operand` broadcast with new leading axes of `sizes`, as JAX's lax.broadcast.

    >>> import numpy as np; from fnad import lax
    >>> lax.broadcast(np.array([1.0, 2.0]), (2,))
    Array([[1., 2.],
           [1., 2.]], dtype=float64)
    """
    del out_sharding
    x = _strict_operand(operand)
    aval, sizes = get_aval(x), tuple(int(s) for s in sizes)
    return broadcast_in_dim(x, sizes + aval.shape, tuple(range(len(sizes), len(sizes) + aval.ndim)))


def broadcast_to_rank(x, rank):
    """`x` with leading axes of size 1 added up to rank `rank`."""
    x = _strict_operand(x)
    ndim = get_aval(x).ndim
    if rank < ndim:
        raise ValueError(f"lax.broadcast_to_rank: rank {rank} is below the operand's rank {ndim}")
    return x if rank == ndim else broadcast(x, (1,) * (rank - ndim))


def broadcast_shapes(*shapes):
    """The shape NumPy's broadcasting gives the `shapes`, as a tuple (ValueError if they do not broadcast)."""
    try:
        return tuple(int(n) for n in np.broadcast_shapes(*(tuple(s) for s in shapes)))
    except ValueError:
        raise ValueError(f"Incompatible shapes for broadcasting: shapes={[tuple(s) for s in shapes]}") from None


def collapse(operand, start_dimension, stop_dimension=None):
    """`operand` with the axes [start_dimension, stop_dimension) merged into one, as JAX's lax.collapse.

    >>> import numpy as np; from fnad import lax
    >>> lax.collapse(np.zeros((2, 3, 4)), 1).shape
    (2, 12)
    """
    shape = get_aval(operand).shape
    start, stop, _ = builtins.slice(start_dimension, stop_dimension).indices(len(shape))  # Python's rules
    stop = max(start, stop)
    size = int(np.prod(shape[start:stop], dtype=np.int64))
    return reshape(operand, shape[:start] + (size,) + shape[stop:])


def full_like(x, fill_value, dtype=None, shape=None, sharding=None):
    """An array of `shape` (default x's) and `dtype` (default x's) filled with `fill_value`; `x` may be
    anything with `shape` and `dtype`, such as a ShapeDtypeStruct."""
    del sharding
    aval = get_aval(x) if not (hasattr(x, "shape") and hasattr(x, "dtype")) else x
    return full(tuple(aval.shape if shape is None else shape), fill_value, np.dtype(dtype or aval.dtype))


def empty(shape, dtype, *, out_sharding=None):
    """An array of `shape` and `dtype`; its values are zeros (JAX leaves them unspecified)."""
    del out_sharding
    return full(tuple(shape), 0, np.dtype(dtype))


def stack(operands, axis=0):
    """The same-shaped `operands` stacked along a new axis `axis`, as JAX's lax.stack."""
    operands = [_strict_operand(x) for x in operands]
    if not operands:
        raise ValueError("lax.stack: needs at least one operand")
    ndim = get_aval(operands[0]).ndim
    axis = _canonical_axis("stack", axis, ndim + 1)
    return concatenate([expand_dims(x, (axis,)) for x in operands], axis)


def unstack(x, axis=0):
    """The slices of `x` along `axis`, as a tuple (the inverse of `stack`)."""
    aval = get_aval(x)
    axis = _canonical_axis("unstack", axis, aval.ndim)
    return tuple(index_in_dim(x, i, axis, keepdims=False) for i in range(aval.shape[axis]))


def split(operand, sizes, axis=0):
    """`operand` cut along `axis` into consecutive pieces of `sizes`, as JAX's lax.split.

    >>> import numpy as np; from fnad import lax
    >>> lax.split(np.arange(5.0), (2, 3))
    [Array([0., 1.], dtype=float64), Array([2., 3., 4.], dtype=float64)]
    """
    aval = get_aval(operand)
    axis = _canonical_axis("split", axis, aval.ndim)
    sizes = [int(s) for s in sizes]
    if any(s < 0 for s in sizes) or sum(sizes) != aval.shape[axis]:
        raise ValueError(
            f"lax.split: sizes {tuple(sizes)} must be non-negative and sum to the size {aval.shape[axis]} of axis {axis}"
        )
    ends = np.cumsum([0] + sizes)
    return [slice_in_dim(operand, int(lo), int(hi), axis=axis) for lo, hi in itertools.pairwise(ends)]


def tile(operand, reps):
    """`operand` repeated `reps[d]` times along each axis d (one entry per axis), as JAX's lax.tile."""
    aval = get_aval(operand)
    reps = tuple(int(r) for r in reps)
    if len(reps) != aval.ndim or any(r < 0 for r in reps):
        raise TypeError(
            f"reps length must be equal to the ndim of x, got len(reps)={len(reps)} and x.ndim={aval.ndim} "
            "(and each rep non-negative)"
        )
    interleaved = tuple(n for pair in zip(reps, aval.shape) for n in pair)
    spread = broadcast_in_dim(operand, interleaved, tuple(range(1, 2 * aval.ndim, 2)))
    return reshape(spread, tuple(r * n for r, n in zip(reps, aval.shape)))


# ----------------------------------------------------------------------------------------------
# Indexing along one axis


def index_in_dim(operand, index, axis=0, keepdims=True):
    """The slice at the static `index` (negative counts from the end) along `axis`."""
    aval = get_aval(operand)
    axis = _canonical_axis("index_in_dim", axis, aval.ndim)
    n = aval.shape[axis]
    if not -n <= index < n:
        raise IndexError(f"index {index} is out of bounds for axis {axis} with size {n}")
    index %= n
    out = slice_in_dim(operand, index, index + 1, axis=axis)
    return out if keepdims else squeeze(out, (axis,))


def _start_in_dim(start, size):
    """A start index counted from the end when negative, as JAX's allow_negative_indices."""
    if type(start) is int or isinstance(start, np.integer):
        return start + size if start < 0 else start
    return ew.select(ew.lt(start, ew.scalar_like(start, 0)), ew.add(start, ew.scalar_like(start, size)), start)


def dynamic_slice_in_dim(operand, start_index, slice_size, axis=0, *, allow_negative_indices=True):
    """The `slice_size` elements from the (traced) `start_index` along `axis` (clamped into bounds).

    >>> import numpy as np; from fnad import lax
    >>> lax.dynamic_slice_in_dim(np.arange(6.0), -2, 2)
    Array([4., 5.], dtype=float64)
    """
    aval = get_aval(operand)
    axis = _canonical_axis("dynamic_slice_in_dim", axis, aval.ndim)
    if allow_negative_indices:
        start_index = _start_in_dim(start_index, aval.shape[axis])
    starts = [0] * aval.ndim
    starts[axis] = start_index
    sizes = list(aval.shape)
    sizes[axis] = int(slice_size)
    return dynamic_slice(operand, starts, sizes)


def dynamic_index_in_dim(operand, index, axis=0, keepdims=True, *, allow_negative_indices=True):
    """The slice at the (traced) `index` along `axis`."""
    out = dynamic_slice_in_dim(operand, index, 1, axis, allow_negative_indices=allow_negative_indices)
    return out if keepdims else squeeze(out, (axis % get_aval(operand).ndim,))


def dynamic_update_slice_in_dim(operand, update, start_index, axis, *, allow_negative_indices=True):
    """`operand` with `update` written from the (traced) `start_index` along `axis`."""
    aval = get_aval(operand)
    axis = _canonical_axis("dynamic_update_slice_in_dim", axis, aval.ndim)
    if allow_negative_indices:
        start_index = _start_in_dim(start_index, aval.shape[axis])
    starts = [0] * aval.ndim
    starts[axis] = start_index
    return dynamic_update_slice(operand, update, starts)


def dynamic_update_index_in_dim(operand, update, index, axis, *, allow_negative_indices=True):
    """`operand` with the slice at the (traced) `index` along `axis` replaced by `update` (with or without
    that axis)."""
    ndim = get_aval(operand).ndim
    axis = _canonical_axis("dynamic_update_index_in_dim", axis, ndim)
    if get_aval(update).ndim == ndim - 1:
        update = expand_dims(update, (axis,))
    return dynamic_update_slice_in_dim(operand, update, index, axis, allow_negative_indices=allow_negative_indices)


def index_take(src, idxs, axes):
    """`src` at the points `idxs[0][i], idxs[1][i], ...` along `axes` (clamped), other axes whole.

    >>> import numpy as np; from fnad import lax
    >>> lax.index_take(np.arange(6.0).reshape(3, 2), (np.array([2, 0]),), (0,))
    Array([[4., 5.],
           [0., 1.]], dtype=float64)
    """
    idxs = list(idxs)
    if len(idxs) != len(axes):
        raise ValueError(f"lax.index_take: one index array per axis, got {len(idxs)} for axes {tuple(axes)}")
    return _point_gather(src, stack([_strict_operand(i) for i in idxs], axis=1), tuple(axes))


# ----------------------------------------------------------------------------------------------
# Elementwise and reductions


def reciprocal(x):
    """`1 / x` elementwise."""
    return ew.integer_pow(_strict_operand(x), -1)


def square(x):
    """`x * x` elementwise."""
    return ew.integer_pow(_strict_operand(x), 2)


def select_n(which, *cases):
    """`cases[which]` elementwise: `which` is boolean (two cases: False picks the first) or an integer
    array (any number of cases), of the cases' shape or a scalar; the cases share shape and dtype.

    >>> import numpy as np; from fnad import lax
    >>> lax.select_n(np.array([0, 2, 1]), np.zeros(3), np.ones(3), np.full(3, 2.0))
    Array([0., 2., 1.], dtype=float64)
    """
    if not cases:
        raise ValueError("lax.select_n: needs at least one case")
    which = _strict_operand(which)
    cases = [_strict_operand(c) for c in cases]
    w = get_aval(which)
    avals = [get_aval(c) for c in cases]
    if len({(a.shape, a.dtype) for a in avals}) != 1:
        raise TypeError(f"lax.select_n: cases must have one shape and dtype, got {[a.str_short() for a in avals]}")
    if w.shape not in ((), avals[0].shape):
        raise TypeError(
            f"lax.select_n: which must be a scalar or have the cases' shape {avals[0].shape}, got {w.shape}"
        )
    if w.dtype == np.bool_:
        if len(cases) > 2:
            raise TypeError(f"lax.select_n: a boolean which selects between at most two cases, got {len(cases)}")
        return cases[0] if len(cases) == 1 else ew.select(which, cases[1], cases[0])
    if w.dtype.kind not in "iu":
        raise TypeError(f"lax.select_n: which must be boolean or an integer, got {w.dtype.name}")
    out = cases[0]
    for i, case in enumerate(cases[1:], 1):
        out = ew.select(ew.eq(which, ew.scalar_like(which, i)), case, out)
    return out


def sort_key_val(keys, values, dimension=-1, is_stable=True):
    """`keys` sorted along `dimension`, and `values` permuted alike, as a tuple."""
    del is_stable
    return sort((keys, values), dimension, num_keys=1)


def clz(x):
    """The number of leading zero bits of each integer (of its width; 0 for negative ones).

    >>> import numpy as np; from fnad import lax
    >>> lax.clz(np.array([0, 1, 255], np.int32))
    Array([32, 31, 24], dtype=int32)
    """
    x = _strict_operand(x)
    dtype = get_aval(x).dtype
    if dtype.kind not in "iu":
        raise TypeError(f"lax.clz: needs integers, got {dtype.name}")
    bits = 8 * dtype.itemsize
    shift = 1
    while shift < bits:  # smear the highest set bit into every lower position
        x = ew.bitwise_or(x, ew.shift_right_logical(x, ew.scalar_like(x, shift)))
        shift *= 2
    return ew.sub(ew.scalar_like(x, bits), ew.population_count(x))


def reduce_xor(operand, axes):
    """The bitwise exclusive or of the booleans or integers of `operand` over `axes`."""
    x = _strict_operand(operand)
    dtype = get_aval(x).dtype
    if dtype.kind not in "biu":
        raise TypeError(f"lax.reduce_xor: needs booleans or integers, got {dtype.name}")
    return reduce(x, np.zeros((), dtype), ew.bitwise_xor, tuple(axes))


def batch_matmul(lhs, rhs, precision=None):
    """Matrix products of the last two axes, batched over the leading axes (equal in both operands).

    >>> import numpy as np; from fnad import lax
    >>> lax.batch_matmul(np.ones((2, 1, 3)), np.ones((2, 3, 2)))
    Array([[[3., 3.]],
    <BLANKLINE>
           [[3., 3.]]], dtype=float64)
    """
    del precision
    lhs, rhs = _strict_operand(lhs), _strict_operand(rhs)
    la, ra = get_aval(lhs), get_aval(rhs)
    if la.ndim != ra.ndim or la.ndim < 2:
        raise ValueError(
            f"batch_matmul requires arguments of equal rank at least 2, got lhs {la.shape} and rhs {ra.shape}"
        )
    if la.shape[:-2] != ra.shape[:-2]:
        raise ValueError(f"batch_matmul requires equal batch dimensions, got {la.shape[:-2]} and {ra.shape[:-2]}")
    batch = tuple(range(la.ndim - 2))
    return dot_general(lhs, rhs, (((la.ndim - 1,), (ra.ndim - 2,)), (batch, batch)))


def optimization_barrier(operand, /):
    """`operand` (any pytree) unchanged: fnad's compiler does not move computations across calls, so
    there is nothing to block."""
    return operand


def with_sharding_constraint(x, shardings):
    """`x` unchanged: fnad runs each process on one device, where every sharding is the whole array."""
    del shardings
    return x


# ----------------------------------------------------------------------------------------------
# JAX's dimension-number gather and scatter, built on fnad's point gather and scatter primitives:
# each window becomes the points it covers (only along the axes where it is narrower than the
# operand; other axes stay whole), so derivatives, batching and compilation are the primitives'.


class GatherDimensionNumbers(NamedTuple):
    """How `lax.gather` maps index vectors to windows, as JAX's (XLA's) GatherDimensionNumbers."""

    offset_dims: tuple
    collapsed_slice_dims: tuple
    start_index_map: tuple
    operand_batching_dims: tuple = ()
    start_indices_batching_dims: tuple = ()


class ScatterDimensionNumbers(NamedTuple):
    """How `lax.scatter*` maps index vectors and updates to windows, as JAX's ScatterDimensionNumbers."""

    update_window_dims: tuple
    inserted_window_dims: tuple
    scatter_dims_to_operand_dims: tuple
    operand_batching_dims: tuple = ()
    scatter_indices_batching_dims: tuple = ()


class GatherScatterMode(enum.Enum):
    """What gathers and scatters do with windows out of bounds: CLIP moves them inside,
    FILL_OR_DROP fills (gather) or drops (scatter) them, PROMISE_IN_BOUNDS is CLIP for gathers
    and FILL_OR_DROP for scatters here (what XLA does on CPU)."""

    CLIP = 1
    FILL_OR_DROP = 2
    PROMISE_IN_BOUNDS = 3
    ONE_HOT = 4

    @staticmethod
    def from_any(s):
        if isinstance(s, GatherScatterMode):
            return s
        named = {"clip": "CLIP", None: "FILL_OR_DROP", "fill": "FILL_OR_DROP", "drop": "FILL_OR_DROP"}
        named |= {"promise_in_bounds": "PROMISE_IN_BOUNDS", "one_hot": "ONE_HOT"}
        if s not in named:
            raise ValueError(f'Unknown gather mode "{s}"')
        return GatherScatterMode[named[s]]


class Precision(enum.Enum):
    """JAX's precision levels for dots and convolutions; fnad accepts and ignores them (it computes in
    the operands' dtype)."""

    DEFAULT = 0
    HIGH = 1
    HIGHEST = 2


def _mode(mode, promise):
    mode = GatherScatterMode.from_any(mode)
    if mode is GatherScatterMode.ONE_HOT:
        raise NotImplementedError("gather/scatter mode 'one_hot' is not implemented in fnad")
    return promise if mode is GatherScatterMode.PROMISE_IN_BOUNDS else mode


def _check_no_batching_dims(name, dn):
    if dn[3] or dn[4]:
        raise NotImplementedError(f"lax.{name}: operand_batching_dims are not implemented in fnad (vmap instead)")


def _window_points(starts, window, shape):
    """Index tuples batch + window[D] + (len(D),) of the points of windows of sizes `window` at
    `starts` (a list per operand axis: batch-shaped start arrays or None for 0), over the axes D where
    a window is narrower than the operand (axis 0 if none is). Also returns D."""
    axes = [d for d in range(len(shape)) if window[d] != shape[d]] or [0]
    batch_shape = next((get_aval(s).shape for s in starts if s is not None), None)
    nb = len(batch_shape)
    full_shape = batch_shape + tuple(window[d] for d in axes) + (1,)
    columns = []
    for j, d in enumerate(axes):
        offsets = iota(np.int64, full_shape, nb + j)
        if starts[d] is not None:
            offsets = ew.add(offsets, broadcast_in_dim(starts[d], full_shape, tuple(range(nb))))
        columns.append(offsets)
    return concatenate(columns, len(full_shape) - 1), axes


def _window_starts(name, indices, index_map, shape, window, clip):
    """Per operand axis, the batch-shaped start of each window (None where the index vector does
    not set it), clamped into bounds when `clip`; and whether each window is inside the operand."""
    idx = ew.convert_element_type(_strict_operand(indices), np.int64)
    ia = get_aval(idx)
    if ia.ndim < 1 or ia.shape[-1] != len(index_map):
        raise TypeError(
            f"lax.{name}: the last axis of the indices (shape {ia.shape}) must have one entry per index map "
            f"axis {tuple(index_map)}"
        )
    starts, inside = [None] * len(shape), None
    for j, d in enumerate(index_map):
        s = reshape(slice_in_dim(idx, j, j + 1, axis=ia.ndim - 1), ia.shape[:-1])
        upper = ew.scalar_like(s, shape[d] - window[d])
        ok = ew.bitwise_and(ew.ge(s, ew.scalar_like(s, 0)), ew.le(s, upper))
        inside = ok if inside is None else ew.bitwise_and(inside, ok)
        starts[d] = ew.min(ew.max(s, ew.scalar_like(s, 0)), upper) if clip else s
    if inside is None:
        inside = full(ia.shape[:-1], True, np.bool_)
    return starts, inside


def _check_dims(name, dims, ndim, what):
    dims = tuple(int(d) for d in dims)
    if len(set(dims)) != len(dims) or any(not 0 <= d < ndim for d in dims):
        raise ValueError(f"lax.{name}: {what} {dims} must be distinct axes in [0, {ndim})")
    return dims


def _gather_general(operand, start_indices, dn, slice_sizes, mode, fill_value):
    x = _strict_operand(operand)
    a = get_aval(x)
    _check_no_batching_dims("gather", dn)
    collapsed = _check_dims("gather", dn.collapsed_slice_dims, a.ndim, "collapsed_slice_dims")
    index_map = _check_dims("gather", dn.start_index_map, a.ndim, "start_index_map")
    slice_sizes = tuple(int(s) for s in slice_sizes)
    if len(slice_sizes) != a.ndim or any(not 0 <= s <= n for s, n in zip(slice_sizes, a.shape)):
        raise TypeError(f"lax.gather: slice_sizes {slice_sizes} must give a size in [0, n] per axis of {a.shape}")
    if any(slice_sizes[d] != 1 for d in collapsed):
        raise TypeError(f"lax.gather: collapsed_slice_dims {collapsed} must have slice size 1, got {slice_sizes}")
    if a.ndim == 0:
        raise TypeError("lax.gather: the operand must have at least one axis")
    mode = _mode(mode, GatherScatterMode.CLIP)
    starts, inside = _window_starts("gather", start_indices, index_map, a.shape, slice_sizes, clip=True)
    nb = get_aval(inside).ndim
    kept = [d for d in range(a.ndim) if d not in collapsed]
    offset_dims = tuple(int(d) for d in dn.offset_dims)
    out_rank = nb + len(kept)
    if (
        len(offset_dims) != len(kept)
        or list(offset_dims) != sorted(set(offset_dims))
        or offset_dims[-1:] >= (out_rank,)
    ):
        raise TypeError(
            f"lax.gather: offset_dims {offset_dims} must be increasing output axes, one per window axis not collapsed "
            f"({len(kept)})"
        )
    if all(s is None for s in starts):
        starts[0] = full(get_aval(inside).shape, 0, np.int64)
    points, axes = _window_points(starts, slice_sizes, a.shape)
    g = gather(x, points, axes)  # batch + window[axes] + the whole axes
    whole = [d for d in range(a.ndim) if d not in axes]
    source = {d: nb + i for i, d in enumerate(axes + whole)}
    g = transpose(g, tuple(range(nb)) + tuple(source[d] for d in range(a.ndim)))
    g = reshape(g, get_aval(inside).shape + tuple(slice_sizes[d] for d in kept))
    batch_positions = [p for p in range(out_rank) if p not in offset_dims]
    order = {p: i for i, p in enumerate(batch_positions)} | {p: nb + i for i, p in enumerate(offset_dims)}
    out = transpose(g, tuple(order[p] for p in range(out_rank)))
    if mode is GatherScatterMode.FILL_OR_DROP:
        if fill_value is None:
            fill_value = (
                np.nan
                if a.dtype.kind in "fc"
                else True
                if a.dtype == np.bool_
                else np.iinfo(a.dtype).min
                if a.dtype.kind == "i"
                else np.iinfo(a.dtype).max
            )
        out_shape = get_aval(out).shape
        mask = broadcast_in_dim(inside, out_shape, tuple(batch_positions))
        out = ew.select(mask, out, full(out_shape, fill_value, a.dtype))
    return out


def gather(
    operand,
    start_indices,
    dimension_numbers,
    slice_sizes=None,
    *,
    unique_indices=False,
    indices_are_sorted=False,
    mode=None,
    fill_value=None,
):
    """JAX's lax.gather: with a `GatherDimensionNumbers`, the windows of `slice_sizes` at the index
    vectors `start_indices[..., :]` (the last axis), laid out as `dimension_numbers` says. `mode`
    'clip' and 'promise_in_bounds' (the default) move windows into bounds, 'fill' fills windows out
    of bounds with `fill_value` (NaN, the smallest or largest integer, or True by default). With
    `dimension_numbers` a tuple of axes (and no `slice_sizes`), fnad's point gather (`fnad.primitives.indexing.gather`).

    >>> import numpy as np; from fnad import lax
    >>> dn = lax.GatherDimensionNumbers(offset_dims=(), collapsed_slice_dims=(0,), start_index_map=(0,))
    >>> lax.gather(np.array([5.0, 6.0, 7.0]), np.array([[2], [0]]), dn, (1,))
    Array([7., 5.], dtype=float64)
    """
    del unique_indices, indices_are_sorted
    if isinstance(dimension_numbers, GatherDimensionNumbers):
        mode = GatherScatterMode.PROMISE_IN_BOUNDS if mode is None else mode  # JAX's default for gathers
        if slice_sizes is None:
            raise TypeError("lax.gather: slice_sizes is required with GatherDimensionNumbers")
        return _gather_general(operand, start_indices, dimension_numbers, slice_sizes, mode, fill_value)
    if slice_sizes is not None or mode is not None or fill_value is not None:
        raise TypeError(
            "lax.gather: slice_sizes, mode and fill_value go with a GatherDimensionNumbers; "
            f"got dimension_numbers={dimension_numbers!r}"
        )
    return _point_gather(operand, start_indices, dimension_numbers)


def _scatter_general(name, point_scatter, operand, indices, updates, dn, mode):
    x, u = _strict_operand(operand), _strict_operand(updates)
    a, ua = get_aval(x), get_aval(u)
    _check_no_batching_dims(name, dn)
    if a.ndim == 0:
        raise TypeError(f"lax.{name}: the operand must have at least one axis")
    window_dims = _check_dims(name, dn.update_window_dims, ua.ndim, "update_window_dims")
    inserted = _check_dims(name, dn.inserted_window_dims, a.ndim, "inserted_window_dims")
    index_map = _check_dims(name, dn.scatter_dims_to_operand_dims, a.ndim, "scatter_dims_to_operand_dims")
    if len(window_dims) + len(inserted) != a.ndim:
        raise TypeError(
            f"lax.{name}: update_window_dims {window_dims} and inserted_window_dims {inserted} must together "
            f"cover the operand's {a.ndim} axes"
        )
    sizes = iter(ua.shape[d] for d in window_dims)
    window = tuple(1 if d in inserted else next(sizes) for d in range(a.ndim))
    if any(w > n for w, n in zip(window, a.shape)):
        raise TypeError(f"lax.{name}: update windows {window} are larger than the operand {a.shape}")
    mode = _mode(mode, GatherScatterMode.FILL_OR_DROP)
    clip = mode is GatherScatterMode.CLIP
    starts, inside = _window_starts(name, indices, index_map, a.shape, window, clip)
    batch_shape = get_aval(inside).shape
    scatter_dims = [d for d in range(ua.ndim) if d not in window_dims]
    if tuple(ua.shape[d] for d in scatter_dims) != batch_shape:
        raise TypeError(
            f"lax.{name}: updates of shape {ua.shape} must have the index batch shape {batch_shape} on their "
            f"axes other than update_window_dims {window_dims}"
        )
    nb = len(batch_shape)
    if all(s is None for s in starts):
        starts[0] = full(batch_shape, 0, np.int64)
    points, axes = _window_points(starts, window, a.shape)
    if not clip:  # a window partly outside is dropped whole: every one of its points made negative
        drop = broadcast_in_dim(ew.bitwise_not(inside), get_aval(points).shape, tuple(range(nb)))
        points = ew.select(drop, full(get_aval(points).shape, -1, np.int64), points)
    u = transpose(u, tuple(scatter_dims) + tuple(window_dims))
    u = reshape(u, batch_shape + window)
    whole = [d for d in range(a.ndim) if d not in axes]
    u = transpose(u, tuple(range(nb)) + tuple(nb + d for d in axes + whole))
    return point_scatter(x, points, u, axes)


def _scatter_wrapper(name, point_scatter):
    def scatter_fn(
        operand,
        scatter_indices,
        updates,
        dimension_numbers=None,
        *,
        axes=None,
        indices_are_sorted=False,
        unique_indices=False,
        mode=None,
    ):
        del indices_are_sorted, unique_indices
        if isinstance(dimension_numbers, ScatterDimensionNumbers):
            return _scatter_general(name, point_scatter, operand, scatter_indices, updates, dimension_numbers, mode)
        if (dimension_numbers is None) == (axes is None) or mode is not None:
            raise TypeError(
                f"lax.{name}: pass a ScatterDimensionNumbers (with an optional mode), or fnad's point-scatter axes"
            )
        return point_scatter(
            operand, scatter_indices, updates, axes if dimension_numbers is None else dimension_numbers
        )

    scatter_fn.__name__ = name
    scatter_fn.__doc__ = (
        f"JAX's lax.{name}: with a `ScatterDimensionNumbers`, `updates` combined into the windows at the index "
        "vectors `scatter_indices[..., :]`; `mode` 'fill'/'drop' (the default) and 'promise_in_bounds' drop windows "
        "out of bounds, 'clip' moves them into bounds. With point-scatter `axes` (a tuple of axes as the fourth "
        f"argument or `axes=`), fnad's point scatter: {point_scatter.__doc__}"
    )
    return scatter_fn


scatter = _scatter_wrapper("scatter", _point_scatter)
scatter_add = _scatter_wrapper("scatter_add", _point_scatter_add)
scatter_mul = _scatter_wrapper("scatter_mul", _point_scatter_mul)
scatter_min = _scatter_wrapper("scatter_min", _point_scatter_min)
scatter_max = _scatter_wrapper("scatter_max", _point_scatter_max)
scatter_sub = _scatter_wrapper("scatter_sub", lambda x, idx, u, axes: _point_scatter_add(x, idx, ew.neg(u), axes))
scatter_sub.__doc__ = scatter_sub.__doc__.split(" With point-scatter")[0] + " Subtracts the updates."


def scatter_apply(
    operand,
    scatter_indices,
    func,
    dimension_numbers,
    *,
    update_shape=(),
    indices_are_sorted=False,
    unique_indices=False,
    mode=None,
):
    """`operand` with `func` applied to the elements the scatter windows cover, as JAX's lax.scatter_apply:
    once per window covering an element (so twice where an index repeats). `update_shape` is the shape
    the updates of such a scatter would have. Differentiable (through a while loop over the repeats).

    >>> import numpy as np; from fnad import lax
    >>> dn = lax.ScatterDimensionNumbers((), (0,), (0,))
    >>> lax.scatter_apply(np.ones(3), np.array([[0], [2], [0]]), lambda v: v * 2.0, dn, update_shape=(3,))
    Array([4., 1., 2.], dtype=float64)
    """
    x = _strict_operand(operand)
    counts = scatter_add(
        full(get_aval(x).shape, 0, np.int64),
        scatter_indices,
        full(tuple(update_shape), 1, np.int64),
        dimension_numbers,
        indices_are_sorted=indices_are_sorted,
        unique_indices=unique_indices,
        mode=mode,
    )
    most = red.reduce_max(counts, tuple(range(get_aval(counts).ndim)))

    def apply_where_due(state):
        done, y = state
        return ew.add(done, np.int64(1)), ew.select(ew.lt(done, counts), func(y), y)

    return while_loop(lambda state: ew.lt(state[0], most), apply_where_due, (np.int64(0), x))[1]


# The contraction `lax.dot_general` takes: ((lhs_contracting, rhs_contracting), (lhs_batch, rhs_batch)).
DotDimensionNumbers = tuple[tuple[Sequence[int], Sequence[int]], tuple[Sequence[int], Sequence[int]]]
# What `lax.conv_general_dilated` takes as dimension_numbers (JAX's alias also admits None and strings).
ConvGeneralDilatedDimensionNumbers = ConvDimensionNumbers


def conv_general_dilated_patches(
    lhs,
    filter_shape,
    window_strides,
    padding,
    lhs_dilation=None,
    rhs_dilation=None,
    dimension_numbers=None,
    precision=None,
    preferred_element_type=None,
):
    """The patches a convolution with a kernel of spatial shape `filter_shape` would see, as JAX's
    lax.conv_general_dilated_patches: each output position holds its patch's C * prod(filter_shape)
    elements in its feature axis (channel-major). Made, as in JAX, by a grouped convolution with an
    identity kernel, so it differentiates and batches as convolutions do.

    >>> import numpy as np; from fnad import lax
    >>> lax.conv_general_dilated_patches(np.arange(4.0).reshape(1, 1, 4), (2,), (1,), 'VALID')[0]
    Array([[0., 1., 2.],
           [1., 2., 3.]], dtype=float64)
    """
    del precision
    x = _strict_operand(lhs)
    aval = get_aval(x)
    filter_shape = tuple(int(n) for n in filter_shape)
    lhs_spec, rhs_spec, _ = dnums = conv_dimension_numbers(aval.shape, (1, 1) + filter_shape, dimension_numbers)
    spatial_size = int(np.prod(filter_shape, dtype=np.int64))
    channels = aval.shape[lhs_spec[1]]
    # Each patch element goes to its own output feature: an identity kernel per input channel.
    kernel = np.broadcast_to(np.eye(spatial_size, dtype=aval.dtype), (channels, spatial_size, spatial_size))
    kernel = np.moveaxis(kernel.reshape((channels * spatial_size, 1) + filter_shape), (0, 1), rhs_spec[:2])
    return conv_general_dilated(
        x,
        np.ascontiguousarray(kernel),
        window_strides,
        padding,
        lhs_dilation=lhs_dilation,
        rhs_dilation=rhs_dilation,
        dimension_numbers=dnums,
        feature_group_count=channels,
        preferred_element_type=preferred_element_type,
    )
