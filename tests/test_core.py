"""The core: abstract values and weak types, the eager path, staging to IR (structure, printing,
interpretation), the IR passes (DCE, CSE, folding, algebraic simplification), tracers' NumPy-like
surface, and where values and source positions come from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import fnad
import fnad.numpy as fnp
from fnad import core, jit_dispatch, lax
from fnad.core import Primitive, ShapedArray, get_aval
from fnad.ir import Literal, eval_closed

# ----------------------------------------------------------------------------------------------
# Abstract values


def test_avals_of_python_scalars_are_weak_and_of_arrays_are_not():
    assert get_aval(1.0) == ShapedArray((), np.float64, weak_type=True)
    assert get_aval(2) == ShapedArray((), np.int64, weak_type=True)
    assert get_aval(True).dtype == np.bool_
    assert get_aval(np.ones((2, 3), np.float32)) == ShapedArray((2, 3), np.float32)
    assert get_aval(np.float32(1)) == ShapedArray((), np.float32)
    assert get_aval([1.0, 2.0]) == ShapedArray((2,), np.float64)
    with pytest.raises(TypeError, match="cannot use a value of type"):
        get_aval(object())


def test_shaped_array_equality_hash_and_printing():
    a = ShapedArray((2, 3), np.float64)
    assert a == ShapedArray([2, 3], "float64") and hash(a) == hash(ShapedArray((2, 3), np.float64))
    assert a != a.update(weak_type=True) and a.update(weak_type=True).strip_weak() == a
    assert a.ndim == 2 and a.size == 6
    assert a.str_short() == "f64[2,3]" and ShapedArray((), np.int32).str_short() == "i32[]"


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_weak_python_scalars_take_the_array_dtype(dtype):
    closed = fnad.make_jaxpr(lambda x: x * 2 + 1)(np.ones(3, dtype))
    assert closed.out_avals[0].dtype == dtype and not closed.out_avals[0].weak_type
    assert fnad.vmap(lambda x: x * 2.5 if dtype != np.int32 else x * 2)(np.ones(3, dtype)).dtype == dtype


def test_weak_types_stay_weak_among_python_scalars():
    closed = fnad.make_jaxpr(lambda x: x * 2.0)(1.0)
    (aval,) = closed.out_avals
    assert aval.dtype == np.float64 and aval.weak_type
    assert fnad.make_jaxpr(lambda n: n * 2)(3).out_avals[0] == ShapedArray((), np.int64, weak_type=True)


def test_python_scalar_arguments_do_not_promote_float32_when_traced():
    """As eagerly (NEP 50): a computation on a Python float is weak and yields to float32."""
    f = lambda s, a: (s * 2.0 + 1) * a
    a = np.ones(3, np.float32)
    assert f(1.0, a).dtype == np.float32
    assert fnad.make_jaxpr(f)(1.0, a).out_avals[0].dtype == np.float32
    assert fnad.grad(lambda a: f(1.0, a).sum())(a).dtype == np.float32


# ----------------------------------------------------------------------------------------------
# The eager path


def _counting_primitive():
    calls = []
    p = Primitive("test_counting")
    p.impl = lambda x: calls.append(1) or np.asarray(x) + 1
    p.abstract_eval = lambda a: a
    return p, calls


def test_eager_bind_calls_impl_directly():
    p, calls = _counting_primitive()
    assert p.bind(np.array(1.0)) == 2.0 and calls == [1]
    assert core.innermost_trace() is None and not core.is_staging()


def test_eager_numpy_layer_returns_arrays():
    out = fnp.sin(np.arange(3.0))
    assert type(out) is fnad.Array
    np.testing.assert_array_equal(out, np.sin(np.arange(3.0)))
    assert type(lax.exp(np.array(0.0))) is fnad.Array


def test_top_level_results_of_transforms_are_arrays():
    assert type(fnad.grad(lambda x: x * x)(3.0)) is fnad.Array
    out, t = fnad.jvp(lambda x: x * 2.0, (1.0,), (1.0,))
    assert type(out) is fnad.Array and type(t) is fnad.Array
    assert type(fnad.vmap(lambda x: x + 1.0)(np.ones(2))) is fnad.Array
    # an output that does not depend on the input still has a (zero) derivative array
    g = fnad.grad(lambda x, y: y * 2.0)(1.0, 3.0)
    assert type(g) is fnad.Array and g == 0.0


# ----------------------------------------------------------------------------------------------
# Staging to IR


def test_make_jaxpr_structure_and_printing():
    w = np.arange(6.0).reshape(3, 2)

    def f(x, y):
        return fnp.tanh(x @ w) * y, fnp.sum(x)

    closed = fnad.make_jaxpr(f)(np.ones(3), 2.0)
    jaxpr = closed.jaxpr
    assert [v.aval.str_short() for v in jaxpr.invars] == ["f64[3]", "f64[]"]
    assert [a.str_short() for a in closed.out_avals] == ["f64[2]", "f64[]"]
    names = [e.primitive.name for e in jaxpr.eqns]
    assert names.count("dot_general") == 1 and "tanh" in names and "reduce_sum" in names
    assert len(closed.consts) == 1 and closed.consts[0] is w  # captured array becomes a constant
    text = str(closed)
    assert text.startswith("{ lambda") and "f64[3,2]" in text and "tanh" in text and "reduce_sum[axes=(0,)]" in text
    outs = eval_closed(closed, np.array([1.0, 2.0, 3.0]), 2.0)
    ref = f(np.array([1.0, 2.0, 3.0]), 2.0)
    np.testing.assert_allclose(outs[0], ref[0], rtol=1e-15)
    assert outs[1] == ref[1]


def test_staging_records_operations_on_constants():
    """Under make_jaxpr (and jit) even operations on plain constants are staged, not computed."""
    closed = fnad.make_jaxpr(lambda x: x + fnp.sin(np.ones(3)))(np.ones(3))
    assert "sin" in [e.primitive.name for e in closed.eqns]


def test_equations_record_the_user_source_line():
    def f(x):
        return fnp.exp(x)  # the line recorded

    closed = fnad.make_jaxpr(f)(1.0)
    (eqn,) = closed.eqns
    filename, line, function = eqn.source
    assert filename == __file__ and function == "f"
    assert "fnp.exp(x)" in Path(__file__).read_text().splitlines()[line - 1]


def test_dead_code_is_eliminated():
    closed = fnad.make_jaxpr(lambda x: (fnp.sin(x), fnp.cos(x))[1])(1.0)
    assert [e.primitive.name for e in closed.eqns] == ["cos"]


def test_common_subexpressions_are_shared():
    closed = fnad.make_jaxpr(lambda x: fnp.sin(x) + fnp.sin(x))(1.0)
    assert [e.primitive.name for e in closed.eqns].count("sin") == 1
    # commutative operands are put in a canonical order
    closed = fnad.make_jaxpr(lambda x, y: x * y - y * x)(1.0, 2.0)
    assert [e.primitive.name for e in closed.eqns].count("mul") == 1


def test_scalar_literal_equations_are_folded():
    closed = fnad.make_jaxpr(lambda x: x * lax.mul(np.float64(2.0), np.float64(3.0)))(np.ones(2))
    assert [e.primitive.name for e in closed.eqns] == ["mul"]
    lits = [a for a in closed.eqns[0].invars if isinstance(a, Literal)]
    assert len(lits) == 1 and lits[0].val == 6.0


@pytest.mark.parametrize(
    "f",
    [
        lambda x: x * 1.0,
        lambda x: 1.0 * x,
        lambda x: x + 0.0,
        lambda x: x - 0.0,
        lambda x: x / 1.0,
        lambda x: -(-x),  # noqa: B002
        lambda x: x.astype(np.float64),
    ],
    ids=["x*1", "1*x", "x+0", "x-0", "x/1", "--x", "astype same"],
)
def test_algebraic_identities_are_simplified_away(f):
    closed = fnad.make_jaxpr(f)(np.ones(3))
    assert closed.eqns == [], str(closed)


def test_simplification_keeps_values():
    f = lambda x: -(x * -1.0) + 0.0 * x
    closed = fnad.make_jaxpr(f)(np.array([1.0, -2.0]))
    np.testing.assert_array_equal(eval_closed(closed, np.array([1.0, -2.0]))[0], [1.0, -2.0])
    # x*-1 becomes a negation, not a multiplication
    assert "mul" not in [e.primitive.name for e in fnad.make_jaxpr(lambda x: x * -1.0)(1.0).eqns]


def test_make_jaxpr_static_argnums():
    closed = fnad.make_jaxpr(lambda x, n: x * n if n > 1 else x, static_argnums=1)(np.ones(2), 3)
    assert len(closed.jaxpr.invars) == 1 and [e.primitive.name for e in closed.eqns] == ["mul"]


# ----------------------------------------------------------------------------------------------
# Tracers


def test_tracer_array_surface():
    seen = {}

    def f(x):
        seen.update(shape=x.shape, ndim=x.ndim, size=x.size, dtype=x.dtype, len=len(x), t=x.T.shape)
        return x.sum(axis=0) + x.mean() - x.max() + x.reshape(-1).min() + x.astype(np.float32).astype(float).sum()

    closed = fnad.make_jaxpr(f)(np.ones((2, 3)))
    assert seen == {"shape": (2, 3), "ndim": 2, "size": 6, "dtype": np.float64, "len": 2, "t": (3, 2)}
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(eval_closed(closed, x)[0], f(x))


def test_tracers_are_unhashable_and_zero_d_ones_have_no_len():
    def f(x):
        with pytest.raises(TypeError, match="unhashable"):
            hash(x)
        with pytest.raises(TypeError, match="len"):
            len(x)
        return x

    fnad.make_jaxpr(f)(1.0)


def test_concrete_values_are_available_under_jvp_and_grad():
    """jvp of concrete inputs knows the values: float()/int()/if work and act as constants."""
    assert fnad.grad(lambda x: x * float(x))(3.0) == 3.0
    assert fnad.grad(lambda x: x ** int(x))(2.0) == 4.0


def test_trace_stack_is_restored_after_errors():
    with pytest.raises(ZeroDivisionError):
        fnad.vmap(lambda x: 1 / 0)(np.ones(2))
    with pytest.raises(fnad.ConcretizationError):
        fnad.make_jaxpr(lambda x: bool(x))(1.0)
    assert core.innermost_trace() is None and not core.is_staging()
    assert jit_dispatch.jit_blocked[0] == 0  # no thread counted as staging any more
    assert fnad.grad(fnp.sin)(0.0) == 1.0


def test_config_rejects_unknown_options():
    with pytest.raises(AttributeError, match="unknown fnad config option"):
        fnad.config.update("no_such_option", True)


def test_config_takes_jaxs_x64_switch_with_the_value_fnad_has():
    # JAX programs start with jax.config.update("jax_enable_x64", True); fnad always computes so
    fnad.config.update("fnad_enable_x64", True)
    assert fnad.config.read("fnad_enable_x64") is True
    assert fnp.asarray(1.0).dtype == np.float64 and fnp.arange(3).dtype == np.int64
    with pytest.raises(NotImplementedError, match="'fnad_enable_x64' is always True: .*float32"):
        fnad.config.update("fnad_enable_x64", False)


def test_arrays_created_inside_a_transform_support_at_and_rules_may_create_arrays():
    """fnad.numpy creation functions lift into the innermost transform (so `.at` works as in JAX),
    and a rule that creates arrays while its own trace is active still returns plain values."""
    import fnad.numpy as fnp

    def f(x):
        return fnp.sum(fnp.zeros(3).at[1].set(x) ** 2)

    assert float(fnad.grad(f)(3.0)) == 6.0
    np.testing.assert_allclose(fnad.vmap(f)(np.arange(3.0)), [0.0, 1.0, 4.0])

    @fnad.custom_jvp
    def g(x):
        return fnp.sin(x)

    g.defjvp(lambda p, t: (g(p[0]), t[0] * fnp.cos(fnp.asarray(p[0])) + fnp.zeros_like(t[0])))
    assert float(fnad.grad(g)(0.5)) == pytest.approx(np.cos(0.5))
    _primal, tangent = fnad.jvp(g, (0.5,), (2.0,))
    assert isinstance(tangent, np.ndarray) and float(tangent) == pytest.approx(2 * np.cos(0.5))
    np.testing.assert_allclose(fnad.vmap(fnad.grad(g))(np.array([0.5, 1.0])), np.cos([0.5, 1.0]))
