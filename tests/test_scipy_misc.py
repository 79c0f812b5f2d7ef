"""fnad.scipy.integrate, .ndimage, .interpolate and .cluster.vq against SciPy (and JAX's reference values
where JAX deliberately differs from SciPy: tests/data/jax_scipy_breadth.json): values, derivatives
against central differences, vmap against a loop, jit against eager, and bad input."""

import json
import pathlib

import numpy as np
import pytest
import scipy.cluster.vq
import scipy.integrate
import scipy.interpolate
import scipy.ndimage

import fnad
import fnad.numpy as fnp
from fnad.scipy import integrate, interpolate, ndimage
from fnad.scipy.cluster import vq
from fnad.test_util import check_grads

JAX = json.loads((pathlib.Path(__file__).parent / "data" / "jax_scipy_breadth.json").read_text())
RNG = np.random.default_rng(14)
# JAX's "constant" and "wrap" are SciPy's "grid-constant" and "grid-wrap" (jax.scipy.ndimage's docs).
MODES = {
    "constant": "grid-constant",
    "nearest": "nearest",
    "wrap": "grid-wrap",
    "mirror": "mirror",
    "reflect": "reflect",
}


def test_trapezoid_matches_scipy_and_differentiates():
    y, x = RNG.normal(size=(3, 6)), np.sort(RNG.normal(size=6))
    np.testing.assert_allclose(integrate.trapezoid(y), scipy.integrate.trapezoid(y), rtol=1e-13)
    np.testing.assert_allclose(integrate.trapezoid(y, x), scipy.integrate.trapezoid(y, x), rtol=1e-13)
    np.testing.assert_allclose(integrate.trapezoid(y, dx=0.3, axis=0), scipy.integrate.trapezoid(y, dx=0.3, axis=0))
    check_grads(lambda y, x: integrate.trapezoid(y, x), (y, x), order=1)
    np.testing.assert_allclose(fnad.jit(integrate.trapezoid)(y, x), scipy.integrate.trapezoid(y, x), rtol=1e-13)


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("order", [0, 1])
def test_map_coordinates_matches_scipy(mode, order):
    image = RNG.normal(size=(4, 5))
    coords = [RNG.uniform(-7, 10, size=(3, 10)), RNG.uniform(-7, 10, size=(3, 10))]
    got = ndimage.map_coordinates(image, coords, order, mode=mode, cval=1.5)
    expected = scipy.ndimage.map_coordinates(image, np.array(coords), order=order, mode=MODES[mode], cval=1.5)
    assert got.shape == (3, 10)
    np.testing.assert_allclose(got, expected, atol=1e-12)
    jitted = fnad.jit(lambda im, c0, c1: ndimage.map_coordinates(im, [c0, c1], order, mode=mode, cval=1.5))
    np.testing.assert_allclose(jitted(image, *coords), got, atol=1e-12)


@pytest.mark.parametrize("mode", list(MODES))
def test_map_coordinates_rounds_as_jax(mode):
    ref = JAX["map_coordinates"][mode]
    image = np.arange(12.0).reshape(3, 4)
    coords = [np.array([0.5, -0.5, 1.5, 2.5]), np.array([1.5, 2.5, -0.5, 3.5])]
    np.testing.assert_array_equal(ndimage.map_coordinates(image, coords, 0, mode=mode, cval=-1.0), ref["order0"])
    got = ndimage.map_coordinates(image.astype(np.int32), [c + 0.25 for c in coords], 1, mode=mode)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, ref["int_order1"])


def test_map_coordinates_differentiates_and_batches():
    image = RNG.normal(size=(4, 5))
    coords = [RNG.uniform(0.1, 2.9, size=6), RNG.uniform(0.1, 3.9, size=6)]  # off the grid lines
    for mode in ("constant", "mirror"):
        check_grads(lambda im, c0, c1: ndimage.map_coordinates(im, [c0, c1], 1, mode=mode), (image, *coords), order=1)
    images = RNG.normal(size=(3, 4, 5))
    batched = fnad.vmap(lambda im: ndimage.map_coordinates(im, coords, 1))(images)
    np.testing.assert_allclose(batched, [ndimage.map_coordinates(im, coords, 1) for im in images], atol=1e-12)


def test_map_coordinates_bad_input():
    image = np.ones((3, 4))
    with pytest.raises(ValueError, match="length input.ndim"):
        ndimage.map_coordinates(image, [np.zeros(2)], 1)
    with pytest.raises(NotImplementedError, match="order 0 and 1"):
        ndimage.map_coordinates(image, [np.zeros(2)] * 2, 3)
    with pytest.raises(NotImplementedError, match="mode 'grid-wrap'"):
        ndimage.map_coordinates(image, [np.zeros(2)] * 2, 1, mode="grid-wrap")
    with pytest.raises(ValueError, match="at least one element"):
        ndimage.map_coordinates(np.ones((0, 2)), [np.zeros(2)] * 2, 1)


