"""FFTs: lax.fft and fnad.numpy.fft, and the native kernels of fnad_compiler.fft_kernels.

The kernels are checked directly against numpy.fft for every length 1..64, primes, powers of two,
3^a 5^b and large primes (Bluestein), strided and contiguous rows, both precisions; the functions
of fnad.numpy.fft against numpy.fft over odd, even and prime lengths, axes, norms and dtypes,
eagerly and under jit; derivatives against central finite differences, jacfwd against jacrev,
vmap against a Python loop, the transposes of rfft and irfft against JAX's values, and the
errors bad arguments get."""

import ctypes
import shutil
import sys

import numpy as np
import pytest

import fnad
import fnad.export
import fnad.numpy as fnp
from fnad import lax
from fnad.test_util import check_grads
from fnad_compiler import engine, fft_kernels

RNG = np.random.default_rng(0)

# ----------------------------------------------------------------------------------------------
# The kernels, called directly

KERNEL_LENGTHS = [*range(1, 65), 97, 128, 243, 256, 375, 1009, 1024, 2025, 65537]
BACKWARD_LENGTHS = [*range(1, 18), 31, 37, 64, 97, 1009]
REAL_LENGTHS = [*range(1, 21), 32, 63, 64, 100, 1009]


def _kernel_cases(dtype):
    """(kind, n, outer, inner): rows one by one (strided and contiguous), and groups of rows long
    enough for the vector rows (rows along the last axis, and consecutive positions of inner axes)."""
    cases = [("c2c_f", n, 2, 3) for n in KERNEL_LENGTHS] + [("c2c_b", n, 2, 3) for n in BACKWARD_LENGTHS]
    cases += [(kind, n, 3, 1) for n in REAL_LENGTHS for kind in ("r2c", "c2r")]
    cases += [(kind, n, 1, 2) for n in (12, 15, 17) for kind in ("r2c", "c2r")]  # strided real rows
    cases += [
        (kind, n, *layout) for n in (8, 15, 17, 30) for kind in fft_kernels.KINDS for layout in ((70, 1), (2, 19))
    ]
    if dtype == np.float32:
        cases = cases[::5]
    return cases


def _args_struct(dtype):
    """The ctypes twin of fft_kernels.args_type(dtype)."""
    scale = ctypes.c_float if dtype == np.float32 else ctypes.c_double
    names = ["src", "dst", "work", "rows", "groups", "inner", "slen", "dlen", "scale", "wbytes"]
    types = [ctypes.c_void_p] * 3 + [ctypes.c_int64] * 5 + [scale, ctypes.c_int64]
    return type("Args", (ctypes.Structure,), {"_fields_": list(zip(names, types))})


def _compile_kernels(cases, dtype):
    """The unit of each case's (kind, length), unoptimised (the algorithm is what is checked here:
    the jit tests below run the optimised code)."""
    units = {(kind, n): fft_kernels.axis_unit(kind, n, dtype) for kind, n, _, _ in cases}
    return {
        key: engine.load_object(engine.compile_object(text, 0, 0), [symbol]).function(symbol, None, ctypes.c_void_p)
        for key, (symbol, text) in units.items()
    }


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kernels_match_numpy(dtype):
    cases = _kernel_cases(dtype)
    functions, args = _compile_kernels(cases, dtype), _args_struct(dtype)
    complex_dtype = np.complex64 if dtype == np.float32 else np.complex128
    tol = 1e-5 if dtype == np.float32 else 1e-13
    for kind, n, outer, inner in cases:
        slen = n // 2 + 1 if kind == "c2r" else n
        x = RNG.standard_normal((outer, slen, inner)).astype(dtype)
        if kind != "r2c":
            x = (x + 1j * RNG.standard_normal(x.shape)).astype(complex_dtype)
        expected = {
            "c2c_f": lambda: np.fft.fft(x, axis=1),
            "c2c_b": lambda: np.fft.ifft(x, axis=1) * n,
            "r2c": lambda: np.fft.rfft(x, axis=1),
            "c2r": lambda: np.fft.irfft(x, n, axis=1) * n,
        }[kind]()
        out = np.empty(expected.shape, dtype if kind == "c2r" else complex_dtype)
        rows, groups, wbytes = outer * inner, fft_kernels.groups(outer * inner), fft_kernels.work_bytes(kind, n, dtype)
        work = np.empty(groups * wbytes, np.uint8)
        dlen = out.shape[1]
        call = args(x.ctypes.data, out.ctypes.data, work.ctypes.data, rows, groups, inner, slen, dlen, 1.0, wbytes)
        functions[kind, n](ctypes.byref(call))
        scale = np.abs(expected).max() + 1
        err = np.abs(out - expected).max() / scale
        assert err < tol * max(1, np.log2(n)), f"{kind} n={n} {outer}x{inner}: relative error {err}"


