"""Writes collectives_jax.npz: JAX's values for the programs of tests/test_collectives.py JAX_CASES
(run with JAX 0.10.2 and x64 enabled: `python tests/data/make_collectives_jax.py`). Each program is
written once, with the names `jax`, `lax` and `jnp`; the test runs the same text with fnad's."""

import pathlib
import sys

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

jax.config.update("jax_enable_x64", True)
sys.path.insert(0, str(pathlib.Path(__file__).parents[2]))
from tests.test_collectives import JAX_CASES, case_inputs

values = {}
for name, source in JAX_CASES.items():
    fn = eval(source, {"jax": jax, "lax": lax, "jnp": jnp, "np": np})
    values[name] = np.asarray(fn(*case_inputs(name)))
np.savez(pathlib.Path(__file__).with_name("collectives_jax.npz"), **values)
print(f"wrote {len(values)} arrays")
