"""`jit`: stage a function to IR once per argument signature, compile it with `fnad_compiler/`, and call
the native code. Inside other transforms a jitted function is the call primitive `jit`, whose rules
transform its sub-IR (jvp: jvp + partial evaluation into a primal call and a linear tangent call;
transpose; batching), so derivatives and batches of jitted code stay compiled."""

from __future__ import annotations

import ctypes
import functools
import inspect
import operator
import os
import sys
import threading
import weakref
from collections import OrderedDict

import numpy as np

from . import core, gc_pause, timing
from .ad_util import Zero, tangent_aval, zero_cotangents
from .api_util import as_tuple, flatten_fun, without_static
from .array import Array, as_array
from .config import config
from .core import Tracer, get_aval, is_masked_array, masked_array_error
from .ir import ClosedJaxpr, Jaxpr, Var, axis_names_of, dce, eval_closed, eval_jaxpr, runs_in_python
from .passes import prepare_for_compile
from .primitives.calls import jit_p
from .primitives.elementwise import convert_element_type_p
from .transforms.batching import move_bdim
from .transforms.jaxpr_rules import batch_jaxpr, jvp_jaxpr, partial_eval_jaxpr, transpose_jaxpr
from .transforms.reverse import is_undefined
from .transforms.staging import trace_to_jaxpr
from .tree_util import keystr, tree_flatten, tree_flatten_with_path, tree_map, tree_structure

# ----------------------------------------------------------------------------------------------
# The native guard

# Read by the native entries of jitted functions (fnad_compiler/pyentry.py), which run compiled code only
# while both words are 0: [the number of threads with a dynamic trace active, fnad.config.disable_jit].
# The entries cannot tell threads apart, so while any thread stages, calls in the others take the
# Python dispatch, which asks its own thread (`core.is_staging`).
jit_blocked = (ctypes.c_int32 * 2)()
_staging_threads_lock = threading.Lock()


def _count_staging_thread(delta):
    with _staging_threads_lock:  # a read-modify-write of the shared word
        jit_blocked[0] += delta


core.set_staging_hook(_count_staging_thread)
config.on_update("disable_jit", lambda value: jit_blocked.__setitem__(1, bool(value)))

# ----------------------------------------------------------------------------------------------
# In-process caches: one LRU across all jitted functions
#
# Every traced signature of every jitted function (its IR, executable and native entries) and every
# IR or executable derived from a ClosedJaxpr (`_per_jaxpr`) is one entry of `_IN_MEMORY`; past
# `_CACHE_ENTRIES` of them the least recently used are dropped, which frees their compiled code
# (code lives as long as its `engine.NativeLibrary`). "Used" means compiled, or called through the
# Python dispatch: calls that a native entry runs by itself cannot record their use.


def _entries_from_env():
    text = os.environ.get("FNAD_JIT_CACHE_ENTRIES", "").strip()
    if not text:
        return 2048
    if not text.isdigit() or int(text) < 1:
        raise ValueError(
            f"FNAD_JIT_CACHE_ENTRIES must be a positive integer (entries kept in memory "
            f"across all jitted functions), got {text!r}"
        )
    return int(text)


_CACHE_ENTRIES = _entries_from_env()
_IN_MEMORY: OrderedDict = OrderedDict()  # (make, id(jaxpr), *args) -> (jaxpr, result);
# (_SIGNATURE, id(entry)) -> (weakref to JitFunction, its key)
# Guards the bookkeeping of the caches here (never held while tracing or compiling, which may
# call other jitted functions): threads may look up, insert and evict at the same time.
# Reentrant: dropping an evicted signature takes it again.
_CACHE_LOCK = threading.RLock()
_SIGNATURE = "signature"


def _remember(key, value):
    """Add `key` to `_IN_MEMORY` as the most recently used entry, dropping the least recently used."""
    with _CACHE_LOCK:
        _IN_MEMORY[key] = value
        _IN_MEMORY.move_to_end(key)
        evicted = [_IN_MEMORY.popitem(last=False) for _ in range(len(_IN_MEMORY) - _CACHE_ENTRIES)]
    for old_key, old_value in evicted:  # outside the lock: this runs JitFunction code
        if old_key[0] == _SIGNATURE:
            fun = old_value[0]()
            if fun is not None:
                fun._forget(old_value[1])


def _touch(key):
    with _CACHE_LOCK:
        if key in _IN_MEMORY:
            _IN_MEMORY.move_to_end(key)


def _forget_entry(entry):
    with _CACHE_LOCK:
        _IN_MEMORY.pop((_SIGNATURE, id(entry)), None)


# ----------------------------------------------------------------------------------------------
# Compilation of a ClosedJaxpr (cached per jaxpr object)


