"""Elemental emission: index matrices over a kernel's domain, and `Elemental`, which computes a
value of a fused expression at an affine index of the domain (see `fnad_compiler.lower`'s docstring)."""

from __future__ import annotations

import functools
import math

import numpy as np

from fnad.ir import Literal, Var, literal_key, param_key
from fnad_compiler.llvm_ir import const, convert, i64, load_at
from fnad_compiler.lower.rules import SCALAR
from fnad_compiler.lower.scalar import ONCE, out_dtype


def row_major(shape):
    strides, acc = [], 1
    for d in reversed(shape):
        strides.append(acc)
        acc *= d
    return tuple(reversed(strides))


@functools.cache
def identity_map(n):
    """Index matrix of a value indexed by the domain itself (rows: coefficients, then a constant)."""
    return tuple(unit_row(i, n) for i in range(n))


@functools.cache
def unit_row(i, n, scale=1, constant=0):
    return tuple(scale if j == i else 0 for j in range(n)) + (constant,)


def affine_combination(rows, coefs, constant=0, ndomain=0):
    """sum(c * row) + constant, for index rows of equal length (ndomain + 1 when there are none)."""
    out = [0] * (len(rows[0]) if rows else ndomain + 1)
    for c, row in zip(coefs, rows):
        for j, r in enumerate(row):
            out[j] += c * r
    out[-1] += constant
    return tuple(out)


def free_axes(ndim, contract, batch):
    return tuple(i for i in range(ndim) if i not in contract and i not in batch)


def _operand_maps(e, M, ndomain):
    """Index matrices of `e`'s operands, given the matrix M of its output."""
    name, zero = e.primitive.name, (0,) * (ndomain + 1)
    if name == "broadcast_in_dim":
        x = e.invars[0].aval
        return [tuple(zero if x.shape[i] == 1 else M[d] for i, d in enumerate(e.params["broadcast_dimensions"]))]
    if name == "transpose":
        rows = [None] * len(M)
        for j, p in enumerate(e.params["permutation"]):
            rows[p] = M[j]
        return [tuple(rows)]
    if name == "slice":
        starts, strides = e.params["start_indices"], e.params["strides"] or (1,) * len(M)
        return [tuple(_scaled(row, st, s0) for row, st, s0 in zip(M, strides, starts))]
    if name == "rev":
        shape = e.invars[0].aval.shape
        return [
            tuple(_scaled(row, -1, shape[d] - 1) if d in e.params["dimensions"] else row for d, row in enumerate(M))
        ]
    if name == "reshape":
        kept = iter([row for row, d in zip(M, e.outvars[0].aval.shape) if d != 1])
        return [tuple(zero if d == 1 else next(kept) for d in e.invars[0].aval.shape)]
    if name == "pad":
        return [tuple(_scaled(row, 1, -lo) for row, (lo, _, _) in zip(M, e.params["padding_config"])), ()]
    if name == "dot_general":  # an outer product (fusion.is_outer_product): output = batch, lhs free, rhs free
        x, y = e.invars
        (lc, rc), (lb, rb) = e.params["dimension_numbers"]
        lf, rf = free_axes(x.aval.ndim, lc, lb), free_axes(y.aval.ndim, rc, rb)
        rows_x = {**{a: M[j] for j, a in enumerate(lb)}, **{a: M[len(lb) + j] for j, a in enumerate(lf)}}
        rows_y = {**{a: M[j] for j, a in enumerate(rb)}, **{a: M[len(lb) + len(lf) + j] for j, a in enumerate(rf)}}
        return [
            tuple(rows_x.get(a, zero) for a in range(x.aval.ndim)),
            tuple(rows_y.get(a, zero) for a in range(y.aval.ndim)),
        ]
    return [M if type(a) is Var and a.aval.ndim or type(a) is Literal and np.ndim(a.val) else () for a in e.invars]


def _scaled(row, scale, constant):
    return tuple(scale * r for r in row[:-1]) + (scale * row[-1] + constant,)


_PASS_THROUGH = frozenset(["broadcast_in_dim", "transpose", "reshape", "stop_gradient", "slice", "rev"])


