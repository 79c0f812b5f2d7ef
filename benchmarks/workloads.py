"""The standard workloads. Each `setup_*` returns a Workload whose contenders are zero-argument
callables, already compiled and warmed up: fnad always, NumPy always, JAX and PyTorch when importable."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field

import numpy as np

import fnad
import fnad.numpy as fnp
from benchmarks.harness import byte_compile_fnad

HAVE_JAX = importlib.util.find_spec("jax") is not None
HAVE_TORCH = importlib.util.find_spec("torch") is not None


@dataclass
class Workload:
    name: str
    target: str  # the goal, e.g. "<= 0.5x NumPy"
    contenders: dict = field(default_factory=dict)
    check: tuple = ()  # (fnad_result, reference_result) compared before timing
    note: str = ""


def _jax():
    import jax

    jax.config.update("jax_enable_x64", False)
    return jax, jax.numpy


def _check(a, b, rtol=2e-4, atol=1e-5):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


# ----------------------------------------------------------------------------------------------


def fused(n):
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 3, n).astype(np.float32)
    f = lambda x: fnp.tanh(x) * fnp.exp(-x * x) + 0.5 * fnp.sin(x)
    jf = fnad.jit(f)
    ref = lambda: np.tanh(x) * np.exp(-x * x) + np.float32(0.5) * np.sin(x)
    _check(jf(x), ref())
    w = Workload(
        f"fused tanh*exp+sin, 1e{int(np.log10(n))} f32",
        "<= 0.5x NumPy" if n <= 10**6 else "<= 0.25x JAX",
        {"fnad": lambda: jf(x), "numpy": ref},
    )
    if HAVE_JAX:
        jax, jnp = _jax()
        jjf = jax.jit(lambda x: jnp.tanh(x) * jnp.exp(-x * x) + 0.5 * jnp.sin(x))
        xj = jnp.asarray(x)
        jjf(xj).block_until_ready()
        w.contenders["jax"] = lambda: jjf(xj).block_until_ready()
    if HAVE_TORCH:
        import torch

        xt = torch.from_numpy(x)
        w.contenders["torch"] = lambda: torch.tanh(xt) * torch.exp(-xt * xt) + 0.5 * torch.sin(xt)
    return w


def reductions(n=10**7):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(n).astype(np.float32)
    out = []
    jsum = fnad.jit(lambda x: fnp.sum(x))
    _check(jsum(x), np.sum(x, dtype=np.float64), rtol=1e-4, atol=1e-2)
    w = Workload("sum of 1e7 f32", "<= 0.5x JAX", {"fnad": lambda: jsum(x), "numpy": lambda: np.sum(x)})

    def lse(x):
        m = fnp.max(x)
        return m + fnp.log(fnp.sum(fnp.exp(x - m)))

    jlse = fnad.jit(lse)
    np_lse = lambda: (lambda m: m + np.log(np.sum(np.exp(x - m))))(np.max(x))
    _check(jlse(x), np_lse(), rtol=1e-4)
    w2 = Workload("logsumexp of 1e7 f32", "<= 0.5x JAX", {"fnad": lambda: jlse(x), "numpy": np_lse})
    if HAVE_JAX:
        jax, jnp = _jax()
        xj = jnp.asarray(x)
        js = jax.jit(jnp.sum)
        jl = jax.jit(jax.nn.logsumexp)
        js(xj).block_until_ready(), jl(xj).block_until_ready()
        w.contenders["jax"] = lambda: js(xj).block_until_ready()
        w2.contenders["jax"] = lambda: jl(xj).block_until_ready()
    if HAVE_TORCH:
        import torch

        xt = torch.from_numpy(x)
        w.contenders["torch"] = lambda: torch.sum(xt)
        w2.contenders["torch"] = lambda: torch.logsumexp(xt, 0)
    out += [w, w2]
    return out


def matmul(n=1024):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    jm = fnad.jit(lambda a, b: a @ b)
    _check(jm(a, b), a @ b, rtol=1e-3, atol=1e-2)
    w = Workload(f"matmul {n}x{n} f32", "<= 1.0x NumPy", {"fnad": lambda: jm(a, b), "numpy": lambda: a @ b})
    if HAVE_JAX:
        jax, jnp = _jax()
        aj, bj = jnp.asarray(a), jnp.asarray(b)
        jjm = jax.jit(jnp.matmul)
        jjm(aj, bj).block_until_ready()
        w.contenders["jax"] = lambda: jjm(aj, bj).block_until_ready()
    if HAVE_TORCH:
        import torch

        at, bt = torch.from_numpy(a), torch.from_numpy(b)
        w.contenders["torch"] = lambda: at @ bt
    return w


def dispatch():
    x, y = np.float32(2.0), np.float32(3.0)
    xa, ya = np.asarray(x), np.asarray(y)
    jf = fnad.jit(lambda x, y: x * y + 1)
    _check(jf(xa, ya), 7.0)
    w = Workload("jit dispatch x*y+1, 0-d", "<= 0.25x JAX", {"fnad": lambda: jf(xa, ya), "numpy": lambda: xa * ya + 1})
    if HAVE_JAX:
        jax, jnp = _jax()
        jjf = jax.jit(lambda x, y: x * y + 1)
        xj, yj = jnp.asarray(xa), jnp.asarray(ya)
        jjf(xj, yj).block_until_ready()
        w.contenders["jax"] = lambda: jjf(xj, yj)
    if HAVE_TORCH:
        import torch

        xt, yt = torch.tensor(2.0), torch.tensor(3.0)
        w.contenders["torch"] = lambda: xt * yt + 1
    return w


def scalar_dispatch():
    """What users pass most: Python and NumPy scalars (learning rates, time steps), and the 0-d
    fnad.Arrays jit returns, each through `x*y+1` and through `jit(grad(f))` of a scalar function."""
    f = lambda x, y: x * y + 1
    g = lambda x: x * x * x + 2 * x
    jf, jg = fnad.jit(f), fnad.jit(fnad.grad(g))
    kinds = {"Python float": (1.5, 2.0), "NumPy float64": (np.float64(1.5), np.float64(2.0))}
    kinds["fnad.Array 0-d"] = tuple(jf(x, 1.0) - 1 for x in (1.5, 2.0))  # arrays fnad returns
    if HAVE_JAX:
        jax, jnp = _jax()
        jjf, jjg = jax.jit(f), jax.jit(jax.grad(g))
    workloads = []
    for kind, (x, y) in kinds.items():
        _check(jf(x, y), 4.0)
        _check(jg(x), 3 * 1.5**2 + 2)
        for name, fnad_call, numpy_call in (
            ("x*y+1", lambda x=x, y=y: jf(x, y), lambda x=x, y=y: np.multiply(x, y) + 1),
            ("grad(x**3+2x)", lambda x=x: jg(x), lambda x=x: np.multiply(3 * x, x) + 2),
        ):
            w = Workload(f"jit dispatch {name}, {kind}", "<= 0.3 us", {"fnad": fnad_call, "numpy": numpy_call})
            if HAVE_JAX:
                xj, yj = (jnp.asarray(x), jnp.asarray(y)) if kind == "fnad.Array 0-d" else (x, y)
                call = (lambda: jjf(xj, yj)) if name == "x*y+1" else (lambda: jjg(xj))
                call()
                w.contenders["jax"] = call
            workloads.append(w)
    return workloads


def mlp_step():
    """The train step of benchmarks/cold_start.py (same model, data and loss), timed warm."""
    from .cold_start import LR as lr
    from .cold_start import data, make_step

    params, x, y = data()
    step = make_step("fnad")

    def numpy_step(params, x, y):
        hs, h = [x], x
        pres = []
        for w, b in params[:-1]:
            pre = h @ w + b
            pres.append(pre)
            h = np.maximum(pre, 0)
            hs.append(h)
        w, b = params[-1]
        logits = h @ w + b
        m = logits.max(axis=1, keepdims=True)
        e = np.exp(logits - m)
        s = e.sum(axis=1, keepdims=True)
        l = np.mean(np.log(s[:, 0]) + m[:, 0] - np.sum(logits * y, axis=1))
        d = (e / s - y) / np.float32(len(x))
        new = [None] * len(params)
        for i in range(len(params) - 1, -1, -1):
            w, b = params[i]
            gw, gb = hs[i].T @ d, d.sum(0)
            if i:
                d = (d @ w.T) * (pres[i - 1] > 0)
            new[i] = (w - lr * gw, b - lr * gb)
        return l, new

    l1, p1 = step(params, x, y)
    l2, p2 = numpy_step(params, x, y)
    _check(l1, l2, rtol=1e-4)
    _check(p1[0][0], p2[0][0], rtol=1e-3, atol=1e-5)

    # Donated steps (JAX's contender, and fnad's second row) train on: each call takes the parameters
    # the previous one returned, whose buffers it may reuse for its results.
    def training(step, params, *batch):
        state = [params]

        def train():
            value, state[0] = step(state[0], *batch)
            return value

        return train

    w = Workload(
        "MLP 784-512-512-10 train step, batch 128 f32",
        "<= 0.75x JAX (JAX with donate_argnums)",
        {
            "fnad": lambda: step(params, x, y),
            "numpy": lambda: numpy_step(params, x, y),
            "fnad, donate_argnums": training(
                make_step("fnad", donate=True), [(w.copy(), b.copy()) for w, b in params], x, y
            ),
        },
    )
    if HAVE_JAX:
        jax, jnp = _jax()
        jstep = make_step("jax", donate=True)
        jp = jax.tree_util.tree_map(jnp.array, params)
        xj, yj = jnp.asarray(x), jnp.asarray(y)
        train = training(jstep, jp, xj, yj)
        jax.block_until_ready(train())
        w.contenders["jax"] = lambda: jax.block_until_ready(train())
    if HAVE_TORCH:
        import torch

        tp = [
            (torch.from_numpy(a.copy()).requires_grad_(), torch.from_numpy(b.copy()).requires_grad_())
            for a, b in params
        ]
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)

        def tstep():
            h = xt
            for wgt, b in tp[:-1]:
                h = torch.relu(h @ wgt + b)
            wgt, b = tp[-1]
            logits = h @ wgt + b
            l = torch.mean(torch.logsumexp(logits, 1) - torch.sum(logits * yt, 1))
            grads = torch.autograd.grad(l, [t for pair in tp for t in pair])
            with torch.no_grad():
                return [t - lr * g for t, g in zip([t for pair in tp for t in pair], grads)]

        w.contenders["torch"] = tstep
    return w


def per_example_grads(n=1024, d=100):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = (rng.random(n) > 0.5).astype(np.float32)
    w = rng.standard_normal(d).astype(np.float32) * np.float32(0.1)

    def loss(w, x, y):
        z = fnp.dot(x, w)
        return fnp.logaddexp(0.0, z) - y * z

    jg = fnad.jit(fnad.vmap(fnad.grad(loss), in_axes=(None, 0, 0)))

    def closed_form():
        z = X @ w
        return (1 / (1 + np.exp(-z)) - y)[:, None] * X

    _check(jg(w, X, y), closed_form(), rtol=1e-4, atol=1e-5)
    wl = Workload(
        "per-example grads vmap(grad), logistic 1024x100",
        "<= 0.4x JAX",
        {"fnad": lambda: jg(w, X, y), "numpy": closed_form},
        note="NumPy: closed form",
    )
    if HAVE_JAX:
        jax, jnp = _jax()
        jl = lambda w, x, y: jnp.logaddexp(0.0, x @ w) - y * (x @ w)
        jjg = jax.jit(jax.vmap(jax.grad(jl), in_axes=(None, 0, 0)))
        args = tuple(map(jnp.asarray, (w, X, y)))
        jjg(*args).block_until_ready()
        wl.contenders["jax"] = lambda: jjg(*args).block_until_ready()
    return wl


def hvp(n):
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, n)
    v = rng.standard_normal(n)

    def rosen(x):
        return fnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

    jh = fnad.jit(lambda x, v: fnad.jvp(fnad.grad(rosen), (x,), (v,))[1])

    def closed_form():
        # Hessian of Rosenbrock is tridiagonal: H v computed directly.
        hv = np.zeros(n)
        a, b = x[:-1], x[1:]
        diag = np.zeros(n)
        diag[:-1] += 1200 * a**2 - 400 * b + 2
        diag[1:] += 200
        off = -400 * a
        hv += diag * v
        hv[:-1] += off * v[1:]
        hv[1:] += off * v[:-1]
        return hv

    _check(jh(x, v), closed_form(), rtol=1e-8, atol=1e-8)
    w = Workload(
        f"Hessian-vector product Rosenbrock n={n}",
        "<= 0.5x JAX" if n <= 1000 else "<= 1.0x JAX",
        {"fnad": lambda: jh(x, v), "numpy": closed_form},
        note="NumPy: closed form, float64",
    )
    if HAVE_JAX:
        jax, jnp = _jax()
        jax.config.update("jax_enable_x64", True)
        jr = lambda x: jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
        jjh = jax.jit(lambda x, v: jax.jvp(jax.grad(jr), (x,), (v,))[1])
        xj, vj = jnp.asarray(x), jnp.asarray(v)
        jjh(xj, vj).block_until_ready()
        w.contenders["jax"] = lambda: jjh(xj, vj).block_until_ready()
    return w


def _pendulum_rk4_step(dt):
    """step((theta, omega), damping, mod): one RK4 step of a damped pendulum, in module `mod`'s math."""

    def deriv(theta, omega, damping, mod):
        return omega, -9.81 * mod.sin(theta) - damping * omega

    def step(state, damping, mod):
        th, om = state
        k1 = deriv(th, om, damping, mod)
        k2 = deriv(th + 0.5 * dt * k1[0], om + 0.5 * dt * k1[1], damping, mod)
        k3 = deriv(th + 0.5 * dt * k2[0], om + 0.5 * dt * k2[1], damping, mod)
        k4 = deriv(th + dt * k3[0], om + dt * k3[1], damping, mod)
        return (
            th + dt / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0]),
            om + dt / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1]),
        )

    return step


