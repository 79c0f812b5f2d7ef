"""Fusion planning: which equations of a jaxpr share one loop nest, which values get a buffer, and
where each buffer lives.

Equations are *elemental* (elementwise math, select, convert, broadcast_in_dim, transpose, slice, rev,
iota, reshapes that only add or drop size-1 axes, pads without interior padding, dot_generals that
contract nothing but size-1 axes (outer products): each output element is a function of input
elements at affine indices, or a pad's fill), *reductions* (reduce_*, argmax/argmin), *aliases*
(other reshapes, and any reshape of a value already in memory: a new shape over the same contiguous
buffer) or *opaque* (everything else, e.g. dot_general, lowered on its own from buffers).

A `Kernel` is one loop nest: a root equation (elemental or reduction) and the elemental equations
computed inside it. Walking the equations backwards, an elemental result joins its consumers'
kernel when all of them are in one kernel and nothing else needs it in memory; a *constant* (an
elemental result computed from literals only, e.g. a broadcast scalar or an iota) joins every kernel
that consumes it instead. Otherwise it is
*materialized* (gets a buffer): it is stored by the earliest of its consumers' kernels that iterates
over its shape and runs before its other consumers (a multi-output kernel, e.g. softmax's
exp(x - max) stored while it is summed), else it roots a kernel of its own. Materialized: the jaxpr's
outputs, operands of opaque and alias equations, computed non-constant arrays (size > 1) that a
broadcast or an outer product expands (computing them once beats recomputing them per output
element), and computed non-constant scalars read by an elemental equation over more elements (the
same, and a loop-invariant chain of branchy math, e.g. sin with its huge-argument path, inside a
vectorised loop made LLVM's loop vectoriser run for minutes). Layout equations of buffers (e.g. x[1:] of an input) and constants are not stored for
several kernels: each consumer kernel computes its own copy (an affine read, or the constant).
Pads join only elemental kernels, at most `_MAX_PADDED` padded axes per kernel (the lowering
splits a loop where a pad switches between operand and fill). A kernel's members cost at most
`MAX_KERNEL_COST` per element (one per equation plus the primitive's extra cost, e.g. 8 for
transcendental math): LLVM's time on one loop body grows faster than its length, so a longer
chain is cut into kernels that pass an array between them.

Buffers: inputs, consts and outputs come from the caller; intermediates get offsets in one arena
(part of the program's scratch block, `fnad_compiler.scratch`), reusing the space of buffers that
are dead (after their last reading step).
An equation that can update an operand in place (`reusable`: dynamic_update_slice, scatter, cond
over such branches) writes its result into that operand's buffer when the buffer is dead after it
and may be overwritten: an intermediate, or an input the caller *donates* (a loop carry). A result
that is the jaxpr's output k then lives in the donated input the caller paired with k (a *tie*: the
caller skips copying it), or an intermediate operand is placed in output k's buffer. Likewise an
intermediate whose alias is output k lives in output k's buffer.
"""

from __future__ import annotations

from fnad.ir import Var

__all__ = [
    "ALIAS",
    "ELEMENTAL",
    "OPAQUE",
    "REDUCTION",
    "REDUCTIONS",
    "Kernel",
    "Plan",
    "Step",
    "is_unit_reshape",
    "nbytes",
    "plan",
    "scratch_operands",
]

ELEMENTAL, REDUCTION, ALIAS, OPAQUE = "elemental", "reduction", "alias", "opaque"
REDUCTIONS = frozenset(
    ["reduce_sum", "reduce_max", "reduce_min", "reduce_prod", "reduce_and", "reduce_or", "argmax", "argmin"]
)
_LAYOUT = frozenset(["broadcast_in_dim", "transpose", "iota", "stop_gradient", "slice", "rev"])
_ALIGN = 64
_MAX_PADDED = 3  # padded axes of the pads fused into one kernel (each splits its loop into pieces)
MAX_KERNEL_COST = 160


