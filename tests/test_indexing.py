"""Indexing: `x[idx]` and `x.at[idx]` on traced arrays against NumPy over random shapes and index
patterns (ints, slices with any step, None, Ellipsis, integer arrays, concrete boolean masks),
through jvp (concrete tracers), vmap (batched operand or batched indices, vs a Python loop) and
reverse mode (check_grads); the lax-level indexing primitives against independent NumPy
references, with every combination of batched operands; and the error messages."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fnad
import fnad.numpy as fnp
from fnad import lax
from fnad.core import Tracer
from fnad.test_util import check_grads


def loop(f, args, in_axes):
    """vmap's meaning: f on each slice of the batched arguments, stacked along axis 0."""
    size = next(np.shape(a)[ax] for a, ax in zip(args, in_axes) if ax is not None)
    return np.stack(
        [
            np.asarray(f(*[a if ax is None else np.take(a, b, axis=ax) for a, ax in zip(args, in_axes)]))
            for b in range(size)
        ]
    )


def floats(shape, rng):
    return rng.standard_normal(shape)


# ----------------------------------------------------------------------------------------------
# Index patterns: one entry per axis (int, slice, integer array, boolean mask or whole axis), then
# a run of whole axes may become '...', trailing whole axes may be dropped, and Nones inserted.


@st.composite
def index_cases(draw, arrays=True, masks=True):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    batch = draw(st.sampled_from([(), (2,), (3,), (2, 1), (1, 3)]))
    entries = []
    for n in shape:
        kinds = (
            ["all", "slice"]
            + (["int"] if n else [])
            + (["array"] if n and arrays else [])
            + (["mask"] if masks else [])
        )
        kind = draw(st.sampled_from(kinds))
        if kind == "int":
            entries.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            entries.append(draw(st.slices(n)))
        elif kind == "array":
            entries.append(
                draw(hnp.arrays(np.int64, draw(st.sampled_from([batch, ()])), elements=st.integers(-n, n - 1)))
            )
        elif kind == "mask":
            entries.append(draw(hnp.arrays(np.bool_, (n,))))
        else:
            entries.append(slice(None))
    whole = [i for i, e in enumerate(entries) if isinstance(e, slice) and e == slice(None)]
    if whole and draw(st.booleans()):
        start = draw(st.sampled_from(whole))
        stop = start
        while stop + 1 in whole and draw(st.booleans()):
            stop += 1
        entries[start : stop + 1] = [Ellipsis]
    elif draw(st.booleans()):
        while entries and isinstance(entries[-1], slice) and entries[-1] == slice(None):
            entries.pop()
    for _ in range(draw(st.integers(0, 2))):
        entries.insert(draw(st.integers(0, len(entries))), None)
    idx = tuple(entries)
    if len(idx) == 1 and draw(st.booleans()):
        idx = idx[0]
    return shape, idx


def numpy_accepts(shape, idx):
    try:
        np.zeros(shape)[idx]
    except IndexError:
        return False
    return True


def _array_positions(idx):
    items = idx if isinstance(idx, tuple) else (idx,)
    return [i for i, e in enumerate(items) if isinstance(e, np.ndarray) and e.dtype != np.bool_]


def _replace(idx, position, value):
    if not isinstance(idx, tuple):
        return value
    return idx[:position] + (value,) + idx[position + 1 :]


@settings(max_examples=60)
@given(index_cases(), st.data())
def test_getitem_under_jvp_matches_numpy(case, data):
    shape, idx = case
    rng = np.random.default_rng(data.draw(st.integers(0, 99)))
    x, t = floats(shape, rng), floats(shape, rng)
    if not numpy_accepts(shape, idx):  # e.g. a mask and an array that do not broadcast together
        with pytest.raises(IndexError):
            fnad.jvp(lambda x: x[idx], (x,), (t,))
        return
    out, tangent = fnad.jvp(lambda x: x[idx], (x,), (t,))
    np.testing.assert_array_equal(out, x[idx])
    np.testing.assert_array_equal(tangent, t[idx])


