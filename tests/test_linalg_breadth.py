"""The breadth of jax.scipy.linalg and jax.lax.linalg (issue 14): the Schur, Hessenberg and tridiagonal
reductions, Householder products, tridiagonal solves (fnad/primitives/linalg_forms.py), and what is
built on them (rsf2csf, funm, solve_sylvester, polar/qdwh, qr_multiply, eigh_tridiagonal, the special
matrices). Values against SciPy/NumPy and against JAX reference data (tests/data/linalg_breadth_jax.npz,
written by tests/data/make_linalg_breadth_jax.py with JAX 0.10.2, x64), identities such as Z T Z^H = A
where the factorisation is not unique, derivatives against central finite differences, vmap against a
loop, jit against eager, and clear errors."""

import pathlib

import numpy as np
import pytest
import scipy.linalg as sla

import fnad
import fnad.numpy as fnp
from fnad import lax
from fnad.scipy import linalg as fsl
from fnad.test_util import check_grads

JAX = np.load(pathlib.Path(__file__).parent / "data" / "linalg_breadth_jax.npz")


def rand(*shape, seed=0, complex_=False):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape)
    return x + 1j * rng.normal(size=shape) if complex_ else x


def assert_close(actual, expected, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=rtol, atol=atol)


def eager_and_jit(f):
    return [f, fnad.jit(f)]


def adjoint(x):
    return np.conj(np.swapaxes(np.asarray(x), -1, -2))


# ----------------------------------------------------------------------------------------------
# The primitives against JAX (LAPACK's representations: the same reflectors, signs included)


@pytest.mark.parametrize("which", ["a", "ac"])
def test_hessenberg_matches_jax(which):
    for f in eager_and_jit(lax.linalg.hessenberg):
        packed, taus = f(JAX[which])
        assert_close(packed, JAX["hess_" + which], atol=1e-12)
        assert_close(taus, JAX["hess_taus" + ("c" if which == "ac" else "")], atol=1e-12)


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("which", ["s", "hc"])
def test_tridiagonal_matches_jax(which, lower):
    m = JAX["a"] + JAX["a"].T if which == "s" else JAX["ac"] + adjoint(JAX["ac"])
    for f in eager_and_jit(lambda m: lax.linalg.tridiagonal(m, lower=lower)):
        for got, key in zip(f(m), "adet"):
            assert_close(got, JAX[f"trd_{which}_{int(lower)}_{key}"], atol=1e-12)


def test_householder_products_and_tridiagonal_solve_match_jax():
    h, taus, c = JAX["qr_h"], JAX["qr_taus"], JAX["c"]
    for f in eager_and_jit(lax.linalg.householder_product):
        assert_close(f(h, taus), JAX["hp"])
    for f in eager_and_jit(lambda h, t, c: lax.linalg.ormqr(h, t, c, left=True, transpose=True)):
        assert_close(f(h, taus, c), JAX["ormqr_lt"])
    for f in eager_and_jit(lambda h, t, c: lax.linalg.ormqr(h, t, c, left=False)):
        assert_close(f(h, taus, c.T.copy()), JAX["ormqr_rn"])
    for f in eager_and_jit(lax.linalg.tridiagonal_solve):
        assert_close(f(JAX["dl"], JAX["d"], JAX["du"], JAX["b"]), JAX["gtsv"])


# ----------------------------------------------------------------------------------------------
# Stacks, dtypes and identities


