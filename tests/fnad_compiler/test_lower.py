"""compile_jaxpr against the primitives' NumPy implementations: every lowered primitive on random
inputs (hypothesis over shapes incl. 0-d, size 1 and size 0, and over dtypes), fusion, reductions
over every axis combination, dot_general dimension numbers, the calling convention's checks."""

import ctypes
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnad
from fnad import lax
from fnad.core import Primitive, ShapedArray
from fnad.ir import ClosedJaxpr, Eqn, Jaxpr, Var, eval_closed
from fnad_compiler import compile_jaxpr, fusion, parallel
from fnad_compiler.lower import control_flow, kernel, rules, scope, sort

FLOATS = [np.float32, np.float64]
INTS = [np.int32, np.int64]
SHAPES = [(), (1,), (0,), (7,), (3, 1, 4), (2, 0, 3), (37,)]


def compiled(f, *args):
    closed = fnad.make_jaxpr(f)(*args)
    return closed, compile_jaxpr(closed)


def check(f, *args, ulps=0, exact_ints=True):
    """compiled f == eager (NumPy impls) on args; float results within `ulps` units in the last place."""
    closed, exe = compiled(f, *args)
    got, want = exe(*args), eval_closed(closed, *args)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        w = np.asarray(w)
        assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, g.dtype, w.shape, w.dtype)
        if w.dtype.kind == "f" and ulps:
            tol = ulps * np.spacing(np.maximum(np.abs(w), np.finfo(w.dtype).tiny).astype(w.dtype))
            ok = (np.abs(g.astype(np.float64) - w) <= tol) | (g == w) | (np.isnan(g) & np.isnan(w))
            assert ok.all(), (f, args, g[~ok], w[~ok])
        else:
            np.testing.assert_array_equal(g, w)
    return exe


def rand(shape, dtype, rng, lo=-3, hi=3):
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        return rng.integers(lo, hi + 1, shape).astype(dtype)
    return rng.uniform(lo, hi, shape).astype(dtype)


# ----------------------------------------------------------------------------------------------
# Elementwise

UNARY_FLOAT = [
    "exp",
    "exp2",
    "log",
    "log1p",
    "expm1",
    "sqrt",
    "rsqrt",
    "cbrt",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
    "tanh",
    "asinh",
    "acosh",
    "atanh",
    "logistic",
    "erf",
    "erf_inv",
    "floor",
    "ceil",
    "round",
    "neg",
    "sign",
    "abs",
]


@pytest.mark.parametrize("dtype", FLOATS)
def test_unary_float(dtype):
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [
            rng.uniform(-4, 4, 200),
            rng.uniform(-1, 1, 50),
            [0.0, -0.0, 1.0, -1.0, 0.5, 2.5, -2.5, np.inf, -np.inf, np.nan, 1e-30, 80.0, -80.0],
        ]
    ).astype(dtype)

    def f(x):
        return [getattr(lax, n)(x) for n in UNARY_FLOAT] + [
            lax.is_finite(x),
            lax.integer_pow(x, 3),
            lax.integer_pow(x, -2),
            lax.integer_pow(x, 0),
        ]

    check(f, x, ulps=8)


@pytest.mark.parametrize("dtype", FLOATS)
def test_scalar_trig_in_sequential_loop(dtype):
    """Scalar sin/cos/tan (one-element kernels, which use vecmath's branching `once` kernels) inside
    a fori_loop body, on both of their paths and the special values, against eager evaluation."""
    xs = [0.0, -0.0, 0.3, -2.5, 1e-30, 700.1, 2.0**10, 3e5, -1e15, np.inf, -np.inf, np.nan]

    def f(x):
        return lax.fori_loop(
            0,
            3,
            lambda i, c: (c[0], c[1] + lax.sin(c[0]), c[2] + lax.cos(c[0]), c[3] + lax.tan(c[0])),
            (x, 0.0 * x, 0.0 * x, 0.0 * x),
        )[1:]

    for x in xs:
        check(f, dtype(x), ulps=8)


@pytest.mark.parametrize("dtype", INTS + [np.uint8, np.int8])
def test_unary_int(dtype):
    info = np.iinfo(dtype)
    x = np.array([0, 1, -1, 5, -7, 100, info.min, info.max], dtype=np.int64).astype(dtype)
    check(
        lambda x: [
            lax.neg(x),
            lax.sign(x),
            lax.abs(x),
            lax.bitwise_not(x),
            lax.integer_pow(x, 2),
            lax.integer_pow(x, 3),
        ],
        x,
    )


@pytest.mark.parametrize("dtype", FLOATS + INTS)
def test_binary(dtype):
    rng = np.random.default_rng(1)
    x, y = rand((64,), dtype, rng, -9, 9), rand((64,), dtype, rng, -4, 4)
    ops = [
        lax.add,
        lax.sub,
        lax.mul,
        lax.div,
        lax.rem,
        lax.max,
        lax.min,
        lax.eq,
        lax.ne,
        lax.lt,
        lax.le,
        lax.gt,
        lax.ge,
    ]
    if np.dtype(dtype).kind == "f":
        ops += [lax.pow, lax.atan2, lax.nextafter]
        x[:4] = [np.nan, 0.0, np.inf, -0.0]
        y[4:8] = [np.nan, 0.0, -np.inf, 0.0]
        y = np.where(np.isfinite(y) & (np.abs(y) < 1e-3), 0.5, y).astype(dtype)
    else:
        ops += [lax.bitwise_and, lax.bitwise_or, lax.bitwise_xor]
        y[:3] = 0  # integer division and remainder by zero give 0
        x[3], y[3] = np.iinfo(dtype).min, -1
    check(lambda x, y: [op(x, y) for op in ops], x, y, ulps=4)
    # rank-0 operands broadcast
    check(lambda x, y: [lax.add(x, y[0]), lax.mul(x[1], y), lax.max(x[2], y[3])], x, y, ulps=4)


@pytest.mark.parametrize("dtype", INTS + [np.uint32])
def test_shifts(dtype):
    bits = 8 * np.dtype(dtype).itemsize
    x = np.array(
        [1, -1 % (2**bits) if dtype == np.uint32 else -1, 12345, 7, -8 % (2**bits) if dtype == np.uint32 else -8, 3],
        dtype=np.int64,
    ).astype(dtype)
    s = np.array([0, 3, bits - 1, bits, bits + 5, 1], dtype=dtype)
    check(lambda x, s: [lax.shift_left(x, s), lax.shift_right_logical(x, s), lax.shift_right_arithmetic(x, s)], x, s)


def test_bool_ops():
    rng = np.random.default_rng(2)
    p, q = rng.random(20) < 0.5, rng.random(20) < 0.5
    check(
        lambda p, q: [
            lax.bitwise_and(p, q),
            lax.bitwise_or(p, q),
            lax.bitwise_xor(p, q),
            lax.bitwise_not(p),
            lax.eq(p, q),
            lax.lt(p, q),
            lax.max(p, q),
            lax.min(p, q),
        ],
        p,
        q,
    )


DTYPES = [np.bool_, np.int8, np.uint8, np.int32, np.int64, np.uint32, np.float32, np.float64]


