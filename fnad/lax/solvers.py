"""Solvers with implicit derivatives, as JAX's: `custom_linear_solve` and `custom_root`.

A user's solver (conjugate gradients, Newton iterations, bisection, ...) is differentiated as the
solution it finds, not through its iterations: by the implicit function theorem. The functions each
takes are traced, so the values they close over (parameters being differentiated) become explicit
operands; that is what lets the derivative of the solution reach them."""

from __future__ import annotations

import numpy as np

from ..ad_util import instantiate, tangent_aval, zeros_like_aval
from ..api_util import flatten_fun
from ..core import get_aval
from ..custom_derivatives import custom_jvp
from ..ir import eval_closed
from ..primitives.elementwise import neg
from ..primitives.linear_solve import linear_solve_p
from ..primitives.misc import stop_gradient
from ..transforms.jaxpr_rules import trace_flat, transpose_jaxpr
from ..transforms.jvp import jvp_flat
from ..tree_util import tree_flatten, tree_map, tree_unflatten

__all__ = ["custom_linear_solve", "custom_root"]


def _leaves(tree, name):
    leaves, treedef = tree_flatten(tree)
    leaves = [np.asarray(x) if type(x) in (int, float, bool) else x for x in leaves]
    if not leaves:
        raise TypeError(f"{name}: needs at least one array")
    return leaves, treedef


def _traced(fn, treedef, avals, name, out_tree_must_be=None, has_aux=False):
    """`fn` on pytrees of `treedef` traced on `avals`: (ClosedJaxpr taking its consts first, consts,
    output tree). With `out_tree_must_be`, the output (or its first part, with aux) must have that
    structure."""
    args_tree = tree_flatten((tree_unflatten(treedef, [0] * treedef.num_leaves),))[1]
    flat, out_tree = flatten_fun(fn, args_tree)
    closed, consts = trace_flat(flat, avals, name)
    tree = out_tree.val
    if out_tree_must_be is not None:
        got = tree.children()[0] if has_aux else tree
        if got != out_tree_must_be:
            raise TypeError(f"{name} must return the structure of its argument, {out_tree_must_be}; it returned {got}")
    return closed, consts, tree


def _as_function(closed, consts, treedef):
    """A Python function on pytrees of `treedef` running `closed` with its consts."""

    def fn(x):
        leaves, tree = tree_flatten(x)
        if tree != treedef:
            raise TypeError(f"expected an argument of structure {treedef}, got {tree}")
        return tree_unflatten(treedef, eval_closed(closed, *consts, *leaves))

    return fn


def _operator_and_solver(name, what, fn, x, solve, has_aux):
    """`fn` (a function of pytrees shaped like `x`) traced, and `solve(fn, x)` traced with `fn` given as
    that traced function: (leaves of x, their tree, their avals, (fn's IR, its consts), (solve's IR,
    its consts, its output tree)). Values either closes over become the consts."""
    leaves, tree = _leaves(x, name)
    avals = [get_aval(v).strip_weak() for v in leaves]
    closed, consts, _ = _traced(fn, tree, avals, f"{name}: {what}", tree)
    as_function = _as_function(closed, consts, tree)
    solver = _traced(lambda v: solve(as_function, v), tree, avals, f"{name}: solve", tree, has_aux)
    return leaves, tree, avals, (closed, consts), solver


