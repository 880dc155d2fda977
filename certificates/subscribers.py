"""What follows a certificate event, and what certificates do when enrollment records attendance.

Connected per application by ``certificates.init_app`` (``core.events.subscribe``). Every
subscriber works in the publisher's session and transaction and never commits.

* ``issued`` and ``revoked`` write the audit event of a staff member's action: issued by hand
  (``certificate.issue_by_hand``), issued again (``certificate.reissue``), issued by the rule
  in a staff member's action such as printing (``certificate.issue``), revoked
  (``certificate.revoke``). A certificate the rule issued with no staff member (the
  participant's own request, the ``issue-due`` command) is no staff decision and not audited.
* enrollment's ``attendance_recorded`` issues the certificates that the saved marks make due
  (``issue_for_attendance``), by the staff member who saved them. Marks on a course day still
  under way count only once it has ended: ``flask certificates issue-due`` issues those then.
"""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from certificates import events, services
from core import audit
from core.db import utcnow
from core.events import subscribe
from enrollment.events import attendance_recorded


def audit_issued(_app, *, session, certificate, enrollment, actor, by_hand: bool,
                 reissue: bool, before, completed: bool, summary: dict, **_data) -> None:
    """Write the audit event of a certificate a staff member issued (by hand, or by the rule
    through their action)."""
    if actor is None:
        return
    if reissue:
        action = "certificate.reissue"
    elif by_hand:
        action = "certificate.issue_by_hand"
    else:
        action = "certificate.issue"
    after = {**summary, "completed": completed} if by_hand else summary
    audit.record(session, actor=actor, action=action, object_type="certificate",
                 object_id=certificate.id, county_id=enrollment.offering.county_id,
                 before=before, after=after)


def audit_revoked(_app, *, session, certificate, enrollment, actor, reason: str,
                  **_data) -> None:
    """Write the audit event of a revocation, with the reason."""
    audit.record(session, actor=actor, action="certificate.revoke", object_type="certificate",
                 object_id=certificate.id, county_id=enrollment.offering.county_id,
                 before={"code": certificate.code, "revoked_at": None},
                 after={"code": certificate.code, "revoked_at": certificate.revoked_at,
                        "revoked_reason": reason})


def issue_for_attendance(_app, *, session, offering, actor=None, now: datetime | None = None,
                         **_data) -> None:
    """Issue the certificates of ``offering`` that the attendance just saved makes due (the
    subscriber of enrollment's ``attendance_recorded``: ``session``, ``offering``, ``marks``,
    ``actor``, and ``now``, the moment of the save, when it carries one)."""
    services.issue_due(session, offering.id, now=now or utcnow(), actor=actor)


def init_app(app: Flask) -> None:
    """Connect the subscribers to ``app``."""
    subscribe(app, events.issued, audit_issued)
    subscribe(app, events.revoked, audit_revoked)
    subscribe(app, attendance_recorded, issue_for_attendance)