def _per_jaxpr(make, closed, *args):
    """`make(closed, *args)`, computed once per ClosedJaxpr object and hashable `args` (an entry of
    the global LRU, `_IN_MEMORY`). Derived IR stays the same object, so its compiled code is found
    again too."""
    key = (make, id(closed), *args)
    with _CACHE_LOCK:
        hit = _IN_MEMORY.get(key)
        if hit is not None and hit[0] is closed:
            _IN_MEMORY.move_to_end(key)
            return hit[1]
    result = make(closed, *args)  # threads making the same result at once each make it: equal
    _remember(key, (closed, result))
    return result


@functools.cache
def _compiler():
    """The compiler package, imported on first use; its frames are fnad's own in error messages."""
    import fnad_compiler

    core.add_internal_dir(os.path.dirname(fnad_compiler.__file__))
    return fnad_compiler


def _compile(closed, donated=()):
    with gc_pause.paused():
        with timing.phase("passes"):
            prepared = prepare_for_compile(closed)
        # Complex values are compiled on their real representation; the executable takes and returns them complex.
        interface = (closed.in_avals, closed.out_avals)
        return _compiler().compile_jaxpr(prepared, donated=dict(donated), interface=interface)


def _may_give_up(x, flat):
    """Whether jit may overwrite donated leaf `x`: an fnad.Array (immutable to its users) owning its
    memory, or viewing an array that only it holds, passed once."""
    if type(x) is not Array or not x.flags.c_contiguous or sum(y is x for y in flat) > 1:
        return False
    if x.flags.owndata:
        return True
    base = x.base
    # References to `base`: x's, this frame's and getrefcount's argument.
    return type(base) is np.ndarray and base.base is None and base.flags.owndata and sys.getrefcount(base) <= 3


def executable_for(closed):
    """Native code for `closed` (compiled once per ClosedJaxpr object; in the global LRU)."""
    return _per_jaxpr(_compile, closed)


def _native_program(closed):
    """What jit compiles for a program that runs in Python (a primitive in it must, as a shard_map's MPI
    calls through mpi4py) when the program is one equation whose primitive has a native form of it
    (`Primitive.native_program`): that form, made once per program; else None."""
    if not runs_in_python(closed) or len(closed.jaxpr.eqns) != 1:
        return None
    make = closed.jaxpr.eqns[0].primitive.native_program
    if make is None:
        return None
    if _native_program not in closed.derived:
        closed.derived[_native_program] = make(closed)
    return closed.derived[_native_program]


def _jit_impl(*args, jaxpr, name):
    if config.disable_jit or runs_in_python(jaxpr):
        return eval_closed(jaxpr, *args)
    return executable_for(jaxpr)(*args)


jit_p.impl = _jit_impl


def _jvp_parts(closed, nonzeros):
    """The jvp of `closed` split into a primal call (known) and a linear tangent call (unknown)."""
    jvp_closed, out_nz = jvp_jaxpr(closed, tuple(nonzeros))
    known, unknown, out_unknown, _ = partial_eval_jaxpr(
        jvp_closed, [False] * len(closed.in_avals) + [True] * sum(nonzeros)
    )
    return known, unknown, out_unknown, out_nz


def _jit_jvp(primals, tangents, jaxpr, name):
    known, unknown, out_unknown, out_nz = _per_jaxpr(_jvp_parts, jaxpr, tuple(type(t) is not Zero for t in tangents))
    n_out = len(jaxpr.out_avals)
    known_outs = iter(jit_p.bind(*primals, jaxpr=known, name=name))
    outs = [None if u else next(known_outs) for u in out_unknown]
    residuals = list(known_outs)
    if any(out_unknown):
        lin_outs = iter(
            jit_p.bind(*residuals, *[t for t in tangents if type(t) is not Zero], jaxpr=unknown, name=f"jvp_{name}")
        )
        outs = [next(lin_outs) if u else o for o, u in zip(outs, out_unknown)]
    primal_out = outs[:n_out]
    t_iter = iter(outs[n_out:])
    tangent_out = [next(t_iter) if nz else Zero(tangent_aval(a)) for a, nz in zip(jaxpr.out_avals, out_nz)]
    return primal_out, tangent_out


def _jit_transpose(cts, *args, jaxpr, name):
    linear = [is_undefined(a) for a in args]
    cts = zero_cotangents(cts, jaxpr.out_avals)
    t_closed = _per_jaxpr(transpose_jaxpr, jaxpr, tuple(linear))
    outs = iter(jit_p.bind(*[a for a, l in zip(args, linear) if not l], *cts, jaxpr=t_closed, name=f"transpose_{name}"))
    return [next(outs) if l else None for l in linear]


