"""What the claim pages read: a claim with its lines and receipts, the staff queue, a receipt's
bytes, an enrollment's claims, and the duplicate warnings staff see.

The selects are joined to the claim's offering, so a view scopes them by county with
``core.auth.county_scope(CourseOffering.county_id)`` or ``scoped_or_404``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased, contains_eager, joinedload, selectinload

from enrollment.models import CourseOffering, Enrollment, Participant
from refunds.models import AWAITING_DECISION, Claim, ClaimLine, ClaimStatus, Receipt

S = ClaimStatus


# What staff may open of a claim and its receipts, besides the county scope: a draft is the
# participant's own until it is sent in.
STAFF_VISIBLE = Claim.status != S.DRAFT


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


QUEUE_PAGE_SIZE = 50
_SENT_STATUSES = frozenset(s for s in S if s != S.DRAFT)
# The queue's status filters, for the staff page and the API alike: a name and the statuses it
# shows. ``awaiting_decision`` is the page's default (no status chosen); drafts never show.
QUEUE_STATUS_FILTERS: dict[str, tuple[ClaimStatus, ...]] = {
    "awaiting_decision": AWAITING_DECISION,
    "all": tuple(s for s in S if s != S.DRAFT),
    **{s.value: (s,) for s in S if s != S.DRAFT},
}


def _queue_filters(stmt: sa.Select, statuses: Sequence[ClaimStatus], offering_id: int | None,
                   cohort: date | None) -> sa.Select:
    shown = [s for s in statuses if s != S.DRAFT]
    # Every status but drafts is said as the partial index ix_claims_sent_submitted_at says it,
    # so the planner walks that index in queue order.
    stmt = stmt.where(STAFF_VISIBLE if set(shown) == _SENT_STATUSES
                      else Claim.status.in_(shown))
    if offering_id is not None:
        stmt = stmt.where(Claim.offering_id == offering_id)
    if cohort is not None:
        stmt = stmt.where(CourseOffering.cohort == cohort)
    return stmt


def _queue_rows() -> sa.Select:
    return (
        sa.select(Claim)
        .join(Claim.enrollment)
        .join(Enrollment.offering)
        .join(Enrollment.participant)
        .options(
            contains_eager(Claim.enrollment).contains_eager(Enrollment.offering)
            .joinedload(CourseOffering.county),
            contains_eager(Claim.enrollment).contains_eager(Enrollment.participant),
        )
        .order_by(Claim.submitted_at, Claim.id)
    )


def queue_select(
    *, statuses: Sequence[ClaimStatus] = AWAITING_DECISION, offering_id: int | None = None,
    cohort: date | None = None,
) -> sa.Select:
    """The staff queue as claims with their enrollment, person and offering, oldest submission
    first; drafts never appear. The caller adds ``county_scope(CourseOffering.county_id)``."""
    return _queue_filters(_queue_rows(), statuses, offering_id, cohort)


def queue_ids_select(
    *, statuses: Sequence[ClaimStatus] = AWAITING_DECISION, offering_id: int | None = None,
    cohort: date | None = None,
) -> sa.Select:
    """The ids of ``queue_select``'s claims in its order; the view adds the county scope, the
    page's limit and offset. Walks a claims index in queue order (one status:
    ix_claims_status_submitted_at; every status: ix_claims_sent_submitted_at), each covering
    the claim's offering, and stops at the page's end: a page costs about the same whatever
    the table holds."""
    stmt = (
        sa.select(Claim.id)
        .join(CourseOffering, CourseOffering.id == Claim.offering_id)
        .order_by(Claim.submitted_at, Claim.id)
    )
    return _queue_filters(stmt, statuses, offering_id, cohort)


def queue_page_select(ids: sa.Select) -> sa.Select:
    """The rows of one queue page (``ids``: a limited ``queue_ids_select``) in queue order:
    only the columns the page shows, no ORM objects. Each row has ``id``, ``reference``,
    ``status``, ``submitted_at``, ``enrollment_id``, ``offering_id``, ``payable_ore`` (the
    approved total once decided, else the computed one) and the participant's ``full_name``."""
    return (
        sa.select(Claim.id, Claim.reference, Claim.status, Claim.submitted_at,
                  Claim.enrollment_id, Claim.offering_id,
                  sa.func.coalesce(Claim.approved_total_ore, Claim.total_ore)
                  .label("payable_ore"),
                  Participant.full_name)
        .join(Enrollment, Enrollment.id == Claim.enrollment_id)
        .join(Participant, Participant.id == Enrollment.participant_id)
        .where(Claim.id.in_(ids.scalar_subquery()))
        .order_by(Claim.submitted_at, Claim.id)
    )


