"""Staff see the travel rates: each scheme with its rules, its rates with their validity and
source, and the "to be confirmed by the office" mark on figures no official source confirmed;
the caseworker's claim page marks a line computed with such a rate.

Every test runs on SQLite and on PostgreSQL, on the real rates file.
"""

from __future__ import annotations

import html
import re
from datetime import date

import pytest
import sqlalchemy as sa

from core.db import session_scope, utcnow
from core.i18n import format_money, format_short_day, to_local
from core.models import County
from refunds.lines import LegInput
from refunds.models import ClaimLine, Rate, RateKind, RateScheme, TravelMeans
from tests.conftest import staff_login
from tests.refunds_factories import (
    TRAVEL_DAY,
    car_leg,
    engine_of,
    load_rates,
    make_enrollment,
    submitted_claim,
)

# The page's behaviour; the data rules under it are tested on both databases (conftest).
pytestmark = pytest.mark.one_database

DFO = "https://arbeidsgiver.dfo.no/lonn-goder-og-reise/reiser-og-satser/statens-satser-innenlands"


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def logged_in(app, email: str, locale: str = "en"):
    client = app.test_client()
    client.get(f"/lang/{locale}")
    staff_login(app, client, email)
    return client


def row(body: str, rate_id: int) -> str:
    """The table row of one rate."""
    match = re.search(rf'<tr [^>]*id="rate-{rate_id}">(.*?)</tr>', body, re.S)
    assert match, f"no row for rate {rate_id}"
    return match.group(1)


def add_county_scheme(app, county: str, name: str) -> int:
    """A county's own scheme with one confirmed kilometre rate; returns the rate's id."""
    with session_scope(engine_of(app)) as session:
        county_id = session.scalar(sa.select(County.id).where(County.slug == county))
        scheme = RateScheme(code=f"own-{county}", name=name, county_id=county_id,
                            allowances_enabled=True,
                            rates=[Rate(kind=RateKind.CAR_KM, amount_ore=612,
                                        valid_from=date(2020, 1, 1),
                                        source_url="https://example.org/own-rates")])
        session.add(scheme)
        session.flush()
        return scheme.rates[0].id


def test_county_staff_see_their_scheme_with_sources_and_tbc_marks(app, make_staff):
    load_rates(app)
    make_staff(email="kari@sfvl.no", county="vestland")
    staff = logged_in(app, "kari@sfvl.no")

    response = staff.get("/staff/refunds/rates")

    assert response.status_code == 200
    body = text(response)
    today = to_local(utcnow()).date()
    with session_scope(engine_of(app)) as session:
        scheme = session.scalar(sa.select(RateScheme).where(RateScheme.is_default.is_(True)))
        rates = list(scheme.rates)
        assert scheme.county_id is None
        assert not scheme.allowances_enabled
        assert "Statens satsar" in scheme.name
    assert scheme.name in body
    assert "Every county without a scheme of its own (national default)" in body
    assert "Not covered" in body  # meal allowance and night supplement switched off
    assert "Per passenger and kilometre" in body
    assert "From 1 day before the first attended course day to 1 day after the last." in \
        " ".join(body.split())
    assert '<caption>Mileage allowance for one\'s own car, per km</caption>' in body
    assert '<caption>Deduction when lunch was provided</caption>' in body
    unconfirmed = [r for r in rates if r.to_be_confirmed]
    confirmed = [r for r in rates if not r.to_be_confirmed]
    assert unconfirmed
    assert confirmed
    for rate in unconfirmed:
        assert "To be confirmed by the office" in row(body, rate.id)
    for rate in confirmed:
        assert "To be confirmed by the office" not in row(body, rate.id)
    assert body.count("To be confirmed by the office</strong>") == len(unconfirmed)
    # The 2024 kilometre rate: its amount, period and source link.
    car_2024 = next(r for r in rates if r.kind == RateKind.CAR_KM
                    and r.valid_from == date(2024, 1, 1))
    line = row(body, car_2024.id)
    assert format_money(490, "en") in line
    assert format_short_day(date(2024, 1, 1), "en") in line
    assert format_short_day(date(2024, 12, 31), "en") in line
    assert f'<a href="{DFO}" rel="noopener">arbeidsgiver.dfo.no</a>' in line
    # A deduction is a share, not an amount.
    lunch = next(r for r in rates if r.kind == RateKind.DEDUCT_LUNCH)
    assert "30%" in row(body, lunch.id)
    # The rates in force today are marked so, and only they.
    for rate in rates:
        assert ("In force today" in row(body, rate.id)) == rate.valid_on(today)
    # A rate without a source says so, and still carries its note.
    no_source = next(r for r in rates if not r.source_url)
    assert "No source recorded" in row(body, no_source.id)
    assert no_source.note in row(body, no_source.id)
    # The scheme's sources and notes from the data file are there to read.
    assert "Sources and notes of the data file" in body
    assert "To be confirmed by the office: the 2025 rates" in body