def _jit_batch(vals, dims, jaxpr, name, axis_size):
    vals = [v if d is None else move_bdim(v, d, 0, axis_size) for v, d in zip(vals, dims)]
    batched = batch_jaxpr(jaxpr, tuple(d is not None for d in dims), axis_size, True)[0]
    return jit_p.bind(*vals, jaxpr=batched, name=f"vmap_{name}"), [0] * len(jaxpr.out_avals)


jit_p.jvp = _jit_jvp
jit_p.transpose = _jit_transpose
jit_p.batch = _jit_batch
jit_p.batch_needs_size = True


# ----------------------------------------------------------------------------------------------
# The user-facing wrapper


_CHAINED_SIGNATURES = 8  # signatures a jitted function's __call__ runs natively before Python dispatch
_SCALAR_TYPES = (float, int, bool, complex)
_ARRAY_TYPES = (np.ndarray, Array)  # what native entries take as they are
_LEAF_TYPES = frozenset([*_ARRAY_TYPES, *_SCALAR_TYPES])


def _as_inputs(flat, avals):
    """The leaves as the executable's inputs: arrays of the traced dtypes, taken as they are."""
    return [
        x if type(x) in _ARRAY_TYPES and x.dtype == a.dtype else np.asarray(x, a.dtype) for x, a in zip(flat, avals)
    ]


def _taken_natively(x, aval):
    """Whether native entries compiled for `aval` take argument `x` as it is (fnad_compiler.pyentry):
    arrays of its dtype, Python scalars (traced weakly typed) and NumPy scalars of its dtype."""
    t = type(x)
    if t in _ARRAY_TYPES or (isinstance(x, np.generic) and t is np.dtype(aval.dtype).type):
        return x.dtype == aval.dtype
    return t in _SCALAR_TYPES


@functools.cache
def _positional_tree(n):
    """The pytree of (args, kwargs) for n positional leaves and no kwargs."""
    return tree_flatten((tuple(range(n)), {}))[1]


def _argument_path(in_tree, flat, i):
    """Leaf i of the (dynamic args, kwargs) pytree as the user wrote it: `argument 1['w']`."""
    path = tree_flatten_with_path(in_tree.unflatten(flat))[0][i][0]
    head, rest = path[1], keystr(path[2:])
    return f"argument {head.idx}{rest}" if path[0].idx == 0 else f"argument {head.key!r}{rest}"


def _signature(x):
    t = type(x)
    if t is np.ndarray or t is Array:
        return (x.shape, x.dtype)
    if t in _SCALAR_TYPES:
        return t
    return get_aval(x)


def _result_form(tree):
    """How a native entry returns outputs of pytree `tree` (None: it cannot)."""
    n = tree.num_leaves
    if n == 1 and tree.num_nodes == 1:
        return "single"
    for container in (tuple, list):
        if tree == tree_structure(container(range(n))):
            return container.__name__
    return None


_I64 = np.iinfo(np.int64)