@pytest.mark.parametrize("src", DTYPES)
def test_convert_element_type(src):
    x = np.array([0, 1, 2, 3, 100, 7], dtype=src) if src != np.bool_ else np.array([True, False, True])
    if np.dtype(src).kind == "f":
        x = np.array([0.0, -0.0, 1.5, -2.5, 3.99, 100.25, np.nan], dtype=src)
    targets = [d for d in DTYPES if np.dtype(src).kind != "f" or np.dtype(d).kind not in "iu"]
    check(lambda x: [lax.convert_element_type(x, d) for d in targets], x)
    if np.dtype(src).kind == "f":  # float -> int where the value fits
        check(lambda x: [lax.convert_element_type(x, d) for d in DTYPES if np.dtype(d).kind in "iu"], x[:-1])


def test_select_and_iota():
    rng = np.random.default_rng(3)
    p, x, y = rng.random((4, 5)) < 0.5, rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    check(
        lambda p, x, y: [
            lax.select(p, x, y),
            lax.select(p[0, 0], x, y),
            lax.iota(np.int32, (4, 5), 1) + lax.iota(np.int32, (4, 5), 0) * 10,
            lax.iota(np.float32, 6, 0),
        ],
        p,
        x,
        y,
    )


@settings(max_examples=15)
@given(st.sampled_from(SHAPES), st.sampled_from(FLOATS + INTS + [np.bool_]), st.integers(0, 2**32 - 1))
def test_elementwise_shapes(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    x, y = rand(shape, dtype, rng), rand(shape, dtype, rng)
    if np.dtype(dtype).kind == "b":
        check(lambda x, y: [lax.bitwise_xor(x, y), lax.select(x, y, x)], x, y)
    else:
        check(lambda x, y: [lax.mul(lax.add(x, y), x), lax.select(lax.lt(x, y), x, y)], x, y)


# ----------------------------------------------------------------------------------------------
# Shapes


def test_shape_ops():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 3, 4)).astype(np.float32)
    check(
        lambda x: [
            lax.transpose(x, (2, 0, 1)),
            lax.reshape(x, (6, 4)),
            lax.reshape(x, (2, 1, 3, 4, 1)),
            lax.broadcast_in_dim(x[:, 0, :1] if False else lax.reshape(x, (24,)), (3, 24), (1,)),
            lax.broadcast_in_dim(
                lax.reshape(x, (2, 12))[:, :1] if False else lax.reshape(x, (2, 3, 4)), (5, 2, 3, 4), (1, 2, 3)
            ),
            lax.squeeze(lax.reshape(x, (1, 24)), (0,)),
            lax.expand_dims(x, (0, 2)),
        ],
        x,
    )
    y = rng.normal(size=(3, 1)).astype(np.float64)
    check(
        lambda y: [
            lax.broadcast_in_dim(y, (2, 3, 4), (1, 2)),
            lax.transpose(lax.exp(y), (1, 0)),
            lax.reshape(lax.transpose(lax.broadcast_in_dim(y, (3, 5), (0, 1)), (1, 0)), (15,)),
        ],
        y,
        ulps=1,
    )


def test_fused_expression_is_one_loop():
    x = np.random.default_rng(5).normal(size=1000).astype(np.float32)
    exe = check(lambda x: lax.tanh(x) * lax.exp(-x * x) + 0.5 * lax.sin(x), x, ulps=8)
    program = exe.program
    [nest] = [d for d in str(program).split("\ndefine ")[1:] if '.nest"(' in d.split("\n")[0]]  # loop nests
    assert program.launches == 1
    body = nest.split("\n}\n")[0]
    assert body.count("load float") == 1 and body.count("store float") == 1


def test_fusion_with_broadcasts_and_reductions():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(6, 50)).astype(np.float64)

    # softmax: two reductions, broadcasts of their results, no intermediate full-size arrays but the output
    def softmax(x):
        m = lax.reduce_max(x, (1,))
        e = lax.exp(x - lax.broadcast_in_dim(m, x.shape, (0,)))
        return e / lax.broadcast_in_dim(lax.reduce_sum(e, (1,)), x.shape, (0,))

    exe = check(softmax, x, ulps=16)
    assert exe.program.launches == 3
    check(
        lambda x: [lax.reduce_sum(x * x, (0,)), lax.transpose(x, (1, 0)) * 2.0, lax.reduce_max(lax.exp(x), (0, 1))],
        x,
        ulps=64,
    )


def _plan(closed):
    return fusion.plan(closed.jaxpr, rules.SCALAR, scope.reusable)


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.bool_])
def test_outer_product_dots_fuse(dtype):
    rng = np.random.default_rng(20)
    x, y, z = rand((4, 1, 3), dtype, rng), rand((4, 5, 1), dtype, rng), rand((3,), dtype, rng)

    def f(x, y, z):
        return [
            lax.dot_general(x, y, (((1,), (2,)), ((0,), (0,)))),  # batched outer product
            lax.dot_general(y, x, (((2,), (1,)), ((0,), (0,)))),
            lax.dot_general(x, y, (((1,), (2,)), ((), ()))),
            lax.dot_general(z, z, (((), ()), ((), ()))),
            lax.dot_general(lax.neg(x) if dtype != np.bool_ else x, z, (((), ()), ((2,), (0,)))),
        ]

    closed, _ = compiled(f, x, y, z)
    assert all(s.kind != fusion.OPAQUE for s in _plan(closed).steps)
    check(f, x, y, z)


def test_outer_product_reads_computed_operands_once():
    """vmap(grad) of a linear model: per-row scalars times rows, one pass writing the output."""
    rng = np.random.default_rng(21)
    x, w = rng.normal(size=(64, 1, 30)).astype(np.float32), rng.normal(size=(30, 1)).astype(np.float32)

    def f(x, w):
        s = lax.tanh(lax.dot_general(x, w, (((2,), (0,)), ((), ()))))  # (64, 1, 1)
        return lax.reshape(lax.dot_general(x, s, (((1,), (1,)), ((0,), (0,)))), (64, 30))

    closed, exe = compiled(f, x, w)
    plan = _plan(closed)
    kinds = [s.kind for s in plan.steps]  # the final reshape fused, or a view the product writes through
    assert kinds[-1] == fusion.ALIAS and plan.copies == [] or kinds[-1] == fusion.ELEMENTAL
    assert kinds.count(fusion.ELEMENTAL) == 2 and fusion.REDUCTION not in kinds
    np.testing.assert_allclose(exe(x, w)[0], eval_closed(closed, x, w)[0], rtol=1e-6, atol=1e-6)


def test_reshapes_of_buffers_are_views():
    rng = np.random.default_rng(22)
    x, w = rng.normal(size=(40, 60)), rng.normal(size=(60, 50))
    f = lambda x, w: lax.reshape(lax.dot_general(lax.reshape(x, (40, 1, 60)), w, (((2,), (0,)), ((), ()))), (40, 50))
    closed, exe = compiled(f, x, w)
    plan = _plan(closed)
    assert [s.kind for s in plan.steps] == [fusion.ALIAS, fusion.OPAQUE, fusion.ALIAS] and plan.arena_size == 0
    np.testing.assert_allclose(exe(x, w)[0], x @ w, rtol=1e-12)


