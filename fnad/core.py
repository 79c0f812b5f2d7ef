"""The core of fnad: abstract values, primitives, tracers and the trace stack.

A call to a primitive (`Primitive.bind`) goes to the interpreter ("trace") of the highest-level
tracer among its arguments, or of the innermost *dynamic* trace (`jit`/`make_jaxpr` staging),
or, when neither exists, straight to the primitive's NumPy implementation (the eager path, which
gives it plain ndarrays and returns its results as immutable `fnad.Array`s, fnad/array.py).
Transforms (jvp, vmap, staging to IR) are Trace subclasses living in `fnad.transforms`.
The trace stack and the innermost dynamic trace belong to the thread that pushed them (`_trace_state`),
as in JAX: a thread tracing a function never captures another thread's primitives.
"""

from __future__ import annotations

import importlib.util
import math
import os
import sys
import threading
from contextlib import contextmanager

import numpy as np

from .array import IMMUTABLE_MESSAGE, Array, as_array, as_numpy

# ----------------------------------------------------------------------------------------------
# Errors users see


class FnadError(Exception):
    """Base class of fnad's own errors."""


class ShapeError(FnadError, TypeError, ValueError):
    """Operands whose shapes do not fit the operation. A TypeError, as JAX raises for shape
    mismatches, and a ValueError, as NumPy does, so code written for either catches it."""


class ConcretizationError(FnadError, TypeError):
    """A Python control-flow decision (`if`, `while`, `bool()`, `int()`) needs a value that is
    only known abstractly (by shape and dtype) inside `jit`, `vmap` or `make_jaxpr`."""


class UnexpectedTracerError(FnadError):
    """A traced value escaped the transform that created it and was used after it ended."""


# ----------------------------------------------------------------------------------------------
# Abstract values

_PY_SCALAR_DTYPES = {
    bool: np.dtype(bool),
    int: np.dtype(np.int64),
    float: np.dtype(np.float64),
    complex: np.dtype(np.complex128),
}


class ShapedArray:
    """What tracing knows about an array: its shape, dtype, whether its dtype is 'weak' (it came from a
    Python scalar and yields to the other operand's dtype, as in NEP 50), and inside a `shard_map` body
    the mesh axes over which it varies (`vma`, as JAX's: the value may differ between the processes
    along those axes, and is the same along the others). Reverse mode reads `vma`: a cotangent that
    varies over axes its value does not is summed over them (the value was used by every process)."""

    __slots__ = ("dtype", "shape", "vma", "weak_type")

    def __init__(self, shape, dtype, weak_type=False, vma=frozenset()):
        self.shape = tuple(shape)
        dtype = np.dtype(dtype)
        # Values are known in native byte order: NumPy computes on a big-endian array as on its native
        # copy, and compiled code only reads native data (jit converts such arguments on its slow path).
        self.dtype = dtype if dtype.isnative else dtype.newbyteorder("=")
        self.weak_type = weak_type
        self.vma = vma

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: math.prod(self.shape))

    def update(self, shape=None, dtype=None, weak_type=None, vma=None):
        return ShapedArray(
            self.shape if shape is None else shape,
            self.dtype if dtype is None else dtype,
            self.weak_type if weak_type is None else weak_type,
            self.vma if vma is None else frozenset(vma),
        )

    def strip_weak(self):
        return ShapedArray(self.shape, self.dtype, vma=self.vma) if self.weak_type else self

    def __eq__(self, other):
        return (
            isinstance(other, ShapedArray)
            and self.shape == other.shape
            and self.dtype == other.dtype
            and self.weak_type == other.weak_type
            and self.vma == other.vma
        )

    def __hash__(self):
        return hash((self.shape, self.dtype, self.weak_type, self.vma))

    def str_short(self):
        return f"{dtype_short_name(self.dtype)}[{','.join(map(str, self.shape))}]"

    def __repr__(self):
        vma = f", varying over {sorted(self.vma)}" if self.vma else ""
        return f"ShapedArray({self.str_short()}{', weak' if self.weak_type else ''}{vma})"


_SHORT_NAMES = {
    "float32": "f32",
    "float64": "f64",
    "float16": "f16",
    "int8": "i8",
    "int16": "i16",
    "int32": "i32",
    "int64": "i64",
    "uint8": "u8",
    "uint16": "u16",
    "uint32": "u32",
    "uint64": "u64",
    "bool": "bool",
    "complex64": "c64",
    "complex128": "c128",
}


