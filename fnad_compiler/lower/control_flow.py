"""Control flow: sub-jaxprs emitted in place, in scopes of their own (the branches of a switch, the
bodies of loops whose carries live in the results' buffers)."""

from __future__ import annotations

import numpy as np
from llvmlite import ir

from fnad.ir import Literal
from fnad_compiler import fusion
from fnad_compiler.llvm_ir import I1, I8, VOID, Loop, convert, i64, intrinsic, load_at
from fnad_compiler.lower.rules import SCALAR, SCALAR_COST, opaque_rule
from fnad_compiler.lower.scope import Scope, copy_atom, jaxpr_of, reusable


@opaque_rule("cond")
def _cond(scope, e):
    index, *ops = e.invars
    branches = [jaxpr_of(br) for br in e.params["branches"]]
    b = scope.b
    ins = [scope.atom_pointer(a) for a in ops]
    outs = [scope.pointer(v) for v in e.outvars]
    if type(index) is Literal:
        which = i64(index.val)
    else:
        which = convert(b, load_at(b, scope.pointer(index), i64(0), index.aval.dtype), index.aval.dtype, np.int64)
    which = b.select(b.icmp_signed("<", which, i64(0)), i64(0), which)
    which = b.select(b.icmp_signed(">", which, i64(len(branches) - 1)), i64(len(branches) - 1), which)
    blocks = [b.append_basic_block(f"branch{k}") for k in range(len(branches))]
    done = b.append_basic_block("cond_done")
    switch = b.switch(which, blocks[-1])
    for k, block in enumerate(blocks[:-1]):
        switch.add_case(i64(k), block)
    donated = {scope.plan.in_place[v] - 1: k for k, v in enumerate(e.outvars) if v in scope.plan.in_place}
    n = next(n for n, s in enumerate(scope.plan.steps) if s.eqn is e)
    scratch = fusion.scratch_operands(scope.plan, n)
    for i, a in enumerate(ops):
        if i not in donated and any(a is v for v in scratch):
            donated[i] = None  # dead after the cond: a branch may overwrite it (not an output)
    tied = {i: k for i, k in donated.items() if k is not None}
    keeps_ties = lambda plan: all(plan.ties.get(k) == i for i, k in tied.items())
    for block, jaxpr in zip(blocks, branches):
        b.position_at_end(block)
        # `reusable` checked the ties with the tied inputs donated alone; with the dead ones donated
        # too, a branch's plan may leave a tied output untied (the backward pass of
        # cond(p, -(-a), tanh(-log_softmax(a))), found by the fuzz): it gets the tied ones only.
        branch_donated = donated if keeps_ties(Scope.planned(jaxpr, donated)[1]) else tied
        branch = Scope(scope.lw, jaxpr, ins, [], outs, branch_donated)
        assert keeps_ties(branch.plan), "cond: a branch refused an in-place output"
        branch.emit()
        b.branch(done)
    b.position_at_end(done)


def _carry(scope, init, outvars, body, first):
    """Carry buffers: the results' own (holding the initial values) and scratch for the next ones that
    the body does not update in place (None for those it does: `body`'s inputs from position `first`
    on are the carries, donated to it since their old values are dead after it)."""
    current = [scope.pointer(v) for v in outvars]
    for a, dst, v in zip(init, current, outvars):
        if v not in scope.plan.in_place:
            copy_atom(scope, a, dst, v.aval)
    ties = fusion.plan(body, SCALAR, reusable, _donated(first, outvars), SCALAR_COST).ties
    return current, [None if k in ties else scope.malloc(fusion.nbytes(v.aval)) for k, v in enumerate(outvars)]


def _donated(first, carries):
    return {first + k: k for k in range(len(carries))}


def _advance(scope, current, following, outvars):
    for dst, src, v in zip(current, following, outvars):
        if v.aval.size and src is not None:
            intrinsic(
                scope.b, "llvm.memcpy.p0.p0.i64", VOID, [dst, src, i64(fusion.nbytes(v.aval)), ir.Constant(I1, 0)]
            )


@opaque_rule("while")
def _while(scope, e):
    nc, nb = e.params["cond_nconsts"], e.params["body_nconsts"]
    cconsts, bconsts, init = e.invars[:nc], e.invars[nc : nc + nb], e.invars[nc + nb :]
    cond, body = jaxpr_of(e.params["cond_jaxpr"]), jaxpr_of(e.params["body_jaxpr"])
    b = scope.b
    cc, bc = [scope.atom_pointer(a) for a in cconsts], [scope.atom_pointer(a) for a in bconsts]
    current, following = _carry(scope, init, e.outvars, body, nb)
    flag = scope.malloc(1)
    head, loop, done = (b.append_basic_block(n) for n in ("while_head", "while_body", "while_done"))
    b.branch(head)
    b.position_at_end(head)
    scope.lw.loop_depth += 1
    scope.lw.loops += 1
    Scope(scope.lw, cond, cc + current, [], [flag]).emit()
    b.cbranch(load_at(b, flag, i64(0), np.bool_), loop, done)
    b.position_at_end(loop)
    Scope(scope.lw, body, bc + current, [], following, _donated(nb, current)).emit()
    scope.lw.loop_depth -= 1
    _advance(scope, current, following, e.outvars)
    b.branch(head)
    b.position_at_end(done)


@opaque_rule("scan")
def _scan(scope, e):
    p = e.params
    n_consts, n_carry, length = p["num_consts"], p["num_carry"], p["length"]
    consts, init, xs = e.invars[:n_consts], e.invars[n_consts : n_consts + n_carry], e.invars[n_consts + n_carry :]
    body = jaxpr_of(p["jaxpr"])
    b = scope.b
    cs = [scope.atom_pointer(a) for a in consts]
    x_ptrs = [scope.pointer(x) for x in xs]
    ys = e.outvars[n_carry:]
    y_ptrs = [scope.pointer(y) for y in ys]
    current, following = _carry(scope, init, e.outvars[:n_carry], body, n_consts)
    scope.lw.loop_depth += 1
    scope.lw.loops += 1
    with Loop(b, i64(0), i64(length)) as it:
        i = b.sub(i64(length - 1), it) if p["reverse"] else it
        row = lambda ptr, v: b.gep(ptr, [b.mul(i, i64(fusion.nbytes(v.aval) // max(length, 1)))], source_etype=I8)
        Scope(
            scope.lw,
            body,
            cs + current + [row(q, x) for q, x in zip(x_ptrs, xs)],
            [],
            following + [row(q, y) for q, y in zip(y_ptrs, ys)],
            _donated(n_consts, current),
        ).emit()
        _advance(scope, current, following, e.outvars[:n_carry])
    scope.lw.loop_depth -= 1
