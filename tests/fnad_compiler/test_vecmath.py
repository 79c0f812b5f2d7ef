"""fnad_compiler.vecmath: each kernel, inlined into an O3-vectorised loop, against NumPy in ulp."""

import ctypes
import functools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from llvmlite import ir

from fnad_compiler import engine
from fnad_compiler.vecmath import SUPPORTED, emit_math, emit_powi

DTYPES = (np.float32, np.float64)
_IR_TYPE = {np.float32: ir.FloatType(), np.float64: ir.DoubleType()}


# --- compile-and-run harness ---------------------------------------------------------------------


def loop_module(name, dtype, once=False, summand=False):
    """IR for `void kernel(T *out, const T *in0[, const T *in1], i64 n)`: out[i] = name(in0[i], ...)
    (with emit_math's `once` kernels, which may branch, if `once`; its `summand` ones if `summand`)."""
    nargs = 2 if name in ("pow", "atan2") else 1
    return map_module(name, dtype, nargs, lambda b, *vals: emit_math(b, name, *vals, once=once, summand=summand))


def map_module(name, dtype, nargs, element):
    """The loop `out[i] = element(builder, in0[i], ...)` as a module named vm_<name>."""
    fty = _IR_TYPE[dtype]
    module = ir.Module(name=f"vm_{name}")
    ptr, i64 = ir.PointerType(), ir.IntType(64)
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [ptr] * (nargs + 1) + [i64]), "kernel")
    for arg in fn.args[:-1]:
        arg.add_attribute("noalias")
    out, ins, n = fn.args[0], fn.args[1:-1], fn.args[-1]
    entry, body, done = (fn.append_basic_block(s) for s in ("entry", "body", "done"))
    b = ir.IRBuilder(entry)
    b.cbranch(b.icmp_signed(">", n, i64(0)), body, done)
    b.position_at_end(body)
    i = b.phi(i64)
    i.add_incoming(i64(0), entry)
    vals = [b.load(b.gep(p, [i], source_etype=fty), typ=fty) for p in ins]
    b.store(element(b, *vals), b.gep(out, [i], source_etype=fty))
    nxt = b.add(i, i64(1))
    i.add_incoming(nxt, body)
    b.cbranch(b.icmp_signed("<", nxt, n), body, done)
    b.position_at_end(done)
    b.ret_void()
    return module


def optimise(module):
    """The optimised module (O3, loop and SLP vectorisation) as the jit would build it."""
    return engine.optimize(engine.parse(module))


@functools.cache
def compiled(name, dtype, once=False, summand=False):
    """A Python callable f(*inputs) -> output array running the vectorised loop (compiled once)."""
    nargs = 2 if name in ("pow", "atan2") else 1
    return _runner(loop_module(name, dtype, once, summand), dtype, nargs)


@functools.cache
def compiled_powi(n, dtype):
    """f(x) -> x**n through emit_powi in a vectorised loop."""
    return _runner(map_module(f"powi{n}", dtype, 1, lambda b, x: emit_powi(b, x, n)), dtype, 1)


def _runner(module, dtype, nargs):
    kernel = engine.compile(module, "kernel").function("kernel", None, *[ctypes.c_void_p] * (nargs + 1), ctypes.c_int64)

    def run(*inputs):
        inputs = [np.ascontiguousarray(np.broadcast_to(x, inputs[0].shape), dtype=dtype) for x in inputs]
        out = np.empty_like(inputs[0])
        kernel(out.ctypes.data, *[x.ctypes.data for x in inputs], out.size)
        return out

    return run


def ulp_distance(a, b):
    """|a - b| in units in the last place via the ordered integer representation.

    NaN against NaN is 0; NaN against a number, or zeros of different sign, give inf."""
    a, b = np.asarray(a), np.asarray(b)
    ity = np.int32 if a.dtype == np.float32 else np.int64
    ia, ib = a.view(ity).astype(np.int64), b.view(ity).astype(np.int64)
    top = np.int64(np.iinfo(ity).min)
    ia = np.where(ia < 0, top - ia, ia)  # map to a monotonic integer line (-0 -> 0 == +0)
    ib = np.where(ib < 0, top - ib, ib)
    with np.errstate(over="ignore"):  # opposite signs may overflow int64: use floats there
        d = np.where(
            (ia < 0) == (ib < 0),
            np.abs(ia - ib).astype(np.float64),
            np.abs(ia.astype(np.float64)) + np.abs(ib.astype(np.float64)),
        )
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    d = np.where(nan_a | nan_b, np.where(nan_a & nan_b, 0.0, np.inf), d)
    return np.where((np.signbit(a) != np.signbit(b)) & (a == 0) & (b == 0), np.inf, d)


