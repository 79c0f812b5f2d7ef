"""fnad.numpy's products: matmul, matvec, vecmat, vecdot, dot, vdot, inner, outer, tensordot, kron, cross,
einsum (and einsum_path), and the 1-d convolve and correlate, which become dot_general (plus gathers,
reductions and elementwise products) when traced."""

from __future__ import annotations

import builtins

import numpy as np

from ..core import ShapeError, get_aval
from ..primitives import elementwise as ew
from ..primitives import indexing as ix
from ..primitives import shape as sh
from ..primitives.dot import dot_general
from ..primitives.reductions import reduce_sum
from ._core import asarray_traced, broadcast_arrays, convert, normalize_axis, numpy_when_eager, promoted, result_type
from ._core import shape_of as _shape
from ._elementwise import conjugate, multiply, subtract
from ._joining import stack
from ._shapes import moveaxis, ndim, ravel, reshape

# einsum's subscript letters (_LETTERS: importing `string` took 1 ms of `import fnad`)
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _matmul_traced(a, b):
    dt, weak = result_type(a, b)
    a, b = convert(asarray_traced(a), dt, weak), convert(asarray_traced(b), dt, weak)
    sa, sb = get_aval(a).shape, get_aval(b).shape
    if not sa or not sb:
        raise ValueError(
            "matmul: input operand does not have enough dimensions (0-d arrays are not allowed; use multiply or *)"
        )
    va, vb = len(sa) == 1, len(sb) == 1
    if va:
        a, sa = sh.reshape(a, (1,) + sa), (1,) + sa
    if vb:
        b, sb = sh.reshape(b, sb + (1,)), sb + (1,)
    if sa[-1] != sb[-2]:
        raise ShapeError(
            f"matmul: shapes {get_aval(a).shape if not va else sa[1:]} and "
            f"{sb if not vb else sb[:-1]} are not aligned: contraction sizes {sa[-1]} != {sb[-2]}"
        )
    batch = np.broadcast_shapes(sa[:-2], sb[:-2])
    nb = len(batch)
    if sa[:-2] != batch:
        a = sh.broadcast_to_rank_shape(a, batch + sa[-2:])
    if sb[:-2] != batch:
        b = sh.broadcast_to_rank_shape(b, batch + sb[-2:])
    bd = tuple(range(nb))
    out = dot_general(a, b, (((nb + 1,), (nb,)), (bd, bd)))
    if va:
        out = sh.squeeze(out, (nb,))
    if vb:
        out = sh.squeeze(out, (get_aval(out).ndim - 1,))
    return out


def _matmul_eager(a, b):
    try:
        return np.matmul(a, b)
    except ValueError as e:
        raise ValueError(f"matmul: shapes {np.shape(a)} and {np.shape(b)} are not aligned ({e})") from None


@numpy_when_eager(_matmul_eager)
def matmul(a, b):
    """Matrix product with NumPy's `@` rules: 1-d operands are vectors, leading axes broadcast as
    batch axes. Traced calls bind one `dot_general`.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> fnp.matmul(a, np.array([1.0, 1.0]))
    Array([3., 7.], dtype=float64)
    >>> fnad.grad(lambda a: fnp.sum(a @ a))(a)
    Array([[ 7., 11.],
           [ 9., 13.]], dtype=float64)
    """
    return _matmul_traced(a, b)


@numpy_when_eager(np.dot)
def dot(a, b):
    """numpy.dot: a product for scalars, the matrix product for 1-d/2-d operands, otherwise a contraction of
    a's last axis with b's second-to-last.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> fnp.dot(a, np.array([1.0, -1.0]))
    Array([-1., -1.], dtype=float64)
    >>> fnad.grad(lambda v: fnp.dot(v, v))(np.array([1.0, 2.0]))
    Array([2., 4.], dtype=float64)
    """
    if ndim(a) == 0 or ndim(b) == 0:
        return multiply(a, b)
    if ndim(b) <= 2:
        return _matmul_traced(a, b)
    # N-d dot: contract a's last axis with b's second-to-last
    return tensordot(a, b, axes=((ndim(a) - 1,), (ndim(b) - 2,)))


