"""`fnad.Array`: the immutable array type that fnad returns outside transforms (JAX's `jax.Array`).

Why a read-only `numpy.ndarray` subclass rather than a wrapper object: every NumPy function, every
C extension and matplotlib take it as they are (`np.asarray(x)` is a zero-copy view, read-only as
JAX's is), the native entries of `jit` read its data like any ndarray (`fnad_compiler.pyentry` accepts
both types and allocates its outputs as Arrays), and fnad's own code, which tests for ndarrays, needs
no change. The write flag is off, so nothing writes into it: not `x[i] = v` (a TypeError naming
`.at`), not an in-place operator (they rebind, `x += 1` is `x = x + 1`), not `np.add(a, b, out=x)`,
not a view of it. Its operators and methods are fnad.numpy's, as on traced values (installed by
`fnad.numpy._methods`): the results are Arrays, differentiable, usable under jit.

Deliberate NumPy interplay: NumPy's own operations on Arrays give plain, mutable `numpy.ndarray`s,
as they do on JAX arrays: ufuncs through `__array_wrap__ = None` (at C speed), NumPy's functions
through `__array_function__`, which hands them plain views. Without the latter, functions that copy
their argument with `asanyarray(a).copy()` and then work in place (np.sort, np.median) would meet an
immutable copy and fnad's functional `.sort()`. Array defines no `__array_finalize__`, so making one
(eagerly or in compiled code) costs no Python call. fnad's eager implementations receive plain views
(`as_numpy`), so they run NumPy's semantics unchanged.
"""

from __future__ import annotations

import sys

import numpy as np

from .tree_util import tree_map

__all__ = [
    "Array",
    "CpuDevice",
    "as_array",
    "as_numpy",
    "as_result",
    "block_until_ready",
    "device_count",
    "device_get",
    "device_put",
    "devices",
    "local_device_count",
    "local_devices",
]

IMMUTABLE_MESSAGE = (
    "fnad arrays are immutable and do not support in-place item assignment. Instead of x[idx] = y, "
    "use x = x.at[idx].set(y) (or .add, .multiply, .divide, .power, .min, .max, .apply)."
)
# The dtypes whose NumPy repr leaves them implicit; JAX's repr always names the dtype.
_IMPLICIT_DTYPES = (np.dtype(np.float64), np.dtype(np.int64), np.dtype(np.bool_), np.dtype(np.complex128))


