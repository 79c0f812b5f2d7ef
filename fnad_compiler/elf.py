"""Loading object code without LLVM: a small linker for the x86-64 ELF objects `fnad_compiler.engine`
emits, so that a process whose code all comes from the disk cache never loads llvmlite's LLVM
(importing llvmlite.binding and loading its 180 MB library took about a sixth of a warm-cache cold
start).

It handles what LLVM emits for the host in position-independent, small-code-model objects:
allocated PROGBITS/NOBITS sections and the relocations R_X86_64_64, PC32, PC64, PLT32 and
GOTPCREL(X)/REX_GOTPCRELX. Calls to symbols outside the object go through stubs of its own
(`jmp *slot(%rip)`) and GOT slots placed next to the code, so they reach anywhere in the address
space. Anything else (another machine, TLS, common symbols, other relocations, an unresolved
symbol) raises `Unsupported`, and the caller loads the object with LLVM instead. Unwind tables
(.eh_frame) are not registered: nothing unwinds through generated code.

Memory: one anonymous mapping per object: code and stubs (then read+execute), read-only data and
GOT (then read-only), writable data (read+write); unmapped when the `MappedObject` is collected.

`cpu_signature` runs CPUID and XGETBV as LLVM does to name the host CPU and its features, so that
the cache can tell the host without loading LLVM (see `fnad_compiler.engine.host_fingerprint`).
"""

import ctypes
import os
import struct
import sys
import weakref

__all__ = ["MappedObject", "Unsupported", "cpu_signature", "load", "supported"]

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_SHDR = struct.Struct("<IIQQQQIIQQ")
_SYM = struct.Struct("<IBBHQQ")
_RELA = struct.Struct("<QQq")
_EM_X86_64 = 62
_ET_REL = 1
_SHT_PROGBITS, _SHT_SYMTAB, _SHT_RELA, _SHT_NOBITS, _SHT_REL = 1, 2, 4, 8, 9
_SHF_WRITE, _SHF_ALLOC, _SHF_EXECINSTR, _SHF_TLS = 0x1, 0x2, 0x4, 0x400
_SHN_UNDEF, _SHN_ABS, _SHN_COMMON = 0, 0xFFF1, 0xFFF2
_STB_LOCAL, _STB_WEAK = 0, 2
_STT_SECTION = 3
_R_64, _R_PC32, _R_PLT32, _R_GOTPCREL, _R_PC64, _R_GOTPCRELX, _R_REX_GOTPCRELX = 1, 2, 4, 9, 24, 41, 42
_GOT_RELOCATIONS = (_R_GOTPCREL, _R_GOTPCRELX, _R_REX_GOTPCRELX)
_STUB = b"\xff\x25"  # jmp *disp32(%rip), followed by the disp32 of its GOT slot
_STUB_SIZE = 8
_PROT_READ, _PROT_WRITE, _PROT_EXEC = 0x1, 0x2, 0x4
_MAP_PRIVATE, _MAP_ANONYMOUS = 0x02, 0x20
_PAGE = os.sysconf("SC_PAGE_SIZE")  # not mmap.PAGESIZE: importing mmap took 0.3 ms


class Unsupported(Exception):
    """The object uses something this loader does not handle (the caller falls back to LLVM)."""


def supported():
    """Whether this loader can run here at all: Linux on x86-64."""
    return sys.platform.startswith("linux") and os.uname().machine == "x86_64"


_LIBC = None


def _libc():
    global _LIBC
    if _LIBC is None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
        libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        libc.dlsym.restype = ctypes.c_void_p
        libc.dlsym.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        _LIBC = libc
    return _LIBC


def process_symbol(name):
    """Address of `name` in the process's global scope (the executable, libc, libm and every
    library loaded RTLD_GLOBAL), or None."""
    return _libc().dlsym(None, name.encode())


class MappedObject:
    """A loaded object: `obj[name]` is the address of its global symbol `name`; the memory is
    unmapped when this object is garbage collected."""

    def __init__(self, name, base, size, symbols):
        self.name = name
        self._symbols = symbols
        # Not at exit: threads (fnad_compiler.parallel's workers) may still run the code then.
        weakref.finalize(self, _libc().munmap, base, size).atexit = False

    def __getitem__(self, name):
        return self._symbols[name]

    def __contains__(self, name):
        return name in self._symbols


