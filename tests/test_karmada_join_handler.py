"""The Karmada join Lambda (Custom::KarmadaJoin, Custom::KarmadaObjects) with the real `kubernetes` client over TLS
against emulated servers: the host and members as EKS API servers (EKS token auth), and karmada-apiserver
(rehearsal/kubernetes/karmada.py: client-certificate auth, reached through a host node's InternalIP and the fixed
nodePort, its certificate naming only the in-cluster Service name), driven through on_event/is_complete as the
Provider framework does."""
from __future__ import annotations

import base64
import json
import logging
import time
import uuid

import pytest

from components.karmada_join import contract as c
from components.karmada_join.karmada_join import join_properties, members_properties, objects_properties
from components.karmada_join.runtime import handler, karmada_api
from components.cluster_functions import JoinTarget
from components.kube_access.kube_api import Failed
from kube_emulator import (EKS_PREFIX, between_polls, ca, emulators, fake_aws,  # noqa: F401 (the shared set-up)
                           serve)
from rehearsal.kubernetes import karmada as emulated

DEADLINE = 240.0
MAX_POLLS = 60


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    return emulated.make_karmada_certs(tmp_path_factory.mktemp("karmada"))


def with_kube_system(server):
    server.put("namespaces", "", "v1", None, "kube-system",
               {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system", "uid": str(uuid.uuid4())}})
    return server


@pytest.fixture
def host(emulators):
    return with_kube_system(emulators.start("fed-1", "us-east-1"))


@pytest.fixture
def karmada(emulators, host, certs):
    return emulated.start_karmada(emulators, host, certs)


@pytest.fixture
def member(emulators):
    return with_kube_system(emulators.start("fed-2", "us-east-2"))


def target(server, ca) -> JoinTarget:
    return JoinTarget(name=server.name, eks_cluster_name=EKS_PREFIX + server.name, region=server.region,
                      endpoint=server.endpoint, ca_data=ca.ca_data)


def join_props(member, host, ca) -> dict:
    return {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:x",
            **join_properties(member=target(member, ca), host=target(host, ca),
                              api_server_node_port=c.DEFAULT_APISERVER_NODE_PORT, timeout_seconds=300)}


def objects_props(host, ca, objects, owner="echo") -> dict:
    return {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:x",
            **objects_properties(host=target(host, ca), owner=owner, objects=objects,
                                 api_server_node_port=c.DEFAULT_APISERVER_NODE_PORT, timeout_seconds=300)}


def members_props(host, ca, members: list[str]) -> dict:
    return {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:x",
            **members_properties(host=target(host, ca), members=members, timeout_seconds=300)}


def recorded_members(host) -> dict | None:
    record = host.find("configmaps", c.MEMBERS_NAMESPACE, c.MEMBERS_CONFIGMAP)
    return None if record is None else record["data"]


def provider(request_type, properties, resource_type=c.JOIN_TYPE, physical_id=None, old=None,
             deadline_in=DEADLINE, max_polls=MAX_POLLS, force_in=None, each_poll=lambda: None):
    """Drive the handler as the CDK Provider framework does: on_event once, then is_complete until done."""
    event = {"RequestType": request_type, "ResourceType": resource_type, "ResourceProperties": properties,
             "RequestId": "r", "StackId": "s", "LogicalResourceId": "Join"}
    if physical_id:
        event["PhysicalResourceId"] = physical_id
    if old is not None:
        event["OldResourceProperties"] = old
    result = handler.on_event(event)
    event = {**event, **result}
    event["Data"] = {**result.get("Data", {}), "Deadline": str(int(time.time() + deadline_in))}
    if force_in is not None:
        event["Data"]["ForceAt"] = str(int(time.time() + force_in))
    for poll in range(1, max_polls + 1):
        done = handler.is_complete(event)
        if done["IsComplete"]:
            return event["PhysicalResourceId"], done.get("Data", {})
        each_poll()
        between_polls()
    raise AssertionError("never completed")


def kube_system_uid(server) -> str:
    return server.find("namespaces", None, "kube-system")["metadata"]["uid"]


def test_join_registers_the_member_in_push_mode(member, host, karmada, ca):
    physical_id, data = provider("Create", join_props(member, host, ca))
    assert physical_id == "karmada-join/fed-1/fed-2"
    assert data == {c.CLUSTER_ATTRIBUTE: "fed-2", c.CLUSTER_ID_ATTRIBUTE: kube_system_uid(member)}
    # The member: namespace, both service accounts with token Secrets, the controller's ClusterRole and binding.
    assert member.find("namespaces", None, "karmada-cluster")["metadata"]["labels"]["karmada.io/system"] == "true"
    for account in ("karmada-impersonator", "karmada-fed-2"):
        assert member.find("serviceaccounts", "karmada-cluster", account) is not None
        assert member.find("secrets", "karmada-cluster", account)["type"] == "kubernetes.io/service-account-token"
    role = member.find("clusterroles", None, "karmada-controller-manager:karmada-fed-2")
    assert {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]} in role["rules"]
    binding = member.find("clusterrolebindings", None, "karmada-controller-manager:karmada-fed-2")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "karmada-fed-2", "namespace": "karmada-cluster"}]
    # karmada-apiserver: the Secrets (the member's tokens and CA), owned by the Cluster; the Cluster, Ready.
    cluster = karmada.find("clusters", None, "fed-2")
    spec = cluster["spec"]
    assert spec["syncMode"] == "Push" and spec["apiEndpoint"] == member.endpoint.lower()
    assert spec["id"] == kube_system_uid(member) and spec["region"] == "us-east-2"
    assert spec["secretRef"] == {"namespace": "karmada-cluster", "name": "fed-2"}
    assert spec["impersonatorSecretRef"] == {"namespace": "karmada-cluster", "name": "fed-2-impersonator"}
    secret = karmada.find("secrets", "karmada-cluster", "fed-2")
    assert secret["data"]["caBundle"] == ca.ca_data
    assert secret["data"]["token"] == member.find("secrets", "karmada-cluster", "karmada-fed-2")["data"]["token"]
    assert karmada.find("secrets", "karmada-cluster", "fed-2-impersonator")["data"]["token"] == \
        member.find("secrets", "karmada-cluster", "karmada-impersonator")["data"]["token"]
    for name in ("fed-2", "fed-2-impersonator"):
        owners = karmada.find("secrets", "karmada-cluster", name)["metadata"]["ownerReferences"]
        assert owners == [{"apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster", "name": "fed-2",
                           "uid": cluster["metadata"]["uid"]}]
    assert [cond["status"] for cond in cluster["status"]["conditions"] if cond["type"] == "Ready"] == ["True"]


