"""Control flow primitives (cond, switch, while_loop, fori_loop, scan, map): values against Python
loops, derivatives against finite differences and against the unrolled Python program, vmap against
a Python loop over the batch, checkpointed reverse mode through while loops, nesting, errors."""

import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnad
import fnad.numpy as fnp
from fnad import lax
from fnad.core import get_aval
from fnad.ir import eval_closed
from fnad.primitives.control_flow import _binomial_advance, revolve_cost, revolve_p, revolve_schedule, revolve_stride
from fnad.primitives.elementwise import sin_p
from fnad.test_util import check_grads

FEW = settings(max_examples=12)


def under(mode, f):
    """`mode(f)`, skipping the test in jit mode while the compiler cannot lower control flow."""
    g = mode(f)
    if mode.name != "jit":
        return g

    def call(*args, **kwargs):
        try:
            return g(*args, **kwargs)
        except NotImplementedError as e:
            if "no lowering for primitive" in str(e):
                pytest.skip(str(e).split(" (supported")[0])
            raise

    return call


def fd_grad(f, x, eps=1e-6):
    x = np.asarray(x, float)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


# ----------------------------------------------------------------------------------------------
# cond / switch


def branchy(x, y):
    return lax.cond(
        x.sum() > 0,
        lambda a, b: (fnp.sin(a) * b, {"s": a.sum()}),
        lambda a, b: (fnp.cos(a) + b, {"s": (b * b).sum()}),
        x,
        y,
    )


def branchy_py(x, y):
    return (np.sin(x) * y, {"s": x.sum()}) if x.sum() > 0 else (np.cos(x) + y, {"s": (y * y).sum()})


@FEW
@given(st.integers(0, 3), st.integers(0, 1000))
def test_cond_values_and_derivatives(n, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=n + 1), rng.normal(size=n + 1)
    out, ref = branchy(x, y), branchy_py(x, y)
    np.testing.assert_allclose(out[0], ref[0])
    np.testing.assert_allclose(out[1]["s"], ref[1]["s"])
    check_grads(lambda a, b: branchy(a, b)[0], (x, y), order=1)
    check_grads(lambda a, b: branchy(a, b)[1]["s"], (x, y), order=1)


def test_cond_second_derivatives():
    for sign in (1.0, -1.0):
        x = sign * np.array([0.5, 1.5])
        check_grads(lambda a, b: branchy(a, b)[0], (x, x * 0.3), order=2)


def test_cond_gradient_where_a_branch_may_reuse_dead_inputs_under_jit():
    """The fuzz's repro: jit(grad) of a cond whose backward branches get a tied output and dead
    inputs to reuse (it failed an assertion in the cond's lowering); against eager grad, both ways."""
    from fnad import nn

    f = lambda a: lax.cond(fnp.sum(a) > -1.0, lambda a: 0.0 - (-a), lambda a: fnp.tanh(-nn.log_softmax(a, axis=-1)), a)
    w = np.random.default_rng(973).standard_normal((8, 6))
    loss = lambda a: fnp.sum(f(a) * w)
    x = np.ascontiguousarray(np.random.default_rng(961).uniform(-2, 2, (8, 7))[..., :0:-1])
    for a in (x, x - 3.0):  # each branch taken
        np.testing.assert_allclose(fnad.jit(fnad.grad(loss))(a), fnad.grad(loss)(a), rtol=1e-12, atol=1e-12)
    check_grads(loss, (x - 3.0,), order=1)


def test_cond_under_modes(mode):
    f = under(mode, lambda x, y: branchy(x, y)[0])
    for x in (np.array([1.0, 2.0]), np.array([-1.0, -2.0])):
        np.testing.assert_allclose(f(x, x + 1), branchy_py(x, x + 1)[0])


def test_cond_vmap_batched_and_unbatched_predicate():
    xs = np.array([[1.0, 2.0], [-3.0, 1.0], [-1.0, -1.0]])
    ys = xs * 0.5
    out = fnad.vmap(branchy)(xs, ys)  # batched predicate: select of both branches
    for i in range(3):
        ref = branchy_py(xs[i], ys[i])
        np.testing.assert_allclose(out[0][i], ref[0])
        np.testing.assert_allclose(out[1]["s"][i], ref[1]["s"])
    x = np.array([1.0, -0.5])  # unbatched predicate, batched operand
    out = fnad.vmap(branchy, (None, 0))(x, ys)
    np.testing.assert_allclose(out[0], np.stack([branchy_py(x, y)[0] for y in ys]))
    g = fnad.vmap(fnad.grad(lambda a, b: branchy(a, b)[0].sum()))(xs, ys)
    np.testing.assert_allclose(
        g, np.stack([fd_grad(lambda a: branchy_py(a, y)[0].sum(), a) for a, y in zip(xs, ys)]), atol=1e-7
    )


