"""The audit log: every staff decision, who made it, when, from where, before and after.

Rows are only ever added: no route or service updates or deletes them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request
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
