"""MkDocs hook: the config reference is generated from the model's field documentation at every build.

The pages hold markers only; the tables come from `tools/config_reference.py`, which reads the `doc(...)` metadata
of the model's dataclass fields (federated_eks/model/field_doc.py). So the reference cannot drift from the model, and
`mkdocs build --strict` checks the generated links like any other page's.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.config_reference import MARKER, PIPELINE_MARKER, render, render_pipelines  # noqa: E402


def on_page_markdown(markdown: str, **_) -> str:
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, render())
    if PIPELINE_MARKER in markdown:
        markdown = markdown.replace(PIPELINE_MARKER, render_pipelines())
    return markdown
