"""Shared test set-up: the synthesized dev and three-cluster federations (once per test process), and the join
Lambda's import path (the repository root comes from `pythonpath` in pytest.ini)."""
import sys
from pathlib import Path

import pytest

LAMBDA = Path(__file__).resolve().parents[1] / "lambda" / "kubefed_join"
if str(LAMBDA) not in sys.path:
    sys.path.insert(0, str(LAMBDA))


@pytest.fixture(scope="session")
def dev():
    """The shipped dev environment: (stacks by name, templates by name)."""
    from fedtest import CDK_JSON, synth, templates

    stacks, _ = synth(CDK_JSON["context"]["environments"]["dev"], name="dev")
    return stacks, templates(stacks)


@pytest.fixture(scope="session")
def three():
    """Three clusters in three regions, mesh: (stacks by name, templates by name)."""
    from fedtest import environment, synth, templates

    stacks, _ = synth(environment(3))
    return stacks, templates(stacks)
