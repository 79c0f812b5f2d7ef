"""fnad_compiler.buffers: large results reuse a block only when no array refers to it any more."""

import threading

import numpy as np
from numpy._core.multiarray import get_handler_name

import fnad
from fnad_compiler import buffers

N = buffers.MIN_BYTES // 8 + 6  # float64 elements of a pooled result (even)


def test_small_results_are_plain_arrays():
    a = buffers.empty((3, 4), np.float32)
    assert a.shape == (3, 4) and a.dtype == np.float32 and a.flags.owndata


def test_block_reused_only_when_unreferenced():
    a = buffers.empty((N,), np.float64)
    assert a.flags.c_contiguous and a.flags.writeable and a.flags.owndata and a.ctypes.data % 64 == 0
    assert get_handler_name(a) == "fnad_result_pool"
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
    blocks = {b.ctypes.data, c.ctypes.data}
    del b, c
    d = buffers.empty((N // 2, 2), np.int64)  # same byte size, other shape and dtype
    assert d.shape == (N // 2, 2) and d.dtype == np.int64 and d.ctypes.data in blocks


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

    # NumPy gives the blocks back from several threads at once
    held.sort(key=lambda a: a.ctypes.data)
    chunks = [held[k::4] for k in range(4)]
    held.clear()
    threads = [threading.Thread(target=lambda c=c: c.clear()) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    again = [buffers.empty((N,), np.float64) for _ in range(8)]
    assert len({a.ctypes.data for a in again}) == 8


def test_pool_makes_room_for_the_sizes_in_use():
    stale = [buffers.empty((2 * N + k * 4096,), np.float64) for k in range(2 * buffers._MAX_BLOCKS)]
    del stale  # the pool is full of sizes no longer made, twice the size of those made now
    for _ in range(3):
        a = buffers.empty((N,), np.float64)
        a.fill(7.0)
        del a
        assert buffers.empty((N,), np.float64)[0] == 7.0  # its block waited (a new mapping is zeroed)


def test_pool_keeps_a_bounded_number_of_blocks():
    made = [buffers.empty((N,), np.float64) for _ in range(2 * buffers._MAX_BLOCKS)]
    for a in made:
        a.fill(7.0)
    del made  # some wait in the pool with their contents, the others are unmapped
    again = [buffers.empty((N,), np.float64) for _ in range(2 * buffers._MAX_BLOCKS)]
    reused = sum(a[0] == 7.0 for a in again)  # fresh mappings come zeroed
    assert 1 <= reused <= buffers._MAX_BLOCKS


def test_blocks_fit_sizes_within_a_quarter_and_resize_keeps_contents():
    a = buffers.empty((N,), np.float64)
    first = a.ctypes.data
    del a
    much_smaller = buffers.empty((N // 2,), np.float64)
    assert much_smaller.ctypes.data != first  # half the size: a block of its own
    a = buffers.empty((N,), np.float64)
    assert a.ctypes.data == first
    a[:] = np.arange(N)
    a.resize((3 * N,), refcheck=False)  # NumPy reallocates through the pool's handler
    np.testing.assert_array_equal(a[:N], np.arange(N))
    assert a.shape == (3 * N,) and get_handler_name(a) == "fnad_result_pool"
    a.resize((N // 4,), refcheck=False)
    np.testing.assert_array_equal(a, np.arange(N // 4))


def test_jit_results_kept_by_the_caller_are_not_overwritten():
    f = fnad.jit(lambda x, k: x * k)
    x = np.arange(N, dtype=np.float64)
    first = f(x, np.float64(2.0))
    slow = f(x[::-1].copy()[::-1], np.float64(2.0))  # refused by the native entry: the Python call
    for result in (first, slow):  # the Python call's result is an Array view of the pooled array
        owner = result if result.base is None else result.base
        assert type(result) is fnad.Array and get_handler_name(owner) == "fnad_result_pool"
    np.testing.assert_array_equal(slow, first)
    second = f(x, np.float64(3.0))
    np.testing.assert_array_equal(first, 2.0 * x)
    np.testing.assert_array_equal(second, 3.0 * x)
    del first
    third = f(x, np.float64(4.0))
    np.testing.assert_array_equal(second, 3.0 * x)
    np.testing.assert_array_equal(third, 4.0 * x)


def test_forked_children_allocate_and_free_pooled_results():
    import multiprocessing

    f = fnad.jit(lambda x: x + 1.0)
    x = np.arange(N, dtype=np.float64)
    kept = f(x)  # the parent has a pooled block in use and the pool's library loaded
    del kept
    with multiprocessing.get_context("fork").Pool(2) as pool:
        sums = pool.map(_sum_of_a_pooled_result, [1.0, 2.0, 3.0], chunksize=1)
    assert sums == [float((x + k).sum()) for k in (1.0, 2.0, 3.0)]


def _sum_of_a_pooled_result(k):
    a = buffers.empty((N,), np.float64)
    a[:] = np.arange(N) + k
    total = float(a.sum())
    del a
    return total
