"""ExternalDNS in the rehearsal: its chart's release, modelled (the rehearsal cannot fetch the chart), and its
controller, emulated, writing Route 53 through the rehearsal's AWS side (world.Cloud) with its IRSA role.

The chart, `external-dns` 1.21.1 of https://kubernetes-sigs.github.io/external-dns/ (ExternalDNS v0.21.0), read in
kubernetes-sigs/external-dns tag external-dns-helm-chart-1.21.1, charts/external-dns:
- templates/deployment.yaml: Deployment `<fullname>` (the release name when it contains `external-dns`), one
  replica, pod labels `app.kubernetes.io/name: external-dns` and `app.kubernetes.io/instance: <release>`,
  `serviceAccountName` (`serviceAccount.name` when `create: false`, else the fullname), container `external-dns`
  `<image.repository>:<image.tag or v<appVersion>>` with `env`, and args in this order: `--log-level`,
  `--log-format`, `--interval`, `--events` (triggerLoopOnEvent), `--source=` per source, `--policy`, `--registry`,
  `--txt-owner-id`, `--txt-prefix`/`--txt-suffix`, `--domain-filter=` per domainFilters, `--exclude-domains=`,
  `--label-filter`, `--annotation-filter`, `--managed-record-types=`, `--provider`, then `extraArgs`;
- templates/clusterrole.yaml, clusterrolebinding.yaml (`rbac.create`, default true): ClusterRole `<fullname>`
  (for source `service`: nodes list/watch, pods and services and discovery endpointslices get/watch/list) bound as
  `<fullname>-viewer` to the service account; templates/service.yaml: Service `<fullname>`, port 7979 (`http`);
- values.yaml defaults: logLevel info, logFormat text, interval 1m, sources [service, ingress], policy upsert-only,
  registry txt, provider aws.

The controller (external-dns v0.21.0): each sync (every `--interval`; with `--events`, also on a Service change, at
most every `--min-event-sync-interval`, 5 s) it
- reads the Services of the `--service-type-filter` types with the `external-dns.alpha.kubernetes.io/hostname`
  annotation and a load balancer in their status (source/service.go): one endpoint per hostname, a CNAME to the
  load balancer's DNS name, with `set-identifier`, `aws-failover` / `aws-region` / `aws-weight` and
  `aws-evaluate-target-health` from the annotations;
- lists the hosted zones (route53:ListHostedZones) and keeps those of `--zone-id-filter`, `--aws-zone-type` and
  `--domain-filter` (provider/aws/aws.go `zones`), then their records (route53:ListResourceRecordSets);
- turns a CNAME to a load balancer of a known canonical zone into an alias A record and its AAAA twin, TTL dropped,
  EvaluateTargetHealth from the flag (aws.go `adjustCNAMERecord`, `newChange`);
- keeps ownership in TXT records (registry/txt): `<type>-<first label>.<rest>` (`cname-` for an alias A),
  value `"heritage=external-dns,external-dns/owner=<txt-owner-id>,external-dns/resource=service/<ns>/<name>"`, the
  record's set identifier and routing, TTL 300; it changes and deletes only records its owner id owns;
- plans creates, updates and deletes, filtered by `--policy` (plan/policy.go: `sync` all, `upsert-only` no deletes,
  `create-only` creates only), and submits them per zone, each record to the longest public zone its name is in
  (aws.go `changesByZone`; a name in no zone is skipped), with route53:ChangeResourceRecordSets.
A refused call (AccessDenied, InvalidChangeBatch) is logged and retried next sync; the rehearsal reports it
(`problems`) once the stack that caused it is done.

Least privilege: a role that may also change a hosted zone its `--zone-id-filter` does not name (checked as IAM's
policy simulator would, on a zone of no filter) is reported too: the construct gives it the configured zones only.

Credentials: the pod's service account annotation `eks.amazonaws.com/role-arn` (IRSA): the web identity of
`system:serviceaccount:<ns>:<name>` issued by the cluster's OIDC issuer assumes that role; without the annotation
the pod would fall back to the node role, which the rehearsal takes to hold no Route 53 permission.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rehearsal.route53 import HERITAGE, fqdn, nlb_canonical_zone, owner_of
from rehearsal.world import Cloud, CloudError

if TYPE_CHECKING:
    from .apiserver import ApiServerHandle

CHART = "external-dns"
REPOSITORY = "https://kubernetes-sigs.github.io/external-dns"
APP_VERSION = "0.21.0"
IMAGE = "external-dns/external-dns"
PREFIX = "external-dns.alpha.kubernetes.io/"
ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"
TXT_TTL = 300
OTHER_ZONE_ARN = "arn:aws:route53:::hostedzone/ZNOZONEOFTHISENVIRONMENT"
"""A zone no filter names: what the role must not be able to change."""
MIN_EVENT_SYNC = 5.0
# The flags of external-dns v0.21.0 (pkg/apis/externaldns/types.go) that the chart writes or this model reads; another
# flag is taken to be unknown (the binary exits: the pod never gets ready).
FLAGS = {"log-level", "log-format", "interval", "events", "source", "policy", "registry", "txt-owner-id", "txt-prefix",
         "txt-suffix", "namespace", "domain-filter", "exclude-domains", "label-filter", "annotation-filter",
         "annotation-prefix", "managed-record-types", "provider", "zone-id-filter", "aws-zone-type",
         "service-type-filter", "aws-evaluate-target-health", "no-aws-evaluate-target-health", "aws-prefer-cname",
         "txt-cache-interval", "min-event-sync-interval"}


def _fullname(release: str, values: dict) -> str:
    if values.get("fullnameOverride"):
        return str(values["fullnameOverride"])[:63].rstrip("-")
    name = values.get("nameOverride") or CHART
    return (release if name in release else f"{release}-{name}")[:63].rstrip("-")


def chart_args(values: dict) -> list[str]:
    """The container's args as templates/deployment.yaml writes them (extraArgs as a list or a map)."""
    args = [f"--log-level={values.get('logLevel', 'info')}", f"--log-format={values.get('logFormat', 'text')}",
            f"--interval={values.get('interval', '1m')}"]
    if values.get("triggerLoopOnEvent"):
        args.append("--events")
    args += [f"--source={s}" for s in values.get("sources", ["service", "ingress"])]
    args += [f"--policy={values.get('policy', 'upsert-only')}", f"--registry={values.get('registry', 'txt')}"]
    if values.get("txtOwnerId"):
        args.append(f"--txt-owner-id={values['txtOwnerId']}")
    if values.get("txtPrefix"):
        args.append(f"--txt-prefix={values['txtPrefix']}")
    elif values.get("txtSuffix"):
        args.append(f"--txt-suffix={values['txtSuffix']}")
    args += [f"--domain-filter={d}" for d in values.get("domainFilters") or []]
    args += [f"--exclude-domains={d}" for d in values.get("excludeDomains") or []]
    for key, flag in (("labelFilter", "label-filter"), ("annotationFilter", "annotation-filter")):
        if values.get(key):
            args.append(f"--{flag}={values[key]}")
    args += [f"--managed-record-types={t}" for t in values.get("managedRecordTypes") or []]
    provider = values.get("provider", {"name": "aws"})
    args.append(f"--provider={provider if isinstance(provider, str) else provider.get('name', 'aws')}")
    extra = values.get("extraArgs") or []
    if isinstance(extra, dict):
        for key, value in extra.items():
            if value is None:
                continue
            if isinstance(value, list):
                args += [f"--{key}={v}" for v in value]
            elif isinstance(value, bool):
                args.append(f"--{key}" if value else f"--no-{key}")
            else:
                args.append(f"--{key}={value}")
    else:
        args += [str(a) for a in extra]
    return args


