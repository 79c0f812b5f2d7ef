"""fnad IR -> LLVM IR.

`lower(closed_jaxpr)` returns an `llvmlite.ir.Module` defining

    void fnad_main(ptr inputs, ptr consts, ptr outputs)     arrays of data pointers (C ABI)

(`fnad_compiler.pyentry` adds its Python entry point). It runs the steps of a `fusion.plan`. Each kernel
is a loop nest in its own function `void kernel(ptr frame, i64 start, i64 end)` (frame: its
buffers' pointers; [start, end) a range of its outermost loop), called directly or, when large,
through `fnad_parallel_for`. In a program of `_MIN_UNITS` kernels or more, each kernel outside
control-flow loops is a *unit*: a module of its own, named by a digest of its text, which the
cache compiles once for every launch and program that share it (`Program.units`; see
docs/compiler.md, "Compile time").

Loop nests. A kernel iterates over a *domain* (the root's shape; for a reduction the operand's
shape, for argmax with the reduced axis moved last). Every value is computed element by element
("elemental" emission): an element of a value at a domain index is asked for with an integer
matrix M (one row per axis of the value, one column per domain axis: value index = M @ domain
index), so broadcasts, transposes and size-1 reshapes only rewrite M and every buffer read is an
affine function of the domain index. A pad's element is its operand's or its fill depending on
the index: the loop over each domain axis a pad depends on is split into segments at the indices
where some pad switches, and each segment is emitted with the choice made; loops that are not split
(reduced axes) choose per element, reading the operand only where it exists. Before emitting,
adjacent domain axes (not split ones) are merged when every read and write is affine in the merged
index (e.g. same-shape elementwise chains become one flat loop). Both decisions come from a dry pass
over everything the kernel computes (its root and every member it also stores), which records the
index forms and pad boundaries the emitted loops will use. Results are memoised per (value, M), so
a value used twice at the same index is computed once; evaluation uses an explicit work stack, so
fused chains of any length compile.

Reductions: reduced axes that are innermost accumulate in registers, the innermost one in blocks
of `_BLOCK` elements: a float sum or product accumulates the block in lanes, element i into lane
i mod k, combined pairwise (`Kernel._lane_accumulate`: the same order at every optimisation level);
one in prefetching strips accumulates it with reassociation allowed (only that operation carries
the `reassoc` flag, so LLVM vectorises it with a vector of partial sums). Blocks are combined in
order. Reductions over every axis are split into fixed blocks of about `_PAR_BLOCK`
elements whose partial results are combined in order after the (possibly parallel) loop, so the
result depends on the shape only, never on the thread count; a large reduction of rows into one
contiguous kept axis likewise runs fixed blocks of rows into partial rows (`_row_blocks`). In
kernels with transcendental math that read more than the caches hold, innermost loops
(elementwise or reducing) run in strips of `STRIP` elements that prefetch their operands (see
`strip_loop`). Reduced axes outside the innermost run accumulate into the output (initialised to the identity) in order.

Other equations have rules of their own: indexing (dynamic_slice/update through pointers offset by
the clamped starts, concatenate/pad as stores at affine output offsets, gather/scatter with loaded
indices), cumulative scans, sort (stable: radix sort of one numeric key, else qsort_r of
positions), linear algebra (LAPACKE / CBLAS trsm per matrix) and control flow: cond/while/scan emit their sub-jaxprs in place
(a switch, loops whose carry lives in the results' buffers). The IR arrives plain: fnad inlines
calls and expands the primitives that offer `decompose` before compiling
(`fnad.passes.prepare_for_compile`), so lowering never traces.

conv_general_dilated arrives in a canonical form (channels-last or a kernel gradient; unpadded,
ungrouped, float): per image, patches packed into a tile of scratch and one gemm (`conv`).

dot_general: float products of at least `_BLAS_MIN` multiply-adds call CBLAS gemm per batch
(operands used in place when their layout is a row-major matrix or its transpose, else copied);
smaller ones, and integer/bool ones, are reduction nests (product of the operands, summed over the
contracting axes); outer products (only size-1 contracting axes) are elemental and fuse with their
neighbours.

The package, imports pointing down the list: `rules` (the rule registries, filled by a decorator
next to each rule); `scalar` (one rule per elementwise primitive, with its cost); `elemental` (index
matrices, `Elemental`); `kernel` (`Spec`, `Kernel`, reductions, prefetching strips); the families of
whole-equation rules `dot`, `conv`, `indexing`, `cumulative`, `sort` and `online`; `scope` (one jaxpr's plan
emitted in place); `control_flow`, `linalg` and `linalg_forms`, which emit through scopes; and this module: the LLVM
module, its entry `fnad_main`, its units and the check that every equation has a rule, which imports every family
so that their rules are registered. The llvmlite helpers they share are in `fnad_compiler.llvm_ir`.
"""

