"""fnad.random: counter-based, functional pseudo-random numbers (the design of `jax.random`).

A key is a uint32[2] array. Nothing is stateful: the same key always gives the same numbers, eagerly,
under vmap and under jit, because everything is computed with fnad's uint32 primitives from the
Threefry-2x32 block cipher (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011;
20 rounds, checked against the Random123 known-answer vectors).

Construction (fnad's own; values are not bit-identical to JAX's):
- `PRNGKey(seed)` = [seed >> 32, seed & 0xFFFFFFFF] (a 64-bit integer seed).
- random bits: element i of a request (row-major over `shape`) is threefry(key, (0, i)) =
  (y0, y1); 64-bit values are (y0 << 32) | y1, 32-bit values are y0.
- `split(key, num)`: key j is threefry(key, (0xFFFFFFFF, j)); `fold_in(key, d)` is
  threefry(key, (0xFFFFFFFE, d)). Distinct first counter words keep these apart from the bits of
  any request of fewer than 2^32 elements.
- floats: uniform in [0, 1) from the top 53 (float64) or 24 (float32) bits, exactly representable;
  normals by the inverse error function of a uniform in (-1, 1).
- permutations: the stable argsort of 64-bit random bits.
"""

from __future__ import annotations

import numpy as np

from . import lax
from . import numpy as fnp
from .core import get_aval
from .primitives import elementwise as ew
from .primitives import shape as sh
from .primitives.reductions import reduce_sum

__all__ = [
    "PRNGKey",
    "bernoulli",
    "categorical",
    "choice",
    "exponential",
    "fold_in",
    "gumbel",
    "normal",
    "permutation",
    "randint",
    "random_bits",
    "split",
    "threefry_2x32",
    "truncated_normal",
    "uniform",
]

_U32 = np.uint32
_ROTATIONS = (13, 15, 26, 6, 17, 29, 16, 24)
_PARITY = _U32(0x1BD11BDA)
_SPLIT_DOMAIN, _FOLD_DOMAIN = _U32(0xFFFFFFFF), _U32(0xFFFFFFFE)


# ----------------------------------------------------------------------------------------------
# Threefry-2x32 and keys


def _rotate_left(x, d):
    return ew.bitwise_or(ew.shift_left(x, _U32(d)), ew.shift_right_logical(x, _U32(32 - d)))


def _threefry(k0, k1, x0, x1):
    """Threefry-2x32 with 20 rounds on uint32 words (all arithmetic wraps modulo 2^32)."""
    ks = (k0, k1, ew.bitwise_xor(ew.bitwise_xor(k0, k1), _PARITY))
    x0, x1 = ew.add(x0, k0), ew.add(x1, k1)
    for i in range(20):
        x0 = ew.add(x0, x1)
        x1 = ew.bitwise_xor(_rotate_left(x1, _ROTATIONS[i % 8]), x0)
        if i % 4 == 3:  # key injection after every 4 rounds
            s = i // 4 + 1
            x0 = ew.add(x0, ks[s % 3])
            x1 = ew.add(ew.add(x1, ks[(s + 1) % 3]), _U32(s))
    return x0, x1


def _check_key(key, name):
    aval = get_aval(key)
    if aval.shape != (2,) or aval.dtype != np.uint32:
        hint = (
            " For a batch of keys (e.g. from split), index one key or use fnad.vmap."
            if aval.shape[-1:] == (2,) and aval.dtype == np.uint32
            else ""
        )
        raise TypeError(
            f"random.{name}: expected a PRNG key, a uint32[2] array as returned by PRNGKey or "
            f"split, got {aval.str_short()}.{hint}"
        )
    return key


def _key_words(key):
    """The two uint32 words of a key (by masked sums, which batch like any reduction)."""
    first = np.array([True, False])
    zero = np.zeros(2, np.uint32)
    return (reduce_sum(ew.select(first, key, zero), (0,)), reduce_sum(ew.select(~first, key, zero), (0,)))


def _stack_last(a, b):
    """Stack two equal-shape arrays along a new last axis of size 2."""
    shape = get_aval(a).shape + (2,)
    dims = tuple(range(len(shape) - 1))
    first = ew.eq(sh.iota(np.int32, shape, len(shape) - 1), np.int32(0))
    return ew.select(first, sh.broadcast_in_dim(a, shape, dims), sh.broadcast_in_dim(b, shape, dims))


