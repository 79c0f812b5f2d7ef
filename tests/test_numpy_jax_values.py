"""Values of the fnad.numpy functions added for issue 13: against NumPy on random data, against JAX's own
outputs where JAX's semantics differ from NumPy's (stored below as data), derivatives against central
finite differences, vmap against a Python loop. (tests/test_numpy_parity.py checks eager against jit for
every one of them.)"""

import warnings

import numpy as np
import pytest

import fnad
import fnad.numpy as fnp

RNG = np.random.default_rng(13)
A = RNG.normal(size=(3, 4, 5))
NAN = A.copy()
NAN[0, 1, 2] = NAN[1, 2, 0] = np.nan
NAN[2, 3] = np.nan  # an all-NaN slice along axis 2


def close(actual, expected, rtol=1e-12, atol=1e-12):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)


def central_difference(f, x, eps=1e-6):
    x = np.asarray(x, float)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = eps
        grad[i] = (f(x + step) - f(x - step)) / (2 * eps)
    return grad


# ---------------------------------------------------------------------------------------------
# Against NumPy

NAN_REDUCTIONS = ["nansum", "nanprod", "nanmax", "nanmin", "nanmean", "nanvar", "nanstd", "nanmedian"]


@pytest.mark.parametrize("name", NAN_REDUCTIONS)
@pytest.mark.parametrize("axis", [None, 2, (0, 2)])
def test_nan_reductions_match_numpy(name, axis):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NumPy warns about the all-NaN slice
        expected = getattr(np, name)(NAN, axis=axis)
    close(getattr(fnp, name)(NAN, axis=axis), expected)


@pytest.mark.parametrize("method", ["linear", "lower", "higher", "midpoint"])
@pytest.mark.parametrize("axis", [None, 1, (0, 2)])
def test_quantile_percentile_median_match_numpy(method, axis):
    q = np.array([0.0, 0.3, 0.5, 1.0])
    close(fnp.quantile(A, q, axis=axis, method=method), np.quantile(A, q, axis=axis, method=method))
    close(
        fnp.percentile(A, 100 * q, axis=axis, method=method, keepdims=True),
        np.percentile(A, 100 * q, axis=axis, method=method, keepdims=True),
    )
    close(fnp.median(A, axis=axis), np.median(A, axis=axis))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        close(fnp.nanquantile(NAN, 0.7, axis=axis, method=method), np.nanquantile(NAN, 0.7, axis=axis, method=method))


def test_statistics_match_numpy():
    x, y = RNG.normal(size=(3, 8)), RNG.normal(size=(2, 8))
    fw, aw = np.array([1, 2, 1, 3, 1, 1, 2, 1]), RNG.uniform(size=8)
    for kw in [{}, {"bias": True}, {"ddof": 2}, {"fweights": fw}, {"aweights": aw}, {"fweights": fw, "aweights": aw}]:
        close(fnp.cov(x, **kw), np.cov(x, **kw))
    close(fnp.cov(x.T, y.T, rowvar=False), np.cov(x.T, y.T, rowvar=False))
    close(fnp.corrcoef(x, y), np.corrcoef(x, y))
    close(fnp.average(A, axis=1, weights=np.arange(1.0, 5.0)), np.average(A, axis=1, weights=np.arange(1.0, 5.0)))
    close(fnp.count_nonzero(A > 0, axis=(0, 1)), np.count_nonzero(A > 0, axis=(0, 1)))
    close(fnp.ptp(A, axis=2), np.ptp(A, axis=2))
    v = RNG.normal(size=60)
    for bins in [3, 10, np.array([-1.0, 0.0, 0.5, 2.0])]:
        for density in [False, True]:
            h, e = fnp.histogram(v, bins, density=density)
            hn, en = np.histogram(v, bins, density=density)
            close(h, hn)
            close(e, en)
    h, xe, ye = fnp.histogram2d(v[:30], v[30:], bins=[3, 4], range=[(-2, 2), (-1, 1)])
    hn, xn, yn = np.histogram2d(v[:30], v[30:], bins=[3, 4], range=[(-2, 2), (-1, 1)])
    close(h, hn)
    close(xe, xn)
    close(ye, yn)
    ints = np.array([0, 1, 1, 3, 7])
    close(fnp.bincount(ints), np.bincount(ints))
    close(fnp.bincount(ints, np.arange(5.0), minlength=10), np.bincount(ints, np.arange(5.0), minlength=10))
    for bins in (np.array([1.0, 2.0, 2.0, 3.0]), np.array([3.0, 2.0, 2.0, 1.0])):
        for right in (False, True):
            x = np.array([0.0, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0])
            close(fnp.digitize(x, bins, right=right), np.digitize(x, bins, right=right))