from __future__ import annotations

from llvmlite import ir

from fnad.ir import ClosedJaxpr, Jaxpr
from fnad_compiler import callbacks, fusion, scratch, tiers
from fnad_compiler.engine import RELEASE
from fnad_compiler.llvm_ir import I8, I64, PTR, VOID, extern, i64, load_function, reg_type

# The families register their rules on import (`rules.scalar_rule`, `rules.opaque_rule`).
from fnad_compiler.lower import (  # noqa: F401
    callback,
    collectives,
    control_flow,
    conv,
    cumulative,
    dot,
    fft,
    indexing,
    linalg,
    linalg_forms,
    online,
    scalar,
    sort,
    special,
)
from fnad_compiler.lower.rules import OPAQUE, SCALAR
from fnad_compiler.lower.scope import Scope, jaxpr_of

__all__ = ["Program", "lower", "supported_primitives", "ties"]


def supported_primitives():
    """Names of the primitives `lower` can compile."""
    return (
        frozenset(SCALAR)
        | fusion.REDUCTIONS
        | frozenset(OPAQUE)
        | frozenset(["broadcast_in_dim", "transpose", "iota", "stop_gradient", "reshape", "slice", "rev"])
    )


_LONG_GLUE = 64  # unit launches from which main is glue left unoptimised
_MIN_UNITS = 8  # kernels at the top level from which they are units


