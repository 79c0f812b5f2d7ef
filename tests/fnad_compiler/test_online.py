"""fnad_compiler.lower.online: max and sum of exp(x - max) in one pass, against the two-pass eager result."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnad
import fnad.numpy as fnp
from fnad_compiler import parallel
from fnad_compiler.lower import online


def lse_parts(x, axes, keepdims=False):
    """The max and the sum of exp(x - max), the max broadcast back by keepdims or by expand_dims."""
    m = fnp.max(x, axis=axes, keepdims=keepdims)
    back = m if keepdims or axes is None else fnp.expand_dims(m, axes)
    return m, fnp.sum(fnp.exp(x - fnad.stop_gradient(back)), axis=axes)


def check(f, x, rtol):
    jf = fnad.jit(f)
    assert "online" in jf.lower(x).as_text()
    got, want = jf(x), f(x)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=rtol, equal_nan=True)
    return jf


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 1000, online._BLOCK + 3, 3 * online._PAR_BLOCK + 123])
def test_full_reduction(dtype, n):
    x = np.random.default_rng(n).normal(scale=20, size=n).astype(dtype)
    check(lambda x: lse_parts(x, None), x, 1e-5 if dtype == np.float32 else 1e-12)


def test_logsumexp_written_out():
    """The max used directly (no stop_gradient, no broadcast) and again after the sum."""
    x = np.random.default_rng(7).normal(scale=30, size=2 * online._PAR_BLOCK + 5).astype(np.float32)

    def lse(x):
        m = fnp.max(x)
        return m + fnp.log(fnp.sum(fnp.exp(x - m)))

    jf = check(lambda x: [lse(x)], x, 1e-6)
    np.testing.assert_allclose(jf(x)[0], np.log(np.sum(np.exp(x.astype(np.float64)))), rtol=1e-6)


@settings(max_examples=10, deadline=None)
@given(
    rows=st.integers(1, 40),
    length=st.integers(2, 3 * online._BLOCK),
    keepdims=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_rows(rows, length, keepdims, seed):
    x = np.random.default_rng(seed).normal(scale=10, size=(rows, length))
    check(lambda x: lse_parts(x, 1, keepdims), x, 1e-12)


def test_trailing_axes_of_a_3d_array():
    x = np.random.default_rng(3).normal(size=(3, 50, 70)).astype(np.float32)
    check(lambda x: lse_parts(x, (1, 2), keepdims=True), x, 1e-5)


@pytest.mark.parametrize("special", ["nan", "inf", "-inf", "all -inf", "-inf block"])
def test_special_values_as_two_passes(special):
    n = 2 * online._PAR_BLOCK + 7
    x = np.random.default_rng(4).normal(size=(3, n))
    if special == "nan":
        x[1, 5] = np.nan
    elif special == "inf":
        x[2, n - 1] = np.inf
    elif special == "-inf":
        x[0, ::3] = -np.inf
    elif special == "all -inf":
        x[1] = -np.inf
    else:  # a whole block of -inf before finite values (its own sum is NaN: must add nothing)
        x[:, : online._PAR_BLOCK + online._BLOCK] = -np.inf
    with np.errstate(invalid="ignore"):
        check(lambda x: lse_parts(x, 1), x, 1e-12)
        check(lambda x: lse_parts(x, None), x[2].copy(), 1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("special", [np.nan, -np.nan, np.inf, -np.inf, "jump", "-inf block", "zero max"])
@pytest.mark.parametrize("where", [5, online._BLOCK + 5, 3 * online._BLOCK - 1, online._PAR_BLOCK + 2 * online._BLOCK])
def test_special_values_in_later_blocks(dtype, special, where):
    """Blocks after the first are summed against the running max while their own max is found:
    a NaN, an infinity, a max far above the running one ("jump": the block's terms would overflow)
    or a block of -inf there must give the two-pass results."""
    n = online._PAR_BLOCK + 4 * online._BLOCK + 3
    x = np.random.default_rng(10).normal(size=n).astype(dtype)
    if special == "jump":
        x[where] = 100.0 if dtype == np.float32 else 800.0
    elif special == "-inf block":
        block = where - where % online._BLOCK
        x[block : block + online._BLOCK] = -np.inf
    elif special == "zero max":  # the max is +0.0, the block holding it also has -0.0
        x = -np.abs(x)
        x[where], x[where + 1] = -0.0, 0.0
    else:
        x[where] = special
    with np.errstate(invalid="ignore", over="ignore"):
        jf = check(lambda x: lse_parts(x, None), x, 1e-5 if dtype == np.float32 else 1e-12)
        check(lambda x: lse_parts(x, 1), x[: online._PAR_BLOCK].reshape(4, -1), 1e-5 if dtype == np.float32 else 1e-12)
    if special == "zero max":
        assert not np.signbit(jf(x)[0])


def test_result_independent_of_thread_count():
    x = np.random.default_rng(5).normal(size=5 * online._PAR_BLOCK + 11).astype(np.float32)
    jf = fnad.jit(lambda x: lse_parts(x, None))
    before = parallel.get_num_threads()
    try:
        results = []
        for threads in (1, 2, 3):
            parallel.set_num_threads(threads)
            results.append([r.tobytes() for r in jf(x)])
    finally:
        parallel.set_num_threads(before)
    assert results[0] == results[1] == results[2]


def test_not_rewritten_when_the_exponentials_are_used_elsewhere():
    x = np.random.default_rng(6).normal(size=(8, 30))

    def softmax_by_hand(x):
        e = fnp.exp(x - fnp.max(x, axis=1, keepdims=True))
        return e / fnp.sum(e, axis=1, keepdims=True)

    jf = fnad.jit(softmax_by_hand)
    assert "online" not in jf.lower(x).as_text()
    np.testing.assert_allclose(jf(x), softmax_by_hand(x), rtol=1e-12)
    # the max over other axes than the sum: not the pattern either
    g = fnad.jit(lambda x: fnp.sum(fnp.exp(x - fnp.max(x, axis=0)), axis=1))
    assert "online" not in g.lower(x).as_text()
    np.testing.assert_allclose(g(x), np.sum(np.exp(x - x.max(0)), 1), rtol=1e-12)


@pytest.mark.parametrize("axis", [1, None])
def test_nn_logsumexp_with_its_finite_guard(axis):
    """fnad.nn.logsumexp subtracts where(isfinite(max), max, 0): rows of -inf give -inf, a row
    with +inf gives +inf, NaN stays NaN, as eagerly."""
    x = np.random.default_rng(8).normal(scale=5, size=(5, online._PAR_BLOCK + 9))
    x[1] = -np.inf
    x[2, 5] = np.inf
    x[3, 7] = np.nan
    rows = [x] if axis == 1 else [x[i].copy() for i in range(5)]
    for z in rows:
        jf = fnad.jit(lambda z: fnad.nn.logsumexp(z, axis=axis))
        assert "online" in jf.lower(z).as_text()
        with np.errstate(invalid="ignore", over="ignore"):
            np.testing.assert_allclose(jf(z), fnad.nn.logsumexp(z, axis=axis), rtol=1e-12, equal_nan=True)
