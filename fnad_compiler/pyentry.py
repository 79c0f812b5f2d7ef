"""Python's calling convention for compiled code: each executable is a real builtin function.

`add_entry(module, jaxpr, in_avals, out_avals)` adds, next to `fnad_main` (see `fnad_compiler.lower`),

    PyObject* fnad_entry(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames)

with CPython's METH_FASTCALL | METH_KEYWORDS signature, and `make_entry` wraps it as a builtin
(`PyCFunction_NewEx`; its module slot holds what the table points at) whose `self` is a PyCapsule
of a table of its own (pointer-sized slots):

    [consts..]               data pointers of the constants (fnad_main's `consts` is the table)
    array type               &PyArray_Type
    result type              fnad.Array, the read-only ndarray subclass fnad returns (fnad/array.py)
    allocation type          the type outputs are allocated as: &PyArray_Type where an ndarray may
                             become an Array (`fnad.array.RETYPABLE`), else fnad.Array
    guard                    address of an int64: the entry runs only while it is 0
    fallback                 the Python callable that handles every call the entry refuses
    form                     the result: a list / tuple of the outputs, or the single output itself
    int type, bool type      &PyLong_Type, &PyBool_Type
    [descr of each input, the scalar type it takes..]

The entry checks that there are no keywords, the guard is 0 and every input is an ndarray or an
fnad.Array (exactly: the type pointer is one of the two) of the compiled ndim, shape and dtype
(descr identity), C-contiguous and aligned, reading the PyArrayObject fields at `_PYOBJECT_LAYOUT`
(checked on live arrays by `supported`). A complex input or output compiled on its real
representation (float S+(2,), `fnad.passes.lower_complex`) is a complex array of shape S here: the
same bytes, so its data pointer goes to fnad_main unchanged. A 0-d input may instead be a scalar of
exactly its table's scalar type: a Python float, complex, int or bool for an input traced from one
(weakly typed, of that type's dtype; its descr slot is then NULL, so no array matches), else the
NumPy scalar type of its dtype. Floats, complexes and NumPy scalars are read in place (their value
follows the object header); ints and bools are decoded from CPython's digits, up to 60 bits
(`_PYLONG_LAYOUT`, checked by `scalars_supported`). Which scalar an input takes lives in the table,
not in the code: the code is cached by IR text, which weak types do not change. Otherwise the entry
returns `fallback(*args, **kwargs)`. Then it allocates the outputs with NumPy's `PyArray_New` (from
its `_ARRAY_API` table) as ndarrays and retypes them to fnad.Array (the type pointer, and the
reference to the type that CPython's allocator would have taken), or, where that is not known to be
safe, allocates them as Arrays. Retyping skips what NumPy does for a subclass, a lookup of
`__array_finalize__` on the type (Array defines none, so no Python code runs either way): about a
tenth of a call. It clears their write flag, runs fnad_main (without the GIL when the program touches at
least `_GIL_RELEASE_ELEMENTS` elements) and returns them in their form. Generated code is
cached on disk, so the IR holds nothing specific to a process: per-process addresses come from
the table or are resolved when the code is loaded (`engine.register_symbol`).
"""

from __future__ import annotations

import ctypes
import functools

import numpy as np

from fnad.array import RETYPABLE, Array
from fnad_compiler import buffers, engine, fusion

__all__ = ["ENTRY", "FORMS", "add_entry", "make_entry", "scalars_supported", "supported"]

