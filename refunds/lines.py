"""A claim line as plain values: what the participant enters (a leg, a cost, a meal allowance, a
night) and what the calculation (``refunds.calc``) makes of it.

No database and no request: the forms build the inputs, the services store the computed lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from refunds.models import AllowancePeriod, LineKind, TravelMeans


@dataclass(frozen=True)
class LegInput:
    """A leg of the journey as the participant enters it."""

    travel_date: date
    from_place: str
    to_place: str
    means: TravelMeans
    km: Decimal | None = None
    passengers: int = 0
    amount_paid_ore: int | None = None
    taxi_reason: str = ""
    best_class: bool = False
    receipt_id: int | None = None

    kind = LineKind.LEG


@dataclass(frozen=True)
class CostInput:
    """An extra cost refunded at cost: toll, ferry, parking or accommodation."""

    kind: LineKind
    travel_date: date
    amount_paid_ore: int | None
    description: str = ""
    receipt_id: int | None = None


@dataclass(frozen=True)
class AllowanceInput:
    """A meal allowance for one day (døgn) of the journey, with what its conditions need:
    the journey's distance in km, the hours of this day's travel, and a night away."""

    travel_date: date
    journey_km: Decimal | int | None
    hours: Decimal | int | None
    overnight: bool = False
    breakfast_provided: bool = False
    lunch_provided: bool = False
    dinner_provided: bool = False
    description: str = ""

    kind = LineKind.MEAL_ALLOWANCE


@dataclass(frozen=True)
class NightInput:
    """A night away without a lodging receipt (the night that begins on ``travel_date``)."""

    travel_date: date
    description: str = ""

    kind = LineKind.NIGHT_SUPPLEMENT


LineInput = LegInput | CostInput | AllowanceInput | NightInput


@dataclass(frozen=True)
class ComputedLine:
    """A computed line: the input, its amount and everything needed to explain it.

    The field names match ``ClaimLine``'s, so ``explain`` reads either.
    """

    source: LineInput
    amount_ore: int
    rate_id: int | None = None
    rate_ore: int | None = None
    supplement_rate_id: int | None = None
    supplement_rate_ore: int | None = None
    supplement_units: int | None = None
    deduction_percent: Decimal | None = None
    receipt_required: bool = False
    allowance_period: AllowancePeriod | None = None

    @property
    def kind(self) -> LineKind:
        """The line's kind."""
        return self.source.kind

    @property
    def travel_date(self) -> date:
        """The day of travel the rates were taken for."""
        return self.source.travel_date

    @property
    def means(self) -> TravelMeans | None:
        """For legs, how the leg was travelled."""
        return getattr(self.source, "means", None)

    @property
    def km(self) -> Decimal | None:
        """For legs by own car, the kilometres."""
        return getattr(self.source, "km", None)

    @property
    def amount_paid_ore(self) -> int | None:
        """For lines at cost, what was paid."""
        return getattr(self.source, "amount_paid_ore", None)

    @property
    def receipt_missing(self) -> bool:
        """True when a receipt is required and the input names none."""
        return self.receipt_required and getattr(self.source, "receipt_id", None) is None


@dataclass(frozen=True)
class ComputedClaim:
    """All lines of a claim computed, with their total."""

    lines: tuple[ComputedLine, ...]

    @property
    def total_ore(self) -> int:
        """The sum of the lines (each already rounded)."""
        return sum(line.amount_ore for line in self.lines)

    @property
    def receipts_missing(self) -> list[int]:
        """Indexes of the lines that need a receipt and have none."""
        return [i for i, line in enumerate(self.lines) if line.receipt_missing]
