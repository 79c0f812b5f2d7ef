"""Writes linalg_breadth_jax.npz, the JAX reference values tests/test_linalg_breadth.py checks fnad's
Schur/Hessenberg/tridiagonal reductions, Householder products and scipy.linalg breadth against. Run with
JAX installed (the file came from JAX 0.10.2, CPU, x64): `python tests/data/make_linalg_breadth_jax.py`."""

import pathlib

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
from jax import lax

jax.config.update("jax_enable_x64", True)
rng = np.random.default_rng(14)
out = {}
a = rng.standard_normal((4, 4))
out["a"] = a
ac = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
out["ac"] = ac
out["hess_a"], out["hess_taus"] = map(np.asarray, lax.linalg.hessenberg(a))
out["hess_ac"], out["hess_tausc"] = map(np.asarray, lax.linalg.hessenberg(ac))
s = a + a.T
hc = ac + ac.conj().T
for lower in (True, False):
    for name, m in (("s", s), ("hc", hc)):
        for k, v in zip("adet", lax.linalg.tridiagonal(m, lower=lower)):
            out[f"trd_{name}_{int(lower)}_{k}"] = np.asarray(v)
t, z = lax.linalg.schur(a)
out["schur_t"], out["schur_z"] = np.asarray(t), np.asarray(z)
tall = rng.standard_normal((5, 3))
out["tall"] = tall
h, taus = jnp.linalg.qr(tall, mode="raw")
h = np.asarray(h).T.copy()
taus = np.asarray(taus)
out["qr_h"], out["qr_taus"] = h, taus
out["hp"] = np.asarray(lax.linalg.householder_product(h, taus))
c = rng.standard_normal((5, 2))
out["c"] = c
out["ormqr_lt"] = np.asarray(lax.linalg.ormqr(h, taus, c, left=True, transpose=True))
out["ormqr_rn"] = np.asarray(lax.linalg.ormqr(h, taus, c.T.copy(), left=False, transpose=False))
dl, d, du = rng.standard_normal((3, 6))
dl[0] = 0
du[-1] = 0
b = rng.standard_normal((6, 2))
out["dl"], out["d"], out["du"], out["b"] = dl, d, du, b
out["gtsv"] = np.asarray(lax.linalg.tridiagonal_solve(dl, d, du, b))
u, hh, iters, ok = lax.linalg.qdwh(tall)
out["qdwh_u"], out["qdwh_h"], out["qdwh_iters"], out["qdwh_ok"] = (
    np.asarray(u),
    np.asarray(hh),
    np.asarray(iters),
    np.asarray(ok),
)
out["funm_exp"] = np.asarray(jsl.funm(a, jnp.exp))
out["polar_u"], out["polar_p"] = map(np.asarray, jsl.polar(tall))
bb = rng.standard_normal((2, 2))
cc = rng.standard_normal((4, 2))
out["syl_b"], out["syl_c"] = bb, cc
out["sylvester"] = np.asarray(jsl.solve_sylvester(a, bb, cc))
out["qrm_right"], out["qrm_right_r"] = map(np.asarray, jsl.qr_multiply(tall, c.T.copy()))
dd, ee = rng.standard_normal(5), rng.standard_normal(4)
out["tri_d"], out["tri_e"] = dd, ee
out["eigh_tri"] = np.asarray(jsl.eigh_tridiagonal(dd, ee, eigvals_only=True))
out["pascal5"] = np.asarray(jsl.pascal(5))
out["invpascal5"] = np.asarray(jsl.invpascal(5))
out["invhilbert5"] = np.asarray(jsl.invhilbert(5))
out["hadamard4"] = np.asarray(jsl.hadamard(4))
out["toeplitz_c"] = np.asarray(jsl.toeplitz(np.array([1, 2 + 1j, 1 + 2j])))
out["dft4"] = np.asarray(jsl.dft(4, "sqrtn"))
out["fiedler_companion"] = np.asarray(jsl.fiedler_companion(np.array([2.0, -16.0, 86.0, -176.0, 105.0, 3.0])))
np.savez(pathlib.Path(__file__).with_name("linalg_breadth_jax.npz"), **out)
