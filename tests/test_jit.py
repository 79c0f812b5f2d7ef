"""fnad.jit as users see it: equal to eager, cached per signature, static arguments, weak types,
composition with every transform, composite primitives expanded for the compiler, inspection,
disable_jit, thread safety and memory stability of repeated calls."""

import os
import threading

import numpy as np
import pytest

import fnad
import fnad.numpy as fnp
from fnad import lax


def f(x, y):
    return fnp.sum(fnp.tanh(x) * fnp.exp(-y * y)) + 0.5 * fnp.sin(x)


X = np.linspace(-2, 2, 7)
Y = np.linspace(0.5, 1.5, 7)


class _no_jit:
    def __enter__(self):
        fnad.config.update("disable_jit", True)

    def __exit__(self, *exc):
        fnad.config.update("disable_jit", False)


def test_jit_equals_eager_with_pytrees_and_kwargs():
    def g(params, x, scale=1.0):
        return {"out": params["w"] * x + params["b"], "norm": scale * fnp.sum(x * x)}

    params = {"w": np.float32(2.0), "b": np.arange(3, dtype=np.float32)}
    x = np.ones(3, np.float32)
    got, want = fnad.jit(g)(params, x, scale=3.0), g(params, x, scale=3.0)
    assert set(got) == {"out", "norm"}
    np.testing.assert_allclose(got["out"], want["out"], rtol=1e-6)
    np.testing.assert_allclose(got["norm"], want["norm"], rtol=1e-6)
    assert got["out"].dtype == np.float32


def test_traces_once_per_signature():
    traces = []

    def g(x):
        traces.append(x.shape)
        return x * 2

    jg = fnad.jit(g)
    for _ in range(3):
        jg(np.ones(3))
    jg(np.ones(4))
    jg(np.ones(3))
    assert traces == [(3,), (4,)]


def test_static_argnums_and_argnames():
    def g(x, n, mode="sum"):
        y = x**n
        return fnp.sum(y) if mode == "sum" else fnp.max(y)

    jg = fnad.jit(g, static_argnums=1, static_argnames="mode")
    x = np.array([1.0, -2.0, 3.0])
    assert float(jg(x, 2)) == pytest.approx(14.0)
    assert float(jg(x, 3)) == pytest.approx(1 - 8 + 27)
    assert float(jg(x, 2, mode="max")) == pytest.approx(9.0)
    with pytest.raises(TypeError, match="hashable"):
        fnad.jit(g, static_argnums=1)(x, [2])


def test_python_scalars_are_weak():
    out = fnad.jit(lambda x, s: x * s + 1.0)(np.ones(3, np.float32), 2.0)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, 3.0)


@pytest.mark.parametrize(
    "name,transform",
    [
        ("grad(jit)", lambda: fnad.grad(fnad.jit(lambda x, y: fnp.sum(f(x, y))))),
        ("jit(grad)", lambda: fnad.jit(fnad.grad(lambda x, y: fnp.sum(f(x, y))))),
        ("vmap(jit)", lambda: fnad.vmap(fnad.jit(lambda x, y: fnp.sum(f(x, y))), in_axes=(0, None))),
        ("jit(vmap(grad))", lambda: fnad.jit(fnad.vmap(fnad.grad(lambda x, y: fnp.sum(f(x, y))), in_axes=(0, None)))),
        ("jit(jit)", lambda: fnad.jit(lambda x, y: fnad.jit(f)(x, y) * 2)),
        ("jacfwd(jit)", lambda: fnad.jacfwd(fnad.jit(f))),
        ("jit(hessian)", lambda: fnad.jit(fnad.hessian(lambda x, y: fnp.sum(f(x, y))))),
    ],
)
def test_composition_matches_eager(name, transform):
    batched = "vmap" in name
    x = np.stack([X, X + 0.1]) if batched else X
    got = transform()(x, Y)
    with _no_jit():
        want = transform()(x, Y)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_composite_primitives_compile():
    """while_lin (forward mode of while_loop) and remat_lin (checkpoint) are expanded for the compiler."""

    def newton_sqrt(a):
        return lax.while_loop(lambda x: fnp.abs(x * x - a) > 1e-12, lambda x: 0.5 * (x + a / x), a)

    primal, tangent = fnad.jit(lambda a, t: fnad.jvp(newton_sqrt, (a,), (t,)))(2.0, 1.0)
    assert float(primal) == pytest.approx(np.sqrt(2.0))
    assert float(tangent) == pytest.approx(0.5 / np.sqrt(2.0))
    g = lambda x: fnp.sin(fnp.cos(x)) * x
    assert float(fnad.jit(fnad.grad(fnad.checkpoint(g)))(0.3)) == pytest.approx(float(fnad.grad(g)(0.3)), rel=1e-12)
    _, t = fnad.jit(lambda x, v: fnad.jvp(fnad.checkpoint(g), (x,), (v,)))(0.3, 1.0)
    assert float(t) == pytest.approx(float(fnad.grad(g)(0.3)), rel=1e-12)


