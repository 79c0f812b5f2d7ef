"""Unusual input under `jit` (issue 11, items 13-16): it must give eager's result or a clear error,
never a silently different answer. Each test compares `jit` with eager fnad and NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import fnad
import fnad.numpy as fnp
from fnad import lax

_HUGE = np.array([2**63 + 1, 3, 2**64 - 1], np.uint64)  # uint64 indices past int64's range


# ----------------------------------------------------------------------------------------------
# Item 15: uint64 indices of 2**63 and more are past the end (clamped as unsigned), not negative


def test_uint64_gather_index_past_int64_clamps_to_last_element_under_jit():
    x = np.arange(5.0)
    eager = fnad.vmap(lambda i: fnp.take(x, i))(_HUGE)  # traced indices: the gather primitive itself
    np.testing.assert_array_equal(eager, [4.0, 3.0, 4.0])
    np.testing.assert_array_equal(fnad.jit(lambda x, i: x[i])(x, _HUGE), eager)
    np.testing.assert_array_equal(fnad.jit(fnad.vmap(lambda i: fnp.take(x, i)))(_HUGE), eager)


def test_uint64_scatter_index_past_int64_is_dropped_under_jit():
    x = np.arange(5.0)
    eager = fnad.vmap(lambda i: fnp.asarray(x).at[i].set(9.0))(_HUGE)
    np.testing.assert_array_equal(eager[1], [0.0, 1.0, 2.0, 9.0, 4.0])
    np.testing.assert_array_equal(eager[[0, 2]], [x, x])
    np.testing.assert_array_equal(fnad.jit(lambda x, i: x.at[i].set(9.0))(x, _HUGE), [0.0, 1.0, 2.0, 9.0, 4.0])


def test_uint64_dynamic_slice_start_past_int64_clamps_to_the_end_in_every_mode():
    x = np.arange(5.0)
    s = np.uint64(2**63 + 7)
    ds = lambda s: lax.dynamic_slice(x, (s,), (2,))
    np.testing.assert_array_equal(ds(s), [3.0, 4.0])
    np.testing.assert_array_equal(fnad.jit(ds)(s), [3.0, 4.0])
    starts = np.array([2**63 + 7, 1], np.uint64)
    np.testing.assert_array_equal(fnad.vmap(ds)(starts), [[3.0, 4.0], [1.0, 2.0]])
    np.testing.assert_array_equal(fnad.jit(fnad.vmap(ds))(starts), [[3.0, 4.0], [1.0, 2.0]])


# ----------------------------------------------------------------------------------------------
# Item 16: masked arrays are refused (as JAX does), never used with their mask silently dropped

_MASKED = "NumPy masked array"


def _masked():
    return np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 1, 0])


@pytest.mark.parametrize(
    "call, where",
    [
        (lambda m: fnp.multiply(m, 2.0), r"fnad\.numpy\.multiply: argument 0"),
        (lambda m: fnp.add(1.0, m), r"fnad\.numpy\.add: argument 1"),
        (lambda m: fnp.sum(m), r"fnad\.numpy\.sum: argument 0"),
        (lambda m: fnp.cumsum(m), r"fnad\.numpy\.cumsum: argument 0"),
        (lambda m: fnp.asarray(m), r"fnad\.numpy\.asarray: argument 0"),
    ],
    ids=["multiply", "add", "sum", "cumsum", "asarray"],
)
def test_masked_array_is_refused_eagerly_naming_function_and_argument(call, where):
    with pytest.raises(TypeError, match=where + ".*" + _MASKED + r".*f64\[3\].*filled"):
        call(_masked())


def test_masked_array_is_refused_by_jit_naming_the_argument():
    with pytest.raises(TypeError, match=r"jit\(scale\): argument 1 is a " + _MASKED):

        def scale(s, x):
            return x * s

        fnad.jit(scale)(2.0, _masked())
    with pytest.raises(TypeError, match=_MASKED):  # a captured constant
        m = _masked()
        fnad.jit(lambda y: y * m)(np.ones(3))


@pytest.mark.parametrize(
    "transform",
    [
        lambda m: fnad.grad(lambda x: fnp.sum(x))(m),
        lambda m: fnad.vmap(lambda x: x * 2.0)(m),
        lambda m: fnad.jvp(lambda x: x * 2.0, (m,), (np.ones(3),)),
        lambda m: fnad.vjp(lambda x: x * 2.0, m),
        lambda m: fnad.grad(lambda x: fnp.sum(x * m))(np.ones(3)),
    ],
    ids=["grad", "vmap", "jvp", "vjp", "grad_closure"],
)
def test_masked_array_is_refused_by_transforms(transform):
    with pytest.raises(TypeError, match=_MASKED):
        transform(_masked())


# ----------------------------------------------------------------------------------------------
# Item 14: what eager computes, jit computes


def _agree(f, *args, expected):
    """f eagerly, f under jit and NumPy's `expected` agree (values and dtype)."""
    eager, compiled = f(*args), fnad.jit(f)(*args)
    for got in (eager, compiled):
        assert np.asarray(got).dtype == np.asarray(expected).dtype
        np.testing.assert_array_equal(got, expected)


