"""fnad_compiler.pyentry: the native builtins of executables — result forms, what they refuse (to their
fallback, with keyword arguments forwarded), the guard, constants, zero outputs, and IR free of
process-specific addresses (it is cached on disk). Threads: tests/test_jit.py."""

import ctypes
import re
import sys
import types

import numpy as np
import pytest

import fnad
import fnad.numpy as fnp
from fnad.passes import prepare_for_compile
from fnad_compiler import Executable, compile_jaxpr, pyentry


def executable(f, *args):
    return compile_jaxpr(fnad.make_jaxpr(f)(*args))


def recorder():
    calls = []

    def fallback(*args, **kwargs):
        calls.append((args, kwargs))
        return "fallback"

    return calls, fallback


def test_supported_here():
    assert pyentry.supported()  # this machine's CPython and NumPy: the native path is tested


def test_result_forms_and_constants():
    c = np.arange(4.0)
    exe = executable(lambda x: (x * c, x + 1.0), np.ones(4))
    x = np.linspace(0, 1, 4)
    assert isinstance(type(exe).__call__, types.BuiltinFunctionType)
    _, fallback = recorder()
    for form, kind in (("list", list), ("tuple", tuple)):
        got = exe.entry(fallback, form)(x)
        assert type(got) is kind and len(got) == 2
        np.testing.assert_array_equal(got[0], x * c)
        np.testing.assert_array_equal(got[1], x + 1)
    single = executable(lambda x: x * 2.0, np.ones(4)).entry(fallback, "single")
    out = single(x)
    assert type(out) is fnad.Array and out.flags.c_contiguous and not out.flags.writeable  # immutable results
    np.testing.assert_array_equal(out, 2 * x)
    np.testing.assert_array_equal(single(out), 4 * x)  # an fnad.Array is taken natively, as an ndarray
    with pytest.raises(ValueError, match="result form"):
        exe.entry(fallback, "single")
    with pytest.raises(ValueError, match="result form"):
        exe.entry(fallback, "dict")


def test_no_outputs():
    exe = executable(lambda x: [], np.ones(2))
    assert exe(np.ones(2)) == [] and exe.entry(print, "tuple")(np.ones(2)) == ()


@pytest.mark.parametrize(
    "args,kwargs",
    [
        ((np.ones(3),), {}),  # too few
        ((np.ones(3), np.ones(3), np.ones(3)), {}),  # too many
        ((np.ones(3), np.ones(3)), {"scale": 2}),  # keywords
        ((np.ones(4), np.ones(3)), {}),  # shape
        ((np.ones((3, 1)), np.ones(3)), {}),  # ndim
        ((np.ones(3, np.float32), np.ones(3)), {}),  # dtype
        ((np.ones(3), np.ones(6)[::2]), {}),  # not contiguous
        ((np.ones(3).view(np.ma.MaskedArray), np.ones(3)), {}),  # a subclass
        ((np.ones(3), [1.0, 1.0, 1.0]), {}),  # not an array
        ((np.ones(3), np.frombuffer(b"\0" + bytes(24), np.float64, 3, 1)), {}),  # misaligned
    ],
)
def test_refused_calls_go_to_the_fallback_with_their_arguments(args, kwargs):
    exe = executable(lambda x, y: x * y, np.ones(3), np.ones(3))
    calls, fallback = recorder()
    entry = exe.entry(fallback)
    assert entry(*args, **kwargs) == "fallback"
    ((got_args, got_kwargs),) = calls
    assert len(got_args) == len(args) and all(a is b for a, b in zip(got_args, args)) and got_kwargs == kwargs
    np.testing.assert_array_equal(entry(np.ones(3), np.full(3, 2.0))[0], np.full(3, 2.0))
    assert len(calls) == 1


