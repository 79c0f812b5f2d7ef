"""Multi-core loops for generated code: the native runtime function `fnad_parallel_for` (LLVM IR
compiled here, calling pthreads) and the process-wide thread count.

The lowering outlines a loop body into `void chunk(ptr args, i64 start, i64 end)` and emits
`call void @fnad_parallel_for(ptr @chunk, ptr %args, i64 %n, i64 %grain)` (see
`declare_parallel_for`). [0, n) is split into k = min(threads, ceil(n / grain)) contiguous chunks
whose sizes differ by at most one: the partition depends only on (n, grain, thread count), never
on timing. The calling thread runs the first chunk and one new thread runs each other chunk
(created and joined per call, so nested parallel loops cannot deadlock; if a thread cannot be
created its chunk runs on the caller). That costs ~10-40 us per region with 2 threads here
(benchmarks/engine_bench.py), so only loops of well over that much work should be parallel.
Floating-point reductions stay reproducible for a given thread count if chunks write partial
results that are combined in chunk order; for results independent of the thread count, reduce
fixed-size blocks inside the chunks.
"""
import ctypes
import os
import threading

from llvmlite import ir

from compiler import cache, engine

__all__ = ["CHUNK_TYPE", "PARALLEL_FOR_TYPE", "declare_parallel_for", "set_num_threads",
           "get_num_threads", "runtime_address"]

_PTR, _I64 = ir.PointerType(), ir.IntType(64)
CHUNK_TYPE = ir.FunctionType(ir.VoidType(), [_PTR, _I64, _I64])
PARALLEL_FOR_TYPE = ir.FunctionType(ir.VoidType(), [_PTR, _PTR, _I64, _I64])

_RUNTIME_IR = r"""
%task = type { ptr, ptr, i64, i64 }   ; chunk function, its args, start, end

@fnad_num_threads = global i32 1

declare i32 @pthread_create(ptr, ptr, ptr, ptr)
declare i32 @pthread_join(i64, ptr)

define internal ptr @run_task(ptr %task) {
  %fn = load ptr, ptr %task
  %pargs = getelementptr %task, ptr %task, i32 0, i32 1
  %args = load ptr, ptr %pargs
  %pstart = getelementptr %task, ptr %task, i32 0, i32 2
  %start = load i64, ptr %pstart
  %pend = getelementptr %task, ptr %task, i32 0, i32 3
  %end = load i64, ptr %pend
  call void %fn(ptr %args, i64 %start, i64 %end)
  ret ptr null
}

define void @fnad_parallel_for(ptr %fn, ptr %args, i64 %n, i64 %grain) {
entry:
  %empty = icmp sle i64 %n, 0
  br i1 %empty, label %done, label %split
split:
  %g.small = icmp slt i64 %grain, 1
  %g = select i1 %g.small, i64 1, i64 %grain
  %nm1 = sub i64 %n, 1
  %q = udiv i64 %nm1, %g
  %by.grain = add i64 %q, 1                          ; ceil(n / grain)
  %t32 = load atomic i32, ptr @fnad_num_threads monotonic, align 4
  %t = sext i32 %t32 to i64
  %t.bad = icmp slt i64 %t, 1
  %t1 = select i1 %t.bad, i64 1, i64 %t
  %fewer = icmp ult i64 %by.grain, %t1
  %k = select i1 %fewer, i64 %by.grain, i64 %t1
  %serial = icmp eq i64 %k, 1
  br i1 %serial, label %inline, label %parallel
inline:
  call void %fn(ptr %args, i64 0, i64 %n)
  br label %done
parallel:
  %tasks = alloca %task, i64 %k
  %tids = alloca i64, i64 %k
  %base = udiv i64 %n, %k
  %rem = urem i64 %n, %k
  br label %fill
fill:                                                ; chunk i = [i*base + min(i, rem), +base + (i < rem))
  %i = phi i64 [0, %parallel], [%i.next, %fill]
  %lt = icmp ult i64 %i, %rem
  %mn = select i1 %lt, i64 %i, i64 %rem
  %ib = mul i64 %i, %base
  %start = add i64 %ib, %mn
  %extra = zext i1 %lt to i64
  %len = add i64 %base, %extra
  %end = add i64 %start, %len
  %ti = getelementptr %task, ptr %tasks, i64 %i
  store ptr %fn, ptr %ti
  %ta = getelementptr %task, ptr %ti, i32 0, i32 1
  store ptr %args, ptr %ta
  %ts = getelementptr %task, ptr %ti, i32 0, i32 2
  store i64 %start, ptr %ts
  %te = getelementptr %task, ptr %ti, i32 0, i32 3
  store i64 %end, ptr %te
  %i.next = add i64 %i, 1
  %fill.more = icmp ult i64 %i.next, %k
  br i1 %fill.more, label %fill, label %spawn
spawn:
  %j = phi i64 [1, %fill], [%j.next, %spawned]
  %tj = getelementptr %task, ptr %tasks, i64 %j
  %tid = getelementptr i64, ptr %tids, i64 %j
  %rc = call i32 @pthread_create(ptr %tid, ptr null, ptr @run_task, ptr %tj)
  %failed = icmp ne i32 %rc, 0
  br i1 %failed, label %run.here, label %spawned
run.here:                                            ; no thread: run it now, mark it not to join
  call ptr @run_task(ptr %tj)
  store ptr null, ptr %tj
  br label %spawned
spawned:
  %j.next = add i64 %j, 1
  %spawn.more = icmp ult i64 %j.next, %k
  br i1 %spawn.more, label %spawn, label %own
own:
  call ptr @run_task(ptr %tasks)
  br label %join
join:
  %m = phi i64 [1, %own], [%m.next, %joined]
  %tm = getelementptr %task, ptr %tasks, i64 %m
  %fm = load ptr, ptr %tm
  %was.run.here = icmp eq ptr %fm, null
  br i1 %was.run.here, label %joined, label %do.join
do.join:
  %tidp = getelementptr i64, ptr %tids, i64 %m
  %tidv = load i64, ptr %tidp
  call i32 @pthread_join(i64 %tidv, ptr null)
  br label %joined
joined:
  %m.next = add i64 %m, 1
  %join.more = icmp ult i64 %m.next, %k
  br i1 %join.more, label %join, label %done
done:
  ret void
}
"""

