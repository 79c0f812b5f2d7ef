"""fnad's native compiler: lowers fnad IR to LLVM IR with llvmlite, optimises it and runs it as native code.

This package only consumes the IR defined in `fnad.ir`; it never imports fnad's transforms.
"""

from fnad_compiler.runtime import compile_jaxpr, Executable  # noqa: E402

__all__ = ["compile_jaxpr", "Executable"]
