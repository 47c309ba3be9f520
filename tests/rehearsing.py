"""Playing a synthesized assembly in the rehearsal from a test: one set-up for every test that rehearses a whole
environment (a Player over the assembly, the emulated Kubernetes side, the lines the player prints), and the checks
those tests share."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from rehearsal.__main__ import emulated_kubernetes
from rehearsal.cloudformation import Player, read_assembly
from rehearsal.world import RehearsalFailure


def player_for(folder: Path, tmp_path: Path) -> tuple[Player, object, list[str]]:
    """A Player over the assembly in `folder`, its emulated Kubernetes side and the lines it prints. The caller
    closes the Kubernetes side."""
    kubernetes = emulated_kubernetes(tmp_path / "kubernetes")
    lines: list[str] = []
    return Player(read_assembly(folder), kubernetes, lines.append), kubernetes, lines


def report(failure: RehearsalFailure, lines: list[str]) -> str:
    """What a test shows of a failure: the error, where it stopped, the player's last lines."""
    return f"{failure}\n  stack {failure.stack}, resource {failure.resource}\n" + "\n".join(lines[-8:])


@contextmanager
def rehearsing(folder: Path, tmp_path: Path) -> Iterator[tuple[Player, object, list[str]]]:
    """player_for, for a block that expects the rehearsal to succeed: a RehearsalFailure in it fails the test with
    the report; the Kubernetes side is closed after."""
    player, kubernetes, lines = player_for(folder, tmp_path)
    try:
        yield player, kubernetes, lines
    except RehearsalFailure as failure:
        pytest.fail(report(failure, lines))
    finally:
        kubernetes.close()


def create_stops(folder: Path, tmp_path: Path) -> tuple[RehearsalFailure, list[str]]:
    """Create every stack of the assembly, which must stop: the failure and the lines printed until then."""
    player, kubernetes, lines = player_for(folder, tmp_path)
    try:
        with pytest.raises(RehearsalFailure) as stopped:
            player.create_all()
    finally:
        kubernetes.close()
    return stopped.value, lines


def play(folder: Path, tmp_path: Path) -> tuple[Player, list[str], RehearsalFailure | None]:
    """Create then delete every stack (Player.play): the player, its lines and the failure that stopped it, if any."""
    player, kubernetes, lines = player_for(folder, tmp_path)
    error = None
    try:
        player.play()
    except RehearsalFailure as failure:
        error = failure
    finally:
        kubernetes.close()
    return player, lines, error


def assert_deleted_clean(player: Player) -> None:
    """Everything created was deleted (or is retained by its policy), no cluster or VPC is left."""
    assert player.summary.created == player.summary.deleted + player.summary.retained
    assert player.aws.clusters == {} and player.aws.vpcs == {}
