"""Writes jax_random.json, the reference values `tests/test_random.py` checks fnad.random against.

Run with JAX installed (the values in the file came from JAX 0.10.2, CPU, default threefry2x32
implementation with its default jax_threefry_partitionable=True, and jax_enable_x64=True, whose
default dtypes fnad shares): `python tests/data/make_jax_random.py`. Each case is a Python
expression over `random` and `np`; it is evaluated with `random = jax.random` here and with
`random = fnad.random` in the test, so the test also checks that the same call works unchanged.
"""

import json
import pathlib

import numpy as np

# Samplers built from exact operations on the random bits (or giving integers): fnad must give JAX's
# values bit for bit.
EXACT = [
    "random.PRNGKey(0)",
    "random.PRNGKey(42)",
    "random.PRNGKey(2**40 + 7)",
    "random.PRNGKey(-1)",
    "random.PRNGKey(np.int32(-5))",
    "random.split(random.PRNGKey(1), 3)",
    "random.split(random.PRNGKey(1), (2, 3))",
    "random.fold_in(random.PRNGKey(3), 7)",
    "random.fold_in(random.PRNGKey(3), 2**32 - 1)",
    "random.key_data(random.split(random.key(5)))",
    "random.key_data(random.fold_in(random.key(5), 9))",
    "random.bits(random.PRNGKey(0), (2, 3), np.uint64)",
    "random.bits(random.PRNGKey(0), (5,), np.uint32)",
    "random.bits(random.PRNGKey(0), (7,), np.uint16)",
    "random.bits(random.PRNGKey(0), (7,), np.uint8)",
    "random.bits(random.PRNGKey(0))",
    "random.uniform(random.PRNGKey(0), (6,))",
    "random.uniform(random.PRNGKey(0), (2, 3), np.float32)",
    "random.uniform(random.PRNGKey(7), (64,), np.float64, -2.0, 3.3)",
    "random.uniform(random.PRNGKey(7), (64,), np.float32, -2.0, 3.3)",
    "random.uniform(random.PRNGKey(7), (8,), np.float64, np.linspace(-1, 1, 8), 4.0)",
    "random.randint(random.PRNGKey(0), (8,), 0, 10)",
    "random.randint(random.PRNGKey(0), (8,), -5, 2**40)",
    "random.randint(random.PRNGKey(0), (8,), 0, 256, np.uint8)",
    "random.randint(random.PRNGKey(0), (8,), -3, 3, np.int32)",
    "random.randint(random.PRNGKey(0), (4,), 5, 5)",
    "random.bernoulli(random.PRNGKey(0), 0.3, (8,))",
    "random.bernoulli(random.PRNGKey(0), np.array([0.1, 0.5, 0.9]))",
    "random.bernoulli(random.PRNGKey(0), 0.3, (8,), mode='high')",
    "random.rademacher(random.PRNGKey(0), (8,))",
    "random.permutation(random.PRNGKey(0), 10)",
    "random.permutation(random.PRNGKey(0), 3000)[:20]",
    "random.permutation(random.PRNGKey(0), np.arange(12).reshape(3, 4), axis=1)",
    "random.permutation(random.PRNGKey(0), np.arange(12).reshape(3, 4), axis=1, independent=True)",
    "random.choice(random.PRNGKey(0), 5, (3,), replace=False)",
    "random.choice(random.PRNGKey(0), 5, (3, 2))",
    "random.choice(random.PRNGKey(0), np.array([1.0, 2.0, 3.0]), (6,), p=np.array([0.25, 0.25, 0.5]))",
    "random.choice(random.PRNGKey(0), np.arange(10.0), (4,), replace=False, p=np.linspace(0.1, 1, 10))",
    "random.choice(random.PRNGKey(0), np.arange(12).reshape(3, 4), (2,), replace=False, axis=1)",
    "random.categorical(random.PRNGKey(0), np.log(np.array([0.2, 0.8])), shape=(8,))",
    "random.categorical(random.PRNGKey(0), np.log(np.arange(1, 13.0).reshape(3, 4)), axis=0)",
    "random.categorical(random.PRNGKey(0), np.log(np.arange(1, 13.0).reshape(3, 4)), axis=0, shape=(2, 4), replace=0)",
    "random.geometric(random.PRNGKey(0), 0.3, (8,))",
    "random.triangular(random.PRNGKey(0), 0.0, 0.5, 1.0, (6,))",
    "random.poisson(random.PRNGKey(0), np.array([0.5, 3.0, 50.0, 0.0]))",
    "random.poisson(random.PRNGKey(2), 20.0, (12,))",
    "random.binomial(random.PRNGKey(0), np.array([5.0, 100.0]), 0.3)",
    "random.binomial(random.PRNGKey(0), 1000.0, np.linspace(0, 1, 11))",
    "random.multinomial(random.PRNGKey(0), 10.0, np.array([0.2, 0.3, 0.5]))",
    # float64 samplers through log, log1p, tan, sqrt and erf_inv: fnad evaluates XLA's log1p and
    # erf_inv polynomials and fuses the multiply-adds XLA fuses, and its eager float64 log, tan and
    # sqrt round as XLA's do
    "random.gumbel(random.PRNGKey(0), (6,))",
    "random.gumbel(random.PRNGKey(0), (6,), mode='high')",
    "random.exponential(random.PRNGKey(0), (6,))",
    "random.laplace(random.PRNGKey(0), (6,))",
    "random.logistic(random.PRNGKey(0), (6,))",
    "random.cauchy(random.PRNGKey(0), (6,))",
    "random.rayleigh(random.PRNGKey(0), 1.0, (6,))",
    "random.normal(random.PRNGKey(0), (64,))",
    "random.truncated_normal(random.PRNGKey(0), -1.0, 1.0, (6,))",
    "random.wald(random.PRNGKey(0), 1.0, (6,))",
    "random.gamma(random.PRNGKey(1), 2.0, (20,))",
    "random.t(random.PRNGKey(0), 4.0, (4,))",
]

