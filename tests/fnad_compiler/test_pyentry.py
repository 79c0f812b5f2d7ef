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
