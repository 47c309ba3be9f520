"""Route 53 hosted zones as the rehearsal needs them: the zones a config names (they exist before the deploy: the
project never creates a zone), their record sets, and ChangeResourceRecordSets with the refusals Route 53 makes
(Amazon Route 53 API Reference, ChangeResourceRecordSets: the batch is applied whole or not at all, InvalidChangeBatch;
Developer Guide, "Choosing a routing policy", "Values specific for alias records").

Zone names: a config names a zone by id only. A zone the rehearsal was not told about (`Route53.zones`, seeded by
the caller) is created when a controller first lists it, named for the record names asked of it (their longest
common parent domain; a single name: its parent, or itself when it has two labels).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

# The canonical hosted zones of Network Load Balancers (`<name>-<id>.elb.<region>.amazonaws.com`) by region (AWS
# General Reference, "Elastic Load Balancing endpoints and quotas", column "Route 53 Hosted Zone ID (Network Load
# Balancers)"). An alias to a load balancer must name its region's zone.
NLB_CANONICAL_ZONES = {
    "us-east-1": "Z26RNL4JYFTOTI", "us-east-2": "ZLMOA37VPKANP", "us-west-1": "Z24FKFUX50B4VW",
    "us-west-2": "Z18D5FSROUN65G", "ca-central-1": "Z2EPGBW3API2WT", "eu-west-1": "Z2IFOLAFXWLO4F",
    "eu-west-2": "ZD4D7Y8KGAS4G", "eu-west-3": "Z1CMS0P5QUZ6D5", "eu-central-1": "Z3F0SRJ5LGBH90",
    "eu-north-1": "Z1UDT6IFJ4EJM", "ap-southeast-1": "ZKVM4W9LS7TM", "ap-southeast-2": "ZCT6FZBF4DROD",
    "ap-northeast-1": "Z31USIVHYNEOWT", "ap-northeast-2": "ZIBE1TIR4HY56", "ap-south-1": "ZVDDRBQ08TROA",
    "sa-east-1": "ZTK26PT1VY4CU",
}
ROUTING_KEYS = ("Weight", "Region", "Failover", "GeoLocation", "MultiValueAnswer", "CidrRoutingConfig",
                "GeoProximityLocation")


HERITAGE = "external-dns"
"""ExternalDNS's TXT ownership records: `"heritage=external-dns,external-dns/owner=<id>,..."` (external-dns v0.21.0
endpoint/labels.go), how the rehearsal tells records a controller wrote from the zone's own."""


def owner_of(value: str) -> str | None:
    """The owner id of an ExternalDNS TXT ownership value (None: not ExternalDNS's)."""
    tokens = dict(t.split("=", 1) for t in value.strip('"').split(",") if "=" in t)
    if tokens.get("heritage") != HERITAGE:
        return None
    return tokens.get(f"{HERITAGE}/owner", "")


def fqdn(name: str) -> str:
    return name.lower().rstrip(".") + "."


def nlb_canonical_zone(hostname: str) -> str | None:
    """The canonical hosted zone of a Network Load Balancer's DNS name (None: not one the rehearsal knows)."""
    parts = hostname.lower().rstrip(".").split(".")
    if len(parts) >= 5 and parts[-4] == "elb" and parts[-2:] == ["amazonaws", "com"]:
        return NLB_CANONICAL_ZONES.get(parts[-3])
    return None


@dataclass
class HostedZone:
    id: str
    name: str
    """With the trailing dot."""
    private: bool = False
    records: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    """(name, type, set identifier or "") -> the ResourceRecordSet as ListResourceRecordSets returns it."""

    @property
    def arn(self) -> str:
        return f"arn:aws:route53:::hostedzone/{self.id}"


class InvalidChangeBatch(Exception):
    pass


def _key(rrset: dict[str, Any]) -> tuple[str, str, str]:
    return fqdn(str(rrset.get("Name", ""))), str(rrset.get("Type", "")), str(rrset.get("SetIdentifier", ""))


def _describe(key: tuple[str, str, str]) -> str:
    return f"[name='{key[0]}', type='{key[1]}'" + (f", set-identifier='{key[2]}'" if key[2] else "") + "]"


def common_parent(names: list[str]) -> str:
    """The zone a set of record names is taken to be in, when nothing says (module docstring)."""
    labels = [fqdn(n).rstrip(".").split(".") for n in names if n]
    if not labels:
        return ""
    if len(labels) == 1:
        only = labels[0]
        return ".".join(only[1:] if len(only) > 2 else only) + "."
    common: list[str] = []
    for parts in zip(*(reversed(x) for x in labels)):
        if len(set(parts)) != 1:
            break
        common.insert(0, parts[0])
    return ".".join(common) + "." if len(common) >= 2 else ""


