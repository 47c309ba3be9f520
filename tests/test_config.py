"""Config validation: every rule, with the exact message a user sees."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from fedtest import CDK_JSON, ROOT, environment
from federated_eks.config import ConfigError, load_environment

P = "environments.t"


def problems(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load_environment({"t": raw}, "t")
    return err.value.problems


def only_problem(raw: dict) -> str:
    found = problems(raw)
    assert len(found) == 1, found
    return found[0]


def test_shipped_environments_are_valid():
    dev = load_environment(CDK_JSON["context"]["environments"], "dev")
    assert [c.name for c in dev.clusters] == ["fed-1", "fed-2"]
    assert {c.region for c in dev.clusters} == {"us-east-1", "us-east-2"}
    assert dev.host.name == "fed-1" and dev.peering_topology == "mesh"
    prod = load_environment(CDK_JSON["context"]["environments"], "prod")
    assert len(prod.clusters) == 3


def test_defaults():
    cfg = load_environment({"t": environment()}, "t")
    assert cfg.nat_gateways == 1 and cfg.bastion.instance_type == "t3.small"
    c = cfg.clusters[0]
    assert c.endpoint_access.mode == "private" and c.endpoint_access.public_cidrs == ()
    assert (c.node_group.min_size, c.node_group.desired_size, c.node_group.max_size) == (1, 2, 3)
    assert c.node_group.capacity_type == "ON_DEMAND"
    assert cfg.kubefed.scope == "Cluster" and len(cfg.kubefed.federated_types) == 10
    assert cfg.kubefed.controller_image.uri == cfg.kubefed.webhook_image.uri == (
        "quay.io/kubernetes-multicluster/kubefed:v0.10.0")
    assert not cfg.bastion.kubefedctl.enabled


def test_per_cluster_node_group_overrides_the_environment_default():
    raw = environment(nodeGroup={"instanceTypes": ["m6a.large"], "maxSize": 5})
    raw["clusters"][1]["nodeGroup"] = {"capacityType": "SPOT", "desiredSize": 4}
    cfg = load_environment({"t": raw}, "t")
    assert cfg.clusters[0].node_group.instance_types == ("m6a.large",)
    assert cfg.clusters[1].node_group.capacity_type == "SPOT"
    assert cfg.clusters[1].node_group.desired_size == 4 and cfg.clusters[1].node_group.max_size == 5


def test_unknown_environment_lists_the_known_ones():
    with pytest.raises(ConfigError) as err:
        load_environment({"dev": environment(), "prod": environment()}, "qa")
    assert err.value.problems == ["env: unknown environment 'qa'. Fix: pass -c env=NAME with one of: dev, prod"]


def test_missing_environments():
    with pytest.raises(ConfigError, match="context.environments: is missing or empty"):
        load_environment(None, "dev")


@pytest.mark.parametrize("field, hint", [
    ("account", '"123456789012"'), ("hostCluster", '"fed-1"'), ("kubernetesVersion", '"1.35"'),
])
def test_missing_required_fields(field, hint):
    raw = environment()
    del raw[field]
    assert only_problem(raw) == f"{P}.{field}: is required. Fix: set it, e.g. {hint}"


def test_missing_bastion_and_clusters():
    raw = environment()
    del raw["bastion"], raw["clusters"], raw["hostCluster"]
    found = problems(raw)
    assert any(p.startswith(f"{P}.bastion: is required") for p in found)
    assert any(p.startswith(f"{P}.clusters: is required") for p in found)


def test_mistyped_field_names_the_type():
    assert only_problem(environment(natGateways="two")) == \
        f"{P}.natGateways: must be a whole number, got a string. Fix: write it like 1"
    assert only_problem(environment(natGateways=True)).startswith(f"{P}.natGateways: must be a whole number, got a boolean")


def test_unknown_field_is_a_typo_until_proven_otherwise():
    assert only_problem(environment(hostCLuster="fed-1")).startswith(f"{P}.hostCLuster: unknown field. Fix: remove it or use one of: account, hostCluster")


def test_invalid_account_id():
    assert only_problem(environment(account="12345")) == \
        f"{P}.account: '12345' is not an AWS account id. Fix: use the 12 digits of the account"


def test_unknown_region_suggests_neighbours():
    raw = environment()
    raw["clusters"][1]["region"] = "us-east-9"
    message = only_problem(raw)
    assert message.startswith(f"{P}.clusters[1].region: 'us-east-9' is not a known AWS region. Fix: use a region such as ")
    assert "us-east-2" in message


def test_duplicate_cluster_names():
    raw = environment(3)
    raw["clusters"][2]["name"] = "fed-1"
    assert only_problem(raw) == (f"{P}.clusters[2].name: duplicate cluster name 'fed-1' (also clusters[0]). "
                                 "Fix: give every cluster a unique name")


@pytest.mark.parametrize("name", ["Fed-1", "fed_1", "-fed", "fed-", "f" * 31])
def test_cluster_names_must_be_lowercase_rfc1123_labels(name):
    raw = environment()
    raw["clusters"][1]["name"] = name
    assert only_problem(raw) == (
        f"{P}.clusters[1].name: {name!r} is not a lowercase RFC 1123 label of at most 30 characters (it becomes "
        "Kubernetes object names). Fix: use lowercase letters, digits and '-', starting and ending with a letter "
        "or digit")


def test_host_cluster_must_be_a_cluster():
    assert only_problem(environment(hostCluster="fed-9")) == (
        f"{P}.hostCluster: 'fed-9' is not among the clusters (fed-1, fed-2). Fix: name one of the clusters, which "
        "then runs the KubeFed control plane")


@pytest.mark.parametrize("cidr, message", [
    ("172.21.0.1/16", "'172.21.0.1/16' is not a valid IPv4 network. Fix: write it like \"172.21.0.0/16\" (host bits zero)"),
    ("banana", "'banana' is not a valid IPv4 network. Fix: write it like \"172.21.0.0/16\" (host bits zero)"),
    ("172.22.0.0/24", "/24 is too small for the subnets. Fix: use a prefix of /20 or larger (e.g. /16)"),
    ("172.22.0.0/21", "/21 is too small for the subnets. Fix: use a prefix of /20 or larger (e.g. /16)"),
    ("10.0.0.0/8", "/8 is larger than AWS allows for a VPC. Fix: use a prefix from /16"),
    ("8.8.0.0/16", "8.8.0.0/16 is not a private range. Fix: use a range inside 10.0.0.0/8, 172.16.0.0/12 or "
                   "192.168.0.0/16"),
])
def test_cluster_cidr_rules(cidr, message):
    raw = environment()
    raw["clusters"][1]["cidr"] = cidr
    assert only_problem(raw) == f"{P}.clusters[1].cidr: {message}"


def test_smallest_cluster_cidr_is_accepted():
    raw = environment()
    raw["clusters"][1]["cidr"] = "172.22.0.0/20"
    assert load_environment({"t": raw}, "t").clusters[1].cidr == "172.22.0.0/20"


def test_bastion_cidr_may_be_smaller_than_a_cluster_cidr():
    load_environment({"t": environment(bastion={"region": "us-east-1", "cidr": "172.20.0.0/26"})}, "t")
    assert only_problem(environment(bastion={"region": "us-east-1", "cidr": "172.20.0.0/27"})) == \
        f"{P}.bastion.cidr: /27 is too small for the subnets. Fix: use a prefix of /26 or larger (e.g. /16)"


def test_overlapping_cidrs_name_both_vpcs():
    raw = environment(3)
    raw["clusters"][2]["cidr"] = "172.21.128.0/20"
    assert only_problem(raw) == (
        f"{P}.clusters[2].cidr: 172.21.128.0/20 (fed-3) overlaps 172.21.0.0/16 (fed-1, {P}.clusters[0].cidr); "
        "peered VPCs need distinct ranges. Fix: give each VPC its own non-overlapping CIDR")


def test_bastion_overlap_counts_too():
    raw = environment(bastion={"region": "us-east-1", "cidr": "172.22.0.0/16"})
    assert only_problem(raw).startswith(f"{P}.clusters[1].cidr: 172.22.0.0/16 (fed-2) overlaps 172.22.0.0/16 (bastion")


def test_unsupported_kubernetes_version():
    assert only_problem(environment(kubernetesVersion="1.29")) == \
        f"{P}.kubernetesVersion: '1.29' is not supported. Fix: use one of: 1.34, 1.35, 1.36"


def test_node_group_min_greater_than_max():
    assert only_problem(environment(nodeGroup={"minSize": 4, "maxSize": 2, "desiredSize": 3})) == \
        f"{P}.nodeGroup.minSize: minSize 4 is greater than maxSize 2. Fix: make minSize <= maxSize"


def test_node_group_desired_outside_range():
    raw = environment()
    raw["clusters"][0]["nodeGroup"] = {"desiredSize": 9}
    assert only_problem(raw) == (f"{P}.clusters[0].nodeGroup.desiredSize: desiredSize 9 is outside minSize 1 .. maxSize 3. "
                                 "Fix: choose a desiredSize between minSize and maxSize")


def test_node_group_other_rules():
    found = problems(environment(nodeGroup={"instanceTypes": ["large"], "capacityType": "RESERVED"}))
    assert f"{P}.nodeGroup.instanceTypes[0]: 'large' is not an EC2 instance type. Fix: write it like \"m6i.large\"" in found
    assert f"{P}.nodeGroup.capacityType: 'RESERVED' is not allowed. Fix: use one of: ON_DEMAND, SPOT" in found


def test_public_endpoint_needs_an_allow_list_and_refuses_the_internet():
    assert only_problem(environment(endpointAccess={"mode": "publicAndPrivate"})) == (
        f"{P}.endpointAccess.publicCidrs: is empty while mode is publicAndPrivate. Fix: list the CIDRs allowed to "
        "reach the public endpoint, e.g. [\"203.0.113.0/24\"], or use mode \"private\"")
    assert only_problem(environment(endpointAccess={"mode": "publicAndPrivate", "publicCidrs": ["0.0.0.0/0"]})) == (
        f"{P}.endpointAccess.publicCidrs[0]: 0.0.0.0/0 opens the API server to the whole internet. Fix: list only "
        "your operators' or pipeline's egress ranges")
    cfg = load_environment({"t": environment(endpointAccess={"mode": "publicAndPrivate",
                                                              "publicCidrs": ["203.0.113.0/24"]})}, "t")
    assert cfg.clusters[0].endpoint_access.public_cidrs == ("203.0.113.0/24",)


def test_topology_and_scope_choices():
    assert only_problem(environment(topology="star")) == \
        f"{P}.peeringTopology: 'star' is not allowed. Fix: use one of: mesh, hub"
    assert only_problem(environment(kubefed={"scope": "Global"})) == \
        f"{P}.kubefed.scope: 'Global' is not allowed. Fix: use one of: Cluster, Namespaced"


def test_kubefed_mirrors_are_configurable_and_checked():
    cfg = load_environment({"t": environment(kubefed={
        "controllerImage": {"repository": "123456789012.dkr.ecr.us-east-1.amazonaws.com/mirror"},
        "webhookImage": {"tag": "v0.10.0-patched"}})}, "t")
    assert cfg.kubefed.controller_image.uri == "123456789012.dkr.ecr.us-east-1.amazonaws.com/mirror/kubefed:v0.10.0"
    # The webhook follows the controller's mirror unless set, field by field.
    assert cfg.kubefed.webhook_image.uri == (
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/mirror/kubefed:v0.10.0-patched")
    assert only_problem(environment(kubefed={"controllerImage": {"tag": "v 1"}})) == (
        f'{P}.kubefed.controllerImage.tag: is empty or has spaces. Fix: write it like "v0.10.0"')
    assert only_problem(environment(kubefed={"joinTimeoutMinutes": 90})).startswith(
        f"{P}.kubefed.joinTimeoutMinutes: 90 is out of range")


def test_kubefedctl_needs_https_and_a_checksum():
    found = problems(environment(bastion={"region": "us-east-1", "cidr": "172.20.0.0/16",
                                          "kubefedctl": {"url": "http://x/k.tgz", "sha256": "abc"}}))
    assert f"{P}.bastion.kubefedctl.url: must be an https:// URL. Fix: point it at the release tarball" in found
    assert any(p.startswith(f"{P}.bastion.kubefedctl.sha256: is not a SHA-256 digest") for p in found)


def test_every_problem_is_reported_at_once():
    raw = environment(account="x", kubernetesVersion="9.9", natGateways=7)
    raw["clusters"][0]["cidr"] = "nope"
    assert len(problems(raw)) == 4


def test_cli_reports_config_errors_without_a_traceback(tmp_path):
    """The app itself: a bad config exits non-zero with the message, before any construct is built."""
    context = {"environments": {"bad": environment(account="12")}}
    env = {"CDK_CONTEXT_JSON": json.dumps({**context, "env": "bad"}), "CDK_OUTDIR": str(tmp_path),
           "PATH": str(ROOT / ".venv" / "bin")}
    run = subprocess.run([sys.executable, str(ROOT / "app.py")], capture_output=True, text=True, env=env, cwd=ROOT)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert run.stderr.strip() == ("federated-eks: the config has 1 problem:\n"
                                  "  - environments.bad.account: '12' is not an AWS account id. Fix: use the 12 "
                                  "digits of the account")
    assert not list(tmp_path.iterdir())  # nothing synthesized


def test_image_fields_must_be_usable():
    assert only_problem(environment(kubefed={"controllerImage": {"tag": ""}})) == \
        f'{P}.kubefed.controllerImage.tag: is empty or has spaces. Fix: write it like "v0.10.0"'
