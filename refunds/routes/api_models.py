"""The contract of the claims API (``routes.api``): what a request may say and what an answer
holds, as pydantic models (their JSON Schema is the OpenAPI document's), and the functions that
turn a claim into them.

Money is integer øre (100 øre = 1 krone), as stored; distances and hours are decimal strings
("100.0"), as stored; times are ISO 8601 with their offset (UTC), dates ISO ``YYYY-MM-DD``.
Enumerations are the stored values.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from enrollment.services.cohorts import parse_cohort
from refunds.models import AllowancePeriod, Claim, ClaimLine, ClaimStatus, LineKind, TravelMeans
from refunds.queries import QUEUE_STATUS_FILTERS

# Literal types of the stored values, built from the enumerations (one source of the names).
QueueStatus = Literal[tuple(QUEUE_STATUS_FILTERS)]  # type: ignore[valid-type]
_SENT = tuple(s.value for s in ClaimStatus if s != ClaimStatus.DRAFT)
SentStatus = Literal[_SENT]  # type: ignore[valid-type]
Kind = Literal[tuple(k.value for k in LineKind)]  # type: ignore[valid-type]
Means = Literal[tuple(m.value for m in TravelMeans)]  # type: ignore[valid-type]
Period = Literal[tuple(p.value for p in AllowancePeriod)]  # type: ignore[valid-type]

_COHORT = ("A cohort as YYYY-MM, the month its members start (e.g. 2026-03); only claims for "
           "courses of that cohort.")


def _cohort(value: str | None) -> str | None:
    """A cohort the catalog knows (``parse_cohort``), or a refusal."""
    if value is not None and parse_cohort(value) is None:
        raise ValueError("not a cohort")
    return value


# --- requests ----------------------------------------------------------------------------------


class ClaimFilter(BaseModel):
    """Which claims, as the staff queue filters them, and which page."""

    status: QueueStatus = Field(
        "awaiting_decision",
        description="'awaiting_decision' (submitted or resubmitted: the queue's default), "
                    "'all' (every claim sent in), or one status.")
    offering_id: int | None = Field(None, ge=1, le=2**31 - 1,
                                    description="Only claims for this course offering.")
    cohort: str | None = Field(None, pattern=r"^\d{4}-\d{2}$", description=_COHORT)
    limit: int = Field(50, ge=1, le=100, description="At most this many claims (1–100).")
    cursor: str | None = Field(None, max_length=200,
                               description="Where to go on: a previous page's next_cursor.")

    _check_cohort = field_validator("cohort")(_cohort)


class ClaimExportFilter(BaseModel):
    """Which claims to export."""

    status: Literal["approved", "paid"] = Field(
        "approved", description="'approved' (to pay: the staff page's export) or 'paid'.")
    offering_id: int | None = Field(None, ge=1, le=2**31 - 1,
                                    description="Only claims for this course offering.")
    cohort: str | None = Field(None, pattern=r"^\d{4}-\d{2}$", description=_COHORT)

    _check_cohort = field_validator("cohort")(_cohort)


class ClaimPayment(BaseModel):
    """When an approved claim was paid."""

    model_config = ConfigDict(extra="forbid")

    payment_date: date = Field(description="The day it was paid, YYYY-MM-DD.")


# --- answers -----------------------------------------------------------------------------------


class ClaimOut(BaseModel):
    """A claim as the staff queue lists it."""

    id: int = Field(description="The claim's id (for getClaim and markClaimPaid).")
    reference: str = Field(description="The claim's reference, e.g. 'RR-2026-000123'.")
    status: SentStatus = Field(description="Where the claim stands.")
    participant_name: str = Field(description="The claimant's name.")
    offering_id: int = Field(description="The course offering the travel was for.")
    offering_title: str = Field(description="The course's title in the request's language "
                                            "(Accept-Language), else the office's.")
    total_ore: int = Field(description="The total claimed as computed, in øre (integer; "
                                       "100 øre = 1 krone).")
    approved_total_ore: int | None = Field(description="The total approved, in øre; null "
                                                       "until approved.")
    payable_ore: int = Field(description="What is paid out, in øre: the approved total once "
                                         "decided, else the total claimed.")
    submitted_at: datetime = Field(description="When it was last sent in (ISO 8601).")
    decided_at: datetime | None = Field(description="When it was approved or rejected.")
    paid_at: datetime | None = Field(description="When it was marked paid.")
    payment_date: date | None = Field(description="The day it was paid, as recorded.")


class ClaimPage(BaseModel):
    """One page of claims."""

    items: list[ClaimOut] = Field(description="The claims, oldest submission first.")
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null on "
                                                "the last.")


class ClaimLineOut(BaseModel):
    """One line of a claim: a leg of the journey, an extra cost or an allowance."""

    id: int = Field(description="The line's id.")
    position: int = Field(description="Its place in the claim, from 0.")
    kind: Kind = Field(description="What the line is for.")
    travel_date: date = Field(description="The day of travel or of the cost.")
    description: str = Field(description="The participant's words, if any.")
    from_place: str = Field(description="Where a leg started (empty for other lines).")
    to_place: str = Field(description="Where a leg ended (empty for other lines).")
    means: Means | None = Field(description="How a leg was travelled; null for other lines.")
    km: str | None = Field(description="A leg's kilometres, a decimal string ('100.0').")
    passengers: int = Field(description="Passengers carried on a leg by own car.")
    taxi_reason: str = Field(description="Why a taxi was needed, for a leg by taxi.")
    amount_paid_ore: int | None = Field(description="What the participant paid, in øre "
                                                    "(legs not by own car, extra costs).")
    allowance_period: Period | None = Field(description="The period a meal allowance is for.")
    journey_km: str | None = Field(description="An allowance's journey distance, a decimal "
                                               "string.")
    hours: str | None = Field(description="An allowance's hours away that day, a decimal "
                                          "string.")
    overnight: bool = Field(description="An allowance's journey included a night away.")
    meals_provided: list[Literal["breakfast", "lunch", "dinner"]] = Field(
        description="Meals provided (the allowance is reduced for each).")
    rate_ore: int | None = Field(description="The rate used, in øre (per km for a leg by own "
                                             "car), as it was when the line was computed.")
    supplement_rate_ore: int | None = Field(description="The passenger supplement's rate used, "
                                                        "in øre per km.")
    supplement_units: int | None = Field(description="How many times the supplement was paid "
                                                     "per km.")
    deduction_percent: str | None = Field(description="The meal deductions applied, in percent, "
                                                      "a decimal string.")
    amount_ore: int = Field(description="The amount computed, in øre.")
    adjusted_amount_ore: int | None = Field(description="The amount a caseworker approved "
                                                        "instead, in øre; null if unchanged.")
    adjust_note: str = Field(description="Why the caseworker changed the amount.")
    approved_amount_ore: int = Field(description="The amount approved: the adjusted one, else "
                                                 "the computed one, in øre.")
    receipt_required: bool = Field(description="Whether the rules require a receipt.")
    receipt_id: int | None = Field(description="The receipt that documents the line.")


class ClaimReceiptOut(BaseModel):
    """A receipt's metadata; the file itself is only on the staff page."""

    id: int = Field(description="The receipt's id.")
    content_type: str = Field(description="Its media type: application/pdf, image/jpeg or "
                                          "image/png.")
    size: int = Field(description="Its size in bytes.")
    uploaded_at: datetime = Field(description="When it was uploaded.")


