"""Collectives over named axes: psum, pmax, pmin (and pmean), all_gather, psum_scatter, all_to_all,
ppermute and axis_index, with JAX's semantics.

A name is bound either by a vmap (`fnad.vmap(f, axis_name='i')`), whose lanes the collective combines,
or by `fnad.shard_map` over a mesh, whose processes it combines. Under a vmap the batch rules give the
collectives their meaning: `psum` over the vmapped axis is a sum over the batch dimension, `all_gather`
moves it into place, and so on; nothing of them is left after batching, so `jit` of such a program
compiles plain array code. Under shard_map the eager implementations run: they find the binding of
the name (`fnad.core.bound_axis`), a process group with the methods `size`, `index()`, `psum(x)`,
`pmax(x)`, `pmin(x)`, `all_gather(x)` (stacked on a new leading axis), `all_to_all(x)` (leading axis of
size `size`: block j goes to process j, the result stacks the blocks received) and `ppermute(x, perm)`.

The primitives take one name, except the reductions, which take a tuple; tiled forms and tuples of
names are built by the functions below from the untiled one-name primitives and reshapes.
Derivatives follow JAX under vmap: each collective is linear, and the transpose of `psum` is `psum`
(the cotangent of a lane's input sums what every lane's output owes it), of `all_gather` is
`psum_scatter`, of `all_to_all` the reverse all_to_all, of `ppermute` the inverse permutation.
"""

from __future__ import annotations

import math

import numpy as np

from .. import ad_util
from ..core import Primitive, ShapedArray, bound_axis, get_aval, unbound_axis_error
from ..transforms.batching import current_axis, move_bdim
from ..transforms.jvp import defjvp, deflinear
from ..transforms.staging import decomposition
from ..tree_util import tree_map
from .elementwise import add, convert_element_type, div, eq, mul, scalar_like, select
from .indexing import gather
from .reductions import reduce_max, reduce_min, reduce_sum
from .shape import broadcast_in_dim, full, iota, reshape, transpose

# ----------------------------------------------------------------------------------------------
# Axis names and sizes


def _names(axis_name):
    """`axis_name` (a name or a tuple/list of names) as a tuple of names."""
    names = tuple(axis_name) if isinstance(axis_name, (tuple, list)) else (axis_name,)
    if len(set(names)) != len(names):
        raise ValueError(f"repeated axis names in {axis_name!r}")
    return names


def _bound(name):
    binding = bound_axis(name)
    if binding is None:
        raise unbound_axis_error(name)
    return binding


def axis_size(name):
    """The size of the named axis `name` where it is bound: the vmapped size, or the number of
    processes along a mesh axis."""
    kind, what = _bound(name)
    return what if kind == "vmap" else what.size


def _group(name):
    """The process group that binds `name` (the eager path runs only for names bound outside vmap)."""
    return _bound(name)[1]


def _single(axis_name, what):
    names = _names(axis_name)
    if len(names) != 1:
        raise NotImplementedError(f"{what} over several axis names {names} is not supported; use one name")
    return names[0]


def _mesh_axes(names):
    """Those of `names` bound by a shard_map tracking what varies over its axes (a vmap's lanes are
    batched away, never typed)."""
    return [n for n in names if (bound_axis(n) or ("vmap",))[0] == "mesh"]


def _varies_along_its_axis(in_vmas, axis_name, **params):
    """The `vma_rule` of a collective whose result differs between the processes along its axis
    (all_gather, psum_scatter, all_to_all, ppermute, axis_index): its inputs' axes and `axis_name` when
    a shard_map tracking them binds it."""
    return [frozenset().union(*in_vmas, _mesh_axes((axis_name,)))]


def _check_axis(what, axis, ndim):
    if not isinstance(axis, (int, np.integer)) or not 0 <= axis < ndim:
        raise ValueError(f"{what}={axis!r} is out of range for a result of rank {ndim}")
    return int(axis)


# ----------------------------------------------------------------------------------------------
# psum, pmax, pmin: reductions over a tuple of names


