"""lax functions that are a primitive or two in JAX's signatures: `dot`, `clamp` and `top_k`.

They are written with existing primitives, so every transform and `jit` handles them. `clamp` carries
JAX's own derivative rule (a custom jvp), because composing max and min would split the derivative
differently where the operand touches a bound."""

from __future__ import annotations

import numpy as np

from ..core import get_aval
from ..custom_derivatives import custom_jvp
from ..primitives import elementwise as ew
from ..primitives.dot import dot_general
from ..primitives.indexing import slice_in_dim, take_along_axis
from ..primitives.shape import iota
from ..primitives.sorting import sort

__all__ = ["clamp", "dot", "top_k"]


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


def top_k(operand, k, *, axis=-1):
    """The `k` largest elements along `axis` in decreasing order and their int32 indices, a list of the
    two, as JAX's lax.top_k: equal values keep their order (lower index first) and NaN counts as the
    largest. Differentiable in the values (the derivative flows to the chosen elements).

    >>> import numpy as np; from fnad import lax
    >>> lax.top_k(np.array([1.0, 3.0, 2.0, 3.0]), 3)
    [Array([3., 3., 2.], dtype=float64), Array([1, 3, 2], dtype=int32)]
    """
    x = _strict_operand(operand)
    aval = get_aval(x)
    if aval.ndim == 0:
        raise TypeError("lax.top_k: the operand must have at least one axis, got a scalar")
    if not -aval.ndim <= axis < aval.ndim:
        raise ValueError(f"lax.top_k: axis {axis} is out of range for an operand of rank {aval.ndim}")
    axis %= aval.ndim
    n = aval.shape[axis]
    if not isinstance(k, (int, np.integer)) or not 0 <= k <= n:
        raise ValueError(f"lax.top_k: k must be an integer in [0, {n}] (the size of axis {axis}), got {k!r}")
    if aval.dtype == np.bool_:
        keys = [ew.bitwise_not(x)]
    elif aval.dtype.kind in "iu":
        keys = [ew.bitwise_not(x)]  # order-reversing without overflow
    else:
        keys = [ew.bitwise_not(ew.is_nan(x)), ew.neg(x)]  # NaN first, then decreasing
    positions = iota(np.int32, aval.shape, axis)
    order = sort((*keys, positions), axis, num_keys=len(keys))[-1]
    indices = slice_in_dim(order, 0, int(k), axis=axis)
    return [take_along_axis(x, indices, axis), indices]  # a list, as JAX's (a multiple-result primitive)
