"""Cumulative scans (cumsum, cumprod, cummax, cummin): a kernel whose last axis is the scanned one."""

from __future__ import annotations

from fnad_compiler.lower.elemental import affine_combination, row_major, unit_row
from fnad_compiler.lower.kernel import Kernel, Spec
from fnad_compiler.lower.rules import opaque_rule


@opaque_rule("cumsum", "cumprod", "cummax", "cummin")
def _cumulative(lw, e):
    x, out = e.invars[0], e.outvars[0]
    axis, reverse, shape = e.params["axis"], e.params["reverse"], x.aval.shape
    n = len(shape)
    order = [d for d in range(n) if d != axis] + [axis]
    rows = [unit_row(order.index(i), n) for i in range(n)]
    if reverse:
        rows[axis] = unit_row(n - 1, n, -1, shape[axis] - 1)
    rows = tuple(rows)
    op = "scan:" + {"cumsum": "sum", "cumprod": "prod", "cummax": "max", "cummin": "min"}[e.primitive.name]
    form = affine_combination(rows, row_major(shape))
    Kernel(
        lw,
        Spec(
            [shape[d] for d in order],
            [d == axis for d in order],
            lambda em: em.value(x, rows),
            out,
            op,
            out.aval.dtype,
            {},
            out_form=form,
        ),
    ).launch()
