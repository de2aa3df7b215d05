"""Policy drafts: an upload read and parsed, checked by a clerk, then published (交办) once through the import."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from duban.db import utcnow
from duban.errors import Conflict, Invalid, NotFound, TooLarge
from duban.models import Policy, PolicyDraft, PolicyDraftChange, PolicyItem, PolicyVersion
from duban.services.department import sync_departments
from duban.services.draft_cadence import published_cadences
from duban.services.draft_json import draft_json, open_doubts, parsed_from_json
from duban.services.draft_notify import assignment_ids, notify_new_assignments
from duban.services.orgtree import sync_tree
from duban.services.policy import (
    ImportResult,
    ItemCallback,
    content_sha256,
    import_policy,
    policy_key_from_name,
)
from policies.formats import extract_text
from policies.model import ParsedPolicy, PolicyParseError

DRAFT, PUBLISHED = "draft", "published"
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
# What policies.formats reads, plus the Word/WPS files it explains how to convert.
READ_SUFFIXES = frozenset(
    {".txt", ".text", ".docx", ".pdf", ".html", ".htm", ".shtml", ".xhtml", ".mht", ".mhtml"}
)
EXPLAINED_SUFFIXES = frozenset({".doc", ".wps", ".rtf", ".odt", ".ofd"})
SUFFIX_HINT = ".txt、.docx、.pdf、.html"


@dataclass(frozen=True)
class Actor:
    """Who changes a draft: a signed-in user, or a label such as `cli`."""

    user_id: int | None
    label: str


@dataclass(frozen=True)
class Published:
    """What publishing a draft stored: the policy, its version, and the import's numbers."""

    draft_id: int
    policy_id: int
    policy_key: str
    version: int
    result: ImportResult
    # The policy's assignments before publishing: the rest are new, to announce once started.
    before: frozenset[int] = frozenset()


def document_text(data: bytes, *, filename: str, max_bytes: int = MAX_DOCUMENT_BYTES) -> str:
    """Return the text of an uploaded document; refuse oversized, unsupported and textless files."""
    if len(data) > max_bytes:
        raise TooLarge(f"文件过大：{len(data)} 字节，上限 {max_bytes} 字节")
    suffix = PurePath(filename or "").suffix.lower()
    if suffix not in READ_SUFFIXES | EXPLAINED_SUFFIXES:
        raise Invalid(f"不支持的文件类型“{suffix or filename}”：请上传 {SUFFIX_HINT} 文件")
    try:
        text = extract_text(data, name=filename)
    except (PolicyParseError, ValueError) as exc:
        raise Invalid(_first_line(exc)) from exc
    if not text.strip():
        raise Invalid("文件中没有可读取的文字（扫描版 PDF 请先识别为文字后再上传）")
    return text


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def create_draft(
    *,
    session: Session,
    text: str,
    source_name: str,
    actor: Actor,
    policy_key: str | None = None,
    base_policy_id: int | None = None,
    parsed: ParsedPolicy | None = None,
) -> PolicyDraft:
    """Parse a text into a new draft (nothing starts); amend a policy when `base_policy_id` is set."""
    from policies.parse import parse_text

    if not text.strip():
        raise Invalid("文档为空：请上传或粘贴政策文件全文")
    try:
        parsed = parsed or parse_text(text)
    except PolicyParseError as exc:
        raise Invalid(_first_line(exc)) from exc
    if not parsed.items:
        raise Invalid("未在文档中找到任何编号条目（如“（一）”“1.”），无法分解任务")
    if base_policy_id is not None:
        base = session.get(Policy, base_policy_id)
        if base is None:
            raise NotFound(f"政策 {base_policy_id} 不存在")
        policy_key = base.key
    if not source_name and policy_key is None:
        # Pasted texts share no file name, so each is keyed by its content, not merged as versions.
        policy_key = "pasted-" + content_sha256(text)[:12]
    data = draft_json(parsed)
    if base_policy_id is not None:
        data["first_new_key"] = _first_new_key(session, base_policy_id)
    draft = PolicyDraft(
        source_name=(source_name or "粘贴文本.txt")[-255:],
        source_text=text,
        parsed=data,
        corrected=data,
        policy_key=policy_key,
        base_policy_id=base_policy_id,
        created_by_id=actor.user_id,
    )
    session.add(draft)
    session.flush()
    summary = f"上传“{draft.source_name}”：条目 {len(parsed.items)} 项，任务 {len(parsed.tasks)} 项"
    log_change(session=session, draft=draft, actor=actor, action="created", summary=summary)
    return draft


def _first_new_key(session: Session, policy_id: int) -> int:
    """Return a task number no version of the policy used: where an amendment's split parts start."""
    used = session.scalar(
        select(func.max(PolicyItem.number))
        .join(PolicyVersion)
        .where(PolicyVersion.policy_id == policy_id)
    )
    return int(used or 0) + 1


def get_draft(*, session: Session, draft_id: int) -> PolicyDraft:
    """Return a draft or raise NotFound."""
    draft = session.get(PolicyDraft, draft_id)
    if draft is None:
        raise NotFound(f"草稿 {draft_id} 不存在")
    return draft


def list_drafts(*, session: Session, status: str = DRAFT) -> list[PolicyDraft]:
    """Return the drafts of a status, newest first."""
    stmt = select(PolicyDraft).where(PolicyDraft.status == status)
    return list(session.scalars(stmt.order_by(PolicyDraft.id.desc())))


