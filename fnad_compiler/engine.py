"""Native code generation: the host target machine, the optimisation pipeline, object/assembly
emission and loading object code into the process (`fnad_compiler.elf`, else ORC LLJIT with JITLink).

IR-agnostic: everything here takes LLVM IR (text or an `llvmlite.ir.Module`) or object bytes.
Loaded code lives exactly as long as the `NativeLibrary` that owns it.

LLVM itself (llvmlite.binding and its library) is loaded on first use: a process whose code all
comes from the disk cache loads it with `fnad_compiler.elf` and never needs LLVM (see `host_id`),
nor llvmlite.ir.

Why LLJIT + JITLink (for objects `fnad_compiler.elf` does not handle): loading a small object takes ~0.15 ms, against ~1.4 ms for one MCJIT engine
per object (MCJIT owns its target machine, so each needs a new one), and unloading frees the code.
Known upstream costs (llvmlite 0.50, not fixable from Python): each `optimize` leaks 60-80 KB (the
pass builder's instrumentation callbacks are never freed) and each load ~9 KB of ORC bookkeeping
(JITDylibs are never removed); RuntimeDyld, LLJIT's other linker, also leaks the code itself.
"""

import atexit
import collections
import contextlib
import ctypes
import functools
import importlib
import itertools
import os
import re
import threading
import weakref

import llvmlite

from fnad import timing
from fnad_compiler import elf

__all__ = [
    "RELEASE",
    "CompileError",
    "NativeLibrary",
    "codegen_level_for",
    "compile",
    "compile_in_this_thread",
    "compile_object",
    "compile_objects",
    "emit_assembly",
    "emit_object",
    "host_fingerprint",
    "host_id",
    "llvm_loaded",
    "load_library",
    "load_object",
    "optimize",
    "parse",
    "quick_code_is_vectorised",
    "register_symbol",
    "registered_symbols",
    "resolve_ahead",
    "sums_with_reassociation",
    "target_machine",
]

# Serialises all compilation and linking. Re-entrant so helpers can nest.
_LOCK = threading.RLock()
_SYMBOLS = {}  # name -> address or zero-argument callable returning one (resolved on first use)
_LIBRARY_IDS = itertools.count()
_PERMANENT_LIBRARIES = []  # paths given to `load_library`, loaded into LLVM when it is loaded
# Importing these makes every symbol generated code may call resolvable (OpenBLAS, parallel runtime,
# Python and NumPy C API), so that code from the disk cache loads even where nothing built IR.
_RUNTIME_PROVIDERS = (
    "fnad_compiler.blas",
    "fnad_compiler.buffers",
    "fnad_compiler.callbacks",
    "fnad_compiler.mpi",
    "fnad_compiler.parallel",
    "fnad_compiler.pyentry",
    "fnad_compiler.scratch",
    "fnad_compiler.tiers",
)
# Providers imported only when loaded code references one of their symbols (a pattern in the object's
# bytes): importing them costs a warm start more than the search.
_ON_DEMAND_PROVIDERS = ((re.compile(rb"fnad\.vm\.(?:sin|cos|tan)\.huge\."), "fnad_compiler.huge_trig"),)
RELEASE = "fnad_release"  # exported by libraries that keep memory between calls (see NativeLibrary)


class CompileError(RuntimeError):
    """LLVM rejected a module or object (invalid IR, unresolved symbol, ...)."""


_BINDING = None


def _llvm():
    """llvmlite.binding, imported (with LLVM's library) on first use, with `_OwnContextLock` in
    place and the libraries given to `load_library` loaded."""
    global _BINDING
    if _BINDING is None:
        with _LOCK:
            if _BINDING is None:
                import llvmlite.binding as llvm

                # Only over the lock class this was written against: another llvmlite keeps its own
                # (compiles then run one at a time, still correctly).
                if type(llvm.ffi.lib._lock) is llvm.ffi._LLVMLock:
                    llvm.ffi.lib._lock.__class__ = _own_context_lock(llvm.ffi._LLVMLock)
                for path in _PERMANENT_LIBRARIES:
                    llvm.load_library_permanently(path)
                _BINDING = llvm
    return _BINDING