def custom_linear_solve(matvec, b, solve, transpose_solve=None, symmetric=False, has_aux=False):
    """`solve(matvec, b)`, the x with `matvec(x) = b`, differentiated implicitly, as JAX's
    lax.custom_linear_solve: derivatives come from further solves of the same system
    (`transpose_solve(vecmat, ct)` in reverse mode, where `vecmat` is `matvec`'s transpose, or `solve`
    itself when `symmetric`), never from the solver's iterations. `matvec` is linear; `b` and x are
    pytrees of one structure. With `has_aux`, the solvers return `(x, aux)` and so does this function
    (`aux` gets no derivative).

    >>> import numpy as np, fnad; from fnad import lax
    >>> a = np.array([[2.0, 1.0], [1.0, 3.0]])
    >>> def solve(matvec, b):  # any solver; here an exact one
    ...     return fnad.numpy.linalg.solve(a, b)
    >>> lax.custom_linear_solve(lambda x: a @ x, np.array([1.0, 2.0]), solve, symmetric=True)
    Array([0.2, 0.6], dtype=float64)
    """
    name = "custom_linear_solve"
    b_leaves, tree, avals, (mv_closed, mv_consts), (s_closed, s_consts, s_tree) = _operator_and_solver(
        name, "matvec", matvec, b, solve, has_aux
    )
    if symmetric:
        t_closed, t_consts = s_closed, s_consts
    elif transpose_solve is None:
        t_closed, t_consts = None, []
    else:
        vecmat_closed = transpose_jaxpr(mv_closed, [False] * len(mv_consts) + [True] * len(avals))
        vecmat_fn = _as_function(vecmat_closed, mv_consts, tree)
        t_closed, t_consts, _ = _traced(
            lambda x: transpose_solve(vecmat_fn, x), tree, avals, f"{name}: transpose_solve", tree, has_aux
        )
    outs = linear_solve_p.bind(
        *mv_consts, *s_consts, *t_consts, *b_leaves, matvec=mv_closed, solve=s_closed, transpose_solve=t_closed
    )
    return tree_unflatten(s_tree, outs)


def custom_root(f, initial_guess, solve, tangent_solve, has_aux=False):
    """The root x of `f` that `solve(f, initial_guess)` finds, differentiated implicitly, as JAX's
    lax.custom_root: with `f(x) = 0`, the derivative of x with respect to anything `f` closes over is
    `-tangent_solve(g, f_dot(x))`, where `g` is `f`'s linearization at the root (for a scalar,
    `tangent_solve=lambda g, y: y / g(1.0)`). With `has_aux`, `solve` returns `(x, aux)` and so does
    this function (`aux` gets no derivative).

    >>> import fnad; from fnad import lax
    >>> def sqrt(a):  # Newton's method for x**2 - a = 0
    ...     def solve(f, x):
    ...         return lax.fori_loop(0, 30, lambda i, x: x - f(x) / (2 * x), x)
    ...     return lax.custom_root(lambda x: x**2 - a, 1.0, solve, lambda g, y: y / g(1.0))
    >>> fnad.grad(sqrt)(4.0)   # 1 / (2 sqrt(4))
    Array(0.25, dtype=float64)
    """
    name = "custom_root"
    guess, tree, _, (f_closed, f_consts), (s_closed, s_consts, s_tree) = _operator_and_solver(
        name, "f", f, initial_guess, solve, has_aux
    )
    n = len(guess)

    @custom_jvp
    def root(f_consts, s_consts, guess):
        return eval_closed(s_closed, *s_consts, *guess)

    @root.defjvp
    def root_jvp(primals, tangents):
        f_c, s_c, g = primals
        df_c = tangents[0]
        outs = root(f_c, s_c, g)
        x = outs[:n]
        # f(x(c), c) = 0, so g(x_dot) = -f_dot, where f_dot is f's tangent through its constants at the root.
        _, f_dot = jvp_flat(lambda *cs: eval_closed(f_closed, *cs, *x), list(f_c), list(df_c))
        f_x = _as_function(f_closed, f_c, tree)

        def linearized(v):
            return jvp_flat(lambda *xs: tree_flatten(f_x(tree_unflatten(tree, xs)))[0], x, tree_flatten(v)[0])[1]

        def g(v):
            return tree_unflatten(tree, linearized(v))

        x_dot = tree_flatten(tree_map(neg, tangent_solve(g, tree_unflatten(tree, [instantiate(t) for t in f_dot]))))[0]
        return outs, list(x_dot) + [zeros_like_aval(tangent_aval(get_aval(o))) for o in outs[n:]]

    outs = root(list(f_consts), list(s_consts), guess)
    if has_aux:
        outs = outs[:n] + [stop_gradient(a) for a in outs[n:]]
    return tree_unflatten(s_tree, outs)