def test_the_host_joins_itself(host, karmada, ca):
    _, data = provider("Create", join_props(host, host, ca))
    assert data[c.CLUSTER_ATTRIBUTE] == "fed-1"


def test_rejoin_replaces_stale_tokens(member, host, karmada, ca):
    provider("Create", join_props(member, host, ca))
    # The member's token Secret was recreated (a new token): the join's Secret on karmada-apiserver is stale.
    member.run(lambda: [obj.delete() for key, obj in list(member.emulator.objects.items())
                        if key[0].plural == "secrets" and key[2] == "karmada-fed-2"])
    provider("Update", join_props(member, host, ca), physical_id="karmada-join/fed-1/fed-2",
             old=join_props(member, host, ca))
    fresh = member.find("secrets", "karmada-cluster", "karmada-fed-2")["data"]["token"]
    assert karmada.find("secrets", "karmada-cluster", "fed-2")["data"]["token"] == fresh


def test_a_name_or_id_registered_by_another_cluster_is_refused(member, host, karmada, ca):
    karmada.put("clusters", "cluster.karmada.io", "v1alpha1", None, "elsewhere", {
        "apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster",
        "metadata": {"name": "elsewhere", "uid": str(uuid.uuid4())},
        "spec": {"syncMode": "Push", "apiEndpoint": "https://x", "id": kube_system_uid(member)}})
    with pytest.raises(RuntimeError, match=r"id .* is already registered in Karmada as Cluster 'elsewhere'"):
        provider("Create", join_props(member, host, ca))
    karmada.put("clusters", "cluster.karmada.io", "v1alpha1", None, "fed-2", {
        "apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster",
        "metadata": {"name": "fed-2", "uid": str(uuid.uuid4())},
        "spec": {"syncMode": "Push", "apiEndpoint": "https://y", "id": "another-id"}})
    karmada.run(lambda: [obj.delete() for key, obj in list(karmada.emulator.objects.items())
                         if key[0].plural == "clusters" and key[2] == "elsewhere"])
    with pytest.raises(RuntimeError, match="the name is already registered in Karmada by another cluster"):
        provider("Create", join_props(member, host, ca))
    assert member.find("namespaces", None, "karmada-cluster") is None  # refused before touching the member


