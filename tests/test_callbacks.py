"""fnad.debug.print, fnad.debug.callback and fnad.pure_callback: eagerly, under jit (compiled code
calling back into Python, in program order, also inside loops and branches), under vmap, grad and
custom derivatives; exceptions raised by callbacks; threads."""

import threading

import numpy as np
import pytest

import fnad
import fnad.numpy as fnp
from fnad import lax


def sds(x, dtype=None):
    return fnad.ShapeDtypeStruct(np.shape(x), dtype or fnp.asarray(x).dtype)


@pytest.mark.parametrize("jit", [False, True])
def test_debug_print_formats_values_each_run(jit, capsys):
    def f(x):
        fnad.debug.print("x = {}, sum = {s}", x, s=x.sum())
        fnad.debug.print("twice:", x * 2)  # no placeholders: the values follow, as in JAX
        return x + 1

    g = fnad.jit(f) if jit else f
    for start in (0.0, 1.0):
        np.testing.assert_array_equal(g(fnp.arange(3.0) + start), np.arange(3.0) + start + 1)
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "x = [0. 1. 2.], sum = 3.0",
        "twice: [0. 2. 4.]",
        "x = [1. 2. 3.], sum = 6.0",
        "twice: [2. 4. 6.]",
    ]


def test_callbacks_run_in_program_order_inside_control_flow():
    seen = []

    def f(x, n):
        def body(i, c):
            fnad.debug.callback(lambda i, c: seen.append(("loop", int(i), float(c))), i, c)
            c = lax.cond(c > 3, lambda c: c - 1.0, lambda c: c * 2.0, c)
            fnad.debug.callback(lambda c: seen.append(("after", float(c))), c)
            return c

        y = lax.fori_loop(0, n, body, x)
        ys = lax.scan(
            lambda c, t: (c + t, (fnad.debug.callback(lambda t: seen.append(("scan", float(t))), t), t)[1]),
            y,
            fnp.arange(2.0),
        )

        def cond(c):
            fnad.debug.callback(lambda c: seen.append(("while", float(c))), c)
            return c < 10

        return lax.while_loop(cond, lambda c: c * 3.0, ys[0])

    want_seen = []
    want = f(1.0, 4)
    want_seen, seen[:] = list(seen), []
    jf = fnad.jit(f)
    for _ in range(2):
        assert float(jf(1.0, 4)) == float(want)
        assert seen == want_seen
        seen.clear()
    assert want_seen[:4] == [("loop", 0, 1.0), ("after", 2.0), ("loop", 1, 2.0), ("after", 4.0)]