class Array(np.ndarray):
    """An immutable array: what fnad.numpy functions, `jit` and every transform return outside a trace.

    Indexing follows JAX (out-of-bounds indices are clamped, traced indices allowed inside
    transforms), updates are functional through `.at`, operators and methods are fnad.numpy's.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> x = fnp.arange(4.0)
    >>> x
    Array([0., 1., 2., 3.], dtype=float64)
    >>> x.at[1].set(10.0)
    Array([ 0., 10.,  2.,  3.], dtype=float64)
    >>> x[7]                                  # clamped to the last element, as in JAX
    Array(3., dtype=float64)
    >>> np.asarray(x).flags.writeable         # a zero-copy view for NumPy, read-only
    False
    """

    __slots__ = ()
    __array_wrap__ = None  # NumPy's own operations on Arrays return NumPy arrays (see the module docstring)

    def __new__(cls, *args, **kwargs):
        raise TypeError(
            "fnad.Array cannot be instantiated directly (as jax.Array): make one with fnad.numpy.asarray(x) "
            "or fnad.device_put(x)"
        )

    def __setitem__(self, idx, value):
        raise TypeError(IMMUTABLE_MESSAGE)

    def __array_function__(self, func, types, args, kwargs):
        plain = {k: _plain(v) for k, v in kwargs.items()}
        return getattr(func, "_implementation", func)(*_plain(args), **plain)

    def setflags(self, write=None, align=None, uic=None):
        if write:
            raise ValueError("fnad arrays are immutable: their write flag cannot be set. Copy with np.array(x).")
        np.ndarray.setflags(self, write, align, uic)

    def __repr__(self):
        text = np.array_repr(as_numpy(self))
        if self.size == 0 and "shape=" not in text:  # JAX names the shape of every empty array
            text = text.replace("[]", f"[], shape={self.shape}", 1)
        if self.dtype in _IMPLICIT_DTYPES and "dtype=" not in text:
            last = text[text.rfind("\n") + 1 :]
            suffix = f", dtype={self.dtype.name})"
            wrap = len(last) + len(suffix) > np.get_printoptions()["linewidth"]
            text = text[:-1] + ("," + "\n" + " " * 6 + suffix[2:] if wrap else suffix)
        return "A" + text[1:]

    def __str__(self):
        return str(as_numpy(self))

    def __format__(self, spec):
        return format(self.item(), spec) if self.ndim == 0 and spec else format(str(self), spec)

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (as_array(row) for row in as_numpy(self))

    def __reduce__(self):
        return as_array, (as_numpy(self),)

    def __reduce_ex__(self, protocol):
        return self.__reduce__()

    def copy(self, order="C"):
        """A new Array with the same values (JAX's `x.copy()`). Item assignment on it raises as on every
        Array, but its write flag stays on: NumPy code that copies its input and fills the copy
        (`np.ma.masked_invalid(x).filled(0)`) runs on Arrays."""
        return np.ndarray.copy(self, order)

    def __copy__(self):
        return as_array(np.array(as_numpy(self)))

    def __deepcopy__(self, memo):
        return self.__copy__()

    def tolist(self):
        return as_numpy(self).tolist()

    def block_until_ready(self):
        """Wait until the value is computed (fnad computes eagerly on the CPU: it is) and return it."""
        return self

    def is_ready(self):
        return True

    def copy_to_host_async(self):
        """Nothing to do: the value is in host memory."""

    @property
    def device(self):
        """The device holding the array (fnad's one CPU device, `fnad.devices()[0]`)."""
        return _CPU

    def devices(self):
        return {self.device}

    @property
    def weak_type(self):
        return False

    @property
    def is_fully_addressable(self):
        return True

    @property
    def is_fully_replicated(self):
        return True

    @property
    def addressable_data(self):
        return lambda index: self


def _untrack_instances(cls):
    """Make instances of `cls` (a Python-defined ndarray subclass, before any exists) objects the
    garbage collector does not track, as ndarrays are not: CPython gives every class defined in
    Python collector-tracked instances, and allocating, tracking and untracking one costs each jit
    result about a third of the native call. An Array can hold no reference cycle (its only
    reference is `base`, an array or a buffer owner), so tracking buys nothing. The change is the
    type's flag and its `tp_free` (the matching deallocator, since instances then carry no
    collector header), at the offsets of CPython 3.11's PyTypeObject, which are checked against
    the type's own attributes first; elsewhere instances stay tracked. Returns whether it did."""
    import ctypes

    at = lambda offset, ty=ctypes.c_ulong: ty.from_address(id(cls) + offset)
    gc_free, free = (
        ctypes.cast(f, ctypes.c_void_p).value
        for f in (ctypes.pythonapi.PyObject_GC_Del, ctypes.pythonapi.PyObject_Free)
    )
    layout_known = (
        sys.version_info[:2] == (3, 11)
        and at(_TP_FLAGS).value == cls.__flags__
        and at(_TP_BASE).value == id(cls.__base__)
        and at(_TP_WEAKLISTOFFSET).value == cls.__weakrefoffset__
        and at(_TP_DICTOFFSET).value == cls.__dictoffset__ == 0
        and at(_TP_FREE, ctypes.c_void_p).value == gc_free
    )
    if not layout_known:
        return False
    at(_TP_FREE, ctypes.c_void_p).value = free
    at(_TP_FLAGS).value = cls.__flags__ & ~_HAVE_GC
    return True


