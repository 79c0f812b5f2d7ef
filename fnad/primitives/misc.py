"""Primitives with no numeric work: stop_gradient (identity whose derivative is zero)."""

from __future__ import annotations

import numpy as np

from ..ad_util import Zero, tangent_aval
from ..core import Primitive, componentwise_parts, get_aval
from ..tree_util import tree_map

stop_gradient_p = Primitive("stop_gradient")
stop_gradient_p.impl = lambda x: x
stop_gradient_p.abstract_eval = lambda a: a
stop_gradient_p.batch = lambda vals, dims: (stop_gradient_p.bind(vals[0]), dims[0])


def _stop_jvp(primals, tangents):
    x = stop_gradient_p.bind(primals[0])
    return x, Zero(tangent_aval(get_aval(x)))


stop_gradient_p.jvp = _stop_jvp


def stop_gradient(x):
    """Identity on values whose derivative is zero: every transform treats the result as a constant.
    Applies to every floating-point leaf of a pytree (integer leaves are returned unchanged).

    >>> import fnad
    >>> fnad.grad(lambda x: x * fnad.stop_gradient(x))(3.0)   # d/dx (x * c) with c = x = 3
    Array(3., dtype=float64)
    """

    def leaf(v):
        if not np.issubdtype(get_aval(v).dtype, np.inexact):
            return v
        return stop_gradient_p.bind(v)

    return tree_map(leaf, x)


stop_gradient_p.complex_parts = componentwise_parts(stop_gradient_p)
