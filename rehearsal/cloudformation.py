"""The player: a cloud assembly's stacks created and deleted in CloudFormation's order, in virtual time.

Order, as CloudFormation and the CDK CLI run it:
- stacks: `cdk deploy --all --concurrency N` deploys a stack once every stack it depends on is deployed (the
  manifest's dependencies, and the stacks whose outputs its template reads through Fn::GetStackOutput or
  Fn::ImportValue), so stacks go in levels; `cdk destroy --all` deletes them in the reverse order;
- resources in a stack: CloudFormation starts a resource once everything it depends on exists (DependsOn, and
  every Ref, Fn::GetAtt and Fn::Sub reference: "CloudFormation resource dependencies", DependsOn attribute
  reference), many at once; it deletes a resource once nothing that depends on it is left. AWS resources take
  seconds, custom resources (Lambda functions polling Kubernetes) minutes, so the player runs every ready AWS
  resource first, and a custom resource only when no AWS resource is ready: whatever the dependencies allow
  CloudFormation to do while a custom resource runs is done before it. On a delete that means an AWS resource
  nothing depends on (a security group rule) is gone before a custom resource that needs it is deleted: exactly
  how a delete hangs when a custom resource needs a network path it does not depend on.

The custom resources that talk to Kubernetes go to the Kubernetes side (`Kubernetes.handles`); the CDK's own
utility resources (Custom::AWSCDKCfnJson, Custom::VpcRestrictDefaultSG) are served here.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from rehearsal import aws as aws_model
from rehearsal.intrinsics import (NO_VALUE, IntrinsicFailure, condition_value, references, resolve,
                                  stack_references)
from rehearsal.network import Network
from rehearsal.world import (Clock, CustomResourceRequest, Kubernetes, LambdaFunction, ProviderCall,
                             RehearsalFailure)

# ---- the cloud assembly -----------------------------------------------------------------------------------------


@dataclass
class Stack:
    """One stack artifact of the cloud assembly."""

    name: str
    region: str
    account: str
    template: dict[str, Any]
    depends_on: set[str]
    assets: dict[str, Path]
    """S3 object key -> the asset's folder or file in the cloud assembly."""
    tags: dict[str, str] = field(default_factory=dict)
    """The stack's tags (the manifest's), which `make prune` reads."""


def _stack_environment(artifact: dict[str, Any], default_account: str) -> tuple[str, str]:
    env = artifact.get("environment", "aws://unknown-account/unknown-region")
    account, region = env.removeprefix("aws://").split("/", 1)
    if region == "unknown-region":
        raise RehearsalFailure(f"stack environment {env!r} has no region",
                               fix="give every stack an explicit env (account and region)")
    return (default_account if account == "unknown-account" else account), region


def _assets(folder: Path, manifest_file: str | None) -> dict[str, Path]:
    if not manifest_file or not (folder / manifest_file).exists():
        return {}
    out: dict[str, Path] = {}
    for entry in json.loads((folder / manifest_file).read_text()).get("files", {}).values():
        source = folder / entry["source"]["path"]
        for destination in entry.get("destinations", {}).values():
            out[destination["objectKey"]] = source
    return out


def _tags(raw: Any) -> dict[str, str]:
    """A stack artifact's tags: a map in the manifest (cloud-assembly-schema AwsCloudFormationStackProperties.tags);
    a list of {key, value} in older assemblies."""
    if isinstance(raw, dict):
        return {str(k): str(v) for k, v in raw.items()}
    return {t["key"]: t["value"] for t in raw or [] if isinstance(t, dict) and "key" in t}


def read_assembly(folder: Path, default_account: str = "123456789012") -> list[Stack]:
    manifest = json.loads((folder / "manifest.json").read_text())
    artifacts = manifest["artifacts"]
    stacks: list[Stack] = []
    for artifact_id, artifact in artifacts.items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        props = artifact.get("properties", {})
        account, region = _stack_environment(artifact, default_account)
        asset_manifests = [a for a in artifact.get("dependencies", []) if
                           artifacts.get(a, {}).get("type") == "cdk:asset-manifest"]
        assets: dict[str, Path] = {}
        for a in asset_manifests:
            assets.update(_assets(folder, artifacts[a].get("properties", {}).get("file")))
        stacks.append(Stack(
            name=props.get("stackName", artifact_id), region=region, account=account,
            template=json.loads((folder / props["templateFile"]).read_text()),
            depends_on={artifacts_stack_name(artifacts, d) for d in artifact.get("dependencies", [])
                        if artifacts.get(d, {}).get("type") == "aws:cloudformation:stack"},
            assets=assets, tags=_tags(props.get("tags"))))
    exports = {o["Export"]["Name"]: s.name for s in stacks
               for o in s.template.get("Outputs", {}).values() if isinstance(o.get("Export", {}).get("Name"), str)}
    names = {s.name for s in stacks}
    for s in stacks:
        for kind, name in stack_references(s.template.get("Resources", {})) | \
                stack_references(s.template.get("Outputs", {})):
            other = name if kind == "stack" else exports.get(name)
            if other is None or other not in names:
                raise RehearsalFailure(f"stack {s.name} reads {kind} {name!r}, which no stack of the assembly has",
                                       stack=s.name, fix="deploy that stack with this app, or drop the reference")
            if other != s.name:
                s.depends_on.add(other)
    return stacks


