"""fnad.ops: the segment reductions against a NumPy loop and JAX's values, eagerly, under jit, grad and vmap."""

import numpy as np
import pytest

import fnad
import fnad.numpy as fnp
from fnad import ops

REDUCTIONS = {  # name -> (NumPy reduction, the value of an empty segment)
    "segment_sum": (np.sum, 0.0),
    "segment_prod": (np.prod, 1.0),
    "segment_max": (np.max, -np.inf),
    "segment_min": (np.min, np.inf),
}


def by_loop(name, data, ids, num_segments):
    reduce, empty = REDUCTIONS[name]
    out = np.full((num_segments, *data.shape[1:]), empty)
    for s in range(num_segments):
        if (ids == s).any():
            out[s] = reduce(data[ids == s], axis=0)
    return out


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_segment_reductions_equal_a_loop_eagerly_and_under_jit(name):
    rng = np.random.default_rng(0)
    data, ids = rng.normal(size=(9, 2)), np.array([0, 3, 3, 1, 0, 7, -1, 1, 3])  # 7 and -1 name no segment
    f = getattr(ops, name)
    want = by_loop(name, data, ids, 4)
    np.testing.assert_allclose(f(data, ids, num_segments=4), want, rtol=1e-14)
    np.testing.assert_allclose(fnad.jit(lambda d, i: f(d, i, num_segments=4))(data, ids), want, rtol=1e-14)
    np.testing.assert_allclose(f(data, ids), by_loop(name, data, ids, 8), rtol=1e-14)  # num_segments = max id + 1
    batched = fnad.vmap(lambda d: f(d, ids, num_segments=4))(np.stack([data, 2 * data]))
    np.testing.assert_allclose(batched, [want, by_loop(name, 2 * data, ids, 4)], rtol=1e-14)


def test_segment_values_and_gradients_match_jax():
    d, ids = fnp.arange(5.0), fnp.array([0, 0, 1, 1, 2])
    # jax.ops.segment_max(d, ids, 3) and jax.grad(lambda d: jax.ops.segment_max(d, ids, 3).sum())(d)
    np.testing.assert_array_equal(ops.segment_max(d, ids, 3), [1.0, 3.0, 4.0])
    np.testing.assert_array_equal(fnad.grad(lambda d: ops.segment_max(d, ids, 3).sum())(d), [0, 1, 0, 1, 1])
    grad_sum = fnad.grad(lambda d: (ops.segment_sum(d, ids, 3) ** 2).sum())(d)
    np.testing.assert_array_equal(grad_sum, [2.0, 2.0, 10.0, 10.0, 8.0])  # 2 * (segment's sum) per element
    assert ops.segment_max(fnp.array([1, 5], np.int32), fnp.array([1, 1]), 2).tolist() == [np.iinfo(np.int32).min, 5]


def test_segment_errors_name_the_problem():
    with pytest.raises(TypeError, match="num_segments"):
        fnad.jit(lambda d, i: ops.segment_sum(d, i))(np.ones(3), np.array([0, 1, 1]))
    with pytest.raises(TypeError, match="integers"):
        ops.segment_sum(np.ones(3), np.array([0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="leading axes"):
        ops.segment_sum(np.ones((3, 2)), np.array([0, 1]))