def queue_count_select(
    *, statuses: Sequence[ClaimStatus] = AWAITING_DECISION, offering_id: int | None = None,
    cohort: date | None = None,
) -> sa.Select:
    """How many claims ``queue_select`` holds with the same filters (the view adds the same
    county scope): read from ix_claims_offering_status for the county's offerings only."""
    stmt = (
        sa.select(sa.func.count())
        .select_from(Claim)
        .join(CourseOffering, CourseOffering.id == Claim.offering_id)
    )
    return _queue_filters(stmt, statuses, offering_id, cohort)


@dataclass
class QueuePage:
    """One page of the queue and what the pager needs."""

    claims: list[sa.Row]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        """How many pages the queue has (at least one)."""
        return max(math.ceil(self.total / self.per_page), 1)


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
    (``same_receipt``, by the sha256 of the file as uploaded)."""

    kind: str
    claim_id: int
    other_claim_id: int
    other_reference: str
    travel_date: date | None = None
    sha256: str | None = None


# Built once: constructing a select costs more Python than running these small ones, and the
# page asks for them on every request. The lists are expanding bind parameters.
_THIS_DAYS = (
    sa.select(Claim.id, Participant.email, ClaimLine.travel_date)
    .join(ClaimLine, ClaimLine.claim_id == Claim.id)
    .join(Enrollment, Enrollment.id == Claim.enrollment_id)
    .join(Participant, Participant.id == Enrollment.participant_id)
    .where(Claim.id.in_(sa.bindparam("claim_ids", expanding=True)))
    .distinct()
)
_SAME_DAYS = (
    sa.select(Participant.email, Claim.id, Claim.reference, ClaimLine.travel_date)
    .join(Enrollment, Enrollment.participant_id == Participant.id)
    .join(Claim, Claim.enrollment_id == Enrollment.id)
    .join(ClaimLine, ClaimLine.claim_id == Claim.id)
    .where(Participant.email.in_(sa.bindparam("emails", expanding=True)),
           ClaimLine.travel_date.in_(sa.bindparam("days", expanding=True)),
           Claim.status != S.DRAFT)
)
_this_receipt, _other_receipt, _other = aliased(Receipt), aliased(Receipt), aliased(Claim)
# The same file as uploaded: the stored bytes are re-written, so their own hash is not compared.
_SAME_FILES = (
    sa.select(_this_receipt.claim_id, _other.id, _other.reference,
              _this_receipt.original_sha256)
    .select_from(_this_receipt)
    .join(_other_receipt,
          sa.and_(_other_receipt.original_sha256 == _this_receipt.original_sha256,
                  _other_receipt.claim_id != _this_receipt.claim_id))
    .join(_other, _other.id == _other_receipt.claim_id)
    .where(_this_receipt.claim_id.in_(sa.bindparam("claim_ids", expanding=True)),
           _other.status != S.DRAFT)
    .distinct()
    .order_by(_this_receipt.claim_id, _this_receipt.original_sha256, _other.id)
)


def duplicate_warnings(
    session: Session, claim_ids: Sequence[int]
) -> dict[int, list[DuplicateWarning]]:
    """Possible duplicates of each claim among other submitted claims, in three queries:
    the same participant e-mail with the same travel date, and the same receipt file."""
    result: dict[int, list[DuplicateWarning]] = {claim_id: [] for claim_id in claim_ids}
    if not claim_ids:
        return result
    ids = list(claim_ids)
    # Two small queries joined here rather than one nine-table join: PostgreSQL spent longer
    # planning that join (about 6 ms) than running it.
    this_days = session.execute(_THIS_DAYS, {"claim_ids": ids}).all()
    others: dict[tuple[str, date], set[tuple[int, str]]] = {}
    for email, other_id, other_ref, day in session.execute(_SAME_DAYS, {
            "emails": sorted({email for _id, email, _day in this_days}),
            "days": sorted({day for _id, _email, day in this_days})}):
        others.setdefault((email, day), set()).add((other_id, other_ref))
    for claim_id, email, day in sorted(this_days, key=lambda row: (row[0], row[2])):
        for other_id, other_ref in sorted(others.get((email, day), ())):
            if other_id != claim_id:
                result[claim_id].append(DuplicateWarning("same_date", claim_id, other_id,
                                                         other_ref, travel_date=day))
    for claim_id, other_id, other_ref, digest in session.execute(_SAME_FILES,
                                                                 {"claim_ids": ids}):
        result[claim_id].append(DuplicateWarning("same_receipt", claim_id, other_id, other_ref,
                                                 sha256=digest))
    return result