def test_plans():
    assert fft_kernels.factorize(1000) == [4, 2, 5, 5, 5] and fft_kernels.factorize(2**17) == [4] * 8 + [2]
    assert fft_kernels.plan(1009).bluestein == 2025  # the smallest 2^a 3^b 5^c >= 2 * 1009 - 1
    assert fft_kernels.plan(13).bluestein is None and fft_kernels.plan(17).bluestein == 36
    split = fft_kernels.four_step_split
    assert split("c2c_f", 2**16, np.float64) == (256, 256) and split("c2c_b", 2**15, np.float32) == (128, 256)
    assert split("c2c_f", 21600, np.float64) == (120, 180)  # both multiples of the 4 lanes, n1 <= sqrt(n)
    assert split("c2c_f", 21600, np.float32) is None  # 2^5: no split into two multiples of 8
    assert split("c2c_f", fft_kernels.FOUR_STEP_MIN // 2, np.float64) is None  # short rows: Stockham
    assert split("r2c", 2**16, np.float64) is None and split("c2c_f", 2 * 16411, np.float64) is None  # Bluestein


FOUR_STEP_CASES = [  # (n, dtype): powers of two, radices 3 and 5 in both steps, single precision (8 lanes)
    (fft_kernels.FOUR_STEP_MIN, np.float64),
    (21600, np.float64),
    (3 * 2**14, np.float64),
    (2**15, np.float32),
    (3 * 5 * 2**12, np.float32),
    (fft_kernels.FOUR_STEP_THREADS_MIN, np.float64),  # from here on the steps run on the thread pool
    (fft_kernels.FOUR_STEP_THREADS_MIN, np.float32),
]


@pytest.mark.parametrize("n, dtype", FOUR_STEP_CASES)
def test_four_step_kernels_match_numpy_for_every_thread_count(n, dtype):
    """Rows of FOUR_STEP_MIN elements or more: forward and backward, three rows, against numpy.fft,
    and bitwise the same on 1, 2 and 3 threads (from FOUR_STEP_THREADS_MIN each step's blocks are
    shared by the threads of the pool)."""
    from fnad_compiler import parallel

    args, rows = _args_struct(dtype), 3
    complex_dtype = np.complex64 if dtype == np.float32 else np.complex128
    x = (RNG.standard_normal((rows, n)) + 1j * RNG.standard_normal((rows, n))).astype(complex_dtype)
    threads = parallel.get_num_threads()
    try:
        for kind, expected in (("c2c_f", np.fft.fft(x)), ("c2c_b", np.fft.ifft(x) * n)):
            symbol, text = fft_kernels.axis_unit(kind, n, dtype, vector=False, four_step=True)
            unit = engine.load_object(engine.compile_object(text), [symbol]).function(symbol, None, ctypes.c_void_p)
            split = fft_kernels.four_step_split(kind, n, dtype)
            work = np.empty(fft_kernels.transform_work_bytes(kind, n, dtype, rows, split), np.uint8)
            results = []
            for count in (1, 2, 3):
                parallel.set_num_threads(count)
                out = np.zeros_like(x)
                unit(ctypes.byref(args(x.ctypes.data, out.ctypes.data, work.ctypes.data, rows, 1, 1, n, n, 1.0, 0)))
                results.append(out)
            err = np.abs(results[0] - expected).max() / np.abs(expected).max()
            assert err < (2e-7 if dtype == np.float32 else 1e-15) * np.log2(n), f"{kind} n={n}: relative error {err}"
            assert all(np.array_equal(results[0], r) for r in results[1:]), f"{kind} n={n}: differs by thread count"
    finally:
        parallel.set_num_threads(threads)


def test_four_step_under_jit_matches_numpy():
    """The four-step path through jit: batched fft and ifft of both precisions, a transform in place
    (fftn's second axis, the last with a trailing axis of 1), irfftn's leading axis in its scratch
    copy, and the gradient of a loss through a long transform."""
    n = fft_kernels.FOUR_STEP_MIN
    for complex_dtype, tol in ((np.complex128, 1e-12), (np.complex64, 2e-5)):
        x = _signal((2, n), dtype=np.float32 if complex_dtype == np.complex64 else np.float64)
        f = fnad.jit(lambda v: (fnp.fft.fft(v), fnp.fft.ifft(v, norm="ortho")))
        y, z = f(x)
        _check(y, np.fft.fft(x), tol)
        _check(z, np.fft.ifft(x, norm="ortho"), tol)
    column = _signal((n, 1))
    _check(fnad.jit(fnp.fft.fftn)(column), np.fft.fftn(column))
    _check(fnad.jit(fnp.fft.ifftn)(column), np.fft.ifftn(column))
    half = _signal((n, 1))  # the last axis' spectrum of one element: the leading axis' rows are contiguous
    _check(fnad.jit(lambda v: fnp.fft.irfftn(v, (n, 1), (0, 1)))(half), np.fft.irfftn(half, (n, 1), (0, 1)))
    w = RNG.standard_normal(n)
    loss = lambda v: fnp.sum(w * fnp.abs(fnp.fft.fft(v)) ** 2)
    v = RNG.standard_normal(n)
    expected = 2 * n * np.real(np.fft.ifft(w * np.fft.fft(v)))  # d/dv sum w |F v|^2 = 2 Re(F^H W F v)
    np.testing.assert_allclose(fnad.jit(fnad.grad(loss))(v), expected, rtol=1e-10, atol=1e-9 * np.abs(expected).max())


# ----------------------------------------------------------------------------------------------
# fnad.numpy.fft against numpy.fft

NORMS = [None, "ortho", "forward"]  # None is "backward"


def _check(got, expected, tol=1e-12):
    got = np.asarray(got)
    assert got.shape == expected.shape and got.dtype == expected.dtype, (got.shape, got.dtype, expected.dtype)
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * (1 + np.abs(expected).max()))


