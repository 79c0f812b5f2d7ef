"""lax functions of issue 14 section 5 built from other primitives: reduce, associative_scan,
cumlogsumexp, dot, clamp, top_k, custom_linear_solve, custom_root. Values against NumPy and JAX (JAX
0.10.2 with x64, the calls quoted), derivatives against central differences and closed forms, vmap
against a loop, jit against eager."""

import numpy as np
import pytest

import fnad
import fnad.numpy as fnp
from fnad import lax
from tests.test_control_flow import fd_grad as central_grad

RNG = np.random.default_rng(14)


def _logaddexp(a, b):  # a computation no reduction primitive implements
    return fnp.logaddexp(a, b)


# ----------------------------------------------------------------------------------------------
# reduce


@pytest.mark.parametrize("shape,dims", [((7,), (0,)), ((3, 5), (1,)), ((4, 3, 2), (0, 2)), ((2, 6), (0, 1))])
def test_reduce_matches_numpy_for_monoids_and_a_general_computation(shape, dims):
    x = RNG.normal(size=shape)
    np.testing.assert_allclose(lax.reduce(x, 0.0, lax.add, dims), x.sum(axis=dims), rtol=1e-12)
    np.testing.assert_allclose(lax.reduce(x, -np.inf, lax.max, dims), x.max(axis=dims))
    expected = np.log(np.exp(x).sum(axis=dims))
    np.testing.assert_allclose(lax.reduce(x, -np.inf, _logaddexp, dims), expected, rtol=1e-12)
    np.testing.assert_allclose(fnad.jit(lambda x: lax.reduce(x, -np.inf, _logaddexp, dims))(x), expected, rtol=1e-12)
    # The init value enters once (JAX: lax.reduce(jnp.arange(5.), 10., lax.add, (0,)) == 20.).
    assert float(lax.reduce(np.arange(5.0), 10.0, lax.add, (0,))) == 20.0


def test_reduce_of_pytrees_and_its_derivative():
    vals, idx = RNG.normal(size=(3, 5)), np.tile(np.arange(5), (3, 1))

    def argmax_pair(a, b):  # (value, index) of the larger; a general, non-elementwise-primitive fold
        take_a = a[0] >= b[0]
        return fnp.where(take_a, a[0], b[0]), fnp.where(take_a, a[1], b[1])

    m, i = lax.reduce((vals, idx), (-np.inf, 0), argmax_pair, (1,))
    np.testing.assert_array_equal(m, vals.max(1))
    np.testing.assert_array_equal(i, vals.argmax(1))

    def f(x):
        return lax.reduce(x, -np.inf, _logaddexp, (0,)).sum()

    x = RNG.normal(size=(6, 2))
    g = fnad.grad(f)(x)
    np.testing.assert_allclose(g, np.exp(x) / np.exp(x).sum(0), rtol=1e-10)
    np.testing.assert_allclose(g, central_grad(lambda x: float(f(x)), x), rtol=1e-6)
    np.testing.assert_allclose(fnad.jit(fnad.grad(f))(x), g, rtol=1e-12)
    batched = fnad.vmap(lambda x: lax.reduce(x, -np.inf, _logaddexp, (0,)))(RNG.normal(size=(4, 5, 3)))
    assert batched.shape == (4, 3)


def test_reduce_refuses_bad_input():
    with pytest.raises(TypeError, match="same structure"):
        lax.reduce((np.ones(3), np.ones(3)), 0.0, lax.add, (0,))
    with pytest.raises(TypeError, match="scalar of its operand's dtype"):
        lax.reduce(np.ones(3), np.zeros(2), lax.add, (0,))
    with pytest.raises(ValueError, match="distinct axes"):
        lax.reduce(np.ones(3), 0.0, lax.add, (1,))


# ----------------------------------------------------------------------------------------------
# associative_scan and cumlogsumexp


