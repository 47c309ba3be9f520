"""Karmada's API as this project uses it, as code: minimal CRDs (openAPIV3 schemas) of PropagationPolicy and
OverridePolicy and their cluster-scoped twins ClusterPropagationPolicy and ClusterOverridePolicy (same specs:
propagation_types.go / override_types.go; `policy.karmada.io/v1alpha1`) and of Cluster (`cluster.karmada.io/v1alpha1`).

Pure functions returning Kubernetes objects as dicts, written from Karmada's Go types (karmada-io/karmada, tag
v1.19.0-rc.0: pkg/apis/policy/v1alpha1/propagation_types.go and override_types.go, pkg/apis/cluster/v1alpha1/
types.go), not copied from its CRD files. Every field the project writes is typed as the Go type serialises it, with
the required fields (`+required`, or a JSON name without `omitempty`) and the enums (`kubebuilder:validation:Enum`)
stated; fields the project never writes are kept as open objects (`x-kubernetes-preserve-unknown-fields`), so an
object using them still validates. Used by the workload tests (every rendered object validates) and by the rehearsal's
emulated karmada-apiserver (rehearsal/kubernetes/karmada.py), which serves these kinds.

Cluster is not a CRD on a real karmada-apiserver (karmada-aggregated-apiserver serves it); its schema is written as
one here so that the emulation and the tests can validate it the same way.
"""
from __future__ import annotations

from typing import Any

from components.kubefed_crds import BOOLEAN, PRESERVED, Schema, arr, crd, integer, obj, root, string

POLICY_GROUP = "policy.karmada.io"
CLUSTER_GROUP = "cluster.karmada.io"
VERSION = "v1alpha1"
POLICY_API = f"{POLICY_GROUP}/{VERSION}"
CLUSTER_API = f"{CLUSTER_GROUP}/{VERSION}"
OPEN: Schema = {"type": "object", **PRESERVED}
OPERATORS = ["add", "remove", "replace"]  # OverriderOperator


def _label_selector() -> Schema:
    requirement = obj({"key": string(), "operator": string(), "values": arr(string())}, ("key", "operator"))
    return obj({"matchLabels": obj(additionalProperties=string()), "matchExpressions": arr(requirement)})


def _resource_selectors(min_items: int) -> Schema:
    """ResourceSelector: apiVersion and kind required; namespace, name, labelSelector optional."""
    selector = obj({"apiVersion": string(), "kind": string(), "namespace": string(), "name": string(),
                    "labelSelector": _label_selector()}, ("apiVersion", "kind"))
    return arr(selector, **({"minItems": min_items} if min_items else {}))


def cluster_affinity() -> Schema:
    """ClusterAffinity: clusterNames, exclude, labelSelector, fieldSelector (NodeSelectorRequirements on the Cluster's
    provider, region, zone)."""
    requirement = obj({"key": string(), "operator": string(), "values": arr(string())}, ("key", "operator"))
    return obj({"labelSelector": _label_selector(), "fieldSelector": obj({"matchExpressions": arr(requirement)}),
                "clusterNames": arr(string()), "exclude": arr(string())})


def _replica_scheduling() -> Schema:
    weight = obj({"targetCluster": cluster_affinity(), "weight": integer("int64", minimum=1)},
                 ("targetCluster", "weight"))
    return obj({
        "replicaSchedulingType": string(enum=["Duplicated", "Divided"]),
        "replicaDivisionPreference": string(enum=["Aggregated", "Weighted"]),
        "weightPreference": obj({"staticWeightList": arr(weight), "dynamicWeight": string(enum=["AvailableReplicas"])}),
    })


def _placement() -> Schema:
    return obj({"clusterAffinity": cluster_affinity(), "clusterAffinities": arr(OPEN), "clusterTolerations": arr(OPEN),
                "spreadConstraints": arr(OPEN), "replicaScheduling": _replica_scheduling(),
                "workloadAffinity": OPEN})


def _propagation_spec() -> Schema:
    return obj({
        "resourceSelectors": _resource_selectors(1), "association": BOOLEAN, "propagateDeps": BOOLEAN,
        "placement": _placement(), "priority": integer("int32"), "preemption": string(enum=["Always", "Never"]),
        "dependentOverrides": arr(string()), "schedulerName": string(), "failover": OPEN,
        "conflictResolution": string(enum=["Abort", "Overwrite"]), "activationPreference": string(enum=["Lazy"]),
        "suspension": OPEN, "preserveResourcesOnDeletion": BOOLEAN, "schedulePriority": OPEN,
    }, ("resourceSelectors",))


