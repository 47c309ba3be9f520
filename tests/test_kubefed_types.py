"""Federated types as code: the CRDs and FederatedTypeConfigs generated in Python, the `kubefed.federatedTypes`
config, and how the three releases appear in the federation stack."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from components import kubefed_crds
from components.kubefed_control_plane import generated_files
from fedtest import environment, resources, synth, templates
from federated_eks.config.reader import ConfigError, load_environment
from federated_eks.model.federation import DEFAULT_FEDERATED_TYPES, FederatedType, KubefedConfig

P = "environments.t.kubefed"
PROMETHEUS = {"group": "monitoring.coreos.com", "version": "v1", "kind": "Prometheus", "plural": "prometheuses",
              "scope": "Namespaced"}


def kubefed(**fields) -> KubefedConfig:
    return load_environment({"t": environment(kubefed=fields)}, "t").kubefed


def problems(**fields) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load_environment({"t": environment(kubefed=fields)}, "t")
    return err.value.problems


# --- kubefedctl enable, for a custom type -------------------------------------------------------------------

def test_prometheus_crd_and_type_config_are_what_kubefedctl_enable_makes():
    """`kubefedctl enable prometheuses.monitoring.coreos.com` (KubeFed v0.10.0, pkg/kubefedctl/enable) on a
    cluster whose Prometheus CRD has an int32 `spec.replicas` and the short name `prom`:
    - CrdForAPIResource: name federatedprometheuses.types.kubefed.io, group types.kubefed.io, names kind
      FederatedPrometheus / plural federatedprometheuses / shortNames f<short>, scope from the target, one
      version v1beta1 served and stored with the status subresource;
    - ValidationSchema: apiVersion, kind (strings), metadata (object), spec, status {conditions [type, status
      required; reason; lastUpdateTime and lastTransitionTime date-time], clusters [name required; status;
      remoteStatus object preserving unknown fields], observedGeneration int64}; `spec` required;
    - federatedTypeValidationSchema: spec.placement {clusters [name required], clusterSelector
      {matchExpressions [key, operator required; values strings], matchLabels string map}}, spec.overrides
      [clusterName, clusterOverrides [op matching ^(add|remove|replace)?$, path required, value any]],
      spec.template object preserving unknown fields, and spec.retainReplicas boolean because the target's
      spec.replicas is integer/int32;
    - GenerateTypeConfigForTarget: FederatedTypeConfig named prometheuses.monitoring.coreos.com, propagation
      Enabled, targetType {group, version, kind, pluralName, scope}, federatedType {group types.kubefed.io,
      version v1beta1, kind FederatedPrometheus, pluralName federatedprometheuses, scope Namespaced}."""
    prom = kubefed(federatedTypes=[{**PROMETHEUS, "hasReplicas": True, "shortNames": ["prom"]}]).federated_types[-1]
    string, time = {"type": "string"}, {"type": "string", "format": "date-time"}
    expected_schema = {
        "type": "object",
        "required": ["spec"],
        "properties": {
            "apiVersion": string, "kind": string, "metadata": {"type": "object"},
            "spec": {"type": "object", "properties": {
                "placement": {"type": "object", "properties": {
                    "clusters": {"type": "array", "items": {"type": "object", "required": ["name"],
                                                            "properties": {"name": string}}},
                    "clusterSelector": {"type": "object", "properties": {
                        "matchExpressions": {"type": "array", "items": {
                            "type": "object", "required": ["key", "operator"],
                            "properties": {"key": string, "operator": string,
                                           "values": {"type": "array", "items": string}}}},
                        "matchLabels": {"type": "object", "additionalProperties": string}}}}},
                "overrides": {"type": "array", "items": {"type": "object", "properties": {
                    "clusterName": string,
                    "clusterOverrides": {"type": "array", "items": {
                        "type": "object", "required": ["path"],
                        "properties": {"op": {"type": "string", "pattern": "^(add|remove|replace)?$"},
                                       "path": string,
                                       "value": {"x-kubernetes-preserve-unknown-fields": True}}}}}}},
                "template": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "retainReplicas": {"type": "boolean"}}},
            "status": {"type": "object", "properties": {
                "conditions": {"type": "array", "items": {
                    "type": "object", "required": ["type", "status"],
                    "properties": {"type": string, "status": string, "reason": string, "lastUpdateTime": time,
                                   "lastTransitionTime": time}}},
                "clusters": {"type": "array", "items": {
                    "type": "object", "required": ["name"],
                    "properties": {"name": string, "status": string,
                                   "remoteStatus": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}},
                "observedGeneration": {"type": "integer", "format": "int64"}}}}}
    assert kubefed_crds.federated_type_crd(prom) == {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        # The one addition: Helm keeps the CRD when the type is dropped (as `kubefedctl disable` does).
        "metadata": {"name": "federatedprometheuses.types.kubefed.io",
                     "annotations": {"helm.sh/resource-policy": "keep"}},
        "spec": {"group": "types.kubefed.io",
                 "names": {"kind": "FederatedPrometheus", "plural": "federatedprometheuses", "shortNames": ["fprom"]},
                 "scope": "Namespaced",
                 "versions": [{"name": "v1beta1", "served": True, "storage": True, "subresources": {"status": {}},
                               "schema": {"openAPIV3Schema": expected_schema}}]}}
    assert kubefed_crds.type_config(prom, "kube-federation-system") == {
        "apiVersion": "core.kubefed.io/v1beta1", "kind": "FederatedTypeConfig",
        "metadata": {"name": "prometheuses.monitoring.coreos.com", "namespace": "kube-federation-system"},
        "spec": {"propagation": "Enabled",
                 "targetType": {"group": "monitoring.coreos.com", "version": "v1", "kind": "Prometheus",
                                "pluralName": "prometheuses", "scope": "Namespaced"},
                 "federatedType": {"group": "types.kubefed.io", "version": "v1beta1", "kind": "FederatedPrometheus",
                                   "pluralName": "federatedprometheuses", "scope": "Namespaced"}}}


def test_without_replicas_there_is_no_retain_replicas_and_a_federated_group_is_honoured():
    t = kubefed(federatedTypes=[{**PROMETHEUS, "federatedGroup": "fed.example.com"}]).federated_types[-1]
    crd = kubefed_crds.federated_type_crd(t)
    assert crd["metadata"]["name"] == "federatedprometheuses.fed.example.com"
    assert "retainReplicas" not in crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"][
        "properties"]
    assert kubefed_crds.type_config(t, "ns")["spec"]["federatedType"]["group"] == "fed.example.com"


# --- the default types and the core CRDs --------------------------------------------------------------------

def test_default_types_are_the_ten_of_kubefed_0_10_0():
    ftcs = {t.name: kubefed_crds.type_config(t, "kube-federation-system")["spec"] for t in DEFAULT_FEDERATED_TYPES}
    assert sorted(ftcs) == ["clusterroles.rbac.authorization.k8s.io", "configmaps", "deployments.apps",
                            "ingresses.networking.k8s.io", "jobs.batch", "namespaces", "replicasets.apps", "secrets",
                            "serviceaccounts", "services"]
    # The core group has no `group` field; FederatedNamespace is namespaced although Namespace is not.
    assert ftcs["namespaces"]["targetType"] == {"kind": "Namespace", "pluralName": "namespaces", "scope": "Cluster",
                                                "version": "v1"}
    assert ftcs["namespaces"]["federatedType"]["scope"] == "Namespaced"
    assert ftcs["clusterroles.rbac.authorization.k8s.io"]["federatedType"]["scope"] == "Cluster"
    replicas = {t.name for t in DEFAULT_FEDERATED_TYPES
                if "retainReplicas" in kubefed_crds.federated_type_crd(t)["spec"]["versions"][0]["schema"][
                    "openAPIV3Schema"]["properties"]["spec"]["properties"]}
    assert replicas == {"deployments.apps", "replicasets.apps"}
    shorts = {kubefed_crds.federated_type_crd(t)["spec"]["names"].get("shortNames", [None])[0]
              for t in DEFAULT_FEDERATED_TYPES}
    assert shorts == {None, "fcm", "fdeploy", "fing", "fns", "frs", "fsa", "fsvc"}


def _schema(crd: dict) -> dict:
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def test_the_seventeen_crds_and_the_core_schema_facts_the_controller_relies_on():
    crds = {c["metadata"]["name"]: c for c in kubefed_crds.all_crds(DEFAULT_FEDERATED_TYPES)}
    assert len(crds) == 17
    core = {n for n in crds if not n.endswith(".types.kubefed.io")}
    assert core == {"kubefedclusters.core.kubefed.io", "kubefedconfigs.core.kubefed.io",
                    "federatedtypeconfigs.core.kubefed.io", "propagatedversions.core.kubefed.io",
                    "clusterpropagatedversions.core.kubefed.io", "federatedservicestatuses.core.kubefed.io",
                    "replicaschedulingpreferences.scheduling.kubefed.io"}
    # KubeFed v0.10.0 API types (pkg/apis/core/v1beta1 and friends), as the published CRDs serialise them.
    kfc = _schema(crds["kubefedclusters.core.kubefed.io"])
    assert kfc["properties"]["spec"]["required"] == ["apiEndpoint", "secretRef"]
    assert kfc["properties"]["spec"]["properties"]["caBundle"] == {"type": "string", "format": "byte"}
    assert kfc["properties"]["status"]["required"] == ["conditions"]
    assert kfc["properties"]["status"]["properties"]["conditions"]["items"]["required"] == [
        "lastProbeTime", "status", "type"]
    cfg = _schema(crds["kubefedconfigs.core.kubefed.io"])["properties"]["spec"]
    assert cfg["required"] == ["scope"]
    assert sorted(cfg["properties"]) == ["clusterHealthCheck", "controllerDuration", "featureGates", "leaderElect",
                                         "scope", "statusController", "syncController"]
    assert cfg["properties"]["clusterHealthCheck"]["properties"]["failureThreshold"] == {
        "type": "integer", "format": "int64"}
    ftc = _schema(crds["federatedtypeconfigs.core.kubefed.io"])
    assert ftc["properties"]["spec"]["required"] == ["federatedType", "propagation", "targetType"]
    assert ftc["properties"]["spec"]["properties"]["statusType"]["required"] == ["kind", "pluralName", "scope",
                                                                                "version"]
    assert ftc["properties"]["status"]["required"] == ["observedGeneration", "propagationController"]
    rsp = _schema(crds["replicaschedulingpreferences.scheduling.kubefed.io"])["properties"]["spec"]
    assert rsp["required"] == ["targetKind", "totalReplicas"]
    assert rsp["properties"]["totalReplicas"] == {"type": "integer", "format": "int32"}
    assert sorted(rsp["properties"]["clusters"]["additionalProperties"]["properties"]) == [
        "maxReplicas", "minReplicas", "weight"]
    assert crds["clusterpropagatedversions.core.kubefed.io"]["spec"]["scope"] == "Cluster"
    fss = _schema(crds["federatedservicestatuses.core.kubefed.io"])["properties"]
    assert fss["clusterStatus"]["items"]["required"] == ["clusterName", "status"]
    kubefed_printer = crds["kubefedclusters.core.kubefed.io"]["spec"]["versions"][0]["additionalPrinterColumns"]
    assert [c["name"] for c in kubefed_printer] == ["age", "ready", "kubernetes-version"]
    # Core CRDs go with the release; federated ones are kept when a type is dropped.
    assert all("annotations" not in crds[n]["metadata"] for n in core)
    assert all(crds[n]["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"} for n in set(crds) - core)


def test_dropping_a_type_removes_its_type_config_but_keeps_its_crd():
    """`kubefedctl disable` stops propagation and deletes the FederatedTypeConfig; the CRD goes only with
    --delete-crd. Here the FederatedTypeConfig leaves the release (Helm deletes it, the running controller
    removes its finalizer), and the CRD, marked keep, stays with the federated objects in it: nothing waits on
    the sync controller's finalizers of those objects."""
    kept = [t for t in DEFAULT_FEDERATED_TYPES if t.name != "jobs.batch"]
    text = generated_files(KubefedConfig(federated_types=tuple(kept)))["files/federated-types.yaml"]
    objs = [json.loads(d) for d in text.split("\n---\n")]
    assert "jobs.batch" not in {o["metadata"]["name"] for o in objs if o["kind"] == "FederatedTypeConfig"}
    assert len(objs) == 18
    empty = generated_files(KubefedConfig(federated_types=()))["files/federated-types.yaml"]
    assert "kind" not in empty


