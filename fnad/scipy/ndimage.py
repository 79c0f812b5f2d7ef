"""`fnad.scipy.ndimage`: `map_coordinates`, interpolating an N-dimensional array at arbitrary points, as
`jax.scipy.ndimage` has it (orders 0 and 1; JAX's boundary modes, which are SciPy's documented ones).

The value at a point is a weighted sum of gathers of the input at its neighbouring grid points (one for
order 0, 2**N for order 1), each index brought inside the array by the boundary mode, so the result
differentiates with respect to the input and the coordinates, batches and compiles."""

from __future__ import annotations

import functools
import itertools
import operator

from .. import numpy as fnp

__all__ = ["map_coordinates"]


def _mirror(index, size):
    # A triangular wave of half-period size - 1: ... 2 1 0 1 2 ... size-1 size-2 ...
    period = size - 1
    if period == 0:
        return fnp.zeros_like(index)
    return fnp.abs((index + period) % (2 * period) - period)


def _reflect(index, size):
    # The mirror wave over the half-integer grid: ... 1 0 0 1 ... size-1 size-1 size-2 ...
    return fnp.floor_divide(_mirror(2 * index + 1, 2 * size + 1) - 1, 2)


_INDEX_FIXERS = {
    "constant": lambda index, size: index,
    "nearest": lambda index, size: fnp.clip(index, 0, size - 1),
    "wrap": lambda index, size: index % size,
    "mirror": _mirror,
    "reflect": _reflect,
}


def _round_half_away_from_zero(x):
    if fnp.issubdtype(x.dtype, fnp.integer):
        return x
    whole = fnp.trunc(x)
    return whole + fnp.where(fnp.abs(x - whole) >= 0.5, fnp.sign(x), 0)


def _nearest(coordinate):
    """[(index, weight)] of the one grid point order 0 reads."""
    return [(_round_half_away_from_zero(coordinate).astype(fnp.int32), 1)]


def _linear(coordinate):
    """[(index, weight)] of the two grid points order 1 blends."""
    lower = fnp.floor(coordinate)
    upper_weight = coordinate - lower
    index = lower.astype(fnp.int32)
    return [(index, 1 - upper_weight), (index + 1, upper_weight)]


def map_coordinates(input, coordinates, order, mode="constant", cval=0.0):
    """`input` interpolated at the points whose i-th coordinates are `coordinates[i]`, as
    jax.scipy.ndimage.map_coordinates: `order` 0 (nearest grid point, halves rounded away from zero) or 1
    (linear); points outside the array read `cval` (`mode="constant"`), the nearest edge value
    ("nearest"), the array repeated ("wrap"), or mirrored about the edge points ("mirror") or the edges
    ("reflect"). As in JAX, "constant" and "wrap" are SciPy's "grid-constant" and "grid-wrap". Integer
    inputs give values rounded to their dtype.

    >>> import numpy as np; from fnad.scipy import ndimage
    >>> image = np.arange(12.0).reshape(3, 4)
    >>> ndimage.map_coordinates(image, [np.array([0.5, 1.5]), np.array([1.5, 2.5])], order=1)
    Array([3.5, 8.5], dtype=float64)
    """
    input = fnp.asarray(input)
    coordinates = [fnp.asarray(c) for c in coordinates]
    cval = fnp.asarray(cval, input.dtype)
    if len(coordinates) != input.ndim:
        raise ValueError(
            f"map_coordinates: coordinates must be a sequence of length input.ndim, "
            f"but {len(coordinates)} != {input.ndim}"
        )
    if mode not in _INDEX_FIXERS:
        raise NotImplementedError(
            f"map_coordinates does not support mode {mode!r}; the supported modes are {sorted(_INDEX_FIXERS)}"
        )
    if order not in (0, 1):
        raise NotImplementedError(f"map_coordinates supports order 0 and 1 (as JAX), got order={order!r}")
    if input.ndim == 0 or 0 in input.shape:
        raise ValueError(f"map_coordinates: input must have at least one element per axis, got shape {input.shape}")
    nodes = _nearest if order == 0 else _linear
    fix = _INDEX_FIXERS[mode]
    per_axis = []
    for coordinate, size in zip(coordinates, input.shape):
        points = []
        for index, weight in nodes(coordinate):
            valid = (index >= 0) & (index < size) if mode == "constant" else None
            points.append((fix(index, size), valid, weight))
        per_axis.append(points)
    terms = []
    for corner in itertools.product(*per_axis):
        indices, validities, weights = zip(*corner)
        value = input[indices]
        if mode == "constant":
            value = fnp.where(functools.reduce(operator.and_, validities), value, cval)
        terms.append(functools.reduce(operator.mul, weights) * value)
    result = functools.reduce(operator.add, terms)
    if fnp.issubdtype(input.dtype, fnp.integer):
        result = _round_half_away_from_zero(result)
    return result.astype(input.dtype)
