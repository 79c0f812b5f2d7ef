"""`fnad.debug`: looking at values inside traced and compiled code, as `jax.debug` does. `print` and
`callback` run each time the code runs, in program order (compiled code calls back into Python;
see `fnad.primitives.callbacks`)."""

from .primitives.callbacks import debug_callback as callback
from .primitives.callbacks import debug_print as print

__all__ = ["callback", "print"]
