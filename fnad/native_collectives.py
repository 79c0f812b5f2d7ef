"""The body of a jitted shard_map as one native program: its collectives over the mesh axes become
the primitives `mpi_allreduce`, `mpi_allgather` and `mpi_alltoall`, which the compiler lowers to calls
of MPI itself (fnad_compiler/lower/collectives.py), with no Python between them and the arrays.

The MPI handles (communicators of the axes' process groups, datatypes, operations) are extra integer
arguments of the program, so compiled code (and the disk cache) holds no process-specific value.
A body keeps the mpi4py path (`None` here) in debug mode (whose checks run in Python), without an
MPI job, or when one of its collectives or dtypes has no native form (ppermute, bool, complex).
"""

from __future__ import annotations

import numpy as np

from .core import Primitive, ShapedArray
from .distributed import _world as world
from .distributed import debug_collectives
from .ir import Literal
from .primitives.indexing import slice_in_dim
from .primitives.shape import reshape, transpose
from .transforms.staging import trace_to_jaxpr

_NATIVE_DTYPES = {np.dtype(t) for t in (np.float32, np.float64, np.int32, np.int64)}
_REDUCTION_OPS = {"psum": "SUM", "pmax": "MAX", "pmin": "MIN"}
_NATIVE = set(_REDUCTION_OPS) | {"all_gather", "psum_scatter", "all_to_all", "axis_index"}


def _allreduce_impl(x, comm, datatype, op):
    from mpi4py import MPI

    out = np.empty_like(x)
    MPI.Comm.fromhandle(int(comm)).Allreduce(
        [np.ascontiguousarray(x), MPI.Datatype.fromhandle(int(datatype))], out, op=MPI.Op.fromhandle(int(op))
    )
    return out


def _gather_impl(name):
    def impl(x, comm, datatype, size):
        from mpi4py import MPI

        x = np.ascontiguousarray(x)
        out = np.empty((size,) + x.shape[1 if name == "Alltoall" else 0 :], x.dtype)
        getattr(MPI.Comm.fromhandle(int(comm)), name)(x, out)
        return out

    return impl


mpi_allreduce_p = Primitive("mpi_allreduce")
mpi_allreduce_p.impl = _allreduce_impl
mpi_allreduce_p.abstract_eval = lambda x, *handles: x
mpi_allreduce_p.effectful = True  # it communicates: never dropped, merged or reordered

mpi_allgather_p = Primitive("mpi_allgather")
mpi_allgather_p.impl = _gather_impl("Allgather")
mpi_allgather_p.abstract_eval = lambda x, comm, datatype, size: x.update(shape=(size,) + x.shape)
mpi_allgather_p.effectful = True

mpi_alltoall_p = Primitive("mpi_alltoall")
mpi_alltoall_p.impl = _gather_impl("Alltoall")
mpi_alltoall_p.abstract_eval = lambda x, comm, datatype, size: x
mpi_alltoall_p.effectful = True


def _signed(handle, dtype):
    """An MPI handle as a scalar of the handle's width, two's complement."""
    bits = 8 * np.dtype(dtype).itemsize
    handle &= (1 << bits) - 1
    return np.array(handle - (1 << bits) if handle >> (bits - 1) else handle, dtype)


def communicates(e):
    """Whether equation `e` talks to other processes: it runs in Python (shard_map), or is a collective
    over mesh axes. `pvary` names axes but only retypes its operand: compiled, it is that operand."""
    p = e.primitive
    return p.runs_in_python or (p.name != "pvary" and p.axis_names is not None and bool(p.axis_names(e.params)))


def native_body(closed, groups):
    """(ClosedJaxpr taking the body's inputs then the MPI handles, the handles' values) for the body
    `closed` of a shard_map whose mesh axes have the process groups `groups`, or None."""
    if world.comm is None or debug_collectives():
        return None
    for e in closed.jaxpr.eqns:
        p = e.primitive
        if communicates(e):
            if p.name not in _NATIVE or any(a.aval.dtype not in _NATIVE_DTYPES for a in e.invars):
                return None
            names = e.params["axes"] if "axes" in e.params else (e.params["axis_name"],)
            if any(n not in groups for n in names):
                return None
    from mpi4py import MPI

    handle_dtype = np.int32 if MPI._sizeof(MPI.Comm) == 4 else np.int64
    handles, positions = [], {}

    def handle(key, obj):
        if key not in positions:
            positions[key] = len(handles)
            handles.append(_signed(MPI._handleof(obj), handle_dtype))
        return positions[key]

    comm = {n: handle(("comm", n), g.comm) for n, g in groups.items()}

    def datatype(dtype):
        return handle(("datatype", dtype.char), MPI._typedict[dtype.char])

    def op(name):
        return handle(("op", name), getattr(MPI, _REDUCTION_OPS[name]))

    n_in = len(closed.jaxpr.invars)

    def collective(e, x, h):
        """The native form of collective equation `e` on `x` (h: the handles' traced values)."""
        name, params = e.primitive.name, e.params
        if name in _REDUCTION_OPS:
            for axis in params["axes"]:
                x = mpi_allreduce_p.bind(x, h[comm[axis]], h[datatype(x.dtype)], h[op(name)])
            return x
        axis = params["axis_name"]
        if name == "axis_index":
            return np.int32(groups[axis].index())
        size, c, dt = groups[axis].size, h[comm[axis]], h[datatype(x.dtype)]
        if name == "all_gather":
            stacked = mpi_allgather_p.bind(x, c, dt, size=size)
            perm = list(range(1, stacked.ndim))
            perm.insert(params["axis"], 0)
            return transpose(stacked, tuple(perm))
        if name == "psum_scatter":
            total = mpi_allreduce_p.bind(x, c, dt, h[op("psum")])
            d, i = params["scatter_dimension"], groups[axis].index()
            part = slice_in_dim(total, i, i + 1, axis=d)
            return reshape(part, tuple(s for k, s in enumerate(part.shape) if k != d))
        # all_to_all: the blocks of the split axis go to the processes, received blocks stack at concat_axis
        s, cat = params["split_axis"], params["concat_axis"]
        perm = [s] + [k for k in range(x.ndim) if k != s]
        received = mpi_alltoall_p.bind(transpose(x, tuple(perm)), c, dt, size=size)
        back = list(range(1, received.ndim))
        back.insert(cat, 0)
        return transpose(received, tuple(back))

    # Every handle the body needs, first: they are the program's trailing inputs.
    for e in closed.jaxpr.eqns:
        name = e.primitive.name
        if name in _NATIVE:
            for a in e.invars:
                datatype(a.aval.dtype)
            if name in _REDUCTION_OPS or name == "psum_scatter":
                op("psum" if name == "psum_scatter" else name)

    def fun(*args):
        h = args[n_in:]
        env = dict(zip(closed.jaxpr.constvars, closed.consts))
        env.update(zip(closed.jaxpr.invars, args[:n_in]))
        read = lambda a: a.val if type(a) is Literal else env[a]
        for e in closed.jaxpr.eqns:
            if e.primitive.name in _NATIVE:
                x = read(e.invars[0]) if e.invars else None
                env[e.outvars[0]] = collective(e, x, h)
            else:
                out = e.primitive.bind(*[read(a) for a in e.invars], **e.params)
                env.update(zip(e.outvars, out if e.primitive.multiple_results else [out]))
        return [read(v) for v in closed.jaxpr.outvars]

    avals = list(closed.in_avals) + [ShapedArray((), handle_dtype)] * len(handles)
    return trace_to_jaxpr(fun, avals, "native_shard_map"), tuple(handles)
