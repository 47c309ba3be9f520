"""The user manual: docs/ built as a site with MkDocs (Material), strictly and offline, and the README as its
landing page. The config reference is generated from the model (docs/hooks/config_reference.py)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from fedtest import ROOT


def _network_isolated() -> list[str]:
    """`unshare -n`: no network at all, where the machine allows it (root), as tests/test_compliance.py does."""
    if shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        return ["unshare", "-n"]
    return []


def build(config: Path, site: Path) -> subprocess.CompletedProcess:
    """`mkdocs build --strict` of `config` into `site`, offline where the machine allows it."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run([*_network_isolated(), sys.executable, "-m", "mkdocs", "build", "--strict",
                           "--config-file", str(config), "--site-dir", str(site)],
                          cwd=config.parent, env=env, capture_output=True, text=True, timeout=300)


def copy_docs(tmp_path: Path) -> Path:
    """A copy of the manual's sources (mkdocs.yml and docs/) that a test may break; the code the hook reads is
    linked in, read-only."""
    project = tmp_path / "project"
    shutil.copytree(ROOT / "docs", project / "docs")
    shutil.copy(ROOT / "mkdocs.yml", project / "mkdocs.yml")
    for name in ("federated_eks", "components", "tools"):
        (project / name).symlink_to(ROOT / name)
    return project


def test_the_docs_build_strictly_and_offline(tmp_path):
    run = build(ROOT / "mkdocs.yml", tmp_path / "site")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "WARNING" not in run.stderr and "INFO    -  Doc file" not in run.stderr, run.stderr
    site = tmp_path / "site"
    for page in ("index.html", "getting-started/index.html", "configuration/reference/index.html",
                 "concepts/transit-gateway/index.html", "concepts/karmada/index.html",
                 "internals/tests/index.html"):
        assert (site / page).is_file(), page
    # Nothing is fetched when the site is read either: no web fonts, no script from another host but Mermaid's.
    html = (site / "index.html").read_text()
    assert "fonts.googleapis.com" not in html and "fonts.gstatic.com" not in html


def test_a_broken_link_or_anchor_fails_the_build(tmp_path):
    """--strict is what makes the build a check: a link to a missing page, or to a missing heading, fails it."""
    for i, bad in enumerate(["[gone](operations/no-such-page.md)", "[gone](security.md#no-such-heading)"]):
        project = copy_docs(tmp_path / str(i))
        index = project / "docs" / "index.md"
        index.write_text(index.read_text() + f"\nSee {bad}.\n")
        run = build(project / "mkdocs.yml", tmp_path / str(i) / "site")
        assert run.returncode != 0 and "gone" not in run.stdout and "index.md" in run.stderr, run.stderr


def test_every_page_is_in_the_nav_and_every_nav_entry_exists():
    config = (ROOT / "mkdocs.yml").read_text()
    nav = set(re.findall(r"^\s+(?:- )?[^:\n]+: ([\w/.-]+\.md)$", config, re.M))
    pages = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert nav == pages


def test_the_pages_other_engineers_fill_are_in_the_nav():
    config = (ROOT / "mkdocs.yml").read_text()
    for page in ("concepts/transit-gateway.md", "concepts/karmada.md"):
        assert f": {page}\n" in config and (ROOT / "docs" / page).is_file()


README = (ROOT / "README.md").read_text()


def test_the_readme_is_a_landing_page_whose_links_exist():
    assert len(README.splitlines()) < 200
    links = re.findall(r"\]\((docs/[^)#]+)(?:#[^)]*)?\)", README)
    assert len(links) >= 10
    for link in links:
        assert (ROOT / link).is_file(), link


def test_the_readme_two_commands_are_what_make_and_ci_run():
    """The README's set-up is `make synth` and `make test`; CI runs the README's test command."""
    block = re.search(r"```sh\n(.*?)```", README, re.S).group(1)
    assert [line.split()[:2] for line in block.splitlines()[:2]] == [["make", "synth"], ["make", "test"]]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^synth: setup-runtime$", makefile, re.M) and re.search(r"^test: setup$", makefile, re.M)
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("make test")


# --- The config reference, generated from the model (tools/config_reference.py, federated_eks/model/field_doc.py) ---

import json  # noqa: E402

import pytest  # noqa: E402

from federated_eks.config import fields, pipelines, reader  # noqa: E402
from federated_eks.model.federation import FederationConfig  # noqa: E402
from federated_eks.model.field_doc import KeyDoc, NotConfig, key_docs  # noqa: E402
from federated_eks.model.pipeline import PipelineConfig  # noqa: E402
from fedtest import environment  # noqa: E402
from tools import config_reference  # noqa: E402
from tools.config_reference import ROOTS, documented_fields, key_entries  # noqa: E402


