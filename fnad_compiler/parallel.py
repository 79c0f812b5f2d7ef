"""Multi-core loops for generated code: the native runtime function `fnad_parallel_for` (LLVM IR
compiled here, calling pthreads) and the process-wide thread count.

The lowering outlines a loop body into `void chunk(ptr args, i64 start, i64 end)` and emits
`call void @fnad_parallel_for(ptr @chunk, ptr %args, i64 %n, i64 %grain)` (see
`declare_parallel_for`). [0, n) is split into k = min(threads, ceil(n / grain)) contiguous chunks
whose sizes differ by at most one: the partition depends only on (n, grain, thread count), never
on timing (which thread runs a chunk does not matter). The chunks are claimed one at a time by the
calling thread and a pool of worker threads started on first use and kept; the caller claims
chunks too, so on a loaded machine where no worker gets a core it simply runs them all itself
(never slower than serial by more than the hand-off). Waiting spins for about 0.1 ms, then sleeps on
a futex: a training step's matrix products come a few microseconds apart, and a worker that
slept between them costs a wake-up each (about 25% of a small MLP step), while a loaded machine is
burdened with at most 0.1 ms of busy-waiting per loop. A loop started while the pool is in use (a
parallel loop nested in a chunk, or loops of several Python threads at once) creates and joins
threads of its own instead, so nesting cannot deadlock; where a thread cannot be created its chunk
runs on the caller. In a child process made by os.fork the pool is forgotten (the child has no
copies of the workers) and started afresh.
Floating-point reductions stay reproducible for a given thread count if chunks write partial
results that are combined in chunk order; for results independent of the thread count, reduce
fixed-size blocks inside the chunks.
"""

import ctypes
import functools
import os
import threading

from fnad_compiler import cache, engine

__all__ = [
    "CHUNK_TYPE",  # noqa: F822 -- made on first use, by the module's `__getattr__`
    "PARALLEL_FOR_TYPE",  # noqa: F822
    "RUNTIME_IR",
    "declare_parallel_for",
    "get_num_threads",
    "runtime_address",
    "set_num_threads",
]


@functools.cache
def _llvm_types():
    """`CHUNK_TYPE` (of the chunk functions) and `PARALLEL_FOR_TYPE` (of `fnad_parallel_for`), llvmlite
    function types made on first use (see `__getattr__`): a process whose code all comes from the disk
    cache builds no IR, and never imports llvmlite.ir (fnad_compiler.ir_text)."""
    from llvmlite import ir

    from fnad_compiler.llvm_ir import I64, PTR, VOID

    return {
        "CHUNK_TYPE": ir.FunctionType(VOID, [PTR, I64, I64]),
        "PARALLEL_FOR_TYPE": ir.FunctionType(VOID, [PTR, PTR, I64, I64]),
    }


def __getattr__(name):
    if name in ("CHUNK_TYPE", "PARALLEL_FOR_TYPE"):
        return _llvm_types()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# The pool (x86-64 and AArch64 Linux, where the futex system call number is known): a job is
# published by storing its fields, then `ticket` = generation << 32 (chunk 0 next), then bumping
# `generation` (a futex word the workers sleep on). Chunks are claimed by compare-and-swap on the
# ticket, which fails for a worker that read an older generation, so a late worker can never run
# a chunk of the next job with the previous job's fields. `done` (a futex word the caller sleeps
# on) counts finished chunks.
_MACHINE = os.uname().machine  # not platform.machine(): importing platform took 2 ms of every start
_FUTEX_SYSCALL = {"x86_64": 202, "aarch64": 98}.get(_MACHINE)
_SPIN_HINT = {"x86_64": ("llvm.x86.sse2.pause", ""), "aarch64": ("llvm.aarch64.hint", "i32 1")}.get(
    _MACHINE, ("llvm.donothing", "")
)

