"""`python -m benchmarks.compiler_bench [--repeats R] [--only NAME,...]`: compiled jaxprs
(fnad_compiler.compile_jaxpr) against NumPy, interleaved in one process; prints medians, ranges and the
ratio fnad/NumPy (below 1: faster than NumPy) and the thread count. Asserts nothing.

Workloads: fused tanh(x)*exp(-x*x)+0.5*sin(x) on 10^6 and 10^7 float32, sum and logsumexp of 10^7
float32, a 1024x1024 float32 matmul, and the dispatch overhead of x*y+1 on 0-d float32 inputs.
"""

import argparse

import numpy as np

import fnad
import fnad.numpy as fnp
from benchmarks.harness import fmt_time, interleaved
from fnad_compiler import compile_jaxpr, parallel


def _fused(x):
    return fnp.tanh(x) * fnp.exp(-x * x) + 0.5 * fnp.sin(x)


def _fused_np(x):
    return np.tanh(x) * np.exp(-x * x) + np.float32(0.5) * np.sin(x)


def _logsumexp(x):
    m = fnp.max(x)
    return fnp.log(fnp.sum(fnp.exp(x - m))) + m


def _logsumexp_np(x):
    m = np.max(x)
    return np.log(np.sum(np.exp(x - m))) + m


def workloads():
    rng = np.random.default_rng(0)
    x6 = rng.standard_normal(10**6, dtype=np.float32)
    x7 = rng.standard_normal(10**7, dtype=np.float32)
    a = rng.standard_normal((1024, 1024), dtype=np.float32)
    b = rng.standard_normal((1024, 1024), dtype=np.float32)
    s, t = np.array(2.0, np.float32), np.array(3.0, np.float32)
    return {
        "fused 1e6 f32": (_fused, _fused_np, (x6,)),
        "fused 1e7 f32": (_fused, _fused_np, (x7,)),
        "sum 1e7 f32": (fnp.sum, np.sum, (x7,)),
        "logsumexp 1e7 f32": (_logsumexp, _logsumexp_np, (x7,)),
        "matmul 1024 f32": (fnp.matmul, np.matmul, (a, b)),
        "dispatch x*y+1 0-d": (lambda x, y: x * y + 1, lambda x, y: x * y + 1, (s, t)),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--only", default="", help="comma-separated workload names (substrings)")
    args = parser.parse_args(argv)
    print(f"threads: {parallel.get_num_threads()} (FNAD_NUM_THREADS)")
    print(f"{'workload':22s} {'fnad':>10s} {'numpy':>10s} {'ratio':>6s}   fnad range")
    for name, (f, f_np, inputs) in workloads().items():
        if args.only and not any(k in name for k in args.only.split(",")):
            continue
        exe = compile_jaxpr(fnad.make_jaxpr(f)(*inputs))
        np.testing.assert_allclose(exe(*inputs)[0], f_np(*inputs), rtol=2e-3, atol=1e-3)
        res = interleaved({"fnad": lambda: exe(*inputs), "numpy": lambda: f_np(*inputs)}, repeats=args.repeats)
        r, n = res["fnad"], res["numpy"]
        print(
            f"{name:22s} {fmt_time(r.median):>10s} {fmt_time(n.median):>10s} {r.median / n.median:6.2f}   "
            f"[{fmt_time(r.min)}, {fmt_time(r.max)}]"
        )


if __name__ == "__main__":
    main()
