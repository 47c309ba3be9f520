"""Accepted means deployable (issue 17): each value AWS or Kubernetes would refuse at deploy, and each AWS limit a
config could pass, refused by the config check with the field, the limit (its quota code) and the fix. Configs are
built here (fedtest.environment), never read from cdk.json."""
from __future__ import annotations

import copy

import pytest

from fedtest import environment
from federated_eks.operations import topology_report
from federated_eks.config.reader import ConfigError, load_environment
from test_config import P, only_problem, problems
ECHO = {"name": "echo-server", "namespace": "echo", "image": "registry.k8s.io/echoserver:1.10",
        "containerPort": 8080, "service": {"type": "LoadBalancer", "port": 80},
        "dns": {"hostedZoneId": "Z0123456789ABC", "recordName": "echo.example.com", "routing": "latency"}}


def accepted(raw: dict):
    return load_environment({"t": raw}, "t")


def echo(**changes) -> dict:
    w = copy.deepcopy(ECHO)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(w.get(key), dict):
            w[key].update(value)
        else:
            w[key] = value
    return w


# --- trailing newlines: every pattern of the config path is applied with fullmatch ----------------------------

@pytest.mark.parametrize("change, field", [
    ({"name": "echo-server\n"}, "name"),
    ({"namespace": "echo\n"}, "namespace"),
    ({"image": "registry.k8s.io/echoserver:1.10\n"}, "image"),
    ({"env": {"LOG_LEVEL\n": "info"}}, "env.LOG_LEVEL\\n"),
    ({"dns": {"hostedZoneId": "Z0123456789ABC\n"}}, "dns.hostedZoneId"),
    ({"dns": {"recordName": "echo.example.com\n"}}, "dns.recordName"),
])
def test_a_trailing_newline_in_a_workload_is_refused(change, field):
    found = only_problem(environment(2, workloads=[echo(placement={"clusters": ["fed-1"]}, **change)]))
    assert found.startswith(f"{P}.workloads[0].{field}: ") and "\\n" in found and "\n" not in found


# --- quoted values are escaped --------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    environment(hostCluster="fed-\x1b[31m1"),
    environment(kubefed={"namespace": "kube\u2028fed"}),
    environment(2, workloads=[echo(name="echo\rserver")]),
    environment(bastion={"region": "us-east-1\x07", "cidr": "172.20.0.0/16"}),
])
def test_control_characters_in_quoted_values_are_escaped(raw):
    for p in problems(raw):
        assert p.isprintable(), p
    text = str(ConfigError(problems(raw)))
    assert "\x1b" not in text and "\r" not in text and "\u2028" not in text and "\x07" not in text


# --- tags -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("tags, message", [
    ({"AWS:foo": "x"}, "tags.AWS:foo: 'AWS:foo' starts with 'aws:', which AWS reserves (in any case). Fix: use "
     "another prefix"),
    ({"aWs:foo": "x"}, "tags.aWs:foo: 'aWs:foo' starts with 'aws:', which AWS reserves (in any case). Fix: use "
     "another prefix"),
    ({"fedeks:environment": "x"}, "tags.fedeks:environment: 'fedeks:environment' starts with 'fedeks:', the prefix "
     "of the tags federated-eks sets itself. Fix: use another prefix"),
    ({"team": "a<b>"}, "tags.team: 'a<b>' is not a valid AWS tag value. Fix: use a string of at most 256 letters, "
     "numbers, spaces and _.:/=+-@, like \"platform\""),
    ({"team": "x\ty"}, "tags.team: 'x\\ty' is not a valid AWS tag value. Fix: use a string of at most 256 letters, "
     "numbers, spaces and _.:/=+-@, like \"platform\""),
    ({"k" * 129: "x"}, f"tags.{'k' * 129}: '{'k' * 129}' is not a valid AWS tag key. Fix: use 1-128 letters, "
     "numbers, spaces and _.:/=+-@"),
])
def test_tags_aws_would_refuse(tags, message):
    assert only_problem(environment(tags=tags)) == f"{P}.{message}"


def test_tags_in_iams_character_set_are_accepted():
    cfg = accepted(environment(tags={"cost center": "Équipe 42/α", "team:owner": "a_b.c=d+e-f@g"}))
    assert dict(cfg.tags) == {"cost center": "Équipe 42/α", "team:owner": "a_b.c=d+e-f@g"}


