"""The participant's side of a claim: start a draft, save its lines (computed by the scheme's
rates), check the amounts, delete a draft, and submit it.

Plain functions that take a session and plain values, flush and never commit; the request's
edge commits once. ``submit_claim`` publishes ``events.submitted`` (through
``status.change_claim_status``), which records the participant's mail, and returns the claim,
the previous status and the duplicate warnings staff see.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from core.i18n import to_local
from enrollment.models import Enrollment
from refunds.bank import validate_account
from refunds.calc import SchemeRules, compute_claim
from refunds.eligibility import DEFAULT_DEADLINE_MONTHS, check_eligible, check_window
from refunds.errors import (
    ClaimIncomplete,
    ClaimLocked,
    InvalidAccountNumber,
    InvalidInput,
    LinesRefused,
)
from refunds.journey import check_attended, date_errors, journey_window
from refunds.lines import (
    AllowanceInput,
    ComputedClaim,
    ComputedLine,
    CostInput,
    LegInput,
    LineInput,
    NightInput,
)
from refunds.models import Claim, ClaimLine, ClaimStatus, LineKind, RateScheme, Receipt
from refunds.queries import duplicate_warnings
from refunds.services.rates import scheme_for
from refunds.services.status import (
    ClaimResult,
    change_claim_status,
    check_editable,
    lock_claim,
)

S = ClaimStatus
MAX_COMMENT = 2000


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
    claim = lock_claim(session, claim_id)
    check_editable(claim)
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
    claim = lock_claim(session, claim_id)
    if claim.status != S.DRAFT or claim.first_submitted_at is not None:
        raise ClaimLocked()
    session.delete(claim)
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
    claim = lock_claim(session, claim_id)
    check_editable(claim)
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


