"""One time budget: every handler deadline from the contract, the Provider's total timeout above the longest for
every value the config accepts, and whole-request deadlines that a body trickling in cannot outlive."""
from __future__ import annotations

import logging
import time

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2, aws_iam as iam
from aws_cdk.assertions import Template

from components.kubefed_join import contract
from components.kubefed_join.kubefed_join import KubefedJoinProvider, KubefedJoinProviderProps
from components.kube_access import kube_api
from components.kubefed_join.runtime import handler
from federated_eks.config.reader import ConfigError, load_environment
from fedtest import environment
from kube_emulator import eks_hostname
from slow_server import TricklingServer
from test_kubefed_join_faults import LambdaContext, drive, small_budget  # noqa: F401
from test_kubefed_join_handler import (ca, emulators, fake_aws, host, install_kubefed, props,  # noqa: F401
                                       serve)


def accepted(minutes: int) -> bool:
    try:
        load_environment({"t": environment(kubefed={"joinTimeoutMinutes": minutes})}, "t")
    except ConfigError:
        return False
    return True


def test_every_accepted_join_timeout_gives_a_provider_timeout_above_every_handler_deadline():
    minutes = [m for m in range(0, 121) if accepted(m)]
    assert minutes == list(range(5, 51))
    for m in minutes:
        d = contract.Deadlines(m * 60)
        assert contract.parse_timeout(str(m * 60)) == m * 60  # the property the construct writes is accepted
        assert d.longest == max(d.join, d.unjoin, d.teardown, d.workload_delete)
        # The poll that finds the deadline passed starts within an interval of it and runs at most a function's time.
        assert d.provider_total_seconds >= d.longest + contract.POLL_SECONDS + contract.FUNCTION_SECONDS
        assert d.provider_total_seconds < contract.CLOUDFORMATION_SECONDS


@pytest.mark.parametrize("minutes", [5, 30, 50])
def test_the_provider_waits_as_long_as_the_contract_says(minutes):
    stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(account="123456789012", region="us-east-1"))
    vpc = ec2.Vpc(stack, "Vpc", availability_zones=["us-east-1a", "us-east-1b"])
    role = iam.Role.from_role_arn(stack, "Role", "arn:aws:iam::123456789012:role/join")
    provider = KubefedJoinProvider(stack, "Join", KubefedJoinProviderProps(
        vpc=vpc, role=role, api_cidrs={"all": "10.0.0.0/8"}, timeout_minutes=minutes, eks_name_prefix="fedeks-test-",
        environment="test"))
    definition = str(Template.from_stack(stack).find_resources("AWS::StepFunctions::StateMachine"))
    attempts = contract.Deadlines(minutes * 60).provider_total_seconds // contract.POLL_SECONDS
    assert f'\\"MaxAttempts\\":{attempts}' in definition or f'"MaxAttempts":{attempts}' in definition
    assert provider.deadlines.join == minutes * 60


def test_handler_deadlines_come_from_the_timeout_property(host, ca):  # noqa: F811
    joined = props(host, host, ca)
    for timeout in (60, 300, 3000):
        joined[contract.TIMEOUT_SECONDS] = str(timeout)
        d = contract.Deadlines(timeout)
        now = int(time.time())
        create = int(handler.on_event({"RequestType": "Create", "ResourceProperties": joined})["Data"]["Deadline"])
        delete = int(handler.on_event({"RequestType": "Delete", "ResourceProperties": joined,
                                       "PhysicalResourceId": "p"})["Data"]["Deadline"])
        assert create - now in (d.join, d.join + 1) and delete - now in (d.unjoin, d.unjoin + 1)


# --- a body that trickles in -------------------------------------------------------------------------------