@pytest.mark.parametrize("dtype", [np.float64, np.complex128, np.float32, np.complex64])
def test_reductions_reconstruct_stacks_of_every_dtype(dtype):
    complex_ = np.issubdtype(dtype, np.complexfloating)
    a = rand(2, 3, 5, 5, complex_=complex_).astype(dtype)
    tol = 1e-4 if dtype in (np.float32, np.complex64) else 1e-12
    herm = a + adjoint(a)
    for calc in eager_and_jit(lambda a: fsl.hessenberg(a, calc_q=True)):
        h, q = calc(a)
        assert h.dtype == dtype and q.dtype == dtype
        assert_close(q @ h @ adjoint(q), a, atol=tol * 10, rtol=tol)
        assert_close(adjoint(q) @ q, np.broadcast_to(np.eye(5), a.shape), atol=tol)
        assert not np.tril(np.asarray(h), -2).any()
    for trd in eager_and_jit(lambda m: lax.linalg.tridiagonal(m)):
        _, d, e, _ = trd(herm)
        assert d.dtype == e.dtype == np.finfo(dtype).dtype
        t = np.asarray(d)[..., :, None] * np.eye(5)
        t[..., np.arange(1, 5), np.arange(4)] = t[..., np.arange(4), np.arange(1, 5)] = e
        assert_close(np.linalg.eigvalsh(t), np.linalg.eigvalsh(herm), atol=tol * 10, rtol=tol)
    assert_close(fsl.hessenberg(a.astype(np.complex128)), [[sla.hessenberg(m) for m in s] for s in a], atol=1e-4)
    for schur in eager_and_jit(lax.linalg.schur):
        t, z = schur(a)
        assert t.dtype == z.dtype == dtype
        assert_close(z @ t @ adjoint(z), a, atol=tol * 10, rtol=tol)
    assert fsl.schur(np.zeros((0, 0)))[0].shape == (0, 0)


def _check_schur(a, t, z, real):
    a, t, z = (np.asarray(x) for x in (a, t, z))
    n = a.shape[-1]
    scale = np.abs(a).max() or 1.0
    assert_close(z @ t @ adjoint(z) / scale, a / scale, atol=1e-11 * n, rtol=0)
    assert_close(adjoint(z) @ z, np.broadcast_to(np.eye(n), a.shape), atol=1e-12 * n)
    assert not np.tril(t, -2).any()
    if not real:
        assert not np.tril(t, -1).any()
        return
    sub = np.diagonal(t, -1, -2, -1)
    assert not (sub[..., 1:] * sub[..., :-1]).any(), "two 2x2 blocks overlap"
    for index in zip(*np.nonzero(sub)):  # each 2x2 block holds a complex-conjugate pair
        *batch, k = index
        block = t[(*batch, slice(k, k + 2), slice(k, k + 2))]
        assert np.abs(np.linalg.eigvals(block).imag).min() > 0
        assert_close(block[0, 0], block[1, 1], atol=1e-12 * scale)  # LAPACK's standard form
    eigs = np.sort_complex(np.linalg.eigvals(t).reshape(-1))
    assert_close(eigs / scale, np.sort_complex(np.linalg.eigvals(a).reshape(-1)) / scale, atol=1e-7)


HARD = {
    "jordan": np.eye(5) + np.eye(5, k=1),
    "cyclic": np.roll(np.eye(6), 1, axis=0),  # eigenvalues on the unit circle: needs exceptional shifts
    "zeros": np.zeros((4, 4)),
    "rank_one": np.outer(np.arange(1.0, 5.0), np.arange(2.0, 6.0)),
    "companion": sla.companion([1.0, -10.0, 35.0, -50.0, 24.0]),  # roots 1..4
    "one": np.array([[2.5]]),
    "symmetric": np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 5.0], [3.0, 5.0, 6.0]]),
    "rotation": np.array([[0.0, -1.0], [1.0, 0.0]]),
    "tiny": rand(5, 5, seed=30) * 1e-200,  # scaled norms and shifts: no underflow
    "huge": rand(5, 5, seed=31) * 1e200,
}


@pytest.mark.parametrize("name", sorted(HARD))
def test_schur_of_hard_matrices(name):
    a = HARD[name]
    for f in eager_and_jit(fsl.schur):
        _check_schur(a, *f(a), real=True)
    for f in eager_and_jit(lambda a: fsl.schur(a, output="complex")):
        t, z = f(a)
        assert t.dtype == np.complex128
        _check_schur(a, t, z, real=False)