class ClaimDecision(BaseModel):
    """A caseworker's decision on a claim."""

    decided_at: datetime | None = Field(description="When it was approved or rejected; null "
                                                    "when returned for changes.")
    decided_by: str | None = Field(description="The caseworker who decided.")
    reason: str = Field(description="The reason given to the participant (rejected or "
                                    "returned).")
    staff_note: str = Field(description="The office's internal note.")
    own_car_approved: bool | None = Field(description="Whether the office approved the use "
                                                      "of own car; null when not recorded.")


class ClaimPaymentOut(BaseModel):
    """How a claim was paid."""

    paid_at: datetime = Field(description="When it was marked paid.")
    paid_by: str | None = Field(description="Who marked it paid.")
    payment_date: date | None = Field(description="The day it was paid.")


class ClaimDetail(ClaimOut):
    """A claim with everything the staff claim page shows but the files."""

    bank_account: str = Field(description="The account to pay to: 11 digits.")
    comment: str = Field(description="The participant's comment.")
    lines: list[ClaimLineOut] = Field(description="The lines, in the claim's order.")
    receipts: list[ClaimReceiptOut] = Field(description="The receipts' metadata.")
    decision: ClaimDecision | None = Field(description="The decision; null while none is "
                                                       "made.")
    payment: ClaimPaymentOut | None = Field(description="The payment; null until paid.")


