"""The join handler under the faults a real fleet produces, against the emulated API servers: TLS with the
wrong CA, connection resets, DNS failures, latency, throttling (429 + Retry-After), stale status after an
update, a host move, clusters outside the federation, and a teardown that meets errors."""
from __future__ import annotations

import logging
import time

import pytest
from kubernetes import client

from components.kubefed_join import contract
from components.kube_access import allowed_clusters, kube_api
from components.kubefed_join.runtime import cluster_api, handler
from components.kubefed_join.runtime.properties import parse
from kube_emulator import make_test_ca
from slow_server import server_certificate
from test_kubefed_join_handler import (DEADLINE, MAX_POLLS, NS, add_type_configs, allow, b64, between_polls,  # noqa: F401
                                       provider_event, serve,
                                       ca, emulators, eventually, fake_aws, host, install_kubefed, member, props,
                                       ref, teardown_event)

SA = "fed-2-fed-1"
BINDING = "kubefed-controller-manager:fed-2-fed-1"


class LambdaContext:
    """What the Lambda Python runtime passes as `context`, as far as the handler uses it."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self.end - time.monotonic()) * 1000)


def drive(request_type, properties, physical_id=None, old=None, deadline_in=DEADLINE, function_seconds=None,
          max_polls=MAX_POLLS):
    """on_event once, then is_complete until complete, as the Provider framework does. Returns the last result
    and the number of polls. With `function_seconds`, each invocation gets a Lambda context with that long to
    run (its budget is a part of it)."""
    event = provider_event(request_type, properties, physical_id, old)
    event = {**event, **handler.on_event(event)}
    event["Data"] = {**event.get("Data", {}), "Deadline": str(int(time.time() + deadline_in))}
    for poll in range(1, max_polls + 1):
        context = LambdaContext(function_seconds) if function_seconds else None
        result = handler.is_complete(event, context)
        if result["IsComplete"]:
            return event, result, poll
        assert "Data" not in result  # the Provider framework refuses Data while not complete
        between_polls()
    raise AssertionError("never completed")


@pytest.fixture(scope="session")
def other_ca(tmp_path_factory):
    return make_test_ca(tmp_path_factory.mktemp("other-tls"))


@pytest.fixture
def small_budget(monkeypatch):
    """A function that keeps back little of its time, so that short contexts still leave a budget."""
    monkeypatch.setattr(kube_api, "RESERVE_SECONDS", 0.2)


def member_objects(server, sa=SA, binding=BINDING):
    return {"serviceaccount": server.find("serviceaccounts", NS, sa), "token secret": server.find("secrets", NS, sa),
            "binding": server.find("clusterrolebindings", None, binding),
            "role": server.find("clusterroles", None, binding)}


# --- TLS, resets, DNS: transport errors are "not ready", never a crash ------------------------------

def test_the_client_turns_a_ca_mismatch_into_an_attribute_error_and_it_is_classified(emulators, other_ca, ca):
    # The pinned kubernetes client wraps the SSLError in ApiException(status=0) and then fails on its own
    # e.body.decode(): the handler must see through that.
    wrong = emulators.start("fed-2", "us-east-2", ca=other_ca)
    cluster = cluster_api.Cluster(parse(props(wrong, wrong, ca)).member, kube_api.api_client(
        parse(props(wrong, wrong, ca)).member), "member", kube_api.Budget(5))
    with pytest.raises(AttributeError) as raw:
        cluster.core.read_namespace(NS)
    assert isinstance(raw.value.__context__, client.ApiException) and raw.value.__context__.status == 0
    with pytest.raises(kube_api.Waiting, match=r"member fed-2: Namespace .*not reachable \(TLS failed: the "
                       r"certificate is not signed by CaData's CA"):
        cluster.read("Namespace", NS, None)


@pytest.mark.parametrize("certificate, expected, not_expected", [
    ({"expired": True}, "the API server's certificate has expired", "CaData"),
    ({"hostname": "other.example.com"}, "does not name this endpoint (hostname mismatch)", "CaData's CA"),
])
def test_tls_failures_say_what_failed(emulators, host, ca, tmp_path, certificate, expected, not_expected):
    """A certificate signed by the right CA that fails otherwise is not reported as a wrong CA."""
    served = server_certificate(ca, tmp_path / "cert", **certificate)
    bad = emulators.start("fed-2", "us-east-2", ca=served)
    with pytest.raises(RuntimeError) as err:
        drive("Create", props(bad, host, ca), deadline_in=1.0)
    assert expected in str(err.value) and not_expected not in str(err.value)


def test_a_wrong_ca_is_still_reported_as_a_wrong_ca(emulators, host, ca, other_ca):
    wrong = emulators.start("fed-2", "us-east-2", ca=other_ca)
    with pytest.raises(RuntimeError) as err:
        drive("Create", props(wrong, host, ca), deadline_in=1.0)
    assert "not signed by CaData's CA" in str(err.value) and "expired" not in str(err.value)


def test_ca_mismatch_on_create_waits_then_fails_naming_the_member(emulators, host, other_ca, ca):
    wrong = emulators.start("fed-2", "us-east-2", ca=other_ca)
    with pytest.raises(RuntimeError) as err:
        drive("Create", props(wrong, host, ca), deadline_in=1.0)
    assert "fed-2 did not join KubeFed" in str(err.value) and "TLS failed" in str(err.value)
    assert host.names("kubefedclusters") == [] and host.names("secrets") == []


def test_ca_mismatch_on_delete_succeeds_with_a_reason_naming_the_member(member, host, ca, other_ca, caplog,
                                                                        monkeypatch):
    drive("Create", props(member, host, ca))
    mismatched = props(member, host, ca)
    mismatched["Member"] = {**mismatched["Member"], "CaData": other_ca.ca_data}
    # EKS describes the cluster with that CA too (as after a CA change the API server has not picked up): the request
    # is the cluster's, and TLS is what fails.
    serve(monkeypatch, "fed-2", member.region, member.endpoint, other_ca.ca_data)
    event = {"RequestType": "Delete", "ResourceProperties": mismatched, "PhysicalResourceId": "x"}
    event = {**event, **handler.on_event(event)}
    # Before the unjoin deadline the member is retried by the next poll; past it, the delete gives up on it.
    assert handler.is_complete(event) == {"IsComplete": False}
    event["Data"] = {"Deadline": str(int(time.time()) - 1)}
    with caplog.at_level(logging.INFO, logger="kubefed_join"):
        result = handler.is_complete(event)
    left = result["Data"]["LeftBehind"]
    assert result["IsComplete"] and "member fed-2" in left and "TLS failed" in left
    assert f"ServiceAccount {SA}" in left and f"ClusterRoleBinding {BINDING}" in left
    assert "left behind" in caplog.text and "member fed-2" in caplog.text
    assert host.names("kubefedclusters") == [] and host.names("secrets") == []  # the host is clean
    assert member.find("serviceaccounts", NS, SA) is not None  # and what is left is what was named


def test_connection_resets_during_create_are_waited_for(member, host, ca):
    fault = member.inject("POST", r"/serviceaccounts$", reset=True, times=2)
    _, _, polls = drive("Create", props(member, host, ca))
    assert fault.seen == 2 and member.emulator.resets == 2 and polls >= 3
    assert member.find("serviceaccounts", NS, SA) is not None


def test_connection_resets_during_delete_are_retried_within_the_poll(member, host, ca):
    drive("Create", props(member, host, ca))
    fault = member.inject("DELETE", r"/clusterrolebindings/", reset=True, times=2)
    host_fault = host.inject("DELETE", r"/kubefedclusters/fed-2$", reset=True, times=1)
    _, result, polls = drive("Delete", props(member, host, ca), physical_id="x")
    assert fault.seen == 2 and host_fault.seen == 1
    assert polls == 1 and "Data" not in result  # retried in the poll, nothing left
    assert all(v is None for v in member_objects(member).values())
    assert host.names("kubefedclusters") == []


def test_dns_failure_on_create_and_delete(emulators, host, ca, monkeypatch):
    lost = props(host, host, ca)
    lost["Member"] = {**lost["Member"], "Name": "fed-3", "EksClusterName": "fedeks-test-fed-3",
                      "Endpoint": emulators.unresolvable_endpoint(host.region)}  # a name that does not resolve
    allow(monkeypatch, lost["Member"])
    with pytest.raises(RuntimeError, match=r"member fed-3.*not reachable \(its name does not resolve: the cluster "
                       r"looks deleted"):
        drive("Create", lost, deadline_in=1.0)
    _, result, _ = drive("Delete", lost, physical_id="x", deadline_in=0.5)
    assert "member fed-3" in result["Data"]["LeftBehind"]


# --- throttling ---------------------------------------------------------------------------------

def test_throttled_create_is_waited_for(member, host, ca):
    fault = member.inject("POST", r"/clusterroles$", 429, "too many requests", times=2, headers={"Retry-After": "1"})
    _, _, polls = drive("Create", props(member, host, ca))
    assert fault.seen == 2 and polls >= 3
    assert member.find("clusterroles", None, BINDING) is not None


def test_a_429_storm_during_unjoin_leaves_nothing_once_the_member_answers(member, host, ca, small_budget):
    drive("Create", props(member, host, ca))
    storm = member.inject("DELETE", r".", 429, "too many requests", times=5, headers={"Retry-After": "1"})
    _, result, polls = drive("Delete", props(member, host, ca), physical_id="x", function_seconds=2.5)
    assert storm.seen == 5 and polls >= 2  # more than one poll's budget: continued by the next poll
    assert "Data" not in result
    assert all(v is None for v in member_objects(member).values()), member_objects(member)
    eventually(lambda: member.find("namespaces", None, NS) is None)
    assert host.names("kubefedclusters") == [] and host.names("secrets") == []


def test_a_5xx_on_one_member_object_does_not_stop_the_others(member, host, ca, small_budget):
    drive("Create", props(member, host, ca))
    member.inject("DELETE", r"/clusterrolebindings/", 503, "unavailable", times=10_000)
    _, result, _ = drive("Delete", props(member, host, ca), physical_id="x", deadline_in=10, function_seconds=8)
    assert f"ClusterRoleBinding {BINDING}" in result["Data"]["LeftBehind"]
    objects = member_objects(member)
    assert objects["binding"] is not None  # only what kept failing is left
    assert objects["token secret"] is None and objects["serviceaccount"] is None and objects["role"] is None
    assert host.names("kubefedclusters") == []


# --- slow servers: each invocation stays inside its budget ----------------------------------------

def test_a_slow_member_on_create_stops_at_the_budget_and_later_polls_finish(member, host, ca, small_budget,
                                                                            caplog):
    # Every member request takes 1 s: a whole join (about 15 of them) does not fit one invocation of 6 s.
    slow = member.inject("*", r".", delay=1.0, times=10_000)
    event = {"RequestType": "Create", "ResourceProperties": props(member, host, ca)}
    event = {**event, **handler.on_event(event)}
    event["Data"] = {"Deadline": str(int(time.time()) + 60)}
    with caplog.at_level(logging.INFO, logger="kubefed_join"):
        assert handler.is_complete(event, LambdaContext(6.0)) == {"IsComplete": False}
    assert "time budget is spent; the next poll continues" in caplog.text or "ReadTimeoutError" in caplog.text
    slow.times = slow.seen  # the server recovers: the next polls finish the join
    drive("Create", props(member, host, ca))
    assert host.find("kubefedclusters", NS, "fed-2") is not None


def test_a_slow_member_on_delete_is_finished_by_later_polls(member, host, ca, small_budget, caplog):
    drive("Create", props(member, host, ca))
    member.inject("*", r".", delay=0.5, times=20)  # 10 s of latency in all, more than an invocation's budget
    with caplog.at_level(logging.INFO, logger="kubefed_join"):
        _, result, polls = drive("Delete", props(member, host, ca), physical_id="x", function_seconds=6.0)
    assert polls >= 2 and "Data" not in result
    assert "time budget is spent" in caplog.text or "ReadTimeoutError" in caplog.text
    assert all(v is None for v in member_objects(member).values())


def test_budget_comes_from_the_lambda_context_with_a_fallback():
    assert kube_api.Budget.of(LambdaContext(120)).left() == pytest.approx(90, abs=1)
    assert kube_api.Budget.of(None).left() == pytest.approx(kube_api.DEFAULT_BUDGET_SECONDS, abs=1)
    with pytest.raises(kube_api.Waiting, match="time budget is spent"):
        kube_api.Budget(0.1).request_timeout("reading x")
    assert sum(kube_api.Budget(3).request_timeout("x")) <= 3


def test_unknown_errors_are_classified_not_raised():
    error = kube_api.classify(KeyError("spec"), "reading y")
    assert isinstance(error, kube_api.Waiting) and "unexpected KeyError" in str(error)


# --- stale status after an update ----------------------------------------------------------------

def test_update_completes_only_on_a_status_written_after_the_change(member, host, ca):
    drive("Create", props(member, host, ca))
    host.run(lambda: setattr(host.kubefed, "paused", True))  # the controller has not probed since
    changed = props(member, host, ca, Labels={"topology.kubernetes.io/region": "us-east-2", "tier": "gold"})
    with pytest.raises(RuntimeError, match="Ready was reported before the change"):
        drive("Update", changed, physical_id="x", old=props(member, host, ca), deadline_in=1.0)
    host.run(lambda: setattr(host.kubefed, "paused", False))
    drive("Update", changed, physical_id="x", old=props(member, host, ca))
    cluster = host.find("kubefedclusters", NS, "fed-2")
    ready = cluster["status"]["conditions"][0]
    assert ready["type"] == "Ready" and ready["lastTransitionTime"] >= cluster["metadata"]["annotations"][
        "federated-eks/changed-at"]


def test_update_does_not_complete_on_the_ready_kubefed_reported_for_the_old_spec(member, host, ca):
    drive("Create", props(member, host, ca))
    member.inject("GET", r"^/healthz$", 503, "apiserver not ready", times=10_000)  # KubeFed's probe fails now
    changed = props(member, host, ca, Labels={"topology.kubernetes.io/region": "us-east-2", "tier": "gold"})
    with pytest.raises(RuntimeError, match=r"fed-2 did not join KubeFed.*Offline=True \(ClusterNotReachable"):
        drive("Update", changed, physical_id="x", old=props(member, host, ca), deadline_in=2.0)


def test_a_new_member_token_is_a_change_kubefed_must_probe_again(member, host, ca):
    drive("Create", props(member, host, ca))
    first = host.find("kubefedclusters", NS, "fed-2")["metadata"]["annotations"]["federated-eks/changed-at"]
    rotated = "sa-rotated-token"
    member.run(lambda: member.emulator.issued_tokens.add(rotated))
    member.run(lambda: next(o for k, o in member.emulator.objects.items() if k[0].plural == "secrets" and k[2] == SA)
               .patch({"data": {"token": b64(rotated)}}))
    drive("Update", props(member, host, ca), physical_id="x", old=props(member, host, ca))
    assert host.find("secrets", NS, "fed-2.kubefed-token")["data"]["token"] == b64(rotated)
    cluster = host.find("kubefedclusters", NS, "fed-2")
    assert cluster["metadata"]["annotations"]["federated-eks/changed-at"] > first
    assert cluster["status"]["conditions"][0]["lastTransitionTime"] >= \
        cluster["metadata"]["annotations"]["federated-eks/changed-at"]


# --- host move ----------------------------------------------------------------------------------

def test_host_move_keeps_the_new_hosts_namespace_and_kubefed(emulators, ca):
    servers = {n: emulators.start(n, r, kubefed_controller=n in ("fed-1", "fed-2"))
               for n, r in (("fed-1", "us-east-1"), ("fed-2", "us-east-2"), ("fed-3", "us-west-2"))}
    old_host, new_host = servers["fed-1"], servers["fed-2"]
    install_kubefed(old_host)
    old = {n: props(s, old_host, ca) for n, s in servers.items()}
    for n in servers:
        drive("Create", old[n])
    install_kubefed(new_host)  # the chart lands on fed-2 first (the stack orders it before the joins)
    # hostCluster: fed-1 -> fed-2. The physical id changes, so CloudFormation creates the new resource, then
    # deletes the old one with the OLD properties (update with replacement).
    for n, s in servers.items():
        event, _, _ = drive("Update", props(s, new_host, ca), physical_id=f"kubefed-join/{NS}/fed-1/{n}", old=old[n])
        assert event["PhysicalResourceId"] == f"kubefed-join/{NS}/fed-2/{n}"
    for n in servers:
        _, result, _ = drive("Delete", old[n], physical_id=f"kubefed-join/{NS}/fed-1/{n}")
        assert "Data" not in result
    time.sleep(new_host.namespace_delay)  # what a namespace deletion takes, then a round of every controller
    emulators.settle()
    ns = new_host.find("namespaces", None, NS)
    assert ns is not None and not ns["metadata"].get("deletionTimestamp")
    assert new_host.find("kubefedconfigs", NS, "kubefed") is not None
    for n in servers:
        cluster = new_host.find("kubefedclusters", NS, n)
        assert cluster["status"]["conditions"][0]["type"] == "Ready"
        assert new_host.find("secrets", NS, f"{n}.kubefed-token") is not None
        assert old_host.find("kubefedclusters", NS, n) is None
    # fed-3's namespace still carries its join to the new host; the old join's objects are gone.
    fed3 = servers["fed-3"]
    assert fed3.find("namespaces", None, NS) is not None
    assert fed3.find("serviceaccounts", NS, "fed-3-fed-2") is not None and fed3.find("secrets", NS, "fed-3-fed-2")
    assert fed3.find("serviceaccounts", NS, "fed-3-fed-1") is None
    assert fed3.find("clusterrolebindings", None, "kubefed-controller-manager:fed-3-fed-1") is None
    assert servers["fed-1"].find("serviceaccounts", NS, "fed-1-fed-2") is not None


def test_rejoin_while_the_member_namespace_terminates_waits_for_it(member, host, ca):
    member.namespace_delay = 3.0
    drive("Create", props(member, host, ca))
    drive("Delete", props(member, host, ca), physical_id="x")
    assert member.find("namespaces", None, NS)["metadata"]["deletionTimestamp"]
    _, _, polls = drive("Create", props(member, host, ca))
    assert polls >= 2 and member.find("serviceaccounts", NS, SA) is not None
    assert not member.find("namespaces", None, NS)["metadata"].get("deletionTimestamp")


# --- only the environment's own clusters, as EKS describes them ---------------------------------------

@pytest.mark.parametrize("change, expected", [
    (lambda p: p["Member"].update(EksClusterName="someone-elses-cluster"),
     "member 'fed-2': EksClusterName 'someone-elses-cluster' is not 'fedeks-test-fed-2'"),
    (lambda p: p["Host"].update(Name="fed-7"), "host 'fed-7': EksClusterName 'fedeks-test-fed-1' is not"),
    # Another environment's cluster of the same name: its prefix is not this environment's.
    (lambda p: p["Member"].update(EksClusterName="fedeks-prod-fed-2"), "member 'fed-2': EksClusterName"),
])
def test_a_cluster_named_outside_the_environment_is_refused_before_eks_is_asked(member, host, ca, change, expected):
    bad = props(member, host, ca)
    change(bad)
    with pytest.raises(allowed_clusters.NotAllowed, match=expected):
        handler.on_event({"RequestType": "Create", "ResourceProperties": bad})
    with pytest.raises(RuntimeError, match=f"refused: {expected}"):
        handler.is_complete({"RequestType": "Create", "ResourceProperties": bad, "Data": {"Deadline": "0"}})
    assert member.emulator.eks_token_requests == 0 and host.emulator.eks_token_requests == 0


def _forged_ca() -> str:
    import base64
    import tempfile
    from pathlib import Path
    other = make_test_ca(Path(tempfile.mkdtemp(prefix="forged-ca-")))
    return base64.b64encode(Path(other.cert_file).read_bytes()).decode()


@pytest.mark.parametrize("change, expected", [
    # What the request says differs from what EKS (DescribeCluster, through botocore) answers for that cluster:
    (lambda p: p["Member"].update(Endpoint="https://attacker.example"), "member 'fed-2': Endpoint differ"),
    (lambda p: p["Member"].update(Endpoint=p["Member"]["Endpoint"] + ":8443"), "member 'fed-2': Endpoint differ"),
    (lambda p: p["Host"].update(Endpoint=p["Member"]["Endpoint"]), "host 'fed-1': Endpoint differ"),
    (lambda p: p["Member"].update(CaData=_forged_ca()), "member 'fed-2': CaData differ"),
    (lambda p: p["Member"].update(Endpoint="https://attacker.example", CaData=_forged_ca()),
     "member 'fed-2': Endpoint and CaData differ from what EKS describes for fedeks-test-fed-2 in us-east-2"),
    # A cluster EKS does not have in that region (wrong region, or a name of the environment no cluster has): it has
    # no environment tag, so IAM's condition refuses the DescribeCluster (AccessDenied) before EKS looks it up.
    (lambda p: p["Member"].update(Region="eu-west-1"), "member 'fed-2': this function may not describe "
     "'fedeks-test-fed-2'"),
    (lambda p: p["Member"].update(Name="fed-9", EksClusterName="fedeks-test-fed-9"),
     "member 'fed-9': this function may not describe 'fedeks-test-fed-9'"),
])
def test_a_cluster_eks_describes_differently_is_refused_before_any_token(member, host, ca, change, expected):
    bad = props(member, host, ca)
    change(bad)
    event = {"RequestType": "Create", "ResourceProperties": bad}
    event.update(handler.on_event(event))  # named as the environment's clusters: EKS is asked on the first poll
    with pytest.raises(RuntimeError, match=f"joining fed-\\d to KubeFed refused: {expected}"):
        handler.is_complete({**event, "Data": {"Deadline": str(int(time.time()) + 60)}})
    assert member.emulator.eks_token_requests == 0 and host.emulator.eks_token_requests == 0
    assert host.names("kubefedclusters") == []


def test_a_cluster_iam_does_not_let_the_function_describe_is_refused(member, host, ca, monkeypatch):
    """EKS answers AccessDenied for a cluster outside the role's policy (construct: this environment's prefix)."""
    from rehearsal.eks_api import EksApi
    denying = EksApi(lambda region, name: None, allowed=lambda region, name: False)
    monkeypatch.setenv("AWS_ENDPOINT_URL_EKS", denying.url)
    try:
        with pytest.raises(RuntimeError, match="member 'fed-2': this function may not describe 'fedeks-test-fed-2'"):
            drive("Create", props(member, host, ca))
    finally:
        denying.close()
    assert member.emulator.eks_token_requests == 0


def test_a_cluster_eks_does_not_have_is_refused_when_iam_lets_the_function_ask(member, host, ca, monkeypatch):
    """A role whose policy lacks the tag condition (IAM allows the describe): EKS answers ResourceNotFound."""
    from rehearsal.eks_api import EksApi
    unconditioned = EksApi(lambda region, name: None)
    monkeypatch.setenv("AWS_ENDPOINT_URL_EKS", unconditioned.url)
    try:
        with pytest.raises(RuntimeError, match="member 'fed-2': EKS has no cluster named 'fedeks-test-fed-2' in "
                                               "us-east-2"):
            drive("Create", props(member, host, ca))
    finally:
        unconditioned.close()
    assert member.emulator.eks_token_requests == 0


def test_an_eks_api_out_of_reach_is_waited_for_then_fails_clearly(member, host, ca, monkeypatch):
    from rehearsal.eks_api import EksApi
    closed = EksApi(lambda region, name: None)
    closed.close()  # nothing listens there now: connection refused
    monkeypatch.setenv("AWS_ENDPOINT_URL_EKS", closed.url)
    event = {"RequestType": "Create", "ResourceProperties": props(member, host, ca)}
    event.update(handler.on_event(event))
    assert handler.is_complete({**event, "Data": {"Deadline": str(int(time.time()) + 60)}}) == {"IsComplete": False}
    with pytest.raises(RuntimeError, match="still waiting for: describing member 'fed-2' \\(eks:DescribeCluster of "
                                           r"fedeks-test-fed-2 in us-east-2\): EKS API not reachable"):
        handler.is_complete({**event, "Data": {"Deadline": "0"}})
    assert member.emulator.eks_token_requests == 0


def test_a_function_without_its_environments_prefix_serves_nothing(member, host, ca, monkeypatch):
    monkeypatch.delenv(contract.EKS_NAME_PREFIX_ENV)
    with pytest.raises(allowed_clusters.NotAllowed, match=contract.EKS_NAME_PREFIX_ENV):
        handler.on_event({"RequestType": "Create", "ResourceProperties": props(member, host, ca)})


def test_delete_of_a_member_outside_the_federation_cleans_only_the_host(member, host, ca, monkeypatch):
    drive("Create", props(member, host, ca))
    foreign = props(member, host, ca)
    foreign["Member"] = {**foreign["Member"], "Endpoint": "https://elsewhere.example"}
    before = member.emulator.eks_token_requests
    _, result, _ = drive("Delete", foreign, physical_id="x")
    assert "member fed-2: nothing removed" in result["Data"]["LeftBehind"]
    assert member.emulator.eks_token_requests == before  # no token went to it
    assert host.names("kubefedclusters") == []


# --- teardown ------------------------------------------------------------------------------------

def test_teardown_attempts_every_type_config_and_reports_what_it_left(host, ca, small_budget):
    add_type_configs(host)
    host.inject("DELETE", r"/federatedtypeconfigs/deployments.apps$", 500, "etcd down", times=10_000)
    event = teardown_event("Delete", host, ca, PhysicalResourceId="x")
    event = {**event, **handler.on_event(event)}
    event["Data"] = {"Deadline": str(int(time.time()) - contract.GIVE_UP_SECONDS - 1)}  # past every bound
    result = handler.is_complete(event, LambdaContext(4))
    assert result["IsComplete"] and "deployments.apps" in result["Data"]["LeftBehind"]
    assert host.find("federatedtypeconfigs", NS, "services") is None or \
        host.find("federatedtypeconfigs", NS, "services")["metadata"].get("deletionTimestamp")


def test_teardown_with_a_ca_mismatch_gives_up_with_a_reason(emulators, ca, other_ca):
    wrong = emulators.start("fed-1", "us-east-1", ca=other_ca)
    event = teardown_event("Delete", wrong, ca, PhysicalResourceId="x")
    event = {**event, **handler.on_event(event)}
    event["Data"] = {"Deadline": str(int(time.time()) - contract.GIVE_UP_SECONDS - 1)}
    result = handler.is_complete(event)
    assert result["IsComplete"] and "TLS failed" in result["Data"]["LeftBehind"]


# --- least power: a delete removes only what its join made ---------------------------------------------------

def test_a_forged_delete_naming_another_namespace_removes_nothing(member, host, ca):
    drive("Create", props(member, host, ca))
    member.put("namespaces", "", "v1", None, "echo", {"apiVersion": "v1", "kind": "Namespace",
                                                      "metadata": {"name": "echo", "uid": "echo-uid"}})
    member.put("serviceaccounts", "", "v1", "echo", "fed-2-fed-1", {
        "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "fed-2-fed-1", "namespace": "echo"}})
    forged = {**props(member, host, ca), "Namespace": "echo"}
    _, result, _ = drive("Delete", forged, physical_id=f"kubefed-join/echo/fed-1/fed-2")
    assert result["IsComplete"]
    assert member.find("namespaces", None, "echo") is not None  # not made by a join: kept
    assert member.find("serviceaccounts", "echo", "fed-2-fed-1") is not None  # no label: not ours
    assert all(v is not None for v in member_objects(member).values())  # the real join's objects stay
    assert host.find("kubefedclusters", NS, "fed-2") is not None


def test_the_member_namespace_goes_only_when_a_join_made_it(member, host, ca):
    member.put("namespaces", "", "v1", None, NS, {"apiVersion": "v1", "kind": "Namespace",
                                                  "metadata": {"name": NS, "uid": "made-by-someone"}})
    event, _, _ = drive("Create", props(member, host, ca))
    assert "annotations" not in (member.find("namespaces", None, NS)["metadata"])  # an existing one is not patched
    drive("Delete", props(member, host, ca), physical_id=event["PhysicalResourceId"])
    assert all(v is None for v in member_objects(member).values())
    assert member.find("namespaces", None, NS) is not None  # the join did not make it: kept


def test_a_conflict_on_create_is_retried_as_a_conflict(member, host, ca):
    fault = member.inject("POST", r"/serviceaccounts$", status=409, message="Operation cannot be fulfilled", times=2)
    drive("Create", props(member, host, ca))
    assert fault.seen == 2 and member.find("serviceaccounts", NS, SA) is not None


def test_a_kubefed_kind_that_is_not_served_fails_at_once_naming_the_crd(member, host, ca):
    host.inject("POST", r"/kubefedclusters$", status=404, message="the server could not find the requested resource",
                times=100)
    start = time.monotonic()
    with pytest.raises(RuntimeError) as err:
        drive("Create", props(member, host, ca), deadline_in=DEADLINE)
    assert time.monotonic() - start < 60
    assert "does not serve KubeFedCluster" in str(err.value) and "is gone" not in str(err.value)


# --- rollbacks that finish ------------------------------------------------------------------------------------

def test_an_update_failing_on_an_unreachable_member_does_not_fail_its_rollback(emulators, member, host, ca):
    before = props(member, host, ca)
    event, _, _ = drive("Create", before)
    after = {**before, "Labels": {**before["Labels"], "tier": "gold"}}
    emulators.dns.register(member.hostname, 9)  # the member stops answering (nothing listens there)
    with pytest.raises(RuntimeError, match="fed-2 did not join KubeFed.*not reachable"):
        drive("Update", after, physical_id=event["PhysicalResourceId"], old=before, deadline_in=1.0)
    # CloudFormation's rollback: an update back to the old properties, the member still unreachable.
    start = time.monotonic()
    _, result, polls = drive("Update", before, physical_id=event["PhysicalResourceId"], old=after, deadline_in=1.0)
    assert polls == 1 and time.monotonic() - start < 30
    assert result["Data"]["KubeFedCluster"] == "fed-2" and "not reachable" in result["Data"]["NotVerified"]


def test_an_update_to_a_state_never_ready_still_fails_when_a_member_is_unreachable(emulators, member, host, ca):
    before = props(member, host, ca)
    event, _, _ = drive("Create", before)
    emulators.dns.register(member.hostname, 9)
    other = {**before, "Labels": {**before["Labels"], "tier": "gold"}}
    with pytest.raises(RuntimeError, match="not reachable"):
        drive("Update", other, physical_id=event["PhysicalResourceId"], old=before, deadline_in=1.0)
