"""BLAS/LAPACK for generated code: finds and loads scipy_openblas32 (32-bit integers, C ABI),
declares its CBLAS and LAPACKE functions in llvmlite modules under their real `scipy_`-prefixed
symbol names, and sets its thread count from Python.

Calls follow the C interfaces: CBLAS enums and LAPACKE `matrix_layout` are i32 (`ROW_MAJOR`, ...),
dimensions and pivots are i32 (`lapack_int`), LAPACKE `char` options (b'N', b'U', ...) are i8.

Threads: OpenBLAS runs single-threaded here, and generated code calls gemm through `fnad_sgemm` /
`fnad_dgemm` (same C signature as cblas_?gemm; `declare_gemm`; for many equal products at fixed
strides, `fnad_?gemm_batched`: `declare_gemm_batched`), which splits a large product into
row or column blocks run by `fnad_compiler.parallel`'s pool: OpenBLAS's own threads wait for each other
by spinning and yielding, and on a loaded machine a 128x512x512 sgemm took 33 ms with 2 of them
against 0.6 ms with one, while the pool's caller runs every block itself when no worker gets a core.
Blocks split the dimension whose other operand is smaller (each block packs all of that operand).
The blocks depend on the shape only, and each is one gemm call whatever the thread count (the pool's
threads just share them out): OpenBLAS's bits for a row depend on the height of the call and the
row's place in it, so blocks of one per thread made results depend on FNAD_NUM_THREADS.
"""

import ctypes
import functools
import importlib.util
import os

import numpy as np

from fnad_compiler import cache, engine
from fnad_compiler.ir_text import args_struct_text

__all__ = [
    "COL_MAJOR",
    "NO_TRANS",
    "ROUTINES",
    "ROW_MAJOR",
    "TRANS",
    "declare",
    "declare_gemm",
    "declare_gemm_batched",
    "gemm_ir",
    "gemm_symbols",
    "library",
    "library_path",
    "openblas_corename",
    "openblas_get_num_threads",
    "openblas_set_num_threads",
    "symbol_name",
]

ROW_MAJOR, COL_MAJOR = 101, 102  # CblasRowMajor / LAPACK_ROW_MAJOR and the column-major ones
NO_TRANS, TRANS = 111, 112  # CblasNoTrans, CblasTrans
_PREFIX = "scipy_"

# Signatures: return type, then arguments. i: i32, c: char (i8), t: the float type, p: pointer.
ROUTINES = {
    # (order, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    "gemm": ("cblas_?gemm", "v", "iiiiiitpipitpi"),
    # (order, trans, m, n, alpha, a, lda, x, incx, beta, y, incy)
    "gemv": ("cblas_?gemv", "v", "iiiitpipitpi"),
    # (layout, m, n, a, lda, ipiv)
    "getrf": ("LAPACKE_?getrf", "i", "iiipip"),
    # (layout, trans, n, nrhs, a, lda, ipiv, b, ldb)
    "getrs": ("LAPACKE_?getrs", "i", "iciipippi"),
    # (layout, n, nrhs, a, lda, ipiv, b, ldb)
    "gesv": ("LAPACKE_?gesv", "i", "iiipippi"),
    # (layout, n, a, lda, ipiv)
    "getri": ("LAPACKE_?getri", "i", "iipip"),
    # (layout, uplo, n, a, lda)
    "potrf": ("LAPACKE_?potrf", "i", "icipi"),
    # (layout, uplo, n, nrhs, a, lda, b, ldb)
    "potrs": ("LAPACKE_?potrs", "i", "iciipipi"),
    # (layout, jobz, uplo, n, a, lda, w)
    "syevd": ("LAPACKE_?syevd", "i", "iccipip"),
}
_FLOATS = {"float32": "s", "float64": "d"}  # their letter in the routines' names


