"""The lax and nn names of JAX that issue 13 added: values and reverse-mode derivatives against JAX
(tests/data/jax_lax_nn_surface.npz, written by tests/data/make_jax_lax_nn_surface.py: each case is the
same expression run with jax.lax/jax.nn/jax.numpy there and fnad.lax/fnad.nn/fnad.numpy here), eagerly
and under jit; vmap against a Python loop; derivatives of the cases JAX cannot differentiate against
central finite differences; and the errors bad arguments get."""

import json
import pathlib

import numpy as np
import pytest

import fnad
import fnad.numpy as fnp
from fnad import lax, nn
from fnad.test_util import check_grads

DATA = np.load(pathlib.Path(__file__).parent / "data" / "jax_lax_nn_surface.npz")
CASES = json.loads(str(DATA["cases"]))


def _run(expr, x, w):
    return eval(expr, {"lax": lax, "nn": nn, "np": fnp, "x": x, "w": w})


def _leaves(index):
    count = sum(1 for key in DATA.files if key.startswith(f"{index}_y"))
    return [DATA[f"{index}_y{j}"] for j in range(count)]


@pytest.mark.parametrize("index", range(len(CASES)), ids=[f"{i}-{c[0].split('(')[0]}" for i, c in enumerate(CASES)])
def test_matches_jax(index, mode):
    expr, _, _, differentiable = CASES[index]
    x, w = DATA[f"{index}_x"], DATA.get(f"{index}_w")
    f = lambda x: _run(expr, x, w)
    got = fnad.tree_util.tree_leaves(mode(f)(x))
    want = _leaves(index)
    assert len(got) == len(want), expr
    # JAX's attention takes the softmax in float32 for float64 operands too (fnad: in float64)
    tol = 1e-6 if "dot_product_attention" in expr else 1e-12
    for g, v in zip(got, want):
        assert np.asarray(g).dtype == v.dtype, expr
        assert np.shape(g) == v.shape, expr
        np.testing.assert_allclose(np.asarray(g), v, rtol=tol, atol=tol, err_msg=expr)
    if differentiable:
        cts = [DATA[f"{index}_ct{j}"] for j in range(len(want))]
        out_tree = fnad.tree_util.tree_structure(f(x))

        def pullback(x):
            return fnad.vjp(f, x)[1](fnad.tree_util.tree_unflatten(out_tree, cts))[0]

        np.testing.assert_allclose(
            mode(pullback)(x), DATA[f"{index}_dx"], rtol=max(tol, 1e-10), atol=max(tol, 1e-10), err_msg=expr
        )


RNG = np.random.default_rng(1)
GDN, SDN = lax.GatherDimensionNumbers, lax.ScatterDimensionNumbers


def test_the_issue_example_gathers_as_jax():
    x = np.array([10.0, 20.0, 30.0])
    idx = np.array([[2], [0]])
    dn = lax.GatherDimensionNumbers(offset_dims=(), collapsed_slice_dims=(0,), start_index_map=(0,))
    np.testing.assert_array_equal(lax.gather(x, idx, dn, (1,)), [30.0, 10.0])
    np.testing.assert_array_equal(fnad.jit(lambda x: lax.gather(x, idx, dn, (1,)))(x), [30.0, 10.0])
    np.testing.assert_array_equal(lax.gather(x, idx, (0,)), [30.0, 10.0])  # fnad's point gather still works
    np.testing.assert_array_equal(lax.scatter_add(x, idx, np.ones(2), axes=(0,)), [11.0, 20.0, 31.0])


def test_vmap_lax_matches_a_loop():
    xs, starts, upd = RNG.normal(size=(3, 5, 4)), np.array([[0], [3], [1]]), RNG.normal(size=(3, 2, 4))
    gdn, sdn = GDN((1,), (0,), (0,)), SDN((1,), (0,), (0,))
    fns = {
        "gather": lambda x, s, u: lax.gather(x, s[None], gdn, (1, 4)),
        "scatter_add": lambda x, s, u: lax.scatter_add(x, np.array([[0], [4]]) + s, u, sdn),
        "dynamic_slice_in_dim": lambda x, s, u: lax.dynamic_slice_in_dim(x, s[0] - 4, 2, axis=0),
        "dynamic_update_index_in_dim": lambda x, s, u: lax.dynamic_update_index_in_dim(x, u[0], s[0], 0),
        "tile_split": lambda x, s, u: lax.split(lax.tile(x, (1, 2)), (3, 5), axis=1)[1],
        "select_n_clz": lambda x, s, u: lax.select_n(lax.clz(s.astype(np.int32))[0] > 30, x, -x),
        "approx_min_k": lambda x, s, u: lax.approx_min_k(x, 2, reduction_dimension=0)[0],
    }
    for name, f in fns.items():
        batched = fnad.vmap(f)(xs, starts, upd)
        np.testing.assert_allclose(batched, np.stack([f(*args) for args in zip(xs, starts, upd)]), err_msg=name)


