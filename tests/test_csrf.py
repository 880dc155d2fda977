"""Every POST route, public and staff, refuses a request without the form's CSRF token.

The routes are read from ``app.url_map``, so one added later is covered without changing this
file. Each is called by someone allowed to use it (an administrator, who may do everything; the
holder of the manage link; the owner of the reset link) with plausible form values, once with no
token and once with a forged one: the answer must be 400 and the database must not change.
The JSON API's write operations (``/api/``) take no form and read no session cookie: without a
bearer token the signed-in browser's request is refused with 401 (``core.api.auth``), and the
database must not change either.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from core.auth import StaffUser, make_reset_token
from core.db import session_scope, utcnow
from enrollment.models import PrivacyLink, PrivacyPurpose
from enrollment.services import email_change, links
from tests.conftest import STAFF_PASSWORD, totp_code
from tests.test_staff_scoping import (
    build_world,
    changed_tables,
    database_state,
    plausible_form,
    url_for_rule,
)

# CSRF refusal happens before any database work: one database is enough (SQLite), which keeps
# make test under its 6 minutes.
pytestmark = pytest.mark.one_database

CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
ADMIN = "admin@sf.no"


@pytest.fixture
def csrf_on(app_config):
    """CSRF protection on, as in production (set before the app is built)."""
    app_config["WTF_CSRF_ENABLED"] = True


def admin_client(app):
    """A client logged in as the administrator, through the login form and its token."""
    client = app.test_client()
    client.get("/lang/en")
    token = CSRF_FIELD.search(client.get("/staff/login").get_data(as_text=True)).group(1)
    response = client.post("/staff/login", data={"email": ADMIN, "password": STAFF_PASSWORD,
                                                 "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    token = CSRF_FIELD.search(client.get("/staff/login/code").get_data(as_text=True)).group(1)
    response = client.post("/staff/login/code", data={"code": totp_code(app, ADMIN),
                                                      "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def token_arguments(app, world) -> dict[str, dict[str, str]]:
    """A real secret for each kind of ``<token>`` URL: a manage link, a reset link and the
    link that confirms a change of e-mail address, and a mailed personal-data link."""
    with session_scope(app.extensions["kp_engine"]) as session, app.test_request_context():
        admin = session.scalar(sa.select(StaffUser).where(StaffUser.email == ADMIN))
        reset = make_reset_token(admin)
        enrollment = links.find_by_token(session, world.manage_token)
        change = email_change.request_change(session, enrollment, "new@example.org", utcnow(),
                                             timedelta(hours=1))
        privacy_token, digest = links.new_token()
        session.add(PrivacyLink(
            participant_id=enrollment.participant_id, enrollment_id=enrollment.id,
            purpose=PrivacyPurpose.EXPORT, email=enrollment.participant.email, token_hash=digest,
            created_at=utcnow(), expires_at=utcnow() + timedelta(hours=1)))
    return {"staff.reset_password": {"token": reset},
            "enrollment.email_change": {"token": change.confirm_token},
            "enrollment.personal_data_link": {"token": privacy_token},
            "": {"token": world.manage_token}}


@pytest.mark.usefixtures("csrf_on")
def test_every_post_route_refuses_a_missing_or_forged_csrf_token(app, make_offering, make_staff):
    world = build_world(app, make_offering, make_staff)
    tokens = token_arguments(app, world)
    form = {**plausible_form(world), "email": ADMIN}
    rules = [rule for rule in app.url_map.iter_rules() if "POST" in rule.methods]
    problems = []

    # One signed-in administrator for every request: a refused POST changes nothing, the
    # session included (a sign-in per request made this the slowest test under load).
    client = admin_client(app)
    for rule in rules:
        url = url_for_rule(rule, world.values, tokens.get(rule.endpoint, tokens[""]))
        # The JSON API reads no cookie: its writes need a personal access token in a header,
        # which no other site's page can make a browser send. A signed-in session alone is 401.
        refused = 401 if rule.rule.startswith("/api/") else 400
        for label, extra in (("no token", {}), ("a forged token", {"csrf_token": "forged"})):
            state = database_state(app)
            response = client.post(url, data={**form, **extra})
            if response.status_code != refused:
                problems.append(f"POST {rule.rule} ({rule.endpoint}) with {label} answered "
                                f"{response.status_code}, not {refused}")
            now = database_state(app)
            if now != state:
                problems.append(f"POST {rule.rule} ({rule.endpoint}) with {label} changed "
                                f"{changed_tables(state, now)}")

    print(f"csrf: {len(rules)} POST routes checked")
    assert rules
    assert any(rule.rule.startswith("/staff/") for rule in rules)
    assert any(not rule.rule.startswith("/staff/") for rule in rules)
    assert problems == [], "\n".join(problems)


@pytest.mark.usefixtures("csrf_on")
def test_the_real_token_is_accepted(app, make_staff):
    """The control: with the page's own token the same kind of request goes through."""
    make_staff(email=ADMIN, admin=True)
    client = admin_client(app)
    page = client.get("/staff/accounts/new").get_data(as_text=True)

    response = client.post("/staff/accounts/new", data={
        "name": "Per", "email": "per@sfvl.no", "county": "vestland", "locale": "nn",
        "csrf_token": CSRF_FIELD.search(page).group(1)})

    assert response.status_code == 302
