"""JAX's top-level names that fnad adds in fnad/api.py: eval_shape and ShapeDtypeStruct (against
the shapes NumPy computes), jacobian (== jacrev, checked against central differences),
disable_jit as a context manager, named_scope, and vmap's axis_size; and jit's JAX semantics: a
jitted method binds self, non-array arguments and unknown static_argnames raise clearly."""

import doctest
import functools
import gc

import numpy as np
import pytest

import fnad
import fnad.numpy as fnp
from fnad import api


def test_eval_shape():
    def f(x, params):
        return {"y": fnp.tanh(x @ params["w"] + params["b"]), "n": fnp.sum(x, axis=0).astype(np.int32)}

    params = {"w": np.ones((3, 5), np.float32), "b": np.zeros(5, np.float32)}
    x = fnad.ShapeDtypeStruct((8, 3), np.float32)
    out = fnad.eval_shape(f, x, params)
    concrete = f(np.ones((8, 3), np.float32), params)  # what running it gives
    assert out == {
        "y": fnad.ShapeDtypeStruct(concrete["y"].shape, concrete["y"].dtype),
        "n": fnad.ShapeDtypeStruct(concrete["n"].shape, concrete["n"].dtype),
    }
    assert out["y"].ndim == 2 and out["y"].size == 40 and len(out["y"]) == 8
    assert fnad.eval_shape(lambda a, *, b: a + b, np.zeros(3), b=np.ones((2, 1))).shape == (2, 3)
    assert fnad.eval_shape(lambda: 1.0).weak_type
    with pytest.raises((TypeError, ValueError), match="matmul"):  # a shape error, found by tracing alone
        fnad.eval_shape(lambda a: a @ a, fnad.ShapeDtypeStruct((2, 3), np.float64))
    # a ShapeDtypeStruct works where make_jaxpr expects an aval, and is hashable
    assert "f32[4]" in str(fnad.make_jaxpr(fnp.sin)(fnad.ShapeDtypeStruct((4,), np.float32)))
    assert len({fnad.ShapeDtypeStruct((2,), np.float32), fnad.ShapeDtypeStruct([2], "float32")}) == 1


