"""fnad.numpy's functions whose output shape depends on the values: nonzero, argwhere, flatnonzero,
unique (and unique_values/counts/inverse/all), extract, compress, trim_zeros and the set operations
intersect1d, union1d, setdiff1d, setxor1d. As in JAX they need concrete values, or a static `size=`
(the output is cut or padded with `fill_value` to that length), which makes them work under jit and vmap.
Also the fixed-shape selections: select, choose, piecewise, isin, place, put, put_along_axis."""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..array import as_array
from ..core import get_aval
from ..primitives import indexing as ix
from ..primitives import shape as sh
from ._core import asarray_traced as _asarray_traced
from ._core import concrete as _concrete
from ._core import convert as _convert
from ._core import normalize_axis as _normalize_axis
from ._core import numpy_when_eager
from ._core import shape_of as _shape
from ._creation import full
from ._elementwise import clip, equal, isnan, logical_and, logical_not, logical_or, mod, not_equal, where
from ._indexing import take, take_along_axis
from ._joining import concatenate, stack
from ._nonzero import check_size, sized_nonzero
from ._reductions import any, argmax, min, sum
from ._shapes import broadcast_arrays, broadcast_to, ravel, reshape
from ._sorting import argsort, cumsum, lexsort

_SIZE_HINT = "Pass size= (a static bound on the output length, with fill_value= for the padding) to use it under jit."

UniqueAllResult = namedtuple("UniqueAllResult", ["values", "indices", "inverse_indices", "counts"])
UniqueCountsResult = namedtuple("UniqueCountsResult", ["values", "counts"])
UniqueInverseResult = namedtuple("UniqueInverseResult", ["values", "inverse_indices"])


def _scatter_first(size, positions, values, fill):
    """An array of length `size` holding values[i] at positions[i] (positions >= size are dropped) and
    `fill` elsewhere; positions are distinct."""
    values = _asarray_traced(values)
    out = full((size,) + _shape(values)[1:], fill, get_aval(values).dtype)
    return ix.scatter(out, reshape(positions, (-1, 1)), values, (0,))


def _truth(a):
    """a as a boolean array (nonzero is true), traced or not."""
    return a if get_aval(a).dtype == np.bool_ else not_equal(a, 0)


def nonzero(a, *, size=None, fill_value=None):
    """The indices of the nonzero elements (a tuple with one index array per axis). Without `size` the output
    length depends on the values, so `a` must be concrete; with `size` (as in JAX) the first `size` indices
    are kept and the rest is padded with `fill_value` (0 by default; one per axis in a tuple), which works
    under jit and vmap.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.nonzero(np.array([[0, 1], [2, 0]]))
    (Array([0, 1], dtype=int64), Array([1, 0], dtype=int64))
    >>> fnad.jit(lambda a: fnp.nonzero(a, size=3, fill_value=-1))(np.array([0, 5, 0, 7]))
    (Array([ 1,  3, -1], dtype=int64),)
    """
    check_size("nonzero", size)
    if size is None:
        return tuple(map(as_array, np.nonzero(_concrete(a, "nonzero", _SIZE_HINT))))
    return sized_nonzero(a, size, fill_value)


def argwhere(a, *, size=None, fill_value=None):
    """The indices of the nonzero elements as rows of an (n, ndim) array (concrete input, or a static
    `size` with `fill_value` padding, as nonzero).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.argwhere(np.array([[0, 1], [2, 0]]))
    Array([[0, 1],
           [1, 0]], dtype=int64)
    >>> fnp.argwhere(np.array([[0, 1], [2, 0]]), size=3, fill_value=9)
    Array([[0, 1],
           [1, 0],
           [9, 9]], dtype=int64)
    """
    check_size("argwhere", size)
    if size is None:
        return as_array(np.argwhere(_concrete(a, "argwhere", _SIZE_HINT)))
    a = _asarray_traced(a)
    if get_aval(a).ndim == 0:  # as NumPy: one row per nonzero, with no columns
        return reshape(nonzero(reshape(a, (1,)), size=size, fill_value=fill_value)[0], (size, 1))[:, :0]
    return stack(nonzero(a, size=size, fill_value=fill_value), axis=1)


