"""Memory for the large results of compiled code.

A fresh multi-megabyte NumPy array comes from its own mmap: every call of a program that returns
one pays a page fault (and the kernel's zeroing) per 4 KiB page, which for a 40 MB result costs as
much as computing it. `empty(shape, dtype)` instead hands out arrays backed by page-aligned blocks
kept here, and a block is handed out again once no array refers to it any more: a loop that drops
each result before the next call reuses warm pages. Blocks are found free by their reference count
(the array's `base` is the block, and views of the array refer to the block too), under a lock.
At most `_MAX_BYTES` of blocks are remembered (least recently used forgotten first; a forgotten
block lives on as long as arrays use it). Smaller results come from `np.empty`.
"""

from __future__ import annotations

import mmap
import sys
import threading
from collections import OrderedDict

import numpy as np

__all__ = ["MIN_BYTES", "empty"]

MIN_BYTES = 1 << 22  # results from this size on are pooled
_MAX_BYTES = 1 << 30  # bytes of blocks remembered
_PER_SIZE = 2  # blocks remembered per size

_lock = threading.Lock()
_blocks: OrderedDict = OrderedDict()  # nbytes -> [mmap, ...], most recently used size last
_held = 0


def empty(shape, dtype):
    """An uninitialised C-contiguous array (like np.empty), from a reused block when large."""
    dtype = np.dtype(dtype)
    nbytes = dtype.itemsize
    for d in shape:
        nbytes *= d
    if nbytes < MIN_BYTES:
        return np.empty(shape, dtype)
    return np.ndarray(shape, dtype, buffer=_take(nbytes))


def _take(nbytes):
    global _held
    with _lock:
        blocks = _blocks.pop(nbytes, [])
        _blocks[nbytes] = blocks
        for i in range(len(blocks)):
            if sys.getrefcount(blocks[i]) == 2:  # the list's reference and the argument's: unused
                return blocks[i]
        block = mmap.mmap(-1, nbytes)
        if hasattr(mmap, "MADV_HUGEPAGE"):
            block.madvise(mmap.MADV_HUGEPAGE)
        if len(blocks) < _PER_SIZE:
            blocks.append(block)
            _held += nbytes
        while _held > _MAX_BYTES and _blocks:
            size, forgotten = _blocks.popitem(last=False)
            _held -= size * len(forgotten)
        return block