# --- references ----------------------------------------------------------------------------------


def _logistic(x):
    return 1 / (1 + np.exp(-x))


_erf = np.vectorize(math.erf, otypes=[np.float64])

NUMPY = {
    "exp": np.exp,
    "exp2": np.exp2,
    "expm1": np.expm1,
    "log": np.log,
    "log2": np.log2,
    "log10": np.log10,
    "log1p": np.log1p,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "asinh": np.arcsinh,
    "acosh": np.arccosh,
    "atanh": np.arctanh,
    "atan": np.arctan,
    "asin": np.arcsin,
    "acos": np.arccos,
    "atan2": np.arctan2,
    "pow": np.power,
    "cbrt": np.cbrt,
}
UNARY = sorted(SUPPORTED - {"pow", "atan2"})
TOL = 4


def reference(name, dtype, *xs):
    """NumPy's value of name(*xs) in dtype.  float32 arguments are evaluated by NumPy in float64 and
    rounded: NumPy's own float32 kernels are up to 4 ulp off, so comparing with them would measure
    NumPy's error as much as ours.  logistic (no ufunc; 1/(1+exp(-x)) loses subnormal results in
    the working precision) is evaluated one precision up, erf by libm's erf via `math`."""
    if dtype == np.float32:
        wide = np.float64
    else:  # glibc's double cbrt is up to 3 ulp off; cbrtl is good to far below a double's ulp
        wide = np.longdouble if name in ("logistic", "cbrt") else np.float64
    fn = {"logistic": _logistic, "erf": _erf}.get(name) or NUMPY[name]
    with np.errstate(all="ignore"):
        return fn(*[np.asarray(x).astype(wide) for x in xs]).astype(dtype)


TRIG_LIMIT = 2.0**50  # beyond this sin/cos/tan reduce by Payne-Hanek in a scalar slow path


def check(name, dtype, *xs, tol=TOL, once=False):
    xs = [np.asarray(x, dtype=dtype) for x in xs]
    got = compiled(name, dtype, once)(*xs)
    want = reference(name, dtype, *xs)
    err = ulp_distance(got, want)
    bad = np.flatnonzero(err > tol)
    if bad.size:
        i = bad[np.argmax(err[bad])]
        pytest.fail(
            f"{name}[{np.dtype(dtype).name}] {bad.size} values beyond {tol} ulp; worst "
            f"{err[i]:g} ulp at x={[x.flat[i] for x in xs]!r}: got {got.flat[i]!r}, want {want.flat[i]!r}"
        )
    return float(err.max())


# --- inputs ---------------------------------------------------------------------------------------


def _around(v, dtype, steps=8):
    """v and its `steps` neighbours on each side in dtype."""
    v = np.asarray(v, dtype=dtype)
    out = [v]
    lo = hi = v
    for _ in range(steps):
        lo, hi = np.nextafter(lo, dtype(-np.inf)), np.nextafter(hi, dtype(np.inf))
        out += [lo, hi]
    return np.array(out, dtype=dtype)


