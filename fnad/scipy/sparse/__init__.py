"""`fnad.scipy.sparse`: iterative solvers for linear systems given by a matrix-vector product
(`fnad.scipy.sparse.linalg`), as `jax.scipy.sparse` has them."""

from . import linalg

__all__ = ["linalg"]
