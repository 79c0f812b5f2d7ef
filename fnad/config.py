"""Global settings: `fnad.config.update("disable_jit", True)`; also read from the environment
(FNAD_DISABLE_JIT=1)."""
import os


class _Config:
    def __init__(self):
        self.disable_jit = os.environ.get("FNAD_DISABLE_JIT", "") not in ("", "0", "false", "False")

    def update(self, name, value):
        if not hasattr(self, name):
            raise AttributeError(f"unknown fnad config option {name!r}; options: {sorted(vars(self))}")
        setattr(self, name, value)

    def read(self, name):
        return getattr(self, name)


config = _Config()
