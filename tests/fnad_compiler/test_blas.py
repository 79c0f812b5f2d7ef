import ctypes
import functools
import os
import subprocess
import sys

import numpy as np
import pytest
from llvmlite import ir

from fnad_compiler import blas, engine

CTYPES = {"i": ctypes.c_int32, "c": ctypes.c_char, "p": ctypes.c_void_p}


@functools.cache
def native(routine, dtype, declare=blas.declare):
    """A JIT-compiled function that calls the BLAS/LAPACK routine: the path generated code takes."""
    module = ir.Module()
    callee = declare(module, routine, dtype)
    assert declare(module, routine, dtype) is callee
    fn = ir.Function(module, callee.function_type, "call")
    b = ir.IRBuilder(fn.append_basic_block())
    result = b.call(callee, fn.args)
    b.ret_void() if isinstance(callee.return_value.type, ir.VoidType) else b.ret(result)
    _, ret, args = blas.ROUTINES[routine]
    types = {**CTYPES, "t": np.ctypeslib.as_ctypes_type(dtype)}
    return engine.compile(module, ["call"]).function(
        "call", None if ret == "v" else types[ret], *(types[a] for a in args)
    )


def ptr(a):
    return a.ctypes.data


def test_symbol_names_exist_in_the_library():
    for routine in blas.ROUTINES:
        for dtype in (np.float32, np.float64):
            name = blas.symbol_name(routine, dtype)
            assert name.startswith("scipy_") and hasattr(blas.library(), name)
    assert blas.symbol_name("gemm", "float32") == "scipy_cblas_sgemm"
    assert blas.symbol_name("syevd", np.float64) == "scipy_LAPACKE_dsyevd"