_LOCK = threading.Lock()
_RUNTIME = []  # [library, thread-count cell] once compiled; never released


def _default_threads():
    value = os.environ.get("FNAD_NUM_THREADS", "").strip()
    if not value:
        return len(os.sched_getaffinity(0))
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"FNAD_NUM_THREADS must be a positive integer, got {value!r}")
    return int(value)


def _runtime():
    with _LOCK:  # exactly one runtime: generated code holds its address
        if not _RUNTIME:
            exports = ["fnad_parallel_for", "fnad_num_threads"]
            library = cache.default_cache().get_or_compile(_RUNTIME_IR, lambda: (_RUNTIME_IR, exports, {})).library
            threads = ctypes.c_int32.from_address(library.address("fnad_num_threads"))
            threads.value = _default_threads()
            _RUNTIME.extend([library, threads])
        return _RUNTIME


def runtime_address():
    """Address of `fnad_parallel_for` (compiling the runtime on first use)."""
    return _runtime()[0].address("fnad_parallel_for")


engine.register_symbol("fnad_parallel_for", runtime_address)


def declare_parallel_for(module):
    """Declare `void @fnad_parallel_for(ptr chunk, ptr args, i64 n, i64 grain)` in an llvmlite
    module (once); `chunk` must have type `CHUNK_TYPE`. Returns the `ir.Function`."""
    if not isinstance(module, ir.Module):
        raise TypeError(f"expected an llvmlite.ir.Module, got {type(module).__name__}")
    if "fnad_parallel_for" in module.globals:
        return module.globals["fnad_parallel_for"]
    return ir.Function(module, PARALLEL_FOR_TYPE, "fnad_parallel_for")


def set_num_threads(n):
    """Set how many threads (the caller included) each parallel loop uses from now on."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"thread count must be a positive int, got {n!r}")
    _runtime()[1].value = n


def get_num_threads():
    """Threads per parallel loop: set_num_threads, else $FNAD_NUM_THREADS, else usable cores."""
    return _runtime()[1].value