def library_path():
    """The scipy_openblas32 wheel's shared library, found without importing the package (its
    `__init__` reads its version through importlib.metadata: 20 ms of every process start)."""
    spec = importlib.util.find_spec("scipy_openblas32")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("fnad's compiler needs the scipy-openblas32 package (pip install scipy-openblas32)")
    lib_dir = os.path.join(spec.submodule_search_locations[0], "lib")
    names = sorted(
        f
        for f in os.listdir(lib_dir)
        if f.startswith("libscipy_openblas") and (".so" in f or f.endswith((".dylib", ".dll")))
    )
    if not names:
        raise ImportError(f"no OpenBLAS shared library in {lib_dir}")
    return os.path.join(lib_dir, names[0])


@functools.cache
def library():
    """The loaded OpenBLAS (a ctypes CDLL), global so that generated code resolves its symbols."""
    path = library_path()
    # Loaded single-threaded: OpenBLAS otherwise starts its workers at load, and they spin for
    # ~2^28 cycles (~0.1 s) before sleeping, taking a core from fnad's pool (a 2-thread sum of
    # 10^7 floats ran at half speed for its first ~50 calls). openblas_set_num_threads(n) still
    # starts workers on demand. NumPy (imported before) has read the variable already.
    saved = os.environ.get("OPENBLAS_NUM_THREADS")
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    try:
        lib = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
    finally:
        if saved is None:
            del os.environ["OPENBLAS_NUM_THREADS"]
        else:
            os.environ["OPENBLAS_NUM_THREADS"] = saved
    engine.load_library(path)
    lib.scipy_openblas_set_num_threads(ctypes.c_int(1))  # parallel gemm goes through fnad_?gemm
    return lib


def _float(dtype):
    try:
        return _FLOATS[np.dtype(dtype).name]
    except (KeyError, TypeError):
        raise ValueError(f"BLAS/LAPACK routines exist for float32 and float64, not {dtype!r}") from None


def symbol_name(routine, dtype):
    """The exported symbol, e.g. ('gemm', float32) -> 'scipy_cblas_sgemm'."""
    if routine not in ROUTINES:
        raise ValueError(f"unknown routine {routine!r}; known: {sorted(ROUTINES)}")
    return _PREFIX + ROUTINES[routine][0].replace("?", _float(dtype))


def declare(module, routine, dtype):
    """Declare (once) `routine` for `dtype` in the llvmlite `module`; returns the `ir.Function`.
    Loads the library, so the call resolves when the module is compiled and loaded."""
    # Imported here: a process whose code all comes from the disk cache builds no IR (fnad_compiler.ir_text).
    from llvmlite import ir

    from fnad_compiler.llvm_ir import I8, I32, PTR, VOID

    name = symbol_name(routine, dtype)
    if not isinstance(module, ir.Module):
        raise TypeError(f"expected an llvmlite.ir.Module, got {type(module).__name__}")
    library()
    if name in module.globals:
        return module.globals[name]
    _, ret, args = ROUTINES[routine]
    types = {"v": VOID, "i": I32, "c": I8, "p": PTR, "t": ir.FloatType() if _float(dtype) == "s" else ir.DoubleType()}
    fn = ir.Function(module, ir.FunctionType(types[ret], [types[a] for a in args]), name)
    for arg, code in zip(fn.args, args):
        if code == "c":
            arg.add_attribute("signext")  # C `char` as clang passes it
    return fn


def declare_gemm(module, dtype):
    """Declare (once) `fnad_sgemm` / `fnad_dgemm`: cblas_?gemm's signature and result, run in
    blocks on the thread pool when large (see the module docstring)."""
    from llvmlite import ir  # here: see `declare`

    name = _PARALLEL_GEMM + _float(dtype) + "gemm"
    if not isinstance(module, ir.Module):
        raise TypeError(f"expected an llvmlite.ir.Module, got {type(module).__name__}")
    if name in module.globals:
        return module.globals[name]
    cblas = declare(module, "gemm", dtype)
    return ir.Function(module, cblas.function_type, name)