def test_delete_unjoins_and_removes_only_what_the_join_made(member, host, karmada, ca):
    provider("Create", join_props(member, host, ca))
    member.put("serviceaccounts", "", "v1", "karmada-cluster", "someone-else", {
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "someone-else", "namespace": "karmada-cluster", "uid": str(uuid.uuid4())}})
    _, data = provider("Delete", join_props(member, host, ca), physical_id="karmada-join/fed-1/fed-2")
    assert c.LEFT_BEHIND_ATTRIBUTE not in data
    assert karmada.find("clusters", None, "fed-2") is None
    assert karmada.find("secrets", "karmada-cluster", "fed-2") is None
    assert member.find("clusterroles", None, "karmada-controller-manager:karmada-fed-2") is None
    assert member.find("serviceaccounts", "karmada-cluster", "karmada-fed-2") is None


def test_delete_with_the_member_gone_forces_the_unjoin_and_finishes(emulators, member, host, karmada, ca):
    provider("Create", join_props(member, host, ca))
    deployment = echo_deployment(3)
    provider("Create", objects_props(host, ca, [NAMESPACE, deployment, policy(["fed-2"])]),
             resource_type=c.OBJECTS_TYPE)
    assert karmada.names("works") == [("karmada-es-fed-2", "echo-deployment")]
    emulators.stop(member)  # the member cluster is deleted: its name no longer resolves
    started = time.monotonic()
    _, data = provider("Delete", join_props(member, host, ca), physical_id="karmada-join/fed-1/fed-2",
                       deadline_in=20, force_in=3600)
    assert time.monotonic() - started < 60
    assert karmada.find("clusters", None, "fed-2") is None  # forced: the Works' finalizers went
    assert karmada.names("works") == []
    assert "member fed-2" in data[c.LEFT_BEHIND_ATTRIBUTE]  # what stays on the member is recorded


def test_the_members_record_is_written_updated_and_removed_on_the_host(host, karmada, ca):
    physical_id, _ = provider("Create", members_props(host, ca, ["fed-1", "fed-2", "fed-3"]),
                              resource_type=c.MEMBERS_TYPE)
    assert physical_id == "karmada-members/fed-1"
    assert recorded_members(host) == {"clusters": "fed-1,fed-2,fed-3"}  # beside the kubeconfig, in the release's ns
    provider("Update", members_props(host, ca, ["fed-1", "fed-2"]), resource_type=c.MEMBERS_TYPE,
             physical_id=physical_id, old=members_props(host, ca, ["fed-1", "fed-2", "fed-3"]))
    assert recorded_members(host) == {"clusters": "fed-1,fed-2"}
    _, data = provider("Delete", members_props(host, ca, ["fed-1", "fed-2"]), resource_type=c.MEMBERS_TYPE,
                       physical_id=physical_id)
    assert data == {} and recorded_members(host) is None


def test_a_members_record_without_members_is_refused_naming_the_property(host, ca):
    props = members_props(host, ca, ["fed-1"])
    del props[c.MEMBERS]
    with pytest.raises(Exception, match="invalid Karmada members properties: Members: must be a list of cluster names"):
        provider("Create", props, resource_type=c.MEMBERS_TYPE)
    with pytest.raises(Exception, match="Members: must be a list of cluster names"):
        provider("Create", members_props(host, ca, ["Fed_1"]), resource_type=c.MEMBERS_TYPE)


