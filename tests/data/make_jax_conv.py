"""Writes jax_conv.npz, the reference values `tests/test_conv.py` checks fnad's convolutions and
window reductions against.

Run with JAX installed (the values in the file came from JAX 0.10.2, CPU, jax_enable_x64=True):
`python tests/data/make_jax_conv.py`. Each case is a Python expression over `lax`, `np` and the
operands `x` and `w` (float64, seeded normal values of the given shapes); it is evaluated with
`lax = jax.lax` here and `lax = fnad.lax` in the test, so the test also checks that the same call
works unchanged. For each case the file holds the operands, the output, a cotangent and the
gradients of sum(output * cotangent) with respect to the float operands (jax.vjp)."""

import json
import pathlib

import numpy as np

# (expression, shape of x, shape of w or None)
CASES = [
    # conv_general_dilated: layouts, strides, padding kinds, dilations, groups, 1-D/2-D/3-D
    ("lax.conv_general_dilated(x, w, (1, 1), 'VALID')", (2, 3, 6, 5), (4, 3, 3, 2)),
    (
        "lax.conv_general_dilated(x, w, (2, 2), 'SAME', dimension_numbers=('NHWC', 'HWIO', 'NHWC'))",
        (2, 7, 6, 3),
        (3, 3, 3, 4),
    ),
    ("lax.conv_general_dilated(x, w, (2, 1), 'SAME_LOWER', rhs_dilation=(2, 1))", (1, 2, 9, 6), (3, 2, 2, 3)),
    ("lax.conv_general_dilated(x, w, (1, 2), ((1, -1), (2, 0)), lhs_dilation=(2, 1))", (2, 2, 5, 6), (3, 2, 3, 2)),
    (
        "lax.conv_general_dilated(x, w, (1,), 'SAME', dimension_numbers=('NWC', 'WIO', 'NWC'), feature_group_count=2)",
        (3, 8, 4),
        (3, 2, 6),
    ),
    (
        "lax.conv_general_dilated(x, w, (1, 2, 1), 'SAME', dimension_numbers=('NCDHW', 'OIDHW', 'NCDHW'))",
        (1, 2, 4, 5, 3),
        (3, 2, 2, 3, 2),
    ),
    ("lax.conv_general_dilated(x, w, (1, 1), ((1, 0), (0, 1)), batch_group_count=2)", (4, 3, 5, 4), (4, 3, 2, 2)),
    (
        "lax.conv_general_dilated(x, w, (1, 1), 'VALID', dimension_numbers=('NCHW', 'HWIO', 'NHWC'))",
        (2, 3, 5, 4),
        (2, 3, 3, 5),
    ),
    (
        "lax.conv_general_dilated(x, w, (2, 2), ((2, 1), (1, 2)), rhs_dilation=(2, 2), feature_group_count=3)",
        (2, 6, 7, 7),
        (6, 2, 2, 3),
    ),
    (
        "lax.conv_general_dilated(x, w, (1, 1), 'SAME', dimension_numbers=('HNWC', 'OHWI', 'CWNH'))",
        (5, 2, 4, 3),
        (2, 3, 3, 3),
    ),
    ("lax.conv_general_dilated(x, w, (3,), ((2, 2),), lhs_dilation=(2,), rhs_dilation=(3,))", (2, 2, 7), (3, 2, 3)),
    (
        "lax.conv_general_dilated(x.astype(np.float32), w.astype(np.float32), (1, 1), 'VALID', preferred_element_type=np.float64)",
        (1, 2, 4, 4),
        (2, 2, 2, 2),
    ),
    ("lax.conv(x, w, (1, 1), 'SAME')", (2, 3, 5, 5), (4, 3, 3, 3)),
    ("lax.conv_with_general_padding(x, w, (2, 1), ((1, 2), (0, 1)), (1, 2), (2, 1))", (1, 2, 5, 4), (3, 2, 2, 2)),
    ("lax.conv_transpose(x, w, (2, 2), 'SAME')", (2, 4, 3, 2), (3, 3, 2, 3)),
    ("lax.conv_transpose(x, w, (2, 2), 'VALID', transpose_kernel=True)", (1, 3, 4, 2), (3, 2, 3, 2)),
    ("lax.conv_transpose(x, w, (2,), ((1, 2),), dimension_numbers=('NCH', 'OIH', 'NCH'))", (2, 2, 5), (3, 2, 4)),
    # reduce_window: the monoids, a user computation, padding, strides and both dilations
    ("lax.reduce_window(x, -np.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), 'VALID')", (2, 6, 6, 3), None),
    ("lax.reduce_window(x, np.inf, lax.min, (1, 3, 3, 1), (1, 2, 2, 1), 'SAME')", (2, 7, 6, 2), None),
    ("lax.reduce_window(x, 0.0, lax.add, (2, 3), (1, 2), ((1, 0), (2, 1)), (1, 2), (2, 1))", (5, 6), None),
    ("lax.reduce_window(x, 1.0, lax.mul, (1, 2, 2), (1, 1, 2), 'VALID', window_dilation=(1, 2, 1))", (2, 5, 6), None),
    ("lax.reduce_window(x, -np.inf, lax.max, (3,), (2,), 'SAME_LOWER', base_dilation=(2,))", (7,), None),
]


def main():
    import jax

    jax.config.update("jax_enable_x64", True)
    from jax import lax

    rng = np.random.default_rng(15)
    out = {"cases": json.dumps([[expr, x_shape, w_shape] for expr, x_shape, w_shape in CASES])}
    for i, (expr, x_shape, w_shape) in enumerate(CASES):
        x = rng.normal(size=x_shape)
        w = None if w_shape is None else rng.normal(size=w_shape)

        def f(x, w):
            return eval(expr, {"lax": lax, "np": np, "x": x, "w": w})

        out[f"{i}_x"], out[f"{i}_y"] = x, np.asarray(f(x, w))
        if w is not None:
            out[f"{i}_w"] = w
        try:
            y, vjp = jax.vjp(f, x, w) if w is not None else jax.vjp(lambda x: f(x, None), x)
        except ValueError:  # JAX cannot reverse-differentiate reduce_window with a general computation
            continue
        ct = rng.normal(size=y.shape).astype(y.dtype)
        grads = vjp(ct)
        out[f"{i}_ct"], out[f"{i}_dx"] = ct, np.asarray(grads[0])
        if w is not None:
            out[f"{i}_dw"] = np.asarray(grads[1])
    np.savez_compressed(pathlib.Path(__file__).with_name("jax_conv.npz"), **out)


if __name__ == "__main__":
    main()
