"""Primitives, one module per family. Each primitive is defined once, together with its rules:
shape/dtype (abstract_eval), NumPy implementation (impl), jvp, transpose (when linear) and batching."""
