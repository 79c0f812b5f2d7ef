"""Collectives across the processes of an MPI job, as calls to MPI (fnad_compiler.mpi). The
primitives `mpi_allreduce`, `mpi_allgather` and `mpi_alltoall` are made by fnad's shard_map for the
body of a jitted shard_map (fnad/spmd.py); their trailing operands are MPI handles (integer scalars:
communicator, datatype, and for allreduce the operation)."""

from __future__ import annotations

from fnad_compiler import mpi
from fnad_compiler.llvm_ir import I32, extern, i32, i64, load_at
from fnad_compiler.lower.rules import opaque_rule


def _call_mpi(scope, name, buffers_and_counts, handle_atoms, order):
    """Call MPI function `name` with the arguments `order` picks from the buffers/counts and the
    handle operands' values (integers of the MPI's handle width, loaded at run time)."""
    mpi.library()  # loads libmpi, so the call resolves when the module is compiled and loaded
    b = scope.b
    handles = [load_at(b, scope.atom_pointer(a), i64(0), a.aval.dtype) for a in handle_atoms]
    values = {**buffers_and_counts, **dict(zip(("comm", "datatype", "op"), handles))}
    args = [values[k] for k in order]
    fn = extern(scope.module, name, I32, [a.type for a in args])
    b.call(fn, args)


@opaque_rule("mpi_allreduce")
def _allreduce(scope, e):
    x, *handles = e.invars
    (out,) = e.outvars
    if out.aval.size:
        given = {"send": scope.atom_pointer(x), "recv": scope.pointer(out), "count": i32(out.aval.size)}
        _call_mpi(scope, "MPI_Allreduce", given, handles, ("send", "recv", "count", "datatype", "op", "comm"))


@opaque_rule("mpi_allgather", "mpi_alltoall")
def _allgather_alltoall(scope, e):
    x, *handles = e.invars
    (out,) = e.outvars
    if not out.aval.size:
        return
    gather = e.primitive.name == "mpi_allgather"
    # what each process sends to each: its whole operand (allgather), or one block of the leading axis
    count = x.aval.size if gather else x.aval.size // x.aval.shape[0]
    given = {"send": scope.atom_pointer(x), "recv": scope.pointer(out), "count": i32(count)}
    order = ("send", "count", "datatype", "recv", "count", "datatype", "comm")
    _call_mpi(scope, "MPI_Allgather" if gather else "MPI_Alltoall", given, handles, order)
