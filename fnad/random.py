"""fnad.random: counter-based, functional pseudo-random numbers, bit-identical to `jax.random`.

Nothing is stateful: the same key always gives the same numbers, eagerly, under vmap and under jit,
because everything is computed with fnad's uint32 primitives from the Threefry-2x32 block cipher
(Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011; 20 rounds, checked against
the Random123 known-answer vectors).

The streams are those of JAX's default implementation (threefry2x32 with
`jax_threefry_partitionable`, the default since JAX 0.5) in 64-bit mode (`jax_enable_x64`, whose
default dtypes fnad shares: float64, int64):
- a key holds two uint32 words; `PRNGKey(seed)` stores a 64-bit seed as [seed >> 32, low 32 bits]
  (a seed of 32 bits or fewer as [0, seed]).
- the element with row-major index i of any request is threefry(key, (i >> 32, i & 0xFFFFFFFF)) =
  (y0, y1): `split` makes keys (y0, y1), 64-bit bits are (y0 << 32) | y1, 32-bit bits y0 ^ y1 and
  8/16-bit bits the low bits of y0 ^ y1. `fold_in(key, d)` is threefry(key, (0, d)).
- floats on [0, 1) take the top mantissa bits of random bits (exact); every sampler draws from
  them with JAX's algorithm, so samplers built from exact operations (uniform, randint,
  permutation, choice, bernoulli, poisson, binomial, ...) give JAX's values bit for bit.
- samplers through transcendental functions follow XLA's arithmetic where it differs from a
  correctly rounded one: XLA fuses multiply-adds (`u * (maxval - minval) + minval`, Horner steps),
  and evaluates log1p and erf_inv with its own polynomials; fnad does the same here (see
  `_fused_multiply_add`, `_log1p`, `_erf_inv`). So float64 normal, truncated_normal, exponential,
  laplace, logistic, gumbel, cauchy, rayleigh, wald, t and gamma (a >= 1) give JAX's bits when
  run eagerly; float32 ones and those through exp or pow (lognormal, pareto, beta, dirichlet,
  chisquare, f, gamma with a < 1, ...) agree to the last ulp or two. Under jit, fnad's compiled
  log, exp and tan may round differently from NumPy's in the last bit.

Keys come in two forms, as in JAX: raw keys (uint32[..., 2] arrays, from `PRNGKey`) and typed keys
(`PRNGKeyArray`, from `key` / `wrap_key_data`), whose shape excludes the two key words. A typed key
is a pytree node over its uint32 data, so it passes through jit, vmap and the control-flow
primitives like any array; the samplers accept both forms.
"""

from __future__ import annotations

import math

import numpy as np

from . import lax
from . import numpy as fnp
from .core import get_aval
from .primitives import elementwise as ew
from .primitives import shape as sh
from .primitives.reductions import reduce_sum
from .tree_util import register_pytree_node

__all__ = [
    "PRNGKey",
    "PRNGKeyArray",
    "ball",
    "bernoulli",
    "beta",
    "binomial",
    "bits",
    "categorical",
    "cauchy",
    "chisquare",
    "choice",
    "clone",
    "dirichlet",
    "double_sided_maxwell",
    "exponential",
    "f",
    "fold_in",
    "gamma",
    "generalized_normal",
    "geometric",
    "gumbel",
    "key",
    "key_data",
    "key_impl",
    "laplace",
    "loggamma",
    "logistic",
    "lognormal",
    "maxwell",
    "multinomial",
    "multivariate_normal",
    "normal",
    "orthogonal",
    "pareto",
    "permutation",
    "poisson",
    "rademacher",
    "randint",
    "random_bits",
    "rayleigh",
    "split",
    "t",
    "threefry_2x32",
    "triangular",
    "truncated_normal",
    "uniform",
    "wald",
    "weibull_min",
    "wrap_key_data",
]

_U32 = np.uint32
_ROTATIONS = (13, 15, 26, 6, 17, 29, 16, 24)
_PARITY = _U32(0x1BD11BDA)
_IMPL = "threefry2x32"
_UINT = {8: np.uint8, 16: np.uint16, 32: np.uint32, 64: np.uint64}


# ----------------------------------------------------------------------------------------------
# Threefry-2x32


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


def _counters(shape):
    """The high and low uint32 words of the row-major index of each element of `shape`."""
    n = math.prod(shape)
    if n > 2**32:
        raise NotImplementedError(f"fnad.random: at most 2**32 values per request, got shape {shape}")
    low = sh.reshape(sh.iota(np.uint32, n), shape)
    return fnp.zeros(shape, np.uint32), low


def _stack_last(a, b):
    """Stack two equal-shape arrays along a new last axis of size 2."""
    shape = get_aval(a).shape + (2,)
    dims = tuple(range(len(shape) - 1))
    first = ew.eq(sh.iota(np.int32, shape, len(shape) - 1), np.int32(0))
    return ew.select(first, sh.broadcast_in_dim(a, shape, dims), sh.broadcast_in_dim(b, shape, dims))


def _key_words(data):
    """The two uint32 words of one key (by masked sums, which batch like any reduction)."""
    first = np.array([True, False])
    zero = np.zeros(2, np.uint32)
    return reduce_sum(ew.select(first, data, zero), (0,)), reduce_sum(ew.select(~first, data, zero), (0,))


def threefry_2x32(key, x0, x1):
    """The Threefry-2x32 (20 rounds) block function: encrypt the counter words (x0, x1) (uint32
    arrays of equal shape) under `key`. Returns the two uint32 output words.

    >>> import numpy as np
    >>> from fnad import random
    >>> key = random.PRNGKey(0)
    >>> random.threefry_2x32(key, np.array([0], np.uint32), np.array([1], np.uint32))
    (Array([928981903], dtype=uint32), Array([3453687069], dtype=uint32))
    """
    k0, k1 = _key_words(_single_key("threefry_2x32", key)[0])
    return _threefry(k0, k1, fnp.asarray(x0, np.uint32), fnp.asarray(x1, np.uint32))


# ----------------------------------------------------------------------------------------------
# Keys


class KeyDType:
    """The dtype of typed keys (`key<fry>`, JAX's name for threefry2x32 keys)."""

    name = "key<fry>"
    impl = _IMPL

    def __repr__(self):
        return self.name

    __str__ = __repr__

    def __eq__(self, other):
        return isinstance(other, KeyDType) or other == self.name

    def __hash__(self):
        return hash(self.name)


_KEY_DTYPE = KeyDType()


class PRNGKeyArray:
    """Typed PRNG keys (`random.key`): an array of keys whose shape excludes the two uint32 key
    words. It is a pytree node over its uint32 data (`key_data`), so jit, vmap, scan and while_loop
    carry it; index and iterate it like an array of keys.

    >>> from fnad import random
    >>> keys = random.split(random.key(0), 3)
    >>> keys.shape, keys.dtype
    ((3,), key<fry>)
    >>> random.key_data(keys[1])
    Array([ 928981903, 3453687069], dtype=uint32)
    """

    __slots__ = ("_data",)

    def __init__(self, data):
        self._data = data

    @property
    def shape(self):
        return get_aval(self._data).shape[:-1]

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return math.prod(self.shape)

    @property
    def dtype(self):
        return _KEY_DTYPE

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a scalar key array")
        return self.shape[0]

    def __getitem__(self, index):
        if not isinstance(index, tuple):
            index = (index,)
        return PRNGKeyArray(self._data[(*index, slice(None))])

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __eq__(self, other):
        if not isinstance(other, PRNGKeyArray):
            return NotImplemented
        return fnp.all(self._data == other._data, axis=-1)

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else ~eq

    __hash__ = None

    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape
        return PRNGKeyArray(fnp.reshape(self._data, (*shape, 2)))

    def __repr__(self):
        return f"Array({self.shape}, dtype={self.dtype}) overlaying:\n{self._data}"


register_pytree_node(PRNGKeyArray, lambda k: ((k._data,), None), lambda _, children: PRNGKeyArray(children[0]))


def _key_array(name, key):
    """(uint32[..., 2] data, whether `key` is typed) for raw or typed keys; anything else raises."""
    if isinstance(key, PRNGKeyArray):
        return key._data, True
    data = fnp.asarray(key)
    aval = get_aval(data)
    if aval.dtype != np.uint32 or aval.shape[-1:] != (2,):
        raise TypeError(
            f"random.{name}: expected a PRNG key (from random.key, PRNGKey, split or fold_in): a typed key "
            f"or a uint32 array whose last axis holds the two key words, got {aval.str_short()}"
        )
    return data, False


def _single_key(name, key):
    data, typed = _key_array(name, key)
    shape = get_aval(data).shape
    if shape != (2,):
        shown = shape[:-1] if typed else shape
        raise ValueError(
            f"random.{name} accepts a single key, but was given a key array of shape {shown} != (). "
            f"Use fnad.vmap for batching."
        )
    return data, typed


def _wrap(data, typed):
    return PRNGKeyArray(data) if typed else data


def _seed_words(name, seed):
    if isinstance(seed, PRNGKeyArray):
        raise TypeError(f"random.{name} accepts a scalar seed, but was given a PRNG key.")
    seed = fnp.asarray(seed)
    if not np.issubdtype(seed.dtype, np.integer) or fnp.ndim(seed) != 0:
        raise TypeError(
            f"random.{name} accepts a scalar integer seed, got {get_aval(seed).str_short()}. Use fnad.vmap for batching."
        )
    if seed.dtype.itemsize <= 4:  # the high word of a 32-bit seed is zero
        return _stack_last(fnp.zeros((), np.uint32), ew.convert_element_type(seed, np.uint32))
    # masking first: the words are the seed's bits, so a wide Python int is not an overflow
    hi = ew.convert_element_type(ew.shift_right_logical(seed, np.array(32, seed.dtype)), np.uint32)
    lo = ew.bitwise_and(seed, np.array(0xFFFFFFFF, seed.dtype))
    return _stack_last(hi, ew.convert_element_type(lo, np.uint32))


