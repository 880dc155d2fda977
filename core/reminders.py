"""Reminders: mail that falls due with time, sent once per person and event by one periodic
command, ``flask --app app reminders send`` (cron every five minutes; safe to run on several
machines at once, and to run again).

The registry
------------
A plugin registers what the command does in its ``init_app``; core knows no plugin.

* **Sweeps** (``register_sweep(app, name, sweep)``) change state with time before anything is
  sent: ``sweep(engine, now) -> int`` (how many things it did), e.g. enrollment's expiry of
  waiting-list offers, which passes each expired seat on to the next in line. A sweep makes
  its own short transactions and must be safe when two machines run it at once (a row lock,
  or a conditional ``UPDATE``, decides who does each piece).
* **Reminder kinds** (``register_reminder(app, ReminderKind(name, due, record))``): one kind
  of mail that falls due, such as enrollment's course reminder N days before the first
  session. ``due(session, now)`` reads, without writing, who is due now: ``Due`` pairs of a
  *subject* (the id of the row the mail is about: an enrollment, a roster person) and an
  *event key* (which occurrence: the first session's start, a deadline), leaving out those
  already sent (``sent_keys`` helps). ``record(session, subject_id, event_key, now)`` checks,
  in the sending transaction, that the subject is still due and records its mail
  (``core.mail_kinds.record_mail``), returning False when there is nothing to send any more.

How "once" holds
----------------
Each due pair gets a transaction of its own: the command first *claims* it, inserting
``(kind, subject_id, event_key)`` into ``sent_reminders`` with ``INSERT … ON CONFLICT DO
NOTHING`` (unique key), then calls ``record``; the claim and the outbox row are committed
together or not at all. A pair claimed already, by an earlier run or by another machine at the
same moment, inserts nothing and is skipped: on PostgreSQL the second insert waits on the
unique index only until the first transaction ends, on SQLite writers take turns. No other lock
is held, and nothing waits for mail to be rendered or delivered (the mail sender does that).

Enrollment's deadline reminder to roster people who have not enrolled is another kind
(``enrollment.services.invitations``); staff's invitations of roster people are sent from a
request, not by the command, but ``claim`` them in the same table, so each is sent once per
person and offering too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime, get_engine, new_session, session_scope, utcnow

logger = logging.getLogger("kursportal.reminders")

_KINDS = "core.reminder_kinds"
_SWEEPS = "core.reminder_sweeps"


class SentReminder(Base):
    """One reminder claimed for sending: at most one row per kind, subject and event."""

    __tablename__ = "sent_reminders"
    __table_args__ = (sa.UniqueConstraint("kind", "subject_id", "event_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(60))
    subject_id: Mapped[int] = mapped_column()
    event_key: Mapped[str] = mapped_column(sa.String(100))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@dataclass(frozen=True)
class Due:
    """Who is due for a reminder: the row the mail is about and which occurrence."""

    subject_id: int
    event_key: str


@dataclass(frozen=True)
class ReminderKind:
    """A kind of reminder: ``name`` (``plugin.what``), ``due`` and ``record`` (see above)."""

    name: str
    due: Callable[[Session, datetime], Iterable[Due]]
    record: Callable[[Session, int, str, datetime], bool]


Sweep = Callable[[Engine, datetime], int]


def register_reminder(app: Flask, kind: ReminderKind) -> None:
    """Let ``flask reminders send`` send reminders of ``kind``."""
    app.extensions.setdefault(_KINDS, {})[kind.name] = kind


def register_sweep(app: Flask, name: str, sweep: Sweep) -> None:
    """Let ``flask reminders send`` run ``sweep(engine, now)`` before the reminders."""
    app.extensions.setdefault(_SWEEPS, {})[name] = sweep


def claim(session: Session, kind: str, subject_id: int, event_key: str,
          now: datetime) -> bool:
    """Claim one reminder in the caller's transaction; False when it was claimed before (by
    this run, an earlier one or another machine)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (insert(SentReminder)
                 .values(kind=kind, subject_id=subject_id, event_key=event_key, sent_at=now)
                 .on_conflict_do_nothing(index_elements=["kind", "subject_id", "event_key"])
                 .returning(SentReminder.id))
    return session.execute(statement).first() is not None


def sent_keys(session: Session, kind: str, subject_ids: Iterable[int]) -> set[tuple[int, str]]:
    """The (subject, event key) pairs of ``kind`` already claimed among ``subject_ids``."""
    ids = list(subject_ids)
    if not ids:
        return set()
    return {tuple(row) for row in session.execute(
        sa.select(SentReminder.subject_id, SentReminder.event_key)
        .where(SentReminder.kind == kind, SentReminder.subject_id.in_(ids)))}


def send_due(app: Flask, engine: Engine, now: datetime) -> dict[str, int]:
    """Run every sweep, then send every due reminder once; returns how many each did. Call
    inside an application context (the services publish events)."""
    done: dict[str, int] = {}
    for name, sweep in app.extensions.get(_SWEEPS, {}).items():
        done[name] = sweep(engine, now)
    for kind in app.extensions.get(_KINDS, {}).values():
        with new_session(engine, write=False) as session:
            due = list(kind.due(session, now))
        done[kind.name] = sum(_send_one(engine, kind, item, now) for item in due)
    return done


def _send_one(engine: Engine, kind: ReminderKind, item: Due, now: datetime) -> bool:
    """Claim and record one reminder in a transaction of its own. A failure is logged (kind and
    subject id only) and rolled back, claim and all, so the next run tries again and the others
    of this run still go."""
    try:
        with session_scope(engine) as session:
            if not claim(session, kind.name, item.subject_id, item.event_key, now):
                return False
            if not kind.record(session, item.subject_id, item.event_key, now):
                session.rollback()  # no longer due: no claim either, so a later change may send
                return False
    except Exception as exc:  # noqa: BLE001 (one failed reminder must not stop the others)
        logger.warning("Reminder %s for %s failed: %s", kind.name, item.subject_id,
                       type(exc).__name__)
        return False
    return True


reminders_cli = AppGroup("reminders", help="Reminders and other mail that falls due with time.")


@reminders_cli.command("send")
def send_command() -> None:
    """Expire what has run out and send the reminders now due, each once (cron: every few
    minutes; safe on several machines)."""
    done = send_due(current_app._get_current_object(), get_engine(), utcnow())
    for name, count in done.items():
        click.echo(f"{name}: {count}")


def init_app(app: Flask) -> None:
    """Register the command."""
    app.cli.add_command(reminders_cli)
