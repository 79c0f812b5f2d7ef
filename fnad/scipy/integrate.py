"""`fnad.scipy.integrate`: trapezoidal integration, as `jax.scipy.integrate` has it (the same function as
`fnad.numpy.trapezoid`, under SciPy's name)."""

from __future__ import annotations

from .. import numpy as fnp

__all__ = ["trapezoid"]


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """The integral of the samples `y` along `axis` by the composite trapezoidal rule, at the sample points
    `x` (or spaced `dx` apart), as scipy.integrate.trapezoid (jax.scipy.integrate.trapezoid).

    >>> import numpy as np; from fnad.scipy import integrate
    >>> integrate.trapezoid(np.array([1.0, 2.0, 3.0, 2.0, 3.0, 2.0, 1.0]))
    Array(13., dtype=float64)
    >>> integrate.trapezoid(np.array([1.0, 2.0, 3.0]), np.array([0.0, 2.0, 5.0]))
    Array(10.5, dtype=float64)
    """
    return fnp.trapezoid(y, x, dx, axis)
