"""Operators and array methods of traced values and of `fnad.Array` (`x + y`, `x @ w`, `x.sum()`, `x[i]`,
`x.at[i]`), defined once in terms of fnad.numpy and installed on both `fnad.core.Tracer` and
`fnad.array.Array`. Importing this module installs them (fnad.numpy's face does). An Array keeps
NumPy's views (`x.T`, `x.real`, ...), which are read-only Arrays already."""

from __future__ import annotations

import numpy as np

from ..array import Array
from ..core import Tracer
from ._core import convert
from ._diagonals import diagonal, trace
from ._elementwise import (
    abs,
    add,
    bitwise_and,
    bitwise_or,
    bitwise_xor,
    clip,
    divide,
    equal,
    floor_divide,
    greater,
    greater_equal,
    invert,
    left_shift,
    less,
    less_equal,
    mod,
    multiply,
    negative,
    not_equal,
    positive,
    power,
    right_shift,
    round,
    subtract,
)
from ._indexing import _getitem, _IndexUpdateHelper, array_getitem, take
from ._joining import repeat
from ._products import dot, matmul
from ._reductions import all, any, argmax, argmin, max, mean, min, prod, std, sum, var
from ._selection import nonzero
from ._shapes import ravel, reshape, squeeze, swapaxes, transpose
from ._sorting import argsort, cumprod, cumsum, sort


def _without_out(f, name):
    """Method `name` running `f`, refusing NumPy's `out=` (which NumPy's functions pass as None when they
    forward to a method: `np.mean(x)` calls `x.mean(axis=None, dtype=None, out=None)`)."""

    def method(self, *args, out=None, **kwargs):
        if out is not None:
            raise TypeError(f"{name}: fnad arrays are immutable, out= is not supported; use the returned array")
        return f(self, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f.__doc__
    return method


def install_methods():

    def swap(f):
        return lambda self, other: f(other, self)

    ops = {
        "__add__": add,
        "__radd__": swap(add),
        "__sub__": subtract,
        "__rsub__": swap(subtract),
        "__mul__": multiply,
        "__rmul__": swap(multiply),
        "__truediv__": divide,
        "__rtruediv__": swap(divide),
        "__floordiv__": floor_divide,
        "__rfloordiv__": swap(floor_divide),
        "__mod__": mod,
        "__rmod__": swap(mod),
        "__pow__": power,
        "__rpow__": swap(power),
        "__matmul__": matmul,
        "__rmatmul__": swap(matmul),
        "__lt__": less,
        "__le__": less_equal,
        "__gt__": greater,
        "__ge__": greater_equal,
        "__eq__": equal,
        "__ne__": not_equal,
        "__and__": bitwise_and,
        "__rand__": swap(bitwise_and),
        "__or__": bitwise_or,
        "__ror__": swap(bitwise_or),
        "__xor__": bitwise_xor,
        "__rxor__": swap(bitwise_xor),
        "__lshift__": left_shift,
        "__rshift__": right_shift,
        "__neg__": negative,
        "__pos__": positive,
        "__abs__": abs,
        "__invert__": invert,
        "sum": sum,
        "mean": mean,
        "max": max,
        "min": min,
        "prod": prod,
        "var": var,
        "std": std,
        "argmax": argmax,
        "argmin": argmin,
        "all": all,
        "any": any,
        "ravel": ravel,
        "flatten": ravel,
        "squeeze": squeeze,
        "swapaxes": swapaxes,
        "dot": dot,
        "clip": clip,
        "round": round,
        "trace": trace,
        "diagonal": diagonal,
        "cumsum": cumsum,
        "cumprod": cumprod,
        "sort": sort,
        "argsort": argsort,
        "take": take,
        "repeat": repeat,
        "nonzero": nonzero,
    }

    def reshape_method(self, *shape, order="C"):
        return reshape(self, shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape, order)

    def transpose_method(self, *axes):
        return transpose(self, axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else (axes or None))

    def astype(self, dtype):
        return convert(self, np.dtype(dtype))

    ops.update(reshape=reshape_method, transpose=transpose_method, astype=astype)
    for name, f in ops.items():
        method = f if name.startswith("__") else _without_out(f, name)
        setattr(Tracer, name, method)
        setattr(Array, name, method)

    Tracer.T = property(lambda self: transpose(self))
    Tracer.mT = property(lambda self: swapaxes(self, -1, -2))
    Tracer.real = property(lambda self: self)
    Tracer.__getitem__ = _getitem
    Array.__getitem__ = array_getitem
    Tracer.at = Array.at = property(lambda self: _IndexUpdateHelper(self))


install_methods()