def test_disable_jit_runs_python_each_call():
    calls = []

    def g(x):
        calls.append(1)
        return x + 1

    jg = fnad.jit(g)
    with _no_jit():
        jg(np.ones(2))
        jg(np.ones(2))
    assert len(calls) == 2
    jg(np.ones(2))
    jg(np.ones(2))
    assert len(calls) == 3  # traced once, then compiled code runs


def test_inspection():
    lowered = fnad.jit(f).lower(X, Y)
    assert "define" in lowered.as_text() and "fnad_main" in lowered.as_text()
    asm = lowered.compile().as_text()
    assert "fnad_main" in asm and ("ret" in asm)


def test_wrong_input_to_compiled_code_is_a_clear_error():
    compiled = fnad.jit(f).lower(X, Y).compile()
    with pytest.raises((TypeError, ValueError), match="shape|dtype"):
        compiled(np.ones(5), Y)


def test_unsupported_primitive_is_named():
    from fnad.core import Primitive

    p = Primitive("no_lowering_here")
    p.impl = lambda x: x
    p.abstract_eval = lambda a: a
    with pytest.raises(NotImplementedError, match="no_lowering_here"):
        fnad.jit(lambda x: p.bind(x) + 1)(np.ones(2))


@pytest.mark.parametrize("n", [7, 300_000])  # small programs keep the GIL, large ones release it
def test_concurrent_calls_from_threads(n):
    jg = fnad.jit(lambda x: (fnp.exp(-x * x) * x, fnp.sum(fnp.exp(-x * x) * fnp.sin(x))))
    xs = [np.random.default_rng(i).standard_normal(n) for i in range(4)]
    want = [jg(x) for x in xs]
    results = [None] * 4

    def work(i):
        results[i] = [jg(xs[i]) for _ in range(200 if n < 1000 else 20)]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(4):
        assert all(np.array_equal(a, want[i][0]) and s == want[i][1] for a, s in results[i])


def _rss_bytes():
    with open(f"/proc/{os.getpid()}/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_repeated_calls_do_not_grow_memory():
    jg = fnad.jit(lambda x, y: x * y + 1)
    jt = fnad.jit(lambda x, y: (x * y + 1, x - y))
    x = np.ones(64)
    for _ in range(2000):
        jg(x, x), jt(x, x), jg(x, 1.0)
    before = _rss_bytes()
    for _ in range(100_000):
        jg(x, x)
    for _ in range(20_000):
        jt(x, x), jg(x, 1.0)
    assert _rss_bytes() - before < 8 * 2**20


def test_calls_nested_in_control_flow_compile():
    """custom_jvp functions and jitted functions inside loop bodies and branches are inlined at any
    depth; forward-over-reverse through while_loop compiles (while_lin decomposes into a loop)."""
    xs = np.array([1.0, -2.0, 3.0])
    rnn = lambda xs: lax.scan(lambda c, x: (c + fnad.nn.relu(x) * c, None), 1.0, xs)[0]
    np.testing.assert_allclose(fnad.jit(fnad.grad(rnn))(xs), fnad.grad(rnn)(xs), rtol=1e-12)
    g = fnad.jit(lambda x: lax.cond(x > 0, lambda x: fnad.jit(fnp.sin)(x), lambda x: x, x))
    assert float(g(1.0)) == pytest.approx(np.sin(1.0))

    def newton_sqrt(a):
        return lax.while_loop(lambda x: fnp.abs(x * x - a) > 1e-13, lambda x: 0.5 * (x + a / x), a)

    assert float(fnad.jit(fnad.hessian(newton_sqrt))(2.0)) == pytest.approx(-0.25 * 2**-1.5, rel=1e-6)


def test_the_cyclic_collector_is_paused_while_jit_traces_and_is_restored_after():
    import gc

    seen = []

    def f(x):
        seen.append(gc.isenabled())
        return x * 2.0

    def fails(x):
        raise ValueError("from the traced function")

    assert gc.isenabled()
    np.testing.assert_allclose(fnad.jit(f)(np.arange(3.0)), [0.0, 2.0, 4.0])
    assert seen == [False] and gc.isenabled()
    with pytest.raises(ValueError, match="from the traced function"):
        fnad.jit(fails)(np.arange(3.0))
    assert gc.isenabled()
    gc.disable()  # a user's own choice is kept
    try:
        fnad.jit(lambda x: x + 1.0)(np.arange(3.0))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_clear_caches_retraces_every_jitted_function():
    traces = []
    f = fnad.jit(lambda x: traces.append(1) or x * 2)
    g = fnad.jit(lambda x: traces.append(2) or x + 1)
    for _ in range(2):
        np.testing.assert_array_equal(f(np.ones(2)), 2.0)
        np.testing.assert_array_equal(g(np.ones(2)), 2.0)
    assert traces == [1, 2]
    fnad.clear_caches()
    np.testing.assert_array_equal(f(np.ones(2)), 2.0)
    np.testing.assert_array_equal(g(np.ones(2)), 2.0)
    assert traces == [1, 2, 1, 2]
    assert fnad.default_backend() == "cpu"
    assert fnad.named_call(fnp.sin, name="sine") is fnp.sin