ENTRY = "fnad_entry"
FORMS = {"list": 0, "tuple": 1, "single": 2}  # the result forms and their codes in the table
_GIL_RELEASE_ELEMENTS = 1 << 16
_PYOBJECT_LAYOUT = {"ob_type": 8, "data": 16, "nd": 24, "dimensions": 32, "descr": 56, "flags": 64}
_C_CONTIGUOUS_ALIGNED = 0x1 | 0x100
_WRITEABLE = 0x400
# Table slots after the consts; then two per input (its descr and the scalar type it takes).
_ARRAY_TYPE, _RESULT_TYPE, _ALLOC_TYPE, _GUARD, _FALLBACK, _FORM, _INT_TYPE, _BOOL_TYPE, _INPUTS = range(9)
_SCALAR_VALUE = 16  # offset of the value in a Python float or complex and in a NumPy scalar (after the header)
_PYLONG_LAYOUT = {"size": 16, "digits": 24, "bits": 30}  # CPython 3.11's int: signed digit count, digits
# The Python scalars weakly typed inputs take, by dtype (the one each is traced as, whose bytes it holds)
_PYTHON_SCALAR_TYPES = {np.dtype(t): t for t in (bool, int, float, complex)}
_METH_FASTCALL_KEYWORDS = 0x80 | 0x02
_ARRAY_API_NEW = 93  # PyArray_New's slot in NumPy's _ARRAY_API (numpy/__multiarray_api.h)
_ARRAY_API_TYPE = 2  # &PyArray_Type's slot

# The C-API functions generated code calls: name -> (return type, argument types), as LLVM type names
# (not llvmlite types: a process whose code all comes from the disk cache builds no entry, and never
# imports llvmlite.ir; see fnad_compiler.ir_text).
_C_API = {
    "PyCapsule_GetPointer": ("ptr", ["ptr", "ptr"]),
    "PyObject_Vectorcall": ("ptr", ["ptr", "ptr", "i64", "ptr"]),
    "PyTuple_New": ("ptr", ["i64"]),
    "PyTuple_SetItem": ("i32", ["ptr", "i64", "ptr"]),
    "PyList_New": ("ptr", ["i64"]),
    "PyList_SetItem": ("i32", ["ptr", "i64", "ptr"]),
    "Py_DecRef": ("void", ["ptr"]),
    "PyEval_SaveThread": ("ptr", []),
    "PyEval_RestoreThread": ("void", ["ptr"]),
    # PyArray_New(subtype, nd, dims, type_num, strides, data, itemsize, flags, obj)
    "fnad_PyArray_New": ("ptr", ["ptr", "i32", "ptr", "i32", "ptr", "ptr", "i32", "i32", "ptr"]),
    buffers.POOL_ARRAY: ("ptr", ["ptr", "i32", "ptr", "i32", "i64"]),  # fnad_compiler.buffers
}


# ----------------------------------------------------------------------------------------------
# The generated entry


