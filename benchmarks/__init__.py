"""fnad's benchmarks: workloads run side by side with NumPy (and JAX / PyTorch when importable),
interleaved in one process, reported as medians and ratios. `python -m benchmarks` prints the table."""