@settings(max_examples=40)
@given(index_cases(), st.integers(1, 3))
def test_getitem_vmap_over_operand_matches_loop(case, size):
    shape, idx = case
    assume(numpy_accepts(shape, idx))
    xs = floats((size,) + shape, np.random.default_rng(1))
    np.testing.assert_array_equal(fnad.vmap(lambda x: x[idx])(xs), loop(lambda x: x[idx], [xs], [0]))


@settings(max_examples=40)
@given(index_cases(masks=False), st.booleans(), st.data())
def test_getitem_vmap_over_indices_matches_loop(case, batch_operand, data):
    """Traced integer index arrays (and traced integer scalars) at one position of the index."""
    shape, idx = case
    assume(numpy_accepts(shape, idx))
    positions = _array_positions(idx)
    if not positions:
        return
    position = data.draw(st.sampled_from(positions))
    entry = (idx if isinstance(idx, tuple) else (idx,))[position]
    stacked = np.stack([entry, -entry - 1, np.flip(entry)])  # stays within [-n, n)
    xs = floats((3,) + shape if batch_operand else shape, np.random.default_rng(2))
    # (a NumPy array cannot be indexed by a tracer: jvp makes the unbatched operand a traced value)
    f = lambda x, i: fnad.jvp(lambda y: y[_replace(idx, position, i)], (x,), (x,))[1]
    in_axes = (0 if batch_operand else None, 0)
    np.testing.assert_array_equal(fnad.vmap(f, in_axes)(xs, stacked), loop(f, [xs, stacked], in_axes))


@settings(max_examples=15)
@given(index_cases(), st.data())
def test_getitem_derivatives_match_finite_differences(case, data):
    shape, idx = case
    assume(numpy_accepts(shape, idx))
    x = floats(shape, np.random.default_rng(data.draw(st.integers(0, 99))))
    check_grads(lambda x: x[idx], (x,), order=2)


def test_advanced_index_placement_follows_numpy():
    """Advanced indices separated by a slice (or None) put their batch axes first; adjacent ones in place."""
    x = np.arange(2 * 3 * 4 * 5.0).reshape(2, 3, 4, 5)
    i, j = np.array([[0, 1]]), np.array([[2], [1]])
    for idx in [
        (slice(None), i, j),
        (i, slice(None), j),
        (0, slice(None), j),
        (slice(None), 0, j),
        (i, None, j),
        (Ellipsis, i, j),
        (i, j, Ellipsis, 0),
        (slice(None), i, slice(1, 3), j),
    ]:
        out = fnad.jvp(lambda x: x[idx], (x,), (x,))[0]
        assert out.shape == x[idx].shape, idx
        np.testing.assert_array_equal(out, x[idx])


def test_traced_out_of_bounds_reads_clamp_and_negative_indices_wrap():
    x = np.arange(5.0)
    got = fnad.vmap(lambda i: fnp.asarray(x)[i] if False else fnad.jvp(lambda y: y[i], (x,), (x,))[0])(
        np.array([-1, -5, 4, 7, -9])
    )
    np.testing.assert_array_equal(got, [4.0, 0.0, 4.0, 4.0, 0.0])


def test_multidimensional_concrete_mask():
    x = np.arange(24.0).reshape(2, 3, 4)
    mask = x[..., 0] % 3 == 0
    out, tangent = fnad.jvp(lambda x: x[mask], (x,), (2 * x,))
    np.testing.assert_array_equal(out, x[mask])
    np.testing.assert_array_equal(tangent, 2 * x[mask])


# ----------------------------------------------------------------------------------------------
# x.at[idx]

UPDATES = {"set": None, "add": np.add, "multiply": np.multiply, "min": np.minimum, "max": np.maximum}


def numpy_update(x, idx, op, values):
    out = np.array(x, copy=True)
    if op == "set":
        out[idx] = values
    else:
        UPDATES[op].at(out, idx, values)
    return out


