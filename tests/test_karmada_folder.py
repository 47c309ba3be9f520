"""Folders of Karmada objects (engine karmada, `workloads[].manifests`): read by the config reader, checked against
Karmada's kinds and the fields the project relies on (federated_eks/config/karmada_folder.py, run by the app before
any construct), applied by one Custom::KarmadaObjects per folder, and their LoadBalancer Services counted where the
load-balancer controller and ExternalDNS go. The rehearsal plays one (tests/test_rehearsal_environments.py)."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import aws_cdk as cdk
import pytest
import yaml
from aws_cdk.assertions import Template

import app as federation_app
from components import karmada_crds
from components.karmada_join.runtime import properties as runtime_properties
from components.karmada_join.runtime.resources import KINDS as RUNTIME_KINDS
from fedtest import CONTEXT, ROOT, environment, scratch_dir
from federated_eks.config import karmada_folder, manifest_folder
from federated_eks.config.fields import ConfigError
from federated_eks.config.reader import load_environment
from federated_eks.plan import federation_layout, karmada_folder as plan, topology
from test_config import P, only_problem

SAMPLE = "samples/echo-server-karmada"
CLUSTERS = [("fed-1", "us-east-1"), ("fed-2", "us-east-2"), ("fed-3", "us-west-2")]
CRDS = karmada_crds.all_crds()
NS = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}
DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
              "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                       "template": {"metadata": {"labels": {"app": "web"}},
                                    "spec": {"containers": [{"name": "web", "image": "nginx:1.29"}]}}}}
POLICY = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy",
          "metadata": {"name": "web", "namespace": "shop"},
          "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
                   "placement": {"clusterAffinity": {"clusterNames": ["fed-1", "fed-2"]}}}}
WHERE = "f.yaml: "


def objs(*objects: dict) -> list[tuple[str, dict]]:
    return [("f.yaml", copy.deepcopy(o)) for o in objects]


def check(*objects: dict, typed=(), version="1.35") -> list[str]:
    """The problems as `where: what. Fix: fix` lines."""
    return [f"{w}: {what}. Fix: {fix}" for w, what, fix in
            karmada_folder.check(objs(*objects), CRDS, CLUSTERS, typed, version)]


def with_(obj: dict, path: str, value) -> dict:
    out = copy.deepcopy(obj)
    keys = path.split(".")
    target = out
    for k in keys[:-1]:
        target = target.setdefault(k, {})
    target[keys[-1]] = value
    return out


def sample_objects() -> list[tuple[str, dict]]:
    objects, problems = manifest_folder.load(ROOT, SAMPLE, engine="Karmada")
    assert problems == []
    return list(objects)


def karmada_env(*workloads, clusters: int = 3) -> dict:
    return environment(clusters, engine="karmada", workloads=list(workloads))


def app_problems(raw: dict) -> list[str]:
    cfg = load_environment({"t": raw}, "t")
    with pytest.raises(ConfigError) as err:
        federation_app.check_manifest_folders(cfg)
    return err.value.problems


# --- accepted -------------------------------------------------------------------------------------------------------

def test_the_echo_server_sample_is_a_valid_karmada_folder():
    objects = sample_objects()
    assert [o["kind"] for _, o in objects] == ["Namespace", "Deployment", "PropagationPolicy", "Service",
                                               "PropagationPolicy"]
    assert karmada_folder.check(objects, CRDS, CLUSTERS, (), "1.35") == []
    cfg = load_environment({"t": karmada_env({"manifests": SAMPLE})}, "t")
    federation_app.check_manifest_folders(cfg)  # raises on any problem
    assert [f.path for f in cfg.manifest_folders] == [SAMPLE]
    # Its LoadBalancer Service goes where its PropagationPolicy places it: the controller there only.
    assert topology.load_balancer_clusters(cfg) == ("fed-1", "fed-2")


def test_a_folder_may_use_a_typed_workloads_namespace_and_every_policy_kind():
    cpp = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "ClusterPropagationPolicy",
           "metadata": {"name": "config"},
           "spec": {"resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap", "namespace": "web",
                                           "labelSelector": {"matchLabels": {"tier": "web"}}}],
                    "placement": {"clusterAffinity": {"fieldSelector": {"matchExpressions": [
                        {"key": "region", "operator": "In", "values": ["us-east-1"]}]}}}}}
    cop = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "ClusterOverridePolicy", "metadata": {"name": "env"},
           "spec": {"resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap"}],
                    "overrideRules": [{"targetCluster": {"clusterNames": ["fed-1"]}, "overriders": {"plaintext": [
                        {"path": "/data/region", "operator": "add", "value": "east"}]}}]}}
    config = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "web", "namespace": "web", "labels": {"tier": "web"}}, "data": {"a": "b"}}
    assert check(cpp, cop, config, typed=["web"]) == []
    assert plan.placed_clusters(cpp, CLUSTERS) == ("fed-1",)


# --- kinds ----------------------------------------------------------------------------------------------------------

def test_kubefed_objects_in_a_karmada_folder_say_which_engine_reads_them():
    found = app_problems(karmada_env({"manifests": "samples/hello-world"}))
    assert found[0] == (
        f"{P}.workloads[0].manifests: samples/hello-world/00-namespace.yaml: FederatedNamespace "
        "federate-me/federate-me: is a KubeFed object (types.kubefed.io/v1beta1), which engine kubefed reads; engine "
        "karmada propagates the Kubernetes objects themselves, placed by PropagationPolicies. Fix: write the object "
        "itself (e.g. a FederatedDeployment's spec.template as a Deployment) with a PropagationPolicy "
        '(policy.karmada.io/v1alpha1) placing it, or set engine "kubefed"')
    assert len(found) == 4 and all("is a KubeFed object" in p for p in found)


def test_karmada_objects_in_a_kubefed_folder_say_which_engine_reads_them():
    found = app_problems(environment(3, workloads=[{"manifests": SAMPLE}]))
    policies = [p for p in found if "PropagationPolicy" in p]
    assert policies[0] == (
        f"{P}.workloads[0].manifests: {SAMPLE}/10-deployment.yaml: PropagationPolicy echo/echo-server-deployment: is "
        "a Karmada object (policy.karmada.io/v1alpha1), which engine karmada reads; engine kubefed (this "
        "environment's) propagates KubeFed's federated types. Fix: set engine \"karmada\" for a folder of Karmada "
        "objects, or write the workload as KubeFed objects (a Federated<Kind> with its placement)")
    assert len(policies) == 2


def test_kinds_a_folder_cannot_hold_are_refused_each_with_its_reason():
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "shop"}}
    work = {"apiVersion": "work.karmada.io/v1alpha1", "kind": "Work", "metadata": {"name": "w", "namespace": "shop"}}
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "shop"}}
    found = check(NS, DEPLOYMENT, POLICY, secret, work, sts)
    assert found[0] == (f"{WHERE}Secret shop/s: cannot be carried by a manifest folder: its objects are in the "
                        "CloudFormation template, in clear text. Fix: create the Secret on karmada-apiserver by other "
                        "means (or with External Secrets on the members) and keep it out of the folder")
    assert found[1].startswith(f"{WHERE}Work shop/w: is not a Karmada kind a manifest folder can hold "
                               "(work.karmada.io/v1alpha1 Work: Karmada's controllers or the joins write it)")
    assert found[2].startswith(f"{WHERE}StatefulSet shop/db: apps/v1 StatefulSet is not a kind the Karmada join "
                               "applies from a folder. Fix: use Karmada's policies and these resource templates: ")
    assert len(found) == 3


def test_the_kinds_a_folder_holds_are_those_the_karmada_join_applies():
    """The Lambda applies a kind only at the apiVersion and scope its KINDS table says (runtime/resources.py), and
    at most MAX_OBJECTS per resource (runtime/properties.py): the folder check may accept nothing else."""
    for (api, kind), namespaced in plan.TEMPLATE_KINDS.items():
        assert (RUNTIME_KINDS[kind].api_version, RUNTIME_KINDS[kind].namespaced) == (api, namespaced), kind
    for kind, namespaced in plan.POLICY_KINDS.items():
        assert (RUNTIME_KINDS[kind].api_version, RUNTIME_KINDS[kind].namespaced) == (
            "policy.karmada.io/v1alpha1", namespaced), kind
        crd = next(c for c in CRDS if c["spec"]["names"]["kind"] == kind)
        assert crd["spec"]["scope"] == ("Namespaced" if namespaced else "Cluster")
    assert plan.MAX_OBJECTS == runtime_properties.MAX_OBJECTS
    big = [NS, POLICY, *({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}", "namespace": "shop"}}
                        for i in range(plan.MAX_OBJECTS))]
    assert check(*big)[0] == (f"(folder): holds {plan.MAX_OBJECTS + 2} objects, more than the {plan.MAX_OBJECTS} "
                              "one Custom::KarmadaObjects applies. Fix: split it into two folders")


# --- namespaces -----------------------------------------------------------------------------------------------------

def test_namespaced_objects_need_a_namespace_the_folder_or_a_typed_workload_creates():
    assert check(DEPLOYMENT, POLICY) == [
        f"{WHERE}Deployment shop/web: metadata.namespace: namespace 'shop' is not created by the folder or a typed "
        "workload, so karmada-apiserver refuses the object (NotFound). Fix: add a Namespace 'shop' (v1) to the folder",
        f"{WHERE}PropagationPolicy shop/web: metadata.namespace: namespace 'shop' is not created by the folder or a "
        "typed workload, so karmada-apiserver refuses the object (NotFound). Fix: add a Namespace 'shop' (v1) to the "
        "folder"]
    assert check(DEPLOYMENT, POLICY, typed=["shop"]) == []
    no_namespace = {**DEPLOYMENT, "metadata": {"name": "web"}}
    assert f"{WHERE}Deployment web: metadata.namespace: is missing" in check(NS, no_namespace, POLICY)[0]


@pytest.mark.parametrize("namespace", ["karmada-system", "karmada-cluster", "karmada-es-fed-1", "kube-system",
                                       "default"])
def test_karmadas_and_the_systems_namespaces_hold_nothing_of_a_folder(namespace):
    ns = with_(NS, "metadata.name", namespace)
    dep, pol = with_(DEPLOYMENT, "metadata.namespace", namespace), with_(POLICY, "metadata.namespace", namespace)
    found = check(ns, dep, pol)
    assert found[0] == (f"{WHERE}Namespace {namespace}: {namespace!r} is a system namespace or one of Karmada's own, "
                        "and a folder's Namespaces are deleted with it. Fix: give the folder's objects a namespace of "
                        "their own")
    assert f"Deployment {namespace}/web: metadata.namespace: {namespace!r} is a system namespace or one of " \
           "Karmada's own" in found[1]
    assert len(found) == 3


def test_cluster_scoped_policies_have_no_namespace():
    cpp = {**copy.deepcopy(POLICY), "kind": "ClusterPropagationPolicy"}
    assert check(NS, DEPLOYMENT, cpp) == [
        f"{WHERE}ClusterPropagationPolicy shop/web: metadata.namespace: is set, but a ClusterPropagationPolicy is "
        "cluster-scoped. Fix: remove metadata.namespace"]


def test_a_folder_namespace_of_a_typed_workload_has_two_owners():
    typed = {"name": "web", "namespace": "shop", "image": "nginx:1.29", "containerPort": 80}
    root = Path(scratch_dir("kfolder-"))
    (root / "f.yaml").write_text(yaml.safe_dump_all([NS]))
    found = only_problem(karmada_env(typed, {"manifests": str(root)}))
    assert found.startswith(f"{P}.workloads[1].manifests: {root}/f.yaml: Namespace shop is applied also by "
                            f"{P}.workloads[0]; with two owners, deleting either deletes it for both")


# --- propagation and placement ----------------------------------------------------------------------------------------

def test_every_template_is_propagated_by_exactly_one_policy_and_every_policy_propagates_something():
    assert check(NS, DEPLOYMENT) == [
        f"{WHERE}Deployment shop/web: is selected by no PropagationPolicy or ClusterPropagationPolicy of the folder, "
        "so Karmada leaves it on karmada-apiserver (no member gets it) and the deploy waits for it. Fix: add a "
        "PropagationPolicy in its namespace selecting it (resourceSelectors: [{apiVersion: apps/v1, kind: Deployment, "
        "name: web}])"]
    twice = with_(POLICY, "metadata.name", "web-again")
    assert check(NS, DEPLOYMENT, POLICY, twice) == [
        f"{WHERE}Deployment shop/web: is selected by PropagationPolicy web and PropagationPolicy web-again: Karmada "
        "propagates an object by one policy only (chosen by priority and how exactly it selects), so where it goes "
        "depends on that choice. Fix: select it from one propagation policy"]
    elsewhere = with_(POLICY, "spec.resourceSelectors", [{"apiVersion": "apps/v1", "kind": "Deployment",
                                                          "name": "other"}])
    found = check(NS, DEPLOYMENT, POLICY, with_(elsewhere, "metadata.name", "other"))
    assert found == [f"{WHERE}PropagationPolicy shop/other: spec.resourceSelectors: selects no object of the folder (a "
                     "namespaced policy selects in its own namespace only), so it propagates nothing the folder owns. "
                     "Fix: select the folder's objects by apiVersion, kind and name, or remove the policy"]
    secret = with_(POLICY, "spec.resourceSelectors", [{"apiVersion": "v1", "kind": "Secret"},
                                                      {"apiVersion": "apps/v1", "kind": "Deployment"}])
    assert check(NS, DEPLOYMENT, secret)[0].startswith(
        f"{WHERE}PropagationPolicy shop/web: spec.resourceSelectors[0]: selects v1 Secret, which no manifest folder "
        "holds")


@pytest.mark.parametrize("affinity, field, what", [
    ({"clusterNames": ["fed-1", "fed-9"]}, "clusterNames[1]", "'fed-9' is not a cluster of this federation"),
    ({"exclude": ["fed-9"]}, "exclude[0]", "'fed-9' is not a cluster of this federation"),
    ({"labelSelector": {"matchLabels": {"env": "prod"}}}, "labelSelector",
     "selects Clusters by label, but the federation's joins set no label on a Cluster, so it matches none"),
    ({"fieldSelector": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}},
     "fieldSelector.matchExpressions[0].key", "'zone' is a Cluster field the federation's joins do not set"),
    ({"fieldSelector": {"matchExpressions": [{"key": "region", "operator": "In", "values": ["mars-1"]}]}},
     "fieldSelector.matchExpressions[0].values[0]", "'mars-1' is not a region of this federation's clusters"),
])
def test_placements_name_this_federations_clusters_and_what_the_joins_set(affinity, field, what):
    found = check(NS, DEPLOYMENT, with_(POLICY, "spec.placement.clusterAffinity", affinity))
    assert found[0].startswith(f"{WHERE}PropagationPolicy shop/web: spec.placement.clusterAffinity.{field}: {what}")


def test_a_placement_that_selects_no_cluster_is_refused():
    found = check(NS, DEPLOYMENT, with_(POLICY, "spec.placement.clusterAffinity",
                                        {"exclude": ["fed-1", "fed-2", "fed-3"]}))
    assert found == [f"{WHERE}PropagationPolicy shop/web: spec.placement: selects no cluster of this federation, so "
                     "Karmada places nothing and the deploy waits for it. Fix: place on clusters of: fed-1, fed-2, "
                     "fed-3"]


@pytest.mark.parametrize("scheduling, field, what", [
    ({"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Aggregated"},
     "replicaDivisionPreference", "'Aggregated' is not supported by federated-eks"),
    ({"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Weighted",
      "weightPreference": {"dynamicWeight": "AvailableReplicas"}}, "weightPreference.dynamicWeight",
     "is not supported by federated-eks"),
    ({"replicaSchedulingType": "Divided"}, "replicaDivisionPreference",
     "is required with replicaSchedulingType Divided"),
    ({"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Weighted", "weightPreference": {
        "staticWeightList": [{"targetCluster": {"clusterNames": ["fed-7"]}, "weight": 1}]}},
     "weightPreference.staticWeightList[0].targetCluster.clusterNames[0]", "'fed-7' is not a cluster"),
    ({"replicaSchedulingType": "Spread"}, "replicaSchedulingType", "'Spread' is not one of ['Duplicated', 'Divided']"),
])
def test_replica_scheduling_is_duplicated_or_divided_by_static_weights(scheduling, field, what):
    found = check(NS, DEPLOYMENT, with_(POLICY, "spec.placement.replicaScheduling", scheduling))
    assert len(found) == 1 and found[0].startswith(
        f"{WHERE}PropagationPolicy shop/web: spec.placement.replicaScheduling.{field}: {what}"), found


def test_policies_are_checked_against_karmadas_schema():
    found = check(NS, DEPLOYMENT, POLICY, {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "OverridePolicy",
                                           "metadata": {"name": "o", "namespace": "shop"},
                                           "spec": {"overrideRules": [{"targetCluster": {"clusterNames": ["fed-4"]},
                                                                       "overriders": {"plaintext": [
                                                                           {"path": "/spec/replicas"}]}}]}})
    assert found == [
        f"{WHERE}OverridePolicy shop/o: spec.overrideRules[0].overriders.plaintext[0].operator: is required. Fix: add "
        "the field",
        f"{WHERE}OverridePolicy shop/o: spec.overrideRules[0].targetCluster.clusterNames[0]: 'fed-4' is not a cluster "
        "of this federation. Fix: use one of: fed-1, fed-2, fed-3"]
    no_selectors = with_(POLICY, "spec", {"placement": {}})
    assert check(NS, DEPLOYMENT, no_selectors)[0] == (
        f"{WHERE}Deployment shop/web: is selected by no PropagationPolicy or ClusterPropagationPolicy of the folder, "
        "so Karmada leaves it on karmada-apiserver (no member gets it) and the deploy waits for it. Fix: add a "
        "PropagationPolicy in its namespace selecting it (resourceSelectors: [{apiVersion: apps/v1, kind: Deployment, "
        "name: web}])")
    assert f"{WHERE}PropagationPolicy shop/web: spec.resourceSelectors: is required. Fix: add the field" in \
        check(NS, DEPLOYMENT, no_selectors)


# --- templates ------------------------------------------------------------------------------------------------------

def test_templates_are_checked_against_the_kubernetes_schema_of_the_version():
    typo = with_(DEPLOYMENT, "spec.replica", 3)
    found = check(NS, typo, POLICY)
    assert len(found) == 1 and found[0].startswith(f"{WHERE}Deployment shop/web: spec: ") and "replica" in found[0]
    assert "the Kubernetes API of Deployment (1.35)" in found[0]
    unpinned = with_(DEPLOYMENT, "spec.template.spec.containers", [{"name": "web", "image": "nginx"}])
    assert check(NS, unpinned, POLICY)[0].startswith(
        f"{WHERE}Deployment shop/web: spec.template.spec.containers[0].image: ")


def test_a_load_balancer_service_has_the_controllers_class_and_no_node_ports():
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"},
               "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80}]}}
    svc_policy = with_(with_(POLICY, "metadata.name", "web-svc"), "spec.resourceSelectors",
                       [{"apiVersion": "v1", "kind": "Service", "name": "web"}])
    assert check(NS, DEPLOYMENT, POLICY, service, svc_policy) == [
        f"{WHERE}Service shop/web: spec.loadBalancerClass: is None: a LoadBalancer Service needs the class the AWS "
        "Load Balancer Controller claims, else the legacy in-tree controller makes a Classic Load Balancer (or "
        "nothing serves it). Fix: set `loadBalancerClass: service.k8s.aws/nlb`",
        f"{WHERE}Service shop/web: spec.allocateLoadBalancerNodePorts: is not false: karmada-apiserver would allocate "
        "node ports, and Karmada copies them to every member, where they may collide (karmada#7823). Fix: set "
        "`allocateLoadBalancerNodePorts: false` (the controller's ip targets need no node port)"]


# --- where load balancers and DNS go ------------------------------------------------------------------------------------

def test_load_balancer_clusters_follow_the_policies_that_place_the_services():
    objects = sample_objects()
    assert plan.load_balancer_clusters(objects, CLUSTERS) == ("fed-1", "fed-2")
    (svc_policy,) = [o for _, o in objects if o["metadata"]["name"] == "echo-server-service"]
    svc_policy["spec"]["placement"] = {"clusterAffinity": {"fieldSelector": {"matchExpressions": [
        {"key": "region", "operator": "NotIn", "values": ["us-east-1"]}]}}}
    assert plan.load_balancer_clusters(objects, CLUSTERS) == ("fed-2", "fed-3")
    svc_policy["spec"]["placement"] = {}  # no affinity: every cluster
    assert plan.load_balancer_clusters(objects, CLUSTERS) == ("fed-1", "fed-2", "fed-3")
    svc_policy["spec"]["placement"] = {"clusterAffinities": [{"affinityName": "a", "clusterNames": ["fed-3"]},
                                                             {"affinityName": "b", "clusterNames": ["fed-1"]}]}
    assert plan.load_balancer_clusters(objects, CLUSTERS) == ("fed-1", "fed-3")  # any term may be used
    svc_policy["spec"]["resourceSelectors"] = [{"apiVersion": "v1", "kind": "Service", "name": "other"}]
    assert plan.load_balancer_clusters(objects, CLUSTERS) == ()


def test_a_folders_dns_zone_goes_to_the_clusters_of_its_annotated_services():
    root = Path(scratch_dir("kfolder-"))
    objects = [o for _, o in sample_objects()]
    plain = copy.deepcopy(objects)
    (root / "plain").mkdir()
    (root / "plain" / "all.yaml").write_text(yaml.safe_dump_all(plain))
    assert only_problem(karmada_env({"manifests": str(root / "plain"), "hostedZoneId": "Z0123456789ABC"})) == (
        f"{P}.workloads[0].hostedZoneId: is set, but no LoadBalancer Service of the folder carries the "
        "external-dns.alpha.kubernetes.io/hostname annotation (on the Service or added by an OverridePolicy). Fix: "
        "annotate the Services that need a record (see docs/workloads/index.md), or remove it")
    override = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "OverridePolicy",
                "metadata": {"name": "echo-dns", "namespace": "echo"},
                "spec": {"resourceSelectors": [{"apiVersion": "v1", "kind": "Service", "name": "echo-server"}],
                         "overrideRules": [{"targetCluster": {"clusterNames": ["fed-1"]}, "overriders": {"plaintext": [
                             {"path": "/metadata/annotations/external-dns.alpha.kubernetes.io~1hostname",
                              "operator": "add", "value": "echo.example.com"}]}}]}}
    (root / "dns").mkdir()
    (root / "dns" / "all.yaml").write_text(yaml.safe_dump_all([*plain, override]))
    assert only_problem(karmada_env({"manifests": str(root / "dns")})) == (
        f"{P}.workloads[0].hostedZoneId: is missing, but {root}/dns/all.yaml: Service echo/echo-server asks "
        "ExternalDNS for a record. Fix: name the hosted zone of its records, so that ExternalDNS runs on its clusters "
        "with a role on it")
    cfg = load_environment({"t": karmada_env({"manifests": str(root / "dns"), "hostedZoneId": "Z0123456789ABC"})}, "t")
    federation_app.check_manifest_folders(cfg)
    assert topology.dns_zones(cfg) == {"fed-1": ("Z0123456789ABC",), "fed-2": ("Z0123456789ABC",)}


# --- the federation stack -------------------------------------------------------------------------------------------

def _federation(raw: dict) -> dict:
    cfg = load_environment({"t": raw}, "t")
    app = cdk.App(outdir=scratch_dir("synth-"), context=CONTEXT)
    stacks = federation_app.build(app, cfg)
    return Template.from_stack(stacks["fedeks-t-federation"]).to_json()["Resources"]


def test_each_folder_is_one_custom_karmada_objects_after_the_typed_workloads():
    typed = {"name": "web", "namespace": "web", "image": "nginx:1.29", "containerPort": 80}
    without = _federation(karmada_env(typed))
    resources = _federation(karmada_env(typed, {"manifests": SAMPLE}))
    objects = {k: r for k, r in resources.items() if r["Type"] == "Custom::KarmadaObjects"}
    (workloads,) = [k for k in objects if "Workloads" in k]
    (folder,) = [k for k in objects if "Manifests" in k]
    # The typed workloads' resource keeps its logical id and properties: adding a folder changes nothing of it.
    assert without[workloads] == resources[workloads]
    assert set(resources) - set(without) == {folder}
    props = objects[folder]["Properties"]
    applied = json.loads(props["Objects"])
    assert [(o["kind"], o["metadata"]["name"]) for o in applied] == [
        ("Namespace", "echo"), ("PropagationPolicy", "echo-server-deployment"),
        ("PropagationPolicy", "echo-server-service"), ("Deployment", "echo-server"), ("Service", "echo-server")]
    assert applied[3]["spec"]["replicas"] == 5 and applied[4]["spec"]["allocateLoadBalancerNodePorts"] is False
    assert props["Owner"].startswith("t-manifests-") and props["Owner"] != "t-workloads"
    assert workloads in objects[folder]["DependsOn"]
    assert {k for k in resources if "Join" in k and resources[k]["Type"] == "Custom::KarmadaJoin"} <= set(
        objects[folder]["DependsOn"])
    assert len(resources) == federation_layout.federation_resources(
        load_environment({"t": karmada_env(typed, {"manifests": SAMPLE})}, "t"))


# --- the objects' wait after a change of the policy alone ---------------------------------------------------------------

def test_the_objects_wait_takes_a_changed_policy_into_account():
    """A folder (or a typed workload) whose PropagationPolicy changes while its Deployment does not (new weights, the
    same total): the Custom::KarmadaObjects wait must not take the binding of the old placement for the new one
    (components/karmada_join/runtime/objects.py placement_state)."""
    from components.karmada_join.runtime import objects as runtime_objects
    deployment = copy.deepcopy(DEPLOYMENT)
    current = {**deployment, "metadata": {**deployment["metadata"], "resourceVersion": "7"}}
    new = with_(POLICY, "spec.placement", {"clusterAffinity": {"clusterNames": ["fed-1"]}})
    binding = {"metadata": {"generation": 2},
               "spec": {"resource": {"resourceVersion": "7"}, "placement": POLICY["spec"]["placement"],
                        "clusters": [{"name": "fed-1", "replicas": 1}, {"name": "fed-2", "replicas": 1}]},
               "status": {"schedulerObservedGeneration": 2,
                          "conditions": [{"type": "Scheduled", "status": "True"},
                                         {"type": "FullyApplied", "status": "True"}],
                          "aggregatedStatus": [{"clusterName": c, "applied": True, "health": "Healthy"}
                                               for c in ("fed-1", "fed-2")]}}
    assert runtime_objects.placement_state(deployment, current, binding, POLICY) == (["fed-1", "fed-2"], None)
    assert runtime_objects.placement_state(deployment, current, binding, new) == (
        [], "Deployment shop/web: its ResourceBinding does not have its PropagationPolicy's placement yet")
    moved = copy.deepcopy(binding)
    moved["spec"]["placement"], moved["metadata"]["generation"] = new["spec"]["placement"], 3
    assert runtime_objects.placement_state(deployment, current, moved, new) == (
        [], "Deployment shop/web: not scheduled since its placement changed")
    assert runtime_objects.selects_by_name(POLICY, deployment)
    assert not runtime_objects.selects_by_name(with_(POLICY, "metadata.namespace", "other"), deployment)


def _paths(value, path=()):
    """Every position in a YAML value (mapping keys and list indexes), depth first."""
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*path, i))


def test_objects_of_any_shape_are_reported_never_raised():
    """A folder's objects may hold anything YAML can write at any field: the reader's queries (DNS annotations), the
    check and the placement queries report, and never raise (a crash would show a traceback instead of the field)."""
    sample = [o for _, o in sample_objects()]
    override = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "OverridePolicy",
                "metadata": {"name": "o", "namespace": "echo"},
                "spec": {"resourceSelectors": [{"apiVersion": "v1", "kind": "Service", "name": "echo-server",
                                                "labelSelector": {"matchExpressions": [
                                                    {"key": "a", "operator": "In", "values": ["b"]}]}}],
                         "overrideRules": [{"targetCluster": {"clusterNames": ["fed-1"], "fieldSelector": {
                             "matchExpressions": [{"key": "region", "operator": "In", "values": ["us-east-1"]}]}},
                             "overriders": {"plaintext": [{"path": "/metadata/annotations", "operator": "add",
                                                           "value": {"k": "v"}}],
                                            "annotationsOverrider": [{"operator": "add", "value": {"k": "v"}}]}}]}}
    objects = [*sample, override]
    odd = (None, 5, "x", [], {}, [5], {"a": 5}, [{"key": ["k"]}])
    checked = 0
    for index, obj in enumerate(objects):
        for path in _paths(obj):
            if len(path) < 2 or path[0] in ("apiVersion", "kind") or path[:2] == ("metadata", "name"):
                continue  # what the reader refuses before (manifest_folder.load: not an object)
            for value in odd:
                broken = copy.deepcopy(objects)
                target = broken[index]
                for key in path[:-1]:
                    target = target[key]
                target[path[-1]] = value
                pairs = [("f.yaml", o) for o in broken]
                karmada_folder.check(pairs, CRDS, CLUSTERS, (), None)
                plan.dns_annotated_services(pairs)
                plan.load_balancer_clusters(pairs, CLUSTERS)
                plan.apply_order(o for _, o in pairs)
                checked += 1
    assert checked > 500
