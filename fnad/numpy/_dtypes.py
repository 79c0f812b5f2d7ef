"""NumPy's dtypes, abstract dtype classes, dtype tools and constants, re-exported by fnad.numpy as they are
(fnad promotes dtypes as NumPy 2 does, so NumPy's promote_types/can_cast/result_type rules are fnad's)."""

from __future__ import annotations

import numpy as np

float16, float32, float64 = np.float16, np.float32, np.float64
int8, int16, int32, int64 = np.int8, np.int16, np.int32, np.int64
uint8, uint16, uint32, uint64, bool_ = np.uint8, np.uint16, np.uint32, np.uint64, np.bool_
complex64, complex128 = np.complex64, np.complex128
# JAX's names for the default float and complex types (NumPy 2 dropped them); fnad's defaults are 64-bit.
float_, complex_ = np.float64, np.complex128
ComplexWarning = np.exceptions.ComplexWarning
bool = np.bool_
single, double, csingle, cdouble = np.single, np.double, np.csingle, np.cdouble
int_, uint, object_ = np.int_, np.uint, np.object_
generic, number, integer, signedinteger, unsignedinteger = (
    np.generic,
    np.number,
    np.integer,
    np.signedinteger,
    np.unsignedinteger,
)
inexact, floating, complexfloating, flexible, character = (
    np.inexact,
    np.floating,
    np.complexfloating,
    np.flexible,
    np.character,
)
pi, e, inf, nan, newaxis, euler_gamma = np.pi, np.e, np.inf, np.nan, None, np.euler_gamma
dtype, finfo, iinfo, ndarray = np.dtype, np.finfo, np.iinfo, np.ndarray
issubdtype, isdtype, promote_types, can_cast = np.issubdtype, np.isdtype, np.promote_types, np.can_cast
