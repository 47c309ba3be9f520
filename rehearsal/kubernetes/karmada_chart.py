"""A model of Karmada's chart (`karmada` v1.19, repository https://raw.githubusercontent.com/karmada-io/karmada/
master/charts), as components/karmada_control_plane.py installs it, for the offline rehearsal: the objects of the
release that a deploy depends on, read from karmada-io/karmada charts/karmada (tag v1.19.0-rc.0) and modelled, not
copied:
- pre-install hooks (templates/pre-install-job.yaml): ServiceAccount, ClusterRole and ClusterRoleBinding
  `<release>-hook-job` (weight 1), ConfigMap `<release>-config` (weight 2; no delete policy: hooks survive the
  uninstall), and Job `<release>-pre-install` (weight 3, `hook-succeeded`) whose cfssl init container makes the
  certificates and whose kubectl container creates Secrets `<release>-cert`, `<release>-webhook-cert` and the admin
  kubeconfig `<release>-kubeconfig` (key `kubeconfig`, server `https://<release>-apiserver.<namespace>.svc.
  cluster.local:5443`) in the release namespace; Helm does not manage those Secrets;
- the release's objects (templates/*.yaml): StatefulSet `etcd` (with its PVC template when storageType is pvc),
  Deployments `<release>-apiserver` (kube-apiserver), `<release>-aggregated-apiserver`,
  `<release>-kube-controller-manager`, `<release>-controller-manager`, `<release>-scheduler`, `<release>-webhook`,
  each with the chart's init containers (wait for etcd: the cfssl image; wait for the static resources: the kubectl
  image), the Service `<release>-apiserver` (port 5443, type and nodePort from `apiServer.*`), and the plain Job
  `<release>-static-resource` (kubectl; `ttlSecondsAfterFinished` from `staticResourceJob`), which applies
  Karmada's CRDs and the `karmada-version` ConfigMap into karmada-apiserver;
- the post-delete hook Job `<release>-post-delete` (`hook-succeeded`), which deletes the certificate and kubeconfig
  Secrets, ConfigMap `<release>-config` and the static resources, namespace `systemNamespace` included, from the
  host with the hook service account.
Images: `<registry>/<repository>:<tag>` with `global.imageRegistry` replacing every registry (bitnami common's
`common.images.image`), the chart's pins for kube-apiserver, kube-controller-manager and etcd, and the values' tags.

The Jobs' effects on the host are modelled in EFFECTS (helm.py runs them when a hook Job completes). What the
static-resource Job does inside karmada-apiserver, and karmada-apiserver itself, are the Karmada emulation's
(rehearsal/kubernetes/karmada.py): it registers with `serve_karmada_apiserver`, and the pre-install effect asks it
for the admin kubeconfig when it writes the Secret.
"""
from __future__ import annotations

import json
from typing import Callable, Protocol

CHART = "karmada"
REPOSITORY = "https://raw.githubusercontent.com/karmada-io/karmada/master/charts"
EFFECT = "rehearsal.federated-eks/effect"
"""Annotation of a modelled hook Job: the key of its effect in EFFECTS, and the values it needs (JSON)."""
HOOK = "helm.sh/hook"
# The chart's own pins (values.yaml at v1.19.0-rc.0) of the images it does not take from karmadaImageVersion.
CHART_IMAGES = {"apiServer": ("registry.k8s.io", "kube-apiserver", "v1.36.2"),
                "kubeControllerManager": ("registry.k8s.io", "kube-controller-manager", "v1.36.2"),
                "etcd": ("registry.k8s.io", "etcd", "3.6.8-0"),
                "cfssl": ("docker.io", "cfssl/cfssl", "latest"), "kubectl": ("docker.io", "bitnamisecure/kubectl", "latest")}
COMPONENTS = {"aggregatedApiServer": ("aggregated-apiserver", "karmada/karmada-aggregated-apiserver"),
              "controllerManager": ("controller-manager", "karmada/karmada-controller-manager"),
              "scheduler": ("scheduler", "karmada/karmada-scheduler"),
              "webhook": ("webhook", "karmada/karmada-webhook")}


class Client(Protocol):  # rehearsal.kubernetes.client.Client, as the effects use it
    def get(self, obj: dict) -> dict | None: ...
    def create(self, obj: dict) -> dict: ...
    def delete(self, obj: dict) -> bool: ...


KubeconfigSource = Callable[[Client, str, str], "str | None"]
"""(host client, release, release namespace) -> the admin kubeconfig of the karmada-apiserver the Karmada emulation
serves for that release, or None when it serves none."""
_KUBECONFIG_SOURCES: list[KubeconfigSource] = []