@pytest.mark.parametrize("method", ["linear", "nearest"])
@pytest.mark.parametrize("fill_value", [np.nan, None, -3.0])
def test_regular_grid_interpolator_matches_scipy(method, fill_value):
    grid = (np.sort(RNG.uniform(0, 1, 5)), np.sort(RNG.uniform(0, 2, 4)))
    values = RNG.normal(size=(5, 4, 2))
    points = RNG.uniform(-0.2, 2.2, size=(7, 3, 2))
    ours = interpolate.RegularGridInterpolator(grid, values, method=method, fill_value=fill_value)
    theirs = scipy.interpolate.RegularGridInterpolator(
        grid, values, method=method, fill_value=fill_value, bounds_error=False
    )
    got = ours(points)
    assert got.shape == (7, 3, 2)
    np.testing.assert_allclose(got, theirs(points), atol=1e-12)
    np.testing.assert_allclose(ours((points[..., 0], points[..., 1])), theirs(points), atol=1e-12)
    other = "nearest" if method == "linear" else "linear"
    np.testing.assert_allclose(ours(points, method=other), theirs(points, method=other), atol=1e-12)
    # The interpolator is a pytree: it goes through jit as an argument.
    np.testing.assert_allclose(fnad.jit(lambda r, p: r(p))(ours, points), got, atol=1e-12)


def test_regular_grid_interpolator_differentiates_and_batches():
    grid = (np.linspace(0, 1, 4), np.array([0.0, 0.5, 2.0]))
    values = RNG.normal(size=(4, 3))
    points = np.array([[0.1, 0.2], [0.7, 1.3], [0.45, 1.9]])

    def f(values, points):
        return interpolate.RegularGridInterpolator(grid, values)(points)

    check_grads(f, (values, points), order=1)
    stack = RNG.normal(size=(3, 4, 3))
    np.testing.assert_allclose(fnad.vmap(lambda v: f(v, points))(stack), [f(v, points) for v in stack], atol=1e-12)
    # A grad through the pytree: the derivative with respect to the values, as a pytree of the same kind.
    r = interpolate.RegularGridInterpolator(grid, values)
    g = fnad.grad(lambda r: fnp.sum(r(points)))(r)
    assert isinstance(g, interpolate.RegularGridInterpolator)
    np.testing.assert_allclose(g.values, fnad.grad(lambda v: fnp.sum(f(v, points)))(values), atol=1e-12)


def test_regular_grid_interpolator_bad_input():
    grid = (np.array([0.0, 1.0, 2.0]),)
    with pytest.raises(ValueError, match="method 'cubic' is not defined"):
        interpolate.RegularGridInterpolator(grid, np.ones(3), method="cubic")
    with pytest.raises(NotImplementedError, match="bounds_error"):
        interpolate.RegularGridInterpolator(grid, np.ones(3), bounds_error=True)
    with pytest.raises(ValueError, match="2 point arrays"):
        interpolate.RegularGridInterpolator(grid * 2, np.ones(3))
    with pytest.raises(ValueError, match="strictly increasing"):
        interpolate.RegularGridInterpolator((np.array([0.0, 2.0, 1.0]),), np.ones(3))
    with pytest.raises(ValueError, match=r"values.shape\[0\]"):
        interpolate.RegularGridInterpolator(grid, np.ones(4))
    with pytest.raises(ValueError, match="fill_value"):
        interpolate.RegularGridInterpolator(grid, np.ones(3), fill_value=1j)
    with pytest.raises(ValueError, match="dimension 2"):
        interpolate.RegularGridInterpolator(grid, np.ones(3))(np.ones((4, 2)))


def test_vq_matches_scipy_and_differentiates():
    obs, book = RNG.normal(size=(8, 3)), RNG.normal(size=(4, 3))
    codes, dist = vq.vq(obs, book)
    expected_codes, expected_dist = scipy.cluster.vq.vq(obs, book)
    np.testing.assert_array_equal(codes, expected_codes)
    np.testing.assert_allclose(dist, expected_dist, rtol=1e-13)
    codes1, dist1 = vq.vq(obs[:, 0], book[:, 0])
    expected1 = scipy.cluster.vq.vq(obs[:, :1], book[:, :1])
    np.testing.assert_array_equal(codes1, expected1[0])
    np.testing.assert_allclose(dist1, expected1[1], rtol=1e-13)
    check_grads(lambda o, b: vq.vq(o, b)[1], (obs, book), order=1)
    jitted = fnad.jit(vq.vq)(obs, book)
    np.testing.assert_array_equal(jitted[0], expected_codes)
    stack = RNG.normal(size=(3, 8, 3))
    batched = fnad.vmap(lambda o: vq.vq(o, book)[0])(stack)
    np.testing.assert_array_equal(batched, [scipy.cluster.vq.vq(o, book)[0] for o in stack])
    with pytest.raises(ValueError, match="same rank"):
        vq.vq(obs, book[0])
    with pytest.raises(ValueError, match="ndim different than 1 or 2"):
        vq.vq(obs[None], book[None])
    with pytest.raises(ValueError, match="same number of features"):
        vq.vq(obs, book[:, :2])
