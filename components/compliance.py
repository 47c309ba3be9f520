"""cdk-nag acknowledgments: one helper, so every acknowledgment in the code carries its reason.

cdk-nag 3 reports each finding of a rule separately (`AwsSolutions-IAM5[Resource::<Fn.Arn>:*]`) and
matches acknowledgments exactly; the helpers below build those ids from the constructs involved.
"""
from __future__ import annotations

import json

from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from constructs import IConstruct


ACKNOWLEDGED = "fedeks:acknowledged"

_recording = True


def record_acknowledgments(enabled: bool) -> None:
    """Whether `acknowledge` records anything (by default it does). Acknowledgments are read only by the validation
    plugins (cdk-nag, CDK's template validation) and by the tests listing them; they never reach a template. A synth
    that runs no plugin (cli.main: neither `-c nag=true` nor `-c validate=true`) turns recording off: at 100 clusters
    the acknowledgments cost some 3,500 calls into aws-cdk-lib's JavaScript, about a second of the synth
    (bench/synth_time.py). The reasons are still checked."""
    global _recording
    _recording = enabled


def acknowledge(scope: IConstruct, reason: str, *rule_ids: str) -> None:
    """Acknowledge `rule_ids` on `scope` and its children, for `reason` (required, and recorded in the
    construct's metadata so that reviews and tests can list every acknowledgment with its reason)."""
    if not rule_ids or len(reason.strip()) < 20:
        raise ValueError("an acknowledgment needs at least one rule id and a reason a reviewer can judge")
    if not _recording:
        return
    Validations.of(scope).acknowledge(*(Acknowledgment(id=rule_id, reason=reason) for rule_id in rule_ids))
    scope.node.add_metadata(ACKNOWLEDGED, {"rules": list(rule_ids), "reason": reason})


def managed_policy(name: str) -> str:
    """The AwsSolutions-IAM4 finding id for an AWS-managed policy name such as
    'service-role/AWSLambdaBasicExecutionRole'."""
    return f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{name}]"


def logical_id(construct: IConstruct) -> str:
    child = construct.node.default_child if not isinstance(construct, CfnResource) else construct
    return Stack.of(construct).get_logical_id(child)  # type: ignore[arg-type]


def function_versions(function: IConstruct) -> str:
    """The AwsSolutions-IAM5 finding for permission to invoke every version of a function (`ARN:*`). (Not computed
    while acknowledgments are not recorded: it asks the stack for the function's logical id.)"""
    if not _recording:
        return "AwsSolutions-IAM5"
    return f"AwsSolutions-IAM5[Resource::<{logical_id(function)}.Arn>:*]"


def conditional_managed_policy(condition_logical_id: str, name: str) -> str:
    """The AwsSolutions-IAM4 finding for a managed policy attached only when a condition holds."""
    value = {"Fn::If": [condition_logical_id,
                        {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":iam::aws:policy/{name}"]]},
                        {"Ref": "AWS::NoValue"}]}
    return f"AwsSolutions-IAM4[Policy::{json.dumps(value, separators=(',', ':'))}]"


def acknowledge_provider_framework(provider: IConstruct, user_functions: list, what: str) -> None:
    """The findings every CDK Provider framework (aws-cdk-lib custom_resources.Provider) with an isComplete handler
    raises, acknowledged with their reasons; `what` names the user functions (e.g. "the join functions")."""
    framework = [provider.node.find_child(f"framework-{n}") for n in ("isComplete", "onTimeout")]
    acknowledge(provider, "The CDK Provider framework's own functions log with the AWS-managed basic execution "
                "policy; they hold no other permission.", managed_policy("service-role/AWSLambdaBasicExecutionRole"))
    acknowledge(provider, f"The CDK Provider framework invokes {what} and its own steps by ARN with any version "
                "qualifier (ARN:*); nothing else is granted.",
                *(function_versions(f) for f in [*user_functions, *framework]))
    acknowledge(provider, "The Provider's waiter state machine only polls isComplete; each poll is logged by "
                f"{what}.", "AwsSolutions-SF1")
    acknowledge(provider, "X-Ray on the Provider's waiter adds cost and no insight: it makes one Lambda call per "
                "poll.", "AwsSolutions-SF2")