def _reduction(name, batch_reduce, unbatched, prim=None):
    prim = Primitive(name) if prim is None else prim
    prim.axis_names = lambda params: params["axes"]

    def impl(x, axes):
        for axis in axes:
            x = getattr(_group(axis), name)(np.asarray(x))
        return x

    def batch(vals, dims, axes):
        (x,), (d,) = vals, dims
        axis, size = current_axis()
        if axis not in axes:  # a collective over other axes, run by each lane of this one
            return prim.bind(x, axes=axes), d
        y = unbatched(x, size) if d is None else batch_reduce(x, (d,))
        rest = tuple(a for a in axes if a != axis)
        return (prim.bind(y, axes=rest) if rest else y), None

    prim.impl = impl
    prim.abstract_eval = lambda a, axes: a
    prim.batch = batch
    prim.vma_rule = lambda in_vmas, axes: [in_vmas[0] - set(axes)]  # the result is the same along `axes`
    return prim


# psum is declared in fnad.ad_util: reverse mode binds it (to sum cotangents over the processes that used a value).
psum_p = _reduction("psum", reduce_sum, lambda x, n: mul(x, scalar_like(x, n)), ad_util.psum_p)
pmax_p = _reduction("pmax", reduce_max, lambda x, n: x)
pmin_p = _reduction("pmin", reduce_min, lambda x, n: x)


def _psum_transpose(ct, x, axes):
    # Every lane's or process's output owes a share to each input that varies along `axes`: under vmap
    # (no vma) the cotangent sums over the lanes. Inside shard_map, an input varying over a mesh axis
    # gets the cotangent itself (the output, the same everywhere, took one copy of it from each
    # process); an input the same on every process was counted once per process.
    summed = tuple(a for a in axes if a not in x.aval.vma)
    return [psum_p.bind(ct, axes=summed) if summed else ct]


deflinear(psum_p, _psum_transpose)


def _extremum_jvp(prim):
    # The tangent of the lane(s) holding the extremum; ties share it equally (as lax.reduce_max).
    def rule(g, ans, x, axes):
        mask = convert_element_type(eq(x, ans), get_aval(g).dtype)
        return div(psum_p.bind(mul(g, mask), axes=axes), psum_p.bind(mask, axes=axes))

    defjvp(prim, rule)


_extremum_jvp(pmax_p)
_extremum_jvp(pmin_p)


def _reduce_tree(prim, x, axis_name):
    axes = _names(axis_name)
    return tree_map(lambda v: prim.bind(v, axes=axes), x)


def psum(x, axis_name):
    """The sum of `x` (a pytree of arrays) over the named axis or axes `axis_name`: every lane of a
    named `vmap` (or every process of a `shard_map` mesh axis) gets the total.

    >>> import numpy as np, fnad; from fnad import lax
    >>> fnad.vmap(lambda x: lax.psum(x, "i"), axis_name="i")(np.array([1.0, 2.0, 3.0]))
    Array([6., 6., 6.], dtype=float64)
    >>> fnad.vmap(lambda x: x * lax.psum(1, "i"), axis_name="i")(np.array([1.0, 2.0]))  # the axis size
    Array([2., 4.], dtype=float64)
    """
    return _reduce_tree(psum_p, x, axis_name)


def pmax(x, axis_name):
    """The maximum of `x` (a pytree) over the named axis or axes `axis_name`, given to every lane.

    >>> import numpy as np, fnad; from fnad import lax
    >>> fnad.vmap(lambda x: lax.pmax(x, "i"), axis_name="i")(np.array([1.0, 5.0, 3.0]))
    Array([5., 5., 5.], dtype=float64)
    """
    return _reduce_tree(pmax_p, x, axis_name)


def pmin(x, axis_name):
    """The minimum of `x` (a pytree) over the named axis or axes `axis_name`, given to every lane.

    >>> import numpy as np, fnad; from fnad import lax
    >>> fnad.vmap(lambda x: lax.pmin(x, "i"), axis_name="i")(np.array([4.0, 2.0, 3.0]))
    Array([2., 2., 2.], dtype=float64)
    """
    return _reduce_tree(pmin_p, x, axis_name)


