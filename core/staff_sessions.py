"""Server-side staff sessions: one row per login, so a session can be ended for good.

The signed Flask cookie carries only a random session id; the row (its SHA-256, never the id)
says whether the session still lives. Every staff request checks the row: ended, idle longer
than ``STAFF_SESSION_IDLE_MINUTES`` or older than ``STAFF_SESSION_MAX_HOURS`` means logged out.
Ending the row therefore ends the session wherever the cookie was copied to.

A leaf module: it imports only ``core.db``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit
from core.db import Base, UTCDateTime, utcnow

# ``last_seen_at`` is written at most this often: no write per request.
TOUCH_INTERVAL = timedelta(minutes=1)


class EndReason:
    """Why a session ended (stored in ``staff_sessions.end_reason``)."""

    LOGOUT = "logout"
    IDLE = "idle"
    EXPIRED = "expired"
    ALL = "logout_all"
    PASSWORD = "password"  # noqa: S105  (a reason, not a password)
    DEACTIVATED = "deactivated"
    REACTIVATED = "reactivated"
    TWO_FACTOR_RESET = "2fa_reset"


class StaffSession(Base):
    """One login of a staff member: alive until ended, idle too long or too old."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(sa.String(20))
    user_agent: Mapped[str] = mapped_column(sa.String(120), default="")
    ip_prefix: Mapped[str] = mapped_column(sa.String(64), default="")


@dataclass(frozen=True)
class Limits:
    """How long a session may sit idle, and live in all."""

    idle: timedelta
    max_age: timedelta


def token_hash(token: str) -> str:
    """The stored form of a session id."""
    return hashlib.sha256(token.encode()).hexdigest()


def ip_prefix(address: str | None) -> str:
    """The network a session came from (IPv4 /24, IPv6 /48): enough for a person to recognise
    their own sessions, not an exact address to keep."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return ""
    bits = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{bits}", strict=False))


def user_agent_summary(user_agent: str | None) -> str:
    """A short description of the browser (``Firefox on Windows``), for the sessions list."""
    ua = user_agent or ""
    browser = next((name for key, name in (
        ("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
        ("Safari/", "Safari")) if key in ua), "")
    system = next((name for key, name in (
        ("Windows", "Windows"), ("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iOS"),
        ("Mac OS X", "macOS"), ("Linux", "Linux")) if key in ua), "")
    return " / ".join(part for part in (browser, system) if part) or ua[:60]


def start(session: Session, user_id: int, *, user_agent: str | None,
          address: str | None) -> str:
    """Open a session for ``user_id``; returns the id to put in the cookie."""
    token = secrets.token_urlsafe(32)
    session.add(StaffSession(token_hash=token_hash(token), user_id=user_id,
                             user_agent=user_agent_summary(user_agent),
                             ip_prefix=ip_prefix(address)))
    session.flush()
    return token


def ended_reason(row: StaffSession | None, user_id: int, now: datetime,
                 limits: Limits) -> str | None:
    """Why the session ``row`` no longer lets ``user_id`` in, or None while it lives."""
    if row is None or row.user_id != user_id:
        return EndReason.LOGOUT
    if row.ended_at is not None:
        return row.end_reason or EndReason.LOGOUT
    if now - row.created_at > limits.max_age:
        return EndReason.EXPIRED
    if now - row.last_seen_at > limits.idle:
        return EndReason.IDLE
    return None


def check(session: Session, token: str | None, user_id: int, limits: Limits) -> str | None:
    """Check the session with ``token`` on a request of ``user_id``: None if it lives (its
    last-seen time moved on at most once a minute), else why it ended (the row is ended)."""
    if not token:
        return EndReason.LOGOUT
    now = utcnow()
    row = session.scalar(sa.select(StaffSession).where(
        StaffSession.token_hash == token_hash(token)))
    reason = ended_reason(row, user_id, now, limits)
    if reason is None:
        if now - row.last_seen_at >= TOUCH_INTERVAL:
            row.last_seen_at = now
    elif row is not None and row.ended_at is None:
        row.ended_at, row.end_reason = now, reason
    session.flush()
    return reason


def end(session: Session, token: str | None, reason: str = EndReason.LOGOUT) -> None:
    """End the one session with ``token`` (logging out)."""
    if token:
        session.execute(sa.update(StaffSession).where(
            StaffSession.token_hash == token_hash(token), StaffSession.ended_at.is_(None))
            .values(ended_at=utcnow(), end_reason=reason))


def end_all(session: Session, user_id: int, reason: str) -> int:
    """End every open session of ``user_id``; returns how many were open."""
    result = session.execute(sa.update(StaffSession).where(
        StaffSession.user_id == user_id, StaffSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason))
    return result.rowcount


def end_everywhere(session: Session, user) -> int:
    """"Log out all my sessions": end every open session of ``user`` (a staff member), audited;
    returns how many were open."""
    ended = end_all(session, user.id, EndReason.ALL)
    audit.record(session, actor=user, action="staff.logout_all", object_type="staff_user",
                 object_id=user.id, county_id=user.county_id, after={"sessions": ended})
    return ended


def active(session: Session, user_id: int, limits: Limits) -> list[StaffSession]:
    """The sessions of ``user_id`` that still let them in, newest first."""
    now = utcnow()
    rows = session.scalars(sa.select(StaffSession).where(
        StaffSession.user_id == user_id, StaffSession.ended_at.is_(None),
        StaffSession.created_at > now - limits.max_age,
        StaffSession.last_seen_at > now - limits.idle,
    ).order_by(StaffSession.created_at.desc(), StaffSession.id.desc()))
    return list(rows)
