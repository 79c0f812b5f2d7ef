"""dot_general: batched tensor contraction (matmul, matvec, einsum-style products).

dimension_numbers = ((lhs_contract, rhs_contract), (lhs_batch, rhs_batch)); the output's axes are
the batch axes, then lhs's free axes, then rhs's free axes (each in operand order)."""

from __future__ import annotations

import numpy as np

from ..core import Primitive, ShapedArray, ShapeError, get_aval
from ..transforms.batching import move_bdim
from ..transforms.jvp import defjvp
from ..transforms.reverse import is_undefined
from .elementwise import bilinear_parts
from .shape import transpose

dot_general_p = Primitive("dot_general")


def _free(ndim, contract, batch):
    return tuple(i for i in range(ndim) if i not in contract and i not in batch)


def _dot_eval(x, y, dimension_numbers):
    (lc, rc), (lb, rb) = dimension_numbers
    if x.dtype != y.dtype:
        raise TypeError(f"dot_general: operand dtypes must be equal, got {x.dtype.name} and {y.dtype.name}")
    if len(lc) != len(rc) or len(lb) != len(rb):
        raise ValueError(f"dot_general: mismatched dimension_numbers {dimension_numbers}")
    for a, b in list(zip(lc, rc)) + list(zip(lb, rb)):
        if not (0 <= a < x.ndim and 0 <= b < y.ndim) or x.shape[a] != y.shape[b]:
            raise ShapeError(
                f"dot_general: incompatible shapes {x.shape} and {y.shape} for contracting dims "
                f"{lc}/{rc} and batch dims {lb}/{rb} (sizes must match; for matmul, "
                f"x.shape[-1] must equal y.shape[-2])"
            )
    shape = (
        tuple(x.shape[i] for i in lb)
        + tuple(x.shape[i] for i in _free(x.ndim, lc, lb))
        + tuple(y.shape[i] for i in _free(y.ndim, rc, rb))
    )
    return ShapedArray(shape, x.dtype, x.weak_type and y.weak_type)


def _dot_impl(x, y, dimension_numbers):
    (lc, rc), (lb, rb) = dimension_numbers
    x, y = np.asarray(x), np.asarray(y)
    lf, rf = _free(x.ndim, lc, lb), _free(y.ndim, rc, rb)
    size = lambda a, dims: int(np.prod([a.shape[i] for i in dims], dtype=np.int64))
    nb, nk = size(x, lb), size(x, lc)
    xm = np.transpose(x, lb + lf + lc).reshape(nb, size(x, lf), nk)
    ym = np.transpose(y, rb + rc + rf).reshape(nb, nk, size(y, rf))
    out = np.matmul(xm, ym)
    return out.reshape(tuple(x.shape[i] for i in lb) + tuple(x.shape[i] for i in lf) + tuple(y.shape[i] for i in rf))


def dot_general(x, y, dimension_numbers):
    """The general tensor contraction: dimension_numbers = ((lhs_contracting, rhs_contracting), (lhs_batch,
    rhs_batch)), each a tuple of axes. The output axes are the batch axes, then x's free axes, then y's
    free axes (as in JAX's lax.dot_general).

    >>> import numpy as np, fnad; from fnad import lax
    >>> a, b = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0], [1.0]])
    >>> lax.dot_general(a, b, (((1,), (0,)), ((), ())))
    Array([[3.],
           [7.]], dtype=float64)
    >>> lax.dot_general(np.ones((5, 2, 3)), np.ones((5, 3, 4)), (((2,), (1,)), ((0,), (0,)))).shape
    (5, 2, 4)
    >>> fnad.grad(lambda a: lax.dot_general(a, a, (((0,), (0,)), ((), ()))).sum())(np.array([1.0, 2.0]))
    Array([2., 4.], dtype=float64)
    """
    (lc, rc), (lb, rb) = dimension_numbers
    dn = ((tuple(map(int, lc)), tuple(map(int, rc))), (tuple(map(int, lb)), tuple(map(int, rb))))
    return dot_general_p.bind(x, y, dimension_numbers=dn)


