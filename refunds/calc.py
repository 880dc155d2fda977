"""The claim calculation: pure functions from a scheme's rates and a claim's lines to øre.

No database and no request: ``SchemeRules.from_scheme`` copies what a scheme says into plain
values, and everything else works on those and on the line dataclasses of ``refunds.lines``.

The rules, stated once:

* A rate applies to a line when ``valid_from <= travel date <= valid_to`` (open-ended when
  ``valid_to`` is None). When no rate of the kind is valid that day the line is refused; when
  periods overlap, the one that started last wins.
* Own car: ``km × car rate + km × units × passenger rate``, where ``units`` is the number of
  passengers (per-passenger supplement) or 1 when anyone rode along (flat supplement).
  Kilometres may have one decimal.
* Legs by other means, tolls, ferries, parking and accommodation: at cost, the amount paid.
* Meal allowance (only when the scheme switches it on): only for a journey of more than
  ``over_km`` km lasting at least ``from_hours`` hours (the scheme's ``allowance_rules``, from
  the agreement's § 9); the period follows from the hours and the night away (more than
  ``over_hours_long`` hours with a night away: the overnight rate; more than that without: the
  long-day rate; else the 6–12 hour rate). The rate, less the deduction percentages of the meals
  provided (taken from the rate granted, since 2022), never below zero. One line per day
  (døgn) of the journey.
* Night supplement (with allowances): the scheme's rate for a night away without a lodging
  receipt; refused for a night that also has an accommodation cost, or claimed twice.
* Each line is computed exactly in ``Decimal`` and rounded **once**, half up to whole øre. An
  integer number of km times an øre rate is already whole; one decimal km can end in half an
  øre, which rounds up. The claim's total is the sum of the rounded lines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_percent

from core.i18n import format_money, format_number
from refunds.errors import CalcError, LinesRefused
from refunds.lines import (
    AllowanceInput,
    ComputedClaim,
    ComputedLine,
    CostInput,
    LegInput,
    LineInput,
    NightInput,
)
from refunds.models import (
    ALLOWANCE_KINDS,
    COST_KINDS,
    AllowancePeriod,
    LineKind,
    PassengerMode,
    RateKind,
    RateScheme,
    ReceiptRule,
    TravelMeans,
)

ROUNDING = ROUND_HALF_UP
MAX_KM = Decimal("5000")
MAX_PASSENGERS = 8
# 100 000 kr on one line is a typing mistake, not a journey to a course.
MAX_LINE_ORE = 10_000_000
MAX_TEXT = 300

_ONE_DECIMAL = Decimal("0.1")
_PERCENT_LOCALE = {"nn": "nn", "nb": "nb", "en": "en_GB"}


@dataclass(frozen=True)
class RateValue:
    """A rate as plain values (``id`` is None for rates not from the database)."""

    kind: RateKind
    amount_ore: int
    valid_from: date
    valid_to: date | None = None
    percent: Decimal | None = None
    id: int | None = None

    def valid_on(self, day: date) -> bool:
        """Whether the rate applies to travel on ``day``."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class SchemeRules:
    """What a rate scheme says, as plain values."""

    rates: tuple[RateValue, ...]
    passenger_mode: PassengerMode = PassengerMode.PER_PASSENGER
    allowances_enabled: bool = False
    receipt_rules: Mapping = field(default_factory=dict)
    allowance_rules: Mapping = field(default_factory=dict)

    @classmethod
    def from_scheme(cls, scheme: RateScheme) -> SchemeRules:
        """Copy a scheme and its loaded rates."""
        return cls(
            rates=tuple(
                RateValue(kind=r.kind, amount_ore=r.amount_ore, valid_from=r.valid_from,
                          valid_to=r.valid_to, percent=r.percent, id=r.id)
                for r in scheme.rates
            ),
            passenger_mode=scheme.passenger_mode,
            allowances_enabled=scheme.allowances_enabled,
            receipt_rules=scheme.receipt_rules or {},
            allowance_rules=scheme.allowance_rules or {},
        )

    def rate_on(self, kind: RateKind, day: date) -> RateValue:
        """The rate of ``kind`` valid on ``day``; ``CalcError('no_rate')`` when there is none."""
        valid = [r for r in self.rates if r.kind == kind and r.valid_on(day)]
        if not valid:
            raise CalcError("no_rate")
        return max(valid, key=lambda r: r.valid_from)

    def _rule(self, group: str, key: str) -> ReceiptRule | None:
        value = (self.receipt_rules.get(group) or {}).get(key)
        return ReceiptRule(value) if value else None

    def receipt_rule_for_leg(self, means: TravelMeans, best_class: bool = False) -> ReceiptRule:
        """Whether a leg by ``means`` needs a receipt; anything the rules omit needs one,
        except driving one's own car, which has none to give."""
        if best_class:
            rule = self._rule("leg_best_class", means.value)
            if rule is not None:
                return rule
        default = ReceiptRule.NONE if means == TravelMeans.OWN_CAR else ReceiptRule.REQUIRED
        return self._rule("leg", means.value) or default

    def receipt_rule_for_cost(self, kind: LineKind) -> ReceiptRule:
        """Whether an extra cost of ``kind`` needs a receipt; anything omitted needs one."""
        return self._rule("cost", kind.value) or ReceiptRule.REQUIRED


