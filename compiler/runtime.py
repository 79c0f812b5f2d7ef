"""Compiled jaxprs as Python callables: `compile_jaxpr(closed_jaxpr) -> Executable`.

Calling convention (see `compiler.lower`): `void fnad_main(void** inputs, void** consts, void** outputs)`
over C-contiguous buffers of the compiled shapes and dtypes. Python calls go through
`int fnad_call(void** table, PyObject* in.., PyObject* out..)`, which reads the data pointers of
the NumPy arrays itself and checks type, shape, dtype, contiguity and alignment of every input
(returning which input failed, before running anything); an argument it refuses takes the slow
path here, which converts what can be converted and raises a clear error otherwise. Outputs are
new arrays allocated per call. Compiled code is cached (memory + disk, `compiler.cache`) by the
jaxpr's text and abstract values.
"""
from __future__ import annotations

import ctypes
import functools
import hashlib
from pathlib import Path

import numpy as np

from compiler import buffers, cache, engine, lower as lowering
from fnad.ir import pp_jaxpr

__all__ = ["compile_jaxpr", "Executable"]

_EXPORTS = ["fnad_main", "fnad_call"]
_GIL_RELEASE_ELEMENTS = 1 << 16   # programs touching more elements release the GIL while they run


@functools.cache
def _version():
    """Compiler version for cache keys: changes whenever a source file of the compiler changes."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return f"{cache.COMPILER_VERSION}-{digest.hexdigest()[:16]}"


@functools.cache
def _layout_ok():
    """Whether PyArrayObject has the field offsets the generated `fnad_call` reads (checked on
    live arrays, so a NumPy or CPython with another layout just uses the slower ctypes path)."""
    lay = lowering.PYOBJECT_LAYOUT
    for a in (np.zeros((3, 5), np.float32), np.zeros((), bool), np.zeros((2, 3), np.int64)[:, ::2]):
        base = id(a)
        read = lambda name, ty: ty.from_address(base + lay[name]).value
        if (read("ob_type", ctypes.c_void_p) != id(np.ndarray) or read("data", ctypes.c_void_p) != a.ctypes.data
                or read("nd", ctypes.c_int32) != a.ndim or read("descr", ctypes.c_void_p) != id(a.dtype)
                or bool(read("flags", ctypes.c_int32) & 1) != a.flags.c_contiguous):
            return False
        dims = read("dimensions", ctypes.c_void_p)
        if a.ndim and tuple((ctypes.c_int64 * a.ndim).from_address(dims)) != a.shape:
            return False
    return True


def _key_text(jaxpr):
    avals = lambda vs: ",".join(v.aval.str_short() for v in vs)
    return f"{pp_jaxpr(jaxpr)}\nconsts:{avals(jaxpr.constvars)}\nins:{avals(jaxpr.invars)}"


def compile_jaxpr(closed, code_cache=None):
    """Native code for a ClosedJaxpr (its consts stay referenced, not copied into the code).
    Raises NotImplementedError naming a primitive the compiler cannot lower."""
    code_cache = cache.default_cache() if code_cache is None else code_cache
    jaxpr = closed.jaxpr

    def build():
        return str(lowering.lower(closed)), _EXPORTS, {}

    compiled = code_cache.get_or_compile(_key_text(jaxpr), build, version=_version())
    return Executable(closed, compiled.library)


class Executable:
    """`exe(*arrays) -> list of new arrays` for the jaxpr's inputs/outputs."""

    def __init__(self, closed, library):
        jaxpr = closed.jaxpr
        self.closed = closed
        self.library = library
        self.in_avals = [v.aval for v in jaxpr.invars]
        self.out_avals = [v.aval for v in jaxpr.outvars]
        self._n_in = len(self.in_avals)
        self._out_specs = [(a.shape, a.dtype) for a in self.out_avals]
        # large results come from reused blocks (see compiler.buffers), the rest from np.empty
        self._allocators = [buffers.empty if a.size * a.dtype.itemsize >= buffers.MIN_BYTES else np.empty
                            for a in self.out_avals]
        self._consts = [np.ascontiguousarray(c, dtype=v.aval.dtype).reshape(v.aval.shape)
                        for c, v in zip(closed.consts, jaxpr.constvars)]
        pointers = ([c.ctypes.data for c in self._consts] + [id(np.ndarray)]
                    + [id(a.dtype) for a in self.in_avals])
        self._table = (ctypes.c_void_p * max(len(pointers), 1))(*pointers)
        self._table_address = ctypes.addressof(self._table)
        self._main = library.function("fnad_main", None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
        if _layout_ok():   # this instance's own subclass gets a __call__ specialised to it
            self.__class__ = type("Executable", (Executable,), {"__call__": staticmethod(self._fast_call())})

    def __call__(self, *args):
        return self._checked_call(args, [empty(s, d) for empty, (s, d) in zip(self._allocators, self._out_specs)])

    def _fast_call(self):
        """exe(*arrays): fnad_call checks the inputs natively; a refusal takes `_checked_call`.
        Small programs keep the GIL (cheaper call); large ones release it while they run."""
        small = sum(a.size for a in self.in_avals + self.out_avals) < _GIL_RELEASE_ELEMENTS
        proto = ctypes.PYFUNCTYPE if small else ctypes.CFUNCTYPE
        entry = proto(ctypes.c_int32, ctypes.c_void_p, *[ctypes.py_object] * (self._n_in + len(self._out_specs)))(
            self.library.address("fnad_call"))
        table, checked = self._table_address, self._checked_call
        if len(self._out_specs) == 1:
            (shape, dtype), = self._out_specs
            empty, = self._allocators

            def call(*args):
                out = empty(shape, dtype)
                try:
                    if not entry(table, *args, out):
                        return [out]
                except (TypeError, ctypes.ArgumentError):
                    pass
                return checked(args, [out])
            return call
        specs = list(zip(self._allocators, self._out_specs))

        def call(*args):
            outs = [empty(s, d) for empty, (s, d) in specs]
            try:
                if not entry(table, *args, *outs):
                    return outs
            except (TypeError, ctypes.ArgumentError):
                pass
            return checked(args, outs)
        return call

    def _checked_call(self, args, outs):
        if len(args) != self._n_in:
            raise TypeError(f"compiled function takes {self._n_in} array(s), got {len(args)}")
        arrays = [_prepare(i, x, a) for i, (x, a) in enumerate(zip(args, self.in_avals))]
        ins = (ctypes.c_void_p * max(len(arrays), 1))(*[a.ctypes.data for a in arrays])
        out_ptrs = (ctypes.c_void_p * max(len(outs), 1))(*[o.ctypes.data for o in outs])
        self._main(ctypes.addressof(ins), self._table_address, ctypes.addressof(out_ptrs))
        return outs

    @property
    def llvm_ir(self):
        """The LLVM IR (text) this executable was compiled from."""
        return str(lowering.lower(self.closed))

    def asm(self):
        """Assembly of the optimised module."""
        return engine.emit_assembly(engine.optimize(engine.parse(self.llvm_ir)))


def _prepare(i, x, aval):
    """Input `i` as a C-contiguous array of `aval`'s dtype; a clear error if it cannot be one."""
    if isinstance(x, np.ndarray):
        if x.dtype != aval.dtype:
            raise TypeError(f"compiled function: input {i} has dtype {x.dtype.name}, but the function was compiled "
                            f"for {aval.dtype.name} (shape {aval.shape}); convert it with .astype() or recompile")
    else:
        x = np.asarray(x)
        if x.dtype == object or not np.can_cast(x.dtype, aval.dtype, "same_kind"):
            raise TypeError(f"compiled function: input {i} ({type(x).__name__} of dtype {x.dtype}) cannot be "
                            f"converted to {aval.dtype.name}")
    if x.shape != aval.shape:
        raise ValueError(f"compiled function: input {i} has shape {x.shape}, but the function was compiled for "
                         f"shape {aval.shape} ({aval.dtype.name}); jit retraces for new shapes, a compiled "
                         "executable does not")
    return np.ascontiguousarray(x, dtype=aval.dtype)
