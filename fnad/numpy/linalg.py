"""fnad.numpy.linalg: NumPy's linalg API over the linear-algebra primitives (fnad.primitives.linalg).

Eager calls run NumPy's own functions. Traced calls are compositions of primitives, hence
differentiable and batchable: solve/inv/det/slogdet go through LU and triangular solves, the matrix
2-norm and nuclear norm through the eigenvalues of A^T A. cholesky and eigh symmetrise their input
((a + a^T) / 2, as JAX does) unless `symmetrize_input=False`.
"""

from __future__ import annotations

import builtins

import numpy as np

from ..core import get_aval
from ..primitives import elementwise as ew
from ..primitives import linalg as la
from ..primitives import shape as sh
from ._core import asarray_traced, convert, normalize_axes, numpy_when_eager
from ._elementwise import abs, exp, log, maximum, sqrt, where
from ._elementwise import sign as _sign
from ._products import matmul
from ._reductions import max, min, prod, sum
from ._shapes import expand_dims, moveaxis, reshape, shape, squeeze, swapaxes

__all__ = [
    "EighResult",
    "QRResult",
    "SlogdetResult",
    "cholesky",
    "det",
    "eigh",
    "eigvalsh",
    "inv",
    "matrix_power",
    "norm",
    "qr",
    "slogdet",
    "solve",
]

# NumPy's own result namedtuples, so eager and traced results have the same pytree structure.
EighResult = type(np.linalg.eigh(np.eye(1)))
SlogdetResult = type(np.linalg.slogdet(np.eye(1)))
QRResult = type(np.linalg.qr(np.eye(1)))


def _float_operands(name, *arrays):
    """Traced operands converted to their common floating dtype (float64 for integers)."""
    arrays = [asarray_traced(a) for a in arrays]
    dtype = np.result_type(*[get_aval(a).dtype for a in arrays])
    if not np.issubdtype(dtype, np.inexact):
        dtype = np.dtype(np.float64)
    return [convert(a, dtype) for a in arrays]


def _square(name, a):
    shape = get_aval(a).shape
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(
            f"linalg.{name}: expected a square matrix or a stack of them (shape (..., m, m)), got shape {shape}"
        )
    return a


def _lu_solve(lu, perm, b):
    """x with A x = b from A's LU factors (b of shape (..., m, k) with A's leading axes)."""
    x = la.matmul(la.permutation_matrix(perm, get_aval(lu).dtype), b)
    x = la.triangular_solve(lu, x, left_side=True, lower=True, unit_diagonal=True)
    return la.triangular_solve(lu, x, left_side=True, lower=False)


@numpy_when_eager(np.linalg.solve)
def solve(a, b):
    """x with a @ x = b (LU with partial pivoting); b is a vector (1-d) or a stack of matrices
    (..., m, k), as in NumPy 2. Differentiable in a and b, batchable, and compiled by jit.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> fnp.linalg.solve(a, np.array([5.0, 11.0]))
    Array([1., 2.], dtype=float64)
    >>> fnad.grad(lambda b: fnp.sum(fnp.linalg.solve(a, b)))(np.array([5.0, 11.0]))
    Array([-0.5,  0.5], dtype=float64)
    """
    a, b = _float_operands("solve", a, b)
    m = get_aval(_square("solve", a)).shape[-1]
    vector = get_aval(b).ndim == 1
    if vector:
        b = sh.reshape(b, get_aval(b).shape + (1,))
    sb = get_aval(b).shape
    if len(sb) < 2 or sb[-2] != m:
        raise ValueError(
            f"linalg.solve: b of shape {get_aval(b).shape[:-1] if vector else sb} does not match "
            f"a of shape {get_aval(a).shape}: need b.shape[-2] == {m} (or a vector of length {m})"
        )
    batch = np.broadcast_shapes(get_aval(a).shape[:-2], sb[:-2])
    a = sh.broadcast_to_rank_shape(a, batch + (m, m))
    b = sh.broadcast_to_rank_shape(b, batch + sb[-2:])
    lu, _, perm = la.lu(a)
    x = _lu_solve(lu, perm, b)
    return sh.reshape(x, get_aval(x).shape[:-1]) if vector else x


