"""The code style is checked with the tests: `ruff format` and `ruff check` (configured in pyproject.toml)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("command", [["format", "--check", "--diff"], ["check"]], ids=["format", "lint"])
def test_ruff_passes(command):
    out = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "."], cwd=ROOT, check=False, capture_output=True, text=True
    )
    assert out.returncode == 0, (
        f"ruff {' '.join(command)} found problems (run `ruff format .` and `ruff check --fix .`):\n{out.stdout}{out.stderr}"
    )
