"""Global settings: `fnad.config.update("disable_jit", True)`; also read from the environment
(FNAD_DISABLE_JIT=1). JAX's `enable_x64` is accepted with the value fnad always has (True)."""

import os


class _Config:
    """fnad's global settings (`fnad.config`). `disable_jit`: `jit` calls the Python function itself
    (handy for printing values or stepping through with a debugger).

    >>> import fnad
    >>> f = fnad.jit(lambda x: print(type(x).__name__) or x + 1.0)
    >>> f(1.0)                      # traced once: the function sees a tracer
    StagingTracer
    Array(2., dtype=float64)
    >>> fnad.config.update("disable_jit", True)
    >>> f(2.0)                      # run as plain Python on the value itself
    float
    3.0
    >>> fnad.config.read("disable_jit")
    True
    >>> fnad.config.update("disable_jit", False)
    """

    def __init__(self):
        self.disable_jit = os.environ.get("FNAD_DISABLE_JIT", "") not in ("", "0", "false", "False")

    def __setattr__(self, name, value):
        super().__setattr__(name, value)
        for callback in _WATCHERS.get(name, ()):
            callback(value)

    def on_update(self, name, callback):
        """Call `callback(value)` with option `name`'s value now and whenever it is set (the jit
        module mirrors disable_jit for its native entries so)."""
        _WATCHERS.setdefault(name, []).append(callback)
        callback(getattr(self, name))

    def update(self, name, value):
        """Set option `name` (an unknown name raises AttributeError listing the options).

        >>> import fnad
        >>> fnad.config.update("disable_jit", True); fnad.config.disable_jit
        True
        >>> fnad.config.update("disable_jit", False)
        """
        if name in _FIXED:
            fixed, why = _FIXED[name]
            if value != fixed:
                raise NotImplementedError(f"fnad config option {name!r} is always {fixed!r}: {why}")
            return
        if not hasattr(self, name):
            raise AttributeError(f"unknown fnad config option {name!r}; options: {sorted([*vars(self), *_FIXED])}")
        setattr(self, name, value)

    def read(self, name):
        """The value of option `name`.

        >>> import fnad
        >>> fnad.config.read("disable_jit")
        False
        """
        return _FIXED[name][0] if name in _FIXED else getattr(self, name)


# JAX's options whose one value is what fnad does: a JAX program setting them (after `jax` -> `fnad`)
# runs; asking for the other value raises.
_FIXED = {
    "fnad_enable_x64": (
        True,
        "fnad computes with NumPy's 64-bit defaults (JAX's x64 mode); for 32-bit math pass float32 arrays",
    ),
}
_WATCHERS: dict = {}  # option name -> callbacks (`_Config.on_update`)
config = _Config()
