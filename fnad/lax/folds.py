"""Folds of a user's combining function: `reduce` (a reduction over axes) and `associative_scan` (all
prefix combinations), plus `cumlogsumexp`, a scan of logaddexp.

Both are built from slices, padding, concatenation and the user's function applied to whole arrays, in a
logarithmic number of steps. So they differentiate, batch and compile (into fused loops) with no rules of
their own, for any function made of fnad operations. A reduction whose function is a single add, mul,
max, min, and or or is recognised and uses that reduction primitive instead."""

from __future__ import annotations

import numpy as np

from ..core import get_aval
from ..primitives import elementwise as ew
from ..primitives import reductions as red
from ..primitives.indexing import concatenate, pad, rev, slice_in_dim
from ..primitives.shape import broadcast_in_dim, reshape
from ..transforms.staging import trace_to_jaxpr
from ..tree_util import tree_flatten, tree_unflatten

__all__ = ["associative_scan", "cumlogsumexp", "reduce"]


def _as_leaf(x):
    if type(x) in (int, float, bool):
        return np.asarray(x)
    return x


def _pairwise(fn, tree):
    """`fn` (on two pytrees of `tree`'s structure) as a function of two flat lists of leaves."""

    def combine(a, b):
        out, out_tree = tree_flatten(fn(tree_unflatten(tree, a), tree_unflatten(tree, b)))
        if out_tree != tree:
            raise TypeError(
                f"the combining function must return the structure of its arguments, {tree}; it returned {out_tree}"
            )
        return out

    return combine


# ----------------------------------------------------------------------------------------------
# reduce

# A one-equation computation on scalars that is one of these primitives is a monoid fnad reduces directly.
_MONOIDS = {
    "add": red.reduce_sum,
    "mul": red.reduce_prod,
    "max": red.reduce_max,
    "min": red.reduce_min,
    "and": red.reduce_and,
    "or": red.reduce_or,
}


def _monoid(computation, avals):
    """The reduction primitive's function when `computation` on one operand is a single such primitive."""
    if len(avals) != 1:
        return None
    scalar = avals[0].update(shape=())
    try:
        closed = trace_to_jaxpr(lambda a, b: [computation(a, b)], [scalar, scalar], "reduce")
    except Exception:  # noqa: BLE001 -- not traceable as a scalar binary function: take the general path
        return None
    jaxpr = closed.jaxpr
    if len(jaxpr.eqns) != 1 or closed.consts:
        return None
    eqn = jaxpr.eqns[0]
    if set(map(id, eqn.invars)) != set(map(id, jaxpr.invars)) or eqn.outvars != jaxpr.outvars:
        return None
    if eqn.primitive.name in ("and", "or") and scalar.dtype != np.bool_:
        return None
    return _MONOIDS.get(eqn.primitive.name)


def _halve(combine, leaves, axis, inits):
    """Fold `leaves` along `axis` down to one element by combining the two halves, log2(n) times
    (an odd length is first padded with the init value)."""
    n = get_aval(leaves[0]).shape[axis]
    while n > 1:
        if n % 2:
            leaves = [
                pad(x, i, [(0, 1 if d == axis else 0, 0) for d in range(get_aval(x).ndim)])
                for x, i in zip(leaves, inits)
            ]
            n += 1
        half = n // 2
        leaves = combine(
            [slice_in_dim(x, 0, half, axis=axis) for x in leaves], [slice_in_dim(x, half, n, axis=axis) for x in leaves]
        )
        n = half
    return leaves


def reduce(operands, init_values, computation, dimensions):
    """Reduce `operands` over the axes `dimensions` with `computation`, starting from `init_values`, as
    JAX's lax.reduce. `operands` and `init_values` are matching pytrees (arrays of one shape, and scalars
    of their dtypes); `computation(a, b)` combines two values of that structure and must be associative
    and commutative, acting elementwise. The init value is combined in once, as a sequential fold would
    (JAX requires it to be the identity). Differentiable for any computation made of fnad operations.

    >>> import numpy as np; from fnad import lax
    >>> lax.reduce(np.arange(5.0), 10.0, lax.add, (0,))
    Array(20., dtype=float64)
    >>> lax.reduce(np.arange(1.0, 7.0).reshape(2, 3), 1.0, lambda a, b: a * b, (1,))
    Array([  6., 120.], dtype=float64)
    """
    leaves, tree = tree_flatten(operands)
    init_leaves, init_tree = tree_flatten(init_values)
    if init_tree != tree:
        raise TypeError(f"lax.reduce: operands {tree} and init_values {init_tree} must have the same structure")
    if not leaves:
        raise TypeError("lax.reduce: needs at least one operand")
    leaves = [_as_leaf(x) for x in leaves]
    avals = [get_aval(x) for x in leaves]
    shape = avals[0].shape
    if any(a.shape != shape for a in avals):
        raise TypeError(f"lax.reduce: operands must have one shape, got {[a.shape for a in avals]}")
    inits = [np.asarray(i, a.dtype) if type(i) in (int, float, bool) else i for i, a in zip(init_leaves, avals)]
    for i, a in zip(inits, avals):
        ia = get_aval(i)
        if ia.shape != () or ia.dtype != a.dtype:
            raise TypeError(
                f"lax.reduce: each init value must be a scalar of its operand's dtype {a.dtype.name}, got {ia.str_short()}"
            )
    dims = sorted({d % len(shape) if -len(shape) <= d < len(shape) else d for d in dimensions})
    if any(not 0 <= d < len(shape) for d in dims) or len(dims) != len(tuple(dimensions)):
        raise ValueError(
            f"lax.reduce: dimensions {tuple(dimensions)} must be distinct axes of an array of shape {shape}"
        )
    combine = _pairwise(computation, tree)
    monoid = _monoid(computation, avals)
    if monoid is not None:
        folded = [monoid(leaves[0], axes=tuple(dims))]
    elif any(shape[d] == 0 for d in dims):
        kept = tuple(s for d, s in enumerate(shape) if d not in dims)
        return tree_unflatten(tree, [broadcast_in_dim(i, kept, ()) for i in inits])
    else:
        folded = leaves
        for d in dims:
            folded = _halve(combine, folded, d, inits)
        kept = tuple(s for d, s in enumerate(shape) if d not in dims)
        folded = [reshape(x, kept) for x in folded]
    kept = get_aval(folded[0]).shape
    return tree_unflatten(tree, combine([broadcast_in_dim(i, kept, ()) for i in inits], folded))


