"""Tiers (fnad_compiler.tiers): small units start as quick code, a program called often has them
compiled fully in the background and swapped in, and a later process finds the full code on disk.
Each case checks the values computed before and after the swap against eager fnad."""

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
from fnad_compiler import cache, tiers
from fnad_compiler import lower as lowering
from fnad_compiler.runtime import compile_jaxpr

X = np.random.default_rng(0).normal(size=(8, 5))
BIG = np.random.default_rng(1).normal(size=(600, 500))  # above QUICK_MAX_VECTORISED_WORK


@pytest.fixture(autouse=True)
def units_for_every_kernel(monkeypatch):
    monkeypatch.setattr(lowering, "_MIN_UNITS", 1)
    monkeypatch.delenv("FNAD_COMPILE_TIERS", raising=False)


def _f(x):
    return [fnp.sin(x) * 2.0 + 1.0, lax.reduce_sum(fnp.exp(x) * x, (1,)), fnp.tanh(x) - x * x]


def _compile(f, x, code_cache):
    return compile_jaxpr(prepare_for_compile(fnad.make_jaxpr(f)(x)), code_cache)


def _check(exe, f, x):
    for got, want in zip(exe(x), f(x)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def _levels(exe):
    return sorted(d.level for d in exe.library._dependencies if isinstance(d, tiers.UnitSlot))


def test_small_units_start_quick_and_are_promoted_after_many_calls():
    code_cache = cache.Cache()
    exe = _compile(_f, X, code_cache)
    n = len(exe.program.units)
    assert n == 3 and code_cache.stats()["quick_unit_compiles"] == n
    assert _levels(exe) == [tiers.QUICK_SCALAR_LEVEL] * n  # sums too: they add in lanes, as full code does
    for _ in range(tiers.PROMOTE_AFTER - 1):
        _check(exe, _f, X)
    tiers.settle()
    assert code_cache.stats().get("promotions", 0) == 0  # not called often enough yet
    _check(exe, _f, X)  # the PROMOTE_AFTERth call
    tiers.settle()
    assert code_cache.stats()["promotions"] == n
    assert _levels(exe) == [tiers.FULL_LEVEL] * n
    _check(exe, _f, X)


def test_calls_racing_with_the_swap_stay_right():
    exe = _compile(_f, X, cache.Cache())
    errors = []

    def calls():
        try:
            for _ in range(3 * tiers.PROMOTE_AFTER):
                _check(exe, _f, X)
        except AssertionError as e:
            errors.append(e)

    threads = [threading.Thread(target=calls) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tiers.settle()
    assert not errors and _levels(exe) == [tiers.FULL_LEVEL] * 3
    _check(exe, _f, X)


def test_promoted_units_are_found_on_disk_by_a_later_process(tmp_path):
    first = cache.Cache(disk=cache.DiskCache(tmp_path))
    exe = _compile(_f, X, first)
    for _ in range(tiers.PROMOTE_AFTER):
        exe(X)
    tiers.settle()
    later = cache.Cache(disk=cache.DiskCache(tmp_path))  # a new process's cache
    exe = _compile(_f, X, later)
    assert later.stats()["disk_hits"] == 1 and later.stats()["unit_disk_hits"] == 3
    assert _levels(exe) == [tiers.FULL_LEVEL] * 3
    _check(exe, _f, X)


def test_quick_units_from_disk_are_promoted_from_a_new_lowering(tmp_path):
    _compile(_f, X, cache.Cache(disk=cache.DiskCache(tmp_path)))  # stored quick, never promoted
    later = cache.Cache(disk=cache.DiskCache(tmp_path))
    exe = _compile(_f, X, later)
    assert later.stats()["disk_hits"] == 1 and _levels(exe) == [tiers.QUICK_SCALAR_LEVEL] * 3
    for _ in range(tiers.PROMOTE_AFTER):
        _check(exe, _f, X)
    tiers.settle()
    assert later.stats()["promotions"] == 3 and _levels(exe) == [tiers.FULL_LEVEL] * 3
    _check(exe, _f, X)


def test_units_with_much_work_are_compiled_fully_at_once():
    code_cache = cache.Cache()
    exe = _compile(_f, BIG, code_cache)
    assert exe.program.quick_units == {} and code_cache.stats().get("quick_unit_compiles", 0) == 0
    assert _levels(exe) == [tiers.FULL_LEVEL] * 3
    assert "fnad_calls" not in exe.library.names  # nothing to promote: main does not count
    _check(exe, _f, BIG)


def test_environment_chooses_full_or_quick_only(monkeypatch):
    monkeypatch.setenv("FNAD_COMPILE_TIERS", "full")
    code_cache = cache.Cache()
    exe = _compile(_f, X, code_cache)
    assert code_cache.stats().get("quick_unit_compiles", 0) == 0 and _levels(exe) == [tiers.FULL_LEVEL] * 3
    _check(exe, _f, X)
    monkeypatch.setenv("FNAD_COMPILE_TIERS", "quick")
    code_cache = cache.Cache()
    exe = _compile(_f, X, code_cache)
    for _ in range(2 * tiers.PROMOTE_AFTER):
        _check(exe, _f, X)
    tiers.settle()
    assert code_cache.stats().get("promotions", 0) == 0 and _levels(exe) == [tiers.QUICK_SCALAR_LEVEL] * 3
    monkeypatch.setenv("FNAD_COMPILE_TIERS", "fast")
    with pytest.raises(ValueError, match="FNAD_COMPILE_TIERS must be one of auto, full, quick, got 'fast'"):
        _compile(_f, X, cache.Cache())


def test_jit_of_a_gradient_is_right_in_both_tiers():
    """The path users take: jit(grad(f)) of a program with enough kernels to have units."""

    def loss(x):
        for k in range(4):
            x = fnp.tanh(x @ X.T[:, :5] * 0.3) + fnp.sin(x) * 0.1 * k
        return fnp.sum(x * x)

    g = fnad.jit(fnad.grad(loss))
    want = fnad.grad(loss)(X[:5])
    for _ in range(tiers.PROMOTE_AFTER + 2):
        np.testing.assert_allclose(g(X[:5]), want, rtol=1e-12, atol=1e-12)
        tiers.settle()


def test_a_process_exits_cleanly_while_a_promotion_is_in_flight(tmp_path):
    code = (
        "import numpy as np, fnad, fnad.numpy as fnp\n"
        "f = fnad.jit(lambda x: [fnp.sin(x) * k + fnp.exp(x) for k in range(4)])\n"
        "x = np.linspace(0.0, 1.0, 100)\n"
        f"for _ in range({tiers.PROMOTE_AFTER}): f(x)\n"
        "print('done')\n"
    )
    env = dict(os.environ, FNAD_CACHE_DIR=str(tmp_path))
    run = subprocess.run(
        [sys.executable, "-c", code], check=False, env=env, capture_output=True, text=True, timeout=300
    )
    assert (run.returncode, run.stdout, run.stderr) == (0, "done\n", "")


@pytest.mark.parametrize(
    "kernel, vectorised",
    [(lambda x: x * 2.0 + 1.0, False), (lambda x: fnp.tanh(x) * 2.0, True), (lambda x: fnp.sum(x * x), True)],
    ids=["arithmetic", "vector math", "reduction"],
)
def test_quick_code_is_vectorised_only_where_it_calls_vector_math_or_reduces(kernel, vectorised):
    """Unvectorised, vector math runs scalar and unoptimised, and sums run sequentially."""
    from fnad_compiler import engine

    program = lowering.lower(prepare_for_compile(fnad.make_jaxpr(kernel)(np.ones(4096))), counted=True)
    (text,) = program.units.values()
    assert program.quick_units
    optimised = str(engine.optimize(engine.parse(text), tiers.QUICK_LEVEL))
    assert ("x double>" in optimised) is vectorised  # unoptimised code keeps the scalar loop


def test_units_whose_quick_code_is_vectorised_may_start_quick_with_more_work():
    x = np.ones(tiers.QUICK_MAX_WORK * 2)
    quick = lambda f: lowering.lower(prepare_for_compile(fnad.make_jaxpr(f)(x)), counted=True).quick_units
    assert not quick(lambda x: x * 2.0 + 1.0)  # unoptimised quick code would cost too much here
    assert quick(lambda x: fnp.tanh(x) * 2.0) and quick(lambda x: fnp.sum(x * x))
    assert tiers.QUICK_MAX_VECTORISED_WORK > tiers.QUICK_MAX_WORK * 2


def test_vector_math_over_more_elements_starts_vectorised_and_arithmetic_and_its_sums_unoptimised():
    mid = np.random.default_rng(3).normal(size=(100, 50))  # above QUICK_SCALAR_MAX_WORK
    assert tiers.QUICK_SCALAR_MAX_WORK < mid.size <= tiers.QUICK_MAX_WORK
    levels = lambda f: list(
        lowering.lower(prepare_for_compile(fnad.make_jaxpr(f)(mid)), counted=True).quick_units.values()
    )
    assert levels(lambda x: fnp.tanh(x) * 2.0) == [tiers.QUICK_LEVEL]
    assert levels(lambda x: x * 2.0 + 1.0) == [tiers.QUICK_SCALAR_LEVEL]
    assert levels(lambda x: fnp.sum(x * x)) == [tiers.QUICK_SCALAR_LEVEL]  # adds in lanes, as full code does
    assert levels(lambda x: fnp.sum(fnp.exp(x))) == [tiers.QUICK_LEVEL]  # for the math, as tanh
    code_cache = cache.Cache()
    exe = _compile(_f, mid, code_cache)
    assert _levels(exe) == [tiers.QUICK_LEVEL] * 3  # each calls vector math
    _check(exe, _f, mid)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sums_and_products_give_the_same_bits_in_quick_and_full_code(dtype):
    """Float sums and products add in lanes written into the IR, so the unoptimised and vectorised
    quick code and the full code all round alike: a program's results do not change when it is
    promoted."""
    rng = np.random.default_rng(4)
    f = lambda x: [
        fnp.sum(x * x),
        fnp.sum(x - 0.5, axis=-1),
        fnp.prod(1.0 + x * 1e-3, axis=-1),
        fnp.mean(x, axis=0),
        fnp.sum(fnp.exp(x), axis=-1),
    ]
    shapes = [(37,), (300, 17), (5, 1000), (100_000,)]  # unoptimised quick code, and vectorised (the last)
    for shape in shapes:
        x = rng.uniform(-1, 2, shape).astype(dtype)
        exe = _compile(f, x, cache.Cache())
        assert all(level < tiers.FULL_LEVEL for level in _levels(exe)), shape
        before = exe(x)
        for _ in range(tiers.PROMOTE_AFTER):
            exe(x)
        tiers.settle()
        assert _levels(exe) == [tiers.FULL_LEVEL] * len(_levels(exe)), shape
        for quick, full, want in zip(before, exe(x), f(x)):
            np.testing.assert_array_equal(quick, full, strict=True)
            np.testing.assert_allclose(full, want, rtol=1e-4 if dtype == np.float32 else 1e-12)


def test_unvectorised_quick_code_shared_with_a_program_of_more_work_is_promoted_at_once():
    """The unit of sin over (8, 5) is the one over (100, 50) (its loop bounds are arguments): its
    unvectorised quick code would cost the larger program too much, so it gets full code."""
    code_cache = cache.Cache()
    f = lambda x: [fnp.sin(x) * 2.0 + 1.0]
    small = _compile(f, X, code_cache)
    mid = np.random.default_rng(3).normal(size=(100, 50))
    larger = _compile(f, mid, code_cache)
    assert larger.program.units.keys() == small.program.units.keys()
    assert code_cache.stats()["promotions"] == 1 and _levels(larger) == _levels(small) == [tiers.FULL_LEVEL]
    _check(small, f, X)
    _check(larger, f, mid)


def test_a_program_with_quick_units_and_its_private_cache_are_freed_together():
    import gc
    import weakref

    code_cache = cache.Cache()
    exe = _compile(_f, X, code_cache)
    assert exe.program.quick_units
    library, code_cache = weakref.ref(exe.library), weakref.ref(code_cache)
    del exe
    gc.collect()
    assert library() is None and code_cache() is None
