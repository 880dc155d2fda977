"""The claim calculation against hand-computed figures.

Rounding rule under test: each line is computed exactly and rounded once, half up, to whole
øre. Every expected amount below is worked out by hand in the comment beside it.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from decimal import Decimal

import pytest

from refunds.calc import (
    RateValue,
    SchemeRules,
    compute_claim,
    compute_line,
    explain,
    round_ore,
)
from refunds.cli import RATES_FILE
from refunds.errors import CalcError, LinesRefused
from refunds.lines import AllowanceInput, CostInput, LegInput, NightInput
from refunds.models import AllowancePeriod, LineKind, PassengerMode, RateKind, TravelMeans

NBSP = "\u00a0"
ALLOWANCE_RULES = {"over_km": 15, "from_hours": 6, "over_hours_long": 12}
CAR, PT, FLIGHT, TAXI = (TravelMeans.OWN_CAR, TravelMeans.PUBLIC_TRANSPORT, TravelMeans.FLIGHT,
                         TravelMeans.TAXI)


def state_rules(**changes) -> SchemeRules:
    """The default scheme exactly as the data file has it; rate ids are their 1-based order."""
    scheme = json.loads(RATES_FILE.read_text(encoding="utf-8"))["schemes"][0]
    rates = tuple(
        RateValue(
            kind=RateKind(r["kind"]), amount_ore=r.get("amount_ore", 0),
            valid_from=date.fromisoformat(r["valid_from"]),
            valid_to=date.fromisoformat(r["valid_to"]) if r["valid_to"] else None,
            percent=Decimal(r["percent"]) if "percent" in r else None, id=i,
        )
        for i, r in enumerate(scheme["rates"], start=1)
    )
    rules = SchemeRules(
        rates=rates, passenger_mode=PassengerMode(scheme["passenger_mode"]),
        allowances_enabled=scheme["allowances_enabled"], receipt_rules=scheme["receipt_rules"],
        allowance_rules=scheme["allowance_rules"],
    )
    return dataclasses.replace(rules, **changes)


def car(day: date, km, passengers: int = 0) -> LegInput:
    return LegInput(travel_date=day, from_place="Florø", to_place="Bergen", means=CAR,
                    km=Decimal(str(km)), passengers=passengers)


def rate_id(kind: RateKind, valid_from: date) -> int:
    return next(r.id for r in state_rules().rates
                if r.kind == kind and r.valid_from == valid_from)


# --- own car -----------------------------------------------------------------------------------


def test_car_with_two_passengers_across_the_rate_change():
    claim = compute_claim(state_rules(), [
        car(date(2025, 12, 31), 312, passengers=2),
        car(date(2026, 1, 2), 312, passengers=2),
    ])
    first, second = claim.lines
    # 2025-12-31 at 5,00 kr: 312 × 500 = 156 000 øre; passengers 312 × 2 × 100 = 62 400 øre.
    assert first.amount_ore == 218_400
    assert (first.rate_ore, first.supplement_rate_ore, first.supplement_units) == (500, 100, 2)
    assert first.rate_id == rate_id(RateKind.CAR_KM, date(2025, 1, 1))
    # 2026-01-02 at 5,30 kr: 312 × 530 = 165 360 øre; passengers again 62 400 øre.
    assert second.amount_ore == 227_760
    assert second.rate_ore == 530
    assert second.rate_id == rate_id(RateKind.CAR_KM, date(2026, 1, 1))
    assert first.supplement_rate_id == rate_id(RateKind.PASSENGER_KM, date(2025, 1, 1))
    assert second.supplement_rate_id == rate_id(RateKind.PASSENGER_KM, date(2026, 1, 1))
    # 218 400 + 227 760
    assert claim.total_ore == 446_160
    assert claim.receipts_missing == []


def test_each_year_uses_its_own_mileage_rate():
    amounts = [compute_line(state_rules(), car(day, 100)).amount_ore for day in (
        date(2023, 6, 1), date(2024, 6, 1), date(2025, 6, 1), date(2026, 6, 1),
        date(2023, 12, 31), date(2024, 1, 1),
    )]
    # 100 km × 448 / 490 / 500 / 530 øre; the last day of 2023 and the first of 2024.
    assert amounts == [44_800, 49_000, 50_000, 53_000, 44_800, 49_000]


def test_flat_passenger_supplement_is_paid_once_whatever_the_number():
    rules = state_rules(passenger_mode=PassengerMode.FLAT)
    line = compute_line(rules, car(date(2026, 1, 2), 312, passengers=3))
    # 312 × 530 + 312 × 100 = 165 360 + 31 200
    assert line.amount_ore == 196_560
    assert line.supplement_units == 1


def test_explanation_reads_like_the_sum_in_each_locale():
    plain = compute_line(state_rules(), car(date(2026, 1, 2), 312))
    assert explain(plain, "nn") == f"312 km × 5,30{NBSP}kr = 1{NBSP}653,60{NBSP}kr"
    assert explain(plain, "nb") == f"312 km × 5,30{NBSP}kr = 1{NBSP}653,60{NBSP}kr"
    assert explain(plain, "en") == f"312 km × 5.30{NBSP}NOK = 1,653.60{NBSP}NOK"
    with_passengers = compute_line(state_rules(), car(date(2026, 1, 2), 312, passengers=2))
    assert explain(with_passengers, "nn") == (
        f"312 km × 5,30{NBSP}kr + 312 km × 2 × 1,00{NBSP}kr = 2{NBSP}277,60{NBSP}kr"
    )
    one_passenger = compute_line(state_rules(), car(date(2026, 1, 2), 10, passengers=1))
    # 10 × 530 + 10 × 100 = 6 300 øre
    assert explain(one_passenger, "nn") == (
        f"10 km × 5,30{NBSP}kr + 10 km × 1,00{NBSP}kr = 63,00{NBSP}kr"
    )


def test_no_rate_on_the_day_of_travel_is_refused():
    with pytest.raises(CalcError) as exc:
        compute_line(state_rules(), car(date(2022, 12, 31), 100))
    assert exc.value.code == "no_rate"


@pytest.mark.parametrize(("km", "code"), [
    (None, "km_missing"), (Decimal("0"), "km_invalid"), (Decimal("-5"), "km_invalid"),
    (Decimal("12.25"), "km_invalid"), (Decimal("5000.1"), "km_invalid"),
    (Decimal("NaN"), "km_invalid"), (12.5, "km_invalid"),
])
def test_kilometres_must_be_positive_with_at_most_one_decimal(km, code):
    leg = LegInput(travel_date=date(2026, 1, 2), from_place="A", to_place="B", means=CAR, km=km)
    with pytest.raises(CalcError) as exc:
        compute_line(state_rules(), leg)
    assert exc.value.code == code


@pytest.mark.parametrize("passengers", [-1, 9])
def test_passengers_out_of_range_are_refused(passengers):
    with pytest.raises(CalcError) as exc:
        compute_line(state_rules(), car(date(2026, 1, 2), 10, passengers=passengers))
    assert exc.value.code == "passengers_invalid"


def test_a_leg_needs_both_places():
    leg = LegInput(travel_date=date(2026, 1, 2), from_place=" ", to_place="B", means=CAR,
                   km=Decimal(10))
    with pytest.raises(CalcError) as exc:
        compute_line(state_rules(), leg)
    assert exc.value.code == "place_missing"


# --- rounding ----------------------------------------------------------------------------------


def custom_rules(car_ore: int, passenger_ore: int = 100) -> SchemeRules:
    return SchemeRules(rates=(
        RateValue(RateKind.CAR_KM, car_ore, date(2020, 1, 1), id=1),
        RateValue(RateKind.PASSENGER_KM, passenger_ore, date(2020, 1, 1), id=2),
    ))


def test_decimal_km_rounds_half_up_to_whole_ore():
    # 12.3 km × 455 øre = 5 596.5 øre → 5 597 (half up; banker's rounding would give 5 596).
    assert compute_line(custom_rules(455), car(date(2026, 1, 2), "12.3")).amount_ore == 5_597
    # 10.1 km × 448 øre = 4 524.8 øre → 4 525.
    assert compute_line(state_rules(), car(date(2023, 5, 1), "10.1")).amount_ore == 4_525
    # 12.5 km × 530 øre = 6 625.0 øre, already whole.
    assert compute_line(state_rules(), car(date(2026, 5, 1), "12.5")).amount_ore == 6_625


def test_a_line_is_rounded_once_not_per_term():
    # 10.1 km × 455 = 4 595.5 and 10.1 km × 1 × 105 = 1 060.5; exact sum 5 656.0 → 5 656.
    # Rounding each term first would give 4 596 + 1 061 = 5 657.
    line = compute_line(custom_rules(455, 105), car(date(2026, 1, 2), "10.1", passengers=1))
    assert line.amount_ore == 5_656


def test_round_ore_is_half_up():
    assert [round_ore(Decimal(x)) for x in ("0.5", "1.5", "2.5", "2.4999", "-0.5")] == [
        1, 2, 3, 2, -1]


def test_explanation_of_decimal_km():
    line = compute_line(state_rules(), car(date(2026, 5, 1), "12.5"))
    assert explain(line, "nn") == f"12,5 km × 5,30{NBSP}kr = 66,25{NBSP}kr"
    assert explain(line, "en") == f"12.5 km × 5.30{NBSP}NOK = 66.25{NBSP}NOK"


# --- at cost -----------------------------------------------------------------------------------


def test_toll_ferry_and_parking_are_refunded_at_cost_against_receipts():
    day = date(2026, 1, 5)
    claim = compute_claim(state_rules(), [
        CostInput(LineKind.TOLL, day, 4_550, "Bompengar E39"),
        CostInput(LineKind.FERRY, day, 21_300, "Lavik–Oppedal", receipt_id=7),
        CostInput(LineKind.PARKING, day, 12_000, "Bergen sentrum"),
    ])
    # 45,50 + 213,00 + 120,00 kr
    assert [line.amount_ore for line in claim.lines] == [4_550, 21_300, 12_000]
    assert claim.total_ore == 37_850
    assert all(line.receipt_required for line in claim.lines)
    assert all(line.rate_id is None for line in claim.lines)
    # The ferry has its receipt; toll and parking do not yet.
    assert claim.receipts_missing == [0, 2]
    assert explain(claim.lines[1], "nn") == f"213,00{NBSP}kr"


def test_accommodation_needs_a_receipt():
    line = compute_line(state_rules(), CostInput(LineKind.ACCOMMODATION, date(2026, 1, 5),
                                                 125_000, "Hotell"))
    assert line.receipt_required
    assert line.receipt_missing


@pytest.mark.parametrize(("amount", "code"), [
    (None, "amount_missing"), (0, "amount_invalid"), (-100, "amount_invalid"),
    (10_000_001, "amount_too_large"), (True, "amount_invalid"), (12.5, "amount_invalid"),
])
def test_amounts_at_cost_must_be_positive_whole_ore(amount, code):
    with pytest.raises(CalcError) as exc:
        compute_line(state_rules(), CostInput(LineKind.TOLL, date(2026, 1, 5), amount))
    assert exc.value.code == code


def test_a_leg_cannot_be_an_extra_cost():
    with pytest.raises(CalcError) as exc:
        compute_line(state_rules(), CostInput(LineKind.LEG, date(2026, 1, 5), 100))
    assert exc.value.code == "kind_invalid"


def leg(means: TravelMeans, amount: int = 45_000, **values) -> LegInput:
    return LegInput(travel_date=date(2026, 1, 5), from_place="Førde", to_place="Bergen",
                    means=means, amount_paid_ore=amount, **values)


def test_public_transport_without_receipt_is_fine_where_optional():
    line = compute_line(state_rules(), leg(PT, 41_900))
    assert line.amount_ore == 41_900
    assert not line.receipt_required
    assert not line.receipt_missing


def test_best_class_train_or_boat_needs_a_receipt():
    line = compute_line(state_rules(), leg(PT, 89_900, best_class=True))
    assert line.receipt_required
    assert line.receipt_missing
    boat = compute_line(state_rules(), leg(TravelMeans.FERRY, 50_000, best_class=True,
                                           receipt_id=3))
    assert boat.receipt_required
    assert not boat.receipt_missing


def test_flight_without_receipt_is_flagged_and_with_receipt_is_not():
    claim = compute_claim(state_rules(), [leg(FLIGHT, 189_900),
                                          leg(FLIGHT, 189_900, receipt_id=1)])
    assert [line.receipt_required for line in claim.lines] == [True, True]
    assert claim.receipts_missing == [0]
    assert claim.total_ore == 379_800


def test_receipt_rules_are_data():
    rules = state_rules(receipt_rules={"leg": {"flight": "optional", "public_transport":
                                               "required"}})
    assert not compute_line(rules, leg(FLIGHT)).receipt_required
    assert compute_line(rules, leg(PT)).receipt_required
    # Anything the rules do not name needs a receipt.
    assert compute_line(rules, CostInput(LineKind.PARKING, date(2026, 1, 5), 100)
                        ).receipt_required
    # Except one's own car, which has no receipt to give.
    assert not compute_line(rules, car(date(2026, 1, 5), 10)).receipt_required


def test_own_car_needs_no_receipt():
    assert not compute_line(state_rules(), car(date(2026, 1, 5), 10)).receipt_required


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_taxi_without_a_written_reason_is_refused(reason):
    with pytest.raises(CalcError) as exc:
        compute_line(state_rules(), leg(TAXI, 35_000, taxi_reason=reason))
    assert exc.value.code == "taxi_reason_missing"


def test_taxi_with_a_reason_is_refunded_at_cost_against_a_receipt():
    line = compute_line(state_rules(), leg(TAXI, 35_000, taxi_reason="Inga buss etter kl. 22"))
    assert line.amount_ore == 35_000
    assert line.receipt_required
    assert line.receipt_missing


# --- meal allowance ----------------------------------------------------------------------------


def test_meal_allowance_is_refused_while_switched_off():
    with pytest.raises(CalcError) as exc:
        compute_line(state_rules(), AllowanceInput(date(2023, 5, 10), 120, 24, overnight=True))
    assert exc.value.code == "allowances_disabled"


def test_meal_allowance_switched_on_with_meals_provided():
    rules = state_rules(allowances_enabled=True)
    claim = compute_claim(rules, [
        AllowanceInput(date(2023, 5, 10), 120, 24, overnight=True, dinner_provided=True),
        AllowanceInput(date(2023, 5, 11), 120, 13, breakfast_provided=True,
                       lunch_provided=True),
        AllowanceInput(date(2023, 5, 12), 120, 8),
        AllowanceInput(date(2023, 5, 13), 120, 8, breakfast_provided=True,
                       lunch_provided=True, dinner_provided=True),
    ])
    overnight, long_day, short_day, all_meals = claim.lines
    # 872,00 kr less 50 % for dinner = 436,00 kr.
    assert overnight.amount_ore == 43_600
    assert overnight.deduction_percent == Decimal(50)
    assert overnight.rate_id == rate_id(RateKind.MEAL_OVERNIGHT, date(2023, 1, 1))
    # 637,00 kr less 20 % + 30 % = 318,50 kr.
    assert long_day.amount_ore == 31_850
    # 342,00 kr with nothing provided.
    assert short_day.amount_ore == 34_200
    assert short_day.deduction_percent is None
    # Every meal provided: 20 + 30 + 50 = 100 % off.
    assert all_meals.amount_ore == 0
    assert claim.total_ore == 43_600 + 31_850 + 34_200
    assert explain(overnight, "nn") == f"872,00{NBSP}kr − 50{NBSP}% = 436,00{NBSP}kr"
    assert explain(overnight, "en") == f"872.00{NBSP}NOK − 50% = 436.00{NBSP}NOK"
    assert explain(short_day, "nn") == f"342,00{NBSP}kr"
    assert not any(line.receipt_required for line in claim.lines)


def test_meal_allowance_rounds_half_up_once():
    rules = SchemeRules(allowances_enabled=True, allowance_rules=ALLOWANCE_RULES, rates=(
        RateValue(RateKind.MEAL_DAY_6_12H, 34_201, date(2020, 1, 1)),
        RateValue(RateKind.DEDUCT_LUNCH, 0, date(2020, 1, 1), percent=Decimal(50)),
    ))
    line = compute_line(rules, AllowanceInput(date(2026, 1, 5), 20, 7, lunch_provided=True))
    # 34 201 × 50 % = 17 100.5 øre → 17 101.
    assert line.amount_ore == 17_101


def test_meal_rates_without_a_2026_source_refuse_2026_dates():
    rules = state_rules(allowances_enabled=True)
    with pytest.raises(CalcError) as exc:
        compute_line(rules, AllowanceInput(date(2026, 1, 5), 120, 24, overnight=True))
    assert exc.value.code == "no_rate"


# --- the whole claim ---------------------------------------------------------------------------


def test_every_refused_line_is_reported_with_its_index():
    with pytest.raises(LinesRefused) as exc:
        compute_claim(state_rules(), [
            car(date(2026, 1, 2), 10),
            leg(TAXI, 35_000),
            car(date(2020, 1, 1), 10),
        ])
    assert [(e.index, e.code) for e in exc.value.errors] == [
        (1, "taxi_reason_missing"), (2, "no_rate")]


def test_a_mixed_claim_adds_up():
    day = date(2026, 1, 5)
    claim = compute_claim(state_rules(), [
        car(day, 312, passengers=1),                     # 165 360 + 31 200 = 196 560
        leg(PT, 41_900),                                 # 41 900
        CostInput(LineKind.TOLL, day, 4_550),            # 4 550
        CostInput(LineKind.PARKING, day, 12_000),        # 12 000
    ])
    assert claim.total_ore == 196_560 + 41_900 + 4_550 + 12_000 == 255_010


# --- the official rates on each side of every change (sources in rate_schemes.json) -------------


def test_mileage_and_passenger_supplement_either_side_of_new_year_2025():
    claim = compute_claim(state_rules(), [
        car(date(2024, 12, 31), 100, passengers=3),
        car(date(2025, 1, 1), 100, passengers=3),
    ])
    before, after = claim.lines
    # 100 × 490 + 100 × 3 passengers × 100 = 49 000 + 30 000 øre: per passenger, per km.
    assert before.amount_ore == 79_000
    assert (before.rate_ore, before.supplement_rate_ore, before.supplement_units) == (490, 100, 3)
    # 100 × 500 + 100 × 3 × 100 = 50 000 + 30 000 øre.
    assert after.amount_ore == 80_000
    assert after.rate_id == rate_id(RateKind.CAR_KM, date(2025, 1, 1))


def test_passenger_supplement_is_paid_per_passenger_as_the_agreement_is_read():
    assert state_rules().passenger_mode == PassengerMode.PER_PASSENGER
    one = compute_line(state_rules(), car(date(2024, 6, 1), 50, passengers=1))
    two = compute_line(state_rules(), car(date(2024, 6, 1), 50, passengers=2))
    # 50 × 490 + 50 × 100 = 29 500; a second passenger adds 50 × 100 = 5 000 øre.
    assert (one.amount_ore, two.amount_ore) == (29_500, 34_500)


def test_meal_allowance_either_side_of_new_year_2025_with_and_without_meals():
    rules = state_rules(allowances_enabled=True)
    claim = compute_claim(rules, [
        AllowanceInput(date(2024, 12, 31), 120, 24, overnight=True),
        AllowanceInput(date(2025, 1, 1), 120, 24, overnight=True),
        AllowanceInput(date(2024, 12, 31), 120, 24, overnight=True, dinner_provided=True),
        AllowanceInput(date(2025, 1, 1), 120, 24, overnight=True, dinner_provided=True),
        AllowanceInput(date(2024, 12, 31), 40, 8, lunch_provided=True),
        AllowanceInput(date(2025, 1, 1), 40, 8, lunch_provided=True),
        AllowanceInput(date(2024, 12, 31), 40, 13),
        AllowanceInput(date(2025, 1, 1), 40, 13, breakfast_provided=True),
    ])
    amounts = [line.amount_ore for line in claim.lines]
    assert amounts == [
        94_000,  # 940 kr overnight, 2024
        97_700,  # 977 kr overnight, 2025
        47_000,  # 940 − 50 % dinner
        48_850,  # 977 − 50 % = 488,50
        25_830,  # 369 − 30 % lunch = 258,30
        26_880,  # 384 − 30 % = 268,80
        68_600,  # 686 kr, more than 12 hours without a night away, 2024
        57_040,  # 713 − 20 % breakfast = 570,40
    ]
    assert [line.allowance_period for line in claim.lines[:2]] == [AllowancePeriod.OVERNIGHT] * 2
    assert claim.lines[4].allowance_period == AllowancePeriod.DAY_6_12H
    assert claim.lines[6].allowance_period == AllowancePeriod.DAY_OVER_12H


def test_meal_allowance_on_the_last_day_of_2025_but_none_without_a_2026_rate():
    rules = state_rules(allowances_enabled=True)
    assert compute_line(rules, AllowanceInput(date(2025, 12, 31), 40, 7)).amount_ore == 38_400
    with pytest.raises(CalcError) as exc:
        compute_line(rules, AllowanceInput(date(2026, 1, 1), 40, 7))
    assert exc.value.code == "no_rate"


@pytest.mark.parametrize(("km", "hours", "code"), [
    (14, 8, "allowance_too_short_distance"),
    (15, 8, "allowance_too_short_distance"),  # the agreement says over 15 km
    (40, 5, "allowance_too_short_time"),
    (40, Decimal("5.9"), "allowance_too_short_time"),
    (None, 8, "journey_km_missing"),
    (40, None, "hours_missing"),
    (40, 25, "hours_invalid"),
    (40, Decimal("6.25"), "hours_invalid"),
])
def test_meal_allowance_conditions_refuse_short_journeys(km, hours, code):
    rules = state_rules(allowances_enabled=True)
    with pytest.raises(LinesRefused) as exc:
        compute_claim(rules, [AllowanceInput(date(2024, 3, 5), km, hours)])
    assert [(e.code, e.index) for e in exc.value.errors] == [(code, 0)]


@pytest.mark.parametrize(("km", "hours", "overnight", "period", "amount"), [
    (Decimal("15.1"), 6, False, AllowancePeriod.DAY_6_12H, 36_900),
    (40, 12, False, AllowancePeriod.DAY_6_12H, 36_900),
    (40, Decimal("12.5"), False, AllowancePeriod.DAY_OVER_12H, 68_600),
    (40, 12, True, AllowancePeriod.DAY_6_12H, 36_900),  # a night away, but not over 12 hours
    (40, Decimal("12.5"), True, AllowancePeriod.OVERNIGHT, 94_000),
])
def test_meal_allowance_period_follows_hours_and_night_away(km, hours, overnight, period, amount):
    line = compute_line(state_rules(allowances_enabled=True),
                        AllowanceInput(date(2024, 3, 5), km, hours, overnight=overnight))
    assert (line.allowance_period, line.amount_ore) == (period, amount)


def test_allowance_without_the_schemes_conditions_is_refused():
    rules = state_rules(allowances_enabled=True, allowance_rules={})
    with pytest.raises(CalcError) as exc:
        compute_line(rules, AllowanceInput(date(2024, 3, 5), 40, 8))
    assert exc.value.code == "no_rate"


def test_night_supplement_in_2024_and_none_without_a_later_source():
    rules = state_rules(allowances_enabled=True)
    line = compute_line(rules, NightInput(date(2024, 12, 31)))
    # The unreceipted night supplement: 435 kr per night (DFØ, 2024).
    assert (line.amount_ore, line.rate_ore) == (43_500, 43_500)
    assert line.rate_id == rate_id(RateKind.NIGHT_SUPPLEMENT, date(2022, 1, 1))
    assert not line.receipt_required
    assert explain(line, "nn") == f"435,00{NBSP}kr"
    with pytest.raises(CalcError) as exc:
        compute_line(rules, NightInput(date(2025, 1, 1)))
    assert exc.value.code == "no_rate"


def test_night_supplement_is_refused_beside_a_lodging_receipt_or_twice():
    rules = state_rules(allowances_enabled=True)
    with pytest.raises(LinesRefused) as exc:
        compute_claim(rules, [
            CostInput(LineKind.ACCOMMODATION, date(2024, 4, 2), 120_000),
            NightInput(date(2024, 4, 2)),
            NightInput(date(2024, 4, 3)),
            NightInput(date(2024, 4, 3)),
        ])
    assert [(e.code, e.index) for e in exc.value.errors] == [
        ("night_with_lodging", 1), ("night_twice", 3)]


def test_night_supplement_is_refused_while_allowances_are_switched_off():
    with pytest.raises(CalcError) as exc:
        compute_line(state_rules(), NightInput(date(2024, 4, 2)))
    assert exc.value.code == "night_supplement_disabled"


def test_every_rate_in_the_data_file_names_its_source_and_unofficial_ones_are_marked():
    scheme = json.loads(RATES_FILE.read_text(encoding="utf-8"))["schemes"][0]
    for rate in scheme["rates"]:
        assert rate["source"] or rate.get("to_be_confirmed"), rate
        official = any(host in rate["source"] for host in ("dfo.no", "regjeringen.no",
                                                           "lovdata.no"))
        assert official or rate.get("to_be_confirmed"), rate
