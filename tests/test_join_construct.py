"""The join functions as synthesized: their timeout, and the clusters they serve (the environment the
construct writes) read back by the Lambda's own allowed_clusters module."""
from __future__ import annotations

import json

import pytest

import allowed_clusters
from fedtest import environment, resources, synth, templates
from properties import parse


def _resolve(value, outputs: dict):
    """Stand-in for CloudFormation: Fn::Join and Fn::GetStackOutput (a fake endpoint per cluster stack)."""
    if isinstance(value, dict) and "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(_resolve(p, outputs) for p in parts)
    if isinstance(value, dict) and "Fn::GetStackOutput" in value:
        ref = value["Fn::GetStackOutput"]
        return outputs.setdefault((ref["StackName"], ref["OutputName"]),
                                  f"https://{len(outputs):032X}.gr7.{ref['Region']}.eks.amazonaws.com")
    if isinstance(value, dict):
        return {k: _resolve(v, outputs) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, outputs) for v in value]
    return value


@pytest.fixture(scope="module")
def federation():
    stacks, _ = synth(environment(2))
    return templates(stacks)["fedeks-test-federation"]


def _functions(t):
    return [f["Properties"] for f in resources(t, "AWS::Lambda::Function").values()
            if f["Properties"].get("Handler", "").startswith("handler.")]


def test_functions_time_out_after_two_minutes(federation):
    assert [f["Timeout"] for f in _functions(federation)] == [120, 120]


def test_the_functions_serve_exactly_the_clusters_the_stack_joins(federation):
    outputs: dict = {}
    envs = [_resolve(f["Environment"]["Variables"][allowed_clusters.ENV_VAR], outputs)
            for f in _functions(federation)]
    assert envs[0] == envs[1]
    allowed = allowed_clusters.load({allowed_clusters.ENV_VAR: envs[0]})
    assert sorted(allowed) == ["fed-1", "fed-2"]
    joins = resources(federation, "Custom::KubefedJoin").values()
    assert len(joins) == 2
    for join in joins:
        props = _resolve(join["Properties"], outputs)
        props["Member"]["CaData"] = props["Host"]["CaData"] = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="
        req = parse(props)
        allowed_clusters.check(req.member, "member", allowed)  # the deployed values pass
        allowed_clusters.check(req.host, "host", allowed)
        other = req.member.__class__(req.member.name, "someone-else", req.member.region, req.member.endpoint, "")
        with pytest.raises(allowed_clusters.NotAllowed, match="EksClusterName"):
            allowed_clusters.check(other, "member", allowed)
    assert len(json.dumps(envs[0])) < 4096