def _ndarrays_retypable(cls):
    """Whether an ndarray that NumPy allocated may become an instance of `cls` (untracked by
    `_untrack_instances`) by setting its type pointer and taking a reference to `cls`, as CPython's
    allocator does for instances of a class defined in Python: the two types lay instances out the
    same and allocate and free them with the same functions, so `cls`'s deallocator frees such an
    array as one of its own. jit's native entries make their results this way (fnad_compiler.pyentry)."""
    import ctypes

    slot = lambda t, offset: ctypes.c_void_p.from_address(id(t) + offset).value
    base = cls.__base__
    return (
        UNTRACKED
        and (cls.__basicsize__, cls.__itemsize__, cls.__weakrefoffset__)
        == (base.__basicsize__, base.__itemsize__, base.__weakrefoffset__)
        and slot(cls, _TP_ALLOC)
        == slot(base, _TP_ALLOC)
        == ctypes.cast(ctypes.pythonapi.PyType_GenericAlloc, ctypes.c_void_p).value
        and slot(cls, _TP_FREE) == slot(base, _TP_FREE)
    )


# PyTypeObject fields (CPython 3.11, 64-bit) and the flag saying instances are collector-tracked.
_TP_FLAGS, _TP_WEAKLISTOFFSET, _TP_BASE, _TP_DICTOFFSET, _TP_ALLOC, _TP_FREE, _HAVE_GC = (
    168,
    208,
    256,
    288,
    304,
    320,
    1 << 14,
)
UNTRACKED = _untrack_instances(Array)
RETYPABLE = _ndarrays_retypable(Array)


def _rebind(name, operator):
    def inplace(self, other):
        return operator(self, other)

    inplace.__name__ = name
    inplace.__doc__ = f"`x {name}= y` rebinds x to a new array (fnad arrays are immutable)."
    return inplace


# In-place operators compute a new Array (Python then rebinds the name), as JAX's do.
for _name, _op in {
    "__iadd__": "__add__",
    "__isub__": "__sub__",
    "__imul__": "__mul__",
    "__itruediv__": "__truediv__",
    "__ifloordiv__": "__floordiv__",
    "__imod__": "__mod__",
    "__ipow__": "__pow__",
    "__imatmul__": "__matmul__",
    "__iand__": "__and__",
    "__ior__": "__or__",
    "__ixor__": "__xor__",
    "__ilshift__": "__lshift__",
    "__irshift__": "__rshift__",
}.items():
    setattr(Array, _name, _rebind(_name, lambda self, other, _op=_op: getattr(self, _op)(other)))


def _plain(x):
    """x with the Arrays in it (also inside lists and tuples) as plain views, for NumPy's functions."""
    t = type(x)
    if t is Array:
        return x.view(np.ndarray)
    if t is tuple or t is list:
        return t(map(_plain, x))
    return x


def as_numpy(x):
    """The plain `numpy.ndarray` view of an Array (zero-copy); any other value unchanged."""
    return x.view(np.ndarray) if type(x) is Array else x


def as_array(x):
    """x (an ndarray, NumPy scalar or array-like) as a read-only Array; an Array itself unchanged.
    A NumPy array becomes a view (no copy) whose write flag is off."""
    if type(x) is Array:
        return x
    view = _view(x if isinstance(x, np.ndarray) else np.asarray(x), Array)
    _setflags(view, False)  # positional: NumPy parses keywords slowly, and this runs on every eager result
    return view


_view, _setflags = np.ndarray.view, np.ndarray.setflags


def as_result(x):
    """An eager result as users get it: arrays and NumPy scalars (also inside a tuple or list, or a
    named tuple such as `eigh`'s) become Arrays; anything else (Python numbers, shapes, tracers) stays."""
    t = type(x)
    if t is np.ndarray or t is Array or isinstance(x, np.generic):
        return as_array(x)
    if t is tuple or t is list:
        return t(map(as_result, x))
    if isinstance(x, tuple) and hasattr(x, "_make"):
        return x._make(map(as_result, x))
    return x


# ----------------------------------------------------------------------------------------------
# Devices: fnad runs on the CPU of its process, which is its one device


class CpuDevice:
    """fnad's device: the host CPU of one process (JAX's `CpuDevice(id=...)`; compiled code may use
    several cores). Under MPI (`fnad.distributed.initialize()`) process p computes on the device p."""

    __slots__ = ("id",)
    platform = "cpu"
    device_kind = "cpu"

    def __init__(self, id=0):
        self.id = id

    process_index = property(lambda self: self.id)
    host_id = property(lambda self: self.id)

    def __eq__(self, other):
        return isinstance(other, CpuDevice) and other.id == self.id

    def __hash__(self):
        return hash(("cpu", self.id))

    def __repr__(self):
        return f"CpuDevice(id={self.id})"

    def __str__(self):
        return f"cpu:{self.id}"

    def __reduce__(self):
        return _device, (self.id,)