def test_switch_clamps_and_differentiates():
    branches = [lambda x: x * 2.0, lambda x: fnp.sin(x), lambda x: x**3]
    for i, expected in [(-4, 2.0), (0, 2.0), (1, np.cos(0.7)), (2, 3 * 0.7**2), (9, 3 * 0.7**2)]:
        np.testing.assert_allclose(fnad.grad(lambda x: lax.switch(i, branches, x))(0.7), expected)
    idx = np.array([0, 1, 2, 5])
    out = fnad.vmap(lambda i, x: lax.switch(i, branches, x))(idx, np.full(4, 0.7))
    np.testing.assert_allclose(out, [1.4, np.sin(0.7), 0.343, 0.343])


def test_cond_prints_sub_irs_and_checks_branches():
    text = str(fnad.make_jaxpr(lambda x: lax.cond(x > 0, fnp.sin, fnp.cos, x))(1.0))
    assert "cond[branches=(" in text and "\n        { lambda" in text and "sin" in text and "cos" in text
    with pytest.raises(TypeError, match=r"false_fun output has f64\[\] at leaf \['b'\] but true_fun output has f32"):
        lax.cond(True, lambda x: {"a": x, "b": x.astype(np.float32)}, lambda x: {"a": x, "b": x}, 1.0)
    with pytest.raises(TypeError, match="structure"):
        lax.cond(True, lambda x: (x, x), lambda x: x, 1.0)
    with pytest.raises(TypeError, match="scalar"):
        lax.cond(np.array([True, False]), lambda x: x, lambda x: x, 1.0)


# ----------------------------------------------------------------------------------------------
# while_loop


def counted_loop(x, a, n):
    """n iterations of a non-linear update, with a pytree carry."""

    def body(c):
        return {"i": c["i"] + 1, "x": fnp.sin(c["x"]) * a + 0.5 * c["x"]}

    return lax.while_loop(lambda c: c["i"] < n, body, {"i": 0, "x": x}, checkpoints=3)["x"]


def counted_loop_py(x, a, n):
    for _ in range(n):
        x = np.sin(x) * a + 0.5 * x
    return x