@pytest.mark.parametrize("n", list(range(1, 10)) + [16, 33])
def test_associative_scan_gives_every_prefix(n):
    x = RNG.normal(size=(n, 3))
    np.testing.assert_allclose(lax.associative_scan(lax.add, x), np.cumsum(x, 0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        lax.associative_scan(lax.add, x, reverse=True), np.cumsum(x[::-1], 0)[::-1], rtol=1e-12, atol=1e-12
    )
    np.testing.assert_allclose(lax.associative_scan(fnp.maximum, x.T, axis=1), np.maximum.accumulate(x.T, 1))
    # A non-commutative combination: matrix products, in order.
    mats = RNG.normal(size=(n, 2, 2))
    expected, acc = [], np.eye(2)
    for m in mats:
        acc = acc @ m
        expected.append(acc)
    np.testing.assert_allclose(lax.associative_scan(fnp.matmul, mats), np.array(expected), rtol=1e-10, atol=1e-12)


def test_associative_scan_of_a_linear_recurrence_pytree_differentiates():
    # h_t = a_t h_{t-1} + b_t as a scan of (a, b) pairs: JAX's reverse example gives
    # lax.associative_scan(fn, (jnp.arange(1., 6.), jnp.ones(5)), reverse=True) ==
    # ([120, 120, 60, 20, 5], [34, 33, 16, 5, 1]).
    def fn(p, q):
        return p[0] * q[0], p[1] * q[0] + q[1]

    a, b = lax.associative_scan(fn, (np.arange(1.0, 6.0), np.ones(5)), reverse=True)
    np.testing.assert_allclose(a, [120, 120, 60, 20, 5])
    np.testing.assert_allclose(b, [34, 33, 16, 5, 1])

    def loss(a, b):
        return (lax.associative_scan(fn, (a, b))[1] ** 2).sum()

    a0, b0 = RNG.uniform(0.5, 1.0, 7), RNG.normal(size=7)
    h, ref = 0.0, 0.0
    for at, bt in zip(a0, b0):
        h = at * h + bt
        ref += h * h
    assert np.isclose(float(loss(a0, b0)), ref, rtol=1e-12)
    ga, gb = fnad.grad(loss, (0, 1))(a0, b0)
    np.testing.assert_allclose(ga, central_grad(lambda a: float(loss(a, b0)), a0), rtol=1e-6)
    np.testing.assert_allclose(gb, central_grad(lambda b: float(loss(a0, b)), b0), rtol=1e-6)
    jg = fnad.jit(fnad.grad(loss, (0, 1)))(a0, b0)
    np.testing.assert_allclose(jg[0], ga, rtol=1e-12)
    rows = RNG.normal(size=(3, 7))
    batched = fnad.vmap(lambda b: lax.associative_scan(fn, (a0, b))[1])(rows)
    np.testing.assert_allclose(batched, [lax.associative_scan(fn, (a0, r))[1] for r in rows], rtol=1e-12)


def test_cumlogsumexp_is_stable_and_differentiable():
    x = np.array([1.0, -1000.0, 2.0, 0.0])
    # JAX: lax.cumlogsumexp(jnp.array([1., -1000., 2., 0.]), reverse=True)
    np.testing.assert_allclose(lax.cumlogsumexp(x, reverse=True), [2.40760596, 2.12692801, 2.12692801, 0.0], rtol=1e-8)
    np.testing.assert_allclose(lax.cumlogsumexp(x), np.logaddexp.accumulate(x), rtol=1e-12)
    big = np.array([800.0, 0.0, 801.0])  # exp overflows: the scan of logaddexp does not
    np.testing.assert_allclose(fnad.jit(lax.cumlogsumexp)(big), np.logaddexp.accumulate(big), rtol=1e-12)
    y = RNG.normal(size=(5, 4))
    g = fnad.grad(lambda y: lax.cumlogsumexp(y, axis=1)[:, -1].sum())(y)
    np.testing.assert_allclose(g, np.exp(y) / np.exp(y).sum(1, keepdims=True), rtol=1e-10)
    with pytest.raises(TypeError, match="floating-point"):
        lax.cumlogsumexp(np.arange(3))


# ----------------------------------------------------------------------------------------------
# dot, clamp, top_k


def test_dot_forms_and_errors():
    a, v = RNG.normal(size=(2, 3)), RNG.normal(size=3)
    np.testing.assert_allclose(lax.dot(a, v), a @ v)
    np.testing.assert_allclose(lax.dot(v, v), v @ v)
    np.testing.assert_allclose(lax.dot(a, a.T), a @ a.T)
    t = lax.dot(np.ones((2, 3, 4)), np.ones((5, 4, 6)), dimension_numbers=(((2,), (1,)), ((), ())))
    assert t.shape == (2, 3, 5, 6)
    assert lax.dot(a.astype(np.float32), v.astype(np.float32), preferred_element_type=np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="dimension_numbers"):
        lax.dot(np.ones((2, 3)), np.ones(4))


def test_clamp_values_derivatives_and_errors():
    x = np.array([-1.0, 0.0, 0.5, 1.0, 2.0])
    np.testing.assert_array_equal(lax.clamp(0.0, x, 1.0), np.clip(x, 0, 1))
    np.testing.assert_array_equal(fnad.jit(lambda x: lax.clamp(0.0, x, 1.0))(x), np.clip(x, 0, 1))
    # JAX: the operand's derivative is 1 strictly inside the bounds only, a bound's where it strictly binds
    # (jax.grad(lambda x: lax.clamp(0., x, 1.))(0.) == 0.; jax.grad(lambda m: lax.clamp(m, 0., 1.))(0.) == 0.).
    gx = fnad.vmap(fnad.grad(lambda x: lax.clamp(0.0, x, 1.0)))(x)
    np.testing.assert_array_equal(gx, [0, 0, 1, 0, 0])
    glo = fnad.vmap(fnad.grad(lambda lo: lax.clamp(lo, 0.5, 1.0)))(np.array([0.0, 0.5, 0.7, 2.0]))
    np.testing.assert_array_equal(glo, [0, 0, 1, 0])  # at 2.0 the lower bound is above the upper one
    ghi = fnad.vmap(fnad.grad(lambda hi: lax.clamp(0.0, 0.5, hi)))(np.array([0.2, 0.5, 0.7]))
    np.testing.assert_array_equal(ghi, [1, 0, 0])
    lo, hi = np.zeros(5), np.full(5, 1.0)
    g = fnad.grad(lambda lo: lax.clamp(lo, x, hi).sum())(lo)
    np.testing.assert_array_equal(g, [1, 0, 0, 0, 0])
    with pytest.raises(TypeError, match="same dtypes"):
        lax.clamp(np.float32(0), np.arange(3.0), 1.0)
    with pytest.raises(TypeError, match="min.shape == operand.shape"):
        lax.clamp(np.zeros(2), np.arange(3.0), 1.0)


def test_top_k_matches_jax_including_ties_and_nan():
    # JAX: lax.top_k(jnp.array([1., nan, 2., 2., -inf]), 4) == ([nan, 2, 2, 1], [1, 2, 3, 0])
    v, i = lax.top_k(np.array([1.0, np.nan, 2.0, 2.0, -np.inf]), 4)
    np.testing.assert_array_equal(v, [np.nan, 2, 2, 1])
    np.testing.assert_array_equal(i, [1, 2, 3, 0])
    assert i.dtype == np.int32
    # JAX: lax.top_k(jnp.array([[3,1,3],[0,5,5]], jnp.int32), 2) == ([[3,3],[5,5]], [[0,2],[1,2]])
    v, i = lax.top_k(np.array([[3, 1, 3], [0, 5, 5]], np.int32), 2)
    np.testing.assert_array_equal(v, [[3, 3], [5, 5]])
    np.testing.assert_array_equal(i, [[0, 2], [1, 2]])
    x = RNG.normal(size=(4, 9))
    v, i = fnad.jit(lambda x: lax.top_k(x, 3))(x)
    np.testing.assert_array_equal(v, -np.sort(-x, 1)[:, :3])
    np.testing.assert_array_equal(i, np.argsort(-x, 1, kind="stable")[:, :3])
    v0, _ = lax.top_k(x, 2, axis=0)
    np.testing.assert_array_equal(v0, -np.sort(-x, 0)[:2])
    g = fnad.grad(lambda x: (lax.top_k(x, 2)[0] ** 2).sum())(np.array([1.0, 3.0, 2.0]))
    np.testing.assert_array_equal(g, [0, 6, 4])
    np.testing.assert_array_equal(fnad.vmap(lambda r: lax.top_k(r, 3)[1])(x), np.argsort(-x, 1)[:, :3])
    with pytest.raises(ValueError, match="k must be"):
        lax.top_k(x, 10)
    with pytest.raises(TypeError, match="scalar"):
        lax.top_k(np.float64(1.0), 1)


def test_sort_of_several_operands_returns_a_tuple_as_jax():
    out = lax.sort((np.array([2, 1, 2]), np.array([10.0, 20.0, 30.0])), num_keys=1)
    assert isinstance(out, tuple)
    np.testing.assert_array_equal(out[1], [20.0, 10.0, 30.0])


# ----------------------------------------------------------------------------------------------
# custom_linear_solve and custom_root


def _cg(matvec, b, steps):
    def body(i, state):
        x, r, p = state
        ap = matvec(p)
        alpha = (r @ r) / (p @ ap)
        x, r_new = x + alpha * p, r - alpha * ap
        return x, r_new, r_new + (r_new @ r_new) / (r @ r) * p

    return lax.fori_loop(0, steps, body, (fnp.zeros_like(b), b, b))[0]


SPD = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]])


