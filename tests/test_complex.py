"""Complex numbers end to end (issue 14, section 1).

The complex contract first: under jit, `fnad.passes.lower_complex` rewrites complex equations into
real ones on the float S+(2,) representation (each primitive's `complex_parts` rule, its
`complex_interleaved` rule, or its equation kept with changed avals for `complex_native` primitives
and control flow), and complex arguments and results cross the jit boundary in their own memory (the
native entry hands it to the code as float pairs; tests/test_dispatch.py checks those calls run
without Python).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnad
import fnad.numpy as fnp
from fnad import lax
from fnad.core import Primitive, ShapedArray, all_primitives
from fnad.ir import eval_closed
from fnad.passes import lower_complex, prepare_for_compile, real_representation
from fnad.primitives.indexing import scatter_mul_p
from tests.test_primitives import TABLE, draw_case

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
    f = fnad.jit(lambda z: z * z + 1j)
    out = f(z)
    np.testing.assert_array_equal(f(z), out)  # again, through the signature's fast path
    assert out.dtype == dtype
    np.testing.assert_allclose(out, z * z + 1j, rtol=1e-6 if dtype == np.complex64 else 1e-15)
    # a non-contiguous argument and a rank-0 one
    np.testing.assert_allclose(fnad.jit(lambda z: z * 2)(z[::2]), z[::2] * 2, rtol=1e-6)
    np.testing.assert_allclose(fnad.jit(lambda z: z * 2)(dtype(1 + 2j)), 2 + 4j)
    # a Python complex scalar argument (weakly typed: the array's precision wins), donation, jit inside grad
    np.testing.assert_allclose(fnad.jit(lambda z, c: z * c)(z, 1 + 1j), z * (1 + 1j), rtol=1e-6)
    assert fnad.jit(lambda z, c: z * c)(z, 1 + 1j).dtype == dtype
    np.testing.assert_allclose(fnad.jit(lambda z: z * 2, donate_argnums=0)(fnp.asarray(z.copy())), z * 2, rtol=1e-6)
    loss = lambda z: fnp.abs(fnp.exp(z) * z).sum()
    np.testing.assert_allclose(fnad.grad(fnad.jit(loss))(z), fnad.grad(loss)(z), rtol=1e-5)
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


# ----------------------------------------------------------------------------------------------
# Promotion (NumPy 2 / JAX: a Python complex scalar is weakly typed)


@pytest.mark.parametrize("mode", ["eager", "jit"])
def test_promotion(mode):
    run = (lambda f, *a: f(*a)) if mode == "eager" else (lambda f, *a: fnad.jit(f)(*a))
    f32, f64, i32 = np.ones(2, np.float32), np.ones(2), np.ones(2, np.int32)
    c64, c128 = np.ones(2, np.complex64), np.ones(2, np.complex128)
    assert run(lambda x: x * 1j, f32).dtype == np.complex64
    assert run(lambda x: x + 1j, f64).dtype == np.complex128
    assert run(lambda x: x * 1j, i32).dtype == np.complex128
    assert run(lambda x: x * 2.5, c64).dtype == np.complex64
    assert run(lambda x: x * (2 + 1j), c64).dtype == np.complex64
    assert run(lambda x, y: x + y, c64, f64).dtype == np.complex128
    assert run(lambda x, y: x * y, c64, f32).dtype == np.complex64
    assert run(lambda x, y: x * y, c64, c128).dtype == np.complex128
    assert run(lambda x: fnp.abs(x), c64).dtype == np.float32
    assert run(lambda x: fnp.real(x) + fnp.imag(x), c128).dtype == np.float64
    assert run(lambda x: fnp.angle(x), c64).dtype == np.float32
    assert run(lambda x: fnp.sqrt(x * 0 - 4), c64).dtype == np.complex64
    np.testing.assert_allclose(run(lambda x: fnp.sqrt(x * 0 - 4), c64), [2j, 2j])


def test_lax_level_typing():
    staged = lambda f, *args: fnad.make_jaxpr(f)(*args)  # staging checks types (abstract_eval)
    with pytest.raises(TypeError, match="real requires a complex array"):
        staged(lax.real, np.ones(2))
    with pytest.raises(TypeError, match="complex requires float operands"):
        staged(lax.complex, np.ones(2, np.int32), np.ones(2, np.int32))
    with pytest.raises(TypeError, match="same dtypes"):
        staged(lax.add, np.ones(2, np.complex64), np.ones(2, np.complex128))
    with pytest.raises(TypeError, match="floor does not accept dtype complex128"):
        staged(lax.floor, np.ones(2, np.complex128))
    with pytest.raises(TypeError, match="imag requires a complex array"):
        lax.imag(np.ones(2))  # eagerly too
    assert lax.conj(np.ones(2, np.float32)).dtype == np.complex64  # as JAX's lax.conj
    assert lax.complex(np.float32(1), np.float32(2)).dtype == np.complex64
    assert lax.abs(np.ones(2, np.complex64)).dtype == np.float32
    np.testing.assert_array_equal(lax.complex(np.array([np.inf]), np.array([1.0])), [complex(np.inf, 1.0)])


# ----------------------------------------------------------------------------------------------
# Values against NumPy, eagerly through the primitives (traced) and compiled


UNARY = {
    "negative": fnp.negative,
    "conj": fnp.conj,
    "sign": fnp.sign,
    "exp": fnp.exp,
    "exp2": fnp.exp2,
    "log": fnp.log,
    "log2": fnp.log2,
    "log10": fnp.log10,
    "expm1": fnp.expm1,
    "sqrt": fnp.sqrt,
    "square": fnp.square,
    "reciprocal": fnp.reciprocal,
    "sin": fnp.sin,
    "cos": fnp.cos,
    "tan": fnp.tan,
    "sinh": fnp.sinh,
    "cosh": fnp.cosh,
    "tanh": fnp.tanh,
    "abs": fnp.abs,
    "angle": fnp.angle,
    "real": fnp.real,
    "imag": fnp.imag,
    "isfinite": fnp.isfinite,
    "isnan": fnp.isnan,
    "isinf": fnp.isinf,
    "iscomplex": fnp.iscomplex,
    "round": lambda z: fnp.round(z * 10),
    "cube": lambda z: z**3,
    "inverse_cube": lambda z: z**-3,
    "complex_power": lambda z: z ** (0.5 - 0.25j),
    "sum_prod_mean_var": lambda z: (fnp.sum(z), fnp.prod(z[:5]), fnp.mean(z), fnp.var(z), fnp.std(z)),
    "max_min": lambda z: (fnp.max(z), fnp.min(z)),
    "cumsum_cumprod": lambda z: (fnp.cumsum(z), fnp.cumprod(z[:6])),
    "comparisons": lambda z: (z == z[::-1], z != 1j, z < z[::-1], z >= z[::-1], fnp.maximum(z, z[::-1])),
    "division": lambda z: (z / z[::-1], z / 3, 1 / z),
}


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("name", UNARY)
def test_values_match_numpy(name, dtype):
    f = UNARY[name]
    z = crandn(12, dtype=dtype) * 2
    expected = f(z)  # NumPy itself (the eager path)
    rtol = 4e-6 if dtype == np.complex64 else 1e-14
    staged = eval_closed(fnad.make_jaxpr(f)(z), z)  # the traced path's primitives, run eagerly
    for actual in (staged, fnad.tree_util.tree_leaves(fnad.jit(f)(z))):
        for a, e in zip(actual, fnad.tree_util.tree_leaves(expected), strict=True):
            a, e = np.asarray(a), np.asarray(e)
            assert a.dtype == e.dtype, (a.dtype, e.dtype)
            np.testing.assert_allclose(a, e, rtol=rtol, atol=rtol * 1e-3)


def test_log1p_expm1_keep_accuracy_for_small_arguments():
    # log1p(z) = z - z**2/2 + z**3/3 and expm1(z) = z + z**2/2 + z**3/6 to rounding for |z| <= 1e-6
    # (NumPy's complex log1p loses digits there: it computes log(1 + z)).
    z = np.array([1e-9 + 1e-10j, -1e-7 + 2e-8j, 3e-12 - 1e-12j])
    np.testing.assert_allclose(fnad.jit(fnp.log1p)(z), z - z**2 / 2 + z**3 / 3, rtol=1e-15)
    np.testing.assert_allclose(fnad.jit(fnp.expm1)(z), z + z**2 / 2 + z**3 / 6, rtol=1e-15)


# ----------------------------------------------------------------------------------------------
# Derivatives against central finite differences, along real and imaginary directions

W = np.array([0.7 - 0.2j, -0.4 + 1.1j, 1.3 + 0.5j, -0.9 - 0.6j])
Z4 = np.array([1.1 + 0.4j, -0.8 + 0.9j, 0.5 - 1.2j, 1.6 + 0.3j])  # away from branch cuts and zeros

COMPLEX_FUNCTIONS = {  # C^4 -> C^k (or R^k), differentiable at Z4
    "mul": lambda z: z * W + z * z,
    "div": lambda z: z / (z[::-1] + 3) + 2 / z,
    "exp": fnp.exp,
    "exp2": fnp.exp2,
    "expm1": fnp.expm1,
    "log": fnp.log,
    "log1p": fnp.log1p,
    "log10": fnp.log10,
    "sqrt": fnp.sqrt,
    "rsqrt": lax.rsqrt,
    "sin": fnp.sin,
    "cos": fnp.cos,
    "tan": fnp.tan,
    "sinh": fnp.sinh,
    "cosh": fnp.cosh,
    "tanh": fnp.tanh,
    "pow": lambda z: z ** (0.3 + 0.2j) + fnp.power(z, z[::-1]),
    "integer_pow": lambda z: z**3 + z**-2 + fnp.square(z),
    "abs": fnp.abs,
    "real_imag_conj": lambda z: fnp.real(z) * 2 + fnp.imag(z) * 3j + fnp.conj(z) * W,
    "angle": fnp.angle,
    "complex_of_parts": lambda z: lax.complex(fnp.imag(z), fnp.real(z) ** 2),
    "sum_prod": lambda z: fnp.stack([fnp.sum(z * W), fnp.prod(z)]),
    "cumsum_cumprod": lambda z: fnp.cumsum(z) + fnp.cumprod(z),
    "dot": lambda z: fnp.outer(z, W) @ z + fnp.vdot(z, W),
    "select": lambda z: fnp.where(fnp.real(z) > 0, z * z, fnp.exp(z)),
    "var": lambda z: fnp.var(z) + fnp.std(z * W),
    "convert": lambda z: (fnp.real(z).astype(np.complex128) * W).astype(np.complex128),
    "indexing": lambda z: fnp.asarray(z)[np.array([3, 0, 0])].at[1].add(z[2] * 1j),
    "control_flow": lambda z: lax.fori_loop(0, 3, lambda i, c: c * z + 1j, z),
    # reverse mode through a data-dependent trip count (fnad's checkpointed while_loop)
    "while_loop": lambda z: lax.while_loop(lambda c: fnp.abs(c[0]) < 20.0, lambda c: c * (1.1 + 0.3j) + 0.1, z),
}


def _fd(f, z, t, h=1e-6):
    with np.errstate(all="ignore"):
        return (np.asarray(f(z + h * t)) - np.asarray(f(z - h * t))) / (2 * h)


def _directions():
    for k in range(4):
        e = np.zeros(4, complex)
        e[k] = 1
        yield e
        yield 1j * e


@pytest.mark.parametrize("name", COMPLEX_FUNCTIONS)
@pytest.mark.parametrize("mode", ["eager", "jit"])
def test_jvp_and_vjp_match_finite_differences(name, mode):
    f = COMPLEX_FUNCTIONS[name]
    g = f if mode == "eager" else fnad.jit(f)
    for t in _directions():  # jvp along each real and imaginary direction
        _, tangent = fnad.jvp(g, (Z4,), (t,))
        np.testing.assert_allclose(tangent, _fd(f, Z4, t), rtol=1e-7, atol=1e-7)
    # vjp is jvp's transpose for JAX's pairing <u, v> = Re(sum(u * v)) (linear, no conjugation)
    out, f_vjp = fnad.vjp(g, Z4)
    ct = crandn(*np.shape(out)) if np.iscomplexobj(out) else RNG.standard_normal(np.shape(out))
    (ct_in,) = f_vjp(ct)
    for t in _directions():
        _, tangent = fnad.jvp(g, (Z4,), (t,))
        np.testing.assert_allclose(np.real(np.sum(ct * tangent)), np.real(np.sum(ct_in * t)), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", COMPLEX_FUNCTIONS)
def test_grad_of_real_loss_is_dx_minus_i_dy(name):
    # JAX's convention for a real f of z = x + iy: grad f = df/dx - i df/dy
    f = COMPLEX_FUNCTIONS[name]
    complex_out = np.iscomplexobj(f(Z4))
    loss = lambda z: fnp.sum(fnp.abs(f(z)) ** 2) if complex_out else fnp.sum(f(z) * f(z))
    for g in (fnad.grad(loss), fnad.jit(fnad.grad(loss))):
        grad = np.asarray(g(Z4))
        e = np.eye(4)
        expected = [_fd(loss, Z4, e[k]) - 1j * _fd(loss, Z4, 1j * e[k]) for k in range(4)]
        np.testing.assert_allclose(grad, expected, rtol=1e-7, atol=1e-7)


HOLOMORPHIC = {
    "poly": lambda z: z**3 - 2 * z * z[::-1] + 1j,
    "exp_log": lambda z: fnp.exp(z) * fnp.log(z),
    "sqrt_over_trig": lambda z: fnp.sqrt(z) / (2 + fnp.sin(z) * fnp.cos(z)),
    "tanh_pow": lambda z: fnp.tanh(z) + z ** (1.5 - 0.5j),
    "matmul": lambda z: fnp.outer(z, z) @ fnp.exp(z),
}


@pytest.mark.parametrize("name", HOLOMORPHIC)
def test_holomorphic_jacobians_match_complex_differences(name):
    # For a holomorphic f, d f / d z_k = (f(z + h e_k) - f(z - h e_k)) / 2h = the same along i h e_k, over i
    f = HOLOMORPHIC[name]
    e = np.eye(4)
    along_real = np.stack([_fd(f, Z4, e[k]) for k in range(4)], axis=-1)
    along_imag = np.stack([_fd(f, Z4, 1j * e[k]) / 1j for k in range(4)], axis=-1)
    np.testing.assert_allclose(along_real, along_imag, rtol=1e-7, atol=1e-7)  # Cauchy-Riemann: it is holomorphic
    for jac in (fnad.jacfwd, fnad.jacrev):
        np.testing.assert_allclose(jac(f, holomorphic=True)(Z4), along_real, rtol=1e-7, atol=1e-7)
        np.testing.assert_allclose(fnad.jit(jac(f, holomorphic=True))(Z4), along_real, rtol=1e-7, atol=1e-7)
    scalar = lambda z: fnp.sum(f(z) * W)
    np.testing.assert_allclose(fnad.grad(scalar, holomorphic=True)(Z4), W @ along_real, rtol=1e-7, atol=1e-7)


def test_holomorphic_second_derivatives_closed_form():
    # d^2/dz^2 of z**3 exp(z) = (z**3 + 6 z**2 + 6 z) exp(z)
    f = lambda z: z**3 * fnp.exp(z)
    z = 0.4 - 0.9j
    expected = (z**3 + 6 * z**2 + 6 * z) * np.exp(z)
    d2 = fnad.grad(fnad.grad(f, holomorphic=True), holomorphic=True)(z)
    np.testing.assert_allclose(d2, expected, rtol=1e-14)
    h = fnad.hessian(lambda v: fnp.sum(f(v)), holomorphic=True)(np.array([z, 2 * z]))
    np.testing.assert_allclose(np.diag(h), [expected, (8 * z**3 + 24 * z**2 + 12 * z) * np.exp(2 * z)], rtol=1e-14)


def test_holomorphic_argument_errors_match_jax():
    with pytest.raises(
        TypeError, match="grad with holomorphic=True requires inputs with complex dtype, but got float64"
    ):
        fnad.grad(lambda x: x * 1j, holomorphic=True)(1.0)
    with pytest.raises(TypeError, match="grad with holomorphic=True requires outputs with complex dtype"):
        fnad.grad(lambda z: fnp.abs(z), holomorphic=True)(1j)
    with pytest.raises(TypeError, match="grad requires real-valued outputs .* pass holomorphic=True"):
        fnad.grad(lambda z: z * z)(1j)
    with pytest.raises(TypeError, match="jacfwd requires real-valued inputs"):
        fnad.jacfwd(lambda z: z)(Z4)
    with pytest.raises(TypeError, match="jacrev requires real-valued outputs"):
        fnad.jacrev(lambda z: z * 2)(Z4)
    with pytest.raises(TypeError, match="jacrev with holomorphic=True requires inputs with complex dtype"):
        fnad.jacrev(lambda z: z * 1j, holomorphic=True)(np.ones(2))
    # allowed, as in JAX: jacfwd of a complex output of real inputs, jacrev of a real output of complex inputs
    np.testing.assert_allclose(fnad.jacfwd(lambda x: x * (1 + 2j))(np.ones(2)), np.eye(2) * (1 + 2j))
    np.testing.assert_allclose(fnad.jacrev(lambda z: fnp.real(z * 1j))(Z4[:2]), np.eye(2) * 1j)  # Re(iz) = -y


# ----------------------------------------------------------------------------------------------
# vmap against a loop


@pytest.mark.parametrize("name", ["mul", "div", "exp", "log", "abs", "sum_prod", "dot", "control_flow", "indexing"])
def test_vmap_matches_loop(name):
    f = COMPLEX_FUNCTIONS[name]
    zs = Z4 * np.array([[1.0], [0.8 + 0.1j], [1.2j]])
    expected = np.stack([np.asarray(f(z)) for z in zs])
    np.testing.assert_allclose(fnad.vmap(f)(zs), expected, rtol=1e-13)
    np.testing.assert_allclose(fnad.jit(fnad.vmap(f))(zs), expected, rtol=1e-13)
    np.testing.assert_allclose(fnad.vmap(f, in_axes=1, out_axes=-1)(zs.T), np.moveaxis(expected, 0, -1), rtol=1e-13)


# ----------------------------------------------------------------------------------------------
# Accuracy under jit against NumPy (glibc's C99 complex functions), in units in the last place of
# each part of the result. Points: a unit box, magnitudes over the whole exponent range, just above
# and below the branch cut (the negative real axis, tiny imaginary parts of both signs), near the
# unit circle (where log's real part cancels) and moderate arguments up to 40 (cosh/sinh growth).
# Parts whose reference is 0 or not finite, or results within 1e3 of overflow or underflow, are
# left to the special-value test below.

ULP_BOUNDS = {"exp": 4, "log": 5, "sqrt": 4, "sin": 5, "cos": 5, "tanh": 8, "abs": 2, "angle": 2}
ULP_BOUNDS_MORE = {  # also compiled on complex values (log1p and expm1: NumPy's own are not accurate near 0)
    "tan": 8,
    "sinh": 4,
    "cosh": 4,
    "arcsin": 6,
    "arccos": 6,
    "arctan": 7,
    "arcsinh": 6,
    "arccosh": 6,
    "arctanh": 7,
}


def _regions(dtype, n=3000):
    rng = np.random.default_rng(1)
    top = np.log10(np.finfo(dtype).max) - 8
    yield "box", rng.uniform(-3, 3, n) + 1j * rng.uniform(-3, 3, n)
    yield "wide", 10.0 ** rng.uniform(-top, top, n) * np.exp(1j * rng.uniform(-np.pi, np.pi, n))
    tiny = 10.0 ** rng.uniform(-top, -3, n) * rng.choice([-1, 1], n)
    yield "branch_cut", -(10.0 ** rng.uniform(-5, 5, n)) + 1j * tiny
    yield "unit_circle", np.exp(1j * rng.uniform(-np.pi, np.pi, n)) * (1 + rng.uniform(-1e-3, 1e-3, n))
    yield "moderate", rng.uniform(-40, 40, n) + 1j * rng.uniform(-40, 40, n)


def _ulp_errors(actual, expected):
    real = np.finfo(expected.dtype).dtype
    out = []
    for part in (np.real, np.imag) if expected.dtype.kind == "c" else (np.real,):
        e, a = part(expected), part(actual)
        ok = np.isfinite(e) & (np.abs(e) > np.finfo(real).tiny * 1e3) & (np.abs(e) < np.finfo(real).max / 1e3)
        out.append(np.abs(a[ok] - e[ok]) / np.spacing(np.abs(e[ok]).astype(real)))
    return np.concatenate(out)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("name", [*ULP_BOUNDS, *ULP_BOUNDS_MORE])
def test_accuracy_under_jit_in_ulps(name, dtype):
    f = getattr(fnp, name)
    compiled = fnad.jit(f)
    for region, z in _regions(np.finfo(dtype).dtype):
        z = z.astype(dtype)
        with np.errstate(all="ignore"):
            err = _ulp_errors(np.asarray(compiled(z)), f(z))
        bound = {**ULP_BOUNDS, **ULP_BOUNDS_MORE}[name]
        assert err.max() <= bound, f"{name} {dtype.__name__} {region}: {err.max()} ulp"


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_exp_accuracy_at_large_arguments_under_jit(dtype):
    # exp(a + ib) where exp(a) alone overflows but its product with cos b or sin b does not, where it
    # underflows, and for |b| up to 1e300 (Payne-Hanek reduction above 2**50): the regions shuffled into
    # one array, so that the vectorised loop meets lanes of both paths together. Within exp's ulp bound
    # of NumPy, and infinite exactly where NumPy's is (with its sign).
    rng = np.random.default_rng(3)
    real = np.finfo(dtype).dtype
    top, n = np.log(np.finfo(real).max), 1000
    sign = lambda: rng.choice([-1, 1], n)
    z = np.concatenate(
        [
            rng.uniform(top - 12, top + 0.7, n) + 1j * rng.uniform(-4, 4, n),
            rng.uniform(-top - 30, -top + 30, n) + 1j * rng.uniform(-4, 4, n),
            rng.uniform(-5, 5, n) + 1j * sign() * 10.0 ** rng.uniform(2, 15, n),
            rng.uniform(-5, 5, n) + 1j * sign() * 10.0 ** rng.uniform(15, np.log10(np.finfo(real).max) - 8, n),
        ]
    )
    z = rng.permutation(z).astype(dtype)
    with np.errstate(all="ignore"):
        expected, actual = np.exp(z), np.asarray(fnad.jit(fnp.exp)(z))
    assert _ulp_errors(actual, expected).max() <= ULP_BOUNDS["exp"]
    for part in (np.real, np.imag):
        inf = np.isinf(part(expected))
        assert inf.any() and np.array_equal(part(actual)[inf], part(expected)[inf])
        assert not np.isnan(part(actual)).any()


@pytest.mark.parametrize("name, dtype", [("exp", np.complex128), ("exp", np.complex64), ("sinh", np.complex128)])
def test_compiled_elementwise_loop_is_vectorised(name, dtype):
    # The loop over the elements of exp and sinh (whose parts test one argument for the slow path of both
    # sin and cos) was left scalar by LLVM (5x slower) while each part had its own one-trip loop.
    from fnad_compiler import engine
    from fnad_compiler.runtime import compile_jaxpr

    program = compile_jaxpr(prepare_for_compile(fnad.make_jaxpr(getattr(fnp, name))(np.ones(64, dtype)))).program
    assert any("vector.body:" in str(engine.optimize(engine.parse(unit))) for unit in program.units.values())


SPECIAL = [0.0, -0.0, 1.5, -1.5, np.inf, -np.inf, np.nan]


@pytest.mark.parametrize("name", ULP_BOUNDS)
def test_special_values_match_numpy(name):
    # Every combination of +-0, +-1.5, +-inf and nan in either part: a nan in the same results as
    # NumPy, and otherwise the same value with the same signs (of zeros too); except exp(-inf - inf j),
    # +0 + 0j here and -0 - 0j in NumPy (C99 leaves those signs unspecified).
    f = getattr(fnp, name)
    z = np.array([complex(a, b) for a in SPECIAL for b in SPECIAL])
    with np.errstate(all="ignore"):
        expected, actual = np.asarray(f(z)), np.asarray(fnad.jit(f)(z))
    for zi, e, a in zip(z, expected, actual):
        if name == "exp" and zi.real == -np.inf and zi.imag == -np.inf:
            continue
        e_nan, a_nan = np.isnan(e.real) or np.isnan(e.imag), np.isnan(a.real) or np.isnan(a.imag)
        assert e_nan == a_nan, (name, zi, e, a)
        if not e_nan:
            np.testing.assert_allclose(a, e, rtol=4 * np.finfo(float).eps, err_msg=f"{name}({zi})")
            assert np.signbit(np.real(a)) == np.signbit(np.real(e)), (name, zi, e, a)
            assert np.signbit(np.imag(a)) == np.signbit(np.imag(e)), (name, zi, e, a)


# ----------------------------------------------------------------------------------------------
# Every primitive that accepts complex operands can be compiled on them


@pytest.mark.parametrize("op", TABLE, ids=repr)
def test_every_primitive_taking_complex_operands_has_a_complex_rule(op):
    # Each entry of tests/test_primitives.py's TABLE, with its float operands made complex: either staging
    # refuses them (a real-only primitive), or lower_complex turns the IR into real equations, which
    # needs a complex_parts rule (or complex_native) for every primitive in it.
    @settings(max_examples=3, deadline=None, database=None)
    @given(data=st.data())
    def run(data):
        args, params = draw_case(data, op)
        args = [a.astype(np.complex128) * (1 - 0.5j) if a.dtype.kind == "f" else a for a in map(np.asarray, args)]
        try:
            closed = fnad.make_jaxpr(lambda *a: op.fun(*a, **params))(*args)
        except (TypeError, ValueError):
            return
        lower_complex(closed)

    run()


# ----------------------------------------------------------------------------------------------
# .at[].multiply / .min / .max on complex values: one complex product (NumPy's lexicographic order)
# per update, compiled as the real scatters are

SCATTER_X = np.array([[1 + 2j, -0.5 + 1j], [2 - 1j, 1.5 + 0.5j], [-1 + 0.25j, 3 - 2j], [0.5 - 0.5j, -2 + 1j]])
SCATTER_IDX = np.array([1, 3, 1, 0, 1])  # three updates at row 1, with ties of real parts there
SCATTER_V = np.array(
    [[0.5 + 1j, 2 - 1j], [2 + 0.5j, -1 + 1j], [2 - 3j, 1.5 - 0.5j], [-1 + 1j, 0.5 + 2j], [2 + 1j, 1.5 + 0.5j]]
)
SCATTER_C = np.array([[1 - 1j, 0.5 + 2j], [-1 + 0.5j, 2 + 1j], [1.5 + 1j, -0.5 - 1j], [1 + 2j, -2 + 0.5j]])
# getattr(jnp.asarray(SCATTER_X).at[SCATTER_IDX], name)(SCATTER_V), JAX 0.10.2 with x64
SCATTER_JAX = {
    "multiply": [[-3 - 1j, -2.25 - 0.5j], [20 + 2.5j, 8.75 - 1.25j], [-1 + 0.25j, 3 - 2j], [1.25 - 0.75j, 1 - 3j]],
    "min": [[-1 + 1j, -0.5 + 1j], [0.5 + 1j, 1.5 - 0.5j], [-1 + 0.25j, 3 - 2j], [0.5 - 0.5j, -2 + 1j]],
    "max": [[1 + 2j, 0.5 + 2j], [2 + 1j, 2 - 1j], [-1 + 0.25j, 3 - 2j], [2 + 0.5j, -1 + 1j]],
}
# jax.grad(lambda x, v: jnp.sum(jnp.abs(getattr(x.at[SCATTER_IDX], name)(v) * SCATTER_C) ** 2), argnums=(0, 1))
# (JAX 0.10.2; it refuses scatter_mul's gradient for repeated indices)
SCATTER_GRAD_JAX = {
    "min": (
        [[0, -4.25 - 8.5j], [0, 0], [-6.5 - 1.625j, 7.5 + 5j], [5 + 5j, -17 - 8.5j]],
        [[1.25 - 2.5j, 0], [0, 0], [0, 15 + 5j], [-4 - 4j, 0], [0, 0]],
    ),
    "max": (
        [[4 - 8j, 0], [0, 0], [-6.5 - 1.625j, 7.5 + 5j], [0, 0]],
        [[0, 20 + 10j], [20 - 5j, -8.5 - 8.5j], [0, 0], [0, 4.25 - 17j], [5 - 2.5j, 0]],
    ),
}


def _scatter(name, idx=SCATTER_IDX):
    return lambda x, v: getattr(fnp.asarray(x).at[idx], name)(v)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("name", SCATTER_JAX)
def test_complex_scatter_multiply_min_max_match_jax_and_compile(name, dtype):
    f = _scatter(name)
    x, v = SCATTER_X.astype(dtype), SCATTER_V.astype(dtype)
    eager, compiled = np.asarray(f(x, v)), np.asarray(fnad.jit(f)(x, v))
    assert compiled.dtype == eager.dtype == dtype
    np.testing.assert_array_equal(compiled, eager)  # the same products in the same order
    np.testing.assert_allclose(compiled, np.array(SCATTER_JAX[name], dtype), rtol=4 * np.finfo(dtype).eps)
    assert "scatter" in str(prepare_for_compile(fnad.make_jaxpr(f)(x, v)))  # compiled as a scatter, not a loop


@pytest.mark.parametrize("name", SCATTER_JAX)
def test_complex_scatter_edge_cases_compile_as_eager(name):
    # NaN parts (NumPy's order: a NaN in the point or in an update wins; JAX keeps x where it compares
    # less, docs/jax_differences.md), infinities, and indices outside the operand (dropped).
    nan, inf = np.nan, np.inf
    x = np.array([1 + 1j, complex(nan, 0), complex(1, nan), 2 + 2j, complex(inf, 1), 0j])
    idx = np.array([0, 1, 2, 3, 3, 4, 5, 6, -7, 5])
    v = np.array([complex(nan, 1), 5 + 5j, 0j, complex(2, nan), 1 + 1j, complex(-inf, 0), 2j, 1, 1, -1])
    f = lambda x, v: getattr(fnp.asarray(x).at[idx, ...], name)(v, mode="drop")
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(np.asarray(fnad.jit(f)(x, v)), np.asarray(f(x, v)))


@pytest.mark.parametrize("name", ["min", "max"])
def test_complex_scatter_min_max_gradients_match_jax(name):
    f = lambda x, v: fnp.sum(fnp.abs(_scatter(name)(x, v) * SCATTER_C) ** 2)
    for g in (fnad.grad(f, argnums=(0, 1)), fnad.jit(fnad.grad(f, argnums=(0, 1)))):
        for got, want in zip(g(SCATTER_X, SCATTER_V), SCATTER_GRAD_JAX[name], strict=True):
            np.testing.assert_allclose(np.asarray(got), np.array(want, complex), rtol=1e-14, atol=1e-14)


def test_complex_scatter_multiply_gradient_matches_finite_differences():
    # grad of a real loss is df/dx - i df/dy (JAX's convention), per element of x and of the updates
    f = lambda x, v: fnp.sum(fnp.abs(_scatter("multiply")(x, v) * SCATTER_C) ** 2)
    loss = lambda x, v: float(np.asarray(f(x, v)))
    for g in (fnad.grad(f, argnums=(0, 1)), fnad.jit(fnad.grad(f, argnums=(0, 1)))):
        gx, gv = map(np.asarray, g(SCATTER_X, SCATTER_V))
        for k, (arg, grad) in enumerate([(SCATTER_X, gx), (SCATTER_V, gv)]):
            for i in np.ndindex(arg.shape):
                fd = []
                for t in (1, 1j):
                    e = np.zeros(arg.shape, complex)
                    e[i] = 1e-6 * t
                    at = lambda s: loss(*[a + s * e if j == k else a for j, a in enumerate((SCATTER_X, SCATTER_V))])
                    fd.append((at(1) - at(-1)) / 2e-6)
                np.testing.assert_allclose(grad[i], fd[0] - 1j * fd[1], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", SCATTER_JAX)
def test_complex_scatter_vmap_matches_loop(name):
    f = _scatter(name)
    xs = SCATTER_X * np.array([[[1.0]], [[0.5 - 1j]], [[-2j]]])
    vs = SCATTER_V * np.array([[[1j]], [[1.0]], [[2 + 1j]]])
    expected = np.stack([np.asarray(f(x, v)) for x, v in zip(xs, vs)])
    np.testing.assert_array_equal(np.asarray(fnad.vmap(f)(xs, vs)), expected)
    np.testing.assert_array_equal(np.asarray(fnad.jit(fnad.vmap(f))(xs, vs)), expected)
    # one operand shared by the batch of updates
    expected = np.stack([np.asarray(f(SCATTER_X, v)) for v in vs])
    np.testing.assert_array_equal(np.asarray(fnad.jit(fnad.vmap(f, in_axes=(None, 0)))(SCATTER_X, vs)), expected)


def test_complex_pairs_scatter_refuses_operands_without_pairs():
    idx, u = np.array([[0]]), np.ones((1, 3))
    with pytest.raises(ValueError, match="complex_pairs needs a float operand"):
        fnad.make_jaxpr(lambda x: scatter_mul_p.bind(x, idx, u, axes=(0,), complex_pairs=True))(np.ones((2, 3)))
