"""`fnad.scipy.sparse.linalg`: the Krylov solvers `cg`, `bicgstab` and `gmres` for `A x = b`, as
`jax.scipy.sparse.linalg` has them.

`A` (and the preconditioner `M`) is a square matrix, an object with `@`, or a function computing the
matrix-vector product; `b` and `x` are arrays or pytrees of arrays. Each solver iterates in
`fnad.lax.while_loop`s, so it runs under `jit` and `vmap`, and is wrapped in `lax.custom_linear_solve`
with itself as the transpose solver: derivatives of the solution come from a second solve (implicit
differentiation, as JAX's), not from differentiating the iterations, and are accurate when both solves
converge. Tolerances are SciPy's non-legacy ones: stop when `norm(residual) <= max(tol * norm(b), atol)`."""

from __future__ import annotations

import functools
import operator

import numpy as np

from ... import numpy as fnp
from ...lax import custom_linear_solve, fori_loop, while_loop
from ...scipy.linalg import solve, solve_triangular
from ...tree_util import tree_leaves, tree_map, tree_structure

__all__ = ["bicgstab", "cg", "gmres"]


# Vector-space operations on pytrees of arrays.
def _add(x, y):
    return tree_map(operator.add, x, y)


def _sub(x, y):
    return tree_map(operator.sub, x, y)


def _mul(scalar, tree):
    return tree_map(lambda leaf: scalar * leaf, tree)


def _vdot_real_part(x, y):
    """Re(x^H y) without the imaginary cross terms: the real quadratic forms z^H M z the solvers use."""
    result = fnp.vdot(fnp.real(x), fnp.real(y))
    if fnp.iscomplexobj(x) or fnp.iscomplexobj(y):
        result = result + fnp.vdot(fnp.imag(x), fnp.imag(y))
    return result


def _vdot_real_tree(x, y):
    return sum(tree_leaves(tree_map(_vdot_real_part, x, y)))


def _vdot_tree(x, y):
    return sum(tree_leaves(tree_map(fnp.vdot, x, y)))


def _norm(x):
    return fnp.sqrt(_vdot_real_tree(x, x))


def _dtype(tree):
    return fnp.result_type(*tree_leaves(tree))


def _safe_normalize(x, thresh=None):
    """(x / norm(x), norm(x)), or zeros and 0 where the norm is at most `thresh` (default: the dtype's eps)."""
    norm = _norm(x)
    dtype = _dtype(x)
    if thresh is None:
        thresh = fnp.finfo(norm.dtype).eps
    use_norm = norm > fnp.real(fnp.asarray(thresh, dtype))
    scale = norm.astype(dtype)
    normalized = tree_map(lambda leaf: fnp.where(use_norm, leaf / scale, 0.0).astype(leaf.dtype), x)
    return normalized, fnp.where(use_norm, norm, 0.0)


def _matvec(name, role, f):
    """`f` as a function computing the matrix-vector product."""
    if callable(f):
        return f
    if hasattr(f, "shape") and hasattr(f, "dtype"):
        f = fnp.asarray(f)
        if f.ndim != 2 or f.shape[0] != f.shape[1]:
            raise ValueError(f"{name}: the linear operator {role} must be a square matrix, but has shape {f.shape}")
        return functools.partial(fnp.dot, f)
    if hasattr(f, "__matmul__"):
        shape = getattr(f, "shape", None)
        if shape is not None and (len(shape) != 2 or shape[0] != shape[1]):
            raise ValueError(f"{name}: the linear operator {role} must be a square matrix, but has shape {shape}")
        return functools.partial(operator.matmul, f)
    raise TypeError(f"{name}: the linear operator {role} must be a function or a matrix, got {type(f).__name__}")


def _quiet():
    """NumPy's floating-point warnings off: run eagerly, the iterations compute values (0/0 at convergence
    or breakdown) that a `where` then discards, as JAX's do; they are not the user's errors."""
    return np.errstate(divide="ignore", invalid="ignore")


