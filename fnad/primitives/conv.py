"""conv_general_dilated: the n-dimensional convolution of XLA's Conv and JAX's lax, in any layout.

The primitive's params are canonical: `window_strides`, `padding` (a (lo, hi) pair per spatial axis;
negative values crop), `lhs_dilation` (the input's, i.e. a transposed convolution), `rhs_dilation`
(the kernel's, atrous), `dimension_numbers` (a ConvDimensionNumbers: the axes of the input and output
in the order (batch, feature, spatial...) and of the kernel in (out feature, in feature, spatial...)),
`feature_group_count`, `batch_group_count` and `preferred_element_type`.

It is bilinear, so its jvp applies it to each tangent, and both transposes are convolutions
themselves (JAX's rules): the input's cotangent convolves the output cotangent with the flipped
kernel (the strides becoming an input dilation), the kernel's convolves the input with the output
cotangent (feature groups becoming batch groups and back). vmap folds the mapped axis into the batch
or into feature groups. `jit` compiles float ungrouped convolutions natively in one of two canonical
forms (`_decompose` brings them there with transposes and a pad): channels-last, or a channels-last
kernel gradient; grouped and integer ones compile as `_conv_im2col`: padding, strided slices
gathered into patches, and one dot_general."""

from __future__ import annotations

import builtins
import functools
import itertools
import math
from typing import NamedTuple

import numpy as np

from ..core import Primitive, ShapedArray, ShapeError, get_aval
from ..transforms.jvp import defjvp
from ..transforms.reverse import is_undefined
from ..transforms.staging import decomposition
from .dot import dot_general
from .elementwise import bilinear_parts, convert_element_type
from .indexing import concatenate, pad, pad_p, rev, slice
from .shape import expand_dims, full, reshape, transpose


class ConvDimensionNumbers(NamedTuple):
    """The layout of a convolution: `lhs_spec` and `out_spec` give the axes of (batch, feature,
    spatial...) of the input and the output, `rhs_spec` those of (out feature, in feature, spatial...)
    of the kernel (as JAX's lax.ConvDimensionNumbers)."""

    lhs_spec: tuple
    rhs_spec: tuple
    out_spec: tuple


def conv_general_permutations(dimension_numbers):
    """The axis permutations (lhs, rhs, out) that string dimension numbers such as ('NHWC', 'HWIO',
    'NHWC') stand for; spatial axes are ordered as they appear in the kernel's string (as JAX)."""
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    charpairs = (("N", "C"), ("O", "I"), ("N", "C"))
    for i, (a, b) in enumerate(charpairs):
        spec = dimension_numbers[i]
        if not spec.count(a) == spec.count(b) == 1:
            raise TypeError(
                f"convolution dimension_numbers[{i}] must contain the characters '{a}' and '{b}' exactly once, "
                f"got {spec}."
            )
        if len(spec) != len(set(spec)):
            raise TypeError(f"convolution dimension_numbers[{i}] cannot have duplicate characters, got {spec}.")
    if not set(lhs_spec) - set("NC") == set(rhs_spec) - set("OI") == set(out_spec) - set("NC"):
        raise TypeError(
            f"convolution dimension_numbers elements must each have the same set of spatial characters, "
            f"got {dimension_numbers}."
        )

    def perm(spec, pair):
        spatial = sorted((i for i, c in enumerate(spec) if c not in pair), key=lambda i: rhs_spec.index(spec[i]))
        return (spec.index(pair[0]), spec.index(pair[1])) + tuple(spatial)

    return tuple(perm(s, p) for s, p in zip(dimension_numbers, charpairs))


def conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers):
    """`dimension_numbers` (None for NCHW/OIHW/NCHW-style defaults, a tuple of three strings such as
    ('NHWC', 'HWIO', 'NHWC'), or a ConvDimensionNumbers) as a ConvDimensionNumbers of permutations.

    >>> from fnad import lax
    >>> lax.conv_dimension_numbers((1, 5, 5, 3), (3, 3, 3, 8), ('NHWC', 'HWIO', 'NHWC'))
    ConvDimensionNumbers(lhs_spec=(0, 3, 1, 2), rhs_spec=(3, 2, 0, 1), out_spec=(0, 3, 1, 2))
    """
    if isinstance(dimension_numbers, ConvDimensionNumbers):
        return ConvDimensionNumbers(*(tuple(int(i) for i in spec) for spec in dimension_numbers))
    if len(lhs_shape) != len(rhs_shape):
        raise TypeError(
            f"convolution requires lhs and rhs ndim to be equal, got {len(lhs_shape)} and {len(rhs_shape)}."
        )
    if dimension_numbers is None:
        iota = tuple(range(len(lhs_shape)))
        return ConvDimensionNumbers(iota, iota, iota)
    if not isinstance(dimension_numbers, (list, tuple)) or len(dimension_numbers) != 3:
        raise TypeError(
            "convolution dimension_numbers must be None, a ConvDimensionNumbers or a tuple of three strings, "
            f"got {dimension_numbers!r}."
        )
    if not all(isinstance(s, str) for s in dimension_numbers):
        raise TypeError(f"convolution dimension_numbers elements must be strings, got {dimension_numbers!r}.")
    for i, spec in enumerate(dimension_numbers):
        if len(spec) != len(lhs_shape):
            raise TypeError(
                f"convolution dimension_numbers[{i}] must have len equal to the ndim of lhs and rhs, got {len(spec)} "
                f"for lhs and rhs shapes {tuple(lhs_shape)} and {tuple(rhs_shape)}."
            )
    return ConvDimensionNumbers(*conv_general_permutations(dimension_numbers))