def rk4_forward(steps=1000, dt=0.01, c=0.3):
    """`steps` RK4 steps of a damped pendulum under fori_loop: a loop whose state is two floats, so
    its time is the generated loop's own overhead per iteration (issue 18 item 4)."""
    import math

    from fnad import lax

    step = _pendulum_rk4_step(dt)
    f = fnad.jit(lambda th0, d: lax.fori_loop(0, steps, lambda i, s: step(s, d, fnp), (th0, 0.0 * th0)))
    th0, damping = np.float64(2.5), np.float64(c)

    def python_floats():
        state = (2.5, 0.0)
        for _ in range(steps):
            state = step(state, c, math)
        return state

    _check(np.asarray(f(th0, damping)), np.asarray(python_floats()), rtol=1e-12)
    w = Workload(
        f"{steps} RK4 steps of a pendulum (fori_loop, 2-float state)",
        "<= 0.8x JAX",
        {"fnad": lambda: f(th0, damping), "numpy": python_floats},
        note="NumPy: the same steps on Python floats",
    )
    if HAVE_JAX:
        jax, jnp = _jax()
        jax.config.update("jax_enable_x64", True)
        jf = jax.jit(lambda th0, d: jax.lax.fori_loop(0, steps, lambda i, s: step(s, d, jnp), (th0, 0.0 * th0)))
        jax.block_until_ready(jf(2.5, c))
        w.contenders["jax"] = lambda: jax.block_until_ready(jf(2.5, c))
    return w


