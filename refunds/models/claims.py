"""The tables of claims: a participant's claim, its lines (legs, costs, allowances, nights) and
its receipts, with the status a claim can have and the kinds of line.

Money is integer øre throughout. Each claim line records the rate it was computed with
(``refunds.models.rates``), so a later change of rates never changes an old claim.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from core.auth import StaffUser
from core.db import Base, UTCDateTime, enum_column, utcnow
from enrollment.models import CourseOffering, Enrollment
from refunds.models.rates import AllowancePeriod, Rate, RateScheme


class ClaimStatus(enum.StrEnum):
    """Where a claim stands; allowed moves are in ``refunds.services.status.TRANSITIONS``."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    RESUBMITTED = "resubmitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    PAID = "paid"

    @property
    def title(self):
        """The status in the active language."""
        return _CLAIM_STATUS_TITLES[self]


# Waiting for a caseworker.
AWAITING_DECISION = (ClaimStatus.SUBMITTED, ClaimStatus.RESUBMITTED)

_CLAIM_STATUS_TITLES = {
    ClaimStatus.DRAFT: _l("Draft"),
    ClaimStatus.SUBMITTED: _l("Submitted"),
    ClaimStatus.RETURNED: _l("Returned for changes"),
    ClaimStatus.RESUBMITTED: _l("Resubmitted"),
    ClaimStatus.APPROVED: _l("Approved"),
    ClaimStatus.REJECTED: _l("Rejected"),
    ClaimStatus.PAID: _l("Paid"),
}


class LineKind(enum.StrEnum):
    """What a claim line is for."""

    LEG = "leg"
    TOLL = "toll"
    FERRY = "ferry"
    PARKING = "parking"
    ACCOMMODATION = "accommodation"
    MEAL_ALLOWANCE = "meal_allowance"
    # The state's unreceipted night supplement (ulegitimert nattillegg): a flat rate for a night
    # away when no lodging receipt is claimed for that night.
    NIGHT_SUPPLEMENT = "night_supplement"

    @property
    def title(self):
        """The kind in the active language."""
        return _LINE_KIND_TITLES[self]


_LINE_KIND_TITLES = {
    LineKind.LEG: _l("Journey"),
    LineKind.TOLL: _l("Toll"),
    LineKind.FERRY: _l("Ferry"),
    LineKind.PARKING: _l("Parking"),
    LineKind.ACCOMMODATION: _l("Accommodation"),
    LineKind.MEAL_ALLOWANCE: _l("Meal allowance"),
    LineKind.NIGHT_SUPPLEMENT: _l("Night supplement (no lodging receipt)"),
}

# The lines paid at a flat rate when the scheme switches allowances on.
ALLOWANCE_KINDS = (LineKind.MEAL_ALLOWANCE, LineKind.NIGHT_SUPPLEMENT)

# The extra costs refunded at cost against documentation.
COST_KINDS = (LineKind.TOLL, LineKind.FERRY, LineKind.PARKING, LineKind.ACCOMMODATION)


class TravelMeans(enum.StrEnum):
    """How a leg of the journey was travelled."""

    OWN_CAR = "own_car"
    PUBLIC_TRANSPORT = "public_transport"
    FLIGHT = "flight"
    TAXI = "taxi"
    FERRY = "ferry"
    OTHER = "other"

    @property
    def title(self):
        """The means in the active language."""
        return _MEANS_TITLES[self]


_MEANS_TITLES = {
    TravelMeans.OWN_CAR: _l("Own car"),
    TravelMeans.PUBLIC_TRANSPORT: _l("Public transport"),
    TravelMeans.FLIGHT: _l("Flight"),
    TravelMeans.TAXI: _l("Taxi"),
    TravelMeans.FERRY: _l("Ferry or boat"),
    TravelMeans.OTHER: _l("Other"),
}


