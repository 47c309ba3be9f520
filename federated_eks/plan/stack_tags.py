"""The tags every stack of the federation carries, and what they say about it.

Stack-level tags (CloudFormation `Tags` on CreateStack/UpdateStack, from the cloud assembly's manifest; cdk.json sets
`@aws-cdk/core:explicitStackTags`, so they are set on each stack, not inherited from `Tags.of(app)`). They let
`make prune` find the stacks of an environment in any region by what they are, not by name matching, and let the
orphan warning and the pipeline's tests tell environments apart. CloudFormation copies stack tags to the resources
that support tags, so every EKS cluster, NAT gateway and VPC also says which app and environment own it.

Stack tags are not in the templates, though: the one tag that access depends on, ENVIRONMENT_TAG on each EKS cluster
(the Kubernetes-facing functions may describe only clusters carrying their environment's, components/kube_access), is
also set on the AWS::EKS::Cluster resource itself (stacks/cluster.py), where the templates, the rehearsal and the
tests see it.
"""
from __future__ import annotations

from federated_eks.plan import topology
from federated_eks.model.federation import FederationConfig

APP = "federated-eks"

APP_TAG = "fedeks:app"
ENVIRONMENT_TAG = "fedeks:environment"
KIND_TAG = "fedeks:kind"
CLUSTER_TAG = "fedeks:cluster"  # on cluster stacks: the cluster's config name
HOST_TAG = "fedeks:host-cluster"  # on the federation stack: the cluster KubeFed's control plane runs on
# What a deployed federation stack holds per engine (model.federation.ENGINES): its join resource type, one per
# joined cluster, and the start of the join's physical id, which ends with the member's name. The constructs and
# Lambdas define them (components/kubefed_join/contract.py JOIN_TYPE, runtime/properties.py
# `kubefed-join/<namespace>/<host>/<member>`; components/karmada_join/contract.py JOIN_TYPE, runtime/properties.py
# `karmada-join/<host>/<member>`), which this layer may not import: tests/test_prune.py checks these against them.
ENGINE_JOINS = {"kubefed": ("Custom::KubefedJoin", "kubefed-join/"),
                "karmada": ("Custom::KarmadaJoin", "karmada-join/")}
TAG_PREFIX = "fedeks:"  # every tag above; the config refuses user tags with it
MAX_STACK_TAGS = 4  # the most a stack gets (app, environment, kind, and cluster or host)

# Stack kinds, in the order a teardown removes them: the reverse of the deploy order in app.py.
DELETE_ORDER = (topology.WORKLOADS_STACK, topology.FEDERATION_STACK, topology.TGW_PEER_ROUTES_STACK,
                topology.TGW_PEERING_STACK, topology.PEER_ROUTES_STACK, topology.PEERING_STACK, topology.TRANSIT_GATEWAY_STACK,
                topology.CLUSTER_STACK, topology.BASTION_STACK, topology.ACCESS_STACK)


def stack_tags(cfg: FederationConfig, kind: str, qualifier: str = "") -> dict[str, str]:
    """The tags of the stack of `kind` (one of DELETE_ORDER) and `qualifier` (a cluster name or region)."""
    if kind not in DELETE_ORDER:
        raise ValueError(f"unknown stack kind {kind!r}")
    tags = {APP_TAG: APP, ENVIRONMENT_TAG: cfg.env_name, KIND_TAG: kind}
    if kind == topology.CLUSTER_STACK:
        tags[CLUSTER_TAG] = qualifier
    if kind == topology.FEDERATION_STACK:
        tags[HOST_TAG] = cfg.host_cluster
    return tags