@settings(max_examples=50)
@given(index_cases(), st.sampled_from(sorted(UPDATES)), st.booleans(), st.data())
def test_at_updates_match_numpy(case, op, full_values, data):
    shape, idx = case
    assume(numpy_accepts(shape, idx))
    rng = np.random.default_rng(data.draw(st.integers(0, 99)))
    x = floats(shape, rng)
    target = x[idx].shape
    values = floats(target if full_values else target[len(target) // 2 :], rng)
    out = fnad.jvp(lambda x: getattr(x.at[idx], op)(values), (x,), (x,))[0]
    np.testing.assert_allclose(out, numpy_update(x, idx, op, values), rtol=1e-15)


@settings(max_examples=20)
@given(index_cases(masks=False), st.sampled_from(sorted(UPDATES)), st.data())
def test_at_update_derivatives(case, op, data):
    """Derivatives w.r.t. the operand and the values, duplicates included (distinct values so that
    min/max have no ties)."""
    shape, idx = case
    assume(numpy_accepts(shape, idx))
    target = np.zeros(shape)[idx].shape
    size = int(np.prod(shape)) + int(np.prod(target))
    vals = data.draw(st.permutations(range(size))).__iter__()
    vals = np.array(list(vals), np.float64) * 0.37 - size * 0.1 + 0.05
    x, values = vals[: int(np.prod(shape))].reshape(shape), vals[int(np.prod(shape)) :].reshape(target)

    def f(x, v):  # fnad on traced values, NumPy's own semantics on the finite-difference evaluations
        return getattr(x.at[idx], op)(v) if isinstance(x, Tracer) else numpy_update(x, idx, op, v)

    check_grads(f, (x, values), order=1)


def test_at_add_accumulates_duplicates_and_set_takes_one():
    x = np.zeros(4)
    idx = np.array([1, 1, 3, 1])
    v = np.array([1.0, 2.0, 3.0, 4.0])
    f = lambda x, v: (x.at[idx].add(v), x.at[idx].set(v), x.at[idx].multiply(v + 1), x.at[idx].max(v))
    add, set_, mul, mx = fnad.jvp(f, (x, v), (x, v))[0]
    np.testing.assert_array_equal(add, [0, 7, 0, 3])
    np.testing.assert_array_equal(set_, [0, 4, 0, 3])  # NumPy's assignment order: the last one
    np.testing.assert_array_equal(mul, [0, 0, 0, 0])
    np.testing.assert_array_equal(mx, [0, 4, 0, 3])
    # d/dv of a set with duplicates: only the update that landed counts
    g = fnad.grad(lambda x, v: x.at[idx].set(v).sum(), argnums=(0, 1))(x + 1.0, v)
    np.testing.assert_array_equal(g[0], [1, 0, 1, 0])
    np.testing.assert_array_equal(g[1], [0, 0, 1, 1])
    g = fnad.grad(lambda x, v: x.at[idx].multiply(v).sum(), argnums=(0, 1))(np.ones(4), v)
    np.testing.assert_array_equal(g[1], [8.0, 4.0, 1.0, 2.0])


@pytest.mark.parametrize("op", sorted(UPDATES))
def test_at_with_traced_indices_drops_out_of_bounds(op):
    x = np.arange(1.0, 6.0)
    indices = np.array([0, -1, -5, 4, 5, 9, -6, -20])

    def reference(i):
        return numpy_update(x, i, op, 10.0) if -5 <= i < 5 else x

    got = fnad.vmap(lambda i: fnad.jvp(lambda y: getattr(y.at[i], op)(10.0), (x,), (x,))[0])(indices)
    np.testing.assert_array_equal(got, np.stack([reference(i) for i in indices]))


def test_at_vmap_over_operand_indices_and_values():
    rng = np.random.default_rng(3)
    xs, vs = floats((3, 4, 5), rng), floats((3, 2, 5), rng)
    ids = np.array([[0, 0], [3, -1], [1, 2]])
    f = lambda x, i, v: fnad.jvp(lambda y: y.at[i].add(v), (x,), (x,))[0]  # x traced even when unbatched
    for in_axes in [(0, 0, 0), (0, None, None), (None, 0, None), (None, None, 0), (0, 0, None), (None, 0, 0)]:
        args = [a if ax is not None else a[0] for a, ax in zip([xs, ids, vs], in_axes)]
        expected = loop(lambda x, i, v: numpy_update(x, i, "add", v), args, in_axes)
        np.testing.assert_allclose(fnad.vmap(f, in_axes)(*args), expected, rtol=1e-15)


def test_at_get_with_fill():
    x = np.arange(4.0)
    got = fnad.vmap(lambda i: fnad.jvp(lambda y: y.at[i].get(mode="fill", fill_value=-1.0), (x,), (x,))[0])(
        np.array([0, 3, 4, -5])
    )
    np.testing.assert_array_equal(got, [0.0, 3.0, -1.0, -1.0])


# ----------------------------------------------------------------------------------------------
# Errors


def traced(f, x):
    return fnad.jvp(f, (x,), (np.zeros_like(x),))[0]


def test_static_index_out_of_range_clamps_as_in_jax():
    x = np.arange(6.0).reshape(2, 3)
    # jnp.arange(6.).reshape(2, 3)[0, 3] and [np.array([0, -3])] (jax 0.10.2): clamped, not an error
    np.testing.assert_array_equal(traced(lambda x: x[0, 3], x), 2.0)
    np.testing.assert_array_equal(traced(lambda x: x[np.array([0, -3])], x), [[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]])
    with pytest.raises(IndexError, match=r"out of bounds for axis 0 with size 0 \(array shape \(0, 3\)\)"):
        traced(lambda x: x[1], np.zeros((0, 3)))
    with pytest.raises(IndexError, match="too many indices"):
        traced(lambda x: x[0, 0, 0], np.zeros((2, 3)))


def test_traced_boolean_mask_error_suggests_where():
    with pytest.raises(fnad.ConcretizationError, match="where"):
        fnad.vmap(lambda x: x[x > 0])(np.ones((2, 3)))


def test_inplace_assignment_points_to_at():
    def f(x):
        x[0] = 1.0
        return x

    with pytest.raises(TypeError, match=r"\.at\[idx\]\.set"):
        fnad.grad(lambda x: f(x).sum())(np.ones(3))


def test_traced_slice_bounds_error_points_to_dynamic_slice():
    with pytest.raises(IndexError, match="dynamic_slice"):
        fnad.vmap(lambda x, i: x[i:])(np.ones((2, 3)), np.array([0, 1]))


def test_float_index_is_an_index_error():
    with pytest.raises(IndexError, match="integer"):
        traced(lambda x: x[np.array([0.5])], np.zeros(3))


# ----------------------------------------------------------------------------------------------
# lax-level primitives against independent references


def pad_reference(x, value, config):
    """Each output position maps back to an operand position or to the padding value."""
    out_shape = [lo + hi + n + max(n - 1, 0) * i for n, (lo, hi, i) in zip(x.shape, config)]
    out = np.full(out_shape, value, x.dtype)
    for pos in np.ndindex(*out_shape):
        src = []
        for p, n, (lo, _, i) in zip(pos, x.shape, config):
            q, r = divmod(p - lo, i + 1)
            src.append(q if r == 0 and 0 <= q < n else None)
        if None not in src:
            out[pos] = x[tuple(src)]
    return out


@st.composite
def pad_cases(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=0, max_side=3))
    config = []
    for n in shape:
        interior = draw(st.integers(0, 2))
        full = n + max(n - 1, 0) * interior
        lo = draw(st.integers(-full, 2))
        hi = draw(st.integers(-(full + lo) if full + lo > 0 else min(0, -(full + lo)), 2))
        if lo + hi + full < 0:
            hi = -(lo + full)
        config.append((lo, hi, interior))
    return shape, tuple(config)


@settings(max_examples=30)
@given(pad_cases())
def test_pad_matches_reference_and_derivatives(case):
    shape, config = case
    rng = np.random.default_rng(4)
    x = floats(shape, rng)
    np.testing.assert_array_equal(lax.pad(x, 0.5, config), pad_reference(x, 0.5, config))
    check_grads(lambda x, v: lax.pad(x, v, config), (x, np.array(0.5)), order=2)
    xs, vs = floats((2,) + shape, rng), np.array([1.0, 2.0])
    f = lambda x, v: lax.pad(x, v, config)
    for in_axes in [(0, None), (None, 0), (0, 0)]:
        args = [a if ax is not None else a[0] for a, ax in zip([xs, vs], in_axes)]
        np.testing.assert_array_equal(fnad.vmap(f, in_axes)(*args), loop(f, args, in_axes))


@settings(max_examples=30)
@given(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4), st.data())
def test_dynamic_slice_and_update_clamp_like_jax(shape, data):
    sizes = tuple(data.draw(st.integers(0, n)) for n in shape)
    starts = [data.draw(st.integers(-3, n + 3)) for n in shape]
    rng = np.random.default_rng(5)
    x, u = floats(shape, rng), floats(sizes, rng)
    clamped = [min(max(s, 0), n - m) for s, n, m in zip(starts, shape, sizes)]
    window = tuple(slice(s, s + m) for s, m in zip(clamped, sizes))
    np.testing.assert_array_equal(lax.dynamic_slice(x, starts, sizes), x[window])
    expected = x.copy()
    expected[window] = u
    np.testing.assert_array_equal(lax.dynamic_update_slice(x, u, starts), expected)
    check_grads(lambda x: lax.dynamic_slice(x, starts, sizes), (x,), order=1)
    check_grads(lambda x, u: lax.dynamic_update_slice(x, u, starts), (x, u), order=1)


