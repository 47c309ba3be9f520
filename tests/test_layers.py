"""The layers of ARCHITECTURE.md, checked on the source: what each layer may import."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from fedtest import ROOT

# Layer (folder) -> module prefixes it must not import, and why.
FORBIDDEN = {
    "federated_eks": {
        "app": "the model is the bottom layer", "stacks": "the model is the bottom layer",
        "components": "the model is the bottom layer", "constructs": "the model holds no CDK constructs",
        "aws_cdk": "the model holds no CDK constructs (only config reads aws_cdk.region_info, offline data)",
    },
    "components": {
        "app": "constructs are reusable", "stacks": "constructs are reusable",
        "federated_eks.config": "constructs take typed values, never the JSON reader",
        "federated_eks.topology": "constructs take typed values; the federation's shape is the stacks' business",
    },
    # The join Lambda's runtime is packaged on its own: it imports its package, the contract and its requirements.
    "components/kubefed_join/runtime": {
        "aws_cdk": "the Lambda has no CDK", "constructs": "the Lambda has no CDK", "jsii": "the Lambda has no CDK",
        "app": "the Lambda is packaged without the app", "stacks": "the Lambda is packaged without the app",
        "federated_eks": "the Lambda is packaged without the app",
        "components.kubefed_join.kubefed_join": "the construct imports CDK; the runtime shares only the contract",
    },
    "stacks": {
        "app": "stacks are built by app.py, not the other way round",
        "federated_eks.config": "stacks take the typed model; only app.py reads the config",
    },
    # The rehearsal plays the synthesized cloud assembly: it reads templates, never builds constructs.
    "rehearsal": {
        "aws_cdk": "the rehearsal plays the synthesized assembly, it builds no constructs",
        "constructs": "the rehearsal builds no constructs", "jsii": "the rehearsal builds no constructs",
        "app": "the rehearsal synthesizes through the CDK CLI, it does not import the app",
        "stacks": "the rehearsal reads templates, not stacks",
    },
}
# Nothing of the app depends on its rehearsal.
for _layer in ("federated_eks", "components", "components/kubefed_join/runtime", "stacks"):
    FORBIDDEN[_layer]["rehearsal"] = "the app never depends on its rehearsal"
# (file, module prefix) exceptions. The join contract is a leaf (standard library only): the model takes the
# cluster name limit from it, and quotas the environment's size, so that the config and the join check the same numbers.
ALLOWED = {("federated_eks/config.py", "aws_cdk.region_info"),
           ("federated_eks/model.py", "components.kubefed_join.contract"),
           ("federated_eks/quotas.py", "components.kubefed_join.contract")}


def within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def imports(path: Path) -> set[str]:
    """Every module `path` imports, anywhere in the file: `from a import b` counts as both `a` and `a.b`."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def violations(layer: str) -> list[str]:
    out = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for module in sorted(imports(path)):
            for prefix, why in FORBIDDEN[layer].items():
                if within(module, prefix) and not any(rel == f and within(module, a) for f, a in ALLOWED):
                    out.append(f"{rel} imports {module}: {why}")
    return out


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_only_what_it_may(layer):
    assert violations(layer) == []


def test_the_join_contract_is_a_leaf():
    """Every side imports it, so it imports nothing but the standard library."""
    found = imports(ROOT / "components" / "kubefed_join" / "contract.py")
    assert found <= {"__future__", "__future__.annotations", "dataclasses", "dataclasses.dataclass", "json", "re"}, found


def test_the_check_sees_a_forbidden_import(tmp_path, monkeypatch):
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "bad.py").write_text("def f():\n    from federated_eks.config import load_environment\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert violations("stacks") == ["stacks/bad.py imports federated_eks.config: stacks take the typed model; only "
                                    "app.py reads the config",
                                    "stacks/bad.py imports federated_eks.config.load_environment: stacks take the "
                                    "typed model; only app.py reads the config"]


def test_the_rehearsal_imports_only_cdk_free_components():
    """A component the rehearsal imports (a CRD generator, the join contract) imports no CDK itself."""
    found = []
    for path in sorted((ROOT / "rehearsal").rglob("*.py")):
        for module in sorted(m for m in imports(path) if within(m, "components")):
            source = ROOT / (module.replace(".", "/") + ".py")
            if source.exists():
                cdk = sorted(m for m in imports(source) if within(m, "aws_cdk") or within(m, "constructs"))
                if cdk:
                    found.append(f"{path.relative_to(ROOT)} imports {module}, which imports {cdk}")
    assert found == []


def test_app_py_never_imports_the_rehearsal():
    assert not any(within(m, "rehearsal") for m in imports(ROOT / "app.py"))