def PRNGKey(seed):
    """A raw key (a uint32[2] array) from an integer seed (up to 64 bits; may be traced).

    Randomness is functional: the same key always gives the same numbers, eagerly and under
    jit/vmap. Never reuse a key for two draws that should be independent; derive new keys with
    `split` or `fold_in`.

    >>> from fnad import random
    >>> random.PRNGKey(42)
    Array([ 0, 42], dtype=uint32)
    """
    return _seed_words("PRNGKey", seed)


def key(seed, *, impl=None):
    """A typed key (a `PRNGKeyArray` of shape ()) from an integer seed: the same bits as
    `PRNGKey(seed)`, with a key dtype.

    >>> from fnad import random
    >>> k = random.key(42)
    >>> k.shape, random.key_data(k)
    ((), Array([ 0, 42], dtype=uint32))
    """
    _check_impl(impl)
    return PRNGKeyArray(_seed_words("key", seed))


def _check_impl(impl):
    if impl is not None and str(impl) not in (_IMPL, _KEY_DTYPE.name):
        raise ValueError(f"fnad.random implements only the {_IMPL!r} PRNG, got impl={impl!r}")


def key_data(keys):
    """The uint32 data of keys (typed keys' words; a raw key array is returned as it is).

    >>> from fnad import random
    >>> random.key_data(random.key(7))
    Array([0, 7], dtype=uint32)
    """
    return _key_array("key_data", keys)[0]


def wrap_key_data(key_bits_array, *, impl=None):
    """Typed keys from uint32 data whose last axis holds the two key words (the inverse of
    `key_data`).

    >>> import numpy as np
    >>> from fnad import random
    >>> random.wrap_key_data(np.array([[0, 1], [0, 2]], np.uint32)).shape
    (2,)
    """
    _check_impl(impl)
    return PRNGKeyArray(_key_array("wrap_key_data", key_bits_array)[0])


def key_impl(keys):
    """The name of the PRNG implementation of `keys` ('threefry2x32', the only one).

    >>> from fnad import random
    >>> random.key_impl(random.key(0))
    'threefry2x32'
    """
    _key_array("key_impl", keys)
    return _IMPL


def clone(key):
    """`key` itself (JAX's clone marks a key as reusable for its key-reuse checker, which fnad
    does not have).

    >>> from fnad import random
    >>> random.key_data(random.clone(random.key(3)))
    Array([0, 3], dtype=uint32)
    """
    _key_array("clone", key)
    return key


def split(key, num=2):
    """New keys, independent of each other and of `key`: a leading axis of `num` (an int or a
    shape tuple) keys.

    >>> from fnad import random
    >>> key, subkey = random.split(random.PRNGKey(0))
    >>> subkey
    Array([ 928981903, 3453687069], dtype=uint32)
    """
    data, typed = _single_key("split", key)
    shape = tuple(int(d) for d in num) if isinstance(num, (tuple, list)) else (int(num),)
    return _wrap(_split_data(data, shape), typed)


def _split_data(data, shape):
    k0, k1 = _key_words(data)
    return _stack_last(*_threefry(k0, k1, *_counters(shape)))


def _split(data, num=2):
    """Raw keys split from raw key data (what the samplers use internally)."""
    return _split_data(data, (num,))


def fold_in(key, data):
    """A new key from `key` and a 32-bit integer `data` (e.g. a step number; may be traced).

    >>> from fnad import random
    >>> random.fold_in(random.PRNGKey(0), 1)
    Array([ 928981903, 3453687069], dtype=uint32)
    """
    key_data_, typed = _single_key("fold_in", key)
    if fnp.ndim(data):
        raise TypeError(
            f"random.fold_in accepts a scalar, but was given an array of shape {fnp.shape(data)} != (). "
            f"Use fnad.vmap for batching."
        )
    data = fnp.asarray(data)
    if not np.issubdtype(data.dtype, np.integer):
        raise TypeError(f"random.fold_in: data must be an integer, got {get_aval(data).str_short()}")
    k0, k1 = _key_words(key_data_)
    words = _threefry(k0, k1, fnp.zeros((), np.uint32), ew.convert_element_type(data, np.uint32))
    return _wrap(_stack_last(*words), typed)


def _shape(shape):
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)


def _bits(data, bit_width, shape):
    k0, k1 = _key_words(data)
    y0, y1 = _threefry(k0, k1, *_counters(shape))
    if bit_width == 64:
        hi = ew.shift_left(ew.convert_element_type(y0, np.uint64), np.uint64(32))
        return ew.bitwise_or(hi, ew.convert_element_type(y1, np.uint64))
    mixed = ew.bitwise_xor(y0, y1)
    return mixed if bit_width == 32 else ew.convert_element_type(mixed, _UINT[bit_width])


def random_bits(key, bit_width, shape):
    """Uniformly random unsigned integers of `bit_width` (8, 16, 32 or 64) bits, of the given shape.

    >>> from fnad import random
    >>> random.random_bits(random.PRNGKey(0), 32, (3,))
    Array([4070199207, 4202968722, 1427181096], dtype=uint32)
    """
    if bit_width not in _UINT:
        raise ValueError(f"random.random_bits: bit_width must be 8, 16, 32 or 64, got {bit_width}")
    return _bits(_single_key("random_bits", key)[0], bit_width, _shape(shape))


def bits(key, shape=(), dtype=None):
    """Uniformly random unsigned integers of `dtype` (default uint64).

    >>> import numpy as np
    >>> from fnad import random
    >>> random.bits(random.PRNGKey(0), (2,), np.uint8)
    Array([167, 146], dtype=uint8)
    """
    dtype = np.dtype(np.uint64 if dtype is None else dtype)
    if not np.issubdtype(dtype, np.unsignedinteger):
        raise ValueError(f"random.bits: dtype must be an unsigned integer dtype, got {dtype.name}")
    return _bits(_single_key("bits", key)[0], dtype.itemsize * 8, _shape(shape))


# ----------------------------------------------------------------------------------------------
# Helpers shared by the samplers


def _float_dtype(dtype, name, default=np.float64):
    dtype = np.dtype(default if dtype is None else dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"random.{name}: dtype must be a float dtype (float32 or float64), got {dtype.name}")
    return dtype


def _int_dtype(dtype, name):
    dtype = np.dtype(np.int64 if dtype is None else dtype)
    if not np.issubdtype(dtype, np.integer):
        raise ValueError(f"random.{name}: dtype must be an integer dtype, got {dtype.name}")
    return dtype


def _check_shape(name, shape, *param_shapes):
    if param_shapes:
        full = np.broadcast_shapes(shape, *param_shapes)
        if full != shape:
            raise ValueError(
                f"random.{name}: parameter shapes {list(param_shapes)} must broadcast to the shape argument "
                f"{shape}, but broadcasting gives {full}"
            )


def _param_shape(name, shape, *params):
    """`shape` (checked against the parameters' shapes), or their broadcast shape when None."""
    param_shapes = [fnp.shape(p) for p in params]
    if shape is None:
        return np.broadcast_shapes(*param_shapes) if param_shapes else ()
    shape = _shape(shape)
    _check_shape(name, shape, *param_shapes)
    return shape


def _const(dtype, value):
    return np.array(value, dtype)


def _unit_uniform(data, shape, dtype):
    """Uniform on [0, 1): the top mantissa bits of random bits times 2^-mantissa (exact, the value
    JAX makes by setting them under the exponent of 1.0 and subtracting 1)."""
    finfo = np.finfo(dtype)
    nbits = finfo.bits
    bits_ = _bits(data, nbits, shape)
    mantissa = ew.shift_right_logical(bits_, np.array(nbits - finfo.nmant, bits_.dtype))
    return ew.mul(ew.convert_element_type(mantissa, dtype), _const(dtype, 2.0**-finfo.nmant))


def _split_double(x):
    """Dekker's split of float64 x into hi + lo, each with at most 26 significant bits."""
    t = x * 134217729.0  # 2^27 + 1
    hi = t - (t - x)
    return hi, x - hi


def _fused_multiply_add(a, b, c):
    """a * b + c rounded once, as XLA computes it (it contracts the multiply and the add into an
    FMA). float32 goes through float64, where the product is exact; float64 uses error-free
    transformations (Dekker's product, Knuth's sum), which round as an FMA does except in
    double-rounding ties that almost never occur."""
    if a.dtype == np.float32:
        wide = a.astype(np.float64) * b.astype(np.float64) + fnp.asarray(c).astype(np.float64)
        return wide.astype(np.float32)
    product = a * b
    (ah, al), (bh, bl) = _split_double(a), _split_double(b)
    product_error = ((ah * bh - product) + ah * bl + al * bh) + al * bl
    total = product + c
    c_part = total - product
    sum_error = (product - (total - c_part)) + (c - c_part)
    correction = sum_error + product_error
    return fnp.where(correction == 0, total, total + correction)  # keeps the sign of an exact zero


def _is_constant(x, value):
    return isinstance(x, (int, float)) and x == value


def _uniform(data, shape, dtype, minval=0.0, maxval=1.0):
    floats = _unit_uniform(data, shape, dtype)
    if _is_constant(minval, 0.0) and _is_constant(maxval, 1.0):
        return floats  # floats * 1 + 0, exactly
    minval, maxval = fnp.asarray(minval).astype(dtype), fnp.asarray(maxval).astype(dtype)
    _check_shape("uniform", shape, fnp.shape(minval), fnp.shape(maxval))
    return fnp.maximum(minval, _fused_multiply_add(floats, maxval - minval, minval))


