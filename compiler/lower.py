"""fnad IR -> LLVM IR.

`lower(closed_jaxpr)` returns an `llvmlite.ir.Module` defining

    void fnad_main(ptr inputs, ptr consts, ptr outputs)     arrays of data pointers (C ABI)

(`compiler.pyentry` adds its Python entry point). It runs the steps of a `fusion.plan`. Each kernel
is a loop nest in its own function `void kernel(ptr frame, i64 start, i64 end)` (frame: its
buffers' pointers; [start, end) a range of its outermost loop), called directly or, when large,
through `fnad_parallel_for`.

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
of `_BLOCK` elements: the block is accumulated with reassociation allowed (only that operation
carries the `reassoc` flag, so LLVM vectorises it with a vector of partial sums), and blocks are
combined in order. Reductions over every axis are split into fixed blocks of about `_PAR_BLOCK`
elements whose partial results are combined in order after the (possibly parallel) loop, so the
result depends on the shape only, never on the thread count; a large reduction of rows into one
contiguous kept axis likewise runs fixed blocks of rows into partial rows (`_row_blocks`). In
kernels with transcendental math that read more than the caches hold, innermost loops
(elementwise or reducing) run in strips of `_STRIP` elements that prefetch their operands (see
`_strip_loop`). Reduced axes outside the innermost run accumulate into the output (initialised to the identity) in order.

Other equations have rules of their own: indexing (dynamic_slice/update through pointers offset by
the clamped starts, concatenate/pad as stores at affine output offsets, gather/scatter with loaded
indices), cumulative scans, sort (stable: radix sort of one numeric key, else qsort_r of
positions), linear algebra (LAPACKE / CBLAS trsm per matrix) and control flow: cond/while/scan emit their sub-jaxprs in place
(a switch, loops whose carry lives in the results' buffers). A primitive without a rule here may
offer `prim.decompose(*in_avals, **params) -> ClosedJaxpr`, which is then emitted in place.

dot_general: float products of at least `_BLAS_MIN` multiply-adds call CBLAS gemm per batch
(operands used in place when their layout is a row-major matrix or its transpose, else copied);
smaller ones, and integer/bool ones, are reduction nests (product of the operands, summed over the
contracting axes); outer products (only size-1 contracting axes) are elemental and fuse with their
neighbours.
"""
from __future__ import annotations

import functools

import numpy as np
from llvmlite import ir

from fnad.core import ShapedArray
from fnad.ir import ClosedJaxpr, Jaxpr, Literal, Var
from compiler import blas, engine, fusion, online, parallel
from compiler.vecmath import emit_math, emit_powi

__all__ = ["lower", "supported_primitives", "prefault"]

_I1, _I8, _I32, _I64 = ir.IntType(1), ir.IntType(8), ir.IntType(32), ir.IntType(64)
_PTR, _VOID = ir.PointerType(), ir.VoidType()
_BLOCK = 4096              # elements per inner accumulation block
_ARG_BLOCKS_MIN = 64       # reduced length from which argmax/argmin run as vectorisable block passes
_PAR_BLOCK = 1 << 16       # elements per partial result of a full reduction
_MAX_PARTIALS = 4096
_PAR_MIN = 1 << 17         # a kernel with fewer elements runs on one thread
_PAR_GRAIN = 1 << 15       # elements per parallel chunk at least
_BLAS_MIN = 1 << 15        # m*n*k from which dot_general calls BLAS
_PREFAULT_MIN = 1 << 20    # bytes of a new buffer from which its pages are faulted in up front
_STREAM_MIN = 1 << 23      # bytes of an elementwise result from which it is written with streaming stores
_STREAM_BLOCK = 256        # elements per streamed block (a multiple of every vector width x unroll)
_MADV_POPULATE_WRITE, _PAGE = 23, 4096
_STRIP = 256               # elements per strip of a prefetching loop
_PREFETCH_AHEAD = 2048     # bytes ahead of a strip that its software prefetches fetch
_PREFETCH_MIN = 1 << 20    # bytes a kernel reads from which its compute-heavy loops prefetch


# ----------------------------------------------------------------------------------------------
# Types and constants


def _kind(dtype):
    return np.dtype(dtype).kind


