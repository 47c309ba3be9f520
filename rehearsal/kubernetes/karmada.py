"""An emulated Karmada control plane on an emulated host cluster: karmada-apiserver and what
karmada-controller-manager and karmada-scheduler do that a join and a workload wait on.

karmada-apiserver is an EmulatedApiServer (apiserver.py: objects in memory, real HTTP over TLS) that serves the
certificate of the chart's certs.auto mode for the in-cluster Service name (contract.APISERVER_TLS_NAME; no node
address is named) and requires a client certificate of its CA (the admin kubeconfig's, as the chart's pre-install
Job writes it: Secret contract.KUBECONFIG_SECRET in contract.KUBECONFIG_NAMESPACE on the host). It is reached as the
NodePort Service is: the host gets a Ready Node whose InternalIP and contract's nodePort lead to the server
(EmulatedDns.register_address).

The controller emulation (`karmada_round`, karmada v1.19.0-rc.0 behaviour as the reference karmada.md states it):
- Cluster: the finalizer `karmada.io/cluster-controller`; Ready True when its apiEndpoint is a running member and
  its secretRef's token is one that member issued, else False; its execution namespace karmada-es-<cluster>. A
  deleted Cluster: each Work in its execution namespace removes its object from the member and its finalizer
  (only while the member runs: a member that is gone keeps the Works, and so the Cluster, until a forced unjoin
  removes the finalizers), then the namespace, then the Cluster's finalizer;
- propagation: a PropagationPolicy's resourceSelectors pick the templates of _RESOURCES in its namespace (a
  ClusterPropagationPolicy's in any; by name, label selector or all; the namespaced policy wins); the Ready clusters
  of `placement.clusterAffinity` (clusterNames, exclude, field selectors on region: ClusterMatches), or of the first
  of its `clusterAffinities` with any, or every Ready cluster; replicas Divided by static weights or Duplicated, as
  karmada_scheduling.schedule (Karmada's scheduler, one model); ClusterOverridePolicy then OverridePolicy plaintext
  (add/replace/remove) and imageOverrider (Registry, Repository, Tag: replace) rules of the clusters their
  targetCluster matches; the namespace first. Each copy is a Work with the
  execution finalizer and the object on the member; a ResourceBinding `<name>-<kind>` has the placement, Scheduled
  and FullyApplied conditions and per cluster `applied` and `health` (Healthy when the member's copy has its ready
  replicas; a member without workload controllers, the join tests' servers, counts as Healthy once applied) and,
  for a LoadBalancer Service, the member's Service status (its load balancer). A binding and its Works carry the
  binding's permanent id (contract.BINDING_ID_LABEL).
- removal, by two controllers as Karmada has them: the binding controller deletes the Works of clusters a binding
  no longer keeps, and of a binding whose object is no longer selected or deleted (the binding then goes at once,
  not waiting for its Works); the execution controller, from the next round on and once `state["work_delete_seconds"]`
  (default 0: a test sets it to model a slow member) have passed since, deletes a deleted Work's object on its member
  as a DELETE request does (an object with finalizers, e.g. a Service holding its load balancer, is only marked
  deleted: its member's controllers release it) and then the Work's finalizer, only while the cluster is Ready.
"""
from __future__ import annotations

import asyncio
import base64
import copy
import ssl
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import kmock

from components import karmada_crds
from components.karmada_join import contract as c

from . import karmada_scheduling
from .apiserver import ApiServerHandle, EmulatedApiServer, EmulatorLoop, _tls_server_class
from .controllers import ROUNDS, run_forever

CLUSTER_FINALIZER = "karmada.io/cluster-controller"
NODE_ADDRESS = "10.0.0.10"
_RESOURCES = {"Deployment": ("apps", "v1", "deployments"), "Service": ("", "v1", "services"),
              "ConfigMap": ("", "v1", "configmaps"), "ServiceAccount": ("", "v1", "serviceaccounts"),
              "Role": ("rbac.authorization.k8s.io", "v1", "roles"),
              "RoleBinding": ("rbac.authorization.k8s.io", "v1", "rolebindings")}
"""The resource templates propagated here: the typed workloads' and those a manifest folder may hold."""


