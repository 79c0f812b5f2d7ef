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

from .api_util import as_tuple, flatten_fun, without_static
from .core import get_aval
from .primitives.calls import remat_p
from .transforms.jaxpr_rules import trace_flat
from .tree_util import tree_flatten, tree_unflatten

__all__ = ["checkpoint", "remat"]


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
        raise NotImplementedError(
            "checkpoint: saving policies are not supported; every intermediate is recomputed (policy=None)"
        )
    static = as_tuple(static_argnums)

    @functools.wraps(fun)
    def remat_fun(*args):
        f, dyn = without_static(fun, args, {}, static)
        flat, in_tree = tree_flatten(dyn)
        flat_fun, out_tree = flatten_fun(f, in_tree)
        closed, consts = trace_flat(flat_fun, [get_aval(x) for x in flat], "checkpoint")
        outs = remat_p.bind(*consts, *flat, jaxpr=closed, prevent_cse=bool(prevent_cse))
        return tree_unflatten(out_tree.val, outs)

    return remat_fun


remat = checkpoint
