"""fnad.numpy.linalg: jax.numpy.linalg's API over the linear-algebra primitives (fnad.primitives.linalg).

Where JAX's results are NumPy's (solve, inv, det, slogdet, cholesky, eigh, qr, matrix_power, norm),
eager calls run NumPy's own functions; the others (svd, eig, lstsq, pinv, matrix_rank, cond, ...)
follow JAX's definitions (JAX's default tolerances, complex eigenvalues always) and run the same
primitives eagerly and traced. Traced calls are compositions of primitives, hence differentiable and
batchable: solve/inv/det/slogdet go through LU and triangular solves; lstsq, pinv, matrix_rank, cond
and the matrix 2-norm and nuclear norm through the SVD. cholesky and eigh symmetrise their input
((a + a^T) / 2, as JAX does) unless `symmetrize_input=False`.
"""

from __future__ import annotations

import builtins
import functools
import itertools
import math

import numpy as np

from ..array import as_result
from ..core import get_aval, is_complex_dtype, real_dtype
from ..custom_derivatives import custom_jvp
from ..primitives import elementwise as ew
from ..primitives import linalg as la
from ..primitives import shape as sh
from ._core import asarray_traced, concrete, convert, normalize_axes, numpy_when_eager
from ._diagonals import diagonal as _diagonal
from ._diagonals import trace as _trace
from ._elementwise import abs, conj, exp, isinf, isnan, log, real, sqrt, where
from ._elementwise import sign as _sign
from ._indexing import take_along_axis
from ._joining import flip
from ._products import cross as _cross
from ._products import matmul, tensordot, vecdot
from ._reductions import any, max, min, prod, sum
from ._shapes import expand_dims, moveaxis, ravel, reshape, shape, squeeze, swapaxes, transpose
from ._sorting import argsort, cumprod

__all__ = [
    "EigResult",
    "EighResult",
    "QRResult",
    "SVDResult",
    "SlogdetResult",
    "cholesky",
    "cond",
    "cross",
    "det",
    "diagonal",
    "eig",
    "eigh",
    "eigvals",
    "eigvalsh",
    "inv",
    "lstsq",
    "matmul",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "matrix_transpose",
    "multi_dot",
    "norm",
    "outer",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "tensordot",
    "tensorinv",
    "tensorsolve",
    "trace",
    "vecdot",
    "vector_norm",
]

# NumPy's own result namedtuples, so eager and traced results have the same pytree structure.
EighResult = type(np.linalg.eigh(np.eye(1)))
SlogdetResult = type(np.linalg.slogdet(np.eye(1)))
QRResult = type(np.linalg.qr(np.eye(1)))
SVDResult = type(np.linalg.svd(np.eye(1)))
EigResult = type(np.linalg.eig(np.eye(1)))


def _arrays(fn):
    """fn with eager results as fnad Arrays (NumPy scalars and arrays from eager steps included)."""

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        return as_result(fn(*args, **kwargs))

    return wrapped


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
    return _lu_inverse(a)


def _lu_inverse(a):
    """inv's traced path (inf/NaN for singular matrices, where NumPy's inv raises)."""
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


@_arrays
def det(a):
    """The determinant of each square matrix, as JAX computes it: closed forms for 2 x 2 and 3 x 3,
    otherwise sign * exp(log|det|) from the LU factors, whose derivative is trace(adj(a) da) through
    the cofactors (so it is defined at singular matrices too: the adjugate, zero below rank n - 1).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> fnp.linalg.det(a)
    Array(-2., dtype=float64)
    >>> fnad.grad(fnp.linalg.det)(a)
    Array([[ 4., -3.],
           [-2.,  1.]], dtype=float64)
    >>> fnad.grad(fnp.linalg.det)(np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 1.0, 5.0]]))
    Array([[ 14., -10.,   2.],
           [ -7.,   5.,  -1.],
           [  0.,   0.,   0.]], dtype=float64)
    """
    (a,) = _float_operands("det", a)
    n = get_aval(_square("det", a)).shape[-1]
    if n == 2:
        return a[..., 0, 0] * a[..., 1, 1] - a[..., 0, 1] * a[..., 1, 0]
    if n == 3:
        return (
            a[..., 0, 0] * a[..., 1, 1] * a[..., 2, 2]
            + a[..., 0, 1] * a[..., 1, 2] * a[..., 2, 0]
            + a[..., 0, 2] * a[..., 1, 0] * a[..., 2, 1]
            - a[..., 0, 2] * a[..., 1, 1] * a[..., 2, 0]
            - a[..., 0, 0] * a[..., 1, 2] * a[..., 2, 1]
            - a[..., 0, 1] * a[..., 1, 0] * a[..., 2, 2]
        )
    return _lu_det(a)


