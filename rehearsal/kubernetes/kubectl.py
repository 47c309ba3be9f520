"""`Custom::AWSCDK-EKS-KubernetesResource` as aws-cdk-lib 2.275's kubectl handler serves it
(custom-resource-handlers/dist/aws-eks-v2/kubectl-handler/apply/__init__.py), against an emulated cluster:

- properties: `ClusterName`, `Manifest` (a JSON list of objects), `PruneLabel`, `Overwrite` ("true"/"false"),
  `SkipValidation`;
- Create: `kubectl create --save-config -f manifest` (an object that already exists fails the resource:
  AlreadyExists), or `kubectl apply -f manifest` when Overwrite is true;
- Update: `kubectl apply -f manifest [--prune -l <PruneLabel>]` (create or update each object; with a prune label,
  objects of the old manifest that the new one drops are deleted);
- Delete: `kubectl delete -f manifest`, whose errors the handler logs and ignores (an object already gone, or a
  cluster it cannot reach, is a success). kubectl delete waits (`--wait=true`, no timeout) until the objects are
  gone, finalizers included, so the handler can run into the Lambda's own timeout, which fails the resource.

kubectl maps every object's kind through discovery first (`no matches for kind`), then sends it; each failure
makes kubectl exit non-zero after trying the other objects, and the handler raises with kubectl's output.
"""
from __future__ import annotations

import json
from typing import Callable

from rehearsal.world import CustomResourceRequest, CustomResourceResult, RehearsalFailure

from .client import ApiError, Client, NoMatch, describe, identity
from .fixes import fix_for

RESOURCE_TYPE = "Custom::AWSCDK-EKS-KubernetesResource"


def objects(manifest_text: str) -> list[dict]:
    return [o for o in json.loads(manifest_text or "[]") if isinstance(o, dict)]


def _error(verb: str, obj: dict, exc: Exception) -> str:
    meta = obj.get("metadata") or {}
    if isinstance(exc, NoMatch):
        return (f'resource mapping not found for name: "{meta.get("name")}" namespace: "{meta.get("namespace", "")}" '
                f'from "manifest.yaml": {exc}\nensure CRDs are installed first')
    assert isinstance(exc, ApiError)
    return f'Error from server ({exc.reason}): error when {verb} "manifest.yaml": {exc.message}'


def _fail(request: CustomResourceRequest, errors: list[tuple[dict, str]], fix: str) -> RehearsalFailure:
    first_obj, _ = errors[0]
    return RehearsalFailure("kubectl failed:\n" + "\n".join(e for _, e in errors), stack=request.stack,
                            resource=request.logical_id, kubernetes_object=describe(first_obj), fix=fix)


def serve(request: CustomResourceRequest, client: Client, wait_gone: Callable[[Client, list[dict]], list[dict]],
          ) -> CustomResourceResult:
    """`wait_gone(client, objects)`: waits (virtual time, bounded by the Lambda's timeout) until the objects are
    gone; returns those still there."""
    props = request.properties
    manifest = objects(props.get("Manifest", "[]"))
    overwrite = str(props.get("Overwrite", "false")).lower() == "true"
    physical_id = request.physical_id or f"{request.stack}-{request.logical_id}"
    errors: list[tuple[dict, str]] = []
    if request.request_type == "Delete":
        deleted = []
        for obj in manifest:
            try:
                # kubectl delete waits for the UIDs it deleted (k8s.io/kubectl pkg/cmd/delete waitForDeletion with
                # pkg/cmd/wait IsDeleted and a UIDMap): an object of the same name made again is not waited for.
                uid = ((client.peek(obj) or {}).get("metadata") or {}).get("uid")
                if client.delete(obj):
                    deleted.append({**obj, "metadata": {**(obj.get("metadata") or {}), "uid": uid}})
            except (ApiError, NoMatch):
                continue  # the handler logs and ignores delete errors
        left = wait_gone(client, deleted)
        if left:
            def held(obj: dict) -> str:
                live = client.peek(obj) or {}
                finalizers = [*((live.get("metadata") or {}).get("finalizers") or []),
                              *((live.get("spec") or {}).get("finalizers") or [])]
                return f"{describe(obj)} (finalizers: {', '.join(finalizers) or 'none'})"
            raise RehearsalFailure(
                f"kubectl delete waited for {'; '.join(held(o) for o in left)} until the kubectl handler "
                "Lambda timed out: the objects keep finalizers no running controller removes",
                stack=request.stack, resource=request.logical_id, kubernetes_object=describe(left[0]),
                fix="delete this resource before whatever releases those finalizers (a controller, a webhook) "
                    "goes away: make it depend on that")
        return CustomResourceResult(physical_id)
    create = request.request_type == "Create" and not overwrite
    for obj in manifest:
        verb = "creating"
        try:
            if not create and client.get(obj) is not None:
                verb = "patching"
            client.create(obj) if verb == "creating" else client.patch(obj, obj)
        except (ApiError, NoMatch) as exc:
            errors.append((obj, _error(verb, obj, exc)))
    if errors:
        raise _fail(request, errors, fix_for(errors[0][1]))
    if request.request_type == "Update" and props.get("PruneLabel") and request.old_properties:
        kept = {identity(o) for o in manifest}
        for old in objects(request.old_properties.get("Manifest", "[]")):
            if identity(old) not in kept:
                try:
                    client.delete(old)
                except (ApiError, NoMatch):
                    pass
    return CustomResourceResult(physical_id)
