"""Smoke tests of the teaching examples: each runs `main(["--quick"])` and its returned numbers are
checked against references computed independently here (closed forms, finite differences, NumPy)."""

import importlib.util
import itertools
from pathlib import Path

import numpy as np
import pytest

import fnad

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

needs_control_flow = pytest.mark.skipif(
    not hasattr(fnad.lax, "while_loop"),
    reason="fnad.lax.while_loop/fori_loop/scan are not implemented yet (fnad/lax/control_flow.py)",
)


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
    assert out["losses"][0] == pytest.approx(np.mean(err**2), rel=1e-12)
    assert all(b < a for a, b in zip(out["losses"], out["losses"][1:])), out["losses"]


def test_autodiff_three_ways():
    out = _run("autodiff_three_ways")
    x, exact = out["x"], out["exact"]
    # The hand-written closed form agrees with a central difference of f computed in NumPy.
    assert exact == pytest.approx(_central(lambda v: v * np.sin(v**2), x), rel=1e-8)
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
    python_f = lambda v: (np.sin(v) if v > 0 else v**2) * 3.0 ** _trips(v)
    for x0, g in zip(out["grid"], out["python_grads"]):
        assert g == pytest.approx(_central(python_f, x0), rel=1e-7)
    assert "lax.while_loop" in out["python_vmap_error"]  # the error names the structured alternative
    if out["lax_grads"] is not None:
        np.testing.assert_allclose(out["lax_grads"], out["python_grads"], rtol=1e-14)
        np.testing.assert_allclose(out["lax_vmap_grads"], out["python_grads"], rtol=1e-14)


def _trips(v):
    """How many times 3*y runs before y >= 10, starting from the branch value (NumPy, no fnad)."""
    y, n = (np.sin(v) if v > 0 else v**2), 0
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
    assert len(sizes) == 6 and all(a < b for a, b in itertools.pairwise(sizes))
    assert all(ours < jax for ours, jax in zip(sizes, mod.JAX_JAXPR_EQNS)), sizes
    assert (tmp_path / "tanh.png").exists() == out["plotted"]


def test_per_example_gradients():
    out = _run("per_example_gradients")
    w, x, y = out["w"], out["x"], out["y"]
    expected = (1 / (1 + np.exp(-x @ w)) - y)[:, None] * x
    np.testing.assert_allclose(out["grads"], expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out["loop_grads"], expected[: len(out["loop_grads"])], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out["mean_grad"], expected.mean(axis=0), rtol=1e-12, atol=1e-14)
    assert out["jit_used"] and out["path"] == "fnad.jit(vmap(grad))"  # the default path is compiled


def _numpy_newton_sqrt(a, tol):
    x, n = 0.5 * (1.0 + a), 0
    while abs(x * x - a) > tol * a and n < 100:
        x, n = 0.5 * (x + a / x), n + 1
    return x, n


@needs_control_flow
def test_newton_while_loop():
    out = _run("newton_while_loop")
    assert out["root"] == pytest.approx(np.sqrt(2.0), rel=1e-15)
    assert out["grad"] == pytest.approx(1 / (2 * np.sqrt(2.0)), rel=1e-13)
    assert out["jvp"] == pytest.approx(out["grad"], rel=1e-13)
    lanes = out["lanes"]
    reference = [_numpy_newton_sqrt(a, 1e-15) for a in lanes]
    np.testing.assert_array_equal(out["lane_trips"], [n for _, n in reference])
    assert len(set(out["lane_trips"].tolist())) >= 3  # lanes really ran different trip counts
    np.testing.assert_allclose(out["lane_roots"], np.sqrt(lanes), rtol=1e-15)
    np.testing.assert_allclose(out["lane_grads"], 1 / (2 * np.sqrt(lanes)), rtol=1e-12)


def _numpy_pendulum(damping, steps, dt, theta0=2.5, g_over_l=9.81):
    def f(theta, omega):
        return omega, -g_over_l * np.sin(theta) - damping * omega

    theta, omega = theta0, 0.0
    for _ in range(steps):
        k1 = f(theta, omega)
        k2 = f(theta + 0.5 * dt * k1[0], omega + 0.5 * dt * k1[1])
        k3 = f(theta + 0.5 * dt * k2[0], omega + 0.5 * dt * k2[1])
        k4 = f(theta + dt * k3[0], omega + dt * k3[1])
        theta += dt / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        omega += dt / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
    return theta


@needs_control_flow
def test_pendulum_rk4():
    out = _run("pendulum_rk4")
    final = lambda c: _numpy_pendulum(c, out["steps"], out["dt"])
    assert out["theta_T"] == pytest.approx(final(out["damping"]), rel=1e-12)
    assert out["grad"] == pytest.approx(_central(final, out["damping"]), rel=1e-7)
    assert out["jvp"] == pytest.approx(out["grad"], rel=1e-12)
    fd_sweep = [_central(final, c) for c in out["dampings"]]
    np.testing.assert_allclose(out["sweep_grads"], fd_sweep, rtol=1e-6)


