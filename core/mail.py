"""The mail outbox: mail is queued with the change that causes it and delivered afterwards.

``queue_mail`` adds a row in the caller's transaction, so the mail exists exactly when the change
that causes it was committed. ``send_pending`` (``flask mail send``, and after each request in
development) first runs the due deferred jobs (``core.jobs``), then delivers due rows over
SMTP. A failed delivery is retried with exponential backoff until ``MAIL_MAX_ATTEMPTS``;
nothing is lost while the SMTP server is down.

Two senders never deliver the same row: a sender claims rows in a short transaction of its own
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite the write lock that a write session takes
with ``BEGIN IMMEDIATE``) by giving them a lease and its claim token, sends, and then marks each
row sent in a transaction of its own. Rows of a sender that died mid-batch are retried when the
lease runs out; the Message-ID fixed at queue time lets a mail system recognise the duplicate.
"""

from __future__ import annotations

import base64
import enum
import logging
import secrets
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from functools import partial
from typing import Any, NamedTuple

import sqlalchemy as sa
from flask import Flask, Response, current_app, has_app_context, request
from flask.logging import default_handler
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime, enum_column, get_engine, session_scope, utcnow
from core.jobs import run_due_jobs
from core.smtp import DEFAULT_FROM, ConnectFailed, LogTransport, SMTPTransport

logger = logging.getLogger("kursportal.mail")

MESSAGE_ID_DOMAIN = "kursportal"
DEFAULT_MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)
# A claimed row is left alone by other senders this long. A sender stops starting new deliveries
# well before its lease ends, so a slow SMTP server cannot make two senders overlap.
LEASE = timedelta(minutes=10)
LEASE_MARGIN = timedelta(minutes=3)
MAX_ERROR_LENGTH = 2000