def test_vmap_nn_matches_a_loop():
    q, k = RNG.normal(size=(3, 1, 4, 2, 3)), RNG.normal(size=(3, 1, 5, 1, 3))
    f = lambda q, k: nn.dot_product_attention(q, k, fnp.sin(k), is_causal=True) + nn.glu(fnp.concatenate([q, q], -1))
    np.testing.assert_allclose(fnad.vmap(f)(q, k), np.stack([f(a, b) for a, b in zip(q, k)]), rtol=1e-12)
    g = lambda x: nn.logmeanexp(x, axis=0, where=x > -1) + nn.log1mexp(fnp.abs(x) + 0.1).sum(0)
    xs = RNG.normal(size=(4, 5, 2))
    np.testing.assert_allclose(fnad.jit(fnad.vmap(g))(xs), np.stack([g(x) for x in xs]), rtol=1e-12)


def test_derivatives_jax_does_not_define_match_finite_differences():
    sdn = SDN((), (0,), (0,))
    idx = np.array([[0], [2], [0]])
    check_grads(lambda x: lax.scatter_apply(x, idx, fnp.sin, sdn, update_shape=(3,)), (RNG.normal(size=4),), order=2)
    check_grads(lambda x: lax.reduce_xor(x > 0, (0,)) * x, (RNG.normal(size=3),), order=1)
    check_grads(lambda x: nn.dot_product_attention(x, x, x, is_causal=True), (RNG.normal(size=(1, 3, 2, 2)),), order=2)
    check_grads(
        lambda x: lax.conv_general_dilated_patches(x, (2,), (1,), "SAME"), (RNG.normal(size=(1, 2, 4)),), order=1
    )


# The names issue 13 asked for (found missing by comparing dir(jax.lax) and dir(jax.nn) with fnad's).
LAX_NAMES = [
    "batch_matmul",
    "broadcast",
    "broadcast_to_rank",
    "broadcast_shapes",
    "collapse",
    "dynamic_index_in_dim",
    "dynamic_slice_in_dim",
    "dynamic_update_index_in_dim",
    "dynamic_update_slice_in_dim",
    "full_like",
    "index_in_dim",
    "index_take",
    "reciprocal",
    "square",
    "select_n",
    "sort_key_val",
    "split",
    "stack",
    "unstack",
    "tile",
    "scatter_sub",
    "scatter_apply",
    "optimization_barrier",
    "with_sharding_constraint",
    "clz",
    "reduce_xor",
    "bitcast_convert_type",
    "empty",
    "approx_max_k",
    "approx_min_k",
    "conv_general_dilated_patches",
    "GatherDimensionNumbers",
    "ScatterDimensionNumbers",
    "GatherScatterMode",
    "Precision",
    "ConvDimensionNumbers",
    "ConvGeneralDilatedDimensionNumbers",
    "DotDimensionNumbers",
]
NN_NAMES = [
    "celu",
    "glu",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "identity",
    "log1mexp",
    "logmeanexp",
    "mish",
    "soft_sign",
    "sparse_plus",
    "sparse_sigmoid",
    "squareplus",
    "dot_product_attention",
]


def test_the_names_exist_and_are_exported():
    assert [n for n in LAX_NAMES if n not in lax.__all__ or not hasattr(lax, n)] == []
    assert [n for n in NN_NAMES if n not in nn.__all__ or not hasattr(nn, n)] == []
    assert type(lax.approx_max_k(np.arange(3.0), 1)) is list  # as JAX's, and top_k's


def test_wrappers_and_names():
    x = np.arange(6.0).reshape(2, 3)
    assert lax.broadcast_shapes((2, 1), (3,), ()) == (2, 3)
    assert lax.empty((2, 3), np.float32).shape == (2, 3)
    assert lax.full_like(fnad.ShapeDtypeStruct((2,), np.int32), 7).dtype == np.int32
    assert lax.optimization_barrier({"a": x})["a"] is x
    assert lax.with_sharding_constraint(x, None) is x
    assert nn.hard_swish is nn.hard_silu
    assert lax.GatherScatterMode.from_any("clip") is lax.GatherScatterMode.CLIP
    assert lax.Precision.HIGHEST.name == "HIGHEST"
    dims = lax.DotDimensionNumbers((((1,), (0,)), ((), ())))
    np.testing.assert_array_equal(lax.dot_general(x, x.T, dims), x @ x.T)
    dn = lax.ConvGeneralDilatedDimensionNumbers((0, 1, 2), (0, 1, 2), (0, 1, 2))
    np.testing.assert_array_equal(
        lax.conv_general_dilated(x[None], np.ones((1, 2, 1)), (1,), "VALID", dimension_numbers=dn), [[x.sum(0)]]
    )


