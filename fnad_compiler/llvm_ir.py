"""Shared llvmlite helpers of the compiler: the LLVM types of dtypes and of pointers, constants,
intrinsic and external function declarations, counted loops, typed loads and stores. It imports
nothing from the compiler, so that every module (the lowering, the runtime's entry point, the thread
pool, the BLAS declarations) can use it; the runtimes import it only where they build IR (see
`fnad_compiler.ir_text`)."""

from __future__ import annotations

import numpy as np
from llvmlite import ir

from fnad_compiler import cache

__all__ = [
    "I1",
    "I8",
    "I32",
    "I64",
    "PTR",
    "UNIT_FUNCTION",
    "VOID",
    "Loop",
    "const",
    "convert",
    "dtype_kind",
    "extern",
    "i32",
    "i64",
    "intrinsic",
    "load_at",
    "load_function",
    "mem_type",
    "reg_type",
    "store_at",
    "type_suffix",
    "unit_text",
    "zero_of",
]

I1, I8, I32, I64 = ir.IntType(1), ir.IntType(8), ir.IntType(32), ir.IntType(64)
PTR, VOID = ir.PointerType(), ir.VoidType()
UNIT_FUNCTION = "fnad_unit"  # the one exported function of a unit module, until `unit_text` names it


def unit_text(module):
    """(symbol, LLVM IR text) of a unit: a module whose one exported function is `UNIT_FUNCTION`,
    renamed to a symbol made from a digest of the module's text, so identical units share one symbol
    (and compiled code) wherever they come from."""
    text = str(module)
    symbol = "fnad_u" + cache.digest(text.encode()).hexdigest()[:32]
    return symbol, text.replace(f'@"{UNIT_FUNCTION}"', f'@"{symbol}"')


def dtype_kind(dtype):
    return np.dtype(dtype).kind


def reg_type(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return I1
    if dtype.kind in "iu":
        return ir.IntType(8 * dtype.itemsize)
    if dtype == np.float32:
        return ir.FloatType()
    if dtype == np.float64:
        return ir.DoubleType()
    raise NotImplementedError(f"compiler: dtype {dtype.name} is not supported (bool, int, uint, float32, float64 are)")


def mem_type(dtype):
    return I8 if np.dtype(dtype).kind == "b" else reg_type(dtype)


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


def i64(v):
    return ir.Constant(I64, int(v))


def intrinsic(b, name, ret, args):
    """Call the LLVM intrinsic `name` (full mangled name) returning `ret`."""
    fn = b.module.declare_intrinsic(name, (), ir.FunctionType(ret, [a.type for a in args]))
    return b.call(fn, args)


def type_suffix(ty):
    return ty.intrinsic_name


def extern(module, name, ret, args):
    if name in module.globals:
        return module.globals[name]
    return ir.Function(module, ir.FunctionType(ret, args), name)


class _LoadedFunction(ir.LoadInstr):
    """A function pointer loaded from memory: llvmlite's `call` takes it as a callee, as it asks the
    callee for its `function_type` (with opaque pointers a loaded `ptr` cannot tell)."""

    @property
    def function_type(self):
        return self.loaded_function_type


def load_function(b, pointer, ftype):
    """Load at `b` a pointer to a function of type `ftype` from `pointer`, callable with `b.call`."""
    value = b.load(pointer, typ=PTR)
    value.__class__ = _LoadedFunction
    value.loaded_function_type = ftype
    return value


def i32(v):
    return ir.Constant(I32, int(v))


def zero_of(ty):
    return ir.Constant(ty, 0.0 if isinstance(ty, (ir.FloatType, ir.DoubleType)) else 0)


def convert(b, x, src, dst):
    src, dst = np.dtype(src), np.dtype(dst)
    ks, kd, ty = src.kind, dst.kind, reg_type(dst)
    if src == dst:
        return x
    if kd == "b":
        return b.fcmp_unordered("!=", x, zero_of(x.type)) if ks == "f" else b.icmp_unsigned("!=", x, zero_of(x.type))
    if ks == "f" and kd == "f":
        return b.fpext(x, ty) if dst.itemsize > src.itemsize else b.fptrunc(x, ty)
    if ks == "f":  # as NumPy on x86: narrow and unsigned targets go through int64 and wrap
        if kd == "u" and ty.width == 64:
            return b.fptoui(x, ty)
        return b.fptosi(x, ty) if kd == "i" and ty.width >= 32 else b.trunc(b.fptosi(x, I64), ty)
    if kd == "f":
        return b.sitofp(x, ty) if ks == "i" else b.uitofp(x, ty)
    if ty.width == x.type.width:
        return x
    if ty.width < x.type.width:
        return b.trunc(x, ty)
    return b.sext(x, ty) if ks == "i" else b.zext(x, ty)


class Loop:
    """`with Loop(b, start, end, step) as i:` emits a counted loop; the body is built inside."""

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
        self.i = b.phi(I64)
        self.i.add_incoming(self.start, self.pre)
        b.cbranch(b.icmp_signed("<", self.i, self.end), self.body, self.exit)
        b.position_at_end(self.body)
        return self.i

    def __exit__(self, *exc):
        if exc[0] is None:
            b = self.b
            self.i.add_incoming(b.add(self.i, i64(self.step)), b.block)
            b.branch(self.head)
            b.position_at_end(self.exit)


def load_at(b, ptr, offset, dtype):
    mt = mem_type(dtype)
    v = b.load(b.gep(ptr, [offset], inbounds=True, source_etype=mt), typ=mt)
    return b.icmp_unsigned("!=", v, ir.Constant(I8, 0)) if np.dtype(dtype).kind == "b" else v


def store_at(b, value, ptr, offset, dtype):
    mt = mem_type(dtype)
    if np.dtype(dtype).kind == "b":
        value = b.zext(value, I8)
    b.store(value, b.gep(ptr, [offset], inbounds=True, source_etype=mt))