def special_values(name, dtype):
    fi = np.finfo(dtype)
    tiny, huge = float(fi.smallest_subnormal), float(fi.max)
    base = [
        0.0,
        -0.0,
        np.inf,
        -np.inf,
        np.nan,
        tiny,
        -tiny,
        fi.smallest_normal,
        -fi.smallest_normal,
        huge,
        -huge,
        0.5,
        -0.5,
        2.0,
        -2.0,
        3.0,
        10.0,
        -10.0,
        fi.eps,
        -fi.eps,
        1e-5,
        100.0,
        -100.0,
    ]
    vals = [np.array(base, dtype=dtype), _around(1.0, dtype), _around(-1.0, dtype)]
    with np.errstate(all="ignore"):
        ln_max, ln_tiny = np.log(np.float64(huge)), np.log(np.float64(tiny))
        thresholds = {
            "exp": [ln_max, ln_tiny, np.log(float(fi.smallest_normal))],
            "expm1": [ln_max, -18.0, -40.0],
            "logistic": [-ln_max, ln_tiny, -ln_tiny],
            "exp2": [np.log2(huge), np.log2(tiny), fi.minexp, fi.maxexp],
            "sinh": [ln_max + np.log(2.0), 1.0],
            "cosh": [ln_max + np.log(2.0)],
            "tanh": [0.55, 9.0, 19.0],
            "erf": [1.0, 4.0, 6.0, 0.5],
            "asinh": [2.0, 2.0**13, 2.0**28],
            "acosh": [2.0, 2.0**13, 2.0**28],
            "asin": [0.5],
            "acos": [0.5, -0.5],
            "atanh": [0.5],
            "atan": [np.tan(np.pi / 8), np.tan(3 * np.pi / 8)],
        }.get(name, [])
    for t in thresholds:
        vals += [_around(t, dtype), _around(-t, dtype)]
    if name in ("sin", "cos", "tan"):
        k = np.arange(-2000, 2001, dtype=np.float64)
        big = np.random.default_rng(1).integers(1, 2**49, 4000).astype(np.float64)
        vals += [
            (k * (np.pi / 2)).astype(dtype),
            (big * (np.pi / 2)).astype(dtype),
            np.array([2.0**e for e in range(-30, 60)] + [TRIG_LIMIT, 1.1 * TRIG_LIMIT], dtype=dtype),
        ]
    return np.concatenate(vals)


def pair_specials(dtype):
    fi = np.finfo(dtype)
    v = np.array(
        [
            0.0,
            -0.0,
            1.0,
            -1.0,
            np.inf,
            -np.inf,
            np.nan,
            0.5,
            -0.5,
            2.0,
            -2.0,
            3.0,
            -3.0,
            float(fi.smallest_subnormal),
            -float(fi.smallest_subnormal),
            float(fi.max),
            -float(fi.max),
            1e10,
            -1e10,
            2.0**60 + 2.0**10,
            0.25,
            -7.0,
        ],
        dtype=dtype,
    )
    x, y = np.meshgrid(v, v)
    return x.ravel(), y.ravel()


SWEEP_DOMAIN = {  # |x| range of the dense log-spaced sweep (both signs)
    "exp": (1e-30, 800),
    "exp2": (1e-30, 1100),
    "expm1": (1e-30, 800),
    "logistic": (1e-30, 800),
    "sinh": (1e-30, 720),
    "cosh": (1e-30, 720),
    "tanh": (1e-30, 30),
    "erf": (1e-300, 7),
    "log": (0, 1e308),
    "log2": (0, 1e308),
    "log10": (0, 1e308),
    "log1p": (0, 1e308),
    "asinh": (0, 1e308),
    "acosh": (1, 1e308),
    "atanh": (0, 1),
    "atan": (0, 1e308),
    "asin": (0, 1),
    "acos": (0, 1),
    "cbrt": (0, 1e308),
    "sin": (1e-30, 1e308),
    "cos": (1e-30, 1e308),
    "tan": (1e-30, 1e308),
}


def sweep(name, dtype, n=500_000):
    fi = np.finfo(dtype)
    lo, hi = SWEEP_DOMAIN[name]
    x = np.geomspace(max(lo, float(fi.smallest_subnormal)), min(hi, float(fi.max)), n).astype(dtype)
    return np.concatenate([x, -x])


def floats(dtype, typical):
    width = np.finfo(dtype).bits
    return st.one_of(st.floats(width=width), st.floats(-typical, typical, width=width))


# --- tests ----------------------------------------------------------------------------------------


def test_ulp_distance():
    big = np.finfo(np.float64).max
    assert ulp_distance(
        np.array([1.0, -1.0, 0.0, big]), np.array([np.nextafter(1.0, 2), -1.0, -0.0, -big])
    ).tolist() == [1.0, 0.0, np.inf, 2.0 * big.view(np.int64)]
    tiny = np.float32(np.finfo(np.float32).smallest_subnormal)
    assert ulp_distance(np.array([tiny, np.nan], np.float32), np.array([-tiny, np.nan], np.float32)).tolist() == [
        2.0,
        0.0,
    ]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", UNARY)
