"""Object validation as the API server does it on create and update, with the answer it gives (422 Invalid, the
field named):
- built-in kinds: the OpenAPI schemas of the cluster's Kubernetes version (kubernetes-validate, strict: unknown
  fields are refused, as the API server refuses them under `fieldValidation=Strict`, which kubectl sends by default
  since 1.27 and Helm's server-side apply also sends);
- custom resources: their CRD's structural `openAPIV3Schema` for the version (apiextensions-apiserver validation:
  `nullable`, `x-kubernetes-int-or-string`, `x-kubernetes-preserve-unknown-fields`; unknown fields refused under
  strict field validation)."""
from __future__ import annotations

import copy
from typing import Any

import jsonschema
import kubernetes_validate

_META = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}}


def _path(error: jsonschema.ValidationError) -> str:
    parts = []
    for p in error.absolute_path:
        parts.append(f"[{p}]" if isinstance(p, int) else ("." if parts else "") + str(p))
    return "".join(parts) or "<root>"


def _message(obj: dict, error: jsonschema.ValidationError) -> str:
    field = _path(error)
    if error.validator in ("additionalProperties", "unevaluatedProperties"):
        extra = sorted(set(error.instance) - set(error.schema.get("properties") or {})) if isinstance(
            error.instance, dict) else []
        name = f"{field}.{extra[0]}" if extra and field != "<root>" else (extra[0] if extra else field)
        return f'strict decoding error: unknown field "{name}"'
    if error.validator == "required":
        return f"{field}: Required value: {error.message}"
    return f"{field}: Invalid value: {error.instance!r}: {error.message}"


def invalid(obj: dict, detail: str) -> str:
    """The API server's 422 message: `<Kind>.<group> "<name>" is invalid: <detail>`."""
    api_version = str(obj.get("apiVersion", ""))
    group = api_version.split("/")[0] if "/" in api_version else ""
    kind = f"{obj.get('kind')}.{group}" if group else str(obj.get("kind"))
    return f'{kind} "{(obj.get("metadata") or {}).get("name", "")}" is invalid: {detail}'


def builtin_problem(obj: dict, kubernetes_version: str) -> str | None:
    """None if a built-in object is valid for the version, else the API server's message."""
    try:
        kubernetes_validate.validate(obj, kubernetes_version, strict=True)
    except kubernetes_validate.ValidationError as exc:  # the best match, as jsonschema's validate raises it
        return invalid(obj, _message(obj, exc))
    except kubernetes_validate.SchemaNotFoundError:
        return None  # not a kind of this version: the kind check refuses it first
    return _pod_spec_problem(obj)


def _pod_specs(obj: dict) -> list[tuple[str, dict]]:
    """(field path, pod spec) of a Pod or of the pod template of a workload kind."""
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    kind = obj.get("kind")
    if kind == "Pod":
        return [("spec", spec)]
    if kind == "CronJob":
        template = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
        return [("spec.jobTemplate.spec.template.spec", template.get("spec") or {})]
    if kind in ("Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job", "ReplicationController",
                "PodTemplate"):
        template = (obj.get("template") if kind == "PodTemplate" else spec.get("template")) or {}
        prefix = "template.spec" if kind == "PodTemplate" else "spec.template.spec"
        return [(prefix, template.get("spec") or {})]
    return []


def _pod_spec_problem(obj: dict) -> str | None:
    """What the API server's validation requires beyond the OpenAPI schema, for pods (pkg/apis/core/validation
    validateContainers: a container's `image` is required in a pod and in a workload's pod template, where the
    schema marks it optional for the sake of ephemeral and higher-level uses)."""
    for prefix, pod in _pod_specs(obj):
        for field in ("initContainers", "containers"):
            for i, container in enumerate(pod.get(field) or []):
                if isinstance(container, dict) and not container.get("image"):
                    return invalid(obj, f"{prefix}.{field}[{i}].image: Required value")
    return None


def structural(schema: Any, root: bool = False) -> Any:
    """A CRD's openAPIV3Schema as JSON schema: the Kubernetes extensions translated, unknown fields refused
    where the schema does not preserve them."""
    if not isinstance(schema, dict):
        return schema
    out = {k: structural(v) for k, v in schema.items() if k not in ("properties", "items", "additionalProperties")}
    if "properties" in schema:
        out["properties"] = {k: structural(v) for k, v in schema["properties"].items()}
    if "items" in schema:
        out["items"] = structural(schema["items"])
    if isinstance(schema.get("additionalProperties"), dict):
        out["additionalProperties"] = structural(schema["additionalProperties"])
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if root:
        out.setdefault("properties", {})
        out["properties"] = {**_META, **out["properties"]}
    is_object = schema.get("type") == "object" or "properties" in schema
    if (is_object and "properties" in schema and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


def custom_problem(obj: dict, schema: dict | None) -> str | None:
    """None if a custom resource is valid against its CRD version's schema, else the API server's message."""
    if not schema:
        return None
    body = copy.deepcopy(obj)
    body.pop("status", None)
    validator = jsonschema.Draft7Validator(structural(schema, root=True))
    error = jsonschema.exceptions.best_match(validator.iter_errors(body))
    return invalid(obj, _message(obj, error)) if error else None
