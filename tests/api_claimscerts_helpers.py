"""What the claims and certificates API tests share: a staff member's token, the headers that
carry it, and the audit log's actions."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from core.api import tokens
from core.audit import AuditEvent
from core.auth import StaffUser
from core.db import session_scope, utcnow
from core.models import County


def token(app, make_staff, *, email: str, county: str = "vestland", can_write: bool = True,
          new: bool = True) -> str:
    """A token of a staff member of ``county`` (made now unless ``new`` is False) for it;
    returns its text."""
    if new:
        make_staff(email=email, county=county, name=email.split("@")[0].title())
    with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
        owner = session.scalar(sa.select(StaffUser).where(StaffUser.email == email))
        county_id = session.scalar(sa.select(County.id).where(County.slug == county))
        _token, text = tokens.create(session, owner, county_id=county_id, name="Økonomi",
                                     can_write=can_write,
                                     expires_on=(utcnow() + timedelta(days=30)).date(),
                                     now=utcnow())
        return text


def bearer(text: str, lang: str = "en") -> dict:
    """The headers of a call with ``text``, in ``lang``."""
    return {"Authorization": f"Bearer {text}", "Accept-Language": lang}


def audit_log(app) -> list[tuple[str, str, dict | None]]:
    """Every audit event after the tokens' creation: (action, actor e-mail, after)."""
    with session_scope(app.extensions["kp_engine"]) as session:
        return [(e.action, e.actor_email, e.after) for e in session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action != "api_token.create")
            .order_by(AuditEvent.id))]
