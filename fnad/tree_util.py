"""Pytrees: flattening nested containers into leaves and a hashable structure.

Semantics follow JAX: tuples, lists, dicts (keys sorted), OrderedDicts and
defaultdicts (insertion order / sorted keys), namedtuples and ``None`` (a node
with no children) are containers; registered types are containers; anything
else is a leaf. A ``PyTreeDef`` stores its nodes in post-order as a flat tuple
of records, ``None`` for a leaf and ``(type, aux_data, num_children)`` for a
node, so equality and hashing (it keys the jit cache) are plain tuple
operations.
"""

import functools
from collections import OrderedDict, defaultdict

__all__ = [
    "DictKey",
    "FlattenedIndexKey",
    "GetAttrKey",
    "Partial",
    "PyTreeDef",
    "SequenceKey",
    "keystr",
    "register_pytree_node",
    "register_pytree_node_class",
    "register_pytree_with_keys",
    "tree_all",
    "tree_flatten",
    "tree_flatten_with_path",
    "tree_leaves",
    "tree_leaves_with_path",
    "tree_map",
    "tree_map_with_path",
    "tree_reduce",
    "tree_structure",
    "tree_transpose",
    "tree_unflatten",
]


class _Node:
    __slots__ = ("flatten", "path_keys", "unflatten")

    def __init__(self, flatten, unflatten, path_keys=None):
        self.flatten = flatten  # x -> (children, aux_data)
        self.unflatten = unflatten  # (aux_data, children list) -> x
        # (x, aux_data, number of children) -> the key entry of each child, for the *_with_path
        # functions; by default a FlattenedIndexKey per child
        self.path_keys = path_keys or _flat_index_keys


def _dict_flatten(d):
    keys = tuple(sorted(d))
    return [d[k] for k in keys], keys


def _ordered_dict_flatten(d):
    return list(d.values()), tuple(d)


def _defaultdict_flatten(d):
    keys = tuple(sorted(d))
    return [d[k] for k in keys], (d.default_factory, keys)


class _PathEntry:
    """A path entry, as JAX's key classes: one immutable field (the one name in the class's
    `__slots__`), given by position or by name; equal to (and hashed as) entries of its own class
    with an equal value, shown as `DictKey(key='a')`. Plain classes: as frozen dataclasses, the four
    took 3-4 ms of every `import fnad` to generate their methods."""

    __slots__ = ()

    def __init__(self, *value, **named):
        (field,) = self.__slots__
        if len(value) + len(named) != 1 or named.keys() - {field}:
            raise TypeError(f"{type(self).__name__} takes one argument, {field}")
        object.__setattr__(self, field, value[0] if value else named[field])

    def _value(self):
        return getattr(self, self.__slots__[0])

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name):
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other):
        return self._value() == other._value() if type(other) is type(self) else NotImplemented

    def __hash__(self):
        return hash((self._value(),))

    def __repr__(self):
        return f"{type(self).__name__}({self.__slots__[0]}={self._value()!r})"

    def __reduce__(self):
        return type(self), (self._value(),)


class DictKey(_PathEntry):
    """Path entry of a dict child: its key (`keystr` shows `['a']`)."""

    __slots__ = ("key",)

    def __str__(self):
        return f"[{self.key!r}]"


class SequenceKey(_PathEntry):
    """Path entry of a tuple or list child: its index (`[0]`)."""

    __slots__ = ("idx",)

    def __str__(self):
        return f"[{self.idx!r}]"


class GetAttrKey(_PathEntry):
    """Path entry of a namedtuple field or an attribute (`.name`)."""

    __slots__ = ("name",)

    def __str__(self):
        return f".{self.name}"


class FlattenedIndexKey(_PathEntry):
    """Path entry of a child of a node registered without keys: its position among the children."""

    __slots__ = ("key",)

    def __str__(self):
        return f"[<flat index {self.key}>]"


def _flat_index_keys(x, aux, n):
    return [FlattenedIndexKey(i) for i in range(n)]


def _sequence_keys(x, aux, n):
    return [SequenceKey(i) for i in range(n)]


def _dict_keys(keys):
    return [DictKey(k) for k in keys]


