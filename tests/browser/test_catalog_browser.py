"""The public catalog in a real browser: filters, language switch, calendar download, axe-core."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from babel.support import Translations
from icalendar import Calendar
from playwright.sync_api import Page, expect

from core.i18n import OSLO
from enrollment.models import CourseSession
from tests.browser.conftest import assert_no_axe_violations

HEADING = "Courses for LIS1 doctors, physiotherapy interns and supervisors"

TITLES = {
    "public_health": {
        "nn": "Kurs i offentleg helsearbeid, Vestland",
        "nb": "Kurs i offentlig helsearbeid, Vestland",
        "en": "Public health course, Vestland",
    },
    "physio": {
        "nn": "Kurs for turnusfysioterapeutar, Rogaland",
        "nb": "Kurs for turnusfysioterapeuter, Rogaland",
        "en": "Physiotherapy interns' course, Rogaland",
    },
    "supervisor": {
        "nn": "Rettleiaropplæring, Vestland",
        "nb": "Veilederopplæring, Vestland",
        "en": "Supervisor training, Vestland",
    },
}

# Weekday names come from Babel's CLDR data, so they hold before the catalogs are translated.
TUESDAY = {"nn": "tysdag", "nb": "tirsdag", "en": "Tuesday"}
LANGUAGE_LINK = {"nn": "Nynorsk", "nb": "Bokmål", "en": "English"}


def titles(key: str) -> dict[str, str]:
    """The ``title_<locale>`` keyword arguments for one seeded offering."""
    return {f"title_{code}": text for code, text in TITLES[key].items()}


def translated(app, locale: str, message: str) -> str:
    """``message`` as the app's compiled catalog for ``locale`` has it (itself if untranslated)."""
    directory = Path(app.root_path) / "translations"
    return Translations.load(str(directory), [locale]).gettext(message)


@pytest.fixture
def first_tuesday(now) -> datetime:
    """Midnight UTC of the first Tuesday at least 40 days ahead, so every offering is upcoming."""
    day = (now + timedelta(days=40)).replace(hour=0, minute=0, second=0, microsecond=0)
    return day + timedelta(days=(1 - day.weekday()) % 7)


@pytest.fixture
def offerings(make_offering, first_tuesday) -> dict:
    """Three offerings in two counties, for three audiences; keyed like ``TITLES``."""
    return {
        "public_health": make_offering(
            county="vestland",
            kind="public_health",
            days=3,
            first_day=first_tuesday,
            session_hours=(7, 14),
            **titles("public_health"),
        ),
        "physio": make_offering(
            county="rogaland",
            kind="physio_intern_course",
            venue="Stavanger",
            first_day=first_tuesday + timedelta(days=7),
            **titles("physio"),
        ),
        "supervisor": make_offering(
            county="vestland",
            kind="supervisor_training_lis1",
            days=1,
            first_day=first_tuesday + timedelta(days=14),
            **titles("supervisor"),
        ),
    }


def shown_titles(page: Page) -> list[str]:
    """The titles of the offerings the catalog lists, in order."""
    return page.locator(".offering h2").all_inner_texts()


def choose_language(page: Page, code: str) -> None:
    """Follow the header's language link and wait for the page in that language."""
    page.locator("nav.lang-switch").get_by_role("link", name=LANGUAGE_LINK[code]).click()
    expect(page.locator("html")).to_have_attribute("lang", code)


def test_filters_narrow_catalog_and_stay_in_url(page: Page, live_server, offerings):
    """Choosing a county and a role lists only the matching offering, with both in the URL."""
    page.goto(f"{live_server}/")
    assert sorted(shown_titles(page)) == sorted(TITLES[k]["nn"] for k in TITLES)

    page.locator("select#county").select_option("vestland")
    page.locator("select#role").select_option("lis1")
    page.locator("form.filters button[type=submit]").click()
    page.wait_for_url("**/?*county=vestland*")

    query = parse_qs(urlsplit(page.url).query)
    assert query["county"] == ["vestland"]
    assert query["role"] == ["lis1"]
    assert shown_titles(page) == [TITLES["public_health"]["nn"]]
    body = page.locator("main").inner_text()
    assert TITLES["physio"]["nn"] not in body  # another county
    assert TITLES["supervisor"]["nn"] not in body  # same county, not for LIS1 doctors
    # The form shows the filters in force, so the visitor can change them.
    expect(page.locator("select#county")).to_have_value("vestland")
    expect(page.locator("select#role")).to_have_value("lis1")


