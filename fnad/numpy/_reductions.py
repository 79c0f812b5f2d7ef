"""fnad.numpy's reductions: sum, prod, max, min, all, any, mean, var, std, argmax, argmin."""

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
from ._core import numpy_when_eager
from ._elementwise import _as_bool, sqrt
from ._shapes import ravel, reshape


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
