"""The workload description rendered as Karmada objects (federated_eks/plan/karmada_workload.py): exact per-cluster counts
(the scheduler's division replayed), weights, overrides, regions, Services without node ports; every object valid
against Kubernetes' schemas or the Karmada schemas of components/karmada_crds.py."""
from __future__ import annotations

import jsonpatch
import jsonschema
import kubernetes_validate
import pytest

from components import karmada_crds
from federated_eks.plan import karmada_workload as kw
from federated_eks.model.federation import KUBERNETES_VERSIONS
from federated_eks.model.workload import (ClusterOverride, Placement, ReplicaPreference, ReplicaScheduling, ServiceSpec,
                                    Workload)
from rehearsal.kubernetes.karmada_scheduling import _fnv32a, schedule, webster

CLUSTERS = (("fed-1", "us-east-1"), ("fed-2", "us-east-2"), ("fed-3", "us-east-2"))


def divisions(w: Workload) -> list[dict[str, int]]:
    """What each placed cluster may run, from the rendered PropagationPolicy, as Karmada's scheduler divides it: one
    result per tie-breaker order that gives a different one."""
    objs = kw.workload_objects(w, CLUSTERS)
    dep = next(o for o in objs if o["kind"] == "Deployment")
    policy = next(o for o in objs if o["kind"] == "PropagationPolicy"
                  and o["spec"]["resourceSelectors"][0]["kind"] == "Deployment")
    # Karmada's scheduler (rehearsal/kubernetes/karmada_scheduling.py), with UIDs of both tie-breaking orders.
    results = {tuple(sorted(schedule(policy["spec"]["placement"], dep["spec"]["replicas"], [c for c, _ in CLUSTERS],
                                     uid).items())) for uid in ("", "b")}
    return [dict(r) for r in sorted(results)]


def member_counts(w: Workload) -> dict[str, int]:
    """The one division of `w` (fixed counts must not depend on the tie-breaker)."""
    results = divisions(w)
    assert len(results) == 1, f"the division depends on the tie-breaker: {results}"
    return results[0]


def web(**changes) -> Workload:
    return Workload(**{"name": "web", "namespace": "web", "image": "nginx:1.29", "container_port": 80, **changes})


def test_equal_counts_are_duplicated():
    assert member_counts(web(replicas=3)) == {"fed-1": 3, "fed-2": 3, "fed-3": 3}
    policy = kw.workload_objects(web(replicas=3), CLUSTERS)[0]
    assert policy["spec"]["placement"]["replicaScheduling"] == {"replicaSchedulingType": "Duplicated"}


@pytest.mark.parametrize("counts", [(2, 3, None), (1, 7, 1), (5, 1, 0), (10, 3, 7), (1, 2, 4), (0, 0, 5), (9, 8, 1)])
def test_fixed_per_cluster_counts_come_out_exact(counts):
    """Weights equal to the counts and the Deployment's replicas their sum: Webster gives every cluster its count."""
    overrides = tuple((c, ClusterOverride(replicas=n)) for (c, _), n in zip(CLUSTERS, counts) if n is not None)
    w = web(replicas=2, overrides=overrides)
    expected = {c: (n if n is not None else 2) for (c, _), n in zip(CLUSTERS, counts)}
    got = member_counts(w)
    assert {c: got.get(c, 0) for c in expected} == expected


def test_exactness_holds_for_every_small_count_combination():
    for a in range(0, 9):
        for b in range(0, 9):
            for c in range(0, 9):
                w = web(overrides=(("fed-1", ClusterOverride(replicas=a)), ("fed-2", ClusterOverride(replicas=b)),
                                   ("fed-3", ClusterOverride(replicas=c))))
                got = member_counts(w)
                assert [got.get(n, 0) for n in ("fed-1", "fed-2", "fed-3")] == [a, b, c]


def test_the_echo_server_walkthrough_two_and_three_replicas():
    w = web(placement=Placement(clusters=("fed-1", "fed-2")), replicas=2,
            overrides=(("fed-2", ClusterOverride(replicas=3)),), service=ServiceSpec(type="LoadBalancer"))
    assert member_counts(w) == {"fed-1": 2, "fed-2": 3}