class _IntRangeCheck:
    """Python int arguments are staged as weakly typed int64 scalars, which the program converts to
    the dtype of the array they are combined with (NEP 50). Where that dtype cannot hold every int64
    (int8 ... int32, unsigned), NumPy raises OverflowError for a value outside it, but the compiled
    conversion would wrap silently. So before each call the values narrowed are checked here: the
    Python ints themselves, or what the program computes from them alone (evaluated eagerly),
    also where a control-flow body narrows them (through its loop-invariant operands)."""

    __slots__ = ("direct", "dtypes", "jaxpr", "name", "positions")

    def __init__(self, name, positions, jaxpr, dtypes):
        self.name, self.positions, self.jaxpr, self.dtypes = name, positions, jaxpr, dtypes
        self.direct = all(v in jaxpr.invars for v in jaxpr.outvars)  # the Python ints themselves

    @staticmethod
    def build(name, closed, flat):
        """The check for an entry traced with `flat` arguments, or None when nothing is narrowed."""
        positions = [i for i, x in enumerate(flat) if type(x) is int]
        if not positions:
            return None
        jaxpr = prepare_for_compile(closed).jaxpr
        eqns, checked, dtypes = [], [], []

        def collect(jaxpr, known, nested=False):
            """Copy into `eqns` what `jaxpr` computes from the Python ints alone; `known` maps its
            Vars so computed to the check program's. Sub-IRs are visited through the operands
            they see unchanged on every run (nesting depth, not program length, bounds this);
            their invars do not keep the weak type their operands had, hence `nested`."""
            for e in jaxpr.eqns:
                if e.primitive is convert_element_type_p and e.invars[0] in known:
                    a, dtype = e.invars[0].aval, np.dtype(e.params["new_dtype"])
                    if (a.weak_type or nested) and a.dtype.kind == "i" and dtype.kind in "iu" and dtype != np.int64:
                        checked.append(known[e.invars[0]])
                        dtypes.append(dtype)
                if any(isinstance(v, (Jaxpr, ClosedJaxpr)) for v in _flat_params(e.params)):
                    for sub, pairs in _invariant_operands(e):
                        collect(
                            sub,
                            {inner: known[outer] for outer, inner in pairs if type(outer) is Var and outer in known},
                            nested=True,
                        )
                elif e.invars and not e.primitive.effectful and all(type(v) is not Var or v in known for v in e.invars):
                    outs = [Var(v.aval) for v in e.outvars]
                    eqns.append(e.replace(invars=[known[v] if type(v) is Var else v for v in e.invars], outvars=outs))
                    known.update(zip(e.outvars, outs))

        ints = [jaxpr.invars[i] for i in positions]
        collect(jaxpr, {v: v for v in ints})
        if not checked:
            return None
        program = dce(Jaxpr([], ints, eqns, checked))
        return _IntRangeCheck(name, positions, program, dtypes)

    def __call__(self, flat):
        ints = [flat[i] for i in self.positions]
        values = (
            [ints[self.jaxpr.invars.index(v)] for v in self.jaxpr.outvars]
            if self.direct
            else eval_jaxpr(self.jaxpr, [], *[np.int64(x) for x in ints])
        )
        for value, var, dtype in zip(values, self.jaxpr.outvars, self.dtypes):
            info = np.iinfo(dtype)
            if not info.min <= int(value) <= info.max:
                what = (
                    f"Python integer {int(value)} (argument {self.positions[self.jaxpr.invars.index(var)]})"
                    if var in self.jaxpr.invars
                    else f"The integer {int(value)}, computed from Python integer arguments,"
                )
                raise OverflowError(
                    f"jit({self.name}): {what} is out of bounds for {dtype.name}, the dtype of "
                    "the array it is combined with (NumPy raises here too; compiled code would "
                    f"wrap it). Pass an array of a wider dtype, or convert explicitly."
                )


def _flat_params(params):
    for v in params.values():
        yield from v if isinstance(v, (tuple, list)) else (v,)


def _invariant_operands(e):
    """(sub-jaxpr, [(operand, its invar)]) for the operands a control-flow equation passes to a
    body unchanged on every run: a cond's operands, a while's and a scan's consts."""
    p, name = e.params, e.primitive.name
    if name == "cond":
        return [(b.jaxpr, list(zip(e.invars[1:], b.jaxpr.invars))) for b in p["branches"]]
    if name == "while":
        nc, nb = p["cond_nconsts"], p["body_nconsts"]
        return [
            (p["cond_jaxpr"].jaxpr, list(zip(e.invars[:nc], p["cond_jaxpr"].jaxpr.invars))),
            (p["body_jaxpr"].jaxpr, list(zip(e.invars[nc : nc + nb], p["body_jaxpr"].jaxpr.invars))),
        ]
    if name == "scan":
        body = p["jaxpr"].jaxpr
        return [(body, list(zip(e.invars[: p["num_consts"]], body.invars)))]
    return []


class _Entry:
    __slots__ = ("closed", "donated", "exe", "fast", "form", "in_avals", "int_check", "unflatten")

    def __init__(self, closed, out_tree, in_avals, int_check=None):
        self.closed, self.in_avals, self.exe, self.int_check, self.fast = closed, in_avals, None, int_check, None
        self.donated = None  # with donated arguments: input -> output pairs (`JitFunction._call_donating`)
        self.form = _result_form(out_tree)
        self.unflatten = operator.itemgetter(0) if self.form == "single" else out_tree.unflatten