# ----------------------------------------------------------------------------------------------
# pvary: mark a value as varying over mesh axes (inside shard_map), as JAX's lax.pvary

# pvary is declared in fnad.ad_util: the zero tangents of varying values are made with it.
pvary_p = ad_util.pvary_p
pvary_p.axis_names = lambda params: params["axes"]  # so a shard_map body stages it (it never communicates)
pvary_p.impl = lambda x, axes: x
pvary_p.abstract_eval = lambda a, axes: a
pvary_p.vma_rule = lambda in_vmas, axes: [in_vmas[0].union(_mesh_axes(axes))]
pvary_p.batch = lambda vals, dims, axes: (vals[0], dims[0])
# The cotangent of the varying copies, summed back over the axes by reverse mode (fnad.ad_util.cotangent_like).
deflinear(pvary_p, lambda ct, x, axes: [ct])
pvary_p.decompose = decomposition(lambda x, axes: [x])


def pvary(x, axis_name):
    """`x` (a pytree) marked as varying over the mesh axes `axis_name` inside a `shard_map` body, as
    JAX's lax.pvary: the values are unchanged, but reverse mode now sums their cotangents over those
    axes. A loop whose body makes an invariant carry vary needs its initial value marked so.

    >>> import numpy as np, fnad; from fnad import lax
    >>> fnad.vmap(lambda x: lax.pvary(x, "i"), axis_name="i")(np.array([1.0, 2.0]))   # a value unchanged
    Array([1., 2.], dtype=float64)
    """
    axes = _names(axis_name)
    return tree_map(lambda v: pvary_p.bind(v, axes=axes), x)


def pmean(x, axis_name):
    """The mean of `x` (a pytree) over the named axis or axes `axis_name`: `psum` divided by the
    number of lanes. Integer inputs give float64 means (as JAX's true division).

    >>> import numpy as np, fnad; from fnad import lax
    >>> fnad.vmap(lambda x: lax.pmean(x, "i"), axis_name="i")(np.array([1.0, 2.0, 6.0]))
    Array([3., 3., 3.], dtype=float64)
    """
    names = _names(axis_name)
    n = math.prod(axis_size(a) for a in names)

    def leaf(v):
        total = psum_p.bind(v, axes=names)
        if not np.issubdtype(get_aval(total).dtype, np.inexact):
            total = convert_element_type(total, np.float64)
        return div(total, scalar_like(total, n))

    return tree_map(leaf, x)


# ----------------------------------------------------------------------------------------------
# all_gather and psum_scatter (each other's transpose)

all_gather_p = Primitive("all_gather")
all_gather_p.axis_names = lambda params: (params["axis_name"],)
all_gather_p.vma_rule = _varies_along_its_axis


def _all_gather_eval(a, axis_name, axis, axis_size):
    _check_axis("all_gather axis", axis, a.ndim + 1)
    return a.update(shape=a.shape[:axis] + (axis_size,) + a.shape[axis:])


def _all_gather_impl(x, axis_name, axis, axis_size):
    return np.moveaxis(_group(axis_name).all_gather(np.asarray(x)), 0, axis)


def _all_gather_batch(vals, dims, axis_name, axis, axis_size):
    (x,), (d,) = vals, dims
    name, size = current_axis()
    if name != axis_name:
        x = move_bdim(x, d, 0, None)
        return all_gather_p.bind(x, axis_name=axis_name, axis=axis + 1, axis_size=axis_size), 0
    return move_bdim(x, d, axis, size), None  # the lanes, stacked at `axis`, are the same for every lane


all_gather_p.impl = _all_gather_impl
all_gather_p.abstract_eval = _all_gather_eval
all_gather_p.batch = _all_gather_batch

psum_scatter_p = Primitive("psum_scatter")
psum_scatter_p.axis_names = lambda params: (params["axis_name"],)
psum_scatter_p.vma_rule = _varies_along_its_axis


