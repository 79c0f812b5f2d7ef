"""FFT workloads (issue 14): complex128 transforms of length 2^16 and 2^20, rfft of length 1000 over
4096 rows (float64), and the gradient of a spectral loss sum_k w_k |rfft(x)_k|^2 over 256 rows of
4096 samples. fnad runs jit-compiled; NumPy and SciPy (shown as the extra `scipy` row, its ratios
against the same contenders) run their pocketfft; JAX runs jit-compiled in double precision. For
the gradient NumPy runs its closed form, n irfft(w rfft(x)) with the pair frequencies doubled."""

from __future__ import annotations

import numpy as np

import fnad
import fnad.numpy as fnp

from .workloads import HAVE_JAX, Workload, _check, _jax


def _scipy_fft():
    try:
        import scipy.fft
    except ImportError:
        return None
    return scipy.fft


def _jax64():
    """JAX with double precision on (complex128 needs it), and the context that keeps it on for
    calls timed after other workloads turned it off."""
    jax, jnp = _jax()
    return jax, jnp, lambda: jax.enable_x64(True)


def _transform(name, f_fnad, f_numpy, scipy_name, x, target):
    f = fnad.jit(f_fnad)
    _check(np.abs(f(x)), np.abs(f_numpy(x)), rtol=1e-9, atol=1e-9 * np.abs(f_numpy(x)).max())
    wl = Workload(name, target, {"fnad": lambda: f(x), "numpy": lambda: f_numpy(x)})
    sfft = _scipy_fft()
    if sfft is not None:
        wl.contenders["scipy"] = lambda: getattr(sfft, scipy_name)(x)
    if HAVE_JAX:
        jax, jnp, x64 = _jax64()
        with x64():
            jf = jax.jit(getattr(jnp.fft, scipy_name))
            xj = jnp.asarray(x)
            _check(np.abs(jf(xj)), np.abs(f(x)), rtol=1e-9, atol=1e-9 * np.abs(f_numpy(x)).max())

        def run():
            with x64():
                return jf(xj).block_until_ready()

        wl.contenders["jax"] = run
    return wl


def complex_fft(log2n):
    rng = np.random.default_rng(14)
    n = 1 << log2n
    x = rng.standard_normal(n) + 1j * rng.standard_normal(n)
    return _transform(f"complex128 FFT, n = 2^{log2n}", fnp.fft.fft, np.fft.fft, "fft", x, "<= 1.0x NumPy, < JAX")


def batched_rfft():
    x = np.random.default_rng(14).standard_normal((4096, 1000))
    return _transform("rfft n = 1000 over 4096 rows, f64", fnp.fft.rfft, np.fft.rfft, "rfft", x, "<= 1.0x NumPy, < JAX")


def spectral_loss_gradient(rows=256, n=4096):
    rng = np.random.default_rng(14)
    x = rng.standard_normal((rows, n))
    w = np.linspace(0.0, 1.0, n // 2 + 1)
    g = fnad.jit(fnad.grad(lambda v: fnp.sum(w * fnp.abs(fnp.fft.rfft(v)) ** 2)))

    def numpy_gradient():
        y = w * np.fft.rfft(x)
        y[:, 0] *= 2
        y[:, -1] *= 2
        return n * np.fft.irfft(y, n)

    _check(g(x), numpy_gradient(), rtol=1e-9, atol=1e-6)
    wl = Workload(
        f"grad of sum(w |rfft(x)|^2), {rows} x {n} f64",
        "<= 1.0x NumPy, < JAX",
        {"fnad": lambda: g(x), "numpy": numpy_gradient},
    )
    if HAVE_JAX:
        jax, jnp, x64 = _jax64()
        with x64():
            wj, xj = jnp.asarray(w), jnp.asarray(x)
            jg = jax.jit(jax.grad(lambda v: jnp.sum(wj * jnp.abs(jnp.fft.rfft(v)) ** 2)))
            _check(jg(xj), g(x), rtol=1e-9, atol=1e-6)

        def run():
            with x64():
                return jg(xj).block_until_ready()

        wl.contenders["jax"] = run
    return wl


def workloads():
    return [complex_fft(16), complex_fft(20), batched_rfft(), spectral_loss_gradient()]
