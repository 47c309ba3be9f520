"""What synth needs from `cdk.context.json` before any construct is built: the availability zones of every
(account, region) the environment uses.

CDK looks a region's AZs up once (`Stack.availability_zones`, used by every `ec2.Vpc`) and keeps them in
`cdk.context.json`. A synth without credentials cannot do the lookup: CDK then reports "Need to perform AWS calls",
pinned to a stack, and the CDK CLI keeps that error in `cdk.out/validation-report.json`. Checking first gives one
message naming every missing pair and the command that fills them.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from federated_eks.model.federation import FederationConfig

CONTEXT_COMMAND = "make context ENV={env}"


def az_context_key(account: str, region: str) -> str:
    """The key CDK's availability-zones context provider stores its answer under (see cdk.context.json)."""
    return f"availability-zones:account={account}:region={region}"


def regions(cfg: FederationConfig) -> list[str]:
    """Every region with a VPC of the federation, sorted."""
    return sorted({cfg.bastion.region, *(c.region for c in cfg.clusters)})


def missing_az_lookups(cfg: FederationConfig, get_context: Callable[[str], Any]) -> list[tuple[str, str]]:
    """The (account, region) pairs whose AZs `get_context` (the app's context) does not have."""
    return [(cfg.account, r) for r in regions(cfg) if get_context(az_context_key(cfg.account, r)) is None]


def missing_message(cfg: FederationConfig, missing: list[tuple[str, str]]) -> str:
    regions_missing = ", ".join(region for _, region in missing)
    return (f"federated-eks: cdk.context.json has no availability zones of account {cfg.account} in "
            f"{regions_missing}, so synth would need AWS calls. "
            f"Fix: run `{CONTEXT_COMMAND.format(env=cfg.env_name)}` once with AWS credentials for account "
            f"{cfg.account} (CDK looks the zones up and records them in cdk.context.json), then commit "
            "cdk.context.json; synth then needs no credentials.")
