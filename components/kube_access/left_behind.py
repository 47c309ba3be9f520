"""What a delete could not remove, recorded where it outlives the stack, with the commands that remove it.

A delete never fails a stack delete for a cluster it cannot clean (a member that is gone, unreachable, trickling or
throttling past the delete's deadline). It gives up and writes one line, `contract.LEFT_BEHIND_MARKER` and a JSON
object, to its log. The IsComplete function's log group is retained when the stack goes (kubefed_join.py), so the
record survives `cdk destroy`; "What a delete left behind" in docs/operations/deploy.md shows how to list the
records.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

from . import contract
from .kube_api import Waiting

log = logging.getLogger("kube_access")
# CloudFormation takes at most 4 KB of response: the LeftBehind attribute is cut to this.
MAX_REPORT = 1500


@dataclass(frozen=True)
class LeftObject:
    """An object that may still exist on a cluster (named by its name in the federation, the kubeconfig context
    on the bastion, or the `aws eks update-kubeconfig --alias` of docs/operations/access.md gives it)."""

    cluster: str
    kind: str
    name: str
    namespace: str | None = None

    def command(self) -> str:
        where = f" -n {self.namespace}" if self.namespace else ""
        return f"kubectl --context {self.cluster} delete {self.kind.lower()} {self.name}{where} --ignore-not-found"


def record(resource: str, reasons: list[str], objects: list[LeftObject], note: str = "") -> str:
    """Log the record of what `resource` (its physical id) left behind; returns its JSON."""
    unique = list(dict.fromkeys(objects))
    body = {"resource": resource, "reasons": reasons, "objects": [o.__dict__ for o in unique],
            "cleanup": [o.command() for o in unique]}
    if note:
        body["note"] = note
    line = json.dumps(body, sort_keys=True)
    log.warning("%s %s", contract.LEFT_BEHIND_MARKER, line)
    return line


def give_up(what: str, reasons: list[str], resource: str, objects: list[LeftObject], note: str = "") -> dict:
    """The result of a delete that could not remove everything and completes anyway: logs why, records what is left
    (`record`) and returns it as the LeftBehind attribute too."""
    report = "; ".join(reasons)
    log.warning("%s: gave up so that the stack can proceed; left behind: %s", what, report)
    record(resource, reasons, objects, note)
    return {"IsComplete": True, "Data": {contract.LEFT_BEHIND_ATTRIBUTE: report[:MAX_REPORT]}}


def finish(what: str, left: list[Exception], deadline: float, resource: str, objects: list[LeftObject],
           note: str = "") -> dict:
    """One poll's end of a delete: not complete while something transient (Waiting) is left and the deadline allows;
    else complete, and what is left is recorded (`give_up`)."""
    if any(isinstance(e, Waiting) for e in left) and time.time() <= deadline:
        log.info("%s: retrying next poll: %s", what, "; ".join(map(str, left)))
        return {"IsComplete": False}
    if not left:
        log.info("%s: done", what)
        return {"IsComplete": True}
    return give_up(what, [str(e) for e in left], resource, objects, note)