def test_replica_scheduling_becomes_static_weights():
    spread = web(replica_scheduling=ReplicaScheduling(total_replicas=7, rebalance=True,
                                                      clusters=(("*", ReplicaPreference(weight=1)),)))
    for counts in divisions(spread):  # 7 over 3 equal weights: the UID's tie-breaker picks the cluster with 3
        assert sum(counts.values()) == 7 and sorted(counts.values()) == [2, 2, 3]
    weighted = web(replica_scheduling=ReplicaScheduling(total_replicas=8, clusters=(
        ("fed-1", ReplicaPreference(weight=3)), ("fed-2", ReplicaPreference(weight=1)))))
    assert member_counts(weighted) == {"fed-1": 6, "fed-2": 2}  # fed-3 has no entry and no "*": weight 0
    even = web(replica_scheduling=ReplicaScheduling(total_replicas=6))
    assert member_counts(even) == {"fed-1": 2, "fed-2": 2, "fed-3": 2}


def test_placement_by_region_resolves_to_cluster_names():
    w = web(placement=Placement(regions=("us-east-2",)))
    policy = kw.workload_objects(w, CLUSTERS)[0]
    assert policy["spec"]["placement"]["clusterAffinity"] == {"clusterNames": ["fed-2", "fed-3"]}


def test_overrides_set_image_and_env_per_cluster():
    w = web(env=(("MODE", "a"), ("KEEP", "1")), overrides=(
        ("fed-2", ClusterOverride(image="nginx:1.30", env=(("MODE", "b"),))), ("fed-3", ClusterOverride(replicas=4))))
    objs = kw.workload_objects(w, CLUSTERS)
    override = next(o for o in objs if o["kind"] == "OverridePolicy")
    assert override["spec"]["overrideRules"] == [{"targetCluster": {"clusterNames": ["fed-2"]}, "overriders": {
        "plaintext": [{"path": "/spec/template/spec/containers/0/image", "operator": "replace", "value": "nginx:1.30"},
                      {"path": "/spec/template/spec/containers/0/env", "operator": "add",
                       "value": [{"name": "KEEP", "value": "1"}, {"name": "MODE", "value": "b"}]}]}}]
    # Applied as Karmada applies plaintext overriders (JSON patches), the member's Deployment runs the override.
    dep = next(o for o in objs if o["kind"] == "Deployment")
    patch = [{"op": p["operator"], "path": p["path"], "value": p["value"]}
             for p in override["spec"]["overrideRules"][0]["overriders"]["plaintext"]]
    member = jsonpatch.apply_patch(dep, patch)
    container = member["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "nginx:1.30" and {"name": "MODE", "value": "b"} in container["env"]


def test_policies_go_before_what_they_select_and_names_never_collide():
    a = web(service=ServiceSpec())
    b = web(name="web-service", service=ServiceSpec())
    objs = [o for w in (a, b) for o in kw.workload_objects(w, CLUSTERS)]
    names = [(o["kind"], o["metadata"]["name"]) for o in objs]
    assert len(names) == len(set(names))
    for i, o in enumerate(objs):
        if o["kind"] in ("Deployment", "Service"):
            selecting = [p for p in objs[:i] if p["kind"] == "PropagationPolicy"
                         and p["spec"]["resourceSelectors"][0]["name"] == o["metadata"]["name"]
                         and p["spec"]["resourceSelectors"][0]["kind"] == o["kind"]]
            assert selecting, f"{o['kind']} {o['metadata']['name']} is applied before its policy"


def test_load_balancer_services_allocate_no_node_ports():
    """karmada#7823: karmada-apiserver's node ports would be copied to every member; none are allocated."""
    svc = next(o for o in kw.workload_objects(web(service=ServiceSpec(type="LoadBalancer", scheme="internal")),
                                                CLUSTERS) if o["kind"] == "Service")
    assert svc["spec"]["allocateLoadBalancerNodePorts"] is False
    assert svc["spec"]["loadBalancerClass"] == "service.k8s.aws/nlb"
    assert svc["metadata"]["annotations"]["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internal"
    assert all("nodePort" not in p for p in svc["spec"]["ports"])


def test_service_annotations_per_cluster_are_overrides_of_placed_clusters_only():
    w = web(placement=Placement(clusters=("fed-1", "fed-2")), service=ServiceSpec(type="LoadBalancer"))
    objs = kw.workload_objects(w, CLUSTERS, service_annotations={
        "fed-1": {"external-dns.alpha.kubernetes.io/hostname": "web.example.com"}, "fed-3": {"x": "y"}})
    override = next(o for o in objs if o["kind"] == "OverridePolicy" and o["metadata"]["name"] == "web-service")
    assert [r["targetCluster"]["clusterNames"] for r in override["spec"]["overrideRules"]] == [["fed-1"]]


EVERYTHING = (
    web(service=ServiceSpec(type="LoadBalancer"), env=(("A", "1"),),
        overrides=(("fed-1", ClusterOverride(replicas=2, image="nginx:1.30", env=(("A", "2"),))),)),
    web(name="spread", namespace="spread", service=ServiceSpec(),
        replica_scheduling=ReplicaScheduling(total_replicas=7, clusters=(("*", ReplicaPreference(weight=1)),))),
)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_validates(version):
    schemas = karmada_crds.schemas()
    objs = kw.all_objects(EVERYTHING, CLUSTERS)
    karmada = 0
    for obj in objs:
        if obj["apiVersion"].endswith("karmada.io/v1alpha1"):
            jsonschema.Draft7Validator(schemas[(obj["apiVersion"], obj["kind"])]).validate(obj)
            karmada += 1
        else:
            kubernetes_validate.validate(obj, version, strict=True)
    assert karmada == 5  # a PropagationPolicy per Deployment and Service, the first Deployment's OverridePolicy
    assert [o["kind"] for o in objs].count("Namespace") == 2


def test_the_schemas_refuse_what_karmada_refuses():
    schemas = karmada_crds.schemas()
    policy = kw.workload_objects(EVERYTHING[1], CLUSTERS)[0]
    weight = policy["spec"]["placement"]["replicaScheduling"]["weightPreference"]["staticWeightList"][0]
    weight["weight"] = 0  # kubebuilder Minimum=1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(policy, schemas[(policy["apiVersion"], "PropagationPolicy")])
    with pytest.raises(jsonschema.ValidationError, match="'resourceSelectors' is a required property"):
        jsonschema.validate({"apiVersion": karmada_crds.POLICY_API, "kind": "PropagationPolicy", "metadata": {},
                             "spec": {}}, schemas[(karmada_crds.POLICY_API, "PropagationPolicy")])
    with pytest.raises(jsonschema.ValidationError, match="'Sideways' is not one of"):
        jsonschema.validate({"apiVersion": karmada_crds.CLUSTER_API, "kind": "Cluster", "metadata": {"name": "a"},
                             "spec": {"syncMode": "Sideways"}}, schemas[(karmada_crds.CLUSTER_API, "Cluster")])
    rule = {"overriders": {"plaintext": [{"path": "/spec/replicas", "operator": "set", "value": 1}]}}
    with pytest.raises(jsonschema.ValidationError, match="'set' is not one of"):
        jsonschema.validate({"apiVersion": karmada_crds.POLICY_API, "kind": "OverridePolicy", "metadata": {},
                             "spec": {"overrideRules": [rule]}}, schemas[(karmada_crds.POLICY_API, "OverridePolicy")])


def test_a_push_cluster_as_a_join_registers_it_validates():
    cluster = {"apiVersion": karmada_crds.CLUSTER_API, "kind": "Cluster", "metadata": {"name": "fed-1"},
               "spec": {"syncMode": "Push", "apiEndpoint": "https://x.eks.amazonaws.com", "id": "uid",
                        "secretRef": {"namespace": "karmada-cluster", "name": "fed-1"},
                        "impersonatorSecretRef": {"namespace": "karmada-cluster", "name": "fed-1-impersonator"},
                        "provider": "aws", "region": "us-east-1"}}
    jsonschema.Draft7Validator(karmada_crds.schemas()[(karmada_crds.CLUSTER_API, "Cluster")]).validate(cluster)


def test_the_scheduler_model_breaks_ties_both_ways():
    """The two UIDs the tests use pick opposite orders (FNV-32a parity), and a tie goes by name that way."""
    assert _fnv32a("a") == 0xE40C292C  # FNV-1a 32-bit of "a"
    assert _fnv32a("b") & 1 == 1  # descending; "" (no UID) is ascending whatever its hash
    assert webster(1, {"a": 1, "b": 1}) == {"a": 1, "b": 0}
    assert webster(1, {"a": 1, "b": 1}, "b") == {"a": 0, "b": 1}
    assert webster(1, {"a": 1, "b": 1}, "a") == {"a": 1, "b": 0}
    assert webster(9, {"a": 1, "b": 2}) == {"a": 3, "b": 6}  # the example of assignment.go
    assert webster(9, {"a": 1, "b": 3}) == {"a": 2, "b": 7}