class Route53:
    def __init__(self) -> None:
        self.zones: dict[str, HostedZone] = {}
        self.changes: list[tuple[str, str, tuple[str, str, str]]] = []
        """Every applied change: (zone id, action, record key), in order."""

    def existing_zone(self, zone_id: str, names_asked: list[str]) -> HostedZone | None:
        """The zone `zone_id` of the account: as seeded, or created now named for `names_asked` (module docstring);
        None when nothing names it."""
        if zone_id not in self.zones:
            name = common_parent(names_asked)
            if not name:
                return None
            self.zones[zone_id] = HostedZone(zone_id, name)
        return self.zones[zone_id]

    def list_records(self, zone_id: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(r) for _, r in sorted(self.zones[zone_id].records.items())]

    def change(self, zone_id: str, changes: list[dict[str, Any]]) -> None:
        """ChangeResourceRecordSets: every change checked against the zone as the batch leaves it, then applied
        together (InvalidChangeBatch: nothing applied)."""
        zone = self.zones.get(zone_id)
        if zone is None:
            raise InvalidChangeBatch(f"NoSuchHostedZone: No hosted zone found with ID: {zone_id}")
        records = copy.deepcopy(zone.records)
        applied = []
        for change in changes:
            action, rrset = change.get("Action"), change.get("ResourceRecordSet") or {}
            key = _key(rrset)
            if key[0] != zone.name and not key[0].endswith("." + zone.name):
                raise InvalidChangeBatch(f"RRSet with DNS name {key[0]} is not permitted in zone {zone.name}")
            if action == "DELETE":
                if key not in records:
                    raise InvalidChangeBatch(f"Tried to delete resource record set {_describe(key)} but it was not "
                                             "found")
                if records[key] != _normalized(rrset):
                    raise InvalidChangeBatch(f"Tried to delete resource record set {_describe(key)} but the values "
                                             "provided do not match the current values")
                del records[key]
            elif action in ("CREATE", "UPSERT"):
                if action == "CREATE" and key in records:
                    raise InvalidChangeBatch(f"Tried to create resource record set {_describe(key)} but it already "
                                             "exists")
                _check_record(zone, rrset, key)
                records[key] = _normalized(rrset)
            else:
                raise InvalidChangeBatch(f"unknown action {action!r}")
            applied.append((zone_id, str(action), key))
        _check_name_sets(records)
        zone.records = records
        self.changes.extend(applied)


def _normalized(rrset: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(rrset)
    out["Name"] = fqdn(str(out.get("Name", "")))
    if "AliasTarget" in out:
        out["AliasTarget"] = {**out["AliasTarget"], "DNSName": fqdn(str(out["AliasTarget"].get("DNSName", "")))}
    return out


def _check_record(zone: HostedZone, rrset: dict[str, Any], key: tuple[str, str, str]) -> None:
    name, kind, set_id = key
    if kind == "CNAME" and name == zone.name:
        raise InvalidChangeBatch(f"RRSet of type CNAME with DNS name {name} is not permitted at apex in zone "
                                 f"{zone.name}")
    alias = rrset.get("AliasTarget")
    if alias is not None:
        if "TTL" in rrset or rrset.get("ResourceRecords"):
            raise InvalidChangeBatch(f"Alias RRSet {_describe(key)} cannot have a TTL or resource records")
        expected = nlb_canonical_zone(str(alias.get("DNSName", "")))
        if expected is not None and alias.get("HostedZoneId") != expected:
            raise InvalidChangeBatch(f"Tried to create an alias that targets {alias.get('DNSName')}, type {kind} in "
                                     f"zone {alias.get('HostedZoneId')}, but the alias target name does not lie "
                                     "within the target zone")
    elif "TTL" not in rrset or not rrset.get("ResourceRecords"):
        raise InvalidChangeBatch(f"RRSet {_describe(key)} needs a TTL and resource records, or an alias target")
    routing = [k for k in ROUTING_KEYS if k in rrset]
    if bool(set_id) != bool(routing) or len(routing) > 1:
        raise InvalidChangeBatch(f"RRSet {_describe(key)}: a SetIdentifier goes with exactly one routing policy "
                                 f"(has {routing!r})")
    if "Weight" in rrset and not 0 <= int(rrset["Weight"]) <= 255:
        raise InvalidChangeBatch(f"RRSet {_describe(key)}: Weight must be 0 to 255")
    if rrset.get("Failover") not in (None, "PRIMARY", "SECONDARY"):
        raise InvalidChangeBatch(f"RRSet {_describe(key)}: Failover must be PRIMARY or SECONDARY")


def _check_name_sets(records: dict[tuple[str, str, str], dict[str, Any]]) -> None:
    """What Route 53 checks across the records of one name and type: one routing policy for all of them (or one
    simple record), one PRIMARY and one SECONDARY with failover, one record per region with latency; and no CNAME
    beside other records of the name."""
    by_name_type: dict[tuple[str, str], list[dict[str, Any]]] = {}
    types_by_name: dict[str, set[str]] = {}
    for (name, kind, _), rrset in records.items():
        by_name_type.setdefault((name, kind), []).append(rrset)
        types_by_name.setdefault(name, set()).add(kind)
    for name, kinds in types_by_name.items():
        if "CNAME" in kinds and len(kinds) > 1:
            raise InvalidChangeBatch(f"RRSet of type CNAME with DNS name {name} is not permitted as it conflicts "
                                     f"with other records with the same DNS name in zone")
    for (name, kind), sets in by_name_type.items():
        policies = {next((k for k in ROUTING_KEYS if k in r), "simple") for r in sets}
        if len(policies) > 1 or ("simple" in policies and len(sets) > 1):
            raise InvalidChangeBatch(f"RRSet with DNS name {name}, type {kind} cannot be created: records of the "
                                     f"name and type mix routing policies {sorted(policies)!r}")
        for field_name in ("Failover", "Region"):
            values = [r[field_name] for r in sets if field_name in r]
            if len(values) != len(set(values)):
                raise InvalidChangeBatch(f"RRSet with DNS name {name}, type {kind}: two records with {field_name} "
                                         f"{sorted(values)!r} (one per value)")