def test_elementwise_functions_match_numpy():
    x = np.array([-2.5, -1.0, -0.0, 0.0, 0.7, 3.0, np.inf, -np.inf, np.nan])
    y = np.array([1.0, np.nan, 0.0, -0.0, 2.0, 3.0, 1.0, np.nan, np.nan])
    with np.errstate(all="ignore"):
        for name in ["fmax", "fmin", "logaddexp2", "heaviside", "nextafter", "float_power", "isclose"]:
            close(getattr(fnp, name)(x, y), getattr(np, name)(x, y))
        for name in ["trunc", "sinc", "spacing", "isposinf", "isneginf", "i0", "isreal", "iscomplex"]:
            close(getattr(fnp, name)(x), getattr(np, name)(x))
        for name in ["modf", "frexp"]:
            for got, want in zip(getattr(fnp, name)(x), getattr(np, name)(x)):
                close(got, want)
        close(fnp.angle(x, deg=True), np.angle(x, deg=True))
    i, j = np.array([12, -18, 0, 0, 7, 2**40]), np.array([8, 12, 5, 0, -21, 6])
    close(fnp.gcd(i, j), np.gcd(i, j))
    close(fnp.lcm(i, j), np.lcm(i, j))
    close(fnad.jit(fnp.gcd)(i, j), np.gcd(i, j))
    close(fnad.jit(fnp.lcm)(i, j), np.lcm(i, j))
    counts = np.array([0, 7, -8, 255, -(2**63) + 1])
    close(fnad.jit(fnp.bitwise_count)(counts), np.bitwise_count(counts))
    big = (np.array([0.75, 1e-300, 3.0]), np.array([3, 1100, -1080]))
    close(fnad.jit(fnp.ldexp)(*big), np.ldexp(*big))
    close(fnad.jit(fnp.frexp)(np.array([1e-310, 1.5 * 2.0**1023]))[1], np.frexp(np.array([1e-310, 1.5 * 2.0**1023]))[1])
    assert fnp.allclose(x, x, equal_nan=True) and not fnp.allclose(x, y)
    assert fnp.array_equal(x, x, equal_nan=True) and not fnp.array_equal(x, x) and not fnp.array_equal(x, x[:2])
    assert fnp.array_equiv(np.array([1, 2]), np.array([[1, 2], [1, 2]])) and not fnp.array_equiv(x, x[:2])