class Claim(Base):
    """A participant's claim for the travel costs of one enrollment."""

    __tablename__ = "claims"
    __table_args__ = (
        # The staff queue (bench/plans/): one status, oldest submission first, covering the
        # offering so a county's claims are found from the index alone; every status but
        # drafts ("all") in the same order; and a county's count by offering and status,
        # which reads only that county's claims.
        sa.Index("ix_claims_status_submitted_at", "status", "submitted_at", "id",
                 postgresql_include=["offering_id"]),
        sa.Index("ix_claims_sent_submitted_at", "submitted_at", "id",
                 postgresql_include=["offering_id"],
                 postgresql_where=sa.text("status <> 'draft'"),
                 sqlite_where=sa.text("status <> 'draft'")),
        sa.Index("ix_claims_offering_status", "offering_id", "status", "submitted_at", "id"),
        sa.CheckConstraint("total_ore >= 0", name="total_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(sa.ForeignKey("enrollments.id"), index=True)
    # The enrollment's offering (which never changes), kept here so the staff queue finds and
    # counts a county's claims by offering without a visit to each enrollment.
    offering_id: Mapped[int] = mapped_column(sa.ForeignKey("course_offerings.id"))
    scheme_id: Mapped[int] = mapped_column(sa.ForeignKey("rate_schemes.id"), index=True)
    status: Mapped[ClaimStatus] = mapped_column(
        enum_column(ClaimStatus), default=ClaimStatus.DRAFT
    )
    # "RR-2026-000123"; set from the id in the transaction that creates the claim.
    reference: Mapped[str | None] = mapped_column(sa.String(20), unique=True)
    # Eleven digits, normalised; empty until the participant gives it.
    bank_account: Mapped[str] = mapped_column(sa.String(11), default="")
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    total_ore: Mapped[int] = mapped_column(default=0)
    approved_total_ore: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    first_submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The latest (re)submission: the queue's order.
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    payment_date: Mapped[date | None] = mapped_column(sa.Date)
    # Shown to the participant: why the claim was rejected or returned.
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    # For staff only.
    staff_note: Mapped[str] = mapped_column(sa.Text, default="")
    # The agreement (§ 6 nr. 1) pays for one's own car only when the office approved its use:
    # the caseworker records yes or no when approving a claim with legs by own car.
    own_car_approved: Mapped[bool | None]
    own_car_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    own_car_recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))

    enrollment: Mapped[Enrollment] = relationship()
    offering: Mapped[CourseOffering] = relationship()
    scheme: Mapped[RateScheme] = relationship()
    decided_by: Mapped[StaffUser | None] = relationship(foreign_keys=[decided_by_id])
    paid_by: Mapped[StaffUser | None] = relationship(foreign_keys=[paid_by_id])
    own_car_recorded_by: Mapped[StaffUser | None] = relationship(
        foreign_keys=[own_car_recorded_by_id])
    lines: Mapped[list[ClaimLine]] = relationship(
        back_populates="claim", cascade="all, delete-orphan", order_by="ClaimLine.position"
    )
    receipts: Mapped[list[Receipt]] = relationship(
        back_populates="claim", cascade="all, delete-orphan", order_by="Receipt.id"
    )

    @validates("enrollment")
    def _offering_of(self, _key: str, enrollment: Enrollment) -> Enrollment:
        """A claim's offering is its enrollment's, set with it."""
        self.offering = enrollment.offering
        return enrollment

    @property
    def has_own_car_legs(self) -> bool:
        """Whether any leg was driven in one's own car (its use needs the office's approval)."""
        return any(line.kind == LineKind.LEG and line.means == TravelMeans.OWN_CAR
                   for line in self.lines)

    @property
    def payable_ore(self) -> int:
        """What is paid out: the approved total once decided, else the computed total."""
        return self.approved_total_ore if self.approved_total_ore is not None else self.total_ore


