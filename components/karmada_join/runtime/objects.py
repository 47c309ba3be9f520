"""`Custom::KarmadaObjects`: a list of objects (namespaces, Deployments, Services, PropagationPolicies,
OverridePolicies) applied to karmada-apiserver, labelled as the app's and annotated with their owner (the resource's
Owner property); ready when Karmada has placed every Deployment and each placed cluster runs it; on delete, only
the objects it owns go.

Apply is create, or a merge patch of an object this owner already owns, from the objects applied before (the old
properties) to the new ones, so that a field an update drops goes too (objects.merge_patch); an object of that name that the app does not own, or another owner owns, is never
touched (Failed), but for a namespace, which is used as it is (and never deleted). An update deletes the owned objects the new list no longer has.

Readiness, per Deployment (Karmada's ResourceBinding `<name>-deployment` in its namespace, karmada v1.19.0-rc.0
pkg/util/names GenerateBindingName, pkg/apis/work/v1alpha2 binding_types.go): the binding is of the Deployment as it
is now (spec.resource.resourceVersion), its Scheduled and FullyApplied conditions are True, and for every cluster it
is scheduled to (spec.clusters) its aggregatedStatus item says applied and Healthy (the resource interpreter's health
of a Deployment: its replicas updated and available on that member). The placed clusters are returned as the
ReadyClusters attribute. A LoadBalancer Service is waited for until each cluster it is placed on has a load balancer,
returned as `Hostname.<cluster>` attributes (as the KubeFed workload waiter returns them, for DNS). Namespaces,
other Services and policies have nothing to wait for: they are applied.

Copies leaving a cluster, for every propagated object (all but namespaces and policies): an object is ready only
once Karmada has removed its copies from the Ready clusters it is no longer placed on, and a removed object is gone
only once no Work of it is left (`copies_leaving`). Karmada deletes a binding's Works on clusters it no longer keeps
(binding controller removeOrphanWorks, karmada v1.19.0-rc.0 pkg/controllers/binding/binding_controller.go), and a
deleted binding's Works (DeleteWorks) without waiting for them; each Work goes once the execution controller has
deleted its object on the member, which it does only while the Cluster is Ready (pkg/controllers/execution
execution_controller.go handleWorkDelete). So a removed cluster's copies, and the load balancers of its Services, are
gone (deleted on the member, whose controllers then release the load balancer) before the update ends and the
unjoin that follows in CloudFormation's cleanup runs; a copy on a cluster that is not Ready is not waited for (it
cannot go before the cluster is back): it is logged and stays there.
"""
from __future__ import annotations

import logging

from components.karmada_join import contract as c
from components.workload_waiter.contract import HOSTNAME_ATTRIBUTE_PREFIX
from components.kube_access.kube_api import Failed, Waiting

from .resources import Resources

log = logging.getLogger("karmada_join")


NOT_PROPAGATED = frozenset({"Namespace", "PropagationPolicy", "ClusterPropagationPolicy", "OverridePolicy",
                            "ClusterOverridePolicy"})
"""Kinds without a ResourceBinding of their own: Karmada's policies, and namespaces (its namespace controller
copies every namespace to every cluster)."""


def key(obj: dict) -> tuple[str, str | None, str]:
    meta = obj["metadata"]
    return obj["kind"], meta.get("namespace"), meta["name"]


def describe(obj: dict) -> str:
    kind, namespace, name = key(obj)
    return f"{kind} {namespace + '/' if namespace else ''}{name}"


def owns(owner: str, metadata: dict | None) -> bool:
    meta = metadata or {}
    return c.owned(meta.get("labels")) and (meta.get("annotations") or {}).get(c.OWNER_ANNOTATION) == owner


def labelled(owner: str, obj: dict) -> dict:
    """`obj` with the app's label and the owner's annotation (a copy; nothing else changed)."""
    meta = dict(obj["metadata"])
    meta["labels"] = {**(meta.get("labels") or {}), c.MANAGED_BY_LABEL: c.MANAGED_BY_VALUE}
    meta["annotations"] = {**(meta.get("annotations") or {}), c.OWNER_ANNOTATION: owner}
    return {**obj, "metadata": meta}


def apply_order(objects: tuple[dict, ...] | list[dict]) -> list[dict]:
    """Namespaces first (the others live in them), then the rest in the order given."""
    return sorted(objects, key=lambda o: o["kind"] != "Namespace")