def test_broadcast_constants_are_recomputed_not_stored():
    rng = np.random.default_rng(23)
    x, y = rng.normal(size=(8, 16)), rng.normal(size=(8, 16))

    def f(x, y):
        half, one, zero = (lax.broadcast_in_dim(np.float64(c), x.shape, ()) for c in (0.5, 1.0, 0.0))
        ramp = lax.convert_element_type(lax.iota(np.int32, 16, 0), np.float64) * 2.0
        mask = lax.select(x > 0.0, lax.select(x > 1.0, half, one), zero)
        return [
            mask * y,
            lax.reduce_sum(lax.select(y > 0.0, one, half) * x, (0,)),
            lax.broadcast_in_dim(ramp, x.shape, (1,)) * x,
            lax.reduce_sum(ramp, (0,)),
        ]

    closed, _ = compiled(f, x, y)
    plan = _plan(closed)
    assert len(plan.steps) == 4 and plan.arena_size == 0
    check(f, x, y, ulps=2)


# ----------------------------------------------------------------------------------------------
# Reductions


REDUCE_SHAPES = [(), (5,), (0,), (3, 4), (3, 1, 5), (2, 0, 3), (4, 3, 2)]


@settings(max_examples=20)
@given(st.sampled_from(REDUCE_SHAPES), st.sampled_from(FLOATS + INTS), st.data())
def test_reductions_every_axis_set(shape, dtype, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = rand(shape, dtype, rng)
    axes = data.draw(
        st.sampled_from([c for r in range(len(shape) + 1) for c in itertools.combinations(range(len(shape)), r)])
    )
    ops = [lax.reduce_sum, lax.reduce_prod] + (
        [lax.reduce_max, lax.reduce_min] if 0 not in [shape[a] for a in axes] else []
    )
    check(lambda x: [op(x, axes) for op in ops], x, ulps=16)


SPECIALS = [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, -5e-324, 3e38, -3e38]


@settings(max_examples=30)
@given(st.sampled_from(FLOATS), st.integers(3, 3 * kernel._BLOCK), st.data())
def test_float_max_min_with_special_values(dtype, n, data):
    """max / min (computed from integer keys of the bits) as NumPy's: NaN of either sign propagates,
    infinities, denormals and the largest values order as floats, over whole and partial blocks."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = rand((n,), dtype, rng)
    for _ in range(data.draw(st.integers(0, 4))):
        x[data.draw(st.integers(0, n - 1))] = data.draw(st.sampled_from(SPECIALS))
    rows = x[: n - n % 3].reshape(3, -1)
    with np.errstate(over="ignore"):
        check(
            lambda x, rows: [
                lax.reduce_max(x, (0,)),
                lax.reduce_min(x, (0,)),
                lax.reduce_max(rows, (1,)),
                lax.reduce_min(rows, (1,)),
            ],
            x,
            rows,
        )


@pytest.mark.parametrize("dtype", FLOATS)
def test_max_min_order_signed_zeros(dtype):
    """+0.0 above -0.0 whatever their order (NumPy's own answer depends on the order)."""
    for x in ([-0.0, 0.0, -1.0], [0.0, -0.0, -1.0], [-1.0] * 100 + [0.0] + [-0.0] * 100):
        x = np.array(x, dtype)
        _closed, exe = compiled(lambda x: [lax.reduce_max(x, (0,)), lax.reduce_min(-x, (0,))], x)
        top, bottom = exe(x)
        assert top == 0 and not np.signbit(top) and bottom == 0 and np.signbit(bottom)


@pytest.mark.parametrize("shape", [(3, 4, 5), (2, 0, 3), (7,), ()])
def test_bool_reductions(shape):
    p = np.random.default_rng(7).random(shape) < 0.3
    for axes in [c for r in range(len(shape) + 1) for c in itertools.combinations(range(len(shape)), r)]:
        check(lambda p: [lax.reduce_and(p, axes), lax.reduce_or(p, axes)], p)


@pytest.mark.parametrize("dtype", FLOATS + INTS + [np.bool_])
def test_argmax_argmin(dtype):
    rng = np.random.default_rng(8)
    x = rand((5, 6, 4), dtype, rng, -2, 2)
    if np.dtype(dtype).kind == "f":
        x[1, 2, 3] = x[3, 0, 1] = np.nan
    f = lambda x: [g(x, a, idx) for a in range(3) for g in (lax.argmax, lax.argmin) for idx in (np.int32, np.int64)]
    check(f, x)
    check(lambda x: [lax.argmax(x, 0, np.int64), lax.argmin(x, 0, np.int64)], x[:, 0, 0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int8, np.uint8, np.int32, np.int64, np.uint32])
@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_argmax_argmin_in_blocks(dtype, data):
    """Rows of `_ARG_BLOCKS_MIN` elements and more run as two vectorised passes per block: the
    first position of the extreme, ties across and within blocks, the first NaN wherever it is
    (also alone in a late block), -0.0 against +0.0, infinities and integer extremes, on
    buffers and on fused values; against NumPy's argmax/argmin."""
    n = data.draw(st.sampled_from([kernel._ARG_BLOCKS_MIN, 65, 4095, 4096, 4097, 2 * 4096 + 77]), label="n")
    rows = data.draw(st.integers(1, 3), label="rows")
    dt = np.dtype(dtype)
    if dt.kind == "f":
        pool = data.draw(
            st.lists(
                st.sampled_from([-0.0, 0.0, 1.5, -2.0, np.inf, -np.inf, np.nan]),
                min_size=1,
                max_size=4,
                unique_by=lambda v: repr(v),
            ),
            label="pool",
        )
    else:
        info = np.iinfo(dt)
        pool = data.draw(
            st.lists(st.sampled_from([int(info.min), int(info.max), 0, 1, 7]), min_size=1, max_size=3, unique=True),
            label="pool",
        )
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    x = np.array(pool, dtype=dt)[rng.integers(0, len(pool), (rows, n))]
    if dt.kind == "f" and data.draw(st.booleans(), label="late nan"):
        x[-1, -1] = np.nan
    f = lambda x: [
        lax.argmax(x, 1, np.int64),
        lax.argmin(x, 1, np.int32),
        lax.argmax(x[0], 0, np.int64),
        lax.argmin(x[-1], 0, np.int64),
        lax.argmax(x + x, 1, np.int64),
    ]
    check(f, x)


def test_large_reductions_deterministic_across_thread_counts():
    x = np.random.default_rng(9).normal(size=(1 << 20) + 123).astype(np.float32)
    _closed, exe = compiled(lambda x: [lax.reduce_sum(x, (0,)), lax.reduce_max(x, (0,))], x)
    before = parallel.get_num_threads()
    try:
        results = []
        for n in (1, 2, 3):
            parallel.set_num_threads(n)
            results.append(exe(x))
    finally:
        parallel.set_num_threads(before)
    assert all(r[0].tobytes() == results[0][0].tobytes() for r in results)
    assert abs(results[0][0] - x.astype(np.float64).sum()) <= 1e-6 * np.abs(x).astype(np.float64).sum()
    assert results[0][1] == x.max()
    # a large fused elementwise kernel split across threads
    check(lambda x: lax.tanh(x) * lax.exp(-x * x) + 0.5 * lax.sin(x), x, ulps=8)


@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_reductions_over_rows_in_row_blocks(dtype):
    """Reductions of many rows into the last (kept) axis run as fixed row blocks in parallel, each
    into its own partial row, combined in order: results equal the eager ones and are bit-identical
    for 1, 2 and 3 threads, with fused producers, several ops and leading axes merged into rows."""
    rng = np.random.default_rng(12)
    m, c = rand((2000, 301), dtype, rng), rand((40, 50, 129), dtype, rng)
    f = lambda m, c: [
        lax.reduce_sum(m * m, (0,)),
        lax.reduce_max(m, (0,)),
        lax.reduce_min(m - 1, (0,)),
        lax.reduce_sum(c, (0, 1)),
        lax.reduce_max(c * 2, (0, 1)),
        lax.reduce_sum(m[:100], (0,)),
    ]
    closed, exe = compiled(f, m, c)
    want = [np.asarray(w) for w in eval_closed(closed, m, c)]
    before = parallel.get_num_threads()
    try:
        results = []
        for threads in (1, 2, 3):
            parallel.set_num_threads(threads)
            got = exe(m, c)
            for g, w in zip(got, want):  # float sums of 2000 terms of |x| <= 9: order-dependent rounding
                np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6 * 2000 * 9)
            results.append(b"".join(g.tobytes() for g in got))
    finally:
        parallel.set_num_threads(before)
    assert len(set(results)) == 1
    assert "fnad_parallel_for" in exe.llvm_ir


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64])
def test_large_results_streamed(dtype, monkeypatch):
    """Results above `_STREAM_MIN` bytes of kernels without transcendental functions are written
    with non-temporal stores after an aligned prologue: every element is right whatever the
    output's alignment, size and thread count, and an intermediate written that way is read
    correctly by the next kernel."""
    monkeypatch.setattr(kernel, "_STREAM_MIN", 1 << 12)
    rng = np.random.default_rng(10)
    n = (1 << 18) + 37
    x = rand(n, dtype, rng)
    closed, exe = compiled(lambda x: [x * 5, lax.sort(x * 3 + 1), lax.exp(x) if x.dtype.kind == "f" else x - 1], x)
    if kernel._x86_64():  # not the kernel with a transcendental function
        assert exe.llvm_ir.count("!nontemporal !") == 2 + (np.dtype(dtype).kind != "f")
    want = [np.asarray(w) for w in eval_closed(closed, x)]
    before = parallel.get_num_threads()
    try:
        for threads in (1, 2, 3):
            parallel.set_num_threads(threads)
            for shift in (0, 4, 8, 1):  # output start: aligned, 4/8 bytes past a boundary, not element-aligned
                raw = np.zeros(n * x.itemsize + 128, np.uint8)
                start = -raw.ctypes.data % 64 + shift
                out = [raw[start : start + n * x.itemsize].view(dtype), np.empty(n, dtype), np.empty(n, dtype)]
                ins = (ctypes.c_void_p * 1)(x.ctypes.data)
                outs = (ctypes.c_void_p * len(out))(*[o.ctypes.data for o in out])
                exe._main(ctypes.addressof(ins), ctypes.addressof(exe._const_table), ctypes.addressof(outs))
                for g, w in zip(out, want):
                    if np.dtype(dtype).kind == "f":
                        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
                    else:
                        np.testing.assert_array_equal(g, w)
    finally:
        parallel.set_num_threads(before)