@dataclass(frozen=True)
class KarmadaCerts:
    """The chart's certs.auto output, in test form: a CA, a server certificate for the in-cluster name, and the
    admin client certificate (the kubeconfig's)."""

    directory: Path

    def read(self, name: str) -> bytes:
        return (self.directory / name).read_bytes()

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.directory / "server.pem", self.directory / "server.key")
        ctx.load_verify_locations(self.directory / "ca.pem")
        ctx.verify_mode = ssl.CERT_REQUIRED  # no client certificate of this CA, no connection
        return ctx

    def kubeconfig(self) -> str:
        def b64(name: str) -> str:
            return base64.b64encode(self.read(name)).decode()
        server = f"https://{c.APISERVER_TLS_NAME}:{c.APISERVER_PORT}"
        return (f"apiVersion: v1\nkind: Config\nclusters:\n- name: karmada-apiserver\n  cluster:\n"
                f"    certificate-authority-data: {b64('ca.pem')}\n    insecure-skip-tls-verify: false\n"
                f"    server: {server}\nusers:\n- name: karmada-apiserver\n  user:\n"
                f"    client-certificate-data: {b64('client.pem')}\n    client-key-data: {b64('client.key')}\n"
                "contexts:\n- name: karmada-apiserver\n  context:\n    cluster: karmada-apiserver\n"
                "    user: karmada-apiserver\ncurrent-context: karmada-apiserver\n")


def make_karmada_certs(directory: Path, server_name: str = c.APISERVER_TLS_NAME) -> KarmadaCerts:
    """A Karmada CA, a server certificate naming `server_name` (the chart's hosts: `*.<release namespace>.svc.
    <domain>`, localhost, 127.0.0.1) and an admin client certificate (openssl CLI)."""
    directory.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=directory)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=karmada", "-keyout", "ca.key",
        "-out", "ca.pem")
    for stem, subject, ext in (("server", "/CN=karmada-apiserver", f"subjectAltName=DNS:{server_name},"
                                "DNS:localhost,IP:127.0.0.1\n"),
                               ("client", "/O=system:masters/CN=system:admin", "extendedKeyUsage=clientAuth\n")):
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", f"{stem}.key", "-out", f"{stem}.csr")
        (directory / f"{stem}.ext").write_text(ext)
        run("x509", "-req", "-in", f"{stem}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days",
            "2", "-extfile", f"{stem}.ext", "-out", f"{stem}.pem")
    return KarmadaCerts(directory)


class KarmadaApiServer(EmulatedApiServer):
    """karmada-apiserver: the TLS handshake already required the admin client certificate of its CA. Strict as the
    host's API server (its Kubernetes version): it serves the built-in kinds and the CRDs of `karmada_kinds` only,
    and validates every object written against them (unknown fields refused)."""

    def _authenticated(self, headers) -> bool:
        return True


def _open_crd(group: str, version: str, kind: str, plural: str) -> dict:
    """A kind the Karmada controllers write and the join Lambda only reads (ResourceBinding, Work): schema open."""
    return karmada_crds.crd(group, kind, plural, "Namespaced", version, {"type": "object", **karmada_crds.OPEN})


def karmada_kinds() -> list[dict]:
    """The CRDs karmada-apiserver serves here: the project's Karmada kinds with their schemas
    (components/karmada_crds.py: PropagationPolicy, OverridePolicy, Cluster), and the controllers' ResourceBinding
    and Work, Established."""
    crds = [*karmada_crds.all_crds(), _open_crd("work.karmada.io", "v1alpha2", "ResourceBinding", "resourcebindings"),
            _open_crd("work.karmada.io", "v1alpha1", "Work", "works")]
    return [{**crd, "status": {"conditions": [{"type": "Established", "status": "True"}]}} for crd in crds]


def _put(handle_or_emulator, plural: str, group: str, version: str, namespace: str | None, obj: dict) -> None:
    emulator = getattr(handle_or_emulator, "emulator", handle_or_emulator)
    meta = obj.setdefault("metadata", {})
    meta.setdefault("uid", str(uuid.uuid4()))
    meta.setdefault("creationTimestamp", emulator.timestamp())
    emulator.objects[(kmock.resource(group=group, version=version, plural=plural), namespace, meta["name"])] = obj


