"""Memory for the large results of compiled code: a pool of mapped blocks, in native code.

A fresh result of a few hundred kilobytes or more comes from its own mmap: every call of a program
that returns one pays a page fault (and the kernel's zeroing) per 4 KiB page, which for a 40 MB
result costs as much as computing it, and for a 400 KB allreduce most of the call. Results of
`MIN_BYTES` and more are therefore NumPy arrays over blocks of this pool, whose pages stay mapped
and warm: when NumPy frees such an array, the block goes back to the pool, and the next result of
about its size (within a quarter) takes it again. At most `_MAX_BLOCKS` blocks of together
`_MAX_BYTES` wait in the pool: a block coming back makes room by unmapping those that waited
longest, so a process whose result sizes change keeps reusing the sizes it now makes.

The pool is a small library of LLVM IR (`pool_ir`), compiled once per disk cache, so that native
entries (`fnad_compiler.pyentry`) make pooled results without Python: `fnad_pool_array` allocates
an array over a block and gives it NumPy's memory handler of this pool (a `PyDataMem_Handler`, whose
`free` returns the block), which NumPy calls when the array goes, from any thread. A spin lock guards
the pool's slots; it is held for a scan of `_MAX_BLOCKS` slots. A block starts with a 64-byte
header holding its mapped length, so the handler needs no size from NumPy. Where the array layout is
not the one checked here (`_handler_field_known`), `fnad_pool_array` makes plain NumPy arrays.
"""

from __future__ import annotations

import ctypes
import functools
import os

import numpy as np

from fnad_compiler import engine
from fnad_compiler.ir_text import MADV_POPULATE_WRITE, PAGE

__all__ = ["MIN_BYTES", "POOL_ARRAY", "empty", "pool_ir"]

MIN_BYTES = 1 << 18  # results from this size on come from the pool
POOL_ARRAY = "fnad_pool_array"  # PyObject* fnad_pool_array(subtype, nd, dims, type_num, nbytes)
_MAX_BYTES = 1 << 29  # bytes of blocks waiting in the pool
_MAX_BLOCKS = 16
_HEADER = 64  # bytes before a block's data: its mapped length, and the data's alignment
_HANDLER_NAME = b"fnad_result_pool"
_MADV_HUGEPAGE = 14
_MEM_HANDLER_FIELD = 88  # PyArrayObject_fields.mem_handler (NumPy >= 1.22, 64-bit)
_FLAGS_FIELD, _OWNDATA, _CARRAY = 64, 0x4, 0x1 | 0x100 | 0x400  # C-contiguous, aligned, writeable
_EXPORTS = [
    POOL_ARRAY,
    "fnad_pool_init",
    "fnad_pool_after_fork",
    "fnad_pool_malloc",
    "fnad_pool_calloc",
    "fnad_pool_realloc",
    "fnad_pool_free",
]


