"""Karmada's scheduler, as far as this project's PropagationPolicies use it (pure): which clusters get a resource and
how many replicas each, for the rehearsal's Karmada emulation and the workload tests.

From karmada-io/karmada, tag v1.19.0-rc.0:
- candidates: the Clusters named by `placement.clusterAffinity.clusterNames` (when set) that exist, minus `exclude`;
- pkg/scheduler/core/common.go `assignReplicas`: a resource whose `spec.replicas` is 0 (or that has none: a Service)
  goes to every candidate unchanged; else by `replicaScheduling`:
- assignment.go `assignByDuplicatedStrategy`: every candidate gets `spec.replicas` (also when replicaScheduling is
  unset: `ReplicaSchedulingType()` defaults to Duplicated);
- `assignByStaticWeightStrategy` (Divided + Weighted without dynamic weights): division_algorithm.go
  `getStaticWeightInfoList` keeps candidates with a positive weight (the largest of the rules matching it), or gives
  every candidate weight 1 when none has one; pkg/util/helper `Dispenser.AllocateByWeight` ->
  `AllocateWebsterSeats`: seats one at a time to the party with the highest weight / (2 * seats + 1), a tie to the
  party with fewer seats, then by name, ascending or descending as the FNV-32a hash of the binding's UID is even or odd
  (`tieBreakerByUID`; ascending without a UID); clusters left with 0 replicas get nothing (common.go
  `removeZeroReplicasCluster`).
Aggregated and dynamic-weight division (which depend on the members' free resources) are not modelled.
"""
from __future__ import annotations


def _fnv32a(text: str) -> int:
    h = 0x811C9DC5
    for byte in text.encode():
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def webster(seats: int, votes: dict[str, int], uid: str = "") -> dict[str, int]:
    """`seats` divided over `votes` (every party with a positive vote) as AllocateWebsterSeats divides them."""
    descending = bool(uid) and _fnv32a(uid) & 1 == 1
    won = dict.fromkeys(votes, 0)

    def rank(name: str) -> tuple:
        order = tuple(-ord(c) for c in name) + (1,) if descending else tuple(ord(c) for c in name) + (0,)
        return (-votes[name] / (2 * won[name] + 1), won[name], order)
    for _ in range(seats):
        won[min(votes, key=rank)] += 1
    return won


def candidates(placement: dict, clusters: list[str]) -> list[str]:
    affinity = placement.get("clusterAffinity") or {}
    names = affinity.get("clusterNames")
    chosen = [c for c in clusters if not names or c in names]
    return [c for c in chosen if c not in (affinity.get("exclude") or [])]


def schedule(placement: dict, replicas: int, clusters: list[str], uid: str = "") -> dict[str, int]:
    """Cluster -> replicas for a resource with `spec.replicas` = `replicas` (0 for a resource without replicas)."""
    targets = candidates(placement, clusters)
    strategy = placement.get("replicaScheduling") or {}
    if replicas <= 0:
        return {c: replicas for c in targets}
    if strategy.get("replicaSchedulingType", "Duplicated") == "Duplicated":
        return {c: replicas for c in targets}
    if strategy.get("replicaDivisionPreference") != "Weighted" or (strategy.get("weightPreference") or {}).get(
            "dynamicWeight"):
        raise NotImplementedError("only Duplicated and static-weight division are modelled")
    weights = {c: 0 for c in targets}
    for rule in (strategy.get("weightPreference") or {}).get("staticWeightList") or []:
        for c in candidates({"clusterAffinity": rule.get("targetCluster") or {}}, targets):
            weights[c] = max(weights[c], int(rule.get("weight", 0)))
    votes = {c: w for c, w in weights.items() if w > 0} or {c: 1 for c in targets}
    # common.go `removeZeroReplicasCluster` (the scheduler's --enable-empty-workload-propagation is off by default)
    return {c: n for c, n in webster(replicas, votes, uid).items() if n > 0}
