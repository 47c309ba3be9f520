"""The documentation of the config's fields, kept on the model's dataclass fields as field metadata.

Each field the config sets says, next to its default, where it is in cdk.json and what it takes:

    min_size: int = field(default=1, metadata=doc("nodeGroup.minSize", "whole number", "Nodes at least.",
                                                  rule="0 or more, at most desiredSize", example="1"))

The config reference (docs/configuration/reference.md) is generated from this metadata at every docs build
(tools/config_reference.py), and tests/test_docs.py fails when a field has none or when a key the reader accepts
is not documented. A field that no config key sets (filled by the reader, or by CDK code) says so with
`not_config(...)`. Pure data: nothing here reads the config.
"""
from __future__ import annotations

from dataclasses import MISSING, Field, dataclass
from typing import Any, Mapping

DOC = "federated_eks.doc"
"""The metadata key: a tuple of `KeyDoc` (a field several keys set has several), or a `NotConfig`."""

REQUIRED = "required"


@dataclass(frozen=True)
class KeyDoc:
    """One config key. `key`: its JSON path as in cdk.json, relative to the environment (or the pipeline):
    `clusters[]` is every entry of a list, `<cluster>` any cluster's name as an object key. `default`: as the
    reference prints it; empty: the field's own default, written as JSON. `same_as`: an object key that takes the
    fields of another (`clusters[].nodeGroup` takes those of `nodeGroup`)."""

    key: str
    type: str
    description: str
    rule: str = ""
    example: str = ""
    default: str = ""
    same_as: str = ""


@dataclass(frozen=True)
class NotConfig:
    """A field no config key sets, and why (where its value comes from)."""

    reason: str


def doc(key: str, type: str, description: str, *, rule: str = "", example: str = "", default: str = "",
        same_as: str = "", also: tuple[KeyDoc, ...] = ()) -> Mapping[str, Any]:
    """The metadata of a field set by config key `key` (and by the keys of `also`, made with `key_doc`)."""
    return {DOC: (KeyDoc(key, type, description, rule, example, default, same_as), *also)}


def key_doc(key: str, type: str, description: str, *, rule: str = "", example: str = "", default: str = "",
            same_as: str = "") -> KeyDoc:
    """A further key of a field that several keys set (for `doc(..., also=...)`)."""
    return KeyDoc(key, type, description, rule, example, default, same_as)


def not_config(reason: str) -> Mapping[str, Any]:
    """The metadata of a field that no config key sets."""
    return {DOC: NotConfig(reason)}


def key_docs(f: Field) -> tuple[KeyDoc, ...] | NotConfig | None:
    """What field `f` documents: its keys, a `NotConfig`, or None when it has no documentation."""
    return f.metadata.get(DOC)


def has_default(f: Field) -> bool:
    return f.default is not MISSING or f.default_factory is not MISSING