def _identity(x):
    return x


def _inexact(leaf):
    leaf = fnp.asarray(leaf)
    return leaf.astype(fnp.result_type(leaf, 1.0))


def _prepared(name, A, b, x0, M, maxiter):
    """The operator and preconditioner as functions, b and x0 as inexact pytrees of one structure and
    shapes, and maxiter (SciPy's default: 10 times the number of unknowns)."""
    b = tree_map(_inexact, b)
    if not tree_leaves(b):
        raise TypeError(f"{name}: b must be an array or a pytree holding at least one array")
    x0 = tree_map(fnp.zeros_like, b) if x0 is None else tree_map(_inexact, x0)
    if tree_structure(x0) != tree_structure(b):
        raise ValueError(
            f"{name}: x0 and b must have matching tree structure: {tree_structure(x0)} vs {tree_structure(b)}"
        )
    shapes = [leaf.shape for leaf in tree_leaves(b)]
    if [leaf.shape for leaf in tree_leaves(x0)] != shapes:
        raise ValueError(
            f"{name}: arrays in x0 and b must have matching shapes: {[x.shape for x in tree_leaves(x0)]} vs {shapes}"
        )
    if maxiter is None:
        maxiter = 10 * sum(leaf.size for leaf in tree_leaves(b))
    A = _matvec(name, "A", A)
    M = _identity if M is None else _matvec(name, "M", M)
    return A, b, x0, M, maxiter


def _cg_solve(A, b, x0, *, maxiter, tol, atol, M):
    """Preconditioned conjugate gradients (SciPy's iteration)."""
    atol2 = fnp.maximum(fnp.square(tol) * _vdot_real_tree(b, b), fnp.square(atol))

    def cond_fun(value):
        _, r, gamma, _, k = value
        rs = fnp.real(gamma) if M is _identity else _vdot_real_tree(r, r)
        return (rs > atol2) & (k < maxiter)

    def body_fun(value):
        x, r, gamma, p, k = value
        Ap = A(p)
        alpha = gamma / _vdot_real_tree(p, Ap).astype(dtype)
        x = _add(x, _mul(alpha, p))
        r = _sub(r, _mul(alpha, Ap))
        z = M(r)
        gamma_next = _vdot_real_tree(r, z).astype(dtype)
        p = _add(z, _mul(gamma_next / gamma, p))
        return x, r, gamma_next, p, k + 1

    r0 = _sub(b, A(x0))
    p0 = M(r0)
    dtype = _dtype(p0)
    gamma0 = _vdot_real_tree(r0, p0).astype(dtype)
    return while_loop(cond_fun, body_fun, (x0, r0, gamma0, p0, 0))[0]


def _bicgstab_solve(A, b, x0, *, maxiter, tol, atol, M):
    """Preconditioned BiCGSTAB (SciPy's iteration); a breakdown (rho, alpha or omega zero) ends it."""
    atol2 = fnp.maximum(fnp.square(tol) * _vdot_real_tree(b, b), fnp.square(atol))

    def cond_fun(value):
        _, r, *_, k = value
        return (_vdot_real_tree(r, r) > atol2) & (k < maxiter) & (k >= 0)

    def body_fun(value):
        x, r, rhat, alpha, omega, rho, p, q, k = value
        rho_next = _vdot_tree(rhat, r)
        beta = rho_next / rho * alpha / omega
        p = _add(r, _mul(beta, _sub(p, _mul(omega, q))))
        phat = M(p)
        q = A(phat)
        alpha = rho_next / _vdot_tree(rhat, q)
        s = _sub(r, _mul(alpha, q))
        exit_early = _vdot_real_tree(s, s) < atol2
        shat = M(s)
        t = A(shat)
        omega = _vdot_tree(t, s) / _vdot_tree(t, t)
        x = tree_map(
            functools.partial(fnp.where, exit_early),
            _add(x, _mul(alpha, phat)),
            _add(x, _add(_mul(alpha, phat), _mul(omega, shat))),
        )
        r = tree_map(functools.partial(fnp.where, exit_early), s, _sub(s, _mul(omega, t)))
        # Negative counts flag a breakdown (as JAX: -11 for alpha or omega, -10 for rho) and stop the loop.
        k = fnp.where((omega == 0) | (alpha == 0), -11, k + 1)
        k = fnp.where(rho_next == 0, -10, k)
        return x, r, rhat, alpha, omega, rho_next, p, q, k

    r0 = _sub(b, A(x0))
    one = fnp.ones((), _dtype(b))
    return while_loop(cond_fun, body_fun, (x0, r0, r0, one, one, one, r0, r0, 0))[0]


