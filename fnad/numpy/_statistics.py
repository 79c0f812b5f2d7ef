"""fnad.numpy's order statistics, correlations and histograms: quantile, percentile, median (and their
NaN-ignoring versions), cov, corrcoef, bincount, digitize, histogram, histogram_bin_edges, histogram2d,
histogramdd. Each is composed from sort, gather, scatter-add and arithmetic, with JAX's semantics where
JAX differs from NumPy (quantile's 'nearest' rounds half down, histogram counts are floats, bincount under
jit needs `length=`), so grad, vmap and jit work through them."""

from __future__ import annotations

import builtins
import operator

import numpy as np

from ..core import get_aval
from ..primitives import indexing as ix
from ._core import asarray_traced as _asarray_traced
from ._core import concrete as _concrete
from ._core import convert as _convert
from ._core import inexact as _as_inexact
from ._core import normalize_axes as _normalize_axes
from ._core import promoted as _promoted
from ._core import shape_of as _shape
from ._creation import linspace, zeros
from ._diagonals import diagonal
from ._elementwise import ceil, clip, equal, floor, isnan, logical_not, sqrt, where
from ._indexing import take_along_axis
from ._joining import concatenate, stack
from ._products import dot
from ._reductions import any, max, min, sum
from ._shapes import atleast_2d, broadcast_to, ravel, reshape, squeeze, transpose
from ._sorting import diff, searchsorted, sort

_QUANTILE_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(a, q, axis, method, keepdims, ignore_nan, name):
    if method not in _QUANTILE_METHODS:
        raise ValueError(f"{name}: method must be one of {', '.join(map(repr, _QUANTILE_METHODS))}, got {method!r}")
    a = _as_inexact(a)
    q = _asarray_traced(q)
    q = _convert(q, get_aval(a).dtype) if get_aval(q).dtype != get_aval(a).dtype else q
    if get_aval(q).ndim > 1:
        raise ValueError(f"{name}: q must have rank <= 1, got shape {_shape(q)}")
    nd = get_aval(a).ndim
    axes = _normalize_axes(axis, nd)
    kept = [d for d in range(nd) if d not in axes]
    out_shape = tuple(1 if d in axes else n for d, n in enumerate(_shape(a))) if keepdims else None
    # the reduced axes last, flattened into one: a has shape kept + (n,)
    a = reshape(transpose(a, kept + list(axes)), tuple(_shape(a)[d] for d in kept) + (-1,))
    n = _shape(a)[-1]
    nan = isnan(a)
    s = sort(a, axis=-1)  # NaN sorts last
    if ignore_nan:
        count = _convert(sum(logical_not(nan), axis=-1), get_aval(a).dtype)
    else:
        count = np.array(n, get_aval(a).dtype)
    qs = reshape(q, _shape(q) + (1,) * (get_aval(a).ndim - 1))  # q's axis first, as in NumPy
    pos = qs * (count - 1)
    lo, hi = floor(pos), ceil(pos)
    high_weight = pos - lo
    low_weight = 1 - high_weight
    last = count - 1

    def value_at(i):
        i = _convert(clip(i, 0, last), np.int64)
        return _take_last(s, reshape(i, _shape(i) + (1,)))

    low, high = value_at(lo), value_at(hi)
    if method == "linear":
        out = low * low_weight + high * high_weight
    elif method == "lower":
        out = low
    elif method == "higher":
        out = high
    elif method == "nearest":  # JAX rounds a tie down (NumPy rounds it to even)
        out = where(high_weight <= 0.5, low, high)
    else:
        out = (low + high) * 0.5
    if ignore_nan:
        out = where(count == 0, np.nan, out)
    else:
        out = where(any(nan, axis=-1), np.nan, out)
    if keepdims:
        out = reshape(out, _shape(q) + out_shape)
    return out


def _take_last(rows, idx):
    """rows[..., idx[..., 0]] along the last axis, rows broadcast against idx's leading axes."""
    lead = np.broadcast_shapes(_shape(rows)[:-1], _shape(idx)[:-1])
    rows = broadcast_to(rows, lead + _shape(rows)[-1:])
    idx = broadcast_to(idx, lead + (1,))
    return take_along_axis(rows, idx, axis=-1)[..., 0]


