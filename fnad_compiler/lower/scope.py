"""`Scope`: one jaxpr's fusion plan emitted at the current position of main (the top level, and
each sub-jaxpr of control flow); which equations may compute a result in an operand's buffer."""

from __future__ import annotations

from llvmlite import ir

from fnad.ir import ClosedJaxpr, Literal, Var
from fnad_compiler import fusion
from fnad_compiler.llvm_ir import I1, I8, VOID, Loop, const, i64, intrinsic, store_at
from fnad_compiler.lower import online
from fnad_compiler.lower.indexing import SCATTER
from fnad_compiler.lower.kernel import Kernel, kernel_spec
from fnad_compiler.lower.rules import OPAQUE, SCALAR, SCALAR_COST


class Scope:
    """One jaxpr's steps emitted at the current position of main, over given data pointers of
    its inputs, consts and outputs (LLVM values that dominate the position). Sub-jaxprs of control
    flow get scopes of their own, emitted inside the loops/branches that run them."""

    def __init__(self, lw, jaxpr, ins, consts, outs, donated=None):
        self.lw, (self.jaxpr, self.plan) = lw, Scope.planned(jaxpr, donated)
        self.given = {"input": ins, "const": consts, "output": outs}
        self.pointers = {}
        self.arena = lw.malloc(self.plan.arena_size) if self.plan.arena_size else None

    @staticmethod
    def planned(jaxpr, donated=None):
        """The jaxpr a Scope of `jaxpr` emits and its fusion plan."""
        jaxpr = online.rewrite(jaxpr)  # max / sum-of-exp pairs in one pass (`online`)
        return jaxpr, fusion.plan(jaxpr, SCALAR, reusable, donated, SCALAR_COST)

    def __getattr__(self, name):  # module, b, fresh, malloc, entry_alloca, temporary
        return getattr(self.lw, name)

    def view(self, aval, pointer):
        """A stand-in Var of `aval` for the memory at `pointer` (a buffer seen from another base, a
        block of partial results), for kernels to read and write like any buffer."""
        view = Var(aval)
        self.temporary[view] = pointer
        return view

    def emit(self):
        for step in self.plan.steps:
            if step.kind in (fusion.ELEMENTAL, fusion.REDUCTION):
                Kernel(self, kernel_spec(step)).launch()
            elif step.kind == fusion.OPAQUE:
                OPAQUE[step.eqn.primitive.name](self, step.eqn)
        for k, atom in self.plan.copies:
            copy_atom(self, atom, self.given["output"][k], self.jaxpr.outvars[k].aval)

    def pointer(self, v):
        """Data pointer of buffer `v` (computed where first needed in this scope's straight line)."""
        if v in self.temporary:
            return self.temporary[v]
        if v in self.pointers:
            return self.pointers[v]
        kind, where = self.plan.storage[v]
        if kind == "alias":
            p = self.pointer(where)
        elif kind == "arena":
            p = self.b.gep(self.arena, [i64(where)], source_etype=I8)
        else:
            p = self.given[kind][where]
        self.pointers[v] = p
        return p

    def atom_pointer(self, atom):
        """Like `pointer`, for a Literal too (stored into a small buffer here)."""
        if type(atom) is not Literal:
            return self.pointer(atom)
        p = self.malloc(8)
        store_at(self.b, const(atom.aval.dtype, atom.val), p, i64(0), atom.aval.dtype)
        return p


def copy_atom(scope, atom, dst, aval):
    """Copy an atom's value (buffer or literal) of `aval` into buffer `dst`."""
    b = scope.b
    if type(atom) is Literal:
        with Loop(b, i64(0), i64(aval.size)) as i:
            store_at(b, const(aval.dtype, atom.val), dst, i, aval.dtype)
    elif aval.size:
        intrinsic(
            b, "llvm.memcpy.p0.p0.i64", VOID, [dst, scope.pointer(atom), i64(fusion.nbytes(aval)), ir.Constant(I1, 0)]
        )


def jaxpr_of(closed):
    """The Jaxpr of a sub-IR param (its consts must have been hoisted into operands)."""
    if isinstance(closed, ClosedJaxpr):
        if closed.consts:
            raise NotImplementedError(
                "compiler: control-flow sub-IRs with their own constants are not supported (hoist them into operands)"
            )
        return closed.jaxpr
    return closed


def reusable(e):
    """(operand position, result position) pairs `e`'s lowering can compute in place: the updated
    array of dynamic_update_slice and scatter; a loop's carry in its initial value's buffer; a cond
    output that every branch either updates in place from (or passes through) the same operand or
    computes afresh into that operand's buffer."""
    name, p = e.primitive.name, e.params
    if name == "dynamic_update_slice" or name in SCATTER:
        return [(0, 0)]
    if name == "while":
        first = p["cond_nconsts"] + p["body_nconsts"]
        return [(first + k, k) for k in range(len(e.outvars))]
    if name == "scan":
        return [(p["num_consts"] + k, k) for k in range(p["num_carry"])]
    if name != "cond":
        return []
    branches = [jaxpr_of(br) for br in p["branches"]]
    origins = [_update_origins(jaxpr) for jaxpr in branches]
    donated = {}
    for k in range(len(e.outvars)):
        candidates = {o.get(k) for o in origins} - {None}  # branches without one compute it afresh
        i = candidates.pop() if len(candidates) == 1 else None
        if i is not None and i not in donated and not candidates:
            donated[i] = k
    while True:
        kept = donated
        for jaxpr in branches:
            ties = fusion.plan(jaxpr, SCALAR, reusable, kept, SCALAR_COST).ties
            kept = {i: k for i, k in kept.items() if ties.get(k) == i}
        if kept == donated:
            return [(i + 1, k) for i, k in donated.items()]
        donated = kept


def _update_origins(jaxpr):
    """Output index -> index of the input it is (or is an in-place update chain of)."""
    producer = {v: e for e in jaxpr.eqns for v in e.outvars}
    inputs = {v: i for i, v in enumerate(jaxpr.invars)}
    origins = {}
    for k, v in enumerate(jaxpr.outvars):
        while v in producer:
            e = producer[v]
            operands = [e.invars[pos] for pos, r in reusable(e) if e.outvars[r] is v]
            if not operands:
                break
            v = operands[0]
        if v in inputs:
            origins[k] = inputs[v]
    return origins
