import ctypes
import functools
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from llvmlite import ir

from fnad_compiler import engine, parallel

# Chunk bodies as the lowering would outline them, and native launchers calling the runtime.
IR = r"""
declare void @fnad_parallel_for(ptr, ptr, i64, i64)
declare i64 @pthread_self()

define void @fill(ptr %args, i64 %s, i64 %e) {           ; y[i] = 0.5 * i + 1
entry:
  %y = load ptr, ptr %args
  %empty = icmp sge i64 %s, %e
  br i1 %empty, label %exit, label %loop
loop:
  %i = phi i64 [%s, %entry], [%i1, %loop]
  %f = sitofp i64 %i to double
  %h = fmul double %f, 0.5
  %v = fadd double %h, 1.0
  %p = getelementptr double, ptr %y, i64 %i
  store double %v, ptr %p
  %i1 = add i64 %i, 1
  %c = icmp slt i64 %i1, %e
  br i1 %c, label %loop, label %exit
exit:
  ret void
}

define void @sum(ptr %args, i64 %s, i64 %e) {            ; *acc += sum(x[s:e])
entry:
  %x = load ptr, ptr %args
  %pacc = getelementptr ptr, ptr %args, i64 1
  %acc = load ptr, ptr %pacc
  %empty = icmp sge i64 %s, %e
  br i1 %empty, label %exit, label %loop
loop:
  %i = phi i64 [%s, %entry], [%i1, %loop]
  %t = phi i64 [0, %entry], [%t1, %loop]
  %p = getelementptr i64, ptr %x, i64 %i
  %v = load i64, ptr %p
  %t1 = add i64 %t, %v
  %i1 = add i64 %i, 1
  %c = icmp slt i64 %i1, %e
  br i1 %c, label %loop, label %done
done:
  atomicrmw add ptr %acc, i64 %t1 seq_cst
  br label %exit
exit:
  ret void
}

define void @record(ptr %args, i64 %s, i64 %e) {         ; log (start, end, thread) of each chunk
  %counter = load ptr, ptr %args
  %plog = getelementptr ptr, ptr %args, i64 1
  %log = load ptr, ptr %plog
  %k = atomicrmw add ptr %counter, i64 1 seq_cst
  %base = mul i64 %k, 3
  %p0 = getelementptr i64, ptr %log, i64 %base
  store i64 %s, ptr %p0
  %p1 = getelementptr i64, ptr %p0, i64 1
  store i64 %e, ptr %p1
  %p2 = getelementptr i64, ptr %p0, i64 2
  %tid = call i64 @pthread_self()
  store i64 %tid, ptr %p2
  ret void
}

define void @rendezvous(ptr %args, i64 %s, i64 %e) {     ; @record, after waiting (bounded) for all chunks to start
entry:                                                   ; args: record's two, then started counter, chunk count
  %pstarted = getelementptr ptr, ptr %args, i64 2
  %started = load ptr, ptr %pstarted
  %pwant = getelementptr ptr, ptr %args, i64 3
  %want = load i64, ptr %pwant
  atomicrmw add ptr %started, i64 1 seq_cst
  br label %spin
spin:
  %i = phi i64 [0, %entry], [%i1, %spin]
  %c = load atomic i64, ptr %started seq_cst, align 8
  %i1 = add i64 %i, 1
  %waiting = icmp slt i64 %c, %want
  %patient = icmp slt i64 %i1, 2000000000
  %go = and i1 %waiting, %patient
  br i1 %go, label %spin, label %record
record:
  call void @record(ptr %args, i64 %s, i64 %e)
  ret void
}

define void @launch_rendezvous(ptr %args, i64 %n, i64 %grain) {
  call void @fnad_parallel_for(ptr @rendezvous, ptr %args, i64 %n, i64 %grain)
  ret void
}
define void @fill_rows(ptr %args, i64 %s, i64 %e) {     ; rows s..e of y[rows, m]: a parallel fill each
entry:
  %y = load ptr, ptr %args
  %pm = getelementptr ptr, ptr %args, i64 1
  %m = load i64, ptr %pm
  %row.args = alloca ptr
  %empty = icmp sge i64 %s, %e
  br i1 %empty, label %exit, label %loop
loop:
  %r = phi i64 [%s, %entry], [%r1, %loop]
  %off = mul i64 %r, %m
  %row = getelementptr double, ptr %y, i64 %off
  store ptr %row, ptr %row.args
  call void @fnad_parallel_for(ptr @fill, ptr %row.args, i64 %m, i64 1)
  %r1 = add i64 %r, 1
  %c = icmp slt i64 %r1, %e
  br i1 %c, label %loop, label %exit
exit:
  ret void
}

define void @launch_fill_rows(ptr %args, i64 %n, i64 %grain) {
  call void @fnad_parallel_for(ptr @fill_rows, ptr %args, i64 %n, i64 %grain)
  ret void
}
define void @launch_fill(ptr %args, i64 %n, i64 %grain) {
  call void @fnad_parallel_for(ptr @fill, ptr %args, i64 %n, i64 %grain)
  ret void
}
define void @launch_sum(ptr %args, i64 %n, i64 %grain) {
  call void @fnad_parallel_for(ptr @sum, ptr %args, i64 %n, i64 %grain)
  ret void
}
define void @launch_record(ptr %args, i64 %n, i64 %grain) {
  call void @fnad_parallel_for(ptr @record, ptr %args, i64 %n, i64 %grain)
  ret void
}
"""
NAMES = ["launch_fill", "launch_sum", "launch_record", "launch_fill_rows", "launch_rendezvous"]


