"""Unusual input under `jit` (issue 11, items 13-16): it must give eager's result or a clear error,
never a silently different answer. Each test compares `jit` with eager fnad and NumPy."""
from __future__ import annotations

import numpy as np
import pytest

import fnad
import fnad.numpy as fnp
from fnad import lax

_HUGE = np.array([2**63 + 1, 3, 2**64 - 1], np.uint64)    # uint64 indices past int64's range


# ----------------------------------------------------------------------------------------------
# Item 15: uint64 indices of 2**63 and more are past the end (clamped as unsigned), not negative


def test_uint64_gather_index_past_int64_clamps_to_last_element_under_jit():
    x = np.arange(5.)
    eager = fnad.vmap(lambda i: fnp.take(x, i))(_HUGE)       # traced indices: the gather primitive itself
    np.testing.assert_array_equal(eager, [4., 3., 4.])
    np.testing.assert_array_equal(fnad.jit(lambda x, i: x[i])(x, _HUGE), eager)
    np.testing.assert_array_equal(fnad.jit(fnad.vmap(lambda i: fnp.take(x, i)))(_HUGE), eager)


def test_uint64_scatter_index_past_int64_is_dropped_under_jit():
    x = np.arange(5.)
    eager = fnad.vmap(lambda i: fnp.asarray(x).at[i].set(9.))(_HUGE)
    np.testing.assert_array_equal(eager[1], [0., 1., 2., 9., 4.])
    np.testing.assert_array_equal(eager[[0, 2]], [x, x])
    np.testing.assert_array_equal(fnad.jit(lambda x, i: x.at[i].set(9.))(x, _HUGE), [0., 1., 2., 9., 4.])


def test_uint64_dynamic_slice_start_past_int64_clamps_to_the_end_in_every_mode():
    x = np.arange(5.)
    s = np.uint64(2**63 + 7)
    ds = lambda s: lax.dynamic_slice(x, (s,), (2,))
    np.testing.assert_array_equal(ds(s), [3., 4.])
    np.testing.assert_array_equal(fnad.jit(ds)(s), [3., 4.])
    starts = np.array([2**63 + 7, 1], np.uint64)
    np.testing.assert_array_equal(fnad.vmap(ds)(starts), [[3., 4.], [1., 2.]])
    np.testing.assert_array_equal(fnad.jit(fnad.vmap(ds))(starts), [[3., 4.], [1., 2.]])
