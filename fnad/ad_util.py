"""The floor under the interpreters (as JAX's `ad_util`): symbolic zero tangents, the tangent helpers,
and the few structural primitives that the interpreters themselves bind (add_any to sum tangents,
broadcast_in_dim for zeros and batch axes, transpose to move batch axes).

`fnad.transforms` imports this module and `fnad.core`, never `fnad.primitives`, so the interpreters
sit below the primitive families, which import them for `defjvp`, `move_bdim` and the like. A
structural primitive is declared here with its shape rule and NumPy implementation; its jvp,
transpose and batching rules use other primitives (reduce_sum, reshape, ...), so they are attached
in its family module (`primitives/shape.py`, `primitives/elementwise.py`).
"""

from __future__ import annotations

import numpy as np

from .core import Primitive, ShapedArray, Tracer, get_aval, is_float_dtype

# ----------------------------------------------------------------------------------------------
# Tangents


class Zero:
    """A symbolic zero tangent: never materialised unless a rule needs an array."""

    __slots__ = ("aval",)

    def __init__(self, aval):
        self.aval = aval

    def __repr__(self):
        return f"Zero({self.aval.str_short()})"


def tangent_aval(aval):
    return aval.update(weak_type=False) if is_float_dtype(aval.dtype) else aval


def zeros_like_aval(aval):
    """Zeros of `aval`, varying over its mesh axes as a tangent of such a value must (inside shard_map)."""
    zeros = full(aval.shape, 0, aval.dtype)
    return pvary_p.bind(zeros, axes=tuple(sorted(aval.vma))) if aval.vma else zeros


def instantiate(t):
    return zeros_like_aval(t.aval) if type(t) is Zero else t


def zero_cotangents(cts, avals):
    """Cotangents with None and symbolic zeros replaced by zero arrays of `avals`' tangent types."""
    return [instantiate(Zero(tangent_aval(a))) if c is None or type(c) is Zero else c for c, a in zip(cts, avals)]


def add_tangents(a, b):
    if type(a) is Zero:
        return b
    if type(b) is Zero:
        return a
    return add_any(a, b)


# ----------------------------------------------------------------------------------------------
# add_any: the sum of two tangents or cotangents (never of user values); rules in primitives/elementwise.py

add_any_p = Primitive("add_any")


def _add_any_eval(x, y):
    """As the elementwise family's rule: equal shapes (or rank 0) and equal numeric dtypes."""
    if x.shape and y.shape and x.shape != y.shape:
        raise ValueError(f"add_any: operand shapes must be equal (or rank 0), got {x.shape}, {y.shape}")
    if x.dtype != y.dtype:
        raise TypeError(f"add_any: operand dtypes must be equal, got {x.dtype.name}, {y.dtype.name}")
    if not np.issubdtype(x.dtype, np.number):
        raise TypeError(f"add_any does not accept dtype {x.dtype.name}")
    return ShapedArray(x.shape or y.shape, x.dtype, x.weak_type and y.weak_type)


add_any_p.impl = np.add
add_any_p.abstract_eval = _add_any_eval


def add_any(x, y):
    """The sum of two tangents (or cotangents) of one value."""
    return add_any_p.bind(x, y)


# ----------------------------------------------------------------------------------------------
# broadcast_in_dim: operand axis i becomes output axis broadcast_dimensions[i]; rules in primitives/shape.py


def check_shape(name, shape):
    if not all(isinstance(d, (int, np.integer)) and d >= 0 for d in shape):
        raise TypeError(
            f"{name}: shape must be a tuple of non-negative ints, got {shape}. Shapes must be "
            "concrete (static) under jit/vmap; pass sizes as static arguments."
        )
    return tuple(int(d) for d in shape)


broadcast_in_dim_p = Primitive("broadcast_in_dim")


def _bid_eval(a, shape, broadcast_dimensions):
    bd = broadcast_dimensions
    if len(bd) != a.ndim or any(not 0 <= d < len(shape) for d in bd) or list(bd) != sorted(set(bd)):
        raise ValueError(
            f"broadcast_in_dim: broadcast_dimensions {bd} invalid for operand shape {a.shape} and output shape {shape}"
        )
    for i, d in enumerate(bd):
        if a.shape[i] not in (1, shape[d]):
            raise ValueError(
                f"broadcast_in_dim: cannot broadcast operand shape {a.shape} to {shape} "
                f"(operand axis {i} of size {a.shape[i]} -> output axis {d} of size {shape[d]})"
            )
    return ShapedArray(shape, a.dtype, a.weak_type)