@pytest.mark.parametrize("root", ROOTS, ids=lambda r: r.__name__)
def test_every_config_field_carries_its_documentation(root):
    """Each field of every dataclass a config reaches says where it is in cdk.json, its type, what it means and an
    example (or why no key sets it); the reference is made of these."""
    missing = [f"{cls.__name__}.{f.name}" for cls, f in documented_fields(root) if key_docs(f) is None]
    assert not missing, f"fields without doc(...) or not_config(...) metadata: {missing}"
    for cls, f in documented_fields(root):
        docs = key_docs(f)
        if isinstance(docs, NotConfig):
            assert docs.reason, f.name
            continue
        for kd in docs:
            assert isinstance(kd, KeyDoc) and kd.key and kd.type and kd.example, (cls.__name__, f.name)
            assert "\n" not in kd.description and kd.description.endswith((".", ")")), kd.key
            if not any(mark in kd.example for mark in ("...", "<", "…", "(remove it)")):
                json.loads(kd.example)  # examples are JSON as written in cdk.json


def test_the_walk_reaches_every_class_of_the_config():
    classes = {cls.__name__ for cls, _ in documented_fields(FederationConfig)}
    assert {"FederationConfig", "BastionConfig", "KubefedctlConfig", "ClusterConfig", "NodeGroupConfig",
            "EndpointAccessConfig", "KubefedConfig", "ImageRef", "FederatedType", "Workload", "Placement",
            "ClusterOverride", "ReplicaScheduling", "ReplicaPreference", "ServiceSpec", "DnsSpec", "ManifestFolder",
            "LoadBalancerControllerConfig", "ExternalDnsConfig", "AccessConfig", "QuotasConfig"} <= classes
    assert {cls.__name__ for cls, _ in documented_fields(PipelineConfig)} == {"PipelineConfig",
                                                                                       "PipelineStage"}


def _every_block() -> dict:
    """An environment with every object the reader knows, so that it reads (and names the keys of) each."""
    raw = environment(
        2, nodeGroup={"instanceTypes": ["m6i.large"]}, endpointAccess={"mode": "private"}, natGateways=1, tags={},
        previousHostCluster="fed-1",
        bastion={"region": "us-east-1", "cidr": "172.20.0.0/16", "instanceType": "t3.small",
                 "kubefedctl": {"url": "https://example.com/k.tgz", "sha256": "0" * 64}},
        kubefed={"controllerImage": {"tag": "v0.10.0"}, "webhookImage": {"tag": "v0.10.0"},
                 "federatedTypes": [{"group": "monitoring.coreos.com", "version": "v1", "kind": "Prometheus",
                                     "plural": "prometheuses", "scope": "Namespaced"}], "disabledTypes": []},
        access={"admins": []}, quotas={"vpcsPerRegion": 5}, loadBalancerController={"install": "auto"},
        externalDns={"imageRepository": "registry.k8s.io/external-dns/external-dns"},
        workloads=[{"name": "web", "namespace": "web", "image": "nginx:1.29.3", "containerPort": 80,
                    "placement": {"clusters": ["fed-1", "fed-2"]}, "clusters": {"fed-1": {"image": "nginx:1.29.3"}},
                    "replicaScheduling": {"totalReplicas": 2, "clusters": {"*": {"weight": 1}}},
                    "service": {"type": "LoadBalancer"},
                    "dns": {"hostedZoneId": "Z0123456789ABCDEFGHIJ", "recordName": "web.example.com",
                            "routing": "failover", "primary": "fed-1"}},
                   {"manifests": "samples/hello-world"}])
    raw["clusters"][0].update(nodeGroup={"minSize": 1}, endpointAccess={"mode": "private"})
    return raw


def _accepted_keys(monkeypatch, read) -> set[str]:
    """The keys the reader accepts, as `(path, known keys)` of every object it reads (its `obj` calls)."""
    seen: list[tuple[str, tuple[str, ...]]] = []
    original = fields.Reader.obj

    def recording(self, raw, path, known, required=False):
        seen.append((path, tuple(known)))
        return original(self, raw, path, known, required)

    monkeypatch.setattr(fields.Reader, "obj", recording)
    try:
        read()
    except fields.ConfigError:
        pass  # the keys are what counts here, whatever the values
    keys = set()
    for path, known in seen:
        path = re.sub(r"\[\d+\]", "[]", path)
        path = re.sub(r"\.clusters\.(fed-\d+|\*)", ".clusters.<cluster>", path)
        keys |= {f"{path}.{key}" for key in known}
    return keys