def artifacts_stack_name(artifacts: dict[str, Any], artifact_id: str) -> str:
    return artifacts[artifact_id].get("properties", {}).get("stackName", artifact_id)


def levels(nodes: dict[str, set[str]]) -> list[list[str]]:
    """Kahn's levels: each node after everything it depends on; a cycle is a failure naming its members."""
    remaining = {n: set(d) & set(nodes) for n, d in nodes.items()}
    out: list[list[str]] = []
    while remaining:
        ready = sorted(n for n, d in remaining.items() if not d)
        if not ready:
            raise RehearsalFailure(f"circular dependency between {sorted(remaining)!r}",
                                   fix="break the cycle (CloudFormation refuses it too)")
        out.append(ready)
        for n in ready:
            del remaining[n]
        for d in remaining.values():
            d.difference_update(ready)
    return out


def resource_dependencies(resources: dict[str, Any]) -> dict[str, set[str]]:
    """Each resource -> the resources of the same template it depends on (DependsOn, Ref, GetAtt, Sub)."""
    out = {}
    for logical_id, resource in resources.items():
        depends = resource.get("DependsOn", [])
        depends = {depends} if isinstance(depends, str) else set(depends)
        refs = references(resource.get("Properties", {}))
        out[logical_id] = (depends | refs) & set(resources)
    return out


def is_custom(cfn_type: str) -> bool:
    return cfn_type.startswith("Custom::") or cfn_type == "AWS::CloudFormation::CustomResource"


# ---- the Provider framework -------------------------------------------------------------------------------------


def provider_call(aws: aws_model.Aws, token_function: LambdaFunction) -> ProviderCall:
    """What a ServiceToken leads to. The Provider framework's onEvent function (aws-cdk-lib
    custom-resources/lib/provider-framework/provider.js) carries the user's handlers in its environment
    (USER_ON_EVENT_FUNCTION_ARN, USER_IS_COMPLETE_FUNCTION_ARN) and, with an isComplete handler, the waiter state
    machine (WAITER_STATE_MACHINE_ARN) whose only task retries isComplete every IntervalSeconds, MaxAttempts
    times, BackoffRate 1 (util.js calculateRetryPolicy: maxAttempts = totalTimeout / queryInterval; defaults 30
    minutes and 5 seconds); so the total timeout is IntervalSeconds x MaxAttempts."""
    env = token_function.environment
    if "USER_ON_EVENT_FUNCTION_ARN" not in env:
        return ProviderCall(on_event=token_function, total_timeout_seconds=token_function.timeout_seconds)

    def function(arn: str) -> LambdaFunction:
        if arn not in aws.functions:
            raise RehearsalFailure(f"the Provider framework calls {arn}, which does not exist")
        return aws.functions[arn]

    on_event = function(env["USER_ON_EVENT_FUNCTION_ARN"])
    if "USER_IS_COMPLETE_FUNCTION_ARN" not in env:
        return ProviderCall(on_event=on_event, total_timeout_seconds=on_event.timeout_seconds)
    definition = json.loads(aws.state_machines.get(env.get("WAITER_STATE_MACHINE_ARN", ""), "{}"))
    retry = next((r for state in definition.get("States", {}).values() for r in state.get("Retry", [])), {})
    interval, attempts = int(retry.get("IntervalSeconds", 5)), int(retry.get("MaxAttempts", 360))
    return ProviderCall(on_event=on_event, is_complete=function(env["USER_IS_COMPLETE_FUNCTION_ARN"]),
                        query_interval_seconds=interval, total_timeout_seconds=interval * attempts)


# ---- playing ----------------------------------------------------------------------------------------------------


@dataclass
class Live:
    """A created resource."""

    logical_id: str
    type: str
    physical_id: str
    attributes: dict[str, Any]
    properties: dict[str, Any]
    generation: int = 0
    """How many times an update replaced it (aws.Request.generation)."""


@dataclass
class Summary:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    retained: int = 0
    """DeletionPolicy Retain: left in the account by the delete, as CloudFormation leaves them."""
    virtual_seconds: float = 0.0
    estimated_seconds: float = 0.0
    """With CloudFormation's parallelism: per level the slowest stack, per stack the longest chain."""
    steps: list[str] = field(default_factory=list)


def _azs(region: str) -> list[str]:
    return [f"{region}{z}" for z in "abc"]


