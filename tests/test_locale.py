"""Language choice and locale formatting."""

from datetime import UTC, date, datetime

import pytest

from core.i18n import format_clock, format_day, format_money, format_number

# The page's behaviour; the data rules under it are tested on both databases (conftest).
pytestmark = pytest.mark.one_database


def lang_of(response) -> str:
    html = response.get_data(as_text=True)
    return html.split('<html lang="', 1)[1].split('"', 1)[0]


def test_default_locale_is_nynorsk(client):
    assert lang_of(client.get("/")) == "nn"


@pytest.mark.parametrize(
    ("header", "expected"),
    [("en-GB,en;q=0.9", "en"), ("nb-NO,nb;q=0.9", "nb"), ("no", "nb"), ("nn", "nn"),
     ("de-DE", "nn")],
)
def test_accept_language_decides_without_a_choice(client, header, expected):
    assert lang_of(client.get("/", headers={"Accept-Language": header})) == expected


def test_cookie_beats_accept_language(client):
    response = client.get("/lang/nb?next=/", headers={"Accept-Language": "en"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "kp_lang=nb" in response.headers["Set-Cookie"]
    assert lang_of(client.get("/", headers={"Accept-Language": "en"})) == "nb"


def test_configured_default_is_used(app_config):
    from app import create_app

    app_config["DEFAULT_LOCALE"] = "en"
    app = create_app(app_config)
    assert lang_of(app.test_client().get("/")) == "en"
    app.extensions["kp_engine"].dispose()


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "javascript:x"])
def test_language_switch_never_redirects_off_site(client, target):
    response = client.get("/lang/en", query_string={"next": target})
    assert response.headers["Location"] == "/"


def test_unknown_language_is_404(client):
    assert client.get("/lang/de").status_code == 404


@pytest.mark.parametrize(
    ("locale", "heading", "weekday", "seats"),
    [
        ("nn", "Kurs for LIS1-legar, turnusfysioterapeutar og rettleiarar", "tysdag",
         "ledige plassar"),
        ("nb", "Kurs for LIS1-leger, turnusfysioterapeuter og veiledere", "tirsdag",
         "ledige plasser"),
        ("en", "Courses for LIS1 doctors, physiotherapy interns and supervisors", "Tuesday",
         "seats left"),
    ],
)
def test_whole_page_changes_language(client, make_offering, locale, heading, weekday, seats):
    # 2030-03-05 is a Tuesday; 08:00 UTC is 09:00 in Oslo in winter time.
    make_offering(first_day=datetime(2030, 3, 5, tzinfo=UTC), days=1, capacity=1500)
    client.get(f"/lang/{locale}")
    html = client.get("/").get_data(as_text=True)
    assert f'<html lang="{locale}"' in html
    assert heading in html
    assert weekday in html
    assert seats in html
    assert ("1\u00a0500" if locale != "en" else "1,500") in html


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("nn", "tysdag 3. mars 2026"), ("nb", "tirsdag 3. mars 2026"),
     ("en", "Tuesday 3 March 2026")],
)
def test_dates_per_locale(app, locale, expected):
    with app.test_request_context():
        assert format_day(date(2026, 3, 3), locale) == expected


def test_times_are_shown_in_oslo(app):
    with app.test_request_context():
        # 23:30 UTC on 2 March is 00:30 on 3 March in Oslo.
        moment = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
        assert format_day(moment, "nn") == "tysdag 3. mars 2026"
        assert format_clock(moment, "nn") == "00:30"
        summer = datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
        assert format_clock(summer, "en") == "09:00"


@pytest.mark.parametrize(
    ("locale", "number", "money"),
    [("nn", "1\u00a0234,5", "1\u00a0234,50\u00a0kr"),
     ("nb", "1\u00a0234,5", "1\u00a0234,50\u00a0kr"),
     ("en", "1,234.5", "1,234.50\u00a0NOK")],
)
def test_numbers_and_money_per_locale(app, locale, number, money):
    from decimal import Decimal

    with app.test_request_context():
        assert format_number(Decimal("1234.5"), locale) == number
        assert format_money(123450, locale) == money


def test_translations_follow_a_forced_locale_inside_a_request_and_come_back(app):
    from flask import render_template_string
    from flask_babel import force_locale

    from core.i18n import current_locale

    page = "{% trans %}Course catalog{% endtrans %}"
    with app.test_request_context("/", headers={"Cookie": "kp_lang=nn"}):
        assert (current_locale(), render_template_string(page)) == ("nn", "Kursoversikt")
        with force_locale("en"):  # mail in the recipient's language while a page is served
            assert (current_locale(), render_template_string(page)) == ("en", "Course catalog")
            with force_locale("nb"):
                assert current_locale() == "nb"
        assert (current_locale(), render_template_string(page)) == ("nn", "Kursoversikt")
