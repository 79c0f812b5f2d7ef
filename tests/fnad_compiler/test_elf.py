"""fnad_compiler.elf: object code loaded without LLVM runs as LLVM's own linker would run it."""

import ctypes
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from fnad_compiler import cache, elf, engine

pytestmark = pytest.mark.skipif(not elf.supported(), reason="the ELF loader is for Linux on x86-64")

# Every relocation the loader handles: calls inside the object and out of it (PLT32, through a stub
# for libm's cos), constants in .rodata (PC32), external data through the GOT (REX_GOTPCRELX), a
# pointer stored in data (R_X86_64_64) and writable .data/.bss.
PROGRAM = r"""
@table = private unnamed_addr constant [4 x double] [double 1.5, double 2.5, double 3.5, double 4.5]
@counter = global i64 0
@start = global i64 7
@fn_pointer = global ptr @twice
@external_value = external global i64
declare double @cos(double)
declare i64 @fnad_elf_test_helper(i64)

define double @twice(double %x) noinline {
  %r = fmul double %x, 2.0
  ret double %r
}

define double @f(double %x, i64 %i) {
  %p = getelementptr [4 x double], ptr @table, i64 0, i64 %i
  %t = load volatile double, ptr %p
  %c = call double @cos(double %x)
  %g = load ptr, ptr @fn_pointer
  %w = call double %g(double %t)
  %s = fadd double %c, %w
  %n = load i64, ptr @counter
  %n1 = add i64 %n, 1
  store i64 %n1, ptr @counter
  ret double %s
}

define i64 @g(i64 %a) {
  %e = load i64, ptr @external_value
  %h = call i64 @fnad_elf_test_helper(i64 %a)
  %s0 = load i64, ptr @start
  %s = add i64 %e, %h
  %r = add i64 %s, %s0
  ret i64 %r
}
"""

_helper = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)(lambda a: 100 * a)
_external_value = ctypes.c_int64(1000)


def _resolve(name):
    if name == "fnad_elf_test_helper":
        return ctypes.cast(_helper, ctypes.c_void_p).value
    if name == "external_value":
        return ctypes.addressof(_external_value)
    return elf.process_symbol(name)


def _relocation_kinds(obj):
    sections, _ = elf._parse(obj)
    loaded = {id(s) for members in elf._regions(sections).values() for s in members}
    return {kind for _, entries in elf._relocations(obj, sections, loaded) for _, kind, _, _ in entries}


def test_relocated_code_runs_and_reaches_everything_it_references():
    obj = engine.compile_object(PROGRAM)
    assert _relocation_kinds(obj) >= {elf._R_64, elf._R_PC32, elf._R_PLT32, elf._R_REX_GOTPCRELX}
    mapped = elf.load(obj, "test", _resolve)
    f = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double, ctypes.c_int64)(mapped["f"])
    g = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)(mapped["g"])
    for i, t in enumerate([1.5, 2.5, 3.5, 4.5]):
        assert f(0.3, i) == math.cos(0.3) + 2 * t
    assert ctypes.c_int64.from_address(mapped["counter"]).value == 4
    assert g(3) == 1000 + 300 + 7
    _external_value.value = 5
    assert g(3) == 5 + 300 + 7
    # Code is mapped read+execute, never writable.
    assert _permissions(mapped["f"]) == "r-xp" and _permissions(mapped["counter"]) == "rw-p"


def _permissions(address):
    with open("/proc/self/maps") as maps:
        for line in maps:
            span, perms = line.split()[:2]
            lo, hi = (int(x, 16) for x in span.split("-"))
            if lo <= address < hi:
                return perms
    raise AssertionError(f"{address:#x} is not mapped")


def test_engine_loads_with_the_elf_loader_and_agrees_with_llvm():
    obj = engine.compile_object(PROGRAM.replace("@external_value", "@fnad_elf_test_value"))
    engine.register_symbol("fnad_elf_test_helper", ctypes.cast(_helper, ctypes.c_void_p).value)
    engine.register_symbol("fnad_elf_test_value", ctypes.addressof(_external_value))
    ours = engine.load_object(obj, ["f", "g"])
    assert isinstance(ours._tracker, elf.MappedObject)
    x = np.linspace(-3, 3, 7)
    got = [ours.function("f", ctypes.c_double, ctypes.c_double, ctypes.c_int64)(v, 2) for v in x]
    np.testing.assert_array_equal(got, np.cos(x) + 7.0)
    assert ours.function("g", ctypes.c_int64, ctypes.c_int64)(4) == _external_value.value + 400 + 7


def test_unsupported_objects_fall_back_to_llvm():
    # A common symbol: the loader refuses it, LLVM's linker loads it.
    obj = engine.compile_object(
        "@c = common global i64 0\ndefine i64 @bump() {\n  %v = load i64, ptr @c\n  %w = add i64 %v, 5\n"
        "  store i64 %w, ptr @c\n  ret i64 %w\n}\n"
    )
    with pytest.raises(elf.Unsupported, match="common symbol"):
        elf.load(obj, "common", _resolve)
    lib = engine.load_object(obj, ["bump"])
    assert not isinstance(lib._tracker, elf.MappedObject)
    bump = lib.function("bump", ctypes.c_int64)
    assert (bump(), bump()) == (5, 10)
    # Constructors would have to run at load: left to LLVM.
    ctor = engine.compile_object(
        "@llvm.global_ctors = appending global [1 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 65535, ptr @init, "
        "ptr null }]\ndeclare void @fnad_elf_test_init()\ndefine void @init() {\n  call void @fnad_elf_test_init()\n"
        "  ret void\n}\n"
    )
    with pytest.raises(elf.Unsupported, match="ctors"):
        elf.load(ctor, "ctor", _resolve)
    with pytest.raises(elf.Unsupported, match="not a 64-bit"):
        elf.load(b"\x7fELF garbage", "bad", _resolve)
    unresolved = engine.compile_object(
        "declare void @fnad_no_such_fn()\ndefine void @u() {\n  call void @fnad_no_such_fn()\n  ret void\n}\n"
    )
    with pytest.raises(elf.Unsupported, match="unresolved symbol 'fnad_no_such_fn'"):
        elf.load(unresolved, "u", _resolve)


