"""fnad.tree (JAX's `jax.tree` names) and the key-path functions of fnad.tree_util: the values JAX
gives (written in as literals, from the same calls on jax.tree / jax.tree_util 0.10.2), and pytrees
with unhashable (dict) aux data under jit, grad and vmap."""

import collections
import operator

import numpy as np
import pytest

import fnad
from fnad import tree, tree_util
from fnad.tree_util import DictKey, FlattenedIndexKey, GetAttrKey, SequenceKey, keystr

Point = collections.namedtuple("Point", "x y")
TREE = {"b": (1, Point(2, 3)), "a": [4, None], "c": collections.OrderedDict([("z", 5), ("y", 6)])}


def test_short_names_are_the_tree_util_functions():
    leaves, treedef = tree.flatten(TREE)
    assert leaves == [4, 1, 2, 3, 5, 6]  # jax.tree.flatten(TREE)[0]
    assert tree.leaves(TREE) == leaves and tree.structure(TREE) == treedef
    assert tree.unflatten(treedef, range(6)) == {
        "a": [0, None],
        "b": (1, Point(2, 3)),
        "c": collections.OrderedDict([("z", 4), ("y", 5)]),
    }
    assert tree.map(lambda x, y: x * y, TREE, TREE)["b"] == (1, Point(4, 9))
    assert tree.reduce(operator.add, TREE) == 21 and tree.reduce(operator.add, TREE, 100) == 121
    assert tree.all([1, (True, 2)]) and not tree.all([1, (0, 2)])
    outer, inner = tree.structure([0, 0, 0]), tree.structure((0, 0))
    assert tree.transpose(outer, inner, [(1, 2), (3, 4), (5, 6)]) == ([1, 3, 5], [2, 4, 6])
    assert tree.broadcast((1, {"k": 2}), ([0, 0], {"k": (0, 0)})) == ([1, 1], {"k": (2, 2)})
    with pytest.raises(ValueError):
        tree.map(lambda x, y: x, [1, 2], [1, 2, 3])


def test_paths_match_jax():
    pairs, treedef = tree.flatten_with_path(TREE)
    assert treedef == tree.structure(TREE)
    # [keystr(p) for p, _ in jax.tree.flatten_with_path(TREE)[0]]
    assert [keystr(p) for p, _ in pairs] == [
        "['a'][0]",
        "['b'][0]",
        "['b'][1].x",
        "['b'][1].y",
        "['c']['z']",
        "['c']['y']",
    ]
    assert [leaf for _, leaf in pairs] == tree.leaves(TREE)
    assert pairs[2][0] == (DictKey("b"), SequenceKey(1), GetAttrKey("x"))
    assert [keystr(p, simple=True, separator="/") for p, _ in pairs][2] == "b/1/x"
    assert tree.leaves_with_path(TREE) == pairs
    assert repr(pairs[0][0]) == "(DictKey(key='a'), SequenceKey(idx=0))"
    assert str(FlattenedIndexKey(1)) == "[<flat index 1>]"
    mapped = tree.map_with_path(lambda p, x, y: (keystr(p), x + y), {"u": 1, "v": [2]}, {"u": 10, "v": [20]})
    assert mapped == {"u": ("['u']", 11), "v": [("['v'][0]", 22)]}
    # is_leaf, also with the path
    assert tree.leaves_with_path(TREE, is_leaf=lambda x: isinstance(x, Point))[2] == (
        (DictKey("b"), SequenceKey(1)),
        Point(2, 3),
    )
    stop_at_b = tree.flatten_with_path(TREE, is_leaf=lambda p, x: p == (DictKey("b"),), is_leaf_takes_path=True)
    assert stop_at_b[0][1] == ((DictKey("b"),), (1, Point(2, 3))) and stop_at_b[1].num_leaves == 4
    assert tree_util.tree_leaves_with_path(5) == [((), 5)]


class Registered:
    def __init__(self, a, b):
        self.a, self.b = a, b


tree_util.register_pytree_node(Registered, lambda r: ((r.a, r.b), None), lambda aux, ch: Registered(*ch))


class Keyed:
    def __init__(self, w, bias):
        self.w, self.bias = w, bias


tree_util.register_pytree_with_keys(
    Keyed,
    lambda k: (((GetAttrKey("w"), k.w), (GetAttrKey("bias"), k.bias)), None),
    lambda aux, ch: Keyed(*ch),
)


def test_paths_of_registered_nodes():
    # jax.tree_util.tree_flatten_with_path of a node registered without keys: FlattenedIndexKey
    assert [p for p, _ in tree.leaves_with_path(Registered(1, 2))] == [(FlattenedIndexKey(0),), (FlattenedIndexKey(1),)]
    assert [keystr(p) for p, _ in tree.leaves_with_path([Keyed(1.0, 2.0)])] == ["[0].w", "[0].bias"]
    doubled = fnad.grad(lambda k: k.w * k.bias)(Keyed(3.0, 4.0))
    assert (doubled.w, doubled.bias) == (4.0, 3.0)


class WithDictAux:
    """A node whose aux data is a dict, as in JAX's documentation."""

    def __init__(self, value, config):
        self.value, self.config = value, config


tree_util.register_pytree_node(
    WithDictAux, lambda t: ((t.value,), t.config), lambda config, children: WithDictAux(children[0], config)
)


def test_dict_aux_data_under_jit_grad_and_vmap():
    f = fnad.jit(lambda t: t.value * t.config["scale"] + t.config["shift"])
    x = np.arange(3.0)
    np.testing.assert_array_equal(f(WithDictAux(x, {"scale": 2.0, "shift": 1.0})), 2 * x + 1)
    np.testing.assert_array_equal(f(WithDictAux(x, {"scale": 3.0, "shift": 0.0})), 3 * x)  # another trace
    np.testing.assert_array_equal(f(WithDictAux(x, {"scale": 2.0, "shift": 1.0})), 2 * x + 1)  # cached
    assert len(f._cache) == 2
    assert hash(tree.structure(WithDictAux(1, {"a": 1}))) == hash(tree.structure(WithDictAux(2, {"a": 1})))
    assert tree.structure(WithDictAux(1, {"a": 1})) != tree.structure(WithDictAux(1, {"a": 2}))
    g = fnad.grad(lambda t: fnad.numpy.sum(t.value**2) * t.config["scale"])(WithDictAux(x, {"scale": 2.0}))
    np.testing.assert_array_equal(g.value, 4 * x)
    assert g.config == {"scale": 2.0}
    out = fnad.vmap(lambda t: WithDictAux(t.value + 1.0, t.config))(WithDictAux(np.ones((2, 3)), {"k": 1}))
    assert out.config == {"k": 1} and out.value.shape == (2, 3)


def test_module_examples_run():
    import doctest

    result = doctest.testmod(tree, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
