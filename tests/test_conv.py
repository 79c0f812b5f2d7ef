"""Convolutions and window reductions: lax.conv_general_dilated and its wrappers, lax.reduce_window,
nn.max_pool/avg_pool.

Values and gradients against JAX (tests/data/jax_conv.npz, written by tests/data/make_jax_conv.py:
each case is the same expression run with jax.lax there and fnad.lax here), eagerly and under jit;
derivatives against central finite differences; vmap against a Python loop; jacfwd against jacrev;
the compiled im2col decomposition against the NumPy reference for float32, integers and
preferred_element_type; and the errors bad arguments get. The primitive's randomised checks (layouts,
strides, padding, dilations, groups) are in the table of tests/test_primitives.py."""

import json
import pathlib

import numpy as np
import pytest

import fnad
import fnad.numpy as fnp
from fnad import lax, nn
from fnad.test_util import check_grads

DATA = np.load(pathlib.Path(__file__).parent / "data" / "jax_conv.npz")
CASES = json.loads(str(DATA["cases"]))


def _run(expr, x, w):
    return eval(expr, {"lax": lax, "np": np, "x": x, "w": w})


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c[0].split("(")[0][4:] + str(i) for i, c in enumerate(CASES)])
def test_matches_jax(index, mode):
    expr, _, w_shape = CASES[index]
    x, w = DATA[f"{index}_x"], DATA.get(f"{index}_w")
    f = (lambda x, w: _run(expr, x, w)) if w_shape else (lambda x: _run(expr, x, None))
    args = (x, w) if w_shape else (x,)
    y = mode(f)(*args)
    assert np.asarray(y).dtype == DATA[f"{index}_y"].dtype
    np.testing.assert_allclose(y, DATA[f"{index}_y"], rtol=1e-12, atol=1e-12, err_msg=expr)
    if f"{index}_ct" not in DATA:
        return  # JAX does not reverse-differentiate reduce_window with a general computation
    grads = mode(lambda *args: fnad.vjp(f, *args)[1](DATA[f"{index}_ct"]))(*args)
    np.testing.assert_allclose(grads[0], DATA[f"{index}_dx"], rtol=1e-12, atol=1e-12, err_msg=expr)
    if w_shape:
        np.testing.assert_allclose(grads[1], DATA[f"{index}_dw"], rtol=1e-12, atol=1e-12, err_msg=expr)


RNG = np.random.default_rng(0)

CONVS = {
    "nhwc-same-stride2": (
        lambda x, w: lax.conv_general_dilated(x, w, (2, 2), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")),
        (2, 5, 5, 3),
        (3, 3, 3, 2),
    ),
    "nchw-dilated-groups": (
        lambda x, w: lax.conv_general_dilated(
            x, w, (1, 1), ((1, 0), (0, 1)), lhs_dilation=(1, 2), rhs_dilation=(2, 1), feature_group_count=2
        ),
        (1, 4, 4, 3),
        (4, 2, 2, 2),
    ),
    "batch-groups-1d": (
        lambda x, w: lax.conv_general_dilated(x, w, (2,), "VALID", batch_group_count=2),
        (4, 2, 6),
        (2, 2, 3),
    ),
    "transpose": (lambda x, w: lax.conv_transpose(x, w, (2, 2), "SAME"), (1, 3, 3, 2), (3, 3, 2, 2)),
}


@pytest.mark.parametrize("name", CONVS)
def test_derivatives_match_finite_differences(name, mode):
    f, xs, ws = CONVS[name]
    order = 2 if mode.name == "eager" else 1  # second order compiles many programs: eagerly only
    check_grads(mode(f), (RNG.normal(size=xs), RNG.normal(size=ws)), order=order)


@pytest.mark.parametrize("name", CONVS)
def test_jacfwd_matches_jacrev(name):
    f, xs, ws = CONVS[name]
    x, w = RNG.normal(size=xs), RNG.normal(size=ws)
    for argnums in (0, 1):
        np.testing.assert_allclose(fnad.jacfwd(f, argnums)(x, w), fnad.jacrev(f, argnums)(x, w), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", CONVS)
@pytest.mark.parametrize("in_axes", [(0, None), (None, 2), (1, 0)])
def test_vmap_matches_loop(name, in_axes, mode):
    f, xs, ws = CONVS[name]
    size = 3
    shapes = [s if a is None else s[:a] + (size,) + s[a:] for s, a in zip((xs, ws), in_axes)]
    x, w = (RNG.normal(size=s) for s in shapes)
    take = lambda v, a, b: v if a is None else np.take(v, b, axis=a)
    expected = np.stack([f(take(x, in_axes[0], b), take(w, in_axes[1], b)) for b in range(size)], axis=1)
    actual = fnad.vmap(mode(f), in_axes=in_axes, out_axes=1)(x, w)
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12)


def test_jit_float32_int_and_preferred_element_type():
    x, w = RNG.normal(size=(2, 6, 6, 3)).astype(np.float32), RNG.normal(size=(3, 3, 3, 4)).astype(np.float32)
    dn = ("NHWC", "HWIO", "NHWC")
    f = lambda x, w: lax.conv_general_dilated(x, w, (1, 2), "SAME", dimension_numbers=dn)
    y = fnad.jit(f)(x, w)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, f(x, w), rtol=1e-5, atol=1e-5)
    xi, wi = (np.round(a * 3).astype(np.int32) for a in (x, w))
    assert np.array_equal(fnad.jit(f)(xi, wi), f(xi, wi)) and f(xi, wi).dtype == np.int32
    g = lambda x, w: lax.conv(x, w, (1, 1), "VALID", preferred_element_type=np.float64)
    x, w = np.moveaxis(x, 3, 1), np.moveaxis(w, (3, 2), (0, 1))  # NCHW, OIHW
    expected = lax.conv(x.astype(np.float64), w.astype(np.float64), (1, 1), "VALID")
    for y in (g(x, w), fnad.jit(g)(x, w)):
        assert y.dtype == np.float64
        np.testing.assert_allclose(y, expected, rtol=1e-12)


