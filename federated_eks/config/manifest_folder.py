"""A folder of KubeFed YAML, applied as it is: reading it, and checking every object before anything is built.

`load` reads `*.yaml` / `*.yml` files (sorted by name, every document of each) as kubectl does (YAML that is
JSON underneath: values JSON cannot hold are refused with their line) and reports unreadable folders and files,
YAML errors and documents that are not Kubernetes objects. `check` validates each object against the
OpenAPI schema of its KubeFed CRD (the same CRDs the control plane installs), and the KubeFed rules a schema
cannot express: placement naming clusters of this federation, and a FederatedNamespace for the namespace of
every namespaced federated object (KubeFed places nothing in a namespace that is not federated).
`template_problems` validates each federated object's `spec.template` as the member object KubeFed makes of it
(and each overridden cluster's copy), against the Kubernetes schema of its kind for the configured version. Every function takes objects of any
shape (a field may hold anything YAML can write) and reports, never raises.
Problems are `(where, what, fix)`: where is `<file>: <Kind> <namespace>/<name>: <field>`.
"""
from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import Any, Iterable

import jsonschema
import yaml

from federated_eks.model import image_reference
from federated_eks.plan.kubefed_workload import LOAD_BALANCER_CLASS, REGION_LABEL
from federated_eks.model.federation import DEFAULT_FEDERATED_TYPES, FederatedType
from federated_eks.model.object_owners import identity, system_namespace
from federated_eks.plan.folder_workloads import field_at as _at
from federated_eks.plan.karmada_folder import is_karmada

Problem = tuple[str, str, str]
SUFFIXES = (".yaml", ".yml")
_TYPE_NAMES = {"object": "an object", "array": "a list", "string": "a string", "integer": "a whole number",
               "boolean": "true or false", "number": "a number"}


class _NotJson(yaml.MarkedYAMLError):
    """A YAML value the Kubernetes API cannot take: it reads JSON, and kubectl converts YAML to JSON."""

    def __init__(self, node: yaml.Node, problem: str, fix: str) -> None:
        super().__init__(problem=problem, problem_mark=node.start_mark)
        self.fix = fix