def _spd_loss(a, b):
    x = lax.custom_linear_solve(lambda x: a @ x, b, lambda mv, b: _cg(mv, b, 3), symmetric=True)
    return (x**2).sum()


def test_custom_linear_solve_derivatives_are_those_of_the_exact_solution():
    b = np.array([1.0, 2.0, -1.0])
    x = np.linalg.solve(SPD, b)
    assert np.isclose(float(_spd_loss(SPD, b)), x @ x, rtol=1e-12)
    ga, gb = fnad.grad(_spd_loss, (0, 1))(SPD, b)
    w = np.linalg.solve(SPD.T, 2 * x)  # closed form: d(x.x)/db = A^-T 2x, d/dA = -w x^T
    np.testing.assert_allclose(gb, w, rtol=1e-10)
    np.testing.assert_allclose(ga, -np.outer(w, x), rtol=1e-10)
    np.testing.assert_allclose(gb, central_grad(lambda b: float(_spd_loss(SPD, b)), b), rtol=1e-6)
    jga, jgb = fnad.jit(fnad.grad(_spd_loss, (0, 1)))(SPD, b)
    np.testing.assert_allclose(jgb, gb, rtol=1e-12)
    np.testing.assert_allclose(jga, ga, rtol=1e-12)
    rows = RNG.normal(size=(4, 3))
    np.testing.assert_allclose(
        fnad.vmap(_spd_loss, (None, 0))(SPD, rows), [float(_spd_loss(SPD, r)) for r in rows], rtol=1e-12
    )
    solve = lambda b: lax.custom_linear_solve(lambda x: SPD @ x, b, lambda mv, b: _cg(mv, b, 3), symmetric=True)
    np.testing.assert_allclose(fnad.jacfwd(solve)(b), np.linalg.inv(SPD), rtol=1e-10)
    np.testing.assert_allclose(fnad.jacrev(solve)(b), np.linalg.inv(SPD), rtol=1e-10)