def llvm_loaded():
    """Whether this process has loaded LLVM (see `_llvm`)."""
    return _BINDING is not None


def load_library(path):
    """Make the symbols of the shared library at `path` (already loaded RTLD_GLOBAL, e.g. with
    ctypes) resolvable for object code loaded by LLVM too, now or when LLVM is loaded."""
    with _LOCK:
        _PERMANENT_LIBRARIES.append(path)
        if _BINDING is not None:
            _BINDING.load_library_permanently(path)


@functools.cache
def target_machine(codegen_level=3):
    """The process-wide target machine for the host CPU (all its features, e.g. AVX-512), at code
    generation level `codegen_level` (0: fast instruction selection and register allocation).

    Position-independent, small code model: JITLink places a whole object in one slab, so
    rip-relative references stay in range and far external calls go through its PLT stubs.
    """
    return _new_target_machine(codegen_level)


def _new_target_machine(codegen_level=3):
    llvm = _llvm()
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    target = llvm.Target.from_triple(llvm.get_process_triple())
    return target.create_target_machine(
        cpu=llvm.get_host_cpu_name(),
        features=llvm.get_host_cpu_features().flatten(),
        opt=codegen_level,
        reloc="pic",
        codemodel="small",
    )


@functools.cache
def host_id():
    """Everything that makes object code specific to this host and toolchain (for cache keys).
    Loads LLVM; `fnad_compiler.cache` remembers it by `host_fingerprint()` so that warm processes
    need not."""
    target_machine()
    llvm = _llvm()
    return (
        f"llvmlite={llvmlite.__version__} llvm={'.'.join(map(str, llvm.llvm_version_info))} "
        f"triple={llvm.get_process_triple()} cpu={llvm.get_host_cpu_name()} "
        f"features={llvm.get_host_cpu_features().flatten()}"
    )


@functools.cache
def host_fingerprint():
    """What decides `host_id()`, read without loading LLVM: the OS and machine, llvmlite's version
    and the identity of its LLVM library file (path, size, modification time, inode: another build
    is another file), and the CPUID words and XCR0 LLVM reads to name the CPU and its features
    (`elf.cpu_signature`: as this process sees them, so also under an emulator). None where these
    cannot be read without LLVM: then only `host_id()` will do."""
    try:
        cpu = elf.cpu_signature()
        binding = os.path.join(os.path.dirname(llvmlite.__file__), "binding")
        library = next(os.path.join(binding, n) for n in sorted(os.listdir(binding)) if n.startswith("libllvmlite"))
        st = os.stat(library)
    except (elf.Unsupported, OSError, StopIteration):
        return None
    uname = os.uname()
    return f"{uname.sysname} {uname.machine} llvmlite={llvmlite.__version__} {library} {st.st_size} {st.st_mtime_ns} {st.st_ino} cpu={cpu}"


@functools.cache
def _jit():
    return _llvm().create_lljit_compiler(target_machine(), use_jit_link=True)


def parse(module):
    """Parse and verify LLVM IR (text or `llvmlite.ir.Module`) into a ModuleRef set up for the host."""
    from llvmlite import ir  # here: a process whose code all comes from the disk cache builds no IR

    if isinstance(module, ir.Module):
        module = str(module)
    if not isinstance(module, str):
        raise TypeError(f"expected LLVM IR text or llvmlite.ir.Module, got {type(module).__name__}")
    with _LOCK, timing.phase("parse"):
        return _parse_for(module, None, target_machine())


def _parse_for(text, context, tm):
    """`text` parsed in LLVM `context` (None: the global one) and verified, set up for `tm`."""
    try:
        ref = _llvm().parse_assembly(text, context=context)
        ref.verify()
    except RuntimeError as e:
        raise CompileError(f"invalid LLVM IR: {e}") from None
    ref.triple = tm.triple
    ref.data_layout = str(tm.target_data)
    return ref


