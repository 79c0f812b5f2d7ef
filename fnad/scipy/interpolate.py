"""`fnad.scipy.interpolate`: `RegularGridInterpolator`, linear and nearest-neighbour interpolation on a
rectilinear grid, as `jax.scipy.interpolate` has it.

The interpolator is a pytree (its grid, values and fill value are its leaves), so it can be passed
through `jit`, `vmap` and `grad`; evaluation is searchsorted, gathers and weighted sums, so it
differentiates with respect to the values, the grid and the query points."""

from __future__ import annotations

import itertools

import numpy as np

from .. import numpy as fnp
from ..core import Tracer
from ..tree_util import register_pytree_node

__all__ = ["RegularGridInterpolator"]

_METHODS = ("linear", "nearest")


def _checked_method(method):
    if method not in _METHODS:
        raise ValueError(f"RegularGridInterpolator: method {method!r} is not defined; use 'linear' or 'nearest'")
    return method


def _points_array(xi, ndim):
    """The query points as one (..., ndim) array: a tuple of coordinate arrays (broadcast together) is
    stacked along a new last axis (as float64, as JAX's x64 mode does); a 1-d array is read as a list of
    points."""
    if isinstance(xi, tuple) and len(xi) == 1:
        xi = xi[0]
    if isinstance(xi, tuple):
        parts = fnp.broadcast_arrays(*(fnp.asarray(p) for p in xi))
        return fnp.stack([p.astype(fnp.float64) for p in parts], axis=-1)
    xi = fnp.asarray(xi)
    return xi.reshape(-1, ndim) if xi.ndim == 1 else xi


class RegularGridInterpolator:
    """Interpolation of `values` given on the rectilinear grid `points` (one strictly increasing 1-d array
    per leading axis of `values`), as jax.scipy.interpolate.RegularGridInterpolator: `method` is
    "linear" or "nearest"; points outside the grid get `fill_value` (NaN by default), or are
    extrapolated when it is None. `bounds_error=True` raises NotImplementedError, as in JAX (a traced
    point cannot raise).

    >>> import numpy as np; from fnad.scipy.interpolate import RegularGridInterpolator
    >>> grid = (np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0]))
    >>> values = np.array([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0], [70.0, 80.0, 90.0]])
    >>> RegularGridInterpolator(grid, values)(np.array([[1.5, 4.5], [2.2, 5.8], [0.0, 5.0]]))
    Array([30., 64., nan], dtype=float64)
    """

    def __init__(self, points, values, method="linear", bounds_error=False, fill_value=np.nan):
        self.method = _checked_method(method)
        self.bounds_error = bounds_error
        if bounds_error:
            raise NotImplementedError("RegularGridInterpolator: `bounds_error` takes no effect under JIT (as in JAX)")
        values = fnp.asarray(values)
        values = values.astype(fnp.result_type(values, 1.0))
        if len(points) > values.ndim:
            raise ValueError(
                f"RegularGridInterpolator: there are {len(points)} point arrays, but values has {values.ndim} dimensions"
            )
        grid = tuple(fnp.asarray(p) for p in points)
        for axis, g in enumerate(grid):
            if g.ndim != 1 or g.shape[0] != values.shape[axis] or g.shape[0] < 2:
                raise ValueError(
                    f"RegularGridInterpolator: points[{axis}] must be 1-d with values.shape[{axis}] = "
                    f"{values.shape[axis]} >= 2 entries, got shape {g.shape}"
                )
            if not isinstance(g, Tracer) and not np.all(np.diff(np.asarray(g)) > 0):
                raise ValueError(f"RegularGridInterpolator: points[{axis}] must be strictly increasing")
        if fill_value is not None:
            fill_value = fnp.asarray(fill_value)
            if not fnp.can_cast(fill_value.dtype, values.dtype, casting="same_kind"):
                raise ValueError(
                    "RegularGridInterpolator: fill_value must be either None or of a type compatible with values "
                    f"({values.dtype}), got {fill_value.dtype}"
                )
        self.grid, self.values, self.fill_value = grid, values, fill_value

    def __call__(self, xi, method=None):
        """The interpolated values at the points `xi` (shape (..., ndim), or a tuple of coordinate arrays),
        of shape xi.shape[:-1] + values.shape[ndim:]."""
        method = _checked_method(self.method if method is None else method)
        ndim = len(self.grid)
        xi = _points_array(xi, ndim)
        if xi.shape[-1] != ndim:
            raise ValueError(
                f"RegularGridInterpolator: the requested sample points xi have dimension {xi.shape[-1]}, "
                f"but this interpolator has dimension {ndim}"
            )
        lead = xi.shape[:-1]
        xi = xi.reshape(-1, ndim)
        indices, distances, outside = self._locate(xi)
        result = self._linear(indices, distances) if method == "linear" else self._nearest(indices, distances)
        if self.fill_value is not None:
            outside = outside.reshape(outside.shape + (1,) * (result.ndim - 1))
            result = fnp.where(outside, self.fill_value, result)
        return result.reshape(lead + self.values.shape[ndim:])

    def _locate(self, xi):
        """For each axis, the index of the grid cell holding each point (the first or last cell beyond
        the grid) and the point's offset in it in cell widths; and which points lie outside the grid."""
        indices, distances, outside = [], [], fnp.zeros(xi.shape[0], bool)
        for x, g in zip(xi.T, self.grid):
            i = fnp.clip(fnp.searchsorted(g, x) - 1, 0, g.shape[0] - 2)
            indices.append(i)
            distances.append((x - g[i]) / (g[i + 1] - g[i]))
            outside = outside | (x < g[0]) | (x > g[-1])
        return indices, distances, outside

    def _linear(self, indices, distances):
        trailing = (slice(None),) + (None,) * (self.values.ndim - len(indices))
        total = 0.0
        for upper in itertools.product((False, True), repeat=len(indices)):
            corner = tuple(i + 1 if up else i for i, up in zip(indices, upper))
            weight = 1.0
            for up, y in zip(upper, distances):
                weight = weight * (y if up else 1 - y)
            total = total + self.values[corner] * weight[trailing]
        return total

    def _nearest(self, indices, distances):
        return self.values[tuple(fnp.where(y <= 0.5, i, i + 1) for i, y in zip(indices, distances))]


def _unflatten(aux, children):
    # Rebuilt without __init__'s checks: the leaves may be tracers or placeholders of a transform.
    interpolator = object.__new__(RegularGridInterpolator)
    interpolator.method, interpolator.bounds_error = aux
    interpolator.grid, interpolator.values, interpolator.fill_value = children
    return interpolator


register_pytree_node(
    RegularGridInterpolator,
    lambda r: ((r.grid, r.values, r.fill_value), (r.method, r.bounds_error)),
    _unflatten,
)