def test_shape_functions_match_numpy():
    m = np.arange(6).reshape(2, 3)
    for args in [
        (m, 1, 9),
        (m, 1, 9, 1),
        (m, np.array([0, 2]), np.array([7, 8]), 1),
        (m, slice(0, 3, 2), np.array([[7], [8]]), 1),
        (np.arange(4), np.array([1, 1, 3]), np.array([7, 8, 9])),
        (m, 1, np.array([[7], [8]]), 1),
    ]:
        close(fnp.insert(*args), np.insert(*args))
    for args in [
        (m, 1),
        (m, np.array([0, 2]), 1),
        (m, slice(None, None, 2), 1),
        (np.arange(5), np.array([1, 0, 1, 0, 0], bool)),
    ]:
        close(fnp.delete(*args), np.delete(*args))
    for k in range(-1, 5):
        for axes in [(0, 1), (1, 0), (2, 0)]:
            close(fnp.rot90(A, k, axes), np.rot90(A, k, axes))
    blocks = [[np.eye(2), np.zeros((2, 1))], [np.ones((1, 2)), np.array([[5.0]])]]
    close(fnp.block(blocks), np.block(blocks))
    close(fnp.block([1, 2, np.array([3, 4])]), np.block([1, 2, np.array([3, 4])]))
    close(fnp.append(m, np.array([[5, 6, 7]]), axis=0), np.append(m, [[5, 6, 7]], axis=0))
    close(fnp.resize(np.array([1, 2, 3]), (2, 4)), np.resize(np.array([1, 2, 3]), (2, 4)))
    assert fnp.rollaxis(A, 2, 0).shape == np.rollaxis(A, 2, 0).shape
    for got, want in zip(fnp.dsplit(A[..., None], 1), np.dsplit(A[..., None], 1)):
        close(got, want)
    close(fnp.r_[1:4, 0, np.array([7, 8])], np.r_[1:4, 0, np.array([7, 8])])
    close(fnp.r_["0,2,0", [1, 2], [3, 4]], np.r_["0,2,0", [1, 2], [3, 4]])
    close(fnp.c_[np.array([1, 2]), np.array([3, 4])], np.c_[np.array([1, 2]), np.array([3, 4])])
    close(fnp.mgrid[0:1:3j, -1:1:0.5], np.mgrid[0:1:3j, -1:1:0.5])
    for got, want in zip(fnp.ogrid[0:2, 0:3], np.ogrid[0:2, 0:3]):
        close(got, want)
    close(fnp.indices((2, 3)), np.indices((2, 3)))
    close(fnp.tri(4, 3, -1), np.tri(4, 3, -1))
    for got, want in zip(fnp.triu_indices(4, 1, 5), np.triu_indices(4, 1, 5)):
        close(got, want)
    for shape, val, wrap in [((3, 3), np.array([1.0, 2.0]), False), ((5, 3), 7.0, True), ((2, 2, 2), 4.0, False)]:
        expected = np.zeros(shape)
        np.fill_diagonal(expected, val, wrap)
        close(fnp.fill_diagonal(np.zeros(shape), val, wrap, inplace=False), expected)
    close(fnp.geomspace(-1.0, -1000.0, 4), np.geomspace(-1.0, -1000.0, 4))
    close(fnp.logspace(0, 2, 5, base=2.0), np.logspace(0, 2, 5, base=2.0))
    close(
        fnp.ravel_multi_index((np.array([1, 0]), np.array([2, 5])), (2, 4), mode="clip", order="F"),
        np.ravel_multi_index((np.array([1, 0]), np.array([2, 5])), (2, 4), mode="clip", order="F"),
    )
    bits = RNG.integers(0, 2, size=(3, 11))
    for axis in (None, 1):
        packed = np.packbits(bits, axis, bitorder="little")
        close(fnp.packbits(bits, axis, bitorder="little"), packed)
        close(fnp.unpackbits(packed, axis, count=-2, bitorder="little"), np.unpackbits(packed, axis, -2, "little"))


def test_polynomials_calculus_and_convolution_match_numpy():
    p, x = RNG.normal(size=5), RNG.normal(size=7)
    close(fnp.polyval(p, x), np.polyval(p, x))
    close(fnp.vander(x, 4, increasing=True), np.vander(x, 4, increasing=True))
    xs, ys, w = np.linspace(0, 1, 12), RNG.normal(size=(12, 2)), RNG.uniform(size=12)
    close(fnp.polyfit(xs, ys, 3, w=w), np.polyfit(xs, ys, 3, w=w), rtol=1e-9, atol=1e-10)
    a, b = RNG.normal(size=3), RNG.normal(size=5)
    for name in ["polyadd", "polysub", "polymul"]:
        close(getattr(fnp, name)(a, b), getattr(np, name)(a, b))
    close(fnp.polyder(b, 2), np.polyder(b, 2))
    close(fnp.polyint(b, 2, k=[1.0, 2.0]), np.polyint(b, 2, k=[1.0, 2.0]))
    close(fnp.poly(a), np.poly(a))
    quotient, remainder = fnp.polydiv(b, a)
    close(quotient, np.polydiv(b, a)[0])
    close(remainder[-2:], np.polydiv(b, a)[1], atol=1e-10)
    for n, m in [(5, 3), (3, 5), (4, 4), (1, 3), (6, 1), (7, 2), (2, 7)]:
        u, v = RNG.normal(size=n), RNG.normal(size=m)
        for mode in ["full", "same", "valid"]:
            close(fnp.convolve(u, v, mode), np.convolve(u, v, mode))
            close(fnp.correlate(u, v, mode), np.correlate(u, v, mode))
    xp, fp = np.sort(RNG.uniform(0, 10, 8)), RNG.normal(size=8)
    points = RNG.uniform(-2, 12, 30)
    close(fnp.interp(points, xp, fp), np.interp(points, xp, fp))
    close(fnp.interp(points, xp, fp, left=-5.0, right=7.0), np.interp(points, xp, fp, left=-5.0, right=7.0))
    periodic = RNG.uniform(0, 10, 8)
    close(fnp.interp(points, periodic, fp, period=3.0), np.interp(points, periodic, fp, period=3.0))
    coords = np.sort(RNG.uniform(size=5))
    for args, kw in [((), {}), ((0.5,), {}), ((2.0, coords), {"axis": (1, 2)}), ((coords,), {"axis": 2})]:
        got, want = fnp.gradient(A, *args, **kw), np.gradient(A, *args, **kw)
        for g, e in zip(got if isinstance(got, list) else [got], want if isinstance(want, tuple) else [want]):
            close(g, e)
    close(fnp.trapezoid(A, x=coords), np.trapezoid(A, x=coords))
    close(fnp.trapezoid(A, dx=0.3, axis=0), np.trapezoid(A, dx=0.3, axis=0))
    phases = np.angle(np.exp(1j * np.cumsum(RNG.normal(size=20) * 2)))
    close(fnp.unwrap(phases), np.unwrap(phases))
    close(fnp.ediff1d(A, to_begin=[-1.0]), np.ediff1d(A, to_begin=[-1.0]))


