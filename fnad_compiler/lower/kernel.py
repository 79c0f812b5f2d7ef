"""Kernels: a loop nest (`Spec`: domain, reduced axes, element, result) emitted as its own function
`void kernel(ptr frame, i64 start, i64 end)` and launched from main, directly or through
`fnad_parallel_for` (`Kernel`); the reductions' identities and steps; strips of prefetching loops."""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np
from llvmlite import ir

from fnad.core import ShapedArray
from fnad_compiler import cache, engine, fusion, parallel
from fnad_compiler.llvm_ir import (
    I8,
    I32,
    I64,
    PTR,
    UNIT_FUNCTION,
    VOID,
    Loop,
    const,
    convert,
    dtype_kind,
    extern,
    i64,
    intrinsic,
    load_at,
    mem_type,
    reg_type,
    store_at,
    type_suffix,
    unit_text,
)
from fnad_compiler.lower.elemental import Elemental, affine_combination, identity_map, merge_axes, row_major, unit_row
from fnad_compiler.lower.rules import SCALAR_COST

_BLOCK = 4096  # elements per inner accumulation block
# structure -> (symbol, LLVM IR text) of the units emitted in this process (see `Kernel._define`)
_UNITS = cache.LRUCache(512)
_ARG_BLOCKS_MIN = 64  # reduced length from which argmax/argmin run as vectorisable block passes
_PAR_BLOCK = 1 << 16  # elements per partial result of a full reduction
_MAX_PARTIALS = 4096
_STRAIGHT_COMBINE = 16  # partial results up to which a total reduction combines them without a loop
_PAR_MIN = 1 << 17  # a kernel with fewer elements runs on one thread
PAR_GRAIN = 1 << 15  # elements per parallel chunk at least
_STREAM_MIN = 1 << 23  # bytes of an elementwise result from which it is written with streaming stores
_STREAM_BLOCK = 256  # elements per streamed block (a multiple of every vector width x unroll)
STRIP = 256  # elements per strip of a prefetching loop
_PREFETCH_AHEAD = 2048  # bytes ahead of a strip that its software prefetches fetch
PREFETCH_MIN = 1 << 20  # bytes a kernel reads from which its compute-heavy loops prefetch


def strip_loop(b, lo, hi, body, prefetch):
    """`for i in [lo, hi): body(i)` as strips of `STRIP` elements, each strip first issuing
    `prefetch(b, start)` (emitted once `body` has been, so it may prefetch what the body loads).

    Why: hardware prefetchers do not run far enough ahead of a compute-heavy loop streaming from
    DRAM, so its reads and its arithmetic do not overlap (docs/compiler.md gives the measurement).
    A prefetch inside the vectorised loop's body would stop LLVM from vectorising it, hence the
    strips."""
    with Loop(b, lo, hi, STRIP) as start:
        head = b.block
        stop = b.add(start, i64(STRIP))
        with Loop(b, start, b.select(b.icmp_signed("<", stop, hi), stop, hi)) as i:
            body(i)
        with b.goto_block(head):
            prefetch(b, start)


def prefetch_lines(b, pointer, index, itemsize, count):
    """Software prefetches (for reading, into all cache levels) of the cache lines holding elements
    [index, index + count) of `itemsize` bytes at `pointer`, `_PREFETCH_AHEAD` bytes further on.
    Addresses past the buffer are harmless (a prefetch never faults; the GEP is not inbounds)."""
    fn = extern(b.module, "llvm.prefetch.p0", VOID, [PTR, I32, I32, I32])
    base = b.gep(pointer, [b.mul(index, i64(itemsize))], source_etype=I8)
    for offset in range(_PREFETCH_AHEAD, _PREFETCH_AHEAD + max(count * itemsize, 64), 64):
        b.call(
            fn,
            [
                b.gep(base, [i64(offset)], source_etype=I8),
                ir.Constant(I32, 0),
                ir.Constant(I32, 3),
                ir.Constant(I32, 1),
            ],
        )


@functools.cache
def _x86_64():
    """Whether the host is x86-64 (whose vectorised non-temporal stores `Kernel._streamed` uses)."""
    return engine.target_machine().triple.startswith("x86_64")


_REDUCE_OPS = {
    "reduce_sum": "sum",
    "reduce_prod": "prod",
    "reduce_max": "max",
    "reduce_min": "min",
    "reduce_and": "and",
    "reduce_or": "or",
}


def _lanes(width, n):
    """The partial results of a float sum or product along an axis of `n` elements held in
    registers of `width` bytes: 128 bytes of them (four AVX2 vectors, whose additions overlap),
    fewer for a shorter axis (a power of two, at most n)."""
    k = 128 // width
    return max(1, min(k, 1 << (max(n, 1).bit_length() - 1)))


def reduce_identity(op, dtype):
    dtype, k = np.dtype(dtype), dtype_kind(dtype)
    if op in ("sum", "or") or (op == "max" and k == "b"):
        return const(dtype, 0)
    if op in ("prod", "and") or (op == "min" and k == "b"):
        return const(dtype, 1)
    if k == "f":
        return const(dtype, -np.inf if op == "max" else np.inf)
    info = np.iinfo(dtype)
    return const(dtype, info.min if op == "max" else info.max)


def reduce_step(b, op, dtype, acc, x, reassoc=False):
    k = dtype_kind(dtype)
    if k == "b":
        return b.or_(acc, x) if op in ("sum", "or", "max") else b.and_(acc, x)
    if op in ("sum", "prod"):
        if k == "f":
            flags = ("reassoc",) if reassoc else ()
            return b.fadd(acc, x, flags=flags) if op == "sum" else b.fmul(acc, x, flags=flags)
        return b.add(acc, x) if op == "sum" else b.mul(acc, x)
    if op in ("and", "or"):
        return b.and_(acc, x) if op == "and" else b.or_(acc, x)
    if k == "f":
        return intrinsic(b, f"llvm.{'maximum' if op == 'max' else 'minimum'}.{type_suffix(x.type)}", x.type, [acc, x])
    cmp = b.icmp_signed if k == "i" else b.icmp_unsigned
    return b.select(cmp(">" if op == "max" else "<", x, acc), x, acc)


