"""Pytree plumbing shared by the user-facing transforms (api, jit, custom_jvp/vjp, checkpoint, lax
control flow): a function on pytrees as a function on flat lists of leaves that captures its
output structure, and the splitting of positional arguments by argnums."""

from __future__ import annotations

from .tree_util import tree_flatten, tree_unflatten


class OutTree:
    """Where a flattened function leaves the structure of its output: `val`, None until it has run."""

    __slots__ = ("val",)

    def __init__(self):
        self.val = None

    def record(self, tree, what="the output", name="the function"):
        """Keep `tree`; refuses one that differs from a structure recorded before (a function and
        its custom rules must agree)."""
        if self.val is not None and self.val != tree:
            raise TypeError(f"{name}: {what} has structure {tree}, but the function's output has structure {self.val}")
        self.val = tree


def flatten_fun(fun, in_tree, has_aux=False, out_tree=None, name="the function"):
    """`fun` on pytrees (its positional arguments are `in_tree` unflattened) as a function on flat
    lists, and the `OutTree` (or the given `out_tree`) where it leaves its output structure. With
    `has_aux`, `fun` returns (output, aux): the flat function returns both leaf lists, and the
    structure is (output tree, aux tree, number of output leaves)."""
    store = OutTree() if out_tree is None else out_tree

    def flat_fun(*flat_args):
        out = fun(*tree_unflatten(in_tree, list(flat_args)))
        if has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise TypeError("has_aux=True requires the function to return a pair (output, aux)")
            out, aux = out
            out_flat, out_tree = tree_flatten(out)
            aux_flat, aux_tree = tree_flatten(aux)
            store.record((out_tree, aux_tree, len(out_flat)), name=name)
            return out_flat + aux_flat
        out_flat, tree = tree_flatten(out)
        store.record(tree, name=name)
        return out_flat

    return flat_fun, store


def argnums_tuple(argnums, nargs, name):
    """`argnums` (an int or a sequence) as a tuple of positions in 0..nargs-1; ValueError naming the
    transform `name` for one out of range."""
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for i in nums:
        if not -nargs <= i < nargs:
            raise ValueError(f"{name}: argnums={argnums} is out of range for a call with {nargs} positional arguments")
    return tuple(i % nargs for i in nums)


def as_tuple(nums):
    """static_argnums / static_argnames / nondiff_argnums as given (one item or a sequence) as a tuple."""
    return (nums,) if isinstance(nums, (int, str)) else tuple(nums)


def partial_args(fun, args, kwargs, nums):
    """fun restricted to the positional arguments `nums` (the others fixed), and those arguments."""

    def f(*dyn):
        full = list(args)
        for i, a in zip(nums, dyn):
            full[i] = a
        return fun(*full, **kwargs)

    return f, tuple(args[i] for i in nums)


def without_static(fun, args, kwargs, static):
    """fun of the positional arguments not in `static` (those fixed, as Python values), and them."""
    return partial_args(fun, args, kwargs, tuple(i for i in range(len(args)) if i not in static))


def merge_args(nums, picked, rest):
    """The argument list with `picked` at positions `nums` and `rest` in order around them."""
    out = list(rest)
    for i, a in sorted(zip(nums, picked), key=lambda p: p[0]):
        out.insert(i, a)
    return out