@pytest.mark.parametrize("complex_", [False, True])
def test_schur_of_stacks_eagerly_under_jit_and_vmap(complex_):
    a = rand(3, 6, 6, seed=3, complex_=complex_)
    for f in eager_and_jit(lax.linalg.schur):
        _check_schur(a, *f(a), real=not complex_)
    (t_alone,) = lax.linalg.schur(a, compute_schur_vectors=False)  # a list of one, as JAX's
    assert_close(t_alone, lax.linalg.schur(a)[0])
    # the same algorithm matrix by matrix: vmap is the loop
    t, z = fnad.vmap(lax.linalg.schur)(a)
    loop = [lax.linalg.schur(m) for m in a]
    assert_close(t, np.stack([x[0] for x in loop]))
    assert_close(z, np.stack([x[1] for x in loop]))


def test_schur_under_jit_is_lapacks_gees_as_jax():
    # gees orders the eigenvalues as JAX's (the rotation inside a 2x2 block may differ between LAPACKs)
    t, z = fnad.jit(lax.linalg.schur)(JAX["a"])
    assert_close(np.diag(t), np.diag(JAX["schur_t"]), atol=1e-10)
    assert_close(np.linalg.norm(t), np.linalg.norm(JAX["schur_t"]))
    _check_schur(JAX["a"], t, z, real=True)


def test_non_finite_input_gives_nan():
    bad = np.array([[1.0, np.nan], [0.0, 1.0]])
    for f in eager_and_jit(lambda a: lax.linalg.schur(a)):
        assert all(np.isnan(np.asarray(x)).all() for x in f(bad))
    singular = (np.zeros(3), np.zeros(3), np.zeros(3), np.ones((3, 1)))
    for f in eager_and_jit(lax.linalg.tridiagonal_solve):
        assert np.isnan(np.asarray(f(*singular))).all()


@pytest.mark.parametrize("complex_", [False, True])
def test_householder_product_and_ormqr_against_numpy_qr(complex_):
    a = rand(2, 6, 4, seed=5, complex_=complex_)
    h, taus = np.linalg.qr(a, mode="raw")
    h = np.ascontiguousarray(np.swapaxes(h, -1, -2))
    q_full = np.linalg.qr(a, mode="complete")[0]
    c = rand(2, 6, 3, seed=6, complex_=complex_)
    for f in eager_and_jit(lax.linalg.householder_product):
        assert_close(f(h, taus), np.linalg.qr(a)[0])
    for left in (True, False):
        for transpose in (False, True):
            q = adjoint(q_full) if transpose else q_full
            operand = c if left else adjoint(c)
            expected = q @ operand if left else operand @ q
            f = lambda h, t, c: lax.linalg.ormqr(h, t, c, left=left, transpose=transpose)
            for g in eager_and_jit(f):
                assert_close(g(h, taus, operand), expected)
            assert_close(fnad.vmap(f)(h, taus, operand), [f(*args) for args in zip(h, taus, operand)])


# ----------------------------------------------------------------------------------------------
# tridiagonal_solve: values, derivatives (all four arguments), vmap


def _tridiagonal(dl, d, du):
    return np.diag(d) + np.diag(dl[1:], -1) + np.diag(du[:-1], 1)


@pytest.mark.parametrize("complex_", [False, True])
def test_tridiagonal_solve_values_vmap_and_derivatives(complex_):
    dl, d, du = rand(3, 5, seed=7, complex_=complex_)
    d = d + 4  # well conditioned
    b = rand(5, 2, seed=8, complex_=complex_)
    for f in eager_and_jit(lax.linalg.tridiagonal_solve):
        assert_close(f(dl, d, du, b), np.linalg.solve(_tridiagonal(dl, d, du), b))
    check_grads(lax.linalg.tridiagonal_solve, (dl, d, du, b), order=1, atol=1e-6, rtol=1e-6)
    stack = rand(3, 4, 5, seed=9, complex_=complex_)
    bs = rand(4, 5, 2, seed=10, complex_=complex_)
    batched = fnad.vmap(lax.linalg.tridiagonal_solve)(stack[0], stack[1] + 4, stack[2], bs)
    loop = [np.linalg.solve(_tridiagonal(stack[0][i], stack[1][i] + 4, stack[2][i]), bs[i]) for i in range(4)]
    assert_close(batched, loop)
    only_b = fnad.vmap(lax.linalg.tridiagonal_solve, in_axes=(None, None, None, 0))(dl, d, du, bs)
    assert_close(only_b, [np.linalg.solve(_tridiagonal(dl, d, du), x) for x in bs])