def optimize(module_ref, speed_level=3, unroll=True):
    """Run the O`speed_level` pipeline over `module_ref` in place; returns it. Levels 2 and 3 have
    loop and SLP vectorisation on. Level 0 skips optimisation (for small runtime code that is
    compiled once, and the quick code of units of little work: `fnad_compiler.tiers`). Level 1 is the quick tier of `fnad_compiler.tiers`, with code generated by fast
    instruction selection (see `codegen_level_for`):
    - a module calling vector math or reducing with reassociation or in lanes (`_VECTORISED_QUICK`)
      is vectorised, without which its math ran unoptimised and scalar (88 ns more per element on
      tanh*exp) and its sums were sequential or in lanes in memory, but not unrolled, interleaved
      or SLP-vectorised.
      Unrolling cost 41% of these units' compile time (the 27 of GMM small, chain-grad 10 and hand
      small: 518 -> 305 ms of CPU), for small fixed inner loops up to 3x as slow in code that runs
      at most `tiers.PROMOTE_AFTER` times before it is replaced;
    - any other module is not optimised: LLVM's O1 spent 6-20 ms even on a unit of one strided
      copy. The code is 2.5-8x as slow (arithmetic: 1.2-1.8 ns more per element).
    On the units of GMM's gradient, the hand-tracking Jacobian and a chain of 10 ops, level 1 took
    1.4-2.4x less CPU than O1 with vectorisation for all.
    `unroll=False` leaves loops rolled (for glue; see `fnad_compiler.lower.Program.unroll`)."""
    with _LOCK, timing.phase("optimize"):
        return _run_pipeline(target_machine(), module_ref, speed_level, unroll)


# What makes quick code vectorised: `vecmath`'s and `specmath`'s functions, and the reductions of
# `fnad_compiler.lower` that reassociate or add in lanes (`LANES`, the name of their lanes' array).
_VECTOR_MATH = ("fnad.vm.", "fnad.sf.")
_REASSOCIATING_SUM = " reassoc "
LANES = "lanes"
_VECTORISED_QUICK = (*_VECTOR_MATH, _REASSOCIATING_SUM, f'%"{LANES}"')


def quick_code_is_vectorised(text):
    """Whether the quick tier (level 1 of `optimize`) vectorises the module of LLVM IR `text`."""
    return any(mark in text for mark in _VECTORISED_QUICK)


def calls_vector_math(text):
    """Whether the module of LLVM IR `text` calls `vecmath`'s or `specmath`'s functions."""
    return any(mark in text for mark in _VECTOR_MATH)


def sums_with_reassociation(text):
    """Whether the module of LLVM IR `text` has sums whose blocks may be reassociated (so that
    vectorised, they add partial sums, as full code does: unvectorised, they add sequentially,
    rounding differently and less accurately)."""
    return _REASSOCIATING_SUM in text


def _run_pipeline(tm, module_ref, speed_level, unroll=True, text=None):
    """`optimize`, given `module_ref`'s `text` if known."""
    if speed_level == 1 and not quick_code_is_vectorised(text or str(module_ref)):
        speed_level = 0  # quick code that need not be vectorised: not optimised (see `optimize`)
    llvm = _llvm()
    pto = llvm.create_pipeline_tuning_options(speed_level=speed_level)
    pto.loop_vectorization = True
    pto.slp_vectorization = speed_level >= 2
    pto.loop_unrolling = unroll and speed_level != 1
    if speed_level == 1:
        pto.loop_interleaving = False
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(module_ref, pb)
    return module_ref


def emit_object(module_ref, codegen_level=3):
    """Object code (ELF bytes) for an already optimised module."""
    with _LOCK, timing.phase("codegen"):
        return target_machine(codegen_level).emit_object(module_ref)


def emit_assembly(module_ref):
    """Assembly text for an already optimised module (for inspection and tests)."""
    with _LOCK:
        return target_machine().emit_assembly(module_ref)


def compile_object(module, speed_level=3, codegen_level=3, unroll=True):
    """Parse, verify, optimise (see `optimize`) and emit LLVM IR (text or `llvmlite.ir.Module`) to
    object bytes (see `target_machine` for `codegen_level`)."""
    with _LOCK:
        return emit_object(optimize(parse(module), speed_level, unroll), codegen_level)


