"""Units: kernels compiled as modules of their own, shared by every launch and program with the
same structure, cached in memory and on disk, compiled on several threads; and the glue of long
programs left unoptimised. Each case checks the compiled values, not only the sharing."""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import fnad
import fnad.numpy as fnp
from fnad import lax
from fnad.passes import prepare_for_compile
from fnad_compiler import cache, engine, fusion
from fnad_compiler import lower as lowering
from fnad_compiler.lower.rules import SCALAR, SCALAR_COST
from fnad_compiler.runtime import compile_jaxpr


def _closed(f, *args):
    return prepare_for_compile(fnad.make_jaxpr(f)(*args))


def _program(f, *args):
    return compile_jaxpr(_closed(f, *args), cache.Cache()).program


def _check(f, *args, code_cache=None, tol=1e-12):
    """Compile f with `code_cache` (a fresh one by default) and compare with fnad's eager result."""
    exe = compile_jaxpr(_closed(f, *args), code_cache or cache.Cache())
    want = f(*args)
    for got, w in zip(exe(*args), want if isinstance(want, (list, tuple)) else [want]):
        np.testing.assert_allclose(got, w, rtol=tol, atol=tol)
    return exe


@pytest.fixture(autouse=True)
def units_for_every_kernel(monkeypatch):
    """Every kernel outside loops a unit, however small the program (see test_small_programs_...)."""
    monkeypatch.setattr(lowering, "_MIN_UNITS", 1)


X = np.random.default_rng(0).normal(size=(8, 5))
Y = np.random.default_rng(1).normal(size=(8, 5))


def test_small_programs_are_one_module(monkeypatch):
    """Unless every kernel is small: then they are units, which start quick (see test_tiers)."""
    monkeypatch.setattr(lowering, "_MIN_UNITS", 8)
    seven = lambda x: [fnp.tanh(x) * (k + 0.5) for k in range(7)]
    eight = lambda x: [fnp.tanh(x) * (k + 0.5) for k in range(8)]
    big = np.random.default_rng(2).normal(size=(400, 200))  # above tiers.QUICK_MAX_WORK
    assert _program(seven, big).units == {} and _program(seven, big).launches == 7
    assert len(_program(eight, big).units) == 8
    small = _program(seven, X)
    assert len(small.units) == 7 and small.quick_units.keys() == small.units.keys()
    _check(seven, big)
    _check(eight, big)
    _check(seven, X)


def test_identical_kernels_share_one_unit():
    f = lambda x, y: [fnp.tanh(x) * 2.0 + 1.0, fnp.tanh(y) * 2.0 + 1.0]
    _check(f, X, Y)
    program = _program(f, X, Y)
    assert program.launches == 2 and len(program.units) == 1


def test_kernels_reading_other_parts_of_arrays_share_one_unit():
    """x[i] and x[i + 1] are reads at constant offsets, which main adds to the pointers it passes."""
    x = np.random.default_rng(2).normal(size=(12, 5, 7))
    f = lambda x: [fnp.sin(x[i]) * x[i + 1] for i in range(10)]
    _check(f, x)
    program = _program(f, x)
    assert program.launches == 10 and len(program.units) == 1
    # Reversed reads, and pads reading before an array's start, are not shifted: still right.
    g = lambda x: [fnp.sin(x[i, ::-1]) * lax.pad(x[i + 1], 0.5, ((1, -1, 0), (0, 0, 0))) for i in range(10)]
    _check(g, x)


@pytest.mark.parametrize(
    "g",
    [
        lambda x: fnp.tanh(x) * 3.0 + 1.0,  # another literal
        lambda x: fnp.sinh(x) * 2.0 + 1.0,  # another primitive
        lambda x: fnp.tanh(x.T) * 2.0 + 1.0,  # the same ops through a transposed read
        lambda x: fnp.tanh(x[::-1]) * 2.0 + 1.0,  # a reversed read
        lambda x: fnp.tanh(lax.pad(x, 0.5, ((1, -1, 0), (0, 0, 0)))) * 2.0 + 1.0,  # a pad
        lambda x: fnp.tanh(lax.pad(x, 0.5, ((0, 0, 0), (2, -2, 0)))) * 2.0 + 1.0,  # another pad
        lambda x: fnp.tanh(x.astype(np.float32)).astype(np.float64) * 2.0 + 1.0,  # other dtypes inside
    ],
)
def test_kernels_that_differ_anywhere_do_not_share_code(g):
    """Kernels with the same shapes and one difference (a literal, a primitive, a layout, a pad, a
    dtype) compiled one after the other in this process: each must get its own code."""
    f = lambda x: fnp.tanh(x) * 2.0 + 1.0
    square = np.random.default_rng(2).normal(size=(6, 6))
    shared = cache.Cache()
    _check(f, square, code_cache=shared)
    _check(g, square, code_cache=shared, tol=1e-6)  # float32 inside: fnad's eager tanh is NumPy's
    assert set(_program(f, square).units).isdisjoint(_program(g, square).units)


