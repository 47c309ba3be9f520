"""The KubeFed control plane on the host cluster: this project's chart (components/kubefed_chart), installed
as three Helm releases of one local chart asset, each waiting for the one before it.

1. `kubefed` (phase controlPlane): the 7 core CRDs, RBAC, and the admission webhook (serving certificate,
   Service, Deployment, webhook configurations). Installed with `wait`: it completes only when the webhook
   Deployment is ready, and its readiness probe is the webhook's own HTTPS endpoint.
2. `kubefed-types` (phase types): the KubeFedConfig with its final settings, then per federated type its CRD
   and FederatedTypeConfig. Everything here passes the webhooks of release 1, which now serve.
3. `kubefed-controller` (phase controller): the controller manager, which reads the KubeFedConfig at start.

Why three: Helm 4 (the kubectl layers ship 4.1.4 and 4.2.3) creates a release's objects in one pass, webhook
configurations before kinds it does not know, and waits only afterwards. A FederatedTypeConfig or KubeFedConfig
in the webhook's release is sent to a webhook with no pod behind it and refused (failurePolicy Fail). And the
controller, started before the KubeFedConfig exists, creates a default one (KubeFed v0.10.0
cmd/controller-manager/app/controller-manager.go, setOptionsByKubeFedConfig), which release 2 could not then
create. The kubectl handler of aws-cdk-lib 2.275 (custom-resource-handlers aws-eks-v2 kubectl-handler/helm)
runs `helm upgrade <release> <chart> --install [--create-namespace] --values ... --namespace ... [--wait]
[--timeout ...] [--atomic]`, and CloudFormation creates a resource only after those it depends on succeeded.

The generated files (CRDs, KubeFedConfig, FederatedTypeConfigs) are written into a copy of the chart at synth,
so the asset hash, and with it the template, changes exactly when they do.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import Duration, aws_eks_v2 as eks, aws_s3_assets as s3_assets
from constructs import Construct

from components import kubefed_crds
from components.compliance import acknowledge
from federated_eks.model.federation import KUBEFED_NODE_ARCHITECTURE, KubefedConfig

CHART_SOURCE = Path(__file__).resolve().parent / "kubefed_chart"
# (release, phase), in install order; uninstall runs in the reverse order.
RELEASES = (("kubefed", "controlPlane"), ("kubefed-types", "types"), ("kubefed-controller", "controller"))
# Construct ids. Release `kubefed` keeps the id (so the logical id) of the single chart of earlier versions: a
# stack update then upgrades that release in place, where a new id would install it and then uninstall it
# again with the old resource's delete.
_CONSTRUCT_IDS = {"controlPlane": "Chart", "types": "TypesChart", "controller": "ControllerChart"}


def kubefed_config(cfg: KubefedConfig) -> dict[str, Any]:
    """The KubeFedConfig as the upstream chart left it after its post-install job: the chart's settings, and
    the feature gates the job patched in (RawResourceStatusCollection disabled). The controller reads it only
    at start; the Deployment restarts when it changes."""
    return {
        "apiVersion": "core.kubefed.io/v1beta1", "kind": "KubeFedConfig",
        "metadata": {"name": "kubefed", "namespace": cfg.namespace},
        "spec": {
            "scope": cfg.scope,
            "controllerDuration": {"availableDelay": "20s", "unavailableDelay": "60s", "cacheSyncTimeout": "5m"},
            "leaderElect": {"leaseDuration": "15s", "renewDeadline": "10s", "retryPeriod": "5s",
                            "resourceLock": "configmaps"},
            "clusterHealthCheck": {"period": "10s", "failureThreshold": 3, "successThreshold": 1, "timeout": "3s"},
            "syncController": {"maxConcurrentReconciles": 1, "adoptResources": "Enabled"},
            "statusController": {"maxConcurrentReconciles": 1},
            "featureGates": [{"name": "PushReconciler", "configuration": "Enabled"},
                             {"name": "RawResourceStatusCollection", "configuration": "Disabled"},
                             {"name": "SchedulerPreferences", "configuration": "Enabled"}],
        },
    }


def _documents(objects: list[dict[str, Any]]) -> str:
    # JSON is YAML; sorted keys make the asset (and so the template) identical from one synth to the next.
    return "\n---\n".join(json.dumps(o, sort_keys=True, indent=1) for o in objects) + "\n"


def generated_files(cfg: KubefedConfig) -> dict[str, str]:
    """The chart's generated files, by path inside the chart (pure)."""
    federation: list[dict[str, Any]] = []
    for t in cfg.federated_types:
        federation += [kubefed_crds.federated_type_crd(t), kubefed_crds.type_config(t, cfg.namespace)]
    return {
        "files/core-crds.yaml": _documents(kubefed_crds.core_crds()),
        "files/kubefedconfig.yaml": _documents([kubefed_config(cfg)]),
        "files/federated-types.yaml": _documents(federation) if federation else "# no federated types\n",
    }


