"""The Karmada control plane on the host cluster: Karmada's upstream chart, pinned, from the configured (mirrorable)
repository, installed by the host's kubectl handler; etcd on an encrypted EBS volume.

What is installed (chart `karmada` v1.19, `installMode: host`; read in karmada-io/karmada charts/karmada at tag
v1.19.0-rc.0, the last tag of the stored snapshot: values.yaml, templates/*.yaml, _helpers.tpl): in the release
namespace, etcd (StatefulSet), karmada-apiserver (Deployment and Service `<release>-apiserver`, port 5443),
karmada-aggregated-apiserver, kube-controller-manager, karmada-controller-manager, -scheduler and -webhook
(Deployments); the pre-install hooks (ServiceAccount/ClusterRole/binding `<release>-hook-job`, ConfigMaps, Job
`<release>-pre-install` making the certificates with cfssl and the admin kubeconfig Secret `<release>-kubeconfig`,
key `kubeconfig`, server `https://<release>-apiserver.<release namespace>.svc.<clusterDomain>:5443`); the plain Job
`<release>-static-resource` applying Karmada's CRDs, webhooks, APIService and the `karmada-version` ConfigMap in
`systemNamespace` into karmada-apiserver (every component's init container waits for that ConfigMap); and the
post-delete Job, which deletes the certificate Secrets, the kubeconfig Secret and the static resources (namespace
`systemNamespace` included) from the host with the hook service account.

Values of ours, and why (`chart_values`; tests/test_karmada_control_plane.py checks each key against the chart's
values.yaml facts):
- the release in namespace `karmada-installer`, not `systemNamespace` (`karmada-system`): the post-delete Job deletes
  `systemNamespace` on the host, so a release living there would delete its own Job and Helm 4's uninstall would
  wait out its timeout;
- `global.imageRegistry` (config `karmada.imageRegistry`): replaces the registry of every image, cfssl and kubectl
  included (bitnami `common.images.image`), keeping the repository paths; unset, each image comes from the
  registry the chart names;
- every image pinned: the Karmada components' tags to the chart version (the chart in git says `latest`; the
  release tarball pins them too), kube-apiserver, kube-controller-manager and etcd by the chart, cfssl and kubectl
  (chart default `latest`) from the config;
- `staticResourceJob.ttlSecondsAfterFinished` above the Helm timeout: Helm 4's `--wait` (kstatus) counts the Job
  only while it exists, and with the chart's 10 s it can vanish before every Deployment is Ready, leaving Helm to
  wait out its whole timeout (helm/helm#31851). Not much longer either: an upgrade that changes the Job's template
  while it still exists fails (a Job's template is immutable);
- `apiServer.serviceType: NodePort` with the fixed `apiServer.nodePort` (config `karmada.apiServerNodePort`): the
  join Lambdas (host VPC) reach karmada-apiserver at a host node's InternalIP and that port (the Karmada join's
  `allow_node_port` opens it to them); TLS is verified against the certificate's in-cluster names (`certs.auto.hosts` keeps its defaults:
  `*.<release namespace>.svc.<clusterDomain>`, and `*.<systemNamespace>.svc.<clusterDomain>` added by the chart
  when the two namespaces differ);
- etcd: `etcd.internal.storageType: pvc` with `pvc.size` and `pvc.storageClass` (an empty size renders an invalid
  PVC), or `hostPath` when configured.
Architectures: Karmada's images are multi-arch (amd64, arm64), as are kube-apiserver, kube-controller-manager, etcd,
cfssl and kubectl: no node selector (unlike KubeFed, model.KUBEFED_NODE_ARCHITECTURE).

What the uninstall leaves, and how it goes: the pre-install hooks carry no `helm.sh/hook-delete-policy`, so Helm
applies its default, `before-hook-creation` (a hook object is deleted before the next install or upgrade creates it
again, never at uninstall), and the post-delete Job deletes only the Secrets, ConfigMap `<release>-config` and the
static resources. Left on the host: the ServiceAccount and the hook ConfigMaps (in the release namespace, which our
namespace manifest deletes after the uninstall) and the cluster-scoped ClusterRole and ClusterRoleBinding
`<release>-hook-job` (every verb on every resource, bound to that ServiceAccount's name). A manifest of ours names
those two (`hook_rbac`: the binding as the chart's, the role without rules), created before the chart and so deleted
after its uninstall: its `kubectl delete` removes them. At install and upgrade the chart's hooks replace them
(`before-hook-creation` deletes the objects of that name first).

Order (CloudFormation creates a resource after those it depends on, deletes it before them): the EBS CSI driver
add-on with its Pod Identity role (and the Pod Identity agent add-on), the etcd StorageClass, the release namespace
and the hook RBAC, then the chart. On delete the chart is uninstalled first (post-delete Job), then the hook RBAC
and the namespace are deleted, which deletes etcd's PVC and so its EBS volume while the CSI driver still runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration, aws_eks_v2 as eks, aws_iam as iam
from constructs import Construct

from components.compliance import acknowledge, managed_policy
from components.karmada_join import contract
from federated_eks.model.federation import KarmadaConfig

CHART = "karmada"
# The release, its namespace and the system namespace: the Karmada join's contract (the join Lambda finds the
# kubeconfig Secret and the apiserver Service of this release there).
RELEASE = contract.RELEASE_NAME
RELEASE_NAMESPACE = contract.RELEASE_NAMESPACE
SYSTEM_NAMESPACE = contract.SYSTEM_NAMESPACE
# Helm's wait for the whole control plane: images pulled, certificates made (3072-bit RSA), etcd, the API servers,
# the static resources, five components. The kubectl handler's Lambda runs 15 minutes and needs about 2 of them for
# itself (rehearsal/kubernetes/helm.py HANDLER_MARGIN).
HELM_TIMEOUT = Duration.minutes(12)
STATIC_RESOURCE_JOB_TTL = int(HELM_TIMEOUT.to_seconds()) + 180
# The Karmada components whose image tags follow the chart version (values.yaml `*.image.tag: *karmadaImageVersion`).
KARMADA_COMPONENTS = ("scheduler", "webhook", "controllerManager", "aggregatedApiServer")
EBS_CSI_ADDON = "aws-ebs-csi-driver"
EBS_CSI_SERVICE_ACCOUNT = "ebs-csi-controller-sa"  # the add-on's controller (EKS User Guide, "Amazon EBS CSI driver")
POD_IDENTITY_ADDON = "eks-pod-identity-agent"



def _image(repository: str, tag: str) -> dict[str, str]:
    return {"registry": "docker.io", "repository": repository, "tag": tag}


def chart_values(cfg: KarmadaConfig) -> dict[str, Any]:
    """The chart's values for `cfg` (pure; the module docstring says why each)."""
    storage = cfg.etcd_storage
    internal: dict[str, Any] = {"storageType": storage.type}
    if storage.type == "pvc":
        internal["pvc"] = {"size": storage.size, "storageClass": storage.storage_class}
    values: dict[str, Any] = {
        "installMode": "host",
        "systemNamespace": SYSTEM_NAMESPACE,
        "karmadaImageVersion": cfg.chart_version,
        "cfssl": {"image": _image(cfg.cfssl_image.repository, cfg.cfssl_image.tag)},
        "kubectl": {"image": _image(cfg.kubectl_image.repository, cfg.kubectl_image.tag)},
        "staticResourceJob": {"ttlSecondsAfterFinished": STATIC_RESOURCE_JOB_TTL},
        "apiServer": {"serviceType": "NodePort", "nodePort": cfg.api_server_node_port},
        "etcd": {"mode": "internal", "internal": internal},
        **{component: {"image": {"tag": cfg.chart_version}} for component in KARMADA_COMPONENTS},
    }
    if cfg.image_registry:
        values["global"] = {"imageRegistry": cfg.image_registry}
    return values