@pytest.mark.parametrize("dtype", FLOATS)
def test_prefetching_loops(dtype, monkeypatch):
    """Compute-heavy kernels reading more than `_PREFETCH_MIN` bytes run their innermost loop in
    strips that prefetch the unit-stride loads: results are those of the plain loops whatever the
    strip remainder, the nest (flat, broadcast operands, rows or columns reduced, every axis
    reduced, logsumexp's one pass) and the thread count; cheap or small kernels do not prefetch."""
    monkeypatch.setattr(kernel, "PREFETCH_MIN", 1 << 10)
    rng = np.random.default_rng(11)
    n, rows, cols = 3 * kernel.STRIP + 37, 5, 2 * kernel.STRIP + 19
    x, m, row, col = (
        rand(n, dtype, rng),
        rand((rows, cols), dtype, rng),
        rand(cols, dtype, rng),
        rand((rows, 1), dtype, rng),
    )

    def lse(z, axes):
        top = lax.reduce_max(z, axes)
        keep = tuple(d for d in range(z.ndim) if d not in axes)
        return lax.log(lax.reduce_sum(lax.exp(z - lax.broadcast_in_dim(top, z.shape, keep)), axes)) + top

    programs = [
        lambda x, m, row, col: [lax.tanh(x) * lax.exp(-x * x) + 0.5 * lax.sin(x)],
        lambda x, m, row, col: [lax.exp(m + lax.broadcast_in_dim(row, m.shape, (1,))) * (m * col)],
        lambda x, m, row, col: [
            lax.reduce_sum(lax.exp(x), (0,)),
            lax.reduce_sum(lax.sin(m), (1,)),
            lax.reduce_sum(lax.cos(m), (0,)),
            lax.reduce_sum(lax.exp(m), (0, 1)),
        ],
        lambda x, m, row, col: [lse(x, (0,)), lse(m, (1,))],
    ]
    before = parallel.get_num_threads()
    try:
        for f in programs:
            closed, exe = compiled(f, x, m, row, col)
            assert "llvm.prefetch" in exe.llvm_ir
            want = [np.asarray(w) for w in eval_closed(closed, x, m, row, col)]
            results = []
            for threads in (1, 2, 3):
                parallel.set_num_threads(threads)
                got = exe(x, m, row, col)
                for g, w in zip(got, want):
                    np.testing.assert_allclose(g, w, rtol=1e-5 if dtype == np.float32 else 1e-12)
                results.append(b"".join(g.tobytes() for g in got))
            assert len(set(results)) == 1
    finally:
        parallel.set_num_threads(before)
    assert "llvm.prefetch" not in compiled(lambda x: [lax.reduce_sum(x * 2 + 1, (0,)), x * 3], x)[1].llvm_ir
    monkeypatch.setattr(kernel, "PREFETCH_MIN", 1 << 30)
    assert "llvm.prefetch" not in compiled(lambda x: [lse(x, (0,)), lax.exp(x)], x)[1].llvm_ir


# ----------------------------------------------------------------------------------------------
# dot_general


DOTS = [  # (lhs shape, rhs shape, dimension numbers)
    ((3, 4), (4, 5), (((1,), (0,)), ((), ()))),
    ((4, 3), (4, 5), (((0,), (0,)), ((), ()))),
    ((3, 4), (5, 4), (((1,), (1,)), ((), ()))),
    ((4,), (4,), (((0,), (0,)), ((), ()))),
    ((3, 4), (4,), (((1,), (0,)), ((), ()))),
    ((2, 3, 4), (2, 4, 5), (((2,), (1,)), ((0,), (0,)))),
    ((3, 2, 4), (4, 5, 2), (((2,), (0,)), ((1,), (2,)))),
    ((2, 3, 4), (3, 4, 5), (((1, 2), (0, 1)), ((), ()))),
    ((3,), (5,), (((), ()), ((), ()))),
    ((0, 4), (4, 5), (((1,), (0,)), ((), ()))),
    ((3, 0), (0, 5), (((1,), (0,)), ((), ()))),
]


