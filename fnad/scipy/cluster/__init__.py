"""`fnad.scipy.cluster`: vector quantisation (`fnad.scipy.cluster.vq`), as `jax.scipy.cluster` has it."""

from . import vq

__all__ = ["vq"]