_SHORT_NAME_OF = {}  # dtype (or what names one) -> its short name: NumPy's dtype.name is slow Python code


def dtype_short_name(dtype):
    try:
        return _SHORT_NAME_OF[dtype]
    except (KeyError, TypeError):  # TypeError: an unhashable dtype description
        name = np.dtype(dtype).name
        short = _SHORT_NAMES.get(name, name)
    try:
        _SHORT_NAME_OF[dtype] = short
    except TypeError:
        pass
    return short


def is_masked_array(x):
    """Whether x is a NumPy masked array (only code that made one has imported numpy.ma)."""
    ma = sys.modules.get("numpy.ma")
    return ma is not None and isinstance(x, ma.MaskedArray)


def masked_array_error(x, what="a value given to fnad"):
    """The error for a masked array given to fnad, which would silently drop its mask (as JAX, refuse it)."""
    return TypeError(
        f"{what} is a NumPy masked array ({dtype_short_name(x.dtype)}[{','.join(map(str, x.shape))}]); "
        "fnad does not support masks and would silently ignore this one. Pass x.filled(value) "
        "(masked entries replaced by value) or np.asarray(x) (mask dropped) instead."
    )


def get_aval(x):
    """The abstract value of a tracer, NumPy array/scalar or Python scalar."""
    if isinstance(x, Tracer):
        return x.aval
    t = type(x)
    if t in _PY_SCALAR_DTYPES:
        return ShapedArray((), _PY_SCALAR_DTYPES[t], weak_type=True)
    if t is not np.ndarray and is_masked_array(x):
        raise masked_array_error(x)
    if isinstance(x, (np.ndarray, np.generic)):
        return ShapedArray(x.shape, x.dtype)
    x = np.asarray(x)
    if x.dtype == object:
        raise TypeError(f"fnad cannot use a value of type {t.__name__} as an array")
    return ShapedArray(x.shape, x.dtype)


def is_float_dtype(dtype):
    return np.issubdtype(dtype, np.inexact)


# ----------------------------------------------------------------------------------------------
# Primitives


class Primitive:
    """An operation of the IR. Its rules live on it as attributes, set where the primitive is defined
    (in `fnad/primitives/`); the class attributes below are the defaults (None: no such rule).
    Every primitive made is listed by `all_primitives()`."""

    impl = None  # impl(*arrays, **params): the NumPy reference implementation (eager path)
    abstract_eval = None  # abstract_eval(*avals, **params) -> aval (a list if multiple_results): shape/dtype rule
    jvp = None  # jvp(primals, tangents, **params) -> (primal_out, tangent_out); tangents may be `Zero`s
    transpose = None  # transpose(ct, *args, **params): cotangents of the linear inputs (`UndefinedPrimal`s)
    batch = None  # batch(args, dims, **params) -> (out, out_dim): the vmap rule
    batch_needs_size = False  # vmap passes the mapped axis size to `batch` as the param `axis_size`
    stage = None  # stage(trace, tracers, **params): how staging records it (instead of abstract_eval)
    simplify = None  # simplify(invars, params, out_aval, defs) -> a var, (prim, invars, params) or None
    commutative = False  # its two operands may be swapped (so `simplify` merges x+y and y+x)
    effectful = False  # it has side effects: dead-code elimination and CSE keep its equations
    inline_param = None  # the param holding its body (a ClosedJaxpr), spliced in before compiling
    decompose = None  # decompose(*in_avals, **params) -> ClosedJaxpr jit compiles in its place, or None (fnad.passes)
    complex_parts = None  # complex_parts(*args, **params): how jit computes it on complex operands (fnad.passes
    # lower_complex): each complex operand comes as a (re, im) pair of real arrays, each complex result goes back as one
    complex_native = False  # it works on complex memory itself (fft, complex LAPACK): under jit it keeps its
    # equation, its complex S operands and results typed as float S+(2,), the interleaved (re, im) bytes
    complex_interleaved = None  # complex_interleaved(*args, **params): how jit computes it on complex operands in
    # their interleaved form, float S+(2,) (real operands as they are), returning complex results so: for equations
    # that work on the pairs in place but, unlike complex_native ones, need other params or primitives (the scatters)
    runs_in_python = False  # its impl must run in Python (shard_map: MPI through mpi4py): jit runs an IR holding it
    # op by op instead of compiling it
    native_program = None  # native_program(closed) -> a ClosedJaxpr jit compiles instead of `closed`, a program
    # that is one equation of this `runs_in_python` primitive, when it has a native form (or None)
    vma_rule = (
        None  # vma_rule(in_vmas, **params) -> the mesh axes each output varies over (default: any input's; fnad.spmd)
    )
    axis_names = None  # axis_names(params) -> the named axes it communicates over (collectives): bind sends it to
    # the vmap binding each name even when no argument is batched by it, and refuses a name nothing binds

    def __init__(self, name, multiple_results=False):
        self.name = name
        self.multiple_results = multiple_results
        self.module = sys._getframe(1).f_globals.get("__name__")  # where it is made (for tests and errors)
        _ALL_PRIMITIVES.append(self)

    def __repr__(self):
        return self.name

    def bind(self, *args, **params):
        top = _trace_state.dynamic_main
        if self.axis_names is not None:
            top = _axis_trace(self.axis_names(params), top)
        for a in args:
            if isinstance(a, Tracer):
                main = a._trace.main
                if not main.alive:
                    raise UnexpectedTracerError(_leak_message(a, self))
                if top is None or main.level > top.level:
                    top = main
        if top is None:  # eager: the NumPy implementation sees plain arrays, users get Arrays
            if Array in map(type, args):
                args = map(as_numpy, args)
            out = self.impl(*args, **params)
            return list(map(as_array, out)) if self.multiple_results else as_array(out)
        trace = top.trace
        return trace.process_primitive(self, [trace.full_raise(a) for a in args], params)


