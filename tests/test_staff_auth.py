"""Staff login, logout, password reset, the ``flask staff create`` command, the account pages
of administrators and the audit log: what the person sees and what the database then holds.

Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app import create_app
from core import audit
from core.audit import AuditEvent
from core.auth import StaffUser, make_reset_token
from core.db import session_scope
from core.mail import OutboxMessage, send_pending
from core.models import County
from tests.conftest import STAFF_PASSWORD, staff_login, totp_code

# The page's behaviour; the data rules under it are tested on both databases (conftest).
pytestmark = pytest.mark.one_database

EN = {"Accept-Language": "en"}
RESET_LINK = re.compile(r"https?://[^\s/]+(/staff/password/reset/[A-Za-z0-9_.-]+)")
WRONG = "Wrong e-mail or password, or the account is deactivated."
NEW_PASSWORD = "a-brand-new-password-42"


# --- helpers ------------------------------------------------------------------------------------


def engine_of(app):
    return app.extensions["kp_engine"]


def page(response) -> str:
    """The response body with HTML entities resolved."""
    return html.unescape(response.get_data(as_text=True))


def post_login(client, email: str, password: str, **kwargs):
    return client.post("/staff/login", data={"email": email, "password": password}, headers=EN,
                       **kwargs)


def user_row(app, email: str) -> dict | None:
    """An account as plain values, or None."""
    with session_scope(engine_of(app)) as session:
        user = session.scalar(sa.select(StaffUser).where(StaffUser.email == email))
        if user is None:
            return None
        return dict(id=user.id, name=user.name, active=user.active, is_admin=user.is_admin,
                    county=user.county.slug if user.county else None, locale=user.locale,
                    password_hash=user.password_hash, last_login_at=user.last_login_at)


def events(app, action: str | None = None) -> list[dict]:
    """Audit events, oldest first, as plain values."""
    with session_scope(engine_of(app)) as session:
        stmt = sa.select(AuditEvent).order_by(AuditEvent.id)
        if action:
            stmt = stmt.where(AuditEvent.action == action)
        return [dict(action=e.action, actor_email=e.actor_email, object_type=e.object_type,
                     object_id=e.object_id, county_id=e.county_id, before=e.before,
                     after=e.after) for e in session.scalars(stmt)]


def run_sender(app) -> None:
    """What ``flask mail send`` does: run the deferred jobs (the forgot-password lookup), then
    deliver (tests without MAIL_SERVER log the mail)."""
    send_pending(engine_of(app), app.config, app=app)


def outbox(app) -> list[OutboxMessage]:
    with session_scope(engine_of(app)) as session:
        return list(session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def county_id(app, slug: str) -> int:
    with session_scope(engine_of(app)) as session:
        return session.scalar(sa.select(County.id).where(County.slug == slug))


def add_event(app, *, action: str, county: str | None, object_type: str = "enrollment",
              object_id: int | None = 1, actor_email: str = "someone@sf.no",
              at: datetime | None = None, before=None, after=None) -> int:
    """Write an audit event directly, as a service would."""
    with session_scope(engine_of(app)) as session:
        cid = session.scalar(sa.select(County.id).where(County.slug == county)) if county else None
        actor = type("Actor", (), {"id": None, "email": actor_email})()
        event = audit.record(session, actor=actor, action=action, object_type=object_type,
                             object_id=object_id, county_id=cid, before=before, after=after)
        if at is not None:
            event.at = at
        session.flush()
        return event.id


def logged_in_client(app, email: str):
    """A fresh test client logged in as ``email`` (English pages)."""
    client = app.test_client()
    client.get("/lang/en")
    staff_login(app, client, email, headers=EN)
    return client


# --- login --------------------------------------------------------------------------------------


def test_login_with_the_right_password_opens_the_staff_pages(app, client, make_staff):
    make_staff()

    response = post_login(client, "Kari@SFVL.no ", STAFF_PASSWORD)

    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/login/code"
    assert client.get("/staff/audit").headers["Location"].startswith("/staff/login")
    assert user_row(app, "kari@sfvl.no")["last_login_at"] is None  # not in until the code
    second = client.post("/staff/login/code", data={"code": totp_code(app, "kari@sfvl.no")})
    assert second.status_code == 302
    assert second.headers["Location"] == "/staff/"  # the staff home enrollment registered
    audit_page = client.get("/staff/audit", headers=EN)
    assert audit_page.status_code == 200
    assert "Kari Nordmann" in page(audit_page)
    assert user_row(app, "kari@sfvl.no")["last_login_at"] is not None


def test_login_goes_back_to_the_page_asked_for_but_never_off_site(app, client, make_staff):
    make_staff()
    assert client.get("/staff/audit").headers["Location"].startswith("/staff/login?next=")

    inside = staff_login(app, client, query_string={"next": "/staff/audit"})
    client.post("/staff/logout")
    outside = staff_login(app, client, query_string={"next": "https://evil.example/"})

    assert inside.headers["Location"] == "/staff/audit"
    assert outside.headers["Location"] == "/staff/"


def test_without_plugins_staff_land_on_their_own_sessions_page(app_config, app, make_staff):
    """No plugin registers a staff home with ``PLUGINS = []``, so signing in ends on a page core
    always has (enrollment's ``/staff/`` is not there)."""
    make_staff()
    bare = create_app({**app_config, "PLUGINS": []})
    try:
        client = bare.test_client()
        landed = staff_login(bare, client, headers=EN)
        assert landed.headers["Location"] == "/staff/my-sessions"
        home = client.get(landed.headers["Location"], headers=EN)
        assert home.status_code == 200
        assert "My sessions" in page(home)
        assert "Kari Nordmann" in page(home)
        assert client.get("/staff/", headers=EN).status_code == 404
        assert user_row(bare, "kari@sfvl.no")["last_login_at"] is not None
    finally:
        bare.extensions["kp_engine"].dispose()


def test_a_configured_staff_home_wins_over_the_registered_one(app_config, app, make_staff):
    make_staff()
    configured = create_app({**app_config, "STAFF_HOME": "/staff/audit"})
    try:
        client = configured.test_client()
        landed = staff_login(configured, client, headers=EN)
        assert landed.headers["Location"] == "/staff/audit"
        assert client.get("/staff/audit", headers=EN).status_code == 200
    finally:
        configured.extensions["kp_engine"].dispose()


def test_wrong_password_and_unknown_email_get_the_same_answer(app, client, make_staff):
    make_staff()

    wrong = post_login(client, "kari@sfvl.no", "not-the-password")
    unknown = post_login(client, "nobody@sfvl.no", "not-the-password")

    assert wrong.status_code == unknown.status_code == 400
    assert WRONG in page(wrong)
    assert (wrong.get_data(as_text=True).replace("kari@sfvl.no", "EMAIL")
            == unknown.get_data(as_text=True).replace("nobody@sfvl.no", "EMAIL"))
    assert client.get("/staff/audit").status_code == 302
    assert user_row(app, "kari@sfvl.no")["last_login_at"] is None


def test_deactivated_account_cannot_log_in_and_its_session_ends(app, client, make_staff):
    make_staff()
    with session_scope(engine_of(app)) as session:
        session.scalar(sa.select(StaffUser)).active = False

    refused = post_login(client, "kari@sfvl.no", STAFF_PASSWORD)
    assert refused.status_code == 400
    assert WRONG in page(refused)

    make_staff(email="ola@sfvl.no")
    other = logged_in_client(app, "ola@sfvl.no")
    assert other.get("/staff/audit").status_code == 200
    with session_scope(engine_of(app)) as session:
        session.scalar(sa.select(StaffUser).where(StaffUser.email == "ola@sfvl.no")).active = False
    assert other.get("/staff/audit").headers["Location"].startswith("/staff/login")


def session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert len(cookies) == 1, response.headers.getlist("Set-Cookie")
    return cookies[0]


def test_session_cookie_is_httponly_and_samesite_lax(app, client, make_staff):
    make_staff()

    cookie = session_cookie(post_login(client, "kari@sfvl.no", STAFF_PASSWORD))

    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http in development: a Secure cookie would be lost


def test_session_cookie_is_secure_over_https(app, client, make_staff):
    make_staff()

    response = post_login(client, "kari@sfvl.no", STAFF_PASSWORD, base_url="https://localhost")

    cookie = session_cookie(response)
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_logout_ends_the_session(app, client, make_staff, login):
    make_staff()
    login()

    response = client.post("/staff/logout", headers=EN)

    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/login"
    assert "You are logged out." in page(client.get("/staff/login", headers=EN))
    assert client.get("/staff/audit").headers["Location"].startswith("/staff/login")


def test_staff_pages_are_never_cached(app, client, make_staff, login):
    make_staff()
    login()

    for url in ("/staff/login", "/staff/audit"):
        assert client.get(url).headers["Cache-Control"] == "no-store"


# --- the sign-in throttle: moved to tests/test_staff_sessions.py ----------------------------------


# --- password reset -----------------------------------------------------------------------------


def reset_path(message: OutboxMessage) -> str:
    return RESET_LINK.search(message.body_text).group(1)


def test_forgotten_password_is_reset_once_by_the_mailed_link(app, client, make_staff):
    make_staff()
    old_hash = user_row(app, "kari@sfvl.no")["password_hash"]

    asked = client.post("/staff/password/forgot", data={"email": "Kari@sfvl.no"}, headers=EN)

    assert asked.status_code == 302
    assert asked.headers["Location"] == "/staff/login"
    assert outbox(app) == []  # the lookup is the outbox sender's job, not the request's
    run_sender(app)
    [mail] = outbox(app)
    assert mail.to_address == "kari@sfvl.no"
    assert mail.subject == "Reset your Kursportal password"
    link = reset_path(mail)

    form = client.get(link, headers=EN)
    assert form.status_code == 200
    assert "Choose a new password" in page(form)
    assert form.headers["Cache-Control"] == "no-store"

    done = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
                       headers=EN)
    assert done.status_code == 302
    assert user_row(app, "kari@sfvl.no")["password_hash"] != old_hash
    assert [e["action"] for e in events(app)] == ["staff.password_reset"]
    assert post_login(client, "kari@sfvl.no", STAFF_PASSWORD).status_code == 400
    assert post_login(client, "kari@sfvl.no", NEW_PASSWORD).status_code == 302
    client.post("/staff/logout")

    again = client.get(link, headers=EN)
    assert again.status_code == 302
    assert again.headers["Location"] == "/staff/password/forgot"
    assert "The link has expired or has been used." in page(
        client.get("/staff/password/forgot", headers=EN))
    reused = client.post(link, data={"password": "yet-another-password", "confirm":
                                     "yet-another-password"})
    assert reused.status_code == 302
    assert post_login(client, "kari@sfvl.no", NEW_PASSWORD).status_code == 302