def test_tags_count_with_federated_eks_own_up_to_fifty_per_resource():
    """A subnet carries 4 tags of its own and up to 4 of its stack (tests/test_network.py checks both counts in
    the templates): 42 of the user's fit, 43 do not."""
    accepted(environment(tags={f"t{i}": "x" for i in range(42)}))
    assert only_problem(environment(tags={f"t{i}": "x" for i in range(43)})) == (
        f"{P}.tags: 43 tags, but a subnet already carries 8 of its own (federated-eks's) and AWS allows 50 per "
        "resource. Fix: use at most 42 tags")


# --- kubefed ----------------------------------------------------------------------------------------------------

def test_the_kubefed_namespace_is_a_label_of_at_most_63_characters():
    accepted(environment(kubefed={"namespace": "k" * 63}))
    assert only_problem(environment(kubefed={"namespace": "k" * 64})) == (
        f"{P}.kubefed.namespace: '{'k' * 64}' is not a valid namespace name. Fix: use a lowercase RFC 1123 label of "
        "at most 63 characters such as kube-federation-system")


@pytest.mark.parametrize("image, what", [
    ({"tag": "v0.10.0:x"}, "'quay.io/kubernetes-multicluster/kubefed:v0.10.0:x' is not an image reference"),
    ({"tag": ".v1"}, "'quay.io/kubernetes-multicluster/kubefed:.v1' is not an image reference"),
    ({"tag": "latest"}, "'quay.io/kubernetes-multicluster/kubefed:latest' is not pinned"),
    ({"image": "KubeFed"}, "'quay.io/kubernetes-multicluster/KubeFed:v0.10.0' is not an image reference"),
    ({"repository": "quay.io/Kubernetes"}, "'quay.io/Kubernetes/kubefed:v0.10.0' is not an image reference"),
])
def test_kubefed_images_must_be_image_references_with_a_tag(image, what):
    found = only_problem(environment(kubefed={"controllerImage": image}))
    assert found.startswith(f"{P}.kubefed.controllerImage: {what}")
    assert "Fix: write it like {\"repository\": \"quay.io/kubernetes-multicluster\"" in found


def test_a_mirrored_kubefed_image_is_accepted():
    cfg = accepted(environment(kubefed={"controllerImage": {"repository": "123456789012.dkr.ecr.us-east-1."
                                                                          "amazonaws.com/mirror", "tag": "v0.10.0"}}))
    assert cfg.kubefed.webhook_image.uri == "123456789012.dkr.ecr.us-east-1.amazonaws.com/mirror/kubefed:v0.10.0"


# --- node groups ------------------------------------------------------------------------------------------------

def test_max_size_is_at_most_the_nodes_per_managed_node_group():
    accepted(environment(nodeGroup={"maxSize": 450}))
    assert only_problem(environment(nodeGroup={"maxSize": 451})) == (
        f"{P}.nodeGroup.maxSize: 451 is over EKS's quota of 450 nodes per managed node group (Service Quotas: eks "
        "L-BD136A63). Fix: use at most 450 (more capacity: larger instance types or more clusters)")


def test_desired_size_zero_is_refused_where_the_deploy_waits_for_pods():
    raw = environment(3, nodeGroup={"minSize": 0, "desiredSize": 0})
    raw["clusters"][0]["nodeGroup"] = {"minSize": 1, "desiredSize": 1}
    accepted(raw)  # members that run nothing the deploy waits for may stand by without nodes
    raw["clusters"][0]["nodeGroup"] = {"minSize": 0, "desiredSize": 0}
    assert only_problem(raw) == (
        f"{P}.clusters[0].nodeGroup.desiredSize: is 0, but fed-1 runs the KubeFed control plane (its chart waits for "
        "the controller), which the deploy waits for; nothing scales a managed node group up (there is no cluster "
        "autoscaler), so those pods never start and the deploy times out. Fix: set desiredSize (and maxSize) to 1 or "
        "more, in nodeGroup or this cluster's nodeGroup")
    raw["clusters"][0]["nodeGroup"] = {"minSize": 1, "desiredSize": 1}
    raw["workloads"] = [echo(placement={"clusters": ["fed-2"]}, service={"type": "ClusterIP"}, dns=None)]
    del raw["workloads"][0]["dns"]
    found = only_problem(raw)
    assert found.startswith(f"{P}.clusters[1].nodeGroup.desiredSize: is 0, but fed-2 runs workload "
                            "echo/echo-server (the deploy waits until it is ready)")
    raw["workloads"][0]["service"] = {"type": "LoadBalancer", "port": 80}
    raw["workloads"][0]["placement"] = {"clusters": ["fed-1"]}
    raw["loadBalancerController"] = {"install": "always"}
    found = problems(raw)
    assert [p.split(":")[0] for p in found] == [f"{P}.clusters[{i}].nodeGroup.desiredSize" for i in (1, 2)]
    assert "runs the AWS Load Balancer Controller (its chart waits for its pods)" in found[0]


