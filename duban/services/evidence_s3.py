"""Evidence in an S3-compatible object store: the same content addresses as the folder store.

Each file is the object `<prefix><sha256[:2]>/<sha256>`: written once (a file already there
is not sent again), never overwritten or deleted, re-hashed on every download. A store that
cannot be reached or refuses the request raises `EvidenceStoreUnavailable` (503 +
Retry-After on the web, one line from the CLI); the upload then indexes nothing.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TypeVar, cast

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from duban.errors import NotFound, Unavailable
from duban.services.evidence import (
    CHUNK,
    BlobStore,
    EvidenceCorrupt,
    EvidenceStore,
    StoredBlob,
    check_sha256,
    spool,
)
from duban.services.evidence_type import sniff_content_type
from duban.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)
_T = TypeVar("_T")
# A download larger than this is spooled to a temporary file instead of memory.
SPOOL_IN_MEMORY = 8 * 1024 * 1024
MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
# Fail fast when the store is down: a request must not hang on it.
CLIENT_CONFIG = Config(
    connect_timeout=3, read_timeout=30, retries={"max_attempts": 2, "mode": "standard"}
)


class EvidenceStoreUnavailable(Unavailable):
    """The object store did not answer or refused the request: nothing was stored or read."""

    code = "evidence_store_unavailable"


def _unavailable(exc: Exception) -> EvidenceStoreUnavailable:
    log.warning("evidence store unavailable: %s", str(exc).splitlines()[0] if str(exc) else exc)
    return EvidenceStoreUnavailable(
        "证据存储暂不可用，请稍后重试 / the evidence store is unavailable, try again later"
    )


def _missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code", "")) in MISSING_CODES


class S3EvidenceStore:
    """Content-addressed, immutable evidence objects in one bucket."""

    def __init__(
        self, client: S3Client, bucket: str, *, prefix: str = "evidence/", max_bytes: int
    ) -> None:
        """Keep the client, bucket, key prefix and the per-file size limit."""
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.max_bytes = max_bytes

    def key_of(self, sha256: str) -> str:
        """Return the object key of the file with this hash."""
        check_sha256(sha256)
        return f"{self.prefix}{sha256[:2]}/{sha256}"

    def _call(self, action: Callable[[], _T]) -> _T:
        """Run one S3 request; an unreachable or refusing store becomes EvidenceStoreUnavailable."""
        try:
            return action()
        except ClientError as exc:
            if _missing(exc):
                raise
            raise _unavailable(exc) from exc
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc

    def check_ready(self) -> None:
        """Ask the store for the bucket (HEAD); down, refusing or missing: EvidenceStoreUnavailable."""
        try:
            self._call(lambda: self.client.head_bucket(Bucket=self.bucket))
        except ClientError as exc:  # a missing bucket gets past _call: not ready either
            raise _unavailable(exc) from exc

    def exists(self, sha256: str) -> bool:
        """Tell whether the object of this hash is in the bucket."""
        key = self.key_of(sha256)
        try:
            self._call(lambda: self.client.head_object(Bucket=self.bucket, Key=key))
        except ClientError:  # only "missing" gets past _call
            return False
        return True

    def put(self, source: BinaryIO, *, filename: str) -> StoredBlob:
        """Hash and check the stream in a temp file, then send it unless the bucket has it."""
        with _temp_file() as temp:
            sha256, size = spool(source, temp, max_bytes=self.max_bytes)
            content_type = sniff_content_type(temp, filename)
            if not self.exists(sha256):
                self._upload(temp, sha256, size, content_type)
        return StoredBlob(sha256=sha256, size=size, content_type=content_type)

    def _upload(self, temp: Path, sha256: str, size: int, content_type: str) -> None:
        key = self.key_of(sha256)
        with temp.open("rb") as body:
            self._call(
                lambda: self.client.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=body,
                    ContentLength=size,
                    ContentType=content_type,
                    Metadata={"sha256": sha256},
                )
            )

    def open_verified(self, sha256: str) -> BinaryIO:
        """Fetch the object into a spooled temp file, re-hash it, and return it rewound."""
        key = self.key_of(sha256)
        try:
            response = self._call(lambda: self.client.get_object(Bucket=self.bucket, Key=key))
        except ClientError as exc:
            raise NotFound("证据文件不存在。") from exc
        handle = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 (returned)
        digest = hashlib.sha256()
        try:
            body = response["Body"]
            while chunk := self._call(lambda: body.read(CHUNK)):
                digest.update(chunk)
                handle.write(chunk)
        except BaseException:
            handle.close()
            raise
        if digest.hexdigest() != sha256:
            handle.close()
            raise EvidenceCorrupt("证据文件校验失败（内容与登记的 SHA-256 不符），已拒绝下载。")
        handle.seek(0)
        return cast(BinaryIO, handle)

    def local_path(self, sha256: str) -> Path | None:
        """None: the bucket is not on this machine's disk (read it through `open_verified`)."""
        return None


@contextmanager
def _temp_file() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="duban-upload-") as folder:
        yield Path(folder) / "upload.part"


def s3_client(settings: Settings) -> S3Client:
    """Return a boto3 S3 client for DUBAN_S3_ENDPOINT (path-style addressing for MinIO)."""
    config = CLIENT_CONFIG.merge(Config(s3={"addressing_style": "path"}))
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key,
        config=config,
    )


def object_store(settings: Settings) -> S3EvidenceStore | None:
    """Return the S3 store when DUBAN_S3_BUCKET is set, else None (evidence in the data dir)."""
    if not settings.s3_bucket:
        return None
    return S3EvidenceStore(
        s3_client(settings),
        settings.s3_bucket,
        prefix=settings.s3_prefix,
        max_bytes=settings.max_upload_bytes,
    )


def evidence_store_for(settings: Settings) -> BlobStore:
    """Return the S3 store when DUBAN_S3_BUCKET is set, else the folder in the data dir."""
    store = object_store(settings)
    if store is not None:
        return store
    return EvidenceStore(settings.evidence_dir, max_bytes=settings.max_upload_bytes)