@functools.cache
def pool_ir():
    """The pool's LLVM IR text (see the module docstring)."""
    return f"""
@spin = private global i32 0
@capsule = private global ptr null
@held = private global i64 0
@victim = private global i64 0
@blocks = private global [{_MAX_BLOCKS} x ptr] zeroinitializer

declare ptr @mmap(ptr, i64, i32, i32, i32, i64)
declare i32 @munmap(ptr, i64)
declare i32 @madvise(ptr, i64, i32)
declare void @llvm.memcpy.p0.p0.i64(ptr, ptr, i64, i1)
declare void @llvm.memset.p0.i64(ptr, i8, i64, i1)
declare {{i64, i1}} @llvm.umul.with.overflow.i64(i64, i64)
declare ptr @fnad_PyArray_New(ptr, i32, ptr, i32, ptr, ptr, i32, i32, ptr)

; The handler's capsule (fnad_compiler.buffers); null leaves the pool off and results plain.
define void @fnad_pool_init(ptr %capsule) {{
  store ptr %capsule, ptr @capsule
  ret void
}}

; In a child process after fork(): its only thread holds no lock (another thread of the parent may have).
define void @fnad_pool_after_fork() {{
  store i32 0, ptr @spin
  ret void
}}

define private void @lock() {{
entry:
  br label %try
try:
  %old = atomicrmw xchg ptr @spin, i32 1 acquire
  %got = icmp eq i32 %old, 0
  br i1 %got, label %done, label %wait
wait:
  %now = load atomic i32, ptr @spin monotonic, align 4
  %busy = icmp ne i32 %now, 0
  br i1 %busy, label %wait, label %try
done:
  ret void
}}

define private void @unlock() {{
  store atomic i32 0, ptr @spin release, align 4
  ret void
}}

; Data of at least %nbytes (64-byte aligned, uninitialised, pages present), or null.
define private ptr @take(i64 %nbytes) {{
entry:
  %padded = add i64 %nbytes, {_HEADER + PAGE - 1}
  %len = and i64 %padded, {-PAGE}
  %quarter = lshr i64 %len, 2
  %most = add i64 %len, %quarter
  call void @lock()
  br label %scan
scan:
  %i = phi i64 [0, %entry], [%next, %skip]
  %slot = getelementptr [{_MAX_BLOCKS} x ptr], ptr @blocks, i64 0, i64 %i
  %block = load ptr, ptr %slot
  %empty = icmp eq ptr %block, null
  br i1 %empty, label %skip, label %check
check:
  %have = load i64, ptr %block
  %enough = icmp uge i64 %have, %len
  %not_much_more = icmp ule i64 %have, %most
  %fits = and i1 %enough, %not_much_more
  br i1 %fits, label %reuse, label %skip
skip:
  %next = add i64 %i, 1
  %more = icmp ult i64 %next, {_MAX_BLOCKS}
  br i1 %more, label %scan, label %fresh
reuse:
  store ptr null, ptr %slot
  %held_before = load i64, ptr @held
  %held_after = sub i64 %held_before, %have
  store i64 %held_after, ptr @held
  call void @unlock()
  %data = getelementptr i8, ptr %block, i64 {_HEADER}
  ret ptr %data
fresh:
  call void @unlock()
  ; PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS
  %mapped = call ptr @mmap(ptr null, i64 %len, i32 3, i32 34, i32 -1, i64 0)
  %failed = icmp eq ptr %mapped, inttoptr (i64 -1 to ptr)
  br i1 %failed, label %out_of_memory, label %advise
out_of_memory:
  ret ptr null
advise:
  ; MADV_HUGEPAGE (one fault per 2 MiB where the kernel allows it), then MADV_POPULATE_WRITE: one
  ; call faulting in every page, cheaper than a fault per page inside the kernel's loops (Linux >=
  ; 5.14; errors are ignored).
  call i32 @madvise(ptr %mapped, i64 %len, i32 {_MADV_HUGEPAGE})
  call i32 @madvise(ptr %mapped, i64 %len, i32 {MADV_POPULATE_WRITE})
  store i64 %len, ptr %mapped
  %fresh_data = getelementptr i8, ptr %mapped, i64 {_HEADER}
  ret ptr %fresh_data
}}

; NumPy's memory handler (PyDataMemAllocator): the block of %data back to the pool. Room is made by
; unmapping the blocks that waited longest (the slots are taken in turn, from @victim), so blocks of
; sizes a process no longer uses give way to those it does.
define void @fnad_pool_free(ptr %ctx, ptr %data, i64 %size) {{
entry:
  %none = icmp eq ptr %data, null
  br i1 %none, label %out, label %give
give:
  %block = getelementptr i8, ptr %data, i64 {-_HEADER}
  %len = load i64, ptr %block
  %storable = icmp ule i64 %len, {_MAX_BYTES}
  br i1 %storable, label %locked, label %release
locked:
  call void @lock()
  br label %scan
scan:
  %i = phi i64 [0, %locked], [%next, %skip], [0, %evicted]
  %slot = getelementptr [{_MAX_BLOCKS} x ptr], ptr @blocks, i64 0, i64 %i
  %occupant = load ptr, ptr %slot
  %empty = icmp eq ptr %occupant, null
  br i1 %empty, label %room, label %skip
skip:
  %next = add i64 %i, 1
  %more = icmp ult i64 %next, {_MAX_BLOCKS}
  br i1 %more, label %scan, label %evict
room:
  %held_before = load i64, ptr @held
  %held_after = add i64 %held_before, %len
  %fits = icmp ule i64 %held_after, {_MAX_BYTES}
  br i1 %fits, label %keep, label %evict
keep:
  store ptr %block, ptr %slot
  store i64 %held_after, ptr @held
  call void @unlock()
  ret void
evict:
  %victim = load i64, ptr @victim
  %victim_slot = getelementptr [{_MAX_BLOCKS} x ptr], ptr @blocks, i64 0, i64 %victim
  %old = load ptr, ptr %victim_slot
  store ptr null, ptr %victim_slot
  %following = add i64 %victim, 1
  %wrapped = urem i64 %following, {_MAX_BLOCKS}
  store i64 %wrapped, ptr @victim
  %had_one = icmp ne ptr %old, null
  br i1 %had_one, label %unmap_old, label %evicted
unmap_old:
  %old_len = load i64, ptr %old
  %held_now = load i64, ptr @held
  %held_less = sub i64 %held_now, %old_len
  store i64 %held_less, ptr @held
  call i32 @munmap(ptr %old, i64 %old_len)
  br label %evicted
evicted:
  br label %scan
release:
  call i32 @munmap(ptr %block, i64 %len)
  br label %out
out:
  ret void
}}

define ptr @fnad_pool_malloc(ptr %ctx, i64 %size) {{
  %data = call ptr @take(i64 %size)
  ret ptr %data
}}

define ptr @fnad_pool_calloc(ptr %ctx, i64 %count, i64 %itemsize) {{
entry:
  %product = call {{i64, i1}} @llvm.umul.with.overflow.i64(i64 %count, i64 %itemsize)
  %overflow = extractvalue {{i64, i1}} %product, 1
  br i1 %overflow, label %fail, label %allocate
fail:
  ret ptr null
allocate:
  %size = extractvalue {{i64, i1}} %product, 0
  %data = call ptr @take(i64 %size)
  %got = icmp ne ptr %data, null
  br i1 %got, label %zero, label %fail
zero:
  call void @llvm.memset.p0.i64(ptr %data, i8 0, i64 %size, i1 false)
  ret ptr %data
}}

define ptr @fnad_pool_realloc(ptr %ctx, ptr %data, i64 %size) {{
entry:
  %moved = call ptr @take(i64 %size)
  %none = icmp eq ptr %data, null
  %failed = icmp eq ptr %moved, null
  %keep_old = or i1 %none, %failed
  br i1 %keep_old, label %done, label %move
move:
  %block = getelementptr i8, ptr %data, i64 {-_HEADER}
  %len = load i64, ptr %block
  %old_size = sub i64 %len, {_HEADER}
  %shorter = icmp ult i64 %old_size, %size
  %count = select i1 %shorter, i64 %old_size, i64 %size
  call void @llvm.memcpy.p0.p0.i64(ptr %moved, ptr %data, i64 %count, i1 false)
  call void @fnad_pool_free(ptr %ctx, ptr %data, i64 0)
  br label %done
done:
  ret ptr %moved
}}

; A C-contiguous array of `subtype` (an ndarray type) over pool memory, owning it through the
; pool's handler; NULL with NumPy's exception set if NumPy cannot make it.
define ptr @{POOL_ARRAY}(ptr %subtype, i32 %nd, ptr %dims, i32 %type_num, i64 %nbytes) {{
entry:
  %handler = load ptr, ptr @capsule
  %pooled = icmp ne ptr %handler, null
  br i1 %pooled, label %take, label %plain
take:
  %data = call ptr @take(i64 %nbytes)
  %got = icmp ne ptr %data, null
  br i1 %got, label %wrap, label %plain
plain:
  ; NumPy's own memory (and its MemoryError)
  %own = call ptr @fnad_PyArray_New(ptr %subtype, i32 %nd, ptr %dims, i32 %type_num, ptr null, ptr null, i32 0, i32 0, ptr null)
  ret ptr %own
wrap:
  %array = call ptr @fnad_PyArray_New(ptr %subtype, i32 %nd, ptr %dims, i32 %type_num, ptr null, ptr %data, i32 0, i32 {_CARRAY}, ptr null)
  %made = icmp ne ptr %array, null
  br i1 %made, label %adopt, label %undo
undo:
  call void @fnad_pool_free(ptr null, ptr %data, i64 0)
  ret ptr null
adopt:
  %flags_at = getelementptr i8, ptr %array, i64 {_FLAGS_FIELD}
  %flags = load i32, ptr %flags_at
  %owning = or i32 %flags, {_OWNDATA}
  store i32 %owning, ptr %flags_at
  %handler_at = getelementptr i8, ptr %array, i64 {_MEM_HANDLER_FIELD}
  store ptr %handler, ptr %handler_at
  %references = load i64, ptr %handler
  %one_more = add i64 %references, 1
  store i64 %one_more, ptr %handler
  ret ptr %array
}}
"""


