"""The AWS resources of a rehearsal: what CloudFormation would create, as state the network and the custom
resources read, with the refusals AWS itself makes (a subnet outside its VPC, overlapping peered CIDRs, a route
to a peering that does not exist, a security group still in use).

Each type the templates use is modelled on purpose: a type this module does not know is a failure that names it
(`RESOURCE_TYPES`). Networking types keep real state; the others are recorded with the Ref and attributes the AWS
CloudFormation resource reference gives them, and the virtual seconds AWS usually takes (rough, for the estimate).
"""
from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from federated_eks.model import instance_types as instance_types_model
from rehearsal import iam as iam_model, route53 as route53_model
from rehearsal.world import CloudError, EksCluster, Kubernetes, LambdaFunction, NodeGroup, RehearsalFailure


def physical_id(prefix: str, *parts: str, length: int = 17) -> str:
    """Deterministic ids shaped like AWS's (`vpc-0a1b...`), so a rehearsal prints the same on every run."""
    return prefix + hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


@dataclass
class Rule:
    """One security group rule; `owner` is the AWS::EC2::SecurityGroupIngress/Egress that made it (None: inline)."""

    protocol: str
    from_port: int
    to_port: int
    cidr: str | None = None
    group: str | None = None
    """The other security group (source of an ingress rule, destination of an egress rule)."""
    owner: str | None = None

    def admits_port(self, port: int, protocol: str = "tcp") -> bool:
        if self.protocol in ("-1", "all"):
            return True
        return self.protocol in (protocol, {"tcp": "6", "udp": "17"}.get(protocol)) and \
            self.from_port <= port <= self.to_port


@dataclass
class SecurityGroup:
    id: str
    vpc: str
    region: str
    ingress: list[Rule] = field(default_factory=list)
    egress: list[Rule] = field(default_factory=list)


@dataclass
class Vpc:
    id: str
    region: str
    cidr: str
    default_security_group: str
    main_route_table: str


@dataclass
class Subnet:
    id: str
    vpc: str
    cidr: str


@dataclass
class RouteTable:
    id: str
    vpc: str
    routes: dict[str, str] = field(default_factory=dict)
    """Destination CIDR -> target id (`local`, `pcx-...`, `nat-...`, `igw-...`)."""


@dataclass
class Peering:
    id: str
    requester: str
    accepter: str
    active: bool = True


@dataclass
class TransitGateway:
    id: str
    region: str


@dataclass
class TgwRouteTable:
    id: str
    gateway: str
    routes: dict[str, str] = field(default_factory=dict)
    """Destination CIDR -> attachment id: static routes and the CIDRs its VPC attachments propagate."""
    propagated: dict[str, str] = field(default_factory=dict)
    """The propagated part of `routes`: destination CIDR -> the VPC attachment that propagates it."""


@dataclass
class TgwAttachment:
    """A transit gateway attachment: a VPC's (`vpc` set, `gateways` one) or a peering (`gateways` requester's then
    accepter's, `regions` likewise)."""

    id: str
    gateways: tuple[str, ...]
    regions: tuple[str, ...]
    vpc: str | None = None
    state: str = "available"
    accepted_at: float | None = None
    """Virtual second the accepter accepted a peering (it becomes available PEERING_ACCEPT_SECONDS later)."""
    route_table: str | None = None
    """The route table it is associated with (None: none yet). A peering has one per side: `peer_route_table`."""
    peer_route_table: str | None = None


@dataclass
class Cluster:
    """An EKS cluster: where its API server's network interfaces sit and which groups guard them."""

    name: str
    region: str
    vpc: str
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    cluster_security_group: str
    endpoint: str = ""
    """Its API server's URL and CA (base64 PEM), as EKS describes them (DescribeCluster: rehearsal/network.py)."""
    ca_data: str = ""
    oidc_issuer: str = ""
    """Its service account tokens' issuer (`OpenIdConnectIssuerUrl`), which IRSA roles trust."""
    tags: dict[str, str] = field(default_factory=dict)
    """Its tags (the resource's `Tags`, as the template sets them; updated in place): DescribeCluster answers them and
    IAM's aws:ResourceTag conditions read them (rehearsal/network.py)."""


@dataclass
class Created:
    physical_id: str
    attributes: dict[str, Any] = field(default_factory=dict)


class AwsFailure(RehearsalFailure):
    pass


