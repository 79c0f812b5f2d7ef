"""`fnad.nn.initializers`: JAX's weight initialisers. Each builder returns `init(key, shape, dtype)`,
and draws through `fnad.random`, whose streams are JAX's, so a model initialised with the same key
starts from the same numbers as under JAX (with the dtype given; fnad's default float is float64,
JAX's float32 unless x64 is on).

The variance-scaling family sets the spread from the weight's fans: `in_axis` and `out_axis` name
the input and output axes, `batch_axis` axes to leave out, and the remaining axes form the receptive
field of a convolution kernel, which multiplies both fans.
"""

from __future__ import annotations

import math

import numpy as np

from .. import numpy as fnp
from .. import random

__all__ = [
    "constant",
    "delta_orthogonal",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "kaiming_normal",
    "kaiming_uniform",
    "lecun_normal",
    "lecun_uniform",
    "normal",
    "ones",
    "orthogonal",
    "truncated_normal",
    "uniform",
    "variance_scaling",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]

# Standard deviations of a standard normal truncated to (-2, 2), and of a complex standard normal
# whose modulus is truncated to 2: dividing by them makes the truncated draws' spread the requested one.
_TRUNCATED_STDDEV = 0.87962566103423978
_COMPLEX_TRUNCATED_STDDEV = 0.95311164380491208


def _float_dtype(dtype):
    return np.dtype(np.float64 if dtype is None else dtype)


def zeros(key, shape, dtype=None):
    """An array of zeros (the key is unused).

    >>> import fnad
    >>> fnad.nn.initializers.zeros(fnad.random.key(0), (2,))
    Array([0., 0.], dtype=float64)
    """
    return fnp.zeros(shape, _float_dtype(dtype))


def ones(key, shape, dtype=None):
    """An array of ones (the key is unused)."""
    return fnp.ones(shape, _float_dtype(dtype))


def constant(value, dtype=None):
    """An initializer filling arrays with `value`."""

    def init(key, shape, dtype=dtype):
        return fnp.full(shape, value, _float_dtype(dtype))

    return init


def uniform(scale=1e-2, dtype=None):
    """An initializer drawing uniformly from [0, scale)."""

    def init(key, shape, dtype=dtype):
        dtype = _float_dtype(dtype)
        return random.uniform(key, shape, dtype) * fnp.asarray(scale, dtype)

    return init


def normal(stddev=1e-2, dtype=None):
    """An initializer drawing from a normal distribution of mean 0 and standard deviation `stddev`."""

    def init(key, shape, dtype=dtype):
        dtype = _float_dtype(dtype)
        return random.normal(key, shape, dtype) * fnp.asarray(stddev, dtype)

    return init


def truncated_normal(stddev=1e-2, dtype=None, lower=-2.0, upper=2.0):
    """An initializer drawing a standard normal truncated to (lower, upper), times `stddev` (the
    spread is not corrected for the truncation, as in JAX; the variance-scaling family corrects it)."""

    def init(key, shape, dtype=dtype):
        dtype = _float_dtype(dtype)
        return random.truncated_normal(key, lower, upper, shape, dtype) * fnp.asarray(stddev, dtype)

    return init


def _size(shape, axes):
    return shape[axes] if isinstance(axes, int) else math.prod(shape[a] for a in axes)


def _fans(shape, in_axis, out_axis, batch_axis):
    """(fan in, fan out) of a weight of `shape`: its input and output sizes, each times the receptive
    field (the product of the axes that are none of in, out and batch)."""
    if isinstance(in_axis, int) and in_axis == -2 and len(shape) <= 1:
        raise ValueError(
            f"cannot compute the fans of a {len(shape)}-dimensional weight with the default in_axis=-2: "
            "give a shape of at least 2 dimensions, or in_axis"
        )
    in_size, out_size, batch_size = (_size(shape, a) for a in (in_axis, out_axis, batch_axis))
    receptive_field = math.prod(shape) / in_size / out_size / batch_size
    return in_size * receptive_field, out_size * receptive_field


def _unit_disk_uniform(key, shape, dtype):
    """Complex values uniform on the disk of variance 1 (radius sqrt(2))."""
    key_r, key_theta = random.split(key)
    real = np.zeros((), dtype).real.dtype
    r = fnp.sqrt(2 * random.uniform(key_r, shape, real)).astype(dtype)
    theta = 2 * np.pi * random.uniform(key_theta, shape, real).astype(dtype)
    return r * fnp.exp(1j * theta)


def _complex_truncated_normal(key, upper, shape, dtype):
    """Complex normal values of variance 1 before their modulus is truncated to `upper`."""
    key_r, key_theta = random.split(key)
    real = np.zeros((), dtype).real.dtype
    t = (1 - fnp.exp(fnp.asarray(-(upper**2), dtype))) * random.uniform(key_r, shape, real).astype(dtype)
    r = fnp.sqrt(-fnp.log(1 - t))
    theta = 2 * np.pi * random.uniform(key_theta, shape, real).astype(dtype)
    return r * fnp.exp(1j * theta)


