"""The call path of jitted functions: native entries (fnad_compiler/pyentry.py) give the same results as
eager code for every output form, several signatures on one function, arguments they refuse
(converted or the usual errors), kwargs, static arguments, disable_jit and staging traces after
compilation, tracers, and leave reference counts and memory as they were."""

import gc
import sys
import types

import numpy as np
import pytest

import fnad
import fnad.numpy as fnp
from fnad import jit_dispatch
from fnad_compiler import tiers


def python_frames(f, *args):
    """Call `f(*args)`; the names of the Python functions it entered (sys.setprofile 'call' events).
    First past a program's one call into Python for good: the hook that has its quick code
    optimised fully (at the PROMOTE_AFTERth call; see fnad_compiler.tiers)."""
    for _ in range(tiers.PROMOTE_AFTER):
        f(*args)
    entered = []

    def profile(frame, event, arg):
        if event == "call":
            entered.append(frame.f_code.co_name)

    sys.setprofile(profile)
    try:
        f(*args)
    finally:
        sys.setprofile(None)
    return entered


@pytest.mark.parametrize("shape", [(), (5,), (2, 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_results_equal_eager_and_run_without_python(shape, dtype):
    f = lambda x, y: x * y + 1
    jf = fnad.jit(f)
    x = np.arange(1, 1 + int(np.prod(shape)), dtype=dtype).reshape(shape)
    y = np.asarray(x + 2, dtype)
    first = jf(x, y)
    again = jf(x, y)
    for got in (first, again):
        assert type(got) is fnad.Array and got.dtype == dtype and got.shape == shape
        np.testing.assert_array_equal(got, f(x, y))
    assert isinstance(type(jf).__call__, types.BuiltinFunctionType)
    assert python_frames(jf, x, y) == []
    assert not np.shares_memory(jf(x, y), again)


@pytest.mark.parametrize(
    "make",
    [
        lambda x, y: (x * y, x + y, fnp.sum(x)),
        lambda x, y: [x - y, x / y],
        lambda x, y: (x,),
        lambda x, y: [],
        lambda x, y: {"prod": x * y, "pair": (x, y + 1)},
        lambda x, y: (x * y, None),
    ],
)
def test_output_trees(make):
    jf = fnad.jit(make)
    x, y = np.linspace(1, 2, 4), np.linspace(3, 4, 4)
    want = make(x, y)
    for _ in range(3):
        got = jf(x, y)
        assert type(got) is type(want)
        got_leaves, got_tree = fnad.tree_util.tree_flatten(got)
        want_leaves, want_tree = fnad.tree_util.tree_flatten(want)
        assert got_tree == want_tree
        for g, w in zip(got_leaves, want_leaves):
            np.testing.assert_allclose(g, w, rtol=1e-15)


def test_many_signatures_alternating():
    """More signatures than the native chain holds, called in turns, each traced once."""
    traces = []

    def g(x, y):
        traces.append((x.shape, x.dtype))
        return x * 2 + y

    jg = fnad.jit(g)
    args = [(np.arange(n, dtype=dtype), np.ones(n, dtype)) for n in range(1, 7) for dtype in (np.float32, np.float64)]
    for _ in range(3):
        for x, y in args:
            got = jg(x, y)
            assert got.dtype == x.dtype
            np.testing.assert_array_equal(got, x * 2 + y)
    assert len(traces) == len(args)


def test_refused_arguments_are_converted_or_the_usual_errors():
    jf = fnad.jit(lambda x, y: x * y + 1)
    x = np.arange(6.0)
    want = x * x + 1
    jf(x, x)
    np.testing.assert_array_equal(jf(np.arange(12.0)[::2], x), np.arange(12.0)[::2] * x + 1)  # not contiguous
    with pytest.raises(TypeError, match="unsupported operand type list"):  # a list is a pytree of scalars, as in JAX
        jf(x.tolist(), x)
    np.testing.assert_array_equal(jf(x.astype(np.float32), x), want)  # other dtype: retraced
    np.testing.assert_array_equal(jf(2.0, x), 2 * x + 1)  # Python scalar
    np.testing.assert_array_equal(jf(np.float64(2.0), x), 2 * x + 1)  # NumPy scalar
    np.testing.assert_array_equal(jf(x.view(type("Sub", (np.ndarray,), {})), x), want)  # a subclass
    np.testing.assert_array_equal(jf(x.astype(">f8"), x), want)  # big-endian
    with pytest.raises(TypeError, match="argument 0 is a NumPy masked array"):  # its mask: refused
        jf(x.view(np.ma.MaskedArray), x)
    f2 = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(jf(f2, f2), f2 * f2 + 1)
    with pytest.raises(TypeError, match="missing 1 required positional argument"):
        jf(x)
    with pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
        jf(x, x, z=x)
    with pytest.raises(NotImplementedError, match="dtype object is not supported"):
        jf(np.array([None] * 6), x)
    compiled = jf.lower(x, x).compile()
    with pytest.raises(ValueError, match=r"input 0 has shape \(4,\), but the function was compiled for shape \(6,\)"):
        compiled(np.ones(4), x)
    with pytest.raises(TypeError, match="input 1 has dtype float32, but the function was compiled for float64"):
        compiled(x, x.astype(np.float32))
    with pytest.raises(TypeError, match="compiled function takes 2 array"):
        compiled(x)
    with pytest.raises(TypeError, match="cannot be converted to float64"):
        compiled(x, "abcdef")
    np.testing.assert_array_equal(compiled(x[::-1], x)[0], x[::-1] * x + 1)


@pytest.mark.parametrize(
    "args",
    [
        (1.5, 2.0),  # Python floats: weakly typed float64
        (3, -4),  # Python ints: weakly typed int64
        (True, False),
        (np.float64(1.5), np.float64(-2.0)),  # NumPy scalars: their own dtype
        (np.float32(1.5), np.float32(2.0)),
        (np.int32(7), np.int32(-3)),
        (np.bool_(True), np.bool_(True)),
        (np.arange(3, dtype=np.float32), 2.5),  # weak scalars keep the array's dtype
        (np.arange(3, dtype=np.float32), 2),
        (np.float32(1.5), 2.0),
        (np.asarray(1.5), np.float64(0.5)),  # a 0-d array and a NumPy scalar of its dtype
    ],
)
def test_scalar_arguments_run_without_python_as_eager(args):
    f = lambda x, y: x * y + 1
    jf = fnad.jit(f)
    want = np.asarray(f(*args))  # NumPy 2 promotes Python scalars weakly, as JAX does
    jf(*args)
    for got in (jf(*args), jf(*args)):
        assert type(got) is fnad.Array and got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    assert python_frames(jf, *args) == []


def test_python_int_arguments_of_every_size():
    jf = fnad.jit(lambda i: i * 2 - 1)
    for i in (0, 1, -1, 2**30 - 1, 2**30, -(2**30) - 7, 2**45 + 3, 2**60 - 1, -(2**60) + 1, 2**61, -(2**61), 2**62 - 1):
        assert int(jf(i)) == 2 * i - 1, i  # more than 60 bits: the Python dispatch converts them
    with pytest.raises(OverflowError):
        jf(2**63)
    assert python_frames(jf, -(2**60) + 1) == []
    narrow = fnad.jit(lambda x, i: x + i)  # ints narrowed to int8 are range-checked in Python
    x = np.zeros(2, np.int8)
    np.testing.assert_array_equal(narrow(x, 5), [5, 5])
    with pytest.raises(OverflowError, match="out of bounds for int8"):
        narrow(x, 300)


def test_scalars_of_another_kind_are_not_taken_by_an_entry():
    jf = fnad.jit(lambda x: x / 2)
    assert jf(np.float32(3.0)).dtype == np.float32 and jf(3.0).dtype == np.float64  # weak: float64
    assert jf(3).dtype == np.float64 and jf(np.int32(3)).dtype == np.float64 and jf(True).dtype == np.float64
    for arg, want in ((np.float32(3.0), np.float32(1.5)), (3.0, 1.5), (3, 1.5), (np.int32(3), 1.5)):
        got = jf(arg)
        assert got.dtype == np.asarray(want).dtype and got == want
        assert python_frames(jf, arg) == []


@pytest.mark.parametrize("shape", [(), (5,), (2, 3)])
@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_arguments_run_without_python_as_eager(dtype, shape):
    rng = np.random.default_rng(1)
    z = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    x = rng.standard_normal(shape).astype(z.real.dtype)
    f = lambda z, x: (z * z + x, fnp.abs(z) - x)
    jf = fnad.jit(f)
    rtol = 1e-6 if dtype == np.complex64 else 1e-15
    calls = [(z, x), (fnp.asarray(z), fnp.asarray(x))]
    if shape == ():  # NumPy scalars of the dtypes, read in place
        calls.append((dtype(z), x.dtype.type(x)))
    for args in calls:
        got, eager = jf(*args), f(*map(fnp.asarray, args))
        for g, e, want in zip(got, eager, (args[0] * args[0] + args[1], np.abs(args[0]) - args[1])):
            assert type(g) is fnad.Array and g.dtype == e.dtype == want.dtype and g.shape == np.shape(want)
            np.testing.assert_allclose(g, e, rtol=rtol)
            np.testing.assert_allclose(g, want, rtol=rtol)
        assert python_frames(jf, *args) == []
    # a Python complex: weakly typed, so the array's precision wins
    jc = fnad.jit(lambda z, c: z * c)
    for _ in range(2):
        got = jc(z, 1 - 2j)
        assert got.dtype == dtype
        np.testing.assert_allclose(got, z * (1 - 2j), rtol=rtol)
    assert python_frames(jc, z, 1 - 2j) == []


def test_refused_complex_arguments_give_the_results_and_errors_of_eager():
    jf = fnad.jit(lambda z: z * z + 1)
    z = np.arange(6) * (1 - 0.5j)
    jf(z)
    np.testing.assert_array_equal(jf(np.repeat(z, 2)[::2]), z * z + 1)  # not contiguous: copied
    for arg in (z.astype(np.complex64), z.real, z.astype(">c16")):  # retraced for its own dtype, or converted
        got = jf(arg)
        assert got.dtype == (arg * arg + 1).dtype
        np.testing.assert_allclose(got, arg * arg + 1, rtol=1e-6)
    with pytest.raises(TypeError, match="argument 0 is a NumPy masked array"):
        jf(z.view(np.ma.MaskedArray))
    compiled = jf.lower(z).compile()
    np.testing.assert_array_equal(compiled(z[::-1])[0], z[::-1] * z[::-1] + 1)
    with pytest.raises(TypeError, match="input 0 has dtype complex64, but the function was compiled for complex128"):
        compiled(z.astype(np.complex64))
    # under transforms the jitted function stays one call, compiled
    x = np.linspace(-1, 1, 6)
    np.testing.assert_allclose(fnad.vmap(jf)(z.reshape(3, 2)), (z * z + 1).reshape(3, 2), rtol=1e-15)
    loss = lambda v: fnp.sum(fnp.abs(jf(v * (1 + 1j))) ** 2)
    eager = lambda v: fnp.sum(fnp.abs((v * (1 + 1j)) ** 2 + 1) ** 2)
    np.testing.assert_allclose(fnad.grad(loss)(x), fnad.grad(eager)(x), rtol=1e-13)
    step = 1e-6
    finite = [(loss(x + step * e) - loss(x - step * e)) / (2 * step) for e in np.eye(6)]
    np.testing.assert_allclose(fnad.grad(loss)(x), finite, rtol=1e-6)


def test_kwargs_and_static_arguments():
    def g(x, n, scale=1.0):
        return scale * x**n

    jg = fnad.jit(g, static_argnums=1)
    x = np.linspace(0, 1, 5)
    for _ in range(2):
        np.testing.assert_allclose(jg(x, 3), x**3)
        np.testing.assert_allclose(jg(x, 2, scale=np.float64(2.0)), 2 * x**2)
        np.testing.assert_allclose(jg(x, 2, scale=3.0), 3 * x**2)
    jk = fnad.jit(lambda x, y=None: x if y is None else x + y)
    np.testing.assert_array_equal(jk(x), x)
    np.testing.assert_array_equal(jk(x, y=x), 2 * x)
    np.testing.assert_array_equal(jk(x), x)


def test_disable_jit_after_compilation_runs_python():
    calls = []

    def g(x):
        calls.append(type(x))
        return x + 1

    jg = fnad.jit(g)
    x = np.ones(3)
    jg(x)
    jg(x)
    assert len(calls) == 1
    fnad.config.update("disable_jit", True)
    try:
        np.testing.assert_array_equal(jg(x), x + 1)
        assert calls[-1] is np.ndarray and len(calls) == 2
    finally:
        fnad.config.update("disable_jit", False)
    jg(x)
    assert len(calls) == 2


def test_staging_a_caller_keeps_the_jit_call():
    """make_jaxpr of a function calling a jitted function on concrete arrays stages a jit eqn."""
    jf = fnad.jit(lambda x, y: x * y + 1)
    c = np.full(3, 2.0)
    jf(c, c)
    closed = fnad.make_jaxpr(lambda z: jf(c, c) + z)(np.ones(3))
    assert [e.primitive.name for e in closed.jaxpr.eqns] == ["jit", "add"]
    assert jit_dispatch.jit_blocked[0] == 0  # the trace has ended: native calls run again
    assert python_frames(jf, c, c) == []


def test_tracers_go_through_the_transforms():
    jf = fnad.jit(lambda x: fnp.sin(x) * x)
    x = np.linspace(-1, 1, 5)
    jf(x)
    np.testing.assert_allclose(fnad.vmap(jf)(x), np.sin(x) * x, rtol=1e-15)
    np.testing.assert_allclose(fnad.vmap(fnad.grad(jf))(x), np.cos(x) * x + np.sin(x), rtol=1e-14)
    np.testing.assert_allclose(fnad.grad(lambda v: fnp.sum(jf(v)))(x), np.cos(x) * x + np.sin(x), rtol=1e-14)
    np.testing.assert_allclose(fnad.jit(jf)(x), np.sin(x) * x, rtol=1e-15)


def test_reference_counts_unchanged():
    jt = fnad.jit(lambda x, y: (x * y, x + y))
    js = fnad.jit(lambda x, y: x * y)
    x, y = np.ones(3), np.full(3, 2.0)
    for f in (jt, js):
        f(x, y)
    gc.collect()
    # Results made as ndarrays and retyped to Array (fnad.array.RETYPABLE) take one reference to
    # the type each, which their deallocator gives back: a leak or an over-release shows here.
    before = sys.getrefcount(x), sys.getrefcount(y), sys.getrefcount(fnad.Array)
    for _ in range(100):
        single = js(x, y)
        pair = jt(x, y)
        js(x[::-1], y)  # refused, then converted
        js(2.0, y)
        with pytest.raises(TypeError):
            js(x, y, z=1)
    del single, pair
    after = sys.getrefcount(x), sys.getrefcount(y), sys.getrefcount(fnad.Array)
    assert after == before
    single, pair = js(x, y), jt(x, y)
    # held by one name / the tuple only (plus getrefcount's argument; counted outside `assert`,
    # which pytest rewrites to hold intermediate values)
    outputs = sys.getrefcount(single), sys.getrefcount(pair), sys.getrefcount(pair[0]), sys.getrefcount(pair[1])
    assert outputs == (2, 2, 2, 2)


def test_clear_cache_retraces():
    traces = []
    jf = fnad.jit(lambda x: traces.append(1) or x + 1)
    x = np.ones(2)
    jf(x)
    jf.clear_cache()
    np.testing.assert_array_equal(jf(x), x + 1)
    assert len(traces) == 2


def test_donated_arguments_are_updated_in_place():
    update = fnad.jit(lambda buf, i, v: buf.at[i].set(v), donate_argnums=0)
    buf = fnp.zeros(1000)
    address = np.asarray(buf).ctypes.data
    out = update(buf, 3, 7.0)
    assert out is buf and np.asarray(out).ctypes.data == address  # no copy: the buffer is the result
    out = update(out, 4, 8.0)  # a chain of donations stays in the one buffer
    assert np.asarray(out).ctypes.data == address
    want = np.zeros(1000)
    want[3:5] = [7.0, 8.0]
    np.testing.assert_array_equal(out, want)
    user = np.zeros(5)  # NumPy arrays are copied first: the caller's data never changes
    np.testing.assert_array_equal(update(user, 1, 2.0), [0, 2, 0, 0, 0])
    np.testing.assert_array_equal(user, np.zeros(5))
    whole = fnp.arange(10.0)
    view = whole[2:6]  # a view of an Array something else holds: copied too
    np.testing.assert_array_equal(update(view, 0, -1.0), [-1, 3, 4, 5])
    np.testing.assert_array_equal(whole, np.arange(10.0))
    same = fnp.ones(3)
    twice = fnad.jit(lambda a, b: (a + b, a * b), donate_argnums=(0, 1))
    np.testing.assert_array_equal(twice(same, same)[0], [2, 2, 2])  # one array passed twice: copied


@pytest.mark.parametrize(
    "f",
    [
        lambda x, y: x * 2 + y,
        lambda x, y: x[::-1] * 2 + y,  # the output read reversed from the donated buffer
        lambda x, y: (x.T + y.T).T @ x,
        lambda x, y: (fnp.sin(x), x - fnp.sum(x, axis=0)),
        lambda x, y: {"a": fnp.cumsum(x, axis=1), "b": fnp.roll(x, 1, axis=0) + y},
    ],
)
def test_donated_results_equal_eager(f):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(2, 4, 4))
    want = f(fnp.asarray(x), fnp.asarray(y))
    for argnums in ((0,), (0, 1), (1,)):
        jf = fnad.jit(f, donate_argnums=argnums)
        got = jf(fnp.asarray(x), fnp.asarray(y))
        for g, w in zip(jax_leaves(got), jax_leaves(want)):
            np.testing.assert_allclose(g, w, rtol=1e-14, atol=1e-14)


def jax_leaves(tree):
    return fnad.tree_util.tree_leaves(tree)


def test_donate_argnames_pytrees_and_errors():
    def sgd(params, grads, lr):
        return fnad.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)

    params = {"w": fnp.ones((3, 2)), "b": fnp.zeros(2)}
    grads = {"w": fnp.full((3, 2), 0.5), "b": fnp.ones(2)}
    step = fnad.jit(sgd, donate_argnames="params")
    new = step(params, grads, 0.1)
    np.testing.assert_allclose(new["w"], np.full((3, 2), 0.95))
    np.testing.assert_allclose(new["b"], np.full(2, -0.1))
    again = step(new, grads, 0.1)
    np.testing.assert_allclose(again["b"], np.full(2, -0.2))
    with pytest.raises(ValueError, match="both static and donated"):
        fnad.jit(sgd, static_argnums=2, donate_argnums=(0, 2))
