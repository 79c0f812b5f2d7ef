"""Structured control flow over pytrees, with JAX's signatures and checks: cond, switch, while_loop,
fori_loop, scan, map. Each traces its functions to sub-IRs and binds a control-flow primitive
(fnad.primitives.control_flow), so it works eagerly and under every transform."""

from __future__ import annotations

from collections import OrderedDict, defaultdict

import numpy as np

from ..api_util import flatten_fun
from ..core import Tracer, get_aval
from ..primitives import control_flow as cf
from ..primitives.elementwise import add, convert_element_type, lt, ne
from ..primitives.elementwise import max as lax_max
from ..primitives.elementwise import min as lax_min
from ..transforms.jaxpr_rules import trace_flat
from ..tree_util import tree_flatten, tree_structure, tree_unflatten

__all__ = ["cond", "fori_loop", "map", "scan", "switch", "while_loop"]

DEFAULT_CHECKPOINTS = 20


# ----------------------------------------------------------------------------------------------
# Pytree plumbing and the checks JAX makes


def _leaf_names(treedef, prefix=""):
    """A readable path for each leaf of `treedef`, e.g. "['w'][0]"."""
    data = treedef.node_data()
    if data is None:
        return [prefix or "(the whole value)"]
    kind, aux = data
    kids = treedef.children()
    if kind in (dict, OrderedDict):
        keys = aux
    elif kind is defaultdict:
        keys = aux[1]
    elif hasattr(kind, "_fields"):
        return [n for f, k in zip(kind._fields, kids) for n in _leaf_names(k, f"{prefix}.{f}")]
    else:
        keys = range(len(kids))
    return [n for key, k in zip(keys, kids) for n in _leaf_names(k, f"{prefix}[{key!r}]")]


def _flatten(tree):
    leaves, treedef = tree_flatten(tree)
    return [
        x if isinstance(x, (Tracer, np.ndarray, int, float, bool, complex)) else np.asarray(x) for x in leaves
    ], treedef


def _trace(fun, in_tree, in_avals, name):
    """Trace `fun` on pytree arguments: ((ClosedJaxpr taking its consts first, consts), output tree)."""
    flat_fun, out_tree = flatten_fun(fun, in_tree)
    traced = trace_flat(flat_fun, in_avals, name)
    return traced, out_tree.val


def _check_same(what, tree_a, avals_a, tree_b, avals_b, name_a, name_b):
    if tree_a != tree_b:
        raise TypeError(
            f"{what}: {name_a} has structure {tree_a} but {name_b} has structure {tree_b}; they must be the same."
        )
    for leaf, a, b in zip(_leaf_names(tree_a), avals_a, avals_b):
        if a.shape != b.shape or a.dtype != b.dtype:
            raise TypeError(
                f"{what}: {name_a} has {a.str_short()} at leaf {leaf} but {name_b} has "
                f"{b.str_short()}; shapes and dtypes must match (convert with .astype or "
                "broadcast explicitly)."
            )


def _aval(x):
    return get_aval(x)


def _promote_weak(init, traced_out_avals):
    """Python-scalar initial carries take the dtype the body returns (as JAX does for weak types)."""
    return [
        convert_element_type(x, b.dtype)
        if get_aval(x).weak_type and get_aval(x).dtype != b.dtype and get_aval(x).shape == b.shape
        else x
        for x, b in zip(init, traced_out_avals)
    ]


# ----------------------------------------------------------------------------------------------
# cond / switch


def switch(index, branches, *operands):
    """`branches[index](*operands)` as one primitive: every branch is traced (they must return the
    same structure, shapes and dtypes) and only the selected one runs. `index` is an integer scalar,
    clamped into range as in JAX (NumPy-style indexing would raise instead). Differentiable with
    respect to the operands; under vmap with a batched index every branch runs and results are
    selected per example.

    >>> import fnad
    >>> branches = [lambda x: x, lambda x: 2.0 * x, lambda x: 3.0 * x]
    >>> print(fnad.lax.switch(1, branches, 5.0), fnad.lax.switch(7, branches, 5.0))   # 7 -> last
    10.0 15.0
    """
    branches = list(branches)
    if not branches or not all(callable(b) for b in branches):
        raise TypeError("switch: branches must be a non-empty sequence of callables")
    idx_aval = get_aval(index)
    if idx_aval.shape != () or not np.issubdtype(idx_aval.dtype, np.integer):
        raise TypeError(f"switch: index must be an integer scalar, got {idx_aval.str_short()}")
    index = convert_element_type(index, np.int32)
    index = lax_min(lax_max(index, np.int32(0)), np.int32(len(branches) - 1))
    return _cond_index(index, branches, operands, "switch")


