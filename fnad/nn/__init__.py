"""fnad.nn: activation functions and the numerically stable softmax family (JAX's `jax.nn`).

Everything is built on fnad.numpy/lax, so it runs eagerly on NumPy and under every transform.
`relu` and `relu6` are custom_jvp functions whose derivative at the kinks is 0, as in JAX; the
softmax family subtracts the (gradient-stopped) maximum so large logits neither overflow nor give
NaN gradients.
"""

from __future__ import annotations

import numpy as np

from .. import lax
from .. import numpy as fnp
from ..custom_derivatives import custom_jvp
from . import initializers

__all__ = [
    "avg_pool",
    "celu",
    "dot_product_attention",
    "elu",
    "gelu",
    "glu",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "identity",
    "initializers",
    "leaky_relu",
    "log1mexp",
    "log_sigmoid",
    "log_softmax",
    "logmeanexp",
    "logsumexp",
    "max_pool",
    "mish",
    "one_hot",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "soft_sign",
    "softmax",
    "softplus",
    "sparse_plus",
    "sparse_sigmoid",
    "squareplus",
    "standardize",
    "swish",
    "tanh",
]

tanh = fnp.tanh


def _to_float(x):
    x = fnp.asarray(x)
    return x if np.issubdtype(x.dtype, np.inexact) else x.astype(np.float64)


@custom_jvp
def relu(x):
    """`max(x, 0)` elementwise; its derivative at 0 is 0 (as in JAX).

    >>> import numpy as np
    >>> from fnad import nn
    >>> x = np.array([-1.0, 0.0, 2.0])
    >>> nn.relu(x)
    Array([0., 0., 2.], dtype=float64)
    >>> import fnad
    >>> fnad.grad(nn.relu)(0.0)
    Array(0., dtype=float64)
    """
    return fnp.maximum(x, 0)


relu.defjvps(lambda g, ans, x: fnp.where(x > 0, g, 0))


@custom_jvp
def relu6(x):
    """`min(max(x, 0), 6)` elementwise; its derivative at 0 and at 6 is 0.

    >>> import numpy as np
    >>> from fnad import nn
    >>> x = np.array([-1.0, 0.0, 2.0])
    >>> nn.relu6(np.array([-1.0, 3.0, 7.0]))
    Array([0., 3., 6.], dtype=float64)
    """
    return fnp.minimum(fnp.maximum(x, 0), 6)


relu6.defjvps(lambda g, ans, x: fnp.where((x > 0) & (x < 6), g, 0))


def sigmoid(x):
    """The logistic function `1 / (1 + exp(-x))` (integers are converted to float64).

    >>> import numpy as np
    >>> from fnad import nn
    >>> x = np.array([-1.0, 0.0, 2.0])
    >>> np.round(nn.sigmoid(x), 6)
    array([0.268941, 0.5     , 0.880797])
    """
    return lax.logistic(_to_float(x))


def softplus(x):
    """`log(1 + exp(x))`, computed stably (no overflow for large x).

    >>> import numpy as np
    >>> from fnad import nn
    >>> x = np.array([-1.0, 0.0, 2.0])
    >>> np.round(nn.softplus(x), 6)
    array([0.313262, 0.693147, 2.126928])
    """
    return fnp.logaddexp(_to_float(x), 0)


def log_sigmoid(x):
    """`log(sigmoid(x))`, computed stably as `-softplus(-x)`.

    >>> import numpy as np
    >>> from fnad import nn
    >>> x = np.array([-1.0, 0.0, 2.0])
    >>> np.round(nn.log_sigmoid(x), 6)
    array([-1.313262, -0.693147, -0.126928])
    """
    return -softplus(-_to_float(x))


def silu(x):
    """`x * sigmoid(x)` (also called swish; `nn.swish` is the same function).

    >>> import numpy as np
    >>> from fnad import nn
    >>> x = np.array([-1.0, 0.0, 2.0])
    >>> np.round(nn.silu(x), 6)
    array([-0.268941,  0.      ,  1.761594])
    """
    x = _to_float(x)
    return x * sigmoid(x)


swish = silu