def serve_karmada_apiserver(source: KubeconfigSource) -> Callable[[], None]:
    """The hook of the Karmada emulation: `source` is asked for the kubeconfig the pre-install Job writes. Returns a
    function that unregisters it."""
    _KUBECONFIG_SOURCES.append(source)
    return lambda: _KUBECONFIG_SOURCES.remove(source)


def _image(values: dict, key: str, default: tuple[str, str, str]) -> str:
    given = (values.get(key) or {}).get("image") or {}
    registry = ((values.get("global") or {}).get("imageRegistry") or given.get("registry") or default[0])
    return f"{registry}/{given.get('repository') or default[1]}:{given.get('tag') or default[2]}"


def images(values: dict) -> dict[str, str]:
    """Every image the release runs, by values key."""
    version = values.get("karmadaImageVersion") or "latest"
    out = {key: _image(values, key, default) for key, default in CHART_IMAGES.items() if key != "etcd"}
    etcd = {"etcd": (values.get("etcd") or {}).get("internal") or {}, "global": values.get("global")}
    out["etcd"] = _image(etcd, "etcd", CHART_IMAGES["etcd"])
    for key, (_, repository) in COMPONENTS.items():
        out[key] = _image(values, key, ("docker.io", repository, version))
    return out


def _pod_containers(obj: dict) -> list[dict]:
    """Every container (init containers too) of a workload or Job of the model."""
    spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]


def _pod(containers: list[dict], init: list[dict] | None = None, service_account: str | None = None) -> dict:
    spec: dict = {"containers": containers}
    if init:
        spec["initContainers"] = init
    if service_account:
        spec["serviceAccountName"] = service_account
    return spec


def _workload(kind: str, name: str, namespace: str, pod: dict, **spec) -> dict:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": pod}, **spec}}


def _hook(obj: dict, events: str, weight: int, delete_policy: str | None = None) -> dict:
    annotations = {HOOK: events, "helm.sh/hook-weight": str(weight)}
    if delete_policy:
        annotations["helm.sh/hook-delete-policy"] = delete_policy
    meta = obj["metadata"]
    return {**obj, "metadata": {**meta, "annotations": {**meta.get("annotations", {}), **annotations}}}


def _job(name: str, namespace: str, pod: dict, effect: dict | None = None, ttl: int | None = None) -> dict:
    meta: dict = {"name": name, "namespace": namespace}
    if effect is not None:
        meta["annotations"] = {EFFECT: json.dumps(effect, sort_keys=True)}
    spec: dict = {"template": {"spec": {**pod, "restartPolicy": "Never"}}}
    if ttl is not None:
        spec["ttlSecondsAfterFinished"] = ttl
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": spec}


