"""The KubeFed control plane: the `kubefed` Helm chart on the host cluster.

Chart repository, version and every image come from the config so that users can mirror them. The
chart's post-install job defaults to `bitnami/kubectl:1.17.16`, a tag that no longer exists: it is
always overridden. Values given in `kubefed.values` are merged last, so they win.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration, aws_eks_v2 as eks
from constructs import Construct

from federated_eks.model import ImageRef, KubefedConfig

RELEASE = "kubefed"


def _image(ref: ImageRef) -> dict[str, str]:
    return {"repository": ref.repository, "image": ref.image, "tag": ref.tag}


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def chart_values(cfg: KubefedConfig) -> dict[str, Any]:
    """The chart values for a config (pure)."""
    ours = {
        "global": {"scope": cfg.scope},
        "controllermanager": {
            "controller": _image(cfg.controller_image),
            "webhook": _image(cfg.webhook_image),
            "postInstallJob": _image(cfg.post_install_image),
        },
    }
    return _merge(ours, cfg.values)


@dataclass(frozen=True)
class KubefedControlPlaneProps:
    cluster: eks.ICluster
    """The host cluster (it must have a kubectl provider)."""
    config: KubefedConfig


class KubefedControlPlane(Construct):
    """Attribute: `chart` (the HelmChart custom resource; joins must depend on it)."""

    def __init__(self, scope: Construct, id: str, props: KubefedControlPlaneProps) -> None:
        super().__init__(scope, id)
        cfg = props.config
        self.chart = eks.HelmChart(
            self, "Chart",
            cluster=props.cluster,
            chart=cfg.chart.name,
            repository=cfg.chart.repository,
            version=cfg.chart.version,
            release=RELEASE,
            namespace=cfg.namespace,
            create_namespace=True,
            values=chart_values(cfg),
            # Wait for the controller and webhook pods, so joins start against a serving control plane.
            wait=True,
            atomic=True,
            timeout=Duration.minutes(10),
        )