def test_custom_linear_solve_uses_transpose_solve_and_says_when_it_is_missing():
    a = np.array([[4.0, 1.0], [-2.0, 3.0]])
    calls = []

    def solve(matvec, b):
        return fnp.linalg.solve(a, b)

    def transpose_solve(vecmat, b):
        calls.append(vecmat)
        return fnp.linalg.solve(a.T, b)

    f = lambda b: (lax.custom_linear_solve(lambda x: a @ x, b, solve, transpose_solve) ** 2).sum()
    b = np.array([1.0, 2.0])
    inv = np.linalg.inv(a)
    np.testing.assert_allclose(fnad.grad(f)(b), 2 * inv.T @ inv @ b, rtol=1e-12)
    np.testing.assert_allclose(calls[0](np.array([1.0, 0.0])), a.T @ [1.0, 0.0])  # vecmat is matvec's transpose
    np.testing.assert_allclose(fnad.hessian(f)(b), 2 * inv.T @ inv, rtol=1e-12)
    with pytest.raises(TypeError, match="transpose_solve is required"):
        fnad.grad(lambda b: lax.custom_linear_solve(lambda x: a @ x, b, solve).sum())(b)
    x, aux = lax.custom_linear_solve(lambda x: a @ x, b, lambda mv, b: (solve(mv, b), 3), has_aux=True)
    np.testing.assert_allclose(x, inv @ b)
    assert int(aux) == 3


