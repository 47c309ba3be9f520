"""The emulated Kubernetes API servers, for the join and waiter handler tests: they live in the rehearsal
(rehearsal/kubernetes/), which `make rehearse` runs; re-exported here under the name the tests use.

And the one set-up every handler test against them shares (the KubeFed join's, the Karmada join's, the workload
waiter's): the test CA, fake AWS credentials (autouse where imported), the emulated EKS API that describes the
clusters a test starts (what the functions ask before any token: components/kube_access/allowed_clusters), and the
`emulators` loop. A test module imports the fixtures it uses from here (`from kube_emulator import ca, emulators,
fake_aws`)."""
from __future__ import annotations

import socket

import pytest

from components.kube_access import allowed_clusters
from components.kube_access import contract as access
from rehearsal import iam
from rehearsal.eks_api import EksApi, EksCluster
from rehearsal.kubernetes.apiserver import (  # noqa: F401 (re-exports)
    ApiServerHandle, EmulatedApiServer, EmulatedDns, EmulatorLoop, Fault, TestCA, eks_hostname, make_test_ca)
from rehearsal.kubernetes.kubefed_controller import FTC_FINALIZER, KubefedControllerState  # noqa: F401

EKS_PREFIX = "fedeks-test-"
"""The functions' environment in these tests (contract.EKS_NAME_PREFIX_ENV): every cluster is `fedeks-test-<name>`."""
ENVIRONMENT = "test"
"""Its name (contract.ENVIRONMENT_ENV): every cluster is tagged with it (contract.ENVIRONMENT_TAG)."""
ACCOUNT = "123456789012"  # the emulated EKS API's (rehearsal/eks_api.py EksCluster)
RUNNING: list[EmulatorLoop] = []
"""The EmulatorLoop of the current test."""
# The clusters the emulated EKS API describes: (region, EKS name) -> its answer. The function asks it with botocore
# (AWS_ENDPOINT_URL_EKS), as it asks EKS in AWS.
EKS: dict[tuple[str, str], EksCluster] = {}


@pytest.fixture(scope="session")
def ca(tmp_path_factory):
    return make_test_ca(tmp_path_factory.mktemp("tls"))


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch, tmp_path):
    # botocore presigns the EKS token offline; these credentials never leave the machine.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "fake-session-token")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def serve(monkeypatch, name: str, region: str, endpoint: str, ca_data: str | None = None) -> None:
    """A cluster of the function's environment: EKS describes it (with the test CA unless `ca_data`, tagged with the
    environment as the cluster stack tags it), and the function has the environment's prefix and name, as the
    construct sets them."""
    EKS[region, EKS_PREFIX + name] = EksCluster(EKS_PREFIX + name, region, endpoint.rstrip("/"),
                                                ca_data or RUNNING[0].ca.ca_data,
                                                tags={access.ENVIRONMENT_TAG: ENVIRONMENT})
    function_environment(monkeypatch)


def function_environment(monkeypatch, prefix: str = "", environment: str = "") -> None:
    """The function's environment variables, as the construct sets them (this test's environment by default)."""
    monkeypatch.setenv(access.EKS_NAME_PREFIX_ENV, prefix or EKS_PREFIX)
    monkeypatch.setenv(access.ENVIRONMENT_ENV, environment or ENVIRONMENT)


def describe_policy(prefix: str = "", environment: str = "", condition: bool = True) -> dict:
    """The functions' DescribeCluster policy, as the construct writes it (components/cluster_functions.py)."""
    statement = {"Effect": "Allow", "Action": "eks:DescribeCluster",
                 "Resource": access.describe_policy_resource("aws", ACCOUNT, prefix or EKS_PREFIX)}
    if condition:
        statement["Condition"] = access.describe_policy_condition(environment or ENVIRONMENT)
    return {"Version": "2012-10-17", "Statement": [statement]}


def iam_allows(policy: dict, clusters: dict | None = None):
    """The emulated EKS API's IAM: `policy` decides each DescribeCluster, against the tags of the cluster in
    `clusters` (default EKS), as rehearsal/iam.py evaluates it."""
    def allowed(region: str, name: str) -> bool:
        cluster = (EKS if clusters is None else clusters).get((region, name))
        return iam.decide([policy], "eks:DescribeCluster", f"arn:aws:eks:{region}:{ACCOUNT}:cluster/{name}",
                          cluster.tags if cluster else {}) is None
    return allowed


@pytest.fixture
def emulators(ca, monkeypatch):
    loop = EmulatorLoop(ca)
    RUNNING[:] = [loop]
    monkeypatch.setattr(socket, "getaddrinfo", loop.dns.resolver(socket.getaddrinfo))
    EKS.clear()
    allowed_clusters.forget()
    # IAM decides each DescribeCluster with the policy the construct writes (prefix and environment tag).
    eks = EksApi(lambda region, name: EKS.get((region, name)), allowed=iam_allows(describe_policy()))
    monkeypatch.setenv("AWS_ENDPOINT_URL_EKS", eks.url)
    function_environment(monkeypatch)
    # EKS describes the clusters started in the test, as they are.
    loop.on_start.append(lambda server: serve(monkeypatch, server.name, server.region, server.endpoint))
    yield loop
    RUNNING.clear()
    eks.close()
    loop.close()


def between_polls() -> None:
    """What the Provider framework's wait between polls stands for: the clusters' controllers (token, namespace,
    KubeFed, Karmada) each run a whole round. Waiting for that, rather than for a fixed time, keeps the number of
    polls a join takes independent of the machine's load."""
    for loop in RUNNING:
        loop.settle()
