"""conv_general_dilated in its canonical forms (fnad's decomposition brings every float ungrouped
convolution to one of them with transposes and a pad; grouped and integer ones arrive as im2col +
dot_general instead), unpadded, without input dilation, float32/float64:

- channels-last: input (N, spatial..., C), kernel (spatial..., C, O), output (N, spatial..., O).
  Per image, the patches are packed into a tile of scratch, one row per output position holding the
  C contiguous input elements of each kernel position (a memcpy each), and one CBLAS gemm multiplies
  the tile by the kernel seen as a (K*C) x O matrix into the image's output rows.
- kernel gradient: input (N, spatial..., C), "kernel" (N, spatial..., O) (an output cotangent),
  output (spatial..., C, O). Per image, the tile has one row per cotangent position holding the
  input elements of each output position, and a gemm adds tile^T @ (the image's cotangent rows) into
  the group's partial sum; the partial sums are added in group order at the end.

The images are shared out in a fixed number of groups (from the batch size only, at most
`_GROUPS_MAX`), each with its own tile (and partial sum), run on fnad's pool by
`fnad_conv_sgemm`/`fnad_conv_dgemm` (LLVM IR compiled once, below); every gemm's shape and every sum's
order depend on the convolution only, so results never depend on the thread count. Tiles of more
than `_TILE_BYTES` hold fewer rows (a multiple of 16) and the image takes several gemms.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np
from llvmlite import ir

from fnad_compiler import blas, cache, engine
from fnad_compiler.ir_text import args_struct_text
from fnad_compiler.llvm_ir import I1, I64, PTR, VOID, i64, intrinsic
from fnad_compiler.lower.rules import opaque_rule

_GROUPS_MAX = 8  # groups of images run in parallel (each packs into its own tile)
_TILE_BYTES = 4 << 20  # a tile of patches larger than this is split into row blocks
_NAME = "fnad_conv_{}gemm"
_ARGS = [  # the runtime function's arguments (and the struct its blocks receive)
    ("x", "ptr"),
    ("w", "ptr"),
    ("out", "ptr"),
    ("n", "i64"),
    ("p", "i64"),
    ("k", "i64"),
    ("c", "i64"),
    ("o", "i64"),
    ("image", "i64"),
    ("offp", "ptr"),
    ("offk", "ptr"),
    ("buf", "ptr"),
    ("rows", "i64"),
    ("groups", "i64"),
    ("mode", "i64"),
    ("part", "ptr"),
]

_RUNTIME_IR = r"""
%args = type { FIELD_TYPES }
declare void @CBLAS(i32, i32, i32, i32, i32, i32, FLOAT, ptr, i32, ptr, i32, FLOAT, ptr, i32)
declare void @fnad_parallel_for(ptr, ptr, i64, i64)
declare void @llvm.memcpy.p0.p0.i64(ptr, ptr, i64, i1)
declare void @llvm.memset.p0.i64(ptr, i8, i64, i1)