@settings(max_examples=20)
@given(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=4), st.integers(1, 3), st.data())
def test_dynamic_slice_and_update_vmap_over_any_operands(shape, size, data):
    sizes = tuple(data.draw(st.integers(0, n)) for n in shape)
    rng = np.random.default_rng(6)
    xs, us = floats((size,) + shape, rng), floats((size,) + sizes, rng)
    starts = rng.integers(-2, max(shape) + 2, (len(shape), size))
    n = len(shape)
    ds = lambda x, *s: lax.dynamic_slice(x, s, sizes)
    dus = lambda x, u, *s: lax.dynamic_update_slice(x, u, s)
    for mask in range(2 ** (n + 2)):
        batched = [bool(mask >> k & 1) for k in range(n + 2)]
        if not any(batched):
            continue
        axes = [0 if b else None for b in batched]
        args = [a if b else a[0] for a, b in zip([xs, us] + list(starts), batched)]
        if any(batched[:1] + batched[2:]):
            in_axes = axes[:1] + axes[2:]
            sub = args[:1] + args[2:]
            np.testing.assert_array_equal(fnad.vmap(ds, in_axes)(*sub), loop(ds, sub, in_axes))
        np.testing.assert_array_equal(fnad.vmap(dus, axes)(*args), loop(dus, args, axes))