@pytest.fixture
def trickling(emulators, ca, monkeypatch):  # noqa: F811
    """Member fed-2: headers at once, then one byte a second (urllib3's 20 s read timeout never fires)."""
    server = TricklingServer(ca, interval=1.0, length=300)
    hostname = eks_hostname("us-east-2")
    emulators.dns.register(hostname, server.port)
    serve(monkeypatch, "fed-2", "us-east-2", f"https://{hostname}")

    class Member:
        name, region, endpoint = "fed-2", "us-east-2", f"https://{hostname}"
    yield Member
    server.close()


FUNCTION_SECONDS = 6.0


def timed_polls(request_type, properties, deadline_in, physical_id=None):
    """Drive the handler with a Lambda context of FUNCTION_SECONDS per invocation; returns (result or error,
    the longest invocation)."""
    longest = [0.0]
    original = handler.is_complete

    def timed(event, context=None):
        start = time.monotonic()
        try:
            return original(event, context)
        finally:
            longest[0] = max(longest[0], time.monotonic() - start)
    handler.is_complete = timed
    try:
        try:
            outcome = drive(request_type, properties, physical_id=physical_id, deadline_in=deadline_in,
                            function_seconds=FUNCTION_SECONDS)
        except RuntimeError as err:
            outcome = err
    finally:
        handler.is_complete = original
    return outcome, longest[0]


def test_a_trickling_member_never_outlives_an_invocation_on_create(trickling, host, ca, small_budget,  # noqa: F811
                                                                   caplog):
    with caplog.at_level(logging.INFO, logger="kubefed_join"):
        outcome, longest = timed_polls("Create", props(trickling, host, ca), deadline_in=8.0)
    assert longest < FUNCTION_SECONDS
    assert isinstance(outcome, RuntimeError) and "fed-2 did not join KubeFed" in str(outcome)
    assert "no complete answer within" in caplog.text and "trickles its response" in caplog.text


def test_a_trickling_member_never_outlives_an_invocation_on_delete(trickling, host, ca, small_budget):  # noqa: F811
    outcome, longest = timed_polls("Delete", props(trickling, host, ca), deadline_in=8.0,
                                   physical_id="kubefed-join/kube-federation-system/fed-1/fed-2")
    assert longest < FUNCTION_SECONDS
    _, result, _ = outcome
    assert result["IsComplete"] and "member fed-2" in result["Data"][contract.LEFT_BEHIND_ATTRIBUTE]


def test_the_whole_request_deadline_bounds_one_request(trickling, ca):  # noqa: F811
    """Below the handler: one read of a trickling API server ends at the budget's request deadline."""
    from components.kubefed_join.runtime.cluster_api import Cluster
    from components.kubefed_join.runtime.properties import ClusterRef
    ref = ClusterRef("fed-2", "fedeks-test-fed-2", "us-east-2", trickling.endpoint, ca.ca_data)
    cluster = Cluster(ref, kube_api.api_client(ref), "member", kube_api.Budget(3.0))
    start = time.monotonic()
    with pytest.raises(kube_api.Waiting, match="no complete answer within 3 s"):
        cluster.read("Namespace", "x", None)
    assert time.monotonic() - start < 4.0


def test_a_federation_passes_one_timeout_to_every_resource_of_its_provider():
    """At the shortest joinTimeoutMinutes the waiter used to keep its own 15 minutes and end in the Provider's
    generic timeout: now joins, teardown and waiters all carry the federation's timeout."""
    import fedtest
    from test_host_move import HELLO
    stacks, _ = fedtest.synth(environment(kubefed={"joinTimeoutMinutes": 5}, workloads=[HELLO]))
    template = fedtest.templates({"f": stacks["fedeks-test-federation"]})["f"].to_json()
    from components.workload_waiter.contract import WORKLOAD_TYPE
    timeouts = {r["Type"]: r["Properties"].get(contract.TIMEOUT_SECONDS) for r in template["Resources"].values()
                if r["Type"] in (contract.JOIN_TYPE, contract.TEARDOWN_TYPE, WORKLOAD_TYPE)}
    assert timeouts == {contract.JOIN_TYPE: "300", contract.TEARDOWN_TYPE: "300", WORKLOAD_TYPE: "300"}