def install_on_host(host: ApiServerHandle, karmada: ApiServerHandle, certs: KarmadaCerts,
                    node_port: int = c.DEFAULT_APISERVER_NODE_PORT, node_address: str = NODE_ADDRESS) -> None:
    """What the chart release leaves on the host: its namespace, the kubeconfig Secret, and a Ready node whose
    InternalIP:nodePort reaches karmada-apiserver."""
    def install() -> None:
        emulator = host.emulator
        if emulator.find("namespaces", None, c.RELEASE_NAMESPACE) is None:
            _put(emulator, "namespaces", "", "v1", None, {"apiVersion": "v1", "kind": "Namespace",
                                                          "metadata": {"name": c.RELEASE_NAMESPACE}})
        if emulator.find("secrets", c.KUBECONFIG_NAMESPACE, c.KUBECONFIG_SECRET) is None:
            # The pre-install Job's Secret (the chart model writes it itself when it asks `kubeconfig` first).
            _put(emulator, "secrets", "", "v1", c.KUBECONFIG_NAMESPACE, {
                "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": c.KUBECONFIG_SECRET, "namespace": c.KUBECONFIG_NAMESPACE},
                "data": {c.KUBECONFIG_KEY: base64.b64encode(certs.kubeconfig().encode()).decode()}})
        if not any(a.get("type") == "InternalIP" for _, n in _live(emulator, "nodes", None)
                   for a in ((n.raw.get("status") or {}).get("addresses") or [])):
            _put(emulator, "nodes", "", "v1", None, {
                "apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"},
                "status": {"conditions": [{"type": "Ready", "status": "True"}],
                           "addresses": [{"type": "InternalIP", "address": node_address}]}})
    host.run(install)


def start_karmada(loop: EmulatorLoop, host: ApiServerHandle, certs: KarmadaCerts,
                  node_port: int = c.DEFAULT_APISERVER_NODE_PORT, node_address: str = NODE_ADDRESS,
                  background: bool = True) -> ApiServerHandle:
    """karmada-apiserver on `host`, with the controller emulation (forever in real time when `background`, else
    per `karmada_round` call), reached from the host VPC at `node_address:node_port`."""
    async def boot() -> ApiServerHandle:
        emulator = KarmadaApiServer(region=host.region, wall=host.emulator.wall,
                                    kubernetes_version=host.emulator.kubernetes_version)
        await emulator.__aenter__()
        for crd in karmada_kinds():
            _put(emulator, "customresourcedefinitions", "apiextensions.k8s.io", "v1", None, crd)
        server = kmock.Server(emulator, server_cls=_tls_server_class(certs.server_context()))
        await server.__aenter__()
        loop._exits += [server, emulator]
        handle = ApiServerHandle(name=f"karmada@{host.name}", region=host.region, emulator=emulator,
                                 port=server.port, loop=loop.loop, server=server, hostname=c.APISERVER_TLS_NAME)
        handle.state["members"] = lambda: [h for h in loop.handles if h is not handle]
        loop.handles.append(handle)
        if background:
            for name, function in {**ROUNDS, "karmada": karmada_round}.items():
                handle.background.append(asyncio.ensure_future(run_forever(handle, name, function)))
        return handle
    handle = asyncio.run_coroutine_threadsafe(boot(), loop.loop).result(20)
    loop.dns.register_address(node_address, node_port, handle.port)
    install_on_host(host, handle, certs, node_port, node_address)
    return handle


def release_statuses(host: ApiServerHandle) -> set[str]:
    """The statuses of the Karmada chart's release records on the host (Helm's: Secrets
    sh.helm.release.v1.<release>.v<n> in the release namespace, labelled status=deployed, pending-install, ...);
    empty when the release is not installed."""
    prefix = f"sh.helm.release.v1.{c.RELEASE_NAME}.v"
    return {((obj.raw.get("metadata") or {}).get("labels") or {}).get("status") or ""
            for (_, namespace, name), obj in _live(host.emulator, "secrets", c.RELEASE_NAMESPACE)
            if name.startswith(prefix)}


