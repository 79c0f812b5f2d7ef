"""Two tiers of unit code: quick code first, fully optimised code once a program is called often.

Most jitted programs over small arrays run a handful of times (tests, notebooks, shape sweeps),
yet LLVM's full pipeline (O3, loop and SLP vectorisation, code generation level 3) takes 5-10x the
time of a quick one (no optimisation, or O1 for vector math and sums; fast instruction selection:
see `engine.optimize`). So a unit whose kernel does little work per call (`quick_max_work`
elements, outside control-flow loops) is first compiled quickly; the program's main counts its
calls and, at the `PROMOTE_AFTER`th, calls `fnad_rt_promote`, which queues the program's quick
units for a background thread. That thread compiles each at the full level, stores it in the disk
cache and swaps it in: main calls every unit through a *slot* (`UnitSlot`), a pointer it loads on
each call, so the swap is one aligned 8-byte store and programs already loaded switch over at their
next call. Quick code is never unloaded (a thread may still be running it). A later process finds
the full unit on disk first.

$FNAD_COMPILE_TIERS chooses: "auto" (the default, as above), "full" (every unit fully optimised at
once, as units larger than `quick_max_work` always are) or "quick" (never promoted: for testing the
quick code).

`quick_level` chooses the quick code and bounds what it may cost before promotion: unoptimised, 1-2
ns more per element than full code, vectorised (vector math, sums) up to 1.75x its time
(`engine.optimize`): a few milliseconds over the `PROMOTE_AFTER` calls at `QUICK_MAX_WORK` and
`QUICK_MAX_VECTORISED_WORK` elements respectively, against the 10-40 ms of compile time a quick unit
saves. Vectorising takes LLVM 12-25 ms of a unit's 15-30, so a unit of vector math over at most
`QUICK_SCALAR_MAX_WORK` elements is not vectorised either (`QUICK_SCALAR_LEVEL`): its math then
runs scalar, 90-150 ns more per element, at most 10 ms over the `PROMOTE_AFTER` calls. Float sums
add in lanes written into the IR (`lower.kernel`), so their quick code adds exactly as full code
does, vectorised or not: sums of arithmetic are unoptimised up to `QUICK_MAX_WORK` elements
(sum(x*x) of 65536 float64: 1.1 ns more per element) and vectorised beyond. Not a unit whose sums
LLVM may reassociate (those in prefetching strips): unvectorised, they would add sequentially, not
in partial sums as full code does (differently rounded, less accurately).
"""

import atexit
import ctypes
import os
import threading
import warnings
import weakref

from fnad_compiler import engine

__all__ = [
    "FULL_LEVEL",
    "PROMOTE_AFTER",
    "QUICK_LEVEL",
    "QUICK_MAX_VECTORISED_WORK",
    "QUICK_MAX_WORK",
    "QUICK_SCALAR_LEVEL",
    "QUICK_SCALAR_MAX_WORK",
    "UnitSlot",
    "mode",
    "quick_level",
    "settle",
    "watch",
]

# `engine` optimisation levels: unoptimised, quick (vectorised where it calls vector math or sums)
# and full. The first two also mean fast code generation (`engine.codegen_level_for`).
QUICK_SCALAR_LEVEL, QUICK_LEVEL, FULL_LEVEL = 0, 1, 3
PROMOTE_AFTER = 16  # calls of a program after which its quick units are compiled fully
QUICK_MAX_WORK = 1 << 16  # elements a unit's kernel may touch per call to start quick (see below)
QUICK_MAX_VECTORISED_WORK = 1 << 18  # the same, for units whose quick code is vectorised
QUICK_SCALAR_MAX_WORK = 1 << 12  # elements up to which those calling vector math (without sums) start unvectorised
PROMOTE_SYMBOL = "fnad_rt_promote"  # void(ptr calls): main's call counter reached PROMOTE_AFTER
CALLS_SYMBOL = "fnad_calls"  # main's i64 call counter, exported by programs with quick units
_MODES = ("auto", "full", "quick")


def quick_level(text, work):
    """The level at which the unit of LLVM IR `text` starts when its kernel touches `work` elements
    per call: `QUICK_SCALAR_LEVEL`, `QUICK_LEVEL`, or None (at once fully)."""
    if not engine.quick_code_is_vectorised(text):
        return QUICK_SCALAR_LEVEL if work <= QUICK_MAX_WORK else None
    unvectorised_max = QUICK_SCALAR_MAX_WORK if engine.calls_vector_math(text) else QUICK_MAX_WORK
    if work <= unvectorised_max and not engine.sums_with_reassociation(text):
        return QUICK_SCALAR_LEVEL
    return QUICK_LEVEL if work <= QUICK_MAX_VECTORISED_WORK else None


def mode():
    """$FNAD_COMPILE_TIERS ("auto" unless set)."""
    value = os.environ.get("FNAD_COMPILE_TIERS", "").strip() or "auto"
    if value not in _MODES:
        raise ValueError(f"FNAD_COMPILE_TIERS must be one of {', '.join(_MODES)}, got {value!r}")
    return value