class MailStatus(enum.StrEnum):
    """Where a message is in the outbox."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(Base):
    """A mail waiting to be sent, or the record of one that was sent or given up on."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        sa.Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),
        sa.Index("ix_outbox_messages_subject_type_subject_id", "subject_type", "subject_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(sa.String(255), unique=True)
    to_address: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(500))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str | None] = mapped_column(sa.Text)
    locale: Mapped[str] = mapped_column(sa.String(10))
    # [{"filename": ..., "content_type": ..., "data": base64}, ...]
    attachments: Mapped[list[dict[str, str]]] = mapped_column(sa.JSON, default=lambda: [])
    status: Mapped[MailStatus] = mapped_column(
        enum_column(MailStatus), default=MailStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(sa.String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Whom the mail is about, e.g. ("participant", 12): the personal-data export and erasure
    # find a person's mail by this link, never by matching the address (which the person may
    # have typed to be someone else's). Generic, because core knows no plugin's tables.
    subject_type: Mapped[str | None] = mapped_column(sa.String(40))
    subject_id: Mapped[int | None] = mapped_column()
    # Recorded mail (core/mail_kinds.py): what to render after the commit — the kind of mail
    # and the ids and facts it needs. Subject and bodies are empty until ``rendered_at``.
    kind: Mapped[str | None] = mapped_column(sa.String(80))
    params: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    rendered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Attachment(NamedTuple):
    """A file attached to a mail; a plain ``(filename, content_type, data)`` tuple works too."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class SendReport:
    """What one ``send_pending`` run did: delivered, given up on, and left for a later retry."""

    sent: int = 0
    failed: int = 0
    deferred: int = 0


class MailNotConfigured(RuntimeError):
    """MAIL_SERVER is missing outside development, where logging the mail would lose it."""


def queue_mail(
    session: Session,
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    locale: str,
    attachments: Iterable[Attachment | tuple[str, str, bytes]] = (),
    about: tuple[str, int] | None = None,
) -> OutboxMessage:
    """Add a mail to the outbox in the caller's transaction (flushed, not committed).

    ``about`` links the mail to the person it concerns (``("participant", id)``): that link,
    not the address, decides whose personal-data export holds it.
    """
    for name, value in (("to", to), ("subject", subject)):
        if not value.strip() or "\r" in value or "\n" in value:
            raise ValueError(f"mail {name} must be one non-empty line")
    message = OutboxMessage(
        message_id=new_message_id(),
        to_address=str(to).strip(),
        # str(): a lazy gettext string must be rendered now, in the caller's locale.
        subject=str(subject),
        body_text=str(text),
        body_html=None if html is None else str(html),
        locale=locale,
        attachments=[encode_attachment(Attachment(*item)) for item in attachments],
        status=MailStatus.PENDING,
        attempts=0,
        next_attempt_at=utcnow(),
        subject_type=about[0] if about else None,
        subject_id=about[1] if about else None,
    )
    session.add(message)
    session.flush()
    return message


def new_message_id() -> str:
    """The Message-ID fixed when a mail is queued (a mail system spots a re-delivery by it)."""
    return f"<{uuid.uuid4().hex}@{MESSAGE_ID_DOMAIN}>"


def requeue_failed(session: Session, *, now: datetime | None = None) -> int:
    """Give failed messages a fresh set of attempts (flushed, not committed); returns how many."""
    result = session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.status == MailStatus.FAILED)
        .values(status=MailStatus.PENDING, attempts=0, next_attempt_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return result.rowcount


def build_message(message: OutboxMessage, sender: str, now: datetime) -> EmailMessage:
    """The MIME message of an outbox row: text, an HTML alternative, attachments."""
    mime = EmailMessage()
    mime["Message-ID"] = message.message_id
    mime["Date"] = format_datetime(now)
    mime["From"] = sender
    mime["To"] = message.to_address
    mime["Subject"] = message.subject
    mime.set_content(message.body_text)
    if message.body_html:
        mime.add_alternative(message.body_html, subtype="html")
    for item in message.attachments:
        maintype, _, subtype = item["content_type"].partition("/")
        if maintype == "multipart" or not subtype:
            maintype, subtype = "application", "octet-stream"
        mime.add_attachment(
            base64.b64decode(item["data"]), maintype=maintype, subtype=subtype,
            filename=item["filename"],
        )
    # Last: set_content and add_* move or drop the Content-* headers already present.
    mime["Content-Language"] = message.locale
    return mime


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed delivery: doubling, at most 6 hours."""
    if attempts >= 20:  # 2**20 minutes is long past the cap; avoid huge numbers
        return LONGEST_RETRY
    return min(FIRST_RETRY * 2**attempts, LONGEST_RETRY)


def send_pending(
    engine: Engine, config: Mapping[str, Any], *, limit: int = 100, now: datetime | None = None,
    app: Flask | None = None,
) -> SendReport:
    """Run the due deferred jobs of ``app`` (default: the current app, if any), then deliver up
    to ``limit`` due messages and record each outcome.

    Without MAIL_SERVER, development and tests (DEBUG or TESTING) log the mail and mark it sent;
    anywhere else that raises ``MailNotConfigured`` and leaves the outbox untouched.
    """
    if not config.get("MAIL_SERVER") and not (config.get("DEBUG") or config.get("TESTING")):
        raise MailNotConfigured(
            "MAIL_SERVER is not set: refusing to discard the outbox "
            "(set MAIL_SERVER, or run with --debug to log mail instead of sending it)"
        )
    if app is None and has_app_context():
        app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app is not None:
        # Jobs queue mail: run them first, so this run delivers what they queued; then render
        # what was recorded and not yet rendered after its commit.
        from core.mail_kinds import render_recorded

        run_due_jobs(app, engine, now=max(now or utcnow(), utcnow()))
        render_recorded(app, engine)
    now = now or utcnow()
    token = secrets.token_hex(16)
    claimed = _claim(engine, token, now, limit)
    if not claimed:
        return SendReport()
    max_attempts = int(config.get("MAIL_MAX_ATTEMPTS") or DEFAULT_MAX_ATTEMPTS)
    sender = config.get("MAIL_FROM") or DEFAULT_FROM
    transport = SMTPTransport(config) if config.get("MAIL_SERVER") else LogTransport()
    deadline = time.monotonic() + (LEASE - LEASE_MARGIN).total_seconds()
    sent = failed = deferred = 0
    try:
        for index, message in enumerate(claimed):
            if time.monotonic() > deadline:
                _release(engine, token, [m.id for m in claimed[index:]])
                break
            try:
                transport.send(build_message(message, sender, now), message.to_address)
            except Exception as exc:
                # Without a connection every message left would fail the same way right now.
                unreachable = isinstance(exc, ConnectFailed)
                error = exc.__cause__ if unreachable else exc
                logger.warning("Delivery of %s failed: %s", message.message_id, error)
                for item in claimed[index:] if unreachable else [message]:
                    given_up = _record_failure(engine, token, item, error, now, max_attempts)
                    failed, deferred = failed + given_up, deferred + (not given_up)
                if unreachable:
                    break
                continue
            _record_sent(engine, token, message, now)
            sent += 1
    finally:
        transport.close()
    return SendReport(sent=sent, failed=failed, deferred=deferred)


def encode_attachment(item: Attachment) -> dict[str, str]:
    data = item.data.encode("utf-8") if isinstance(item.data, str) else item.data
    return {
        "filename": item.filename,
        "content_type": item.content_type,
        "data": base64.b64encode(data).decode("ascii"),
    }


def _claim(engine: Engine, token: str, now: datetime, limit: int) -> list[OutboxMessage]:
    """Lease due pending rows to this sender; other senders skip them until the lease ends."""
    lease_start = max(now, utcnow())
    with session_scope(engine) as session:
        rows = session.scalars(
            sa.select(OutboxMessage)
            .where(
                OutboxMessage.status == MailStatus.PENDING,
                OutboxMessage.next_attempt_at <= now,
                sa.or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until <= now),
                # Recorded mail waits for its rendering (core/mail_kinds.py).
                sa.or_(OutboxMessage.kind.is_(None), OutboxMessage.rendered_at.is_not(None)),
            )
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            row.locked_until = lease_start + LEASE
            row.claim_token = token
    return list(rows)


def _update_claimed(engine: Engine, token: str, ids: list[int], **values: Any) -> int:
    """Update rows this sender still holds; returns how many it did."""
    with session_scope(engine) as session:
        result = session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.claim_token == token)
            .values(locked_until=None, claim_token=None, **values)
            .execution_options(synchronize_session=False)
        )
    return result.rowcount