# ----------------------------------------------------------------------------------------------
# associative_scan


def _interleave(evens, odds, axis):
    """Elements of `evens` at even positions and of `odds` at odd ones, along `axis` (len(evens) is
    len(odds) or one more)."""
    ne, no = get_aval(evens).shape[axis], get_aval(odds).shape[axis]
    if ne > no:
        odds = pad(
            odds,
            np.zeros((), get_aval(odds).dtype),
            [(0, 1 if d == axis else 0, 0) for d in range(get_aval(odds).ndim)],
        )
    shape = get_aval(evens).shape
    pair_shape = shape[: axis + 1] + (1,) + shape[axis + 1 :]
    pairs = concatenate([reshape(evens, pair_shape), reshape(odds, pair_shape)], axis + 1)
    merged = reshape(pairs, shape[:axis] + (2 * ne,) + shape[axis + 1 :])
    return slice_in_dim(merged, 0, ne + no, axis=axis)


def _prefix_combinations(combine, leaves, axis):
    """All prefix combinations along `axis`: combine neighbouring pairs, scan that half-length sequence
    (the results at odd positions), then combine each with the next original element (even positions)."""
    n = get_aval(leaves[0]).shape[axis]
    if n < 2:
        return leaves
    pairs = combine(
        [slice_in_dim(x, 0, n - 1, 2, axis) for x in leaves], [slice_in_dim(x, 1, n, 2, axis) for x in leaves]
    )
    odd = _prefix_combinations(combine, pairs, axis)
    evens = [slice_in_dim(x, 0, 1, axis=axis) for x in leaves]
    n_follow = (n - 1) // 2  # the originals at positions 2, 4, ..., each combined with the odd result before it
    if n_follow:
        following = [slice_in_dim(x, 2, n, 2, axis) for x in leaves]
        tail = combine([slice_in_dim(o, 0, n_follow, axis=axis) for o in odd], following)
        evens = [concatenate([e, t], axis) for e, t in zip(evens, tail)]
    return [_interleave(e, o, axis) for e, o in zip(evens, odd)]


def associative_scan(fn, elems, reverse=False, axis=0):
    """All prefix combinations of `elems` along `axis` under the associative `fn`, as JAX's
    lax.associative_scan: `[a, fn(a, b), fn(fn(a, b), c), ...]`, or with `reverse=True`
    `[..., fn(fn(z, y), x), fn(z, y), z]`. `elems` is a pytree of arrays with equal lengths along
    `axis`; `fn` combines two such pytrees elementwise (or, like matmul, along other axes). It runs in
    about 2*log2(n) parallel steps.

    >>> import numpy as np; from fnad import lax
    >>> lax.associative_scan(lax.add, np.arange(4.0))
    Array([0., 1., 3., 6.], dtype=float64)
    >>> lax.associative_scan(lax.add, np.arange(4.0), reverse=True)
    Array([6., 6., 5., 3.], dtype=float64)
    """
    if not callable(fn):
        raise TypeError("lax.associative_scan: fn must be callable")
    leaves, tree = tree_flatten(elems)
    leaves = [_as_leaf(x) for x in leaves]
    if not leaves:
        return elems
    ndim = get_aval(leaves[0]).ndim
    if not -ndim <= axis < max(ndim, 1) or ndim == 0:
        raise ValueError(f"lax.associative_scan: axis {axis} is out of range for an operand of rank {ndim}")
    axis %= ndim
    n = get_aval(leaves[0]).shape[axis]
    if any(get_aval(x).ndim <= axis or get_aval(x).shape[axis] != n for x in leaves):
        raise ValueError(
            "lax.associative_scan: every array must have the same length along the scanned axis, got "
            f"shapes {[get_aval(x).shape for x in leaves]}"
        )
    if reverse:
        leaves = [rev(x, (axis,)) for x in leaves]
    out = _prefix_combinations(_pairwise(fn, tree), leaves, axis)
    if reverse:
        out = [rev(x, (axis,)) for x in out]
    return tree_unflatten(tree, out)


def _logaddexp(a, b):
    big = ew.max(a, b)
    finite_big = ew.select(ew.is_finite(big), big, ew.zeros_like(big))
    return ew.add(finite_big, ew.log(ew.add(ew.exp(ew.sub(a, finite_big)), ew.exp(ew.sub(b, finite_big)))))


def cumlogsumexp(operand, axis=0, reverse=False):
    """log(cumsum(exp(operand))) along `axis`, computed stably (as JAX's lax.cumlogsumexp: a scan of
    logaddexp, so no element's exp underflows against a large later one).

    >>> import numpy as np; from fnad import lax
    >>> lax.cumlogsumexp(np.array([0.0, 0.0, np.log(2.0)]))
    Array([0.        , 0.69314718, 1.38629436], dtype=float64)
    """
    aval = get_aval(operand)
    if aval.dtype.kind != "f":
        raise TypeError(f"lax.cumlogsumexp: needs a floating-point operand, got {aval.dtype.name}")
    return associative_scan(_logaddexp, operand, reverse=reverse, axis=axis)