def render(release: str, namespace: str, values: dict) -> list[dict]:
    """The release's objects (module docstring)."""
    name = _fullname(release, values)
    labels = {"app.kubernetes.io/name": values.get("nameOverride") or CHART, "app.kubernetes.io/instance": release}
    account = values.get("serviceAccount") or {}
    service_account = (account.get("name") or name) if account.get("create", True) else (account.get("name") or
                                                                                        "default")
    image = values.get("image") or {}
    objs: list[dict] = []
    if account.get("create", True):
        objs.append({"apiVersion": "v1", "kind": "ServiceAccount",
                     "metadata": {"name": service_account, "annotations": account.get("annotations") or {}}})
    if (values.get("rbac") or {}).get("create", True):
        objs += [
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name},
             "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["list", "watch"]},
                       {"apiGroups": [""], "resources": ["pods", "services"], "verbs": ["get", "watch", "list"]},
                       {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"],
                        "verbs": ["get", "watch", "list"]}]},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
             "metadata": {"name": f"{name}-viewer"},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
             "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": namespace}]}]
    objs += [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "labels": labels},
         "spec": {"type": "ClusterIP", "selector": labels,
                  "ports": [{"name": "http", "port": 7979, "targetPort": "http", "protocol": "TCP"}]}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
         "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
             "metadata": {"labels": labels},
             "spec": {"serviceAccountName": service_account,
                      **({"nodeSelector": values["nodeSelector"]} if values.get("nodeSelector") else {}),
                      "containers": [{
                          "name": CHART, "image": f"{image.get('repository', 'registry.k8s.io/' + IMAGE)}:"
                                                  f"{image.get('tag') or 'v' + APP_VERSION}",
                          **({"env": values["env"]} if values.get("env") else {}),
                          "args": chart_args(values),
                          "ports": [{"name": "http", "protocol": "TCP", "containerPort": 7979}]}]}}}}]
    return objs