class KeyExtremes:
    """The float max or min of many elements as two integer reductions, which LLVM vectorises to
    one integer max and one min per vector (`llvm.maximum` becomes a blend, a max, a NaN test and a
    select per vector, chained through the accumulator). Each element's bits become a signed integer
    key ordered as the floats are (-0.0 below +0.0), NaNs outside the infinities: positive ones
    above the key of +inf, negative ones below that of -inf. The largest and smallest key then give
    the max, the min, and whether a NaN was seen, as `reduce_step` (NaN-propagating) would.
    `hi`, `lo` are the accumulators (allocas): `reset` them, `add` elements, `value` the result."""

    def __init__(self, alloca, op, dtype):
        self.op, self.dtype = op, np.dtype(dtype)
        self.width = 8 * self.dtype.itemsize
        self.ty = ir.IntType(self.width)
        self.hi, self.lo = alloca(self.ty), alloca(self.ty)

    def _key_of(self, value):
        bits = int(np.array(value, self.dtype).view(f"i{self.dtype.itemsize}"))
        return ir.Constant(self.ty, bits ^ ((bits >> (self.width - 1)) & ((1 << (self.width - 1)) - 1)))

    def key(self, b, x):
        """x's key (the map is its own inverse, on integers bitcast back)."""
        bits = b.bitcast(x, self.ty) if x.type != self.ty else x
        return b.xor(bits, b.lshr(b.ashr(bits, ir.Constant(self.ty, self.width - 1)), ir.Constant(self.ty, 1)))

    def reset(self, b):
        b.store(self._key_of(-np.inf), self.hi)
        b.store(self._key_of(np.inf), self.lo)

    def add(self, b, x):
        k = self.key(b, x)
        suffix = type_suffix(self.ty)
        b.store(intrinsic(b, f"llvm.smax.{suffix}", self.ty, [b.load(self.hi, typ=self.ty), k]), self.hi)
        b.store(intrinsic(b, f"llvm.smin.{suffix}", self.ty, [b.load(self.lo, typ=self.ty), k]), self.lo)

    def value(self, b):
        hi, lo = b.load(self.hi, typ=self.ty), b.load(self.lo, typ=self.ty)
        nan = b.or_(b.icmp_signed(">", hi, self._key_of(np.inf)), b.icmp_signed("<", lo, self._key_of(-np.inf)))
        found = b.bitcast(self.key(b, hi if self.op == "max" else lo), reg_type(self.dtype))
        return b.select(nan, const(self.dtype, np.nan), found)


def _arg_better(b, is_max, dtype, x, best):
    k = dtype_kind(dtype)
    op = ">" if is_max else "<"
    if k == "f":
        nan_first = b.and_(b.fcmp_unordered("uno", x, x), b.fcmp_ordered("ord", best, best))
        return b.or_(b.fcmp_ordered(op, x, best), nan_first)
    return (b.icmp_signed if k == "i" else b.icmp_unsigned)(op, x, best)


def _arg_identity(is_max, dtype):
    k = dtype_kind(dtype)
    if k == "f":
        return const(dtype, -np.inf if is_max else np.inf)
    if k == "b":
        return const(dtype, not is_max)
    info = np.iinfo(dtype)
    return const(dtype, info.min if is_max else info.max)


class Spec:
    """A loop nest: `domain` sizes and `reduced` flags; `element(em)` gives the value at the
    domain index (em.value(...) with matrices over the domain); `op` None stores it to `out`,
    else reduces with op ('sum', ..., 'argmax', 'argmin') into `out`. `structural`: `element`
    asks only for `em.value`s of the `producer` graph, so the dry pass's trace determines it."""

    def __init__(
        self,
        domain,
        reduced,
        element,
        out,
        op,
        dtype,
        producer,
        cost=1,
        out_form=None,
        body=None,
        stores=(),
        structural=False,
    ):
        self.structural = structural
        self.stores = list(stores)  # more results computed inside, stored at the domain index
        self.domain, self.reduced, self.element, self.out_form = tuple(domain), tuple(reduced), element, out_form
        self.body = body  # body(kernel): replaces the store of an op-less nest (serial; e.g. scatter)
        self.out, self.op, self.dtype, self.producer, self.cost = out, op, np.dtype(dtype), producer, cost


def kernel_spec(step):
    """The loop nest of a fusion step (elemental root or reduction)."""
    k, root = step.kernel, step.eqn
    cost = 1 + sum(SCALAR_COST.get(m.primitive.name, 0) for m in k.members)
    name, out = root.primitive.name, root.outvars[0]
    if step.kind == fusion.ELEMENTAL:
        producer = dict(k.producer)
        producer[out] = root
        n = out.aval.ndim
        return Spec(
            out.aval.shape,
            (False,) * n,
            lambda em: em.value(out, identity_map(n)),
            out,
            None,
            out.aval.dtype,
            producer,
            cost,
            stores=k.stores,
            structural=True,
        )
    x = root.invars[0]
    shape = x.aval.shape
    if name in ("argmax", "argmin"):
        axis = root.params["axis"]
        order = [d for d in range(len(shape)) if d != axis] + [axis]
        M = tuple(unit_row(order.index(i), len(shape)) for i in range(len(shape)))
        return Spec(
            [shape[d] for d in order],
            [d == axis for d in order],
            lambda em: em.value(x, M),
            out,
            name,
            x.aval.dtype,
            k.producer,
            cost,
            structural=True,
        )
    axes = root.params["axes"]
    n = len(shape)
    return Spec(
        shape,
        [d in axes for d in range(n)],
        lambda em: em.value(x, identity_map(n)),
        out,
        _REDUCE_OPS[name],
        out.aval.dtype,
        k.producer,
        cost,
        stores=k.stores,
        structural=True,
    )


