"""What the runtimes written as LLVM IR text share (scratch, the buffer pool, the gemm blocks, the
convolution's packing): the constants of prefaulting large new buffers and the packing of argument
structs. Apart from `fnad_compiler.llvm_ir`, and importing neither it nor llvmlite, so that a process
whose code all comes from the disk cache, which builds these texts (its runtime libraries' cache
keys) but no llvmlite module, never imports llvmlite.ir (7 ms of such a start)."""

__all__ = ["MADV_POPULATE_WRITE", "PAGE", "PREFAULT_MIN", "args_struct_text"]

PREFAULT_MIN = 1 << 20  # bytes of a new buffer from which its pages are faulted in up front
MADV_POPULATE_WRITE, PAGE = 23, 4096


def args_struct_text(fields):
    """(unpack, pack): LLVM IR text lines that load the struct `%args` of (name, type) `fields` from the
    pointer `%args` into values `%name`, and store those values back, for the runtimes written as IR
    text (their templates' UNPACK and PACK)."""
    unpack = "  %v = load %args, ptr %args\n" + "".join(
        f"  %{f} = extractvalue %args %v, {i}\n" for i, (f, _) in enumerate(fields)
    )
    pack = (
        "".join(
            f"  %s{i} = insertvalue %args {'undef' if i == 0 else f'%s{i - 1}'}, {t} %{f}, {i}\n"
            for i, (f, t) in enumerate(fields)
        )
        + f"  store %args %s{len(fields) - 1}, ptr %args"
    )
    return unpack, pack