def test_jacobian_is_reverse_mode_jacobian():
    f = lambda x: fnp.stack([x[0] * fnp.sin(x[1]), x[1] ** 3])
    x = np.array([0.7, -1.3])
    jac = fnad.jacobian(f)(x)
    eps = 1e-6
    numeric = np.stack([(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in np.eye(2)], axis=-1)
    np.testing.assert_allclose(jac, numeric, rtol=1e-8)
    assert fnad.jacobian is fnad.jacrev


def test_disable_jit_context_manager():
    seen = []
    f = fnad.jit(lambda x: seen.append(type(x).__name__) or x * 2.0)
    x = np.arange(3.0)
    np.testing.assert_array_equal(f(x), 2 * x)  # traced once
    assert seen == ["StagingTracer"]
    with fnad.disable_jit():
        assert fnad.config.disable_jit
        np.testing.assert_array_equal(f(x), 2 * x)
        np.testing.assert_array_equal(f(x), 2 * x)
    assert seen[1:] == ["ndarray", "ndarray"]  # ran as Python, on the values
    assert not fnad.config.disable_jit
    f(x)
    assert len(seen) == 3  # compiled code again
    with fnad.disable_jit(False):
        assert not fnad.config.disable_jit
    with pytest.raises(RuntimeError), fnad.disable_jit():
        raise RuntimeError
    assert not fnad.config.disable_jit  # restored after an exception too


def test_named_scope():
    with fnad.named_scope("block"):
        y = fnad.jit(lambda x: fnp.sin(x) * 2.0)(np.ones(2))
    np.testing.assert_allclose(y, 2 * np.sin(1.0))
    with pytest.raises(TypeError, match="string"), fnad.named_scope(3):
        pass


def test_vmap_axis_size():
    out = fnad.vmap(lambda x: x * 2.0, in_axes=None, axis_size=4)(np.arange(3.0))
    np.testing.assert_array_equal(out, np.tile(np.arange(3.0) * 2, (4, 1)))
    np.testing.assert_array_equal(fnad.vmap(lambda x: x + 1, axis_size=3)(np.zeros(3)), np.ones(3))
    with pytest.raises(ValueError, match="axis_size"):
        fnad.vmap(lambda x: x, axis_size=4)(np.zeros(3))
    with pytest.raises(ValueError, match="axis_size"):
        fnad.vmap(lambda x: x, in_axes=None)(np.zeros(3))


def test_module_examples_run():
    result = doctest.testmod(api, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_jit_on_a_method_binds_self():
    class Scaler:
        def __init__(self, factor):
            self.factor = factor

        @functools.partial(fnad.jit, static_argnums=0)
        def apply(self, x):
            return x * self.factor

        def __hash__(self):
            return hash(self.factor)

        def __eq__(self, other):
            return isinstance(other, Scaler) and other.factor == self.factor

    np.testing.assert_array_equal(Scaler(3.0).apply(np.arange(3.0)), [0.0, 3.0, 6.0])
    np.testing.assert_array_equal(Scaler(2.0).apply(np.arange(3.0)), [0.0, 2.0, 4.0])
    assert isinstance(Scaler.__dict__["apply"], fnad.jit_dispatch.JitFunction)
    assert Scaler.apply is Scaler.__dict__["apply"]  # unbound through the class

    @fnad.tree_util.register_pytree_node_class
    class Linear:
        def __init__(self, w):
            self.w = w

        def tree_flatten(self):
            return (self.w,), None

        @classmethod
        def tree_unflatten(cls, aux, children):
            return cls(*children)

        @fnad.jit
        def __call__(self, x):  # self is a pytree: traced like any argument
            return x @ self.w

    np.testing.assert_allclose(Linear(np.eye(2) * 2)(np.ones(2)), [2.0, 2.0])


def test_jit_argument_errors():
    f = fnad.jit(lambda x, opts=None, mode=None: x)
    with pytest.raises(TypeError, match=r"argument 0 is of type str .*static_argnums"):
        f("abc")
    with pytest.raises(TypeError, match=r"argument 1\['a'\] is of type str"):
        f(np.ones(2), {"a": "fast"})
    with pytest.raises(TypeError, match=r"argument 'mode' is of type str"):
        f(np.ones(2), mode="fast")
    with pytest.raises(TypeError, match=r"argument 0 is of type object"):
        f(object())
    np.testing.assert_array_equal(f(np.ones(2), {"a": 1.0}), np.ones(2))

    def g(x, y=1):
        return x * y

    with pytest.raises(ValueError, match=r"static_argnames \['z'\].*\['x', 'y'\]"):
        fnad.jit(g, static_argnames=("z",))
    assert fnad.jit(lambda x, **kw: x * kw["z"], static_argnames=("z",))(2.0, z=3) == 6.0
    assert fnad.jit(g, static_argnames=("y",))(2.0, y=4) == 8.0


def test_jit_of_the_same_function_reuses_its_traces():
    traces = []

    def f(x):
        traces.append(1)
        return x * 2.0

    x = np.arange(3.0)
    np.testing.assert_array_equal(fnad.jit(f)(x), 2 * x)
    np.testing.assert_array_equal(fnad.jit(f)(x), 2 * x)  # a new wrapper of f: no new trace
    assert len(traces) == 1 and fnad.jit(f) is fnad.jit(f)
    gc.collect()  # a wrapper dropped at once, collected: still no new trace (jit keeps the last few)
    np.testing.assert_array_equal(fnad.jit(f)(x), 2 * x)
    assert len(traces) == 1
    fnad.jit(f, static_argnames=("x",))(x=1.0)  # other options: a jitted function of its own
    assert len(traces) == 2
