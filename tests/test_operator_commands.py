"""The commands the code tells an operator to run name the environment: the Makefile's ENV defaults to dev, so a
`make deploy` copied from a message about another environment would deploy dev. Checked on the source (every string
of federated_eks/, components/ and stacks/ but docstrings), and the shared texts of federated_eks/plan/
operator_commands.py on what they say."""
from __future__ import annotations

import ast
import re

from fedtest import ROOT
from federated_eks.plan import operator_commands

# The Makefile's targets that act on one environment (ENV=).
PER_ENVIRONMENT = ("deploy", "destroy", "diff", "prune", "synth", "context", "topology", "rehearse")
COMMAND = re.compile(r"\bmake (" + "|".join(PER_ENVIRONMENT) + r")\b(?! ENV=)")
# Strings that name a target without telling anyone to run it: `make topology`'s timings of `make deploy`.
NOT_COMMANDS = {("federated_eks/plan/diagram.py", " min; `make deploy` (--concurrency "),
                ("federated_eks/plan/diagram.py", "| clusters | stacks | pipeline stage, min | make deploy, min |"),
                ("federated_eks/operations/scale.py", "| mode | clusters | stacks | deploy levels | most stacks in one "
                 "level | critical path, min | pipeline stage, min | make deploy, min | config check (quotas raised "
                 "as far as AWS allows) |")}


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
        # A string alone as a statement documents what precedes it (an attribute's docstring).
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            out.add(id(node.value))
    return out


def messages_without_env() -> list[tuple[str, str]]:
    found = []
    for folder in ("federated_eks", "components", "stacks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text())
            skip = _docstrings(tree)
            where = str(path.relative_to(ROOT))
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip \
                        and COMMAND.search(node.value) and (where, node.value) not in NOT_COMMANDS:
                    found.append((where, node.value))
    return found


def test_every_make_command_in_a_message_names_the_environment():
    assert messages_without_env() == []


def test_the_check_finds_a_make_command_without_env():
    assert COMMAND.search("then `make deploy` and prune") and COMMAND.search("run make prune PRUNE=yes")
    assert not COMMAND.search("`make deploy ENV=prod`") and not COMMAND.search("make check-config PIPELINE=main")


def test_the_shared_steps_name_the_environment_and_the_stack():
    assert operator_commands.make("prune", "prod", "PRUNE=yes") == "`make prune ENV=prod PRUNE=yes`"
    steps = [operator_commands.engine_change("prod", "fedeks-prod-federation", "kubefed", "karmada"),
             operator_commands.karmada_host_move("prod", "fedeks-prod-federation", "fed-1"),
             operator_commands.cross_region_host_move("prod", "fedeks-prod-federation", "fed-1", "karmada",
                                                      "us-east-1", "fed-2", "us-east-2")]
    for text in steps:
        assert "`npx cdk destroy fedeks-prod-federation -c env=prod`" in text and "`make deploy ENV=prod`" in text
        assert not COMMAND.search(text)
    assert "uninstalls Karmada in us-east-1" in steps[2]