@FEW
@given(st.integers(0, 9), st.integers(1, 3), st.integers(0, 1000))
def test_while_values_jvp_vjp_against_python_loop(n, size, seed):
    rng = np.random.default_rng(seed)
    x, a = rng.normal(size=size), rng.normal()
    np.testing.assert_allclose(counted_loop(x, a, n), counted_loop_py(x, a, n))
    check_grads(lambda x, a: counted_loop(x, a, n), (x, a), order=1)
    g = fnad.grad(lambda x, a: counted_loop(x, a, n).sum(), (0, 1))(x, a)
    np.testing.assert_allclose(g[0], fd_grad(lambda x: counted_loop_py(x, a, n).sum(), x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(g[1], fd_grad(lambda a: counted_loop_py(x, a, n).sum(), a), rtol=1e-6, atol=1e-8)


def _loops_in(closed):
    """while equations of IR prepared for the compiler, at every depth."""
    from fnad.ir import ClosedJaxpr

    count = 0
    for e in closed.jaxpr.eqns:
        count += e.primitive.name == "while"
        for v in e.params.values():
            for sub in v if isinstance(v, (tuple, list)) else (v,):
                if isinstance(sub, ClosedJaxpr):
                    count += _loops_in(sub)
    return count


def test_forward_mode_through_while_is_one_compiled_loop():
    """Under jvp the tangent rides along in the primal loop once compiled (nothing is transposed
    there): one while, not the primal loop and a second one repeating it for the tangent."""
    from fnad.passes import prepare_for_compile

    x, a, t = np.array([0.3, -1.2, 2.0]), 0.9, np.array([1.0, 0.5, -2.0])
    n = np.int64(6)
    f = lambda x, a, t: fnad.jvp(lambda x, a: counted_loop(x, a, n), (x, a), (t, 0.25))
    assert _loops_in(prepare_for_compile(fnad.make_jaxpr(f)(x, a, t))) == 1
    primal, tangent = fnad.jit(f)(x, a, t)
    np.testing.assert_allclose(primal, counted_loop_py(x, a, n), rtol=1e-13)
    h = 1e-6
    fd = (counted_loop_py(x + h * t, a + h * 0.25, n) - counted_loop_py(x - h * t, a - h * 0.25, n)) / (2 * h)
    np.testing.assert_allclose(tangent, fd, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(tangent, f(x, a, t)[1], rtol=1e-13)
    # Not merged, still right: jacfwd (its batched tangent loop starts from broadcast primals), and
    # a loop inside a scan (the primal loop is in the primal scan, its tangent in the linear one).
    jac = fnad.jacfwd(lambda x: counted_loop(x, a, n))
    np.testing.assert_allclose(fnad.jit(jac)(x), fnad.jacrev(lambda x: counted_loop(x, a, n))(x), rtol=1e-12)
    scanned = lambda x: lax.scan(lambda c, _: (counted_loop(c, a, n), c.sum()), x, None, length=3)[0]
    np.testing.assert_allclose(fnad.jit(fnad.jacfwd(scanned))(x), fnad.jacrev(scanned)(x), rtol=1e-12)


def test_while_vmap_per_lane_trip_counts():
    xs, ns = np.array([0.3, -1.0, 2.0, 0.1]), np.array([0, 3, 7, 1])
    out = fnad.vmap(counted_loop, (0, None, 0))(xs, 0.9, ns)
    np.testing.assert_allclose(out, [counted_loop_py(x, 0.9, n) for x, n in zip(xs, ns)])
    g = fnad.vmap(fnad.grad(counted_loop, (0, 1)), (0, None, 0))(xs, 0.9, ns)
    for i, (x, n) in enumerate(zip(xs, ns)):
        np.testing.assert_allclose(g[0][i], fd_grad(lambda x: counted_loop_py(x, 0.9, n), x), rtol=1e-6)
        np.testing.assert_allclose(g[1][i], fd_grad(lambda a: counted_loop_py(x, a, n), 0.9), rtol=1e-6)
    # grad of vmap: the batched loop (masked lanes) differentiated in reverse mode
    g = fnad.grad(lambda a: fnad.vmap(counted_loop, (0, None, 0))(xs, a, ns).sum())(0.9)
    np.testing.assert_allclose(
        g, fd_grad(lambda a: sum(counted_loop_py(x, a, n) for x, n in zip(xs, ns)), 0.9), rtol=1e-6
    )


def newton_sqrt(a):
    def body(c):
        x, _ = c
        return 0.5 * (x + a / x), x

    return lax.while_loop(lambda c: fnp.abs(c[0] - c[1]) > 1e-13 * c[0], body, (a, 2.0 * a + 1.0))[0]


def test_newton_sqrt_gradient_until_converged(mode):
    f, df = under(mode, newton_sqrt), under(mode, fnad.grad(newton_sqrt))
    for a in (0.01, 2.0, 1e6):
        np.testing.assert_allclose(f(a), np.sqrt(a), rtol=1e-14)
        np.testing.assert_allclose(df(a), 1 / (2 * np.sqrt(a)), rtol=1e-12)
    a = np.array([1e-4, 0.5, 3.0, 1e8])  # different trip counts per lane
    np.testing.assert_allclose(under(mode, fnad.vmap(fnad.grad(newton_sqrt)))(a), 1 / (2 * np.sqrt(a)), rtol=1e-12)
    np.testing.assert_allclose(
        fnad.grad(lambda a: fnad.vmap(newton_sqrt)(a).sum())(a), 1 / (2 * np.sqrt(a)), rtol=1e-12
    )
    np.testing.assert_allclose(fnad.jacfwd(newton_sqrt)(2.0), 1 / (2 * np.sqrt(2.0)), rtol=1e-12)
    # forward mode under vmap: the tangent loop (while_lin) batched with per-lane trip counts
    tangents = fnad.vmap(lambda a: fnad.jvp(newton_sqrt, (a,), (1.0,))[1])(a)
    np.testing.assert_allclose(tangents, 1 / (2 * np.sqrt(a)), rtol=1e-12)
    np.testing.assert_allclose(fnad.grad(fnad.grad(newton_sqrt))(2.0), -0.25 * 2.0**-1.5, rtol=1e-9)


def test_while_checks_carry_and_predicate():
    with pytest.raises(TypeError, match=r"init_val has f64\[2\] at leaf \[1\]"):
        lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1].sum()), (0, np.ones(2)))
    with pytest.raises(TypeError, match="boolean scalar"):
        lax.while_loop(lambda c: c, lambda c: c + 1.0, np.ones(2))
    with pytest.raises(ValueError, match="checkpoints"):
        lax.while_loop(lambda c: c < 1, lambda c: c + 1, 0, checkpoints=0)
    # a Python-scalar initial carry takes the body's dtype (weak type)
    out = lax.while_loop(lambda c: c < 3, lambda c: c + np.float32(1), 0.0)
    assert out.dtype == np.float32 and out == 3


