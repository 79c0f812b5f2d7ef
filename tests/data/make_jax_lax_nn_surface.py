"""Writes jax_lax_nn_surface.npz, the reference values `tests/test_lax_nn_surface.py` checks the lax and nn
functions that issue 13 added (JAX's names fnad lacked) against.

Run with JAX installed (the values in the file came from JAX 0.10.2, CPU, jax_enable_x64=True):
`python tests/data/make_jax_lax_nn_surface.py`. Each case is a Python expression over `lax`, `nn`, `np` and
the float64 operands `x` and `w` (seeded normal values of the given shapes); it is evaluated with JAX's
modules here and fnad's in the test, so the test also checks that the same call works unchanged. For each
case the file holds the operands, the output's leaves and, for differentiable cases, a cotangent per leaf
and the gradient of sum(output * cotangent) with respect to `x` (jax.vjp)."""

import json
import pathlib

import numpy as np

GDN = "lax.GatherDimensionNumbers"
SDN = "lax.ScatterDimensionNumbers"
I = "np.array({}, np.int32)"
# (expression, shape of x, shape of w or None, differentiable in x)
CASES = [
    # shapes, stacking, splitting
    ("lax.broadcast(x, (2, 3))", (4,), None, True),
    ("lax.broadcast_to_rank(x, 4)", (2, 3), None, True),
    ("lax.collapse(x, 1)", (2, 3, 4), None, True),
    ("lax.collapse(x, 0, 2)", (2, 3, 4), None, True),
    ("lax.collapse(x, -2)", (2, 3, 4), None, True),
    ("lax.full_like(x, 2.5)", (2, 3), None, False),
    ("lax.full_like(x, 3, np.int32, (4,))", (2, 3), None, False),
    ("lax.stack([x, w, x], axis=1)", (2, 3), (2, 3), True),
    ("lax.stack([x, w], axis=-1)", (2, 3), (2, 3), True),
    ("lax.unstack(x, axis=1)", (2, 3), None, True),
    ("lax.split(x, (1, 3, 0), axis=1)", (2, 4), None, True),
    ("lax.tile(x, (2, 3))", (2, 3), None, True),
    ("lax.batch_matmul(x, w)", (2, 3, 4), (2, 4, 5), True),
    ("lax.index_in_dim(x, -1, axis=1, keepdims=False)", (2, 3, 4), None, True),
    ("lax.index_in_dim(x, 1)", (3, 2), None, True),
    ("lax.dynamic_slice_in_dim(x, 2, 3, axis=1)", (2, 6), None, True),
    ("lax.dynamic_slice_in_dim(x, -2, 2)", (6,), None, True),
    ("lax.dynamic_slice_in_dim(x, 5, 3)", (6,), None, True),
    ("lax.dynamic_index_in_dim(x, 1, axis=1, keepdims=False)", (2, 3), None, True),
    ("lax.dynamic_index_in_dim(x, -1)", (3, 2), None, True),
    ("lax.dynamic_update_slice_in_dim(x, w, 1, axis=0)", (4, 2), (2, 2), True),
    ("lax.dynamic_update_slice_in_dim(x, w, -1, axis=1)", (2, 4), (2, 2), True),
    ("lax.dynamic_update_index_in_dim(x, w, 2, 0)", (4, 3), (3,), True),
    ("lax.dynamic_update_index_in_dim(x, w, 1, 1)", (2, 4), (2, 1), True),
    ("lax.index_take(x, (" + I.format([2, 0, 5]) + ",), (0,))", (3, 4), None, True),
    ("lax.index_take(x, (" + I.format([2, 0]) + ", " + I.format([1, 3]) + "), (0, 2))", (3, 2, 4), None, True),
    # elementwise, selection, sorting, reductions
    ("lax.reciprocal(x)", (5,), None, True),
    ("lax.square(x)", (5,), None, True),
    ("lax.select_n(x > 0, x, w)", (2, 3), (2, 3), True),
    ("lax.select_n(" + I.format([2, 0, 1, 1]) + ", x, w, x * w)", (4,), (4,), True),
    ("lax.select_n(np.int32(1), x, w)", (3,), (3,), True),
    ("lax.sort_key_val(x, w)", (2, 5), (2, 5), True),
    ("lax.sort_key_val(np.round(x), w, dimension=0)", (4, 3), (4, 3), False),
    ("lax.clz(" + I.format([0, 1, -1, 255, 2**30]) + ")", (1,), None, False),
    ("lax.clz(np.array([0, 1, 255, 2**40], np.uint64))", (1,), None, False),
    ("lax.reduce_xor(np.array([[1, 2, 12], [3, 7, 5]]), (0,))", (1,), None, False),
    ("lax.reduce_xor(np.array([[True, True], [False, True]]), (0, 1))", (1,), None, False),
    ("lax.bitcast_convert_type(x, np.int64)", (4,), None, False),
    ("lax.bitcast_convert_type(x.astype(np.float32), np.uint32)", (4,), None, False),
    ("lax.bitcast_convert_type(lax.bitcast_convert_type(x, np.uint64) + np.uint64(1), np.float64)", (4,), None, False),
    ("lax.approx_max_k(x, 3)", (2, 6), None, True),
    ("lax.approx_min_k(x, 2, reduction_dimension=0)", (5, 3), None, True),
    ("lax.approx_max_k(x, 2, aggregate_to_topk=False)", (6,), None, True),
    ("lax.optimization_barrier((x, w))", (3,), (2,), True),
    # dimension-number gathers and scatters
    ("lax.gather(x, " + I.format([[1], [0], [2]]) + ", " + GDN + "((), (0,), (0,)), (1,))", (3,), None, True),
    # in bounds: the default mode promises it (JAX clamps the values but drops the derivative otherwise)
    ("lax.gather(x, " + I.format([[1], [4], [1]]) + ", " + GDN + "((1,), (0,), (0,)), (1, 3))", (5, 3), None, True),
    (
        "lax.gather(x, " + I.format([[1], [4], [-1]]) + ", " + GDN + "((1,), (), (0,)), (2,), mode='fill')",
        (5,),
        None,
        True,
    ),
    ("lax.gather(x, " + I.format([[3], [0]]) + ", " + GDN + "((0,), (), (0,)), (3,), mode='clip')", (5,), None, True),
    (
        "lax.gather(x, "
        + I.format([[[0, 1], [2, 2]], [[1, 0], [2, 1]]])
        + ", "
        + GDN
        + "((2, 3, 4), (), (1, 0)), (2, 2, 3))",
        (4, 4, 3),
        None,
        True,
    ),
    (
        "lax.gather(x, " + I.format([[1, 2], [0, 3]]) + ", " + GDN + "((0,), (0, 2), (0, 2)), (1, 2, 1))",
        (3, 2, 4),
        None,
        True,
    ),
    (
        "lax.gather(x, "
        + I.format([[0], [2]])
        + ", "
        + GDN
        + "((1, 2, 3), (), (1,)), (2, 2, 3), mode='fill', fill_value=-1.0)",
        (2, 4, 3),
        None,
        True,
    ),
    ("lax.scatter(x, " + I.format([[2], [0]]) + ", w, " + SDN + "((1,), (0,), (0,)))", (3, 2), (2, 2), True),
    (
        "lax.scatter_add(x, " + I.format([[0], [2], [0], [5]]) + ", w, " + SDN + "((1,), (0,), (0,)))",
        (3, 2),
        (4, 2),
        True,
    ),
    (
        "lax.scatter_add(x, " + I.format([[0], [2], [5]]) + ", w, " + SDN + "((1,), (0,), (0,)), mode='clip')",
        (3, 2),
        (3, 2),
        True,
    ),
    ("lax.scatter_sub(x, " + I.format([[1], [1]]) + ", w, " + SDN + "((), (0,), (0,)))", (4,), (2,), True),
    ("lax.scatter_mul(x, " + I.format([[1], [3]]) + ", w, " + SDN + "((), (0,), (0,)))", (4,), (2,), True),
    ("lax.scatter_min(x, " + I.format([[1], [3], [1]]) + ", w, " + SDN + "((), (0,), (0,)))", (4,), (3,), True),
    (
        "lax.scatter_max(x, " + I.format([[1, 0], [0, 2]]) + ", w, " + SDN + "((1,), (0,), (0, 1)))",
        (3, 4),
        (2, 2),
        True,
    ),
    (
        "lax.scatter_add(x, " + I.format([[[0, 1]], [[2, 3]]]) + ", w, " + SDN + "((2,), (0, 1), (0, 1)))",
        (3, 4, 2),
        (2, 1, 2),
        True,
    ),
    (
        "lax.scatter(x, " + I.format([[1], [3]]) + ", w, " + SDN + "((0, 2, 3), (), (1,)))",
        (2, 5, 3),
        (2, 2, 2, 3),
        True,
    ),
    (
        "lax.scatter_apply(x, "
        + I.format([[0], [2], [3]])
        + ", lambda v: v * 3.0, "
        + SDN
        + "((), (0,), (0,)), update_shape=(3,))",
        (4,),
        None,
        False,  # JAX has no derivative for scatter_apply
    ),
    (
        "lax.scatter_apply(x, "
        + I.format([[0], [2], [0], [0]])
        + ", lambda v: v * 3.0, "
        + SDN
        + "((), (0,), (0,)), update_shape=(4,))",
        (4,),
        None,
        False,  # JAX has no derivative for scatter_apply
    ),
    # convolution patches
    ("lax.conv_general_dilated_patches(x, (2, 2), (1, 1), 'VALID')", (2, 3, 4, 5), None, True),
    (
        "lax.conv_general_dilated_patches(x, (3,), (2,), 'SAME', rhs_dilation=(2,), dimension_numbers=('NWC', 'WIO', 'NWC'))",
        (2, 7, 2),
        None,
        True,
    ),
    # nn activations
    ("nn.celu(x)", (7,), None, True),
    ("nn.celu(x, alpha=0.5)", (7,), None, True),
    ("nn.glu(x)", (3, 4), None, True),
    ("nn.glu(x, axis=0)", (4, 3), None, True),
    ("nn.hard_sigmoid(4 * x)", (7,), None, True),
    ("nn.hard_silu(4 * x)", (7,), None, True),
    ("nn.hard_swish(4 * x)", (7,), None, True),
    ("nn.identity(x)", (3,), None, True),
    ("nn.log1mexp(np.abs(x) + np.array([1e-12, 1e-6, 0.1, 0.69, 0.7, 5.0, 40.0]))", (7,), None, True),
    ("nn.logmeanexp(x)", (3, 4), None, True),
    ("nn.logmeanexp(1000 * x, axis=1, keepdims=True)", (3, 4), None, True),
    ("nn.logmeanexp(x, axis=0, where=w > 0)", (3, 4), (3, 4), True),
    ("nn.mish(3 * x)", (7,), None, True),
    ("nn.soft_sign(x)", (7,), None, True),
    ("nn.sparse_plus(2 * x)", (9,), None, True),
    ("nn.sparse_sigmoid(2 * x)", (9,), None, True),
    ("nn.squareplus(x)", (7,), None, True),
    ("nn.squareplus(x, b=0.5)", (7,), None, True),
    # attention: x is the query, w the key; the value is a fixed function of the key
    ("nn.dot_product_attention(x, w, np.sin(w))", (2, 3, 2, 4), (2, 5, 2, 4), True),
    ("nn.dot_product_attention(x, w, np.sin(w), is_causal=True, scale=0.3)", (2, 4, 2, 3), (2, 4, 2, 3), True),
    (
        "nn.dot_product_attention(x, w, np.sin(w), bias=np.cos(np.arange(20.0)).reshape(1, 1, 4, 5))",
        (1, 4, 4, 3),
        (1, 5, 2, 3),
        True,
    ),
    (
        "nn.dot_product_attention(x, w, np.sin(w), mask=np.arange(15).reshape(1, 1, 3, 5) % 3 != 1)",
        (2, 3, 1, 4),
        (2, 5, 1, 4),
        True,
    ),
    (
        "nn.dot_product_attention(x, w, np.sin(w), query_seq_lengths=np.array([2, 3], np.int32), key_value_seq_lengths=np.array([4, 1], np.int32))",
        (2, 3, 2, 2),
        (2, 5, 2, 2),
        True,
    ),
    ("nn.dot_product_attention(x, w, np.sin(w), local_window_size=(1, 0))", (1, 5, 1, 3), (1, 5, 1, 3), True),
    ("nn.dot_product_attention(x, w, np.sin(w), return_residual=True)", (1, 3, 2, 2), (1, 4, 2, 2), True),
    ("nn.dot_product_attention(x, w, np.sin(w))", (3, 2, 4), (5, 2, 4), True),
    (
        "nn.dot_product_attention(x.astype(np.float32), w.astype(np.float32), np.sin(w).astype(np.float32), is_causal=True)",
        (2, 4, 2, 3),
        (2, 4, 1, 3),
        False,
    ),
]