# XLA computes erf_inv with Giles' polynomials in w = -log(1 - x^2) ("Approximating the erfinv
# function", GPU Computing Gems, 2011): per range of w, the argument of the polynomial (w or sqrt(w),
# shifted) and its coefficients, leading first, evaluated in Horner form with fused multiply-adds.
# fnad's own erf_inv (lax.erf_inv) is more accurate; evaluating XLA's polynomials here gives JAX's
# normals bit for bit, except where XLA's log1p and fnad's differ in the last bit (about 1% of the
# float32 samples).
_ERF_INV_RANGES = {
    np.dtype(np.float32): (
        (
            5.0,
            False,
            2.5,
            (
                2.81022636e-08,
                3.43273939e-07,
                -3.5233877e-06,
                -4.39150654e-06,
                0.00021858087,
                -0.00125372503,
                -0.00417768164,
                0.246640727,
                1.50140941,
            ),
        ),
        (
            np.inf,
            True,
            3.0,
            (
                -0.000200214257,
                0.000100950558,
                0.00134934322,
                -0.00367342844,
                0.00573950773,
                -0.0076224613,
                0.00943887047,
                1.00167406,
                2.83297682,
            ),
        ),
    ),
    np.dtype(np.float64): (
        (
            6.25,
            False,
            3.125,
            (
                -3.6444120640178196996e-21,
                -1.685059138182016589e-19,
                1.2858480715256400167e-18,
                1.115787767802518096e-17,
                -1.333171662854620906e-16,
                2.0972767875968561637e-17,
                6.6376381343583238325e-15,
                -4.0545662729752068639e-14,
                -8.1519341976054721522e-14,
                2.6335093153082322977e-12,
                -1.2975133253453532498e-11,
                -5.4154120542946279317e-11,
                1.051212273321532285e-09,
                -4.1126339803469836976e-09,
                -2.9070369957882005086e-08,
                4.2347877827932403518e-07,
                -1.3654692000834678645e-06,
                -1.3882523362786468719e-05,
                0.0001867342080340571352,
                -0.00074070253416626697512,
                -0.0060336708714301490533,
                0.24015818242558961693,
                1.6536545626831027356,
            ),
        ),
        (
            16.0,
            True,
            3.25,
            (
                2.2137376921775787049e-09,
                9.0756561938885390979e-08,
                -2.7517406297064545428e-07,
                1.8239629214389227755e-08,
                1.5027403968909827627e-06,
                -4.013867526981545969e-06,
                2.9234449089955446044e-06,
                1.2475304481671778723e-05,
                -4.7318229009055733981e-05,
                6.8284851459573175448e-05,
                2.4031110387097893999e-05,
                -0.0003550375203628474796,
                0.00095328937973738049703,
                -0.0016882755560235047313,
                0.0024914420961078508066,
                -0.0037512085075692412107,
                0.005370914553590063617,
                1.0052589676941592334,
                3.0838856104922207635,
            ),
        ),
        (
            np.inf,
            True,
            5.0,
            (
                -2.7109920616438573243e-11,
                -2.5556418169965252055e-10,
                1.5076572693500548083e-09,
                -3.7894654401267369937e-09,
                7.6157012080783393804e-09,
                -1.4960026627149240478e-08,
                2.9147953450901080826e-08,
                -6.7711997758452339498e-08,
                2.2900482228026654717e-07,
                -9.9298272942317002539e-07,
                4.5260625972231537039e-06,
                -1.9681778105531670567e-05,
                7.5995277030017761139e-05,
                -0.00021503011930044477347,
                -0.00013871931833623122026,
                1.0103004648645343977,
                4.8499064014085844221,
            ),
        ),
    ),
}


# XLA's log1p (CPU): log(1 + x) for |x| >= sqrt(2) - 1, else x - x^2/2 + x^3 P(x)/Q(x) with
# Cephes' rational approximation (coefficients leading first), all multiply-adds fused. Samplers
# use it where JAX calls log1p, so their floats are JAX's bits rather than a correctly rounded
# log1p's.
_LOG1P_NUMERATOR = (
    4.5270000862445199635215e-5,
    4.9854102823193375972212e-1,
    6.5787325942061044846969e0,
    2.9911919328553073277375e1,
    6.0949667980987787057556e1,
    5.7112963590585538103336e1,
    2.0039553499201281259648e1,
)
_LOG1P_DENOMINATOR = (
    1.0,
    1.5062909083469192043167e1,
    8.3047565967967209469434e1,
    2.2176239823732856465394e2,
    3.0909872225312059774938e2,
    2.1642788614495947685003e2,
    6.0118660497603843919306e1,
)


def _horner(coefficients, x):
    p = fnp.full(fnp.shape(x), coefficients[0], x.dtype)
    for c in coefficients[1:]:
        p = _fused_multiply_add(p, x, np.array(c, x.dtype))
    return p


def _log1p(x):
    dtype = x.dtype
    x_squared = x * x
    ratio = _horner(_LOG1P_NUMERATOR, x) / _horner(_LOG1P_DENOMINATOR, x)
    small = x + _fused_multiply_add(fnp.full(fnp.shape(x), -0.5, dtype), x_squared, (x * x_squared) * ratio)
    return fnp.where(fnp.abs(x) < np.array(np.sqrt(2) - 1, dtype), small, fnp.log(x + np.array(1, dtype)))


def _erf_inv(x):
    """erf_inv as XLA evaluates it (see _ERF_INV_RANGES): one Horner chain in which each element
    takes the coefficients of its range of w and keeps its value once its polynomial has ended."""
    dtype = x.dtype
    ranges = _ERF_INV_RANGES[dtype]
    w = -_log1p(-(x * x))
    in_range = [w < np.array(limit, dtype) for limit, *_ in ranges[:-1]]

    def per_range(values):  # the value for each element's range (the first range containing w)
        out = values[-1]
        for mask, value in zip(reversed(in_range), reversed(values[:-1])):
            out = fnp.where(mask, value, out)
        return out

    sqrt_w = fnp.sqrt(w)
    arg = per_range([(sqrt_w if use_sqrt else w) - np.array(shift, dtype) for _, use_sqrt, shift, _ in ranges])
    p = per_range([np.array(coefficients[0], dtype) for *_, coefficients in ranges])
    for i in range(1, max(len(c) for *_, c in ranges)):
        coefficient = per_range([np.array(c[i] if i < len(c) else 0, dtype) for *_, c in ranges])
        step = _fused_multiply_add(p, arg, coefficient)
        ongoing = [i < len(c) for *_, c in ranges]
        p = step if all(ongoing) else fnp.where(per_range([np.array(b) for b in ongoing]), step, p)
    # erf_inv(+-1) = +-inf; XLA returns +-max there (normal's sqrt(2) factor makes it inf)
    return fnp.where(fnp.abs(x) == 1, x * np.array(np.finfo(dtype).max, dtype), p * x)


def _normal(data, shape, dtype):
    lo = np.nextafter(np.array(-1.0, dtype), np.array(0.0, dtype))
    u = _uniform(data, shape, dtype, lo, 1.0)
    return _const(dtype, np.sqrt(2)) * _erf_inv(u)


def _exponential(data, shape, dtype):
    return -_log1p(-_uniform(data, shape, dtype))


def _bernoulli(data, p, shape):
    return _uniform(data, shape, p.dtype) < p


# ----------------------------------------------------------------------------------------------
# Samplers


def uniform(key, shape=(), dtype=None, minval=0.0, maxval=1.0):
    """Floats uniform on [minval, maxval) (minval/maxval broadcast against `shape`).

    >>> import numpy as np
    >>> from fnad import random
    >>> np.round(random.uniform(random.PRNGKey(0), (3,)), 6)
    array([0.418457, 0.216295, 0.965321])
    """
    dtype = _float_dtype(dtype, "uniform")
    return _uniform(_single_key("uniform", key)[0], _shape(shape), dtype, minval, maxval)


def normal(key, shape=(), dtype=None):
    """Standard normal samples: sqrt(2) * erf_inv(u) for u uniform on (-1, 1).

    >>> import numpy as np, fnad
    >>> from fnad import random
    >>> key = random.PRNGKey(0)
    >>> np.round(random.normal(key, (3,)), 6)
    array([-0.205842, -0.784766,  1.816087])
    >>> np.round(fnad.jit(lambda k: random.normal(k, (3,)))(key), 6)
    array([-0.205842, -0.784766,  1.816087])
    """
    dtype = _float_dtype(dtype, "normal")
    return _normal(_single_key("normal", key)[0], _shape(shape), dtype)


def truncated_normal(key, lower, upper, shape=None, dtype=None):
    """Standard normal samples conditioned on lower < x < upper (bounds broadcast; `shape` defaults
    to their broadcast shape).

    >>> import numpy as np
    >>> from fnad import random
    >>> np.round(random.truncated_normal(random.PRNGKey(0), -1.0, 1.0, (3,)), 6)
    array([-0.139996, -0.506315,  0.906522])
    """
    data = _single_key("truncated_normal", key)[0]
    dtype = _float_dtype(dtype, "truncated_normal")
    shape = _param_shape("truncated_normal", shape, lower, upper)
    lower, upper = fnp.asarray(lower).astype(dtype), fnp.asarray(upper).astype(dtype)
    root2 = _const(dtype, np.sqrt(2))
    a, b = lax.erf(lower / root2), lax.erf(upper / root2)
    out = root2 * _erf_inv(_uniform(data, shape, dtype, a, b))
    # Rounding (or u == a) may land on a bound: clamp into the open interval.
    return fnp.clip(
        out,
        lax.nextafter(lax.stop_gradient(lower), _const(dtype, np.inf)),
        lax.nextafter(lax.stop_gradient(upper), _const(dtype, -np.inf)),
    )