def declare_gemm_batched(module, dtype):
    """Declare (once) `fnad_sgemm_batched` / `fnad_dgemm_batched`: `declare_gemm`'s function run
    on `count` products whose A, B and C start `a_step`, `b_step`, `c_step` bytes apart. Its
    arguments are (count, a_step, b_step, c_step) (i64 each), then cblas_?gemm's. The loop lives in
    the runtime, so that a program's main calling it stays glue that needs no optimisation (see
    `fnad_compiler.lower`)."""
    from llvmlite import ir

    gemm = declare_gemm(module, dtype)
    name = gemm.name + _BATCHED
    if name in module.globals:
        return module.globals[name]
    i64 = ir.IntType(64)
    ftype = ir.FunctionType(ir.VoidType(), [i64] * 4 + list(gemm.function_type.args))
    return ir.Function(module, ftype, name)


_PARALLEL_GEMM = "fnad_"
_BATCHED = "_batched"
_SPLIT_MIN = 1 << 18  # multiply-adds from which a gemm is split into blocks
# Blocks (rows or columns of C) per product: one per _BLOCK_GOOD, but two from 2 * _BLOCK_MIN, and
# at most _BLOCKS_MAX. Each block's gemm packs all of the other operand again: single-threaded, a
# 512^3 sgemm in blocks of 32 rows took 45% longer than in one call, of 64 rows 18%, of 128 rows 6%.
_BLOCK_MIN = 32
_BLOCK_GOOD = 128
_BLOCKS_MAX = 16
_BLOCK_ALIGN = 16  # block heights are multiples of this (of OpenBLAS's register tiles)

