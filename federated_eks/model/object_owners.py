"""One owner per object on the host, and the namespaces the project owns there (pure).

Every object the federation applies on the host is rendered by exactly one resource (a typed workload's
manifests, a folder's manifest). Two resources rendering the same object would both apply it, and deleting
either would delete it for both: a FederatedNamespace shared by a typed workload and a folder would withdraw both
workloads from every member. So a second owner is a config error naming both places. A folder may still use a
typed workload's namespace (its objects then depend on that namespace), as long as it does not render the
FederatedNamespace itself.

The v1 Namespace of each federated namespace is created on the host before anything else of it (KubeFed's
user guide applies one with each FederatedNamespace; the API server refuses namespaced objects in a namespace
that does not exist) and deleted after everything in it, by the owner of its FederatedNamespace. Namespaces the
project does not own (`default`, `kube-*`, KubeFed's own) are never created, deleted or federated.
"""
from __future__ import annotations

from typing import Any, Iterable

Identity = tuple[str, str, str, str]
"""(API group, kind, namespace, name): versions of one group serve the same object."""

NAMESPACE_API = ("v1", "Namespace")


def system_namespace(namespace: str, reserved: Iterable[str] = ()) -> bool:
    """A namespace the project does not own: `default`, `kube-*`, or one of `reserved` (KubeFed's own)."""
    return namespace == "default" or namespace.startswith("kube-") or namespace in tuple(reserved)


def host_namespace(name: str, labels: dict[str, str]) -> dict[str, Any]:
    """The v1 Namespace created on the host for federated namespace `name`."""
    return {"apiVersion": NAMESPACE_API[0], "kind": NAMESPACE_API[1], "metadata": {"name": name, "labels": labels}}


def identity(obj: dict[str, Any]) -> Identity:
    """The object's identity on the API server (fields of any shape read as text, so this never raises)."""
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    namespace = meta.get("namespace")
    return (str(obj.get("apiVersion", "")).rpartition("/")[0], str(obj.get("kind", "")),
            namespace if isinstance(namespace, str) else "", str(meta.get("name", "")))


def _shown(key: Identity) -> str:
    _, kind, namespace, name = key
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def second_owners(rendered: Iterable[tuple[str, dict[str, Any]]]) -> list[tuple[str, str, str]]:
    """`(where, what, fix)` for every object rendered by a second place; `rendered` is (place, object) in order
    (places such as `workloads[0]` or `workloads[1].manifests: samples/x/a.yaml`). Each object is rendered
    once per owner: a typed workload's FederatedNamespace once per namespace, named by its first workload."""
    owners: dict[Identity, str] = {}
    out = []
    for where, obj in rendered:
        key = identity(obj)
        if key in owners:
            first = owners[key]
            also = "twice there" if first == where else f"also by {first}"
            out.append((where, f"{_shown(key)} is applied {also}; with two owners, deleting either deletes it "
                        "for both",
                        "keep the object in one place (a folder may use a typed workload's namespace without a "
                        "FederatedNamespace of its own; otherwise give each its own namespace)"))
        else:
            owners[key] = where
    return out