def _joined_with_a_work(member, host, ca) -> None:
    provider("Create", members_props(host, ca, ["fed-1", "fed-2"]), resource_type=c.MEMBERS_TYPE)
    provider("Create", join_props(member, host, ca))
    provider("Create", objects_props(host, ca, [NAMESPACE, echo_deployment(3), policy(["fed-2"])]),
             resource_type=c.OBJECTS_TYPE)


def test_the_unjoin_of_a_removed_unreachable_cluster_forces_karmadas_side_and_completes_at_once(
        emulators, member, host, karmada, ca):
    """fed-2 removed from the config (the record, updated first, no longer lists it) and out of the function's reach:
    the unjoin does not wait out its deadline for it. Its Cluster goes with its Works' finalizers removed (a forced
    unjoin: the member's copies cannot be removed by the controller either), nothing is recorded as left behind, and
    its own side of the join stays on it (it goes with the cluster; a re-join takes it over)."""
    _joined_with_a_work(member, host, ca)
    assert karmada.names("works") == [("karmada-es-fed-2", "echo-deployment")]
    provider("Update", members_props(host, ca, ["fed-1"]), resource_type=c.MEMBERS_TYPE,
             physical_id="karmada-members/fed-1", old=members_props(host, ca, ["fed-1", "fed-2"]))
    emulators.stop(member)
    polls = []
    _, data = provider("Delete", join_props(member, host, ca), physical_id="karmada-join/fed-1/fed-2",
                       deadline_in=DEADLINE, force_in=3600, each_poll=lambda: polls.append(1))
    assert len(polls) <= 1  # done on the first or the second poll, not at the deadline
    assert c.LEFT_BEHIND_ATTRIBUTE not in data
    assert karmada.find("clusters", None, "fed-2") is None
    assert karmada.names("works") == []
    assert karmada.find("secrets", "karmada-cluster", "fed-2") is None
    assert karmada.find("secrets", "karmada-cluster", "fed-2-impersonator") is None


def test_the_unjoin_of_a_removed_reachable_cluster_removes_both_sides(member, host, karmada, ca):
    _joined_with_a_work(member, host, ca)
    provider("Update", members_props(host, ca, ["fed-1"]), resource_type=c.MEMBERS_TYPE,
             physical_id="karmada-members/fed-1", old=members_props(host, ca, ["fed-1", "fed-2"]))
    _, data = provider("Delete", join_props(member, host, ca), physical_id="karmada-join/fed-1/fed-2")
    assert c.LEFT_BEHIND_ATTRIBUTE not in data
    assert karmada.find("clusters", None, "fed-2") is None
    assert member.find("deployments", "echo", "echo") is None  # the controller removed its copy
    assert member.find("serviceaccounts", "karmada-cluster", "karmada-fed-2") is None
    assert member.find("clusterroles", None, "karmada-controller-manager:karmada-fed-2") is None


def test_an_unreachable_cluster_still_recorded_is_waited_for_and_then_recorded_as_left_behind(
        emulators, member, host, karmada, ca):
    """The record still lists fed-2 (the whole federation is being deleted, or fed-2's path broke): its side of the
    join is waited for until the deadline and then recorded, as without a record."""
    _joined_with_a_work(member, host, ca)
    emulators.stop(member)
    _, data = provider("Delete", join_props(member, host, ca), physical_id="karmada-join/fed-1/fed-2",
                       deadline_in=20, force_in=3600)
    assert karmada.find("clusters", None, "fed-2") is None
    assert "member fed-2" in data[c.LEFT_BEHIND_ATTRIBUTE]


NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "echo"}}


def echo_deployment(replicas: int, image: str = "ealen/echo-server:0.9.2") -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "echo", "namespace": "echo"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "echo"}},
                     "template": {"metadata": {"labels": {"app": "echo"}},
                                  "spec": {"containers": [{"name": "echo", "image": image}]}}}}


def policy(clusters: list[str], weights: dict[str, int] | None = None) -> dict:
    placement: dict = {"clusterAffinity": {"clusterNames": clusters}}
    if weights:
        placement["replicaScheduling"] = {
            "replicaSchedulingType": "Divided", "replicaDivisionPreference": "Weighted",
            "weightPreference": {"staticWeightList": [{"targetCluster": {"clusterNames": [n]}, "weight": w}
                                                      for n, w in weights.items()]}}
    return {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy",
            "metadata": {"name": "echo", "namespace": "echo"},
            "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "echo"}],
                     "placement": placement}}


