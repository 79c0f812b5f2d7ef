"""fnad.scipy.sparse.linalg (cg, bicgstab, gmres): solutions against numpy.linalg.solve, truncated
iterations against JAX's (tests/data/jax_scipy_breadth.json), pytrees, preconditioners, implicit
derivatives against central differences, vmap against a loop, jit against eager, and bad input."""

import json
import pathlib

import numpy as np
import pytest

import fnad
import fnad.numpy as fnp
from fnad.scipy.sparse import linalg as sparse_linalg

JAX = json.loads((pathlib.Path(__file__).parent / "data" / "jax_scipy_breadth.json").read_text())
SPD = np.array(JAX["spd"])
GENERAL = np.array(JAX["general"])
PRE = np.array(JAX["pre"])
B = np.array(JAX["b"])
SOLVERS = [("cg", SPD), ("bicgstab", GENERAL), ("gmres", GENERAL)]
RNG = np.random.default_rng(14)


def _solve(name, *args, **kwargs):
    return getattr(sparse_linalg, name)(*args, **kwargs)[0]


@pytest.mark.parametrize("name,a", SOLVERS)
def test_converged_solutions_match_numpy(name, a):
    expected = np.linalg.solve(a, B)
    for operator in (a, lambda x: fnp.dot(a, x)):
        np.testing.assert_allclose(_solve(name, operator, B, tol=1e-12), expected, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(_solve(name, a, B, tol=1e-12, M=PRE), expected, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(_solve(name, a, B, x0=expected + 0.1, tol=1e-12), expected, rtol=1e-9, atol=1e-10)
    if name == "gmres":
        x, info = sparse_linalg.gmres(a, B, tol=1e-12, restart=2, solve_method="incremental")
        np.testing.assert_allclose(x, expected, rtol=1e-9, atol=1e-10)
        assert int(info) == 0
    else:
        assert getattr(sparse_linalg, name)(a, B)[1] is None  # JAX's placeholder


@pytest.mark.parametrize("case", JAX["solves"], ids=lambda c: f"{c['solver']}-{'-'.join(map(str, c['kwargs']))}")
def test_truncated_iterations_match_jax(case):
    kwargs = {k: PRE if k == "M" else v for k, v in case["kwargs"].items()}
    a = {"spd": SPD, "general": GENERAL}[case["A"]]
    got = _solve(case["solver"], a, B, **kwargs)
    np.testing.assert_allclose(got, case["x"], rtol=1e-10, atol=1e-12)
    assert np.abs(got - np.linalg.solve(a, B)).max() > 1e-6  # the case really stops before convergence


def test_complex_cg_matches_jax_and_hermitian_systems_solve():
    ref = JAX["complex_cg"]
    b = B + 1j * np.array(ref["b_imag"])
    got = _solve("cg", SPD + 0j, b, maxiter=2)
    np.testing.assert_allclose(got, np.array(ref["x_real"]) + 1j * np.array(ref["x_imag"]), rtol=1e-10, atol=1e-12)
    h = SPD + 1j * (np.triu(GENERAL, 1) - np.triu(GENERAL, 1).T)  # Hermitian positive definite
    for name in ("cg", "bicgstab", "gmres"):
        np.testing.assert_allclose(_solve(name, h, b, tol=1e-12), np.linalg.solve(h, b), atol=1e-9)


@pytest.mark.parametrize("name,a", SOLVERS)
def test_pytrees_solve_as_the_flat_system(name, a):
    def matvec(tree):
        flat = fnp.concatenate([tree["head"], tree["tail"].ravel()])
        out = fnp.dot(a, flat)
        return {"head": out[:1], "tail": out[1:].reshape(2, 2)}

    b = {"head": B[:1], "tail": B[1:].reshape(2, 2)}
    x = _solve(name, matvec, b, tol=1e-12)
    expected = np.linalg.solve(a, B)
    np.testing.assert_allclose(np.concatenate([x["head"], x["tail"].ravel()]), expected, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("name,a", SOLVERS)
def test_derivatives_match_central_differences(name, a):
    w = RNG.normal(size=5)

    def loss(m, b):
        return fnp.dot(w, _solve(name, m, b, tol=1e-13))

    gm, gb = fnad.grad(loss, (0, 1))(a, B)
    eps = 1e-6

    def numeric(f, x):
        return np.array([(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in np.eye(x.size)]).reshape(x.shape)

    np.testing.assert_allclose(gb, numeric(lambda b: np.dot(w, np.linalg.solve(a, b)), B), rtol=1e-6, atol=1e-8)
    fd_m = numeric(lambda m: np.dot(w, np.linalg.solve(m.reshape(5, 5), B)), a.ravel()).reshape(5, 5)
    np.testing.assert_allclose(gm, fd_m, rtol=1e-6, atol=1e-8)
    # Forward mode through the same implicit rule.
    tangent = RNG.normal(size=5)
    _, dx = fnad.jvp(lambda b: _solve(name, a, b, tol=1e-13), (B,), (tangent,))
    np.testing.assert_allclose(dx, np.linalg.solve(a, tangent), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name,a", SOLVERS)
def test_vmap_matches_a_loop_and_jit_matches_eager(name, a):
    rows = RNG.normal(size=(3, 5))
    for kwargs in ({"tol": 1e-12}, {"maxiter": 2}):
        batched = fnad.vmap(lambda b: _solve(name, a, b, **kwargs))(rows)
        np.testing.assert_allclose(batched, [_solve(name, a, r, **kwargs) for r in rows], rtol=1e-9, atol=1e-11)
        jitted = fnad.jit(lambda m, b: _solve(name, m, b, **kwargs))(a, B)
        np.testing.assert_allclose(jitted, _solve(name, a, B, **kwargs), rtol=1e-9, atol=1e-11)
    matrices = np.stack([a, a + np.eye(5)])
    batched = fnad.vmap(lambda m: _solve(name, m, B, tol=1e-12))(matrices)
    np.testing.assert_allclose(batched, [np.linalg.solve(m, B) for m in matrices], rtol=1e-8, atol=1e-10)


def test_gmres_info_reports_a_failure_as_jax():
    # A singular system breaks the normal equations down: NaNs, info -1 (JAX gives the same).
    with np.errstate(invalid="ignore", divide="ignore"):
        x, info = sparse_linalg.gmres(np.array([[1.0, 2.0], [2.0, 4.0]]), np.ones(2))
    assert np.isnan(x).all() and int(info) == -1


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match="square matrix"):
        sparse_linalg.cg(np.ones((2, 3)), np.ones(2))
    with pytest.raises(ValueError, match="square matrix"):
        sparse_linalg.gmres(np.eye(3), np.ones(3), M=np.ones(3))
    with pytest.raises(TypeError, match="function or a matrix"):
        sparse_linalg.bicgstab("A", np.ones(2))
    with pytest.raises(ValueError, match="tree structure"):
        sparse_linalg.cg(lambda x: x, {"a": np.ones(2)}, x0=[np.ones(2)])
    with pytest.raises(ValueError, match="matching shapes"):
        sparse_linalg.cg(np.eye(2), np.ones(2), x0=np.ones(3))
    with pytest.raises(ValueError, match="solve_method"):
        sparse_linalg.gmres(np.eye(2), np.ones(2), solve_method="qr")
    with pytest.raises(TypeError, match="structure of its argument"):
        sparse_linalg.cg(lambda x: (x, x), np.ones(2))
