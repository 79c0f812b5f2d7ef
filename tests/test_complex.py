"""Complex numbers end to end (issue 14, section 1).

The complex contract first: under jit, `fnad.passes.lower_complex` rewrites complex equations into
real ones on the float S+(2,) representation (each primitive's `complex_parts` rule, or its
equation kept with changed avals for `complex_native` primitives and control flow), and complex
arguments and results cross the jit boundary as views of their memory.
"""

from __future__ import annotations

import numpy as np
import pytest

import fnad
import fnad.numpy as fnp
from fnad import lax
from fnad.core import Primitive, ShapedArray, all_primitives
from fnad.passes import lower_complex, prepare_for_compile, real_representation

RNG = np.random.default_rng(14)


def crandn(*shape, dtype=np.complex128):
    return (RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)).astype(dtype)


# ----------------------------------------------------------------------------------------------
# The contract


def test_compiled_ir_has_no_complex_dtype():
    z = crandn(3)
    closed = prepare_for_compile(fnad.make_jaxpr(lambda z: fnp.exp(z) * z + lax.conj(z))(z))
    avals = [v.aval for v in closed.jaxpr.invars + closed.jaxpr.outvars]
    avals += [v.aval for e in closed.jaxpr.eqns for v in e.invars + e.outvars if hasattr(v, "aval")]
    assert all(a.dtype.kind != "c" for a in avals)
    assert closed.jaxpr.invars[0].aval == ShapedArray((3, 2), np.float64)
    assert real_representation(ShapedArray((4,), np.complex64)) == ShapedArray((4, 2), np.float32)


def test_complex_native_equation_kept_with_interleaved_avals():
    # A primitive computing on complex memory itself keeps its equation and params; its operands and
    # results become float S+(2,) (the same bytes), what its lowering rule receives.
    swap = Primitive("test_swap_halves")
    swap.complex_native = True
    swap.impl = lambda x, shift: np.roll(x, shift)
    swap.abstract_eval = lambda a, shift: a
    closed = fnad.make_jaxpr(lambda z: swap.bind(z * 2, shift=1) + 1)(crandn(4))
    lowered = lower_complex(closed)
    (eqn,) = [e for e in lowered.jaxpr.eqns if e.primitive is swap]
    assert eqn.params == {"shift": 1}
    assert eqn.invars[0].aval == ShapedArray((4, 2), np.float64)
    assert eqn.outvars[0].aval == ShapedArray((4, 2), np.float64)
    all_primitives_list = all_primitives()
    assert swap in all_primitives_list


def test_missing_rule_names_the_primitive():
    noop = Primitive("test_no_complex_rule")
    noop.impl = lambda x: x
    noop.abstract_eval = lambda a: a
    with pytest.raises(NotImplementedError, match="test_no_complex_rule"):
        fnad.jit(lambda z: noop.bind(z))(crandn(2))


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_jit_boundary_views_and_dtypes(dtype):
    z = crandn(5, dtype=dtype)
    out = fnad.jit(lambda z: z * z + 1j)(z)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, z * z + 1j, rtol=1e-6 if dtype == np.complex64 else 1e-15)
    # a non-contiguous argument and a rank-0 one
    np.testing.assert_allclose(fnad.jit(lambda z: z * 2)(z[::2]), z[::2] * 2, rtol=1e-6)
    np.testing.assert_allclose(fnad.jit(lambda z: z * 2)(dtype(1 + 2j)), 2 + 4j)
    # real in, complex out and back
    x = np.arange(3.0)
    np.testing.assert_array_equal(fnad.jit(lambda x, y: lax.complex(x, y))(x, -x), x - 1j * x)
    np.testing.assert_array_equal(
        fnad.jit(lambda z: fnp.abs(z * 0 + 3 + 4j))(z),
        np.full(5, 5.0, np.float32 if dtype == np.complex64 else np.float64),
    )


def _jit_matches_eager(f, *args, rtol=1e-14):
    args = [fnp.asarray(a) for a in args]
    expected = f(*args)
    actual = fnad.jit(f)(*args)
    for a, e in zip(fnad.tree_util.tree_leaves(actual), fnad.tree_util.tree_leaves(expected)):
        assert np.asarray(a).dtype == np.asarray(e).dtype
        np.testing.assert_allclose(np.asarray(a), np.asarray(e), rtol=rtol, atol=1e-14)