RUNTIME_IR = (
    r"""
%task = type { ptr, ptr, i64, i64 }   ; chunk function, its args, start, end

@fnad_num_threads = global i32 1
@pool.busy = internal global i32 0          ; 1 while one parallel loop owns the pool
@pool.workers = internal global i64 0       ; started worker threads
@pool.generation = internal global i32 0    ; bumped once per job (workers sleep on it)
@pool.ticket = internal global i64 0        ; generation << 32 | next unclaimed chunk of the job
@pool.done = internal global i32 0          ; chunks of the current job finished (the caller sleeps on it)
@pool.fn = internal global ptr null
@pool.args = internal global ptr null
@pool.n = internal global i64 0
@pool.k = internal global i64 0

declare i32 @pthread_create(ptr, ptr, ptr, ptr)
declare i32 @pthread_join(i64, ptr)
declare i32 @pthread_detach(i64)
declare i64 @syscall(i64, ...)
declare void @HINT(HINT_TYPES)

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

define internal { i64, i64 } @chunk_bounds(i64 %n, i64 %k, i64 %i) {   ; [i*base + min(i, rem), +base + (i < rem))
  %base = udiv i64 %n, %k
  %rem = urem i64 %n, %k
  %lt = icmp ult i64 %i, %rem
  %mn = select i1 %lt, i64 %i, i64 %rem
  %ib = mul i64 %i, %base
  %start = add i64 %ib, %mn
  %extra = zext i1 %lt to i64
  %len = add i64 %base, %extra
  %end = add i64 %start, %len
  %r0 = insertvalue { i64, i64 } undef, i64 %start, 0
  %r1 = insertvalue { i64, i64 } %r0, i64 %end, 1
  ret { i64, i64 } %r1
}

define internal void @run_chunk(ptr %fn, ptr %args, i64 %n, i64 %k, i64 %i) {   ; chunk i of k
  %bounds = call { i64, i64 } @chunk_bounds(i64 %n, i64 %k, i64 %i)
  %start = extractvalue { i64, i64 } %bounds, 0
  %end = extractvalue { i64, i64 } %bounds, 1
  call void %fn(ptr %args, i64 %start, i64 %end)
  ret void
}

define internal void @futex_wait(ptr %word, i32 %value) {
  %r = call i64 (i64, ...) @syscall(i64 FUTEX, ptr %word, i32 128, i32 %value, ptr null)
  ret void
}

define internal void @futex_wake(ptr %word, i32 %count) {
  %r = call i64 (i64, ...) @syscall(i64 FUTEX, ptr %word, i32 129, i32 %count)
  ret void
}

define internal i1 @spin_until_changed(ptr %word, i32 %value) {   ; true if *word != value within the spin
entry:
  br label %loop
loop:
  %i = phi i32 [0, %entry], [%i1, %again]
  %v = load atomic i32, ptr %word acquire, align 4
  %changed = icmp ne i32 %v, %value
  br i1 %changed, label %yes, label %again
again:
  call void @HINT(HINT_ARGS)
  %i1 = add i32 %i, 1
  %more = icmp ult i32 %i1, 10000                  ; ~0.1 ms (a pause is ~10 ns on AVX-512 parts)
  br i1 %more, label %loop, label %no
yes:
  ret i1 true
no:
  ret i1 false
}

define internal void @claim_chunks(i32 %gen) {   ; run unclaimed chunks of job `gen` until none is left
entry:
  %fn = load ptr, ptr @pool.fn
  %args = load ptr, ptr @pool.args
  %n = load i64, ptr @pool.n
  %k = load i64, ptr @pool.k
  %gen64 = zext i32 %gen to i64
  br label %claim
claim:
  %t = load atomic i64, ptr @pool.ticket acquire, align 8
  %t.gen = lshr i64 %t, 32
  %same = icmp eq i64 %t.gen, %gen64
  %c = and i64 %t, 4294967295
  %left = icmp ult i64 %c, %k
  %open = and i1 %same, %left
  br i1 %open, label %try, label %out
try:
  %t1 = add i64 %t, 1
  %cas = cmpxchg ptr @pool.ticket, i64 %t, i64 %t1 acq_rel acquire
  %won = extractvalue { i64, i1 } %cas, 1
  br i1 %won, label %run, label %claim
run:
  call void @run_chunk(ptr %fn, ptr %args, i64 %n, i64 %k, i64 %c)
  %k32 = trunc i64 %k to i32
  %before = atomicrmw add ptr @pool.done, i32 1 acq_rel
  %after = add i32 %before, 1
  %last = icmp eq i32 %after, %k32
  br i1 %last, label %wake, label %claim
wake:
  call void @futex_wake(ptr @pool.done, i32 1)
  br label %claim
out:
  ret void
}

define internal ptr @worker(ptr %arg) {   ; arg: the generation before the worker's first job
entry:
  %g0.64 = ptrtoint ptr %arg to i64
  %g0 = trunc i64 %g0.64 to i32
  br label %wait
wait:
  %seen = phi i32 [%g0, %entry], [%seen, %sleep], [%g, %work]
  %spun = call i1 @spin_until_changed(ptr @pool.generation, i32 %seen)
  br i1 %spun, label %work, label %sleep
sleep:
  call void @futex_wait(ptr @pool.generation, i32 %seen)
  br label %wait
work:                                       ; job fields are read after the generation (acquire)
  %g = load atomic i32, ptr @pool.generation acquire, align 4
  call void @claim_chunks(i32 %g)
  br label %wait
}

define void @fnad_pool_forget() {   ; in a forked child, which has no copies of the workers
  store i64 0, ptr @pool.workers
  store i32 0, ptr @pool.busy
  ret void
}

define internal void @pooled(ptr %fn, ptr %args, i64 %n, i64 %k) {   ; the caller owns pool.busy
entry:
  %w0 = load i64, ptr @pool.workers
  %gen = load i32, ptr @pool.generation
  %want = sub i64 %k, 1
  br label %start.check
start.check:
  %w = phi i64 [%w0, %entry], [%w.next, %started]
  %enough = icmp uge i64 %w, %want
  br i1 %enough, label %publish, label %start
start:
  %tid = alloca i64
  %w.next = add i64 %w, 1
  %gen64 = zext i32 %gen to i64
  %arg = inttoptr i64 %gen64 to ptr
  %rc = call i32 @pthread_create(ptr %tid, ptr null, ptr @worker, ptr %arg)
  %failed = icmp ne i32 %rc, 0
  br i1 %failed, label %publish, label %started
started:
  %tidv = load i64, ptr %tid
  call i32 @pthread_detach(i64 %tidv)
  store i64 %w.next, ptr @pool.workers
  br label %start.check
publish:                                    ; fields, then the ticket, then the generation (release)
  store ptr %fn, ptr @pool.fn
  store ptr %args, ptr @pool.args
  store i64 %n, ptr @pool.n
  store i64 %k, ptr @pool.k
  store i32 0, ptr @pool.done
  %next = add i32 %gen, 1
  %next64 = zext i32 %next to i64
  %ticket = shl i64 %next64, 32
  store atomic i64 %ticket, ptr @pool.ticket release, align 8
  store atomic i32 %next, ptr @pool.generation release, align 4
  call void @futex_wake(ptr @pool.generation, i32 2147483647)
  call void @claim_chunks(i32 %next)        ; the caller works too: alone if no worker gets a core
  %k32 = trunc i64 %k to i32
  br label %join
join:
  %d = load atomic i32, ptr @pool.done acquire, align 4
  %all = icmp eq i32 %d, %k32
  br i1 %all, label %done, label %join.spin
join.spin:
  %spun = call i1 @spin_until_changed(ptr @pool.done, i32 %d)
  br i1 %spun, label %join, label %join.sleep
join.sleep:
  call void @futex_wait(ptr @pool.done, i32 %d)
  br label %join
done:
  ret void
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
  br i1 %serial, label %inline, label %try.pool
inline:
  call void %fn(ptr %args, i64 0, i64 %n)
  br label %done
try.pool:
  %claim = cmpxchg ptr @pool.busy, i32 0, i32 1 acquire monotonic
  %owned = extractvalue { i32, i1 } %claim, 1
  %pool.ok = and i1 %owned, HAVE_POOL
  br i1 %pool.ok, label %pool, label %no.pool
pool:
  call void @pooled(ptr %fn, ptr %args, i64 %n, i64 %k)
  store atomic i32 0, ptr @pool.busy release, align 4
  br label %done
no.pool:                                             ; nested or concurrent loop: threads of its own
  br i1 %owned, label %release, label %parallel
release:
  store atomic i32 0, ptr @pool.busy release, align 4
  br label %parallel
parallel:
  %tasks = alloca %task, i64 %k
  %tids = alloca i64, i64 %k
  br label %fill
fill:
  %i = phi i64 [0, %parallel], [%i.next, %fill]
  %bounds = call { i64, i64 } @chunk_bounds(i64 %n, i64 %k, i64 %i)
  %start = extractvalue { i64, i64 } %bounds, 0
  %end = extractvalue { i64, i64 } %bounds, 1
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
  %tidj = getelementptr i64, ptr %tids, i64 %j
  %rc = call i32 @pthread_create(ptr %tidj, ptr null, ptr @run_task, ptr %tj)
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
""".replace("FUTEX", str(_FUTEX_SYSCALL or 0))
    .replace("HINT_ARGS", _SPIN_HINT[1])
    .replace("HINT_TYPES", _SPIN_HINT[1].split(" ")[0])
    .replace("HINT", _SPIN_HINT[0])
    .replace("HAVE_POOL", "true" if _FUTEX_SYSCALL else "false")
)

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
            exports = ["fnad_parallel_for", "fnad_num_threads", "fnad_pool_forget"]
            library = (
                cache.default_cache()
                .get_or_compile(RUNTIME_IR, lambda: (RUNTIME_IR, exports, {}), speed_level=0)
                .library
            )  # small, compiled once
            os.register_at_fork(after_in_child=library.function("fnad_pool_forget", None))
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
    from llvmlite import ir  # here: see `_llvm_types`

    if not isinstance(module, ir.Module):
        raise TypeError(f"expected an llvmlite.ir.Module, got {type(module).__name__}")
    if "fnad_parallel_for" in module.globals:
        return module.globals["fnad_parallel_for"]
    return ir.Function(module, _llvm_types()["PARALLEL_FOR_TYPE"], "fnad_parallel_for")


def set_num_threads(n):
    """Set how many threads (the caller included) each parallel loop uses from now on."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"thread count must be a positive int, got {n!r}")
    _runtime()[1].value = n


def get_num_threads():
    """Threads per parallel loop: set_num_threads, else $FNAD_NUM_THREADS, else usable cores."""
    return _runtime()[1].value
