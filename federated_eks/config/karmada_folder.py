"""A folder of Karmada objects (engine karmada), applied as it is on karmada-apiserver: every object checked before
anything is built.

The folder is read as a KubeFed folder is (`manifest_folder.load`: files, YAML as kubectl reads it). `check` then
holds each object to what Karmada and this project rely on:
- kinds: Karmada's policies (federated_eks/plan/karmada_folder.py POLICY_KINDS) validated against their schemas (the
  CRDs of components/karmada_crds.py, passed in: the config layer is below components), and the Kubernetes kinds the
  Karmada join Lambda applies (TEMPLATE_KINDS) validated against Kubernetes' schema of the configured version
  (kubernetes-validate, as the KubeFed path validates its templates); KubeFed's kinds and Karmada's other kinds get a
  message saying who reads them;
- namespaces: each namespaced object's namespace is created by the folder (a Namespace) or by a typed workload, and
  is none of Karmada's own (karmada_workload.RESERVED_NAMESPACES, its execution spaces) nor a system namespace;
- propagation: every resource template is selected by exactly one PropagationPolicy or ClusterPropagationPolicy of
  the folder (Karmada propagates an object by one policy; one that no policy selects stays on karmada-apiserver and
  the deploy would wait for it), and every propagation policy selects something of the folder;
- placement: cluster names (clusterNames, exclude, static weights' and override rules' targetCluster) name clusters
  of this federation, field selectors select on `region` (the one Cluster field the joins set), no label selectors
  (the joins label no Cluster), replica scheduling Duplicated or Divided by static weights (what the readiness wait
  and the rehearsal model; Aggregated and dynamic weights depend on the members' free capacity at scheduling time);
- Services: a LoadBalancer Service has the AWS Load Balancer Controller's class and allocates no node ports
  (karmada#7823: node ports karmada-apiserver allocates are copied to every member); images are pinned.
Problems are `(where, what, fix)`, where is `<file>: <Kind> <namespace>/<name>[: <field>]`.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import jsonschema

from federated_eks.config.manifest_folder import (Problem, _explain, _field, _member_problems, _served,
                                                  _target_validator)
from federated_eks.model import image_reference
from federated_eks.model.object_owners import identity, system_namespace
from federated_eks.plan import karmada_folder as kf
from federated_eks.plan.folder_workloads import field_at
from federated_eks.plan.karmada_workload import EXECUTION_SPACE_PREFIX, POLICY_API, RESERVED_NAMESPACES
from federated_eks.plan.kubefed_workload import LOAD_BALANCER_CLASS

KARMADA_API = "Karmada's API (policy.karmada.io/v1alpha1)"
_TEMPLATES = ", ".join(f"{k} ({a})" for a, k in kf.TEMPLATE_KINDS)


def _where(file: str, obj: dict) -> str:
    _, kind, namespace, name = identity(obj)
    return f"{file}: {kind} {namespace}{'/' if namespace else ''}{name}"


def _kind_problem(obj: dict) -> tuple[str, str] | None:
    """(what, fix) when the folder cannot hold an object of this apiVersion and kind, else None."""
    api, kind = obj["apiVersion"], obj["kind"]
    if kf.is_kubefed(obj):
        return (f"is a KubeFed object ({api}), which engine kubefed reads; engine karmada propagates the Kubernetes "
                "objects themselves, placed by PropagationPolicies",
                "write the object itself (e.g. a FederatedDeployment's spec.template as a Deployment) with a "
                f"PropagationPolicy ({POLICY_API}) placing it, or set engine \"kubefed\"")
    if kf.is_policy(obj) or (api, kind) in kf.TEMPLATE_KINDS:
        return None
    if kf.is_karmada(obj):
        return (f"is not a Karmada kind a manifest folder can hold ({api} {kind}: Karmada's controllers or the joins "
                "write it)", f"use {', '.join(kf.POLICY_KINDS)} ({POLICY_API})")
    if (api, kind) == ("v1", "Secret"):
        return ("cannot be carried by a manifest folder: its objects are in the CloudFormation template, in clear "
                "text", "create the Secret on karmada-apiserver by other means (or with External Secrets on the "
                "members) and keep it out of the folder")
    return (f"{api} {kind} is not a kind the Karmada join applies from a folder",
            f"use Karmada's policies and these resource templates: {_TEMPLATES}")


def check(objects: Iterable[tuple[str, dict]], crds: Iterable[dict], clusters: Sequence[tuple[str, str]],
          typed_namespaces: Iterable[str] = (), kubernetes_version: str | None = None) -> list[Problem]:
    """Problems of a Karmada folder's `objects`: `crds` are the Karmada policy CRDs (components/karmada_crds.py),
    `clusters` the federation's (name, region), `typed_namespaces` the namespaces the typed workloads create,
    `kubernetes_version` the members' (templates are validated against its schemas when given)."""
    objects = list(objects)
    served = _served(crds)
    names = [n for n, _ in clusters]
    created = set(kf.namespaces(objects))
    usable = created | set(typed_namespaces)
    problems: list[Problem] = []
    if len(objects) > kf.MAX_OBJECTS:
        problems.append(("(folder)", f"holds {len(objects)} objects, more than the {kf.MAX_OBJECTS} one "
                         "Custom::KarmadaObjects applies", "split it into two folders"))
    kept: list[tuple[str, dict]] = []  # objects of a kind the folder may hold
    for file, obj in objects:
        where = _where(file, obj)
        wrong = _kind_problem(obj)
        if wrong:
            problems.append((where, *wrong))
            continue
        kept.append((file, obj))
        problems += _scope_problems(where, obj, usable)
        if kf.is_policy(obj):
            problems += _schema_problems(where, obj, served)
            problems += _policy_problems(where, obj, objects, names, clusters)
        elif obj["kind"] == "Namespace":
            name = identity(obj)[3]
            if _reserved(name):
                problems.append((where, f"{name!r} is a system namespace or one of Karmada's own, and a folder's "
                                 "Namespaces are deleted with it", "give the folder's objects a namespace of their own"))
        else:
            problems += _template_problems(file, where, obj, objects, kubernetes_version)
    return problems