def _isolve(name, solve, A, b, x0, tol, atol, maxiter, M, check_symmetric):
    A, b, x0, M, maxiter = _prepared(name, A, b, x0, M, maxiter)
    solver = functools.partial(solve, x0=x0, tol=tol, atol=atol, maxiter=maxiter, M=M)
    # A real positive-definite operator (what cg asks for) is symmetric: the transpose solve is the solve.
    symmetric = check_symmetric and not any(fnp.iscomplexobj(leaf) for leaf in tree_leaves(b))
    with _quiet():
        return custom_linear_solve(A, b, solve=solver, transpose_solve=solver, symmetric=symmetric)


def cg(A, b, x0=None, *, tol=1e-5, atol=0.0, maxiter=None, M=None):
    """Solve `A x = b` for a Hermitian positive-definite `A` by (preconditioned) conjugate gradients,
    as jax.scipy.sparse.linalg.cg: returns `(x, None)` (JAX's placeholder for convergence information).
    `A` and `M` (a preconditioner approximating the inverse of A) are matrices or functions; `b` and `x0`
    are arrays or pytrees of one structure. Iteration stops when `norm(b - A x) <= max(tol * norm(b),
    atol)` or after `maxiter` steps (default 10 times the number of unknowns).

    >>> import numpy as np; from fnad.scipy.sparse.linalg import cg
    >>> a = np.array([[4.0, 1.0], [1.0, 3.0]])
    >>> x, info = cg(a, np.array([1.0, 2.0]))
    >>> np.round(x, 6), info
    (array([0.090909, 0.636364]), None)
    """
    return _isolve("cg", _cg_solve, A, b, x0, tol, atol, maxiter, M, check_symmetric=True), None


def bicgstab(A, b, x0=None, *, tol=1e-5, atol=0.0, maxiter=None, M=None):
    """Solve `A x = b` for a general (nonsymmetric) `A` by BiCGSTAB, as jax.scipy.sparse.linalg.bicgstab;
    arguments and result as `cg`'s.

    >>> import numpy as np; from fnad.scipy.sparse.linalg import bicgstab
    >>> a = np.array([[4.0, 1.0], [-2.0, 3.0]])
    >>> x, info = bicgstab(a, np.array([1.0, 2.0]))
    >>> np.round(x, 6)
    array([0.071429, 0.714286])
    """
    return _isolve("bicgstab", _bicgstab_solve, A, b, x0, tol, atol, maxiter, M, check_symmetric=False), None


# GMRES: restarted Arnoldi iterations, the least-squares problem solved either at the end of each restart
# (JAX's "batched") or incrementally by Givens rotations ("incremental").


