"""Callback equations (debug_callback, pure_callback): a call of the runtime's `fnad_callback` with
the equation's Site (read from the constant table, see `fnad_compiler.callbacks`), its operands'
and results' data pointers; if the callback raised, main stops here."""

from __future__ import annotations

from llvmlite import ir

from fnad_compiler import callbacks
from fnad_compiler.llvm_ir import I32, PTR, extern, i64
from fnad_compiler.lower.rules import opaque_rule


@opaque_rule(*callbacks.PRIMITIVES)
def _callback(scope, eqn):
    b = scope.b
    run = extern(scope.module, callbacks.SYMBOL, I32, [PTR, PTR, PTR])
    pointers = []
    for values, get in ((eqn.invars, scope.atom_pointer), (eqn.outvars, scope.pointer)):
        array = scope.entry_alloca(PTR, max(len(values), 1))
        for k, v in enumerate(values):
            b.store(get(v), b.gep(array, [i64(k)], source_etype=PTR))
        pointers.append(array)
    site = b.load(b.gep(scope.lw.consts_table, [i64(scope.lw.site_slot(eqn))], source_etype=PTR), typ=PTR)
    status = b.call(run, [site, *pointers])
    go_on = b.append_basic_block("callback_done")
    b.cbranch(b.icmp_signed("==", status, ir.Constant(I32, 0)), go_on, scope.lw.stop_block())
    b.position_at_end(go_on)