def node_port_of(host: ApiServerHandle) -> int:
    """The nodePort of the release's karmada-apiserver Service on the host (the contract's default when the chart
    model did not render one)."""
    service = host.emulator.find("services", c.RELEASE_NAMESPACE, c.APISERVER_SERVICE) or {}
    for port in ((service.get("spec") or {}).get("ports") or []):
        if port.get("nodePort"):
            return int(port["nodePort"])
    return c.DEFAULT_APISERVER_NODE_PORT


# --- the controller emulation -------------------------------------------------------------------------------------

def _live(emulator, plural: str, namespace: str | None = "*"):
    for key, obj in list(emulator.objects.items()):
        if key[0].plural == plural and not obj.deleted and (namespace == "*" or key[1] == namespace):
            yield key, obj


def _stored(emulator, key: tuple):
    """The stored object of `key` (live or deleted), or None."""
    return next((obj for k, obj in emulator.objects.items() if k == key), None)


def _member_for(handle: ApiServerHandle, endpoint: str) -> ApiServerHandle | None:
    host = endpoint.lower().removeprefix("https://").split("/")[0].split(":")[0]
    return next((m for m in handle.state["members"]() if m.hostname.lower() == host), None)


def _token(emulator, ref: dict) -> str:
    secret = emulator.find("secrets", ref.get("namespace"), ref.get("name")) or {}
    raw = (secret.get("data") or {}).get("token") or ""
    try:
        return base64.b64decode(raw).decode()
    except (ValueError, UnicodeDecodeError):
        return ""


def cluster_ready(handle: ApiServerHandle, cluster: dict) -> bool:
    """The cluster status controller's probe: the member answers (a running server the host's pods reach:
    `state["reaches"]`, set by the rehearsal from its network) and accepts the Cluster's token."""
    spec = cluster.get("spec") or {}
    member = _member_for(handle, spec.get("apiEndpoint") or "")
    return member is not None and handle.state.get("reaches", lambda hostname: True)(member.hostname) and \
        _token(handle.emulator, spec.get("secretRef") or {}) in member.emulator.issued_tokens


def _set_condition(obj, conditions: list[dict], now: str) -> None:
    old = {cond["type"]: cond for cond in (obj.raw.get("status") or {}).get("conditions") or []}
    new = []
    for cond in conditions:
        before = old.get(cond["type"]) or {}
        since = before.get("lastTransitionTime") if before.get("status") == cond["status"] else now
        new.append({**cond, "lastTransitionTime": since or now})
    if new != list(old.values()):
        obj.patch({"status": {"conditions": new}})


def _ensure_namespace(emulator, name: str) -> None:
    if emulator.find("namespaces", None, name) is None:
        _put(emulator, "namespaces", "", "v1", None, {"apiVersion": "v1", "kind": "Namespace",
                                                      "metadata": {"name": name}})


def karmada_round(handle: ApiServerHandle, now_seconds: float) -> None:
    emulator = handle.emulator
    now = emulator.timestamp()
    ready: dict[str, ApiServerHandle] = {}
    for (_, _, name), obj in _live(emulator, "clusters", None):
        meta = obj.raw.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            _remove_cluster(handle, name, obj)
            continue
        if CLUSTER_FINALIZER not in (meta.get("finalizers") or []):
            obj.patch({"metadata": {"finalizers": [*(meta.get("finalizers") or []), CLUSTER_FINALIZER]}})
        is_ready = cluster_ready(handle, obj.raw)
        _set_condition(obj, [{"type": "Ready", "status": "True" if is_ready else "False",
                              "reason": "ClusterReady" if is_ready else "ClusterNotReachable",
                              "message": "cluster is healthy and ready to accept workloads" if is_ready
                              else "cluster is not reachable"}], now)
        _ensure_namespace(emulator, c.execution_namespace(name))
        if is_ready:
            ready[name] = _member_for(handle, (obj.raw.get("spec") or {}).get("apiEndpoint") or "")
    _propagate(handle, ready, now, now_seconds)


def _remove_cluster(handle: ApiServerHandle, name: str, obj) -> None:
    emulator = handle.emulator
    space = c.execution_namespace(name)
    member = _member_for(handle, (obj.raw.get("spec") or {}).get("apiEndpoint") or "")
    works = list(_live(emulator, "works", space))
    for _, work in works:
        if member is not None:
            _delete_member_copy(member, work.raw)
            _release(work, c.WORK_FINALIZER)
        elif not work.raw["metadata"].get("deletionTimestamp"):
            work.patch({"metadata": {"deletionTimestamp": emulator.timestamp()}})
    if any(not w.deleted for _, w in works):
        return  # the member is gone: the Works keep their finalizer until a forced unjoin removes it
    for _, ns in _live(emulator, "namespaces", None):
        if ns.raw["metadata"]["name"] == space:
            ns.delete()
    _release(obj, CLUSTER_FINALIZER)


