"""The audit log: every staff decision, who made it, when, from where, before and after.

Rows are only ever added: no route or service updates or deletes them.

Rows hold codes (``attendance.save``, ``starts_at``, ids); the words a person reads are
registered per application by whoever writes them, so core names no plugin's action: each
plugin's ``init_app`` calls ``register_action``, ``register_field`` and ``register_subject``
(the object types it writes, and how to name their objects: participants, courses) and the
audit page (``core.audit_view``) reads them from here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, has_request_context, request
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime, utcnow


class AuditEvent(Base):
    """One staff action on one object."""

    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index("ix_audit_events_object", "object_type", "object_id"),
        sa.Index("ix_audit_events_county_at", "county_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"), index=True)
    actor_email: Mapped[str] = mapped_column(sa.String(254))
    action: Mapped[str] = mapped_column(sa.String(60), index=True)
    object_type: Mapped[str] = mapped_column(sa.String(40))
    object_id: Mapped[int | None]
    county_id: Mapped[int | None] = mapped_column(sa.ForeignKey("counties.id"))
    before: Mapped[dict | None] = mapped_column(sa.JSON)
    after: Mapped[dict | None] = mapped_column(sa.JSON)
    ip_address: Mapped[str] = mapped_column(sa.String(64), default="")


def _plain(value: Any) -> Any:
    """JSON-friendly form of a value (dates as ISO text, enums as their value)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value") and not isinstance(value, str | int | float | bool):
        return value.value
    return value


def record(
    session: Session, *, actor, action: str, object_type: str, object_id: int | None,
    county_id: int | None, before: dict | None = None, after: dict | None = None,
) -> AuditEvent:
    """Add an audit event in the caller's transaction."""
    event = AuditEvent(
        actor_id=getattr(actor, "id", None), actor_email=getattr(actor, "email", "system"),
        action=action, object_type=object_type, object_id=object_id, county_id=county_id,
        before=_plain(before) if before is not None else None,
        after=_plain(after) if after is not None else None,
        ip_address=(request.remote_addr or "") if has_request_context() else "",
    )
    session.add(event)
    session.flush()
    return event


def snapshot(obj, fields: list[str]) -> dict:
    """The named attributes of ``obj`` as a JSON-friendly dict, for before/after."""
    return {name: _plain(getattr(obj, name)) for name in fields}


# --- the words of the log --------------------------------------------------------------------

WORDS_KEY = "audit.words"


@dataclass(frozen=True)
class Subject:
    """An object of the log as a person reads it: a name, or what became of it."""

    label: str
    # The person's details were removed (purge or erasure): nothing personal of the event's
    # before and after is shown either, though the row keeps it.
    anonymised: bool = False


# Names the objects of ``ids`` (those it still finds) in one query: ``names(session, ids)``.
Namer = Callable[[Session, Collection[int]], Mapping[int, Subject]]


@dataclass(frozen=True)
class FieldWords:
    """How a field of before and after reads."""

    title: Any
    refers_to: str | None = None  # the object type whose id (or ids) the value holds
    values: Mapping[Any, Any] | None = None  # stored value → its title
    personal: bool = False  # a person's detail: hidden once the subject is anonymised
    money: bool = False  # øre


@dataclass(frozen=True)
class ActionWords:
    """How an action reads; ``keyed_by`` when before and after are keyed by the ids of an
    object type (attendance: enrollment id → mark) rather than by field names."""

    title: Any
    keyed_by: str | None = None
    values: Mapping[Any, Any] | None = None


@dataclass(frozen=True)
class SubjectWords:
    """An object type: its title, and how to name its objects (None: by number only)."""

    title: Any
    names: Namer | None = None


@dataclass
class Words:
    """Everything registered on one application."""

    actions: dict[str, ActionWords] = field(default_factory=dict)
    fields: dict[tuple[str | None, str], FieldWords] = field(default_factory=dict)
    subjects: dict[str, SubjectWords] = field(default_factory=dict)


def _words(app: Flask) -> Words:
    return app.extensions.setdefault(WORDS_KEY, Words())


def register_action(app: Flask, name: str, title, *, keyed_by: str | None = None,
                    values: Mapping[Any, Any] | None = None) -> None:
    """Give the action ``name`` its title (a lazy string) on ``app``."""
    _words(app).actions[name] = ActionWords(title, keyed_by, values)


def register_field(app: Flask, name: str, title, *, object_type: str | None = None,
                   refers_to: str | None = None, values: Mapping[Any, Any] | None = None,
                   personal: bool = False, money: bool = False) -> None:
    """Give the before/after field ``name`` its title, for events about ``object_type`` (None:
    any object that has no field of its own by that name)."""
    _words(app).fields[(object_type, name)] = FieldWords(title, refers_to, values, personal,
                                                         money)


def register_subject(app: Flask, object_type: str, title, names: Namer | None = None) -> None:
    """Give an object type its title, and the function that names its objects."""
    _words(app).subjects[object_type] = SubjectWords(title, names)


def words() -> Words:
    """The words registered on the current application."""
    return current_app.extensions.get(WORDS_KEY) or Words()