class _Allocator(ctypes.Structure):  # NumPy's PyDataMemAllocator
    _fields_ = [("ctx", ctypes.c_void_p)] + [
        (name, ctypes.c_void_p) for name in ("malloc", "calloc", "realloc", "free")
    ]


class _Handler(ctypes.Structure):  # NumPy's PyDataMem_Handler
    _fields_ = [("name", ctypes.c_char * 127), ("version", ctypes.c_uint8), ("allocator", _Allocator)]


_new_capsule = ctypes.PYFUNCTYPE(ctypes.py_object, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p)(
    ("PyCapsule_New", ctypes.pythonapi)
)
_capsule_name = ctypes.PYFUNCTYPE(ctypes.c_char_p, ctypes.py_object)(("PyCapsule_GetName", ctypes.pythonapi))
_capsule_pointer = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.py_object, ctypes.c_char_p)(
    ("PyCapsule_GetPointer", ctypes.pythonapi)
)
_MEM_HANDLER = b"mem_handler"  # the capsule name NumPy requires of a handler


def _handler_field_known():
    """Whether NumPy arrays hold their memory handler where `fnad_pool_array` puts it: at
    `_MEM_HANDLER_FIELD`, arrays owning their data hold one pointer (the default handler) and views
    NULL; that pointer is a capsule named as NumPy's handlers are, whose handler has the name NumPy
    reports for the arrays. The object is read only once the pointers look like the field."""
    from numpy._core.multiarray import get_handler_name

    owners = [np.empty(n, dtype) for n, dtype in ((1 << 16, np.uint8), (3, np.float32), (0, np.int64))]
    field = lambda a: ctypes.c_void_p.from_address(id(a) + _MEM_HANDLER_FIELD).value
    pointers = {field(a) for a in owners}
    if len(pointers) != 1 or None in pointers or field(owners[0][1:]) is not None:
        return False
    capsule = ctypes.cast(pointers.pop(), ctypes.py_object).value
    if type(capsule) is not type(np._core._multiarray_umath._ARRAY_API) or _capsule_name(capsule) != _MEM_HANDLER:
        return False
    handler = _Handler.from_address(_capsule_pointer(capsule, _MEM_HANDLER))
    return all(handler.name.decode() == get_handler_name(a) for a in owners)