def assemble_chart(cfg: KubefedConfig, parent: Path | None = None) -> Path:
    """The chart with its generated files, in `<parent>/<content hash>/` (made once per content; default
    parent: a folder under the system temp dir). Deterministic: same config, same folder, same bytes."""
    files = {str(p.relative_to(CHART_SOURCE)): p.read_text()
             for p in sorted(CHART_SOURCE.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}
    files.update(generated_files(cfg))
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]
    parent = parent or Path(tempfile.gettempdir()) / "fedeks-kubefed-chart"
    target = parent / digest
    if not target.is_dir():
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=parent, prefix=".staging-"))
        for rel, text in files.items():
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            (staging / rel).write_text(text)
        try:
            os.rename(staging, target)
        except OSError:  # another synth made the same folder first: identical content
            shutil.rmtree(staging, ignore_errors=True)
    return target


def release_values(cfg: KubefedConfig, phase: str) -> dict[str, Any]:
    return {"phase": phase, "scope": cfg.scope, "controllerImage": cfg.controller_image.uri,
            "webhookImage": cfg.webhook_image.uri, "nodeArchitecture": KUBEFED_NODE_ARCHITECTURE}


@dataclass(frozen=True)
class KubefedControlPlaneProps:
    cluster: eks.ICluster
    """The host cluster (it must have a kubectl provider)."""
    config: KubefedConfig


class KubefedControlPlane(Construct):
    """Attributes: `releases` (the three HelmChart resources, in install order) and `chart` (the last one: the
    controller; joins and the teardown depend on it, so they run against a complete control plane)."""

    def __init__(self, scope: Construct, id: str, props: KubefedControlPlaneProps) -> None:
        super().__init__(scope, id)
        cfg = props.config
        asset = s3_assets.Asset(self, "ChartAsset", path=str(assemble_chart(cfg)))
        provider = props.cluster.kubectl_provider
        if provider is not None:
            # HelmChart(chart_asset=...) grants the kubectl handler `asset.bucket.grantRead` (aws-cdk-lib
            # aws-eks-v2/lib/helm-chart.js): the handler copies the chart zip with `aws s3 cp`.
            acknowledge(provider, "The kubectl handler reads the KubeFed chart asset from the CDK bootstrap assets "
                        "bucket: aws-cdk-lib's grantRead gives read actions (GetObject*, GetBucket*, List*) on "
                        "that one bucket's objects, whose keys are content hashes known only at synth.",
                        "AwsSolutions-IAM5[Action::s3:GetObject*]", "AwsSolutions-IAM5[Action::s3:GetBucket*]",
                        "AwsSolutions-IAM5[Action::s3:List*]",
                        f"AwsSolutions-IAM5[Resource::arn:aws:s3:::{asset.s3_bucket_name}/*]")
        self.releases: list[eks.HelmChart] = []
        for release, phase in RELEASES:
            chart = eks.HelmChart(
                self, _CONSTRUCT_IDS[phase],
                cluster=props.cluster,
                chart_asset=asset,
                release=release,
                namespace=cfg.namespace,
                # `--create-namespace`: Helm stores the release record in the namespace before it creates
                # anything, so the namespace cannot be a template of the chart.
                create_namespace=True,
                values=release_values(cfg, phase),
                wait=True,
                # `--atomic`, deprecated in Helm 4 for --rollback-on-failure but still accepted: a failed first
                # install is uninstalled, so a retry starts clean.
                atomic=True,
                timeout=Duration.minutes(10),
            )
            if self.releases:
                chart.node.add_dependency(self.releases[-1])
            self.releases.append(chart)
        self.chart = self.releases[-1]