@numpy_when_eager(np.linalg.inv)
def inv(a):
    """The inverse of each square matrix of a stack.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([[2.0, 1.0], [1.0, 1.0]])
    >>> fnp.linalg.inv(a)
    Array([[ 1., -1.],
           [-1.,  2.]], dtype=float64)
    >>> fnad.grad(lambda a: fnp.trace(fnp.linalg.inv(a)))(a)
    Array([[-2.,  3.],
           [ 3., -5.]], dtype=float64)
    """
    (a,) = _float_operands("inv", a)
    shape = get_aval(_square("inv", a)).shape
    lu, _, perm = la.lu(a)
    eye = ew.convert_element_type(la.eye_mask(shape), get_aval(a).dtype)
    return _lu_solve(lu, perm, eye)


@numpy_when_eager(np.linalg.slogdet)
def slogdet(a):
    """(sign, log|det|) of each square matrix, from its LU factorisation.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> sign, logdet = fnp.linalg.slogdet(np.array([[-2.0, 0.0], [0.0, 3.0]]))
    >>> sign, np.round(logdet, 6)
    (Array(-1., dtype=float64), np.float64(1.791759))
    >>> fnad.grad(lambda a: fnp.linalg.slogdet(a)[1])(np.array([[2.0, 0.0], [0.0, 4.0]]))
    Array([[0.5 , 0.  ],
           [0.  , 0.25]], dtype=float64)
    """
    (a,) = _float_operands("slogdet", a)
    lu, pivots, _ = la.lu(_square("slogdet", a))
    diag = la.diagonal(lu)
    shape = get_aval(pivots).shape
    swapped = ew.ne(pivots, sh.iota(np.int32, shape, len(shape) - 1))
    odd = sum(swapped, axis=-1) % 2
    sign = where(odd == 1, -1.0, 1.0).astype(get_aval(a).dtype) * prod(_sign(diag), axis=-1)
    return SlogdetResult(sign, sum(log(abs(diag)), axis=-1))


@numpy_when_eager(np.linalg.det)
def det(a):
    """The determinant of each square matrix: sign * exp(log|det|) from slogdet (so its derivative
    is det * trace(a^-1 da); it is not finite at singular matrices).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> np.round(fnp.linalg.det(a), 12)
    np.float64(-2.0)
    >>> np.round(fnad.grad(fnp.linalg.det)(a), 12)
    array([[ 4., -3.],
           [-2.,  1.]])
    """
    sign, logabsdet = slogdet(a)
    return sign * exp(logabsdet)


def _symmetrized_eager(a, symmetrize_input):
    a = np.asarray(a)
    return (a + np.swapaxes(a, -1, -2)) / 2 if symmetrize_input else a


def _symmetrized(name, a, symmetrize_input):
    (a,) = _float_operands(name, a)
    _square(name, a)
    return la.symmetrize(a) if symmetrize_input else a


@numpy_when_eager(
    lambda a, upper=False, symmetrize_input=True: np.linalg.cholesky(
        _symmetrized_eager(a, symmetrize_input), upper=upper
    )
)
def cholesky(a, upper=False, symmetrize_input=True):
    """The Cholesky factor L (a = L L^T), or L^T with upper=True. Traced: NaN when a is not
    positive definite (eagerly NumPy raises LinAlgError).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([[4.0, 2.0], [2.0, 2.0]])
    >>> fnp.linalg.cholesky(a)
    Array([[2., 0.],
           [1., 1.]], dtype=float64)
    >>> fnad.jit(fnp.linalg.cholesky)(a)
    Array([[2., 0.],
           [1., 1.]], dtype=float64)
    """
    a = _symmetrized("cholesky", a, symmetrize_input)
    l = la.cholesky(a)
    return la.swap_last(l) if upper else l