def test_guard_sends_every_call_to_the_fallback():
    exe = executable(lambda x: x + 1.0, np.ones(2))
    guard = ctypes.c_int64(0)
    calls, fallback = recorder()
    entry = exe.entry(fallback, "single", guard)
    x = np.ones(2)
    np.testing.assert_array_equal(entry(x), x + 1)
    guard.value = 1
    assert entry(x) == "fallback" and len(calls) == 1
    guard.value = 0
    np.testing.assert_array_equal(entry(x), x + 1)
    with pytest.raises(TypeError, match="8-byte"):
        exe.entry(fallback, "single", ctypes.c_int32(0))


def test_fallback_errors_propagate_and_nothing_leaks():
    exe = executable(lambda x: x * 3.0, np.ones(2))

    def fallback(*args):
        raise KeyError("refused")

    entry = exe.entry(fallback, "single")
    x, bad = np.ones(2), np.ones(3)
    before = sys.getrefcount(x), sys.getrefcount(bad), sys.getrefcount(fallback)
    for _ in range(50):
        out = entry(x)
        with pytest.raises(KeyError, match="refused"):
            entry(bad)
    after = sys.getrefcount(x), sys.getrefcount(bad), sys.getrefcount(fallback)
    assert after == before
    count = sys.getrefcount(out)
    assert count == 2


def test_ir_has_no_addresses():
    ir_text = executable(lambda x, y: x * y + 1.0, np.ones(3), np.ones(3)).llvm_ir
    assert re.search(r"define ptr @\"?fnad_entry\"?\(ptr", ir_text)
    assert "inttoptr" not in ir_text and not re.search(r"i64 \d{9,}", ir_text)


def test_without_native_entries_calls_go_through_ctypes(monkeypatch):
    """Where `supported()` is false (another NumPy/CPython layout), executables and jitted
    functions still run, through fnad_main called with ctypes."""
    monkeypatch.setattr(pyentry, "supported", lambda: False)
    exe = executable(lambda x: x * 2.0 + 1.0, np.ones(3))
    assert not exe.has_entry and type(exe) is Executable
    x = np.arange(3.0)
    np.testing.assert_array_equal(exe(x)[0], 2 * x + 1)
    jf = fnad.jit(lambda x, y: (x * y, x - y))
    for _ in range(2):
        got = jf(x, x + 1)
        assert type(got) is tuple
        np.testing.assert_array_equal(got[0], x * (x + 1))
        np.testing.assert_array_equal(got[1], -np.ones(3))
    assert type(jf) is fnad.jit_dispatch.JitFunction


def complex_executable(f, *args):
    """f compiled as jit compiles it: on the real representation of its complex values, taking and
    returning them complex (compile_jaxpr's interface)."""
    closed = fnad.make_jaxpr(f)(*args)
    return compile_jaxpr(prepare_for_compile(closed), interface=(closed.in_avals, closed.out_avals))


@pytest.mark.parametrize("shape", [(), (4,), (2, 3)])
@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_arguments_and_results_are_taken_and_returned_as_they_are(dtype, shape):
    rng = np.random.default_rng(0)
    z = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    x = rng.standard_normal(shape).astype(z.real.dtype)
    f = lambda z, x: (z * z + x, fnp.abs(z) * x, x * 2)  # complex and real arguments and results
    exe = complex_executable(f, z, x)
    calls, fallback = recorder()
    entry = exe.entry(fallback, "tuple")
    for args in ((z, x), (fnp.asarray(z), fnp.asarray(x))):  # ndarrays and fnad.Arrays
        got = entry(*args)
        assert calls == []  # run natively
        for g, want in zip(got, (z * z + x, np.abs(z) * x, x * 2)):
            assert type(g) is fnad.Array and g.dtype == want.dtype and g.shape == shape
            assert g.flags.c_contiguous and not g.flags.writeable
            np.testing.assert_allclose(g, want, rtol=1e-6 if dtype == np.complex64 else 1e-15)
    if shape == ():  # the NumPy scalar of the dtype is read in place
        np.testing.assert_allclose(entry(dtype(z), x)[0], z * z + x, rtol=1e-6)
        assert calls == []