def add_entry(module, jaxpr, in_avals=None, out_avals=None):
    """Define `fnad_entry` for `jaxpr` in `module`, which already defines its `fnad_main`. `in_avals`,
    `out_avals` (default: the jaxpr's): the arrays the entry takes and returns, a complex one of shape S
    where the jaxpr has its real representation, float S+(2,) (the same bytes)."""
    from llvmlite import ir  # here: see `_C_API`

    from fnad_compiler.llvm_ir import I8, I32, I64, PTR, VOID, i32, i64

    in_avals = [v.aval for v in jaxpr.invars] if in_avals is None else in_avals
    out_avals = [v.aval for v in jaxpr.outvars] if out_avals is None else out_avals
    n_in, n_out, n_const = len(in_avals), len(out_avals), len(jaxpr.constvars)
    types = {"ptr": PTR, "i32": I32, "i64": I64, "void": VOID}
    api = {
        name: module.globals.get(name)
        or ir.Function(module, ir.FunctionType(types[ret], [types[a] for a in args]), name)
        for name, (ret, args) in _C_API.items()
    }
    null = ir.Constant(PTR, None)
    fn = ir.Function(module, ir.FunctionType(PTR, [PTR, PTR, I64, PTR]), ENTRY)
    capsule, args, nargs, kwnames = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    table = b.call(api["PyCapsule_GetPointer"], [capsule, null])
    ins, out_data = b.alloca(PTR, size=max(n_in, 1)), b.alloca(PTR, size=max(n_out, 1))
    slot = lambda i: b.load(b.gep(table, [i64(n_const + i)], source_etype=PTR), typ=PTR)
    field = lambda obj, name, ty: b.load(b.gep(obj, [i64(_PYOBJECT_LAYOUT[name])], source_etype=I8), typ=ty)
    refuse = fn.append_basic_block("refuse")
    with b.goto_block(refuse):
        b.ret(b.call(api["PyObject_Vectorcall"], [slot(_FALLBACK), args, nargs, kwnames]))

    def require(condition):
        ok = fn.append_basic_block()
        b.cbranch(condition, ok, refuse)
        b.position_at_end(ok)

    require(b.and_(b.icmp_signed("==", nargs, i64(n_in)), b.icmp_unsigned("==", kwnames, null)))
    require(b.icmp_signed("==", b.load(slot(_GUARD), typ=I64), i64(0)))
    array_type, result_type = slot(_ARRAY_TYPE), slot(_RESULT_TYPE)
    for i, aval in enumerate(in_avals):
        a = b.load(b.gep(args, [i64(i)], source_etype=PTR), typ=PTR)
        ob_type = field(a, "ob_type", PTR)
        is_array = b.or_(b.icmp_unsigned("==", ob_type, array_type), b.icmp_unsigned("==", ob_type, result_type))
        if aval.ndim == 0:
            array_block, scalar_block = fn.append_basic_block(), fn.append_basic_block()
            b.cbranch(is_array, array_block, scalar_block)
            b.position_at_end(scalar_block)
            require(b.icmp_unsigned("==", ob_type, slot(_INPUTS + 2 * i + 1)))
            scalar_type, int_types = slot(_INPUTS + 2 * i + 1), (slot(_INT_TYPE), slot(_BOOL_TYPE))
            data = _scalar_data(b, fn, require, a, aval.dtype, scalar_type, int_types)
            b.store(data, b.gep(ins, [i64(i)], source_etype=PTR))
            scalar_done = b.block
            b.position_at_end(array_block)
        else:
            require(is_array)
        require(b.icmp_unsigned("==", field(a, "nd", I32), i32(aval.ndim)))
        flags = b.and_(field(a, "flags", I32), i32(_C_CONTIGUOUS_ALIGNED))
        require(b.icmp_unsigned("==", flags, i32(_C_CONTIGUOUS_ALIGNED)))
        require(b.icmp_unsigned("==", field(a, "descr", PTR), slot(_INPUTS + 2 * i)))
        for d, size in enumerate(aval.shape):
            dim = b.load(b.gep(field(a, "dimensions", PTR), [i64(d)], source_etype=I64), typ=I64)
            require(b.icmp_signed("==", dim, i64(size)))
        b.store(field(a, "data", PTR), b.gep(ins, [i64(i)], source_etype=PTR))
        if aval.ndim == 0:
            joined = fn.append_basic_block()
            b.branch(joined)
            with b.goto_block(scalar_done):
                b.branch(joined)
            b.position_at_end(joined)

    outs = []
    alloc_type = slot(_ALLOC_TYPE)
    # 1 where outputs are allocated as ndarrays and become Arrays: each then takes its reference to Array.
    retyped = b.zext(b.icmp_unsigned("!=", alloc_type, result_type), I64)

    def fail():
        """Release the outputs allocated so far; NULL tells Python the exception is set."""
        for o in outs:
            b.call(api["Py_DecRef"], [o])
        b.ret(null)

    for j, aval in enumerate(out_avals):
        dims = null
        if aval.ndim:
            dims = ir.GlobalVariable(module, ir.ArrayType(I64, aval.ndim), f"{ENTRY}_dims{j}")
            dims.initializer = ir.Constant(dims.value_type, [i64(s) for s in aval.shape])
            dims.global_constant, dims.linkage = True, "private"
        type_num, nbytes = i32(np.dtype(aval.dtype).num), fusion.nbytes(aval)
        if nbytes >= buffers.MIN_BYTES:  # over a block of the pool, warm from an earlier call
            o = b.call(api[buffers.POOL_ARRAY], [alloc_type, i32(aval.ndim), dims, type_num, i64(nbytes)])
        else:
            o = b.call(
                api["fnad_PyArray_New"],
                [alloc_type, i32(aval.ndim), dims, type_num] + [null, null, i32(0), i32(0), null],
            )
        allocated = fn.append_basic_block()
        failed = fn.append_basic_block()
        b.cbranch(b.icmp_unsigned("==", o, null), failed, allocated)
        with b.goto_block(failed):
            fail()
        b.position_at_end(allocated)
        outs.append(o)
        b.store(result_type, b.gep(o, [i64(_PYOBJECT_LAYOUT["ob_type"])], source_etype=I8))
        b.store(b.add(b.load(result_type, typ=I64), retyped), result_type)  # ob_refcnt, at offset 0
        flags = b.gep(o, [i64(_PYOBJECT_LAYOUT["flags"])], source_etype=I8)
        b.store(b.and_(b.load(flags, typ=I32), i32(~_WRITEABLE)), flags)
        b.store(field(o, "data", PTR), b.gep(out_data, [i64(j)], source_etype=PTR))

    release = sum(v.aval.size for v in jaxpr.invars + jaxpr.outvars) >= _GIL_RELEASE_ELEMENTS
    thread_state = b.call(api["PyEval_SaveThread"], []) if release else None
    b.call(module.globals["fnad_main"], [ins, table, out_data])
    if release:
        b.call(api["PyEval_RestoreThread"], [thread_state])

    form = b.ptrtoint(slot(_FORM), I64)
    if n_out == 1:
        single, several = fn.append_basic_block("single"), fn.append_basic_block()
        b.cbranch(b.icmp_signed("==", form, i64(FORMS["single"])), single, several)
        with b.goto_block(single):
            b.ret(outs[0])
        b.position_at_end(several)
    as_tuple, as_list = fn.append_basic_block("tuple"), fn.append_basic_block("list")
    b.cbranch(b.icmp_signed("==", form, i64(FORMS["tuple"])), as_tuple, as_list)
    for block, kind in ((as_tuple, "Tuple"), (as_list, "List")):
        b.position_at_end(block)
        container = b.call(api[f"Py{kind}_New"], [i64(n_out)])
        filled, failed = fn.append_basic_block(), fn.append_basic_block()
        b.cbranch(b.icmp_unsigned("==", container, null), failed, filled)
        with b.goto_block(failed):
            fail()
        b.position_at_end(filled)
        for j, o in enumerate(outs):  # SetItem steals the reference and cannot fail here
            b.call(api[f"Py{kind}_SetItem"], [container, i64(j), o])
        b.ret(container)


