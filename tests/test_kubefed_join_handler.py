"""The join/unjoin handler, with the real `kubernetes` client over HTTPS against two emulated API
servers on localhost (host and member, reached by EKS endpoint names), through the Provider framework's
on_event/is_complete calls."""
from __future__ import annotations

import base64
import logging
import os
import socket
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest

from components.kubefed_join import contract
from components.kubefed_join.kubefed_join import JoinTarget, join_properties, teardown_properties
from components.kube_access import allowed_clusters, kube_api
from components.kubefed_join.runtime import handler
from components.kubefed_join.runtime.properties import InvalidProperties
from kube_emulator import EmulatorLoop, make_test_ca
from rehearsal import iam
from rehearsal.eks_api import EksApi, EksCluster

NS = "kube-federation-system"
# Deadlines of the joins in tests that do not test a deadline: long enough for any machine load (the suite's
# per-test timeout, 300 s, is the bound that matters), so only the number of polls, not time, decides.
DEADLINE = 240.0
# Polls a join may take: each poll waits for the emulated controllers to catch up (between_polls), so a join
# needs a handful whatever the load; more means it does not converge.
MAX_POLLS = 60
_running: list = []  # the EmulatorLoop of the current test

# What the host's CRD (core.kubefed.io_kubefedclusters, KubeFed v0.10.0) enforces on a KubeFedCluster
# spec, restated here: apiEndpoint and secretRef.name are required strings, caBundle is base64 bytes,
# disabledTLSValidations an array of strings, proxyURL a string.
KUBEFEDCLUSTER_SPEC_SCHEMA = {
    "type": "object",
    "required": ["apiEndpoint", "secretRef"],
    "properties": {
        "apiEndpoint": {"type": "string"},
        "caBundle": {"type": "string", "contentEncoding": "base64", "pattern": r"^[A-Za-z0-9+/]*={0,2}$"},
        "secretRef": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
        "disabledTLSValidations": {"type": "array", "items": {"type": "string"}},
        "proxyURL": {"type": "string"},
    },
    "additionalProperties": False,
}


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


# The clusters the emulated EKS API describes: (region, EKS name) -> its answer. The function asks it with botocore
# (AWS_ENDPOINT_URL_EKS), as it asks EKS in AWS.
EKS: dict[tuple[str, str], EksCluster] = {}


def serve(monkeypatch, name: str, region: str, endpoint: str, ca_data: str | None = None) -> None:
    """A cluster of the function's environment: EKS describes it (with the test CA unless `ca_data`, tagged with the
    environment as the cluster stack tags it), and the function has the environment's prefix and name, as the
    construct sets them."""
    EKS[region, EKS_PREFIX + name] = EksCluster(EKS_PREFIX + name, region, endpoint.rstrip("/"),
                                                ca_data or _running[0].ca.ca_data,
                                                tags={contract.ENVIRONMENT_TAG: ENVIRONMENT})
    function_environment(monkeypatch)


def function_environment(monkeypatch, prefix: str = "", environment: str = "") -> None:
    """The function's environment variables, as the construct sets them (this test's environment by default)."""
    monkeypatch.setenv(contract.EKS_NAME_PREFIX_ENV, prefix or EKS_PREFIX)
    monkeypatch.setenv(contract.ENVIRONMENT_ENV, environment or ENVIRONMENT)


def describe_policy(prefix: str = "", environment: str = "", condition: bool = True) -> dict:
    """The functions' DescribeCluster policy, as the construct writes it (components/cluster_functions.py)."""
    statement = {"Effect": "Allow", "Action": "eks:DescribeCluster",
                 "Resource": contract.describe_policy_resource("aws", ACCOUNT, prefix or EKS_PREFIX)}
    if condition:
        statement["Condition"] = contract.describe_policy_condition(environment or ENVIRONMENT)
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
    _running[:] = [loop]
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
    _running.clear()
    eks.close()
    loop.close()


def install_kubefed(host, scope="Cluster"):
    if host.find("namespaces", None, NS) is None:
        host.put("namespaces", "", "v1", None, NS, {"apiVersion": "v1", "kind": "Namespace",
                                                   "metadata": {"name": NS, "uid": str(uuid.uuid4())}})
    host.put("kubefedconfigs", "core.kubefed.io", "v1beta1", NS, "kubefed",
             {"apiVersion": "core.kubefed.io/v1beta1", "kind": "KubeFedConfig",
              "metadata": {"name": "kubefed", "namespace": NS}, "spec": {"scope": scope}})


