"""fnad.numpy's reductions: sum, prod, max, min, all, any, mean, var, std, argmax, argmin, count_nonzero, ptp,
average, allclose, array_equal, array_equiv, and the NaN-ignoring nansum, nanprod, nanmax, nanmin, nanargmax, nanargmin, nanmean, nanvar, nanstd."""

from __future__ import annotations

import builtins

import numpy as np

from ..core import get_aval
from ..primitives import elementwise as ew
from ..primitives import reductions as red
from ..primitives import shape as sh
from ._core import asarray_traced as _asarray_traced
from ._core import convert as _convert
from ._core import normalize_axes as _normalize_axes
from ._core import normalize_axis as _normalize_axis
from ._core import numpy_when_eager, shape_of
from ._core import promoted as _promoted
from ._elementwise import _as_bool, isclose, isnan, logical_and, logical_not, logical_or, maximum, sqrt
from ._elementwise import where as _where
from ._shapes import broadcast_to, ravel, reshape


def _reduce(np_fn, prim_fn, name, int_to=None, bool_to=None):
    def eager(a, axis=None, dtype=None, keepdims=False, **kw):
        kwargs = dict(axis=axis, keepdims=keepdims, **kw)
        if dtype is not None:  # numpy.max/min/all/any take no dtype
            kwargs["dtype"] = dtype
        return np_fn(a, **kwargs)

    def fn(a, axis=None, dtype=None, keepdims=False, **kw):
        if kw:  # NumPy's initial=/where=: the traced path would silently ignore them
            raise NotImplementedError(f"{name}({', '.join(f'{k}=' for k in kw)}) is not supported on traced values")
        a = _asarray_traced(a)
        aval = get_aval(a)
        dt = aval.dtype
        if dtype is not None:
            dt = np.dtype(dtype)
        elif dt == np.bool_ and bool_to is not None:
            dt = np.dtype(bool_to)
        elif np.issubdtype(dt, np.integer) and int_to is not None and dt.itemsize < 8:
            dt = np.dtype(int_to if np.issubdtype(dt, np.signedinteger) else np.uint64)
        axes = _normalize_axes(axis, aval.ndim)
        out = prim_fn(_convert(a, dt, aval.weak_type) if dt != aval.dtype else a, axes)
        return _keepdims(out, aval.ndim, axes) if keepdims else out

    fn.__name__ = name
    fn = numpy_when_eager(eager)(fn)
    fn.__doc__ = (
        f"fnad version of numpy.{name}(a, axis=None, dtype=None, keepdims=False): a reduction "
        f"over `axis` (an int, a tuple, or None for all axes). Without traced arguments it "
        f"calls numpy.{name} itself; on traced values it binds fnad primitives (grad, jvp, "
        f"vjp, vmap, jit)."
    )
    return fn


def _keepdims(out, ndim, axes):
    return sh.expand_dims(out, axes)


sum = _reduce(np.sum, red.reduce_sum, "sum", int_to=np.int64, bool_to=np.int64)
sum.__doc__ += """

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> fnp.sum(a, axis=0)
    Array([4., 6.], dtype=float64)
    >>> fnad.vmap(fnp.sum)(a)          # one sum per row
    Array([3., 7.], dtype=float64)
    """
prod = _reduce(np.prod, red.reduce_prod, "prod", int_to=np.int64, bool_to=np.int64)
prod.__doc__ += """

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> fnp.prod(a, axis=1)
    Array([ 2., 12.], dtype=float64)
    >>> fnad.grad(fnp.prod)(np.array([2.0, 3.0, 4.0]))
    Array([12.,  8.,  6.], dtype=float64)
    """
_max = _reduce(np.max, red.reduce_max, "max")
_min = _reduce(np.min, red.reduce_min, "min")
all = _reduce(np.all, lambda a, axes: red.reduce_and(_as_bool(a), axes), "all")
all.__doc__ += """

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.all(np.array([[1, 0], [1, 1]]), axis=1)
    Array([False,  True], dtype=bool)
    """
any = _reduce(np.any, lambda a, axes: red.reduce_or(_as_bool(a), axes), "any")
any.__doc__ += """

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.any(np.array([[1, 0], [0, 0]]), axis=1)
    Array([ True, False], dtype=bool)
    """


