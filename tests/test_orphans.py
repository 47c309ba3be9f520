"""The synth/diff warning about stacks the previous synth of the same environment had and the new one lacks."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fedtest import environment, synth
from federated_eks.operations import orphans


@pytest.fixture(scope="module")
def manifests(tmp_path_factory):
    """Real manifests: 'dev' with 3 clusters, then 'dev' with 2 (fed-3 in us-west-2 removed), and 'other'."""
    out = {}
    for key, name, raw in [("three", "dev", environment(3)), ("two", "dev", environment(2)),
                           ("other", "other", environment(2))]:
        outdir = tmp_path_factory.mktemp(key)
        synth(raw, name=name, outdir=str(outdir))
        out[key] = outdir / "manifest.json"
    return out


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def test_lists_the_stacks_the_new_synth_dropped(manifests):
    dropped = orphans.orphaned(load(manifests["three"]), load(manifests["two"]), "dev")
    # fed-3's cluster, the peering fed-2 (us-east-2) requested to it, and its routes in us-west-2.
    assert dropped == ["fedeks-dev-cluster-fed-3", "fedeks-dev-peer-routes-us-west-2", "fedeks-dev-peering-us-east-2"]
    assert orphans.orphaned(load(manifests["two"]), load(manifests["three"]), "dev") == []


def test_another_environments_previous_synth_is_not_compared(manifests):
    assert orphans.orphaned(load(manifests["other"]), load(manifests["two"]), "dev") == []
    assert orphans.orphaned(load(manifests["three"]), load(manifests["two"]), "other") == []


def test_the_command_warns_on_stderr_and_never_fails(manifests, tmp_path, capsys):
    previous = tmp_path / "previous.json"
    shutil.copy(manifests["three"], previous)
    assert orphans.main([str(previous), str(manifests["two"]), "--env", "dev"]) == 0
    err = capsys.readouterr().err
    assert "WARNING" in err and "  - fedeks-dev-cluster-fed-3" in err and "make prune ENV=dev" in err
    # No previous synth (first synth, or cdk.out cleaned): silent.
    assert orphans.main([str(tmp_path / "missing.json"), str(manifests["two"]), "--env", "dev"]) == 0
    assert capsys.readouterr().err == ""