# --- quota fields get AWS's upper bounds ------------------------------------------------------------------------

def test_rules_per_security_group_stop_where_aws_stops():
    accepted(environment(quotas={"rulesPerSecurityGroup": 500}))
    assert only_problem(environment(quotas={"rulesPerSecurityGroup": 501})) == (
        f"{P}.quotas.rulesPerSecurityGroup: 501 is out of range. Fix: set the quota your account has (Service Quotas "
        "shows it): from AWS's default 60 up to AWS's maximum 500")


# --- DNS --------------------------------------------------------------------------------------------------------

def test_latency_routing_refuses_two_placed_clusters_in_one_region():
    raw = environment(3, workloads=[echo()])
    raw["clusters"][2]["region"] = "us-east-1"
    assert only_problem(raw) == (
        f"{P}.workloads[0].dns.routing: latency routing needs one placed cluster per region (Route 53 allows one "
        "latency record per region for a name), the workload has fed-1, fed-3 in us-east-1. Fix: place it on one "
        "cluster per region, or use \"weighted\" routing")
    raw["workloads"][0]["placement"] = {"clusters": ["fed-1", "fed-2"]}
    accepted(raw)


def test_two_workloads_with_one_record_name_are_refused():
    second = echo(name="other", namespace="other", dns={"recordName": "Echo.Example.com."})
    assert only_problem(environment(2, workloads=[echo(), second])) == (
        f"{P}.workloads[1].dns.recordName: 'echo.example.com' in zone Z0123456789ABC is already the record name of "
        f"{P}.workloads[0]. Fix: give each workload its own record name")
    second["dns"]["hostedZoneId"] = "Z999"
    accepted(environment(2, workloads=[echo(), second]))


# --- the join functions carry nothing per cluster: the size of the federation is the network's to limit ----------