def test_selection_and_sets_match_numpy():
    ints = RNG.integers(0, 6, size=12)
    close(fnp.isin(ints, np.array([1, 3])), np.isin(ints, [1, 3]))
    for name in ["union1d", "intersect1d", "setdiff1d", "setxor1d"]:
        close(getattr(fnp, name)(ints[:6], ints[6:]), getattr(np, name)(ints[:6], ints[6:]))
    for got, want in zip(
        fnp.intersect1d(ints[:6], ints[6:], return_indices=True),
        np.intersect1d(ints[:6], ints[6:], return_indices=True),
    ):
        close(got, want)
    for got, want in zip(fnp.unique_all(ints), np.unique_all(ints)):
        close(got, want)
    close(fnp.compress(ints > 2, ints), np.compress(ints > 2, ints))
    close(fnp.extract(ints % 2 == 0, ints), np.extract(ints % 2 == 0, ints))
    close(fnp.trim_zeros(np.array([0, 0, 1, 2, 0])), np.trim_zeros(np.array([0, 0, 1, 2, 0])))
    close(fnp.lexsort((ints, ints % 3)), np.lexsort((ints, ints % 3)))
    x = np.linspace(-2, 3, 9)
    funcs = [lambda t: -t, lambda t: t**2, 0.5]
    close(fnp.piecewise(x, [x < 0, x >= 1], funcs), np.piecewise(x, [x < 0, x >= 1], funcs))
    choices = [np.arange(3), np.arange(10, 13), np.arange(20, 23)]
    close(fnp.choose(np.array([2, 0, 1]), choices), np.choose(np.array([2, 0, 1]), choices))
    expected = np.arange(5.0)
    np.place(expected, np.array([1, 0, 1, 0, 1], bool), [-1.0, -2.0])
    close(fnp.place(np.arange(5.0), np.array([1, 0, 1, 0, 1]), np.array([-1.0, -2.0]), inplace=False), expected)
    expected = np.zeros((2, 3))
    np.put_along_axis(expected, np.array([[2], [0]]), 5.0, axis=1)
    close(fnp.put_along_axis(np.zeros((2, 3)), np.array([[2], [0]]), 5.0, axis=1, inplace=False), expected)
    with pytest.raises(ValueError, match="inplace=False"):
        fnp.put(np.zeros(3), [0], [1.0])