def _scalar_data(b, fn, require, obj, dtype, scalar_type, int_types):
    """Where the value of scalar `obj` (of the input's scalar type, checked) is, as its input's
    dtype: in place after the header, or for a Python int or bool (`scalar_type` one of the two
    `int_types`) decoded into a stack slot (ints of more than two digits are refused)."""
    from fnad_compiler.llvm_ir import I8, I32, I64, PTR, i64  # here: see `_C_API`

    in_place = b.gep(obj, [i64(_SCALAR_VALUE)], source_etype=I8)
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.int64), np.dtype(bool)):
        return in_place
    start = b.block
    decode, done = fn.append_basic_block(), fn.append_basic_block()
    is_python = b.or_(*[b.icmp_unsigned("==", scalar_type, t) for t in int_types])
    b.cbranch(is_python, decode, done)
    b.position_at_end(decode)
    lay = _PYLONG_LAYOUT
    size = b.load(b.gep(obj, [i64(lay["size"])], source_etype=I8), typ=I64)
    require(b.icmp_unsigned("<=", b.add(size, i64(2)), i64(4)))  # -2 <= size <= 2
    negative = b.icmp_signed("<", size, i64(0))
    count = b.select(negative, b.neg(size), size)
    value = i64(0)
    for k in range(2):  # digit k exists when count > k; the others are never read
        digit = fn.append_basic_block()
        skip = fn.append_basic_block()
        before = b.block
        b.cbranch(b.icmp_signed(">", count, i64(k)), digit, skip)
        b.position_at_end(digit)
        d = b.load(b.gep(obj, [i64(lay["digits"] + 4 * k)], source_etype=I8), typ=I32)
        with_digit = b.or_(value, b.shl(b.zext(d, I64), i64(lay["bits"] * k)))
        b.branch(skip)
        b.position_at_end(skip)
        merged = b.phi(I64)
        merged.add_incoming(value, before)
        merged.add_incoming(with_digit, digit)
        value = merged
    value = b.select(negative, b.neg(value), value)
    with b.goto_block(fn.entry_basic_block):
        b.position_at_start(fn.entry_basic_block)
        decoded = b.alloca(I64)
    b.store(value if dtype == np.dtype(np.int64) else b.zext(b.icmp_signed("!=", value, i64(0)), I64), decoded)
    decoded_block = b.block
    b.branch(done)
    b.position_at_end(done)
    data = b.phi(PTR)
    data.add_incoming(in_place, start)
    data.add_incoming(decoded, decoded_block)
    return data