def is_unit_reshape(in_shape, out_shape):
    """A reshape that only inserts or removes size-1 axes (index maps need no division)."""
    return [d for d in in_shape if d != 1] == [d for d in out_shape if d != 1]


def nbytes(aval):
    return aval.size * aval.dtype.itemsize


def padded_axes(eqn):
    """Axes a pad extends or crops (its elements are the operand's or the fill, by index range)."""
    return sum(1 for lo, hi, _ in eqn.params["padding_config"] if lo or hi)


def is_outer_product(eqn):
    """A dot_general whose contracting axes have one element in all: each output element is one
    product of operand elements (e.g. a batched outer product), so it fuses like elementwise math."""
    if eqn.primitive.name != "dot_general":
        return False
    x = eqn.invars[0].aval
    return all(x.shape[i] == 1 for i in eqn.params["dimension_numbers"][0][0])


def classify(eqn, scalar_ops):
    name = eqn.primitive.name
    if eqn.primitive.multiple_results:
        return OPAQUE
    if name in scalar_ops or name in _LAYOUT or is_outer_product(eqn):
        return ELEMENTAL
    if name == "pad":
        return ELEMENTAL if all(interior == 0 for _, _, interior in eqn.params["padding_config"]) else OPAQUE
    if name == "reshape":
        return ELEMENTAL if is_unit_reshape(eqn.invars[0].aval.shape, eqn.outvars[0].aval.shape) else ALIAS
    if name in REDUCTIONS:
        return REDUCTION
    return OPAQUE


# Plain classes, not dataclasses: generating a dataclass's methods took about 1 ms each at import, and
# this module is imported by every process that runs compiled code (through fnad_compiler.pyentry).


class Kernel:
    __slots__ = ("members", "producer", "root", "stores")

    def __init__(self, root, members, producer=None, stores=None):
        self.root = root  # the Eqn whose result the nest stores
        self.members = members  # elemental Eqns computed inside, in order (root included)
        self.producer = {} if producer is None else producer  # Var -> member Eqn computing it inside the nest
        self.stores = [] if stores is None else stores  # member results also stored (shape = the domain)


class Step:
    __slots__ = ("eqn", "kernel", "kind")

    def __init__(self, kind, eqn, kernel=None):
        self.kind = kind  # ELEMENTAL or REDUCTION (a Kernel), ALIAS or OPAQUE (one equation)
        self.eqn = eqn
        self.kernel = kernel

    def writes(self):
        return list(self.eqn.outvars) + (self.kernel.stores if self.kernel else [])

    def reads(self):
        eqns = self.kernel.members if self.kernel else [self.eqn]
        inside = self.kernel.producer if self.kernel else {}
        return {a for e in eqns for a in e.invars if type(a) is Var and a not in inside}


class Plan:
    __slots__ = ("arena_size", "copies", "in_place", "steps", "storage", "ties")

    def __init__(self, steps, storage, copies, arena_size, in_place, ties):
        self.steps = steps
        # Var -> ("input", i) | ("const", i) | ("output", i) | ("arena", offset) | ("alias", Var)
        self.storage = storage
        self.copies = copies  # (output index, atom): outputs that are inputs, consts, aliases, literals or repeats
        self.arena_size = arena_size
        self.in_place = in_place  # result Var -> position of the operand whose buffer it overwrites
        self.ties = ties  # output index -> index of the donated input whose buffer holds it