@custom_jvp
def _lu_det(a):
    sign, logabsdet = slogdet(a)
    return sign * exp(logabsdet)


@_lu_det.defjvp
def _lu_det_jvp(primals, tangents):
    (a,), (da,) = primals, tangents
    value, adjugate_da = _cofactor_solve(a, da)
    return value, _trace(adjugate_da, 0, -2, -1)


def _cofactor_solve(a, b):
    """(det(a), adj(a) @ b), finite for singular a (JAX's construction): with P A = L U, U's last
    diagonal entry replaced by 1 / (product of the others) and the leading rows of L^-1 P b scaled
    by det(a), one triangular solve gives adj(a) b when rank(a) >= n - 1; below that it is zero."""
    n = get_aval(a).shape[-1]
    if n == 1:
        return a[..., 0, 0], b
    with np.errstate(divide="ignore", invalid="ignore"):  # eagerly: singular factors are expected here
        return _cofactor_solve_of_lu(a, b, n)


def _cofactor_solve_of_lu(a, b, n):
    lu, pivots, perm = la.lu(a)
    dtype = get_aval(a).dtype
    swaps = sum(pivots != sh.iota(np.int32, get_aval(pivots).shape, get_aval(pivots).ndim - 1), axis=-1)
    sign = (1 - 2 * (swaps % 2)).astype(dtype)
    partial_det = cumprod(la.diagonal(lu), axis=-1) * expand_dims(sign, -1)
    corner = ew.eq(
        sh.iota(np.int32, get_aval(lu).shape, get_aval(lu).ndim - 1)
        + sh.iota(np.int32, get_aval(lu).shape, get_aval(lu).ndim - 2),
        np.int32(2 * n - 2),
    )
    lu = where(corner, expand_dims(expand_dims(1.0 / partial_det[..., -2], -1), -1), lu)
    probe = la.triangular_solve(
        lu, ew.convert_element_type(np.ones(get_aval(lu).shape[:-1] + (1,)), dtype), left_side=True, lower=False
    )
    low_rank = expand_dims(any(isnan(probe) | isinf(probe), axis=(-2, -1)), (-2, -1))
    x = where(low_rank, 0.0, b)
    x = la.matmul(la.permutation_matrix(perm, dtype), x)
    x = la.triangular_solve(lu, x, left_side=True, lower=True, unit_diagonal=True)
    last_row = sh.iota(np.int32, get_aval(x).shape, get_aval(x).ndim - 2) == n - 1
    x = where(last_row, x, x * expand_dims(partial_det[..., -1:], -1))
    x = la.triangular_solve(lu, x, left_side=True, lower=False)
    return partial_det[..., -1], where(low_rank, 0.0, x)


def _symmetrized_eager(a, symmetrize_input):
    a = np.asarray(a)
    return (a + np.conj(np.swapaxes(a, -1, -2))) / 2 if symmetrize_input else a


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
    return la.adjoint(l) if upper else l