def sin_loop(n, checkpoints, on_trace=lambda: None):
    """n steps of x = sin(x) * a + x through while_loop, summed; `on_trace()` runs when the body is
    traced."""

    def f(x, a):
        def body(c):
            on_trace()
            return c[0] + 1, fnp.sin(c[1]) * a + c[1]

        return lax.while_loop(lambda c: c[0] < n, body, (0, x), checkpoints=checkpoints)[1].sum()

    return f


def sin_loop_py(x, a, n):
    for _ in range(n):
        x = np.sin(x) * a + x
    return x.sum()


def unrolled_sin_loop(n):
    """`sin_loop` as a Python loop of fnad operations (reverse mode stores every step)."""

    def f(x, a):
        for _ in range(n):
            x = fnp.sin(x) * a + x
        return x.sum()

    return f


@pytest.mark.parametrize("checkpoints", [1, 2, 4, 50])
def test_checkpointed_reverse_mode_any_slot_count(checkpoints, mode):
    f = sin_loop(13, checkpoints)
    x, a = np.array([0.2, -0.7]), 0.5
    g, ref = under(mode, fnad.grad(f, (0, 1)))(x, a), fnad.grad(unrolled_sin_loop(13), (0, 1))(x, a)
    np.testing.assert_allclose(g[0], ref[0], rtol=1e-12)
    np.testing.assert_allclose(g[1], ref[1], rtol=1e-12)
    np.testing.assert_allclose(g[0], fd_grad(lambda x: f(x, a), x), rtol=1e-5)


def fewest_recomputations(n, c):
    """Griewank's minimum number of recomputed steps to reverse n steps keeping c carries (one of them
    the initial one): t n - C(c + t, t - 1) for the least t with C(c + t, t) >= n."""
    t = next(t for t in range(n + 1) if math.comb(c + t, t) >= n)
    return t * n - math.comb(c + t, t - 1) if t else 0


