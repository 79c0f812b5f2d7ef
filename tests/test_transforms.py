"""Transforms composed with each other: higher derivatives against closed forms, forward against
reverse mode, vmap against loops, pytrees, JAX's conventions at kinks, and the size of the IR
of repeated derivatives."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fnad
import fnad.numpy as fnp
from fnad.test_util import check_grads
from fnad.tree_util import tree_leaves, tree_structure

RTOL = 1e-12


def assert_tree_close(actual, expected, rtol=RTOL, atol=RTOL):
    assert tree_structure(actual) == tree_structure(expected), f"{tree_structure(actual)} vs {tree_structure(expected)}"
    for a, e in zip(tree_leaves(actual), tree_leaves(expected)):
        assert np.shape(a) == np.shape(e), f"shape {np.shape(a)} vs {np.shape(e)}"
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol)


def vectors(n_min=1, n_max=4, lo=-2.0, hi=2.0):
    return st.integers(n_min, n_max).flatmap(lambda n: hnp.arrays(np.float64, n, elements=st.floats(lo, hi)))


# ----------------------------------------------------------------------------------------------
# Higher derivatives


def tanh_derivatives(x):
    """d^k/dx^k tanh for k = 1..4, written in t = tanh x."""
    t = np.tanh(x)
    s = 1 - t * t
    return [s, -2 * t * s, (6 * t * t - 2) * s, 8 * t * s * (2 - 3 * t * t)]


def test_grad_of_grad_of_tanh_matches_closed_forms(mode):
    @mode.settings(10)
    @given(x=st.floats(-3, 3))
    def run(x):
        f = fnp.tanh
        for k, expected in enumerate(tanh_derivatives(x), 1):
            f = fnad.grad(mode(f))
            np.testing.assert_allclose(mode(f)(x), expected, rtol=1e-10, atol=1e-12, err_msg=f"derivative {k}")

    run()


def test_tanh_closed_forms_match_finite_differences():
    """The closed forms themselves, so that the test above can trust them."""
    x, h = 0.4, 1e-4
    values = [np.tanh] + [lambda x, k=k: tanh_derivatives(x)[k] for k in range(4)]
    for k in range(4):
        fd = (values[k](x + h) - values[k](x - h)) / (2 * h)
        np.testing.assert_allclose(values[k + 1](x), fd, rtol=1e-6)


UNARY = [
    fnp.sin,
    fnp.tanh,
    lambda v: fnp.exp(0.3 * v),
    lambda v: v * v,
    lambda v: fnp.log1p(v * v),
    lambda v: fnp.sqrt(1 + v * v),
    lambda v: v * fnp.sum(v),
]
KINKED = [lambda v: fnp.maximum(v, 0.1 * v), fnp.abs]
BINARY = [fnp.add, fnp.subtract, fnp.multiply, lambda a, b: a / (1 + b * b), lambda a, b: a * fnp.cos(b)]


@st.composite
def programs(draw, smooth):
    """A random function of {"u": vector n, "w": matrix n x n} returning a pytree, as a list of steps
    over a growing pool of n-vectors (with kinks such as max(v, 0.1 v) unless `smooth`)."""
    unary = UNARY if smooth else UNARY + KINKED
    n = draw(st.integers(1, 4))
    steps = draw(
        st.lists(
            st.tuples(st.booleans(), st.integers(0, 99), st.integers(0, 99), st.integers(0, 99)), min_size=1, max_size=6
        )
    )

    def fun(params):
        pool = [params["u"], params["w"] @ params["u"]]
        for binary, i, j, k in steps:
            a, b = pool[i % len(pool)], pool[j % len(pool)]
            pool.append(BINARY[k % len(BINARY)](a, b) if binary else unary[k % len(unary)](a))
        return {"out": pool[-1], "total": fnp.sum(pool[-2] * pool[-1])}

    arrays = lambda shape: hnp.arrays(np.float64, shape, elements=st.floats(-1.5, 1.5))
    params = {"u": draw(arrays(n)), "w": draw(arrays((n, n)))}
    return fun, params


@settings(max_examples=30)
@given(prog=programs(smooth=False))
def test_jacfwd_equals_jacrev_on_random_programs(prog):
    fun, params = prog
    fwd, rev = fnad.jacfwd(fun)(params), fnad.jacrev(fun)(params)
    assert_tree_close(fwd, rev, rtol=1e-10, atol=1e-12)
    # Jacobian blocks have shape out.shape + in.shape
    assert np.shape(fwd["out"]["w"]) == params["u"].shape + params["w"].shape


@settings(max_examples=10)
@given(prog=programs(smooth=True))
def test_random_programs_derivatives_match_finite_differences(prog):
    fun, params = prog
    check_grads(fun, (params,), order=2)


@settings(max_examples=15)
@given(data=st.data())
def test_hessian_of_quadratic_form_is_symmetric_part(data):
    n = data.draw(st.integers(1, 4))
    a = data.draw(hnp.arrays(np.float64, (n, n), elements=st.floats(-3, 3)))
    b = data.draw(hnp.arrays(np.float64, n, elements=st.floats(-3, 3)))
    x = data.draw(hnp.arrays(np.float64, n, elements=st.floats(-3, 3)))
    f = lambda x: 0.5 * x @ (a @ x) + b @ x
    h = fnad.hessian(f)(x)
    np.testing.assert_allclose(h, (a + a.T) / 2, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(h, h.T)
    np.testing.assert_allclose(fnad.grad(f)(x), (a + a.T) / 2 @ x + b, rtol=1e-12, atol=1e-12)


@settings(max_examples=15)
@given(x=vectors(), data=st.data())
def test_hvp_by_jvp_of_grad_equals_hessian_times_vector(x, data):
    v = data.draw(hnp.arrays(np.float64, x.shape, elements=st.floats(-2, 2)))
    f = lambda x: fnp.sum(fnp.tanh(x) * fnp.sin(fnp.sum(x * x)))
    hvp = fnad.jvp(fnad.grad(f), (x,), (v,))[1]
    np.testing.assert_allclose(hvp, fnad.hessian(f)(x) @ v, rtol=1e-10, atol=1e-12)
    # reverse-over-reverse gives the same vector
    np.testing.assert_allclose(fnad.grad(lambda x: fnad.grad(f)(x) @ v)(x), hvp, rtol=1e-10, atol=1e-12)


@settings(max_examples=15)
@given(x=vectors(), data=st.data())
def test_vjp_of_jvp_is_vjp(x, data):
    """jvp is linear in the tangent; its transpose (vjp w.r.t. the tangent) is f's vjp."""
    f = lambda x: fnp.sin(x) * fnp.sum(fnp.exp(0.5 * x))
    t = data.draw(hnp.arrays(np.float64, x.shape, elements=st.floats(-2, 2)))
    ct = data.draw(hnp.arrays(np.float64, x.shape, elements=st.floats(-2, 2)))
    _, pullback_of_push = fnad.vjp(lambda t: fnad.jvp(f, (x,), (t,))[1], t)
    np.testing.assert_allclose(pullback_of_push(ct)[0], fnad.vjp(f, x)[1](ct)[0], rtol=1e-12, atol=1e-12)


