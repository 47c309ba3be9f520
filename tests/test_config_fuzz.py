"""Property-based (Hypothesis): configs mutated from three fixtures built here (dev-like, prod-like, a three-region
hub with workloads and a manifest folder; never cdk.json's) are either refused with messages, or deployable as far as
synth can tell.

- No traceback, ever: the config check, `make topology`'s rendering and the build raise nothing but ConfigError, and
  every message is one printable line naming a field and the fix.
- Every accepted config synthesizes with each stack at most 500 resources (499 and the CDK's metadata) and 200
  outputs, and each template at most 1 MB; the federation stack's resources are exactly what
  `federation_layout.federation_resources` counts, and its template no larger than `federation_template_bytes`.

Seeded (derandomize) and bounded: the config-only property runs many examples (milliseconds each); the synthesizing
one runs few (a synth takes 5 to 8 seconds on a free core). Measured on this 2-core machine, shared with other
jobs: 8-18 s (300 examples) and 50-80 s alone (the hub fixture and 5 accepted mutations; longer under load).
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from hypothesis import HealthCheck, assume, example, given, settings, strategies as st

import app as federation_app
import cli
from fedtest import ACCOUNT, CONTEXT, scratch_dir
from federated_eks.plan import cloudformation_limits, diagram, federation_layout, stack_tags, topology
from federated_eks.config import reader as config
from federated_eks.config.reader import ConfigError, load_environment

ECHO = {"name": "echo-server", "namespace": "echo", "image": "registry.k8s.io/echoserver:1.10", "containerPort": 8080,
        "placement": {"clusters": ["fed-1", "fed-2"]}, "clusters": {"fed-1": {"replicas": 2}},
        "env": {"LOG_LEVEL": "info"}, "service": {"type": "LoadBalancer", "port": 80},
        "dns": {"hostedZoneId": "Z0123456789ABC", "recordName": "echo.example.com", "routing": "failover",
                "primary": "fed-1", "healthCheckPath": "/", "ttl": 60}}
HELLO = {"name": "hello", "namespace": "hello", "image": "docker.io/particule/helloworld:v1", "containerPort": 80,
         "replicaScheduling": {"totalReplicas": 7, "rebalance": True, "clusters": {"*": {"weight": 1}}},
         "service": {"type": "ClusterIP", "port": 80}}
LATENCY = {"name": "api", "namespace": "api", "image": "nginx:1.29", "containerPort": 80, "replicas": 2,
           "service": {"type": "LoadBalancer", "port": 80},
           "dns": {"hostedZoneId": "Z0123456789ABC", "recordName": "api.example.com", "routing": "latency"}}

DEV = {"account": ACCOUNT, "hostCluster": "fed-1", "kubernetesVersion": "1.35",
       "bastion": {"region": "us-east-1", "cidr": "172.20.0.0/16"},
       "clusters": [{"name": "fed-1", "region": "us-east-1", "cidr": "172.21.0.0/16"},
                    {"name": "fed-2", "region": "us-east-2", "cidr": "172.22.0.0/16"}],
       "nodeGroup": {"instanceTypes": ["m6i.large"], "minSize": 1, "desiredSize": 2, "maxSize": 3},
       "natGateways": 1, "tags": {"project": "federated-eks", "team": "platform"}}
PROD = {"account": ACCOUNT, "hostCluster": "fed-east", "kubernetesVersion": "1.35",
        "bastion": {"region": "us-east-1", "cidr": "10.10.0.0/16"},
        "clusters": [{"name": "fed-east", "region": "us-east-1", "cidr": "10.11.0.0/16"},
                     {"name": "fed-west", "region": "us-west-2", "cidr": "10.12.0.0/16",
                      "nodeGroup": {"capacityType": "SPOT", "desiredSize": 4, "maxSize": 8}},
                     {"name": "fed-eu", "region": "eu-west-1", "cidr": "10.13.0.0/16"}],
        "nodeGroup": {"instanceTypes": ["m6i.large", "m6a.large"], "minSize": 2, "desiredSize": 3, "maxSize": 6},
        "natGateways": 3, "peeringTopology": "mesh", "tags": {"project": "federated-eks", "environment": "prod"},
        "kubefed": {"namespace": "kube-federation-system", "controllerImage": {"tag": "v0.10.0"},
                    "joinTimeoutMinutes": 30},
        "quotas": {"vpcsPerRegion": 5, "natGatewaysPerAz": 5}}
HUB = {"account": ACCOUNT, "hostCluster": "fed-1", "kubernetesVersion": "1.35",
       "bastion": {"region": "us-east-1", "cidr": "172.20.0.0/16"},
       "clusters": [{"name": "fed-1", "region": "us-east-1", "cidr": "172.21.0.0/16"},
                    {"name": "fed-2", "region": "us-east-2", "cidr": "172.22.0.0/16"},
                    {"name": "fed-3", "region": "eu-west-1", "cidr": "172.23.0.0/16"}],
       "peeringTopology": "hub", "loadBalancerController": {"install": "auto"},
       "workloads": [ECHO, HELLO, LATENCY, {"manifests": "samples/hello-world"}]}
FIXTURES = {"dev": DEV, "prod": PROD, "hub": HUB}

# Values that broke or nearly broke the config before (issue 17), and the usual suspects.
STRINGS = ["", " ", "x", "fed-1", "fed-2", "fed-3", "us-east-1", "eu-west-1", "echo-server\n", "AWS:foo", "aws:x",
           "\x1b[31mred", "a\u2028b", "k" * 64, "v0.10.0:x", "latest", "Echo.Example.com.", "echo.example.com",
           "10.11.0.0/16", "172.21.0.0/16", "0.0.0.0/0", "latency", "weighted", "failover", "hub", "mesh", "Cluster",
           "Namespaced", "publicAndPrivate", "always", "SPOT", "samples/hello-world", "samples/echo-server",
           "samples/hello-world/", "t4g.small", "m7g.large", "p4d.24xlarge", "1.36", "Z0123456789ABC\n"]
NUMBERS = [-1, 0, 1, 2, 3, 4, 5, 49, 50, 60, 61, 125, 126, 255, 256, 450, 451, 500, 501, 1000, 1001, 65536, 2 ** 31]
VALUES = st.one_of(st.sampled_from(STRINGS), st.sampled_from(NUMBERS), st.booleans(), st.none(),
                   st.just([]), st.just({}), st.text(max_size=12))


def paths(node: Any, here: tuple = ()) -> list[tuple]:
    """Every place in the JSON tree (dict keys and list indexes), parents before children."""
    out = [here]
    if isinstance(node, dict):
        for key, value in node.items():
            out += paths(value, here + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += paths(value, here + (i,))
    return out


def at(node: Any, path: tuple) -> Any:
    for step in path:
        node = node[step]
    return node


def value_like(current: Any) -> st.SearchStrategy:
    """Values of the type already there (mutations a config check is likelier to accept)."""
    if isinstance(current, bool):
        return st.booleans()
    if isinstance(current, int):
        return st.sampled_from(NUMBERS)
    if isinstance(current, str):
        return st.sampled_from(STRINGS)
    return VALUES


@st.composite
def mutated(draw, typed: bool = False) -> tuple[str, dict]:
    """A fixture with 1 to 3 mutations: a value set (of any type, or `typed`: of the type already there), a field or
    list item deleted, a list item copied (a second cluster, workload or folder), a field given a sibling's value."""
    name = draw(st.sampled_from(sorted(FIXTURES)))
    raw = copy.deepcopy(FIXTURES[name])
    for _ in range(draw(st.integers(1, 2 if typed else 3))):
        places = paths(raw)[1:]
        path = draw(st.sampled_from(places))
        parent, key = at(raw, path[:-1]), path[-1]
        op = draw(st.sampled_from(["set", "set", "set", "delete", "copy", "copy-sibling"]))
        if op == "set":
            parent[key] = draw(value_like(parent[key]) if typed else VALUES)
        elif op == "delete":
            if isinstance(parent, dict):
                del parent[key]
            else:
                parent.pop(key)
        elif op == "copy" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))  # a second cluster, workload or folder like this one
        elif isinstance(parent, dict) and len(parent) > 1:
            other = draw(st.sampled_from(sorted(k for k in parent if k != key)))
            parent[key] = copy.deepcopy(parent[other])  # a value of the wrong field
    return name, raw