# libyaml's parser when PyYAML has it (the wheels do): the same documents, several times faster.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _JsonLoader(_SAFE_LOADER):  # type: ignore[misc, valid-type]
    """YAML as kubectl reads it (sigs.k8s.io/yaml turns YAML into JSON before anything else): an unquoted
    timestamp stays the text it is written as, and a value JSON cannot hold (NaN, infinity, bytes, sets,
    ordered maps, keys that are not strings) is refused at its line instead of failing later (as 'internal
    error' at synth, or at the API server)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag not in ("tag:yaml.org,2002:str", "tag:yaml.org,2002:merge"):
                raise _NotJson(key, f"the key {key.value!r} is not a string ({key.tag.rpartition(':')[2]}); JSON "
                               "keys are strings", "quote the key")
            if not isinstance(key, yaml.ScalarNode):
                raise _NotJson(key, "a key is a list or a mapping; JSON keys are strings", "use a string key")
        return super().construct_mapping(node, deep=deep)

    def _float(self, node: yaml.ScalarNode) -> float:
        value = self.construct_yaml_float(node)
        if value != value or value in (float("inf"), float("-inf")):
            raise _NotJson(node, f"{node.value!r} is not a number JSON can hold", "write a finite number, or quote "
                           "it to make it a string")
        return value

    def _timestamp(self, node: yaml.ScalarNode) -> str:
        return self.construct_scalar(node)

    def _refuse(self, node: yaml.Node) -> None:
        raise _NotJson(node, f"a {node.tag.rpartition(':')[2]} value (tag {node.tag}) cannot be held in JSON",
                       "write it as a string, a list or a mapping")


_JsonLoader.add_constructor("tag:yaml.org,2002:float", _JsonLoader._float)
_JsonLoader.add_constructor("tag:yaml.org,2002:timestamp", _JsonLoader._timestamp)
for _tag in ("binary", "set", "omap", "pairs"):
    _JsonLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _JsonLoader._refuse)


def load(root: Path, folder: str, engine: str = "KubeFed") -> tuple[tuple[tuple[str, dict], ...], list[Problem]]:
    """Every object in `folder` (relative to `root` unless absolute) as `(file, object)`, or the problems.
    `engine` names whose objects the folder holds, in the fixes (`KubeFed`, `Karmada`)."""
    base = root / folder
    try:
        files = sorted(p for p in base.iterdir() if p.is_file() and p.suffix in SUFFIXES) if base.is_dir() else None
    except (OSError, ValueError) as exc:  # a name too long, a NUL character, a folder that cannot be listed
        return (), [(folder, f"cannot be read as a folder ({type(exc).__name__}: "
                     f"{getattr(exc, 'strerror', None) or exc})", f"point manifests at a readable folder of {engine} "
                     "YAML files, relative to the folder with cdk.json")]
    if files is None:
        return (), [(folder, "is not a folder", f"point manifests at a folder of {engine} YAML files, relative "
                     "to the folder with cdk.json")]
    if not files:
        return (), [(folder, "has no .yaml or .yml file", f"put the {engine} objects in YAML files there")]
    objects: list[tuple[str, dict]] = []
    problems: list[Problem] = []
    for path in files:
        shown = f"{folder.rstrip('/')}/{path.name}"
        try:
            docs = list(yaml.load_all(path.read_text(), Loader=_JsonLoader))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append((shown, f"cannot be read ({type(exc).__name__})", "make it a readable UTF-8 file"))
            continue
        except _NotJson as exc:
            problems.append((f"{shown}: line {exc.problem_mark.line + 1}", f"{exc.problem} (Kubernetes reads JSON)",
                             exc.fix))
            continue
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f" at line {mark.line + 1}" if mark is not None else ""
            problems.append((shown, f"is not valid YAML{line}: {getattr(exc, 'problem', None) or exc}",
                             "fix the YAML syntax"))
            continue
        except RecursionError:
            problems.append((shown, "nests too deeply", "flatten the YAML"))
            continue
        for i, doc in enumerate(docs):
            if doc is None:
                continue
            wrong = _not_an_object(doc)
            if wrong:
                problems.append((f"{shown} (document {i + 1})", *wrong))
                continue
            objects.append((shown, doc))
    return tuple(objects), problems


def _not_an_object(doc: Any) -> tuple[str, str] | None:
    """(what, fix) when `doc` is not an object the checks can name, else None."""
    fix = "give every document apiVersion, kind and metadata.name"
    if not isinstance(doc, dict):
        return "is not a Kubernetes object (a mapping)", fix
    missing = [k for k in ("apiVersion", "kind") if not isinstance(doc.get(k), str)]
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        missing.append("metadata.name")
    if missing:
        return f"has no {', '.join(missing)}", fix
    if meta.get("namespace") is not None and not isinstance(meta["namespace"], str):
        return (f"has a metadata.namespace that is not a string (it is {_kind(meta['namespace'])})",
                "write the namespace's name, e.g. namespace: shop")
    return None


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def disabled_default_type(api_version: str, kind: str, enabled: Iterable[FederatedType]) -> FederatedType | None:
    """The default type whose federated kind `apiVersion`/`kind` is, when `enabled` does not include it (so
    `kubefed.disabledTypes` disabled it); None for any other kind."""
    group = api_version.rpartition("/")[0]
    found = next((t for t in DEFAULT_FEDERATED_TYPES if t.federated_group == group and t.federated_kind == kind),
                 None)
    return None if found is None or found in tuple(enabled) else found


def disabled_type_problem(t: FederatedType, subject: str = "") -> tuple[str, str]:
    """(what, fix) for an object of the disabled default type `t`; `subject` leads the sentence (default: the
    federated kind)."""
    return (f"{subject or t.federated_kind + ' is'} the federated type of {t.name!r}, which kubefed.disabledTypes "
            "disables (its CRD and FederatedTypeConfig are not installed)",
            f"remove {t.name!r} from kubefed.disabledTypes")


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


def _explain(error: jsonschema.ValidationError, api: str = "the KubeFed API") -> tuple[str, str]:
    """(what, fix) for one schema error, in the config's words."""
    if error.validator == "type":
        # The Kubernetes schemas allow null beside the type ("type": ["integer", "null"]).
        wanted = [t for t in ([error.validator_value] if isinstance(error.validator_value, str)
                              else error.validator_value) if t != "null"] or ["null"]
        names = " or ".join(_TYPE_NAMES.get(t, t) for t in wanted)
        hint = {"array": "write a YAML list (- item)", "object": "write a YAML mapping (key: value)"}
        return f"must be {names}, got {_kind(error.instance)}", hint.get(wanted[0], f"write {names}")
    if error.validator == "required":
        return "is required", "add the field"
    message = error.message if len(error.message) <= 200 else error.message[:197] + "..."
    return message, f"follow {api} for this field"


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
            if disabled is None and is_karmada(obj):
                problems.append((where, f"is a Karmada object ({obj['apiVersion']}), which engine karmada reads; "
                                 "engine kubefed (this environment's) propagates KubeFed's federated types",
                                 'set engine "karmada" for a folder of Karmada objects, or write the workload as '
                                 "KubeFed objects (a Federated<Kind> with its placement)"))
                continue
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
        problems += federation_problems(where, obj, names)
    return problems


