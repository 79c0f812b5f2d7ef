"""Scalar rules of the special-function primitives (`fnad.primitives.special`): each emits its
primitive's `algorithm` (from `fnad.special_math`) through `fnad_compiler.specmath`, as straight-line
code that vectorises in the element loop."""

from __future__ import annotations

from fnad_compiler.lower.rules import scalar_rule
from fnad_compiler.specmath import emit_special

# Extra work per element, in units of an arithmetic op (vecmath's transcendental functions count 8):
# a rough count of the kernels' operations, which decides threading and prefetching.
_COSTS = {
    "erfc": 40,
    "erfcx": 40,
    "ndtri": 40,
    "exp1": 120,
    "expi": 200,
    "bessel_i0e": 40,
    "bessel_i1e": 40,
    "lgamma": 80,
    "digamma": 80,
    "zeta": 400,
    "polygamma": 500,
    "igamma": 1500,
    "igammac": 1500,
    "igamma_grad_a": 4000,
    "random_gamma_grad": 4000,
    "regularized_incomplete_beta": 1500,
    "dawsn": 40,
    "spence": 40,
    "sine_integral": 80,
    "cosine_integral": 80,
    "fresnel_s": 100,
    "fresnel_c": 100,
    "expn": 1500,
    "owens_t": 500,
    "hyp1f1": 8000,
    "hyp1f1_grad_a": 20000,
    "hyp1f1_grad_b": 20000,
    "hyp2f1": 6000,
    "hyp2f1_grad_a": 15000,
    "hyp2f1_grad_b": 15000,
    "hyp2f1_grad_c": 15000,
}


def _special(b, e, *args):
    return emit_special(b, e.primitive.name, e.primitive.algorithm, *args)


for _name, _cost in _COSTS.items():
    scalar_rule(_name, cost=_cost)(_special)
