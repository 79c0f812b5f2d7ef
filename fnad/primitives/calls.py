"""The call primitives: a sub-function (a ClosedJaxpr or a Python callable) as one equation.

- `jit`: a jitted function inside another transform (its IR is the param `jaxpr`). Running it and
  transforming it use the jit module's caches of compiled and derived IR, so `fnad.jit_dispatch`
  sets its impl, jvp, transpose and batching rules.
- `custom_jvp_call`, `custom_vjp_call`, `custom_vjp_lin`: functions with user-defined derivative
  rules (`fnad.custom_derivatives` has the user-facing decorators and the design).
- `remat`, `remat_lin`: rematerialisation (`fnad.checkpoint` has the decorator and the design).

Before compiling, `fnad.passes` inlines `jit`, `custom_*_call` and `remat` (their `inline_param`)
and expands `remat_lin` into the jvp it stands for (`decompose`). `custom_vjp_lin` is forward mode
through a custom_vjp function, which has no rule: preparing it raises the error evaluating it raises.
"""

from __future__ import annotations

from ..ad_util import Zero, instantiate, tangent_aval, zero_cotangents, zeros_like_aval
from ..core import Primitive, get_aval, is_float_dtype
from ..ir import ClosedJaxpr, Jaxpr, axis_names_in_params, axis_names_of, eval_closed
from ..transforms.batching import move_bdim, move_to_front, vmap_flat
from ..transforms.jaxpr_rules import batch_jaxpr, jaxpr_cache, jvp_jaxpr, out_nonzeros, split_linear, transpose_jaxpr
from ..transforms.jvp import jvp_flat
from ..transforms.reverse import is_undefined
from ..transforms.staging import decomposition, trace_to_jaxpr
from .control_flow import define_rules
from .reductions import reduce_sum

# ----------------------------------------------------------------------------------------------
# jit (rules in fnad/jit_dispatch.py)

jit_p = Primitive("jit", multiple_results=True)
jit_p.inline_param = "jaxpr"  # the compiler sees nested jits inlined (see `fnad.passes`)
jit_p.axis_names = lambda params: axis_names_of(params["jaxpr"])  # a vmap batches them away
jit_p.abstract_eval = lambda *avals, jaxpr, name: jaxpr.out_avals


# ----------------------------------------------------------------------------------------------
# custom_jvp_call / custom_vjp_call: the function and its rules are params (fnad.custom_derivatives)


def _callable(call):
    """The function a `call` param denotes (a Python callable, or a staged ClosedJaxpr)."""
    if isinstance(call, ClosedJaxpr):
        return lambda *xs: eval_closed(call, *xs)
    return call


def _call_impl(*args, call, **rules):
    return list(_callable(call)(*args))


def _call_abstract_eval(*avals, call, **rules):
    if isinstance(call, ClosedJaxpr):
        return call.out_avals
    return trace_to_jaxpr(lambda *xs: list(call(*xs)), list(avals)).out_avals


def _stage_call(prim):
    """Staging records the function as a sub-IR whose constants (values it closes over) become
    leading inputs of the equation (counted in `num_consts`)."""

    def stage(trace, tracers, call, num_consts, **rules):
        if not isinstance(call, ClosedJaxpr):
            closed = trace_to_jaxpr(lambda *xs: list(call(*xs)), [t.aval for t in tracers], prim.name)
            j = closed.jaxpr
            call = ClosedJaxpr(Jaxpr([], j.constvars + j.invars, j.eqns, j.outvars), [])
            tracers = [trace.full_raise(c) for c in closed.consts] + list(tracers)
            num_consts += len(closed.consts)
        return trace.emit(prim, tracers, call.out_avals, dict(call=call, num_consts=num_consts, **rules))

    return stage


def _call_primitive(name):
    """A higher-order primitive whose `call` param is the function (callable or staged sub-IR)."""
    p = Primitive(name, multiple_results=True)
    p.inline_param = "call"  # fnad.passes inlines the staged sub-IR before compiling
    p.axis_names = axis_names_in_params
    p.impl, p.abstract_eval, p.stage = _call_impl, _call_abstract_eval, _stage_call(p)
    p.batch_needs_size = True
    return p


