"""fnad's native compiler: lowers fnad IR to LLVM IR with llvmlite, optimises it and runs it as native code.

This package only consumes the IR defined in `fnad.ir`; it never imports fnad's transforms.
"""

from fnad_compiler.runtime import Executable, compile_jaxpr

__all__ = ["Executable", "compile_jaxpr"]