def _signal(shape, kind="complex", dtype=np.float64):
    x = RNG.standard_normal(shape)
    if kind == "complex":
        x = x + 1j * RNG.standard_normal(shape)
        return x.astype(np.complex64 if dtype == np.float32 else np.complex128)
    return x.astype(dtype)


ONE_AXIS = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"]
REAL_INPUT = {"rfft", "ihfft", "rfftn", "rfft2"}


@pytest.mark.parametrize("name", ONE_AXIS)
@pytest.mark.parametrize("norm", NORMS)
def test_one_axis_functions_match_numpy(name, norm, mode):
    x = _signal((3, 7, 4), "real" if name in REAL_INPUT else "complex")
    cases = [(None, -1), (None, 1), (5, 0), (8, 1), (11, -1), (1, 2), (13, 1)]
    f = mode(lambda v: [getattr(fnp.fft, name)(v, n, axis, norm) for n, axis in cases])  # one program
    for got, (n, axis) in zip(f(x), cases):
        _check(got, getattr(np.fft, name)(x, n, axis, norm))


@pytest.mark.parametrize("name", ["fftn", "ifftn", "rfftn", "irfftn", "fft2", "ifft2", "rfft2", "irfft2"])
@pytest.mark.parametrize("norm", ["backward", "ortho", "forward"])
def test_many_axes_functions_match_numpy(name, norm, mode):
    x = _signal((4, 5, 6), "real" if name in REAL_INPUT else "complex")
    two = name.endswith("2")
    cases = []
    for s, axes in [(None, None), ((3, 8), (0, 2)), (None, (2, 0)), ((5, 4), (-1, -2)), ((2, 3, 7), None)]:
        if two and axes is None and s is not None and len(s) == 3:
            continue  # the 2-D functions have two default axes
        kwargs = {"norm": norm} | ({} if axes is None else {"axes": axes}) | ({} if s is None else {"s": s})
        if not two and s is not None and axes is None:
            kwargs["axes"] = tuple(range(3 - len(s), 3))  # NumPy 2 deprecates s without axes
        cases.append(kwargs)
    f = mode(lambda v: [getattr(fnp.fft, name)(v, **kwargs) for kwargs in cases])  # one program
    for got, kwargs in zip(f(x), cases):
        _check(got, getattr(np.fft, name)(x, **kwargs))