def rk4_gradient(steps=1000, dt=0.01, c=0.3):
    """d theta(T) / d damping through `steps` RK4 steps of a damped pendulum (fori_loop)."""
    from fnad import lax

    step = _pendulum_rk4_step(dt)

    def final_angle(damping):
        return lax.fori_loop(0, steps, lambda i, s: step(s, damping, fnp), (2.5 + 0.0 * damping, 0.0 * damping))[0]

    g = fnad.jit(fnad.grad(final_angle))
    damping = np.float64(c)

    def numpy_forward_sensitivity():
        # RK4 on the state augmented with its derivative w.r.t. damping (scalar floats).
        import math

        def f(th, om, dth, dom):
            return om, -9.81 * math.sin(th) - c * om, dom, -9.81 * math.cos(th) * dth - om - c * dom

        y = (2.5, 0.0, 0.0, 0.0)
        for _ in range(steps):
            k1 = f(*y)
            k2 = f(*(a + 0.5 * dt * b for a, b in zip(y, k1)))
            k3 = f(*(a + 0.5 * dt * b for a, b in zip(y, k2)))
            k4 = f(*(a + dt * b for a, b in zip(y, k3)))
            y = tuple(a + dt / 6 * (p + 2 * q + 2 * r + t) for a, p, q, r, t in zip(y, k1, k2, k3, k4))
        return y[2]

    _check(g(damping), numpy_forward_sensitivity(), rtol=1e-8)
    w = Workload(
        f"grad through {steps} RK4 steps (fori_loop)",
        "<= 0.5x JAX",
        {"fnad": lambda: g(damping), "numpy": numpy_forward_sensitivity},
        note="NumPy: hand-written forward sensitivity in Python floats",
    )
    if HAVE_JAX:
        jax, jnp = _jax()
        jax.config.update("jax_enable_x64", True)
        jfa = lambda d: jax.lax.fori_loop(0, steps, lambda i, s: step(s, d, jnp), (2.5 + 0.0 * d, 0.0 * d))[0]
        jg = jax.jit(jax.grad(jfa))
        jg(c).block_until_ready()
        w.contenders["jax"] = lambda: jg(c).block_until_ready()
    return w


