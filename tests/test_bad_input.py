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


# ----------------------------------------------------------------------------------------------
# Item 16: masked arrays are refused (as JAX does), never used with their mask silently dropped

_MASKED = "NumPy masked array"


def _masked():
    return np.ma.masked_array([1., 2., 3.], mask=[0, 1, 0])


@pytest.mark.parametrize("call, where", [
    (lambda m: fnp.multiply(m, 2.), r"fnad\.numpy\.multiply: argument 0"),
    (lambda m: fnp.add(1., m), r"fnad\.numpy\.add: argument 1"),
    (lambda m: fnp.sum(m), r"fnad\.numpy\.sum: argument 0"),
    (lambda m: fnp.cumsum(m), r"fnad\.numpy\.cumsum: argument 0"),
    (lambda m: fnp.asarray(m), r"fnad\.numpy\.asarray: argument 0"),
], ids=["multiply", "add", "sum", "cumsum", "asarray"])
def test_masked_array_is_refused_eagerly_naming_function_and_argument(call, where):
    with pytest.raises(TypeError, match=where + ".*" + _MASKED + r".*f64\[3\].*filled"):
        call(_masked())


def test_masked_array_is_refused_by_jit_naming_the_argument():
    with pytest.raises(TypeError, match=r"jit\(scale\): argument 1 is a " + _MASKED):
        def scale(s, x):
            return x * s
        fnad.jit(scale)(2., _masked())
    with pytest.raises(TypeError, match=_MASKED):      # a captured constant
        m = _masked()
        fnad.jit(lambda y: y * m)(np.ones(3))


@pytest.mark.parametrize("transform", [
    lambda m: fnad.grad(lambda x: fnp.sum(x))(m),
    lambda m: fnad.vmap(lambda x: x * 2.)(m),
    lambda m: fnad.jvp(lambda x: x * 2., (m,), (np.ones(3),)),
    lambda m: fnad.vjp(lambda x: x * 2., m),
    lambda m: fnad.grad(lambda x: fnp.sum(x * m))(np.ones(3)),
], ids=["grad", "vmap", "jvp", "vjp", "grad_closure"])
def test_masked_array_is_refused_by_transforms(transform):
    with pytest.raises(TypeError, match=_MASKED):
        transform(_masked())
