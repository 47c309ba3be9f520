"""CloudFormation's intrinsic functions, resolved as CloudFormation resolves them.

Reference: the AWS CloudFormation User Guide, "Intrinsic function reference" and "Pseudo parameters reference";
`Fn::GetStackOutput` is the cross-region output reference the CDK writes for `crossRegionReferences` weak
references ({StackName, Region, OutputName}). A function this module does not know is a failure that names it:
a rehearsal that guessed would prove nothing.
"""
from __future__ import annotations

import base64
import json
import re
from typing import Any, Protocol

from rehearsal.world import RehearsalFailure


class _NoValue:
    """`Ref: AWS::NoValue`: the property (or list element) disappears."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


class Scope(Protocol):
    """What resolution needs from the stack being played."""

    stack: str
    region: str
    account: str

    def ref(self, name: str) -> Any:
        """A parameter's value or a resource's Ref (its physical id); pseudo parameters are handled here."""

    def get_att(self, logical_id: str, attribute: str) -> Any: ...

    def condition(self, name: str) -> bool: ...

    def mapping(self, name: str, key: str, attribute: str) -> Any: ...

    def stack_output(self, stack: str, region: str, output: str) -> Any: ...

    def import_value(self, export: str) -> Any: ...

    def azs(self, region: str) -> list[str]: ...


class IntrinsicFailure(RehearsalFailure):
    pass


def pseudo_parameter(name: str, scope: Scope) -> Any:
    values = {
        "AWS::Region": scope.region,
        "AWS::AccountId": scope.account,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": scope.stack,
        "AWS::StackId": f"arn:aws:cloudformation:{scope.region}:{scope.account}:stack/{scope.stack}/"
                        "00000000-0000-4000-8000-000000000000",
        "AWS::NotificationARNs": [],
        "AWS::NoValue": NO_VALUE,
    }
    if name not in values:
        raise IntrinsicFailure(f"unknown pseudo parameter {name!r}", stack=scope.stack,
                               fix="use one CloudFormation documents (AWS::Region, AWS::AccountId, ...)")
    return values[name]


def resolve(value: Any, scope: Scope) -> Any:
    """`value` with every intrinsic function replaced by its value; AWS::NoValue removed."""
    if isinstance(value, dict):
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                return _function(key, arg, scope)
        out = {}
        for k, v in value.items():
            r = resolve(v, scope)
            if r is not NO_VALUE:
                out[k] = r
        return out
    if isinstance(value, list):
        return [r for r in (resolve(v, scope) for v in value) if r is not NO_VALUE]
    return value


def _string(value: Any, where: str, scope: Scope) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if not isinstance(value, str):
        raise IntrinsicFailure(f"{where} needs a string, got {value!r}", stack=scope.stack)
    return value


def condition_value(expr: Any, scope: Scope) -> bool:
    """A condition expression (Fn::Equals/Not/And/Or, Condition, Fn::Contains) as a bool."""
    value = resolve(expr, scope)
    if not isinstance(value, bool):
        raise IntrinsicFailure(f"a condition evaluates to {value!r}, not true or false", stack=scope.stack)
    return value


def _function(key: str, arg: Any, scope: Scope) -> Any:
    if key == "Ref":
        if isinstance(arg, str) and arg.startswith("AWS::"):
            return pseudo_parameter(arg, scope)
        return scope.ref(_string(arg, "Ref", scope))
    if key == "Condition":
        return scope.condition(_string(arg, "Condition", scope))
    if key == "Fn::GetAtt":
        if isinstance(arg, str):
            arg = arg.split(".", 1)
        logical_id, attribute = arg[0], resolve(arg[1], scope)
        return scope.get_att(logical_id, _string(attribute, "Fn::GetAtt", scope))
    if key == "Fn::Join":
        sep, items = arg
        items = resolve(items, scope)
        return _string(sep, "Fn::Join", scope).join(_string(i, "Fn::Join", scope) for i in items)
    if key == "Fn::Sub":
        return _sub(arg, scope)
    if key == "Fn::Select":
        index, items = resolve(arg[0], scope), resolve(arg[1], scope)
        index = int(index)
        if not isinstance(items, list) or not 0 <= index < len(items):
            raise IntrinsicFailure(f"Fn::Select index {index} out of {items!r}", stack=scope.stack)
        return items[index]
    if key == "Fn::Split":
        sep, source = arg[0], resolve(arg[1], scope)
        return _string(source, "Fn::Split", scope).split(sep)
    if key == "Fn::If":
        name, then, otherwise = arg
        return resolve(then if scope.condition(name) else otherwise, scope)
    if key == "Fn::Equals":
        a, b = (resolve(x, scope) for x in arg)
        return _comparable(a) == _comparable(b)
    if key == "Fn::Not":
        return not condition_value(arg[0], scope)
    if key == "Fn::And":
        return all(condition_value(x, scope) for x in arg)
    if key == "Fn::Or":
        return any(condition_value(x, scope) for x in arg)
    if key == "Fn::Contains":  # rules only
        haystack, needle = resolve(arg[0], scope), resolve(arg[1], scope)
        return needle in haystack
    if key == "Fn::GetStackOutput":
        spec = resolve(arg, scope)
        return scope.stack_output(spec["StackName"], spec.get("Region", scope.region), spec["OutputName"])
    if key == "Fn::ImportValue":
        return scope.import_value(_string(resolve(arg, scope), "Fn::ImportValue", scope))
    if key == "Fn::GetAZs":
        region = resolve(arg, scope) or scope.region
        return scope.azs(_string(region, "Fn::GetAZs", scope))
    if key == "Fn::Base64":
        return base64.b64encode(_string(resolve(arg, scope), "Fn::Base64", scope).encode()).decode()
    if key == "Fn::FindInMap":
        name, top, second = (resolve(x, scope) for x in arg[:3])
        return scope.mapping(name, _string(top, "Fn::FindInMap", scope), _string(second, "Fn::FindInMap", scope))
    if key == "Fn::ToJsonString":
        return json.dumps(resolve(arg, scope), separators=(",", ":"))
    if key == "Fn::Length":
        return len(resolve(arg, scope))
    raise IntrinsicFailure(f"unknown intrinsic function {key!r}", stack=scope.stack,
                           fix=f"teach rehearsal/intrinsics.py {key} as CloudFormation documents it")


def _comparable(value: Any) -> Any:
    """Fn::Equals compares strings: a number or boolean parameter is its string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, (int, float)) else value


