"""Staff accounts and login (Flask-Login), and the one rule every staff route obeys:
county staff see only their own county's objects; administrators see all.

Scoping lives here, in ``county_scope`` and ``scoped_or_404``, so no view filters by hand.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps

import sqlalchemy as sa
from flask import (
    Flask,
    abort,
    current_app,
    flash,
    g,
    has_app_context,
    redirect,
    request,
    url_for,
)
from flask import session as cookie_session
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, current_user
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from core import staff_sessions
from core.collation import collated
from core.db import Base, UTCDateTime, get_engine, get_session, new_session, session_scope, utcnow
from core.models import County

login_manager = LoginManager()
RESET_MAX_AGE = 3600
MIN_PASSWORD_LENGTH = 12


class StaffUser(UserMixin, Base):
    """A member of county staff, or an administrator (``is_admin``, no county)."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    county_id: Mapped[int | None] = mapped_column(sa.ForeignKey("counties.id"), index=True)
    is_admin: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str] = mapped_column(sa.String(2), default="nn")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The second factor (core.two_factor): the sealed TOTP secret, when it was confirmed, and
    # the last time step accepted (a code is accepted once).
    totp_secret: Mapped[str | None] = mapped_column(sa.String(200))
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)

    county: Mapped[County | None] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        """Whether the account may log in."""
        return self.active

    def set_password(self, password: str) -> None:
        """Store a salted hash of ``password`` (werkzeug's scrypt; ``PASSWORD_HASH_METHOD``)."""
        self.password_hash = generate_password_hash(password, method=password_hash_method())

    def check_password(self, password: str) -> bool:
        """Whether ``password`` matches."""
        return check_password_hash(self.password_hash, password)


def password_hash_method() -> str:
    """The configured hash method: werkzeug's full-strength scrypt unless the app says
    otherwise (the test suite uses a cheaper scrypt so that hundreds of logins stay quick; the
    hash records its own parameters, so every stored hash is checked as it was made)."""
    if has_app_context():
        return current_app.config.get("PASSWORD_HASH_METHOD", DEFAULT_HASH_METHOD)
    return DEFAULT_HASH_METHOD


DEFAULT_HASH_METHOD = "scrypt"

# A hash to compare against when the e-mail is unknown, so both answers take as long.
_DUMMY_HASH = generate_password_hash("not-a-real-password-kursportal")


def authenticate(session: Session, email: str, password: str) -> StaffUser | None:
    """The active account with this e-mail and password, or None; constant work either way."""
    email = email.strip().lower()
    # PostgreSQL refuses NUL in text (a 500); an address with one belongs to nobody.
    user = None if "\x00" in email else session.scalar(
        sa.select(StaffUser).where(StaffUser.email == email)
    )
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    return user


# Characters that are not text: controls (tab, newline, escape …), format characters (bidi
# overrides such as U+202E, zero-width joiners and spaces, soft hyphens), line and paragraph
# separators, surrogates, private use and unassigned code points. A name with one could hide
# or reorder what the audit log and the accounts list show.
NOT_TEXT = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a character that is not printable text (see ``NOT_TEXT``)."""
    return any(unicodedata.category(ch) in NOT_TEXT for ch in text)


def create_staff(
    session: Session, *, email: str, name: str, password: str, county: County | None,
    is_admin: bool = False, locale: str = "nn",
) -> StaffUser:
    """Add a staff account; an administrator has no county, county staff exactly one."""
    if is_admin == (county is not None):
        raise ValueError("an administrator has no county; county staff need one")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    if has_control_characters(name) or not name.strip():
        raise ValueError("the name must be printable text (no control characters)")
    user = StaffUser(email=email.strip().lower(), name=name, county=county, is_admin=is_admin,
                     locale=locale)
    user.set_password(password)
    session.add(user)
    session.flush()
    return user


# --- password reset by e-mailed one-time link ---------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="staff-password-reset")


def make_reset_token(user: StaffUser) -> str:
    """A signed link token; it stops working after an hour or once the password changed."""
    return _serializer().dumps({"id": user.id, "h": user.password_hash[-16:]})


def user_from_reset_token(session: Session, token: str) -> StaffUser | None:
    """The account a reset token is for, if it is valid, unexpired and unused."""
    try:
        data = _serializer().loads(token, max_age=current_app.config.get(
            "PASSWORD_RESET_MAX_AGE", RESET_MAX_AGE))
    except (SignatureExpired, BadSignature):
        return None
    user = session.get(StaffUser, data.get("id")) if isinstance(data, dict) else None
    if user is None or not user.active or user.password_hash[-16:] != data.get("h"):
        return None
    return user


# --- scoping ----------------------------------------------------------------------------------


def county_scope(column) -> sa.ColumnElement[bool]:
    """The WHERE clause limiting ``column`` (a county id) to what the current user may see."""
    if current_user.is_admin:
        return sa.true()
    return column == current_user.county_id


def scoped_or_404(stmt: sa.Select, county_column):
    """Run ``stmt`` (selecting one object) limited to the user's county; 404 if nothing.

    404 rather than 403, so that ids of other counties' objects do not reveal they exist.
    """
    obj = get_session().scalar(stmt.where(county_scope(county_column)))
    if obj is None:
        abort(404)
    return obj


def visible_counties(session: Session) -> list[County]:
    """The counties the current user works for (all, for an administrator)."""
    stmt = sa.select(County).order_by(collated(County.name_nb))
    if not current_user.is_admin:
        stmt = stmt.where(County.id == current_user.county_id)
    return list(session.scalars(stmt))


def staff_required(view: Callable) -> Callable:
    """Require a logged-in, active staff member."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("staff.login", next=request.full_path))
        return view(*args, **kwargs)

    wrapped.staff_route = True
    return wrapped


