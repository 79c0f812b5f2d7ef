"""Processes: fnad over MPI, through mpi4py (an optional dependency: `pip install fnad[mpi]`).

`initialize()` joins the MPI world when the program runs under `mpiexec`; without mpi4py, or outside
mpiexec, it does nothing and fnad is one process. Each process computes on its own CPU device; a mesh
(`fnad.sharding`) lays the processes out on named axes, and inside `fnad.shard_map` the collectives of
`fnad.lax` over a mesh axis run through that axis's `ProcessGroup`: MPI calls among the processes
whose mesh coordinates differ only along it.

Failure: after `initialize()`, an exception that ends a process prints its traceback and aborts the
whole job (MPI_Abort), so that no other process waits forever in a collective.
Debug mode (environment variable FNAD_DEBUG_COLLECTIVES=1): before each collective the processes of
the group compare what they are about to do (collective, shape, dtype) and all raise the same
`CollectiveMismatchError` if they differ; outputs of shard_map said to be replicated (out_specs P())
are checked to be equal on every process.
"""

from __future__ import annotations

import os
import sys
import traceback

import numpy as np

from . import array

# Environment variables that the process managers of MPICH, Open MPI and PMIx set in each process.
_MPI_LAUNCH_VARIABLES = ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS")


class _World:
    comm = None  # MPI.COMM_WORLD once initialized under mpiexec
    index, count = 0, 1


_world = _World()


class CollectiveMismatchError(RuntimeError):
    """The processes of a group called different collectives, or the same one on different shapes or
    dtypes (debug mode), or an output said to be replicated differs between them."""


def initialize(coordinator_address=None, num_processes=None, process_id=None, **unused):
    """Join the MPI job this process was started in (by `mpiexec -n N python ...`), through mpi4py.

    Outside mpiexec it does nothing: fnad is one process. JAX's arguments (coordinator address,
    number of processes, process id) are accepted for compatibility; MPI decides them, and they must
    agree with it when given. Calling it again does nothing. After it, `process_index()`,
    `process_count()` and `fnad.devices()` describe the job, and an uncaught exception in any process
    aborts all of them (its traceback is printed first).

    >>> import fnad
    >>> fnad.distributed.initialize()   # not under mpiexec: one process
    >>> fnad.process_count(), fnad.process_index()
    (1, 0)
    """
    if _world.comm is not None or not any(v in os.environ for v in _MPI_LAUNCH_VARIABLES):
        return
    try:
        from mpi4py import MPI
    except ImportError:
        raise RuntimeError(
            "fnad.distributed.initialize: this process was started by mpiexec, but mpi4py is not "
            "installed. Install it with `pip install fnad[mpi]` (or `pip install mpi4py mpich`)."
        ) from None
    comm = MPI.COMM_WORLD
    for given, actual, what in ((num_processes, comm.size, "num_processes"), (process_id, comm.rank, "process_id")):
        if given is not None and given != actual:
            raise ValueError(f"fnad.distributed.initialize: {what}={given} but MPI says {actual}")
    _world.comm, _world.index, _world.count = comm, comm.rank, comm.size
    array.set_process_devices(comm.rank, comm.size)
    if comm.size > 1:
        sys.excepthook = _abort_on_exception


def _abort_on_exception(exc_type, exc, tb):
    """An uncaught exception ends the whole job: the other processes may be waiting for this one in
    a collective, and would wait forever."""
    sys.stderr.write(f"fnad: process {_world.index} of {_world.count} failed; aborting the MPI job.\n")
    sys.stderr.write("".join(traceback.format_exception(exc_type, exc, tb)))
    sys.stderr.flush()
    _world.comm.Abort(1)


def process_index():
    """This process's index in the job (0 without MPI), as `jax.process_index()`.

    >>> import fnad
    >>> fnad.process_index()
    0
    """
    return _world.index


def process_count():
    """The number of processes in the job (1 without MPI), as `jax.process_count()`.

    >>> import fnad
    >>> fnad.process_count()
    1
    """
    return _world.count


def shutdown():
    """Leave the job: later collectives across processes are an error (JAX's name; MPI finalizes
    itself at exit, so this only forgets the world)."""
    _world.comm, _world.index, _world.count = None, 0, 1
    array.set_process_devices(0, 1)


def debug_collectives():
    """Whether debug mode is on (FNAD_DEBUG_COLLECTIVES=1): collectives check their agreement."""
    return os.environ.get("FNAD_DEBUG_COLLECTIVES", "") not in ("", "0")


# ----------------------------------------------------------------------------------------------
# Process groups: the binding of a mesh axis inside shard_map


