"""The errors users must get (API.md, "Errors users must get"): clear Python exceptions that name
the operation, the shapes/dtypes involved and what to do instead."""

from __future__ import annotations

import numpy as np
import pytest

import fnad
import fnad.numpy as fnp
from fnad import lax
from fnad.core import Primitive, ShapedArray


def traced(f, *args):
    """Run f under make_jaxpr (every value is abstract)."""
    return fnad.make_jaxpr(f)(*args)


# ----------------------------------------------------------------------------------------------
# Shape and dtype mismatches


@pytest.mark.parametrize("run", [lambda f, *a: f(*a), traced], ids=["eager", "traced"])
def test_broadcast_mismatch_names_the_op_and_both_shapes(run):
    with pytest.raises(ValueError, match=r"add.*\(3,\).*\(4,\)"):
        run(fnp.add, np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match=r"multiply.*\(2, ?3\).*\(4,\)"):
        run(fnp.multiply, np.ones((2, 3)), np.ones(4))


def test_operator_on_traced_values_names_the_op_and_both_shapes():
    with pytest.raises(ValueError, match=r"multiply.*\(2, 3\).*\(4,\)"):
        traced(lambda a, b: a * b, np.ones((2, 3)), np.ones(4))


@pytest.mark.parametrize("run", [lambda f, *a: f(*a), traced], ids=["eager", "traced"])
def test_matmul_mismatch_names_the_op_and_both_shapes(run):
    with pytest.raises(ValueError, match=r"matmul.*\(2, 3\).*\(4, 5\)"):
        run(fnp.matmul, np.ones((2, 3)), np.ones((4, 5)))


def test_lax_level_shape_and_dtype_mismatches_name_op_shapes_and_dtypes():
    with pytest.raises(ValueError, match=r"add.*\(3,\).*\(4,\)"):
        traced(lax.add, np.ones(3), np.ones(4))
    with pytest.raises(TypeError, match=r"add.*float64.*float32"):
        traced(lax.add, np.ones(3), np.ones(3, np.float32))
    with pytest.raises(TypeError, match=r"dot_general.*float64.*float32"):
        traced(
            lambda a, b: lax.dot_general(a, b, (((1,), (0,)), ((), ()))), np.ones((2, 3)), np.ones((3, 5), np.float32)
        )
    with pytest.raises(ValueError, match=r"dot_general.*\(2, 3\).*\(4, 5\)"):
        traced(lambda a, b: lax.dot_general(a, b, (((1,), (0,)), ((), ()))), np.ones((2, 3)), np.ones((4, 5)))
    with pytest.raises(TypeError, match=r"select.*bool.*float64"):
        traced(lambda p, x: lax.select(p, x, x), np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match=r"reshape.*\(3,\).*\(4,\)"):
        traced(lambda x: lax.reshape(x, (4,)), np.ones(3))
    with pytest.raises(ValueError, match=r"broadcast_in_dim.*\(3,\).*\(4,\)"):
        traced(lambda x: lax.broadcast_in_dim(x, (4,), (0,)), np.ones(3))
    with pytest.raises(ValueError, match=r"reduce_sum.*axes \(1,\).*\(3,\)"):
        traced(lambda x: lax.reduce_sum(x, (1,)), np.ones(3))


def test_transform_argument_mismatches():
    with pytest.raises(ValueError, match=r"tangent shape \(4,\) does not match primal shape \(3,\)"):
        fnad.jvp(fnp.sin, (np.ones(3),), (np.ones(4),))
    with pytest.raises(ValueError, match=r"inconsistent sizes.*3.*4"):
        fnad.vmap(fnp.add)(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match=r"in_axes=2.*\(3,\)"):
        fnad.vmap(fnp.sin, in_axes=2)(np.ones(3))
    with pytest.raises(ValueError, match=r"in_axes has 1 entries.*2 positional"):
        fnad.vmap(fnp.add, in_axes=(0,))(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match=r"argnums=2 is out of range"):
        fnad.grad(fnp.sin, argnums=2)(1.0)
    with pytest.raises(TypeError, match=r"has_aux=True requires .* pair"):
        fnad.grad(lambda x: x, has_aux=True)(1.0)


# ----------------------------------------------------------------------------------------------
# grad's requirements


def test_grad_of_non_scalar_output_says_so():
    with pytest.raises(TypeError, match=r"scalar output.*\(3,\).*jacrev"):
        fnad.grad(fnp.sin)(np.ones(3))