def test_numpy_convolve_and_correlate_still_match_numpy():
    a, v = RNG.normal(size=7), RNG.normal(size=3)
    for mode in ("full", "same", "valid"):
        np.testing.assert_allclose(fnp.convolve(a, v, mode), np.convolve(a, v, mode), rtol=1e-12)
        np.testing.assert_allclose(fnp.correlate(a, v, mode), np.correlate(a, v, mode), rtol=1e-12)


def test_dimension_numbers_and_padding_helpers():
    dn = lax.conv_dimension_numbers((1, 5, 5, 3), (3, 3, 3, 8), ("NHWC", "HWIO", "NHWC"))
    assert dn == lax.ConvDimensionNumbers((0, 3, 1, 2), (3, 2, 0, 1), (0, 3, 1, 2))
    assert lax.conv_dimension_numbers((1, 2, 3), (1, 2, 3), None) == ((0, 1, 2),) * 3
    assert lax.padtype_to_pads((5, 6), (3, 2), (2, 2), "SAME") == ((1, 1), (0, 0))
    assert lax.padtype_to_pads((4,), (4,), (1,), "SAME_LOWER") == ((2, 1),)


def _pool_ref(x, window, strides, reduce):
    """Pooling over (batch, H, W, C) written out with NumPy (VALID padding)."""
    oh, ow = ((n - k) // s + 1 for n, k, s in zip(x.shape[1:3], window, strides))
    out = np.empty((x.shape[0], oh, ow, x.shape[3]))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * strides[0] : i * strides[0] + window[0], j * strides[1] : j * strides[1] + window[1]]
            out[:, i, j] = reduce(patch, axis=(1, 2))
    return out


def test_pools_match_numpy_and_differentiate(mode):
    x = RNG.permutation(2 * 6 * 7 * 3).reshape(2, 6, 7, 3) / 10.0  # distinct: max has no ties
    np.testing.assert_allclose(mode(lambda x: nn.max_pool(x, (2, 3), (2, 2)))(x), _pool_ref(x, (2, 3), (2, 2), np.max))
    np.testing.assert_allclose(mode(lambda x: nn.avg_pool(x, (3, 2)))(x), _pool_ref(x, (3, 2), (1, 1), np.mean))
    pools = lambda x: (
        nn.max_pool(x, (2, 2), (2, 2), padding="SAME"),
        nn.avg_pool(x, (2, 2), padding=((1, 0), (0, 1)), count_include_pad=False),
    )
    check_grads(mode(pools), (x,), order=1)
    # without a batch axis, as flax
    np.testing.assert_allclose(nn.max_pool(x[0], (2, 2)), nn.max_pool(x, (2, 2))[0])


def test_avg_pool_excluding_padding():
    x = np.arange(16.0).reshape(1, 4, 4, 1)
    y = nn.avg_pool(x, (3, 3), padding="SAME", count_include_pad=False)[0, :, :, 0]
    assert y[0, 0] == np.mean([0, 1, 4, 5]) and y[1, 1] == np.mean(x[0, :3, :3])


def test_reduce_window_vmap_and_pytrees(mode):
    x = RNG.normal(size=(3, 5, 4))
    f = lambda x: lax.reduce_window(x, -np.inf, lax.max, (2, 2), (1, 2), "SAME", window_dilation=(2, 1))
    expected = np.stack([f(x[:, i]) for i in range(5)], axis=0)
    np.testing.assert_allclose(fnad.vmap(mode(f), in_axes=1)(x), expected)
    # a pytree of operands reduced together: the value and its index of the maximum
    idx = np.broadcast_to(np.arange(5.0), (3, 5))

    def argmax_window(a, b):
        take_b = b[0] > a[0]
        return fnp.where(take_b, b[0], a[0]), fnp.where(take_b, b[1], a[1])

    vals, where = mode(lambda v, i: lax.reduce_window((v, i), (-np.inf, -1.0), argmax_window, (1, 3), (1, 1)))(
        x[:, :, 0], idx
    )
    windows = np.lib.stride_tricks.sliding_window_view(x[:, :, 0], 3, axis=1)
    np.testing.assert_array_equal(vals, windows.max(-1))
    np.testing.assert_array_equal(where, windows.argmax(-1) + np.arange(3))