def cond(pred, true_fun, false_fun, *operands):
    """`true_fun(*operands)` if `pred` else `false_fun(*operands)`, as one primitive: both branches
    are traced (same output structure, shapes and dtypes) and the one chosen at run time executes.
    Use it instead of a Python `if` on a traced value under jit/vmap. `pred` is a scalar bool or
    number (nonzero is true). Derivatives flow through the taken branch; under vmap with a batched
    `pred` both branches run and the results are selected elementwise.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> print(fnad.lax.cond(True, lambda x: x + 1.0, lambda x: x - 1.0, 5.0))
    6.0
    >>> fnad.grad(lambda x: fnad.lax.cond(x > 0, fnp.sin, fnp.cos, x))(0.5)   # cos(0.5)
    Array(0.87758256, dtype=float64)
    >>> fnad.vmap(lambda x: fnad.lax.cond(x > 0, lambda v: v, lambda v: -v, x))(np.array([-1.0, 2.0]))
    Array([1., 2.], dtype=float64)
    """
    if not (callable(true_fun) and callable(false_fun)):
        raise TypeError(
            "cond: true_fun and false_fun must be callable (signature cond(pred, true_fun, false_fun, *operands))"
        )
    aval = get_aval(pred)
    if aval.shape != ():
        raise TypeError(f"cond: pred must be a scalar (shape ()), got {aval.str_short()}")
    if aval.dtype != np.bool_:
        if not np.issubdtype(aval.dtype, np.number):
            raise TypeError(f"cond: pred must be a boolean or number, got {aval.str_short()}")
        pred = ne(pred, np.zeros((), aval.dtype))
    return _cond_index(convert_element_type(pred, np.int32), [false_fun, true_fun], operands, "cond")


def _cond_index(index, funs, operands, what):
    ops, in_tree = _flatten(operands)
    avals = [_aval(x) for x in ops]
    traced = [_trace(f, in_tree, avals, f"{what}_branch") for f in funs]
    (first, tree0), names = (
        traced[0],
        (["false_fun", "true_fun"] if what == "cond" else [f"branch {i}" for i in range(len(funs))]),
    )
    for (t, tree), name in zip(traced[1:], names[1:]):
        _check_same(what, tree0, first[0].out_avals, tree, t[0].out_avals, f"{names[0]} output", f"{name} output")
    outs = cf.cond_flat(index, [t for t, _ in traced], ops)
    return tree_unflatten(tree0, outs)


# ----------------------------------------------------------------------------------------------
# while_loop / fori_loop


def while_loop(cond_fun, body_fun, init_val, *, checkpoints=DEFAULT_CHECKPOINTS):
    """Repeat `val = body_fun(val)` while `cond_fun(val)`; returns the final val.

    `val` is any pytree; `body_fun` must return the same structure, shapes and dtypes (a weakly
    typed Python scalar in `init_val` is promoted to what the body returns), and `cond_fun` a
    boolean scalar. The trip count may depend on traced values.

    Unlike JAX, reverse mode works with any trip count: the backward pass keeps at most `checkpoints`
    carries (binomial checkpointing) and recomputes the rest; fewer checkpoints, more recomputation
    (see docs/control_flow.md).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> i, v = fnad.lax.while_loop(lambda c: c[0] < 10, lambda c: (c[0] + 1, c[1] * 2.0), (0, 1.0))
    >>> print(i, v)
    10 1024.0
    >>> def newton_sqrt(a):
    ...     return fnad.lax.while_loop(lambda x: fnp.abs(x * x - a) > 1e-12, lambda x: 0.5 * (x + a / x), a)
    >>> print(np.round(newton_sqrt(4.0), 6), np.round(fnad.grad(newton_sqrt)(4.0), 6))   # d sqrt(a) / da = 1/4
    2.0 0.25
    """
    if int(checkpoints) < 1:
        raise ValueError(f"while_loop: checkpoints must be at least 1, got {checkpoints}")
    init, in_tree = _flatten(init_val)
    args_tree = tree_structure((init_val,))
    for _ in range(2):
        avals = [_aval(x) for x in init]
        body, body_tree = _trace(body_fun, args_tree, avals, "while_body")
        if body_tree != in_tree:
            break
        promoted = _promote_weak(init, body[0].out_avals)
        if all(p is x for p, x in zip(promoted, init)):
            break
        init = promoted
    _check_same("while_loop", in_tree, avals, body_tree, body[0].out_avals, "init_val", "body_fun output")
    cond, cond_tree = _trace(cond_fun, args_tree, avals, "while_cond")
    pred = cond[0].out_avals
    if cond_tree.num_leaves != 1 or pred[0].shape != () or pred[0].dtype != np.bool_:
        raise TypeError(
            f"while_loop: cond_fun must return a boolean scalar, got "
            f"{[a.str_short() for a in pred]} (structure {cond_tree})"
        )
    return tree_unflatten(in_tree, cf.while_flat(cond, body, init, int(checkpoints)))


def _concrete_int(x):
    if isinstance(x, Tracer):
        x = x.concrete_value()
        if x is None:
            return None
    return int(x) if np.ndim(x) == 0 and np.issubdtype(np.asarray(x).dtype, np.integer) else None