def test_objects_are_applied_owned_and_waited_for_then_removed(emulators, member, host, karmada, ca):
    other = with_kube_system(emulators.start("fed-3", "us-west-2"))
    for m in (member, other):
        provider("Create", join_props(m, host, ca))
    override = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "OverridePolicy",
                "metadata": {"name": "echo", "namespace": "echo"},
                "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "echo"}],
                         "overrideRules": [{"targetCluster": {"clusterNames": ["fed-3"]},
                                            "overriders": {"imageOverrider": [{"component": "Tag",
                                                                               "operator": "replace",
                                                                               "value": "0.9.3"}]}}]}}
    objs = [NAMESPACE, echo_deployment(5), policy(["fed-2", "fed-3"], {"fed-2": 2, "fed-3": 3}), override]
    physical_id, data = provider("Create", objects_props(host, ca, objs), resource_type=c.OBJECTS_TYPE)
    assert physical_id == "karmada-objects/fed-1/echo"
    assert data == {c.READY_CLUSTERS_ATTRIBUTE: "fed-2,fed-3"}
    applied = karmada.find("deployments", "echo", "echo")
    assert applied["metadata"]["labels"][c.MANAGED_BY_LABEL] == c.MANAGED_BY_VALUE
    assert applied["metadata"]["annotations"][c.OWNER_ANNOTATION] == "echo"
    assert member.find("deployments", "echo", "echo")["spec"]["replicas"] == 2
    on_other = other.find("deployments", "echo", "echo")
    assert on_other["spec"]["replicas"] == 3
    assert on_other["spec"]["template"]["spec"]["containers"][0]["image"] == "ealen/echo-server:0.9.3"

    # An update drops the override: the object goes, and the copies follow.
    provider("Update", objects_props(host, ca, objs[:3]), resource_type=c.OBJECTS_TYPE, physical_id=physical_id,
             old=objects_props(host, ca, objs))
    assert karmada.find("overridepolicies", "echo", "echo") is None

    provider("Delete", objects_props(host, ca, objs[:3]), resource_type=c.OBJECTS_TYPE, physical_id=physical_id)
    between_polls()
    assert karmada.find("deployments", "echo", "echo") is None
    assert karmada.find("namespaces", None, "echo") is None
    assert member.find("deployments", "echo", "echo") is None


def test_a_forged_delete_of_objects_not_owned_removes_nothing(member, host, karmada, ca):
    karmada.put("namespaces", "", "v1", None, "echo", {"apiVersion": "v1", "kind": "Namespace",
                                                       "metadata": {"name": "echo", "uid": str(uuid.uuid4())}})
    karmada.put("deployments", "apps", "v1", "echo", "echo", {**echo_deployment(1), "metadata": {
        "name": "echo", "namespace": "echo", "uid": str(uuid.uuid4()),
        "labels": {c.MANAGED_BY_LABEL: c.MANAGED_BY_VALUE}, "annotations": {c.OWNER_ANNOTATION: "someone"}}})
    forged = objects_props(host, ca, [NAMESPACE, echo_deployment(1)], owner="forger")
    provider("Delete", forged, resource_type=c.OBJECTS_TYPE, physical_id="karmada-objects/fed-1/forger")
    assert karmada.find("deployments", "echo", "echo") is not None
    assert karmada.find("namespaces", None, "echo") is not None
    with pytest.raises(RuntimeError, match="Deployment echo/echo exists and is owned by 'someone'"):
        provider("Create", forged, resource_type=c.OBJECTS_TYPE)


def test_rollback_to_the_last_ready_join_completes_when_the_member_is_unreachable(emulators, member, host, karmada,
                                                                                   ca):
    props = join_props(member, host, ca)
    provider("Create", props)
    emulators.stop(member)
    _, data = provider("Update", props, physical_id="karmada-join/fed-1/fed-2", old=props)
    assert "fed-2" in data[c.NOT_VERIFIED_ATTRIBUTE]