def test_bool_add_and_mul_are_or_and_under_jit():
    a, b = np.array([True, True, False, False]), np.array([True, False, True, False])
    _agree(lambda a, b: a + b, a, b, expected=a + b)
    _agree(lambda a, b: a * b, a, b, expected=a * b)
    _agree(lambda a: fnp.sum(a * a + a), a, expected=np.sum(a * a + a))


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64])
def test_integer_power_of_integer_arrays_wraps_as_numpy_under_jit(dtype):
    rng = np.random.default_rng(0)
    info = np.iinfo(dtype)
    x = rng.integers(max(info.min, -7), min(info.max, 7), 64, endpoint=True).astype(dtype)
    y = rng.integers(0, 70, 64).astype(dtype)  # large exponents wrap around
    x[:3], y[:3] = [0, 1, 3], [0, 0, 1]
    _agree(lambda x, y: x**y, x, y, expected=np.power(x, y))


def test_integer_power_negative_exponent_raises_eagerly_and_truncates_under_jit():
    x, y = np.array([1, -1, -1, 2, 0, 5]), np.array([-3, -3, -2, -1, -1, 2])
    with pytest.raises(ValueError, match="negative integer powers"):
        fnp.power(x, y)
    np.testing.assert_array_equal(fnad.jit(lambda x, y: x**y)(x, y), [1, -1, 1, 0, 0, 25])


@pytest.mark.parametrize("lo, hi", [(-1, 2), (-1, 300), (3, 2), (-(2**70), 2**70)])
def test_clip_with_python_int_bounds_outside_the_dtype_under_jit(lo, hi):
    x = np.array([0, 1, 5, 200, 255], np.uint8)
    _agree(lambda x: fnp.clip(x, lo, hi), x, expected=np.clip(x, lo, hi))


def test_clip_with_a_traced_python_int_bound_outside_the_dtype():
    x = np.array([0, 1, 5, 200], np.uint8)
    np.testing.assert_array_equal(fnad.jit(lambda x, lo, hi: fnp.clip(x, lo, hi))(x, -1, 300), np.clip(x, -1, 300))


@pytest.mark.parametrize(
    "spec, shapes",
    [
        ("ij,jk->ik", [(2, 0), (0, 3)]),
        ("ij,jk->ik", [(0, 4), (4, 3)]),
        ("i,i->", [(0,), (0,)]),
        ("ij->", [(3, 0)]),
        ("ij,j->i", [(2, 0), (1,)]),
    ],
)
def test_einsum_over_a_zero_length_axis_under_jit(spec, shapes):
    ops = [np.ones(s) for s in shapes]
    _agree(lambda *ops: fnp.einsum(spec, *ops), *ops, expected=np.einsum(spec, *ops))


@pytest.mark.parametrize("shape, n, axis", [((0,), 1, -1), ((0, 3), 1, 0), ((2,), 3, -1), ((1, 4), 2, 0)])
def test_diff_of_an_axis_shorter_than_n_under_jit(shape, n, axis):
    x = np.ones(shape)
    _agree(lambda x: fnp.diff(x, n, axis), x, expected=np.diff(x, n, axis))


@pytest.mark.parametrize("dtype", [">f8", ">f4", ">i4", "<f8"])
def test_non_native_byte_order_and_strided_arguments_are_converted_by_jit(dtype):
    x = np.arange(6.0).astype(dtype)
    native = x.astype(np.dtype(dtype).newbyteorder("="))
    f = lambda x: x * 2 + 1
    _agree(f, x, expected=f(native))
    _agree(f, x[::2], expected=f(native[::2]))
    np.testing.assert_array_equal(fnad.jit(f).lower(native).compile()(x)[0], f(native))
    if x.dtype.kind == "f":
        np.testing.assert_array_equal(fnad.jit(fnad.grad(lambda x: fnp.sum(x * x)))(x), 2 * native)


# ----------------------------------------------------------------------------------------------
# Item 13: a Python int that does not fit the dtype it is combined with raises OverflowError


