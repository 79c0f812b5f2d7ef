"""fnad.numpy's array creation: array/asarray/astype/copy, zeros/ones/full(_like), arange, linspace, logspace,
geomspace, eye, fromfunction."""

from __future__ import annotations

import builtins

import numpy as np

from .. import core
from ..array import as_array
from ..core import Tracer, get_aval
from ..primitives import elementwise as ew
from ..primitives import shape as sh
from ._core import asarray_traced as _asarray_traced
from ._core import convert as _convert
from ._core import numpy_when_eager
from ._core import result_type as _result_type
from ._elementwise import abs, floor, log10, power, sign
from ._joining import concatenate
from ._shapes import expand_dims, moveaxis, reshape


def _in_transform(x):
    """Inside a transform, a created array is a value of the innermost one (so `.at[...]` and the
    other traced-array methods work on it, as on JAX arrays); otherwise the NumPy array itself."""
    trace = core.innermost_trace()
    return trace.pure(x) if trace is not None else x


@numpy_when_eager(
    # copy=False is JAX's "copy only if needed" (NumPy 2's copy=None; its copy=False refuses to copy)
    lambda object, dtype=None, copy=True, ndmin=0: _in_transform(
        np.array(object, dtype=dtype, copy=copy or None, ndmin=ndmin)
    )
)
def array(object, dtype=None, copy=True, ndmin=0):
    """An array from `object` (nested lists may hold traced values, which are stacked); NumPy's own array
    otherwise. `copy=False` copies only where needed, as in JAX.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.array([1, 2], dtype=np.float32)
    Array([1., 2.], dtype=float32)
    >>> fnad.grad(lambda x: fnp.sum(fnp.array([x, 2 * x]) ** 2))(1.0)
    Array(10., dtype=float64)
    """
    out = _asarray_traced(object)
    if dtype is not None:
        out = _convert(out, np.dtype(dtype))
    while get_aval(out).ndim < ndmin:
        out = sh.expand_dims(out, (0,))
    return out


@numpy_when_eager(lambda a, dtype=None: _in_transform(np.asarray(a, dtype=dtype)))
def asarray(a, dtype=None):
    """`a` as an array without copying when it already is one; lists of traced values are stacked.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.asarray([[1.0, 2.0]]).shape
    (1, 2)
    >>> fnad.vmap(lambda x: fnp.asarray([x, -x]))(np.array([1.0, 2.0]))
    Array([[ 1., -1.],
           [ 2., -2.]], dtype=float64)
    """
    return array(a, dtype=dtype)


def _shape_tuple(shape):
    """`shape` as a tuple of ints; a traced size gets an error saying shapes must be static."""
    dims = (shape,) if isinstance(shape, (int, np.integer, Tracer)) else tuple(shape)
    for d in dims:
        if isinstance(d, Tracer) and d.concrete_value() is None:
            raise core.ConcretizationError(
                f"array shapes must be static, but a size is the traced value {d.aval.str_short()}: under "
                "jit, pass it as a static argument (jit(f, static_argnums=...) or static_argnames=...), or "
                "build the array at a fixed maximal size and mask it"
            )
    return tuple(int(d) for d in dims)


def _fill_dtype(fill_value, dtype):
    """The dtype of full(shape, fill_value, dtype) for a concrete fill value: NumPy's for the value,
    float64 for Python floats."""
    dtype = np.result_type(fill_value) if dtype is None and not isinstance(fill_value, float) else dtype
    return np.dtype(np.float64 if dtype is None else dtype)


@numpy_when_eager(
    lambda shape, fill_value, dtype: _in_transform(
        np.full(_shape_tuple(shape), fill_value, _fill_dtype(fill_value, dtype))
    )
)
def _full(shape, fill_value, dtype):
    shape = _shape_tuple(shape)
    if isinstance(fill_value, Tracer):
        dtype = get_aval(fill_value).dtype if dtype is None else np.dtype(dtype)
        return sh.broadcast_in_dim(_convert(fill_value, dtype), shape, ())
    return sh.full(shape, fill_value, _fill_dtype(fill_value, dtype))


def zeros(shape, dtype=None):
    """An array of zeros (float64 by default).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.zeros((2, 3)).shape
    (2, 3)
    >>> fnp.zeros(2, dtype=np.int32)
    Array([0, 0], dtype=int32)
    """
    return _full(shape, 0, dtype or np.float64)