def _reserved(namespace: str) -> bool:
    return system_namespace(namespace, RESERVED_NAMESPACES) or namespace.startswith(EXECUTION_SPACE_PREFIX)


def _scope_problems(where: str, obj: dict, usable: set[str]) -> list[Problem]:
    namespaced = kf.POLICY_KINDS.get(obj["kind"]) if kf.is_policy(obj) else \
        kf.TEMPLATE_KINDS[(obj["apiVersion"], obj["kind"])]
    namespace = identity(obj)[2]
    if not namespaced:
        return [(f"{where}: metadata.namespace", f"is set, but a {obj['kind']} is cluster-scoped",
                 "remove metadata.namespace")] if namespace else []
    if not namespace:
        return [(f"{where}: metadata.namespace", "is missing, so kubectl would put it in the default namespace",
                 "set the namespace the object belongs to (a Namespace of the folder)")]
    if _reserved(namespace):
        return [(f"{where}: metadata.namespace", f"{namespace!r} is a system namespace or one of Karmada's own "
                 "(where its controllers and the joins keep their objects)",
                 "put the object in a namespace of its own, created by a Namespace of the folder")]
    if namespace not in usable:
        return [(f"{where}: metadata.namespace", f"namespace {namespace!r} is not created by the folder or a typed "
                 "workload, so karmada-apiserver refuses the object (NotFound)",
                 f"add a Namespace {namespace!r} (v1) to the folder")]
    return []


def _schema_problems(where: str, obj: dict, served: dict) -> list[Problem]:
    schema, _ = served[(obj["apiVersion"], obj["kind"])]
    out = []
    for error in sorted(jsonschema.Draft7Validator(schema).iter_errors(obj),
                        key=lambda e: list(map(str, e.absolute_path))):
        what, fix = _explain(error, KARMADA_API)
        out.append((f"{where}: {_field(error) or '(object)'}", what, fix))
    return out


