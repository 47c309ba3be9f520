"""Accept a transit gateway peering attachment on the accepter's side, then wait until it is available.

CloudFormation has a resource that requests a peering attachment (AWS::EC2::TransitGatewayPeeringAttachment: "After
you create the peering attachment, the owner of the accepter transit gateway must accept the attachment request")
and none that accepts one, so a custom resource of the requester's stack does it, behind the CDK Provider framework:
`on_event` accepts (EC2 AcceptTransitGatewayPeeringAttachment: "The peering attachment must be in the
pendingAcceptance state"), `is_complete` answers once the attachment is `available`. Routes and route-table
associations that name the attachment are refused until then, and acceptance takes minutes
(hashicorp/terraform-provider-aws#14228), so they depend on this resource.

Properties: TransitGatewayAttachmentId, AccepterRegion (the call goes to the accepter's region: an attachment is
accepted there, not where it was requested). Delete does nothing: deleting the requester's attachment resource
deletes the peering for both sides. Standard library and boto3 (part of the Lambda Python runtime) only.
"""
from __future__ import annotations

from typing import Any

import boto3

# States of a peering attachment (EC2 API, TransitGatewayPeeringAttachment.State) on its way to `available`.
ON_THE_WAY = ("initiating", "initiatingRequest", "pendingAcceptance", "pending", "modifying")


def _ec2(props: dict[str, Any]):
    return boto3.client("ec2", region_name=props["AccepterRegion"])


def state(ec2, attachment_id: str) -> str:
    found = ec2.describe_transit_gateway_peering_attachments(
        TransitGatewayAttachmentIds=[attachment_id])["TransitGatewayPeeringAttachments"]
    if not found:
        raise RuntimeError(f"transit gateway peering attachment {attachment_id} does not exist in the accepter's region")
    return found[0]["State"]


def on_event(event: dict[str, Any], _context: Any = None, ec2=None) -> dict[str, Any]:
    props = event["ResourceProperties"]
    attachment_id = props["TransitGatewayAttachmentId"]
    if event["RequestType"] == "Delete":
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    ec2 = ec2 or _ec2(props)
    now = state(ec2, attachment_id)
    if now == "pendingAcceptance":
        ec2.accept_transit_gateway_peering_attachment(TransitGatewayAttachmentId=attachment_id)
    elif now not in ("pending", "modifying", "available"):
        raise RuntimeError(f"transit gateway peering attachment {attachment_id} is {now}, it cannot be accepted")
    # The attachment's id names this resource: a new attachment (a replacement) is a new acceptance.
    return {"PhysicalResourceId": attachment_id}


def is_complete(event: dict[str, Any], _context: Any = None, ec2=None) -> dict[str, Any]:
    if event["RequestType"] == "Delete":
        return {"IsComplete": True}
    props = event["ResourceProperties"]
    attachment_id = props["TransitGatewayAttachmentId"]
    now = state(ec2 or _ec2(props), attachment_id)
    if now == "available":
        return {"IsComplete": True}
    if now in ON_THE_WAY:
        return {"IsComplete": False}
    raise RuntimeError(f"transit gateway peering attachment {attachment_id} became {now}, not available")