def variance_scaling(scale, mode, distribution, in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
    """An initializer whose draws have variance `scale / n`, n being the fan in (`mode="fan_in"`), the
    fan out (`"fan_out"`), their mean (`"fan_avg"`) or their geometric mean (`"fan_geo_avg"`), from a
    normal (`distribution="normal"`), a normal truncated at two standard deviations
    (`"truncated_normal"`) or a uniform distribution (`"uniform"`; on a disk for complex dtypes).

    >>> import fnad
    >>> w = fnad.nn.initializers.variance_scaling(2.0, "fan_in", "normal")(fnad.random.key(0), (4000, 50))
    >>> round(float(w.var() * 4000), 1)
    2.0
    """
    denominators = {
        "fan_in": lambda fan_in, fan_out: fan_in,
        "fan_out": lambda fan_in, fan_out: fan_out,
        "fan_avg": lambda fan_in, fan_out: (fan_in + fan_out) / 2,
        "fan_geo_avg": lambda fan_in, fan_out: (fan_in * fan_out) ** 0.5,
    }
    if mode not in denominators:
        raise ValueError(f"variance_scaling: mode must be one of {sorted(denominators)}, got {mode!r}")
    if distribution not in ("normal", "truncated_normal", "uniform"):
        raise ValueError(
            f"variance_scaling: distribution must be 'normal', 'truncated_normal' or 'uniform', got {distribution!r}"
        )

    def init(key, shape, dtype=dtype):
        shape, dtype = tuple(int(d) for d in shape), _float_dtype(dtype)
        variance = fnp.asarray(scale / denominators[mode](*_fans(shape, in_axis, out_axis, batch_axis)), dtype)
        complex_valued = dtype.kind == "c"
        if distribution == "normal":
            return random.normal(key, shape, dtype) * fnp.sqrt(variance)
        if distribution == "truncated_normal":
            if complex_valued:
                stddev = fnp.sqrt(variance) / fnp.asarray(_COMPLEX_TRUNCATED_STDDEV, dtype)
                return _complex_truncated_normal(key, 2, shape, dtype) * stddev
            stddev = fnp.sqrt(variance) / fnp.asarray(_TRUNCATED_STDDEV, dtype)
            return random.truncated_normal(key, -2, 2, shape, dtype) * stddev
        if complex_valued:
            return _unit_disk_uniform(key, shape, dtype) * fnp.sqrt(variance)
        return random.uniform(key, shape, dtype, -1) * fnp.sqrt(3 * variance)

    return init


def _variance_scaling_kind(scale, mode, distribution, name, paper):
    def builder(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
        return variance_scaling(scale, mode, distribution, in_axis, out_axis, batch_axis, dtype)

    builder.__name__ = builder.__qualname__ = name
    builder.__doc__ = f"`variance_scaling({scale}, {mode!r}, {distribution!r})`: the {paper} initializer."
    return builder


glorot_uniform = xavier_uniform = _variance_scaling_kind(1.0, "fan_avg", "uniform", "glorot_uniform", "Glorot uniform")
glorot_normal = xavier_normal = _variance_scaling_kind(
    1.0, "fan_avg", "truncated_normal", "glorot_normal", "Glorot normal"
)
lecun_uniform = _variance_scaling_kind(1.0, "fan_in", "uniform", "lecun_uniform", "LeCun uniform")
lecun_normal = _variance_scaling_kind(1.0, "fan_in", "truncated_normal", "lecun_normal", "LeCun normal")
he_uniform = kaiming_uniform = _variance_scaling_kind(2.0, "fan_in", "uniform", "he_uniform", "He uniform")
he_normal = kaiming_normal = _variance_scaling_kind(2.0, "fan_in", "truncated_normal", "he_normal", "He normal")


def orthogonal(scale=1.0, column_axis=-1, dtype=None):
    """An initializer of (uniformly distributed) orthogonal matrices: the axes other than
    `column_axis` are flattened into rows, and rows or columns, whichever are fewer, are orthonormal."""

    def init(key, shape, dtype=dtype):
        shape, dtype = tuple(int(d) for d in shape), _float_dtype(dtype)
        if len(shape) < 2:
            raise ValueError(f"orthogonal initializer: the shape must have at least 2 dimensions, got {shape}")
        if 0 in shape:
            return fnp.zeros(shape, dtype)
        n_cols = shape[column_axis]
        q = random.orthogonal(key, math.prod(shape) // n_cols, (), dtype, n_cols)
        q = fnp.reshape(q, (*np.delete(shape, column_axis), n_cols))
        return fnp.asarray(scale, dtype) * fnp.moveaxis(q, -1, column_axis)

    return init


def delta_orthogonal(scale=1.0, column_axis=-1, dtype=None):
    """An initializer of delta-orthogonal convolution kernels (3, 4 or 5 dimensions, spatial axes
    first): zero but at the centre of the window, which holds an orthogonal in x out matrix."""

    def init(key, shape, dtype=dtype):
        shape, dtype = tuple(int(d) for d in shape), _float_dtype(dtype)
        if len(shape) not in (3, 4, 5):
            raise ValueError(f"delta_orthogonal initializer: the shape must have 3, 4 or 5 dimensions, got {shape}")
        if shape[-1] < shape[-2]:
            raise ValueError(
                f"delta_orthogonal initializer: fan in ({shape[-2]}) must not exceed fan out ({shape[-1]})"
            )
        matrix = orthogonal(scale, column_axis, dtype)(key, shape[-2:])
        centre = tuple((k - 1) // 2 for k in shape[:-2])
        return fnp.zeros(shape, dtype).at[centre].set(matrix)

    return init
