"""Processes: fnad.distributed, meshes and shard_map. One-process behaviour runs everywhere; the MPI
jobs (`mpiexec -n 2` and `-n 3` of tests/distributed_worker.py, on this machine) run when mpi4py and
mpiexec are installed (`pip install fnad[mpi]`) and are skipped otherwise. Every job is bounded in time."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import fnad
import fnad.numpy as fnp
from fnad import P, lax

WORKER = pathlib.Path(__file__).with_name("distributed_worker.py")
ROOT = WORKER.parents[1]


def _mpi_available():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return shutil.which("mpiexec") is not None


needs_mpi = pytest.mark.skipif(not _mpi_available(), reason="mpi4py and mpiexec are not installed (fnad[mpi])")


def run_job(n, scenario, timeout=180, **env):
    """Run the worker's `scenario` on n processes; returns the CompletedProcess."""
    environ = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]), **env)
    for name in ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"):
        environ.pop(name, None)  # this pytest process may itself run under mpiexec
    cmd = [shutil.which("mpiexec"), "-n", str(n), sys.executable, str(WORKER), scenario]
    return subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout, env=environ, cwd=ROOT)


def _all_ok(job, n):
    assert job.returncode == 0, job.stdout + job.stderr
    # (the processes' lines may interleave)
    assert sorted(re.findall(r"ok \d+ of \d+", job.stdout)) == [f"ok {p} of {n}" for p in range(n)], job.stdout


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("scenario", ["collectives", "derivatives", "replication_tracking"])
def test_collectives_and_derivatives_across_processes(scenario, n):
    _all_ok(run_job(n, scenario), n)


@needs_mpi
@pytest.mark.parametrize("scenario", ["data_parallel_step", "two_axes"])
def test_data_parallel_step_and_a_two_axis_mesh(scenario):
    _all_ok(run_job(2, scenario), 2)


@needs_mpi
def test_an_exception_on_one_process_ends_the_job_with_its_traceback():
    start = time.monotonic()
    job = run_job(2, "failure", timeout=60)
    assert time.monotonic() - start < 30
    assert job.returncode != 0
    assert "ValueError: boom on process 1" in job.stderr
    assert "process 1 of 2 failed" in job.stderr
    assert "process 0 was not stopped" not in job.stdout


@needs_mpi
def test_debug_mode_catches_mismatched_collectives_and_unreplicated_outputs():
    job = run_job(2, "debug_mismatch", FNAD_DEBUG_COLLECTIVES="1")
    _all_ok(job, 2)
    assert job.stdout.count("mismatch: ") == 2, job.stdout  # (one per process)
    assert "process 0: psum on float64[2]; process 1: psum on float64[3]" in job.stdout
    assert job.stdout.count("replicated: shard_map output 0 is said to be replicated") == 2


# ----------------------------------------------------------------------------------------------
# One process (no MPI needed)

MESH = fnad.make_mesh((1,), ("data",))


def test_one_process_without_mpi():
    fnad.distributed.initialize()  # not under mpiexec: nothing to do
    assert (fnad.process_index(), fnad.process_count()) == (0, 1)
    assert fnad.devices() == [fnad.devices()[0]] and fnad.devices()[0].process_index == 0
    assert MESH.shape == {"data": 1} and repr(P("data", None)) == "PartitionSpec('data', None)"


def test_shard_map_on_one_process_under_every_transform():
    f = fnad.shard_map(lambda x: lax.psum((x**2).sum(), "data"), mesh=MESH, in_specs=P("data"), out_specs=P())
    x = np.arange(4.0)
    assert float(f(x)) == 14.0 and float(fnad.jit(f)(x)) == 14.0
    np.testing.assert_allclose(fnad.grad(f)(x), 2 * x)
    np.testing.assert_allclose(fnad.jit(fnad.grad(f))(x), 2 * x)
    np.testing.assert_allclose(fnad.vmap(f)(np.stack([x, -x])), [14.0, 14.0])
    np.testing.assert_allclose(fnad.jvp(f, (x,), (np.ones(4),))[1], 12.0)
    np.testing.assert_allclose(fnad.hessian(f)(x), 2 * np.eye(4))


