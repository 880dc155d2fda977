"""Domain operations of refunds: draft, receipts, submit, approve, reject, return, mark paid.

Plain functions that take a session and plain values, flush and never commit; the view or CLI
command commits once. Every status change goes through ``change_claim_status`` and its table of
allowed moves, which also writes the audit event for a staff member's change. Operations on an
existing claim lock its row first (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite the write
session's ``BEGIN IMMEDIATE`` already holds the write lock), so two caseworkers cannot both
decide the same claim.

Mail is the caller's job: each operation returns the claim (with its enrollment and participant
loaded) and, for staff decisions, the previous status and the reason given.

Neighbours by subject: ``errors`` (the exceptions), ``eligibility`` (who may claim, and when),
``queries`` (what the pages read, and duplicate warnings), ``rates`` (schemes and rates),
``calc`` (the arithmetic), ``uploads`` (receipt checks), ``bank`` (account numbers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from core import audit
from core.i18n import to_local
from enrollment.models import Enrollment
from refunds.bank import InvalidAccountNumber, validate_account
from refunds.calc import (
    MAX_LINE_ORE,
    AllowanceInput,
    ComputedClaim,
    ComputedLine,
    CostInput,
    LegInput,
    LineInput,
    LinesRefused,
    NightInput,
    SchemeRules,
    compute_claim,
)
from refunds.eligibility import DEFAULT_DEADLINE_MONTHS, check_eligible, check_window
from refunds.errors import (
    ClaimIncomplete,
    ClaimLocked,
    InvalidInput,
    InvalidTransition,
    NotPermitted,
    ReasonRequired,
    SelfApproval,
)
from refunds.journey import check_attended, date_errors, journey_window
from refunds.models import Claim, ClaimLine, ClaimStatus, LineKind, RateScheme, Receipt
from refunds.queries import DuplicateWarning, duplicate_warnings
from refunds.rates import scheme_for
from refunds.uploads import CheckedReceipt

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
MAX_RECEIPTS_PER_CLAIM = 20
MAX_COMMENT = 2000
MAX_REASON = 2000
AUDIT_FIELDS = [
    "status", "reason", "staff_note", "total_ore", "approved_total_ore", "decided_at",
    "decided_by_id", "paid_at", "paid_by_id", "payment_date", "own_car_approved",
]


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


@dataclass(frozen=True)
class Adjustment:
    """A caseworker's change to one line's amount on approval, with the reason for it."""

    amount_ore: int
    note: str


def _lock_claim(session: Session, claim_id: int) -> Claim:
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


def _county_id(claim: Claim) -> int:
    return claim.enrollment.offering.county_id


def _check_actor(actor, claim: Claim) -> None:
    if not getattr(actor, "is_admin", False) and actor.county_id != _county_id(claim):
        raise NotPermitted()


def _check_editable(claim: Claim) -> None:
    if claim.status not in EDITABLE:
        raise ClaimLocked()


# --- the single writer of status ---------------------------------------------------------------


def change_claim_status(
    session: Session, claim: Claim, target: ClaimStatus, *, now: datetime, actor=None,
    changes: Mapping[str, Any] | None = None, audit_extra: Mapping[str, Any] | None = None,
) -> ClaimStatus:
    """Move ``claim`` to ``target`` if the table allows it, applying ``changes`` (column
    values) with it; a staff ``actor``'s change writes an audit event. Returns the previous
    status."""
    current = claim.status
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(current, target, claim.reference)
    before = audit.snapshot(claim, AUDIT_FIELDS)
    claim.status = target
    claim.updated_at = now
    for name, value in (changes or {}).items():
        setattr(claim, name, value)
    session.flush()
    if actor is not None:
        after = audit.snapshot(claim, AUDIT_FIELDS)
        if audit_extra:
            after.update(audit_extra)
        audit.record(
            session, actor=actor, action=f"claim.{target.value}", object_type="claim",
            object_id=claim.id, county_id=_county_id(claim), before=before, after=after,
        )
    return current


# --- the participant's side --------------------------------------------------------------------


def reference_for(claim_id: int, created: datetime) -> str:
    """The human reference of a claim: 'RR-2026-000123'."""
    return f"RR-{to_local(created).year}-{claim_id:06d}"


def create_draft(
    session: Session, enrollment: Enrollment, *, now: datetime,
    deadline_months: int = DEFAULT_DEADLINE_MONTHS,
) -> Claim:
    """Start a claim for an eligible enrollment, or return its open draft if it has one (so a
    button pressed twice makes one draft). Drafts may be started before the first session."""
    check_eligible(enrollment)
    check_window(enrollment, now, deadline_months, allow_early=True)
    existing = session.scalar(
        sa.select(Claim)
        .where(Claim.enrollment_id == enrollment.id, Claim.status == S.DRAFT)
        .order_by(Claim.id)
        .limit(1)
    )
    if existing is not None:
        return existing
    claim = Claim(
        enrollment=enrollment, scheme=scheme_for(session, enrollment.offering.county_id),
        status=S.DRAFT, created_at=now, updated_at=now,
    )
    session.add(claim)
    session.flush()
    claim.reference = reference_for(claim.id, now)
    session.flush()
    return claim


def _line_values(computed: ComputedLine) -> dict[str, Any]:
    """The columns of a ``ClaimLine`` for a computed line."""
    source = computed.source
    values: dict[str, Any] = {
        "kind": computed.kind, "travel_date": source.travel_date,
        "amount_ore": computed.amount_ore, "rate_id": computed.rate_id,
        "rate_ore": computed.rate_ore, "supplement_rate_id": computed.supplement_rate_id,
        "supplement_rate_ore": computed.supplement_rate_ore,
        "supplement_units": computed.supplement_units,
        "deduction_percent": computed.deduction_percent,
        "receipt_required": computed.receipt_required,
    }
    if isinstance(source, LegInput):
        values.update(
            from_place=source.from_place.strip(), to_place=source.to_place.strip(),
            means=source.means, km=Decimal(source.km) if source.km is not None else None,
            passengers=source.passengers, amount_paid_ore=source.amount_paid_ore,
            taxi_reason=source.taxi_reason.strip(), best_class=source.best_class,
            receipt_id=source.receipt_id,
        )
    elif isinstance(source, CostInput):
        values.update(description=source.description.strip(),
                      amount_paid_ore=source.amount_paid_ore, receipt_id=source.receipt_id)
    elif isinstance(source, AllowanceInput):
        values.update(
            description=source.description.strip(), allowance_period=computed.allowance_period,
            journey_km=Decimal(source.journey_km), hours=Decimal(source.hours),
            overnight=source.overnight,
            breakfast_provided=source.breakfast_provided, lunch_provided=source.lunch_provided,
            dinner_provided=source.dinner_provided,
        )
    else:
        values.update(description=source.description.strip())
    return values


def line_input(line: ClaimLine) -> LineInput:
    """The input a stored line was computed from (to recompute it, or to fill a form)."""
    if line.kind == LineKind.LEG:
        return LegInput(
            travel_date=line.travel_date, from_place=line.from_place, to_place=line.to_place,
            means=line.means, km=line.km, passengers=line.passengers,
            amount_paid_ore=line.amount_paid_ore, taxi_reason=line.taxi_reason,
            best_class=line.best_class, receipt_id=line.receipt_id,
        )
    if line.kind == LineKind.NIGHT_SUPPLEMENT:
        return NightInput(travel_date=line.travel_date, description=line.description)
    if line.kind == LineKind.MEAL_ALLOWANCE:
        return AllowanceInput(
            travel_date=line.travel_date, journey_km=line.journey_km, hours=line.hours,
            overnight=line.overnight, breakfast_provided=line.breakfast_provided,
            lunch_provided=line.lunch_provided,
            dinner_provided=line.dinner_provided, description=line.description,
        )
    return CostInput(kind=line.kind, travel_date=line.travel_date,
                     amount_paid_ore=line.amount_paid_ore, description=line.description,
                     receipt_id=line.receipt_id)


def _rules(session: Session, claim: Claim) -> SchemeRules:
    scheme = session.scalar(
        sa.select(RateScheme).where(RateScheme.id == claim.scheme_id)
        .options(selectinload(RateScheme.rates))
    )
    return SchemeRules.from_scheme(scheme)


def _compute(session: Session, claim: Claim, lines: Sequence[LineInput]) -> ComputedClaim:
    """Compute ``lines`` by the claim's scheme, refusing (``LinesRefused``, with every line's
    problems in line order) those a rule refuses or dated outside the journey window."""
    rules = _rules(session, claim)
    outside = date_errors(lines, journey_window(session, claim.enrollment, claim.scheme))
    try:
        computed = compute_claim(rules, lines)
    except LinesRefused as exc:
        errors = sorted([*exc.errors, *outside], key=lambda e: e.index)
        raise LinesRefused(errors) from exc
    if outside:
        raise LinesRefused(outside)
    return computed


def preview_claim(session: Session, claim: Claim, lines: Sequence[LineInput]) -> ComputedClaim:
    """The amounts ``lines`` would give, checked as saving them would check them; nothing is
    stored ("Check amounts")."""
    return _compute(session, claim, lines)


def check_can_submit(
    session: Session, claim: Claim, *, now: datetime,
    deadline_months: int = DEFAULT_DEADLINE_MONTHS,
) -> None:
    """Raise unless the claim's enrollment may submit now: refunded at all (``NotEligible``),
    inside the claim window (``OutsideClaimWindow``), and with at least one session attended
    (``NoAttendance``). Say so before anything is saved."""
    enrollment = claim.enrollment
    check_eligible(enrollment)
    check_window(enrollment, now, deadline_months)
    check_attended(session, enrollment)


def update_draft(
    session: Session, claim_id: int, *, lines: Sequence[LineInput], bank_account: str,
    comment: str, now: datetime,
) -> ComputedClaim:
    """Replace a draft's (or returned claim's) lines, bank account and comment, recomputing
    every amount. Raises ``LinesRefused`` naming each line a rule refuses, and
    ``InvalidAccountNumber`` for a bank account given but not valid."""
    claim = _lock_claim(session, claim_id)
    _check_editable(claim)
    account = validate_account(bank_account) if bank_account.strip() else ""
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(code="comment_too_long")
    receipt_ids = set(
        session.scalars(sa.select(Receipt.id).where(Receipt.claim_id == claim.id))
    )
    for line in lines:
        wanted = getattr(line, "receipt_id", None)
        if wanted is not None and wanted not in receipt_ids:
            raise InvalidInput(code="unknown_receipt")
    computed = _compute(session, claim, lines)
    claim.lines = [
        ClaimLine(position=i, **_line_values(c)) for i, c in enumerate(computed.lines)
    ]
    claim.total_ore = computed.total_ore
    claim.bank_account = account
    claim.comment = comment
    claim.updated_at = now
    session.flush()
    return computed


def delete_draft(session: Session, claim_id: int) -> None:
    """Delete a draft that was never submitted, with its receipts."""
    claim = _lock_claim(session, claim_id)
    if claim.status != S.DRAFT or claim.first_submitted_at is not None:
        raise ClaimLocked()
    session.delete(claim)
    session.flush()


def attach_receipt(
    session: Session, claim_id: int, checked: CheckedReceipt, *, now: datetime,
    line_id: int | None = None,
) -> Receipt:
    """Store a receipt already checked and cleaned (``uploads.read_receipt``, outside the
    transaction) on the claim, linked to one of its lines if ``line_id`` is given."""
    claim = _lock_claim(session, claim_id)
    _check_editable(claim)
    count = session.scalar(
        sa.select(sa.func.count()).select_from(Receipt).where(Receipt.claim_id == claim.id)
    )
    if count >= MAX_RECEIPTS_PER_CLAIM:
        raise InvalidInput(code="too_many_receipts")
    line = None
    if line_id is not None:
        line = session.scalar(
            sa.select(ClaimLine).where(ClaimLine.id == line_id, ClaimLine.claim_id == claim.id)
        )
        if line is None:
            raise InvalidInput(code="unknown_line")
    receipt = Receipt(
        claim_id=claim.id, data=checked.data, sha256=checked.sha256,
        original_sha256=checked.original_sha256, content_type=checked.content_type,
        size=checked.size, original_name=checked.original_name, width=checked.width,
        height=checked.height, uploaded_at=now,
    )
    session.add(receipt)
    session.flush()
    if line is not None:
        line.receipt_id = receipt.id
    claim.updated_at = now
    session.flush()
    return receipt


def remove_receipt(session: Session, claim_id: int, receipt_id: int, *, now: datetime) -> None:
    """Delete a receipt of an editable claim; lines it documented lose their link."""
    claim = _lock_claim(session, claim_id)
    _check_editable(claim)
    receipt = session.scalar(
        sa.select(Receipt).where(Receipt.id == receipt_id, Receipt.claim_id == claim.id)
    )
    if receipt is None:
        raise InvalidInput(code="unknown_receipt")
    session.execute(
        sa.update(ClaimLine).where(ClaimLine.receipt_id == receipt.id).values(receipt_id=None)
        .execution_options(synchronize_session="fetch")
    )
    session.delete(receipt)
    claim.updated_at = now
    session.flush()


def submit_claim(
    session: Session, claim_id: int, *, now: datetime,
    deadline_months: int = DEFAULT_DEADLINE_MONTHS,
) -> ClaimResult:
    """Send a draft in (or a returned claim back in) after recomputing it with the rates in
    force. Refuses when the enrollment gives no refund (``NotEligible``), outside the claim
    window (``OutsideClaimWindow``), before any session is attended (``NoAttendance``), for
    lines dated outside the journey window (``LinesRefused``), and lists what is missing
    (``ClaimIncomplete``)."""
    claim = _lock_claim(session, claim_id)
    _check_editable(claim)
    check_can_submit(session, claim, now=now, deadline_months=deadline_months)

    lines = list(claim.lines)
    computed = _compute(session, claim, [line_input(line) for line in lines])
    for line, result in zip(lines, computed.lines, strict=True):
        for name, value in _line_values(result).items():
            setattr(line, name, value)
    claim.total_ore = computed.total_ore

    problems = []
    if not lines:
        problems.append("no_lines")
    missing = [line.position for line in lines if line.receipt_missing]
    if missing:
        problems.append("receipts_missing")
    if not claim.bank_account:
        problems.append("bank_account_missing")
    else:
        try:
            validate_account(claim.bank_account)
        except InvalidAccountNumber:
            problems.append("bank_account_invalid")
    if problems:
        raise ClaimIncomplete(problems, missing)

    target = S.SUBMITTED if claim.status == S.DRAFT else S.RESUBMITTED
    previous = change_claim_status(
        session, claim, target, now=now,
        changes={"submitted_at": now, "first_submitted_at": claim.first_submitted_at or now},
    )
    return ClaimResult(claim, previous, duplicate_warnings(session, [claim.id])[claim.id])


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
    claim = _lock_claim(session, claim_id)
    _check_actor(actor, claim)
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
    claim = _lock_claim(session, claim_id)
    _check_actor(actor, claim)
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
    claim = _lock_claim(session, claim_id)
    _check_actor(actor, claim)
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
        _check_actor(actor, claim)
        if S.PAID not in TRANSITIONS[claim.status]:
            raise InvalidTransition(claim.status, S.PAID, claim.reference)
    return [
        ClaimResult(claim, change_claim_status(
            session, claim, S.PAID, now=now, actor=actor,
            changes={"paid_at": now, "paid_by_id": actor.id, "payment_date": payment_date},
        ))
        for claim in claims
    ]