def threefry_2x32(key, x0, x1):
    """The Threefry-2x32 (20 rounds) block function: encrypt the counter words (x0, x1) (uint32
    arrays of equal shape) under `key` (uint32[2]). Returns the two uint32 output words.

    >>> import numpy as np
    >>> from fnad import random
    >>> key = random.PRNGKey(0)
    >>> random.threefry_2x32(key, np.array([0], np.uint32), np.array([1], np.uint32))
    (Array([928981903], dtype=uint32), Array([3453687069], dtype=uint32))
    """
    k0, k1 = _key_words(_check_key(key, "threefry_2x32"))
    return _threefry(k0, k1, fnp.asarray(x0, np.uint32), fnp.asarray(x1, np.uint32))


def PRNGKey(seed):
    """A key (a uint32[2] array) from an integer seed (up to 64 bits; may be a traced integer).

    Keys are plain arrays and randomness is functional: the same key always gives the same numbers,
    eagerly and under jit/vmap. Never reuse a key for two draws that should be independent; derive
    new keys with `split` or `fold_in`.

    >>> import numpy as np
    >>> from fnad import random
    >>> key = random.PRNGKey(0)
    >>> random.PRNGKey(0)
    Array([0, 0], dtype=uint32)
    """
    seed = fnp.asarray(seed)
    if not np.issubdtype(seed.dtype, np.integer) or fnp.ndim(seed) != 0:
        raise TypeError(f"PRNGKey: the seed must be a scalar integer, got {get_aval(seed).str_short()}")
    seed = seed.astype(np.int64)
    hi = ew.convert_element_type(ew.shift_right_logical(seed, np.int64(32)), np.uint32)
    lo = ew.convert_element_type(ew.bitwise_and(seed, np.int64(0xFFFFFFFF)), np.uint32)
    return _stack_last(hi, lo)


def split(key, num=2):
    """`num` new keys (a uint32[num, 2] array), independent of each other and of `key`'s bits.

    >>> import numpy as np
    >>> from fnad import random
    >>> key = random.PRNGKey(0)
    >>> key, subkey = random.split(key)
    >>> subkey
    Array([1065179034, 1741568792], dtype=uint32)
    """
    k0, k1 = _key_words(_check_key(key, "split"))
    y0, y1 = _threefry(k0, k1, _SPLIT_DOMAIN, sh.iota(np.uint32, int(num)))
    return _stack_last(y0, y1)


def fold_in(key, data):
    """A new key from `key` and an integer `data` (e.g. a step number; may be traced).

    >>> import numpy as np
    >>> from fnad import random
    >>> key = random.PRNGKey(0)
    >>> random.fold_in(key, 1)
    Array([3248552896,   93766516], dtype=uint32)
    """
    k0, k1 = _key_words(_check_key(key, "fold_in"))
    data = ew.convert_element_type(fnp.asarray(data), np.uint32)
    return _stack_last(*_threefry(k0, k1, _FOLD_DOMAIN, data))


def _shape(shape):
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)


def random_bits(key, bit_width, shape):
    """Uniformly random unsigned integers of `bit_width` (32 or 64) bits, of the given shape.

    >>> import numpy as np
    >>> from fnad import random
    >>> key = random.PRNGKey(0)
    >>> random.random_bits(key, 32, (2,))
    Array([1797259609,  928981903], dtype=uint32)
    """
    k0, k1 = _key_words(_check_key(key, "random_bits"))
    shape = _shape(shape)
    n = int(np.prod(shape, dtype=np.int64))
    if n >= 2**32:
        raise ValueError(f"random_bits: at most 2**32 - 1 values per request, got shape {shape}")
    y0, y1 = _threefry(k0, k1, _U32(0), sh.iota(np.uint32, n))
    if bit_width == 32:
        return sh.reshape(y0, shape)
    if bit_width == 64:
        hi = ew.shift_left(ew.convert_element_type(y0, np.uint64), np.uint64(32))
        return sh.reshape(ew.bitwise_or(hi, ew.convert_element_type(y1, np.uint64)), shape)
    raise ValueError(f"random_bits: bit_width must be 32 or 64, got {bit_width}")


# ----------------------------------------------------------------------------------------------
# Distributions

_MANTISSA = {np.dtype(np.float64): (64, 53), np.dtype(np.float32): (32, 24)}


def _float_dtype(dtype, name):
    dtype = np.dtype(dtype)
    if dtype not in _MANTISSA:
        raise TypeError(f"random.{name}: dtype must be float32 or float64, got {dtype.name}")
    return dtype


def _unit_uniform(key, shape, dtype):
    """Uniform on [0, 1): the top mantissa bits of random bits, scaled exactly."""
    width, digits = _MANTISSA[dtype]
    bits = random_bits(key, width, shape)
    top = ew.shift_right_logical(bits, np.array(width - digits, bits.dtype))
    return ew.mul(ew.convert_element_type(top, dtype), np.array(2.0**-digits, dtype))


