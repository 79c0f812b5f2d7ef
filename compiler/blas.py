"""BLAS/LAPACK for generated code: finds and loads scipy_openblas32 (32-bit integers, C ABI),
declares its CBLAS and LAPACKE functions in llvmlite modules under their real `scipy_`-prefixed
symbol names, and sets its thread count from Python.

Calls follow the C interfaces: CBLAS enums and LAPACKE `matrix_layout` are i32 (`ROW_MAJOR`, ...),
dimensions and pivots are i32 (`lapack_int`), LAPACKE `char` options (b'N', b'U', ...) are i8.
"""
import ctypes
import functools
import os

import llvmlite.binding as llvm
import numpy as np
import scipy_openblas32
from llvmlite import ir

__all__ = ["ROW_MAJOR", "COL_MAJOR", "NO_TRANS", "TRANS", "ROUTINES", "library", "symbol_name",
           "declare", "declare_gemm", "openblas_set_num_threads", "openblas_get_num_threads",
           "openblas_corename"]

ROW_MAJOR, COL_MAJOR = 101, 102  # CblasRowMajor / LAPACK_ROW_MAJOR and the column-major ones
NO_TRANS, TRANS = 111, 112       # CblasNoTrans, CblasTrans
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
_IR_TYPES = {"v": ir.VoidType(), "i": ir.IntType(32), "c": ir.IntType(8), "p": ir.PointerType()}
_FLOATS = {"float32": ("s", ir.FloatType()), "float64": ("d", ir.DoubleType())}


@functools.cache
def library():
    """The loaded OpenBLAS (a ctypes CDLL), global so that generated code resolves its symbols."""
    path = os.path.join(scipy_openblas32.get_lib_dir(), scipy_openblas32.get_library(fullname=True))
    lib = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
    llvm.load_library_permanently(path)
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
    return _PREFIX + ROUTINES[routine][0].replace("?", _float(dtype)[0])


def declare(module, routine, dtype):
    """Declare (once) `routine` for `dtype` in the llvmlite `module`; returns the `ir.Function`.
    Loads the library, so the call resolves when the module is compiled and loaded."""
    name = symbol_name(routine, dtype)
    if not isinstance(module, ir.Module):
        raise TypeError(f"expected an llvmlite.ir.Module, got {type(module).__name__}")
    library()
    if name in module.globals:
        return module.globals[name]
    _, ret, args = ROUTINES[routine]
    types = {**_IR_TYPES, "t": _float(dtype)[1]}
    fn = ir.Function(module, ir.FunctionType(types[ret], [types[a] for a in args]), name)
    for arg, code in zip(fn.args, args):
        if code == "c":
            arg.add_attribute("signext")  # C `char` as clang passes it
    return fn


def declare_gemm(module, dtype):
    """`declare(module, 'gemm', dtype)`: cblas_sgemm or cblas_dgemm."""
    return declare(module, "gemm", dtype)


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


library()  # loaded on import: `compiler.engine` relies on it to resolve cached code