def check(name: str, raw: dict):
    """The config check and `make topology`'s rendering: a config, or None after a ConfigError with good messages."""
    try:
        cfg = load_environment({name: raw}, name)
    except ConfigError as err:
        assert err.problems
        for p in err.problems:
            assert p.isprintable() and ". Fix: " in p and p.startswith(f"environments.{name}"), p
        return None
    diagram.render(cfg)
    return cfg


SETTINGS = dict(derandomize=True, database=None, deadline=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@settings(max_examples=300, **SETTINGS)
@given(mutated())
def test_mutated_configs_are_refused_with_messages_or_accepted_never_a_traceback(case):
    check(*case)


@settings(max_examples=5, **dict(SETTINGS, suppress_health_check=[*SETTINGS["suppress_health_check"],
                                                                   HealthCheck.filter_too_much]))
@given(mutated(typed=True))
@example(("hub", HUB))  # workloads (failover, latency, replica scheduling) and a folder, always synthesized once
def test_every_accepted_mutation_synthesizes_within_cloudformations_limits(case):
    name, raw = case
    cfg = check(name, raw)
    assume(cfg is not None)  # refusals are the other property's; each example here is a synth
    app = cdk.App(outdir=scratch_dir("fuzz-"), context=CONTEXT)
    try:
        federation_app.build(app, cfg)  # may still refuse a manifest folder against the CRDs (ConfigError)
    except ConfigError as err:
        assert all(p.isprintable() and ". Fix: " in p for p in err.problems), err.problems
        return
    assembly = app.synth()
    cli.check_templates(Path(assembly.directory))  # raises ConfigError (the property fails) if a limit slipped through
    for stack in assembly.stacks:
        resources = {k: r for k, r in stack.template.get("Resources", {}).items() if r["Type"] != "AWS::CDK::Metadata"}
        size = Path(stack.template_full_path).stat().st_size
        assert len(resources) <= cloudformation_limits.RESOURCE_BUDGET, stack.stack_name
        assert len(stack.template.get("Outputs", {})) <= cloudformation_limits.MAX_OUTPUTS, stack.stack_name
        assert size <= cloudformation_limits.MAX_TEMPLATE_BYTES, stack.stack_name
        # The tag budget the config check leaves the user (config.py): the resources' own tags and the stack's.
        assert len(set(stack.tags) - set(dict(cfg.tags))) <= stack_tags.MAX_STACK_TAGS, stack.stack_name
        for r in resources.values():
            tags = r.get("Properties", {}).get("Tags", [])
            keys = [t["Key"] for t in tags] if isinstance(tags, list) else list(tags)
            assert len([k for k in keys if k not in dict(cfg.tags)]) <= config.OWN_RESOURCE_TAGS, keys
        # The federation stack and any workload stacks, as the layout plans them (federation_layout.workload_stacks).
        planned = {topology.stack_name(cfg, topology.FEDERATION_STACK) if p.index == 0 else
                   topology.stack_name(cfg, topology.WORKLOADS_STACK, str(p.index)): p
                   for p in federation_layout.workload_stacks(cfg)}
        if stack.stack_name in planned:
            assert len(resources) == planned[stack.stack_name].resources
            assert size <= planned[stack.stack_name].template_bytes
