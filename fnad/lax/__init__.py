"""fnad.lax: the primitives' direct (lax-level) API and structured control flow."""

import functools as _functools

from ..core import get_aval as _get_aval
from ..primitives.collectives import (
    all_gather,
    all_to_all,
    axis_index,
    pmax,
    pmean,
    pmin,
    ppermute,
    psum,
    psum_scatter,
    pvary,
)
from ..primitives.conv import (
    ConvDimensionNumbers,
    conv,
    conv_dimension_numbers,
    conv_general_dilated,
    conv_transpose,
    conv_with_general_padding,
    padtype_to_pads,
)
from ..primitives.cumulative import cummax, cummin, cumprod, cumsum
from ..primitives.dot import dot_general
from ..primitives.elementwise import (
    abs,
    acos,
    acosh,
    add,
    angle,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    bitwise_and,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
    cbrt,
    ceil,
    complex,
    conj,
    convert_element_type,
    cos,
    cosh,
    div,
    eq,
    erf,
    erf_inv,
    exp,
    exp2,
    expm1,
    floor,
    ge,
    gt,
    imag,
    integer_pow,
    is_finite,
    le,
    log,
    log1p,
    logistic,
    lt,
    max,
    min,
    mul,
    ne,
    neg,
    nextafter,
    population_count,
    pow,
    real,
    rem,
    round,
    rsqrt,
    select,
    shift_left,
    shift_right_arithmetic,
    shift_right_logical,
    sign,
    sin,
    sinh,
    sqrt,
    sub,
    tan,
    tanh,
    zeros_like,
)
from ..primitives.fft import FftType, fft
from ..primitives.indexing import (
    concatenate,
    dynamic_slice,
    dynamic_update_slice,
    gather,
    pad,
    rev,
    scatter,
    scatter_add,
    scatter_max,
    scatter_min,
    scatter_mul,
    slice,
    slice_in_dim,
    take_along_axis,
)
from ..primitives.misc import stop_gradient
from ..primitives.reductions import (
    argmax,
    argmin,
    reduce_and,
    reduce_max,
    reduce_min,
    reduce_or,
    reduce_prod,
    reduce_sum,
)
from ..primitives.shape import broadcast_in_dim, expand_dims, full, iota, reshape, squeeze, transpose
from ..primitives.sorting import argsort, sort
from ..primitives.special import (
    bessel_i0e,
    bessel_i1e,
    betainc,
    digamma,
    erfc,
    igamma,
    igamma_grad_a,
    igammac,
    lgamma,
    polygamma,
    random_gamma_grad,
    zeta,
)
from . import linalg
from .composites import clamp, dot, top_k
from .control_flow import cond, fori_loop, map, scan, switch, while_loop
from .folds import associative_scan, cumlogsumexp, reduce
from .solvers import custom_linear_solve, custom_root
from .windowed import reduce_window

broadcasted_iota = iota
regularized_incomplete_beta = betainc

# lax is strict about dtypes, as JAX's: binary operations take operands of one dtype (Python scalars
# count as int64/float64/bool), and the error points to the promoting fnad.numpy function.
_PROMOTING = {
    "add": "add",
    "sub": "subtract",
    "mul": "multiply",
    "div": "divide",
    "rem": "remainder",
    "max": "maximum",
    "min": "minimum",
    "atan2": "arctan2",
    "nextafter": "nextafter",
    "eq": "equal",
    "ne": "not_equal",
    "lt": "less",
    "le": "less_equal",
    "gt": "greater",
    "ge": "greater_equal",
    "bitwise_and": "bitwise_and",
    "bitwise_or": "bitwise_or",
    "bitwise_xor": "bitwise_xor",
    "shift_left": "left_shift",
    "shift_right_arithmetic": "right_shift",
    "shift_right_logical": "right_shift",
}


def _same_dtypes(fn, promoting):
    @_functools.wraps(fn)
    def strict(x, y):
        dtypes = (_get_aval(x).dtype, _get_aval(y).dtype)
        if dtypes[0] != dtypes[1]:
            raise TypeError(
                f"lax.{fn.__name__} requires arguments to have the same dtypes, got "
                f"{dtypes[0].name}, {dtypes[1].name}. (Tip: fnad.numpy.{promoting} is a similar function "
                "that does automatic type promotion on inputs.)"
            )
        return fn(x, y)

    return strict


for _name, _promoting in _PROMOTING.items():
    globals()[_name] = _same_dtypes(globals()[_name], _promoting)


def _attach_examples():
    from ._examples import EXAMPLES

    for name, example in EXAMPLES.items():
        fn = globals()[name]
        fn.__doc__ = (fn.__doc__ or "") + "\n\n" + example


_attach_examples()

__all__ = [
    "ConvDimensionNumbers",
    "FftType",
    "abs",
    "acos",
    "acosh",
    "add",
    "all_gather",
    "all_to_all",
    "angle",
    "argmax",
    "argmin",
    "argsort",
    "asin",
    "asinh",
    "associative_scan",
    "atan",
    "atan2",
    "atanh",
    "axis_index",
    "bessel_i0e",
    "bessel_i1e",
    "betainc",
    "bitwise_and",
    "bitwise_not",
    "bitwise_or",
    "bitwise_xor",
    "broadcast_in_dim",
    "broadcasted_iota",
    "cbrt",
    "ceil",
    "clamp",
    "complex",
    "concatenate",
    "cond",
    "conj",
    "conv",
    "conv_dimension_numbers",
    "conv_general_dilated",
    "conv_transpose",
    "conv_with_general_padding",
    "convert_element_type",
    "cos",
    "cosh",
    "cumlogsumexp",
    "cummax",
    "cummin",
    "cumprod",
    "cumsum",
    "custom_linear_solve",
    "custom_root",
    "digamma",
    "div",
    "dot",
    "dot_general",
    "dynamic_slice",
    "dynamic_update_slice",
    "eq",
    "erf",
    "erf_inv",
    "erfc",
    "exp",
    "exp2",
    "expand_dims",
    "expm1",
    "fft",
    "floor",
    "fori_loop",
    "full",
    "gather",
    "ge",
    "gt",
    "igamma",
    "igamma_grad_a",
    "igammac",
    "imag",
    "integer_pow",
    "iota",
    "is_finite",
    "le",
    "lgamma",
    "linalg",
    "log",
    "log1p",
    "logistic",
    "lt",
    "map",
    "max",
    "min",
    "mul",
    "ne",
    "neg",
    "nextafter",
    "pad",
    "padtype_to_pads",
    "pmax",
    "pmean",
    "pmin",
    "polygamma",
    "population_count",
    "pow",
    "ppermute",
    "psum",
    "psum_scatter",
    "pvary",
    "random_gamma_grad",
    "real",
    "reduce",
    "reduce_and",
    "reduce_max",
    "reduce_min",
    "reduce_or",
    "reduce_prod",
    "reduce_sum",
    "reduce_window",
    "regularized_incomplete_beta",
    "rem",
    "reshape",
    "rev",
    "round",
    "rsqrt",
    "scan",
    "scatter",
    "scatter_add",
    "scatter_max",
    "scatter_min",
    "scatter_mul",
    "select",
    "shift_left",
    "shift_right_arithmetic",
    "shift_right_logical",
    "sign",
    "sin",
    "sinh",
    "slice",
    "slice_in_dim",
    "sort",
    "sqrt",
    "squeeze",
    "stop_gradient",
    "sub",
    "switch",
    "take_along_axis",
    "tan",
    "tanh",
    "top_k",
    "transpose",
    "while_loop",
    "zeros_like",
    "zeta",
]