def _arnoldi_step(k, A, M, V, H):
    """Step k of the Arnoldi process: the Krylov vector M(A(V[:, k])) orthogonalised (one classical
    Gram-Schmidt pass) against V's columns and normalised into V[:, k+1], its overlaps into row k of H;
    and whether the Krylov space stopped growing (an invariant subspace)."""
    dtype = _dtype(V)
    eps = fnp.finfo(dtype).eps
    v = M(A(tree_map(lambda X: X[..., k], V)))
    _, v_norm_0 = _safe_normalize(v)
    h = functools.reduce(
        operator.add, tree_leaves(tree_map(lambda X, y: fnp.einsum("...n,...->n", fnp.conj(X), y), V, v))
    )
    v = _sub(v, tree_map(lambda X: fnp.dot(X, h), V))
    unit_v, v_norm_1 = _safe_normalize(v, thresh=eps * v_norm_0)
    V = tree_map(lambda X, y: X.at[..., k + 1].set(y), V, unit_v)
    H = H.at[k, :].set(h.at[k + 1].set(v_norm_1.astype(dtype)))
    return V, H, v_norm_1 == 0


def _krylov_basis(unit_residual, restart):
    """The basis V (a trailing axis of restart + 1 columns), its first column the unit residual."""
    return tree_map(lambda x: fnp.pad(x[..., None], ((0, 0),) * x.ndim + ((0, restart),)), unit_residual)


def _restart_done(A, b, x0, V, y, M):
    """The end of a restart: x0 moved by V y, and the new preconditioned residual, normalised."""
    x = _add(x0, tree_map(lambda X: fnp.dot(X[..., :-1], y), V))
    unit_residual, residual_norm = _safe_normalize(M(_sub(b, A(x))))
    return x, unit_residual, residual_norm


def _rotate(H, i, cs, sn):
    """Rows (or entries) i and i+1 of H rotated by the Givens rotation (cs, sn)."""
    x1, y1 = H[i], H[i + 1]
    H = H.at[i].set(fnp.conj(cs) * x1 - fnp.conj(sn) * y1)
    return H.at[i + 1].set(sn * x1 + cs * y1)


def _givens(a, b):
    """The rotation (cs, sn) zeroing b against a."""
    b_zero = fnp.abs(b) == 0
    a_lt_b = fnp.abs(a) < fnp.abs(b)
    t = -fnp.where(a_lt_b, a, b) / fnp.where(a_lt_b, b, a)
    r = (1 / fnp.sqrt(1 + fnp.abs(t) ** 2)).astype(t.dtype)
    cs = fnp.where(b_zero, 1, fnp.where(a_lt_b, r * t, r))
    sn = fnp.where(b_zero, 0, fnp.where(a_lt_b, r, r * t))
    return cs, sn


def _gmres_incremental(A, b, x0, unit_residual, residual_norm, ptol, restart, M):
    """One restart, QR-factorising the Hessenberg matrix by Givens rotations as the Arnoldi process goes,
    which gives the residual norm at every step and lets the restart stop early below `ptol`."""
    V = _krylov_basis(unit_residual, restart)
    dtype = _dtype(b)
    R = fnp.eye(restart, restart + 1, dtype=dtype)  # identity rows keep the triangular solve regular
    givens = fnp.zeros((restart, 2), dtype)
    beta = fnp.zeros(restart + 1, dtype).at[0].set(residual_norm.astype(dtype))

    def cond_fun(carry):
        k, err, *_ = carry
        return (k < restart) & (err > ptol)

    def body_fun(carry):
        k, _, V, R, beta, givens = carry
        V, H, _ = _arnoldi_step(k, A, M, V, R)
        row = fori_loop(0, k, lambda i, row: _rotate(row, i, givens[i, 0], givens[i, 1]), H[k, :])
        cs, sn = _givens(row[k], row[k + 1])
        givens = givens.at[k, 0].set(cs).at[k, 1].set(sn)
        R = R.at[k, :].set(_rotate(row, k, cs, sn))
        beta = _rotate(beta, k, cs, sn)
        return k + 1, fnp.abs(beta[k + 1]), V, R, beta, givens

    _, _, V, R, beta, _ = while_loop(cond_fun, body_fun, (0, residual_norm, V, R, beta, givens))
    y = solve_triangular(R[:, :-1].T, beta[:-1])
    return _restart_done(A, b, x0, V, y, M)


