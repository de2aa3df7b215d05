"""The `duban` console script: a thin composition root over parsing, import, worker, web and dev."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from duban.logs import chosen_format, configure_logging
from duban.settings import get_settings

app = typer.Typer(help="督办 duban — policy tasks as durable workflows", no_args_is_help=True)
policy_app = typer.Typer(help="Parse and import policy documents", no_args_is_help=True)
app.add_typer(policy_app, name="policy")
audit_app = typer.Typer(help="The tamper-evident audit trail", no_args_is_help=True)
app.add_typer(audit_app, name="audit")

_T = TypeVar("_T")
FileArg = Annotated[
    Path,
    typer.Argument(
        help="policy document: .txt (UTF-8 or GB18030, legal-database exports too), .docx, "
        "text-layer .pdf or .html"
    ),
]


def fail(message: str) -> None:
    """Print one clear line on stderr and exit non-zero."""
    typer.echo(f"duban: {message}", err=True)
    raise typer.Exit(2)


@policy_app.command("parse")
def policy_parse(
    file: FileArg,
    as_json: Annotated[bool, typer.Option("--json", help="print the contract JSON")] = False,
) -> None:
    """Parse FILE and print it; changes nothing."""
    from cli.importer import read_or_fail

    parsed, _text = read_or_fail(file, fail)
    if as_json:
        typer.echo(json.dumps(parsed.to_json(), ensure_ascii=False, indent=2))
        return
    typer.echo(f"{parsed.title}  ({parsed.issued or '—'})")
    for item in parsed.items:
        units = "、".join(u.name for u in item.units)
        typer.echo(f"  ({item.number}) {item.title}" + (f"  [{units}]" if units else ""))


@policy_app.command("import")
def policy_import(
    file: FileArg,
    key: Annotated[str | None, typer.Option(help="policy key used in workflow ids")] = None,
    start: Annotated[bool, typer.Option(help="start the task workflows")] = True,
) -> None:
    """Store FILE as a policy (or a new version of it) and start its workflows."""
    from cli.importer import import_command

    import_command(get_settings(), file, key=key, start=start, fail=fail)


@app.command()
def worker() -> None:
    """Run the Temporal worker and the periodic-job scheduler."""
    from cli.worker import main as worker_main

    worker_main(get_settings())


@app.command()
def web(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
) -> None:
    """Serve the web app and the JSON API (needs DUBAN_SECRET_KEY: replicas share it)."""
    from web.app import create_app
    from web.serving import Server, server_config

    settings = get_settings()
    problem = settings.secret_key_problem()
    if problem:
        fail(problem)
    Server(server_config(create_app(settings), host=host, port=port)).run()


@app.command()
def dev(
    port: Annotated[int, typer.Option(help="web port")] = 8000,
) -> None:
    """Run everything on one machine: Temporal dev server, worker, web, bundled policy."""
    from cli.dev import main as dev_main

    configure_logging(chosen_format("console"))
    dev_main(get_settings(), port=port)


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the audit chain; exit 0 when intact, else name the first broken event and exit 1."""
    from sqlalchemy.exc import SQLAlchemyError

    from duban.db import make_engine, make_session_factory
    from duban.services.audit import verify_chain

    engine = make_engine(get_settings().sqlalchemy_url)
    try:
        with make_session_factory(engine)() as session:
            report = verify_chain(session=session)
    except SQLAlchemyError as exc:
        fail(f"无法读取审计记录 / cannot read the audit trail: {type(exc).__name__}")
    finally:
        engine.dispose()
    if report.intact:
        typer.echo(
            f"审计链完整 / audit chain intact: {report.checked} events, head {report.head.hash}"
        )
        return
    where = f"event #{report.broken_seq}" + (
        f" (id {report.broken_id})" if report.broken_id else ""
    )
    typer.echo(f"duban: 审计链断裂 / audit chain broken at {where}: {report.reason}", err=True)
    raise typer.Exit(1)


