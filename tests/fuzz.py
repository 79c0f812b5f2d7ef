"""Random-program testing of fnad (issue 11): compiled code must agree with eager code and NumPy.

A program is a straight-line list of nodes over fnad's public API (`fnp`, `lax`, `nn`); every op
of the table `OPS` is a source template, so a program *is* Python source text and a failure prints
as a paste-able repro. The NumPy twin of a program is the same text with `fnp.` -> `np.` and
`lax.`/`nn.` -> `ref.` (`ref` holds NumPy versions of the lax/nn ops), so each node is evaluated
in NumPy while it is drawn: that gives its shape and dtype, and rejects nodes NumPy refuses or
whose values overflow. Checks (`check`): `jit(f)` against eager `f` and against the twin; for
float64 programs, `jit(grad(loss))` against `grad(loss)` and central finite differences of the
twin; in some draws `vmap(f)` and `jit(vmap(f))` against a loop of the twin.

Choices come from a `Chooser` over a seeded NumPy generator: hypothesis draws the seeds in the
suite (tests/test_fuzz.py); the long profile, `python -m tests.fuzz --minutes 60 [--seed N]`,
keeps going after a failure. Either shrinks a failing program (`shrink`) and prints it.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import re
import sys
import time
import traceback
import warnings

import numpy as np

import fnad
import fnad.numpy as fnp
from fnad import lax, nn

MAX_ELEMENTS = 2**18  # largest value a node may make
LARGE = 2**17 + 3  # input sizes above fnad's threading threshold (2**17 elements)
TOL = {"float32": 2e-4, "float64": 1e-9}


# ---------------------------------------------------------------------------------------------
# NumPy versions of the lax/nn ops the programs use (the twin's `ref.` namespace)
# ---------------------------------------------------------------------------------------------


class ref:
    @staticmethod
    def pad(x, c, config):
        """lax.pad: interior padding first, then lo/hi (negative ones crop)."""
        for ax, (lo, hi, interior) in enumerate(config):
            n = x.shape[ax]
            shape = list(x.shape)
            shape[ax] = n + max(n - 1, 0) * interior
            dil = np.full(shape, c, x.dtype)
            idx = [slice(None)] * x.ndim
            idx[ax] = slice(None, None, interior + 1)
            dil[tuple(idx)] = x
            widths = [(0, 0)] * x.ndim
            widths[ax] = (max(lo, 0), max(hi, 0))
            dil = np.pad(dil, widths, constant_values=c)
            idx[ax] = slice(max(-lo, 0), dil.shape[ax] - max(-hi, 0))
            if dil.shape[ax] - max(-lo, 0) - max(-hi, 0) < 0:
                raise ValueError("negative size")
            x = dil[tuple(idx)]
        return x

    @staticmethod
    def rev(x, dims):
        return np.flip(x, dims)

    @staticmethod
    def dynamic_slice(x, starts, sizes):
        starts = [min(max(int(s), 0), d - z) for s, d, z in zip(starts, x.shape, sizes)]
        return x[tuple(slice(s, s + z) for s, z in zip(starts, sizes))]

    @staticmethod
    def select(p, a, b):
        if not (p.shape == a.shape == b.shape and a.dtype == b.dtype):
            raise ValueError("select needs equal shapes and dtypes")
        return np.where(p, a, b)

    @staticmethod
    def cumsum(x, axis=0, reverse=False):
        if not 0 <= axis < x.ndim:
            raise ValueError("axis out of range")
        flip = (lambda y: np.flip(y, axis)) if reverse else (lambda y: y)
        return flip(np.cumsum(flip(x), axis, dtype=x.dtype))

    @staticmethod
    def cond(pred, true_fun, false_fun, x):
        a, b = true_fun(x), false_fun(x)
        if a.shape != b.shape or a.dtype != b.dtype:
            raise ValueError("branches differ")
        return a if pred else b

    @staticmethod
    def fori_loop(lo, hi, body, c):
        for i in range(lo, hi):
            c2 = body(i, c)
            if c2.shape != c.shape or c2.dtype != c.dtype:
                raise ValueError("carry changes type")
            c = c2
        return c

    @staticmethod
    def scan(f, c, xs, reverse=False):
        ys = []
        for x in xs[::-1] if reverse else xs:
            c2, y = f(c, x)
            if c2.shape != c.shape or c2.dtype != c.dtype:
                raise ValueError("carry changes type")
            c = c2
            ys.append(y)
        if not ys:
            y = f(c, np.zeros(xs.shape[1:], xs.dtype))[1]
            return c, np.zeros((0,) + y.shape, y.dtype)
        return c, np.stack(ys[::-1] if reverse else ys)

    @staticmethod
    def conv_general_dilated(x, w, strides, padding, rhs_dilation, dimension_numbers):
        """lax.conv_general_dilated in layouts N..C/..IO/N..C or NC../OI../NC.., explicit padding: per
        kernel position, a strided window of the padded input times that position's matrix."""
        last = dimension_numbers[0].endswith("C")
        x = np.moveaxis(x, -1, 1) if last else x
        w = np.moveaxis(w, (-1, -2), (0, 1)) if last else w
        x = ref.pad(x, np.zeros((), x.dtype), [(0, 0, 0)] * 2 + [(lo, hi, 0) for lo, hi in padding])
        sizes = [(n - (k - 1) * d - 1) // s + 1 for n, k, d, s in zip(x.shape[2:], w.shape[2:], rhs_dilation, strides)]
        if min(sizes) < 0:
            raise ValueError("window larger than the padded input")
        out = np.zeros((x.shape[0], w.shape[0], *sizes), x.dtype)
        for pos in np.ndindex(*w.shape[2:]):
            window = tuple(
                slice(k * d, k * d + (m - 1) * s + 1, s) for k, d, s, m in zip(pos, rhs_dilation, strides, sizes)
            )
            out += np.einsum("nc...,oc->no...", x[(Ellipsis, *window)], w[(Ellipsis, *pos)]).astype(x.dtype)
        return np.moveaxis(out, 1, -1) if last else out

    @staticmethod
    def sigmoid(x):
        return (1 / (1 + np.exp(-x))).astype(x.dtype)

    @staticmethod
    def relu(x):
        return np.maximum(x, 0)

    @staticmethod
    def logsumexp(x, axis=None, keepdims=False):
        m = np.max(x, axis=axis, keepdims=True)
        out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
        return out if keepdims else np.squeeze(out, axis=axis)

    @staticmethod
    def log_softmax(x, axis=-1):
        return x - ref.logsumexp(x, axis=axis, keepdims=True)

    @staticmethod
    def softmax(x, axis=-1):
        return np.exp(ref.log_softmax(x, axis))

    class at:
        """`ref.at(x)[i].set(v)` is NumPy's copy of `x.at[i].set(v)`."""

        def __init__(self, x):
            self.x = x

        def __getitem__(self, idx):
            return ref._AtIndex(self.x, idx)

    class _AtIndex:
        def __init__(self, x, idx):
            self.x, self.idx = x, idx

        def set(self, v):
            out = self.x.copy()
            out[self.idx] = v
            return out

        def add(self, v):
            out = self.x.copy()
            np.add.at(out, self.idx, v)
            return out


def to_numpy_source(src):
    src = re.sub(r"\bfnp\.", "np.", src)
    src = re.sub(r"\b(lax|nn)\.", "ref.", src)
    return re.sub(r"(\w+|\([^()]*\))\.at\[", r"ref.at(\1)[", src)


FNAD_NS = {"np": np, "fnp": fnp, "lax": lax, "nn": nn, "fnad": fnad}
NUMPY_NS = {"np": np, "ref": ref}


# ---------------------------------------------------------------------------------------------
# Choices
# ---------------------------------------------------------------------------------------------


class Chooser:
    """The random choices of a program, from a NumPy generator (hypothesis draws its seed in the
    suite). Programs are shrunk by `shrink`, which knows their structure."""

    def __init__(self, rng):
        self.rng = rng

    def int(self, lo, hi):
        return int(self.rng.integers(lo, hi + 1))

    def chance(self, p):
        return self.int(0, 999) >= 1000 - p * 1000  # shrinks (towards 0) to False

    def choice(self, seq):
        return seq[self.int(0, len(seq) - 1)]

    def subset(self, seq):
        return tuple(a for a in seq if self.chance(0.5))


class Reject(Exception):
    """This op does not apply to these operands."""


def need(cond):
    if not cond:
        raise Reject


def kind(x):
    return {"f": "f", "i": "i", "u": "i", "b": "b"}[np.asarray(x).dtype.kind]


def r(v):
    """Source text of a parameter."""
    return repr(v)


def draw_axis(ch, x):
    need(x.ndim >= 1)
    return ch.int(-x.ndim, x.ndim - 1)


def draw_axes(ch, x):
    """None, an int or a tuple of distinct axes (possibly empty)."""
    if x.ndim == 0 or ch.chance(0.25):
        return None
    if ch.chance(0.5):
        return draw_axis(ch, x)
    return tuple(a - x.ndim if ch.chance(0.3) else a for a in ch.subset(range(x.ndim)))


def draw_const(ch, x, small=False):
    k = kind(x)
    if k == "b":
        return ch.choice([True, False])
    if k == "i":
        return ch.int(-3, 3)
    return ch.choice([0.0, 1.0, -0.5, 2.0, 0.25] if not small else [0.5, -0.5, 0.25, 2.0])


def draw_index_array(ch, n, unique=False):
    """Source of an int array indexing an axis of size n (negative indices allowed)."""
    if n == 0:
        return "np.zeros(0, int)"
    if unique:
        picks = [i for i in range(n) if ch.chance(0.6)] or [0]
        idx = [i - n if ch.chance(0.3) else i for i in sorted(picks, key=lambda i: ch.int(0, 9))]
        return f"np.array({idx!r})"
    idx = [ch.int(-n, n - 1) for _ in range(ch.int(1, 5))]
    if ch.chance(0.2):
        idx = np.array(idx + [0] * (-len(idx) % 2)).reshape(2, -1).tolist()
    return f"np.array({idx!r})"


def draw_slice(ch, n):
    step = ch.choice([1, 1, -1, 2, -2, 3, -1])

    def bound():
        return None if ch.chance(0.5) else ch.int(-n - 1, n + 1)

    start, stop = bound(), bound()
    text = ("" if start is None else str(start)) + ":" + ("" if stop is None else str(stop))
    return text + ("" if step == 1 else f":{step}")


def draw_reshape(ch, x):
    s = list(x.shape)
    how = ch.int(0, 3)
    if how == 0 or not s:
        return (-1,) if ch.chance(0.5) and x.size else (x.size,) if s else (1, 1)
    if how == 1 and len(s) >= 2:  # merge two adjacent axes
        i = ch.int(0, len(s) - 2)
        return tuple(s[:i] + [s[i] * s[i + 1]] + s[i + 2 :])
    if how == 2:  # split an axis
        i = ch.int(0, len(s) - 1)
        f = [d for d in (2, 3) if s[i] % d == 0 and s[i] > d] or [1]
        a = ch.choice(f)
        return tuple(s[:i] + [a, s[i] // a] + s[i + 1 :])
    i = ch.int(0, len(s))  # insert a size-1 axis
    out = s[:i] + [1] + s[i:]
    if x.size and ch.chance(0.5):
        out[ch.int(0, len(out) - 1)] = -1
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# The op table
# ---------------------------------------------------------------------------------------------


def broadcastable(*xs):
    try:
        np.broadcast_shapes(*(x.shape for x in xs))
        return True
    except ValueError:
        return False


def no_params(ch, *xs):
    return {}


@dataclasses.dataclass
class Op:
    """An op: `tmpl` is fnad source with {0}, {1}.. for the operands and {name} for the params
    that `params(ch, *operands)` draws (it raises Reject when the op does not apply); `kinds`
    the dtype kinds of the first operand ('f' float, 'i' int, 'b' bool); `compat(a, b)` which
    further operands fit; `diff` whether derivatives through it are defined and checked."""

    name: str
    tmpl: str
    arity: int = 1
    kinds: str = "fib"
    params: callable = no_params
    compat: callable = broadcastable
    diff: bool = True
    weight: int = 1  # how often it is drawn: layout ops, where issue 11's bugs were, more


def unary(name, tmpl, kinds="f", diff=True):
    return Op(name, tmpl, 1, kinds, no_params, diff=diff)


def binary(name, tmpl, kinds="fi"):
    return Op(name, tmpl, 2, kinds, compat=lambda a, b: broadcastable(a, b) and kind(b) in kinds)


def reduction(name):
    return Op(
        name,
        f"fnp.{name}({{0}}, axis={{axis}}, keepdims={{kd}})",
        kinds="fi",
        params=lambda ch, x: {"axis": r(draw_axes(ch, x)), "kd": r(ch.chance(0.3))},
    )


def _argred(ch, x):
    axis = None if x.ndim == 0 or ch.chance(0.3) else draw_axis(ch, x)
    return {"axis": r(axis), "kd": r(ch.chance(0.3))}


def _slice(ch, x):
    need(x.ndim >= 1)
    parts = []
    for d in x.shape[: ch.int(1, x.ndim)]:
        parts.append(str(ch.int(-d, d - 1)) if d and ch.chance(0.35) else draw_slice(ch, d))
    if ch.chance(0.2):
        parts = ["..."] + parts[len(parts) - 1 :]
    return {"idx": ", ".join(parts)}


def _pad(ch, x):
    need(x.ndim >= 1)
    w = tuple((ch.int(0, 2), ch.int(0, 2)) for _ in range(x.ndim))
    return {"w": r(w), "c": r(draw_const(ch, x))}


def _pad_mode(ch, x):
    need(x.ndim >= 1 and kind(x) != "b")
    return {
        "w": r(tuple((ch.int(0, 2), ch.int(0, 2)) for _ in range(x.ndim))),
        "mode": r(ch.choice(["edge", "reflect", "wrap", "symmetric"])),
    }


def _lax_pad(ch, x):
    need(x.ndim >= 1)
    cfg = tuple((ch.int(-2, 2), ch.int(-2, 2), ch.choice([0, 0, 1, 2])) for _ in range(x.ndim))
    return {"cfg": r(cfg), "c": r(draw_const(ch, x))}


def _transpose(ch, x):
    perm = sorted(range(x.ndim), key=lambda i: ch.int(0, 9))
    return {"perm": r(tuple(perm))}


def _broadcast_to(ch, x):
    shape = tuple(ch.int(0, 3) if d == 1 and ch.chance(0.7) else d for d in x.shape)
    if ch.chance(0.5) or shape == x.shape:
        shape = (ch.int(1, 3),) + shape
    return {"shape": r(shape)}


def _squeeze(ch, x):
    ones = [i for i, d in enumerate(x.shape) if d == 1]
    need(ones)
    return {"axis": r(ch.choice(ones))}


def _gather(ch, x):
    need(x.ndim >= 1)
    ax = ch.int(0, min(x.ndim, 2) - 1)
    return {"pre": ":, " * ax, "idx": draw_index_array(ch, x.shape[ax])}


def _take(ch, x):
    axis = None if x.ndim == 0 or ch.chance(0.3) else draw_axis(ch, x)
    n = x.size if axis is None else x.shape[axis]
    return {"axis": r(axis), "idx": draw_index_array(ch, n)}


def _scatter(ch, x):
    need(x.ndim >= 1)
    if ch.chance(0.3):
        idx = draw_slice(ch, x.shape[0])
    else:
        idx = draw_index_array(ch, x.shape[0], unique=True)
    return {"idx": idx, "c": r(draw_const(ch, x))}


def _dynamic_slice(ch, x):
    need(x.ndim >= 1)
    starts = tuple(ch.int(-2, d + 1) for d in x.shape)
    return {
        "starts": r(starts),
        "rest": r(starts[1:]),
        "m": ch.int(1, 4),
        "sizes": r(tuple(ch.int(0, d) for d in x.shape)),
    }


def _cum(ch, x):
    return {"axis": r(draw_axis(ch, x))}


def _lax_cumsum(ch, x):
    return {"axis": r(ch.int(0, x.ndim - 1) if x.ndim else 0), "rev": r(ch.chance(0.5))}


def _nn_axis(ch, x):
    return {"axis": r(draw_axis(ch, x))}


def _conv(ch, x):
    """A 1-D or 2-D convolution of x (channels last or first) with a fixed kernel of 1-3 outputs."""
    need(x.ndim in (3, 4) and 0 < x.size and x.shape[-1 if x.ndim == 3 else 1] <= 8)
    nsp, last = x.ndim - 2, ch.chance(0.5)
    c = x.shape[-1] if last else x.shape[1]
    window = tuple(ch.int(1, 3) for _ in range(nsp))
    o = ch.int(1, 3)
    spatial = "HW"[:nsp] if nsp == 2 else "W"
    dn = (
        ("N" + spatial + "C", spatial + "IO", "N" + spatial + "C")
        if last
        else ("NC" + spatial, "OI" + spatial, "NC" + spatial)
    )
    return {
        "size": r(int(np.prod(window)) * c * o),
        "wshape": r(window + (c, o) if last else (o, c) + window),
        "strides": r(tuple(ch.int(1, 2) for _ in range(nsp))),
        "padding": r(tuple((ch.int(0, 2), ch.int(0, 2)) for _ in range(nsp))),
        "dil": r(tuple(ch.int(1, 2) for _ in range(nsp))),
        "dn": r(dn),
    }


def _logsumexp(ch, x):
    return {"axis": r(draw_axes(ch, x)), "kd": r(ch.chance(0.3))}


def _cast(ch, x):
    dt = ch.choice(["float32", "float64", "int32", "bool"])
    return {"dt": dt}


def _concat_compat(a, b):
    return a.ndim == b.ndim >= 1 and a.dtype == b.dtype and (sum(p != q for p, q in zip(a.shape, b.shape)) <= 1)


def _concat(ch, a, b):
    diff = [i for i, (p, q) in enumerate(zip(a.shape, b.shape)) if p != q]
    return {"axis": r(diff[0] if diff else draw_axis(ch, a))}


def _matmul_compat(a, b):
    return a.ndim >= 1 and b.ndim >= 1 and kind(b) in "fi" and a.shape[-1] == b.shape[-2 if b.ndim > 1 else 0]


def _body(ch, x, var):
    """A chain of 1-3 shape- and dtype-preserving ops over `var` (a loop or branch body)."""
    text = var
    for _ in range(ch.int(1, 3)):
        op = ch.choice(BODY_OPS)
        params = op.params(ch, x)
        text = op.tmpl.format(text if text == var else f"({text})", **params)
    return text


def _cond(ch, x):
    return {"t": r(ch.choice([0.0, -1.0, 1.0])), "b1": _body(ch, x, "a"), "b2": _body(ch, x, "a")}


def _fori(ch, x):
    return {"n": ch.int(0, 4), "body": _body(ch, x, "c")}


def _scan(ch, x):
    need(1 <= x.ndim and len(x) <= 64)  # eager scans and the twin loop in Python
    return {
        "body": _body(ch, x[0] if len(x) else x.reshape(x.shape[1:]), "x"),
        "k": ch.int(0, 1),
        "rev": r(ch.chance(0.3)),
    }


OPS = [
    unary("sin", "fnp.sin({0})"),
    unary("cos", "fnp.cos({0})"),
    unary("tanh", "fnp.tanh({0})"),
    unary("exp", "fnp.exp({0})"),
    unary("log1p_abs", "fnp.log1p(fnp.abs({0}))"),
    unary("square", "{0} * {0}", "fi"),
    unary("abs", "fnp.abs({0})", "fi"),
    unary("neg", "-{0}", "fi"),
    unary("sigmoid", "nn.sigmoid({0})"),
    unary("relu", "nn.relu({0})"),
    unary("floor", "fnp.floor({0})", diff=False),
    unary("not", "~{0}", "b"),
    Op(
        "affine",
        "{0} * {a} + {b}",
        kinds="fi",
        params=lambda ch, x: {"a": r(draw_const(ch, x, small=True)), "b": r(draw_const(ch, x))},
    ),
    Op("cast", "{0}.astype({dt!r})", params=_cast, diff=False),
    Op("softmax", "nn.softmax({0}, axis={axis})", kinds="f", params=_nn_axis),
    Op("log_softmax", "nn.log_softmax({0}, axis={axis})", kinds="f", params=_nn_axis),
    Op("logsumexp", "nn.logsumexp({0}, axis={axis}, keepdims={kd})", kinds="f", params=_logsumexp),
    # complex values inside real programs (issue 14): float in, complex arithmetic, float out
    unary("cx_exp_mul", "fnp.real(fnp.exp({0} * 1j) * ({0} + 2j))"),
    unary("cx_sqrt_conj", "fnp.abs(fnp.sqrt({0} + 1j) * fnp.conj({0} - 0.5j))"),
    unary("cx_log_angle", "fnp.angle(fnp.log({0} + 1.5j)) + fnp.imag(fnp.tanh(({0} - 1j) / (2 + {0} * 1j)))"),
    unary("cx_sin_cos", "fnp.imag(fnp.sin({0} * (0.5 + 0.25j)) * fnp.cos({0} - 0.5j))"),
    Op(
        "cx_sum",
        # exp(x (1/4 + i)), not exp(ix): a modulus of 1 makes the sum over an axis of length one a
        # constant, whose ties (argmin of it, seed 4304) rounding decides.
        "fnp.abs(fnp.sum(fnp.exp({0} * (0.25 + 1j)) * (1 + 0.5j), axis={axis}, keepdims={kd}))",
        kinds="f",
        params=_argred,
    ),
    # Re((a + ib)^2 (b - ia/2)) = 2a^2 b - b^3. (With + ia/2 the a^2 b terms cancel exactly, leaving
    # -b^3 with the rounding error of a^2 b, which no tolerance on the result's scale can judge.)
    binary("cx_pow", "fnp.real(({0} + 1j * {1}) ** 2 * ({1} - 0.5j * {0}))", "f"),
    binary("add", "{0} + {1}"),
    binary("sub", "{0} - {1}"),
    binary("mul", "{0} * {1}"),
    binary("maximum", "fnp.maximum({0}, {1})"),
    binary("minimum", "fnp.minimum({0}, {1})"),
    binary("div", "{0} / (1.5 + fnp.abs({1}))"),
    binary("gt", "{0} > {1}"),
    binary("and", "{0} & {1}", "b"),
    binary("or", "{0} | {1}", "b"),
    Op("where", "fnp.where({0} > 0, {1}, {2})", 3),
    Op("select", "lax.select({0} > 0, {1}, {2})", 3, compat=lambda a, b: a.shape == b.shape and kind(b) in "fi"),
    *(reduction(n) for n in ("sum", "max", "min", "prod", "mean")),
    Op("argmax", "fnp.argmax({0}, axis={axis}, keepdims={kd})", kinds="fi", params=_argred),
    Op("argmin", "fnp.argmin({0}, axis={axis}, keepdims={kd})", kinds="fi", params=_argred),
    Op("reshape", "{0}.reshape({shape})", params=lambda ch, x: {"shape": r(draw_reshape(ch, x))}),
    Op("transpose", "fnp.transpose({0}, {perm})", params=_transpose),
    unary("T", "{0}.T", "fib"),
    Op("expand_dims", "fnp.expand_dims({0}, {axis})", params=lambda ch, x: {"axis": ch.int(-x.ndim - 1, x.ndim)}),
    Op("squeeze", "fnp.squeeze({0}, axis={axis})", params=_squeeze),
    Op("broadcast_to", "fnp.broadcast_to({0}, {shape})", params=_broadcast_to),
    Op("slice", "{0}[{idx}]", params=_slice),
    unary("rev0", "{0}[::-1]", "fib"),
    Op("flip", "fnp.flip({0}, axis={axis})", params=lambda ch, x: {"axis": r(draw_axes(ch, x))}),
    Op("lax_rev", "lax.rev({0}, {dims})", params=lambda ch, x: {"dims": r(tuple(ch.subset(range(x.ndim))))}),
    Op("pad", "fnp.pad({0}, {w}, constant_values={c})", params=_pad),
    Op("pad_mode", "fnp.pad({0}, {w}, mode={mode})", params=_pad_mode),
    Op("lax_pad", "lax.pad({0}, {c}, {cfg})", params=_lax_pad),
    Op("gather", "{0}[{pre}{idx}]", params=_gather),
    Op("take", "fnp.take({0}, {idx}, axis={axis})", params=_take),
    Op("at_set", "{0}.at[{idx}].set({c})", params=_scatter),
    Op(
        "at_add",
        "{0}.at[{idx}].add({1})",
        2,
        kinds="fi",
        params=lambda ch, x, v: _scatter(ch, x),
        compat=lambda a, b: kind(b) == kind(a),
    ),
    Op("concatenate", "fnp.concatenate([{0}, {1}], axis={axis})", 2, params=_concat, compat=_concat_compat),
    Op("cumsum", "fnp.cumsum({0}, axis={axis})", kinds="fi", params=_cum),
    Op("cumprod", "fnp.cumprod({0}, axis={axis})", kinds="f", params=_cum),
    Op("lax_cumsum", "lax.cumsum({0}, axis={axis}, reverse={rev})", kinds="fi", params=_lax_cumsum),
    Op("dynamic_slice", "lax.dynamic_slice({0}, {starts}, {sizes})", params=_dynamic_slice),
    Op(
        "dynamic_slice_traced",
        "lax.dynamic_slice({0}, (fnp.argmax({0}) % {m},) + {rest}, {sizes})",
        kinds="fi",
        params=_dynamic_slice,
    ),
    Op("matmul", "{0} @ {1}", 2, kinds="fi", compat=_matmul_compat),
    Op(
        "conv",
        "lax.conv_general_dilated({0}, fnp.cos(fnp.arange({size}.0)).reshape({wshape}).astype({0}.dtype), {strides}, "
        "{padding}, rhs_dilation={dil}, dimension_numbers={dn})",
        kinds="f",
        params=_conv,
    ),
    Op("gram", "{0} @ {0}.T", kinds="fi", params=lambda ch, x: need(x.ndim == 2) or {}),
    Op("dot", "fnp.dot({0}, {1})", 2, kinds="fi", compat=_matmul_compat),
    Op("cond", "lax.cond(fnp.sum({0}) > {t}, lambda a: {b1}, lambda a: {b2}, {0})", kinds="f", params=_cond),
    Op("fori_loop", "lax.fori_loop(0, {n}, lambda i, c: 0.5 * c + 0.5 * {body}, {0})", kinds="f", params=_fori),
    Op(
        "scan",
        "lax.scan(lambda c, x: (0.5 * c + {body}, c * x), fnp.zeros_like({0}[0]), {0}, reverse={rev})[{k}]",
        kinds="f",
        params=_scan,
    ),
]
for _op in OPS:
    if _op.name in (
        "rev0",
        "flip",
        "lax_rev",
        "pad",
        "lax_pad",
        "slice",
        "broadcast_to",
        "transpose",
        "T",
        "sum",
        "add",
        "sub",
        "mul",
        "cumsum",
        "gather",
        "concatenate",
        "logsumexp",
        "log_softmax",
    ):
        _op.weight = 3
OP_BY_NAME = {op.name: op for op in OPS}
WEIGHTED_OPS = [op for op in OPS for _ in range(op.weight)]
BODY_OPS = [
    OP_BY_NAME[n] for n in ("sin", "cos", "tanh", "square", "neg", "affine", "rev0", "cumsum", "log_softmax", "relu")
]
CHAIN_OPS = [OP_BY_NAME[n] for n in ("sin", "affine", "tanh", "cos", "neg")]  # single-use chains


# ---------------------------------------------------------------------------------------------
# Programs
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Node:
    op: str
    args: tuple  # indices of earlier values
    params: dict

    def source(self, names):
        return OP_BY_NAME[self.op].tmpl.format(*(names[a] for a in self.args), **self.params)


@dataclasses.dataclass
class Program:
    inputs: list  # source of each input (NumPy expressions)
    nodes: list
    outputs: list  # indices of returned values
    grad_weights: int = 0  # seed of the loss weights; 0: no grad check
    vmap: int = 0  # 0: no vmap check; 1: batch x0; 2: batch every input

    def names(self):
        return [f"x{i}" for i in range(len(self.inputs))] + [f"v{i}" for i in range(len(self.nodes))]

    def function_source(self, name="f"):
        names = self.names()
        n_in = len(self.inputs)
        lines = [f"def {name}({', '.join(names[:n_in])}):"]
        lines += [f"    {names[n_in + k]} = {node.source(names)}" for k, node in enumerate(self.nodes)]
        lines.append(f"    return ({''.join(names[o] + ', ' for o in self.outputs)})")
        return "\n".join(lines)

    def input_source(self):
        return "\n".join(f"x{i} = {src}" for i, src in enumerate(self.inputs))

    def functions(self):
        """(fnad program, NumPy twin)."""
        src = self.function_source()
        ns_f, ns_n = dict(FNAD_NS), dict(NUMPY_NS)
        exec(src, ns_f)
        exec(to_numpy_source(src), ns_n)
        return ns_f["f"], ns_n["f"]

    def args(self):
        return [eval(src, {"np": np}) for src in self.inputs]

    def uses_at(self):
        return any(n.op.startswith("at_") for n in self.nodes)

    def differentiable(self):
        return all(OP_BY_NAME[n.op].diff for n in self.nodes)


def input_source(ch, shape, dtype, seed):
    """NumPy source of one input: random values, possibly a non-contiguous view."""
    layout = ch.choice(["c", "c", "c", "T", "step", "neg"]) if shape else "c"
    base = list(shape)
    suffix = ""
    if layout == "T" and len(shape) >= 2:
        base, suffix = base[::-1], ".T"
    elif layout == "step":
        base[0] *= 2
        suffix = "[::2]"
    elif layout == "neg":
        base[-1] += 1
        suffix = "[..., :0:-1]"
    rng = f"np.random.default_rng({seed})"
    if dtype == "bool":
        src = f"({rng}.random({tuple(base)}) < 0.5)"
    elif dtype == "int32":
        src = f"{rng}.integers(-4, 5, {tuple(base)}).astype(np.int32)"
    else:
        src = f"{rng}.uniform(-2, 2, {tuple(base)}).astype(np.{dtype})"
    return src + suffix


def draw_inputs(ch, dtype):
    if ch.chance(0.04):  # above the threading threshold
        base = ch.choice([(LARGE,), (LARGE // 128 + 1, 128), (3, LARGE // 3 + 1)])
    else:
        base = tuple(ch.choice([1, 2, 3, 4, 5, 6, 3, 2, 0, 7, 8]) for _ in range(ch.choice([0, 1, 1, 2, 2, 2, 3, 4])))
    srcs = []
    for i in range(ch.int(1, 3)):
        shape = list(base[ch.int(0, len(base)) :] if i else base)
        shape = tuple(1 if d and ch.chance(0.15) else d for d in shape)
        dt = dtype if ch.chance(0.85) else ch.choice(["float32", "float64", "int32", "bool"])
        srcs.append(input_source(ch, shape, dt, ch.int(0, 2**16)))
    return srcs


def acceptable(v):
    v = np.asarray(v)
    if v.dtype.kind not in "fiub" or v.size > MAX_ELEMENTS or v.dtype.name == "float16":
        return False
    if v.dtype.kind == "f":
        return bool(np.all(np.isfinite(v))) and (v.size == 0 or float(np.max(np.abs(v))) < 1e4)
    return v.dtype.kind != "i" or v.size == 0 or int(np.max(np.abs(v))) < 2**20


# Ops deciding by a comparison: (index of its left operand, of its right one or None for zero).
COMPARISONS = {"gt": (0, 1), "where": (0, None), "select": (0, None)}


def decided(node, values):
    """Whether each comparison of `node` is decided with a margin: float operands further apart
    than float32's tolerance on their scale. Two ways of evaluating a program round differently,
    so a comparison of values equal up to rounding (x - x, a ReLU's zeros fed through a sum) may
    go either way in each, and picks wholly different results: no tolerance on outputs can judge
    that, and such a program tests nothing about the compiler. Besides `COMPARISONS`: a cond's
    sum(x) > t, and argmax/argmin between their best two candidates (sum(softmax(x)) is 1, the
    sums of softmax's rows are all 1, up to rounding)."""
    if node.op == "cond":
        x = np.asarray(values[node.args[0]], np.float64)
        return _apart(np.sum(x), float(node.params["t"]), max(1.0, float(np.sum(np.abs(x)))))
    if node.op in ("argmax", "argmin"):
        x = np.asarray(values[node.args[0]])
        axis = eval(node.params["axis"])
        if x.dtype.kind != "f" or x.size == 0 or (x.shape[axis] if axis is not None else x.size) < 2:
            return True
        ranked = np.sort(x.astype(np.float64), axis=axis)
        ranked = ranked if axis is not None else ranked[:, None]
        best, second = (-1, -2) if node.op == "argmax" else (0, 1)
        axis = 0 if axis is None else axis
        return _apart(np.take(ranked, best, axis), np.take(ranked, second, axis), _scale(x))
    if node.op not in COMPARISONS:
        return True
    left, right = COMPARISONS[node.op]
    a = np.asarray(values[node.args[left]])
    b = np.asarray(values[node.args[right]]) if right is not None else np.zeros((), a.dtype)
    if a.dtype.kind != "f" and b.dtype.kind != "f":
        return True
    return _apart(a, b, max(_scale(a), _scale(b)))


def _scale(x):
    return max(1.0, float(np.max(np.abs(np.asarray(x, np.float64)), initial=0.0)))


def _apart(a, b, scale):
    """Whether every pair of a's and b's elements differs by more than float32's tolerance on `scale`."""
    return not np.any(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)) <= TOL["float32"] * scale)


def eval_node(node, values, names):
    ns = dict(NUMPY_NS, **dict(zip(names, values)))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return eval(to_numpy_source(node.source(names)), ns)


def draw_node(ch, values, names, ops, chain=False):
    """A node applicable to the values (to the last one when chain); its NumPy value."""
    for _ in range(50):
        op = ch.choice(ops)
        first = len(values) - 1 if chain or ch.chance(0.5) else ch.int(0, len(values) - 1)
        x = values[first]
        try:
            need(kind(x) in op.kinds)
            args = [first]
            for _ in range(op.arity - 1):
                fits = [j for j, v in enumerate(values) if op.compat(x, v)]
                need(fits)
                args.append(ch.choice(fits))
            node = Node(op.name, tuple(args), op.params(ch, *(values[a] for a in args)))
            out = eval_node(node, values, names)
        except Reject:
            continue
        except Exception:  # NumPy refuses: not a valid program
            continue
        if acceptable(out) and decided(node, values):
            return node, np.asarray(out)
    raise Reject


def draw_program(ch, n_nodes=None, dtype=None):
    """A random program of n_nodes nodes (1-8 when None; long ones are chains of cheap ops)."""
    dtype = dtype or ch.choice(["float64", "float64", "float32", "int32", "bool"])
    inputs = draw_inputs(ch, dtype)
    values = [eval(s, {"np": np}) for s in inputs]
    names = [f"x{i}" for i in range(len(inputs))]
    nodes = []
    n_nodes = n_nodes or ch.int(1, 8)
    ops = CHAIN_OPS if n_nodes > 100 else WEIGHTED_OPS
    for k in range(n_nodes):
        try:
            node, out = draw_node(ch, values, names, ops, chain=n_nodes > 100)
        except Reject:
            break
        nodes.append(node)
        values.append(out)
        names.append(f"v{k}")
    if not nodes:
        raise Reject
    n = len(values)
    used = {a for node in nodes for a in node.args}
    # Return the last value, and often values that other nodes also read (the pattern of issue 11).
    # (A long chain returns only its end, so that the compiler sees one deep expression.)
    outputs = [n - 1] + [
        j for j in range(len(inputs), n - 1) if len(nodes) < 100 and ch.chance(0.6 if j in used else 0.2)
    ]
    prog = Program(inputs, nodes, outputs)
    if ch.chance(0.7):
        prog.grad_weights = ch.int(1, 999)
    prog.vmap = ch.choice([0, 0, 0, 1, 2])
    return prog


# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------


class Failure(Exception):
    """A check failed; `kind` names which check (the class of a failure)."""

    def __init__(self, kind, message):
        super().__init__(f"{kind}: {message}")
        self.kind, self.message = kind, message


def tolerance(*arrays):
    kinds = [np.asarray(a).dtype.name for a in arrays]
    return max(TOL.get(k, 0) for k in kinds)


def compare_outputs(what, got, want, exact_dtype=True, floor=0.0):
    """Outputs agree: exactly where they are integers or booleans, else within the tolerance of
    their dtype, or `floor` where less precise values went into them (a float32 intermediate
    promoted to a float64 result carries float32's error)."""
    got, want = tuple(got), tuple(want)
    if len(got) != len(want):
        raise Failure(what, f"{len(got)} outputs, expected {len(want)}")
    for i, (g, w) in enumerate(zip(got, want)):
        g, w = np.asarray(g), np.asarray(w)
        if g.shape != w.shape or (exact_dtype and g.dtype != w.dtype):
            raise Failure(what, f"output {i}: {g.dtype}{list(g.shape)}, expected {w.dtype}{list(w.shape)}")
        tol = tolerance(g, w) and max(tolerance(g, w), floor)
        if tol:
            # The scale of the finite values (an infinite one would pass anything); infinities agree
            # by being equal (their difference is NaN).
            scale = max(1.0, float(np.max(np.abs(w[np.isfinite(w)]), initial=0.0)))
            bad = ~((g.astype(np.float64) == w) | (np.abs(g.astype(np.float64) - w) <= tol * scale))
        else:
            bad = g.astype(np.float64) != w.astype(np.float64)
        if np.any(bad):
            raise Failure(
                what,
                f"output {i} differs at {np.argwhere(bad)[:3].tolist()}:\n"
                f"  got      {np.array2string(g, threshold=40)}\n"
                f"  expected {np.array2string(w, threshold=40)}",
            )


def refused_eagerly(f, args, error, traced=False):
    """Reject the program when eager fnad (or, for programs using `.at`, which exists on traced
    values only, tracing it) raises what jit raised: fnad refuses it in every mode, where the NumPy
    twin that validated it was more lenient (e.g. a fori_loop of no steps never runs, so never
    checks, a body that fnad traces, as JAX does)."""
    try:
        (fnad.make_jaxpr(f) if traced else f)(*args)
    except type(error):
        raise Reject from error
    except Exception:
        pass


def call(what, f, *args):
    try:
        return f(*args)
    except Failure:
        raise
    except Exception as e:
        raise Failure(what, f"{type(e).__name__}: {e}") from e


def loss_functions(prog, want):
    """A scalar loss over the float outputs, sum_k sum(out_k * W_k) with fixed random W_k, as
    (fnad source, NumPy twin, argnums), or None."""
    floats = [i for i, w in enumerate(want) if np.asarray(w).dtype.kind == "f"]
    args = prog.args()
    argnums = tuple(i for i, a in enumerate(args) if a.dtype.kind == "f")
    # `.at` exists on traced values only: under grad, on the inputs differentiated.
    if not floats or not argnums or not prog.grad_weights or prog.uses_at() and len(argnums) < len(args):
        return None
    terms = " + ".join(
        f"fnp.sum(o[{i}] * np.random.default_rng({prog.grad_weights + i}).standard_normal({np.shape(want[i])!r}))"
        for i in floats
    )
    params = ", ".join(f"x{i}" for i in range(len(args)))
    src = f"def loss({params}):\n    o = f({params})\n    return {terms}"
    return src, argnums


def finite_difference(loss, args, argnums, dirs, h):
    """The derivative of loss along dirs, by central differences of step h."""
    outs = []
    for step in (h, -h):
        shifted = list(args)
        for i, d in zip(argnums, dirs):
            shifted[i] = args[i] + step * d
        with np.errstate(all="ignore"):
            outs.append(float(loss(*shifted)))
    return (outs[0] - outs[1]) / (2 * h), abs(outs[0])


def check(prog, what=("jit", "grad", "vmap")):
    """Run every check of the program; raises Failure."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's, e.g. the mean of an empty axis
        _check(prog, what)


def _check(prog, what):
    f, f_np = prog.functions()
    args = prog.args()
    with np.errstate(all="ignore"):
        want = f_np(*args)
    floor = TOL["float32"] if "float32" in prog.input_source() + prog.function_source() else 0.0
    compare = functools.partial(compare_outputs, floor=floor)
    if "jit" in what:
        try:
            got = fnad.jit(f)(*args)
        except Exception as e:
            refused_eagerly(f, args, e, traced=prog.uses_at())
            raise Failure("jit raised", f"{type(e).__name__}: {e}") from e
        compare("jit vs numpy", got, want)
        if not prog.uses_at():  # `.at` exists on traced values only, so not eagerly
            eager = call("eager raised", f, *args)
            compare("eager vs numpy", eager, want)
            compare("jit vs eager", got, eager)
    if "grad" in what and prog.differentiable() and (lf := loss_functions(prog, want)):
        src, argnums = lf
        ns_f, ns_n = dict(FNAD_NS, f=f), dict(NUMPY_NS, f=f_np)
        exec(src, ns_f)
        exec(to_numpy_source(src), ns_n)
        g_eager = call("eager grad raised", fnad.grad(ns_f["loss"], argnums=argnums), *args)
        rng = np.random.default_rng(prog.grad_weights)
        for _ in range(2):
            # float32 inputs are too coarse to difference; they get a zero direction
            dirs = [rng.standard_normal(args[i].shape) * (args[i].dtype == np.float64) for i in argnums]
            fd, size = finite_difference(ns_n["loss"], args, argnums, dirs, 1e-6)
            dot = sum(float(np.sum(g * d)) for g, d in zip(g_eager, dirs))
            scale = sum(float(np.sum(np.abs(g * d))) for g, d in zip(g_eager, dirs))
            # A kink within the step (abs, max, relu..) moves the difference quotient with the
            # step; a wrong gradient does not, so only a steady quotient counts.
            fd2 = finite_difference(ns_n["loss"], args, argnums, dirs, 1e-7)[0]
            tol = 1e-5 * (1 + scale) + 1e-8 * size  # the rounding error of the quotient
            if abs(fd - dot) > tol and abs(fd - fd2) <= tol:
                raise Failure(
                    "grad vs finite differences", f"<grad, d> = {dot!r}, finite differences {fd!r} (scale {scale:.3g})"
                )
        g_jit = call("jit(grad) raised", fnad.jit(fnad.grad(ns_f["loss"], argnums=argnums)), *args)
        compare("jit(grad) vs grad", g_jit, g_eager)
    if "vmap" in what and prog.vmap:
        in_axes, batched = vmap_args(prog, args)
        with np.errstate(all="ignore"):
            loop = [f_np(*(a[b] if ax == 0 else a for a, ax in zip(batched, in_axes))) for b in range(2)]
        want_v = tuple(np.stack([np.asarray(o[k]) for o in loop]) for k in range(len(want)))
        got_v = call("vmap raised", fnad.vmap(f, in_axes=in_axes), *batched)
        compare("vmap vs loop", got_v, want_v)
        got_jv = call("jit(vmap) raised", fnad.jit(fnad.vmap(f, in_axes=in_axes)), *batched)
        compare("jit(vmap) vs loop", got_jv, want_v)


VARIANT = {"b": "~{}", "i": "-{}", "f": "{} * -0.5"}  # the second element of a batch


def vmap_args(prog, args):
    """in_axes, and the inputs with a batch of two on the mapped ones. `.at` exists on traced
    values only, so a program that uses it gets every input batched."""
    in_axes = tuple(0 if i == 0 or prog.vmap == 2 or prog.uses_at() else None for i in range(len(args)))
    return in_axes, [
        np.stack([a, eval(VARIANT[kind(a)].format("a"))]) if ax == 0 else a for a, ax in zip(args, in_axes)
    ]


# ---------------------------------------------------------------------------------------------
# Repros and shrinking
# ---------------------------------------------------------------------------------------------


def repro(prog, failure=None):
    """Paste-able source of a failing program."""
    text = [
        "import numpy as np, fnad, fnad.numpy as fnp",
        "from fnad import lax, nn",
        "",
        prog.function_source(),
        "",
        prog.input_source(),
    ]
    args = ", ".join(f"x{i}" for i in range(len(prog.inputs)))
    kind_ = failure.kind if failure else ""
    if kind_.startswith(("grad", "jit(grad)", "eager grad")):
        lf = loss_functions(prog, prog.functions()[1](*prog.args()))
        text += [
            lf[0],
            f"print(fnad.jit(fnad.grad(loss, argnums={lf[1]}))({args}))",
            f"print(fnad.grad(loss, argnums={lf[1]})({args}))",
        ]
    elif "vmap" in kind_:
        in_axes, _ = vmap_args(prog, prog.args())
        batched = ", ".join(
            f"np.stack([x{i}, {VARIANT[kind(a)].format(f'x{i}')}])" if ax == 0 else f"x{i}"
            for i, (a, ax) in enumerate(zip(prog.args(), in_axes))
        )
        text += [f"print(fnad.jit(fnad.vmap(f, in_axes={in_axes}))({batched}))"]
    else:
        text += [f"print(fnad.jit(f)({args}))", f"print(f({args}))  # eager"]
    if failure:
        text += ["# " + line for line in str(failure).splitlines()]
    return "\n".join(text)


def still_fails(prog, kind_):
    try:
        check(prog)
    except Failure as e:
        return e if e.kind == kind_ else None
    except Exception:
        return None
    return None


def _valid(prog):
    try:
        values = prog.args()
        names = prog.names()
        for node in prog.nodes:
            out = eval_node(node, values, names)
            if not (acceptable(out) and decided(node, values)):
                return False
            values.append(np.asarray(out))
        return True
    except Exception:
        return False


def _without(prog, k, replacement):
    """prog with node k removed; its uses read value `replacement` (or None: k must be unused)."""
    n_in = len(prog.inputs)
    j = n_in + k

    def remap(a):
        if a == j:
            return replacement
        return a - 1 if a > j else a

    nodes = [dataclasses.replace(nd, args=tuple(map(remap, nd.args))) for nd in prog.nodes[:k] + prog.nodes[k + 1 :]]
    outputs = sorted({remap(o) for o in prog.outputs} - {None})
    if any(None in nd.args for nd in nodes) or not outputs:
        return None
    return dataclasses.replace(prog, nodes=nodes, outputs=outputs)


def _drop_input(prog, i):
    """prog without input i, which nothing reads."""
    if len(prog.inputs) == 1 or any(i in nd.args for nd in prog.nodes) or i in prog.outputs:
        return None
    shift = lambda a: a - (a > i)
    return dataclasses.replace(
        prog,
        inputs=prog.inputs[:i] + prog.inputs[i + 1 :],
        nodes=[dataclasses.replace(nd, args=tuple(map(shift, nd.args))) for nd in prog.nodes],
        outputs=[shift(o) for o in prog.outputs],
    )


def candidates(prog):
    for o in prog.outputs:  # fewer outputs
        if len(prog.outputs) > 1:
            yield dataclasses.replace(prog, outputs=[p for p in prog.outputs if p != o])
    for k in reversed(range(len(prog.nodes))):  # drop or bypass a node
        for rep in (None,) + prog.nodes[k].args:
            yield _without(prog, k, rep)
    for i in range(len(prog.inputs)):  # fewer inputs
        yield _drop_input(prog, i)
    for i, src in enumerate(prog.inputs):  # contiguous inputs
        plain = re.sub(r"(\.T|\[::2\]|\[\.\.\., :0:-1\])$", "", src)
        if plain != src:
            yield dataclasses.replace(
                prog, inputs=prog.inputs[:i] + [f"np.ascontiguousarray({src})"] + prog.inputs[i + 1 :]
            )
    if prog.vmap:
        yield dataclasses.replace(prog, vmap=False)
    if prog.grad_weights:
        yield dataclasses.replace(prog, grad_weights=0)


def shrink(prog, failure, budget_s=120):
    """A smaller program that fails the same check (greedy: fewer outputs, nodes, plain inputs)."""
    if len(prog.nodes) > 50:  # a long chain: each try would compile it again; shown whole
        return prog, failure
    deadline = time.time() + budget_s
    progress = True
    while progress and time.time() < deadline:
        progress = False
        for cand in candidates(prog):
            if cand is None or not _valid(cand):
                continue
            e = still_fails(cand, failure.kind)
            if e:
                prog, failure, progress = cand, e, True
                break
    return prog, failure


# ---------------------------------------------------------------------------------------------
# The long profile
# ---------------------------------------------------------------------------------------------


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=60)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--max-failures", type=int, default=50)
    a = p.parse_args(argv)
    seed = a.seed if a.seed is not None else int(time.time())
    print(f"seed {seed}", flush=True)
    rng = np.random.default_rng(seed)
    end = time.time() + a.minutes * 60
    tried, failures, classes = 0, [], {}
    while time.time() < end and len(failures) < a.max_failures:
        ch = Chooser(rng)
        try:
            prog = draw_program(ch, ch.int(300, 700) if ch.chance(0.01) else None)
        except Reject:
            continue
        try:
            check(prog)
            tried += 1
            if tried % 500 == 0:
                print(f"... {tried} programs", flush=True)
            continue
        except Reject:
            continue
        except Failure as e:
            failure = e
        except Exception:  # a bug of the checker itself
            failure = Failure("checker error", traceback.format_exc())
        tried += 1
        small, small_failure = shrink(prog, failure)
        key = (small_failure.kind, tuple(sorted({n.op for n in small.nodes})))
        failures.append((small, small_failure))
        print(f"\n=== failure {len(failures)} (program {tried}, class {key}) ===", flush=True)
        print(repro(small, small_failure), flush=True)
        classes.setdefault(key, 0)
        classes[key] += 1
    print(f"\nseed {seed}: tried {tried} programs in {a.minutes} min; {len(failures)} failed")
    for key, n in sorted(classes.items(), key=lambda kv: -kv[1]):
        print(f"  {n:4d}  {key[0]}  ops {', '.join(key[1])}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
