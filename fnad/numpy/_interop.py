"""NumPy's own input/output, printing and Python-object helpers, re-exported by fnad.numpy: eager arrays
are NumPy arrays, so save/load, frombuffer, printing options and the like need nothing of fnad's."""

from __future__ import annotations

import numpy as np

from ..core import Tracer, get_aval

load, save, savez = np.load, np.save, np.savez
frombuffer, fromfile, fromiter, fromstring, from_dlpack = (
    np.frombuffer,
    np.fromfile,
    np.fromiter,
    np.fromstring,
    np.from_dlpack,
)
array_repr, array_str = np.array_repr, np.array_str
get_printoptions, set_printoptions, printoptions = np.get_printoptions, np.set_printoptions, np.printoptions
iterable = np.iterable
s_, index_exp = np.s_, np.index_exp


def isscalar(element):
    """True for Python and NumPy scalars and, as in JAX, for 0-d arrays (traced ones included).

    >>> import numpy as np, fnad, fnad.numpy as fnp
    >>> fnp.isscalar(1.5), fnp.isscalar(np.array(2.0)), fnp.isscalar(np.ones(2))
    (True, True, False)
    """
    if np.isscalar(element):
        return True
    if isinstance(element, (np.ndarray, Tracer)):
        return get_aval(element).ndim == 0
    return False
