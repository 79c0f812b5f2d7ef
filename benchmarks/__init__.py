"""fnad's benchmarks: workloads run side by side with NumPy (and JAX / PyTorch when importable),
interleaved in one process, reported as medians and ratios. `python -m benchmarks` prints the table.

Two OpenBLAS instances live in the benchmark process (NumPy's and the one fnad's compiled code calls).
OpenBLAS worker threads spin for ~2^28 cycles after each call, so with interleaved contenders one
library's spinning threads steal the 2 cores from the next contender. The benchmark process makes
them sleep promptly (unless the environment already says otherwise); this must happen before NumPy
is imported.
"""
import os

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