def round_ore(exact: Decimal) -> int:
    """Round an exact amount in øre half up to a whole øre: the one rounding of a line."""
    return int(exact.quantize(Decimal(1), rounding=ROUNDING))


def _check_amount(value: int | None) -> int:
    if value is None:
        raise CalcError("amount_missing")
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise CalcError("amount_invalid")
    if value > MAX_LINE_ORE:
        raise CalcError("amount_too_large")
    return value


def _check_km(km: Decimal | int | None) -> Decimal:
    if km is None:
        raise CalcError("km_missing")
    if isinstance(km, bool) or not isinstance(km, Decimal | int):
        raise CalcError("km_invalid")
    km = Decimal(km)
    if not km.is_finite() or km <= 0 or km > MAX_KM or km != km.quantize(_ONE_DECIMAL):
        raise CalcError("km_invalid")
    return km


def _check_text(*values: str) -> None:
    if any(len(v) > MAX_TEXT for v in values):
        raise CalcError("text_too_long")


def _compute_leg(rules: SchemeRules, leg: LegInput) -> ComputedLine:
    _check_text(leg.from_place, leg.to_place)
    if not leg.from_place.strip() or not leg.to_place.strip():
        raise CalcError("place_missing")
    rule = rules.receipt_rule_for_leg(leg.means, leg.best_class)
    required = rule == ReceiptRule.REQUIRED
    if leg.means != TravelMeans.OWN_CAR:
        if leg.means == TravelMeans.TAXI and not leg.taxi_reason.strip():
            raise CalcError("taxi_reason_missing")
        amount = _check_amount(leg.amount_paid_ore)
        return ComputedLine(source=leg, amount_ore=amount, receipt_required=required)

    km = _check_km(leg.km)
    if isinstance(leg.passengers, bool) or not 0 <= leg.passengers <= MAX_PASSENGERS:
        raise CalcError("passengers_invalid")
    car = rules.rate_on(RateKind.CAR_KM, leg.travel_date)
    exact = km * car.amount_ore
    supplement = None
    units = None
    if leg.passengers:
        supplement = rules.rate_on(RateKind.PASSENGER_KM, leg.travel_date)
        units = leg.passengers if rules.passenger_mode == PassengerMode.PER_PASSENGER else 1
        exact += km * units * supplement.amount_ore
    amount = round_ore(exact)
    if amount > MAX_LINE_ORE:
        raise CalcError("amount_too_large")
    return ComputedLine(
        source=leg, amount_ore=amount, rate_id=car.id, rate_ore=car.amount_ore,
        supplement_rate_id=supplement.id if supplement else None,
        supplement_rate_ore=supplement.amount_ore if supplement else None,
        supplement_units=units, receipt_required=required,
    )


def _compute_cost(rules: SchemeRules, cost: CostInput) -> ComputedLine:
    if cost.kind not in COST_KINDS:
        raise CalcError("kind_invalid")
    _check_text(cost.description)
    amount = _check_amount(cost.amount_paid_ore)
    required = rules.receipt_rule_for_cost(cost.kind) == ReceiptRule.REQUIRED
    return ComputedLine(source=cost, amount_ore=amount, receipt_required=required)


_DEDUCTIONS = (
    ("breakfast_provided", RateKind.DEDUCT_BREAKFAST),
    ("lunch_provided", RateKind.DEDUCT_LUNCH),
    ("dinner_provided", RateKind.DEDUCT_DINNER),
)


_MAX_HOURS = Decimal(24)


def _number(value, missing: str, invalid: str, maximum: Decimal) -> Decimal:
    if value is None:
        raise CalcError(missing)
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise CalcError(invalid)
    value = Decimal(value)
    if (not value.is_finite() or value < 0 or value > maximum
            or value != value.quantize(_ONE_DECIMAL)):
        raise CalcError(invalid)
    return value


def allowance_period(rules: SchemeRules, allowance: AllowanceInput) -> AllowancePeriod:
    """The period an allowance is paid for, after checking the scheme's conditions: a journey
    of more than ``over_km`` km lasting at least ``from_hours`` hours (``CalcError``
    ``allowance_too_short_distance`` / ``allowance_too_short_time`` otherwise)."""
    conditions = rules.allowance_rules
    try:
        over_km = Decimal(str(conditions["over_km"]))
        from_hours = Decimal(str(conditions["from_hours"]))
        long_hours = Decimal(str(conditions["over_hours_long"]))
    except (KeyError, ArithmeticError) as exc:
        raise CalcError("no_rate") from exc
    km = _number(allowance.journey_km, "journey_km_missing", "journey_km_invalid", MAX_KM)
    hours = _number(allowance.hours, "hours_missing", "hours_invalid", _MAX_HOURS)
    if km <= over_km:
        raise CalcError("allowance_too_short_distance")
    if hours < from_hours:
        raise CalcError("allowance_too_short_time")
    if hours > long_hours:
        return AllowancePeriod.OVERNIGHT if allowance.overnight else AllowancePeriod.DAY_OVER_12H
    return AllowancePeriod.DAY_6_12H