def test_special_values(name, dtype):
    check(name, dtype, special_values(name, dtype))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", ["pow", "atan2"])
def test_special_pairs(name, dtype):
    check(name, dtype, *pair_specials(dtype))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", UNARY)
def test_dense_sweep(name, dtype):
    """The accuracy claim: 10^6 log-spaced arguments per function and precision."""
    check(name, dtype, sweep(name, dtype))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_pow_sweep(dtype):
    rng = np.random.default_rng(0)
    x, y = np.meshgrid(np.geomspace(1e-6, 1e6, 700), np.linspace(-60, 60, 700))
    check("pow", dtype, x.ravel(), y.ravel())
    check("pow", dtype, -rng.uniform(0.1, 10, 100_000), rng.integers(-40, 40, 100_000))  # integer powers
    check("pow", dtype, 1 + rng.uniform(-1e-3, 1e-3, 100_000), rng.uniform(-1e5, 1e5, 100_000))  # near 1
    check("pow", dtype, rng.uniform(0, 1e-30, 100_000), rng.uniform(0, 40, 100_000))  # underflow


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_atan2_sweep(dtype):
    rng = np.random.default_rng(0)
    y, x = rng.standard_normal((2, 1_000_000)) * 10.0 ** rng.uniform(-30, 30, (2, 1_000_000))
    check("atan2", dtype, y, x)


@settings(max_examples=30, deadline=None)
@given(data=st.data())
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", UNARY)
def test_random(name, dtype, data):
    x = data.draw(hnp.arrays(dtype, st.integers(1, 80), elements=floats(dtype, 30.0)))
    check(name, dtype, x)


@settings(max_examples=30, deadline=None)
@given(data=st.data())
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", ["pow", "atan2"])
def test_random_pairs(name, dtype, data):
    xy = data.draw(hnp.arrays(dtype, st.tuples(st.integers(1, 80), st.just(2)), elements=floats(dtype, 8.0)))
    check(name, dtype, xy[:, 0], xy[:, 1])


@pytest.mark.parametrize("name", ["sin", "cos", "tan"])
def test_once_trig_kernels(name):
    """The branching float64 kernels of `once` (short reduction below 2^10) keep the accuracy and
    special values of the loop kernels: both paths, their boundary, arguments next to multiples
    of pi/2 (where the remainder cancels) and the general sweep."""
    k = np.arange(-700, 701) * (np.pi / 2)
    edge = _around(2.0**10, np.float64)
    xs = [
        special_values(name, np.float64),
        sweep(name, np.float64, 200_000),
        np.linspace(-1100, 1100, 400_001),
        k,
        np.nextafter(k, np.inf),
        np.nextafter(k, -np.inf),
        edge,
        -edge,
    ]
    for x in xs:
        check(name, np.float64, x, once=True)
        assert np.array_equal(
            np.signbit(compiled(name, np.float64, True)(x)), np.signbit(compiled(name, np.float64)(x))
        )


@pytest.mark.parametrize("dtype", DTYPES)
def test_exp_summand_kernel(dtype):
    """exp's `summand` variant (logsumexp's terms) gives exp's bits wherever exp's result is a
    normal number, and a finite value in [0, max] for every argument: below that range about
    the smallest normal number, above it a large finite value, for NaN one of the two."""
    lo, hi = {np.float32: (-87.0, 88.0), np.float64: (-708.0, 709.0)}[dtype]
    exp, summand = compiled("exp", dtype), compiled("exp", dtype, summand=True)
    inside = np.concatenate(
        [
            np.linspace(lo, hi, 400_001, dtype=dtype),
            sweep("exp", dtype, 100_000),
            _around(lo, dtype),
            _around(hi, dtype),
        ]
    )
    inside = inside[(inside >= lo) & (inside <= hi)]
    np.testing.assert_array_equal(summand(inside), exp(inside))
    specials = np.array([-np.inf, np.inf, np.nan, -1e30, 1e30, lo - 1, hi + 1, np.finfo(dtype).min], dtype=dtype)
    got = summand(specials)
    assert np.isfinite(got).all() and (got >= 0).all(), got
    assert (got[[0, 3, 5, 7]] <= 2 * np.finfo(dtype).tiny).all()
    with pytest.raises(ValueError, match="no summand variant"):
        loop_module("sin", dtype, summand=True)