_GEMM_IR = r"""
%args = type { FIELD_TYPES }
declare void @CBLAS(i32, i32, i32, i32, i32, i32, FLOAT, ptr, i32, ptr, i32, FLOAT, ptr, i32)
declare void @fnad_parallel_for(ptr, ptr, i64, i64)

define internal void @block(ptr %args, i64 %start, i64 %end) {   ; rows or columns [start, end) of C
entry:
UNPACK
  %len64 = sub i64 %end, %start
  %len = trunc i64 %len64 to i32
  %lda64 = sext i32 %lda to i64
  %ldb64 = sext i32 %ldb to i64
  %ldc64 = sext i32 %ldc to i64
  br i1 %rows, label %by.rows, label %by.columns
by.rows:                       ; A's rows start at start*lda (A as stored) or its columns at start (A^FLOAT)
  %a.trans = icmp eq i32 %ta, 112
  %a.row = mul i64 %start, %lda64
  %a.off = select i1 %a.trans, i64 %start, i64 %a.row
  %a.blk = getelementptr FLOAT, ptr %a, i64 %a.off
  %c.row = mul i64 %start, %ldc64
  %c.blk.r = getelementptr FLOAT, ptr %c, i64 %c.row
  call void @CBLAS(i32 101, i32 %ta, i32 %tb, i32 %len, i32 %n, i32 %k, FLOAT %alpha, ptr %a.blk, i32 %lda,
                   ptr %b, i32 %ldb, FLOAT %beta, ptr %c.blk.r, i32 %ldc)
  ret void
by.columns:                    ; B's columns start at start (B as stored) or its rows at start*ldb (B^FLOAT)
  %b.trans = icmp eq i32 %tb, 112
  %b.row = mul i64 %start, %ldb64
  %b.off = select i1 %b.trans, i64 %b.row, i64 %start
  %b.blk = getelementptr FLOAT, ptr %b, i64 %b.off
  %c.blk.c = getelementptr FLOAT, ptr %c, i64 %start
  call void @CBLAS(i32 101, i32 %ta, i32 %tb, i32 %m, i32 %len, i32 %k, FLOAT %alpha, ptr %a, i32 %lda,
                   ptr %b.blk, i32 %ldb, FLOAT %beta, ptr %c.blk.c, i32 %ldc)
  ret void
}

define internal void @blocks(ptr %args, i64 %first, i64 %last) {   ; blocks [first, last): one gemm each
entry:
UNPACK
  %none = icmp sge i64 %first, %last
  br i1 %none, label %done, label %loop
loop:
  %j = phi i64 [%first, %entry], [%j1, %loop]
  %start = mul i64 %j, %height
  %j1 = add i64 %j, 1
  %stop = mul i64 %j1, %height
  %past = icmp sgt i64 %stop, %extent
  %end = select i1 %past, i64 %extent, i64 %stop
  call void @block(ptr %args, i64 %start, i64 %end)
  %more = icmp slt i64 %j1, %last
  br i1 %more, label %loop, label %done
done:
  ret void
}

define void @NAME(i32 %order, i32 %ta, i32 %tb, i32 %m, i32 %n, i32 %k, FLOAT %alpha, ptr %a, i32 %lda,
                  ptr %b, i32 %ldb, FLOAT %beta, ptr %c, i32 %ldc) {
entry:
  %m64 = sext i32 %m to i64
  %n64 = sext i32 %n to i64
  %k64 = sext i32 %k to i64
  %mn = mul i64 %m64, %n64
  %work = mul i64 %mn, %k64
  %large = icmp sge i64 %work, SPLIT_MIN
  %row.major = icmp eq i32 %order, 101
  %split = and i1 %large, %row.major
  br i1 %split, label %blocks, label %whole
whole:
  call void @CBLAS(i32 %order, i32 %ta, i32 %tb, i32 %m, i32 %n, i32 %k, FLOAT %alpha, ptr %a, i32 %lda,
                   ptr %b, i32 %ldb, FLOAT %beta, ptr %c, i32 %ldc)
  ret void
blocks:                        ; the block height depends on the shape only, never on the thread count
  %args = alloca %args
  %rows = icmp sge i32 %m, %n                 ; split M: each block packs all of B (K x N <= M x K)
  %extent = select i1 %rows, i64 %m64, i64 %n64
  %good = udiv i64 %extent, BLOCK_GOOD        ; count0 = clamp(max(good, min(small, 2)), 1, BLOCKS_MAX)
  %small = udiv i64 %extent, BLOCK_MIN
  %small.many = icmp ugt i64 %small, 2
  %two = select i1 %small.many, i64 2, i64 %small
  %more.good = icmp ugt i64 %good, %two
  %wanted = select i1 %more.good, i64 %good, i64 %two
  %few = icmp ult i64 %wanted, 1
  %wanted1 = select i1 %few, i64 1, i64 %wanted
  %many = icmp ugt i64 %wanted1, BLOCKS_MAX
  %count0 = select i1 %many, i64 BLOCKS_MAX, i64 %wanted1
  %h.sum = add i64 %extent, %count0
  %h.up = sub i64 %h.sum, 1
  %h.even = udiv i64 %h.up, %count0           ; ceil(extent / count0), rounded up to BLOCK_ALIGN
  %h.pad = add i64 %h.even, ALIGN_LESS_ONE
  %height = and i64 %h.pad, ALIGN_MASK
  %c.sum = add i64 %extent, %height
  %c.up = sub i64 %c.sum, 1
  %count = udiv i64 %c.up, %height
PACK
  call void @fnad_parallel_for(ptr @blocks, ptr %args, i64 %count, i64 1)
  ret void
}

define void @NAME_batched(i64 %count, i64 %a.step, i64 %b.step, i64 %c.step, i32 %order, i32 %ta, i32 %tb,
                          i32 %m, i32 %n, i32 %k, FLOAT %alpha, ptr %a, i32 %lda, ptr %b, i32 %ldb, FLOAT %beta,
                          ptr %c, i32 %ldc) {
entry:
  %none = icmp sle i64 %count, 0
  br i1 %none, label %done, label %loop
loop:
  %i = phi i64 [0, %entry], [%i1, %loop]
  %a.off = mul i64 %i, %a.step
  %a.i = getelementptr i8, ptr %a, i64 %a.off
  %b.off = mul i64 %i, %b.step
  %b.i = getelementptr i8, ptr %b, i64 %b.off
  %c.off = mul i64 %i, %c.step
  %c.i = getelementptr i8, ptr %c, i64 %c.off
  call void @NAME(i32 %order, i32 %ta, i32 %tb, i32 %m, i32 %n, i32 %k, FLOAT %alpha, ptr %a.i, i32 %lda,
                  ptr %b.i, i32 %ldb, FLOAT %beta, ptr %c.i, i32 %ldc)
  %i1 = add i64 %i, 1
  %more = icmp slt i64 %i1, %count
  br i1 %more, label %loop, label %done
done:
  ret void
}
"""