define internal void @groups(ptr %args, i64 %first, i64 %last) {   ; groups of images [first, last)
entry:
UNPACK
  %kc = mul i64 %k, %c
  %tile = mul i64 %rows, %kc
  %cbytes = mul i64 %c, SIZE
  %o32 = trunc i64 %o to i32
  %kc32 = trunc i64 %kc to i32
  %kco = mul i64 %kc, %o
  %kcobytes = mul i64 %kco, SIZE
  %gradient = icmp eq i64 %mode, 1
  br label %g.head
g.head:
  %g = phi i64 [%first, %entry], [%g1, %g.next]
  %g.more = icmp slt i64 %g, %last
  br i1 %g.more, label %g.body, label %done
g.body:                                  ; images [g*n/groups, (g+1)*n/groups), packed into tile g
  %boff = mul i64 %g, %tile
  %bufg = getelementptr FLOAT, ptr %buf, i64 %boff
  %poff = mul i64 %g, %kco
  %partg = getelementptr FLOAT, ptr %part, i64 %poff
  br i1 %gradient, label %g.zero, label %g.images
g.zero:                                  ; kernel gradient: group g's partial sum starts at zero
  call void @llvm.memset.p0.i64(ptr %partg, i8 0, i64 %kcobytes, i1 false)
  br label %g.images
g.images:
  %gn = mul i64 %g, %n
  %n0 = udiv i64 %gn, %groups
  %g1 = add i64 %g, 1
  %g1n = mul i64 %g1, %n
  %n1 = udiv i64 %g1n, %groups
  br label %i.head
i.head:
  %i = phi i64 [%n0, %g.images], [%i1, %i.next]
  %i.more = icmp slt i64 %i, %n1
  br i1 %i.more, label %i.body, label %g.next
i.body:
  %xoff = mul i64 %i, %image
  %xi = getelementptr FLOAT, ptr %x, i64 %xoff
  br label %r.head
r.head:                                  ; row blocks [r0, r.end) of the image's output positions
  %r0 = phi i64 [0, %i.body], [%r1, %r.next]
  %r.more = icmp slt i64 %r0, %p
  br i1 %r.more, label %r.body, label %i.next
r.body:
  %r.stop = add i64 %r0, %rows
  %r.past = icmp sgt i64 %r.stop, %p
  %r.end = select i1 %r.past, i64 %p, i64 %r.stop
  br label %q.head
q.head:                                  ; output position q: one row of the tile
  %q = phi i64 [%r0, %r.body], [%q1, %q.next]
  %q.more = icmp slt i64 %q, %r.end
  br i1 %q.more, label %q.body, label %gemm
q.body:
  %opp = getelementptr i64, ptr %offp, i64 %q
  %op = load i64, ptr %opp
  %xq = getelementptr FLOAT, ptr %xi, i64 %op
  %qr = sub i64 %q, %r0
  %drow = mul i64 %qr, %kc
  %dq = getelementptr FLOAT, ptr %bufg, i64 %drow
  br label %k.head
k.head:                                  ; kernel position kk: C contiguous elements
  %kk = phi i64 [0, %q.body], [%kk1, %k.body]
  %k.more = icmp slt i64 %kk, %k
  br i1 %k.more, label %k.body, label %q.next
k.body:
  %okp = getelementptr i64, ptr %offk, i64 %kk
  %ok = load i64, ptr %okp
  %src = getelementptr FLOAT, ptr %xq, i64 %ok
  %dcol = mul i64 %kk, %c
  %dst = getelementptr FLOAT, ptr %dq, i64 %dcol
  call void @llvm.memcpy.p0.p0.i64(ptr %dst, ptr %src, i64 %cbytes, i1 false)
  %kk1 = add i64 %kk, 1
  br label %k.head
q.next:
  %q1 = add i64 %q, 1
  br label %q.head
gemm:
  %orow0 = mul i64 %i, %p
  %orow = add i64 %orow0, %r0
  %ooff = mul i64 %orow, %o
  %nr = sub i64 %r.end, %r0
  %nr32 = trunc i64 %nr to i32
  br i1 %gradient, label %gemm.gradient, label %gemm.forward
gemm.forward:                            ; the tile's output rows = tile (nr x kc) @ w (kc x o)
  %outq = getelementptr FLOAT, ptr %out, i64 %ooff
  call void @CBLAS(i32 101, i32 111, i32 111, i32 %nr32, i32 %o32, i32 %kc32, FLOAT 1.0, ptr %bufg, i32 %kc32,
                   ptr %w, i32 %o32, FLOAT 0.0, ptr %outq, i32 %o32)
  br label %r.next
gemm.gradient:                           ; partial (kc x o) += tile^T (kc x nr) @ w's rows (nr x o)
  %wq = getelementptr FLOAT, ptr %w, i64 %ooff
  call void @CBLAS(i32 101, i32 112, i32 111, i32 %kc32, i32 %o32, i32 %nr32, FLOAT 1.0, ptr %bufg, i32 %kc32,
                   ptr %wq, i32 %o32, FLOAT 1.0, ptr %partg, i32 %o32)
  br label %r.next
r.next:
  %r1 = add i64 %r0, %rows
  br label %r.head
i.next:
  %i1 = add i64 %i, 1
  br label %i.head
g.next:
  br label %g.head
done:
  ret void
}