def huge_trig_arguments(dtype, n=100_000):
    """|x| > TRIG_LIMIT: log-spaced up to the largest float, random bit patterns, both signs, inf, NaN."""
    fi = np.finfo(dtype)
    rng = np.random.default_rng(11)
    ity = np.int64 if dtype == np.float64 else np.int32
    lo = np.array(TRIG_LIMIT, dtype).view(ity)
    x = np.concatenate(
        [
            np.geomspace(TRIG_LIMIT, float(fi.max), n).astype(dtype),
            rng.integers(lo, np.array(fi.max, dtype).view(ity), n, dtype=ity).view(dtype),
            _around(TRIG_LIMIT, dtype),
            _around(float(fi.max), dtype)[::2],
        ]
    )
    return np.concatenate([x, -x, np.array([np.inf, -np.inf, np.nan], dtype)])


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", ["sin", "cos", "tan"])
def test_trig_of_huge_arguments_by_payne_hanek(name, dtype):
    """sin/cos/tan beyond 2^50 (they were NaN there): within 1 ulp of NumPy (tan 2 in float64),
    in the vectorised loop, the `once` kernel and with explicit vector arguments."""
    x = huge_trig_arguments(dtype)
    tol = 2 if (name, dtype) == ("tan", np.float64) else 1
    check(name, dtype, x, tol=tol)
    if dtype == np.float64:
        check(name, dtype, x, tol=tol, once=True)
    got = vector_kernel(name, dtype)(x[:4096])
    assert ulp_distance(got, reference(name, dtype, x[:4096])).max() <= tol


def test_trig_reduction_of_the_double_nearest_a_multiple_of_pi_over_2():
    """x = 6381956970095103 2^797: x mod pi/2 is ~4.7e-19 (about 2^-61, the hardest case of float64),
    which needs 2/pi to ~2^-118 beyond x's bits.  Values by mpmath at 3000 bits (glibc's cos and tan
    are 8 and 14 ulp off here)."""
    x = np.array([6381956970095103 * 2.0**797, -6381956970095103 * 2.0**797])
    want = {
        "sin": [1.0, -1.0],
        "cos": [-4.687165924254628e-19] * 2,
        "tan": [-2.133485385753704e18, 2.133485385753704e18],
    }
    for name, w in want.items():
        assert ulp_distance(compiled(name, np.float64)(x), np.array(w)).max() == 0, name


def test_jit_sin_cos_tan_of_huge_arguments():
    import fnad
    import fnad.numpy as fnp

    for dtype in DTYPES:
        x = huge_trig_arguments(dtype, 2000)
        for name in ("sin", "cos", "tan"):
            got = fnad.jit(getattr(fnp, name))(x)
            assert ulp_distance(got, reference(name, dtype, x)).max() <= 2, (name, dtype)


def test_trig_loop_calls_the_slow_path_only_through_masked_vector_variants():
    """The vectorised loop stays vectorised: huge arguments reach the scalar Payne-Hanek function
    through a masked vector variant (preserving all registers) rather than a per-element branch."""
    for dtype in DTYPES:
        text = str(optimise(loop_module("sin", dtype)))
        body = text[text.index("vector.body:") : text.index("middle.block:")]
        assert "preserve_allcc" in body and ".masked(" in body
        assert "sin.huge.f" not in body