def storage_class(name: str) -> dict[str, Any]:
    """etcd's StorageClass: gp3, encrypted (the account's default EBS key), bound where the pod is scheduled."""
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
            "provisioner": "ebs.csi.aws.com", "parameters": {"type": "gp3", "encrypted": "true"},
            "volumeBindingMode": "WaitForFirstConsumer", "reclaimPolicy": "Delete", "allowVolumeExpansion": True}


def release_namespace() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": RELEASE_NAMESPACE}}


HOOK_RBAC = f"{RELEASE}-hook-job"
"""The chart's pre-install hook ServiceAccount, ClusterRole and ClusterRoleBinding (templates/pre-install-job.yaml)."""


def hook_rbac() -> list[dict[str, Any]]:
    """The cluster-scoped hook objects the chart leaves on the host, named so that deleting this manifest deletes
    them (the module docstring says why). The ClusterRole has no `rules`: applied alone it grants nothing, and
    applied over the chart's (`kubectl apply` without `rules`) it leaves the chart's rules as they are; the binding
    names the same role and ServiceAccount as the chart's."""
    rbac = "rbac.authorization.k8s.io"
    return [{"apiVersion": f"{rbac}/v1", "kind": "ClusterRole", "metadata": {"name": HOOK_RBAC}},
            {"apiVersion": f"{rbac}/v1", "kind": "ClusterRoleBinding", "metadata": {"name": HOOK_RBAC},
             "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": HOOK_RBAC},
             "subjects": [{"kind": "ServiceAccount", "name": HOOK_RBAC, "namespace": RELEASE_NAMESPACE}]}]


