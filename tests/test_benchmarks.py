"""The compile-time benchmark's workloads compute what they claim (benchmarks/compile_time.py)."""

import numpy as np

import fnad
import fnad.numpy as fnp
from benchmarks import compile_time


def test_gmm_gradient_matches_central_differences():
    f, args = compile_time.gmm(fnp, 40, 3, 4)
    f_np, _ = compile_time.gmm(np, 40, 3, 4)
    assert np.isclose(f(*args), f_np(*args), rtol=1e-13)
    grads = fnad.jit(fnad.grad(f, argnums=(0, 1, 2)))(*args)
    rng = np.random.default_rng(0)
    for i, (a, g) in enumerate(zip(args, grads)):
        d = rng.normal(size=a.shape)
        shifted = lambda h: f_np(*[b + h * d if j == i else b for j, b in enumerate(args)])
        fd = (shifted(1e-6) - shifted(-1e-6)) / 2e-6
        assert np.isclose(np.sum(g * d), fd, rtol=1e-6, atol=1e-6)


def test_chain_cell_reports_its_phases():
    result = compile_time.one("fnad", "chain-grad", 10, repeats=2)
    assert result["first"] > result["next"] > 0
    assert {"trace", "cache key"} <= set(result["phases"])  # lowering only on a cache miss


def test_hand_jacobian_matches_central_differences_and_reverse_mode():
    f, (theta,) = compile_time.hand(fnp, 30, nverts=40)
    f_np, _ = compile_time.hand(np, 30, nverts=40)
    np.testing.assert_allclose(f(theta), f_np(theta), rtol=1e-13, atol=1e-13)
    jacobian = fnad.jacfwd(f)(theta)
    assert jacobian.shape == (90, 26)
    columns = [(f_np(theta + 1e-6 * e) - f_np(theta - 1e-6 * e)) / 2e-6 for e in np.eye(26)]
    np.testing.assert_allclose(jacobian, np.stack(columns, axis=1), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(jacobian, fnad.jacrev(f)(theta), rtol=1e-12, atol=1e-13)