class _Lowering:
    """The module: `fnad_main` runs the top-level `Scope`; shared state (names, allocations)."""

    def __init__(self, closed, donated=None, counted=False):
        jaxpr = closed.jaxpr
        _check_supported(jaxpr)
        self.module = ir.Module(name="fnad")
        self.names = {}
        self.temporary = {}  # Var -> pointer of buffers made by a lowering rule
        self.scratch_bytes = 0  # of the block laid out by `malloc`
        self._scratch = None  # (slot, size, block) once `malloc` is first called
        self.units = {}  # symbol -> LLVM IR text of each distinct unit
        self.unit_functions = {}  # symbol -> its pointer, loaded from its slot on entry to main
        self.quick_candidates, self.full_only = {}, set()  # units by the tier they may start in (and its level)
        self.loop_depth = 0  # of the position being emitted: units are made only outside loops
        self.loops = 0  # control-flow loops emitted
        self.launches = 0  # calls of units
        main = ir.Function(self.module, ir.FunctionType(VOID, [PTR, PTR, PTR]), "fnad_main")
        self.entry_builder = ir.IRBuilder(main.append_basic_block("allocas"))
        self.b = ir.IRBuilder(main.append_basic_block("entry"))
        ins, consts, outs = main.args
        # Callback equations' Sites follow the constants in the table (fnad_compiler.callbacks).
        self.consts_table = consts
        sites = callbacks.site_equations(jaxpr)
        self._site_slots = {id(e): len(jaxpr.constvars) + k for k, e in enumerate(sites)}
        self._stop = None
        table = lambda array, n: [
            self.entry_builder.load(self.entry_builder.gep(array, [i64(i)], source_etype=PTR), typ=PTR)
            for i in range(n)
        ]
        top = Scope(
            self,
            jaxpr,
            table(ins, len(jaxpr.invars)),
            table(consts, len(jaxpr.constvars)),
            table(outs, len(jaxpr.outvars)),
            donated,
        )
        self.ties = top.plan.ties
        # A small program stays one module: units would only add a module to optimise and load
        # (and llvmlite's leaks per module) where there is little to share. Unless each of its
        # kernels is small: as units they start quick (`fnad_compiler.tiers`), and a kernel of
        # special functions compiles 2-3x faster so.
        kernels = [s for s in top.plan.steps if s.kind in (fusion.ELEMENTAL, fusion.REDUCTION)]
        self.makes_units = len(kernels) >= _MIN_UNITS or (
            counted and kernels and all(_work(s.eqn) <= tiers.QUICK_MAX_WORK for s in kernels)
        )
        top.emit()
        self._finish_scratch()
        if self._stop is not None:
            self._exit(ir.IRBuilder(self._stop))
        self._exit(self.b)
        self.quick_units = {s: level for s, level in self.quick_candidates.items() if s not in self.full_only}
        if counted and self.quick_units:
            self._count_calls(main, main.basic_blocks[1])
        else:
            self.entry_builder.branch(main.basic_blocks[1])
        # Straight-line glue between units (frames, calls): optimising it gains nothing, and LLVM's
        # SLP vectoriser, dead-store elimination and code generation take time quadratic in its
        # length, so it is left as it is. Its module is generated by the fast code generator when
        # it is long, or when nothing but the glue (and the Python entry) is in it: for a chain of
        # 10 ops 38 ms of LLVM's time became 5 ms. Not in a program of fewer than `_MIN_UNITS`
        # launches, whose calls are mostly main's few instructions and its Python entry's checks
        # (fast instruction selection made jit(x*y+1) on 0-d arrays 5-20 ns slower, of 275), and
        # not where main loops (control flow, or a loop of an opaque rule in its body): that code is
        # optimised.
        glue = not self.loops and (
            self.launches >= _LONG_GLUE or (self.launches >= _MIN_UNITS and self.units and _acyclic(main))
        )
        if glue:
            main.attributes.add("noinline")
            main.attributes.add("optnone")
        others = [f for f in self.module.functions if not f.is_declaration and f.name not in ("fnad_main", RELEASE)]
        self.glue_only = glue and (self.launches >= _LONG_GLUE or not others)

    def add_unit(self, symbol, text, ftype, work):
        """The function `symbol` of type `ftype` that unit `text` defines (see
        `fnad_compiler.llvm_ir.unit_text`), as main calls it: a pointer loaded on entry from the
        unit's slot, `{symbol}.slot`, which the code loading main defines (`fnad_compiler.tiers`).
        `work`: the elements its kernel touches per call. A unit launched only outside control-flow
        loops may start quick, at `tiers.quick_level` (the higher one of its launches')."""
        self.units.setdefault(symbol, text)
        self.launches += 1
        level = None if self.loop_depth else tiers.quick_level(text, work)
        if level is None:
            self.full_only.add(symbol)
        else:
            self.quick_candidates[symbol] = max(level, self.quick_candidates.get(symbol, level))
        function = self.unit_functions.get(symbol)
        if function is None:
            slot = ir.GlobalVariable(self.module, PTR, f"{symbol}.slot")
            function = self.unit_functions[symbol] = load_function(self.entry_builder, slot, ftype)
        return function

    def _count_calls(self, main, body):
        """End main's entry block by counting the call in `tiers.CALLS_SYMBOL` and, at the
        `tiers.PROMOTE_AFTER`th, calling `tiers.PROMOTE_SYMBOL` with the counter's address; then go
        on to `body`. Not atomic: racing calls may lose counts, but a thread that computes the
        count PROMOTE_AFTER always sees it, and the callee resets the counter."""
        calls = ir.GlobalVariable(self.module, I64, tiers.CALLS_SYMBOL)
        calls.initializer = i64(0)
        b = self.entry_builder
        count = b.add(b.load(calls, typ=I64), i64(1))
        b.store(count, calls)
        promote = main.append_basic_block("promote")
        b.cbranch(b.icmp_signed("==", count, i64(tiers.PROMOTE_AFTER)), promote, body)
        pb = ir.IRBuilder(promote)
        pb.call(extern(self.module, tiers.PROMOTE_SYMBOL, VOID, [PTR]), [calls])
        pb.branch(body)

    def fresh(self, prefix):
        n = self.names[prefix] = self.names.get(prefix, -1) + 1
        return f"{prefix}{n}"

    def entry_alloca(self, ty, count):
        return self.entry_builder.alloca(ty, size=count)

    def malloc(self, nbytes):
        """A 64-byte aligned buffer for the length of a call: a place in the program's scratch
        block (see `fnad_compiler.scratch`), taken on entry to main and given back at its end."""
        if self._scratch is None:
            slot = ir.GlobalVariable(self.module, PTR, "fnad_scratch_slot")
            slot.linkage, slot.initializer = "internal", ir.Constant(PTR, None)
            size = ir.GlobalVariable(self.module, I64, "fnad_scratch_size")  # known when main is done
            size.linkage, size.global_constant = "internal", True
            take = scratch.declare(self.module)[0]
            self._scratch = (slot, size, self.entry_builder.call(take, [slot, self.entry_builder.load(size)]))
        p = self.entry_builder.gep(self._scratch[2], [i64(self.scratch_bytes)], source_etype=I8)
        self.scratch_bytes += -(-max(nbytes, 1) // scratch.ALIGN) * scratch.ALIGN
        return p

    def site_slot(self, eqn):
        """The constant-table slot of callback equation `eqn`'s Site."""
        return self._site_slots[id(eqn)]

    def stop_block(self):
        """A block of main that returns at once (after giving the scratch block back)."""
        if self._stop is None:
            self._stop = self.b.function.append_basic_block("stop")
        return self._stop

    def _finish_scratch(self):
        """Set the scratch block's size; define `fnad_release`, which frees the block the program
        keeps between calls."""
        release = ir.IRBuilder(ir.Function(self.module, ir.FunctionType(VOID, []), RELEASE).append_basic_block())
        if self._scratch is not None:
            slot, size, _ = self._scratch
            size.initializer = i64(self.scratch_bytes)
            release.call(scratch.declare(self.module)[2], [slot, release.load(size)])
        release.ret_void()

    def _exit(self, b):
        """Return from main at `b`, giving the scratch block back."""
        if self._scratch is not None:
            slot, size, block = self._scratch
            b.call(scratch.declare(self.module)[1], [slot, block, b.load(size)])
        b.ret_void()


def _acyclic(function):
    """Whether the control flow of the llvmlite `function` has no loop (an iterative depth-first
    search for a back edge)."""
    successors = {}
    for block in function.blocks:
        term = block.terminator
        targets = [op for op in getattr(term, "operands", ()) if isinstance(op, ir.Block)]
        if isinstance(term, ir.SwitchInstr):
            targets += [term.default, *(b for _, b in term.cases)]
        successors[block] = targets
    state = {}  # block -> 1 while on the search path, 2 when done
    for root in function.blocks:
        if root in state:
            continue
        state[root], stack = 1, [(root, iter(successors[root]))]
        while stack:
            block, pending = stack[-1]
            nxt = next(pending, None)
            if nxt is None:
                state[block] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return False
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(successors.get(nxt, ()))))
    return True