def group_for(coords, axis, mesh_shape):
    """The ProcessGroup of the processes whose mesh coordinates (`coords`, this process's) differ
    from this one's only along mesh axis number `axis` (an MPI communicator split off the world)."""
    size = mesh_shape[axis]
    if _world.comm is None:
        if size != 1:
            raise RuntimeError(
                f"a mesh axis of size {size} needs {size} processes, but this is one process: run the "
                "program under `mpiexec -n N` and call fnad.distributed.initialize() first"
            )
        return ProcessGroup(None, 0, 1)
    others = [c for i, c in enumerate(coords) if i != axis]
    color = int(np.ravel_multi_index(others, [s for i, s in enumerate(mesh_shape) if i != axis])) if others else 0
    return ProcessGroup(_world.comm.Split(color, coords[axis]), coords[axis], size)


def _contiguous(x):
    """`x` as a C-contiguous ndarray of its own shape (np.ascontiguousarray makes 0-d arrays 1-d)."""
    x = np.asarray(x)
    return x if x.flags.c_contiguous else x.copy()


class ProcessGroup:
    """The processes along one mesh axis, and the collectives among them (eager, through mpi4py).
    With one process (no MPI) every collective is the identity it then is."""

    def __init__(self, comm, index, size):
        self.comm, self._index, self.size = comm, index, size

    def index(self):
        """This process's coordinate along the axis."""
        return self._index

    def _check(self, what, x):
        """Debug mode: every process of the group is about to do the same collective on the same type."""
        if self.comm is None or not debug_collectives():
            return
        mine = (what, x.shape, x.dtype.str)
        calls = self.comm.allgather(mine)
        if any(c != mine for c in calls) or any(c != calls[0] for c in calls):
            listing = "; ".join(
                f"process {i}: {c[0]} on {np.dtype(c[2]).name}{list(c[1])}" for i, c in enumerate(calls)
            )
            raise CollectiveMismatchError(
                f"the processes of a mesh axis called different collectives or gave different shapes or "
                f"dtypes: {listing}"
            )

    def _reduce(self, x, what, op):
        x = _contiguous(x)
        self._check(what, x)
        if self.comm is None:
            return x
        from mpi4py import MPI

        out = np.empty_like(x)
        self.comm.Allreduce(x, out, op=getattr(MPI, op))
        return out

    def psum(self, x):
        """The elementwise sum of every process's `x` (MPI_Allreduce)."""
        return self._reduce(x, "psum", "SUM")

    def pmax(self, x):
        """The elementwise maximum of every process's `x`."""
        return self._reduce(x, "pmax", "MAX")

    def pmin(self, x):
        """The elementwise minimum of every process's `x`."""
        return self._reduce(x, "pmin", "MIN")

    def all_gather(self, x):
        """Every process's `x`, stacked on a new leading axis in process order."""
        x = _contiguous(x)
        self._check("all_gather", x)
        if self.comm is None:
            return x[None]
        out = np.empty((self.size,) + x.shape, x.dtype)
        self.comm.Allgather(x, out)
        return out

    def all_to_all(self, x):
        """Block j of `x` (its leading axis has the group's size) goes to process j; the result stacks
        the blocks received, in process order."""
        x = _contiguous(x)
        self._check("all_to_all", x)
        if self.comm is None:
            return x
        out = np.empty_like(x)
        self.comm.Alltoall(x, out)
        return out

    def ppermute(self, x, perm):
        """`x` of process src, for each (src, dst) of `perm` where this process is dst; else zeros."""
        x = _contiguous(x)
        self._check(f"ppermute{list(perm)}", x)
        out = np.zeros_like(x)
        me = self._index
        sends = [dst for src, dst in perm if src == me]
        receives = [src for src, dst in perm if dst == me]
        if self.comm is None:
            return x.copy() if receives else out
        requests = [self.comm.Isend(x, dest=dst, tag=7) for dst in sends if dst != me]
        for src in receives:
            if src == me:
                out[...] = x
            else:
                self.comm.Recv(out, source=src, tag=7)
        for r in requests:
            r.Wait()
        return out

    def check_replicated(self, x, what):
        """Debug mode: `x` is the same on every process of the group."""
        if self.comm is None or not debug_collectives():
            return
        x = _contiguous(x)
        first = self.comm.bcast(x, root=0)
        same = first.shape == x.shape and np.array_equal(first, x, equal_nan=x.dtype.kind in "fc")
        if not all(self.comm.allgather(same)):
            raise CollectiveMismatchError(
                f"{what} is said to be replicated over the mesh axis (out_specs without it), but it differs "
                "between processes; give it a PartitionSpec naming the axis, or make it equal (e.g. with psum)"
            )