def apply(owner: str, objects: tuple[dict, ...], karmada: Resources, before: tuple[dict, ...] = ()) -> None:
    """Create each object, or merge-patch an owned one from what was applied `before` (the old properties)."""
    for obj in apply_order(objects):
        kind, namespace, name = key(obj)
        desired = labelled(owner, obj)
        if karmada.create_if_missing(kind, desired):
            continue
        current = karmada.metadata(kind, name, namespace) or {}
        if kind == "Namespace" and not owns(owner, current):
            log.info("karmada-apiserver: %s exists and is not %s's: used as it is, never deleted", describe(obj), owner)
            continue
        if not owns(owner, current):
            other = (current.get("annotations") or {}).get(c.OWNER_ANNOTATION)
            raise Failed(f"karmada-apiserver: {describe(obj)} exists and is "
                         + (f"owned by {other!r}" if c.owned(current.get("labels")) and other
                            else "not made by federated-eks") + "; it is left as it is: rename the object or remove "
                         "the other one")
        if current.get("deletionTimestamp"):
            raise Waiting(f"karmada-apiserver: {describe(obj)} is being deleted; it is made again next poll")
        previous = next((labelled(owner, o) for o in before if key(o) == key(obj)), {})
        karmada.patch(kind, name, namespace, merge_patch(previous, desired))