# --- config -------------------------------------------------------------------------------------------------

def test_federated_types_adds_to_the_default_types():
    # Issue 15: the list used to replace the defaults, so with workloads the FederatedDeployment, FederatedService
    # and FederatedNamespace CRDs were not installed while the stack still applied those kinds.
    types = kubefed(federatedTypes=[PROMETHEUS]).federated_types
    assert types == (*DEFAULT_FEDERATED_TYPES, FederatedType("monitoring.coreos.com", "v1", "Prometheus",
                                                              "prometheuses", "Namespaced"))
    assert kubefed().federated_types == DEFAULT_FEDERATED_TYPES
    assert kubefed(federatedTypes=[]).federated_types == DEFAULT_FEDERATED_TYPES


def test_disabled_types_disable_default_types_by_name():
    types = kubefed(federatedTypes=[PROMETHEUS], disabledTypes=["jobs.batch", "ingresses.networking.k8s.io"])
    assert [t.name for t in types.federated_types] == [
        t.name for t in DEFAULT_FEDERATED_TYPES if t.name not in ("jobs.batch", "ingresses.networking.k8s.io")
    ] + ["prometheuses.monitoring.coreos.com"]
    everything = [t.name for t in DEFAULT_FEDERATED_TYPES]
    assert kubefed(disabledTypes=everything).federated_types == ()
    assert problems(disabledTypes=["cronjobs.batch", "jobs.batch", "jobs.batch"]) == [
        f"{P}.disabledTypes[0]: 'cronjobs.batch' is not a default federated type. Fix: use one of: "
        "clusterroles.rbac.authorization.k8s.io, configmaps, deployments.apps, ingresses.networking.k8s.io, "
        "jobs.batch, namespaces, replicasets.apps, secrets, serviceaccounts, services",
        f"{P}.disabledTypes[2]: 'jobs.batch' is listed twice. Fix: list each type once"]