def template_problems(objects: Iterable[tuple[str, dict]], federated_types: Iterable[FederatedType],
                      kubernetes_version: str) -> list[Problem]:
    """Problems of each federated object's `spec.template` as the object KubeFed creates from it on a member
    (the target kind, with the federated object's name and namespace): against the Kubernetes schema of the
    target kind for `kubernetes_version` (kubernetes-validate's strict schemas: unknown fields are refused), and
    the rule the schema cannot state, that every container names an image. Types without a built-in schema
    (custom resources) are not checked here; KubeFed reports what their API server refuses."""
    types = {(t.federated_group, t.federated_kind): t for t in federated_types}
    problems: list[Problem] = []
    for file, obj in objects:
        group, kind, namespace, name = identity(obj)
        t = types.get((group, kind))
        template = _at(obj, "spec", "template")
        if t is None or not isinstance(template, dict):
            continue  # not a federated type (or disabled), or a template the CRD schema check reports
        validator = _target_validator(kubernetes_version, f"{t.group}/{t.version}" if t.group else t.version, t.kind)
        if validator is None:
            continue
        where = f"{file}: {kind} {namespace}{'/' if namespace else ''}{name}"
        api = f"the Kubernetes API of {t.kind} ({kubernetes_version})"
        for field in ("annotations", "finalizers"):
            if _at(template, "metadata", field):
                problems.append((f"{where}: spec.template.metadata.{field}", f"is dropped by KubeFed v0.10.0 "
                                 f"({field.capitalize()}NotSupported: a template cannot set metadata.{field})",
                                 f"set them with an override (op add, path /metadata/{field})"))
        member = _member_object(template, t, namespace, name)
        found = _member_problems(validator, member, api)
        problems += [(f"{where}: spec.template.{field}", what, fix) for field, what, fix in found]
        # Each cluster's copy after its overrides (KubeFed applies them as a JSON patch, op defaulting to
        # replace: pkg/controller/util/overrides.go ApplyJSONPatch); problems the template has already are not
        # repeated.
        overrides = _at(obj, "spec", "overrides")
        for i, entry in enumerate(overrides if isinstance(overrides, list) else ()):
            patches = entry.get("clusterOverrides") if isinstance(entry, dict) else None
            if not isinstance(patches, list):
                continue  # the CRD schema check reports it
            cluster = entry.get("clusterName")
            patched = copy.deepcopy(member)
            for j, patch in enumerate(patches):
                failed = _patch(patched, patch)
                if failed:
                    problems.append((f"{where}: spec.overrides[{i}].clusterOverrides[{j}]",
                                     f"cannot be applied on {cluster!r}: {failed}, so KubeFed fails to propagate "
                                     "the object there", "point replace and remove at a field the template has, add "
                                     "at a field whose parent it has"))
                    break
            else:
                problems += [(f"{where}: spec.overrides[{i}] ({cluster}): {field}", what, fix)
                             for field, what, fix in _member_problems(validator, patched, api) if
                             (field, what, fix) not in found]
    return problems


def _member_problems(validator: jsonschema.Validator, member: dict, api: str) -> list[tuple[str, str, str]]:
    """(field, what, fix) of a member object: its schema, and an image for every container."""
    out = []
    for error in sorted(validator.iter_errors(member), key=lambda e: list(map(str, e.absolute_path))):
        what, fix = _explain(error, api)
        out.append((_field(error) or "(object)", what, fix))
    out += [(f"{path}.image", "is required (the API server refuses a container without an image)",
             "name the container's image, registry/repository:tag") for path in _containers_without_image(member)]
    return out