# ---- the controller ---------------------------------------------------------------------------------------------

@dataclass
class Settings:
    """What a running ExternalDNS was started with (its args)."""

    interval: float = 60.0
    events: bool = False
    sources: tuple[str, ...] = ()
    policy: str = "sync"
    registry: str = "txt"
    owner: str = "default"
    txt_prefix: str = ""
    txt_suffix: str = ""
    domain_filters: tuple[str, ...] = ()
    zone_ids: tuple[str, ...] = ()
    zone_type: str = ""
    service_types: tuple[str, ...] = ()
    evaluate_target_health: bool = True
    provider: str = "aws"
    unknown: tuple[str, ...] = ()


def _duration(text: str) -> float:
    import re
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s)", text)
    return sum(float(n) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[u] for n, u in parts) or 60.0


def settings(args: list[str]) -> Settings:
    s = Settings()
    multi: dict[str, list[str]] = {}
    unknown = []
    for arg in args:
        flag, _, value = str(arg).removeprefix("--").partition("=")
        if flag not in FLAGS:
            unknown.append(arg)
            continue
        multi.setdefault(flag, []).append(value)
    one = {k: v[-1] for k, v in multi.items()}
    s.interval = _duration(one.get("interval", "1m"))
    s.events = "events" in one
    s.sources = tuple(multi.get("source", []))
    s.policy, s.registry = one.get("policy", "sync"), one.get("registry", "txt")
    s.owner = one.get("txt-owner-id", "default")
    s.txt_prefix, s.txt_suffix = one.get("txt-prefix", ""), one.get("txt-suffix", "")
    s.domain_filters = tuple(d for v in multi.get("domain-filter", []) for d in v.split(",") if d)
    s.zone_ids = tuple(multi.get("zone-id-filter", []))
    s.zone_type = one.get("aws-zone-type", "")
    s.service_types = tuple(multi.get("service-type-filter", []))
    s.evaluate_target_health = "no-aws-evaluate-target-health" not in one and \
        one.get("aws-evaluate-target-health", "true") not in ("false", "0")
    s.provider = one.get("provider", "aws")
    s.unknown = tuple(unknown)
    return s