@settings(max_examples=15)
@given(x=vectors(), data=st.data())
def test_linearize_equals_jvp(x, data):
    f = lambda x: {"a": fnp.tanh(x) * x, "b": fnp.sum(fnp.cos(x))}
    out, f_lin = fnad.linearize(f, x)
    assert_tree_close(out, f(x))
    for _ in range(2):  # the linearized function is reusable
        t = data.draw(hnp.arrays(np.float64, x.shape, elements=st.floats(-2, 2)))
        assert_tree_close(f_lin(t), fnad.jvp(f, (x,), (t,))[1])


def test_vjp_function_is_reusable_and_checks_cotangents():
    _out, pullback = fnad.vjp(lambda x: fnp.sin(x) * 2.0, np.array([0.5, 1.0]))
    np.testing.assert_allclose(pullback(np.array([1.0, 0.0]))[0], [2 * np.cos(0.5), 0.0])
    np.testing.assert_allclose(pullback(np.array([0.0, 1.0]))[0], [0.0, 2 * np.cos(1.0)])
    with pytest.raises(ValueError, match="shape"):
        pullback(np.ones(3))


def test_perturbation_confusion():
    """The inner derivative must not see the outer x as its variable: inner grad is x, so the
    function is x * x and its derivative at 2 is 4 (a confused implementation gives 2 or 6)."""
    assert fnad.grad(lambda x: x * fnad.grad(lambda y: x * y)(1.0))(2.0) == 4.0
    # the same with jvp inside grad, and two different functions of x
    f = lambda x: x * fnad.jvp(lambda y: x * y * y, (3.0,), (1.0,))[1]  # x * (2 * 3 * x) = 6 x^2
    assert fnad.grad(f)(2.0) == 24.0


# ----------------------------------------------------------------------------------------------
# vmap with derivatives


def _loss(w, x, y):
    return (fnp.tanh(x @ w) - y) ** 2


