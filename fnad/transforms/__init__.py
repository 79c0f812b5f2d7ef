"""Transforms as interpreters: staging to IR (make_jaxpr/jit), forward mode (jvp),
reverse mode (linearize + transpose) and batching (vmap)."""