@pytest.mark.parametrize("lhs,rhs,dn", DOTS)
@pytest.mark.parametrize("dtype", [np.float64, np.int32])
def test_dot_general_small(lhs, rhs, dn, dtype):
    rng = np.random.default_rng(10)
    check(lambda x, y: lax.dot_general(x, y, dn), rand(lhs, dtype, rng), rand(rhs, dtype, rng), ulps=64)


@pytest.mark.parametrize(
    "lhs,rhs,dn",
    [
        ((64, 48), (48, 80), (((1,), (0,)), ((), ()))),
        ((48, 64), (80, 48), (((0,), (1,)), ((), ()))),
        ((3, 40, 50), (3, 50, 60), (((2,), (1,)), ((0,), (0,)))),
        ((40, 3, 50), (50, 60, 3), (((2,), (0,)), ((1,), (2,)))),
        ((200, 300), (300,), (((1,), (0,)), ((), ()))),
    ],
)
@pytest.mark.parametrize("dtype", FLOATS)
def test_dot_general_blas(lhs, rhs, dn, dtype):
    rng = np.random.default_rng(11)
    x, y = rand(lhs, dtype, rng), rand(rhs, dtype, rng)
    closed, exe = compiled(lambda x, y: lax.dot_general(x, y, dn), x, y)
    assert "cblas" in exe.llvm_ir
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(exe(x, y)[0], eval_closed(closed, x, y)[0], rtol=rtol, atol=rtol * 50)


# ----------------------------------------------------------------------------------------------
# Calling convention


def test_input_checks_and_conversion():
    x = np.arange(12.0).reshape(3, 4)
    _, exe = compiled(lambda x: x * 2.0, x)
    with pytest.raises(ValueError, match=r"shape \(4, 3\).*compiled for shape \(3, 4\)"):
        exe(x.T.copy())
    with pytest.raises(TypeError, match="dtype float32.*compiled for float64"):
        exe(x.astype(np.float32))
    with pytest.raises(TypeError, match="takes 1 array"):
        exe(x, x)
    np.testing.assert_array_equal(exe(np.asfortranarray(x))[0], x * 2)  # made C-contiguous
    np.testing.assert_array_equal(exe(x.tolist())[0], x * 2)  # converted
    _closed, exe = compiled(lambda s: s + 1.0, np.float64(2.0))
    assert exe(3.0)[0] == 4.0 and exe(np.array(5.0))[0] == 6.0


def test_outputs_are_new_arrays_consts_and_literals():
    c = np.arange(5.0)
    x = np.ones(5)
    closed = fnad.make_jaxpr(lambda x: [x, x * c, x * c, c, lax.reshape(x * c, (5, 1))])(x)
    closed = ClosedJaxpr(
        Jaxpr(
            closed.jaxpr.constvars,
            closed.jaxpr.invars,
            closed.jaxpr.eqns,
            closed.jaxpr.outvars + [closed.jaxpr.outvars[1]],
        ),
        closed.consts,
    )
    exe = compile_jaxpr(closed)
    outs = exe(x)
    want = eval_closed(closed, x)
    for g, w in zip(outs, want):
        np.testing.assert_array_equal(g, w)
    assert not np.shares_memory(outs[0], x) and not np.shares_memory(outs[1], outs[-1])


def test_unsupported_primitive_raises():
    weird = Primitive("my_weird_op")
    a = Var(ShapedArray((3,), np.float32))
    b = Var(ShapedArray((3,), np.float32))
    closed = ClosedJaxpr(Jaxpr([], [a], [Eqn(weird, [a], [b], {})], [b]), [])
    with pytest.raises(NotImplementedError, match="my_weird_op"):
        compile_jaxpr(closed)


def test_compiler_never_traces_a_decomposition():
    """The compiler receives plain IR (fnad expands `decompose` rules before compiling): a primitive
    without a lowering rule is refused by name even when it offers a decomposition, which is never
    called (lowering does not trace)."""
    calls = []
    softplus = Primitive("my_softplus")
    softplus.decompose = lambda aval: (
        calls.append(aval) or fnad.make_jaxpr(lambda v: lax.log1p(lax.exp(v)))(np.zeros(aval.shape, aval.dtype))
    )
    a, b = (Var(ShapedArray((5,), np.float64)) for _ in range(2))
    closed = ClosedJaxpr(Jaxpr([], [a], [Eqn(softplus, [a], [b], {})], [b]), [])
    with pytest.raises(NotImplementedError, match="my_softplus"):
        compile_jaxpr(closed)
    assert calls == []


def test_dispatch_overhead_is_small():
    import timeit

    x, y = np.array(2.0, np.float32), np.array(3.0, np.float32)
    _, exe = compiled(lambda x, y: x * y + 1, x, y)
    assert exe(x, y)[0] == 7.0
    per_call = min(timeit.repeat(lambda: exe(x, y), number=2000, repeat=5)) / 2000
    assert per_call < 20e-6  # generous: ~1 us measured; this only catches a slow path taken by mistake


# ----------------------------------------------------------------------------------------------
# Indexing, cumulative, sorting


@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.bool_])
def test_slicing_padding_joining(dtype):
    rng = np.random.default_rng(12)
    x = rand((4, 5, 3), dtype, rng)
    fill = np.array(1, dtype)
    check(
        lambda x: [
            lax.slice(x, (1, 0, 1), (4, 5, 3), (2, 2, 1)),
            lax.rev(x, (0, 2)),
            x[1],
            x[:, 2:4],
            lax.pad(x, fill, ((1, 2, 1), (0, 0, 0), (-1, 1, 2))),
            lax.pad(x, fill, ((-2, -1, 0), (0, 1, 0), (2, 0, 3))),
            lax.concatenate([x, x[:1], x[2:]], 0),
            lax.concatenate([x, x], 2),
        ],
        x,
    )


def _kernel_count(exe):
    return exe.program.launches


