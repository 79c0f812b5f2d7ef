"""Reductions over a set of axes: sum, max, min, prod, and/or, argmax/argmin."""

from __future__ import annotations

import numpy as np

from ..core import Primitive, ShapedArray, componentwise_parts, get_aval
from ..transforms.jvp import defjvp, deflinear
from .elementwise import bitwise_and, convert_element_type, div, eq, mul, mul_parts, select
from .shape import broadcast_in_dim, full, reshape, transpose


def _check_axes(name, a, axes):
    if any(not 0 <= ax < a.ndim for ax in axes) or len(set(axes)) != len(axes):
        raise ValueError(f"{name}: invalid axes {axes} for operand shape {a.shape}")


def _reduce_eval(name, kinds=None):
    def abstract_eval(a, axes):
        _check_axes(name, a, axes)
        if kinds is not None and not any(np.issubdtype(a.dtype, k) for k in kinds):
            raise TypeError(f"{name} does not accept dtype {a.dtype.name}")
        return ShapedArray(tuple(s for i, s in enumerate(a.shape) if i not in axes), a.dtype, a.weak_type)

    return abstract_eval


def _reduce_batch(prim):
    def rule(vals, dims, axes):
        (x,), (d,) = vals, dims
        new_axes = tuple(ax + (ax >= d) for ax in axes)
        out_d = d - sum(ax < d for ax in new_axes)
        return prim.bind(x, axes=new_axes), out_d

    return rule


def _make(name, impl, kinds=None):
    p = Primitive(name)
    p.impl = impl
    p.abstract_eval = _reduce_eval(name, kinds)
    p.batch = _reduce_batch(p)
    return p


reduce_sum_p = _make("reduce_sum", lambda x, axes: np.sum(x, axis=axes, dtype=np.asarray(x).dtype))
reduce_max_p = _make("reduce_max", lambda x, axes: np.max(x, axis=axes))
reduce_min_p = _make("reduce_min", lambda x, axes: np.min(x, axis=axes))
reduce_prod_p = _make("reduce_prod", lambda x, axes: np.prod(x, axis=axes, dtype=np.asarray(x).dtype))
reduce_and_p = _make("reduce_and", lambda x, axes: np.all(x, axis=axes), kinds=(np.bool_,))
reduce_or_p = _make("reduce_or", lambda x, axes: np.any(x, axis=axes), kinds=(np.bool_,))


def _kept_dims(x_aval, axes):
    return tuple(i for i in range(x_aval.ndim) if i not in axes)


def _expand_back(v, x_shape, axes):
    return broadcast_in_dim(v, x_shape, _kept_dims(get_aval(v).update(shape=x_shape), axes))


deflinear(reduce_sum_p, lambda ct, x, axes: [_expand_back(ct, x.aval.shape, axes)])


def _extremum_jvp(g, ans, x, axes):
    # The tangent at the location(s) of the extremum; ties share it equally (JAX's convention).
    shape = get_aval(x).shape
    mask = convert_element_type(eq(x, _expand_back(ans, shape, axes)), get_aval(g).dtype)
    return div(reduce_sum(mul(g, mask), axes), reduce_sum(mask, axes))


defjvp(reduce_max_p, _extremum_jvp)
defjvp(reduce_min_p, _extremum_jvp)
defjvp(reduce_and_p)
defjvp(reduce_or_p)


def _prod_jvp(g, ans, x, axes):
    # d prod = sum_i g_i * prod_{j != i} x_j, computed without dividing by x (exact at zeros).
    from .cumulative import cumprod

    shape = get_aval(x).shape
    kept = _kept_dims(get_aval(x), axes)
    perm = kept + tuple(axes)
    n = int(np.prod([shape[a] for a in axes], dtype=np.int64))
    flat = lambda v: reshape(transpose(v, perm), tuple(shape[k] for k in kept) + (n,))
    xf, gf = flat(x), flat(g)
    ax = len(kept)
    left = cumprod(xf, ax, exclusive=True)
    right = cumprod(xf, ax, exclusive=True, reverse=True)
    return reduce_sum(mul(gf, mul(left, right)), (ax,))


defjvp(reduce_prod_p, _prod_jvp)


def _axes(x, axes):
    nd = get_aval(x).ndim
    if axes is None:
        return tuple(range(nd))
    # negative axes count from the end; out-of-range ones are left for the shape rule to report
    return tuple(
        sorted(int(a) + nd if int(a) < 0 else int(a) for a in (axes if isinstance(axes, (tuple, list)) else (axes,)))
    )


def _reducer(prim):
    def reduce(x, axes=None):
        axes = _axes(x, axes)
        return prim.bind(x, axes=axes) if axes else x

    reduce.__name__ = prim.name
    reduce.__doc__ = f"lax-level {prim.name} over `axes` (default: all); no-op for an empty axes tuple."
    return reduce


reduce_sum, reduce_max, reduce_min, reduce_prod, reduce_and, reduce_or = map(
    _reducer, (reduce_sum_p, reduce_max_p, reduce_min_p, reduce_prod_p, reduce_and_p, reduce_or_p)
)
reduce_sum.__doc__ += """

    >>> import numpy as np, fnad; from fnad import lax
    >>> x = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> lax.reduce_sum(x, (0,))
    Array([4., 6.], dtype=float64)
    >>> lax.reduce_max(x, (0, 1))
    Array(4., dtype=float64)
    >>> fnad.grad(lambda x: lax.reduce_sum(x * x, (0, 1)))(x)
    Array([[2., 4.],
           [6., 8.]], dtype=float64)
    """