def _run(script, cache_dir):
    env = dict(os.environ, FNAD_CACHE_DIR=str(cache_dir))
    done = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done


WARM_SCRIPT = """
import json, sys, warnings
warnings.simplefilter("error")
import numpy as np
import fnad, fnad.numpy as jnp
from fnad_compiler import cache
f = fnad.jit(lambda x, w: jnp.tanh(x @ w).sum(0))
x = np.arange(12.0, dtype=np.float32).reshape(3, 4) / 10
big = (np.arange(256 * 256, dtype=np.float32).reshape(256, 256) % 7 - 3) / 50  # gemm in blocks, parallel loops
g = fnad.jit(lambda x: jnp.sin(x) * 2.0)  # calls the huge-argument library (fnad_compiler.huge_trig)
results = [f(x, x.T).tolist(), f(big, big.T).tolist(), g(np.array([0.5, 1e60])).tolist()]
results.append(cache.default_cache().stats())
print(json.dumps([*results, sorted(m for m in sys.modules if m.startswith("llvmlite."))]))
"""


def test_a_warm_cache_process_never_loads_llvm_nor_llvmlite_ir(tmp_path):
    """Nor imports llvmlite.ir (7-10 ms): it builds no IR, not even for sin's huge-argument library.
    Only llvmlite's version is read (the host's fingerprint, `engine.host_fingerprint`)."""
    x = np.arange(12.0, dtype=np.float32).reshape(3, 4) / 10
    big = (np.arange(256 * 256, dtype=np.float32).reshape(256, 256) % 7 - 3) / 50
    cold = json.loads(_run(WARM_SCRIPT, tmp_path).stdout)
    warm = json.loads(_run(WARM_SCRIPT, tmp_path).stdout)
    np.testing.assert_allclose(cold[0], np.tanh(x @ x.T).sum(0), rtol=1e-6)
    np.testing.assert_allclose(cold[1], np.tanh(big @ big.T).sum(0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(cold[2], np.sin([0.5, 1e60]) * 2.0, rtol=1e-15)
    assert warm[:3] == cold[:3]
    assert cold[3]["compiles"] > 0 and "llvmlite.binding" in cold[4]  # the first process compiled, so loaded LLVM
    assert warm[3]["compiles"] == 0 and warm[3]["disk_hits"] > 0 and warm[4] == ["llvmlite._version"]


def test_a_wrong_remembered_host_id_is_corrected(tmp_path):
    # Only we can write the cache, but if the fingerprint ever missed a difference LLVM sees, the
    # first process that compiles notices, warns and corrects the memo.
    disk = cache.DiskCache(tmp_path)
    fingerprint = engine.host_fingerprint()
    assert fingerprint is not None
    disk.put(cache._host_key(fingerprint), b"some other host", {"host": fingerprint})
    script = WARM_SCRIPT.replace('warnings.simplefilter("error")', "")
    done = _run(script, tmp_path)
    assert "remembered host id differs" in done.stderr
    assert disk.get(cache._host_key(fingerprint)) == (engine.host_id().encode(), {"host": fingerprint})
    # Its code was stored under keys of the wrong host id: the next process compiles (without a
    # warning), the one after finds everything.
    again = json.loads(_run(WARM_SCRIPT, tmp_path).stdout)
    warm = json.loads(_run(WARM_SCRIPT, tmp_path).stdout)
    assert again[3]["compiles"] > 0 and warm[3]["compiles"] == 0 and warm[4] == ["llvmlite._version"]
    assert again[:3] == warm[:3] == json.loads(done.stdout)[:3]


def test_the_cpu_signature_is_what_llvm_reads():
    # The fingerprint that stands for LLVM's host id must see the features LLVM sees.
    words, xcr0 = elf.cpu_signature()
    regs = {(leaf, subleaf): r for leaf, subleaf, *r in words}
    ecx1 = regs[1, 0][2]
    ebx7 = regs[7, 0][1]
    host = engine.host_id()
    for name, bit in [("fma", ecx1 >> 12), ("avx2", ebx7 >> 5), ("avx512f", ebx7 >> 16), ("bmi2", ebx7 >> 8)]:
        # LLVM also requires the OS to save the vector state (XCR0) for the AVX features.
        os_saves = name in ("fma", "avx2") and xcr0 & 0x6 == 0x6 or name == "avx512f" and xcr0 & 0xE6 == 0xE6
        expected = bit & 1 and (os_saves or name == "bmi2")
        assert (f"+{name}," in host) == bool(expected), name
    script = "from fnad_compiler import elf; print(elf.cpu_signature())"
    again = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert again.strip() == str((words, xcr0))  # the same in every process (no per-core fields)