def log_change(
    *,
    session: Session,
    draft: PolicyDraft,
    actor: Actor,
    action: str,
    summary: str,
    data: dict[str, Any] | None = None,
) -> None:
    """Append who changed what to the draft's change log."""
    session.add(
        PolicyDraftChange(
            draft_id=draft.id,
            actor_id=actor.user_id,
            actor_label=actor.label[:100],
            action=action,
            summary=summary[:500],
            data=data or {},
        )
    )
    session.flush()


def _refusal(draft: PolicyDraft, lock_version: int | None, *, publishing: bool) -> Conflict:
    """Say why a draft cannot be changed now: published already, or changed since it was read."""
    if draft.status == PUBLISHED:
        if publishing:
            return Conflict(
                f"草稿 {draft.id} 已于此前交办（第 {draft.published_version} 版），不能重复交办"
            )
        return Conflict(f"草稿 {draft.id} 已交办，不能再修改；如需调整请上传修订稿")
    who = draft.changes[-1].actor_label if draft.changes else "他人"
    return Conflict(
        f"草稿已被 {who} 修改（您看到的是第 {lock_version} 版，当前为第 {draft.lock_version} 版），"
        "为避免覆盖，本次修改未保存；请刷新后再改"
    )


@contextmanager
def all_or_nothing(session: Session) -> Iterator[None]:
    """Run a step in a savepoint; on a refusal undo it and drop what was read inside it."""
    try:
        with session.begin_nested():
            yield
    except Exception:
        session.expire_all()  # objects refreshed inside the savepoint may show what was undone
        raise


def claim_draft(
    *, session: Session, draft_id: int, lock_version: int | None, publishing: bool = False
) -> PolicyDraft:
    """Take the next lock version in one conditional UPDATE, so two clerks cannot both win (409)."""
    stmt = update(PolicyDraft).where(PolicyDraft.id == draft_id, PolicyDraft.status == DRAFT)
    if lock_version is not None:
        stmt = stmt.where(PolicyDraft.lock_version == lock_version)
    stmt = stmt.values(lock_version=PolicyDraft.lock_version + 1, updated_at=utcnow())
    claimed = session.execute(stmt.execution_options(synchronize_session=False))
    draft = get_draft(session=session, draft_id=draft_id)
    session.refresh(draft)
    if getattr(claimed, "rowcount", 0) != 1:
        raise _refusal(draft, lock_version, publishing=publishing)
    return draft


def publish_draft(
    *,
    session: Session,
    draft_id: int,
    lock_version: int | None,
    actor: Actor,
    accept_doubts: bool = False,
    on_item: ItemCallback | None = None,
) -> Published:
    """Store the corrected decomposition as the policy's version through the import, once only."""
    with all_or_nothing(session):  # a refusal leaves the lock as it was
        draft = claim_draft(
            session=session, draft_id=draft_id, lock_version=lock_version, publishing=True
        )
        doubts = open_doubts(draft.corrected)
        if doubts and not accept_doubts:
            raise Conflict(f"还有 {len(doubts)} 个疑点未处理：请逐一修正或确认无误后再交办")
        parsed = parsed_from_json(draft.corrected)
        if not parsed.tasks:
            raise Invalid("草稿中没有任何任务（没有条目列出责任单位），无法交办")
    from policies.orgtree import load_tree
    from policies.units import load_registry

    sync_departments(session=session, registry=load_registry())
    sync_tree(session=session, nodes=load_tree())
    key = draft.policy_key or policy_key_from_name(draft.source_name)
    before = assignment_ids(session=session, policy_key=key)
    result = import_policy(
        session=session,
        parsed=parsed,
        source_text=draft.source_text,
        source_name=draft.source_name,
        key=draft.policy_key,
        on_item=on_item,
    )
    if result.changed:
        _record_cadence(session, result, published_cadences(draft.corrected, draft.cadence))
    _mark_published(session, draft, result, actor)
    return Published(
        draft.id, result.policy_id, result.policy_key, result.version, result, frozenset(before)
    )


def announce(*, session: Session, published: Published) -> int:
    """Tell each department's staff and head of the assignments this publishing gave them."""
    return notify_new_assignments(
        session=session, policy_id=published.policy_id, before=published.before
    )


def _record_cadence(session: Session, result: ImportResult, cadences: dict[str, Any]) -> None:
    """Keep the chosen reporting cadences on the version, where the workflow starter reads them."""
    version = session.scalars(
        select(PolicyVersion).where(
            PolicyVersion.policy_id == result.policy_id, PolicyVersion.version == result.version
        )
    ).one()
    version.parsed = {**version.parsed, **cadences}
    session.flush()


def _mark_published(
    session: Session, draft: PolicyDraft, result: ImportResult, actor: Actor
) -> None:
    draft.status = PUBLISHED
    draft.policy_key = result.policy_key
    draft.published_policy_id = result.policy_id
    draft.published_version = result.version
    draft.published_at = utcnow()
    summary = (
        f"交办为政策 {result.policy_key} 第 {result.version} 版：任务 {result.tasks} 项，"
        f"分工 {result.assignments} 个"
        if result.changed
        else f"与政策 {result.policy_key} 第 {result.version} 版相同，未产生新版本"
    )
    log_change(session=session, draft=draft, actor=actor, action="published", summary=summary)