def _patch(doc: dict, patch: Any) -> str | None:
    """Apply one RFC 6902 add/replace/remove `patch` to `doc` in place, as evanphx/json-patch does; why it
    cannot be applied, or None."""
    if not isinstance(patch, dict) or not isinstance(patch.get("path"), str) or not patch["path"].startswith("/"):
        return "its path is not a JSON pointer such as /spec/replicas"
    op = patch.get("op") or "replace"
    keys = [k.replace("~1", "/").replace("~0", "~") for k in patch["path"][1:].split("/")]
    parent: Any = doc
    for key in keys[:-1]:
        parent = (parent.get(key) if isinstance(parent, dict) else
                  parent[int(key)] if isinstance(parent, list) and key.isdigit() and int(key) < len(parent) else None)
        if parent is None:
            return f"{patch['path']} has no parent in the object"
    last = keys[-1]
    if isinstance(parent, dict):
        # evanphx/json-patch v4.12.0 (KubeFed v0.10.0's): replace of a missing key sets it; remove of one fails.
        if op == "remove" and last not in parent:
            return f"{op} of {patch['path']}, which the object does not have"
        if op == "remove":
            del parent[last]
        else:
            parent[last] = patch.get("value")
        return None
    if isinstance(parent, list):
        index = len(parent) if (op == "add" and last == "-") else int(last) if last.isdigit() else -1
        if not 0 <= index <= len(parent) - (op != "add"):
            return f"{patch['path']} is not an index of the list"
        if op == "add":
            parent.insert(index, patch.get("value"))
        elif op == "remove":
            del parent[index]
        else:
            parent[index] = patch.get("value")
        return None
    return f"{patch['path']} has no parent in the object"


def _member_object(template: dict, t: FederatedType, namespace: str, name: str) -> dict:
    """What KubeFed's sync controller creates on a member from `template` (pkg/controller/sync/resource.go,
    ObjectForCluster): the template with the target's apiVersion and kind, and the federated object's name
    (and namespace, for a namespaced target)."""
    meta = dict(template.get("metadata")) if isinstance(template.get("metadata"), dict) else {}
    for dropped in ("annotations", "finalizers"):  # KubeFed drops them (and records an error)
        meta.pop(dropped, None)
    meta["name"] = name
    if t.scope == "Namespaced":
        meta["namespace"] = namespace
    # The template's apiVersion if it has one, else the target's (ObjectForCluster).
    return {**template, "apiVersion": template.get("apiVersion") or (f"{t.group}/{t.version}" if t.group
                                                                       else t.version),
            "kind": t.kind, "metadata": meta}


def _containers_without_image(obj: Any, path: str = "") -> list[str]:
    """Paths of every container (in `containers` or `initContainers` lists) that has no image, anywhere in
    `obj` (a Deployment's pod template, a Job's, a CronJob's...)."""
    out = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            here = f"{path}.{key}" if path else str(key)
            if key in ("containers", "initContainers") and isinstance(value, list):
                out += [f"{here}[{i}]" for i, c in enumerate(value)
                        if isinstance(c, dict) and not (isinstance(c.get("image"), str) and c["image"].strip())]
            else:
                out += _containers_without_image(value, here)
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            out += _containers_without_image(item, f"{path}[{i}]")
    return out


