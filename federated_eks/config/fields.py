"""The config reader's tools, shared by every reader module (environment, workloads, pipelines): `Reader` collects
every problem of a config at once, each naming its field (a JSON path) and its fix; `ConfigError` reports them.
"""
from __future__ import annotations

import re
from typing import Any, Callable

ACCOUNT = re.compile(r"[0-9]{12}")


class ConfigError(Exception):
    """Every problem found in one environment's config, one per line, each naming field and fix."""

    def __init__(self, problems: list[str]):
        # Every problem is one line of printable text, whatever the values it quotes (escape sequences, newlines).
        self.problems = [escape_controls(p) for p in problems]
        super().__init__("\n".join(self.problems))

    def __str__(self) -> str:
        count = len(self.problems)
        head = f"federated-eks: the config has {count} problem{'s' if count != 1 else ''}:"
        return "\n".join([head, *(f"  - {p}" for p in self.problems)])


def escape_controls(text: str) -> str:
    """`text` with every unprintable character (controls, line and paragraph separators) written as its Python
    escape, as `repr` writes it: a quoted value cannot break a message's line or drive the terminal. Printable text
    (a repr already) is unchanged."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def aws_regions() -> frozenset[str]:
    # aws-cdk-lib's region table (offline, no AWS call); commercial partition only, since ARNs and
    # the placeholder-free defaults here assume `aws`.
    from aws_cdk.region_info import RegionInfo

    return frozenset(r.name for r in RegionInfo.regions if r.partition == "aws")


# ---------------------------------------------------------------------------------------------
# Reading and validation
# ---------------------------------------------------------------------------------------------

MISSING = object()


class Reader:
    """Reads raw JSON values field by field, collecting problems instead of raising."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, path: str, what: str, fix: str) -> None:
        # Paths carry the user's keys (tags, unknown fields, the environment name): escaped, one problem stays one line.
        self.problems.append(f"{path.encode('unicode_escape').decode()}: {what}. Fix: {fix}")

    def obj(self, raw: Any, path: str, known: tuple[str, ...], required: bool = False) -> dict[str, Any] | None:
        if raw is None:
            self.problem(path, "is null", "write it as a JSON object {...}" if required else
                         "remove it to use the defaults, or write it as a JSON object {...}")
            return None
        if not isinstance(raw, dict):
            self.problem(path, f"must be an object, got {kind_of(raw)}", "write it as a JSON object {...}")
            return None
        for key in sorted(set(raw) - set(known)):
            self.problem(f"{path}.{key}", "unknown field", f"remove it or use one of: {', '.join(known)}")
        return raw

    def value(self, d: dict[str, Any], key: str, path: str, kind: type | tuple[type, ...], default: Any,
              hint: str) -> Any:
        raw = d.get(key, MISSING)
        if raw is MISSING:
            if default is MISSING:
                self.problem(f"{path}.{key}", "is required", f"set it, e.g. {hint}")
            return None if default is MISSING else default
        if raw is None:  # app.py hands over the context with its nulls: a null is a mistake, not "unset"
            self.problem(f"{path}.{key}", "is null", f"set it, e.g. {hint}" if default is MISSING else
                         f"remove it to use the default, or write it like {hint}")
            return None if default is MISSING else default
        # bool is an int in Python; a JSON true is never a valid number here.
        if not isinstance(raw, kind) or (isinstance(raw, bool) and kind is int):
            self.problem(f"{path}.{key}", f"must be {kind_name(kind)}, got {kind_of(raw)}", f"write it like {hint}")
            return None if default is MISSING else default
        return raw

    def choice(self, d: dict[str, Any], key: str, path: str, choices: tuple[str, ...], default: Any) -> Any:
        raw = self.value(d, key, path, str, default, f'"{choices[0]}"')
        if raw is not None and raw not in choices:
            self.problem(f"{path}.{key}", f"{raw!r} is not allowed", f"use one of: {', '.join(choices)}")
            return default if default is not MISSING else None
        return raw

    def string_list(self, d: dict[str, Any], key: str, path: str, default: Any, hint: str,
                    check: Callable[[str, str], None] | None = None) -> tuple[str, ...] | None:
        raw = self.value(d, key, path, list, default, hint)
        if raw is None:
            return None
        out = []
        for i, item in enumerate(raw):
            if not isinstance(item, str):
                self.problem(f"{path}.{key}[{i}]", f"must be a string, got {kind_of(item)}", f"write it like {hint}")
                continue
            if check:
                check(item, f"{path}.{key}[{i}]")
            out.append(item)
        return tuple(out)


def kind_of(raw: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(raw), type(raw).__name__)


def kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {dict: "an object", list: "a list", str: "a string", bool: "true or false", int: "a whole number"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)