def newton_while(n=10**5, tol=1e-12):
    """grad of sum(sqrt(a)) where sqrt runs Newton's method in a while_loop until every lane converged."""
    from fnad import lax

    a = np.random.default_rng(6).uniform(0.5, 100.0, n)

    def newton_sqrt(a):
        def cond(x):
            return fnp.max(fnp.abs(x * x - a) / a) > tol

        def body(x):
            return 0.5 * (x + a / x)

        return lax.while_loop(cond, body, a)

    g = fnad.jit(fnad.grad(lambda a: fnp.sum(newton_sqrt(a))))

    def numpy_by_hand():
        xs = [a]
        x = a
        while np.max(np.abs(x * x - a) / a) > tol:
            x = 0.5 * (x + a / x)
            xs.append(x)
        # backward: x_{k+1} = (x_k + a/x_k)/2 ; d/dx_k = (1 - a/x_k^2)/2, d/da = 1/(2 x_k); x_0 = a
        gx, ga = np.ones_like(a), np.zeros_like(a)
        for xk in reversed(xs[:-1]):
            ga += gx / (2 * xk)
            gx = gx * 0.5 * (1 - a / (xk * xk))
        return ga + gx

    _check(g(a), 0.5 / np.sqrt(a), rtol=1e-9)
    _check(numpy_by_hand(), 0.5 / np.sqrt(a), rtol=1e-9)
    return Workload(
        "reverse mode through converging while_loop (Newton, 1e5 lanes)",
        "<= 1.0x NumPy by hand",
        {"fnad": lambda: g(a), "numpy": numpy_by_hand},
        note="JAX cannot differentiate this",
    )


