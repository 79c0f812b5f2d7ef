"""Numerical checks of derivatives, with JAX's `check_grads` semantics.

Forward mode is compared with central finite differences (a 4-point stencil) along random
directions; reverse mode with forward mode through the dot-product identity <ct, J t> = <J^T ct, t>
(with finite differences when forward mode is not checked). For order > 1 the same checks run on
the derivative functions themselves (jvp and vjp as functions of primals, tangents, cotangents).
Arguments and outputs may be pytrees; integer and boolean leaves are not perturbed or compared.
"""

from __future__ import annotations

import numpy as np

from . import api
from .tree_util import tree_flatten, tree_leaves, tree_unflatten

# Step of the finite differences and default tolerances (atol = rtol), by the least precise float dtype.
_EPS = {np.dtype(np.float16): 3e-2, np.dtype(np.float32): 1e-2, np.dtype(np.float64): 1e-3}
_TOL = {np.dtype(np.float16): 5e-2, np.dtype(np.float32): 3e-3, np.dtype(np.float64): 1e-5}


def _is_float(x):
    return np.issubdtype(np.asarray(x).dtype, np.floating)


def _least_precise(*trees):
    dtypes = [np.asarray(x).dtype for t in trees for x in tree_leaves(t) if _is_float(x)]
    return min(dtypes, key=lambda d: d.itemsize) if dtypes else np.dtype(np.float64)


def _defaults(dtype, eps, atol, rtol):
    dtype = dtype if dtype in _TOL else np.dtype(np.float64)
    return (
        _EPS[dtype] if eps is None else eps,
        _TOL[dtype] if atol is None else atol,
        _TOL[dtype] if rtol is None else rtol,
    )


def _as_arrays(tree):
    leaves, treedef = tree_flatten(tree)
    return tree_unflatten(treedef, [np.asarray(x) for x in leaves])


def _random_like(rng, tree):
    """Standard-normal values for float leaves, zeros for the others."""
    leaves, treedef = tree_flatten(tree)
    return tree_unflatten(
        treedef,
        [
            rng.standard_normal(np.shape(x)).astype(np.asarray(x).dtype) if _is_float(x) else np.zeros_like(x)
            for x in leaves
        ],
    )


def _shift(args, tangents, step):
    leaves, treedef = tree_flatten(args)
    return tree_unflatten(
        treedef,
        [
            (x + np.asarray(step, x.dtype) * t).astype(x.dtype) if _is_float(x) else x
            for x, t in zip(leaves, tree_leaves(tangents))
        ],
    )


def numerical_jvp(f, args, tangents, eps):
    """The directional derivative of f at args along tangents by the central 4-point stencil
    (8 (f(x+h t) - f(x-h t)) - (f(x+2h t) - f(x-2h t))) / 12h, with error O(h^4)."""
    outs = [tree_leaves(_as_arrays(f(*_shift(args, tangents, k * eps)))) for k in (2, 1, -1, -2)]
    _, treedef = tree_flatten(f(*args))
    return tree_unflatten(
        treedef,
        [
            ((8 * (b.astype(np.float64) - c) - (a.astype(np.float64) - d)) / (12 * eps)).astype(a.dtype)
            if _is_float(a)
            else np.zeros_like(a)
            for a, b, c, d in zip(*outs)
        ],
    )


def _inner(xs, ys):
    """sum_i <x_i, y_i> over the float leaves, and the sum of |terms| (the scale of rounding errors)."""
    total = scale = 0.0
    for x, y in zip(tree_leaves(xs), tree_leaves(ys)):
        if _is_float(x):
            prod = np.asarray(x, np.float64) * np.asarray(y, np.float64)
            total += prod.sum()
            scale += np.abs(prod).sum()
    return total, scale


def _same_structure(actual, expected, what):
    """The leaves of both trees as NumPy arrays, after checking that structures and shapes agree."""
    a_leaves, a_tree = tree_flatten(actual)
    e_leaves, e_tree = tree_flatten(expected)
    if a_tree != e_tree:
        raise AssertionError(f"{what}: structures differ: {a_tree} vs {e_tree}")
    pairs = [(np.asarray(a), np.asarray(e)) for a, e in zip(a_leaves, e_leaves)]
    for k, (a, e) in enumerate(pairs):
        if a.shape != e.shape:
            raise AssertionError(f"{what}: leaf {k} has shape {a.shape}, expected {e.shape}")
    return pairs


def _assert_close(actual, expected, atol, rtol, what):
    for k, (a, e) in enumerate(_same_structure(actual, expected, what)):
        if not _is_float(e):
            continue
        a64, e64 = a.astype(np.float64), e.astype(np.float64)
        same = (a64 == e64) | (np.isnan(a64) & np.isnan(e64))
        err = np.where(same, 0.0, np.abs(a64 - e64))
        bad = ~(err <= atol + rtol * np.abs(e64))
        if bad.any():
            i = np.unravel_index(np.argmax(np.where(bad, np.nan_to_num(err, nan=np.inf), -1)), a.shape)
            raise AssertionError(
                f"{what}: leaf {k} (shape {a.shape}) differs at {bad.sum()} of {a.size} entries; "
                f"worst at index {tuple(int(j) for j in i)}: got {float(a64[i])!r}, expected {float(e64[i])!r} "
                f"(|diff| {err[i]:.3g} > atol {atol:g} + rtol {rtol:g} * |expected|)"
            )