@dataclass
class State:
    """One cluster's ExternalDNS as the rehearsal follows it."""

    last_sync: float | None = None
    seen: Any = None
    """The desired records of the last sync (a Service change makes a sync due with --events)."""
    settled: bool = False
    """The last sync found Route 53 as the Services ask (nothing to change, nothing refused)."""
    problems: list[str] = field(default_factory=list)
    """What the last sync could not do, as ExternalDNS logs it."""


def _live(handle: ApiServerHandle, plural: str):
    for key, obj in list(handle.emulator.objects.items()):
        if key[0].plural == plural and not obj.deleted:
            yield key, obj.raw


def running(handle: ApiServerHandle) -> tuple[dict, dict] | None:
    """(its Deployment, its container) when an ExternalDNS Deployment is ready on the cluster."""
    for _, raw in _live(handle, "deployments"):
        pod = ((raw.get("spec") or {}).get("template") or {}).get("spec") or {}
        for container in pod.get("containers") or []:
            if IMAGE in str(container.get("image", "")) and ((raw.get("status") or {}).get("readyReplicas") or 0) >= 1:
                return raw, container
    return None


def _domain_match(filters: tuple[str, ...], name: str) -> bool:
    name = fqdn(name).rstrip(".")
    return not filters or any(name == f.rstrip(".").lower() or name.endswith("." + f.rstrip(".").lower())
                              for f in filters)


def desired_records(handle: ApiServerHandle, s: Settings) -> dict[tuple[str, str, str], dict]:
    """The record sets the Services ask for, by (name, type, set identifier), each with the Service it is for."""
    out: dict[tuple[str, str, str], dict] = {}
    if "service" not in s.sources:
        return out
    for key, svc in sorted(_live(handle, "services"), key=lambda kv: (kv[0][1] or "", kv[0][2])):
        meta, spec = svc.get("metadata") or {}, svc.get("spec") or {}
        if meta.get("deletionTimestamp") or (s.service_types and spec.get("type") not in s.service_types):
            continue
        annotations = meta.get("annotations") or {}
        hostnames = [h.strip() for h in str(annotations.get(PREFIX + "hostname", "")).split(",") if h.strip()]
        targets = [i.get("hostname") or i.get("ip") for i in
                   ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []]
        targets = [t for t in targets if t]
        if not hostnames or not targets:
            continue
        set_id = annotations.get(PREFIX + "set-identifier", "")
        routing: dict[str, Any] = {}
        if PREFIX + "aws-failover" in annotations:
            routing["Failover"] = annotations[PREFIX + "aws-failover"]
        if PREFIX + "aws-region" in annotations:
            routing["Region"] = annotations[PREFIX + "aws-region"]
        if PREFIX + "aws-weight" in annotations:
            routing["Weight"] = int(annotations[PREFIX + "aws-weight"])
        evaluate = str(annotations.get(PREFIX + "aws-evaluate-target-health",
                                       str(s.evaluate_target_health).lower())).lower() == "true"
        resource = f"service/{key[1]}/{key[2]}"
        for hostname in hostnames:
            if not _domain_match(s.domain_filters, hostname):
                continue
            base = {"Name": fqdn(hostname), **({"SetIdentifier": set_id} if set_id else {}), **routing}
            zone = nlb_canonical_zone(targets[0])
            if zone is not None:  # alias A and AAAA to the load balancer (adjustCNAMERecord)
                for kind in ("A", "AAAA"):
                    out[(fqdn(hostname), kind, set_id)] = {
                        "rrset": {**base, "Type": kind, "AliasTarget": {
                            "HostedZoneId": zone, "DNSName": fqdn(targets[0]), "EvaluateTargetHealth": evaluate}},
                        "txt_type": "cname" if kind == "A" else "aaaa", "resource": resource}
            else:
                kind = "CNAME" if not targets[0].replace(".", "").isdigit() else "A"
                out[(fqdn(hostname), kind, set_id)] = {
                    "rrset": {**base, "Type": kind, "TTL": int(annotations.get(PREFIX + "ttl", 300) or 300),
                              "ResourceRecords": [{"Value": t} for t in sorted(targets)]},
                    "txt_type": kind.lower(), "resource": resource}
    return out