def admin_required(view: Callable) -> Callable:
    """Require an administrator."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("staff.login", next=request.full_path))
        if not current_user.is_admin:
            abort(404)
        return view(*args, **kwargs)

    wrapped.staff_route = True
    return wrapped


# --- sessions ---------------------------------------------------------------------------------

SESSION_KEY = "staff_sid"


def session_limits() -> staff_sessions.Limits:
    """The idle and absolute session lifetimes from the configuration."""
    config = current_app.config
    return staff_sessions.Limits(
        idle=timedelta(minutes=float(config["STAFF_SESSION_IDLE_MINUTES"])),
        max_age=timedelta(hours=float(config["STAFF_SESSION_MAX_HOURS"])))


def _ended_message(reason: str) -> str:
    config = current_app.config
    if reason == staff_sessions.EndReason.IDLE:
        return _("You were logged out after %(minutes)s minutes without activity. Please log "
                 "in again.", minutes=config["STAFF_SESSION_IDLE_MINUTES"])
    if reason == staff_sessions.EndReason.EXPIRED:
        return _("You were logged out: a session lasts at most %(hours)s hours. Please log in "
                 "again.", hours=config["STAFF_SESSION_MAX_HOURS"])
    return _("Your session has ended. Please log in again.")


# Routes that never look at the signed-in user: choosing a language, the health check and static
# files work (and need no database) whatever the staff session's state.
SESSIONLESS_ENDPOINTS = frozenset({None, "static", "core.set_language", "core.healthz"})


def _check_staff_session() -> None:
    """Before anything else, check the server-side session of a cookie that names a staff
    member; an ended, idle or too old session logs the cookie out with a message.

    The check runs in its own short transactions, before the request's session is opened, and
    writes only when the session ends or at most once a minute (its last-seen time)."""
    user_id = cookie_session.get("_user_id")
    if user_id is None or request.endpoint in SESSIONLESS_ENDPOINTS:
        return
    token = cookie_session.get(SESSION_KEY)
    uid = int(user_id) if str(user_id).isdecimal() else -1
    limits = session_limits()
    engine = get_engine()
    reader = new_session(engine, write=False)
    try:
        row = reader.scalar(sa.select(staff_sessions.StaffSession).where(
            staff_sessions.StaffSession.token_hash == staff_sessions.token_hash(token or "")))
        now = utcnow()
        reason = staff_sessions.ended_reason(row, uid, now, limits)
        needs_write = (reason is not None and row is not None and row.ended_at is None) or (
            reason is None and now - row.last_seen_at >= staff_sessions.TOUCH_INTERVAL)
    finally:
        reader.close()
    if needs_write:
        with session_scope(engine) as writer:
            reason = staff_sessions.check(writer, token, uid, limits)
    if reason is None:
        g.staff_session_user = uid
        return
    cookie_session.clear()
    flash(_ended_message(reason), "error")


@login_manager.user_loader
def _load_user(user_id: str) -> StaffUser | None:
    # Only with a live server-side session checked this request (never from a remember cookie).
    if not user_id.isdecimal() or g.get("staff_session_user") != int(user_id):
        return None
    user = get_session().get(StaffUser, int(user_id))
    return user if user is not None and user.active else None


def init_app(app: Flask) -> None:
    """Set up Flask-Login and the server-side session check; staff session cookies are
    HttpOnly, SameSite=Lax, Secure on HTTPS; no remember-me cookies.

    Two-factor sign-in can be switched off (``STAFF_TWO_FACTOR_REQUIRED = False``) only in
    debug mode: the app refuses to start otherwise."""
    if not app.config["STAFF_TWO_FACTOR_REQUIRED"] and not app.debug:
        raise RuntimeError("STAFF_TWO_FACTOR_REQUIRED can be turned off only in debug mode.")
    login_manager.init_app(app)
    login_manager.login_view = "staff.login"
    login_manager.session_protection = "strong"
    app.before_request(_check_staff_session)