class ClaimLine(Base):
    """One line of a claim: a leg of the journey, an extra cost, or a meal allowance.

    A line points at its receipt (not the other way round) so that one receipt, say a return
    ticket or a toll statement, can document several lines, and replacing the lines of a draft
    keeps the links.
    """

    __tablename__ = "claim_lines"
    __table_args__ = (
        sa.CheckConstraint("amount_ore >= 0", name="amount_not_negative"),
        sa.CheckConstraint("passengers >= 0", name="passengers_not_negative"),
        sa.CheckConstraint(
            "adjusted_amount_ore IS NULL OR adjusted_amount_ore >= 0", name="adjusted_not_negative"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(
        sa.ForeignKey("claims.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[LineKind] = mapped_column(enum_column(LineKind))
    travel_date: Mapped[date] = mapped_column(sa.Date, index=True)
    description: Mapped[str] = mapped_column(sa.String(300), default="")
    # Legs
    from_place: Mapped[str] = mapped_column(sa.String(200), default="")
    to_place: Mapped[str] = mapped_column(sa.String(200), default="")
    means: Mapped[TravelMeans | None] = mapped_column(enum_column(TravelMeans))
    km: Mapped[Decimal | None] = mapped_column(sa.Numeric(7, 1))
    passengers: Mapped[int] = mapped_column(default=0)
    best_class: Mapped[bool] = mapped_column(default=False)
    taxi_reason: Mapped[str] = mapped_column(sa.Text, default="")
    # Legs not by own car, and extra costs: what the person paid.
    amount_paid_ore: Mapped[int | None]
    # Meal allowances
    allowance_period: Mapped[AllowancePeriod | None] = mapped_column(
        enum_column(AllowancePeriod, length=30)
    )
    breakfast_provided: Mapped[bool] = mapped_column(default=False)
    lunch_provided: Mapped[bool] = mapped_column(default=False)
    dinner_provided: Mapped[bool] = mapped_column(default=False)
    # The allowance's conditions as the participant states them: the journey's distance, how
    # long it lasted (this day), and whether it included a night away.
    journey_km: Mapped[Decimal | None] = mapped_column(sa.Numeric(7, 1))
    hours: Mapped[Decimal | None] = mapped_column(sa.Numeric(4, 1))
    overnight: Mapped[bool] = mapped_column(default=False)
    # Computed: the amount, the rates used and what they were at the time.
    amount_ore: Mapped[int] = mapped_column(default=0)
    rate_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rates.id", ondelete="SET NULL"))
    rate_ore: Mapped[int | None]
    supplement_rate_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("rates.id", ondelete="SET NULL")
    )
    supplement_rate_ore: Mapped[int | None]
    # How many times the supplement was paid per km: the passengers, or 1 when it is flat.
    supplement_units: Mapped[int | None]
    # The sum of the meal deductions applied, in percent of the allowance.
    deduction_percent: Mapped[Decimal | None] = mapped_column(sa.Numeric(5, 2))
    receipt_required: Mapped[bool] = mapped_column(default=False)
    receipt_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("receipts.id", ondelete="SET NULL"), index=True
    )
    # Set by staff on approval.
    adjusted_amount_ore: Mapped[int | None]
    adjust_note: Mapped[str] = mapped_column(sa.Text, default="")

    claim: Mapped[Claim] = relationship(back_populates="lines")
    rate: Mapped[Rate | None] = relationship(foreign_keys=[rate_id])
    supplement_rate: Mapped[Rate | None] = relationship(foreign_keys=[supplement_rate_id])
    receipt: Mapped[Receipt | None] = relationship(foreign_keys=[receipt_id])

    @property
    def approved_amount_ore(self) -> int:
        """The amount staff approved: their adjustment if any, else the computed amount."""
        return self.adjusted_amount_ore if self.adjusted_amount_ore is not None else self.amount_ore

    @property
    def receipt_missing(self) -> bool:
        """True when the rules require a receipt and none is attached."""
        return self.receipt_required and self.receipt_id is None


class Receipt(Base):
    """An uploaded receipt: the bytes as re-written clean (``refunds.uploads``), their sha256,
    the sha256 of the file as uploaded (for duplicate detection: the same file sent twice) and
    the content type sniffed from them.

    ``original_name`` is sanitised and kept for display only; it is never used as a path.
    """

    __tablename__ = "receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(
        sa.ForeignKey("claims.id", ondelete="CASCADE"), index=True
    )
    # Deferred: listing a claim's receipts must not load megabytes of bytes.
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    original_sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    content_type: Mapped[str] = mapped_column(sa.String(40))
    size: Mapped[int]
    original_name: Mapped[str] = mapped_column(sa.String(200), default="")
    width: Mapped[int | None]
    height: Mapped[int | None]
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    claim: Mapped[Claim] = relationship(back_populates="receipts")