# Each compile thread owns an LLVM context and a target machine: LLVM compiles modules of distinct
# contexts concurrently, and llvmlite's calls release the GIL while they run. But llvmlite also
# takes one process-wide lock around every call into LLVM, which would run the threads one at a
# time (measured: two threads took 2x the CPU of one, and longer), so a thread compiling only in
# its own context skips that lock (`_OwnContextLock`); every other call still takes it.
_THREAD_TOOLS = threading.local()


def _own_context_lock(llvm_lock):
    """The subclass of llvmlite's lock class `llvm_lock` that a thread does not take while
    `_THREAD_TOOLS.own_context` is set (installed by `_llvm`)."""

    class _OwnContextLock(llvm_lock):
        def __enter__(self):
            if not getattr(_THREAD_TOOLS, "own_context", False):
                super().__enter__()

        def __exit__(self, *exc_details):
            if not getattr(_THREAD_TOOLS, "own_context", False):
                super().__exit__(*exc_details)

    return _OwnContextLock


def codegen_level_for(speed_level):
    """The code generation level of units optimised at `speed_level`: fast instruction selection
    for the quick tier (level 1) and unoptimised code (level 0), full otherwise."""
    return 0 if speed_level <= 1 else 3


def compile_in_this_thread(text, speed_level=3):
    """`compile_object` of LLVM IR text in this thread's own LLVM context and target machine, so
    that threads compile at once (see `_OwnContextLock`); code generation at
    `codegen_level_for(speed_level)`. Not timed (`compile_objects` is)."""
    tools = getattr(_THREAD_TOOLS, "tools", None)
    if tools is None:
        tools = _THREAD_TOOLS.tools = (_llvm().create_context(), {})
    context, machines = tools
    level = codegen_level_for(speed_level)
    if level not in machines:
        machines[level] = _new_target_machine(level)
    tm = machines[level]
    _THREAD_TOOLS.own_context = True
    try:
        module = _parse_for(text, context, tm)
        obj = tm.emit_object(_run_pipeline(tm, module, speed_level, text=text))
        module.close()  # in this context, so while the lock is skipped
        return obj
    finally:
        _THREAD_TOOLS.own_context = False


def compile_threads():
    """Threads `compile_objects` uses: $FNAD_COMPILE_THREADS, else the CPUs this process may run on."""
    value = os.environ.get("FNAD_COMPILE_THREADS", "")
    if value.strip():
        try:
            return max(1, int(value))
        except ValueError:
            raise ValueError(f"FNAD_COMPILE_THREADS must be a positive integer, got {value!r}") from None
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class _CompilePool:
    """Compile threads that live as long as the process, so each keeps its LLVM context and target
    machines (`compile_in_this_thread`). Written on `threading` alone: concurrent.futures' pool
    cost a process's first compile 8 ms of imports. A forked child starts a pool of its own (the
    parent's threads are not in it: its compiles used to wait for them forever), and the process
    exits only once the compiles in flight are done (LLVM's static state goes at exit)."""

    def __init__(self):
        self._jobs = collections.deque()
        self._ready = threading.Condition()
        self.threads = 0
        self._running = 0

    def grow(self, threads):
        while self.threads < threads:
            threading.Thread(target=self._work, name=f"fnad-compile-{self.threads}", daemon=True).start()
            self.threads += 1

    def _work(self):
        while True:
            with self._ready:
                while not self._jobs:
                    self._ready.wait()
                job = self._jobs.popleft()
                self._running += 1
            try:
                job()
            finally:
                with self._ready:
                    self._running -= 1
                    self._ready.notify_all()

    def drain(self):
        """Wait until no job is queued or running."""
        with self._ready:
            self._ready.wait_for(lambda: not self._jobs and not self._running)

    def map(self, fn, *arguments):
        """Start fn on each tuple of `arguments` now; returns a function that waits for the results
        and returns them in order (raising the first error)."""
        calls = list(zip(*arguments))
        results = [(False, RuntimeError("a compile thread stopped"))] * len(calls)
        finished = threading.Semaphore(0)

        def job(i, args):
            try:
                results[i] = (True, fn(*args))
            except Exception as e:  # noqa: BLE001 -- raised in the thread waiting for the results
                results[i] = (False, e)
            finally:
                finished.release()

        with self._ready:
            self._jobs.extend(functools.partial(job, i, args) for i, args in enumerate(calls))
            self._ready.notify(len(calls))

        def collect():
            for _ in calls:
                finished.acquire()
            for ok, value in results:
                if not ok:
                    raise value
            return [value for _, value in results]

        return collect