@pytest.mark.parametrize("disabled, added, others", [
    (["namespaces"], [], "9 other types are enabled (clusterroles.rbac.authorization.k8s.io, configmaps, "
                         "deployments.apps, ...)"),
    ([t.name for t in DEFAULT_FEDERATED_TYPES], [PROMETHEUS],
     "1 other types are enabled (prometheuses.monitoring.coreos.com)"),
    ([t.name for t in DEFAULT_FEDERATED_TYPES if t.name != "clusterroles.rbac.authorization.k8s.io"], [],
     "1 other types are enabled (clusterroles.rbac.authorization.k8s.io)"),
])
def test_namespaces_cannot_be_disabled_while_another_type_is_enabled(disabled, added, others):
    # KubeFed v0.10.0 starts no sync controller, for any type, without the namespaces FederatedTypeConfig.
    assert problems(disabledTypes=disabled, federatedTypes=added) == [
        f"{P}.disabledTypes: disables 'namespaces' while {others}; KubeFed starts no sync controller for any type "
        "without the namespaces type. Fix: remove 'namespaces' from disabledTypes"]


def test_a_workload_or_folder_object_of_a_disabled_type_is_a_config_error(tmp_path):
    workload = {"name": "web", "namespace": "web", "image": "nginx:1.29.3", "containerPort": 80,
                "service": {"port": 80}}
    with pytest.raises(ConfigError) as err:
        load_environment({"t": environment(kubefed={"disabledTypes": ["services", "jobs.batch"]},
                                           workloads=[workload])}, "t")
    assert err.value.problems == [
        "environments.t.workloads[0]: renders a FederatedService, which is the federated type of 'services', which "
        "kubefed.disabledTypes disables (its CRD and FederatedTypeConfig are not installed). Fix: remove "
        "'services' from kubefed.disabledTypes"]
    import app as federation_app

    (tmp_path / "a.yaml").write_text(
        "apiVersion: types.kubefed.io/v1beta1\nkind: FederatedNamespace\nmetadata: {name: x, namespace: x}\n"
        "spec: {placement: {clusterSelector: {}}}\n---\n"
        "apiVersion: types.kubefed.io/v1beta1\nkind: FederatedJob\nmetadata: {name: j, namespace: x}\n"
        "spec: {placement: {clusterSelector: {}}, template: {}}\n")
    config = load_environment({"t": environment(kubefed={"disabledTypes": ["jobs.batch"]},
                                                workloads=[{"manifests": str(tmp_path)}])}, "t")
    with pytest.raises(ConfigError) as err:
        federation_app.check_manifest_folders(config)
    assert err.value.problems == [
        f"environments.t.workloads[0].manifests: {tmp_path}/a.yaml: FederatedJob x/j: FederatedJob is the "
        "federated type of 'jobs.batch', which kubefed.disabledTypes disables (its CRD and FederatedTypeConfig "
        "are not installed). Fix: remove 'jobs.batch' from kubefed.disabledTypes"]