def merge_patch(before: dict, after: dict) -> dict:
    """The JSON merge patch (RFC 7386) that turns what was applied `before` into `after`: keys `before` had and
    `after` drops are null (removed), the rest is `after`'s (lists whole). Diffed against what was applied, not what
    is served, so that fields the server added (defaults, status, clusterIP) stay, as with kubectl apply."""
    patch = {key: None for key in before if key not in after}
    for key, value in after.items():
        old = before.get(key)
        patch[key] = merge_patch(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
    return patch


def remove(owner: str, objects: list[dict], karmada: Resources) -> list[Exception]:
    """Delete the owned ones of `objects` (namespaces last); returns what is not gone yet or failed: an object is
    gone once Karmada has removed its copies from every Ready cluster (copies_leaving)."""
    left: list[Exception] = []
    listing = Listing(karmada)
    for obj in reversed(apply_order(objects)):
        kind, namespace, name = key(obj)
        try:
            meta = karmada.metadata(kind, name, namespace)
            if meta is not None and not owns(owner, meta):
                log.warning("karmada-apiserver: %s is not owned by %s: kept", describe(obj), owner)
                continue
            if meta is not None and not meta.get("deletionTimestamp"):
                karmada.delete_owned(kind, name, namespace, lambda m: owns(owner, m))
            if meta is not None and karmada.metadata(kind, name, namespace) is not None:
                left.append(Waiting(f"karmada-apiserver: {describe(obj)} is being deleted"))
            elif kind not in NOT_PROPAGATED and karmada.metadata(
                    "ResourceBinding", binding_name(obj), namespace) is not None:
                left.append(Waiting(f"karmada-apiserver: the copies of {describe(obj)} are being removed from the "
                                    "members"))
            elif kind not in NOT_PROPAGATED:
                # The binding goes once it has asked for its Works' deletion, not once they are gone: each Work of
                # the object still listed (any binding's) is a copy being removed.
                leaving = copies_leaving(obj, listing.works(), None, listing.ready())
                if leaving:
                    left.append(Waiting(f"karmada-apiserver: {leaving}"))
        except (Waiting, Failed) as exc:
            left.append(exc)
    return left


class Listing:
    """What one poll lists from karmada-apiserver, each read once, when first asked."""

    def __init__(self, karmada: Resources) -> None:
        self._karmada = karmada
        self._ready: dict[str, bool] | None = None
        self._works: list[dict] | None = None

    def ready(self) -> dict[str, bool]:
        """{name: Ready} of the Clusters not being deleted (a deleted Cluster's Works are its unjoin's)."""
        if self._ready is None:
            self._ready = {}
            for cluster in self._karmada.list("Cluster", None):
                meta = cluster.get("metadata") or {}
                if meta.get("name") and not meta.get("deletionTimestamp"):
                    self._ready[meta["name"]] = any(
                        cond.get("type") == "Ready" and cond.get("status") == "True"
                        for cond in (cluster.get("status") or {}).get("conditions") or [])
        return self._ready

    def works(self) -> list[dict]:
        """Every Work, in every execution namespace."""
        if self._works is None:
            self._works = self._karmada.list_everywhere("Work")
        return self._works


def kept_clusters(binding: dict) -> set[str]:
    """The clusters on which Karmada keeps a binding's Works (helper.ObtainBindingSpecExistingClusters, v1.19.0-rc.0
    pkg/util/helper/binding.go): those it is scheduled to, those of spec.requiredBy, and those of graceful eviction
    tasks but for PurgeMode Directly."""
    spec = binding.get("spec") or {}
    kept = {t.get("name") for t in spec.get("clusters") or []}
    kept |= {t.get("name") for r in spec.get("requiredBy") or [] for t in r.get("clusters") or []}
    kept |= {t.get("fromCluster") for t in spec.get("gracefulEvictionTasks") or [] if t.get("purgeMode") != "Directly"}
    return {name for name in kept if name}


def carries(work: dict, obj: dict) -> bool:
    """Whether a Work's manifests hold `obj` (its kind, namespace and name)."""
    return any((m.get("kind"), (m.get("metadata") or {}).get("namespace"), (m.get("metadata") or {}).get("name"))
               == key(obj) for m in ((work.get("spec") or {}).get("workload") or {}).get("manifests") or [])


def copies_leaving(obj: dict, works: list[dict], kept: set[str] | None, ready: dict[str, bool]) -> str | None:
    """What is waited for while Karmada removes `obj`'s copies (pure): the Ready clusters holding a Work of it that
    is not kept (not on a cluster of `kept`; any, when `kept` is None: a removed object), or None. Clusters that are
    not Ready keep theirs until they are back (the execution controller deletes nothing there): logged, not waited
    for."""
    clusters = set()
    for work in works:
        space = (work.get("metadata") or {}).get("namespace") or ""
        cluster = space.removeprefix(c.EXECUTION_NAMESPACE_PREFIX)
        if space.startswith(c.EXECUTION_NAMESPACE_PREFIX) and (kept is None or cluster not in kept) \
                and carries(work, obj):
            clusters.add(cluster)
    stuck = sorted(n for n in clusters if n in ready and not ready[n])
    if stuck:
        log.warning("karmada-apiserver: the copies of %s on %s stay there: Karmada removes a copy only from a Ready "
                    "cluster (it goes when the cluster is Ready again, or with the cluster)", describe(obj),
                    ", ".join(stuck))
    leaving = sorted(n for n in clusters if ready.get(n))
    return f"{describe(obj)}: Karmada is removing its copies from {', '.join(leaving)}" if leaving else None


def leaving_placement(obj: dict, binding: dict | None, karmada: Resources, listing: Listing) -> str | None:
    """What is waited for while Karmada removes a placed object's copies from the clusters its binding no longer
    keeps (its Works, found by the binding's permanent id), or None."""
    if binding is None:
        return None
    binding_id = ((binding.get("metadata") or {}).get("labels") or {}).get(c.BINDING_ID_LABEL)
    works = karmada.list_everywhere("Work", f"{c.BINDING_ID_LABEL}={binding_id}" if binding_id else None)
    if not any(carries(w, obj) for w in works):
        return None
    return copies_leaving(obj, works, kept_clusters(binding), listing.ready())


def binding_name(obj: dict) -> str:
    """Karmada's ResourceBinding of a namespaced object: `<name>-<kind>`, lower case, `:` as `.`."""
    return f"{obj['metadata']['name'].replace(':', '.')}-{obj['kind']}".lower()


def placement_state(deployment: dict, current: dict | None, binding: dict | None,
                    policy: dict | None = None) -> tuple[list[str], str | None]:
    """(clusters where the Deployment is ready, what is still waited for or None) from the Deployment as served, its
    ResourceBinding and, when known, the PropagationPolicy selecting it as served (pure). A policy changed alone (new
    weights, the same Deployment) is waited for too: the binding carries the policy's placement (karmada v1.19.0-rc.0
    pkg/detector BuildResourceBinding copies it) and is scheduled again when its generation moves
    (status.schedulerObservedGeneration, pkg/scheduler/scheduler.go)."""
    what = describe(deployment)
    if current is None:
        return [], f"{what} is not on karmada-apiserver"
    if binding is None:
        return [], f"{what}: Karmada has not bound it yet (no ResourceBinding {binding_name(deployment)}: is a " \
                   "PropagationPolicy selecting it?)"
    spec, status = binding.get("spec") or {}, binding.get("status") or {}
    version = (current.get("metadata") or {}).get("resourceVersion")
    if (spec.get("resource") or {}).get("resourceVersion") != version:
        return [], f"{what}: its ResourceBinding is of an earlier version of it"
    if policy is not None and "placement" in spec and (spec["placement"] or {}) != (
            (policy.get("spec") or {}).get("placement") or {}):
        return [], f"{what}: its ResourceBinding does not have its PropagationPolicy's placement yet"
    generation = (binding.get("metadata") or {}).get("generation")
    if "schedulerObservedGeneration" in status and generation is not None \
            and status["schedulerObservedGeneration"] != generation:
        return [], f"{what}: not scheduled since its placement changed"
    conditions = {cond.get("type"): cond for cond in status.get("conditions") or []}
    scheduled = conditions.get("Scheduled") or {}
    if scheduled.get("status") != "True":
        return [], f"{what}: not scheduled ({scheduled.get('reason') or 'no Scheduled condition yet'}: " \
                   f"{str(scheduled.get('message') or '')[:200]})"
    placed = sorted(t.get("name") for t in spec.get("clusters") or [] if t.get("name"))
    if not placed:
        return [], f"{what}: scheduled to no cluster"
    items = {i.get("clusterName"): i for i in status.get("aggregatedStatus") or []}
    ready = [name for name in placed if (items.get(name) or {}).get("applied")
             and (items.get(name) or {}).get("health") == "Healthy"]
    if len(ready) < len(placed):
        waiting = [f"{n} ({'not applied' if not (items.get(n) or {}).get('applied') else (items.get(n) or {}).get('health') or 'no health yet'})"
                   for n in placed if n not in ready]
        return ready, f"{what}: not ready on {', '.join(waiting)}"
    if (conditions.get("FullyApplied") or {}).get("status") != "True":
        return ready, f"{what}: not fully applied yet"
    return ready, None


def load_balancer_hostnames(service: dict, binding: dict | None) -> tuple[dict[str, str], str | None]:
    """({cluster: load balancer hostname}, what is still waited for or None) of a LoadBalancer Service, from its
    ResourceBinding: each placed cluster's aggregatedStatus item carries the member's Service status (Karmada's
    default interpreter reflects the status of LoadBalancer Services only: v1.19.0-rc.0 pkg/resourceinterpreter/
    default/native/reflectstatus.go reflectServiceStatus)."""
    what = describe(service)
    if binding is None:
        return {}, f"{what}: Karmada has not bound it yet (is a PropagationPolicy selecting it?)"
    placed = sorted(t.get("name") for t in (binding.get("spec") or {}).get("clusters") or [] if t.get("name"))
    items = {i.get("clusterName"): i for i in (binding.get("status") or {}).get("aggregatedStatus") or []}
    found = {}
    for cluster in placed:
        ingress = ((((items.get(cluster) or {}).get("status") or {}).get("loadBalancer") or {}).get("ingress")) or []
        address = next((i.get("hostname") or i.get("ip") for i in ingress if i.get("hostname") or i.get("ip")), None)
        if address:
            found[cluster] = address
    missing = [n for n in placed if n not in found]
    if not placed:
        return {}, f"{what}: scheduled to no cluster"
    return found, (f"{what}: no load balancer yet on {', '.join(missing)}" if missing else None)


def selects_by_name(policy: dict, obj: dict) -> bool:
    """Whether a PropagationPolicy of `obj`'s namespace names it in a resource selector (the typed workloads' and
    most folders' policies; a policy selecting by labels is not looked up)."""
    return policy["metadata"].get("namespace") == obj["metadata"].get("namespace") and any(
        s.get("apiVersion") == obj.get("apiVersion") and s.get("kind") == obj["kind"]
        and s.get("name") == obj["metadata"]["name"] for s in (policy.get("spec") or {}).get("resourceSelectors") or [])


def is_load_balancer(obj: dict) -> bool:
    return obj["kind"] == "Service" and (obj.get("spec") or {}).get("type") == "LoadBalancer"


def wait(objects: tuple[dict, ...], karmada: Resources) -> tuple[list[str], list[str], dict[str, str]]:
    """(clusters every Deployment is ready on, what is still waited for, the attributes of the load balancers:
    `Hostname.<cluster>` for the only LoadBalancer Service, `Hostname.<service>.<cluster>` when there are several)."""
    ready_on: set[str] = set()
    waiting: list[str] = []
    hostnames: dict[str, str] = {}
    balanced = [o for o in objects if is_load_balancer(o)]
    listing = Listing(karmada)
    for obj in objects:
        _, namespace, name = key(obj)
        if obj["kind"] in NOT_PROPAGATED:
            continue
        binding = karmada.read("ResourceBinding", binding_name(obj), namespace)
        pending = None
        if obj["kind"] == "Deployment":
            current = karmada.read("Deployment", name, namespace)
            policy = next((p for p in objects if p["kind"] == "PropagationPolicy" and selects_by_name(p, obj)), None)
            served = karmada.read("PropagationPolicy", policy["metadata"]["name"], namespace) if policy else None
            ready, pending = placement_state(obj, current, binding, served)
            ready_on.update(ready)
        elif is_load_balancer(obj):
            found, pending = load_balancer_hostnames(obj, binding)
            prefix = HOSTNAME_ATTRIBUTE_PREFIX + ("" if len(balanced) == 1 else f"{name}.")
            hostnames.update({prefix + cluster: host for cluster, host in found.items()})
        for what in (pending, leaving_placement(obj, binding, karmada, listing)):
            if what:
                waiting.append(what)
    return sorted(ready_on), waiting, dict(sorted(hostnames.items()))