def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *, weights=None):
    """The `q`-th quantiles (q in [0, 1], a scalar or 1-d) of `a` along `axis` (all axes by default), as
    jax.numpy.quantile: methods 'linear', 'lower', 'higher', 'midpoint' and 'nearest' (which, as in JAX,
    rounds a position halfway between two values down); NaN if the slice holds a NaN. Differentiable in `a`
    and in `q`.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.quantile(np.array([1.0, 2.0, 4.0, 8.0]), np.array([0.25, 0.5]))
    Array([1.75, 3.  ], dtype=float64)
    >>> fnad.grad(lambda a: fnp.quantile(a, 0.25))(np.array([1.0, 2.0, 4.0, 8.0]))
    Array([0.25, 0.75, 0.  , 0.  ], dtype=float64)
    """
    _check_quantile_args("quantile", out, weights)
    return _quantile(a, q, axis, method, keepdims, ignore_nan=False, name="quantile")


def nanquantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *, weights=None):
    """quantile ignoring NaN (NaN only for an all-NaN slice), as jax.numpy.nanquantile.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.nanquantile(np.array([1.0, np.nan, 3.0]), 0.5)
    Array(2., dtype=float64)
    """
    _check_quantile_args("nanquantile", out, weights)
    return _quantile(a, q, axis, method, keepdims, ignore_nan=True, name="nanquantile")


def _check_quantile_args(name, out, weights):
    if out is not None:
        raise NotImplementedError(f"{name}: out= is not supported (arrays are immutable, as in JAX)")
    if weights is not None:
        raise NotImplementedError(f"{name}: weights= (JAX's 'inverted_cdf' method) is not supported")


def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *, weights=None):
    """The `q`-th percentiles (q in [0, 100]) along `axis`: quantile(a, q / 100), as jax.numpy.percentile.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.percentile(np.array([[1.0, 2.0, 3.0], [4.0, 6.0, 8.0]]), 50, axis=1)
    Array([2., 6.], dtype=float64)
    """
    _check_quantile_args("percentile", out, weights)
    return _quantile(a, _as_inexact(q) / 100, axis, method, keepdims, ignore_nan=False, name="percentile")


def nanpercentile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *, weights=None):
    """percentile ignoring NaN, as jax.numpy.nanpercentile.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.nanpercentile(np.array([1.0, np.nan, 3.0]), 100)
    Array(3., dtype=float64)
    """
    _check_quantile_args("nanpercentile", out, weights)
    return _quantile(a, _as_inexact(q) / 100, axis, method, keepdims, ignore_nan=True, name="nanpercentile")


def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """The median along `axis` (the mean of the two middle values for an even count), as numpy.median;
    NaN if the slice holds a NaN. The gradient goes to the middle value(s).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.median(np.array([[3.0, 1.0, 2.0], [4.0, 8.0, 6.0]]), axis=1)
    Array([2., 6.], dtype=float64)
    >>> fnad.grad(fnp.median)(np.array([4.0, 1.0, 3.0, 2.0]))
    Array([0. , 0. , 0.5, 0.5], dtype=float64)
    """
    _check_quantile_args("median", out, None)
    return _quantile(a, 0.5, axis, "midpoint", keepdims, ignore_nan=False, name="median")


def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """The median along `axis` ignoring NaN, as numpy.nanmedian.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.nanmedian(np.array([3.0, np.nan, 1.0, 2.0]))
    Array(2., dtype=float64)
    """
    _check_quantile_args("nanmedian", out, None)
    return _quantile(a, 0.5, axis, "midpoint", keepdims, ignore_nan=True, name="nanmedian")


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, dtype=None):
    """The covariance matrix of the variables in the rows of `m` (columns when rowvar=False), with
    optional frequency and analytic weights, as numpy.cov; a 0-d result for one variable.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.cov(np.array([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]]))
    Array([[ 1., -1.],
           [-1.,  1.]], dtype=float64)
    >>> fnad.grad(lambda x: fnp.cov(x))(np.array([1.0, 2.0, 4.0]))
    Array([-1.33333333, -0.33333333,  1.66666667], dtype=float64)
    """
    x = _cov_variables(m, rowvar, dtype, "m")
    if y is not None:
        x = _concat_rows(x, _cov_variables(y, rowvar, dtype, "y"))
    if ddof is None:
        ddof = 0 if bias else 1
    n = _shape(x)[1]
    w = None
    if fweights is not None:
        w = _cov_weights(fweights, n, "fweights")
    if aweights is not None:
        aw = _cov_weights(aweights, n, "aweights")
        w = aw if w is None else w * aw
    if w is None:
        mean = sum(x, axis=1, keepdims=True) / n
        factor = np.array(n - ddof, get_aval(x).dtype)
    else:
        x, w = _promoted([x, w])
        w_sum = sum(w)
        mean = sum(x * w, axis=1, keepdims=True) / w_sum
        if ddof == 0:
            factor = w_sum
        elif aweights is None:
            factor = w_sum - ddof
        else:
            factor = w_sum - ddof * sum(w * aw) / w_sum
    centered = x - mean
    weighted = centered if w is None else centered * w
    return squeeze(dot(centered, transpose(weighted)) / factor)


