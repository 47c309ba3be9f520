"""KubeFed's API as code: the 7 core CRDs, and per federated type its CRD and FederatedTypeConfig.

Pure functions returning Kubernetes objects as dicts. The federated-type CRD follows the construction of
`kubefedctl enable` in KubeFed v0.10.0 (pkg/kubefedctl/enable: `federatedTypeValidationSchema`,
`ValidationSchema`, `CrdForAPIResource`, `GenerateTypeConfigForTarget`): kind `Federated<Kind>`, plural
`federated<plural>`, one served+stored version with a status subresource, `spec.template` kept as given,
`spec.placement`, `spec.overrides`, `spec.retainReplicas` when the target's `spec.replicas` is an int32, and
the status KubeFed's sync controller writes. The core CRDs are this project's own definitions of KubeFed
v0.10.0's types (pkg/apis/core/v1beta1, v1alpha1 and pkg/apis/scheduling/v1alpha1), with every field and
type those types serialise.
"""
from __future__ import annotations

from typing import Any

from federated_eks.model.federation import FederatedType

Schema = dict[str, Any]
CORE_GROUP = "core.kubefed.io"
SCHEDULING_GROUP = "scheduling.kubefed.io"
FEDERATED_VERSION = "v1beta1"  # kubefedctl's default --federated-version
# A dropped type keeps its CRD, as `kubefedctl disable` without --delete-crd does (docs/internals/control-plane.md,
# "Disabling a type").
KEEP = {"helm.sh/resource-policy": "keep"}


# --- schema vocabulary --------------------------------------------------------------------------------------

def obj(properties: dict[str, Schema] | None = None, required: tuple[str, ...] = (), **extra: Any) -> Schema:
    out: Schema = {"type": "object", **extra}
    if properties is not None:
        out["properties"] = properties
    if required:
        out["required"] = list(required)
    return out


def arr(items: Schema, **extra: Any) -> Schema:
    return {"type": "array", "items": items, **extra}


def string(**extra: Any) -> Schema:
    return {"type": "string", **extra}


def integer(fmt: str, **extra: Any) -> Schema:
    return {"type": "integer", "format": fmt, **extra}


BOOLEAN: Schema = {"type": "boolean"}
TIME = string(format="date-time")
PRESERVED = {"x-kubernetes-preserve-unknown-fields": True}


def root(spec: Schema | None = None, status: Schema | None = None, required: tuple[str, ...] = (),
         **top: Schema) -> Schema:
    """An object's openAPIV3Schema: apiVersion, kind, metadata, then spec/status/other top-level fields."""
    props: dict[str, Schema] = {"apiVersion": string(), "kind": string(), "metadata": obj()}
    if spec is not None:
        props["spec"] = spec
    if status is not None:
        props["status"] = status
    props.update(top)
    return obj(props, required)


