"""Shape primitives: broadcast_in_dim, reshape, transpose, iota, and the helpers built on them
(full, squeeze, expand_dims). broadcast_in_dim and transpose are declared in `fnad.ad_util`
(the interpreters bind them); their derivative and batching rules live here with their family."""

from __future__ import annotations

import numpy as np

from ..ad_util import broadcast_in_dim, broadcast_in_dim_p, check_shape, full, transpose, transpose_p  # noqa: F401 (re-exported)
from ..core import Primitive, ShapedArray, ShapeError, componentwise_parts, get_aval
from ..transforms.batching import move_bdim
from ..transforms.jvp import defjvp, deflinear

# ----------------------------------------------------------------------------------------------
# broadcast_in_dim: operand axis i becomes output axis broadcast_dimensions[i]


def _bid_transpose(ct, x, shape, broadcast_dimensions):
    from .reductions import reduce_sum

    bd = broadcast_dimensions
    summed = tuple(d for d in range(len(shape)) if d not in bd)
    kept = tuple(i for i, d in enumerate(bd) if x.aval.shape[i] == 1 and shape[d] != 1)
    out = reduce_sum(ct, summed) if summed else ct
    if kept:
        out = reduce_sum(out, kept)
    return [reshape(out, x.aval.shape)]


def _bid_batch(vals, dims, shape, broadcast_dimensions):
    (x,), (d,) = vals, dims
    x = move_bdim(x, d, 0, None)
    size = get_aval(x).shape[0]
    return broadcast_in_dim(x, (size,) + tuple(shape), (0,) + tuple(b + 1 for b in broadcast_dimensions)), 0


broadcast_in_dim_p.batch = _bid_batch
deflinear(broadcast_in_dim_p, _bid_transpose)


def broadcast_to_rank_shape(x, shape):
    """NumPy-style broadcast of `x` to `shape` (trailing alignment)."""
    a = get_aval(x)
    shape = tuple(shape)
    if a.shape == shape:
        return x
    lead = len(shape) - a.ndim
    if lead < 0:
        raise ValueError(f"cannot broadcast shape {a.shape} to {shape}")
    return broadcast_in_dim(x, shape, tuple(range(lead, len(shape))))


# ----------------------------------------------------------------------------------------------
# reshape (row-major)

reshape_p = Primitive("reshape")


def _reshape_eval(a, new_sizes):
    if int(np.prod(new_sizes, dtype=np.int64)) != a.size:
        raise ShapeError(f"reshape: cannot reshape array of shape {a.shape} (size {a.size}) into shape {new_sizes}")
    return ShapedArray(new_sizes, a.dtype, a.weak_type)


def _reshape_batch(vals, dims, new_sizes):
    x = move_bdim(vals[0], dims[0], 0, None)
    return reshape(x, (get_aval(x).shape[0],) + new_sizes), 0


reshape_p.impl = lambda x, new_sizes: np.reshape(x, new_sizes)
reshape_p.abstract_eval = _reshape_eval
reshape_p.batch = _reshape_batch
deflinear(reshape_p, lambda ct, x, new_sizes: [reshape(ct, x.aval.shape)])


def reshape(x, new_sizes):
    """x with the new static shape `new_sizes` (same size, C order; no -1).

    >>> import numpy as np, fnad; from fnad import lax
    >>> lax.reshape(np.arange(6), (3, 2))
    Array([[0, 1],
           [2, 3],
           [4, 5]], dtype=int64)
    """
    new_sizes = check_shape("reshape", new_sizes)
    if get_aval(x).shape == new_sizes:
        return x
    return reshape_p.bind(x, new_sizes=new_sizes)


def squeeze(x, dimensions):
    """x without the size-1 axes listed in `dimensions`.

    >>> import numpy as np, fnad; from fnad import lax
    >>> lax.squeeze(np.ones((1, 2, 1)), (0, 2)).shape
    (2,)
    """
    shape = get_aval(x).shape
    for d in dimensions:
        if shape[d] != 1:
            raise ValueError(f"squeeze: cannot squeeze axis {d} of size {shape[d]} (shape {shape})")
    return reshape(x, tuple(s for i, s in enumerate(shape) if i not in dimensions))


def expand_dims(x, dimensions):
    """x with new size-1 axes at the result positions `dimensions`.

    >>> import numpy as np, fnad; from fnad import lax
    >>> lax.expand_dims(np.ones(2), (0, 2)).shape
    (1, 2, 1)
    """
    shape = list(get_aval(x).shape)
    for d in sorted(dimensions):
        shape.insert(d, 1)
    return reshape(x, tuple(shape))


# ----------------------------------------------------------------------------------------------
# transpose (axis permutation)


def _transpose_batch(vals, dims, permutation):
    (x,), (d,) = vals, dims
    perm = (d,) + tuple(p + (p >= d) for p in permutation)
    return transpose(x, perm), 0


transpose_p.batch = _transpose_batch
deflinear(transpose_p, lambda ct, x, permutation: [transpose(ct, tuple(np.argsort(permutation).tolist()))])


# ----------------------------------------------------------------------------------------------
# iota: 0, 1, 2, ... along one axis of a shape

iota_p = Primitive("iota")


def _iota_impl(dtype, shape, dimension):
    r = np.arange(shape[dimension], dtype=dtype)
    return np.broadcast_to(r.reshape([-1 if i == dimension else 1 for i in range(len(shape))]), shape)


iota_p.impl = _iota_impl
iota_p.abstract_eval = lambda dtype, shape, dimension: ShapedArray(shape, dtype)
defjvp(iota_p)


def iota(dtype, size_or_shape, dimension=0):
    """An array of `dtype` and `size_or_shape` counting 0, 1, ... along axis `dimension` (also
    `broadcasted_iota`).

    >>> import numpy as np, fnad; from fnad import lax
    >>> lax.iota(np.int64, 4)
    Array([0, 1, 2, 3], dtype=int64)
    >>> lax.iota(np.float64, (2, 3), 1)
    Array([[0., 1., 2.],
           [0., 1., 2.]], dtype=float64)
    """
    shape = (size_or_shape,) if isinstance(size_or_shape, (int, np.integer)) else tuple(size_or_shape)
    return iota_p.bind(dtype=np.dtype(dtype), shape=check_shape("iota", shape), dimension=int(dimension))


# Complex values under jit: these move the real and imaginary parts alike (fnad.passes.lower_complex).
for _p in (reshape_p, broadcast_in_dim_p, transpose_p):
    _p.complex_parts = componentwise_parts(_p)