@functools.cache
def launchers():
    lib = engine.compile(IR, NAMES)
    return {n[7:]: lib.function(n, None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64) for n in NAMES}


def run(kind, arrays, n, grain=1):
    args = (ctypes.c_void_p * len(arrays))(*(a.ctypes.data for a in arrays))
    launchers()[kind](ctypes.addressof(args), n, grain)


def chunks(n, grain=1):
    counter, log = np.zeros(1, np.int64), np.full((64, 3), -1, np.int64)
    run("record", [counter, log], n, grain)
    return sorted(map(tuple, log[: counter[0]]))


@pytest.fixture
def threads():
    before = parallel.get_num_threads()
    yield parallel.set_num_threads
    parallel.set_num_threads(before)


def test_sum_and_fill_identical_for_any_thread_count(threads):
    n = 10**7
    x = np.random.default_rng(0).integers(-1000, 1000, n)
    sums, fills = [], []
    for t in (1, 2, 3):
        threads(t)
        acc, y = np.zeros(1, np.int64), np.zeros(n)
        run("sum", [x, acc], n, 1024)
        run("fill", [y], n, 1024)
        sums.append(acc[0])
        fills.append(y)
    assert sums == [x.sum()] * 3
    expected = 0.5 * np.arange(n) + 1.0
    for y in fills:
        np.testing.assert_array_equal(y, expected)


def test_partition_is_contiguous_balanced_and_uses_threads(threads):
    threads(3)
    assert [(s, e) for s, e, _ in chunks(10)] == [(0, 4), (4, 7), (7, 10)]
    # chunks that wait for each other to start can only finish on three threads: caller + 2 workers
    counter, log, started = np.zeros(1, np.int64), np.zeros((3, 3), np.int64), np.zeros(1, np.int64)
    args = (ctypes.c_void_p * 4)(counter.ctypes.data, log.ctypes.data, started.ctypes.data, 3)
    launchers()["rendezvous"](ctypes.addressof(args), 10, 1)
    assert counter[0] == 3 and sorted(map(tuple, log[:, :2])) == [(0, 4), (4, 7), (7, 10)]
    assert len(set(log[:, 2])) == 3
    assert [(s, e) for s, e, _ in chunks(10, grain=4)] == [(0, 4), (4, 7), (7, 10)]
    assert [(s, e) for s, e, _ in chunks(10, grain=6)] == [(0, 5), (5, 10)]  # ceil(10/6) chunks
    assert [(s, e) for s, e, _ in chunks(10, grain=100)] == [(0, 10)]
    threads(1)
    assert [(s, e) for s, e, _ in chunks(10)] == [(0, 10)]


def test_small_and_empty_ranges(threads):
    threads(3)
    assert [(s, e) for s, e, _ in chunks(2)] == [(0, 1), (1, 2)]  # n < thread count
    assert chunks(0) == [] and chunks(-5) == []
    y = np.zeros(3)
    run("fill", [y], 0)
    assert not y.any()
    assert [(s, e) for s, e, _ in chunks(5, grain=0)] == [(0, 2), (2, 4), (4, 5)]  # grain < 1 means 1


def test_thread_count_api_and_env(threads):
    with pytest.raises(ValueError):
        threads(0)
    with pytest.raises(ValueError):
        threads(2.0)
    threads(5)
    assert parallel.get_num_threads() == 5
    script = "from fnad_compiler import parallel; print(parallel.get_num_threads())"
    env = dict(os.environ, FNAD_NUM_THREADS="3")
    assert (
        subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        == "3"
    )
    env.pop("FNAD_NUM_THREADS")
    assert subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout.strip() == str(len(os.sched_getaffinity(0)))
    bad = subprocess.run(
        [sys.executable, "-c", script],
        env=dict(env, FNAD_NUM_THREADS="many"),
        check=False,
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0 and "FNAD_NUM_THREADS must be a positive integer" in bad.stderr


def test_nested_and_concurrent_loops(threads):
    """Loops inside chunks and loops of several Python threads at once (ctypes releases the GIL)
    cannot all use the pool: they must still give every element exactly once."""
    threads(2)
    rows, m = 7, 5000
    expected_row = 0.5 * np.arange(m) + 1.0
    errors = []

    def fill_rows_checked():
        for _ in range(20):
            out = np.zeros((rows, m))
            args = (ctypes.c_void_p * 2)(out.ctypes.data, m)
            launchers()["fill_rows"](ctypes.addressof(args), rows, 1)
            if not (out == expected_row).all():
                errors.append(out)

    workers = [threading.Thread(target=fill_rows_checked) for _ in range(4)]
    for t in workers:
        t.start()
    fill_rows_checked()
    for t in workers:
        t.join()
    assert not errors


def test_pool_works_in_a_forked_child(threads):
    threads(2)
    n = 1 << 16
    y = np.zeros(n)
    run("fill", [y], n)  # the parent's pool is running
    pid = os.fork()
    if pid == 0:  # the child has no workers: the pool must start afresh, not hang
        z = np.zeros(n)
        run("fill", [z], n)
        os._exit(0 if (z == 0.5 * np.arange(n) + 1.0).all() else 1)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.01)
    os.kill(pid, 9)
    pytest.fail("parallel loop in a forked child hung")


def test_declare_parallel_for():
    module = ir.Module()
    fn = parallel.declare_parallel_for(module)
    assert parallel.declare_parallel_for(module) is fn
    assert fn.function_type == parallel.PARALLEL_FOR_TYPE and fn.name == "fnad_parallel_for"
    with pytest.raises(TypeError):
        parallel.declare_parallel_for("module")
