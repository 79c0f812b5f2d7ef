"""The fast profile of the random-program tests (tests/fuzz.py; issue 11): random programs over
fnad's public API, `jit` checked against eager and NumPy, `jit(grad)` against `grad` and finite
differences, `vmap` against a loop. Hypothesis draws each program's seed, derandomized, so CI runs
the same programs every time; a failing program is shrunk by fuzz.shrink (which knows the program
structure, unlike hypothesis) and shown as paste-able source. FNAD_FUZZ_EXAMPLES=n runs n programs;
the long profile is `python -m tests.fuzz --minutes 60`."""

import os

import numpy as np
import pytest
from hypothesis import Phase, given, reject, settings
from hypothesis import strategies as st

from tests import fuzz

EXAMPLES = int(os.environ.get("FNAD_FUZZ_EXAMPLES", "100"))


def check_shrunk(prog, what=("jit", "grad", "vmap"), on_reject=reject):
    """Check `prog`; True if it ran, False (after `on_reject()`) if it was rejected; a failure is
    shrunk and shown."""
    try:
        fuzz.check(prog, what)
        return True
    except fuzz.Reject:
        on_reject()
        return False
    except fuzz.Failure as e:
        failure = e
    small, failure = fuzz.shrink(prog, failure, budget_s=30)
    pytest.fail("a random program fails; shrunk repro:\n\n" + fuzz.repro(small, failure), pytrace=False)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, phases=[Phase.generate])
@given(st.integers(0, 2**32 - 1))
def test_random_programs_agree_under_jit_grad_and_vmap(seed):
    try:
        prog = fuzz.draw_program(fuzz.Chooser(np.random.default_rng(seed)))
    except fuzz.Reject:
        reject()
    check_shrunk(prog)


def test_random_programs_agree_in_fully_optimised_code(monkeypatch):
    """The programs above run quick code (their kernels are small: see fnad_compiler.tiers, and
    they are not called often enough to be promoted); these are compiled fully at once."""
    monkeypatch.setenv("FNAD_COMPILE_TIERS", "full")
    checked = 0
    for seed in np.random.default_rng(2026).integers(0, 2**32 - 1, size=40):
        try:
            prog = fuzz.draw_program(fuzz.Chooser(np.random.default_rng(seed)))
        except fuzz.Reject:
            continue
        checked += check_shrunk(prog, ("jit", "grad"), on_reject=lambda: None)
        if checked == EXAMPLES // 5:
            break
    assert checked >= min(10, EXAMPLES // 5)


def test_a_500_op_random_chain_compiles_and_agrees():
    # Passes over the IR must not recurse once per equation (issue 11 item 6).
    prog = fuzz.draw_program(fuzz.Chooser(np.random.default_rng(0)), n_nodes=500, dtype="float64")
    assert len(prog.nodes) == 500
    check_shrunk(prog, what=("jit",))


def test_comparisons_decided_only_by_rounding_are_not_drawn():
    """`where(v > 0, ...)` of a v that is zero up to rounding (x - x) picks its branch by how each
    evaluation rounds: such a node is refused, one comparing values clearly apart is kept."""
    x = np.array([1.5, -2.0, 3.25])
    values = [x, x - x, x + 0.5, x * 0.0 + 1e-12, x - 1.0]
    for k, expected in ((1, False), (3, False), (0, True), (4, True)):
        assert fuzz.decided(fuzz.Node("where", (k, 2, 2), {}), values) is expected
    assert not fuzz.decided(fuzz.Node("gt", (0, 2), {}), [x, x, x + 1e-9])
    assert fuzz.decided(fuzz.Node("gt", (0, 1), {}), [x, x + 0.5])
    assert fuzz.decided(fuzz.Node("add", (0, 0), {}), [x])  # no comparison
    softmax = np.exp(x) / np.sum(np.exp(x))
    assert not fuzz.decided(fuzz.Node("cond", (0,), {"t": "1.0"}), [softmax])  # sums to 1 up to rounding
    assert fuzz.decided(fuzz.Node("cond", (0,), {"t": "0.0"}), [softmax])
    near_ties = np.array([1.0, 2.0 - 1e-12, 1.0 + 1e-12, 2.0])  # best two equal up to rounding, either way
    for op in ("argmax", "argmin"):
        assert not fuzz.decided(fuzz.Node(op, (0,), {"axis": "None"}), [near_ties])
        apart = np.array([1.5, -2.0, 3.25, 0.5])
        assert not fuzz.decided(fuzz.Node(op, (0,), {"axis": "1"}), [np.stack([apart, near_ties])])
        assert fuzz.decided(fuzz.Node(op, (0,), {"axis": "1"}), [np.stack([apart, apart[::-1]])])
        assert fuzz.decided(fuzz.Node(op, (0,), {"axis": "0"}), [np.stack([x, x + 1.0])])
