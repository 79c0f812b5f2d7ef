"""fnad: composable function transformations (grad, vmap, jit, ...) of NumPy programs, with a native
compiler (the `fnad_compiler` package) built on llvmlite.

The transformations, jit and the array type are imported with fnad; its libraries (fnad.numpy,
fnad.lax, fnad.scipy, fnad.nn, fnad.random, ...) and the multi-process API on first use (see
`fnad._lazy`), so that a program pays only for what it uses."""

from . import _lazy, gc_pause
from .api import (
    ShapeDtypeStruct,
    default_backend,
    disable_jit,
    eval_shape,
    grad,
    hessian,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    linear_transpose,
    linearize,
    make_jaxpr,
    named_call,
    named_scope,
    value_and_grad,
    vjp,
    vmap,
)
from .array import (
    Array,
    block_until_ready,
    device_count,
    device_get,
    device_put,
    devices,
    local_device_count,
    local_devices,
)
from .checkpoint import checkpoint, checkpoint_policies, remat
from .config import config
from .core import ConcretizationError, ShapedArray, UnexpectedTracerError
from .custom_derivatives import custom_jvp, custom_vjp
from .jit_dispatch import clear_caches, jit
from .primitives.misc import stop_gradient

_lazy.install(
    globals(),
    {
        ".distributed": ["process_count", "process_index"],
        ".primitives.callbacks": ["pure_callback"],
        ".sharding": [("P", "PartitionSpec"), "make_mesh"],
        ".spmd": ["shard_map"],
    },
    submodules=[
        "debug",
        "distributed",
        "export",
        "lax",
        "native_collectives",
        "nn",
        "numpy",
        "ops",
        "optim",
        "random",
        "scipy",
        "sharding",
        "special_math",
        "spmd",
        "tree",
        "tree_util",
    ],
)

__version__ = "0.1.0"

__all__ = [
    "Array",
    "ConcretizationError",
    "P",
    "ShapeDtypeStruct",
    "ShapedArray",
    "UnexpectedTracerError",
    "block_until_ready",
    "checkpoint",
    "checkpoint_policies",
    "clear_caches",
    "config",
    "custom_jvp",
    "custom_vjp",
    "debug",
    "default_backend",
    "device_count",
    "device_get",
    "device_put",
    "devices",
    "disable_jit",
    "distributed",
    "eval_shape",
    "export",
    "grad",
    "hessian",
    "jacfwd",
    "jacobian",
    "jacrev",
    "jit",
    "jvp",
    "lax",
    "linear_transpose",
    "linearize",
    "local_device_count",
    "local_devices",
    "make_jaxpr",
    "make_mesh",
    "named_call",
    "named_scope",
    "nn",
    "numpy",
    "ops",
    "optim",
    "process_count",
    "process_index",
    "pure_callback",
    "random",
    "remat",
    "scipy",
    "shard_map",
    "sharding",
    "stop_gradient",
    "tree",
    "tree_util",
    "value_and_grad",
    "vjp",
    "vmap",
]

gc_pause.freeze_imported()  # last: see fnad.gc_pause
