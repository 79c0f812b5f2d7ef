"""Writes decompositions_jax.npz, the JAX reference values tests/test_decompositions.py checks fnad's
decompositions against. Run with JAX installed (the file came from JAX 0.10.2, CPU, x64):
`python tests/data/make_decompositions_jax.py`."""

import pathlib

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np

jax.config.update("jax_enable_x64", True)

rng = np.random.default_rng(14)
out = {}
# symmetric indefinite matrix for svd(hermitian=True)
q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
sym = (q * np.array([-3.0, 2.0, -0.5, 1.0])) @ q.T
out["sym"] = sym
u, s, vh = jnp.linalg.svd(sym, hermitian=True)
out["svd_herm_u"], out["svd_herm_s"], out["svd_herm_vh"] = u, s, vh
# nearly rank-deficient: singular values 1, 1e-14 (NumPy's pinv keeps it, JAX drops)
u0, _ = np.linalg.qr(rng.normal(size=(3, 3)))
v0, _ = np.linalg.qr(rng.normal(size=(2, 2)))
near = u0[:, :2] @ np.diag([1.0, 1e-14]) @ v0.T
out["near"] = near
out["pinv_near"] = jnp.linalg.pinv(near)
out["pinv_near_rtol"] = jnp.linalg.pinv(near, rtol=1e-16)
out["matrix_rank_near"] = jnp.linalg.matrix_rank(near)
bb = rng.normal(size=3)
out["lstsq_b"] = bb
x, resid, rank, sv = jnp.linalg.lstsq(near, bb)
out["lstsq_x"], out["lstsq_resid"], out["lstsq_rank"], out["lstsq_s"] = x, resid, rank, sv
sq = rng.normal(size=(3, 3))
out["sq"] = sq
for p in [None, 1, -1, 2, -2, np.inf, -np.inf, "fro"]:
    out[f"cond_{p}"] = jnp.linalg.cond(sq, p)
out["cond_singular"] = jnp.linalg.cond(np.array([[1.0, 2.0], [2.0, 4.0]]), 1)
# expm at several scales (each picks another Pade degree / squaring count)
for k, scale in enumerate([1e-3, 0.1, 0.5, 1.5, 4.0, 40.0]):
    m = rng.normal(size=(4, 4)) * scale
    out[f"expm_in_{k}"] = m
    out[f"expm_out_{k}"] = jsl.expm(m)
    cot = rng.normal(size=(4, 4))
    out[f"expm_cot_{k}"] = cot
    out[f"expm_grad_{k}"] = jax.grad(lambda a: jnp.sum(jsl.expm(a) * cot))(m)
# derivatives at degenerate points
out["grad_nuc_eye"] = jax.grad(lambda a: jnp.linalg.norm(a, "nuc"))(np.eye(3))
out["grad_svdvals_rect"] = jax.jacobian(lambda a: jnp.linalg.svd(a, compute_uv=False))(sq[:, :2])
out["grad_pinv"] = jax.grad(lambda a: jnp.sum(jnp.linalg.pinv(a) ** 2))(sq[:, :2])
# eig: values and JAX's (LAPACK geev) eigenvector normalisation, and derivatives
ns = rng.normal(size=(4, 4))
out["ns"] = ns
w, v = jnp.linalg.eig(ns)
out["eig_w"], out["eig_v"] = w, v
out["eigvals_grad_re"] = jax.grad(lambda a: jnp.sum(jnp.linalg.eigvals(a).real ** 2))(ns)
out["eigvals_grad_im"] = jax.grad(lambda a: jnp.sum(jnp.linalg.eigvals(a).imag ** 2))(ns)
# det: derivatives at singular matrices (the adjugate for rank n - 1, zero below), batched
rank3 = np.array([[1.0, 2, 3, 4], [2, 4, 6, 8], [0, 1, 5, 1], [1, 1, 1, 2]])
rank2 = np.array([[1.0, 2, 3, 4], [2, 4, 6, 8], [3, 6, 9, 12], [1, 1, 1, 2]])
dets = np.stack([rank3, rank2, rng.normal(size=(4, 4))])
out["det_in"] = dets
out["det_out"] = jnp.linalg.det(dets)
out["det_grad"] = jax.grad(lambda a: jnp.linalg.det(a).sum())(dets)
np.savez(pathlib.Path(__file__).parent / "decompositions_jax.npz", **{k: np.asarray(v) for k, v in out.items()})
