"""fnad_compiler.buffers: large results reuse a block only when no array refers to it any more."""

import threading

import numpy as np

import fnad
from fnad_compiler import buffers

N = buffers.MIN_BYTES // 8 + 6  # float64 elements of a pooled result (even)


def test_small_results_are_plain_arrays():
    a = buffers.empty((3, 4), np.float32)
    assert a.shape == (3, 4) and a.dtype == np.float32 and a.flags.owndata


def test_block_reused_only_when_unreferenced():
    a = buffers.empty((N,), np.float64)
    assert a.flags.c_contiguous and a.flags.writeable and a.ctypes.data % 4096 == 0
    first = a.ctypes.data
    view = a[5:].reshape(-1)[::2]
    del a
    b = buffers.empty((N,), np.float64)
    assert b.ctypes.data != first  # a view still uses the first block
    view[:] = 1.0
    assert not np.shares_memory(b, view)
    del view
    c = buffers.empty((N,), np.float64)
    assert c.ctypes.data == first  # now it is free again
    del b, c
    d = buffers.empty((N // 2, 2), np.int64)  # same byte size, other shape and dtype
    assert d.shape == (N // 2, 2) and d.dtype == np.int64 and d.ctypes.data == first


def test_concurrent_allocations_get_distinct_blocks():
    held, errors = [], []
    barrier = threading.Barrier(4)

    def work():
        try:
            barrier.wait()
            for _ in range(20):
                a = buffers.empty((N,), np.float64)
                a.fill(threading.get_ident())
                held.append(a)
                assert (a == threading.get_ident()).all()
        except AssertionError as e:
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len({a.ctypes.data for a in held}) == len(held)


def test_jit_results_kept_by_the_caller_are_not_overwritten():
    f = fnad.jit(lambda x, k: x * k)
    x = np.arange(N, dtype=np.float64)
    first = f(x, np.float64(2.0))
    second = f(x, np.float64(3.0))
    np.testing.assert_array_equal(first, 2.0 * x)
    np.testing.assert_array_equal(second, 3.0 * x)
    del first
    third = f(x, np.float64(4.0))
    np.testing.assert_array_equal(second, 3.0 * x)
    np.testing.assert_array_equal(third, 4.0 * x)