# ----------------------------------------------------------------------------------------------
# argmax / argmin along one axis (first occurrence; NaN counts as the extremum, as NumPy)


def _arg_eval(name):
    def abstract_eval(a, axis, index_dtype):
        _check_axes(name, a, (axis,))
        if a.shape[axis] == 0:
            raise ValueError(f"{name}: attempt to get {name} of an empty axis (shape {a.shape}, axis {axis})")
        return ShapedArray(tuple(s for i, s in enumerate(a.shape) if i != axis), index_dtype)

    return abstract_eval


def _arg_batch(prim):
    def rule(vals, dims, axis, index_dtype):
        (x,), (d,) = vals, dims
        new_axis = axis + (axis >= d)
        return prim.bind(x, axis=new_axis, index_dtype=index_dtype), d - (new_axis < d)

    return rule


argmax_p = Primitive("argmax")
argmin_p = Primitive("argmin")
for _p, _f in ((argmax_p, np.argmax), (argmin_p, np.argmin)):
    _p.impl = (lambda f: lambda x, axis, index_dtype: f(x, axis=axis).astype(index_dtype))(_f)
    _p.abstract_eval = _arg_eval(_p.name)
    _p.batch = _arg_batch(_p)
    defjvp(_p)


def argmax(x, axis, index_dtype=np.int64):
    """The index (of `index_dtype`) of the first maximum along `axis`; NaN counts as the maximum, as in NumPy.

    >>> import numpy as np, fnad; from fnad import lax
    >>> lax.argmax(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]]), 1)
    Array([1, 0], dtype=int64)
    """
    return argmax_p.bind(x, axis=int(axis), index_dtype=np.dtype(index_dtype))


def argmin(x, axis, index_dtype=np.int64):
    """The index (of `index_dtype`) of the first minimum along `axis`; NaN counts as the minimum, as in NumPy.

    >>> import numpy as np, fnad; from fnad import lax
    >>> lax.argmin(np.array([[1.0, 0.0, 0.0], [2.0, 5.0, 1.0]]), 1)
    Array([1, 2], dtype=int64)
    """
    return argmin_p.bind(x, axis=int(axis), index_dtype=np.dtype(index_dtype))


reduce_sum_p.complex_parts = componentwise_parts(reduce_sum_p)  # sums the parts alike (fnad.passes.lower_complex)


def _prod_parts(x, axes):
    """A complex product over `axes` as a tree of complex products of halves (log2 n elementwise
    steps, fnad.passes.lower_complex): the axes are moved last and flattened into one."""
    from .indexing import concatenate, slice

    shape = get_aval(x[0]).shape
    kept = _kept_dims(get_aval(x[0]), axes)
    n = int(np.prod([shape[a] for a in axes], dtype=np.int64))
    rest = tuple(shape[k] for k in kept)
    parts = [reshape(transpose(p, kept + tuple(axes)), rest + (n,)) for p in x]
    dtype = get_aval(parts[0]).dtype
    if n == 0:
        return full(rest, 1, dtype), full(rest, 0, dtype)
    while n > 1:
        if n % 2:  # one more factor 1 + 0j
            parts = [concatenate([p, full(rest + (1,), v, dtype)], len(rest)) for p, v in zip(parts, (1, 0))]
            n += 1
        half = lambda p, k: slice(p, (0,) * len(rest) + (k * n // 2,), rest + ((k + 1) * n // 2,))
        parts = mul_parts([half(p, 0) for p in parts], [half(p, 1) for p in parts])
        n //= 2
    return tuple(reshape(p, rest) for p in parts)


reduce_prod_p.complex_parts = _prod_parts


def _extremum_parts(prim, compare):
    """reduce_max/min of complex values in NumPy's (lexicographic) order: the extreme real part, then the
    extreme imaginary part among the elements that have it (fnad.passes.lower_complex)."""

    def rule(x, axes):
        re, im = x
        best_re = prim.bind(re, axes=axes)
        ties = eq(re, _expand_back(best_re, get_aval(re).shape, axes))
        worst = np.array(-np.inf if compare == "max" else np.inf, get_aval(im).dtype)
        return best_re, prim.bind(select(ties, im, broadcast_in_dim(worst, get_aval(im).shape, ())), axes=axes)

    return rule


reduce_max_p.complex_parts = _extremum_parts(reduce_max_p, "max")
reduce_min_p.complex_parts = _extremum_parts(reduce_min_p, "min")


def _arg_parts(prim, extremum):
    """argmax/argmin of complex values in NumPy's (lexicographic) order: the first position holding the
    extreme real part and, among those, the extreme imaginary part (fnad.passes.lower_complex)."""

    def rule(x, axis, index_dtype):
        re, im = x
        shape = get_aval(re).shape
        best = _extremum_parts(extremum, "max" if prim is argmax_p else "min")(x, (axis,))
        back = lambda v: _expand_back(v, shape, (axis,))
        hit = convert_element_type(bitwise_and(eq(re, back(best[0])), eq(im, back(best[1]))), np.int8)
        return argmax_p.bind(hit, axis=axis, index_dtype=index_dtype)

    return rule


argmax_p.complex_parts = _arg_parts(argmax_p, reduce_max_p)
argmin_p.complex_parts = _arg_parts(argmin_p, reduce_min_p)