class StackScope:
    """Resolution scope of one stack (implements intrinsics.Scope)."""

    def __init__(self, player: "Player", stack: Stack) -> None:
        self.player, self.spec = player, stack
        self.stack, self.region, self.account = stack.name, stack.region, stack.account
        self.parameters = {name: self._parameter(name, p) for name, p in stack.template.get("Parameters", {}).items()}
        self.live: dict[str, Live] = {}
        self.replaced: dict[str, Live] = {}
        """During an update: the old resources an update replaced, deleted in the cleanup phase."""
        self._conditions: dict[str, bool] = {}

    def _parameter(self, name: str, spec: dict[str, Any]) -> Any:
        if "Default" not in spec:
            raise RehearsalFailure(f"parameter {name} has no default: `cdk deploy` would need it on the command "
                                   "line", stack=self.stack, fix="give the parameter a default")
        kind = spec.get("Type", "String")
        if kind == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>":
            return aws_model.physical_id("ami-", spec["Default"], self.region)  # SSM resolves it to an AMI id
        if kind == "CommaDelimitedList" or kind.startswith("List<"):
            return str(spec["Default"]).split(",")
        return spec["Default"]

    def ref(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        return self._live(name, "Ref").physical_id

    def _live(self, logical_id: str, how: str) -> Live:
        if logical_id not in self.live:
            raise IntrinsicFailure(f"{how} to {logical_id!r}, which is not created (yet)", stack=self.stack,
                                   fix="add it to the template or depend on it")
        return self.live[logical_id]

    def get_att(self, logical_id: str, attribute: str) -> Any:
        live = self._live(logical_id, "Fn::GetAtt")
        if attribute not in live.attributes:
            raise IntrinsicFailure(f"Fn::GetAtt {logical_id}.{attribute}: {live.type} has no attribute "
                                   f"{attribute!r} in the rehearsal's model (it has {sorted(live.attributes)!r})",
                                   stack=self.stack, resource=logical_id,
                                   fix=f"check the attribute name, or model it in rehearsal/aws.py for {live.type}")
        return live.attributes[attribute]

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            conditions = self.spec.template.get("Conditions", {})
            if name not in conditions:
                raise IntrinsicFailure(f"condition {name!r} is not in the template", stack=self.stack)
            self._conditions[name] = condition_value(conditions[name], self)
        return self._conditions[name]

    def mapping(self, name: str, key: str, attribute: str) -> Any:
        try:
            return self.spec.template["Mappings"][name][key][attribute]
        except KeyError:
            raise IntrinsicFailure(f"Fn::FindInMap {name}/{key}/{attribute} is not in the template's Mappings",
                                   stack=self.stack) from None

    def stack_output(self, stack: str, region: str, output: str) -> Any:
        return self.player.output(stack, region, output, reader=self.stack)

    def import_value(self, export: str) -> Any:
        return self.player.export(export, reader=self.stack)

    def azs(self, region: str) -> list[str]:
        return _azs(region)


class Player:
    def __init__(self, stacks: list[Stack], kubernetes: Kubernetes, out: Callable[[str], None] = print,
                 account: str = "123456789012") -> None:
        self.stacks = {s.name: s for s in stacks}
        self.kubernetes = kubernetes
        self.out = out
        self.clock = Clock()
        self.aws = aws_model.Aws(kubernetes, account)
        self.aws.clock_now = lambda: self.clock.now
        self.network = Network(self.aws)
        attach = getattr(kubernetes, "attach_cloud", None)
        if attach is not None:  # the AWS APIs the cluster's controllers call (ExternalDNS: Route 53)
            attach(self.aws)
        self.scopes: dict[str, StackScope] = {}
        self.outputs: dict[str, dict[str, Any]] = {}
        self.exports: dict[str, tuple[str, Any]] = {}
        self.imports: dict[str, set[str]] = {}
        """Export name -> stacks that import it."""
        self.summary = Summary()

    # ---- cross-stack values ------------------------------------------------------------------------------------
    def output(self, stack: str, region: str, name: str, reader: str) -> Any:
        if stack not in self.outputs:
            raise RehearsalFailure(f"{reader} reads output {name} of stack {stack}, which is not deployed",
                                   stack=reader, fix=f"make {reader} depend on {stack}")
        if self.stacks[stack].region != region:
            raise RehearsalFailure(f"{reader} reads {stack} in {region}, but it is deployed in "
                                   f"{self.stacks[stack].region}", stack=reader)
        if name not in self.outputs[stack]:
            raise RehearsalFailure(f"{reader} reads output {name!r} of {stack}, which has no such output",
                                   stack=reader)
        return self.outputs[stack][name]

    def export(self, name: str, reader: str) -> Any:
        if name not in self.exports:
            raise RehearsalFailure(f"{reader} imports {name!r}, which no deployed stack exports", stack=reader)
        self.imports.setdefault(name, set()).add(reader)
        return self.exports[name][1]

    # ---- printing ----------------------------------------------------------------------------------------------
    def step(self, action: str, stack: str, live_or_id: str, cfn_type: str, outcome: str) -> None:
        minutes, seconds = divmod(int(self.clock.now), 60)
        line = f"[{minutes:4d}:{seconds:02d}] {action:<7} {stack}  {live_or_id}  {cfn_type}  {outcome}"
        self.summary.steps.append(line)
        self.out(line)

    @staticmethod
    def label(stack: Stack, logical_id: str) -> str:
        """The construct path without the stack and the CDK's trailing Resource/Default: `Eks/Cluster`."""
        path = stack.template["Resources"][logical_id].get("Metadata", {}).get("aws:cdk:path", "")
        parts = path.split("/")[1:]
        while len(parts) > 1 and parts[-1] in ("Resource", "Default"):
            parts.pop()
        return "/".join(parts) or logical_id

    # ---- the whole play ----------------------------------------------------------------------------------------
    def stack_levels(self) -> list[list[str]]:
        return levels({n: s.depends_on for n, s in self.stacks.items()})

    def _levels(self, action: str, order: list[list[str]], play_stack: Callable[[Stack], float]) -> None:
        """Stacks level by level (each level's stacks run in parallel with `--concurrency`: its slowest counts)."""
        for number, level in enumerate(order, 1):
            self.out(f"--- {action} level {number}: {', '.join(level)}")
            self.summary.estimated_seconds += max(play_stack(self.stacks[name]) for name in level)

    def create_all(self) -> None:
        self._levels("create", self.stack_levels(), self.create_stack)

    def delete_all(self) -> None:
        # `cdk destroy --all` deletes in the reverse of the deploy order, within a level too.
        self._levels("delete", [level[::-1] for level in reversed(self.stack_levels())], self.delete_stack)

    def play(self) -> Summary:
        """Create every stack, then delete every stack; raises RehearsalFailure at the first failure."""
        self.create_all()
        self.delete_all()
        self.check_left_in_route53()
        self.summary.virtual_seconds = self.clock.now
        return self.summary

    def check_left_in_route53(self) -> None:
        """After the last delete, the hosted zones hold nothing ExternalDNS wrote for the environment: a record left
        there answers with a load balancer that no longer exists (ExternalDNS deletes its records only with policy
        `sync`, and only while it runs after the Services are gone)."""
        for zone in self.aws.hosted_zones.zones.values():
            owner_of = aws_model.route53_model.owner_of
            owned = sorted(key[0] for key, rrset in zone.records.items() if key[1] == "TXT" and any(
                owner_of(str(r.get("Value", ""))) is not None for r in rrset.get("ResourceRecords", [])))
            if owned:
                raise RehearsalFailure(
                    f"after the delete, hosted zone {zone.id} ({zone.name}) still holds {len(zone.records)} record "
                    f"sets ExternalDNS wrote, e.g. ownership records {owned[:3]!r}: they answer with load balancers "
                    "that no longer exist", resource="ExternalDNS",
                    fix="run ExternalDNS with policy `sync` (it deletes the records of deleted Services) and delete "
                        "the workloads' Services before ExternalDNS (the federation stack before the cluster stacks)")

    def play_update(self, then: list[Stack]) -> Summary:
        """Create every stack, deploy `then` over them as `cdk deploy --all` does, then delete `then`'s stacks in
        reverse and the stacks it no longer has (which the deploy leaves running) as `make prune` does."""
        self.create_all()
        self.delete_after_update(then, self.deploy(then))
        self.check_left_in_route53()
        self.summary.virtual_seconds = self.clock.now
        return self.summary

    def delete_after_update(self, then: list[Stack], left: list[str]) -> None:
        """`cdk destroy --all` of the new assembly (reverse order), then what it left running in prune's order."""
        self._levels("delete", [level[::-1] for level in reversed(levels({s.name: s.depends_on for s in then}))],
                     self.delete_stack)
        if left:
            self._levels("prune", [[name] for name in self.prune_order(left)], self.delete_stack)

    def deploy(self, then: list[Stack]) -> list[str]:
        """`cdk deploy --all` of a new assembly over the deployed stacks: in its order (levels), each stack
        updated if deployed, else created. The CDK never deletes a stack the app no longer has: returns those
        (left running, as `make prune` lists them)."""
        new = {s.name: s for s in then}
        for name, stack in new.items():
            if name in self.scopes and self.stacks[name].region != stack.region:
                raise RehearsalFailure(f"stack {name} is deployed in {self.stacks[name].region} and the new assembly "
                                       f"has it in {stack.region}: a second stack of that name, which the "
                                       "rehearsal does not model", stack=name)
        left = sorted(name for name in self.scopes if name not in new)
        self.stacks.update(new)
        self._levels("update", levels({n: s.depends_on for n, s in new.items()}),
                     lambda stack: self.update_stack(stack) if stack.name in self.scopes else self.create_stack(stack))
        if left:
            self.out(f"--- left running by the update (no longer in the app; `make prune` deletes them): "
                     f"{', '.join(left)}")
        return left

    def prune_order(self, names: list[str]) -> list[str]:
        """federated_eks/operations/prune.py's delete order (by kind, and each stack before the stacks it reads)."""
        from federated_eks.operations.prune import DeployedStack, delete_order
        from federated_eks.plan.stack_tags import DELETE_ORDER, KIND_TAG

        if any(self.stacks[n].tags.get(KIND_TAG) not in DELETE_ORDER for n in names):
            # Not this app's stacks (no kind tag `make prune` knows): the reverse of their deploy order.
            return [n for level in reversed(levels({n: self.stacks[n].depends_on for n in names}))
                    for n in reversed(level)]
        stacks = [DeployedStack(n, self.stacks[n].region, "UPDATE_COMPLETE", self.stacks[n].tags,
                                self.stacks[n].account,
                                frozenset((d, self.stacks[d].region) for d in self.stacks[n].depends_on
                                          if d in self.stacks)) for n in names]
        return [s.name for s in delete_order(stacks)]

    # ---- one stack ---------------------------------------------------------------------------------------------
    def _active(self, scope: StackScope) -> dict[str, Any]:
        resources = scope.spec.template.get("Resources", {})
        return {k: r for k, r in resources.items() if "Condition" not in r or scope.condition(r["Condition"])}

    def _check_rules(self, scope: StackScope) -> None:
        for name, rule in scope.spec.template.get("Rules", {}).items():
            if "RuleCondition" in rule and not condition_value(rule["RuleCondition"], scope):
                continue
            for assertion in rule.get("Assertions", []):
                if not condition_value(assertion["Assert"], scope):
                    raise RehearsalFailure(f"rule {name}: {assertion.get('AssertDescription', 'assertion fails')}",
                                           stack=scope.stack)

    def _run(self, scope: StackScope, after: dict[str, set[str]], request_type: str,
             resources: dict[str, Any]) -> float:
        """Run every resource of `after` (resource -> what must be done first): ready AWS resources first, all of
        them, then one ready custom resource, and again. Returns the stack's duration with CloudFormation's
        parallelism (the longest chain of durations)."""
        pending = {n: set(d) for n, d in after.items()}
        finished: dict[str, float] = {}

        def done(names: list[str], seconds: dict[str, float]) -> None:
            for n in names:
                finished[n] = max((finished[d] for d in after[n]), default=0.0) + seconds.get(n, 0.0)
                del pending[n]

        while pending:
            ready = sorted(n for n, d in pending.items() if d <= finished.keys())
            if not ready:
                raise RehearsalFailure(f"circular dependency between {sorted(pending)!r}", stack=scope.stack)
            fast = [n for n in ready if not is_custom(resources[n]["Type"])]
            if fast:
                seconds = {n: self._aws(scope, request_type, n, resources[n]) for n in fast}
                self.clock.advance(max(seconds.values(), default=0.0))
                done(fast, seconds)
            else:
                start = self.clock.now
                self._custom(scope, request_type, ready[0], resources[ready[0]])
                done(ready[:1], {ready[0]: self.clock.now - start})
        return max(finished.values(), default=0.0)

    def create_stack(self, stack: Stack) -> float:
        scope = StackScope(self, stack)
        self.scopes[stack.name] = scope
        self._check_rules(scope)
        resources = self._active(scope)
        elapsed = self._run(scope, resource_dependencies(resources), "Create", resources)
        self._publish_outputs(scope)
        elapsed += self._after_stack(stack)
        self.step("create", stack.name, "(stack)", "AWS::CloudFormation::Stack", "CREATE_COMPLETE")
        return elapsed

    def _after_stack(self, stack: Stack) -> float:
        """What the clusters' controllers do once the stack is done (Kubernetes.after_stack: ExternalDNS's records);
        the virtual seconds it took."""
        after = getattr(self.kubernetes, "after_stack", None)
        if after is None:
            return 0.0
        start = self.clock.now
        after(self.clock, stack.name)
        return self.clock.now - start

    def _publish_outputs(self, scope: StackScope) -> None:
        """The stack's outputs and exports. An update may neither drop nor change an export another stack imports
        (CloudFormation: "Cannot delete export ... as it is in use by ...", "Cannot update export ... as it is in
        use by ..."; User Guide, "Get exported outputs from a deployed CloudFormation stack")."""
        stack = scope.spec
        before = {e: v for e, (owner, v) in self.exports.items() if owner == stack.name}
        for export in before:
            del self.exports[export]
        self.outputs[stack.name] = {}
        for name, output in stack.template.get("Outputs", {}).items():
            if "Condition" in output and not scope.condition(output["Condition"]):
                continue
            value = self._resolve(scope, output["Value"], f"output {name}")
            self.outputs[stack.name][name] = value
            export = output.get("Export", {}).get("Name")
            if export is not None:
                export = self._resolve(scope, export, f"output {name}")
                if export in self.exports:
                    raise RehearsalFailure(f"export {export!r} already exported by {self.exports[export][0]}",
                                           stack=stack.name, fix="give each export a unique name")
                self.exports[export] = (stack.name, value)
        for export, value in before.items():
            users = sorted((self.imports.get(export, set()) & set(self.outputs)) - {stack.name})
            if users and (export not in self.exports or self.exports[export][1] != value):
                verb = "delete" if export not in self.exports else "update"
                raise RehearsalFailure(f"Cannot {verb} export {export} as it is in use by {', '.join(users)}",
                                       stack=stack.name, fix="keep the export until no stack imports it (deploy "
                                       "the importing stacks without the import first)")

    def update_stack(self, stack: Stack) -> float:
        """CloudFormation's stack update ("Understand update behaviors of stack resources",
        https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html:
        a replacement is created first, references move to it, then the old one is deleted; "Monitor the progress of
        a stack update", .../using-cfn-updating-stacks-monitor-stack.html): resources new to the template are created and changed ones updated, in dependency order
        (UPDATE_IN_PROGRESS); a replaced resource's new physical resource is made then, and every old one, and every
        resource the template no longer has, is deleted after all creates and updates of the stack, in the
        UPDATE_COMPLETE_CLEANUP_IN_PROGRESS phase, in reverse dependency order. A resource whose properties did not
        change is not touched (metadata and DependsOn changes call no handler)."""
        old = self.scopes[stack.name]
        scope = StackScope(self, stack)
        scope.live = old.live
        self.scopes[stack.name] = scope
        self._check_rules(scope)
        for readers in self.imports.values():  # what it imports is read again from the new template
            readers.discard(stack.name)
        resources = self._active(scope)
        elapsed = self._run(scope, resource_dependencies(resources), "Update", resources)
        self._publish_outputs(scope)
        self.step("update", stack.name, "(stack)", "AWS::CloudFormation::Stack", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
        elapsed += self._cleanup(scope, old.spec, resources)
        elapsed += self._after_stack(stack)
        self.step("update", stack.name, "(stack)", "AWS::CloudFormation::Stack", "UPDATE_COMPLETE")
        return elapsed

    def _cleanup(self, scope: StackScope, old: Stack, resources: dict[str, Any]) -> float:
        """The cleanup phase: the resources the new template no longer has (their DeletionPolicy) and the old
        physical resources of replaced ones (the new template's UpdateReplacePolicy), deleted in the reverse order
        of the old template's dependencies."""
        removed = {lid: scope.live.pop(lid) for lid in [k for k in scope.live if k not in resources]}
        doomed = {**removed, **scope.replaced}
        if not doomed:
            return 0.0
        policy = {lid: old.template["Resources"].get(lid, {}).get("DeletionPolicy") for lid in removed}
        policy.update({lid: resources[lid].get("UpdateReplacePolicy") for lid in scope.replaced})
        synthetic = {lid: {"Type": live.type, "Metadata": old.template["Resources"].get(lid, {}).get("Metadata", {}),
                           **({"DeletionPolicy": policy[lid]} if policy[lid] else {})} for lid, live in doomed.items()}
        cleanup = StackScope(self, Stack(old.name, old.region, old.account, {"Resources": synthetic}, old.depends_on,
                                         old.assets, old.tags))
        cleanup.live = doomed
        dependents: dict[str, set[str]] = {lid: set() for lid in doomed}
        for lid, deps in resource_dependencies({k: old.template["Resources"].get(k, {}) for k in doomed}).items():
            for d in deps:
                dependents[d].add(lid)
        scope.replaced = {}
        return self._run(cleanup, dependents, "Delete", synthetic)

    def delete_stack(self, stack: Stack) -> float:
        scope = self.scopes[stack.name]
        for export, (owner, _) in list(self.exports.items()):
            if owner == stack.name:
                users = self.imports.get(export, set()) & set(self.outputs)
                if users - {stack.name}:
                    raise RehearsalFailure(f"export {export!r} is still imported by {sorted(users)!r}",
                                           stack=stack.name, fix="delete the importing stacks first")
                del self.exports[export]
        resources = {k: r for k, r in self._active(scope).items() if k in scope.live}
        dependents: dict[str, set[str]] = {r: set() for r in resources}
        for r, deps in resource_dependencies(resources).items():
            for d in deps:
                dependents[d].add(r)
        elapsed = self._run(scope, dependents, "Delete", resources)
        del self.outputs[stack.name]
        elapsed += self._after_stack(stack)
        self.step("delete", stack.name, "(stack)", "AWS::CloudFormation::Stack", "DELETE_COMPLETE")
        return elapsed

    # ---- one resource ------------------------------------------------------------------------------------------
    def _resolve(self, scope: StackScope, value: Any, where: str) -> Any:
        try:
            result = resolve(value, scope)
        except RehearsalFailure as failure:
            failure.stack = failure.stack or scope.stack
            failure.resource = failure.resource or where
            raise
        return {} if result is NO_VALUE else result

    def _request(self, scope: StackScope, logical_id: str, properties: dict[str, Any],
                 generation: int = 0) -> aws_model.Request:
        return aws_model.Request(self.aws, scope.stack, logical_id, scope.region, properties,
                                 lambda key: scope.spec.assets.get(key), generation)

    def _where(self, failure: RehearsalFailure, scope: StackScope, logical_id: str) -> RehearsalFailure:
        failure.stack = scope.stack
        failure.resource = f"{self.label(scope.spec, logical_id)} ({logical_id})"
        return failure

    def _aws(self, scope: StackScope, request_type: str, logical_id: str, resource: dict[str, Any]) -> float:
        if request_type == "Delete":
            return self._delete_aws(scope, logical_id)
        if request_type == "Update" and logical_id in scope.live:
            return self._update_aws(scope, logical_id, resource)
        return self._create_aws(scope, logical_id, resource)

    def _create_aws(self, scope: StackScope, logical_id: str, resource: dict[str, Any], generation: int = 0,
                    outcome: str = "ok") -> float:
        cfn_type = resource["Type"]
        try:
            kind = aws_model.resource_type(cfn_type)
            properties = self._resolve(scope, resource.get("Properties", {}), logical_id)
            created = kind.create(self._request(scope, logical_id, properties, generation))
        except RehearsalFailure as failure:
            self.step("create", scope.stack, self.label(scope.spec, logical_id), cfn_type, "FAILED")
            raise self._where(failure, scope, logical_id) from None
        scope.live[logical_id] = Live(logical_id, cfn_type, created.physical_id, created.attributes, properties,
                                      generation)
        self.summary.created += 1
        self.step("create", scope.stack, self.label(scope.spec, logical_id), cfn_type, outcome)
        return kind.seconds

    def _changed(self, scope: StackScope, logical_id: str, resource: dict[str, Any]) -> dict[str, Any] | None:
        """The resource's new properties, or None when an update leaves it alone. Its type cannot change
        (CloudFormation: "Update of resource type is not permitted")."""
        live = scope.live[logical_id]
        if resource["Type"] != live.type:
            raise self._where(RehearsalFailure(
                f"Update of resource type is not permitted ({live.type} -> {resource['Type']})",
                fix="give the new resource a new logical id"), scope, logical_id)
        properties = self._resolve(scope, resource.get("Properties", {}), logical_id)
        return None if properties == live.properties else properties

    def _update_aws(self, scope: StackScope, logical_id: str, resource: dict[str, Any]) -> float:
        live = scope.live[logical_id]
        properties = self._changed(scope, logical_id, resource)
        if properties is None:
            return 0.0
        label = self.label(scope.spec, logical_id)
        replacing = aws_model.replacing_changes(live.type, live.properties, properties)
        if replacing:  # the new one now, the old one in the cleanup phase
            scope.replaced[logical_id] = live
            return self._create_aws(scope, logical_id, resource, live.generation + 1,
                                    f"replacement ({', '.join(replacing)} changed; the old one goes in cleanup)")
        kind = aws_model.resource_type(live.type)
        request = self._request(scope, logical_id, properties, live.generation)
        try:
            now = aws_model.Created(live.physical_id, live.attributes)
            updated = kind.update(request, now) if kind.update else kind.create(request)
        except RehearsalFailure as failure:
            self.step("update", scope.stack, label, live.type, "FAILED")
            raise self._where(failure, scope, logical_id) from None
        scope.live[logical_id] = Live(logical_id, live.type, updated.physical_id, updated.attributes, properties,
                                      live.generation)
        self.summary.updated += 1
        self.step("update", scope.stack, label, live.type, "ok")
        return kind.seconds

    def _delete_aws(self, scope: StackScope, logical_id: str) -> float:
        live = scope.live[logical_id]
        resource = scope.spec.template["Resources"][logical_id]
        if resource.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate"):
            self.step("delete", scope.stack, self.label(scope.spec, logical_id), live.type, "retained")
            self.summary.retained += 1
            del scope.live[logical_id]
            return 0.0
        kind = aws_model.resource_type(live.type)
        try:
            kind.delete(self._request(scope, logical_id, live.properties, live.generation), live.physical_id)
        except RehearsalFailure as failure:
            self.step("delete", scope.stack, self.label(scope.spec, logical_id), live.type, "FAILED")
            raise self._where(failure, scope, logical_id) from None
        del scope.live[logical_id]
        self.summary.deleted += 1
        self.step("delete", scope.stack, self.label(scope.spec, logical_id), live.type, "ok")
        return kind.seconds

    def _custom(self, scope: StackScope, request_type: str, logical_id: str, resource: dict[str, Any]) -> None:
        cfn_type = resource["Type"]
        label = self.label(scope.spec, logical_id)
        action = request_type.lower()
        if request_type == "Delete" and resource.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate"):
            self.step(action, scope.stack, label, cfn_type, "retained")
            self.summary.retained += 1
            del scope.live[logical_id]
            return
        if request_type == "Update" and logical_id not in scope.live:
            request_type, action = "Create", "create"
        old: dict[str, Any] | None = None
        try:
            if request_type == "Create":
                properties = self._resolve(scope, resource.get("Properties", {}), logical_id)
                physical = None
            elif request_type == "Update":
                changed = self._changed(scope, logical_id, resource)
                if changed is None:
                    return
                live = scope.live[logical_id]
                properties, physical, old = changed, live.physical_id, live.properties
                if properties.get("ServiceToken") != old.get("ServiceToken"):
                    # CloudFormation refuses it for every custom resource (AWS::CloudFormation::CustomResource
                    # reference, ServiceToken: "Updates aren't supported"; UPDATE_FAILED "Modifying service token is
                    # not allowed.", e.g. github.com/cloudcomponents/cdk-constructs/issues/197).
                    raise RehearsalFailure(
                        "Modifying service token is not allowed.",
                        fix="keep the custom resource's ServiceToken (its provider) across the change, or give the "
                            "resource a new logical id (a new resource: the old one is deleted in cleanup)")
            else:
                live = scope.live[logical_id]
                properties, physical = live.properties, live.physical_id
            result_id, data = self._serve(scope, request_type, logical_id, cfn_type, properties, physical, old)
        except RehearsalFailure as failure:
            self.step(action, scope.stack, label, cfn_type, "FAILED")
            raise self._where(failure, scope, logical_id) from None
        if request_type == "Create":
            scope.live[logical_id] = Live(logical_id, cfn_type, result_id, data, properties)
            self.summary.created += 1
        elif request_type == "Update":
            live = scope.live[logical_id]
            if result_id != live.physical_id:  # a new physical id from an Update is a replacement
                scope.replaced[logical_id] = live
                self.summary.created += 1
            else:
                self.summary.updated += 1
            scope.live[logical_id] = Live(logical_id, cfn_type, result_id, data, properties)
            outcome = "ok" if result_id == live.physical_id else "replaced (new physical id; the old one goes in cleanup)"
            self.step(action, scope.stack, label, cfn_type, outcome)
            return
        else:
            del scope.live[logical_id]
            self.summary.deleted += 1
        self.step(action, scope.stack, label, cfn_type, "ok")

    def _serve(self, scope: StackScope, request_type: str, logical_id: str, cfn_type: str,
               properties: dict[str, Any], physical: str | None,
               old_properties: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        token = properties.get("ServiceToken")
        if not isinstance(token, str) or token not in self.aws.functions:
            raise RehearsalFailure(f"ServiceToken {token!r} is no Lambda function that exists now",
                                   fix="make the custom resource depend on its provider")
        function = self.aws.functions[token]
        if self.kubernetes.handles(cfn_type):
            request = CustomResourceRequest(request_type=request_type, stack=scope.stack,  # type: ignore[arg-type]
                                            logical_id=logical_id, resource_type=cfn_type, properties=properties,
                                            provider=provider_call(self.aws, function), physical_id=physical,
                                            old_properties=old_properties,
                                            assets=dict(scope.spec.assets))
            result = self.kubernetes.custom_resource(request, self.clock, self.network)
            return result.physical_id, dict(result.data)
        if cfn_type not in SELF_SERVED:
            raise RehearsalFailure(f"no side of the rehearsal serves {cfn_type}",
                                   fix=f"serve {cfn_type} in rehearsal/cloudformation.py SELF_SERVED or in "
                                       "rehearsal/kubernetes/ (Kubernetes.handles)")
        self.clock.advance(5)  # one Lambda invocation
        return SELF_SERVED[cfn_type](self, scope, logical_id, properties, request_type, physical)


def _cfn_json(player: Player, scope: StackScope, logical_id: str, properties: dict[str, Any], request_type: str,
              physical: str | None) -> tuple[str, dict[str, Any]]:
    """aws-cdk-lib core CfnJson: the handler returns Data.Value = JSON.parse(properties.Value)."""
    if request_type == "Delete":
        return physical or "", {}
    try:  # Create and Update alike
        value = json.loads(properties["Value"])
    except (KeyError, TypeError, json.JSONDecodeError) as error:
        raise RehearsalFailure(f"CfnJson Value is not JSON: {error}") from None
    return aws_model.physical_id("cfnjson-", scope.stack, logical_id), {"Value": value, "ValueAsJson": properties["Value"]}


def _restrict_default_sg(player: Player, scope: StackScope, logical_id: str, properties: dict[str, Any],
                         request_type: str, physical: str | None) -> tuple[str, dict[str, Any]]:
    """aws-cdk-lib aws-ec2 restrictDefaultSecurityGroup: revokes the default group's rules (Create), puts
    them back (Delete)."""
    group = player.aws.group(properties.get("DefaultSecurityGroupId", ""), "Custom::VpcRestrictDefaultSG")
    if request_type != "Delete":
        group.ingress, group.egress = [], []
    else:
        group.ingress = [aws_model.Rule("-1", 0, 65535, group=group.id)]
        group.egress = [aws_model.Rule("-1", 0, 65535, cidr="0.0.0.0/0")]
    return group.id, {}


class Ec2Model:
    """The two EC2 calls of the packaged acceptance handler (components/tgw_peering_acceptance), answered from the
    rehearsal's AWS state in one region (where the handler's client points), in the response shapes of the EC2 API
    (DescribeTransitGatewayPeeringAttachments, AcceptTransitGatewayPeeringAttachment)."""

    def __init__(self, aws: aws_model.Aws, region: str) -> None:
        self.aws, self.region = aws, region

    def describe_transit_gateway_peering_attachments(self, TransitGatewayAttachmentIds: list[str]) -> dict[str, Any]:
        found = [self.aws.tgw_attachment(i, self.region) for i in TransitGatewayAttachmentIds]
        return {"TransitGatewayPeeringAttachments": [{"TransitGatewayAttachmentId": a.id, "State": a.state}
                                                     for a in found if a is not None and len(a.regions) == 2]}

    def accept_transit_gateway_peering_attachment(self, TransitGatewayAttachmentId: str) -> dict[str, Any]:
        self.aws.accept_tgw_peering(TransitGatewayAttachmentId, self.region)
        return {"TransitGatewayPeeringAttachment": {"TransitGatewayAttachmentId": TransitGatewayAttachmentId,
                                                    "State": "pending"}}


def _tgw_peering_acceptance(player: Player, scope: StackScope, logical_id: str, properties: dict[str, Any],
                            request_type: str, physical: str | None) -> tuple[str, dict[str, Any]]:
    """components/transit_gateway.py's acceptance: the packaged onEvent handler, then isComplete every query interval
    until it answers true or the Provider's total timeout passes (provider_call), with an EC2 client in the region the
    handler names (AccepterRegion: the model refuses an accept from any other region)."""
    from rehearsal.kubernetes.lambdas import packaged_handler

    call = provider_call(player.aws, player.aws.functions[properties["ServiceToken"]])
    event = {"RequestType": request_type, "ResourceProperties": properties, "LogicalResourceId": logical_id,
             **({"PhysicalResourceId": physical} if physical else {})}
    ec2 = Ec2Model(player.aws, str(properties.get("AccepterRegion", "")))
    try:
        result = packaged_handler(call.on_event)(event, None, ec2=ec2)
        event["PhysicalResourceId"] = result["PhysicalResourceId"]
        if call.is_complete is not None:
            waited = 0
            while not packaged_handler(call.is_complete)(event, None, ec2=ec2)["IsComplete"]:
                if waited >= call.total_timeout_seconds:
                    raise RehearsalFailure(f"the acceptance of {properties.get('TransitGatewayAttachmentId')} did not "
                                           f"complete within {call.total_timeout_seconds} s (the Provider's timeout)")
                player.clock.advance(call.query_interval_seconds)
                waited += call.query_interval_seconds
    except RuntimeError as error:  # the handler's own refusals, as the Provider framework reports them
        raise RehearsalFailure(str(error)) from None
    return result["PhysicalResourceId"], {}


SELF_SERVED = {"Custom::AWSCDKCfnJson": _cfn_json, "Custom::VpcRestrictDefaultSG": _restrict_default_sg,
               "Custom::TransitGatewayPeeringAcceptance": _tgw_peering_acceptance}