def hub(n: int) -> dict:
    """`n` clusters in a hub, 10 per region, quotas raised as far as the layout needs."""
    regions = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-central-1",
               "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "ca-central-1"]
    raw = environment(0, "hub", quotas={"vpcsPerRegion": 11, "elasticIpsPerRegion": 11, "routesPerRouteTable": 1000,
                                        "peeringsPerVpc": 125, "rulesPerSecurityGroup": 200, "natGatewaysPerAz": 5})
    raw["clusters"] = [{"name": f"fed-{i + 1}", "region": regions[i // 10], "cidr": f"10.{i}.0.0/16"}
                       for i in range(n)]
    return raw


def test_the_hundred_cluster_hub_passes_the_config_check_and_make_topology(tmp_path, capsys):
    """Before, the join functions listed every cluster in their environment and Lambda's 4 KB refused 100 clusters;
    now they ask EKS, and nothing of theirs grows with the federation."""
    import json
    accepted(hub(100))
    (tmp_path / "cdk.json").write_text(json.dumps({"context": {"environments": {"t": hub(100)}}}))
    assert topology_report.main(["--env", "t", "--cdk-json", str(tmp_path / "cdk.json")]) == 0
    assert "environment" not in capsys.readouterr().err


# --- the federation stack: 500 resources and 1 MB, counted before anything is built ------------------------------

def plain_workloads(n: int) -> list[dict]:
    """`n` ClusterIP workloads without DNS, each in a namespace of its own."""
    return [{"name": f"web-{i}", "namespace": f"web-{i}", "image": ECHO["image"], "containerPort": 8080,
             "replicas": 1} for i in range(n)]


def test_typed_workloads_beyond_the_federation_stack_go_into_workload_stacks_and_one_namespace_must_fit_one():
    """121 workloads on 3 clusters, each in its own namespace, were refused (52 + 3 joins + 121 x 4 = 538 resources in
    the federation stack): now the namespaces that do not fit go into `workloads-1`. What cannot be split, one
    namespace's workloads (250 in `web`: 2 x 250 + its FederatedNamespace and host Namespace), is refused with the
    numbers and the fix."""
    from federated_eks.plan import federation_layout
    cfg = accepted(environment(3, workloads=plain_workloads(121)))
    plans = federation_layout.workload_stacks(cfg)
    assert [p.index for p in plans] == [0, 1] and all(p.fits for p in plans)
    assert plans[0].namespaces + plans[1].namespaces == tuple(f"web-{i}" for i in range(121))  # in config order
    assert problems(environment(3, workloads=[dict(w, namespace="web") for w in plain_workloads(250)]))[0] == (
        f"{P}.workloads: stack fedeks-t-workloads-1 would hold 502 resources (the workloads of namespace web, which "
        "share a stack), over CloudFormation's limit of 500 resources per stack (not adjustable; the CDK adds one). "
        "Fix: spread namespace web's workloads over more namespaces, or fewer workloads")


def folder(tmp_path, text: str, name: str = "objects") -> str:
    where = tmp_path / name
    where.mkdir()
    (where / "objects.yaml").write_text(text)
    return str(where)


def test_yaml_anchors_are_bounded_at_read_time(tmp_path):
    """About 600 bytes of YAML that stand for gigabytes of JSON: refused after a bounded walk, in well under a
    second, before anything (the CRD check, the synth) expands them."""
    levels = ["a0: &a0 [" + ",".join(["x" * 20] * 10) + "]"]
    levels += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    text = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb, namespace: default}\ndata:\n"
            + "".join(f"  {line}\n" for line in levels))
    assert len(text) < 1000
    found = only_problem(environment(2, workloads=[{"manifests": folder(tmp_path, text)}]))
    assert found == (
        f"{P}.workloads[0].manifests: its objects are over 1,000,000 bytes of JSON with YAML aliases (*name) written "
        "out, and the federation template carries them: CloudFormation takes templates of at most 1 MB. Fix: carry "
        "fewer or smaller objects, and write repeated parts out instead of using anchors (&name)")


def config_maps(n: int) -> str:
    """A folder KubeFed takes: namespace `web` federated, `n` FederatedConfigMaps of about 4 KB there."""
    data = "\n".join(f"      key{k}: {'v' * 400}" for k in range(10))
    namespace = ("apiVersion: types.kubefed.io/v1beta1\nkind: FederatedNamespace\nmetadata: {name: web, namespace: web}"
                 "\nspec:\n  placement: {clusterSelector: {}}\n")
    return namespace + "".join(f"---\napiVersion: types.kubefed.io/v1beta1\nkind: FederatedConfigMap\nmetadata: {{name: cm-{i}, "
                   f"namespace: web}}\nspec:\n  template:\n    data:\n{data}\n  placement: {{clusterSelector: {{}}}}\n"
                   for i in range(n))


def test_objects_that_would_pass_a_megabyte_of_template_are_refused_with_the_numbers(tmp_path):
    found = only_problem(environment(2, workloads=[{"manifests": folder(tmp_path, config_maps(225))}]))
    assert found.startswith(f"{P}.workloads: stack fedeks-t-federation's template would be up to ")
    assert ", over CloudFormation's limit of 1,000,000 bytes (1 MB, not adjustable). Fix: carry fewer or smaller " \
           "Kubernetes objects" in found
    accepted(environment(2, workloads=[{"manifests": folder(tmp_path, config_maps(100), "fewer")}]))


def test_a_folder_listed_twice_is_refused(tmp_path):
    where = folder(tmp_path, config_maps(1))
    assert only_problem(environment(2, workloads=[{"manifests": where}, {"manifests": where + "/"}])) == (
        f"{P}.workloads[1].manifests: {where + '/'!r} is {P}.workloads[0]'s folder again (or a path the federation "
        "stack would name the same way). Fix: list each folder once")