@numpy_when_eager(
    lambda a, UPLO=None, symmetrize_input=True: EighResult(
        *np.linalg.eigh(_symmetrized_eager(a, symmetrize_input), "L" if UPLO is None else UPLO)
    )
)
def eigh(a, UPLO=None, symmetrize_input=True):
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
    if UPLO not in (None, "L", "U"):
        raise ValueError(f"linalg.eigh: UPLO must be 'L' or 'U' (None: 'L', as JAX), got {UPLO!r}")
    a = _symmetrized("eigh", a, symmetrize_input)
    v, w = la.eigh(a, lower=UPLO != "U")
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


def _check_qr_mode(mode):
    if mode not in ("reduced", "complete", "r", "raw", "full"):
        raise ValueError(f"linalg.qr: unsupported mode {mode!r} (use 'reduced', 'complete', 'r' or 'raw')")


def _numpy_qr(a, mode="reduced"):
    _check_qr_mode(mode)
    out = np.linalg.qr(a, "reduced" if mode == "full" else mode)
    return QRResult(*out) if mode == "raw" else out


@numpy_when_eager(_numpy_qr)
def qr(a, mode="reduced"):
    """QR factorisation of (stacks of) any shape: mode 'reduced' (or 'full', its old name) and
    'complete' give (Q, R), 'r' only R, 'raw' LAPACK's Householder form (h, tau) as NumPy.
    Differentiable for 'reduced' and 'r', and for square matrices in every mode.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([[3.0, 1.0], [4.0, 2.0]])
    >>> q, r = fnad.jit(fnp.linalg.qr)(a)
    >>> np.round(q @ r, 12)
    array([[3., 1.],
           [4., 2.]])
    >>> np.round(q.T @ q, 12)
    array([[1., 0.],
           [0., 1.]])
    >>> fnp.linalg.qr(np.ones((3, 2)), mode="complete").Q.shape
    (3, 3)
    """
    _check_qr_mode(mode)
    (a,) = _float_operands("qr", a)
    if get_aval(a).ndim < 2:
        raise ValueError(f"linalg.qr: expected a matrix or a stack of them, got shape {get_aval(a).shape}")
    if mode == "raw":
        factored, tau = la.geqrf(a)
        return QRResult(la.swap_last(factored), tau)
    q, r = la.qr(a, full_matrices=mode == "complete")
    return r if mode == "r" else QRResult(q, r)


@_arrays
def eig(a):
    """Eigenvalues and right eigenvectors (columns) of general square matrices, always complex (as
    JAX; NumPy returns real arrays when every eigenvalue is real). LAPACK's geev: each eigenvector has
    unit norm and its largest component real. Differentiable through the eigenvalues (eigvals); the
    eigenvectors' derivative is JAX's opt-in (fnad.lax.linalg.eig(..., enable_eigvec_derivs=True)).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> w, v = fnp.linalg.eig(np.array([[0.0, -1.0], [1.0, 0.0]]))
    >>> w
    Array([0.+1.j, 0.-1.j], dtype=complex128)
    >>> fnad.jit(fnp.linalg.eigvals)(np.array([[2.0, 1.0], [0.0, 3.0]]))
    Array([2.+0.j, 3.+0.j], dtype=complex128)
    """
    (a,) = _float_operands("eig", a)
    w, v = la.eig(_square("eig", a), compute_left_eigenvectors=False)
    return EigResult(w, v)


@_arrays
def eigvals(a):
    """The eigenvalues of general square matrices, complex; differentiable (dw = diag(V^-1 da V)).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnad.grad(lambda a: fnp.real(fnp.linalg.eigvals(a)).sum())(np.array([[1.0, 2.0], [3.0, 4.0]]))
    Array([[1., 0.],
           [0., 1.]], dtype=float64)
    """
    (a,) = _float_operands("eigvals", a)
    return la.eig(_square("eigvals", a), compute_left_eigenvectors=False, compute_right_eigenvectors=False)[0]


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
    return ew.power_by_squaring(a, n, matmul)


# ----------------------------------------------------------------------------------------------
# norm


def _squared_magnitude(x):
    return real(x * conj(x)) if is_complex_dtype(get_aval(x).dtype) else x * x


