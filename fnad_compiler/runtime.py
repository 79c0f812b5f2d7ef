"""Compiled jaxprs as Python callables: `compile_jaxpr(closed_jaxpr) -> Executable`.

Calling convention (see `fnad_compiler.lower`): `void fnad_main(void** inputs, void** consts, void** outputs)`
over C-contiguous buffers of the compiled shapes and dtypes; a complex array of shape S is the
buffer of its float S+(2,) representation, so executables take and return complex arrays as they
are (`compile_jaxpr`'s interface). An executable is called through its native entry
(`fnad_compiler.pyentry`): a builtin function that checks the NumPy arrays it is given and
allocates the outputs itself; an argument it refuses takes the slow path here, which converts what
can be converted and raises a clear error otherwise. Outputs are new arrays allocated per call
(large ones over reused blocks, `fnad_compiler.buffers`, on both paths). Compiled code is cached
(memory + disk, `fnad_compiler.cache`) by the jaxpr's text and abstract values.
"""

from __future__ import annotations

import ctypes
import weakref

import numpy as np

from fnad import timing
from fnad.ir import pp_jaxpr
from fnad_compiler import buffers, cache, callbacks, engine, pyentry, tiers

__all__ = ["Executable", "compile_jaxpr"]

_EXPORTS = ["fnad_main", pyentry.ENTRY, engine.RELEASE]


def _lowering():
    """`fnad_compiler.lower`, imported on first use: code found in the disk cache needs no lowering
    (its import was about 4% of a warm-cache cold start)."""
    from fnad_compiler import lower

    return lower


def _program(closed, interface, donated=None):
    lowering = _lowering()
    with timing.phase("lower"):
        program = lowering.lower(closed, donated, counted=True)
        pyentry.add_entry(program.main, closed.jaxpr, *interface)
        return program


def _key_text(jaxpr, donated, interface):
    avals = lambda vs: ",".join(v.aval.str_short() for v in vs)
    text = f"{pp_jaxpr(jaxpr)}\nconsts:{avals(jaxpr.constvars)}\nins:{avals(jaxpr.invars)}"
    if any(a.dtype.kind == "c" for avals in interface for a in avals):  # the entry's code takes these
        text += "\ninterface:" + " -> ".join(",".join(a.str_short() for a in avals) for avals in interface)
    return text + (f"\ndonated:{sorted(donated.items())}" if donated else "")


def _interface(jaxpr, interface):
    """The (input, output) avals of an executable of `jaxpr` (see `compile_jaxpr`), checked."""
    if interface is None:
        return [v.aval for v in jaxpr.invars], [v.aval for v in jaxpr.outvars]
    for avals, vs in zip(interface, (jaxpr.invars, jaxpr.outvars)):
        if len(avals) != len(vs) or not all(_holds(v.aval, a) for a, v in zip(avals, vs)):
            raise ValueError(
                f"compile_jaxpr: the interface {[[a.str_short() for a in avals] for avals in interface]} does not "
                "match the jaxpr's inputs and outputs (each the same, or complex of shape S for float S+(2,))"
            )
    return list(interface[0]), list(interface[1])


def _holds(compiled, aval):
    """Whether a value of `compiled` in the code is one of `aval` for callers: the same shape and
    dtype, or for complex `aval` of shape S its float S+(2,) pairs."""
    if aval.dtype.kind == "c":
        return (compiled.shape, compiled.dtype) == (aval.shape + (2,), np.finfo(aval.dtype).dtype)
    return (compiled.shape, compiled.dtype) == (aval.shape, aval.dtype)


def compile_jaxpr(closed, code_cache=None, donated=None, interface=None):
    """Native code for a ClosedJaxpr (its consts stay referenced, not copied into the code).
    `donated`: input index -> output index that may be computed in that input's buffer; the
    executable then overwrites those inputs (see `Executable`). `interface`: the (input, output)
    avals callers pass and receive, by default the jaxpr's; one may be complex of shape S where the
    jaxpr has its real representation, float S+(2,) (`fnad.passes.lower_complex`): the executable
    then takes and returns complex arrays, whose memory the code reads and writes as float pairs.
    Raises NotImplementedError naming a primitive the compiler cannot lower."""
    code_cache = cache.default_cache() if code_cache is None else code_cache
    jaxpr = closed.jaxpr
    interface = _interface(jaxpr, interface)

    def build():
        program = _program(closed, interface, donated)
        exports = _EXPORTS + [tiers.CALLS_SYMBOL] if program.quick_units else _EXPORTS
        codegen = 0 if program.glue_only else 3
        return cache.Build(program.main, exports, {}, program.units, codegen, program.quick_units, program.unroll)

    # The key text already determines the signature; storing it too means a disk entry is only
    # run where it is known to take these arguments and produce these results.
    avals = lambda vs: [v.aval.str_short() for v in vs]
    signature = {
        "exports": _EXPORTS,
        "consts": avals(jaxpr.constvars),
        "in": [a.str_short() for a in interface[0]],
        "out": [a.str_short() for a in interface[1]],
    }
    with timing.phase("cache key"):
        key_text = _key_text(jaxpr, donated, interface)
    compiled = code_cache.get_or_compile(key_text, build, signature=signature)
    return Executable(closed, compiled.library, _lowering().ties(closed, donated) if donated else {}, interface)