def bernoulli(key, p=0.5, shape=None, mode="low"):
    """Booleans that are True with probability p (shape defaults to p's shape). mode='high' draws
    two uniforms per sample to resolve probabilities below 2^-mantissa.

    >>> from fnad import random
    >>> random.bernoulli(random.PRNGKey(0), 0.5, (4,))
    Array([ True,  True, False, False], dtype=bool)
    """
    if mode not in ("low", "high"):
        raise ValueError(f"random.bernoulli: got mode={mode!r}, expected 'high' or 'low'")
    data = _single_key("bernoulli", key)[0]
    p = fnp.asarray(p)
    if not np.issubdtype(p.dtype, np.floating):
        raise TypeError(f"random.bernoulli: the probability p must have a floating dtype, got {p.dtype}")
    shape = _param_shape("bernoulli", shape, p)
    if mode == "low":
        return _bernoulli(data, p, shape)
    u = _uniform(data, (2, *shape), p.dtype)
    u1, u2 = u[0], u[1] * _const(p.dtype, 2.0 ** -np.finfo(p.dtype).nmant)
    return u2 < p - u1


def _clip_to(val, dtype):
    """`val` (an integer array) clipped to the range of `dtype` and converted to it."""
    info, own = np.iinfo(dtype), np.iinfo(val.dtype)
    return fnp.clip(val, max(info.min, own.min), min(info.max, own.max)).astype(dtype)


def randint(key, shape, minval, maxval, dtype=None):
    """Integers uniform on [minval, maxval) (minval/maxval broadcast against `shape`; an empty range
    gives minval). Draws twice the dtype's bits per value, so the modulo bias is tiny.

    >>> from fnad import random
    >>> random.randint(random.PRNGKey(0), (4,), 0, 10)
    Array([5, 1, 5, 7], dtype=int64)
    """
    data = _single_key("randint", key)[0]
    dtype = _int_dtype(dtype, "randint")
    shape = _shape(shape)
    if np.iinfo(dtype).bits < 32:  # sample in 32 bits, as JAX does, to keep the bias small
        info = np.iinfo(dtype)
        lo = fnp.clip(fnp.asarray(minval).astype(np.int32), int(info.min), int(info.max))
        hi = fnp.clip(fnp.asarray(maxval).astype(np.int32), int(info.min), int(info.max) + 1)
        return _randint(data, shape, lo, hi, np.dtype(np.int32)).astype(dtype)
    return _randint(data, shape, minval, maxval, dtype)


