"""Ahead-of-time export: compiled jaxprs as a C shared library that runs without Python.

`build_library(functions, directory, library)` writes `DIRECTORY/libLIBRARY.so`, `DIRECTORY/LIBRARY.h`
and, when the code calls BLAS or LAPACK, a copy of OpenBLAS beside them (found through the rpath
`$ORIGIN`). Each `ExportedFunction` becomes

    int NAME(const T* in0, ..., T* out0, ...)     0 on success, else one of `ERRORS`

over C-contiguous buffers of the compiled shapes and dtypes (docs/export.md describes the ABI).

The code is the JIT's: the same lowering, the same units (their object code comes from, and goes
to, the same disk cache under the same keys), the same runtimes (the thread pool of
`fnad_compiler.parallel`, the scratch blocks of `fnad_compiler.scratch`, the blocked gemm of
`fnad_compiler.blas`) compiled into the library, and the host's CPU features. What differs is the
entry: instead of `fnad_compiler.pyentry` (Python's C API), each main module gets a C function
that fills `fnad_main`'s pointer tables, with the constants embedded as private globals. It first
takes the call's scratch block itself, so that a failed allocation is an error code rather than a
crash, and hands it to `fnad_main` through a thread-local (main's calls of the scratch runtime are
redefined in its own module to read it), so calls stay thread-safe and reentrant. A constructor
sets the thread count from `FNAD_NUM_THREADS` (else the CPUs the process may use). The system `cc`
links the objects; a version script exports only the C functions and `LIBRARY_set_num_threads` /
`LIBRARY_get_num_threads`, so two exported libraries in one program keep their runtimes apart, and
`-z nodelete` keeps the library loaded while the pool's worker threads may still run its code.
"""

from __future__ import annotations

import keyword
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import llvmlite.binding as llvm
import numpy as np
from llvmlite import ir

from fnad.ir import ClosedJaxpr, Jaxpr
from fnad_compiler import blas, cache, engine, parallel, scratch, vecmath
from fnad_compiler import lower as lowering
from fnad_compiler.llvm_ir import I32, I64, PTR, i32

__all__ = ["ERRORS", "PYTHON_ONLY_PRIMITIVES", "CLibrary", "ExportError", "ExportedFunction", "build_library"]

# Return codes of the exported functions (the header defines them as LIBRARY_OK, LIBRARY_ERROR_...).
ERRORS = {
    "OK": (0, "success"),
    "ERROR_NULL_POINTER": (1, "a pointer to a non-empty array is NULL; nothing was computed"),
    "ERROR_NO_MEMORY": (2, "the call's scratch memory could not be allocated; nothing was computed"),
    "ERROR_INVALID_ARGUMENT": (3, "LIBRARY_set_num_threads: the count is smaller than 1"),
}
_CODE = {name: code for name, (code, _) in ERRORS.items()}

_C_TYPES = {
    "float32": "float",
    "float64": "double",
    "bool": "bool",
    **{f"{s}int{b}": f"{s}int{b}_t" for s in ("", "u") for b in (8, 16, 32, 64)},
}
_C_KEYWORDS = frozenset(
    [
        "auto",
        "break",
        "case",
        "char",
        "const",
        "continue",
        "default",
        "do",
        "double",
        "else",
        "enum",
        "extern",
        "float",
        "for",
        "goto",
        "if",
        "inline",
        "int",
        "long",
        "register",
        "restrict",
        "return",
        "short",
        "signed",
        "sizeof",
        "static",
        "struct",
        "switch",
        "typedef",
        "union",
        "unsigned",
        "void",
        "volatile",
        "while",
        "bool",
        "true",
        "false",
        "main",
    ]
)
# The scratch runtime's functions under the names the entries call (main's own calls of the
# original names are redefined in its module, see `_hand_scratch_to_main`).
_TAKE, _GIVE = "fnad_export_scratch_take", "fnad_export_scratch_give"
_RUNTIME_SYMBOLS = frozenset({"fnad_parallel_for", "fnad_pool_forget", "fnad_scratch_release", _TAKE, _GIVE})
# Primitives that run Python when the program runs (JAX's names): refused by name, whatever their
# lowering calls (`_refuse_python` also refuses any call of what only a Python process defines).
PYTHON_ONLY_PRIMITIVES = frozenset({"pure_callback", "io_callback", "debug_callback", "callback"})
_DECLARED = re.compile(r'^declare[^@\n]*@"?([^"(\s]+)"?\(', re.MULTILINE)