def test_per_example_gradients_by_vmap_of_grad(mode):
    @mode.settings(10)
    @given(data=st.data())
    def run(data):
        n, d = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 3))
        arr = lambda shape: data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-2, 2)))
        w, xs, ys = arr(d), arr((n, d)), arr(n)
        per_example = fnad.vmap(mode(fnad.grad(_loss)), in_axes=(None, 0, 0))(w, xs, ys)
        expected = np.stack([fnad.grad(_loss)(w, x, y) for x, y in zip(xs, ys)])
        np.testing.assert_allclose(per_example, expected, rtol=1e-12, atol=1e-14)
        # the gradient of the summed vmapped loss is the sum of the per-example gradients
        total = fnad.grad(mode(lambda w: fnad.vmap(_loss, in_axes=(None, 0, 0))(w, xs, ys).sum()))(w)
        np.testing.assert_allclose(total, expected.sum(0), rtol=1e-12, atol=1e-12)

    run()


def test_jacobian_of_vmapped_function_is_block_diagonal():
    x = np.array([[0.1, 0.2], [0.3, -0.4], [1.0, 2.0]])
    f = fnad.vmap(lambda r: fnp.sin(r) * fnp.sum(r))
    j = fnad.jacrev(f)(x)
    for b in range(3):
        np.testing.assert_allclose(j[b, :, b, :], fnad.jacfwd(lambda r: fnp.sin(r) * fnp.sum(r))(x[b]), rtol=1e-14)
        for c in set(range(3)) - {b}:
            assert not j[b, :, c, :].any()


def test_nested_vmap_with_pytree_axes_and_none():
    rng = np.random.default_rng(0)
    ii, kk, jj = 3, 4, 2
    a, b, ys = rng.standard_normal((ii, kk)), 0.5, rng.standard_normal((kk, jj))

    def f(d, y):  # d["a"]: (K,), d["b"]: scalar, y: (K,)
        return {"p": d["a"] * fnp.sum(y) + d["b"], "q": y * 2.0}

    inner = fnad.vmap(f, in_axes=({"a": 0, "b": None}, None), out_axes={"p": 1, "q": None})
    outer = fnad.vmap(inner, in_axes=(None, 1), out_axes={"p": 0, "q": -1})
    out = outer({"a": a, "b": b}, ys)
    p = np.empty((jj, kk, ii))
    for j in range(jj):
        for i in range(ii):
            p[j, :, i] = a[i] * ys[:, j].sum() + b
    np.testing.assert_allclose(out["p"], p, rtol=1e-14)
    np.testing.assert_allclose(out["q"], 2 * ys, rtol=1e-14)
    with pytest.raises(ValueError, match="out_axes=None"):
        fnad.vmap(lambda y: y * 2.0, out_axes=None)(ys)


def test_vmap_of_jacfwd_and_hessian_under_vmap():
    xs = np.array([[0.3, -0.2], [1.0, 0.5]])
    f = lambda x: fnp.sum(fnp.sin(x)) * fnp.prod(x)
    np.testing.assert_allclose(fnad.vmap(fnad.hessian(f))(xs), np.stack([fnad.hessian(f)(x) for x in xs]), rtol=1e-14)


# ----------------------------------------------------------------------------------------------
# Arguments, outputs and options


Params = namedtuple("Params", ["w", "b"])


def test_pytrees_in_and_out_with_argnums_has_aux_and_value_and_grad():
    p = Params(w=np.array([1.0, -2.0]), b=0.5)
    cfg = {"scale": np.array(3.0), "pair": (np.array(2.0), np.array([1.0, 1.0]))}

    def loss(p, cfg, x):
        y = cfg["scale"] * (p.w @ x) + p.b * cfg["pair"][0]
        return y * y, {"y": y, "n": 7}

    x = np.array([0.5, 0.25])
    (value, aux), (gp, gcfg) = fnad.value_and_grad(loss, argnums=(0, 1), has_aux=True)(p, cfg, x)
    y = 3 * (1.0 * 0.5 - 2.0 * 0.25) + 0.5 * 2.0
    assert value == y * y and aux["y"] == y and aux["n"] == 7
    assert isinstance(gp, Params)
    np.testing.assert_allclose(gp.w, 2 * y * 3 * x)
    np.testing.assert_allclose(gp.b, 2 * y * 2.0)
    np.testing.assert_allclose(gcfg["scale"], 2 * y * (p.w @ x))
    np.testing.assert_allclose(gcfg["pair"][0], 2 * y * 0.5)
    np.testing.assert_allclose(gcfg["pair"][1], [0.0, 0.0])
    g, aux2 = fnad.grad(loss, has_aux=True)(p, cfg, x)
    assert_tree_close(g, gp)
    assert aux2["n"] == 7
    # negative argnums count from the end
    np.testing.assert_allclose(fnad.grad(lambda a, b: a * b, argnums=-1)(3.0, 4.0), 3.0)