@functools.cache
def vector_kernel(name, dtype, lanes=4):
    """f(x) applying emit_math to explicit <lanes x T> vectors, for len(x) a multiple of lanes."""
    fty = ir.VectorType(_IR_TYPE[dtype], lanes)
    module = ir.Module(name=f"vm_vec_{name}")
    ptr, i64 = ir.PointerType(), ir.IntType(64)
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [ptr, ptr, i64]), "kernel")
    entry, body, done = (fn.append_basic_block(s) for s in ("entry", "body", "done"))
    b = ir.IRBuilder(entry)
    b.branch(body)
    b.position_at_end(body)
    i = b.phi(i64)
    i.add_incoming(i64(0), entry)
    x = b.load(b.gep(fn.args[1], [i], source_etype=fty), typ=fty, align=4)
    b.store(emit_math(b, name, x), b.gep(fn.args[0], [i], source_etype=fty), align=4)
    nxt = b.add(i, i64(1))
    i.add_incoming(nxt, b.block)
    b.cbranch(b.icmp_signed("<", nxt, fn.args[2]), body, done)
    b.position_at_end(done)
    b.ret_void()
    kernel = engine.compile(module, "kernel").function("kernel", None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)

    def run(x):
        x = np.ascontiguousarray(x, dtype=dtype)
        out = np.empty_like(x)
        kernel(out.ctypes.data, x.ctypes.data, x.size // lanes)
        return out

    return run


def test_loop_vectorises_without_libm_calls():
    text = str(optimise(loop_module("exp", np.float32)))
    assert "<8 x float>" in text or "<16 x float>" in text
    assert "expf" not in text and "llvm.exp." not in text


def test_vector_arguments():
    """emit_math also takes vector values directly."""
    vty = ir.VectorType(ir.DoubleType(), 4)
    module = ir.Module(name="vm_vec")
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [ir.PointerType()] * 2), "kernel")
    b = ir.IRBuilder(fn.append_basic_block())
    x = b.load(fn.args[1], typ=vty, align=8)
    b.store(emit_math(b, "atan2", x, x), fn.args[0], align=8)
    b.ret_void()
    f = engine.compile(module, "kernel").function("kernel", None, ctypes.c_void_p, ctypes.c_void_p)
    x, out = np.array([1.0, -2.0, 0.0, np.inf]), np.empty(4)
    f(out.ctypes.data, x.ctypes.data)
    assert ulp_distance(out, np.arctan2(x, x)).max() <= 1


def test_bad_arguments():
    b = ir.IRBuilder(ir.Function(ir.Module(), ir.FunctionType(ir.VoidType(), []), "f").append_basic_block())
    with pytest.raises(ValueError):
        emit_math(b, "gamma", ir.Constant(ir.DoubleType(), 1.0))
    with pytest.raises(TypeError):
        emit_math(b, "exp", ir.Constant(ir.IntType(32), 1))
    with pytest.raises(TypeError):
        emit_math(b, "pow", ir.Constant(ir.DoubleType(), 1.0), ir.Constant(ir.FloatType(), 1.0))


# --- integer powers, cbrt and floor division (issue 11 item 17) -------------------------------------

POWI_EXPONENTS = (3, 4, 5, 7, 10, 17, 100, 1000, 12345, 2**31 + 1, -2, -3, -7, -100, -320, -1074, -12345)


def powi_reference(x, n, dtype):
    """x**n correctly rounded to dtype, up to rare double roundings: long double powl (64-bit
    mantissa) for float64, float64 pow for float32."""
    wide = np.longdouble if dtype == np.float64 else np.float64
    with np.errstate(all="ignore"):
        return np.power(np.asarray(x, dtype=wide), wide(n)).astype(dtype)


def powi_arguments(dtype):
    rng = np.random.default_rng(7)
    fi = np.finfo(dtype)
    return np.concatenate(
        [
            rng.uniform(0.1, 10, 100_000),
            -rng.uniform(0.1, 10, 20_000),
            1 + rng.uniform(-1e-3, 1e-3, 50_000),
            1 + rng.uniform(-1e-9, 1e-9, 20_000),
            np.geomspace(float(fi.smallest_subnormal), float(fi.max) / 2, 50_000),
            [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 10.0, 2.0, 0.5, -2.0],
        ]
    ).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("n", POWI_EXPONENTS)
def test_integer_power_rounds_once(n, dtype):
    """emit_powi: within 1 ulp of the correctly rounded x**n for exponents up to 2^31, subnormal and
    overflowing results and the special values included.  Repeated squaring in the working
    precision was 61 ulp off at n = 100 and gave 0 for 10.0**-320 (1/10**320 = 1/inf)."""
    x = powi_arguments(dtype)
    err = ulp_distance(compiled_powi(n, dtype)(x), powi_reference(x, n, dtype))
    assert err.max() <= 1, (n, x[np.argmax(err)], err.max())


