"""The staff sign-in throttle: failed passwords and second-factor codes slow the attacker down
instead of locking the real person out.

Failures are counted in the database, per account (the e-mail address typed, known or not, so
the throttle tells nobody whether an account exists) and per client address, so every worker
and every app server sees the same counts. After ``free`` failures each further one makes the
key wait ``base × 2ⁿ`` seconds, at most ``cap``; meanwhile attempts are answered 429 with
Retry-After and are not even checked. A successful sign-in clears the account's count, and so
does a password reset from an e-mailed link, which is never throttled here. Counts are
forgotten after a quiet ``forget`` period. Keys are stored as SHA-256, not as addresses.

A leaf module: it imports only ``core.db``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime, utcnow


class LoginThrottle(Base):
    """Failed sign-ins counted for one account or one client address."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class Rule:
    """Free failures, then a delay doubling from ``base`` up to ``cap`` seconds."""

    free: int
    base: float
    cap: float
    forget: timedelta

    def delay(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th failure in a row."""
        if failures < self.free:
            return 0.0
        return min(self.base * 2 ** min(failures - self.free, 32), self.cap)


def account_key(email: str) -> str:
    """The throttle key of the account an e-mail address names (whether or not it exists)."""
    normal = (email or "").strip().lower()
    return "account:" + hashlib.sha256(normal.encode("utf-8", "replace")).hexdigest()


def address_key(address: str | None) -> str:
    """The throttle key of a client address."""
    return "ip:" + hashlib.sha256((address or "").encode()).hexdigest()


def wait_seconds(session: Session, keys: list[str], now: datetime | None = None) -> int:
    """Whole seconds until any of ``keys`` may try again (0: now)."""
    now = now or utcnow()
    until = session.scalar(sa.select(sa.func.max(LoginThrottle.blocked_until)).where(
        LoginThrottle.key.in_(keys), LoginThrottle.blocked_until > now))
    if until is None:
        return 0
    if until.tzinfo is None:  # max() over the column skips the type's conversion on SQLite
        until = until.replace(tzinfo=now.tzinfo)
    return max(1, math.ceil((until - now).total_seconds()))


def _insert(session: Session):
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(LoginThrottle)


def record_failure(session: Session, rules: dict[str, Rule], now: datetime | None = None) -> None:
    """Count one failure against each key of ``rules`` and set its delay; atomic per key (an
    upsert), so failures sent to different workers at once are all counted."""
    now = now or utcnow()
    table = LoginThrottle.__table__
    for key, rule in rules.items():
        stmt = _insert(session).values(key=key, failures=1, last_failure_at=now)
        stmt = stmt.on_conflict_do_update(index_elements=[table.c.key], set_={
            "failures": sa.case((table.c.last_failure_at < now - rule.forget, 1),
                                else_=table.c.failures + 1),
            "last_failure_at": now,
        }).returning(table.c.failures)
        failures = session.execute(stmt).scalar_one()
        delay = rule.delay(failures)
        session.execute(sa.update(LoginThrottle).where(LoginThrottle.key == key).values(
            blocked_until=now + timedelta(seconds=delay) if delay else None))
    session.flush()


def clear(session: Session, key: str) -> None:
    """Forget the failures of ``key`` (a successful sign-in, a password reset)."""
    session.execute(sa.delete(LoginThrottle).where(LoginThrottle.key == key))