class ExportError(RuntimeError):
    """A library cannot be written: a bad name or directory, no C compiler, a failed link, or code
    that needs Python at run time."""


@dataclass(frozen=True)
class ExportedFunction:
    """One C function: its `name`, the prepared ClosedJaxpr it runs (`fnad.passes.prepare_for_compile`),
    what each input and output is (`inputs`, `outputs`: text for the header, e.g. a pytree path),
    and a `title` line for the header (e.g. the Python function and its parameters)."""

    name: str
    closed: object
    inputs: tuple
    outputs: tuple
    title: str = ""


@dataclass(frozen=True)
class CLibrary:
    """What `build_library` wrote: the shared library, its header, the runtime libraries copied
    beside it, and the C declaration of each function."""

    path: Path
    header: Path
    runtime: tuple
    declarations: tuple


def build_library(functions, directory=".", library="fnad_export"):
    """Write `libLIBRARY.so`, `LIBRARY.h` and the runtime libraries they need into `directory`
    (created if missing) for the `ExportedFunction`s `functions`; returns a `CLibrary`."""
    functions = list(functions)
    if not sys.platform.startswith("linux"):
        raise ExportError(f"export writes ELF shared libraries for Linux; this is {sys.platform}")
    _check_names(functions, library)
    for f in functions:
        _refuse_python_primitives(f.name, f.closed.jaxpr)
    compiler = c_compiler()
    directory = _usable_directory(directory)
    entries = [_entry_module(f) for f in functions]
    units = {}
    for program, _, _ in entries:
        units.update(program.units)
    calls = set().union(*(_declared(text) for _, text, _ in entries), *(_declared(t) for t in units.values()))
    gemm = {letter: blas.gemm_ir(letter) for letter in "sd" if calls & set(blas.gemm_symbols(letter))}
    for _, text in gemm.values():
        calls |= _declared(text)
    huge_trig = vecmath.huge_trig_libraries(calls)
    defined = set(units).union(*(names for names, _ in gemm.values()), *(names for _, names in huge_trig))
    _refuse_python(functions, entries, units, defined)
    openblas = any(name.startswith("scipy_") for name in calls)

    version = cache.code_version()
    jobs = [(text, {"exports": [symbol], "unit": True}, 3, 3) for symbol, text in units.items()]
    jobs += [(text, {"export": f.name}, 3, 0 if p.glue_only else 3) for f, (p, text, _) in zip(functions, entries)]
    runtime = [
        scratch.RUNTIME_IR.replace("@fnad_scratch_take", f"@{_TAKE}").replace("@fnad_scratch_give", f"@{_GIVE}"),
        parallel.RUNTIME_IR,
        _init_ir(library, openblas),
        _slots_ir(units),
        *(text for _, text in gemm.values()),
        *(text for text, _ in huge_trig),
    ]
    jobs += [(text, {"export_runtime": True}, 0, 3) for text in runtime]
    objects = _objects(jobs, version)

    copied = (_copy_beside(blas.library_path(), directory),) if openblas else ()
    path = directory / f"lib{library}.so"
    exported = [f.name for f in functions] + [f"{library}_set_num_threads", f"{library}_get_num_threads"]
    _link(compiler, objects, path, exported, copied)
    declarations = tuple(_declaration(f) for f in functions)
    header = directory / f"{library}.h"
    _write_atomically(header, _header(library, functions, declarations, [s for _, _, s in entries], openblas))
    return CLibrary(path, header, copied, declarations)


