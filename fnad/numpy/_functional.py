"""fnad.numpy's function-mapping helpers: vectorize, apply_along_axis and apply_over_axes. As in JAX they
run the user's function once, batched with vmap (not once per element), so it must be written with
fnad.numpy functions; they work under jit and grad like any composition."""

from __future__ import annotations

import re

import numpy as np

from ..api_util import flatten_fun
from ..core import get_aval
from ..transforms.batching import vmap_flat
from ..tree_util import tree_flatten, tree_unflatten
from ._core import asarray_traced as _asarray_traced
from ._core import normalize_axis as _normalize_axis
from ._core import shape_of as _shape
from ._shapes import broadcast_to, expand_dims, moveaxis, transpose


def _map_leading_axis(fun, args, mapped):
    """fun(*args) mapped over axis 0 of the arguments flagged in `mapped` (the others passed whole)."""
    size = next(_shape(a)[0] for a, m in zip(args, mapped) if m)
    flat_fun, store = flatten_fun(fun, tree_flatten(tuple(args))[1])
    outs = vmap_flat(flat_fun, list(args), [0 if m else None for m in mapped], size, lambda: [0] * store.val.num_leaves)
    return tree_unflatten(store.val, outs)


def apply_along_axis(func1d, axis, arr, *args, **kwargs):
    """func1d(v, *args, **kwargs) applied to each 1-d slice v of `arr` along `axis` (vectorised with vmap);
    the result's axes replace `axis`, as numpy.apply_along_axis.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.apply_along_axis(lambda v: v[0] + v[-1], 1, np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    Array([ 4., 10.], dtype=float64)
    """
    arr = _asarray_traced(arr)
    nd = get_aval(arr).ndim
    axis = _normalize_axis(axis, nd)
    fun = lambda v: _asarray_traced(func1d(v, *args, **kwargs))
    x = moveaxis(arr, axis, -1)
    for _ in range(nd - 1):
        fun = (lambda f: lambda v: _map_leading_axis(f, [v], [True]))(fun)
    out = fun(x)
    extra = get_aval(out).ndim - (nd - 1)  # the axes func1d returned, now last
    batch = list(range(nd - 1))
    return transpose(out, batch[:axis] + list(range(nd - 1, nd - 1 + extra)) + batch[axis:])


def apply_over_axes(func, a, axes):
    """func(a, axis) applied for each axis in turn, keeping the number of axes (a reduced axis is put back
    with length 1), as numpy.apply_over_axes.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.apply_over_axes(fnp.sum, np.arange(6.0).reshape(2, 3), [0, 1])
    Array([[15.]], dtype=float64)
    """
    a = _asarray_traced(a)
    for axis in [axes] if np.ndim(axes) == 0 else axes:
        axis = _normalize_axis(axis, get_aval(a).ndim)
        res = _asarray_traced(func(a, axis))
        if get_aval(res).ndim == get_aval(a).ndim - 1:
            res = expand_dims(res, axis)
        elif get_aval(res).ndim != get_aval(a).ndim:
            raise ValueError("apply_over_axes: function is not returning an array of the correct shape")
        a = res
    return a


_DIMENSION = r"\w+"
_CORE = rf"\((?:{_DIMENSION}(?:,{_DIMENSION})*)?\)"
_ARGUMENTS = rf"{_CORE}(?:,{_CORE})*"
_SIGNATURE = rf"^{_ARGUMENTS}->{_ARGUMENTS}$"


def _parse_signature(signature):
    """'(m,n),(n)->(m)' -> ([('m', 'n'), ('n',)], [('m',)])."""
    signature = signature.replace(" ", "")
    if not re.match(_SIGNATURE, signature):
        raise ValueError(f"vectorize: not a valid gufunc signature: {signature!r}")
    ins, outs = signature.split("->")
    parse = lambda part: [tuple(re.findall(_DIMENSION, arg)) for arg in re.findall(_CORE, part)]
    return parse(ins), parse(outs)


class vectorize:
    """A function that maps `pyfunc` over the elements (or, with a gufunc `signature` such as
    '(n),(n)->()', the core sub-arrays) of its broadcast arguments, with vmap, as jax.numpy.vectorize;
    arguments named in `excluded` (positions or keywords) are passed through whole.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.vectorize(lambda x, y: fnp.where(x > y, x - y, 0.0))(np.array([1.0, 5.0]), 2.0)
    Array([0., 3.], dtype=float64)
    >>> fnp.vectorize(fnp.dot, signature='(n),(n)->()')(np.ones((3, 2)), np.array([1.0, 2.0]))
    Array([3., 3., 3.], dtype=float64)
    """

    def __init__(self, pyfunc, *, excluded=frozenset(), signature=None):
        self.pyfunc, self.excluded, self.signature = pyfunc, frozenset(excluded), signature
        self.__doc__ = getattr(pyfunc, "__doc__", None) or vectorize.__doc__
        self.__name__ = getattr(pyfunc, "__name__", "vectorized")

    def __call__(self, *args, **kwargs):
        kept = {k: v for k, v in kwargs.items() if k in self.excluded}
        kwargs = {k: v for k, v in kwargs.items() if k not in self.excluded}
        positions = [i for i in range(len(args)) if i not in self.excluded]
        names = list(kwargs)
        values = [_asarray_traced(args[i]) for i in positions] + [_asarray_traced(kwargs[k]) for k in names]

        def call(*vals):
            full = list(args)
            for i, v in zip(positions, vals):
                full[i] = v
            return self.pyfunc(*full, **kept, **dict(zip(names, vals[len(positions) :])))

        if self.signature is None:
            cores = [()] * len(values)
        else:
            cores, _ = _parse_signature(self.signature)
            if len(cores) != len(values):
                raise TypeError(f"vectorize: signature {self.signature!r} has {len(cores)} inputs, got {len(values)}")
        loops = []
        for v, core in zip(values, cores):
            nd = get_aval(v).ndim
            if nd < len(core):
                raise ValueError(f"vectorize: an argument of shape {_shape(v)} has fewer axes than its core {core}")
            loops.append(_shape(v)[: nd - len(core)])
        loop = np.broadcast_shapes(*loops) if loops else ()
        values = [broadcast_to(v, loop + _shape(v)[len(s) :]) for v, s in zip(values, loops)]
        fun = call
        for _ in loop:
            fun = (lambda f: lambda *vs: _map_leading_axis(f, list(vs), [True] * len(vs)))(fun)
        return fun(*values)
