"""Decompositions (issue 14, section 3): svd, qr in every mode, and what is built on them in
fnad.numpy.linalg (pinv, lstsq, matrix_rank, cond, norms, multi_dot, tensorsolve/inv, the array-API
names), fnad.scipy.linalg and fnad.lax.linalg. Values against NumPy/SciPy and against JAX reference
data (tests/data/decompositions_jax.npz, written by tests/data/make_decompositions_jax.py with JAX
0.10.2, x64); derivatives against central finite differences on gauge-invariant functions (singular
vectors are fixed only up to sign); jacfwd against jacrev; vmap against a loop; jit against eager."""

import pathlib

import numpy as np
import pytest
import scipy.linalg as sla

import fnad
import fnad.numpy as fnp
from fnad import lax
from fnad.primitives import linalg as la
from fnad.scipy import linalg as fsl
from fnad.test_util import check_grads

LA = fnp.linalg
JAX = np.load(pathlib.Path(__file__).parent / "data" / "decompositions_jax.npz")
SHAPES = [(3, 3), (4, 2), (2, 5), (2, 3, 3), (2, 1, 4, 3), (3, 2, 4)]


def rand(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


def assert_close(actual, expected, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=rtol, atol=atol)


def test_svd_matches_numpy_with_lapacks_signs():
    for shape in SHAPES:
        a = rand(*shape)
        for full in (True, False):
            u, s, vh = np.linalg.svd(a, full_matrices=full)
            for f in (LA.svd, fnad.jit(LA.svd, static_argnums=1)):
                out = f(a, full)
                assert type(out).__name__ == "SVDResult"
                assert_close(out.S, s)
                # gesdd in both: the same singular vectors, signs included
                assert_close(out.U, u, atol=1e-10)
                assert_close(out.Vh, vh, atol=1e-10)
        assert_close(fnad.jit(lambda a: LA.svd(a, compute_uv=False))(a), np.linalg.svd(a, compute_uv=False))
        assert_close(LA.svdvals(a), np.linalg.svd(a, compute_uv=False))
    x32 = rand(4, 3).astype(np.float32)
    s32 = fnad.jit(LA.svdvals)(x32)
    assert s32.dtype == np.float32
    assert_close(s32, np.linalg.svd(x32, compute_uv=False), rtol=1e-5)


def test_svd_of_empty_and_non_finite_matrices():
    u, s, vh = LA.svd(np.zeros((3, 0)))
    assert u.shape == (3, 3) and s.shape == (0,) and vh.shape == (0, 0)
    assert_close(u, np.eye(3))
    nan = np.array([[[1.0, np.nan], [0.0, 1.0]], [[2.0, 0.0], [0.0, 1.0]]])
    for f in (LA.svd, fnad.jit(LA.svd)):
        u, s, vh = f(nan)  # NaN for the matrix LAPACK cannot factor, as JAX; the other is fine
        assert np.isnan(s[0]).all() and np.isnan(u[0]).all() and np.isnan(vh[0]).all()
        assert_close(s[1], [2.0, 1.0])


def test_hermitian_svd_and_jax_tolerances():
    u, s, vh = LA.svd(JAX["sym"], hermitian=True)
    assert_close(u, JAX["svd_herm_u"])
    assert_close(s, JAX["svd_herm_s"])
    assert_close(vh, JAX["svd_herm_vh"])
    assert_close(fnad.jit(lambda a: LA.svd(a, hermitian=True).Vh)(JAX["sym"]), JAX["svd_herm_vh"])
    near = JAX["near"]  # singular values 1 and 1e-14
    assert_close(LA.pinv(near), JAX["pinv_near"], rtol=1e-9)
    assert_close(LA.pinv(near, rtol=1e-16), JAX["pinv_near_rtol"], rtol=1e-9)
    assert LA.matrix_rank(near) == JAX["matrix_rank_near"]
    x, resid, rank, s = LA.lstsq(near, JAX["lstsq_b"])
    assert_close(x, JAX["lstsq_x"], rtol=1e-9)
    # (the residual here is rounding noise of an x of size 1e14: compared on a well-posed problem below)
    assert rank == JAX["lstsq_rank"] and rank.dtype == np.int32 and resid.shape == (1,)
    assert_close(s, JAX["lstsq_s"])


@pytest.mark.parametrize("p", [None, 1, -1, 2, -2, np.inf, -np.inf, "fro"])
def test_cond_matches_jax(p):
    assert_close(LA.cond(JAX["sq"], p), JAX[f"cond_{p}"])
    assert_close(fnad.jit(lambda x: LA.cond(x, p))(JAX["sq"]), JAX[f"cond_{p}"])
    assert_close(LA.cond(rand(2, 3, 3), p), np.linalg.cond(rand(2, 3, 3), p))
    with np.errstate(all="ignore"):
        assert LA.cond(np.array([[1.0, 2.0], [2.0, 4.0]]), 1) == JAX["cond_singular"] == np.inf


def test_pinv_lstsq_rank_against_numpy():
    for shape in [(4, 3), (3, 5), (2, 4, 4)]:
        a = rand(*shape)
        assert_close(LA.pinv(a), np.linalg.pinv(a))
        assert_close(fnad.jit(LA.pinv)(a), np.linalg.pinv(a))
        assert_close(LA.pinv(a @ np.swapaxes(a, -1, -2), hermitian=True), np.linalg.pinv(a @ np.swapaxes(a, -1, -2)))
        assert_close(LA.matrix_rank(a), np.linalg.matrix_rank(a))
    low_rank = rand(5, 2) @ rand(2, 4, seed=1)
    assert LA.matrix_rank(low_rank) == 2 and fnad.jit(LA.matrix_rank)(low_rank) == 2
    assert LA.matrix_rank(np.array([0.0, 1.0])) == 1
    assert_close(LA.matrix_rank(np.stack([low_rank, rand(5, 4)]), rtol=1e-3), [2, 4])
    a, b = rand(6, 3), rand(6, 2, seed=1)
    x, resid, rank, s = fnad.jit(LA.lstsq)(a, b)
    x0, resid0, rank0, s0 = np.linalg.lstsq(a, b)
    assert_close(x, x0)
    assert_close(resid, resid0)
    assert rank == rank0
    assert_close(s, s0)
    wide = rand(2, 4)
    assert LA.lstsq(wide, rand(2), numpy_resid=True)[1].shape == (0,)  # NumPy's: no residuals for m <= n
    with pytest.raises(fnad.ConcretizationError, match="numpy_resid"):
        fnad.jit(lambda a, b: LA.lstsq(a, b, numpy_resid=True))(wide, rand(2))


def test_qr_modes():
    for shape in SHAPES:
        a = rand(*shape)
        for mode in ("reduced", "complete", "r"):
            expected = np.linalg.qr(a, mode)
            for out in (LA.qr(a, mode), fnad.jit(LA.qr, static_argnums=1)(a, mode)):
                for x, y in zip(out if mode != "r" else [out], expected if mode != "r" else [expected]):
                    assert_close(x, y)
        h, tau = np.linalg.qr(a, "raw")
        for out in (LA.qr(a, "raw"), fnad.jit(lambda a: LA.qr(a, "raw"))(a)):
            assert_close(out[0], h)
            assert_close(out[1], tau)
    q, r = LA.qr(np.zeros((0, 2)), "complete")
    assert q.shape == (0, 0) and r.shape == (0, 2)
    q, r = fnad.jit(lambda a: la.qr(a, True))(np.zeros((3, 0)))
    assert_close(q, np.eye(3))


def test_norms_through_the_svd():
    x = rand(2, 3, 4)
    for ord in (2, -2, "nuc"):
        expected = np.linalg.norm(x, ord, axis=(1, 2))
        assert_close(LA.norm(x, ord, axis=(1, 2)), expected)
        assert_close(fnad.jit(lambda x: LA.norm(x, ord, axis=(2, 1)))(x), np.linalg.norm(x, ord, axis=(2, 1)))
        assert_close(LA.matrix_norm(x, ord=ord), expected)
    assert_close(LA.matrix_norm(x, keepdims=True), np.linalg.norm(x, axis=(-2, -1), keepdims=True))
    for ord in (2, 1, np.inf, -np.inf, 0, 3.5):
        assert_close(LA.vector_norm(x, ord=ord), np.linalg.norm(x.ravel(), ord))
        assert_close(LA.vector_norm(x, axis=(0, 2), ord=ord), np.linalg.vector_norm(x, axis=(0, 2), ord=ord))
        assert_close(
            fnad.jit(lambda x: LA.vector_norm(x, axis=1, keepdims=True, ord=ord))(x),
            np.linalg.vector_norm(x, axis=1, keepdims=True, ord=ord),
        )


def test_products_tensors_and_array_api_names():
    arrays = [rand(3), rand(3, 10, seed=1), rand(10, 2, seed=2), rand(2, 4, seed=3), rand(4, seed=4)]
    assert_close(LA.multi_dot(arrays), np.linalg.multi_dot(arrays))
    assert_close(fnad.jit(LA.multi_dot)(arrays[1:4]), np.linalg.multi_dot(arrays[1:4]))
    a = rand(6, 2, 3) + np.eye(6).reshape(6, 2, 3) * 5
    b = rand(6, seed=1)
    assert_close(LA.tensorsolve(a, b), np.linalg.tensorsolve(a, b))
    assert_close(LA.tensorsolve(a, rand(2, 3), axes=(0,)), np.linalg.tensorsolve(a, rand(2, 3), axes=(0,)))
    t = rand(4, 6, 8, 3)
    assert_close(LA.tensorinv(t, ind=2), np.linalg.tensorinv(t, ind=2))
    assert_close(fnad.jit(lambda t: LA.tensorinv(t, 1))(rand(6, 2, 3)), np.linalg.tensorinv(rand(6, 2, 3), 1))
    x, y = rand(2, 3, 3), rand(2, 3, 3, seed=1)
    assert_close(LA.matrix_transpose(x), np.linalg.matrix_transpose(x))
    assert_close(LA.trace(x, offset=1), np.linalg.trace(x, offset=1))
    assert_close(LA.diagonal(x, offset=-1), np.linalg.diagonal(x, offset=-1))
    assert_close(LA.cross(x, y), np.linalg.cross(x, y))
    assert_close(LA.outer(x[0, 0], y[0, 1]), np.linalg.outer(x[0, 0], y[0, 1]))
    assert_close(LA.vecdot(x, y, axis=1), np.linalg.vecdot(x, y, axis=1))
    assert_close(LA.matmul(x, y), x @ y)
    assert_close(LA.tensordot(x, y[0], axes=1), np.linalg.tensordot(x, y[0], axes=1))


def test_eig_matches_jax_numpy_and_jit():
    a = JAX["ns"]
    w, v = LA.eig(a)
    assert w.dtype == v.dtype == np.complex128
    assert_close(w, JAX["eig_w"])
    assert_close(v, JAX["eig_v"])  # geev's normalisation: unit norm, largest component real
    assert_close(LA.eigvals(np.diag([1.0, 2.0])), [1.0, 2.0])  # complex even when every eigenvalue is real
    assert LA.eigvals(np.diag([1.0, 2.0])).dtype == np.complex128
    stack = rand(3, 5, 5)
    for x in (stack, stack + 1j * rand(3, 5, 5, seed=1), stack.astype(np.float32)):
        eager = fnad.lax.linalg.eig(x)
        jitted = fnad.jit(fnad.lax.linalg.eig)(x)
        tol = 1e-4 if x.dtype == np.float32 else 1e-10
        w, vl, vr = map(np.asarray, jitted)
        assert w.dtype == np.result_type(x.dtype, np.complex64)
        assert_close(w, eager[0], rtol=tol, atol=tol)
        assert_close(x @ vr, vr * w[..., None, :], rtol=tol, atol=tol)  # right: a vr = vr diag(w)
        assert_close(np.conj(np.swapaxes(vl, -1, -2)) @ x, w[..., :, None] * np.conj(np.swapaxes(vl, -1, -2)), atol=tol)
        # NumPy's LAPACK (eagerly) and scipy-openblas32's (jit) may fix an eigenvector's sign differently
        assert_close(np.abs(vr), np.abs(eager[2]), rtol=tol, atol=tol)
        for v in (vr, np.asarray(eager[2]), vl, np.asarray(eager[1])):  # unit columns, largest entry real
            big = np.take_along_axis(v, np.argmax(np.abs(v), axis=-2)[..., None, :], axis=-2)
            assert_close(np.linalg.norm(v, axis=-2), 1.0, rtol=tol)
            assert_close(np.imag(big), 0.0, atol=tol)
        assert np.all(np.real(big) > 0)  # and positive for the left ones
    nan = stack.copy()
    nan[1, 0, 0] = np.nan
    for f in (LA.eigvals, fnad.jit(LA.eigvals)):
        assert np.isnan(f(nan)[1]).all() and not np.isnan(f(nan)[0]).any()


def test_eig_derivatives():
    a = JAX["ns"]
    for f in (fnad.grad, lambda g: fnad.jit(fnad.grad(g))):  # jit: complex LU and triangular solves
        assert_close(f(lambda a: fnp.sum(fnp.real(LA.eigvals(a)) ** 2))(a), JAX["eigvals_grad_re"])
        assert_close(f(lambda a: fnp.sum(fnp.imag(LA.eigvals(a)) ** 2))(a), JAX["eigvals_grad_im"])
    check_grads(lambda a: fnp.abs(LA.eigvals(a)), (rand(2, 4, 4),), order=1, eps=1e-6)

    # eigenvectors: JAX's opt-in; a gauge-invariant function of them (the projector onto one eigenvector)
    def projector(a):
        _, _, vr = fnad.lax.linalg.eig(a, enable_eigvec_derivs=True)
        v = vr[:, 0]
        return fnp.real(fnp.outer(v, fnp.conj(v)))

    check_grads(projector, (a,), order=1, eps=1e-6)
    with pytest.raises(NotImplementedError, match="enable_eigvec_derivs"):
        fnad.grad(lambda a: fnp.sum(fnp.abs(LA.eig(a).eigenvectors)))(a)
    assert_close(fnad.vmap(LA.eigvals)(rand(3, 4, 4)), np.stack([LA.eigvals(x) for x in rand(3, 4, 4)]))


# ----------------------------------------------------------------------------------------------
# derivatives


def _gauge_invariant_svd(a):
    """U diag(s^3) Vh: depends on the singular vectors, not on their signs."""
    u, s, vh = LA.svd(a, full_matrices=False)
    return fnp.matmul(u * fnp.expand_dims(s**3, -2), vh)


def _qr_product(a):
    q, r = LA.qr(a)
    return q * 2.0 + fnp.sum(r)


DERIVATIVES = {
    "svdvals_tall": (LA.svdvals, (rand(2, 4, 3),)),
    "svdvals_wide": (LA.svdvals, (rand(3, 5),)),
    "svd_vectors_tall": (_gauge_invariant_svd, (rand(4, 3),)),
    "svd_vectors_wide": (_gauge_invariant_svd, (rand(2, 2, 4),)),
    "svd_vectors_square": (_gauge_invariant_svd, (rand(3, 3),)),
    "svd_full_square": (lambda a: fnp.abs(LA.svd(a, full_matrices=True).U), (rand(3, 3),)),
    "svd_hermitian": (lambda a: LA.svd(a, hermitian=True).S, (JAX["sym"],)),
    "qr_wide": (_qr_product, (rand(3, 5),)),
    "qr_complete_square": (lambda a: LA.qr(a, "complete"), (rand(3, 3),)),
    "qr_complete_tall": (lambda a: LA.qr(a, "complete"), (rand(2, 5, 3),)),  # JAX's arXiv:2409.13374 rule
    "qr_r": (lambda a: LA.qr(a, "r"), (rand(4, 2),)),
    "pinv_tall": (LA.pinv, (rand(4, 3),)),
    "pinv_wide": (LA.pinv, (rand(2, 3, 5),)),
    "pinv_hermitian": (lambda a: LA.pinv(a, hermitian=True), (JAX["sym"],)),
    "lstsq": (lambda a, b: LA.lstsq(a, b)[0], (rand(5, 3), rand(5, 2, seed=1))),
    "cond2": (LA.cond, (rand(3, 3),)),
    "cond1": (lambda a: LA.cond(a, 1), (rand(3, 3) + 3 * np.eye(3),)),
    "norm2": (lambda a: LA.norm(a, 2), (rand(3, 4),)),
    "nuc": (lambda a: LA.norm(a, "nuc", axis=(1, 2)), (rand(2, 3, 4),)),
    "multi_dot": (lambda a, b, c: LA.multi_dot([a, b, c]), (rand(3), rand(3, 4), rand(4, 2))),
    "tensorsolve": (LA.tensorsolve, (rand(4, 2, 2) + 3 * np.eye(4).reshape(4, 2, 2), rand(4))),
    "tensorinv": (lambda a: LA.tensorinv(a, 1), (rand(4, 2, 2) + 3 * np.eye(4).reshape(4, 2, 2),)),
    "expm": (fsl.expm, (rand(3, 3),)),
    "expm_scaled": (fsl.expm, (4 * rand(2, 3, 3),)),
    "sqrtm": (lambda a: fnp.real(fsl.sqrtm(a @ a.T + np.eye(3))), (rand(3, 3),)),
    "cho_solve": (lambda a, b: fsl.cho_solve(fsl.cho_factor(a @ a.T + 3 * np.eye(3)), b), (rand(3, 3), rand(3))),
    "solve_pos": (lambda a, b: fsl.solve(a @ a.T + 3 * np.eye(3), b, assume_a="pos"), (rand(3, 3), rand(3, 2))),
    "lu_solve": (lambda a, b: fsl.lu_solve(fsl.lu_factor(a), b, trans=1), (rand(3, 3), rand(3, 2))),
    "scipy_lu": (lambda a: fsl.lu(a)[1:], (rand(3, 3),)),
    "solve_triangular": (lambda a, b: fsl.solve_triangular(a, b, trans="T"), (rand(3, 3) + 3 * np.eye(3), rand(3))),
}


@pytest.mark.parametrize("name", list(DERIVATIVES))
def test_derivatives_match_finite_differences(name):
    f, args = DERIVATIVES[name]
    check_grads(f, args, order=1, eps=1e-5)


@pytest.mark.parametrize("name", ["svdvals_wide", "svd_vectors_tall", "qr_wide", "pinv_tall", "expm", "lu_solve"])
def test_jacfwd_equals_jacrev(name):
    f, args = DERIVATIVES[name]
    nums = tuple(range(len(args)))
    for x, y in zip(
        fnad.tree_util.tree_leaves(fnad.jacfwd(f, nums)(*args)), fnad.tree_util.tree_leaves(fnad.jacrev(f, nums)(*args))
    ):
        assert_close(x, y, rtol=1e-9, atol=1e-10)


def test_derivatives_match_jax():
    assert_close(fnad.grad(lambda a: LA.norm(a, "nuc"))(np.eye(3)), JAX["grad_nuc_eye"])  # repeated singular values
    assert_close(fnad.jacrev(LA.svdvals)(JAX["sq"][:, :2]), JAX["grad_svdvals_rect"])
    assert_close(fnad.grad(lambda a: fnp.sum(LA.pinv(a) ** 2))(JAX["sq"][:, :2]), JAX["grad_pinv"])
    for k in range(6):  # every Pade degree, with and without squarings
        a, cot = JAX[f"expm_in_{k}"], JAX[f"expm_cot_{k}"]
        assert_close(fsl.expm(a), JAX[f"expm_out_{k}"], rtol=1e-12, atol=1e-13 * np.abs(JAX[f"expm_out_{k}"]).max())
        grad = fnad.jit(fnad.grad(lambda a: fnp.sum(fsl.expm(a) * cot)))(a)
        assert_close(grad, JAX[f"expm_grad_{k}"], rtol=1e-12, atol=1e-12 * np.abs(JAX[f"expm_grad_{k}"]).max())


def test_det_and_its_derivative_at_singular_matrices_match_jax():
    a = JAX["det_in"]  # ranks 3, 2 and 4 of 4 x 4
    assert_close(LA.det(a), JAX["det_out"])
    for f in (fnad.grad(lambda a: LA.det(a).sum()), fnad.jit(fnad.grad(lambda a: LA.det(a).sum()))):
        assert_close(f(a), JAX["det_grad"])
    assert LA.det(np.diag([2.0, 4.0])) == 8.0  # the closed form, as JAX (NumPy's LU gives 7.999999999999998)
    check_grads(LA.det, (rand(2, 5, 5),), order=2, eps=1e-5)


def test_derivatives_that_jax_does_not_define_raise():
    with pytest.raises(NotImplementedError, match="full U and Vt of a non-square"):
        fnad.grad(lambda a: fnp.sum(LA.svd(a).U))(rand(3, 2))
    # singular values alone are differentiable whatever full_matrices says
    assert_close(
        fnad.grad(lambda a: LA.svd(a, compute_uv=False)[0])(rand(3, 2)),
        fnad.grad(lambda a: LA.svdvals(a)[0])(rand(3, 2)),
    )


# ----------------------------------------------------------------------------------------------
# complex matrices


def crand(*shape, seed=0):
    return rand(*shape, seed=seed) + 1j * rand(*shape, seed=seed + 100)


C, CB, CTALL = crand(2, 4, 4), crand(2, 4, 2, seed=1), crand(5, 3, seed=2)
HERM = C @ np.conj(np.swapaxes(C, -1, -2)) + 4 * np.eye(4)

COMPLEX_CASES = {  # fnad function, NumPy/SciPy reference, arguments
    "solve": (LA.solve, np.linalg.solve, (C, CB)),
    "inv": (LA.inv, np.linalg.inv, (C,)),
    "det": (LA.det, np.linalg.det, (C,)),
    "slogdet": (LA.slogdet, np.linalg.slogdet, (C,)),
    "cholesky": (LA.cholesky, np.linalg.cholesky, (HERM,)),
    "cholesky_upper": (lambda a: LA.cholesky(a, upper=True), lambda a: np.linalg.cholesky(a, upper=True), (HERM,)),
    "eigvalsh": (LA.eigvalsh, np.linalg.eigvalsh, (HERM,)),
    "svdvals": (LA.svdvals, lambda a: np.linalg.svd(a, compute_uv=False), (C,)),
    "svd": (lambda a: LA.svd(a, full_matrices=False), lambda a: np.linalg.svd(a, full_matrices=False), (CTALL,)),
    "qr": (LA.qr, np.linalg.qr, (CTALL,)),
    "qr_complete": (lambda a: LA.qr(a, "complete"), lambda a: np.linalg.qr(a, "complete"), (CTALL,)),
    "qr_raw": (lambda a: LA.qr(a, "raw"), lambda a: np.linalg.qr(a, "raw"), (CTALL,)),
    "pinv": (LA.pinv, np.linalg.pinv, (CTALL,)),
    "lstsq": (lambda a, b: LA.lstsq(a, b)[0], lambda a, b: np.linalg.lstsq(a, b)[0], (CTALL, crand(5, seed=3))),
    "norms": (
        lambda a: [LA.norm(a), LA.norm(a, 2), LA.norm(a, "nuc"), LA.norm(a[0], 3), LA.cond(a)],
        lambda a: [
            np.linalg.norm(a),
            np.linalg.norm(a, 2),
            np.linalg.norm(a, "nuc"),
            np.linalg.norm(a[0], 3),
            np.linalg.cond(a),
        ],
        (C[0],),
    ),
    "expm": (fsl.expm, sla.expm, (C[0] / 3,)),
    "cho_solve": (
        lambda a, b: fsl.cho_solve(fsl.cho_factor(a), b),
        lambda a, b: sla.cho_solve(sla.cho_factor(a), b),
        (HERM[0], CB[0]),
    ),
    "solve_triangular_C": (
        lambda a, b: fsl.solve_triangular(a, b, trans="C", lower=True),
        lambda a, b: sla.solve_triangular(a, b, trans="C", lower=True),
        (C[0], CB[0]),
    ),
    "lu_solve_2": (
        lambda a, b: fsl.lu_solve(fsl.lu_factor(a), b, 2),
        lambda a, b: sla.lu_solve(sla.lu_factor(a), b, 2),
        (C[0], CB[0]),
    ),
    "conj_no_trans": (
        lambda a, b: lax.linalg.triangular_solve(a, b, left_side=True, lower=True, conjugate_a=True),
        lambda a, b: np.linalg.solve(np.conj(np.tril(a)), b),
        (C[0], CB[0]),
    ),
}


@pytest.mark.parametrize("name", list(COMPLEX_CASES))
def test_complex_matrices_match_numpy_eagerly_and_under_jit(name):
    ours, theirs, args = COMPLEX_CASES[name]
    expected = fnad.tree_util.tree_leaves(theirs(*args))
    for f in (ours, fnad.jit(ours)):
        out = fnad.tree_util.tree_leaves(f(*args))
        for x, y in zip(out, expected):
            assert np.asarray(x).dtype == np.asarray(y).dtype or name in ("qr_raw", "lstsq") or np.ndim(y) == 0
            assert_close(x, y, rtol=1e-9, atol=1e-12)
    c64 = [a.astype(np.complex64) for a in args]
    for x, y in zip(fnad.tree_util.tree_leaves(fnad.jit(ours)(*c64)), fnad.tree_util.tree_leaves(theirs(*args))):
        assert_close(x, y, rtol=1e-3, atol=1e-4)


def test_complex_eigh_and_svd_vectors():
    for f in (LA.eigh, fnad.jit(LA.eigh)):
        w, v = f(HERM)
        assert w.dtype == np.float64 and v.dtype == np.complex128
        assert_close(HERM @ v, v * np.asarray(w)[..., None, :], atol=1e-10)
    for f in (LA.svd, fnad.jit(LA.svd)):
        u, s, vh = f(C)
        assert s.dtype == np.float64
        assert_close((np.asarray(u) * np.asarray(s)[..., None, :]) @ vh, C, atol=1e-12)


COMPLEX_DERIVATIVES = {
    "svdvals": (LA.svdvals, (C,)),
    "svd_vectors": (_gauge_invariant_svd, (CTALL,)),
    "svd_vectors_wide": (_gauge_invariant_svd, (np.swapaxes(CTALL, 0, 1),)),
    "inv": (LA.inv, (C,)),
    "det": (LA.det, (crand(5, 5),)),
    "solve": (LA.solve, (C, CB)),
    "cholesky": (lambda a: LA.cholesky(a @ fnp.conj(fnp.swapaxes(a, -1, -2)) + 4 * np.eye(4)), (C,)),
    "eigvalsh": (LA.eigvalsh, (HERM,)),
    "eigh_vectors": (lambda a: _matrix_exp_of_hermitian(a), (HERM / 10,)),
    "qr": (LA.qr, (CTALL,)),
    "qr_wide": (_qr_product, (np.swapaxes(CTALL, 0, 1),)),
    "qr_complete": (lambda a: LA.qr(a, "complete"), (CTALL,)),
    "pinv": (LA.pinv, (CTALL,)),
    "eigvals": (LA.eigvals, (C,)),
    "expm": (fsl.expm, (C[0] / 3,)),
    "cho_solve": (lambda a, b: fsl.cho_solve(fsl.cho_factor(a), b), (HERM[0], CB[0])),
}


def _matrix_exp_of_hermitian(a):
    w, v = LA.eigh(a)
    return fnp.matmul(v * fnp.expand_dims(fnp.exp(w), -2), fnp.conj(fnp.swapaxes(v, -1, -2)))


@pytest.mark.parametrize("name", list(COMPLEX_DERIVATIVES))
def test_complex_derivatives_match_finite_differences(name):
    f, args = COMPLEX_DERIVATIVES[name]
    check_grads(f, args, order=1, eps=1e-6)


def test_complex_gradients_under_jit_match_eager():
    loss = lambda a: fnp.sum(fnp.abs(LA.inv(a)) ** 2) + fnp.sum(LA.svdvals(a)) + fnp.sum(fnp.real(LA.eigvals(a)) ** 2)
    assert_close(fnad.jit(fnad.grad(loss))(C), fnad.grad(loss)(C), rtol=1e-9)


# ----------------------------------------------------------------------------------------------
# vmap and jit


VMAPPED = [
    (lambda a: LA.svd(a, full_matrices=False), (rand(3, 4, 2),)),
    (lambda a: LA.svd(a, full_matrices=True), (rand(3, 2, 4),)),
    (lambda a: LA.qr(a, "complete"), (rand(3, 4, 2),)),
    (lambda a: LA.qr(a, "raw"), (rand(3, 2, 4),)),
    (LA.pinv, (rand(3, 4, 3),)),
    (LA.cond, (rand(3, 3, 3),)),
    (LA.matrix_rank, (rand(3, 4, 3),)),
    (lambda a, b: LA.lstsq(a, b), (rand(3, 5, 2), rand(3, 5))),
    (fsl.expm, (rand(3, 3, 3) * np.array([0.01, 1.0, 10.0])[:, None, None],)),
    (lambda a, b: fsl.lu_solve(fsl.lu_factor(a), b), (rand(3, 3, 3), rand(3, 3, 2))),
    (lambda a: lax.linalg.lu_pivots_to_permutation(lax.linalg.lu(a)[1], 3), (rand(3, 3, 3),)),
]


@pytest.mark.parametrize("k", range(len(VMAPPED)))
def test_vmap_matches_a_loop(k):
    f, args = VMAPPED[k]
    got = fnad.vmap(f)(*args)
    loop = [f(*[x[i] for x in args]) for i in range(3)]
    for g, *per in zip(fnad.tree_util.tree_leaves(got), *[fnad.tree_util.tree_leaves(out) for out in loop]):
        assert_close(g, np.stack(per))


def test_scipy_linalg_matches_scipy_eagerly_and_under_jit():
    a, b, s = rand(4, 4), rand(4, 2, seed=1), rand(4, 4, seed=2)
    s = s @ s.T + 4 * np.eye(4)
    cases = [
        (lambda a, b: fsl.solve_triangular(a, b, lower=True), lambda a, b: sla.solve_triangular(a, b, lower=True)),
        (
            lambda a, b: fsl.solve_triangular(a, b[:, 0], trans=1),
            lambda a, b: sla.solve_triangular(a, b[:, 0], trans=1),
        ),
        (
            lambda a, b: fsl.lu_solve(fsl.lu_factor(a), b, trans=1),
            lambda a, b: sla.lu_solve(sla.lu_factor(a), b, trans=1),
        ),
        (lambda a, b: fsl.lu(a), lambda a, b: sla.lu(a)),
        (lambda a, b: fsl.lu(a, permute_l=True), lambda a, b: sla.lu(a, permute_l=True)),
        (lambda a, b: fsl.lu_factor(a), lambda a, b: sla.lu_factor(a)),
        (lambda a, b: fsl.cho_solve(fsl.cho_factor(s), b), lambda a, b: sla.cho_solve(sla.cho_factor(s), b)),
        (lambda a, b: fsl.cholesky(s), lambda a, b: sla.cholesky(s)),
        (lambda a, b: fsl.cholesky(s, lower=True), lambda a, b: sla.cholesky(s, lower=True)),
        (lambda a, b: fsl.solve(s, b, assume_a="pos"), lambda a, b: sla.solve(s, b, assume_a="pos")),
        (lambda a, b: fsl.solve(a, b), lambda a, b: sla.solve(a, b)),
        (lambda a, b: fsl.inv(a), lambda a, b: sla.inv(a)),
        (lambda a, b: fsl.det(a), lambda a, b: sla.det(a)),
        (lambda a, b: fsl.expm(a), lambda a, b: sla.expm(a)),
        (lambda a, b: fsl.eigh(s, eigvals_only=True), lambda a, b: sla.eigh(s, eigvals_only=True)),
        (lambda a, b: fsl.svd(a, compute_uv=False), lambda a, b: sla.svd(a, compute_uv=False)),
        (lambda a, b: fsl.svd(b), lambda a, b: sla.svd(b)),
        (lambda a, b: fsl.qr(b), lambda a, b: sla.qr(b)),
        (lambda a, b: fsl.qr(b, mode="economic"), lambda a, b: sla.qr(b, mode="economic")),
        (lambda a, b: fsl.qr(b, mode="r"), lambda a, b: sla.qr(b, mode="r")),
        (lambda a, b: fsl.block_diag(a, b, 1.0), lambda a, b: sla.block_diag(a, b, 1.0)),
        (lambda a, b: fsl.expm_frechet(a / 4, b @ b.T), lambda a, b: sla.expm_frechet(a / 4, b @ b.T)),
        (lambda a, b: fsl.sqrtm(a), lambda a, b: sla.sqrtm(a)),
        (lambda a, b: fsl.sqrtm(s), lambda a, b: sla.sqrtm(s).astype(complex)),
    ]
    for ours, theirs in cases:
        expected = theirs(a, b)
        for f in (ours, fnad.jit(ours)):
            out = f(a, b)
            for x, y in zip(fnad.tree_util.tree_leaves(out), fnad.tree_util.tree_leaves(expected)):
                assert_close(x, y, rtol=1e-9, atol=1e-11)
    c, lower = fsl.cho_factor(s, lower=True)
    assert lower is True and np.all(np.triu(c, 1) == 0)  # JAX's: zeros in the other triangle
    assert fsl.block_diag().shape == (1, 0)


def test_lax_linalg_has_jaxs_signatures_and_defaults():
    a, b = rand(3, 3) + 3 * np.eye(3), rand(2, 3)
    # right side, upper triangle by default: x @ triu(a) = b
    x = lax.linalg.triangular_solve(a, b)
    assert_close(x @ np.triu(a), b)
    x = fnad.jit(lambda a, b: lax.linalg.triangular_solve(a, b.T, left_side=True, lower=True, transpose_a=True))(a, b)
    assert_close(np.tril(a).T @ x, b.T)
    q, r = lax.linalg.qr(rand(4, 2))
    assert q.shape == (4, 4) and r.shape == (4, 2)
    u, _, vh = lax.linalg.svd(rand(4, 2))
    assert u.shape == (4, 4) and vh.shape == (2, 2)
    assert_close(lax.linalg.svd(rand(4, 2), compute_uv=False), np.linalg.svd(rand(4, 2), compute_uv=False))
    spd = a @ a.T
    _, w = lax.linalg.eigh(spd)
    assert_close(w, np.linalg.eigvalsh(spd))
    assert_close(lax.linalg.cholesky(spd), np.linalg.cholesky(spd))
    _, pivots, perm = fnad.jit(lax.linalg.lu)(a)
    assert_close(lax.linalg.lu_pivots_to_permutation(pivots, 3), perm)
    piv = np.array([[3, 3, 2], [1, 2, 3]], np.int32)
    expected = []
    for row in piv:  # apply the swaps in order
        p = list(range(5))
        for i, j in enumerate(row):
            p[i], p[j] = p[j], p[i]
        expected.append(p)
    assert_close(fnad.jit(lambda p: lax.linalg.lu_pivots_to_permutation(p, 5))(piv), expected)


def test_bad_input_gives_clear_errors():
    with pytest.raises(ValueError, match="svd: expected a matrix"):
        LA.svd(np.ones(3))
    with pytest.raises(TypeError, match="floating-point"):
        lax.linalg.svd(np.eye(2, dtype=np.int32))
    with pytest.raises(TypeError, match="floating-point"):
        lax.linalg.qr(np.eye(2, dtype=np.int64))
    assert_close(LA.svdvals(np.array([[3, 0], [0, 4]])), [4.0, 3.0])  # fnad.numpy converts integers, as JAX
    with pytest.raises(ValueError, match="unsupported mode 'economic'"):
        LA.qr(np.eye(2), "economic")
    with pytest.raises(TypeError, match="must be two-dimensional"):
        LA.lstsq(np.ones((2, 2, 2)), np.ones(2))
    with pytest.raises(ValueError, match="leading dimension"):
        LA.lstsq(np.ones((3, 2)), np.ones(2))
    with pytest.raises(ValueError, match="multi_dot: the last dimension"):
        LA.multi_dot([np.ones((2, 3)), np.ones((2, 3))])
    with pytest.raises(ValueError, match="tensorinv: the product"):
        LA.tensorinv(np.ones((2, 3, 2)), 1)
    with pytest.raises(ValueError, match="one-dimensional"):
        LA.outer(np.ones((2, 2)), np.ones(2))
    with pytest.raises(ValueError, match="3-vectors"):
        LA.cross(np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        LA.matrix_transpose(np.ones(3))
    with pytest.raises(ValueError, match="must be square"):
        LA.cond(np.ones((2, 3)), 1)
    with pytest.raises(ValueError, match="square"):
        fsl.expm(np.ones((2, 3)))
    with pytest.raises(NotImplementedError, match="b=None"):
        fsl.eigh(np.eye(2), np.eye(2))
    with pytest.raises(ValueError, match="trans"):
        fsl.solve_triangular(np.eye(2), np.ones(2), trans=3)
    with pytest.raises(ValueError, match="assume_a"):
        fsl.solve(np.eye(2), np.ones(2), assume_a="banded")
    with pytest.raises(ValueError, match="only one of rtol and rcond"):
        LA.pinv(np.eye(2), rtol=0.1, rcond=0.1)
