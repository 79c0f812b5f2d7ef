"""fnad.lax: the primitives' direct (lax-level) API and structured control flow."""
from ..primitives.elementwise import (add, sub, mul, div, rem, pow, max, min, atan2, neg, sign, floor, ceil,
                                      round, abs, exp, exp2, log, log1p, expm1, sqrt, rsqrt, cbrt, sin, cos, tan,
                                      asin, acos, atan, sinh, cosh, tanh, asinh, acosh, atanh, logistic, erf,
                                      erf_inv, integer_pow, eq, ne, lt, le, gt, ge, select, convert_element_type,
                                      is_finite, bitwise_and, bitwise_or, bitwise_xor, bitwise_not, shift_left,
                                      shift_right_logical, shift_right_arithmetic, nextafter, zeros_like)
from ..primitives.shape import broadcast_in_dim, reshape, transpose, iota, full, squeeze, expand_dims
from ..primitives.reductions import (reduce_sum, reduce_max, reduce_min, reduce_prod, reduce_and, reduce_or,
                                     argmax, argmin)
from ..primitives.dot import dot_general
from ..primitives.misc import stop_gradient
from ..primitives.indexing import (slice, slice_in_dim, pad, concatenate, rev, dynamic_slice,
                                   dynamic_update_slice, gather, scatter, scatter_add, scatter_mul, scatter_min,
                                   scatter_max, take_along_axis)
from ..primitives.cumulative import cumsum, cumprod, cummax, cummin
from ..primitives.sorting import sort, argsort
from .control_flow import cond, switch, while_loop, fori_loop, scan, map

broadcasted_iota = iota


def _attach_examples():
    from ._examples import EXAMPLES
    for name, example in EXAMPLES.items():
        fn = globals()[name]
        fn.__doc__ = (fn.__doc__ or "") + "\n\n" + example


_attach_examples()
