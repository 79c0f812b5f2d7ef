"""One process of the MPI jobs that tests/test_distributed.py launches (`mpiexec -n N python
tests/distributed_worker.py SCENARIO`). Each process checks its own results against NumPy (every
process can compute the global reference from the deterministic data of all) and prints `ok`."""

from __future__ import annotations

import sys

import numpy as np

import fnad
import fnad.numpy as fnp
from fnad import P, lax

fnad.distributed.initialize()
me, n = fnad.process_index(), fnad.process_count()
mesh = fnad.make_mesh((n,), ("data",))


def block(p, shape=(3,)):
    """Process p's block of the global array (deterministic, so every process knows all blocks)."""
    return np.arange(np.prod(shape), dtype=np.float64).reshape(shape) * (p + 1) + p - 1.5


SPLIT = P("data")


def smap(f, in_specs=SPLIT, out_specs=SPLIT, check_vma=True):
    return fnad.shard_map(f, mesh=mesh, in_specs=in_specs, out_specs=out_specs, check_vma=check_vma)


def say(line):
    """One line to stdout in one write (the processes' outputs share mpiexec's stdout)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def close(a, b, what):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-12, err_msg=what)


def collectives(run):
    """Every collective, eagerly and under jit (run = identity or fnad.jit), against NumPy."""
    assert fnad.device_count() == len(fnad.devices()) == n and fnad.local_device_count() == 1
    assert fnad.local_devices() == [fnad.devices()[me]] and fnad.local_devices(process_index=0) == [fnad.devices()[0]]
    x, blocks = block(me), np.stack([block(p) for p in range(n)])
    close(run(smap(lambda x: lax.psum(x, "data"), out_specs=P()))(x), blocks.sum(0), "psum")
    close(run(smap(lambda x: lax.pmean(x, "data"), out_specs=P()))(x), blocks.mean(0), "pmean")
    close(run(smap(lambda x: lax.pmax(x, "data"), out_specs=P()))(x), blocks.max(0), "pmax")
    close(run(smap(lambda x: lax.pmin(x, "data"), out_specs=P()))(x), blocks.min(0), "pmin")
    # all_gather's result varies over the axis (as JAX's): a P() output needs check_vma=False
    close(run(smap(lambda x: lax.all_gather(x, "data"), out_specs=P(), check_vma=False))(x), blocks, "all_gather")
    tiled = smap(lambda x: lax.all_gather(x, "data", tiled=True), out_specs=P(), check_vma=False)
    close(run(tiled)(x), blocks.ravel(), "tiled")
    square = np.stack([block(p, (n, 2)) for p in range(n)])  # (process, n, 2)
    out = run(smap(lambda x: lax.psum_scatter(x, "data")))(square[me])
    close(out, square.sum(0)[me], "psum_scatter")
    out = run(smap(lambda x: lax.all_to_all(x, "data", 0, 0)))(square[me])
    close(out, square[:, me], "all_to_all")
    perm = [(p, (p + 1) % n) for p in range(n)]
    close(run(smap(lambda x: lax.ppermute(x, "data", perm)))(x), blocks[(me - 1) % n], "ppermute")
    out = run(smap(lambda x: x + lax.axis_index("data"), out_specs=P("data")))(x)
    close(out, x + me, "axis_index")


def native_plans():
    """Under jit, a body whose collectives all have a native form is one native program calling MPI;
    one with ppermute runs it through mpi4py between native segments."""
    from fnad.spmd import _compiled_plan

    def plan(f, x):
        (eqn,) = fnad.make_jaxpr(f)(x).jaxpr.eqns
        fnad.jit(f)(x)
        return [step[0] for step in _compiled_plan(eqn.params["jaxpr"], mesh)]

    x = block(me, (n, 2))
    every = smap(
        lambda x: (
            lax.psum(x, "data"),
            lax.pmax(x, "data"),
            lax.all_gather(x, "data", axis=1),
            lax.all_to_all(x, "data", 0, 1),
            lax.psum_scatter(x, "data"),
            x * lax.axis_index("data"),
        )
    )
    assert plan(every, x) == ["native"], plan(every, x)
    jitted = fnad.jit(every)
    for _ in range(2):
        for a, b in zip(jitted(x), every(x)):
            close(a, b, "native program against eager")
    # the whole jitted shard_map is that native program, called through jit's native entry
    assert jitted._fast, "jit(shard_map) with a native body has no native entry"
    shifted = smap(lambda x: lax.ppermute(x * 2.0, "data", [(0, 1)]) + 1.0)
    assert plan(shifted, x) == ["native", "bind", "native"], plan(shifted, x)
    # vmap and grad of a shard_map, under jit (native bodies) and eagerly
    f = smap(lambda x: lax.all_gather(x, "data", axis=1).sum(1) * lax.psum(x, "data"))
    xs = np.stack([x, 2 * x])
    close(fnad.jit(fnad.vmap(f))(xs), fnad.vmap(f)(xs), "jit(vmap(shard_map))")
    g = fnad.vmap(fnad.grad(lambda x: f(x).sum()))
    close(fnad.jit(g)(xs), g(xs), "jit(vmap(grad(shard_map)))")


def derivatives(run):
    """Gradients are those of the global function (as JAX's shard_map)."""
    x, blocks = block(me), np.stack([block(p) for p in range(n)])
    total = smap(lambda x: lax.psum((x**2).sum(), "data"), out_specs=P())
    close(run(total)(x), (blocks**2).sum(), "value")
    close(run(fnad.grad(total))(x), 2 * x, "grad of psum(sum(x**2)): 2 x_local")
    w = np.array([0.5, -1.0, 2.0])
    loss = smap(lambda w, x: lax.pmean(fnp.sum(fnp.sin(w * x)), "data"), in_specs=(P(), P("data")), out_specs=P())
    expected = np.mean([np.cos(w * b) * b for b in blocks], axis=0)
    close(run(fnad.grad(loss))(w, x), expected, "grad w.r.t. a replicated input sums over processes")
    gather = smap(lambda x: (lax.all_gather(x, "data") * np.arange(n)[:, None]).sum(), out_specs=P(), check_vma=False)
    close(run(fnad.grad(gather))(x), np.full(3, float(me)), "grad through all_gather: d/dx_p of sum_p p sum(x_p)")
    # each collective's derivative, as that of the global function L (c_p = p + 1 weighs process p)
    c = float(me + 1)
    weights = np.arange(1.0, n + 1)
    square = block(me, (n, 2))
    scatter = smap(lambda x: lax.psum(c * lax.psum_scatter(x, "data").sum(), "data"), out_specs=P())
    # L = sum_k c_k sum_p x_p[k]
    close(run(fnad.grad(scatter))(square), np.repeat(weights[:, None], 2, 1), "grad through psum_scatter")
    exchange = smap(lambda x: lax.psum(c * (lax.all_to_all(x, "data", 0, 0) ** 2).sum(), "data"), out_specs=P())
    # L = sum_k c_k sum_p x_p[k]**2
    close(run(fnad.grad(exchange))(square), 2 * weights[:, None] * square, "grad through all_to_all")
    shift = smap(
        lambda x: lax.psum(c * lax.ppermute(x, "data", [(p, (p + 1) % n) for p in range(n)]).sum(), "data"),
        out_specs=P(),
    )
    # L = sum_p c_{p+1} sum x_p
    close(run(fnad.grad(shift))(x), np.full(3, weights[(me + 1) % n]), "grad through ppermute")
    top = smap(lambda x: lax.pmax(x.sum(), "data"), out_specs=P())
    # L = max_p sum x_p: the gradient reaches the process holding it
    winner = int(np.argmax(blocks.sum(1)))
    close(run(fnad.grad(top))(x), np.full(3, float(me == winner)), "grad through pmax")
    # jvp and vmap of a shard_map
    t = np.ones(3)
    close(fnad.jvp(total, (x,), (t,))[1], 2 * blocks.sum(), "jvp")
    xs = np.stack([x, 2 * x])
    close(fnad.vmap(total)(xs), [(blocks**2).sum(), 4 * (blocks**2).sum()], "vmap of shard_map")


def data_parallel_step():
    """One SGD step of a small MLP with gradients averaged by pmean equals the full-batch step."""
    rng = np.random.default_rng(0)
    params = {"w1": rng.normal(size=(4, 8)), "b1": np.zeros(8), "w2": rng.normal(size=(8, 1))}
    xb, yb = rng.normal(size=(6 * n, 4)), rng.normal(size=(6 * n, 1))

    def loss(p, x, y):
        h = fnp.tanh(x @ p["w1"] + p["b1"])
        return fnp.mean((h @ p["w2"] - y) ** 2)

    def local_step(p, x, y):
        # the gradient of the global batch's loss (replicated p: reverse mode sums over processes)
        g = fnad.grad(lambda p: lax.pmean(loss(p, x, y), "data"))(p)
        return fnad.tree_util.tree_map(lambda a, b: a - 0.1 * b, p, g)

    def own_step(p, x, y):  # without replication tracking: each process's own gradient, averaged
        g = lax.pmean(fnad.grad(loss)(p, x, y), "data")
        return fnad.tree_util.tree_map(lambda a, b: a - 0.1 * b, p, g)

    mine = slice(6 * me, 6 * me + 6)
    full = fnad.tree_util.tree_map(lambda a, b: a - 0.1 * b, params, fnad.grad(loss)(params, xb, yb))
    for body, check in ((local_step, True), (own_step, False)):
        step = fnad.jit(smap(body, in_specs=(P(), P("data"), P("data")), out_specs=P(), check_vma=check))
        new = step(params, xb[mine], yb[mine])
        for k in params:
            close(new[k], full[k], f"data-parallel step ({body.__name__}), {k}")


def replication_tracking(run):
    """grad inside a shard_map body, with JAX's check_vma=True semantics. The expected values are
    those JAX 0.10.2 gives on a 2-device CPU mesh (XLA_FLAGS=--xla_force_host_platform_device_count=2),
    written here for any number of processes."""
    x, blocks = block(me), np.stack([block(p) for p in range(n)])
    w = np.array([0.5, -1.0, 2.0])
    inner = lambda f, in_specs=SPLIT, out_specs=SPLIT: run(smap(f, in_specs, out_specs))
    # psum of a varying value: its transpose hands each process the cotangent itself
    g = inner(lambda x: fnad.grad(lambda x: lax.psum((x**2).sum(), "data"))(x))(x)
    close(g, 2 * x, "grad inside of psum(sum x^2): 2 x")
    g = inner(lambda x: fnad.grad(lambda x: lax.pmean((x**2).sum(), "data"))(x))(x)
    close(g, 2 * x / n, "grad inside of pmean(sum x^2): 2 x / n")
    # a replicated value meeting varying ones: its cotangent summed over the processes
    g = inner(lambda w, x: fnad.grad(lambda w: lax.psum((w * x).sum(), "data"))(w), (P(), SPLIT), P())(w, x)
    close(g, blocks.sum(0), "grad inside w.r.t. a replicated w")
    g = inner(lambda w, x: lax.pmean(fnad.grad(lambda w: ((w * x) ** 2).sum())(w), "data"), (P(), SPLIT), P())(w, x)
    close(g, (2 * w * blocks**2).sum(0), "pmean of a replicated w's gradient: the sum of the processes'")
    # psum of a replicated value is n times it
    g = inner(lambda w: fnad.grad(lambda w: lax.psum((w**2).sum(), "data"))(w), P(), P())(w)
    close(g, 2 * n * w, "grad inside of psum(sum w^2) of a replicated w")
    g = inner(lambda x: fnad.grad(lambda x: (lax.axis_index("data") * x).sum())(x))(x)
    close(g, np.full(3, float(me)), "axis_index")
    # all_gather varies: its transpose sums the processes' cotangents
    g = inner(lambda x: fnad.grad(lambda x: (lax.all_gather(x, "data") ** 2).sum())(x))(x)
    close(g, 2 * n * x, "grad inside through all_gather")
    # a loop carrying a replicated value made varying must start varying (lax.pvary)
    try:
        inner(lambda x: lax.fori_loop(0, 3, lambda i, c: c + x.sum(), 0.0))(x)
        raise AssertionError("a carry made varying was accepted")
    except TypeError as e:
        assert "pvary" in str(e), e
    loop = inner(lambda x: lax.fori_loop(0, 3, lambda i, c: c + x.sum(), lax.pvary(0.0, "data")) * fnp.ones(1))
    close(loop(x), [3 * x.sum()], "a pvary'd carry")
    g = inner(
        lambda w, x: fnad.grad(lambda w: lax.psum(lax.fori_loop(0, 2, lambda i, c: c * w, x).sum(), "data"))(w),
        (P(), SPLIT),
        P(),
    )
    close(g(w, x), (2 * w * blocks).sum(0), "grad inside through a loop w.r.t. a replicated w")
    try:
        smap(lambda x: x * 2.0, out_specs=P())(x)
        raise AssertionError("a varying output with P() was accepted")
    except ValueError as e:
        assert "varies over the mesh axes ['data']" in str(e), e


def failure():
    if me == 1:
        raise ValueError("boom on process 1")
    smap(lambda x: lax.psum(x, "data"), out_specs=P())(block(me))  # waits for process 1
    say("process 0 was not stopped")


def debug_mismatch():
    try:
        smap(lambda x: lax.psum(x, "data"), out_specs=P())(np.ones(2 + me))
    except fnad.distributed.CollectiveMismatchError as e:
        say(f"mismatch: {e}")
    try:
        smap(lambda x: x * 1.0, out_specs=P(), check_vma=False)(block(me))
    except fnad.distributed.CollectiveMismatchError as e:
        say(f"replicated: {e}")


def two_axes():
    """A 2-D mesh (1, n): collectives over one axis and over both."""
    mesh2 = fnad.make_mesh((1, n), ("a", "b"))
    blocks = np.stack([block(p) for p in range(n)])
    for axes in ("b", ("a", "b")):
        f = fnad.shard_map(lambda x: lax.psum(x, axes), mesh=mesh2, in_specs=P("b"), out_specs=P())
        close(f(block(me)), blocks.sum(0), f"psum over {axes}")
    f = fnad.shard_map(lambda x: lax.psum(x, "a"), mesh=mesh2, in_specs=P("b"), out_specs=P("b"))
    close(f(block(me)), block(me), "psum over an axis of size 1")


SCENARIOS = {
    "collectives": lambda: (collectives(lambda f: f), collectives(fnad.jit), native_plans()),
    "derivatives": lambda: (derivatives(lambda f: f), derivatives(fnad.jit)),
    "data_parallel_step": data_parallel_step,
    "replication_tracking": lambda: (replication_tracking(lambda f: f), replication_tracking(fnad.jit)),
    "failure": failure,
    "debug_mismatch": debug_mismatch,
    "two_axes": two_axes,
}

if __name__ == "__main__":
    SCENARIOS[sys.argv[1]]()
    say(f"ok {me} of {n}")