@needs_control_flow
def test_rnn_scan():
    out = _run("rnn_scan")
    p, xs, targets = out["initial_params"], out["xs"], out["targets"]

    def numpy_loss(params):
        h, total = np.zeros_like(params["b"]), 0.0
        for x_t, target_t in zip(xs, targets):
            h = np.tanh(params["w_h"] @ h + params["w_x"] * x_t + params["b"])
            total += (h @ params["w_out"] + params["b_out"] - target_t) ** 2
        return total / len(xs)

    assert out["loss"] == pytest.approx(numpy_loss(p), rel=1e-12)
    assert out["loss_unrolled"] == pytest.approx(out["loss"], rel=1e-12)
    for name in p:
        np.testing.assert_allclose(out["grads"][name], out["grads_unrolled"][name], rtol=1e-10, atol=1e-13)
    # A directional derivative of the NumPy loss along a random direction for every parameter.
    rng = np.random.default_rng(1)
    direction = {k: rng.normal(size=np.shape(v)) for k, v in p.items()}
    shifted = lambda t: numpy_loss({k: p[k] + t * direction[k] for k in p})
    directional = sum(np.sum(out["grads"][k] * direction[k]) for k in p)
    assert directional == pytest.approx(_central(shifted, 0.0), rel=1e-6)
    assert out["losses"][-1] < out["losses"][0]
    assert out["scan_eqns"] < out["loop_eqns"]


def _numpy_rosenbrock_grad(x):
    g = np.zeros_like(x)
    r = x[1:] - x[:-1] ** 2
    g[:-1] += -400 * x[:-1] * r - 2 * (1 - x[:-1])
    g[1:] += 200 * r
    return g


def test_hessian_vector_products():
    out = _run("hessian_vector_products")
    x, v = out["x"], out["v"]
    mod = _load("hessian_vector_products")
    closed = mod.rosenbrock_hvp_closed_form(x, v)
    # The hand-derived H v is the central difference of the hand-derived gradient along v.
    fd = (_numpy_rosenbrock_grad(x + 1e-5 * v) - _numpy_rosenbrock_grad(x - 1e-5 * v)) / 2e-5
    np.testing.assert_allclose(closed, fd, rtol=1e-7, atol=1e-7)
    for name, value in out["products"].items():
        np.testing.assert_allclose(value, closed, rtol=1e-12, atol=1e-12, err_msg=name)
    for size, t_hvp, t_hessian, rel_err in out["timing"]:
        assert t_hvp > 0 and t_hessian > 0 and rel_err < 1e-13, (size, rel_err)


def test_train_mlp_quick():
    assert _run("train_mlp") > 0.85  # 3 epochs; the full run reaches ~98%


def test_train_cnn():
    out = _run("train_cnn")
    assert out["test_accuracy"] > 0.9  # 3 epochs; the full 30 reach >= 98% (seeds 0-3)
    assert out["epoch_losses"][-1] < out["epoch_losses"][0]
    # The network the example trains, in float64: its jit-compiled gradient against central differences
    mod = _load("train_cnn")
    rng = np.random.default_rng(0)
    params = fnad.tree_util.tree_map(lambda p: p.astype(np.float64) + 0.1, mod.init_params(seed=1))
    images, labels = rng.uniform(size=(4, 8, 8, 1)), np.array([0, 3, 5, 9])
    loss = lambda p: mod.loss_and_accuracy(p, images, labels)[0]
    grads = fnad.jit(fnad.grad(loss))(params)
    direction = fnad.tree_util.tree_map(lambda p: rng.normal(size=p.shape), params)
    shifted = lambda h: loss(fnad.tree_util.tree_map(lambda p, d: p + h * d, params, direction))
    numeric = (shifted(1e-6) - shifted(-1e-6)) / 2e-6
    analytic = sum(np.sum(grads[k] * direction[k]) for k in params)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6)


def test_readme_opens_with_the_main_job_then_the_test_command_ci_runs():
    """The README's first two fenced blocks set up a fresh machine: install and run the main job,
    then install with the test extras and run the suite, the command `.ci/run` runs."""
    root = EXAMPLES.parent
    blocks = (root / "README.md").read_text().split("```")[1::2]
    first, second = (b.split("\n", 1)[1].strip() for b in blocks[:2])
    assert first == "python -m pip install -e . && python examples/train_mlp.py"
    assert second == "python -m pip install -e '.[test]' && python -m pytest -q"
    assert second in (root / ".ci" / "run").read_text()