def test_shard_map_pytrees_closures_and_a_vmap_axis_around_it():
    w = np.array([1.0, 2.0])

    def loss(params, x):
        return lax.pmean(fnp.sum(params["w"] * x * w), "data")

    f = fnad.shard_map(loss, mesh=MESH, in_specs=({"w": P()}, P("data")), out_specs=P())
    np.testing.assert_allclose(fnad.grad(f)({"w": np.ones(2)}, np.array([3.0, 4.0]))["w"], [3.0, 8.0])
    # a vmap named axis inside the shard_map body
    g = fnad.vmap(
        fnad.shard_map(lambda x: lax.psum(x, ("i", "data")), mesh=MESH, in_specs=P(), out_specs=P()), axis_name="i"
    )
    np.testing.assert_allclose(g(np.array([1.0, 2.0])), [3.0, 3.0])


def test_shard_map_and_mesh_errors():
    with pytest.raises(ValueError, match="make a mesh of 2 devices, but there are 1"):
        fnad.make_mesh((2,), ("data",))
    with pytest.raises(ValueError, match="names 'model', not an axis of Mesh\\('data': 1\\)"):
        fnad.shard_map(lambda x: x, mesh=MESH, in_specs=P("model"), out_specs=P())(np.ones(2))
    with pytest.raises(ValueError, match="2 entries for a value of rank 1"):
        fnad.shard_map(lambda x: x, mesh=MESH, in_specs=P("data", None), out_specs=P())(np.ones(2))
    with pytest.raises(NameError, match="unbound axis name: 'model'.*\\['data'\\]"):
        fnad.shard_map(lambda x: lax.psum(x, "model"), mesh=MESH, in_specs=P(), out_specs=P())(np.ones(2))
    with pytest.raises(NameError, match="unbound axis name: 'data'"):
        lax.psum(np.ones(2), "data")  # outside the shard_map
    mesh2 = fnad.make_mesh((1, 1), ("data", "model"))
    with pytest.raises(NotImplementedError, match="manual over only some"):
        fnad.shard_map(lambda x: x, mesh=mesh2, in_specs=P(), out_specs=P(), axis_names={"data"})


def test_fnad_imports_and_runs_without_mpi4py():
    # mpi4py made unimportable: fnad works, initialize outside mpiexec is a no-op, and under a
    # process manager it says what to install.
    code = (
        "import sys; sys.modules['mpi4py'] = None\n"
        "import fnad, os\n"
        "fnad.distributed.initialize(); assert fnad.process_count() == 1\n"
        "os.environ['PMI_RANK'] = '0'\n"
        "try:\n    fnad.distributed.initialize()\nexcept RuntimeError as e:\n    print(e)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("PMI_RANK", None)
    out = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120, env=env
    )
    assert out.returncode == 0, out.stderr
    assert "mpi4py is not installed" in out.stdout and "fnad[mpi]" in out.stdout


def test_jit_of_shard_map_compiles_the_body_between_collectives():
    from fnad.spmd import _compiled_plan

    def f(w, x):  # the gradient of the loss averaged over the processes
        return fnad.grad(lambda w: lax.pmean(fnp.mean(fnp.tanh(x @ w) ** 2), "data"))(w)

    sharded = fnad.shard_map(f, mesh=MESH, in_specs=(P(), P("data")), out_specs=P())
    w, x = np.linspace(-1, 1, 12).reshape(4, 3), np.linspace(0, 1, 20).reshape(5, 4)
    np.testing.assert_allclose(fnad.jit(sharded)(w, x), sharded(w, x), rtol=1e-12)
    (eqn,) = fnad.make_jaxpr(sharded)(w, x).jaxpr.eqns
    # staged: native code up to the sum of the replicated w's cotangent, which runs through the process group
    assert eqn.params["compiled"]
    assert [step[0] for step in _compiled_plan(eqn.params["jaxpr"], MESH)] == ["native", "bind"]


@needs_mpi
def test_example_trains_data_parallel_to_the_accuracy_of_one_process():
    def accuracy(n):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
        cmd = [shutil.which("mpiexec"), "-n", str(n), sys.executable, "examples/train_mlp.py", "--distributed"]
        out = subprocess.run(
            [*cmd, "--epochs", "2"], check=False, capture_output=True, text=True, timeout=300, env=env, cwd=ROOT
        )
        assert out.returncode == 0, out.stdout + out.stderr
        assert out.stdout.count("test accuracy") == 1, out.stdout  # printed by process 0 only
        return float(re.search(r"test accuracy: ([0-9.]+)", out.stdout).group(1))

    one, two = accuracy(1), accuracy(2)
    assert one == two and one > 0.8
