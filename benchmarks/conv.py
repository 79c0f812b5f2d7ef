"""Convolution workloads (issue 15): a 3x3 convolution's forward and full backward (input and filter
gradients), batch 64, 32 -> 64 channels, 32x32, float32, and the train step of examples/train_cnn.py.
fnad and JAX run NHWC/HWIO (flax's layout), PyTorch NCHW/OIHW (its own), on fnad's thread count."""

from __future__ import annotations

import importlib.util
import os
import sys

import numpy as np

import fnad
from fnad import lax

from .workloads import HAVE_JAX, HAVE_TORCH, Workload, _check, _jax

DN = ("NHWC", "HWIO", "NHWC")


def _torch():
    import torch

    from fnad_compiler import parallel

    torch.set_num_threads(parallel.get_num_threads())  # the same thread count as fnad's pool
    return torch


def _data(batch=64, size=32, c_in=32, c_out=64):
    rng = np.random.default_rng(15)
    x = rng.standard_normal((batch, size, size, c_in)).astype(np.float32)
    w = (rng.standard_normal((3, 3, c_in, c_out)) / np.sqrt(9 * c_in)).astype(np.float32)
    ct = rng.standard_normal((batch, size, size, c_out)).astype(np.float32)
    return x, w, ct


def _conv(lax_module, x, w):
    return lax_module.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=DN)


def conv_forward():
    x, w, _ = _data()
    f = fnad.jit(lambda x, w: _conv(lax, x, w))
    _check(f(x, w), _conv(lax, x, w), rtol=1e-4, atol=1e-4)  # against the eager NumPy reference
    wl = Workload("conv 3x3 forward, batch 64, 32->64 ch, 32x32 f32", "<= 1.0x PyTorch", {"fnad": lambda: f(x, w)})
    if HAVE_JAX:
        jax, jnp = _jax()
        jf = jax.jit(lambda x, w: _conv(jax.lax, x, w))
        xj, wj = jnp.asarray(x), jnp.asarray(w)
        _check(f(x, w), jf(xj, wj), rtol=1e-3, atol=1e-3)
        wl.contenders["jax"] = lambda: jf(xj, wj).block_until_ready()
    if HAVE_TORCH:
        torch = _torch()
        xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
        wt = torch.from_numpy(np.ascontiguousarray(w.transpose(3, 2, 0, 1)))
        tf = lambda: torch.nn.functional.conv2d(xt, wt, padding=1)
        _check(f(x, w), tf().numpy().transpose(0, 2, 3, 1), rtol=1e-3, atol=1e-3)
        wl.contenders["torch"] = tf
    return wl


def conv_backward():
    x, w, ct = _data()
    grads = lambda x, w, ct: fnad.vjp(lambda x, w: _conv(lax, x, w), x, w)[1](ct)
    f = fnad.jit(grads)
    dx, dw = f(x, w, ct)
    wl = Workload(
        "conv 3x3 backward (input + filter grads), same shapes", "<= 1.0x PyTorch", {"fnad": lambda: f(x, w, ct)}
    )
    if HAVE_JAX:
        jax, jnp = _jax()
        jf = jax.jit(lambda x, w, ct: jax.vjp(lambda x, w: _conv(jax.lax, x, w), x, w)[1](ct))
        xj, wj, cj = map(jnp.asarray, (x, w, ct))
        jdx, jdw = jf(xj, wj, cj)
        _check(dx, jdx, rtol=1e-3, atol=1e-3)
        _check(dw, jdw, rtol=1e-3, atol=2e-2)
        wl.contenders["jax"] = lambda: jax.block_until_ready(jf(xj, wj, cj))
    if HAVE_TORCH:
        torch = _torch()
        xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
        wt = torch.from_numpy(np.ascontiguousarray(w.transpose(3, 2, 0, 1)))
        ctt = torch.from_numpy(np.ascontiguousarray(ct.transpose(0, 3, 1, 2)))
        backward = lambda: torch.ops.aten.convolution_backward(
            ctt, xt, wt, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, [True, True, False]
        )[:2]
        tdx, tdw = backward()
        _check(dx, tdx.numpy().transpose(0, 2, 3, 1), rtol=1e-3, atol=1e-3)
        _check(dw, tdw.numpy().transpose(2, 3, 1, 0), rtol=1e-3, atol=2e-2)
        wl.contenders["torch"] = backward
    return wl