# Types registered as containers (built-ins and user registrations).
_registry = {
    tuple: _Node(lambda t: (t, None), lambda _, ch: tuple(ch), _sequence_keys),
    list: _Node(lambda l: (l, None), lambda _, ch: ch, _sequence_keys),
    dict: _Node(_dict_flatten, lambda keys, ch: dict(zip(keys, ch)), lambda x, keys, n: _dict_keys(keys)),
    type(None): _Node(lambda _: ((), None), lambda _, ch: None),
    OrderedDict: _Node(
        _ordered_dict_flatten, lambda keys, ch: OrderedDict(zip(keys, ch)), lambda x, keys, n: _dict_keys(keys)
    ),
    defaultdict: _Node(
        _defaultdict_flatten,
        lambda aux, ch: defaultdict(aux[0], zip(aux[1], ch)),
        lambda x, aux, n: _dict_keys(aux[1]),
    ),
}

# Memo of every type seen: its _Node, or None for a leaf type. Cleared on registration.
_kinds = {}
_UNSEEN = object()


def _is_namedtuple(t):
    return issubclass(t, tuple) and hasattr(t, "_fields")


def _classify(t):
    node = _registry.get(t)
    if node is None and _is_namedtuple(t):
        node = _Node(lambda x: (x, None), lambda _, ch: t(*ch), lambda x, aux, n: [GetAttrKey(f) for f in t._fields])
    _kinds[t] = node
    return node


def register_pytree_node(nodetype, flatten_func, unflatten_func, flatten_with_keys_func=None):
    """Make ``nodetype`` a container.

    ``flatten_func(x) -> (children, aux_data)``; ``unflatten_func(aux_data,
    children_tuple) -> x``. ``aux_data`` is part of the tree structure: it must
    compare with ``==`` and should be hashable (a dict works too, hashed without
    it). Registered types then work with every transform. The optional
    ``flatten_with_keys_func(x) -> ([(key, child), ...], aux_data)`` names the
    children in paths (default: ``FlattenedIndexKey``).

    >>> import fnad
    >>> from fnad import tree_util
    >>> class Point:
    ...     def __init__(self, x, y):
    ...         self.x, self.y = x, y
    ...     def __repr__(self):
    ...         return f"Point({self.x}, {self.y})"
    >>> tree_util.register_pytree_node(Point, lambda p: ((p.x, p.y), None), lambda aux, ch: Point(*ch))
    >>> tree_util.tree_leaves([Point(1, 2), 3])
    [1, 2, 3]
    >>> fnad.grad(lambda p: p.x * p.y)(Point(2.0, 3.0))
    Point(3.0, 2.0)
    """
    if nodetype in _registry:
        raise ValueError(f"Duplicate pytree node registration for {nodetype!r}")

    def flatten(x):
        children, aux = flatten_func(x)
        if type(children) is not list and type(children) is not tuple:
            children = tuple(children)
        return children, aux

    path_keys = None
    if flatten_with_keys_func is not None:
        path_keys = lambda x, aux, n: [k for k, _ in flatten_with_keys_func(x)[0]]
    _registry[nodetype] = _Node(flatten, lambda aux, ch: unflatten_func(aux, tuple(ch)), path_keys)
    _kinds.clear()


def register_pytree_with_keys(nodetype, flatten_with_keys, unflatten_func, flatten_func=None):
    """Like ``register_pytree_node``, with ``flatten_with_keys(x) -> ([(key, child), ...],
    aux_data)`` naming each child in paths (``flatten_func`` defaults to dropping the keys).

    >>> from fnad import tree_util
    >>> class Pair:
    ...     def __init__(self, a, b):
    ...         self.a, self.b = a, b
    >>> tree_util.register_pytree_with_keys(
    ...     Pair,
    ...     lambda p: (((tree_util.GetAttrKey("a"), p.a), (tree_util.GetAttrKey("b"), p.b)), None),
    ...     lambda aux, children: Pair(*children),
    ... )
    >>> [tree_util.keystr(path) for path, _ in tree_util.tree_leaves_with_path(Pair(1, 2))]
    ['.a', '.b']
    """
    if flatten_func is None:

        def flatten_func(x):
            pairs, aux = flatten_with_keys(x)
            return [child for _, child in pairs], aux

    register_pytree_node(nodetype, flatten_func, unflatten_func, flatten_with_keys)


