"""Smoke tests of the teaching examples: each runs `main(["--quick"])` and its returned numbers are
checked against references computed independently here (closed forms, finite differences, NumPy)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import fnad

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

needs_control_flow = pytest.mark.skipif(
    not hasattr(fnad.lax, "while_loop"),
    reason="fnad.lax.while_loop/fori_loop/scan are not implemented yet (fnad/lax/control_flow.py)")


def _load(name):
    # examples/ is not a package: load each file by path under a private module name.
    spec = importlib.util.spec_from_file_location(f"_examples_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(name, *extra):
    return _load(name).main(["--quick", *extra])


def _central(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


def test_tensorflow_to_fnad_seed_values():
    out = _run("tensorflow_to_fnad")
    assert out["abc_grads"] == (2.0, 3.0, 1.0)
    assert out["square_grad"] == 6.0
    assert out["xy_grads"] == (2.0, 7.0)


def test_tensorflow_to_fnad_dense_gradients_match_numpy_backprop():
    out = _run("tensorflow_to_fnad")
    p, x, y = out["initial_params"], out["x"], out["y"]
    pre = x @ p["w1"] + p["b1"]
    hidden = np.maximum(pre, 0.0)
    err = hidden @ p["w2"] + p["b2"] - y
    d_out = 2 * err / err.size
    d_pre = (d_out @ p["w2"].T) * (pre > 0)
    expected = {"w2": hidden.T @ d_out, "b2": d_out.sum(0), "w1": x.T @ d_pre, "b1": d_pre.sum(0)}
    for name, g in expected.items():
        np.testing.assert_allclose(out["first_grads"][name], g, rtol=1e-10, atol=1e-12)
    assert out["losses"][0] == pytest.approx(np.mean(err ** 2), rel=1e-12)
    assert all(b < a for a, b in zip(out["losses"], out["losses"][1:])), out["losses"]


def test_autodiff_three_ways():
    out = _run("autodiff_three_ways")
    x, exact = out["x"], out["exact"]
    # The hand-written closed form agrees with a central difference of f computed in NumPy.
    assert exact == pytest.approx(_central(lambda v: v * np.sin(v ** 2), x), rel=1e-8)
    for name, value in out["ad"].items():
        assert value == pytest.approx(exact, rel=1e-14, abs=1e-15), name
    hs, fwd, cen = map(np.array, zip(*out["fd_table"]))
    assert np.all(np.diff(hs) < 0)
    # V shape: truncation error dominates at large h, rounding error at tiny h, best in between.
    best = np.argmin(cen)
    assert cen[best] < 1e-8 and cen[0] > 1e3 * cen[best] and cen[-1] > 1e3 * cen[best]
    # In the truncation regime the forward error scales like h and the central one like h^2.
    assert fwd[1] / fwd[2] == pytest.approx(hs[1] / hs[2], rel=0.05)
    assert cen[1] / cen[2] == pytest.approx((hs[1] / hs[2]) ** 2, rel=0.05)
    # Control flow: eager grad through Python if/while equals finite differences of the same path.
    python_f = lambda v: (np.sin(v) if v > 0 else v ** 2) * 3.0 ** _trips(v)
    for x0, g in zip(out["grid"], out["python_grads"]):
        assert g == pytest.approx(_central(python_f, x0), rel=1e-7)
    if out["lax_grads"] is not None:
        np.testing.assert_allclose(out["lax_grads"], out["python_grads"], rtol=1e-14)
        np.testing.assert_allclose(out["lax_vmap_grads"], out["python_grads"], rtol=1e-14)


def _trips(v):
    """How many times 3*y runs before y >= 10, starting from the branch value (NumPy, no fnad)."""
    y, n = (np.sin(v) if v > 0 else v ** 2), 0
    while y < 10.0:
        y, n = 3.0 * y, n + 1
    return n


def test_higher_derivatives(tmp_path):
    out = _run("higher_derivatives", "--out", str(tmp_path / "tanh.png"))
    mod = _load("higher_derivatives")
    x = out["x"]
    # The closed forms themselves are checked by finite differences, order by order.
    lower = np.tanh
    for n in range(1, 5):
        np.testing.assert_allclose(mod.closed_form(n, x), _central(lower, x, 1e-5), atol=1e-7)
        lower = lambda v, n=n: mod.closed_form(n, v)
        np.testing.assert_allclose(out["derivatives"][n], mod.closed_form(n, x), atol=1e-13)
    assert max(out["errors"].values()) < 1e-13
    sizes = out["ir_sizes"]
    assert len(sizes) == 6 and all(a < b for a, b in zip(sizes, sizes[1:]))
    assert all(ours < jax for ours, jax in zip(sizes, mod.JAX_JAXPR_EQNS)), sizes
    assert (tmp_path / "tanh.png").exists() == out["plotted"]
