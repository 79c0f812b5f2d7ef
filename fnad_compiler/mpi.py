"""The MPI functions compiled collectives call (MPI_Allreduce, MPI_Allgather, MPI_Alltoall), from the
libmpi that mpi4py loaded: their names are made resolvable for generated code (`engine.register_symbol`)
and found on first use, so importing this module never imports mpi4py. MPI's handles (communicator,
datatype, operation) are not baked into the code: the program receives them as integer arguments of
the width of the MPI's handles (32 bits for MPICH's ABI, 64 for pointer handles as Open MPI's)."""

from __future__ import annotations

import ctypes
import functools

from fnad_compiler import engine

__all__ = ["FUNCTIONS", "library"]

FUNCTIONS = ("MPI_Allreduce", "MPI_Allgather", "MPI_Alltoall")


@functools.cache
def library():
    """The libmpi that mpi4py loaded (a ctypes CDLL), made global for generated code."""
    from mpi4py import MPI  # noqa: F401  (loads libmpi)

    with open("/proc/self/maps") as maps:
        paths = sorted({line.split()[-1] for line in maps if "/libmpi" in line and ".so" in line})
    if not paths:
        raise ImportError("mpi4py is loaded but no libmpi shared library is mapped in this process")
    engine.load_library(paths[0])
    return ctypes.CDLL(paths[0], mode=ctypes.RTLD_GLOBAL)


def _address(name):
    return ctypes.cast(getattr(library(), name), ctypes.c_void_p).value


for _name in FUNCTIONS:
    engine.register_symbol(_name, functools.partial(_address, _name))