def flatnonzero(a, *, size=None, fill_value=None):
    """The indices of the nonzero elements of the flattened array (concrete input, or a static `size` with
    `fill_value` padding, as nonzero).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.flatnonzero(np.array([[0, 1], [2, 0]]))
    Array([1, 2], dtype=int64)
    >>> fnp.flatnonzero(np.array([0, 1, 1]), size=4)
    Array([1, 2, 0, 0], dtype=int64)
    """
    check_size("flatnonzero", size)
    if size is None:
        return as_array(np.flatnonzero(_concrete(a, "flatnonzero", _SIZE_HINT)))
    return nonzero(ravel(_asarray_traced(a)), size=size, fill_value=fill_value)[0]


def _unique_sized(ar, size, fill_value, equal_nan):
    """The parts of unique(ravel(ar)) padded to `size`: (values, first indices, inverse, counts, number of
    distinct values). The padding is `fill_value` for the values (by default the smallest value, as in
    JAX), the index of the smallest value for the indices, and 0 for the counts."""
    x = ravel(_asarray_traced(ar))
    n = _shape(x)[0]
    if n == 0:
        empty = full((size,), 0 if fill_value is None else fill_value, get_aval(x).dtype)
        zeros = full((size,), 0, np.int64)
        return empty, zeros, full(_shape(_asarray_traced(ar)), 0, np.int64), zeros, np.array(0, np.int64)
    perm = argsort(x)
    s = take(x, perm)
    same = equal(s[1:], s[:-1])
    if equal_nan and get_aval(x).dtype.kind in "fc":
        same = logical_or(same, logical_and(isnan(s[1:]), isnan(s[:-1])))
    first = concatenate([np.array([True]), logical_not(same)])
    group = cumsum(first) - 1
    positions = where(first, group, size)
    fill = s[0] if fill_value is None else fill_value
    values = _scatter_first(size, positions, s, 0)
    values = where(sh.iota(np.int64, (size,), 0) < sum(first), values, fill)
    indices = _scatter_first(size, positions, perm, 0)
    indices = where(sh.iota(np.int64, (size,), 0) < sum(first), indices, perm[0])
    inverse = reshape(ix.scatter(full((n,), 0, np.int64), reshape(perm, (-1, 1)), group, (0,)), _shape(ar))
    counts = ix.scatter_add(full((size,), 0, np.int64), reshape(group, (-1, 1)), full((n,), 1, np.int64), (0,))
    return values, indices, inverse, counts, sum(first)


def _unique_eager(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, **kw):
    return np.unique(ar, return_index, return_inverse, return_counts, axis=axis, equal_nan=kw.get("equal_nan", True))


def unique(
    ar,
    return_index=False,
    return_inverse=False,
    return_counts=False,
    axis=None,
    *,
    equal_nan=True,
    size=None,
    fill_value=None,
    sorted=True,
):
    """The sorted distinct values of `ar` (with the index of each one's first occurrence, the inverse that
    rebuilds `ar`, and the counts, on request), as jax.numpy.unique. Without `size`, `ar` must be concrete
    (the values of a traced concrete array are gathered from it, so they carry derivatives); with a static
    `size` it works under jit: the output is cut or padded to `size`, values with `fill_value` (by default
    the smallest value), indices with the smallest value's index and counts with 0.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.unique(np.array([3, 1, 3, 2]))
    Array([1, 2, 3], dtype=int64)
    >>> fnp.unique(np.array([3, 1, 3]), return_counts=True)
    (Array([1, 3], dtype=int64), Array([1, 2], dtype=int64))
    >>> fnad.jit(lambda a: fnp.unique(a, size=5, fill_value=-1))(np.array([3, 1, 3, 2]))
    Array([ 1,  2,  3, -1, -1], dtype=int64)
    """
    check_size("unique", size)
    if size is not None:
        if axis is not None:
            raise NotImplementedError("unique(axis=..., size=...) is not supported")
        values, indices, inverse, counts, _ = _unique_sized(ar, size, fill_value, equal_nan)
        extra = (indices,) * return_index + (inverse,) * return_inverse + (counts,) * return_counts
        return (values,) + extra if extra else values
    return _unique_concrete(ar, return_index, return_inverse, return_counts, axis, equal_nan=equal_nan)


