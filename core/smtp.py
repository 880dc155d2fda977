"""How a message of the outbox leaves: over SMTP (``MAIL_SERVER`` and the other ``MAIL_*``
settings), or, in development without a server, into the log. ``core.mail.send_pending`` opens
one transport per batch.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

# The outbox's logger: the development handler that shows unsent mail is attached to it.
logger = logging.getLogger("kursportal.mail")

DEFAULT_FROM = "kursportal@localhost"
DEFAULT_TIMEOUT = 30


class ConnectFailed(Exception):
    """The SMTP server could not be reached or refused the session (cause attached)."""


class SMTPTransport:
    """One SMTP connection for a batch, opened on first use and reopened after it breaks."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self.sender = config.get("MAIL_FROM") or DEFAULT_FROM
        self.smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        use_ssl, use_tls = bool(cfg.get("MAIL_USE_SSL")), bool(cfg.get("MAIL_USE_TLS"))
        port = int(cfg.get("MAIL_PORT") or (465 if use_ssl else 587 if use_tls else 25))
        timeout = float(cfg.get("MAIL_TIMEOUT") or DEFAULT_TIMEOUT)
        if use_ssl:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                cfg["MAIL_SERVER"], port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(cfg["MAIL_SERVER"], port, timeout=timeout)
        try:
            if use_tls:
                smtp.starttls(context=ssl.create_default_context())
            if cfg.get("MAIL_USERNAME"):
                smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, mime: EmailMessage, to_address: str) -> None:
        """Deliver one message to one recipient."""
        if self.smtp is None:
            try:
                self.smtp = self._connect()
            except (OSError, smtplib.SMTPException) as exc:
                raise ConnectFailed from exc
        try:
            self.smtp.send_message(mime, from_addr=self.sender, to_addrs=[to_address])
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException):
            raise  # the server rejected this message; the connection is still good
        except OSError:  # includes SMTPServerDisconnected
            self.close()
            raise

    def close(self) -> None:
        """Say goodbye to the server, if connected."""
        if self.smtp is None:
            return
        try:
            self.smtp.quit()
        except (OSError, smtplib.SMTPException):
            self.smtp.close()
        self.smtp = None


class LogTransport:
    """Development delivery: write the mail to the log instead of sending it."""

    def send(self, mime: EmailMessage, to_address: str) -> None:
        """Log the headers, the text body and the attachment names."""
        names = [part.get_filename() for part in mime.iter_attachments()]
        body = mime.get_body(preferencelist=("plain",))
        logger.info(
            "MAIL_SERVER is not set; mail not sent.\nTo: %s\nSubject: %s\nMessage-ID: %s\n"
            "Content-Language: %s\nAttachments: %s\n\n%s",
            to_address, mime["Subject"], mime["Message-ID"], mime["Content-Language"],
            ", ".join(names) or "none", body.get_content() if body else "",
        )

    def close(self) -> None:
        """Nothing to close."""
