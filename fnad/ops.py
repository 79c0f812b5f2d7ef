"""`fnad.ops`: JAX's `jax.ops`, the segment reductions (graph networks' message passing, ragged
batches). Each is a scatter into an array of the reduction's identity, `.at[segment_ids]`, so it
differentiates, batches and compiles as indexed updates do; ids outside [0, num_segments) are dropped."""

from __future__ import annotations

import numpy as np

from . import numpy as fnp
from .core import Tracer

__all__ = ["segment_max", "segment_min", "segment_prod", "segment_sum"]


def _identity_of_max(dtype):
    if dtype.kind == "f":
        return -np.inf
    return False if dtype.kind == "b" else np.iinfo(dtype).min


def _identity_of_min(dtype):
    if dtype.kind == "f":
        return np.inf
    return True if dtype.kind == "b" else np.iinfo(dtype).max


def _segment_reduction(name, method, identity):
    def reduce(
        data,
        segment_ids,
        num_segments=None,
        indices_are_sorted=False,
        unique_indices=False,
        bucket_size=None,
        mode=None,
    ):
        data, segment_ids = fnp.asarray(data), fnp.asarray(segment_ids)
        if not np.issubdtype(segment_ids.dtype, np.integer):
            raise TypeError(f"{name}: segment_ids must be integers, got dtype {segment_ids.dtype}")
        if segment_ids.shape != data.shape[: segment_ids.ndim]:
            raise ValueError(
                f"{name}: segment_ids of shape {segment_ids.shape} must match the leading axes of data, "
                f"of shape {data.shape}"
            )
        if num_segments is None:
            if isinstance(segment_ids, Tracer):
                raise TypeError(
                    f"{name}: num_segments is needed when segment_ids are traced (under jit, vmap or grad): "
                    "the result's shape must be static. Pass num_segments=..."
                )
            num_segments = int(np.max(np.asarray(segment_ids), initial=-1)) + 1
        num_segments = int(num_segments)
        out = fnp.full((num_segments, *data.shape[segment_ids.ndim :]), identity(data.dtype), data.dtype)
        # A negative id names no segment (it does not count from the end, as an index would).
        segment_ids = fnp.where(segment_ids < 0, num_segments, segment_ids)
        update = getattr(out.at[segment_ids], method)
        return update(data, indices_are_sorted=indices_are_sorted, unique_indices=unique_indices, mode=mode or "drop")

    reduce.__name__ = reduce.__qualname__ = name
    reduce.__doc__ = (
        f"The {method} of `data`'s slices along its leading axes per segment, as `jax.ops.{name}`: row i "
        f"of the result reduces the slices whose `segment_ids` equal i (num_segments rows; ids outside "
        f"are dropped). `bucket_size` is accepted and ignored."
    )
    return reduce


segment_sum = _segment_reduction("segment_sum", "add", lambda dtype: 0)
segment_prod = _segment_reduction("segment_prod", "multiply", lambda dtype: 1)
segment_max = _segment_reduction("segment_max", "max", _identity_of_max)
segment_min = _segment_reduction("segment_min", "min", _identity_of_min)
segment_sum.__doc__ += """

    >>> import fnad, fnad.numpy as fnp
    >>> fnad.ops.segment_sum(fnp.arange(5.0), fnp.array([0, 0, 1, 1, 2]), num_segments=3)
    Array([1., 5., 4.], dtype=float64)
    """
