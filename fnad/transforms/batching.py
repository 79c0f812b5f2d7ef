"""Batching (vmap): a trace whose tracers carry a value and the axis along which it is batched.

A vmap may name its axis (`vmap(f, axis_name='i')`): collectives over that name (fnad/primitives/
collectives.py) reach its trace even when their operands are not batched by it, and their batch rules
give them their meaning, a computation across the lanes. While a batch rule runs, `current_axis()` says
which axis (name, size) it batches: collectives read it, and so does `batch_jaxpr`, whose vmap of a
sub-IR binds the same name.
"""

from __future__ import annotations

import threading

from ..ad_util import broadcast_in_dim, transpose
from ..core import Trace, Tracer, get_aval, new_main


class _RuleAxis(threading.local):
    axis = (None, None)  # (name, size) of the vmap whose batch rule is running on this thread


_rule_axis = _RuleAxis()


def current_axis():
    """(name, size) of the vmap whose batch rule is running (name None for an unnamed vmap)."""
    return _rule_axis.axis


class BatchTracer(Tracer):
    __slots__ = ("bdim", "val")

    def __init__(self, trace, val, bdim):
        self._trace, self.val, self.bdim = trace, val, bdim

    @property
    def aval(self):
        aval = get_aval(self.val)
        if self.bdim is None:
            return aval
        shape = aval.shape[: self.bdim] + aval.shape[self.bdim + 1 :]
        return aval.update(shape=shape)

    def source_info(self):
        v = self.val
        return v.source_info() if isinstance(v, Tracer) else ""


class BatchTrace(Trace):
    __slots__ = ()

    @property
    def axis_size(self):
        return self.main.payload

    def pure(self, x):
        return BatchTracer(self, x, None)

    lift = pure

    def process_primitive(self, prim, tracers, params):
        vals = [t.val for t in tracers]
        dims = [t.bdim for t in tracers]
        if all(d is None for d in dims) and (
            prim.axis_names is None or self.main.axis_name not in prim.axis_names(params)
        ):
            out = prim.bind(*vals, **params)
            return [self.pure(o) for o in out] if prim.multiple_results else self.pure(out)
        if prim.batch is None:
            raise NotImplementedError(f"batching rule (vmap) for '{prim.name}' is not implemented")
        if prim.batch_needs_size:
            params = dict(params, axis_size=self.axis_size)
        outer, _rule_axis.axis = _rule_axis.axis, (self.main.axis_name, self.axis_size)
        try:
            out, out_dim = prim.batch(vals, dims, **params)
        finally:
            _rule_axis.axis = outer
        if prim.multiple_results:
            return [BatchTracer(self, self.lower(o), d) for o, d in zip(out, out_dim)]
        return BatchTracer(self, self.lower(out), out_dim)

    def lower(self, x):
        """A rule's result as a value below this trace (see JVPTrace.lower): an unbatched value of
        this trace created inside the rule is its plain value."""
        if type(x) is BatchTracer and x._trace is self and x.bdim is None:
            return x.val
        return x


def move_bdim(x, bdim, dst, size):
    """`x` with its batch axis at `dst` (broadcasting an unbatched value to `size` first)."""
    aval = get_aval(x)
    if bdim is None:
        nd = aval.ndim + 1
        dims = tuple(i for i in range(nd) if i != dst)
        shape = aval.shape[:dst] + (size,) + aval.shape[dst:]
        return broadcast_in_dim(x, shape, dims)
    if bdim == dst:
        return x
    perm = [i for i in range(aval.ndim) if i != bdim]
    perm.insert(dst, bdim)
    return transpose(x, tuple(perm))


def vmap_flat(flat_fun, args, in_dims, axis_size, out_dims_fn, axis_name=None):
    """Run `flat_fun` with each arg batched along its in_dim; outputs batched along the dims that
    `out_dims_fn()` gives once the outputs exist (None: the output must not depend on the batch).
    `axis_name` names the mapped axis for the collectives inside."""
    with new_main(BatchTrace, "vmap", axis_size, axis_name=axis_name) as main:
        trace = main.trace
        ins = [a if d is None else BatchTracer(trace, a, d) for a, d in zip(args, in_dims)]
        outs = [trace.full_raise(o) for o in flat_fun(*ins)]
        results = []
        for o, d in zip(outs, out_dims_fn()):
            if d is None:
                if o.bdim is not None:
                    raise ValueError("vmap: an output with out_axes=None depends on the mapped axis")
                results.append(o.val)
                continue
            ndim = o.aval.ndim + 1
            if not -ndim <= d < ndim:
                raise ValueError(f"vmap: out_axes={d} is out of range for an output of rank {ndim}")
            results.append(move_bdim(o.val, o.bdim, d % ndim, axis_size))
        return results


def move_to_front(vals, dims, want, axis_size):
    """Values batched along axis 0 where `want` (broadcast if unbatched), unchanged elsewhere."""
    return [move_bdim(v, d, 0, axis_size) if w else v for v, d, w in zip(vals, dims, want)]