def test_integer_power_of_ten_into_the_subnormal_range():
    with np.errstate(over="ignore"):
        x = np.array([10.0, 2.0, -2.0, 0.5, 3.0])
        for n in (-320, -1074, -1075, -1073, 1074, -323):
            assert_same_bits(compiled_powi(n, np.float64)(x), np.power(x, float(n)))


def assert_same_bits(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert (
        got.dtype == want.dtype
        and np.array_equal(got, want, equal_nan=True)
        and np.array_equal(np.signbit(got), np.signbit(want))
    ), (got, want)


def test_jit_integer_pow_is_rounded_once_and_reaches_subnormals():
    """`x ** 100` and `x ** -320` under jit, and eagerly (lax.integer_pow, whose NumPy rule was 1/x**320)."""
    import fnad
    from fnad import lax

    x = powi_arguments(np.float64)
    for n in (100, -320, 7):
        want = powi_reference(x, n, np.float64)
        assert ulp_distance(fnad.jit(lambda v: v**n)(x), want).max() <= 1
        with np.errstate(all="ignore"):
            assert ulp_distance(lax.integer_pow(x, n), want).max() <= 1
    assert fnad.jit(lambda v: v**-320)(np.array([10.0]))[0] == 1e-320
    assert lax.integer_pow(np.array([10.0]), -320)[0] == 1e-320
    assert lax.integer_pow(np.array([10.0], np.float32), -40)[0] == np.float32(1e-40)


def test_integer_pow_of_integers_to_negative_powers_raises():
    import fnad
    from fnad import lax

    for call in (lambda x: lax.integer_pow(x, -2), fnad.jit(lambda x: lax.integer_pow(x, -2))):
        with pytest.raises(ValueError, match="int32 to the negative power -2"):
            call(np.array([2, 3], np.int32))


def test_jit_cbrt_of_float64_subnormals_within_one_ulp():
    """cbrt of subnormals was up to 119 ulp off (its Newton step cubed y into the subnormal range)."""
    import fnad
    import fnad.numpy as fnp

    tiny = np.finfo(np.float64).smallest_normal
    rng = np.random.default_rng(5)
    x = np.concatenate([np.geomspace(5e-324, tiny, 20_000), rng.integers(1, 2**52, 20_000).view(np.float64)])
    x = np.concatenate([x, -x])
    want = reference("cbrt", np.float64, x)
    assert ulp_distance(fnad.jit(fnp.cbrt)(x), want).max() <= 1
    assert ulp_distance(compiled("cbrt", np.float64)(x), want).max() <= 1


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_floor_divide_and_mod_follow_numpy_on_special_values(dtype):
    """fnp.floor_divide and fnp.mod, traced (jit and vmap) against NumPy bit for bit: inf // y and
    x // 0 (NaN or +-inf), -1 // inf == -1, signed zeros, and 1 // 0.1 == 9 (floor(1 / 0.1) is 10)."""
    import fnad
    import fnad.numpy as fnp

    fi = np.finfo(dtype)
    v = np.array(
        [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.1,
            -0.1,
            0.5,
            2.0,
            -7.5,
            3.0,
            fi.max,
            -fi.tiny,
            fi.smallest_subnormal,
            np.inf,
            -np.inf,
            np.nan,
        ],
        dtype=dtype,
    )
    x, y = (a.ravel() for a in np.meshgrid(v, v))
    rng = np.random.default_rng(2)
    x = np.concatenate([x, rng.standard_normal(5000).astype(dtype) * 100])
    y = np.concatenate([y, rng.standard_normal(5000).astype(dtype)])
    for op in (np.floor_divide, np.mod):
        with np.errstate(all="ignore"):
            want = op(x, y)
        f = getattr(fnp, op.__name__ if op is np.floor_divide else "mod")
        assert_same_bits(fnad.jit(f)(x, y), want)
        with np.errstate(all="ignore"):
            assert_same_bits(fnad.vmap(f)(x, y), want)