@numpy_when_eager(_unique_eager)
def _unique_concrete(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, equal_nan=True):
    if axis is not None:
        raise NotImplementedError("unique(axis=...) is not supported on traced values")
    res = np.unique(_concrete(ar, "unique", _SIZE_HINT), True, return_inverse, return_counts, equal_nan=equal_nan)
    values = take(ravel(ar), res[1])
    extra = ((res[1],) if return_index else ()) + tuple(res[2:])
    return (values,) + extra if extra else values


def unique_values(x, /, *, size=None, fill_value=None):
    """The sorted distinct values of x (the Array API unique_values; `size` as in unique).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.unique_values(np.array([2, 1, 2]))
    Array([1, 2], dtype=int64)
    """
    return unique(x, size=size, fill_value=fill_value)


def unique_counts(x, /, *, size=None, fill_value=None):
    """(values, counts) of the distinct values of x, a namedtuple (the Array API unique_counts).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.unique_counts(np.array([2, 1, 2]))
    UniqueCountsResult(values=Array([1, 2], dtype=int64), counts=Array([1, 2], dtype=int64))
    """
    return UniqueCountsResult(*unique(x, return_counts=True, size=size, fill_value=fill_value))


def unique_inverse(x, /, *, size=None, fill_value=None):
    """(values, inverse_indices) of x, a namedtuple; values[inverse_indices] rebuilds x (Array API).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.unique_inverse(np.array([2, 1, 2]))
    UniqueInverseResult(values=Array([1, 2], dtype=int64), inverse_indices=Array([1, 0, 1], dtype=int64))
    """
    values, inverse = unique(x, return_inverse=True, size=size, fill_value=fill_value)
    return UniqueInverseResult(values, reshape(inverse, _shape(_asarray_traced(x))))


def unique_all(x, /, *, size=None, fill_value=None):
    """(values, indices, inverse_indices, counts) of x, a namedtuple (the Array API unique_all).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.unique_all(np.array([2, 1, 2])).indices
    Array([1, 0], dtype=int64)
    """
    values, indices, inverse, counts = unique(
        x, return_index=True, return_inverse=True, return_counts=True, size=size, fill_value=fill_value
    )
    return UniqueAllResult(values, indices, reshape(inverse, _shape(_asarray_traced(x))), counts)