def test_products_match_numpy():
    a, b, c = RNG.normal(size=(2, 3)), RNG.normal(size=(3, 4)), RNG.normal(size=4)
    close(fnp.einsum(a, [0, 1], b, [1, 2], [0, 2]), a @ b)
    close(fnp.einsum(a, [0, 1], b, [1, 2], c, [2]), np.einsum(a, [0, 1], b, [1, 2], c, [2]))
    close(
        fnad.jit(lambda a, b: fnp.einsum(b, [Ellipsis, 1], a[0, :3], [1]))(a, b.T),
        np.einsum(b.T, [Ellipsis, 1], a[0], [1]),
    )
    m, v = RNG.normal(size=(5, 2, 3)), RNG.normal(size=3)
    close(fnp.matvec(m, v), np.matvec(m, v))
    rows = RNG.normal(size=(5, 2))
    close(fnp.vecmat(rows, m), np.vecmat(rows, m))
    close(fnp.vecdot(m, v), np.vecdot(m, v))


# ---------------------------------------------------------------------------------------------
# JAX's semantics where they differ from NumPy's: reference values produced by jax 0.10.2
# (jax_enable_x64) with the calls named in each key, e.g. "unique_size" is
# jnp.unique(jnp.array([3, 1, 3, 2]), size=6, fill_value=-1, return_index=True, return_inverse=True,
# return_counts=True).

JAX = {
    "partition": np.array([1.0, 1.0, 2.0, 3.0, 9.0, 6.0, 5.0, 4.0]),  # jnp.partition(a, 3)
    "argpartition": np.array([1, 3, 6, 0, 2, 4, 5, 7]),  # jnp.argpartition(a, 3)
    "argpartition2d": np.array([[1, 0, 0], [0, 1, 1]]),  # jnp.argpartition([[3, 1, 2], [0, 5, 4]], 1, axis=0)
    "unique_size": (
        np.array([1, 2, 3, -1, -1, -1]),
        np.array([1, 3, 0, 1, 1, 1]),
        np.array([2, 0, 2, 1]),
        np.array([1, 1, 2, 0, 0, 0]),
    ),
    "unique_default_fill": np.array([1, 2, 3, 1, 1, 1]),  # jnp.unique(x, size=6)
    "unique_cut": (np.array([1, 2]), np.array([1, 3]), np.array([1, 1])),  # [3, 1, 3, 2, 7, 8], size=2, index, counts
    "unique_nan": np.array([1.0, 2.0, np.nan, 1.0]),  # jnp.unique([1, nan, nan, 2], size=4)
    "nonzero": (np.array([0, 1, 0]), np.array([1, 0, 0])),  # jnp.nonzero([[0, 1], [2, 0]], size=3)
    "nonzero_fill": (np.array([1, 2]),),  # jnp.nonzero([0, 1, 1, 1], size=2, fill_value=-1)
    "where": (np.array([0, 1, 1]), np.array([1, 0, 1])),  # jnp.where([[0, 1], [2, 3]], size=3)
    "argwhere": np.array([[0, 1], [1, 0], [9, 9]]),  # jnp.argwhere([[0, 1], [2, 0]], size=3, fill_value=9)
    "flatnonzero": np.array([1, 2, 0, 0]),  # jnp.flatnonzero([0, 1, 1], size=4)
    "bincount": np.array([1, 2, 0]),  # jnp.bincount([0, 1, 1, 5], length=3)
    "histogram": (np.array([4.0, 0.0, 1.0]), np.array([1.0, 3.666666666666667, 6.333333333333333, 9.0])),
    "quantile_nearest": np.array([1.0, 2.0, 3.0]),  # jnp.quantile([1, 2, 3, 4, 5], [.125, .375, .625], 'nearest')
    "nanargmax": np.array([2, -1]),  # jnp.nanargmax([[1, nan, 3], [nan, nan, nan]], axis=1)
    "intersect1d": np.array([1, 3, 1]),  # jnp.intersect1d([5, 1, 3, 1], [1, 2, 3], size=3)
    "setdiff1d": np.array([5, 0, 0]),  # jnp.setdiff1d(..., size=3)
    "setxor1d": np.array([2, 5, 2, 2]),  # jnp.setxor1d(..., size=4)
    "union1d": np.array([1, 2, 3, 5, 1, 1]),  # jnp.union1d(..., size=6)
    "polydiv": (np.array([0.5, -1.25, 0.375]), np.array([0.0, 0.0, 0.0, 5.375])),  # [1, -3, 2, 5] / [2, -1]
    "interp_grad": 5.0,  # jax.grad(lambda x: jnp.interp(x, [1, 2, 3], [10, 25, 30]))(2.0)
    "logaddexp2_grad": 0.5,  # jax.grad(jnp.logaddexp2)(3.0, 3.0)
    "logaddexp_grad": 0.49999999999999994,  # jax.grad(jnp.logaddexp)(1.0, 1.0)
    "median_grad": np.array([0.0, 0.0, 0.5, 0.5]),  # jax.grad(jnp.median)([4, 1, 3, 2])
    "delete": np.array([0, 2, 3]),  # jit(jnp.delete(a, i, assume_unique_indices=True))(arange(5), [4, 1])
    "unravel": (np.array([0, 1, 1, 1]), np.array([0, 2, 2, 2]), np.array([0, 3, 3, 3])),  # [0, 23, -1, 30], (2, 3, 4)
    "compress": np.array([8.0, 9.0, -1.0]),  # jnp.compress([F, T, T], [7, 8, 9], size=3, fill_value=-1)
}