def register_pytree_node_class(cls):
    """Class decorator: register ``cls`` via its ``tree_flatten`` method and
    ``tree_unflatten(aux_data, children)`` classmethod.

    >>> from fnad import tree_util
    >>> @tree_util.register_pytree_node_class
    ... class Pair:
    ...     def __init__(self, a, b):
    ...         self.a, self.b = a, b
    ...     def tree_flatten(self):
    ...         return (self.a, self.b), None
    ...     @classmethod
    ...     def tree_unflatten(cls, aux, children):
    ...         return cls(*children)
    >>> p = tree_util.tree_map(lambda v: v * 2, Pair(1, 2))
    >>> p.a, p.b
    (2, 4)
    """
    register_pytree_node(cls, lambda x: x.tree_flatten(), cls.tree_unflatten)
    return cls


def _is_hashable(x):
    try:
        hash(x)
    except TypeError:
        return False
    return True


class PyTreeDef:
    """Immutable, hashable description of a pytree's structure. Aux data should be hashable; a
    node whose aux data is not (JAX's docs register one with a dict) is hashed without it."""

    __slots__ = ("_hash", "_traversal", "num_leaves")

    def __init__(self, traversal, num_leaves):
        self._traversal = traversal
        self.num_leaves = num_leaves
        self._hash = None

    @property
    def num_nodes(self):
        return len(self._traversal)

    def __eq__(self, other):
        if self is other:
            return True
        if not isinstance(other, PyTreeDef):
            return NotImplemented
        return self._traversal == other._traversal

    def __hash__(self):
        h = self._hash
        if h is None:
            try:
                h = hash(self._traversal)
            except TypeError:  # unhashable aux data (e.g. a dict): hash the rest, compare it all
                h = hash(tuple(r if r is None or _is_hashable(r[1]) else (r[0], r[2]) for r in self._traversal))
            self._hash = h
        return h

    def __repr__(self):
        return f"PyTreeDef({_format(self)})"

    def unflatten(self, leaves):
        """Build a pytree of this structure from ``leaves`` (any iterable)."""
        leaves = leaves if type(leaves) is list else list(leaves)
        if len(leaves) != self.num_leaves:
            raise ValueError(f"{self} expects {self.num_leaves} leaves, got {len(leaves)}")
        trav = self._traversal
        if len(trav) == len(leaves) + 1:  # a single node over leaves
            t, aux, _ = trav[-1]
            return (_kinds.get(t) or _classify(t)).unflatten(aux, leaves[:])
        stack = []
        push = stack.append
        i = 0
        for rec in trav:
            if rec is None:
                push(leaves[i])
                i += 1
                continue
            t, aux, n = rec
            if n:
                children = stack[-n:]
                del stack[-n:]
            else:
                children = []
            node = _kinds.get(t) or _classify(t)
            push(node.unflatten(aux, children))
        return stack[0]

    def node_data(self):
        """``(type, aux_data)`` of the root node, or ``None`` for a leaf."""
        rec = self._traversal[-1]
        return None if rec is None else rec[:2]

    def children(self):
        """Structures of the root's children (empty for a leaf)."""
        trav = self._traversal
        starts = []  # start index of each complete subtree, in order
        for i, rec in enumerate(trav[:-1]):
            if rec is None:
                starts.append(i)
            elif rec[2]:
                del starts[len(starts) - rec[2] + 1 :]
            else:
                starts.append(i)
        ends = starts[1:] + [len(trav) - 1]
        return [PyTreeDef(trav[s:e], trav[s:e].count(None)) for s, e in zip(starts, ends)]

    def compose(self, inner):
        """The structure with ``inner`` substituted at each leaf of ``self``."""
        traversal = []
        for rec in self._traversal:
            if rec is None:
                traversal.extend(inner._traversal)
            else:
                traversal.append(rec)
        return PyTreeDef(tuple(traversal), self.num_leaves * inner.num_leaves)

    def flatten_up_to(self, tree):
        """Leaves of ``tree`` at this structure's leaf positions; the subtrees
        there may be arbitrary. Raises ValueError if ``tree`` does not match."""
        out = []
        _flatten_up_to(self, tree, out)
        return out


def _flatten_up_to(treedef, tree, out):
    rec = treedef._traversal[-1]
    if rec is None:
        out.append(tree)
        return
    t, aux, n = rec
    if type(tree) is not t:
        raise ValueError(f"expected a {t.__name__} node, got {type(tree).__name__}")
    node = _kinds.get(t) or _classify(t)
    children, tree_aux = node.flatten(tree)
    if len(children) != n:
        raise ValueError(f"{t.__name__} node has {len(children)} children, expected {n}")
    if tree_aux != aux:
        raise ValueError(f"{t.__name__} node data {tree_aux!r} != expected {aux!r}")
    for sub, child in zip(treedef.children(), children):
        _flatten_up_to(sub, child, out)


