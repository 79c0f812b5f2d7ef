"""Scratch memory of compiled programs, kept from one call to the next.

A program's intermediates (its fusion arena, BLAS and sort temporaries, loop carries) have sizes
fixed at compile time, so `fnad_compiler.lower` lays them all out in one block per call. Allocating
that block afresh on every call costs more than it seems: glibc serves blocks of a few megabytes
from their own mmap and unmaps them on free, so every call pays a page fault and the kernel's
zeroing per 4 KiB page again (a GMM gradient with 16 MB intermediates spent about 40% of its time
there). So each program has a *slot*, a global pointer in its own module, that keeps its block
between calls:

- `ptr fnad_scratch_take(ptr slot, i64 size)` empties the slot atomically and returns its block, or
  a new one (64-byte aligned, its pages faulted in when large) if the slot was empty: a call made
  while another thread runs the same program gets a block of its own, so calls stay reentrant.
- `void fnad_scratch_give(ptr slot, ptr block, i64 size)` puts the block back into the empty slot,
  or frees it if the slot was refilled meanwhile or if blocks kept idle by all programs would
  exceed `max_idle_bytes()` (1 GiB unless set by `set_max_idle_bytes`).
- `void fnad_scratch_release(ptr slot, i64 size)` frees the kept block; each program exports
  `fnad_release` calling it, which `fnad_compiler.engine` runs before unloading the program.

Blocks are not cleared between calls: generated code never reads scratch before writing it, just as
it did not with fresh `aligned_alloc` memory. Like `fnad_compiler.parallel`, this is a small LLVM IR
module compiled once per process; generated code resolves these symbols through `engine`.
"""

from __future__ import annotations

import ctypes
import threading

from fnad_compiler import cache, engine
from fnad_compiler.ir_text import MADV_POPULATE_WRITE, PAGE, PREFAULT_MIN

__all__ = ["ALIGN", "RUNTIME_IR", "declare", "idle_bytes", "max_idle_bytes", "set_max_idle_bytes"]

ALIGN = 64  # bytes; offsets inside a block are multiples of this

_EXPORTS = (
    "fnad_scratch_take",
    "fnad_scratch_give",
    "fnad_scratch_release",
    "fnad_scratch_idle",
    "fnad_scratch_max_idle",
)

RUNTIME_IR = f"""
@fnad_scratch_idle = global i64 0   ; bytes of blocks kept in slots, not in use by any call
@fnad_scratch_max_idle = global i64 1073741824

declare ptr @aligned_alloc(i64, i64)
declare void @free(ptr)
declare i32 @madvise(ptr, i64, i32)
declare ptr @llvm.ptrmask.p0.i64(ptr, i64)

define ptr @fnad_scratch_take(ptr %slot, i64 %size) {{
entry:
  %kept = atomicrmw xchg ptr %slot, ptr null acq_rel
  %hit = icmp ne ptr %kept, null
  br i1 %hit, label %reuse, label %fresh
reuse:
  %0 = atomicrmw sub ptr @fnad_scratch_idle, i64 %size monotonic
  ret ptr %kept
fresh:
  %block = call ptr @aligned_alloc(i64 {ALIGN}, i64 %size)
  %large = icmp uge i64 %size, {PREFAULT_MIN}
  br i1 %large, label %populate, label %done
populate:
  %start = call ptr @llvm.ptrmask.p0.i64(ptr %block, i64 {-PAGE})
  %span = add i64 %size, {2 * PAGE - 1}
  %pages = and i64 %span, {-PAGE}
  %1 = call i32 @madvise(ptr %start, i64 %pages, i32 {MADV_POPULATE_WRITE})
  br label %done
done:
  ret ptr %block
}}

define void @fnad_scratch_give(ptr %slot, ptr %block, i64 %size) {{
entry:
  %before = atomicrmw add ptr @fnad_scratch_idle, i64 %size monotonic
  %after = add i64 %before, %size
  %limit = load atomic i64, ptr @fnad_scratch_max_idle monotonic, align 8
  %fits = icmp ule i64 %after, %limit
  br i1 %fits, label %keep, label %drop
keep:
  %swap = cmpxchg ptr %slot, ptr null, ptr %block acq_rel monotonic
  %kept = extractvalue {{ ptr, i1 }} %swap, 1
  br i1 %kept, label %done, label %drop
drop:
  %0 = atomicrmw sub ptr @fnad_scratch_idle, i64 %size monotonic
  call void @free(ptr %block)
  ret void
done:
  ret void
}}

define void @fnad_scratch_release(ptr %slot, i64 %size) {{
entry:
  %kept = atomicrmw xchg ptr %slot, ptr null acq_rel
  %hit = icmp ne ptr %kept, null
  br i1 %hit, label %drop, label %done
drop:
  %0 = atomicrmw sub ptr @fnad_scratch_idle, i64 %size monotonic
  call void @free(ptr %kept)
  ret void
done:
  ret void
}}
"""

_LOCK = threading.Lock()
_RUNTIME = []  # [library] once compiled; never released (programs hold its addresses)


def _library():
    with _LOCK:
        if not _RUNTIME:
            built = cache.default_cache().get_or_compile(
                RUNTIME_IR, lambda: (RUNTIME_IR, list(_EXPORTS), {}), speed_level=0
            )
            _RUNTIME.append(built.library)
        return _RUNTIME[0]


for _name in _EXPORTS[:3]:
    engine.register_symbol(_name, lambda name=_name: _library().address(name))


def declare(module):
    """Declare the take, give and release functions in an llvmlite module; returns them."""
    # Imported here: a process whose code all comes from the disk cache builds no IR (fnad_compiler.ir_text).
    from llvmlite import ir

    from fnad_compiler.llvm_ir import I64, PTR, VOID

    types = {
        "fnad_scratch_take": ir.FunctionType(PTR, [PTR, I64]),
        "fnad_scratch_give": ir.FunctionType(VOID, [PTR, PTR, I64]),
        "fnad_scratch_release": ir.FunctionType(VOID, [PTR, I64]),
    }
    return [module.globals.get(name) or ir.Function(module, ty, name) for name, ty in types.items()]


def _cell(name):
    return ctypes.c_int64.from_address(_library().address(name))


def idle_bytes():
    """Bytes of scratch blocks kept by all programs and not in use by any call."""
    return _cell("fnad_scratch_idle").value


def max_idle_bytes():
    """At most this many bytes of blocks are kept idle; a block given back beyond it is freed."""
    return _cell("fnad_scratch_max_idle").value


def set_max_idle_bytes(n):
    """Set `max_idle_bytes()` (0: keep no block between calls)."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError(f"max_idle_bytes must be a non-negative int, got {n!r}")
    _cell("fnad_scratch_max_idle").value = n
