"""The layers of ARCHITECTURE.md, checked on the source: what each layer may import."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from fedtest import ROOT

# Layer (folder) -> module prefixes it must not import, and why. A folder's rules apply to every file below it; the
# packages of federated_eks/ are layers of their own (PACKAGES below lists what each may import).
FORBIDDEN = {
    "federated_eks": {
        "app": "the model is the bottom layer", "cli": "the model is the bottom layer",
        "stacks": "the model is the bottom layer",
        "components": "the model is the bottom layer", "constructs": "the model holds no CDK constructs",
        "aws_cdk": "the model holds no CDK constructs (only the config's fields read aws_cdk.region_info, offline data)",
    },
    "components": {
        "app": "constructs are reusable", "cli": "constructs are reusable", "stacks": "constructs are reusable",
        "federated_eks.config.reader": "constructs take typed values, never the JSON reader",
        "federated_eks.plan.topology": "constructs take typed values; the federation's shape is the stacks' business",
        "federated_eks.operations": "constructs never run operator tools",
    },
    # The join Lambda's runtime is packaged on its own: it imports its package, the contract and its requirements.
    "components/kubefed_join/runtime": {
        "aws_cdk": "the Lambda has no CDK", "constructs": "the Lambda has no CDK", "jsii": "the Lambda has no CDK",
        "app": "the Lambda is packaged without the app", "stacks": "the Lambda is packaged without the app",
        "federated_eks": "the Lambda is packaged without the app",
        "components.kubefed_join.kubefed_join": "the construct imports CDK; the runtime shares only the contract",
    },
    # The Karmada join's runtime likewise; it packages components/kube_access/ and the KubeFed join's
    # runtime modules it reuses, never a construct.
    "components/karmada_join/runtime": {
        "aws_cdk": "the Lambda has no CDK", "constructs": "the Lambda has no CDK", "jsii": "the Lambda has no CDK",
        "app": "the Lambda is packaged without the app", "stacks": "the Lambda is packaged without the app",
        "federated_eks": "the Lambda is packaged without the app",
        "components.karmada_join.karmada_join": "the construct imports CDK; the runtime shares only the contract",
        "components.kubefed_join.kubefed_join": "the construct imports CDK; the runtime shares only the contract",
    },
    # The waiter's runtime likewise; both share components/kube_access/ (packaged with each), itself CDK-free.
    "components/workload_waiter/runtime": {
        "aws_cdk": "the Lambda has no CDK", "constructs": "the Lambda has no CDK", "jsii": "the Lambda has no CDK",
        "app": "the Lambda is packaged without the app", "stacks": "the Lambda is packaged without the app",
        "federated_eks": "the Lambda is packaged without the app",
        "components.workload_waiter.workload_waiter": "the construct imports CDK; the runtime shares only the contract",
        "components.kubefed_join": "the waiter is a component of its own; it shares components/kube_access/",
    },
    "components/kube_access": {
        "aws_cdk": "the Lambdas have no CDK", "constructs": "the Lambdas have no CDK",
        "jsii": "the Lambdas have no CDK", "app": "packaged without the app", "stacks": "packaged without the app",
        "federated_eks": "packaged without the app",
    },
    "stacks": {
        "app": "stacks are built by app.py, not the other way round", "cli": "stacks are built by app.py",
        "federated_eks.config": "stacks take the typed model; only app.py and cli.py read the config",
        "federated_eks.operations": "stacks never run operator tools",
    },
    # The rehearsal plays the synthesized cloud assembly: it reads templates, never builds constructs.
    "rehearsal": {
        "aws_cdk": "the rehearsal plays the synthesized assembly, it builds no constructs",
        "constructs": "the rehearsal builds no constructs", "jsii": "the rehearsal builds no constructs",
        "app": "the rehearsal synthesizes through the CDK CLI, it does not import the app", "cli": "as app",
        "stacks": "the rehearsal reads templates, not stacks",
    },
}
# Nothing of the app depends on its rehearsal.
for _layer in ("federated_eks", "components", "components/kubefed_join/runtime", "components/karmada_join/runtime",
               "components/workload_waiter/runtime", "components/kube_access", "stacks"):
    FORBIDDEN[_layer]["rehearsal"] = "the app never depends on its rehearsal"
# (file, module prefix) exceptions: the config's fields read aws-cdk-lib's offline region table.
ALLOWED = {("federated_eks/config/fields.py", "aws_cdk.region_info")}

# The packages of federated_eks/, lowest first: each imports only itself and the packages before it.
PACKAGES = ("model", "plan", "config", "operations")


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


STANDARD_LIBRARY = {"__future__", "__future__.annotations", "dataclasses", "dataclasses.dataclass", "json", "re"}


def test_the_shared_contract_is_a_leaf():
    """Every Kubernetes-facing side imports it, so it imports nothing but the standard library."""
    found = imports(ROOT / "components" / "kube_access" / "contract.py")
    assert found <= STANDARD_LIBRARY, found


@pytest.mark.parametrize("component", ["kubefed_join", "workload_waiter"])
def test_a_components_contract_imports_only_the_standard_library_and_the_shared_contract(component):
    """Every side of a component imports its contract; it takes what the Kubernetes-facing functions share from the
    shared leaf contract (each fact defined once) and nothing else."""
    found = {m for m in imports(ROOT / "components" / component / "contract.py")
             if not within(m, "components.kube_access.contract")}
    assert found <= STANDARD_LIBRARY | {"components", "components.kube_access"}, found


def test_the_shared_access_code_imports_no_component():
    """components/kube_access/ is packaged into each Lambda: it imports only itself (and the standard library and the
    Lambdas' requirements), never a component that uses it."""
    found = sorted(f"{path.name} imports {m}" for path in sorted((ROOT / "components" / "kube_access").glob("*.py"))
                   for m in imports(path) if within(m, "components") and not within(m, "components.kube_access"))
    assert found == []


def test_the_check_sees_a_forbidden_import(tmp_path, monkeypatch):
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "bad.py").write_text("def f():\n    from federated_eks.config.reader import load_environment\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert violations("stacks") == ["stacks/bad.py imports federated_eks.config.reader: stacks take the typed model; only "
                                    "app.py and cli.py read the config",
                                    "stacks/bad.py imports federated_eks.config.reader.load_environment: stacks take the "
                                    "typed model; only app.py and cli.py read the config"]


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