SETS = (np.array([5, 1, 3, 1]), np.array([1, 2, 3]))
CALLS = {
    "partition": lambda: fnp.partition(np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]), 3),
    "argpartition": lambda: fnp.argpartition(np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]), 3),
    "argpartition2d": lambda: fnp.argpartition(np.array([[3, 1, 2], [0, 5, 4]]), 1, axis=0),
    "unique_size": lambda: fnp.unique(
        np.array([3, 1, 3, 2]), size=6, fill_value=-1, return_index=True, return_inverse=True, return_counts=True
    ),
    "unique_default_fill": lambda: fnp.unique(np.array([3, 1, 3, 2]), size=6),
    "unique_cut": lambda: fnp.unique(np.array([3, 1, 3, 2, 7, 8]), size=2, return_counts=True, return_index=True),
    "unique_nan": lambda: fnp.unique(np.array([1.0, np.nan, np.nan, 2.0]), size=4),
    "nonzero": lambda: fnp.nonzero(np.array([[0, 1], [2, 0]]), size=3),
    "nonzero_fill": lambda: fnp.nonzero(np.array([0, 1, 1, 1]), size=2, fill_value=-1),
    "where": lambda: fnp.where(np.array([[0, 1], [2, 3]]), size=3),
    "argwhere": lambda: fnp.argwhere(np.array([[0, 1], [2, 0]]), size=3, fill_value=9),
    "flatnonzero": lambda: fnp.flatnonzero(np.array([0, 1, 1]), size=4),
    "bincount": lambda: fnp.bincount(np.array([0, 1, 1, 5]), length=3),
    "histogram": lambda: fnp.histogram(np.array([1, 2, 2, 3, 9]), bins=3),
    "quantile_nearest": lambda: fnp.quantile(
        np.array([1.0, 2.0, 3.0, 4.0, 5.0]), np.array([0.125, 0.375, 0.625]), method="nearest"
    ),
    "nanargmax": lambda: fnp.nanargmax(np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan]]), axis=1),
    "intersect1d": lambda: fnp.intersect1d(*SETS, size=3),
    "setdiff1d": lambda: fnp.setdiff1d(*SETS, size=3),
    "setxor1d": lambda: fnp.setxor1d(*SETS, size=4),
    "union1d": lambda: fnp.union1d(*SETS, size=6),
    "polydiv": lambda: fnp.polydiv(np.array([1.0, -3.0, 2.0, 5.0]), np.array([2.0, -1.0])),
    "interp_grad": lambda: fnad.grad(lambda x: fnp.interp(x, np.array([1.0, 2, 3]), np.array([10.0, 25, 30])))(2.0),
    "logaddexp2_grad": lambda: fnad.grad(fnp.logaddexp2)(3.0, 3.0),
    "logaddexp_grad": lambda: fnad.grad(fnp.logaddexp)(1.0, 1.0),
    "median_grad": lambda: fnad.grad(fnp.median)(np.array([4.0, 1.0, 3.0, 2.0])),
    "delete": lambda: fnad.jit(lambda a, i: fnp.delete(a, i, assume_unique_indices=True))(
        np.arange(5), np.array([4, 1])
    ),
    "unravel": lambda: fnp.unravel_index(np.array([0, 23, -1, 30]), (2, 3, 4)),
    "compress": lambda: fnp.compress(np.array([False, True, True]), np.array([7.0, 8.0, 9.0]), size=3, fill_value=-1),
}


