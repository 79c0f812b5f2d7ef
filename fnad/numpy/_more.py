"""fnad.numpy: indexing, joining/splitting, sorting, cumulative ops, einsum and friends."""
__all__ = []