@pytest.mark.parametrize("entry, message", [
    ("cronjobs.batch", f"{P}.federatedTypes[0]: 'cronjobs.batch' is not a federated type. Fix: describe the type "
                       "to add as an object {\"group\", \"version\", \"kind\", \"plural\", \"scope\"}"),
    ("jobs.batch", f"{P}.federatedTypes[0]: 'jobs.batch' is a default federated type, enabled already "
                   "(federatedTypes adds types to the 10 defaults). Fix: remove it from federatedTypes (to disable "
                   "a default type, list it in kubefed.disabledTypes)"),
    ({**PROMETHEUS, "group": "Monitoring_CoreOS"},
     f"{P}.federatedTypes[0].group: 'Monitoring_CoreOS' is not a DNS subdomain. Fix: write it like "
     "\"monitoring.coreos.com\""),
    ({**PROMETHEUS, "scope": "Global"},
     f"{P}.federatedTypes[0].scope: 'Global' is not allowed. Fix: use one of: Cluster, Namespaced"),
    ({**PROMETHEUS, "kind": "prometheus"},
     f"{P}.federatedTypes[0].kind: 'prometheus' is not a Kind. Fix: use CamelCase letters and digits, like "
     "\"Prometheus\""),
    ({**PROMETHEUS, "plural": "Prometheuses"},
     f"{P}.federatedTypes[0].plural: 'Prometheuses' is not a lowercase resource name of at most 54 characters. "
     "Fix: use the plural the target's API serves (kubectl api-resources), like \"prometheuses\""),
    ({**PROMETHEUS, "version": "1"},
     f"{P}.federatedTypes[0].version: '1' is not an API version. Fix: write it like \"v1\" or \"v1beta1\""),
    ({**PROMETHEUS, "federatedGroup": "types"},
     f"{P}.federatedTypes[0].federatedGroup: 'types' is not a DNS subdomain with a dot (CRD groups need one). "
     "Fix: write it like \"types.kubefed.io\""),
    ({k: v for k, v in PROMETHEUS.items() if k != "plural"},
     f"{P}.federatedTypes[0].plural: is required. Fix: set it, e.g. \"prometheuses\""),
    ({**PROMETHEUS, "replicas": True},
     f"{P}.federatedTypes[0].replicas: unknown field. Fix: remove it or use one of: group, version, kind, plural, "
     "scope, federatedGroup, hasReplicas, shortNames"),
])
def test_a_bad_federated_type_gets_one_clear_message(entry, message):
    assert problems(federatedTypes=[entry]) == [message]