def test_karmada_apiserver_is_verified_against_its_in_cluster_name(emulators, host, ca, tmp_path, member):
    """karmada-apiserver serving a certificate of the kubeconfig's CA that does not name the in-cluster Service name
    (the kubeconfig's server) is never talked to: the join fails at its deadline saying so."""
    wrong = emulated.make_karmada_certs(tmp_path / "wrong", server_name="karmada-apiserver.elsewhere.svc")
    emulated.start_karmada(emulators, host, wrong)
    with pytest.raises(RuntimeError, match=r"karmada-apiserver not reachable .*hostname mismatch"):
        provider("Create", join_props(member, host, ca), deadline_in=2)
    assert member.find("namespaces", None, "karmada-cluster") is None


def test_the_kubeconfig_is_checked_and_never_shown(certs):
    creds = karmada_api.parse_kubeconfig(certs.kubeconfig())
    assert creds.server_name == c.APISERVER_TLS_NAME
    assert "<redacted>" in repr(creds) and "BEGIN" not in repr(creds)
    with pytest.raises(Failed, match="neither a client certificate"):
        karmada_api.parse_kubeconfig(certs.kubeconfig().replace("client-key-data", "x-key-data"))
    with pytest.raises(Failed, match="certificate-authority-data"):
        karmada_api.parse_kubeconfig(certs.kubeconfig().replace("certificate-authority-data", "x"))


def test_secrets_are_never_logged(member, host, karmada, ca, certs, caplog):
    caplog.set_level(logging.DEBUG)
    provider("Create", join_props(member, host, ca))
    provider("Delete", join_props(member, host, ca), physical_id="karmada-join/fed-1/fed-2")
    secrets = [member.find("secrets", "karmada-cluster", "karmada-impersonator") or {}]
    text = caplog.text
    kubeconfig = certs.kubeconfig()
    for line in kubeconfig.splitlines():
        if "-data:" in line:
            assert line.split(":", 1)[1].strip()[:40] not in text
    assert "BEGIN" not in text and "k8s-aws-v1." not in text
    for token in member.emulator.issued_tokens:
        assert token not in text and base64.b64encode(token.encode()).decode() not in text
    assert secrets  # the member's tokens were issued (and checked above)
    json.dumps(secrets)


def test_a_load_balancer_service_is_waited_for_and_its_hostnames_returned(emulators, member, host, karmada, ca):
    provider("Create", join_props(member, host, ca))
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "echo", "namespace": "echo"},
               "spec": {"type": "LoadBalancer", "selector": {"app": "echo"}, "ports": [{"port": 80}]}}
    selects = policy(["fed-2"])
    selects["spec"]["resourceSelectors"].append({"apiVersion": "v1", "kind": "Service", "name": "echo"})
    polls = []

    def member_load_balancer() -> None:
        polls.append(1)
        if len(polls) == 3 and member.find("services", "echo", "echo") is not None:
            member.run(lambda: next(o for k, o in member.emulator.objects.items() if k[0].plural == "services"
                                    and k[2] == "echo").patch(
                {"status": {"loadBalancer": {"ingress": [{"hostname": "k8s-echo-echo-0123.elb.amazonaws.com"}]}}}))
    _, data = provider("Create", objects_props(host, ca, [NAMESPACE, echo_deployment(1), service, selects]),
                       resource_type=c.OBJECTS_TYPE, each_poll=member_load_balancer)
    assert len(polls) >= 3  # it waited for the load balancer
    assert data == {c.READY_CLUSTERS_ATTRIBUTE: "fed-2", "Hostname.fed-2": "k8s-echo-echo-0123.elb.amazonaws.com"}


def echo_service() -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "echo", "namespace": "echo"},
            "spec": {"selector": {"app": "echo"}, "ports": [{"port": 80}]}}


def selecting_both(clusters: list[str]) -> dict:
    selects = policy(clusters)
    selects["spec"]["resourceSelectors"].append({"apiVersion": "v1", "kind": "Service", "name": "echo"})
    return selects


def works_of(karmada, cluster: str) -> list[str]:
    return [name for space, name in karmada.names("works") if space == c.execution_namespace(cluster)]