def _record_sent(engine: Engine, token: str, message: OutboxMessage, now: datetime) -> None:
    if not _update_claimed(engine, token, [message.id], status=MailStatus.SENT, sent_at=now):
        logger.error("Sent %s after its lease ran out: it may be delivered twice",
                     message.message_id)


def _record_failure(
    engine: Engine, token: str, message: OutboxMessage, exc: BaseException | None,
    now: datetime, max_attempts: int,
) -> bool:
    """Count a failed attempt; returns True when the message is now given up on."""
    attempts = message.attempts + 1
    error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH]
    values: dict[str, Any] = {"attempts": attempts, "last_error": error}
    if attempts >= max_attempts:
        values["status"] = MailStatus.FAILED
        logger.error("Giving up on %s after %d attempts: %s", message.message_id, attempts, error)
    else:
        values["next_attempt_at"] = now + backoff(attempts)
    _update_claimed(engine, token, [message.id], **values)
    return attempts >= max_attempts


def _release(engine: Engine, token: str, ids: list[int]) -> None:
    """Hand back rows this sender has no time left to deliver, without counting an attempt."""
    _update_claimed(engine, token, ids)


def _send_quietly(engine: Engine, app: Flask) -> None:
    """Run the jobs and send the outbox, logging instead of raising: it runs after a response
    was made."""
    try:
        report = send_pending(engine, app.config, app=app)
    except Exception:
        logger.exception("Sending the outbox after the request failed")
        return
    if report != SendReport():
        logger.info("Outbox after request: %s", report)


def _send_after_response(response: Response) -> Response:
    """In development, send the outbox once the response has gone out.

    ``call_on_close`` runs after the request's own session was closed, so on SQLite it never
    waits for a write lock that request still holds.
    """
    app = current_app
    if app.debug and app.config.get("MAIL_SEND_AFTER_REQUEST", True) is not False:
        if request.endpoint != "static":
            response.call_on_close(
                partial(_send_quietly, get_engine(), app._get_current_object()))
    return response


def init_app(app: Flask) -> None:
    """For development, send after each request (the ``mail`` commands are in ``core.cli``)."""
    app.after_request(_send_after_response)
    if app.debug and default_handler not in logger.handlers:
        # Without MAIL_SERVER the mail is only in the log; make sure the developer sees it.
        logger.setLevel(logging.INFO)
        logger.addHandler(default_handler)
    elif not app.debug and default_handler in logger.handlers:
        # An app made after a debug one in the same process (tests, a shell) must not keep the
        # development handler, which writes links unredacted.
        logger.removeHandler(default_handler)
        logger.setLevel(logging.NOTSET)
