"""The waiter's decisions (pure): what is ready, what is missing, what is still there after a delete."""
from __future__ import annotations

from components.workload_waiter.runtime.workload_state import (DeploymentSeen, MemberSeen, PlacedCluster, ServiceSeen,
                                                             WorkloadPlan, readiness, remaining, scheduled_replicas)

ECHO = WorkloadPlan(namespace="echo", name="echo-server", load_balanced=True,
                    clusters=(PlacedCluster("fed-1", 2), PlacedCluster("fed-2", 3)))
HELLO = WorkloadPlan(namespace="federate-me", name="hello-world", load_balanced=False, total_replicas=7,
                     clusters=(PlacedCluster("fed-1", None), PlacedCluster("fed-2", None)))


def running(n: int, generation: int = 2) -> DeploymentSeen:
    return DeploymentSeen(replicas=n, generation=generation, observed_generation=generation, updated=n, available=n)


def lb(host: str | None) -> ServiceSeen:
    return ServiceSeen(hostname=host)


def test_ready_with_planned_replicas_and_hostnames():
    state = readiness(ECHO, {"fed-1": MemberSeen(running(2), lb("a.elb.amazonaws.com")),
                             "fed-2": MemberSeen(running(3), lb("b.elb.amazonaws.com"))})
    assert state.ready and state.detail == "ready"
    assert state.hostnames == {"fed-1": "a.elb.amazonaws.com", "fed-2": "b.elb.amazonaws.com"}


def test_every_missing_piece_is_named():
    state = readiness(ECHO, {
        "fed-1": MemberSeen(DeploymentSeen(replicas=2, generation=2, observed_generation=2, updated=2, available=1),
                            lb(None)),
        "fed-2": MemberSeen(None, None),
    })
    assert not state.ready
    assert state.waiting == (
        "fed-1: Deployment echo/echo-server has 1 of 2 replicas available (2 updated)",
        "fed-1: Service echo/echo-server has no load-balancer hostname yet",
        "fed-2: Deployment echo/echo-server not propagated yet",
        "fed-2: Service echo/echo-server not propagated yet",
    )
    assert state.hostnames == {}


def test_stale_member_spec_and_unseen_generation_wait():
    state = readiness(ECHO, {"fed-1": MemberSeen(running(1), lb("a")),
                             "fed-2": MemberSeen(DeploymentSeen(replicas=3, generation=3, observed_generation=2,
                                                                updated=3, available=3), lb("b"))})
    assert state.waiting == (
        "fed-1: Deployment echo/echo-server has spec.replicas 1, planned 2 (KubeFed has not updated it yet)",
        "fed-2: Deployment echo/echo-server: its controller has not seen the latest spec yet",
    )


def test_unreachable_member_is_named_with_its_error():
    state = readiness(ECHO, {"fed-1": MemberSeen(running(2), lb("a")),
                             "fed-2": MemberSeen(error="Deployment echo/echo-server: API server not reachable "
                                                       "(MaxRetryError: NewConnectionError)")})
    assert state.waiting == ("fed-2: Deployment echo/echo-server: API server not reachable (MaxRetryError: "
                             "NewConnectionError)",)
    assert state.hostnames == {"fed-1": "a"}


def federated_deployment(placed: list[str], replicas: dict[str, int], other: bool = True) -> dict:
    overrides = []
    for name, n in replicas.items():
        patches = [{"path": "/spec/replicas", "value": n}]
        if other:
            patches.insert(0, {"path": "/spec/template/spec/containers/0/image", "value": "x:1"})
        overrides.append({"clusterName": name, "clusterOverrides": patches})
    return {"spec": {"placement": {"clusters": [{"name": n} for n in placed]}, "overrides": overrides}}


def test_scheduled_replicas_come_from_the_schedulers_overrides():
    fd = federated_deployment(["fed-1", "fed-2"], {"fed-1": 3, "fed-2": 4})
    assert scheduled_replicas(fd) == {"fed-1": 3, "fed-2": 4}
    assert scheduled_replicas({"spec": {"template": {}}}) is None
    assert scheduled_replicas(None) is None