class UnitSlot:
    """The loaded code of one unit and the pointer main calls it through. Passed to
    `engine.load_object` among the libraries, it exports `{symbol}.slot`, the pointer's address,
    and keeps itself (so its code) loaded for as long as the programs calling it are."""

    def __init__(self, symbol, library, level, full_key):
        self.symbol = symbol
        self.names = (f"{symbol}.slot",)
        self.full_key = full_key
        self._cell = ctypes.c_void_p(library.address(symbol))
        self._libraries = [library]  # the current code last; earlier tiers stay loaded
        self.level = level
        self.lock = threading.Lock()

    def address(self, name):
        if name != self.names[0]:
            raise KeyError(f"{name!r} is not exported by the slot of {self.symbol}")
        return ctypes.addressof(self._cell)

    @property
    def library(self):
        return self._libraries[-1]

    def swap(self, library, level):
        """Make `library`'s code the one called from now on (an atomic pointer store)."""
        with self.lock:
            self._libraries.append(library)
            self._cell.value = library.address(self.symbol)
            self.level = level


# Programs with quick units, by the address of their call counter: a weak reference to their library,
# whose `promotion` is (their quick slots, a function returning symbol -> unit text, the cache to store
# promoted units in). Held by the library, not here: the cache holds the library, and the two must
# stay free to go together.
_WATCHED = {}
_WATCHED_LOCK = threading.Lock()
_QUEUE = None  # the worker's jobs, made with it (importing queue at once cost every process 1 ms)
_WORKER = None


def watch(library, slots, unit_texts, code_cache):
    """Promote `slots` (the quick ones among a program's units) when `library`'s main reaches
    `PROMOTE_AFTER` calls; `unit_texts()` gives symbol -> LLVM IR text (a unit loaded quick from
    disk comes without its text, so it is lowered again then)."""
    address = library.address(CALLS_SYMBOL)
    library.promotion = (tuple(slots), unit_texts, code_cache)
    with _WATCHED_LOCK:
        _WATCHED[address] = weakref.ref(library)
    weakref.finalize(library, _forget, address)  # runs before its code (and counter) is unloaded


def _forget(address):
    with _WATCHED_LOCK:
        _WATCHED.pop(address, None)


@ctypes.CFUNCTYPE(None, ctypes.c_void_p)
def _promote(calls):
    """Called by a main at its `PROMOTE_AFTER`th call (holding the GIL: ctypes takes it)."""
    # Far below the threshold again: calls racing with this one may call once more, no more.
    ctypes.c_int64.from_address(calls).value = -(1 << 62)
    with _WATCHED_LOCK:
        library = _WATCHED.pop(calls, lambda: None)()
    if library is None or _STOPPING or mode() == "quick":
        return
    slots, unit_texts, code_cache = library.promotion
    _start_worker()
    _QUEUE.put(([s for s in slots if s.level != FULL_LEVEL], unit_texts, code_cache))


engine.register_symbol(PROMOTE_SYMBOL, lambda: ctypes.cast(_promote, ctypes.c_void_p).value)


def _start_worker():
    global _QUEUE, _WORKER
    with _WATCHED_LOCK:
        if _WORKER is None:
            import queue

            _QUEUE = queue.Queue()
            _WORKER = threading.Thread(target=_work, name="fnad-promote", daemon=True)
            _WORKER.start()


def _work():
    while True:
        job = _QUEUE.get()
        if job is None:  # the process is exiting (`_stop`)
            _QUEUE.task_done()
            return
        slots, unit_texts, code_cache = job
        try:
            if slots and not _STOPPING:
                texts = unit_texts()
                for slot in slots:
                    code_cache.promote(slot, texts[slot.symbol])
        except Exception as e:  # noqa: BLE001 -- this thread outlives any failure; the quick code stays, and is right
            warnings.warn(f"fnad: optimising a program's code in the background failed: {e!r}", RuntimeWarning)
        finally:
            _QUEUE.task_done()


_STOPPING = False


@atexit.register
def _stop():
    """Let a compile in flight finish before the interpreter (and LLVM's static state) goes away, and
    drop the promotions still queued."""
    global _STOPPING
    _STOPPING = True
    if _WORKER is not None:
        _QUEUE.put(None)
        _WORKER.join()


def _after_fork_in_child():
    """A forked child has no worker thread, and the parent's queue and lock may have been taken at the
    fork: it starts afresh (its programs' counters are copies, so it promotes them itself)."""
    global _QUEUE, _WORKER, _WATCHED_LOCK
    _QUEUE, _WORKER, _WATCHED_LOCK = None, None, threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def settle():
    """Wait until every promotion queued so far has been swapped in (for tests and benchmarks)."""
    if _WORKER is not None:
        _QUEUE.join()