# Samplers through exp, pow, float32 log, linear algebra, ...: XLA's and fnad's implementations of
# those differ in the last bits, so these agree to a relative 1e-13 (float64) or 1e-6 (float32).
CLOSE = [
    "random.weibull_min(random.PRNGKey(0), 1.0, 2.0, (6,))",
    "random.normal(random.PRNGKey(0), (2, 3), np.float32)",
    "random.normal(random.PRNGKey(3), (200,), np.float32)",
    "random.pareto(random.PRNGKey(0), 3.0, (6,))",
    "random.maxwell(random.PRNGKey(0), (3,))",
    "random.double_sided_maxwell(random.PRNGKey(0), 0.0, 1.0, (2,))",
    "random.lognormal(random.PRNGKey(0), 1.0, (6,))",
    "random.gamma(random.PRNGKey(0), np.array([0.5, 1.0, 5.0]))",
    "random.loggamma(random.PRNGKey(0), np.array([0.01, 1.0]))",
    "random.beta(random.PRNGKey(0), 2.0, 3.0, (4,))",
    "random.dirichlet(random.PRNGKey(0), np.array([1.0, 2.0, 3.0]))",
    "random.chisquare(random.PRNGKey(0), 3.0, (4,))",
    "random.f(random.PRNGKey(0), 3.0, 5.0, (4,))",
    "random.generalized_normal(random.PRNGKey(0), 2.0, (4,))",
    "random.ball(random.PRNGKey(0), 3, shape=(2,))",
    "random.multivariate_normal(random.PRNGKey(0), np.zeros(2), np.array([[1.0, 0.5], [0.5, 2.0]]), (3,))",
    "random.multivariate_normal(random.PRNGKey(0), np.ones(2), np.array([[1, 0.5], [0.5, 2]]), (3,), None, 'eigh')",
    "random.orthogonal(random.PRNGKey(0), 3)",
    "random.orthogonal(random.PRNGKey(0), 2, (2,), m=3)",
]


def main():
    import jax

    jax.config.update("jax_enable_x64", True)
    namespace = {"random": jax.random, "np": np}
    cases = []
    for group, exprs in (("exact", EXACT), ("close", CLOSE)):
        for expr in exprs:
            value = np.asarray(eval(expr, namespace))
            cases.append(
                {
                    "group": group,
                    "expr": expr,
                    "dtype": value.dtype.name,
                    "shape": value.shape,
                    "values": value.tolist(),
                }
            )
    out = pathlib.Path(__file__).with_name("jax_random.json")
    header = f"jax {jax.__version__}, x64, threefry_partitionable={jax.config.jax_threefry_partitionable}"
    lines = ",\n".join(json.dumps(case) for case in cases)
    out.write_text(f'{{"produced_by": {json.dumps(header)},\n"cases": [\n{lines}\n]}}\n')


if __name__ == "__main__":
    main()
