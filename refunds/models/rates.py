"""The tables of rates: schemes (the national default or a county's own) and their rates, each
valid from a date, with what a rate is a rate of.

Rates are data with validity dates, never constants in code; each claim line records the rate it
was computed with (``refunds.models.claims``), so a later change of rates never changes an old
claim.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, enum_column, utcnow
from core.models import County


class RateKind(enum.StrEnum):
    """What a rate is a rate of.

    ``car_km`` and ``passenger_km`` are øre per kilometre; the ``meal_*`` kinds are øre per
    period; the ``deduct_*`` kinds are a percentage of the allowance granted, taken off when the
    meal was provided; ``night_supplement`` is øre per night without a lodging receipt.
    """

    CAR_KM = "car_km"
    PASSENGER_KM = "passenger_km"
    MEAL_DAY_6_12H = "meal_day_6_12h"
    MEAL_DAY_OVER_12H = "meal_day_over_12h"
    MEAL_OVERNIGHT = "meal_overnight"
    DEDUCT_BREAKFAST = "deduct_breakfast"
    DEDUCT_LUNCH = "deduct_lunch"
    DEDUCT_DINNER = "deduct_dinner"
    NIGHT_SUPPLEMENT = "night_supplement"

    @property
    def is_percent(self) -> bool:
        """Whether the rate is a percentage rather than an amount in øre."""
        return self in DEDUCTION_KINDS

    @property
    def title(self):
        """The kind, with its unit, in the active language."""
        return _RATE_KIND_TITLES[self]


_RATE_KIND_TITLES = {
    RateKind.CAR_KM: _l("Mileage allowance for one's own car, per km"),
    RateKind.PASSENGER_KM: _l("Passenger supplement, per km"),
    RateKind.MEAL_DAY_6_12H: _l("Meal allowance, day trip of 6 to 12 hours"),
    RateKind.MEAL_DAY_OVER_12H: _l("Meal allowance, day trip of more than 12 hours"),
    RateKind.MEAL_OVERNIGHT: _l("Meal allowance, per day with an overnight stay"),
    RateKind.DEDUCT_BREAKFAST: _l("Deduction when breakfast was provided"),
    RateKind.DEDUCT_LUNCH: _l("Deduction when lunch was provided"),
    RateKind.DEDUCT_DINNER: _l("Deduction when dinner was provided"),
    RateKind.NIGHT_SUPPLEMENT: _l("Night supplement without a lodging receipt, per night"),
}


DEDUCTION_KINDS = frozenset(
    {RateKind.DEDUCT_BREAKFAST, RateKind.DEDUCT_LUNCH, RateKind.DEDUCT_DINNER}
)


class AllowancePeriod(enum.StrEnum):
    """The length of a journey a meal allowance is granted for; the value names its rate."""

    DAY_6_12H = "meal_day_6_12h"
    DAY_OVER_12H = "meal_day_over_12h"
    OVERNIGHT = "meal_overnight"

    @property
    def rate_kind(self) -> RateKind:
        """The rate that gives the allowance for this period."""
        return RateKind(self.value)

    @property
    def title(self):
        """The period in the active language."""
        return _PERIOD_TITLES[self]


_PERIOD_TITLES = {
    AllowancePeriod.DAY_6_12H: _l("Day trip of 6 to 12 hours"),
    AllowancePeriod.DAY_OVER_12H: _l("Day trip of more than 12 hours"),
    AllowancePeriod.OVERNIGHT: _l("More than 12 hours with an overnight stay"),
}


class PassengerMode(enum.StrEnum):
    """How the passenger supplement is paid: per passenger per km, or once per km."""

    PER_PASSENGER = "per_passenger"
    FLAT = "flat"

    @property
    def title(self):
        """How the supplement is paid, in the active language."""
        return _PASSENGER_MODE_TITLES[self]


_PASSENGER_MODE_TITLES = {
    PassengerMode.PER_PASSENGER: _l("Per passenger and kilometre"),
    PassengerMode.FLAT: _l("Once per kilometre, however many passengers"),
}


class ReceiptRule(enum.StrEnum):
    """Whether a line needs a receipt before the claim can be submitted."""

    REQUIRED = "required"
    OPTIONAL = "optional"
    NONE = "none"


class RateScheme(Base):
    """A set of rates and rules claims are computed by: the national default, or a county's own.

    ``receipt_rules`` is data: ``{"leg": {means: rule}, "leg_best_class": {means: rule},
    "cost": {kind: rule}}`` with rules from ``ReceiptRule``; anything not named is required,
    except a leg by one's own car.

    ``allowance_rules`` is data too: the conditions of the meal allowance from the agreement,
    ``{"over_km": 15, "from_hours": 6, "over_hours_long": 12}`` (a journey of more than
    ``over_km`` km lasting at least ``from_hours`` hours; more than ``over_hours_long`` hours
    gives the long-day or overnight rate). Without them no meal allowance is computed.
    """

    __tablename__ = "rate_schemes"
    __table_args__ = (
        sa.CheckConstraint("journey_days_before >= 0 AND journey_days_after >= 0",
                           name="journey_days_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    source_note: Mapped[str] = mapped_column(sa.Text, default="")
    # A county's own scheme replaces the default for its claims; None is the national scheme.
    county_id: Mapped[int | None] = mapped_column(sa.ForeignKey("counties.id"), unique=True)
    is_default: Mapped[bool] = mapped_column(default=False)
    allowances_enabled: Mapped[bool] = mapped_column(default=False)
    passenger_mode: Mapped[PassengerMode] = mapped_column(
        enum_column(PassengerMode), default=PassengerMode.PER_PASSENGER
    )
    receipt_rules: Mapped[dict] = mapped_column(sa.JSON, default=lambda: {})
    # The journey window (``refunds.journey``): legs and costs may be dated from this many
    # days before the first attended session to this many days after the last.
    journey_days_before: Mapped[int] = mapped_column(default=1)
    journey_days_after: Mapped[int] = mapped_column(default=1)
    allowance_rules: Mapped[dict] = mapped_column(sa.JSON, default=lambda: {})
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    county: Mapped[County | None] = relationship()
    rates: Mapped[list[Rate]] = relationship(
        back_populates="scheme", cascade="all, delete-orphan",
        order_by=lambda: [Rate.kind, Rate.valid_from],
    )


class Rate(Base):
    """One rate of a scheme, valid from ``valid_from`` through ``valid_to`` (open if None)."""

    __tablename__ = "rates"
    __table_args__ = (
        sa.UniqueConstraint("scheme_id", "kind", "valid_from", name="uq_rates_scheme_kind_from"),
        sa.CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_period"),
        sa.CheckConstraint("amount_ore >= 0", name="amount_not_negative"),
        sa.CheckConstraint("percent IS NULL OR (percent >= 0 AND percent <= 100)",
                           name="percent_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(
        sa.ForeignKey("rate_schemes.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[RateKind] = mapped_column(enum_column(RateKind, length=30))
    amount_ore: Mapped[int] = mapped_column(default=0)
    # Only for the deduction kinds: the share of the allowance taken off.
    percent: Mapped[Decimal | None] = mapped_column(sa.Numeric(5, 2))
    valid_from: Mapped[date] = mapped_column(sa.Date)
    valid_to: Mapped[date | None] = mapped_column(sa.Date)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    # Where the figure comes from; a rate no official source confirmed is computed with but
    # marked for staff: "to be confirmed by the office".
    source_url: Mapped[str] = mapped_column(sa.String(500), default="")
    to_be_confirmed: Mapped[bool] = mapped_column(default=False)

    scheme: Mapped[RateScheme] = relationship(back_populates="rates")

    def valid_on(self, day: date) -> bool:
        """Whether the rate applies to travel on ``day``."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)
