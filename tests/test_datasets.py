"""Tests for examples/datasets.py (the shipped digits file and its checks) and
for the NumPy reference MLP's hand-written gradient."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name):
    # Loaded by path under a private name: "datasets" is also a PyPI package.
    spec = importlib.util.spec_from_file_location(f"_examples_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


datasets = _load("datasets")
mlp = _load("numpy_mlp_reference")


def test_load_digits_shapes_dtypes_ranges():
    x, y = datasets.load_digits()
    assert x.shape == (1797, 64) and x.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int32
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_array_equal(np.unique(x * 16), np.arange(17))  # counts 0..16
    np.testing.assert_array_equal(np.bincount(y), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
    # First image of the file, a zero, row-major.
    assert y[0] == 0
    np.testing.assert_array_equal(x[0, :8] * 16, [0, 0, 5, 13, 9, 1, 0, 0])


def test_corrupted_or_missing_file_is_rejected(tmp_path):
    data = bytearray(datasets.DIGITS_PATH.read_bytes())
    data[len(data) // 2] ^= 0x01
    bad = tmp_path / "digits.csv.gz"
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupted: sha256"):
        datasets.load_digits(bad)
    with pytest.raises(FileNotFoundError, match="not found"):
        datasets.load_digits(tmp_path / "missing.csv.gz")


def test_train_test_split_is_a_deterministic_partition():
    x = np.arange(100, dtype=np.float32).reshape(50, 2)
    y = np.arange(50)
    x_tr, _x_te, y_tr, y_te = datasets.train_test_split(x, y, test_fraction=0.2, seed=3)
    assert len(y_te) == 10 and len(y_tr) == 40
    np.testing.assert_array_equal(np.sort(np.concatenate([y_tr, y_te])), y)
    np.testing.assert_array_equal(x_tr[:, 0], 2 * y_tr)  # rows stay paired
    again = datasets.train_test_split(x, y, test_fraction=0.2, seed=3)
    np.testing.assert_array_equal(again[3], y_te)
    assert not np.array_equal(datasets.train_test_split(x, y, seed=4)[3], y_te)
    with pytest.raises(ValueError):
        datasets.train_test_split(x, y[:-1])
    with pytest.raises(ValueError):
        datasets.train_test_split(x, y, test_fraction=1.0)


def test_manual_gradient_matches_central_differences():
    rng = np.random.default_rng(0)
    params = mlp.init_params(sizes=(5, 4, 3), seed=1, dtype=np.float64)
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in params.items()}
    x = rng.standard_normal((6, 5))
    y = np.array([0, 1, 2, 2, 1, 0])
    loss, grads = mlp.loss_and_grads(params, x, y)
    eps = 1e-6
    for name, value in params.items():
        numeric = np.zeros_like(value)
        for i in np.ndindex(value.shape):
            shifted = {k: v.copy() for k, v in params.items()}
            shifted[name][i] = value[i] + eps
            plus = mlp.loss_and_grads(shifted, x, y)[0]
            shifted[name][i] = value[i] - eps
            minus = mlp.loss_and_grads(shifted, x, y)[0]
            numeric[i] = (plus - minus) / (2 * eps)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-6, atol=1e-9, err_msg=name)
    # The loss itself: mean cross-entropy of a direct softmax.
    z = mlp.logits(params, x)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(loss, -np.mean(np.log(p[np.arange(6), y])), rtol=1e-12)


def test_train_step_is_sgd_and_pure():
    params = mlp.init_params(sizes=(5, 4, 3), seed=2)
    before = {k: v.copy() for k, v in params.items()}
    x = np.random.default_rng(1).standard_normal((8, 5)).astype(np.float32)
    y = np.arange(8) % 3
    loss, grads = mlp.loss_and_grads(params, x, y)
    step_loss, new = mlp.numpy_train_step(params, x, y, 0.5)
    assert step_loss == loss
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])
        np.testing.assert_allclose(new[k], params[k] - 0.5 * grads[k], rtol=1e-6)
        assert new[k].dtype == np.float32
    assert mlp.loss_and_grads(new, x, y)[0] < loss
