"""What refunds does when a claim's status changes (``refunds.events``), besides the mail
(``refunds.mail``): a staff member's change is written to the audit log, with who, when and the
audited columns before and after."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from core import audit
from core.events import subscribe
from refunds import events
from refunds.audit_words import CLAIM_ACTIONS
from refunds.models import Claim, ClaimStatus


def audit_status_change(_sender, *, session: Session, claim: Claim, status: ClaimStatus,
                        actor, before: dict, after: dict, **_facts: Any) -> None:
    """Subscriber of every claim event: audit a staff member's change (``claim.<status>``);
    the participant's own steps are not staff decisions and are not audited."""
    if actor is None:
        return
    audit.record(
        session, actor=actor, action=CLAIM_ACTIONS[status], object_type="claim",
        object_id=claim.id, county_id=claim.enrollment.offering.county_id, before=before,
        after=after,
    )


def init_app(app: Flask) -> None:
    """Connect the audit log to the claim events of ``app``."""
    for signal in (events.submitted, events.decided, events.paid):
        subscribe(app, signal, audit_status_change)