def _cov_variables(m, rowvar, dtype, what):
    x = _as_inexact(m, dtype)
    if get_aval(x).ndim > 2:
        raise ValueError(f"cov: {what} has more than 2 dimensions (shape {_shape(x)})")
    x = atleast_2d(x)
    return x if rowvar or _shape(x)[0] == 1 else transpose(x)


def _concat_rows(x, y):
    return concatenate([x, y], axis=0)


def _cov_weights(w, n, name):
    w = _asarray_traced(w)
    if get_aval(w).shape != (n,):
        raise ValueError(f"cov: {name} must be 1-d with one weight per observation ({n}), got shape {_shape(w)}")
    return w


def corrcoef(x, y=None, rowvar=True, dtype=None):
    """The Pearson correlation coefficients of the variables in the rows of `x` (clipped to [-1, 1]), as
    numpy.corrcoef.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.corrcoef(np.array([1.0, 2.0, 4.0]), np.array([2.0, 1.0, 0.0]))
    Array([[ 1.        , -0.98198051],
           [-0.98198051,  1.        ]], dtype=float64)
    """
    c = cov(x, y, rowvar, dtype=dtype)
    if get_aval(c).ndim == 0:
        return c / c
    sd = sqrt(diagonal(c))
    return clip(c / sd[:, None] / sd[None, :], -1, 1)


def bincount(x, weights=None, minlength=0, *, length=None):
    """The number of occurrences of each value 0, 1, ... in the non-negative integer array `x` (the sum
    of `weights` at them, if given), as jax.numpy.bincount: `length` entries (by default max(x) + 1, at
    least `minlength`, which needs a concrete `x`; under jit pass `length=`); values from `length` on
    are dropped, negative ones count as 0.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.bincount(np.array([0, 1, 1, 3]))
    Array([1, 2, 0, 1], dtype=int64)
    >>> fnad.jit(lambda x, w: fnp.bincount(x, w, length=3))(np.array([0, 1, 1, 5]), np.array([1.0, 2.0, 3.0, 4.0]))
    Array([1., 5., 0.], dtype=float64)
    """
    x = _asarray_traced(x)
    if not np.issubdtype(get_aval(x).dtype, np.integer):
        raise TypeError(f"bincount: x must be an integer array, got dtype {get_aval(x).dtype}")
    if get_aval(x).ndim != 1:
        raise ValueError(f"bincount: x must be 1-d, got shape {_shape(x)}")
    if length is None:
        values = _concrete(x, "bincount without length=")
        length = builtins.max(int(minlength), int(values.max()) + 1 if values.size else 0)
    length = operator.index(length)
    if weights is None:
        weights = np.ones((), np.int64)
    weights = _asarray_traced(weights)
    weights = broadcast_to(weights, _shape(x))
    counts = zeros(length, get_aval(weights).dtype)
    return ix.scatter_add(counts, reshape(clip(x, 0, None), (-1, 1)), weights, (0,))


def digitize(x, bins, right=False, *, method=None):
    """The index of the bin of `bins` (1-d, increasing or decreasing) each value of `x` falls in, as
    numpy.digitize: i with bins[i-1] <= x < bins[i] for increasing bins (bins[i-1] < x <= bins[i] with
    right=True).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.digitize(np.array([0.5, 1.0, 2.5, 9.0]), np.array([1.0, 2.0, 3.0]))
    Array([0, 1, 2, 3], dtype=int64)
    >>> fnp.digitize(np.array([0.5, 1.0, 2.5]), np.array([3.0, 2.0, 1.0]), right=True)
    Array([3, 3, 1], dtype=int64)
    """
    bins = _asarray_traced(bins)
    if get_aval(bins).ndim != 1:
        raise ValueError(f"digitize: bins must be 1-d, got shape {_shape(bins)}")
    n = _shape(bins)[0]
    if n == 0:
        return zeros(_shape(_asarray_traced(x)), np.int64)
    side = "left" if right else "right"
    method = "scan" if method is None else method
    increasing = searchsorted(bins, x, side=side, method=method)
    decreasing = n - searchsorted(bins[::-1], x, side=side, method=method)
    return where(bins[-1] >= bins[0], increasing, decreasing)