def crd(group: str, kind: str, plural: str, scope: str, version: str, schema: Schema, *,
        short_names: tuple[str, ...] = (), status: bool = True, columns: list[dict] | None = None,
        singular: bool = True, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    names: dict[str, Any] = {"kind": kind, "plural": plural}
    if singular:
        names.update(listKind=f"{kind}List", singular=kind.lower())
    if short_names:
        names["shortNames"] = list(short_names)
    ver: dict[str, Any] = {"name": version, "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}}
    if status:
        ver["subresources"] = {"status": {}}
    if columns:
        ver["additionalPrinterColumns"] = columns
    meta: dict[str, Any] = {"name": f"{plural}.{group}"}
    if annotations:
        meta["annotations"] = dict(annotations)
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": meta,
            "spec": {"group": group, "names": names, "scope": scope, "versions": [ver]}}


# --- federated types (kubefedctl enable) --------------------------------------------------------------------

def _placement() -> Schema:
    expression = obj({"key": string(), "operator": string(), "values": arr(string())}, ("key", "operator"))
    return obj({
        "clusters": arr(obj({"name": string()}, ("name",))),
        "clusterSelector": obj({"matchExpressions": arr(expression),
                                "matchLabels": obj(additionalProperties=string())}),
    })


def _overrides() -> Schema:
    patch = obj({"op": string(pattern="^(add|remove|replace)?$"), "path": string(), "value": dict(PRESERVED)},
                ("path",))
    return arr(obj({"clusterName": string(), "clusterOverrides": arr(patch)}))


def _federated_status() -> Schema:
    condition = obj({"type": string(), "status": string(), "reason": string(), "lastUpdateTime": TIME,
                     "lastTransitionTime": TIME}, ("type", "status"))
    cluster = obj({"name": string(), "status": string(), "remoteStatus": obj(**PRESERVED)}, ("name",))
    return obj({"conditions": arr(condition), "clusters": arr(cluster), "observedGeneration": integer("int64")})


def federated_scope(t: FederatedType) -> str:
    """FederatedNamespace is namespaced (it lives in the namespace it federates); others follow the target."""
    return "Namespaced" if t.name == "namespaces" else t.scope


def federated_type_crd(t: FederatedType) -> dict[str, Any]:
    spec_props: dict[str, Schema] = {"placement": _placement(), "overrides": _overrides(),
                                     "template": obj(**PRESERVED)}
    if t.has_replicas:
        spec_props["retainReplicas"] = dict(BOOLEAN)
    schema = root(spec=obj(spec_props), status=_federated_status(), required=("spec",))
    return crd(t.federated_group, f"Federated{t.kind}", f"federated{t.plural}", federated_scope(t),
               FEDERATED_VERSION, schema, short_names=tuple(f"f{s}" for s in t.short_names), singular=False,
               annotations=KEEP)


def type_config(t: FederatedType, namespace: str) -> dict[str, Any]:
    """The FederatedTypeConfig `kubefedctl enable` creates, propagation enabled."""
    target: dict[str, Any] = {"kind": t.kind, "pluralName": t.plural, "scope": t.scope, "version": t.version}
    if t.group:
        target["group"] = t.group
    federated = {"group": t.federated_group, "kind": f"Federated{t.kind}", "pluralName": f"federated{t.plural}",
                 "scope": federated_scope(t), "version": FEDERATED_VERSION}
    return {"apiVersion": f"{CORE_GROUP}/v1beta1", "kind": "FederatedTypeConfig",
            "metadata": {"name": t.name, "namespace": namespace},
            "spec": {"federatedType": federated, "propagation": "Enabled", "targetType": target}}


# --- the core CRDs ------------------------------------------------------------------------------------------

def _api_resource() -> Schema:
    return obj({"group": string(), "kind": string(), "pluralName": string(), "scope": string(),
                "version": string()}, ("kind", "pluralName", "scope", "version"))


def _propagated_version_status() -> Schema:
    return obj({"clusterVersions": arr(obj({"clusterName": string(), "version": string()},
                                           ("clusterName", "version"))),
                "overridesVersion": string(), "templateVersion": string()},
               ("overridesVersion", "templateVersion"))


_QUALIFIED_NAME = ("^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                   "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$")


def _service_status() -> Schema:
    """corev1.ServiceStatus as KubeFed v0.10.0 vendors it (k8s.io/api v0.2x)."""
    condition = obj({
        "lastTransitionTime": TIME,
        "message": string(maxLength=32768),
        "observedGeneration": integer("int64", minimum=0),
        "reason": string(maxLength=1024, minLength=1, pattern="^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"),
        "status": string(enum=["True", "False", "Unknown"]),
        "type": string(maxLength=316, pattern=_QUALIFIED_NAME),
    }, ("lastTransitionTime", "message", "reason", "status", "type"))
    port = obj({"error": string(maxLength=316, pattern=_QUALIFIED_NAME), "port": integer("int32"),
                "protocol": string(default="TCP")}, ("port", "protocol"))
    ingress = obj({"hostname": string(), "ip": string(), "ports": arr(port, **{"x-kubernetes-list-type": "atomic"})})
    return obj({
        "conditions": arr(condition, **{"x-kubernetes-list-map-keys": ["type"], "x-kubernetes-list-type": "map"}),
        "loadBalancer": obj({"ingress": arr(ingress)}),
    })


def _kubefed_config_spec() -> Schema:
    i64 = integer("int64")
    return obj({
        "clusterHealthCheck": obj({"failureThreshold": i64, "period": string(), "successThreshold": i64,
                                   "timeout": string()}),
        "controllerDuration": obj({"availableDelay": string(), "cacheSyncTimeout": string(),
                                   "unavailableDelay": string()}),
        "featureGates": arr(obj({"configuration": string(), "name": string()}, ("configuration", "name"))),
        "leaderElect": obj({"leaseDuration": string(), "renewDeadline": string(), "resourceLock": string(),
                            "retryPeriod": string()}),
        "scope": string(),
        "statusController": obj({"maxConcurrentReconciles": i64}),
        "syncController": obj({"adoptResources": string(), "maxConcurrentReconciles": i64}),
    }, ("scope",))


def _kubefed_cluster() -> dict[str, Any]:
    spec = obj({"apiEndpoint": string(), "caBundle": string(format="byte"),
                "disabledTLSValidations": arr(string()), "proxyURL": string(),
                "secretRef": obj({"name": string()}, ("name",))}, ("apiEndpoint", "secretRef"))
    condition = obj({"lastProbeTime": TIME, "lastTransitionTime": TIME, "message": string(), "reason": string(),
                     "status": string(), "type": string()}, ("lastProbeTime", "status", "type"))
    status = obj({"conditions": arr(condition), "kubernetesVersion": string(), "region": string(),
                  "zones": arr(string())}, ("conditions",))
    columns = [{"jsonPath": ".metadata.creationTimestamp", "name": "age", "type": "date"},
               {"jsonPath": ".status.conditions[?(@.type=='Ready')].status", "name": "ready", "type": "string"},
               {"jsonPath": ".status.kubernetesVersion", "name": "kubernetes-version", "type": "string"}]
    return crd(CORE_GROUP, "KubeFedCluster", "kubefedclusters", "Namespaced", "v1beta1",
               root(spec=spec, status=status, required=("spec",)), short_names=("kfc",), columns=columns)


def _replica_scheduling_preference() -> dict[str, Any]:
    i64 = integer("int64")
    preference = obj({"maxReplicas": i64, "minReplicas": i64, "weight": i64})
    spec = obj({"clusters": obj(additionalProperties=preference), "intersectWithClusterSelector": dict(BOOLEAN),
                "rebalance": dict(BOOLEAN), "targetKind": string(), "totalReplicas": integer("int32")},
               ("targetKind", "totalReplicas"))
    return crd(SCHEDULING_GROUP, "ReplicaSchedulingPreference", "replicaschedulingpreferences", "Namespaced",
               "v1alpha1", root(spec=spec, status=obj()), short_names=("rsp",), status=False)


def core_crds() -> list[dict[str, Any]]:
    """KubeFedCluster, KubeFedConfig, FederatedTypeConfig, PropagatedVersion, ClusterPropagatedVersion,
    FederatedServiceStatus and ReplicaSchedulingPreference."""
    ftc_spec = obj({"federatedType": _api_resource(), "propagation": string(), "statusCollection": string(),
                    "statusType": _api_resource(), "targetType": _api_resource()},
                   ("federatedType", "propagation", "targetType"))
    ftc_status = obj({"observedGeneration": integer("int64"), "propagationController": string(),
                      "statusController": string()}, ("observedGeneration", "propagationController"))
    return [
        _kubefed_cluster(),
        crd(CORE_GROUP, "KubeFedConfig", "kubefedconfigs", "Namespaced", "v1beta1",
            root(spec=_kubefed_config_spec(), required=("spec",)), status=False),
        crd(CORE_GROUP, "FederatedTypeConfig", "federatedtypeconfigs", "Namespaced", "v1beta1",
            root(spec=ftc_spec, status=ftc_status, required=("spec",)), short_names=("ftc",)),
        crd(CORE_GROUP, "PropagatedVersion", "propagatedversions", "Namespaced", "v1alpha1",
            root(status=_propagated_version_status())),
        crd(CORE_GROUP, "ClusterPropagatedVersion", "clusterpropagatedversions", "Cluster", "v1alpha1",
            root(status=_propagated_version_status())),
        crd(CORE_GROUP, "FederatedServiceStatus", "federatedservicestatuses", "Namespaced", "v1alpha1",
            root(clusterStatus=arr(obj({"clusterName": string(), "status": _service_status()},
                                       ("clusterName", "status")))), status=False),
        _replica_scheduling_preference(),
    ]


def all_crds(types: tuple[FederatedType, ...]) -> list[dict[str, Any]]:
    """The 7 core CRDs and one per federated type (17 with the default types)."""
    return core_crds() + [federated_type_crd(t) for t in types]
