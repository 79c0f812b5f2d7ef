"""Compiled code calling back into Python: the runtime of the `debug_callback` and `pure_callback`
equations (`fnad.primitives.callbacks`).

Generated code calls `int32 fnad_callback(ptr site, ptr operands, ptr results)` (arrays of data
pointers), a ctypes function that takes the GIL. `site` identifies a `Site`: one callback equation
of one executable, with its function and the shapes and dtypes of its operands and results. The
code does not hold it: it reads it from the executable's constant table, after the constants'
data pointers, at the equation's place in `site_equations` order. So code cached on disk (keyed by
IR text, where a callback prints by name) runs with whichever functions the executable has.

The callback gets copies of its operands as fnad.Arrays (the program reuses their buffers) and its
results are written into the program's buffers. A callback that raises makes `fnad_callback`
return 1: the code stops at once (scratch given back) and the executable's call re-raises the
exception (`running`). Executables with callbacks have no native entry (`has_sites`): their calls
go through ctypes, which releases the GIL around the code so that the callbacks can take it.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading

import numpy as np

from fnad.array import as_array
from fnad.ir import ClosedJaxpr, Jaxpr
from fnad_compiler import engine

__all__ = ["PRIMITIVES", "SYMBOL", "Site", "has_sites", "running", "site_equations"]

SYMBOL = "fnad_callback"
PRIMITIVES = ("debug_callback", "pure_callback")
_SITES: dict[int, Site] = {}  # id -> live Site (the handle generated code passes back)
_PENDING = threading.local()  # .stack: one list per running call of an executable with callbacks


def site_equations(jaxpr):
    """The callback equations of `jaxpr` and its sub-IRs, in a fixed order (each equation once)."""
    found, seen = [], set()

    def walk(jaxpr):
        for e in jaxpr.eqns:
            if e.primitive.name in PRIMITIVES and id(e) not in seen:
                seen.add(id(e))
                found.append(e)
            for v in e.params.values():
                for sub in v if isinstance(v, (tuple, list)) else (v,):
                    if isinstance(sub, (Jaxpr, ClosedJaxpr)):
                        walk(sub.jaxpr if isinstance(sub, ClosedJaxpr) else sub)

    walk(jaxpr)
    return found


def has_sites(jaxpr):
    return bool(site_equations(jaxpr))


class Site:
    """One callback equation's runtime: `handle` goes in the executable's constant table; the Site
    lives (and the handle resolves) until `close`."""

    def __init__(self, eqn):
        self.callback = eqn.params["callback"]
        self.ins = [(v.aval.shape, np.dtype(v.aval.dtype)) for v in eqn.invars]
        self.outs = [v.aval for v in eqn.outvars]
        self.handle = id(self)
        _SITES[self.handle] = self

    def close(self):
        _SITES.pop(self.handle, None)

    def run(self, operands, results):
        stack = getattr(_PENDING, "stack", None)
        if stack and stack[-1]:
            return 1  # an earlier callback of this call failed; the code is on its way out
        try:
            args = []
            for k, (shape, dtype) in enumerate(self.ins):
                nbytes = int(np.prod(shape)) * dtype.itemsize
                raw = (ctypes.c_char * nbytes).from_address(operands[k]) if nbytes else b""
                args.append(as_array(np.frombuffer(raw, dtype).reshape(shape).copy()))
            outs = self.callback(*args)
            if self.outs:
                from fnad.primitives.callbacks import conform_results

                for k, r in enumerate(conform_results(outs, self.outs, repr(self.callback))):
                    if r.nbytes:
                        ctypes.memmove(results[k], np.ascontiguousarray(r).ctypes.data, r.nbytes)
            return 0
        except BaseException as exc:
            if stack is None:
                raise
            stack[-1].append(exc)
            return 1


@ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_void_p))
def _fnad_callback(handle, operands, results):
    return _SITES[handle].run(operands, results)


engine.register_symbol(SYMBOL, ctypes.cast(_fnad_callback, ctypes.c_void_p).value)


@contextlib.contextmanager
def running():
    """Around one call of compiled code with callbacks: re-raises the first exception a callback
    raised (the code stopped right after it)."""
    stack = _PENDING.__dict__.setdefault("stack", [])
    stack.append([])
    try:
        yield
    finally:
        failed = stack.pop()
    if failed:
        raise failed[0]