@pytest.mark.parametrize("dtype", [np.float64, np.int32])
def test_pads_fused_as_pieces(dtype):
    rng = np.random.default_rng(21)
    x = rand((4, 5, 3), dtype, rng)
    fill = np.array(2, dtype)
    pads = [
        ((1, 2, 0), (0, 0, 0), (-1, 1, 0)),
        ((-2, -1, 0), (0, 1, 0), (2, 0, 0)),
        ((0, 0, 0), (3, -4, 0), (0, 0, 0)),
        ((-4, 1, 0), (0, 0, 0), (0, 0, 0)),
        ((5, -9, 0), (0, 0, 0), (0, 0, 0)),
    ]

    def f(x, fill):
        outs = [lax.pad(x * 2, fill, cfg) for cfg in pads]  # pads rooting their kernel
        p = lax.pad(x, fill + 1, ((1, 1, 0), (0, 0, 0), (0, 0, 0)))
        outs.append(lax.transpose(p, (2, 0, 1)) + 1)  # read through a transpose
        outs.append(lax.rev(p, (0,))[::2] - lax.pad(x[1:], fill, ((2, 1, 0), (0, 0, 0), (0, 0, 0)))[1::2])
        outs.append(lax.broadcast_in_dim(lax.pad(x[0, 0], fill, ((2, 1, 0),)), (2, 6, 4), (1,)))
        outs.append(
            lax.pad(lax.pad(x, fill, ((1, 0, 0), (0, 0, 0), (0, 0, 0))), fill * 3, ((0, 1, 0), (1, 0, 0), (0, 0, 0)))
        )
        outs.append(lax.pad(x[:0], fill, ((1, 2, 0), (0, 0, 0), (0, 0, 0))))  # all fill
        return outs

    check(f, x, fill)
    # the gradient of a stencil: both slices' transposes (pads) and the sum are one loop
    g = fnad.grad(lambda x: lax.reduce_sum(lax.sin(x[1:] - x[:-1] ** 2), (0,)))
    v = np.linspace(-1, 1, 50)
    exe = check(g, v, ulps=4)
    assert _kernel_count(exe) == 1
    big = np.random.default_rng(3).normal(size=(700, 400))  # threads split the pieces' loops
    exe = check(lambda x: lax.exp(lax.pad(x, 3.0, ((2, -1, 0), (-3, 4, 0)))) + 1, big, ulps=2)
    assert "fnad_parallel_for" in exe.llvm_ir


def test_pads_stay_out_of_reductions_and_within_budget():
    x = np.random.default_rng(22).normal(size=(6, 7))
    many = lambda x: sum(lax.pad(x[k:], 0.0, ((0, k, 0), (0, 0, 0))) for k in range(1, 6))
    check(lambda x: [lax.reduce_sum(lax.pad(x, 1.5, ((1, 2, 0), (0, 0, 0))), (0,)), many(x)], x, ulps=4)
    plan = fusion.plan(fnad.make_jaxpr(many)(x).jaxpr, rules.SCALAR, scope.reusable)
    kernels = [s.kernel for s in plan.steps if s.kernel]
    assert sorted(sum(m.primitive.name == "pad" for m in k.members) for k in kernels) == [1, 1, 3]


def test_layout_reads_of_buffers_are_not_copied():
    """A slice of an input read by two kernels is read in place by each, not stored."""
    x = np.random.default_rng(23).normal(size=(9, 4))

    def f(x):
        s = x[1:, ::2]
        return [lax.reduce_sum(s * s, (1,)), lax.exp(s) + lax.transpose(x, (1, 0))[::2, 1:].T]

    exe = check(f, x, ulps=4)
    assert _kernel_count(exe) == 2
    assert fusion.plan(fnad.make_jaxpr(f)(x).jaxpr, rules.SCALAR, scope.reusable).arena_size == 0


def test_dynamic_slices_clamp():
    x = np.arange(60.0).reshape(4, 5, 3)
    for s in (-3, 0, 2, 9):
        s = np.array(s, np.int32)
        check(
            lambda x, s: [
                lax.dynamic_slice(x, (s, 1, 0), (2, 3, 3)),
                lax.dynamic_update_slice(x, lax.full((2, 2, 3), 7.0, np.float64), (s, s + 1, 0)),
            ],
            x,
            s,
        )


@pytest.mark.parametrize("name", ["scatter", "scatter_add", "scatter_mul", "scatter_min", "scatter_max"])
def test_gather_scatter(name):
    rng = np.random.default_rng(13)
    x = rng.normal(size=(4, 5, 3))
    idx = rng.integers(-1, 6, (7, 2))  # some out of bounds: clamped by gather, dropped by scatter
    idx[3] = idx[5]  # a duplicate
    scatter = getattr(lax, name)
    check(
        lambda x, i: [
            lax.gather(x, i, (0, 1)),
            lax.gather(x, i[:, :1], (2,)),
            scatter(x, i, lax.gather(x, i, (0, 1)) * 3.0, (0, 1)),
        ],
        x,
        idx,
        ulps=1,
    )