@functools.cache
def _library():
    """The compiled pool, switched on where the array layout is known; it lives as long as the process."""
    from fnad_compiler import cache

    text = pool_ir()
    compiled = cache.default_cache().get_or_compile(
        text, lambda: cache.Build(text, _EXPORTS, {}, codegen_level=0), speed_level=1
    )
    library = compiled.library
    if _handler_field_known():
        functions = {name: library.address(f"fnad_pool_{name}") for name in ("malloc", "calloc", "realloc", "free")}
        handler = _Handler(_HANDLER_NAME, 1, _Allocator(None, **functions))
        capsule = _new_capsule(ctypes.addressof(handler), _MEM_HANDLER, None)
        library.function("fnad_pool_init", None, ctypes.py_object)(capsule)
        library.pool_handler = (handler, capsule)  # alive as long as the library, which is never unloaded
    os.register_at_fork(after_in_child=library.function("fnad_pool_after_fork", None))
    return library


@functools.cache
def _pool_array():
    new = ctypes.PYFUNCTYPE(
        ctypes.py_object, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int64
    )(_library().address(POOL_ARRAY))
    return new


def empty(shape, dtype):
    """An uninitialised, writeable C-contiguous array (like np.empty), over pool memory when large."""
    dtype = np.dtype(dtype)
    shape = tuple(shape)
    nbytes = dtype.itemsize * int(np.prod(shape, dtype=np.int64))
    if nbytes < MIN_BYTES or dtype.hasobject or dtype.num >= np.dtype(np.void).num:
        return np.empty(shape, dtype)
    dims = (ctypes.c_int64 * max(len(shape), 1))(*shape)
    return _pool_array()(id(np.ndarray), len(shape), ctypes.addressof(dims), dtype.num, nbytes)


engine.register_symbol(POOL_ARRAY, lambda: _library().address(POOL_ARRAY))