# ----------------------------------------------------------------------------------------------
# Linking: C-API addresses for generated code, and the builtin around a loaded entry


_capsule_pointer = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.py_object, ctypes.c_char_p)(
    ("PyCapsule_GetPointer", ctypes.pythonapi)
)
_new_capsule = ctypes.PYFUNCTYPE(ctypes.py_object, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p)(
    ("PyCapsule_New", ctypes.pythonapi)
)
_new_builtin = ctypes.PYFUNCTYPE(ctypes.py_object, ctypes.c_void_p, ctypes.py_object, ctypes.py_object)(
    ("PyCFunction_NewEx", ctypes.pythonapi)
)
_UNGUARDED = ctypes.c_int64(0)


def _pythonapi_address(name):
    return ctypes.cast(getattr(ctypes.pythonapi, name), ctypes.c_void_p).value


@functools.cache
def _array_api():
    """NumPy's C-API table (the `_ARRAY_API` capsule of its multiarray module)."""
    from numpy._core import _multiarray_umath

    pointer = _capsule_pointer(_multiarray_umath._ARRAY_API, None)
    return (ctypes.c_void_p * (_ARRAY_API_NEW + 1)).from_address(pointer)


for _name in _C_API.keys() - {buffers.POOL_ARRAY}:  # the pool registers its own
    engine.register_symbol(
        _name,
        (lambda: _array_api()[_ARRAY_API_NEW])
        if _name == "fnad_PyArray_New"
        else functools.partial(_pythonapi_address, _name),
    )


@functools.cache
def scalars_supported():
    """Whether native entries can read scalars as the generated code does: a Python float's or
    complex's (two doubles) and a NumPy scalar's value right after the object header, a Python
    int's (and bool's) signed digit count and 30-bit digits at `_PYLONG_LAYOUT` (CPython 3.11's
    int; 3.12 changed it). Checked on live objects; where not, scalars take the Python dispatch."""
    lay = _PYLONG_LAYOUT
    at = lambda obj, offset, ty: ty.from_address(id(obj) + offset).value

    def value_after_header(obj, ty):  # read as one `ty`, or for a complex `obj` as a pair of them
        pair = np.iscomplexobj(obj)
        parts = (ty * (1 + pair)).from_address(id(obj) + _SCALAR_VALUE)
        return complex(*parts) if pair else parts[0]

    for value, ty in (
        (1.25, ctypes.c_double),
        (1.5 - 2.25j, ctypes.c_double),
        (np.float64(1.25), ctypes.c_double),
        (np.float32(-2.5), ctypes.c_float),
        (np.complex128(-0.5 + 3j), ctypes.c_double),
        (np.complex64(2.5 - 1j), ctypes.c_float),
        (np.int64(-7), ctypes.c_int64),
        (np.int8(-3), ctypes.c_int8),
        (np.bool_(True), ctypes.c_uint8),
    ):
        if value_after_header(value, ty) != value:
            return False
    for value in (0, 1, -1, 5, (1 << 30) + 3, -(1 << 59) - 11, True, False):
        size = at(value, lay["size"], ctypes.c_int64)
        digits = [at(value, lay["digits"] + 4 * k, ctypes.c_uint32) for k in range(abs(size))]
        magnitude = sum(d << (lay["bits"] * k) for k, d in enumerate(digits))
        if abs(size) > 2 or (-magnitude if size < 0 else magnitude) != value:
            return False
    return True


class _MethodDef(ctypes.Structure):
    _fields_ = [
        ("ml_name", ctypes.c_char_p),
        ("ml_meth", ctypes.c_void_p),
        ("ml_flags", ctypes.c_int),
        ("ml_doc", ctypes.c_char_p),
    ]


