"""What the join construct writes and the join Lambda reads: one definition on each side of the deploy boundary.

A leaf module (standard library only): the construct (components/kubefed_join/kubefed_join.py), the runtime
(components/kubefed_join/runtime/) and the model (federated_eks/model.py, for the name limit) import it, and it
is packaged into the Lambda with the runtime. The Lambda still re-validates everything it receives.
"""
from __future__ import annotations

# CloudFormation resource types of the two custom resources the Provider serves.
JOIN_TYPE = "Custom::KubefedJoin"
TEARDOWN_TYPE = "Custom::KubefedTeardown"

# Property keys of a join (`Custom::KubefedJoin`) and a teardown (`Custom::KubefedTeardown`).
MEMBER = "Member"
HOST = "Host"
NAMESPACE = "Namespace"
SCOPE = "Scope"
LABELS = "Labels"
TIMEOUT_SECONDS = "TimeoutSeconds"
# Keys of a cluster object (the value of Member and Host), in the order the construct writes them.
NAME = "Name"
EKS_CLUSTER_NAME = "EksClusterName"
REGION = "Region"
ENDPOINT = "Endpoint"
CA_DATA = "CaData"
CLUSTER_KEYS = (NAME, EKS_CLUSTER_NAME, REGION, ENDPOINT, CA_DATA)
# Attributes a completed resource returns (Fn::GetAtt).
KUBEFED_CLUSTER_ATTRIBUTE = "KubeFedCluster"
LEFT_BEHIND_ATTRIBUTE = "LeftBehind"

# A cluster's name in the federation: a lowercase RFC 1123 label, at most this long (`<member>-<host>` becomes a
# Kubernetes object name of at most 63 characters: two names of 30 and a dash fit).
MAX_NAME_LENGTH = 30
LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"

# The functions' environment: the clusters they serve (runtime/allowed_clusters.py reads them).
CLUSTERS_ENV = "KUBEFED_JOIN_CLUSTERS"