@functools.lru_cache(maxsize=None)
def _target_validator(kubernetes_version: str, api_version: str, kind: str) -> jsonschema.Validator | None:
    """kubernetes-validate's strict schema of `kind` in `api_version` for `kubernetes_version`, or None when the
    kind has no built-in schema (a custom resource)."""
    from kubernetes_validate import utils as kv  # only folders with federated objects pay its import
    from referencing import Registry, Resource

    directory = f"kubernetes-json-schema/v{kubernetes_version}.0-local-strict"
    # kubernetes-validate's file names: <kind>-<first label of the group>-<version>.json (validate()).
    target = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = kv.schema_contents(f"{directory}/{kind.lower()}-{target}.json", kubernetes_version)
    except FileNotFoundError:
        return None
    registry = Resource.from_contents(kv.schema_contents(f"{directory}/_definitions.json", kubernetes_version)) @ (
        Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


# What KubeFed accepts without a word but never acts on (or acts on wrongly), checked per object.
RSP_TARGET_KINDS = ("FederatedDeployment", "FederatedReplicaSet")
"""The kinds KubeFed v0.10.0's replica scheduler handles (pkg/schedulingtypes/replicascheduler.go)."""
JOIN_LABELS = (REGION_LABEL,)
"""The labels every join sets on its KubeFedCluster (stacks/federation.py): a selector on any other key
matches no cluster."""
_POD_TEMPLATE_PATHS = {"FederatedDeployment": ("template", "spec", "template", "spec"),
                       "FederatedStatefulSet": ("template", "spec", "template", "spec"),
                       "FederatedDaemonSet": ("template", "spec", "template", "spec"),
                       "FederatedReplicaSet": ("template", "spec", "template", "spec"),
                       "FederatedJob": ("template", "spec", "template", "spec"),
                       "FederatedCronJob": ("template", "spec", "jobTemplate", "spec", "template", "spec")}


def _list(value: Any) -> list:
    """`value` if it is a list, else empty (a folder object may have any shape; the CRD check reports it)."""
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def federation_problems(where: str, obj: dict, names: set[str]) -> list[Problem]:
    """KubeFed rules no schema expresses: overrides and RSP preferences naming clusters of this federation,
    RSP target kinds the scheduler handles, selectors on labels the joins set, LoadBalancer Services the AWS
    Load Balancer Controller claims, pinned images (the typed workloads' rule)."""
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    problems: list[Problem] = []
    known = f"use one of: {', '.join(sorted(names))}"
    for i, o in enumerate(_list(spec.get("overrides"))):
        name = o.get("clusterName") if isinstance(o, dict) else None
        if isinstance(name, str) and name not in names:
            problems.append((f"{where}: spec.overrides[{i}].clusterName", f"{name!r} is not a cluster of this "
                             "federation, so the override applies nowhere", known))
    if obj["kind"] == "ReplicaSchedulingPreference":
        kind = spec.get("targetKind")
        if isinstance(kind, str) and kind not in RSP_TARGET_KINDS:
            problems.append((f"{where}: spec.targetKind", f"{kind!r} is not a kind KubeFed's replica scheduler "
                             "handles, so it schedules nothing", f"use one of: {', '.join(RSP_TARGET_KINDS)}"))
        for name in (spec.get("clusters") or {}) if isinstance(spec.get("clusters"), dict) else ():
            if name != "*" and name not in names:
                problems.append((f"{where}: spec.clusters.{name}", f"{name!r} is not a cluster of this federation",
                                 f"use \"*\" or one of: {', '.join(sorted(names))}"))
    selector = _at(spec, "placement", "clusterSelector")
    if isinstance(selector, dict):
        keys = [(f"matchLabels.{k}", k) for k in _dict(selector.get("matchLabels"))]
        keys += [(f"matchExpressions[{i}].key", e.get("key")) for i, e in
                 enumerate(_list(selector.get("matchExpressions"))) if isinstance(e, dict)]
        for field, key in keys:
            if key not in JOIN_LABELS:
                problems.append((f"{where}: spec.placement.clusterSelector.{field}", f"{key!r} is not a label the "
                                 "federation's joins set on a cluster, so the selector matches no cluster",
                                 f"select on {', '.join(JOIN_LABELS)} (the cluster's region), or list clusters "
                                 "under placement.clusters"))
    if obj["kind"] == "FederatedService":
        service = _at(spec, "template", "spec")
        if isinstance(service, dict) and service.get("type") == "LoadBalancer" \
                and service.get("loadBalancerClass") != LOAD_BALANCER_CLASS:
            problems.append((f"{where}: spec.template.spec.loadBalancerClass",
                             f"is {service.get('loadBalancerClass')!r}: a LoadBalancer Service needs the class the "
                             "AWS Load Balancer Controller claims, else the legacy in-tree controller makes a "
                             "Classic Load Balancer (or nothing serves it)",
                             f"set `loadBalancerClass: {LOAD_BALANCER_CLASS}` in the template's spec"))
        if isinstance(service, dict) and service.get("type") == "LoadBalancer" \
                and not isinstance(_at(spec, "placement", "clusters"), list):
            problems.append((f"{where}: spec.placement", "places a LoadBalancer Service by clusterSelector: a "
                             "cluster removed from the config stays selected until its unjoin, which then leaves "
                             "the Service and its load balancer behind (billing, and blocking the VPC's deletion)",
                             "list the clusters under placement.clusters (`clusters: [{name: fed-1}]`), so that "
                             "removing a cluster removes its load balancer first"))
    pod = _at(spec, *_POD_TEMPLATE_PATHS.get(obj["kind"], ("-",)))
    images = [(f"{'.'.join(_POD_TEMPLATE_PATHS[obj['kind']])}.{group}[{i}].image", c.get("image"))
              for group in ("initContainers", "containers") for i, c in
              enumerate(_list(_dict(pod).get(group))) if isinstance(c, dict)]
    images += [(f"spec.overrides[{i}].clusterOverrides[{j}].value", patch.get("value"))
               for i, o in enumerate(_list(spec.get("overrides"))) if isinstance(o, dict)
               for j, patch in enumerate(_list(o.get("clusterOverrides")))
               if isinstance(patch, dict) and str(patch.get("path", "")).endswith("/image")]
    for field, image in images:
        wrong = image_reference.problem(image) if isinstance(image, str) else None
        if wrong:
            problems.append((f"{where}: {field}", wrong, image_reference.PIN_FIX))
    return problems