define void @NAME(SIGNATURE) {
entry:
  %args = alloca %args
PACK
  call void @fnad_parallel_for(ptr @groups, ptr %args, i64 %groups, i64 1)
  %gradient = icmp eq i64 %mode, 1
  br i1 %gradient, label %sum, label %done
sum:                                     ; kernel gradient: out = the groups' partial sums, in order
  %kc = mul i64 %k, %c
  %kco = mul i64 %kc, %o
  %kcobytes = mul i64 %kco, SIZE
  call void @llvm.memcpy.p0.p0.i64(ptr %out, ptr %part, i64 %kcobytes, i1 false)
  br label %s.head
s.head:
  %sg = phi i64 [1, %sum], [%sg1, %s.next]
  %s.more = icmp slt i64 %sg, %groups
  br i1 %s.more, label %s.body, label %done
s.body:
  %soff = mul i64 %sg, %kco
  %src = getelementptr FLOAT, ptr %part, i64 %soff
  br label %e.head
e.head:
  %e = phi i64 [0, %s.body], [%e1, %e.body]
  %e.more = icmp slt i64 %e, %kco
  br i1 %e.more, label %e.body, label %s.next
e.body:
  %dp = getelementptr FLOAT, ptr %out, i64 %e
  %sp = getelementptr FLOAT, ptr %src, i64 %e
  %dv = load FLOAT, ptr %dp
  %sv = load FLOAT, ptr %sp
  %tv = fadd FLOAT %dv, %sv
  store FLOAT %tv, ptr %dp
  %e1 = add i64 %e, 1
  br label %e.head
s.next:
  %sg1 = add i64 %sg, 1
  br label %s.head
done:
  ret void
}
"""


def _runtime(letter):
    """Address of fnad_conv_sgemm / fnad_conv_dgemm (compiled once, through the disk cache)."""
    name = _NAME.format(letter)
    unpack, pack = args_struct_text(_ARGS)
    text = (
        _RUNTIME_IR.replace("UNPACK", unpack)
        .replace("PACK", pack)
        .replace("FIELD_TYPES", ", ".join(t for _, t in _ARGS))
        .replace("SIGNATURE", ", ".join(f"{t} %{f}" for f, t in _ARGS))
        .replace("CBLAS", blas.symbol_name("gemm", {"s": np.float32, "d": np.float64}[letter]))
        .replace("NAME", name)
        .replace("SIZE", {"s": "4", "d": "8"}[letter])
        .replace("FLOAT", {"s": "float", "d": "double"}[letter])
    )
    blas.library()
    compiled = cache.default_cache().get_or_compile(text, lambda: (text, [name], {}))
    _RUNTIME_LIBRARIES.append(compiled)  # generated code keeps calling it: never released
    return compiled.library.address(name)


_RUNTIME_LIBRARIES = []
for _letter in "sd":
    engine.register_symbol(_NAME.format(_letter), functools.partial(_runtime, _letter))


def _offsets(module, name, values):
    """A constant i64 array in `module` (its pointer)."""
    ty = ir.ArrayType(I64, max(len(values), 1))
    table = ir.GlobalVariable(module, ty, name)
    table.linkage, table.global_constant = "internal", True
    table.initializer = ir.Constant(ty, [int(v) for v in values] or [0])
    return table


def _mode(e):
    """0 for a channels-last convolution, 1 for a kernel gradient, None for another form."""
    from fnad.primitives.conv import channels_last, kernel_gradient  # the forms fnad decomposes into

    x = e.invars[0]
    p, nsp = e.params, x.aval.ndim - 2
    plain = (
        all(pad == (0, 0) for pad in p["padding"])
        and all(d == 1 for d in p["lhs_dilation"])
        and p["feature_group_count"] == p["batch_group_count"] == 1
        and p["preferred_element_type"] is None
        and x.aval.dtype in (np.float32, np.float64)
    )
    forms = {channels_last(nsp): 0, kernel_gradient(nsp): 1}
    return forms.get(p["dimension_numbers"]) if plain else None


def _table(spatial, positions, steps):
    """Element offsets into an image of `spatial` x C (row-major) of each position (multi-index
    over `positions`) times `steps`."""
    strides = [math.prod(spatial[i + 1 :]) for i in range(len(spatial))]
    return [
        sum(i * s * st for i, s, st in zip(pos, steps, strides)) for pos in itertools.product(*map(range, positions))
    ]


@opaque_rule("conv_general_dilated")
def _conv(scope, e):
    mode = _mode(e)
    if mode is None:
        raise NotImplementedError(
            f"compiler: conv_general_dilated is lowered in its canonical forms only (channels-last or kernel "
            f"gradient; unpadded, ungrouped, float), got {e.params}; fnad.passes.prepare_for_compile brings "
            "convolutions to them"
        )
    x, w = e.invars
    out = e.outvars[0]
    dtype = out.aval.dtype
    b = scope.b
    if out.aval.size == 0:
        return
    item = dtype.itemsize
    n, *spatial, c = x.aval.shape
    strides, dilation = e.params["window_strides"], e.params["rhs_dilation"]
    if mode == 0:  # rows: output positions; columns: kernel positions x C
        offp = [v * c for v in _table(spatial, out.aval.shape[1:-1], strides)]
        offk = [v * c for v in _table(spatial, w.aval.shape[:-2], dilation)]
    else:  # rows: the cotangent's positions; columns: the gradient's positions x C
        offp = [v * c for v in _table(spatial, w.aval.shape[1:-1], dilation)]
        offk = [v * c for v in _table(spatial, out.aval.shape[:-2], strides)]
    o = w.aval.shape[-1]
    p, k = len(offp), len(offk)
    kc = k * c
    if kc * n * p == 0:  # nothing to sum: zeros
        intrinsic(
            b,
            "llvm.memset.p0.i64",
            VOID,
            [scope.pointer(out), ir.Constant(ir.IntType(8), 0), i64(out.aval.size * item), ir.Constant(I1, 0)],
        )
        return
    if max(kc, o, p) >= 2**31:
        raise NotImplementedError(f"compiler: conv_general_dilated with {p} x {kc} patches (a side >= 2**31)")
    rows = p if p * kc * item <= _TILE_BYTES else max(16, _TILE_BYTES // (kc * item) // 16 * 16)
    rows = min(rows, p)
    groups = min(n, _GROUPS_MAX)
    buf = scope.malloc(groups * rows * kc * item)
    part = scope.malloc(groups * kc * o * item) if mode == 1 else ir.Constant(PTR, None)
    module = scope.module
    letter = "s" if dtype == np.float32 else "d"
    name = _NAME.format(letter)
    fn = module.globals.get(name) or ir.Function(
        module, ir.FunctionType(VOID, [PTR if t == "ptr" else I64 for _, t in _ARGS]), name
    )
    tables = [_offsets(module, scope.fresh("conv_offsets"), v) for v in (offp, offk)]
    b.call(
        fn,
        [
            scope.atom_pointer(x),
            scope.atom_pointer(w),
            scope.pointer(out),
            i64(n),
            i64(p),
            i64(k),
            i64(c),
            i64(o),
            i64(math.prod(spatial) * c),
            *(b.bitcast(t, PTR) for t in tables),
            buf,
            i64(rows),
            i64(groups),
            i64(mode),
            part,
        ],
    )
