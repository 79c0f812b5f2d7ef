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
import types

from .api_util import as_tuple, flatten_fun, without_static
from .core import get_aval
from .primitives.calls import remat_p
from .transforms.jaxpr_rules import trace_flat
from .tree_util import tree_flatten, tree_unflatten

__all__ = ["checkpoint", "checkpoint_policies", "remat"]


def checkpoint(fun, *, prevent_cse=True, policy=None, static_argnums=()):
    """`fun` whose intermediate values are not saved for reverse mode: the backward pass recomputes
    them from the inputs (less memory, more compute). Values are unchanged. Works on any function,
    including loop bodies (`scan(checkpoint(f), ...)`). Also available as `fnad.remat`. `policy`: None
    or `checkpoint_policies.nothing_saveable` (recompute everything), or `everything_saveable` (save
    everything: `fun` itself); the policies that save some values raise NotImplementedError.

    >>> import fnad, fnad.numpy as fnp
    >>> f = fnad.checkpoint(lambda x: fnp.sin(fnp.sin(x)))
    >>> print(f(0.0), fnad.grad(f)(0.0))
    0.0 1.0
    """
    if policy is checkpoint_policies.everything_saveable:
        return fun  # reverse mode saves every intermediate anyway
    if policy not in (None, checkpoint_policies.nothing_saveable):
        name = getattr(policy, "__name__", repr(policy))
        raise NotImplementedError(
            f"checkpoint: the saving policy {name} is not supported; fnad supports nothing_saveable "
            "(every intermediate recomputed, the default) and everything_saveable (none recomputed, as "
            "without checkpoint)"
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


def _policy(name, saveable):
    saveable.__name__ = saveable.__qualname__ = name
    return saveable


def _names_policy(name, saves):
    def build(*names):
        return _policy(f"{name}({', '.join(map(repr, names))})", lambda prim, *avals, **params: saves(params, names))

    build.__name__ = build.__qualname__ = name
    return build


def _is_dot(prim, *avals, **params):
    return prim.name == "dot_general"


def _is_unbatched_dot(prim, *avals, **params):
    return prim.name == "dot_general" and not any(params["dimension_numbers"][1])


# JAX's saving policies, `policy(primitive, *avals, **params) -> bool` (whether a value is saved).
checkpoint_policies = types.SimpleNamespace(
    everything_saveable=_policy("everything_saveable", lambda prim, *avals, **params: True),
    nothing_saveable=_policy("nothing_saveable", lambda prim, *avals, **params: False),
    dots_saveable=_policy("dots_saveable", _is_dot),
    dots_with_no_batch_dims_saveable=_policy("dots_with_no_batch_dims_saveable", _is_unbatched_dot),
    save_only_these_names=_names_policy("save_only_these_names", lambda params, names: params.get("name") in names),
    save_anything_except_these_names=_names_policy(
        "save_anything_except_these_names", lambda params, names: params.get("name") not in names
    ),
    save_any_names_but_these=_names_policy(
        "save_any_names_but_these", lambda params, names: "name" in params and params["name"] not in names
    ),
)
checkpoint_policies.checkpoint_dots = checkpoint_policies.dots_saveable  # JAX's aliases
checkpoint_policies.checkpoint_dots_with_no_batch_dims = checkpoint_policies.dots_with_no_batch_dims_saveable