def fori_loop(lower, upper, body_fun, init_val, *, checkpoints=DEFAULT_CHECKPOINTS, unroll=1):
    """`for i in range(lower, upper): val = body_fun(i, val)`; returns the final val.

    With concrete bounds this is a scan (reverse mode stores per-step residuals, as JAX; `unroll`
    steps per iteration); with traced bounds a while_loop (reverse mode through binomial
    checkpointing with at most `checkpoints` saved carries).

    >>> import fnad
    >>> print(fnad.lax.fori_loop(0, 5, lambda i, s: s + i, 0))
    10
    >>> fnad.grad(lambda x: fnad.lax.fori_loop(0, 3, lambda i, v: v * x, 1.0))(2.0)   # d x^3 / dx
    Array(12., dtype=float64)
    """
    dtype = np.result_type(*[get_aval(b).dtype for b in (lower, upper)])
    if not np.issubdtype(dtype, np.integer):
        raise TypeError(
            f"fori_loop: lower and upper must be integers, got {get_aval(lower).str_short()} and "
            f"{get_aval(upper).str_short()}"
        )
    lo, hi = _concrete_int(lower), _concrete_int(upper)
    if lo is not None and hi is not None:

        def step(carry, _):
            i, val = carry
            return (add(i, np.ones((), dtype)), body_fun(i, val)), None

        (_, val), _ = scan(step, (np.asarray(lo, dtype), init_val), None, length=max(hi - lo, 0), unroll=unroll)
        return val
    lower, upper = convert_element_type(lower, dtype), convert_element_type(upper, dtype)
    _, _, val = while_loop(
        lambda c: lt(c[0], c[1]),
        lambda c: (add(c[0], np.ones((), dtype)), c[1], body_fun(c[0], c[2])),
        (lower, upper, init_val),
        checkpoints=checkpoints,
    )
    return val


# ----------------------------------------------------------------------------------------------
# scan / map


def scan(f, init, xs, length=None, reverse=False, unroll=1):
    """Loop `carry, y = f(carry, x)` over the leading axis of `xs`; returns `(final carry, ys)` with
    the ys stacked along a new leading axis.

    `xs` is a pytree of arrays with equal leading sizes, or None with `length=` (f then gets
    x=None). The carry returned by `f` must keep the structure, shapes and dtypes of `init`.
    `reverse=True` scans from the end (ys stay in input order). Differentiable in forward and
    reverse mode (reverse stores per-step residuals), batchable and compiled as one loop under jit.

    >>> import numpy as np, fnad
    >>> xs = np.array([1.0, 2.0, 3.0])
    >>> fnad.lax.scan(lambda c, x: (c + x, c * x), 0.0, xs)   # running sum; ys = previous sum * x
    (Array(6., dtype=float64), Array([0., 2., 9.], dtype=float64))
    >>> fnad.lax.scan(lambda c, x: (c + x, c), 0.0, xs, reverse=True)
    (Array(6., dtype=float64), Array([5., 3., 0.], dtype=float64))
    """
    xs_flat, xs_tree = _flatten(xs)
    lengths = {get_aval(x).shape[0] if get_aval(x).shape else None for x in xs_flat}
    if None in lengths:
        raise TypeError("scan: every leaf of xs needs a leading axis to scan over, got a scalar")
    if length is not None:
        lengths.add(int(length))
    if len(lengths) != 1:
        raise ValueError(
            f"scan: inconsistent lengths: the leading axes of xs and `length` give {sorted(lengths)}"
            if lengths
            else "scan: with no xs to scan over, pass length="
        )
    (n,) = lengths
    init_flat, carry_tree = _flatten(init)
    x_avals = [get_aval(x).update(shape=get_aval(x).shape[1:]) for x in xs_flat]
    in_tree = tree_flatten(
        (tree_unflatten(carry_tree, [0] * carry_tree.num_leaves), tree_unflatten(xs_tree, [0] * xs_tree.num_leaves))
    )[1]
    out_trees = []

    def checked(carry, x):
        out = f(carry, x)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise TypeError(f"scan: f must return a pair (carry, y), got {type(out).__name__}")
        out_trees.append((tree_flatten(out[0])[1], tree_flatten(out[1])[1]))
        return out

    for _ in range(2):
        c_avals = [_aval(x) for x in init_flat]
        body, _ = _trace(checked, in_tree, c_avals + x_avals, "scan_body")
        n_carry = len(c_avals)
        if out_trees[-1][0] != carry_tree:
            break
        promoted = _promote_weak(init_flat, body[0].out_avals[:n_carry])
        if all(p is x for p, x in zip(promoted, init_flat)):
            break
        init_flat = promoted
    c_tree, y_tree = out_trees[-1]
    _check_same(
        "scan", carry_tree, c_avals, c_tree, body[0].out_avals[: c_tree.num_leaves], "init", "the carry f returns"
    )
    outs = cf.scan_flat(body, init_flat, xs_flat, n, bool(reverse), unroll)
    return tree_unflatten(carry_tree, outs[:n_carry]), tree_unflatten(y_tree, outs[n_carry:])


def map(f, xs):
    """`stack([f(x) for x in xs])` over the leading axis of the pytree xs, as a scan (one trace
    of f, sequential execution; use vmap for a batched computation).

    >>> import numpy as np, fnad
    >>> fnad.lax.map(lambda x: x ** 2, np.array([1.0, 2.0, 3.0]))
    Array([1., 4., 9.], dtype=float64)
    """
    return scan(lambda _, x: (None, f(x)), None, xs)[1]