def _vmapped(flat_fun, in_dims, axis_size):
    """`flat_fun` (list -> list) vmapped over `in_dims`; every output batched along axis 0."""
    n_out = []

    def counted(*xs):
        outs = list(flat_fun(*xs))
        n_out[:] = [len(outs)]
        return outs

    def batched(*xs):
        return vmap_flat(counted, list(xs), list(in_dims), axis_size, lambda: [0] * n_out[0])

    return batched


def _unbatched_aval(x, d):
    aval = get_aval(x)
    return aval if d is None else aval.update(shape=aval.shape[:d] + aval.shape[d + 1 :])


def fun_name(fun):
    return getattr(fun, "__name__", type(fun).__name__)


# custom_jvp_call

custom_jvp_call_p = _call_primitive("custom_jvp_call")


def _custom_jvp_jvp(primals, tangents, call, jvp, num_consts):
    outs, touts = jvp(list(primals[num_consts:]), [instantiate(t) for t in tangents[num_consts:]])
    return outs, [
        t if is_float_dtype(get_aval(o).dtype) else Zero(tangent_aval(get_aval(o))) for o, t in zip(outs, touts)
    ]


def _custom_jvp_batch(vals, dims, call, jvp, num_consts, axis_size):
    arg_dims = list(dims[num_consts:])
    n_args = len(arg_dims)
    batched_call = _vmapped(_callable(call), dims, axis_size)
    batched_rule = _vmapped(
        lambda *xs: (lambda o, t: list(o) + list(t))(*jvp(list(xs[:n_args]), list(xs[n_args:]))),
        arg_dims + arg_dims,
        axis_size,
    )

    def batched_jvp(primals, tangents):
        outs = batched_rule(*primals, *tangents)
        return outs[: len(outs) // 2], outs[len(outs) // 2 :]

    batched_call.__name__ = f"vmap_{fun_name(call)}"
    batched_jvp.__name__ = f"vmap_{fun_name(jvp)}"
    outs = custom_jvp_call_p.bind(*vals, call=batched_call, jvp=batched_jvp, num_consts=num_consts)
    return outs, [0] * len(outs)


custom_jvp_call_p.jvp = _custom_jvp_jvp
custom_jvp_call_p.batch = _custom_jvp_batch


# custom_vjp_call, custom_vjp_lin

custom_vjp_call_p = _call_primitive("custom_vjp_call")
custom_vjp_lin_p = Primitive("custom_vjp_lin", multiple_results=True)


def _custom_vjp_jvp(primals, tangents, call, fwd, bwd, num_consts):
    outs, res = fwd(*primals[num_consts:])
    tangents = tangents[num_consts:]
    nonzero = tuple(type(t) is not Zero for t in tangents)
    zero_outs = [Zero(tangent_aval(get_aval(o))) for o in outs]
    if not any(nonzero):
        return outs, zero_outs
    out_avals = tuple(tangent_aval(get_aval(o)) for o in outs)
    touts = custom_vjp_lin_p.bind(
        *res,
        *[t for t in tangents if type(t) is not Zero],
        bwd=bwd,
        num_res=len(res),
        nonzero=nonzero,
        out_avals=out_avals,
    )
    return outs, [t if is_float_dtype(a.dtype) else z for t, a, z in zip(touts, out_avals, zero_outs)]


def _batched_bwd(bwd, arg_avals, arg_dims, axis_size):
    """`bwd` over residuals and cotangents batched along axis 0. The cotangents it returns are laid
    out like the arguments: batch axis at `arg_dims`, summed over the batch for unbatched arguments.
    `arg_avals` are per-example avals; None marks arguments whose cotangent is not wanted."""
    wanted = [a for a in arg_avals if a is not None]

    def new_bwd(res, cts):
        k = len(res)

        def flat_bwd(*ys):
            cts_in = bwd(list(ys[:k]), list(ys[k:]))
            return [zeros_like_aval(a) if c is None else c for c, a in zip(cts_in, arg_avals) if a is not None]

        outs = iter(_vmapped(flat_bwd, [0] * (k + len(cts)), axis_size)(*res, *cts) if wanted else [])
        result = []
        for a, d in zip(arg_avals, arg_dims):
            if a is None:
                result.append(None)
                continue
            c = next(outs)
            if d is None:
                result.append(reduce_sum(c, (0,)))
            else:
                result.append(move_bdim(c, 0, d, axis_size))
        return result

    new_bwd.__name__ = f"vmap_{fun_name(bwd)}"
    return new_bwd


def _custom_vjp_batch(vals, dims, call, fwd, bwd, num_consts, axis_size):
    arg_vals, arg_dims = vals[num_consts:], list(dims[num_consts:])
    batched_call = _vmapped(_callable(call), dims, axis_size)
    n_out = []

    def flat_fwd(*xs):
        outs, res = fwd(*xs)
        n_out[:] = [len(outs)]
        return list(outs) + list(res)

    batched_fwd_flat = _vmapped(flat_fwd, arg_dims, axis_size)

    def batched_fwd(*xs):
        both = batched_fwd_flat(*xs)
        return both[: n_out[0]], both[n_out[0] :]

    arg_avals = [_unbatched_aval(v, d) for v, d in zip(arg_vals, arg_dims)]
    batched_call.__name__ = f"vmap_{fun_name(call)}"
    batched_fwd.__name__ = f"vmap_{fun_name(fwd)}"
    outs = custom_vjp_call_p.bind(
        *vals,
        call=batched_call,
        fwd=batched_fwd,
        bwd=_batched_bwd(bwd, arg_avals, arg_dims, axis_size),
        num_consts=num_consts,
    )
    return outs, [0] * len(outs)


custom_vjp_call_p.jvp = _custom_vjp_jvp
custom_vjp_call_p.batch = _custom_vjp_batch


def _vjp_lin_impl(*args, **params):
    raise TypeError(
        "can't apply forward-mode differentiation (jvp) to a custom_vjp function. "
        "Use reverse mode (grad, vjp, jacrev), or define the function with custom_jvp."
    )


def _vjp_lin_transpose(cts, *args, bwd, num_res, nonzero, out_avals):
    cts = [instantiate(Zero(a)) if c is None or type(c) is Zero else c for c, a in zip(cts, out_avals)]
    cts_in = bwd(list(args[:num_res]), cts)
    return [None] * num_res + [c for c, nz in zip(cts_in, nonzero) if nz]


def _vjp_lin_batch(vals, dims, bwd, num_res, nonzero, out_avals, axis_size):
    vals = [move_bdim(v, d, 0, axis_size) for v, d in zip(vals, dims)]
    lin = iter(vals[num_res:])
    arg_avals = [_unbatched_aval(next(lin), 0) if nz else None for nz in nonzero]
    new_bwd = _batched_bwd(bwd, arg_avals, [0] * len(nonzero), axis_size)
    out_avals = tuple(a.update(shape=(axis_size,) + a.shape) for a in out_avals)
    outs = custom_vjp_lin_p.bind(*vals, bwd=new_bwd, num_res=num_res, nonzero=nonzero, out_avals=out_avals)
    return outs, [0] * len(outs)


custom_vjp_lin_p.impl = _vjp_lin_impl
custom_vjp_lin_p.abstract_eval = lambda *avals, out_avals, **params: list(out_avals)
custom_vjp_lin_p.transpose = _vjp_lin_transpose
custom_vjp_lin_p.batch = _vjp_lin_batch
custom_vjp_lin_p.batch_needs_size = True
# Compiling it fails as evaluating it does: forward mode through a custom_vjp function has no rule.
custom_vjp_lin_p.decompose = lambda *avals, **params: _vjp_lin_impl()


# ----------------------------------------------------------------------------------------------
# remat, remat_lin (fnad.checkpoint)

remat_p = Primitive("remat", multiple_results=True)
remat_p.inline_param = "jaxpr"  # the compiler may inline the call
remat_lin_p = Primitive("remat_lin", multiple_results=True)


def _remat_jvp(primals, tangents, jaxpr, prevent_cse):
    nonzeros = tuple(type(t) is not Zero for t in tangents)
    out_nz = out_nonzeros(jaxpr, nonzeros)
    outs = remat_p.bind(*primals, jaxpr=jaxpr, prevent_cse=prevent_cse)
    zeros = [Zero(tangent_aval(a)) for a in jaxpr.out_avals]
    if not any(out_nz):
        return outs, zeros
    touts = iter(
        remat_lin_p.bind(
            *primals, *[t for t in tangents if type(t) is not Zero], jaxpr=jaxpr, nonzeros=nonzeros, out_nz=out_nz
        )
    )
    return outs, [next(touts) if nz else z for nz, z in zip(out_nz, zeros)]


def _remat_batch(vals, dims, jaxpr, prevent_cse, axis_size):
    batched = tuple(d is not None for d in dims)
    vals = move_to_front(vals, dims, batched, axis_size)
    closed, out_b = batch_jaxpr(jaxpr, batched, axis_size, (False,) * len(jaxpr.out_avals))
    return remat_p.bind(*vals, jaxpr=closed, prevent_cse=prevent_cse), [0 if b else None for b in out_b]


define_rules(
    remat_p,
    lambda *args, jaxpr, prevent_cse: eval_closed(jaxpr, *args),
    lambda *avals, jaxpr, prevent_cse: jaxpr.out_avals,
    _remat_jvp,
    _remat_batch,
)


# remat_lin[jaxpr, nonzeros, out_nz](*primals, *nonzero tangents) = the jvp's tangents at the primals


def _remat_lin_forward(*args, jaxpr, nonzeros, out_nz):
    return eval_closed(jvp_jaxpr(jaxpr, nonzeros, out_nz)[0], *args)[len(jaxpr.out_avals) :]


@jaxpr_cache
def _recompute_vjp(jaxpr, nonzeros, out_nz):
    """(primals, output cotangents) -> cotangents of the non-zero inputs, recomputing the residuals."""
    known, tangent, n_res = split_linear(jaxpr, nonzeros, out_nz)
    backward = transpose_jaxpr(tangent, [False] * n_res + [True] * sum(nonzeros))
    n, n_out = len(nonzeros), len(jaxpr.out_avals)

    def fun(*args):
        res = eval_closed(known, *args[:n])[n_out:]
        return eval_closed(backward, *res, *args[n:])

    ct_avals = [tangent_aval(a) for a, nz in zip(jaxpr.out_avals, out_nz) if nz]
    return trace_to_jaxpr(fun, list(jaxpr.in_avals) + ct_avals, "remat_vjp")


def _remat_lin_transpose(cts, *args, jaxpr, nonzeros, out_nz):
    n = len(nonzeros)
    primals, tangents = args[:n], args[n:]
    assert not any(map(is_undefined, primals)), "remat_lin: primal inputs cannot be linear"
    cts = zero_cotangents(cts, [a for a, nz in zip(jaxpr.out_avals, out_nz) if nz])
    cts_in = remat_p.bind(*primals, *cts, jaxpr=_recompute_vjp(jaxpr, nonzeros, out_nz), prevent_cse=True)
    return [None] * n + [c if is_undefined(t) else None for c, t in zip(cts_in, tangents)]


def _remat_lin_batch(vals, dims, jaxpr, nonzeros, out_nz, axis_size):
    n = len(nonzeros)
    t_dims = iter(dims[n:])
    batched = tuple(
        d is not None or (nz and next(t_dims) is not None) if nz else d is not None for d, nz in zip(dims[:n], nonzeros)
    )
    primals = move_to_front(vals[:n], dims[:n], batched, axis_size)
    tangents = move_to_front(vals[n:], dims[n:], [b for b, nz in zip(batched, nonzeros) if nz], axis_size)
    closed = batch_jaxpr(jaxpr, batched, axis_size, (True,) * len(jaxpr.out_avals))[0]
    outs = remat_lin_p.bind(*primals, *tangents, jaxpr=closed, nonzeros=nonzeros, out_nz=out_nz)
    return outs, [0] * len(outs)


define_rules(
    remat_lin_p,
    _remat_lin_forward,
    lambda *avals, jaxpr, nonzeros, out_nz: [tangent_aval(a) for a, nz in zip(jaxpr.out_avals, out_nz) if nz],
    lambda primals, tangents, **params: jvp_flat(
        lambda *xs: _remat_lin_forward(*xs, **params), list(primals), list(tangents)
    ),
    _remat_lin_batch,
    _remat_lin_transpose,
)
remat_lin_p.decompose = decomposition(_remat_lin_forward)  # compiled as the jvp it stands for
