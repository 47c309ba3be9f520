"""What the join construct writes and the join Lambda reads: one definition on each side of the deploy boundary.

A leaf module (the standard library and the shared components/kube_access/contract.py): the construct
(components/kubefed_join/kubefed_join.py), the runtime (components/kubefed_join/runtime/) and the model
(federated_eks/model/federation.py, for the name limit) import it, and it is packaged into the Lambda with the
runtime. The Lambda still re-validates everything it receives.
"""
from __future__ import annotations

# What every Kubernetes-facing function shares, defined there once (the join's names for it stay valid here).
from components.kube_access.contract import (  # noqa: F401 (re-exported)
    CA_DATA, CLUSTER_KEYS, CLOUDFORMATION_SECONDS, DEFAULT_TIMEOUT_SECONDS, EKS_CLUSTER_NAME,
    EKS_NAME_PREFIX, EKS_NAME_PREFIX_ENV, ENDPOINT, ENVIRONMENT_ENV, ENVIRONMENT_TAG, FUNCTION_SECONDS,
    GIVE_UP_SECONDS, HOST, LABEL_PATTERN, LEFT_BEHIND_ATTRIBUTE, MEMBERS, MEMBERS_CONFIGMAP, LEFT_BEHIND_MARKER,
    MANAGED_BY_LABEL, MANAGED_BY_VALUE,
    MAX_LABEL_LENGTH, MAX_TIMEOUT_SECONDS, MIN_TIMEOUT_SECONDS, NAME, NAMESPACE,
    NOT_VERIFIED_ATTRIBUTE, POLL_SECONDS, REGION, REGION_PATTERN, RELEASE_SECONDS, TIMEOUT_SECONDS, UNJOIN_SECONDS,
    Deadlines, describe_policy_condition, describe_policy_resource, owned, parse_timeout)

# CloudFormation resource types of the custom resources the Provider serves.
JOIN_TYPE = "Custom::KubefedJoin"
TEARDOWN_TYPE = "Custom::KubefedTeardown"
# The workload waiter's resources made before it had a Provider of its own still name this one as their service
# token: their deletes come here (runtime/handler.py passes them to components/workload_waiter/).
LEGACY_WORKLOAD_TYPE = "Custom::FederatedWorkload"

# Property keys of a join (`Custom::KubefedJoin`) and a teardown (`Custom::KubefedTeardown`).
MEMBER = "Member"
SCOPE = "Scope"
LABELS = "Labels"
# Attributes a completed resource returns (Fn::GetAtt).
KUBEFED_CLUSTER_ATTRIBUTE = "KubeFedCluster"
# A namespace the join made carries this annotation: only then does the unjoin delete it.
OWNED_NAMESPACE_ANNOTATION = "federated-eks/created-by"
JOIN_ANNOTATION = "federated-eks/join"
# On the join's objects once it is Ready: a digest of the properties it was Ready with. An update that cannot reach a
# cluster completes when it asks for exactly that state (a rollback), instead of failing the rollback as well.
READY_ANNOTATION = "federated-eks/ready-properties"
# The teardown's MEMBERS: the clusters of the federation, recorded on the host in KubeFed's namespace
# (components/kube_access/membership.py).
