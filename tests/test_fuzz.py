"""The fast profile of the random-program tests (tests/fuzz.py; issue 11): random programs over
fnad's public API, `jit` checked against eager and NumPy, `jit(grad)` against `grad` and finite
differences, `vmap` against a loop. Derandomized, so CI runs the same programs every time;
FNAD_FUZZ_EXAMPLES=n runs n programs (the long profile is `python -m tests.fuzz --minutes 60`).
A failure prints the shrunk program as paste-able source."""
import os

import numpy as np
from hypothesis import given, note, reject, settings, strategies as st

from tests import fuzz

EXAMPLES = int(os.environ.get("FNAD_FUZZ_EXAMPLES", "150"))


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None)
@given(st.data())
def test_random_programs_agree_under_jit_grad_and_vmap(data):
    try:
        prog = fuzz.draw_program(fuzz.HypothesisChooser(data))
    except fuzz.Reject:
        reject()
    note(fuzz.repro(prog))
    fuzz.check(prog)


def test_a_300_op_random_chain_compiles_and_agrees():
    # Passes over the IR must not recurse once per equation (issue 11 item 6).
    prog = fuzz.draw_program(fuzz.Chooser(np.random.default_rng(0)), n_nodes=300)
    assert len(prog.nodes) == 300
    fuzz.check(prog, what=("jit",))
