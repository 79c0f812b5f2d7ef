"""Tests for fnad.tree_util: flatten/unflatten roundtrips on generated trees,
structure equality and hashing, tree_map semantics and error messages."""

from collections import OrderedDict, defaultdict, namedtuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fnad import tree_util as tu

Point = namedtuple("Point", ["x", "y"])


@tu.register_pytree_node_class
class Box:
    """A registered container: ``value`` is a child, ``tag`` is aux data."""

    def __init__(self, value, tag):
        self.value = value
        self.tag = tag

    def tree_flatten(self):
        return (self.value,), self.tag

    @classmethod
    def tree_unflatten(cls, tag, children):
        return cls(children[0], tag)

    def __eq__(self, other):
        return type(other) is Box and (self.value, self.tag) == (other.value, other.tag)

    def __repr__(self):
        return f"Box({self.value!r}, {self.tag!r})"


class Pair:
    def __init__(self, a, b):
        self.a, self.b = a, b

    def __eq__(self, other):
        return type(other) is Pair and (self.a, self.b) == (other.a, other.b)


tu.register_pytree_node(Pair, lambda p: ([p.a, p.b], None), lambda _, ch: Pair(*ch))

keys = st.text(alphabet="abcdef", min_size=1, max_size=3)
leaves = st.integers(-100, 100) | st.text(max_size=3)


def _containers(children):
    return (
        st.tuples(children, children)
        | st.lists(children, max_size=4)
        | st.lists(children, max_size=4).map(tuple)
        | st.dictionaries(keys, children, max_size=4)
        | st.dictionaries(keys, children, max_size=4).map(lambda d: OrderedDict(reversed(d.items())))
        | st.builds(Point, children, children)
        | st.builds(Box, children, st.sampled_from(["p", "q"]))
        | st.builds(Pair, children, children)
    )


trees = st.recursive(leaves | st.none(), _containers, max_leaves=20)


@settings(max_examples=300)
@given(trees)
def test_flatten_unflatten_roundtrip(tree):
    leaves_, treedef = tu.tree_flatten(tree)
    assert treedef.num_leaves == len(leaves_)
    assert all(x is not None for x in leaves_)  # None is a node, never a leaf
    rebuilt = tu.tree_unflatten(treedef, leaves_)
    assert rebuilt == tree
    assert type(rebuilt) is type(tree)
    assert tu.tree_structure(rebuilt) == treedef
    assert hash(tu.tree_structure(rebuilt)) == hash(treedef)


@settings(max_examples=200)
@given(trees)
def test_tree_map_identity_and_composition(tree):
    assert tu.tree_map(lambda x: x, tree) == tree

    def f(x):
        return f"f({x!r})"

    def g(x):
        return f"g({x!r})"

    composed = tu.tree_map(lambda x: f(g(x)), tree)
    assert tu.tree_map(f, tu.tree_map(g, tree)) == composed
    assert tu.tree_structure(composed) == tu.tree_structure(tree)
    # Container-valued results: the original structure is a prefix of the new one.
    wrapped = tu.tree_map(lambda x: [x, ("w",)], tree)
    assert tu.tree_structure(tree).flatten_up_to(wrapped) == [[x, ("w",)] for x in tu.tree_leaves(tree)]


@settings(max_examples=200)
@given(trees)
def test_structure_children_compose_and_prefix_map(tree):
    treedef = tu.tree_structure(tree)
    children = treedef.children()
    if children:
        assert sum(c.num_leaves for c in children) == treedef.num_leaves
    if type(tree) in (tuple, list):
        assert children == [tu.tree_structure(c) for c in tree]
    # Every tree is a prefix of itself with leaves replaced by (leaf, leaf) pairs.
    doubled = tu.tree_map(lambda x: (x, x), tree)
    assert treedef.compose(tu.tree_structure((0, 0))) == tu.tree_structure(doubled)
    assert tu.tree_map(lambda a, b: b == (a, a), tree, doubled) == tu.tree_map(lambda _: True, tree)


def test_known_layouts_and_repr():
    tree = (1, {"b": [2, None], "a": Point(3, 4)}, OrderedDict([("z", 5), ("y", 6)]))
    leaves_, treedef = tu.tree_flatten(tree)
    assert leaves_ == [1, 3, 4, 2, 5, 6]  # dict keys sorted, OrderedDict in order
    assert repr(treedef) == ("PyTreeDef((*, {'a': Point(x=*, y=*), 'b': [*, None]}, OrderedDict({'z': *, 'y': *})))")
    assert repr(tu.tree_structure((1,))) == "PyTreeDef((*,))"
    assert repr(tu.tree_structure(5)) == "PyTreeDef(*)"
    assert repr(tu.tree_structure(None)) == "PyTreeDef(None)"
    assert repr(tu.tree_structure(Box(1, "t"))) == "PyTreeDef(CustomNode(Box['t'], [*]))"
    assert tu.tree_leaves(None) == [] and tu.tree_unflatten(tu.tree_structure(None), []) is None
    assert tu.tree_structure({}).num_leaves == 0


def test_structure_equality_is_what_jit_keys_on():
    s = tu.tree_structure
    assert s({"a": 1, "b": 2}) == s({"b": 3, "a": 4})
    assert s({"a": 1}) != s({"b": 1})  # dict keys are part of the structure
    assert s((1, 2)) != s([1, 2])
    assert s((1, 2)) != s(Point(1, 2))
    assert s((None,)) != s((1,))
    assert s(Box(1, "p")) != s(Box(1, "q"))  # aux data is part of the structure
    assert s(OrderedDict(a=1, b=2)) != s(OrderedDict(b=1, a=2))
    assert s(OrderedDict(a=1)) != s({"a": 1})
    arrays = (np.zeros(3), np.ones((2, 2)), np.float32(1.0))
    cache = {s(arrays): "hit"}
    assert cache[s((np.ones(1), np.zeros(7), 2.0))] == "hit"
    params = {f"w{i}": np.zeros(2) for i in range(10)}
    assert s(params) == s(dict(reversed(list(params.items()))))
    assert len({s(params), s(tu.tree_map(np.ones_like, params))}) == 1


