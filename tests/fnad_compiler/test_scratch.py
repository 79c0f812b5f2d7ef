"""Scratch blocks kept between calls (`fnad_compiler.scratch`): a program's intermediates are
reused, never stale, private to each concurrent call, bounded, and freed with the program."""

import gc
import threading

import numpy as np
import pytest

import fnad
import fnad.numpy as fnp
from fnad import lax
from fnad.passes import prepare_for_compile
from fnad_compiler import cache, scratch
from fnad_compiler.runtime import compile_jaxpr


def _compile(f, *args):
    return compile_jaxpr(prepare_for_compile(fnad.make_jaxpr(f)(*args)), cache.Cache())


def _scratch_size(exe):
    return exe.program.main.globals["fnad_scratch_size"].initializer.constant


def _program(x, idx):
    """Intermediates of every kind: a fused arena, a matmul temporary, a scatter-add into zeros,
    a sort and a while_loop carry."""
    y = fnp.tanh(x @ x.T)
    acc = fnp.zeros(x.shape[0]).at[idx].add(fnp.sum(y, axis=1))
    s = fnp.sort(acc + x[:, 0])
    n = lax.while_loop(lambda c: c[0] < 5, lambda c: (c[0] + 1, c[1] * 0.5 + s), (0, s))[1]
    return fnp.sum(n * fnp.exp(-y[:, :1].T))


def _reference(x, idx):
    y = np.tanh(x @ x.T)
    acc = np.zeros(x.shape[0])
    np.add.at(acc, idx, np.sum(y, axis=1))
    s = n = np.sort(acc + x[:, 0])
    for _ in range(5):
        n = n * 0.5 + s
    return np.sum(n * np.exp(-y[:, :1].T))


@pytest.fixture
def no_gc():
    """Count idle bytes without other tests' programs releasing theirs in between."""
    gc.collect()
    gc.disable()
    yield
    gc.enable()


def _inputs(seed, n=200):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, n)) * 0.1, rng.integers(0, n, size=n)


def test_block_is_kept_and_reused_without_stale_values(no_gc):
    exe = _compile(_program, *_inputs(0))
    size = _scratch_size(exe)
    assert size > 200 * 200 * 8
    idle = scratch.idle_bytes()
    for seed in (1, 2, 1, 3):  # each call must rewrite what it reads, whatever the last call left
        args = _inputs(seed)
        np.testing.assert_allclose(exe(*args)[0], _reference(*args), rtol=1e-12)
        assert scratch.idle_bytes() == idle + size  # one block kept, taken and given back each call


def test_concurrent_calls_each_get_a_block():
    exe = _compile(_program, *_inputs(0))
    inputs = [_inputs(seed) for seed in range(8)]
    want = [_reference(*args) for args in inputs]
    errors = []

    def run(k):
        for _ in range(10):
            for i in range(k, len(inputs), 4):
                got = exe(*inputs[i])[0]
                if not np.allclose(got, want[i], rtol=1e-12):
                    errors.append((i, got, want[i]))

    threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_release_frees_the_block_with_the_program():
    exe = _compile(_program, *_inputs(0))
    size = _scratch_size(exe)
    exe(*_inputs(1))
    gc.collect()  # programs of earlier tests, if unreferenced, release theirs first
    idle = scratch.idle_bytes()
    del exe
    gc.collect()
    assert scratch.idle_bytes() == idle - size


def test_blocks_beyond_the_limit_are_freed(no_gc):
    exe = _compile(_program, *_inputs(0))
    size = _scratch_size(exe)
    old = scratch.max_idle_bytes()
    try:
        scratch.set_max_idle_bytes(scratch.idle_bytes() + size - 1)
        idle = scratch.idle_bytes()
        args = _inputs(4)
        np.testing.assert_allclose(exe(*args)[0], _reference(*args), rtol=1e-12)
        assert scratch.idle_bytes() == idle  # not kept: over the limit
        scratch.set_max_idle_bytes(idle + size)
        exe(*args)
        assert scratch.idle_bytes() == idle + size
    finally:
        scratch.set_max_idle_bytes(old)


def test_programs_without_intermediates_have_no_block():
    exe = _compile(lambda x: x * 2.0 + 1.0, np.ones(10))
    assert "fnad_scratch_slot" not in exe.program.main.globals
    np.testing.assert_array_equal(exe(np.ones(10))[0], np.full(10, 3.0))


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_limit_must_be_a_non_negative_int(bad):
    with pytest.raises(ValueError, match="max_idle_bytes"):
        scratch.set_max_idle_bytes(bad)
