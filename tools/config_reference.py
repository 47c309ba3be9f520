"""The config reference, generated from the documentation on the model's dataclass fields
(federated_eks/model/field_doc.py).

`render()` is the environment's reference (docs/configuration/reference.md), `render_pipelines()` the pipelines'
(docs/pipeline.md); docs/hooks/config_reference.py puts them into those pages at every docs build, so the pages
cannot drift from the model. `documented_fields(root)` walks every dataclass a config reaches, for the tests.
"""
from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import Field
from typing import Any, Iterator

from federated_eks.model.field_doc import REQUIRED, KeyDoc, NotConfig, has_default, key_docs
from federated_eks.model.federation import FederationConfig
from federated_eks.model.pipeline import PipelineConfig

MARKER = "<!-- config-reference -->"
PIPELINE_MARKER = "<!-- pipeline-reference -->"
ROOTS = (FederationConfig, PipelineConfig)
"""Where a config starts; a root reached from another (a pipeline stage's environment) is documented on its own."""

ENVIRONMENT = "Environment"
"""The section of the environment's own scalar fields."""


def _nested(hint: Any) -> Iterator[type]:
    """The dataclasses inside a type hint (`tuple[tuple[str, X], ...]`, `X | None`, ...)."""
    if dataclasses.is_dataclass(hint):
        yield hint
    for arg in typing.get_args(hint):
        if arg is not Ellipsis:
            yield from _nested(arg)


def documented_fields(root: type) -> list[tuple[type, Field]]:
    """Every field of `root` and of the dataclasses its fields hold, depth first, each class once."""
    out: list[tuple[type, Field]] = []
    seen: set[type] = set()

    def walk(cls: type) -> None:
        seen.add(cls)
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            out.append((cls, f))
            for inner in _nested(hints[f.name]):
                if inner not in seen and inner not in ROOTS:
                    walk(inner)

    walk(root)
    return out


def key_entries(root: type) -> list[tuple[KeyDoc, Field]]:
    """Every documented key under `root`, in the model's order, each key's children right after it."""
    out = []
    for _, f in documented_fields(root):
        docs = key_docs(f)
        if docs is None or isinstance(docs, NotConfig):
            continue
        out += [(kd, f) for kd in docs]
    return _parents_first(out)


def _prefixes(key: str) -> list[str]:
    parts = key.replace("[]", "").split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _parents_first(entries: list[tuple[KeyDoc, Field]]) -> list[tuple[KeyDoc, Field]]:
    """`entries` in the order of their first appearance, each key followed by the keys under it."""
    first: dict[str, int] = {}
    for i, (kd, _) in enumerate(entries):
        for prefix in _prefixes(kd.key):
            first.setdefault(prefix, i)
    return sorted(entries, key=lambda e: [first[p] for p in _prefixes(e[0].key)])


def _as_json(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_as_json(v) for v in value]
    return value


def default_text(kd: KeyDoc, f: Field) -> str:
    """The default as the reference prints it: the key's own words, else the field's default as JSON."""
    if kd.default:
        return kd.default
    if not has_default(f):
        return REQUIRED
    value = f.default if f.default is not dataclasses.MISSING else f.default_factory()
    if value is None:
        return "none"
    return f"`{json.dumps(_as_json(value))}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _row(kd: KeyDoc, f: Field) -> str:
    meaning = kd.description + (f" **Rule:** {kd.rule}." if kd.rule else "")
    if kd.same_as:
        meaning += f" Takes the fields of [`{kd.same_as}`](#{section_of(kd.same_as)})."
    example = f"`{kd.example}`" if kd.example else ""
    return "| " + " | ".join(_cell(c) for c in (f"`{kd.key}`", kd.type, default_text(kd, f), meaning, example)) + " |"


def _table(rows: list[str]) -> str:
    return "\n".join(["| key | type | default | meaning and rules | example |", "|---|---|---|---|---|", *rows])


def section_of(key: str) -> str:
    """The section a key is in: its first segment (`clusters[].name` is in `clusters`)."""
    return key.split(".")[0].removesuffix("[]")


def render() -> str:
    """The environment's reference: one table per top-level key (objects), the scalars first."""
    sections: dict[str, list[str]] = {ENVIRONMENT: []}
    entries = key_entries(FederationConfig)
    objects = {kd.key for kd, _ in entries if "." not in kd.key and kd.type in ("object", "list of objects")}
    for kd, f in entries:
        head = section_of(kd.key)
        name = head if head in objects or "." in kd.key else ENVIRONMENT
        sections.setdefault(name, []).append(_row(kd, f))
    parts = []
    for name, rows in sections.items():
        title = name if name == ENVIRONMENT else f"`{name}`"
        anchor = "environment" if name == ENVIRONMENT else name
        parts.append(f"## {title} {{#{anchor}}}\n\n{_table(rows)}")
    return "\n\n".join(parts)


def render_pipelines() -> str:
    """The pipelines' reference: one table."""
    return _table([_row(kd, f) for kd, f in key_entries(PipelineConfig)])