def test_refused_complex_arguments_go_to_the_fallback():
    z = np.arange(6) * (1 - 0.5j)
    exe = complex_executable(lambda z: z * 1j, z)
    calls, fallback = recorder()
    entry = exe.entry(fallback, "single")
    wide = np.repeat(z, 2)
    for bad in (
        wide[::2],  # not contiguous
        z.astype(np.complex64),  # another complex dtype
        z.real,  # real where complex was compiled
        z.view(np.float64).reshape(6, 2),  # the representation the code holds is not the argument
        z[:5],  # another shape
        np.frombuffer(b"\0" + z.tobytes(), np.complex128, 6, 1),  # misaligned
    ):
        assert entry(bad) == "fallback" and calls[-1][0][0] is bad
    # the executable's own call converts what it refused, as for real arguments
    np.testing.assert_array_equal(exe(wide[::2])[0], z * 1j)
    np.testing.assert_array_equal(exe(np.frombuffer(b"\0" + z.tobytes(), np.complex128, 6, 1))[0], z * 1j)
    with pytest.raises(TypeError, match="input 0 has dtype complex64, but the function was compiled for complex128"):
        exe(z.astype(np.complex64))
    with pytest.raises(TypeError, match="input 0 has dtype float64, but the function was compiled for complex128"):
        exe(z.view(np.float64).reshape(6, 2))
    with pytest.raises(ValueError, match=r"input 0 has shape \(5,\), but the function was compiled for shape \(6,\)"):
        exe(z[:5])


def test_complex_scalars():
    weak = complex_executable(lambda c: c * c, 1 + 2j)  # a Python complex: weakly typed complex128
    strong = complex_executable(lambda c: c * c, np.complex64(1 + 2j))
    calls, fallback = recorder()
    weak_entry, strong_entry = weak.entry(fallback, "single"), strong.entry(fallback, "single")
    for c in (1.5 - 2j, complex(-3, 0.25)):
        got = weak_entry(c)
        assert type(got) is fnad.Array and got.dtype == np.complex128 and got == c * c
    got = strong_entry(np.complex64(1.5 - 2j))
    assert got.dtype == np.complex64 and got == np.complex64(1.5 - 2j) ** 2
    assert calls == []
    # arrays are not taken for a weak input; Python complexes not for a strong one, nor the other dtype
    for entry, arg in ((weak_entry, np.asarray(1j)), (strong_entry, 1j), (strong_entry, np.complex128(1j))):
        assert entry(arg) == "fallback" and calls[-1][0][0] is arg
    assert weak(1j)[0] == -1 and strong(1j)[0] == -1 and strong(1j)[0].dtype == np.complex64


def test_interface_must_match_the_compiled_values():
    closed = fnad.make_jaxpr(lambda z: z * 2)(np.ones(3, np.complex64))
    prepared = prepare_for_compile(closed)
    for interface in (([closed.in_avals[0].update(shape=(4,))], closed.out_avals), ([], closed.out_avals)):
        with pytest.raises(ValueError, match="interface .* does not match the jaxpr's inputs and outputs"):
            compile_jaxpr(prepared, interface=interface)


def test_python_scalars_only_for_weak_inputs_of_their_own_dtype():
    """A Python float holds a double: a weakly typed float32 input (made here by hand) must not read it."""
    calls, fallback = recorder()
    weak64 = executable(lambda x: x * 2, 1.5).entry(fallback, "single")  # a Python float: weakly typed float64
    assert weak64(1.5) == 3.0 and calls == []
    exe = executable(lambda x: x * 2, np.float32(1.5))
    weak32 = pyentry.make_entry(exe.library, [], [exe.in_avals[0].update(weak_type=True)], 1, fallback, "single")
    assert weak32(1.5) == "fallback" and weak32(np.float32(1.5)) == "fallback" and len(calls) == 2
