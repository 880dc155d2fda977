"""A real SMTP server for tests: aiosmtpd on 127.0.0.1 that records what it receives.

The server can be stopped and started again on the same port, so a test can take the mail
server away and bring it back. Test modules use the fixture by importing it::

    from tests.smtp import smtp_server  # noqa: F401
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class ReceivedMail:
    """One message as the server received it: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class RecordingHandler:
    """An aiosmtpd handler that keeps every message and can refuse chosen recipients."""

    def __init__(self) -> None:
        self.received: list[ReceivedMail] = []
        self.refused: set[str] = set()
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        """Accept a recipient unless the test asked to refuse it (permanently, 550)."""
        if address in self.refused:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        """Parse and record the message (wire line ends CRLF read as plain line breaks)."""
        content = envelope.content.replace(b"\r\n", b"\n")
        message = message_from_bytes(content, policy=policy.default)
        with self._lock:
            self.received.append(
                ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message)
            )
        return "250 Message accepted for delivery"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class SMTPServer:
    """aiosmtpd in a thread on ``host`` and a fixed port, with ``start``/``stop``/``restart``."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.handler = RecordingHandler()
        self._controller: Controller | None = None

    @property
    def running(self) -> bool:
        """Whether the server is accepting connections."""
        return self._controller is not None

    def start(self) -> SMTPServer:
        """Start listening (again) on the same port."""
        if self._controller is None:
            controller = Controller(
                self.handler, hostname=self.host, port=self.port, server_hostname="localhost"
            )
            controller.start()
            self._controller = controller
        return self

    def stop(self) -> None:
        """Stop listening; connections are refused until ``start``."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def restart(self) -> None:
        """Stop and start again on the same port."""
        self.stop()
        self.start()

    def refuse(self, address: str) -> None:
        """Refuse mail to ``address`` with a 550 reply from now on."""
        self.handler.refused.add(address)

    @property
    def received(self) -> list[ReceivedMail]:
        """Everything received so far, oldest first."""
        with self.handler._lock:
            return list(self.handler.received)

    @property
    def messages(self) -> list[EmailMessage]:
        """The parsed messages received so far."""
        return [mail.message for mail in self.received]

    def message_ids(self) -> Counter[str]:
        """How many copies of each Message-ID arrived."""
        return Counter(str(message["Message-ID"]) for message in self.messages)


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    """A running test SMTP server on 127.0.0.1, stopped after the test."""
    server = SMTPServer().start()
    yield server
    server.stop()
