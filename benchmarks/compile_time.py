"""Compile time on programs people differentiate, fnad against JAX, each measurement in a fresh
process with no compiled program on disk (JAX keeps no persistent cache by default). fnad's disk
cache holds only its runtime libraries, which do not depend on the program and are built once per
machine and fnad version (`fnad_compiler.prebuild`, as jaxlib ships XLA's runtime compiled); the
table says how long building them took:

- `chain-grad N`, `chain-jacfwd N`: `jit(grad(f))` and `jit(jacfwd(f))` of a chain of N mixed ops on a
  (32, 16) float64 array (elementwise, a row mean with a broadcast, a 16x16 matmul every sixth op);
- `gmm-SIZE`: `jit(grad(f))` of a Gaussian-mixture log-likelihood with a Wishart prior (batched
  matrix products, logsumexp over components, a gather building the triangular factors), at three
  sizes, first call and steady state;
- `hand-SIZE`: `jit(jacfwd(f))` of a hand-tracking residual (a skinned 22-bone hand posed by 26
  parameters, ADBench's hand objective in our own words) at 100, 1000 and 10000 correspondences.

A cell's process prints, as JSON: the seconds of the first call (trace, compile and run), the median
of later calls (for fnad, once its quick code has been replaced by fully optimised code: see
`fnad_compiler.tiers`), and for fnad the split of the first call into the phases of `fnad.timing`.

    python -m benchmarks.compile_time [--quick]          # the table
    python -m benchmarks.compile_time --one fnad chain-grad 100
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from benchmarks.harness import byte_compile_fnad

CHAIN_SIZES = (10, 100, 1000, 3000)
GMM_SIZES = {"small": (1000, 2, 5), "medium": (1000, 10, 25), "large": (2000, 20, 50)}  # n, d, k


def chain(xp, n):
    w = np.random.default_rng(0).normal(size=(16, 16)) / 4

    def f(x):
        for k in range(n):
            r = k % 6
            if r == 0:
                x = x @ w
            elif r == 1:
                x = xp.tanh(x)
            elif r == 2:
                x = x - xp.mean(x, axis=1, keepdims=True)
            elif r == 3:
                x = xp.sin(x) * 0.9
            elif r == 4:
                x = x * x * 0.1 + x
            else:
                x = xp.exp(-x * x)
        return xp.sum(x)

    return f, (np.random.default_rng(1).normal(size=(32, 16)),)


def gmm(xp, n, d, k):
    """ADBench's GMM objective in NumPy style; its inputs, as ADBench draws them."""
    rng = np.random.default_rng(2)
    alphas, means = rng.normal(size=k), rng.normal(size=(k, d))
    icf = rng.normal(size=(k, d + d * (d - 1) // 2)) * 0.1
    x = rng.normal(size=(n, d))
    gamma, m = 1.0, 0
    # L[k] = strict lower triangle filled row by row from icf[k, d:], by a gather from [0, icf[k, d:]].
    tril = np.zeros((d, d), np.int32)
    rows, cols = np.tril_indices(d, -1)
    order = np.argsort(cols * d + rows, kind="stable")  # ADBench fills L column by column
    tril[rows[order], cols[order]] = np.arange(1, len(rows) + 1)

    def logsumexp(z, axis):
        mx = xp.max(z, axis=axis, keepdims=True)
        return xp.log(xp.sum(xp.exp(z - mx), axis=axis)) + xp.squeeze(mx, axis)

    def objective(alphas, means, icf):
        qdiag = xp.exp(icf[:, :d])
        sum_qs = xp.sum(icf[:, :d], axis=1)
        padded = xp.concatenate([xp.zeros((k, 1)), icf[:, d:]], axis=1)
        ls = padded[:, tril]  # (k, d, d)
        centered = x[:, None, :] - means[None, :, :]  # (n, k, d)
        lx = qdiag[None] * centered + xp.einsum("kij,nkj->nki", ls, centered)
        inner = alphas[None] + sum_qs[None] - 0.5 * xp.sum(lx * lx, axis=2)
        slse = xp.sum(logsumexp(inner, 1))
        const = -n * d * 0.5 * np.log(2 * np.pi)
        prior = 0.5 * gamma * gamma * (xp.sum(qdiag * qdiag) + xp.sum(icf[:, d:] ** 2)) - m * xp.sum(sum_qs)
        return const + slse - n * logsumexp(alphas, 0) + prior

    return objective, (alphas, means, icf)


HAND_SIZES = {"small": 100, "medium": 1000, "large": 10000}  # correspondences (544 vertices, 22 bones)
_FINGERS, _BONES_PER_FINGER = 5, 4


def hand(xp, npoints, nverts=544):
    """ADBench's hand-tracking residual in NumPy style (our own version): a skinned hand model of
    22 bones (wrist, palm, 5 fingers of 4 bones) posed by 26 parameters (global rotation and
    translation, then per finger a 2-angle base joint and two 1-angle joints), and the residual
    between observed points and their corresponding posed vertices. The Jacobian by `jacfwd` is
    the workload; the skeleton, skin and correspondences are drawn at random."""
    rng = np.random.default_rng(3)
    nbones = 2 + _FINGERS * _BONES_PER_FINGER
    parents = [-1, 0] + [1 if j == 0 else 2 + f * _BONES_PER_FINGER + j - 1 for f in range(_FINGERS) for j in range(4)]

    def random_rotations(n):
        q = rng.normal(size=(n, 4))
        w, x, y, z = (q / np.linalg.norm(q, axis=1, keepdims=True)).T
        return np.stack(
            [
                [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
            ]
        ).transpose(2, 0, 1)

    base_rot, base_shift = random_rotations(nbones), rng.normal(size=(nbones, 3)) * 0.3
    inverse_rot, inverse_shift = random_rotations(nbones), rng.normal(size=(nbones, 3)) * 0.3
    positions = rng.normal(size=(nverts, 3))
    weights = rng.random(size=(nverts, nbones)) ** 4
    weights /= weights.sum(axis=1, keepdims=True)
    correspondences = rng.integers(0, nverts, size=npoints)
    points = rng.normal(size=(npoints, 3))
    # Euler angles (x, y, z) of every bone as positions in [0, theta]: 0 is a zero angle.
    angle_of = np.zeros((nbones, 3), np.int32)
    for f in range(_FINGERS):
        first = 2 + f * _BONES_PER_FINGER
        angle_of[first, :2] = [7 + 4 * f, 8 + 4 * f]
        angle_of[first + 1, 0], angle_of[first + 2, 0] = 9 + 4 * f, 10 + 4 * f

    def rotations(angles):  # (n, 3) Euler angles -> (n, 3, 3), Rz @ Ry @ Rx
        cx, cy, cz = (xp.cos(angles[:, i]) for i in range(3))
        sx, sy, sz = (xp.sin(angles[:, i]) for i in range(3))
        rows = [
            [cz * cy, cz * sy * sx - sz * cx, cz * sy * cx + sz * sx],
            [sz * cy, sz * sy * sx + cz * cx, sz * sy * cx - cz * sx],
            [-sy, cy * sx, cy * cx],
        ]
        return xp.stack([xp.stack(r, axis=-1) for r in rows], axis=-2)

    def residual(theta):
        angles = xp.concatenate([xp.zeros(1), theta])[angle_of]
        rel_rot = xp.einsum("bij,bjk->bik", base_rot, rotations(angles))
        abs_rot, abs_shift = [rel_rot[0]], [base_shift[0]]
        for b in range(1, nbones):  # the kinematic chain, bone by bone
            p = parents[b]
            abs_rot.append(abs_rot[p] @ rel_rot[b])
            abs_shift.append(abs_rot[p] @ base_shift[b] + abs_shift[p])
        abs_rot, abs_shift = xp.stack(abs_rot), xp.stack(abs_shift)
        skin_rot = xp.einsum("bij,bjk->bik", abs_rot, inverse_rot)
        skin_shift = xp.einsum("bij,bj->bi", abs_rot, inverse_shift) + abs_shift
        per_bone = xp.einsum("bij,vj->bvi", skin_rot, positions) + skin_shift[:, None, :]
        skinned = xp.einsum("vb,bvi->vi", weights, per_bone)
        aa = theta[:3]  # global rotation, angle-axis (Rodrigues)
        angle = xp.sqrt(xp.sum(aa * aa))
        k = aa / angle
        cross = xp.stack(
            [
                xp.stack([0.0 * k[0], -k[2], k[1]]),
                xp.stack([k[2], 0.0 * k[0], -k[0]]),
                xp.stack([-k[1], k[0], 0.0 * k[0]]),
            ]
        )
        glob = xp.eye(3) * xp.cos(angle) + xp.sin(angle) * cross + (1 - xp.cos(angle)) * k[:, None] * k[None, :]
        posed = skinned @ glob.T + theta[3:6]
        return xp.reshape(points - posed[correspondences], (-1,))

    return residual, (rng.normal(size=6 + 4 * _FINGERS) * 0.5,)


def _workload(name, size):
    if name.startswith("chain"):
        return chain, (int(size),), "jacfwd" if name == "chain-jacfwd" else "grad"
    if name == "hand":
        return hand, (HAND_SIZES[size],), "jacfwd"
    return gmm, GMM_SIZES[size], "grad"


def one(framework, name, size, repeats=20):
    """Run one cell in this (fresh) process; returns the dict printed as JSON."""
    start = time.perf_counter()
    if framework == "fnad":
        import fnad as fw
        import fnad.numpy as xp
        from fnad import timing
    else:
        import jax as fw
        import jax.numpy as xp

        fw.config.update("jax_enable_x64", True)
    make, params, mode = _workload(name, size)
    f, args = make(xp, *params)
    transform = fw.jacfwd if mode == "jacfwd" else fw.grad
    g = fw.jit(transform(f, argnums=tuple(range(len(args)))) if len(args) > 1 else transform(f))
    imported = time.perf_counter()
    block = (lambda r: fw.block_until_ready(r)) if framework == "jax" else (lambda r: r)
    t0 = time.perf_counter()
    block(g(*args))
    first = time.perf_counter() - t0
    phases = timing.phases() if framework == "fnad" else None
    if framework == "fnad":  # the steady state: after the quick units' promotion (fnad_compiler.tiers)
        from fnad_compiler import tiers

        for _ in range(tiers.PROMOTE_AFTER):
            g(*args)
        tiers.settle()
    later = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        block(g(*args))
        later.append(time.perf_counter() - t0)
    result = {"first": first, "next": float(np.median(later)), "import": imported - start}
    if framework == "fnad":
        result["phases"] = phases
    return result


def runtime_cache():
    """(A disk cache directory holding only fnad's runtime libraries, seconds building them took)."""
    directory = tempfile.mkdtemp(prefix="fnad-runtime-")
    out = _run([sys.executable, "-c", "from fnad_compiler import prebuild; print(prebuild.prebuild())"], directory)
    return directory, float(out.strip().splitlines()[-1])


def run_cell(framework, name, size, runtime=None):
    """`one` in a fresh process, on a fresh copy of the disk cache directory `runtime` (or an empty one)."""
    directory = tempfile.mkdtemp(prefix="fnad-compile-time-")
    if runtime is not None:
        shutil.copytree(runtime, directory, dirs_exist_ok=True)
    try:
        out = _run([sys.executable, "-m", "benchmarks.compile_time", "--one", framework, name, str(size)], directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return json.loads(out.strip().splitlines()[-1])


def _run(command, cache_directory):
    env = dict(os.environ, FNAD_CACHE_DIR=cache_directory)
    return subprocess.run(
        command,
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    ).stdout


def _fmt(seconds):
    return (
        f"{seconds:.2f} s"
        if seconds >= 0.1
        else f"{seconds * 1e3:.2f} ms"
        if seconds >= 1e-4
        else f"{seconds * 1e6:.1f} us"
    )


def cells(quick=False):
    sizes = CHAIN_SIZES[:2] if quick else CHAIN_SIZES
    yield from (("chain-grad", n) for n in sizes)
    yield from (("chain-jacfwd", n) for n in sizes)
    yield from (("gmm", s) for s in (["small"] if quick else GMM_SIZES))
    yield from (("hand", s) for s in (["small"] if quick else HAND_SIZES))


def table(quick=False, have_jax=True):
    """Print the markdown table and each fnad first call's split into phases."""
    print("| workload | fnad first call | JAX first call | ratio | fnad next call | JAX next call | ratio |")
    print("|---|---|---|---|---|---|---|")
    profiles = []
    byte_compile_fnad()
    runtime, runtime_seconds = runtime_cache()
    for name, size in cells(quick):
        mine = run_cell("fnad", name, size, runtime)
        theirs = run_cell("jax", name, size) if have_jax else None
        row = [f"{name} {size}", _fmt(mine["first"])]
        row += [_fmt(theirs["first"]), f"{mine['first'] / theirs['first']:.2f}x"] if theirs else ["-", "-"]
        row.append(_fmt(mine["next"]))
        row += [_fmt(theirs["next"]), f"{mine['next'] / theirs['next']:.2f}x"] if theirs else ["-", "-"]
        print("| " + " | ".join(row) + " |", flush=True)
        profiles.append((f"{name} {size}", mine))
    shutil.rmtree(runtime, ignore_errors=True)
    print(f"\nfnad's runtime libraries, built once per machine before these cells: {_fmt(runtime_seconds)}.")
    print("\nfnad's first calls by phase (fnad.timing; the rest is dispatch, checks and the run itself):")
    for label, mine in profiles:
        split = ", ".join(f"{k} {_fmt(v)}" for k, v in mine["phases"].items())
        print(f"- {label} ({_fmt(mine['first'])}): {split}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--one", nargs=3, metavar=("FRAMEWORK", "WORKLOAD", "SIZE"), help="run one cell, print JSON")
    ap.add_argument("--quick", action="store_true", help="the two smallest chains and the small GMM only")
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(one(*args.one)))
        return
    import importlib.util

    table(args.quick, importlib.util.find_spec("jax") is not None)


if __name__ == "__main__":
    main()
