"""The caseworker's side of a claim: approve (in full or with adjusted amounts), reject, return
for changes, and mark paid. Each goes through ``status.change_claim_status``, which publishes
``events.decided`` or ``events.paid``: the audit event (``refunds.subscribers``) and the
participant's mail (``refunds.mail``) follow as subscribers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from enrollment.models import Enrollment
from refunds.calc import MAX_LINE_ORE
from refunds.errors import (
    InvalidInput,
    InvalidTransition,
    ReasonRequired,
    SelfApproval,
)
from refunds.models import Claim, ClaimStatus
from refunds.services.status import (
    TRANSITIONS,
    ClaimResult,
    change_claim_status,
    check_actor,
    lock_claim,
)

S = ClaimStatus
MAX_REASON = 2000


@dataclass(frozen=True)
class Adjustment:
    """A caseworker's change to one line's amount on approval, with the reason for it."""

    amount_ore: int
    note: str


# --- the caseworker's side ---------------------------------------------------------------------


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired()
    if len(reason) > MAX_REASON:
        raise InvalidInput(code="reason_too_long")
    return reason


def approve_claim(
    session: Session, claim_id: int, *, actor, now: datetime,
    adjustments: Mapping[int, Adjustment] | None = None, staff_note: str = "",
    own_car_approved: bool | None = None,
) -> ClaimResult:
    """Approve a submitted claim in full, or with ``adjustments`` (line id → new amount and a
    note saying why). A caseworker cannot approve a claim made with their own e-mail.

    ``own_car_approved`` records whether the office approved the use of own car (særavtalen
    § 6 nr. 1), with who said so and when; the caseworker's form asks for it whenever the claim
    has legs by own car."""
    claim = lock_claim(session, claim_id)
    check_actor(actor, claim)
    if S.APPROVED not in TRANSITIONS[claim.status]:
        raise InvalidTransition(claim.status, S.APPROVED, claim.reference)
    participant_email = claim.enrollment.participant.email.strip().casefold()
    if participant_email == (actor.email or "").strip().casefold():
        raise SelfApproval()
    adjustments = dict(adjustments or {})
    lines = {line.id: line for line in claim.lines}
    for line_id, adjustment in adjustments.items():
        if line_id not in lines:
            raise InvalidInput(code="unknown_line")
        amount = adjustment.amount_ore
        if isinstance(amount, bool) or not isinstance(amount, int) or not (
            0 <= amount <= MAX_LINE_ORE
        ):
            raise InvalidInput(code="adjustment_invalid")
        if not adjustment.note.strip():
            raise InvalidInput(code="adjustment_note_missing")
    for line_id, adjustment in adjustments.items():
        lines[line_id].adjusted_amount_ore = adjustment.amount_ore
        lines[line_id].adjust_note = adjustment.note.strip()
    approved_total = sum(line.approved_amount_ore for line in claim.lines)
    changes: dict[str, Any] = {
        "approved_total_ore": approved_total, "decided_at": now, "decided_by_id": actor.id,
    }
    if staff_note.strip():
        changes["staff_note"] = staff_note.strip()
    if own_car_approved is not None:
        changes.update(own_car_approved=bool(own_car_approved), own_car_recorded_at=now,
                       own_car_recorded_by_id=actor.id)
    extra = {"adjustments": [
        {"line_id": line_id, "from_ore": lines[line_id].amount_ore, "to_ore": a.amount_ore,
         "note": a.note.strip()}
        for line_id, a in sorted(adjustments.items())
    ]}
    previous = change_claim_status(
        session, claim, S.APPROVED, now=now, actor=actor, changes=changes, audit_extra=extra
    )
    return ClaimResult(claim, previous)


def reject_claim(
    session: Session, claim_id: int, reason: str, *, actor, now: datetime, staff_note: str = ""
) -> ClaimResult:
    """Reject a submitted claim; ``reason`` (required) is sent to the participant."""
    reason = _reason(reason)
    claim = lock_claim(session, claim_id)
    check_actor(actor, claim)
    changes: dict[str, Any] = {"reason": reason, "decided_at": now, "decided_by_id": actor.id}
    if staff_note.strip():
        changes["staff_note"] = staff_note.strip()
    previous = change_claim_status(
        session, claim, S.REJECTED, now=now, actor=actor, changes=changes
    )
    return ClaimResult(claim, previous)


def return_claim(
    session: Session, claim_id: int, reason: str, *, actor, now: datetime, staff_note: str = ""
) -> ClaimResult:
    """Send a submitted claim back for changes; ``reason`` (required) tells the participant
    what to change."""
    reason = _reason(reason)
    claim = lock_claim(session, claim_id)
    check_actor(actor, claim)
    changes: dict[str, Any] = {"reason": reason}
    if staff_note.strip():
        changes["staff_note"] = staff_note.strip()
    previous = change_claim_status(
        session, claim, S.RETURNED, now=now, actor=actor, changes=changes
    )
    return ClaimResult(claim, previous)


def mark_paid(
    session: Session, claim_ids: Sequence[int], *, actor, payment_date: date, now: datetime
) -> list[ClaimResult]:
    """Mark approved claims paid on ``payment_date``, all or none: one claim that is not
    approved (or not the actor's county's) refuses the whole batch."""
    ids = sorted(set(claim_ids))
    if not ids:
        raise InvalidInput(code="nothing_selected")
    claims = list(
        session.scalars(
            sa.select(Claim).where(Claim.id.in_(ids)).order_by(Claim.id)
            .with_for_update(of=Claim).execution_options(populate_existing=True)
            .options(selectinload(Claim.enrollment).selectinload(Enrollment.offering))
        )
    )
    if len(claims) != len(ids):
        raise LookupError("no such claim")
    for claim in claims:
        check_actor(actor, claim)
        if S.PAID not in TRANSITIONS[claim.status]:
            raise InvalidTransition(claim.status, S.PAID, claim.reference)
    return [
        ClaimResult(claim, change_claim_status(
            session, claim, S.PAID, now=now, actor=actor,
            changes={"paid_at": now, "paid_by_id": actor.id, "payment_date": payment_date},
        ))
        for claim in claims
    ]