def _given(**kw):
    """The keyword arguments that are not None (NumPy's initial=/where= have no None default)."""
    return {k: v for k, v in kw.items() if v is not None}


def max(a, axis=None, keepdims=False, initial=None, where=None):
    """The maximum over `axis` (all axes by default), as numpy.max (also `amax`); `initial=`/`where=` work on
    concrete arrays only. The gradient is shared equally among tied maxima.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([[1.0, 4.0], [3.0, 2.0]])
    >>> fnp.max(a, axis=0)
    Array([3., 4.], dtype=float64)
    >>> fnad.grad(fnp.max)(np.array([1.0, 3.0, 3.0]))
    Array([0. , 0.5, 0.5], dtype=float64)
    """
    return _max(a, axis=axis, keepdims=keepdims, **_given(initial=initial, where=where))


def min(a, axis=None, keepdims=False, initial=None, where=None):
    """The minimum over `axis` (all axes by default), as numpy.min (also `amin`).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.min(np.array([[1.0, 4.0], [3.0, 2.0]]), axis=1, keepdims=True)
    Array([[1.],
           [2.]], dtype=float64)
    """
    return _min(a, axis=axis, keepdims=keepdims, **_given(initial=initial, where=where))


amax, amin = max, min


@numpy_when_eager(
    lambda a, axis=None, dtype=None, keepdims=False: np.mean(a, axis=axis, dtype=dtype, keepdims=keepdims)
)
def mean(a, axis=None, dtype=None, keepdims=False):
    """The mean over `axis` (all axes by default), as numpy.mean; integer input gives float64.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> fnp.mean(a, axis=1, keepdims=True)
    Array([[1.5],
           [3.5]], dtype=float64)
    >>> fnad.grad(fnp.mean)(a)
    Array([[0.25, 0.25],
           [0.25, 0.25]], dtype=float64)
    """
    a = _asarray_traced(a)
    aval = get_aval(a)
    axes = _normalize_axes(axis, aval.ndim)
    n = int(np.prod([aval.shape[i] for i in axes], dtype=np.int64))
    dt = (
        np.dtype(dtype)
        if dtype is not None
        else (aval.dtype if np.issubdtype(aval.dtype, np.inexact) else np.dtype(np.float64))
    )
    s = sum(_convert(a, dt) if dt != aval.dtype else a, axis=axes, keepdims=keepdims)
    return ew.div(s, np.array(n, dt))


@numpy_when_eager(
    lambda a, axis=None, dtype=None, ddof=0, keepdims=False: np.var(
        a, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims
    )
)
def var(a, axis=None, dtype=None, ddof=0, keepdims=False):
    """The variance over `axis` with `ddof` delta degrees of freedom, as numpy.var (integer input gives
    float64).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([1.0, 2.0, 3.0, 4.0])
    >>> fnp.var(a), fnp.var(a, ddof=1)
    (Array(1.25, dtype=float64), Array(1.66666667, dtype=float64))
    >>> fnad.grad(fnp.var)(a)
    Array([-0.75, -0.25,  0.25,  0.75], dtype=float64)
    """
    a = _asarray_traced(a)
    aval = get_aval(a)
    axes = _normalize_axes(axis, aval.ndim)
    n = int(np.prod([aval.shape[i] for i in axes], dtype=np.int64))
    centered = a - mean(a, axis=axes, dtype=dtype, keepdims=True)
    if get_aval(centered).dtype.kind == "c":  # |x - mean|**2: a real variance, as NumPy's
        re, im = ew.real(centered), ew.imag(centered)
        ss = sum(re * re + im * im, axis=axes, keepdims=keepdims)
    else:
        ss = sum(centered * centered, axis=axes, keepdims=keepdims)
    return ss / np.array(builtins.max(n - ddof, 0), get_aval(ss).dtype)