def hold(server, plural: str, name: str, finalizer: str = "example.com/hold") -> None:
    """A finalizer on the member's copy, as a load-balancer controller puts on a Service it provisioned for."""
    server.run(lambda: next(o for k, o in server.emulator.objects.items() if k[0].plural == plural and k[2] == name
                            and not o.deleted).patch({"metadata": {"finalizers": [finalizer]}}))


def test_an_update_that_takes_a_cluster_out_of_the_placement_ends_once_karmada_removed_the_copies_there(
        emulators, member, host, karmada, ca):
    """A slow member (Karmada's execution controller deletes a Work's objects 1.5 s after the binding controller
    deleted the Work): the update that places the objects on fed-2 only ends once fed-3's Works are gone, that is
    once its Deployment is deleted and its Service asked to go (the finalizer its controller holds keeps it until
    that controller is done, as the AWS Load Balancer Controller does while it deletes the NLB)."""
    other = with_kube_system(emulators.start("fed-3", "us-west-2"))
    for m in (member, other):
        provider("Create", join_props(m, host, ca))
    objs = [NAMESPACE, echo_deployment(2), echo_service(), selecting_both(["fed-2", "fed-3"])]
    physical_id, data = provider("Create", objects_props(host, ca, objs), resource_type=c.OBJECTS_TYPE)
    assert data[c.READY_CLUSTERS_ATTRIBUTE] == "fed-2,fed-3" and works_of(karmada, "fed-3")
    hold(other, "services", "echo")
    karmada.state["work_delete_seconds"] = 1.5
    narrowed = [*objs[:3], selecting_both(["fed-2"])]
    started = time.monotonic()
    _, data = provider("Update", objects_props(host, ca, narrowed), resource_type=c.OBJECTS_TYPE,
                       physical_id=physical_id, old=objects_props(host, ca, objs))
    assert time.monotonic() - started >= 1.5
    assert data[c.READY_CLUSTERS_ATTRIBUTE] == "fed-2"
    assert works_of(karmada, "fed-3") == [] and other.find("deployments", "echo", "echo") is None
    assert other.find("services", "echo", "echo")["metadata"]["deletionTimestamp"]
    assert member.find("deployments", "echo", "echo") is not None

    # A delete, as slow: it ends once no Work of the objects is left, so the copies are gone from the members.
    provider("Delete", objects_props(host, ca, narrowed), resource_type=c.OBJECTS_TYPE, physical_id=physical_id)
    assert works_of(karmada, "fed-2") == [] and member.find("deployments", "echo", "echo") is None
    assert member.find("services", "echo", "echo") is None


def test_copies_on_a_cluster_that_is_not_ready_are_not_waited_for(emulators, member, host, karmada, ca, caplog):
    """fed-3 stops answering (its Cluster turns not Ready): an update that takes it out of the placement ends (the
    execution controller deletes nothing on a cluster that is not Ready, so waiting would never end), logging
    that the copies stay there; they go with the cluster, or when it is Ready again."""
    other = with_kube_system(emulators.start("fed-3", "us-west-2"))
    for m in (member, other):
        provider("Create", join_props(m, host, ca))
    objs = [NAMESPACE, echo_deployment(2), echo_service(), selecting_both(["fed-2", "fed-3"])]
    physical_id, _ = provider("Create", objects_props(host, ca, objs), resource_type=c.OBJECTS_TYPE)
    emulators.stop(other)
    caplog.set_level(logging.WARNING)
    narrowed = [*objs[:3], selecting_both(["fed-2"])]
    _, data = provider("Update", objects_props(host, ca, narrowed), resource_type=c.OBJECTS_TYPE,
                       physical_id=physical_id, old=objects_props(host, ca, objs), max_polls=10)
    assert data[c.READY_CLUSTERS_ATTRIBUTE] == "fed-2"
    assert works_of(karmada, "fed-3")
    assert "the copies of Deployment echo/echo on fed-3 stay there" in caplog.text


@pytest.mark.parametrize("spec, kept", [
    ({"clusters": [{"name": "a"}]}, {"a"}),
    ({"clusters": [{"name": "a"}], "requiredBy": [{"clusters": [{"name": "b"}]}]}, {"a", "b"}),
    ({"gracefulEvictionTasks": [{"fromCluster": "c"}, {"fromCluster": "d", "purgeMode": "Directly"},
                                {"fromCluster": "e", "purgeMode": "Gracefully"}]}, {"c", "e"}),
    ({}, set())], ids=["scheduled", "required-by", "graceful-eviction", "none"])
