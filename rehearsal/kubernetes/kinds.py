"""Which kinds an emulated EKS API server serves: the built-in APIs of its Kubernetes version, and the kinds of
its Established CustomResourceDefinitions. A kind that is neither is refused as the API server refuses a path it
does not serve (404), and a client that maps kinds through discovery (kubectl, Helm) says
`no matches for kind "K" in version "G/V"`.

Built-in APIs of a version: the kinds with a group-version-kind in the JSON schemas kubernetes-validate ships for
that version (generated from the Kubernetes OpenAPI document of the release), GA versions only: EKS serves no
alpha API, and beta APIs are off by default since Kubernetes 1.24 (KEP-3136). Resource names (plural, scope) come
from kmock's discovery dump of a real cluster; the few GA kinds newer than that dump are listed below.
"""
from __future__ import annotations

import functools
import gzip
import importlib.resources
import json
import os
import re
from dataclasses import dataclass

import kubernetes_validate
from kubernetes_validate import utils as validate_utils

_GA = re.compile(r"^v\d+$")
# Kinds with a schema and a group-version-kind that are not stored objects (subresources, meta types).
_NOT_RESOURCES = {"Status", "Eviction", "Scale", "TokenRequest", "TokenReview", "SelfSubjectReview",
                  "SubjectAccessReview", "SelfSubjectAccessReview", "SelfSubjectRulesReview",
                  "LocalSubjectAccessReview", "Binding", "DeleteOptions", "WatchEvent", "APIGroup", "APIGroupList",
                  "APIResourceList", "APIVersions"}
# GA kinds newer than kmock's discovery dump: (group/version, kind) -> (plural, namespaced), as discovery serves them.
_NEWER = {
    ("resource.k8s.io/v1", "DeviceClass"): ("deviceclasses", False),
    ("resource.k8s.io/v1", "ResourceClaim"): ("resourceclaims", True),
    ("resource.k8s.io/v1", "ResourceClaimTemplate"): ("resourceclaimtemplates", True),
    ("resource.k8s.io/v1", "ResourceSlice"): ("resourceslices", False),
    ("storage.k8s.io/v1", "VolumeAttributesClass"): ("volumeattributesclasses", False),
}


@dataclass(frozen=True)
class ApiResource:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    builtin: bool = True

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


def schema_dir(kubernetes_version: str) -> str:
    """kubernetes-validate's schema folder for a minor version (the newest release not newer than it), as its
    `validate` picks it."""
    wanted = validate_utils.major_minor(kubernetes_version.lstrip("v"))
    versions = [v for v in validate_utils.all_versions() if validate_utils.major_minor(v) <= wanted]
    if not versions:
        raise ValueError(f"kubernetes-validate has no schemas for Kubernetes {kubernetes_version!r}")
    return f"v{versions[-1]}-local-strict"


@functools.cache
def _discovery_names() -> dict[tuple[str, str], tuple[str, bool]]:
    data = importlib.resources.files("kmock._internal").joinpath("resources.json.gz").read_bytes()
    names = {}
    for doc in json.loads(gzip.decompress(data)):
        for res in doc["resources"]:
            if "/" not in res["name"]:
                names[(doc["groupVersion"], res["kind"])] = (res["name"], bool(res["namespaced"]))
    return {**names, **_NEWER}


@functools.cache
def builtin_resources(kubernetes_version: str) -> tuple[ApiResource, ...]:
    """The built-in stored kinds a cluster of this minor version serves (GA versions)."""
    folder = os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema",
                          schema_dir(kubernetes_version))
    names = _discovery_names()
    found = set()
    for filename in os.listdir(folder):
        if filename.startswith(("_", "all.")) or "list-" in filename:
            continue
        with open(os.path.join(folder, filename)) as f:
            schema = json.load(f)
        for gvk in schema.get("x-kubernetes-group-version-kind", []):
            group, version, kind = gvk["group"], gvk["version"], gvk["kind"]
            group_version = f"{group}/{version}" if group else version
            if kind in _NOT_RESOURCES or kind.endswith("List") or not _GA.match(version):
                continue
            if "metadata" not in schema.get("properties", {}) or (group_version, kind) not in names:
                continue
            plural, namespaced = names[(group_version, kind)]
            found.add(ApiResource(group, version, kind, plural, namespaced))
    return tuple(sorted(found, key=lambda r: (r.group, r.version, r.kind)))


def crd_resources(crd: dict) -> list[ApiResource]:
    """The kinds an Established CustomResourceDefinition serves (one per served version); none before it is
    Established."""
    conditions = (crd.get("status") or {}).get("conditions") or []
    if not any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions):
        return []
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    return [ApiResource(spec.get("group", ""), v.get("name", ""), names.get("kind", ""), names.get("plural", ""),
                        spec.get("scope") == "Namespaced", builtin=False)
            for v in spec.get("versions") or [] if v.get("served")]


def crd_version_schema(crd: dict, version: str) -> dict | None:
    for v in (crd.get("spec") or {}).get("versions") or []:
        if v.get("name") == version:
            return (v.get("schema") or {}).get("openAPIV3Schema")
    return None