def vdot(a, b):
    """The dot product of the flattened operands, the first one complex-conjugated (as numpy.vdot).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.vdot(np.array([[1.0, 2.0], [3.0, 4.0]]), np.ones((2, 2)))
    Array(10., dtype=float64)
    """
    a = asarray_traced(a)
    return dot(ravel(conjugate(a) if get_aval(a).dtype.kind == "c" else a), ravel(b))


def inner(a, b):
    """Sum of products over the last axes of a and b (a product when either is a scalar).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.inner(np.array([1.0, 2.0]), np.array([[1.0, 0.0], [1.0, 1.0]]))
    Array([1., 3.], dtype=float64)
    """
    if ndim(a) == 0 or ndim(b) == 0:
        return multiply(a, b)
    return tensordot(a, b, axes=((ndim(a) - 1,), (ndim(b) - 1,)))


def outer(a, b):
    """The outer product of the flattened operands: out[i, j] = a[i] * b[j].

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.outer(np.array([1.0, 2.0]), np.array([1.0, 10.0, 100.0]))
    Array([[  1.,  10., 100.],
           [  2.,  20., 200.]], dtype=float64)
    """
    return multiply(reshape(ravel(a), (-1, 1)), ravel(b))


@numpy_when_eager(np.tensordot)
def tensordot(a, b, axes=2):
    """Contract the last `axes` axes of a with the first of b (an int), or the axes listed in a pair of
    sequences; one dot_general when traced.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a, b = np.ones((2, 3, 4)), np.ones((3, 4, 5))
    >>> fnp.tensordot(a, b).shape
    (2, 5)
    >>> fnp.tensordot(a, b, axes=([1], [0])).shape
    (2, 4, 4, 5)
    """
    dt, weak = result_type(a, b)
    a, b = convert(asarray_traced(a), dt, weak), convert(asarray_traced(b), dt, weak)
    na, nb = ndim(a), ndim(b)
    if isinstance(axes, (int, np.integer)):
        ca, cb = tuple(range(na - axes, na)), tuple(range(axes))
    else:
        ca, cb = axes
        ca = tuple(normalize_axis(x, na) for x in (ca if isinstance(ca, (list, tuple)) else (ca,)))
        cb = tuple(normalize_axis(x, nb) for x in (cb if isinstance(cb, (list, tuple)) else (cb,)))
    return dot_general(a, b, ((ca, cb), ((), ())))


@numpy_when_eager(np.kron)
def kron(a, b):
    """The Kronecker product: blocks a[i, j] * b.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.kron(np.eye(2), np.array([[1.0, 2.0]]))
    Array([[1., 2., 0., 0.],
           [0., 0., 1., 2.]], dtype=float64)
    """
    a, b = promoted((a, b))
    nd = builtins.max(get_aval(a).ndim, get_aval(b).ndim)
    sa = (1,) * (nd - get_aval(a).ndim) + _shape(a)
    sb = (1,) * (nd - get_aval(b).ndim) + _shape(b)
    out = multiply(
        sh.reshape(a, tuple(v for s in sa for v in (s, 1))), sh.reshape(b, tuple(v for s in sb for v in (1, s)))
    )
    return sh.reshape(out, tuple(x * y for x, y in zip(sa, sb)))


