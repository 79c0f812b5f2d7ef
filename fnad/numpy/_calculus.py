"""fnad.numpy's calculus on sampled data: interp (piecewise-linear interpolation), gradient (central
differences), trapezoid (integration), ediff1d and unwrap. Composed from gather, slicing and arithmetic,
so they differentiate (with respect to values and sample points), batch and compile."""

from __future__ import annotations

import numpy as np

from ..core import get_aval
from ..primitives import indexing as ix
from ._core import asarray_traced as _asarray_traced
from ._core import convert as _convert
from ._core import inexact as _inexact
from ._core import normalize_axes as _normalize_axes
from ._core import normalize_axis as _normalize_axis
from ._core import promoted_inexact as _promoted_inexact
from ._core import shape_of as _shape
from ._elementwise import abs, clip, greater, less, logical_and, mod, where
from ._indexing import take
from ._joining import concatenate
from ._reductions import sum
from ._shapes import ravel, reshape
from ._sorting import argsort, cumsum, diff, searchsorted


def interp(x, xp, fp, left=None, right=None, period=None):
    """The piecewise-linear interpolant through the points (xp, fp) (xp increasing) evaluated at x, as
    jax.numpy.interp: fp[0] left of xp[0] and fp[-1] right of xp[-1] unless `left`/`right` say otherwise
    ('extrapolate' continues the end segments), or periodic with `period`. Differentiable in x, xp and fp
    (at a knot, the derivative in x is the slope on the right, as in JAX).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.interp(np.array([0.0, 1.5, 2.5, 5.0]), np.array([1.0, 2.0, 3.0]), np.array([10.0, 20.0, 0.0]))
    Array([10., 15., 10.,  0.], dtype=float64)
    >>> fnad.grad(fnp.interp)(1.5, np.array([1.0, 2.0, 3.0]), np.array([10.0, 20.0, 0.0]))
    Array(10., dtype=float64)
    """
    x, xp, fp = _promoted_inexact(x, xp, fp)
    if get_aval(xp).ndim != 1 or get_aval(fp).ndim != 1 or _shape(xp) != _shape(fp) or _shape(xp)[0] == 0:
        raise ValueError(
            f"interp: xp and fp must be 1-d non-empty sequences of the same length, got shapes {_shape(xp)} and "
            f"{_shape(fp)}"
        )
    if period is not None:
        if left is not None or right is not None:
            raise ValueError("interp: left and right are not allowed with period")
        period = abs(period)
        x, xp = mod(x, period), mod(xp, period)
        order = argsort(xp)
        xp, fp = take(xp, order), take(fp, order)
        xp = concatenate([xp[-1:] - period, xp, xp[:1] + period])
        fp = concatenate([fp[-1:], fp, fp[:1]])
    n = _shape(xp)[0]
    if n == 1:
        i = np.zeros((), np.int64)
        out = fp[0] + 0 * x
    else:
        i = clip(searchsorted(xp, x, side="right"), 1, n - 1)
        x0, x1, f0, f1 = take(xp, i - 1), take(xp, i), take(fp, i - 1), take(fp, i)
        dx = x1 - x0
        flat = abs(dx) <= np.finfo(get_aval(xp).dtype).tiny  # repeated points: no division by zero (or NaN gradients)
        out = where(flat, f0, f0 + ((x - x0) / where(flat, 1, dx)) * (f1 - f0))
    if period is None:
        if not (isinstance(left, str) and left == "extrapolate"):
            out = where(less(x, xp[0]), fp[0] if left is None else left, out)
        if not (isinstance(right, str) and right == "extrapolate"):
            out = where(greater(x, xp[-1]), fp[-1] if right is None else right, out)
    return out


def gradient(f, *varargs, axis=None, edge_order=None):
    """The gradient of the sampled function f along each axis (or `axis`): second-order central differences
    inside and one-sided differences at the edges, as numpy.gradient with edge_order=1. The spacing per
    axis is 1, a scalar, or the sample coordinates (a 1-d array). A list for several axes.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.gradient(np.array([1.0, 2.0, 4.0, 7.0]))
    Array([1. , 1.5, 2.5, 3. ], dtype=float64)
    >>> fnp.gradient(np.array([1.0, 2.0, 4.0]), np.array([0.0, 1.0, 3.0]))
    Array([1., 1., 1.], dtype=float64)
    """
    if edge_order not in (None, 1):
        raise NotImplementedError("gradient: only edge_order=1 is supported (as in JAX)")
    f = _inexact(f)
    nd = get_aval(f).ndim
    axes = _normalize_axes(axis, nd)
    if len(varargs) == 0:
        spacings = [1.0] * len(axes)
    elif len(varargs) == 1 and np.ndim(varargs[0]) == 0:
        spacings = list(varargs) * len(axes)
    elif len(varargs) == len(axes):
        spacings = list(varargs)
    else:
        raise TypeError(f"gradient: {len(varargs)} spacings given for {len(axes)} axes")
    out = [_gradient_along(f, h, ax) for h, ax in zip(spacings, axes)]
    return out[0] if len(out) == 1 else out


