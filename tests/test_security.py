"""Security headers on every page, pages the Content-Security-Policy cannot break, and manage
links that open only their own holder's data.

Routes are read from ``app.url_map`` (as in the scoping and CSRF tests), so a page added later is
covered without changing this file. Staff pages are fetched as the administrator, participant
pages with a real manage link.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from core.db import session_scope, utcnow
from enrollment.models import Role
from enrollment.services import enrollments
from tests.test_staff_scoping import (
    MARK,
    build_world,
    changed_tables,
    database_state,
    logged_in,
    url_for_rule,
)

# The page's behaviour; the data rules under it are tested on both databases (conftest).
pytestmark = pytest.mark.one_database

ADMIN = "admin@sf.no"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
EVENT_ATTRIBUTE = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle\s*=", re.I)


@pytest.fixture
def world(app, make_offering, make_staff):
    return build_world(app, make_offering, make_staff)


def other_participant(app, make_offering) -> str:
    """A second person, enrolled in another county's course: their own manage link."""
    offering = make_offering(county="rogaland", title_en="Another course")
    with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
        result = enrollments.enroll(session, offering.id, enrollments.PersonDetails(
            full_name="Other Person", email="other.person@example.org", phone="98765432",
            role=Role.LIS1, hpr_number="9876543", employer="Stavanger kommune", locale="en",
        ), utcnow())
        return result.token


def get_rules(app):
    """Every GET route but static files and the language switch (a redirect by design)."""
    return [rule for rule in app.url_map.iter_rules()
            if "GET" in rule.methods and rule.endpoint not in {"static", "core.set_language"}]


def fetch_every_page(app, world, **client_options):
    """(rule, response) for every GET route, staff pages as the administrator."""
    admin = logged_in(app, ADMIN)
    public = app.test_client()
    public.get("/lang/en")
    extra = {"token": world.manage_token, "code": "ABCD-EFGH", "filename": "style.css"}
    for rule in get_rules(app):
        client = admin if rule.rule.startswith("/staff/") else public
        url = url_for_rule(rule, world.values, extra)
        yield rule, client.get(url, **client_options)


def test_every_page_sends_the_security_headers(app, world):
    checked = 0
    for rule, response in fetch_every_page(app, world):
        headers = response.headers
        where = f"{rule.rule} ({response.status_code})"
        csp = headers.get("Content-Security-Policy", "")
        # Pages name script-src; receipts are served with "default-src 'none'" (and sandboxed).
        script_src = re.search(r"script-src ([^;]*)", csp) or re.search(r"default-src ([^;]*)", csp)
        assert script_src, where
        assert "'unsafe-inline'" not in script_src.group(1), where
        assert "frame-ancestors 'none'" in csp, where
        assert "object-src 'none'" in csp or "default-src 'none'" in csp, where
        assert headers.get("X-Content-Type-Options") == "nosniff", where
        assert headers.get("Referrer-Policy") == "same-origin", where
        assert "camera=()" in headers.get("Permissions-Policy", ""), where
        assert "Strict-Transport-Security" not in headers, where  # plain HTTP: never
        checked += 1
    assert checked >= 30


def test_over_https_every_page_asks_for_https_from_then_on(app, world):
    for rule, response in fetch_every_page(app, world, base_url="https://localhost"):
        hsts = response.headers.get("Strict-Transport-Security", "")
        assert re.fullmatch(r"max-age=(\d+); includeSubDomains", hsts), rule.rule
        assert int(hsts.split("=")[1].split(";")[0]) >= 31_536_000


def test_no_page_needs_inline_script_or_style(app, world):
    """The policy allows scripts and styles only from our own files: an inline one would be
    blocked in the browser, so none may be rendered."""
    pages = 0
    for rule, response in fetch_every_page(app, world):
        if response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        for pattern in (INLINE_SCRIPT, EVENT_ATTRIBUTE, STYLE_ATTRIBUTE):
            found = pattern.search(html)
            assert found is None, f"{rule.rule}: {found.group(0)[:120]}"
        pages += 1
    assert pages >= 25


def test_every_manage_link_page_is_no_store(app, world):
    client = app.test_client()
    token_rules = [rule for rule in get_rules(app) if "token" in rule.arguments]
    assert len(token_rules) >= 4
    for rule in token_rules:
        url = url_for_rule(rule, world.values, {"token": world.manage_token})
        response = client.get(url)
        assert response.status_code < 500, rule.rule
        assert response.headers.get("Cache-Control") == "no-store", rule.rule


def test_another_participants_link_opens_none_of_this_persons_things(app, world, make_offering):
    """Every participant route that names an object (a claim, a receipt…) besides the token
    answers 404 to someone else's valid manage link, shows nothing and changes nothing."""
    stranger = other_participant(app, make_offering)
    client = app.test_client()
    client.get("/lang/en")
    rules = [rule for rule in app.url_map.iter_rules()
             if rule.rule.startswith("/manage/<token>") and len(rule.arguments) > 1]
    assert len(rules) >= 6, [rule.rule for rule in rules]
    for rule in rules:
        url = url_for_rule(rule, world.values, {"token": stranger})
        for method in sorted(rule.methods & {"GET", "POST"}):
            before = database_state(app)
            response = client.open(url, method=method, data={"reason": "x", "confirm": "y"})
            assert response.status_code == 404, f"{method} {rule.rule}: {response.status_code}"
            assert MARK not in response.get_data(as_text=True).lower(), f"{method} {rule.rule}"
            after = database_state(app)
            assert before == after, f"{method} {rule.rule} changed {changed_tables(before, after)}"


def test_an_unknown_or_altered_token_opens_nothing(app, world):
    client = app.test_client()
    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/manage/<token>")]
    altered = world.manage_token[:-1] + ("A" if world.manage_token[-1] != "A" else "B")
    for token in (altered, "x", "0" * 43):
        for rule in rules:
            url = url_for_rule(rule, world.values, {"token": token})
            for method in sorted(rule.methods & {"GET", "POST"}):
                response = client.open(url, method=method, data={"confirm": "y"})
                assert response.status_code == 404, f"{method} {rule.rule} with {token!r}"
    with session_scope(app.extensions["kp_engine"]) as session:
        assert session.scalar(sa.text("SELECT count(*) FROM enrollments")) == 3
