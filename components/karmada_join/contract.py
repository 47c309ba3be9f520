"""What the Karmada engine's constructs write and its join Lambda reads: one definition on each side of the deploy
boundary, shared with the control plane's chart values (the kcp half) so that both name the same release, Secret and
port.

A leaf module: the standard library, the shared components/kube_access/contract.py and the KubeFed join's contract
(leaves too, packaged beside it), whose cluster property keys, allowed-clusters environment, ownership label,
left-behind marker, member record and time budget (Deadlines) the Karmada join reuses rather than defining a second
copy.

Facts from karmada-io/karmada v1.19.0-rc.0 (the newest tag in the mirror; the chart did not change these for v1.19.0):
- charts/karmada/templates/_helpers.tpl: `karmada.name` is the release name and `karmada.namespace` the RELEASE
  namespace; karmada-apiserver.yaml: Service `<release>-apiserver` in that namespace, port 5443, `nodePort` rendered
  when `apiServer.serviceType: NodePort` and `apiServer.nodePort` is set;
- pre-install-job.yaml: Secret `<release>-kubeconfig` (key `kubeconfig`) in the release namespace, server
  `https://<release>-apiserver.<release namespace>.svc.<clusterDomain>:5443`, client certificate auth;
- values.yaml `certs.auto.hosts`: `*.<release namespace>.svc.<clusterDomain>` among the certificate's names, so the
  in-cluster Service name verifies (APISERVER_TLS_NAME); no node address is named.
So the Service and the kubeconfig live in RELEASE_NAMESPACE (`karmada-installer`), not in SYSTEM_NAMESPACE.
"""
from __future__ import annotations

from components.kube_access import contract as access
from components.kubefed_join import contract as kubefed

# --- The control plane (the chart release both halves agree on) ------------------------------------------------
RELEASE_NAME = "karmada"
RELEASE_NAMESPACE = "karmada-installer"
"""Not SYSTEM_NAMESPACE: the chart's post-delete Job deletes that namespace (and would delete itself with it)."""
SYSTEM_NAMESPACE = "karmada-system"
CLUSTER_DOMAIN = "cluster.local"
APISERVER_SERVICE = f"{RELEASE_NAME}-apiserver"
APISERVER_PORT = 5443
DEFAULT_APISERVER_NODE_PORT = 32443
"""config `karmada.apiServerNodePort`'s default; the Service's fixed nodePort (Kubernetes' range 30000-32767)."""
MIN_NODE_PORT, MAX_NODE_PORT = 30000, 32767
APISERVER_TLS_NAME = f"{APISERVER_SERVICE}.{RELEASE_NAMESPACE}.svc.{CLUSTER_DOMAIN}"
"""The name the Lambda verifies karmada-apiserver's certificate against (it connects to a node's address)."""
KUBECONFIG_SECRET = f"{RELEASE_NAME}-kubeconfig"
KUBECONFIG_NAMESPACE = RELEASE_NAMESPACE
KUBECONFIG_KEY = "kubeconfig"

# --- Custom resource types and properties -----------------------------------------------------------------------
JOIN_TYPE = "Custom::KarmadaJoin"
OBJECTS_TYPE = "Custom::KarmadaObjects"
MEMBERS_TYPE = "Custom::KarmadaMembers"
"""The federation's clusters (MEMBERS), recorded on the host beside the kubeconfig Secret (MEMBERS_NAMESPACE) by a
resource every join depends on: an unjoin of a cluster it no longer lists is of a cluster removed from the config
(components/kube_access/membership.py)."""
MEMBERS, MEMBERS_CONFIGMAP = kubefed.MEMBERS, kubefed.MEMBERS_CONFIGMAP
MEMBERS_NAMESPACE = RELEASE_NAMESPACE
# A cluster property (Member, Host) has the KubeFed join's keys: Name, EksClusterName, Region, Endpoint, CaData.
MEMBER, HOST = kubefed.MEMBER, kubefed.HOST
NAME, EKS_CLUSTER_NAME, REGION, ENDPOINT, CA_DATA = (kubefed.NAME, kubefed.EKS_CLUSTER_NAME, kubefed.REGION,
                                                     kubefed.ENDPOINT, kubefed.CA_DATA)
