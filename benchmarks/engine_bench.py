"""Measurements for fnad_compiler.engine / cache / blas / parallel: compile latency, object loading
(LLJIT vs MCJIT), cache hits, native sgemm vs NumPy, parallel-region overhead.

Run: python benchmarks/engine_bench.py [--gemm-only]
"""

import ctypes
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import llvmlite.binding as llvm
import numpy as np
from llvmlite import ir

from fnad_compiler import blas, cache, engine, parallel

SMALL = r"""
define double @dot(ptr noalias %x, ptr noalias %y, i64 %n) {
entry:
  br label %loop
loop:
  %i = phi i64 [0, %entry], [%i1, %loop]
  %acc = phi double [0.0, %entry], [%acc1, %loop]
  %px = getelementptr double, ptr %x, i64 %i
  %py = getelementptr double, ptr %y, i64 %i
  %vx = load double, ptr %px
  %vy = load double, ptr %py
  %m = fmul fast double %vx, %vy
  %acc1 = fadd fast double %acc, %m
  %i1 = add i64 %i, 1
  %c = icmp slt i64 %i1, %n
  br i1 %c, label %loop, label %exit
exit:
  ret double %acc1
}
"""


def timed(fn, reps):
    """Median seconds of `reps` calls."""
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def compile_latency():
    engine.compile(SMALL, ["dot"])  # warm up
    state = {}
    parse = timed(lambda: state.__setitem__("m", engine.parse(SMALL)), 50)
    opt = timed(lambda: engine.optimize(engine.parse(SMALL)), 50) - parse
    mod = engine.optimize(engine.parse(SMALL))
    emit = timed(lambda: engine.emit_object(mod), 50)
    obj = engine.emit_object(mod)
    load = timed(lambda: engine.load_object(obj, ["dot"]), 200)
    total = timed(lambda: engine.compile(SMALL, ["dot"]), 50)
    print(
        f"small module (dot loop): parse {parse * 1e3:.2f} ms, optimise {opt * 1e3:.2f} ms, "
        f"emit {emit * 1e3:.2f} ms, load {load * 1e3:.3f} ms; parse+optimise+emit+load {total * 1e3:.2f} ms"
    )
    return obj


def mcjit_load(obj):
    def load():
        tm = llvm.Target.from_triple(llvm.get_process_triple()).create_target_machine(
            cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(), opt=3
        )
        ee = llvm.create_mcjit_compiler(llvm.parse_assembly(""), tm)  # owns its target machine
        ee.add_object_file(llvm.ObjectFileRef.from_data(obj))
        ee.finalize_object()
        return ee.get_function_address("dot")

    print(
        f"load object: LLJIT+JITLink {timed(lambda: engine.load_object(obj, ['dot']), 200) * 1e3:.3f} ms, "
        f"MCJIT (new engine per object) {timed(load, 100) * 1e3:.3f} ms"
    )


def rss_growth():
    rss = lambda: int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20
    obj = engine.compile_object(SMALL)
    for label, cycle in [
        ("load/release", lambda i: engine.load_object(obj, ["dot"])),
        ("compile/release", lambda i: engine.compile(SMALL.replace("0.0", f"{i}.0"), ["dot"])),
    ]:
        for i in range(100):
            cycle(i)
        before = rss()
        for i in range(1000):
            cycle(i)
        print(f"RSS growth over 1000 {label} cycles: {rss() - before:.1f} MiB")


def cache_hits():
    with tempfile.TemporaryDirectory() as d:
        disk = cache.DiskCache(d)
        build = lambda: (SMALL, ["dot"], {})
        cache.Cache(disk=disk).get_or_compile(SMALL, build)
        disk_hit = timed(lambda: cache.Cache(disk=disk).get_or_compile(SMALL, build), 200)
        warm = cache.Cache(disk=disk)
        warm.get_or_compile(SMALL, build)
        mem_hit = timed(lambda: warm.get_or_compile(SMALL, build), 1000)
    print(f"cache: disk hit (key + read + checksum + load) {disk_hit * 1e3:.3f} ms, memory hit {mem_hit * 1e6:.1f} us")