def test_grad_of_integer_output_says_so():
    with pytest.raises(TypeError, match=r"floating-point\) output.*int64"):
        fnad.grad(lambda x: fnp.sum(x > 0))(np.ones(3))


def test_grad_with_respect_to_integer_input_says_so():
    with pytest.raises(TypeError, match=r"floating-point\) inputs.*argument 0.*int64"):
        fnad.grad(lambda x: x * 2.0)(3)
    with pytest.raises(TypeError, match=r"argument 1.*int32"):
        fnad.grad(lambda x, n: x * n, argnums=(0, 1))(1.0, np.int32(2))
    # excluded from argnums, an integer argument is fine
    assert fnad.grad(lambda x, n: x * n)(1.0, 3) == 3.0


# ----------------------------------------------------------------------------------------------
# Python control flow on abstract values


def _if(x):
    if x.sum() > 0:
        return x
    return -x


def _bool(x):
    return x * 2.0 if bool(x) else x


def _int(x):
    return fnp.ones(int(x))


def _while(x):
    while x > 0:
        x = x - 1.0
    return x


@pytest.mark.parametrize("transform", ["vmap", "make_jaxpr"])
@pytest.mark.parametrize(
    "fun, shape, what, aval",
    [
        (_if, (2,), "Python control flow", "bool[]"),
        (_bool, (), "bool()", "f64[]"),
        (_int, (), "int()", "f64[]"),
        (_while, (), "Python control flow", "bool[]"),
    ],
    ids=["if", "bool", "int", "while"],
)
def test_control_flow_on_traced_value_raises_concretization_error(transform, fun, shape, what, aval):
    with pytest.raises(fnad.ConcretizationError) as info:
        if transform == "vmap":
            fnad.vmap(fun)(np.ones((3,) + shape))
        else:
            fnad.make_jaxpr(fun)(np.ones(shape))
    msg = str(info.value)
    assert what in msg and aval in msg, msg
    assert "lax.cond" in msg and "static_argnums" in msg, msg
    assert f"traced by {transform}" in msg, msg
    assert isinstance(info.value, TypeError)  # as JAX's error, catchable as a TypeError


def test_concretization_error_names_the_users_file_and_line():
    def f(x):
        if x > 0:  # the line the error must name
            return x
        return -x

    line = f.__code__.co_firstlineno + 1
    with pytest.raises(fnad.ConcretizationError, match=rf"at {__file__}:{line} in f\."):
        fnad.vmap(fnad.grad(f))(np.ones(3))


def test_traced_array_size_says_shapes_are_static_and_suggests_static_argnums():
    with pytest.raises(fnad.ConcretizationError, match=r"shapes must be static.*i64\[\].*static_argnums"):
        fnad.jit(lambda n: fnp.zeros(n))(3)
    with pytest.raises(fnad.ConcretizationError, match="shapes must be static"):
        fnad.jit(lambda n: fnp.ones((2, n)))(3)
    np.testing.assert_array_equal(fnad.jit(lambda n: fnp.zeros((2, n)), static_argnums=0)(3), np.zeros((2, 3)))


def test_concretization_error_names_the_shape_of_the_value():
    with pytest.raises(fnad.ConcretizationError, match=r"f64\[2,3\]"):
        fnad.make_jaxpr(lambda x: 1.0 if x else 0.0)(np.ones((2, 3)))
    with pytest.raises(fnad.ConcretizationError, match=r"np.asarray.*f64\[4\].*fnad.numpy"):
        fnad.make_jaxpr(lambda x: np.asarray(x))(np.ones(4))


def test_control_flow_on_concrete_values_under_grad_and_jvp_is_fine():
    assert fnad.grad(_while)(2.5) == 1.0
    assert fnad.jvp(_int, (np.array(2.0),), (np.array(1.0),))[1].shape == (2,)


# ----------------------------------------------------------------------------------------------
# Leaked tracers


@pytest.mark.parametrize("transform", ["grad", "vmap", "make_jaxpr", "jvp"])
def test_leaked_tracer_used_later_raises(transform):
    leaked = []

    def f(x):
        leaked.append(x)
        return fnp.sum(x * x)

    x = np.ones(3)
    {
        "grad": lambda: fnad.grad(f)(x),
        "vmap": lambda: fnad.vmap(f)(np.ones((2, 3))),
        "make_jaxpr": lambda: fnad.make_jaxpr(f)(x),
        "jvp": lambda: fnad.jvp(f, (x,), (x,)),
    }[transform]()
    (tracer,) = leaked
    with pytest.raises(fnad.UnexpectedTracerError, match=r"leaked|escaped|after the transform") as info:
        fnp.sin(tracer)
    assert "f64[3]" in str(info.value)
    # used inside a later transform too
    with pytest.raises(fnad.UnexpectedTracerError):
        fnad.grad(lambda y: fnp.sum(y * tracer))(np.ones(3))