def test_synthesized_templates_are_checked_against_cloudformations_limits():
    from federated_eks.plan.cloudformation_limits import template_problems
    assert template_problems("s", 1_000_000, 499, 200) == []
    assert template_problems("s", 1_000_001, 500, 201) == [
        "stack s: its template is 1,000,001 bytes, over CloudFormation's limit of 1,000,000 bytes (1 MB, not "
        "adjustable). Fix: carry fewer or smaller Kubernetes objects in the federation (manifest folders, "
        "workloads); large data belongs in an image or S3, not in ConfigMaps",
        "stack s: 500 resources (and the CDK's metadata resource), over CloudFormation's limit of 500 per stack (not "
        "adjustable). Fix: fewer clusters or workloads",
        "stack s: 201 outputs, over CloudFormation's limit of 200 per stack (not adjustable). Fix: fewer clusters"]


def test_every_pattern_of_the_config_path_is_applied_whole():
    """`re.match` with `^...$` accepts a trailing newline (`$` matches before it): the readers use fullmatch only.
    (manifest_folder reads jsonschema's own error messages with re.match; no config value goes through it.)"""
    import re
    from fedtest import ROOT
    found = []
    for path in sorted((ROOT / "federated_eks").glob("*.py")):
        for line in path.read_text().splitlines():
            if "is a required property" in line:  # manifest_folder, over jsonschema's message
                continue
            if re.search(r"\b(?:re|_[A-Z0-9_]+)\.(?:match|search)\(|re\.compile\(r?f?\"\^", line):
                found.append(f"{path.name}: {line.strip()}")
    assert found == []


def test_a_large_accepted_folder_synthesizes_under_a_megabyte_and_under_the_estimate(tmp_path):
    """The estimate is an upper bound where it matters most: 180 ConfigMaps of 4 KB (about 840 KB of template)."""
    import os
    from pathlib import Path

    import cli
    from fedtest import synth
    from federated_eks.plan import federation_layout
    raw = environment(2, workloads=[{"manifests": folder(tmp_path, config_maps(180))}])
    cfg = accepted(raw)
    _, assembly = synth(raw, name="t")
    cli.check_templates(Path(assembly.directory))
    (stack,) = [s for s in assembly.stacks if s.stack_name == "fedeks-t-federation"]
    size = os.path.getsize(stack.template_full_path)
    assert 800_000 < size <= federation_layout.federation_template_bytes(cfg) <= 1_000_000


def test_the_check_after_synth_reads_every_stack_of_the_assembly_and_of_its_stages(tmp_path):
    """cli.check_templates reads the cloud assembly's files: a pipeline's stacks are in nested assemblies (one per
    stage); a stack there over a limit is refused by name, as one at the top."""
    import json

    import cli
    from federated_eks.config.reader import ConfigError

    def write(directory, artifacts: dict, templates: dict) -> None:
        directory.mkdir(parents=True)
        (directory / "manifest.json").write_text(json.dumps({"version": "48.0.0", "artifacts": artifacts}))
        for name, resources in templates.items():
            (directory / f"{name}.template.json").write_text(json.dumps({"Resources": resources}))

    def stack(name: str) -> dict:
        return {"type": "aws:cloudformation:stack", "properties": {"templateFile": f"{name}.template.json",
                                                                    "stackName": name}}

    small = {f"R{i}": {"Type": "AWS::SNS::Topic"} for i in range(3)}
    large = {f"R{i}": {"Type": "AWS::SNS::Topic"} for i in range(501)}
    write(tmp_path / "asm", {"Pipe": stack("Pipe"), "Stage": {"type": "cdk:cloud-assembly",
                                                             "properties": {"directoryName": "assembly-Stage"}}},
          {"Pipe": small})
    write(tmp_path / "asm" / "assembly-Stage", {"Inner": stack("inner-stack")}, {"inner-stack": small})
    cli.check_templates(tmp_path / "asm")
    (tmp_path / "asm" / "assembly-Stage" / "inner-stack.template.json").write_text(json.dumps({"Resources": large}))
    with pytest.raises(ConfigError) as err:
        cli.check_templates(tmp_path / "asm")
    assert len(err.value.problems) == 1 and "inner-stack" in err.value.problems[0] and "501" in err.value.problems[0]