def _release(obj, finalizer: str) -> None:
    """Remove `finalizer` from a deleted object; it goes once it has none (the API server's garbage collection of
    a released object, which a direct patch of the emulator's store does not trigger)."""
    finalizers = [f for f in (obj.raw["metadata"].get("finalizers") or []) if f != finalizer]
    if finalizers:
        obj.patch({"metadata": {"finalizers": finalizers}})
    else:
        obj.delete()


def _copy_key(manifest: dict) -> tuple:
    group, version, plural = _RESOURCES[manifest["kind"]]
    return kmock.resource(group=group, version=version, plural=plural), manifest["metadata"].get("namespace"), \
        manifest["metadata"]["name"]


def _delete_member_copy(member: ApiServerHandle, work: dict) -> None:
    """ObjectWatcher.Delete: a DELETE of each manifest's object on the member, which the API server carries out at
    once for an object without finalizers and otherwise marks deleted (its finalizers' controllers release it)."""
    for manifest in ((work.get("spec") or {}).get("workload") or {}).get("manifests") or []:
        if manifest.get("kind") in _RESOURCES:
            found = _stored(member.emulator, _copy_key(manifest))
            if found is None or found.deleted:
                continue
            meta = found.raw.get("metadata") or {}
            if not meta.get("finalizers"):
                found.delete()
            elif not meta.get("deletionTimestamp"):
                found.patch({"metadata": {"deletionTimestamp": member.emulator.timestamp()}})


def _delete_work(handle: ApiServerHandle, space: str, name: str, work, now_seconds: float) -> None:
    """The binding controller's delete of a Work: marked deleted (it holds the execution finalizer) at `now`."""
    if not work.raw["metadata"].get("deletionTimestamp"):
        work.patch({"metadata": {"deletionTimestamp": handle.emulator.timestamp()}})
        handle.state.setdefault("work_deleted_at", {})[(space, name)] = now_seconds


def _execute_deleted_works(handle: ApiServerHandle, ready: dict, now_seconds: float) -> None:
    """The execution controller's handleWorkDelete for the Works deleted in an earlier round (and at least
    `state["work_delete_seconds"]` ago): their objects deleted on the member, then their finalizer, while the
    cluster is Ready; a Work of a cluster that is not Ready stays (its Cluster's deletion releases it)."""
    deleted_at = handle.state.setdefault("work_deleted_at", {})
    delay = float(handle.state.get("work_delete_seconds", 0.0))
    for (_, space, name), work in list(_live(handle.emulator, "works")):
        since = deleted_at.get((space, name))
        if not work.raw["metadata"].get("deletionTimestamp") or since is None:
            continue
        member = ready.get(space.removeprefix(c.EXECUTION_NAMESPACE_PREFIX))
        if member is None or since >= now_seconds or now_seconds - since < delay:
            continue
        _delete_member_copy(member, work.raw)
        _release(work, c.WORK_FINALIZER)
        deleted_at.pop((space, name), None)


def _label_match(selector: dict | None, labels: dict) -> bool:
    """A label selector (matchLabels, matchExpressions In/NotIn/Exists/DoesNotExist) over `labels`."""
    if selector is None:
        return True
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e.get("key"), e.get("operator"), e.get("values") or []
        ok = {"In": labels.get(key) in values and key in labels, "NotIn": labels.get(key) not in values or key not in
              labels, "Exists": key in labels, "DoesNotExist": key not in labels}.get(op, False)
        if not ok:
            return False
    return True


def _matches(selector: dict, obj: dict) -> bool:
    """pkg/util/selector.go ResourceSelectorPriority: apiVersion, kind and (when given) namespace; then the name when
    given, else the label selector when given, else every object."""
    meta = obj.get("metadata") or {}
    if selector.get("apiVersion") != obj.get("apiVersion") or selector.get("kind") != obj.get("kind") or (
            selector.get("namespace") and selector["namespace"] != meta.get("namespace")):
        return False
    if selector.get("name"):
        return selector["name"] == meta.get("name")
    return _label_match(selector.get("labelSelector"), meta.get("labels") or {})