def test_replica_scheduling_waits_for_the_scheduler_then_for_its_numbers():
    members = {"fed-1": MemberSeen(running(3)), "fed-2": MemberSeen(running(4))}
    assert readiness(HELLO, members, None).waiting == (
        "ReplicaSchedulingPreference federate-me/hello-world: KubeFed has not scheduled replicas yet",)
    partial = scheduled_replicas(federated_deployment(["fed-1", "fed-2"], {"fed-1": 2, "fed-2": 3}))
    assert readiness(HELLO, members, partial).waiting == (
        "ReplicaSchedulingPreference federate-me/hello-world: 5 of 7 replicas scheduled so far",
        "fed-1: Deployment federate-me/hello-world has spec.replicas 3, planned 2 (KubeFed has not updated it yet)",
        "fed-2: Deployment federate-me/hello-world has spec.replicas 4, planned 3 (KubeFed has not updated it yet)",
    )
    done = scheduled_replicas(federated_deployment(["fed-1", "fed-2"], {"fed-1": 3, "fed-2": 4}))
    assert readiness(HELLO, members, done).ready


def test_a_cluster_the_scheduler_left_out_needs_no_deployment():
    only_one = scheduled_replicas(federated_deployment(["fed-2"], {"fed-2": 7}))
    state = readiness(HELLO, {"fed-1": MemberSeen(None), "fed-2": MemberSeen(running(7))}, only_one)
    assert state.ready


def test_seen_objects_from_api_dicts():
    d = DeploymentSeen.of({"metadata": {"generation": 4}, "spec": {"replicas": 2},
                           "status": {"observedGeneration": 4, "updatedReplicas": 2, "availableReplicas": 1}})
    assert d == DeploymentSeen(replicas=2, generation=4, observed_generation=4, updated=2, available=1)
    s = ServiceSeen.of({"metadata": {"deletionTimestamp": "2026-11-22T00:00:00Z",
                                     "finalizers": ["service.k8s.aws/resources"]},
                        "status": {"loadBalancer": {"ingress": [{"hostname": "k8s-echo.elb.amazonaws.com"}]}}})
    assert s.hostname == "k8s-echo.elb.amazonaws.com" and s.deleting
    assert ServiceSeen.of({"status": {"loadBalancer": {}}}).hostname is None


def test_delete_waits_for_member_copies_and_load_balancers():
    lb_going = ServiceSeen(hostname="a", deleting=True, finalizers=("service.k8s.aws/resources",))
    assert remaining(ECHO, {"fed-1": MemberSeen(None, lb_going), "fed-2": MemberSeen(running(3), lb("b"))}) == (
        "fed-1: Service echo/echo-server is waiting for its load balancer to be deleted (finalizers "
        "service.k8s.aws/resources)",
        "fed-2: Deployment echo/echo-server still there",
        "fed-2: Service echo/echo-server still there",
    )
    assert remaining(ECHO, {"fed-1": MemberSeen(), "fed-2": MemberSeen(error="API server not reachable")}) == (
        "fed-2: API server not reachable",)
    assert remaining(ECHO, {"fed-1": MemberSeen(), "fed-2": MemberSeen()}) == ()


def test_a_member_still_on_the_old_image_is_not_ready():
    plan = WorkloadPlan(namespace="echo", name="echo-server", load_balanced=False,
                        clusters=(PlacedCluster("fed-1", 2, "registry.k8s.io/echoserver:1.10"),))
    old = DeploymentSeen(replicas=2, generation=1, observed_generation=1, updated=2, available=2,
                         image="registry.k8s.io/echoserver:1.9")
    assert readiness(plan, {"fed-1": MemberSeen(old)}).waiting == (
        "fed-1: Deployment echo/echo-server runs image registry.k8s.io/echoserver:1.9, planned "
        "registry.k8s.io/echoserver:1.10 (KubeFed has not updated it yet)",)
    new = DeploymentSeen(replicas=2, generation=2, observed_generation=2, updated=2, available=2,
                         image="registry.k8s.io/echoserver:1.10")
    assert readiness(plan, {"fed-1": MemberSeen(new)}).ready
    seen = DeploymentSeen.of({"spec": {"replicas": 1, "template": {"spec": {"containers": [{"image": "a:1"}]}}}})
    assert seen.image == "a:1"
