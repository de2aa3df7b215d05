"""The `duban` console script: a thin composition root over parsing, import, worker, web and dev."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from duban.settings import get_settings

app = typer.Typer(help="督办 duban — policy tasks as durable workflows", no_args_is_help=True)
policy_app = typer.Typer(help="Parse and import policy documents", no_args_is_help=True)
app.add_typer(policy_app, name="policy")

FileArg = Annotated[Path, typer.Argument(help="policy document (.txt, UTF-8 or GB18030)")]


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
    from duban.importer import read_or_fail

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
    from duban.importer import import_command

    import_command(get_settings(), file, key=key, start=start, fail=fail)


@app.command()
def worker() -> None:
    """Run the Temporal worker and the periodic-job scheduler."""
    from duban.worker import main as worker_main

    worker_main(get_settings())


@app.command()
def web(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
) -> None:
    """Serve the web app and the JSON API."""
    import uvicorn

    from web.app import create_app
    from web.serving import server_config

    uvicorn.Server(server_config(create_app(get_settings()), host=host, port=port)).run()


@app.command()
def dev(
    port: Annotated[int, typer.Option(help="web port")] = 8000,
) -> None:
    """Run everything on one machine: Temporal dev server, worker, web, bundled policy."""
    from duban.dev import main as dev_main

    dev_main(get_settings(), port=port)


def main() -> None:
    """Entry point of the console script."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
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
