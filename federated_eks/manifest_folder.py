"""A folder of KubeFed YAML, applied as it is: reading it, and checking every object before anything is built.

`load` reads `*.yaml` / `*.yml` files (sorted by name, every document of each) and reports unreadable files,
YAML errors and documents that are not Kubernetes objects. `check` validates each object against the
OpenAPI schema of its KubeFed CRD (the same CRDs the control plane installs), and the KubeFed rules a schema
cannot express: placement naming clusters of this federation, and a FederatedNamespace for the namespace of
every namespaced federated object (KubeFed places nothing in a namespace that is not federated).
Problems are `(where, what, fix)`: where is `<file>: <Kind> <namespace>/<name>: <field>`.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

import jsonschema
import yaml

from federated_eks.model import DEFAULT_FEDERATED_TYPES, FederatedType
from federated_eks.object_owners import identity, system_namespace

Problem = tuple[str, str, str]
SUFFIXES = (".yaml", ".yml")
_TYPE_NAMES = {"object": "an object", "array": "a list", "string": "a string", "integer": "a whole number",
               "boolean": "true or false", "number": "a number"}


def load(root: Path, folder: str) -> tuple[tuple[tuple[str, dict], ...], list[Problem]]:
    """Every object in `folder` (relative to `root` unless absolute) as `(file, object)`, or the problems."""
    base = root / folder
    if not base.is_dir():
        return (), [(folder, "is not a folder", "point manifests at a folder of KubeFed YAML files, relative to "
                     "the folder with cdk.json")]
    files = sorted(p for p in base.iterdir() if p.is_file() and p.suffix in SUFFIXES)
    if not files:
        return (), [(folder, "has no .yaml or .yml file", "put the KubeFed objects in YAML files there")]
    objects: list[tuple[str, dict]] = []
    problems: list[Problem] = []
    for path in files:
        shown = f"{folder.rstrip('/')}/{path.name}"
        try:
            docs = list(yaml.safe_load_all(path.read_text()))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append((shown, f"cannot be read ({type(exc).__name__})", "make it a readable UTF-8 file"))
            continue
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f" at line {mark.line + 1}" if mark is not None else ""
            problems.append((shown, f"is not valid YAML{line}: {getattr(exc, 'problem', None) or exc}",
                             "fix the YAML syntax"))
            continue
        for i, doc in enumerate(docs):
            if doc is None:
                continue
            wrong = _not_an_object(doc)
            if wrong:
                problems.append((f"{shown} (document {i + 1})", wrong, "give every document apiVersion, kind and "
                                 "metadata.name"))
                continue
            objects.append((shown, doc))
    return tuple(objects), problems


def _not_an_object(doc: Any) -> str | None:
    if not isinstance(doc, dict):
        return "is not a Kubernetes object (a mapping)"
    missing = [k for k in ("apiVersion", "kind") if not isinstance(doc.get(k), str)]
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        missing.append("metadata.name")
    return f"has no {', '.join(missing)}" if missing else None


def disabled_default_type(api_version: str, kind: str, enabled: Iterable[FederatedType]) -> FederatedType | None:
    """The default type whose federated kind `apiVersion`/`kind` is, when `enabled` does not include it (so
    `kubefed.disabledTypes` disabled it); None for any other kind."""
    group = api_version.rpartition("/")[0]
    found = next((t for t in DEFAULT_FEDERATED_TYPES if t.federated_group == group and t.federated_kind == kind),
                 None)
    return None if found is None or found in tuple(enabled) else found


def disabled_type_problem(t: FederatedType) -> tuple[str, str]:
    """(what, fix) for an object of the disabled default type `t`."""
    return (f"{t.federated_kind} is the federated type of {t.name!r}, which kubefed.disabledTypes disables (its "
            "CRD and FederatedTypeConfig are not installed)", f"remove {t.name!r} from kubefed.disabledTypes")


def _served(crds: Iterable[dict]) -> dict[tuple[str, str], tuple[dict, str]]:
    """(apiVersion, kind) -> (openAPIV3Schema, scope) for every served version of `crds`."""
    out = {}
    for crd in crds:
        spec = crd["spec"]
        for version in spec["versions"]:
            if version.get("served", True):
                out[(f"{spec['group']}/{version['name']}", spec["names"]["kind"])] = (
                    version["schema"]["openAPIV3Schema"], spec["scope"])
    return out


def _field(error: jsonschema.ValidationError) -> str:
    parts = list(error.absolute_path)
    if error.validator == "required":  # the missing field, not its parent
        missing = re.match(r"'(.+)' is a required property", error.message)
        parts.append(missing.group(1) if missing else "?")
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _explain(error: jsonschema.ValidationError) -> tuple[str, str]:
    """(what, fix) for one schema error, in the config's words."""
    if error.validator == "type":
        wanted = error.validator_value
        got = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
               float: "a number", type(None): "null"}.get(type(error.instance), type(error.instance).__name__)
        hint = {"array": "write a YAML list (- item)", "object": "write a YAML mapping (key: value)"}
        return (f"must be {_TYPE_NAMES.get(wanted, wanted)}, got {got}",
                hint.get(wanted, f"write {_TYPE_NAMES.get(wanted, wanted)}"))
    if error.validator == "required":
        return "is required", "add the field"
    return error.message, "follow the KubeFed API for this field"