class Elemental:
    """Values of a kernel's expression at affine indices of its domain (see `fnad_compiler.lower`'s docstring).

    Dry mode only records the affine forms of every buffer read (for merging axes), per domain
    axis where a pad switches between its operand and its fill (`cuts`), and every step of the
    evaluation in `trace` (its values are positions in `trace`), which thereby determines the code
    real mode emits for the same requests (see `Kernel.structure`); real mode emits code,
    reading buffer `v` through the kernel's pointer `pointers[v]`, for the piece of each cut axis
    given by `segment` (axis -> [first, stop) index range, within which every pad is one or the other)."""

    def __init__(self, producer, domain, dry):
        self.producer, self.domain, self.n, self.dry = producer, tuple(domain), len(domain), dry
        self.once = math.prod(self.domain) == 1
        self.memo, self.forms, self.leaves, self.cuts, self.segment = {}, [], [], {}, {}
        self.b = self.pointers = None
        self.loop_index = []  # [(last axis of a merged loop, its index value)]
        self.group_index = []  # [(merged loop's domain axes, its index value)]
        self.recorded = None  # a list: real mode appends (buffer, form) of each plain load to it
        self.shifts = {}  # real mode: buffer -> elements its pointer is advanced by (`Kernel._pointer_shifts`)
        self.trace = []
        self.exact = True  # whether `trace` holds values only (no identities of unhashable params)
        self.branches = []  # open runtime pad branches: (block before, merge block, memo before)

    def value(self, atom, M):
        """The value of `atom` at index matrix M. Evaluated with an explicit work stack, not
        recursion, so that a chain of any length (thousands of fused ops) fits in Python's limits."""
        tasks, results = [("eval", atom, M)], []
        while tasks:
            task = tasks.pop()
            if task[0] == "eval":
                self._visit(task[1], task[2], tasks, results)
            elif task[0] == "apply":
                _, e, key, n = task
                args = results[len(results) - n :]
                del results[len(results) - n :]
                results.append(self._remember(key, self._apply(e, args)))
            elif task[0] == "pick":  # a pad decided for the whole segment: keep one result
                _, key, n, keep = task
                args = results[len(results) - n :]
                del results[len(results) - n :]
                results.append(self._remember(key, args[keep]))
            elif task[0] == "dry_pad":  # both sides of a pad visited by the dry pass
                _, key, e = task
                operand, fill = results[-2:]
                del results[-2:]
                step = ("pad", self._params(e), key[1], operand, fill)
                results.append(self._remember(key, self._note(step)))
            elif task[0] == "branch":
                self._branch(task[1])
            else:  # "merge": the end of a branch opened by "branch"
                operand = results.pop()
                results.append(self._remember(task[1], self._merge(operand, results.pop())))
        return results[-1]

    def _remember(self, key, r):
        self.memo[key] = r
        return r

    def _visit(self, atom, M, tasks, results):
        """Push `atom`'s value at M onto `results` if it needs no operands, else push the tasks
        that compute it (operands first, in order, then the step that combines them)."""
        if type(atom) is Literal:
            results.append(self._note(literal_key(atom)) if self.dry else const(atom.aval.dtype, atom.val))
            return
        key = (atom, M)
        if key in self.memo:
            results.append(self.memo[key])
            return
        e = self.producer.get(atom)
        if e is None:
            results.append(self._remember(key, self._leaf(atom, M)))
        elif e.primitive.name == "iota":
            r = self._affine(M[e.params["dimension"]])
            if self.dry:
                r = self._note(("iota", r, out_dtype(e).str))
            results.append(self._remember(key, r if self.dry else convert(self.b, r, np.int64, out_dtype(e))))
        elif e.primitive.name == "pad":
            tasks.extend(reversed(self._pad_tasks(e, M, key)))
        else:
            tasks.append(("apply", e, key, len(e.invars)))
            tasks.extend(("eval", a, m) for a, m in reversed(list(zip(e.invars, _operand_maps(e, M, self.n)))))

    def _note(self, step):
        """Dry mode: append an evaluation step to `trace`; its position stands for its value."""
        self.trace.append(step)
        return len(self.trace) - 1

    def _params(self, e):
        try:
            return param_key(e.params, exact=True)
        except TypeError:
            self.exact = False
            return param_key(e.params)

    def _apply(self, e, args):
        if e.primitive.name in _PASS_THROUGH:
            return args[0]
        if self.dry:
            avals = tuple((a.aval.shape, a.aval.dtype) for a in (*e.invars, *e.outvars))
            return self._note((e.primitive.name, self._params(e), avals, tuple(args)))
        name = "mul" if e.primitive.name == "dot_general" else e.primitive.name
        return (self.once and ONCE.get(name) or SCALAR[name])(self.b, e, *args)

    def _pad_tasks(self, e, M, key):
        """Tasks computing pad `e`'s element at M: its operand's where the current segment lies
        inside the operand, its fill where it lies outside. Dry mode visits both and records, per
        domain axis, the indices where the operand's range starts and stops (`cuts`). Where the
        segment is not known to lie on one side (loops that do not split at cuts, e.g. reduced
        axes), the choice is made per element at run time, computing the operand in a branch taken
        only where it exists (elsewhere its reads would be out of bounds)."""
        x, fill = e.invars
        x_map = _operand_maps(e, M, self.n)[0]
        inside, checks = True, []
        for row, size in zip(x_map, x.aval.shape):
            axis = next((k for k, c in enumerate(row[:-1]) if c), None)
            if axis is None:
                inside = inside and 0 <= row[-1] < size
                continue
            first, stop = _solve_range(row[axis], row[-1], size)
            if self.dry:
                self.cuts.setdefault(axis, set()).update(c for c in (first, stop) if 0 < c < self.domain[axis])
                continue
            s0, s1 = self.segment.get(axis, (0, self.domain[axis]))
            if s1 <= first or stop <= s0 or stop <= first:
                inside = False
            elif not (first <= s0 and s1 <= stop):
                checks.append((axis, first, stop))
        if self.dry:
            return [("eval", x, x_map), ("eval", fill, ()), ("dry_pad", key, e)]
        if inside and not checks:
            return [("eval", x, x_map), ("eval", fill, ()), ("pick", key, 2, 0)]
        if not inside:
            return [("eval", fill, ()), ("pick", key, 1, 0)]
        return [("eval", fill, ()), ("branch", checks), ("eval", x, x_map), ("merge", key)]

    def _branch(self, checks):
        """Open a branch taken where every (axis, first, stop) check holds for the domain index.
        Values computed inside are memoised only until the matching `_merge`."""
        b = self.b
        ok = None
        for axis, first, stop in checks:
            i = self.axis_index(axis)
            within = b.and_(b.icmp_signed(">=", i, i64(first)), b.icmp_signed("<", i, i64(stop)))
            ok = within if ok is None else b.and_(ok, within)
        taken, after = b.append_basic_block("pad_inside"), b.append_basic_block("pad_merge")
        self.branches.append((b.block, after, self.memo))
        b.cbranch(ok, taken, after)
        b.position_at_end(taken)
        self.memo = dict(self.memo)

    def _merge(self, operand, fill):
        """Close the innermost branch: its operand value where taken, else `fill`."""
        b = self.b
        before, after, self.memo = self.branches.pop()
        computed_in = b.block
        b.branch(after)
        b.position_at_end(after)
        merged = b.phi(operand.type)
        merged.add_incoming(operand, computed_in)
        merged.add_incoming(fill, before)
        return merged

    def axis_index(self, axis):
        """The domain index along `axis` (one axis of a merged loop: a quotient and remainder of
        the merged index when it shares the loop with others)."""
        for group, i in self.group_index:
            if axis in group:
                inner = math.prod(self.domain[d] for d in group[group.index(axis) + 1 :])
                if inner > 1:
                    i = self.b.sdiv(i, i64(inner))
                return self.b.srem(i, i64(self.domain[axis])) if axis != group[0] else i
        raise AssertionError(f"domain axis {axis} has no loop index")

    def _leaf(self, v, M):
        return self.load(v, affine_combination(M, row_major(v.aval.shape), ndomain=self.n))

    def load(self, v, form, extra=None):
        """Element of buffer `v` at the affine `form` of the domain index (+ a runtime `extra` offset)."""
        if self.dry:
            if v not in self.leaves:
                self.leaves.append(v)
            self.forms.append(form)
            return self._note(("load", self.leaves.index(v), v.aval.dtype.str, form, extra is None))
        if v in self.shifts:
            form = form[:-1] + (form[-1] - self.shifts[v],)
        if extra is None and self.recorded is not None and (v, form) not in self.recorded:
            self.recorded.append((v, form))
        offset = self.offset(form)
        return load_at(self.b, self.pointers[v], offset if extra is None else self.b.add(offset, extra), v.aval.dtype)

    def _affine(self, form):
        if self.dry:
            self.forms.append(form)
            return self._note(("affine", form))
        return self.offset(form)

    def offset(self, form):
        """sum(form[d] * index[d]) + form[-1] in the merged loop indices (`loop_index`: [(last dim,
        i64 value)]); `base` adds a runtime offset (dynamic slices)."""
        acc = None if not form[-1] else i64(form[-1])
        for last, i in self.loop_index:
            c = form[last]
            if c:
                t = i if c == 1 else self.b.mul(i, i64(c))
                acc = t if acc is None else self.b.add(acc, t)
        return i64(0) if acc is None else acc


def _solve_range(c, k, size):
    """[first, stop): the integers i with 0 <= c*i + k < size (c != 0)."""
    if c > 0:
        return -(k // c), -((k - size) // c)
    return (k - size) // -c + 1, k // -c + 1


def merge_axes(sizes, reduced, forms, cut=()):
    """Groups of adjacent domain axes (size-1 axes dropped) that can be one loop: every form f
    satisfies f[d] == f[d+1] * sizes[d+1] inside a group, and reduced/kept flags agree; `cut`
    axes (split into segments) stay alone."""
    groups = []
    for d, s in enumerate(sizes):
        if s == 1:
            continue
        if groups:
            p = groups[-1][-1]
            if reduced[p] == reduced[d] and p not in cut and d not in cut and all(f[p] == f[d] * s for f in forms):
                groups[-1].append(d)
                continue
        groups.append([d])
    return groups