def gemm():
    module = ir.Module()
    sgemm = blas.declare_gemm(module, np.float32)
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [ir.PointerType()] * 3 + [ir.IntType(32)]), "mm")
    a, b, c, n = fn.args
    bld = ir.IRBuilder(fn.append_basic_block())
    i32, f32 = ir.IntType(32), ir.FloatType()
    bld.call(
        sgemm,
        [i32(blas.ROW_MAJOR), i32(blas.NO_TRANS), i32(blas.NO_TRANS), n, n, n, f32(1.0), a, n, b, n, f32(0.0), c, n],
    )
    bld.ret_void()
    mm = engine.compile(module, ["mm"]).function("mm", None, *[ctypes.c_void_p] * 3, ctypes.c_int32)
    n = 1024
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((n, n), np.float32), rng.standard_normal((n, n), np.float32)
    out = np.empty((n, n), np.float32)
    native = lambda: mm(x.ctypes.data, y.ctypes.data, out.ctypes.data, n)
    numpy = lambda: np.matmul(x, y, out=out)
    native(), numpy()
    ts = {"native sgemm": [], "numpy matmul": []}
    for _ in range(60):  # interleaved; this 2-core VM is noisy, so report median and 10-90% range
        ts["native sgemm"].append(timed(native, 1))
        ts["numpy matmul"].append(timed(numpy, 1))
    out[:] = 0
    native()
    np.testing.assert_allclose(out, x @ y, rtol=1e-3, atol=1e-2)
    gflops = {k: np.percentile(2 * n**3 / np.array(v) / 1e9, [50, 10, 90]) for k, v in ts.items()}
    print(
        f"1024^3 float32 (OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')!r}, "
        f"scipy_openblas32 core {blas.openblas_corename()}, {blas.openblas_get_num_threads()} threads): "
        + ", ".join(f"{k} {m:.0f} GFLOP/s [{lo:.0f}-{hi:.0f}]" for k, (m, lo, hi) in gflops.items())
    )


def parallel_overhead():
    lib = engine.compile(
        r"""
declare void @fnad_parallel_for(ptr, ptr, i64, i64)
define void @nothing(ptr %a, i64 %s, i64 %e) {
  ret void
}
define void @regions(i64 %reps) {
entry:
  br label %loop
loop:
  %i = phi i64 [0, %entry], [%i1, %loop]
  call void @fnad_parallel_for(ptr @nothing, ptr null, i64 1000000, i64 1)
  %i1 = add i64 %i, 1
  %c = icmp slt i64 %i1, %reps
  br i1 %c, label %loop, label %exit
exit:
  ret void
}
""",
        ["regions"],
    )
    regions = lib.function("regions", None, ctypes.c_int64)
    before = parallel.get_num_threads()
    res = []
    for t in (1, 2, 3, 4):
        parallel.set_num_threads(t)
        res.append(f"{t} threads {timed(lambda: regions(2000), 5) / 2000 * 1e6:.1f} us")
    parallel.set_num_threads(before)
    print("parallel region overhead (empty chunks, native loop): " + ", ".join(res))


def main():
    if "--gemm-only" in sys.argv:
        return gemm()
    print(f"host: {llvm.get_host_cpu_name()}, llvmlite {engine.host_id().split()[0]}, {os.cpu_count()} cpus")
    obj = compile_latency()
    mcjit_load(obj)
    rss_growth()
    cache_hits()
    parallel_overhead()
    gemm()
    for coretype in ("Haswell", "SkylakeX"):
        for threads in ("1", "2"):
            env = dict(os.environ, OPENBLAS_CORETYPE=coretype, OPENBLAS_NUM_THREADS=threads)
            subprocess.run([sys.executable, __file__, "--gemm-only"], env=env, check=True)


if __name__ == "__main__":
    main()
