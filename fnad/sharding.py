"""Meshes of processes and partition specs (JAX's `jax.sharding` names): what `fnad.shard_map` needs
to know about how a program's arrays are laid out over the processes of an MPI job.

An array outside shard_map is this process's own value. A `PartitionSpec` says what it is a part of:
`P('data')` names the mesh axis its first dimension is split over (the value is this process's
block), `P()` says it is the same on every process (replicated).
"""

from __future__ import annotations

import math

import numpy as np

from . import array
from .distributed import group_for, process_index


class PartitionSpec(tuple):
    """For each dimension of an array, the mesh axis (a name, a tuple of names, or None: not split)
    that it is split over; `P()` is replicated. `fnad.P` is a short name for it.

    >>> from fnad.sharding import PartitionSpec as P
    >>> P("data"), P(), P(None, "model")
    (PartitionSpec('data',), PartitionSpec(), PartitionSpec(None, 'model'))
    """

    def __new__(cls, *partitions):
        return super().__new__(cls, partitions)

    def __repr__(self):
        return f"PartitionSpec{tuple.__repr__(self)}"

    def axis_names(self):
        """The mesh axis names this spec mentions, in order."""
        names = []
        for part in self:
            for name in part if isinstance(part, tuple) else (part,):
                if name is not None:
                    names.append(name)
        return tuple(names)


class Mesh:
    """Processes laid out on an array with named axes: `devices` (one CPU device per process, see
    `fnad.devices()`) of shape `axis_shapes`, one name per axis. Make one with `fnad.make_mesh`.

    >>> import fnad
    >>> mesh = fnad.make_mesh((1,), ("data",))
    >>> mesh.shape, mesh.axis_names, mesh.size
    ({'data': 1}, ('data',), 1)
    """

    def __init__(self, devices, axis_names):
        self.devices = np.asarray(devices, dtype=object)
        self.axis_names = tuple(axis_names)
        if self.devices.ndim != len(self.axis_names):
            raise ValueError(f"Mesh: {self.devices.ndim}-D devices but {len(self.axis_names)} axis names")
        if len(set(self.axis_names)) != len(self.axis_names):
            raise ValueError(f"Mesh: repeated axis names {self.axis_names}")
        self._groups = None

    shape = property(lambda self: dict(zip(self.axis_names, self.devices.shape)))
    size = property(lambda self: self.devices.size)
    axis_sizes = property(lambda self: self.devices.shape)

    def __repr__(self):
        return f"Mesh({', '.join(f'{n!r}: {s}' for n, s in self.shape.items())})"

    def groups(self):
        """{axis name: ProcessGroup} for this process (made on first use; every process must use the
        mesh, as every process runs the same program)."""
        if self._groups is None:
            me = array.devices()[process_index()]
            where = np.argwhere(np.vectorize(lambda d: d == me, otypes=[bool])(self.devices))
            if len(where) != 1:
                raise ValueError(f"{self!r}: this process's device {me} must appear once in the mesh")
            coords = tuple(int(c) for c in where[0])
            self._groups = {n: group_for(coords, i, self.devices.shape) for i, n in enumerate(self.axis_names)}
        return self._groups


def make_mesh(axis_shapes, axis_names, *, devices=None):
    """A `Mesh` of the job's processes (`fnad.devices()`, one per process, or `devices`) with the given
    axis sizes and names; the sizes must multiply to the number of devices.

    >>> import fnad
    >>> fnad.make_mesh((fnad.process_count(),), ("data",))
    Mesh('data': 1)
    """
    devices = array.devices() if devices is None else list(devices)
    axis_shapes = tuple(int(s) for s in axis_shapes)
    if len(axis_shapes) != len(tuple(axis_names)):
        raise ValueError(f"make_mesh: {len(axis_shapes)} axis sizes but {len(tuple(axis_names))} axis names")
    if math.prod(axis_shapes) != len(devices):
        raise ValueError(
            f"make_mesh: axis sizes {axis_shapes} make a mesh of {math.prod(axis_shapes)} devices, but there are "
            f"{len(devices)} (one per process; start the job with `mpiexec -n {math.prod(axis_shapes)}` and call "
            "fnad.distributed.initialize())"
        )
    grid = np.empty(len(devices), dtype=object)
    grid[:] = devices
    return Mesh(grid.reshape(axis_shapes), axis_names)
