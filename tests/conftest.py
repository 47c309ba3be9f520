"""Shared test set-up: the synthesized dev and three-cluster federations (once per test process). The repository
root is on the import path through `pythonpath` in pytest.ini; the join Lambda's runtime is imported as the package
it is deployed as (components.kubefed_join.runtime)."""
import pytest


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