# ----------------------------------------------------------------------------------------------
# fnad.scipy.linalg's compositions


@pytest.mark.parametrize("complex_", [False, True])
def test_rsf2csf_matches_scipy(complex_):
    a = rand(5, 5, seed=11)
    t, z = sla.schur(a)
    for f in eager_and_jit(fsl.rsf2csf):
        tc, zc = f(t, z)
        expected = sla.rsf2csf(t, z)
        assert_close(tc, expected[0], atol=1e-12)
        assert_close(zc, expected[1], atol=1e-12)
    stacked = fsl.rsf2csf(np.stack([t, t]), z)  # batch axes broadcast
    assert_close(stacked[0][1], sla.rsf2csf(t, z)[0], atol=1e-12)


def test_funm_matches_scipy_and_jax():
    a = JAX["a"]
    for f in eager_and_jit(lambda a: fsl.funm(a, fnp.exp)):
        out = f(a)
        assert out.dtype == np.complex128  # complex, as JAX's
        assert_close(out, JAX["funm_exp"], atol=1e-11)
        assert_close(out, sla.expm(a), atol=1e-11)
    f, err = fsl.funm(a, fnp.sin, disp=False)
    f_ref, err_ref = sla.funm(a, np.sin, disp=False)
    assert_close(f, f_ref, atol=1e-11)
    assert_close(err, err_ref, rtol=1e-6)
    assert_close(fsl.funm(np.eye(3) * 2, fnp.log), np.eye(3) * np.log(2))  # repeated eigenvalues


@pytest.mark.parametrize("method", ["schur", "eigen"])
def test_solve_sylvester(method):
    a, b, c = JAX["a"], JAX["syl_b"], JAX["syl_c"]
    for f in eager_and_jit(lambda a, b, c: fsl.solve_sylvester(a, b, c, method=method)):
        x = f(a, b, c)
        assert_close(x, JAX["sylvester"], atol=1e-10)
        assert_close(x, sla.solve_sylvester(a, b, c), atol=1e-10)
    ac, bc, cc = rand(2, 3, 3, seed=12, complex_=True), rand(4, 4, seed=13, complex_=True), rand(3, 4, seed=14)
    x = fsl.solve_sylvester(ac, bc, cc, method=method)
    assert_close(x, [sla.solve_sylvester(m, bc, cc) for m in ac], atol=1e-10)
    # A + B singular (eigenvalues 1 and -1): NaN, as JAX
    assert np.isnan(np.asarray(fsl.solve_sylvester(np.eye(2), -np.eye(2), np.ones((2, 2)), method=method))).all()


def test_solve_sylvester_is_linear_in_c_and_refuses_derivatives_in_a():
    a, b, c = JAX["a"], JAX["syl_b"], JAX["syl_c"]
    check_grads(lambda c: fsl.solve_sylvester(a, b, c), (c,), order=1, atol=1e-6, rtol=1e-6)
    with pytest.raises(NotImplementedError, match="schur: no derivative"):
        fnad.grad(lambda a: fsl.solve_sylvester(a, b, c).sum())(a)