# ----------------------------------------------------------------------------------------------
# Checks


def _check_names(functions, library):
    if not isinstance(library, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", library):
        raise ExportError(f"library name must be a C identifier (letters, digits, _), got {library!r}")
    if not functions:
        raise ExportError("nothing to export: give at least one function")
    reserved = {f"{library}_set_num_threads", f"{library}_get_num_threads"}
    seen = set()
    for f in functions:
        name = f.name
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ExportError(f"exported function names must be C identifiers (letters, digits, _), got {name!r}")
        if name in _C_KEYWORDS or keyword.iskeyword(name):
            raise ExportError(f"exported function name {name!r} is a reserved word in C; choose another")
        if name.startswith(("fnad_", "scipy_", "_")) or name in reserved:
            raise ExportError(
                f"exported function name {name!r} is reserved (names starting with fnad_, scipy_ or _, and "
                f"{sorted(reserved)}); choose another"
            )
        if name.upper() in seen:  # the header's size macros are upper case
            raise ExportError(f"exported function name {name!r} is given twice (or differs only in case)")
        seen.add(name.upper())
        for aval in [v.aval for v in f.closed.jaxpr.invars + f.closed.jaxpr.outvars]:
            if aval.dtype.name not in _C_TYPES:
                raise ExportError(f"{name}: arrays of dtype {aval.dtype.name} have no C type here ({aval.str_short()})")


def c_compiler():
    """The C compiler command that links libraries: $CC (split like a shell would), else `cc`."""
    command = shlex.split(os.environ.get("CC", "").strip() or "cc")
    if shutil.which(command[0]) is None:
        raise ExportError(
            f"export links the library with a C compiler, but {command[0]!r} was not found on PATH; install one "
            "(e.g. gcc or clang) or set the CC environment variable to its path"
        )
    return command


def _usable_directory(directory):
    path = Path(os.fspath(directory)).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ExportError(f"cannot write the library into {str(path)!r}: it exists and is not a directory") from None
    except OSError as e:
        raise ExportError(f"cannot create the library directory {str(path)!r}: {e.strerror}") from None
    if not path.is_dir():
        raise ExportError(f"cannot write the library into {str(path)!r}: it is not a directory")
    if not os.access(path, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write the library into {str(path)!r}: permission denied")
    return path.resolve()


def _declared(text):
    """Names of the functions an LLVM IR text declares (calls but does not define), intrinsics aside."""
    return {name for name in _DECLARED.findall(text) if not name.startswith("llvm.")}


def _refuse_python_primitives(name, jaxpr):
    """ExportError naming an equation (in `jaxpr` or its sub-IRs) that runs Python."""
    stack = [jaxpr]
    while stack:
        for e in stack.pop().eqns:
            if e.primitive.name in PYTHON_ONLY_PRIMITIVES:
                where = " at {}:{}".format(*e.source[:2]) if e.source else ""
                raise ExportError(
                    f"{name}: '{e.primitive.name}'{where} calls Python while the program runs; a function "
                    "with callbacks into Python cannot be exported (remove the callback, or compute its "
                    "value with fnad operations)"
                )
            for value in e.params.values():
                for v in value if isinstance(value, (tuple, list)) else (value,):
                    if isinstance(v, (Jaxpr, ClosedJaxpr)):
                        stack.append(v.jaxpr if isinstance(v, ClosedJaxpr) else v)


def _refuse_python(functions, entries, units, defined):
    """ExportError for code that calls what only a Python process has: a symbol fnad's runtime
    registers with `engine.register_symbol` that the library does not define (a callback into
    Python, the NumPy C API), or Python's C API itself."""
    in_process = engine.registered_symbols() - _RUNTIME_SYMBOLS - defined
    for f, (program, text, _) in zip(functions, entries):
        for module in (text, *(units[s] for s in program.units)):
            for name in sorted(_declared(module)):
                if name in in_process or name.startswith(("Py", "_Py")):
                    raise ExportError(
                        f"{f.name}: the compiled code calls {name!r}, which exists only inside a Python process "
                        "(a callback into Python?); a function that calls back into Python cannot be exported"
                    )


# ----------------------------------------------------------------------------------------------
# Code


def _entry_module(f):
    """(the lowered Program, LLVM IR text of its main module with the C entry `f.name`, the bytes
    of scratch a call uses)."""
    program = lowering.lower(f.closed)
    module = program.main
    jaxpr = f.closed.jaxpr
    avals = [v.aval for v in jaxpr.invars + jaxpr.outvars]
    if f.name in module.globals:
        raise ExportError(
            f"exported function name {f.name!r} clashes with a symbol of the generated code; choose another"
        )
    entry = ir.Function(module, ir.FunctionType(I32, [PTR] * len(avals)), f.name)
    b = ir.IRBuilder(entry.append_basic_block("entry"))
    null = ir.Constant(PTR, None)
    for arg, aval in zip(entry.args, avals):
        if aval.size:
            with b.if_then(b.icmp_unsigned("==", arg, null), likely=False):
                b.ret(i32(_CODE["ERROR_NULL_POINTER"]))
    main = module.globals["fnad_main"]
    main.linkage = module.globals[engine.RELEASE].linkage = "internal"  # the scratch runtime's is used
    consts = [
        _constant(module, f"{f.name}.const{i}", c, v.aval)
        for i, (c, v) in enumerate(zip(f.closed.consts, jaxpr.constvars))
    ]
    n_in = len(jaxpr.invars)
    tables = [_table(b, entry.args[:n_in]), _table(b, consts), _table(b, entry.args[n_in:])]
    give_back, scratch_bytes = _hand_scratch_to_main(module, b, f.name)
    b.call(main, tables)
    give_back()
    b.ret(i32(_CODE["OK"]))
    return program, str(module), scratch_bytes


def _table(b, pointers):
    table = b.alloca(PTR, size=max(len(pointers), 1))
    for i, p in enumerate(pointers):
        b.store(p, b.gep(table, [ir.Constant(I64, i)], source_etype=PTR))
    return table


def _constant(module, name, value, aval):
    data = np.ascontiguousarray(value, dtype=aval.dtype).reshape(aval.shape).tobytes()
    if not data:
        return ir.Constant(PTR, None)
    ty = ir.ArrayType(ir.IntType(8), len(data))
    g = ir.GlobalVariable(module, ty, name)
    g.linkage, g.global_constant, g.align = "private", True, 64
    g.initializer = ir.Constant(ty, bytearray(data))
    return g


def _hand_scratch_to_main(module, b, name):
    """Emit (at `b`) the entry's take of the program's scratch block, returning the error code if it
    cannot be allocated; redefine main's take and give in its module to use that block. Returns (a
    function emitting the give back, the block's size in bytes)."""
    if "fnad_scratch_take" not in module.globals:
        return (lambda: None), 0
    take, give = module.globals["fnad_scratch_take"], module.globals["fnad_scratch_give"]
    slot, size = module.globals["fnad_scratch_slot"], module.globals["fnad_scratch_size"]
    held = ir.GlobalVariable(module, PTR, f"{name}.scratch")
    held.linkage, held.storage_class, held.initializer = "internal", "thread_local", ir.Constant(PTR, None)
    runtime_take = ir.Function(module, take.function_type, _TAKE)
    runtime_give = ir.Function(module, give.function_type, _GIVE)
    take.linkage = give.linkage = "internal"
    tb = ir.IRBuilder(take.append_basic_block())
    tb.ret(tb.load(held, typ=PTR))
    ir.IRBuilder(give.append_basic_block()).ret_void()
    nbytes = b.load(size, typ=I64)
    block = b.call(runtime_take, [slot, nbytes])
    with b.if_then(b.icmp_unsigned("==", block, ir.Constant(PTR, None)), likely=False):
        b.ret(i32(_CODE["ERROR_NO_MEMORY"]))
    b.store(block, held)
    return (lambda: b.call(runtime_give, [slot, block, nbytes])), size.initializer.constant


def _slots_ir(symbols):
    """The slots main calls units through (see `fnad_compiler.tiers`), each holding its unit's
    address for good: exported code has one tier."""
    return "".join(f'declare void @"{s}"()\n@"{s}.slot" = hidden constant ptr @"{s}"\n' for s in sorted(symbols))


def _init_ir(library, openblas):
    """The library's constructor (thread count from FNAD_NUM_THREADS, else the usable CPUs; the
    pool forgotten in forked children; OpenBLAS single-threaded, as in `fnad_compiler.blas`) and
    LIBRARY_set_num_threads / LIBRARY_get_num_threads."""
    invalid = _CODE["ERROR_INVALID_ARGUMENT"]
    return f"""
@fnad_num_threads = external global i32
@env.name = private unnamed_addr constant [17 x i8] c"FNAD_NUM_THREADS\\00"
@llvm.global_ctors = appending global [1 x {{ i32, ptr, ptr }}] [{{ i32, ptr, ptr }} {{ i32 65535, ptr @init, ptr null }}]

declare ptr @getenv(ptr)
declare i64 @strtol(ptr, ptr, i32)
declare i32 @sched_getaffinity(i32, i64, ptr)
declare i32 @pthread_atfork(ptr, ptr, ptr)
declare void @fnad_pool_forget()
declare void @scipy_openblas_set_num_threads(i32)
declare i64 @llvm.ctpop.i64(i64)

define internal i32 @usable_cpus() {{   ; CPUs in this thread's affinity mask (at least 1)
entry:
  %set = alloca [16 x i64], align 8
  store [16 x i64] zeroinitializer, ptr %set
  %rc = call i32 @sched_getaffinity(i32 0, i64 128, ptr %set)
  %failed = icmp ne i32 %rc, 0
  br i1 %failed, label %one, label %count
count:
  %i = phi i64 [0, %entry], [%i1, %count]
  %n = phi i64 [0, %entry], [%n1, %count]
  %p = getelementptr i64, ptr %set, i64 %i
  %w = load i64, ptr %p
  %c = call i64 @llvm.ctpop.i64(i64 %w)
  %n1 = add i64 %n, %c
  %i1 = add i64 %i, 1
  %more = icmp ult i64 %i1, 16
  br i1 %more, label %count, label %done
done:
  %none = icmp eq i64 %n1, 0
  %n32 = trunc i64 %n1 to i32
  %r = select i1 %none, i32 1, i32 %n32
  ret i32 %r
one:
  ret i32 1
}}

define internal i32 @env_threads() {{   ; FNAD_NUM_THREADS if it is an integer in [1, 65536], else 0
entry:
  %end = alloca ptr
  %s = call ptr @getenv(ptr @env.name)
  %unset = icmp eq ptr %s, null
  br i1 %unset, label %no, label %parse
parse:
  %v = call i64 @strtol(ptr %s, ptr %end, i32 10)
  %e = load ptr, ptr %end
  %empty = icmp eq ptr %e, %s
  %c = load i8, ptr %e
  %junk = icmp ne i8 %c, 0
  %low = icmp slt i64 %v, 1
  %high = icmp sgt i64 %v, 65536
  %bad1 = or i1 %empty, %junk
  %bad2 = or i1 %low, %high
  %bad = or i1 %bad1, %bad2
  %v32 = trunc i64 %v to i32
  %r = select i1 %bad, i32 0, i32 %v32
  ret i32 %r
no:
  ret i32 0
}}

define internal void @init() {{
entry:
  %env = call i32 @env_threads()
  %cpus = call i32 @usable_cpus()
  %given = icmp sgt i32 %env, 0
  %n = select i1 %given, i32 %env, i32 %cpus
  store atomic i32 %n, ptr @fnad_num_threads monotonic, align 4
  %rc = call i32 @pthread_atfork(ptr null, ptr null, ptr @fnad_pool_forget)
  {"call void @scipy_openblas_set_num_threads(i32 1)" if openblas else ""}
  ret void
}}

define i32 @{library}_set_num_threads(i32 %n) {{
entry:
  %bad = icmp slt i32 %n, 1
  br i1 %bad, label %no, label %yes
yes:
  store atomic i32 %n, ptr @fnad_num_threads monotonic, align 4
  ret i32 0
no:
  ret i32 {invalid}
}}

define i32 @{library}_get_num_threads() {{
entry:
  %n = load atomic i32, ptr @fnad_num_threads monotonic, align 4
  ret i32 %n
}}
"""


def _objects(jobs, version):
    """Object code of each (LLVM IR text, disk-cache metadata, speed level, codegen level): from the
    disk cache when it holds the text's entry with that metadata, else compiled (new units in
    parallel, as the JIT does) and stored there."""
    disk = cache.default_cache().disk
    # Units are stored as the JIT stores them (same key, same metadata), so either reuses the other's;
    # entries and runtimes under keys of their own: the JIT stores the same runtime texts otherwise.
    keys = [
        cache.cache_key(text, version if metadata.get("unit") else f"{version} export O{speed}")
        for text, metadata, speed, _ in jobs
    ]
    objects = []
    for key, (_, metadata, _, _) in zip(keys, jobs):
        entry = disk.get(key) if disk is not None else None
        objects.append(entry[0] if entry is not None and entry[1] == metadata else None)
    parallel_jobs = [i for i, obj in enumerate(objects) if obj is None and jobs[i][2:] == (3, 3)]
    compiled = set(parallel_jobs)
    if parallel_jobs:
        for i, obj in zip(parallel_jobs, engine.compile_objects([jobs[i][0] for i in parallel_jobs])):
            objects[i] = obj
    for i, (text, _, speed, codegen) in enumerate(jobs):
        if objects[i] is None:
            objects[i] = engine.compile_object(text, speed, codegen)
            compiled.add(i)
    if disk is not None:
        for i in sorted(compiled):
            disk.put(keys[i], objects[i], jobs[i][1])
    return objects


# ----------------------------------------------------------------------------------------------
# Files


def _copy_beside(source, directory):
    """Copy the shared library `source` into `directory` (unless an identical copy is there)."""
    source = Path(source)
    target = directory / source.name
    s = source.stat()
    try:
        t = target.stat()
        if (t.st_size, int(t.st_mtime)) == (s.st_size, int(s.st_mtime)):
            return target
    except FileNotFoundError:
        pass
    tmp = directory / f".{source.name}.{os.getpid()}.tmp"
    shutil.copy2(source, tmp)
    os.replace(tmp, target)
    return target


def _link(compiler, objects, path, exported, libraries):
    with tempfile.TemporaryDirectory(prefix="fnad-export-") as tmp:
        tmp = Path(tmp)
        names = []
        for i, obj in enumerate(objects):
            names.append(str(tmp / f"part{i}.o"))
            Path(names[-1]).write_bytes(obj)
        script = tmp / "exports.map"
        script.write_text("{\n  global:\n" + "".join(f"    {n};\n" for n in exported) + "  local: *;\n};\n")
        out = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        command = [
            *compiler,
            "-shared",
            "-o",
            str(out),
            *names,
            *map(str, libraries),
            f"-Wl,--version-script={script}",
            "-Wl,-z,defs",  # every symbol resolved now: no Python, nothing left to the loading process
            "-Wl,-z,nodelete",  # the pool's detached worker threads run code of this library
            "-Wl,-z,noexecstack",
            "-Wl,-rpath,$ORIGIN",
            "-lm",
            "-lpthread",
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, check=False)
        except OSError as e:
            raise ExportError(f"cannot run the C compiler {compiler[0]!r} to link {path.name}: {e}") from None
        if done.returncode != 0:
            out.unlink(missing_ok=True)
            raise ExportError(
                f"linking {path.name} failed ({shlex.join(compiler)} exited with {done.returncode}):\n"
                f"{done.stderr.strip()}"
            )
        os.replace(out, path)


def _write_atomically(path, text):
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _parameters(f):
    avals = [v.aval for v in f.closed.jaxpr.invars] + [v.aval for v in f.closed.jaxpr.outvars]
    n_in = len(f.closed.jaxpr.invars)
    return [
        (
            f"{'const ' if i < n_in else ''}{_C_TYPES[a.dtype.name]}*",
            f"in{i}" if i < n_in else f"out{i - n_in}",
            a,
            (f.inputs + f.outputs)[i],
        )
        for i, a in enumerate(avals)
    ]


def _shape_text(aval):
    return f"{aval.dtype.name}[{', '.join(map(str, aval.shape))}]"


def _declaration(f):
    params = ", ".join(f"{ctype} {name}" for ctype, name, _, _ in _parameters(f))
    return f"int {f.name}({params or 'void'});"


def _header(library, functions, declarations, scratch_bytes, openblas):
    guard = f"{library.upper()}_H"
    macro = library.upper()
    codes = "\n".join(
        f"#define {macro}_{name} {code} /* {text.replace('LIBRARY', library)} */"
        for name, (code, text) in ERRORS.items()
    )
    blocks = []
    for f, declaration, nbytes in zip(functions, declarations, scratch_bytes):
        params = _parameters(f)
        width = max([len(f"{c} {n}") for c, n, _, _ in params] + [0])
        lines = [f"/* {f.title or f.name}"]
        lines += [f" *   {(c + ' ' + n).ljust(width)}  {_shape_text(a):<18} {what}" for c, n, a, what in params]
        if nbytes:
            lines.append(f" * Each call in progress uses {nbytes} bytes of scratch memory (kept for the next call).")
        lines.append(" */")
        sizes = [f"#define {f.name.upper()}_{n.upper()}_SIZE {a.size}" for _, n, a, _ in params]
        blocks.append("\n".join([*lines, declaration, *sizes]))
    beside = (
        "It loads libscipy_openblas.so (OpenBLAS) from its own\n   directory ($ORIGIN): keep the two files together."
        if openblas
        else "It needs only the C library."
    )
    return f"""/* {library}.h: generated by fnad.export.c_library; do not edit.

   Link with -L<directory> -l{library}. lib{library}.so does not use Python. {beside}

   Every function takes pointers to C-contiguous arrays (row-major, no padding) of exactly the
   shapes and dtypes listed, aligned to their element size; NAME_IN0_SIZE, NAME_OUT0_SIZE, ...
   are their numbers of elements. Inputs are only read; outputs are written completely and must
   not overlap the inputs or each other. A scalar is a pointer to one element. Each function
   returns {macro}_OK (0) on success, else an error code below (then no output was written).

   The functions are thread-safe and reentrant. Large loops and matrix products run on a pool of
   threads of the library: FNAD_NUM_THREADS (read when the library is loaded) or
   {library}_set_num_threads(n) sets how many (default: the CPUs the process may use). Results
   do not depend on the thread count.

   The code is compiled for the machine that exported it ({llvm.get_process_triple()}, CPU
   {llvm.get_host_cpu_name()} and all its features); it may not run on another CPU model. */

#ifndef {guard}
#define {guard}

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {{
#endif

{codes}

{chr(10).join(chr(10) + b for b in blocks)}

/* Threads used by parallel loops and matrix products from now on (n >= 1, else
   {macro}_ERROR_INVALID_ARGUMENT). Process-wide, for every function of this library. */
int {library}_set_num_threads(int n);
int {library}_get_num_threads(void);

#ifdef __cplusplus
}}
#endif

#endif /* {guard} */
"""