def txt_name(s: Settings, name: str, kind: str) -> str:
    """registry/mapper AffixNameMapper.ToTXTName: the type and prefix go onto the first label."""
    first, _, rest = fqdn(name).rstrip(".").partition(".")
    template = "%{record_type}"
    prefix, suffix = s.txt_prefix.replace(template, kind), s.txt_suffix.replace(template, kind)
    if template not in s.txt_prefix + s.txt_suffix:
        first = f"{kind}-{first}"
    return fqdn(f"{prefix}{first}{suffix}" + (f".{rest}" if rest else ""))


def ownership(s: Settings, resource: str) -> str:
    return f'"heritage={HERITAGE},{HERITAGE}/owner={s.owner},{HERITAGE}/resource={resource}"'


def _txt(s: Settings, rrset: dict, txt_type: str, resource: str) -> dict:
    out = {"Name": txt_name(s, rrset["Name"], txt_type), "Type": "TXT", "TTL": TXT_TTL,
           "ResourceRecords": [{"Value": ownership(s, resource)}]}
    for key in ("SetIdentifier", "Failover", "Region", "Weight"):
        if key in rrset:
            out[key] = rrset[key]
    return out


def _zone_for(name: str, zones: list[dict]) -> dict | None:
    """The longest public zone `name` is in (aws.go suitableZones)."""
    fitting = [z for z in zones if name == z["Name"] or name.endswith("." + z["Name"])]
    return max(fitting, key=lambda z: len(z["Name"]), default=None)