def _vector_norm(x, axis, ord):
    ax = axis[0]
    if ord is None or ord == 2:
        return sqrt(sum(_squared_magnitude(x), axis=ax, keepdims=True))
    if ord == np.inf:
        return max(abs(x), axis=ax, keepdims=True)
    if ord == -np.inf:
        return min(abs(x), axis=ax, keepdims=True)
    if ord == 0:
        return sum(x != 0, axis=ax, keepdims=True).astype(real_dtype(get_aval(x).dtype))
    if ord == 1:
        return sum(abs(x), axis=ax, keepdims=True)
    if isinstance(ord, str):  # NumPy raises ValueError here too
        raise ValueError(f"linalg.norm: invalid norm order {ord!r} for vectors")  # noqa: TRY004
    return sum(abs(x) ** ord, axis=ax, keepdims=True) ** (1.0 / ord)


def _matrix_norm(x, axis, ord):
    row, col = axis
    if ord is None or ord == "fro":
        return sqrt(sum(_squared_magnitude(x), axis=axis, keepdims=True))
    if ord in (1, -1):
        col_sums = sum(abs(x), axis=row, keepdims=True)
        return (max if ord == 1 else min)(col_sums, axis=col, keepdims=True)
    if ord in (np.inf, -np.inf):
        row_sums = sum(abs(x), axis=col, keepdims=True)
        return (max if ord == np.inf else min)(row_sums, axis=row, keepdims=True)
    if ord in (2, -2, "nuc"):
        s = svdvals(moveaxis(x, (row, col), (-2, -1)))
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
            out = sqrt(sum(_squared_magnitude(x), axis=axes, keepdims=True))
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


# ----------------------------------------------------------------------------------------------
# SVD and what is built on it


def _matrix_operand(name, a):
    (a,) = _float_operands(name, a)
    if get_aval(a).ndim < 2:
        raise ValueError(f"linalg.{name}: expected a matrix or a stack of them (ndim >= 2), got shape {shape(a)}")
    return a


@_arrays
def svd(a, full_matrices=True, compute_uv=True, hermitian=False, subset_by_index=None):
    """Singular value decomposition a = U diag(S) Vh (SVDResult(U, S, Vh), or S alone with
    compute_uv=False), S descending. LAPACK's gesdd, as NumPy and JAX, so the singular vectors carry
    the same signs. With hermitian=True, from eigh of the symmetrised input as JAX does (S = |eigenvalues|
    sorted descending). Differentiable (not for full U, Vh of non-square matrices, as in JAX).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> a = np.array([[3.0, 0.0], [4.0, 5.0]])
    >>> np.round(fnp.linalg.svd(a, compute_uv=False) ** 2, 10)
    array([45.,  5.])
    >>> u, s, vh = fnad.jit(lambda a: fnp.linalg.svd(a, full_matrices=False))(a)
    >>> np.round(u * s @ vh, 12)
    array([[3., 0.],
           [4., 5.]])
    >>> np.round(fnad.grad(lambda a: fnp.linalg.svd(a, compute_uv=False)[0])(a), 6)
    array([[0.223607, 0.223607],
           [0.67082 , 0.67082 ]])
    """
    if subset_by_index is not None:
        raise NotImplementedError("linalg.svd: subset_by_index is not supported (JAX supports it on TPU only)")
    a = _matrix_operand("svd", a)
    if hermitian:
        return _hermitian_svd(a, compute_uv)
    out = la.svd(a, full_matrices=full_matrices, compute_uv=compute_uv)
    return SVDResult(out[1], out[0], out[2]) if compute_uv else out[0]


def _hermitian_svd(a, compute_uv):
    """JAX's route: eigenpairs of the symmetric part sorted by |eigenvalue|, descending."""
    _square("svd", a)
    vectors, values = la.eigh(la.symmetrize(a))
    s = abs(values)
    order = flip(argsort(s, axis=-1), axis=-1)
    s = take_along_axis(s, order, axis=-1)
    if not compute_uv:
        return s
    u = take_along_axis(vectors, expand_dims(order, -2), axis=-1)
    sign = take_along_axis(_sign(values), order, axis=-1)
    return SVDResult(u, s, la.adjoint(u * expand_dims(sign, -2).astype(get_aval(u).dtype)))