class Executable:
    """`exe(*arrays) -> list of new arrays` for its `in_avals`/`out_avals` (the jaxpr's, or complex
    ones where the jaxpr has their real representation: see `compile_jaxpr`); `exe.entry(...)` makes
    more builtins running the same code (other result forms, fallbacks, guards). Compiled with
    donated inputs, the outputs tied to them are computed in the inputs' own buffers (given C-
    contiguous inputs of its dtype, the caller's memory) and returned as views of them."""

    def __init__(self, closed, library, ties=None, interface=None):
        jaxpr = closed.jaxpr
        self.ties = ties or {}  # output -> the donated input whose buffer holds it
        self.closed = closed
        self.library = library
        self.in_avals, self.out_avals = _interface(jaxpr, interface)  # complex ones: float pairs in the code
        self._consts = [
            np.ascontiguousarray(c, dtype=v.aval.dtype).reshape(v.aval.shape)
            for c, v in zip(closed.consts, jaxpr.constvars)
        ]
        # Callback equations' Sites follow the constants in the table (fnad_compiler.callbacks).
        self._sites = [callbacks.Site(e) for e in callbacks.site_equations(jaxpr)]
        if self._sites:
            weakref.finalize(self, lambda sites: [s.close() for s in sites], self._sites)
        table = [c.ctypes.data for c in self._consts] + [s.handle for s in self._sites]
        self._const_table = (ctypes.c_void_p * max(len(table), 1))(*table)
        self._main = library.function("fnad_main", None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
        self.has_entry = pyentry.supported() and not self._sites and not self.ties
        if self.has_entry:  # this instance's own subclass calls the native entry directly
            self.__class__ = type("Executable", (Executable,), {"__call__": self.entry(self._checked_call)})

    def __call__(self, *args):
        return self._checked_call(*args)

    def entry(self, fallback, form="list", guard=None, name=pyentry.ENTRY):
        """A builtin `f(*arrays)` running this code on arrays it accepts, returning the outputs as a
        "list", a "tuple" or ("single") the only output; every other call (and all while the
        8-byte ctypes `guard` is nonzero) returns `fallback(*args, **kwargs)`. Needs `has_entry`."""
        return pyentry.make_entry(
            self.library,
            self._consts,
            self.in_avals,
            len(self.out_avals),
            fallback,
            form,
            guard,
            name,
        )

    def _checked_call(self, *args):
        if len(args) != len(self.in_avals):
            raise TypeError(f"compiled function takes {len(self.in_avals)} array(s), got {len(args)}")
        arrays = [_prepare(i, x, a) for i, (x, a) in enumerate(zip(args, self.in_avals))]
        outs = [
            arrays[self.ties[k]] if k in self.ties else buffers.empty(a.shape, a.dtype)
            for k, a in enumerate(self.out_avals)
        ]
        ins = (ctypes.c_void_p * max(len(arrays), 1))(*[a.ctypes.data for a in arrays])
        out_ptrs = (ctypes.c_void_p * max(len(outs), 1))(*[o.ctypes.data for o in outs])
        if self._sites:
            with callbacks.running():
                self._main(ctypes.addressof(ins), ctypes.addressof(self._const_table), ctypes.addressof(out_ptrs))
        else:
            self._main(ctypes.addressof(ins), ctypes.addressof(self._const_table), ctypes.addressof(out_ptrs))
        return outs

    @property
    def program(self):
        """The `fnad_compiler.lower.Program` this executable was compiled from (lowered again)."""
        return _program(self.closed, (self.in_avals, self.out_avals))

    @property
    def llvm_ir(self):
        """The LLVM IR (text) this executable was compiled from: main's module, then each unit's."""
        return str(self.program)

    def asm(self):
        """Assembly of the optimised modules (main's, then each unit's)."""
        program = self.program
        texts = [str(program.main), *program.units.values()]
        return "\n".join(engine.emit_assembly(engine.optimize(engine.parse(t))) for t in texts)


def _prepare(i, x, aval):
    """Input `i` as a C-contiguous array of `aval`'s dtype; a clear error if it cannot be one."""
    if isinstance(x, np.ndarray):
        if x.dtype != aval.dtype and x.dtype.newbyteorder("=") != aval.dtype:  # byte order is converted below
            raise TypeError(
                f"compiled function: input {i} has dtype {x.dtype.name}, but the function was compiled "
                f"for {aval.dtype.name} (shape {aval.shape}); convert it with .astype() or recompile"
            )
    else:
        x = np.asarray(x)
        if x.dtype == object or not np.can_cast(x.dtype, aval.dtype, "same_kind"):
            raise TypeError(
                f"compiled function: input {i} ({type(x).__name__} of dtype {x.dtype}) cannot be "
                f"converted to {aval.dtype.name}"
            )
    if x.shape != aval.shape:
        raise ValueError(
            f"compiled function: input {i} has shape {x.shape}, but the function was compiled for "
            f"shape {aval.shape} ({aval.dtype.name}); jit retraces for new shapes, a compiled "
            "executable does not"
        )
    return np.ascontiguousarray(x, dtype=aval.dtype)