@numpy_when_eager(
    lambda a, axis=None, dtype=None, ddof=0, keepdims=False: np.std(
        a, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims
    )
)
def std(a, axis=None, dtype=None, ddof=0, keepdims=False):
    """The standard deviation over `axis`, sqrt(var), as numpy.std.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.std(np.array([[1.0, 3.0], [2.0, 2.0]]), axis=1)
    Array([1., 0.], dtype=float64)
    >>> fnad.grad(fnp.std)(np.array([1.0, 3.0]))
    Array([-0.5,  0.5], dtype=float64)
    """
    return sqrt(var(a, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims))


def _arg(np_fn, prim_fn):
    @numpy_when_eager(lambda a, axis=None, keepdims=False: np_fn(a, axis=axis, keepdims=keepdims))
    def fn(a, axis=None, keepdims=False):
        a = _asarray_traced(a)
        if axis is None:
            out = prim_fn(ravel(a), 0)
            return reshape(out, (1,) * get_aval(a).ndim) if keepdims else out
        ax = _normalize_axis(axis, get_aval(a).ndim)
        out = prim_fn(a, ax)
        return sh.expand_dims(out, (ax,)) if keepdims else out

    fn.__name__ = fn.__qualname__ = np_fn.__name__
    fn.__doc__ = (
        f"fnad version of numpy.{np_fn.__name__}(a, axis=None, keepdims=False): the index (int64) of "
        f"the first extremum along `axis` (of the flattened array when None); an integer result, "
        f"so its derivative is zero."
    )
    return fn


argmax = _arg(np.argmax, red.argmax)
argmax.__doc__ += """

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([[1.0, 5.0, 5.0], [7.0, 2.0, 3.0]])
    >>> fnp.argmax(a, axis=1)
    Array([1, 0], dtype=int64)
    >>> fnad.vmap(fnp.argmax)(a)
    Array([1, 0], dtype=int64)
    """
argmin = _arg(np.argmin, red.argmin)
argmin.__doc__ += """

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.argmin(np.array([[1.0, 5.0], [7.0, 2.0]]), axis=0)
    Array([0, 1], dtype=int64)
    """


def count_nonzero(a, axis=None, keepdims=False):
    """The number of nonzero elements along `axis` (all axes by default), an int64 count as in JAX.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.count_nonzero(np.array([[0, 1, 2], [3, 0, 0]]), axis=1)
    Array([2, 1], dtype=int64)
    """
    a = _asarray_traced(a)
    return sum(a if get_aval(a).dtype == np.bool_ else a != 0, axis=axis, keepdims=keepdims)


def ptp(a, axis=None, keepdims=False):
    """The range max - min along `axis` ("peak to peak"), as numpy.ptp.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.ptp(np.array([[4.0, 9.0, 2.0], [1.0, 1.0, 3.0]]), axis=1)
    Array([7., 2.], dtype=float64)
    """
    return max(a, axis=axis, keepdims=keepdims) - min(a, axis=axis, keepdims=keepdims)


def _is_inexact(a):
    return np.issubdtype(get_aval(a).dtype, np.inexact)


def _without_nan(a, fill):
    """`a` with its NaNs replaced by `fill` (integer arrays have none)."""
    a = _asarray_traced(a)
    return _where(isnan(a), fill, a) if _is_inexact(a) else a


def _no_where(name, where_):
    if where_ is not None:
        raise NotImplementedError(f"{name}(where=...) is not supported")


def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """The sum along `axis` treating NaN as zero, as numpy.nansum.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.nansum(np.array([1.0, np.nan, 2.0]))
    Array(3., dtype=float64)
    >>> fnad.grad(fnp.nansum)(np.array([1.0, np.nan, 2.0]))
    Array([1., 0., 1.], dtype=float64)
    """
    _no_where("nansum", where)
    s = sum(_without_nan(a, 0), axis=axis, dtype=dtype, keepdims=keepdims)
    return s if initial is None else s + initial


def nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """The product along `axis` treating NaN as one, as numpy.nanprod.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.nanprod(np.array([2.0, np.nan, 3.0]))
    Array(6., dtype=float64)
    """
    _no_where("nanprod", where)
    p = prod(_without_nan(a, 1), axis=axis, dtype=dtype, keepdims=keepdims)
    return p if initial is None else p * initial


