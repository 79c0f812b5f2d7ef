"""NumPy's dtypes, dtype tools and constants, re-exported by fnad.numpy as they are."""

from __future__ import annotations

import numpy as np

float16, float32, float64 = np.float16, np.float32, np.float64
int8, int16, int32, int64 = np.int8, np.int16, np.int32, np.int64
uint8, uint32, uint64, bool_ = np.uint8, np.uint32, np.uint64, np.bool_
complex64, complex128 = np.complex64, np.complex128
pi, e, inf, nan, newaxis = np.pi, np.e, np.inf, np.nan, None
dtype, finfo, iinfo, ndarray = np.dtype, np.finfo, np.iinfo, np.ndarray