def _gradient_along(f, h, axis):
    n = _shape(f)[axis]
    if n < 2:
        raise ValueError(f"gradient: axis {axis} has {n} sample(s); at least 2 are needed")

    def part(lo, hi):
        return ix.slice_in_dim(f, lo, hi, axis=axis)

    def along(v):  # a 1-d array laid along `axis`
        return reshape(v, tuple(-1 if d == axis else 1 for d in range(get_aval(f).ndim)))

    if np.ndim(h) == 0:
        inner = (part(2, n) - part(0, n - 2)) / (2 * h) if n > 2 else None
        first = (part(1, 2) - part(0, 1)) / h
        last = (part(n - 1, n) - part(n - 2, n - 1)) / h
    else:
        x = _inexact(h)
        if _shape(x) != (n,):
            raise ValueError(f"gradient: coordinates of shape {_shape(x)} must match axis {axis} (length {n})")
        dx = diff(x)
        if n > 2:
            dx1, dx2 = along(dx[:-1]), along(dx[1:])
            a = -dx2 / (dx1 * (dx1 + dx2))
            b = (dx2 - dx1) / (dx1 * dx2)
            c = dx1 / (dx2 * (dx1 + dx2))
            inner = a * part(0, n - 2) + b * part(1, n - 1) + c * part(2, n)
        else:
            inner = None
        first = (part(1, 2) - part(0, 1)) / along(dx[:1])
        last = (part(n - 1, n) - part(n - 2, n - 1)) / along(dx[-1:])
    return concatenate([first] + ([inner] if inner is not None else []) + [last], axis)


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """The integral of the samples y along `axis` by the trapezoidal rule, with sample points x (or constant
    spacing dx), as numpy.trapezoid.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.trapezoid(np.array([1.0, 2.0, 3.0]), dx=0.5)
    Array(2., dtype=float64)
    >>> fnp.trapezoid(np.array([1.0, 2.0, 3.0]), x=np.array([0.0, 1.0, 3.0]))
    Array(6.5, dtype=float64)
    """
    y = _inexact(y)
    axis = _normalize_axis(axis, get_aval(y).ndim)
    n = _shape(y)[axis]
    if x is None:
        d = dx
    else:
        x = _asarray_traced(x)
        d = diff(x, axis=-1 if get_aval(x).ndim == 1 else axis)
        if get_aval(x).ndim == 1:
            d = reshape(d, tuple(-1 if k == axis else 1 for k in range(get_aval(y).ndim)))
    pairs = ix.slice_in_dim(y, 1, n, axis=axis) + ix.slice_in_dim(y, 0, max(n - 1, 0), axis=axis)
    return sum(d * pairs / 2.0, axis=axis)


def ediff1d(ary, to_end=None, to_begin=None):
    """The differences of the flattened array, with `to_begin` and `to_end` (flattened) around them.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.ediff1d(np.array([1, 2, 4, 7]), to_begin=-99, to_end=np.array([88, 99]))
    Array([-99,   1,   2,   3,  88,  99], dtype=int64)
    """
    d = diff(ravel(_asarray_traced(ary)))
    dt = get_aval(d).dtype
    parts = [ravel(_convert(_asarray_traced(v), dt)) for v in (to_begin,) if v is not None]
    parts += [d] + [ravel(_convert(_asarray_traced(v), dt)) for v in (to_end,) if v is not None]
    return concatenate(parts) if len(parts) > 1 else d


def unwrap(p, discont=None, axis=-1, period=2 * np.pi):
    """The phases p with jumps larger than `discont` (period / 2 by default) along `axis` replaced by their
    complement modulo `period`, as numpy.unwrap.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.unwrap(np.array([0.0, 3.0, 6.5, 0.5])).round(4)
    Array([0.    , 3.    , 0.2168, 0.5   ], dtype=float64)
    """
    p = _inexact(p)
    axis = _normalize_axis(axis, get_aval(p).ndim)
    n = _shape(p)[axis]
    if n < 2:
        return p
    dd = diff(p, axis=axis)
    discont = period / 2 if discont is None else discont
    high = period / 2
    ddmod = mod(dd + high, period) - high
    ddmod = where(logical_and(ddmod == -high, greater(dd, 0)), high, ddmod)  # a jump of exactly -high stays +high
    correction = where(less(abs(dd), discont), 0, ddmod - dd)
    rest = ix.slice_in_dim(p, 1, n, axis=axis) + cumsum(correction, axis=axis)
    return concatenate([ix.slice_in_dim(p, 0, 1, axis=axis), rest], axis)
