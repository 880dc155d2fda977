"""The signed token of an invitation link: ``/courses/<id>/enroll?invitation=<token>``.

The link carries no personal data, only a signature over the roster entry's id, the offering's
id and a fingerprint of the address the invitation went to; it stops working after
``MAX_AGE`` (the form itself closes at the enrollment deadline), for another offering, and
when the entry is gone or its address changed (a re-imported roster). The form it opens is
pre-filled with the entry's name, role, HPR number and e-mail address: what the invitee
already knows, sent to the invitee's own address. Whoever the invitee forwards the link to
sees those four things about the invitee and nothing else of the roster (no municipality,
start date or other people), and enrolling through it follows every rule of the public form.
"""

from __future__ import annotations

import hashlib

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session, joinedload

from enrollment.models import Roster, RosterEntry

SALT = "roster-invitation"
MAX_AGE = 60 * 24 * 3600  # seconds: longer than enrollment stays open after an invitation


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _fingerprint(email: str) -> str:
    return hashlib.sha256(email.lower().encode()).hexdigest()[:16]


def make_token(entry: RosterEntry, offering_id: int) -> str:
    """A signed token for the invitation of ``entry`` to the offering."""
    return _serializer().dumps({"e": entry.id, "o": offering_id, "h": _fingerprint(entry.email)})


def invited_entry(session: Session, token: str, offering_id: int) -> RosterEntry | None:
    """The roster entry a token invites to the offering, if it is valid, unexpired, for this
    offering, and the entry still has the address it was sent to; else None."""
    try:
        data = _serializer().loads(token, max_age=MAX_AGE)
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(data, dict) or data.get("o") != offering_id:
        return None
    entry_id = data.get("e")
    if not isinstance(entry_id, int):
        return None
    entry = session.get(RosterEntry, entry_id,
                        options=[joinedload(RosterEntry.roster).joinedload(Roster.county)])
    if entry is None or not entry.email or _fingerprint(entry.email) != data.get("h"):
        return None
    return entry
