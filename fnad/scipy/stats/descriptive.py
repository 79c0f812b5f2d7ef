"""Descriptive statistics of samples, as `jax.scipy.stats.mode`, `rankdata` and `sem`: built from sorting,
cumulative sums and reductions, so they batch and compile (and `sem` differentiates) like any fnad.numpy code.

>>> import numpy as np; from fnad.scipy import stats
>>> stats.mode(np.array([2, 4, 1, 1, 3, 4, 4, 2, 3]))
ModeResult(mode=Array(4, dtype=int64), count=Array(3, dtype=int64))
>>> stats.rankdata(np.array([1, 3, 2, 3]))
Array([1. , 3.5, 2. , 3.5], dtype=float64)
>>> stats.sem(np.array([2.0, 4.0, 1.0, 1.0]))
Array(0.70710678, dtype=float64)
"""

from __future__ import annotations

import math
import operator
from typing import NamedTuple

import numpy as np

from ... import lax
from ... import numpy as fnp
from ...core import get_aval
from ...numpy._core import promoted_inexact

_NAN_POLICIES = ("propagate", "omit", "raise")


def _check_nan_policy(name, nan_policy, supported):
    if nan_policy not in _NAN_POLICIES:
        raise ValueError(f"{name}: illegal nan_policy value {nan_policy!r}; expected one of {set(_NAN_POLICIES)}")
    if nan_policy not in supported:
        raise NotImplementedError(
            f"{name}: nan_policy={nan_policy!r} is not supported (as in JAX); "
            "check for NaNs outside the function, or pass nan_policy='propagate'"
        )


def _axis(axis, ndim, name):
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}: axis {axis} is out of bounds for an array of dimension {ndim}")
    return axis % ndim


class ModeResult(NamedTuple):
    """The result of `mode`: the modal values and how often each occurs."""

    mode: object
    count: object


def mode(a, axis=0, nan_policy="propagate", keepdims=False):
    """The most common value along `axis` (the smallest of equally common ones) and its count, as
    `jax.scipy.stats.mode` (`axis=None` flattens; only nan_policy='propagate', as in JAX).

    >>> import numpy as np; from fnad.scipy import stats
    >>> stats.mode(np.array([[1, 2, 1], [3, 1, 3], [1, 2, 2]]), axis=1)
    ModeResult(mode=Array([1, 3, 2], dtype=int64), count=Array([2, 2, 2], dtype=int64))
    """
    _check_nan_policy("mode", nan_policy, ("propagate",))
    x = fnp.atleast_1d(a)
    shape = x.shape
    if axis is None:
        out_shape = (1,) * len(shape) if keepdims else ()
        x, axis = fnp.ravel(x), 0
    else:
        axis = _axis(axis, x.ndim, "mode")
        out_shape = (
            tuple(1 if i == axis else s for i, s in enumerate(shape)) if keepdims else shape[:axis] + shape[axis + 1 :]
        )
    x = fnp.moveaxis(x, axis, 0)
    n = x.shape[0]
    x = fnp.reshape(x, (n, math.prod(x.shape[1:])))
    if n == 0:  # JAX's values for an empty sample
        return ModeResult(fnp.full(out_shape, np.nan), fnp.zeros(out_shape))
    s = fnp.sort(x, axis=0)
    # runs of equal values (NaNs count as equal, as jnp.unique's equal_nan): position i of a run has count
    # i - start + 1; the first position reaching the largest count ends the earliest (smallest) modal run
    index = fnp.arange(n)[:, None]
    same = (s[1:] == s[:-1]) | (fnp.isnan(s[1:]) & fnp.isnan(s[:-1]))
    starts = fnp.concatenate([fnp.ones((1, s.shape[1]), bool), ~same], axis=0)
    run_start = lax.cummax(fnp.where(starts, index, 0), axis=0)
    counts = index - run_start + 1
    best = fnp.argmax(counts, axis=0)
    columns = fnp.arange(s.shape[1])
    modes, count = s[best, columns], counts[best, columns]
    return ModeResult(fnp.reshape(modes, out_shape), fnp.reshape(count, out_shape))


_RANK_METHODS = ("average", "min", "max", "dense", "ordinal")


def _rank_1d(a, method):
    n = a.shape[0]
    sorter = fnp.argsort(a, stable=True)
    inverse = fnp.zeros(n, sorter.dtype).at[sorter].set(fnp.arange(n, dtype=sorter.dtype))
    if method == "ordinal":
        ranks = inverse + 1
    else:
        s = a[sorter]
        new = fnp.concatenate([fnp.ones(1, bool), s[1:] != s[:-1]])
        dense = fnp.cumsum(new)[inverse]
        if method == "dense":
            ranks = dense
        else:
            # count[k]: the sorted position where run k starts (count[number of runs] = n)
            count = fnp.nonzero(new, size=n + 1, fill_value=n)[0]
            high, low = count[dense], count[dense - 1] + 1
            ranks = {"max": high, "min": low, "average": 0.5 * (high + low)}[method]
    ranks = ranks.astype(np.float64)
    return fnp.where(fnp.any(fnp.isnan(a)), np.nan, ranks) if np.issubdtype(get_aval(a).dtype, np.inexact) else ranks


def rankdata(a, method="average", *, axis=None, nan_policy="propagate"):
    """Ranks from 1 of the data (flattened, or along `axis`), ties by `method` ('average', 'min', 'max',
    'dense' or 'ordinal'); all NaN where a NaN is present, as `jax.scipy.stats.rankdata`.

    >>> import numpy as np; from fnad.scipy import stats
    >>> stats.rankdata(np.array([40, 10, 30, 10]), method="min")
    Array([4., 1., 3., 1.], dtype=float64)
    """
    _check_nan_policy("rankdata", nan_policy, ("propagate",))
    if method not in _RANK_METHODS:
        raise ValueError(f"rankdata: unknown method {method!r}; expected one of {_RANK_METHODS}")
    a = fnp.asarray(a)
    if axis is not None:
        axis = _axis(axis, max(a.ndim, 1), "rankdata")
        return fnp.apply_along_axis(lambda v: _rank_1d(v, method), axis, a)
    return _rank_1d(fnp.ravel(a), method)


def sem(a, axis=0, ddof=1, nan_policy="propagate", *, keepdims=False):
    """The standard error of the mean, std(a, ddof) / sqrt(n), along `axis` (None: all of a), as
    `jax.scipy.stats.sem` (nan_policy 'propagate' or 'omit').

    >>> import numpy as np; from fnad.scipy import stats
    >>> stats.sem(np.array([[1.0, np.nan], [3.0, 4.0], [5.0, 6.0]]), nan_policy="omit")
    Array([1.15470054, 1.        ], dtype=float64)
    """
    _check_nan_policy("sem", nan_policy, ("propagate", "omit"))
    (b,) = promoted_inexact(a)
    dtype = get_aval(b).dtype
    if nan_policy == "omit":
        count = fnp.sum(~fnp.isnan(b), axis=axis, keepdims=keepdims)
        return fnp.nanstd(b, axis=axis, ddof=ddof, keepdims=keepdims) / fnp.sqrt(count).astype(dtype)
    size = b.size if axis is None else b.shape[axis]
    return fnp.std(b, axis=axis, ddof=ddof, keepdims=keepdims) / np.sqrt(size).astype(dtype)
