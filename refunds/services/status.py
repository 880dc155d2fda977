"""The status of a claim: the table of allowed moves, the one function that changes a status
(and publishes what happened: ``refunds.events``, to which the mail and the audit log
subscribe), and what every operation on an existing claim starts with: its row locked, and the
checks of who may change it.

Operations on an existing claim lock its row first (``SELECT … FOR UPDATE`` on PostgreSQL; on
SQLite the write session's ``BEGIN IMMEDIATE`` already holds the write lock), so two caseworkers
cannot both decide the same claim.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit
from core.events import publish
from refunds import events
from refunds.errors import (
    ClaimLocked,
    InvalidTransition,
    NotPermitted,
)
from refunds.models import Claim, ClaimStatus
from refunds.queries import DuplicateWarning

S = ClaimStatus

# The only moves a claim's status may make.
TRANSITIONS: dict[ClaimStatus, frozenset[ClaimStatus]] = {
    S.DRAFT: frozenset({S.SUBMITTED}),
    S.SUBMITTED: frozenset({S.APPROVED, S.REJECTED, S.RETURNED}),
    S.RETURNED: frozenset({S.RESUBMITTED}),
    S.RESUBMITTED: frozenset({S.APPROVED, S.REJECTED, S.RETURNED}),
    S.APPROVED: frozenset({S.PAID}),
    S.REJECTED: frozenset(),
    S.PAID: frozenset(),
}
# Where the participant may change the claim; everything else is read-only for everyone.
EDITABLE = frozenset({S.DRAFT, S.RETURNED})
AUDIT_FIELDS = [
    "status", "reason", "staff_note", "total_ore", "approved_total_ore", "decided_at",
    "decided_by_id", "paid_at", "paid_by_id", "payment_date", "own_car_approved",
]


# The event each status is published with.
EVENTS = {
    S.SUBMITTED: events.submitted, S.RESUBMITTED: events.submitted,
    S.APPROVED: events.decided, S.REJECTED: events.decided, S.RETURNED: events.decided,
    S.PAID: events.paid,
}


# --- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimResult:
    """A claim after an operation, the status it had before, and the warnings staff see."""

    claim: Claim
    previous: ClaimStatus
    warnings: list[DuplicateWarning] = field(default_factory=list)

    @property
    def status(self) -> ClaimStatus:
        """The claim's status now."""
        return self.claim.status


def lock_claim(session: Session, claim_id: int) -> Claim:
    """The claim as the database holds it now, its row locked until the transaction ends."""
    claim = session.scalar(
        sa.select(Claim)
        .where(Claim.id == claim_id)
        .with_for_update(of=Claim)
        .execution_options(populate_existing=True)
    )
    if claim is None:
        raise LookupError(f"no claim {claim_id}")
    return claim


def claim_county_id(claim: Claim) -> int:
    """The county of the claim's offering."""
    return claim.enrollment.offering.county_id


def check_actor(actor, claim: Claim) -> None:
    """Refuse (``NotPermitted``) a staff member who does not work for the claim's county."""
    if not getattr(actor, "is_admin", False) and actor.county_id != claim_county_id(claim):
        raise NotPermitted()


def check_editable(claim: Claim) -> None:
    """Refuse (``ClaimLocked``) a claim the participant may no longer change."""
    if claim.status not in EDITABLE:
        raise ClaimLocked()


# --- the single writer of status ---------------------------------------------------------------


def change_claim_status(
    session: Session, claim: Claim, target: ClaimStatus, *, now: datetime, actor=None,
    changes: Mapping[str, Any] | None = None, audit_extra: Mapping[str, Any] | None = None,
) -> ClaimStatus:
    """Move ``claim`` to ``target`` if the table allows it, applying ``changes`` (column
    values) with it, and publish the move (``EVENTS``) with who made it (``actor``, ``None``
    for the participant) and the audited columns before and after (plus ``audit_extra``).
    Returns the previous status."""
    current = claim.status
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(current, target, claim.reference)
    before = audit.snapshot(claim, AUDIT_FIELDS)
    claim.status = target
    claim.updated_at = now
    for name, value in (changes or {}).items():
        setattr(claim, name, value)
    session.flush()
    after = audit.snapshot(claim, AUDIT_FIELDS)
    if audit_extra:
        after.update(audit_extra)
    facts: dict[str, Any] = {"total_ore": claim.total_ore}
    if target in (S.APPROVED, S.REJECTED, S.RETURNED, S.PAID):
        facts["approved_total_ore"] = claim.approved_total_ore
    if target == S.PAID:
        facts["payment_date"] = claim.payment_date
    publish(EVENTS[target], session, claim=claim, status=target, previous=current, actor=actor,
            now=now, before=before, after=after, **facts)
    return current


