"""fnad.numpy: the NumPy API over fnad's primitives. Eager calls (nothing traced) run NumPy itself;
traced calls promote dtypes like NumPy 2, broadcast, and bind primitives.

This file is the face only: the functions live in modules named for what they hold (_elementwise,
_creation, _reductions, _shapes, _products, _diagonals, _indexing, _joining, _sorting, _selection),
which import only `_core` and each other, never this package."""
from ._dtypes import (bool_, complex128, complex64, dtype, e, finfo, float16, float32, float64, iinfo, inf,
                      int16, int32, int64, int8, nan, ndarray, newaxis, pi, uint32, uint64, uint8)
from ._elementwise import (abs, absolute, add, arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh,
                           around, bitwise_and, bitwise_not, bitwise_or, bitwise_xor, cbrt, ceil, clip,
                           copysign, cos, cosh, deg2rad, degrees, divide, equal, exp, exp2, expm1, fabs,
                           floor, floor_divide, fmod, greater, greater_equal, hypot, invert, isfinite, isinf,
                           isnan, left_shift, less, less_equal, log, log10, log1p, log2, logaddexp,
                           logical_and, logical_not, logical_or, logical_xor, maximum, minimum, mod,
                           multiply, nan_to_num, negative, not_equal, positive, power, rad2deg, radians,
                           reciprocal, remainder, right_shift, rint, round, sign, signbit, sin, sinh, sqrt,
                           square, subtract, tan, tanh, true_divide, where)
from ._creation import (arange, array, asarray, empty, empty_like, eye, full, full_like, identity, linspace,
                        ones, ones_like, zeros, zeros_like)
from ._reductions import all, amax, amin, any, argmax, argmin, max, mean, min, prod, std, sum, var
from ._shapes import (atleast_1d, atleast_2d, broadcast_arrays, broadcast_to, expand_dims, moveaxis, ndim,
                      ravel, reshape, result_type, shape, size, squeeze, swapaxes, transpose)
from ._products import cross, dot, einsum, inner, kron, matmul, outer, tensordot, vdot
from ._diagonals import diag, diagflat, diagonal, trace, tril, triu
from ._indexing import take, take_along_axis
from ._joining import (array_split, atleast_3d, column_stack, concatenate, dstack, flip, fliplr, flipud,
                       hstack, pad, repeat, roll, split, stack, tile, vstack)
from ._sorting import argsort, cumprod, cumsum, diff, meshgrid, searchsorted, sort
from ._selection import argwhere, flatnonzero, nonzero, select, unique
from ._indexing import _IndexUpdateHelper  # noqa: F401  (documents `.at`; not in __all__)
from . import linalg
from . import _methods  # noqa: F401  (installs the operators and array methods of traced values)

__all__ = ["abs", "absolute", "add", "all", "amax", "amin", "any", "arange", "arccos", "arccosh", "arcsin",
           "arcsinh", "arctan", "arctan2", "arctanh", "argmax", "argmin", "argsort", "argwhere", "around",
           "array", "array_split", "asarray", "atleast_1d", "atleast_2d", "atleast_3d", "bitwise_and",
           "bitwise_not", "bitwise_or", "bitwise_xor", "bool_", "broadcast_arrays", "broadcast_to", "cbrt",
           "ceil", "clip", "column_stack", "complex128", "complex64", "concatenate", "copysign", "cos",
           "cosh", "cross", "cumprod", "cumsum", "deg2rad", "degrees", "diag", "diagflat", "diagonal",
           "diff", "divide", "dot", "dstack", "dtype", "e", "einsum", "empty", "empty_like", "equal", "exp",
           "exp2", "expand_dims", "expm1", "eye", "fabs", "finfo", "flatnonzero", "flip", "fliplr", "flipud",
           "float16", "float32", "float64", "floor", "floor_divide", "fmod", "full", "full_like", "greater",
           "greater_equal", "hstack", "hypot", "identity", "iinfo", "inf", "inner", "int16", "int32",
           "int64", "int8", "invert", "isfinite", "isinf", "isnan", "kron", "left_shift", "less",
           "less_equal", "linalg", "linspace", "log", "log10", "log1p", "log2", "logaddexp", "logical_and",
           "logical_not", "logical_or", "logical_xor", "matmul", "max", "maximum", "mean", "meshgrid", "min",
           "minimum", "mod", "moveaxis", "multiply", "nan", "nan_to_num", "ndarray", "ndim", "negative",
           "newaxis", "nonzero", "not_equal", "ones", "ones_like", "outer", "pad", "pi", "positive", "power",
           "prod", "rad2deg", "radians", "ravel", "reciprocal", "remainder", "repeat", "reshape",
           "result_type", "right_shift", "rint", "roll", "round", "searchsorted", "select", "shape", "sign",
           "signbit", "sin", "sinh", "size", "sort", "split", "sqrt", "square", "squeeze", "stack", "std",
           "subtract", "sum", "swapaxes", "take", "take_along_axis", "tan", "tanh", "tensordot", "tile",
           "trace", "transpose", "tril", "triu", "true_divide", "uint32", "uint64", "uint8", "unique", "var",
           "vdot", "vstack", "where", "zeros", "zeros_like"]