def _work(eqn):
    """Elements a kernel rooted at `eqn` touches (its largest operand or result)."""
    return max(v.aval.size for v in [*eqn.invars, *eqn.outvars] if hasattr(v, "aval"))


def _check_supported(jaxpr):
    known = supported_primitives()
    for kind, vs in (("input", jaxpr.invars), ("constant", jaxpr.constvars)):
        for i, v in enumerate(vs):
            _check_dtype(v.aval, lambda: f"{kind} {i}", "pass it as float32 (x.astype(np.float32))")
    for e in jaxpr.eqns:
        for sub in _sub_jaxprs(e.params):
            _check_supported(jaxpr_of(sub))
        if e.primitive.name not in known:
            raise NotImplementedError(
                f"compiler: no lowering for primitive '{e.primitive.name}' (supported: {', '.join(sorted(known))})"
            )
        for v in list(e.invars) + list(e.outvars):
            _check_dtype(
                v.aval,
                lambda: f"'{e.primitive.name}'" + (" at {}:{}".format(*e.source[:2]) if e.source else ""),
                "compute in float32 there (e.g. fnp.sin(x.astype(np.float32)))",
            )
    for i, v in enumerate(jaxpr.outvars):
        _check_dtype(v.aval, lambda: f"output {i}", "return it as float32")