@pytest.fixture
def host(emulators):
    server = emulators.start("fed-1", "us-east-1", kubefed_controller=True)
    install_kubefed(server)
    return server


@pytest.fixture
def member(emulators):
    return emulators.start("fed-2", "us-east-2")


EKS_PREFIX = "fedeks-test-"
ENVIRONMENT = "test"
ACCOUNT = "123456789012"  # the emulated EKS API's (rehearsal/eks_api.py EksCluster)


def target(server, ca) -> JoinTarget:
    return JoinTarget(name=server.name, eks_cluster_name=EKS_PREFIX + server.name, region=server.region,
                      endpoint=server.endpoint, ca_data=ca.ca_data)


def ref(server, ca) -> dict:
    """A cluster property, as the construct writes it."""
    return target(server, ca).as_property()


def props(member, host, ca, scope="Cluster", **extra) -> dict:
    """A join's properties, as the construct writes them (plus the Provider's ServiceToken)."""
    written = join_properties(member=target(member, ca), host=target(host, ca), namespace=NS, scope=scope,
                              labels={"topology.kubernetes.io/region": member.region}, timeout_seconds=300)
    return {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:x", **written, **extra}


def between_polls() -> None:
    """What the Provider framework's wait between polls stands for: the clusters' controllers (token, namespace,
    KubeFed) each run a whole round. Waiting for that, rather than for a fixed time, keeps the number of polls a
    join takes independent of the machine's load."""
    for loop in _running:
        loop.settle()


def provider_event(request_type, properties, physical_id=None, old=None) -> dict:
    """The event CloudFormation's request becomes in the Provider framework, before on_event."""
    event = {"RequestType": request_type, "ResourceProperties": properties, "RequestId": "r", "StackId": "s",
             "LogicalResourceId": "Join"}
    if physical_id:
        event["PhysicalResourceId"] = physical_id
    if old is not None:
        event["OldResourceProperties"] = old
    return event


def provider(request_type, properties, physical_id=None, old=None, deadline_in=DEADLINE, max_polls=MAX_POLLS):
    """Drive the handler as the CDK Provider framework does: on_event once, then is_complete until done."""
    event = provider_event(request_type, properties, physical_id, old)
    result = handler.on_event(event)
    event = {**event, **result}
    # The deadline comes from on_event; tests shorten it so that timeouts take seconds, not minutes.
    event["Data"] = {**result.get("Data", {}), "Deadline": str(int(time.time() + deadline_in))}
    for poll in range(1, max_polls + 1):
        done = handler.is_complete(event)
        if done["IsComplete"]:
            return event["PhysicalResourceId"], poll
        between_polls()
    raise AssertionError("the join never completed")


def join(member, host, ca, **kw):
    return provider("Create", props(member, host, ca, **kw))


def allow(monkeypatch, cluster: dict) -> None:
    """Add a cluster (a Member/Host property) to those the function serves, as the construct would."""
    serve(monkeypatch, cluster[contract.NAME], cluster[contract.REGION], cluster[contract.ENDPOINT])


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_create_joins_the_member_in_cluster_scope(member, host, ca):
    physical_id, _ = join(member, host, ca)
    assert physical_id == f"kubefed-join/{NS}/fed-1/fed-2"

    assert member.find("namespaces", None, NS) is not None
    sa = member.find("serviceaccounts", NS, "fed-2-fed-1")
    assert sa["automountServiceAccountToken"] is False
    token_secret = member.find("secrets", NS, "fed-2-fed-1")
    assert token_secret["type"] == "kubernetes.io/service-account-token"
    assert token_secret["metadata"]["annotations"]["kubernetes.io/service-account.name"] == "fed-2-fed-1"
    role = member.find("clusterroles", None, "kubefed-controller-manager:fed-2-fed-1")
    assert {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]} in role["rules"]
    assert {"nonResourceURLs": ["*"], "verbs": ["get"]} in role["rules"]
    binding = member.find("clusterrolebindings", None, "kubefed-controller-manager:fed-2-fed-1")
    assert binding["roleRef"]["name"] == "kubefed-controller-manager:fed-2-fed-1"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "fed-2-fed-1", "namespace": NS}]
    assert member.find("roles", NS, "kubefed-controller-manager:fed-2-fed-1") is None

    cluster = host.find("kubefedclusters", NS, "fed-2")
    jsonschema.validate(cluster["spec"], KUBEFEDCLUSTER_SPEC_SCHEMA)
    assert cluster["spec"]["apiEndpoint"] == member.endpoint.lower()
    assert cluster["spec"]["caBundle"] == ca.ca_data
    host_secret = host.find("secrets", NS, cluster["spec"]["secretRef"]["name"])
    assert host_secret["data"] == {"token": token_secret["data"]["token"]}
    assert cluster["metadata"]["labels"]["topology.kubernetes.io/region"] == "us-east-2"
    assert {"type": "Ready", "status": "True"}.items() <= cluster["status"]["conditions"][0].items()
    # Every request carried an EKS token minted for the right region (or was refused).
    assert member.emulator.unauthenticated == 0 and host.emulator.unauthenticated == 0


