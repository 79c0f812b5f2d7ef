"""Operators and array methods of traced values and of `fnad.Array` (`x + y`, `x @ w`, `x.sum()`, `x[i]`,
`x.at[i]`), defined once in terms of fnad.numpy and installed on both `fnad.core.Tracer` and
`fnad.array.Array`. Importing this module installs them (fnad.numpy's face does). An Array keeps
NumPy's views (`x.T`, `x.real`, ...), which are read-only Arrays already."""

from __future__ import annotations

import importlib

import numpy as np

from ..array import Array, as_numpy, as_result
from ..core import Tracer, is_staging
from ._core import convert
from ._elementwise import (
    abs,
    add,
    bitwise_and,
    bitwise_or,
    bitwise_xor,
    clip,
    conjugate,
    divide,
    equal,
    floor_divide,
    greater,
    greater_equal,
    imag,
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
    real,
    right_shift,
    round,
    subtract,
)
from ._indexing import _getitem, _IndexUpdateHelper, array_getitem, take
from ._joining import repeat
from ._products import dot, matmul
from ._reductions import all, any, argmax, argmin, max, mean, min, prod, std, sum, var
from ._shapes import ravel, reshape, squeeze, swapaxes, transpose


def _deferred(module, name):
    """fnad.numpy's `module`.`name` (module relative to fnad.numpy), imported at its first call: the
    modules only these methods need (_diagonals, _selection, _sorting and what they import, 3 ms of
    `import fnad.numpy` in the machine's slow phase) wait until a program uses one."""
    function = None

    def call(*args, **kwargs):
        nonlocal function
        if function is None:
            function = getattr(importlib.import_module(module, __package__), name)
        return function(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call


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


def _array_operator(f, reflected):
    """Array's operator over the fnad.numpy function `f` (`x + y` is add(x, y); reflected, add(y, x)).
    Outside a trace, with an array or a Python number as the other operand, it makes f's eager call
    itself (NumPy's, `numpy_when_eager`) without f's dispatch: the common eager arithmetic stays cheap."""
    numpy_call = f.numpy_call

    def op(self, other):
        if type(other) in _EAGER_OPERANDS and not is_staging():
            mine, theirs = self.view(np.ndarray), as_numpy(other)
            return as_result(numpy_call(theirs, mine) if reflected else numpy_call(mine, theirs))
        if not isinstance(other, _OPERANDS):
            return _unrecognized(f, self, other)
        return f(other, self) if reflected else f(self, other)

    return op


def _tracer_operator(f, reflected):
    """Tracer's operator over the fnad.numpy function `f`, deferring to unrecognized operands."""

    def op(self, other):
        if not isinstance(other, _OPERANDS):
            return _unrecognized(f, self, other)
        return f(other, self) if reflected else f(self, other)

    return op


def _unrecognized(f, array, other):
    """As JAX's operators: containers are refused (convert them with fnad.numpy.asarray), other
    types get their turn (`x == pytest.approx(1.0)` asks the approx object)."""
    if isinstance(other, (list, tuple, set, dict)):
        raise TypeError(
            f"{f.__name__}: unsupported operand type {type(other).__name__} with an fnad array; "
            f"convert it first with fnad.numpy.asarray"
        )
    return NotImplemented


_EAGER_OPERANDS = frozenset([Array, np.ndarray, float, int, bool, complex])
_OPERANDS = (np.ndarray, np.generic, float, int, complex, Tracer)


def install_methods():
    binary = {
        "add": add,
        "sub": subtract,
        "mul": multiply,
        "truediv": divide,
        "floordiv": floor_divide,
        "mod": mod,
        "pow": power,
        "matmul": matmul,
        "and": bitwise_and,
        "or": bitwise_or,
        "xor": bitwise_xor,
    }
    one_sided = {  # operators without a reflected form here
        "lt": less,
        "le": less_equal,
        "gt": greater,
        "ge": greater_equal,
        "eq": equal,
        "ne": not_equal,
        "lshift": left_shift,
        "rshift": right_shift,
    }
    for name, f in [*binary.items(), *one_sided.items()]:
        setattr(Tracer, f"__{name}__", _tracer_operator(f, reflected=False))
        setattr(Array, f"__{name}__", _array_operator(f, reflected=False))
    for name, f in binary.items():
        setattr(Tracer, f"__r{name}__", _tracer_operator(f, reflected=True))
        setattr(Array, f"__r{name}__", _array_operator(f, reflected=True))
    for name, f in {"neg": negative, "pos": positive, "abs": abs, "invert": invert}.items():
        setattr(Tracer, f"__{name}__", f)
        setattr(Array, f"__{name}__", f)

    ops = {
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
        "trace": _deferred("._diagonals", "trace"),
        "diagonal": _deferred("._diagonals", "diagonal"),
        "cumsum": _deferred("._sorting", "cumsum"),
        "cumprod": _deferred("._sorting", "cumprod"),
        "sort": _deferred("._sorting", "sort"),
        "argsort": _deferred("._sorting", "argsort"),
        "take": take,
        "repeat": repeat,
        "nonzero": _deferred("._selection", "nonzero"),
        "conj": conjugate,
        "conjugate": conjugate,
    }

    def reshape_method(self, *shape, order="C"):
        return reshape(self, shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape, order)

    def transpose_method(self, *axes):
        return transpose(self, axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else (axes or None))

    def astype(self, dtype):
        return convert(self, np.dtype(dtype))

    ops.update(reshape=reshape_method, transpose=transpose_method, astype=astype)
    for name, f in ops.items():
        method = _without_out(f, name)
        setattr(Tracer, name, method)
        setattr(Array, name, method)

    Tracer.T = property(lambda self: transpose(self))
    Tracer.mT = property(lambda self: swapaxes(self, -1, -2))
    Tracer.real = property(real)
    Tracer.imag = property(imag)
    Tracer.__getitem__ = _getitem
    Array.__getitem__ = array_getitem
    Tracer.at = Array.at = property(lambda self: _IndexUpdateHelper(self))


install_methods()
