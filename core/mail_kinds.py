"""Mail recorded in the transaction of a change and rendered after it is committed.

A service (or a subscriber of its event) records *what* to send with :func:`record_mail`: the
kind of mail, the recipient, the language and the ids the mail needs, in one outbox row of the
change's transaction. No template is rendered while the transaction (and the offering's seat
lock, for an enrollment) is held. The row is rendered

* right after the request's commit (``core.transaction.after_commit``), in a short transaction
  of its own, so the mail is ready when the answer goes out; and
* otherwise by the sender (``flask mail send`` renders what is left before delivering), which
  also catches up after a crash between the commit and the rendering.

Each plugin registers the renderer of each of its kinds in ``init_app`` with
:func:`register_mail`. A renderer is called as ``renderer(session, params)`` inside
``force_locale(<the row's language>)`` and a request context (``url_for`` works; links come
from ``PUBLIC_BASE_URL``), and returns :class:`Rendered` — or ``None`` when there is nothing to
send any more (the person was erased meanwhile), and the row is removed. An application built
without the plugin leaves its rows alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, current_app, g, has_request_context
from flask_babel import force_locale
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from core.db import get_engine, get_session, session_scope, utcnow
from core.mail import Attachment, MailStatus, OutboxMessage, encode_attachment, new_message_id
from core.transaction import after_commit

logger = logging.getLogger("kursportal.mail")

_KEY = "core.mail_renderers"
MAX_RENDER_ATTEMPTS = 5


@dataclass(frozen=True)
class Rendered:
    """What a renderer made of a recorded mail."""

    subject: str
    text: str
    html: str | None = None
    attachments: Iterable[Attachment | tuple[str, str, bytes]] = field(default=())


Renderer = Callable[[Session, dict[str, Any]], Rendered | None]


def register_mail(app: Flask, kind: str, renderer: Renderer) -> None:
    """Let recorded mail of ``kind`` be rendered by ``renderer(session, params)``."""
    app.extensions.setdefault(_KEY, {})[kind] = renderer


def record_mail(session: Session, kind: str, *, to: str, locale: str,
                about: tuple[str, int] | None = None, **params: Any) -> OutboxMessage:
    """Record a mail of ``kind`` to ``to`` in ``locale`` with ``params`` (JSON values: ids and
    the facts of the moment, such as a waiting-list position) in the caller's transaction
    (flushed, not committed). It is rendered after the commit."""
    if not to.strip() or "\r" in to or "\n" in to:
        raise ValueError("mail to must be one non-empty line")
    message = OutboxMessage(
        message_id=new_message_id(), to_address=to.strip(), subject="", body_text="",
        locale=locale, attachments=[], status=MailStatus.PENDING, attempts=0,
        next_attempt_at=utcnow(), kind=kind, params=params,
        subject_type=about[0] if about else None, subject_id=about[1] if about else None,
    )
    session.add(message)
    session.flush()
    if has_request_context():
        if "recorded_mail" not in g:
            g.recorded_mail = []
            after_commit(_render_recorded_in_request)
        g.recorded_mail.append(message.id)
    return message


def _render_recorded_in_request() -> None:
    # In the request's own session, after its commit: what the mail shows (the enrollment, its
    # person and course) is in its identity map already, so rendering reads only the row.
    render_recorded(current_app._get_current_object(), get_engine(), ids=g.pop("recorded_mail", []),
                    session=get_session())


def render_recorded(app: Flask, engine: Engine, *, ids: list[int] | None = None,
                    limit: int = 500, session: Session | None = None) -> int:
    """Render recorded rows (``ids``, or any left unrendered), each in a transaction of its
    own (of ``session`` when given, a committed session whose transactions it may begin and
    end); returns how many were rendered. A renderer that fails is logged and retried by the
    next sender run, up to ``MAX_RENDER_ATTEMPTS``, then the row is marked failed."""
    renderers: dict[str, Renderer] = app.extensions.get(_KEY, {})
    if not renderers:
        return 0
    if ids is not None and has_request_context():
        # Rows this request recorded: each is claimed, checked and rendered by ``_render_one``
        # in its own transaction, with no listing first (one transaction less per request).
        return sum(_render_one(engine, renderers, row_id, session) for row_id in ids)
    with session_scope(engine) as session:
        query = (sa.select(OutboxMessage.id)
                 .where(OutboxMessage.kind.in_(renderers), OutboxMessage.rendered_at.is_(None),
                        OutboxMessage.status == MailStatus.PENDING)
                 .order_by(OutboxMessage.id).limit(limit))
        if ids is not None:
            query = query.where(OutboxMessage.id.in_(ids))
        todo = list(session.scalars(query))
    if not todo:
        return 0
    if has_request_context():
        return sum(_render_one(engine, renderers, row_id) for row_id in todo)
    base = urlsplit(app.config.get("PUBLIC_BASE_URL") or "http://localhost/")
    with app.test_request_context("/", base_url=f"{base.scheme}://{base.netloc}/"):
        return sum(_render_one(engine, renderers, row_id) for row_id in todo)


@contextmanager
def _transaction(engine: Engine, session: Session | None) -> Iterator[Session]:
    """``session_scope(engine)``, or a transaction of the given session (left open)."""
    if session is None:
        with session_scope(engine) as scoped:
            yield scoped
        return
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def _render_one(engine: Engine, renderers: dict[str, Renderer], row_id: int,
                given: Session | None = None) -> bool:
    failed: str | None = None
    with _transaction(engine, given) as session:
        message = session.scalar(
            sa.select(OutboxMessage)
            .where(OutboxMessage.id == row_id, OutboxMessage.rendered_at.is_(None))
            .with_for_update(skip_locked=True))
        if message is None or message.kind not in renderers or (
                message.status != MailStatus.PENDING):  # rendered meanwhile, or not ours
            return False
        try:
            with session.begin_nested(), force_locale(message.locale):
                rendered = renderers[message.kind](session, dict(message.params or {}))
                if rendered is not None:
                    _fill(message, rendered)
        except Exception as exc:  # noqa: BLE001 (a failed rendering is retried, not raised)
            failed = type(exc).__name__
            message.attempts += 1
            message.last_error = f"rendering failed: {failed}"
            if message.attempts >= MAX_RENDER_ATTEMPTS:
                message.status = MailStatus.FAILED
        else:
            if rendered is None:
                session.delete(message)
                return False
    if failed is not None:
        logger.warning("Rendering outbox row %s (%s) failed: %s", row_id, message.kind, failed)
        return False
    return True


def _fill(message: OutboxMessage, rendered: Rendered) -> None:
    subject, text = str(rendered.subject), str(rendered.text)
    if not subject.strip() or "\r" in subject or "\n" in subject or not text.strip():
        raise ValueError(f"the rendered {message.kind} mail has no subject line or no text")
    message.subject = subject
    message.body_text = text
    message.body_html = None if rendered.html is None else str(rendered.html)
    message.attachments = [encode_attachment(Attachment(*item)) for item in rendered.attachments]
    message.rendered_at = utcnow()