def _psum_scatter_eval(a, axis_name, scatter_dimension, axis_size):
    d = _check_axis("psum_scatter scatter_dimension", scatter_dimension, a.ndim)
    if a.shape[d] != axis_size:
        raise ValueError(
            f"psum_scatter: the scatter_dimension {d} of the operand (shape {a.shape}) must have the size "
            f"of the axis {axis_name!r} ({axis_size}); use tiled=True to scatter blocks of a multiple of it"
        )
    return a.update(shape=a.shape[:d] + a.shape[d + 1 :])


def _psum_scatter_impl(x, axis_name, scatter_dimension, axis_size):
    group = _group(axis_name)
    return np.take(group.psum(np.asarray(x)), group.index(), axis=scatter_dimension)


def _psum_scatter_batch(vals, dims, axis_name, scatter_dimension, axis_size):
    (x,), (d,) = vals, dims
    name, size = current_axis()
    if name != axis_name:
        x = move_bdim(x, d, 0, None)
        return psum_scatter_p.bind(
            x, axis_name=axis_name, scatter_dimension=scatter_dimension + 1, axis_size=axis_size
        ), 0
    total = mul(x, scalar_like(x, size)) if d is None else reduce_sum(x, (d,))
    return total, scatter_dimension  # lane k takes entry k of the scatter dimension


psum_scatter_p.impl = _psum_scatter_impl
psum_scatter_p.abstract_eval = _psum_scatter_eval
psum_scatter_p.batch = _psum_scatter_batch

deflinear(
    all_gather_p,
    lambda ct, x, axis_name, axis, axis_size: [
        psum_scatter_p.bind(ct, axis_name=axis_name, scatter_dimension=axis, axis_size=axis_size)
    ],
)
deflinear(
    psum_scatter_p,
    lambda ct, x, axis_name, scatter_dimension, axis_size: [
        all_gather_p.bind(ct, axis_name=axis_name, axis=scatter_dimension, axis_size=axis_size)
    ],
)


def _merge(x, axis):
    """`x` with its axes `axis` and `axis + 1` merged into one (the first major)."""
    shape = get_aval(x).shape
    return reshape(x, shape[:axis] + (shape[axis] * shape[axis + 1],) + shape[axis + 2 :])


