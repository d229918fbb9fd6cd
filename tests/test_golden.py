"""jaxpcc's updates against the reference's own outputs, stored as golden files (no PyTorch needed).

`tests/golden/reference_updates.npz` holds what the reference's `update_networks` produced (see
tests/golden/README.md for the commit and command) for every agent at small sizes: the gradient
each optimizer received, the logged values, and every network's weights after the last update.
Here jaxpcc's update runs on the same inputs (initial weights from the same seed, the same batch,
the same noise, all fingerprinted in the file) and must agree within the equivalence script's
tolerances.
"""

import dataclasses
import json
from pathlib import Path

import pytest

from checks import golden_files
from checks import reference_equivalence as eq

GOLDEN = golden_files.load(Path(__file__).resolve().parent / "golden" / eq.GOLDEN_FILE)


def test_golden_file_was_made_for_these_cases_and_sizes():
    meta = GOLDEN["meta"]
    assert json.loads(str(meta["sizes"])) == dataclasses.asdict(eq.GOLDEN) | {"hidden": list(eq.GOLDEN.hidden)}
    assert json.loads(str(meta["cases"])) == [case.name for case in eq.GOLDEN_CASES]
    assert int(meta["seed"]) == eq.GOLDEN_SEED and float(meta["alpha"]) == eq.GOLDEN_ALPHA


@pytest.mark.parametrize("case", eq.GOLDEN_CASES, ids=lambda case: case.name)
def test_update_matches_the_reference(case):
    run = eq.run_jaxpcc(case, eq.GOLDEN, eq.GOLDEN_SEED, eq.GOLDEN_ALPHA)
    problems = eq.golden_problems(
        case, GOLDEN[case.name], run, eq.GOLDEN_TOLERANCES, eq.FINAL_TOLERANCE, eq.LOGGED_TOLERANCE
    )
    assert not problems, "\n".join(problems)