def gelu(x, approximate=True):
    """Gaussian error linear unit `x * Phi(x)`: the tanh approximation (default, as JAX) or, with
    `approximate=False`, exactly with erf.

    >>> import numpy as np
    >>> from fnad import nn
    >>> x = np.array([-1.0, 0.0, 2.0])
    >>> np.round(nn.gelu(x), 6)
    array([-0.158808,  0.      ,  1.954598])
    >>> np.round(nn.gelu(x, approximate=False), 6)
    array([-0.158655,  0.      ,  1.9545  ])
    """
    x = _to_float(x)
    if approximate:
        c = np.sqrt(2 / np.pi).astype(x.dtype)
        return 0.5 * x * (1 + fnp.tanh(c * (x + 0.044715 * x * x * x)))
    return 0.5 * x * (1 + lax.erf(x * np.array(1 / np.sqrt(2), x.dtype)))


def elu(x, alpha=1.0):
    """`x` for x > 0, `alpha * (exp(x) - 1)` otherwise (exp evaluated only where it cannot overflow,
    so gradients stay finite).

    >>> import numpy as np
    >>> from fnad import nn
    >>> x = np.array([-1.0, 0.0, 2.0])
    >>> np.round(nn.elu(x), 6)
    array([-0.632121,  0.      ,  2.      ])
    """
    x = _to_float(x)
    return fnp.where(x > 0, x, alpha * fnp.expm1(fnp.where(x > 0, 0, x)))


def selu(x):
    """Scaled ELU, `scale * elu(x, alpha)` with the self-normalising constants (Klambauer et al.)
    alpha = 1.6733 and scale = 1.0507.

    >>> import numpy as np
    >>> from fnad import nn
    >>> x = np.array([-1.0, 0.0, 2.0])
    >>> np.round(nn.selu(x), 6)
    array([-1.111331,  0.      ,  2.101402])
    """
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    return scale * elu(x, alpha)


def leaky_relu(x, negative_slope=0.01):
    """`x` for x >= 0, `negative_slope * x` otherwise.

    >>> import numpy as np
    >>> from fnad import nn
    >>> x = np.array([-1.0, 0.0, 2.0])
    >>> nn.leaky_relu(x)
    Array([-0.01,  0.  ,  2.  ], dtype=float64)
    """
    x = _to_float(x)
    return fnp.where(x >= 0, x, negative_slope * x)


def hard_tanh(x):
    """`x` clipped to [-1, 1].

    >>> import numpy as np
    >>> from fnad import nn
    >>> x = np.array([-1.0, 0.0, 2.0])
    >>> nn.hard_tanh(x)
    Array([-1.,  0.,  1.], dtype=float64)
    """
    x = _to_float(x)
    return fnp.where(x > 1, 1, fnp.where(x < -1, -1, x))


def celu(x, alpha=1.0):
    """Continuously differentiable ELU, `max(x, 0) + alpha * expm1(min(x, 0) / alpha)`, as JAX's.

    >>> import numpy as np
    >>> from fnad import nn
    >>> np.round(nn.celu(np.array([-1.0, 0.0, 2.0]), alpha=0.5), 6)
    array([-0.432332,  0.      ,  2.      ])
    """
    x = _to_float(x)
    return fnp.maximum(x, 0.0) + alpha * fnp.expm1(fnp.minimum(x, 0.0) / alpha)


def glu(x, axis=-1):
    """Gated linear unit: `x` split in two halves along `axis`, the first times the sigmoid of the second.

    >>> import numpy as np
    >>> from fnad import nn
    >>> np.round(nn.glu(np.array([1.0, 2.0, 0.0, 1.0])), 6)
    array([0.5     , 1.462117])
    """
    x = fnp.asarray(x)
    if x.ndim == 0 or x.shape[axis] % 2:
        raise ValueError(f"glu: axis {axis} of x (shape {x.shape}) must have an even size, to split in two halves")
    first, second = fnp.split(x, 2, axis)
    return first * sigmoid(second)


def hard_sigmoid(x):
    """`relu6(x + 3) / 6`, a piecewise linear sigmoid.

    >>> import numpy as np
    >>> from fnad import nn
    >>> nn.hard_sigmoid(np.array([-4.0, 0.0, 1.5, 4.0]))
    Array([0.  , 0.5 , 0.75, 1.  ], dtype=float64)
    """
    return relu6(_to_float(x) + 3.0) / 6.0