_ALL_PRIMITIVES: list[Primitive] = []


def componentwise_parts(prim):
    """A `complex_parts` rule for a primitive that acts on real and imaginary parts alike (it moves or
    sums data: reshape, slice, gather, select, reduce_sum, ...): `prim` applied to the real parts, and
    again to the imaginary parts; real operands (indices, predicates) go to both."""

    def rule(*args, **params):
        re = prim.bind(*[a[0] if type(a) is tuple else a for a in args], **params)
        im = prim.bind(*[a[1] if type(a) is tuple else a for a in args], **params)
        return list(zip(re, im)) if prim.multiple_results else (re, im)

    return rule


def real_dtype(dtype):
    """The real dtype of a complex dtype's parts (float32 for complex64); a real dtype itself."""
    dtype = np.dtype(dtype)
    return np.dtype(f"f{dtype.itemsize // 2}") if dtype.kind == "c" else dtype


def is_complex_dtype(dtype):
    return np.dtype(dtype).kind == "c"


def _axis_trace(names, top):
    """The innermost of `top` and the vmaps binding `names`; a name bound by no vmap must be bound by
    `bind_axis_names` (shard_map's mesh axes), else a NameError names it (as JAX's)."""
    state = _trace_state
    for name in names:
        main = next((m for m in reversed(state.stack) if m.axis_name == name), None)
        if main is None:
            if not any(name in env for env in state.axis_envs):
                raise unbound_axis_error(name)
        elif top is None or main.level > top.level:
            top = main
    return top


def unbound_axis_error(name):
    """The NameError for a collective over the axis `name` that nothing binds, saying which are bound."""
    names = [m.axis_name for m in _trace_state.stack if m.axis_name is not None]
    names += [n for env in _trace_state.axis_envs for n in env]
    if names:
        bound = f"The axis names bound here are {names}."
    else:
        bound = (
            "No axis names are bound here: collectives need an enclosing fnad.vmap(..., axis_name=...) "
            "or fnad.shard_map over a mesh with that axis."
        )
    return NameError(f"unbound axis name: {name!r}. {bound}")


def bound_axis(name):
    """What binds the axis `name` innermost: ('vmap', size), or (kind, binding) from `bind_axis_names`
    (kind "mesh" or "env"), or None when nothing does."""
    state = _trace_state
    for m in reversed(state.stack):
        if m.axis_name == name:
            return "vmap", m.payload  # a named vmap's payload is its axis size
    for env in reversed(state.axis_envs):
        if name in env:
            return env[name]
    return None


