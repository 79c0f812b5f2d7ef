import ctypes
import gc
import subprocess
import sys
import threading
import weakref

import numpy as np
import pytest
from llvmlite import ir

from fnad_compiler import engine

ADD = "define i64 @f(i64 %a) {\n  %b = add i64 %a, ADDEND\n  ret i64 %b\n}\n"

SAXPY = r"""
define void @saxpy(ptr noalias %x, ptr noalias %y, i64 %n) {
entry:
  %empty = icmp sle i64 %n, 0
  br i1 %empty, label %exit, label %loop
loop:
  %i = phi i64 [0, %entry], [%i1, %loop]
  %px = getelementptr float, ptr %x, i64 %i
  %py = getelementptr float, ptr %y, i64 %i
  %vx = load float, ptr %px
  %vy = load float, ptr %py
  %m = fmul float %vx, 2.5
  %s = fadd float %m, %vy
  store float %s, ptr %py
  %i1 = add i64 %i, 1
  %c = icmp slt i64 %i1, %n
  br i1 %c, label %loop, label %exit
exit:
  ret void
}
"""


def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def add_one(addend=1):
    return engine.compile(ADD.replace("ADDEND", str(addend)), ["f"]).function("f", ctypes.c_int64, ctypes.c_int64)


def cpu_flags():
    with open("/proc/cpuinfo") as f:
        return next(line for line in f if line.startswith("flags")).split()


def test_target_machine_is_the_host():
    """The code is compiled for the CPU it runs on: its vector extensions as the kernel reports them."""
    tm = engine.target_machine()
    assert tm is engine.target_machine()
    host, flags = engine.host_id(), cpu_flags()
    assert "cpu=" in host
    for feature in ["avx", "avx2", "fma", "avx512f"]:
        assert (f"+{feature}," in host) == (feature in flags), feature


def test_compile_call_and_vectorise():
    f = add_one(41)
    assert f(1) == 42
    asm = engine.emit_assembly(engine.optimize(engine.parse(SAXPY)))
    assert "vmulps" in asm and ("ymm" in asm or "zmm" in asm)  # vectorised (AVX)
    saxpy = engine.compile(SAXPY, "saxpy").function("saxpy", None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)
    x = np.arange(1001, dtype=np.float32)
    y = np.ones(1001, dtype=np.float32)
    saxpy(x.ctypes.data, y.ctypes.data, x.size)
    np.testing.assert_array_equal(y, 2.5 * np.arange(1001, dtype=np.float32) + 1)


def test_llvmlite_module_and_object_roundtrip():
    mod = ir.Module()
    fn = ir.Function(mod, ir.FunctionType(ir.DoubleType(), [ir.DoubleType()]), "sq")
    b = ir.IRBuilder(fn.append_basic_block())
    b.ret(b.fmul(fn.args[0], fn.args[0]))
    obj = engine.compile_object(mod)
    assert obj[:4] == b"\x7fELF"
    sq = engine.load_object(obj, ["sq"]).function("sq", ctypes.c_double, ctypes.c_double)
    assert sq(3.0) == 9.0


def test_external_symbols_resolve():
    # libm, pthreads and a symbol registered at run time (lazily).
    mod = r"""
declare double @cos(double)
declare i64 @pthread_self()
declare i64 @fnad_test_helper(i64)
define double @g(double %x) {
  %c = call double @cos(double %x)
  %t = call i64 @pthread_self()
  %h = call i64 @fnad_test_helper(i64 %t)
  %hf = sitofp i64 %h to double
  %r = fadd double %c, %hf
  ret double %r
}
"""
    helper_t = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)
    helper = helper_t(lambda t: 7)
    resolved = []
    engine.register_symbol("fnad_test_helper", lambda: resolved.append(1) or ctypes.cast(helper, ctypes.c_void_p).value)
    g = engine.compile(mod, ["g"]).function("g", ctypes.c_double, ctypes.c_double)
    assert g(0.0) == 8.0 and resolved == [1]
    engine.compile(mod, ["g"])
    assert resolved == [1]  # resolved once


