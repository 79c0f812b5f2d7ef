"""`fnad.Array` (fnad/array.py): what eager code gets back. Immutable with `.at`, indexed as in JAX
(also by traced indices, and with the same out-of-bounds rules eagerly and under jit), a NumPy
citizen, and taken by jit's native entries as they are. Expected values marked "JAX" were printed by
jax 0.10.2 with jax_enable_x64 (the call is in the comment next to them)."""

import copy
import pickle
import sys

import numpy as np
import pytest

import fnad
import fnad.numpy as fnp
from fnad import lax
from fnad_compiler import tiers

NAN = np.nan


def assert_array(got, want, dtype=None):
    """`got` is an immutable fnad.Array equal to `want` (and of `dtype`, when given)."""
    assert type(got) is fnad.Array, type(got)
    assert not got.flags.writeable
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)
    if dtype is not None:
        assert got.dtype == dtype


# ----------------------------------------------------------------------------------------------
# The five snippets of issue 13 that failed before fnad.Array


def test_captured_array_indexed_by_loop_counter():
    array = fnp.arange(10)
    body = lambda i, x: x + array[i]
    assert_array(lax.fori_loop(0, 10, body, 0), 45)  # JAX: 45
    assert_array(fnad.jit(lambda: lax.fori_loop(0, 10, body, 0))(), 45)  # JAX: jit(...)() -> 45
    # JAX: vmap(lambda i: array[i])(jnp.array([3, 11, -1, -12])) -> [3, 9, 9, 0]
    assert_array(fnad.vmap(lambda i: array[i])(np.array([3, 11, -1, -12])), [3, 9, 9, 0])
    # JAX: lax.scan(lambda c, i: (c + array[i], array[i] * 2), 0, jnp.arange(4)) -> (6, [0, 2, 4, 6])
    carry, ys = lax.scan(lambda c, i: (c + array[i], array[i] * 2), 0, np.arange(4))
    assert_array(carry, 6)
    assert_array(ys, [0, 2, 4, 6])
    c = fnp.array([1.0, 2.0, 3.0, 4.0])
    # JAX: grad(lambda w: fori_loop(0, 4, lambda i, acc: acc + w * c[i] ** 2, 0.0))(2.0) -> 30.0
    assert_array(fnad.grad(lambda w: lax.fori_loop(0, 4, lambda i, acc: acc + w * c[i] ** 2, 0.0))(2.0), 30.0)


def test_inplace_operators_rebind():
    a = fnp.array([10, 20])
    b = a
    b += 10
    assert_array(a, [10, 20])  # JAX: [10 20]
    assert_array(b, [20, 30])
    x = y = fnp.array([10.0, 20.0])
    y -= 2
    assert_array(y, [8.0, 18.0])
    y *= 2
    assert_array(y, [16.0, 36.0])
    y /= 4
    assert_array(y, [4.0, 9.0])
    y **= 2
    assert_array(y, [16.0, 81.0])
    y //= 5
    assert_array(y, [3.0, 16.0])
    y %= 3
    assert_array(y, [0.0, 1.0])
    assert_array(x, [10.0, 20.0])
    bits = flags = fnp.array([1, 6])
    bits |= 8
    bits &= 9
    bits ^= 1
    bits <<= 1
    bits >>= 2
    assert_array(bits, [4, 4])  # each step in turn, as NumPy computes it in place
    assert_array(flags, [1, 6])
    m = k = fnp.eye(2)
    k @= fnp.array([[1.0, 2.0], [3.0, 4.0]])
    assert_array(k, [[1.0, 2.0], [3.0, 4.0]])
    assert_array(m, np.eye(2))


