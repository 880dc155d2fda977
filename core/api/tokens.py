"""Personal access tokens for the staff API: made on a staff page, shown once, stored hashed.

A token is ``kp_<id>_<secret>``: the id (8 characters) finds the row, the secret (43 characters,
256 random bits) proves it. Only the secret's SHA-256 is stored: with 256 random bits a
preimage is out of reach, so a slow hash (as for passwords, which people choose) would only
slow every call down. A copy of the table is useless to whoever steals it: the hash is not the
token, and the token is not derivable from it.

Each token belongs to a staff member, works for one county office (the holder's; an
administrator picks one), reads only or reads and writes, and ends on its expiry date (at most
a year) or when revoked. Calls act as the holder limited to that office and scope
(:class:`TokenUser`), through the same services and rules as the pages; making and revoking a
token, and every call that changes data, are in the audit log.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, Session, joinedload, mapped_column, relationship

from core import audit
from core.auth import StaffUser
from core.db import Base, UTCDateTime, session_scope, utcnow
from core.i18n import OSLO
from core.models import County

PREFIX = "kp"
ID_LENGTH = 8
MAX_DAYS = 366
DEFAULT_DAYS = 90
# How often a token's "last used" is written: not on every call.
LAST_USED_EVERY = timedelta(minutes=5)


class ApiToken(Base):
    """A personal access token (see the module's description)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(16), unique=True)
    secret_sha256: Mapped[str] = mapped_column(sa.String(64))
    staff_user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    county_id: Mapped[int] = mapped_column(sa.ForeignKey("counties.id"))
    name: Mapped[str] = mapped_column(sa.String(100))
    can_write: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    owner: Mapped[StaffUser] = relationship()
    county: Mapped[County] = relationship()

    @property
    def expires_on(self) -> date:
        """The last day (in Oslo) the token works."""
        return (self.expires_at - timedelta(seconds=1)).astimezone(OSLO).date()

    def is_usable(self, now: datetime) -> bool:
        """Neither revoked nor expired, and its holder's account active."""
        return self.revoked_at is None and now < self.expires_at and self.owner.active


@dataclass(frozen=True)
class TokenUser:
    """Who a call acts as: the token's holder, limited to the token's office and scope. Looks
    like a staff member to the services (``current_user``), never like an administrator."""

    id: int
    email: str
    name: str
    county_id: int
    locale: str
    token_id: int
    can_write: bool
    is_admin: bool = False
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    def get_id(self) -> str:  # noqa: D102 (Flask-Login)
        return str(self.id)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def expiry(on: date) -> datetime:
    """The moment a token expiring on ``on`` stops working: the end of that day in Oslo."""
    return datetime.combine(on + timedelta(days=1), time(0), tzinfo=OSLO)


def create(session: Session, owner: StaffUser, *, county_id: int, name: str, can_write: bool,
           expires_on: date, now: datetime) -> tuple[ApiToken, str]:
    """A new token and its text, which is shown once and never stored."""
    public_id = secrets.token_hex(ID_LENGTH // 2)
    secret = secrets.token_urlsafe(32)
    token = ApiToken(public_id=public_id, secret_sha256=_digest(secret), owner=owner,
                     county_id=county_id, name=name, can_write=can_write, created_at=now,
                     expires_at=expiry(expires_on))
    session.add(token)
    session.flush()
    audit.record(session, actor=owner, action="api_token.create", object_type="api_token",
                 object_id=token.id, county_id=county_id,
                 after={"name": name, "scope": "read-write" if can_write else "read",
                        "expires": expires_on.isoformat()})
    return token, f"{PREFIX}_{public_id}_{secret}"


class TokenRefused(ValueError):
    """A token that may not be made as asked: ``field`` names what is wrong (``county``,
    ``expires_on``), ``message`` says it in words."""

    def __init__(self, field: str, message) -> None:
        super().__init__(field)
        self.field, self.message = field, message


def expiry_range(today: date) -> tuple[date, date]:
    """The first and last expiry date a token made ``today`` (in Oslo) may have."""
    return today, today + timedelta(days=MAX_DAYS)


def issue(session: Session, owner: StaffUser, *, county_id: int | None, name: str,
          can_write: bool, expires_on: date, now: datetime) -> tuple[ApiToken, str]:
    """Make a token as the staff page asks for one, under the rules for tokens: county staff
    get one for their own office only, an administrator (who has none) names one; it expires
    no earlier than today and at most ``MAX_DAYS`` ahead. ``TokenRefused`` otherwise.

    (``create`` makes any token, for tests that need an expired one.)"""
    if not owner.is_admin:
        if county_id is not None and county_id != owner.county_id:
            raise TokenRefused("county", _l("A token works for your own county office only."))
        county_id = owner.county_id
    if county_id is None or session.get(County, county_id) is None:
        raise TokenRefused("county", _l("Choose the county office the token works for."))
    first, last = expiry_range(now.astimezone(OSLO).date())
    if expires_on < first:
        raise TokenRefused("expires_on", _l("The expiry date cannot be in the past."))
    if expires_on > last:
        raise TokenRefused("expires_on", _l(
            "A token lasts at most %(days)s days: choose %(last)s or earlier.",
            days=MAX_DAYS, last=last.isoformat()))
    return create(session, owner, county_id=county_id, name=name, can_write=can_write,
                  expires_on=expires_on, now=now)


def revoke(session: Session, token: ApiToken, actor, now: datetime) -> bool:
    """Revoke ``token``; False when it already was."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = now
    audit.record(session, actor=actor, action="api_token.revoke", object_type="api_token",
                 object_id=token.id, county_id=token.county_id, after={"name": token.name})
    session.flush()
    return True


def find(session: Session, text: str) -> ApiToken | None:
    """The token ``text`` is, whatever its state; None when it is no token of ours."""
    prefix, _, rest = text.partition("_")
    public_id, _, secret = rest.partition("_")
    if prefix != PREFIX or len(public_id) != ID_LENGTH or not secret or len(secret) > 100:
        return None
    token = session.scalar(sa.select(ApiToken).where(ApiToken.public_id == public_id))
    if token is None or not hmac.compare_digest(token.secret_sha256, _digest(secret)):
        return None
    return token


def note_use(engine: sa.Engine, token: ApiToken, now: datetime) -> None:
    """Record that the token was used, at most every few minutes, in a transaction of its own
    (bookkeeping, not the call's data: a GET still writes nothing of its own). The caller ends
    the request's transaction first: on SQLite a write request holds the write lock from its
    first read, which this transaction would wait for."""
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_EVERY:
        return
    with session_scope(engine) as writer:
        writer.execute(sa.update(ApiToken).where(ApiToken.id == token.id)
                       .values(last_used_at=now))


def record_write(session: Session, token: ApiToken, actor: TokenUser, request_line: str,
                 status: int) -> None:
    """Audit a call that changed data with ``token`` (beside the service's own event)."""
    audit.record(session, actor=actor, action="api_token.use", object_type="api_token",
                 object_id=token.id, county_id=token.county_id,
                 after={"request": request_line, "status": status})


def acting_user(token: ApiToken) -> TokenUser:
    """Whom the services see for a call with ``token``."""
    owner = token.owner
    return TokenUser(id=owner.id, email=owner.email, name=owner.name, county_id=token.county_id,
                     locale=owner.locale, token_id=token.id, can_write=token.can_write)


def own_token(session: Session, owner_id: int, token_id: int) -> ApiToken | None:
    """Token ``token_id`` if it is ``owner_id``'s; None for anybody else's (or none)."""
    return session.scalar(sa.select(ApiToken).where(ApiToken.id == token_id,
                                                    ApiToken.staff_user_id == owner_id))


def tokens_of(session: Session, owner: StaffUser) -> list[ApiToken]:
    """A staff member's tokens, newest first."""
    return list(session.scalars(sa.select(ApiToken).where(ApiToken.staff_user_id == owner.id)
                                .options(joinedload(ApiToken.county))
                                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))
