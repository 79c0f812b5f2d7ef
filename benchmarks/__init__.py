"""fnad's benchmarks: workloads run side by side with NumPy (and JAX / PyTorch when importable),
interleaved in one process, reported as medians and ratios. `python -m benchmarks` prints the table.

Contenders leave threads behind: NumPy's OpenBLAS workers spin for ~2^28 cycles after each call
(fnad's compiled code runs its OpenBLAS single-threaded and splits products on its own pool), and
OpenMP / XLA pools spin too, so with interleaved contenders one library's spinning threads would
steal the 2 cores from the next. The benchmark process makes OpenBLAS workers sleep promptly
(unless the environment already says otherwise; this must happen before NumPy is imported), and
the harness pauses briefly before each timed block.
"""

import os

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
