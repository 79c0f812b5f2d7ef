"""fnad.passes.prepare_for_compile: the plain IR `jit` hands the compiler, with calls inlined and
decompositions expanded in place (at every depth), each traced once and fused with its neighbours."""

import numpy as np

import fnad
from fnad import lax
from fnad.core import Primitive, ShapedArray
from fnad.passes import prepare_for_compile


def softplus_primitive(calls):
    """A primitive the compiler has no rule for, offering log1p(exp(x)) as its decomposition;
    `calls` records each time the decomposition is traced."""
    p = Primitive("my_softplus")
    p.impl = lambda x: np.log1p(np.exp(x))
    p.abstract_eval = lambda a: ShapedArray(a.shape, a.dtype)

    def decompose(aval):
        calls.append(aval)
        return fnad.make_jaxpr(lambda v: lax.log1p(lax.exp(v)))(np.zeros(aval.shape, aval.dtype))

    p.decompose = decompose
    return p


def primitive_names(closed):
    """Names of the primitives in `closed` and in every sub-IR of its equations."""
    names = set()
    for e in closed.jaxpr.eqns:
        names.add(e.primitive.name)
        for v in e.params.values():
            for sub in v if isinstance(v, tuple) else (v,):
                if hasattr(sub, "jaxpr") and hasattr(sub, "consts"):
                    names |= primitive_names(sub)
    return names


def test_prepare_for_compile_expands_decompositions_inside_loop_bodies():
    calls = []
    softplus = softplus_primitive(calls)
    f = lambda x: lax.fori_loop(0, 3, lambda i, v: softplus.bind(v) - 1.0, -softplus.bind(x))
    x = np.linspace(-3, 3, 7)
    closed = fnad.make_jaxpr(f)(x)
    assert "my_softplus" in primitive_names(closed)
    prepared = prepare_for_compile(closed)
    assert "my_softplus" not in primitive_names(prepared)
    assert {"log1p", "exp", "scan"} <= primitive_names(prepared)
    want = -np.log1p(np.exp(x))
    for _ in range(3):
        want = np.log1p(np.exp(want)) - 1.0
    np.testing.assert_allclose(fnad.jit(f)(x), want, rtol=1e-13)


def test_prepare_for_compile_returns_plain_ir_unchanged():
    closed = fnad.make_jaxpr(lambda x: lax.exp(x) * 2.0)(np.ones(3))
    assert prepare_for_compile(closed) is closed


def test_decomposition_is_traced_once_per_compile():
    calls = []
    softplus = softplus_primitive(calls)
    x = np.linspace(-3, 3, 5)
    got = fnad.jit(lambda x: softplus.bind(x))(x)
    np.testing.assert_allclose(got, np.log1p(np.exp(x)), rtol=1e-15)
    assert len(calls) == 1


def test_decomposition_fuses_with_its_neighbours():
    """log1p(exp(x)) from the decomposition and the negation after it are one loop nest."""
    softplus = softplus_primitive([])
    x = np.linspace(-3, 3, 1000)
    jf = fnad.jit(lambda x: -softplus.bind(x * 2.0))
    np.testing.assert_allclose(jf(x), -np.log1p(np.exp(x * 2.0)), rtol=1e-15)
    assert jf.lower(x).compile().exe.program.launches == 1