def reg_type(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return _I1
    if dtype.kind in "iu":
        return ir.IntType(8 * dtype.itemsize)
    if dtype == np.float32:
        return ir.FloatType()
    if dtype == np.float64:
        return ir.DoubleType()
    raise NotImplementedError(f"compiler: dtype {dtype.name} is not supported (bool, int, uint, float32, "
                              "float64 are)")


def mem_type(dtype):
    return _I8 if np.dtype(dtype).kind == "b" else reg_type(dtype)


def const(dtype, value):
    dtype = np.dtype(dtype)
    value = np.asarray(value).astype(dtype).item()
    if dtype.kind == "f":
        return ir.Constant(reg_type(dtype), float(value))
    value = int(value)
    bits = 1 if dtype.kind == "b" else 8 * dtype.itemsize
    if value >= 1 << (bits - 1) and bits > 1:
        value -= 1 << bits
    return ir.Constant(reg_type(dtype), value)


def _i64(v):
    return ir.Constant(_I64, int(v))


def _intrinsic(b, name, ret, args):
    """Call the LLVM intrinsic `name` (full mangled name) returning `ret`."""
    fn = b.module.declare_intrinsic(name, (), ir.FunctionType(ret, [a.type for a in args]))
    return b.call(fn, args)


def _suffix(ty):
    return ty.intrinsic_name


def _extern(module, name, ret, args):
    if name in module.globals:
        return module.globals[name]
    return ir.Function(module, ir.FunctionType(ret, args), name)


# ----------------------------------------------------------------------------------------------
# Scalar rules: one per elementwise primitive. rule(b, eqn, *args) -> value (register types).

_SCALAR = {}


def _rule(*names):
    def register(fn):
        for n in names:
            _SCALAR[n] = fn
        return fn
    return register


def _dt(e, i=0):
    return e.invars[i].aval.dtype


def _out_dt(e):
    return e.outvars[0].aval.dtype


def _zero(ty):
    return ir.Constant(ty, 0.0 if isinstance(ty, (ir.FloatType, ir.DoubleType)) else 0)


def _sel(b, c, x, y):
    return b.select(c, x, y)


@_rule("add", "add_any")
def _add(b, e, x, y):
    k = _kind(_dt(e))
    return b.fadd(x, y) if k == "f" else (b.or_(x, y) if k == "b" else b.add(x, y))


@_rule("sub")
def _sub(b, e, x, y):
    return b.fsub(x, y) if _kind(_dt(e)) == "f" else b.sub(x, y)


@_rule("mul")
def _mul(b, e, x, y):
    k = _kind(_dt(e))
    return b.fmul(x, y) if k == "f" else (b.and_(x, y) if k == "b" else b.mul(x, y))


def _int_divmod(b, e, x, y, rem):
    """C-style truncating division/remainder; 0 where y == 0 (and no overflow trap at MIN / -1)."""
    ty = x.type
    zero, one = ir.Constant(ty, 0), ir.Constant(ty, 1)
    y0 = b.icmp_unsigned("==", y, zero)
    if _kind(_dt(e)) == "u":
        safe = _sel(b, y0, one, y)
        r = b.urem(x, safe) if rem else b.udiv(x, safe)
        return _sel(b, y0, zero, r)
    minus1 = b.icmp_signed("==", y, ir.Constant(ty, -1))
    safe = _sel(b, b.or_(y0, minus1), one, y)
    r = b.srem(x, safe) if rem else b.sdiv(x, safe)
    special = zero if rem else b.sub(zero, x)    # x % -1 == 0, x / -1 == -x (wrapping)
    return _sel(b, y0, zero, _sel(b, minus1, special, r))


@_rule("div")
def _div(b, e, x, y):
    return b.fdiv(x, y) if _kind(_dt(e)) == "f" else _int_divmod(b, e, x, y, rem=False)


@_rule("rem")
def _rem(b, e, x, y):
    return b.frem(x, y) if _kind(_dt(e)) == "f" else _int_divmod(b, e, x, y, rem=True)


def _extremum(b, e, x, y, is_max):
    k = _kind(_dt(e))
    if k == "f":
        return _intrinsic(b, f"llvm.{'maximum' if is_max else 'minimum'}.{_suffix(x.type)}", x.type, [x, y])
    if k == "b":
        return b.or_(x, y) if is_max else b.and_(x, y)
    cmp = b.icmp_signed if k == "i" else b.icmp_unsigned
    return _sel(b, cmp(">" if is_max else "<", x, y), x, y)


_rule("max")(lambda b, e, x, y: _extremum(b, e, x, y, True))
_rule("min")(lambda b, e, x, y: _extremum(b, e, x, y, False))
_rule("pow")(lambda b, e, x, y: emit_math(b, "pow", x, y) if _kind(_dt(e)) == "f" else _int_pow(b, e, x, y))
_rule("atan2")(lambda b, e, x, y: emit_math(b, "atan2", x, y))
_rule("and")(lambda b, e, x, y: b.and_(x, y))
_rule("or")(lambda b, e, x, y: b.or_(x, y))
_rule("xor")(lambda b, e, x, y: b.xor(x, y))


def _int_pow(b, e, x, y):
    """Integer x ** y by square-and-multiply over every bit of y: straight-line code, so it
    vectorises; wraps as NumPy. A negative y (NumPy raises) gives the truncated 1 / x**|y|."""
    ty = x.type
    one = ir.Constant(ty, 1)
    acc, base = one, x
    for bit in range(ty.width):
        if bit:
            base = b.mul(base, base)
        acc = b.select(b.trunc(b.lshr(y, ir.Constant(ty, bit)), _I1), b.mul(acc, base), acc)
    if _kind(_dt(e)) == "u":
        return acc
    minus_one = ir.Constant(ty, -1)
    odd = b.trunc(y, _I1)
    at_minus_one = b.select(odd, minus_one, one)
    inverse = b.select(b.icmp_signed("==", x, one), one,
                       b.select(b.icmp_signed("==", x, minus_one), at_minus_one, _zero(ty)))
    return b.select(b.icmp_signed("<", y, _zero(ty)), inverse, acc)


@_rule("nextafter")
def _nextafter(b, e, x, y):
    ity = ir.IntType(x.type.intrinsic_name == "f32" and 32 or 64)
    bits = b.bitcast(x, ity)
    up = b.icmp_signed("==", b.fcmp_ordered("<", x, y), b.fcmp_ordered(">", x, _zero(x.type)))
    stepped = b.bitcast(_sel(b, up, b.add(bits, ir.Constant(ity, 1)), b.sub(bits, ir.Constant(ity, 1))), x.type)
    tiny = _intrinsic(b, f"llvm.copysign.{_suffix(x.type)}", x.type,
                      [b.bitcast(ir.Constant(ity, 1), x.type), y])
    r = _sel(b, b.fcmp_ordered("==", x, _zero(x.type)), tiny, stepped)
    r = _sel(b, b.fcmp_ordered("==", x, y), y, r)
    return _sel(b, b.fcmp_unordered("uno", x, y), b.fadd(x, y), r)


def _shift(b, e, x, y, how):
    ty = x.type
    too_far = b.icmp_unsigned(">=", y, ir.Constant(ty, ty.width))
    if how == "left":
        return _sel(b, too_far, ir.Constant(ty, 0), b.shl(x, _sel(b, too_far, ir.Constant(ty, 0), y)))
    if how == "logical" or _kind(_dt(e)) == "u":
        return _sel(b, too_far, ir.Constant(ty, 0), b.lshr(x, _sel(b, too_far, ir.Constant(ty, 0), y)))
    return b.ashr(x, _sel(b, too_far, ir.Constant(ty, ty.width - 1), y))


_rule("shift_left")(lambda b, e, x, y: _shift(b, e, x, y, "left"))
_rule("shift_right_logical")(lambda b, e, x, y: _shift(b, e, x, y, "logical"))
_rule("shift_right_arithmetic")(lambda b, e, x, y: _shift(b, e, x, y, "arithmetic"))


@_rule("neg")
def _neg(b, e, x):
    return b.fneg(x) if _kind(_dt(e)) == "f" else b.sub(_zero(x.type), x)


@_rule("sign")
def _sign(b, e, x):
    ty, k = x.type, _kind(_dt(e))
    one = ir.Constant(ty, 1.0 if k == "f" else 1)
    if k == "u":
        return _sel(b, b.icmp_unsigned("!=", x, _zero(ty)), one, _zero(ty))
    minus = ir.Constant(ty, -1.0 if k == "f" else -1)
    if k == "i":
        return _sel(b, b.icmp_signed(">", x, _zero(ty)), one, _sel(b, b.icmp_signed("<", x, _zero(ty)), minus, _zero(ty)))
    zero_or_nan = _sel(b, b.fcmp_ordered("==", x, _zero(ty)), _zero(ty), x)
    return _sel(b, b.fcmp_ordered(">", x, _zero(ty)), one, _sel(b, b.fcmp_ordered("<", x, _zero(ty)), minus, zero_or_nan))


def _float_intrinsic(name):
    return lambda b, e, x: _intrinsic(b, f"llvm.{name}.{_suffix(x.type)}", x.type, [x])


_rule("floor")(_float_intrinsic("floor"))
_rule("ceil")(_float_intrinsic("ceil"))
_rule("round")(_float_intrinsic("roundeven"))
_rule("sqrt")(_float_intrinsic("sqrt"))
_rule("rsqrt")(lambda b, e, x: b.fdiv(ir.Constant(x.type, 1.0), _float_intrinsic("sqrt")(b, e, x)))


@_rule("abs")
def _abs(b, e, x):
    k = _kind(_dt(e))
    if k == "f":
        return _float_intrinsic("fabs")(b, e, x)
    return x if k == "u" else _intrinsic(b, f"llvm.abs.{_suffix(x.type)}", x.type, [x, ir.Constant(_I1, 0)])


for _name in ("exp", "exp2", "log", "log1p", "expm1", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh",
              "tanh", "asinh", "acosh", "atanh", "logistic", "erf", "cbrt"):
    _rule(_name)((lambda n: lambda b, e, x: emit_math(b, n, x))(_name))
# Rules for a kernel that computes one element (e.g. a scalar step of a sequential loop): no loop
# to vectorise, so the math may branch to a shorter path for common arguments (lower latency).
_ONCE = {n: (lambda n: lambda b, e, x: emit_math(b, n, x, once=True))(n) for n in ("sin", "cos", "tan")}


@_rule("erf_inv")
def _erf_inv(b, e, x):
    """The reference algorithm (Winitzki's start, three Newton steps on erf) in float64."""
    d = ir.DoubleType()
    c = lambda v: ir.Constant(d, float(v))
    x64 = x if x.type == d else b.fpext(x, d)
    a = 0.147
    ln = emit_math(b, "log1p", b.fneg(b.fmul(x64, x64)))
    t = b.fadd(c(2 / (np.pi * a)), b.fmul(ln, c(0.5)))
    inner = _intrinsic(b, "llvm.sqrt.f64", d, [b.fsub(b.fmul(t, t), b.fdiv(ln, c(a)))])
    sign = _sign(b, e.replace(invars=[Literal(0.0)]), x64)
    y = b.fmul(sign, _intrinsic(b, "llvm.sqrt.f64", d, [b.fsub(inner, t)]))
    for _ in range(3):
        err = b.fsub(emit_math(b, "erf", y), x64)
        slope = b.fmul(c(2 / np.sqrt(np.pi)), emit_math(b, "exp", b.fneg(b.fmul(y, y))))
        y = b.fsub(y, b.fdiv(err, slope))
    one = b.fcmp_ordered("==", _intrinsic(b, "llvm.fabs.f64", d, [x64]), c(1.0))
    y = _sel(b, one, b.fmul(sign, c(np.inf)), y)
    return y if x.type == d else b.fptrunc(y, x.type)


@_rule("not")
def _not(b, e, x):
    return b.xor(x, ir.Constant(x.type, -1 if x.type.width > 1 else 1))


@_rule("is_finite")
def _is_finite(b, e, x):
    return b.fcmp_ordered("!=", _float_intrinsic("fabs")(b, e, x), ir.Constant(x.type, float("inf")))


_rule("is_nan")(lambda b, e, x: b.fcmp_unordered("uno", x, x))


@_rule("integer_pow")
def _integer_pow(b, e, x):
    y = e.params["y"]
    if _kind(_dt(e)) == "f":
        return emit_powi(b, x, y)
    result, base, n = None, x, y     # integers: wrapping products (negative y is rejected upstream)
    while n:
        if n & 1:
            result = base if result is None else b.mul(result, base)
        n >>= 1
        if n:
            base = b.mul(base, base)
    return ir.Constant(x.type, 1) if result is None else result


_CMP = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def _compare(b, e, x, y):
    op, k = _CMP[e.primitive.name], _kind(_dt(e))
    if k == "f":
        return b.fcmp_unordered(op, x, y) if op == "!=" else b.fcmp_ordered(op, x, y)
    return (b.icmp_signed if k == "i" else b.icmp_unsigned)(op, x, y)


_rule(*_CMP)(_compare)
_rule("select")(lambda b, e, p, t, f: b.select(p, t, f))


def convert(b, x, src, dst):
    src, dst = np.dtype(src), np.dtype(dst)
    ks, kd, ty = src.kind, dst.kind, reg_type(dst)
    if src == dst:
        return x
    if kd == "b":
        return b.fcmp_unordered("!=", x, _zero(x.type)) if ks == "f" else b.icmp_unsigned("!=", x, _zero(x.type))
    if ks == "f" and kd == "f":
        return b.fpext(x, ty) if dst.itemsize > src.itemsize else b.fptrunc(x, ty)
    if ks == "f":   # as NumPy on x86: narrow and unsigned targets go through int64 and wrap
        if kd == "u" and ty.width == 64:
            return b.fptoui(x, ty)
        return b.fptosi(x, ty) if kd == "i" and ty.width >= 32 else b.trunc(b.fptosi(x, _I64), ty)
    if kd == "f":
        return b.sitofp(x, ty) if ks == "i" else b.uitofp(x, ty)
    if ty.width == x.type.width:
        return x
    if ty.width < x.type.width:
        return b.trunc(x, ty)
    return b.sext(x, ty) if ks == "i" else b.zext(x, ty)


_rule("convert_element_type")(lambda b, e, x: convert(b, x, _dt(e), _out_dt(e)))


# ----------------------------------------------------------------------------------------------
# Loops


class _Loop:
    """`with _Loop(b, start, end, step) as i:` emits a counted loop; the body is built inside."""

    def __init__(self, b, start, end, step=1):
        self.b, self.start, self.end, self.step = b, start, end, step

    def __enter__(self):
        b = self.b
        self.pre = b.block
        self.head = b.append_basic_block("loop")
        self.body = b.append_basic_block("body")
        self.exit = b.append_basic_block("done")
        b.branch(self.head)
        b.position_at_end(self.head)
        self.i = b.phi(_I64)
        self.i.add_incoming(self.start, self.pre)
        b.cbranch(b.icmp_signed("<", self.i, self.end), self.body, self.exit)
        b.position_at_end(self.body)
        return self.i

    def __exit__(self, *exc):
        if exc[0] is None:
            b = self.b
            self.i.add_incoming(b.add(self.i, _i64(self.step)), b.block)
            b.branch(self.head)
            b.position_at_end(self.exit)


def _strip_loop(b, lo, hi, body, prefetch):
    """`for i in [lo, hi): body(i)` as strips of `_STRIP` elements, each strip first issuing
    `prefetch(b, start)` (emitted once `body` has been, so it may prefetch what the body loads).

    Why: this machine's hardware prefetchers do not run far enough ahead of a compute-heavy loop
    streaming from DRAM, so its reads and its arithmetic do not overlap: sum(exp(x)) over 10^7
    float32 took the DRAM streaming time plus the compute time (8.3 ms on one thread, against
    ~2.7 ms from cache); prefetching 2 KB ahead brought it to 4.0-4.7 ms. A prefetch inside the
    vectorised loop's body would stop LLVM from vectorising it, hence the strips."""
    with _Loop(b, lo, hi, _STRIP) as start:
        head = b.block
        stop = b.add(start, _i64(_STRIP))
        with _Loop(b, start, b.select(b.icmp_signed("<", stop, hi), stop, hi)) as i:
            body(i)
        with b.goto_block(head):
            prefetch(b, start)


def prefetch_lines(b, pointer, index, itemsize, count):
    """Software prefetches (for reading, into all cache levels) of the cache lines holding elements
    [index, index + count) of `itemsize` bytes at `pointer`, `_PREFETCH_AHEAD` bytes further on.
    Addresses past the buffer are harmless (a prefetch never faults; the GEP is not inbounds)."""
    fn = _extern(b.module, "llvm.prefetch.p0", _VOID, [_PTR, _I32, _I32, _I32])
    base = b.gep(pointer, [b.mul(index, _i64(itemsize))], source_etype=_I8)
    for offset in range(_PREFETCH_AHEAD, _PREFETCH_AHEAD + max(count * itemsize, 64), 64):
        b.call(fn, [b.gep(base, [_i64(offset)], source_etype=_I8), ir.Constant(_I32, 0), ir.Constant(_I32, 3),
                    ir.Constant(_I32, 1)])


def _load(b, ptr, offset, dtype):
    mt = mem_type(dtype)
    v = b.load(b.gep(ptr, [offset], inbounds=True, source_etype=mt), typ=mt)
    return b.icmp_unsigned("!=", v, ir.Constant(_I8, 0)) if np.dtype(dtype).kind == "b" else v


def _store(b, value, ptr, offset, dtype):
    mt = mem_type(dtype)
    if np.dtype(dtype).kind == "b":
        value = b.zext(value, _I8)
    b.store(value, b.gep(ptr, [offset], inbounds=True, source_etype=mt))


@functools.cache
def _x86_64():
    """Whether the host is x86-64 (whose vectorised non-temporal stores `_Kernel._streamed` uses)."""
    return engine.target_machine().triple.startswith("x86_64")


def _row_major(shape):
    strides, acc = [], 1
    for d in reversed(shape):
        strides.append(acc)
        acc *= d
    return tuple(reversed(strides))


def _identity(n):
    """Index matrix of a value indexed by the domain itself (rows: coefficients, then a constant)."""
    return tuple(_unit(i, n) for i in range(n))


def _unit(i, n, scale=1, constant=0):
    return tuple(scale if j == i else 0 for j in range(n)) + (constant,)


def _affine_combination(rows, coefs, constant=0, ndomain=0):
    """sum(c * row) + constant, for index rows of equal length (ndomain + 1 when there are none)."""
    out = [0] * (len(rows[0]) if rows else ndomain + 1)
    for c, row in zip(coefs, rows):
        for j, r in enumerate(row):
            out[j] += c * r
    out[-1] += constant
    return tuple(out)


# ----------------------------------------------------------------------------------------------
# Elemental emission


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
        return [tuple(_scaled(row, -1, shape[d] - 1) if d in e.params["dimensions"] else row
                      for d, row in enumerate(M))]
    if name == "reshape":
        kept = iter([row for row, d in zip(M, e.outvars[0].aval.shape) if d != 1])
        return [tuple(zero if d == 1 else next(kept) for d in e.invars[0].aval.shape)]
    if name == "pad":
        return [tuple(_scaled(row, 1, -lo) for row, (lo, _, _) in zip(M, e.params["padding_config"])), ()]
    if name == "dot_general":   # an outer product (fusion.is_outer_product): output = batch, lhs free, rhs free
        x, y = e.invars
        (lc, rc), (lb, rb) = e.params["dimension_numbers"]
        lf, rf = _free_axes(x.aval.ndim, lc, lb), _free_axes(y.aval.ndim, rc, rb)
        rows_x = {**{a: M[j] for j, a in enumerate(lb)}, **{a: M[len(lb) + j] for j, a in enumerate(lf)}}
        rows_y = {**{a: M[j] for j, a in enumerate(rb)}, **{a: M[len(lb) + len(lf) + j] for j, a in enumerate(rf)}}
        return [tuple(rows_x.get(a, zero) for a in range(x.aval.ndim)),
                tuple(rows_y.get(a, zero) for a in range(y.aval.ndim))]
    return [M if type(a) is Var and a.aval.ndim or type(a) is Literal and np.ndim(a.val) else () for a in e.invars]


def _scaled(row, scale, constant):
    return tuple(scale * r for r in row[:-1]) + (scale * row[-1] + constant,)


_PASS_THROUGH = frozenset(["broadcast_in_dim", "transpose", "reshape", "stop_gradient", "slice", "rev"])


class _Elemental:
    """Values of a kernel's expression at affine indices of its domain (see the module docstring).

    Dry mode only records the affine forms of every buffer read (for merging axes) and, per domain
    axis, where a pad switches between its operand and its fill (`cuts`); real mode emits code,
    reading buffer `v` through the kernel's pointer `pointers[v]`, for the piece of each cut axis
    given by `segment` (axis -> [first, stop) index range, within which every pad is one or the other)."""

    def __init__(self, producer, domain, dry):
        self.producer, self.domain, self.n, self.dry = producer, tuple(domain), len(domain), dry
        self.once = int(np.prod(self.domain, dtype=np.int64)) == 1
        self.memo, self.forms, self.leaves, self.cuts, self.segment = {}, [], [], {}, {}
        self.b = self.pointers = None
        self.loop_index = []    # [(last axis of a merged loop, its index value)]
        self.group_index = []   # [(merged loop's domain axes, its index value)]
        self.recorded = None   # a list: real mode appends (buffer, form) of each plain load to it
        self.branches = []     # open runtime pad branches: (block before, merge block, memo before)

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
                args = results[len(results) - n:]
                del results[len(results) - n:]
                results.append(self._remember(key, self._apply(e, args)))
            elif task[0] == "pick":          # a pad decided for the whole segment: keep one result
                _, key, n, keep = task
                args = results[len(results) - n:]
                del results[len(results) - n:]
                results.append(self._remember(key, args[keep]))
            elif task[0] == "branch":
                self._branch(task[1])
            else:                            # "merge": the end of a branch opened by "branch"
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
            results.append(None if self.dry else const(atom.aval.dtype, atom.val))
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
            results.append(self._remember(key, None if self.dry else convert(self.b, r, np.int64, _out_dt(e))))
        elif e.primitive.name == "pad":
            tasks.extend(reversed(self._pad_tasks(e, M, key)))
        else:
            tasks.append(("apply", e, key, len(e.invars)))
            tasks.extend(("eval", a, m) for a, m in reversed(list(zip(e.invars, _operand_maps(e, M, self.n)))))

    def _apply(self, e, args):
        if self.dry:
            return None
        if e.primitive.name in _PASS_THROUGH:
            return args[0]
        name = "mul" if e.primitive.name == "dot_general" else e.primitive.name
        return (self.once and _ONCE.get(name) or _SCALAR[name])(self.b, e, *args)

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
        if self.dry or (inside and not checks):
            return [("eval", x, x_map), ("eval", fill, ()), ("pick", key, 2, 1 if self.dry else 0)]
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
            within = b.and_(b.icmp_signed(">=", i, _i64(first)), b.icmp_signed("<", i, _i64(stop)))
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
                inner = int(np.prod([self.domain[d] for d in group[group.index(axis) + 1:]], dtype=np.int64))
                if inner > 1:
                    i = self.b.sdiv(i, _i64(inner))
                return self.b.srem(i, _i64(self.domain[axis])) if axis != group[0] else i
        raise AssertionError(f"domain axis {axis} has no loop index")

    def _leaf(self, v, M):
        return self.load(v, _affine_combination(M, _row_major(v.aval.shape), ndomain=self.n))

    def load(self, v, form, extra=None):
        """Element of buffer `v` at the affine `form` of the domain index (+ a runtime `extra` offset)."""
        if self.dry:
            if v not in self.leaves:
                self.leaves.append(v)
            self.forms.append(form)
            return None
        if extra is None and self.recorded is not None and (v, form) not in self.recorded:
            self.recorded.append((v, form))
        offset = self.offset(form)
        return _load(self.b, self.pointers[v], offset if extra is None else self.b.add(offset, extra), v.aval.dtype)

    def _affine(self, form):
        if self.dry:
            self.forms.append(form)
            return None
        return self.offset(form)

    def offset(self, form):
        """sum(form[d] * index[d]) + form[-1] in the merged loop indices (`loop_index`: [(last dim,
        i64 value)]); `base` adds a runtime offset (dynamic slices)."""
        acc = None if not form[-1] else _i64(form[-1])
        for last, i in self.loop_index:
            c = form[last]
            if c:
                t = i if c == 1 else self.b.mul(i, _i64(c))
                acc = t if acc is None else self.b.add(acc, t)
        return _i64(0) if acc is None else acc


def _solve_range(c, k, size):
    """[first, stop): the integers i with 0 <= c*i + k < size (c != 0)."""
    if c > 0:
        return -(k // c), -((k - size) // c)
    return (k - size) // -c + 1, k // -c + 1


def _merge_axes(sizes, reduced, forms, cut=()):
    """Groups of adjacent domain axes (size-1 axes dropped) that can be one loop: every form f
    satisfies f[d] == f[d+1] * sizes[d+1] inside a group, and reduced/kept flags agree; `cut`
    axes (split into segments) stay alone."""
    groups = []
    for d, s in enumerate(sizes):
        if s == 1:
            continue
        if groups:
            p = groups[-1][-1]
            if (reduced[p] == reduced[d] and p not in cut and d not in cut
                    and all(f[p] == f[d] * s for f in forms)):
                groups[-1].append(d)
                continue
        groups.append([d])
    return groups


# ----------------------------------------------------------------------------------------------
# Reductions


_REDUCE_OPS = {"reduce_sum": "sum", "reduce_prod": "prod", "reduce_max": "max", "reduce_min": "min",
               "reduce_and": "and", "reduce_or": "or"}


def _reduce_identity(op, dtype):
    dtype, k = np.dtype(dtype), _kind(dtype)
    if op in ("sum", "or") or (op == "max" and k == "b"):
        return const(dtype, 0)
    if op in ("prod", "and") or (op == "min" and k == "b"):
        return const(dtype, 1)
    if k == "f":
        return const(dtype, -np.inf if op == "max" else np.inf)
    info = np.iinfo(dtype)
    return const(dtype, info.min if op == "max" else info.max)


def _combine(b, op, dtype, acc, x, reassoc=False):
    k = _kind(dtype)
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
        return _intrinsic(b, f"llvm.{'maximum' if op == 'max' else 'minimum'}.{_suffix(x.type)}", x.type, [acc, x])
    cmp = b.icmp_signed if k == "i" else b.icmp_unsigned
    return b.select(cmp(">" if op == "max" else "<", x, acc), x, acc)


class _KeyExtremes:
    """The float max or min of many elements as two integer reductions, which LLVM vectorises to
    one integer max and one min per vector (`llvm.maximum` becomes a blend, a max, a NaN test and a
    select per vector, chained through the accumulator). Each element's bits become a signed integer
    key ordered as the floats are (-0.0 below +0.0), NaNs outside the infinities: positive ones
    above the key of +inf, negative ones below that of -inf. The largest and smallest key then give
    the max, the min, and whether a NaN was seen, as `_combine` (NaN-propagating) would.
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
        suffix = _suffix(self.ty)
        b.store(_intrinsic(b, f"llvm.smax.{suffix}", self.ty, [b.load(self.hi, typ=self.ty), k]), self.hi)
        b.store(_intrinsic(b, f"llvm.smin.{suffix}", self.ty, [b.load(self.lo, typ=self.ty), k]), self.lo)

    def value(self, b):
        hi, lo = b.load(self.hi, typ=self.ty), b.load(self.lo, typ=self.ty)
        nan = b.or_(b.icmp_signed(">", hi, self._key_of(np.inf)), b.icmp_signed("<", lo, self._key_of(-np.inf)))
        found = b.bitcast(self.key(b, hi if self.op == "max" else lo), reg_type(self.dtype))
        return b.select(nan, const(self.dtype, np.nan), found)


def _arg_better(b, is_max, dtype, x, best):
    k = _kind(dtype)
    op = ">" if is_max else "<"
    if k == "f":
        nan_first = b.and_(b.fcmp_unordered("uno", x, x), b.fcmp_ordered("ord", best, best))
        return b.or_(b.fcmp_ordered(op, x, best), nan_first)
    return (b.icmp_signed if k == "i" else b.icmp_unsigned)(op, x, best)


def _arg_identity(is_max, dtype):
    k = _kind(dtype)
    if k == "f":
        return const(dtype, -np.inf if is_max else np.inf)
    if k == "b":
        return const(dtype, not is_max)
    info = np.iinfo(dtype)
    return const(dtype, info.min if is_max else info.max)


# ----------------------------------------------------------------------------------------------
# Kernels


class _Spec:
    """A loop nest: `domain` sizes and `reduced` flags; `element(em)` gives the value at the
    domain index (em.value(...) with matrices over the domain); `op` None stores it to `out`,
    else reduces with op ('sum', ..., 'argmax', 'argmin') into `out`."""

    def __init__(self, domain, reduced, element, out, op, dtype, producer, cost=1, out_form=None, body=None,
                 stores=()):
        self.stores = list(stores)   # more results computed inside, stored at the domain index
        self.domain, self.reduced, self.element, self.out_form = tuple(domain), tuple(reduced), element, out_form
        self.body = body   # body(kernel): replaces the store of an op-less nest (serial; e.g. scatter)
        self.out, self.op, self.dtype, self.producer, self.cost = out, op, np.dtype(dtype), producer, cost


_TRANSCENDENTAL = frozenset(["exp", "exp2", "log", "log1p", "expm1", "sin", "cos", "tan", "asin", "acos", "atan",
                             "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "logistic", "erf", "pow", "atan2",
                             "cbrt", "erf_inv", "rem"])


def _kernel_spec(step):
    """The loop nest of a fusion step (elemental root or reduction)."""
    k, root = step.kernel, step.eqn
    cost = 1 + 8 * sum(m.primitive.name in _TRANSCENDENTAL for m in k.members)
    name, out = root.primitive.name, root.outvars[0]
    if step.kind == fusion.ELEMENTAL:
        producer = dict(k.producer)
        producer[out] = root
        n = out.aval.ndim
        return _Spec(out.aval.shape, (False,) * n, lambda em: em.value(out, _identity(n)), out, None,
                     out.aval.dtype, producer, cost, stores=k.stores)
    x = root.invars[0]
    shape = x.aval.shape
    if name in ("argmax", "argmin"):
        axis = root.params["axis"]
        order = [d for d in range(len(shape)) if d != axis] + [axis]
        M = tuple(_unit(order.index(i), len(shape)) for i in range(len(shape)))
        return _Spec([shape[d] for d in order], [d == axis for d in order], lambda em: em.value(x, M), out,
                     name, x.aval.dtype, k.producer, cost)
    axes = root.params["axes"]
    n = len(shape)
    return _Spec(shape, [d in axes for d in range(n)], lambda em: em.value(x, _identity(n)), out,
                 _REDUCE_OPS[name], out.aval.dtype, k.producer, cost, stores=k.stores)


class _Kernel:
    """Emits one `_Spec` as `void kernel(ptr frame, i64 start, i64 end)` and its launch in main."""

    def __init__(self, lowering, spec):
        self.lw, self.spec = lowering, spec
        dry = _Elemental(spec.producer, spec.domain, dry=True)
        self._computed(dry)
        self.cuts = {axis: sorted(c) for axis, c in dry.cuts.items() if c}
        kept = [s for s, r in zip(spec.domain, spec.reduced) if not r]
        out_strides = iter(_row_major(kept))
        out_forms = [spec.out_form or tuple(0 if r else next(out_strides) for r in spec.reduced) + (0,)]
        self.domain_form = _affine_combination(_identity(len(spec.domain)), _row_major(spec.domain))
        if spec.stores:
            out_forms.append(self.domain_form)
        self.groups = _merge_axes(spec.domain, spec.reduced, dry.forms + out_forms, self.cuts)
        self.read_forms = dry.forms
        self.sizes = [int(np.prod([spec.domain[d] for d in g])) for g in self.groups]
        self.red = [spec.reduced[g[0]] for g in self.groups]
        self.out_form = out_forms[0]
        self.buffers = list(dry.leaves) + [spec.out] + spec.stores
        self.size = int(np.prod(spec.domain, dtype=np.int64))
        self.total = spec.op in _REDUCE_OPS.values() and all(self.red)   # every axis reduced
        # A reduction of rows into one contiguous kept axis runs as fixed blocks of rows, each into a
        # partial row of its own, combined in order (see `_row_blocks`).
        last = self.groups[-1][-1] if self.groups else None
        self.row_blocks = (spec.op in _REDUCE_OPS.values() and not self.total and len(self.groups) == 2
                           and self.red[0] and not self.red[1] and spec.body is None and not spec.stores
                           and not self.cuts and self.out_form[last] == 1 and not self.out_form[-1]
                           and self.size >= _PAR_MIN and self.sizes[0] > max(1, _PAR_BLOCK // self.sizes[1]))
        # Compute-heavy kernels reading more than the caches hold prefetch (see `_strip_loop`).
        self.prefetches = spec.cost > 1 and sum(v.aval.size * v.aval.dtype.itemsize for v in dry.leaves) >= _PREFETCH_MIN

    # -- launch (in main) --------------------------------------------------------------------

    def launch(self):
        lw, spec = self.lw, self.spec
        b = lw.b
        if self.size == 0 and spec.op is None:
            return
        extra = []
        if self.total:
            inner = int(np.prod(self.sizes[1:])) if self.sizes else 1
            c0 = self.sizes[0] if self.sizes else 1
            self.b0 = max(1, _PAR_BLOCK // max(inner, 1), -(-c0 // _MAX_PARTIALS))
            self.nblocks = max(1, -(-c0 // self.b0))
            partials = lw.entry_alloca(mem_type(spec.dtype), self.nblocks)
            extra = [partials]
            n0, threaded, grain = self.nblocks, self.nblocks > 1 and self.size >= _PAR_MIN, 1
        elif self.row_blocks:
            self.b0 = max(1, _PAR_BLOCK // self.sizes[1])
            self.nblocks = -(-self.sizes[0] // self.b0)
            extra = [lw.malloc(self.nblocks * self.sizes[1] * spec.dtype.itemsize)]
            n0, threaded, grain = self.nblocks, True, 1
        else:
            n0 = self.sizes[0] if self.sizes else 1
            rmw = spec.op is not None and any(self.red[:self._suffix_start()])
            threaded = (not rmw and spec.body is None and n0 >= 2 and self.size * spec.cost >= _PAR_MIN and
                        (not self.red or not self.red[0]))
            grain = max(1, -(-n0 * _PAR_GRAIN // max(self.size, 1)))
        # One frame slot per distinct pointer: a result written over an operand it reads at the same
        # element is then one pointer inside the kernel too, which LLVM vectorises without a
        # runtime overlap check (that would fail and take the scalar loop).
        pointers, slot_of = [], []
        for p in [lw.pointer(v) for v in self.buffers] + extra:
            if not any(p is q for q in pointers):
                pointers.append(p)
            slot_of.append(next(i for i, q in enumerate(pointers) if p is q))
        fn = self._define(extra, slot_of)
        frame = lw.entry_alloca(_PTR, len(pointers))
        for i, p in enumerate(pointers):
            b.store(p, b.gep(frame, [_i64(i)], source_etype=_PTR))
        if threaded:
            b.call(parallel.declare_parallel_for(lw.module), [fn, frame, _i64(n0), _i64(grain)])
        else:
            b.call(fn, [frame, _i64(0), _i64(n0)])
        if self.total:
            self._combine_partials(extra[0])
        elif self.row_blocks:
            self._combine_partial_rows(extra[0])

    def _combine_partial_rows(self, partials):
        b, spec = self.lw.b, self.spec
        cols, out = self.sizes[1], self.lw.pointer(spec.out)
        with _Loop(b, _i64(0), _i64(cols)) as j:
            _store(b, _reduce_identity(spec.op, spec.dtype), out, j, spec.dtype)
        with _Loop(b, _i64(0), _i64(self.nblocks)) as blk:
            base = b.mul(blk, _i64(cols))
            with _Loop(b, _i64(0), _i64(cols)) as j:
                part = _load(b, partials, b.add(base, j), spec.dtype)
                _store(b, _combine(b, spec.op, spec.dtype, _load(b, out, j, spec.dtype), part), out, j, spec.dtype)

    def _combine_partials(self, partials):
        b, spec = self.lw.b, self.spec
        acc = self.lw.entry_alloca(reg_type(spec.dtype), 1)
        b.store(_reduce_identity(spec.op, spec.dtype), acc)
        with _Loop(b, _i64(0), _i64(self.nblocks)) as i:
            b.store(_combine(b, spec.op, spec.dtype, b.load(acc, typ=reg_type(spec.dtype)),
                             _load(b, partials, i, spec.dtype)), acc)
        _store(b, b.load(acc, typ=reg_type(spec.dtype)), self.lw.pointer(spec.out), _i64(0), spec.dtype)

    # -- the kernel function -----------------------------------------------------------------

    def _suffix_start(self):
        r0 = len(self.red)
        while r0 > 0 and self.red[r0 - 1]:
            r0 -= 1
        return r0

    def _define(self, extra, slot_of):
        lw, spec = self.lw, self.spec
        fn = ir.Function(lw.module, parallel.CHUNK_TYPE, lw.fresh("kernel"))
        fn.linkage = "internal"
        fn.attributes.add("nounwind")
        # 512-bit vectors where the CPU has them (LLVM prefers 256 on znver4/Skylake-X): the
        # vecmath-heavy loops run ~1.6x faster, memory-bound ones are unchanged. llvmlite does not
        # know string attributes, hence the set's own add.
        set.add(fn.attributes, '"prefer-vector-width"="512"')
        frame, start, end = fn.args
        self.alloca_builder = ir.IRBuilder(fn.append_basic_block("allocas"))
        b = self.b = ir.IRBuilder(fn.append_basic_block("entry"))
        loaded = [b.load(b.gep(frame, [_i64(i)], source_etype=_PTR), typ=_PTR) for i in range(max(slot_of) + 1)]
        slots = [loaded[i] for i in slot_of]
        em = self.em = _Elemental(spec.producer, spec.domain, dry=False)
        em.b, em.pointers = b, dict(zip(self.buffers, slots))
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
                self._nest(0, _i64(0), _i64(self.sizes[0]), lambda: self._suffix(r0, rmw=True), stop=r0)
            else:
                self._nest(0, start, end, lambda: self._suffix(r0, rmw=False), stop=r0)
        b.ret_void()
        self.alloca_builder.branch(fn.basic_blocks[1])
        return fn

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
        for s0, s1 in zip(bounds, bounds[1:]):
            if axis in self.cuts:
                self.em.segment[axis] = (s0, s1)
            lo, hi = _i64(s0), _i64(s1)
            if level == 0 and len(bounds) > 2:
                lo = b.select(b.icmp_signed(">", start, lo), start, lo)
                hi = b.select(b.icmp_signed("<", end, hi), end, hi)
            elif level == 0:
                lo, hi = start, end
            if level == len(self.groups) - 1 and len(bounds) == 2:
                self._loop(level, lo, hi, lambda: self._nest(level + 1, start, end, body, stop))
                continue
            with _Loop(b, lo, hi) as i:
                self._set_index(level, i)
                self._nest(level + 1, start, end, body, stop)
        self.em.segment.pop(axis, None)   # code emitted after these loops is in no segment

    def _loop(self, level, lo, hi, body):
        """The innermost loop, over merged axis `level` in [lo, hi): strips with software prefetches of
        its unit-stride loads where the kernel prefetches and the axis is long (see `_strip_loop`)."""
        if not (self.prefetches and self.sizes[level] >= 2 * _STRIP):
            with _Loop(self.b, lo, hi) as i:
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
                    prefetch_lines(b, em.pointers[v], em.offset(form), v.aval.dtype.itemsize, _STRIP)

        _strip_loop(self.b, lo, hi, strip_body, prefetch)

    def _computed(self, em):
        """Every value the kernel computes at the domain index: the root's element, and each
        member it also stores. The dry pass and the emitted loops both evaluate exactly this, so the
        loop axes are merged and split at pad boundaries by the forms the loops really read."""
        n = len(self.spec.domain)
        return self.spec.element(em), [em.value(v, _identity(n)) for v in self.spec.stores]

    def _element(self):
        value, stored = self._computed(self.em)
        for v, x in zip(self.spec.stores, stored):
            _store(self.b, x, self.em.pointers[v], self.em.offset(self.domain_form), v.aval.dtype)
        return value

    def _store_element(self):
        _store(self.b, self._element(), self.out_ptr, self._out_offset(), self.spec.dtype)

    def _out_offset(self):
        return self.em.offset(self.out_form)

    def _streams(self):
        """Whether the result is written with non-temporal stores: a flat elementwise result larger
        than the caches, whose cache lines would otherwise be read before being overwritten (4- and
        8-byte elements: LLVM vectorises those to streaming stores on x86-64). Only for kernels
        without transcendental functions: measured on a 10^7-float32 result, streaming made
        `x * k` 1.3x faster but `exp(x) * k` 1.5x slower."""
        spec = self.spec
        return (spec.body is None and spec.cost == 1 and spec.dtype.itemsize >= 4 and not spec.stores
                and len(self.groups) == 1 and not self.red[0] and not self.cuts
                and self.out_form == self.domain_form and self.size * spec.dtype.itemsize >= _STREAM_MIN
                and _x86_64())

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
        first = b.ptrtoint(b.gep(self.out_ptr, [start], inbounds=True, source_etype=mt), _I64)
        lead = b.udiv(b.and_(b.sub(_i64(0), first), _i64(63)), _i64(size))
        aligned = b.icmp_unsigned("==", b.and_(first, _i64(size - 1)), _i64(0))
        lo = b.add(start, b.select(aligned, lead, b.sub(end, start)))
        lo = b.select(b.icmp_signed("<", lo, end), lo, end)
        hi = b.add(lo, b.and_(b.sub(end, lo), _i64(-_STREAM_BLOCK)))
        self._nest(0, start, lo, self._store_element)
        base = _intrinsic(b, "llvm.ptrmask.p0.i64", _PTR, [b.gep(self.out_ptr, [lo], inbounds=True, source_etype=mt),
                                                           _i64(-64)])
        streaming = self.lw.module.add_metadata([ir.Constant(_I32, 1)])
        with _Loop(b, lo, hi) as i:
            self._set_index(0, i)
            value = self._element()
            value = b.zext(value, _I8) if spec.dtype.kind == "b" else value
            store = b.store(value, b.gep(base, [b.sub(i, lo)], inbounds=True, source_etype=mt), align=64)
            store.set_metadata("nontemporal", streaming)
        self._nest(0, hi, end, self._store_element)
        b.fence("seq_cst")

    def _fill_identity(self, n):
        """The first n elements at `out_ptr` set to the reduction's identity."""
        b, spec = self.b, self.spec
        with _Loop(b, _i64(0), _i64(n)) as i:
            _store(b, _reduce_identity(spec.op, spec.dtype), self.out_ptr, i, spec.dtype)

    def _suffix(self, r0, rmw, lo=None, hi=None):
        """Accumulate the reduced merged axes r0.. into a register, then store/combine into out."""
        b, spec = self.b, self.spec
        ty = reg_type(spec.dtype)
        total = self._alloca(ty)
        b.store(_reduce_identity(spec.op, spec.dtype), total)
        self._accumulate(r0, total, lo, hi)
        value = b.load(total, typ=ty)
        if rmw:
            off = self._out_offset()
            value = _combine(b, spec.op, spec.dtype, _load(b, self.out_ptr, off, spec.dtype), value)
            _store(b, value, self.out_ptr, off, spec.dtype)
            return None
        if lo is None:
            _store(b, value, self.out_ptr, self._out_offset(), spec.dtype)
        return value

    def _accumulate(self, level, total, lo=None, hi=None):
        b, spec = self.b, self.spec
        ty = reg_type(spec.dtype)
        n = len(self.groups)
        if level == n:
            b.store(_combine(b, spec.op, spec.dtype, b.load(total, typ=ty), self._element()), total)
            return
        lo = _i64(0) if lo is None else lo
        hi = _i64(self.sizes[level]) if hi is None else hi
        if level < n - 1:
            with _Loop(b, lo, hi) as i:
                self._set_index(level, i)
                self._accumulate(level + 1, total)
            return
        if spec.op in ("max", "min") and _kind(spec.dtype) == "f":
            block = _KeyExtremes(self._alloca, spec.op, spec.dtype)
            reset, add, value = block.reset, block.add, block.value
        else:
            block = self._alloca(ty)
            reset = lambda b: b.store(_reduce_identity(spec.op, spec.dtype), block)
            add = lambda b, x: b.store(_combine(b, spec.op, spec.dtype, b.load(block, typ=ty), x, reassoc=True), block)
            value = lambda b: b.load(block, typ=ty)
        with _Loop(b, lo, hi, _BLOCK) as start:
            stop = b.add(start, _i64(_BLOCK))
            stop = b.select(b.icmp_signed("<", stop, hi), stop, hi)
            reset(b)
            self._loop(level, start, stop, lambda: add(b, self._element()))
            b.store(_combine(b, spec.op, spec.dtype, b.load(total, typ=ty), value(b)), total)

    def _row_blocks(self, partials, start, end):
        """Row blocks [start, end) of a reduction over rows: block k reduces its `b0` rows, in order,
        into partial row k (the partial rows are combined in order after the loop, so results
        depend on the shape only, never on the thread count)."""
        b, spec = self.b, self.spec
        rows, cols = self.sizes
        with _Loop(b, start, end) as blk:
            self.out_ptr = b.gep(partials, [b.mul(blk, _i64(cols))], source_etype=mem_type(spec.dtype))
            self._fill_identity(cols)
            lo = b.mul(blk, _i64(self.b0))
            hi = b.add(lo, _i64(self.b0))
            hi = b.select(b.icmp_signed("<", hi, _i64(rows)), hi, _i64(rows))
            with _Loop(b, lo, hi) as i:
                self._set_index(0, i)
                self._nest(1, start, end, lambda: self._suffix(2, rmw=True), stop=2)

    def _total(self, partials, start, end):
        b, spec = self.b, self.spec
        with _Loop(b, start, end) as blk:
            if not self.groups:
                value = self._suffix(0, rmw=False, lo=_i64(0), hi=_i64(1))
            else:
                lo = b.mul(blk, _i64(self.b0))
                hi = b.add(lo, _i64(self.b0))
                hi = b.select(b.icmp_signed("<", hi, _i64(self.sizes[0])), hi, _i64(self.sizes[0]))
                value = self._suffix(0, rmw=False, lo=lo, hi=hi)
            _store(b, value, partials, blk, spec.dtype)

    def _scan_body(self):
        """Running combination along the last (scanned) axis, each prefix stored."""
        b, spec = self.b, self.spec
        op, ty = spec.op.split(":")[1], reg_type(spec.dtype)
        acc = self._alloca(ty)
        b.store(_reduce_identity(op, spec.dtype), acc)

        def step():
            value = _combine(b, op, spec.dtype, b.load(acc, typ=ty), self._element())
            b.store(value, acc)
            _store(b, value, self.out_ptr, self._out_offset(), spec.dtype)

        if self.red and self.red[-1]:
            with _Loop(b, _i64(0), _i64(self.sizes[-1])) as i:
                self._set_index(len(self.groups) - 1, i)
                step()
        else:
            step()

    def _arg_body(self):
        b, spec = self.b, self.spec
        is_max = spec.op == "argmax"
        ty = reg_type(spec.dtype)
        best, where = self._alloca(ty), self._alloca(_I64)
        b.store(_arg_identity(is_max, spec.dtype), best)
        b.store(_i64(0), where)

        def update(position):
            x = self._element()
            old = b.load(best, typ=ty)
            better = _arg_better(b, is_max, spec.dtype, x, old)
            b.store(b.select(better, x, old), best)
            b.store(b.select(better, position, b.load(where, typ=_I64)), where)

        contiguous = self.groups and all(f[self.groups[-1][-1]] in (0, 1) for f in self.read_forms)
        if (self.red and self.red[-1] and contiguous and _kind(spec.dtype) in "fiu"
                and self.sizes[-1] >= _ARG_BLOCKS_MIN):
            self._arg_blocks(is_max, best, where)
        elif self.red and self.red[-1]:
            with _Loop(b, _i64(0), _i64(self.sizes[-1])) as i:
                self._set_index(len(self.groups) - 1, i)
                update(i)
        else:
            update(_i64(0))
        out_dt = spec.out.aval.dtype
        _store(b, convert(b, b.load(where, typ=_I64), np.int64, out_dt), self.out_ptr, self._out_offset(), out_dt)

    def _arg_blocks(self, is_max, best, where):
        """argmax/argmin along the innermost reduced axis in blocks of `_BLOCK` elements, each in two
        loops LLVM vectorises (the scalar loop's compare-and-select chain does not): the block's
        extreme as integer reductions (floats through `_KeyExtremes`' keys, which also tell whether
        a NaN was seen), then the smallest position holding it (or the first NaN) as an integer min.
        The block's candidate then merges into (best, where) as one element would, so earlier
        blocks win ties and the first NaN wins, as in NumPy."""
        b, spec = self.b, self.spec
        dtype, level, n = spec.dtype, len(self.groups) - 1, self.sizes[-1]
        ty, is_float = reg_type(dtype), _kind(dtype) == "f"
        if is_float:
            keys = _KeyExtremes(self._alloca, "max", dtype)
        else:
            extreme = self._alloca(ty)
            name = ("llvm.smax" if is_max else "llvm.smin") if _kind(dtype) == "i" else ("llvm.umax" if is_max else "llvm.umin")
        first = self._alloca(_I64)
        with _Loop(b, _i64(0), _i64(n), _BLOCK) as start:
            stop = b.add(start, _i64(_BLOCK))
            stop = b.select(b.icmp_signed("<", stop, _i64(n)), stop, _i64(n))
            if is_float:
                keys.reset(b)
            else:
                b.store(_arg_identity(is_max, dtype), extreme)
            with _Loop(b, start, stop) as i:
                self._set_index(level, i)
                x = self._element()
                if is_float:
                    keys.add(b, x)
                else:
                    b.store(_intrinsic(b, f"{name}.{_suffix(ty)}", ty, [b.load(extreme, typ=ty), x]), extreme)
            if is_float:
                hi, lo = b.load(keys.hi, typ=keys.ty), b.load(keys.lo, typ=keys.ty)
                has_nan = b.or_(b.icmp_signed(">", hi, keys._key_of(np.inf)), b.icmp_signed("<", lo, keys._key_of(-np.inf)))
                target = b.bitcast(keys.key(b, hi if is_max else lo), ty)
            else:
                target = b.load(extreme, typ=ty)
            b.store(_i64(n), first)
            with _Loop(b, start, stop) as i:
                self._set_index(level, i)
                x = self._element()
                if is_float:
                    match = b.select(has_nan, b.fcmp_unordered("uno", x, x), b.fcmp_ordered("==", x, target))
                else:
                    match = b.icmp_signed("==", x, target)
                b.store(_intrinsic(b, "llvm.smin.i64", _I64, [b.load(first, typ=_I64), b.select(match, i, _i64(n))]),
                        first)
            candidate = b.select(has_nan, const(dtype, np.nan), target) if is_float else target
            old = b.load(best, typ=ty)
            better = _arg_better(b, is_max, dtype, candidate, old)
            b.store(b.select(better, candidate, old), best)
            b.store(b.select(better, b.load(first, typ=_I64), b.load(where, typ=_I64)), where)

# ----------------------------------------------------------------------------------------------
# Opaque equations


_OPAQUE = {}


def _free_axes(ndim, contract, batch):
    return tuple(i for i in range(ndim) if i not in contract and i not in batch)


def _dot_general(lw, e):
    x, y = e.invars
    out = e.outvars[0]
    (lc, rc), (lb, rb) = e.params["dimension_numbers"]
    lf, rf = _free_axes(x.aval.ndim, lc, lb), _free_axes(y.aval.ndim, rc, rb)
    size = lambda a, axes: int(np.prod([a.aval.shape[i] for i in axes], dtype=np.int64))
    nb, m, n, k = size(x, lb), size(x, lf), size(y, rf), size(x, lc)
    dtype = out.aval.dtype
    if dtype in (np.float32, np.float64) and m * n * k >= _BLAS_MIN and max(m, n, k) < 2 ** 31:
        return _dot_blas(lw, e, (nb, m, n, k), (lb, lf, lc), (rb, rc, rf))
    # A reduction nest: domain = batch, lhs free, rhs free, contracting axes.
    domain = ([x.aval.shape[i] for i in lb] + [x.aval.shape[i] for i in lf] + [y.aval.shape[i] for i in rf]
              + [x.aval.shape[i] for i in lc])
    nd = len(domain)
    unit = lambda j: _unit(j, nd)
    pos_x = {a: j for j, a in enumerate(list(lb) + list(lf))}
    pos_x.update({a: nd - len(lc) + j for j, a in enumerate(lc)})
    pos_y = {a: j for j, a in enumerate(rb)}
    pos_y.update({a: len(lb) + len(lf) + j for j, a in enumerate(rf)})
    pos_y.update({a: nd - len(rc) + j for j, a in enumerate(rc)})
    mx = tuple(unit(pos_x[i]) for i in range(x.aval.ndim))
    my = tuple(unit(pos_y[i]) for i in range(y.aval.ndim))
    mul = _SCALAR["mul"]

    def element(em):
        return mul(em.b, e, em.value(x, mx), em.value(y, my)) if not em.dry else (em.value(x, mx), em.value(y, my))

    reduced = [False] * (nd - len(lc)) + [True] * len(lc)
    _Kernel(lw, _Spec(domain, reduced, element, out, "sum", dtype, {})).launch()


def _dot_blas(lw, e, dims, lhs_axes, rhs_axes):
    """Per batch: C (m x n) = A (m x k) @ B (k x n) with cblas gemm, row-major."""
    b = lw.b
    x, y = e.invars
    out = e.outvars[0]
    nb, m, n, k = dims
    dtype = out.aval.dtype
    lb, lf, lc = lhs_axes
    rb, rc, rf = rhs_axes

    def operand(v, batch, first, second, rows, cols):
        """(pointer, transposed, leading dimension) of v viewed as batch x (rows x cols)."""
        order = tuple(range(v.aval.ndim))
        if tuple(batch) + tuple(first) + tuple(second) == order:
            return lw.pointer(v), False, max(cols, 1)
        if tuple(batch) + tuple(second) + tuple(first) == order:
            return lw.pointer(v), True, max(rows, 1)
        perm = tuple(batch) + tuple(first) + tuple(second)   # copy into that layout
        shape = [v.aval.shape[i] for i in perm]
        tmp = lw.malloc(int(np.prod(shape)) * dtype.itemsize)
        M = tuple(_unit(perm.index(i), len(perm)) for i in range(len(perm)))
        copy = Var(v.aval.update(shape=tuple(shape)))
        lw.temporary[copy] = tmp
        _Kernel(lw, _Spec(shape, [False] * len(shape), lambda em: em.value(v, M), copy, None, dtype, {})).launch()
        return tmp, False, max(cols, 1)

    a, ta, lda = operand(x, lb, lf, lc, m, k)
    bb, tb, ldb = operand(y, rb, rc, rf, k, n)
    c = lw.pointer(out)
    gemm = blas.declare_gemm(lw.module, dtype)
    fty = reg_type(dtype)
    i32 = lambda v: ir.Constant(_I32, int(v))
    item = dtype.itemsize
    with _Loop(b, _i64(0), _i64(nb)) as i:
        pa = b.gep(a, [b.mul(i, _i64(m * k * item))], source_etype=_I8)
        pb = b.gep(bb, [b.mul(i, _i64(k * n * item))], source_etype=_I8)
        pc = b.gep(c, [b.mul(i, _i64(m * n * item))], source_etype=_I8)
        b.call(gemm, [i32(blas.ROW_MAJOR), i32(blas.TRANS if ta else blas.NO_TRANS),
                      i32(blas.TRANS if tb else blas.NO_TRANS), i32(m), i32(n), i32(k), ir.Constant(fty, 1.0),
                      pa, i32(lda), pb, i32(ldb), ir.Constant(fty, 0.0), pc, i32(n)])


_OPAQUE["dot_general"] = _dot_general


def _store_kernel(lw, domain, element, out, out_form=None, body=None):
    _Kernel(lw, _Spec(domain, [False] * len(domain), element, out, None, out.aval.dtype, {},
                      out_form=out_form, body=body)).launch()


def _view(lw, v, pointer):
    """A stand-in Var for buffer `v`'s memory seen from another base pointer."""
    view = Var(v.aval)
    lw.temporary[view] = pointer
    return view


def _element_pointer(lw, v, offset):
    return lw.b.gep(lw.pointer(v), [offset], inbounds=True, source_etype=mem_type(v.aval.dtype))


def _clamped_start(lw, start, limit):
    """A start index (scalar atom) as i64 clamped to [0, limit]."""
    b = lw.b
    if type(start) is Literal:
        return _i64(min(max(int(start.val), 0), limit))
    return _clamp_index(b, _load(b, lw.pointer(start), _i64(0), start.aval.dtype), start.aval.dtype, limit)


def _clamp_index(b, v, dtype, limit):
    """Index `v` of `dtype` as i64 clamped to [0, limit]. Unsigned indices compare unsigned: a
    uint64 of 2**63 or more is past the end (as NumPy's clip sees it), not negative."""
    v = convert(b, v, dtype, np.int64)
    if _kind(dtype) == "u":
        return b.select(b.icmp_unsigned(">", v, _i64(limit)), _i64(limit), v)
    v = b.select(b.icmp_signed("<", v, _i64(0)), _i64(0), v)
    return b.select(b.icmp_signed(">", v, _i64(limit)), _i64(limit), v)


def _window_offset(lw, shape, sizes, starts):
    b, acc = lw.b, _i64(0)
    for st, n, m, s in zip(_row_major(shape), shape, sizes, starts):
        acc = b.add(acc, b.mul(_clamped_start(lw, s, n - m), _i64(st)))
    return acc


def _identity_copy(lw, src, out):
    n = src.aval.ndim
    _store_kernel(lw, src.aval.shape, lambda em: em.value(src, _identity(n)), out)


def _dynamic_slice(lw, e):
    x, *starts = e.invars
    out = e.outvars[0]
    sizes = e.params["slice_sizes"]
    view = _view(lw, x, _element_pointer(lw, x, _window_offset(lw, x.aval.shape, sizes, starts)))
    n = len(sizes)
    _store_kernel(lw, sizes, lambda em: em.value(view, _identity(n)), out)


def _dynamic_update_slice(lw, e):
    x, u, *starts = e.invars
    out = e.outvars[0]
    if out not in lw.plan.in_place:
        _identity_copy(lw, x, out)
    view = _view(lw, out, _element_pointer(lw, out, _window_offset(lw, x.aval.shape, u.aval.shape, starts)))
    n = u.aval.ndim
    form = _affine_combination(_identity(n), _row_major(x.aval.shape))
    _store_kernel(lw, u.aval.shape, lambda em: em.value(u, _identity(n)), view, out_form=form)


def _concatenate(lw, e):
    out, axis = e.outvars[0], e.params["dimension"]
    strides, offset = _row_major(out.aval.shape), 0
    for x in e.invars:
        n = x.aval.ndim
        view = _view(lw, out, _element_pointer(lw, out, _i64(offset * strides[axis])))
        form = _affine_combination(_identity(n), strides)
        _store_kernel(lw, x.aval.shape, (lambda x: lambda em: em.value(x, _identity(n)))(x), view, out_form=form)
        offset += x.aval.shape[axis]


def _pad(lw, e):
    x, fill = e.invars
    out = e.outvars[0]
    _store_kernel(lw, out.aval.shape, lambda em: em.value(fill, ()), out)
    strides = _row_major(out.aval.shape)
    rows, counts, coefs, constant = [], [], [], 0
    for d, (n, (lo, hi, interior)) in enumerate(zip(x.aval.shape, e.params["padding_config"])):
        step, size = interior + 1, out.aval.shape[d]
        first = max(0, -(lo // step) if lo < 0 else 0)
        last = min(n - 1, (size - 1 - lo) // step) if size - 1 - lo >= 0 else -1
        counts.append(max(0, last - first + 1))
        rows.append(_unit(d, x.aval.ndim, 1, first))
        coefs.append(step * strides[d])
        constant += (lo + first * step) * strides[d]
    form = _affine_combination(_identity(x.aval.ndim), coefs, constant)
    _store_kernel(lw, counts, lambda em: em.value(x, tuple(rows)), out, out_form=form)


def _gather_parts(x, idx, axes, ndomain, nbatch):
    """Index rows of the index tuples (per indexed axis) and the affine part of x's offset."""
    k = len(axes)
    idx_rows = [tuple(_unit(i, ndomain) for i in range(nbatch)) + (_unit(None, ndomain, constant=j),)
                for j in range(k)]
    rest = [d for d in range(x.aval.ndim) if d not in axes]
    strides = _row_major(x.aval.shape)
    x_form = _affine_combination([_unit(nbatch + r, ndomain) for r in range(len(rest))], [strides[d] for d in rest],
                                 ndomain=ndomain)
    return idx_rows, x_form, strides


def _index_value(em, idx, row, limit, clamp):
    """One index as i64: clamped to [0, limit - 1], or (value, in-bounds flag)."""
    b = em.b
    if clamp:
        return _clamp_index(b, em.value(idx, row), idx.aval.dtype, limit - 1), None
    v = convert(b, em.value(idx, row), idx.aval.dtype, np.int64)
    return v, b.icmp_unsigned("<", v, _i64(limit))     # negative (or >= 2**63 unsigned) is outside too


def _gather(lw, e):
    x, idx = e.invars
    out, axes = e.outvars[0], e.params["axes"]
    nd, nbatch = out.aval.ndim, idx.aval.ndim - 1
    idx_rows, x_form, strides = _gather_parts(x, idx, axes, nd, nbatch)

    def element(em):
        if em.dry:
            for row in idx_rows:
                em.value(idx, row)
            return em.load(x, x_form)
        extra = _i64(0)
        for row, d in zip(idx_rows, axes):
            v, _ = _index_value(em, idx, row, x.aval.shape[d], clamp=True)
            extra = em.b.add(extra, em.b.mul(v, _i64(strides[d])))
        return em.load(x, x_form, extra)
    _store_kernel(lw, out.aval.shape, element, out)


_SCATTER = {"scatter": None, "scatter_add": "sum", "scatter_mul": "prod", "scatter_min": "min", "scatter_max": "max"}


def _scatter(lw, e):
    x, idx, u = e.invars
    out, axes = e.outvars[0], e.params["axes"]
    combine = _SCATTER[e.primitive.name]
    if out not in lw.plan.in_place:
        _identity_copy(lw, x, out)
    nd, nbatch = u.aval.ndim, idx.aval.ndim - 1
    idx_rows, out_form, strides = _gather_parts(out, idx, axes, nd, nbatch)
    dtype = out.aval.dtype

    def element(em):
        if em.dry:
            for row in idx_rows:
                em.value(idx, row)
            em.forms.append(out_form)
        return em.value(u, _identity(nd))

    def body(kernel):
        em, b = kernel.em, kernel.b
        value = element(em)
        extra, ok = _i64(0), ir.Constant(_I1, 1)
        for row, d in zip(idx_rows, axes):
            v, inside = _index_value(em, idx, row, out.aval.shape[d], clamp=False)
            extra, ok = b.add(extra, b.mul(v, _i64(strides[d]))), b.and_(ok, inside)
        with b.if_then(ok):
            offset = b.add(em.offset(out_form), extra)
            if combine is not None:
                value = _combine(b, combine, dtype, _load(b, kernel.out_ptr, offset, dtype), value)
            _store(b, value, kernel.out_ptr, offset, dtype)

    _store_kernel(lw, u.aval.shape, element, out, out_form=(0,) * (nd + 1), body=body)


def _cumulative(lw, e):
    x, out = e.invars[0], e.outvars[0]
    axis, reverse, shape = e.params["axis"], e.params["reverse"], x.aval.shape
    n = len(shape)
    order = [d for d in range(n) if d != axis] + [axis]
    rows = [_unit(order.index(i), n) for i in range(n)]
    if reverse:
        rows[axis] = _unit(n - 1, n, -1, shape[axis] - 1)
    rows = tuple(rows)
    op = "scan:" + {"cumsum": "sum", "cumprod": "prod", "cummax": "max", "cummin": "min"}[e.primitive.name]
    form = _affine_combination(rows, _row_major(shape))
    _Kernel(lw, _Spec([shape[d] for d in order], [d == axis for d in order], lambda em: em.value(x, rows), out, op,
                      out.aval.dtype, {}, out_form=form)).launch()


def _less(b, dtype, x, y):
    """x < y in sort order (NaN after everything, as NumPy sorts)."""
    k = _kind(dtype)
    if k == "f":
        return b.or_(b.fcmp_ordered("<", x, y), b.and_(b.fcmp_ordered("ord", x, x), b.fcmp_unordered("uno", y, y)))
    return (b.icmp_signed if k == "i" else b.icmp_unsigned)("<", x, y)


def _sort_comparator(module, name, key_dtypes, stride):
    """int cmp(i64* a, i64* b, ctx) for qsort_r: ctx = the key rows' pointers; compares the keys
    at positions *a and *b (elements `stride` apart) lexicographically, then the positions (stable)."""
    fn = ir.Function(module, ir.FunctionType(_I32, [_PTR, _PTR, _PTR]), name)
    fn.linkage = "internal"
    pa, pb, ctx = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    ia, ib = b.load(pa, typ=_I64), b.load(pb, typ=_I64)
    oa, ob = b.mul(ia, _i64(stride)), b.mul(ib, _i64(stride))
    minus, plus = ir.Constant(_I32, -1), ir.Constant(_I32, 1)
    for k, dtype in enumerate(key_dtypes):
        key = b.load(b.gep(ctx, [_i64(k)], source_etype=_PTR), typ=_PTR)
        x, y = _load(b, key, oa, dtype), _load(b, key, ob, dtype)
        for cond, result in ((_less(b, dtype, x, y), minus), (_less(b, dtype, y, x), plus)):
            with b.if_then(cond):
                b.ret(result)
    b.ret(b.select(b.icmp_signed("<", ia, ib), minus, b.select(b.icmp_signed(">", ia, ib), plus,
                                                                  ir.Constant(_I32, 0))))
    return fn


_RADIX_MIN = 256   # row length from which one numeric key is sorted by radix instead of qsort_r


def _radix_key(b, dtype, x):
    """An unsigned integer of x's width ordered as `_less` orders x, ties included: NaNs (all
    equal) above everything, -0.0 equal to +0.0."""
    width = 8 * np.dtype(dtype).itemsize
    ity = ir.IntType(width)
    sign = ir.Constant(ity, 1 << (width - 1))
    if _kind(dtype) == "i":
        return b.xor(x, sign)
    if _kind(dtype) != "f":
        return x
    x = b.select(b.fcmp_ordered("==", x, const(dtype, 0)), const(dtype, 0), x)
    bits = b.bitcast(x, ity)
    key = b.select(b.icmp_signed("<", bits, ir.Constant(ity, 0)), b.not_(bits), b.or_(bits, sign))
    return b.select(b.fcmp_unordered("uno", x, x), ir.Constant(ity, -1), key)


def _radix_order(kernel, key, row, stride, n, buffers):
    """Positions 0..n-1 of the row of `key` at `row` (elements `stride` apart) in stable sort order,
    by least-significant-digit radix sort of `_radix_key`s, a byte per pass: one read counts every
    byte's histogram, then each pass whose byte is not the same for all keys scatters (key,
    position) pairs in order. `buffers`: pointers to two key arrays and two position arrays (i64)
    of n. Returns the pointer to the array of positions."""
    b, dtype = kernel.b, key.aval.dtype
    passes = np.dtype(dtype).itemsize
    ity = ir.IntType(8 * passes)
    keys_a, keys_b, pos_a, pos_b = buffers
    hist = kernel.alloca_builder.alloca(_I64, size=256 * passes)
    with _Loop(b, _i64(0), _i64(256 * passes)) as j:
        b.store(_i64(0), b.gep(hist, [j], source_etype=_I64))

    def slot(k, p):
        digit = b.zext(b.trunc(b.lshr(k, ir.Constant(ity, 8 * p)), _I8), _I64) if passes > 1 else b.zext(k, _I64)
        return b.gep(hist, [b.add(digit, _i64(256 * p))], source_etype=_I64)

    with _Loop(b, _i64(0), _i64(n)) as i:
        k = _radix_key(b, dtype, _load(b, kernel.em.pointers[key], b.add(row, b.mul(i, _i64(stride))), dtype))
        b.store(k, b.gep(keys_a, [i], source_etype=ity))
        b.store(i, b.gep(pos_a, [i], source_etype=_I64))
        for p in range(passes):
            h = slot(k, p)
            b.store(b.add(b.load(h, typ=_I64), _i64(1)), h)
    some_key = b.load(keys_a, typ=ity)
    cur = [kernel.alloca_builder.alloca(_PTR) for _ in range(4)]   # source keys, positions; destinations
    for c, v in zip(cur, (keys_a, pos_a, keys_b, pos_b)):
        b.store(v, c)
    total = kernel.alloca_builder.alloca(_I64)
    for p in range(passes):
        with b.if_then(b.icmp_signed("!=", b.load(slot(some_key, p), typ=_I64), _i64(n))):
            b.store(_i64(0), total)
            with _Loop(b, _i64(0), _i64(256)) as j:          # counts -> first position of each digit
                h = b.gep(hist, [b.add(j, _i64(256 * p))], source_etype=_I64)
                count = b.load(h, typ=_I64)
                b.store(b.load(total, typ=_I64), h)
                b.store(b.add(b.load(total, typ=_I64), count), total)
            src_k, src_p, dst_k, dst_p = [b.load(c, typ=_PTR) for c in cur]
            with _Loop(b, _i64(0), _i64(n)) as i:
                k = b.load(b.gep(src_k, [i], source_etype=ity), typ=ity)
                h = slot(k, p)
                at = b.load(h, typ=_I64)
                b.store(b.add(at, _i64(1)), h)
                b.store(k, b.gep(dst_k, [at], source_etype=ity))
                b.store(b.load(b.gep(src_p, [i], source_etype=_I64), typ=_I64), b.gep(dst_p, [at], source_etype=_I64))
            for c, v in zip(cur, (dst_k, dst_p, src_k, src_p)):
                b.store(v, c)
    return b.load(cur[1], typ=_PTR)


def _sort(lw, e):
    """Per row along `dimension`: the positions 0..n-1 in stable order of the keys (radix sort of
    one numeric key of `_RADIX_MIN` elements or more, else qsort_r comparing the keys, then the
    positions), then every operand gathered in that order."""
    operands, outs = e.invars, e.outvars
    dim, num_keys = e.params["dimension"], e.params["num_keys"]
    shape = operands[0].aval.shape
    n, stride = shape[dim], _row_major(shape)[dim]
    if not outs[0].aval.size:
        return
    kept = [d for d in range(len(shape)) if d != dim]
    strides = _row_major(shape)
    row_form = _affine_combination([_unit(j, len(kept)) for j in range(len(kept))], [strides[d] for d in kept])
    perm = Var(ShapedArray((n,), np.int64))
    lw.temporary[perm] = lw.malloc(8 * n)
    radix = num_keys == 1 and _kind(operands[0].aval.dtype) in "fiu" and n >= _RADIX_MIN
    scratch = []
    if radix:
        key_dtype = operands[0].aval.dtype
        scratch = [Var(ShapedArray((n,), key_dtype)), Var(ShapedArray((n,), key_dtype)), Var(ShapedArray((n,), np.int64))]
        for v in scratch:
            lw.temporary[v] = lw.malloc(v.aval.dtype.itemsize * n)
    cmp = _sort_comparator(lw.module, lw.fresh("sort_cmp"), [v.aval.dtype for v in operands[:num_keys]], stride)
    qsort = _extern(lw.module, "qsort_r", _VOID, [_PTR, _I64, _I64, _PTR, _PTR])

    def element(em):
        for v in list(operands) + [perm] + scratch:
            em.load(v, row_form)
        em.forms.append(row_form)

    def body(kernel):
        em, b = kernel.em, kernel.b
        row = em.offset(row_form)
        if radix:
            buffers = [em.pointers[scratch[0]], em.pointers[scratch[1]], em.pointers[perm], em.pointers[scratch[2]]]
            gather(kernel, row, _radix_order(kernel, operands[0], row, stride, n, buffers))
            return
        ctx = kernel.alloca_builder.alloca(_PTR, size=num_keys)
        for k, v in enumerate(operands[:num_keys]):
            b.store(b.gep(em.pointers[v], [row], source_etype=mem_type(v.aval.dtype)),
                    b.gep(ctx, [_i64(k)], source_etype=_PTR))
        order = em.pointers[perm]
        with _Loop(b, _i64(0), _i64(n)) as i:
            b.store(i, b.gep(order, [i], source_etype=_I64))
        b.call(qsort, [order, _i64(n), _i64(8), cmp, ctx])
        gather(kernel, row, order)

    def gather(kernel, row, order):
        em, b = kernel.em, kernel.b
        with _Loop(b, _i64(0), _i64(n)) as i:
            src = b.add(row, b.mul(b.load(b.gep(order, [i], source_etype=_I64), typ=_I64), _i64(stride)))
            dst = b.add(row, b.mul(i, _i64(stride)))
            for v, o in zip(operands, outs):
                _store(b, _load(b, em.pointers[v], src, v.aval.dtype), em.pointers[o], dst, o.aval.dtype)

    _Kernel(lw, _Spec([shape[d] for d in kept], [False] * len(kept), element, outs[0], None, outs[0].aval.dtype, {},
                      out_form=(0,) * (len(kept) + 1), body=body, stores=outs[1:])).launch()


_OPAQUE["sort"] = _sort


# ----------------------------------------------------------------------------------------------
# Linear algebra on stacks of matrices: LAPACKE / CBLAS per matrix, in place on the output


_CBLAS_LEFT, _CBLAS_RIGHT, _CBLAS_UPPER, _CBLAS_LOWER, _CBLAS_NON_UNIT, _CBLAS_UNIT = 141, 142, 121, 122, 131, 132


def _i32(v):
    return ir.Constant(_I32, int(v))


def _char(c):
    return ir.Constant(_I8, ord(c))


def _per_matrix(scope, avals, body):
    """for each of the stack's matrices: body(i, [pointer of matrix i of each buffer]) where
    `avals` pairs (pointer, aval) name buffers whose last two (or one) axes are per matrix."""
    b = scope.b
    count = int(np.prod(avals[0][1].shape[:-2], dtype=np.int64))
    with _Loop(b, _i64(0), _i64(count)) as i:
        parts = []
        for pointer, aval in avals:
            per = fusion.nbytes(aval) // max(count, 1)
            parts.append(b.gep(pointer, [b.mul(i, _i64(per))], source_etype=_I8))
        body(parts)


def _in_place(scope, src, dst):
    """Copy src into dst, which a factorisation then overwrites; False when dst is empty."""
    if not dst.aval.size:
        return False
    copy_atom(scope, src, scope.pointer(dst), dst.aval)
    return True


def _fill_where(scope, pointer, n, dtype, predicate, value):
    """matrix[r, c] = value where predicate(r, c) (LLVM i1), for an n x n row-major matrix."""
    b = scope.b
    with _Loop(b, _i64(0), _i64(n)) as r:
        with _Loop(b, _i64(0), _i64(n)) as c:
            with b.if_then(predicate(r, c)):
                _store(b, value, pointer, b.add(b.mul(r, _i64(n)), c), dtype)


def _cholesky(scope, e):
    (a,), (out,) = e.invars, e.outvars
    n, dtype = a.aval.shape[-1], a.aval.dtype
    if not _in_place(scope, a, out):
        return
    potrf = blas.declare(scope.module, "potrf", dtype)
    b = scope.b
    nan = const(dtype, np.nan)

    def body(parts):
        (m,) = parts
        info = b.call(potrf, [_i32(blas.ROW_MAJOR), _char("L"), _i32(n), m, _i32(n)])
        failed = b.icmp_signed("!=", info, _i32(0))     # not positive definite: all NaN, as the impl
        _fill_where(scope, m, n, dtype, lambda r, c: b.or_(failed, b.icmp_signed(">", c, r)),
                    b.select(failed, nan, const(dtype, 0)))
    _per_matrix(scope, [(scope.pointer(out), out.aval)], body)


def _triangular_solve(scope, e):
    a, rhs = e.invars
    out, p = e.outvars[0], e.params
    dtype = out.aval.dtype
    if not _in_place(scope, rhs, out):
        return
    blas.library()
    fty = reg_type(dtype)
    trsm = _extern(scope.module, f"scipy_cblas_{'s' if dtype == np.float32 else 'd'}trsm", _VOID,
                   [_I32] * 7 + [fty, _PTR, _I32, _PTR, _I32])
    m_rows, n_cols = out.aval.shape[-2:]
    k = a.aval.shape[-1]
    flags = [_i32(blas.ROW_MAJOR), _i32(_CBLAS_LEFT if p["left_side"] else _CBLAS_RIGHT),
             _i32(_CBLAS_LOWER if p["lower"] else _CBLAS_UPPER), _i32(blas.TRANS if p["transpose_a"] else blas.NO_TRANS),
             _i32(_CBLAS_UNIT if p["unit_diagonal"] else _CBLAS_NON_UNIT), _i32(m_rows), _i32(n_cols)]
    _per_matrix(scope, [(scope.atom_pointer(a), a.aval), (scope.pointer(out), out.aval)],
                lambda parts: scope.b.call(trsm, flags + [ir.Constant(fty, 1.0), parts[0], _i32(max(k, 1)), parts[1],
                                                          _i32(max(n_cols, 1))]))


def _lu(scope, e):
    (a,), (lu, pivots, perm) = e.invars, e.outvars
    n, dtype = a.aval.shape[-1], a.aval.dtype
    if not _in_place(scope, a, lu):
        return
    getrf = blas.declare(scope.module, "getrf", dtype)
    b = scope.b

    def body(parts):
        m, piv, order = parts
        b.call(getrf, [_i32(blas.ROW_MAJOR), _i32(n), _i32(n), m, _i32(n), piv])
        with _Loop(b, _i64(0), _i64(n)) as i:           # 1-based pivots -> 0-based; identity permutation
            slot = b.gep(piv, [i], source_etype=_I32)
            b.store(b.sub(b.load(slot, typ=_I32), _i32(1)), slot)
            b.store(b.trunc(i, _I32), b.gep(order, [i], source_etype=_I32))
        with _Loop(b, _i64(0), _i64(n)) as i:           # apply the row swaps in order
            j = b.sext(b.load(b.gep(piv, [i], source_etype=_I32), typ=_I32), _I64)
            pi, pj = b.gep(order, [i], source_etype=_I32), b.gep(order, [j], source_etype=_I32)
            vi, vj = b.load(pi, typ=_I32), b.load(pj, typ=_I32)
            b.store(vj, pi)
            b.store(vi, pj)
    _per_matrix(scope, [(scope.pointer(v), v.aval) for v in (lu, pivots, perm)], body)


def _eigh(scope, e):
    (a,), (vectors, values) = e.invars, e.outvars
    n, dtype = a.aval.shape[-1], a.aval.dtype
    if not _in_place(scope, a, vectors):
        return
    syevd = blas.declare(scope.module, "syevd", dtype)
    uplo = _char("L" if e.params["lower"] else "U")
    _per_matrix(scope, [(scope.pointer(vectors), vectors.aval), (scope.pointer(values), values.aval)],
                lambda parts: scope.b.call(syevd, [_i32(blas.ROW_MAJOR), _char("V"), uplo, _i32(n), parts[0], _i32(n),
                                                   parts[1]]))


def _qr(scope, e):
    """Reduced QR: geqrf (R in the upper triangle, reflectors below), R copied out, orgqr forms Q."""
    (a,), (q, r) = e.invars, e.outvars
    (m, n), dtype = a.aval.shape[-2:], a.aval.dtype
    if not _in_place(scope, a, q):
        return
    prefix = f"scipy_LAPACKE_{'s' if dtype == np.float32 else 'd'}"
    blas.library()
    geqrf = _extern(scope.module, prefix + "geqrf", _I32, [_I32, _I32, _I32, _PTR, _I32, _PTR])
    orgqr = _extern(scope.module, prefix + "orgqr", _I32, [_I32, _I32, _I32, _I32, _PTR, _I32, _PTR])
    tau = scope.malloc(max(n, 1) * dtype.itemsize)
    b = scope.b

    def body(parts):
        qm, rm = parts
        b.call(geqrf, [_i32(blas.ROW_MAJOR), _i32(m), _i32(n), qm, _i32(n), tau])
        with _Loop(b, _i64(0), _i64(n)) as i:
            with _Loop(b, _i64(0), _i64(n)) as j:
                at = b.add(b.mul(i, _i64(n)), j)
                value = _load(b, qm, at, dtype)
                _store(b, b.select(b.icmp_signed(">=", j, i), value, const(dtype, 0)), rm, at, dtype)
        b.call(orgqr, [_i32(blas.ROW_MAJOR), _i32(m), _i32(n), _i32(n), qm, _i32(n), tau])
    _per_matrix(scope, [(scope.pointer(q), q.aval), (scope.pointer(r), r.aval)], body)


_OPAQUE.update({"cholesky": _cholesky, "triangular_solve": _triangular_solve, "lu": _lu, "eigh": _eigh, "qr": _qr})


# ----------------------------------------------------------------------------------------------
# Control flow: sub-jaxprs emitted in place (branches of a switch, bodies of loops)


def _body(closed):
    """The Jaxpr of a sub-IR param (its consts must have been hoisted into operands)."""
    if isinstance(closed, ClosedJaxpr):
        if closed.consts:
            raise NotImplementedError("compiler: control-flow sub-IRs with their own constants are not supported "
                                      "(hoist them into operands)")
        return closed.jaxpr
    return closed


def _cond(scope, e):
    index, *ops = e.invars
    branches = [_body(br) for br in e.params["branches"]]
    b = scope.b
    ins = [scope.atom_pointer(a) for a in ops]
    outs = [scope.pointer(v) for v in e.outvars]
    if type(index) is Literal:
        which = _i64(index.val)
    else:
        which = convert(b, _load(b, scope.pointer(index), _i64(0), index.aval.dtype), index.aval.dtype, np.int64)
    which = b.select(b.icmp_signed("<", which, _i64(0)), _i64(0), which)
    which = b.select(b.icmp_signed(">", which, _i64(len(branches) - 1)), _i64(len(branches) - 1), which)
    blocks = [b.append_basic_block(f"branch{k}") for k in range(len(branches))]
    done = b.append_basic_block("cond_done")
    switch = b.switch(which, blocks[-1])
    for k, block in enumerate(blocks[:-1]):
        switch.add_case(_i64(k), block)
    donated = {scope.plan.in_place[v] - 1: k for k, v in enumerate(e.outvars) if v in scope.plan.in_place}
    n = next(n for n, s in enumerate(scope.plan.steps) if s.eqn is e)
    scratch = fusion.scratch_operands(scope.plan, n)
    for i, a in enumerate(ops):
        if i not in donated and any(a is v for v in scratch):
            donated[i] = None     # dead after the cond: a branch may overwrite it (not an output)
    for block, jaxpr in zip(blocks, branches):
        b.position_at_end(block)
        branch = _Scope(scope.lw, jaxpr, ins, [], outs, donated)
        assert all(branch.plan.ties.get(k) == i for i, k in donated.items() if k is not None), \
            "cond: a branch refused an in-place output"
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
    ties = fusion.plan(body, _SCALAR, _reusable, _donated(first, outvars)).ties
    return current, [None if k in ties else scope.malloc(fusion.nbytes(v.aval)) for k, v in enumerate(outvars)]


def _donated(first, carries):
    return {first + k: k for k in range(len(carries))}


def _advance(scope, current, following, outvars):
    for dst, src, v in zip(current, following, outvars):
        if v.aval.size and src is not None:
            _intrinsic(scope.b, "llvm.memcpy.p0.p0.i64", _VOID,
                       [dst, src, _i64(fusion.nbytes(v.aval)), ir.Constant(_I1, 0)])


def _while(scope, e):
    nc, nb = e.params["cond_nconsts"], e.params["body_nconsts"]
    cconsts, bconsts, init = e.invars[:nc], e.invars[nc:nc + nb], e.invars[nc + nb:]
    cond, body = _body(e.params["cond_jaxpr"]), _body(e.params["body_jaxpr"])
    b = scope.b
    cc, bc = [scope.atom_pointer(a) for a in cconsts], [scope.atom_pointer(a) for a in bconsts]
    current, following = _carry(scope, init, e.outvars, body, nb)
    flag = scope.malloc(1)
    head, loop, done = (b.append_basic_block(n) for n in ("while_head", "while_body", "while_done"))
    b.branch(head)
    b.position_at_end(head)
    _Scope(scope.lw, cond, cc + current, [], [flag]).emit()
    b.cbranch(_load(b, flag, _i64(0), np.bool_), loop, done)
    b.position_at_end(loop)
    _Scope(scope.lw, body, bc + current, [], following, _donated(nb, current)).emit()
    _advance(scope, current, following, e.outvars)
    b.branch(head)
    b.position_at_end(done)


def _scan(scope, e):
    p = e.params
    n_consts, n_carry, length = p["num_consts"], p["num_carry"], p["length"]
    consts, init, xs = e.invars[:n_consts], e.invars[n_consts:n_consts + n_carry], e.invars[n_consts + n_carry:]
    body = _body(p["jaxpr"])
    b = scope.b
    cs = [scope.atom_pointer(a) for a in consts]
    x_ptrs = [scope.pointer(x) for x in xs]
    ys = e.outvars[n_carry:]
    y_ptrs = [scope.pointer(y) for y in ys]
    current, following = _carry(scope, init, e.outvars[:n_carry], body, n_consts)
    with _Loop(b, _i64(0), _i64(length)) as it:
        i = b.sub(_i64(length - 1), it) if p["reverse"] else it
        row = lambda ptr, v: b.gep(ptr, [b.mul(i, _i64(fusion.nbytes(v.aval) // max(length, 1)))], source_etype=_I8)
        _Scope(scope.lw, body, cs + current + [row(q, x) for q, x in zip(x_ptrs, xs)], [],
               following + [row(q, y) for q, y in zip(y_ptrs, ys)], _donated(n_consts, current)).emit()
        _advance(scope, current, following, e.outvars[:n_carry])


_OPAQUE.update({"cond": _cond, "while": _while, "scan": _scan})


def _reusable(e):
    """(operand position, result position) pairs `e`'s lowering can compute in place: the updated
    array of dynamic_update_slice and scatter; a loop's carry in its initial value's buffer; a cond
    output that every branch either updates in place from (or passes through) the same operand or
    computes afresh into that operand's buffer."""
    name, p = e.primitive.name, e.params
    if name == "dynamic_update_slice" or name in _SCATTER:
        return [(0, 0)]
    if name == "while":
        first = p["cond_nconsts"] + p["body_nconsts"]
        return [(first + k, k) for k in range(len(e.outvars))]
    if name == "scan":
        return [(p["num_consts"] + k, k) for k in range(p["num_carry"])]
    if name != "cond":
        return []
    branches = [_body(br) for br in p["branches"]]
    origins = [_update_origins(jaxpr) for jaxpr in branches]
    donated = {}
    for k in range(len(e.outvars)):
        candidates = {o.get(k) for o in origins} - {None}   # branches without one compute it afresh
        i = candidates.pop() if len(candidates) == 1 else None
        if i is not None and i not in donated and not candidates:
            donated[i] = k
    while True:
        kept = donated
        for jaxpr in branches:
            ties = fusion.plan(jaxpr, _SCALAR, _reusable, kept).ties
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
            operands = [e.invars[pos] for pos, r in _reusable(e) if e.outvars[r] is v]
            if not operands:
                break
            v = operands[0]
        if v in inputs:
            origins[k] = inputs[v]
    return origins


def _decomposition(e):
    """The sub-jaxpr a primitive without a lowering rule offers through its optional
    `decompose(*in_avals, **params) -> ClosedJaxpr` rule (computing it from other primitives)."""
    return _body(e.primitive.decompose(*[a.aval for a in e.invars], **e.params))


def _decomposed(scope, e):
    _Scope(scope.lw, _decomposition(e), [scope.atom_pointer(a) for a in e.invars], [],
           [scope.pointer(v) for v in e.outvars]).emit()
_OPAQUE.update({"dynamic_slice": _dynamic_slice, "dynamic_update_slice": _dynamic_update_slice,
                "concatenate": _concatenate, "pad": _pad, "gather": _gather, "cumsum": _cumulative,
                "cumprod": _cumulative, "cummax": _cumulative, "cummin": _cumulative})
_OPAQUE.update({name: _scatter for name in _SCATTER})
_OPAQUE[online.online_max_sumexp_p.name] = online.emit


def supported_primitives():
    """Names of the primitives `lower` can compile."""
    return frozenset(_SCALAR) | fusion.REDUCTIONS | frozenset(_OPAQUE) | frozenset(
        ["broadcast_in_dim", "transpose", "iota", "stop_gradient", "reshape", "slice", "rev"])


# ----------------------------------------------------------------------------------------------
# The module


class _Scope:
    """One jaxpr's steps emitted at the current position of main, over given data pointers of
    its inputs, consts and outputs (LLVM values that dominate the position). Sub-jaxprs of control
    flow get scopes of their own, emitted inside the loops/branches that run them."""

    def __init__(self, lw, jaxpr, ins, consts, outs, donated=None):
        jaxpr = online.rewrite(jaxpr)   # max / sum-of-exp pairs in one pass (compiler.online)
        self.lw, self.jaxpr = lw, jaxpr
        self.plan = fusion.plan(jaxpr, _SCALAR, _reusable, donated)
        self.given = {"input": ins, "const": consts, "output": outs}
        self.pointers = {}
        self.arena = lw.malloc(self.plan.arena_size) if self.plan.arena_size else None

    def __getattr__(self, name):     # module, b, fresh, malloc, entry_alloca, temporary
        return getattr(self.lw, name)

    def emit(self):
        for step in self.plan.steps:
            if step.kind in (fusion.ELEMENTAL, fusion.REDUCTION):
                _Kernel(self, _kernel_spec(step)).launch()
            elif step.kind == fusion.OPAQUE:
                _OPAQUE.get(step.eqn.primitive.name, _decomposed)(self, step.eqn)
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
            p = self.b.gep(self.arena, [_i64(where)], source_etype=_I8)
        else:
            p = self.given[kind][where]
        self.pointers[v] = p
        return p

    def atom_pointer(self, atom):
        """Like `pointer`, for a Literal too (stored into a small buffer here)."""
        if type(atom) is not Literal:
            return self.pointer(atom)
        p = self.malloc(8)
        _store(self.b, const(atom.aval.dtype, atom.val), p, _i64(0), atom.aval.dtype)
        return p


def copy_atom(scope, atom, dst, aval):
    """Copy an atom's value (buffer or literal) of `aval` into buffer `dst`."""
    b = scope.b
    if type(atom) is Literal:
        with _Loop(b, _i64(0), _i64(aval.size)) as i:
            _store(b, const(aval.dtype, atom.val), dst, i, aval.dtype)
    elif aval.size:
        _intrinsic(b, "llvm.memcpy.p0.p0.i64", _VOID,
                   [dst, scope.pointer(atom), _i64(fusion.nbytes(aval)), ir.Constant(_I1, 0)])


class _Lowering:
    """The module: `fnad_main` runs the top-level `_Scope`; shared state (names, allocations)."""

    def __init__(self, closed):
        jaxpr = closed.jaxpr
        _check_supported(jaxpr)
        self.module = ir.Module(name="fnad")
        self.names = {}
        self.temporary = {}       # Var -> pointer of buffers made by a lowering rule
        self.to_free = []
        main = ir.Function(self.module, ir.FunctionType(_VOID, [_PTR, _PTR, _PTR]), "fnad_main")
        self.entry_builder = ir.IRBuilder(main.append_basic_block("allocas"))
        self.b = ir.IRBuilder(main.append_basic_block("entry"))
        ins, consts, outs = main.args
        table = lambda array, n: [self.entry_builder.load(self.entry_builder.gep(array, [_i64(i)], source_etype=_PTR),
                                                          typ=_PTR) for i in range(n)]
        _Scope(self, jaxpr, table(ins, len(jaxpr.invars)), table(consts, len(jaxpr.constvars)),
               table(outs, len(jaxpr.outvars))).emit()
        free = _extern(self.module, "free", _VOID, [_PTR])
        for p in self.to_free:
            self.b.call(free, [p])
        self.b.ret_void()
        self.entry_builder.branch(main.basic_blocks[1])

    def fresh(self, prefix):
        n = self.names[prefix] = self.names.get(prefix, -1) + 1
        return f"{prefix}{n}"

    def entry_alloca(self, ty, count):
        return self.entry_builder.alloca(ty, size=count)

    def malloc(self, nbytes):
        """A 64-byte aligned buffer allocated once per call (in main's entry block), freed at exit."""
        alloc = _extern(self.module, "aligned_alloc", _PTR, [_I64, _I64])
        p = self.entry_builder.call(alloc, [_i64(64), _i64(-(-max(nbytes, 1) // 64) * 64)])
        prefault(self.entry_builder, p, nbytes)
        self.to_free.append(p)
        return p


def prefault(b, pointer, nbytes):
    """Fault in a large new buffer's pages with one madvise(MADV_POPULATE_WRITE) (Linux >= 5.14;
    errors are ignored): a page fault per 4 KiB inside a vectorised loop costs more (a 40 MB
    output: 29 -> 21 ms for a 10^7-element fused kernel)."""
    if nbytes < _PREFAULT_MIN:
        return
    madvise = _extern(b.module, "madvise", _I32, [_PTR, _I64, _I32])
    start = _intrinsic(b, "llvm.ptrmask.p0.i64", _PTR, [pointer, _i64(-_PAGE)])
    b.call(madvise, [start, _i64((nbytes + 2 * _PAGE - 1) // _PAGE * _PAGE), _i32(_MADV_POPULATE_WRITE)])


def _check_supported(jaxpr):
    known = supported_primitives()
    for kind, vs in (("input", jaxpr.invars), ("constant", jaxpr.constvars)):
        for i, v in enumerate(vs):
            _check_dtype(v.aval, f"{kind} {i}", "pass it as float32 (x.astype(np.float32))")
    for e in jaxpr.eqns:
        for sub in _sub_jaxprs(e.params):
            _check_supported(_body(sub))
        if e.primitive.name not in known and getattr(e.primitive, "decompose", None) is not None:
            _check_supported(_decomposition(e))
        elif e.primitive.name not in known:
            raise NotImplementedError(f"compiler: no lowering for primitive '{e.primitive.name}' "
                                      f"(supported: {', '.join(sorted(known))})")
        for v in list(e.invars) + list(e.outvars):
            _check_dtype(v.aval, f"'{e.primitive.name}'" + (" at {}:{}".format(*e.source[:2]) if e.source else ""),
                         "compute in float32 there (e.g. fnp.sin(x.astype(np.float32)))")
    for i, v in enumerate(jaxpr.outvars):
        _check_dtype(v.aval, f"output {i}", "return it as float32")


def _check_dtype(aval, where, hint):
    """NotImplementedError naming `where` (an input, or an op and its source line) when compiled
    code cannot hold `aval`'s dtype (float16, complex)."""
    try:
        reg_type(aval.dtype)
    except NotImplementedError as e:
        raise NotImplementedError(f"{e}; found at {where} ({aval.str_short()}): {hint}, or call the function "
                                  "without jit") from None


def _sub_jaxprs(params):
    for value in params.values():
        for v in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(v, (Jaxpr, ClosedJaxpr)):
                yield v


def lower(closed):
    """The LLVM module of a ClosedJaxpr, defining `fnad_main` (see the module docstring)."""
    return _Lowering(closed).module
