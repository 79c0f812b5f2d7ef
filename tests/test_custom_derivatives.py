"""custom_jvp / custom_vjp: the user's rules are used by jvp/grad/vjp, survive vmap and staging
(make_jaxpr, and re-evaluation of the staged IR), compose (grad of grad), and misuse gets clear errors."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fnad
import fnad.numpy as fnp
from fnad.ir import eval_closed
from fnad.tree_util import tree_flatten


def staged(f):
    """f evaluated through its IR: trace with make_jaxpr, then re-bind every equation."""

    def g(*args):
        closed = fnad.make_jaxpr(f)(*args)
        flat, _ = tree_flatten(args)
        outs = eval_closed(closed, *flat)
        return outs[0] if len(outs) == 1 else outs

    return g


def central_diff(f, x, eps=1e-6):
    return (f(x + eps) - f(x - eps)) / (2 * eps)


# ----------------------------------------------------------------------------------------------
# custom_jvp


@fnad.custom_jvp
def log1pexp(x):
    return fnp.log(1.0 + fnp.exp(x))


@log1pexp.defjvp
def log1pexp_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return log1pexp(x), t * (1.0 - 1.0 / (1.0 + fnp.exp(x)))


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_log1pexp_uses_the_stable_rule():
    naive = lambda x: fnp.log(1.0 + fnp.exp(x))
    with np.errstate(over="ignore", invalid="ignore"):
        assert np.isnan(fnad.grad(naive)(1000.0))
    assert fnad.grad(log1pexp)(100.0) == 1.0
    assert fnad.grad(log1pexp)(1000.0) == 1.0
    np.testing.assert_allclose(fnad.grad(log1pexp)(0.3), _sigmoid(0.3), rtol=1e-14)
    out, t = fnad.jvp(log1pexp, (2.0,), (3.0,))
    np.testing.assert_allclose(out, np.log1p(np.exp(2.0)))
    np.testing.assert_allclose(t, 3 * _sigmoid(2.0))


def test_custom_jvp_rule_is_what_is_used():
    @fnad.custom_jvp
    def f(x):
        return fnp.sin(x)

    f.defjvp(lambda p, t: (f(p[0]), 7.0 * t[0]))  # deliberately not the true derivative
    assert fnad.grad(f)(0.4) == 7.0
    assert fnad.jvp(f, (0.4,), (2.0,))[1] == 14.0
    np.testing.assert_allclose(fnad.jacrev(f)(np.ones(3)), 7 * np.eye(3))
    np.testing.assert_allclose(fnad.jacfwd(f)(np.ones(3)), 7 * np.eye(3))
    np.testing.assert_allclose(f(0.4), np.sin(0.4))


@given(st.floats(-5, 5))
def test_grad_of_grad_of_custom_jvp(x):
    d2 = fnad.grad(fnad.grad(log1pexp))(x)
    np.testing.assert_allclose(d2, _sigmoid(x) * (1 - _sigmoid(x)), rtol=1e-10, atol=1e-14)
    d3 = fnad.grad(fnad.grad(fnad.grad(log1pexp)))(x)
    np.testing.assert_allclose(d3, central_diff(fnad.grad(fnad.grad(log1pexp)), x), rtol=1e-5, atol=1e-8)


def test_vmap_of_custom_jvp_and_of_its_grad():
    xs = np.array([-3.0, 0.5, 40.0, 800.0])
    np.testing.assert_allclose(fnad.vmap(log1pexp)(xs[:3]), np.log1p(np.exp(xs[:3])))
    np.testing.assert_allclose(fnad.vmap(fnad.grad(log1pexp))(xs), _sigmoid(xs))
    np.testing.assert_allclose(fnad.grad(lambda v: fnad.vmap(log1pexp)(v).sum())(xs), _sigmoid(xs))

    # batch axis not at 0, and an unbatched argument
    @fnad.custom_jvp
    def scale(a, x):
        return a * x

    scale.defjvp(lambda p, t: (scale(*p), p[0] * t[1] + t[0] * p[1]))
    m = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(fnad.vmap(scale, in_axes=(None, 1))(2.0, m), 2 * m.T)
    g = fnad.vmap(fnad.grad(lambda a, x: scale(a, x).sum()), in_axes=(None, 1))(2.0, m)
    np.testing.assert_allclose(g, m.sum(0))


def test_custom_jvp_in_make_jaxpr_and_staged_evaluation():
    text = str(fnad.make_jaxpr(log1pexp)(1.0))
    assert "custom_jvp_call" in text and "log1pexp_jvp" in text and "exp" in text
    f = staged(log1pexp)
    np.testing.assert_allclose(f(1.5), np.log1p(np.exp(1.5)))
    assert fnad.grad(f)(500.0) == 1.0
    np.testing.assert_allclose(fnad.vmap(fnad.grad(f))(np.array([0.0, 600.0])), [0.5, 1.0])
    # after differentiation only the rule's operations remain
    assert "custom_jvp_call" not in str(fnad.make_jaxpr(fnad.grad(log1pexp))(1.0))


def test_custom_jvp_closing_over_a_constant_array():
    w = np.array([1.0, 2.0, 3.0])

    @fnad.custom_jvp
    def f(x):
        return fnp.sum(w * x)

    f.defjvp(lambda p, t: (f(p[0]), fnp.sum(w * t[0])))
    closed = fnad.make_jaxpr(f)(np.ones(3))
    assert closed.eqns[0].params["num_consts"] == 1
    np.testing.assert_allclose(fnad.grad(staged(f))(np.ones(3)), w)
    np.testing.assert_allclose(fnad.vmap(staged(f))(np.eye(3)), w)


def test_custom_jvp_pytrees_and_nondiff_argnums():
    @fnad.custom_jvp
    def f(d):
        return {"s": d["a"] * d["b"], "t": d["a"]}

    @f.defjvp
    def f_jvp(primals, tangents):
        (d,), (t,) = primals, tangents
        return f(d), {"s": t["a"] * d["b"] + d["a"] * t["b"], "t": t["a"]}

    g = fnad.grad(lambda d: f(d)["s"] + 2 * f(d)["t"])({"a": 3.0, "b": 5.0})
    assert g == {"a": 7.0, "b": 3.0}

    @fnad.custom_jvp
    def apply(fn, x):
        return fn(x)

    apply = fnad.custom_jvp(apply.fun, nondiff_argnums=(0,))

    @apply.defjvp
    def apply_jvp(fn, primals, tangents):
        return apply(fn, primals[0]), 100.0 * tangents[0]

    assert fnad.grad(lambda x: apply(fnp.sin, x))(0.1) == 100.0
    np.testing.assert_allclose(apply(fnp.sin, 0.1), np.sin(0.1))
    np.testing.assert_allclose(fnad.vmap(fnad.grad(lambda x: apply(fnp.cos, x)))(np.ones(2)), [100.0, 100.0])


def test_defjvps():
    @fnad.custom_jvp
    def f(x, y):
        return x * y

    f.defjvps(lambda g, ans, x, y: g * y, lambda g, ans, x, y: 10.0 * g)
    assert fnad.grad(f, argnums=(0, 1))(2.0, 3.0) == (3.0, 10.0)
    assert fnad.jvp(f, (2.0, 3.0), (1.0, 1.0))[1] == 13.0


def test_custom_jvp_errors():
    @fnad.custom_jvp
    def f(x):
        return x

    with pytest.raises(AttributeError, match="No JVP defined"):
        f(1.0)
    f.defjvp(lambda p, t: (p[0], np.ones(3)))
    with pytest.raises(TypeError, match="shape"):
        fnad.grad(f)(1.0)
    g = fnad.custom_jvp(lambda n, x: x * n, nondiff_argnums=(0,))
    g.defjvp(lambda n, p, t: (g(n, p[0]), t[0] * n))
    with pytest.raises(TypeError, match="nondiff_argnums"):
        fnad.vmap(g, in_axes=(0, None))(np.ones(2), 1.0)


# ----------------------------------------------------------------------------------------------
# custom_vjp


@fnad.custom_vjp
def clip_gradient(lo, hi, x):
    return x


def _clip_fwd(lo, hi, x):
    return x, (lo, hi)


def _clip_bwd(res, g):
    lo, hi = res
    return (None, None, fnp.clip(g, lo, hi))


clip_gradient.defvjp(_clip_fwd, _clip_bwd)


def test_custom_vjp_gradient_clipping():
    f = lambda x: clip_gradient(-0.5, 0.5, 3.0 * x)
    assert f(2.0) == 6.0
    assert fnad.grad(f)(2.0) == 1.5  # ct 1 clipped to 0.5, times 3
    g = fnad.grad(lambda x: fnp.sum(clip_gradient(-1.0, 1.0, 5.0 * x * x)))(np.array([0.1, 0.7, 3.0]))
    np.testing.assert_allclose(g, [1.0, 7.0, 30.0])
    _out, vjp_fn = fnad.vjp(lambda x: clip_gradient(-0.5, 0.5, x), np.array([1.0, 2.0]))
    np.testing.assert_allclose(vjp_fn(np.array([3.0, -0.1]))[0], [0.5, -0.1])
    np.testing.assert_allclose(fnad.jacrev(lambda x: clip_gradient(-0.5, 0.5, 2 * x))(np.ones(2)), np.eye(2))


def test_custom_vjp_forward_mode_raises():
    f = lambda x: clip_gradient(-0.5, 0.5, x)
    with pytest.raises(TypeError, match="can't apply forward-mode differentiation"):
        fnad.jvp(f, (1.0,), (1.0,))
    with pytest.raises(TypeError, match="can't apply forward-mode differentiation"):
        fnad.jacfwd(f)(np.ones(2))


def test_custom_vjp_forward_mode_under_jit_raises_the_eager_error():
    # The tangent primitive custom_vjp_lin reaches the compiler; it used to fail there with
    # "no lowering for primitive 'custom_vjp_lin'" instead of saying what is wrong.
    f = lambda x: clip_gradient(-0.5, 0.5, x)
    with pytest.raises(TypeError, match="can't apply forward-mode differentiation"):
        fnad.jit(lambda x, t: fnad.jvp(f, (x,), (t,)))(np.ones(2), np.ones(2))
    # Reverse mode under jit transposes custom_vjp_lin away: it compiles and runs.
    grad = fnad.jit(fnad.grad(lambda x: clip_gradient(-0.5, 0.5, 2 * x).sum()))
    np.testing.assert_allclose(grad(np.ones(2)), [1.0, 1.0])  # cotangent 1 clipped to 0.5, times 2


@fnad.custom_vjp
def cube(x):
    return x * x * x


def _cube_fwd(x):
    return cube(x), x


def _cube_bwd(x, g):
    return (3.0 * x * x * g,)


cube.defvjp(_cube_fwd, _cube_bwd)


@given(st.floats(-3, 3))
def test_grad_of_grad_of_custom_vjp(x):
    np.testing.assert_allclose(fnad.grad(cube)(x), 3 * x * x, rtol=1e-14)
    np.testing.assert_allclose(fnad.grad(fnad.grad(cube))(x), 6 * x, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(fnad.grad(fnad.grad(fnad.grad(cube)))(x), 6.0)


def test_custom_vjp_under_vmap():
    xs = np.array([0.1, 1.0, 2.0])
    f = lambda x: clip_gradient(-0.5, 0.5, x * x)
    np.testing.assert_allclose(fnad.vmap(f)(xs), xs**2)
    np.testing.assert_allclose(fnad.vmap(fnad.grad(f))(xs), [0.1, 1.0, 2.0])
    np.testing.assert_allclose(fnad.grad(lambda v: fnad.vmap(f)(v).sum())(xs), [0.1, 1.0, 2.0])
    np.testing.assert_allclose(fnad.vmap(fnad.grad(cube))(xs), 3 * xs**2)

    # an unbatched argument receives the cotangents of the whole batch, summed
    @fnad.custom_vjp
    def mul(w, x):
        return w * x

    mul.defvjp(lambda w, x: (w * x, (w, x)), lambda r, g: (r[1] * g, r[0] * g))
    m = np.arange(6.0).reshape(3, 2)
    gw, gx = fnad.grad(lambda w, x: fnad.vmap(mul, in_axes=(None, 1))(w, x).sum(), argnums=(0, 1))(np.ones(3), m)
    np.testing.assert_allclose(gw, m.sum(1))
    np.testing.assert_allclose(gx, np.ones((3, 2)))
    # jacrev = vmap over the cotangent of the backward pass
    np.testing.assert_allclose(fnad.jacrev(lambda x: mul(2.0 * np.ones(3), x))(np.ones(3)), 2 * np.eye(3))


def test_custom_vjp_in_make_jaxpr_and_staged_evaluation():
    f = lambda x: clip_gradient(-0.5, 0.5, x * x)
    text = str(fnad.make_jaxpr(f)(1.0))
    assert "custom_vjp_call" in text and "_clip_bwd" in text
    assert "custom_vjp_lin" not in str(fnad.make_jaxpr(fnad.grad(f))(1.0))
    s = staged(f)
    assert s(3.0) == 9.0
    assert fnad.grad(s)(3.0) == 3.0
    np.testing.assert_allclose(fnad.vmap(fnad.grad(s))(np.array([0.1, 3.0])), [0.1, 3.0])
    np.testing.assert_allclose(fnad.grad(fnad.grad(staged(cube)))(2.0), 12.0)


def test_custom_vjp_pytrees_and_nondiff_argnums():
    @fnad.custom_vjp
    def f(scale, p):
        return {"y": p[0] * scale, "z": p[1]}

    def fwd(scale, p):
        return f(scale, p), p

    def bwd(scale, res, ct):
        return ((ct["y"] * scale * 10.0, None),)

    f = fnad.custom_vjp(f.fun, nondiff_argnums=(0,))
    f.defvjp(fwd, bwd)
    g = fnad.grad(lambda p: f(2.0, p)["y"] + f(2.0, p)["z"])((1.0, 4.0))
    assert g == (20.0, 0.0)


def test_custom_vjp_errors():
    @fnad.custom_vjp
    def f(x, y):
        return x * y

    with pytest.raises(AttributeError, match="No VJP defined"):
        f(1.0, 2.0)
    f.defvjp(lambda x, y: (x * y, None), lambda r, g: (g,))
    with pytest.raises(TypeError, match="one cotangent per"):
        fnad.grad(f)(1.0, 2.0)
    f.defvjp(lambda x, y: (x * y, None), lambda r, g: (np.ones(2), g))
    with pytest.raises(ValueError, match="shape"):
        fnad.grad(f)(1.0, 2.0)


def test_custom_rules_under_jit(mode):
    xs = np.array([1.0, 100.0, 800.0])
    np.testing.assert_allclose(mode(lambda v: fnad.vmap(log1pexp)(v[:2]))(xs), np.log1p(np.exp(xs[:2])))
    np.testing.assert_allclose(mode(fnad.vmap(fnad.grad(log1pexp)))(xs), _sigmoid(xs), rtol=1e-15)
    np.testing.assert_allclose(fnad.grad(lambda v: mode(log1pexp)(v).sum())(xs), _sigmoid(xs), rtol=1e-15)
    f = lambda x: clip_gradient(-0.5, 0.5, 3.0 * x)
    assert mode(fnad.grad(f))(2.0) == 1.5
    assert fnad.grad(mode(f))(2.0) == 1.5
    np.testing.assert_allclose(fnad.vmap(mode(fnad.grad(cube)))(xs), 3 * xs**2)
    first = lambda v: fnad.grad(lambda u: mode(cube)(u).sum())(v).sum()
    np.testing.assert_allclose(fnad.grad(first)(xs), 6 * xs)