def test_fresh_process_loads_object_calling_blas_and_parallel_runtime(tmp_path):
    # As on a disk-cache hit: nothing in the loading process declared these symbols.
    obj = engine.compile_object(r"""
declare void @scipy_cblas_dgemv(i32, i32, i32, i32, double, ptr, i32, ptr, i32, double, ptr, i32)
declare void @fnad_parallel_for(ptr, ptr, i64, i64)
define void @nop(ptr %a, i64 %s, i64 %e) {
  ret void
}
define double @h() {
  %a = alloca [4 x double]
  store [4 x double] [double 1.0, double 2.0, double 3.0, double 4.0], ptr %a
  %y = alloca double
  call void @scipy_cblas_dgemv(i32 101, i32 111, i32 1, i32 4, double 1.0, ptr %a, i32 4, ptr %a, i32 1, double 0.0, ptr %y, i32 1)
  call void @fnad_parallel_for(ptr @nop, ptr null, i64 100, i64 1)
  %r = load double, ptr %y
  ret double %r
}
""")
    (tmp_path / "h.o").write_bytes(obj)
    script = (
        f"import ctypes; from fnad_compiler import engine\n"
        f"lib = engine.load_object(open({str(tmp_path / 'h.o')!r}, 'rb').read(), ['h'])\n"
        f"print(lib.function('h', ctypes.c_double)())"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert float(out) == 30.0


def test_bad_input_raises_clear_errors():
    with pytest.raises(engine.CompileError, match="invalid LLVM IR"):
        engine.compile("define i64 @f( {", ["f"])
    with pytest.raises(engine.CompileError, match="cannot load"):
        engine.compile(
            "declare void @no_such_symbol_xyz()\ndefine void @f() {\n call void @no_such_symbol_xyz()\n ret void\n}",
            ["f"],
        )
    with pytest.raises(engine.CompileError, match="not found"):
        engine.compile(ADD.replace("ADDEND", "1"), ["nope"])
    with pytest.raises(TypeError):
        engine.parse(b"bytes")
    with pytest.raises(TypeError):
        engine.load_object("not bytes", ["f"])
    with pytest.raises(ValueError):
        engine.load_object(engine.compile_object(ADD.replace("ADDEND", "1")), [])
    with pytest.raises(KeyError):
        engine.compile(ADD.replace("ADDEND", "1"), ["f"]).address("g")
    with pytest.raises(ValueError):
        engine.register_symbol("", 1)


def test_function_keeps_library_alive_and_release_follows_gc():
    f = add_one(5)
    lib_ref = weakref.ref(f.library)
    gc.collect()
    assert lib_ref() is not None and f(1) == 6
    del f
    gc.collect()
    assert lib_ref() is None


def test_load_release_cycles_do_not_grow_rss():
    # Each library holds 1 MiB of data: 1,000 live ones would take 1 GiB.
    obj = engine.compile_object("@big = global [131072 x i64] zeroinitializer\ndefine ptr @p() {\n  ret ptr @big\n}\n")
    for _ in range(50):
        engine.load_object(obj, ["p"])
    gc.collect()
    before = rss_mib()
    for i in range(1000):
        lib = engine.load_object(obj, ["p"])
        ctypes.memset(lib.function("p", ctypes.c_void_p)(), i & 0xFF, 8 << 17)
        del lib
    gc.collect()
    # ORC keeps ~10 KB of bookkeeping per library ever loaded (llvmlite never removes JITDylibs).
    assert rss_mib() - before < 40


def test_concurrent_compiles():
    results, errors = {}, []

    def work(k):
        try:
            results[k] = [add_one(100 * k + j)(1) for j in range(5)]
        except Exception as e:  # noqa: BLE001 (any failure in a thread is reported below)
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert results == {k: [100 * k + j + 1 for j in range(5)] for k in range(4)}