def sync(handle: ApiServerHandle, cloud: Cloud, eks_name: str, now: float, force: bool = False) -> None:
    """One sync of the cluster's ExternalDNS, when one is due (module docstring)."""
    found = running(handle)
    state: State = handle.state.setdefault("external-dns", State())
    if found is None:
        return
    deployment, container = found
    s = settings(container.get("args") or [])
    desired = desired_records(handle, s)
    seen = sorted((k, repr(v)) for k, v in desired.items())
    due = state.last_sync is None or now - state.last_sync >= s.interval or force or \
        (s.events and seen != state.seen and now - state.last_sync >= MIN_EVENT_SYNC)
    if not due:
        return
    state.last_sync, state.seen, state.problems = now, seen, []
    if s.unknown:
        state.problems.append(f"flags: unknown long flag {s.unknown[0]!r} (external-dns exits)")
        state.settled = False
        return
    namespace = (deployment.get("metadata") or {}).get("namespace", "default")
    account = ((deployment.get("spec") or {}).get("template") or {}).get("spec", {}).get("serviceAccountName",
                                                                                          "default")
    sa = handle.emulator.find("serviceaccounts", namespace, account)
    role_arn = ((sa or {}).get("metadata") or {}).get("annotations", {}).get(ROLE_ANNOTATION)
    try:
        if not role_arn:
            raise CloudError("AccessDenied", f"service account {namespace}/{account} has no {ROLE_ANNOTATION}: the "
                             "pod gets the node role's credentials, which may not call Route 53")
        session = cloud.assume_role_with_web_identity(role_arn, eks_name,
                                                      f"system:serviceaccount:{namespace}:{account}")
        listed = cloud.route53(session, "ListHostedZones", zone_ids=s.zone_ids,
                               names_asked=sorted({k[0] for k in desired}))
        # Least privilege (IAM policy simulation): the role may change the zones of its filter, and no other.
        if s.zone_ids and cloud.allowed(session, "route53:ChangeResourceRecordSets", OTHER_ZONE_ARN):
            raise CloudError("TooBroad", f"its role {session} may change any hosted zone (route53:"
                             f"ChangeResourceRecordSets is allowed on {OTHER_ZONE_ARN}), not only "
                             f"{', '.join(s.zone_ids)} of its --zone-id-filter")
    except CloudError as error:
        state.problems.append(f"failed to list hosted zones: {error}")
        state.settled = False
        return
    zones = [{"Id": z["Id"].removeprefix("/hostedzone/"), "Name": z["Name"]} for z in listed
             if (not s.zone_ids or z["Id"].removeprefix("/hostedzone/") in s.zone_ids)
             and not (s.zone_type == "public" and z["Config"]["PrivateZone"])
             and not (s.zone_type == "private" and not z["Config"]["PrivateZone"])
             and (_domain_match(s.domain_filters, z["Name"]) or any(
                 fqdn(d).endswith("." + z["Name"]) for d in s.domain_filters))]
    current: dict[tuple[str, str, str], tuple[str, dict]] = {}
    for zone in zones:
        try:
            for rrset in cloud.route53(session, "ListResourceRecordSets", zone_id=zone["Id"]):
                current[(rrset["Name"], rrset["Type"], rrset.get("SetIdentifier", ""))] = (zone["Id"], rrset)
        except CloudError as error:
            state.problems.append(f"failed to list records of zone {zone['Id']}: {error}")
            state.settled = False
            return

    def owner(key: tuple[str, str, str]) -> str | None:
        txt_type = "cname" if key[1] == "A" and "AliasTarget" in current[key][1] else key[1].lower()
        txt = current.get((txt_name(s, key[0], txt_type), "TXT", key[2]))
        return owner_of(txt[1]["ResourceRecords"][0]["Value"]) if txt else None

    changes: dict[str, list[dict]] = {}
    skipped = []

    def submit(action: str, rrset: dict, txt: dict) -> None:
        for change in (rrset, txt):  # each to its own zone (an apex record's TXT name lies outside the apex's zone)
            zone = _zone_for(change["Name"], zones)
            if zone is None:
                skipped.append(change["Name"])
                continue
            changes.setdefault(zone["Id"], []).append({"Action": action, "ResourceRecordSet": change})

    for key, want in desired.items():
        txt = _txt(s, want["rrset"], want["txt_type"], want["resource"])
        if key not in current:
            submit("CREATE", want["rrset"], txt)
        elif owner(key) == s.owner and current[key][1] != want["rrset"] and s.policy != "create-only":
            submit("UPSERT", want["rrset"], txt)
        elif owner(key) != s.owner:
            state.problems.append(f"record {key[0]} {key[1]} {key[2]} exists and is not owned by {s.owner!r}: "
                                  "left as it is")
    if s.policy == "sync":
        for key, (_, rrset) in sorted(current.items()):
            if key[1] != "TXT" and key not in desired and _domain_match(s.domain_filters, key[0]) and \
                    owner(key) == s.owner:
                txt_type = "cname" if key[1] == "A" and "AliasTarget" in rrset else key[1].lower()
                submit("DELETE", rrset, current[(txt_name(s, key[0], txt_type), "TXT", key[2])][1])
    for name in sorted(set(skipped)):
        state.problems.append(f"Skipping record {name} because no hosted zone matching record DNS Name was detected "
                              f"(zones of its filter: {', '.join(s.zone_ids) or 'any'})")
    for zone_id, batch in sorted(changes.items()):
        try:
            cloud.route53(session, "ChangeResourceRecordSets", zone_id=zone_id, changes=batch)
        except CloudError as error:
            state.problems.append(f"Failure in zone {zone_id} when submitting change batch: {error}")
    state.settled = not state.problems and not changes
