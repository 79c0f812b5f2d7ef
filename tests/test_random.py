"""fnad.random: Threefry-2x32 known-answer vectors, reproducibility (eager, staged IR, vmap over keys
vs a loop), independence of split/fold_in streams, and distribution checks (moments, KS statistics,
chi-square) on 10^5 samples."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fnad
from fnad import random
from fnad.ir import eval_closed

_erf = np.vectorize(math.erf)


def staged(f):
    def g(*args):
        outs = eval_closed(fnad.make_jaxpr(f)(*args), *args)
        return outs[0] if len(outs) == 1 else outs

    return g


def ks_statistic(samples, cdf):
    """sqrt(n) * sup |F_n - F|: below 1.95 with probability 0.999 for a correct distribution."""
    x = np.sort(samples)
    n = len(x)
    f = cdf(x)
    d = max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n))
    return np.sqrt(n) * d


# Random123's published known-answer tests for threefry2x32_20: (key, counter, expected output).
KAT = [
    ((0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x6B200159, 0x99BA4EFE)),
    ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0)),
]


@pytest.mark.parametrize("key,counter,expected", KAT)
def test_threefry_known_answers(key, counter, expected):
    k = np.array(key, np.uint32)
    y0, y1 = random.threefry_2x32(k, np.uint32(counter[0]), np.uint32(counter[1]))
    assert (int(y0), int(y1)) == expected
    # the same words from arrays of counters, under vmap over keys, and through the staged IR
    c0 = np.full(3, counter[0], np.uint32)
    c1 = np.full(3, counter[1], np.uint32)
    y0, y1 = random.threefry_2x32(k, c0, c1)
    assert list(y0) == [expected[0]] * 3 and list(y1) == [expected[1]] * 3
    ys = fnad.vmap(lambda kk: random.threefry_2x32(kk, c0, c1))(np.stack([k, k]))
    assert ys[0].shape == (2, 3) and np.all(ys[0] == expected[0]) and np.all(ys[1] == expected[1])
    y0, y1 = staged(lambda kk, a, b: random.threefry_2x32(kk, a, b))(k, c0, c1)
    assert np.all(y0 == expected[0]) and np.all(y1 == expected[1])


def test_keys():
    assert random.PRNGKey(0).dtype == np.uint32
    np.testing.assert_array_equal(random.PRNGKey(42), [0, 42])
    np.testing.assert_array_equal(random.PRNGKey(2**40 + 7), [2**8, 7])
    np.testing.assert_array_equal(random.PRNGKey(-1), [0xFFFFFFFF, 0xFFFFFFFF])
    np.testing.assert_array_equal(fnad.vmap(random.PRNGKey)(np.arange(3)), [[0, 0], [0, 1], [0, 2]])
    key = random.PRNGKey(1)
    keys = random.split(key, 5)
    assert keys.shape == (5, 2) and keys.dtype == np.uint32
    assert len({tuple(k.tolist()) for k in keys} | {tuple(key.tolist())}) == 6
    np.testing.assert_array_equal(random.split(key, 5), keys)  # reproducible
    np.testing.assert_array_equal(random.split(key)[0], keys[0])  # prefix-stable
    folded = [tuple(random.fold_in(key, i).tolist()) for i in range(4)]
    assert len(set(folded)) == 4 and tuple(random.fold_in(key, 2).tolist()) == folded[2]
    np.testing.assert_array_equal(fnad.vmap(random.fold_in, in_axes=(None, 0))(key, np.arange(4)), folded)
    with pytest.raises(TypeError, match="uint32\\[2\\].*vmap"):
        random.normal(keys, (2,))
    with pytest.raises(TypeError, match="PRNG key"):
        random.uniform(np.array([1.0, 2.0]), (2,))


@pytest.mark.parametrize(
    "sample",
    [
        lambda k: random.uniform(k, (3, 4)),
        lambda k: random.uniform(k, (5,), np.float32, -2.0, 3.0),
        lambda k: random.normal(k, (7,)),
        lambda k: random.normal(k, (2, 3), np.float32),
        lambda k: random.bernoulli(k, 0.3, (6,)),
        lambda k: random.randint(k, (4, 2), -5, 17),
        lambda k: random.randint(k, (9,), 0, 3, np.int32),
        lambda k: random.truncated_normal(k, -1.0, 2.0, (5,)),
        lambda k: random.categorical(k, np.array([0.1, 2.0, -1.0]), shape=(6,)),
        lambda k: random.exponential(k, (4,)),
        lambda k: random.split(k, 3),
        lambda k: random.random_bits(k, 64, (3,)),
    ],
    ids=[
        "uniform",
        "uniform32",
        "normal",
        "normal32",
        "bernoulli",
        "randint",
        "randint32",
        "truncated_normal",
        "categorical",
        "exponential",
        "split",
        "bits64",
    ],
)
def test_same_values_eagerly_staged_under_vmap_and_jit(sample, mode):
    keys = random.split(random.PRNGKey(3), 4)
    eager = [sample(k) for k in keys]
    for k, e in zip(keys, eager):
        np.testing.assert_array_equal(sample(k), e)  # reproducible
        np.testing.assert_array_equal(staged(sample)(k), e)
        if np.issubdtype(e.dtype, np.floating):  # compiled exp/log/erf may differ from libm by ulps
            np.testing.assert_allclose(mode(sample)(k), e, rtol=1e-13, atol=1e-15)
        else:
            np.testing.assert_array_equal(mode(sample)(k), e)
    np.testing.assert_array_equal(fnad.vmap(sample)(keys), np.stack(eager))
    assert not np.array_equal(eager[0], eager[1])


@given(st.integers(0, 2**63 - 1))
def test_bits_differ_between_seeds_and_positions(seed):
    bits = random.random_bits(random.PRNGKey(seed), 32, (64,))
    assert bits.dtype == np.uint32 and len(set(bits.tolist())) >= 62
    other = random.random_bits(random.PRNGKey(seed ^ 1), 32, (64,))
    assert np.count_nonzero(bits == other) <= 2


N = 100_000


def test_bits_are_balanced():
    bits = random.random_bits(random.PRNGKey(0), 64, (N,))
    ones = np.array([((bits >> np.uint64(b)) & np.uint64(1)).mean() for b in range(64)])
    assert np.all(np.abs(ones - 0.5) < 5 * 0.5 / np.sqrt(N))


def test_uniform_distribution():
    for dtype in (np.float64, np.float32):
        u = random.uniform(random.PRNGKey(5), (N,), dtype)
        assert u.dtype == dtype and u.min() >= 0 and u.max() < 1
        assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / N)
        assert abs(u.var() - 1 / 12) < 0.005
        assert ks_statistic(u.astype(np.float64), lambda x: x) < 1.95
    u = random.uniform(random.PRNGKey(6), (N,), minval=-3.0, maxval=5.0)
    assert u.min() >= -3 and u.max() < 5
    assert ks_statistic(u, lambda x: (x + 3) / 8) < 1.95
    # minval/maxval broadcast against the shape
    u = random.uniform(random.PRNGKey(7), (N, 2), minval=np.array([0.0, 10.0]), maxval=np.array([1.0, 20.0]))
    assert u[:, 0].max() < 1 and u[:, 1].min() >= 10


def test_normal_distribution():
    x = random.normal(random.PRNGKey(8), (N,))
    assert abs(x.mean()) < 5 / np.sqrt(N)
    assert abs(x.var() - 1) < 5 * np.sqrt(2 / N)
    assert abs(np.mean(x**3)) < 0.05 and abs(np.mean(x**4) - 3) < 0.1
    assert ks_statistic(x, lambda v: 0.5 * (1 + _erf(v / np.sqrt(2)))) < 1.95
    x32 = random.normal(random.PRNGKey(9), (N,), np.float32)
    assert x32.dtype == np.float32 and np.all(np.isfinite(x32))
    assert ks_statistic(x32.astype(np.float64), lambda v: 0.5 * (1 + _erf(v / np.sqrt(2)))) < 1.95


def test_split_streams_are_independent():
    k1, k2 = random.split(random.PRNGKey(10))
    a, b = random.normal(k1, (N,)), random.normal(k2, (N,))
    assert abs(np.corrcoef(a, b)[0, 1]) < 5 / np.sqrt(N)
    c = random.normal(random.fold_in(k1, 0), (N,))
    assert abs(np.corrcoef(a, c)[0, 1]) < 5 / np.sqrt(N)
    # a stream is not a shifted copy of another
    assert abs(np.corrcoef(a[1:], b[:-1])[0, 1]) < 5 / np.sqrt(N)


def test_discrete_distributions():
    b = random.bernoulli(random.PRNGKey(11), 0.3, (N,))
    assert b.dtype == np.bool_ and abs(b.mean() - 0.3) < 5 * np.sqrt(0.21 / N)
    p = np.array([0.1, 0.5, 0.9])
    np.testing.assert_allclose(random.bernoulli(random.PRNGKey(12), p, (N, 3)).mean(0), p, atol=0.01)
    r = random.randint(random.PRNGKey(13), (N,), 3, 10)
    assert r.dtype == np.int64 and r.min() == 3 and r.max() == 9
    counts = np.bincount(r - 3, minlength=7)
    chi2 = np.sum((counts - N / 7) ** 2 / (N / 7))
    assert chi2 < 24.1  # 99.95% quantile of chi-square with 6 degrees of freedom
    assert np.all(random.randint(random.PRNGKey(0), (5,), 4, 4) == 4)
    probs = np.array([0.2, 0.5, 0.3])
    c = random.categorical(random.PRNGKey(14), np.log(probs), shape=(N,))
    counts = np.bincount(c, minlength=3)
    assert np.sum((counts - N * probs) ** 2 / (N * probs)) < 15.2  # 99.95%, 2 degrees of freedom
    batched = random.categorical(random.PRNGKey(15), np.log(np.array([[0.9, 0.1], [0.1, 0.9]])), axis=1, shape=(N, 2))
    np.testing.assert_allclose(batched.mean(0), [0.1, 0.9], atol=0.01)


def test_continuous_distributions():
    t = random.truncated_normal(random.PRNGKey(16), -0.5, 1.5, (N,))
    assert t.min() > -0.5 and t.max() < 1.5
    phi = lambda v: 0.5 * (1 + _erf(v / np.sqrt(2)))
    assert ks_statistic(t, lambda v: (phi(v) - phi(-0.5)) / (phi(1.5) - phi(-0.5))) < 1.95
    e = random.exponential(random.PRNGKey(17), (N,))
    assert e.min() >= 0 and ks_statistic(e, lambda v: -np.expm1(-v)) < 1.95
    g = random.gumbel(random.PRNGKey(18), (N,))
    assert ks_statistic(g, lambda v: np.exp(-np.exp(-v))) < 1.95


def test_permutation():
    key = random.PRNGKey(19)
    p = random.permutation(key, 10)
    assert sorted(p.tolist()) == list(range(10))
    np.testing.assert_array_equal(staged(lambda k: random.permutation(k, 10))(key), p)
    x = np.arange(12).reshape(3, 4)
    rows = random.permutation(key, x)
    assert sorted(map(tuple, rows.tolist())) == sorted(map(tuple, x.tolist()))
    cols = random.permutation(key, x, axis=1, independent=True)
    assert all(sorted(r) == sorted(xr) for r, xr in zip(cols.tolist(), x.tolist()))
    assert len({tuple((r - r.min()).tolist()) for r in cols}) > 1  # rows shuffled independently
    keys = random.split(key, 4000)
    perms = fnad.vmap(lambda k: random.permutation(k, 4))(keys)
    np.testing.assert_array_equal(perms[:3], np.stack([random.permutation(k, 4) for k in keys[:3]]))
    # all 24 orders about equally often
    codes = perms @ np.array([64, 16, 4, 1])
    counts = np.unique(codes, return_counts=True)[1]
    assert len(counts) == 24 and np.sum((counts - 4000 / 24) ** 2 / (4000 / 24)) < 49.7  # 99.9%, 23 dof


def test_choice():
    key = random.PRNGKey(20)
    draws = random.choice(key, 5, (N,))
    counts = np.bincount(draws, minlength=5)
    assert np.sum((counts - N / 5) ** 2 / (N / 5)) < 20.0  # 99.95%, 4 dof
    no_repeat = fnad.vmap(lambda k: random.choice(k, np.arange(10) * 10, (4,), replace=False))(random.split(key, 200))
    assert all(len(set(r)) == 4 and set(r) <= set(range(0, 100, 10)) for r in no_repeat.tolist())
    p = np.array([0.1, 0.6, 0.3])
    weighted = random.choice(key, 3, (N,), p=p)
    np.testing.assert_allclose(np.bincount(weighted, minlength=3) / N, p, atol=0.01)
    first = fnad.vmap(lambda k: random.choice(k, 3, (2,), replace=False, p=p))(random.split(key, 20000))
    assert all(r[0] != r[1] for r in first.tolist())
    np.testing.assert_allclose(np.bincount(first[:, 0], minlength=3) / 20000, p, atol=0.015)
    rows = random.choice(key, np.arange(6).reshape(3, 2), (2,), axis=0)
    assert rows.shape == (2, 2) and all(r[1] == r[0] + 1 for r in rows.tolist())
    with pytest.raises(ValueError, match="without replacement"):
        random.choice(key, 3, (4,), replace=False)