@pytest.mark.parametrize("dtype", [np.float64, np.int64])
def test_cumulative(dtype):
    x = rand((4, 6, 3), dtype, np.random.default_rng(14))
    check(
        lambda x: (
            [lax.cumsum(x, a, r) for a in range(3) for r in (False, True)]
            + [lax.cumprod(x, 1), lax.cummax(x, 0, True), lax.cummin(x, 2)]
        ),
        x,
        ulps=4,
    )


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.bool_])
def test_sort(dtype):
    rng = np.random.default_rng(15)
    x = rand((4, 9, 3), dtype, rng, 0, 3)
    if np.dtype(dtype).kind == "f":
        x[0, 1, 1] = x[1, 4, 0] = np.nan
        x[2, 3, 0] = -0.0
    y = rng.integers(0, 3, x.shape)
    check(
        lambda x, y: [
            *lax.sort((x,), 1),
            *lax.sort((x,), 0),
            lax.argsort(x, 2),
            *lax.sort((y, x, y * 2), 1, num_keys=2),
        ],
        x,
        y,
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int8, np.uint8, np.int16, np.int32, np.uint32, np.int64])
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_radix_sort_rows(dtype, data):
    """Rows of `_RADIX_MIN` elements and more with one numeric key are radix sorted: the same bits
    as NumPy's stable sort (NaN last, -0.0 and +0.0 kept in input order, infinities, integer
    extremes), positions of argsort, other operands carried along, along either axis."""
    n = data.draw(st.sampled_from([sort._RADIX_MIN, 257, 1000, 4099]), label="n")
    dt = np.dtype(dtype)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    if dt.kind == "f":
        specials = np.array([np.nan, -0.0, 0.0, np.inf, -np.inf, 1.0, -1.0], dt)
        x = np.where(
            rng.random((2, n)) < 0.3,
            specials[rng.integers(0, 7, (2, n))],
            (rng.standard_normal((2, n)) * 10 ** data.draw(st.integers(-3, 30))).astype(dt),
        )
    else:
        info = np.iinfo(dt)
        pool = np.array([info.min, info.max, 0, 1, info.max // 3], dt)
        x = np.where(
            rng.random((2, n)) < 0.2,
            pool[rng.integers(0, 5, (2, n))],
            rng.integers(info.min, info.max, (2, n), dtype=dt, endpoint=True),
        )
    x = x.astype(dt)
    y = rng.integers(0, 100, x.shape)
    f = lambda x, y: [*lax.sort((x,), 1), lax.argsort(x, 1), *lax.sort((x, y), 1, num_keys=1), *lax.sort((x.T,), 0)]
    got = compiled(f, x, y)[1](x, y)
    want = [
        np.sort(x, 1, kind="stable"),
        np.argsort(x, 1, kind="stable"),
        np.sort(x, 1, kind="stable"),
        np.take_along_axis(y, np.argsort(x, 1, kind="stable"), 1),
        np.sort(x.T, 0, kind="stable"),
    ]
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.tobytes() == w.tobytes()


def test_multi_output_kernels():
    rng = np.random.default_rng(16)
    x = rng.normal(size=(5, 7))
    # e is stored by the kernel that sums it, then read by the division
    exe = check(
        lambda x: [
            lax.exp(x) / lax.broadcast_in_dim(lax.reduce_sum(lax.exp(x), (1,)), x.shape, (0,)),
            lax.exp(x[0, 0]) * 2.0,
            lax.exp(x[0, 0]),
        ],
        x,
        ulps=8,
    )
    assert exe.program.launches == 3


# ----------------------------------------------------------------------------------------------
# Control flow (sub-IRs emitted in place)

needs_control_flow = pytest.mark.skipif(not hasattr(lax, "while_loop"), reason="fnad.lax control flow not present")


@needs_control_flow
def test_cond_switch_while_scan():
    import fnad.numpy as fnp

    x = np.linspace(-1, 1, 5)
    check(
        lambda x: [
            lax.cond(x[0] > 0.5, lambda v: v * 2, lambda v: fnp.sin(v), x),
            lax.cond(x[0] < 0.5, lambda v: v * 2, lambda v: fnp.sin(v), x),
            *[lax.switch(i, [lambda v: v * 2, lambda v: v + 1, lambda v: -v], x) for i in (-1, 1, 5)],
        ],
        x,
        ulps=2,
    )
    check(
        lambda x: lax.while_loop(lambda c: c[0] < 10, lambda c: (c[0] + 1, c[1] * 1.5 + fnp.sum(c[1])), (0, x)),
        x,
        ulps=2,
    )
    check(lambda x: lax.fori_loop(0, 7, lambda i, c: c + i * x, x), x, ulps=2)
    check(lambda x: lax.scan(lambda c, xi: (c + xi, c * xi), 0.0, x), x, ulps=2)
    check(
        lambda x: lax.scan(lambda c, xi: (c * 2 + xi, (c, xi + 1)), x[:2], fnp.stack([x[:2]] * 4), reverse=True),
        x,
        ulps=2,
    )
    check(fnad.grad(lambda x: lax.scan(lambda c, xi: (fnp.sin(c * xi), c), 1.0, x)[0]), x, ulps=4)


def _in_place_results(closed):
    """Results of the top-level jaxpr that the plan writes into their operand's buffer."""
    return set(fusion.plan(closed.jaxpr, rules.SCALAR, scope.reusable).in_place)


def test_in_place_updates_only_of_dead_operands():
    rng = np.random.default_rng(17)
    x, u = rng.normal(size=(6, 4)), rng.normal(size=(2, 4))
    idx = np.array([[1], [4], [1]])
    s = np.array(3, np.int32)

    def f(x, u, s, idx):
        y, z = x * 2.0, x + 1.0
        chained = lax.dynamic_update_slice(lax.dynamic_update_slice(y, u, (s, 0)), u * 3.0, (0, 0))
        kept = lax.dynamic_update_slice(z, u, (s - 2, 0))  # z is read again below: copied
        added = lax.scatter_add(z * 1.5, idx, lax.concatenate([u, u[:1]], 0), (0,))
        return [chained, kept, z * 3.0, added, lax.dynamic_update_slice(x, u, (s, 0)), x]

    x0 = x.copy()
    closed, _ = compiled(f, x, u, s, idx)
    eqns = {e.primitive.name: [] for e in closed.jaxpr.eqns}
    for e in closed.jaxpr.eqns:
        eqns[e.primitive.name].append(e.outvars[0])
    updates = eqns["dynamic_update_slice"]
    assert _in_place_results(closed) == {updates[0], updates[1], eqns["scatter_add"][0]}
    check(f, x, u, s, idx)
    np.testing.assert_array_equal(x, x0)  # an input is never updated in place


@needs_control_flow
def test_in_place_updates_of_loop_carries():
    import fnad.numpy as fnp

    rng = np.random.default_rng(18)
    x = rng.normal(size=(5,))

    def checkpoints(x):  # a chain of in-place updates through while, cond and scan
        def body(c):
            i, v, buf, counts = c
            buf = lax.cond(
                i % 3 == 0, lambda b: lax.dynamic_update_slice(b, v[None] * 2.0, (i // 3, 0)), lambda b: b, buf
            )
            counts = lax.scatter_add(counts, fnp.reshape(i % 4, (1, 1)), fnp.ones((1,)), (0,))
            return i + 1, fnp.sin(v) + 1.0, lax.dynamic_update_slice(buf, v[None], (i % 4, 0)), counts

        init = (0, x, fnp.zeros((4, 5)), fnp.zeros(4))
        out = lax.while_loop(lambda c: c[0] < 11, body, init)
        return list(out) + [
            lax.scan(lambda b, r: (lax.dynamic_update_slice(b, r[None], (1, 0)), b.sum()), out[2], out[2] * 2.0)
        ]

    def swapped(x):  # a carry updated from another carry's buffer is not in place
        def body(c):
            i, a, b = c
            return i + 1, lax.dynamic_update_slice(b, a[:2], (i % 3,)), lax.dynamic_update_slice(a, b[1:], (1,))

        return lax.while_loop(lambda c: c[0] < 6, body, (0, x, x[::-1] * 2.0))

    def read_after(x):  # the old carry is read after its update: the update copies it
        # (the final elementwise kernel then overwrites it)
        def body(c):
            i, a = c
            return i + 1, lax.dynamic_update_slice(a, a[:1] + fnp.sum(a), (i % 5,)) * 0.5 + a

        return lax.while_loop(lambda c: c[0] < 7, body, (0, x))

    # (the counter i + 1, where it is i's last reader, is an elementwise update in place too)
    for f, updated_in_place in ((checkpoints, {0: 0, 2: 2, 3: 3}), (swapped, {}), (read_after, {1: 1})):
        check(f, x, ulps=2)
        loop = next(e for e in fnad.make_jaxpr(f)(x).jaxpr.eqns if e.primitive.name == "while")
        donated = control_flow._donated(loop.params["body_nconsts"], loop.outvars)
        assert (
            fusion.plan(loop.params["body_jaxpr"].jaxpr, rules.SCALAR, scope.reusable, donated).ties == updated_in_place
        )


def test_elementwise_kernels_overwrite_dead_operands():
    """An elemental kernel writes its result over a dead operand it reads only at the element it
    writes: a loop carry updated elementwise needs no scratch buffer and no copy per iteration."""
    rng = np.random.default_rng(19)
    x, a = rng.uniform(1, 2, 1000), rng.uniform(1, 2, 1000)

    def newton(x, a):
        return lax.while_loop(
            lambda c: c[0] < 6, lambda c: (c[0] + 1, 0.5 * (c[1] + a / c[1]), c[2] * a), (0, x, x * 2.0)
        )

    def shifted(x, a):  # the carry is also read one element over: not in place
        return lax.while_loop(lambda c: c[0] < 6, lambda c: (c[0] + 1, c[1] + lax.rev(c[1], (0,)) * 0.1), (0, x))

    def kept(x, a):  # the old carry is read after the update: not in place
        return lax.while_loop(lambda c: c[0] < 6, lambda c: (c[0] + 1, c[1] * 0.5, c[1] + c[2]), (0, x, a))

    for f, tied in ((newton, {0: 1, 1: 2, 2: 3}), (shifted, {0: 0}), (kept, {0: 0, 2: 2})):  # output: input
        check(f, x, a, ulps=4)
        loop = next(e for e in fnad.make_jaxpr(f)(x, a).jaxpr.eqns if e.primitive.name == "while")
        donated = control_flow._donated(loop.params["body_nconsts"], loop.outvars)
        assert fusion.plan(loop.params["body_jaxpr"].jaxpr, rules.SCALAR, scope.reusable, donated).ties == tied
    f = lambda x: lax.exp(x * 3.0) + lax.reduce_sum(x * 3.0, (0,))
    plan = fusion.plan(fnad.make_jaxpr(f)(x).jaxpr, rules.SCALAR, scope.reusable)
    y = plan.steps[0].eqn.outvars[0]  # x * 3.0 is computed into the output, which overwrites it
    assert plan.storage[y] == ("output", 0) and plan.arena_size == 64
    check(f, x, ulps=4)


@needs_control_flow
def test_cond_results_and_dead_operands_in_place(monkeypatch):
    """A cond result that one branch passes through and another computes afresh lives in that
    operand's buffer (a loop carry: no copy per iteration); an intermediate dead after the cond is
    the branches' to overwrite (the loop inside a branch starts from it in place, not from a copy)."""
    import fnad.numpy as fnp

    x = np.random.default_rng(20).uniform(1, 2, 1000)

    def f(x):
        def body(c):
            i, v = c
            t = fnp.exp(v) * 0.5
            w = lax.cond(
                i % 3 == 0,
                lambda v, t: v,
                lambda v, t: (
                    lax.while_loop(lambda d: d[0] < i % 4, lambda d: (d[0] + 1, d[1] * 0.5), (0, t))[1] * 0.1 + v
                ),
                v,
                t,
            )
            return i + 1, w

        return lax.while_loop(lambda c: c[0] < 7, body, (0, x))

    loop = next(e for e in fnad.make_jaxpr(f)(x).jaxpr.eqns if e.primitive.name == "while")
    donated = control_flow._donated(loop.params["body_nconsts"], loop.outvars)
    assert fusion.plan(loop.params["body_jaxpr"].jaxpr, rules.SCALAR, scope.reusable, donated).ties == {0: 0, 1: 1}
    copies = lambda exe: exe.llvm_ir.count(f"i64 {x.nbytes}, i1 0)")  # memcpys of a whole carry
    assert copies(check(f, x, ulps=4)) == 1  # x into the loop's carry, once
    monkeypatch.setattr(fusion, "scratch_operands", lambda plan, n: [])
    assert copies(check(f, x, ulps=4)) == 2  # + t into the inner loop's


# ----------------------------------------------------------------------------------------------
# Linear algebra (LAPACKE / CBLAS per matrix)


def test_linalg():
    from fnad.primitives import linalg as L

    rng = np.random.default_rng(17)
    a = rng.normal(size=(3, 4, 4))
    spd = a @ a.transpose(0, 2, 1) + 4 * np.eye(4)
    not_pd = spd.copy()
    not_pd[1] = -np.eye(4)
    for x in (spd, not_pd):
        closed, exe = compiled(lambda x: L.cholesky(x), x)
        np.testing.assert_allclose(exe(x)[0], eval_closed(closed, x)[0], rtol=1e-12, atol=1e-12)
    b_left, b_right = rng.normal(size=(3, 4, 2)), rng.normal(size=(3, 2, 4))
    flags = list(itertools.product([True, False], repeat=3))
    closed, exe = compiled(
        lambda a, bl, br: (
            [L.triangular_solve(a, bl, True, *f) for f in flags] + [L.triangular_solve(a, br, False, *f) for f in flags]
        ),
        spd,
        b_left,
        b_right,
    )
    for g, w in zip(exe(spd, b_left, b_right), eval_closed(closed, spd, b_left, b_right)):
        np.testing.assert_allclose(g, w, rtol=1e-11, atol=1e-12)
    closed, exe = compiled(lambda x: L.lu(x), a)
    (lu, piv, perm), (lu_w, piv_w, perm_w) = exe(a), eval_closed(closed, a)
    np.testing.assert_array_equal(piv, piv_w)
    np.testing.assert_array_equal(perm, perm_w)
    np.testing.assert_allclose(lu, lu_w, rtol=1e-11, atol=1e-12)
    closed, exe = compiled(lambda x: L.eigh(x), spd)
    (v, w), (v_want, w_want) = exe(spd), eval_closed(closed, spd)
    np.testing.assert_allclose(w, w_want, rtol=1e-12)
    signs = np.sign(np.sum(v * v_want, axis=-2, keepdims=True))  # eigenvectors are defined up to sign
    np.testing.assert_allclose(v * signs, v_want, atol=1e-10)
    tall = rng.normal(size=(2, 5, 3))
    closed, exe = compiled(lambda x: L.qr(x), tall)
    for g, w in zip(exe(tall), eval_closed(closed, tall)):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------------------------------------
# Random programs: fusion (merged axes, multi-output kernels, broadcasts of reductions) vs eager


def _random_program(draw_op, n_ops):
    """f(x) building a DAG from x with ops chosen by `draw_op(options)`; returns three values."""

    def f(x):
        vals = [x]
        for _ in range(n_ops):
            a = vals[draw_op(len(vals))]
            kind = draw_op(9)
            if kind == 0:
                b = vals[draw_op(len(vals))]
                v = a * b if b.shape == a.shape else a * 2.0
            elif kind == 1:
                v = lax.tanh(a) + lax.exp(-a * a)
            elif kind == 2 and a.ndim:
                axes = tuple(sorted({draw_op(a.ndim) for _ in range(draw_op(a.ndim) + 1)}))
                r = lax.reduce_sum(a, axes) if draw_op(2) else lax.reduce_max(a, axes)
                kept = tuple(d for d in range(a.ndim) if d not in axes)
                v = lax.broadcast_in_dim(r, a.shape, kept) - a if draw_op(3) else r
            elif kind == 3 and a.ndim >= 2:
                v = lax.transpose(a, tuple(reversed(range(a.ndim))))
            elif kind == 4 and a.ndim and a.shape[0] > 1:
                v = a[1:] * 3.0
            elif kind == 5 and a.ndim:
                v = lax.reshape(a, (a.size,)) + 1.0
            elif kind == 6 and a.ndim:
                v = lax.rev(a, (0,)) - a
            elif kind == 7 and a.ndim:
                cfg = [(draw_op(5) - 2, draw_op(5) - 2, 0) if draw_op(2) else (0, 0, 0) for _ in range(a.ndim)]
                if all(n + lo + hi >= 0 for n, (lo, hi, _) in zip(a.shape, cfg)):
                    v = lax.pad(a, -1.5, cfg) * 2.0
                else:
                    v = a + 1.0
            else:
                v = lax.expand_dims(lax.sin(a), (0,))
            vals.append(v)
        return vals[-3:]

    return f


@settings(max_examples=25)
@given(st.data(), st.sampled_from([(3, 4, 5), (1, 6, 2), (40, 3, 7)]))
def test_random_fused_programs(data, shape):
    x = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))).normal(size=shape)
    f = _random_program(lambda n: data.draw(st.integers(0, n - 1)), data.draw(st.integers(2, 9)))
    closed, exe = compiled(f, x)
    for g, w in zip(exe(x), eval_closed(closed, x)):  # sums of differences cancel: absolute tolerance
        assert g.shape == np.shape(w)
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-9 * x.size)