def package_violations(root: Path) -> list[str]:
    """Imports of a federated_eks package from a package above it (PACKAGES order)."""
    out = []
    for rank, package in enumerate(PACKAGES):
        above = PACKAGES[rank + 1:]
        for path in sorted((root / "federated_eks" / package).rglob("*.py")):
            for module in sorted(imports(path)):
                if any(within(module, f"federated_eks.{p}") for p in above):
                    out.append(f"{path.relative_to(root).as_posix()} imports {module}: federated_eks.{package} may "
                               f"import only {', '.join(f'federated_eks.{p}' for p in PACKAGES[:rank + 1])}")
    return out


def test_federated_eks_packages_import_only_downward():
    assert sorted(p.name for p in (ROOT / "federated_eks").iterdir() if p.is_dir() and p.name != "__pycache__") \
        == sorted(PACKAGES), "a new package of federated_eks/ needs its place in PACKAGES"
    assert [p.name for p in (ROOT / "federated_eks").glob("*.py")] == ["__init__.py"], \
        "every module of federated_eks/ belongs to one of its packages"
    assert package_violations(ROOT) == []


def module_cycles(root: Path, top: str) -> list[list[str]]:
    """Import cycles among the modules below `top` (a folder of `root`), each as the modules around it."""
    modules = {p.relative_to(root).with_suffix("").as_posix().replace("/", "."): p
               for p in (root / top).rglob("*.py")}
    modules = {m.removesuffix(".__init__"): p for m, p in modules.items()}
    graph = {m: {d for d in modules if d != m and d in imports(p)} for m, p in modules.items()}
    cycles, state = [], {}

    def visit(m: str, stack: list[str]) -> None:
        state[m] = "open"
        for d in sorted(graph[m]):
            if state.get(d) == "open":
                cycles.append(stack[stack.index(d):] + [d])
            elif d not in state:
                visit(d, stack + [d])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    return cycles


def test_no_import_cycles():
    for top in ("federated_eks", "components", "stacks", "rehearsal"):
        assert module_cycles(ROOT, top) == [], top


def test_the_package_check_sees_an_upward_import(tmp_path):
    for package in PACKAGES:
        (tmp_path / "federated_eks" / package).mkdir(parents=True)
    (tmp_path / "federated_eks" / "plan" / "bad.py").write_text("from federated_eks.config.reader import ConfigError\n")
    assert package_violations(tmp_path)[0].startswith("federated_eks/plan/bad.py imports federated_eks.config.reader: ")


def test_the_cycle_check_sees_a_cycle(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("from pkg import b\n")
    (tmp_path / "pkg" / "b.py").write_text("import pkg.a\n")
    assert module_cycles(tmp_path, "pkg") == [["pkg.a", "pkg.b", "pkg.a"]]
