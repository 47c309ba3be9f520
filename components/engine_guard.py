"""The engine guard: a deployed federation refuses to change its engine (KubeFed <-> Karmada) in place.

Why a guard: the two engines' resources have different logical ids (KubefedControlPlane, Join-*, ... vs
KarmadaControlPlane, ...), so a config that switches engines would make CloudFormation create the new control plane,
joins and workloads beside the old ones, and delete the old ones only in the update's cleanup phase: two
federations on the same clusters for the length of a deploy, workloads served twice, then the old engine's
unjoins racing the new one's. Nothing at synth can tell (synth reads no AWS state), so the deployed federation
refuses it itself, before anything else of the update runs.

How: one manifest on the host, with the same construct id for both engines, so a switch is an *update* of it
(aws-cdk-lib's kubectl handler: `kubectl apply` of the new manifest):
- ConfigMap `federated-eks-engine` in kube-system, `data.engine` = the engine;
- a ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, GA in Kubernetes 1.30; every supported EKS version
  serves it) and its binding (`Deny`) refusing an UPDATE of that ConfigMap that changes `data.engine`, with a message
  that says what to do. The policy is applied before the ConfigMap in the same `kubectl apply`; the ConfigMap's update
  is then refused, the kubectl handler fails with that message, and CloudFormation rolls the update back. Every
  other resource of the federation stack depends on the guard (stacks/federation.py makes each construct of the
  stack depend on it: control plane, join provider with its functions, security group and rules, joins, workloads),
  so none has been created or changed when it fails; CloudFormation does not send a rollback update to the resource
  whose update failed.
A create (a new federation, or the first deploy after `cdk destroy` of the federation stack) matches no rule; a
delete (destroy) removes the guard with the stack.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from aws_cdk import aws_eks_v2 as eks
from constructs import Construct

from federated_eks.plan import operator_commands

NAME = "federated-eks-engine"
NAMESPACE = "kube-system"
ADMISSION_API = "admissionregistration.k8s.io/v1"


def _cel_string(text: str) -> str:
    """`text` as a CEL string literal (JSON's escapes are CEL's for the characters a message has)."""
    return json.dumps(text)


# Placeholders for the two engines in the refusal's text (federated_eks/plan/operator_commands.py, shared with the
# host guard), replaced by CEL expressions: the engine deployed (the ConfigMap before) and the one requested.
_DEPLOYED, _REQUESTED = "\x00deployed\x00", "\x00requested\x00"
_CEL_VALUES = {_DEPLOYED: "oldObject.data.engine", _REQUESTED: "object.data.engine"}


def refusal_message(env_name: str, federation_stack: str) -> str:
    """The CEL expression of the refusal: the deployed engine, the requested one, and the steps (the text of
    operator_commands.engine_change, which `make deploy`'s host guard gives too)."""
    text = "federated-eks: " + operator_commands.engine_change(env_name, federation_stack, _DEPLOYED, _REQUESTED)
    parts = []
    for piece in re.split(f"({re.escape(_DEPLOYED)}|{re.escape(_REQUESTED)})", text):
        if piece:
            parts.append(_CEL_VALUES.get(piece) or _cel_string(piece))
    return " + ".join(parts)


def guard_manifest(engine: str, env_name: str, federation_stack: str) -> list[dict[str, Any]]:
    """The guard's objects, in apply order (pure)."""
    policy = {
        "apiVersion": ADMISSION_API, "kind": "ValidatingAdmissionPolicy", "metadata": {"name": NAME},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                                                    "operations": ["UPDATE"], "resources": ["configmaps"]}]},
            "matchConditions": [{"name": "the-engine-configmap",
                                 "expression": f"object.metadata.namespace == {_cel_string(NAMESPACE)} && "
                                               f"object.metadata.name == {_cel_string(NAME)}"}],
            "validations": [{"expression": "!has(oldObject.data) || !('engine' in oldObject.data) || "
                                           "(has(object.data) && 'engine' in object.data && "
                                           "object.data.engine == oldObject.data.engine)",
                             "messageExpression": refusal_message(env_name, federation_stack),
                             "reason": "Forbidden"}],
        },
    }
    binding = {"apiVersion": ADMISSION_API, "kind": "ValidatingAdmissionPolicyBinding", "metadata": {"name": NAME},
               "spec": {"policyName": NAME, "validationActions": ["Deny"]}}
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": NAME, "namespace": NAMESPACE},
                  "data": {"engine": engine}}
    return [policy, binding, config_map]


@dataclass(frozen=True)
class EngineGuardProps:
    cluster: eks.ICluster
    """The host cluster (with a kubectl provider)."""
    engine: str
    env_name: str
    federation_stack: str


class EngineGuard(Construct):
    """Attribute `manifest`: what every other resource of the federation stack depends on."""

    def __init__(self, scope: Construct, id: str, props: EngineGuardProps) -> None:
        super().__init__(scope, id)
        self.manifest = eks.KubernetesManifest(
            self, "Manifest", cluster=props.cluster, overwrite=True,
            manifest=guard_manifest(props.engine, props.env_name, props.federation_stack))