def hard_silu(x):
    """`x * hard_sigmoid(x)` (also called hard swish; `nn.hard_swish` is the same function)."""
    x = _to_float(x)
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def identity(x):
    """`x` itself, as an array."""
    return fnp.asarray(x)


def log1mexp(x):
    """`log(1 - exp(-x))` for x > 0, accurately: through `expm1` below log 2, `log1p` above (Maechler).

    >>> import numpy as np
    >>> from fnad import nn
    >>> print(nn.log1mexp(np.array([1e-10, 50.0])))
    [-2.30258509e+01 -1.92874985e-22]
    """
    x = _to_float(x)
    return fnp.where(x < np.log(2.0), fnp.log(-fnp.expm1(-x)), fnp.log1p(-fnp.exp(-x)))


def mish(x):
    """`x * tanh(softplus(x))` (Misra, 2019)."""
    x = _to_float(x)
    return x * fnp.tanh(softplus(x))


def soft_sign(x):
    """`x / (|x| + 1)`."""
    x = _to_float(x)
    return x / (fnp.abs(x) + 1)


def sparse_plus(x):
    """0 for x <= -1, `x` for x >= 1 and `(x + 1)^2 / 4` between: a smooth, sparse softplus.

    >>> import numpy as np
    >>> from fnad import nn
    >>> nn.sparse_plus(np.array([-2.0, 0.0, 0.5, 3.0]))
    Array([0.    , 0.25  , 0.5625, 3.    ], dtype=float64)
    """
    x = _to_float(x)
    return fnp.where(x <= -1.0, 0.0, fnp.where(x >= 1.0, x, (x + 1.0) ** 2 / 4))


def sparse_sigmoid(x):
    """`clip(x + 1, 0, 2) / 2`, the derivative of `sparse_plus`."""
    return 0.5 * fnp.clip(_to_float(x) + 1.0, 0.0, 2.0)


def squareplus(x, b=4):
    """`(x + sqrt(x^2 + b)) / 2`, a smooth softplus of algebraic functions (Barron, 2021)."""
    x = _to_float(x)
    return (x + fnp.sqrt(fnp.square(x) + b)) / 2


def _shifted(x, axis):
    """x minus its maximum along `axis` (kept dims); the maximum is a constant for differentiation
    and is replaced by 0 where it is not finite (all -inf)."""
    m = fnp.max(x, axis=axis, keepdims=True)
    m = lax.stop_gradient(fnp.where(fnp.isfinite(m), m, 0))
    return x - m, m


