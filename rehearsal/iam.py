"""IAM as the rehearsal needs it: the roles the templates create with their trust and permission policies, the OIDC
providers, and the two questions AWS answers with them: may this web identity assume the role
(sts:AssumeRoleWithWebIdentity, IRSA), and may the role's session call this action on this resource.

Policy evaluation (IAM User Guide, "Policy evaluation logic", single account, identity-based policies only): an
explicit Deny wins, else any Allow, else the implicit deny. `Action`/`NotAction` match case-insensitively with `*` and
`?` wildcards, `Resource`/`NotResource` with the same wildcards (case-sensitive), an ARN part by part
(`arn_matches`). Conditions are evaluated for the operators the project's policies use (StringEquals, StringLike); a
statement with another operator is taken not to apply, so the rehearsal never grants what AWS might refuse.
`decide` answers for a resource with tags (the `aws:ResourceTag/<key>` keys; eks:DescribeCluster,
rehearsal/network.py) and says why not.
"""
from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Role:
    name: str
    arn: str
    trust: dict[str, Any]
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Owner (an inline policy's name, or the AWS::IAM::Policy that attaches it) -> policy document."""


class AccessDenied(Exception):
    """What AWS answers: `AccessDenied` (STS: `AccessDenied` / `InvalidIdentityToken`), with its message."""


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _glob(pattern: str, value: str, case_sensitive: bool) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case_sensitive else re.IGNORECASE) is not None


def _conditions_hold(condition: dict[str, Any] | None, context: dict[str, str]) -> bool:
    for operator, tests in (condition or {}).items():
        if operator not in ("StringEquals", "StringLike"):
            return False
        for key, expected in tests.items():
            actual = context.get(key)
            if actual is None:
                return False
            if operator == "StringEquals" and actual not in _listed(expected):
                return False
            if operator == "StringLike" and not any(fnmatch.fnmatchcase(actual, e) for e in _listed(expected)):
                return False
    return True


def _statement_matches(statement: dict[str, Any], action: str, resource: str, context: dict[str, str]) -> bool:
    if "Action" in statement:
        if not any(_glob(a, action, False) for a in _listed(statement["Action"])):
            return False
    elif any(_glob(a, action, False) for a in _listed(statement.get("NotAction", []))):
        return False
    if "Resource" in statement:
        if not any(arn_matches(r, resource) for r in _listed(statement["Resource"])):
            return False
    elif any(arn_matches(r, resource) for r in _listed(statement.get("NotResource", []))):
        return False
    return _conditions_hold(statement.get("Condition"), context)


def decision(documents: list[dict[str, Any]], action: str, resource: str,
             context: dict[str, str] | None = None) -> bool:
    """Whether identity policies `documents` allow `action` on `resource` (explicit deny > allow > implicit deny)."""
    statements = [s for d in documents for s in _listed(d.get("Statement", []))]
    matching = [s for s in statements if _statement_matches(s, action, resource, context or {})]
    return not any(s.get("Effect") == "Deny" for s in matching) and any(s.get("Effect") == "Allow" for s in matching)


class Iam:
    """The account's roles and OIDC providers, as the templates made them."""

    def __init__(self, account: str) -> None:
        self.account = account
        self.roles: dict[str, Role] = {}
        """By name."""
        self.oidc_providers: set[str] = set()
        """ARNs."""

    def role_by_arn(self, arn: str) -> Role | None:
        return next((r for r in self.roles.values() if r.arn == arn), None)

    def assume_role_with_web_identity(self, role_arn: str, issuer_url: str, subject: str,
                                      audience: str = "sts.amazonaws.com") -> Role:
        """STS AssumeRoleWithWebIdentity with a token of `issuer_url` for `subject` (IRSA: the pod's projected
        service account token, audience sts.amazonaws.com): the role must exist, the issuer must be an IAM OIDC
        provider of the account, and the role's trust policy must allow the provider as Federated principal with
        `<issuer host/path>:sub` and `:aud` conditions that hold (IAM User Guide, "Create a role for OpenID Connect
        federation"; EKS User Guide, "Assign IAM roles to Kubernetes service accounts")."""
        role = self.role_by_arn(role_arn)
        if role is None:
            raise AccessDenied(f"Not authorized to perform sts:AssumeRoleWithWebIdentity: role {role_arn} does not "
                               "exist")
        issuer = issuer_url.removeprefix("https://")
        provider = f"arn:aws:iam::{self.account}:oidc-provider/{issuer}"
        if provider not in self.oidc_providers:
            raise AccessDenied(f"InvalidIdentityToken: No OpenIDConnect provider found in your account for "
                               f"{issuer_url}")
        context = {f"{issuer}:sub": subject, f"{issuer}:aud": audience}
        for statement in _listed(role.trust.get("Statement", [])):
            principals = _listed((statement.get("Principal") or {}).get("Federated", []))
            actions = _listed(statement.get("Action", []))
            if statement.get("Effect") == "Allow" and provider in principals and \
                    any(_glob(a, "sts:AssumeRoleWithWebIdentity", False) for a in actions) and \
                    _conditions_hold(statement.get("Condition"), context):
                return role
        raise AccessDenied(f"Not authorized to perform sts:AssumeRoleWithWebIdentity: the trust policy of "
                           f"{role_arn} does not admit {subject} of {issuer_url}")

    def allowed(self, role: Role, action: str, resource: str) -> bool:
        return decision(list(role.policies.values()), action, resource)

    def authorize(self, role: Role, action: str, resource: str) -> None:
        """Raise AccessDenied, worded as AWS words it, unless `role`'s policies allow `action` on `resource`."""
        if not self.allowed(role, action, resource):
            raise AccessDenied(f"User: arn:aws:sts::{self.account}:assumed-role/{role.name}/rehearsal is not "
                               f"authorized to perform: {action} on resource: {resource} because no identity-based "
                               "policy allows the action")


def arn_matches(pattern: str, arn: str) -> bool:
    """Whether a Resource element's ARN (with wildcards) matches `arn`, each of the ARN's six colon-separated parts on
    its own ("IAM JSON policy elements: Resource"): a wildcard does not cross a colon, so `cluster/fedeks-dev-*`
    matches any name with that start, in the pattern's partition, service, region and account only."""
    if pattern == "*":
        return True
    want, have = pattern.split(":", 5), arn.split(":", 5)
    return len(want) == len(have) == 6 and all(_glob(w, h, True) for w, h in zip(want, have))


def decide(documents: list[dict[str, Any]], action: str, arn: str, tags: dict[str, str]) -> str | None:
    """None when identity policies `documents` allow `action` on the resource `arn` carrying `tags` (its
    `aws:ResourceTag/<key>` condition keys; an untagged resource fails a StringEquals on its tag, as in IAM: a missing
    key evaluates false); else why not. A Resource matches part by part (`arn_matches`)."""
    context = {f"aws:ResourceTag/{k}": v for k, v in tags.items()}
    statements = [s for d in documents for s in _listed(d.get("Statement", []))]
    matching = [s for s in statements if _statement_matches(s, action, arn, context)]
    if any(s.get("Effect") == "Deny" for s in matching):
        return f"an explicit Deny refuses {action} on {arn}"
    if any(s.get("Effect") == "Allow" for s in matching):
        return None
    return (f"no statement allows {action} on {arn} with tags {dict(sorted(tags.items()))} (the Resource pattern "
            "or a Condition does not match)")