def test_bad_input_raises_clearly():
    x = np.arange(6.0).reshape(2, 3)
    gdn = GDN((), (0,), (0,))
    cases = [
        (ValueError, "sum to the size", lambda: lax.split(x, (1, 1), axis=1)),
        (TypeError, "reps length", lambda: lax.tile(x, (2,))),
        (ValueError, "equal rank", lambda: lax.batch_matmul(x, x[0])),
        (ValueError, "batch dimensions", lambda: lax.batch_matmul(np.ones((2, 1, 3)), np.ones((3, 3, 1)))),
        (IndexError, "out of bounds", lambda: lax.index_in_dim(x, 3, axis=1)),
        (ValueError, "Incompatible shapes", lambda: lax.broadcast_shapes((2,), (3,))),
        (ValueError, "below the operand's rank", lambda: lax.broadcast_to_rank(x, 1)),
        (TypeError, "two cases", lambda: lax.select_n(x > 0, x, x, x)),
        (TypeError, "one shape and dtype", lambda: lax.select_n(np.int32(0), x, x[0])),
        (TypeError, "integers", lambda: lax.clz(x)),
        (TypeError, "booleans or integers", lambda: lax.reduce_xor(x, (0,))),
        (ValueError, "k must be", lambda: lax.approx_max_k(x, 4)),
        (TypeError, "slice_sizes is required", lambda: lax.gather(x, np.array([[0]]), gdn)),
        (TypeError, "slice size 1", lambda: lax.gather(x, np.array([[0]]), gdn, (2, 3))),
        (TypeError, "one entry per index map", lambda: lax.gather(x, np.array([[0, 1]]), gdn, (1, 3))),
        (
            NotImplementedError,
            "one_hot",
            lambda: lax.gather(x, np.array([[0]]), GDN((0,), (0,), (0,)), (1, 3), mode="one_hot"),
        ),
        (
            ValueError,
            "Unknown gather mode",
            lambda: lax.gather(x, np.array([[0]]), GDN((0,), (0,), (0,)), (1, 3), mode="wrap"),
        ),
        (
            NotImplementedError,
            "batching",
            lambda: lax.gather(x, np.array([[0]]), GDN((0,), (), (1,), (0,), (0,)), (1, 1)),
        ),
        (TypeError, "cover the operand", lambda: lax.scatter(x, np.array([[0]]), np.ones((1,)), SDN((), (0,), (0,)))),
        (
            TypeError,
            "index batch shape",
            lambda: lax.scatter(x, np.array([[0]]), np.ones((2, 3)), SDN((1,), (0,), (0,))),
        ),
        (
            TypeError,
            "ScatterDimensionNumbers",
            lambda: lax.scatter(x, np.array([[0]]), np.ones((1, 3)), (0,), axes=(0,)),
        ),
        (NotImplementedError, "between widths", lambda: lax.bitcast_convert_type(x, np.int32)),
        (TypeError, "integer and float", lambda: lax.bitcast_convert_type(x > 0, np.int8)),
        (ValueError, "even size", lambda: nn.glu(x)),
        (
            ValueError,
            "value shape",
            lambda: nn.dot_product_attention(np.ones((1, 2, 1, 3)), np.ones((1, 2, 1, 3)), np.ones((1, 2, 1, 2))),
        ),
        (
            ValueError,
            "mask dtype",
            lambda: nn.dot_product_attention(*[np.ones((1, 2, 1, 3))] * 3, mask=np.ones((1, 1, 2, 2))),
        ),
        (
            ValueError,
            "multiple of key/value heads",
            lambda: nn.dot_product_attention(np.ones((1, 2, 3, 3)), *[np.ones((1, 2, 2, 3))] * 2),
        ),
        (
            NotImplementedError,
            "'xla' only",
            lambda: nn.dot_product_attention(*[np.ones((1, 2, 1, 3))] * 3, implementation="cudnn"),
        ),
    ]
    for error, message, call in cases:
        with pytest.raises(error, match=message):
            call()