def test_language_links_switch_page_language_and_dates(page: Page, live_server, offerings, app):
    """The header links set the language: html[lang], headings, titles and weekday names follow."""
    page.goto(f"{live_server}/?county=vestland")
    expect(page.locator("html")).to_have_attribute("lang", "nn")

    for code in ("nb", "en", "nn"):
        choose_language(page, code)
        # The language cookie keeps the page the visitor was on, filters included.
        assert parse_qs(urlsplit(page.url).query)["county"] == ["vestland"]
        expect(page.locator("h1")).to_have_text(translated(app, code, HEADING))
        expect(page.locator(".offering h2").first).to_have_text(TITLES["public_health"][code])
        dates = page.locator(".offering").first.inner_text()
        assert TUESDAY[code] in dates
        for other in set(TUESDAY) - {code}:
            assert TUESDAY[other] not in dates
        current = page.locator("nav.lang-switch a[aria-current]")
        expect(current).to_have_text(LANGUAGE_LINK[code])

    # English text appears when English is chosen, whatever the state of the nn/nb catalogs.
    choose_language(page, "en")
    expect(page.locator("h1")).to_have_text(HEADING)
    expect(page.locator(".offering").first).to_contain_text("Tuesday")


def test_course_calendar_has_one_event_per_session_in_oslo_time(
    page: Page, live_server, offerings, db
):
    """The .ics download holds one VEVENT per session, at the session's Europe/Oslo times."""
    offering = offerings["public_health"]
    sessions = db.scalars(
        sa.select(CourseSession)
        .where(CourseSession.offering_id == offering.id)
        .order_by(CourseSession.starts_at)
    ).all()
    assert len(sessions) == 3

    page.goto(f"{live_server}/")
    page.get_by_role("link", name=TITLES["public_health"]["nn"]).click()
    page.wait_for_url(f"**/courses/{offering.id}")
    expect(page.locator("h1")).to_have_text(TITLES["public_health"]["nn"])
    with page.expect_download() as info:
        page.locator(f"a[href$='/courses/{offering.id}.ics']").click()
    download = info.value
    assert download.suggested_filename == f"course-{offering.id}.ics"

    calendar = Calendar.from_ical(Path(download.path()).read_bytes())
    events = sorted(calendar.walk("VEVENT"), key=lambda e: e.decoded("dtstart"))
    assert len(events) == len(sessions)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Oslo"]
    for event, session in zip(events, sessions, strict=True):
        for prop, expected in (("DTSTART", session.starts_at), ("DTEND", session.ends_at)):
            assert event[prop].params["TZID"] == "Europe/Oslo"
            start = event.decoded(prop)
            assert start == expected  # the same instant
            wall_clock = expected.astimezone(OSLO).replace(tzinfo=None)
            assert start.replace(tzinfo=None) == wall_clock
        assert str(event["SUMMARY"]).startswith(TITLES["public_health"]["nn"])


@pytest.mark.parametrize("code", ["nn", "nb", "en"])
@pytest.mark.one_database
def test_catalog_has_no_axe_violations(page: Page, live_server, offerings, code):
    """axe-core finds nothing on the catalog, filtered to one offering, in every language."""
    page.goto(f"{live_server}/lang/{code}?next=/%3Fcounty%3Dvestland%26role%3Dlis1")
    expect(page.locator("html")).to_have_attribute("lang", code)
    expect(page.locator(".offering")).to_have_count(1)
    assert_no_axe_violations(page)


@pytest.mark.parametrize("code", ["nn", "nb", "en"])
@pytest.mark.one_database
def test_course_page_has_no_axe_violations(page: Page, live_server, offerings, code):
    """axe-core finds nothing on a course page in every language."""
    offering = offerings["public_health"]
    page.goto(f"{live_server}/lang/{code}?next=/courses/{offering.id}")
    expect(page.locator("html")).to_have_attribute("lang", code)
    expect(page.locator("h1")).to_have_text(TITLES["public_health"][code])
    assert_no_axe_violations(page)