def softmax(x, axis=-1):
    """`exp(x) / sum(exp(x))` along `axis`, computed with the maximum subtracted (stable for large
    logits; the maximum is treated as a constant by derivatives, which does not change them).

    >>> import numpy as np
    >>> from fnad import nn
    >>> x = np.array([-1.0, 0.0, 2.0])
    >>> np.round(nn.softmax(x), 6)
    array([0.04201 , 0.114195, 0.843795])
    >>> nn.softmax(np.array([1000.0, 1000.0]))        # no overflow
    Array([0.5, 0.5], dtype=float64)
    """
    e = fnp.exp(_shifted(_to_float(x), axis)[0])
    return e / fnp.sum(e, axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    """`x - logsumexp(x)` along `axis`, computed with the maximum subtracted.

    >>> import numpy as np
    >>> from fnad import nn
    >>> x = np.array([-1.0, 0.0, 2.0])
    >>> np.round(nn.log_softmax(x), 6)
    array([-3.169846, -2.169846, -0.169846])
    """
    s = _shifted(_to_float(x), axis)[0]
    return s - fnp.log(fnp.sum(fnp.exp(s), axis=axis, keepdims=True))


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """`log(sum(b * exp(a)))` along `axis` (all axes by default), stable for large values and exact
    (-inf) when every term is zero. With `b` the sum may be negative: `return_sign=True` returns
    (log|sum|, sign); otherwise a negative sum gives NaN, as in JAX.

    >>> import numpy as np
    >>> from fnad import nn
    >>> print(np.round(nn.logsumexp(np.array([-1.0, 0.0, 2.0])), 6))
    2.169846
    >>> print(np.round(nn.logsumexp(np.array([1000.0, 1000.0])), 6))   # 1000 + log 2, no overflow
    1000.693147
    >>> nn.logsumexp(np.array([0.0, 0.0]), b=np.array([1.0, -2.0]), return_sign=True)
    (Array(0., dtype=float64), Array(-1., dtype=float64))
    """
    a = _to_float(a)
    s, m = _shifted(a, axis)
    e = fnp.exp(s)
    if b is not None:
        e = e * b
    total = fnp.sum(e, axis=axis, keepdims=True)
    sign = fnp.sign(total)
    if return_sign:
        total = fnp.abs(total)
    out = fnp.log(total) + m
    if not keepdims:
        axes = tuple(range(fnp.ndim(a))) if axis is None else axis
        out, sign = fnp.squeeze(out, axes), fnp.squeeze(sign, axes)
    return (out, lax.stop_gradient(sign)) if return_sign else out


def logmeanexp(x, axis=None, where=None, keepdims=False):
    """`log(mean(exp(x)))` along `axis` (all axes by default), stably, over the elements `where` marks.

    >>> import numpy as np
    >>> from fnad import nn
    >>> print(np.round(nn.logmeanexp(np.array([1000.0, 1000.0, 1000.0])), 6))
    1000.0
    """
    x = _to_float(x)
    if where is None:
        mask = fnp.ones(x.shape, np.bool_)
    else:
        mask = fnp.broadcast_to(fnp.asarray(where, np.bool_), x.shape)
        x = fnp.where(mask, x, -np.inf)
    lse = logsumexp(x, axis=axis, keepdims=keepdims)
    return lse - fnp.log(fnp.sum(mask, axis=axis, keepdims=keepdims).astype(lse.dtype))


def _with_leading_axes(t, ndim=4):
    t = fnp.asarray(t)
    return fnp.reshape(t, (1,) * (ndim - t.ndim) + t.shape) if t.ndim < ndim else t


def _check_attention_operand(t, shape, name, dtype=None):
    """JAX's checks: rank len(shape), sizes where `shape` is not -1, and `dtype` when given."""
    if t is None:
        return
    if t.ndim != len(shape):
        raise ValueError(f"dot_product_attention: {name} ndim should be {len(shape)}, but got {t.ndim}")
    if dtype is not None and t.dtype != dtype:
        raise ValueError(f"dot_product_attention: {name} dtype should be {np.dtype(dtype)}, but got {t.dtype}")
    if any(want not in (-1, got) for want, got in zip(shape, t.shape)):
        raise ValueError(f"dot_product_attention: {name} shape should be {tuple(shape)}: but got {t.shape}")


def _attention_mask(logits_shape, mask, is_causal, query_seq_lengths, key_value_seq_lengths, local_window_size):
    """The positions (B, N, T, S) that may attend, or None when all may (JAX's _apply_masks)."""
    T, S = logits_shape[2], logits_shape[3]
    query_pos, key_pos = np.arange(T)[:, None], np.arange(S)[None, :]
    masks = [] if mask is None else [mask]
    if is_causal:
        masks.append(query_pos >= key_pos)
    if local_window_size is not None:
        left, right = local_window_size
        masks.append((query_pos <= key_pos + left) & (query_pos >= key_pos - right))
    if query_seq_lengths is not None:
        masks.append(fnp.arange(T)[None, None, :, None] < query_seq_lengths[:, None, None, None])
    if key_value_seq_lengths is not None:
        masks.append(fnp.arange(S)[None, None, None, :] < key_value_seq_lengths[:, None, None, None])
    if not masks:
        return None
    combined = fnp.ones(logits_shape, np.bool_)
    for m in masks:
        combined = combined & m
    return combined


def dot_product_attention(
    query,
    key,
    value,
    bias=None,
    mask=None,
    *,
    scale=None,
    is_causal=False,
    query_seq_lengths=None,
    key_value_seq_lengths=None,
    local_window_size=None,
    implementation=None,
    return_residual=False,
):
    """Scaled dot-product attention, `softmax(scale * Q K^T + bias, masked) V`, as jax.nn's with
    implementation='xla'.

    `query` is (B, T, N, H), `key` and `value` (B, S, K, H) with N a multiple of K (grouped-query
    attention: query head n reads key/value head n // (N // K)); leading axes may be left out. `bias`
    and the boolean `mask` broadcast against the logits (B, N, T, S); masked logits are set to
    -0.7 times the float32 maximum, as JAX. `scale` defaults to 1 / sqrt(H); `is_causal` lets query t
    see keys up to t; `query_seq_lengths` / `key_value_seq_lengths` (B,) mask padding (padded query
    rows give 0); `local_window_size` (left, right) or one int keeps keys in [t - left, t + right].
    With `return_residual`, also returns the log-sum-exp of each row's logits (B, T, N).

    >>> import numpy as np
    >>> from fnad import nn
    >>> q = k = np.eye(2).reshape(1, 2, 1, 2)
    >>> v = np.array([[1.0, 0.0], [3.0, 0.0]]).reshape(1, 2, 1, 2)
    >>> np.round(nn.dot_product_attention(q, k, v, scale=np.log(3.0))[0, :, 0, 0], 6)
    array([1.5, 2.5])
    >>> nn.dot_product_attention(q, k, v, scale=0.0, is_causal=True)[0, :, 0, 0]  # means of keys up to t
    Array([1., 2.], dtype=float64)
    """
    if implementation not in (None, "xla"):
        raise NotImplementedError(f"dot_product_attention: implementation={implementation!r}; fnad has 'xla' only")
    output_shape = fnp.shape(query)
    query, key, value = (_with_leading_axes(t) for t in (query, key, value))
    bias = None if bias is None else _with_leading_axes(bias)
    mask = None if mask is None else _with_leading_axes(mask)
    B, S, K, H = key.shape
    _check_attention_operand(value, (B, S, K, H), "value", key.dtype)
    _check_attention_operand(query, (B, -1, -1, H), "query", key.dtype)
    _check_attention_operand(mask, (-1,) * 4, "mask", np.bool_)
    _check_attention_operand(bias, (-1,) * 4, "bias")
    seq_lengths = []
    for name, lengths in (("query_seq_lengths", query_seq_lengths), ("key_value_seq_lengths", key_value_seq_lengths)):
        if lengths is not None:
            lengths = fnp.asarray(lengths)
            _check_attention_operand(lengths, (B,), name)
            if not np.issubdtype(lengths.dtype, np.integer):
                raise ValueError(f"dot_product_attention: {name} must be integers, got {lengths.dtype}")
        seq_lengths.append(lengths)
    N = query.shape[2]
    if N % K:
        raise ValueError(f"The number of query heads must be a multiple of key/value heads, but got {N} vs {K}")
    if isinstance(local_window_size, int):
        local_window_size = (local_window_size, local_window_size)
    scale = 1.0 / np.sqrt(H) if scale is None else scale
    # Each key/value head serves N // K consecutive query heads.
    key, value = fnp.repeat(key, N // K, axis=2), fnp.repeat(value, N // K, axis=2)
    logits_dtype = np.promote_types(query.dtype, np.float32)
    logits = fnp.einsum("BTNH,BSNH->BNTS", query, key).astype(logits_dtype) * np.array(scale, logits_dtype)
    if bias is not None:
        logits = (logits + bias).astype(logits_dtype)
    allowed = _attention_mask(logits.shape, mask, is_causal, *seq_lengths, local_window_size)
    if allowed is not None:
        large_negative = -0.7 * min(np.finfo(logits_dtype).max, np.finfo(np.float32).max)
        logits = fnp.where(allowed, logits, np.array(large_negative, logits_dtype))
    encoded = fnp.einsum("BNTS,BSNH->BTNH", softmax(logits, axis=-1).astype(key.dtype), value)
    if seq_lengths[0] is not None:
        encoded = encoded * (fnp.arange(encoded.shape[1])[None, :, None, None] < seq_lengths[0][:, None, None, None])
    encoded = fnp.reshape(encoded, output_shape)
    if return_residual:
        residual = fnp.transpose(logsumexp(logits, axis=-1).astype(key.dtype), (0, 2, 1))
        return encoded, lax.stop_gradient(fnp.reshape(residual, output_shape[:-1]))
    return encoded


def one_hot(x, num_classes, dtype=np.float64, axis=-1):
    """One-hot encoding of the integers `x` along a new axis of size `num_classes` (at `axis`);
    values outside [0, num_classes) encode as all zeros.

    >>> import numpy as np
    >>> from fnad import nn
    >>> nn.one_hot(np.array([0, 2, 5]), 3)
    Array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 0., 0.]], dtype=float64)
    """
    x = fnp.asarray(x)
    axis = axis % (fnp.ndim(x) + 1)
    classes = fnp.reshape(fnp.arange(num_classes), (num_classes,) + (1,) * (fnp.ndim(x) - axis))
    return (fnp.expand_dims(x, axis) == classes).astype(dtype)


def standardize(x, axis=-1, mean=None, variance=None, epsilon=1e-5):
    """`(x - mean) / sqrt(variance + epsilon)` along `axis` (statistics computed when not given).

    >>> import numpy as np
    >>> from fnad import nn
    >>> x = np.array([-1.0, 0.0, 2.0])
    >>> np.round(nn.standardize(x), 6)
    array([-1.069042, -0.26726 ,  1.336302])
    """
    x = _to_float(x)
    if mean is None:
        mean = fnp.mean(x, axis=axis, keepdims=True)
    if variance is None:
        variance = fnp.mean(fnp.square(x - mean), axis=axis, keepdims=True)
    return (x - mean) / fnp.sqrt(variance + epsilon)


# Pooling, in the form of flax.linen (jax.nn has none): inputs (batch..., window axes..., features).


def _pool(inputs, init, computation, window_shape, strides, padding):
    """reduce_window over the window axes of inputs shaped (batch..., window axes..., features),
    as flax.linen.pool (no batch axis: one is added and removed)."""
    inputs = fnp.asarray(inputs)
    window_shape = tuple(window_shape)
    strides = (1,) * len(window_shape) if strides is None else tuple(strides)
    if len(strides) != len(window_shape):
        raise ValueError(f"pool: strides {strides} must have one entry per window axis {window_shape}")
    batch_axes = inputs.ndim - len(window_shape) - 1
    if batch_axes < 0:
        raise ValueError(
            f"pool: inputs of shape {inputs.shape} need the {len(window_shape)} window axes of {window_shape} "
            "followed by a features axis"
        )
    single = batch_axes == 0
    if single:
        inputs, batch_axes = inputs[None], 1
    if not isinstance(padding, str):
        padding = tuple(tuple(p) for p in padding)
        if len(padding) != len(window_shape) or any(len(p) != 2 for p in padding):
            raise ValueError(f"pool: padding {padding} must be one (lo, hi) pair per window axis {window_shape}")
        padding = ((0, 0),) * batch_axes + padding + ((0, 0),)
    ones = (1,) * batch_axes
    y = lax.reduce_window(inputs, init, computation, ones + window_shape + (1,), ones + strides + (1,), padding)
    return y[0] if single else y


def max_pool(inputs, window_shape, strides=None, padding="VALID"):
    """The maximum over each window of inputs shaped (batch..., window axes..., features), as
    flax.linen.max_pool: `window_shape` and `strides` (default 1) per window axis, `padding` 'VALID',
    'SAME' or (lo, hi) pairs (padded with -inf).

    >>> import numpy as np
    >>> from fnad import nn
    >>> nn.max_pool(np.arange(16.0).reshape(1, 4, 4, 1), (2, 2), strides=(2, 2))[0, :, :, 0]
    Array([[ 5.,  7.],
           [13., 15.]], dtype=float64)
    """
    dtype = fnp.asarray(inputs).dtype
    low = -np.inf if np.issubdtype(dtype, np.inexact) else np.iinfo(dtype).min
    return _pool(inputs, np.array(low, dtype), lax.max, window_shape, strides, padding)


def avg_pool(inputs, window_shape, strides=None, padding="VALID", count_include_pad=True):
    """The mean over each window of inputs shaped (batch..., window axes..., features), as
    flax.linen.avg_pool: padded elements count as zeros unless `count_include_pad=False`.

    >>> import numpy as np
    >>> from fnad import nn
    >>> nn.avg_pool(np.arange(16.0).reshape(1, 4, 4, 1), (2, 2), strides=(2, 2))[0, :, :, 0]
    Array([[ 2.5,  4.5],
           [10.5, 12.5]], dtype=float64)
    """
    inputs = _to_float(inputs)
    y = _pool(inputs, 0.0, lax.add, window_shape, strides, padding)
    if count_include_pad:
        return y / np.prod(window_shape)
    ones = fnp.ones(inputs.shape[inputs.ndim - len(window_shape) - 1 : -1] + (1,), inputs.dtype)  # unbatched
    return y / _pool(ones, 0.0, lax.add, window_shape, strides, padding)
