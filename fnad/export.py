"""Ahead-of-time export of functions (and their derivatives) as a C library that runs without Python.

This module traces each function on example arguments, as `jit` would, flattens its pytrees and
names every leaf for the header; `fnad_compiler.export` turns the prepared IR into object code and
links `libNAME.so`. See docs/export.md for the C ABI and what exports.
"""

from __future__ import annotations

import inspect

import numpy as np

from .api import ShapeDtypeStruct
from .api_util import as_tuple, flatten_fun, without_static
from .core import ShapedArray, Tracer, get_aval
from .passes import prepare_for_compile
from .transforms.staging import trace_to_jaxpr
from .tree_util import keystr, tree_flatten_with_path, tree_unflatten

__all__ = ["c_library"]  # and ExportError, the compiler's class, imported when first asked for


def c_library(functions, *example_args, directory=".", library="fnad_export", static_argnums=(), static_argnames=()):
    """Compile `functions` (a dict mapping C names to functions) for the shapes and dtypes of
    `example_args` and write `directory/lib{library}.so`, its header `directory/{library}.h`, and
    the runtime libraries it needs (OpenBLAS, when the code calls it) beside them.

    Each function becomes `int name(const T* in0, ..., T* out0, ...)`: pointers to C-contiguous
    arrays, inputs then outputs, each a pytree flattened in `tree_util` order (the header lists the
    shape, dtype and pytree path of every one); it returns 0 on success. The library does not use
    Python. Arguments in `static_argnums` / `static_argnames` are fixed to their example values, as
    with `jit`. Returns a `CLibrary` with the paths written (`path`, `header`, `runtime`) and the C
    declarations. Raises `ExportError` for a bad name or directory, a missing C compiler (`cc`, or
    $CC) or a failed link, and NotImplementedError for what the compiler cannot lower.

    >>> import numpy as np, fnad, fnad.numpy as fnp, tempfile
    >>> loss = lambda w, x: fnp.sum((x @ w) ** 2)
    >>> lib = fnad.export.c_library({"loss": loss, "grad_loss": fnad.grad(loss)}, np.ones(3), np.ones((4, 3)),
    ...                             directory=tempfile.mkdtemp(), library="model")
    >>> print("\\n".join(lib.declarations))
    int loss(const double* in0, const double* in1, double* out0);
    int grad_loss(const double* in0, const double* in1, double* out0);
    """
    if not isinstance(functions, dict) or not functions:
        raise TypeError(
            f"c_library: functions must be a non-empty dict mapping C names to functions, got {type(functions).__name__}"
        )
    exported = []
    for name, fun in functions.items():
        if not callable(fun):
            raise TypeError(f"c_library: {name!r} maps to {type(fun).__name__}, which is not callable")
        exported.append(_traced(name, fun, example_args, static_argnums, static_argnames))
    return _compiler_export().build_library(exported, directory, library)


def _compiler_export():
    import fnad_compiler.export

    return fnad_compiler.export


def __getattr__(name):
    if name == "ExportError":  # the compiler's class, imported when first asked for
        return _compiler_export().ExportError
    raise AttributeError(f"module 'fnad.export' has no attribute {name!r}")


def _static_positions(fun, nargs, static_argnums, static_argnames):
    positions = set()
    for i in as_tuple(static_argnums):
        if not -nargs <= i < nargs:
            raise ValueError(
                f"c_library: static_argnums {static_argnums} is out of range for {nargs} example arguments"
            )
        positions.add(i % nargs)
    names = as_tuple(static_argnames)
    if names:
        params = list(inspect.signature(fun).parameters)
        for n in names:
            if n not in params or params.index(n) >= nargs:
                raise ValueError(f"c_library: static_argnames {n!r} is not a positional parameter given an example")
            positions.add(params.index(n))
    return positions


def _parameter_names(fun, nargs):
    try:
        params = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return [names[i] if i < len(names) else f"args[{i}]" for i in range(nargs)]


def _aval(x, where):
    if isinstance(x, (ShapeDtypeStruct, ShapedArray)):
        return ShapedArray(x.shape, x.dtype)
    if isinstance(x, Tracer):
        raise TypeError(f"c_library: {where} is a traced value; export concrete example arrays")
    try:
        aval = get_aval(x)
    except TypeError:
        aval = None
    if aval is None or np.dtype(aval.dtype).kind not in "biuf":
        raise TypeError(
            f"c_library: {where} is of type {type(x).__name__} ({x!r:.40}), which is not an array of numbers; "
            "pass an example array, or fix the argument with static_argnums / static_argnames"
        )
    return aval


def _traced(name, fun, args, static_argnums, static_argnames):
    """The compiler's `ExportedFunction` for `fun` traced on `args`."""
    static = _static_positions(fun, len(args), static_argnums, static_argnames)
    labels = _parameter_names(fun, len(args))
    dynamic = [i for i in range(len(args)) if i not in static]
    f, dyn = without_static(fun, args, {}, static)
    pairs, in_tree = tree_flatten_with_path(tuple(dyn))
    inputs = [f"{labels[dynamic[path[0].idx]]}{keystr(path[1:])}" for path, _ in pairs]
    avals = [_aval(x, f"{name}: argument {where}") for (_, x), where in zip(pairs, inputs)]
    flat_fun, out_tree = flatten_fun(f, in_tree, name=name)
    closed = trace_to_jaxpr(flat_fun, avals, f"export({name})")
    out_pairs, _ = tree_flatten_with_path(tree_unflatten(out_tree.val, list(range(len(closed.jaxpr.outvars)))))
    outputs = [f"result{keystr(path)}" for path, _ in out_pairs]
    title = (
        f"{name}: traced from {getattr(fun, '__name__', type(fun).__name__)}({', '.join(labels[i] for i in dynamic)})"
    )
    if static:
        title += " with " + ", ".join(f"{labels[i]}={args[i]!r:.40}" for i in sorted(static))
    return _compiler_export().ExportedFunction(name, prepare_for_compile(closed), tuple(inputs), tuple(outputs), title)