def compress(condition, a, axis=None, *, size=None, fill_value=0, out=None):
    """The slices of `a` along `axis` (of the flattened array when None) where the 1-d `condition` is true,
    as numpy.compress; `size` pads or cuts the result to a static length with `fill_value` (as in JAX).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.compress(np.array([True, False, True]), np.array([[1, 2, 3], [4, 5, 6]]), axis=1)
    Array([[1, 3],
           [4, 6]], dtype=int64)
    >>> fnp.compress(np.array([False, True]), np.array([7.0, 8.0]), size=3, fill_value=-1)
    Array([ 8., -1., -1.], dtype=float64)
    """
    check_size("compress", size)
    a = _asarray_traced(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = _normalize_axis(axis, get_aval(a).ndim)
    condition = ravel(_truth(_asarray_traced(condition)))
    n, m = _shape(a)[axis], _shape(condition)[0]
    if m > n:
        raise ValueError(f"compress: condition of length {m} is longer than axis {axis} of a (length {n})")
    if size is None:
        picked = np.flatnonzero(_concrete(condition, "compress", _SIZE_HINT))
        return take(a, picked, axis=axis)
    (picked,) = nonzero(condition, size=size, fill_value=0)
    out = take(a, picked, axis=axis)
    valid = sh.iota(np.int64, (size,), 0) < sum(condition)
    return where(reshape(valid, (size,) + (1,) * (get_aval(a).ndim - axis - 1)), out, fill_value)


def extract(condition, arr, *, size=None, fill_value=0):
    """The elements of `arr` where `condition` is true, flattened, as numpy.extract (`size` as in compress).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> x = np.arange(6.0).reshape(2, 3)
    >>> fnp.extract(x % 2 == 0, x)
    Array([0., 2., 4.], dtype=float64)
    """
    return compress(ravel(_asarray_traced(condition)), ravel(_asarray_traced(arr)), size=size, fill_value=fill_value)


def trim_zeros(filt, trim="fb"):
    """The 1-d `filt` without its leading ('f') and/or trailing ('b') zeros (concrete input only: its length
    depends on the values).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.trim_zeros(np.array([0, 0, 1, 2, 0]))
    Array([1, 2], dtype=int64)
    """
    values = _concrete(filt, "trim_zeros", "Use fnad.numpy.where to mask the zeros with a fixed shape instead.")
    nonzero_at = np.flatnonzero(values)
    if not nonzero_at.size:
        return as_array(_asarray_traced(filt)[:0])
    start = int(nonzero_at[0]) if "f" in trim.lower() else 0
    stop = int(nonzero_at[-1]) + 1 if "b" in trim.lower() else len(values)
    return as_array(_asarray_traced(filt)[start:stop])


def isin(element, test_elements, assume_unique=False, invert=False, *, method="auto"):
    """Elementwise: is each element of `element` among `test_elements`? (A fixed-shape result; compares all
    pairs.)

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.isin(np.array([[1, 2], [3, 4]]), np.array([2, 4, 6]))
    Array([[False,  True],
           [False,  True]], dtype=bool)
    """
    element = _asarray_traced(element)
    tests = ravel(_asarray_traced(test_elements))
    hits = any(equal(sh.expand_dims(element, (get_aval(element).ndim,)), tests), axis=-1)
    return logical_not(hits) if invert else hits


def _set_of(ar):
    """The distinct values of ravel(ar), padded to its length, their first indices, and which are real."""
    x = ravel(_asarray_traced(ar))
    size = _shape(x)[0]
    values, indices, _, _, count = _unique_sized(x, size, None, True)
    return values, indices, sh.iota(np.int64, (size,), 0) < count


def _packed(name, keep, values, size, fill_value, *extra):
    """values[keep] (and each of `extra` alike): concrete, or padded to `size` with `fill_value`."""
    if size is None:
        picked = np.flatnonzero(_concrete(keep, name, _SIZE_HINT))
        out = tuple(take(v, picked) for v in (values,) + extra)
    else:
        fill = fill_value
        if fill is None and name != "setdiff1d":  # as JAX: pad with the smallest result value, or 0
            fill = where(any(keep), min(where(keep, values, values[0])), 0)
        out = (compress(keep, values, size=size, fill_value=0 if fill is None else fill),) + tuple(
            compress(keep, v, size=size, fill_value=0) for v in extra
        )
    return out if extra else out[0]


def union1d(ar1, ar2, *, size=None, fill_value=None):
    """The sorted distinct values found in either array (concrete input, or a static `size`).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.union1d(np.array([3, 1]), np.array([2, 3]))
    Array([1, 2, 3], dtype=int64)
    """
    check_size("union1d", size)
    both = concatenate([ravel(_asarray_traced(ar1)), ravel(_asarray_traced(ar2))])
    if size is None:
        _concrete(both, "union1d", _SIZE_HINT)
    return unique(both, size=size, fill_value=fill_value)


def intersect1d(ar1, ar2, assume_unique=False, return_indices=False, *, size=None, fill_value=None):
    """The sorted distinct values found in both arrays (with their first indices in each on request), as
    numpy.intersect1d (concrete input, or a static `size` as in JAX).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.intersect1d(np.array([5, 1, 3, 1]), np.array([1, 2, 3]), return_indices=True)
    (Array([1, 3], dtype=int64), Array([1, 2], dtype=int64), Array([0, 2], dtype=int64))
    """
    check_size("intersect1d", size)
    values, idx1, real = _set_of(ar1)
    b = ravel(_asarray_traced(ar2))
    matches = equal(sh.expand_dims(values, (1,)), b)
    keep = logical_and(real, any(matches, axis=1))
    if not return_indices:
        return _packed("intersect1d", keep, values, size, fill_value)
    idx2 = argmax(matches, axis=1)  # the first match in ar2
    return _packed("intersect1d", keep, values, size, fill_value, idx1, idx2)


def setdiff1d(ar1, ar2, assume_unique=False, *, size=None, fill_value=None):
    """The sorted distinct values of ar1 that are not in ar2 (concrete input, or a static `size`).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.setdiff1d(np.array([5, 1, 3, 1]), np.array([1, 2]))
    Array([3, 5], dtype=int64)
    """
    check_size("setdiff1d", size)
    values, _, real = _set_of(ar1)
    keep = logical_and(real, logical_not(isin(values, ar2)))
    return _packed("setdiff1d", keep, values, size, fill_value)


def setxor1d(ar1, ar2, assume_unique=False, *, size=None, fill_value=None):
    """The sorted distinct values found in exactly one of the arrays (concrete input, or a static `size`).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.setxor1d(np.array([5, 1, 3]), np.array([1, 2]))
    Array([2, 3, 5], dtype=int64)
    """
    check_size("setxor1d", size)
    v1, _, real1 = _set_of(ar1)
    v2, _, real2 = _set_of(ar2)
    values = concatenate([v1, v2])
    keep = concatenate([logical_and(real1, logical_not(isin(v1, ar2))), logical_and(real2, logical_not(isin(v2, ar1)))])
    order = lexsort((values, logical_not(keep)))  # the kept values first, sorted
    return _packed("setxor1d", take(keep, order), take(values, order), size, fill_value)


@numpy_when_eager(np.select)
def select(condlist, choicelist, default=0):
    """For each element, the value of the first choice whose condition holds, else `default`, as numpy.select.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> x = np.array([-2.0, 0.5, 3.0])
    >>> fnp.select([x < 0, x < 1], [-x, 10 * x], default=x)
    Array([2., 5., 3.], dtype=float64)
    >>> fnad.grad(lambda x: fnp.sum(fnp.select([x < 0, x < 1], [-x, 10 * x], x)))(x)
    Array([-1., 10.,  1.], dtype=float64)
    """
    if len(condlist) != len(choicelist):
        raise ValueError("select: list of cases must be same length as list of conditions")
    out = default
    for cond, choice in zip(reversed(condlist), reversed(choicelist)):
        out = where(cond, choice, out)
    return out


def choose(a, choices, out=None, mode="raise"):
    """Elementwise choices[a][...]: the value of the choice that the integer array `a` names (all broadcast
    together), as numpy.choose; mode 'wrap' or 'clip' maps out-of-range indices, 'raise' needs a concrete `a`.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.choose(np.array([0, 2, 1]), [np.array([1, 2, 3]), np.array([10, 20, 30]), np.array([7, 8, 9])])
    Array([ 1,  8, 30], dtype=int64)
    """
    a = _asarray_traced(a)
    n = len(choices)
    if mode == "raise":
        values = _concrete(a, "choose(mode='raise')", "Use mode='clip' or mode='wrap' under jit.")
        if values.size and (values.min() < 0 or values.max() >= n):
            raise ValueError(f"choose: invalid entry in choice array (indices must be in [0, {n}))")
    elif mode == "wrap":
        a = mod(a, n)
    elif mode == "clip":
        a = clip(a, 0, n - 1)
    else:
        raise ValueError(f"choose: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    parts = broadcast_arrays(a, *choices)
    parts = [broadcast_to(p, _shape(parts[0])) for p in parts]
    stacked = stack(parts[1:], axis=0)
    return take_along_axis(stacked, sh.expand_dims(parts[0], (0,)), axis=0)[0]


def piecewise(x, condlist, funclist, *args, **kw):
    """Evaluate a piecewise function: where condlist[i] holds, funclist[i](x, *args, **kw) (or the constant
    funclist[i]); elsewhere the extra last entry of funclist if any, else 0. When several conditions hold the
    last one wins, as in NumPy. Each function is evaluated on all of x, so keep them finite everywhere for
    their gradients.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> x = np.array([-2.0, 0.5, 3.0])
    >>> fnp.piecewise(x, [x < 0, x >= 1], [lambda x: -x, lambda x: x ** 2, 0.5])
    Array([2. , 0.5, 9. ], dtype=float64)
    """
    x = _asarray_traced(x)
    if get_aval(_asarray_traced(condlist)).ndim == get_aval(x).ndim and not isinstance(condlist, (list, tuple)):
        condlist = [condlist]
    n = len(condlist)
    if len(funclist) not in (n, n + 1):
        raise ValueError(
            f"piecewise: with {n} conditions, funclist must have {n} or {n + 1} entries, got {len(funclist)}"
        )

    def value(f):
        v = f(x, *args, **kw) if callable(f) else f
        return broadcast_to(_convert(_asarray_traced(v), get_aval(x).dtype), _shape(x))

    out = value(funclist[n]) if len(funclist) == n + 1 else full(_shape(x), 0, get_aval(x).dtype)
    for cond, f in zip(condlist, funclist):
        out = where(cond, value(f), out)
    return out


def _no_inplace(name, inplace):
    if inplace:
        raise ValueError(
            f"{name}: fnad arrays are immutable, so {name} cannot modify its argument in place; pass "
            "inplace=False to get the updated array (as in JAX)"
        )


def place(arr, mask, vals, *, inplace=True):
    """A copy of `arr` with the positions where `mask` is true filled by `vals` in order (repeated if
    shorter), as numpy.place; JAX's signature: pass inplace=False (arrays are immutable).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.place(np.arange(5.0), np.array([1, 0, 1, 0, 1]), np.array([-1.0, -2.0]), inplace=False)
    Array([-1.,  1., -2.,  3., -1.], dtype=float64)
    """
    _no_inplace("place", inplace)
    arr = _asarray_traced(arr)
    mask = broadcast_to(_truth(_asarray_traced(mask)), _shape(arr))
    vals = ravel(_asarray_traced(vals))
    if _shape(vals)[0] == 0:
        raise ValueError("place: cannot place an empty vals")
    rank = mod(cumsum(ravel(mask)) - 1, _shape(vals)[0])
    return where(mask, reshape(take(vals, rank), _shape(arr)), arr)


def put(a, ind, v, mode=None, *, inplace=True):
    """A copy of `a` with its flattened positions `ind` set to `v` (repeated to the length of ind), as
    numpy.put; mode 'wrap' or 'clip' maps out-of-range indices (others are dropped). Pass inplace=False.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.put(np.zeros(5), np.array([0, 3]), np.array([7.0, 8.0]), inplace=False)
    Array([7., 0., 0., 8., 0.], dtype=float64)
    """
    _no_inplace("put", inplace)
    a = _asarray_traced(a)
    size = int(np.prod(_shape(a)))
    ind = ravel(_asarray_traced(ind))
    if mode == "wrap":
        ind = mod(ind, size)
    elif mode == "clip":
        ind = clip(ind, 0, size - 1)
    elif mode not in (None, "raise", "fill", "drop"):
        raise ValueError(f"put: mode must be None, 'wrap' or 'clip', got {mode!r}")
    else:
        ind = where(ind < 0, ind + size, ind)
    v = ravel(_convert(_asarray_traced(v), get_aval(a).dtype))
    k = _shape(ind)[0]
    if _shape(v)[0] != k and k:
        v = take(v, sh.iota(np.int64, (k,), 0) % _shape(v)[0])
    return reshape(ix.scatter(ravel(a), reshape(ind, (-1, 1)), v, (0,)), _shape(a))


def put_along_axis(arr, indices, values, axis, inplace=True, *, mode=None):
    """A copy of `arr` with values written at `indices` along `axis` (the inverse of take_along_axis), as
    numpy.put_along_axis; pass inplace=False.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.put_along_axis(np.zeros((2, 3)), np.array([[2], [0]]), 5.0, axis=1, inplace=False)
    Array([[0., 0., 5.],
           [5., 0., 0.]], dtype=float64)
    """
    _no_inplace("put_along_axis", inplace)
    arr = _asarray_traced(arr)
    if axis is None:
        arr, axis = ravel(arr), 0
    indices = _asarray_traced(indices)
    nd = get_aval(arr).ndim
    if get_aval(indices).ndim != nd:
        raise ValueError(f"put_along_axis: indices of shape {_shape(indices)} must have {nd} dimensions like arr")
    axis = _normalize_axis(axis, nd)
    n = _shape(arr)[axis]
    shape = _shape(indices)
    coords = [
        where(indices < 0, indices + n, indices) if d == axis else broadcast_to(sh.iota(np.int64, shape, d), shape)
        for d in range(nd)
    ]
    points = stack([_convert(c, np.int64) for c in coords], axis=-1)
    updates = broadcast_to(_convert(_asarray_traced(values), get_aval(arr).dtype), shape)
    return ix.scatter(arr, points, updates, tuple(range(nd)))
