"""The registries of lowering rules, filled by decorators next to each rule in the family modules.

`SCALAR`: primitive name -> rule(b, eqn, *args) -> value (register types), for the primitives
computed element by element in fused loop nests. `SCALAR_COST`: the extra work per element of those
that cost more than an arithmetic op (transcendental math: 8), from which a kernel decides whether
it runs on several threads, streams its stores or prefetches. `OPAQUE`: primitive name ->
rule(scope, eqn) emitting a whole equation (dot_general, indexing, sort, linear algebra, control flow).
"""

SCALAR = {}
SCALAR_COST = {}
OPAQUE = {}


def scalar_rule(*names, cost=0):
    """Register the decorated function as the scalar rule of `names` (with their `cost`)."""

    def register(fn):
        for n in names:
            SCALAR[n] = fn
            if cost:
                SCALAR_COST[n] = cost
        return fn

    return register


def opaque_rule(*names):
    """Register the decorated function as the lowering of equations of `names`."""

    def register(fn):
        for n in names:
            OPAQUE[n] = fn
        return fn

    return register
