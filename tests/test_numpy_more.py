"""fnad.numpy joining/splitting, padding, triangles, sorting, cumulative ops, einsum, ... from one
table: each entry is a call `call(m, *arrays)` written once for m = numpy and m = fnad.numpy, and a
strategy for the arrays. Checked: eager equals NumPy, traced (under jvp) equals NumPy, derivatives
against central finite differences (check_grads), vmap over the first argument against a loop."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fnad
import fnad.numpy as fnp
from fnad.test_util import check_grads
from fnad.tree_util import tree_leaves, tree_map

pytestmark = pytest.mark.filterwarnings("ignore:Arrays of 2-dimensional vectors:DeprecationWarning")


def shapes(min_dims=1, max_dims=3, min_side=1, max_side=4):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def distinct(shape):
    """Floats all distinct (so sorts and extrema have no ties: finite differences are valid there)."""
    n = int(np.prod(shape))
    return st.permutations(range(n)).map(lambda p: (np.asarray(p, np.float64) * 0.37 - n * 0.15).reshape(shape))


def floats(shape):
    return hnp.arrays(np.float64, shape, elements=st.floats(-2, 2, allow_nan=False).map(lambda v: round(v, 3)))


def one(shape_strategy, values=floats):
    return shape_strategy.flatmap(values).map(lambda a: (a,))


def two(shape_pair, values=floats):
    return shape_pair.flatmap(lambda s: st.tuples(values(s[0]), values(s[1])))


def same_rows():
    """Two shapes equal except along axis 1."""
    return shapes(2, 3).flatmap(lambda s: st.integers(1, 3).map(lambda k: (s, s[:1] + (k,) + s[2:])))


class Fn:
    def __init__(self, name, call, args, grad=True, vmap=True, order=1):
        self.name, self.call, self.args, self.grad, self.vmap, self.order = name, call, args, grad, vmap, order

    def __repr__(self):
        return self.name


EINSUMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 2)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("ij->", [(2, 3)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("...ij,...jk->...ik", [(2, 2, 3), (3, 2)]),
    ("i,i", [(3,), (3,)]),
    ("i,j->ij", [(2,), (3,)]),
    ("ij,kj,k->i", [(2, 3), (4, 3), (4,)]),
    ("iij->j", [(2, 2, 3)]),
    ("ab,bc,cd,de->ae", [(2, 3), (3, 1), (1, 4), (4, 2)]),
    ("...i,...i->...", [(2, 1, 3), (4, 3)]),
    ("ji", [(2, 3)]),
    ("i,i->i", [(3,), (3,)]),
]

TABLE = [
    Fn("concatenate", lambda m, a, b: m.concatenate([a, b], axis=1), two(same_rows())),
    Fn("concatenate-none", lambda m, a, b: m.concatenate([a, b], axis=None), two(st.tuples(shapes(), shapes()))),
    Fn("stack", lambda m, a, b: m.stack([a, b, a], axis=-1), two(shapes().map(lambda s: (s, s)))),
    Fn("hstack", lambda m, a, b: m.hstack([a, b]), two(same_rows())),
    Fn("vstack", lambda m, a, b: m.vstack([a, b]), two(shapes(1, 1).map(lambda s: (s, s)))),
    Fn("dstack", lambda m, a, b: m.dstack([a, b]), two(shapes(1, 2).map(lambda s: (s, s)))),
    Fn("column_stack", lambda m, a, b: m.column_stack([a, b]), two(shapes(1, 1).map(lambda s: (s, s)))),
    Fn("split", lambda m, a: m.split(a, 2, axis=-1), one(shapes().map(lambda s: s[:-1] + (2 * s[-1],)))),
    Fn("split-indices", lambda m, a: m.split(a, [1, -1, 10], axis=0), one(shapes())),
    Fn("array_split", lambda m, a: m.array_split(a, 3, axis=0), one(shapes())),
    Fn("tile", lambda m, a: m.tile(a, (2, 1, 3)), one(shapes(0, 3))),
    Fn("repeat", lambda m, a: m.repeat(a, 3, axis=-1), one(shapes())),
    Fn("repeat-array", lambda m, a: m.repeat(a, np.arange(a.shape[0]) % 3, axis=0), one(shapes())),
    Fn("repeat-flat", lambda m, a: m.repeat(a, 2), one(shapes(0, 2))),
    Fn("flip", lambda m, a: m.flip(a), one(shapes(0, 3))),
    Fn("flip-axis", lambda m, a: m.flip(a, (0, -1)), one(shapes(2, 3))),
    Fn("fliplr", lambda m, a: m.fliplr(a), one(shapes(2, 3))),
    Fn("flipud", lambda m, a: m.flipud(a), one(shapes())),
    Fn("roll", lambda m, a: m.roll(a, 5), one(shapes())),
    Fn("roll-axes", lambda m, a: m.roll(a, (-1, 2), axis=(0, -1)), one(shapes())),
    Fn("pad-constant", lambda m, a: m.pad(a, ((1, 0),) + ((0, 2),) * (a.ndim - 1), constant_values=1.5), one(shapes())),
    Fn("pad-pairs", lambda m, a: m.pad(a, 1, constant_values=((1, 2), (3, 4))), one(shapes(2, 2))),
    *[
        Fn(f"pad-{mode}", (lambda mode: lambda m, a: m.pad(a, ((2, 3),) * a.ndim, mode=mode))(mode), one(shapes(1, 2)))
        for mode in ("edge", "reflect", "symmetric", "wrap")
    ],
    Fn("take", lambda m, a: m.take(a, np.array([[0, -1], [1, 0]]), axis=0), one(shapes(min_side=2))),
    Fn("take-flat", lambda m, a: m.take(a, np.array([3, -2, 0]) % a.size), one(shapes())),
    Fn("take-wrap", lambda m, a: m.take(a, np.array([7, -9]), axis=-1, mode="wrap"), one(shapes())),
    Fn("take-clip", lambda m, a: m.take(a, np.array([7, -9]), axis=-1, mode="clip"), one(shapes())),
    Fn(
        "take_along_axis",
        lambda m, a: m.take_along_axis(a, np.argsort(a, axis=-1)[..., ::-1], -1),
        one(shapes(), distinct),
    ),
    Fn("take_along_axis-bcast", lambda m, a: m.take_along_axis(a, np.array([[0, -1]]), 1), one(shapes(2, 2))),
    Fn("tril", lambda m, a: m.tril(a, -1), one(shapes(1, 3))),
    Fn("triu", lambda m, a: m.triu(a, 1), one(shapes(2, 3))),
    Fn("diag-1d", lambda m, a: m.diag(a, 1), one(shapes(1, 1))),
    Fn("diag-1d-neg", lambda m, a: m.diag(a, -2), one(shapes(1, 1))),
    Fn("diag-2d", lambda m, a: m.diag(a, -1), one(shapes(2, 2))),
    Fn("diagflat", lambda m, a: m.diagflat(a), one(shapes(1, 2, max_side=3))),
    Fn("kron", lambda m, a, b: m.kron(a, b), two(st.tuples(shapes(1, 2, max_side=3), shapes(1, 3, max_side=2)))),
    Fn("cross", lambda m, a, b: m.cross(a, b), two(shapes(1, 2, max_side=3).map(lambda s: (s[:-1] + (3,),) * 2))),
    Fn("cross-2-3", lambda m, a, b: m.cross(a, b, axisa=0), two(st.just(((2, 4), (4, 3))))),
    Fn("sort", lambda m, a: m.sort(a, axis=0), one(shapes(), distinct)),
    Fn("sort-flat", lambda m, a: m.sort(a, axis=None), one(shapes(), distinct)),
    Fn("argsort", lambda m, a: m.argsort(a, axis=-1, kind="stable"), one(shapes()), grad=False),
    Fn("cumsum", lambda m, a: m.cumsum(a, axis=-1), one(shapes(1, 3, min_side=0))),
    Fn("cumsum-flat", lambda m, a: m.cumsum(a), one(shapes(0, 2))),
    Fn("cumprod", lambda m, a: m.cumprod(a, axis=0), one(shapes(1, 3, min_side=0)), order=2),
    Fn("diff", lambda m, a: m.diff(a, axis=0), one(shapes())),
    Fn("diff-2", lambda m, a: m.diff(a, n=2, append=0.5, prepend=a[..., :1] * 0 + 1), one(shapes())),
    Fn("meshgrid-xy", lambda m, a, b: m.meshgrid(a, b, a), two(st.tuples(shapes(1, 1), shapes(1, 1)))),
    Fn(
        "meshgrid-ij-sparse",
        lambda m, a, b: m.meshgrid(a, b, indexing="ij", sparse=True),
        two(st.tuples(shapes(1, 1), shapes(1, 2))),
    ),
    Fn(
        "searchsorted",
        lambda m, a, b: m.searchsorted(m.sort(a), b, side="right"),
        two(st.tuples(shapes(1, 1), shapes(0, 2))),
        grad=False,
    ),
    Fn(
        "select",
        lambda m, a, b: m.select([a > 0, b > 0.5], [a, b * 2], default=-1.0),
        two(shapes().map(lambda s: (s, s)), lambda s: distinct(s).map(lambda v: v + 0.05)),
    ),
    *[
        Fn(
            f"einsum-{spec}",
            (lambda spec: lambda m, *ops: m.einsum(spec, *ops))(spec),
            st.tuples(*[floats(s) for s in shps]),
        )
        for spec, shps in EINSUMS
    ],
]


def _close(actual, expected, what):
    for a, e in zip(tree_leaves(actual), tree_leaves(expected)):
        a, e = np.asarray(a), np.asarray(e)
        assert a.shape == e.shape and a.dtype == e.dtype, f"{what}: got {a.dtype}{a.shape}, expected {e.dtype}{e.shape}"
        np.testing.assert_allclose(a, e, rtol=1e-13, atol=1e-13, err_msg=what)
    assert len(tree_leaves(actual)) == len(tree_leaves(expected)), what


table = pytest.mark.parametrize("fn", TABLE, ids=repr)


@table
@settings(max_examples=8)
@given(data=st.data())
def test_traced_matches_numpy(fn, data):
    args = data.draw(fn.args)
    expected = fn.call(np, *args)
    _close(fn.call(fnp, *args), expected, f"{fn} eager")
    primal = fnad.jvp(lambda *a: fn.call(fnp, *a), args, tuple(np.zeros_like(a) for a in args))[0]
    _close(primal, expected, f"{fn} traced (jvp)")


@pytest.mark.parametrize("fn", [f for f in TABLE if f.grad], ids=repr)
@settings(max_examples=4)
@given(data=st.data())
def test_derivatives_match_finite_differences(fn, data):
    args = data.draw(fn.args)
    check_grads(lambda *a: fn.call(fnp, *a), args, order=fn.order)


@table
@settings(max_examples=4)
@given(data=st.data())
def test_vmap_matches_loop(fn, data):
    """vmap over a batch of the first argument (the others unbatched)."""
    first, *rest = data.draw(fn.args)
    batch = np.stack([first, first[::-1] if first.ndim else first + 1.0, first * 0.5 - 0.25])
    f = lambda x: fn.call(fnp, x, *rest)
    expected = tree_map(lambda *xs: np.stack(xs), *[fn.call(np, x, *rest) for x in batch])
    _close(fnad.vmap(f)(batch), expected, f"{fn} vmap")


# ----------------------------------------------------------------------------------------------
# Details the table does not reach


def test_sort_puts_nan_last_and_argsort_is_stable():
    x = np.array([3.0, np.nan, -1.0, 3.0, -np.inf, np.nan, 0.0])
    f = lambda x: (fnp.sort(x), fnp.argsort(x))
    s, a = fnad.jvp(f, (x,), (np.zeros(7),))[0]
    np.testing.assert_array_equal(s, np.sort(x))
    np.testing.assert_array_equal(a, np.argsort(x, kind="stable"))
    ties = np.array([[1, 0, 1, 0, 1]] * 2)
    np.testing.assert_array_equal(fnad.vmap(fnp.argsort)(ties), np.argsort(ties, axis=-1, kind="stable"))


def test_sort_jvp_permutes_tangents():
    x, t = np.array([0.3, -1.0, 2.0, 0.1]), np.array([1.0, 2.0, 3.0, 4.0])
    _out, tangent = fnad.jvp(fnp.sort, (x,), (t,))
    np.testing.assert_array_equal(tangent, t[np.argsort(x)])


def test_multi_key_lax_sort_is_lexicographic_and_stable():
    keys = np.array([2, 1, 2, 1, 0, 2])
    second = np.array([0.5, 0.7, 0.1, 0.7, 0.9, 0.1])
    payload = np.arange(6.0)
    k, _s, p = fnad.lax.sort([keys, second, payload], num_keys=2)
    order = np.lexsort([second, keys])
    np.testing.assert_array_equal(p, payload[order])
    np.testing.assert_array_equal(k, keys[order])


def test_cumulative_dtypes_follow_numpy():
    for dtype in (np.int32, np.int64, np.bool_, np.float32, np.uint8):
        x = np.arange(1, 7).reshape(2, 3).astype(dtype)
        for name in ("cumsum", "cumprod"):
            got = fnad.vmap(getattr(fnp, name))(x)
            expected = getattr(np, name)(x, axis=-1)
            assert got.dtype == expected.dtype, (name, dtype, got.dtype)
            np.testing.assert_array_equal(got, expected)


def test_cumprod_derivative_is_exact_at_zeros():
    x = np.array([2.0, 0.0, 3.0, 0.0, 5.0])
    jac = fnad.jacfwd(lambda x: fnp.cumprod(x))(x)
    expected = np.zeros((5, 5))
    for i in range(5):
        for j in range(i + 1):
            expected[i, j] = np.prod(np.delete(x[: i + 1], j))
    np.testing.assert_array_equal(jac, expected)
    np.testing.assert_array_equal(fnad.jacrev(lambda x: fnp.cumprod(x))(x), expected)


@pytest.mark.parametrize("name", ["cummax", "cummin"])
@pytest.mark.parametrize("reverse", [False, True])
def test_lax_cummax_cummin(name, reverse):
    rng = np.random.default_rng(0)
    x = rng.permutation(12).astype(np.float64).reshape(3, 4)
    f = lambda x: getattr(fnad.lax, name)(x, axis=1, reverse=reverse)
    acc = (np.maximum if name == "cummax" else np.minimum).accumulate
    expected = np.flip(acc(np.flip(x, 1), axis=1), 1) if reverse else acc(x, axis=1)
    np.testing.assert_array_equal(f(x), expected)
    check_grads(f, (x,), order=2)
    np.testing.assert_array_equal(fnad.vmap(f, in_axes=1, out_axes=1)(np.stack([x, -x], 1)), np.stack([f(x), f(-x)], 1))


def test_roll_with_traced_shift():
    x = np.arange(10.0).reshape(2, 5)
    shifts = np.array([0, 3, -7, 12])
    got = fnad.vmap(lambda s: fnad.jvp(lambda y: fnp.roll(y, s, axis=1), (x,), (x,))[0])(shifts)
    np.testing.assert_array_equal(got, np.stack([np.roll(x, s, axis=1) for s in shifts]))


def test_pad_with_traced_constant_value():
    x = np.arange(6.0).reshape(2, 3)
    values = np.array([1.0, -2.0])
    got = fnad.vmap(lambda v: fnp.pad(x, ((1, 0), (0, 2)), constant_values=v))(values)
    np.testing.assert_array_equal(got, np.stack([np.pad(x, ((1, 0), (0, 2)), constant_values=v) for v in values]))
    g = fnad.grad(lambda v: fnp.pad(x, 1, constant_values=v).sum())(2.0)
    assert g == np.pad(x, 1).size - x.size


def test_stack_of_traced_scalars_builds_arrays():
    f = lambda x: fnp.array([[x, 2 * x], [x * x, 1.0]])
    out, tangent = fnad.jvp(f, (3.0,), (1.0,))
    np.testing.assert_array_equal(out, [[3.0, 6.0], [9.0, 1.0]])
    np.testing.assert_array_equal(tangent, [[1.0, 2.0], [6.0, 0.0]])


def test_einsum_lowers_to_dot_general():
    a, b = np.ones((2, 3)), np.ones((3, 4))
    ir = fnad.make_jaxpr(lambda a, b: fnp.einsum("ij,jk->ki", a, b))(a, b)
    assert [e.primitive.name for e in ir.jaxpr.eqns] == ["dot_general", "transpose"]


def test_data_dependent_shapes_need_concrete_values():
    x = np.array([0.0, 2.0, 0.0, 2.0, 1.0])
    out = fnad.jvp(lambda x: (fnp.nonzero(x)[0], fnp.unique(x), fnp.argwhere(x)), (x,), (x,))
    np.testing.assert_array_equal(out[0][0], np.nonzero(x)[0])
    np.testing.assert_array_equal(out[0][1], np.unique(x))
    np.testing.assert_array_equal(out[1][1], np.unique(x))  # the tangent of unique's values
    for f in (fnp.nonzero, fnp.unique, fnp.argwhere, lambda x: fnp.repeat(x, x.astype(int))):
        with pytest.raises(fnad.ConcretizationError, match="concrete"):
            fnad.vmap(f)(np.ones((2, 3)))


def test_errors_name_the_function():
    with pytest.raises(ValueError, match="equal division"):
        fnad.vmap(lambda x: fnp.split(x, 2))(np.ones((2, 3)))
    with pytest.raises(ValueError, match="same shape"):
        fnad.vmap(lambda x: fnp.stack([x, x[:1]]))(np.ones((2, 3)))
    with pytest.raises(ValueError, match="einsum: label 'j' has sizes 3 and 2"):
        fnad.vmap(lambda x: fnp.einsum("ij,jk", x, np.ones((2, 2))))(np.ones((2, 2, 3)))
    with pytest.raises(NotImplementedError, match="mode='mean'"):
        fnad.vmap(lambda x: fnp.pad(x, 1, mode="mean"))(np.ones((2, 3)))


def test_diagonal_under_jit_keeps_infinite_neighbours_and_signed_zeros():
    # A mask-and-sum diagonal gave NaN next to an infinite off-diagonal entry (0 * inf) and +0.0 for -0.0.
    a = np.array([[1.0, np.inf, -np.inf], [np.nan, -0.0, 2.0]])
    for offset in (-1, 0, 1, 2):
        expected = np.diagonal(a, offset)
        got = fnad.jit(lambda a, k=offset: fnp.diagonal(a, k))(a)
        np.testing.assert_array_equal(got, expected)
        assert np.array_equal(np.signbit(got), np.signbit(expected))


def test_clip_takes_jaxs_min_and_max_keywords_and_numpys():
    x = np.arange(6.0)
    want = np.clip(x, 1.0, 4.0)
    for got in (
        fnp.clip(x, min=1.0, max=4.0),
        fnp.clip(x, a_min=1.0, a_max=4.0),
        fnp.clip(x, 1.0, max=4.0),
        fnad.jit(lambda v: fnp.clip(v, min=1.0, max=4.0))(x),
        fnp.asarray(x).clip(min=1.0, max=4.0),
    ):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(fnad.grad(lambda v: fnp.sum(fnp.clip(v, max=2.5)))(x), x < 2.5)
    with pytest.raises(TypeError, match="once"):
        fnp.clip(x, 1.0, min=2.0)


@pytest.mark.parametrize("shape", [(4, 6), (-1,), (3, 2, 4), 24, (2, -1, 3)])
def test_reshape_and_ravel_in_fortran_order_as_numpy(shape):
    a = np.arange(24.0).reshape(2, 3, 4)
    want = np.reshape(a, shape, order="F")
    for f in (lambda v: fnp.reshape(v, shape, order="F"), fnad.jit(lambda v: fnp.asarray(v).reshape(shape, order="F"))):
        np.testing.assert_array_equal(f(a), want)
    np.testing.assert_array_equal(fnp.ravel(a, order="F"), np.ravel(a, order="F"))
    ct = np.random.default_rng(0).normal(size=want.shape)  # the transpose of an F-order reshape is one back
    grad = fnad.grad(lambda v: fnp.sum(fnp.reshape(v, shape, order="F") * ct))(a)
    np.testing.assert_array_equal(grad, np.reshape(ct, a.shape, order="F"))
    with pytest.raises(NotImplementedError, match="'A'"):
        fnp.reshape(a, shape, order="A")


def test_array_copy_false_copies_only_where_needed_as_in_jax():
    np.testing.assert_array_equal(fnp.array([1, 2], copy=False), [1, 2])  # NumPy 2 raises here; JAX copies
    x = np.arange(3.0)
    y = fnp.array(x, copy=True)
    x[0] = 5.0
    assert y[0] == 0.0