@_arrays
def svdvals(x, /):
    """The singular values of (stacks of) matrices, descending.

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.linalg.svdvals(np.diag([1.0, -3.0]))
    Array([3., 1.], dtype=float64)
    """
    return svd(x, compute_uv=False)


def _default_rtol(a, scale=1.0):
    """JAX's cutoff: scale * max(m, n) * eps of a's dtype."""
    return scale * builtins.max(shape(a)[-2:]) * float(np.finfo(get_aval(a).dtype).eps)


@_arrays
def pinv(a, rtol=None, hermitian=False, *, rcond=None):
    """The Moore-Penrose pseudo-inverse from the SVD: singular values at or below
    rtol * largest are dropped; the default rtol is JAX's 10 * max(m, n) * eps (NumPy's is 1e-15).
    Its derivative is the Golub-Pereyra formula, as JAX's (defined where the rank does not change).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.linalg.pinv(np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 2.0]]))
    Array([[1. , 0. , 0. ],
           [0. , 0. , 0.5]], dtype=float64)
    """
    if rcond is not None:
        if rtol is not None:
            raise ValueError("linalg.pinv: only one of rtol and rcond may be specified")
        rtol = rcond
    return _pinv(_matrix_operand("pinv", a), rtol, bool(hermitian))


def _pinv_impl(a, rtol, hermitian):
    m, n = shape(a)[-2:]
    if m == 0 or n == 0:
        return ew.convert_element_type(np.zeros(shape(a)[:-2] + (n, m)), get_aval(a).dtype)
    rtol = _default_rtol(a, 10.0) if rtol is None else rtol
    u, s, vh = svd(a, full_matrices=False, hermitian=hermitian)
    rtol = asarray_traced(rtol)
    cutoff = expand_dims(rtol, -1) * s[..., 0:1]
    s = where(s > cutoff, s, np.inf).astype(get_aval(a).dtype)
    return matmul(la.adjoint(vh), la.adjoint(u) / expand_dims(s, -1))


_pinv = custom_jvp(_pinv_impl, nondiff_argnums=(1, 2))


@_pinv.defjvp
def _pinv_jvp(rtol, hermitian, primals, tangents):
    (a,), (da,) = primals, tangents
    p = _pinv(a, rtol, hermitian)
    if hermitian:  # svd(hermitian=True) symmetrises its input, and so does the derivative
        a, da = la.symmetrize(a), la.symmetrize(da)
    pt, at, dat = la.adjoint(p), a, la.adjoint(da)
    s = matmul(matmul(p, pt), dat)
    t = matmul(matmul(dat, pt), p)
    dp = -matmul(matmul(p, da), p) + s - matmul(matmul(s, at), p) + t - matmul(matmul(p, at), t)
    return p, dp