def test_bad_arguments_raise_clear_errors():
    x, w = np.ones((1, 4, 5, 5)), np.ones((2, 3, 3, 3))
    with pytest.raises(TypeError, match="feature size 4 .* feature_group_count 1 .* input feature size 3"):
        lax.conv_general_dilated(x, w, (1, 1), "VALID")
    with pytest.raises(TypeError, match="same dtype, got float64 and float32"):
        lax.conv_general_dilated(x, w.astype(np.float32), (1, 1), "VALID")
    with pytest.raises(TypeError, match="must contain the characters 'O' and 'I'"):
        lax.conv_general_dilated(x, w, (1, 1), "VALID", dimension_numbers=("NCHW", "OXHW", "NCHW"))
    with pytest.raises(ValueError, match="window_strides"):
        lax.conv_general_dilated(x, np.ones((2, 4, 3, 3)), (1,), "VALID")
    with pytest.raises(ValueError, match="Unknown padding"):
        lax.conv_general_dilated(x, np.ones((2, 4, 3, 3)), (1, 1), "FULL")
    with pytest.raises(ValueError, match="transposed convolution"):
        lax.conv_general_dilated(x, np.ones((2, 4, 3, 3)), (1, 1), "SAME", lhs_dilation=(2, 2))
    with pytest.raises(TypeError, match="same dtype"):  # under jit the same check runs when tracing
        fnad.jit(lambda x, w: lax.conv(x, w, (1, 1), "VALID"))(x, np.ones((2, 4, 3, 3), np.float32))
    with pytest.raises(TypeError, match="init_value must be a scalar of the operand's dtype float64"):
        lax.reduce_window(x, np.float32(0), lax.add, (1, 1, 2, 2))
    with pytest.raises(ValueError, match="window_dimensions"):
        lax.reduce_window(x, 0.0, lax.add, (2, 2))
    with pytest.raises(ValueError, match="features axis"):
        nn.max_pool(np.ones((4, 4)), (2, 2))


def _prepared_primitives(f, *args):
    from fnad.passes import prepare_for_compile

    return [e.primitive.name for e in prepare_for_compile(fnad.make_jaxpr(f)(*args)).jaxpr.eqns]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_native_lowering_matches_reference_and_thread_count(dtype):
    """Float convolutions compile as one of the canonical convolutions the compiler packs per image
    into gemms (channels-last; and kernel gradients, accumulated per group of images): values as the
    NumPy reference, bits the same on 1 and 3 threads."""
    from fnad_compiler import parallel

    x = RNG.normal(size=(11, 9, 7, 5)).astype(dtype)  # 11 images: groups of unequal sizes
    w = RNG.normal(size=(4, 5, 3, 3)).astype(dtype)  # OIHW
    f = lambda x, w: lax.conv_general_dilated(
        x, w, (2, 1), ((2, 1), (0, 2)), rhs_dilation=(1, 2), dimension_numbers=("NHWC", "OIHW", "NHWC")
    )
    grad_w = lambda x, w: fnad.grad(lambda w: (f(x, w) * fnp.cos(f(x, w))).sum())(w)
    for fun in (f, grad_w):
        prepared = _prepared_primitives(fun, x, w)
        assert "conv_general_dilated" in prepared and "dot_general" not in prepared  # native, not im2col
        before = parallel.get_num_threads()
        try:
            results = []
            for threads in (1, 3):
                parallel.set_num_threads(threads)
                results.append(np.asarray(fnad.jit(fun)(x, w)))
        finally:
            parallel.set_num_threads(before)
        assert np.array_equal(results[0], results[1])
        np.testing.assert_allclose(results[0], fun(x, w), rtol=1e-4 if dtype == np.float32 else 1e-12, atol=1e-4)


def test_empty_convolutions_compile():
    f = lambda x, w: lax.conv_general_dilated(x, w, (1,), "VALID", dimension_numbers=("NWC", "WIO", "NWC"))
    for xs, ws in [((2, 4, 0), (1, 0, 5)), ((2, 4, 0), (3, 0, 5)), ((0, 4, 2), (3, 2, 5)), ((2, 2, 2), (3, 2, 5))]:
        x, w = np.ones(xs, np.float32), np.ones(ws, np.float32)
        y = fnad.jit(f)(x, w)
        assert y.shape == f(x, w).shape and np.array_equal(y, f(x, w))


def test_vmap_over_an_empty_axis():
    f = lambda x, w: lax.conv(x, w, (1, 1), "SAME")
    x, w = np.ones((0, 2, 3, 4, 4)), np.ones((0, 5, 3, 2, 2))
    assert fnad.vmap(f)(x, w).shape == (0, 2, 5, 4, 4)
    assert fnad.vmap(f, in_axes=(None, 0))(np.ones((2, 3, 4, 4)), w).shape == (0, 2, 5, 4, 4)