def _format(treedef):
    rec = treedef._traversal[-1]
    if rec is None:
        return "*"
    t, aux, n = rec
    kids = [_format(c) for c in treedef.children()]
    if t is tuple:
        return "(" + ", ".join(kids) + ("," if n == 1 else "") + ")"
    if t is list:
        return "[" + ", ".join(kids) + "]"
    if t is type(None):
        return "None"
    if t in (dict, OrderedDict, defaultdict):
        keys = aux[1] if t is defaultdict else aux
        body = "{" + ", ".join(f"{k!r}: {v}" for k, v in zip(keys, kids)) + "}"
        if t is dict:
            return body
        if t is OrderedDict:
            return f"OrderedDict({body})"
        return f"defaultdict({aux[0]!r}, {body})"
    if t not in _registry and _is_namedtuple(t):
        return f"{t.__name__}(" + ", ".join(f"{f}={v}" for f, v in zip(t._fields, kids)) + ")"
    return f"CustomNode({t.__name__}[{aux!r}], [" + ", ".join(kids) + "])"


_LEAF_DEF = PyTreeDef((None,), 1)
_flat_defs = {}  # (type, length) -> treedef of a node without aux data over leaves


def _flatten(x, leaves, traversal, is_leaf):
    if is_leaf is not None and is_leaf(x):
        leaves.append(x)
        traversal.append(None)
        return
    t = type(x)
    node = _kinds.get(t, _UNSEEN)
    if node is _UNSEEN:
        node = _classify(t)
    if node is None:
        leaves.append(x)
        traversal.append(None)
        return
    children, aux = node.flatten(x)
    _flatten_children(children, leaves, traversal, is_leaf)
    traversal.append((t, aux, len(children)))


def _flatten_children(children, leaves, traversal, is_leaf):
    kinds = _kinds
    for c in children:
        # Inline the common case, a known leaf type, to save a call per leaf.
        if is_leaf is None and kinds.get(type(c), _UNSEEN) is None:
            leaves.append(c)
            traversal.append(None)
        else:
            _flatten(c, leaves, traversal, is_leaf)


def tree_flatten(tree, is_leaf=None):
    """Return ``(leaves, treedef)``: the leaves in order (dict keys sorted) and the structure;
    ``is_leaf(x) -> True`` stops descent at x. ``None`` is a node with no leaves.

    >>> from fnad import tree_util
    >>> leaves, treedef = tree_util.tree_flatten({"b": (1, 2), "a": [3, None]})
    >>> leaves
    [3, 1, 2]
    >>> treedef
    PyTreeDef({'a': [*, None], 'b': (*, *)})
    """
    if is_leaf is not None:
        leaves = []
        traversal = []
        _flatten(tree, leaves, traversal, is_leaf)
        if len(traversal) == 1 and traversal[0] is None:
            return leaves, _LEAF_DEF
        return leaves, PyTreeDef(tuple(traversal), len(leaves))
    t = type(tree)
    node = _kinds.get(t, _UNSEEN)
    if node is _UNSEEN:
        node = _classify(t)
    if node is None:
        return [tree], _LEAF_DEF
    children, aux = node.flatten(tree)
    n = len(children)
    kinds = _kinds
    for c in children:
        if kinds.get(type(c), _UNSEEN) is not None:
            break
    else:
        # Fast path: one node over leaves (a flat tuple, a dict of arrays...).
        if aux is not None:
            return list(children), PyTreeDef((None,) * n + ((t, aux, n),), n)
        td = _flat_defs.get((t, n))
        if td is None:
            td = _flat_defs[t, n] = PyTreeDef((None,) * n + ((t, None, n),), n)
        return list(children), td
    leaves = []
    traversal = []
    _flatten_children(children, leaves, traversal, None)
    traversal.append((t, aux, n))
    return leaves, PyTreeDef(tuple(traversal), len(leaves))


def tree_unflatten(treedef, leaves):
    """Rebuild a pytree of structure ``treedef`` from ``leaves`` (the inverse of tree_flatten).

    >>> from fnad import tree_util
    >>> treedef = tree_util.tree_structure({"b": (1, 2), "a": [3, None]})
    >>> tree_util.tree_unflatten(treedef, [10, 20, 30])
    {'a': [10, None], 'b': (20, 30)}
    """
    return treedef.unflatten(leaves)