def test_arrays_are_leaves_and_unflatten_does_not_alias():
    params = {"w": np.ones((2, 3)), "b": [np.zeros(3)]}
    leaves_, _treedef = tu.tree_flatten(params)
    assert leaves_[0] is params["b"][0] and leaves_[1] is params["w"]
    out = tu.tree_map(lambda x: x * 2, params)
    np.testing.assert_array_equal(out["w"], 2 * np.ones((2, 3)))
    flat = [np.zeros(1), np.ones(1)]
    rebuilt = tu.tree_unflatten(tu.tree_structure([0, 0]), flat)
    assert rebuilt == flat and rebuilt is not flat


def test_tree_map_mismatch_names_both_structures():
    with pytest.raises(ValueError) as info:
        tu.tree_map(lambda a, b: a + b, (1, 2), [1, 2])
    msg = str(info.value)
    assert "PyTreeDef((*, *))" in msg and "PyTreeDef([*, *])" in msg
    with pytest.raises(ValueError, match=r"\{'a': \*\}.*\{'b': \*\}"):
        tu.tree_map(lambda a, b: a, {"b": 1}, {"a": 1})
    with pytest.raises(ValueError, match="children"):
        tu.tree_map(lambda a, b: a, (1, 2), (1, 2, 3))
    with pytest.raises(ValueError, match="expects 2 leaves, got 3"):
        tu.tree_unflatten(tu.tree_structure((1, 2)), [1, 2, 3])


def test_tree_map_prefix_rest_and_is_leaf():
    assert tu.tree_map(lambda x, y: (x, y), (1, 2), ([3, 4], 5)) == ((1, [3, 4]), (2, 5))
    assert tu.tree_map(lambda x, y: x + y, {"a": 1, "b": 2}, {"b": 20, "a": 10}) == {"a": 11, "b": 22}
    tree = {"p": Point(1, 2), "q": [3, Point(4, 5)]}
    mapped = tu.tree_map(
        lambda p: p.x + p.y if isinstance(p, Point) else -p, tree, is_leaf=lambda x: isinstance(x, Point)
    )
    assert mapped == {"p": 3, "q": [-3, 9]}
    assert tu.tree_leaves([None, (None,)], is_leaf=lambda x: x is None) == [None, None]


def test_reduce_all_transpose_defaultdict():
    tree = {"a": [1, 2], "b": (3, None)}
    assert tu.tree_reduce(lambda a, b: a + b, tree) == 6
    assert tu.tree_reduce(lambda a, b: a + b, tree, 10) == 16
    assert tu.tree_all([True, (1, {"x": "y"})]) and not tu.tree_all([True, (0,)])
    outer = tu.tree_structure([0, 0, 0])
    inner = tu.tree_structure({"a": 0, "b": 0})
    t = [{"a": 1, "b": 2}, {"a": 3, "b": 4}, {"a": 5, "b": 6}]
    assert tu.tree_transpose(outer, inner, t) == {"a": [1, 3, 5], "b": [2, 4, 6]}
    with pytest.raises(ValueError, match="tree_transpose"):
        tu.tree_transpose(outer, inner, t[:2])
    dd = defaultdict(list, {"y": 1, "x": 2})
    leaves_, treedef = tu.tree_flatten(dd)
    assert leaves_ == [2, 1]
    rebuilt = treedef.unflatten([20, 10])
    assert type(rebuilt) is defaultdict and rebuilt.default_factory is list
    assert rebuilt == {"x": 20, "y": 10}


def test_registration():
    assert tu.tree_leaves(Pair(Box(1, "t"), [2, 3])) == [1, 2, 3]
    with pytest.raises(ValueError, match="Duplicate"):
        tu.register_pytree_node(Box, lambda b: ((), None), lambda a, c: None)

    class Late:
        def __init__(self, v):
            self.v = v

    assert tu.tree_leaves([Late(1)])[0].v == 1  # seen (and memoized) as a leaf
    tu.register_pytree_node(Late, lambda x: ((x.v,), None), lambda _, ch: Late(*ch))
    assert tu.tree_leaves([Late(1)]) == [1]  # registration clears the memo


def test_partial_is_a_pytree_of_its_bound_arguments():
    import fnad
    import fnad.numpy as fnp

    add = tu.Partial(fnp.add, 1.0)
    leaves, treedef = tu.tree_flatten(add)
    rebuilt = tu.tree_unflatten(treedef, [5.0])
    assert leaves == [1.0] and isinstance(rebuilt, tu.Partial) and rebuilt(2.0) == 7.0
    np.testing.assert_array_equal(fnad.jit(lambda f, x: f(x))(add, 2.0), 3.0)  # passed through jit
    assert fnad.grad(lambda a: tu.Partial(fnp.multiply, a)(4.0))(2.0) == 4.0
    mapped = fnad.vmap(lambda f, x: f(x))(tu.Partial(fnp.add, fnp.arange(3.0)), fnp.ones(3))
    np.testing.assert_array_equal(mapped, [1.0, 2.0, 3.0])
    # As JAX: an inner partial keeps its arguments (static), the outer one's are the children.
    nested = tu.Partial(tu.Partial(lambda a, b, c: a * b + c, 3.0), 2.0)
    assert tu.tree_leaves(nested) == [2.0] and nested(5.0) == 11.0
