"""Writes special_breadth_reference.npz, the mpmath reference values tests/test_special_breadth.py checks fnad's
special functions against where SciPy's own error exceeds the bound tested (Fresnel integrals beyond x ~ 300,
Owen's T in its tails, 1F1 and 2F1, E_n for large n and x). Run with mpmath installed (40 digits):
`python tests/data/make_special_breadth.py`."""

import pathlib

import mpmath as mp
import numpy as np

mp.mp.dps = 40
rng = np.random.default_rng(14)
out = {}


def table(name, f, *columns):
    out[name + "_args"] = np.stack(columns)
    out[name] = np.array([float(f(*map(mp.mpf, row))) for row in zip(*columns)])


x = np.exp(rng.uniform(np.log(300.0), np.log(1e8), 40))
table("fresnel_s", mp.fresnels, x)
table("fresnel_c", mp.fresnelc, x)


def owens_t(h, a):
    # exp(-h^2 / 2) / (2 pi) int_0^atan(a) exp(-h^2 tan(t)^2 / 2) dt, split where h tan(t) reaches 1 and 5
    cuts = sorted({mp.atan(min(a, v / h)) for v in (1, 5)} | {mp.atan(a)})
    body = mp.quad(lambda t: mp.exp(-h * h * mp.tan(t) ** 2 / 2), [0, *cuts])
    return mp.exp(-h * h / 2) / (2 * mp.pi) * body


n = 40
table("owens_t", owens_t, rng.uniform(5.0, 37.0, n), np.exp(rng.uniform(-8.0, 0.0, n)))


def hyp1f1_domain(name, a, b, x):
    table(name, mp.hyp1f1, a, b, x)


n = 120
hyp1f1_domain("hyp1f1_small", rng.uniform(0.0, 5.0, n), rng.uniform(0.1, 5.0, n), rng.uniform(-50.0, 50.0, n))
hyp1f1_domain("hyp1f1_negative_a", rng.uniform(-5.0, 5.0, n), rng.uniform(0.1, 5.0, n), rng.uniform(-30.0, 30.0, n))
hyp1f1_domain("hyp1f1_positive_x", rng.uniform(0.0, 20.0, n), rng.uniform(0.1, 20.0, n), rng.uniform(0.0, 120.0, n))
b = rng.uniform(0.1, 20.0, n)
hyp1f1_domain("hyp1f1_negative_x", rng.uniform(0.0, 1.0, n) * b, b, rng.uniform(-120.0, 0.0, n))
hyp1f1_domain(
    "hyp1f1_large_x",
    rng.uniform(0.0, 5.0, n),
    rng.uniform(0.1, 5.0, n),
    rng.uniform(120.0, 700.0, n) * rng.choice([-1.0, 1.0], n),
)

a, b, c = rng.uniform(0.1, 5.0, (3, n))
table("hyp2f1_positive", mp.hyp2f1, a, b, c, rng.uniform(-20.0, 1.0, n))
a, b = rng.uniform(-5.0, 5.0, (2, n))
table("hyp2f1_mixed", mp.hyp2f1, a, b, rng.uniform(0.1, 5.0, n), rng.uniform(-5.0, 1.0, n))
a, b = rng.uniform(0.0, 5.0, (2, n)) * 4 // 1 / 4  # quarters, so that c - a - b is exactly the integer
table("hyp2f1_integer_gap", mp.hyp2f1, a, b, a + b + rng.integers(-4, 5, n), rng.uniform(-5.0, 1.0, n))
a, b, c = rng.uniform(0.1, 5.0, (3, n))
table("hyp2f1_near_one", mp.hyp2f1, a, b, c, 1 - np.exp(rng.uniform(-30.0, np.log(0.2), n)))


def expn(n, x):
    # e^-x / (x + n) int_0^inf exp(-x v / (x + n)) (1 + v / (x + n))^-n dv (t = 1 + v / (x + n)), an integrand
    # close to e^-v (mpmath's expint and gammainc lose their digits at these n)
    scale = 1 / (x + n)
    body = mp.quad(lambda v: mp.exp(-x * v * scale) * (1 + v * scale) ** -n, [0, 1, 10, 100, mp.inf])
    return mp.exp(-x) * scale * body


table("expn_large", expn, rng.integers(50, 8000, 60).astype(float), rng.uniform(100.0, 700.0, 60))

np.savez(pathlib.Path(__file__).with_name("special_breadth_reference.npz"), **out)
