"""Norwegian sorting: Æ, Ø, Å last, Á with A, Northern Sami letters where a Norwegian reader looks
for them, invisible marks ignored; the same order in Python, on SQLite and on PostgreSQL, and in
every list staff read (participants, search, attendance, sign-in sheet, export).

Tests that take ``app`` run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import csv
import html
import io
import random
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from core import collation
from core.collation import collated, sort_key
from core.db import make_engine, session_scope
from enrollment.models import (
    CohortScheme,
    CourseOffering,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    ManageLink,
    Participant,
    Role,
)
from enrollment.services.cohorts import cohorts_around
from tests.test_pdf import pdftotext

SHY, ZWSP, LRM = "\u00ad", "\u200b", "\u200e"

# Written by hand in the order a Norwegian reader expects, with why each stands where it does.
# Every visible name is different, so the pages can be searched for each.
IN_NORWEGIAN_ORDER = [
    "Ánde Ánddas",  # Á is A with an accent: "Ande…" before "Anders".
    SHY + "Anders Berg",  # A soft hyphen in front is ignored: sorts as "Anders".
    ZWSP + "Birgit Olsen",  # A zero-width space in front is ignored: among the B's.
    "Cecilie Dahl",
    "Čoalbmi Niillas",  # Č is C with a caron: "Co…" between "Ce…" and "Cy…".
    "Cyril Holm",
    "Dag Solberg",
    "Đuolda Ánne",  # Đ sorts with D (CLDR's Norwegian tailoring): "Du…" between "Da…" and "Dy…".
    "Dyre Lie",
    "Nils Gaup",
    "Ŋálla Máret",  # Ŋ is a letter of its own after N (with N it would come before "Nils").
    "Oddny Hætta",
    "Sandra Vik",
    "Šiellá Sara",  # Š is S with a caron: "Si…" between "Sa…" and "So…".
    "Solveig Berg",
    "Tuva Lie",
    "Ŧiina Guttorm",  # Ŧ is a letter of its own after T (with T it would come before "Tuva").
    "Ulla Moe",
    "Zacharias Berg",
    "Žaneta Nilsen",  # Ž is Z with a caron: "Za n…" between "Zac…" and "Ze…".
    "Zeno Lie",
    "Ærlig Hansen",  # Æ, Ø, Å are the last three letters, in that order.
    "Øystein Moe",
    LRM + "Øyvind Dahl",  # A left-to-right mark in front is ignored: "Øyv…" after "Øys…".
    "Aase Ness",  # A double "aa" is "å" (CLDR's Norwegian rule): after Ø, "Åse N…" before "Åse Ø…".
    "Åse Ødegård",
]
# The same name behind an invisible mark: ICU counts the two as equal, and then both databases
# compare the bytes, so "Åse Ødegård" (U+00C5 first) comes before the one behind U+200B.
SAME_NAME = ZWSP + "Åse Ødegård"

INVISIBLE = re.compile(f"[{SHY}{ZWSP}{LRM}]")


def visible(name: str) -> str:
    return INVISIBLE.sub("", name)


def shuffled(names: list[str]) -> list[str]:
    mixed = list(names)
    random.Random(12).shuffle(mixed)
    assert mixed != names
    return mixed


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def assert_in_order(text: str, names: list[str]) -> None:
    """Each visible name is in ``text``, and they appear in the order given."""
    positions = [text.find(visible(name)) for name in names]
    assert -1 not in positions, [n for n, p in zip(names, positions, strict=True) if p < 0]
    found = [name for _p, name in sorted(zip(positions, names, strict=True))]
    assert found == names


def add_confirmed(app, offering_id: int, names: list[str]) -> None:
    """Enroll each name, confirmed, in the order given (committed)."""
    with session_scope(app.extensions["kp_engine"]) as session:
        offering = session.get(CourseOffering, offering_id)
        for number, name in enumerate(names):
            participant = Participant(full_name=name, email=f"p{number}@example.org",
                                      role=Role.LIS1, employer="Kautokeino kommune")
            session.add(Enrollment(offering=offering, participant=participant,
                                   status=EnrollmentStatus.CONFIRMED,
                                   manage_links=[ManageLink(
                                       token_hash=f"{offering_id}-{number}")]))
            offering.seats_taken += 1


@pytest.fixture
def held_offering(make_offering, now):
    """A Vestland offering of 40 seats whose two days are over, with the names enrolled in a
    mixed-up order."""
    offering = make_offering(
        first_day=(now - timedelta(days=10)).replace(hour=0, minute=0, second=0, microsecond=0),
        cohort=cohorts_around(CohortScheme.MUNICIPAL_START, now.date())[0], capacity=40)
    return offering


@pytest.fixture
def staff(make_staff, login) -> None:
    make_staff()
    login()


# --- the order itself ---------------------------------------------------------------------------


def test_sort_key_gives_norwegian_order_for_norwegian_and_sami_names():
    assert sorted(shuffled(IN_NORWEGIAN_ORDER), key=sort_key) == IN_NORWEGIAN_ORDER
    assert sorted([SAME_NAME, "Åse Ødegård"], key=sort_key) == ["Åse Ødegård", SAME_NAME]


def test_sqlite_collation_callback_agrees_with_sort_key():
    names = [*IN_NORWEGIAN_ORDER, SAME_NAME]
    for a in names:
        for b in names:
            expected = (sort_key(a) > sort_key(b)) - (sort_key(a) < sort_key(b))
            assert (collation.compare(a, b) > 0) - (collation.compare(a, b) < 0) == expected


def test_order_by_gives_the_same_order_on_the_database_as_in_python(app, held_offering):
    names = shuffled([*IN_NORWEGIAN_ORDER, SAME_NAME])
    add_confirmed(app, held_offering.id, names)

    with session_scope(app.extensions["kp_engine"]) as session:
        ordered = list(session.scalars(
            sa.select(Participant.full_name).order_by(collated(Participant.full_name))))

    assert ordered == [*IN_NORWEGIAN_ORDER, SAME_NAME]
    assert ordered == sorted(names, key=sort_key)


def test_missing_postgresql_collation_fails_at_the_first_connection(postgres_url, monkeypatch):
    # A collation name the server does not have stands for a server built without ICU.
    monkeypatch.setattr(collation, "COLLATION", "nb-XX-nonexistent-x-icu")
    engine = make_engine(postgres_url)
    try:
        with pytest.raises(collation.CollationMissing, match="nb-XX-nonexistent-x-icu"), \
                engine.connect():
            pass
    finally:
        engine.dispose()


# --- the lists staff read -----------------------------------------------------------------------


def test_participant_list_shows_the_confirmed_in_norwegian_order(
        app, client, staff, held_offering):
    add_confirmed(app, held_offering.id, shuffled(IN_NORWEGIAN_ORDER))

    response = client.get(f"/staff/courses/{held_offering.id}/participants")

    assert response.status_code == 200
    assert_in_order(page(response), IN_NORWEGIAN_ORDER)


def test_search_lists_matches_in_norwegian_order(app, client, staff, held_offering):
    add_confirmed(app, held_offering.id, shuffled(IN_NORWEGIAN_ORDER))

    response = client.get("/staff/participants/search", query_string={"q": "example.org"})

    assert response.status_code == 200
    assert_in_order(page(response), IN_NORWEGIAN_ORDER)


def test_attendance_roster_and_sign_in_sheet_are_in_norwegian_order(
        app, client, staff, held_offering):
    add_confirmed(app, held_offering.id, shuffled(IN_NORWEGIAN_ORDER))
    with session_scope(app.extensions["kp_engine"]) as session:
        day = session.scalar(sa.select(CourseSession.id)
                             .where(CourseSession.offering_id == held_offering.id)
                             .order_by(CourseSession.starts_at).limit(1))

    roster = client.get(f"/staff/sessions/{day}/attendance")
    sheet = client.get(f"/staff/sessions/{day}/sign-in.pdf")

    assert roster.status_code == 200
    assert_in_order(page(roster), IN_NORWEGIAN_ORDER)
    # The form's marks follow the same order: the enrollment ids by name.
    with session_scope(app.extensions["kp_engine"]) as session:
        ids = dict(session.execute(sa.select(Participant.full_name, Enrollment.id)
                                   .join(Enrollment.participant)).all())
    listed = [int(v) for v in re.findall(r'name="mark-(\d+)" value="present"', page(roster))]
    assert listed == [ids[name] for name in IN_NORWEGIAN_ORDER]
    assert sheet.status_code == 200
    assert_in_order(pdftotext(sheet.data), IN_NORWEGIAN_ORDER)


def test_participant_export_is_in_norwegian_order(app, client, staff, held_offering):
    add_confirmed(app, held_offering.id, shuffled(IN_NORWEGIAN_ORDER))

    as_csv = client.get(f"/staff/courses/{held_offering.id}/participants.csv")
    as_xlsx = client.get(f"/staff/courses/{held_offering.id}/participants.xlsx")

    assert as_csv.status_code == 200
    rows = list(csv.reader(io.StringIO(as_csv.data.decode("utf-8-sig")), delimiter=";"))
    assert [row[0] for row in rows[1:]] == IN_NORWEGIAN_ORDER
    assert as_xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(as_xlsx.data)).active
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == IN_NORWEGIAN_ORDER