CLUSTER_KEYS = kubefed.CLUSTER_KEYS
API_SERVER_NODE_PORT = "ApiServerNodePort"
TIMEOUT_SECONDS = kubefed.TIMEOUT_SECONDS
# Custom::KarmadaObjects: OWNER names the resource that owns the objects (written on each); OBJECTS is a JSON string
# (a list of Kubernetes objects), because CloudFormation turns every scalar of a nested property into a string.
OWNER = "Owner"
OBJECTS = "Objects"
# Attributes
CLUSTER_ATTRIBUTE = "KarmadaCluster"
CLUSTER_ID_ATTRIBUTE = "ClusterId"
LEFT_BEHIND_ATTRIBUTE = kubefed.LEFT_BEHIND_ATTRIBUTE
NOT_VERIFIED_ATTRIBUTE = kubefed.NOT_VERIFIED_ATTRIBUTE
READY_CLUSTERS_ATTRIBUTE = "ReadyClusters"

# --- Ownership ----------------------------------------------------------------------------------------------------
MANAGED_BY_LABEL, MANAGED_BY_VALUE = kubefed.MANAGED_BY_LABEL, kubefed.MANAGED_BY_VALUE
owned = kubefed.owned
JOIN_ANNOTATION = "federated-eks/karmada-join"
"""On every object a join makes: the member it joined (an unjoin deletes only its own)."""
OWNER_ANNOTATION = "federated-eks/karmada-owner"
"""On every object Custom::KarmadaObjects applies: its OWNER (a delete removes only objects it owns)."""
READY_ANNOTATION = "federated-eks/ready-properties"
LEFT_BEHIND_MARKER = kubefed.LEFT_BEHIND_MARKER

# --- What a push-mode join makes (karmadactl join, v1.19.0-rc.0 pkg/karmadactl/join, pkg/util/cluster.go) ---------
MEMBER_NAMESPACE = "karmada-cluster"
"""On the member and on karmada-apiserver (the Cluster's Secrets)."""
IMPERSONATOR_SERVICE_ACCOUNT = "karmada-impersonator"
EXECUTION_NAMESPACE_PREFIX = "karmada-es-"
WORK_FINALIZER = "karmada.io/execution-controller"
"""pkg/util/constants.go ExecutionControllerFinalizer: on Works, removed by the execution controller."""
BINDING_ID_LABEL = "resourcebinding.karmada.io/permanent-id"
"""On a ResourceBinding and on each of its Works (pkg/apis/work/v1alpha2 ResourceBindingPermanentIDLabel; the binding
controller's mergeLabel, pkg/controllers/binding/common.go), by which Karmada finds a binding's Works."""


def member_service_account(cluster: str) -> str:
    return f"karmada-{cluster}"


def member_cluster_role(cluster: str) -> str:
    return f"karmada-controller-manager:{member_service_account(cluster)}"


def impersonator_secret(cluster: str) -> str:
    return f"{cluster}-impersonator"


def execution_namespace(cluster: str) -> str:
    return EXECUTION_NAMESPACE_PREFIX + cluster


# --- The time budget: the KubeFed join's, one timeout for every deadline ------------------------------------------
Deadlines = kubefed.Deadlines
POLL_SECONDS, FUNCTION_SECONDS = kubefed.POLL_SECONDS, kubefed.FUNCTION_SECONDS
DEFAULT_TIMEOUT_SECONDS = kubefed.DEFAULT_TIMEOUT_SECONDS
CLUSTER_DELETE_SECONDS = 60
"""How long an unjoin waits for karmada-controller-manager to remove a deleted Cluster (karmadactl's default wait)
before it removes the finalizers of the Works in the cluster's execution namespace itself."""
parse_timeout = kubefed.parse_timeout


def parse_node_port(raw: object) -> int | None:
    """ApiServerNodePort (a string, as CloudFormation passes scalars), or None when it is not a node port."""
    return access.parse_int(raw, MIN_NODE_PORT, MAX_NODE_PORT)