def render(release: str, namespace: str, values: dict) -> list[dict]:
    """The modelled objects of the release (hooks annotated as the chart annotates them)."""
    image = images(values)
    system = values.get("systemNamespace") or "karmada-system"
    hook_sa = f"{release}-hook-job"
    wait_etcd = {"name": "wait-etcd", "image": image["cfssl"]}
    wait_static = {"name": "wait-static-resource", "image": image["kubectl"]}
    effect = {"release": release, "namespace": namespace, "systemNamespace": system}
    out = [
        _hook({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": hook_sa, "namespace": namespace}},
              "pre-install,pre-upgrade", 1),
        _hook({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": hook_sa},
               "rules": [{"apiGroups": ["*"], "resources": ["*"],
                          "verbs": ["get", "watch", "list", "create", "update", "patch", "delete"]}]},
              "pre-install,pre-upgrade", 1),
        _hook({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": hook_sa},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": hook_sa},
               "subjects": [{"kind": "ServiceAccount", "name": hook_sa, "namespace": namespace}]},
              "pre-install,pre-upgrade", 1),
        _hook({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{release}-config", "namespace": namespace},
               "data": {"kubeconfig.yaml": "(the kubeconfig Secret, filled in by the pre-install Job)"}},
              "pre-install", 2),
        _hook(_job(f"{release}-pre-install", namespace,
                   _pod([{"name": "pre-install", "image": image["kubectl"]}], [{"name": "init", "image": image["cfssl"]}],
                        hook_sa), {**effect, "effect": "pre-install"}), "pre-install", 3, "hook-succeeded"),
        _hook(_job(f"{release}-post-delete", namespace, _pod([{"name": "post-delete", "image": image["kubectl"]}],
                                                              service_account=hook_sa),
                   {**effect, "effect": "post-delete"}), "post-delete", 0, "hook-succeeded"),
    ]
    internal = (values.get("etcd") or {}).get("internal") or {}
    etcd_spec: dict = {"serviceName": "etcd"}
    if internal.get("storageType") == "pvc":
        pvc = internal.get("pvc") or {}
        etcd_spec["volumeClaimTemplates"] = [{"metadata": {"name": "etcd-data"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "storageClassName": pvc.get("storageClass"),
            "resources": {"requests": {"storage": pvc.get("size")}}}}]
    out.append(_workload("StatefulSet", "etcd", namespace, _pod([{"name": "etcd", "image": image["etcd"]}]),
                         **etcd_spec))
    out.append(_workload("Deployment", f"{release}-apiserver", namespace,
                         _pod([{"name": f"{release}-apiserver", "image": image["apiServer"]}], [wait_etcd])))
    out.append(_workload("Deployment", f"{release}-kube-controller-manager", namespace,
                         _pod([{"name": "kube-controller-manager", "image": image["kubeControllerManager"]}])))
    for key, (suffix, _) in COMPONENTS.items():
        out.append(_workload("Deployment", f"{release}-{suffix}", namespace,
                             _pod([{"name": f"{release}-{suffix}", "image": image[key]}], [wait_static])))
    api = values.get("apiServer") or {}
    port: dict = {"name": f"{release}-apiserver", "port": 5443, "protocol": "TCP", "targetPort": 5443}
    if api.get("serviceType") == "NodePort" and api.get("nodePort"):
        port["nodePort"] = api["nodePort"]
    out.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"{release}-apiserver", "namespace": namespace},
                "spec": {"type": api.get("serviceType") or "ClusterIP", "ports": [port],
                         "selector": {"app": f"{release}-apiserver"}}})
    ttl = (values.get("staticResourceJob") or {}).get("ttlSecondsAfterFinished", 10)
    out.append(_job(f"{release}-static-resource", namespace,
                    _pod([{"name": "post-install", "image": image["kubectl"]}], service_account=hook_sa), ttl=ttl))
    return out


# --- the Jobs' effects on the host --------------------------------------------------------------------------------

def _secret(name: str, namespace: str, data: dict[str, str]) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace},
            "stringData": data}


def placeholder_kubeconfig(release: str, namespace: str) -> str:
    """The kubeconfig's shape without credentials (no Karmada emulation registered)."""
    server = f"https://{release}-apiserver.{namespace}.svc.cluster.local:5443"
    return json.dumps({"apiVersion": "v1", "kind": "Config", "current-context": f"{release}-apiserver",
                       "clusters": [{"name": f"{release}-apiserver", "cluster": {"server": server}}],
                       "contexts": [{"name": f"{release}-apiserver", "context": {
                           "cluster": f"{release}-apiserver", "user": f"{release}-apiserver"}}],
                       "users": [{"name": f"{release}-apiserver", "user": {}}]})


def _pre_install(client: Client, effect: dict) -> str | None:
    release, namespace = effect["release"], effect["namespace"]
    kubeconfig = next((k for k in (source(client, release, namespace) for source in list(_KUBECONFIG_SOURCES)) if k),
                      None) or placeholder_kubeconfig(release, namespace)
    for secret in (_secret(f"{release}-cert", namespace, {"karmada.crt": "(modelled)"}),
                   _secret(f"{release}-webhook-cert", namespace, {"tls.crt": "(modelled)"}),
                   _secret(f"{release}-kubeconfig", namespace, {"kubeconfig": kubeconfig})):
        if client.get(secret) is None:  # certificates are issued at the first install only
            client.create(secret)
    return None


def _post_delete(client: Client, effect: dict) -> str | None:
    release, namespace, system = effect["release"], effect["namespace"], effect["systemNamespace"]
    if namespace == system:
        return (f"it deletes namespace {system!r} (the chart's static resources), which holds the Job itself: the Job "
                "is deleted with it and Helm 4 waits for it until the uninstall times out")
    for name in ("cert", "webhook-cert", "kubeconfig"):
        client.delete(_secret(f"{release}-{name}", namespace, {}))
    client.delete({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{release}-config",
                                                                       "namespace": namespace}})
    client.delete({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": system}})
    return None


EFFECTS: dict[str, Callable[[Client, dict], "str | None"]] = {"pre-install": _pre_install,
                                                              "post-delete": _post_delete}


def run_effect(client: Client, job: dict) -> str | None:
    """The effect of a completed hook Job of this model (None: done, or not a modelled Job); else why it fails."""
    raw = ((job.get("metadata") or {}).get("annotations") or {}).get(EFFECT)
    if not raw:
        return None
    effect = json.loads(raw)
    return EFFECTS[effect["effect"]](client, effect)
