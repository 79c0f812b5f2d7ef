"""Transforms as interpreters: staging to IR (make_jaxpr/jit), forward mode (jvp),
reverse mode (linearize + transpose) and batching (vmap); and the same transforms applied to a
whole IR at once (jaxpr_rules), for the primitives whose params hold sub-IRs."""