def _nan_extremum(reduce, fill, name):
    def fn(a, axis=None, out=None, keepdims=False, initial=None, where=None):
        _no_where(name, where)
        a = _asarray_traced(a)
        if not _is_inexact(a):
            return reduce(a, axis=axis, keepdims=keepdims, **_given(initial=initial))
        nan = isnan(a)
        out = reduce(_where(nan, fill, a), axis=axis, keepdims=keepdims, **_given(initial=initial))
        # an all-NaN slice gives NaN (NumPy also warns)
        return _where(all(nan, axis=axis, keepdims=keepdims), np.nan, out) if initial is None else out

    fn.__name__ = fn.__qualname__ = name
    return fn


nanmax = _nan_extremum(max, -np.inf, "nanmax")
nanmax.__doc__ = """The maximum along `axis` ignoring NaN (NaN for an all-NaN slice), as numpy.nanmax.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.nanmax(np.array([[1.0, np.nan], [np.nan, np.nan]]), axis=1)
    Array([ 1., nan], dtype=float64)
    """
nanmin = _nan_extremum(min, np.inf, "nanmin")
nanmin.__doc__ = """The minimum along `axis` ignoring NaN (NaN for an all-NaN slice), as numpy.nanmin.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.nanmin(np.array([3.0, np.nan, -1.0]))
    Array(-1., dtype=float64)
    """


def _nan_arg(arg, fill, name):
    def fn(a, axis=None, out=None, keepdims=False):
        a = _asarray_traced(a)
        if not _is_inexact(a):
            return arg(a, axis=axis, keepdims=keepdims)
        nan = isnan(a)
        out = arg(_where(nan, fill, a), axis=axis, keepdims=keepdims)
        # JAX gives -1 for an all-NaN slice (NumPy raises ValueError)
        return _where(all(nan, axis=axis, keepdims=keepdims), -1, out)

    fn.__name__ = fn.__qualname__ = name
    return fn


nanargmax = _nan_arg(argmax, -np.inf, "nanargmax")
nanargmax.__doc__ = """The index of the maximum along `axis` ignoring NaN; -1 for an all-NaN slice, as in JAX.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.nanargmax(np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan]]), axis=1)
    Array([ 2, -1], dtype=int64)
    """
nanargmin = _nan_arg(argmin, np.inf, "nanargmin")
nanargmin.__doc__ = """The index of the minimum along `axis` ignoring NaN; -1 for an all-NaN slice, as in JAX.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.nanargmin(np.array([np.nan, 2.0, 1.0]))
    Array(2, dtype=int64)
    """


def _nan_count(a, axis, keepdims):
    return sum(logical_not(isnan(a)), axis=axis, keepdims=keepdims)


def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, where=None):
    """The mean along `axis` ignoring NaN (NaN for an all-NaN slice), as numpy.nanmean.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.nanmean(np.array([1.0, np.nan, 2.0]))
    Array(1.5, dtype=float64)
    >>> fnad.grad(fnp.nanmean)(np.array([1.0, np.nan, 2.0]))
    Array([0.5, 0. , 0.5], dtype=float64)
    """
    _no_where("nanmean", where)
    a = _asarray_traced(a)
    if not _is_inexact(a):
        return mean(a, axis=axis, dtype=dtype, keepdims=keepdims)
    s = nansum(a, axis=axis, dtype=dtype, keepdims=keepdims)
    with np.errstate(invalid="ignore"):  # an all-NaN slice is 0 / 0 = NaN, quietly (as in JAX)
        return s / _convert(_nan_count(a, axis, keepdims), get_aval(_asarray_traced(s)).dtype)