def uniform(key, shape=(), dtype=np.float64, minval=0.0, maxval=1.0):
    """Floats uniform on [minval, maxval) (minval/maxval broadcast against `shape`).

    >>> import numpy as np
    >>> from fnad import random
    >>> key = random.PRNGKey(0)
    >>> np.round(random.uniform(key, (3,)), 6)
    array([0.418457, 0.216295, 0.965321])
    """
    dtype = _float_dtype(dtype, "uniform")
    minval, maxval = fnp.asarray(minval, dtype), fnp.asarray(maxval, dtype)
    u = _unit_uniform(key, _shape(shape), dtype)
    return fnp.maximum(minval, u * (maxval - minval) + minval)


def normal(key, shape=(), dtype=np.float64):
    """Standard normal samples: sqrt(2) * erfinv(u) for u uniform on (-1, 1). Same values under jit.

    >>> import numpy as np
    >>> from fnad import random
    >>> key = random.PRNGKey(0)
    >>> np.round(random.normal(key, (3,)), 6)
    array([-0.205842, -0.784766,  1.816087])
    >>> import fnad
    >>> np.round(fnad.jit(lambda k: random.normal(k, (3,)))(key), 6)
    array([-0.205842, -0.784766,  1.816087])
    """
    dtype = _float_dtype(dtype, "normal")
    lo = np.nextafter(np.array(-1.0, dtype), np.array(0.0, dtype))
    u = uniform(key, shape, dtype, lo, 1.0)
    return lax.erf_inv(u) * np.array(np.sqrt(2), dtype)


def truncated_normal(key, lower, upper, shape=None, dtype=np.float64):
    """Standard normal samples conditioned on lower < x < upper (bounds broadcast; `shape` defaults
    to their broadcast shape).

    >>> import numpy as np
    >>> from fnad import random
    >>> key = random.PRNGKey(0)
    >>> np.round(random.truncated_normal(key, -1.0, 1.0, (3,)), 6)
    array([-0.139996, -0.506315,  0.906522])
    """
    dtype = _float_dtype(dtype, "truncated_normal")
    lower, upper = fnp.asarray(lower, dtype), fnp.asarray(upper, dtype)
    if shape is None:
        shape = np.broadcast_shapes(fnp.shape(lower), fnp.shape(upper))
    root2 = np.array(np.sqrt(2), dtype)
    a, b = lax.erf(lower / root2), lax.erf(upper / root2)
    out = lax.erf_inv(uniform(key, shape, dtype, a, b)) * root2
    return fnp.clip(
        out,
        lax.nextafter(lax.stop_gradient(lower), np.array(np.inf, dtype)),
        lax.nextafter(lax.stop_gradient(upper), np.array(-np.inf, dtype)),
    )


def bernoulli(key, p=0.5, shape=None):
    """Booleans that are True with probability p (shape defaults to p's shape).

    >>> import numpy as np
    >>> from fnad import random
    >>> key = random.PRNGKey(0)
    >>> random.bernoulli(key, 0.5, (4,))
    Array([ True,  True, False, False], dtype=bool)
    """
    p = fnp.asarray(p)
    dtype = p.dtype if np.dtype(p.dtype) in _MANTISSA else np.dtype(np.float64)
    shape = fnp.shape(p) if shape is None else _shape(shape)
    return uniform(key, shape, dtype) < p


def randint(key, shape, minval, maxval, dtype=np.int64):
    """Integers uniform on [minval, maxval) (minval/maxval broadcast against `shape`; an empty range
    gives minval). The modulo bias is below (maxval - minval) / 2^64.

    >>> import numpy as np
    >>> from fnad import random
    >>> key = random.PRNGKey(0)
    >>> random.randint(key, (4,), 0, 10)
    Array([0, 7, 9, 6], dtype=int64)
    """
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.integer):
        raise TypeError(f"random.randint: dtype must be an integer type, got {dtype.name}")
    shape = _shape(shape)
    info = np.iinfo(dtype)
    lo = fnp.clip(fnp.asarray(minval).astype(np.int64), max(info.min, -(2**63)), min(info.max, 2**63 - 1))
    hi = fnp.clip(fnp.asarray(maxval).astype(np.int64), max(info.min, -(2**63)), min(info.max, 2**63 - 1))
    span = fnp.maximum(hi - lo, 1).astype(np.uint64)
    offset = fnp.fmod(random_bits(key, 64, shape), span).astype(np.int64)
    return (fnp.broadcast_to(lo, shape) + offset).astype(dtype)


