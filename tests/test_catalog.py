"""The public catalog and course pages."""

import re
from datetime import date, timedelta

import pytest

from enrollment.models import OfferingStatus

# The page's behaviour; the data rules under it are tested on both databases (conftest).
pytestmark = pytest.mark.one_database


def titles(response) -> list[str]:
    """The offering titles on a catalog page, in order."""
    html = response.get_data(as_text=True)
    return re.findall(r'<h2 [^>]*id="o\d+-title"><a href="[^"]+">([^<]+)</a>', html)


@pytest.fixture
def three(make_offering, now):
    """Three offerings in two counties for two audiences and two cohorts."""
    a = make_offering(title_en="Vestland public health", county="vestland",
                      first_day=now + timedelta(days=50), cohort=date(2027, 3, 1))
    b = make_offering(title_en="Rogaland physio", county="rogaland",
                      kind="physio_intern_course", first_day=now + timedelta(days=30),
                      cohort=date(2027, 9, 1))
    c = make_offering(title_en="Vestland supervisors", county="vestland",
                      kind="supervisor_training_lis1", first_day=now + timedelta(days=40),
                      cohort=date(2027, 9, 1))
    return a, b, c


def get(client, url, lang="en"):
    return client.get(url, headers={"Accept-Language": lang})


def test_catalog_lists_published_offerings_soonest_first(client, three, make_offering):
    make_offering(title_en="Draft course", status=OfferingStatus.DRAFT)
    response = get(client, "/")
    assert response.status_code == 200
    assert titles(response) == ["Rogaland physio", "Vestland supervisors", "Vestland public health"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("county=vestland", ["Vestland supervisors", "Vestland public health"]),
        ("kind=physio_intern_course", ["Rogaland physio"]),
        ("role=supervisor", ["Vestland supervisors"]),
        ("role=lis1", ["Vestland public health"]),
        ("role=physio_intern", ["Rogaland physio"]),
        ("cohort=2027-09", ["Rogaland physio", "Vestland supervisors"]),
        ("county=vestland&cohort=2027-09", ["Vestland supervisors"]),
        ("county=vestland&role=lis1&cohort=2027-03", ["Vestland public health"]),
        ("county=rogaland&role=supervisor", []),
    ],
)
def test_filters_alone_and_combined(client, three, query, expected):
    response = get(client, f"/?{query}")
    assert response.status_code == 200
    assert titles(response) == expected


