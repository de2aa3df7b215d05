"""A real S3-compatible server for tests: moto's standalone server as a child process."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from pathlib import Path

import boto3

from duban.settings import Settings
from tests.e2e.stack import free_port, wait_until

MOTO_SERVER = Path(sys.executable).with_name("moto_server")
ACCESS_KEY, SECRET_KEY = "duban-test", "duban-test-secret"


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


class MotoServer:
    """`moto_server` on a free port, until `stop()`; `bucket()` makes a fresh bucket."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: _answers(self.port), within=30, what="moto_server listening")

    def client(self):  # type: ignore[no-untyped-def,unused-ignore]
        """Return a plain boto3 client on this server, to arrange and inspect buckets."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def bucket(self) -> str:
        """Create and return a new, empty bucket."""
        name = f"evidence-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def settings(self, settings: Settings, bucket: str) -> Settings:
        """Return `settings` with evidence in `bucket` on this server."""
        return settings.model_copy(
            update={
                "s3_bucket": bucket,
                "s3_endpoint": self.endpoint,
                "s3_access_key": ACCESS_KEY,
                "s3_secret_key": SECRET_KEY,
            }
        )

    def stop(self) -> None:
        """Stop the server (the store is then down) and wait for it to exit."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