def _affinity_problems(field: str, affinity: Any, names: list[str], regions: list[str]) -> list[Problem]:
    """Cluster names of this federation, field selectors on region, no label selectors (one ClusterAffinity)."""
    if not isinstance(affinity, dict):
        return []
    out = []
    for key in ("clusterNames", "exclude"):
        for i, name in enumerate(affinity.get(key) if isinstance(affinity.get(key), list) else ()):
            if name not in names:
                out.append((f"{field}.{key}[{i}]", f"{name!r} is not a cluster of this federation",
                            f"use one of: {', '.join(names)}"))
    if affinity.get("labelSelector"):
        out.append((f"{field}.labelSelector", "selects Clusters by label, but the federation's joins set no label "
                    "on a Cluster, so it matches none", f"list the clusters in clusterNames, or select "
                    f"`{kf.REGION_FIELD}` with a fieldSelector"))
    expressions = field_at(affinity, "fieldSelector", "matchExpressions")
    for i, e in enumerate(expressions if isinstance(expressions, list) else ()):
        if not isinstance(e, dict):
            continue
        if e.get("key") != kf.REGION_FIELD:
            out.append((f"{field}.fieldSelector.matchExpressions[{i}].key", f"{e.get('key')!r} is a Cluster field "
                        "the federation's joins do not set (they set spec.region only)", f"select on key "
                        f"`{kf.REGION_FIELD}`, or list the clusters in clusterNames"))
        for j, value in enumerate(e.get("values") if isinstance(e.get("values"), list) else ()):
            if e.get("key") == kf.REGION_FIELD and value not in regions:
                out.append((f"{field}.fieldSelector.matchExpressions[{i}].values[{j}]", f"{value!r} is not a region "
                            "of this federation's clusters", f"use one of: {', '.join(regions)}"))
    return out


def _policy_problems(where: str, policy: dict, objects: list[tuple[str, dict]], names: list[str],
                     clusters: Sequence[tuple[str, str]]) -> list[Problem]:
    regions = list(dict.fromkeys(r for _, r in clusters))
    spec = field_at(policy, "spec") if isinstance(field_at(policy, "spec"), dict) else {}
    out = []
    for i, s in enumerate(spec.get("resourceSelectors") if isinstance(spec.get("resourceSelectors"), list) else ()):
        if isinstance(s, dict) and isinstance(s.get("kind"), str) and (s.get("apiVersion"), s["kind"]) not in [
                k for k, _ in kf.TEMPLATE_KINDS.items() if k[1] != "Namespace"]:
            out.append((f"{where}: spec.resourceSelectors[{i}]", f"selects {s.get('apiVersion')} {s['kind']}, which no "
                        "manifest folder holds (Karmada propagates a folder's Namespaces itself)",
                        f"select the folder's resource templates: {_TEMPLATES}"))
    if policy["kind"] in kf.PROPAGATION_KINDS:
        if not any(kf.selects(policy, o) for _, o in kf.templates(objects)):
            out.append((f"{where}: spec.resourceSelectors", "selects no object of the folder (a namespaced policy "
                        "selects in its own namespace only), so it propagates nothing the folder owns",
                        "select the folder's objects by apiVersion, kind and name, or remove the policy"))
        placement = spec.get("placement") if isinstance(spec.get("placement"), dict) else {}
        out += [(f"{where}: spec.{f}", what, fix) for f, what, fix in
                _affinity_problems("placement.clusterAffinity", placement.get("clusterAffinity"), names, regions)]
        terms = placement.get("clusterAffinities")
        for i, term in enumerate(terms if isinstance(terms, list) else ()):
            out += [(f"{where}: spec.{f}", what, fix) for f, what, fix in
                    _affinity_problems(f"placement.clusterAffinities[{i}]", term, names, regions)]
        if not kf.placed_clusters(policy, clusters):
            out.append((f"{where}: spec.placement", "selects no cluster of this federation, so Karmada places "
                        "nothing and the deploy waits for it", f"place on clusters of: {', '.join(names)}"))
        scheduling = placement.get("replicaScheduling")
        scheduling = scheduling if isinstance(scheduling, dict) else {}
        unmodelled = "its division depends on each member's free capacity at scheduling time (karmada-scheduler's " \
            "estimator), which the deploy's readiness wait and the rehearsal do not model"
        if scheduling.get("replicaSchedulingType") == "Divided":
            if scheduling.get("replicaDivisionPreference") == "Aggregated":
                out.append((f"{where}: spec.placement.replicaScheduling.replicaDivisionPreference",
                            f"'Aggregated' is not supported by federated-eks: {unmodelled}",
                            "use Weighted with a weightPreference.staticWeightList, or Duplicated"))
            elif field_at(scheduling, "weightPreference", "dynamicWeight") is not None:
                out.append((f"{where}: spec.placement.replicaScheduling.weightPreference.dynamicWeight",
                            f"is not supported by federated-eks: {unmodelled}", "use a staticWeightList"))
            elif scheduling.get("replicaDivisionPreference") != "Weighted":
                out.append((f"{where}: spec.placement.replicaScheduling.replicaDivisionPreference",
                            "is required with replicaSchedulingType Divided", "set it to Weighted, with a "
                            "weightPreference.staticWeightList"))
        weights = field_at(scheduling, "weightPreference", "staticWeightList")
        for i, w in enumerate(weights if isinstance(weights, list) else ()):
            out += [(f"{where}: spec.{f}", what, fix) for f, what, fix in _affinity_problems(
                f"placement.replicaScheduling.weightPreference.staticWeightList[{i}].targetCluster",
                field_at(w, "targetCluster"), names, regions)]
    else:
        rules = spec.get("overrideRules")
        for i, rule in enumerate(rules if isinstance(rules, list) else ()):
            out += [(f"{where}: spec.{f}", what, fix) for f, what, fix in _affinity_problems(
                f"overrideRules[{i}].targetCluster", field_at(rule, "targetCluster"), names, regions)]
            patches = field_at(rule, "overriders", "plaintext")
            for j, patch in enumerate(patches if isinstance(patches, list) else ()):
                if isinstance(patch, dict) and str(patch.get("path", "")).endswith("/image") \
                        and isinstance(patch.get("value"), str):
                    wrong = image_reference.problem(patch["value"])
                    if wrong:
                        out.append((f"{where}: spec.overrideRules[{i}].overriders.plaintext[{j}].value", wrong,
                                    image_reference.PIN_FIX))
    return out