def test_tracer_from_an_outer_transform_inside_an_inner_one_is_fine():
    """Closing over an outer transform's (live) value is not a leak."""
    f = lambda x: fnad.grad(lambda y: x * y * y)(3.0)
    assert fnad.grad(f)(2.0) == 6.0
    np.testing.assert_allclose(
        fnad.vmap(lambda x: fnad.vmap(lambda y: x * y)(np.arange(2.0)))(np.ones(3)), np.tile(np.arange(2.0), (3, 1))
    )


# ----------------------------------------------------------------------------------------------
# Immutability, missing rules


@pytest.mark.parametrize("transform", ["vmap", "grad", "make_jaxpr"])
def test_in_place_assignment_on_traced_array_points_to_at(transform):
    def f(x):
        x[0] = 1.0
        return fnp.sum(x)

    run = {
        "vmap": lambda: fnad.vmap(f)(np.ones((2, 3))),
        "grad": lambda: fnad.grad(f)(np.ones(3)),
        "make_jaxpr": lambda: fnad.make_jaxpr(f)(np.ones(3)),
    }[transform]
    with pytest.raises(TypeError, match=r"immutable.*\.at\[idx\]\.set"):
        run()


def _bare_primitive():
    p = Primitive("test_bare_op")
    p.impl = lambda x: np.asarray(x) * 2
    p.abstract_eval = lambda a: ShapedArray(a.shape, a.dtype)
    return p


def test_missing_rules_name_the_primitive():
    p = _bare_primitive()
    with pytest.raises(NotImplementedError, match="differentiation rule for 'test_bare_op'"):
        fnad.grad(lambda x: p.bind(x))(1.0)
    with pytest.raises(NotImplementedError, match="batching rule.*'test_bare_op'"):
        fnad.vmap(lambda x: p.bind(x))(np.ones(3))
    assert float(p.bind(np.array(2.0))) == 4.0  # eager still works


def test_unsupported_op_inside_jit_names_the_primitive():
    pytest.importorskip("fnad_compiler.lower", reason="the compiler has no lowering rules yet")
    p = _bare_primitive()
    with pytest.raises(NotImplementedError, match="test_bare_op"):
        fnad.jit(lambda x: p.bind(x))(np.ones(3))


def test_lax_is_strict_about_dtypes_and_names_the_promoting_function():
    """As JAX's lax (fnad.numpy promotes): operands of one dtype, Python scalars int64/float64."""
    for run in (lambda f: f(), lambda f: fnad.jit(f)()):
        with pytest.raises(TypeError, match=r"lax.add requires.*same dtypes, got int64, float64.*numpy.add"):
            run(lambda: lax.add(1, 1.0))
        with pytest.raises(TypeError, match=r"lax.mul .*float32, float64.*numpy.multiply"):
            run(lambda: lax.mul(np.ones(2, np.float32), 2.0))
    np.testing.assert_array_equal(lax.max(1, 2), 2)
    np.testing.assert_array_equal(lax.add(np.ones(2), 1.0), [2.0, 2.0])
    np.testing.assert_array_equal(fnp.add(np.ones(2, np.float32), 2.0), np.full(2, 3.0, np.float32))


@pytest.mark.parametrize(
    "f, args",
    [
        (lambda a, b: a + b, (np.ones(3), np.ones(4))),
        (lambda a, b: lax.add(a, b), (np.ones(3), np.ones(4))),
        (lambda a, b: a @ b, (np.ones(3), np.ones(4))),
        (lambda a, b: fnp.concatenate([a, b[:, None]]), (np.ones(3), np.ones(4))),
        (lambda a, b: fnp.reshape(a, (5,)), (np.ones(3), np.ones(4))),
        (lambda a, b: a.at[:2].set(b), (np.ones(3), np.ones(4))),
    ],
)
def test_shape_errors_are_type_errors_as_in_jax_and_value_errors_as_in_numpy(f, args):
    with pytest.raises(TypeError) as info:
        fnad.jit(f)(*args)
    assert isinstance(info.value, ValueError) and "shape" in str(info.value)
