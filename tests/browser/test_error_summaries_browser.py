"""A failed submit, with the keyboard only, on the enrollment form and on the travel claim form:
the focus lands on the error summary, the page's title says "Feil:"/"Error:", the summary lists
every invalid field as a link, following a link (Tab, Enter) puts the focus on that field, and
every invalid field is described by the element that holds its message. Both failed pages pass
axe-core and the Nu HTML Checker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page

from core.db import session_scope
from enrollment.models import Enrollment
from refunds.services.claims import create_draft
from tests.browser.checks import axe_violations, describe_violations, nu_errors
from tests.refunds_factories import attending_participant, load_rates

pytestmark = pytest.mark.one_database

# What the page says about each invalid field: its id, whether it is marked, and the text of
# every element its aria-describedby names.
INVALID_FIELDS = """() => [...document.querySelectorAll('[aria-invalid=true]')].map(el => ({
  id: el.id,
  described: (el.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean)
    .map(id => document.getElementById(id))
    .filter(d => d && d.matches('.ds-validation-message'))
    .map(d => d.textContent.trim()),
}))"""
SUMMARY_LINKS = """() => [...document.querySelectorAll('#error-summary a[href^="#"]')]
  .map(a => ({target: a.getAttribute('href').slice(1), text: a.textContent.trim()}))"""


def press_tab_until(page: Page, selector: str, limit: int = 120) -> None:
    """Press Tab until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    pytest.fail(f"{selector} cannot be reached with Tab")


def focused_id(page: Page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def check_failed_page(page: Page, title_start: str) -> list[dict]:
    """The checks every failed submit passes; returns the summary's links."""
    assert focused_id(page) == "error-summary"
    assert page.title().startswith(title_start), page.title()
    links_ = page.evaluate(SUMMARY_LINKS)
    invalid = page.evaluate(INVALID_FIELDS)
    assert len(invalid) >= 3
    # One link per invalid field, to that field, in the order of the page.
    assert [link["target"] for link in links_] == [field["id"] for field in invalid]
    for link, field in zip(links_, invalid, strict=True):
        assert field["described"], f"#{field['id']} names no message"
        message = " ".join(field["described"])
        assert message in link["text"], (field, link)
    assert describe_violations(page.url, axe_violations(page)) == []
    return links_


def follow_link(page: Page, position: int, target: str) -> None:
    """From the summary, Tab to its link number ``position`` and press Enter."""
    page.evaluate("document.getElementById('error-summary').focus()")
    for _ in range(position + 1):
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == f"#{target}"
    page.keyboard.press("Enter")
    assert focused_id(page) == target


def test_enrollment_form_failed_with_the_keyboard(app, live_server, page, make_offering):
    offering = make_offering(capacity=5)
    page.goto(f"{live_server}/courses/{offering.id}/enroll")
    press_tab_until(page, "#full_name")
    page.keyboard.type("Åse Ødegård")
    press_tab_until(page, "#email")
    page.keyboard.type("ikkje-ei-adresse")
    press_tab_until(page, "main form button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    links_ = check_failed_page(page, "Feil:")
    targets = [link["target"] for link in links_]
    assert {"email", "phone", "role", "employer", "consent"} <= set(targets)
    assert "full_name" not in targets
    html = page.content()
    follow_link(page, 0, targets[0])
    follow_link(page, targets.index("consent"), "consent")  # a checkbox too
    assert nu_errors({"enroll, failed": html}) == []


@pytest.fixture
def draft(app, make_offering, now):
    """A LIS1 doctor, present at a course that began three days ago, with a draft claim;
    returns the draft's address."""
    load_rates(app)
    offering = make_offering(first_day=now - timedelta(days=3))
    enrollment_id, token = attending_participant(app, offering.id, locale="en")
    with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
        claim = create_draft(session, session.get(Enrollment, enrollment_id), now=now)
        session.flush()
        return f"/manage/{token}/claims/{claim.id}"


def test_claim_form_failed_with_the_keyboard(app, live_server, page, draft):
    page.goto(f"{live_server}/lang/en?next={draft}")
    # A leg with a distance that is no number and no date; a cost with an amount that is no
    # amount; an account number that fails its check digit.
    press_tab_until(page, "#legs-0-km")
    page.keyboard.type("far")
    press_tab_until(page, "#costs-0-amount")
    page.keyboard.type("lots")
    press_tab_until(page, "#bank_account")
    page.keyboard.type("1234 56 78901")
    press_tab_until(page, "#check")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    links_ = check_failed_page(page, "Error:")
    targets = [link["target"] for link in links_]
    assert targets == ["legs-0-travel_date", "legs-0-km", "costs-0-travel_date",
                       "costs-0-amount", "bank_account"]
    # Each row's errors say which row: "Leg 1, Date: Enter the date."
    assert links_[0]["text"].startswith("Leg 1, ")
    assert links_[2]["text"].startswith("Cost 1, ")
    html = page.content()
    follow_link(page, targets.index("costs-0-amount"), "costs-0-amount")  # a row's field
    assert nu_errors({"claim, failed": html}) == []
