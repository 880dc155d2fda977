"""The API token pages and the API's documentation page in a real browser: a refused token
(an expiry date in the past, in Bokmål) focuses an error summary that links the field; the page
that shows a new token once (in English); the documentation page (in Nynorsk). axe-core finds
0 violations on each and none scrolls sideways at 320 px; the Nu HTML Checker finds 0 errors on
the two pages the page crawl (test_every_page.py) cannot reach, which need a POST."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from core.db import utcnow
from core.i18n import OSLO
from tests.browser.checks import axe_violations, describe_violations, nu_errors, overflow_at_320
from tests.browser.test_staff_browser import log_in
from tests.browser.test_staff_error_summaries import summary_problems

pytestmark = pytest.mark.one_database
TOKEN_TEXT = re.compile(r"kp_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")


def test_token_pages_and_the_docs_page_pass_axe_in_three_languages(
        app, live_server, page, make_staff):
    make_staff(email="kari@sfvl.no", county="vestland")
    today = utcnow().astimezone(OSLO).date()
    problems: list[str] = []
    documents: dict[str, str] = {}

    # Bokmål: a date in the past is refused next to the field and in the summary.
    log_in(page, live_server, "kari@sfvl.no", "nb")
    page.goto(f"{live_server}/staff/api-tokens")
    page.fill("#name", "Regnskap")
    page.fill("#expires_on", (today - timedelta(days=1)).isoformat())
    with page.expect_navigation():
        page.get_by_role("button", name="Lag nøkkelen").click()
    assert page.locator("#error-summary a[href='#expires_on']").count() == 1
    assert "Datoen kan ikke være i fortiden." in page.locator("#expires_on-error").inner_text()
    problems += [f"token list with an error: {p}" for p in summary_problems(page, "Feil:")]
    documents["token list with an error (nb)"] = page.content()

    # English: a token that may read and write, shown once.
    page.goto(f"{live_server}/lang/en?next=/staff/api-tokens")
    page.fill("#name", "Accounts")
    page.check("#scope-1")
    with page.expect_navigation():
        page.get_by_role("button", name="Make the token").click()
    text = page.locator("#token-text").inner_text()
    assert TOKEN_TEXT.fullmatch(text)
    problems += describe_violations(page.url, axe_violations(page))
    documents["token shown once (en)"] = page.content()
    checked = [("token shown once", overflow_at_320(page))]
    with page.expect_navigation():
        page.get_by_role("link", name="I have copied the token, back to my tokens").click()
    assert text not in page.content()
    assert page.get_by_role("button", name="Revoke the token Accounts").count() == 1

    # Nynorsk: the documentation page, reached from the footer.
    page.goto(f"{live_server}/lang/nn?next=/")
    with page.expect_navigation():
        page.get_by_role("link", name="API for utviklarar").click()
    assert page.locator("h1").inner_text() == "API-dokumentasjon"
    assert page.locator("#op-describeToken").count() == 1
    problems += describe_violations(page.url, axe_violations(page))
    checked.append(("API documentation", overflow_at_320(page)))

    problems += [f"{name}: {wider} px wider than 320 px" for name, wider in checked if wider]
    # The list and the documentation page meet the Nu checker in test_every_page.py's crawl.
    problems += nu_errors(documents)
    assert not problems, "\n".join(problems)