def test_jvp_with_pytrees_and_has_aux():
    f = lambda d: ({"s": fnp.sin(d["x"]), "t": d["x"] * d["y"]}, d["y"])
    primal = {"x": np.array([0.1, 0.2]), "y": np.array(3.0)}
    tangent = {"x": np.array([1.0, 0.0]), "y": np.array(1.0)}
    _out, t_out, aux = fnad.jvp(f, (primal,), (tangent,), has_aux=True)
    np.testing.assert_allclose(t_out["s"], [np.cos(0.1), 0.0])
    np.testing.assert_allclose(t_out["t"], [3.0 + 0.1, 0.2])
    assert aux == 3.0


def test_jacobians_of_pytree_functions_have_nested_structure():
    f = lambda d: {"sum": fnp.sum(d["a"]) * d["b"], "vec": d["a"] * d["b"]}
    d = {"a": np.array([1.0, 2.0, 3.0]), "b": np.array(2.0)}
    for jac in (fnad.jacfwd, fnad.jacrev):
        j = jac(f)(d)
        np.testing.assert_allclose(j["sum"]["a"], [2.0, 2.0, 2.0])
        np.testing.assert_allclose(j["sum"]["b"], 6.0)
        np.testing.assert_allclose(j["vec"]["a"], 2.0 * np.eye(3))
        np.testing.assert_allclose(j["vec"]["b"], [1.0, 2.0, 3.0])
    j = fnad.jacrev(lambda x, y: x * y, argnums=(0, 1))(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    np.testing.assert_allclose(j[0], np.diag([3.0, 4.0]))
    np.testing.assert_allclose(j[1], np.diag([1.0, 2.0]))


def test_stop_gradient():
    x = 3.0
    assert fnad.grad(lambda x: x * fnad.stop_gradient(x))(x) == 3.0
    assert fnad.jvp(fnad.stop_gradient, (np.array([1.0, 2.0]),), (np.array([1.0, 1.0]),))[1].tolist() == [0.0, 0.0]
    # second order: d2/dx2 of x^2 * sg(x) = 2 sg(x)
    assert fnad.grad(fnad.grad(lambda x: x * x * fnad.lax.stop_gradient(x)))(x) == 6.0
    # on a pytree with an integer leaf (left alone)
    out = fnad.stop_gradient({"a": np.array(1.0), "i": np.array(2)})
    assert out["i"].dtype == np.int64 and out["a"] == 1.0
    np.testing.assert_array_equal(fnad.vmap(fnad.stop_gradient)(np.arange(3.0)), np.arange(3.0))


def test_python_control_flow_on_concrete_values_differentiates_the_taken_path():
    def f(x):
        if x > 0:
            return x**3
        return -2.0 * x

    assert fnad.grad(f)(2.0) == 12.0
    assert fnad.grad(f)(-1.0) == -2.0
    assert fnad.grad(fnad.grad(f))(2.0) == 12.0

    def g(x, n):
        for _ in range(int(n)):
            x = fnp.sin(x)
        return x

    np.testing.assert_allclose(fnad.grad(g)(0.5, 2), np.cos(np.sin(0.5)) * np.cos(0.5), rtol=1e-15)


# ----------------------------------------------------------------------------------------------
# Conventions at kinks and singularities (as JAX)


def test_double_where_gives_finite_gradients_where_single_where_gives_nan():
    def single(x):
        return fnp.where(x > 0, fnp.log(x), 0.0)

    def double(x):
        safe = fnp.where(x > 0, x, 1.0)
        return fnp.where(x > 0, fnp.log(safe), 0.0)

    with np.errstate(all="ignore"):
        assert np.isnan(fnad.grad(single)(0.0))
        assert fnad.grad(double)(0.0) == 0.0
        assert fnad.grad(double)(2.0) == 0.5
        g = fnad.grad(lambda x: fnp.sum(double(x)))(np.array([0.0, -1.0, 4.0]))
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.25])