def test_reductions_over_other_axes_do_not_share_code():
    shared = cache.Cache()
    for axes in [(0,), (1,), (0, 1)]:
        _check(lambda x: lax.reduce_sum(fnp.exp(x), axes), X, code_cache=shared)


def test_units_are_shared_across_programs_and_kept_on_disk(tmp_path):
    f = lambda x: fnp.tanh(x) * 2.0 + 1.0
    g = lambda x, y: [fnp.tanh(x) * 2.0 + 1.0, lax.reduce_max(fnp.exp(y), (1,))]
    warm = cache.Cache(disk=cache.DiskCache(tmp_path))
    _check(f, X, code_cache=warm)
    assert warm.stats()["unit_compiles"] == 1
    _check(g, X, Y, code_cache=warm)
    assert warm.stats()["unit_compiles"] == 2  # f's kernel came from memory
    fresh = cache.Cache(disk=cache.DiskCache(tmp_path))
    _check(g, X, Y, code_cache=fresh)  # the program from disk, with its two units
    assert fresh.stats()["disk_hits"] == 1 and fresh.stats()["unit_disk_hits"] == 2
    assert fresh.stats()["compiles"] == fresh.stats().get("unit_compiles", 0) == 0


def test_program_whose_unit_left_the_disk_is_rebuilt(tmp_path):
    f = lambda x, y: [fnp.tanh(x) * 2.0 + 1.0, lax.reduce_max(fnp.exp(y), (1,))]
    _check(f, X, Y, code_cache=cache.Cache(disk=cache.DiskCache(tmp_path)))
    units = [p for p in tmp_path.iterdir() if "unit" in cache._decode(p.read_bytes())[2]]
    assert len(units) == 2
    units[0].unlink()
    fresh = cache.Cache(disk=cache.DiskCache(tmp_path))
    _check(f, X, Y, code_cache=fresh)
    assert fresh.stats()["compiles"] == 1 and fresh.stats()["unit_compiles"] == 1
    assert fresh.stats()["unit_disk_hits"] == 1


def test_parallel_compiles_give_the_serial_objects(monkeypatch):
    program = _program(lambda x, y: [fnp.sin(x) * y, lax.reduce_sum(fnp.exp(x + y), (0,)), fnp.tanh(y) - x], X, Y)
    texts = list(program.units.values())
    assert len(texts) == 3
    monkeypatch.setenv("FNAD_COMPILE_THREADS", "1")
    serial = engine.compile_objects(texts)
    monkeypatch.setenv("FNAD_COMPILE_THREADS", "3")
    assert engine.compile_objects(texts) == serial == [engine.compile_object(t) for t in texts]
    monkeypatch.setenv("FNAD_COMPILE_THREADS", "many")
    with pytest.raises(ValueError, match="FNAD_COMPILE_THREADS"):
        engine.compile_objects(texts)


def test_a_unit_that_fails_to_compile_raises_in_the_caller_and_the_threads_go_on(monkeypatch):
    program = _program(lambda x, y: [fnp.sin(x) * y, lax.reduce_sum(fnp.exp(x + y), (0,)), fnp.tanh(y) - x], X, Y)
    texts = list(program.units.values())
    monkeypatch.setenv("FNAD_COMPILE_THREADS", "2")
    with pytest.raises(engine.CompileError, match="invalid LLVM IR"):
        engine.compile_objects([texts[0], "define void @broken() {\n  ret i32 0\n}\n", texts[1]])
    assert engine.compile_objects(texts) == [engine.compile_object(t) for t in texts]


FORK_SCRIPT = """
import os, sys, numpy as np, fnad, fnad.numpy as fnp
def f(x, k):
    for i in range(12):
        x = fnp.tanh(x) * 0.5 + fnp.mean(x, axis=1, keepdims=True) * k if i % 2 else fnp.sin(x) - x * x
    return fnp.sum(x)
x = np.linspace(-1.0, 1.0, 512).reshape(32, 16)
print(float(fnad.jit(fnad.grad(f))(x, 0.5).sum()), float(fnad.grad(f)(x, 0.5).sum()), flush=True)
pid = os.fork()
if pid == 0:
    g = lambda x: f(x, 0.25)
    print(float(fnad.jit(fnad.grad(g))(x).sum()), float(fnad.grad(g)(x).sum()), flush=True)
    os._exit(0)
assert os.waitpid(pid, 0)[1] == 0
"""


