"""Container image references: is a string one, and is it pinned?

The grammar is the one container runtimes accept (the OCI distribution `reference` grammar):
`[host[:port]/]path[:tag][@algorithm:hex]`, path components lowercase alphanumerics joined by `.`, `_`, `__`
or dashes, a tag of at most 128 word characters, dots and dashes, names of at most 255 characters.
"""
from __future__ import annotations

import re

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?)"
_PATH_COMPONENT = r"(?:[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)"
_NAME = rf"(?:(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
# Applied with fullmatch: `$` would also accept a trailing newline.
_REFERENCE = re.compile(rf"(?P<name>{_NAME})(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?")
MAX_NAME = 255
PIN_FIX = ('pin a tag, e.g. "registry.k8s.io/echoserver:1.10", or a digest, e.g. '
           '"registry.k8s.io/echoserver@sha256:<64 hex digits>" (print it with `docker buildx imagetools inspect '
           'IMAGE:TAG` or `crane digest IMAGE:TAG`), and mirror it where your nodes pull from')
"""How to fix an unpinned reference: the one rule of typed workloads and manifest folders."""


def problem(reference: str) -> str | None:
    """None if `reference` is a pinned image reference, else what is wrong with it (one sentence)."""
    match = _REFERENCE.fullmatch(reference)
    if match is None:
        return f"{reference!r} is not an image reference"
    if len(match["name"]) > MAX_NAME:
        return f"{reference!r} has a name longer than {MAX_NAME} characters"
    if match["digest"] is None and match["tag"] in (None, "latest"):
        return f"{reference!r} is not pinned (no tag, or 'latest', follows whatever is pushed next)"
    return None