def _placement_fix(field: str) -> str:
    if field.endswith("placement.clusters"):
        return ("list clusters as `clusters: [{name: fed-1}]`; to place on every cluster write "
                "`clusterSelector: {}` instead")
    return ""


def check(objects: Iterable[tuple[str, dict]], crds: Iterable[dict], clusters: Iterable[str],
          federated_namespaces: Iterable[str] = ()) -> list[Problem]:
    """Problems of `objects` against the KubeFed `crds`; `clusters` are the federation's cluster names and
    `federated_namespaces` namespaces that something else (a described workload) federates."""
    objects = list(objects)
    served = _served(crds)
    names = set(clusters)
    namespaces = set(federated_namespaces) | {
        o.get("metadata", {}).get("namespace") or o["metadata"]["name"]
        for _, o in objects if o["kind"] == "FederatedNamespace"}
    problems: list[Problem] = []
    for file, obj in objects:
        meta = obj["metadata"]
        where = f"{file}: {obj['kind']} {meta.get('namespace', '')}{'/' if meta.get('namespace') else ''}" \
                f"{meta['name']}"
        found = served.get((obj["apiVersion"], obj["kind"]))
        if (obj["apiVersion"], obj["kind"]) == ("v1", "Namespace"):
            problems.append((where, "is created by federated-eks on the host for every FederatedNamespace (before "
                             "anything in it, deleted after it)", f"remove it; add a FederatedNamespace "
                             f"{meta['name']!r} instead if there is none"))
            continue
        if found is None:
            # Not served, so not enabled: a default type's federated kind here was disabled.
            disabled = disabled_default_type(obj["apiVersion"], obj["kind"], ())
            problems.append((where, *disabled_type_problem(disabled)) if disabled is not None else (
                where, f"{obj['apiVersion']} {obj['kind']} is not a KubeFed type this federation serves",
                "use a federated type of kubefed's types (types.kubefed.io/v1beta1 Federated<Kind>), a "
                "ReplicaSchedulingPreference, or enable the type first: add its target type to "
                "kubefed.federatedTypes"))
            continue
        schema, scope = found
        validator = jsonschema.Draft7Validator(schema)
        for error in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path))):
            field = _field(error)
            what, fix = _explain(error)
            problems.append((f"{where}: {field or '(object)'}", what, _placement_fix(field) or fix))
        namespace = meta.get("namespace")
        if scope == "Namespaced" and not namespace:
            problems.append((f"{where}: metadata.namespace", "is missing, so kubectl would put it in the default "
                             "namespace", "set the namespace the object belongs to"))
        elif (scope == "Namespaced" and obj["kind"] != "FederatedNamespace"
              and obj["apiVersion"].startswith("types.kubefed.io/") and namespace not in namespaces):
            problems.append((f"{where}: metadata.namespace", f"namespace {namespace!r} is not federated, so "
                             "KubeFed places the object nowhere (NamespaceNotFederated)",
                             f"add a FederatedNamespace {namespace!r} to the folder"))
        elif scope == "Namespaced" and namespace not in namespaces and not system_namespace(namespace):
            # A ReplicaSchedulingPreference, or a type of another federatedGroup: its namespace must exist on the
            # host, and federated-eks creates only those of FederatedNamespaces.
            problems.append((f"{where}: metadata.namespace", f"namespace {namespace!r} does not exist on the host "
                             "(federated-eks creates the namespace of each FederatedNamespace only)",
                             f"add a FederatedNamespace {namespace!r} to the folder"))
        placement = (obj.get("spec") or {}).get("placement") if isinstance(obj.get("spec"), dict) else None
        listed = placement.get("clusters") if isinstance(placement, dict) else None
        if isinstance(listed, list):
            for i, entry in enumerate(listed):
                name = entry.get("name") if isinstance(entry, dict) else None
                if isinstance(name, str) and name not in names:
                    problems.append((f"{where}: spec.placement.clusters[{i}].name",
                                     f"{name!r} is not a cluster of this federation",
                                     f"use one of: {', '.join(sorted(names))}"))
    return problems


def federated_namespaces(objects: Iterable[tuple[str, dict]]) -> list[str]:
    """The namespaces the folder's FederatedNamespaces federate (a FederatedNamespace lives in the namespace it
    federates), in order."""
    return list(dict.fromkeys(identity(obj)[2] or identity(obj)[3] for _, obj in objects
                              if obj.get("kind") == "FederatedNamespace"))


def namespaces_used(objects: Iterable[tuple[str, dict]]) -> list[str]:
    """Every namespace the folder's objects live in, in order."""
    return list(dict.fromkeys(identity(obj)[2] for _, obj in objects if identity(obj)[2]))


def serves_load_balancers(objects: Iterable[tuple[str, dict]]) -> bool:
    """Whether any FederatedService in `objects` is of type LoadBalancer (then every member may need a
    load-balancer controller: a folder's placement is not resolved here)."""
    for _, obj in objects:
        template = ((obj.get("spec") or {}).get("template") or {}) if isinstance(obj.get("spec"), dict) else {}
        if obj.get("kind") == "FederatedService" and (template.get("spec") or {}).get("type") == "LoadBalancer":
            return True
    return False