@dataclass(frozen=True)
class KarmadaControlPlaneProps:
    cluster: eks.ICluster
    """The host cluster (it must have a kubectl provider)."""
    config: KarmadaConfig = KarmadaConfig()


class KarmadaControlPlane(Construct):
    """Attributes: `chart` (the HelmChart; joins and object appliers depend on it), `namespace` (the release
    namespace's manifest), `hook_rbac` (the manifest that deletes the chart's hook ClusterRole and binding), `storage` (the StorageClass manifest and the add-ons, when the config's class is ours),
    `node_port`."""

    def __init__(self, scope: Construct, id: str, props: KarmadaControlPlaneProps) -> None:
        super().__init__(scope, id)
        cfg = props.config
        self.node_port = cfg.api_server_node_port
        self.storage: list[Construct] = []
        if cfg.etcd_storage.managed_class:
            self.storage = self._ebs_storage(props.cluster, cfg.etcd_storage.storage_class)
        self.namespace = eks.KubernetesManifest(self, "Namespace", cluster=props.cluster,
                                                manifest=[release_namespace()], overwrite=True)
        self.namespace.node.add_dependency(*self.storage)
        self.chart = eks.HelmChart(
            self, "Chart", cluster=props.cluster, chart=CHART, repository=cfg.chart_repository,
            version=cfg.chart_version, release=RELEASE, namespace=RELEASE_NAMESPACE,
            create_namespace=False, values=chart_values(cfg), wait=True, timeout=HELM_TIMEOUT,
            # `--atomic`: a failed first install is uninstalled (its post-delete Job runs), so a retry starts clean.
            atomic=True)
        # Deleted after the chart (whose post-delete Job runs with the hook ServiceAccount's binding), like the
        # namespace: the chart's hook ClusterRole and ClusterRoleBinding would outlive the federation otherwise.
        self.hook_rbac = eks.KubernetesManifest(self, "HookRbac", cluster=props.cluster, manifest=hook_rbac(),
                                                overwrite=True)
        self.chart.node.add_dependency(self.namespace, self.hook_rbac)

    def _ebs_storage(self, cluster: eks.ICluster, name: str) -> list[Construct]:
        """The EBS CSI driver (an EKS add-on; its controller's AWS calls through a Pod Identity role) and the
        StorageClass etcd's PVC names."""
        agent = eks.CfnAddon(self, "PodIdentityAgent", addon_name=POD_IDENTITY_ADDON, cluster_name=cluster.cluster_name,
                             resolve_conflicts="OVERWRITE")
        role = iam.Role(self, "EbsCsiRole", assumed_by=iam.ServicePrincipal("pods.eks.amazonaws.com"),
                        description="EBS CSI driver controller of the Karmada host (etcd's volume)",
                        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(
                            "service-role/AmazonEBSCSIDriverPolicy")])
        # Pod Identity needs sts:TagSession besides AssumeRole (EKS User Guide, "Create IAM role with trust policy
        # required by EKS Pod Identity").
        role.assume_role_policy.add_statements(iam.PolicyStatement(
            actions=["sts:TagSession"], principals=[iam.ServicePrincipal("pods.eks.amazonaws.com")]))
        acknowledge(role, "AmazonEBSCSIDriverPolicy is the policy AWS maintains for the EBS CSI driver (EKS User Guide, "
                    "'Amazon EBS CSI driver'): it creates, attaches and deletes volumes that do not exist at synth, "
                    "conditioned on the driver's own tags.", managed_policy("service-role/AmazonEBSCSIDriverPolicy"))
        driver = eks.CfnAddon(self, "EbsCsiDriver", addon_name=EBS_CSI_ADDON, cluster_name=cluster.cluster_name,
                              resolve_conflicts="OVERWRITE",
                              pod_identity_associations=[eks.CfnAddon.PodIdentityAssociationProperty(
                                  role_arn=role.role_arn, service_account=EBS_CSI_SERVICE_ACCOUNT)])
        driver.node.add_dependency(agent)
        klass = eks.KubernetesManifest(self, "EtcdStorageClass", cluster=cluster, manifest=[storage_class(name)],
                                       overwrite=True)
        klass.node.add_dependency(driver)
        return [klass]