def _template_problems(file: str, where: str, obj: dict, objects: list[tuple[str, dict]],
                       kubernetes_version: str | None) -> list[Problem]:
    out = []
    if kubernetes_version is not None:
        validator = _target_validator(kubernetes_version, obj["apiVersion"], obj["kind"])
        if validator is not None:
            api = f"the Kubernetes API of {obj['kind']} ({kubernetes_version})"
            out += [(f"{where}: {field}", what, fix) for field, what, fix in _member_problems(validator, obj, api)]
    policies = kf.propagating_policies(objects, obj)
    if not policies:
        out.append((where, "is selected by no PropagationPolicy or ClusterPropagationPolicy of the folder, so Karmada "
                    "leaves it on karmada-apiserver (no member gets it) and the deploy waits for it",
                    f"add a PropagationPolicy in its namespace selecting it (resourceSelectors: [{{apiVersion: "
                    f"{obj['apiVersion']}, kind: {obj['kind']}, name: {identity(obj)[3]}}}])"))
    elif len(policies) > 1:
        shown = " and ".join(f"{p['kind']} {identity(p)[3]}" for p in policies)
        out.append((where, f"is selected by {shown}: Karmada propagates an object by one policy only (chosen by "
                    "priority and how exactly it selects), so where it goes depends on that choice",
                    "select it from one propagation policy"))
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    if obj["kind"] == "Service" and spec.get("type") == "LoadBalancer":
        if spec.get("loadBalancerClass") != LOAD_BALANCER_CLASS:
            out.append((f"{where}: spec.loadBalancerClass", f"is {spec.get('loadBalancerClass')!r}: a LoadBalancer "
                        "Service needs the class the AWS Load Balancer Controller claims, else the legacy in-tree "
                        "controller makes a Classic Load Balancer (or nothing serves it)",
                        f"set `loadBalancerClass: {LOAD_BALANCER_CLASS}`"))
        if spec.get("allocateLoadBalancerNodePorts") is not False:
            out.append((f"{where}: spec.allocateLoadBalancerNodePorts", "is not false: karmada-apiserver would "
                        "allocate node ports, and Karmada copies them to every member, where they may collide "
                        "(karmada#7823)", "set `allocateLoadBalancerNodePorts: false` (the controller's ip targets "
                        "need no node port)"))
    pod = field_at(spec, "template", "spec") if obj["kind"] == "Deployment" else None
    for group in ("initContainers", "containers"):
        for i, c in enumerate(field_at(pod, group) if isinstance(field_at(pod, group), list) else ()):
            image = c.get("image") if isinstance(c, dict) else None
            wrong = image_reference.problem(image) if isinstance(image, str) else None
            if wrong:
                out.append((f"{where}: spec.template.spec.{group}[{i}].image", wrong, image_reference.PIN_FIX))
    return out
