"""Cumulative (prefix) primitives along one axis: cumsum, cumprod, cummax, cummin, each optionally
reversed (suffix scans); `exclusive=True` (cumsum, cumprod) shifts in the identity instead."""

from __future__ import annotations

import numpy as np

from ..core import Primitive, componentwise_parts, get_aval
from ..transforms.jvp import defjvp, deflinear
from .elementwise import add, eq, ge_p, le_p, mul, mul_parts, scalar_like, select, zeros_like
from .indexing import pad, slice_in_dim, take_along_axis
from .shape import full, iota


def _cum_eval(name, kinds):
    def abstract_eval(a, axis, reverse):
        if not 0 <= axis < a.ndim:
            raise ValueError(f"{name}: axis {axis} is out of range for operand shape {a.shape}")
        if not any(np.issubdtype(a.dtype, k) for k in kinds):
            raise TypeError(f"{name} does not accept dtype {a.dtype.name}")
        return a

    return abstract_eval


def _cum_impl(ufunc):
    def impl(x, axis, reverse):
        x = np.asarray(x)
        if reverse:
            return np.flip(ufunc.accumulate(np.flip(x, axis), axis=axis, dtype=x.dtype), axis)
        return ufunc.accumulate(x, axis=axis, dtype=x.dtype)

    return impl


def _make(name, ufunc, kinds=(np.number,)):
    p = Primitive(name)
    p.impl = _cum_impl(ufunc)
    p.abstract_eval = _cum_eval(name, kinds)
    p.batch = lambda vals, dims, axis, reverse: (
        p.bind(vals[0], axis=axis + (axis >= dims[0]), reverse=reverse),
        dims[0],
    )
    return p


cumsum_p = _make("cumsum", np.add)
cumprod_p = _make("cumprod", np.multiply)
cummax_p = _make("cummax", np.maximum, (np.number, np.bool_))
cummin_p = _make("cummin", np.minimum, (np.number, np.bool_))

deflinear(cumsum_p, lambda ct, x, axis, reverse: [cumsum(ct, axis, not reverse)])


def _shifted(v, axis, offset, fill, reverse):
    """v moved `offset` places along the scan direction, `fill` shifted in."""
    config = [(0, 0, 0)] * get_aval(v).ndim
    config[axis] = (-offset, offset, 0) if reverse else (offset, -offset, 0)
    return pad(v, scalar_like(v, fill), config)


def _cumprod_jvp(g, ans, x, axis, reverse):
    # A Hillis-Steele scan of (product, tangent) pairs, (p1, t1) then (p2, t2) -> (p1 p2, t1 p2 + p1 t2):
    # log2(n) rounds of products, exact at zeros (no division by x).
    n = get_aval(x).shape[axis]
    p, t, offset = x, g, 1
    while offset < n:
        p_before = _shifted(p, axis, offset, 1, reverse)
        t = add(mul(t, p_before), mul(p, _shifted(t, axis, offset, 0, reverse)))
        p = mul(p, p_before)
        offset *= 2
    return t


def _cum_extremum_jvp(g, ans, x, axis, reverse):
    # The tangent of the element the running extremum came from: the nearest earlier (later, when
    # reversed) position where x equals its own running extremum.
    shape = get_aval(x).shape
    position = iota(np.int64, shape, axis)
    hit = eq(x, ans)
    if reverse:
        source = cummin(select(hit, position, full(shape, shape[axis] - 1, np.int64)), axis, reverse=True)
    else:
        source = cummax(select(hit, position, zeros_like(position)), axis)
    return take_along_axis(g, source, axis)


defjvp(cumprod_p, _cumprod_jvp)
defjvp(cummax_p, _cum_extremum_jvp)
defjvp(cummin_p, _cum_extremum_jvp)


def _scan(prim, x, axis, reverse, exclusive=False, identity=None):
    axis = int(axis) % get_aval(x).ndim if get_aval(x).ndim else int(axis)
    if not exclusive:
        return prim.bind(x, axis=axis, reverse=bool(reverse))
    n = get_aval(x).shape[axis]
    if n == 0:
        return x
    inner = slice_in_dim(x, 1, n, axis=axis) if reverse else slice_in_dim(x, 0, n - 1, axis=axis)
    config = [(0, 0, 0)] * get_aval(x).ndim
    config[axis] = (0, 1, 0) if reverse else (1, 0, 0)
    return pad(prim.bind(inner, axis=axis, reverse=bool(reverse)), scalar_like(x, identity), config)


def cumsum(x, axis=0, reverse=False, exclusive=False):
    """The cumulative sum along `axis` (from the end with reverse=True; exclusive=True starts from 0).

    >>> import numpy as np, fnad; from fnad import lax
    >>> lax.cumsum(np.array([1.0, 2.0, 3.0]))
    Array([1., 3., 6.], dtype=float64)
    >>> lax.cumsum(np.array([1.0, 2.0, 3.0]), reverse=True)
    Array([6., 5., 3.], dtype=float64)
    """
    return _scan(cumsum_p, x, axis, reverse, exclusive, 0)


def cumprod(x, axis=0, reverse=False, exclusive=False):
    return _scan(cumprod_p, x, axis, reverse, exclusive, 1)


def cummax(x, axis=0, reverse=False):
    return _scan(cummax_p, x, axis, reverse)


def cummin(x, axis=0, reverse=False):
    return _scan(cummin_p, x, axis, reverse)


cumsum_p.complex_parts = componentwise_parts(cumsum_p)  # sums the parts alike (fnad.passes.lower_complex)


def _cumprod_parts(x, axis, reverse):
    """A complex cumulative product in log2 n steps (Hillis and Steele's scan; fnad.passes.lower_complex):
    each step multiplies by the running products `k` places back, 1 + 0j shifted in."""
    n, k = get_aval(x[0]).shape[axis], 1
    while k < n:
        x = mul_parts(x, (_shifted(x[0], axis, k, 1, reverse), _shifted(x[1], axis, k, 0, reverse)))
        k *= 2
    return x


cumprod_p.complex_parts = _cumprod_parts


def _cum_extremum_parts(wins, fill):
    """cummax/cummin of complex values in NumPy's (lexicographic) order, in log2 n steps as
    `_cumprod_parts`: `wins(x, y)` says where x is kept over y (fnad.passes.lower_complex)."""

    def rule(x, axis, reverse):
        n, k = get_aval(x[0]).shape[axis], 1
        while k < n:
            y = tuple(_shifted(p, axis, k, fill, reverse) for p in x)
            keep = wins(x, y)
            x = (select(keep, x[0], y[0]), select(keep, x[1], y[1]))
            k *= 2
        return x

    return rule


cummax_p.complex_parts = _cum_extremum_parts(ge_p.complex_parts, -np.inf)
cummin_p.complex_parts = _cum_extremum_parts(le_p.complex_parts, np.inf)