def gather_reference(x, idx, axes):
    rest = [d for d in range(x.ndim) if d not in axes]
    out = np.empty(idx.shape[:-1] + tuple(x.shape[d] for d in rest), x.dtype)
    for b in np.ndindex(*idx.shape[:-1]):
        where = [slice(None)] * x.ndim
        for j, d in enumerate(axes):
            where[d] = min(max(int(idx[b + (j,)]), 0), x.shape[d] - 1)
        out[b] = x[tuple(where)]
    return out


def scatter_reference(x, idx, updates, axes, op):
    out = x.copy()
    for b in np.ndindex(*idx.shape[:-1]):
        point = [int(idx[b + (j,)]) for j in range(len(axes))]
        if any(not 0 <= p < x.shape[d] for p, d in zip(point, axes)):
            continue
        where = [slice(None)] * x.ndim
        for p, d in zip(point, axes):
            where[d] = p
        where = tuple(where)
        out[where] = updates[b] if op is None else op(out[where], updates[b])
    return out


SCATTERS = [
    (lax.scatter, None),
    (lax.scatter_add, np.add),
    (lax.scatter_mul, np.multiply),
    (lax.scatter_min, np.minimum),
    (lax.scatter_max, np.maximum),
]


@st.composite
def gather_cases(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3))
    axes = tuple(draw(st.lists(st.integers(0, len(shape) - 1), unique=True, min_size=1)))
    batch = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3))
    idx = draw(hnp.arrays(np.int64, batch + (len(axes),), elements=st.integers(-2, 4)))
    return shape, axes, idx


