"""`duban dev`: Temporal dev server, worker, scheduler and web in one process, with the bundled policy."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import typer
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

import policies
from actions.starter import start_policy
from actions.temporal import connect
from cli.devserver import DEFAULT_PORT, free_port, port_is_free, running_dev_server
from cli.importer import import_path, summary
from cli.worker import running_worker, stop_on_signals
from duban.db import make_engine, make_session_factory
from duban.migrate import upgrade
from duban.services.user import ensure_admin, seed_demo_users
from duban.settings import Settings
from web.app import create_app
from web.serving import Server, server_config

log = logging.getLogger(__name__)

BUNDLED_POLICY = (
    Path(policies.__file__).resolve().parent / "jilin-2021-consolidation-revitalization.txt"
)
TEMPORAL_DB_NAME = "temporal.sqlite3"
UI_PORT = 8233
DEMO_NAMES_SHOWN = 6


@dataclass
class DevOptions:
    """Knobs of the embedded stack; tests use free ports and no UI."""

    port: int = 8000
    host: str = "127.0.0.1"
    temporal_port: int | None = DEFAULT_PORT
    ui_port: int | None = UI_PORT
    policy: Path | None = BUNDLED_POLICY
    messages: list[str] = field(default_factory=list)


class _EmbeddedServer(Server):
    """duban web's server without uvicorn's signal handling: `duban dev` stops every part itself."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Leave SIGINT/SIGTERM to the loop handler installed by `serve`."""
        yield


def say(options: DevOptions, line: str) -> None:
    """Show one line to the person at the terminal (and keep it for tests)."""
    options.messages.append(line)
    typer.echo(line)


def bootstrap(
    settings: Settings, factory: sessionmaker[Session], options: DevOptions
) -> str | None:
    """Create the admin, import the bundled policy and seed demo users; return the policy key."""
    with factory.begin() as session:
        _, password = ensure_admin(session=session, password=settings.admin_password)
    if password:
        say(options, f"首个管理员：admin / {password}（仅显示这一次，请妥善保存）")
    key = None
    if options.policy is not None:
        result = import_path(factory, options.policy)
        say(options, summary(result))
        key = result.policy_key
    with factory.begin() as session:
        created = seed_demo_users(session=session)
    if created:
        # The office accounts first; department ones are `<code>-staff` and `<code>-head`.
        names = sorted((name for name, _ in created), key=lambda name: "-" in name)
        shown = "、".join(names[:DEMO_NAMES_SHOWN]) + (
            "等" if len(names) > DEMO_NAMES_SHOWN else ""
        )
        say(options, f"已创建演示用户 {len(created)} 个（密码 duban-demo）：{shown}")
    return key


@asynccontextmanager
async def temporal_address(settings: Settings, options: DevOptions) -> AsyncIterator[str]:
    """Yield TEMPORAL_ADDRESS, or start an embedded dev server on the data dir for the block."""
    if settings.temporal_address:
        yield settings.temporal_address
        return
    db_file = settings.data_dir / TEMPORAL_DB_NAME
    async with running_dev_server(
        db_file=db_file, port=options.temporal_port, ui_port=options.ui_port
    ) as server:
        say(options, f"Temporal 开发服务器：{server.address}（数据：{db_file}）")
        yield server.address


def _port_or_another(port: int, host: str, what: str, options: DevOptions) -> int:
    """Return `port` when free, else a free one, saying so (another program may hold 8000)."""
    if port_is_free(port, host):
        return port
    chosen = free_port(host)
    say(options, f"端口 {port} 已被占用，{what}改用端口 {chosen}")
    return chosen


def choose_ports(settings: Settings, options: DevOptions) -> None:
    """Move the web, Temporal and UI ports off ports that are taken, in place."""
    options.port = _port_or_another(options.port, options.host, "网页", options)
    if settings.temporal_address is None and options.temporal_port is not None:
        options.temporal_port = _port_or_another(
            options.temporal_port, "127.0.0.1", "Temporal 开发服务器", options
        )
    if options.ui_port is not None and not port_is_free(options.ui_port):
        say(options, f"端口 {options.ui_port} 已被占用，本次不启动 Temporal 网页界面")
        options.ui_port = None


async def serve(settings: Settings, options: DevOptions, stop: asyncio.Event) -> None:
    """Run the whole stack until `stop` is set or the web server exits."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    choose_ports(settings, options)
    async with AsyncExitStack() as stack:
        address = await stack.enter_async_context(temporal_address(settings, options))
        settings = settings.model_copy(update={"temporal_address": address})
        engine = make_engine(settings.sqlalchemy_url)
        stack.callback(engine.dispose)
        await asyncio.to_thread(upgrade, engine)
        factory = make_session_factory(engine)
        key = await asyncio.to_thread(bootstrap, settings, factory, options)
        client = await connect(settings)
        await stack.enter_async_context(running_worker(client, settings, factory))
        if key is not None:
            report = await start_policy(
                client, session_factory=factory, settings=settings, policy_key=key
            )
            say(
                options, f"工作流：新启动 {report.started} 个，已在运行 {report.already_running} 个"
            )
        app = create_app(settings, temporal_client=client, dev_mode=True)
        await run_web(app, options, stop)


async def run_web(app: FastAPI, options: DevOptions, stop: asyncio.Event) -> None:
    """Serve the web app until `stop` is set, then let in-flight requests finish."""
    # The person at the terminal gets the lines `say` prints; uvicorn adds only its warnings.
    config = server_config(app, host=options.host, port=options.port, log_level="warning")
    server = _EmbeddedServer(config)
    web = asyncio.create_task(server.serve())
    say(options, f"督办已启动：http://{options.host}:{options.port}  （Ctrl-C 退出）")
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({web, stopped}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    await web
    stopped.cancel()


async def run(settings: Settings, options: DevOptions, stop: asyncio.Event | None = None) -> None:
    """Run the stack; SIGINT/SIGTERM stop it cleanly unless the caller passes its own `stop`."""
    if stop is None:
        stop = asyncio.Event()
        with stop_on_signals(stop):
            await serve(settings, options, stop)
    else:
        await serve(settings, options, stop)
    log.info("duban dev stopped")


def main(settings: Settings, port: int = 8000) -> None:
    """Run `duban dev` on `port`."""
    asyncio.run(run(settings, DevOptions(port=port)))