_HELD_DTYPES = set()  # dtypes compiled code was found to hold


def _check_dtype(aval, where, hint):
    """NotImplementedError naming `where()` (an input, or an op and its source line) when compiled
    code cannot hold `aval`'s dtype (float16, complex)."""
    if aval.dtype in _HELD_DTYPES:
        return
    try:
        reg_type(aval.dtype)
    except NotImplementedError as e:
        raise NotImplementedError(
            f"{e}; found at {where()} ({aval.str_short()}): {hint}, or call the function without jit"
        ) from None
    _HELD_DTYPES.add(aval.dtype)


def _sub_jaxprs(params):
    for value in params.values():
        for v in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(v, (Jaxpr, ClosedJaxpr)):
                yield v


class Program:
    """A lowered ClosedJaxpr: `main`, the llvmlite module defining `fnad_main`, which calls the
    exported functions of `units` (symbol -> LLVM IR text of a module defining it) through their
    slots; `glue_only` when its module is glue left unoptimised, for the fast code generator (see
    `_Lowering`); `launches`:
    how many loop nests (kernels) main runs, in units or in its own module; `quick_units`: the
    units that may start in the quick tier, symbol -> level (main then counts its calls; see
    `fnad_compiler.tiers`);
    `unroll`: whether LLVM should unroll main's loops. Not where main has units and no control-flow
    loops: its loops are then glue and the loops of opaque rules, and unrolling them bought nothing
    but code (GMM medium's main: 265 KB of optimised IR instead of 54 KB, compiled in 0.60 s
    instead of 0.16 s)."""

    def __init__(self, main, units, glue_only, launches, ties, quick_units=None, unroll=True):
        self.main, self.units, self.glue_only, self.launches, self.ties = main, units, glue_only, launches, ties
        self.quick_units, self.unroll = quick_units or {}, unroll

    def __str__(self):
        return "\n".join([str(self.main), *self.units.values()])


def lower(closed, donated=None, counted=False):
    """The `Program` of a ClosedJaxpr (see the module docstring). `donated`: input index -> output
    index whose value may be computed in that input's buffer (which the caller gives up). The
    Program's `ties` (output -> input) are the outputs that are: the caller passes such an
    output the input's pointer. `counted`: main counts its calls for `fnad_compiler.tiers` when
    it has quick units (not in code exported to C, which has no Python to call back)."""
    lw = _Lowering(closed, donated, counted)
    launches = lw.launches + lw.names.get("kernel", -1) + 1
    quick = lw.quick_units if counted else {}
    return Program(lw.module, lw.units, lw.glue_only, launches, lw.ties, quick, unroll=bool(lw.loops or not lw.units))


def ties(closed, donated):
    """`lower(closed, donated).ties`, from the top-level plan alone (for code loaded from a cache)."""
    return Scope.planned(closed.jaxpr, donated)[1].ties