def tree_leaves(tree, is_leaf=None):
    """The leaves of ``tree`` in flattening order.

    >>> from fnad import tree_util
    >>> tree_util.tree_leaves({"b": (1, 2), "a": [3, None]})
    [3, 1, 2]
    """
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree, is_leaf=None):
    """The ``PyTreeDef`` of ``tree`` (hashable and comparable).

    >>> from fnad import tree_util
    >>> tree_util.tree_structure((1, [2, 3]))
    PyTreeDef((*, [*, *]))
    """
    return tree_flatten(tree, is_leaf)[1]


def tree_map(f, tree, *rest, is_leaf=None):
    """Apply ``f`` leafwise. Each tree in ``rest`` must have ``tree``'s
    structure, or have it as a prefix (whole subtrees are then passed to f).

    >>> from fnad import tree_util
    >>> tree_util.tree_map(lambda x: x * 10, {"b": (1, 2), "a": [3, None]})
    {'a': [30, None], 'b': (10, 20)}
    >>> tree_util.tree_map(lambda x, y: x + y, (1, [2, 3]), (10, [20, 30]))
    (11, [22, 33])
    """
    leaves, treedef = tree_flatten(tree, is_leaf)
    if not rest:
        return treedef.unflatten([f(x) for x in leaves])
    all_leaves = [leaves]
    for i, other in enumerate(rest, 1):
        other_leaves, other_def = tree_flatten(other, is_leaf)
        if other_def != treedef:
            try:
                other_leaves = treedef.flatten_up_to(other)
            except ValueError as e:
                raise ValueError(
                    f"tree_map: tree {i} has structure {other_def}, which does not "
                    f"match the structure of tree 0, {treedef}: {e}"
                ) from None
        all_leaves.append(other_leaves)
    return treedef.unflatten([f(*xs) for xs in zip(*all_leaves)])


_NO_INITIALIZER = object()


def tree_reduce(function, tree, initializer=_NO_INITIALIZER, is_leaf=None):
    """``functools.reduce(function, leaves[, initializer])`` over the leaves of ``tree``.

    >>> import operator
    >>> from fnad import tree_util
    >>> tree_util.tree_reduce(operator.add, {"b": (1, 2), "a": [3, None]})
    6
    """
    leaves = tree_leaves(tree, is_leaf)
    if initializer is _NO_INITIALIZER:
        return functools.reduce(function, leaves)
    return functools.reduce(function, leaves, initializer)


def tree_all(tree, is_leaf=None):
    """True when every leaf of ``tree`` is truthy.

    >>> from fnad import tree_util
    >>> tree_util.tree_all([True, (1, 2)]), tree_util.tree_all([0, 1])
    (True, False)
    """
    return all(tree_leaves(tree, is_leaf))


def tree_transpose(outer_treedef, inner_treedef, pytree_to_transpose):
    """Turn an outer-structured tree of inner-structured trees into an
    inner-structured tree of outer-structured trees.

    >>> from fnad import tree_util
    >>> outer, inner = tree_util.tree_structure([0, 0]), tree_util.tree_structure((0, 0))
    >>> tree_util.tree_transpose(outer, inner, [(1, 2), (3, 4)])
    ([1, 3], [2, 4])
    """
    leaves, treedef = tree_flatten(pytree_to_transpose)
    expected = outer_treedef.compose(inner_treedef)
    if treedef != expected:
        raise ValueError(f"tree_transpose: expected structure {expected}, got {treedef}")
    n_inner = inner_treedef.num_leaves
    rows = [leaves[i : i + n_inner] for i in range(0, len(leaves), n_inner)]
    columns = [outer_treedef.unflatten(col) for col in zip(*rows)]
    return inner_treedef.unflatten(columns)


def keystr(keys, *, simple=False, separator=""):
    """A key path as a string: ``"['a'][0].x"``, or with ``simple=True`` the bare keys joined
    by ``separator``.

    >>> from fnad import tree_util
    >>> path = (tree_util.DictKey("a"), tree_util.SequenceKey(0), tree_util.GetAttrKey("x"))
    >>> tree_util.keystr(path), tree_util.keystr(path, simple=True, separator="/")
    ("['a'][0].x", 'a/0/x')
    """
    if not simple:
        return separator.join(str(k) for k in keys)
    return separator.join(str(_simple_key(k)) for k in keys)