def test_item_assignment_raises_type_error_naming_at():
    x = fnp.arange(3)
    with pytest.raises(TypeError, match=r"immutable.*x\.at\[idx\]\.set\(y\)"):
        x[0] = 5
    assert_array(x, [0, 1, 2])
    for mutate in (
        lambda: np.add(x, 1, out=x),
        lambda: x.fill(0),
        lambda: np.asarray(x).__setitem__(0, 5),  # NumPy's view is read-only too (as JAX's)
        lambda: np.copyto(x, 7),
    ):
        with pytest.raises(ValueError, match="read-only"):
            mutate()
    with pytest.raises(ValueError, match="immutable"):
        x.setflags(write=True)
    assert_array(x, [0, 1, 2])


def test_zeros_at_set():
    assert_array(fnp.zeros(3).at[0].set(1.0), [1.0, 0.0, 0.0])  # JAX: [1., 0., 0.]


def test_out_of_bounds_index_clamps_eagerly_and_under_jit():
    x = fnp.arange(10.0)
    assert_array(x[11], 9.0)  # JAX: jnp.arange(10.)[11] -> 9.0
    assert_array(fnad.jit(lambda x: x[11])(x), 9.0)
    assert_array(fnad.jit(lambda x, i: x[i])(x, 11), 9.0)


# ----------------------------------------------------------------------------------------------
# Indexing: JAX's rules, the same eagerly, with static indices under jit and with traced ones

X10 = np.arange(10.0)
Y34 = np.arange(12.0).reshape(3, 4)
# (array, index, JAX's result): jnp.arange(10.)[idx] and jnp.arange(12.).reshape(3, 4)[idx]
INDEX_CASES = [
    (X10, 11, 9.0),
    (X10, -11, 0.0),
    (X10, -12, 0.0),
    (X10, 100, 9.0),
    (X10, 3, 3.0),
    (X10, np.array([11, -11, 3, -1, -20]), [9.0, 0.0, 3.0, 9.0, 0.0]),
    (X10, slice(8, 20), [8.0, 9.0]),
    (X10, slice(20, 30), np.zeros(0)),
    (X10, slice(-20, 2), [0.0, 1.0]),
    (X10, (None, 3), [3.0]),
    (Y34, (5, 7), 11.0),
    (Y34, 5, [8.0, 9.0, 10.0, 11.0]),
    (Y34, (np.array([0, 5]), slice(1, 3)), [[1.0, 2.0], [9.0, 10.0]]),
    (Y34, (Ellipsis, -1), [3.0, 7.0, 11.0]),
]


@pytest.mark.parametrize("x, idx, want", INDEX_CASES)
def test_getitem_matches_jax_eagerly_and_under_jit(x, idx, want):
    a = fnad.device_put(x)
    assert_array(a[idx], want)
    assert_array(fnad.jit(lambda a: a[idx])(a), want)  # static index, staged
    assert_array(fnad.jit(lambda: a[idx])(), want)  # a captured constant


def test_traced_indices_match_eager_ones():
    x = fnp.arange(10.0)
    for i in (0, 4, 9, 10, 25, -1, -10, -11, -40):
        want = x[i]
        assert_array(fnad.jit(lambda i: x[i])(i), want)
        assert_array(fnad.vmap(lambda i: x[i])(np.array([i, i])), [want, want])
    idx = np.array([[1, 12], [-3, -13]])
    assert_array(fnad.jit(lambda i: x[i])(idx), x[idx])
    np.testing.assert_array_equal(x[idx], [[1.0, 9.0], [7.0, 0.0]])


def test_in_bounds_eager_indexing_is_numpy_indexing():
    x = fnad.device_put(np.arange(24.0).reshape(2, 3, 4))
    n = np.asarray(x)
    for idx in [(1, 2), (slice(None), 1), (Ellipsis, slice(None, None, -2)), np.array([1, 0]), n > 10, (0, [2, 0])]:
        assert_array(x[idx], n[idx])
    view = x[1:]
    assert np.shares_memory(view, x)  # basic indexing stays a view (read-only)
    assert_array(x[0, 0, 0], 0.0)  # a 0-d Array, as JAX's (not a NumPy scalar)
    with pytest.raises(IndexError, match="too many indices"):
        x[0, 0, 0, 0]
    with pytest.raises(IndexError, match="size 0"):
        fnp.zeros((0, 3))[1]  # JAX: IndexError, index is out of bounds for axis 0 with size 0


