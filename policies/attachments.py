"""Attachments (附件) at the end of a policy: where they start, their titles and entry lists.

An attachment that holds tasks (numbered items or table rows with units) is read as a part of the
document (policies/parts.py); one that holds only names (a list of key counties) stays a list. A
line that only lists the attachments (附件：1.某某任务分工表 2.某某清单) is neither.
"""

from __future__ import annotations

import re

from policies.lines import ATTACHMENT_RE, Line
from policies.model import Attachment

_COUNT_RE = re.compile(r"^[（(]\s*(?:共)?\s*\d+\s*[个項项家所名]?\s*[）)]$")
_ENTRY_SPLIT_RE = re.compile(r"[、，,；;﹔\s]+")
_NUMBERED_RE = re.compile(r"^\d{1,2}\s*[.．、]\s*(.+)$")
_INDEX_RE = re.compile(r"^(\d{1,2})\s*[.．、]\s*[^。；;]{2,40}$")
_SECOND_TITLE_RE = re.compile(r"\s2\s*[.．、]\S")


def split_attachments(lines: list[Line]) -> tuple[list[Line], list[Line]]:
    """Split lines into the body and the attachment part (from the first 附件 line after an item)."""
    seen_marker = False
    for i, line in enumerate(lines):
        if line.marker is not None:
            seen_marker = True
        elif seen_marker and line.is_attachment:
            return lines[:i], lines[i:]
    return lines, []


def drop_attachment_index(lines: list[Line]) -> list[Line]:
    """Drop the lines that only list the attachments: 附件：1.某表 2.某清单, or one title a line."""
    out: list[Line] = []
    i = 0
    while i < len(lines):
        end = _index_end(lines, i)
        if end == i:
            out.append(lines[i])
        i = max(end, i + 1)
    return out


def _index_end(lines: list[Line], i: int) -> int:
    """Return the end of an attachment index starting at line i (i itself when there is none)."""
    m = ATTACHMENT_RE.match(lines[i].text) if lines[i].is_attachment else None
    first = _INDEX_RE.match(m.group(2)) if m else None
    if m is None or first is None or first.group(1) != "1":
        return i
    end, expected = i + 1, 2
    while end < len(lines) and (n := _INDEX_RE.match(lines[end].text)) and int(n[1]) == expected:
        end, expected = end + 1, expected + 1
    return end if end > i + 1 or _SECOND_TITLE_RE.search(m.group(2)) else i


def attachment_chunks(lines: list[Line]) -> list[list[Line]]:
    """Split the attachment part into one list of lines per 附件 heading."""
    chunks: list[list[Line]] = []
    for line in lines:
        if line.is_attachment or not chunks:
            chunks.append([line])
        else:
            chunks[-1].append(line)
    return chunks


def attachment_title(chunk: list[Line]) -> str:
    """Return an attachment's title: after 附件N： on its heading line, else the line after it."""
    m = ATTACHMENT_RE.match(chunk[0].text) if chunk[0].is_attachment else None
    if m is not None and m.group(2).strip():
        return m.group(2).strip()
    following = chunk[1:2] if m is not None else chunk[:1]
    return following[0].text if following else ""


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
