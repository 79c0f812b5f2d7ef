"""Threads: trace state (the interpreter stack and the innermost staging trace) belongs to the thread
that pushed it, so calls of compiled functions from some threads return arrays while other threads
trace and compile, eager transforms running in several threads at once don't see each other's
tracers, and threads calling one function for the first time at the same time all get its values.
Every value is checked exactly (inputs are small integers, so NumPy's results are exact)."""

import sys
import threading
import time

import numpy as np
import pytest

import fnad
import fnad.numpy as fnp
from fnad import jit_dispatch
from fnad_compiler import parallel

_SECONDS = 1.0  # how long the callers run alongside the compiling threads, per thread count


@pytest.fixture(autouse=True)
def tiny_per_ir_cache(monkeypatch):
    """Evict from the in-memory caches (signatures, IR derived per jitted IR) all the time, so that
    threads look entries up while others evict them."""
    monkeypatch.setattr(jit_dispatch, "_CACHE_ENTRIES", 2)


@pytest.fixture(autouse=True)
def frequent_switches():
    """Switch threads every 10 us (not 5 ms), so that calls land inside other threads' traces,
    which take well under the default interval."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(before)


def _run(workers, seconds):
    """Run each `worker(stop, failures)` in its own thread until `stop` is set after `seconds`;
    the failures they report (a list of strings, the first ones kept)."""
    stop, failures = threading.Event(), []

    def guarded(worker):
        try:
            worker(stop, failures)
        except BaseException as e:  # noqa: BLE001 - reported below, with the thread's work
            failures.append(f"{worker.__name__}: {type(e).__name__}: {e}")

    threads = [threading.Thread(target=guarded, args=(w,), daemon=True) for w in workers]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return failures


def _check(failures, what, got, want):
    """Record a failure unless `got` has the type, dtype and exact values of NumPy's `want`."""
    if type(want) in (tuple, list, dict):
        if type(got) is not type(want) or len(got) != len(want):
            failures.append(f"{what}: got {type(got).__name__} {got!r:.200}")
            return
        keys = sorted(want) if type(want) is dict else range(len(want))
        for k in keys:
            _check(failures, f"{what}[{k!r}]", got[k], want[k])
        return
    if type(got) is not fnad.Array or got.dtype != want.dtype or not np.array_equal(got, want):
        failures.append(f"{what}: got {type(got).__name__} {got!r:.200}, want {want!r:.200}")


def _compiled_cases():
    """(name, jitted function, args, NumPy's result) for every dispatch path of a compiled call:
    native entries (0-d, tuple result, a large loop run in parallel without the GIL), the Python
    fast path (dict result), `_call` (a Python scalar argument, a static argument)."""
    x0, y0 = np.array(3.0), np.array(-2.0)
    v = np.arange(-500, 500, dtype=np.float64)
    big = np.arange(300_000, dtype=np.float64) % 1000
    ints = np.arange(12, dtype=np.int32).reshape(3, 4)
    cases = [
        ("mul_add", fnad.jit(lambda x, y: x * y + 1), (x0, y0), x0 * y0 + 1),
        ("pair", fnad.jit(lambda x: (x * 2, fnp.sum(x * x))), (v,), (v * 2, np.sum(v * v))),
        ("big", fnad.jit(lambda x: x * 3 - 1), (big,), big * 3 - 1),
        (
            "dict",
            fnad.jit(lambda m: {"a": m + 1, "b": fnp.max(m, axis=1)}),
            (ints,),
            {"a": ints + 1, "b": np.max(ints, axis=1)},
        ),
        ("scalar", fnad.jit(lambda x, s: x * s), (v, 3.0), v * 3.0),
        ("static", fnad.jit(lambda x, n: x**n, static_argnums=1), (v, 3), v**3),
    ]
    for name, f, args, want in cases:  # compiled before the threads start
        failures = []
        _check(failures, name, f(*args), want)
        assert not failures, failures
    return cases


def _caller(cases):
    def caller(stop, failures):
        calls = 0
        while not stop.is_set() or calls == 0:
            for name, f, args, want in cases:
                _check(failures, name, f(*args), want)
                calls += 1
            del failures[20:]

    return caller


def _compiler(seed, mul_add):
    """Trace and compile new functions over and over: new jit instances of grad and vmap, new
    shapes of a function the callers use, and new functions that call it while being traced."""

    def compiler(stop, failures):
        i = seed
        while not stop.is_set():
            i += 1
            n = 1 + i % 7
            x = np.arange(n, dtype=np.float64) - 2
            k = float(i % 5)
            _check(failures, f"grad[{i}]", fnad.jit(fnad.grad(lambda x: fnp.sum(x * x * x) * k))(x), 3 * x * x * k)
            _check(
                failures,
                f"vmap[{i}]",
                fnad.jit(fnad.vmap(lambda r: fnp.sum(r) + k))(x.reshape(1, n)),
                np.array([x.sum() + k]),
            )
            _check(failures, f"nested[{i}]", fnad.jit(lambda x: mul_add(x, x) * k)(x), (x * x + 1) * k)
            shape = np.full(100 + i, 2.0)  # a new signature of a function the callers call
            _check(failures, f"new shape[{i}]", mul_add(shape, shape), np.full(100 + i, 5.0))
            del failures[20:]

    return compiler


