"""Teardown of the KubeFed control plane's own objects, before its chart is uninstalled.

FederatedTypeConfigs carry a finalizer that only the running KubeFed controller removes. Deleted after
the chart (the controller already gone), they would hang in Terminating. So the federation stack has a
`Custom::KubefedTeardown` resource between the chart and the joins: on delete (after every unjoin, before
the chart's uninstall) it deletes the FederatedTypeConfigs and waits for the controller to release them;
past its deadline it removes the finalizers itself. Create and update do nothing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from .cluster_api import Cluster
from components.kube_access.kube_api import Failed, Waiting

log = logging.getLogger("kubefed_join")
KIND = "FederatedTypeConfig"
# What Helm writes on every object of a release (helm pkg/action/validate.go, setMetadataVisitor: the label
# app.kubernetes.io/managed-by=Helm and the annotations meta.helm.sh/release-name and -namespace): the teardown
# touches only FederatedTypeConfigs a Helm release in the KubeFed namespace made (the chart's), none made otherwise.
HELM_LABEL, HELM_VALUE = "app.kubernetes.io/managed-by", "Helm"
HELM_NAMESPACE_ANNOTATION = "meta.helm.sh/release-namespace"


def released_by_helm(meta: dict, namespace: str) -> bool:
    return ((meta.get("labels") or {}).get(HELM_LABEL) == HELM_VALUE
            and (meta.get("annotations") or {}).get(HELM_NAMESPACE_ANNOTATION) == namespace)


@dataclass
class Remaining:
    count: int
    """FederatedTypeConfigs still present."""
    errors: list[Exception] = field(default_factory=list)
    """What failed for some of them (each one is attempted regardless of the others)."""


def remaining_type_configs(host: Cluster, namespace: str, force: bool) -> Remaining:
    """Delete every FederatedTypeConfig in `namespace`; with `force`, also strip their finalizers.
    Raises Waiting/Failed only when they cannot even be listed."""
    items = [i for i in host.list(KIND, namespace) if released_by_helm(i.get("metadata") or {}, namespace)]
    result = Remaining(len(items))
    for item in items:
        try:
            _release(host, namespace, item["metadata"], force)
        except (Waiting, Failed) as exc:
            result.errors.append(exc)
    return result


def _release(host: Cluster, namespace: str, meta: dict, force: bool) -> None:
    name = meta["name"]
    if force and meta.get("finalizers"):
        if host.patch(KIND, name, namespace, {"metadata": {"finalizers": []}}, missing_ok=True):
            log.warning("host %s: removed the finalizers of FederatedTypeConfig %s (controller did not)",
                        host.ref.name, name)
    if not meta.get("deletionTimestamp"):
        host.delete(KIND, name, namespace, retry=True)