def _newton_sqrt(a):
    def solve(f, x):
        return lax.fori_loop(0, 30, lambda i, x: x - f(x) / (2 * x), x)

    return lax.custom_root(lambda x: x**2 - a, 1.0, solve, lambda g, y: y / g(1.0))


def test_custom_root_scalar_derivatives_of_every_order():
    assert np.isclose(float(_newton_sqrt(4.0)), 2.0)
    assert np.isclose(float(fnad.grad(_newton_sqrt)(4.0)), 0.25)
    assert np.isclose(float(fnad.jit(fnad.grad(_newton_sqrt))(4.0)), 0.25)
    assert np.isclose(float(fnad.grad(fnad.grad(_newton_sqrt))(4.0)), -1 / 32)
    a = np.array([1.0, 4.0, 9.0])
    np.testing.assert_allclose(fnad.vmap(fnad.grad(_newton_sqrt))(a), 0.5 / np.sqrt(a), rtol=1e-12)


def test_custom_root_of_a_system_with_aux():
    def root(p):
        f = lambda x: fnp.array([x[0] ** 2 + x[1] - p[0], x[1] ** 3 - p[1]])

        def solve(f, x):
            return lax.fori_loop(0, 40, lambda i, x: x - fnp.linalg.solve(fnad.jacfwd(f)(x), f(x)), x), 7

        tangent_solve = lambda g, y: fnp.linalg.solve(fnad.jacfwd(g)(y), y)
        return lax.custom_root(f, fnp.ones(2), solve, tangent_solve, has_aux=True)

    p = np.array([5.0, 8.0])
    x, aux = root(p)
    np.testing.assert_allclose(x, [np.sqrt(3.0), 2.0], rtol=1e-12)
    assert int(aux) == 7
    fd = np.array([(root(p + 1e-6 * e)[0] - root(p - 1e-6 * e)[0]) / 2e-6 for e in np.eye(2)]).T
    jr = fnad.jacrev(lambda p: root(p)[0])(p)
    np.testing.assert_allclose(jr, fd, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(fnad.jacfwd(lambda p: root(p)[0])(p), jr, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint32, np.uint64])
def test_population_count_counts_twos_complement_bits_in_every_integer_dtype(dtype):
    info = np.iinfo(dtype)
    x = np.array([0, 1, 7, info.max, info.min, info.max // 3, -1 if info.min else 5], dtype=dtype)
    expected = np.array([(int(v) & ((1 << info.bits) - 1)).bit_count() for v in x], dtype)
    for f in (lax.population_count, fnad.jit(lax.population_count)):
        got = f(x)
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, expected)
    with pytest.raises(TypeError, match="population_count does not accept dtype float64"):
        lax.population_count(np.ones(2))
