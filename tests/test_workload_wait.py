"""Custom::FederatedWorkload with the real `kubernetes` client over HTTPS against emulated API servers (host fed-1,
itself a member, and member fed-2), through the Provider framework's on_event/is_complete calls.

`Federation` below plays what the waiter watches: KubeFed's sync controller (FederatedDeployment/Service on the
host -> Deployment/Service on each placed member, per-cluster replica overrides, deletes), its replica
scheduler (RSP -> placement and `/spec/replicas` overrides), each member's Deployment controller (available
replicas some steps after a spec change) and load-balancer controller (a hostname and the finalizer
`service.k8s.aws/resources` some steps after the Service appears; on delete the Service stays terminating
until the load balancer is gone). One `step()` runs between two polls.
"""
from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field

import pytest

from components.kube_access import allowed_clusters
from components.kube_access import contract
from components.kube_access.cluster_ref import InvalidProperties
from components.workload_waiter import contract as waiter_contract
from components.workload_waiter.runtime import workload_wait as handler
from kube_emulator import EmulatorLoop
from test_kubefed_join_handler import allow, ca, emulators, fake_aws, ref  # noqa: F401 (fixtures and helpers reused)

NS, NAME = "echo", "echo-server"
TYPES = ("types.kubefed.io", "v1beta1")
FINALIZER = "service.k8s.aws/resources"