def plan(jaxpr, scalar_ops, reusable=lambda eqn: (), donated=None, costs=None):
    """Group the equations of `jaxpr` into steps and assign buffers (see the module docstring).
    `scalar_ops`: names of primitives the lowering computes element by element; `costs`: the extra
    cost per element of those that cost more than one (name -> cost). `reusable(eqn)`:
    (operand position, result position) pairs the lowering can compute in place. `donated`: input
    index -> the output index that may live in its buffer, or None (the caller's old value is not
    needed either way)."""
    eqns = jaxpr.eqns
    kinds, computed, constant = [], set(), set()
    for i, e in enumerate(eqns):
        kind = classify(e, scalar_ops)
        if e.primitive.name == "reshape" and type(e.invars[0]) is Var and e.invars[0] not in computed:
            kind = ALIAS  # its operand is in memory already: a view beats a copy
        if kind == ELEMENTAL and all(type(a) is not Var or a in constant for a in e.invars):
            constant.add(e.outvars[0])
        if kind in (ELEMENTAL, REDUCTION):
            computed.update(e.outvars)
        kinds.append(kind)
    consumers = {}
    for i, e in enumerate(eqns):
        for a in e.invars:
            if type(a) is Var:
                consumers.setdefault(a, []).append(i)
    materialize = {v for v in jaxpr.outvars if type(v) is Var}
    for e, kind in zip(eqns, kinds):
        if kind in (OPAQUE, ALIAS):
            materialize.update(a for a in e.invars if type(a) is Var)
        elif e.primitive.name in ("broadcast_in_dim", "dot_general"):
            materialize.update(x for x in e.invars if x in computed and x not in constant and x.aval.size > 1)
        if kind == ELEMENTAL and e.outvars[0].aval.size > 1:  # a computed scalar read at every element
            materialize.update(
                x for x in e.invars if type(x) is Var and x in computed and x not in constant and x.aval.size == 1
            )

    def domain(r):
        e = eqns[r]
        if kinds[r] == ELEMENTAL:
            return e.outvars[0].aval.shape
        return e.invars[0].aval.shape if e.primitive.name.startswith("reduce_") else None

    def cost(i):
        return 1 + costs.get(eqns[i].primitive.name, 0)

    def admits(r, i):
        """Kernel r can compute equation i: within `MAX_KERNEL_COST`, and pads only in elemental
        kernels, within `_MAX_PADDED`."""
        if spent[r] + cost(i) > MAX_KERNEL_COST:
            return False
        return eqns[i].primitive.name != "pad" or (
            kinds[r] == ELEMENTAL and padded[r] + padded_axes(eqns[i]) <= _MAX_PADDED
        )

    def storing_host(i, v, uses):
        """The earliest consumer kernel over v's shape that runs before v's other consumers."""
        for r in sorted({root_of.get(j) for j in uses} - {None}):
            if domain(r) == v.aval.shape and all(j > r for j in uses if root_of.get(j) != r) and admits(r, i):
                return r
        return None

    def join(i, r):
        root_of[i] = r
        members[r].append(i)
        spent[r] += cost(i)
        if eqns[i].primitive.name == "pad":
            padded[r] += padded_axes(eqns[i])

    free = _free_layouts(eqns, kinds)
    costs = costs or {}
    root_of, members, stores, padded, copied, spent = {}, {}, {}, {}, {}, {}
    for i in reversed(range(len(eqns))):
        if kinds[i] in (OPAQUE, ALIAS):
            continue
        v = eqns[i].outvars[0]
        uses = consumers.get(v, ())
        roots = set().union(*(copied.get(j, {root_of.get(j)}) for j in uses))
        if (i in free or v in constant) and v not in materialize and uses and None not in roots and len(roots) > 1:
            copied[i] = roots  # recomputed in every consumer kernel: only reads move
            for r in roots:
                members[r].append(i)
        elif (
            kinds[i] == ELEMENTAL
            and v not in materialize
            and len(roots) == 1
            and None not in roots
            and admits(next(iter(roots)), i)
        ):
            join(i, roots.pop())
        elif eqns[i].primitive.name == "reshape" and type(eqns[i].invars[0]) is Var:
            kinds[i] = ALIAS  # stored anyway: a view of its operand's buffer, not a copy
            materialize.update([v, eqns[i].invars[0]])
        else:
            r = storing_host(i, v, uses) if kinds[i] == ELEMENTAL else None
            materialize.add(v)
            if r is None:
                root_of[i] = i
                members[i] = []
                padded[i] = spent[i] = 0
                join(i, i)
                continue
            stores.setdefault(r, []).append(v)
            join(i, r)

    steps = []
    for i, e in enumerate(eqns):
        if kinds[i] in (OPAQUE, ALIAS):
            steps.append(Step(kinds[i], e))
        elif root_of.get(i) == i:
            group = [eqns[j] for j in sorted(members[i])]
            producer = {m.outvars[0]: m for m in group if m is not e}
            steps.append(Step(kinds[i], e, Kernel(e, group, producer, stores.get(i, []))))
    return Plan(steps, *_assign_buffers(jaxpr, steps, reusable, donated or {}, scalar_ops))