def _overriders() -> Schema:
    plaintext = obj({"path": string(), "operator": string(enum=OPERATORS), "value": dict(PRESERVED)},
                    ("path", "operator"))
    image = obj({"predicate": obj({"path": string()}, ("path",)),
                 "component": string(enum=["Registry", "Repository", "Tag"]), "operator": string(enum=OPERATORS),
                 "value": string()}, ("component", "operator"))
    return obj({"plaintext": arr(plaintext), "imageOverrider": arr(image), "commandOverrider": arr(OPEN),
                "argsOverrider": arr(OPEN), "labelsOverrider": arr(OPEN), "annotationsOverrider": arr(OPEN),
                "fieldOverrider": arr(OPEN)})


def _override_spec() -> Schema:
    rule = obj({"targetCluster": cluster_affinity(), "overriders": _overriders()}, ("overriders",))
    return obj({"resourceSelectors": _resource_selectors(0), "overrideRules": arr(rule),
                # Deprecated in favour of overrideRules (override_types.go); still served.
                "targetCluster": cluster_affinity(), "overriders": _overriders()})


def _cluster_spec() -> Schema:
    secret_ref = obj({"namespace": string(), "name": string()}, ("namespace", "name"))
    return obj({
        "id": string(maxLength=128000), "syncMode": string(enum=["Push", "Pull"]), "apiEndpoint": string(),
        "secretRef": secret_ref, "impersonatorSecretRef": secret_ref, "insecureSkipTLSVerification": BOOLEAN,
        "proxyURL": string(), "proxyHeader": obj(additionalProperties=string()), "provider": string(),
        "region": string(), "zone": string(), "zones": arr(string()), "taints": arr(OPEN),
        "resourceModels": arr(OPEN),
    }, ("syncMode",))


def _cluster_status() -> Schema:
    condition = obj({"type": string(), "status": string(), "reason": string(), "message": string(),
                     "lastTransitionTime": string(), "observedGeneration": integer("int64")}, ("type", "status"))
    return obj({"kubernetesVersion": string(), "apiEnablements": arr(OPEN), "conditions": arr(condition),
                "nodeSummary": OPEN, "resourceSummary": OPEN, "remedyActions": arr(string())})


def propagation_policy_crd() -> dict[str, Any]:
    return crd(POLICY_GROUP, "PropagationPolicy", "propagationpolicies", "Namespaced", VERSION,
               root(_propagation_spec(), required=("spec",)), short_names=("pp",), status=False)


def override_policy_crd() -> dict[str, Any]:
    return crd(POLICY_GROUP, "OverridePolicy", "overridepolicies", "Namespaced", VERSION,
               root(_override_spec(), required=("spec",)), short_names=("op",), status=False)


def cluster_propagation_policy_crd() -> dict[str, Any]:
    return crd(POLICY_GROUP, "ClusterPropagationPolicy", "clusterpropagationpolicies", "Cluster", VERSION,
               root(_propagation_spec(), required=("spec",)), short_names=("cpp",), status=False)


def cluster_override_policy_crd() -> dict[str, Any]:
    return crd(POLICY_GROUP, "ClusterOverridePolicy", "clusteroverridepolicies", "Cluster", VERSION,
               root(_override_spec(), required=("spec",)), short_names=("cop",), status=False)


def cluster_crd() -> dict[str, Any]:
    return crd(CLUSTER_GROUP, "Cluster", "clusters", "Cluster", VERSION,
               root(_cluster_spec(), _cluster_status(), required=("spec",)))


def all_crds() -> list[dict[str, Any]]:
    """The Karmada kinds this project writes (the Cluster* policies: those of manifest folders): what the emulated
    karmada-apiserver serves, the manifest folder check (federated_eks/config/karmada_folder.py) and the tests
    validate against."""
    return [propagation_policy_crd(), override_policy_crd(), cluster_propagation_policy_crd(),
            cluster_override_policy_crd(), cluster_crd()]


def schemas() -> dict[tuple[str, str], Schema]:
    """(apiVersion, kind) -> openAPIV3Schema, for validating objects with jsonschema."""
    return {(f'{c["spec"]["group"]}/{v["name"]}', c["spec"]["names"]["kind"]): v["schema"]["openAPIV3Schema"]
            for c in all_crds() for v in c["spec"]["versions"]}
