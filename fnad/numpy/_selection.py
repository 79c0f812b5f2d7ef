"""fnad.numpy's functions whose output shape depends on the values (nonzero, argwhere, flatnonzero,
unique: concrete values only), and select."""

from __future__ import annotations

import numpy as np

from ._core import concrete as _concrete
from ._core import numpy_when_eager
from ._elementwise import where
from ._indexing import take
from ._shapes import ravel


def nonzero(a):
    """The indices of the nonzero elements (a tuple with one index array per axis). Its output shape depends
    on the values, so `a` must be concrete (not traced under jit/vmap/grad).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.nonzero(np.array([[0, 1], [2, 0]]))
    (array([0, 1]), array([1, 0]))
    """
    return np.nonzero(_concrete(a, "nonzero"))


def argwhere(a):
    """The indices of the nonzero elements as rows of an (n, ndim) array (concrete input only, as nonzero).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.argwhere(np.array([[0, 1], [2, 0]]))
    array([[0, 1],
           [1, 0]])
    """
    return np.argwhere(_concrete(a, "argwhere"))


def flatnonzero(a):
    """The indices of the nonzero elements of the flattened array (concrete input only, as nonzero).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.flatnonzero(np.array([[0, 1], [2, 0]]))
    array([1, 2])
    """
    return np.flatnonzero(_concrete(a, "flatnonzero"))


@numpy_when_eager(np.unique)
def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None):
    """np.unique of a concrete array; the unique values of a traced one are gathered from it (so
    they carry derivatives).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.unique(np.array([3, 1, 3, 2]))
    Array([1, 2, 3], dtype=int64)
    >>> fnp.unique(np.array([3, 1, 3]), return_counts=True)
    (Array([1, 3], dtype=int64), Array([1, 2], dtype=int64))
    """
    if axis is not None:
        raise NotImplementedError("unique(axis=...) is not supported on traced values")
    res = np.unique(_concrete(ar, "unique"), True, return_inverse, return_counts)
    values = take(ravel(ar), res[1])
    extra = ((res[1],) if return_index else ()) + tuple(res[2:])
    return (values,) + extra if extra else values


@numpy_when_eager(np.select)
def select(condlist, choicelist, default=0):
    """For each element, the value of the first choice whose condition holds, else `default`, as numpy.select.

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> x = np.array([-2.0, 0.5, 3.0])
    >>> fnp.select([x < 0, x < 1], [-x, 10 * x], default=x)
    Array([2., 5., 3.], dtype=float64)
    >>> fnad.grad(lambda x: fnp.sum(fnp.select([x < 0, x < 1], [-x, 10 * x], x)))(x)
    Array([-1., 10.,  1.], dtype=float64)
    """
    if len(condlist) != len(choicelist):
        raise ValueError("select: list of cases must be same length as list of conditions")
    out = default
    for cond, choice in zip(reversed(condlist), reversed(choicelist)):
        out = where(cond, choice, out)
    return out
