"""`python -m benchmarks.vecmath_bench [--n N] [--repeats R] [--only NAME,...] [--vector-width W]`:
fnad_compiler.vecmath kernels in an O3-vectorised loop against NumPy on 10^6 elements, interleaved in
one process.  Prints medians and the ratio fnad/NumPy (below 1 means faster than NumPy); asserts
nothing.  --vector-width 512 sets the loop's "prefer-vector-width" (LLVM picks 256-bit vectors on
this CPU by default) to show what wider vectors would buy."""

import argparse
import ctypes

import numpy as np
from llvmlite import ir

from benchmarks.harness import fmt_time, interleaved
from fnad_compiler import engine
from fnad_compiler.vecmath import emit_math

_IR_TYPE = {np.float32: ir.FloatType(), np.float64: ir.DoubleType()}


def compile_map(body, dtype, nargs=1, vector_width=None):
    """f(out, *inputs) running `out[i] = body(builder, in0[i], ...)` as a native loop."""
    fty = _IR_TYPE[dtype]
    module = ir.Module(name="vecmath_bench")
    ptr, i64 = ir.PointerType(), ir.IntType(64)
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [ptr] * (nargs + 1) + [i64]), "kernel")
    for arg in fn.args[:-1]:
        arg.add_attribute("noalias")
    entry, loop, done = (fn.append_basic_block(s) for s in ("entry", "loop", "done"))
    b = ir.IRBuilder(entry)
    b.cbranch(b.icmp_signed(">", fn.args[-1], i64(0)), loop, done)
    b.position_at_end(loop)
    i = b.phi(i64)
    i.add_incoming(i64(0), entry)
    vals = [b.load(b.gep(p, [i], source_etype=fty), typ=fty) for p in fn.args[1:-1]]
    b.store(body(b, *vals), b.gep(fn.args[0], [i], source_etype=fty))
    nxt = b.add(i, i64(1))
    i.add_incoming(nxt, loop)
    b.cbranch(b.icmp_signed("<", nxt, fn.args[-1]), loop, done)
    b.position_at_end(done)
    b.ret_void()
    text = str(module)
    if vector_width:  # llvmlite's IR builder has no string attributes: patch the definition line
        head = 'define void @"kernel"('
        start = text.index(head)
        close = text.index(")", start)
        text = f'{text[: close + 1]} "prefer-vector-width"="{vector_width}"{text[close + 1 :]}'
    kernel = engine.compile(text, "kernel").function("kernel", None, *[ctypes.c_void_p] * (nargs + 1), ctypes.c_int64)
    return lambda out, *xs: kernel(out.ctypes.data, *[x.ctypes.data for x in xs], out.size)


def _call(name):
    return lambda b, *xs: emit_math(b, name, *xs)


def _gauss_sin(b, x):
    """exp(-x*x) + 0.5*sin(x)"""
    half = ir.Constant(x.type, 0.5)
    return b.fadd(emit_math(b, "exp", b.fneg(b.fmul(x, x))), b.fmul(half, emit_math(b, "sin", x)))


def _tanh_gauss_sin(b, x):
    """tanh(x)*exp(-x*x) + 0.5*sin(x)"""
    half = ir.Constant(x.type, 0.5)
    t = b.fmul(emit_math(b, "tanh", x), emit_math(b, "exp", b.fneg(b.fmul(x, x))))
    return b.fadd(t, b.fmul(half, emit_math(b, "sin", x)))


def _np_gauss_sin(x, out):
    return np.add(np.exp(-x * x), x.dtype.type(0.5) * np.sin(x), out=out)


def _np_tanh_gauss_sin(x, out):
    return np.add(np.tanh(x) * np.exp(-x * x), x.dtype.type(0.5) * np.sin(x), out=out)


def _logistic(x, out):
    np.exp(-x, out=out)
    out += 1
    return np.reciprocal(out, out=out)


