"""Operators and array methods of traced values (`x + y`, `x @ w`, `x.sum()`, `x.T`, `x[i]`, `x.at[i]`),
defined once on `fnad.core.Tracer` in terms of fnad.numpy."""
from __future__ import annotations


def install_tracer_methods():
    from .. import numpy as fnp
    from ..core import Tracer

    def swap(f):
        return lambda self, other: f(other, self)

    ops = {
        "__add__": fnp.add, "__radd__": swap(fnp.add), "__sub__": fnp.subtract, "__rsub__": swap(fnp.subtract),
        "__mul__": fnp.multiply, "__rmul__": swap(fnp.multiply), "__truediv__": fnp.divide,
        "__rtruediv__": swap(fnp.divide), "__floordiv__": fnp.floor_divide, "__rfloordiv__": swap(fnp.floor_divide),
        "__mod__": fnp.mod, "__rmod__": swap(fnp.mod), "__pow__": fnp.power, "__rpow__": swap(fnp.power),
        "__matmul__": fnp.matmul, "__rmatmul__": swap(fnp.matmul),
        "__lt__": fnp.less, "__le__": fnp.less_equal, "__gt__": fnp.greater, "__ge__": fnp.greater_equal,
        "__eq__": fnp.equal, "__ne__": fnp.not_equal,
        "__and__": fnp.bitwise_and, "__rand__": swap(fnp.bitwise_and), "__or__": fnp.bitwise_or,
        "__ror__": swap(fnp.bitwise_or), "__xor__": fnp.bitwise_xor, "__rxor__": swap(fnp.bitwise_xor),
        "__lshift__": fnp.left_shift, "__rshift__": fnp.right_shift,
        "__neg__": fnp.negative, "__pos__": fnp.positive, "__abs__": fnp.abs, "__invert__": fnp.invert,
        "sum": fnp.sum, "mean": fnp.mean, "max": fnp.max, "min": fnp.min, "prod": fnp.prod,
        "var": fnp.var, "std": fnp.std, "argmax": fnp.argmax, "argmin": fnp.argmin,
        "all": fnp.all, "any": fnp.any, "ravel": fnp.ravel, "flatten": fnp.ravel,
        "squeeze": fnp.squeeze, "swapaxes": fnp.swapaxes, "dot": fnp.dot, "clip": fnp.clip,
        "round": fnp.round, "trace": fnp.trace, "diagonal": fnp.diagonal,
    }
    for name in ("cumsum", "cumprod", "sort", "argsort", "take", "repeat", "nonzero"):
        if hasattr(fnp, name):
            ops[name] = getattr(fnp, name)
    for name, f in ops.items():
        setattr(Tracer, name, f)

    def reshape(self, *shape, order="C"):
        return fnp.reshape(self, shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape, order)

    def transpose(self, *axes):
        return fnp.transpose(self, axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else (axes or None))

    def astype(self, dtype):
        from ._core import convert
        import numpy as np
        return convert(self, np.dtype(dtype))

    Tracer.reshape = reshape
    Tracer.transpose = transpose
    Tracer.astype = astype
    Tracer.T = property(lambda self: fnp.transpose(self))
    Tracer.mT = property(lambda self: fnp.swapaxes(self, -1, -2))
    Tracer.real = property(lambda self: self)
    if hasattr(fnp, "_getitem"):
        Tracer.__getitem__ = fnp._getitem
        Tracer.at = property(lambda self: fnp._IndexUpdateHelper(self))
