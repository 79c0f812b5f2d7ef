"""Shared test set-up: the hypothesis profile and the `mode` fixture.

`mode` runs a test once per execution mode: `mode(f)` is `f` itself ("eager") or `fnad.jit(f)`
("jit"); `mode.settings(n)` gives hypothesis settings with n examples (fewer under jit, which compiles
per example). The jit mode is skipped, with the reason shown, while the compiler cannot run code.
FNAD_TEST_MODES=eager (or jit) selects modes; FNAD_HYPOTHESIS_PROFILE=thorough runs many more
examples; CI=1 makes hypothesis derandomized.
"""

import os

import pytest
from hypothesis import HealthCheck, settings

import fnad

settings.register_profile(
    "fnad",
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
settings.register_profile("thorough", parent=settings.get_profile("fnad"), max_examples=1000)
settings.load_profile(os.environ.get("FNAD_HYPOTHESIS_PROFILE", "fnad"))


def _jit_unavailable():
    """Why jit cannot run tests yet, or None when it can."""
    try:
        from fnad_compiler import compile_jaxpr  # noqa: F401
    except ImportError:
        return "fnad.jit has no backend yet (fnad_compiler.compile_jaxpr does not exist)"
    return None


class Mode:
    """How a function under test is run: `mode(f)` wraps f for that mode."""

    def __init__(self, name):
        self.name = name

    def __call__(self, f):
        return fnad.jit(f) if self.name == "jit" else f

    def settings(self, max_examples):
        return settings(max_examples=max_examples if self.name == "eager" else max(1, max_examples // 10))

    def __repr__(self):
        return self.name


_JIT_SKIP = _jit_unavailable()
_SELECTED = os.environ.get("FNAD_TEST_MODES", "eager,jit").split(",")
_JIT = pytest.param("jit", marks=pytest.mark.skipif(_JIT_SKIP is not None, reason=str(_JIT_SKIP)))
MODES = [param for name, param in (("eager", "eager"), ("jit", _JIT)) if name in _SELECTED]


@pytest.fixture(scope="session", params=MODES)
def mode(request):
    return Mode(request.param)