def _compute_allowance(rules: SchemeRules, allowance: AllowanceInput) -> ComputedLine:
    if not rules.allowances_enabled:
        raise CalcError("allowances_disabled")
    _check_text(allowance.description)
    period = allowance_period(rules, allowance)
    rate = rules.rate_on(period.rate_kind, allowance.travel_date)
    percent = Decimal(0)
    for flag, kind in _DEDUCTIONS:
        if getattr(allowance, flag):
            percent += rules.rate_on(kind, allowance.travel_date).percent or Decimal(0)
    percent = min(percent, Decimal(100))
    amount = round_ore(Decimal(rate.amount_ore) * (Decimal(100) - percent) / Decimal(100))
    return ComputedLine(
        source=allowance, amount_ore=amount, rate_id=rate.id, rate_ore=rate.amount_ore,
        deduction_percent=percent if percent else None, allowance_period=period,
    )


def _compute_night(rules: SchemeRules, night: NightInput) -> ComputedLine:
    if not rules.allowances_enabled:
        raise CalcError("night_supplement_disabled")
    _check_text(night.description)
    rate = rules.rate_on(RateKind.NIGHT_SUPPLEMENT, night.travel_date)
    return ComputedLine(source=night, amount_ore=rate.amount_ore, rate_id=rate.id,
                        rate_ore=rate.amount_ore)


def compute_line(rules: SchemeRules, line: LineInput) -> ComputedLine:
    """Compute one line; raises ``CalcError`` when a rule refuses it."""
    if isinstance(line, LegInput):
        return _compute_leg(rules, line)
    if isinstance(line, CostInput):
        return _compute_cost(rules, line)
    if isinstance(line, AllowanceInput):
        return _compute_allowance(rules, line)
    if isinstance(line, NightInput):
        return _compute_night(rules, line)
    raise TypeError(f"not a claim line: {line!r}")


def compute_claim(rules: SchemeRules, lines: Sequence[LineInput]) -> ComputedClaim:
    """Compute every line; raises ``LinesRefused`` listing every line a rule refuses."""
    computed, errors = [], []
    lodging_nights = {line.travel_date for line in lines
                      if isinstance(line, CostInput) and line.kind == LineKind.ACCOMMODATION}
    nights_seen: set[date] = set()
    for index, line in enumerate(lines):
        try:
            if isinstance(line, NightInput):
                # The supplement stands in for a lodging receipt: one per night, and never
                # beside accommodation paid for the same night.
                if line.travel_date in lodging_nights:
                    raise CalcError("night_with_lodging")
                if line.travel_date in nights_seen:
                    raise CalcError("night_twice")
                nights_seen.add(line.travel_date)
            computed.append(compute_line(rules, line))
        except CalcError as exc:
            errors.append(CalcError(exc.code, index))
    if errors:
        raise LinesRefused(errors)
    return ComputedClaim(tuple(computed))


def explain(line, locale: str) -> str:
    """How a line's amount came about, for ``locale``: '312 km × 5,30 kr = 1 653,60 kr'.

    Works on a ``ComputedLine`` or a stored ``ClaimLine``; shows the computed amount, not a
    staff adjustment.
    """
    total = format_money(line.amount_ore, locale)
    if line.kind == LineKind.LEG and line.rate_ore is not None and line.km is not None:
        km = format_number(Decimal(line.km), locale)
        text = f"{km} km × {format_money(line.rate_ore, locale)}"
        if line.supplement_rate_ore is not None and line.supplement_units:
            units = "" if line.supplement_units == 1 else f"{line.supplement_units} × "
            text += f" + {km} km × {units}{format_money(line.supplement_rate_ore, locale)}"
        return f"{text} = {total}"
    if line.kind in ALLOWANCE_KINDS and line.rate_ore is not None:
        if not line.deduction_percent:
            return total
        percent = format_share(Decimal(line.deduction_percent), locale)
        return f"{format_money(line.rate_ore, locale)} − {percent} = {total}"
    return total


def format_share(percent: Decimal, locale: str) -> str:
    """A percentage held as 0–100 for ``locale``: '20 %' / '20%', '12,5 %'."""
    return format_percent(Decimal(percent) / 100, locale=_PERCENT_LOCALE.get(locale, locale),
                          decimal_quantization=False)