@_arrays
def lstsq(a, b, rcond=None, *, numpy_resid=False):
    """Least squares x minimising |a x - b| (a of shape (m, n), b (m,) or (m, k)) through the SVD, as
    JAX: (x, resid, rank, s); singular values below rcond * largest (default eps * max(m, n)) count
    as zero. resid is |a x - b|^2 per column always, unless numpy_resid=True (NumPy's empty
    array when rank < n or m <= n; not under jit).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> x, resid, rank, s = fnp.linalg.lstsq(np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]]), np.array([1.0, 2.0, 4.0]))
    >>> np.round(x, 6), np.round(resid, 6), rank
    (array([0.833333, 1.5     ]), array([0.166667]), Array(2, dtype=int32))
    """
    a, b = _float_operands("lstsq", a, b)
    sa, sb = shape(a), shape(b)
    if len(sa) != 2:
        raise TypeError(f"linalg.lstsq: {len(sa)}-dimensional array given for a; it must be two-dimensional")
    if len(sb) not in (1, 2):
        raise TypeError(f"linalg.lstsq: {len(sb)}-dimensional array given for b; it must be one or two-dimensional")
    if sa[0] != sb[0]:
        raise ValueError(f"linalg.lstsq: a of shape {sa} and b of shape {sb} differ in their leading dimension")
    vector = len(sb) == 1
    if vector:
        b = reshape(b, (sb[0], 1))
    m, n = sa
    dtype = get_aval(a).dtype
    if m == 0 or n == 0:
        s = ew.convert_element_type(np.zeros(0), dtype)
        rank = ew.convert_element_type(np.int32(0), np.int32)
        x = ew.convert_element_type(np.zeros((n, shape(b)[1])), dtype)
    else:
        eps = float(np.finfo(dtype).eps)
        rcond = eps * builtins.max(m, n) if rcond is None else where(asarray_traced(rcond) < 0, eps, rcond)
        u, s, vt = svd(a, full_matrices=False)
        mask = (s > 0) & (s >= asarray_traced(rcond).astype(dtype) * s[0])
        rank = sum(mask).astype(np.int32)
        s_inv = where(mask, 1 / where(mask, s, 1.0), 0.0)
        x = matmul(la.adjoint(vt), expand_dims(s_inv, -1) * matmul(la.adjoint(u), b))
    if numpy_resid and (int(concrete(rank, "linalg.lstsq(numpy_resid=True)", _RESID_HINT)) < n or m <= n):
        resid = ew.convert_element_type(np.zeros(0), dtype)
    else:
        resid = sum((b - matmul(a, x)) ** 2, axis=0)
    if vector:
        x = ravel(x)
    return x, resid, rank, s


_RESID_HINT = "Leave numpy_resid=False: the residuals |a x - b|^2 then always have a fixed shape."


@_arrays
def matrix_rank(M, rtol=None, *, hermitian=False, tol=None):
    """The number of singular values above rtol * largest (default JAX's max(m, n) * eps); for
    vectors and scalars, whether any entry is non-zero.

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.linalg.matrix_rank(np.array([[1.0, 2.0], [2.0, 4.0]]))
    Array(1, dtype=int32)
    """
    if tol is not None:
        if rtol is not None:
            raise ValueError("linalg.matrix_rank: only one of tol or rtol may be specified")
        rtol = tol
    (M,) = _float_operands("matrix_rank", M)
    if get_aval(M).ndim < 2:
        return any(M != 0).astype(np.int32)
    s = svd(M, full_matrices=False, compute_uv=False, hermitian=hermitian)
    cutoff = max(s, axis=-1) * _default_rtol(M) if rtol is None else asarray_traced(rtol)
    return sum(s > expand_dims(cutoff, -1), axis=-1).astype(np.int32)


@_arrays
def cond(x, p=None):
    """The condition number norm(x, p) * norm(inv(x), p); for p None or 2 (-2) the ratio of the
    largest (smallest) to the smallest (largest) singular value. inf for singular matrices (NaN only
    where x has a NaN), as JAX.

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.linalg.cond(np.array([[1.0, 2.0], [2.0, 1.0]]))
    Array(3., dtype=float64)
    """
    (x,) = _float_operands("cond", x)
    sx = shape(x)
    if len(sx) < 2:
        raise ValueError(f"linalg.cond: input array must be at least 2-D; got shape {sx}")
    if sx[-1] == 0 or sx[-2] == 0:
        raise ValueError(f"linalg.cond: input array must not be empty; got shape {sx}")
    if p is None or p == 2:
        s = svdvals(x)
        return s[..., 0] / s[..., -1]
    if p == -2:
        s = svdvals(x)
        r = s[..., -1] / s[..., 0]
    else:
        if sx[-1] != sx[-2]:
            raise ValueError(f"linalg.cond: for p={p!r} the matrices must be square; got shape {sx}")
        r = norm(x, ord=p, axis=(-2, -1)) * norm(_lu_inverse(x), ord=p, axis=(-2, -1))
    return where(isnan(r) & ~any(isnan(x), axis=(-2, -1)), np.inf, r)