class Aws:
    """One account's resources across regions, as the rehearsal has them now."""

    def __init__(self, kubernetes: Kubernetes, account: str = "123456789012") -> None:
        self.kubernetes = kubernetes
        self.account = account
        self.vpcs: dict[str, Vpc] = {}
        self.subnets: dict[str, Subnet] = {}
        self.route_tables: dict[str, RouteTable] = {}
        self.associations: dict[str, tuple[str, str]] = {}
        """Association id -> (subnet, route table)."""
        self.peerings: dict[str, Peering] = {}
        self.transit_gateways: dict[str, TransitGateway] = {}
        self.tgw_route_tables: dict[str, TgwRouteTable] = {}
        self.tgw_attachments: dict[str, TgwAttachment] = {}
        self.clock_now: Callable[[], float] = lambda: 0.0
        """The rehearsal's virtual clock (the player sets it): a peering attachment's state depends on time."""
        self.security_groups: dict[str, SecurityGroup] = {}
        self.functions: dict[str, LambdaFunction] = {}
        """By ARN."""
        self.layers: dict[str, Path | None] = {}
        self.state_machines: dict[str, str] = {}
        """ARN -> definition (JSON string)."""
        self.clusters: dict[str, Cluster] = {}
        self.node_groups: dict[str, dict[str, NodeGroup]] = {}
        self.load_balancers: dict[str, list[str]] = {}
        """VPC id -> load balancers a deleted cluster's controller left there (what blocks the VPC's delete)."""
        self.iam = iam_model.Iam(account)
        self.hosted_zones = route53_model.Route53()
        """The account's hosted zones: the config's exist before the deploy (seed `hosted_zones.zones` to name them)."""

    # ---- world.Cloud: the AWS APIs controllers on the clusters call --------------------------------------------
    def assume_role_with_web_identity(self, role_arn: str, cluster: str, subject: str) -> str:
        found = self.clusters.get(cluster)
        if found is None:
            raise CloudError("InvalidIdentityToken", f"no EKS cluster {cluster!r} issues tokens now")
        try:
            return self.iam.assume_role_with_web_identity(role_arn, found.oidc_issuer, subject).name
        except iam_model.AccessDenied as denied:
            raise CloudError("AccessDenied", str(denied)) from None

    def allowed(self, session: str, action: str, resource: str) -> bool:
        role = self.iam.roles.get(session)
        return role is not None and self.iam.allowed(role, action, resource)

    def route53(self, session: str, action: str, **params: Any) -> Any:
        """ListHostedZones (resource `*`), ListResourceRecordSets / ChangeResourceRecordSets (the zone's ARN),
        ListTagsForResources (each zone's ARN), each authorized against the session's role (Route 53 API
        permissions reference: the actions' resource types)."""
        role = self.iam.roles.get(session)
        if role is None:
            raise CloudError("ExpiredToken", f"the role {session} of the session no longer exists")
        r53 = self.hosted_zones
        try:
            if action == "ListHostedZones":
                self.iam.authorize(role, "route53:ListHostedZones", "*")
                for zone_id in params.get("zone_ids", ()):
                    r53.existing_zone(zone_id, list(params.get("names_asked", ())))
                return [{"Id": f"/hostedzone/{z.id}", "Name": z.name, "Config": {"PrivateZone": z.private}}
                        for z in r53.zones.values()]
            zone = r53.zones.get(str(params.get("zone_id", "")))
            if zone is None:
                raise CloudError("NoSuchHostedZone", f"No hosted zone found with ID: {params.get('zone_id')}")
            self.iam.authorize(role, f"route53:{action}", zone.arn)
            if action == "ListResourceRecordSets":
                return r53.list_records(zone.id)
            if action == "ListTagsForResources":
                return []
            if action == "ChangeResourceRecordSets":
                r53.change(zone.id, list(params.get("changes", ())))
                return None
        except iam_model.AccessDenied as denied:
            raise CloudError("AccessDenied", str(denied)) from None
        except route53_model.InvalidChangeBatch as refused:
            raise CloudError("InvalidChangeBatch", str(refused)) from None
        raise CloudError("InvalidAction", f"the rehearsal does not model route53:{action}")

    # ---- lookups -------------------------------------------------------------------------------------------
    def role_policies(self, role_arn: str) -> list[dict]:
        """The policy documents attached to the role `role_arn` names (by name): its AWS::IAM::Policy resources' and
        its inline ones (rehearsal/iam.py keeps them with the role)."""
        role = self.iam.roles.get(role_arn.rsplit("/", 1)[-1])
        return list(role.policies.values()) if role is not None else []

    def function_by_source(self, source: str) -> LambdaFunction | None:
        return next((f for f in self.functions.values() if f.source == source), None)

    def route_table_of(self, subnet: str) -> RouteTable:
        for s, table in self.associations.values():
            if s == subnet:
                return self.route_tables[table]
        return self.route_tables[self.vpcs[self.subnets[subnet].vpc].main_route_table]

    def tgw_attachment(self, attachment_id: str, region: str) -> TgwAttachment | None:
        """The attachment as EC2 in `region` sees it (a peering attachment exists on both of its sides), its state
        brought up to the clock's now."""
        found = self.tgw_attachments.get(attachment_id)
        if found is None or region not in found.regions:
            return None
        if found.state == "pending" and found.accepted_at is not None and \
                self.clock_now() >= found.accepted_at + PEERING_ACCEPT_SECONDS:
            found.state = "available"
        return found

    def accept_tgw_peering(self, attachment_id: str, region: str) -> None:
        """EC2 AcceptTransitGatewayPeeringAttachment called in `region` (EC2 API Reference: "The peering attachment
        must be in the pendingAcceptance state"; only the accepter's side can accept: in the requester's region the
        call is refused)."""
        found = self.tgw_attachment(attachment_id, region)
        if found is None or len(found.regions) != 2:
            raise AwsFailure(f"transit gateway peering attachment {attachment_id!r} does not exist in {region} "
                             "(InvalidTransitGatewayAttachmentID.NotFound)")
        if region != found.regions[1]:
            raise AwsFailure(f"transit gateway peering attachment {attachment_id} can only be accepted in its "
                             f"accepter's region {found.regions[1]}, not in {region} (IncorrectState)")
        if found.state != "pendingAcceptance":
            raise AwsFailure(f"transit gateway peering attachment {attachment_id} is {found.state}, not "
                             "pendingAcceptance (IncorrectState)")
        found.state, found.accepted_at = "pending", self.clock_now()

    def group(self, group_id: str, why: str) -> SecurityGroup:
        if group_id not in self.security_groups:
            raise AwsFailure(f"{why}: security group {group_id!r} does not exist (InvalidGroup.NotFound)")
        return self.security_groups[group_id]


# ---- the resource types ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    """One resource operation as a type handler sees it."""

    aws: Aws
    stack: str
    logical_id: str
    region: str
    properties: dict[str, Any]
    asset: Callable[[str], Path | None]
    """An S3 object key of the stack's assets -> its folder (or file) in the cloud assembly."""
    generation: int = 0
    """How many times an update replaced the resource of this logical id (0: the first physical resource)."""

    @property
    def key(self) -> tuple[str, ...]:
        """What its physical id is made from: a replacement gets new ids, so the old one can be deleted after."""
        return (self.stack, self.logical_id) + ((f"replacement-{self.generation}",) if self.generation else ())

    def name(self, max_length: int = 64) -> str:
        """A CloudFormation-generated name: <stack>-<logical id>-<suffix>, cut to the type's limit."""
        suffix = physical_id("", *self.key, length=12).upper()
        return f"{self.stack}-{self.logical_id}"[: max_length - 13] + "-" + suffix

    def arn(self, service: str, resource: str, region: str | None = None) -> str:
        region = self.region if region is None else region
        return f"arn:aws:{service}:{region}:{self.aws.account}:{resource}"

    def required(self, key: str) -> Any:
        if key not in self.properties:
            raise AwsFailure(f"property {key!r} is required", fix=f"set {key}")
        return self.properties[key]


@dataclass(frozen=True)
class ResourceType:
    create: Callable[[Request], Created]
    delete: Callable[[Request, str], None] = lambda request, physical: None
    seconds: float = 5
    """Virtual seconds AWS usually takes to create it (deletes take as long, in this model)."""
    update: Callable[[Request, "Created"], Created] | None = None
    """An update in place (no replacement): the request has the new properties, `Created` the resource as it is.
    None: the create handler again, which overwrites the model's state under the same physical id."""


def _recorded(prefix: str | Callable[[Request], str], **attributes: Callable[[Request, str], Any]) \
        -> Callable[[Request], Created]:
    """A resource the rehearsal only records: its Ref and plausible attributes."""

    def create(request: Request) -> Created:
        pid = prefix(request) if callable(prefix) else physical_id(prefix, *request.key)
        return Created(pid, {name: make(request, pid) for name, make in attributes.items()})

    return create