def test_filters_survive_in_pager_links(client, make_offering, now):
    for i in range(27):
        make_offering(title_en=f"Course {i:02d}", first_day=now + timedelta(days=30 + i))
    first = get(client, "/?county=vestland&role=lis1")
    assert len(titles(first)) == 25
    html = first.get_data(as_text=True)
    assert "Page 1 of 2" in html
    next_link = re.search(r'<a [^>]*rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "county=vestland" in next_link
    assert "role=lis1" in next_link
    assert "page=2" in next_link
    second = get(client, next_link)
    assert titles(second) == ["Course 25", "Course 26"]


def test_open_only_hides_closed_and_not_yet_open(client, make_offering, now):
    make_offering(title_en="Open now")
    make_offering(title_en="Deadline passed", enroll_closes_at=now - timedelta(days=1))
    make_offering(title_en="Opens later", enroll_opens_at=now + timedelta(days=2))
    assert sorted(titles(get(client, "/?open=y"))) == ["Open now"]
    everything = get(client, "/").get_data(as_text=True)
    assert "Enrollment deadline passed" in everything
    assert "Enrollment opens" in everything


def test_full_offering_shows_waiting_list_and_seats_left_otherwise(client, make_offering):
    make_offering(title_en="Full one", capacity=5, seats_taken=5)
    make_offering(title_en="Roomy", capacity=30, seats_taken=3)
    html = get(client, "/").get_data(as_text=True)
    assert "Full — waiting list" in html
    assert "27 seats left" in html


def test_demo_offerings_are_marked(client, make_offering):
    make_offering(title_en="Real course")
    make_offering(title_en="Demo course", is_demo=True)
    html = get(client, "/").get_data(as_text=True)
    assert html.count("this is an example course, not a real offering") == 1


def test_past_offerings_are_not_listed(client, make_offering, now):
    make_offering(title_en="Last year", first_day=now - timedelta(days=400))
    assert titles(get(client, "/")) == []
    assert "No courses match your choices" in get(client, "/").get_data(as_text=True)


def test_unknown_county_is_404_in_the_persons_language(client):
    response = get(client, "/?county=atlantis", lang="en")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_page_past_the_end_is_404(client, three):
    assert get(client, "/?page=2").status_code == 404


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("kind=brain_surgery", "Unknown course kind."),
        ("role=astronaut", "Unknown role."),
        ("cohort=2026-13", "Unknown cohort."),
        ("cohort=notadate", "Unknown cohort."),
        ("cohort=2026-04", "Unknown cohort."),
        ("page=abc", "No such page."),
        ("page=0", "No such page."),
        ("page=-3", "No such page."),
    ],
)
def test_malformed_filters_get_a_message_next_to_the_field(client, query, message):
    response = get(client, f"/?{query}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    name = query.split("=")[0]
    # Listed in the error summary as a link to where it is said: next to its field, or (the
    # page number, which has no field) where the list would be.
    assert f'<a class="ds-link" href="#{name}">' in html
    assert (f'id="{name}-error"' if name != "page" else 'id="page"') in html
    assert message in html


def test_course_page_shows_everything_a_person_needs(client, make_offering):
    offering = make_offering(title_en="Akutt i Bergen", capacity=12, seats_taken=4,
                             refund_eligible=True, days=3, description_en="Bring a laptop.")
    html = get(client, f"/courses/{offering.id}").get_data(as_text=True)
    assert "<h1>Akutt i Bergen</h1>" in html
    assert "Bring a laptop." in html
    assert "8 seats left" in html
    assert html.count("<tr><td data-label=") == 3
    # Unconfirmed objectives (all of the data file's, for now) are not shown to the public.
    assert "To be confirmed by the office" not in html
    assert "public health" in html
    assert "LIS1 doctor" in html
    assert "Travel costs are refunded" in html
    assert f"/courses/{offering.id}.ics" in html
    assert "Enrollment deadline:" in html


def test_course_page_of_supervisor_course_and_no_refund(client, make_offering):
    offering = make_offering(kind="supervisor_training_lis1", refund_eligible=False)
    html = get(client, f"/courses/{offering.id}").get_data(as_text=True)
    assert "Supervisor" in html
    assert "Travel costs are not refunded" in html


def test_draft_course_page_is_404(client, make_offering):
    offering = make_offering(status=OfferingStatus.DRAFT)
    assert get(client, f"/courses/{offering.id}").status_code == 404
    assert get(client, f"/courses/{offering.id}.ics").status_code == 404


@pytest.mark.parametrize("url", ["/", "/?county=vestland&role=lis1", "/courses/{id}"])
def test_query_count_does_not_grow_with_rows(client, make_offering, count_queries, url):
    offering = make_offering()
    for _ in range(9):
        make_offering()
    with count_queries() as few:
        assert get(client, url.format(id=offering.id)).status_code == 200
    for _ in range(190):
        make_offering(days=3)
    with count_queries() as many:
        assert get(client, url.format(id=offering.id)).status_code == 200
    assert len(few) == len(many)
    assert len(many) <= 8


@pytest.mark.parametrize(("url", "statements"), [
    # the last change, counties, kinds, cohorts, the rows with their count, their days
    ("/?role=lis1", 6),
    # the last change, the offering with its office, kind and days, the kind's roles, objectives
    ("/courses/{id}", 4),
])
def test_catalog_and_course_page_each_read_in_a_few_statements(client, make_offering,
                                                               count_queries, url, statements):
    offering = make_offering(days=3)
    for _ in range(30):
        make_offering(days=2)
    with count_queries() as ran:
        response = get(client, url.format(id=offering.id))
    assert response.status_code == 200
    assert len(ran) == statements


def test_second_catalog_page_lists_the_rest_with_their_days_and_offices(client, make_offering):
    offerings = [make_offering(days=2) for _ in range(27)]
    html = get(client, "/?page=2").get_data(as_text=True)
    assert "27 courses found" in html
    assert html.count('<li class="offering">') == 2
    offices = re.findall(r"<dt>Office</dt><dd>([^<]+)</dd>", html)
    assert len(offices) == 2
    assert offices[0] == offices[1]
    assert "Vestland" in offices[0]
    days = re.findall(r"<dt>Dates</dt><dd>\s*([^<]+)</dd>", html)
    assert [len(d.split("; ")) for d in days] == [2, 2]
    assert {f"/courses/{o.id}" for o in offerings[-2:]} <= set(
        re.findall(r'href="(/courses/\d+)"', html))