# ----------------------------------------------------------------------------------------------
# Products, tensors and the array-API names


@_arrays
def multi_dot(arrays, *, precision=None):
    """The product of a chain of matrices (the first and last may be vectors), multiplied in the
    order that needs the fewest flops (NumPy's dynamic programme).

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.linalg.multi_dot([np.ones(2), np.eye(2), 2 * np.ones((2, 3))])
    Array([4., 4., 4.], dtype=float64)
    """
    arrays = [asarray_traced(a) for a in arrays]
    if len(arrays) < 2:
        raise ValueError(f"linalg.multi_dot: needs at least two arrays; got {len(arrays)}")
    ndims = [get_aval(a).ndim for a in arrays]
    if ndims[0] not in (1, 2) or ndims[-1] not in (1, 2) or builtins.any(d != 2 for d in ndims[1:-1]):
        raise ValueError(
            "linalg.multi_dot: the arrays must be two-dimensional, except the first and last, which may be "
            f"one-dimensional; got shapes {[shape(a) for a in arrays]}"
        )
    first_vector, last_vector = ndims[0] == 1, ndims[-1] == 1
    if first_vector:
        arrays[0] = reshape(arrays[0], (1, -1))
    if last_vector:
        arrays[-1] = reshape(arrays[-1], (-1, 1))
    if builtins.any(shape(x)[1] != shape(y)[0] for x, y in itertools.pairwise(arrays)):
        raise ValueError(
            "linalg.multi_dot: the last dimension of each array must match the first of the next; got "
            f"shapes {[shape(a) for a in arrays]}"
        )
    dims = [shape(a)[0] for a in arrays] + [shape(arrays[-1])[1]]
    split = _chain_order(dims)

    def product(i, j):
        if i == j:
            return arrays[i]
        return matmul(product(i, split[i][j]), product(split[i][j] + 1, j))

    out = product(0, len(arrays) - 1)
    if first_vector:
        out = out[0]
    if last_vector:
        out = out[..., 0]
    return out