def _gmres_batched(A, b, x0, unit_residual, residual_norm, ptol, restart, M):
    """One restart, building the whole Krylov space (unless it breaks down) and then solving the
    least-squares problem through its normal equations."""
    del ptol  # a batched restart has no residual estimate to stop on
    V = _krylov_basis(unit_residual, restart)
    dtype = _dtype(b)
    H = fnp.eye(restart, restart + 1, dtype=dtype)

    def cond_fun(carry):
        _, _, breakdown, k = carry
        return (k < restart) & ~breakdown

    def body_fun(carry):
        V, H, _, k = carry
        V, H, breakdown = _arnoldi_step(k, A, M, V, H)
        return V, H, breakdown, k + 1

    V, H, _, _ = while_loop(cond_fun, body_fun, (V, H, fnp.asarray(False), 0))
    beta = fnp.zeros(restart + 1, dtype).at[0].set(residual_norm.astype(dtype))
    # The least-squares solution of H^T y = beta, by the normal equations (as JAX; H^T has full rank).
    y = solve(fnp.conj(H) @ H.T, fnp.conj(H) @ beta, assume_a="pos")
    return _restart_done(A, b, x0, V, y, M)


_GMRES_METHODS = {"incremental": _gmres_incremental, "batched": _gmres_batched}


def _gmres_solve(A, b, x0, atol, ptol, restart, maxiter, M, restart_fn):
    """Restarts from the previous solution until the preconditioned residual is at most `atol` or
    `maxiter` restarts have run."""
    unit_residual, residual_norm = _safe_normalize(M(_sub(b, A(x0))))

    def cond_fun(value):
        _, k, _, residual_norm = value
        return (k < maxiter) & (residual_norm > atol)

    def body_fun(value):
        x, k, unit_residual, residual_norm = value
        x, unit_residual, residual_norm = restart_fn(A, b, x, unit_residual, residual_norm, ptol, restart, M)
        return x, k + 1, unit_residual, residual_norm

    return while_loop(cond_fun, body_fun, (x0, 0, unit_residual, residual_norm))[0]


def gmres(A, b, x0=None, *, tol=1e-5, atol=0.0, restart=20, maxiter=None, M=None, solve_method="batched"):
    """Solve `A x = b` for a general `A` by restarted GMRES, as jax.scipy.sparse.linalg.gmres: Krylov
    spaces of dimension `restart` are rebuilt from the last solution at most `maxiter` times (default 10
    times the number of unknowns). `solve_method` is "batched" (solve the least-squares problem once per
    restart) or "incremental" (Givens rotations as the space grows, stopping early). Returns `(x, info)`,
    info 0, or -1 when x holds NaNs. Other arguments as `cg`'s.

    >>> import numpy as np; from fnad.scipy.sparse.linalg import gmres
    >>> a = np.array([[4.0, 1.0], [-2.0, 3.0]])
    >>> x, info = gmres(a, np.array([1.0, 2.0]))
    >>> np.round(x, 6), info
    (array([0.071429, 0.714286]), Array(0, dtype=int64))
    """
    if solve_method not in _GMRES_METHODS:
        raise ValueError(f"gmres: invalid solve_method {solve_method!r}, must be either 'incremental' or 'batched'")
    A, b, x0, M, maxiter = _prepared("gmres", A, b, x0, M, maxiter)
    restart = min(restart, sum(leaf.size for leaf in tree_leaves(b)))
    b_norm = _norm(b)
    atol = fnp.maximum(tol * b_norm, atol)
    ptol = _norm(M(b)) * fnp.minimum(1.0, atol / b_norm)
    restart_fn = _GMRES_METHODS[solve_method]

    def solve(A, b):
        return _gmres_solve(A, b, x0, atol, ptol, restart, maxiter, M, restart_fn)

    with _quiet():
        x = custom_linear_solve(A, b, solve=solve, transpose_solve=solve)
    info = fnp.where(fnp.isnan(_norm(x)), -1, 0)
    return x, info