def padtype_to_pads(in_shape, window_shape, window_strides, padding):
    """Explicit (lo, hi) pads for the padding names 'VALID', 'SAME' (the odd element after) and
    'SAME_LOWER' (before): 'SAME' gives ceil(n / stride) outputs per axis (as JAX's
    lax.padtype_to_pads)."""
    kind = padding.upper()
    if kind == "VALID":
        return tuple((0, 0) for _ in in_shape)
    if kind not in ("SAME", "SAME_LOWER"):
        raise ValueError(f"Unknown padding type: {padding!r} (expected 'VALID', 'SAME', 'SAME_LOWER' or pairs).")
    pads = []
    for n, k, s in zip(in_shape, window_shape, window_strides):
        total = max((-(-n // s) - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2) if kind == "SAME" else (total - total // 2, total // 2))
    return tuple(pads)


def _dilate(n, d):
    return 0 if n == 0 else 1 + d * (n - 1)


def _canonical(shape, perm):
    return tuple(shape[i] for i in perm)


def _out_spatial(in_spatial, k_spatial, window_strides, padding, lhs_dilation, rhs_dilation):
    out = []
    for n, k, s, (lo, hi), ld, rd in zip(in_spatial, k_spatial, window_strides, padding, lhs_dilation, rhs_dilation):
        padded, window = _dilate(n, ld) + lo + hi, _dilate(k, rd)
        if padded < 0:
            raise ValueError(
                f"conv_general_dilated: negative padding {(lo, hi)} is larger than the (dilated) input size {n}"
            )
        out.append(max(0, (padded - window) // s + 1) if padded >= window else 0)
    return tuple(out)


def _conv_eval(
    lhs,
    rhs,
    *,
    window_strides,
    padding,
    lhs_dilation,
    rhs_dilation,
    dimension_numbers,
    feature_group_count,
    batch_group_count,
    preferred_element_type,
):
    name = "conv_general_dilated"
    if lhs.dtype != rhs.dtype:
        raise TypeError(
            f"{name}: lhs and rhs must have the same dtype, got {lhs.dtype.name} and {rhs.dtype.name} "
            "(convert one with .astype)"
        )
    if lhs.ndim != rhs.ndim or lhs.ndim < 2:
        raise ShapeError(f"{name}: lhs and rhs must have the same rank >= 2, got shapes {lhs.shape} and {rhs.shape}")
    nsp = lhs.ndim - 2
    for what, v in [("window_strides", window_strides), ("padding", padding)]:
        if len(v) != nsp:
            raise ValueError(f"{name}: {what} {v} needs one entry per spatial axis ({nsp}) of lhs shape {lhs.shape}")
    for what, v in [("window_strides", window_strides), ("lhs_dilation", lhs_dilation), ("rhs_dilation", rhs_dilation)]:
        if len(v) != nsp or any(d < 1 for d in v):
            raise ValueError(f"{name}: {what} must be {nsp} positive integers, got {v}")
    fg, bg = feature_group_count, batch_group_count
    if fg < 1 or bg < 1:
        raise ValueError(f"{name}: feature_group_count and batch_group_count must be positive, got {fg} and {bg}")
    if fg > 1 and bg > 1:
        raise ValueError(f"{name}: at most one of batch_group_count ({bg}) and feature_group_count ({fg}) may be > 1")
    ls, rs = _canonical(lhs.shape, dimension_numbers.lhs_spec), _canonical(rhs.shape, dimension_numbers.rhs_spec)
    if ls[1] % fg or ls[1] // fg != rs[1]:
        raise ShapeError(
            f"{name}: the lhs feature size {ls[1]} divided by feature_group_count {fg} must equal the rhs input "
            f"feature size {rs[1]} (lhs shape {lhs.shape}, rhs shape {rhs.shape}, dimension_numbers "
            f"{tuple(dimension_numbers)})"
        )
    if rs[0] % fg or rs[0] % bg:
        raise ShapeError(
            f"{name}: the rhs output feature size {rs[0]} must be a multiple of feature_group_count {fg} and of "
            f"batch_group_count {bg}"
        )
    if ls[0] % bg:
        raise ShapeError(f"{name}: batch_group_count {bg} must divide the lhs batch size {ls[0]}")
    spatial = _out_spatial(ls[2:], rs[2:], window_strides, padding, lhs_dilation, rhs_dilation)
    out = (ls[0] // bg, rs[0]) + spatial
    shape = tuple(out[i] for i in np.argsort(dimension_numbers.out_spec))
    dtype = lhs.dtype if preferred_element_type is None else preferred_element_type
    return ShapedArray(shape, dtype, lhs.weak_type and rhs.weak_type and preferred_element_type is None)


def _conv_impl(lhs, rhs, **params):
    """The NumPy reference: per kernel position, a strided view of the padded, dilated input times
    that position's kernel matrix, summed (groups as einsum batch axes)."""
    lhs, rhs = np.asarray(lhs), np.asarray(rhs)
    out_aval = _conv_eval(ShapedArray(lhs.shape, lhs.dtype), ShapedArray(rhs.shape, rhs.dtype), **params)
    dn = params["dimension_numbers"]
    x = np.transpose(lhs, dn.lhs_spec).astype(out_aval.dtype)
    w = np.transpose(rhs, dn.rhs_spec).astype(out_aval.dtype)
    config = [(0, 0, 0)] * 2 + [(lo, hi, d - 1) for (lo, hi), d in zip(params["padding"], params["lhs_dilation"])]
    x = pad_p.impl(x, np.zeros((), x.dtype), config)
    bg, fg = params["batch_group_count"], params["feature_group_count"]
    (n, c), (o, _) = x.shape[:2], w.shape[:2]
    out_spatial = _canonical(out_aval.shape, dn.out_spec)[2:]
    x = x.reshape((bg, n // bg, fg, c // fg) + x.shape[2:])
    w = w.reshape((bg, fg, o // (bg * fg)) + w.shape[1:])
    out = np.zeros((n // bg, bg, fg, o // (bg * fg)) + out_spatial, out_aval.dtype)
    for k in itertools.product(*map(range, w.shape[4:])):
        window = tuple(
            builtins.slice(i * d, i * d + (m - 1) * s + 1, s) if m else builtins.slice(0, 0)
            for i, d, s, m in zip(k, params["rhs_dilation"], params["window_strides"], out_spatial)
        )
        out += np.einsum("bngc...,bgoc->nbgo...", x[(Ellipsis,) + window], w[(Ellipsis,) + k]).astype(out.dtype)
    out = out.reshape((n // bg, o) + out_spatial)
    return np.transpose(out, np.argsort(dn.out_spec))


def _patches(x, k_spatial, out_spatial, strides, dilation):
    """The patches of x (N, S..., C): (N, OS..., K, C), element [n, p, k, c] = x[n, p*stride + k*dilation, c]
    for output positions p and kernel positions k (flattened), made of one strided slice per kernel
    position, or per output position when there are fewer of those (a kernel gradient's "kernel" is
    the output cotangent: 1024 positions for a 32x32 image, against 9 outputs for a 3x3 kernel)."""
    n, c, nsp = get_aval(x).shape[0], get_aval(x).shape[-1], len(k_spatial)
    if math.prod(k_spatial) <= math.prod(out_spatial):
        views = []
        for k in itertools.product(*map(range, k_spatial)):
            start = [i * d for i, d in zip(k, dilation)]
            limit = [b + (m - 1) * s + 1 for b, m, s in zip(start, out_spatial, strides)]
            views.append(expand_dims(slice(x, [0, *start, 0], [n, *limit, c], [1, *strides, 1]), (nsp + 1,)))
        return concatenate(views, nsp + 1) if len(views) > 1 else views[0]
    views = []
    for p in itertools.product(*map(range, out_spatial)):
        start = [i * s for i, s in zip(p, strides)]
        limit = [b + (k - 1) * d + 1 for b, k, d in zip(start, k_spatial, dilation)]
        views.append(expand_dims(slice(x, [0, *start, 0], [n, *limit, c], [1, *dilation, 1]), (1,)))
    p = concatenate(views, 1) if len(views) > 1 else views[0]  # (N, P, KS..., C)
    return reshape(p, (n, *out_spatial, math.prod(k_spatial), c))


def _conv_im2col(lhs, rhs, **params):
    """The convolution from pad, strided slices and one dot_general (how jit compiles grouped and
    integer convolutions): channels-last patches (batch, out spatial..., kernel position, in feature)
    times the kernel as a matrix."""
    out_aval = _conv_eval(get_aval(lhs), get_aval(rhs), **params)
    dn, nsp = params["dimension_numbers"], get_aval(lhs).ndim - 2
    lhs, rhs = (convert_element_type(a, out_aval.dtype) for a in (lhs, rhs))
    x, w = _in_layout(lhs, rhs, channels_last(nsp), params)  # (N, S..., C) padded, (S..., I, O)
    (n, *_, c), (*k_spatial, _, o) = get_aval(x).shape, get_aval(w).shape
    out_spatial = _canonical(out_aval.shape, dn.out_spec)[2:]
    out_shape = (out_aval.shape[dn.out_spec[0]],) + out_spatial + (o,)
    positions = math.prod(k_spatial)
    if positions == 0 or 0 in out_shape:
        y = full(out_shape, 0, out_aval.dtype)
    else:
        p = _patches(x, k_spatial, out_spatial, params["window_strides"], params["rhs_dilation"])
        bg, fg = params["batch_group_count"], params["feature_group_count"]
        rows = math.prod(out_spatial) * n // bg
        if bg == fg == 1:
            y = dot_general(reshape(p, (rows, positions * c)), reshape(w, (positions * c, o)), (((1,), (0,)), ((), ())))
        else:  # groups as dot_general batch axes: N = bg * Nb, C = fg * Cg, O = bg * fg * Oq (group-major)
            p = reshape(p, (bg, rows, positions, fg, c // fg))
            w = reshape(w, (positions, c // fg, bg, fg, o // (bg * fg)))
            y = dot_general(p, w, (((2, 4), (0, 1)), ((0, 3), (2, 3))))  # (bg, fg, rows, Oq)
            y = transpose(y, (2, 0, 1, 3))
        y = reshape(y, out_shape)
    return [transpose(y, _into(channels_last(nsp).out_spec, dn.out_spec))]


def channels_last(nsp):
    """The dimension numbers of the canonical convolution the compiler lowers natively: input and
    output (N, spatial..., C), kernel (spatial..., I, O), i.e. ('NHWC', 'HWIO', 'NHWC') in 2-D."""
    data = (0, nsp + 1) + tuple(range(1, nsp + 1))
    return ConvDimensionNumbers(data, (nsp + 1, nsp) + tuple(range(nsp)), data)


def kernel_gradient(nsp):
    """The dimension numbers of the other canonical form, a channels-last kernel gradient: input
    (N, spatial..., C) and "kernel" (N, spatial..., O) (the output cotangent) contracted over N and
    their positions into (spatial..., C, O), i.e. ('CHWN', 'IHWO', 'HWNO') in 2-D."""
    data = (nsp + 1, 0) + tuple(range(1, nsp + 1))
    return ConvDimensionNumbers(data, data, (nsp, nsp + 1) + tuple(range(nsp)))


def _native(lhs_aval, params):
    """Whether jit lowers the convolution natively (ungrouped, float, one dtype), after `_canonical_form`."""
    dtype = lhs_aval.dtype
    return (
        params["feature_group_count"] == params["batch_group_count"] == 1
        and dtype in (np.float32, np.float64)
        and (params["preferred_element_type"] is None or params["preferred_element_type"] == dtype)
    )


def _into(src, dst):
    """The permutation taking an operand laid out as `src` (a spec) to the layout `dst`."""
    return tuple(src[dst.index(j)] for j in range(len(src)))


def _in_layout(lhs, rhs, layout, params):
    """lhs and rhs transposed from params' dimension numbers into `layout`, lhs padded by the
    padding and input dilation."""
    dn, nsp = params["dimension_numbers"], get_aval(lhs).ndim - 2
    x, w = transpose(lhs, _into(dn.lhs_spec, layout.lhs_spec)), transpose(rhs, _into(dn.rhs_spec, layout.rhs_spec))
    config = [(0, 0, 0)] * (nsp + 2)
    for i, ((lo, hi), d) in enumerate(zip(params["padding"], params["lhs_dilation"])):
        config[layout.lhs_spec[2 + i]] = (lo, hi, d - 1)
    return pad(x, 0, config), w


def _canonical_form(lhs, rhs, layout, **params):
    """The convolution as a canonical one in `layout` (channels_last or kernel_gradient): operands
    transposed to it, the padding and input dilation applied by `pad`, then a convolution with
    neither, and the output transposed back."""
    nsp = get_aval(lhs).ndim - 2
    canonical = {"padding": ((0, 0),) * nsp, "lhs_dilation": (1,) * nsp, "preferred_element_type": None}
    y = _bind(*_in_layout(lhs, rhs, layout, params), **{**params, **canonical, "dimension_numbers": layout})
    return [transpose(y, _into(layout.out_spec, params["dimension_numbers"].out_spec))]


def _decompose(lhs_aval, rhs_aval, **params):
    """How jit compiles a convolution: natively when canonical (None: kept as it is), as its
    canonical form when it can be: channels-last, or for kernels with more positions than the output
    (a kernel gradient, whose "kernel" is the output cotangent) the kernel-gradient form, which the
    compiler computes as per-image products accumulated; else (groups, integers, a preferred type)
    as im2col + dot_general."""
    if not _native(lhs_aval, params):
        return decomposition(_conv_im2col)(lhs_aval, rhs_aval, **params)
    dn, nsp = params["dimension_numbers"], lhs_aval.ndim - 2
    out_aval = _conv_eval(lhs_aval, rhs_aval, **params)
    kernel_positions = math.prod(_canonical(rhs_aval.shape, dn.rhs_spec)[2:])
    if kernel_positions > math.prod(_canonical(out_aval.shape, dn.out_spec)[2:]):
        layout = kernel_gradient(nsp)
    else:
        layout = channels_last(nsp)
    if (
        dn == layout
        and all(p == (0, 0) for p in params["padding"])
        and all(d == 1 for d in params["lhs_dilation"])
        and params["preferred_element_type"] is None
    ):
        return None
    return decomposition(functools.partial(_canonical_form, layout=layout))(lhs_aval, rhs_aval, **params)


conv_general_dilated_p = Primitive("conv_general_dilated")


def _bind(lhs, rhs, **params):
    return conv_general_dilated_p.bind(lhs, rhs, **params)


def _aval(x):
    return x.aval if is_undefined(x) else get_aval(x)


def _reshape_axis_into(src, dst, x):
    """x with axis `src` merged into axis `dst` (numbered after removing src) as its major part."""
    shape = get_aval(x).shape
    perm = [i for i in range(len(shape)) if i != src]
    perm.insert(dst, src)
    new = [shape[i] for i in range(len(shape)) if i != src]
    new[dst] *= shape[src]
    return reshape(transpose(x, perm), tuple(new))


def _reshape_axis_out_of(src, size, x):
    """x with axis `src` split into (size, rest)."""
    shape = list(get_aval(x).shape)
    shape[src : src + 1] = [size, shape[src] // size]
    return reshape(x, tuple(shape))


def _spec_transpose(spec):
    return (spec[1], spec[0]) + tuple(spec[2:])


def _vjp_lhs_padding(in_spatial, k_spatial, window_strides, out_spatial, padding, lhs_dilation, rhs_dilation):
    pads = []
    for n, k, s, m, (lo, _), ld, rd in zip(
        in_spatial, k_spatial, window_strides, out_spatial, padding, lhs_dilation, rhs_dilation
    ):
        before = _dilate(k, rd) - lo - 1
        pads.append((before, _dilate(n, ld) + _dilate(k, rd) - 1 - _dilate(m, s) - before))
    return tuple(pads)


def _vjp_rhs_padding(in_spatial, k_spatial, window_strides, out_spatial, padding, lhs_dilation, rhs_dilation):
    pads = []
    for n, k, s, m, (lo, _), ld, rd in zip(
        in_spatial, k_spatial, window_strides, out_spatial, padding, lhs_dilation, rhs_dilation
    ):
        pads.append((lo, _dilate(m, s) - _dilate(n, ld) + _dilate(k, rd) - lo - 1))
    return tuple(pads)


def _conv_transpose_rule(ct, lhs, rhs, **params):
    """The cotangent of the undefined operand, by one convolution (JAX's transpose rules)."""
    dn = params["dimension_numbers"]
    lhs_aval, rhs_aval, ct_aval = _aval(lhs), _aval(rhs), get_aval(ct)
    lhs_sp = _canonical(lhs_aval.shape, dn.lhs_spec)[2:]
    rhs_sp = _canonical(rhs_aval.shape, dn.rhs_spec)[2:]
    out_sp = _canonical(ct_aval.shape, dn.out_spec)[2:]
    geometry = (params["window_strides"], out_sp, params["padding"], params["lhs_dilation"], params["rhs_dilation"])
    fg, bg = params["feature_group_count"], params["batch_group_count"]
    if is_undefined(lhs):
        lhs_spec, rhs_spec, out_spec = dn
        w = convert_element_type(rhs, ct_aval.dtype)
        groups = max(fg, bg)
        if groups > 1:  # move the group axis from the kernel's output features into its input features
            w = _reshape_axis_into(rhs_spec[0], rhs_spec[1], _reshape_axis_out_of(rhs_spec[0], groups, w))
        out = _bind(
            ct,
            rev(w, tuple(rhs_spec[2:])),
            window_strides=params["lhs_dilation"],
            padding=_vjp_lhs_padding(lhs_sp, rhs_sp, *geometry),
            lhs_dilation=params["window_strides"],
            rhs_dilation=params["rhs_dilation"],
            dimension_numbers=ConvDimensionNumbers(out_spec, _spec_transpose(rhs_spec), lhs_spec),
            feature_group_count=groups,
            batch_group_count=1,
            preferred_element_type=params["preferred_element_type"],
        )
        out = convert_element_type(out, lhs_aval.dtype)
        if bg > 1:
            out = _reshape_axis_into(lhs_spec[1], lhs_spec[0], _reshape_axis_out_of(lhs_spec[1], bg, out))
        return [out, None]
    x = convert_element_type(lhs, ct_aval.dtype)
    out = _bind(
        x,
        ct,
        window_strides=params["rhs_dilation"],
        padding=_vjp_rhs_padding(lhs_sp, rhs_sp, *geometry),
        lhs_dilation=params["lhs_dilation"],
        rhs_dilation=params["window_strides"],
        dimension_numbers=ConvDimensionNumbers(*map(_spec_transpose, (dn.lhs_spec, dn.out_spec, dn.rhs_spec))),
        feature_group_count=bg,
        batch_group_count=fg,
        preferred_element_type=params["preferred_element_type"],
    )
    return [None, convert_element_type(out, rhs_aval.dtype)]


def _conv_batch(vals, dims, **params):
    """Fold the mapped axis into the convolution (JAX's rule): into the batch when only the input is
    mapped, into the output features when only the kernel is, into feature (or batch) groups when both."""
    (lhs, rhs), (ldim, rdim) = vals, dims
    lhs_spec, rhs_spec, out_spec = params["dimension_numbers"]
    size = get_aval(lhs).shape[ldim] if ldim is not None else get_aval(rhs).shape[rdim]
    if size == 0:  # no groups of size 0: the (empty) result directly
        unbatched = [
            get_aval(v).update(shape=tuple(np.delete(get_aval(v).shape, d))) if d is not None else get_aval(v)
            for v, d in zip(vals, dims)
        ]
        out = _conv_eval(*unbatched, **params)
        return full((0,) + out.shape, 0, out.dtype), 0
    fg, bg = params["feature_group_count"], params["batch_group_count"]
    if ldim is not None and rdim is not None:
        size = get_aval(lhs).shape[ldim]
        if bg > 1:
            new_lhs, params = _reshape_axis_into(ldim, lhs_spec[0], lhs), {**params, "batch_group_count": bg * size}
        else:
            new_lhs, params = _reshape_axis_into(ldim, lhs_spec[1], lhs), {**params, "feature_group_count": fg * size}
        out = _bind(new_lhs, _reshape_axis_into(rdim, rhs_spec[0], rhs), **params)
        return _reshape_axis_out_of(out_spec[1], size, out), out_spec[1]
    if ldim is not None:
        size = get_aval(lhs).shape[ldim]
        if bg == 1:
            new_lhs = _reshape_axis_into(ldim, lhs_spec[0], lhs)
        else:  # keep the batch groups outermost: (groups, mapped, per-group batch)
            new_lhs = _reshape_axis_out_of(lhs_spec[0] + int(ldim <= lhs_spec[0]), bg, lhs)
            new_lhs = _reshape_axis_into(ldim + int(lhs_spec[0] < ldim), lhs_spec[0] + 1, new_lhs)
            new_lhs = _reshape_axis_into(lhs_spec[0], lhs_spec[0], new_lhs)
        out = _bind(new_lhs, rhs, **params)
        return _reshape_axis_out_of(out_spec[0], size, out), out_spec[0]
    size = get_aval(rhs).shape[rdim]
    if fg == bg == 1:
        out = _bind(lhs, _reshape_axis_into(rdim, rhs_spec[0], rhs), **params)
        return _reshape_axis_out_of(out_spec[1], size, out), out_spec[1]
    groups = max(fg, bg)  # groups outermost in the kernel's output features, then the mapped axis
    new_rhs = _reshape_axis_out_of(rhs_spec[0] + int(rdim <= rhs_spec[0]), groups, rhs)
    new_rhs = _reshape_axis_into(rdim + int(rhs_spec[0] < rdim), rhs_spec[0] + 1, new_rhs)
    new_rhs = _reshape_axis_into(rhs_spec[0], rhs_spec[0], new_rhs)
    out = _bind(lhs, new_rhs, **params)
    out = _reshape_axis_out_of(out_spec[1], groups, out)
    out = _reshape_axis_out_of(out_spec[1] + 1, size, out)
    return _reshape_axis_into(out_spec[1], out_spec[1] + 1, out), out_spec[1]


conv_general_dilated_p.impl = _conv_impl
conv_general_dilated_p.abstract_eval = _conv_eval
conv_general_dilated_p.transpose = _conv_transpose_rule
conv_general_dilated_p.batch = _conv_batch
conv_general_dilated_p.decompose = _decompose
defjvp(
    conv_general_dilated_p,
    lambda g, ans, lhs, rhs, **params: _bind(g, rhs, **params),
    lambda g, ans, lhs, rhs, **params: _bind(lhs, g, **params),
)


def conv_general_dilated(
    lhs,
    rhs,
    window_strides,
    padding,
    lhs_dilation=None,
    rhs_dilation=None,
    dimension_numbers=None,
    feature_group_count=1,
    batch_group_count=1,
    precision=None,
    preferred_element_type=None,
):
    """General n-dimensional convolution with strides, padding and dilation, as JAX's
    lax.conv_general_dilated (XLA's Conv; a cross-correlation: the kernel is not flipped).

    `padding` is 'VALID', 'SAME', 'SAME_LOWER' or one (lo, hi) pair per spatial axis; `lhs_dilation`
    dilates the input (a transposed convolution), `rhs_dilation` the kernel (atrous).
    `dimension_numbers` is None (('NCHW', 'OIHW', 'NCHW')-style), three strings such as
    ('NHWC', 'HWIO', 'NHWC'), or a ConvDimensionNumbers. `precision` is accepted and ignored (fnad
    computes in the operands' dtype, or `preferred_element_type`).

    >>> import numpy as np; from fnad import lax
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> lax.conv_general_dilated(x, np.ones((1, 1, 2, 2)), (2, 2), 'VALID')
    Array([[[[10., 18.],
             [42., 50.]]]], dtype=float64)
    >>> lax.conv_general_dilated(np.ones((2, 5, 5, 3)), np.ones((3, 3, 3, 8)), (1, 1), 'SAME',
    ...                          dimension_numbers=('NHWC', 'HWIO', 'NHWC')).shape
    (2, 5, 5, 8)
    """
    lhs_aval, rhs_aval = get_aval(lhs), get_aval(rhs)
    dn = conv_dimension_numbers(lhs_aval.shape, rhs_aval.shape, dimension_numbers)
    nsp = lhs_aval.ndim - 2
    lhs_dilation = (1,) * nsp if lhs_dilation is None else tuple(int(d) for d in lhs_dilation)
    rhs_dilation = (1,) * nsp if rhs_dilation is None else tuple(int(d) for d in rhs_dilation)
    window_strides = tuple(int(s) for s in window_strides)
    if isinstance(padding, str):
        if any(d != 1 for d in lhs_dilation):
            raise ValueError(
                "conv_general_dilated: string padding is not implemented for transposed convolution (lhs_dilation "
                f"{lhs_dilation}); give explicit (lo, hi) pairs or use lax.conv_transpose."
            )
        k_spatial = [_dilate(k, d) for k, d in zip(_canonical(rhs_aval.shape, dn.rhs_spec)[2:], rhs_dilation)]
        padding = padtype_to_pads(_canonical(lhs_aval.shape, dn.lhs_spec)[2:], k_spatial, window_strides, padding)
    else:
        try:
            padding = tuple((int(lo), int(hi)) for lo, hi in padding)
        except (TypeError, ValueError) as e:
            raise ValueError(
                f"padding argument to conv_general_dilated should be a string or a sequence of (low, high) pairs, "
                f"got {padding!r}"
            ) from e
    return _bind(
        lhs,
        rhs,
        window_strides=window_strides,
        padding=padding,
        lhs_dilation=lhs_dilation,
        rhs_dilation=rhs_dilation,
        dimension_numbers=dn,
        feature_group_count=int(feature_group_count),
        batch_group_count=int(batch_group_count),
        preferred_element_type=None if preferred_element_type is None else np.dtype(preferred_element_type),
    )


def conv(lhs, rhs, window_strides, padding, precision=None, preferred_element_type=None):
    """Convolution of an NCHW-style input with an OIHW-style kernel: conv_general_dilated without
    dilation (as JAX's lax.conv); `padding` is 'SAME', 'VALID' or (lo, hi) pairs.

    >>> import numpy as np; from fnad import lax
    >>> lax.conv(np.ones((1, 1, 3, 3)), np.ones((2, 1, 2, 2)), (1, 1), 'VALID')[0, 0]
    Array([[4., 4.],
           [4., 4.]], dtype=float64)
    """
    return conv_general_dilated(lhs, rhs, window_strides, padding, preferred_element_type=preferred_element_type)


def conv_with_general_padding(
    lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation, precision=None, preferred_element_type=None
):
    """conv_general_dilated in NCHW/OIHW layout with padding and both dilations (as JAX's
    lax.conv_with_general_padding).

    >>> import numpy as np; from fnad import lax
    >>> lax.conv_with_general_padding(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)), (1, 1), [(1, 1), (0, 0)],
    ...                               None, (2, 2)).shape
    (1, 1, 3, 1)
    """
    return conv_general_dilated(
        lhs,
        rhs,
        window_strides,
        padding,
        lhs_dilation=lhs_dilation,
        rhs_dilation=rhs_dilation,
        preferred_element_type=preferred_element_type,
    )


def _conv_transpose_padding(k, s, padding):
    if padding == "SAME":
        pad_len = k + s - 2
        before = k - 1 if s > k - 1 else -(-pad_len // 2)
    elif padding == "VALID":
        pad_len = k + s - 2 + max(k - s, 0)
        before = k - 1
    elif isinstance(padding, tuple):
        pads = tuple(k - p - 1 for p in padding)
        before, pad_len = pads[0], sum(pads)
    else:
        raise ValueError(f"conv_transpose: invalid padding mode {padding!r}")
    return before, pad_len - before


_TRANSPOSE_DEFAULTS = {
    2: ("NC", "IO", "NC"),
    3: ("NHC", "HIO", "NHC"),
    4: ("NHWC", "HWIO", "NHWC"),
    5: ("NHWDC", "HWDIO", "NHWDC"),
}


def conv_transpose(
    lhs,
    rhs,
    strides,
    padding,
    rhs_dilation=None,
    dimension_numbers=None,
    transpose_kernel=False,
    precision=None,
    preferred_element_type=None,
    use_consistent_padding=False,
):
    """The "transposed" (fractionally strided) convolution, as JAX's lax.conv_transpose: a convolution
    of the input dilated by `strides`. Layouts default to TensorFlow's (NHWC, HWIO). With
    `transpose_kernel=True` the kernel's spatial axes are flipped and its feature axes swapped (the
    gradient of a forward convolution, Keras' Conv2DTranspose). String padding, or pairs with
    `use_consistent_padding=True`, name the padding of the forward convolution.

    >>> import numpy as np; from fnad import lax
    >>> lax.conv_transpose(np.ones((1, 2, 2, 1)), np.ones((3, 3, 1, 1)), (2, 2), 'SAME')[0, :, :, 0]
    Array([[1., 1., 2., 1.],
           [1., 1., 2., 1.],
           [2., 2., 4., 2.],
           [1., 1., 2., 1.]], dtype=float64)
    """
    lhs_aval, rhs_aval = get_aval(lhs), get_aval(rhs)
    ndim = lhs_aval.ndim
    if ndim != rhs_aval.ndim or ndim < 2:
        raise ShapeError(f"conv_transpose: lhs and rhs must have one rank >= 2, got {lhs_aval.shape}, {rhs_aval.shape}")
    if dimension_numbers is None:
        if ndim not in _TRANSPOSE_DEFAULTS:
            raise ValueError("conv_transpose: no default dimension_numbers for more than 3 spatial axes")
        dimension_numbers = _TRANSPOSE_DEFAULTS[ndim]
    dn = conv_dimension_numbers(lhs_aval.shape, rhs_aval.shape, dimension_numbers)
    k_spatial = _canonical(rhs_aval.shape, dn.rhs_spec)[2:]
    rhs_dilation = (1,) * (ndim - 2) if rhs_dilation is None else tuple(rhs_dilation)
    if use_consistent_padding or (isinstance(padding, str) and padding in ("SAME", "VALID")):
        per_axis = [padding] * len(strides) if isinstance(padding, str) else [tuple(p) for p in padding]
        padding = tuple(
            _conv_transpose_padding(_dilate(k, d), s, p)
            for k, d, s, p in zip(k_spatial, rhs_dilation, strides, per_axis)
        )
    if transpose_kernel:
        rhs = rev(rhs, tuple(dn.rhs_spec[2:]))
        perm = list(range(ndim))
        perm[dn.rhs_spec[0]], perm[dn.rhs_spec[1]] = dn.rhs_spec[1], dn.rhs_spec[0]
        rhs = transpose(rhs, perm)
    return conv_general_dilated(
        lhs,
        rhs,
        (1,) * (ndim - 2),
        padding,
        strides,
        rhs_dilation,
        dn,
        preferred_element_type=preferred_element_type,
    )


conv_general_dilated_p.complex_parts = bilinear_parts(
    conv_general_dilated_p
)  # four real convolutions (fnad.passes.lower_complex)