@numpy_when_eager(np.cross)
def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """The cross product of 3-vectors along the last axes (2-vectors give the z component).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.cross(np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
    Array([0., 0., 1.], dtype=float64)
    >>> fnad.jacfwd(lambda a: fnp.cross(a, np.array([0.0, 0.0, 1.0])))(np.ones(3))
    Array([[ 0.,  1.,  0.],
           [-1.,  0.,  0.],
           [ 0.,  0.,  0.]], dtype=float64)
    """
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = promoted((a, b))
    a, b = moveaxis(a, axisa, -1), moveaxis(b, axisb, -1)
    na, nb = _shape(a)[-1], _shape(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError(
            f"cross: incompatible dimensions for cross product (dimension must be 2 or 3), got {na} and {nb}"
        )
    a0, a1, b0, b1 = a[..., 0], a[..., 1], b[..., 0], b[..., 1]
    z = subtract(multiply(a0, b1), multiply(a1, b0))
    if na == nb == 2:
        return z
    a2 = a[..., 2] if na == 3 else ew.zeros_like(a0)
    b2 = b[..., 2] if nb == 3 else ew.zeros_like(b0)
    out = stack(
        broadcast_arrays(subtract(multiply(a1, b2), multiply(a2, b1)), subtract(multiply(a2, b0), multiply(a0, b2)), z),
        -1,
    )
    return moveaxis(out, -1, axisc)


# einsum: diagonals and single-operand sums first, then a greedy order of pairwise dot_generals


def _einsum_spec(subscripts, ndims):
    """(input label strings, output label string) with '...' replaced by fresh labels."""
    spec = subscripts.replace(" ", "")
    lhs, arrow, out = spec.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        raise ValueError(f"einsum: subscripts '{subscripts}' name {len(terms)} operands but {len(ndims)} were given")
    fresh = iter(c for c in _LETTERS if c not in spec)
    counts = [nd - len(t.replace("...", "")) if "..." in t else 0 for t, nd in zip(terms, ndims)]
    ellipsis = "".join(next(fresh) for _ in range(builtins.max(counts, default=0)))
    terms = [t.replace("...", ellipsis[len(ellipsis) - c :]) for t, c in zip(terms, counts)]
    for t, nd in zip(terms, ndims):
        if len(t) != nd or not builtins.all(c in _LETTERS for c in t):
            raise ValueError(f"einsum: subscripts '{t}' do not match an operand with {nd} dimensions")
    if arrow:
        out = out.replace("...", ellipsis)
    else:
        joined = "".join(terms)
        out = ellipsis + "".join(sorted(c for c in set(joined) if joined.count(c) == 1 and c not in ellipsis))
    if len(set(out)) != len(out) or any(c not in "".join(terms) for c in out):
        raise ValueError(f"einsum: invalid output subscripts '{out}' for inputs {terms}")
    return terms, out


def _einsum_diagonal(x, labels):
    """Collapse repeated labels of one operand onto their diagonal."""
    while len(set(labels)) < len(labels):
        c = next(c for c in labels if labels.count(c) > 1)
        i = labels.index(c)
        j = labels.index(c, i + 1)
        moved = moveaxis(x, (i, j), (-2, -1))
        ar = np.arange(_shape(x)[i])
        x = moved[..., ar, ar]
        labels = "".join(l for k, l in enumerate(labels) if k not in (i, j)) + c
    return x, labels


def _sublist_subscripts(args):
    """The operands and subscripts string of einsum's operand-list form einsum(x, [0, 1], y, [1, 2], [0, 2])
    (integer labels, Ellipsis for '...')."""
    out, pairs = (args[-1], args[:-1]) if len(args) % 2 else (None, args)
    operands, sublists = list(pairs[0::2]), list(pairs[1::2])
    letters = _LETTERS

    def term(sub):
        parts = []
        for label in sub:
            if label is Ellipsis:
                parts.append("...")
            elif isinstance(label, (int, np.integer)) and 0 <= label < len(letters):
                parts.append(letters[label])
            else:
                raise ValueError(
                    f"einsum: sublist labels must be ints in [0, {len(letters)}) or Ellipsis, got {label!r}"
                )
        return "".join(parts)

    spec = ",".join(term(sub) for sub in sublists)
    return (spec if out is None else spec + "->" + term(out)), operands


def einsum(
    subscripts, /, *operands, out=None, optimize="auto", precision=None, preferred_element_type=None, dtype=None
):
    """Einstein summation with a subscripts string (explicit `->` or implicit output, repeated
    labels for diagonals), or in the operand-list form einsum(a, [0, 1], b, [1, 2], [0, 2]) with integer
    labels, as numpy.einsum; traced calls become dot_general / reductions. `optimize` and `precision` are
    accepted and ignored; `preferred_element_type` (as `dtype`) sets the computation dtype.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> fnp.einsum(a, [0, 1], np.array([1.0, 1.0]), [1], [0])
    Array([3., 7.], dtype=float64)
    """
    if out is not None:
        raise NotImplementedError("einsum: out= is not supported (arrays are immutable, as in JAX)")
    if not isinstance(subscripts, str):
        subscripts, operands = _sublist_subscripts((subscripts,) + operands)
    return _einsum(subscripts, *operands, dtype=dtype if preferred_element_type is None else preferred_element_type)


@numpy_when_eager(lambda subscripts, *operands, dtype=None: np.einsum(subscripts, *operands, dtype=dtype))
def _einsum(subscripts, *operands, dtype=None):
    """Einstein summation with a subscripts string (explicit `->` or implicit output, repeated
    labels for diagonals), as numpy.einsum; traced calls become dot_general / reductions.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> fnp.einsum("ij,j->i", a, np.array([1.0, 1.0]))
    Array([3., 7.], dtype=float64)
    >>> print(fnp.einsum("ii", a))      # trace
    5.0
    >>> fnad.grad(lambda a: fnp.einsum("ij,ij->", a, a))(a)
    Array([[2., 4.],
           [6., 8.]], dtype=float64)
    """
    ops = promoted(operands, dtype)
    terms, out = _einsum_spec(subscripts, [get_aval(o).ndim for o in ops])
    sizes = {}
    for o, t in zip(ops, terms):
        for c, n in zip(t, _shape(o)):  # size 1 broadcasts; 0 is a size like any other
            if sizes.get(c, 1) == 1:
                sizes[c] = n
            elif n not in (1, sizes[c]):
                raise ValueError(f"einsum: label '{c}' has sizes {sizes[c]} and {n} in different operands")
    work = []
    for k, (o, t) in enumerate(zip(ops, terms)):
        o, t = _einsum_diagonal(o, t)
        o = sh.broadcast_in_dim(o, tuple(sizes[c] for c in t), tuple(range(len(t))))
        needed = out + "".join(terms[:k] + terms[k + 1 :])
        summed = tuple(i for i, c in enumerate(t) if c not in needed)
        work.append((reduce_sum(o, summed), "".join(c for c in t if c in needed)))
    while len(work) > 1:

        def result_labels(i, j):
            (_, ta), (_, tb) = work[i], work[j]
            needed = out + "".join(t for k, (_, t) in enumerate(work) if k not in (i, j))
            batch = "".join(c for c in ta if c in tb and c in needed)
            return (
                batch + "".join(c for c in ta if c not in tb) + "".join(c for c in tb if c not in ta),
                batch,
                "".join(c for c in ta if c in tb and c not in needed),
            )

        pairs = [(i, j) for i in range(len(work)) for j in range(i + 1, len(work))]
        i, j = builtins.min(pairs, key=lambda p: np.prod([sizes[c] for c in result_labels(*p)[0]]))
        labels, batch, contracted = result_labels(i, j)
        (a, ta), (b, tb) = work[i], work[j]
        dims = (tuple(ta.index(c) for c in contracted), tuple(tb.index(c) for c in contracted))
        prod = dot_general(a, b, (dims, (tuple(ta.index(c) for c in batch), tuple(tb.index(c) for c in batch))))
        work = [w for k, w in enumerate(work) if k not in (i, j)] + [(prod, labels)]
    ((x, labels),) = work
    x = reduce_sum(x, tuple(i for i, c in enumerate(labels) if c not in out))
    labels = "".join(c for c in labels if c in out)
    return sh.transpose(x, tuple(labels.index(c) for c in out))


def einsum_path(subscripts, /, *operands, optimize="auto"):
    """NumPy's contraction order for an einsum (computed from the shapes only): (path, description). fnad's
    einsum picks its own greedy order, so this is informational.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.einsum_path("ij,jk,kl->il", np.ones((2, 3)), np.ones((3, 4)), np.ones((4, 5)))[0]
    ['einsum_path', (1, 2), (0, 1)]
    """
    if not isinstance(subscripts, str):
        subscripts, operands = _sublist_subscripts((subscripts,) + operands)
    shaped = [np.empty(_shape(asarray_traced(o)), np.float64) for o in operands]
    return np.einsum_path(subscripts, *shaped, optimize="greedy" if optimize in ("auto", True) else optimize)


def matvec(x1, x2, /):
    """The matrix-vector products of the matrices in x1 (..., m, n) with the vectors in x2 (..., n),
    broadcast over the leading axes.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.matvec(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([1.0, -1.0]))
    Array([-1., -1.], dtype=float64)
    """
    return matmul(x1, sh.expand_dims(asarray_traced(x2), (ndim(x2),)))[..., 0]


def vecmat(x1, x2, /):
    """The vector-matrix products of the vectors in x1 (..., m) with the matrices in x2 (..., m, n).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.vecmat(np.array([1.0, -1.0]), np.array([[1.0, 2.0], [3.0, 4.0]]))
    Array([-2., -2.], dtype=float64)
    """
    return matmul(sh.expand_dims(asarray_traced(x1), (ndim(x1) - 1,)), x2)[..., 0, :]


def vecdot(x1, x2, /, *, axis=-1, precision=None, preferred_element_type=None):
    """The dot products of the vectors along `axis` of x1 and x2 (broadcast together).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.vecdot(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([1.0, -1.0]))
    Array([-1., -1.], dtype=float64)
    """
    x1, x2 = asarray_traced(x1), asarray_traced(x2)
    n1, n2 = _shape(x1)[axis], _shape(x2)[axis]
    if n1 != n2:
        raise ValueError(f"vecdot: the vectors along axis {axis} have lengths {n1} and {n2}")
    product = multiply(moveaxis(x1, axis, -1), moveaxis(x2, axis, -1))
    return reduce_sum(product, (get_aval(product).ndim - 1,))


def _sliding_windows(a, m, left, right):
    """The length-m windows of `a` padded with `left` and `right` zeros: shape (len + left + right - m + 1, m)."""
    padded = ix.pad(a, np.zeros((), get_aval(a).dtype), [(left, right, 0)])
    count = _shape(a)[0] + left + right - m + 1
    windows = np.arange(count)[:, None] + np.arange(m)[None, :]
    return ix.gather(padded, windows[..., None], (0,))


def _convolve(a, v, mode, name, preferred_element_type):
    a, v = (asarray_traced(x) for x in (a, v))
    if get_aval(a).ndim != 1 or get_aval(v).ndim != 1:
        raise ValueError(f"{name}: a and v must be 1-d, got shapes {_shape(a)} and {_shape(v)}")
    if not _shape(a)[0] or not _shape(v)[0]:
        raise ValueError(f"{name}: a and v must not be empty")
    a, v = promoted([a, v], preferred_element_type)
    if _shape(v)[0] > _shape(a)[0]:  # convolution commutes: slide the shorter one
        a, v = v, a
    m = _shape(v)[0]
    if mode == "full":
        left, right = m - 1, m - 1
    elif mode == "same":
        left, right = m // 2, m - 1 - m // 2
    elif mode == "valid":
        left, right = 0, 0
    else:
        raise ValueError(f"{name}: mode must be 'full', 'same' or 'valid', got {mode!r}")
    kernel = ix.rev(v, (0,))
    return dot(_sliding_windows(a, m, left, right), kernel)


def convolve(a, v, mode="full", *, precision=None, preferred_element_type=None):
    """The discrete linear convolution of the 1-d arrays a and v, as numpy.convolve: mode 'full' (length
    n + m - 1), 'same' (length max(n, m), centred) or 'valid' (where they overlap fully). A gather of sliding
    windows and one matrix-vector product, so it differentiates in both arguments.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.convolve(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5]))
    Array([0. , 1. , 2.5, 4. , 1.5], dtype=float64)
    >>> fnp.convolve(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5]), mode='same')
    Array([1. , 2.5, 4. ], dtype=float64)
    """
    return _convolve(a, v, mode, "convolve", preferred_element_type)


def correlate(a, v, mode="valid", *, precision=None, preferred_element_type=None):
    """The cross-correlation c[k] = sum_n a[n + k] * v[n] of the 1-d arrays a and v, as numpy.correlate
    (modes as in convolve; 'valid' by default).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.correlate(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5]), mode='full')
    Array([0.5, 2. , 3.5, 3. , 0. ], dtype=float64)
    """
    a, v = asarray_traced(a), asarray_traced(v)
    if get_aval(v).ndim == 1 and get_aval(a).ndim == 1 and _shape(v)[0] > _shape(a)[0]:
        # as NumPy: correlate(a, v) is the reverse of correlate(v, a)
        return ix.rev(_convolve(v, ix.rev(a, (0,)), mode, "correlate", preferred_element_type), (0,))
    return _convolve(a, ix.rev(v, (0,)) if get_aval(v).ndim == 1 else v, mode, "correlate", preferred_element_type)
