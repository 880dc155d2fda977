"""What the claim pages read: a claim with its lines and receipts, the staff queue, a receipt's
bytes, an enrollment's claims, and the duplicate warnings staff see.

The selects are joined to the claim's offering, so a view scopes them by county with
``core.auth.county_scope(CourseOffering.county_id)`` or ``scoped_or_404``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased, contains_eager, joinedload, selectinload

from enrollment.models import CourseOffering, Enrollment, Participant
from refunds.models import AWAITING_DECISION, Claim, ClaimLine, ClaimStatus, Receipt

S = ClaimStatus


def claim_select(claim_id: int) -> sa.Select:
    """A claim with everything its page shows, joined to its offering so a view can scope it
    by ``CourseOffering.county_id`` (``core.auth.scoped_or_404``)."""
    return (
        sa.select(Claim)
        .join(Claim.enrollment)
        .join(Enrollment.offering)
        .where(Claim.id == claim_id)
        .options(
            contains_eager(Claim.enrollment).contains_eager(Enrollment.offering)
            .joinedload(CourseOffering.county),
            contains_eager(Claim.enrollment).joinedload(Enrollment.participant),
            selectinload(Claim.lines),
            selectinload(Claim.receipts),
            joinedload(Claim.scheme),
        )
    )


def queue_select(
    *, statuses: Sequence[ClaimStatus] = AWAITING_DECISION, offering_id: int | None = None,
    cohort: date | None = None,
) -> sa.Select:
    """The staff queue, oldest submission first; drafts never appear. The view adds
    ``county_scope(CourseOffering.county_id)``."""
    stmt = (
        sa.select(Claim)
        .join(Claim.enrollment)
        .join(Enrollment.offering)
        .join(Enrollment.participant)
        .where(Claim.status.in_([s for s in statuses if s != S.DRAFT]))
        .options(
            contains_eager(Claim.enrollment).contains_eager(Enrollment.offering)
            .joinedload(CourseOffering.county),
            contains_eager(Claim.enrollment).contains_eager(Enrollment.participant),
        )
        .order_by(Claim.submitted_at, Claim.id)
    )
    if offering_id is not None:
        stmt = stmt.where(Enrollment.offering_id == offering_id)
    if cohort is not None:
        stmt = stmt.where(CourseOffering.cohort == cohort)
    return stmt


def receipt_select(receipt_id: int) -> sa.Select:
    """A receipt with its bytes, joined to the claim's offering for scoping by county."""
    return (
        sa.select(Receipt)
        .join(Receipt.claim)
        .join(Claim.enrollment)
        .join(Enrollment.offering)
        .where(Receipt.id == receipt_id)
        .options(sa.orm.undefer(Receipt.data))
    )


def claims_for_enrollment(session: Session, enrollment_id: int) -> list[Claim]:
    """An enrollment's claims, oldest first, with their lines and receipts (not the bytes)."""
    return list(
        session.scalars(
            sa.select(Claim)
            .where(Claim.enrollment_id == enrollment_id)
            .options(selectinload(Claim.lines), selectinload(Claim.receipts))
            .order_by(Claim.id)
        )
    )


@dataclass(frozen=True)
class DuplicateWarning:
    """A possible duplicate for staff to look at: the same person claiming the same travel
    date on another claim (``same_date``), or the same receipt file on another claim
    (``same_receipt``)."""

    kind: str
    claim_id: int
    other_claim_id: int
    other_reference: str
    travel_date: date | None = None
    sha256: str | None = None


def duplicate_warnings(
    session: Session, claim_ids: Sequence[int]
) -> dict[int, list[DuplicateWarning]]:
    """Possible duplicates of each claim among other submitted claims, in two queries:
    the same participant e-mail with the same travel date, and the same receipt file."""
    result: dict[int, list[DuplicateWarning]] = {claim_id: [] for claim_id in claim_ids}
    if not claim_ids:
        return result
    this, other = aliased(Claim), aliased(Claim)
    this_line, other_line = aliased(ClaimLine), aliased(ClaimLine)
    this_enr, other_enr = aliased(Enrollment), aliased(Enrollment)
    this_person, other_person = aliased(Participant), aliased(Participant)
    same_dates = session.execute(
        sa.select(this.id, other.id, other.reference, this_line.travel_date)
        .select_from(this)
        .join(this_line, this_line.claim_id == this.id)
        .join(this_enr, this_enr.id == this.enrollment_id)
        .join(this_person, this_person.id == this_enr.participant_id)
        .join(other_person, other_person.email == this_person.email)
        .join(other_enr, other_enr.participant_id == other_person.id)
        .join(other, other.enrollment_id == other_enr.id)
        .join(other_line, sa.and_(other_line.claim_id == other.id,
                                  other_line.travel_date == this_line.travel_date))
        .where(this.id.in_(claim_ids), other.id != this.id, other.status != S.DRAFT)
        .distinct()
        .order_by(this.id, this_line.travel_date, other.id)
    ).all()
    for claim_id, other_id, other_ref, day in same_dates:
        result[claim_id].append(DuplicateWarning("same_date", claim_id, other_id, other_ref,
                                                 travel_date=day))
    this_receipt, other_receipt = aliased(Receipt), aliased(Receipt)
    same_files = session.execute(
        sa.select(this_receipt.claim_id, other.id, other.reference, this_receipt.sha256)
        .select_from(this_receipt)
        .join(other_receipt, sa.and_(other_receipt.sha256 == this_receipt.sha256,
                                     other_receipt.claim_id != this_receipt.claim_id))
        .join(other, other.id == other_receipt.claim_id)
        .where(this_receipt.claim_id.in_(claim_ids), other.status != S.DRAFT)
        .distinct()
        .order_by(this_receipt.claim_id, this_receipt.sha256, other.id)
    ).all()
    for claim_id, other_id, other_ref, digest in same_files:
        result[claim_id].append(DuplicateWarning("same_receipt", claim_id, other_id, other_ref,
                                                 sha256=digest))
    return result