def exponential(key, shape=(), dtype=np.float64):
    """Exponential(1) samples: -log(1 - u).

    >>> import numpy as np
    >>> from fnad import random
    >>> key = random.PRNGKey(0)
    >>> np.round(random.exponential(key, (3,)), 6)
    array([0.542071, 0.243723, 3.361634])
    """
    dtype = _float_dtype(dtype, "exponential")
    return -fnp.log1p(-uniform(key, shape, dtype))


def gumbel(key, shape=(), dtype=np.float64):
    """Standard Gumbel samples: -log(-log(u)) for u uniform on (0, 1).

    >>> import numpy as np
    >>> from fnad import random
    >>> key = random.PRNGKey(0)
    >>> np.round(random.gumbel(key, (3,)), 6)
    array([ 0.137906, -0.425993,  3.344039])
    """
    dtype = _float_dtype(dtype, "gumbel")
    u = uniform(key, shape, dtype, np.finfo(dtype).tiny, 1.0)
    return -fnp.log(-fnp.log(u))


def categorical(key, logits, axis=-1, shape=None):
    """Indices drawn with probabilities softmax(logits) along `axis` (Gumbel-max). `shape` defaults
    to the batch shape of logits (its shape without `axis`) and must end with it.

    >>> import numpy as np
    >>> from fnad import random
    >>> key = random.PRNGKey(0)
    >>> random.categorical(key, np.log(np.array([0.2, 0.8])), shape=(5,))
    Array([1, 0, 1, 1, 1], dtype=int64)
    """
    logits = fnp.moveaxis(fnp.asarray(logits), axis, -1)
    batch = fnp.shape(logits)[:-1]
    shape = batch if shape is None else _shape(shape)
    if shape[len(shape) - len(batch) :] != batch:
        raise ValueError(f"random.categorical: shape {shape} must end with the logits' batch shape {batch}")
    dtype = logits.dtype if np.dtype(logits.dtype) in _MANTISSA else np.dtype(np.float64)
    noise = gumbel(key, shape + fnp.shape(logits)[-1:], dtype)
    return fnp.argmax(noise + logits, axis=-1)


def _random_order(key, shape, axis):
    """A uniformly random permutation along `axis`: the stable argsort of 64-bit random keys (ties,
    probability < n^2 / 2^65, keep index order)."""
    return fnp.argsort(random_bits(key, 64, shape), axis=axis)


def permutation(key, x, axis=0, independent=False):
    """A random permutation of arange(x) (x an int), or x shuffled along `axis` (every 1-d slice
    with its own order when `independent`).

    >>> import numpy as np
    >>> from fnad import random
    >>> key = random.PRNGKey(0)
    >>> random.permutation(key, 5)
    Array([1, 0, 4, 3, 2], dtype=int64)
    >>> random.permutation(key, np.array([10, 20, 30]))
    Array([20, 10, 30], dtype=int64)
    """
    if isinstance(x, (int, np.integer)):
        return _random_order(key, (int(x),), 0)
    x = fnp.asarray(x)
    if fnp.ndim(x) == 0:
        raise TypeError("random.permutation: x must be an int or an array with at least one axis")
    axis = axis % fnp.ndim(x)
    if independent:
        return fnp.take_along_axis(x, _random_order(key, fnp.shape(x), axis), axis)
    return fnp.take(x, _random_order(key, (fnp.shape(x)[axis],), 0), axis=axis)


def choice(key, a, shape=(), replace=True, p=None, axis=0):
    """Samples from arange(a) (a an int) or from a's entries along `axis`, with or without
    replacement, uniformly or with probabilities p (Gumbel top-k without replacement).

    >>> import numpy as np
    >>> from fnad import random
    >>> key = random.PRNGKey(0)
    >>> random.choice(key, 5, (3,), replace=False)
    Array([1, 0, 4], dtype=int64)
    >>> random.choice(key, np.array([1.0, 2.0, 3.0]), (4,), p=np.array([0.25, 0.25, 0.5]))
    Array([3., 3., 1., 2.], dtype=float64)
    """
    shape = _shape(shape)
    a_is_int = isinstance(a, (int, np.integer))
    n = int(a) if a_is_int else fnp.shape(a)[axis]
    k = int(np.prod(shape, dtype=np.int64))
    if not replace and k > n:
        raise ValueError(f"random.choice: cannot take {k} samples from {n} entries without replacement")
    if p is None:
        idx = randint(key, shape, 0, n) if replace else fnp.reshape(_random_order(key, (n,), 0)[:k], shape)
    else:
        logp = fnp.log(fnp.asarray(p, np.float64))
        if replace:
            idx = categorical(key, logp, shape=shape)
        else:
            idx = fnp.reshape(fnp.argsort(-(gumbel(key, (n,)) + logp))[:k], shape)
    if a_is_int:
        return idx
    return fnp.take(fnp.asarray(a), idx, axis=axis)
