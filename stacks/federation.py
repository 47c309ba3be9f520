"""Federation stack (placeholder until the KubeFed issue lands)."""
from __future__ import annotations

from aws_cdk import Stack
from constructs import Construct

from federated_eks.config import FederationConfig


class FederationStack(Stack):
    def __init__(self, scope: Construct, id: str, *, config: FederationConfig, clusters: dict, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
