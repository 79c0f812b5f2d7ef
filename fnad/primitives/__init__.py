"""Primitives, one module per family. Each primitive is defined once, together with its rules:
shape/dtype (abstract_eval), NumPy implementation (impl), jvp, transpose (when linear) and batching.
`calls` holds the call primitives (jit, custom_jvp/vjp, remat), whose params are sub-functions.

The families depend on each other by nature (a reduction's derivative broadcasts, a broadcast's
transpose reduces), so they form the one import loop fnad allows (tests/test_architecture.py),
closed by imports inside functions. They import the interpreters (fnad.transforms), which stand
on fnad.ad_util and never import a family back."""
