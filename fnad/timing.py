"""Where compile time goes: wall seconds spent in each phase of turning a traced function into
native code, summed over the process (or since `reset`). The phases, in order: "trace" (tracing the
function, which runs the transforms applied inside it, e.g. grad), "passes" (fnad's IR passes before
compiling), "cache key", "lower" (fnad IR to LLVM IR), "parse", "optimize" and "codegen" (LLVM, for
main's module), "units" (parse, optimise and codegen of the units, on several threads) and "load"
(linking into the process)."""

from __future__ import annotations

import contextlib
import threading
import time

__all__ = ["phase", "phases", "reset"]

_LOCK = threading.Lock()
_TOTALS = {}


@contextlib.contextmanager
def phase(name):
    """Add the wall time of the `with` body to phase `name`."""
    start = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - start
        with _LOCK:
            _TOTALS[name] = _TOTALS.get(name, 0.0) + elapsed


def phases():
    """{phase: seconds} so far."""
    with _LOCK:
        return dict(_TOTALS)


def reset():
    with _LOCK:
        _TOTALS.clear()