@app.command()
def backup(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="archive to write (.tar.gz)")
    ] = None,
) -> None:
    """Write one archive of the read model, evidence files and the Temporal store."""
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO lines are not news here
    logging.getLogger("duban.services.evidence_s3").setLevel(logging.ERROR)  # one line says it
    from duban.db import make_engine, utcnow
    from duban.services.backup import create_backup
    from duban.services.evidence_s3 import object_store

    settings = get_settings()
    now = utcnow()
    target = output or Path(f"duban-backup-{now:%Y%m%dT%H%M%SZ}.tar.gz")
    engine = make_engine(settings.sqlalchemy_url)
    try:
        result = _refusing(
            lambda: create_backup(
                engine=engine,
                data_dir=settings.data_dir,
                output=target,
                now=now,
                store=object_store(settings),
            )
        )
    finally:
        engine.dispose()
    rows = sum(result.rows.values())
    typer.echo(
        f"备份完成 / backup written: {result.path} (revision {result.revision}, {rows} rows, "
        f"{result.evidence} evidence files, Temporal store {'yes' if result.temporal else 'no'})"
    )
    if result.evidence_missing:
        typer.echo(
            f"duban: 警告 / warning: {len(result.evidence_missing)} 个证据文件缺失或损坏，未备份: "
            + ", ".join(result.evidence_missing[:5]),
            err=True,
        )


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(help="archive written by `duban backup`")],
) -> None:
    """Restore FILE onto an empty data dir and database (refuses anything else)."""
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO lines are not news here
    logging.getLogger("duban.services.evidence_s3").setLevel(logging.ERROR)  # one line says it
    from duban.db import make_engine
    from duban.services.evidence_s3 import object_store
    from duban.services.restore import restore_backup

    settings = get_settings()
    engine = make_engine(settings.sqlalchemy_url)
    try:
        result = _refusing(
            lambda: restore_backup(
                archive=file,
                engine=engine,
                data_dir=settings.data_dir,
                store=object_store(settings),
            )
        )
    finally:
        engine.dispose()
    typer.echo(
        f"恢复完成 / restored: revision {result.revision}, {sum(result.rows.values())} rows, "
        f"{result.evidence} evidence files, Temporal store {'yes' if result.temporal else 'no'}; "
        f"audit chain {'intact' if result.chain.intact else 'BROKEN'}: {result.chain.checked} events"
    )
    if not result.chain.intact:  # restored faithfully: the break was in the backed-up database
        typer.echo(
            f"duban: 警告 / warning: 审计链在事件 #{result.chain.broken_seq} 处断裂："
            f"{result.chain.reason}",
            err=True,
        )


def _refusing(action: Callable[[], _T]) -> _T:
    """Run a backup or restore step; a refusal or a database error becomes one clear line."""
    from sqlalchemy.exc import SQLAlchemyError

    from duban.errors import DomainError

    try:
        return action()
    except DomainError as exc:
        fail(exc.message)
    except SQLAlchemyError as exc:
        fail(f"数据库错误 / database error: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    except OSError as exc:
        fail(f"文件错误 / file error: {exc}")
    raise AssertionError("unreachable")


def main() -> None:
    """Entry point of the console script."""
    configure_logging(chosen_format("json"))  # `duban dev` switches to console lines
    try:
        app()
    except KeyboardInterrupt:
        _exit(130)
    except SystemExit as done:
        _exit(done.code)
    _exit(0)


def _exit(code: int | str | None) -> None:
    """Exit with `code`; skip interpreter teardown once Temporal's Rust core was loaded.

    The core's Tokio threads can outlive the event loop and abort CPython's finalization
    ("PyGILState_Release ... finalizing", temporalio/sdk-python#300), turning a finished
    command into exit -6. Everything is flushed first, so nothing is lost by `os._exit`.
    """
    if isinstance(code, str):
        print(code, file=sys.stderr)  # noqa: T201  (what sys.exit would print)
        code = 1
    if "temporalio.bridge.temporal_sdk_bridge" not in sys.modules:
        sys.exit(code)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)
