"""Shared test set-up: the synthesized dev and three-cluster federations (once per test process). The repository
root is on the import path through `pythonpath` in pytest.ini; the join Lambda's runtime is imported as the package
it is deployed as (components.kubefed_join.runtime)."""
import pytest


@pytest.fixture(scope="session")
def dev():
    """The tests' dev environment (tests/fixtures/environments.json): (stacks by name, templates by name)."""
    from fedtest import ENVIRONMENTS, synth, templates

    stacks, _ = synth(ENVIRONMENTS["dev"], name="dev")
    return stacks, templates(stacks)


@pytest.fixture(scope="session")
def three():
    """Three clusters in three regions, mesh: (stacks by name, templates by name)."""
    from fedtest import environment, synth, templates

    stacks, _ = synth(environment(3))
    return stacks, templates(stacks)


@pytest.fixture
def aws(monkeypatch):
    """An emulated AWS account (moto) with test credentials only: a boto3 Session in us-east-1."""
    import boto3
    from moto import mock_aws

    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield boto3.Session(region_name="us-east-1")
