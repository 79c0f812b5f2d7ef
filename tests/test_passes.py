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


def psum_operand_shapes(closed):
    """Shapes of what every psum in `closed` (and its sub-IRs) sums."""
    shapes = []
    for e in closed.jaxpr.eqns:
        if e.primitive.name == "psum":
            shapes.append(e.invars[0].aval.shape)
        for v in e.params.values():
            for sub in v if isinstance(v, tuple) else (v,):
                if hasattr(sub, "jaxpr") and hasattr(sub, "consts"):
                    shapes += psum_operand_shapes(sub)
    return shapes


def test_sums_of_a_psum_are_taken_before_it():
    """Reverse mode sums a shared bias's cotangent over the processes at the size of the activations
    (psum, then the broadcast's transpose reduces it); the compiled step reduces first and sums only
    the bias's shape across processes."""
    import fnad.numpy as fnp
    from fnad import P

    rng = np.random.default_rng(0)
    params = [rng.normal(size=(6, 5)), rng.normal(size=5), rng.normal(size=(5, 3)), rng.normal(size=3)]
    x, y = rng.normal(size=(8, 6)), rng.normal(size=(8, 3))

    def step(p, x, y):
        loss = lambda p: lax.pmean(fnp.mean((fnp.tanh(x @ p[0] + p[1]) @ p[2] + p[3] - y) ** 2), "data")
        return [a - 0.1 * g for a, g in zip(p, fnad.grad(loss)(p))]

    mesh = fnad.make_mesh((1,), ("data",))
    sharded = fnad.shard_map(step, mesh=mesh, in_specs=(P(), P("data"), P("data")), out_specs=P())
    closed = fnad.make_jaxpr(sharded)(params, x, y)
    assert sorted(psum_operand_shapes(closed)) == sorted([(8, 5), (8, 3), (6, 5), (5, 3)])
    assert sorted(psum_operand_shapes(prepare_for_compile(closed))) == sorted([(5,), (3,), (6, 5), (5, 3)])
    want = [np.asarray(a) for a in sharded(params, x, y)]
    for got, ref in zip(fnad.jit(sharded)(params, x, y), want):
        np.testing.assert_allclose(got, ref, rtol=1e-13)
