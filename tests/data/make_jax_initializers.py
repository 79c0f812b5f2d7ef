"""Writes jax_initializers.npz, the values tests/test_nn.py checks `fnad.nn.initializers` against.

Run with JAX installed (the file's values came from JAX 0.10.2, CPU, jax_enable_x64=True):
`python tests/data/make_jax_initializers.py`. Each case is a Python expression over `I` (the
initializers module) evaluated with the key `PRNGKey(7)`: `jax.nn.initializers` here and
`fnad.nn.initializers` in the test, so the test also checks that the same call works unchanged."""

import json
import pathlib

import numpy as np

CASES = [
    f"I.{name}()(key, (5, 3, 4), '{dtype}')"
    for dtype in ("float32", "float64")
    for name in ("glorot_uniform", "glorot_normal", "lecun_uniform", "lecun_normal", "he_uniform", "he_normal")
] + [
    "I.xavier_normal()(key, (6, 2), 'float32')",
    "I.kaiming_uniform(in_axis=0, out_axis=1)(key, (3, 4, 2), 'float64')",
    "I.variance_scaling(0.5, 'fan_geo_avg', 'normal', in_axis=(0, 1), out_axis=2)(key, (2, 3, 4), 'float64')",
    "I.variance_scaling(1.0, 'fan_out', 'uniform', batch_axis=0)(key, (2, 3, 4), 'float32')",
    "I.variance_scaling(1.0, 'fan_in', 'uniform')(key, (3, 2), 'complex64')",
    "I.variance_scaling(1.0, 'fan_in', 'truncated_normal')(key, (3, 2), 'complex128')",
    "I.uniform(2.0)(key, (3,), 'float32')",
    "I.normal(2.0)(key, (3,), 'float64')",
    "I.truncated_normal(2.0, lower=-1.0, upper=0.5)(key, (4,), 'float64')",
    "I.orthogonal()(key, (3, 5), 'float64')",
    "I.orthogonal(scale=2.0, column_axis=0)(key, (4, 2, 3), 'float32')",
    "I.delta_orthogonal()(key, (3, 3, 2, 4), 'float64')",
    "I.constant(-7)(key, (2,), 'float32')",
    "I.zeros(key, (2, 2), 'float32')",
    "I.ones(key, (3,), 'float64')",
]


def main():
    import jax

    jax.config.update("jax_enable_x64", True)
    scope = {"I": jax.nn.initializers, "key": jax.random.PRNGKey(7)}
    values = {str(i): np.asarray(eval(expr, scope)) for i, expr in enumerate(CASES)}
    np.savez(pathlib.Path(__file__).with_name("jax_initializers.npz"), cases=json.dumps(CASES), **values)


if __name__ == "__main__":
    main()