@dataclass
class Federation:
    host: object
    members: dict
    available_after: int = 1
    hostname_after: int = 2
    release_after: int = 2
    never_hostname: set = field(default_factory=set)
    never_release: bool = False
    schedule_after: int | None = None
    steps: int = 0
    seen_terminating: int = 0
    changed: dict = field(default_factory=dict)

    def step(self) -> None:
        self.steps += 1
        fd = self.host.find("federateddeployments", NS, NAME)
        fs = self.host.find("federatedservices", NS, NAME)
        rsp = self.host.find("replicaschedulingpreferences", NS, NAME)
        if fd is not None and rsp is not None and self.schedule_after is not None and self.steps >= self.schedule_after:
            fd = self._schedule(fd, rsp)
        for name, member in self.members.items():
            self._deployment(name, member, fd)
            self._service(name, member, fs)
        if fs is not None:
            self._service_status(fs)

    def _service_status(self, fs: dict) -> None:
        """KubeFed's status.clusters: every cluster holding a copy, WaitingForRemoval while it terminates."""
        clusters = []
        for name, member in sorted(self.members.items()):
            svc = member.find("services", NS, NAME)
            if svc is not None:
                terminating = svc["metadata"].get("deletionTimestamp")
                clusters.append({"name": name, "status": "WaitingForRemoval" if terminating else "OK"})
        if (fs.get("status") or {}).get("clusters") != clusters:
            fs = {**fs, "status": {"clusters": clusters}}
            self.host.put("federatedservices", *TYPES, NS, NAME, fs)

    def _placed(self, fed: dict, cluster: str) -> bool:
        placement = fed["spec"].get("placement") or {}
        if "clusters" in placement:
            return cluster in [c["name"] for c in placement["clusters"]]
        return placement.get("clusterSelector") == {}

    def _schedule(self, fd: dict, rsp: dict) -> dict:
        names = sorted(self.members)
        total = rsp["spec"]["totalReplicas"]
        split = {n: total // len(names) + (1 if i < total % len(names) else 0) for i, n in enumerate(names)}
        fd = json.loads(json.dumps(fd))
        fd["spec"]["placement"] = {"clusters": [{"name": n} for n in names]}
        fd["spec"]["overrides"] = [{"clusterName": n, "clusterOverrides": [{"path": "/spec/replicas", "value": r}]}
                                   for n, r in split.items()]
        self.host.put("federateddeployments", *TYPES, NS, NAME, fd)
        return fd

    def _deployment(self, cluster: str, member, fd: dict | None) -> None:
        existing = member.find("deployments", NS, NAME)
        if fd is None or not self._placed(fd, cluster):
            if existing is not None:
                remove(member, "deployments", NAME)
            return
        want = fd["spec"]["template"]["spec"].get("replicas", 1)
        for o in fd["spec"].get("overrides") or []:
            if o["clusterName"] == cluster:
                want = next((p["value"] for p in o["clusterOverrides"] if p["path"] == "/spec/replicas"), want)
        template = {k: v for k, v in fd["spec"]["template"]["spec"].items() if k != "replicas"}
        if existing is None or existing["spec"]["replicas"] != want or \
                existing["spec"]["template"] != template["template"]:
            generation = (existing or {}).get("metadata", {}).get("generation", 0) + 1
            rollout = existing is not None and existing["spec"]["template"] != template["template"]
            # The controller sees the new spec at once; new pods (a rollout: all of them) become available later,
            # while the old ones still count as available.
            status = {"observedGeneration": generation, "replicas": want, "updatedReplicas": 0 if rollout else want,
                      "availableReplicas": min(want, (existing or {}).get("status", {}).get("availableReplicas", 0))}
            member.put("deployments", "apps", "v1", NS, NAME, {
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": NAME, "namespace": NS, "generation": generation},
                "spec": {"replicas": want, **{k: v for k, v in fd["spec"]["template"]["spec"].items()
                                              if k != "replicas"}}, "status": status})
            self.changed[("deployment", cluster)] = self.steps
        elif self.steps - self.changed[("deployment", cluster)] >= self.available_after:
            existing["status"] = {"observedGeneration": existing["metadata"]["generation"], "replicas": want,
                                  "updatedReplicas": want, "availableReplicas": want, "readyReplicas": want}
            member.put("deployments", "apps", "v1", NS, NAME, existing)

    def _service(self, cluster: str, member, fs: dict | None) -> None:
        existing = member.find("services", NS, NAME)
        if fs is None or not self._placed(fs, cluster):
            if existing is None:
                return
            meta = existing["metadata"]
            if FINALIZER not in meta.get("finalizers", []):
                remove(member, "services", NAME)
            elif not meta.get("deletionTimestamp"):
                meta["deletionTimestamp"] = "2026-11-22T00:00:00Z"
                member.put("services", "", "v1", NS, NAME, existing)
                self.changed[("lb-delete", cluster)] = self.steps
            else:
                self.seen_terminating += 1
                if not self.never_release and self.steps - self.changed[("lb-delete", cluster)] >= self.release_after:
                    remove(member, "services", NAME)
            return
        if existing is None:
            member.put("services", "", "v1", NS, NAME, {"apiVersion": "v1", "kind": "Service",
                                                         "metadata": {"name": NAME, "namespace": NS},
                                                         "spec": fs["spec"]["template"]["spec"], "status": {}})
            self.changed[("service", cluster)] = self.steps
        elif (cluster not in self.never_hostname and not existing["status"].get("loadBalancer")
              and self.steps - self.changed[("service", cluster)] >= self.hostname_after):
            existing["metadata"]["finalizers"] = [FINALIZER]
            existing["status"] = {"loadBalancer": {"ingress": [{"hostname": f"k8s-echo-{cluster}.elb.amazonaws.com"}]}}
            member.put("services", "", "v1", NS, NAME, existing)


def remove(server, plural: str, name: str) -> None:
    def delete():
        for (resource, ns, obj_name), obj in list(server.emulator.objects.items()):
            if resource.plural == plural and ns == NS and obj_name == name and not obj.deleted:
                obj.delete()
    server.run(delete)


@pytest.fixture
def host(emulators):  # noqa: F811
    return emulators.start("fed-1", "us-east-1")


@pytest.fixture
def member(emulators):  # noqa: F811
    return emulators.start("fed-2", "us-east-2")


IMAGE = "registry.k8s.io/echoserver:1.10"


OWNED = {"labels": {contract.MANAGED_BY_LABEL: contract.MANAGED_BY_VALUE}}
WAITER = waiter_contract.physical_id(NS, NAME)


def apply_workload(host, rsp: bool = False, replicas: dict | None = None, image: str = IMAGE,
                   owned: bool = True, owner: str | None = WAITER) -> None:
    """What the kubectl handler applies on the host (components/federated_workloads.py); with `owned`, the
    managed-by label federated_eks/plan/kubefed_workload.py renders on every object (another app's objects lack it), and
    the waiter named as the objects' owner (`owner`; None: as manifests rendered before the waiter had its own
    Provider, or rolled back to that)."""
    mine = OWNED if owned else {}
    if owned and owner is not None:
        mine = {**mine, "annotations": {waiter_contract.OWNER_ANNOTATION: owner}}
    replicas = replicas or {"fed-1": 2, "fed-2": 3}
    template = {"metadata": {"labels": {"app": NAME}}, "spec": {
        "selector": {"matchLabels": {"app": NAME}},
        "template": {"metadata": {"labels": {"app": NAME}},
                     "spec": {"containers": [{"name": NAME, "image": image}]}}}}
    spec: dict = {"template": template}
    if not rsp:
        template["spec"]["replicas"] = 1
        spec["placement"] = {"clusters": [{"name": n} for n in replicas]}
        spec["overrides"] = [{"clusterName": n, "clusterOverrides": [{"path": "/spec/replicas", "value": r}]}
                             for n, r in replicas.items()]
    host.put("federateddeployments", *TYPES, NS, NAME, {"apiVersion": "types.kubefed.io/v1beta1",
                                                      "kind": "FederatedDeployment",
                                                      "metadata": {"name": NAME, "namespace": NS, **mine}, "spec": spec})
    if rsp:
        host.put("replicaschedulingpreferences", "scheduling.kubefed.io", "v1alpha1", NS, NAME, {
            "apiVersion": "scheduling.kubefed.io/v1alpha1", "kind": "ReplicaSchedulingPreference",
            "metadata": {"name": NAME, "namespace": NS, **mine}, "spec": {"targetKind": "FederatedDeployment",
                                                                  "totalReplicas": 7, "rebalance": True}})
    host.put("federatedservices", *TYPES, NS, NAME, {
        "apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedService",
        "metadata": {"name": NAME, "namespace": NS, **mine},
        "spec": {"placement": {"clusterSelector": {}}, "template": {"spec": {
            "type": "LoadBalancer", "loadBalancerClass": "service.k8s.aws/nlb", "selector": {"app": NAME},
            "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}}})


def props(host, member, ca, rsp: bool = False, load_balanced: bool = True, image: str = IMAGE,  # noqa: F811
          **extra) -> dict:
    kinds = ["FederatedDeployment", *(["ReplicaSchedulingPreference"] if rsp else []), "FederatedService"]
    objects = [{"ApiVersion": "scheduling.kubefed.io/v1alpha1" if k.startswith("Replica") else
                "types.kubefed.io/v1beta1", "Kind": k} for k in kinds]
    replicas = {"fed-1": "" if rsp else "2", "fed-2": "" if rsp else "3"}
    return {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:x",
            "Workload": {"Namespace": NS, "Name": NAME, "LoadBalanced": str(load_balanced).lower(),
                         "TotalReplicas": "7" if rsp else "", "Objects": objects},
            "Host": ref(host, ca),
            "Clusters": [{**ref(s, ca), "Replicas": replicas[s.name], "Image": image} for s in (host, member)],
            "TimeoutSeconds": "300", **extra}


def provider(request_type, properties, world: Federation | None, physical_id=None, deadline_in=3600.0,
             max_polls=60, expire_after: int | None = None, via=handler, old=None) -> tuple[dict, int]:
    """Drive the handler as the CDK Provider framework does, one world step before each poll. The deadline is
    far away unless `expire_after`: it passes after that many polls (nothing depends on the machine's speed).
    `via`: the module whose on_event/is_complete serve it (the join's handler for a waiter made before the waiter
    had its own Provider)."""
    event = {"RequestType": request_type, "ResourceProperties": properties, "RequestId": "r", "StackId": "s",
             "LogicalResourceId": "Ready", "ResourceType": "Custom::FederatedWorkload"}
    if physical_id:
        event["PhysicalResourceId"] = physical_id
    if old is not None:
        event["OldResourceProperties"] = old
    result = via.on_event(event)
    event = {**event, **result, "Data": {**result.get("Data", {}), "Deadline": str(int(time.time() + deadline_in))}}
    for poll in range(1, max_polls + 1):
        if world is not None:
            world.step()
        if poll == expire_after:
            event["Data"]["Deadline"] = str(int(time.time()) - 1)
        done = via.is_complete(event)
        if done["IsComplete"]:
            return {**done, "PhysicalResourceId": event["PhysicalResourceId"]}, poll
        time.sleep(0.02)
    raise AssertionError("never completed")


def test_ready_when_every_placed_member_runs_its_replicas_with_a_load_balancer(host, member, ca):  # noqa: F811
    apply_workload(host)
    world = Federation(host, {"fed-1": host, "fed-2": member})
    done, polls = provider("Create", props(host, member, ca), world)
    assert done["PhysicalResourceId"] == "workload-waiter/echo/echo-server"
    assert done["Data"] == {"Hostname.fed-1": "k8s-echo-fed-1.elb.amazonaws.com",
                            "Hostname.fed-2": "k8s-echo-fed-2.elb.amazonaws.com"}
    assert polls >= 3  # not before the load balancers had hostnames
    assert member.find("deployments", NS, NAME)["status"]["availableReplicas"] == 3
    assert host.find("deployments", NS, NAME)["status"]["availableReplicas"] == 2


def test_timeout_names_what_never_became_ready(host, member, ca):  # noqa: F811
    apply_workload(host)
    world = Federation(host, {"fed-1": host, "fed-2": member}, never_hostname={"fed-2"})
    with pytest.raises(RuntimeError) as err:
        provider("Create", props(host, member, ca), world, expire_after=8)
    assert str(err.value) == ("workload echo/echo-server did not become ready within 5 minutes; still waiting for: "
                              "fed-2: Service echo/echo-server has no load-balancer hostname yet")


def test_not_propagated_and_short_replicas_are_named(host, member, ca):  # noqa: F811
    apply_workload(host)
    world = Federation(host, {"fed-1": host}, available_after=1000)  # fed-2 never gets its copies
    with pytest.raises(RuntimeError) as err:
        provider("Create", props(host, member, ca), world, expire_after=8)
    assert str(err.value).split("still waiting for: ")[1].split("; ") == [
        "fed-1: Deployment echo/echo-server has 0 of 2 replicas available (2 updated)",
        "fed-2: Deployment echo/echo-server not propagated yet",
        "fed-2: Service echo/echo-server not propagated yet",
    ]


def test_member_unreachable_is_waited_for_then_named(host, member, ca):  # noqa: F811
    apply_workload(host)
    member.inject("*", ".*", reset=True, times=10_000)
    world = Federation(host, {"fed-1": host}, available_after=0, hostname_after=0)
    with pytest.raises(RuntimeError) as err:
        provider("Create", props(host, member, ca), world, expire_after=4)
    message = str(err.value)
    assert message == ("workload echo/echo-server did not become ready within 5 minutes; still waiting for: "
                       "fed-2: reading Deployment echo/echo-server: API server not reachable (ProtocolError)")
    assert member.emulator.resets >= 2  # retried within polls, then across polls


def test_replica_scheduling_is_waited_for_then_followed(host, member, ca):  # noqa: F811
    apply_workload(host, rsp=True)
    world = Federation(host, {"fed-1": host, "fed-2": member}, schedule_after=4)
    done, polls = provider("Create", props(host, member, ca, rsp=True), world)
    assert polls >= 5
    assert {member.find("deployments", NS, NAME)["spec"]["replicas"],
            host.find("deployments", NS, NAME)["spec"]["replicas"]} == {3, 4}
    assert set(done["Data"]) == {"Hostname.fed-1", "Hostname.fed-2"}


def test_delete_waits_for_the_member_copies_and_their_load_balancers(host, member, ca):  # noqa: F811
    apply_workload(host)
    world = Federation(host, {"fed-1": host, "fed-2": member}, release_after=3)
    done, _ = provider("Create", props(host, member, ca), world)
    done, polls = provider("Delete", props(host, member, ca), world, physical_id=done["PhysicalResourceId"])
    assert done["IsComplete"]
    assert world.seen_terminating >= 2 * 2  # both Services sat terminating while their load balancers went
    for server in (host, member):
        assert server.find("services", NS, NAME) is None and server.find("deployments", NS, NAME) is None
    for plural in ("federateddeployments", "federatedservices"):
        assert host.find(plural, NS, NAME) is None


def test_delete_gives_up_on_a_load_balancer_that_never_goes_and_records_it(host, member, ca, caplog):  # noqa: F811
    apply_workload(host)
    world = Federation(host, {"fed-1": host, "fed-2": member})
    done, _ = provider("Create", props(host, member, ca), world)
    world.never_release = True
    with caplog.at_level(logging.WARNING, logger="workload_waiter"):
        done, _ = provider("Delete", props(host, member, ca), world, physical_id=done["PhysicalResourceId"],
                           expire_after=8)
    assert done["IsComplete"]  # a stack delete always goes on
    assert done["Data"]["LeftBehind"] == (
        "fed-1: Service echo/echo-server is waiting for its load balancer to be deleted (finalizers "
        "service.k8s.aws/resources); fed-2: Service echo/echo-server is waiting for its load balancer to be deleted "
        "(finalizers service.k8s.aws/resources)")
    record = left_behind_record(caplog.text)
    assert record["resource"] == done["PhysicalResourceId"]
    assert "kubectl --context fed-2 delete service echo-server -n echo --ignore-not-found" in record["cleanup"]
    assert "load balancer of Service echo/echo-server may remain on fed-1, fed-2" in record["note"]


def left_behind_record(log_text: str) -> dict:
    (line,) = [ln for ln in log_text.splitlines() if contract.LEFT_BEHIND_MARKER in ln]
    return json.loads(line.split(contract.LEFT_BEHIND_MARKER, 1)[1])


def test_delete_with_a_member_that_is_gone_finishes_and_records_it(host, member, ca, caplog,  # noqa: F811
                                                                    monkeypatch):
    apply_workload(host)
    world = Federation(host, {"fed-1": host, "fed-2": member})
    done, _ = provider("Create", props(host, member, ca), world)
    gone = props(host, member, ca)
    gone["Clusters"][1]["Endpoint"] = EmulatorLoop.unresolvable_endpoint(member.region)
    allow(monkeypatch, gone["Clusters"][1])
    with caplog.at_level(logging.WARNING, logger="workload_waiter"):
        done, _ = provider("Delete", gone, world, physical_id=done["PhysicalResourceId"], expire_after=4)
    assert done["IsComplete"] and "fed-2: " in done["Data"]["LeftBehind"]
    assert "does not resolve" in done["Data"]["LeftBehind"]  # gone, not "check the KubeFed controller"
    assert host.find("federateddeployments", NS, NAME) is None  # the host side is cleaned all the same
    assert left_behind_record(caplog.text)["objects"][0]["cluster"] == "fed-2"


def test_a_forged_delete_of_another_apps_federated_deployment_removes_nothing(host, member, ca):  # noqa: F811
    apply_workload(host, owned=False)  # the same names, made by someone else
    provider("Delete", props(host, member, ca), None, physical_id="federated-workload/echo/echo-server",
             expire_after=2)
    for plural in ("federateddeployments", "federatedservices"):
        assert host.find(plural, NS, NAME) is not None


def test_rendered_workload_objects_carry_the_label_the_waiter_checks():
    from federated_eks.plan import kubefed_workload
    from federated_eks.model.workload import Placement, ServiceSpec, Workload
    w = Workload(name="a", namespace="b", image="registry.k8s.io/echoserver:1.10", container_port=80,
                 placement=Placement(clusters=("fed-1",)), service=ServiceSpec(type="ClusterIP", port=80))
    for obj in kubefed_workload.workload_objects(w):
        assert contract.owned(obj["metadata"].get("labels")), obj["kind"]


@pytest.mark.parametrize("change, expected", [
    ({"Workload": {"Namespace": "Echo", "Name": NAME, "Objects": []}}, "Namespace: 'Echo' is not a namespace name"),
    ({"Clusters": []}, "Clusters: must list the placed clusters"),
    ({"TimeoutSeconds": "5"}, "TimeoutSeconds: '5' is not a number of seconds in 60..3000"),
    ({"Workload": {"Namespace": NS, "Name": NAME, "Objects": [{"ApiVersion": "v1", "Kind": "Secret"}]}},
     "Workload.Objects[0]: ('v1', 'Secret') is not a kind a workload renders"),
])
def test_bad_properties_fail_before_any_request(host, member, ca, change, expected):  # noqa: F811
    with pytest.raises(InvalidProperties, match=re.escape(expected)):
        provider("Create", {**props(host, member, ca), **change}, None)
    assert host.emulator.received == 0 and member.emulator.received == 0


def test_a_cluster_outside_the_environment_is_refused(host, member, ca):  # noqa: F811
    foreign = props(host, member, ca)
    foreign["Clusters"][1] = {**foreign["Clusters"][1], "EksClusterName": "fedeks-prod-fed-2"}
    with pytest.raises(allowed_clusters.NotAllowed, match="member 'fed-2': EksClusterName 'fedeks-prod-fed-2' is not"):
        provider("Create", foreign, None)
    assert member.emulator.received == 0


def test_a_cluster_eks_describes_differently_is_refused_before_any_token(host, member, ca):  # noqa: F811
    forged = props(host, member, ca)
    forged["Clusters"][1] = {**forged["Clusters"][1], "Endpoint": "https://attacker.example"}
    with pytest.raises(RuntimeError, match="refused: member 'fed-2': Endpoint differ from what EKS describes"):
        provider("Create", forged, None)
    assert member.emulator.received == 0


def test_throttling_and_server_errors_are_retried_within_the_poll(host, member, ca):  # noqa: F811
    apply_workload(host)
    throttled = member.inject("GET", "/deployments/", status=429, times=2, headers={"Retry-After": "0"})
    failing = host.inject("GET", "/federateddeployments/", status=503, times=1)
    world = Federation(host, {"fed-1": host, "fed-2": member})
    done, _ = provider("Create", props(host, member, ca), world)
    assert throttled.seen == 2 and failing.seen == 1
    assert set(done["Data"]) == {"Hostname.fed-1", "Hostname.fed-2"}


def test_an_update_waits_until_every_member_runs_the_new_image(host, member, ca):  # noqa: F811
    apply_workload(host, image="registry.k8s.io/echoserver:1.9")
    world = Federation(host, {"fed-1": host, "fed-2": member}, available_after=3)
    done, _ = provider("Create", props(host, member, ca, image="registry.k8s.io/echoserver:1.9"), world)
    apply_workload(host)  # the kubectl handler applies the new image; KubeFed has not propagated it yet
    done, polls = provider("Update", props(host, member, ca), world, physical_id=done["PhysicalResourceId"])
    assert polls >= 3  # not ready while the members ran the old image, nor before the new pods were available
    for server in (host, member):
        deployment = server.find("deployments", NS, NAME)
        assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGE
        assert deployment["status"]["availableReplicas"] == deployment["spec"]["replicas"]


def test_a_cluster_that_left_the_placement_keeps_the_deploy_waiting_until_its_load_balancer_is_gone(
        host, member, emulators, ca):  # noqa: F811
    """Issue 18: a cluster removed from the config leaves the rendered placement in the same deploy; KubeFed deletes
    its Service there, and the waiter (which no longer lists it, nor may reach it) follows the host's
    status.clusters until the copy, held by the load-balancer finalizer, is gone: only then does the update
    finish and CloudFormation's cleanup unjoin the cluster."""
    leaving = emulators.start("fed-3", "eu-west-1")
    world = Federation(host, {"fed-1": host, "fed-2": member, "fed-3": leaving}, release_after=4)
    apply_workload(host)
    for _ in range(4):  # placed on every cluster (the last deploy): fed-3 gets its load balancer
        world.step()
    assert leaving.find("services", NS, NAME)["status"]["loadBalancer"]
    fs = host.find("federatedservices", NS, NAME)
    fs["spec"]["placement"] = {"clusters": [{"name": "fed-1"}, {"name": "fed-2"}]}
    host.put("federatedservices", *TYPES, NS, NAME, fs)
    done, polls = provider("Update", props(host, member, ca), world, physical_id="federated-workload/echo/echo-server")
    assert leaving.find("services", NS, NAME) is None
    assert world.seen_terminating >= 3 and polls >= 5


# --- the hand-off between waiters, and rollbacks --------------------------------------------------------------------

def legacy_waiter(host, member, ca) -> tuple[dict, Federation]:  # noqa: F811
    """A waiter made before the waiter had its own Provider: created through the join's Provider (its handler passes
    it to the waiter's code), on objects its manifest rendered without an owner."""
    from components.kubefed_join.runtime import handler as join_handler
    apply_workload(host, owner=None)
    world = Federation(host, {"fed-1": host, "fed-2": member}, release_after=2)
    done, _ = provider("Create", props(host, member, ca), world, via=join_handler)
    assert done["PhysicalResourceId"] == waiter_contract.legacy_physical_id(NS, NAME)
    return done, world


def workload_left(host, member) -> bool:
    return (all(host.find(p, NS, NAME) is not None for p in ("federateddeployments", "federatedservices"))
            and all(s.find(k, NS, NAME) is not None for s in (host, member) for k in ("deployments", "services")))


def test_the_replaced_waiters_delete_leaves_the_workload_its_replacement_owns(host, member, ca):  # noqa: F811
    """A new service token needs a new logical id: CloudFormation updates the manifest (which now names the new
    waiter as the objects' owner), creates the new waiter, and deletes the old one in its cleanup phase, through the
    join's Provider. That delete removes nothing and returns at once; the new waiter's delete removes everything."""
    from components.kubefed_join.runtime import handler as join_handler
    old, world = legacy_waiter(host, member, ca)
    apply_workload(host)  # the manifest's update: the objects now name WAITER
    new, _ = provider("Create", props(host, member, ca), world)
    assert new["PhysicalResourceId"] == WAITER != old["PhysicalResourceId"]
    done, polls = provider("Delete", props(host, member, ca), world, physical_id=old["PhysicalResourceId"],
                           via=join_handler)
    assert done["IsComplete"] and polls == 1 and "Data" not in done
    for _ in range(5):
        world.step()
    assert workload_left(host, member)
    done, _ = provider("Delete", props(host, member, ca), world, physical_id=WAITER)
    assert "Data" not in done and host.find("federateddeployments", NS, NAME) is None
    assert member.find("deployments", NS, NAME) is None and member.find("services", NS, NAME) is None


def test_a_rolled_back_replacement_leaves_the_workload_to_the_old_waiter(host, member, ca):  # noqa: F811
    """The new waiter's create fails (a member is down): CloudFormation rolls the manifest back first (the owner
    annotation goes with it: kubectl apply of the old manifest), then deletes the new waiter, which must not take the
    workload with it: the old waiter still stands for it."""
    _, world = legacy_waiter(host, member, ca)
    apply_workload(host)
    member.inject("*", ".*", reset=True, times=10_000)
    world.members = {"fed-1": host}
    with pytest.raises(RuntimeError, match="did not become ready"):
        provider("Create", props(host, member, ca), world, expire_after=2)
    member.emulator.faults.clear()
    world.members = {"fed-1": host, "fed-2": member}
    apply_workload(host, owner=None)  # the manifest's rollback
    done, polls = provider("Delete", props(host, member, ca), world, physical_id=WAITER)
    assert done["IsComplete"] and polls == 1
    assert workload_left(host, member)


def test_the_old_waiters_delete_still_removes_a_workload_nobody_took_over(host, member, ca):  # noqa: F811
    """The workload left the config in the same deploy: no new waiter, no owner on the objects: the old waiter's
    delete (through the join's Provider) removes it and waits for the member copies as before."""
    from components.kubefed_join.runtime import handler as join_handler
    old, world = legacy_waiter(host, member, ca)
    done, polls = provider("Delete", props(host, member, ca), world, physical_id=old["PhysicalResourceId"],
                           via=join_handler)
    assert polls > 1 and "Data" not in done
    assert host.find("federateddeployments", NS, NAME) is None and member.find("services", NS, NAME) is None


def test_a_rollback_to_the_last_ready_state_completes_with_a_member_unreachable(host, member, ca):  # noqa: F811
    """Issue 16: an update fails because a member cannot be reached; CloudFormation's rollback sends the old
    properties, and the member is still down. The waiter recorded that state Ready (its digest and hostnames on the
    FederatedDeployment): the rollback completes at its first poll with the recorded hostnames (the attributes
    the DNS records read) and says what it could not verify, instead of UPDATE_ROLLBACK_FAILED."""
    old_image = "registry.k8s.io/echoserver:1.9"
    apply_workload(host, image=old_image)
    world = Federation(host, {"fed-1": host, "fed-2": member})
    created, _ = provider("Create", props(host, member, ca, image=old_image), world)
    record = json.loads(host.find("federateddeployments", NS, NAME)["metadata"]["annotations"][
        waiter_contract.READY_ANNOTATION])
    assert record["hostnames"] == {"fed-1": "k8s-echo-fed-1.elb.amazonaws.com",
                                   "fed-2": "k8s-echo-fed-2.elb.amazonaws.com"}
    member.inject("*", ".*", reset=True, times=10_000)
    world.members = {"fed-1": host}
    with pytest.raises(RuntimeError, match="fed-2: reading Deployment echo/echo-server: API server not reachable"):
        provider("Update", props(host, member, ca), world, physical_id=WAITER, expire_after=3,
                 old=props(host, member, ca, image=old_image))  # a state never seen Ready: no shortcut
    done, polls = provider("Update", props(host, member, ca, image=old_image), world, physical_id=WAITER,
                           old=props(host, member, ca))
    assert polls == 1
    assert {k: v for k, v in done["Data"].items() if k.startswith("Hostname.")} == {
        f"Hostname.{c}": h for c, h in created["Data"].items() for c in [c.removeprefix("Hostname.")]}
    assert "fed-2: reading Deployment echo/echo-server: API server not reachable" in done["Data"][
        contract.NOT_VERIFIED_ATTRIBUTE]


def test_the_recorded_state_is_the_properties_not_the_timeout():
    """The digest leaves out what does not change what the waiter waits for (the timeout, the service token)."""
    base = {"ServiceToken": "a", "TimeoutSeconds": "300", "Workload": {"Name": "x"}, "Host": {}, "Clusters": []}
    assert handler.properties_digest(base) == handler.properties_digest({**base, "ServiceToken": "b",
                                                                          "TimeoutSeconds": "600"})
    assert handler.properties_digest(base) != handler.properties_digest({**base, "Workload": {"Name": "y"}})


# --- what the waiter may do on a cluster ------------------------------------------------------------------------------

_PATH = re.compile(r'"(?P<verb>[A-Z]+) /(?:api/v1|apis/(?P<group>[^/]+)/[^/]+)/namespaces/[^/]+/(?P<plural>[^/ ?]+)')


def test_every_request_the_waiter_makes_is_one_its_role_may(host, member, ca, caplog):  # noqa: F811
    """The waiter's role is not cluster-admin: on the host its ClusterRole (workload_waiter.HOST_RULES), everywhere
    EKS's AmazonEKSViewPolicy (get/list/watch of Deployments and Services, among others). Every request of a create,
    an update and a delete (seen by the emulated API servers' access log) must be one of those."""
    from components.workload_waiter.workload_waiter import HOST_RULES
    allowed = {(g, r, v) for rule in HOST_RULES for g in rule["apiGroups"] for r in rule["resources"]
               for v in rule["verbs"]}
    allowed |= {(g, r, v) for g, r in (("apps", "deployments"), ("", "services")) for v in ("get", "list", "watch")}
    verbs = {"GET": "get", "PATCH": "patch", "DELETE": "delete", "POST": "create", "PUT": "update"}
    apply_workload(host, rsp=True)
    world = Federation(host, {"fed-1": host, "fed-2": member}, schedule_after=2)
    with caplog.at_level(logging.INFO, logger="aiohttp.access"):
        done, _ = provider("Create", props(host, member, ca, rsp=True), world)
        provider("Delete", props(host, member, ca, rsp=True), world, physical_id=done["PhysicalResourceId"])
    made = {(m["group"] or "", m["plural"], verbs[m["verb"]]) for m in _PATH.finditer(caplog.text)}
    assert ("types.kubefed.io", "federateddeployments", "patch") in made  # the Ready record
    assert ("scheduling.kubefed.io", "replicaschedulingpreferences", "delete") in made
    assert made - allowed == set()