def test_a_forked_child_compiles_on_threads_of_its_own(tmp_path):
    """The parent's compile threads are not in a forked child: its compiles used to wait for them
    forever. Both processes compile programs of many units on two threads."""
    env = dict(os.environ, FNAD_CACHE_DIR=str(tmp_path), FNAD_COMPILE_THREADS="2")
    done = subprocess.run(
        [sys.executable, "-c", FORK_SCRIPT], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    parent, child = (line.split() for line in done.stdout.splitlines())
    for got, want in (parent, child):
        assert float(got) == pytest.approx(float(want), rel=1e-12)


def test_compile_threads_run_while_llvmlite_is_locked(monkeypatch):
    """The compile threads skip llvmlite's process-wide lock (they use only their own LLVM
    contexts), so they compile at once: here they finish while another thread holds that lock."""
    import llvmlite.binding as llvm

    program = _program(lambda x, y: [fnp.sin(x) * y, lax.reduce_sum(fnp.exp(x + y), (0,)), fnp.tanh(y) - x], X, Y)
    texts = list(program.units.values())
    monkeypatch.setenv("FNAD_COMPILE_THREADS", "2")
    serial = engine.compile_objects(texts)  # also gives the pool's threads their LLVM tools
    done = []
    with llvm.ffi.lib._lock:
        worker = threading.Thread(target=lambda: done.append(engine.compile_objects(texts)))
        worker.start()
        worker.join(120)
        assert done == [serial]
    assert not worker.is_alive()


def _long_chain(x):
    for k in range(150):
        x = fnp.sin(x) * 0.5 + x if k % 3 else x - fnp.mean(x, axis=1, keepdims=True)
    return x


def test_long_glue_is_left_unoptimised_and_still_right():
    program = _program(_long_chain, X)
    assert program.glue_only and program.launches >= 64
    _check(_long_chain, X)
    looped = lambda x: lax.fori_loop(0, 2, lambda i, x: x * 0.5, _long_chain(x))
    assert not _program(looped, X).glue_only
    _check(looped, X)


@pytest.mark.parametrize("batches", [1, 3, 50])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batched_matmuls_leave_main_straight_line_glue(batches, dtype):
    """Many batches of a BLAS product are one call of the gemm runtime's batched function (its loop
    is in the runtime), so a main calling units stays glue: GMM's 50 batches had made it loop, and
    LLVM's O3 and code generation took 68 ms on it."""
    rng = np.random.default_rng(5)
    a = rng.normal(size=(batches, 40, 60)).astype(dtype)
    b = rng.normal(size=(batches, 60, 30)).astype(dtype)

    def f(a, b):
        c = fnp.tanh(fnp.einsum("bmk,bkn->bmn", fnp.sin(a), b))
        return fnp.einsum("bmk,bnk->bmn", c, fnp.exp(b * 0.1)) + 1.0  # B transposed

    program = _program(f, a, b)
    assert program.units and lowering._acyclic(program.main.get_global("fnad_main"))
    _check(f, a, b, tol=1e-4 if dtype == np.float32 else 1e-12)


def test_long_fused_chains_are_cut_by_cost():
    """A chain of 400 transcendental ops is one fusible expression; its kernels stay within the cost
    bound (LLVM's time on one loop body grows faster than its length)."""

    def chain(x):
        for k in range(400):
            x = fnp.sin(x) * 0.5 + x if k % 2 else fnp.tanh(x) + 0.1
        return x

    x = np.linspace(-1, 1, 37)
    jaxpr = _closed(chain, x).jaxpr
    cost = lambda eqns: sum(1 + SCALAR_COST.get(e.primitive.name, 0) for e in eqns)
    plan = fusion.plan(jaxpr, SCALAR, costs=SCALAR_COST)
    spent = [cost(s.kernel.members) for s in plan.steps if s.kernel is not None]
    assert max(spent) <= fusion.MAX_KERNEL_COST and len(spent) >= cost(jaxpr.eqns) // fusion.MAX_KERNEL_COST
    _check(chain, x)


def test_three_thousand_op_chains_compile_in_every_mode():
    """No pass recurses as deep as the program is long (issue 19: 300 chained ops once hit
    Python's recursion limit): jit, jit(grad) and jit(jacfwd) of a 3000-op chain."""

    def chain(x):
        for k in range(3000):
            x = x * 0.999 + 0.001 if k % 2 else fnp.sin(x)
        return fnp.sum(x)

    x = np.linspace(-1, 1, 5)
    assert np.allclose(fnad.jit(chain)(x), chain(x))
    assert np.allclose(fnad.jit(fnad.grad(chain))(x), fnad.grad(chain)(x))
    assert np.allclose(fnad.jit(fnad.jacfwd(chain))(x), fnad.grad(chain)(x))


def test_a_computed_scalar_read_over_an_array_is_computed_once():
    """A chain of branchy math on a scalar, read at every element of a larger result, is its own
    kernel: inside the larger loop, LLVM's loop vectoriser ran for minutes on it (found by the fuzzer)."""

    def f(s, x):
        for k in range(40):
            s = fnp.sin(s) if k % 2 else fnp.cos(s) * 2.0
        return x * s

    s, x = np.float64(0.3), np.linspace(-1, 1, 2)
    plan = fusion.plan(_closed(f, s, x).jaxpr, SCALAR, costs=SCALAR_COST)
    [outer] = [st for st in plan.steps if st.eqn.outvars[0].aval.shape == (2,)]
    assert all(m.primitive.name not in ("sin", "cos") for m in outer.kernel.members)
    _check(f, s, x)