def main():
    import jax

    jax.config.update("jax_enable_x64", True)
    from jax import lax, nn
    from jax import numpy as jnp

    rng = np.random.default_rng(13)
    out = {"cases": json.dumps([list(case) for case in CASES])}
    for i, (expr, x_shape, w_shape, differentiable) in enumerate(CASES):
        x = rng.normal(size=x_shape)
        w = None if w_shape is None else rng.normal(size=w_shape)
        out[f"{i}_x"] = x
        if w is not None:
            out[f"{i}_w"] = w

        def f(x, w=w):
            return eval(expr, {"lax": lax, "nn": nn, "np": jnp, "x": x, "w": w})

        leaves = jax.tree_util.tree_leaves(f(x))
        for j, leaf in enumerate(leaves):
            out[f"{i}_y{j}"] = np.asarray(leaf)
        if differentiable:
            y, vjp = jax.vjp(f, x)
            cts = jax.tree_util.tree_map(lambda v: rng.normal(size=v.shape).astype(v.dtype), y)
            for j, ct in enumerate(jax.tree_util.tree_leaves(cts)):
                out[f"{i}_ct{j}"] = np.asarray(ct)
            out[f"{i}_dx"] = np.asarray(vjp(cts)[0])
    np.savez_compressed(pathlib.Path(__file__).with_name("jax_lax_nn_surface.npz"), **out)


if __name__ == "__main__":
    main()
