"""sort: a stable sort of several same-shaped operands along one axis, ordered by the first
`num_keys` of them (lexicographically); NaN sorts last, as in NumPy. argsort sorts (x, iota)."""

from __future__ import annotations

import numpy as np

from ..ad_util import Zero
from ..core import Primitive, get_aval
from ..transforms.batching import move_bdim
from .indexing import take_along_axis
from .shape import iota

sort_p = Primitive("sort", multiple_results=True)


def _sort_eval(*avals, dimension, num_keys):
    if not avals:
        raise ValueError("sort needs at least one operand")
    shape = avals[0].shape
    if any(a.shape != shape for a in avals):
        raise ValueError("sort: operands must have equal shapes, got " + ", ".join(str(a.shape) for a in avals))
    if not 0 <= dimension < len(shape):
        raise ValueError(f"sort: dimension {dimension} is out of range for operand shape {shape}")
    if not 1 <= num_keys <= len(avals):
        raise ValueError(f"sort: num_keys={num_keys} must be between 1 and the number of operands ({len(avals)})")
    return list(avals)


def _sort_impl(*operands, dimension, num_keys):
    operands = [np.asarray(x) for x in operands]
    keys = operands[:num_keys]
    if num_keys == 1:
        order = np.argsort(keys[0], axis=dimension, kind="stable")
    else:
        order = np.lexsort(keys[::-1], axis=dimension)
    return [np.take_along_axis(x, order, dimension) for x in operands]


def _sort_jvp(primals, tangents, dimension, num_keys):
    # Tangents follow their values: permuted by the sort's permutation.
    shape = get_aval(primals[0]).shape
    *outs, order = sort_p.bind(*primals, iota(np.int64, shape, dimension), dimension=dimension, num_keys=num_keys)
    return outs, [t if type(t) is Zero else take_along_axis(t, order, dimension) for t in tangents]


def _sort_batch(vals, dims, dimension, num_keys):
    size = next(get_aval(v).shape[d] for v, d in zip(vals, dims) if d is not None)
    vals = [move_bdim(v, d, 0, size) for v, d in zip(vals, dims)]
    return sort_p.bind(*vals, dimension=dimension + 1, num_keys=num_keys), [0] * len(vals)


sort_p.impl = _sort_impl
sort_p.abstract_eval = _sort_eval
sort_p.jvp = _sort_jvp
sort_p.batch = _sort_batch


def sort(operand, dimension=-1, num_keys=1):
    """Sort one array, or a sequence of same-shaped arrays by their first `num_keys` (stable).

    >>> import numpy as np, fnad; from fnad import lax
    >>> lax.sort(np.array([[3.0, 1.0, 2.0]]))
    Array([[1., 2., 3.]], dtype=float64)
    >>> lax.sort((np.array([2, 1, 2]), np.array([10.0, 20.0, 30.0])), num_keys=1)
    [Array([1, 2, 2], dtype=int64), Array([20., 10., 30.], dtype=float64)]
    """
    single = not isinstance(operand, (tuple, list))
    operands = [operand] if single else list(operand)
    ndim = get_aval(operands[0]).ndim
    out = sort_p.bind(*operands, dimension=int(dimension) % ndim if ndim else int(dimension), num_keys=int(num_keys))
    return out[0] if single else out


def argsort(x, dimension=-1, index_dtype=np.int64):
    """The stable sorting permutation of x along `dimension`.

    >>> import numpy as np, fnad; from fnad import lax
    >>> lax.argsort(np.array([3.0, 1.0, 3.0, 0.0]))
    Array([3, 1, 0, 2], dtype=int64)
    """
    ndim = get_aval(x).ndim
    dimension = int(dimension) % ndim if ndim else int(dimension)
    return sort_p.bind(x, iota(index_dtype, get_aval(x).shape, dimension), dimension=dimension, num_keys=1)[1]


def _sort_parts(*operands, dimension, num_keys):
    """Complex operands sorted in NumPy's order (by real part, then imaginary part): each becomes two real
    operands, two keys if it is one (fnad.passes.lower_complex)."""
    flat, keys = [], 0
    for i, x in enumerate(operands):
        parts = list(x) if type(x) is tuple else [x]
        flat += parts
        keys += len(parts) if i < num_keys else 0
    out = iter(sort_p.bind(*flat, dimension=dimension, num_keys=keys))
    return [(next(out), next(out)) if type(x) is tuple else next(out) for x in operands]


sort_p.complex_parts = _sort_parts
