"""Admission webhooks as the API server calls them (k8s.io/apiserver plugin/pkg/admission/plugin/webhook): a
request that matches a Validating or Mutating webhook's rules and selectors is sent to the webhook's Service; with
no ready endpoint behind that Service the call fails, and with `failurePolicy: Fail` (the v1 default) the request is
refused: `Internal error occurred: failed calling webhook "<name>": failed to call webhook: Post
"https://<service>.<namespace>.svc:443/<path>?timeout=10s": no endpoints available for service "<service>"`.
With a ready endpoint the emulated webhook admits (the webhooks' own logic is not emulated). Webhook
configurations themselves are never sent to webhooks (the API server exempts them).

Endpoints: a Service has a ready endpoint when a Deployment, StatefulSet or DaemonSet in its namespace whose pod
template labels match the Service's selector reports at least one ready replica (the emulated controllers set
that status only when the pods can run: scheduling.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

WEBHOOK_PLURALS = ("validatingwebhookconfigurations", "mutatingwebhookconfigurations")
POLICY_PLURALS = ("validatingadmissionpolicies", "validatingadmissionpolicybindings")
_OPERATIONS = {"create": "CREATE", "update": "UPDATE", "delete": "DELETE"}


@dataclass(frozen=True)
class Call:
    """One request as admission sees it."""

    operation: str
    """CREATE, UPDATE or DELETE."""
    group: str
    version: str
    resource: str
    """Plural, with `/subresource` when there is one."""
    namespace: str | None
    obj: dict


def _selector_matches(selector: dict | None, labels: dict) -> bool:
    """A metav1.LabelSelector; empty or absent selects everything."""
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def _listed(values: Iterable[str], value: str) -> bool:
    values = list(values or [])
    return "*" in values or value in values


def _rule_matches(rule: dict, call: Call) -> bool:
    if not (_listed(rule.get("operations"), call.operation) and _listed(rule.get("apiGroups"), call.group)
            and _listed(rule.get("apiVersions"), call.version)):
        return False
    base, _, sub = call.resource.partition("/")
    resources = rule.get("resources") or []
    matched = any(r in ("*", call.resource) or (r == "*/*") or (sub and r == f"*/{sub}")
                  or (not sub and r == base) or (sub and r == f"{base}/*") for r in resources)
    scope = rule.get("scope", "*")
    if scope == "Namespaced" and call.namespace is None:
        return False
    if scope == "Cluster" and call.namespace is not None:
        return False
    return matched


def matching_webhooks(configurations: list[dict], call: Call, namespace_labels: dict | None) -> list[dict]:
    """The webhooks of `configurations` that the call is sent to."""
    if call.resource.split("/")[0] in WEBHOOK_PLURALS:
        return []
    labels = (call.obj.get("metadata") or {}).get("labels") or {}
    found = []
    for configuration in configurations:
        for webhook in configuration.get("webhooks") or []:
            if not any(_rule_matches(rule, call) for rule in webhook.get("rules") or []):
                continue
            if call.namespace is not None and not _selector_matches(webhook.get("namespaceSelector"),
                                                                    namespace_labels or {}):
                continue
            if not _selector_matches(webhook.get("objectSelector"), labels):
                continue
            found.append(webhook)
    return found


def service_has_ready_endpoint(service: dict | None, workloads: list[dict]) -> bool:
    if service is None:
        return False
    selector = (service.get("spec") or {}).get("selector") or {}
    if not selector:
        return False
    for workload in workloads:
        template_labels = ((((workload.get("spec") or {}).get("template") or {}).get("metadata") or {})
                           .get("labels") or {})
        if not all(template_labels.get(k) == v for k, v in selector.items()):
            continue
        status = workload.get("status") or {}
        if (status.get("readyReplicas") or status.get("numberReady") or 0) >= 1:
            return True
    return False


def refusal(call: Call, configurations: list[dict], namespace_labels: dict | None,
            find_service: Callable[[str, str], dict | None], workloads_in: Callable[[str], list[dict]]) -> str | None:
    """The API server's message when a webhook with failurePolicy Fail cannot be called, else None."""
    for webhook in matching_webhooks(configurations, call, namespace_labels):
        if webhook.get("failurePolicy", "Fail") != "Fail":
            continue
        client = webhook.get("clientConfig") or {}
        service_ref = client.get("service")
        if not service_ref:
            continue  # a URL webhook outside the cluster: not modelled, admitted
        namespace, name = service_ref.get("namespace", ""), service_ref.get("name", "")
        service = find_service(namespace, name)
        url = f"https://{name}.{namespace}.svc:{service_ref.get('port', 443)}{service_ref.get('path', '')}?timeout=10s"
        if service is None:
            return (f'Internal error occurred: failed calling webhook "{webhook.get("name")}": failed to call webhook: '
                    f'Post "{url}": service "{name}" not found')
        if not service_has_ready_endpoint(service, workloads_in(namespace)):
            return (f'Internal error occurred: failed calling webhook "{webhook.get("name")}": failed to call webhook: '
                    f'Post "{url}": no endpoints available for service "{name}"')
    return None


def _cel(expression: str, variables: dict):
    """`expression` evaluated with a CEL interpreter (cel-python, a test-time package: imported only when a policy
    exists). An expression that fails to evaluate counts as an error, as the API server counts it."""
    import celpy

    env = celpy.Environment()
    return env.program(env.compile(expression)).evaluate(
        {name: celpy.json_to_cel(value) for name, value in variables.items()})


def policy_refusal(call: Call, old: dict | None, policies: list[dict], bindings: list[dict]) -> tuple[int, str] | None:
    """ValidatingAdmissionPolicies as the API server applies them (k8s.io/apiserver plugin/policy/validating): a
    policy acts through each binding naming it (`validationActions` Deny); a request it matches (`matchConstraints`
    resourceRules, then every `matchConditions` expression true) is refused by the first validation whose expression
    is false: 422 Invalid, or the validation's `reason` (Forbidden: 403), with the message `ValidatingAdmissionPolicy
    '<policy>' with binding '<binding>' denied request: <messageExpression, else message>`. Bindings' own
    matchResources and params are not modelled (none of this project's policies uses them)."""
    if call.resource.split("/")[0] in POLICY_PLURALS or "/" in call.resource:
        return None
    variables = {"object": call.obj if call.operation != "DELETE" else None,
                 "oldObject": old if call.operation != "CREATE" else None}
    for policy in policies:
        name = (policy.get("metadata") or {}).get("name")
        spec = policy.get("spec") or {}
        bound = [b for b in bindings if (b.get("spec") or {}).get("policyName") == name
                 and "Deny" in ((b.get("spec") or {}).get("validationActions") or [])]
        rules = (spec.get("matchConstraints") or {}).get("resourceRules") or []
        if not bound or not any(_rule_matches(rule, call) for rule in rules):
            continue
        if not all(bool(_cel(c["expression"], variables)) for c in spec.get("matchConditions") or []):
            continue
        for validation in spec.get("validations") or []:
            if bool(_cel(validation["expression"], variables)):
                continue
            message = validation.get("message") or f"failed expression: {validation['expression']}"
            if validation.get("messageExpression"):
                message = str(_cel(validation["messageExpression"], variables))
            binding = (bound[0].get("metadata") or {}).get("name")
            status = 403 if validation.get("reason") == "Forbidden" else 422
            return status, f"ValidatingAdmissionPolicy '{name}' with binding '{binding}' denied request: {message}"
    return None


def operation(action_name: str) -> str | None:
    return _OPERATIONS.get(action_name)
