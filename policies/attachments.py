"""Attachments (附件) at the end of a policy: their titles and entry lists."""

from __future__ import annotations

import re

from policies.lines import ATTACHMENT_RE, Line
from policies.model import Attachment

_COUNT_RE = re.compile(r"^[（(]\s*(?:共)?\s*\d+\s*[个項项家所名]?\s*[）)]$")
_ENTRY_SPLIT_RE = re.compile(r"[、，,；;﹔\s]+")
_NUMBERED_RE = re.compile(r"^\d{1,2}\s*[.．、]\s*(.+)$")


def split_attachments(lines: list[Line]) -> tuple[list[Line], list[Line]]:
    """Split lines into the body and the attachment part (from the first 附件 line after an item)."""
    seen_marker = False
    for i, line in enumerate(lines):
        if line.marker is not None:
            seen_marker = True
        elif seen_marker and line.is_attachment:
            return lines[:i], lines[i:]
    return lines, []


def read_attachments(lines: list[Line]) -> list[Attachment]:
    """Return the attachments of the attachment part, each with its title and entries."""
    chunks: list[list[str]] = []
    for line in lines:
        m = ATTACHMENT_RE.match(line.text) if line.is_attachment else None
        numbered = _NUMBERED_RE.match(line.text)
        if m is not None:
            chunks.append([m.group(2).strip()] if m.group(2).strip() else [])
        elif numbered and chunks and len(line.text) <= 60 and not _ENTRY_SPLIT_RE.search(line.text):
            chunks.append([numbered.group(1).strip()])
        elif chunks:
            chunks[-1].append(line.text)
    return [_attachment(chunk) for chunk in chunks if chunk]


def _attachment(chunk: list[str]) -> Attachment:
    title, rest = chunk[0], [t for t in chunk[1:] if not _COUNT_RE.match(t)]
    entries: list[str] = []
    for text in rest:
        entries.extend(e for e in _ENTRY_SPLIT_RE.split(text) if e)
    return Attachment(title=title, entries=tuple(entries))