_POOL = _CompilePool()


def _new_pool_in_child():
    global _POOL
    _POOL = _CompilePool()


os.register_at_fork(after_in_child=_new_pool_in_child)
atexit.register(lambda: _POOL.drain())


def compile_objects(texts, speed_level=3, meanwhile=None):
    """`compile_in_this_thread` of many LLVM IR texts, in parallel on `compile_threads()` threads;
    returns the objects in order. `speed_level`: one for all, or a list of one per text.
    `meanwhile()`, if given, runs in the calling thread while the threads compile (so that the
    caller's own compile overlaps theirs)."""
    texts = [str(t) for t in texts]
    levels = [speed_level] * len(texts) if isinstance(speed_level, int) else list(speed_level)
    threads = min(compile_threads(), len(texts))
    if threads <= 1:
        if meanwhile is not None:
            meanwhile()
        with timing.phase("units"):
            return [compile_in_this_thread(t, level) for t, level in zip(texts, levels)]
    with _LOCK:
        target_machine()  # initialise LLVM's targets once, before threads use them
        _POOL.grow(threads)
    collect = _POOL.map(compile_in_this_thread, texts, levels)  # started now, collected below
    if meanwhile is not None:
        meanwhile()
    with timing.phase("units"):
        return collect()


def register_symbol(name, address):
    """Make `name` resolvable by generated code: `address` is an int, or a zero-argument callable
    returning one that is called (once) the first time a loaded object references `name`."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"symbol name must be a non-empty string, got {name!r}")
    if not (isinstance(address, int) or callable(address)):
        raise TypeError(f"address of {name!r} must be an int or a callable, got {address!r}")
    with _LOCK:
        _SYMBOLS[name] = address


def registered_symbols():
    """Names given to `register_symbol`: what generated code may call that lives in this process
    (fnad's runtimes, Python's and NumPy's C APIs), not in a system library."""
    with _LOCK:
        return frozenset(_SYMBOLS)


def _resolve(name):
    address = _SYMBOLS[name]
    if callable(address):
        address = _SYMBOLS[name] = int(address())
    return address


_DECLARED = re.compile(r'^declare [^@\n]*@"?([^"(\s]+)"?\(', re.MULTILINE)


def resolve_ahead(texts):
    """Resolve now the symbols given to `register_symbol` as callables (libraries compiled when
    first referenced: huge-argument trig, scratch, the parallel runtime...) that the LLVM IR `texts`
    declare, so that they are compiled here (e.g. while the compile threads work) rather than when
    the code is loaded."""
    with _LOCK:
        lazy = {name for name, address in _SYMBOLS.items() if callable(address)}
        declared = set()
        for text in texts:
            declared.update(_DECLARED.findall(text))
        for name in sorted(declared & lazy):
            with contextlib.suppress(Exception):  # declared need not mean referenced: loading says if it is
                _resolve(name)


def resolve_registered():
    """Resolve every symbol given to `register_symbol` so far (compiling the libraries behind those
    given as callables): see `fnad_compiler.prebuild`."""
    with _LOCK:
        for name in sorted(name for name, address in _SYMBOLS.items() if callable(address)):
            _resolve(name)


class NativeLibrary:
    """Code loaded from one object. Its memory is released when this object is garbage collected,
    so keep it referenced while any of its addresses (or functions made from them) may be used.
    If it exports `RELEASE` (a `void()` function), that runs first, to free what the code kept.
    `tracker` maps exported names to addresses: an `elf.MappedObject`, or LLVM's resource tracker of
    the code in `jit`, which must outlive it."""

    def __init__(self, tracker, names, dependencies=(), jit=None):
        self._jit = jit
        self._tracker = tracker
        self._dependencies = dependencies  # libraries whose code this one calls
        self.names = tuple(names)
        if RELEASE in self.names:
            # The finalizer holds the tracker, so the code is still loaded when it runs, even when
            # this object dies in a reference cycle (where finalisation order is arbitrary).
            weakref.finalize(self, _release, self._jit, tracker, tracker[RELEASE]).atexit = False

    def address(self, name):
        """Address of an exported symbol."""
        if name not in self.names:
            raise KeyError(f"{name!r} is not exported by this library (exports: {self.names})")
        return self._tracker[name]

    def function(self, name, restype, *argtypes):
        """A ctypes function for exported `name`; it keeps this library alive."""
        fn = ctypes.CFUNCTYPE(restype, *argtypes)(self.address(name))
        fn.library = self
        return fn

    def __repr__(self):
        return f"<NativeLibrary {self._tracker.name} exports={self.names}>"


def _release(jit, tracker, address):
    """Run a library's `RELEASE` function; the code is unloaded when `tracker` goes, after this."""
    ctypes.CFUNCTYPE(None)(address)()


def load_object(obj, exports, libraries=()):
    """Link object bytes into the process; returns a `NativeLibrary` exporting the names `exports`.

    Undefined symbols resolve against the exports of `libraries` (`NativeLibrary`s, which the new
    one keeps loaded as long as it is), symbols given to `register_symbol`, then the process (libc,
    libm, libpthread and every library loaded RTLD_GLOBAL, e.g. OpenBLAS by `fnad_compiler.blas`).
    Loaded by `fnad_compiler.elf` where it can, else by LLVM's JIT linker.
    """
    libraries = tuple(libraries)
    imports = {name: lib.address(name) for lib in libraries for name in lib.names}
    exports = [exports] if isinstance(exports, str) else list(exports)
    if not isinstance(obj, (bytes, bytearray)) or not obj:
        raise TypeError("expected non-empty object code bytes")
    if not exports or not all(isinstance(n, str) and n for n in exports):
        raise ValueError(f"exports must be non-empty symbol names, got {exports!r}")
    obj = bytes(obj)
    with _LOCK, timing.phase("load"):
        for provider in _RUNTIME_PROVIDERS:
            importlib.import_module(provider)
        for pattern, provider in _ON_DEMAND_PROVIDERS:
            if pattern.search(obj):
                importlib.import_module(provider)
        library_name = f"fnad{next(_LIBRARY_IDS)}"
        if elf.supported():
            try:
                mapped = elf.load(obj, library_name, lambda symbol: _lookup(symbol, imports))
                if all(e in mapped for e in exports):
                    return NativeLibrary(mapped, exports, libraries)
            except elf.Unsupported:
                pass  # LLVM loads it, or says why it cannot
        builder = _llvm().JITLibraryBuilder().add_object_img(obj).add_current_process()
        for name in _SYMBOLS.keys() - set(exports) - imports.keys():
            if name.encode() in obj:  # referenced by this object
                builder.import_symbol(name, _resolve(name))
        for name, address in imports.items():
            builder.import_symbol(name, address)
        for name in exports:
            builder.export_symbol(name)
        try:
            tracker = builder.link(_jit(), library_name)
        except RuntimeError as e:
            raise CompileError(f"cannot load object code: {e}") from None
    return NativeLibrary(tracker, exports, libraries, _jit())


def _lookup(name, imports):
    """Address of symbol `name` for an object loaded against `imports` (name -> address), in
    `load_object`'s order; None if it is nowhere."""
    if name in imports:
        return imports[name]
    if name in _SYMBOLS:
        return _resolve(name)
    return elf.process_symbol(name)


def compile(module, exports):
    """`compile_object` then `load_object`: LLVM IR to a loaded `NativeLibrary`."""
    return load_object(compile_object(module), exports)