def _randint(data, shape, minval, maxval, dtype):
    minval, maxval = fnp.asarray(minval), fnp.asarray(maxval)
    _check_shape("randint", shape, fnp.shape(minval), fnp.shape(maxval))
    if not np.issubdtype(minval.dtype, np.integer):
        minval = minval.astype(np.int64)
    if not np.issubdtype(maxval.dtype, np.integer):
        maxval = maxval.astype(np.int64)
    # maxval beyond the dtype (e.g. 256 for uint8) means "up to and including its maximum"
    beyond = maxval > _clip_to(fnp.asarray(np.iinfo(dtype).max, dtype), maxval.dtype)
    minval, maxval = _clip_to(minval, dtype), _clip_to(maxval, dtype)
    nbits = np.iinfo(dtype).bits
    unsigned = _UINT[nbits]
    keys = _split(data)
    higher, lower = _bits(keys[0], nbits, shape), _bits(keys[1], nbits, shape)
    span = fnp.broadcast_to((maxval - minval).astype(unsigned), shape)
    span = fnp.where(maxval <= minval, _const(unsigned, 1), span)
    span = fnp.where(beyond & (maxval > minval), span + _const(unsigned, 1), span)
    # (higher * 2^nbits + lower) mod span, with 2^nbits mod span computed without overflow
    multiplier = lax.rem(fnp.full(shape, 2 ** (nbits // 2), unsigned), span)
    multiplier = lax.rem(multiplier * multiplier, span)
    offset = lax.rem(lax.rem(higher, span) * multiplier + lax.rem(lower, span), span)
    return minval + offset.astype(dtype)


def _shuffle(data, x, axis):
    """x shuffled along `axis` by sorting on fresh 32-bit random keys, repeated (with new keys)
    often enough that ties between keys are unlikely to survive every round; the sort is stable."""
    rounds = math.ceil(3 * math.log(max(1, math.prod(fnp.shape(x)))) / math.log(2**32 - 1))
    for _ in range(rounds):
        keys = _split(data)
        data, subkey = keys[0], keys[1]
        sort_keys = _bits(subkey, 32, fnp.shape(x))
        x = lax.sort((sort_keys, x), dimension=axis, num_keys=1)[1]
    return x


def permutation(key, x, axis=0, independent=False):
    """A random permutation of arange(x) (x an int), or x shuffled along `axis` (every 1-d slice
    with its own order when `independent`).

    >>> import numpy as np
    >>> from fnad import random
    >>> key = random.PRNGKey(0)
    >>> random.permutation(key, 5)
    Array([0, 1, 4, 3, 2], dtype=int64)
    >>> random.permutation(key, np.array([10, 20, 30]))
    Array([10, 20, 30], dtype=int64)
    """
    data = _single_key("permutation", key)[0]
    if isinstance(x, (int, np.integer)):
        return _shuffle(data, fnp.arange(int(x)), 0)
    x = fnp.asarray(x)
    if fnp.ndim(x) == 0:
        if not np.issubdtype(x.dtype, np.integer):
            raise TypeError("random.permutation: x must be an integer or at least 1-dimensional")
        return _shuffle(data, fnp.arange(int(x)), 0)
    axis = axis % fnp.ndim(x)
    if independent or fnp.ndim(x) == 1:
        return _shuffle(data, x, axis)
    return fnp.take(x, _shuffle(data, fnp.arange(fnp.shape(x)[axis]), 0), axis=axis)


def _top_k_indices(values, k):
    """Indices of the k largest entries along the last axis, largest first (ties: lower index)."""
    return lax.argsort(-values, dimension=-1)[..., :k]


def choice(key, a, shape=(), replace=True, p=None, axis=0, mode=None):
    """Samples from arange(a) (a an int) or from a's entries along `axis`, with or without
    replacement, uniformly or with probabilities p.

    >>> import numpy as np
    >>> from fnad import random
    >>> key = random.PRNGKey(0)
    >>> random.choice(key, 5, (3,), replace=False)
    Array([0, 1, 4], dtype=int64)
    >>> random.choice(key, np.array([1.0, 2.0, 3.0]), (4,), p=np.array([0.25, 0.25, 0.5]))
    Array([3., 3., 1., 2.], dtype=float64)
    """
    data = _single_key("choice", key)[0]
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"random.choice: the shape argument must be a sequence, got {shape!r}")
    shape = _shape(shape)
    arr = fnp.asarray(a)
    if fnp.ndim(arr) == 0:
        n_inputs = int(a)
    else:
        axis = axis % fnp.ndim(arr)
        n_inputs = fnp.shape(arr)[axis]
    n_draws = math.prod(shape)
    if n_draws == 0:
        return fnp.zeros(shape, arr.dtype)
    if n_inputs <= 0:
        raise ValueError("random.choice: a must be greater than 0 unless no samples are taken")
    if not replace and n_draws > n_inputs:
        raise ValueError(
            f"random.choice: cannot take a larger sample (size {n_draws}) than the population "
            f"(size {n_inputs}) when replace=False"
        )
    if p is None:
        if replace:
            ind = _randint(data, shape, 0, n_inputs, np.dtype(np.int64))
            result = ind if fnp.ndim(arr) == 0 else fnp.take(arr, ind, axis=axis)
        else:
            shuffled = _shuffle(data, fnp.arange(n_inputs), 0) if fnp.ndim(arr) == 0 else permutation(key, arr, axis)
            result = lax.slice_in_dim(shuffled, 0, n_draws, axis=axis if fnp.ndim(arr) else 0)
    else:
        p = fnp.asarray(p)
        if not np.issubdtype(p.dtype, np.floating):
            p = p.astype(np.float64)
        if fnp.shape(p) != (n_inputs,):
            raise ValueError(
                f"random.choice: p must be None or a 1D vector with the same size as a.shape[axis]; p has "
                f"shape {fnp.shape(p)} and a.shape[axis] is {n_inputs}"
            )
        if replace:
            p_cuml = fnp.cumsum(p)
            r = p_cuml[-1] * (1 - _uniform(data, shape, p.dtype))
            ind = fnp.searchsorted(p_cuml, r).astype(np.int64)
        else:
            # Gumbel top-k: the k largest of log p + Gumbel noise are a sample without replacement
            g = _gumbel(data, (n_inputs,), p.dtype, mode) + fnp.log(p)
            ind = _top_k_indices(g, n_draws).astype(np.int64)
        result = ind if fnp.ndim(arr) == 0 else fnp.take(arr, ind, axis=axis)
    a_shape = fnp.shape(arr)
    return fnp.reshape(result, shape if fnp.ndim(arr) == 0 else a_shape[:axis] + shape + a_shape[axis + 1 :])


def _gumbel(data, shape, dtype, mode):
    mode = "low" if mode is None else mode
    if mode == "low":
        return -fnp.log(-fnp.log(_uniform(data, shape, dtype, np.finfo(dtype).tiny, 1.0)))
    if mode == "high":  # two uniforms per sample resolve the far tail
        u = _uniform(data, (2, *shape), dtype)
        high, low = u[0], u[1]
        finfo = np.finfo(dtype)
        x = fnp.where(high >= 0.5, high, high + _const(dtype, 2.0**-finfo.nmant) * low + _const(dtype, finfo.tiny))
        return -fnp.log(-_log1p(-x))
    raise ValueError(f"random.gumbel: mode must be 'low' or 'high', got {mode!r}")


def gumbel(key, shape=(), dtype=None, mode=None):
    """Standard Gumbel samples: -log(-log(u)) for u uniform on (0, 1).

    >>> import numpy as np
    >>> from fnad import random
    >>> np.round(random.gumbel(random.PRNGKey(0), (3,)), 6)
    array([ 0.137906, -0.425993,  3.344039])
    """
    dtype = _float_dtype(dtype, "gumbel")
    return _gumbel(_single_key("gumbel", key)[0], _shape(shape), dtype, mode)


def categorical(key, logits, axis=-1, shape=None, replace=True, mode=None):
    """Indices drawn with probabilities softmax(logits) along `axis` (Gumbel-max). `shape` defaults
    to the batch shape of logits (its shape without `axis`) and must end with it; replace=False
    draws distinct categories.

    >>> import numpy as np
    >>> from fnad import random
    >>> random.categorical(random.PRNGKey(0), np.log(np.array([0.2, 0.8])), shape=(5,))
    Array([1, 0, 1, 1, 1], dtype=int64)
    """
    data = _single_key("categorical", key)[0]
    logits = fnp.asarray(logits)
    ndim = fnp.ndim(logits)
    axis = axis % ndim
    batch_shape = tuple(d for i, d in enumerate(fnp.shape(logits)) if i != axis)
    shape = batch_shape if shape is None else _shape(shape)
    _check_shape("categorical", shape, batch_shape)
    prefix = shape[: len(shape) - len(batch_shape)]
    dtype = logits.dtype if np.issubdtype(logits.dtype, np.floating) else np.dtype(np.float64)
    if replace:
        noise_shape = list(shape[len(prefix) :])
        noise_shape.insert(axis, fnp.shape(logits)[axis])
        noise = _gumbel(data, (*prefix, *noise_shape), dtype, mode)
        return fnp.argmax(noise + fnp.reshape(logits, (1,) * len(prefix) + fnp.shape(logits)), axis=axis - ndim)
    k = math.prod(prefix)
    if k > fnp.shape(logits)[axis]:
        raise ValueError(
            f"random.categorical: the number of samples without replacement ({k}) cannot exceed the number "
            f"of categories ({fnp.shape(logits)[axis]})"
        )
    noisy = logits + _gumbel(data, fnp.shape(logits), dtype, mode)
    indices = _top_k_indices(fnp.moveaxis(noisy, axis, -1), k).astype(np.int32)  # batch_shape + (k,), as top_k
    return fnp.reshape(fnp.moveaxis(indices, -1, 0), shape)


def exponential(key, shape=(), dtype=None):
    """Exponential(1) samples: -log(1 - u).

    >>> import numpy as np
    >>> from fnad import random
    >>> np.round(random.exponential(random.PRNGKey(0), (3,)), 6)
    array([0.542071, 0.243723, 3.361634])
    """
    dtype = _float_dtype(dtype, "exponential")
    return _exponential(_single_key("exponential", key)[0], _shape(shape), dtype)


def laplace(key, shape=(), dtype=None):
    """Laplace(0, 1) samples: sign(u) * log(1 - |u|) for u uniform on (-1, 1).

    >>> import numpy as np
    >>> from fnad import random
    >>> np.round(random.laplace(random.PRNGKey(0), (3,)), 6)
    array([ 0.178034,  0.837963, -2.668487])
    """
    dtype = _float_dtype(dtype, "laplace")
    finfo = np.finfo(dtype)
    u = _uniform(_single_key("laplace", key)[0], _shape(shape), dtype, -1.0 + float(finfo.epsneg), 1.0)
    return fnp.sign(u) * _log1p(-fnp.abs(u))


def logistic(key, shape=(), dtype=None):
    """Standard logistic samples: log(u) - log(1 - u).

    >>> import numpy as np
    >>> from fnad import random
    >>> np.round(random.logistic(random.PRNGKey(0), (3,)), 6)
    array([-0.32911 , -1.287387,  3.32634 ])
    """
    dtype = _float_dtype(dtype, "logistic")
    x = _uniform(_single_key("logistic", key)[0], _shape(shape), dtype, float(np.finfo(dtype).tiny), 1.0)
    return fnp.log(x) - _log1p(-x)


def cauchy(key, shape=(), dtype=None):
    """Standard Cauchy samples: tan(pi * (u - 1/2)).

    >>> import numpy as np
    >>> from fnad import random
    >>> np.round(random.cauchy(random.PRNGKey(0), (3,)), 6)
    array([-0.26193 , -1.237846,  9.142528])
    """
    dtype = _float_dtype(dtype, "cauchy")
    u = _uniform(_single_key("cauchy", key)[0], _shape(shape), dtype, float(np.finfo(dtype).eps), 1.0)
    return fnp.tan(_const(dtype, np.pi) * (u - _const(dtype, 0.5)))


def pareto(key, b, shape=None, dtype=None):
    """Pareto(b) samples on [1, inf): exp(e / b) for e exponential.

    >>> import numpy as np
    >>> from fnad import random
    >>> np.round(random.pareto(random.PRNGKey(0), 3.0, (3,)), 6)
    array([1.198044, 1.084632, 3.066524])
    """
    data = _single_key("pareto", key)[0]
    dtype = _float_dtype(dtype, "pareto")
    shape = _param_shape("pareto", shape, b)
    return fnp.exp(_exponential(data, shape, dtype) / fnp.asarray(b).astype(dtype))


def rademacher(key, shape=(), dtype=None):
    """-1 or +1 with probability 1/2 each.

    >>> from fnad import random
    >>> random.rademacher(random.PRNGKey(0), (4,))
    Array([ 1,  1, -1, -1], dtype=int64)
    """
    dtype = np.dtype(np.int64 if dtype is None else dtype)
    flips = _bernoulli(_single_key("rademacher", key)[0], fnp.asarray(0.5), _shape(shape)).astype(dtype)
    return (2 * flips - 1).astype(dtype)


def maxwell(key, shape=(), dtype=None):
    """Maxwell samples: the norm of a 3-d standard normal vector.

    >>> import numpy as np
    >>> from fnad import random
    >>> np.round(random.maxwell(random.PRNGKey(0), (2,)), 6)
    array([1.98907 , 0.424607])
    """
    dtype = _float_dtype(dtype, "maxwell")
    samples = _normal(_single_key("maxwell", key)[0], (*_shape(shape), 3), dtype)
    return fnp.linalg.norm(samples, axis=-1)


def double_sided_maxwell(key, loc, scale, shape=(), dtype=None):
    """Double-sided Maxwell samples: a random sign times a Maxwell sample, scaled and shifted.
    As in JAX, the result's shape is `shape` followed by the broadcast shape of loc and scale.

    >>> import numpy as np
    >>> from fnad import random
    >>> np.round(random.double_sided_maxwell(random.PRNGKey(0), 0.0, 1.0, (2,)), 6)
    array([ 1.984612, -2.478207])
    """
    data = _single_key("double_sided_maxwell", key)[0]
    dtype = _float_dtype(dtype, "double_sided_maxwell")
    params_shape = np.broadcast_shapes(fnp.shape(loc), fnp.shape(scale))
    shape = _shape(shape) or params_shape
    shape = shape + params_shape
    keys = _split(data)
    magnitude = fnp.linalg.norm(_normal(keys[0], (*shape, 3), dtype), axis=-1)
    sign = rademacher(keys[1], shape, dtype)
    return sign * magnitude * fnp.asarray(scale) + fnp.asarray(loc)


def weibull_min(key, scale, concentration, shape=(), dtype=None):
    """Weibull samples: scale * (-log(1 - u)) ** (1 / concentration).

    >>> import numpy as np
    >>> from fnad import random
    >>> np.round(random.weibull_min(random.PRNGKey(0), 1.0, 2.0, (3,)), 6)
    array([0.736254, 0.493683, 1.833476])
    """
    dtype = _float_dtype(dtype, "weibull_min")
    u = _uniform(_single_key("weibull_min", key)[0], _shape(shape), dtype)
    return fnp.power(-_log1p(-u), 1.0 / fnp.asarray(concentration)) * fnp.asarray(scale)


def rayleigh(key, scale, shape=None, dtype=None):
    """Rayleigh samples: scale * sqrt(-2 log u).

    >>> import numpy as np
    >>> from fnad import random
    >>> np.round(random.rayleigh(random.PRNGKey(0), 1.0, (3,)), 6)
    array([1.319986, 1.74992 , 0.265684])
    """
    data = _single_key("rayleigh", key)[0]
    dtype = _float_dtype(dtype, "rayleigh")
    shape = _param_shape("rayleigh", shape, scale)
    u = _uniform(data, shape, dtype)
    scale = fnp.broadcast_to(fnp.asarray(scale).astype(dtype), shape)
    return scale * fnp.sqrt(fnp.log(u) * _const(dtype, -2))


def wald(key, mean, shape=None, dtype=None):
    """Wald (inverse Gaussian) samples with the given mean and shape parameter 1.

    >>> import numpy as np
    >>> from fnad import random
    >>> np.round(random.wald(random.PRNGKey(0), 1.0, (3,)), 6)
    array([0.187003, 1.610732, 1.510629])
    """
    data = _single_key("wald", key)[0]
    dtype = _float_dtype(dtype, "wald")
    shape = _param_shape("wald", shape, mean)
    keys = _split(data)
    mean = fnp.broadcast_to(fnp.asarray(mean).astype(dtype), shape)
    v = _normal(keys[0], shape, dtype)
    z = _uniform(keys[1], shape, dtype)
    y = v * v
    mean_sq = mean * mean
    root = fnp.sqrt(4 * mean * y + mean_sq * (y * y))
    x = mean + mean_sq * y / 2 - mean / 2 * root
    return fnp.where(z <= mean / (mean + x), x, mean_sq / x)


def geometric(key, p, shape=None, dtype=None):
    """Geometric samples on {1, 2, ...}: the number of Bernoulli(p) trials up to the first success.

    >>> from fnad import random
    >>> random.geometric(random.PRNGKey(0), 0.5, (4,))
    Array([2, 3, 1, 1], dtype=int64)
    """
    data = _single_key("geometric", key)[0]
    dtype = _int_dtype(dtype, "geometric")
    shape = _param_shape("geometric", shape, p)
    p = fnp.asarray(p)
    if not np.issubdtype(p.dtype, np.floating):
        p = p.astype(np.float64)
    u = _uniform(data, shape, p.dtype)
    u = fnp.where(u == 0, _const(p.dtype, 1), u)  # JAX's guard against log(0)
    log_one_minus_p = fnp.broadcast_to(_log1p(-p), shape)
    return (fnp.floor(fnp.log(u) / log_one_minus_p) + 1).astype(dtype)


def triangular(key, left, mode, right, shape=None, dtype=None):
    """Triangular samples on [left, right] with peak at mode (inverse-CDF method).

    >>> import numpy as np
    >>> from fnad import random
    >>> np.round(random.triangular(random.PRNGKey(0), 0.0, 0.5, 1.0, (3,)), 6)
    array([0.457415, 0.328858, 0.868321])
    """
    data = _single_key("triangular", key)[0]
    dtype = _float_dtype(dtype, "triangular")
    shape = _param_shape("triangular", shape, left, mode, right)
    left, mode, right = (fnp.broadcast_to(fnp.asarray(v).astype(dtype), shape) for v in (left, mode, right))
    fc = (mode - left) / (right - left)
    u = _uniform(data, shape, dtype)
    out1 = left + fnp.sqrt(u * (right - left) * (mode - left))
    out2 = right - fnp.sqrt((1 - u) * (right - left) * (right - mode))
    return fnp.where(u < fc, out1, out2)


def lognormal(key, sigma=1.0, shape=None, dtype=None):
    """Log-normal samples: exp(sigma * z) for z standard normal.

    >>> import numpy as np
    >>> from fnad import random
    >>> np.round(random.lognormal(random.PRNGKey(0), 1.0, (3,)), 6)
    array([0.813962, 0.456227, 6.147753])
    """
    data = _single_key("lognormal", key)[0]
    dtype = _float_dtype(dtype, "lognormal")
    shape = _param_shape("lognormal", shape, sigma)
    return fnp.exp(_normal(data, shape, dtype) * fnp.asarray(sigma).astype(dtype))


def multivariate_normal(key, mean, cov, shape=None, dtype=None, method="cholesky"):
    """Samples of N(mean, cov): mean + factor @ z with cov = factor @ factor.T ('cholesky', or
    'eigh' for positive semi-definite cov). `shape` is the batch shape (default: the broadcast of
    mean's and cov's batch shapes).

    >>> import numpy as np
    >>> from fnad import random
    >>> cov = np.array([[1.0, 0.5], [0.5, 2.0]])
    >>> np.round(random.multivariate_normal(random.PRNGKey(0), np.zeros(2), cov, (2,)), 6)
    array([[-0.205842, -1.141069],
           [ 1.816087,  1.156538]])
    """
    data = _single_key("multivariate_normal", key)[0]
    if method not in ("cholesky", "eigh", "svd"):
        raise ValueError(f"random.multivariate_normal: method must be one of 'svd', 'eigh', 'cholesky', got {method!r}")
    mean, cov = fnp.asarray(mean), fnp.asarray(cov)
    if not np.issubdtype(mean.dtype, np.floating):
        mean = mean.astype(np.float64)
    cov = cov.astype(np.result_type(mean.dtype, cov.dtype, np.float32))
    dtype = _float_dtype(mean.dtype if dtype is None else dtype, "multivariate_normal")
    if fnp.ndim(mean) < 1:
        raise ValueError(f"random.multivariate_normal requires mean.ndim >= 1, got mean.ndim == {fnp.ndim(mean)}")
    n = fnp.shape(mean)[-1]
    if fnp.shape(cov)[-2:] != (n, n):
        raise ValueError(
            f"random.multivariate_normal requires cov.shape == (..., n, n) for n={n}, got {fnp.shape(cov)}"
        )
    if shape is None:
        shape = np.broadcast_shapes(fnp.shape(mean)[:-1], fnp.shape(cov)[:-2])
    else:
        shape = _shape(shape)
        _check_shape("multivariate_normal", shape, fnp.shape(mean)[:-1], fnp.shape(cov)[:-2])
    if method == "cholesky":
        factor = fnp.linalg.cholesky(cov)
    elif method == "eigh":
        w, v = fnp.linalg.eigh(cov)
        factor = v * fnp.sqrt(w)[..., None, :]
    else:
        raise NotImplementedError(
            "random.multivariate_normal: method='svd' needs an SVD, which fnad.numpy.linalg does not have; "
            "use 'eigh' (the same distribution for a symmetric cov)"
        )
    z = _normal(data, (*shape, n), dtype)
    return mean + fnp.einsum("...ij,...j->...i", factor, z)


def orthogonal(key, n, shape=(), dtype=None, m=None):
    """Random n x m matrices (m defaults to n) with orthonormal columns or rows, distributed
    uniformly (Haar measure): the Q factor of a Gaussian matrix, with R's diagonal made positive.

    >>> import numpy as np
    >>> from fnad import random
    >>> q = random.orthogonal(random.PRNGKey(0), 3)
    >>> np.allclose(q @ q.T, np.eye(3))
    True
    """
    data = _single_key("orthogonal", key)[0]
    dtype = _float_dtype(dtype, "orthogonal")
    n, m = int(n), int(n if m is None else m)
    z = _normal(data, (*_shape(shape), max(n, m), min(n, m)), dtype)
    q, r = fnp.linalg.qr(z)
    d = fnp.diagonal(r, axis1=-2, axis2=-1)
    x = q * fnp.expand_dims(fnp.sign(d), -2)
    return fnp.swapaxes(x, -1, -2) if n < m else x


def _gamma_one(data, alpha, log_space):
    """One Gamma(alpha) sample (Marsaglia and Tsang's rejection method; alpha < 1 is boosted from
    alpha + 1), following JAX's key usage step by step."""
    dtype = alpha.dtype
    zero, one = _const(dtype, 0), _const(dtype, 1)
    boost_mask = alpha >= one
    alpha_orig = alpha
    alpha = fnp.where(boost_mask, alpha, alpha + one)
    d = alpha - _const(dtype, 1.0 / 3.0)
    c = _const(dtype, 1.0 / 3.0) / fnp.sqrt(d)

    def rejected(state):
        _, x_sq, v, u = state
        squeeze = u >= one - _const(dtype, 0.0331) * (x_sq * x_sq)
        return squeeze & (fnp.log(u) >= x_sq * _const(dtype, 0.5) + d * (one - v + fnp.log(v)))

    def propose(state):
        keys = _split(state[0], 3)

        def next_x(carry):
            ks = _split(carry[0])
            x = _normal(ks[1], (), dtype)
            return ks[0], x, _fused_multiply_add(x, c, one)  # XLA fuses 1 + x * c

        _, x, v = lax.while_loop(lambda carry: carry[2] <= zero, next_x, (keys[1], zero, -one))
        return keys[0], x * x, v * v * v, _uniform(keys[2], (), dtype)

    keys = _split(data)
    v = lax.while_loop(rejected, propose, (keys[0], zero, one, _const(dtype, 2)))[2]
    if log_space:
        log_samples = -_exponential(keys[1], (), dtype)
        log_boost = fnp.where(boost_mask | (log_samples == 0), zero, log_samples * (one / alpha_orig))
        return fnp.log(d) + fnp.log(v) + log_boost
    samples = one - _uniform(keys[1], (), dtype)
    return d * v * fnp.where(boost_mask, one, fnp.power(samples, one / alpha_orig))


def _gamma(name, key, a, shape, dtype, log_space):
    data = _single_key(name, key)[0]
    dtype = _float_dtype(dtype, name)
    shape = _shape(fnp.shape(a) if shape is None else shape)
    _check_shape(name, shape, fnp.shape(a))
    alphas = fnp.reshape(fnp.broadcast_to(fnp.asarray(a).astype(dtype), shape), (-1,))
    n = math.prod(shape)
    if n == 0:
        return fnp.zeros(shape, dtype)
    keys = _split_data(data, (n,))
    return fnp.reshape(_reparameterised_gamma(keys, alphas, log_space), shape)


def _gamma_samples(log_space, keys, alphas):
    from .api import vmap  # the transforms import fnad.numpy, as this module does: import late

    return vmap(lambda k, al: _gamma_one(k, al, log_space))(keys, alphas)


def _gamma_sample_jvp(log_space, primals, tangents):
    """Implicit reparameterisation (as JAX's): a sample x = F^-1(u; a) moves with a at fixed u, by
    dx/da = lax.random_gamma_grad(a, x); in log space d(log x)/da is that over x (x underflowing to 0
    is taken as the smallest normal number, as JAX does)."""
    (keys, alphas), (_, t_alphas) = primals, tangents
    samples = _reparameterised_gamma(keys, alphas, log_space)
    x = samples
    if log_space:
        x = fnp.exp(samples)
        x = fnp.where(x == 0, np.finfo(x.dtype).tiny, x)
    dx_da = lax.random_gamma_grad(alphas, x)
    return samples, t_alphas * (dx_da / x if log_space else dx_da)


def _reparameterised_gamma(keys, alphas, log_space):
    from .custom_derivatives import custom_jvp

    sampler = custom_jvp(_gamma_samples, nondiff_argnums=(0,))
    sampler.defjvp(_gamma_sample_jvp)
    return sampler(log_space, keys, alphas)


def gamma(key, a, shape=None, dtype=None):
    """Gamma(a, 1) samples (shape defaults to a's shape), differentiable with respect to a by implicit
    reparameterisation, as JAX's (each sample moves with a at a fixed quantile).

    >>> import numpy as np
    >>> from fnad import random
    >>> np.round(random.gamma(random.PRNGKey(0), np.array([0.5, 1.0, 5.0])), 6)
    array([0.098054, 0.348527, 7.750732])
    """
    return _gamma("gamma", key, a, shape, dtype, log_space=False)


def loggamma(key, a, shape=None, dtype=None):
    """log of Gamma(a, 1) samples, computed in log space (accurate for small a, where the samples
    underflow).

    >>> import numpy as np
    >>> from fnad import random
    >>> np.round(random.loggamma(random.PRNGKey(0), np.array([0.01, 1.0])), 6)
    array([-111.954216,   -1.054039])
    """
    return _gamma("loggamma", key, a, shape, dtype, log_space=True)


def beta(key, a, b, shape=None, dtype=None):
    """Beta(a, b) samples: Ga / (Ga + Gb) for independent gammas (in log space for stability).

    >>> import numpy as np
    >>> from fnad import random
    >>> np.round(random.beta(random.PRNGKey(0), 2.0, 3.0, (3,)), 6)
    array([0.327956, 0.613809, 0.760134])
    """
    data = _single_key("beta", key)[0]
    dtype = _float_dtype(dtype, "beta")
    shape = _param_shape("beta", shape, a, b)
    keys = _split(data)
    a, b = (fnp.broadcast_to(fnp.asarray(v).astype(dtype), shape) for v in (a, b))
    log_gamma_a = loggamma(keys[0], a, shape, dtype)
    log_gamma_b = loggamma(keys[1], b, shape, dtype)
    log_max = fnp.maximum(log_gamma_a, log_gamma_b)
    gamma_a, gamma_b = fnp.exp(log_gamma_a - log_max), fnp.exp(log_gamma_b - log_max)
    return gamma_a / (gamma_a + gamma_b)


def dirichlet(key, alpha, shape=None, dtype=None):
    """Dirichlet(alpha) samples over alpha's last axis (normalised log-gammas).

    >>> import numpy as np
    >>> from fnad import random
    >>> np.round(random.dirichlet(random.PRNGKey(0), np.array([1.0, 2.0, 3.0])), 6)
    array([0.070653, 0.167056, 0.762291])
    """
    data = _single_key("dirichlet", key)[0]
    dtype = _float_dtype(dtype, "dirichlet")
    alpha = fnp.asarray(alpha)
    if fnp.ndim(alpha) < 1:
        raise ValueError(f"random.dirichlet requires alpha.ndim >= 1, got alpha.ndim == {fnp.ndim(alpha)}")
    batch = fnp.shape(alpha)[:-1]
    shape = batch if shape is None else _shape(shape)
    _check_shape("dirichlet", shape, batch)
    log_gammas = loggamma(data, alpha.astype(dtype), shape + fnp.shape(alpha)[-1:], dtype)
    # Normalised in the log domain, as JAX's softmax does (written here: fnad.nn draws through this module).
    gammas = fnp.exp(log_gammas - lax.stop_gradient(fnp.max(log_gammas, axis=-1, keepdims=True)))
    return gammas / fnp.sum(gammas, axis=-1, keepdims=True)


def chisquare(key, df, shape=None, dtype=None):
    """Chi-square(df) samples: 2 * Gamma(df / 2).

    >>> import numpy as np
    >>> from fnad import random
    >>> np.round(random.chisquare(random.PRNGKey(0), 3.0, (3,)), 6)
    array([1.813893, 1.448354, 5.980275])
    """
    dtype = _float_dtype(dtype, "chisquare")
    shape = _param_shape("chisquare", shape, df)
    half_df = fnp.asarray(df).astype(dtype) / _const(dtype, 2)
    return fnp.exp(loggamma(key, half_df, shape, dtype)) * _const(dtype, 2)


def f(key, dfnum, dfden, shape=None, dtype=None):
    """F(dfnum, dfden) samples: the ratio of two chi-squares, each divided by its degrees of freedom.

    >>> import numpy as np
    >>> from fnad import random
    >>> np.round(random.f(random.PRNGKey(0), 3.0, 5.0, (3,)), 6)
    array([1.54798 , 0.357456, 0.093438])
    """
    data = _single_key("f", key)[0]
    dtype = _float_dtype(dtype, "f")
    shape = _param_shape("f", shape, dfnum, dfden)
    dfnum, dfden = fnp.asarray(dfnum).astype(dtype), fnp.asarray(dfden).astype(dtype)
    keys = _split(data)
    chi2_num = chisquare(keys[1], dfnum, shape, dtype)
    chi2_den = chisquare(keys[0], dfden, shape, dtype)
    return (chi2_num / dfnum) / (chi2_den / dfden)


def t(key, df, shape=None, dtype=None):
    """Student's t(df) samples: z * sqrt(df / (2 g)) for z normal and g Gamma(df / 2).

    >>> import numpy as np
    >>> from fnad import random
    >>> np.round(random.t(random.PRNGKey(0), 4.0, (3,)), 6)
    array([ 1.438814, -0.57619 ,  0.904804])
    """
    data = _single_key("t", key)[0]
    dtype = _float_dtype(dtype, "t")
    shape = _param_shape("t", shape, df)
    df = fnp.asarray(df).astype(dtype)
    keys = _split(data)
    z = _normal(keys[0], shape, dtype)
    half_df = df / _const(dtype, 2)
    g = gamma(keys[1], half_df, shape, dtype)
    return z * fnp.sqrt(half_df / g)


def generalized_normal(key, p, shape=(), dtype=None):
    """Samples with density proportional to exp(-|x|^p): a random sign times Gamma(1/p) ** (1/p).

    >>> import numpy as np
    >>> from fnad import random
    >>> np.round(random.generalized_normal(random.PRNGKey(0), 2.0, (3,)), 6)
    array([ 0.852796, -1.332   , -0.165454])
    """
    data = _single_key("generalized_normal", key)[0]
    dtype = _float_dtype(dtype, "generalized_normal")
    shape = _shape(shape)
    keys = _split(data)
    g = gamma(keys[0], 1 / p, shape, dtype)
    r = rademacher(keys[1], shape, dtype)
    return r * g ** (1 / p)


def ball(key, d, p=2, shape=(), dtype=None):
    """Points uniform in the d-dimensional unit p-norm ball (Barthe et al.'s method).

    >>> import numpy as np
    >>> from fnad import random
    >>> x = random.ball(random.PRNGKey(0), 3, shape=(100,))
    >>> x.shape, bool(np.all(np.linalg.norm(x, axis=-1) <= 1))
    ((100, 3), True)
    """
    data = _single_key("ball", key)[0]
    dtype = _float_dtype(dtype, "ball")
    shape = _shape(shape)
    keys = _split(data)
    g = generalized_normal(keys[0], p, (*shape, int(d)), dtype)
    e = _exponential(keys[1], shape, dtype)
    return g / ((fnp.sum(fnp.abs(g) ** p, axis=-1) + e) ** (1 / p))[..., None]


_LANCZOS = (
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61502916214059,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7,
)


def _lgamma(x):
    """log Gamma(x) for x >= 1/2 (Lanczos' approximation, g = 7; relative error ~1e-15)."""
    x64 = x.astype(np.float64) - 1
    series = _LANCZOS[0]
    for i, coefficient in enumerate(_LANCZOS[1:], 1):
        series = series + coefficient / (x64 + i)
    t_ = x64 + 7.5
    out = 0.5 * np.log(2 * np.pi) + (x64 + 0.5) * fnp.log(t_) - t_ + fnp.log(series)
    return out.astype(x.dtype)


def _poisson_knuth(data, lam, shape, dtype):
    """Count uniforms until their product drops below exp(-lam) (for small lam), for the whole array
    at once: every element draws from the same sequence of split keys."""

    def body(state):
        i, k, data_, log_prod = state
        keys = _split(data_)
        k = fnp.where(log_prod > -lam, k + 1, k)
        u = _uniform(keys[1], shape, np.dtype(np.float32))
        return i + 1, k, keys[0], log_prod + fnp.log(u)

    def cond(state):
        return fnp.any(state[3] > -lam)

    init = (fnp.asarray(0), fnp.zeros(shape, dtype), data, fnp.zeros(shape, np.float32))
    return (lax.while_loop(cond, body, init)[1] - 1).astype(dtype)


def _poisson_rejection(data, lam, shape, dtype):
    """Hörmann's transformed rejection with squeeze (PTRS), for lam >= 10."""
    log_lam = fnp.log(lam)
    b = 0.931 + 2.53 * fnp.sqrt(lam)
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    v_r = 0.9277 - 3.6224 / (b - 2)

    def body(state):
        i, k_out, accepted, data_ = state
        keys = _split(data_, 3)
        u = _uniform(keys[1], shape, lam.dtype) - 0.5
        v = _uniform(keys[2], shape, lam.dtype)
        u_shifted = 0.5 - fnp.abs(u)
        k = fnp.floor((2 * a / u_shifted + b) * u + lam + 0.43)
        s = fnp.log(v * inv_alpha / (a / (u_shifted * u_shifted) + b))
        t_ = -lam + k * log_lam - _lgamma(k + 1)
        accept1 = (u_shifted >= 0.07) & (v <= v_r)
        reject = (k < 0) | ((u_shifted < 0.013) & (v > u_shifted))
        accept = accept1 | (~reject & (s <= t_))
        return i + 1, fnp.where(accept, k, k_out), accepted | accept, keys[0]

    init = (fnp.asarray(0), fnp.full(shape, -1, lam.dtype), fnp.zeros(shape, bool), data)
    return lax.while_loop(lambda state: fnp.any(~state[2]), body, init)[1].astype(dtype)


def poisson(key, lam, shape=None, dtype=None):
    """Poisson(lam) samples (Knuth's method below lam = 10, rejection above; computed in float32,
    as JAX does).

    >>> import numpy as np
    >>> from fnad import random
    >>> random.poisson(random.PRNGKey(0), np.array([0.5, 3.0, 50.0]))
    Array([ 0,  0, 41], dtype=int64)
    """
    with np.errstate(divide="ignore", invalid="ignore"):  # eagerly, both branches see every element
        return _poisson(_single_key("poisson", key)[0], lam, shape, _int_dtype(dtype, "poisson"))


def _poisson(data, lam, shape, dtype):
    shape = fnp.shape(lam) if shape is None else _shape(shape)
    lam = fnp.broadcast_to(fnp.asarray(lam), shape).astype(np.float32)
    use_knuth = fnp.isnan(lam) | (lam < 10)
    lam_knuth = fnp.where(use_knuth, lam, np.float32(0))
    lam_rejection = fnp.where(use_knuth, np.float32(1e5), lam)
    result = fnp.where(
        use_knuth,
        _poisson_knuth(data, lam_knuth, shape, dtype),
        _poisson_rejection(data, lam_rejection, shape, dtype),
    )
    return fnp.where(lam == 0, fnp.zeros_like(result), result)


_STIRLING_TAIL = np.array(
    [
        0.0810614667953272,
        0.0413406959554092,
        0.0276779256849983,
        0.02079067210376509,
        0.0166446911898211,
        0.0138761288230707,
        0.0118967099458917,
        0.0104112652619720,
        0.00925546218271273,
        0.00833056343336287,
    ]
)


def _stirling_approx_tail(k):
    """log(k!) minus Stirling's approximation of it: a table for k <= 9, the series beyond."""
    table = _STIRLING_TAIL.astype(k.dtype)
    use_table = k <= 9
    # JAX evaluates the series at k clamped to [0, 9] (so beyond the table it is the k = 9 value)
    k = fnp.clip(k, 0.0, 9.0)
    kp1sq = (k + 1) * (k + 1)
    approx = (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / (k + 1)
    return fnp.where(use_table, fnp.take(table, fnp.floor(k).astype(np.int32)), approx)


def _binomial_inversion(data, count, prob, shape, dtype):
    """Sum geometric waiting times until they pass count (for count * p <= 10)."""
    log1minusprob = _log1p(-prob)

    def body(state):
        i, num_geom, geom_sum, data_ = state
        keys = _split(data_)
        num_geom_out = fnp.where(geom_sum <= count, num_geom + 1, num_geom)
        u = _uniform(keys[0], shape, prob.dtype)
        geom = fnp.ceil(fnp.log(u) / log1minusprob)
        return i + 1, num_geom_out, geom_sum + geom, keys[1]

    init = (fnp.asarray(0), fnp.zeros(shape, prob.dtype), fnp.zeros(shape, prob.dtype), data)
    k = lax.while_loop(lambda state: fnp.any(state[2] <= count), body, init)[1]
    return (k - 1).astype(dtype)


def _btrs(data, count, prob, shape, dtype):
    """Hörmann's transformed rejection with squeeze for binomials (BTRS), for count * p > 10."""
    stddev = fnp.sqrt(count * prob * (1 - prob))
    b = 1.15 + 2.53 * stddev
    a = -0.0873 + 0.0248 * b + 0.01 * prob
    c = count * prob + 0.5
    v_r = 0.92 - 4.2 / b
    r = prob / (1 - prob)
    alpha = (2.83 + 5.1 / b) * stddev
    m = fnp.floor((count + 1) * prob)

    def body(state):
        i, k_out, accepted, data_ = state
        keys = _split(data_, 3)
        u = _uniform(keys[1], shape, prob.dtype)
        v = _uniform(keys[2], shape, prob.dtype)
        u = u - 0.5
        us = 0.5 - fnp.abs(u)
        accept1 = (us >= 0.07) & (v <= v_r)
        k = fnp.floor((2 * a / us + b) * u + c)
        reject = (k < 0) | (k > count)
        v = fnp.log(v * alpha / (a / (us * us) + b))
        upper_bound = (
            (m + 0.5) * fnp.log((m + 1) / (r * (count - m + 1)))
            + (count + 1) * fnp.log((count - m + 1) / (count - k + 1))
            + (k + 0.5) * fnp.log(r * (count - k + 1) / (k + 1))
            + _stirling_approx_tail(m)
            + _stirling_approx_tail(count - m)
            - _stirling_approx_tail(k)
            - _stirling_approx_tail(count - k)
        )
        accept = accept1 | (~reject & (v <= upper_bound))
        return i + 1, fnp.where(accept, k, k_out), accepted | accept, keys[0]

    init = (fnp.asarray(0), fnp.full(shape, -1, prob.dtype), fnp.zeros(shape, bool), data)
    return lax.while_loop(lambda state: fnp.any(~state[2]), body, init)[1].astype(dtype)


def binomial(key, n, p, shape=None, dtype=None):
    """Binomial(n, p) samples as floats (inversion for n * min(p, 1 - p) <= 10, BTRS above). Invalid
    parameters (p outside [0, 1], n < 0 or nan) give nan, n = inf gives inf.

    >>> import numpy as np
    >>> from fnad import random
    >>> random.binomial(random.PRNGKey(0), np.array([5.0, 100.0]), 0.3)
    Array([ 2., 34.], dtype=float64)
    """
    with np.errstate(divide="ignore", invalid="ignore"):  # eagerly, both branches see every element
        return _binomial(_single_key("binomial", key)[0], n, p, shape, _float_dtype(dtype, "binomial"))


def _binomial(data, n, p, shape, dtype):
    shape = _param_shape("binomial", shape, n, p)
    prob = fnp.asarray(p)
    if not np.issubdtype(prob.dtype, np.floating):
        prob = prob.astype(np.float64)
    count = fnp.broadcast_to(fnp.asarray(n).astype(prob.dtype), shape)
    prob = fnp.broadcast_to(prob, shape)
    p_lt_half = prob < 0.5
    q = fnp.where(p_lt_half, prob, 1.0 - prob)
    count_nan_or_neg = fnp.isnan(count) | (count < 0.0)
    count_inf = fnp.isinf(count)
    q_is_nan = fnp.isnan(q)
    q_l_0 = q < 0.0
    q = fnp.where(q_is_nan | q_l_0, fnp.full_like(q, 0.01), q)
    use_inversion = count_nan_or_neg | (count * q <= 10.0)
    count = fnp.floor(count)
    count_inv = fnp.where(use_inversion, count, fnp.zeros_like(count))
    count_btrs = fnp.where(use_inversion, fnp.full_like(count, 1e4), count)
    q_btrs = fnp.where(use_inversion, fnp.full_like(q, 0.5), q)
    samples = fnp.where(
        use_inversion,
        _binomial_inversion(data, count_inv, q, shape, dtype),
        _btrs(data, count_btrs, q_btrs, shape, dtype),
    )
    invalid = q_l_0 | q_is_nan | count_nan_or_neg
    samples = fnp.where(invalid, _const(dtype, np.nan), samples)
    samples = fnp.where(count_inf & ~invalid, _const(dtype, np.inf), samples)
    return fnp.where(p_lt_half | count_nan_or_neg | q_is_nan | count_inf, samples, count.astype(dtype) - samples)


def multinomial(key, n, p, shape=None, dtype=None, unroll=1):
    """Multinomial(n, p) counts over p's last axis (as floats): a chain of binomials over the
    remaining count. `unroll` is accepted for JAX compatibility.

    >>> import numpy as np
    >>> from fnad import random
    >>> random.multinomial(random.PRNGKey(0), 10.0, np.array([0.2, 0.3, 0.5]))
    Array([1., 4., 5.], dtype=float64)
    """
    data = _single_key("multinomial", key)[0]
    dtype = _float_dtype(dtype, "multinomial")
    p = fnp.asarray(p)
    if not np.issubdtype(p.dtype, np.floating):
        p = p.astype(np.float64)
    n = fnp.asarray(n).astype(p.dtype)
    shape = fnp.shape(p) if shape is None else _shape(shape)
    n = fnp.broadcast_to(n, shape[:-1])
    p = fnp.moveaxis(fnp.broadcast_to(p, shape), -1, 0)
    remaining = fnp.flip(fnp.cumsum(fnp.flip(p, 0), axis=0), 0)
    ratios = p / fnp.where(remaining == 0, 1, remaining)
    keys = _split_data(data, (fnp.shape(ratios)[0],))

    def step(remainder, ratio_and_key):
        ratio, key_ = ratio_and_key
        count = binomial(key_, remainder, fnp.clip(ratio, 0, 1), dtype=remainder.dtype)
        return remainder - count, count

    with np.errstate(divide="ignore", invalid="ignore"):  # as in binomial
        counts = lax.scan(step, n, (ratios, keys))[1]
    return fnp.moveaxis(counts, 0, -1).astype(dtype)