def test_revolve_schedule_reverses_every_step_with_the_fewest_recomputations():
    """The schedule (issue 11 item 19: it counted one slot too few, so 2 slots recomputed as much as 1)
    against a brute-force optimum: cost[c][l] = min over the first stride m of m + cost[c - 1][l - m] +
    cost[c][m]. Every step is reversed once, last first, from the right carry."""
    top_n, top_c = 60, 5
    cost = [None, [l * (l - 1) // 2 for l in range(top_n + 1)]]  # one slot: every step from the start
    for c in range(2, top_c + 1):
        row = [0, 0]
        for l in range(2, top_n + 1):
            row.append(min(m + cost[c - 1][l - m] + row[m] for m in range(1, l)))
        cost.append(row)
    for c in range(1, top_c + 1):
        for n in range(top_n + 1):
            runs, reversed_steps = np.zeros(n, int), []

            def advance(x, k):  # the carry is the step number
                runs[x : x + k] += 1
                return x + k

            peak = revolve_schedule(n, c, 0, advance, reversed_steps.append)
            assert reversed_steps == list(range(n - 1, -1, -1))
            assert runs.sum() == cost[c][n] == fewest_recomputations(n, c) == revolve_cost(n, c)[0], (n, c)
            t = next(t for t in range(n + 1) if math.comb(c + t, t) >= n)
            assert runs.max(initial=0) <= t and peak <= c
    for n in (1000, 100_000):  # more slots never cost more recomputation
        costs = [revolve_cost(n, c)[0] for c in (1, 2, 3, 5, 10, 20, 50)]
        assert costs == [fewest_recomputations(n, c) for c in (1, 2, 3, 5, 10, 20, 50)]
        assert costs == sorted(costs, reverse=True) and costs[1] < costs[0] // 10
    # the compiled sweep's stride (a while loop in IR, here run eagerly) is the Python one
    for snaps in range(2, 6):
        for length in range(2, 40, 3):
            assert int(_binomial_advance(np.int64(snaps), np.int64(length))) == revolve_stride(snaps, length)


def _revolve_as_compiled(*args, **params):
    """revolve evaluated through the while loop `jit` compiles it to (its decomposition)."""
    return eval_closed(revolve_p.decompose(*map(get_aval, args), **params), *args)


@pytest.mark.parametrize("sweep", ["python", "while_loop"])
@pytest.mark.parametrize("checkpoints", [1, 2, 3, 7, 100])
def test_while_grad_runs_the_body_as_often_as_the_binomial_schedule(checkpoints, sweep, monkeypatch):
    """Issue 11 item 19: eagerly, checkpoints=2 took 3x the time of checkpoints=1 (it recomputed 780
    steps of 40, as many as checkpoints=1; the schedule allows 200). Counts evaluations of the body's sin
    (the primal pass, the sweep's recomputation, and one per backward step for the cotangent of `a`,
    ct * sin(x)), eager (the schedule run in Python) and through the while loop that jit compiles, and
    traces of the body."""
    n, x, a = 40, np.array([0.2, -0.7]), 0.1
    if sweep == "while_loop":
        monkeypatch.setattr(revolve_p, "impl", _revolve_as_compiled)
    sins, traces, real_sin = [0], [], sin_p.impl

    def counting_sin(*args, **params):
        sins[0] += 1
        return real_sin(*args, **params)

    monkeypatch.setattr(sin_p, "impl", counting_sin)
    f = sin_loop(n, checkpoints, lambda: traces.append(1))
    g = fnad.grad(f, (0, 1))(x, a)
    monkeypatch.setattr(sin_p, "impl", real_sin)
    assert len(traces) == 1
    assert sins[0] == n + fewest_recomputations(n, checkpoints) + n
    ref = fnad.grad(unrolled_sin_loop(n), (0, 1))(x, a)
    np.testing.assert_allclose(g[0], ref[0], rtol=1e-12)
    np.testing.assert_allclose(g[1], ref[1], rtol=1e-12)
    np.testing.assert_allclose(g[0], fd_grad(lambda x: sin_loop_py(x, a, n), x), rtol=1e-6)
    np.testing.assert_allclose(g[1], fd_grad(lambda a: sin_loop_py(x, a, n), a), rtol=1e-6)


def test_while_reverse_mode_memory_is_bounded():
    """Reverse mode through a 400-step loop over a 100,000-element carry (800 kB) with 6 checkpoints:
    storing every carry would take 320 MB."""
    n, size = 400, 100_000
    x0 = np.linspace(0.0, 1.0, size)

    def loss(x):
        out = lax.while_loop(
            lambda c: c[0] < n, lambda c: (c[0] + 1, c[1] * 0.999 + 1e-4 * fnp.sin(c[1])), (0, x), checkpoints=6
        )[1]
        return out.sum()

    tracemalloc.start()
    g = fnad.grad(loss)(x0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"peak {peak / 1e6:.1f} MB = {peak / (size * 8):.1f} carries")
    assert peak < 25 * size * 8, f"peak {peak / 1e6:.1f} MB"
    ref, x = np.ones(size), x0.copy()
    for _ in range(n):  # elementwise map: the derivative is a product along the trajectory
        ref *= 0.999 + 1e-4 * np.cos(x)
        x = x * 0.999 + 1e-4 * np.sin(x)
    np.testing.assert_allclose(g, ref, rtol=1e-12)


# ----------------------------------------------------------------------------------------------
# fori_loop


@FEW
@given(st.integers(-2, 8), st.integers(0, 3))
def test_fori_static_and_traced_bounds(n, lo):
    body = lambda i, x: x * 0.8 + fnp.sin(x * i)

    def py(x):
        for i in range(lo, lo + n):
            x = x * 0.8 + fnp.sin(x * i)
        return x

    x = np.array([0.3, -0.4])
    static = lambda x: lax.fori_loop(lo, lo + n, body, x)
    traced = lambda x, hi: lax.fori_loop(lo, hi, body, x)
    np.testing.assert_allclose(static(x), py(x))
    np.testing.assert_allclose(traced(x, lo + n), py(x))
    np.testing.assert_allclose(fnad.jacrev(static)(x), fnad.jacfwd(py)(x), atol=1e-12)
    np.testing.assert_allclose(fnad.jacrev(traced)(x, lo + n), fnad.jacfwd(py)(x), atol=1e-12)
    his = np.array([lo, lo + n, lo + 2])
    out = fnad.vmap(traced, (None, 0))(x, his)
    np.testing.assert_allclose(out, np.stack([lax.fori_loop(lo, int(h), body, x) for h in his]))


def test_fori_uses_scan_for_static_bounds_and_while_for_traced():
    body = lambda i, x: x + i
    assert "scan" in str(fnad.make_jaxpr(lambda x: lax.fori_loop(0, 3, body, x))(1.0))
    assert "while" in str(fnad.make_jaxpr(lambda x, n: lax.fori_loop(0, n, body, x))(1.0, 3))


def pendulum(damping, steps=1000, dt=0.01):
    def f(s):
        theta, omega = s[0], s[1]
        return fnp.stack([omega, -damping * omega - 9.81 * fnp.sin(theta)])

    def rk4(i, s):
        k1 = f(s)
        k2 = f(s + 0.5 * dt * k1)
        k3 = f(s + 0.5 * dt * k2)
        k4 = f(s + dt * k3)
        return s + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)

    return lax.fori_loop(0, steps, rk4, fnp.array([1.0, 0.0]))[0]


def test_rk4_pendulum_gradient_wrt_damping(mode):
    g = under(mode, fnad.grad(pendulum))(0.3)
    eps = 1e-6
    fd = (pendulum(0.3 + eps) - pendulum(0.3 - eps)) / (2 * eps)
    np.testing.assert_allclose(g, fd, rtol=1e-6)
    np.testing.assert_allclose(under(mode, pendulum)(0.3), pendulum(0.3), rtol=1e-12)
    # the same through the checkpointed while loop (traced bound)
    g_while = under(mode, fnad.grad(lambda d, n: pendulum(d, n)))(0.3, 1000)
    np.testing.assert_allclose(g_while, g, rtol=1e-10)


# ----------------------------------------------------------------------------------------------
# scan


def scan_fn(c0, xs, w, reverse):
    def step(c, x):
        h = fnp.tanh(c["h"] * w + x["u"]) + x["v"][0]
        return {"h": h, "n": c["n"] + 1}, (h.sum(), c["h"] * 2.0)

    return lax.scan(step, {"h": c0, "n": 0}, xs, reverse=reverse)


def scan_py(c0, xs, w, reverse):
    h, ys0, ys1 = c0, [], []
    order = range(len(xs["u"]))
    for i in reversed(order) if reverse else order:
        ys1.append(h * 2.0)
        h = np.tanh(h * w + xs["u"][i]) + xs["v"][i][0]
        ys0.append(h.sum())
    if reverse:
        ys0.reverse()
        ys1.reverse()
    return h, np.array(ys0), np.array(ys1).reshape((len(order),) + np.shape(c0))


@FEW
@given(st.integers(0, 5), st.integers(1, 3), st.booleans(), st.integers(0, 1000))
def test_scan_against_python_loop(length, size, reverse, seed):
    rng = np.random.default_rng(seed)
    c0, w = rng.normal(size=size), rng.normal(size=size)
    xs = {"u": rng.normal(size=(length, size)), "v": rng.normal(size=(length, 2))}
    (c, (y0, y1)), ref = scan_fn(c0, xs, w, reverse), scan_py(c0, xs, w, reverse)
    np.testing.assert_allclose(c["h"], ref[0])
    assert c["n"] == length
    np.testing.assert_allclose(y0, ref[1])
    np.testing.assert_allclose(y1, ref[2])
    loss = lambda c0, u, w: (lambda out: out[0]["h"].sum() + (out[1][0] ** 2).sum() + out[1][1].sum())(
        scan_fn(c0, {"u": u, "v": xs["v"]}, w, reverse)
    )
    check_grads(loss, (c0, xs["u"], w), order=2)
    batch = np.stack([c0, c0 * 2, -c0])
    out = fnad.vmap(lambda c: scan_fn(c, xs, w, reverse))(batch)
    np.testing.assert_allclose(out[0]["h"], np.stack([scan_py(b, xs, w, reverse)[0] for b in batch]))
    us = np.stack([xs["u"], xs["u"] * 0.5], axis=1)  # batch along axis 1 of the scanned input
    out = fnad.vmap(lambda u: scan_fn(c0, {"u": u, "v": xs["v"]}, w, reverse)[1][0], 1, 1)(us)
    assert out.shape == (length, 2)
    for j in range(2):
        np.testing.assert_allclose(out[:, j], scan_py(c0, {"u": us[:, j], "v": xs["v"]}, w, reverse)[1])


def test_scan_requires_consistent_lengths_and_carry():
    with pytest.raises(ValueError, match="inconsistent lengths"):
        lax.scan(lambda c, x: (c, x), 0.0, (np.ones(3), np.ones(4)))
    with pytest.raises(TypeError, match=r"init has f64\[\] at leaf \(the whole value\)"):
        lax.scan(lambda c, x: (fnp.stack([c, c]), x), 0.0, np.ones(3))
    np.testing.assert_allclose(lax.map(lambda x: x * 2, np.arange(3.0)), [0, 2, 4])
    assert lax.scan(lambda c, x: (c + 1, None), 0, None, length=4)[0] == 4


def rnn_loss(params, xs):
    W, U = params

    def step(h, x):
        h = fnp.tanh(W @ h + U @ x)
        return h, (h**2).sum()

    h, ys = lax.scan(step, fnp.zeros(W.shape[0]), xs)
    return ys.sum() + h.sum()


def rnn_loss_unrolled(params, xs):
    W, U = params
    h, total = fnp.zeros(W.shape[0]), 0.0
    for x in xs:
        h = fnp.tanh(W @ h + U @ x)
        total = total + (h**2).sum()
    return total + h.sum()


def test_rnn_gradient_and_hessian_match_unrolled_loop(mode):
    rng = np.random.default_rng(1)
    params, xs = (rng.normal(size=(4, 4)) * 0.5, rng.normal(size=(4, 3))), rng.normal(size=(7, 3))
    g, g_ref = under(mode, fnad.grad(rnn_loss))(params, xs), fnad.grad(rnn_loss_unrolled)(params, xs)
    for a, b in zip(g, g_ref):
        np.testing.assert_allclose(a, b, atol=1e-13)
    np.testing.assert_allclose(under(mode, rnn_loss)(params, xs), rnn_loss_unrolled(params, xs), rtol=1e-13)
    W_loss = lambda W: rnn_loss((W, params[1]), xs)
    W_ref = lambda W: rnn_loss_unrolled((W, params[1]), xs)
    np.testing.assert_allclose(fnad.hessian(W_loss)(params[0]), fnad.hessian(W_ref)(params[0]), atol=1e-12)
    np.testing.assert_allclose(fnad.jacrev(fnad.grad(W_loss))(params[0]), fnad.hessian(W_ref)(params[0]), atol=1e-12)


def test_scan_reverse_mode_stores_residuals_and_hoists_invariants():
    W = np.eye(3) * 0.5
    jaxpr = fnad.make_jaxpr(
        fnad.grad(lambda h: lax.scan(lambda h, x: (fnp.tanh(W @ h) + x, None), h, np.ones((6, 3)))[0].sum())
    )(np.ones(3))
    scans = [e for e in jaxpr.eqns if e.primitive.name == "scan"]
    assert len(scans) == 2 and scans[0].params["reverse"] is False and scans[1].params["reverse"] is True
    # the backward scan reads W as a constant, not as a stacked (6, 3, 3) residual
    assert all(v.aval.shape != (6, 3, 3) for v in scans[0].outvars)


# ----------------------------------------------------------------------------------------------
# Python control flow, nesting


def test_python_control_flow_concrete_and_traced():
    def f(x):
        if x > 0:
            return x * x
        while x < -1:
            x = x / 2
        return fnp.sin(x)

    assert fnad.grad(f)(3.0) == 6.0
    np.testing.assert_allclose(fnad.grad(f)(-5.0), np.cos(-5 / 8) / 8)
    with pytest.raises(fnad.ConcretizationError, match="lax.cond"):
        fnad.vmap(f)(np.array([1.0, -1.0]))
    with pytest.raises(fnad.ConcretizationError, match="while_loop"):
        fnad.make_jaxpr(f)(1.0)
    with pytest.raises(fnad.ConcretizationError):
        fnad.jit(f)(1.0)


def nested(xs, a):
    """A scan whose body has a cond with a while loop in one branch and a fori_loop in the other."""

    def step(c, x):
        def halve_until_small(v):
            return lax.while_loop(lambda v: fnp.abs(v) > a, lambda v: v * 0.5, v)

        out = lax.cond(
            x > 0, lambda v: halve_until_small(v * x), lambda v: lax.fori_loop(0, 3, lambda i, w: w * fnp.cos(w), v), c
        )
        return out + 0.1 * x, out

    return lax.scan(step, 1.0, xs)


def nested_py(xs, a):
    c, ys = 1.0, []
    for x in xs:
        if x > 0:
            v = c * x
            while abs(v) > a:
                v = v * 0.5
        else:
            v = c
            for _ in range(3):
                v = v * np.cos(v)
        ys.append(v)
        c = v + 0.1 * x
    return c, np.array(ys)


def test_loops_inside_cond_inside_scan():
    xs = np.array([3.0, -1.0, 5.0, 0.7, -2.0])
    out, ref = nested(xs, 0.8), nested_py(xs, 0.8)
    np.testing.assert_allclose(out[0], ref[0])
    np.testing.assert_allclose(out[1], ref[1])
    loss = lambda xs, a: nested(xs, a)[0] + nested(xs, a)[1].sum()
    loss_py = lambda xs: nested_py(xs, 0.8)[0] + nested_py(xs, 0.8)[1].sum()
    np.testing.assert_allclose(fnad.grad(loss)(xs, 0.8), fd_grad(loss_py, xs), rtol=1e-6, atol=1e-9)
    batch = np.stack([xs, -xs, xs * 0.3])
    out = fnad.vmap(lambda xs: nested(xs, 0.8))(batch)
    np.testing.assert_allclose(out[1], np.stack([nested_py(b, 0.8)[1] for b in batch]))


def test_second_derivatives_through_fori_and_scan():
    f = lambda x: lax.fori_loop(0, 5, lambda i, v: fnp.sin(v) * 1.3 + v * 0.1, x)

    def f_py(x):
        for _ in range(5):
            x = fnp.sin(x) * 1.3 + x * 0.1
        return x

    np.testing.assert_allclose(fnad.grad(fnad.grad(f))(0.4), fnad.grad(fnad.grad(f_py))(0.4), rtol=1e-12)
    traced = lambda x, n: lax.fori_loop(0, n, lambda i, v: fnp.sin(v) * 1.3 + v * 0.1, x)
    np.testing.assert_allclose(fnad.grad(fnad.grad(traced))(0.4, 5), fnad.grad(fnad.grad(f_py))(0.4), rtol=1e-12)
    np.testing.assert_allclose(fnad.jacfwd(fnad.grad(traced))(0.4, 5), fnad.grad(fnad.grad(f_py))(0.4), rtol=1e-12)


def test_derived_irs_do_not_keep_their_source_ir_alive():
    # IRs derived from an IR (a loop body's jvp, linearization, batching) are cached on the source IR
    # itself, so they go when it goes; a global cache keyed by IR identity used to keep both alive.
    import gc
    import weakref

    from fnad.transforms.jaxpr_rules import batch_jaxpr, jvp_jaxpr, split_linear

    closed = fnad.make_jaxpr(lambda x: fnp.sin(x) * np.linspace(1.0, 2.0, 1000))(np.ones(1000))
    jvp_jaxpr(closed, (True,))
    split_linear(closed, (True,), (True,))
    batch_jaxpr(closed, (True,), 2)
    source = weakref.ref(closed)
    del closed
    gc.collect()
    assert source() is None


def test_a_derived_ir_is_found_again_for_the_same_source():
    from fnad.transforms.jaxpr_rules import batch_jaxpr, jvp_jaxpr

    closed = fnad.make_jaxpr(lambda x: fnp.sin(x) * 2.0)(1.0)
    assert jvp_jaxpr(closed, (True,))[0] is jvp_jaxpr(closed, (True,))[0]
    assert jvp_jaxpr(closed, (True,))[0] is not jvp_jaxpr(closed, (True,), True)[0]
    batched, out_b = batch_jaxpr(closed, (True,), 3)
    assert out_b == (True,) and batched is batch_jaxpr(closed, (True,), 3)[0]
    np.testing.assert_allclose(eval_closed(batched, np.arange(3.0))[0], np.sin(np.arange(3.0)) * 2.0)
