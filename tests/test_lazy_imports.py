"""fnad's lazy package faces (fnad/_lazy.py): `import fnad, fnad.numpy` leaves the libraries a program
does not use unimported (they were half of a warm-cache cold start), and every public name is still
there, the same object on every access."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fnad
import fnad.numpy as fnp

# Modules a program that only uses jit, grad and fnad.numpy's arithmetic never needs.
UNUSED = [
    "fnad.lax",
    "fnad.scipy",
    "fnad.nn",
    "fnad.random",
    "fnad.optim",
    "fnad.special_math",
    "fnad.primitives.special",
    "fnad.numpy.linalg",
    "fnad.numpy.fft",
    "fnad.numpy._statistics",
    "fnad.numpy._sorting",
    "fnad.numpy._selection",
    "fnad.numpy._diagonals",
    "fnad.spmd",
    "fnad.export",
    "fnad_compiler",
    "dataclasses",
    "string",
]


def test_import_fnad_leaves_unused_libraries_unimported():
    script = "import sys, fnad, fnad.numpy; print(' '.join(sorted(sys.modules)))"
    loaded = set(
        subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout.split()
    )
    assert "fnad.numpy._methods" in loaded  # the operators and methods of traced values are installed
    assert not loaded & set(UNUSED), sorted(loaded & set(UNUSED))


@pytest.mark.parametrize("module", [fnad, fnp], ids=lambda m: m.__name__)
def test_every_public_name_resolves_once(module):
    for name in module.__all__:
        value = getattr(module, name)
        assert getattr(module, name) is value, name
        assert name in dir(module), name
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        module.no_such_name  # noqa: B018


def test_fnad_numpy_all_lists_every_name_its_face_serves():
    """fnad.numpy's `__all__` (a literal, for tools) and its lazy table name the same functions twice:
    a name added to one only shows here."""
    assert {name for name in dir(fnp) if not name.startswith("_")} == set(fnp.__all__)


def test_lazy_names_keep_their_behaviour():
    assert fnad.lax.scan is fnad.lax.control_flow.scan
    assert fnad.P("data") == fnad.sharding.PartitionSpec("data")
    assert fnp.linalg is sys.modules["fnad.numpy.linalg"]
    with pytest.raises(TypeError, match="requires ndarray or scalar arguments"):
        fnp.sum([1.0, 2.0])  # fnad.numpy's argument checks wrap names fetched lazily too
    from fnad.numpy import einsum  # from-imports go through the face

    assert einsum is fnp.einsum
    x = np.array([[3.0, 1.0], [2.0, 4.0]])  # methods whose modules are imported at their first call
    np.testing.assert_array_equal(fnad.jit(lambda a: a.sort(axis=0))(x), np.sort(x, axis=0))
    assert fnad.grad(lambda a: a.trace() + a.cumsum()[-1])(x).tolist() == [[2.0, 1.0], [1.0, 2.0]]
    assert fnp.asarray(x).nonzero()[1].tolist() == [0, 1, 0, 1]


def test_importing_fnad_freezes_the_heap_it_leaves_and_later_cycles_are_still_collected():
    """`fnad.gc_pause.freeze_imported`: what exists after `import fnad` is never traversed by the
    collector again; a reference cycle made afterwards is still collected (its finaliser runs)."""
    script = textwrap.dedent("""
        import gc, weakref
        import fnad
        assert gc.get_freeze_count() > 1000, gc.get_freeze_count()
        class Node:
            pass
        a, b = Node(), Node()
        a.other, b.other = b, a
        dead = []
        weakref.finalize(a, dead.append, "a")
        del a, b
        gc.collect()
        assert dead == ["a"], dead
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "ok"


def test_a_process_compiling_in_threads_imports_neither_openssl_nor_concurrent_futures(tmp_path):
    """The compile threads and the cache's digests are written on `threading` and BLAKE2 alone:
    concurrent.futures and hashlib's OpenSSL cost a process's first compile 8 and 5 ms."""
    script = textwrap.dedent("""
        import json, sys, numpy as np, fnad, fnad.numpy as fnp
        from fnad_compiler import cache
        def f(x):
            for k in range(12):
                x = fnp.tanh(x) * 0.5 + fnp.mean(x, axis=1, keepdims=True) if k % 2 else fnp.sin(x) - x * x
            return fnp.sum(x)
        x = np.linspace(-1.0, 1.0, 512).reshape(32, 16)
        got = float(fnad.jit(fnad.grad(f))(x).sum())
        stats = cache.default_cache().stats()
        print(json.dumps([got, float(fnad.grad(f)(x).sum()), stats, sorted(sys.modules)]))
    """)
    env = dict(os.environ, FNAD_CACHE_DIR=str(tmp_path), FNAD_COMPILE_THREADS="2")
    done = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True, env=env)
    got, want, stats, modules = json.loads(done.stdout)
    assert stats["unit_compiles"] >= 2 and got == pytest.approx(want, rel=1e-12)
    assert not {"_hashlib", "concurrent.futures"} & set(modules)