def test_nav_links_to_the_travel_rates(app, make_staff):
    load_rates(app)
    make_staff(email="kari@sfvl.no", county="vestland")
    staff = logged_in(app, "kari@sfvl.no")

    body = text(staff.get("/staff/refunds/"))

    assert '<a href="/staff/refunds/rates">Travel rates</a>' in body


@pytest.mark.parametrize(("locale", "words", "other_language"), [
    ("nn", ["Reisesatsar", "Må stadfestast av Statsforvaltaren",
            "Køyregodtgjersle for eigen bil, per km", "Gjeld i dag", "Blir ikkje dekt",
            "Per passasjer og kilometer", "1. januar 2024"], "Må bekreftes"),
    ("nb", ["Reisesatser", "Må bekreftes av Statsforvalteren",
            "Kjøregodtgjørelse for egen bil, per km", "Gjelder i dag", "Dekkes ikke",
            "Per passasjer og kilometer", "1. januar 2024"], "Må stadfestast"),
    ("en", ["Travel rates", "To be confirmed by the office",
            "Mileage allowance for one's own car, per km", "In force today", "Not covered",
            "Per passenger and kilometre", "1 January 2024"], "Statsforvalteren"),
])
def test_rates_page_speaks_the_staff_members_language(app, make_staff, locale, words,
                                                      other_language):
    load_rates(app)
    make_staff(email="kari@sfvl.no", county="vestland")
    staff = logged_in(app, "kari@sfvl.no", locale)

    response = staff.get("/staff/refunds/rates")

    assert response.status_code == 200
    body = text(response)
    assert f'<html lang="{locale}"' in body
    for word in words:
        assert word in body, word
    assert format_money(490, locale) in body
    assert other_language not in body
    with session_scope(engine_of(app)) as session:
        assert session.scalar(sa.select(sa.func.count(Rate.id)).where(
            Rate.to_be_confirmed.is_(True))) > 0


def test_county_staff_see_only_the_scheme_their_claims_use(app, make_staff):
    load_rates(app)
    rogaland_rate = add_county_scheme(app, "rogaland", "Rogaland sine satsar")
    make_staff(email="kari@sfvl.no", county="vestland")
    make_staff(email="rolf@sfro.no", county="rogaland")
    make_staff(email="ada@sf.no", admin=True)

    vestland = text(logged_in(app, "kari@sfvl.no").get("/staff/refunds/rates"))
    rogaland = text(logged_in(app, "rolf@sfro.no").get("/staff/refunds/rates"))
    admin = text(logged_in(app, "ada@sf.no").get("/staff/refunds/rates"))

    # Vestland has no scheme of its own: the national one, never Rogaland's.
    assert "Statens satsar" in vestland
    assert "Rogaland sine satsar" not in vestland
    assert f'id="rate-{rogaland_rate}"' not in vestland
    assert "example.org/own-rates" not in vestland
    # Rogaland's own scheme replaces the national one for Rogaland.
    assert "Rogaland sine satsar" in rogaland
    assert "Statens satsar" not in rogaland
    assert "<dd>Covered</dd>" in rogaland
    assert "To be confirmed by the office</strong>" not in rogaland
    # Administrators see every scheme, the national default first.
    assert admin.index("Statens satsar") < admin.index("Rogaland sine satsar")
    assert "Rogaland" in admin
    with session_scope(engine_of(app)) as session:
        assert session.scalar(sa.select(sa.func.count(RateScheme.id))) == 2