def test_polar_and_qdwh_match_jax_and_scipy():
    x = JAX["tall"]
    for f in eager_and_jit(lambda x: lax.linalg.qdwh(x)):
        u, h, iters, converged = f(x)
        assert_close(u, JAX["qdwh_u"], atol=1e-12)
        assert_close(h, JAX["qdwh_h"], atol=1e-12)
        assert int(iters) == int(JAX["qdwh_iters"]) and bool(converged)
    assert_close(fsl.polar(x)[0], JAX["polar_u"], atol=1e-12)
    assert_close(fsl.polar(x)[1], JAX["polar_p"], atol=1e-12)
    for side, a in (("right", x), ("left", x.T), ("left", x)):
        for method in ["qdwh", "svd"] if (side == "right") == (a.shape[0] >= a.shape[1]) else ["svd"]:
            u, p = fsl.polar(a, side, method=method)
            u_ref, p_ref = sla.polar(a, side)
            assert_close(u, u_ref, atol=1e-12)
            assert_close(p, p_ref, atol=1e-12)
    stack = rand(3, 4, 4, seed=15, complex_=True)
    u, p = fsl.polar(stack)
    for i in range(3):
        assert_close(u[i], sla.polar(stack[i])[0], atol=1e-12)
        assert_close(p[i], sla.polar(stack[i])[1], atol=1e-12)
    check_grads(lambda a: fsl.polar(a, method="svd")[1], (rand(3, 3, seed=16),), order=1, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("complex_", [False, True])
def test_qr_multiply_matches_scipy(complex_):
    a = rand(5, 3, seed=17, complex_=complex_)
    for mode, c in (("right", rand(2, 5, seed=18)), ("left", rand(3, 2, seed=19)), ("right", rand(5, seed=20))):
        for conjugate in (False, True):
            f = lambda a, c: fsl.qr_multiply(a, c, mode, conjugate=conjugate)
            expected = sla.qr_multiply(a, c, mode, conjugate=conjugate)
            for g in eager_and_jit(f):
                got = g(a, c)
                assert_close(got[0], expected[0])
                assert_close(got[1], expected[1])
    assert_close(fsl.qr_multiply(JAX["tall"], JAX["c"].T.copy())[0], JAX["qrm_right"])


def test_eigh_tridiagonal():
    d, e = JAX["tri_d"], JAX["tri_e"]
    for f in eager_and_jit(lambda d, e: fsl.eigh_tridiagonal(d, e, eigvals_only=True)):
        assert_close(f(d, e), JAX["eigh_tri"])
    w, v = fsl.eigh_tridiagonal(d, e)
    assert_close(_tridiagonal(np.r_[0, e], d, np.r_[e, 0]) @ v, v * w, atol=1e-12)
    subset = fsl.eigh_tridiagonal(d, e, eigvals_only=True, select="i", select_range=(1, 3))
    assert_close(subset, sla.eigh_tridiagonal(d, e, eigvals_only=True, select="i", select_range=(1, 3)))
    check_grads(lambda d, e: fsl.eigh_tridiagonal(d, e, eigvals_only=True), (d, e), order=1, atol=1e-6, rtol=1e-6)


# ----------------------------------------------------------------------------------------------
# lax.linalg's compositions


def test_symmetric_product_and_cholesky_update():
    a, c = rand(2, 4, 3, seed=21), rand(2, 4, 4, seed=22)
    c = c + np.swapaxes(c, -1, -2)
    for f in eager_and_jit(lambda a, c: lax.linalg.symmetric_product(a, c, alpha=2.0, beta=-0.5)):
        assert_close(f(a, c), 2 * a @ np.swapaxes(a, -1, -2) - 0.5 * c)
    check_grads(lambda a: lax.linalg.symmetric_product(a, c, symmetrize_output=True), (a,), order=1)
    r = np.linalg.cholesky(np.eye(4) * 2 + rand(4, 4, seed=23) @ rand(4, 4, seed=23).T).T
    w = rand(4, seed=24)
    for f in eager_and_jit(lax.linalg.cholesky_update):
        assert_close(f(r, w), np.linalg.cholesky(r.T @ r + np.outer(w, w)).T)
    check_grads(lax.linalg.cholesky_update, (r, w), order=1, atol=1e-6, rtol=1e-6)


# ----------------------------------------------------------------------------------------------
# The special matrices


CONSTRUCTORS = {
    "toeplitz": (lambda m: m.toeplitz(np.array([1.0, 2.0, 3.0]), np.array([9.0, 4.0, 5.0, 6.0]))),
    "toeplitz_c": (lambda m: m.toeplitz(np.array([1.0, 2.0 + 1j, 3.0]))),
    "hankel": (lambda m: m.hankel(np.array([1.0, 2.0, 3.0]), np.array([9.0, 4.0]))),
    "hankel_c": (lambda m: m.hankel(np.array([1.0, 2.0, 3.0]))),
    "circulant": (lambda m: m.circulant(np.array([1.0, 2.0, 3.0, 4.0]))),
    "leslie": (lambda m: m.leslie(np.array([0.1, 2.0, 1.0, 0.1]), np.array([0.2, 0.8, 0.7]))),
    "companion": (lambda m: m.companion(np.array([2.0, -10.0, 31.0, -30.0]))),
    "fiedler": (lambda m: m.fiedler(np.array([1.0, 4.0, 12.0, 45.0]))),
    "fiedler_companion": (lambda m: m.fiedler_companion(np.array([2.0, -16.0, 86.0, -176.0, 105.0, 3.0]))),
    "convolution_full": (lambda m: m.convolution_matrix(np.array([1.0, 2.0, -1.0]), 4)),
    "convolution_same": (lambda m: m.convolution_matrix(np.array([1.0, 2.0, -1.0, 3.0]), 3, "same")),
    "convolution_valid": (lambda m: m.convolution_matrix(np.array([1.0, 2.0, -1.0]), 5, "valid")),
    "dft": (lambda m: m.dft(5, "sqrtn")),
    "hadamard": (lambda m: m.hadamard(8)),
    "helmert": (lambda m: m.helmert(5, full=True)),
    "hilbert": (lambda m: m.hilbert(5)),
    "invhilbert": (lambda m: m.invhilbert(5)),
    "pascal": (lambda m: m.pascal(6, "upper")),
    "invpascal": (lambda m: m.invpascal(6)),
}


@pytest.mark.parametrize("name", sorted(CONSTRUCTORS))
def test_special_matrices_match_scipy(name):
    assert_close(CONSTRUCTORS[name](fsl), CONSTRUCTORS[name](sla), rtol=1e-6 if "pascal" in name else 1e-10)


def test_special_matrices_match_jax_dtypes_batches_and_derivatives():
    assert_close(fsl.pascal(5), JAX["pascal5"], rtol=2e-6)  # float32 log-gamma binomials: JAX's are 1e-6 off
    assert fsl.pascal(5).dtype == JAX["pascal5"].dtype == np.float32
    assert_close(fsl.invpascal(5), JAX["invpascal5"], rtol=1e-12)
    assert_close(fsl.invhilbert(5), JAX["invhilbert5"], rtol=1e-10)
    assert fsl.hadamard(4).dtype == JAX["hadamard4"].dtype and (np.asarray(fsl.hadamard(4)) == JAX["hadamard4"]).all()
    assert_close(fsl.toeplitz(np.array([1, 2 + 1j, 1 + 2j])), JAX["toeplitz_c"])
    assert_close(fsl.dft(4, "sqrtn"), JAX["dft4"])
    assert_close(fsl.fiedler_companion(np.array([2.0, -16.0, 86.0, -176.0, 105.0, 3.0])), JAX["fiedler_companion"])
    c, r = rand(3, 4, seed=25), rand(5, seed=26)
    assert_close(fsl.toeplitz(c, r), [sla.toeplitz(x, r) for x in c])
    assert_close(fsl.hankel(c, r), [sla.hankel(x, r) for x in c])
    assert_close(fsl.circulant(c), [sla.circulant(x) for x in c])
    assert_close(fnad.vmap(fsl.companion)(c), [sla.companion(x) for x in c])
    assert_close(fnad.jit(fsl.toeplitz)(c, r), fsl.toeplitz(c, r))
    check_grads(lambda c, r: fsl.toeplitz(c, r), (c[0], r), order=1)
    check_grads(fsl.companion, (c[0],), order=1, atol=1e-6, rtol=1e-6)


# ----------------------------------------------------------------------------------------------
# What has no derivative, and bad input


@pytest.mark.parametrize(
    "name,f",
    [
        ("schur", lambda a: lax.linalg.schur(a)[0]),
        ("hessenberg", lambda a: lax.linalg.hessenberg(a)[0]),
        ("tridiagonal", lambda a: lax.linalg.tridiagonal(a)[1]),
        ("householder_product", lambda a: lax.linalg.householder_product(a, np.ones(2))),
        ("ormqr", lambda a: lax.linalg.ormqr(a, np.ones(2), np.eye(3))),
        ("schur", lambda a: fsl.funm(a, fnp.exp).real),
    ],
)
def test_derivatives_jax_does_not_define_raise(name, f):
    with pytest.raises(NotImplementedError, match=f"{name}: no derivative"):
        fnad.grad(lambda a: f(a).sum())(rand(3, 3))
    with pytest.raises(NotImplementedError, match=f"{name}: no derivative"):
        fnad.jvp(f, (rand(3, 3),), (rand(3, 3),))


BAD = [
    (lambda: lax.linalg.schur(np.ones((2, 3))), ValueError, "square matrix"),
    (lambda: lax.linalg.schur(np.ones((2, 2), np.int32)), TypeError, "floating-point"),
    (lambda: lax.linalg.schur(np.eye(2), sort_eig_vals=True), NotImplementedError, "sort"),
    (lambda: lax.linalg.hessenberg(np.ones((3,))), ValueError, "square matrix"),
    (lambda: lax.linalg.tridiagonal(np.ones((0, 0))), ValueError, "non-empty"),
    (lambda: lax.linalg.householder_product(np.ones((2, 3)), np.ones(2)), ValueError, "at least as many rows"),
    (lambda: lax.linalg.householder_product(np.ones((4, 2)), np.ones(3)), ValueError, "k <= 2"),
    (lambda: lax.linalg.ormqr(np.ones((4, 2)), np.ones(2), np.ones((3, 3))), ValueError, "4 rows"),
    (lambda: lax.linalg.ormqr(np.ones((4, 2)), np.ones(2), np.ones((3, 3)), left=False), ValueError, "4 columns"),
    (lambda: lax.linalg.tridiagonal_solve(np.ones(3), np.ones(3), np.ones(2), np.ones((3, 1))), ValueError, "b.shape"),
    (
        lambda: lax.linalg.tridiagonal_solve(*[np.ones(3)] * 3, np.ones((3, 1)), perturb_singular=True),
        NotImplementedError,
        "perturb",
    ),
    (lambda: lax.linalg.qdwh(np.ones((2, 3))), ValueError, "m >= n"),
    (lambda: lax.linalg.cholesky_update(np.eye(2), np.ones(3)), ValueError, "vector"),
    (lambda: lax.linalg.symmetric_product(np.ones((2, 3)), np.eye(3)), ValueError, "symmetric_product"),
    (lambda: fsl.schur(np.eye(2), output="both"), ValueError, "output"),
    (lambda: fsl.rsf2csf(np.eye(2), np.eye(3)), ValueError, "must match"),
    (lambda: fsl.funm(np.ones((2, 3)), fnp.exp), ValueError, "square"),
    (lambda: fsl.solve_sylvester(np.eye(2), np.eye(3), np.ones((2, 2))), ValueError, "incompatible shapes"),
    (lambda: fsl.solve_sylvester(np.eye(2), np.eye(2), np.eye(2), method="magic"), ValueError, "method"),
    (lambda: fsl.polar(np.eye(2), side="up"), ValueError, "side"),
    (lambda: fsl.polar(np.ones((2, 3))), NotImplementedError, "qdwh"),
    (lambda: fsl.qr_multiply(np.ones((4, 3)), np.ones((2, 3))), ValueError, "expected 4"),
    (lambda: fsl.qr_multiply(np.ones((4, 3)), np.ones((4, 3)), "middle"), ValueError, "mode"),
    (lambda: fsl.eigh_tridiagonal(np.ones(3), np.ones(2), select="v"), NotImplementedError, "select='v'"),
    (lambda: fsl.eigh_tridiagonal(np.ones(3), np.ones(2, np.float32)), TypeError, "same dtype"),
    (lambda: fsl.hadamard(6), ValueError, "power of 2"),
    (lambda: fsl.leslie(np.ones(3), np.ones(3)), ValueError, "one less"),
    (lambda: fsl.companion(np.ones(1)), ValueError, "at least 2"),
    (lambda: fsl.convolution_matrix(np.ones(3), 0), ValueError, "positive"),
    (lambda: fsl.pascal(3, kind="diagonal"), ValueError, "kind"),
    (lambda: fsl.dft(3, dtype=np.float64), ValueError, "complex"),
]


@pytest.mark.parametrize("call,error,message", BAD, ids=range(len(BAD)))
def test_bad_input_gives_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