def test_bad_arguments():
    with pytest.raises(ValueError, match="float32 and float64"):
        blas.symbol_name("gemm", np.int32)
    with pytest.raises(ValueError, match="unknown routine"):
        blas.symbol_name("gemmm", np.float32)
    with pytest.raises(TypeError):
        blas.declare("not a module", "gemm", np.float32)
    with pytest.raises(ValueError):
        blas.openblas_set_num_threads(0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_gemm_from_native_code_matches_numpy(dtype, ta, tb):
    rng = np.random.default_rng(0)
    m, n, k = 37, 23, 51
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
    c = np.ones((m, n), dtype)
    native("gemm", dtype)(
        blas.ROW_MAJOR,
        blas.TRANS if ta else blas.NO_TRANS,
        blas.TRANS if tb else blas.NO_TRANS,
        m,
        n,
        k,
        2.0,
        ptr(a),
        a.shape[1],
        ptr(b),
        b.shape[1],
        0.5,
        ptr(c),
        n,
    )
    expected = 2.0 * ((a.T if ta else a) @ (b.T if tb else b)) + 0.5
    np.testing.assert_allclose(c, expected, rtol=1e-4 if dtype == np.float32 else 1e-12, atol=1e-4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize(
    "m,n,k",
    [
        (300, 70, 40),
        (40, 300, 70),
        (3, 5, 7),  # rows, columns, whole
        (257, 513, 129),
        (513, 257, 129),
        (100, 100, 100),
    ],
)
def test_parallel_gemm_matches_numpy(dtype, ta, tb, m, n, k):
    """fnad_?gemm (what generated code calls) splits large products into row or column blocks on
    the thread pool: same result as NumPy for every transpose, leading dimensions larger than the
    matrices, and the same bits for any thread count."""
    from fnad_compiler import parallel

    gemm = native("gemm", dtype, declare=lambda module, routine, dtype: blas.declare_gemm(module, dtype))
    rng = np.random.default_rng(1)
    pad = 3  # leading dimensions exceed the row lengths
    a_full = rng.standard_normal(((k, m) if ta else (m, k))[:1] + (((k, m) if ta else (m, k))[1] + pad,)).astype(dtype)
    b_full = rng.standard_normal(((n, k) if tb else (k, n))[:1] + (((n, k) if tb else (k, n))[1] + pad,)).astype(dtype)
    a, b = a_full[:, :-pad], b_full[:, :-pad]
    expected = 2.0 * ((a.T if ta else a) @ (b.T if tb else b)) + 0.5
    before = parallel.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 3, 4, 8):
            parallel.set_num_threads(threads)
            c_full = np.ones((m, n + pad), dtype)
            gemm(
                blas.ROW_MAJOR,
                blas.TRANS if ta else blas.NO_TRANS,
                blas.TRANS if tb else blas.NO_TRANS,
                m,
                n,
                k,
                2.0,
                ptr(a_full),
                a_full.shape[1],
                ptr(b_full),
                b_full.shape[1],
                0.5,
                ptr(c_full),
                n + pad,
            )
            np.testing.assert_allclose(
                c_full[:, :n],
                expected,
                rtol=1e-4 if dtype == np.float32 else 1e-12,
                atol=1e-3 if dtype == np.float32 else 1e-10,
            )
            assert (c_full[:, n:] == 1).all()  # nothing written past the rows
            results.append(c_full)
    finally:
        parallel.set_num_threads(before)
    for threads, c_full in zip((2, 3, 4, 8), results[1:]):  # the blocks depend on the shape only
        assert c_full.tobytes() == results[0].tobytes(), f"{threads} threads changed the bits"


def test_gemv_from_native_code():
    a = np.arange(12, dtype=np.float64).reshape(3, 4)
    x = np.arange(4, dtype=np.float64)
    y = np.zeros(3)
    native("gemv", np.float64)(blas.ROW_MAJOR, blas.NO_TRANS, 3, 4, 1.0, ptr(a), 4, ptr(x), 1, 0.0, ptr(y), 1)
    np.testing.assert_array_equal(y, a @ x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lapack_from_native_code_matches_numpy_linalg(dtype):
    rng = np.random.default_rng(1)
    n = 8
    a = rng.standard_normal((n, n)).astype(dtype)
    spd = (a @ a.T + n * np.eye(n)).astype(dtype)
    rhs = rng.standard_normal((n, 3)).astype(dtype)
    tol = {"rtol": 1e-4, "atol": 1e-4} if dtype == np.float32 else {"rtol": 1e-10}

    lu, x, ipiv = a.copy(), rhs.copy(), np.zeros(n, np.int32)
    assert native("gesv", dtype)(blas.ROW_MAJOR, n, 3, ptr(lu), n, ptr(ipiv), ptr(x), 3) == 0
    np.testing.assert_allclose(x, np.linalg.solve(a, rhs), **tol)

    lu, ipiv = a.copy(), np.zeros(n, np.int32)
    assert native("getrf", dtype)(blas.ROW_MAJOR, n, n, ptr(lu), n, ptr(ipiv)) == 0
    sign = (-1) ** np.count_nonzero(ipiv != np.arange(1, n + 1))
    np.testing.assert_allclose(sign * np.prod(np.diag(lu)), np.linalg.det(a), **tol)
    x = rhs.copy()
    assert native("getrs", dtype)(blas.ROW_MAJOR, b"N", n, 3, ptr(lu), n, ptr(ipiv), ptr(x), 3) == 0
    np.testing.assert_allclose(x, np.linalg.solve(a, rhs), **tol)
    assert native("getri", dtype)(blas.ROW_MAJOR, n, ptr(lu), n, ptr(ipiv)) == 0
    np.testing.assert_allclose(lu, np.linalg.inv(a), **{**tol, "atol": 1e-3})

    chol = spd.copy()
    assert native("potrf", dtype)(blas.ROW_MAJOR, b"L", n, ptr(chol), n) == 0
    np.testing.assert_allclose(np.tril(chol), np.linalg.cholesky(spd), **tol)

    vecs, w = spd.copy(), np.zeros(n, dtype)
    assert native("syevd", dtype)(blas.ROW_MAJOR, b"V", b"U", n, ptr(vecs), n, ptr(w)) == 0
    np.testing.assert_allclose(w, np.linalg.eigvalsh(spd), **tol)
    np.testing.assert_allclose(spd @ vecs, vecs * w, **{**tol, "atol": 1e-3})

    # A singular matrix: LAPACK reports it through the return value.
    assert native("getrf", dtype)(blas.ROW_MAJOR, 2, 2, ptr(np.zeros((2, 2), dtype)), 2, ptr(ipiv)) > 0


def test_thread_count_roundtrip():
    before = blas.openblas_get_num_threads()
    try:
        blas.openblas_set_num_threads(1)
        assert blas.openblas_get_num_threads() == 1
    finally:
        blas.openblas_set_num_threads(before)
    assert blas.openblas_corename()


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads through Linux's /proc")
@pytest.mark.parametrize("user_setting", [None, "3"])
def test_loading_starts_no_openblas_threads(user_setting):
    # OpenBLAS loaded with its default thread count starts workers that spin ~0.1 s, taking a core
    # from fnad's pool; the library is loaded single-threaded, and the user's variable is restored.
    script = (
        "import os, numpy\n"
        "before = len(os.listdir('/proc/self/task'))\n"
        "from fnad_compiler import blas\n"
        "blas.library()\n"
        "print(len(os.listdir('/proc/self/task')) - before, os.environ.get('OPENBLAS_NUM_THREADS'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if user_setting is not None:
        env["OPENBLAS_NUM_THREADS"] = user_setting
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
    )
    assert out.stdout.split() == ["0", str(user_setting)]


_BITS_SCRIPT = r"""
import hashlib, sys
import numpy as np
import fnad, fnad.numpy as fnp
from fnad_compiler import parallel
assert parallel.get_num_threads() == int(sys.argv[1])
for dtype in (np.float32, np.float64):
    for sa, sb, transpose in [((257, 129), (129, 513), False), ((129, 257), (513, 257), True),
                              ((513, 129), (129, 257), False), ((1000, 64), (64, 300), False),
                              ((64, 300), (300, 1000), False), ((100, 100), (100, 100), False),
                              ((3, 65, 129), (3, 129, 257), False), ((2, 257, 129), (2, 513, 129), True),
                              ((2048, 128), (128, 130), False)]:
        rng = np.random.default_rng(sum(sa) + sum(sb))
        a, b = rng.standard_normal(sa).astype(dtype), rng.standard_normal(sb).astype(dtype)
        f = (lambda a, b: fnp.matmul(a, fnp.swapaxes(b, -1, -2))) if transpose else fnp.matmul
        got = fnad.jit(f)(a, b)
        want = np.matmul(a, np.swapaxes(b, -1, -2)) if transpose else a @ b
        np.testing.assert_allclose(got, want, rtol=1e-3 if dtype == np.float32 else 1e-10,
                                   atol=1e-3 if dtype == np.float32 else 1e-10)
        print(dtype.__name__, sa, sb, transpose, hashlib.sha256(got.tobytes()).hexdigest())
"""


def test_jit_matmul_bits_do_not_depend_on_fnad_num_threads():
    """README: results do not depend on the thread count. Each count runs in a fresh process (as a
    user sets FNAD_NUM_THREADS); products above the split size, by rows and by columns, transposed
    and batched, float32 and float64, must give the same bits. (257x129 @ 129x513 float64 gave
    different bits for 1, 2, 3 threads when the blocks were one per thread.)"""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    outputs = {}
    for threads in (1, 2, 3, 4, 8):
        env = {**os.environ, "FNAD_NUM_THREADS": str(threads)}
        run = subprocess.run(
            [sys.executable, "-c", _BITS_SCRIPT, str(threads)],
            env=env,
            cwd=root,
            check=False,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0, run.stderr[-3000:]
        outputs[threads] = run.stdout.splitlines()
        assert len(outputs[threads]) == 18
    for threads in (2, 3, 4, 8):
        changed = [a.rsplit(" ", 1)[0] for a, b in zip(outputs[1], outputs[threads]) if a != b]
        assert not changed, f"FNAD_NUM_THREADS={threads} changed the bits of {changed}"
