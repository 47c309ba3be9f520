"""IAM's decision on one request, for the policies the templates attach to a role: as far as the rehearsal needs it.

Evaluation (IAM User Guide, "Policy evaluation logic"): an explicit Deny in any statement that applies wins; else an
Allow that applies allows; else the request is implicitly denied. A statement applies when its Action matches the
action (case-insensitive, `*` and `?` wildcards), its Resource matches the resource ARN (each of the ARN's six
colon-separated parts matched on its own, "IAM JSON policy elements: Resource"; wildcards do not cross a colon, so
`cluster/fedeks-dev-*` matches any name with that start) and every condition holds. Conditions the rehearsal knows:
StringEquals, StringLike and their negations on `aws:ResourceTag/<key>` (the resource's tags); a key without a value
(an untagged resource) makes StringEquals/StringLike false ("Condition operators": a missing key evaluates false).
Any other operator or key is unknown here: the statement is treated as not applying (an Allow grants nothing, a Deny
denies), so the rehearsal never allows what it cannot evaluate.
"""
from __future__ import annotations

import fnmatch
from typing import Any, Iterable

_KNOWN_OPERATORS = ("StringEquals", "StringNotEquals", "StringLike", "StringNotLike")


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _match(pattern: str, value: str, case_sensitive: bool = True) -> bool:
    if not case_sensitive:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def arn_matches(pattern: str, arn: str) -> bool:
    """Whether a Resource element's ARN (with wildcards) matches `arn`, part by part."""
    if pattern == "*":
        return True
    want, have = pattern.split(":", 5), arn.split(":", 5)
    return len(want) == len(have) == 6 and all(_match(w, h) for w, h in zip(want, have))


def _condition_holds(operator: str, key: str, expected: list[str], tags: dict[str, str]) -> bool | None:
    """True/False; None when the rehearsal cannot evaluate it."""
    if operator not in _KNOWN_OPERATORS or not key.lower().startswith("aws:resourcetag/"):
        return None
    tag = key.split("/", 1)[1]
    value = tags.get(tag)
    like = operator.startswith("StringLike") or operator.startswith("StringNotLike")
    hit = value is not None and any(_match(e, value) if like else e == value for e in expected)
    return not hit if "Not" in operator else hit


def _applies(statement: dict, action: str, arn: str, tags: dict[str, str]) -> bool | None:
    if "NotAction" in statement or "NotResource" in statement or "Principal" in statement:
        return None
    if not any(_match(a, action, case_sensitive=False) for a in _listed(statement.get("Action"))):
        return False
    if not any(arn_matches(r, arn) for r in _listed(statement.get("Resource"))):
        return False
    for operator, keys in (statement.get("Condition") or {}).items():
        for key, expected in keys.items():
            held = _condition_holds(operator, key, _listed(expected), tags)
            if held is not True:
                return held
    return True


def decide(documents: Iterable[dict], action: str, arn: str, tags: dict[str, str]) -> str | None:
    """None when the policy documents allow `action` on `arn` (a resource with `tags`); else why not."""
    allowed = False
    for document in documents:
        for statement in _listed_statements(document):
            applies = _applies(statement, action, arn, tags)
            if statement.get("Effect") == "Deny" and applies is not False:
                return f"an explicit Deny{' (not evaluable here)' if applies is None else ''} refuses {action}"
            allowed = allowed or (statement.get("Effect") == "Allow" and applies is True)
    if allowed:
        return None
    return (f"no statement allows {action} on {arn} with tags {dict(sorted(tags.items()))} (the Resource pattern "
            "or a Condition does not match)")


def _listed_statements(document: dict) -> list[dict]:
    statements = document.get("Statement") or []
    return [statements] if isinstance(statements, dict) else list(statements)
