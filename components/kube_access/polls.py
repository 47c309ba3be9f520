"""What a Kubernetes-facing custom resource handler answers the Provider framework at the end of a create or update
poll that is not done, the same for the KubeFed and the Karmada join: wait for the next poll within the deadline, or
fail naming what never became ready; or complete a rollback to the last Ready state that could not reach a cluster.
(A delete's end is left_behind.finish: a delete never fails.)"""
from __future__ import annotations

import logging
import time

from . import contract
from .left_behind import MAX_REPORT

log = logging.getLogger("kube_access")


def keep_waiting(deadline: float, waiting: str, late: str) -> dict:
    """Not complete (the next poll goes on) while the deadline allows; past it, fail with `late` and what is still
    waited for."""
    if time.time() > deadline:
        raise RuntimeError(f"{late}; still waiting for: {waiting}")
    log.info("waiting: %s", waiting)
    return {"IsComplete": False}


def restored_unverified(what: str, waiting: str, data: dict) -> dict:
    """Complete an update that asks for exactly the properties the resource was last Ready with (a rollback) while a
    cluster cannot be reached: the failed update never changed it there, and failing would fail the rollback too
    (UPDATE_ROLLBACK_FAILED). What was not reached is returned as contract.NOT_VERIFIED_ATTRIBUTE."""
    log.warning("%s: restored the properties it was last Ready with without reaching every cluster: %s", what, waiting)
    return {"IsComplete": True, "Data": {**data, contract.NOT_VERIFIED_ATTRIBUTE: waiting[:MAX_REPORT]}}