_cube_sum = fnad.jit(lambda x: fnp.sum(x * x * x))


def _eager(seed):
    def eager(stop, failures):
        i = seed
        while not stop.is_set():
            i += 1
            x = np.arange(1 + i % 6, dtype=np.float64) - 1
            k = float(i % 4)
            # (fnp.full and fnp.arange make values of the innermost trace: this thread's)
            _check(
                failures,
                f"eager grad[{i}]",
                fnad.grad(lambda x: fnp.sum(x * x * x * fnp.full(x.shape, k)))(x),
                3 * x * x * k,
            )
            m = x.reshape(-1, 1) + np.arange(3.0)
            _check(
                failures,
                f"eager vmap[{i}]",
                fnad.vmap(lambda r: fnp.dot(r, r) + fnp.arange(3.0)[1] * k)(m),
                np.sum(m * m, axis=1) + k,
            )
            _check(failures, f"eager jvp[{i}]", fnad.jvp(lambda x: x * x * k, (x,), (np.ones_like(x),))[1], 2 * x * k)
            # derived IR of a jitted function comes from the shared per-IR cache (kept tiny by the test)
            _check(failures, f"grad of jit[{i}]", fnad.grad(_cube_sum)(x), 3 * x * x)
            del failures[20:]

    return eager


@pytest.fixture
def num_threads():
    """Set fnad's threads per parallel loop for a test, and restore the previous count."""
    before = parallel.get_num_threads()
    yield parallel.set_num_threads
    parallel.set_num_threads(before)


@pytest.mark.parametrize("loop_threads", [1, 3])
def test_compiled_calls_return_arrays_while_other_threads_trace(num_threads, loop_threads):
    num_threads(loop_threads)
    cases = _compiled_cases()
    mul_add = cases[0][1]
    workers = (
        [_caller(cases) for _ in range(8)] + [_compiler(s, mul_add) for s in (0, 1000)] + [_eager(s) for s in (0, 1000)]
    )
    failures = _run(workers, _SECONDS)
    assert not failures, "\n".join(failures[:20])


def test_eager_transforms_in_several_threads_see_only_their_own_tracers():
    failures = _run([_eager(s) for s in (0, 100, 200, 300)], 0.5)
    assert not failures, "\n".join(failures[:20])


def test_first_calls_of_one_function_from_several_threads_at_once():
    for round_ in range(6):
        k = float(round_)
        f = fnad.jit(lambda x, y: fnp.sum(x * y, axis=0) + k)
        g = fnad.jit(fnad.grad(lambda x: fnp.sum(x * x) * k))
        x = np.arange(12.0).reshape(4, 3)
        barrier, failures = threading.Barrier(6), []

        def first_call():
            try:
                barrier.wait()
                _check(failures, "f", f(x, x), np.sum(x * x, axis=0) + k)
                _check(failures, "g", g(x), 2 * x * k)
            except BaseException as e:  # noqa: BLE001 - reported by the assertion
                failures.append(f"{type(e).__name__}: {e}")

        threads = [threading.Thread(target=first_call) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not failures, "\n".join(failures[:20])


def test_calls_while_another_thread_stages_run_native_code_not_the_python_dispatch():
    jf = fnad.jit(lambda x, y: x * y + 1)
    x, y = np.array(3.0), np.array(-2.0)
    jf(x, y)
    inside, release = threading.Event(), threading.Event()

    def stage(v):
        inside.set()
        release.wait(30)
        return jf(v, v)

    stager = threading.Thread(target=lambda: fnad.make_jaxpr(stage)(x))
    stager.start()
    try:
        assert inside.wait(30)
        entered = []

        def profile(frame, event, arg):
            if event == "call":
                entered.append(frame.f_code.co_name)

        sys.setprofile(profile)
        try:
            got = jf(x, y)
        finally:
            sys.setprofile(None)
    finally:
        release.set()
        stager.join(30)
    assert type(got) is fnad.Array and got == x * y + 1
    assert "_call" not in entered and "_entry" not in entered, entered


def test_per_ir_cache_survives_lookups_racing_evictions(monkeypatch):
    """Threads hit entries of the per-IR cache that other threads are evicting (a lookup that found
    an entry must not fail to move it to the front)."""
    monkeypatch.setattr(jit_dispatch, "_CACHE_ENTRIES", 8)
    closed = [fnad.make_jaxpr(lambda x, k=k: x * k)(1.0) for k in range(6)]
    derive = lambda c, k: (c.jaxpr.outvars[0].aval.shape, k)

    def worker(k):
        def hammer(stop, failures):
            while not stop.is_set():
                for c in closed[k : k + 3]:
                    got = jit_dispatch._per_jaxpr(derive, c, k)
                    if got != ((), k):
                        failures.append(f"thread {k}: got {got}")

        return hammer

    failures = _run([worker(k) for k in range(4)], 0.5)
    assert not failures, "\n".join(failures[:20])
