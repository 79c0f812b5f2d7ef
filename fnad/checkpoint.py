"""`fnad.checkpoint` (alias `remat`): rematerialisation. The function becomes the call primitive
`remat`; its jvp emits the primal call (which saves nothing) and the linear primitive `remat_lin`
whose only residuals are the call's primal inputs. Transposing `remat_lin` recomputes the
linearization of the sub-IR from those inputs, inside the backward pass, as one `remat` call (a
separate sub-IR, so common-subexpression elimination cannot merge it with the forward pass).

Forward mode through a checkpointed function evaluates the primal twice (the primal call and the
tangent call); JAX fuses these into one pass.
"""
from __future__ import annotations

import functools

from .core import Primitive, get_aval
from .ir import eval_closed
from .tree_util import tree_flatten, tree_unflatten
from .ad_util import Zero, tangent_aval
from .transforms.jvp import jvp_flat
from .transforms.reverse import is_undefined, transpose_jaxpr
from .transforms.staging import decomposition, trace_to_jaxpr
from .primitives.control_flow import (trace_flat, out_nonzeros, jvp_jaxpr_inst, split_linear, batched_jaxpr,
                                      move_to_front, zero_cotangents, jaxpr_cache, define_rules)

__all__ = ["checkpoint", "remat"]

remat_p = Primitive("remat", multiple_results=True)
remat_p.inline_param = "jaxpr"     # the compiler may inline the call
remat_lin_p = Primitive("remat_lin", multiple_results=True)


def _remat_jvp(primals, tangents, jaxpr, prevent_cse):
    nonzeros = tuple(type(t) is not Zero for t in tangents)
    out_nz = out_nonzeros(jaxpr, nonzeros)
    outs = remat_p.bind(*primals, jaxpr=jaxpr, prevent_cse=prevent_cse)
    zeros = [Zero(tangent_aval(a)) for a in jaxpr.out_avals]
    if not any(out_nz):
        return outs, zeros
    touts = iter(remat_lin_p.bind(*primals, *[t for t in tangents if type(t) is not Zero], jaxpr=jaxpr,
                                  nonzeros=nonzeros, out_nz=out_nz))
    return outs, [next(touts) if nz else z for nz, z in zip(out_nz, zeros)]


def _remat_batch(vals, dims, jaxpr, prevent_cse, axis_size):
    batched = tuple(d is not None for d in dims)
    vals = move_to_front(vals, dims, batched, axis_size)
    closed, out_b = batched_jaxpr(jaxpr, batched, axis_size, (False,) * len(jaxpr.out_avals))
    return remat_p.bind(*vals, jaxpr=closed, prevent_cse=prevent_cse), [0 if b else None for b in out_b]


define_rules(remat_p, lambda *args, jaxpr, prevent_cse: eval_closed(jaxpr, *args),
             lambda *avals, jaxpr, prevent_cse: jaxpr.out_avals, _remat_jvp, _remat_batch)


# remat_lin[jaxpr, nonzeros, out_nz](*primals, *nonzero tangents) = the jvp's tangents at the primals

def _lin_forward(*args, jaxpr, nonzeros, out_nz):
    return eval_closed(jvp_jaxpr_inst(jaxpr, nonzeros, out_nz), *args)[len(jaxpr.out_avals):]


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


def _lin_transpose(cts, *args, jaxpr, nonzeros, out_nz):
    n = len(nonzeros)
    primals, tangents = args[:n], args[n:]
    assert not any(map(is_undefined, primals)), "remat_lin: primal inputs cannot be linear"
    cts = zero_cotangents(cts, [a for a, nz in zip(jaxpr.out_avals, out_nz) if nz])
    cts_in = remat_p.bind(*primals, *cts, jaxpr=_recompute_vjp(jaxpr, nonzeros, out_nz), prevent_cse=True)
    return [None] * n + [c if is_undefined(t) else None for c, t in zip(cts_in, tangents)]


def _lin_batch(vals, dims, jaxpr, nonzeros, out_nz, axis_size):
    n = len(nonzeros)
    t_dims = iter(dims[n:])
    batched = tuple(d is not None or (nz and next(t_dims) is not None) if nz else d is not None
                    for d, nz in zip(dims[:n], nonzeros))
    primals = move_to_front(vals[:n], dims[:n], batched, axis_size)
    tangents = move_to_front(vals[n:], dims[n:], [b for b, nz in zip(batched, nonzeros) if nz], axis_size)
    closed = batched_jaxpr(jaxpr, batched, axis_size, (True,) * len(jaxpr.out_avals))[0]
    outs = remat_lin_p.bind(*primals, *tangents, jaxpr=closed, nonzeros=nonzeros, out_nz=out_nz)
    return outs, [0] * len(outs)


define_rules(remat_lin_p, _lin_forward,
             lambda *avals, jaxpr, nonzeros, out_nz: [tangent_aval(a) for a, nz in zip(jaxpr.out_avals, out_nz) if nz],
             lambda primals, tangents, **params: jvp_flat(lambda *xs: _lin_forward(*xs, **params), list(primals),
                                                          list(tangents)),
             _lin_batch, _lin_transpose)
remat_lin_p.decompose = decomposition(_lin_forward)   # compiled as the jvp it stands for


def checkpoint(fun, *, prevent_cse=True, policy=None, static_argnums=()):
    """`fun` whose intermediate values are not saved for reverse mode: the backward pass recomputes
    them from the inputs (less memory, more compute). Values are unchanged. Works on any function,
    including loop bodies (`scan(checkpoint(f), ...)`). Also available as `fnad.remat`; `policy`
    must be None (saving policies are not supported).

    >>> import fnad, fnad.numpy as fnp
    >>> f = fnad.checkpoint(lambda x: fnp.sin(fnp.sin(x)))
    >>> print(f(0.0), fnad.grad(f)(0.0))
    0.0 1.0
    """
    if policy is not None:
        raise NotImplementedError("checkpoint: saving policies are not supported; every intermediate "
                                  "is recomputed (policy=None)")
    static = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)

    @functools.wraps(fun)
    def remat_fun(*args):
        dyn = [a for i, a in enumerate(args) if i not in static]
        flat, in_tree = tree_flatten(tuple(dyn))
        out_trees = []

        def flat_fun(*xs):
            it = iter(tree_unflatten(in_tree, list(xs)))
            full = [a if i in static else next(it) for i, a in enumerate(args)]
            leaves, tree = tree_flatten(fun(*full))
            out_trees.append(tree)
            return leaves
        closed, consts = trace_flat(flat_fun, [get_aval(x) for x in flat], "checkpoint")
        outs = remat_p.bind(*consts, *flat, jaxpr=closed, prevent_cse=bool(prevent_cse))
        return tree_unflatten(out_trees[0], outs)
    return remat_fun


remat = checkpoint