def _free_layouts(eqns, kinds):
    """Indices of elemental layout equations (no arithmetic) of buffers or of other such equations:
    a kernel reading one computes it as an affine read, so each consumer kernel may take a copy."""
    made_by = {v: i for i, e in enumerate(eqns) for v in e.outvars}
    free = set()
    for i, e in enumerate(eqns):
        if (
            kinds[i] == ELEMENTAL
            and e.primitive.name in _LAYOUT | {"reshape"}
            and all(
                type(a) is not Var or a not in made_by or made_by[a] in free or kinds[made_by[a]] in (OPAQUE, ALIAS)
                for a in e.invars
            )
        ):
            free.add(i)
    return free


def _assign_buffers(jaxpr, steps, reusable, donated, scalar_ops):
    storage = {}
    for i, v in enumerate(jaxpr.invars):
        storage[v] = ("input", i)
    for i, v in enumerate(jaxpr.constvars):
        storage[v] = ("const", i)
    for s in steps:
        if s.kind == ALIAS:
            storage[s.eqn.outvars[0]] = ("alias", s.eqn.invars[0])
    copies = []
    for k, v in enumerate(jaxpr.outvars):
        if type(v) is Var and v not in storage:
            storage[v] = ("output", k)
        else:
            copies.append((k, v))

    def base(v):
        while storage.get(v, ("",))[0] == "alias":
            v = storage[v][1]
        return v

    for k, v in list(copies):  # an output viewing an intermediate: the intermediate lives in the output
        if type(v) is Var and storage.get(v, ("",))[0] == "alias" and base(v) not in storage:
            storage[base(v)] = ("output", k)
            copies.remove((k, v))

    # Outputs that are donated inputs paired with them are already in place.
    ties = {
        k: storage[v][1]
        for k, v in copies
        if type(v) is Var and storage.get(v, ("",))[0] == "input" and donated.get(storage[v][1]) == k
    }
    in_place = _reuse_dead_operands(
        jaxpr, steps, storage, _last_uses(steps, copies, base), reusable, donated, ties, scalar_ops
    )
    copies = [(k, v) for k, v in copies if k not in ties]
    last_use = _last_uses(steps, copies, base)
    free, arena_size = [], 0  # free: sorted [offset, size] holes in the arena
    dying = {}
    for v, n in last_use.items():
        dying.setdefault(n, []).append(v)
    for n, s in enumerate(steps):
        for v in s.writes():
            if v in storage:
                continue
            size = -(-max(nbytes(v.aval), 1) // _ALIGN) * _ALIGN
            hole = next((h for h in free if h[1] >= size), None)
            if hole is None:
                storage[v] = ("arena", arena_size)
                arena_size += size
            else:
                storage[v] = ("arena", hole[0])
                hole[0] += size
                hole[1] -= size
                if not hole[1]:
                    free.remove(hole)
        for v in dying.get(n, []) + [v for v in s.writes() if v not in last_use]:
            if storage.get(v, ("",))[0] == "arena":
                _release(free, storage[v][1], -(-max(nbytes(v.aval), 1) // _ALIGN) * _ALIGN)
    return storage, copies, arena_size, in_place, ties


def _last_uses(steps, copies, base):
    """Buffer (base Var) -> index of the last step reading it (len(steps) for outputs copied at the end)."""
    last_use = {}
    for n, s in enumerate(steps):
        for a in s.reads():
            last_use[base(a)] = n
    for _, v in copies:
        if type(v) is Var:
            last_use[base(v)] = len(steps)
    return last_use


def _reuse_dead_operands(jaxpr, steps, storage, last_use, reusable, donated, ties, scalar_ops):
    """Let results of in-place capable steps share the buffer of an operand that dies there (see the
    module docstring); updates `storage` and `ties`, returns {result Var: operand position}."""
    inputs = {v: i for i, v in enumerate(jaxpr.invars)}
    pre_base = {v: w for v, (kind, w) in storage.items() if kind == "alias"}
    aliases = dict(pre_base)  # and those made here

    def base(v, links):
        while v in links:
            v = links[v]
        return v

    in_place = {}
    for n, s in enumerate(steps):
        for x, out, others, pos in _update_candidates(s, reusable, scalar_ops):
            if type(x) is not Var or nbytes(x.aval) != nbytes(out.aval) or last_use.get(base(x, pre_base)) != n:
                continue
            b = base(x, aliases)
            if any(type(a) is Var and base(a, pre_base) == base(x, pre_base) for a in others):
                continue
            where = storage.get(out)
            if b in inputs and inputs[b] in donated:
                if where is None:
                    storage[out] = ("alias", x)
                    aliases[out] = x
                elif where[0] == "output" and donated[inputs[b]] == where[1]:
                    storage[out] = ("input", inputs[b])
                    ties[where[1]] = inputs[b]
                else:
                    continue
            elif b in storage:
                continue
            elif where is None:
                storage[out] = ("alias", x)
                aliases[out] = x
            elif where[0] == "output":
                storage[b] = where
            else:
                continue
            if pos is not None:
                in_place[out] = pos
            if s.kind == ELEMENTAL:
                break
    return in_place


def _update_candidates(step, reusable, scalar_ops):
    """(operand, result, the step's other operands, operand position or None) for each result the
    step can write over an operand's buffer: `reusable` pairs of an opaque equation; the result of an
    elemental kernel over a buffer it reads only at the element it writes (elementwise paths)."""
    e = step.eqn
    if step.kind == OPAQUE:
        return [
            (e.invars[pos], e.outvars[k], [a for j, a in enumerate(e.invars) if j != pos], pos)
            for pos, k in reusable(e)
        ]
    if step.kind != ELEMENTAL:
        return []
    k = step.kernel
    exact = {v: True for v in [e.outvars[0], *k.stores]}  # read only at the domain index
    for m in reversed(k.members):
        o = m.outvars[0]
        same = m.primitive.name in scalar_ops and exact.get(o, False)
        for a in m.invars:
            if type(a) is Var:
                exact[a] = exact.get(a, True) and same and a.aval.shape == o.aval.shape
    reads = step.reads()
    return [(x, e.outvars[0], reads - {x}, None) for x in sorted(reads, key=lambda v: v.count) if exact.get(x)]


def scratch_operands(plan, n):
    """Operands of step n that the step may overwrite: intermediates (arena buffers) that no later
    step reads and no output copies, each the only operand on its buffer (e.g. a cond donates them
    to its branches, whose loops then start in place)."""

    def base(v):
        while plan.storage.get(v, ("",))[0] == "alias":
            v = plan.storage[v][1]
        return v

    later = {base(a) for s in plan.steps[n + 1 :] for a in s.reads()}
    later.update(base(v) for _, v in plan.copies if type(v) is Var)
    operands = [a for a in plan.steps[n].eqn.invars if type(a) is Var]
    bases = [base(a) for a in operands]
    return [
        a
        for a, b in zip(operands, bases)
        if plan.storage.get(b, ("",))[0] == "arena" and b not in later and bases.count(b) == 1
    ]


def _release(free, offset, size):
    """Return [offset, offset+size) to the sorted hole list, merging neighbours."""
    free.append([offset, size])
    free.sort()
    merged = [free[0]]
    for h in free[1:]:
        if merged[-1][0] + merged[-1][1] == h[0]:
            merged[-1][1] += h[1]
        else:
            merged.append(h)
    free[:] = merged