def _leaves(x):
    return [leaf for e in x for leaf in _leaves(e)] if isinstance(x, (tuple, list)) else [np.asarray(x)]


@pytest.mark.parametrize("key", sorted(JAX))
def test_jax_semantics_eagerly_and_under_jit(key):
    eager = CALLS[key]()
    jitted = fnad.jit(CALLS[key])() if not key.endswith("_grad") and key != "delete" else eager
    for result in (eager, jitted):
        got, want = _leaves(result), _leaves(JAX[key])
        assert len(got) == len(want), key
        for g, w in zip(got, want):
            close(g, w, rtol=1e-15, atol=0)


# ---------------------------------------------------------------------------------------------
# Derivatives against central differences, vmap against a loop

X5 = np.array([0.3, -1.2, 2.5, 0.7, 1.9])
DIFFERENTIABLE = {
    "interp": lambda x: fnp.sum(fnp.interp(x, np.array([-2.0, 0.0, 1.0, 3.0]), np.array([1.0, -1.0, 2.0, 0.5]))),
    "interp_fp": lambda fp: fnp.sum(fnp.interp(np.array([0.5, 1.7]), np.linspace(0, 2, 5), fp)),
    "polyval": lambda x: fnp.sum(fnp.polyval(x[:3], x)),
    "polyfit": lambda y: fnp.sum(fnp.polyfit(np.linspace(0, 1, 5), y, 2) ** 2),
    "median": lambda x: fnp.median(x * x),
    "quantile": lambda x: fnp.quantile(x, 0.3) + fnp.percentile(x, 80.0),
    "nanquantile": lambda x: fnp.nanquantile(fnp.where(x > 2, np.nan, x), 0.6),
    "convolve": lambda x: fnp.sum(fnp.convolve(x, x[:3] ** 2, mode="same") ** 2),
    "correlate": lambda x: fnp.sum(fnp.sin(fnp.correlate(x, np.array([1.0, -2.0]), mode="full"))),
    "nanmean": lambda x: fnp.nanmean(fnp.where(x > 2, np.nan, x) ** 2),
    "nanstd": lambda x: fnp.nanstd(fnp.where(x > 2, np.nan, x)),
    "nanmax": lambda x: fnp.nanmax(fnp.where(x > 2, np.nan, x)),
    "cov": lambda x: fnp.sum(fnp.cov(fnp.stack([x, fnp.sin(x)]), aweights=np.arange(1.0, 6.0))),
    "corrcoef": lambda x: fnp.corrcoef(x, x**2)[0, 1],
    "average": lambda x: fnp.average(x, weights=fnp.exp(x)),
    "trapezoid": lambda x: fnp.trapezoid(x**2, x=fnp.cumsum(fnp.abs(x))),
    "gradient": lambda x: fnp.sum(fnp.gradient(x**3, np.array([0.0, 0.5, 1.5, 2.0, 3.0])) ** 2),
    "logaddexp2": lambda x: fnp.sum(fnp.logaddexp2(x, x[::-1])),
    "sinc": lambda x: fnp.sum(fnp.sinc(x)),
    "i0": lambda x: fnp.sum(fnp.i0(x * 5)),
    "partition": lambda x: fnp.sum(fnp.partition(x, 2)[:3] ** 2),
    "vander": lambda x: fnp.sum(fnp.vander(x, 3)),
    "histogram_density": lambda w: fnp.sum(fnp.histogram(X5, 3, weights=w)[0] ** 2),
    "unique_size": lambda x: fnp.sum(fnp.unique(fnp.round(x), size=4) * x[:4]),
    "piecewise": lambda x: fnp.sum(fnp.piecewise(x, [x < 0, x > 1], [lambda t: t**2, fnp.sin, 1.0])),
    "insert_delete": lambda x: fnp.sum(fnp.delete(fnp.insert(x, 1, x[0] ** 2), 3) ** 2),
    "kaiser": lambda x: fnp.sum(fnp.kaiser(4, x[0] ** 2 + 1.0)),
}


@pytest.mark.parametrize("name", sorted(DIFFERENTIABLE))
def test_gradients_match_central_differences(name):
    f = DIFFERENTIABLE[name]
    expected = central_difference(lambda x: float(f(x)), X5)
    close(fnad.grad(f)(X5), expected, rtol=1e-6, atol=1e-6)


