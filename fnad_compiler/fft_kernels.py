"""Native FFT kernels, generated as LLVM IR into the module that uses them (so that jit's code and
`fnad.export.c_library` libraries carry them, with no runtime library beside): complex-to-complex,
real-to-complex and complex-to-real transforms of one length along one axis of a buffer, many
rows at a time on fnad's thread pool.

Why generated, not a library: no installed wheel ships an FFT with a stable C ABI (NumPy's and
SciPy's pocketfft, jaxlib's ducc and torch's are C++ inside Python extensions), and measured here
the generated code is as fast as NumPy's pocketfft (benchmarks/fft.py).

Algorithm (pocketfft's): a length n = r1 r2 ... rk is transformed by k Stockham (self-sorting,
decimation in frequency) passes, radix 4 first, then 2, 3, 5 and odd primes up to `MAX_RADIX`,
each pass ping-ponging between two work buffers. A pass of radix r with l1 = the product of the
radices before it and ido = n / (l1 r) reads CC(i, j, k) = in[i + ido (j + r k)] and writes
CH(i, k, u) = (sum_j CC(i, j, k) w_r^(uj)) t_u(i) to out[i + ido (k + l1 u)], with twiddles
t_u(i) = w_n^(u l1 i) from a table; its inner loop runs over i, contiguous in both buffers, so
LLVM vectorises it. Radices 2 and 4 have their own butterflies; odd radices use the symmetric
pairs (x_j +- x_(r-j)), fully unrolled. A length with a prime factor above `MAX_RADIX` goes through
Bluestein's algorithm: a chirp product and a cyclic convolution by two transforms of a smooth
length m >= 2n - 1.

Real transforms of an even length n are complex transforms of length n/2 of the samples taken in
pairs, with a post- (pre-) processing pass; odd lengths go through a complex transform of length n.

Tables (twiddles, chirps, the chirp's transform) live in zero-initialised globals of the module
and are filled by its `init` function on the first call (a flag read with acquire ordering):
roots of unity come from two small constant tables of accurately rounded roots (computed in
extended precision when the module is generated), w_N^k = A[k mod s] B[k div s], as pocketfft's.

Rows: the rows of an axis are shared out in a fixed number of groups (each with its own work
buffer) run on the thread pool; inside a group, runs of `LANES` rows at the same place in
successive rows are transformed at once in vector registers (a complex element is then a vector of
the rows' real parts and one of their imaginary parts; the tables are broadcast), the rest one by
one. A row's result depends on the row only, never on the thread count.

Long complex rows on the last axis (from `FOUR_STEP_MIN`) go through the four-step algorithm
instead (`four_step_split`): n = n1 n2, the row seen as an n1 x n2 matrix A; the columns step
transforms A's columns (length n1, `LANES` at a time in vector registers), multiplies by the
twiddles w_n^(j2 k1) from a table and writes a scratch B whose rows are padded off power-of-two
strides; the rows step transforms B's rows (length n2) into the result, transposed. The row then
crosses memory twice, not once per pass, every transform is short enough to stay in cache, and
(from `FOUR_STEP_THREADS_MIN`) each step's blocks of columns (rows) are claimed one at a time by
the threads of the pool, so a single transform uses every core. Measured at 2^16 (complex128, one thread): 0.45 ms against the
Stockham passes' 0.66 ms; at 2^20, 16 ms against 26 ms.

Each (kind, length, dtype) is one unit (`axis_unit`): a module of its own, compiled once per process
and disk cache for every program that uses it, and linked into exported libraries like the rest.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
from llvmlite import ir

from fnad_compiler.llvm_ir import I32, I64, PTR, UNIT_FUNCTION, VOID, Loop, extern, i64, unit_text

__all__ = [
    "FOUR_STEP_MIN",
    "FOUR_STEP_THREADS_MIN",
    "GROUPS_MAX",
    "KINDS",
    "MAX_RADIX",
    "UNIT_TYPE",
    "args_type",
    "axis_unit",
    "call_axis_transform",
    "factorize",
    "four_step_split",
    "groups",
    "plan",
    "transform_work_bytes",
    "vector_rows",
    "work_bytes",
]

# The largest prime transformed by a butterfly pass (unrolled, its code grows as the square: a radix-31
# pass took 1 s to compile); lengths with a larger prime factor go through Bluestein's algorithm.
MAX_RADIX = 13
GROUPS_MAX = 8  # groups of rows run in parallel (each with its own work buffer)
# Complex rows from this length on (on the last axis, any count) go through the four-step algorithm
# (`four_step_split`). One row on one thread, it took 0.85x the Stockham passes' time at 2^10, 0.58x
# at 2^12 and 2^14, 0.6x at 2^15 and 2^16; below 2^14 it is not used, so that batches of shorter rows
# keep the vector rows and one hand-off to the thread pool, not two per row.
FOUR_STEP_MIN = 1 << 14
# From this length on a four-step's blocks are shared by the threads of the pool; shorter rows run on
# the calling thread. Measured on this 2-core machine shared with other jobs (load 3-5), at 2^16 two
# threads' median was 1.6-2x one thread's (a worker that loses its core mid-block holds up the join,
# against a gain of at most half of one thread's 0.44 ms on a quiet machine); from 2^18 the steps
# take milliseconds each.
FOUR_STEP_THREADS_MIN = 1 << 18
FOUR_STEP_WIDTH = 4  # groups of columns (rows) a four-step sweep moves together: 256 bytes of a row
LANES = {"float32": 8, "float64": 4}  # rows transformed at once by the vector rows (256-bit vectors)
KINDS = ("c2c_f", "c2c_b", "r2c", "c2r")  # forward / backward complex, real to complex, complex to real
_FLAGS = ("contract",)  # let LLVM fuse multiplies and adds (FMA); no reassociation


def factorize(n):
    """The radices of n's passes: 4s, then a 2, then odd primes ascending. Not radix 8: its butterfly
    holds 8 complex values and their twiddles, more than AVX2's 16 vector registers, and spilled; the
    vector rows ran 1.2-2.3x faster with radix-4 passes (lengths 256 to 2048), one row 1.15-1.25x faster
    at 2^16 and 2^20 (1.15x slower at 2048)."""
    factors = []
    while n % 4 == 0:
        factors.append(4)
        n //= 4
    if n % 2 == 0:
        factors.append(2)
        n //= 2
    p = 3
    while p * p <= n:
        while n % p == 0:
            factors.append(p)
            n //= p
        p += 2
    if n > 1:
        factors.append(n)
    return factors


def _good_size(n):
    """The smallest 2^a 3^b 5^c >= n."""
    best = 1 << max(n - 1, 0).bit_length()
    f5 = 1
    while f5 < best:
        f35 = f5
        while f35 < best:
            f = f35
            while f < n:
                f *= 2
            best = min(best, f)
            f35 *= 3
        f5 *= 5
    return best


class Plan:
    """How length n is transformed: `passes` (radix, l1, ido, twiddle offset) and `twiddles` (complex
    entries of their table), or `bluestein` = m, the smooth length of the convolution."""

    def __init__(self, n):
        self.n = n
        factors = factorize(n)
        self.bluestein = _good_size(2 * n - 1) if factors and max(factors) > MAX_RADIX else None
        self.passes, self.twiddles = [], 0
        if self.bluestein is None:
            l1 = 1
            for r in factors:
                ido = n // (l1 * r)
                self.passes.append((r, l1, ido, self.twiddles))
                if ido > 1:
                    self.twiddles += (r - 1) * ido
                l1 *= r

    def work(self):
        """Complex elements of work buffer a transform (`core`) needs."""
        if self.bluestein is not None:
            m = self.bluestein
            return 2 * m + plan(m).work()
        return 2 * self.n


_PLANS = {}


def plan(n):
    """The (cached) Plan of length n."""
    if n not in _PLANS:
        _PLANS[n] = Plan(n)
    return _PLANS[n]


def _core_length(kind, n):
    return n // 2 if kind in ("r2c", "c2r") and n % 2 == 0 else n


def work_bytes(kind, n, dtype):
    """Bytes of work buffer one group of rows of `kind` transforms of length n needs."""
    item = 2 * np.dtype(dtype).itemsize * LANES[np.dtype(dtype).name]
    nc = _core_length(kind, n)
    return (2 * nc + plan(nc).work()) * item


def four_step_split(kind, n, dtype):
    """(n1, n2), n = n1 n2 with n1 <= n2 as close to sqrt(n) as the vector rows allow (both
    multiples of `LANES`), if a complex row of length n goes through the four-step algorithm; else
    None (short rows, real transforms, Bluestein lengths and lengths without such a split)."""
    if kind not in ("c2c_f", "c2c_b") or n < FOUR_STEP_MIN or plan(n).bluestein is not None:
        return None
    lanes = LANES[np.dtype(dtype).name]
    best = None
    for n1 in range(lanes, math.isqrt(n) + 1, lanes):
        if n % n1 == 0 and (n // n1) % lanes == 0:
            best = n1
    return None if best is None else (best, n // best)


def _four_step_task_work(split):
    """Vector-row elements of work buffer each four-step task has: `FOUR_STEP_WIDTH` rows of the longer
    length, and the work of its transform."""
    m = max(split)
    return FOUR_STEP_WIDTH * m + plan(m).work()


def _four_step_tasks(split, dtype):
    """Tasks (each with its own work buffer) the column and row groups of a four-step are shared into:
    one below `FOUR_STEP_THREADS_MIN`."""
    if split[0] * split[1] < FOUR_STEP_THREADS_MIN:
        return 1
    lanes = LANES[np.dtype(dtype).name]
    return min(GROUPS_MAX, split[0] // lanes, split[1] // lanes)


def _four_step_pitch(split, dtype):
    """Elements from one row of a four-step's scratch B to the next: n2 and one group of `LANES` more,
    so that a column of B does not sit at a power-of-two stride (rows 4 KiB apart all fall in the
    same cache sets, and the columns step writes, the rows step reads, `LANES` rows at a time)."""
    return split[1] + LANES[np.dtype(dtype).name]


def transform_work_bytes(kind, n, dtype, rows, split=None):
    """Bytes of work buffer a transform of `rows` rows of length n needs: `work_bytes` for each of its
    groups, or with a four-step `split`, a scratch row and the work of each task."""
    if split is None:
        return groups(rows) * work_bytes(kind, n, dtype)
    scratch = _four_step_pitch(split, dtype) * split[0] * 2 * np.dtype(dtype).itemsize
    item = 2 * np.dtype(dtype).itemsize * LANES[np.dtype(dtype).name]
    return scratch + _four_step_tasks(split, dtype) * _four_step_task_work(split) * item


def _roots(N):
    """(s, A, B): w_N^k = A[k % s] * B[k // s] with w_N = exp(-2 pi i / N), s a power of two near
    sqrt(N); A and B as interleaved float64, rounded from extended precision."""
    s = 1 << max((N.bit_length() + 1) // 2, 0)
    ld = np.longdouble

    def table(indices):
        # in extended precision (x86's 80-bit long double) the angle's rounding is far below float64's
        k = np.asarray(indices, dtype=np.int64) % N
        angle = -8 * np.arctan(ld(1)) * k.astype(ld) / ld(N)
        out = np.empty(2 * len(k))
        out[0::2] = np.cos(angle).astype(np.float64)
        out[1::2] = np.sin(angle).astype(np.float64)
        return out

    return s, table(np.arange(s)), table(np.arange(0, N + s, s))


class _Emitter:
    """Emits the FFT functions of one float type into one module, each once (memoised by name).
    With `lanes` > 1 the transforms (core, passes, rows) work on `lanes` rows at once: a complex
    element is a pair of vectors (real parts, imaginary parts) of the rows' values, laid out
    [element][re, im][lane] in work buffers; tables stay scalar (shared) and are broadcast."""

    def __init__(self, module, dtype, lanes=1):
        self.module, self.dtype, self.lanes = module, np.dtype(dtype), lanes
        self.S = ir.FloatType() if self.dtype == np.float32 else ir.DoubleType()
        self.T = self.S if lanes == 1 else ir.VectorType(self.S, lanes)
        self.table_tag = "s" if self.dtype == np.float32 else "d"
        self.tag = self.table_tag + (f"x{lanes}" if lanes > 1 else "")

    def scalar(self):
        return self if self.lanes == 1 else _Emitter(self.module, self.dtype)

    # -- helpers ------------------------------------------------------------------------------
    def _function(self, name, args, ret=VOID, noalias=()):
        fn = ir.Function(self.module, ir.FunctionType(ret, args), name)
        fn.linkage = "internal"
        fn.attributes.add("noinline")  # each compiled once: inlining copies large loop nests
        for k in noalias:
            fn.args[k].add_attribute("noalias")
        return fn, ir.IRBuilder(fn.append_basic_block("entry"))

    def _c(self, v):
        if self.lanes == 1:
            return ir.Constant(self.T, float(v))
        return ir.Constant(self.T, [float(v)] * self.lanes)

    def splat(self, b, v):
        """A scalar as a value of this emitter's type."""
        if self.lanes == 1:
            return v
        vec = b.insert_element(ir.Constant(self.T, ir.Undefined), v, ir.Constant(I32, 0))
        return b.shuffle_vector(vec, vec, ir.Constant(ir.VectorType(I32, self.lanes), [0] * self.lanes))

    def load(self, b, p, idx):
        """Complex element idx of work buffer p: (re, im)."""
        k, align = b.shl(idx, i64(1)), self.dtype.itemsize  # vectors: no alignment promised
        re = b.load(b.gep(p, [k], inbounds=True, source_etype=self.T), typ=self.T, align=align)
        im = b.load(b.gep(p, [b.or_(k, i64(1))], inbounds=True, source_etype=self.T), typ=self.T, align=align)
        return re, im

    def store(self, b, z, p, idx):
        k, align = b.shl(idx, i64(1)), self.dtype.itemsize
        b.store(z[0], b.gep(p, [k], inbounds=True, source_etype=self.T), align=align)
        b.store(z[1], b.gep(p, [b.or_(k, i64(1))], inbounds=True, source_etype=self.T), align=align)

    def table(self, b, p, idx):
        """Complex element idx of a (scalar) table, broadcast to the lanes."""
        k = b.shl(idx, i64(1))
        re = b.load(b.gep(p, [k], inbounds=True, source_etype=self.S), typ=self.S)
        im = b.load(b.gep(p, [b.or_(k, i64(1))], inbounds=True, source_etype=self.S), typ=self.S)
        return self.splat(b, re), self.splat(b, im)

    def _lanes(self, b, offset, row_step):
        """The element offsets of the lanes' rows: offset + lane * row_step."""
        return [offset if v == 0 else b.add(offset, b.mul(row_step, i64(v))) for v in range(self.lanes)]

    def gather(self, b, p, offset, row_step, complex_values=True):
        """The value at element `offset` of each lane's row (rows `row_step` elements apart) of a
        data buffer (complex: interleaved pairs; else real)."""
        parts = ([], []) if complex_values else ([],)
        for at in self._lanes(b, offset, row_step):
            if complex_values:
                k = b.shl(at, i64(1))
                parts[0].append(b.load(b.gep(p, [k], inbounds=True, source_etype=self.S), typ=self.S))
                parts[1].append(b.load(b.gep(p, [b.or_(k, i64(1))], inbounds=True, source_etype=self.S), typ=self.S))
            else:
                parts[0].append(b.load(b.gep(p, [at], inbounds=True, source_etype=self.S), typ=self.S))
        if self.lanes == 1:
            return tuple(q[0] for q in parts) if complex_values else parts[0][0]
        vectors = []
        for q in parts:
            vec = ir.Constant(self.T, ir.Undefined)
            for v, x in enumerate(q):
                vec = b.insert_element(vec, x, ir.Constant(I32, v))
            vectors.append(vec)
        return tuple(vectors) if complex_values else vectors[0]

    def scatter(self, b, z, p, offset, row_step):
        """Store z (complex pair, or a real value) at element `offset` of each lane's row of p."""
        complex_values = isinstance(z, tuple)
        for v, at in enumerate(self._lanes(b, offset, row_step)):
            lane = (lambda x: x) if self.lanes == 1 else (lambda x: b.extract_element(x, ir.Constant(I32, v)))
            if complex_values:
                k = b.shl(at, i64(1))
                b.store(lane(z[0]), b.gep(p, [k], inbounds=True, source_etype=self.S))
                b.store(lane(z[1]), b.gep(p, [b.or_(k, i64(1))], inbounds=True, source_etype=self.S))
            else:
                b.store(lane(z), b.gep(p, [at], inbounds=True, source_etype=self.S))

    def add(self, b, x, y):
        return b.fadd(x[0], y[0], flags=_FLAGS), b.fadd(x[1], y[1], flags=_FLAGS)

    def sub(self, b, x, y):
        return b.fsub(x[0], y[0], flags=_FLAGS), b.fsub(x[1], y[1], flags=_FLAGS)

    def mul(self, b, x, w, conj=False):
        """x * w (x * conj(w) when conj)."""
        (a, c), (wr, wi) = x, w
        f = _FLAGS
        if conj:
            return (
                b.fadd(b.fmul(a, wr, flags=f), b.fmul(c, wi, flags=f), flags=f),
                b.fsub(b.fmul(c, wr, flags=f), b.fmul(a, wi, flags=f), flags=f),
            )
        return (
            b.fsub(b.fmul(a, wr, flags=f), b.fmul(c, wi, flags=f), flags=f),
            b.fadd(b.fmul(a, wi, flags=f), b.fmul(c, wr, flags=f), flags=f),
        )

    def scale(self, b, x, s):
        return b.fmul(x[0], s, flags=_FLAGS), b.fmul(x[1], s, flags=_FLAGS)

    def times_i(self, b, x, sign):
        """x * (sign i)."""
        return (b.fneg(x[1]), x[0]) if sign > 0 else (x[1], b.fneg(x[0]))

    def copy(self, b, src, dst, count):
        b.call(
            self.module.declare_intrinsic("llvm.memcpy", [PTR, PTR, I64]),
            [dst, src, b.mul(count, i64(2 * self.dtype.itemsize * self.lanes)), ir.Constant(ir.IntType(1), 0)],
        )

    # -- butterflies ----------------------------------------------------------------------------
    def butterfly(self, b, x, sign):
        """The DFT of the complex values x (len r) with exponent sign `sign`."""
        r = len(x)
        if r == 2:
            return [self.add(b, x[0], x[1]), self.sub(b, x[0], x[1])]
        if r == 4:
            t2, t1 = self.add(b, x[0], x[2]), self.sub(b, x[0], x[2])
            t3, t4 = self.add(b, x[1], x[3]), self.times_i(b, self.sub(b, x[1], x[3]), sign)
            return [self.add(b, t2, t3), self.add(b, t1, t4), self.sub(b, t2, t3), self.sub(b, t1, t4)]
        h = (r - 1) // 2
        s = [self.add(b, x[j], x[r - j]) for j in range(1, h + 1)]
        d = [self.sub(b, x[j], x[r - j]) for j in range(1, h + 1)]
        y = [None] * r
        y0 = x[0]
        for sj in s:
            y0 = self.add(b, y0, sj)
        y[0] = y0
        f = _FLAGS
        for u in range(1, h + 1):
            ca, cb = x[0], None
            for j in range(1, h + 1):
                ang = 2 * math.pi * ((u * j) % r) / r
                cos, sin = self._c(math.cos(ang)), self._c(sign * math.sin(ang))
                ca = (
                    b.fadd(ca[0], b.fmul(cos, s[j - 1][0], flags=f), flags=f),
                    b.fadd(ca[1], b.fmul(cos, s[j - 1][1], flags=f), flags=f),
                )
                term = (b.fmul(sin, d[j - 1][0], flags=f), b.fmul(sin, d[j - 1][1], flags=f))
                cb = term if cb is None else self.add(b, cb, term)
            cb = self.times_i(b, cb, 1)
            y[u], y[r - u] = self.add(b, ca, cb), self.sub(b, ca, cb)
        return y

    def pass_function(self, r, sign, twiddled):
        """void pass(i64 ido, i64 l1, ptr cc, ptr ch, ptr wa): one Stockham pass of radix r."""
        name = f"fnad_fft_pass{r}_{'fb'[sign > 0]}{'t' if twiddled else ''}_{self.tag}"
        if name in self.module.globals:
            return self.module.globals[name]
        fn, b = self._function(name, [I64, I64, PTR, PTR, PTR], noalias=(2, 3, 4))
        ido, l1, cc, ch, wa = fn.args
        with Loop(b, i64(0), l1) as k, Loop(b, i64(0), ido if twiddled else i64(1)) as i:
            base = b.add(i, b.mul(ido, b.mul(k, i64(r))))
            x = [self.load(b, cc, b.add(base, b.mul(ido, i64(j)))) for j in range(r)]
            y = self.butterfly(b, x, sign)
            out = b.add(i, b.mul(ido, k))
            step = b.mul(ido, l1)
            for u in range(r):
                z = y[u]
                if twiddled and u:
                    w = self.table(b, wa, b.add(i, b.mul(ido, i64(u - 1))))
                    z = self.mul(b, z, w, conj=sign > 0)
                self.store(b, z, ch, b.add(out, b.mul(step, i64(u))))
        b.ret_void()
        return fn

    # -- tables ---------------------------------------------------------------------------------
    def _global(self, name, count, init=None, etype=None):
        """A pointer to the first element of the internal global array `name` (zeros, or the
        constant `init`), made on first use."""
        g = self.module.globals.get(name)
        if g is None:
            ty = ir.ArrayType(etype or self.S, max(count, 1))
            g = ir.GlobalVariable(self.module, ty, name)
            g.linkage, g.align = "internal", 64
            if init is None:
                g.initializer = ir.Constant(ty, None)
            else:
                g.initializer = ir.Constant(ty, [float(v) for v in init])
                g.global_constant = True
        return g.gep([i64(0), i64(0)])

    @contextlib.contextmanager
    def _once(self, fn, b, flag_name):
        """The body, emitted at b in fn, runs until it has once finished: it fills tables, and the
        i32 global `flag_name` (0 until then) is set with release ordering after it, read with
        acquire ordering before it."""
        flag = ir.GlobalVariable(self.module, I32, flag_name)
        flag.linkage, flag.initializer = "internal", ir.Constant(I32, 0)
        ready = b.load_atomic(flag, "acquire", 4, typ=I32)
        fill, done = fn.append_basic_block("fill"), fn.append_basic_block("done")
        b.cbranch(b.icmp_unsigned("!=", ready, ir.Constant(I32, 0)), done, fill)
        b.position_at_end(fill)
        yield
        b.store_atomic(ir.Constant(I32, 1), flag, "release", 4)
        b.branch(done)
        b.position_at_end(done)

    def root(self, b, N, k):
        """w_N^k (k < N + s) as float64 (re, im), from the two constant tables of N."""
        s, a, bb = _roots(N)
        ta = self._global(f"fnad_fft_rootsA_{N}", len(a), a, ir.DoubleType())
        tb = self._global(f"fnad_fft_rootsB_{N}", len(bb), bb, ir.DoubleType())
        shift = s.bit_length() - 1
        lo, hi = b.and_(k, i64(s - 1)), b.lshr(k, i64(shift))
        d = ir.DoubleType()

        def ld(t, idx):
            kk = b.shl(idx, i64(1))
            return (
                b.load(b.gep(t, [kk], inbounds=True, source_etype=d), typ=d),
                b.load(b.gep(t, [b.or_(kk, i64(1))], inbounds=True, source_etype=d), typ=d),
            )

        x, y = ld(ta, lo), ld(tb, hi)
        return (
            b.fsub(b.fmul(x[0], y[0]), b.fmul(x[1], y[1])),
            b.fadd(b.fmul(x[0], y[1]), b.fmul(x[1], y[0])),
        )

    def _narrow(self, b, z):
        if self.dtype == np.float64:
            return z
        return b.fptrunc(z[0], self.T), b.fptrunc(z[1], self.T)

    def twiddle_table(self, n):
        p = plan(n)
        return self._global(f"fnad_fft_tw_{self.table_tag}_{n}", 2 * p.twiddles)

    def init_function(self, n):
        """void init(): fills the tables of length n's transforms (and those they use) once."""
        if self.lanes > 1:
            return self.scalar().init_function(n)
        name = f"fnad_fft_init_{self.table_tag}_{n}"
        if name in self.module.globals:
            return self.module.globals[name]
        p = plan(n)
        fn, b = self._function(name, [])
        with self._once(fn, b, f"fnad_fft_ready_{self.table_tag}_{n}"):
            if p.bluestein is None:
                tw = self.twiddle_table(n)
                for r, l1, ido, off in p.passes:
                    if ido == 1:
                        continue
                    for j in range(1, r):
                        with Loop(b, i64(0), i64(ido)) as i:
                            w = self._narrow(b, self.root(b, n, b.mul(i, i64(j * l1))))
                            self.store(b, w, tw, b.add(i, i64(off + (j - 1) * ido)))
            else:
                m = p.bluestein
                b.call(self.init_function(m), [])
                chirp = self._global(f"fnad_fft_chirp_{self.table_tag}_{n}", 2 * n)
                bhat = self._global(f"fnad_fft_bhat_{self.table_tag}_{n}", 2 * m)
                with Loop(b, i64(0), i64(n)) as k:  # w_k = exp(-pi i k^2 / n) = w_{2n}^(k^2 mod 2n)
                    sq = b.urem(b.mul(k, k), i64(2 * n))
                    self.store(b, self._narrow(b, self.root(b, 2 * n, sq)), chirp, k)
                item = 2 * self.dtype.itemsize
                malloc = extern(self.module, "malloc", PTR, [I64])
                free = extern(self.module, "free", VOID, [PTR])
                buf = b.call(malloc, [i64((m + plan(m).work()) * item)])
                zero = self.module.declare_intrinsic("llvm.memset", [PTR, I64])
                b.call(zero, [buf, ir.Constant(ir.IntType(8), 0), i64(m * item), ir.Constant(ir.IntType(1), 0)])
                with Loop(b, i64(0), i64(n)) as k:  # b_l = conj(w_l) at l and at m - l
                    w = self.load(b, chirp, k)
                    cw = (w[0], b.fneg(w[1]))
                    self.store(b, cw, buf, k)
                    self.store(b, cw, buf, b.urem(b.sub(i64(m), k), i64(m)))
                work = b.gep(buf, [i64(m * 2)], source_etype=self.T)
                b.call(self.core_function(m, -1), [buf, bhat, work])
                inv = self._c(1.0 / m)
                with Loop(b, i64(0), i64(m)) as k:
                    self.store(b, self.scale(b, self.load(b, bhat, k), inv), bhat, k)
                b.call(free, [buf])
        b.ret_void()
        return fn

    # -- one transform of contiguous data ----------------------------------------------------------
    def core_function(self, n, sign):
        """void core(ptr in, ptr out, ptr work): out = DFT_n(in) with exponent sign `sign`,
        unnormalised; in and out may be the same buffer; work holds plan(n).work() elements."""
        name = f"fnad_fft_core_{self.tag}_{n}_{'fb'[sign > 0]}"
        if name in self.module.globals:
            return self.module.globals[name]
        p = plan(n)
        fn, b = self._function(name, [PTR, PTR, PTR])
        src, dst, work = fn.args
        if p.bluestein is not None:
            self._bluestein(b, n, sign, src, dst, work)
        elif not p.passes:  # n == 1
            self.copy(b, src, dst, i64(1))
        else:
            w = [work, b.gep(work, [i64(2 * n)], source_etype=self.T)]
            tw = self.twiddle_table(n)
            count = len(p.passes)
            if count == 1:  # one butterfly: through w[0], as passes read and write distinct buffers
                self.copy(b, src, w[1], i64(n))
                src = w[1]
            for t, (r, l1, ido, off) in enumerate(p.passes):
                cc = src if t == 0 else w[(t - 1) % 2]
                ch = dst if t == count - 1 and count > 1 else w[t % 2]
                wa = b.gep(tw, [i64(2 * off)], inbounds=True, source_etype=self.S)
                b.call(self.pass_function(r, sign, ido > 1), [i64(ido), i64(l1), cc, ch, wa])
            if count == 1:
                self.copy(b, w[0], dst, i64(n))
        b.ret_void()
        return fn

    def _bluestein(self, b, n, sign, src, dst, work):
        m = plan(n).bluestein
        chirp = self._global(f"fnad_fft_chirp_{self.table_tag}_{n}", 2 * n)
        bhat = self._global(f"fnad_fft_bhat_{self.table_tag}_{n}", 2 * m)
        a, c = work, b.gep(work, [i64(2 * m)], source_etype=self.T)
        inner = b.gep(work, [i64(4 * m)], source_etype=self.T)
        conj = sign > 0  # the backward transform's chirp is the conjugate
        with Loop(b, i64(0), i64(n)) as k:
            self.store(b, self.mul(b, self.load(b, src, k), self.table(b, chirp, k), conj), a, k)
        zero = self.module.declare_intrinsic("llvm.memset", [PTR, I64])
        item = 2 * self.dtype.itemsize * self.lanes
        b.call(
            zero,
            [
                b.gep(a, [i64(2 * n)], source_etype=self.T),
                ir.Constant(ir.IntType(8), 0),
                i64((m - n) * item),
                ir.Constant(ir.IntType(1), 0),
            ],
        )
        b.call(self.core_function(m, -1), [a, c, inner])
        with Loop(b, i64(0), i64(m)) as k:
            self.store(b, self.mul(b, self.load(b, c, k), self.table(b, bhat, k), conj), c, k)
        b.call(self.core_function(m, 1), [c, a, inner])
        with Loop(b, i64(0), i64(n)) as k:
            self.store(b, self.mul(b, self.load(b, a, k), self.table(b, chirp, k), conj), dst, k)

    # -- rows ---------------------------------------------------------------------------------------
    def row_function(self, kind, n):
        """void row(ptr src, i64 sstride, i64 srow, ptr dst, i64 dstride, i64 drow, ptr work, S scale):
        `kind` transforms of `lanes` rows of src (elements `sstride` apart, rows `srow` apart) into
        rows of dst."""
        name = f"fnad_fft_row_{kind}_{self.tag}_{n}"
        if name in self.module.globals:
            return self.module.globals[name]
        nc = _core_length(kind, n)
        fn, b = self._function(name, [PTR, I64, I64, PTR, I64, I64, PTR, self.S])
        src, sstride, srow, dst, dstride, drow, work, scale = fn.args
        rows = (src, sstride, srow, dst, dstride, drow)
        g = work
        o = b.gep(work, [i64(2 * nc)], source_etype=self.T)
        core_work = b.gep(work, [i64(4 * nc)], source_etype=self.T)
        scale_value = self.splat(b, scale)
        if kind in ("c2c_f", "c2c_b"):
            sign = -1 if kind == "c2c_f" else 1
            core = self.core_function(n, sign)
            if self.lanes == 1:  # contiguous rows: the core reads and writes them directly
                plain = b.and_(b.icmp_signed("==", sstride, i64(1)), b.icmp_signed("==", dstride, i64(1)))
                with b.if_else(plain) as (direct, general):
                    with direct:
                        b.call(core, [src, dst, core_work])
                        scaled = b.fcmp_unordered("!=", scale, self._c(1.0))
                        with b.if_then(scaled), Loop(b, i64(0), i64(n)) as k:  # scaled in place
                            self.store(b, self.scale(b, self.load(b, dst, k), scale_value), dst, k)
                    with general:
                        self._c2c_general(b, n, core, rows, g, o, core_work, scale_value)
            else:
                self._c2c_general(b, n, core, rows, g, o, core_work, scale_value)
        elif kind == "r2c":
            self._r2c(b, n, rows, g, o, core_work, scale_value)
        else:
            self._c2r(b, n, rows, g, o, core_work, scale_value)
        b.ret_void()
        return fn

    def _c2c_general(self, b, n, core, rows, g, o, core_work, scale):
        src, sstride, srow, dst, dstride, drow = rows
        with Loop(b, i64(0), i64(n)) as k:
            self.store(b, self.gather(b, src, b.mul(k, sstride), srow), g, k)
        b.call(core, [g, o, core_work])
        with Loop(b, i64(0), i64(n)) as k:
            self.scatter(b, self.scale(b, self.load(b, o, k), scale), dst, b.mul(k, dstride), drow)

    def _r2c(self, b, n, rows, g, o, core_work, scale):
        src, sstride, srow, dst, dstride, drow = rows
        zero = self._c(0.0)
        if n % 2:  # through a complex transform of length n
            with Loop(b, i64(0), i64(n)) as k:
                self.store(b, (self.gather(b, src, b.mul(k, sstride), srow, False), zero), g, k)
            b.call(self.core_function(n, -1), [g, o, core_work])
            with Loop(b, i64(0), i64(n // 2 + 1)) as k:
                self.scatter(b, self.scale(b, self.load(b, o, k), scale), dst, b.mul(k, dstride), drow)
            return
        half = n // 2
        core = self.core_function(half, -1)

        def pairs():  # the samples in pairs: z_k = x_2k + i x_2k+1
            with Loop(b, i64(0), i64(half)) as k:
                k2 = b.shl(k, i64(1))
                re = self.gather(b, src, b.mul(k2, sstride), srow, False)
                im = self.gather(b, src, b.mul(b.add(k2, i64(1)), sstride), srow, False)
                self.store(b, (re, im), g, k)
            b.call(core, [g, o, core_work])

        if self.lanes == 1:
            with b.if_else(b.icmp_signed("==", sstride, i64(1))) as (direct, general):
                with direct:  # contiguous samples are the pairs already
                    b.call(core, [src, o, core_work])
                with general:
                    pairs()
        else:
            pairs()
        rt = self.real_twiddles(n)
        hlf = self._c(0.5)
        with Loop(b, i64(0), i64(half + 1)) as k:
            zk = self.load(b, o, b.urem(k, i64(half)))
            zm = self.load(b, o, b.urem(b.sub(i64(half), k), i64(half)))
            zc = (zm[0], b.fneg(zm[1]))
            even = self.scale(b, self.add(b, zk, zc), hlf)
            odd = self.times_i(b, self.scale(b, self.sub(b, zk, zc), hlf), -1)  # (zk - zc) / 2i
            x = self.add(b, even, self.mul(b, odd, self.table(b, rt, k)))
            self.scatter(b, self.scale(b, x, scale), dst, b.mul(k, dstride), drow)

    def _c2r(self, b, n, rows, g, o, core_work, scale):
        src, sstride, srow, dst, dstride, drow = rows
        zero = self._c(0.0)
        last = n // 2

        def spectrum(k):  # X_k with the imaginary parts of X_0 and (n even) X_n/2 dropped, as NumPy
            x = self.gather(b, src, b.mul(k, sstride), srow)
            edge = b.icmp_signed("==", k, i64(0))
            if n % 2 == 0:
                edge = b.or_(edge, b.icmp_signed("==", k, i64(last)))
            return x[0], b.select(edge, zero, x[1])

        if n % 2:
            with Loop(b, i64(0), i64(n)) as k:
                lower = b.icmp_signed("<=", k, i64(last))
                x = spectrum(b.select(lower, k, b.sub(i64(n), k)))
                self.store(b, (x[0], b.select(lower, x[1], b.fneg(x[1]))), g, k)
            b.call(self.core_function(n, 1), [g, o, core_work])
            with Loop(b, i64(0), i64(n)) as k:
                self.scatter(b, b.fmul(self.load(b, o, k)[0], scale), dst, b.mul(k, dstride), drow)
            return
        half = n // 2
        rt = self.real_twiddles(n)
        with Loop(b, i64(0), i64(half)) as k:
            xk = spectrum(k)
            xm = spectrum(b.sub(i64(half), k))
            xc = (xm[0], b.fneg(xm[1]))
            even = self.add(b, xk, xc)
            odd = self.mul(b, self.sub(b, xk, xc), self.table(b, rt, k), conj=True)
            self.store(b, self.add(b, even, self.times_i(b, odd, 1)), g, k)
        b.call(self.core_function(half, 1), [g, o, core_work])
        with Loop(b, i64(0), i64(half)) as k:
            z = self.scale(b, self.load(b, o, k), scale)
            k2 = b.shl(k, i64(1))
            self.scatter(b, z[0], dst, b.mul(k2, dstride), drow)
            self.scatter(b, z[1], dst, b.mul(b.add(k2, i64(1)), dstride), drow)

    def real_twiddles(self, n):
        """The table w_n^k, k = 0..n/2, of the even real transforms (filled by `init_function(n)`'s
        companion `real_init_function`)."""
        return self._global(f"fnad_fft_rtw_{self.table_tag}_{n}", 2 * (n // 2 + 1))

    def real_init_function(self, n):
        name = f"fnad_fft_rinit_{self.table_tag}_{n}"
        if name in self.module.globals:
            return self.module.globals[name]
        fn, b = self._function(name, [])
        with self._once(fn, b, f"fnad_fft_rready_{self.table_tag}_{n}"):
            rt = self.real_twiddles(n)
            with Loop(b, i64(0), i64(n // 2 + 1)) as k:
                self.store(b, self._narrow(b, self.root(b, n, k)), rt, k)
        b.ret_void()
        return fn

    def prepare(self, b, kind, n):
        """Emit, at b, the calls that fill the tables a `kind` transform of length n reads."""
        nc = _core_length(kind, n)
        b.call(self.init_function(nc), [])
        if nc != n:
            b.call(self.real_init_function(n), [])

    # -- rows of an axis, in groups -------------------------------------------------------------------
    def chunk_function(self, kind, n, vector):
        """void chunk(ptr args, i64 first, i64 last): groups [first, last) of the rows of an axis
        transform; args = {src, dst, work, rows, groups, inner, slen, dlen, scale, wbytes}. Runs of
        `LANES` rows at the same place in successive rows (the axis is last, or `LANES` consecutive
        positions of the inner axes) go through the vector rows, the others one by one."""
        name = f"fnad_fft_chunk_{kind}_{self.tag}_{n}{'v' if vector else ''}"
        if name in self.module.globals:
            return self.module.globals[name]
        fn, b = self._function(name, [PTR, I64, I64])
        args, first, last = fn.args
        ty = self.args_type()
        fields = [
            b.load(b.gep(args, [i64(0), ir.Constant(I32, f)], source_etype=ty), typ=t)
            for f, t in enumerate(ty.elements)
        ]
        src, dst, work, rows, groups, inner, slen, dlen, scale, wbytes = fields
        real_in, real_out = kind == "r2c", kind == "c2r"
        lanes = LANES[self.dtype.name] if vector else 1
        row = self.row_function(kind, n)
        block = _Emitter(self.module, self.dtype, lanes).row_function(kind, n) if vector else row
        last_axis = b.icmp_signed("==", inner, i64(1))
        srow, drow = b.select(last_axis, slen, i64(1)), b.select(last_axis, dlen, i64(1))
        with Loop(b, first, last) as grp:
            r0 = b.udiv(b.mul(grp, rows), groups)
            r1 = b.udiv(b.mul(b.add(grp, i64(1)), rows), groups)
            w = b.gep(work, [b.mul(grp, wbytes)], source_etype=ir.IntType(8))
            pre = b.block
            head, body = fn.append_basic_block("rows"), fn.append_basic_block("row")
            run, single = fn.append_basic_block("vector"), fn.append_basic_block("single")
            done = fn.append_basic_block("group_done")
            b.branch(head)
            b.position_at_end(head)
            r = b.phi(I64)
            r.add_incoming(r0, pre)
            b.cbranch(b.icmp_signed("<", r, r1), body, done)
            b.position_at_end(body)
            outer, q = b.udiv(r, inner), b.urem(r, inner)
            soff = b.add(b.mul(b.mul(outer, slen), inner), q)
            doff = b.add(b.mul(b.mul(outer, dlen), inner), q)
            sp = b.gep(src, [soff if real_in else b.shl(soff, i64(1))], source_etype=self.S)
            dp = b.gep(dst, [doff if real_out else b.shl(doff, i64(1))], source_etype=self.S)
            fits = b.icmp_signed("<=", b.add(r, i64(lanes)), r1)
            together = b.or_(last_axis, b.icmp_signed("<=", b.add(q, i64(lanes)), inner))
            b.cbranch(b.and_(fits, together), run, single)
            b.position_at_end(run)
            b.call(block, [sp, inner, srow, dp, inner, drow, w, scale])
            r.add_incoming(b.add(r, i64(lanes)), run)
            b.branch(head)
            b.position_at_end(single)
            b.call(row, [sp, inner, srow, dp, inner, drow, w, scale])
            r.add_incoming(b.add(r, i64(1)), single)
            b.branch(head)
            b.position_at_end(done)
        b.ret_void()
        return fn

    def args_type(self):
        return ir.LiteralStructType([PTR, PTR, PTR, I64, I64, I64, I64, I64, self.S, I64])

    # -- one long row by the four-step algorithm ------------------------------------------------------
    # n = n1 n2; the row seen as A[j1, j2] = x[j1 n2 + j2]. Columns: for each j2, a transform of
    # length n1 over j1, times the twiddle w_n^(j2 k1), into a scratch row B[k1, j2]. Rows: for each
    # k1, a transform of length n2 over j2 of B's row k1, written to X[k1 + n1 k2]. Both steps run
    # `LANES` columns (rows) at once in vector registers, with work that fits in L1/L2, so the long
    # row crosses memory twice instead of once per Stockham pass, and the blocks of each step are
    # claimed by the threads of the pool: a single transform uses every core.
    def four_step_args_type(self):
        """{src, dst, scratch, work (of the tasks), scale, next block (claimed atomically)}."""
        return ir.LiteralStructType([PTR, PTR, PTR, PTR, self.S, I64])

    def four_step_table(self, n):
        """w_n^((g L + v) k1) for column group g, k1 < n1 and lane v, laid out as the vector rows'
        elements [g][k1][re, im][v] (filled by `four_step_init_function`)."""
        return self._global(f"fnad_fft_fs_{self.tag}_{n}", 2 * n)

    def four_step_init_function(self, n):
        """void init(): fills the four-step's table of length n and the tables of its two lengths once."""
        name = f"fnad_fft_fsinit_{self.tag}_{n}"
        if name in self.module.globals:
            return self.module.globals[name]
        (n1, n2), lanes = four_step_split("c2c_f", n, self.dtype), self.lanes
        fn, b = self._function(name, [])
        b.call(self.init_function(n1), [])
        b.call(self.init_function(n2), [])
        with self._once(fn, b, f"fnad_fft_fsready_{self.tag}_{n}"):
            table = self.four_step_table(n)
            with Loop(b, i64(0), i64(n2 // lanes)) as g, Loop(b, i64(0), i64(n1)) as k1:
                at = b.mul(b.add(b.mul(g, i64(n1)), k1), i64(2 * lanes))
                for v in range(lanes):
                    w = self.root(b, n, b.mul(b.add(b.mul(g, i64(lanes)), i64(v)), k1))
                    for part, value in enumerate(self.scalar()._narrow(b, w)):
                        at_v = b.add(at, i64(part * lanes + v))
                        b.store(value, b.gep(table, [at_v], inbounds=True, source_etype=self.S))
        b.ret_void()
        return fn

    def four_step_step(self, n, sign, columns):
        """void chunk(ptr args, i64 first, i64 last): blocks of the columns step (or the rows step) of a
        four-step transform of length n, claimed until none is left, with the work buffer of task
        `first` (the pool gives each thread's chunk its own). Its groups of `LANES` columns (rows) go
        `width` (the most up to `FOUR_STEP_WIDTH` that divides their count) side by side through a sweep
        of the source, their transforms, then a sweep of the destination: a sweep then reads (writes)
        `width` vectors of a row of A or B (of X) at once, whole cache lines, not one vector of each of
        the rows, 4 KiB or more apart, at a time."""
        name = f"fnad_fft_fs{'cols' if columns else 'rows'}_{'fb'[sign > 0]}_{self.tag}_{n}"
        if name in self.module.globals:
            return self.module.globals[name]
        split = four_step_split("c2c_f", n, self.dtype)
        (n1, n2), lanes, pitch = split, self.lanes, _four_step_pitch(split, self.dtype)
        m = max(split)
        length, other = (n1, n2) if columns else (n2, n1)
        groups = other // lanes
        width = max(w for w in range(1, FOUR_STEP_WIDTH + 1) if groups % w == 0)
        blocks = groups // width
        core, table = self.core_function(length, sign), self.four_step_table(n)
        fn, b = self._function(name, [PTR, I64, I64])
        args, first, last = fn.args
        ty = self.four_step_args_type()
        src, dst, scratch, work, scale = (
            b.load(b.gep(args, [i64(0), ir.Constant(I32, f)], source_etype=ty), typ=t)
            for f, t in enumerate(ty.elements[:5])
        )
        scale = self.splat(b, scale)
        # The chunk's first task names its work buffer; its blocks are claimed one at a time from the
        # shared counter, so a thread that loses its core holds up one block, not a fixed share.
        task_work = b.gep(work, [b.mul(first, i64(2 * _four_step_task_work(split)))], source_etype=self.T)
        buffers = [b.gep(task_work, [i64(2 * m * w)], source_etype=self.T) for w in range(FOUR_STEP_WIDTH)]
        core_work = b.gep(task_work, [i64(2 * m * FOUR_STEP_WIDTH)], source_etype=self.T)
        counter = b.gep(args, [i64(0), ir.Constant(I32, 5)], source_etype=ty)
        claim, run, done = fn.append_basic_block("claim"), fn.append_basic_block("block"), fn.append_basic_block("done")
        b.cbranch(b.icmp_signed("<", first, last), claim, done)
        b.position_at_end(claim)
        block = b.atomic_rmw("add", counter, i64(1), "monotonic")
        b.cbranch(b.icmp_signed("<", block, i64(blocks)), run, done)
        b.position_at_end(run)
        g0 = b.mul(block, i64(width))

        def each_group(body):  # the block's groups, unrolled
            for w in range(width):
                body(w, b.mul(b.add(g0, i64(w)), i64(lanes)))

        with Loop(b, i64(0), i64(length)) as j:
            if columns:  # A[j, c + v] of the group's columns c + v
                each_group(
                    lambda w, c: self.store(b, self.gather(b, src, b.add(b.mul(j, i64(n2)), c), i64(1)), buffers[w], j)
                )
            else:  # B[r + v, j] of the group's rows r + v
                each_group(
                    lambda w, r: self.store(
                        b, self.gather(b, scratch, b.add(b.mul(r, i64(pitch)), j), i64(pitch)), buffers[w], j
                    )
                )
        each_group(lambda w, _: b.call(core, [buffers[w], buffers[w], core_work]))
        with Loop(b, i64(0), i64(length)) as k:
            if columns:  # times w_n^((c + v) k), into B[k, c + v]

                def twiddled(w, c):
                    at = b.add(b.mul(b.add(g0, i64(w)), i64(n1)), k)
                    z = self.mul(b, self.load(b, buffers[w], k), self.load(b, table, at), conj=sign > 0)
                    self.scatter(b, z, scratch, b.add(b.mul(k, i64(pitch)), c), i64(1))

                each_group(twiddled)
            else:  # scaled, into X[(r + v) + n1 k]
                each_group(
                    lambda w, r: self.scatter(
                        b,
                        self.scale(b, self.load(b, buffers[w], k), scale),
                        dst,
                        b.add(b.mul(k, i64(n1)), r),
                        i64(1),
                    )
                )
        b.branch(claim)
        b.position_at_end(done)
        b.ret_void()
        return fn


UNIT_TYPE = ir.FunctionType(VOID, [PTR])  # void transform(ptr args): see `axis_unit`
_UNITS = {}  # (kind, n, dtype name, vector, four_step) -> (symbol, LLVM IR text)


def axis_unit(kind, n, dtype, vector=True, four_step=False):
    """(symbol, LLVM IR text) of a module whose one exported function `void transform(ptr args)`
    fills its tables once, then runs the groups of rows of `args` (see `call_axis_transform`) on the
    thread pool. Its text depends on (kind, n, dtype) only, so programs share its compiled code
    (and its tables) as a unit (see `fnad_compiler.lower`). Without `vector` (no group has `LANES`
    rows) the vector rows are left out, which halves the code to compile. With `four_step` (rows on
    the last axis, n with a `four_step_split`) the rows are transformed one after the other, each by
    the four-step algorithm with its steps on the thread pool; `args`' groups are then unused."""
    key = (kind, n, np.dtype(dtype).name, vector, four_step)
    if key not in _UNITS:
        module = ir.Module(name="fnad_fft")
        fn = ir.Function(module, UNIT_TYPE, UNIT_FUNCTION)
        em = _Emitter(module, dtype)
        b = ir.IRBuilder(fn.append_basic_block())
        parallel_for = extern(module, "fnad_parallel_for", VOID, [PTR, PTR, I64, I64])
        ty = em.args_type()
        field = lambda f: b.load(b.gep(fn.args[0], [i64(0), ir.Constant(I32, f)], source_etype=ty), typ=ty.elements[f])
        if four_step:
            _four_step_rows(b, _Emitter(module, dtype, LANES[np.dtype(dtype).name]), kind, n, field, parallel_for)
        else:
            em.prepare(b, kind, n)
            b.call(parallel_for, [em.chunk_function(kind, n, vector), fn.args[0], field(4), i64(1)])
        b.ret_void()
        _UNITS[key] = unit_text(module)
    return _UNITS[key]


def _four_step_rows(b, em, kind, n, field, parallel_for):
    """Emit at b: each row of the unit's args (contiguous, `slen` and `dlen` elements apart) transformed
    by the four-step algorithm, its columns step then its rows step run as tasks on the thread pool."""
    b.call(em.four_step_init_function(n), [])
    ty = em.four_step_args_type()
    slot = b.alloca(ty)
    src, dst, work, rows, slen, dlen, scale = (field(f) for f in (0, 1, 2, 3, 6, 7, 8))
    split = four_step_split(kind, n, em.dtype)
    tasks = i64(_four_step_tasks(split, em.dtype))
    scratch = _four_step_pitch(split, em.dtype) * split[0] * 2 * em.dtype.itemsize
    task_work = b.gep(work, [i64(scratch)], source_etype=ir.IntType(8))
    for f, v in ((2, work), (3, task_work), (4, scale)):
        b.store(v, b.gep(slot, [i64(0), ir.Constant(I32, f)]))
    counter = b.gep(slot, [i64(0), ir.Constant(I32, 5)])
    sign = -1 if kind == "c2c_f" else 1
    columns, row_step = em.four_step_step(n, sign, True), em.four_step_step(n, sign, False)
    with Loop(b, i64(0), rows) as r:
        b.store(
            b.gep(src, [b.mul(r, b.shl(slen, i64(1)))], source_etype=em.S),
            b.gep(slot, [i64(0), ir.Constant(I32, 0)]),
        )
        b.store(
            b.gep(dst, [b.mul(r, b.shl(dlen, i64(1)))], source_etype=em.S),
            b.gep(slot, [i64(0), ir.Constant(I32, 1)]),
        )
        for step in (columns, row_step):
            b.store(i64(0), counter)
            b.call(parallel_for, [step, slot, tasks, i64(1)])


def call_axis_transform(b, function, slot, kind, n, dtype, src, dst, shape, work, scale):
    """Emit at b a call of an `axis_unit` `function`: a `kind` transform of length n along the middle
    axis of src, seen as `shape` = (outer, slen, inner) elements (complex: interleaved pairs of
    `dtype`), into dst (outer, dlen, inner), in min(outer * inner, GROUPS_MAX) groups of rows each
    with `work_bytes(kind, n, dtype)` bytes of `work`, results multiplied by `scale`. `slot` is an
    `args_type(dtype)` alloca (in the entry block). src and dst may be the same buffer when their rows
    have the same layout (complex to complex)."""
    outer, slen, inner = shape
    dlen = n // 2 + 1 if kind == "r2c" else n
    em = _Emitter(None, dtype)
    values = [src, dst, work, i64(outer * inner), i64(groups(outer * inner)), i64(inner), i64(slen), i64(dlen)]
    values += [ir.Constant(em.S, float(scale)), i64(work_bytes(kind, n, dtype))]
    for f, v in enumerate(values):
        b.store(v, b.gep(slot, [i64(0), ir.Constant(I32, f)]))
    b.call(function, [slot])


def args_type(dtype):
    """The struct of a transform's arguments (see `call_axis_transform`)."""
    return _Emitter(None, dtype).args_type()


def groups(rows):
    """Groups of rows a transform of `rows` rows runs in (fixed by the shape, not the thread count)."""
    return min(rows, GROUPS_MAX)


def vector_rows(rows, dtype):
    """Whether a transform of `rows` rows has groups of rows long enough for the vector rows."""
    return -(-rows // groups(max(rows, 1))) >= LANES[np.dtype(dtype).name]