def _bid_impl(x, shape, broadcast_dimensions):
    x = np.asarray(x)
    expanded = [1] * len(shape)
    for i, d in enumerate(broadcast_dimensions):
        expanded[d] = x.shape[i]
    return np.broadcast_to(x.reshape(expanded), shape)


broadcast_in_dim_p.impl = _bid_impl
broadcast_in_dim_p.abstract_eval = _bid_eval


def broadcast_in_dim(x, shape, broadcast_dimensions):
    """x placed into a result of `shape`: operand axis i becomes result axis broadcast_dimensions[i] (its size
    equal or 1); the other result axes are new. Its transpose sums over the broadcast axes.

    >>> import numpy as np, fnad; from fnad import lax
    >>> lax.broadcast_in_dim(np.array([1.0, 2.0]), (2, 3), (0,))
    Array([[1., 1., 1.],
           [2., 2., 2.]], dtype=float64)
    >>> lax.broadcast_in_dim(np.array(5.0), (2,), ())
    Array([5., 5.], dtype=float64)
    """
    shape = check_shape("broadcast_in_dim", shape)
    broadcast_dimensions = tuple(int(d) for d in broadcast_dimensions)
    if get_aval(x).shape == shape and broadcast_dimensions == tuple(range(len(shape))):
        return x
    return broadcast_in_dim_p.bind(x, shape=shape, broadcast_dimensions=broadcast_dimensions)


def full(shape, fill_value, dtype):
    """An array of `shape` filled with a scalar (staged as a broadcast of a literal under jit).

    >>> import numpy as np, fnad; from fnad import lax
    >>> lax.full((2,), 3.5, np.float64)
    Array([3.5, 3.5], dtype=float64)
    >>> lax.full((1, 2), 1, np.int32)
    Array([[1, 1]], dtype=int32)
    """
    return broadcast_in_dim(np.array(fill_value, dtype=dtype), tuple(shape), ())


# ----------------------------------------------------------------------------------------------
# transpose (axis permutation); rules in primitives/shape.py

transpose_p = Primitive("transpose")


def _transpose_eval(a, permutation):
    if sorted(permutation) != list(range(a.ndim)):
        raise ValueError(f"transpose: permutation {permutation} is not a permutation of the axes of shape {a.shape}")
    return ShapedArray(tuple(a.shape[p] for p in permutation), a.dtype, a.weak_type)


transpose_p.impl = lambda x, permutation: np.transpose(x, permutation)
transpose_p.abstract_eval = _transpose_eval


def transpose(x, permutation):
    """x with its axes permuted: result axis i is operand axis permutation[i].

    >>> import numpy as np, fnad; from fnad import lax
    >>> lax.transpose(np.ones((2, 3, 4)), (2, 0, 1)).shape
    (4, 2, 3)
    """
    permutation = tuple(int(p) for p in permutation)
    if permutation == tuple(range(len(permutation))):
        return x
    return transpose_p.bind(x, permutation=permutation)


# ----------------------------------------------------------------------------------------------
# psum over mesh axes: reverse mode sums with it the cotangent of a value that every process along
# those axes used (it does not vary over them); pvary marks a value as varying over mesh axes, as the
# zero tangent of a varying value must be. Their impls and rules are in primitives/collectives.py.

psum_p = Primitive("psum")
pvary_p = Primitive("pvary")


def cotangent_like(ct, aval):
    """`ct`, a cotangent of a value of `aval`, varying over exactly the mesh axes the value varies over
    (inside a shard_map body): summed over the axes only it varies over (the value was the same on
    every process there, and each process's use of it owes it a share), and marked varying over
    those only the value varies over (no change of numbers: loops then carry it with the value's type)."""
    # Only a staged value (a tracer) can vary over mesh axes: other cotangents need no aval built.
    have = ct.aval.vma if isinstance(ct, Tracer) else frozenset()
    if have == aval.vma:
        return ct
    extra, missing = have - aval.vma, aval.vma - have
    if extra:
        ct = psum_p.bind(ct, axes=tuple(sorted(extra)))
    return pvary_p.bind(ct, axes=tuple(sorted(missing))) if missing else ct