def _dot_transpose(ct, x, y, dimension_numbers):
    """Cotangents of a bilinear dot_general, each computed by one dot_general that contracts the
    cotangent with the other operand over the output's axes, then (if needed) a transpose into the
    operand's layout; for matmuls that transpose is the identity (dx = ct @ y^T, dy = x^T @ ct)."""
    (lc, rc), (lb, rb) = dimension_numbers
    x_ndim = (x.aval if is_undefined(x) else get_aval(x)).ndim
    y_ndim = (y.aval if is_undefined(y) else get_aval(y)).ndim
    xf, yf = _free(x_ndim, lc, lb), _free(y_ndim, rc, rb)
    nb = len(lb)
    ct_batch = tuple(range(nb))
    ct_xf = tuple(range(nb, nb + len(xf)))
    ct_yf = tuple(range(nb + len(xf), nb + len(xf) + len(yf)))
    if is_undefined(x):
        # [batch, x_free, y's contracting axes in y order] -> x's layout
        res = dot_general(ct, y, ((ct_yf, yf), (ct_batch, rb)))
        order = list(lb) + list(xf) + [lc[list(rc).index(r)] for r in sorted(rc)]
        return [transpose(res, tuple(np.argsort(order).tolist())), None]
    # [batch, x's contracting axes in x order, y_free] -> y's layout
    res = dot_general(x, ct, ((xf, ct_xf), (lb, ct_batch)))
    order = list(rb) + [rc[list(lc).index(l)] for l in sorted(lc)] + list(yf)
    return [None, transpose(res, tuple(np.argsort(order).tolist()))]


def _dot_batch(vals, dims, dimension_numbers):
    (x, y), (dx, dy) = vals, dims
    (lc, rc), (lb, rb) = dimension_numbers
    shift = lambda ds, d: tuple(i + (d is not None and i >= d) for i in ds)
    if dx is not None and dy is not None:
        x, y = move_bdim(x, dx, 0, None), move_bdim(y, dy, 0, None)
        dn = ((shift(lc, 0), shift(rc, 0)), ((0,) + shift(lb, 0), (0,) + shift(rb, 0)))
        return dot_general(x, y, dn), 0
    if dx is not None:
        dn = ((shift(lc, dx), rc), (shift(lb, dx), rb))
        xf = _free(get_aval(x).ndim, dn[0][0], dn[1][0])
        return dot_general(x, y, dn), len(lb) + xf.index(dx)
    dn = ((lc, shift(rc, dy)), (lb, shift(rb, dy)))
    yf = _free(get_aval(y).ndim, dn[0][1], dn[1][1])
    x_free = len(_free(get_aval(x).ndim, lc, lb))
    return dot_general(x, y, dn), len(lb) + x_free + yf.index(dy)


def _simplify_dot(invars, params, out_aval, defs):
    """Fold an operand's `transpose` into the dimension numbers (so `x @ w.T` reads w in place),
    when the transposed operand's free axes keep their relative order (the output layout is unchanged)."""
    (lc, rc), (lb, rb) = params["dimension_numbers"]
    new, dims, changed = list(invars), [[lc, lb], [rc, rb]], False
    for k, v in enumerate(invars):
        producer = defs.get(v)
        if producer is None or producer.primitive.name != "transpose":
            continue
        perm = producer.params["permutation"]
        contract, batch = dims[k]
        free = _free(len(perm), contract, batch)
        if [perm[i] for i in free] != sorted(perm[i] for i in free):
            continue
        new[k] = producer.invars[0]
        dims[k] = [tuple(perm[i] for i in contract), tuple(perm[i] for i in batch)]
        changed = True
    if not changed:
        return None
    (lc, lb), (rc, rb) = dims
    return dot_general_p, new, {"dimension_numbers": ((lc, rc), (lb, rb))}


dot_general_p.impl = _dot_impl
dot_general_p.abstract_eval = _dot_eval
dot_general_p.simplify = _simplify_dot
dot_general_p.transpose = _dot_transpose
dot_general_p.batch = _dot_batch
defjvp(
    dot_general_p,
    lambda g, ans, x, y, dimension_numbers: dot_general(g, y, dimension_numbers),
    lambda g, ans, x, y, dimension_numbers: dot_general(x, g, dimension_numbers),
)


dot_general_p.complex_parts = bilinear_parts(dot_general_p)  # four real products (fnad.passes.lower_complex)