DATA_MOVEMENT = {
    "reshape_transpose_rev": lambda z: z.reshape(2, 3)[::-1].T,
    "broadcast": lambda z: fnp.broadcast_to(z[None], (4, 6)) * 1j,
    "concatenate_slices": lambda z: fnp.concatenate([z[1:], z[:2] * 2]),
    "gather": lambda z: z[np.array([5, 0, 3, 3])],
    "scatter": lambda z: z.at[np.array([1, 4])].set(7 - 1j).at[np.array([0, 0])].add(z[2]),
    "dynamic_slice": lambda z: lax.dynamic_slice(z, (2,), (3,)),
    "dynamic_update_slice": lambda z: lax.dynamic_update_slice(z, z[:2] * 1j, (3,)),
    "select": lambda z: fnp.where(z.real > 0, z, 1j),
    "sum_prod_pad": lambda z: (fnp.sum(z), lax.pad(z, 2j + 1, [(1, 2, 0)])),
    "cumsum": lambda z: fnp.cumsum(z),
    "dot": lambda z: (z.reshape(2, 3) @ z.reshape(3, 2), fnp.vdot(z, z)),
    "convert": lambda z: (z.astype(np.complex64), z.real.astype(np.complex128) * 1j, z.astype(bool)),
}


@pytest.mark.parametrize("name", DATA_MOVEMENT)
def test_jit_data_movement_matches_eager(name):
    _jit_matches_eager(DATA_MOVEMENT[name], crandn(6), rtol=1e-6 if name == "convert" else 1e-14)


def test_jit_control_flow_carries_complex():
    z = crandn(3)
    _jit_matches_eager(lambda z: lax.fori_loop(0, 3, lambda i, c: c * z + 1, z), z)
    _jit_matches_eager(lambda z: lax.cond(z[0].real > 0, lambda z: z * 1j, lambda z: -z, z), z)
    _jit_matches_eager(lambda z: lax.scan(lambda c, x: (c * x, c + x), 1 + 0j, z), z)
    _jit_matches_eager(lambda z: lax.while_loop(lambda c: fnp.abs(c[0]) < 50, lambda c: c * (1 + 1j), z), z)


# ----------------------------------------------------------------------------------------------
# Derivative conventions against JAX. Reference values produced with JAX 0.10.2 (JAX_ENABLE_X64=1)
# by the JAX call named in each comment, with `jnp` for jax.numpy and Z = [1+2j, -3+0.5j, 0.1-4j].

Z = np.array([1 + 2j, -3 + 0.5j, 0.1 - 4j])
T = np.array([1j, 1.0, 0.5 - 0.5j])
CT_REAL = np.array([1.0, -2.0, 0.5])