def _split(x, axis, n, what):
    """`x` with its axis `axis` split into (n, size / n)."""
    shape = get_aval(x).shape
    if shape[axis] % n:
        raise ValueError(f"{what}: the size {shape[axis]} of axis {axis} is not divisible by the axis size {n}")
    return reshape(x, shape[:axis] + (n, shape[axis] // n) + shape[axis + 1 :])


def all_gather(x, axis_name, *, axis=0, tiled=False):
    """Every lane's `x` (a pytree), stacked along a new axis `axis` in lane order, given to every lane;
    with `tiled=True`, concatenated along the existing axis `axis` instead. A tuple of names gathers
    over all of them (the first name major).

    >>> import numpy as np, fnad; from fnad import lax
    >>> fnad.vmap(lambda x: lax.all_gather(x, "i"), axis_name="i")(np.array([1.0, 2.0]))
    Array([[1., 2.],
           [1., 2.]], dtype=float64)
    >>> fnad.vmap(lambda x: lax.all_gather(x, "i", tiled=True), axis_name="i")(np.ones((2, 2)))[0]
    Array([1., 1., 1., 1.], dtype=float64)
    """
    names = _names(axis_name)

    def leaf(v):
        ndim = get_aval(v).ndim
        ax = _check_axis("all_gather axis", axis, ndim if tiled else ndim + 1)
        for name in reversed(names):  # gather the last name first: the first ends up major
            v = all_gather_p.bind(v, axis_name=name, axis=ax, axis_size=axis_size(name))
        for _ in range(len(names) - 1 + bool(tiled)):
            v = _merge(v, ax)
        return v

    return tree_map(leaf, x)


def psum_scatter(x, axis_name, *, scatter_dimension=0, tiled=False):
    """The sum of `x` over the named axis, scattered: lane k gets entry k of `scatter_dimension`
    (whose size must be the axis size), or with `tiled=True` the k-th of equal blocks of it.

    >>> import numpy as np, fnad; from fnad import lax
    >>> fnad.vmap(lambda x: lax.psum_scatter(x, "i"), axis_name="i")(np.array([[1.0, 2.0], [3.0, 4.0]]))
    Array([4., 6.], dtype=float64)
    """
    name = _single(axis_name, "psum_scatter")
    n = axis_size(name)

    def leaf(v):
        d = _check_axis("psum_scatter scatter_dimension", scatter_dimension, get_aval(v).ndim)
        if tiled:
            v = _split(v, d, n, "psum_scatter")
        _psum_scatter_eval(get_aval(v), name, d, n)  # the shape check, also where no abstract_eval runs (vmap)
        return psum_scatter_p.bind(v, axis_name=name, scatter_dimension=d, axis_size=n)

    return tree_map(leaf, x)


# ----------------------------------------------------------------------------------------------
# all_to_all

all_to_all_p = Primitive("all_to_all")
all_to_all_p.axis_names = lambda params: (params["axis_name"],)
all_to_all_p.vma_rule = _varies_along_its_axis


def _all_to_all_eval(a, axis_name, split_axis, concat_axis, axis_size):
    s = _check_axis("all_to_all split_axis", split_axis, a.ndim)
    c = _check_axis("all_to_all concat_axis", concat_axis, a.ndim)
    if a.shape[s] != axis_size:
        raise ValueError(
            f"all_to_all: the split_axis {s} of the operand (shape {a.shape}) must have the size of the "
            f"axis {axis_name!r} ({axis_size}); use tiled=True to split it into blocks"
        )
    rest = a.shape[:s] + a.shape[s + 1 :]
    return a.update(shape=rest[:c] + (axis_size,) + rest[c:])


def _all_to_all_impl(x, axis_name, split_axis, concat_axis, axis_size):
    received = _group(axis_name).all_to_all(np.moveaxis(np.asarray(x), split_axis, 0))
    return np.moveaxis(received, 0, concat_axis)


def _all_to_all_batch(vals, dims, axis_name, split_axis, concat_axis, axis_size):
    (x,), (d,) = vals, dims
    name, size = current_axis()
    if name != axis_name:
        x = move_bdim(x, d, 0, None)
        out = all_to_all_p.bind(
            x, axis_name=axis_name, split_axis=split_axis + 1, concat_axis=concat_axis + 1, axis_size=axis_size
        )
        return out, 0
    # x as (lane, *shape): lane k receives block k of every lane's split axis, stacked at concat_axis.
    x = move_bdim(x, d, 0, size)
    ndim = get_aval(x).ndim - 1
    rest = [1 + i for i in range(ndim) if i != split_axis]
    rest.insert(concat_axis, 0)
    return transpose(x, (1 + split_axis, *rest)), 0


all_to_all_p.impl = _all_to_all_impl
all_to_all_p.abstract_eval = _all_to_all_eval
all_to_all_p.batch = _all_to_all_batch
deflinear(
    all_to_all_p,
    lambda ct, x, axis_name, split_axis, concat_axis, axis_size: [
        all_to_all_p.bind(ct, axis_name=axis_name, split_axis=concat_axis, concat_axis=split_axis, axis_size=axis_size)
    ],
)


def all_to_all(x, axis_name, split_axis, concat_axis, *, tiled=False):
    """Split `x` along `split_axis` into one block per lane, send block j to lane j, and stack the
    blocks received along a new axis `concat_axis` (in lane order); with `tiled=True` the split
    axis is cut into equal blocks and they are concatenated along the existing `concat_axis`.

    >>> import numpy as np, fnad; from fnad import lax
    >>> fnad.vmap(lambda x: lax.all_to_all(x, "i", 0, 0), axis_name="i")(np.array([[1.0, 2.0], [3.0, 4.0]]))
    Array([[1., 3.],
           [2., 4.]], dtype=float64)
    """
    name = _single(axis_name, "all_to_all")
    n = axis_size(name)

    def leaf(v):
        ndim = get_aval(v).ndim
        s = _check_axis("all_to_all split_axis", split_axis, ndim)
        c = _check_axis("all_to_all concat_axis", concat_axis, ndim)
        if tiled:
            v = _split(v, s, n, "all_to_all")
        _all_to_all_eval(get_aval(v), name, s, c, n)  # the shape check, also where no abstract_eval runs (vmap)
        v = all_to_all_p.bind(v, axis_name=name, split_axis=s, concat_axis=c, axis_size=n)
        return _merge(v, c) if tiled else v

    return tree_map(leaf, x)


# ----------------------------------------------------------------------------------------------
# ppermute and axis_index

ppermute_p = Primitive("ppermute")
ppermute_p.axis_names = lambda params: (params["axis_name"],)
ppermute_p.vma_rule = _varies_along_its_axis
ppermute_p.abstract_eval = lambda a, axis_name, perm: a
ppermute_p.impl = lambda x, axis_name, perm: _group(axis_name).ppermute(np.asarray(x), perm)


def _ppermute_batch(vals, dims, axis_name, perm):
    (x,), (d,) = vals, dims
    name, size = current_axis()
    if name != axis_name:
        return ppermute_p.bind(x, axis_name=axis_name, perm=perm), d
    x = move_bdim(x, d, 0, size)
    source = {dst: src for src, dst in perm}
    rows = np.array([[source.get(k, 0)] for k in range(size)], np.int64)
    out = gather(x, rows, (0,))
    if len(source) < size:  # lanes no one sends to get zeros
        aval = get_aval(out)
        received = np.array([k in source for k in range(size)])
        out = select(broadcast_in_dim(received, aval.shape, (0,)), out, full(aval.shape, 0, aval.dtype))
    return out, 0


ppermute_p.batch = _ppermute_batch
deflinear(
    ppermute_p,
    lambda ct, x, axis_name, perm: [ppermute_p.bind(ct, axis_name=axis_name, perm=tuple((d, s) for s, d in perm))],
)


def ppermute(x, axis_name, perm):
    """Send `x` (a pytree) from lane `src` to lane `dst` for each pair `(src, dst)` of `perm`; a lane
    no pair sends to receives zeros. Sources and destinations must each be distinct.

    >>> import numpy as np, fnad; from fnad import lax
    >>> fnad.vmap(lambda x: lax.ppermute(x, "i", [(0, 1), (1, 2), (2, 0)]), axis_name="i")(np.array([1.0, 2.0, 3.0]))
    Array([3., 1., 2.], dtype=float64)
    """
    name = _single(axis_name, "ppermute")
    n = axis_size(name)
    pairs = tuple((int(s), int(d)) for s, d in perm)
    for what, ends in (("source", [s for s, _ in pairs]), ("destination", [d for _, d in pairs])):
        if len(set(ends)) != len(ends):
            raise ValueError(f"ppermute: perm {list(perm)} repeats a {what}")
        if any(not 0 <= e < n for e in ends):
            raise ValueError(f"ppermute: perm {list(perm)} has a {what} outside the axis {name!r} of size {n}")
    return tree_map(lambda v: ppermute_p.bind(v, axis_name=name, perm=pairs), x)


axis_index_p = Primitive("axis_index")
axis_index_p.axis_names = lambda params: (params["axis_name"],)
axis_index_p.vma_rule = _varies_along_its_axis
axis_index_p.abstract_eval = lambda axis_name: ShapedArray((), np.int32)
axis_index_p.impl = lambda axis_name: np.int32(_group(axis_name).index())
# Only the vmap binding the name runs this rule (axis_index has no operand batched by another).
axis_index_p.batch = lambda vals, dims, axis_name: (iota(np.int32, current_axis()[1]), 0)


def axis_index(axis_name):
    """The index (int32) of this lane along the named axis; for a tuple of names, the index in
    their product (the first name major).

    >>> import numpy as np, fnad; from fnad import lax
    >>> fnad.vmap(lambda x: x + lax.axis_index("i"), axis_name="i")(np.zeros(3, np.int32))
    Array([0, 1, 2], dtype=int32)
    """
    names = _names(axis_name)
    index = None
    for name in names:
        i = axis_index_p.bind(axis_name=name)
        index = i if index is None else add(mul(index, scalar_like(index, axis_size(name))), i)
    return index