def test_debug_callback_gets_copies_and_static_arguments():
    seen = []
    jf = fnad.jit(
        lambda x: (fnad.debug.callback(lambda a, tag, b: seen.append((a, tag, b)), x * 2, "tag", b=x), x - 1)[1]
    )
    jf(fnp.ones(3))
    jf(fnp.zeros(3))  # the program's buffers are reused: earlier values must not change
    (a0, t0, b0), (a1, t1, _) = seen
    assert type(a0) is fnad.Array and t0 == t1 == "tag"
    np.testing.assert_array_equal(a0, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(b0, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(a1, [0.0, 0.0, 0.0])
    later = []
    fnad.debug.callback(ordered=True)(later.append, fnp.arange(2))  # the two-call form
    np.testing.assert_array_equal(later[0], [0, 1])


def test_debug_callback_under_vmap_and_grad(capsys):
    f = lambda x: (fnad.debug.print("v {}", x), fnp.sin(x) * x)[1]
    xs = fnp.arange(3.0)
    np.testing.assert_allclose(fnad.vmap(f)(xs), np.sin(np.arange(3.0)) * np.arange(3.0))
    np.testing.assert_allclose(fnad.jit(fnad.vmap(f))(xs), np.sin(np.arange(3.0)) * np.arange(3.0))
    assert capsys.readouterr().out.splitlines() == ["v 0.0", "v 1.0", "v 2.0"] * 2  # once per element, in order
    dfdx = lambda x: np.cos(x) * x + np.sin(x)
    assert fnad.grad(f)(0.5) == pytest.approx(dfdx(0.5))
    assert fnad.jit(fnad.grad(f))(0.7) == pytest.approx(dfdx(0.7))
    assert fnad.jit(fnad.grad(f))(0.9) == pytest.approx(dfdx(0.9))
    assert capsys.readouterr().out.splitlines() == ["v 0.5", "v 0.7", "v 0.9"]  # the primal values, once


@pytest.mark.parametrize("jit", [False, True])
def test_pure_callback_values_and_pytrees(jit):
    def host(x, scale):
        return {"s": np.sin(x) * scale, "n": np.int32(x.size)}

    def f(x):
        out = fnad.pure_callback(host, {"s": sds(x), "n": sds(0, np.int32)}, x, scale=2.0)
        return out["s"] + 1, out["n"]

    g = fnad.jit(f) if jit else f
    x = np.linspace(0, 1, 5)
    s, n = g(x)
    np.testing.assert_allclose(s, np.sin(x) * 2 + 1, rtol=1e-15)
    assert n.dtype == np.int32 and int(n) == 5


def test_pure_callback_vmap_methods():
    shapes = []

    def host(x, y):
        shapes.append((np.shape(x), np.shape(y)))
        return np.asarray(x + y)

    def f(x, y, method):
        return fnad.pure_callback(host, sds(x), x, y, vmap_method=method)

    x, y = fnp.arange(4.0), fnp.asarray(1.0)
    for method, seen in (("expand_dims", ((4,), (1,))), ("broadcast_all", ((4,), (4,))), ("sequential", ((), ()))):
        shapes.clear()
        for run in (fnad.vmap(lambda a, b: f(a, b, method), in_axes=(0, None)), None):
            if run is None:
                run = fnad.jit(fnad.vmap(lambda a, b: f(a, b, method), in_axes=(0, None)))
            np.testing.assert_array_equal(run(x, y), np.arange(4.0) + 1)
        assert shapes[0] == seen
    with pytest.raises(NotImplementedError, match="vmap_method"):
        fnad.vmap(lambda a: f(a, y, None))(x)
    with pytest.raises(ValueError, match="vmap_method must be one of"):
        f(x, y, "loop")


def test_pure_callback_derivatives_need_a_custom_rule():
    host_sin = lambda x: fnad.pure_callback(np.sin, sds(x), x)
    with pytest.raises(ValueError, match="custom_jvp"):
        fnad.grad(host_sin)(1.0)

    @fnad.custom_jvp
    def sin(x):
        return host_sin(x)

    sin.defjvp(lambda p, t: (sin(p[0]), fnad.pure_callback(np.cos, sds(p[0]), p[0]) * t[0]))
    f = lambda x: sin(x) * x
    assert fnad.jit(fnad.grad(f))(0.3) == pytest.approx(np.cos(0.3) * 0.3 + np.sin(0.3))


@pytest.mark.parametrize("jit", [False, True])
def test_callback_errors(jit):
    wrap = fnad.jit if jit else (lambda f: f)

    def boom(x):
        raise KeyError("from the callback")

    with pytest.raises(KeyError, match="from the callback"):
        wrap(lambda x: fnad.pure_callback(boom, sds(x), x) + 1)(1.0)
    with pytest.raises(ValueError, match=r"result 0 of callback\(<lambda>\) has shape \(2,\)"):
        wrap(lambda x: fnad.pure_callback(lambda x: np.zeros(2), sds(x), x))(1.0)
    with pytest.raises(ValueError, match="returned a value of structure"):
        wrap(lambda x: fnad.pure_callback(lambda x: (x, x), sds(x), x))(1.0)
    # A failing callback in a loop's condition stops the compiled loop (else it would never end).
    stop = wrap(lambda x: lax.while_loop(lambda c: fnad.pure_callback(boom, sds(True), c), lambda c: c + 1, x))
    with pytest.raises(KeyError):
        stop(1.0)
    with pytest.raises(TypeError, match="ShapeDtypeStruct"):
        fnad.pure_callback(np.sin, 3, 1.0)


def test_callbacks_from_threads():
    jf = fnad.jit(lambda x: fnad.pure_callback(lambda v: np.asarray(v * 2), sds(x), x) + 1)
    jf(np.zeros(3))
    results, errors = {}, []

    def work(k):
        try:
            for j in range(20):
                x = np.full(3, float(k * 100 + j))
                np.testing.assert_array_equal(jf(x), x * 2 + 1)
            results[k] = True
        except (AssertionError, RuntimeError, ValueError) as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(results) == 4