def test_duplicate_federated_types_are_refused():
    assert problems(federatedTypes=[PROMETHEUS, {**PROMETHEUS, "hasReplicas": True}]) == [
        f"{P}.federatedTypes[1]: duplicate federated type 'prometheuses.monitoring.coreos.com' (also "
        f"{P}.federatedTypes[0]). Fix: list each type once; the default types are enabled without listing them"]
    assert problems(federatedTypes=[{"version": "v1", "kind": "ConfigMap", "plural": "configmaps",
                                     "scope": "Namespaced"}]) == [
        f"{P}.federatedTypes[0]: duplicate federated type 'configmaps' (also a default type). "
        "Fix: list each type once; the default types are enabled without listing them"]
    assert problems(federatedTypes=[{**PROMETHEUS, "group": "example.com", "plural": "deployments"}]) == [
        f"{P}.federatedTypes[0]: its federated type 'federateddeployments.types.kubefed.io' is also made by a "
        "default type. Fix: give it another federatedGroup"]
    assert problems(federatedTypes="deployments.apps")[0].startswith(f"{P}.federatedTypes: must be a list")


@pytest.mark.parametrize("field, replacement", [
    ("chart", "the KubeFed chart now ships inside this project"),
    ("postInstallImage", "the chart has no post-install job any more"),
    ("values", "the chart is this project's own; its settings are config fields"),
])
def test_fields_that_lost_their_meaning_say_what_replaced_them(field, replacement):
    (found,) = problems(**{field: {}})
    assert found.startswith(f"{P}.{field}: is no longer used. Fix: {replacement}")


