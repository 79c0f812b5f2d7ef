"""Linear algebra: the primitives (cholesky, triangular_solve, lu, eigh, qr) and fnad.numpy.linalg,
traced (staged IR, vmap, jit) against numpy.linalg on well-conditioned random stacks; derivatives
against finite differences (check_grads), jacfwd against jacrev, vmap against a loop."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnad
import fnad.numpy as fnp
from fnad.ir import eval_closed
from fnad.primitives import linalg as la
from fnad.test_util import check_grads

LA = fnp.linalg


def staged(f):
    """f through its IR (make_jaxpr, then re-binding each equation): the traced code path."""

    def g(*args):
        outs = eval_closed(fnad.make_jaxpr(f)(*args), *args)
        return outs[0] if len(outs) == 1 else outs

    return g


def well_conditioned(rng, batch, n):
    return rng.normal(size=batch + (n, n)) + 2 * n * np.eye(n)


def spd(rng, batch, n):
    m = rng.normal(size=batch + (n, n))
    return m @ np.swapaxes(m, -1, -2) + n * np.eye(n)


def spread_spd(rng, batch, n):
    """Symmetric positive definite with well-separated eigenvalues (for eigenvector derivatives)."""
    q, _ = np.linalg.qr(rng.normal(size=batch + (n, n)))
    w = 1.0 + 1.5 * np.arange(n) + rng.uniform(0, 0.5, size=batch + (n,))
    return (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)


cases = st.tuples(st.lists(st.integers(1, 3), max_size=2).map(tuple), st.integers(1, 5), st.integers(0, 2**32 - 1))


# ----------------------------------------------------------------------------------------------
# values


@given(cases)
def test_factorisations_match_numpy(case):
    batch, n, seed = case
    rng = np.random.default_rng(seed)
    a, s = well_conditioned(rng, batch, n), spd(rng, batch, n)
    np.testing.assert_allclose(staged(la.cholesky)(s), np.linalg.cholesky(s), rtol=1e-12, atol=1e-12)
    v, w = staged(la.eigh)(s)
    np.testing.assert_allclose(w, np.linalg.eigvalsh(s), rtol=1e-12)
    np.testing.assert_allclose((v * w[..., None, :]) @ np.swapaxes(v, -1, -2), s, rtol=1e-11, atol=1e-11)
    lu, pivots, perm = staged(la.lu)(a)
    l = np.tril(lu, -1) + np.eye(n)
    assert np.all(np.abs(l) <= 1 + 1e-15)  # partial pivoting
    np.testing.assert_allclose(np.take_along_axis(a, perm[..., None], -2), l @ np.triu(lu), rtol=1e-12, atol=1e-12)
    assert pivots.dtype == perm.dtype == np.int32
    replay = np.broadcast_to(np.arange(n, dtype=np.int32), batch + (n,)).copy()  # pivots -> permutation
    for i in range(n):
        rows = np.indices(batch)
        j = pivots[..., i]
        replay[(*rows, i)], replay[(*rows, j)] = replay[(*rows, j)], replay[(*rows, i)].copy()
    np.testing.assert_array_equal(replay, perm)
    q, r = staged(la.qr)(a)
    np.testing.assert_allclose(q @ r, a, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.swapaxes(q, -1, -2) @ q, np.broadcast_to(np.eye(n), q.shape), atol=1e-13)
    np.testing.assert_array_equal(np.triu(r), r)


@pytest.mark.parametrize("left_side", [True, False])
@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("transpose_a", [True, False])
@pytest.mark.parametrize("unit_diagonal", [True, False])
def test_triangular_solve(left_side, lower, transpose_a, unit_diagonal):
    rng = np.random.default_rng(0)
    a = well_conditioned(rng, (2,), 4)
    b = rng.normal(size=(2, 4, 3) if left_side else (2, 3, 4))
    t = np.tril(a) if lower else np.triu(a)
    if unit_diagonal:
        t = t - t * np.eye(4) + np.eye(4)
    op = np.swapaxes(t, -1, -2) if transpose_a else t
    params = {"left_side": left_side, "lower": lower, "transpose_a": transpose_a, "unit_diagonal": unit_diagonal}
    x = la.triangular_solve(a, b, **params)  # the other triangle of `a` is ignored
    np.testing.assert_allclose(op @ x if left_side else x @ op, b, atol=1e-13)
    np.testing.assert_allclose(staged(lambda a, b: la.triangular_solve(a, b, **params))(a, b), x, rtol=1e-14)
    check_grads(lambda a, b: la.triangular_solve(a, b, **params), (a, b), order=2)


@given(cases)
def test_numpy_linalg_functions_match_numpy(case):
    batch, n, seed = case
    rng = np.random.default_rng(seed)
    a, s = well_conditioned(rng, batch, n), spd(rng, batch, n)
    b, vec = rng.normal(size=batch + (n, 2)), rng.normal(size=n)
    for f, args in [
        (LA.solve, (a, b)),
        (LA.inv, (a,)),
        (LA.det, (a,)),
        (LA.cholesky, (s,)),
        (LA.eigvalsh, (s,)),
        (lambda x: LA.matrix_power(x, 3), (a,)),
        (lambda x: LA.matrix_power(x, -2), (a,)),
        (lambda x: LA.qr(x, "r"), (a,)),
    ]:
        expected = f(*args)  # eager: NumPy itself
        np.testing.assert_allclose(
            staged(f)(*args), np.abs(expected) if f is None else expected, rtol=1e-10, atol=1e-10
        )
    np.testing.assert_allclose(staged(LA.solve)(a, vec), np.linalg.solve(a, vec), rtol=1e-10, atol=1e-12)
    sign, logdet = staged(LA.slogdet)(a)
    np.testing.assert_allclose(sign, np.linalg.slogdet(a)[0])
    np.testing.assert_allclose(logdet, np.linalg.slogdet(a)[1], rtol=1e-12, atol=1e-12)
    _w, v = staged(LA.eigh)(s)
    np.testing.assert_allclose(np.abs(v), np.abs(np.linalg.eigh(s)[1]), rtol=1e-8, atol=1e-8)
    _q, r = staged(LA.qr)(a)
    _q0, r0 = np.linalg.qr(a)
    np.testing.assert_allclose(np.abs(r), np.abs(r0), rtol=1e-10, atol=1e-10)


def test_det_and_slogdet_signs_and_singular_matrices():
    perm = np.eye(3)[[1, 0, 2]]
    assert staged(LA.det)(perm) == -1.0
    np.testing.assert_allclose(staged(LA.slogdet)(np.diag([-2.0, 3.0, -1.0])), [1.0, np.log(6.0)])
    with np.errstate(divide="ignore"):
        sign, logdet = staged(LA.slogdet)(np.array([[1.0, 2.0], [2.0, 4.0]]))
    assert sign == 0 and logdet == -np.inf
    assert staged(LA.det)(np.zeros((2, 2))) == 0


def test_cholesky_of_non_positive_definite_is_nan_when_traced():
    bad = np.array([[[1.0, 2.0], [2.0, 1.0]], [[2.0, 0.0], [0.0, 3.0]]])
    out = staged(LA.cholesky)(bad)
    assert np.all(np.isnan(out[0])) and np.allclose(out[1], np.sqrt(np.diag([2.0, 3.0])))
    with pytest.raises(np.linalg.LinAlgError):
        LA.cholesky(bad)


@settings(max_examples=25)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple), st.integers(0, 2**32 - 1))
def test_norms_match_numpy(shape, seed):
    x = np.random.default_rng(seed).normal(size=shape)
    nd = len(shape)
    for ord in [None, 1, 2, np.inf, -np.inf, 0, 3, 0.5]:
        for axis in range(nd):
            np.testing.assert_allclose(
                staged(lambda v: LA.norm(v, ord, axis))(x), np.linalg.norm(x, ord, axis), rtol=1e-12
            )
    np.testing.assert_allclose(staged(LA.norm)(x), np.linalg.norm(x), rtol=1e-12)
    np.testing.assert_allclose(staged(lambda v: LA.norm(v, keepdims=True))(x), np.linalg.norm(x, keepdims=True))
    if nd >= 2:
        axes = (nd - 1, 0)
        for ord in [None, "fro", 1, -1, 2, -2, np.inf, -np.inf, "nuc"]:
            for keepdims in (False, True):
                np.testing.assert_allclose(
                    staged(lambda v: LA.norm(v, ord, axes, keepdims))(x),
                    np.linalg.norm(x, ord, axes, keepdims),
                    rtol=1e-8,
                    atol=1e-12,
                )


# ----------------------------------------------------------------------------------------------
# derivatives


def _matrix_exp_of_symmetric(a):
    """V diag(exp(w)) V^T: depends on eigenvectors but not on their signs."""
    w, v = LA.eigh(a)
    return fnp.matmul(v * fnp.expand_dims(fnp.exp(w), -2), fnp.swapaxes(v, -1, -2))


DERIVATIVE_CASES = {
    "solve": (LA.solve, lambda rng: (well_conditioned(rng, (2,), 3), rng.normal(size=(2, 3, 2)))),
    "solve_vector": (LA.solve, lambda rng: (well_conditioned(rng, (), 4), rng.normal(size=4))),
    "inv": (LA.inv, lambda rng: (well_conditioned(rng, (2,), 3),)),
    "det": (LA.det, lambda rng: (rng.normal(size=(2, 3, 3)),)),
    "slogdet": (lambda a: LA.slogdet(a)[1], lambda rng: (rng.normal(size=(3, 3)),)),
    "cholesky": (LA.cholesky, lambda rng: (spd(rng, (2,), 3),)),
    "eigvalsh": (LA.eigvalsh, lambda rng: (spread_spd(rng, (2,), 4),)),
    "eigh_vectors": (_matrix_exp_of_symmetric, lambda rng: (spread_spd(rng, (), 3) / 3,)),
    "qr": (LA.qr, lambda rng: (rng.normal(size=(2, 4, 3)),)),
    "lu": (lambda a: la.lu(a)[0], lambda rng: (well_conditioned(rng, (2,), 4),)),
    "norm2": (LA.norm, lambda rng: (rng.normal(size=(3, 2)),)),
    "matrix_norm2": (lambda a: LA.norm(a, 2), lambda rng: (rng.normal(size=(3, 3)),)),
    "nuc": (lambda a: LA.norm(a, "nuc"), lambda rng: (rng.normal(size=(3, 3)),)),
    "matrix_power": (lambda a: LA.matrix_power(a, -2), lambda rng: (well_conditioned(rng, (), 3),)),
}


@pytest.mark.parametrize("name", list(DERIVATIVE_CASES))
def test_derivatives_match_finite_differences(name):
    f, make = DERIVATIVE_CASES[name]
    args = make(np.random.default_rng(1))
    check_grads(f, args, order=2, eps=1e-4)


def test_closed_form_derivatives():
    rng = np.random.default_rng(2)
    a = well_conditioned(rng, (), 4)
    np.testing.assert_allclose(fnad.grad(LA.det)(a), np.linalg.det(a) * np.linalg.inv(a).T, rtol=1e-12)
    np.testing.assert_allclose(fnad.grad(lambda x: LA.slogdet(x)[1])(a), np.linalg.inv(a).T, rtol=1e-12)
    s = spread_spd(rng, (), 4)
    _w, v = np.linalg.eigh(s)
    # d w_k / dA = v_k v_k^T (for a symmetric A; the input is symmetrised)
    np.testing.assert_allclose(fnad.jacrev(LA.eigvalsh)(s), np.einsum("ik,jk->kij", v, v), atol=1e-12)
    b = rng.normal(size=4)
    x = np.linalg.solve(a, b)
    ga, gb = fnad.grad(lambda a, b: LA.solve(a, b).sum(), argnums=(0, 1))(a, b)
    lam = np.linalg.solve(a.T, np.ones(4))
    np.testing.assert_allclose(gb, lam, rtol=1e-12)
    np.testing.assert_allclose(ga, -np.outer(lam, x), rtol=1e-12)


@pytest.mark.parametrize("name", ["solve", "inv", "det", "cholesky", "eigvalsh", "eigh_vectors", "qr", "lu"])
def test_jacfwd_equals_jacrev(name):
    f, make = DERIVATIVE_CASES[name]
    args = make(np.random.default_rng(3))
    nums = tuple(range(len(args)))
    fwd, rev = fnad.jacfwd(f, nums)(*args), fnad.jacrev(f, nums)(*args)
    for x, y in zip(fnad.tree_util.tree_leaves(fwd), fnad.tree_util.tree_leaves(rev)):
        np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------------------------------------
# vmap and jit


@settings(max_examples=20)
@given(cases)
def test_vmap_matches_a_loop(case):
    batch, n, seed = case
    rng = np.random.default_rng(seed)
    a, s = well_conditioned(rng, (3,) + batch, n), spd(rng, (3,) + batch, n)
    b = rng.normal(size=(3,) + batch + (n, 2))
    for f, args, in_axes in [
        (LA.solve, (a, b), 0),
        (LA.solve, (a[0], b), (None, 0)),
        (LA.inv, (a,), 0),
        (LA.det, (a,), 0),
        (LA.cholesky, (s,), 0),
        (LA.eigvalsh, (s,), 0),
        (lambda x: la.lu(x)[0], (a,), 0),
        (lambda x: LA.qr(x)[1], (a,), 0),
    ]:
        axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
        loop = np.stack([f(*[x if ax is None else x[i] for x, ax in zip(args, axes)]) for i in range(3)])
        np.testing.assert_allclose(fnad.vmap(f, in_axes)(*args), loop, rtol=1e-10, atol=1e-12)
    # batch axis not at the front, and vmap of grad
    moved = np.moveaxis(a, 0, -1)
    np.testing.assert_allclose(fnad.vmap(LA.inv, in_axes=-1)(moved), np.linalg.inv(a), rtol=1e-10, atol=1e-12)
    g = fnad.vmap(fnad.grad(lambda x: LA.slogdet(x)[1].sum()))(a)
    np.testing.assert_allclose(g, np.swapaxes(np.linalg.inv(a), -1, -2), rtol=1e-10, atol=1e-12)


def test_primitive_batching_with_unbatched_operand():
    rng = np.random.default_rng(4)
    a, b = well_conditioned(rng, (), 3), rng.normal(size=(5, 3, 2))
    f = lambda a, b: la.triangular_solve(a, b, left_side=True, lower=False)
    np.testing.assert_allclose(fnad.vmap(f, in_axes=(None, 0))(a, b), np.stack([f(a, x) for x in b]), rtol=1e-12)
    np.testing.assert_allclose(
        fnad.vmap(f, in_axes=(None, 2), out_axes=1)(a, b.transpose(1, 2, 0)),
        np.stack([f(a, x) for x in b], 1),
        rtol=1e-12,
    )


def test_jit_matches_eager(mode):
    rng = np.random.default_rng(5)
    a, s, b = well_conditioned(rng, (2,), 3), spd(rng, (2,), 3), rng.normal(size=(2, 3))
    try:
        np.testing.assert_allclose(mode(LA.solve)(a, b[..., None]), np.linalg.solve(a, b[..., None]), rtol=1e-12)
    except NotImplementedError as e:
        if "no lowering for primitive" not in str(e):
            raise
        pytest.skip(f"the compiler cannot lower the linear-algebra primitives yet: {str(e)[:80]}")
    np.testing.assert_allclose(mode(LA.cholesky)(s), np.linalg.cholesky(s), rtol=1e-12)
    np.testing.assert_allclose(mode(fnad.grad(lambda x: LA.det(x).sum()))(a), fnad.grad(lambda x: LA.det(x).sum())(a))


def test_shape_and_dtype_errors():
    with pytest.raises(ValueError, match="square"):
        staged(LA.inv)(np.ones((2, 3)))
    with pytest.raises(ValueError, match="solve.*b.shape\\[-2\\] == 3"):
        staged(LA.solve)(np.eye(3), np.ones((4, 2)))
    with pytest.raises(ValueError, match="triangular_solve: incompatible"):
        la.triangular_solve(np.eye(3), np.ones((2, 3)))
    with pytest.raises(TypeError, match="floating-point"):
        la.cholesky(np.eye(2, dtype=np.int64))
    with pytest.raises(ValueError, match="qr: expected a matrix"):
        staged(LA.qr)(np.ones(3))
    # integer inputs are converted to float64, as NumPy does
    np.testing.assert_allclose(staged(LA.inv)(np.array([[2, 0], [0, 4]])), [[0.5, 0], [0, 0.25]])