def check_jvp(f, f_jvp, args, atol=None, rtol=None, eps=None, err_msg="", rng=None):
    """Check `f_jvp(primals, tangents) -> (f(*primals), J tangents)` against f and against central
    finite differences of f along a random direction."""
    rng = np.random.default_rng(0) if rng is None else rng
    args = _as_arrays(tuple(args))
    tangents = _random_like(rng, args)
    out, t_out = f_jvp(args, tangents)
    eps, atol, rtol = _defaults(_least_precise(args, out), eps, atol, rtol)
    label = f"check_jvp{' (' + err_msg + ')' if err_msg else ''}"
    _assert_close(out, f(*args), atol, rtol, f"{label}: primal output of jvp vs f")
    _assert_close(
        t_out,
        numerical_jvp(f, args, tangents, eps),
        atol,
        rtol,
        f"{label}: jvp tangent output vs central finite differences (eps={eps:g})",
    )


def check_vjp(f, f_vjp, args, atol=None, rtol=None, eps=None, err_msg="", rng=None, f_jvp=None):
    """Check `f_vjp(*primals) -> (f(*primals), vjp_fn)` through <ct, J t> == <vjp_fn(ct), t> for random
    ct and t; J t comes from `f_jvp` when given (an already checked jvp), else finite differences."""
    rng = np.random.default_rng(0) if rng is None else rng
    args = _as_arrays(tuple(args))
    out, vjp_fn = f_vjp(*args)
    eps, atol, rtol = _defaults(_least_precise(args, out), eps, atol, rtol)
    label = f"check_vjp{' (' + err_msg + ')' if err_msg else ''}"
    _assert_close(out, f(*args), atol, rtol, f"{label}: primal output of vjp vs f")
    ct = _random_like(rng, _as_arrays(out))
    tangents = _random_like(rng, args)
    ct_in = vjp_fn(ct)
    _same_structure(ct_in, args, f"{label}: input cotangents of vjp vs the arguments")
    if f_jvp is None:
        j_t, source = numerical_jvp(f, args, tangents, eps), f"central finite differences (eps={eps:g})"
    else:
        j_t, source = f_jvp(args, tangents)[1], "jvp"
    lhs, lhs_scale = map(float, _inner(ct_in, tangents))
    rhs, rhs_scale = map(float, _inner(ct, j_t))
    if not abs(lhs - rhs) <= atol + rtol * max(lhs_scale, rhs_scale):
        raise AssertionError(
            f"{label}: <vjp(ct), t> = {lhs!r} but <ct, J t> = {rhs!r} with J t from {source} "
            f"(|diff| {abs(lhs - rhs):.3g} > atol {atol:g} + rtol {rtol:g} * {max(lhs_scale, rhs_scale):.3g})"
        )


def check_grads(f, args, order, modes=("fwd", "rev"), atol=None, rtol=None, eps=None):
    """Check the derivatives of `f` at `args` up to `order` in the given modes ("fwd", "rev"):
    order 2 also checks jvp and vjp of f as functions in their own right, and so on."""
    for m in modes:
        if m not in ("fwd", "rev"):
            raise ValueError(f"check_grads: unknown mode {m!r}; use 'fwd' and/or 'rev'")
    _check_grads(f, tuple(args), order, tuple(modes), atol, rtol, eps, np.random.default_rng(0), "f", 1)


def _check_grads(f, args, order, modes, atol, rtol, eps, rng, name, level):
    if order < 1:
        return
    f_jvp = lambda primals, tangents: api.jvp(f, primals, tangents)
    f_vjp = lambda *primals: api.vjp(f, *primals)
    msg = lambda mode: f"mode {mode}, order {level}, checking {name}"
    if "fwd" in modes:
        check_jvp(f, f_jvp, args, atol, rtol, eps, msg("fwd"), rng)
    if "rev" in modes:
        check_vjp(f, f_vjp, args, atol, rtol, eps, msg("rev"), rng, f_jvp if "fwd" in modes else None)
    if order == 1:
        return
    n = len(args)
    if "fwd" in modes:
        tangents = _random_like(rng, _as_arrays(args))
        _check_grads(
            lambda *a: api.jvp(f, a[:n], a[n:]),
            args + tuple(tangents),
            order - 1,
            modes,
            atol,
            rtol,
            eps,
            rng,
            f"jvp({name})",
            level + 1,
        )
    if "rev" in modes:
        ct = _random_like(rng, _as_arrays(f(*args)))
        _check_grads(
            lambda *a: api.vjp(f, *a[:n])[1](a[n]),
            args + (ct,),
            order - 1,
            modes,
            atol,
            rtol,
            eps,
            rng,
            f"vjp({name})",
            level + 1,
        )
