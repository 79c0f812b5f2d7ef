"""fft: lax.fft's transforms through the kernels of `fnad_compiler.fft_kernels`, one axis at a time.

fft is complex-native: fnad's complex pass hands it float buffers of shape S + (2,) for its complex
operand or result (the interleaved complex memory itself). The trailing axes are transformed from
the last to the first: FFT/IFFT the first axis from the operand into the result and the others in
place; RFFT the last axis real-to-complex into the result, then the others in place; IRFFT the
leading axes in place in a scratch copy of the spectrum (its operand stays untouched), then the
last one complex-to-real into the result. IFFT and IRFFT scale each axis by 1 / its length.
Each axis' transform is a unit (`fft_kernels.axis_unit`), so programs share its compiled code; long
complex rows on the last axis take the four-step unit (`fft_kernels.four_step_split`).
"""

from __future__ import annotations

import math

from fnad_compiler import fft_kernels
from fnad_compiler.lower.rules import opaque_rule

_FFT, _IFFT, _RFFT, _IRFFT = range(4)  # lax.FftType's values


def _split(shape, axis):
    """(outer, length, inner) of `shape` around `axis`."""
    return math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1 :])


@opaque_rule("fft")
def _fft(scope, e):
    x, out = e.invars[0], e.outvars[0]
    fft_type, lengths = int(e.params["fft_type"]), tuple(e.params["fft_lengths"])
    dtype = out.aval.dtype
    if out.aval.size == 0:
        return
    # the complex side's shape (its buffer has a trailing axis of 2); RFFT/IRFFT's real side is the other
    spectrum = x.aval.shape[:-1] if fft_type != _RFFT else out.aval.shape[:-1]
    ndim = len(spectrum)
    first = ndim - len(lengths)
    # (kind, axis, source, destination), in order; buffers: the operand, the result, a temporary
    last = ndim - 1
    if fft_type in (_FFT, _IFFT):
        kind = "c2c_f" if fft_type == _FFT else "c2c_b"
        steps = [(kind, a, "operand" if a == last else "result", "result") for a in range(last, first - 1, -1)]
    elif fft_type == _RFFT:
        steps = [("r2c", last, "operand", "result")]
        steps += [("c2c_f", a, "result", "result") for a in range(last - 1, first - 1, -1)]
    else:
        steps = [
            ("c2c_b", a, "operand" if a == last - 1 else "temporary", "temporary")
            for a in range(last - 1, first - 1, -1)
        ]
        steps += [("c2r", last, "temporary" if steps else "operand", "result")]
    inverse = fft_type in (_IFFT, _IRFFT)
    jobs, work = [], 0
    for kind, axis, _, _ in steps:
        shape = {"r2c": x.aval.shape, "c2r": out.aval.shape}.get(kind, spectrum)
        outer, _, inner = _split(shape, axis)
        n = lengths[axis - first]
        split = fft_kernels.four_step_split(kind, n, dtype) if inner == 1 else None
        jobs.append((outer, n // 2 + 1 if kind == "c2r" else n, inner, n, split is not None))
        work = max(work, fft_kernels.transform_work_bytes(kind, n, dtype, outer * inner, split))
    buffers = {"operand": scope.atom_pointer(x), "result": scope.pointer(out), "work": scope.malloc(work)}
    if len(steps) > 1 and fft_type == _IRFFT:  # the leading axes' transforms leave the operand untouched
        buffers["temporary"] = scope.malloc(math.prod(spectrum) * 2 * dtype.itemsize)
    slot = scope.entry_alloca(fft_kernels.args_type(dtype), 1)
    for (kind, axis, src, dst), (outer, slen, inner, n, four_step) in zip(steps, jobs):
        vector = fft_kernels.vector_rows(outer * inner, dtype)
        unit = fft_kernels.axis_unit(kind, n, dtype, vector, four_step)
        function = scope.lw.add_unit(*unit, fft_kernels.UNIT_TYPE, outer * inner * n)
        fft_kernels.call_axis_transform(
            scope.b,
            function,
            slot,
            kind,
            n,
            dtype,
            buffers[src],
            buffers[dst],
            (outer, slen, inner),
            buffers["work"],
            1.0 / n if inverse else 1.0,
        )