class _Section:
    __slots__ = ("address", "align", "flags", "info", "link", "name", "offset", "size", "type")

    def __init__(self, name, type_, flags, offset, size, align, link, info):
        self.name, self.type, self.flags, self.offset, self.size = name, type_, flags, offset, size
        self.align, self.link, self.info, self.address = max(align, 1), link, info, None


def _string(data, offset):
    return data[offset : data.index(b"\0", offset)].decode()


def _parse(obj):
    """(sections, symbols) of an ELF relocatable object; symbols are (name, bind, type, section, value)."""
    if len(obj) < _EHDR.size or obj[:4] != b"\x7fELF" or obj[4] != 2 or obj[5] != 1:
        raise Unsupported("not a 64-bit little-endian ELF object")
    header = _EHDR.unpack_from(obj)
    e_type, e_machine, shoff, shentsize, shnum, shstrndx = (header[i] for i in (1, 2, 6, 11, 12, 13))
    if e_type != _ET_REL or e_machine != _EM_X86_64 or shentsize != _SHDR.size:
        raise Unsupported(f"not an x86-64 relocatable object (type {e_type}, machine {e_machine})")
    raw = [_SHDR.unpack_from(obj, shoff + i * _SHDR.size) for i in range(shnum)]
    names = raw[shstrndx][4]
    sections = [_Section(_string(obj, names + s[0]), s[1], s[2], s[4], s[5], s[8], s[6], s[7]) for s in raw]
    symtabs = [s for s in sections if s.type == _SHT_SYMTAB]
    if len(symtabs) != 1:
        raise Unsupported(f"{len(symtabs)} symbol tables")
    table, strings = symtabs[0], sections[symtabs[0].link].offset
    symbols = []
    for i in range(table.size // _SYM.size):
        st_name, info, _, shndx, value, _ = _SYM.unpack_from(obj, table.offset + i * _SYM.size)
        symbols.append((_string(obj, strings + st_name), info >> 4, info & 0xF, shndx, value))
    return sections, symbols


def _regions(sections):
    """The allocated sections (except unwind tables) by the protection of the region they go to:
    code (read+execute), read-only data, writable data."""
    regions = {_PROT_READ | _PROT_EXEC: [], _PROT_READ: [], _PROT_READ | _PROT_WRITE: []}
    for s in sections:
        if not s.flags & _SHF_ALLOC or s.name == ".eh_frame":
            continue
        if s.flags & _SHF_TLS:
            raise Unsupported(f"thread-local section {s.name}")
        if s.type not in (_SHT_PROGBITS, _SHT_NOBITS) or s.name in (".ctors", ".dtors"):
            raise Unsupported(f"section {s.name} of type {s.type:#x}")  # e.g. constructors: LLVM runs them
        if s.align > _PAGE:
            raise Unsupported(f"section {s.name} aligned to {s.align} bytes")
        if s.flags & _SHF_WRITE and s.flags & _SHF_EXECINSTR:
            raise Unsupported(f"writable code section {s.name}")
        prot = _PROT_READ | (_PROT_EXEC if s.flags & _SHF_EXECINSTR else _PROT_WRITE if s.flags & _SHF_WRITE else 0)
        regions[prot].append(s)
    return regions


def _align(n, a):
    return (n + a - 1) & -a


def _relocations(obj, sections, loaded):
    """[(target section, [(offset, type, symbol index, addend)])] for the sections in `loaded`."""
    relocations = []
    for s in sections:
        if s.type == _SHT_REL:
            raise Unsupported(f"REL relocations in {s.name}")
        if s.type == _SHT_RELA and id(sections[s.info]) in loaded:
            entries = []
            for i in range(s.size // _RELA.size):
                offset, info, addend = _RELA.unpack_from(obj, s.offset + i * _RELA.size)
                entries.append((offset, info & 0xFFFFFFFF, info >> 32, addend))
            relocations.append((sections[s.info], entries))
    return relocations


def load(obj, name, resolve):
    """Map, relocate and protect the ELF object `obj` (bytes); returns a `MappedObject` named `name`.
    `resolve(symbol name)` gives the address of a symbol the object does not define, or None.
    Raises `Unsupported` (nothing stays mapped) for what this loader does not handle."""
    sections, symbols = _parse(obj)
    regions = _regions(sections)
    relocations = _relocations(obj, sections, {id(s) for members in regions.values() for s in members})
    # GOT slots (symbol index -> slot number) for GOT relocations and for the stubs through which
    # calls leave the object (symbol index -> stub number).
    got, stubs = {}, {}
    for _, entries in relocations:
        for _, kind, index, _ in entries:
            if symbols[index][3] == _SHN_COMMON:
                raise Unsupported(f"common symbol {symbols[index][0]}")
            if kind == _R_PLT32 and symbols[index][3] == _SHN_UNDEF:
                stubs.setdefault(index, len(stubs))
                got.setdefault(index, len(got))
            elif kind in _GOT_RELOCATIONS:
                got.setdefault(index, len(got))

    # Offsets from the mapping's start: code, then stubs | read-only data, then GOT | writable data.
    offset, protections, stub_base, got_base = 0, [], 0, 0
    for prot, members in regions.items():
        start = offset
        for s in members:
            offset = _align(offset, s.align)
            s.address = offset
            offset += s.size
        if prot == _PROT_READ | _PROT_EXEC:
            stub_base = offset = _align(offset, _STUB_SIZE)
            offset += _STUB_SIZE * len(stubs)
        elif prot == _PROT_READ:
            got_base = offset = _align(offset, 8)
            offset += 8 * len(got)
        if offset > start:
            protections.append((start, offset - start, prot))
        offset = _align(offset, _PAGE)
    size = max(offset, _PAGE)

    libc = _libc()
    base = libc.mmap(None, size, _PROT_READ | _PROT_WRITE, _MAP_PRIVATE | _MAP_ANONYMOUS, -1, 0)
    if base in (None, ctypes.c_void_p(-1).value):
        raise Unsupported(f"mmap of {size} bytes failed (errno {ctypes.get_errno()})")

    def address(index):
        sym_name, bind, _, shndx, value = symbols[index]
        if shndx == _SHN_UNDEF:
            found = resolve(sym_name)
            if found is None and bind != _STB_WEAK:
                raise Unsupported(f"unresolved symbol {sym_name!r}")
            return found or 0
        if shndx == _SHN_ABS:
            return value
        if sections[shndx].address is None:
            raise Unsupported(f"symbol {sym_name!r} in unloaded section {sections[shndx].name}")
        return base + sections[shndx].address + value

    try:
        # Built in a bytearray and copied into the mapping at once: slice assignment to a ctypes array
        # goes byte by byte (0.12 ms of an object's 0.4), and packing into one is 3x slower. Not
        # beyond the last byte written, so that the pages of large zero-filled sections stay untouched.
        loaded = [s for members in regions.values() for s in members if s.type == _SHT_PROGBITS]
        memory = bytearray(
            max([s.address + s.size for s in loaded] + [stub_base + _STUB_SIZE * len(stubs), got_base + 8 * len(got)])
        )
        for s in loaded:
            memory[s.address : s.address + s.size] = obj[s.offset : s.offset + s.size]
        for index, slot in got.items():
            struct.pack_into("<Q", memory, got_base + 8 * slot, address(index))
        for index, stub in stubs.items():
            place = stub_base + _STUB_SIZE * stub
            target = got_base + 8 * got[index]
            memory[place : place + _STUB_SIZE] = _STUB + struct.pack("<i", target - (place + 6)) + b"\xcc\xcc"
        for section, entries in relocations:
            for offset, kind, index, addend in entries:
                place = section.address + offset
                if kind in _GOT_RELOCATIONS:
                    _put32(memory, place, got_base + 8 * got[index] + addend - place)
                elif kind == _R_PLT32 and index in stubs:
                    _put32(memory, place, stub_base + _STUB_SIZE * stubs[index] + addend - place)
                elif kind in (_R_PC32, _R_PLT32):
                    _put32(memory, place, address(index) + addend - (base + place))
                elif kind == _R_PC64:
                    struct.pack_into("<q", memory, place, address(index) + addend - (base + place))
                elif kind == _R_64:
                    struct.pack_into("<Q", memory, place, (address(index) + addend) & (2**64 - 1))
                else:
                    raise Unsupported(f"relocation type {kind} in {section.name}")
        ctypes.memmove(base, bytes(memory), len(memory))
        for start, length, prot in protections:
            if prot != _PROT_READ | _PROT_WRITE and libc.mprotect(base + start, _align(length, _PAGE), prot) != 0:
                raise Unsupported(f"mprotect failed (errno {ctypes.get_errno()})")
        exports = {
            symbol[0]: address(index)
            for index, symbol in enumerate(symbols)
            if symbol[1] != _STB_LOCAL and symbol[3] != _SHN_UNDEF and symbol[2] != _STT_SECTION
        }
    except BaseException:
        libc.munmap(base, size)
        raise
    return MappedObject(name, base, size, exports)


def _put32(memory, place, value):
    if not -(2**31) <= value < 2**31:
        raise Unsupported(f"32-bit relocation out of range ({value:#x})")
    struct.pack_into("<i", memory, place, value)


# void cpuid(u32 leaf, u32 subleaf, u32 out[4]): push rbx; mov r8, rdx; mov eax, edi; mov ecx, esi;
# cpuid; mov [r8], eax; mov [r8+4], ebx; mov [r8+8], ecx; mov [r8+12], edx; pop rbx; ret
_CPUID_CODE = bytes.fromhex("534989d089f889f10fa241890041895804418948084189500c5bc3")
# u64 xgetbv0(): xor ecx, ecx; xgetbv; shl rdx, 32; or rax, rdx; ret
_XGETBV_CODE = bytes.fromhex("31c90f01d048c1e2204809d0c3")
# The CPUID leaves (leaf, subleaf) LLVM reads for the host CPU's name and features
# (llvm/lib/TargetParser/Host.cpp), within the maximum standard and extended leaves.
_CPUID_LEAVES = [(0, 0), (1, 0), (7, 0), (7, 1), (0xD, 1), (0x14, 0), (0x19, 0), (0x24, 0)]
_CPUID_EXTENDED_LEAVES = [(0x80000000, 0), (0x80000001, 0), (0x80000008, 0)]
_OSXSAVE = 1 << 27  # CPUID.1:ECX: XGETBV may be executed


def cpu_signature():
    """The CPUID words (and XCR0, the vector state the OS saves) that decide LLVM's host CPU name and
    features, as this process sees them (an emulator's CPU, not the kernel's /proc/cpuinfo). The
    per-core APIC ID in CPUID.1:EBX is masked out. Linux on x86-64 only (`supported`)."""
    if not supported():
        raise Unsupported("CPUID is read on x86-64 Linux only")
    libc = _libc()
    base = libc.mmap(None, _PAGE, _PROT_READ | _PROT_WRITE, _MAP_PRIVATE | _MAP_ANONYMOUS, -1, 0)
    if base in (None, ctypes.c_void_p(-1).value):
        raise Unsupported(f"mmap failed (errno {ctypes.get_errno()})")
    try:
        ctypes.memmove(base, _CPUID_CODE, len(_CPUID_CODE))
        ctypes.memmove(base + 64, _XGETBV_CODE, len(_XGETBV_CODE))
        if libc.mprotect(base, _PAGE, _PROT_READ | _PROT_EXEC) != 0:
            raise Unsupported(f"mprotect failed (errno {ctypes.get_errno()})")
        cpuid_fn = ctypes.CFUNCTYPE(None, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_void_p)(base)
        out = (ctypes.c_uint32 * 4)()

        def cpuid(leaf, subleaf):
            cpuid_fn(leaf, subleaf, ctypes.addressof(out))
            return list(out)

        max_leaf, max_extended = cpuid(0, 0)[0], cpuid(0x80000000, 0)[0]
        words = []
        for leaf, subleaf in _CPUID_LEAVES + _CPUID_EXTENDED_LEAVES:
            if leaf <= (max_extended if leaf >= 0x80000000 else max_leaf):
                regs = cpuid(leaf, subleaf)
                if leaf == 1:
                    regs[1] &= 0x00FFFFFF  # bits 24-31: the APIC ID of the core this ran on
                words.append((leaf, subleaf, *regs))
        xcr0 = ctypes.CFUNCTYPE(ctypes.c_uint64)(base + 64)() if cpuid(1, 0)[2] & _OSXSAVE else None
    finally:
        libc.munmap(base, _PAGE)
    return words, xcr0