def test_the_clusters_whose_works_karmada_keeps_are_those_of_obtain_binding_spec_existing_clusters(spec, kept):
    from components.karmada_join.runtime.objects import kept_clusters
    assert kept_clusters({"spec": spec}) == kept


def test_the_emulated_api_server_filters_lists_by_label_selector(host, karmada, ca):
    """Karmada finds a binding's Works by their permanent-id label; the emulated servers answer a labelSelector as
    the API server does (a malformed one is a 400), so the join's lookups are checked against real filtering."""
    for name, labels in (("a", {"k": "1"}), ("b", {"k": "2"}), ("c", {})):
        karmada.put("configmaps", "", "v1", "default", name,
                    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default",
                                                                           "labels": labels}})
    api = handler._karmada(handler._parse({"ResourceType": c.OBJECTS_TYPE, "ResourceProperties": objects_props(host, ca, [NAMESPACE])}),
                           handler.Budget(60))
    names = lambda selector: sorted(o["metadata"]["name"] for o in api.list_everywhere("ConfigMap", selector))  # noqa
    assert names("k=1") == ["a"] and names("k!=1") == ["b", "c"] and names("k") == ["a", "b"]
    assert names("!k") == ["c"] and names("k in (1, 2)") == ["a", "b"] and names(None) == ["a", "b", "c"]
    with pytest.raises(Failed, match="unable to parse requirement"):
        api.list_everywhere("ConfigMap", "k=1=2")


@pytest.mark.parametrize("fault", [dict(status=429, headers={"Retry-After": "1"}), dict(status=500),
                                   dict(reset=True), dict(delay=30.0)], ids=["throttled", "error", "reset", "slow"])
def test_transient_faults_of_karmada_apiserver_are_retried_until_the_join_completes(member, host, karmada, ca, fault):
    """The KubeFed join's classification and retries, on the Karmada side: each fault hits the Cluster's creation
    (twice) and the join still completes, never failing on a transient error."""
    karmada.inject("POST", r"/apis/cluster\.karmada\.io/v1alpha1/clusters$", times=2, **fault)
    _, data = provider("Create", join_props(member, host, ca))
    assert data[c.CLUSTER_ATTRIBUTE] == "fed-2"


def test_a_rejected_request_fails_the_join_with_what_was_refused(member, host, karmada, ca):
    karmada.inject("POST", r"/apis/cluster\.karmada\.io/v1alpha1/clusters$", status=422, times=99,
                   message="Cluster.cluster.karmada.io \"fed-2\" is invalid: spec.apiEndpoint: Invalid value")
    with pytest.raises(RuntimeError, match=r"joining fed-2 to Karmada failed: creating karmada-apiserver on fed-1: "
                                           r"Cluster fed-2: rejected \(422"):
        provider("Create", join_props(member, host, ca))


def test_deletes_after_the_control_plane_was_uninstalled_complete_at_once(member, host, karmada, ca):
    """The chart's post-delete Job removed the kubeconfig Secret (and karmada-apiserver with its objects): the
    objects' delete has nothing left to remove, and an unjoin only cleans the member."""
    provider("Create", join_props(member, host, ca))
    host.run(lambda: [o.delete() for k, o in list(host.emulator.objects.items()) if k[2] == c.KUBECONFIG_SECRET])
    _, data = provider("Delete", objects_props(host, ca, [NAMESPACE]), resource_type=c.OBJECTS_TYPE,
                       physical_id="karmada-objects/fed-1/echo", deadline_in=DEADLINE, max_polls=1)
    assert c.LEFT_BEHIND_ATTRIBUTE not in data
    _, data = provider("Delete", join_props(member, host, ca), physical_id="karmada-join/fed-1/fed-2", max_polls=1)
    assert c.LEFT_BEHIND_ATTRIBUTE not in data
    assert member.find("serviceaccounts", "karmada-cluster", "karmada-fed-2") is None
