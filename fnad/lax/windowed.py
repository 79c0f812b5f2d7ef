"""reduce_window: reductions over sliding windows (pooling), built from existing primitives.

The operand is padded with the init value (which also fills the holes of `base_dilation`), and the
reduction folds `computation` over one strided slice per window position, each holding that
position's element of every window. Being plain pad/slice/elementwise primitives, it differentiates,
batches and compiles (into one fused loop) with no rules of its own."""

from __future__ import annotations

import itertools

import numpy as np

from ..core import get_aval
from ..primitives.conv import padtype_to_pads
from ..primitives.indexing import pad, slice
from ..primitives.shape import broadcast_in_dim
from ..tree_util import tree_flatten, tree_unflatten


def _dilate(n, d):
    return 0 if n == 0 else 1 + d * (n - 1)


def _init_like(value, operand_aval):
    """The init value as a scalar of the operand's dtype (Python scalars are weakly typed, as in JAX)."""
    if type(value) in (int, float, bool):
        return np.array(value, operand_aval.dtype)
    aval = get_aval(value)
    if aval.shape != () or aval.dtype != operand_aval.dtype:
        raise TypeError(
            f"reduce_window: init_value must be a scalar of the operand's dtype {operand_aval.dtype.name}, "
            f"got {aval.str_short()}"
        )
    return value


def reduce_window(
    operand,
    init_value,
    computation,
    window_dimensions,
    window_strides=None,
    padding="VALID",
    base_dilation=None,
    window_dilation=None,
):
    """Reduce each window of `operand` with `computation`, starting from `init_value`, as JAX's
    lax.reduce_window (XLA's ReduceWindow): `window_dimensions` and `window_strides` per axis,
    `padding` 'VALID', 'SAME', 'SAME_LOWER' or (lo, hi) pairs (padded with `init_value`),
    `base_dilation` (holes between operand elements) and `window_dilation` (between window elements).
    `operand` and `init_value` may be matching pytrees. `computation(x, y)` combines two values of
    the operand's structure and is applied to whole arrays of window elements, so it must act
    elementwise (lax.add, lax.max, lax.min, lax.mul, or a function built from such operations).
    Unlike JAX, every computation can be differentiated (derivatives follow its operations: where
    the maximum is tied, lax.max splits the gradient between the tied elements).

    >>> import numpy as np; from fnad import lax
    >>> lax.reduce_window(np.arange(10.0), 1.0, lax.mul, window_dimensions=(2,))
    Array([ 0.,  2.,  6., 12., 20., 30., 42., 56., 72.], dtype=float64)
    >>> lax.reduce_window(np.arange(16.0).reshape(4, 4), -np.inf, lax.max, (2, 2), (2, 2), 'VALID')
    Array([[ 5.,  7.],
           [13., 15.]], dtype=float64)
    """
    flat, tree = tree_flatten(operand)
    inits, init_tree = tree_flatten(init_value)
    if not flat:
        raise ValueError("reduce_window must have at least one operand.")
    if tree != init_tree:
        raise ValueError(
            f"reduce_window: operands must have the same tree structure as init_values: {tree} vs. {init_tree}"
        )
    avals = [get_aval(x) for x in flat]
    shape = avals[0].shape
    if any(a.shape != shape for a in avals):
        raise ValueError(f"reduce_window: operands must have one shape, got {[a.shape for a in avals]}")
    ndim = len(shape)
    window_dimensions = tuple(int(k) for k in window_dimensions)
    defaults = lambda v: (1,) * ndim if v is None else tuple(int(i) for i in v)
    window_strides, base_dilation, window_dilation = map(defaults, (window_strides, base_dilation, window_dilation))
    for what, v in [
        ("window_dimensions", window_dimensions),
        ("window_strides", window_strides),
        ("base_dilation", base_dilation),
        ("window_dilation", window_dilation),
    ]:
        if len(v) != ndim or any(i < (0 if what == "window_dimensions" else 1) for i in v):
            raise ValueError(f"reduce_window: {what} must have one positive entry per axis of shape {shape}, got {v}")
    if isinstance(padding, str):
        dilated_window = [_dilate(k, d) for k, d in zip(window_dimensions, window_dilation)]
        padding = padtype_to_pads(shape, dilated_window, window_strides, padding)
    padding = tuple((int(lo), int(hi)) for lo, hi in padding)
    if len(padding) != ndim:
        raise ValueError(f"reduce_window: padding {padding} needs one (lo, hi) pair per axis of shape {shape}")
    inits = [_init_like(v, a) for v, a in zip(inits, avals)]
    padded = [pad(x, v, [(lo, hi, d - 1) for (lo, hi), d in zip(padding, base_dilation)]) for x, v in zip(flat, inits)]
    padded_shape = get_aval(padded[0]).shape
    out_shape = tuple(
        (n - _dilate(k, d)) // s + 1 if n >= _dilate(k, d) else 0
        for n, k, d, s in zip(padded_shape, window_dimensions, window_dilation, window_strides)
    )
    acc = [broadcast_in_dim(v, out_shape, ()) for v in inits]
    for position in itertools.product(*map(range, window_dimensions)):
        start = [i * d for i, d in zip(position, window_dilation)]
        limit = [b + (m - 1) * s + 1 if m else b for b, m, s in zip(start, out_shape, window_strides)]
        elements = [slice(p, start, limit, window_strides) for p in padded]
        combined, out_tree = tree_flatten(computation(tree_unflatten(tree, acc), tree_unflatten(tree, elements)))
        if out_tree != tree:
            raise ValueError(f"reduce_window: computation must return the operands' structure {tree}, got {out_tree}")
        acc = combined
    return tree_unflatten(tree, acc)