_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def _sub(arg: Any, scope: Scope) -> str:
    if isinstance(arg, list):
        template, variables = arg[0], {k: resolve(v, scope) for k, v in arg[1].items()}
    else:
        template, variables = arg, {}

    def value(match: re.Match) -> str:
        name = match.group(1).strip()
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name in variables:
            return _string(variables[name], "Fn::Sub", scope)
        if name.startswith("AWS::"):
            return _string(pseudo_parameter(name, scope), "Fn::Sub", scope)
        if "." in name:
            logical_id, attribute = name.split(".", 1)
            return _string(scope.get_att(logical_id, attribute), "Fn::Sub", scope)
        return _string(scope.ref(name), "Fn::Sub", scope)

    return _VARIABLE.sub(value, _string(template, "Fn::Sub", scope))


def references(value: Any) -> set[str]:
    """Logical ids (and parameter names) `value` refers to through Ref, Fn::GetAtt and Fn::Sub: the implicit
    dependencies CloudFormation orders resources by."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str) and not arg.startswith("AWS::"):
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add(arg.split(".", 1)[0] if isinstance(arg, str) else arg[0])
                if not isinstance(arg, str):
                    found |= references(arg[1:])
            elif key == "Fn::Sub":
                template, variables = (arg[0], arg[1]) if isinstance(arg, list) else (arg, {})
                for name in _VARIABLE.findall(template if isinstance(template, str) else ""):
                    name = name.strip()
                    if not name.startswith("!") and not name.startswith("AWS::") and name not in variables:
                        found.add(name.split(".", 1)[0])
                found |= references(variables)
            else:
                found |= references(arg)
    elif isinstance(value, list):
        for v in value:
            found |= references(v)
    return found


def stack_references(value: Any) -> set[tuple[str, str]]:
    """(kind, name) of every other stack's value `value` uses: ("stack", StackName) for Fn::GetStackOutput,
    ("export", name) for Fn::ImportValue with a literal name."""
    found: set[tuple[str, str]] = set()
    if isinstance(value, dict):
        for key, arg in value.items():
            if key == "Fn::GetStackOutput" and isinstance(arg, dict) and isinstance(arg.get("StackName"), str):
                found.add(("stack", arg["StackName"]))
            elif key == "Fn::ImportValue" and isinstance(arg, str):
                found.add(("export", arg))
            found |= stack_references(arg)
    elif isinstance(value, list):
        for v in value:
            found |= stack_references(v)
    return found