def _documented(root: type) -> tuple[set[str], dict[str, str]]:
    entries = [kd for kd, _ in key_entries(root)]
    return {kd.key for kd in entries}, {kd.key: kd.same_as for kd in entries if kd.same_as}


def _covered(key: str, keys: set[str], same_as: dict[str, str]) -> bool:
    for alias, target in same_as.items():
        if key.startswith(alias + "."):
            key = target + key[len(alias):]
    return key in keys


def test_every_key_the_environment_reader_accepts_is_in_the_reference(monkeypatch):
    raw = _every_block()
    accepted = _accepted_keys(monkeypatch, lambda: reader.load_environment({"t": raw}, "t"))
    accepted = {k.removeprefix("environments.t").lstrip(".") for k in accepted}
    assert len(accepted) > 80 and "workloads[].dns.weights" in accepted and "kubefed.webhookImage.tag" in accepted
    keys, same_as = _documented(FederationConfig)
    assert sorted(k for k in accepted if not _covered(k, keys, same_as)) == []
    # And the other way: the reference names no key the reader does not know.
    assert sorted(k for k in keys if k != "<name>" and k not in accepted) == []


def test_every_key_the_pipeline_reader_accepts_is_in_the_reference(monkeypatch):
    pipeline = {"account": "111111111111", "region": "us-east-1",
                "source": {"connectionArn": "arn:aws:codeconnections:us-east-1:111111111111:connection/x",
                           "repository": "org/repo", "branch": "main"},
                "stages": [{"environment": "t", "approval": True}]}
    accepted = _accepted_keys(monkeypatch, lambda: pipelines.load_pipeline({"main": pipeline},
                                                                           {"t": environment(2)}, "main"))
    accepted = {k.removeprefix("pipelines.main").lstrip(".") for k in accepted if k.startswith("pipelines.main")}
    assert {"source.branch", "stages[].trustsPipelineAccount"} <= accepted
    keys, _ = _documented(PipelineConfig)
    assert sorted(accepted - keys) == [] and sorted(keys - accepted - {"<name>"}) == []


def test_the_reference_shows_each_default_of_the_model():
    """Defaults are stated once, on the dataclass fields; the reference prints them from there."""
    text = config_reference.render()
    for row in ('| `nodeGroup.diskSizeGiB` | whole number | `50` |',
                '| `quotas.routesPerRouteTable` | whole number | `50` |',
                '| `kubefed.joinTimeoutMinutes` | whole number | `30` |',
                '| `workloads[].dns.ttl` | whole number | `60` |',
                '| `bastion.instanceType` | string | `"t3.small"` |', '| `account` | string | required |'):
        assert row in text
    assert '| `stages[].approval` | true or false | `false` |' in config_reference.render_pipelines()


def test_every_docs_page_the_code_names_exists():
    """Messages that send the reader to a page of the manual ("see docs/...") name one that exists."""
    named = set()
    for path in [ROOT / "app.py", ROOT / "cli.py", ROOT / "Makefile", *(ROOT / "federated_eks").rglob("*.py"),
                 *(ROOT / "components").rglob("*.py"), *(ROOT / "stacks").rglob("*.py")]:
        # "see docs/...": this manual's pages (a bare docs/... path may cite another project's repository)
        named |= set(re.findall(r"\bsee (docs/[\w/.-]+\.md)\b", path.read_text()))
    assert {"docs/pipeline.md", "docs/configuration/index.md", "docs/workloads/index.md"} <= named
    assert sorted(page for page in named if not (ROOT / page).is_file()) == []


PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])


def test_every_file_and_module_the_docs_name_exists():
    """The manual names source files (`federated_eks/config/quotas.py`) and modules
    (`python -m federated_eks.operations.prune`): each exists, so moving a file without its docs fails here."""
    missing = []
    for page in PAGES:
        text = page.read_text()
        for path in re.findall(r"(?<![\w/.-])((?:federated_eks|components|stacks|tests|tools|rehearsal|bench|samples)"
                               r"/[\w/.-]*[\w/])", text):
            if not (ROOT / path).exists():
                missing.append(f"{page.relative_to(ROOT)}: {path}")
        for module in re.findall(r"(?<![\w/.-])((?:federated_eks|components|tools|rehearsal)(?:\.[a-z_]\w*)+)", text):
            base = ROOT / module.replace(".", "/")
            if not (base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()
                    or base.parent.with_suffix(".py").is_file()):  # module.attribute
                missing.append(f"{page.relative_to(ROOT)}: {module}")
    assert missing == []
