"""Outgoing mail through the SMTP relay named by SMTP_URL (aiosmtplib)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to send: parsed from `smtp://user:pass@host:port` or `smtps://…`."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    use_tls: bool = False
    start_tls: bool | None = False


def parse_smtp_url(url: str) -> SmtpTarget:
    """Parse an SMTP URL; smtp:// is plain (STARTTLS with ?starttls=1), smtps:// is TLS."""
    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise ValueError(f"SMTP_URL 无效：{url!r}（应为 smtp://host:port 或 smtps://host:port）")
    tls = parts.scheme == "smtps"
    return SmtpTarget(
        host=parts.hostname,
        port=parts.port or (465 if tls else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_tls=tls,
        start_tls="starttls=1" in parts.query,
    )


class Mailer:
    """Send plain-text (and optional HTML) mail to one recipient at a time."""

    def __init__(self, smtp_url: str, mail_from: str) -> None:
        self.target = parse_smtp_url(smtp_url)
        self.mail_from = mail_from

    def build(self, to: str, subject: str, text: str, html: str | None = None) -> EmailMessage:
        """Return the message, UTF-8 throughout so Chinese survives every hop."""
        msg = EmailMessage()
        msg["From"] = self.mail_from
        msg["To"] = to
        msg["Subject"] = subject
        msg.set_content(text, charset="utf-8")
        if html is not None:
            msg.add_alternative(html, subtype="html", charset="utf-8")
        return msg

    async def send(self, to: str, subject: str, text: str, html: str | None = None) -> None:
        """Send one message; raises aiosmtplib.SMTPException on failure."""
        t = self.target
        await aiosmtplib.send(
            self.build(to, subject, text, html),
            hostname=t.host,
            port=t.port,
            username=t.username,
            password=t.password,
            use_tls=t.use_tls,
            start_tls=t.start_tls,
            timeout=30,
        )
        log.info("mail sent to %s: %s", to, subject)