def ones(shape, dtype=None):
    """An array of ones (float64 by default).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.ones(3)
    Array([1., 1., 1.], dtype=float64)
    """
    return _full(shape, 1, dtype or np.float64)


def full(shape, fill_value, dtype=None):
    """An array of `shape` filled with `fill_value` (which may be traced); the dtype is the value's unless
    given.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.full((2, 2), 7)
    Array([[7, 7],
           [7, 7]], dtype=int64)
    >>> fnad.grad(lambda x: fnp.sum(fnp.full(3, x)))(1.0)
    Array(3., dtype=float64)
    """
    return _full(shape, fill_value, dtype)


def empty(shape, dtype=None):
    """Like zeros (fnad arrays are never uninitialised).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.empty(2)
    Array([0., 0.], dtype=float64)
    """
    return zeros(shape, dtype)


def _like(a, dtype, shape):
    aval = get_aval(_asarray_traced(a) if isinstance(a, (list, tuple)) else a)
    return (aval.shape if shape is None else shape), (aval.dtype if dtype is None else dtype)


def zeros_like(a, dtype=None, shape=None):
    """Zeros with the shape and dtype of `a` (also `empty_like`); `dtype`/`shape` override them.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.zeros_like(np.array([1, 2]))
    Array([0, 0], dtype=int64)
    >>> fnp.zeros_like(np.array([1, 2]), dtype=np.float64, shape=(1, 2))
    Array([[0., 0.]], dtype=float64)
    """
    return _full(*_like(a, dtype, shape)[:1], 0, _like(a, dtype, shape)[1])


def ones_like(a, dtype=None, shape=None):
    """Ones with the shape and dtype of `a`.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.ones_like(np.array([[1.0, 2.0]]))
    Array([[1., 1.]], dtype=float64)
    """
    return _full(*_like(a, dtype, shape)[:1], 1, _like(a, dtype, shape)[1])


def full_like(a, fill_value, dtype=None, shape=None):
    """`fill_value` with the shape and dtype of `a`.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.full_like(np.array([1.0, 2.0]), 0.5)
    Array([0.5, 0.5], dtype=float64)
    """
    s, d = _like(a, dtype, shape)
    return _full(s, fill_value, d)


empty_like = zeros_like


