"""fnad: composable function transformations (grad, vmap, jit, ...) of NumPy programs, with a native
compiler (the `fnad_compiler` package) built on llvmlite."""
from .api import (grad, value_and_grad, jvp, vjp, linearize, vmap, jacfwd, jacrev, hessian, make_jaxpr)
from .core import ConcretizationError, UnexpectedTracerError, ShapedArray
from .primitives.misc import stop_gradient
from .jit_dispatch import jit
from .custom_derivatives import custom_jvp, custom_vjp
from .checkpoint import checkpoint, remat
from .config import config
from . import tree_util, numpy, lax, nn, random, optim

__version__ = "0.1.0"