class JitFunction:
    """The callable `jit(fun)` returns. `.lower(*args)` gives the compiled artefact for inspection.

    Calls with positional NumPy arrays or fnad.Arrays (the results, immutable Arrays, are allocated by
    native code) of a signature seen before run through the native entry of
    that signature's executable (`fnad_compiler.pyentry`), which checks the arrays and returns the
    result itself. The instance's own subclass has a chain of such entries (the last signatures
    compiled) as its `__call__`, so those calls reach native code without a Python frame. Entries
    refuse calls (to the Python dispatch, `JitFunction.__call__`) while `jit_blocked` says a
    staging trace is active in some thread or jit is disabled; the calling thread's own trace state
    then decides (a thread that is not staging still runs the native code). Jitted functions may be
    called, and compiled, from several threads at once."""

    def __init__(
        self, fun, static_argnums=(), static_argnames=(), cache_size=4096, donate_argnums=(), donate_argnames=()
    ):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.static_argnums = as_tuple(static_argnums)
        self.static_argnames = as_tuple(static_argnames)
        self.donate_argnums, self.donate_argnames = as_tuple(donate_argnums), as_tuple(donate_argnames)
        try:
            params = inspect.signature(fun).parameters
        except (TypeError, ValueError):
            params = None
        if self.donate_argnames and params is not None:
            named = tuple(list(params).index(n) for n in self.donate_argnames if n in params)
            self.donate_argnums = tuple(sorted(set(self.donate_argnums) | set(named)))
        if set(self.donate_argnums) & set(self.static_argnums) or set(self.donate_argnames) & set(self.static_argnames):
            raise ValueError(
                f"jit({getattr(fun, '__name__', fun)!r}): an argument cannot be both static and donated "
                f"(static_argnums={self.static_argnums}, donate_argnums={self.donate_argnums})"
            )
        if self.static_argnames and params is not None:
            takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
            unknown = [n for n in self.static_argnames if n not in params]
            if unknown and not takes_any:
                raise ValueError(
                    f"jit: static_argnames {unknown} are not parameters of {getattr(fun, '__name__', fun)!r} "
                    f"(its parameters: {list(params)})"
                )
            if not self.static_argnums:
                self.static_argnums = tuple(list(params).index(n) for n in self.static_argnames if n in params)
        self._cache: OrderedDict = OrderedDict()
        self._fast: dict = {}  # (shape, dtype) per positional array -> callable giving the result
        self._cache_size = cache_size
        self._name = getattr(fun, "__name__", "fun")

    def __get__(self, obj, objtype=None):
        """As a method, the jitted function binds `self` (its first argument), as jax.jit does."""
        if obj is None:
            return self
        return functools.partial(self, obj)

    def _split(self, args, kwargs):
        static = []
        if self.static_argnums:
            dyn = []
            for i, a in enumerate(args):
                (static if i in self.static_argnums or i - len(args) in self.static_argnums else dyn).append(a)
            args = tuple(dyn)
        if kwargs and self.static_argnames:
            static.extend((k, kwargs[k]) for k in sorted(kwargs) if k in self.static_argnames)
            kwargs = {k: v for k, v in kwargs.items() if k not in self.static_argnames}
        try:
            static = tuple(static)
            hash(static)
        except TypeError:
            raise TypeError(
                f"jit: static arguments must be hashable (they key the compilation cache), got "
                f"{static!r}. Pass arrays as dynamic arguments or convert lists to tuples."
            ) from None
        return args, kwargs, static

    def _entry(self, args, kwargs):
        if not kwargs and not self.static_argnums and all(type(a) in _LEAF_TYPES for a in args):
            flat, in_tree, static = list(args), _positional_tree(len(args)), ()
        else:
            dyn_args, dyn_kwargs, static = self._split(args, kwargs)
            flat, in_tree = tree_flatten((dyn_args, dyn_kwargs))
        try:
            key = (in_tree, static, tuple(map(_signature, flat)), core.axis_env_signature())
        except TypeError:
            self._check_leaves(flat, len(flat) == len(args) and not kwargs, in_tree)
            raise
        entry = self._cache.get(key)
        if entry is None:
            entry = self._trace(args, kwargs, flat, in_tree)
            with _CACHE_LOCK:  # a thread that traced the same signature meanwhile wins: one entry
                winner = self._cache.setdefault(key, entry)
                oldest = next(iter(self._cache)) if len(self._cache) > self._cache_size else None
            if winner is entry:
                if oldest is not None:
                    self._forget(oldest)
                _remember((_SIGNATURE, id(entry)), (weakref.ref(self), key))
            entry = winner
        else:
            _touch((_SIGNATURE, id(entry)))
        return entry, flat

    def _check_leaves(self, flat, positional, in_tree=None):
        """Name the argument (its position, or its leaf's among all, or with `in_tree` its path) of
        an input jit refuses: a masked array, or a value that is not an array (a string, an
        arbitrary object)."""

        def where(i):
            if in_tree is not None:
                return f"jit({self._name}): {_argument_path(in_tree, flat, i)}"
            return f"jit({self._name}): {'argument' if positional else 'input leaf'} {i}"

        for i, x in enumerate(flat):
            if is_masked_array(x):
                raise masked_array_error(x, where(i))
            if isinstance(x, (np.ndarray, np.generic, Tracer)):
                continue  # an array of an unsupported dtype gets the compiler's message
            try:
                kind = get_aval(x).dtype.kind
            except TypeError:
                kind = None
            if kind is None or kind not in "biufc":
                raise TypeError(
                    f"{where(i)} is of type {type(x).__name__} ({x!r:.40}), which is not an array: jit traces "
                    f"arguments as arrays. Mark it static (static_argnums / static_argnames) or pass an array."
                )

    def _forget(self, key):
        """Drop traced signature `key` (evicted from an LRU) with everything that runs its code:
        its fast path and this instance's native chain, which later compiles start again."""
        with _CACHE_LOCK:
            entry = self._cache.pop(key, None)
            if entry is None:
                return
            _forget_entry(entry)
            if entry.fast is not None:
                self._fast.pop(entry.fast, None)
                cls = type(self)
                if cls.__dict__.get("_direct_for") is self and "__call__" in cls.__dict__:
                    del cls.__call__

    def _trace(self, args, kwargs, flat, in_tree):
        static_pos = {i % len(args) for i in self.static_argnums if -len(args) <= i < len(args)}

        def fun(dyn_args, dyn_kwargs):
            return without_static(self.fun, args, {**kwargs, **dyn_kwargs}, static_pos)[0](*dyn_args)

        flat_fun, out_tree = flatten_fun(fun, in_tree)
        self._check_leaves(flat, len(flat) == len(args) and not kwargs, in_tree)
        in_avals = [get_aval(x) for x in flat]
        with timing.phase("trace"), gc_pause.paused():
            closed = trace_to_jaxpr(flat_fun, in_avals, f"jit({self._name})")
        return _Entry(closed, out_tree.val, in_avals, _IntRangeCheck.build(self._name, closed, flat))

    def __call__(self, /, *args, **kwargs):
        """The Python dispatch: a signature of positional arrays seen before goes to its fast
        callable (which itself refuses what it cannot run), everything else to `_call`."""
        if not kwargs:
            try:
                hit = self._fast.get(tuple([(a.shape, a.dtype) for a in args]))
            except AttributeError:
                hit = None
            if hit is not None:
                return hit(*args)
        return self._call(*args, **kwargs)

    def _call(self, /, *args, **kwargs):
        if config.disable_jit:
            return self.fun(*args, **kwargs)
        entry, flat = self._entry(args, kwargs)
        if entry.int_check is not None:
            entry.int_check(flat)
        if (
            core.is_staging()
            or any(isinstance(x, Tracer) for x in flat)
            or axis_names_of(entry.closed)  # to the vmap binding its collectives' axes
            or (
                runs_in_python(entry.closed)
                and (self.donate_argnums or self.donate_argnames or _native_program(entry.closed) is None)
            )
        ):  # to _jit_impl, which runs an IR holding a primitive that runs in Python op by op
            return entry.unflatten(jit_p.bind(*flat, jaxpr=entry.closed, name=self._name))
        exe = entry.exe
        if self.donate_argnums or self.donate_argnames:
            return self._call_donating(entry, args, kwargs, flat)
        if exe is None:
            exe = entry.exe = executable_for(_native_program(entry.closed) or entry.closed)
            if (
                not kwargs
                and not self.static_argnums
                and len(flat) == len(args)
                and entry.int_check is None
                and all(map(_taken_natively, args, entry.in_avals))
            ):
                self._add_fast(
                    tuple([type(a) if type(a) in _SCALAR_TYPES else (a.shape, a.dtype) for a in args]), exe, entry
                )
        flat = _as_inputs(flat, entry.in_avals)
        return entry.unflatten(list(map(as_array, exe(*flat))))

    def _call_donating(self, entry, args, kwargs, flat):
        """A call giving up the donated arguments' buffers: each donated leaf is paired with the first
        unpaired output of its shape and dtype, which the program may compute in the leaf's buffer
        (then the result is a view of it). Only fnad.Arrays whose memory nothing else holds are
        given up; other donated leaves (NumPy arrays, views) are copied first, so the caller's
        data never changes."""
        pairs = entry.donated
        if pairs is None:  # the same for every call of this signature (which fixes the pytrees)
            pairs = entry.donated = self._donation_pairs(entry, args, kwargs)
        flat = [
            np.array(x, dtype=a.dtype) if i in pairs and not _may_give_up(x, flat) else x
            for i, (x, a) in enumerate(zip(flat, entry.in_avals))
        ]
        exe = _per_jaxpr(_compile, entry.closed, tuple(pairs.items()))
        flat = _as_inputs(flat, entry.in_avals)
        outs = list(map(as_array, exe(*flat)))
        for k, i in exe.ties.items():  # in the donated Array's buffer: that Array is the result
            if type(flat[i]) is Array:
                outs[k] = flat[i]
        return entry.unflatten(outs)

    def _donation_pairs(self, entry, args, kwargs):
        """Flat input index -> output index, pairing donated leaves with outputs in order."""
        static_pos = {i % len(args) for i in self.static_argnums if -len(args) <= i < len(args)}
        donate = {i % len(args) for i in self.donate_argnums if -len(args) <= i < len(args)}
        marks = (
            tuple(tree_map(lambda _, d=i in donate: d, a) for i, a in enumerate(args) if i not in static_pos),
            {
                k: tree_map(lambda _, d=k in self.donate_argnames: d, v)
                for k, v in kwargs.items()
                if k not in self.static_argnames
            },
        )
        outs = [v.aval for v in entry.closed.jaxpr.outvars]
        pairs = {}
        for i, donated in enumerate(tree_flatten(marks)[0]):
            a = entry.in_avals[i]
            k = next(
                (k for k, o in enumerate(outs) if k not in pairs.values() and (o.shape, o.dtype) == (a.shape, a.dtype)),
                None,
            )
            if donated and k is not None:
                pairs[i] = k
        return pairs

    def _add_fast(self, signature, exe, entry):
        """Calls of `signature` (positional arrays) skip `_call` from now on: through native entries
        of `exe` when the result is one array or a flat tuple/list of them, else a closure. The
        native entry also heads the chain that is this instance's `__call__`: each entry of it
        passes a call it refuses to the next, the last to the Python dispatch. Threads that compiled
        the same signature at once add it once (and only one at a time rebuilds the chain)."""
        with _CACHE_LOCK:
            if signature in self._fast:
                return
            if (_SIGNATURE, id(entry)) not in _IN_MEMORY:
                return  # evicted while it compiled: a fast path would keep its code alive, uncounted
            entry.fast = signature
            if len(self._fast) >= self._cache_size:
                self._fast.clear()
            form = entry.form if exe.has_entry else None
            if form is None:
                unflatten, call = entry.unflatten, self._call

                def run(*args):
                    if not core.is_staging() and not config.disable_jit and all(type(a) in _ARRAY_TYPES for a in args):
                        return unflatten(list(map(as_array, exe(*args))))
                    return call(*args)

                self._fast[signature] = run
                return
            # While another thread stages, every guarded entry refuses; `unblocked` then still
            # runs native code (an unguarded entry) in the threads that are not staging.
            unguarded, call = exe.entry(self._call, form, None, self._name), self._call

            def unblocked(*args, **kwargs):
                if not core.is_staging() and not config.disable_jit:
                    return unguarded(*args, **kwargs)
                return call(*args, **kwargs)

            self._fast[signature] = exe.entry(unblocked, form, jit_blocked, self._name)
            cls = type(self)
            if cls.__dict__.get("_direct_for") is not self:  # this instance's own subclass
                base = cls.__base__ if "_direct_for" in cls.__dict__ else cls  # (not a copy's)
                cls = type(
                    base.__name__,
                    (base,),
                    {"__module__": base.__module__, "__qualname__": base.__qualname__, "_direct_for": self},
                )
                self.__class__ = cls
            chain = cls.__dict__.get("__call__")
            if chain is None or cls._chain_length >= _CHAINED_SIGNATURES:
                chain, cls._chain_length = super(cls, self).__call__, 0
            cls.__call__ = exe.entry(chain, form, jit_blocked, self._name)
            cls._chain_length += 1

    def lower(self, *args, **kwargs):
        """The staged computation for these arguments (traced and cached as a call would), as a
        `Lowered`: its `.jaxpr` is the IR, `.as_text()` the LLVM IR, `.compile()` the native code.

        >>> import numpy as np, fnad, fnad.numpy as fnp
        >>> lowered = fnad.jit(lambda x: fnp.sin(x) * 2.0).lower(np.ones(3))
        >>> lowered.jaxpr
        { lambda ; a:f64[3]. let
            b:f64[3] = sin a
            c:f64[3] = mul b 2.0:f64[]
          in (c,) }
        >>> lowered.compile()(np.zeros(3))           # the flat list of outputs
        [Array([0., 0., 0.], dtype=float64)]
        """
        entry, _ = self._entry(args, kwargs)
        return Lowered(entry.closed)

    def clear_cache(self):
        with _CACHE_LOCK:
            for entry in self._cache.values():
                _forget_entry(entry)
            self._cache.clear()
            self._fast.clear()
            cls = type(self)
            if cls.__dict__.get("_direct_for") is self and "__call__" in cls.__dict__:
                del cls.__call__


