"""shard_map: a function run SPMD by the processes of a mesh, each on its own block of the data, with
the collectives of `fnad.lax` over the mesh's axis names going between processes (through mpi4py).

`shard_map(f, ...)` traces `f` on the local blocks, with the mesh axes bound (`bind_axis_names`) so
that its collectives are staged, and binds the call primitive `shard_map` holding that IR. Its impl
runs the IR with the axes bound to the mesh's process groups (fnad/distributed.py), so each
collective calls MPI. Its rules transform the IR as a whole, like jit's: jvp gives a primal call and a
linear tangent call, vmap batches the body, and transposition makes the derivative that of the
global function the program denotes. With `check_vma` (the default, as JAX's), the body's values carry
the mesh axes they vary over (`ShapedArray.vma`: the blocks of `P('data')` arguments vary over 'data',
replicated values over nothing, psum's results are replicated again) and reverse mode, inside or
outside the body, sums a cotangent over the processes that used a replicated value
(`ad_util.cotangent_like`), while psum hands a varying input the cotangent itself. Without it, as
JAX's check_vma=False, the transpose rule shares the cotangent of a replicated output among the
processes and sums the cotangent of a replicated input over them. Either way `grad` of
`shard_map(lambda x: psum((x**2).sum(), 'data'), in_specs=P('data'), out_specs=P())` gives each
process 2 * its block.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .ad_util import Zero, tangent_aval, zero_cotangents
from .api_util import flatten_fun
from .core import Primitive, bind_axis_names, get_aval, is_staging
from .distributed import debug_collectives
from .ir import ClosedJaxpr, Eqn, Jaxpr, Literal, Var, axis_names_of, eval_closed
from .jit_dispatch import executable_for
from .native_collectives import communicates, native_body
from .primitives.calls import jit_p
from .primitives.collectives import psum
from .primitives.elementwise import div, scalar_like
from .sharding import Mesh, PartitionSpec
from .transforms.batching import move_bdim
from .transforms.jaxpr_rules import (
    batch_jaxpr,
    jaxpr_cache,
    jvp_jaxpr,
    partial_eval_jaxpr,
    trace_flat,
    transpose_jaxpr,
)
from .transforms.reverse import is_undefined
from .transforms.staging import trace_to_jaxpr
from .tree_util import tree_flatten, tree_leaves, tree_structure, tree_unflatten

shard_map_p = Primitive("shard_map", multiple_results=True)
shard_map_p.runs_in_python = True  # its collectives call MPI from Python (jit runs an IR holding it op by op)
# The collectives of the body over names other than the mesh's belong to an enclosing vmap.
shard_map_p.axis_names = lambda params: tuple(
    n for n in axis_names_of(params["jaxpr"]) if n not in params["mesh"].axis_names
)


def _mesh_axes(mesh, check_vma):
    """The mesh's axis names bound to this process's groups, for running or deriving a body (as axes
    values are typed as varying over, with `check_vma`)."""
    return bind_axis_names(mesh.groups(), "mesh" if check_vma else "env")


def _unmentioned(mesh, names):
    return tuple(n for n in mesh.axis_names if n not in names)


def _impl(*args, jaxpr, mesh, in_names, out_names, compiled, check_vma):
    with _mesh_axes(mesh, check_vma):
        outs = _run_compiled(jaxpr, mesh, args) if compiled else eval_closed(jaxpr, *args)
        if debug_collectives():
            groups = mesh.groups()
            for i, (o, names) in enumerate(zip(outs, out_names)):
                for axis in _unmentioned(mesh, names):
                    groups[axis].check_replicated(o, f"shard_map output {i}")
    return outs


shard_map_p.impl = _impl


def _compiled_plan(closed, mesh):
    """The body of a shard_map staged by jit, as steps run in order, made once per body IR (kept on
    it): under MPI, when every collective of the body has a native form, one native program calling
    MPI itself (`_native_body`); else each maximal run of equations that do not communicate compiled
    to native code, and each communicating equation run by its impl (MPI through mpi4py). A native
    step is `("native", executable, inputs, outputs, extra arguments)`, the other `("bind", eqn)`."""
    plan = closed.derived.get(_compiled_plan)
    if plan is not None:
        return plan
    native = native_body(closed, mesh.groups())
    if native is not None:
        body, handles = native
        plan = [("native", executable_for(body), closed.jaxpr.invars, closed.jaxpr.outvars, handles)]
        return closed.derived.setdefault(_compiled_plan, plan)
    jaxpr = closed.jaxpr
    last_use = {}
    for i, e in enumerate(jaxpr.eqns):
        for v in e.invars:
            if type(v) is Var:
                last_use[v] = i
    for v in jaxpr.outvars:
        if type(v) is Var:
            last_use[v] = len(jaxpr.eqns)
    plan, run = [], []

    def flush(end):
        if not run:
            return
        defined = {v for e in run for v in e.outvars}
        inputs = list(dict.fromkeys(v for e in run for v in e.invars if type(v) is Var and v not in defined))
        outputs = [v for e in run for v in e.outvars if last_use.get(v, -1) >= end]
        if outputs:
            exe = executable_for(ClosedJaxpr(Jaxpr([], inputs, run, outputs), []))
            plan.append(("native", exe, inputs, outputs, ()))
        run.clear()

    for i, e in enumerate(jaxpr.eqns):
        if communicates(e):
            flush(i)
            plan.append(("bind", e))
        else:
            run.append(e)
    flush(len(jaxpr.eqns))
    return closed.derived.setdefault(_compiled_plan, plan)


def _native_program(closed):
    """A jitted program that is one shard_map equation whose body has a native form (one program
    calling MPI itself): that body, with the MPI handles as constants of the program (in its constant
    table, not its code), so that jit compiles it and its native entry runs it with no Python."""
    (e,) = closed.jaxpr.eqns
    p = e.params
    if not p["compiled"]:
        return None
    with _mesh_axes(p["mesh"], p["check_vma"]):
        native = native_body(p["jaxpr"], p["mesh"].groups())
    if native is None:
        return None
    body, handles = native
    handles = [np.asarray(h) for h in handles]
    handle_vars = [Var(get_aval(h)) for h in handles]
    outer = closed.jaxpr
    call = Eqn(jit_p, list(e.invars) + handle_vars, list(e.outvars), {"jaxpr": body, "name": "shard_map"}, e.source)
    return ClosedJaxpr(
        Jaxpr(outer.constvars + handle_vars, outer.invars, [call], outer.outvars), closed.consts + handles
    )


shard_map_p.native_program = _native_program


def _run_compiled(closed, mesh, args):
    env = dict(zip(closed.jaxpr.constvars, closed.consts))
    env.update(zip(closed.jaxpr.invars, args))
    read = lambda a: env[a] if type(a) is not Literal else a.val
    for step in _compiled_plan(closed, mesh):
        if step[0] == "native":
            _, exe, inputs, outputs, extra = step
            env.update(zip(outputs, exe(*[np.asarray(read(v), v.aval.dtype) for v in inputs], *extra)))
        else:
            e = step[1]
            out = e.primitive.bind(*map(read, e.invars), **e.params)
            env.update(zip(e.outvars, out if e.primitive.multiple_results else [out]))
    return [read(v) for v in closed.jaxpr.outvars]


# Outside the body no value is typed as varying over mesh axes (the body's outputs are each process's).
shard_map_p.abstract_eval = lambda *avals, jaxpr, **params: [a.update(vma=()) for a in jaxpr.out_avals]


@jaxpr_cache
def _jvp_parts(closed, nonzeros, mesh, check_vma):
    """The jvp of the body split into a primal body (known) and a linear tangent body (unknown)."""
    with _mesh_axes(mesh, check_vma):
        jvp_closed, out_nz = jvp_jaxpr(closed, nonzeros)
    known, unknown, out_unknown, _ = partial_eval_jaxpr(
        jvp_closed, [False] * len(closed.in_avals) + [True] * sum(nonzeros)
    )
    return known, unknown, out_unknown, out_nz


def _jvp(primals, tangents, jaxpr, mesh, in_names, out_names, compiled, check_vma):
    nonzeros = tuple(type(t) is not Zero for t in tangents)
    known, unknown, out_unknown, out_nz = _jvp_parts(jaxpr, nonzeros, mesh, check_vma)
    n_out = len(jaxpr.out_avals)
    tangent_names = [names for names, nz in zip(out_names, out_nz) if nz]
    n_res = len(known.out_avals) - out_unknown.count(False)
    # Residuals are this process's own values: with replication tracked, they vary where their avals say.
    res_names = tuple(
        tuple(sorted(a.vma)) if check_vma else tuple(mesh.axis_names)
        for a in known.out_avals[len(known.out_avals) - n_res :]
    )
    known_outs = iter(
        shard_map_p.bind(
            *primals,
            jaxpr=known,
            mesh=mesh,
            compiled=compiled,
            check_vma=check_vma,
            in_names=in_names,
            out_names=tuple(n for n, u in zip(out_names + tuple(tangent_names), out_unknown) if not u) + res_names,
        )
    )
    outs = [None if u else next(known_outs) for u in out_unknown]
    residuals = list(known_outs)
    if any(out_unknown):
        lin_outs = iter(
            shard_map_p.bind(
                *residuals,
                *[t for t in tangents if type(t) is not Zero],
                jaxpr=unknown,
                mesh=mesh,
                compiled=compiled,
                check_vma=check_vma,
                in_names=res_names + tuple(n for n, nz in zip(in_names, nonzeros) if nz),
                out_names=tuple(n for n, u in zip(out_names + tuple(tangent_names), out_unknown) if u),
            )
        )
        outs = [next(lin_outs) if u else o for o, u in zip(outs, out_unknown)]
    t_iter = iter(outs[n_out:])
    tangent_out = [next(t_iter) if nz else Zero(tangent_aval(a)) for a, nz in zip(jaxpr.out_avals, out_nz)]
    return outs[:n_out], tangent_out


@jaxpr_cache
def _transpose_body(closed, linear, mesh, in_names, out_names, check_vma):
    """The transposed body. With replication tracked (`check_vma`), the transposition of the body's
    own IR: reverse mode sums each cotangent over the processes that used its value
    (`ad_util.cotangent_like`). Without it, output cotangents shared among the processes over which
    the output is replicated, the body transposed, input cotangents summed over the processes over
    which the input is replicated (the derivative of the global function)."""
    with _mesh_axes(mesh, check_vma):
        t_closed = transpose_jaxpr(closed, linear)
        if check_vma:
            return t_closed
        n_res = linear.count(False)
        sizes = mesh.shape

        def fun(*args):
            cts = [
                div(ct, scalar_like(ct, math.prod(sizes[a] for a in _unmentioned(mesh, names))))
                if _unmentioned(mesh, names)
                else ct
                for ct, names in zip(args[n_res:], out_names)
            ]
            in_cts = eval_closed(t_closed, *args[:n_res], *cts)
            lin_names = [names for names, lin in zip(in_names, linear) if lin]
            return [
                psum(ct, _unmentioned(mesh, names)) if _unmentioned(mesh, names) else ct
                for ct, names in zip(in_cts, lin_names)
            ]

        avals = [a for a, lin in zip(closed.in_avals, linear) if not lin] + [a.strip_weak() for a in closed.out_avals]
        return trace_to_jaxpr(fun, avals, "transpose_shard_map")


def _transpose(cts, *args, jaxpr, mesh, in_names, out_names, compiled, check_vma):
    linear = tuple(is_undefined(a) for a in args)
    cts = zero_cotangents(cts, jaxpr.out_avals)
    t_closed = _transpose_body(jaxpr, linear, mesh, in_names, out_names, check_vma)
    every_axis = tuple(mesh.axis_names)
    outs = iter(
        shard_map_p.bind(
            *[a for a, lin in zip(args, linear) if not lin],
            *cts,
            jaxpr=t_closed,
            mesh=mesh,
            compiled=compiled,
            check_vma=check_vma,
            in_names=(every_axis,) * linear.count(False) + out_names,
            out_names=tuple(n for n, lin in zip(in_names, linear) if lin),
        )
    )
    return [next(outs) if lin else None for lin in linear]


def _batch(vals, dims, jaxpr, mesh, in_names, out_names, compiled, check_vma, axis_size):
    vals = [v if d is None else move_bdim(v, d, 0, axis_size) for v, d in zip(vals, dims)]
    with _mesh_axes(mesh, check_vma):
        batched = batch_jaxpr(jaxpr, tuple(d is not None for d in dims), axis_size, True)[0]
    outs = shard_map_p.bind(
        *vals, jaxpr=batched, mesh=mesh, in_names=in_names, out_names=out_names, compiled=compiled, check_vma=check_vma
    )
    return outs, [0] * len(outs)


shard_map_p.jvp = _jvp
shard_map_p.transpose = _transpose
shard_map_p.batch = _batch
shard_map_p.batch_needs_size = True


# ----------------------------------------------------------------------------------------------
# The user-facing function


def _check_replicated_outputs(f, out_avals, out_names):
    """An output whose out_specs do not mention a mesh axis must be the same on every process along it:
    with replication tracked, its value must not vary over that axis (as JAX's check)."""
    for k, (aval, names) in enumerate(zip(out_avals, out_names)):
        varying = sorted(aval.vma - set(names))
        if varying:
            raise ValueError(
                f"shard_map of {getattr(f, '__name__', 'f')}: output {k} (flattened) varies over the mesh axes {varying}, but its "
                f"out_specs say it is the same on every process along them. Reduce it over them (lax.psum, "
                f"lax.pmean, lax.all_gather), mention them in out_specs (P({varying[0]!r})), or pass "
                "check_vma=False to skip the check (its derivatives then follow JAX's check_vma=False)."
            )


def _is_spec(x):
    return x is None or isinstance(x, PartitionSpec)


def _flat_names(specs, tree, mesh, what):
    """The mesh axes each leaf of `tree` is split over, from `specs` (a tree prefix of PartitionSpecs)."""
    spec_tree = tree_structure(specs, is_leaf=_is_spec)
    try:
        subtrees = spec_tree.flatten_up_to(tree)
    except ValueError as e:
        raise ValueError(f"shard_map {what} {specs!r} do not match the structure {tree_structure(tree)}: {e}") from None
    names = []
    for spec, sub in zip(tree_leaves(specs, is_leaf=_is_spec), subtrees):
        if not isinstance(spec, PartitionSpec):
            raise TypeError(f"shard_map {what} entries must be PartitionSpecs (fnad.P(...)), got {spec!r}")
        for name in spec.axis_names():
            if name not in mesh.axis_names:
                raise ValueError(f"shard_map {what}: {spec!r} names {name!r}, not an axis of {mesh!r}")
        for leaf in tree_leaves(sub):
            if len(spec) > get_aval(leaf).ndim:
                raise ValueError(
                    f"shard_map {what}: {spec!r} has {len(spec)} entries for a value of rank {get_aval(leaf).ndim}"
                )
            names.append(spec.axis_names())
    return names


def shard_map(f=None, /, mesh=None, in_specs=None, out_specs=None, *, check_vma=True, check_rep=None, axis_names=None):
    """Run `f` SPMD on every process of `mesh`, each on its own blocks: `jax.shard_map`.

    `in_specs` and `out_specs` are PartitionSpecs (pytree prefixes of the arguments and outputs). An
    argument with `P('data')` is this process's block of an array split over the mesh axis 'data';
    one with `P()` is the same on every process. Inside `f`, collectives over the mesh axis names
    (`lax.psum(x, 'data')`, ...) combine the processes. An output with `P()` must be the same on
    every process (checked in debug mode, FNAD_DEBUG_COLLECTIVES=1); with `P('data')` it is this
    process's block. Derivatives are those of the global function (see the module's docstring).
    Usable as a decorator: `@shard_map(mesh=..., in_specs=..., out_specs=...)`. With `check_vma=True`
    (the default; `check_rep` is its former name) values inside know which mesh axes they vary over,
    as in JAX: a `P()` output that varies is an error, and `grad` inside the body gives the global
    function's derivative (docs/distributed.md). `axis_names` (a body manual over only some mesh axes)
    is not supported.

    >>> import numpy as np, fnad
    >>> from fnad import P, lax
    >>> mesh = fnad.make_mesh((fnad.process_count(),), ("data",))
    >>> total = fnad.shard_map(lambda x: lax.psum(x.sum(), "data"), mesh=mesh, in_specs=P("data"), out_specs=P())
    >>> total(np.arange(4.0))   # one process: its block is the whole array
    Array(6., dtype=float64)
    >>> fnad.grad(total)(np.arange(4.0))
    Array([1., 1., 1., 1.], dtype=float64)
    """
    if f is None:
        return functools.partial(
            shard_map,
            mesh=mesh,
            in_specs=in_specs,
            out_specs=out_specs,
            check_vma=check_vma,
            check_rep=check_rep,
            axis_names=axis_names,
        )
    check_vma = bool(check_vma if check_rep is None else check_rep)  # check_rep: JAX's former name
    if not isinstance(mesh, Mesh):
        raise TypeError(f"shard_map: mesh must be a fnad Mesh (fnad.make_mesh), got {mesh!r}")
    if in_specs is None or out_specs is None:
        raise TypeError("shard_map: in_specs and out_specs are required")
    if axis_names and set(axis_names) != set(mesh.axis_names):
        raise NotImplementedError(
            f"shard_map: axis_names={set(axis_names)} (manual over only some of the mesh axes "
            f"{mesh.axis_names}) is not supported; the body is manual over every mesh axis"
        )

    @functools.wraps(f)
    def sharded(*args):
        flat, in_tree = tree_flatten(args)
        specs = in_specs if isinstance(in_specs, PartitionSpec) else tuple(in_specs)  # a prefix of the args
        in_names = _flat_names(specs, args, mesh, "in_specs")
        flat_fun, store = flatten_fun(f, in_tree)
        # With replication tracked, a block varies over the mesh axes it is split over (vma).
        avals = [get_aval(x).strip_weak().update(vma=names if check_vma else ()) for x, names in zip(flat, in_names)]
        with _mesh_axes(mesh, check_vma):
            closed, consts = trace_flat(flat_fun, avals, f"shard_map_{f.__name__}")
        out_tree = store.val
        placeholders = [np.broadcast_to(np.zeros((), a.dtype), a.shape) for a in closed.out_avals]
        out_names = _flat_names(out_specs, tree_unflatten(out_tree, placeholders), mesh, "out_specs")
        if check_vma:
            _check_replicated_outputs(f, closed.out_avals, out_names)
        # Values f closes over are the same on every process (replicated).
        outs = shard_map_p.bind(
            *consts,
            *flat,
            jaxpr=closed,
            mesh=mesh,
            in_names=((),) * len(consts) + tuple(in_names),
            # staged by jit: run its body compiled between the collectives; eagerly, op by op
            compiled=is_staging(),
            check_vma=check_vma,
            out_names=tuple(out_names),
        )
        return tree_unflatten(out_tree, outs)

    return sharded