@functools.cache
def supported():
    """Whether native entries can run here: the PyArrayObject fields are where the generated code
    reads them and NumPy's `PyArray_New` and `&PyArray_Type` are at the expected slots of its
    C-API table (checked on live arrays; where not, executables use the slower ctypes path)."""
    lay = _PYOBJECT_LAYOUT
    read_only = np.zeros(4)
    read_only.flags.writeable = False
    for a in (np.zeros((3, 5), np.float32), np.zeros((), bool), np.zeros((2, 3), np.int64)[:, ::2], read_only):
        base = id(a)
        read = lambda name, ty: ty.from_address(base + lay[name]).value
        if (
            read("ob_type", ctypes.c_void_p) != id(np.ndarray)
            or read("data", ctypes.c_void_p) != a.ctypes.data
            or read("nd", ctypes.c_int32) != a.ndim
            or read("descr", ctypes.c_void_p) != id(a.dtype)
            or bool(read("flags", ctypes.c_int32) & 1) != a.flags.c_contiguous
            or bool(read("flags", ctypes.c_int32) & _WRITEABLE) != a.flags.writeable
        ):
            return False
        dims = read("dimensions", ctypes.c_void_p)
        if a.ndim and tuple((ctypes.c_int64 * a.ndim).from_address(dims)) != a.shape:
            return False
    api = _array_api()
    if api[_ARRAY_API_TYPE] != id(np.ndarray):
        return False
    new = ctypes.PYFUNCTYPE(
        ctypes.py_object,
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_void_p,
    )(api[_ARRAY_API_NEW])
    dims = (ctypes.c_int64 * 2)(2, 3)
    made = new(id(Array), 2, ctypes.addressof(dims), np.dtype(np.int32).num, None, None, 0, 0, None)
    return type(made) is Array and made.shape == (2, 3) and made.dtype == np.int32 and made.flags.c_contiguous


def make_entry(library, consts, in_avals, n_out, fallback, form="list", guard=None, name=ENTRY):
    """A builtin function running `library`'s `fnad_entry` over the C-contiguous arrays `consts`:
    `f(*arrays)` returns the outputs in `form` (a key of FORMS), or `fallback(*args, **kwargs)` for
    any call it refuses (see the module docstring). `in_avals`: the inputs its `add_entry`
    took (complex ones too); weakly typed 0-d ones take the Python scalars of their dtype, the other
    0-d ones also NumPy scalars. `guard`:
    an 8-byte ctypes object; while it is nonzero every call goes to `fallback`. The builtin keeps
    everything it points at alive."""
    if form not in FORMS or (form == "single" and n_out != 1):
        raise ValueError(f"result form {form!r} is not 'list', 'tuple' or (for one output) 'single'")
    guard = _UNGUARDED if guard is None else guard
    if ctypes.sizeof(guard) != 8:
        raise TypeError(f"the guard must be an 8-byte ctypes object, got {guard!r}")
    inputs = []
    for aval in in_avals:
        dtype = np.dtype(aval.dtype)
        python = aval.weak_type and aval.ndim == 0
        scalar = _PYTHON_SCALAR_TYPES.get(dtype) if python else dtype.type
        takes_scalar = aval.ndim == 0 and scalar is not None and scalars_supported()
        inputs += [None if python else id(dtype), id(scalar) if takes_scalar else None]
    slots = (
        [c.ctypes.data for c in consts]
        + [
            id(np.ndarray),
            id(Array),
            id(np.ndarray if RETYPABLE else Array),
            ctypes.addressof(guard),
            id(fallback),
            FORMS[form],
            id(int),
            id(bool),
        ]
        + inputs
    )
    table = (ctypes.c_void_p * len(slots))(*slots)
    method = _MethodDef(name.encode(), library.address(ENTRY), _METH_FASTCALL_KEYWORDS, None)
    keep = (table, method, library, tuple(consts), fallback, guard)
    return _new_builtin(ctypes.addressof(method), _new_capsule(ctypes.addressof(table), None, None), keep)