BATCHED = {
    "quantile": lambda x: fnp.quantile(x, np.array([0.2, 0.9])),
    "interp": lambda x: fnp.interp(np.array([0.1, 1.5]), np.array([0.0, 1.0, 2.0, 3.0]), x[:4]),
    "convolve": lambda x: fnp.convolve(x, np.array([1.0, 0.5])),
    "unique": lambda x: fnp.unique(fnp.round(x), size=3),
    "nonzero": lambda x: fnp.nonzero(x > 0.5, size=2, fill_value=-1)[0],
    "bincount": lambda x: fnp.bincount(fnp.astype(fnp.abs(x) * 2, np.int64), length=4),
    "histogram": lambda x: fnp.histogram(x, np.array([-1.0, 0.0, 1.0, 2.0]))[0],
    "polyval": lambda x: fnp.polyval(x, 0.7),
    "nanmedian": lambda x: fnp.nanmedian(fnp.where(x > 1.0, np.nan, x)),
    "partition": lambda x: fnp.partition(x, 1),
    "cov": lambda x: fnp.cov(x, x[::-1]),
    "setdiff1d": lambda x: fnp.setdiff1d(fnp.round(x), np.array([0.0, 1.0]), size=3),
}


@pytest.mark.parametrize("name", sorted(BATCHED))
def test_vmap_matches_a_python_loop(name):
    f = BATCHED[name]
    xs = RNG.normal(size=(3, 5))
    close(fnad.vmap(f)(xs), np.stack([np.asarray(f(x)) for x in xs]))


# ---------------------------------------------------------------------------------------------
# Errors


def test_data_dependent_shapes_under_jit_suggest_size():
    for f in (fnp.nonzero, fnp.unique, fnp.flatnonzero, lambda x: fnp.extract(x > 0, x)):
        with pytest.raises(fnad.ConcretizationError, match="size="):
            fnad.jit(f)(X5)
    with pytest.raises(fnad.ConcretizationError, match="bincount without length="):
        fnad.jit(fnp.bincount)(np.array([0, 1]))
    with pytest.raises(TypeError, match="size must be a non-negative Python int"):
        fnp.unique(X5, size=2.5)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="method must be one of"):
        fnp.quantile(X5, 0.5, method="weibull")
    with pytest.raises(ValueError, match="convolve: a and v must be 1-d"):
        fnp.convolve(np.ones((2, 2)), X5)
    with pytest.raises(ValueError, match="mode must be 'full', 'same' or 'valid'"):
        fnp.correlate(X5, X5, mode="circular")
    with pytest.raises(ValueError, match="traced indices need assume_unique_indices=True"):
        fnad.jit(lambda x, i: fnp.delete(x, i))(X5, np.array([1]))
    with pytest.raises(ValueError, match="partition: kth 7 is out of bounds"):
        fnp.partition(X5, 7)
    with pytest.raises(ValueError, match="xp and fp must be 1-d non-empty sequences of the same length"):
        fnp.interp(1.0, X5, X5[:3])
    with pytest.raises(NotImplementedError, match="edge_order=1"):
        fnp.gradient(X5, edge_order=2)


def test_vectorize_runs_eagerly_and_under_jit():
    dist = fnp.vectorize(lambda a, b: fnp.sqrt(fnp.sum((a - b) ** 2)), signature="(n),(n)->()")
    pts = RNG.normal(size=(4, 3))
    expected = np.linalg.norm(pts[:, None] - pts[None], axis=-1)
    close(dist(pts[:, None], pts[None]), expected)
    close(fnad.jit(lambda p: dist(p[:, None], p[None]))(pts), expected, rtol=1e-12)
    close(fnp.vectorize(lambda x, p: x**p, excluded={1})(X5, 2), X5**2)
    close(
        fnp.apply_along_axis(lambda v: fnp.stack([fnp.sum(v), fnp.max(v)]), 1, A),
        np.apply_along_axis(lambda v: np.stack([v.sum(), v.max()]), 1, A),
    )
    close(fnp.apply_over_axes(fnp.sum, A, [0, 2]), np.apply_over_axes(np.sum, A, [0, 2]))