def _simple_key(k):
    if isinstance(k, DictKey):
        return k.key
    if isinstance(k, SequenceKey):
        return k.idx
    if isinstance(k, GetAttrKey):
        return k.name
    if isinstance(k, FlattenedIndexKey):
        return k.key
    return k


def _flatten_with_path(x, path, pairs, traversal, is_leaf, is_leaf_takes_path):
    if is_leaf is not None and (is_leaf(path, x) if is_leaf_takes_path else is_leaf(x)):
        pairs.append((path, x))
        traversal.append(None)
        return
    t = type(x)
    node = _kinds.get(t, _UNSEEN)
    if node is _UNSEEN:
        node = _classify(t)
    if node is None:
        pairs.append((path, x))
        traversal.append(None)
        return
    children, aux = node.flatten(x)
    for key, child in zip(node.path_keys(x, aux, len(children)), children):
        _flatten_with_path(child, (*path, key), pairs, traversal, is_leaf, is_leaf_takes_path)
    traversal.append((t, aux, len(children)))


def tree_flatten_with_path(tree, is_leaf=None, is_leaf_takes_path=False):
    """``(pairs, treedef)``: like ``tree_flatten`` with each leaf paired with its key path, a
    tuple of ``DictKey`` / ``SequenceKey`` / ``GetAttrKey`` / ``FlattenedIndexKey`` entries.

    >>> from fnad import tree_util
    >>> pairs, treedef = tree_util.tree_flatten_with_path({"a": [1, 2], "b": 3})
    >>> [(tree_util.keystr(path), leaf) for path, leaf in pairs]
    [("['a'][0]", 1), ("['a'][1]", 2), ("['b']", 3)]
    """
    pairs, traversal = [], []
    _flatten_with_path(tree, (), pairs, traversal, is_leaf, is_leaf_takes_path)
    if traversal == [None]:
        return pairs, _LEAF_DEF
    return pairs, PyTreeDef(tuple(traversal), len(pairs))


def tree_leaves_with_path(tree, is_leaf=None, is_leaf_takes_path=False):
    """The ``(key path, leaf)`` pairs of ``tree`` in flattening order.

    >>> from fnad import tree_util
    >>> tree_util.tree_leaves_with_path((1, {"x": 2}))
    [((SequenceKey(idx=0),), 1), ((SequenceKey(idx=1), DictKey(key='x')), 2)]
    """
    return tree_flatten_with_path(tree, is_leaf, is_leaf_takes_path)[0]


def tree_map_with_path(f, tree, *rest, is_leaf=None, is_leaf_takes_path=False):
    """Like ``tree_map``, with ``f(path, leaf, *others)`` also given each leaf's key path.

    >>> from fnad import tree_util
    >>> tree_util.tree_map_with_path(lambda p, x: f"{tree_util.keystr(p)}={x}", {"a": 1, "b": (2,)})
    {'a': "['a']=1", 'b': ("['b'][0]=2",)}
    """
    pairs, treedef = tree_flatten_with_path(tree, is_leaf, is_leaf_takes_path)
    others = [treedef.flatten_up_to(r) for r in rest]
    return treedef.unflatten([f(path, leaf, *xs) for (path, leaf), *xs in zip(pairs, *others)])


class Partial(functools.partial):
    """`functools.partial` as a pytree, as JAX's `tree_util.Partial`: the function is static (part of
    the tree's structure) and the bound arguments are its children, so a Partial can be passed to and
    returned from jitted and transformed functions.

    >>> import fnad, fnad.numpy as fnp
    >>> from fnad.tree_util import Partial
    >>> add_one = Partial(fnp.add, 1.0)
    >>> fnad.jit(lambda f, x: f(x))(add_one, 2.0)
    Array(3., dtype=float64)
    """

    def __new__(cls, func, *args, **kw):
        # functools.partial would merge an inner partial's arguments into this one's, making them
        # children; JAX keeps them with the inner function, static, and so does fnad.
        if isinstance(func, functools.partial):
            func = _PartialFunction(func)
        return super().__new__(cls, func, *args, **kw)


class _PartialFunction:
    """An inner partial of a Partial, as a callable functools.partial does not look into."""

    def __init__(self, inner):
        self.inner = inner

    def __call__(self, *args, **kw):
        return self.inner(*args, **kw)


register_pytree_node(
    Partial,
    lambda p: ((p.args, p.keywords), p.func),
    lambda func, children: Partial(func, *children[0], **children[1]),
)
