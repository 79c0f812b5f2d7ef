"""`fnad.scipy`: SciPy's names over fnad arrays, as `jax.scipy` offers them (special functions, statistics,
linear algebra, signal processing, optimisation, cosine transforms, integration, interpolation, sparse iterative
solvers, vector quantisation), each differentiable, batchable and compiled.

Submodules load on first use (`fnad.scipy.special`, `import fnad.scipy.stats`), so `import fnad` does not
pay for them."""

import importlib

_SUBMODULES = (
    "cluster",
    "fft",
    "integrate",
    "interpolate",
    "linalg",
    "ndimage",
    "optimize",
    "signal",
    "sparse",
    "special",
    "stats",
)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'fnad.scipy' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))