def _example():
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "train_cnn.py")
    sys.path.insert(0, os.path.dirname(path))
    spec = importlib.util.spec_from_file_location("_train_cnn", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cnn_train_step(batch=128, lr=0.05):
    """One SGD step of examples/train_cnn.py's network (its own loss, as a jit-compiled fnad step),
    written again for JAX and PyTorch."""
    cnn = _example()
    params = cnn.init_params(seed=0)
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(batch, 8, 8, 1)).astype(np.float32)
    labels = rng.integers(0, 10, batch).astype(np.int32)
    step = fnad.jit(
        lambda p, x, y: fnad.tree_util.tree_map(
            lambda a, g: a - lr * g, p, fnad.grad(lambda p: cnn.loss_and_accuracy(p, x, y)[0])(p)
        )
    )
    new = step(params, images, labels)
    wl = Workload(
        f"CNN train step (examples/train_cnn.py), batch {batch} f32",
        "<= 1.0x PyTorch, <= 0.75x JAX",
        {"fnad": lambda: step(params, images, labels)},
    )
    if HAVE_JAX:
        jax, jnp = _jax()

        def loss(p, x, y):
            for i in range(2):
                x = jax.lax.conv_general_dilated(x, p[f"conv{i}"], (1, 1), "SAME", dimension_numbers=DN)
                x = jax.nn.relu(x + p[f"bias{i}"])
                x = jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
            logits = x.reshape(x.shape[0], -1) @ p["dense"] + p["dense_bias"]
            return -jnp.mean(jnp.sum(jax.nn.one_hot(y, 10) * jax.nn.log_softmax(logits), axis=1))

        jstep = jax.jit(lambda p, x, y: jax.tree_util.tree_map(lambda a, g: a - lr * g, p, jax.grad(loss)(p, x, y)))
        pj = jax.tree_util.tree_map(jnp.asarray, params)
        xj, yj = jnp.asarray(images), jnp.asarray(labels)
        jnew = jstep(pj, xj, yj)
        for k in params:
            _check(new[k], jnew[k], rtol=1e-3, atol=1e-4)
        wl.contenders["jax"] = lambda: jax.block_until_ready(jstep(pj, xj, yj))
    if HAVE_TORCH:
        torch = _torch()
        F = torch.nn.functional
        tp = {
            k: torch.from_numpy(np.ascontiguousarray(v.transpose(3, 2, 0, 1) if k.startswith("conv") else v))
            for k, v in params.items()
        }
        for v in tp.values():
            v.requires_grad_()
        xt = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
        yt = torch.from_numpy(labels.astype(np.int64))

        def tstep():
            x = xt
            for i in range(2):
                x = F.max_pool2d(F.relu(F.conv2d(x, tp[f"conv{i}"], tp[f"bias{i}"], padding=1)), 2)
            # flatten in NHWC order, as the fnad model does
            logits = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1) @ tp["dense"] + tp["dense_bias"]
            grads = torch.autograd.grad(F.cross_entropy(logits, yt), list(tp.values()))
            with torch.no_grad():
                return {k: v - lr * g for (k, v), g in zip(tp.items(), grads)}

        tnew = tstep()
        _check(new["dense"], tnew["dense"].detach().numpy(), rtol=1e-3, atol=1e-4)
        _check(new["conv0"], tnew["conv0"].detach().numpy().transpose(2, 3, 1, 0), rtol=1e-3, atol=1e-4)
        wl.contenders["torch"] = tstep
    return wl