def _selected(emulator, policy: dict) -> list[tuple[str, dict]]:
    """The objects a (Cluster)PropagationPolicy selects: a namespaced policy in its own namespace only."""
    namespace = policy["metadata"].get("namespace") if policy.get("kind") == "PropagationPolicy" else "*"
    out = []
    for kind, (group, version, plural) in _RESOURCES.items():
        for _, found in _live(emulator, plural, namespace):
            obj = {**found.raw, "apiVersion": f"{group}/{version}" if group else version, "kind": kind}
            if any(_matches(s, obj) for s in ((policy.get("spec") or {}).get("resourceSelectors") or [])):
                out.append((kind, obj))
    return out


def _cluster_matches(affinity: dict | None, name: str, region: str | None) -> bool:
    """pkg/util/selector.go ClusterMatches: not excluded, and each of clusterNames, labelSelector (the joins label no
    Cluster) and fieldSelector (region only: the joins set no provider or zones) that is set; none set: every
    cluster."""
    if affinity is None:
        return True
    if name in (affinity.get("exclude") or []):
        return False
    if affinity.get("clusterNames") and name not in affinity["clusterNames"]:
        return False
    if affinity.get("labelSelector") is not None and not _label_match(affinity["labelSelector"], {}):
        return False
    fields = {"region": region} if region else {}
    return _label_match({"matchExpressions": (affinity.get("fieldSelector") or {}).get("matchExpressions") or []},
                        fields)


def _placement(emulator, policy: dict, ready: dict) -> list[str]:
    """The Ready clusters of a policy's clusterAffinity, or of the first of its clusterAffinities that has any
    (the scheduler tries the terms in order)."""
    placement = ((policy.get("spec") or {}).get("placement")) or {}
    clusters = [(name, (obj.raw.get("spec") or {}).get("region")) for (_, _, name), obj in
                _live(emulator, "clusters", None) if name in ready]
    for term in placement.get("clusterAffinities") or [placement.get("clusterAffinity")]:
        chosen = sorted(n for n, region in clusters if _cluster_matches(term, n, region))
        if chosen:
            return chosen
    return []


def _json_pointer_set(obj: dict, path: str, operator: str, value) -> None:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.strip("/").split("/")]
    target = obj
    for part in parts[:-1]:
        target = target[int(part)] if isinstance(target, list) else target.setdefault(part, {})
    last = parts[-1]
    if isinstance(target, list):
        index = int(last)
        if operator == "remove":
            del target[index]
        else:
            target[index] = value
    elif operator == "remove":
        target.pop(last, None)
    else:
        target[last] = value


