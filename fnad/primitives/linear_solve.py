"""linear_solve: the solution of a linear system by a user's solver, differentiated as the solution of
the system rather than through the solver's iterations (JAX's `lax.custom_linear_solve`).

`linear_solve[matvec, solve, transpose_solve](*matvec_consts, *solve_consts, *transpose_consts, *b)`
computes `x = solve(b)` and assumes `matvec(x) = b`. So:
- jvp: `matvec(x_dot) = b_dot - matvec_dot(x)`, one more solve of the same system (the tangent of the
  solver's own constants is ignored: an exact solver does not depend on them);
- transpose (in b): a solve of the transposed system, `transpose_solve(ct)` with `matvec`'s transpose
  (derived from its IR), and the two solvers trading places, so reverse mode of reverse mode works;
- batching: every sub-IR batched together, the right-hand side and solution along axis 0;
- jit compiles the solver's IR in its place.
Each sub-IR takes its constants first. A solver may return auxiliary outputs after the solution; they
get no derivative."""

from __future__ import annotations

from ..ad_util import Zero, instantiate, tangent_aval, zero_cotangents
from ..core import Primitive, get_aval
from ..ir import eval_closed
from ..transforms.batching import move_to_front
from ..transforms.jaxpr_rules import batch_jaxpr, jaxpr_cache, transpose_jaxpr
from ..transforms.jvp import jvp_flat
from ..transforms.reverse import is_undefined
from ..transforms.staging import decomposition
from .control_flow import define_rules
from .elementwise import sub

linear_solve_p = Primitive("linear_solve", multiple_results=True)


def _groups(args, matvec, solve, transpose_solve):
    """(matvec consts, solve consts, transpose_solve consts, b) from the operands."""
    n_b = len(matvec.out_avals)
    n_m = len(matvec.in_avals) - n_b
    n_s = len(solve.in_avals) - n_b
    n_t = 0 if transpose_solve is None else len(transpose_solve.in_avals) - n_b
    args = list(args)
    return args[:n_m], args[n_m : n_m + n_s], args[n_m + n_s : n_m + n_s + n_t], args[n_m + n_s + n_t :]


def _impl(*args, matvec, solve, transpose_solve):
    _, s_consts, _, b = _groups(args, matvec, solve, transpose_solve)
    return eval_closed(solve, *s_consts, *b)


def _abstract_eval(*avals, matvec, solve, transpose_solve):
    _, _, _, b = _groups(avals, matvec, solve, transpose_solve)
    n = len(b)
    for name, sub_ir in (("solve", solve), ("transpose_solve", transpose_solve)):
        if sub_ir is None:
            continue
        outs = sub_ir.out_avals[:n]
        if len(sub_ir.out_avals) < n or any(o.shape != a.shape or o.dtype != a.dtype for o, a in zip(outs, b)):
            raise TypeError(
                f"custom_linear_solve: {name} must return a solution shaped like b "
                f"({[a.str_short() for a in b]}), got {[a.str_short() for a in sub_ir.out_avals]}"
            )
    return [a.strip_weak() for a in solve.out_avals]


def _jvp(primals, tangents, matvec, solve, transpose_solve):
    params = {"matvec": matvec, "solve": solve, "transpose_solve": transpose_solve}
    m_consts, s_consts, t_consts, b = _groups(primals, **params)
    dm, _, _, db = _groups(tangents, **params)
    outs = linear_solve_p.bind(*primals, **params)
    n = len(b)
    x = outs[:n]
    rhs = list(db)
    if any(type(t) is not Zero for t in dm):
        # The matrix moves with its constants: matvec_dot(x) is moved to the right-hand side.
        _, mv_dot = jvp_flat(lambda *cs: eval_closed(matvec, *cs, *x), list(m_consts), list(dm))
        rhs = [t if type(m) is Zero else sub(instantiate(t) if type(t) is Zero else t, m) for t, m in zip(rhs, mv_dot)]
    out_zeros = [Zero(tangent_aval(get_aval(o))) for o in outs]
    if all(type(t) is Zero for t in rhs):
        return outs, out_zeros
    rhs = [instantiate(t) for t in rhs]
    x_dot = linear_solve_p.bind(*m_consts, *s_consts, *t_consts, *rhs, **params)[:n]
    return outs, x_dot + out_zeros[n:]


@jaxpr_cache
def _vecmat(matvec):
    n_b = len(matvec.out_avals)
    n_m = len(matvec.in_avals) - n_b
    return transpose_jaxpr(matvec, [False] * n_m + [True] * n_b)


def _transpose(cts, *args, matvec, solve, transpose_solve):
    params = {"matvec": matvec, "solve": solve, "transpose_solve": transpose_solve}
    m_consts, s_consts, t_consts, b = _groups(args, **params)
    if any(is_undefined(c) for c in m_consts + s_consts + t_consts):
        raise TypeError("custom_linear_solve: only the right-hand side b can be transposed, not the solver's constants")
    if transpose_solve is None:
        raise TypeError(
            "custom_linear_solve: transpose_solve is required for reverse-mode differentiation (grad, vjp); "
            "pass transpose_solve=, or symmetric=True when matvec is symmetric"
        )
    n = len(b)
    ct_x = zero_cotangents(list(cts[:n]), [a.aval for a in b])
    ct_b = linear_solve_p.bind(
        *m_consts, *t_consts, *s_consts, *ct_x, matvec=_vecmat(matvec), solve=transpose_solve, transpose_solve=solve
    )[:n]
    return [None] * (len(m_consts) + len(s_consts) + len(t_consts)) + list(ct_b)


def _batch(vals, dims, matvec, solve, transpose_solve, axis_size):
    params = {"matvec": matvec, "solve": solve, "transpose_solve": transpose_solve}
    batched = [d is not None for d in dims]
    m_b, s_b, t_b, _ = _groups(batched, **params)
    n = len(matvec.out_avals)
    # The right-hand side and the solution are always batched: whichever is, the other follows.
    want = m_b + s_b + t_b + [True] * n
    vals = move_to_front(list(vals), list(dims), want, axis_size)

    def batched_ir(sub_ir, consts_b):
        if sub_ir is None:
            return None
        return batch_jaxpr(sub_ir, tuple(consts_b) + (True,) * n, axis_size, True)[0]

    outs = linear_solve_p.bind(
        *vals,
        matvec=batched_ir(matvec, m_b),
        solve=batched_ir(solve, s_b),
        transpose_solve=batched_ir(transpose_solve, t_b),
    )
    return outs, [0] * len(outs)


define_rules(linear_solve_p, _impl, _abstract_eval, _jvp, _batch, _transpose)
linear_solve_p.decompose = decomposition(_impl)  # jit compiles the solver itself