@numpy_when_eager(
    lambda a, UPLO="L", symmetrize_input=True: EighResult(
        *np.linalg.eigh(_symmetrized_eager(a, symmetrize_input), UPLO)
    )
)
def eigh(a, UPLO="L", symmetrize_input=True):
    """(eigenvalues ascending, eigenvectors as columns) of symmetric matrices.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> w, v = fnp.linalg.eigh(np.array([[2.0, 1.0], [1.0, 2.0]]))
    >>> w
    Array([1., 3.], dtype=float64)
    >>> np.round(np.abs(v), 6)
    array([[0.707107, 0.707107],
           [0.707107, 0.707107]])
    >>> np.round(fnad.grad(lambda a: fnp.linalg.eigh(a)[0][1])(np.array([[2.0, 1.0], [1.0, 2.0]])), 6)
    array([[0.5, 0.5],
           [0.5, 0.5]])
    """
    if UPLO not in ("L", "U"):
        raise ValueError(f"linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    a = _symmetrized("eigh", a, symmetrize_input)
    v, w = la.eigh(a, lower=UPLO == "L")
    return EighResult(w, v)


def eigvalsh(a, UPLO="L", symmetrize_input=True):
    """The ascending eigenvalues of symmetric matrices.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.linalg.eigvalsh(np.diag([3.0, 1.0]))
    Array([1., 3.], dtype=float64)
    >>> fnad.vmap(fnp.linalg.eigvalsh)(np.array([np.eye(2), 2 * np.eye(2)]))
    Array([[1., 1.],
           [2., 2.]], dtype=float64)
    """
    return eigh(a, UPLO, symmetrize_input).eigenvalues


@numpy_when_eager(np.linalg.qr)
def qr(a, mode="reduced"):
    """QR factorisation; traced calls support mode 'reduced' and 'r' for matrices with m >= n.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([[3.0, 1.0], [4.0, 2.0]])
    >>> q, r = fnad.jit(fnp.linalg.qr)(a)
    >>> np.round(q @ r, 12)
    array([[3., 1.],
           [4., 2.]])
    >>> np.round(q.T @ q, 12)
    array([[1., 0.],
           [0., 1.]])
    """
    if mode not in ("reduced", "r"):
        raise NotImplementedError(f"linalg.qr: mode {mode!r} is not supported on traced values (use 'reduced' or 'r')")
    (a,) = _float_operands("qr", a)
    q, r = la.qr(a)
    return r if mode == "r" else QRResult(q, r)


@numpy_when_eager(np.linalg.matrix_power)
def matrix_power(a, n):
    """a raised to the integer power n (by repeated squaring; n < 0 uses the inverse).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([[1.0, 1.0], [0.0, 1.0]])
    >>> fnp.linalg.matrix_power(a, 3)
    Array([[1., 3.],
           [0., 1.]], dtype=float64)
    >>> fnp.linalg.matrix_power(a, -1)
    Array([[ 1., -1.],
           [ 0.,  1.]], dtype=float64)
    >>> fnad.grad(lambda a: fnp.sum(fnp.linalg.matrix_power(a, 2)))(a)
    Array([[3., 2.],
           [4., 3.]], dtype=float64)
    """
    if not isinstance(n, (int, np.integer)):
        raise TypeError(f"linalg.matrix_power: the exponent must be a Python integer, got {type(n).__name__}")
    a = _square("matrix_power", asarray_traced(a))
    if n == 0:
        shape = get_aval(a).shape
        return ew.convert_element_type(la.eye_mask(shape), get_aval(a).dtype)
    if n < 0:
        a, n = inv(a), -n
    result = None
    while n:
        if n & 1:
            result = a if result is None else matmul(result, a)
        n >>= 1
        if n:
            a = matmul(a, a)
    return result


# ----------------------------------------------------------------------------------------------
# norm


def _vector_norm(x, axis, ord):
    ax = axis[0]
    if ord is None or ord == 2:
        return sqrt(sum(x * x, axis=ax, keepdims=True))
    if ord == np.inf:
        return max(abs(x), axis=ax, keepdims=True)
    if ord == -np.inf:
        return min(abs(x), axis=ax, keepdims=True)
    if ord == 0:
        return sum(x != 0, axis=ax, keepdims=True).astype(get_aval(x).dtype)
    if ord == 1:
        return sum(abs(x), axis=ax, keepdims=True)
    if isinstance(ord, str):  # NumPy raises ValueError here too
        raise ValueError(f"linalg.norm: invalid norm order {ord!r} for vectors")  # noqa: TRY004
    return sum(abs(x) ** ord, axis=ax, keepdims=True) ** (1.0 / ord)


def _matrix_norm(x, axis, ord):
    row, col = axis
    if ord is None or ord == "fro":
        return sqrt(sum(x * x, axis=axis, keepdims=True))
    if ord in (1, -1):
        col_sums = sum(abs(x), axis=row, keepdims=True)
        return (max if ord == 1 else min)(col_sums, axis=col, keepdims=True)
    if ord in (np.inf, -np.inf):
        row_sums = sum(abs(x), axis=col, keepdims=True)
        return (max if ord == np.inf else min)(row_sums, axis=row, keepdims=True)
    if ord in (2, -2, "nuc"):
        # singular values: square roots of the eigenvalues of the smaller Gram matrix (m^T m or m m^T)
        m = moveaxis(x, (row, col), (-2, -1))
        mt = swapaxes(m, -1, -2)
        gram = matmul(mt, m) if shape(m)[-2] >= shape(m)[-1] else matmul(m, mt)
        s = sqrt(maximum(eigvalsh(gram), 0))
        out = max(s, axis=-1) if ord == 2 else min(s, axis=-1) if ord == -2 else sum(s, axis=-1)
        return expand_dims(out, axis)
    raise ValueError(f"linalg.norm: invalid norm order {ord!r} for matrices")


@numpy_when_eager(np.linalg.norm)
def norm(x, ord=None, axis=None, keepdims=False):
    """Vector norms (ord None/2, 1, inf, -inf, 0, any p) and matrix norms (None/'fro', 1, -1, 2, -2,
    inf, -inf, 'nuc'), as numpy.linalg.norm.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> print(fnp.linalg.norm(np.array([3.0, 4.0])), fnp.linalg.norm(np.array([[1.0, 2.0], [3.0, 4.0]]), ord=1))
    5.0 6.0
    >>> fnad.grad(fnp.linalg.norm)(np.array([3.0, 4.0]))
    Array([0.6, 0.8], dtype=float64)
    """
    (x,) = _float_operands("norm", x)
    nd = get_aval(x).ndim
    if axis is None:
        if ord is None:
            axes = tuple(range(nd))
            out = sqrt(sum(x * x, axis=axes, keepdims=True))
            return out if keepdims else reshape(out, ())
        if nd not in (1, 2):
            raise ValueError(f"linalg.norm: improper number of dimensions ({nd}) for ord={ord!r}; pass axis")
        axis = tuple(range(nd))
    axes = normalize_axes(axis, nd)
    if isinstance(axis, (tuple, list)):
        axes = tuple(builtins.int(a) % nd for a in axis)  # keep the given order (row, col)
    if len(axes) == 1:
        out = _vector_norm(x, axes, ord)
    elif len(axes) == 2:
        out = _matrix_norm(x, axes, ord)
    else:
        raise ValueError(f"linalg.norm: axis must name 1 or 2 axes, got {axis}")
    return out if keepdims else squeeze(out, axes)