_CPU = CpuDevice()  # this process's device
_ALL_DEVICES = [_CPU]  # one per process (fnad.distributed.initialize sets both under MPI)


def _device(id):
    """The device `id` of this job (unpickling gives back the same object, as JAX's devices)."""
    return _ALL_DEVICES[id] if id < len(_ALL_DEVICES) else CpuDevice(id)


def set_process_devices(index, count):
    """Make this process's device `CpuDevice(index)` among `count` (fnad.distributed.initialize)."""
    global _CPU, _ALL_DEVICES
    _ALL_DEVICES = [CpuDevice(i) for i in range(count)]
    _CPU = _ALL_DEVICES[index]


def devices(backend=None):
    """The devices fnad computes on: a list holding the one CPU device, as `jax.devices()` on a CPU host;
    under MPI (after `fnad.distributed.initialize()`), one CPU device per process.

    >>> import fnad
    >>> fnad.devices()
    [CpuDevice(id=0)]
    >>> fnad.devices()[0].platform
    'cpu'
    """
    if backend not in (None, "cpu"):
        raise RuntimeError(f"Unknown backend {backend!r}: fnad runs on the CPU only (backend 'cpu')")
    return list(_ALL_DEVICES)


def local_devices(process_index=None, backend=None):
    """The devices of one process (this one by default): its CPU device, as `jax.local_devices()`."""
    everywhere = devices(backend)
    index = everywhere.index(_CPU) if process_index is None else process_index
    if not 0 <= index < len(everywhere):
        raise ValueError(f"process_index {index} is out of range for {len(everywhere)} process(es)")
    return [everywhere[index]]


def device_count(backend=None):
    """The number of devices in the job (one per process), as `jax.device_count()`.

    >>> import fnad
    >>> fnad.device_count(), fnad.local_device_count()
    (1, 1)
    """
    return len(devices(backend))


def local_device_count(backend=None):
    """The number of this process's devices (1), as `jax.local_device_count()`."""
    return len(local_devices(backend=backend))


def device_get(x):
    """`x` (a pytree) with every Array leaf a read-only NumPy array (zero-copy) and NumPy scalars 0-d
    arrays, as JAX's `device_get` gives; other leaves unchanged.

    >>> import fnad, fnad.numpy as fnp
    >>> fnad.device_get({"w": fnp.arange(2.0), "step": 3})
    {'step': 3, 'w': array([0., 1.])}
    """
    return tree_map(
        lambda leaf: (
            as_numpy(leaf) if type(leaf) is Array else np.asarray(leaf) if isinstance(leaf, np.generic) else leaf
        ),
        x,
    )


def device_put(x, device=None):
    """`x` (a pytree of arrays and scalars) with every leaf an Array on `device` (None or fnad's CPU
    device); traced leaves stay as they are. As in JAX, this is how to make an Array from NumPy data.

    >>> import numpy as np, fnad
    >>> fnad.device_put(np.arange(3.0))
    Array([0., 1., 2.], dtype=float64)
    >>> fnad.device_put({"w": 1.0})["w"].device
    CpuDevice(id=0)
    """
    if device is not None and device != _CPU:
        raise TypeError(f"device_put: device must be None or one of fnad.devices(), got {device!r}")
    return tree_map(lambda leaf: as_array(leaf) if _is_concrete_leaf(leaf) else leaf, x)


def _is_concrete_leaf(x):
    return isinstance(x, (np.ndarray, np.generic, bool, int, float, complex))


def block_until_ready(x):
    """Wait until every array in the pytree `x` is computed, and return `x` (fnad computes eagerly and
    compiled calls return when done, so there is nothing to wait for; JAX code calls it to time work).

    >>> import numpy as np, fnad
    >>> fnad.block_until_ready({"a": fnad.numpy.ones(2), "b": 1.0})["a"]
    Array([1., 1.], dtype=float64)
    """
    return x