def _decimal(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def claim_out(claim: Claim) -> ClaimOut:
    """A claim (its enrollment, participant and offering loaded) as the list shows it."""
    return ClaimOut(**_summary(claim))


def _summary(claim: Claim) -> dict:
    enrollment = claim.enrollment
    return dict(
        id=claim.id, reference=claim.reference or "", status=claim.status.value,
        participant_name=enrollment.participant.full_name, offering_id=claim.offering_id,
        offering_title=enrollment.offering.title(), total_ore=claim.total_ore,
        approved_total_ore=claim.approved_total_ore, payable_ore=claim.payable_ore,
        submitted_at=claim.submitted_at, decided_at=claim.decided_at, paid_at=claim.paid_at,
        payment_date=claim.payment_date)


def _line(line: ClaimLine) -> ClaimLineOut:
    meals = [name for name in ("breakfast", "lunch", "dinner")
             if getattr(line, f"{name}_provided")]
    return ClaimLineOut(
        id=line.id, position=line.position, kind=line.kind.value, travel_date=line.travel_date,
        description=line.description, from_place=line.from_place, to_place=line.to_place,
        means=line.means.value if line.means else None, km=_decimal(line.km),
        passengers=line.passengers, taxi_reason=line.taxi_reason,
        amount_paid_ore=line.amount_paid_ore,
        allowance_period=line.allowance_period.value if line.allowance_period else None,
        journey_km=_decimal(line.journey_km), hours=_decimal(line.hours),
        overnight=line.overnight, meals_provided=meals, rate_ore=line.rate_ore,
        supplement_rate_ore=line.supplement_rate_ore, supplement_units=line.supplement_units,
        deduction_percent=_decimal(line.deduction_percent), amount_ore=line.amount_ore,
        adjusted_amount_ore=line.adjusted_amount_ore, adjust_note=line.adjust_note,
        approved_amount_ore=line.approved_amount_ore, receipt_required=line.receipt_required,
        receipt_id=line.receipt_id)


_DECIDED = (ClaimStatus.APPROVED, ClaimStatus.REJECTED, ClaimStatus.RETURNED, ClaimStatus.PAID)


def claim_detail(claim: Claim) -> ClaimDetail:
    """A claim (loaded by ``queries.claim_select``) with its lines, receipts and decisions."""
    decision = None
    if claim.status in _DECIDED:
        decision = ClaimDecision(
            decided_at=claim.decided_at,
            decided_by=claim.decided_by.name if claim.decided_by else None,
            reason=claim.reason, staff_note=claim.staff_note,
            own_car_approved=claim.own_car_approved)
    payment = None
    if claim.paid_at is not None:
        payment = ClaimPaymentOut(paid_at=claim.paid_at,
                                  paid_by=claim.paid_by.name if claim.paid_by else None,
                                  payment_date=claim.payment_date)
    return ClaimDetail(
        **_summary(claim), bank_account=claim.bank_account, comment=claim.comment,
        lines=[_line(line) for line in claim.lines],
        receipts=[ClaimReceiptOut(id=r.id, content_type=r.content_type, size=r.size,
                                  uploaded_at=r.uploaded_at) for r in claim.receipts],
        decision=decision, payment=payment)
