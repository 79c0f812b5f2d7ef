"""Collectives over named vmap axes (fnad/primitives/collectives.py): forward values against NumPy,
derivatives against JAX's (stored in tests/data/collectives_jax.npz by make_collectives_jax.py from
the same program texts) and against finite differences, under jit, nested axes, and the errors."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

import fnad
import fnad.numpy as jnp
from fnad import lax
from fnad.test_util import check_grads

jax = fnad  # the programs of JAX_CASES are JAX code run with fnad's names

# Programs whose values JAX computed (tests/data/make_collectives_jax.py evaluates the same texts with JAX).
JAX_CASES = {
    "grad_psum_ratio": "jax.vmap(jax.grad(lambda x: (x**2 / lax.psum(x, 'i')).sum()), axis_name='i')",
    "grad_of_vmap_psum": "jax.grad(lambda x: jax.vmap(lambda v: v * lax.psum(v**2, 'i'), axis_name='i')(x).sum())",
    "grad_pmean_sin": "jax.vmap(jax.grad(lambda x: (jnp.sin(x) * lax.pmean(x, 'i')).sum()), axis_name='i')",
    "grad_all_gather": "jax.vmap(jax.grad(lambda x: (lax.all_gather(x, 'i')[0] * x).sum()), axis_name='i')",
    "grad_all_gather_tiled": (
        "jax.vmap(jax.grad(lambda x: (lax.all_gather(x, 'i', axis=0, tiled=True)[2:7] ** 2).sum()), axis_name='i')"
    ),
    "grad_psum_scatter_tiled": (
        "jax.vmap(jax.grad(lambda x: (lax.psum_scatter(x, 'i', tiled=True) * jnp.sin(x[:2])).sum()), axis_name='i')"
    ),
    "grad_ppermute": (
        "jax.vmap(jax.grad(lambda x: (lax.ppermute(x, 'i', [(0, 1), (1, 2), (2, 0)]) * jnp.cos(x)).sum()),"
        " axis_name='i')"
    ),
    "grad_all_to_all_tiled": (
        "jax.vmap(jax.grad(lambda x: (lax.all_to_all(x, 'i', 0, 0, tiled=True) ** 2 * jnp.arange(6.0)).sum()),"
        " axis_name='i')"
    ),
    "all_to_all_1_0": "jax.vmap(lambda x: lax.all_to_all(x, 'i', 1, 0), axis_name='i')",
    "all_to_all_tiled_0_1": "jax.vmap(lambda x: lax.all_to_all(x, 'i', 0, 1, tiled=True), axis_name='i')",
    "all_gather_axis1": "jax.vmap(lambda x: lax.all_gather(x, 'i', axis=1), axis_name='i')",
    "all_gather_axis1_tiled": "jax.vmap(lambda x: lax.all_gather(x, 'i', axis=1, tiled=True), axis_name='i')",
    "psum_scatter_dim1_tiled": (
        "jax.vmap(lambda x: lax.psum_scatter(x, 'i', scatter_dimension=1, tiled=True), axis_name='i')"
    ),
    "axis_index_two_names": "jax.vmap(jax.vmap(lambda x: lax.axis_index(('i', 'j')), axis_name='j'), axis_name='i')",
    "psum_outer_name_nested": "jax.vmap(jax.vmap(lambda x: lax.psum(x, 'i'), axis_name='j'), axis_name='i')",
    "pmean_int": "jax.vmap(lambda x: lax.pmean(x, 'i'), axis_name='i')",
    "psum_of_constant": "jax.vmap(lambda x: x * lax.psum(1, 'i'), axis_name='i')",
}


def case_inputs(name):
    """The arguments of JAX_CASES[name]."""
    x34 = np.arange(12.0).reshape(3, 4) + 1
    return {
        "grad_psum_ratio": (x34,),
        "grad_of_vmap_psum": (x34,),
        "grad_pmean_sin": (x34,),
        "grad_all_gather": (x34,),
        "grad_all_gather_tiled": (x34,),
        "grad_psum_scatter_tiled": (np.arange(18.0).reshape(3, 6),),
        "grad_ppermute": (x34,),
        "grad_all_to_all_tiled": (np.arange(18.0).reshape(3, 6),),
        "all_to_all_1_0": (np.arange(18.0).reshape(3, 2, 3),),
        "all_to_all_tiled_0_1": (np.arange(36.0).reshape(3, 6, 2),),
        "all_gather_axis1": (np.arange(12.0).reshape(3, 2, 2),),
        "all_gather_axis1_tiled": (np.arange(12.0).reshape(3, 2, 2),),
        "psum_scatter_dim1_tiled": (np.arange(36.0).reshape(3, 2, 6),),
        "axis_index_two_names": (np.zeros((2, 3)),),
        "psum_outer_name_nested": (np.arange(6.0).reshape(2, 3),),
        "pmean_int": (np.arange(3),),
        "psum_of_constant": (np.ones(3),),
    }[name]


@pytest.fixture(scope="module")
def jax_values():
    return np.load(pathlib.Path(__file__).parent / "data" / "collectives_jax.npz")


def _run(name):
    return eval(JAX_CASES[name], {"jax": fnad, "lax": lax, "jnp": jnp, "np": np})


@pytest.mark.parametrize("name", sorted(JAX_CASES))
def test_values_match_jax(name, jax_values):
    out = _run(name)(*case_inputs(name))
    ref = jax_values[name]
    assert np.asarray(out).dtype == ref.dtype or ref.dtype == np.int32
    np.testing.assert_allclose(np.asarray(out), ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(n for n in JAX_CASES if n != "grad_of_vmap_psum"))
def test_values_match_jax_under_jit(name, jax_values):
    out = fnad.jit(_run(name))(*case_inputs(name))
    np.testing.assert_allclose(np.asarray(out), jax_values[name], rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------------------------
# Forward values against NumPy

X = np.arange(12.0).reshape(3, 4) * 0.5 - 1.0


def _vmapped(f, *args, **kw):
    return np.asarray(fnad.vmap(f, axis_name="i", **kw)(*args))


def test_reductions_against_numpy():
    for f, ref in ((lax.psum, np.sum), (lax.pmean, np.mean), (lax.pmax, np.max), (lax.pmin, np.min)):
        np.testing.assert_allclose(_vmapped(lambda x, f=f: f(x, "i"), X), np.broadcast_to(ref(X, 0), X.shape))


def test_psum_of_pytree_and_in_axes():
    out = fnad.vmap(lambda t: lax.psum(t, "i"), in_axes=({"a": 1, "b": 0},), axis_name="i")({"a": X.T, "b": X})
    np.testing.assert_allclose(out["a"], np.broadcast_to(X.sum(0), X.shape))
    np.testing.assert_allclose(out["b"], np.broadcast_to(X.sum(0), X.shape))


def test_all_gather_psum_scatter_all_to_all_ppermute_against_numpy():
    n = X.shape[0]
    gathered = _vmapped(lambda x: lax.all_gather(x, "i"), X)
    np.testing.assert_array_equal(gathered, np.broadcast_to(X, (n,) + X.shape))
    sq = np.arange(9.0).reshape(3, 3)
    np.testing.assert_array_equal(_vmapped(lambda x: lax.psum_scatter(x, "i"), sq), sq.sum(0))
    np.testing.assert_array_equal(_vmapped(lambda x: lax.all_to_all(x, "i", 0, 0), sq), sq.T)
    perm = [(0, 2), (2, 1)]  # lane 0 receives nothing: zeros
    np.testing.assert_array_equal(_vmapped(lambda x: lax.ppermute(x, "i", perm), X), np.stack([0 * X[0], X[2], X[0]]))


def test_all_gather_over_two_names_puts_the_first_major():
    # (JAX 0.10.2's vmap cannot batch this all_gather: "axis size doesn't match".)
    x = np.arange(12.0).reshape(2, 3, 2)
    f = lambda x, tiled: lax.all_gather(x, ("i", "j"), tiled=tiled)
    out = fnad.vmap(fnad.vmap(lambda x: f(x, False), axis_name="j"), axis_name="i")(x)
    np.testing.assert_array_equal(out, np.broadcast_to(x.reshape(6, 2), (2, 3, 6, 2)))
    out = fnad.vmap(fnad.vmap(lambda x: f(x, True), axis_name="j"), axis_name="i")(x)
    np.testing.assert_array_equal(out, np.broadcast_to(x.reshape(12), (2, 3, 12)))
    # the names in the other order: j major
    out = fnad.vmap(fnad.vmap(lambda x: lax.all_gather(x, ("j", "i")), axis_name="j"), axis_name="i")(x)
    np.testing.assert_array_equal(out[0, 0], x.transpose(1, 0, 2).reshape(6, 2))


def test_axis_index_with_unbatched_and_batched_axis():
    np.testing.assert_array_equal(_vmapped(lambda x: lax.axis_index("i"), X), np.arange(3, dtype=np.int32))
    out = fnad.vmap(lambda: lax.axis_index("i") * 2, axis_name="i", axis_size=4)()
    np.testing.assert_array_equal(out, [0, 2, 4, 6])


def test_collective_over_the_outer_axis_of_a_value_batched_only_by_the_inner():
    def f(y):  # y varies with j only; psum over i multiplies it by the size of i
        return fnad.vmap(lambda z: lax.psum(z * y, "i"), axis_name="j")(np.arange(3.0))

    out = fnad.vmap(f, in_axes=None, axis_name="i", axis_size=2)(5.0)
    np.testing.assert_allclose(out, np.full((2, 3), 10.0) * np.arange(3.0))


def test_collectives_inside_control_flow_and_checkpoint():
    def body(c, x):
        return c + lax.psum(x * c, "i"), lax.all_gather(c, "i")

    def f(x):
        c, ys = lax.scan(body, x[0], x[1:])
        c = lax.cond(c > 0, lambda c: lax.pmax(c, "i"), lambda c: lax.pmin(c, "i"), c)
        return fnad.checkpoint(lambda c: c * lax.pmean(c, "i"))(c) + ys.sum()

    xs = np.array([[0.5, 1.0, -2.0], [1.5, 0.2, 0.1]])
    expected = []
    c = xs[:, 0].copy()
    ys = []
    for t in range(1, 3):
        ys.append(c.copy())
        c = c + (xs[:, t] * c).sum()
    c = np.where(c > 0, c.max(), c.min())
    expected = c * c.mean() + np.sum(ys)
    np.testing.assert_allclose(_vmapped(f, xs), expected)
    np.testing.assert_allclose(np.asarray(fnad.jit(fnad.vmap(f, axis_name="i"))(xs)), expected)


# ----------------------------------------------------------------------------------------------
# Derivatives: against finite differences of the whole vmapped function


@pytest.mark.parametrize(
    "f",
    [
        lambda x: x / lax.psum(x, "i"),
        lambda x: jnp.sin(x) * lax.pmax(x, "i"),
        lambda x: lax.pmin(x, "i") ** 2,
        lambda x: lax.all_gather(x[None], "i", axis=1, tiled=True)[:, 1:5] * x[:1],
        lambda x: lax.psum_scatter(x[:3] ** 2, "i") * x[0],
        lambda x: lax.all_to_all(jnp.stack([x, x**2, x**3]), "i", 0, 1),
        lambda x: lax.ppermute(x, "i", [(0, 1), (2, 0)]) * x,
    ],
)
def test_derivatives_against_finite_differences(f):
    check_grads(fnad.vmap(f, axis_name="i"), (X + 3.0,), order=2)


def test_grad_of_a_lane_under_vmap_under_jit_equals_eager(jax_values):
    f = _run("grad_psum_ratio")
    np.testing.assert_allclose(fnad.jit(f)(*case_inputs("grad_psum_ratio")), jax_values["grad_psum_ratio"])
    lin = fnad.vmap(lambda x: fnad.jvp(lambda v: v / lax.psum(v, "i"), (x,), (jnp.ones_like(x),))[1], axis_name="i")
    expected = 1 / X.sum(0) - X * X.shape[0] / X.sum(0) ** 2
    np.testing.assert_allclose(lin(X), expected, rtol=1e-12, atol=1e-15)


# ----------------------------------------------------------------------------------------------
# Errors


def test_unbound_axis_name_is_a_name_error_naming_it():
    with pytest.raises(NameError, match="unbound axis name: 'k'.*bound here are \\['i'\\]"):
        fnad.vmap(lambda x: lax.psum(x, "k"), axis_name="i")(X)
    with pytest.raises(NameError, match="unbound axis name: 'i'.*No axis names"):
        lax.psum(1.0, "i")
    with pytest.raises(NameError, match="'i'"):
        fnad.jit(lambda x: lax.all_gather(x, "i"))(X)
    with pytest.raises(NameError, match="'i'"):
        fnad.make_jaxpr(lambda: lax.axis_index("i"))()


def test_bad_shapes_and_permutations_are_clear_errors():
    with pytest.raises(ValueError, match="psum_scatter.*size of the axis 'i' \\(3\\)"):
        fnad.vmap(lambda x: lax.psum_scatter(x, "i"), axis_name="i")(X)
    with pytest.raises(ValueError, match="all_to_all.*size of the axis 'i' \\(3\\)"):
        fnad.vmap(lambda x: lax.all_to_all(x, "i", 0, 0), axis_name="i")(X)
    with pytest.raises(ValueError, match="not divisible by the axis size 3"):
        fnad.vmap(lambda x: lax.all_to_all(x, "i", 0, 0, tiled=True), axis_name="i")(X)
    with pytest.raises(ValueError, match="repeats a destination"):
        fnad.vmap(lambda x: lax.ppermute(x, "i", [(0, 1), (2, 1)]), axis_name="i")(X)
    with pytest.raises(ValueError, match="outside the axis 'i' of size 3"):
        fnad.vmap(lambda x: lax.ppermute(x, "i", [(0, 3)]), axis_name="i")(X)


def test_collectives_of_unbatched_values_inside_control_flow_and_jit():
    # No operand of the scan, cond or jit is batched: the vmap still reaches their collectives.
    f = lambda x: lax.scan(lambda c, _: (c + lax.psum(1.0, "i"), None), 0.0, None, length=3)[0] * x
    np.testing.assert_allclose(_vmapped(f, np.ones(2)), [6.0, 6.0])
    g = lambda x: lax.cond(True, lambda: lax.psum(2.0, "i"), lambda: 0.0) * x
    np.testing.assert_allclose(_vmapped(g, np.ones(2)), [4.0, 4.0])
    np.testing.assert_allclose(fnad.jit(fnad.vmap(g, axis_name="i"))(np.ones(2)), [4.0, 4.0])
    h = lambda x: fnad.jit(lambda: lax.axis_index("i"))() + x
    np.testing.assert_array_equal(_vmapped(h, np.zeros(3, np.int32)), [0, 1, 2])


def test_grad_through_a_jitted_lane_function():
    x = np.array([1.0, 2.0, 3.0])
    out = fnad.vmap(fnad.grad(lambda v: fnad.jit(lambda v: v**2 / lax.psum(v, "i"))(v)), axis_name="i")(x)
    # d/dx_k of sum_i x_i^2 / S with S = sum x: the global function's gradient, as JAX under vmap
    np.testing.assert_allclose(out, 2 * x / x.sum() - (x**2).sum() / x.sum() ** 2, rtol=1e-12)


def test_a_jitted_function_is_traced_again_under_other_axis_names_and_sizes():
    g = fnad.jit(lambda x: lax.all_gather(x, "i").sum(0) + lax.axis_index("i"))
    for name, size in (("i", 3), ("i", 2)):
        xs = np.arange(float(size))
        np.testing.assert_allclose(fnad.vmap(g, axis_name=name)(xs), xs.sum() + np.arange(size))
    h = fnad.jit(lambda x: lax.psum(x, "i"))
    np.testing.assert_allclose(fnad.vmap(h, axis_name="i")(np.ones(2)), [2.0, 2.0])
    with pytest.raises(NameError, match="unbound axis name: 'i'.*\\['j'\\]"):
        fnad.vmap(h, axis_name="j")(np.ones(2))