# --- the stack ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def synthesized():
    return synth(environment(kubefed={"federatedTypes": [PROMETHEUS], "disabledTypes": ["jobs.batch"]}))


@pytest.fixture(scope="module")
def federation(synthesized):
    return templates(synthesized[0])["fedeks-test-federation"]


def test_three_releases_from_one_local_chart_asset_each_waiting_for_the_last(federation):
    charts = resources(federation, "Custom::AWSCDK-EKS-HelmChart")
    by_release = {c["Properties"]["Release"]: (cid, c) for cid, c in charts.items()}
    assert set(by_release) == {"kubefed", "kubefed-types", "kubefed-controller"}
    urls = set()
    for release, phase, after in (("kubefed", "controlPlane", None), ("kubefed-types", "types", "kubefed"),
                                  ("kubefed-controller", "controller", "kubefed-types")):
        cid, chart = by_release[release]
        props = chart["Properties"]
        # A local asset: nothing fetched at deploy time (no repository, chart name or version).
        assert not {"Repository", "Chart", "Version"} & set(props)
        urls.add(json.dumps(props["ChartAssetURL"]))
        assert props["Wait"] is True and props["Atomic"] is True and props["Timeout"] == "600s"
        assert props["Namespace"] == "kube-federation-system" and props["CreateNamespace"] is True
        values = json.loads(props["Values"]) if isinstance(props["Values"], str) else props["Values"]
        assert values == {"phase": phase, "scope": "Cluster",
                          "controllerImage": "quay.io/kubernetes-multicluster/kubefed:v0.10.0",
                          "webhookImage": "quay.io/kubernetes-multicluster/kubefed:v0.10.0",
                          "nodeArchitecture": "amd64"}
        if after:
            assert by_release[after][0] in chart["DependsOn"]
    assert len(urls) == 1  # one asset, three releases
    # Release `kubefed` keeps the construct path (so the logical id) of the one chart of earlier versions, so
    # that an update upgrades it in place rather than installing it anew and then uninstalling it.
    assert by_release["kubefed"][1]["Metadata"]["aws:cdk:path"].startswith(
        "fedeks-test-federation/KubefedControlPlane/Chart/")


def test_the_configured_types_reach_the_staged_chart_asset(synthesized):
    _, assembly = synthesized
    staged = [p for p in Path(assembly.directory).glob("asset.*/files/federated-types.yaml")]
    assert len(staged) == 1
    names = {json.loads(d)["metadata"]["name"] for d in staged[0].read_text().split("\n---\n")}
    enabled = [t for t in DEFAULT_FEDERATED_TYPES if t.name != "jobs.batch"]
    assert names == {"federatedprometheuses.types.kubefed.io", "prometheuses.monitoring.coreos.com",
                     *(t.name for t in enabled), *(f"federated{t.plural}.{t.federated_group}" for t in enabled)}
    assert (staged[0].parent.parent / "Chart.yaml").is_file()  # the zip's root is the chart