def _cidr(value: str, what: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.ip_network(value)
    except ValueError:
        raise AwsFailure(f"{what} {value!r} is not a CIDR block") from None


# VPC and subnets

def _create_vpc(r: Request) -> Created:
    cidr = str(_cidr(r.required("CidrBlock"), "CidrBlock"))
    vpc_id = physical_id("vpc-", *r.key)
    default_sg = physical_id("sg-", vpc_id, "default")
    main = physical_id("rtb-", vpc_id, "main")
    r.aws.vpcs[vpc_id] = Vpc(vpc_id, r.region, cidr, default_sg, main)
    r.aws.route_tables[main] = RouteTable(main, vpc_id, {cidr: "local"})
    # The default group admits itself and allows all egress (VPC User Guide, "Default security groups").
    r.aws.security_groups[default_sg] = SecurityGroup(default_sg, vpc_id, r.region, [Rule("-1", 0, 65535, group=default_sg)],
                                                      [Rule("-1", 0, 65535, cidr="0.0.0.0/0")])
    return Created(vpc_id, {"CidrBlock": cidr, "DefaultSecurityGroup": default_sg, "VpcId": vpc_id,
                            "DefaultNetworkAcl": physical_id("acl-", vpc_id), "CidrBlockAssociations": [],
                            "Ipv6CidrBlocks": []})


def _delete_vpc(r: Request, vpc_id: str) -> None:
    users = [f"load balancer {lb}" for lb in r.aws.load_balancers.get(vpc_id, [])] + \
            [s for s in r.aws.subnets.values() if s.vpc == vpc_id] + \
            [g.id for g in r.aws.security_groups.values() if g.vpc == vpc_id and g.id != r.aws.vpcs[vpc_id].default_security_group]
    if users:
        raise AwsFailure(f"VPC {vpc_id} still has dependencies (DependencyViolation): {users[:3]!r}")
    vpc = r.aws.vpcs.pop(vpc_id)
    r.aws.security_groups.pop(vpc.default_security_group, None)
    r.aws.route_tables.pop(vpc.main_route_table, None)


def _vpc(r: Request, key: str = "VpcId") -> Vpc:
    vpc_id = r.required(key)
    if vpc_id not in r.aws.vpcs:
        raise AwsFailure(f"{key} {vpc_id!r}: no such VPC (InvalidVpcID.NotFound)")
    vpc = r.aws.vpcs[vpc_id]
    if vpc.region != r.region:
        raise AwsFailure(f"{key} {vpc_id!r} is in {vpc.region}, the stack in {r.region} (InvalidVpcID.NotFound)")
    return vpc


def _create_subnet(r: Request) -> Created:
    vpc = _vpc(r)
    cidr = _cidr(r.required("CidrBlock"), "CidrBlock")
    if not cidr.subnet_of(ipaddress.ip_network(vpc.cidr)):
        raise AwsFailure(f"subnet {cidr} is not inside its VPC's {vpc.cidr} (InvalidSubnet.Range)")
    for other in r.aws.subnets.values():
        if other.vpc == vpc.id and cidr.overlaps(ipaddress.ip_network(other.cidr)):
            raise AwsFailure(f"subnet {cidr} overlaps {other.cidr} (InvalidSubnet.Conflict)")
    sid = physical_id("subnet-", *r.key)
    r.aws.subnets[sid] = Subnet(sid, vpc.id, str(cidr))
    return Created(sid, {"SubnetId": sid, "VpcId": vpc.id, "CidrBlock": str(cidr),
                         "AvailabilityZone": r.properties.get("AvailabilityZone", r.region + "a"),
                         "AvailabilityZoneId": "use1-az1", "NetworkAclAssociationId": physical_id("aclassoc-", sid),
                         "Ipv6CidrBlocks": [], "OutpostArn": ""})


def _delete_subnet(r: Request, sid: str) -> None:
    users = [f.source for f in r.aws.functions.values() if sid in f.subnets] + \
            [c.name for c in r.aws.clusters.values() if sid in c.subnets]
    if users:
        raise AwsFailure(f"subnet {sid} is in use by {users!r} (DependencyViolation)")
    r.aws.subnets.pop(sid, None)


def _create_route_table(r: Request) -> Created:
    vpc = _vpc(r)
    rid = physical_id("rtb-", *r.key)
    r.aws.route_tables[rid] = RouteTable(rid, vpc.id, {vpc.cidr: "local"})
    return Created(rid, {"RouteTableId": rid})


def _delete_route_table(r: Request, rid: str) -> None:
    if any(t == rid for _, t in r.aws.associations.values()):
        raise AwsFailure(f"route table {rid} still has subnet associations (DependencyViolation)")
    r.aws.route_tables.pop(rid, None)


def _table(r: Request) -> RouteTable:
    rid = r.required("RouteTableId")
    if rid not in r.aws.route_tables:
        raise AwsFailure(f"route table {rid!r} does not exist (InvalidRouteTableID.NotFound)")
    return r.aws.route_tables[rid]


def _create_association(r: Request) -> Created:
    table, sid = _table(r), r.required("SubnetId")
    if sid not in r.aws.subnets:
        raise AwsFailure(f"subnet {sid!r} does not exist (InvalidSubnetID.NotFound)")
    if r.aws.subnets[sid].vpc != table.vpc:
        raise AwsFailure(f"subnet {sid} and route table {table.id} are in different VPCs")
    if any(s == sid for s, _ in r.aws.associations.values()):
        raise AwsFailure(f"subnet {sid} already has a route table association (Resource.AlreadyAssociated)")
    aid = physical_id("rtbassoc-", *r.key)
    r.aws.associations[aid] = (sid, table.id)
    return Created(aid, {"Id": aid})


ROUTE_TARGETS = ("VpcPeeringConnectionId", "NatGatewayId", "GatewayId", "TransitGatewayId", "InstanceId",
                 "NetworkInterfaceId", "VpcEndpointId", "EgressOnlyInternetGatewayId", "CarrierGatewayId",
                 "LocalGatewayId", "CoreNetworkArn")


def _create_route(r: Request) -> Created:
    table = _table(r)
    destination = str(_cidr(r.required("DestinationCidrBlock"), "DestinationCidrBlock"))
    targets = [k for k in ROUTE_TARGETS if k in r.properties]
    if len(targets) != 1:
        raise AwsFailure(f"a route needs exactly one target, has {targets!r}")
    target = r.properties[targets[0]]
    if targets[0] == "VpcPeeringConnectionId":
        peering = r.aws.peerings.get(target)
        if peering is None:
            raise AwsFailure(f"route to {destination}: peering connection {target!r} does not exist "
                             "(InvalidVpcPeeringConnectionID.NotFound)")
        if table.vpc not in (peering.requester, peering.accepter):
            raise AwsFailure(f"route to {destination}: peering {target} does not connect {table.vpc}")
    if targets[0] == "TransitGatewayId":
        gateway = r.aws.transit_gateways.get(target)
        if gateway is None or gateway.region != r.region:
            raise AwsFailure(f"route to {destination}: transit gateway {target!r} does not exist in {r.region} "
                             "(InvalidTransitGatewayID.NotFound)")
        if not any(a.vpc == table.vpc and a.gateways == (target,) and a.state == "available"
                   for a in r.aws.tgw_attachments.values()):
            raise AwsFailure(f"route to {destination}: VPC {table.vpc} has no available attachment to transit gateway "
                             f"{target} (InvalidTransitGatewayID.NotFound)",
                             fix="make the route depend on the VPC's transit gateway attachment")
    if destination in table.routes:
        raise AwsFailure(f"route table {table.id} already has a route to {destination} (RouteAlreadyExists)")
    table.routes[destination] = target
    return Created(f"{table.id}|{destination}")


def _delete_route(r: Request, pid: str) -> None:
    table_id, destination = pid.split("|", 1)
    if table_id in r.aws.route_tables:
        r.aws.route_tables[table_id].routes.pop(destination, None)


def _create_peering(r: Request) -> Created:
    requester = _vpc(r)
    peer_id, peer_region = r.required("PeerVpcId"), r.properties.get("PeerRegion", r.region)
    accepter = r.aws.vpcs.get(peer_id)
    if accepter is None or accepter.region != peer_region:
        raise AwsFailure(f"peer VPC {peer_id!r} does not exist in {peer_region} (the peering fails)",
                         fix="check PeerVpcId and PeerRegion")
    if ipaddress.ip_network(requester.cidr).overlaps(ipaddress.ip_network(accepter.cidr)):
        raise AwsFailure(f"peering {requester.cidr} with {accepter.cidr}: overlapping CIDR blocks cannot be peered")
    pid = physical_id("pcx-", *r.key)
    # Same account: CloudFormation accepts the request, the connection is active once the resource is created.
    r.aws.peerings[pid] = Peering(pid, requester.id, accepter.id)
    return Created(pid, {"Id": pid})


# Transit gateways (Amazon VPC Transit Gateways guide; AWS::EC2::TransitGateway* in the CloudFormation reference)

# A peering attachment goes pendingAcceptance -> pending -> available once accepted, in minutes
# (hashicorp/terraform-provider-aws#14228: "that may take several minutes").
PEERING_ACCEPT_SECONDS = 180


def _gateway(r: Request, key: str = "TransitGatewayId", region: str | None = None) -> TransitGateway:
    gid, region = r.required(key), region or r.region
    found = r.aws.transit_gateways.get(gid)
    if found is None or found.region != region:
        raise AwsFailure(f"{key} {gid!r}: no such transit gateway in {region} (InvalidTransitGatewayID.NotFound)")
    return found


def _create_transit_gateway(r: Request) -> Created:
    gid = physical_id("tgw-", *r.key)
    r.aws.transit_gateways[gid] = TransitGateway(gid, r.region)
    return Created(gid, {"Id": gid, "TransitGatewayArn": r.arn("ec2", f"transit-gateway/{gid}"),
                         "EncryptionSupportState": "disable"})


def _delete_transit_gateway(r: Request, gid: str) -> None:
    users = [a.id for a in r.aws.tgw_attachments.values() if gid in a.gateways] + \
            [t.id for t in r.aws.tgw_route_tables.values() if t.gateway == gid]
    if users:
        raise AwsFailure(f"transit gateway {gid} still has attachments or route tables {users[:3]!r} "
                         "(IncorrectState)")
    r.aws.transit_gateways.pop(gid, None)


def _create_tgw_route_table(r: Request) -> Created:
    gateway = _gateway(r)
    rid = physical_id("tgw-rtb-", *r.key)
    r.aws.tgw_route_tables[rid] = TgwRouteTable(rid, gateway.id)
    return Created(rid, {"TransitGatewayRouteTableId": rid})


def _delete_tgw_route_table(r: Request, rid: str) -> None:
    users = [a.id for a in r.aws.tgw_attachments.values() if rid in (a.route_table, a.peer_route_table)]
    if users:
        raise AwsFailure(f"transit gateway route table {rid} still has associations {users[:3]!r} (IncorrectState)")
    r.aws.tgw_route_tables.pop(rid, None)


def _create_vpc_attachment(r: Request) -> Created:
    vpc, gateway = _vpc(r), _gateway(r)
    subnets = r.required("SubnetIds")
    for sid in subnets:
        if sid not in r.aws.subnets or r.aws.subnets[sid].vpc != vpc.id:
            raise AwsFailure(f"SubnetIds: subnet {sid!r} is not a subnet of {vpc.id} (InvalidSubnetID.NotFound)")
    if any(a.vpc == vpc.id and a.gateways == (gateway.id,) for a in r.aws.tgw_attachments.values()):
        raise AwsFailure(f"VPC {vpc.id} is already attached to {gateway.id} (DuplicateTransitGatewayAttachment)")
    aid = physical_id("tgw-attach-", *r.key)
    # CloudFormation returns once the attachment is available (same account: no acceptance).
    r.aws.tgw_attachments[aid] = TgwAttachment(aid, (gateway.id,), (r.region,), vpc=vpc.id)
    return Created(aid, {"Id": aid})


def _delete_tgw_attachment(r: Request, aid: str) -> None:
    """Deleting an attachment (either side may delete a peering) drops its associations and propagations; the static
    routes that name it stay, as blackholes (they are the route resources' to delete)."""
    r.aws.tgw_attachments.pop(aid, None)
    for table in r.aws.tgw_route_tables.values():
        for cidr in [c for c, a in table.propagated.items() if a == aid]:
            table.propagated.pop(cidr)
            table.routes.pop(cidr, None)


def _create_peering_attachment(r: Request) -> Created:
    local = _gateway(r)
    peer_region = r.required("PeerRegion")
    peer = _gateway(r, "PeerTransitGatewayId", region=peer_region)
    if r.required("PeerAccountId") != r.aws.account:
        raise AwsFailure(f"PeerAccountId {r.properties['PeerAccountId']!r} is not this account's")
    if peer.id == local.id:
        raise AwsFailure(f"a transit gateway cannot peer with itself ({local.id})")
    if any(set(a.gateways) == {local.id, peer.id} for a in r.aws.tgw_attachments.values()):
        raise AwsFailure(f"{local.id} and {peer.id} are already peered (DuplicateTransitGatewayAttachment)")
    aid = physical_id("tgw-attach-", *r.key)
    # CloudFormation returns with the attachment pendingAcceptance: the accepter's owner must accept it.
    r.aws.tgw_attachments[aid] = TgwAttachment(aid, (local.id, peer.id), (r.region, peer_region),
                                               state="pendingAcceptance")
    return Created(aid, {"TransitGatewayAttachmentId": aid, "State": "pendingAcceptance", "Status": {},
                         "CreationTime": "2026-01-01T00:00:00Z"})


def _available_attachment(r: Request, table: TgwRouteTable, what: str) -> TgwAttachment:
    aid = r.required("TransitGatewayAttachmentId")
    found = r.aws.tgw_attachment(aid, r.region)
    if found is None:
        raise AwsFailure(f"{what}: transit gateway attachment {aid!r} does not exist in {r.region} "
                         "(InvalidTransitGatewayAttachmentID.NotFound)")
    if table.gateway not in found.gateways:
        raise AwsFailure(f"{what}: attachment {aid} is not an attachment of {table.gateway}")
    if found.state != "available":
        raise AwsFailure(f"{what}: transit gateway attachment {aid} is {found.state}, not available (IncorrectState)",
                         fix="make it depend on what makes the attachment available (a peering's acceptance)")
    return found


def _tgw_table(r: Request) -> TgwRouteTable:
    rid = r.required("TransitGatewayRouteTableId")
    table = r.aws.tgw_route_tables.get(rid)
    if table is None or r.aws.transit_gateways[table.gateway].region != r.region:
        raise AwsFailure(f"transit gateway route table {rid!r} does not exist in {r.region} "
                         "(InvalidRouteTableID.NotFound)")
    return table


def _side(attachment: TgwAttachment, table: TgwRouteTable) -> str:
    return "peer_route_table" if len(attachment.gateways) == 2 and table.gateway == attachment.gateways[1] \
        else "route_table"


def _create_tgw_association(r: Request) -> Created:
    table = _tgw_table(r)
    attachment = _available_attachment(r, table, "route table association")
    side = _side(attachment, table)
    if getattr(attachment, side) is not None:
        raise AwsFailure(f"attachment {attachment.id} is already associated with {getattr(attachment, side)} "
                         "(Resource.AlreadyAssociated)")
    setattr(attachment, side, table.id)
    return Created(f"{table.id}|{attachment.id}")


def _delete_tgw_association(r: Request, pid: str) -> None:
    table_id, aid = pid.split("|", 1)
    attachment = r.aws.tgw_attachments.get(aid)
    if attachment is not None:
        for side in ("route_table", "peer_route_table"):
            if getattr(attachment, side) == table_id:
                setattr(attachment, side, None)


def _create_tgw_propagation(r: Request) -> Created:
    table = _tgw_table(r)
    attachment = _available_attachment(r, table, "route table propagation")
    if attachment.vpc is None:
        raise AwsFailure(f"attachment {attachment.id} is a peering: peering attachments carry static routes only, "
                         "they cannot propagate (IncorrectState)")
    cidr = r.aws.vpcs[attachment.vpc].cidr
    if cidr in table.routes:
        raise AwsFailure(f"transit gateway route table {table.id} already has a route to {cidr} (RouteAlreadyExists)")
    table.routes[cidr] = table.propagated[cidr] = attachment.id
    return Created(f"{table.id}|{attachment.id}")


def _delete_tgw_propagation(r: Request, pid: str) -> None:
    table_id, aid = pid.split("|", 1)
    table = r.aws.tgw_route_tables.get(table_id)
    if table is not None:
        for cidr in [c for c, a in table.propagated.items() if a == aid]:
            table.propagated.pop(cidr)
            table.routes.pop(cidr, None)


def _create_tgw_route(r: Request) -> Created:
    table = _tgw_table(r)
    destination = str(_cidr(r.required("DestinationCidrBlock"), "DestinationCidrBlock"))
    attachment = _available_attachment(r, table, f"static route to {destination}")
    if destination in table.routes:
        raise AwsFailure(f"transit gateway route table {table.id} already has a route to {destination} "
                         "(RouteAlreadyExists)")
    table.routes[destination] = attachment.id
    return Created(f"{table.id}|{destination}")


def _delete_tgw_route(r: Request, pid: str) -> None:
    table_id, destination = pid.split("|", 1)
    if table_id in r.aws.tgw_route_tables:
        r.aws.tgw_route_tables[table_id].routes.pop(destination, None)


# Security groups

def _rule(r: Request, spec: dict[str, Any], direction: str, owner: str | None) -> Rule:
    protocol = str(spec.get("IpProtocol", "-1"))
    other_key = "SourceSecurityGroupId" if direction == "ingress" else "DestinationSecurityGroupId"
    other = spec.get(other_key)
    if other is not None:
        r.aws.group(other, f"{direction} rule")
    cidr = spec.get("CidrIp")
    if cidr is not None:
        cidr = str(_cidr(cidr, "CidrIp"))
    return Rule(protocol, int(spec.get("FromPort", 0)), int(spec.get("ToPort", 65535)), cidr, other, owner)


def _create_security_group(r: Request) -> Created:
    vpc = _vpc(r)
    gid = physical_id("sg-", *r.key)
    group = SecurityGroup(gid, vpc.id, r.region)
    r.aws.security_groups[gid] = group
    group.ingress = [_rule(r, s, "ingress", None) for s in r.properties.get("SecurityGroupIngress", [])]
    # Without SecurityGroupEgress a new group allows all outbound traffic (AWS::EC2::SecurityGroup reference).
    egress = r.properties.get("SecurityGroupEgress")
    group.egress = [_rule(r, s, "egress", None) for s in egress] if egress is not None else \
        [Rule("-1", 0, 65535, cidr="0.0.0.0/0")]
    return Created(gid, {"GroupId": gid, "VpcId": vpc.id})


def _delete_security_group(r: Request, gid: str) -> None:
    users = [f.source for f in r.aws.functions.values() if gid in f.security_groups] + \
            [c.name for c in r.aws.clusters.values() if gid in c.security_groups] + \
            [g.id for g in r.aws.security_groups.values() if g.id != gid
             and any(rule.group == gid for rule in g.ingress + g.egress)]
    if users:
        raise AwsFailure(f"security group {gid} is still referenced by {users!r} (DependencyViolation)")
    r.aws.security_groups.pop(gid, None)


def _update_security_group(r: Request, now: Created) -> Created:
    """New inline rules (SecurityGroupIngress/Egress: "Update requires: No interruption"); the rules of separate
    AWS::EC2::SecurityGroupIngress/Egress resources stay."""
    group = r.aws.group(now.physical_id, "security group update")
    owned_in, owned_out = [x for x in group.ingress if x.owner], [x for x in group.egress if x.owner]
    inline = _create_security_group(r)
    group = r.aws.security_groups[inline.physical_id]
    group.ingress += owned_in
    group.egress += owned_out
    return inline


def _kept(r: Request, now: Created) -> Created:
    """The changed properties the templates can change in place leave the modelled state as it is (tags, logging)."""
    return now


def _separate_rule(direction: str) -> Callable[[Request], Created]:
    def create(r: Request) -> Created:
        group = r.aws.group(r.required("GroupId"), f"{direction} rule {r.logical_id}")
        owner = "/".join(r.key)
        (group.ingress if direction == "ingress" else group.egress).append(_rule(r, r.properties, direction, owner))
        return Created(physical_id("sgr-", owner), {"Id": physical_id("sgr-", owner)})
    return create


def _delete_rule(r: Request, pid: str) -> None:
    owner = "/".join(r.key)
    for group in r.aws.security_groups.values():
        group.ingress = [x for x in group.ingress if x.owner != owner]
        group.egress = [x for x in group.egress if x.owner != owner]


# EKS

def _create_cluster(r: Request) -> Created:
    config = r.required("ResourcesVpcConfig")
    subnets = tuple(config.get("SubnetIds", []))
    missing = [s for s in subnets if s not in r.aws.subnets]
    if len(subnets) < 2 or missing:
        raise AwsFailure(f"EKS needs subnets in at least two AZs that exist, got {subnets!r} (missing {missing!r})")
    vpc = r.aws.subnets[subnets[0]].vpc
    groups = tuple(config.get("SecurityGroupIds", []))
    for g in groups:
        r.aws.group(g, "ResourcesVpcConfig.SecurityGroupIds")
    name = r.properties.get("Name") or r.name(100)
    if name in r.aws.clusters:
        raise AwsFailure(f"an EKS cluster named {name!r} already exists (ResourceInUseException)")
    # EKS makes the cluster security group: it admits itself and allows all egress (EKS User Guide, "View Amazon
    # EKS security group requirements for clusters"). The kubectl provider Lambda of aws-eks-v2 runs with it, in
    # the cluster's private subnets (aws-cdk-lib 2.275.0 aws-eks-v2/lib/kubectl-provider.js: securityGroups
    # default to [cluster.clusterSecurityGroup], vpcSubnets to the cluster's private subnets), so it reaches the
    # API server through this self-reference and the VPC's local route.
    cluster_sg = physical_id("sg-", "eks-cluster-sg", name)
    r.aws.security_groups[cluster_sg] = SecurityGroup(cluster_sg, vpc, r.region,
                                                      [Rule("-1", 0, 65535, group=cluster_sg)],
                                                      [Rule("-1", 0, 65535, cidr="0.0.0.0/0")])
    r.aws.node_groups[name] = {}
    endpoint = r.aws.kubernetes.create_cluster(EksCluster(name, r.region, str(r.properties.get("Version", "1.35"))))
    oidc = endpoint.endpoint.replace("https://", "").split(".")[0].upper()
    issuer = f"https://oidc.eks.{r.region}.amazonaws.com/id/{oidc}"
    r.aws.clusters[name] = Cluster(name, r.region, vpc, subnets, groups, cluster_sg, endpoint.endpoint,
                                   endpoint.ca_data, oidc_issuer=issuer, tags=_tags(r))
    return Created(name, {
        "Arn": r.arn("eks", f"cluster/{name}"), "Endpoint": endpoint.endpoint,
        "CertificateAuthorityData": endpoint.ca_data, "ClusterSecurityGroupId": cluster_sg,
        "OpenIdConnectIssuerUrl": issuer,
        "EncryptionConfigKeyArn": (r.properties.get("EncryptionConfig") or [{}])[0].get("Provider", {}).get("KeyArn", ""),
        "Id": physical_id("", name, length=32), "KubernetesNetworkConfig.ServiceIpv4Cidr": "10.100.0.0/16",
        "KubernetesNetworkConfig.ServiceIpv6Cidr": ""})


def _tags(r: Request) -> dict[str, str]:
    """A resource's `Tags` (a list of Key/Value) as a map."""
    return {str(t["Key"]): str(t["Value"]) for t in r.properties.get("Tags") or []}


def _update_cluster(r: Request, now: Created) -> Created:
    """Tags change in place (AWS::EKS::Cluster `Tags`: update requires no interruption); the rest of what the templates
    change in place (logging, access) leaves the modelled state as it is."""
    cluster = r.aws.clusters.get(now.physical_id)
    if cluster is not None:
        cluster.tags = _tags(r)
    return now


def _delete_cluster(r: Request, name: str) -> None:
    if r.aws.node_groups.get(name):
        raise AwsFailure(f"EKS cluster {name} still has node groups {sorted(r.aws.node_groups[name])!r} "
                         "(ResourceInUseException)")
    cluster = r.aws.clusters.pop(name)
    # A load balancer the cluster's controller did not delete stays, its network interfaces in the VPC's subnets
    # (nothing deletes it once the controller is gone): the VPC's delete then fails with DependencyViolation.
    left = getattr(r.aws.kubernetes, "load_balancers", lambda _: [])(name) or []
    r.aws.load_balancers.setdefault(cluster.vpc, []).extend(left)
    r.aws.node_groups.pop(name, None)
    r.aws.security_groups.pop(cluster.cluster_security_group, None)
    r.aws.kubernetes.delete_cluster(name)


def node_architecture(ami_type: str | None, instance_types: list[str]) -> str:
    """amd64 or arm64: from the AmiType (AL2023_ARM_64_STANDARD, BOTTLEROCKET_ARM_64, ...), else as EKS picks
    the AMI for the instance types (by the architecture rule the config uses, federated_eks.model.instance_types)."""
    if ami_type:
        return "arm64" if "ARM" in ami_type.upper() else "amd64"
    arm = instance_types and all(instance_types_model.architecture(t) == instance_types_model.ARM64
                                 for t in instance_types)
    return "arm64" if arm else "amd64"


def _create_node_group(r: Request) -> Created:
    cluster = r.required("ClusterName")
    if cluster not in r.aws.clusters:
        raise AwsFailure(f"node group for EKS cluster {cluster!r}, which does not exist (ResourceNotFoundException)")
    name = r.properties.get("NodegroupName") or r.name(63)
    scaling = r.properties.get("ScalingConfig", {})
    arch = node_architecture(r.properties.get("AmiType"), r.properties.get("InstanceTypes", []))
    r.aws.node_groups[cluster][name] = NodeGroup(name, arch, int(scaling.get("DesiredSize", 2)))  # type: ignore[arg-type]
    r.aws.kubernetes.set_node_groups(cluster, list(r.aws.node_groups[cluster].values()))
    return Created(f"{cluster}/{name}", {"Arn": r.arn("eks", f"nodegroup/{cluster}/{name}/0"),
                                          "ClusterName": cluster, "NodegroupName": name, "Id": f"{cluster}/{name}"})


def _delete_node_group(r: Request, pid: str) -> None:
    cluster, name = pid.split("/", 1)
    r.aws.node_groups.get(cluster, {}).pop(name, None)
    if cluster in r.aws.clusters:
        r.aws.kubernetes.set_node_groups(cluster, list(r.aws.node_groups[cluster].values()))


# IAM: roles, their policies and OIDC providers keep state (rehearsal/iam.py), for what controllers do with them.

def _create_role(r: Request) -> Created:
    name = r.properties.get("RoleName") or r.name(64)
    arn = r.arn("iam", f"role{r.properties.get('Path', '/')}{name}", region="")
    old = r.aws.iam.roles.get(name)
    role = iam_model.Role(name, arn, r.required("AssumeRolePolicyDocument"))
    # Policies of AWS::IAM::Policy resources stay attached across an update of the role; inline ones are the role's.
    role.policies = {k: v for k, v in (old.policies if old else {}).items() if k.startswith("resource:")}
    for inline in r.properties.get("Policies") or []:
        role.policies[f"inline:{inline.get('PolicyName')}"] = inline.get("PolicyDocument") or {}
    r.aws.iam.roles[name] = role
    return Created(name, {"Arn": arn, "RoleId": physical_id("AROA", name, length=17).upper()})


def _delete_role(r: Request, name: str) -> None:
    role = r.aws.iam.roles.get(name)
    if role is not None and any(k.startswith("resource:") for k in role.policies):
        raise AwsFailure(f"role {name} still has policies attached (DeleteConflict: Cannot delete entity, must "
                         "detach all policies first)")
    r.aws.iam.roles.pop(name, None)


def _create_policy(r: Request) -> Created:
    pid = physical_id("", *r.key, length=12).upper()
    document = r.required("PolicyDocument")
    for name in r.properties.get("Roles") or []:
        role = r.aws.iam.roles.get(name)
        if role is None:
            raise AwsFailure(f"policy {r.logical_id}: role {name!r} does not exist (NoSuchEntity)")
        role.policies[f"resource:{pid}"] = document
    return Created(pid, {"Id": pid})


def _delete_policy(r: Request, pid: str) -> None:
    for role in r.aws.iam.roles.values():
        role.policies.pop(f"resource:{pid}", None)


def _update_policy(r: Request, now: Created) -> Created:
    _delete_policy(r, now.physical_id)
    document = r.required("PolicyDocument")
    for name in r.properties.get("Roles") or []:
        if name in r.aws.iam.roles:
            r.aws.iam.roles[name].policies[f"resource:{now.physical_id}"] = document
    return now


def _create_oidc_provider(r: Request) -> Created:
    arn = r.arn("iam", "oidc-provider/" + str(r.required("Url")).replace("https://", ""), region="")
    if arn in r.aws.iam.oidc_providers:
        raise AwsFailure(f"OIDC provider {arn} already exists (EntityAlreadyExists)")
    r.aws.iam.oidc_providers.add(arn)
    return Created(arn, {"Arn": arn})


# Lambda and Step Functions

def _create_function(r: Request) -> Created:
    code = r.required("Code")
    asset = r.asset(code["S3Key"]) if "S3Key" in code else None
    if "S3Key" in code and asset is None:
        raise AwsFailure(f"Code.S3Key {code['S3Key']!r} is no asset of the cloud assembly")
    name = r.properties.get("FunctionName") or r.name(64)
    vpc = r.properties.get("VpcConfig", {})
    groups, subnets = tuple(vpc.get("SecurityGroupIds", [])), tuple(vpc.get("SubnetIds", []))
    for g in groups:
        r.aws.group(g, "VpcConfig.SecurityGroupIds")
    for s in subnets:
        if s not in r.aws.subnets:
            raise AwsFailure(f"VpcConfig.SubnetIds: subnet {s!r} does not exist")
    arn = r.arn("lambda", f"function:{name}")
    layers = tuple(r.aws.layers.get(layer) for layer in r.properties.get("Layers", []))
    r.aws.functions[arn] = LambdaFunction(
        stack=r.stack, logical_id=r.logical_id, asset_dir=asset, handler=r.required("Handler") if asset else
        r.properties.get("Handler", ""), environment={k: str(v) for k, v in
                                                     r.properties.get("Environment", {}).get("Variables", {}).items()},
        timeout_seconds=int(r.properties.get("Timeout", 3)), security_groups=groups, subnets=subnets,
        layers=tuple(p for p in layers if p is not None), role=str(r.properties.get("Role", "")))
    return Created(name, {"Arn": arn, "SnapStartResponse": {}})


def _delete_function(r: Request, name: str) -> None:
    r.aws.functions.pop(r.arn("lambda", f"function:{name}"), None)


def _create_layer(r: Request) -> Created:
    content = r.required("Content")
    name = r.properties.get("LayerName") or r.name(64)
    arn = r.arn("lambda", f"layer:{name}:1")
    r.aws.layers[arn] = r.asset(content["S3Key"]) if "S3Key" in content else None
    return Created(arn, {"LayerVersionArn": arn})


def _create_state_machine(r: Request) -> Created:
    name = r.properties.get("StateMachineName") or r.name(80)
    arn = r.arn("states", f"stateMachine:{name}")
    definition = r.properties.get("DefinitionString")
    if definition is None and "Definition" in r.properties:
        import json
        definition = json.dumps(r.properties["Definition"])
    r.aws.state_machines[arn] = definition or "{}"
    return Created(arn, {"Arn": arn, "Name": name, "StateMachineRevisionId": ""})


def _arn_attr(service: str, resource: str) -> Callable[[Request, str], str]:
    return lambda r, pid: r.arn(service, resource.format(pid=pid), region="" if service == "iam" else None)


def _value(v: Any) -> Callable[[Request, str], Any]:
    return lambda r, pid: v


def _same(r: Request, pid: str) -> str:
    return pid


def _name(max_length: int) -> Callable[[Request], str]:
    return lambda r: r.properties.get("RoleName") or r.properties.get("InstanceProfileName") or \
        r.properties.get("Name") or r.name(max_length)


RESOURCE_TYPES: dict[str, ResourceType] = {
    "AWS::EC2::VPC": ResourceType(_create_vpc, _delete_vpc, 5, _kept),
    "AWS::EC2::Subnet": ResourceType(_create_subnet, _delete_subnet, 5, _kept),
    "AWS::EC2::RouteTable": ResourceType(_create_route_table, _delete_route_table, 3, _kept),
    "AWS::EC2::SubnetRouteTableAssociation": ResourceType(_create_association,
                                                          lambda r, pid: r.aws.associations.pop(pid, None), 3),
    "AWS::EC2::Route": ResourceType(_create_route, _delete_route, 3,
                                    lambda r, now: (_delete_route(r, now.physical_id), _create_route(r))[1]),
    "AWS::EC2::VPCPeeringConnection": ResourceType(_create_peering, lambda r, pid: r.aws.peerings.pop(pid, None), 10,
                                                   _kept),
    "AWS::EC2::TransitGateway": ResourceType(_create_transit_gateway, _delete_transit_gateway, 120, _kept),
    "AWS::EC2::TransitGatewayRouteTable": ResourceType(_create_tgw_route_table, _delete_tgw_route_table, 30),
    "AWS::EC2::TransitGatewayVpcAttachment": ResourceType(_create_vpc_attachment, _delete_tgw_attachment, 90,
                                                          _kept),
    "AWS::EC2::TransitGatewayPeeringAttachment": ResourceType(_create_peering_attachment, _delete_tgw_attachment,
                                                              60, _kept),
    "AWS::EC2::TransitGatewayRouteTableAssociation": ResourceType(_create_tgw_association, _delete_tgw_association,
                                                                  20),
    "AWS::EC2::TransitGatewayRouteTablePropagation": ResourceType(_create_tgw_propagation, _delete_tgw_propagation,
                                                                  20),
    "AWS::EC2::TransitGatewayRoute": ResourceType(_create_tgw_route, _delete_tgw_route, 5),
    "AWS::EC2::SecurityGroup": ResourceType(_create_security_group, _delete_security_group, 5,
                                            _update_security_group),
    "AWS::EC2::SecurityGroupIngress": ResourceType(_separate_rule("ingress"), _delete_rule, 3),
    "AWS::EC2::SecurityGroupEgress": ResourceType(_separate_rule("egress"), _delete_rule, 3),
    "AWS::EKS::Cluster": ResourceType(_create_cluster, _delete_cluster, 600, _update_cluster),
    "AWS::EKS::Nodegroup": ResourceType(_create_node_group, _delete_node_group, 180),
    "AWS::Lambda::Function": ResourceType(_create_function, _delete_function, 10),
    "AWS::Lambda::LayerVersion": ResourceType(_create_layer, lambda r, pid: r.aws.layers.pop(pid, None), 10),
    "AWS::StepFunctions::StateMachine": ResourceType(_create_state_machine,
                                                     lambda r, pid: r.aws.state_machines.pop(pid, None), 5),
    # Recorded only: Ref and attributes as the CloudFormation resource reference documents them.
    "AWS::CDK::Metadata": ResourceType(_recorded("cdk-metadata-"), seconds=0),
    "AWS::EC2::InternetGateway": ResourceType(_recorded("igw-", InternetGatewayId=_same), seconds=5),
    "AWS::EC2::VPCGatewayAttachment": ResourceType(_recorded(lambda r: "IGW|" + r.required("VpcId"),
                                                             Id=_same), seconds=15),
    "AWS::EC2::EIP": ResourceType(_recorded(lambda r: "203.0.113." + str(int(physical_id("", *r.key,
                                                                                         length=2), 16) % 250 + 1),
                                            AllocationId=lambda r, pid: physical_id("eipalloc-", pid),
                                            PublicIp=_same), seconds=5),
    "AWS::EC2::NatGateway": ResourceType(_recorded("nat-", NatGatewayId=_same), seconds=120),
    "AWS::EC2::FlowLog": ResourceType(_recorded("fl-", Id=_same), seconds=5),
    "AWS::EC2::LaunchTemplate": ResourceType(_recorded("lt-", LaunchTemplateId=_same,
                                                       LatestVersionNumber=_value("1"),
                                                       DefaultVersionNumber=_value("1")), seconds=3),
    "AWS::EC2::Instance": ResourceType(_recorded("i-", PrivateIp=_value("10.0.0.10"),
                                                 AvailabilityZone=lambda r, pid: r.region + "a",
                                                 PrivateDnsName=lambda r, pid: f"ip-10-0-0-10.{r.region}.compute.internal",
                                                 InstanceId=_same, PublicIp=_value(""), PublicDnsName=_value("")),
                                       seconds=60),
    "AWS::IAM::Role": ResourceType(_create_role, _delete_role, 15),
    "AWS::IAM::Policy": ResourceType(_create_policy, _delete_policy, 15, _update_policy),
    "AWS::IAM::InstanceProfile": ResourceType(_recorded(_name(128), Arn=_arn_attr("iam", "instance-profile/{pid}")),
                                              seconds=120),
    "AWS::IAM::OIDCProvider": ResourceType(_create_oidc_provider,
                                           lambda r, arn: r.aws.iam.oidc_providers.discard(arn), 3),
    "AWS::KMS::Key": ResourceType(_recorded(lambda r: physical_id("", *r.key, length=32),
                                            Arn=_arn_attr("kms", "key/{pid}"), KeyId=_same), seconds=5),
    "AWS::Logs::LogGroup": ResourceType(_recorded(lambda r: r.properties.get("LogGroupName") or r.name(512),
                                                  Arn=_arn_attr("logs", "log-group:{pid}:*")), seconds=2),
    "AWS::SSM::Parameter": ResourceType(_recorded(lambda r: r.properties.get("Name") or
                                                  "CFN-" + r.logical_id + "-" + physical_id("", r.stack, length=12),
                                                  Type=lambda r, pid: r.properties.get("Type", "String"),
                                                  Value=lambda r, pid: r.properties.get("Value", "")), seconds=2),
    "AWS::EKS::AccessEntry": ResourceType(_recorded(
        lambda r: f"{r.required('ClusterName')}|{r.required('PrincipalArn')}",
        AccessEntryArn=lambda r, pid: r.arn("eks", f"access-entry/{pid.split('|')[0]}/0")), seconds=5),
    # Ref: `<cluster name>|<add-on name>` (AWS::EKS::Addon, "Return values"); the add-on's workloads are not emulated.
    "AWS::EKS::Addon": ResourceType(_recorded(
        lambda r: f"{r.required('ClusterName')}|{r.required('AddonName')}",
        Arn=lambda r, pid: r.arn("eks", "addon/" + pid.replace("|", "/") + "/0")), seconds=60),
    "AWS::Route53::HealthCheck": ResourceType(_recorded(lambda r: physical_id("", *r.key, length=8)
                                                        + "-0000-4000-8000-000000000000",
                                                        HealthCheckId=_same), seconds=5),
    "AWS::Route53::RecordSet": ResourceType(_recorded(lambda r: str(r.required("Name"))), seconds=60),
}


# Property changes that make CloudFormation replace a resource: "Update requires: Replacement" on each property in
# the type's page of the AWS CloudFormation resource reference (e.g. AWS::EC2::SecurityGroup VpcId, GroupDescription,
# GroupName; every property of AWS::EC2::SecurityGroupIngress/Egress but Description). "Update behaviors of stack
# resources" (CloudFormation User Guide): with Replacement, CloudFormation creates the new resource, points the
# resources that reference it at the new one, and deletes the old one in the UPDATE_COMPLETE_CLEANUP_IN_PROGRESS
# phase. EVERY: all properties but Tags and Description. A type not listed is updated in place.
EVERY: frozenset[str] = frozenset({"*"})
REPLACED_BY: dict[str, frozenset[str]] = {
    "AWS::EC2::VPC": frozenset({"CidrBlock", "InstanceTenancy", "Ipv4IpamPoolId", "Ipv4NetmaskLength"}),
    "AWS::EC2::Subnet": frozenset({"AvailabilityZone", "AvailabilityZoneId", "CidrBlock", "VpcId", "Ipv4IpamPoolId"}),
    "AWS::EC2::RouteTable": frozenset({"VpcId"}),
    "AWS::EC2::SubnetRouteTableAssociation": EVERY,
    "AWS::EC2::Route": frozenset({"DestinationCidrBlock", "DestinationIpv6CidrBlock", "RouteTableId"}),
    "AWS::EC2::VPCPeeringConnection": frozenset({"PeerOwnerId", "PeerRegion", "PeerRoleArn", "PeerVpcId", "VpcId"}),
    "AWS::EC2::TransitGateway": frozenset({"AmazonSideAsn", "MulticastSupport"}),
    "AWS::EC2::TransitGatewayRouteTable": EVERY,
    "AWS::EC2::TransitGatewayVpcAttachment": frozenset({"TransitGatewayId", "VpcId"}),
    "AWS::EC2::TransitGatewayPeeringAttachment": frozenset({"PeerAccountId", "PeerRegion", "PeerTransitGatewayId",
                                                            "TransitGatewayId"}),
    "AWS::EC2::TransitGatewayRouteTableAssociation": EVERY,
    "AWS::EC2::TransitGatewayRouteTablePropagation": EVERY,
    "AWS::EC2::TransitGatewayRoute": EVERY,
    "AWS::EC2::SecurityGroup": frozenset({"GroupDescription", "GroupName", "VpcId"}),
    "AWS::EC2::SecurityGroupIngress": EVERY,
    "AWS::EC2::SecurityGroupEgress": EVERY,
    "AWS::EC2::InternetGateway": frozenset(),
    "AWS::EC2::EIP": frozenset({"Domain"}),
    "AWS::EC2::NatGateway": frozenset({"AllocationId", "ConnectivityType", "SubnetId", "PrivateIpAddress"}),
    "AWS::EC2::FlowLog": EVERY,
    "AWS::EC2::LaunchTemplate": frozenset({"LaunchTemplateName"}),
    "AWS::EKS::Cluster": frozenset({"Name", "RoleArn", "EncryptionConfig", "KubernetesNetworkConfig"}),
    "AWS::EKS::Nodegroup": frozenset({"AmiType", "CapacityType", "ClusterName", "DiskSize", "InstanceTypes",
                                      "NodegroupName", "NodeRole", "RemoteAccess", "Subnets"}),
    "AWS::EKS::AccessEntry": frozenset({"ClusterName", "PrincipalArn", "Type"}),
    "AWS::EKS::Addon": frozenset({"AddonName", "ClusterName"}),
    "AWS::Lambda::Function": frozenset({"FunctionName", "PackageType"}),
    "AWS::Lambda::LayerVersion": EVERY,
    "AWS::StepFunctions::StateMachine": frozenset({"StateMachineName", "StateMachineType"}),
    "AWS::IAM::Role": frozenset({"RoleName", "Path"}),
    "AWS::IAM::InstanceProfile": frozenset({"InstanceProfileName", "Path"}),
    "AWS::IAM::OIDCProvider": frozenset({"Url"}),
    "AWS::Logs::LogGroup": frozenset({"LogGroupName"}),
    "AWS::SSM::Parameter": frozenset({"Name"}),
    "AWS::Route53::RecordSet": frozenset({"Name", "HostedZoneId", "HostedZoneName", "Type", "SetIdentifier"}),
}


def replacing_changes(cfn_type: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The changed properties that make CloudFormation replace a resource of `cfn_type` (empty: in place)."""
    changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    keys = REPLACED_BY.get(cfn_type, frozenset())
    if keys is EVERY:
        return [k for k in changed if k not in ("Tags", "Description")]
    return [k for k in changed if k in keys]


def resource_type(cfn_type: str) -> ResourceType:
    if cfn_type not in RESOURCE_TYPES:
        raise AwsFailure(f"the rehearsal does not model {cfn_type}",
                         fix=f"model {cfn_type} in rehearsal/aws.py RESOURCE_TYPES (its Ref, attributes and the "
                             "refusals AWS makes), on purpose")
    return RESOURCE_TYPES[cfn_type]