def test_create_in_namespaced_scope_grants_namespace_rbac_and_healthcheck(member, host, ca):
    install_kubefed(host, scope="Namespaced")
    join(member, host, ca, scope="Namespaced")
    role = member.find("roles", NS, "kubefed-controller-manager:fed-2-fed-1")
    assert role["rules"] == [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
    assert member.find("rolebindings", NS, "kubefed-controller-manager:fed-2-fed-1")["subjects"][0]["name"] == \
        "fed-2-fed-1"
    health = member.find("clusterroles", None, f"kubefed-controller-manager:{NS}:healthcheck-fed-2-fed-1")
    assert {"nonResourceURLs": ["/healthz"], "verbs": ["get"]} in health["rules"]
    assert {"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]} in health["rules"]
    assert member.find("clusterrolebindings", None, f"kubefed-controller-manager:{NS}:healthcheck-fed-2-fed-1")
    assert member.find("clusterroles", None, "kubefed-controller-manager:fed-2-fed-1") is None


def eventually(check, rounds=200):
    """Wait for a controller of the emulated cluster (namespace deletion, KubeFed) to get `check()` true, for at
    most `rounds` rounds of every controller (not a wall-clock time: a loaded machine only makes rounds slower)."""
    for _ in range(rounds):
        if check():
            return
        between_polls()
    raise AssertionError("the emulated controllers never got there")


def assert_unjoined(member, host):
    for plural in ("serviceaccounts", "secrets", "roles", "rolebindings", "clusterroles", "clusterrolebindings"):
        assert member.names(plural) == [], plural
    eventually(lambda: member.find("namespaces", None, NS) is None)  # terminating, then gone
    assert host.names("kubefedclusters") == []
    assert host.names("secrets") == []


def test_delete_unjoins_both_sides(member, host, ca):
    physical_id, _ = join(member, host, ca)
    provider("Delete", props(member, host, ca), physical_id=physical_id)
    assert_unjoined(member, host)
    assert host.find("kubefedconfigs", NS, "kubefed") is not None  # the control plane stays


def test_host_joins_itself_and_keeps_its_namespace_on_unjoin(host, ca):
    physical_id, _ = join(host, host, ca)
    cluster = host.find("kubefedclusters", NS, "fed-1")
    assert cluster["status"]["conditions"][0]["type"] == "Ready"
    assert host.find("secrets", NS, "fed-1-fed-1")["type"] == "kubernetes.io/service-account-token"
    provider("Delete", props(host, host, ca), physical_id=physical_id)
    assert host.find("namespaces", None, NS) is not None
    assert host.names("kubefedclusters") == [] and host.names("secrets") == []
    assert host.names("clusterroles") == []


def test_update_to_namespaced_scope_rejoins_and_removes_cluster_rbac(member, host, ca):
    physical_id, _ = join(member, host, ca)
    install_kubefed(host, scope="Namespaced")  # the chart upgrade lands first (stack ordering)
    new_id, _ = provider("Update", props(member, host, ca, scope="Namespaced"), physical_id=physical_id,
                         old=props(member, host, ca))
    assert new_id == physical_id  # same names: updated in place, not replaced
    assert member.find("clusterroles", None, "kubefed-controller-manager:fed-2-fed-1") is None
    assert member.find("roles", NS, "kubefed-controller-manager:fed-2-fed-1") is not None


def test_update_of_labels_and_endpoint_rewrites_the_kubefedcluster(member, host, ca):
    physical_id, _ = join(member, host, ca)
    changed = props(member, host, ca, Labels={"topology.kubernetes.io/region": "us-east-2", "tier": "gold"})
    provider("Update", changed, physical_id=physical_id, old=props(member, host, ca))
    assert host.find("kubefedclusters", NS, "fed-2")["metadata"]["labels"]["tier"] == "gold"


def test_name_change_gets_a_new_physical_id_so_cloudformation_replaces(member, host, ca, monkeypatch):
    renamed = props(member, host, ca)
    renamed["Member"] = {**renamed["Member"], "Name": "fed-9", "EksClusterName": "fedeks-test-fed-9"}
    allow(monkeypatch, renamed["Member"])
    result = handler.on_event({"RequestType": "Update", "ResourceProperties": renamed,
                               "PhysicalResourceId": f"kubefed-join/{NS}/fed-1/fed-2"})
    assert result["PhysicalResourceId"] == f"kubefed-join/{NS}/fed-1/fed-9"


def test_member_unreachable_during_create_fails_clearly_after_the_deadline(emulators, host, ca, monkeypatch):
    gone = props(host, host, ca)
    gone["Member"] = {**gone["Member"], "Name": "fed-3", "Region": "us-west-2", "EksClusterName": "fedeks-test-fed-3",
                      "Endpoint": emulators.unreachable_endpoint("us-west-2")}  # nothing listens there
    allow(monkeypatch, gone["Member"])
    start = time.monotonic()
    with pytest.raises(RuntimeError) as err:
        provider("Create", gone, deadline_in=1.5)
    assert time.monotonic() - start < 15
    message = str(err.value)
    assert "fed-3 did not join KubeFed" in message
    assert "member fed-3" in message and "not reachable" in message
    assert host.names("kubefedclusters") == []  # nothing half-made on the host


def test_member_unreachable_during_delete_still_cleans_the_host(emulators, host, member, ca, monkeypatch):
    physical_id, _ = join(member, host, ca)
    gone = props(member, host, ca)
    gone["Member"] = {**gone["Member"], "Endpoint": emulators.unreachable_endpoint(member.region)}
    allow(monkeypatch, gone["Member"])
    provider("Delete", gone, physical_id=physical_id, deadline_in=1.0)
    assert host.names("kubefedclusters") == [] and host.names("secrets") == []


def test_unjoin_of_a_cluster_removed_from_the_config_leaves_its_side_and_cleans_the_host(emulators, host, member,
                                                                                        ca, monkeypatch, caplog):
    """The update that removed fed-2 updated the teardown first (it recorded fed-1 alone on the host); the cleanup
    phase's unjoin then does nothing on fed-2, which the function may no longer reach (its 443 rule went with the
    update), and completes at once, leaving nothing behind."""
    physical_id, _ = join(member, host, ca)
    run_teardown(teardown_event("Update", host, ca, members=("fed-1",), PhysicalResourceId="t"))
    gone = props(member, host, ca)
    gone["Member"] = {**gone["Member"], "Endpoint": emulators.unreachable_endpoint(member.region)}
    allow(monkeypatch, gone["Member"])
    with caplog.at_level(logging.INFO, logger="kubefed_join"):
        _, polls = provider("Delete", gone, physical_id=physical_id, deadline_in=DEADLINE)
    assert polls == 1 and "fed-2 left the federation" in caplog.text
    assert host.names("kubefedclusters") == [] and host.names("secrets") == []
    assert member.find("serviceaccounts", NS, "fed-2-fed-1") is not None  # its side stays, and goes with it
    # Still listed (a federation torn down, or a host move): the member's side is removed as ever.
    run_teardown(teardown_event("Update", host, ca, members=("fed-1", "fed-2"), PhysicalResourceId="t"))
    physical_id, _ = join(member, host, ca)
    provider("Delete", props(member, host, ca), physical_id=physical_id)
    assert member.find("serviceaccounts", NS, "fed-2-fed-1") is None


def test_webhook_refusing_at_first_is_waited_for(member, host, ca, caplog):
    fault = host.inject("POST", r"/kubefedclusters$", 500,
                        'Internal error occurred: failed calling webhook "kubefedclusters.core.kubefed.io": '
                        'connection refused', times=3)
    with caplog.at_level(logging.INFO, logger="kubefed_join"):
        _, polls = join(member, host, ca)
    assert fault.seen == 3 and polls >= 4
    assert "admission webhook is not serving yet" in caplog.text
    assert host.find("kubefedclusters", NS, "fed-2")["status"]["conditions"][0]["type"] == "Ready"


def test_token_filled_late_is_waited_for(emulators, host, ca, caplog):
    slow = emulators.start("fed-2", "us-east-2", token_delay=0.6)
    with caplog.at_level(logging.INFO, logger="kubefed_join"):
        _, polls = join(slow, host, ca)
    assert "token controller has not filled" in caplog.text and polls >= 2
    assert host.find("secrets", NS, "fed-2.kubefed-token")["data"]["token"]


def test_objects_left_by_a_crashed_attempt_are_adopted_not_conflicting(member, host, ca):
    # A first attempt died after creating some objects, with stale content.
    member.put("serviceaccounts", "", "v1", NS, "fed-2-fed-1",
               {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "fed-2-fed-1", "namespace": NS}})
    member.put("namespaces", "", "v1", None, NS, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    member.put("clusterroles", "rbac.authorization.k8s.io", "v1", None, "kubefed-controller-manager:fed-2-fed-1",
               {"metadata": {"name": "kubefed-controller-manager:fed-2-fed-1"},
                "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]})
    host.put("secrets", "", "v1", NS, "fed-2.kubefed-token",
             {"metadata": {"name": "fed-2.kubefed-token", "namespace": NS}, "data": {"token": b64("stale")}})
    host.put("kubefedclusters", "core.kubefed.io", "v1beta1", NS, "fed-2",
             {"metadata": {"name": "fed-2", "namespace": NS},
              "spec": {"apiEndpoint": "https://old.example", "secretRef": {"name": "fed-2.kubefed-token"}}})
    join(member, host, ca)
    assert member.find("serviceaccounts", NS, "fed-2-fed-1")["automountServiceAccountToken"] is False
    rules = member.find("clusterroles", None, "kubefed-controller-manager:fed-2-fed-1")["rules"]
    assert {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]} in rules
    cluster = host.find("kubefedclusters", NS, "fed-2")
    assert cluster["spec"]["apiEndpoint"] == member.endpoint.lower()
    fresh = member.find("secrets", NS, "fed-2-fed-1")["data"]["token"]
    assert host.find("secrets", NS, "fed-2.kubefed-token")["data"]["token"] == fresh != b64("stale")


def test_delete_when_the_kubefedcluster_is_already_gone(member, host, ca):
    physical_id, _ = join(member, host, ca)
    host.run(lambda: [obj.delete() for (res, _, _), obj in host.emulator.objects.items()
                      if res.plural == "kubefedclusters"])
    provider("Delete", props(member, host, ca), physical_id=physical_id)
    assert_unjoined(member, host)


def test_server_errors_then_success(member, host, ca):
    fault = member.inject("POST", r"/serviceaccounts$", 500, "etcdserver: request timed out", times=2)
    host_fault = host.inject("GET", r"/kubefedconfigs/kubefed$", 503, "service unavailable", times=1)
    _, polls = join(member, host, ca)
    assert fault.seen == 2 and host_fault.seen == 1 and polls >= 4
    assert member.find("serviceaccounts", NS, "fed-2-fed-1") is not None


def test_access_entry_not_yet_propagated_is_waited_for(member, host, ca):
    fault = member.inject("POST", r"/namespaces$", 403, "forbidden", times=2)
    join(member, host, ca)
    assert fault.seen == 2


def test_missing_control_plane_fails_at_once_and_touches_nothing(emulators, member, ca):
    bare = emulators.start("fed-1", "us-east-1")
    with pytest.raises(RuntimeError, match="KubeFedConfig 'kubefed' not found in namespace kube-federation-system"):
        provider("Create", props(member, bare, ca))
    assert member.names("serviceaccounts") == []


@pytest.mark.parametrize("change, expected", [
    (lambda p: p.pop("Member"), "Member: must be an object"),
    (lambda p: p["Member"].update(Endpoint="http://insecure.example"), "Member.Endpoint"),
    (lambda p: p["Host"].update(CaData="not base64!"), "Host.CaData"),
    (lambda p: p["Member"].update(Name="Fed_2"), "Member.Name"),
    (lambda p: p.update(Scope="Everything"), "Scope"),
    (lambda p: p.update(Labels={"bad key!": "x"}), "Labels.bad key!"),
    (lambda p: p.update(TimeoutSeconds="soon"), "TimeoutSeconds"),
])
def test_bad_properties_fail_the_resource_before_any_request(member, host, ca, change, expected):
    bad = props(member, host, ca)
    change(bad)
    with pytest.raises(InvalidProperties, match=expected.replace(".", r"\.").replace("!", "!")):
        handler.on_event({"RequestType": "Create", "ResourceProperties": bad})
    assert member.names("namespaces") == [] and host.names("kubefedclusters") == []


def test_delete_of_a_resource_that_never_had_valid_properties_succeeds():
    event = {"RequestType": "Delete", "PhysicalResourceId": "failed-create", "ResourceProperties": {"Scope": "?"}}
    event = {**event, **handler.on_event(event)}
    assert handler.is_complete(event) == {"IsComplete": True}


def test_no_token_in_logs_or_results(member, host, ca, caplog):
    with caplog.at_level(logging.DEBUG):
        physical_id, _ = join(member, host, ca)
        provider("Delete", props(member, host, ca), physical_id=physical_id)
    issued = member.run(lambda: set(member.emulator.issued_tokens))
    assert issued
    for token in issued:
        assert token not in caplog.text and b64(token) not in caplog.text
    assert "k8s-aws-v1." not in caplog.text and "X-Amz-Signature" not in caplog.text


def test_eks_token_is_a_presigned_sts_url_bound_to_the_cluster_name():
    from components.kubefed_join.runtime.properties import ClusterRef
    token = kube_api.eks_token(ClusterRef("fed-2", "fedeks-dev-fed-2", "eu-west-1", "https://x", ""))
    assert token.startswith("k8s-aws-v1.") and "=" not in token
    payload = token[len("k8s-aws-v1."):]
    url = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.hostname == "sts.eu-west-1.amazonaws.com"
    assert query["Action"] == ["GetCallerIdentity"] and query["X-Amz-Expires"] == ["60"]
    assert query["X-Amz-SignedHeaders"][0].split(";") == ["host", "x-k8s-aws-id"]


# --- teardown: FederatedTypeConfigs released before the chart is uninstalled ----------------------

def add_type_configs(host, names=("deployments.apps", "services"), helm: bool = True):
    """FederatedTypeConfigs as the chart's release leaves them (with Helm's release metadata), or made otherwise."""
    from kube_emulator import FTC_FINALIZER
    released = {"labels": {"app.kubernetes.io/managed-by": "Helm"},
                "annotations": {"meta.helm.sh/release-name": "kubefed-types", "meta.helm.sh/release-namespace": NS}}
    for name in names:
        host.put("federatedtypeconfigs", "core.kubefed.io", "v1beta1", NS, name,
                 {"apiVersion": "core.kubefed.io/v1beta1", "kind": "FederatedTypeConfig",
                  "metadata": {"name": name, "namespace": NS, "finalizers": [FTC_FINALIZER], **(released if helm else {})},
                  "spec": {"propagation": "Enabled"}})


def teardown_event(request_type, host, ca, members=("fed-1", "fed-2"), **extra):
    return {"RequestType": request_type, "ResourceType": contract.TEARDOWN_TYPE,
            "ResourceProperties": teardown_properties(host=target(host, ca), namespace=NS, timeout_seconds=300,
                                                      members=list(members)), **extra}


def run_teardown(event, deadline_in=10.0, max_polls=MAX_POLLS):
    event = {**event, **handler.on_event(event)}
    event["Data"] = {"Deadline": str(int(time.time() + deadline_in))}
    for poll in range(1, max_polls + 1):
        if handler.is_complete(event)["IsComplete"]:
            return poll
        between_polls()
    raise AssertionError("the teardown never completed")


def test_teardown_create_and_update_record_the_federations_clusters_and_touch_nothing_else(host, ca):
    add_type_configs(host)
    event = teardown_event("Create", host, ca)
    result = handler.on_event(event)
    assert result["PhysicalResourceId"] == f"kubefed-teardown/{NS}/fed-1"
    assert handler.is_complete({**event, **result}) == {"IsComplete": True}
    assert len(host.names("federatedtypeconfigs")) == 2
    assert host.find("configmaps", NS, contract.MEMBERS_CONFIGMAP)["data"] == {"clusters": "fed-1,fed-2"}
    update = teardown_event("Update", host, ca, members=("fed-1",), PhysicalResourceId=result["PhysicalResourceId"])
    assert handler.is_complete({**update, **handler.on_event(update)}) == {"IsComplete": True}
    assert host.find("configmaps", NS, contract.MEMBERS_CONFIGMAP)["data"] == {"clusters": "fed-1"}


def test_teardown_delete_lets_the_controller_release_type_configs(host, ca):
    add_type_configs(host)
    run_teardown(teardown_event("Create", host, ca))
    polls = run_teardown(teardown_event("Delete", host, ca, PhysicalResourceId=f"kubefed-teardown/{NS}/fed-1"))
    assert polls >= 2 and host.names("federatedtypeconfigs") == []
    assert host.find("configmaps", NS, contract.MEMBERS_CONFIGMAP) is None  # the record goes with it


def test_teardown_removes_finalizers_when_no_controller_releases_them(emulators, ca, caplog):
    bare = emulators.start("fed-1", "us-east-1")  # no KubeFed controller running
    install_kubefed(bare)
    add_type_configs(bare)
    with caplog.at_level(logging.INFO, logger="kubefed_join"):
        run_teardown(teardown_event("Delete", bare, ca, PhysicalResourceId="x"), deadline_in=1.0)
    assert bare.names("federatedtypeconfigs") == []
    assert "removed the finalizers of FederatedTypeConfig deployments.apps" in caplog.text


def test_teardown_with_nothing_to_release_and_an_unreachable_host(emulators, host, ca, monkeypatch):
    assert run_teardown(teardown_event("Delete", host, ca, PhysicalResourceId="x")) == 1
    gone = teardown_event("Delete", host, ca, PhysicalResourceId="x")
    gone["ResourceProperties"]["Host"]["Endpoint"] = emulators.unreachable_endpoint(host.region)
    allow(monkeypatch, gone["ResourceProperties"]["Host"])
    run_teardown(gone, deadline_in=-GIVE_UP)  # past every bound: gives up rather than block the delete


GIVE_UP = contract.GIVE_UP_SECONDS + 1


def test_teardown_leaves_type_configs_no_helm_release_made(host, ca):
    add_type_configs(host, names=("widgets.example.com",), helm=False)
    add_type_configs(host)
    run_teardown(teardown_event("Delete", host, ca, PhysicalResourceId="t"))
    assert host.find("federatedtypeconfigs", NS, "widgets.example.com") is not None
    assert host.find("federatedtypeconfigs", NS, "services") is None


def test_a_pair_of_names_kubernetes_cannot_hold_is_refused_before_anything_is_touched(ca):
    """The model keeps cluster names to 30 characters (federated_eks/model/federation.py MAX_CLUSTER_NAME); the join
    checks the name it derives, `<member>-<host>`, against Kubernetes' own limit of 63."""
    host = {contract.NAME: "h" * 31, contract.EKS_CLUSTER_NAME: "fedeks-test-" + "h" * 31, contract.REGION: "us-east-1",
            contract.ENDPOINT: "https://" + "A" * 32 + ".gr7.us-east-1.eks.amazonaws.com", contract.CA_DATA: ca.ca_data}
    member = dict(host, **{contract.NAME: "m" * 32, contract.EKS_CLUSTER_NAME: "fedeks-test-" + "m" * 32})
    from components.kubefed_join.runtime.properties import parse
    with pytest.raises(InvalidProperties, match=r"make the service account name 'm{32}-h{31}', over Kubernetes' 63"):
        parse({contract.MEMBER: member, contract.HOST: host, contract.NAMESPACE: NS, contract.SCOPE: "Namespaced",
               contract.TIMEOUT_SECONDS: "600"})
    assert parse({contract.MEMBER: dict(member, **{contract.NAME: "m" * 31}), contract.HOST: host,
                  contract.NAMESPACE: NS, contract.SCOPE: "Namespaced", contract.TIMEOUT_SECONDS: "600"}).member.name \
        == "m" * 31
