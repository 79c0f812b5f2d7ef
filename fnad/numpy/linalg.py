"""fnad.numpy.linalg."""