def test_county_without_any_scheme_is_told_so(app, make_staff):
    make_staff(email="kari@sfvl.no", county="vestland")

    response = logged_in(app, "kari@sfvl.no").get("/staff/refunds/rates")

    assert response.status_code == 200
    assert "No rate scheme applies to your county" in text(response)


def test_anonymous_visitor_is_sent_to_log_in(app, client):
    load_rates(app)

    response = client.get("/staff/refunds/rates")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login")
    assert "Statens satsar" not in text(response)


MARK = "Rate to be confirmed by the office"


def claim_rows(body: str) -> list[str]:
    """The rows of the caseworker's lines table."""
    table = re.search(r'<table class="ds-table stack amounts">(.*?)</table>', body, re.S).group(1)
    body = table.split("<tbody>")[1].split("</tbody>")[0]
    return re.findall(r"<tr>(.*?)</tr>", body, re.S)


def test_claim_page_marks_a_line_computed_with_a_rate_to_be_confirmed(
        app, make_offering, make_staff):
    load_rates(app)
    make_staff(email="kari@sfvl.no", county="vestland")
    enrollment_id = make_enrollment(app, make_offering)  # course 5 and 6 January 2026
    bus = LegInput(travel_date=TRAVEL_DAY, from_place="Bergen", to_place="Florø",
                   means=TravelMeans.PUBLIC_TRANSPORT, amount_paid_ore=45_000)
    claim_id = submitted_claim(app, enrollment_id, lines=[car_leg(), bus])
    staff = logged_in(app, "kari@sfvl.no")

    body = text(staff.get(f"/staff/refunds/claims/{claim_id}"))

    leg, cost = claim_rows(body)
    assert MARK in leg
    assert MARK not in cost
    with session_scope(engine_of(app)) as session:
        line = session.scalar(sa.select(ClaimLine).where(ClaimLine.claim_id == claim_id,
                                                         ClaimLine.rate_id.is_not(None)))
        rate = session.get(Rate, line.rate_id)
        assert rate.kind == RateKind.CAR_KM
        assert rate.to_be_confirmed
        assert (rate.amount_ore, rate.valid_from) == (530, date(2026, 1, 1))
        # The office confirms the figure.
        rate.to_be_confirmed = False

    body = text(staff.get(f"/staff/refunds/claims/{claim_id}"))

    assert MARK not in body


def test_claim_page_marks_a_line_whose_passenger_supplement_is_to_be_confirmed(
        app, make_offering, make_staff):
    load_rates(app)
    make_staff(email="kari@sfvl.no", county="vestland")
    enrollment_id = make_enrollment(app, make_offering)
    claim_id = submitted_claim(app, enrollment_id, lines=[car_leg(passengers=1)])
    with session_scope(engine_of(app)) as session:
        line = session.scalar(sa.select(ClaimLine).where(ClaimLine.claim_id == claim_id))
        session.get(Rate, line.rate_id).to_be_confirmed = False
        assert session.get(Rate, line.supplement_rate_id).to_be_confirmed

    body = text(logged_in(app, "kari@sfvl.no").get(f"/staff/refunds/claims/{claim_id}"))

    assert MARK in claim_rows(body)[0]


def test_claim_page_loads_the_marks_in_a_fixed_number_of_queries(
        app, make_offering, make_staff, count_queries):
    load_rates(app)
    make_staff(email="kari@sfvl.no", county="vestland")
    one = submitted_claim(app, make_enrollment(app, make_offering, email="a@example.no"),
                          lines=[car_leg()])
    many = submitted_claim(app, make_enrollment(app, make_offering, email="b@example.no"),
                           lines=[car_leg(), car_leg(km=50, passengers=2),
                                  car_leg(day=date(2026, 1, 6), km=80)])
    staff = logged_in(app, "kari@sfvl.no")
    staff.get(f"/staff/refunds/claims/{one}")  # warm up what is loaded once per process

    with count_queries() as few:
        assert MARK in text(staff.get(f"/staff/refunds/claims/{one}"))
    with count_queries() as more:
        assert text(staff.get(f"/staff/refunds/claims/{many}")).count(MARK) == 3

    assert len(more) == len(few)