def test_expired_reset_link_is_refused(app, client, make_staff):
    make_staff()
    with session_scope(engine_of(app)) as session, app.test_request_context():
        token = make_reset_token(session.scalar(sa.select(StaffUser)))
    old_hash = user_row(app, "kari@sfvl.no")["password_hash"]
    app.config["PASSWORD_RESET_MAX_AGE"] = -1

    shown = client.get(f"/staff/password/reset/{token}", headers=EN)
    posted = client.post(f"/staff/password/reset/{token}",
                         data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    assert shown.status_code == posted.status_code == 302
    assert shown.headers["Location"] == "/staff/password/forgot"
    assert user_row(app, "kari@sfvl.no")["password_hash"] == old_hash


def test_forged_reset_link_is_refused(app, client, make_staff):
    make_staff()

    response = client.get("/staff/password/reset/not-a-real-token")

    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/password/forgot"


def test_reset_password_must_be_long_and_repeated(app, client, make_staff):
    make_staff()
    with session_scope(engine_of(app)) as session, app.test_request_context():
        token = make_reset_token(session.scalar(sa.select(StaffUser)))
    old_hash = user_row(app, "kari@sfvl.no")["password_hash"]

    short = client.post(f"/staff/password/reset/{token}",
                        data={"password": "short", "confirm": "short"}, headers=EN)
    mismatch = client.post(f"/staff/password/reset/{token}",
                           data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"},
                           headers=EN)

    assert short.status_code == mismatch.status_code == 400
    assert "Use at least 12 characters." in page(short)
    assert "The two passwords are not the same." in page(mismatch)
    assert user_row(app, "kari@sfvl.no")["password_hash"] == old_hash


def test_forgot_password_answers_alike_for_an_unknown_address(app, client, make_staff):
    make_staff()

    known = client.post("/staff/password/forgot", data={"email": "kari@sfvl.no"}, headers=EN,
                        follow_redirects=True)
    unknown = client.post("/staff/password/forgot", data={"email": "nobody@sfvl.no"},
                          headers=EN, follow_redirects=True)

    assert known.status_code == unknown.status_code == 200
    assert known.get_data() == unknown.get_data()
    assert "If the address belongs to an account" in page(unknown)
    run_sender(app)
    assert [m.to_address for m in outbox(app)] == ["kari@sfvl.no"]


# --- flask staff create -------------------------------------------------------------------------

CLI_ENV = {"KURSPORTAL_STAFF_PASSWORD": "a-long-enough-password"}


def test_cli_creates_county_staff(app, runner):
    result = runner.invoke(args=["staff", "create", "--email", "Per@SFVL.no", "--name", "Per",
                                 "--county", "vestland", "--locale", "nb"], env=CLI_ENV)

    assert result.exit_code == 0, result.output
    assert "Created staff member per@sfvl.no." in result.output
    user = user_row(app, "per@sfvl.no")
    assert (user["county"], user["is_admin"], user["locale"], user["active"]) == (
        "vestland", False, "nb", True)
    [event] = events(app)
    assert (event["action"], event["actor_email"], event["object_id"], event["county_id"]) == (
        "staff.create", "system", user["id"], county_id(app, "vestland"))
    client = app.test_client()
    assert post_login(client, "per@sfvl.no", CLI_ENV["KURSPORTAL_STAFF_PASSWORD"]).status_code \
        == 302


def test_cli_creates_an_administrator(app, runner):
    result = runner.invoke(args=["staff", "create", "--email", "admin@sf.no", "--name", "Admin",
                                 "--admin"], env=CLI_ENV)

    assert result.exit_code == 0, result.output
    assert "Created administrator admin@sf.no." in result.output
    user = user_row(app, "admin@sf.no")
    assert (user["county"], user["is_admin"]) == (None, True)


@pytest.mark.parametrize(("args", "env", "message"), [
    (["--county", "atlantis"], CLI_ENV, "no county with slug 'atlantis'"),
    (["--county", "vestland", "--admin"], CLI_ENV, "an administrator has no county"),
    ([], CLI_ENV, "county staff need one"),
    (["--county", "vestland"], {"KURSPORTAL_STAFF_PASSWORD": "too-short"},
     "at least 12 characters"),
])
def test_cli_refuses_bad_accounts(app, runner, args, env, message):
    result = runner.invoke(args=["staff", "create", "--email", "x@sf.no", "--name", "X", *args],
                           env=env)

    assert result.exit_code != 0
    assert message in result.output
    assert user_row(app, "x@sf.no") is None
    assert events(app) == []


def test_cli_refuses_an_existing_email(app, runner, make_staff):
    make_staff()

    result = runner.invoke(args=["staff", "create", "--email", "KARI@sfvl.no", "--name", "K",
                                 "--county", "rogaland"], env=CLI_ENV)

    assert result.exit_code == 1
    assert "exists already" in result.output
    assert user_row(app, "kari@sfvl.no")["county"] == "vestland"


# --- accounts, for administrators ---------------------------------------------------------------


@pytest.fixture
def admin(app, make_staff):
    """A client logged in as an administrator."""
    make_staff(email="admin@sf.no", admin=True, name="Ada Admin")
    return logged_in_client(app, "admin@sf.no")


def test_admin_creates_county_staff_who_choose_their_own_password(app, admin):
    response = admin.post("/staff/accounts/new", headers=EN, data={
        "name": "Per Hansen", "email": "Per@SFVL.no", "county": "vestland", "locale": "nb"})

    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/accounts"
    listing = page(admin.get("/staff/accounts", headers=EN))
    assert "The account for per@sfvl.no is created." in listing
    assert "Per Hansen" in listing
    user = user_row(app, "per@sfvl.no")
    assert (user["county"], user["is_admin"], user["locale"], user["active"]) == (
        "vestland", False, "nb", True)
    [event] = events(app, "staff.create")
    assert event["actor_email"] == "admin@sf.no"
    assert event["county_id"] == county_id(app, "vestland")
    assert event["after"]["county"] == "vestland"
    assert event["after"]["admin"] is False

    [mail] = outbox(app)
    assert mail.to_address == "per@sfvl.no"
    assert mail.locale == "nb"
    assert mail.body_text.startswith("Hei, Per Hansen!")  # in the new user's language
    link = reset_path(mail)

    newcomer = app.test_client()
    assert newcomer.get(link).status_code == 200
    done = newcomer.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302
    first_login = post_login(newcomer, "per@sfvl.no", NEW_PASSWORD)
    assert first_login.status_code == 302
    assert first_login.headers["Location"] == "/staff/login/setup"  # the app is set up first
    assert newcomer.get(link).status_code == 302  # the link worked once


def test_admin_creates_an_administrator(app, admin):
    response = admin.post("/staff/accounts/new", headers=EN, data={
        "name": "Bo Boss", "email": "bo@sf.no", "county": "", "is_admin": "y", "locale": "en"})

    assert response.status_code == 302
    user = user_row(app, "bo@sf.no")
    assert (user["county"], user["is_admin"]) == (None, True)
    assert events(app, "staff.create")[0]["county_id"] is None


@pytest.mark.parametrize(("data", "message"), [
    ({"county": "vestland", "is_admin": "y"}, "An administrator has no county office."),
    ({"county": ""}, "Choose the county office the person works for."),
    ({"email": "not-an-address"}, "Enter a valid e-mail address."),
    ({"name": ""}, "Enter the person's name."),
    ({"email": "ADMIN@sf.no"}, "An account with this e-mail address exists already."),
])
def test_admin_account_form_refuses_bad_input(app, admin, data, message):
    form = {"name": "Per", "email": "per@sfvl.no", "county": "vestland", "locale": "nn", **data}

    response = admin.post("/staff/accounts/new", data=form, headers=EN)

    assert response.status_code == 400
    assert message in page(response)
    assert user_row(app, "per@sfvl.no") is None
    assert events(app) == []
    assert outbox(app) == []


def test_admin_deactivates_and_activates_an_account(app, admin, make_staff):
    kari = make_staff()
    kari_client = logged_in_client(app, "kari@sfvl.no")

    response = admin.post(f"/staff/accounts/{kari}/deactivate", headers=EN)

    assert response.status_code == 302
    assert "kari@sfvl.no can no longer log in." in page(admin.get("/staff/accounts", headers=EN))
    assert user_row(app, "kari@sfvl.no")["active"] is False
    [event] = events(app, "staff.deactivate")
    assert (event["object_type"], event["object_id"], event["actor_email"]) == (
        "staff_user", kari, "admin@sf.no")
    assert (event["before"], event["after"]) == ({"active": True}, {"active": False})
    assert event["county_id"] == county_id(app, "vestland")
    assert kari_client.get("/staff/audit").headers["Location"].startswith("/staff/login")
    assert post_login(app.test_client(), "kari@sfvl.no", STAFF_PASSWORD).status_code == 400

    admin.post(f"/staff/accounts/{kari}/activate")

    assert user_row(app, "kari@sfvl.no")["active"] is True
    assert [e["after"] for e in events(app, "staff.activate")] == [{"active": True}]
    assert post_login(app.test_client(), "kari@sfvl.no", STAFF_PASSWORD).status_code == 302


def test_deactivating_twice_records_one_event(app, admin, make_staff):
    kari = make_staff()

    admin.post(f"/staff/accounts/{kari}/deactivate")
    admin.post(f"/staff/accounts/{kari}/deactivate")

    assert len(events(app, "staff.deactivate")) == 1


def test_admin_cannot_lock_themselves_out(app, admin):
    own = user_row(app, "admin@sf.no")["id"]

    deactivated = admin.post(f"/staff/accounts/{own}/deactivate", headers=EN)
    assert deactivated.status_code == 302
    assert "You cannot deactivate your own account." in page(
        admin.get("/staff/accounts", headers=EN))

    rescoped = admin.post(f"/staff/accounts/{own}/scope", data={"county": "vestland"},
                          headers=EN)
    assert rescoped.status_code == 400
    assert "You cannot change your own access." in page(rescoped)
    assert user_row(app, "admin@sf.no")["active"] is True
    assert user_row(app, "admin@sf.no")["is_admin"] is True
    assert events(app) == []


def test_admin_moves_staff_to_another_county_and_makes_an_administrator(app, admin, make_staff):
    kari = make_staff()

    form = admin.get(f"/staff/accounts/{kari}/scope", headers=EN)
    moved = admin.post(f"/staff/accounts/{kari}/scope", data={"county": "rogaland"}, headers=EN)

    assert form.status_code == 200
    assert '<option selected value="vestland">' in form.get_data(as_text=True)
    assert moved.status_code == 302
    assert user_row(app, "kari@sfvl.no")["county"] == "rogaland"
    [event] = events(app, "staff.change_scope")
    assert event["before"] == {"county": "vestland", "admin": False}
    assert event["after"] == {"county": "rogaland", "admin": False}
    assert event["county_id"] == county_id(app, "rogaland")

    admin.post(f"/staff/accounts/{kari}/scope", data={"county": "", "is_admin": "y"})

    row = user_row(app, "kari@sfvl.no")
    assert (row["county"], row["is_admin"]) == (None, True)
    assert events(app, "staff.change_scope")[-1]["after"] == {"county": None, "admin": True}


def test_scope_form_refuses_an_administrator_with_a_county(app, admin, make_staff):
    kari = make_staff()

    response = admin.post(f"/staff/accounts/{kari}/scope",
                          data={"county": "rogaland", "is_admin": "y"}, headers=EN)

    assert response.status_code == 400
    assert "An administrator has no county office." in page(response)
    assert user_row(app, "kari@sfvl.no")["county"] == "vestland"
    assert events(app) == []


def test_unknown_account_is_not_found(app, admin):
    assert admin.get("/staff/accounts/9999/scope").status_code == 404
    assert admin.post("/staff/accounts/9999/deactivate").status_code == 404


ADMIN_PAGES = [
    ("GET", "/staff/accounts"), ("GET", "/staff/accounts/new"), ("POST", "/staff/accounts/new"),
    ("POST", "/staff/accounts/{id}/deactivate"), ("POST", "/staff/accounts/{id}/activate"),
    ("GET", "/staff/accounts/{id}/scope"), ("POST", "/staff/accounts/{id}/scope"),
]


@pytest.mark.parametrize(("method", "url"), ADMIN_PAGES)
def test_county_staff_do_not_find_the_admin_pages(app, make_staff, method, url):
    make_staff()
    ola = make_staff(email="ola@sfvl.no")
    client = logged_in_client(app, "kari@sfvl.no")
    before = user_row(app, "ola@sfvl.no")

    response = client.open(url.format(id=ola), method=method, data={
        "name": "X", "email": "x@sf.no", "county": "", "is_admin": "y"})

    assert response.status_code == 404
    assert user_row(app, "ola@sfvl.no") == before
    assert user_row(app, "x@sf.no") is None
    assert events(app) == []


@pytest.mark.parametrize(("method", "url"), ADMIN_PAGES)
def test_admin_pages_need_a_login(app, client, make_staff, method, url):
    ola = make_staff(email="ola@sfvl.no")

    response = client.open(url.format(id=ola), method=method)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login")


def test_navigation_shows_accounts_to_administrators_only(app, admin, make_staff):
    make_staff()
    county_staff = logged_in_client(app, "kari@sfvl.no")

    admin_nav = page(admin.get("/staff/audit", headers=EN))
    staff_nav = page(county_staff.get("/staff/audit", headers=EN))

    assert 'href="/staff/accounts"' in admin_nav
    assert 'href="/staff/accounts"' not in staff_nav
    assert 'href="/staff/audit" aria-current="page"' in staff_nav


# --- the audit log ------------------------------------------------------------------------------


def shown_actions(response) -> list[str]:
    """The actions in the audit table, top to bottom."""
    body = response.get_data(as_text=True)
    parts = re.split(r'<table class="[^"]*\baudit\b[^"]*">', body, maxsplit=1)
    table = parts[1] if len(parts) == 2 else ""  # no table: no event to show
    return re.findall(r'<td [^>]*data-action="([\w.]+)"', table)


def test_county_staff_see_only_their_own_countys_events(app, admin, make_staff):
    make_staff()
    add_event(app, action="vestland.one", county="vestland")
    add_event(app, action="rogaland.one", county="rogaland")
    add_event(app, action="national.one", county=None)
    add_event(app, action="vestland.two", county="vestland")
    county_staff = logged_in_client(app, "kari@sfvl.no")

    mine = county_staff.get("/staff/audit", headers=EN)
    everything = admin.get("/staff/audit", headers=EN)

    assert mine.status_code == 200
    assert shown_actions(mine) == ["vestland.two", "vestland.one"]
    assert "rogaland.one" not in page(mine)  # nor in the filter's choices
    assert shown_actions(everything) == ["vestland.two", "national.one", "rogaland.one",
                                         "vestland.one"]
    # Filtering for another county's events finds nothing rather than showing them.
    assert shown_actions(county_staff.get("/staff/audit?action=rogaland.one")) == []


def test_audit_filters_by_object_actor_action_and_oslo_dates(app, admin):
    add_event(app, action="enrollment.confirm", county="vestland", object_type="enrollment",
              object_id=7, actor_email="kari@sfvl.no", at=datetime(2026, 3, 1, 12, tzinfo=UTC))
    # 23:30 UTC on 1 March is 00:30 on 2 March in Oslo.
    add_event(app, action="enrollment.cancel", county="vestland", object_type="enrollment",
              object_id=8, actor_email="ola@sfvl.no", at=datetime(2026, 3, 1, 23, 30, tzinfo=UTC))
    add_event(app, action="offering.publish", county="vestland", object_type="offering",
              object_id=7, actor_email="kari@sfvl.no", at=datetime(2026, 3, 5, 9, tzinfo=UTC))

    def search(**query):
        response = admin.get("/staff/audit", query_string=query, headers=EN)
        assert response.status_code == 200, page(response)
        return shown_actions(response)

    assert search() == ["offering.publish", "enrollment.cancel", "enrollment.confirm"]
    assert search(object_type="enrollment", object_id="7") == ["enrollment.confirm"]
    assert search(object_id="7") == ["offering.publish", "enrollment.confirm"]
    assert search(actor="OLA@") == ["enrollment.cancel"]
    assert search(actor="%") == []  # a wildcard is a character like any other
    assert search(action="offering.publish") == ["offering.publish"]
    assert search(date_from="2026-03-02") == ["offering.publish", "enrollment.cancel"]
    assert search(date_to="2026-03-01") == ["enrollment.confirm"]
    assert search(date_from="2026-03-02", date_to="2026-03-02") == ["enrollment.cancel"]


@pytest.mark.parametrize("query", [{"object_id": "x"}, {"date_from": "1. mars"},
                                   {"page": "0"}, {"date_to": "2026-02-30"}])
def test_audit_filters_that_make_no_sense_are_shown_as_errors(app, admin, query):
    response = admin.get("/staff/audit", query_string=query, headers=EN)

    assert response.status_code == 400
    assert "Some filters were not understood." in page(response)


def test_audit_shows_before_and_after_readably(app, admin):
    add_event(app, action="enrollment.change", county="vestland",
              before={"status": "waitlisted", "present": False},
              after={"status": "confirmed", "present": True})

    body = page(admin.get("/staff/audit", headers=EN))

    assert "<dt>Status</dt>" in body
    assert re.search(r"Waiting list\s*→\s*<span[^>]*>after:</span>\s*Confirmed", body)
    # A field nobody gave words to still reads as words, not as a code.
    assert "<dt>Present</dt>" in body
    assert re.search(r"no\s*→\s*<span[^>]*>after:</span>\s*yes", body)
    assert "Vestland" in body  # administrators see which office an event belongs to


def test_audit_is_paginated_newest_first_in_constant_queries(app, admin, count_queries):
    for number in range(3):
        add_event(app, action=f"test.e{number:03}", county="vestland")
    with count_queries() as few:
        assert admin.get("/staff/audit").status_code == 200
    for number in range(3, 120):
        add_event(app, action=f"test.e{number:03}", county="vestland")

    with count_queries() as many:
        first = admin.get("/staff/audit", headers=EN)
    last = admin.get("/staff/audit?page=3", headers=EN)

    assert len(many) == len(few)
    assert shown_actions(first) == [f"test.e{n:03}" for n in range(119, 69, -1)]
    assert "Page 1 of 3" in page(first)
    assert shown_actions(last) == [f"test.e{n:03}" for n in range(19, -1, -1)]
    assert admin.get("/staff/audit?page=4").status_code == 404


def test_audit_log_needs_a_login(client):
    response = client.get("/staff/audit")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login")


def test_no_route_can_change_the_audit_log(app):
    changing = [
        (rule.rule, sorted(rule.methods - {"GET", "HEAD", "OPTIONS"}))
        for rule in app.url_map.iter_rules()
        if rule.methods - {"GET", "HEAD", "OPTIONS"} and "audit" in rule.rule.lower()
    ]
    assert changing == []
    assert any("audit" in rule.rule for rule in app.url_map.iter_rules())


def test_passwords_are_hashed_with_full_strength_scrypt_outside_the_tests(app_config):
    """The suite's cheaper scrypt is its own setting: an app configured without it stores
    werkzeug's full-strength scrypt (N = 2**15), and both kinds of stored hash still check."""
    config = {k: v for k, v in app_config.items() if k != "PASSWORD_HASH_METHOD"}
    production_like = create_app(config)
    with production_like.app_context():
        user = StaffUser(email="a@sfvl.no", name="A")
        user.set_password(STAFF_PASSWORD)
        assert user.password_hash.startswith("scrypt:32768:8:1$")
        assert user.check_password(STAFF_PASSWORD)
        assert not user.check_password(STAFF_PASSWORD + "x")
    production_like.extensions["kp_engine"].dispose()
