"""`fnad.scipy.optimize`: `minimize(fun, x0, args, method='BFGS')`, as `jax.scipy.optimize` has it.

BFGS with a strong-Wolfe line search, written as `lax.while_loop`s, so it runs eagerly, under `jit`
and under `vmap` (lanes stop independently). The minimiser is differentiable with respect to `args`
through the optimality condition grad f(x*, args) = 0 (`lax.custom_root`), not through the iterations:
dx*/dargs = -H^-1 d(grad f)/dargs, with H the exact Hessian at x*."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import numpy as fnp
from ..api import grad, jacfwd, value_and_grad
from ..core import get_aval
from ..lax.control_flow import while_loop
from ..lax.solvers import custom_root

__all__ = ["OptimizeResults", "minimize"]


class OptimizeResults(NamedTuple):
    """The result of `minimize`, with JAX's fields.

    x: the minimiser found; success: whether the gradient norm fell below gtol; status: 0 converged,
    1 the iteration limit was reached, 3 the line search failed; fun, jac: the objective and its
    gradient at x; hess_inv: BFGS's inverse-Hessian estimate; nfev, njev: evaluations of the objective
    and of its gradient; nit: iterations made."""

    x: object
    success: object
    status: object
    fun: object
    jac: object
    hess_inv: object
    nfev: object
    njev: object
    nit: object


# Strong Wolfe conditions (Nocedal & Wright's constants for quasi-Newton methods).
_C1, _C2 = 1e-4, 0.9


def _line_search(value_and_grad_fn, x, f0, g0, p, maxiter):
    """A step length along `p` meeting the strong Wolfe conditions (Nocedal & Wright, algorithms 3.5
    and 3.6: widen until the minimum is bracketed, then shrink the bracket by safeguarded quadratic
    interpolation). Returns (found, alpha, f, g, evaluations)."""
    d0 = fnp.dot(g0, p)
    dtype = get_aval(f0).dtype
    zero, one = np.asarray(0, dtype), np.asarray(1, dtype)

    def trial(state):
        (i, zooming, _, a_prev, f_prev, d_prev, lo, hi, f_lo, d_lo, f_hi, a_cur, best) = state
        width = hi - lo
        quad_den = 2 * (f_hi - f_lo - d_lo * width)
        quad = lo - d_lo * width * width / fnp.where(quad_den == 0, one, quad_den)
        # The quadratic's minimiser, kept 10% away from the bracket's ends (the midpoint without one).
        t = fnp.clip((quad - lo) / fnp.where(width == 0, one, width), 0.1, 0.9)
        a = fnp.where(zooming, lo + fnp.where(quad_den > 0, t, 0.5) * width, a_cur)
        f, g = value_and_grad_fn(x + a * p)
        d = fnp.dot(g, p)
        sufficient = f <= f0 + _C1 * a * d0
        curvature = fnp.abs(d) <= -_C2 * d0
        # Widening phase.
        bracket_here = ~sufficient | ((i > 0) & (f >= f_prev))
        bracket_reversed = sufficient & ~curvature & (d >= 0) & ~bracket_here
        # Zooming phase.
        z_high = ~sufficient | (f >= f_lo)
        z_flip = ~z_high & ~curvature & (d * width >= 0)
        done = fnp.where(zooming, ~z_high & curvature, ~bracket_here & curvature)
        new_lo = fnp.where(zooming, fnp.where(z_high, lo, a), fnp.where(bracket_here, a_prev, a))
        new_f_lo = fnp.where(zooming, fnp.where(z_high, f_lo, f), fnp.where(bracket_here, f_prev, f))
        new_d_lo = fnp.where(zooming, fnp.where(z_high, d_lo, d), fnp.where(bracket_here, d_prev, d))
        new_hi = fnp.where(zooming, fnp.where(z_high, a, fnp.where(z_flip, lo, hi)), fnp.where(bracket_here, a, a_prev))
        new_f_hi = fnp.where(
            zooming, fnp.where(z_high, f, fnp.where(z_flip, f_lo, f_hi)), fnp.where(bracket_here, f, f_prev)
        )
        best = tuple(fnp.where(done, new, old) for new, old in zip((a, f, g), best))
        return (
            i + 1,
            zooming | bracket_here | bracket_reversed,
            done,
            a,
            f,
            d,
            new_lo,
            new_hi,
            new_f_lo,
            new_d_lo,
            new_f_hi,
            2 * a,
            best,
        )

    init = (0, False, False, zero, f0, d0, zero, zero, f0, d0, f0, one, (zero, f0, g0))
    state = while_loop(lambda s: (~s[2]) & (s[0] < maxiter), trial, init)
    return state[2], state[12][0], state[12][1], state[12][2], state[0]


def _bfgs(fun, x0, maxiter, gtol, norm, line_search_maxiter):
    value_and_grad_fn = value_and_grad(fun)
    f0, g0 = value_and_grad_fn(x0)
    n = get_aval(x0).shape[0]
    eye = fnp.eye(n, dtype=get_aval(x0).dtype)

    def gnorm(g):
        return fnp.linalg.norm(g, ord=norm)

    def cond(state):
        k, converged, failed = state[0], state[1], state[2]
        return ~converged & ~failed & (k < maxiter)

    def step(state):
        k, _, _, x, f, g, h, nfev = state
        p = -(h @ g)
        found, alpha, f_new, g_new, evals = _line_search(value_and_grad_fn, x, f, g, p, line_search_maxiter)
        s = alpha * p
        y = g_new - g
        sy = fnp.dot(s, y)
        rho = 1.0 / fnp.where(sy == 0, 1.0, sy)
        left = eye - rho * fnp.outer(s, y)
        h_new = left @ h @ left.T + rho * fnp.outer(s, s)
        keep = lambda new, old: fnp.where(found, new, old)
        return (
            k + 1,
            found & (gnorm(g_new) < gtol),
            ~found,
            keep(x + s, x),
            keep(f_new, f),
            keep(g_new, g),
            keep(fnp.where(sy > 0, h_new, h), h),
            nfev + evals,
        )

    init = (0, gnorm(g0) < gtol, False, x0, f0, g0, eye, 1)
    k, converged, failed, x, _, _, h, nfev = while_loop(cond, step, init)
    status = fnp.where(converged, 0, fnp.where(failed, 3, 1))
    return x, converged, status, h, nfev, k


def minimize(fun, x0, args=(), *, method, tol=None, options=None):
    """Minimise `fun(x, *args)` over the 1-d array `x` from `x0`, as jax.scipy.optimize.minimize.

    `method` is 'BFGS'. `tol` sets the gradient tolerance; `options` may give `maxiter` (default
    200 * len(x0)), `gtol` (1e-5), `norm` (of the gradient; inf) and `line_search_maxiter` (10).
    Runs under `jit` and `vmap`. Derivatives of the result with respect to `args` (and of the optimal
    value) follow the optimum itself: implicit differentiation of grad f = 0 at the minimiser.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> from fnad.scipy.optimize import minimize
    >>> rosen = lambda x: fnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    >>> res = minimize(rosen, np.zeros(2), method='BFGS')
    >>> bool(res.success), np.round(np.asarray(res.x), 5)
    (True, array([1., 1.]))
    """
    if not isinstance(method, str) or method.lower() != "bfgs":
        raise ValueError(f"minimize: method must be 'BFGS', got {method!r}")
    if not isinstance(args, tuple):
        raise TypeError(f"minimize: args must be a tuple, got {type(args).__name__}")
    x0 = fnp.asarray(x0)
    if get_aval(x0).ndim != 1:
        raise ValueError(f"minimize: x0 must be a 1-d array, got shape {get_aval(x0).shape}")
    if get_aval(x0).dtype.kind != "f":
        x0 = x0.astype(np.float64)
    options = dict(options or {})
    unknown = set(options) - {"maxiter", "gtol", "norm", "line_search_maxiter"}
    if unknown:
        raise TypeError(f"minimize: unknown options {sorted(unknown)} for BFGS")
    maxiter = options.get("maxiter", 200 * get_aval(x0).shape[0])
    gtol = options.get("gtol", 1e-5 if tol is None else tol)
    norm = options.get("norm", np.inf)
    ls_maxiter = options.get("line_search_maxiter", 10)

    def solve(gradient, x_start):
        x, converged, status, h, nfev, k = _bfgs(lambda x: fun(x, *args), x_start, maxiter, gtol, norm, ls_maxiter)
        return x, (converged, status, h, nfev, k)

    def tangent_solve(linear, rhs):
        return fnp.linalg.solve(jacfwd(linear)(rhs), rhs)

    x, (success, status, hess_inv, nfev, nit) = custom_root(
        lambda x: grad(fun)(x, *args), x0, solve, tangent_solve, has_aux=True
    )
    f, g = value_and_grad(fun)(x, *args)
    return OptimizeResults(
        x=x,
        success=success,
        status=status,
        fun=f,
        jac=g,
        hess_inv=hess_inv,
        nfev=nfev,
        njev=nfev,
        nit=nit,
    )