def axis_env_signature():
    """The named axes bound here, with their sizes (vmap) or bindings (shard_map): what a trace of a
    function may depend on besides its arguments, so jit keys its cache with it too. () outside."""
    state = _trace_state
    if not state.axis_envs and not any(m.axis_name is not None for m in state.stack):
        return ()
    named = tuple((m.axis_name, m.payload) for m in state.stack if m.axis_name is not None)
    return named + tuple(item for env in state.axis_envs for item in env.items())


@contextmanager
def bind_axis_names(bindings, kind="env"):
    """Bind axis names to objects (a dict name -> binding) for the collectives run inside, outside any
    vmap: shard_map binds its mesh axes so, and the collectives' eager implementations look them up.
    `kind` is what `bound_axis` reports: "mesh" for a shard_map that tracks which of its axes values
    vary over (`ShapedArray.vma`), "env" for one that does not."""
    _trace_state.axis_envs.append({name: (kind, b) for name, b in dict(bindings).items()})
    try:
        yield
    finally:
        _trace_state.axis_envs.pop()


def all_primitives():
    """Every primitive made so far (those of the modules imported), in order of creation."""
    return tuple(_ALL_PRIMITIVES)


def _leak_message(tracer, prim):
    return (
        f"A traced value ({tracer.aval.str_short()}, created by {tracer._trace.main.name}"
        f"{tracer.source_info()}) was used by '{prim.name}' after the transform that created it "
        "had finished. It probably leaked out of a transformed function, e.g. stored in a global "
        "or a closure. Return it from the function instead."
    )


# ----------------------------------------------------------------------------------------------
# Traces and tracers


class MainTrace:
    """One active interpreter on the trace stack; tracers point at it through their Trace."""

    __slots__ = ("alive", "axis_name", "level", "name", "payload", "trace")

    def __init__(self, level, trace_type, name, payload, axis_name=None):
        self.level, self.name, self.payload, self.alive = level, name, payload, True
        self.axis_name = axis_name  # the named axis a vmap binds, for collectives (None: unnamed)
        self.trace = trace_type(self)


class _TraceState(threading.local):
    """This thread's interpreters: `stack` (innermost last) and `dynamic_main`, the innermost
    dynamic one (or None); `axis_envs`, the axis names bound outside vmap (`bind_axis_names`)."""

    def __init__(self):
        self.stack: list[MainTrace] = []
        self.dynamic_main: MainTrace | None = None
        self.axis_envs: list[dict] = []


_trace_state = _TraceState()


def is_staging():
    """Whether this thread is inside a staging trace (jit, make_jaxpr): primitives applied to plain
    values are then recorded, not run."""
    return _trace_state.dynamic_main is not None


def innermost_trace():
    """This thread's innermost active interpreter (a Trace), or None outside every transform."""
    stack = _trace_state.stack
    return stack[-1].trace if stack else None


_staging_hook = None


def set_staging_hook(hook):
    """Have `hook(+1)` called when a thread starts staging (its outermost dynamic trace begins) and
    `hook(-1)` when it stops. The jit module keeps its native guard so (fnad.jit_dispatch)."""
    global _staging_hook
    _staging_hook = hook


@contextmanager
def new_main(trace_type, name, payload=None, dynamic=False, axis_name=None):
    """Push a new interpreter on this thread's stack. A dynamic one also receives primitives applied
    to plain constants (so `jit` stages `zeros(n)` instead of computing it at trace time); one with an
    `axis_name` (a named vmap) receives the collectives over that name."""
    state = _trace_state
    main = MainTrace(len(state.stack), trace_type, name, payload, axis_name)
    state.stack.append(main)
    prev_dynamic = state.dynamic_main
    if dynamic:
        state.dynamic_main = main
        if prev_dynamic is None and _staging_hook is not None:
            _staging_hook(1)
    try:
        yield main
    finally:
        main.alive = False
        state.stack.pop()
        state.dynamic_main = prev_dynamic
        if dynamic and prev_dynamic is None and _staging_hook is not None:
            _staging_hook(-1)