# The gemm arguments a block needs, as (name, type) of the %args struct.
_GEMM_FIELDS = [
    ("ta", "i32"),
    ("tb", "i32"),
    ("m", "i32"),
    ("n", "i32"),
    ("k", "i32"),
    ("alpha", "FLOAT"),
    ("a", "ptr"),
    ("lda", "i32"),
    ("b", "ptr"),
    ("ldb", "i32"),
    ("beta", "FLOAT"),
    ("c", "ptr"),
    ("ldc", "i32"),
    ("rows", "i1"),
    ("extent", "i64"),
    ("height", "i64"),
]


def gemm_symbols(letter):
    """The functions of the gemm runtime for floats `letter` ("s" or "d"): `fnad_?gemm` and
    `fnad_?gemm_batched`."""
    name = f"{_PARALLEL_GEMM}{letter}gemm"
    return name, name + _BATCHED


def gemm_ir(letter):
    """(symbols, LLVM IR text) of the gemm runtime for floats `letter` (`gemm_symbols`)."""
    ty = {"s": "float", "d": "double"}[letter]
    names = gemm_symbols(letter)
    name = names[0]
    unpack, pack = args_struct_text(_GEMM_FIELDS)
    text = (
        _GEMM_IR.replace("UNPACK", unpack)
        .replace("PACK", pack)
        .replace("FIELD_TYPES", ", ".join(t for _, t in _GEMM_FIELDS))
        .replace("CBLAS", f"{_PREFIX}cblas_{letter}gemm")
        .replace("NAME", name)
        .replace("SPLIT_MIN", str(_SPLIT_MIN))
        .replace("BLOCK_MIN", str(_BLOCK_MIN))
        .replace("BLOCK_GOOD", str(_BLOCK_GOOD))
        .replace("BLOCKS_MAX", str(_BLOCKS_MAX))
        .replace("ALIGN_LESS_ONE", str(_BLOCK_ALIGN - 1))
        .replace("ALIGN_MASK", str(-_BLOCK_ALIGN))
        .replace("FLOAT", ty)
    )
    return names, text


@functools.cache
def _gemm_runtime(letter):
    """The gemm runtime for floats `letter`, loaded (compiled once, through the disk cache). Generated
    code keeps calling it: never released."""
    names, text = gemm_ir(letter)
    library()
    return cache.default_cache().get_or_compile(text, lambda: (text, list(names), {}), speed_level=0).library


for _letter in "sd":
    for _name in gemm_symbols(_letter):
        engine.register_symbol(_name, lambda letter=_letter, name=_name: _gemm_runtime(letter).address(name))


def openblas_set_num_threads(n):
    """Set the number of threads OpenBLAS uses (process-wide)."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"thread count must be a positive int, got {n!r}")
    library().scipy_openblas_set_num_threads(ctypes.c_int(n))


def openblas_get_num_threads():
    return library().scipy_openblas_get_num_threads()


def openblas_corename():
    """The kernel family OpenBLAS picked for this CPU (e.g. 'SkylakeX'; OPENBLAS_CORETYPE overrides)."""
    fn = library().scipy_openblas_get_corename
    fn.restype = ctypes.c_char_p
    return fn().decode()


library()  # loaded on import: `fnad_compiler.engine` relies on it to resolve cached code