JAX_CASES = {
    # jax.grad(lambda z: jnp.abs(z)**2)(3+4j)
    "grad_abs_sq": (lambda: fnad.grad(lambda z: fnp.abs(z) ** 2)(3 + 4j), 6 - 8j),
    # jax.grad(lambda z: jnp.abs(z).sum())(Z)
    "grad_abs_sum": (
        lambda: fnad.grad(lambda z: fnp.abs(z).sum())(Z),
        [0.4472135954999579 - 0.8944271909999159j, -0.986393923832144 - 0.16439898730535732j]
        + [0.024992191160203066 + 0.9996876464081226j],
    ),
    # jax.grad(lambda z: jnp.real(z*z*jnp.sin(z)))(1+2j)
    "grad_real_poly": (
        lambda: fnad.grad(lambda z: fnp.real(z * z * fnp.sin(z)))(1 + 2j),
        4.602575036294116 + 33.86890156124195j,
    ),
    # jax.grad(lambda z: jnp.imag(z)**2 + jnp.real(z*jnp.conj(z)) + jnp.angle(z))(0.3-0.8j)
    "grad_mixed": (
        lambda: fnad.grad(lambda z: fnp.imag(z) ** 2 + fnp.real(z * fnp.conj(z)) + fnp.angle(z))(0.3 - 0.8j),
        1.6958904109589041 + 2.7890410958904113j,
    ),
    # jax.grad(lambda z: jnp.abs(jnp.sqrt(z) + jnp.cos(z)).sum())(Z)
    "grad_abs_sqrt_cos": (
        lambda: fnad.grad(lambda z: fnp.abs(fnp.sqrt(z) + fnp.cos(z)).sum())(Z),
        [-1.1689591116048823 - 3.3905133357498634j, 0.11632901384345296 - 0.2698994528794954j]
        + [-1.2773749048385297 + 27.41683196859747j],
    ),
    # jax.grad(lambda z: jnp.abs(jnp.sign(z)*z/(z+2j)).sum())(Z)
    "grad_abs_div_sign": (
        lambda: fnad.grad(lambda z: fnp.abs(fnp.sign(z) * z / (z + 2j)).sum())(Z),
        [0.07656369099481981 - 0.08932430616062312j, -0.09937951506274179 + 0.08557680463736098j]
        + [-0.03734814370314463 - 0.4973527803135428j],
    ),
    # jax.grad(lambda z: z**3 + jnp.exp(z), holomorphic=True)(0.5-1j)
    "grad_holo": (
        lambda: fnad.grad(lambda z: z**3 + fnp.exp(z), holomorphic=True)(0.5 - 1j),
        -1.3591920957068713 - 4.387351111329764j,
    ),
    # jax.grad(lambda z: jnp.tanh(z)*jnp.log(z), holomorphic=True)(0.7+0.2j)
    "grad_holo_tanh_log": (
        lambda: fnad.grad(lambda z: fnp.tanh(z) * fnp.log(z), holomorphic=True)(0.7 + 0.2j),
        0.7097509486491834 + 0.15922068709400766j,
    ),
    # jax.vjp(lambda z: z*z*(1+2j), 1-1j)[1](0.3+0.7j)[0]
    "vjp_holo": (lambda: fnad.vjp(lambda z: z * z * (1 + 2j), 1 - 1j)[1](0.3 + 0.7j)[0], 0.4 + 4.8j),
    # jax.vjp(lambda x: x*(2+3j), 1.5)[1](1-1j)[0]  (a real input gets a real cotangent)
    "vjp_real_to_complex": (lambda: fnad.vjp(lambda x: x * (2 + 3j), 1.5)[1](1 - 1j)[0], 5.0),
    # jax.vjp(jnp.abs, Z)[1](jnp.array([1.0, -2.0, 0.5]))[0]
    "vjp_abs": (
        lambda: fnad.vjp(fnp.abs, Z)[1](CT_REAL)[0],
        [0.4472135954999579 - 0.8944271909999159j, 1.972787847664288 + 0.32879797461071464j]
        + [0.012496095580101533 + 0.4998438232040613j],
    ),
    # jax.vjp(jnp.real, Z)[1](...)[0], jax.vjp(jnp.imag, Z)[1](...)[0]
    "vjp_real": (lambda: fnad.vjp(fnp.real, Z)[1](CT_REAL)[0], [1 + 0j, -2 + 0j, 0.5 + 0j]),
    "vjp_imag": (lambda: fnad.vjp(fnp.imag, Z)[1](CT_REAL)[0], [-1j, 2j, -0.5j]),
    # jax.vjp(jnp.conj, Z)[1](jnp.array([1+1j, -2j, 0.5]))[0]
    "vjp_conj": (lambda: fnad.vjp(fnp.conj, Z)[1](np.array([1 + 1j, -2j, 0.5]))[0], [1 - 1j, 2j, 0.5]),
    # jax.vjp(jax.lax.complex, 1.0, 2.0)[1](0.3-0.4j)
    "vjp_complex": (lambda: fnad.vjp(lax.complex, 1.0, 2.0)[1](0.3 - 0.4j), (0.3, 0.4)),
    # jax.jvp(lambda z: jnp.abs(z)*jnp.angle(z), (Z,), (jnp.array([1j, 1.0, 0.5-0.5j]),))[1]
    "jvp_abs_angle": (
        lambda: fnad.jvp(lambda z: fnp.abs(z) * fnp.angle(z), (Z,), (T,))[1],
        [1.4374775131756847, -3.100345240031328, -0.3046281043398543],
    ),
    # jax.jvp(lambda z: jnp.exp(jnp.conj(z))*z, (Z,), (jnp.array([1j, 1.0, 0.5-0.5j]),))[1]
    "jvp_exp_conj": (
        lambda: fnad.jvp(lambda z: fnp.exp(fnp.conj(z)) * z, (Z,), (T,))[1],
        [-2.2624087675136275 - 4.943453344009638j, -0.07544992998066863 + 0.06958451563921549j]
        + [-3.891259663364968 - 0.36295967139846547j],
    ),
    # jax.jacrev(lambda z: jnp.abs(z*z[::-1]))(Z)
    "jacrev_real_of_complex": (
        lambda: fnad.jacrev(lambda z: fnp.abs(z * z[::-1]))(Z),
        [
            [1.7894133116750865 - 3.578826623350173j, 0, 0.05588423834088341 + 2.2353695336353363j],
            [0, -6 - 1j, 0],
            [1.7894133116750865 - 3.578826623350173j, 0, 0.05588423834088341 + 2.2353695336353363j],
        ],
    ),
    # jax.jacfwd(lambda z: jnp.sin(z)*z[::-1], holomorphic=True)(Z)
    "jacfwd_holo": (
        lambda: fnad.jacfwd(lambda z: fnp.sin(z) * z[::-1], holomorphic=True)(Z),
        [
            [-12.004318895905234 - 8.436081807993842j, 0, 3.165778513216168 + 1.9596010414216063j],
            [0, 3.153124661424397 - 1.2946619858493122j, 0],
            [2.7262741866066276 - 27.153581281234537j, 0, 21.722914070621968 + 57.068056510235415j],
        ],
    ),
    # jax.hessian(lambda z: jnp.sum(z**3*jnp.exp(z)), holomorphic=True)(Z[:2])
    "hessian_holo": (
        lambda: fnad.hessian(lambda z: fnp.sum(z**3 * fnp.exp(z)), holomorphic=True)(Z[:2]),
        [[-58.021006021757145 - 95.31066250384252j, 0], [0, 0.46478700143114593 + 0.1617246952740957j]],
    ),
    # jax.grad(lambda z: jnp.abs(z**(0.5+1j)))(1.2+0.7j)
    "grad_pow": (
        lambda: fnad.grad(lambda z: fnp.abs(z ** (0.5 + 1j)))(1.2 + 0.7j),
        0.4682044656093593 + 0.3061336890522734j,
    ),
    # jax.grad(lambda z: jnp.real(jnp.vdot(z, z*jnp.arange(3.0))))(Z)
    "grad_dot": (lambda: fnad.grad(lambda z: fnp.real(fnp.vdot(z, z * fnp.arange(3.0))))(Z), [0, -6 - 1j, 0.4 + 16j]),
    # jax.grad(lambda z: jnp.abs(jnp.prod(z)))(Z)
    "grad_prod": (
        lambda: fnad.grad(lambda z: fnp.abs(fnp.prod(z)))(Z),
        [5.4422881217370325 - 10.884576243474067j, -8.825332089303295 - 1.4708886815505486j]
        + [0.16996527550709084 + 6.798611020283614j],
    ),
    # jax.grad(lambda z: jnp.real(jnp.sum(z**2)))(Z)
    "grad_sum_real": (lambda: fnad.grad(lambda z: fnp.real(fnp.sum(z**2)))(Z), [2 + 4j, -6 + 1j, 0.2 - 8j]),
    # jax.grad(lambda z: jnp.abs(z*z))(jnp.complex64(1+1j)): complex64 stays complex64
    "grad_complex64": (lambda: fnad.grad(lambda z: fnp.abs(z * z))(np.complex64(1 + 1j)), np.complex64(2 - 2j)),
}


@pytest.mark.parametrize("name", JAX_CASES)
@pytest.mark.parametrize("mode", ["eager", "jit"])
def test_derivative_conventions_match_jax(name, mode):
    run, expected = JAX_CASES[name]
    if mode == "jit":
        run = fnad.jit(run)
    actual = run()
    pairs = zip(actual, expected) if isinstance(expected, tuple) else [(actual, expected)]
    for a, e in pairs:
        a, e = np.asarray(a), np.asarray(e)
        assert a.dtype.kind == e.dtype.kind and (e.dtype != np.complex64 or a.dtype == e.dtype)
        np.testing.assert_allclose(a, e, rtol=1e-6 if e.dtype == np.complex64 else 1e-13, atol=1e-14)
