"""Lazy package faces: a package's public names imported from their modules on first use.

`import fnad, fnad.numpy` used to import every module fnad has (the lax library, the special
functions and their tables, linear algebra, scipy, random, ...), about half of what a process whose
compiled code comes from the disk cache spends before its first result. With a lazy face a program
pays only for the modules it touches; every name stays where it was (`fnad.lax.scan`,
`from fnad.numpy import einsum`, `dir(fnad.numpy)`)."""

import importlib

__all__ = ["install"]


def install(namespace, attributes=None, submodules=(), wrap=None):
    """Give the package whose globals are `namespace` a module `__getattr__` and `__dir__` serving
    `attributes` (module, relative to the package -> the names it gives the package, each a name of
    the module or a pair (the package's name, the module's)) and
    `submodules` (names of the package's own submodules), each imported on first access and then kept
    in `namespace`, so that later lookups are plain ones. `wrap(name, value)`, if given, is what
    the package gives for an attribute (fnad.numpy's argument checks)."""
    package = namespace["__name__"]
    sources = {}  # the package's name -> (module, the module's name)
    for module, names in (attributes or {}).items():
        for name in names:
            public, own = (name, name) if isinstance(name, str) else name
            sources[public] = (module, own)
    submodules = frozenset(submodules)

    def __getattr__(name):
        if name in sources:
            module, own = sources[name]
            value = getattr(importlib.import_module(module, package), own)
            value = wrap(name, value) if wrap is not None else value
        elif name in submodules:
            value = importlib.import_module(f".{name}", package)
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        # setdefault: threads that ask at once all get the first value stored
        return namespace.setdefault(name, value)

    def __dir__():
        return sorted(namespace.keys() | sources.keys() | submodules)

    namespace["__getattr__"] = __getattr__
    namespace["__dir__"] = __dir__