@pytest.mark.parametrize(
    "dtype, value",
    [(np.int32, 2**40), (np.uint8, 300), (np.uint8, -1), (np.int8, -129), (np.uint64, -1), (np.uint32, 2**32)],
)
def test_python_int_argument_outside_the_array_dtype_raises_overflow_under_jit(dtype, value):
    x = np.ones(3, dtype)
    with pytest.raises(OverflowError, match=f"{value}.*{np.dtype(dtype).name}"):
        x * value  # NumPy
    for f in (lambda x, s: x * s, lambda x, s: s + x, lambda x, s: fnp.maximum(x, s)):
        with pytest.raises(OverflowError, match=f"{value}.*{np.dtype(dtype).name}"):
            f(x, value)  # eager fnad
        with pytest.raises(OverflowError, match=rf"Python integer {value} \(argument 1\).*{np.dtype(dtype).name}"):
            fnad.jit(f)(x, value)


def test_python_int_argument_inside_the_dtype_still_runs_after_an_overflow():
    f = fnad.jit(lambda x, s: x * s)
    x = np.ones(3, np.int32)
    np.testing.assert_array_equal(f(x, 2**30), x * 2**30)
    with pytest.raises(OverflowError):
        f(x, 2**31)
    np.testing.assert_array_equal(f(x, -(2**31)), x * -(2**31))
    np.testing.assert_array_equal(f(np.ones(3, np.int64), 2**40), np.full(3, 2**40))  # int64 holds it
    np.testing.assert_array_equal(f(np.ones(3, np.float32), 2**40), np.float32(2**40) * np.ones(3, np.float32))


def test_value_computed_from_python_int_arguments_is_range_checked_under_jit():
    f = lambda x, s, t: x + (s + t)
    x = np.ones(3, np.uint8)
    np.testing.assert_array_equal(fnad.jit(f)(x, 200, 54), f(x, 200, 54))
    with pytest.raises(OverflowError, match="256"):
        f(x, 200, 56)
    with pytest.raises(OverflowError, match=r"integer 256, computed from Python integer arguments.*uint8"):
        fnad.jit(f)(x, 200, 56)


def test_python_int_argument_of_an_inner_jit_is_range_checked():
    inner = fnad.jit(lambda a, b: a * b)
    outer = fnad.jit(lambda x, s: inner(x, s) + 1)
    with pytest.raises(OverflowError, match=r"1099511627776 \(argument 1\).*int32"):
        outer(np.ones(3, np.int32), 2**40)
    with pytest.raises(OverflowError, match=r"1099511627776 \(argument 1\).*int32"):
        inner(np.ones(3, np.int32), 2**40)


@pytest.mark.parametrize(
    "f",
    [
        lambda x, s: lax.cond(x[0] > 0, lambda: x * s, lambda: x),
        lambda x, s: lax.fori_loop(0, 3, lambda i, c: c + s, x),
        lambda x, s: lax.while_loop(lambda c: c[0] < s, lambda c: c + 1, x),
        lambda x, s: lax.scan(lambda c, xi: (c + s, xi), x, x)[0],
        lambda x, s: lax.fori_loop(0, 2, lambda i, c: lax.cond(i > 0, lambda: c + s * 2, lambda: c), x),
    ],
    ids=["cond", "fori_loop", "while_cond", "scan", "cond_in_fori_loop"],
)
def test_python_int_argument_narrowed_inside_control_flow_is_range_checked(f):
    x = np.ones(3, np.int32)
    np.testing.assert_array_equal(fnad.jit(f)(x, 3), f(x, 3))
    assert fnad.jit(f)(x, 3).dtype == np.int32  # a captured Python int stays weakly typed
    with pytest.raises(
        OverflowError,
        match=r"(1099511627776 \(argument 1\)|2199023255552, computed from Python "
        r"integer arguments,) is out of bounds for int32",
    ):
        fnad.jit(f)(x, 2**40)


def test_python_int_literal_outside_the_dtype_raises_overflow_while_tracing():
    with pytest.raises(OverflowError, match="300.*uint8"):
        fnad.jit(lambda x: x + 300)(np.ones(3, np.uint8))
    with pytest.raises(OverflowError, match="1099511627776.*int32"):
        fnad.jit(lambda x: x * 2**40)(np.ones(3, np.int32))


def test_float16_under_jit_raises_naming_the_op_and_its_line_or_the_input():
    x = np.arange(0, 256, 7, dtype=np.uint8)
    assert fnp.sin(x).dtype == np.float16  # eager: NumPy's float16 result
    with pytest.raises(
        NotImplementedError,
        match=r"float16.*found at 'convert_element_type' at .*test_bad_input"
        r"\.py:\d+ \(f16\[37\]\): compute in float32",
    ):
        fnad.jit(lambda x: fnp.sin(x))(x)
    with pytest.raises(NotImplementedError, match=r"float16.*found at input 1 \(f16\[3\]\): pass it as float32"):
        fnad.jit(lambda a, b: a * b)(np.ones(3, np.float32), np.ones(3, np.float16))
    np.testing.assert_allclose(fnad.jit(lambda x: fnp.sin(x.astype(np.float32)))(x), np.sin(x), rtol=1e-3)