@settings(max_examples=30)
@given(gather_cases(), st.sampled_from(range(len(SCATTERS))), st.data())
def test_gather_and_scatter_match_references_and_vmap(case, which, data):
    shape, axes, idx = case
    scatter, op = SCATTERS[which]
    rng = np.random.default_rng(7)
    x = floats(shape, rng)
    gathered = lax.gather(x, idx, axes)
    np.testing.assert_array_equal(gathered, gather_reference(x, idx, axes))
    u = floats(gathered.shape, rng)
    np.testing.assert_array_equal(scatter(x, idx, u, axes), scatter_reference(x, idx, u, axes, op))
    size = data.draw(st.integers(1, 3))
    xs, us = floats((size,) + shape, rng), floats((size,) + u.shape, rng)
    ids = np.stack([idx] + [np.roll(idx, k) for k in range(1, size)])
    g = lambda x, i: lax.gather(x, i, axes)
    s = lambda x, i, u: scatter(x, i, u, axes)
    for mask in range(1, 8):
        b = [bool(mask >> k & 1) for k in range(3)]
        axes3 = [0 if v else None for v in b]
        args = [a if v else a[0] for a, v in zip([xs, ids, us], b)]
        np.testing.assert_array_equal(fnad.vmap(s, axes3)(*args), loop(s, args, axes3))
        if mask < 4:
            np.testing.assert_array_equal(fnad.vmap(g, axes3[:2])(*args[:2]), loop(g, args[:2], axes3[:2]))


@settings(max_examples=15)
@given(gather_cases())
def test_gather_and_scatter_add_derivatives(case):
    shape, axes, idx = case
    rng = np.random.default_rng(8)
    x = floats(shape, rng)
    u = floats(lax.gather(x, idx, axes).shape, rng)
    check_grads(lambda x: lax.gather(x, idx, axes), (x,), order=2)
    check_grads(lambda x, u: lax.scatter_add(x, idx, u, axes), (x, u), order=2)
    check_grads(lambda x, u: lax.scatter_mul(x, idx, u, axes), (x, u), order=1)


def test_scatter_mul_derivative_is_exact_with_zero_updates():
    x = np.array([2.0, 3.0])
    idx = np.array([[0], [0], [0], [1]])
    u = np.array([0.0, 5.0, 7.0, 0.0])
    g = fnad.grad(lambda u: lax.scatter_mul(x, idx, u, (0,)).sum())(u)
    np.testing.assert_array_equal(g, [2 * 35.0, 0.0, 0.0, 3.0])


def test_concatenate_and_rev():
    rng = np.random.default_rng(9)
    a, b = floats((2, 3), rng), floats((2, 1), rng)
    np.testing.assert_array_equal(lax.concatenate([a, b, a], 1), np.concatenate([a, b, a], 1))
    np.testing.assert_array_equal(lax.rev(a, (0, 1)), a[::-1, ::-1])
    check_grads(lambda a, b: lax.rev(lax.concatenate([a, b, a], 1), (1,)), (a, b), order=2)
    f = lambda a, b: lax.concatenate([a, b], 0)
    np.testing.assert_array_equal(fnad.vmap(f, (1, None))(a, b[:, 0]), loop(f, [a, b[:, 0]], [1, None]))


def test_abstract_eval_errors_name_the_op_and_shapes():
    with pytest.raises(ValueError, match=r"concatenate along axis 0: operand shapes \(2, 3\), \(2, 4\)"):
        fnad.make_jaxpr(lambda x: lax.concatenate([x, np.zeros((2, 4))], 0))(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"slice: 0:5:1 is not a valid slice of axis 0 of operand shape \(3,\)"):
        fnad.make_jaxpr(lambda x: lax.slice(x, (0,), (5,)))(np.zeros(3))
    with pytest.raises(ValueError, match=r"scatter_add: updates f64\[3\] must have"):
        fnad.make_jaxpr(lambda x: lax.scatter_add(x, np.zeros((2, 1), np.int64), np.zeros(3), (0,)))(np.zeros(3))
    with pytest.raises(TypeError, match="gather: indices must be integers"):
        fnad.make_jaxpr(lambda x: lax.gather(x, np.zeros((2, 1)), (0,)))(np.zeros(3))
