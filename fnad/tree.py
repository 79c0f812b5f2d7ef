"""fnad.tree: the short names of the pytree utilities (JAX's `jax.tree`), over `fnad.tree_util`.

`fnad.tree.map(f, tree)` is `fnad.tree_util.tree_map(f, tree)`, and so on; the logic lives in
`tree_util`, this module only gives it the `jax.tree` spelling (plus `broadcast`).
"""

from . import tree_util as _tu

__all__ = [
    "all",
    "broadcast",
    "flatten",
    "flatten_with_path",
    "leaves",
    "leaves_with_path",
    "map",
    "map_with_path",
    "reduce",
    "structure",
    "transpose",
    "unflatten",
]

all = _tu.tree_all  # JAX's name (shadows the builtin here)
flatten = _tu.tree_flatten
flatten_with_path = _tu.tree_flatten_with_path
leaves = _tu.tree_leaves
leaves_with_path = _tu.tree_leaves_with_path
map = _tu.tree_map  # JAX's name (shadows the builtin here)
map_with_path = _tu.tree_map_with_path
reduce = _tu.tree_reduce
structure = _tu.tree_structure
transpose = _tu.tree_transpose
unflatten = _tu.tree_unflatten


def broadcast(prefix_tree, full_tree, is_leaf=None):
    """`prefix_tree` with each of its leaves repeated over the matching subtree of `full_tree`.

    >>> from fnad import tree
    >>> tree.broadcast([1, 2], [(0, 0), {"a": 0}])
    [(1, 1), {'a': 2}]
    """
    prefix_def = _tu.tree_structure(prefix_tree, is_leaf)
    subtrees = prefix_def.flatten_up_to(full_tree)
    prefix_leaves = _tu.tree_leaves(prefix_tree, is_leaf)
    return prefix_def.unflatten(
        [_tu.tree_map(lambda _, leaf=leaf: leaf, sub, is_leaf=is_leaf) for leaf, sub in zip(prefix_leaves, subtrees)]
    )