def _chain_order(dims):
    """split[i][j]: where the cheapest parenthesisation of matrices i..j splits (matrix chain order)."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = math.inf
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


@_arrays
def tensorinv(a, ind=2):
    """The inverse of a tensor seen as a matrix (the first `ind` axes against the rest):
    tensordot(tensorinv(a, ind), a, ind) is the identity.

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.linalg.tensorinv(2 * np.eye(4).reshape(4, 2, 2), ind=1).shape
    (2, 2, 4)
    """
    a = asarray_traced(a)
    ind = int(ind)
    if ind <= 0:
        raise ValueError(f"linalg.tensorinv: ind must be a positive integer; got {ind}")
    rows, cols = shape(a)[:ind], shape(a)[ind:]
    if math.prod(rows) != math.prod(cols):
        raise ValueError(
            f"linalg.tensorinv: the product of the first {ind} dimensions must equal that of the others; "
            f"got shape {shape(a)}"
        )
    return reshape(inv(reshape(a, (math.prod(rows), math.prod(cols)))), cols + rows)


@_arrays
def tensorsolve(a, b, axes=None):
    """x with tensordot(a, x, x.ndim) == b (a's axes `axes` moved to the end first).

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.linalg.tensorsolve(2 * np.eye(4).reshape(2, 2, 4), np.ones((2, 2)))
    Array([0.5, 0.5, 0.5, 0.5], dtype=float64)
    """
    a, b = asarray_traced(a), asarray_traced(b)
    if axes is not None:  # NumPy's order: the named axes, in turn, to the end
        order = list(range(get_aval(a).ndim))
        for k in axes:
            order.remove(k % get_aval(a).ndim)
            order.append(k % get_aval(a).ndim)
        a = transpose(a, order)
    nb = get_aval(b).ndim
    out_shape = shape(a)[nb:]
    if shape(a)[:nb] != shape(b):
        raise ValueError(
            f"linalg.tensorsolve: after moving axes to the end, a's leading shape must match b's; got "
            f"a.shape={shape(a)}, b.shape={shape(b)}"
        )
    if math.prod(shape(b)) != math.prod(out_shape):
        raise ValueError(
            f"linalg.tensorsolve: needs prod(a.shape[:b.ndim]) == prod(a.shape[b.ndim:]); got a.shape={shape(a)}, "
            f"b.ndim={nb}"
        )
    return reshape(solve(reshape(a, (math.prod(shape(b)), math.prod(out_shape))), ravel(b)), out_shape)


@_arrays
def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    """The matrix norm over the last two axes (see `norm`).

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.linalg.matrix_norm(np.array([[3.0, 0.0], [0.0, 4.0]]), ord=2)
    Array(4., dtype=float64)
    """
    return norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)


@_arrays
def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    """The vector norm along `axis` (all axes, flattened, when None; a tuple of axes is one vector).

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.linalg.vector_norm(np.array([[3.0, 0.0], [0.0, 4.0]]))
    Array(5., dtype=float64)
    """
    (x,) = _float_operands("vector_norm", x)
    nd = get_aval(x).ndim
    axes = normalize_axes(axis, nd)
    moved = moveaxis(x, axes, tuple(range(nd - len(axes), nd)))
    flat = reshape(moved, shape(moved)[: nd - len(axes)] + (-1,))
    out = norm(flat, ord=2 if ord is None else ord, axis=-1)
    return expand_dims(out, axes) if keepdims else out


@_arrays
def matrix_transpose(x, /):
    """The transpose of each matrix of a stack (the last two axes swapped).

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.linalg.matrix_transpose(np.ones((2, 3, 4))).shape
    (2, 4, 3)
    """
    x = asarray_traced(x)
    if get_aval(x).ndim < 2:
        raise ValueError(f"linalg.matrix_transpose: needs at least 2 dimensions; got shape {shape(x)}")
    return swapaxes(x, -1, -2)


@_arrays
def outer(x1, x2, /):
    """The outer product of two vectors (1-D only, unlike fnad.numpy.outer).

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.linalg.outer(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    Array([[3., 4.],
           [6., 8.]], dtype=float64)
    """
    x1, x2 = asarray_traced(x1), asarray_traced(x2)
    if get_aval(x1).ndim != 1 or get_aval(x2).ndim != 1:
        raise ValueError(f"linalg.outer: the arrays must be one-dimensional; got shapes {shape(x1)} and {shape(x2)}")
    return expand_dims(x1, 1) * expand_dims(x2, 0)


@_arrays
def cross(x1, x2, /, *, axis=-1):
    """The cross product of (arrays of) 3-vectors along `axis`.

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.linalg.cross(np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
    Array([0., 0., 1.], dtype=float64)
    """
    x1, x2 = asarray_traced(x1), asarray_traced(x2)
    if shape(x1)[axis] != 3 or shape(x2)[axis] != 3:
        raise ValueError(
            f"linalg.cross: both arrays must be (arrays of) 3-vectors along axis {axis}; got shapes "
            f"{shape(x1)} and {shape(x2)}"
        )
    return _cross(x1, x2, axis=axis)


@_arrays
def trace(x, /, *, offset=0, dtype=None):
    """The trace of each matrix of a stack (last two axes).

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.linalg.trace(np.arange(8.0).reshape(2, 2, 2))
    Array([ 3., 11.], dtype=float64)
    """
    out = _trace(x, offset, -2, -1)
    return out if dtype is None else out.astype(dtype)


@_arrays
def diagonal(x, /, *, offset=0):
    """The diagonal of each matrix of a stack (last two axes).

    >>> import numpy as np, fnad.numpy as fnp
    >>> fnp.linalg.diagonal(np.arange(8.0).reshape(2, 2, 2))
    Array([[0., 3.],
           [4., 7.]], dtype=float64)
    """
    return _diagonal(x, offset, -2, -1)
