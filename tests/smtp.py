"""A real SMTP server for tests (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Inbox:
    """The messages an SMTP test server accepted, parsed."""

    messages: list[EmailMessage] = field(default_factory=list)
    # How many messages to refuse first with a temporary failure, as a busy relay does.
    refuse: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Store the message (aiosmtpd handler hook), unless told to refuse it."""
        if self.refuse > 0:
            self.refuse -= 1
            return "451 4.3.0 Try again later"
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        """Return the messages addressed to `address`."""
        return [m for m in self.messages if m["To"] == address]


def free_port() -> int:
    """Return a TCP port that is free on loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_server(*, refuse: int = 0) -> Iterator[tuple[Inbox, str]]:
    """Run an SMTP server on loopback (refusing the first `refuse` messages); yield its inbox and URL."""
    inbox = Inbox(refuse=refuse)
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()