@pytest.mark.parametrize("name", ["fft", "rfft", "ifft", "irfft", "fftn", "irfftn"])
def test_dtypes_as_jax(name, mode):
    """float32 in, complex64 (float32) out, single-precision accuracy; integers in double precision."""
    real = name in REAL_INPUT
    x32 = _signal((5, 6), "real" if real else "complex", np.float32)
    y = mode(getattr(fnp.fft, name))(x32)
    expected = getattr(np.fft, name)(x32.astype(np.float64 if real else np.complex128))
    assert np.asarray(y).dtype == (np.complex64 if name in ("fft", "rfft", "ifft", "fftn") else np.float32)
    np.testing.assert_allclose(y, expected, rtol=2e-5, atol=2e-5 * np.abs(expected).max())
    ints = np.arange(12).reshape(3, 4) % 5
    _check(mode(getattr(fnp.fft, name))(ints), getattr(np.fft, name)(ints))


def test_frequencies_and_shifts(mode):
    for n in (1, 4, 7):
        _check(fnp.fft.fftfreq(n, 0.3), np.fft.fftfreq(n, 0.3), 1e-15)
        _check(fnp.fft.rfftfreq(n, 0.3), np.fft.rfftfreq(n, 0.3), 1e-15)
    assert fnp.fft.fftfreq(4, dtype=np.float32).dtype == np.float32
    x = RNG.standard_normal((4, 5, 3))
    for axes in (None, 1, (0, 2), -1):
        _check(mode(lambda v, a=axes: fnp.fft.fftshift(v, a))(x), np.fft.fftshift(x, axes), 0)
        _check(mode(lambda v, a=axes: fnp.fft.ifftshift(v, a))(x), np.fft.ifftshift(x, axes), 0)


def test_lax_fft():
    x = _signal((2, 3, 4))
    assert lax.FftType.RFFT == 2 and lax.FftType["IRFFT"] == lax.FftType.IRFFT
    _check(lax.fft(x, lax.FftType.FFT, (3, 4)), np.fft.fftn(x, axes=(1, 2)))
    _check(lax.fft(x, "ifft", (4,)), np.fft.ifft(x))
    _check(lax.fft(x.real, "rfft", (2, 3, 4)), np.fft.rfftn(x.real))
    _check(lax.fft(x[..., :3], "irfft", (3, 4)), np.fft.irfftn(x[..., :3], (3, 4), axes=(1, 2)))
    _check(lax.fft(x.real, "fft", (4,)), np.fft.fft(x.real))  # real input converted to complex
    assert lax.fft(x, "fft", ()) is x


# ----------------------------------------------------------------------------------------------
# Transforms: vmap, derivatives


def test_vmap_matches_a_loop():
    x = _signal((3, 4, 6))
    r = x.real
    for f, arg in [
        (lambda v: fnp.fft.fft(v), x),
        (lambda v: fnp.fft.rfft(v, n=7), r),
        (lambda v: fnp.fft.irfft(v), x),
        (lambda v: fnp.fft.fftn(v), x),
        (lambda v: fnp.fft.rfft2(v), r),
        (lambda v: fnp.fft.irfftn(v, (3, 5)), x),
        (lambda v: fnp.fft.ifft(v, axis=0), x),
    ]:
        for axis in (0, 1, 2):
            batched = fnad.vmap(f, in_axes=axis)(arg)
            loop = np.stack([np.asarray(f(np.take(arg, i, axis))) for i in range(arg.shape[axis])])
            np.testing.assert_allclose(batched, loop, rtol=1e-12, atol=1e-12)


def _spectral_losses():
    """Real-valued functions of real arrays through every transform type."""
    w6 = np.linspace(0.5, 2.0, 6)
    w4 = np.linspace(0.5, 2.0, 4)
    return [
        lambda x: fnp.sum(w4 * fnp.abs(fnp.fft.rfft(x)) ** 2),
        lambda x: fnp.sum(w6 * fnp.real(fnp.fft.fft(x * 1j + x**2))),
        lambda x: fnp.sum(w6 * fnp.fft.irfft(fnp.fft.rfft(x) * w4)),
        lambda x: fnp.sum(w6 * fnp.imag(fnp.fft.ifft(fnp.sin(x) + 0j, norm="ortho"))),
        lambda x: fnp.sum(fnp.fft.irfft(fnp.fft.rfft(x, n=7) * fnp.linspace(1.0, 2.0, 4), n=5) ** 2),
        lambda x: fnp.sum(fnp.abs(fnp.fft.rfft2(fnp.reshape(x, (2, 3)), norm="forward")) ** 2),
        lambda x: fnp.sum(fnp.fft.hfft(x[:4] + 1j * x[2:]) * fnp.arange(6.0)),
    ]