def histogram_bin_edges(a, bins=10, range=None, weights=None):
    """The edges of the histogram's bins: `bins` itself when it is an array, else `bins` equal bins over
    `range` (by default [a.min(), a.max()], widened by 0.5 on each side when that is one point).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.histogram_bin_edges(np.array([1.0, 2.0, 9.0]), bins=4)
    Array([1., 3., 5., 7., 9.], dtype=float64)
    """
    if np.ndim(bins) == 1 or isinstance(bins, (list, tuple)) or get_aval(_asarray_traced(bins)).ndim == 1:
        return _as_inexact(bins)
    bins = operator.index(_concrete(bins, "histogram's number of bins").item())
    if bins < 1:
        raise ValueError(f"histogram: `bins` must be positive, got {bins}")
    a = _as_inexact(a)
    if range is None:
        lo, hi = min(a), max(a)
    else:
        lo, hi = (_as_inexact(r, get_aval(a).dtype) for r in range)
    point = lo == hi
    lo, hi = where(point, lo - 0.5, lo), where(point, hi + 0.5, hi)
    return linspace(lo, hi, bins + 1, dtype=get_aval(a).dtype)


def histogram(a, bins=10, range=None, weights=None, density=None):
    """The histogram of `a` (flattened): (counts, bin edges), as jax.numpy.histogram. As in JAX the counts
    are floats; values outside the edges are not counted, the last bin includes its right edge.
    density=True divides by the total count times the bin width.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> counts, edges = fnp.histogram(np.array([1.0, 2.0, 2.0, 3.0, 9.0]), bins=4)
    >>> counts, edges
    (Array([3., 1., 0., 1.], dtype=float64), Array([1., 3., 5., 7., 9.], dtype=float64))
    """
    hist, (edges,) = histogramdd(reshape(ravel(_asarray_traced(a)), (-1, 1)), [bins], [range], weights, density)
    return hist, edges


def histogram2d(x, y, bins=10, range=None, weights=None, density=None):
    """The two-dimensional histogram of the points (x[i], y[i]): (counts, x edges, y edges), as
    jax.numpy.histogram2d (float counts; `bins` an int, an array of edges, or one of either per axis).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> h, xe, ye = fnp.histogram2d(np.array([0.0, 1.0, 1.0]), np.array([0.0, 0.0, 1.0]), bins=2)
    >>> h
    Array([[1., 0.],
           [1., 1.]], dtype=float64)
    """
    try:
        per_axis = len(bins) == 2  # as NumPy: a pair is one bins per axis, other sequences are shared edges
    except TypeError:
        per_axis = False
    if not per_axis:
        bins = [bins, bins]
    hist, (xedges, yedges) = histogramdd(stack([x, y], axis=1), bins, range, weights, density)
    return hist, xedges, yedges


def histogramdd(sample, bins=10, range=None, weights=None, density=None):
    """The D-dimensional histogram of the N points in the rows of `sample` (N, D): (counts, [edges per
    axis]), as jax.numpy.histogramdd (float counts; the last bin of each axis includes its right edge).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> h, edges = fnp.histogramdd(np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]), bins=2)
    >>> h
    Array([[1., 0.],
           [1., 1.]], dtype=float64)
    """
    sample = _as_inexact(sample)
    if get_aval(sample).ndim != 2:
        raise ValueError(f"histogramdd: sample must have shape (N, D), got {_shape(sample)}")
    n_points, d = _shape(sample)
    if not isinstance(bins, (list, tuple)):
        bins = [bins] * d
    elif len(bins) != d:
        raise ValueError(f"histogramdd: `bins` must be an int or a sequence of {d} ints or edge arrays")
    ranges = [None] * d if range is None else list(range)
    if len(ranges) != d:
        raise ValueError(f"histogramdd: `range` must hold one (min, max) pair or None per axis ({d})")
    edges, flat, size = [], 0, 1
    for k in builtins.range(d):
        column = sample[:, k]
        e = histogram_bin_edges(column, bins[k], ranges[k])
        m = _shape(e)[0]
        # bin i + 1 for edges[i] <= v < edges[i + 1]; 0 and m for values outside; the last edge is in
        i = where(equal(column, e[-1]), m - 1, searchsorted(e, column, side="right"))
        flat = flat * (m + 1) + i
        size *= m + 1
        edges.append(e)
    w = np.ones((), get_aval(sample).dtype) if weights is None else _asarray_traced(weights)
    if weights is not None and _shape(w) != (n_points,):
        raise ValueError(f"histogramdd: weights must have shape ({n_points},), got {_shape(w)}")
    counts = bincount(flat, w, length=size)
    counts = _convert(counts, get_aval(sample).dtype) if weights is None else counts
    counts = reshape(counts, tuple(_shape(e)[0] + 1 for e in edges))
    counts = counts[(slice(1, -1),) * d]
    if density:
        counts = counts / sum(counts)
        for k, e in enumerate(edges):
            widths = diff(e)
            counts = counts / reshape(widths, tuple(-1 if j == k else 1 for j in builtins.range(d)))
    return counts, edges