_UFUNC = {
    "exp": np.exp,
    "exp2": np.exp2,
    "expm1": np.expm1,
    "log": np.log,
    "log2": np.log2,
    "log10": np.log10,
    "log1p": np.log1p,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "asinh": np.arcsinh,
    "acosh": np.arccosh,
    "atanh": np.arctanh,
    "atan": np.arctan,
    "asin": np.arcsin,
    "acos": np.arccos,
    "atan2": np.arctan2,
    "pow": np.power,
    "logistic": _logistic,
}
_RANGE = {
    "exp": (-80, 80),
    "exp2": (-120, 120),
    "expm1": (-5, 5),
    "log": (1e-3, 1e3),
    "log2": (1e-3, 1e3),
    "log10": (1e-3, 1e3),
    "log1p": (-0.9, 1e3),
    "sin": (-100, 100),
    "cos": (-100, 100),
    "tan": (-100, 100),
    "sinh": (-80, 80),
    "cosh": (-80, 80),
    "tanh": (-10, 10),
    "asinh": (-1e3, 1e3),
    "acosh": (1, 1e3),
    "atanh": (-1, 1),
    "atan": (-10, 10),
    "asin": (-1, 1),
    "acos": (-1, 1),
    "atan2": (-10, 10),
    "pow": (0.1, 10),
    "logistic": (-20, 20),
    "erf": (-4, 4),
}


def _erf_reference():
    """NumPy has no erf; SciPy's ufunc is the nearest NumPy-style contender when installed."""
    try:
        from scipy.special import erf
    except ImportError:
        return None
    return lambda x, out: erf(x, out=out)


def cases(n, dtype, only=(), vector_width=None):
    """(label, compiled f(out, *xs), numpy f(*xs, out), inputs)"""
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 3, n).astype(dtype)
    fused = {
        "exp(-x*x)+0.5*sin(x)": (_gauss_sin, _np_gauss_sin),
        "tanh(x)*exp(-x*x)+0.5*sin(x)": (_tanh_gauss_sin, _np_tanh_gauss_sin),
    }
    for label, (body, ref) in fused.items():
        if not only or label in only:
            yield label, compile_map(body, dtype, vector_width=vector_width), ref, (x,)
    ufuncs = dict(_UFUNC, erf=_erf_reference())
    for name, (lo, hi) in _RANGE.items():
        if ufuncs[name] is None or (only and name not in only):
            continue
        nargs = 2 if name in ("pow", "atan2") else 1
        xs = tuple(rng.uniform(lo, hi, n).astype(dtype) for _ in range(nargs))
        if name == "pow":
            xs = (xs[0], rng.uniform(-5, 5, n).astype(dtype))
        ref = ufuncs[name]
        yield name, compile_map(_call(name), dtype, nargs, vector_width), (lambda *a, f=ref: f(*a[:-1], out=a[-1])), xs


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=10**6)
    ap.add_argument("--repeats", type=int, default=11)
    ap.add_argument("--only", default="", help="comma-separated case labels")
    ap.add_argument("--vector-width", type=int, choices=(128, 256, 512))
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))
    print(f"{'case':32s} {'dtype':8s} {'numpy':>10s} {'fnad':>10s} {'fnad/numpy':>10s}")
    for dtype in (np.float32, np.float64):
        for label, fn, ref, xs in cases(args.n, dtype, only, args.vector_width):
            out_fn, out_np = np.empty_like(xs[0]), np.empty_like(xs[0])
            res = interleaved(
                {"numpy": lambda: ref(*xs, out_np), "fnad": lambda: fn(out_fn, *xs)}, repeats=args.repeats
            )
            t_np, t_fn = res["numpy"].median, res["fnad"].median
            print(
                f"{label:32s} {np.dtype(dtype).name:8s} {fmt_time(t_np):>10s} {fmt_time(t_fn):>10s} "
                f"{t_fn / t_np:10.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