def _override(emulator, obj: dict, cluster: str) -> dict:
    namespace = obj["metadata"].get("namespace")
    out = copy.deepcopy(obj)
    region = (emulator.find("clusters", None, cluster) or {}).get("spec", {}).get("region")
    # ClusterOverridePolicies first, then the namespace's OverridePolicies (Karmada applies the namespaced ones last).
    policies = [*(p for _, p in _live(emulator, "clusteroverridepolicies", None)),
                *(p for _, p in _live(emulator, "overridepolicies", namespace))]
    for policy in policies:
        spec = policy.raw.get("spec") or {}
        selectors = spec.get("resourceSelectors")
        if selectors and not any(_matches(s, obj) for s in selectors):
            continue  # no selectors: every object (override_types.go)
        for rule in spec.get("overrideRules") or []:
            if not _cluster_matches(rule.get("targetCluster"), cluster, region):
                continue
            overriders = rule.get("overriders") or {}
            for op in overriders.get("plaintext") or []:
                _json_pointer_set(out, op["path"], op.get("operator", "replace"), op.get("value"))
            for op in overriders.get("imageOverrider") or []:
                for container in ((out.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers", []):
                    container["image"] = _override_image(container.get("image", ""), op)
    return out


def _override_image(image: str, op: dict) -> str:
    registry, _, rest = image.rpartition("/") if "/" in image and "." in image.split("/")[0] else ("", "", image)
    if registry:
        registry, rest = image.split("/", 1)[0], image.split("/", 1)[1]
    repository, _, tag = rest.partition(":")
    part = {"Registry": "registry", "Repository": "repository", "Tag": "tag"}[op["component"]]
    values = {"registry": registry, "repository": repository, "tag": tag}
    values[part] = op.get("value", "")
    return (values["registry"] + "/" if values["registry"] else "") + values["repository"] + \
        (":" + values["tag"] if values["tag"] else "")


def _propagate(handle: ApiServerHandle, ready: dict, now: str, now_seconds: float = 0.0) -> None:
    emulator = handle.emulator
    _execute_deleted_works(handle, ready, now_seconds)
    wanted: dict[tuple, dict] = {}  # (cluster, kind, namespace, name) -> manifest
    bindings: dict[tuple, tuple[dict, dict[str, int], str]] = {}
    # A PropagationPolicy before a ClusterPropagationPolicy: an object is propagated by one policy, the namespaced
    # one when both select it (pkg/detector: the namespace's policies are matched first).
    taken: set[tuple] = set()
    policies = [*(p for _, p in _live(emulator, "propagationpolicies")),
                *(p for _, p in _live(emulator, "clusterpropagationpolicies", None))]
    for policy in policies:
        clusters = _placement(emulator, policy.raw, ready)
        for kind, obj in _selected(emulator, policy.raw):
            if (kind, obj["metadata"].get("namespace"), obj["metadata"]["name"]) in taken:
                continue
            taken.add((kind, obj["metadata"].get("namespace"), obj["metadata"]["name"]))
            # Karmada's scheduler as one model (karmada_scheduling.schedule): a Deployment's `spec.replicas`
            # (Kubernetes' default 1) divided or duplicated; clusters left with none are not in the binding.
            replicas = (obj.get("spec") or {}).get("replicas")
            total = 1 if replicas is None else int(replicas)
            placement = ((policy.raw.get("spec") or {}).get("placement")) or {}
            counts = karmada_scheduling.schedule(placement, total, clusters) if kind == "Deployment" \
                else {n: 1 for n in clusters}
            bindings[(kind, obj["metadata"].get("namespace"), obj["metadata"]["name"])] = (obj, counts, placement)
            for cluster, count in counts.items():
                if kind == "Deployment" and count == 0:
                    continue
                copy_ = _override(emulator, obj, cluster)
                meta = copy_["metadata"]
                copy_["metadata"] = {k: meta[k] for k in ("name", "namespace", "labels", "annotations") if k in meta}
                copy_.pop("status", None)
                if kind == "Deployment":
                    copy_.setdefault("spec", {})["replicas"] = count
                if kind == "Service":
                    copy_.get("spec", {}).pop("clusterIP", None)
                    copy_.get("spec", {}).pop("clusterIPs", None)
                wanted[(cluster, kind, meta.get("namespace"), meta["name"])] = copy_
    ids = {k: ((emulator.find("resourcebindings", k[1], f"{k[2]}-{k[0].lower()}") or {}).get("metadata") or {})
           .get("labels", {}).get(c.BINDING_ID_LABEL) or str(uuid.uuid4()) for k in bindings}
    applied: set[tuple] = set()
    for (cluster, kind, namespace, name), manifest in wanted.items():
        member = ready[cluster]
        _ensure_namespace(member.emulator, namespace)
        key = _copy_key(manifest)
        current = _stored(member.emulator, key)
        if current is None or current.deleted or {k: v for k, v in current.raw.items()
                                                   if k not in ("metadata", "status")} != \
                {k: v for k, v in manifest.items() if k != "metadata"}:
            _put(member.emulator, key[0].plural, key[0].group, key[0].version, namespace, copy.deepcopy(manifest))
        space = c.execution_namespace(cluster)
        work_name = f"{name}-{kind.lower()}"
        _put(emulator, "works", "work.karmada.io", "v1alpha1", space, {
            "apiVersion": "work.karmada.io/v1alpha1", "kind": "Work",
            "metadata": {"name": work_name, "namespace": space, "finalizers": [c.WORK_FINALIZER],
                         "labels": {c.BINDING_ID_LABEL: ids[(kind, namespace, name)]}},
            "spec": {"workload": {"manifests": [manifest]}}}) if emulator.find("works", space, work_name) is None \
            else None
        applied.add((cluster, kind, namespace, name))
    # Copies no longer wanted (a deleted object or policy, a cluster dropped from the placement): their Works are
    # deleted, and the execution controller removes the copies from the next round on.
    for (_, space, work_name), work in list(_live(emulator, "works")):
        cluster = space.removeprefix(c.EXECUTION_NAMESPACE_PREFIX)
        for manifest in ((work.raw.get("spec") or {}).get("workload") or {}).get("manifests") or []:
            key = (cluster, manifest["kind"], manifest["metadata"].get("namespace"), manifest["metadata"]["name"])
            if key not in applied and cluster in ready:
                _delete_work(handle, space, work_name, work, now_seconds)
    for (kind, namespace, name), (obj, counts, placement) in bindings.items():
        _write_binding(handle, ready, obj, counts, kind, now, placement, ids[(kind, namespace, name)])
    live = {(k, ns, n) for k, ns, n in bindings}
    for (_, namespace, bname), binding in list(_live(emulator, "resourcebindings")):
        resource = (binding.raw.get("spec") or {}).get("resource") or {}
        if (resource.get("kind"), namespace, resource.get("name")) not in live:
            binding.delete()


def _write_binding(handle: ApiServerHandle, ready: dict, obj: dict, counts: dict[str, int], kind: str,
                   now: str, placement: dict | None = None, binding_id: str = "") -> None:
    """The object's ResourceBinding: its policy's placement (BuildResourceBinding copies it), the clusters scheduled,
    the conditions and each cluster's status, written in the round that propagated it (scheduled at once)."""
    emulator = handle.emulator
    meta = obj["metadata"]
    name = f"{meta['name']}-{kind.lower()}"
    namespace = meta.get("namespace")
    items = []
    for cluster, count in sorted(counts.items()):
        if kind == "Deployment" and count == 0:
            continue
        member = ready[cluster]
        copy_ = member.emulator.find(_RESOURCES[kind][2], namespace, meta["name"]) or {}
        status = copy_.get("status") or {}
        healthy = (not member.emulator.enforcing or kind != "Deployment"
                   or int(status.get("readyReplicas") or 0) >= int((copy_.get("spec") or {}).get("replicas") or 0))
        item = {"clusterName": cluster, "applied": bool(copy_), "health": "Healthy" if healthy else "Unhealthy"}
        if kind == "Service" and (copy_.get("spec") or {}).get("type") == "LoadBalancer" and copy_.get("status"):
            item["status"] = copy_["status"]  # reflectServiceStatus: the member's status of a LoadBalancer Service
        items.append(item)
    spec = {"resource": {"apiVersion": obj.get("apiVersion"), "kind": kind, "namespace": namespace,
                         "name": meta["name"], "uid": meta.get("uid"), "resourceVersion": meta.get("resourceVersion")},
            "placement": placement or {},
            "clusters": [{"name": n, "replicas": r} for n, r in sorted(counts.items()) if r or kind != "Deployment"]}
    status = {"conditions": [{"type": "Scheduled", "status": "True" if spec["clusters"] else "False",
                              "reason": "Success" if spec["clusters"] else "NoClusterFit", "message": "",
                              "lastTransitionTime": now},
                             {"type": "FullyApplied", "status": "True" if spec["clusters"] and all(
                                 i["applied"] for i in items) else "False", "reason": "", "message": "",
                              "lastTransitionTime": now}],
              "aggregatedStatus": items}
    current = emulator.find("resourcebindings", namespace, name)
    if current is None or current.get("spec") != spec or current.get("status") != status or \
            ((current.get("metadata") or {}).get("labels") or {}).get(c.BINDING_ID_LABEL) != binding_id:
        _put(emulator, "resourcebindings", "work.karmada.io", "v1alpha2", namespace, {
            "apiVersion": "work.karmada.io/v1alpha2", "kind": "ResourceBinding",
            "metadata": {"name": name, "namespace": namespace, "labels": {c.BINDING_ID_LABEL: binding_id},
                         **({"uid": current["metadata"].get("uid")} if current else {})},
            "spec": spec, "status": status})