class Trace:
    """Interprets primitives applied to its tracers. Subclasses define pure/lift/process_primitive."""

    __slots__ = ("main",)

    def __init__(self, main):
        self.main = main

    def full_raise(self, x):
        if isinstance(x, Tracer):
            xmain = x._trace.main
            if xmain is self.main:
                return x
            if xmain.level > self.main.level:
                raise UnexpectedTracerError(
                    f"A value traced by {xmain.name} reached {self.main.name}, which is outside it: "
                    "a tracer leaked out of a transform."
                )
            return self.lift(x)
        return self.pure(x)

    def pure(self, x):
        raise NotImplementedError

    lift = pure

    def process_primitive(self, prim, tracers, params):
        raise NotImplementedError


# Folders whose frames are fnad's own, not the user's: fnad, and those `add_internal_dir` adds.
_INTERNAL_DIRS = (__file__.rsplit("/", 1)[0],)


def add_internal_dir(path):
    """Count frames of files under the folder `path` as fnad's own in error messages (the jit
    module adds the compiler's, whose lowering may trace)."""
    global _INTERNAL_DIRS
    if path not in _INTERNAL_DIRS:
        _INTERNAL_DIRS += (path,)


def user_frame():
    """(filename, line, function) of the innermost caller outside fnad, for error messages."""
    f = sys._getframe(1)
    while f is not None and f.f_code.co_filename.startswith(_INTERNAL_DIRS):
        f = f.f_back
    return None if f is None else (f.f_code.co_filename, f.f_lineno, f.f_code.co_name)


_PACKAGE_DIRS = tuple(
    os.path.dirname(os.path.abspath(p)) + os.sep for p in (__file__, importlib.util.find_spec("numpy").origin)
)


def _user_frame():
    """', at FILE:LINE in FUNCTION' of the innermost caller outside fnad and NumPy (the user's code
    that asked for a concrete value), or '' if there is none."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIRS):
        frame = frame.f_back
    if frame is None:
        return ""
    return f", at {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"


class Tracer:
    """A value being traced. Operators and methods mirror NumPy arrays (see fnad.numpy)."""

    __slots__ = ("_trace",)
    __array_priority__ = 1000

    @property
    def aval(self):
        raise NotImplementedError

    shape = property(lambda self: self.aval.shape)
    dtype = property(lambda self: self.aval.dtype)
    ndim = property(lambda self: self.aval.ndim)
    size = property(lambda self: self.aval.size)

    def __len__(self):
        if not self.aval.shape:
            raise TypeError("len() of unsized object (a 0-d traced array)")
        return self.aval.shape[0]

    def source_info(self):
        return ""

    # Concreteness: a trace whose values are concrete (jvp of concrete primals) overrides this.
    def concrete_value(self):
        return None

    def _concrete(self, what, hint):
        val = self.concrete_value()
        if val is None:
            raise ConcretizationError(
                f"{what} needs a concrete value, but got an abstract traced array "
                f"{self.aval.str_short()} (traced by {self._trace.main.name}{self.source_info()}){_user_frame()}. "
                f"Inside jit/vmap/make_jaxpr values are known only by shape and dtype. {hint}"
            )
        return val

    _BOOL_HINT = (
        "Use fnad.lax.cond/lax.switch for branches, lax.while_loop/lax.fori_loop for loops, "
        "fnad.numpy.where to select values, or mark the argument static with "
        "jit(..., static_argnums=...)."
    )

    def __bool__(self):
        return bool(self._concrete("Python control flow (if/while/bool())", self._BOOL_HINT))

    def __int__(self):
        return int(self._concrete("int()", self._BOOL_HINT))

    def __float__(self):
        return float(self._concrete("float()", self._BOOL_HINT))

    def __complex__(self):
        return complex(self._concrete("complex()", self._BOOL_HINT))

    def __index__(self):
        return int(self._concrete("Using a traced value as a Python index (int)", self._BOOL_HINT))

    def __array__(self, dtype=None, copy=None):
        val = self._concrete(
            "Converting to a NumPy array (np.asarray)",
            "Use fnad.numpy functions on traced values instead of NumPy ones.",
        )
        return np.asarray(val, dtype=dtype)

    def __setitem__(self, idx, value):
        raise TypeError(IMMUTABLE_MESSAGE)

    def __hash__(self):
        raise TypeError(f"unhashable type: traced array {self.aval.str_short()}")

    def __iter__(self):
        if not self.aval.shape:
            raise TypeError("iteration over a 0-d traced array")
        return (self[i] for i in range(self.aval.shape[0]))

    def __repr__(self):
        return f"Traced<{self.aval.str_short()}>({self._trace.main.name})"
