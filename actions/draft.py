"""Intake actions shared by the draft pages and the API: reading uploads, publishing and starting."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from actions.clients import LazyTemporal
from actions.starter import StartReport, start_policy
from duban.errors import TooLarge
from duban.models import User
from duban.services.draft import (
    MAX_DOCUMENT_BYTES,
    Actor,
    Published,
    announce,
    document_text,
    publish_draft,
)
from duban.settings import Settings

CHUNK = 64 * 1024


@dataclass(frozen=True)
class PublishOutcome:
    """The published draft and what starting its workflows did."""

    published: Published
    report: StartReport


def actor_of(user: User) -> Actor:
    """Return the change-log actor of a signed-in user."""
    return Actor(user_id=user.id, label=user.display_name or user.username)


def document_limit(settings: Settings) -> int:
    """Return the largest document accepted: the upload limit, at most 5 MB of text."""
    return min(settings.max_upload_bytes, MAX_DOCUMENT_BYTES)


async def read_upload(upload: UploadFile, settings: Settings) -> tuple[str, str]:
    """Return (text, file name) of an uploaded document, reading no more than the limit."""
    limit = document_limit(settings)
    data = bytearray()
    while chunk := await upload.read(CHUNK):
        data += chunk
        if len(data) > limit:
            raise TooLarge(f"文件过大：超过上限 {limit // 1024} KB")
    name = upload.filename or "上传文件"
    text = await run_in_threadpool(document_text, bytes(data), filename=name, max_bytes=limit)
    return text, name


@dataclass(frozen=True)
class Intake:
    """What publishing needs: the Temporal client, two kinds of sessions and the settings.

    `import_factory` sessions see assignments still pending their start, as the CLI's do; the
    web's own sessions (`session_factory`) hide them (duban.services.policy.hide_pending_starts).
    Importing and starting must see them, or a version would be synced and started against
    half a list.
    """

    temporal: LazyTemporal
    import_factory: sessionmaker[Session]
    session_factory: sessionmaker[Session]
    settings: Settings


def _publish_committed(
    factory: sessionmaker[Session], draft_id: int, lock_version: int | None, actor: Actor
) -> Published:
    with factory.begin() as session:
        return publish_draft(
            session=session, draft_id=draft_id, lock_version=lock_version, actor=actor
        )


async def publish_and_start(
    intake: Intake, *, draft_id: int, lock_version: int | None, user: User
) -> PublishOutcome:
    """Publish once (its own transaction, committed) and start the workflows the CLI way."""
    await intake.temporal.get()  # Temporal down: 503 before anything is stored
    published = await run_in_threadpool(
        _publish_committed, intake.import_factory, draft_id, lock_version, actor_of(user)
    )
    report = await start_workflows(intake, published.policy_key)
    # Announced once started, through the web's own sessions: they see started assignments only.
    await run_in_threadpool(_announce, intake.session_factory, published)
    return PublishOutcome(published, report)


def _announce(factory: sessionmaker[Session], published: Published) -> None:
    with factory.begin() as session:
        announce(session=session, published=published)


async def start_workflows(intake: Intake, policy_key: str) -> StartReport:
    """Start (or resume starting) a policy's task workflows; idempotent."""
    client = await intake.temporal.get()
    return await start_policy(
        client,
        session_factory=intake.import_factory,
        settings=intake.settings,
        policy_key=policy_key,
    )
