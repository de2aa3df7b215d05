"""`duban policy import`: read, parse and store a document in one transaction, then start its workflows."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from duban.db import make_engine, make_session_factory
from duban.errors import DomainError
from duban.services.policy import ImportResult, ItemCallback
from duban.settings import Settings
from policies.model import ParsedPolicy, PolicyParseError

if TYPE_CHECKING:
    from actions.starter import StartReport

log = logging.getLogger(__name__)
MAX_DOCUMENT_BYTES = (
    32 * 1024 * 1024
)  # PDFs and .docx carry fonts and images; text is bounded apart
Fail = Callable[[str], None]


def load_document(path: Path) -> tuple[ParsedPolicy, str]:
    """Read and parse a policy file; raise PolicyParseError with one line if it is unusable."""
    from policies.decode import read_policy_file
    from policies.parse import parse_text

    text = read_policy_file(path, max_bytes=MAX_DOCUMENT_BYTES)
    parsed = parse_text(text)
    if not parsed.items:
        raise PolicyParseError(f"未找到任何编号条目 / no numbered items found: {path}")
    return parsed, text


def store_document(
    session_factory: sessionmaker[Session],
    parsed: ParsedPolicy,
    text: str,
    source_name: str,
    *,
    key: str | None = None,
    on_item: ItemCallback | None = None,
) -> ImportResult:
    """Store a document in ONE transaction as a draft published at once (the web's path too).

    The CLI operator accepts the parser's doubts by importing; a text already current
    leaves no draft behind, so importing it twice changes nothing.
    """
    from duban.services.draft import Actor, create_draft, publish_draft

    cli = Actor(user_id=None, label="cli")
    with session_factory.begin() as session:
        savepoint = session.begin_nested()
        draft = create_draft(
            session=session,
            text=text,
            source_name=source_name,
            actor=cli,
            policy_key=key,
            parsed=parsed,
        )
        published = publish_draft(
            session=session,
            draft_id=draft.id,
            lock_version=None,
            actor=cli,
            accept_doubts=True,
            on_item=on_item,
        )
        if not published.result.changed:
            savepoint.rollback()
        return published.result


def import_path(
    session_factory: sessionmaker[Session], path: Path, *, key: str | None = None
) -> ImportResult:
    """Parse and store the file at `path` (the schema must already be migrated)."""
    parsed, text = load_document(path)
    return store_document(session_factory, parsed, text, path.name, key=key)


def summary(result: ImportResult) -> str:
    """Return the one-line Chinese summary of an import."""
    if not result.changed:
        return (
            f"政策 {result.policy_key} 未变化（第 {result.version} 版），未做任何修改 (unchanged)"
        )
    line = (
        f"已导入政策 {result.policy_key} 第 {result.version} 版：条目 {result.items} 项，"
        f"任务 {result.tasks} 项，分工 {result.assignments} 个，涉及部门 {result.departments} 个"
    )
    if result.version > 1:
        line += (
            f"；新增分工 {result.added_assignments} 个，撤销分工 {result.removed_assignments} 个"
        )
    if result.unknown_units:
        line += f"；未登记单位 {len(result.unknown_units)} 个：{'、'.join(result.unknown_units)}"
    return line


@contextmanager
def progress_bar(total: int) -> Iterator[ItemCallback]:
    """Yield a per-item callback that advances a progress bar on stderr when it is a terminal."""
    console = Console(stderr=True)
    shown = console.is_terminal
    columns = (TextColumn("导入条目"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True, disable=not shown) as progress:
        task = progress.add_task("import", total=total)
        yield lambda _item: progress.advance(task)


def _fail_hard(fail: Fail, message: str) -> NoReturn:
    fail(message)
    raise typer.Exit(2)  # in case `fail` returns


def _db_message(exc: SQLAlchemyError) -> str:
    first = _first_line(getattr(exc, "orig", None) or exc)
    return f"数据库错误，未写入任何内容 / database error, nothing stored: {first}"


def _migrated_engine(settings: Settings) -> Engine:
    # Alembic logs its plugin set-up at INFO on import; a CLI run keeps stderr for real problems.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from duban.migrate import upgrade

    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.sqlalchemy_url)
    upgrade(engine)
    return engine


def read_or_fail(path: Path, fail: Fail) -> tuple[ParsedPolicy, str]:
    """Load a document for the CLI; any problem becomes one line through `fail`."""
    try:
        return load_document(path)
    except PolicyParseError as exc:
        _fail_hard(fail, _first_line(exc))
    except Exception as exc:
        log.debug("parsing %s failed", path, exc_info=True)
        _fail_hard(
            fail, f"无法解析文件 / cannot parse {path}: {type(exc).__name__}: {_first_line(exc)}"
        )


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def import_command(
    settings: Settings, path: Path, *, key: str | None, start: bool, fail: Fail
) -> None:
    """Run `duban policy import`: parse, migrate, store in one transaction, print, start workflows."""
    parsed, text = read_or_fail(path, fail)
    engine: Engine | None = None
    try:
        engine = _migrated_engine(settings)
        session_factory = make_session_factory(engine)
        with progress_bar(len(parsed.items)) as on_item:
            result = store_document(
                session_factory, parsed, text, path.name, key=key, on_item=on_item
            )
        typer.echo(summary(result))
        if start:
            _start(settings, session_factory, result, fail)
    except DomainError as exc:
        _fail_hard(fail, exc.message)
    except SQLAlchemyError as exc:
        _fail_hard(fail, _db_message(exc))
    finally:
        if engine is not None:
            engine.dispose()


def _start(
    settings: Settings, session_factory: sessionmaker[Session], result: ImportResult, fail: Fail
) -> None:
    """Start the policy's workflows, or say clearly why they were not started."""
    if not settings.temporal_address:
        typer.echo(
            "未启动工作流：未设置 TEMPORAL_ADDRESS，分工在工作流启动前不会显示"
            "（请使用 duban dev，或设置 TEMPORAL_ADDRESS 后重新导入）"
            " / workflows not started: TEMPORAL_ADDRESS is unset; nothing shows until they start"
        )
        return
    try:
        report = asyncio.run(_start_async(settings, session_factory, result.policy_key))
    except Exception as exc:
        log.debug("starting workflows failed", exc_info=True)
        _fail_hard(
            fail,
            "政策已保存，但启动工作流失败，分工在启动前不会显示（重新导入或等待对账任务启动）"
            f" / stored, not shown until its workflows start: {_first_line(exc)}",
        )
    typer.echo(
        f"工作流：新启动 {report.started} 个，已在运行 {report.already_running} 个，"
        f"通知新版本 {report.signalled} 个 / workflows started: {report.started}"
    )


async def _start_async(
    settings: Settings, session_factory: sessionmaker[Session], policy_key: str
) -> StartReport:
    from actions.starter import start_policy
    from actions.temporal import connect

    client = await connect(settings)
    return await start_policy(
        client, session_factory=session_factory, settings=settings, policy_key=policy_key
    )