class Lowered:
    """A staged computation: `.as_text()` is the LLVM IR, `.compile().as_text()` the assembly."""

    def __init__(self, closed):
        self.closed = closed
        self.jaxpr = closed

    def as_text(self):
        """The LLVM IR (text) that `fnad_compiler/` generated for this computation.

        >>> import numpy as np, fnad
        >>> text = fnad.jit(lambda x: x * 2.0).lower(np.ones(3)).as_text()
        >>> print(text)
        ; ModuleID = ...
        define ...
        """
        return executable_for(self.closed).llvm_ir

    def compile(self):
        return Compiled(executable_for(self.closed))


class Compiled:
    def __init__(self, exe):
        self.exe = exe

    def as_text(self):
        """The native assembly of the compiled computation.

        >>> import numpy as np, fnad
        >>> asm = fnad.jit(lambda x: x * 2.0).lower(np.ones(3)).compile().as_text()
        >>> isinstance(asm, str) and len(asm) > 0
        True
        """
        return self.exe.asm()

    def __call__(self, *args):
        return self.exe(*args)


def jit(fun=None, *, static_argnums=(), static_argnames=(), donate_argnums=(), donate_argnames=()):
    """Compile `fun` to native code (LLVM via `fnad_compiler/`) and return a callable with its signature.

    The first call with a given signature (argument pytree structure, shapes, dtypes, weak types, and
    the values of static arguments) traces `fun` to IR and compiles it; later calls with the same
    signature run the cached native code. Python side effects therefore run only while tracing, and
    Python control flow on argument values raises ConcretizationError: use `lax.cond` /
    `lax.while_loop`, or mark the argument static with `static_argnums` / `static_argnames`
    (static values must be hashable). Usable as `@jit` or `@jit(static_argnums=...)`; composes
    with grad, vmap and the other transforms, whose results stay compiled.
    `.lower(*args).as_text()` shows the LLVM IR. `fnad.config.disable_jit` runs `fun` eagerly.
    `donate_argnums` / `donate_argnames`: arguments whose buffers the caller gives up, as in JAX: an
    output of the same shape and dtype may be computed in one (an update `x.at[i].set(v)` then
    copies nothing) and is returned as a view of it, so a donated array must not be used again
    (fnad.Arrays only; NumPy arrays are copied first and stay as they were).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> @fnad.jit
    ... def f(x, y):
    ...     return fnp.sum(fnp.tanh(x) * y)
    >>> f(np.zeros(3), np.ones(3))
    Array(0., dtype=float64)
    >>> fnad.grad(f)(np.zeros(3), np.ones(3))
    Array([1., 1., 1.], dtype=float64)
    >>> power = fnad.jit(lambda x, n: x ** n, static_argnums=1)   # one compilation per n
    >>> power(np.array([1.0, 2.0]), 3)
    Array([1., 8.], dtype=float64)
    """
    if fun is None:
        return lambda f: jit(
            f,
            static_argnums=static_argnums,
            static_argnames=static_argnames,
            donate_argnums=donate_argnums,
            donate_argnames=donate_argnames,
        )
    # Wrapping the same function with the same options again gives the same JitFunction, so its
    # traces and compiled code are reused (jax.jit shares its cache likewise).
    options = tuple(map(as_tuple, (static_argnums, static_argnames, donate_argnums, donate_argnames)))
    key = (id(fun), *options)
    with _CACHE_LOCK:
        jitted = _JITTED.get(key)
        if jitted is None or jitted.fun is not fun:
            jitted = _JITTED[key] = JitFunction(
                fun, static_argnums, static_argnames, donate_argnums=donate_argnums, donate_argnames=donate_argnames
            )
        # The last few stay alive however they are used: `jit(f)(x)` in a loop drops its wrapper at
        # once (or at the next cyclic collection), and would otherwise trace f at every call.
        _RECENT.pop(key, None)
        _RECENT[key] = jitted
        if len(_RECENT) > _RECENT_SIZE:
            del _RECENT[next(iter(_RECENT))]
    return jitted


def clear_caches():
    """Forget every jitted function's traces and the executables they hold in memory, as
    `jax.clear_caches()`: each function traces again at its next call (its code comes back from the
    disk cache, which is kept: it is keyed by the program's text)."""
    with _CACHE_LOCK:
        jitted = list(_JITTED.values())
    for f in jitted:
        f.clear_cache()
    with _CACHE_LOCK:
        _IN_MEMORY.clear()


# JitFunctions by (id of the function, options); weak, so a JitFunction no longer used goes (and
# with it the strong reference to its function that keeps the id from being reused meanwhile).
_JITTED = weakref.WeakValueDictionary()
_RECENT = {}  # the most recently wrapped JitFunctions, oldest first (see `jit`)
_RECENT_SIZE = 64