def test_derivative_conventions_at_kinks():
    assert fnad.grad(fnp.abs)(0.0) == 1.0  # JAX: select(x >= 0, g, -g)
    assert fnad.grad(fnp.abs)(-2.0) == -1.0
    assert fnad.grad(fnp.maximum, argnums=(0, 1))(1.0, 1.0) == (0.5, 0.5)
    assert fnad.grad(fnp.minimum, argnums=(0, 1))(1.0, 1.0) == (0.5, 0.5)
    assert fnad.grad(fnp.maximum, argnums=(0, 1))(2.0, 1.0) == (1.0, 0.0)
    assert fnad.grad(lambda x: fnp.maximum(x, 0.0))(0.0) == 0.5
    assert fnad.grad(fnp.max)(np.array([1.0, 3.0, 3.0])).tolist() == [0.0, 0.5, 0.5]
    assert fnad.grad(fnp.sign)(0.0) == 0.0
    assert fnad.grad(fnp.floor)(1.5) == 0.0


def test_relu_derivative_at_zero_is_zero():
    nn = pytest.importorskip("fnad.nn", reason="fnad.nn not written yet")
    assert fnad.grad(nn.relu)(0.0) == 0.0
    assert fnad.grad(nn.relu)(1.0) == 1.0
    assert fnad.grad(nn.relu)(-1.0) == 0.0


def test_singular_derivatives_are_infinite():
    with np.errstate(all="ignore"):
        assert fnad.grad(fnp.sqrt)(0.0) == np.inf
        assert fnad.grad(fnp.log)(0.0) == np.inf
        assert fnad.grad(lambda x: x**0.5)(0.0) == np.inf
    assert fnad.grad(lambda x: x**0.0)(0.0) == 0.0  # d/dx x**0 is 0, even at 0
    assert fnad.grad(lambda x: x**2)(0.0) == 0.0


# ----------------------------------------------------------------------------------------------
# Size of the IR of repeated derivatives

XLA_OPTIMISED_EQNS = [8, 12, 20, 40, 81, 171]  # grad^n(tanh) after XLA's optimisation, n = 1..6


def test_ir_of_repeated_grads_of_tanh_is_small():
    f, counts = fnp.tanh, []
    for _ in XLA_OPTIMISED_EQNS:
        f = fnad.grad(f)
        counts.append(len(fnad.make_jaxpr(f)(0.3).eqns))
    print(f"\ngrad^n(tanh) IR equations for n = 1..6: {counts} (XLA optimised: {XLA_OPTIMISED_EQNS})")
    for n, (ours, xla) in enumerate(zip(counts, XLA_OPTIMISED_EQNS), 1):
        assert ours <= xla, f"grad^{n}(tanh) has {ours} equations, more than XLA's {xla}"
    # and the IR computes the right values
    for k, expected in enumerate(tanh_derivatives(0.3)[:4]):
        g = fnp.tanh
        for _ in range(k + 1):
            g = fnad.grad(g)
        closed = fnad.make_jaxpr(g)(0.3)
        np.testing.assert_allclose(fnad.ir.eval_closed(closed, 0.3)[0], expected, rtol=1e-12)


def test_linear_transpose_is_the_jacobians_transpose():
    rng = np.random.default_rng(5)
    a, x0 = rng.normal(size=(4, 3)), rng.normal(size=3)
    f = lambda x: {"lin": a @ x, "sum": fnp.sum(x) * 3.0, "roll": fnp.cumsum(x)[::-1]}
    f_t = fnad.linear_transpose(f, x0)
    ct = {"lin": rng.normal(size=4), "sum": 0.5, "roll": rng.normal(size=3)}
    (got,) = f_t(ct)
    jac = np.concatenate([a, np.full((1, 3), 3.0), np.tril(np.ones((3, 3)))[::-1]])
    want = np.concatenate([ct["lin"], [ct["sum"]], ct["roll"]]) @ jac
    np.testing.assert_allclose(got, want, rtol=1e-13)
    np.testing.assert_allclose(fnad.vjp(f, x0)[1](ct)[0], got, rtol=1e-13)
    np.testing.assert_allclose(fnad.jit(f_t)(ct)[0], got, rtol=1e-13)
    unused = fnad.linear_transpose(lambda x, y: 2.0 * x, 1.0, np.ones(2))(3.0)  # y does not reach the output
    np.testing.assert_array_equal(unused[0], 6.0)
    np.testing.assert_array_equal(unused[1], [0.0, 0.0])
    with pytest.raises(TypeError, match="not linear"):
        fnad.linear_transpose(fnp.sin, 1.0)(1.0)
    with pytest.raises(ValueError, match="shape"):
        f_t({"lin": np.ones(5), "sum": 0.5, "roll": np.ones(3)})