def newton_jvp(n=10**5):
    """jvp of Newton's square root on float32 lanes, iterating until every lane has converged: the
    tangent rides along in the primal loop."""
    from fnad import lax

    a = np.random.default_rng(7).uniform(1.0, 100.0, n).astype(np.float32)
    t = np.ones_like(a)

    def newton_sqrt(xp, loop):
        return lambda a: loop(lambda x: xp.any(xp.abs(x * x - a) > 1e-6 * a), lambda x: 0.5 * (x + a / x), a)

    f = fnad.jit(lambda a, t: fnad.jvp(newton_sqrt(fnp, lax.while_loop), (a,), (t,)))
    _check(f(a, t)[1], 0.5 / np.sqrt(a), rtol=1e-5)
    w = Workload(
        "forward mode through converging while_loop (Newton, 1e5 f32)", "<= 0.7x JAX", {"fnad": lambda: f(a, t)}
    )
    if HAVE_JAX:
        jax, jnp = _jax()
        jf = jax.jit(lambda a, t: jax.jvp(newton_sqrt(jnp, jax.lax.while_loop), (a,), (t,)))
        jax.block_until_ready(jf(a, t))
        w.contenders["jax"] = lambda: jax.block_until_ready(jf(a, t))
    return w


def cold_start():
    """Fresh process to the first result of the MLP train step (benchmarks/cold_start.py): fnad with
    an empty disk cache, fnad with a warm one, and JAX."""
    import os
    import subprocess
    import sys
    import tempfile

    def run(framework, cache_dir=None):
        env = dict(os.environ)
        if cache_dir is not None:
            env["FNAD_CACHE_DIR"] = cache_dir
        subprocess.run(
            [sys.executable, "-m", "benchmarks.cold_start", framework],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
            cwd=root,
        )

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    byte_compile_fnad()
    warm = tempfile.mkdtemp(prefix="fnad-warm-")
    run("fnad", warm)
    w = Workload(
        "cold start: fresh process to first MLP train step",
        "<= 0.5x JAX (cold), <= 0.1x JAX (warm)",
        {
            "fnad": lambda: run("fnad", tempfile.mkdtemp(prefix="fnad-cold-")),
            "fnad, warm disk cache": lambda: run("fnad", warm),
        },
    )
    if HAVE_JAX:
        w.contenders["jax"] = lambda: run("jax")
    return w


def ir_sizes(max_n=6):
    counts = []
    g = fnp.tanh
    for _ in range(max_n):
        g = fnad.grad(g)
        counts.append(len(fnad.make_jaxpr(g)(0.3).eqns))
    return counts


ALL = {
    "fused": lambda: [fused(10**6), fused(10**7)],
    "reductions": reductions,
    "matmul": lambda: [matmul()],
    "dispatch": lambda: [dispatch(), *scalar_dispatch()],
    "mlp": lambda: [mlp_step()],
    "per_example": lambda: [per_example_grads()],
    "hvp": lambda: [hvp(1000), hvp(10**5)],
    "control_flow": lambda: [rk4_forward(), rk4_gradient(), newton_while(), newton_jvp()],
    "cold_start": lambda: [cold_start()],
    "conv": lambda: [_conv().conv_forward(), _conv().conv_backward(), _conv().cnn_train_step()],
    "fft": lambda: _fft().workloads(),
}


def _conv():
    from . import conv  # imports this module: loaded on first use

    return conv


def _fft():
    from . import fft  # imports this module: loaded on first use

    return fft
