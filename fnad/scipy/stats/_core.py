"""Helpers shared by the distributions of `fnad.scipy.stats`."""

from ... import numpy as fnp
from ..special import _inexact


def args(*values):
    """The arguments promoted to one inexact dtype and broadcast to one shape (JAX's promote_args_inexact)."""
    return _inexact(*values)


def log1mexp(x):
    """log(1 - exp(-x)) for x > 0, accurate at both ends (expm1 below log 2, log1p above)."""
    return fnp.where(x < 0.6931471805599453, fnp.log(-fnp.expm1(-x)), fnp.log1p(-fnp.exp(-x)))
