"""Evidence over HTTP: the store dependency and verified, header-safe downloads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO
from urllib.parse import quote

from fastapi import Request
from starlette.responses import StreamingResponse

from duban.models import Evidence
from duban.services.evidence import CHUNK, BlobStore


def evidence_store(request: Request) -> BlobStore:
    """Return the app's evidence store: S3 when DUBAN_S3_BUCKET is set, else the data dir."""
    store: BlobStore = request.app.state.evidence_store
    return store


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


def download_response(store: BlobStore, evidence: Evidence) -> StreamingResponse:
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