# ----------------------------------------------------------------------------------------------
# .at: every update, JAX's modes, eagerly, under jit (static and traced indices), vmap and grad

F = np.arange(10.0)
# (array, index, method, args, kwargs, JAX's result) for jnp.asarray(array).at[index].method(*args, **kwargs)
AT_CASES = [
    (F, 11, "set", (5.0,), {}, F),
    (F, -11, "set", (5.0,), {}, F),
    (F, -1, "set", (5.0,), {}, [0, 1, 2, 3, 4, 5, 6, 7, 8, 5.0]),
    (F, np.array([1, 11, -11, -1]), "add", (100.0,), {}, [0, 101, 2, 3, 4, 5, 6, 7, 8, 109]),
    (F, 11, "get", (), {}, 9.0),
    (F, 11, "get", (), {"mode": "fill", "fill_value": NAN}, NAN),
    (F, 11, "get", (), {"mode": "fill"}, NAN),
    (F, -1, "get", (), {"mode": "fill"}, 9.0),
    (F, -11, "get", (), {"mode": "fill"}, NAN),
    (F, 11, "get", (), {"mode": "clip"}, 9.0),
    (F, -11, "get", (), {"mode": "clip"}, 0.0),
    (F, 11, "set", (5.0,), {"mode": "clip"}, [0, 1, 2, 3, 4, 5, 6, 7, 8, 5.0]),
    (F, 11, "set", (5.0,), {"mode": "drop"}, F),
    (F, -11, "set", (5.0,), {"mode": "clip"}, [5.0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
    (F, 2, "apply", (lambda v: v * 100,), {}, [0, 1, 200, 3, 4, 5, 6, 7, 8, 9]),
    (F, np.array([1, 1]), "apply", (lambda v: v + 1,), {}, [0, 3.0, 2, 3, 4, 5, 6, 7, 8, 9]),
    (F[:4], np.array([1, 1, 9]), "apply", (fnp.sin,), {}, [0.0, 0.7456241416655579, 2.0, 3.0]),
    (F, 2, "divide", (4.0,), {}, [0, 1, 0.5, 3, 4, 5, 6, 7, 8, 9]),
    (F[:4], np.array([1, 1]), "divide", (2.0,), {}, [0.0, 0.25, 2.0, 3.0]),
    (F, 3, "power", (2.0,), {}, [0, 1, 2, 9.0, 4, 5, 6, 7, 8, 9]),
    (F, 3, "multiply", (2.0,), {}, [0, 1, 2, 6.0, 4, 5, 6, 7, 8, 9]),
    (F[:5], np.array([2, 2]), "mul", (3.0,), {}, [0.0, 1.0, 18.0, 3.0, 4.0]),
    (F, 3, "min", (2.0,), {}, [0, 1, 2, 2.0, 4, 5, 6, 7, 8, 9]),
    (F[:5], np.array([0, 0, 4]), "max", (np.array([3.0, 1.0, 2.0]),), {}, [3.0, 1.0, 2.0, 3.0, 4.0]),
    (F[:5], np.array([0, 5, -1, -6]), "get", (), {"mode": "fill", "fill_value": -1.0}, [0.0, -1.0, 4.0, -1.0]),
    (F[:5], np.array([7, -7]), "get", (), {}, [4.0, 0.0]),
    (F[:6], slice(1, 4), "set", (np.array([7.0, 8.0, 9.0]),), {}, [0.0, 7.0, 8.0, 9.0, 4.0, 5.0]),
    (F[:6], slice(None, None, -2), "set", (0.0,), {}, [0.0, 0.0, 2.0, 0.0, 4.0, 0.0]),
    (np.zeros((2, 3)), (slice(None), 1), "add", (np.array([1.0, 2.0]),), {}, [[0, 1.0, 0], [0, 2.0, 0]]),
    (np.zeros((2, 3)), (1, 5), "set", (7.0,), {}, np.zeros((2, 3))),
    (np.zeros((2, 3)), (1, 5), "set", (7.0,), {"mode": "clip"}, [[0, 0, 0], [0, 0, 7.0]]),
]


def _at(x, idx, method, args, kwargs):
    return getattr(x.at[idx], method)(*args, **kwargs)


@pytest.mark.parametrize("x, idx, method, args, kwargs, want", AT_CASES)
def test_at_matches_jax_eagerly_and_under_jit(x, idx, method, args, kwargs, want):
    a = fnad.device_put(x)
    assert_array(_at(a, idx, method, args, kwargs), want)
    assert_array(fnad.jit(lambda a: _at(a, idx, method, args, kwargs))(a), want)  # static index under jit
    if not isinstance(idx, (slice, tuple)):  # the same index traced
        assert_array(fnad.jit(lambda a, i: _at(a, i, method, args, kwargs))(a, np.asarray(idx)), want)


def test_at_fill_defaults_and_dtypes_follow_jax():
    # JAX: jnp.arange(10).at[11].get(mode='fill') -> int64 min; uint8 -> 255; int32 -> int32 min; bool -> True
    assert_array(fnp.arange(10).at[11].get(mode="fill"), np.iinfo(np.int64).min, np.int64)
    assert_array(fnp.arange(3, dtype=np.uint8).at[5].get(mode="fill"), 255, np.uint8)
    assert_array(fnp.arange(3, dtype=np.int32).at[5].get(mode="fill"), np.iinfo(np.int32).min, np.int32)
    assert_array(fnp.array([False, False]).at[5].get(mode="fill"), True, np.bool_)
    # JAX: jnp.arange(3).at[0].set(2.7) -> [2, 1, 2] (int64); .at[1].divide(2) gives floats; power stays int
    assert_array(fnp.arange(3).at[0].set(2.7), [2, 1, 2], np.int64)
    assert_array(fnp.arange(4).at[1].divide(2), [0.0, 0.5, 2.0, 3.0], np.float64)
    assert_array(fnp.arange(4).at[3].power(2), [0, 1, 2, 9], np.int64)
    assert_array(fnad.jit(lambda x: x.at[11].get(mode="fill", fill_value=NAN))(fnp.arange(10.0)), NAN)
    with pytest.raises(ValueError, match="mode must be one of"):
        fnp.zeros(3).at[0].set(1.0, mode="wrap")
    with pytest.raises(ValueError, match="cannot broadcast"):
        fnp.arange(10.0).at[2:4].set(fnp.ones(3))  # JAX: ValueError too


def test_at_under_vmap_and_grad():
    # JAX: vmap(lambda x, i: x.at[i].set(-1.))(jnp.ones((3, 4)), jnp.array([0, 3, 7]))
    got = fnad.vmap(lambda x, i: x.at[i].set(-1.0))(fnp.ones((3, 4)), np.array([0, 3, 7]))
    assert_array(got, [[-1, 1, 1, 1], [1, 1, 1, -1], [1, 1, 1, 1.0]])
    # JAX: grad(lambda w: jnp.sum(w.at[1].multiply(3.).at[7].set(1.) ** 2))(jnp.array([1., 2., 3.])) -> [2, 36, 6]
    assert_array(
        fnad.grad(lambda w: fnp.sum(w.at[1].multiply(3.0).at[7].set(1.0) ** 2))(fnp.array([1.0, 2.0, 3.0])),
        [2.0, 36.0, 6.0],
    )
    f = lambda w: fnp.sum(w.at[np.array([0, 0, 2])].apply(fnp.sin))
    w = fnp.array([0.3, 0.5, 0.7])
    eps = 1e-6
    numeric = [(f(w + eps * e) - f(w - eps * e)) / (2 * eps) for e in np.eye(3)]
    np.testing.assert_allclose(fnad.grad(f)(w), numeric, rtol=1e-6)


# ----------------------------------------------------------------------------------------------
# What every path returns


def test_every_eager_path_returns_arrays():
    x = np.arange(3.0)
    results = {
        "fnad.numpy": fnp.sin(x),
        "creation": fnp.zeros(2),
        "reduction": fnp.sum(x),
        "lax": lax.exp(x),
        "method": fnp.arange(3.0).sum(),
        "operator": fnp.arange(3.0) * 2,
        "grad": fnad.grad(lambda v: fnp.sum(v**2))(x),
        "jvp": fnad.jvp(fnp.sin, (x,), (x,))[1],
        "vmap": fnad.vmap(fnp.cos)(x),
        "jit": fnad.jit(lambda v: v + 1)(x),
        "jit twice": fnad.jit(lambda v: v + 1)(x),
        "device_put": fnad.device_put(x),
        "tuple result": fnp.linalg.eigh(np.eye(2))[0],
    }
    # Functions whose result's shape depends on values or static arguments, computed by NumPy eagerly.
    mask = np.array([[0, 1], [2, 0]])
    computed_by_numpy = {
        "nonzero": fnp.nonzero(mask),
        "where": fnp.where(mask > 0),
        "argwhere": fnp.argwhere(mask),
        "flatnonzero": fnp.flatnonzero(mask),
        "unique": fnp.unique(mask, return_counts=True),
        "tril_indices": fnp.tril_indices(3),
        "triu_indices_from": fnp.triu_indices_from(mask),
        "diag_indices": fnp.diag_indices(2),
        "mask_indices": fnp.mask_indices(2, fnp.triu),
        "copy": fnp.copy(x),
        "hanning": fnp.hanning(3),
        "bartlett": fnp.bartlett(3),
        "trim_zeros": fnp.trim_zeros(np.array([0, 1, 0])),
    }
    for name, got in computed_by_numpy.items():
        results.update({f"{name}[{i}]": part for i, part in enumerate(got if isinstance(got, tuple) else (got,))})
    for name, got in results.items():
        assert type(got) is fnad.Array and not got.flags.writeable, name
    np.testing.assert_allclose(results["grad"], 2 * x)


def test_jit_native_entry_takes_arrays_without_python():
    jf = fnad.jit(lambda x, y: x * y + 1)
    x = fnad.device_put(np.arange(4.0))
    for _ in range(tiers.PROMOTE_AFTER):  # past the one-time hook into Python (fnad_compiler.tiers)
        jf(x, x)
    entered = []
    sys.setprofile(lambda frame, event, arg: entered.append(frame.f_code.co_name) if event == "call" else None)
    try:
        out = jf(x, x)
    finally:
        sys.setprofile(None)
    assert entered == [], entered
    assert_array(out, np.arange(4.0) ** 2 + 1)
    assert_array(jf(np.arange(4.0), x), np.arange(4.0) ** 2 + 1)  # NumPy and fnad arrays mixed
    out2 = fnad.jit(lambda x: (x, x * 2))(x)  # several outputs: each an Array
    assert type(out2) is tuple and all(type(o) is fnad.Array and not o.flags.writeable for o in out2)


# ----------------------------------------------------------------------------------------------
# The rest of the surface: repr, copies, pickling, devices


def test_repr_and_str_like_jax():
    # JAX: repr(jnp.arange(3.)), jnp.arange(3), jnp.array([True, False]), jnp.float32(1.5), jnp.zeros((0, 3))
    assert repr(fnp.arange(3.0)) == "Array([0., 1., 2.], dtype=float64)"
    assert repr(fnp.arange(3)) == "Array([0, 1, 2], dtype=int64)"
    assert repr(fnp.array([True, False])) == "Array([ True, False], dtype=bool)"
    assert repr(fnp.asarray(1.5, np.float32)) == "Array(1.5, dtype=float32)"
    assert repr(fnp.zeros((0, 3))) == "Array([], shape=(0, 3), dtype=float64)"
    assert repr(fnp.arange(10.0)[20:30]) == "Array([], shape=(0,), dtype=float64)"
    assert repr(fnp.zeros(0, np.float32)) == "Array([], shape=(0,), dtype=float32)"
    assert repr(fnp.ones((2, 3))) == "Array([[1., 1., 1.],\n       [1., 1., 1.]], dtype=float64)"
    assert str(fnp.arange(3.0)) == "[0. 1. 2.]"
    assert f"{fnp.asarray(2.5):.3f}" == "2.500"


def test_copies_and_pickling_stay_immutable_arrays():
    x = fnp.arange(4.0)
    for y in (copy.copy(x), copy.deepcopy(x), pickle.loads(pickle.dumps(x))):
        assert_array(y, np.arange(4.0))
        assert not np.shares_memory(y, x)
    y = x.copy()  # a fresh buffer NumPy code may fill (see test_the_numpy_calls_plotting_libraries_make)
    assert type(y) is fnad.Array and not np.shares_memory(y, x)
    np.testing.assert_array_equal(y, np.arange(4.0))
    with pytest.raises(TypeError, match="immutable"):
        y[0] = 1.0
    np.testing.assert_array_equal(np.array(x), np.arange(4.0))
    assert np.array(x).flags.writeable and type(np.array(x)) is np.ndarray  # a NumPy copy to mutate


def test_iteration_and_python_conversions():
    rows = list(fnp.arange(6.0).reshape(2, 3))
    assert all(type(r) is fnad.Array for r in rows)
    np.testing.assert_array_equal(rows[1], [3.0, 4.0, 5.0])
    assert [type(v) for v in fnp.arange(2)] == [fnad.Array, fnad.Array]
    assert float(fnp.asarray(2.5)) == 2.5 and int(fnp.asarray(3)) == 3 and [0, 1, 2][fnp.asarray(1)] == 1
    assert fnp.arange(3).tolist() == [0, 1, 2] and fnp.arange(3.0)[1].item() == 1.0
    with pytest.raises(TypeError, match="unhashable"):
        hash(fnp.arange(3))


def test_array_is_made_by_fnad_not_instantiated():
    with pytest.raises(TypeError, match="device_put"):
        fnad.Array((3,))
    assert isinstance(fnp.ones(2), fnad.Array) and not isinstance(np.ones(2), fnad.Array)


def test_devices_device_put_block_until_ready():
    (cpu,) = fnad.devices()
    assert repr(cpu) == "CpuDevice(id=0)" and str(cpu) == "cpu:0"  # JAX: jax.devices() -> [CpuDevice(id=0)]
    assert cpu.platform == "cpu" and cpu.id == 0 and fnad.devices("cpu") == [cpu]
    with pytest.raises(RuntimeError, match="backend"):
        fnad.devices("gpu")
    x = fnp.arange(3.0)
    assert x.device is cpu and x.devices() == {cpu}
    assert x.block_until_ready() is x
    tree = {"a": x, "b": [1.0, np.float32(2.0)], "c": np.ones(2)}
    assert fnad.block_until_ready(tree) is tree
    put = fnad.device_put(tree, cpu)
    assert_array(put["a"], [0.0, 1.0, 2.0])
    assert_array(put["b"][0], 1.0, np.float64)
    assert_array(put["b"][1], 2.0, np.float32)
    assert_array(put["c"], [1.0, 1.0])
    with pytest.raises(TypeError, match="device"):
        fnad.device_put(x, "gpu")
    assert pickle.loads(pickle.dumps(cpu)) is cpu
    assert fnad.device_count() == fnad.local_device_count() == 1 and fnad.local_devices() == [cpu]
    assert fnad.local_devices(process_index=0) == [cpu]
    with pytest.raises(ValueError, match="process_index"):
        fnad.local_devices(process_index=1)
    got = fnad.device_get(tree)  # JAX: Arrays and NumPy scalars become ndarrays, the rest stays
    assert type(got["a"]) is np.ndarray and not got["a"].flags.writeable and np.shares_memory(got["a"], x)
    assert got["b"][0] == 1.0 and type(got["b"][0]) is float
    assert type(got["b"][1]) is np.ndarray and got["b"][1].dtype == np.float32 and got["b"][1] == 2.0
    assert got["c"] is tree["c"]


# ----------------------------------------------------------------------------------------------
# A NumPy citizen


def test_numpy_sees_a_zero_copy_read_only_ndarray():
    x = fnp.arange(5.0)
    view = np.asarray(x)
    assert type(view) is np.ndarray and np.shares_memory(view, x) and not view.flags.writeable
    assert isinstance(x, np.ndarray)
    # NumPy's ufuncs and functions return NumPy values (as for JAX arrays), mutable and not aliased
    y = fnp.array([3.0, 1.0, 2.0])
    for got, want in [
        (np.sin(x), np.sin(np.arange(5.0))),
        (np.add(x, x), 2 * np.arange(5.0)),
        (np.concatenate([x, y]), [0, 1, 2, 3, 4, 3, 1, 2.0]),
        (np.where(x > 2, x, 0.0), [0, 0, 0, 3, 4.0]),
        (np.sort(y), [1.0, 2.0, 3.0]),  # NumPy sorts a copy in place: it must be NumPy's
        (np.median(y), 2.0),
        (np.sum(x), 10.0),
        (np.mean(x), 2.0),
        (np.percentile(y, 50), 2.0),
    ]:
        assert type(got) in (np.ndarray, np.float64) and not np.shares_memory(got, x)
        np.testing.assert_array_equal(got, want)
    assert_array(y, [3.0, 1.0, 2.0])
    assert_array(y.sort(), [1.0, 2.0, 3.0])  # the method is JAX's (a sorted copy)
    with pytest.raises(TypeError, match="out="):
        x.sum(out=np.zeros(()))
    # mixing with NumPy arrays in operators gives fnad Arrays from either side
    assert_array(np.ones(5) + x, np.arange(1.0, 6.0))
    assert_array(x * np.ones(5), np.arange(5.0))


def test_the_numpy_calls_plotting_libraries_make():
    # matplotlib (not installed here) turns data into arrays with these calls before plotting
    x = fnp.array([1.0, np.nan, 3.0])
    masked = np.ma.masked_invalid(x)
    assert masked.mask.tolist() == [False, True, False] and masked.sum() == 4.0
    assert type(np.atleast_1d(fnp.asarray(2.0))) is np.ndarray and np.atleast_1d(fnp.asarray(2.0)).shape == (1,)
    np.testing.assert_array_equal(np.column_stack([fnp.arange(2.0), fnp.ones(2)]), [[0.0, 1.0], [1.0, 1.0]])
    assert np.asanyarray(x) is x and np.isfinite(x).tolist() == [True, False, True]
    np.testing.assert_array_equal(np.ma.masked_invalid(x).filled(0.0), [1.0, 0.0, 3.0])


def test_arrays_are_not_tracked_by_the_garbage_collector_and_free_cleanly():
    import gc
    import weakref

    from fnad import array

    x = fnp.arange(3.0) + 1
    assert type(x) is fnad.Array
    assert gc.is_tracked(x) is (not array.UNTRACKED)  # untracked where CPython's layout is known (3.11)
    watched = fnad.jit(lambda v: v * 2)(x)
    gone = weakref.ref(watched)
    del watched
    assert gone() is None  # weak references are cleared as the Array goes
    for _ in range(2000):  # results made and freed by compiled code, by NumPy views and by pickling
        fnad.jit(lambda v: v * 2)(x)
        np.asarray(x).view(fnad.Array)
        pickle.loads(pickle.dumps(x))
    gc.collect()

    class Sub(fnad.Array):  # a subclass's instances are tracked again, and still free cleanly
        __slots__ = ()

    s = np.asarray(x).view(Sub)
    assert gc.is_tracked(s)
    del s
    gc.collect()