def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None, mean=None):
    """The variance along `axis` ignoring NaN, with `ddof` delta degrees of freedom, as numpy.nanvar.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.nanvar(np.array([1.0, np.nan, 3.0]))
    Array(1., dtype=float64)
    """
    _no_where("nanvar", where)
    a = _asarray_traced(a)
    if not _is_inexact(a):
        return var(a, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims)
    centre = nanmean(a, axis=axis, dtype=dtype, keepdims=True) if mean is None else mean
    # NaNs become 0 before squaring, so that their (masked) derivative is 0, not 0 * NaN
    ss = sum(_without_nan(a - centre, 0) ** 2, axis=axis, dtype=dtype, keepdims=keepdims)
    n = _convert(_nan_count(a, axis, keepdims), get_aval(_asarray_traced(ss)).dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        return ss / maximum(n - ddof, 0)


def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None, mean=None):
    """The standard deviation along `axis` ignoring NaN, sqrt(nanvar), as numpy.nanstd.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.nanstd(np.array([[1.0, np.nan, 3.0]]), axis=1)
    Array([1.], dtype=float64)
    """
    return sqrt(nanvar(a, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims, where=where, mean=mean))


def average(a, axis=None, weights=None, returned=False, keepdims=False):
    """The weighted mean along `axis` (the plain mean without `weights`); with returned=True also the sum of
    the weights, as numpy.average.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.average(np.array([1.0, 2.0, 4.0]), weights=np.array([3.0, 1.0, 0.0]))
    Array(1.25, dtype=float64)
    >>> fnad.grad(lambda w: fnp.average(np.array([1.0, 2.0]), weights=w))(np.array([1.0, 1.0]))
    Array([-0.25,  0.25], dtype=float64)
    """
    a = _asarray_traced(a)
    if weights is None:
        avg = mean(a, axis=axis, keepdims=keepdims)
        count = np.prod([get_aval(a).shape[i] for i in _normalize_axes(axis, get_aval(a).ndim)], dtype=np.int64)
        total = broadcast_to(np.array(count, get_aval(_asarray_traced(avg)).dtype), shape_of(avg))
    else:
        w = _asarray_traced(weights)
        if get_aval(w).shape != get_aval(a).shape:
            if axis is None or get_aval(w).ndim != 1:
                raise ValueError(
                    f"average: weights of shape {get_aval(w).shape} must have the shape of a "
                    f"{get_aval(a).shape}, or be 1-d along an int axis"
                )
            ax = _normalize_axis(axis, get_aval(a).ndim)
            if get_aval(w).shape[0] != get_aval(a).shape[ax]:
                raise ValueError(
                    f"average: weights of length {get_aval(w).shape[0]} differ from axis {axis} of "
                    f"a (length {get_aval(a).shape[ax]})"
                )
            w = reshape(w, tuple(-1 if i == ax else 1 for i in range(get_aval(a).ndim)))
        a, w = _promoted([a, w])
        if not _is_inexact(a):
            a, w = _convert(a, np.float64), _convert(w, np.float64)
        total = sum(broadcast_to(w, shape_of(a)), axis=axis, keepdims=keepdims)
        avg = sum(a * w, axis=axis, keepdims=keepdims) / total
    return (avg, total) if returned else avg


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True if every pair of elements is close (see isclose), as numpy.allclose; a boolean array under jit.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.allclose(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9]))
    Array(True, dtype=bool)
    """
    return all(isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def array_equal(a1, a2, equal_nan=False):
    """True if the arrays have the same shape and elements (NaN equal to NaN with equal_nan=True), as
    numpy.array_equal; arrays of different shapes are simply not equal.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.array_equal(np.array([1, 2]), np.array([1.0, 2.0])), fnp.array_equal(np.ones(2), np.ones(3))
    (Array(True, dtype=bool), np.False_)
    """
    a1, a2 = _asarray_traced(a1), _asarray_traced(a2)
    if shape_of(a1) != shape_of(a2):
        return np.False_
    same = a1 == a2
    if equal_nan and _is_inexact(a1) and _is_inexact(a2):
        same = logical_or(same, logical_and(isnan(a1), isnan(a2)))
    return all(same)


def array_equiv(a1, a2):
    """True if the arrays broadcast together and are equal elementwise, as numpy.array_equiv.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.array_equiv(np.array([1, 2]), np.array([[1, 2], [1, 2]])), fnp.array_equiv(np.ones(2), np.ones(3))
    (Array(True, dtype=bool), np.False_)
    """
    a1, a2 = _asarray_traced(a1), _asarray_traced(a2)
    try:
        np.broadcast_shapes(shape_of(a1), shape_of(a2))
    except ValueError:
        return np.False_
    return all(a1 == a2)