@numpy_when_eager(
    lambda start, stop=None, step=None, dtype=None: _in_transform(np.arange(start, stop, step, dtype=dtype))
)
def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in [start, stop) as numpy.arange. start/stop/step must be concrete (its shape
    depends on them): under jit pass them as static arguments.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.arange(4)
    Array([0, 1, 2, 3], dtype=int64)
    >>> fnp.arange(0.0, 1.0, 0.25)
    Array([0.  , 0.25, 0.5 , 0.75], dtype=float64)
    """
    for v in (start, stop, step):
        if isinstance(v, Tracer):
            raise TypeError(
                "arange needs concrete (static) start/stop/step: its output shape depends on "
                "them. Under jit, mark them static with static_argnums."
            )
    ref = np.arange(start, stop, step, dtype=dtype)  # computes length and dtype exactly as NumPy
    if ref.size == 0:
        return ref
    first = ref[0]
    st = (ref[1] - ref[0]) if ref.size > 1 else 1
    return ew.add(ew.mul(sh.iota(ref.dtype, ref.size), np.array(st, ref.dtype)), np.array(first, ref.dtype))


@numpy_when_eager(
    lambda start, stop, num=50, endpoint=True, dtype=None, axis=0: _in_transform(
        np.linspace(start, stop, num, endpoint=endpoint, dtype=dtype, axis=axis)
    )
)
def linspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """`num` evenly spaced values from start to stop (inclusive unless endpoint=False); start and stop may be
    traced.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.linspace(0.0, 1.0, 5)
    Array([0.  , 0.25, 0.5 , 0.75, 1.  ], dtype=float64)
    >>> fnad.jacfwd(lambda s: fnp.linspace(0.0, s, 3))(2.0)
    Array([0. , 0.5, 1. ], dtype=float64)
    """
    # As NumPy: computed in the inexact dtype of start and stop, then floored for an integer `dtype`
    # and converted to it.
    dt = _result_type(start, stop, 1.0)[0]
    div = (num - 1) if endpoint else num
    t = sh.iota(dt, num)
    start, stop = asarray(start, dt), asarray(stop, dt)
    step = (stop - start) / builtins.max(div, 1)
    out = expand_dims(start, -1) + expand_dims(step, -1) * t if get_aval(start).ndim else start + step * t
    if endpoint and num > 1:
        out = concatenate([out[..., :-1], expand_dims(stop, -1) if get_aval(stop).ndim else reshape(stop, (1,))], -1)
    if dtype is not None and np.dtype(dtype) != dt:
        out = _convert(floor(out) if np.dtype(dtype).kind in "iu" else out, np.dtype(dtype))
    return moveaxis(out, -1, axis) if get_aval(out).ndim > 1 else out


@numpy_when_eager(lambda N, M=None, k=0, dtype=None: _in_transform(np.eye(N, M, k, dtype=dtype or np.float64)))
def eye(N, M=None, k=0, dtype=None):
    """The N x M matrix with ones on diagonal k (float64 by default).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.eye(2, 3, k=1)
    Array([[0., 1., 0.],
           [0., 0., 1.]], dtype=float64)
    """
    M = N if M is None else M
    dt = np.dtype(dtype or np.float64)
    i = sh.iota(np.int64, (N, M), 0)
    j = sh.iota(np.int64, (N, M), 1)
    return _convert(ew.eq(ew.add(i, np.array(k, np.int64)), j), dt)


def identity(n, dtype=None):
    """The n x n identity matrix.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.identity(2, dtype=np.int64)
    Array([[1, 0],
           [0, 1]], dtype=int64)
    """
    return eye(n, dtype=dtype)


def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    """base ** linspace(start, stop, num): `num` values evenly spaced on a log scale.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.logspace(0.0, 3.0, 4)
    Array([   1.,   10.,  100., 1000.], dtype=float64)
    """
    exponents = linspace(start, stop, num, endpoint=endpoint, axis=axis)
    out = power(base, exponents) if np.ndim(base) == 0 else power(expand_dims(asarray(base), axis), exponents)
    return out if dtype is None else _convert(out, np.dtype(dtype))


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """`num` values from start to stop (both nonzero, of one sign) in a geometric progression; the ends are
    exact.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.geomspace(1.0, 1000.0, 4)
    Array([   1.,   10.,  100., 1000.], dtype=float64)
    """
    start, stop = asarray(start), asarray(stop)
    dt = _result_type(start, stop, 1.0)[0]
    start, stop = _convert(start, dt), _convert(stop, dt)
    out = sign(start) * logspace(log10(abs(start)), log10(abs(stop)), num, endpoint=endpoint, axis=0)
    if num > 0:  # exact end points, as NumPy
        first = reshape(start, (1,) + get_aval(start).shape)
        middle = out[1:-1] if endpoint and num > 1 else out[1:]
        last = [reshape(stop, (1,) + get_aval(stop).shape)] if endpoint and num > 1 else []
        out = concatenate([first, middle] + last, 0)
    out = moveaxis(out, 0, axis) if get_aval(out).ndim > 1 else out
    return out if dtype is None else _convert(out, np.dtype(dtype))


def fromfunction(function, shape, *, dtype=float, **kwargs):
    """function(*indices) evaluated over the index grid of `shape` (each index array of `dtype`), as
    numpy.fromfunction.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.fromfunction(lambda i, j: i + 10 * j, (2, 3), dtype=np.int64)
    Array([[ 0, 10, 20],
           [ 1, 11, 21]], dtype=int64)
    """
    shape = _shape_tuple(shape)
    return function(*(sh.iota(np.dtype(dtype), shape, k) for k in range(len(shape))), **kwargs)


def copy(a, order=None):
    """A copy of `a` (NumPy's copy eagerly; traced values are immutable, so the value itself).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> x = np.array([1, 2]); y = fnp.copy(x); x[0] = 5; y
    Array([1, 2], dtype=int64)
    """
    return as_array(np.array(a, copy=True)) if not isinstance(a, Tracer) else a


def astype(x, dtype, /, *, copy=False, device=None):
    """x converted to `dtype` (the Array API astype).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.astype(np.array([1.7, -1.2]), np.int32)
    Array([ 1, -1], dtype=int32)
    """
    return asarray(x, dtype=dtype)