@pytest.mark.parametrize("index", range(7))
def test_derivatives_against_finite_differences(index):
    f = _spectral_losses()[index]
    check_grads(f, (RNG.standard_normal(6),), order=2)


@pytest.mark.parametrize(
    "f",
    [
        lambda x: fnp.fft.irfft(fnp.fft.rfft(x) * fnp.arange(1.0, 5.0)),
        lambda x: fnp.real(fnp.fft.fft2(fnp.reshape(x, (2, 3)))).ravel(),
        lambda x: fnp.imag(fnp.fft.ifft(x + 0j, n=8)),
        lambda x: fnp.fft.irfft(fnp.fft.rfft(x, n=9)[1:4], n=5),
    ],
)
def test_jacfwd_matches_jacrev(f):
    x = RNG.standard_normal(6)
    np.testing.assert_allclose(fnad.jacfwd(f)(x), fnad.jacrev(f)(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["fft", "ifft"])
def test_holomorphic_jacobians_are_the_dft_matrix(name, mode):
    """FFT and IFFT are holomorphic (linear): jacfwd and jacrev give the DFT matrix itself."""
    z = _signal(6)
    f = getattr(fnp.fft, name)
    expected = getattr(np.fft, name)(np.eye(6), axis=0)
    for jac in (fnad.jacfwd, fnad.jacrev):
        np.testing.assert_allclose(mode(jac(f, holomorphic=True))(z), expected, rtol=1e-13, atol=1e-14)


# JAX's values, from jax 0.10.2 with jax_enable_x64, for the primal and cotangent below:
#   jax.vjp(jnp.fft.rfft, X6)[1](CT4); jax.vjp(jnp.fft.rfft, X6[:5])[1](CT4[:3])
#   jax.vjp(lambda v: jnp.fft.irfft(v, 6), CT4)[1](X6); jax.vjp(lambda v: jnp.fft.irfft(v, 5), CT4[:3])[1](X6[:5])
#   jax.vjp(jnp.fft.rfft2, X6.reshape(2, 3))[1](C22); jax.vjp(lambda v: jnp.fft.irfft2(v, (2, 3)), C22)[1](X6.reshape(2, 3))
X6 = np.array([0.3, -1.2, 2.5, 0.7, -0.4, 1.1])
CT4 = np.array([1.0 + 0.5j, -0.3 + 2.0j, 0.8 - 1.1j, 0.25 + 0.75j])
C22 = CT4.reshape(2, 2)
JAX_RFFT6 = [
    1.7499999999999998,
    0.9794228634059945,
    3.6846787517317594,
    1.8499999999999996,
    -1.6846787517317598,
    -0.5794228634059946,
]
JAX_RFFT5 = [1.5000000000000002, 1.5156305612561445, 3.711651366322058, -0.7318139786971732, -0.9954679488810287]
JAX_IRFFT6 = [0.5, -0.5 + 0.17320508075688767j, -1.5011106998930268j, 0.29999999999999993]
JAX_IRFFT5 = [0.38000000000000006, -1.1133126291998994 + 0.11886729643613157j, 1.0333126291998993 - 0.872851972466102j]
JAX_RFFT2 = [
    [1.7499999999999998, 4.206569860407205, -0.5565698604072062],
    [-0.3500000000000001, 1.557531754730548, -0.6075317547305482],
]
JAX_IRFFT2 = [
    [0.5, -3.700743415417188e-17 - 1.501110699893027j],
    [0.03333333333333336, -0.2333333333333333 - 0.6350852961085882j],
]


def test_transposes_match_jax(mode):
    cases = [
        (fnp.fft.rfft, X6, CT4, JAX_RFFT6),
        (fnp.fft.rfft, X6[:5], CT4[:3], JAX_RFFT5),
        (lambda v: fnp.fft.irfft(v, 6), CT4, X6, JAX_IRFFT6),
        (lambda v: fnp.fft.irfft(v, 5), CT4[:3], X6[:5], JAX_IRFFT5),
        (fnp.fft.rfft2, X6.reshape(2, 3), C22, JAX_RFFT2),
        (lambda v: fnp.fft.irfft2(v, (2, 3)), C22, X6.reshape(2, 3), JAX_IRFFT2),
    ]
    for f, primal, ct, expected in cases:
        (got,) = mode(lambda p, c, f=f: fnad.vjp(f, p)[1](c))(primal, ct)
        np.testing.assert_allclose(got, np.array(expected), rtol=1e-13, atol=1e-15)
        assert np.asarray(got).dtype == np.asarray(expected).dtype


def test_gradient_of_a_spectral_loss_under_jit():
    x = RNG.standard_normal((8, 30)).astype(np.float32)
    w = np.linspace(0.0, 1.0, 16).astype(np.float32)
    loss = lambda v: fnp.sum(w * fnp.abs(fnp.fft.rfft(v)) ** 2)
    eager = fnad.grad(loss)(x)
    np.testing.assert_allclose(fnad.jit(fnad.grad(loss))(x), eager, rtol=1e-4, atol=1e-4)
    # d/dx sum_k w_k |X_k|^2 = 2 Re(irfft-like sum): against the float64 NumPy formula
    X = np.fft.rfft(x.astype(np.float64))
    n, k = 30, np.arange(16)
    expected = 2 * np.real(np.exp(2j * np.pi * np.outer(np.arange(n), k) / n) @ (w * X).T).T
    np.testing.assert_allclose(eager, expected, rtol=1e-4, atol=1e-3)


@pytest.mark.skipif(shutil.which("cc") is None or not sys.platform.startswith("linux"), reason="needs cc on Linux")
def test_exported_c_library_runs_the_kernels(tmp_path):
    """The kernels are generated into the program, so an exported library carries them (a
    smoothing filter through rfft and irfft, and a length that goes through Bluestein)."""
    w = np.linspace(0.0, 1.0, 33)
    x, y = RNG.standard_normal((3, 64)), RNG.standard_normal(37)
    cases = [
        ("smooth", lambda v: fnp.fft.irfft(fnp.fft.rfft(v) * w, 64), x, np.fft.irfft(np.fft.rfft(x) * w, 64)),
        ("power", lambda v: fnp.abs(fnp.fft.fft(v)) ** 2, y, np.abs(np.fft.fft(y)) ** 2),
    ]
    for name, f, arg, expected in cases:
        library = fnad.export.c_library({name: f}, arg, directory=tmp_path, library=f"fft_{name}")
        out = np.empty(expected.shape)
        run = getattr(ctypes.CDLL(str(library.path)), name)
        assert run(ctypes.c_void_p(arg.ctypes.data), ctypes.c_void_p(out.ctypes.data)) == 0
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------------------------
# Errors


def test_bad_input_raises_clear_errors():
    x = _signal((3, 4))
    with pytest.raises(np.exceptions.AxisError, match="out of bounds"):
        fnp.fft.fft(x, axis=2)
    with pytest.raises(ValueError, match="invalid number of data points \\(0\\)"):
        fnp.fft.fft(x, n=0)
    with pytest.raises(ValueError, match="invalid number of data points \\(0\\)"):
        fnp.fft.fft(np.zeros((3, 0)))
    with pytest.raises(ValueError, match="invalid number of data points \\(-1\\)"):
        fnp.fft.rfftn(x.real, s=(2, -1))
    with pytest.raises(ValueError, match="only real valued inputs supported for rfft"):
        fnp.fft.rfft(x)
    with pytest.raises(ValueError, match="only real valued inputs supported for rfft"):
        fnad.jit(fnp.fft.rfft)(x)
    with pytest.raises(ValueError, match="repeated axes"):
        fnp.fft.fftn(x, axes=(0, 0))
    with pytest.raises(ValueError, match="different lengths"):
        fnp.fft.fftn(x, s=(3,), axes=(0, 1))
    with pytest.raises(ValueError, match="invalid norm"):
        fnp.fft.fft(x, norm="sideways")
    with pytest.raises(ValueError, match="must match the last"):
        lax.fft(x, "fft", (5,))
    with pytest.raises(ValueError, match="at least as many input dimensions"):
        lax.fft(x, "fft", (1, 3, 4))
    with pytest.raises(ValueError, match="unknown fft_type"):
        lax.fft(x, "dct", (4,))
    with pytest.raises(ValueError, match="n must be positive"):
        fnp.fft.fftfreq(0)
