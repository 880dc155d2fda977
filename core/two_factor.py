"""The second factor of staff sign-in: TOTP codes (RFC 6238) and single-use recovery codes.

The TOTP secret is kept server-side, sealed with a key derived from ``SECRET_KEY``: a copy of
the database alone (a backup, a dump) does not give anyone the codes. The seal is Fernet from
the maintained ``cryptography`` package (AES-128-CBC with an HMAC-SHA256 tag, encrypt-then-MAC),
keyed by an HMAC-SHA256 of ``SECRET_KEY`` for this one purpose. Rotating ``SECRET_KEY`` makes
the sealed secrets unreadable: the accounts then need their second factor reset (an
administrator, or ``flask staff reset-two-factor``), and sign-in says so rather than letting
anyone enrol anew.

A code is accepted once: the last accepted time step is stored and only a later one passes,
through a conditional UPDATE, so two workers cannot both accept the same code. Recovery codes
carry 80 random bits and are stored as their SHA-256, like manage links.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
import segno
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit, staff_sessions
from core.auth import StaffUser
from core.db import Base, UTCDateTime, utcnow

ISSUER = "Kursportal"
STEP = 30  # seconds, RFC 6238's default and what every authenticator app uses
RECOVERY_CODES = 10


class RecoveryCode(Base):
    """One single-use recovery code of a staff member, stored hashed."""

    __tablename__ = "staff_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SecretUnreadable(Exception):
    """The stored secret was sealed with another SECRET_KEY (or altered)."""


# --- sealing the secret ---------------------------------------------------------------------------


def _fernet(secret_key: str) -> Fernet:
    key = hmac.new(secret_key.encode(), b"kursportal-totp-seal", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(plain: str, secret_key: str) -> str:
    """``plain`` encrypted and authenticated with a key derived from ``secret_key``."""
    return _fernet(secret_key).encrypt(plain.encode()).decode()


def unseal(sealed: str, secret_key: str) -> str:
    """The text ``seal`` sealed; SecretUnreadable if the key differs or the text was altered."""
    try:
        return _fernet(secret_key).decrypt(sealed.encode()).decode()
    except (InvalidToken, ValueError):
        raise SecretUnreadable() from None


# --- enrolment --------------------------------------------------------------------------------


def is_enrolled(user: StaffUser) -> bool:
    """Whether the account has a confirmed second factor."""
    return user.totp_secret is not None and user.totp_confirmed_at is not None


def begin_enrolment(user: StaffUser, secret_key: str) -> None:
    """Give an account without a confirmed second factor a fresh secret to confirm (a new one at
    every sign-in, so a secret shown earlier and never confirmed is worthless)."""
    user.totp_secret = seal(pyotp.random_base32(), secret_key)
    user.totp_confirmed_at = None
    user.totp_last_step = None


def secret_of(user: StaffUser, secret_key: str) -> str:
    """The account's TOTP secret (base32), unsealed."""
    if user.totp_secret is None:
        raise SecretUnreadable()
    return unseal(user.totp_secret, secret_key)


def provisioning_uri(user: StaffUser, secret: str) -> str:
    """The ``otpauth://`` address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The QR code of ``uri`` as an SVG ``data:`` address: an image the CSP allows
    (``img-src 'self' data:``), no script and no second request needed."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def _new_recovery_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(10)).decode()  # 80 bits, 16 characters
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def _normalise(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _code_hash(code: str) -> str:
    return hashlib.sha256(_normalise(code).encode()).hexdigest()


def confirm_enrolment(session: Session, user: StaffUser, code: str,
                      secret_key: str) -> list[str] | None:
    """Confirm the pending secret with a code from the app; returns the new recovery codes
    (shown once), or None when the code is wrong."""
    if user.totp_secret is None or not _accept_totp(session, user, code, secret_key):
        return None
    user.totp_confirmed_at = utcnow()
    audit.record(session, actor=user, action="staff.two_factor_setup", object_type="staff_user",
                 object_id=user.id, county_id=user.county_id)
    return replace_recovery_codes(session, user)


def replace_recovery_codes(session: Session, user: StaffUser) -> list[str]:
    """Drop the account's recovery codes and make ``RECOVERY_CODES`` new ones."""
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    session.add_all(RecoveryCode(user_id=user.id, code_hash=_code_hash(c)) for c in codes)
    session.flush()
    return codes


def reset(session: Session, user: StaffUser, *, actor: StaffUser | None) -> None:
    """Forget the account's second factor (it is set up again at the next sign-in) and end its
    sessions; audited with ``actor`` (None: the command line)."""
    before = {"two_factor": is_enrolled(user)}
    user.totp_secret = None
    user.totp_confirmed_at = None
    user.totp_last_step = None
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    staff_sessions.end_all(session, user.id, staff_sessions.EndReason.TWO_FACTOR_RESET)
    audit.record(session, actor=actor, action="staff.two_factor_reset", object_type="staff_user",
                 object_id=user.id, county_id=user.county_id, before=before,
                 after={"two_factor": False})
    session.flush()


# --- signing in -------------------------------------------------------------------------------


def _accept_totp(session: Session, user: StaffUser, code: str, secret_key: str) -> bool:
    code = code.strip().replace(" ", "")
    if not (len(code) == 6 and code.isdecimal()):
        return False
    totp = pyotp.TOTP(secret_of(user, secret_key))
    now_step = int(utcnow().timestamp()) // STEP
    # One step either side: the phone's clock and the time to type the code.
    for step in (now_step - 1, now_step, now_step + 1):
        if hmac.compare_digest(totp.at(step * STEP), code):
            claimed = session.execute(
                sa.update(StaffUser)
                .where(StaffUser.id == user.id,
                       sa.or_(StaffUser.totp_last_step.is_(None),
                              StaffUser.totp_last_step < step))
                .values(totp_last_step=step)
                .execution_options(synchronize_session=False)
            ).rowcount
            if claimed:
                user.totp_last_step = step
            return bool(claimed)
    return False


def verify(session: Session, user: StaffUser, code: str, secret_key: str) -> str | None:
    """Check a sign-in code: ``"totp"`` or ``"recovery"`` for what was accepted, None if
    nothing was (a wrong code, or one used already)."""
    if _accept_totp(session, user, code, secret_key):
        return "totp"
    if len(_normalise(code)) != 16:
        return None
    used = session.execute(
        sa.update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _code_hash(code),
               RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not used:
        return None
    audit.record(session, actor=user, action="staff.recovery_code_used", object_type="staff_user",
                 object_id=user.id, county_id=user.county_id,
                 after={"left": recovery_codes_left(session, user.id)})
    return "recovery"


def recovery_codes_left(session: Session, user_id: int) -> int:
    """How many unused recovery codes the account has."""
    return session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)))
