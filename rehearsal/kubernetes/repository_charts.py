"""Charts installed from a repository, which the rehearsal cannot fetch (it is offline): a small declared model of
what each release puts in the cluster that a deploy depends on, read from the chart's source.

The AWS Load Balancer Controller, chart `aws-load-balancer-controller` of https://aws.github.io/eks-charts, as
aws-cdk-lib 2.275's `AlbController` installs it (aws-eks-v2/lib/alb-controller.js: release
`aws-load-balancer-controller` in `kube-system`, chart version 3.2.2 for controller v3.2.2, values `clusterName`,
`serviceAccount {create: false, name}`, `region`, `vpcId`, `image {repository, tag}`, plus ours), modelled from
aws/eks-charts stable/aws-load-balancer-controller:
- values.yaml: `replicaCount: 2`; `enableServiceMutatorWebhook: true` unless set (ours: false);
- templates/deployment.yaml: Deployment `<fullname>` (the release name), one container
  `<image.repository>:<image.tag>`, pod labels `app.kubernetes.io/name: aws-load-balancer-controller` and
  `app.kubernetes.io/instance: <release>`, no architecture selector by default;
- templates/service.yaml: Service `aws-load-balancer-webhook-service` (443 -> 9443) selecting those labels;
- templates/webhook.yaml: MutatingWebhookConfiguration and ValidatingWebhookConfiguration
  `aws-load-balancer-webhook`, every webhook `failurePolicy: Fail`; modelled here: `mservice.elbv2.k8s.aws`
  (Services, CREATE, only with enableServiceMutatorWebhook) and `vingress.elbv2.k8s.aws` (Ingresses CREATE/UPDATE).
  The pod webhooks select namespaces or pods by opt-in labels and the target-group-binding ones a CRD's kinds; the
  rehearsal creates no pods, so they are left out.

ExternalDNS, chart `external-dns` of https://kubernetes-sigs.github.io/external-dns/ as components/workload_dns.py
installs it: modelled in external_dns.py (its objects, and its controller, which writes Route 53).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import external_dns, karmada_chart

LOAD_BALANCER_CONTROLLER = "aws-load-balancer-controller"
EKS_CHARTS = "https://aws.github.io/eks-charts"


@dataclass(frozen=True)
class RepositoryChart:
    chart: str
    render: Callable[[str, str, dict], list[dict]]
    """(release, namespace, values) -> the release's objects that matter to a deploy; hooks carry Helm's hook
    annotations (helm.py splits them off as it splits a rendered chart), and a hook Job whose effect matters names it
    in karmada_chart.EFFECT (run when the Job completes)."""


def _load_balancer_controller(release: str, namespace: str, values: dict) -> list[dict]:
    labels = {"app.kubernetes.io/name": LOAD_BALANCER_CONTROLLER, "app.kubernetes.io/instance": release}
    image = values.get("image") or {}
    service = "aws-load-balancer-webhook-service"
    client = {"service": {"name": service, "namespace": namespace, "path": ""}}
    mutating = []
    if values.get("enableServiceMutatorWebhook", True):
        mutating.append({"name": "mservice.elbv2.k8s.aws", "failurePolicy": "Fail", "sideEffects": "None",
                         "admissionReviewVersions": ["v1beta1"],
                         "clientConfig": {"service": {**client["service"], "path": "/mutate-v1-service"}},
                         "objectSelector": {"matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "NotIn",
                                                                  "values": [LOAD_BALANCER_CONTROLLER]}]},
                         "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                                    "resources": ["services"]}]})
    objs = [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": release, "namespace": namespace},
         "spec": {"replicas": values.get("replicaCount", 2), "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels}, "spec": {
                      "serviceAccountName": (values.get("serviceAccount") or {}).get("name", LOAD_BALANCER_CONTROLLER),
                      **({"nodeSelector": values["nodeSelector"]} if values.get("nodeSelector") else {}),
                      "containers": [{"name": LOAD_BALANCER_CONTROLLER,
                                      "image": f"{image.get('repository')}:{image.get('tag')}",
                                      "args": [f"--cluster-name={values.get('clusterName', '')}"]}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": service, "namespace": namespace},
         "spec": {"ports": [{"port": 443, "targetPort": 9443}], "selector": labels}},
        {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
         "metadata": {"name": "aws-load-balancer-webhook"},
         "webhooks": [{"name": "vingress.elbv2.k8s.aws", "failurePolicy": "Fail", "sideEffects": "None",
                       "matchPolicy": "Equivalent", "admissionReviewVersions": ["v1beta1"],
                       "clientConfig": {"service": {**client["service"], "path": "/validate-networking-v1-ingress"}},
                       "rules": [{"apiGroups": ["networking.k8s.io"], "apiVersions": ["v1"],
                                  "operations": ["CREATE", "UPDATE"], "resources": ["ingresses"]}]}]},
    ]
    if mutating:
        objs.append({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
                     "metadata": {"name": "aws-load-balancer-webhook"}, "webhooks": mutating})
    return objs


MODELS = {(EKS_CHARTS, LOAD_BALANCER_CONTROLLER): RepositoryChart(LOAD_BALANCER_CONTROLLER, _load_balancer_controller),
          (karmada_chart.REPOSITORY, karmada_chart.CHART): RepositoryChart(karmada_chart.CHART, karmada_chart.render),
          (external_dns.REPOSITORY, external_dns.CHART): RepositoryChart(external_dns.CHART, external_dns.render)}


def find(repository: str | None, chart: str | None) -> RepositoryChart | None:
    """The model of `chart`; a mirror of the repository (the config's chart repository) serves the same chart."""
    if not chart:
        return None
    exact = MODELS.get(((repository or "").rstrip("/"), chart))
    return exact or next((m for (_, name), m in MODELS.items() if name == chart), None)


def hook_effect(client, job: dict) -> str | None:
    """What a modelled chart's hook Job does when it completes (karmada_chart.EFFECTS); None when done (or the Job
    is not a modelled one), else why the hook fails."""
    return karmada_chart.run_effect(client, job)
