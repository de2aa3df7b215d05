"""Evidence over HTTP: the store dependency and verified, header-safe downloads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO
from urllib.parse import quote

from starlette.responses import StreamingResponse

from duban.models import Evidence
from duban.services.evidence import CHUNK, EvidenceStore
from web.deps import SettingsDep


def evidence_store(settings: SettingsDep) -> EvidenceStore:
    """Return the evidence store of the app's data dir and upload limit."""
    return EvidenceStore(settings.evidence_dir, max_bytes=settings.max_upload_bytes)


def content_disposition(filename: str) -> str:
    """Return an attachment header with an ASCII fallback and the UTF-8 name (RFC 6266/5987)."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    return f"attachment; filename=\"{fallback or 'evidence'}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    """Yield the file in chunks and close it."""
    with handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def download_response(store: EvidenceStore, evidence: Evidence) -> StreamingResponse:
    """Stream a stored file after re-hashing it; the browser must not sniff or render it inline."""
    handle = store.open_verified(evidence.sha256)
    headers = {
        "Content-Disposition": content_disposition(evidence.filename),
        "Content-Length": str(evidence.size),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "ETag": f'"{evidence.sha256}"',
        "Cache-Control": "private, max-age=31536000, immutable",
    }
    return StreamingResponse(_chunks(handle), media_type=evidence.content_type, headers=headers)