class Kernel:
    """Emits one `Spec` as `void kernel(ptr frame, i64 start, i64 end)` and its launch in main."""

    def __init__(self, lowering, spec):
        self.lw, self.spec = lowering, spec
        dry = self.dry = Elemental(spec.producer, spec.domain, dry=True)
        self.dry_values = self._computed(dry)
        self.cuts = {axis: sorted(c) for axis, c in dry.cuts.items() if c}
        kept = [s for s, r in zip(spec.domain, spec.reduced) if not r]
        out_strides = iter(row_major(kept))
        out_forms = [spec.out_form or tuple(0 if r else next(out_strides) for r in spec.reduced) + (0,)]
        self.domain_form = affine_combination(identity_map(len(spec.domain)), row_major(spec.domain))
        if spec.stores:
            out_forms.append(self.domain_form)
        self.groups = merge_axes(spec.domain, spec.reduced, dry.forms + out_forms, self.cuts)
        self.read_forms = dry.forms
        self.sizes = [math.prod(spec.domain[d] for d in g) for g in self.groups]
        self.red = [spec.reduced[g[0]] for g in self.groups]
        self.out_form = out_forms[0]
        self.operands = list(dry.leaves)
        self.buffers = self.operands + [spec.out] + spec.stores
        self.size = math.prod(spec.domain)
        self.total = spec.op in _REDUCE_OPS.values() and all(self.red)  # every axis reduced
        # A reduction of rows into one contiguous kept axis runs as fixed blocks of rows, each into a
        # partial row of its own, combined in order (see `_row_blocks`).
        last = self.groups[-1][-1] if self.groups else None
        self.row_blocks = (
            spec.op in _REDUCE_OPS.values()
            and not self.total
            and len(self.groups) == 2
            and self.red[0]
            and not self.red[1]
            and spec.body is None
            and not spec.stores
            and not self.cuts
            and self.out_form[last] == 1
            and not self.out_form[-1]
            and self.size >= _PAR_MIN
            and self.sizes[0] > max(1, _PAR_BLOCK // self.sizes[1])
        )
        # Compute-heavy kernels reading more than the caches hold prefetch (see `strip_loop`).
        self.prefetches = spec.cost > 1 and sum(v.aval.size * v.aval.dtype.itemsize for v in dry.leaves) >= PREFETCH_MIN
        self.shifts = self._pointer_shifts() if spec.structural and spec.body is None else {}

    def _pointer_shifts(self):
        """Leaf -> elements by which main advances the leaf's pointer, so that the kernel reads it
        at forms without that constant: kernels reading different parts of arrays alike (`x[3]`,
        `x[4]`, the steps of an unrolled chain) are then one unit. A leaf is shifted when every
        read of it is a plain affine load, its pointer is not shared with another buffer of the
        kernel (shared slots stay one `noalias` pointer), and the shifted pointer is the address of
        an element (the least element any read of it touches over the domain)."""
        bases = [self.lw.pointer(v) for v in self.buffers]
        lowest, plain = {}, {}
        for step in self.dry.trace:
            if step[0] == "load":
                _, leaf, _, form, is_plain = step
                least = form[-1] + sum(min(0, c * (n - 1)) for c, n in zip(form, self.spec.domain))
                lowest[leaf] = min(lowest.get(leaf, least), least)
                plain[leaf] = plain.get(leaf, True) and is_plain
        shifts = {}
        for leaf, least in lowest.items():
            v = self.dry.leaves[leaf]
            if plain[leaf] and 0 < least < v.aval.size and sum(p is bases[leaf] for p in bases) == 1:
                shifts[v] = least
        return shifts

    # -- launch (in main) --------------------------------------------------------------------

    def launch(self):
        lw, spec = self.lw, self.spec
        b = lw.b
        if self.size == 0 and spec.op is None:
            return
        extra = []
        if self.total:
            inner = math.prod(self.sizes[1:])
            c0 = self.sizes[0] if self.sizes else 1
            self.b0 = max(1, _PAR_BLOCK // max(inner, 1), -(-c0 // _MAX_PARTIALS))
            self.nblocks = max(1, -(-c0 // self.b0))
            extra = [self._partials(lambda: lw.entry_alloca(mem_type(spec.dtype), self.nblocks))]
            n0, threaded, grain = self.nblocks, self.nblocks > 1 and self.size >= _PAR_MIN, 1
        elif self.row_blocks:
            self.b0 = max(1, _PAR_BLOCK // self.sizes[1])
            self.nblocks = -(-self.sizes[0] // self.b0)
            extra = [self._partials(lambda: lw.malloc(self.nblocks * self.sizes[1] * spec.dtype.itemsize))]
            n0, threaded, grain = self.nblocks, True, 1
        else:
            n0 = self.sizes[0] if self.sizes else 1
            rmw = spec.op is not None and any(self.red[: self._suffix_start()])
            threaded = (
                not rmw
                and spec.body is None
                and n0 >= 2
                and self.size * spec.cost >= _PAR_MIN
                and (not self.red or not self.red[0])
            )
            grain = max(1, -(-n0 * PAR_GRAIN // max(self.size, 1)))
        # One frame slot per distinct pointer: a result written over an operand it reads at the same
        # element is then one pointer inside the kernel too, which LLVM vectorises without a
        # runtime overlap check (that would fail and take the scalar loop).
        pointers, slot_of = [], []
        shifted = [
            b.gep(lw.pointer(v), [i64(self.shifts[v])], source_etype=mem_type(v.aval.dtype))
            if v in self.shifts
            else lw.pointer(v)
            for v in self.buffers
        ]
        for p in shifted + extra:
            if not any(p is q for q in pointers):
                pointers.append(p)
            slot_of.append(next(i for i, q in enumerate(pointers) if p is q))
        fn = self._define(extra, slot_of)
        frame = lw.entry_alloca(PTR, len(pointers))
        for i, p in enumerate(pointers):
            b.store(p, b.gep(frame, [i64(i)], source_etype=PTR))
        if threaded:
            b.call(parallel.declare_parallel_for(lw.module), [fn, frame, i64(n0), i64(grain)])
        else:
            b.call(fn, [frame, i64(0), i64(n0)])
        if extra and extra[0] is not lw.pointer(spec.out):
            (self._combine_partials if self.total else self._combine_partial_rows)(extra[0])

    def _partials(self, allocate):
        """Where the blocks of a total or row-block reduction put their partial results: `allocate()`,
        or with one block the result itself. A block starts from the identity, so its partial
        combined with the identity is itself, bit for bit: the combining loop is left out, and main
        stays free of loops (see `_Lowering`'s glue), unless the result shares memory with an
        operand, which the block's identity fill would overwrite before reading it."""
        out = self.lw.pointer(self.spec.out)
        if self.nblocks == 1 and not any(out is self.lw.pointer(v) for v in self.operands):
            return out
        return allocate()

    def _combine_partial_rows(self, partials):
        b, spec = self.lw.b, self.spec
        cols, out = self.sizes[1], self.lw.pointer(spec.out)
        if self.nblocks * cols <= _PAR_BLOCK:
            # A reduction of the (nblocks, cols) partial rows, in order, small enough for one block:
            # a kernel (a unit where the program has them) instead of a loop in main, which then
            # stays glue (see `fnad_compiler.lower`).
            rows = self.lw.view(ShapedArray((self.nblocks, cols), spec.dtype), partials)
            result = self.lw.view(ShapedArray((cols,), spec.dtype), out)
            element = lambda em: em.value(rows, identity_map(2))
            Kernel(
                self.lw,
                Spec((self.nblocks, cols), (True, False), element, result, spec.op, spec.dtype, {}, structural=True),
            ).launch()
            return
        with Loop(b, i64(0), i64(cols)) as j:
            store_at(b, reduce_identity(spec.op, spec.dtype), out, j, spec.dtype)
        with Loop(b, i64(0), i64(self.nblocks)) as blk:
            base = b.mul(blk, i64(cols))
            with Loop(b, i64(0), i64(cols)) as j:
                part = load_at(b, partials, b.add(base, j), spec.dtype)
                total = reduce_step(b, spec.op, spec.dtype, load_at(b, out, j, spec.dtype), part)
                store_at(b, total, out, j, spec.dtype)

    def _combine_partials(self, partials):
        b, spec = self.lw.b, self.spec
        if self.nblocks <= _STRAIGHT_COMBINE:  # no loop in main, which then stays glue
            acc = reduce_identity(spec.op, spec.dtype)
            for i in range(self.nblocks):
                acc = reduce_step(b, spec.op, spec.dtype, acc, load_at(b, partials, i64(i), spec.dtype))
            store_at(b, acc, self.lw.pointer(spec.out), i64(0), spec.dtype)
            return
        acc = self.lw.entry_alloca(reg_type(spec.dtype), 1)
        b.store(reduce_identity(spec.op, spec.dtype), acc)
        with Loop(b, i64(0), i64(self.nblocks)) as i:
            b.store(
                reduce_step(
                    b, spec.op, spec.dtype, b.load(acc, typ=reg_type(spec.dtype)), load_at(b, partials, i, spec.dtype)
                ),
                acc,
            )
        store_at(b, b.load(acc, typ=reg_type(spec.dtype)), self.lw.pointer(spec.out), i64(0), spec.dtype)

    # -- the kernel function -----------------------------------------------------------------

    def _suffix_start(self):
        r0 = len(self.red)
        while r0 > 0 and self.red[r0 - 1]:
            r0 -= 1
        return r0

    def _define(self, extra, slot_of):
        """The kernel function, declared in main. In a program with units, a kernel that runs once
        per call is a unit of its own (see `fnad_compiler.lower`), emitted once per process for each
        `structure`; one inside a loop stays in main, where LLVM may inline it, and so does one whose
        custom body calls functions of main's module."""
        lw, spec = self.lw, self.spec
        if lw.loop_depth or spec.body is not None or not lw.makes_units:
            fn = ir.Function(lw.module, parallel.CHUNK_TYPE, lw.fresh("kernel"))
            fn.linkage = "internal"
            self._emit(fn, slot_of)
            return fn
        key = self.structure(slot_of, len(extra))
        unit = _UNITS.get(key) if key is not None else None
        if unit is None:
            fn = ir.Function(ir.Module(name="fnad_unit"), parallel.CHUNK_TYPE, UNIT_FUNCTION)
            self._emit(fn, slot_of)
            unit = unit_text(fn.module)
            if key is not None:
                _UNITS.put(key, unit)
        return lw.add_unit(*unit, parallel.CHUNK_TYPE, self.size)

    def structure(self, slot_of, n_extra):
        """A key determining this kernel's function completely, or None if it has none (a custom
        element or body, or params without a value key): the dry pass's trace, the spec, the frame
        layout and the decisions taken from them."""
        spec = self.spec
        if not (spec.structural and self.dry.exact):
            return None
        return (
            tuple(self._shifted(step) for step in self.dry.trace),
            self.dry_values[0],
            tuple(self.dry_values[1]),
            spec.domain,
            spec.reduced,
            spec.op,
            spec.dtype.str,
            spec.cost,
            spec.out_form,
            tuple((v.aval.shape, v.aval.dtype) for v in self.buffers),
            tuple(slot_of),
            n_extra,
            tuple(map(tuple, self.groups)),
            tuple((axis, tuple(c)) for axis, c in sorted(self.cuts.items())),
            (self.total, self.row_blocks, self.prefetches, getattr(self, "b0", None), getattr(self, "nblocks", None)),
        )

    def _shifted(self, step):
        """A trace step with its load form relative to the leaf's shifted pointer."""
        if step[0] != "load" or self.dry.leaves[step[1]] not in self.shifts:
            return step
        form = step[3]
        return (*step[:3], form[:-1] + (form[-1] - self.shifts[self.dry.leaves[step[1]]],), step[4])

    def _emit(self, fn, slot_of):
        """Define `fn` as the kernel: it loads the buffers' pointers from its frame and calls the
        loop nest, an inlined function of them. Its pointer parameters are `noalias`: distinct frame
        slots are distinct buffers (a result computed over an operand shares the operand's slot), so
        LLVM vectorises without checking for overlaps at run time, in less code and less time."""
        spec = self.spec
        n = max(slot_of) + 1
        nest = ir.Function(fn.module, ir.FunctionType(VOID, [PTR] * n + [I64, I64]), f"{fn.name}.nest")
        nest.linkage = "internal"
        nest.attributes.add("alwaysinline")
        for f in (fn, nest):
            f.attributes.add("nounwind")
            # 512-bit vectors where the CPU has them (LLVM prefers 256 on znver4/Skylake-X): the
            # vecmath-heavy loops run ~1.6x faster, memory-bound ones are unchanged. llvmlite does
            # not know string attributes, hence the set's own add.
            set.add(f.attributes, '"prefer-vector-width"="512"')
        for a in nest.args[:n]:
            a.add_attribute("noalias")
        frame = fn.args[0]
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        loaded = [b.load(b.gep(frame, [i64(i)], source_etype=PTR), typ=PTR) for i in range(n)]
        b.call(nest, [*loaded, *fn.args[1:]])
        b.ret_void()
        fn = nest
        start, end = fn.args[n:]
        self.alloca_builder = ir.IRBuilder(fn.append_basic_block("allocas"))
        b = self.b = ir.IRBuilder(fn.append_basic_block("entry"))
        slots = [fn.args[i] for i in slot_of]
        em = self.em = Elemental(spec.producer, spec.domain, dry=False)
        em.b, em.pointers, em.shifts = b, dict(zip(self.buffers, slots)), self.shifts
        self.out_ptr = em.pointers[spec.out]
        self.index = [None] * len(self.groups)
        if spec.op is None and self._streams():
            self._streamed(start, end)
        elif spec.op is None:
            self._nest(0, start, end, (lambda: spec.body(self)) if spec.body else self._store_element)
        elif spec.op.startswith("scan"):
            self._nest(0, start, end, self._scan_body, stop=len(self.groups) - (1 if self.red and self.red[-1] else 0))
        elif spec.op in ("argmax", "argmin"):
            self._nest(0, start, end, self._arg_body, stop=len(self.groups) - (1 if self.red and self.red[-1] else 0))
        elif self.total:
            self._total(slots[-1], start, end)
        elif self.row_blocks:
            self._row_blocks(slots[-1], start, end)
        else:
            r0 = self._suffix_start()
            if any(self.red[:r0]):
                self._fill_identity(spec.out.aval.size)
                self._nest(0, i64(0), i64(self.sizes[0]), lambda: self._suffix(r0, rmw=True), stop=r0)
            else:
                self._nest(0, start, end, lambda: self._suffix(r0, rmw=False), stop=r0)
        b.ret_void()
        self.alloca_builder.branch(fn.basic_blocks[1])

    def _alloca(self, ty):
        return self.alloca_builder.alloca(ty)

    def _set_index(self, level, i):
        self.index[level] = i
        self.em.group_index = [(g, idx) for g, idx in zip(self.groups, self.index) if idx is not None]
        self.em.loop_index = [(g[-1], idx) for g, idx in self.em.group_index]
        self.em.memo = {}

    def _nest(self, level, start, end, body, stop=None):
        """Loops over merged axes level..stop-1 (the first over [start, end) when level == 0), then body().
        A cut axis gets one loop per segment between its cuts (pads inside are then operand or fill)."""
        stop = len(self.groups) if stop is None else stop
        if level == stop:
            body()
            return
        axis, b = self.groups[level][0], self.b
        bounds = [0] + self.cuts.get(axis, []) + [self.sizes[level]]
        for s0, s1 in itertools.pairwise(bounds):
            if axis in self.cuts:
                self.em.segment[axis] = (s0, s1)
            lo, hi = i64(s0), i64(s1)
            if level == 0 and len(bounds) > 2:
                lo = b.select(b.icmp_signed(">", start, lo), start, lo)
                hi = b.select(b.icmp_signed("<", end, hi), end, hi)
            elif level == 0:
                lo, hi = start, end
            if level == len(self.groups) - 1 and len(bounds) == 2:
                self._loop(level, lo, hi, lambda: self._nest(level + 1, start, end, body, stop))
                continue
            # A one-element segment (a complex pair's re or im) is straight-line code, not a one-trip
            # loop: LLVM unswitched such loops on a condition they share (exp(z)'s cos(im) and sin(im)
            # both test |im| for their slow path) before unrolling them, leaving the re store predicated
            # in two copies, and the loop over the elements unvectorised (complex exp ran 5x slower).
            if level > 0 and s1 - s0 == 1:
                self._set_index(level, lo)
                self._nest(level + 1, start, end, body, stop)
                continue
            with Loop(b, lo, hi) as i:
                self._set_index(level, i)
                self._nest(level + 1, start, end, body, stop)
        self.em.segment.pop(axis, None)  # code emitted after these loops is in no segment

    def _loop(self, level, lo, hi, body):
        """The innermost loop, over merged axis `level` in [lo, hi): strips with software prefetches of
        its unit-stride loads where the kernel prefetches and the axis is long (see `strip_loop`)."""
        if not self._strips(level):
            with Loop(self.b, lo, hi) as i:
                self._set_index(level, i)
                body()
            return
        em, last = self.em, self.groups[level][-1]
        loads = []

        def strip_body(i):
            self._set_index(level, i)
            em.recorded = loads
            body()
            em.recorded = None

        def prefetch(b, start):
            self._set_index(level, start)
            for v, form in loads:
                if form[last] == 1:
                    prefetch_lines(b, em.pointers[v], em.offset(form), v.aval.dtype.itemsize, STRIP)

        strip_loop(self.b, lo, hi, strip_body, prefetch)

    def _strips(self, level):
        """Whether the innermost loop over merged axis `level` runs in prefetching strips."""
        return self.prefetches and self.sizes[level] >= 2 * STRIP

    def _computed(self, em):
        """Every value the kernel computes at the domain index: the root's element, and each
        member it also stores. The dry pass and the emitted loops both evaluate exactly this, so the
        loop axes are merged and split at pad boundaries by the forms the loops really read."""
        n = len(self.spec.domain)
        return self.spec.element(em), [em.value(v, identity_map(n)) for v in self.spec.stores]

    def _element(self):
        value, stored = self._computed(self.em)
        for v, x in zip(self.spec.stores, stored):
            store_at(self.b, x, self.em.pointers[v], self.em.offset(self.domain_form), v.aval.dtype)
        return value

    def _store_element(self):
        store_at(self.b, self._element(), self.out_ptr, self._out_offset(), self.spec.dtype)

    def _out_offset(self):
        return self.em.offset(self.out_form)

    def _streams(self):
        """Whether the result is written with non-temporal stores: a flat elementwise result larger
        than the caches, whose cache lines would otherwise be read before being overwritten (4- and
        8-byte elements: LLVM vectorises those to streaming stores on x86-64). Only for kernels
        without transcendental functions: measured on a 10^7-float32 result, streaming made
        `x * k` 1.3x faster but `exp(x) * k` 1.5x slower."""
        spec = self.spec
        return (
            spec.body is None
            and spec.cost == 1
            and spec.dtype.itemsize >= 4
            and not spec.stores
            and len(self.groups) == 1
            and not self.red[0]
            and not self.cuts
            and self.out_form == self.domain_form
            and self.size * spec.dtype.itemsize >= _STREAM_MIN
            and _x86_64()
        )

    def _streamed(self, start, end):
        """[start, end) of a flat elementwise result in three loops: plain stores up to the first
        64-byte boundary of the output; then whole blocks of `_STREAM_BLOCK` elements with
        non-temporal stores through a pointer LLVM knows is 64-byte aligned; then the rest with plain
        stores, and a full fence (x86's streaming stores are weakly ordered) so the streamed results
        are visible to the thread that joins this chunk.
        The streamed stores claim 64-byte alignment, which LLVM requires to vectorise them: true of
        every vector store, and the scalar remainder LLVM keeps for that loop never runs, since the
        trip count is a multiple of any vector width times unroll it picks."""
        b, spec = self.b, self.spec
        size, mt = spec.dtype.itemsize, mem_type(spec.dtype)
        first = b.ptrtoint(b.gep(self.out_ptr, [start], inbounds=True, source_etype=mt), I64)
        lead = b.udiv(b.and_(b.sub(i64(0), first), i64(63)), i64(size))
        aligned = b.icmp_unsigned("==", b.and_(first, i64(size - 1)), i64(0))
        lo = b.add(start, b.select(aligned, lead, b.sub(end, start)))
        lo = b.select(b.icmp_signed("<", lo, end), lo, end)
        hi = b.add(lo, b.and_(b.sub(end, lo), i64(-_STREAM_BLOCK)))
        self._nest(0, start, lo, self._store_element)
        base = intrinsic(
            b, "llvm.ptrmask.p0.i64", PTR, [b.gep(self.out_ptr, [lo], inbounds=True, source_etype=mt), i64(-64)]
        )
        streaming = self.b.module.add_metadata([ir.Constant(I32, 1)])
        with Loop(b, lo, hi) as i:
            self._set_index(0, i)
            value = self._element()
            value = b.zext(value, I8) if spec.dtype.kind == "b" else value
            store = b.store(value, b.gep(base, [b.sub(i, lo)], inbounds=True, source_etype=mt), align=64)
            store.set_metadata("nontemporal", streaming)
        self._nest(0, hi, end, self._store_element)
        b.fence("seq_cst")

    def _fill_identity(self, n):
        """The first n elements at `out_ptr` set to the reduction's identity."""
        b, spec = self.b, self.spec
        with Loop(b, i64(0), i64(n)) as i:
            store_at(b, reduce_identity(spec.op, spec.dtype), self.out_ptr, i, spec.dtype)

    def _suffix(self, r0, rmw, lo=None, hi=None):
        """Accumulate the reduced merged axes r0.. into a register, then store/combine into out."""
        b, spec = self.b, self.spec
        ty = reg_type(spec.dtype)
        total = self._alloca(ty)
        b.store(reduce_identity(spec.op, spec.dtype), total)
        self._accumulate(r0, total, lo, hi)
        value = b.load(total, typ=ty)
        if rmw:
            off = self._out_offset()
            value = reduce_step(b, spec.op, spec.dtype, load_at(b, self.out_ptr, off, spec.dtype), value)
            store_at(b, value, self.out_ptr, off, spec.dtype)
            return None
        if lo is None:
            store_at(b, value, self.out_ptr, self._out_offset(), spec.dtype)
        return value

    def _accumulate(self, level, total, lo=None, hi=None):
        b, spec = self.b, self.spec
        ty = reg_type(spec.dtype)
        n = len(self.groups)
        if level == n:
            b.store(reduce_step(b, spec.op, spec.dtype, b.load(total, typ=ty), self._element()), total)
            return
        lo = i64(0) if lo is None else lo
        hi = i64(self.sizes[level]) if hi is None else hi
        if level < n - 1:
            with Loop(b, lo, hi) as i:
                self._set_index(level, i)
                self._accumulate(level + 1, total)
            return
        if spec.op in ("sum", "prod") and dtype_kind(spec.dtype) == "f" and not self._strips(level):
            self._lane_accumulate(level, total, lo, hi)
            return
        if spec.op in ("max", "min") and dtype_kind(spec.dtype) == "f":
            block = KeyExtremes(self._alloca, spec.op, spec.dtype)
            reset, add, value = block.reset, block.add, block.value
        else:
            block = self._alloca(ty)
            reset = lambda b: b.store(reduce_identity(spec.op, spec.dtype), block)
            add = lambda b, x: b.store(
                reduce_step(b, spec.op, spec.dtype, b.load(block, typ=ty), x, reassoc=True), block
            )
            value = lambda b: b.load(block, typ=ty)
        with Loop(b, lo, hi, _BLOCK) as start:
            stop = b.add(start, i64(_BLOCK))
            stop = b.select(b.icmp_signed("<", stop, hi), stop, hi)
            reset(b)
            self._loop(level, start, stop, lambda: add(b, self._element()))
            b.store(reduce_step(b, spec.op, spec.dtype, b.load(total, typ=ty), value(b)), total)

    def _lane_accumulate(self, level, total, lo, hi):
        """A float sum or product over the innermost merged axis `level` in [lo, hi), into `total`:
        each block of `_BLOCK` elements is accumulated in `k` partial results (lanes), element i of
        the block into lane i mod k, which are then combined pairwise (lane j with lane j + k/2, ...)
        and into `total` in order.

        The order is in the IR rather than left to LLVM (a sequential sum with `reassoc`, which the
        vectoriser splits into as many partial sums as its vector width and interleaving pick): so
        code at every optimisation level adds alike, bit for bit, and quick code (`tiers`) need not
        be vectorised to be as accurate as full code. The lanes are a small array the loop over
        one row of k elements updates: full code vectorises that loop and keeps the lanes in
        vector registers, as fast as the reassociated loop: 0.93-1.05x its time on sums of 1e3-1e7
        float32 and float64 elements, of x*y, of exp, sin, log and tanh, over rows of 10-1000 and
        products (both compiled in one process, timed interleaved).

        Not in prefetching strips (`_strips`), which keep the reassociated form."""
        b, spec = self.b, self.spec
        ty = reg_type(spec.dtype)
        width = 8 if isinstance(ty, ir.DoubleType) else 4
        k = _lanes(width, self.sizes[level])
        vector = ir.VectorType(ty, k)
        lanes = self.alloca_builder.alloca(ty, size=k, name=engine.LANES)

        def add(j):
            lane = b.gep(lanes, [j], inbounds=True, source_etype=ty)
            b.store(reduce_step(b, spec.op, spec.dtype, b.load(lane, typ=ty), self._element()), lane)

        with Loop(b, lo, hi, _BLOCK) as start:
            stop = b.add(start, i64(_BLOCK))
            stop = b.select(b.icmp_signed("<", stop, hi), stop, hi)
            whole = b.bitcast(lanes, vector.as_pointer())  # the lanes as one vector, aligned as a lane
            b.store(ir.Constant(vector, [reduce_identity(spec.op, spec.dtype)] * k), whole, align=width)
            rows_end = b.add(start, b.and_(b.sub(stop, start), i64(-k)))
            with Loop(b, start, rows_end, k) as row, Loop(b, i64(0), i64(k)) as j:
                self._set_index(level, b.add(row, j))
                add(j)
            with Loop(b, rows_end, stop) as i:
                self._set_index(level, i)
                add(b.sub(i, rows_end))
            value = b.load(whole, typ=vector, align=width)
            while k > 1:
                k //= 2
                low = b.shuffle_vector(value, value, ir.Constant(ir.VectorType(I32, k), list(range(k))))
                high = b.shuffle_vector(value, value, ir.Constant(ir.VectorType(I32, k), list(range(k, 2 * k))))
                value = reduce_step(b, spec.op, spec.dtype, low, high)
            value = b.extract_element(value, ir.Constant(I32, 0))
            b.store(reduce_step(b, spec.op, spec.dtype, b.load(total, typ=ty), value), total)

    def _row_blocks(self, partials, start, end):
        """Row blocks [start, end) of a reduction over rows: block k reduces its `b0` rows, in order,
        into partial row k (the partial rows are combined in order after the loop, so results
        depend on the shape only, never on the thread count)."""
        b, spec = self.b, self.spec
        rows, cols = self.sizes
        with Loop(b, start, end) as blk:
            self.out_ptr = b.gep(partials, [b.mul(blk, i64(cols))], source_etype=mem_type(spec.dtype))
            self._fill_identity(cols)
            lo = b.mul(blk, i64(self.b0))
            hi = b.add(lo, i64(self.b0))
            hi = b.select(b.icmp_signed("<", hi, i64(rows)), hi, i64(rows))
            with Loop(b, lo, hi) as i:
                self._set_index(0, i)
                self._nest(1, start, end, lambda: self._suffix(2, rmw=True), stop=2)

    def _total(self, partials, start, end):
        b, spec = self.b, self.spec
        with Loop(b, start, end) as blk:
            if not self.groups:
                value = self._suffix(0, rmw=False, lo=i64(0), hi=i64(1))
            else:
                lo = b.mul(blk, i64(self.b0))
                hi = b.add(lo, i64(self.b0))
                hi = b.select(b.icmp_signed("<", hi, i64(self.sizes[0])), hi, i64(self.sizes[0]))
                value = self._suffix(0, rmw=False, lo=lo, hi=hi)
            store_at(b, value, partials, blk, spec.dtype)

    def _scan_body(self):
        """Running combination along the last (scanned) axis, each prefix stored."""
        b, spec = self.b, self.spec
        op, ty = spec.op.split(":")[1], reg_type(spec.dtype)
        acc = self._alloca(ty)
        b.store(reduce_identity(op, spec.dtype), acc)

        def step():
            value = reduce_step(b, op, spec.dtype, b.load(acc, typ=ty), self._element())
            b.store(value, acc)
            store_at(b, value, self.out_ptr, self._out_offset(), spec.dtype)

        if self.red and self.red[-1]:
            with Loop(b, i64(0), i64(self.sizes[-1])) as i:
                self._set_index(len(self.groups) - 1, i)
                step()
        else:
            step()

    def _arg_body(self):
        b, spec = self.b, self.spec
        is_max = spec.op == "argmax"
        ty = reg_type(spec.dtype)
        best, where = self._alloca(ty), self._alloca(I64)
        b.store(_arg_identity(is_max, spec.dtype), best)
        b.store(i64(0), where)

        def update(position):
            x = self._element()
            old = b.load(best, typ=ty)
            better = _arg_better(b, is_max, spec.dtype, x, old)
            b.store(b.select(better, x, old), best)
            b.store(b.select(better, position, b.load(where, typ=I64)), where)

        contiguous = self.groups and all(f[self.groups[-1][-1]] in (0, 1) for f in self.read_forms)
        if (
            self.red
            and self.red[-1]
            and contiguous
            and dtype_kind(spec.dtype) in "fiu"
            and self.sizes[-1] >= _ARG_BLOCKS_MIN
        ):
            self._arg_blocks(is_max, best, where)
        elif self.red and self.red[-1]:
            with Loop(b, i64(0), i64(self.sizes[-1])) as i:
                self._set_index(len(self.groups) - 1, i)
                update(i)
        else:
            update(i64(0))
        out_dt = spec.out.aval.dtype
        store_at(b, convert(b, b.load(where, typ=I64), np.int64, out_dt), self.out_ptr, self._out_offset(), out_dt)

    def _arg_blocks(self, is_max, best, where):
        """argmax/argmin along the innermost reduced axis in blocks of `_BLOCK` elements, each in two
        loops LLVM vectorises (the scalar loop's compare-and-select chain does not): the block's
        extreme as integer reductions (floats through `KeyExtremes`' keys, which also tell whether
        a NaN was seen), then the smallest position holding it (or the first NaN) as an integer min.
        The block's candidate then merges into (best, where) as one element would, so earlier
        blocks win ties and the first NaN wins, as in NumPy."""
        b, spec = self.b, self.spec
        dtype, level, n = spec.dtype, len(self.groups) - 1, self.sizes[-1]
        ty, is_float = reg_type(dtype), dtype_kind(dtype) == "f"
        if is_float:
            keys = KeyExtremes(self._alloca, "max", dtype)
        else:
            extreme = self._alloca(ty)
            name = (
                ("llvm.smax" if is_max else "llvm.smin")
                if dtype_kind(dtype) == "i"
                else ("llvm.umax" if is_max else "llvm.umin")
            )
        first = self._alloca(I64)
        with Loop(b, i64(0), i64(n), _BLOCK) as start:
            stop = b.add(start, i64(_BLOCK))
            stop = b.select(b.icmp_signed("<", stop, i64(n)), stop, i64(n))
            if is_float:
                keys.reset(b)
            else:
                b.store(_arg_identity(is_max, dtype), extreme)
            with Loop(b, start, stop) as i:
                self._set_index(level, i)
                x = self._element()
                if is_float:
                    keys.add(b, x)
                else:
                    b.store(intrinsic(b, f"{name}.{type_suffix(ty)}", ty, [b.load(extreme, typ=ty), x]), extreme)
            if is_float:
                hi, lo = b.load(keys.hi, typ=keys.ty), b.load(keys.lo, typ=keys.ty)
                has_nan = b.or_(
                    b.icmp_signed(">", hi, keys._key_of(np.inf)), b.icmp_signed("<", lo, keys._key_of(-np.inf))
                )
                target = b.bitcast(keys.key(b, hi if is_max else lo), ty)
            else:
                target = b.load(extreme, typ=ty)
            b.store(i64(n), first)
            with Loop(b, start, stop) as i:
                self._set_index(level, i)
                x = self._element()
                if is_float:
                    match = b.select(has_nan, b.fcmp_unordered("uno", x, x), b.fcmp_ordered("==", x, target))
                else:
                    match = b.icmp_signed("==", x, target)
                b.store(intrinsic(b, "llvm.smin.i64", I64, [b.load(first, typ=I64), b.select(match, i, i64(n))]), first)
            candidate = b.select(has_nan, const(dtype, np.nan), target) if is_float else target
            old = b.load(best, typ=ty)
            better = _arg_better(b, is_max, dtype, candidate, old)
            b.store(b.select(better, candidate, old), best)
            b.store(b.select(better, b.load(first, typ=I64), b.load(where, typ=I64)), where)
