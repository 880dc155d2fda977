"""Staff sessions that can be ended for good, two-factor sign-in, the sign-in throttle, staff
names without control characters and audit dates in range: what the person sees and what the
database then holds.

Every test runs on SQLite and on PostgreSQL; the throttle across two gunicorn workers runs on
PostgreSQL (one shared database is its subject) and on SQLite.
"""

from __future__ import annotations

import html
import re
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import sqlalchemy as sa

from app import create_app
from core.audit import AuditEvent
from core.auth import StaffUser, make_reset_token
from core.db import session_scope
from core.staff_sessions import StaffSession
from core.throttle import LoginThrottle
from core.two_factor import RecoveryCode, SecretUnreadable, unseal
from tests.conftest import STAFF_PASSWORD, STAFF_TOTP_SECRET, staff_login, totp_code
from tests.test_serving import Browser as HttpBrowser
from tests.test_serving import free_port, start_gunicorn, stop, wait_until_up

# The page's behaviour; the data rules under it are tested on both databases (conftest).
pytestmark = pytest.mark.one_database

EN = {"Accept-Language": "en"}
CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
NEW_PASSWORD = "a-brand-new-password-42"


def engine_of(app):
    return app.extensions["kp_engine"]


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def logged_in(app, email: str = "kari@sfvl.no"):
    client = app.test_client()
    client.get("/lang/en")
    staff_login(app, client, email, headers=EN)
    return client


def copy_of(app, client):
    """A second client holding a copy of ``client``'s cookies (a stolen cookie)."""
    thief = app.test_client()
    for name in ("session", "kp_lang"):
        cookie = client.get_cookie(name)
        if cookie is not None:
            thief.set_cookie(name, cookie.value)
    return thief


def lets_in(client) -> bool:
    """Whether the client reaches a staff page (rather than the login)."""
    response = client.get("/staff/audit", headers=EN)
    return response.status_code == 200


def sessions(app, email: str = "kari@sfvl.no") -> list[dict]:
    with session_scope(engine_of(app)) as session:
        user_id = session.scalar(sa.select(StaffUser.id).where(StaffUser.email == email))
        return [dict(id=r.id, ended=r.ended_at is not None, reason=r.end_reason,
                     last_seen_at=r.last_seen_at, created_at=r.created_at,
                     token_hash=r.token_hash)
                for r in session.scalars(sa.select(StaffSession).where(
                    StaffSession.user_id == user_id).order_by(StaffSession.id))]


def move_back(app, **deltas: timedelta) -> None:
    """Move every session's stored times back (instead of waiting)."""
    with session_scope(engine_of(app)) as session:
        for row in session.scalars(sa.select(StaffSession)):
            for column, delta in deltas.items():
                setattr(row, column, getattr(row, column) - delta)


def actions(app) -> list[str]:
    with session_scope(engine_of(app)) as session:
        return list(session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


# --- revocable sessions ---------------------------------------------------------------------------


def test_copied_cookie_is_refused_after_logout(app, make_staff):
    make_staff()
    kari = logged_in(app)
    thief = copy_of(app, kari)
    assert lets_in(thief)

    kari.post("/staff/logout")

    assert not lets_in(kari)
    refused = thief.get("/staff/audit", headers=EN)
    assert refused.status_code == 302
    assert refused.headers["Location"].startswith("/staff/login")
    assert "Your session has ended. Please log in again." in page(
        thief.get("/staff/login", headers=EN))
    [row] = sessions(app)
    assert (row["ended"], row["reason"]) == (True, "logout")


def test_password_reset_ends_every_session(app, make_staff):
    make_staff()
    office, laptop = logged_in(app), logged_in(app)
    copies = [copy_of(app, office), copy_of(app, laptop)]
    with session_scope(engine_of(app)) as session, app.test_request_context():
        token = make_reset_token(session.scalar(sa.select(StaffUser)))

    done = app.test_client().post(f"/staff/password/reset/{token}",
                                  data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    assert done.status_code == 302
    assert [lets_in(c) for c in (office, laptop, *copies)] == [False] * 4
    assert [(r["ended"], r["reason"]) for r in sessions(app)] == [(True, "password")] * 2
    assert lets_in(logged_in_with(app, NEW_PASSWORD))


def logged_in_with(app, password: str, email: str = "kari@sfvl.no"):
    client = app.test_client()
    staff_login(app, client, email, password, headers=EN)
    return client


def test_deactivation_ends_sessions_and_reactivation_does_not_revive_them(app, make_staff):
    kari_id = make_staff()
    make_staff(email="admin@sf.no", admin=True, name="Ada Admin")
    admin = logged_in(app, "admin@sf.no")
    kari = logged_in(app)
    thief = copy_of(app, kari)

    admin.post(f"/staff/accounts/{kari_id}/deactivate")
    after_deactivation = [lets_in(kari), lets_in(thief)]
    admin.post(f"/staff/accounts/{kari_id}/activate")

    assert after_deactivation == [False, False]
    assert [lets_in(kari), lets_in(thief)] == [False, False]
    assert [(r["ended"], r["reason"]) for r in sessions(app)] == [(True, "deactivated")]
    assert lets_in(logged_in(app))  # a new login works again


def test_log_out_all_my_sessions(app, make_staff):
    make_staff()
    first, second = logged_in(app), logged_in(app)
    copied = copy_of(app, second)

    listing = first.get("/staff/my-sessions", headers=EN)
    assert listing.status_code == 200
    assert page(listing).count("(this session)") == 1
    assert len(re.findall(r"<tr>\s*<td[ >]", page(listing))) == 2

    response = first.post("/staff/my-sessions/end-all", headers=EN)

    assert response.status_code == 302
    assert "All your sessions are logged out, this one too." in page(
        first.get("/staff/login", headers=EN))
    assert [lets_in(c) for c in (first, second, copied)] == [False] * 3
    assert [(r["ended"], r["reason"]) for r in sessions(app)] == [(True, "logout_all")] * 2
    assert actions(app) == ["staff.logout_all"]


def test_idle_session_times_out(app, make_staff):
    make_staff()
    kari = logged_in(app)
    move_back(app, last_seen_at=timedelta(minutes=29), created_at=timedelta(minutes=29))
    assert lets_in(kari)  # 29 minutes idle: still in (and the last-seen time moves on)
    assert sessions(app)[0]["last_seen_at"] > datetime.now(UTC) - timedelta(minutes=1)

    move_back(app, last_seen_at=timedelta(minutes=31))

    refused = kari.get("/staff/audit", headers=EN)
    assert refused.headers["Location"].startswith("/staff/login")
    assert "You were logged out after 30 minutes without activity." in page(
        kari.get("/staff/login", headers=EN))
    assert [(r["ended"], r["reason"]) for r in sessions(app)] == [(True, "idle")]


def test_session_ends_ten_hours_after_login_however_active(app, make_staff):
    make_staff()
    kari = logged_in(app)
    move_back(app, created_at=timedelta(hours=9, minutes=59))
    assert lets_in(kari)

    move_back(app, created_at=timedelta(minutes=2))

    assert not lets_in(kari)
    assert "a session lasts at most 10 hours" in page(kari.get("/staff/login", headers=EN))
    assert [(r["ended"], r["reason"]) for r in sessions(app)] == [(True, "expired")]


def test_last_seen_is_written_at_most_once_a_minute(app, make_staff, count_queries):
    make_staff()
    kari = logged_in(app)
    seen = sessions(app)[0]["last_seen_at"]

    with count_queries() as statements:
        for _ in range(3):
            assert lets_in(kari)
    assert sessions(app)[0]["last_seen_at"] == seen
    assert not [s for s in statements if "UPDATE staff_sessions" in s]

    move_back(app, last_seen_at=timedelta(seconds=61))
    assert lets_in(kari)
    assert sessions(app)[0]["last_seen_at"] > seen


@pytest.fixture
def csrf_on(app_config):
    app_config["WTF_CSRF_ENABLED"] = True


@pytest.mark.usefixtures("csrf_on")
def test_csrf_token_is_rotated_at_login(app, make_staff):
    make_staff()
    client = app.test_client()
    before = CSRF_FIELD.search(client.get("/staff/login").get_data(as_text=True)).group(1)
    raw_before = app.session_interface.get_signing_serializer(app).loads(
        client.get_cookie("session").value)["csrf_token"]
    client.post("/staff/login", data={"email": "kari@sfvl.no", "password": STAFF_PASSWORD,
                                      "csrf_token": before})
    code_token = CSRF_FIELD.search(client.get("/staff/login/code").get_data(as_text=True)).group(1)
    done = client.post("/staff/login/code", data={"code": totp_code(app, "kari@sfvl.no"),
                                                  "csrf_token": code_token})
    assert done.status_code == 302
    after = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/staff/audit").get_data(as_text=True)).group(1)
    raw_after = app.session_interface.get_signing_serializer(app).loads(
        client.get_cookie("session").value)["csrf_token"]

    assert raw_before != raw_after
    # A token from before the login (say, planted by another site) no longer works after it.
    assert client.post("/staff/logout", data={"csrf_token": before}).status_code == 400
    assert client.post("/staff/logout", data={"csrf_token": code_token}).status_code == 400
    assert lets_in(client)
    assert client.post("/staff/logout", data={"csrf_token": after}).status_code == 302


def test_a_cookie_without_a_server_session_is_refused(app, make_staff):
    """A cookie signed with the key but naming no session row (made before this change, or
    forged with a leaked key and a user id) lets nobody in."""
    make_staff()
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = "1"
        cookie["_fresh"] = True
    assert not lets_in(client)
    with client.session_transaction() as cookie:
        cookie["_user_id"] = "1"
        cookie["staff_sid"] = "made-up"
    assert not lets_in(client)


# --- two-factor sign-in --------------------------------------------------------------------------


def test_after_the_password_alone_nothing_but_the_second_step_opens(app, make_staff):
    make_staff()
    client = app.test_client()
    first = client.post("/staff/login", data={"email": "kari@sfvl.no",
                                              "password": STAFF_PASSWORD}, headers=EN)

    assert first.headers["Location"] == "/staff/login/code"
    for url in ("/staff/audit", "/staff/my-sessions", "/staff/courses", "/staff/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/staff/login"), url
    form = client.get("/staff/login/code", headers=EN)
    assert form.status_code == 200
    assert "Second step of the login" in page(form)
    assert sessions(app) == []


def test_wrong_or_replayed_code_is_refused(app, make_staff):
    make_staff()
    client = app.test_client()
    client.post("/staff/login", data={"email": "kari@sfvl.no", "password": STAFF_PASSWORD})
    wrong = client.post("/staff/login/code", data={"code": "000000"}, headers=EN)
    assert wrong.status_code == 400
    assert "The code is wrong or has been used." in page(wrong)

    code = pyotp.TOTP(STAFF_TOTP_SECRET).now()
    assert client.post("/staff/login/code", data={"code": code}).status_code == 302
    client.post("/staff/logout")
    again = app.test_client()
    again.post("/staff/login", data={"email": "kari@sfvl.no", "password": STAFF_PASSWORD})
    replay = again.post("/staff/login/code", data={"code": code}, headers=EN)

    assert replay.status_code == 400
    assert "The code is wrong or has been used." in page(replay)
    assert not lets_in(again)
    assert len(sessions(app)) == 1


def enrol(app, client, email: str) -> tuple[str, list[str]]:
    """Walk through the first sign-in of an account without a second factor; returns the
    secret read from the page and the recovery codes shown."""
    first = client.post("/staff/login", data={"email": email, "password": STAFF_PASSWORD},
                        headers=EN)
    assert first.headers["Location"] == "/staff/login/setup"
    setup = page(client.get("/staff/login/setup", headers=EN))
    assert 'src="data:image/svg+xml' in setup
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', setup).group(1).replace(" ", "")
    done = client.post("/staff/login/setup", data={"code": pyotp.TOTP(secret).now()},
                       headers=EN)
    assert done.status_code == 200, page(done)
    assert "They are shown only this once." in page(done)
    codes = re.findall(r"<code>([A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4})</code>",
                       page(done))
    return secret, codes


def test_first_login_sets_up_the_app_and_shows_ten_recovery_codes_once(app, make_staff):
    make_staff(two_factor=False)
    client = app.test_client()

    secret, codes = enrol(app, client, "kari@sfvl.no")

    assert len(set(codes)) == 10
    assert lets_in(client)
    with session_scope(engine_of(app)) as session:
        user = session.scalar(sa.select(StaffUser))
        stored = list(session.scalars(sa.select(RecoveryCode.code_hash)))
        assert user.totp_confirmed_at is not None
        assert secret not in user.totp_secret  # sealed, not stored as it is
        assert unseal(user.totp_secret, app.config["SECRET_KEY"]) == secret
        with pytest.raises(SecretUnreadable):
            unseal(user.totp_secret, "another-secret-key-" + "x" * 20)
    assert len(stored) == 10
    assert not set(codes) & set(stored)
    assert actions(app) == ["staff.two_factor_setup"]
    # Shown once: the set-up page now sends to the ordinary second step.
    client.post("/staff/logout")
    client.post("/staff/login", data={"email": "kari@sfvl.no", "password": STAFF_PASSWORD})
    assert client.get("/staff/login/setup").headers["Location"] == "/staff/login/code"


def test_a_recovery_code_logs_in_once(app, make_staff):
    make_staff(two_factor=False)
    _secret, codes = enrol(app, app.test_client(), "kari@sfvl.no")
    client = app.test_client()
    client.post("/staff/login", data={"email": "kari@sfvl.no", "password": STAFF_PASSWORD})

    used = client.post("/staff/login/code", data={"code": codes[3].lower()}, headers=EN)

    assert used.status_code == 302
    assert "You used a recovery code. You have 9 left." in page(client.get("/staff/audit",
                                                                           headers=EN))
    client.post("/staff/logout")
    client.post("/staff/login", data={"email": "kari@sfvl.no", "password": STAFF_PASSWORD})
    again = client.post("/staff/login/code", data={"code": codes[3]}, headers=EN)
    assert again.status_code == 400
    assert actions(app) == ["staff.two_factor_setup", "staff.recovery_code_used"]


def test_admin_resets_a_colleagues_second_factor(app, make_staff):
    kari_id = make_staff()
    make_staff(email="admin@sf.no", admin=True, name="Ada Admin")
    admin = logged_in(app, "admin@sf.no")
    kari = logged_in(app)

    confirm = admin.get(f"/staff/accounts/{kari_id}/two-factor/reset", headers=EN)
    assert confirm.status_code == 200
    assert "The person has set up an authenticator app." in page(confirm)
    done = admin.post(f"/staff/accounts/{kari_id}/two-factor/reset", headers=EN)

    assert done.status_code == 302
    assert "The second factor of kari@sfvl.no is reset." in page(
        admin.get("/staff/accounts", headers=EN))
    assert not lets_in(kari)
    assert [(r["ended"], r["reason"]) for r in sessions(app)] == [(True, "2fa_reset")]
    with session_scope(engine_of(app)) as session:
        event = session.scalar(sa.select(AuditEvent).where(
            AuditEvent.action == "staff.two_factor_reset"))
        assert (event.actor_email, event.object_id) == ("admin@sf.no", kari_id)
        assert (event.before, event.after) == ({"two_factor": True}, {"two_factor": False})
        assert session.get(StaffUser, kari_id).totp_secret is None
    again = app.test_client().post("/staff/login", data={"email": "kari@sfvl.no",
                                                         "password": STAFF_PASSWORD})
    assert again.headers["Location"] == "/staff/login/setup"
    own = user_id(app, "admin@sf.no")
    assert admin.post(f"/staff/accounts/{own}/two-factor/reset").status_code == 400


def user_id(app, email: str) -> int:
    with session_scope(engine_of(app)) as session:
        return session.scalar(sa.select(StaffUser.id).where(StaffUser.email == email))


def test_cli_resets_a_second_factor(app, runner, make_staff):
    make_staff()

    result = runner.invoke(args=["staff", "reset-two-factor", "--email", "KARI@sfvl.no"])

    assert result.exit_code == 0, result.output
    with session_scope(engine_of(app)) as session:
        assert session.scalar(sa.select(StaffUser)).totp_secret is None
    assert actions(app) == ["staff.two_factor_reset"]


def test_two_factor_can_be_off_only_in_debug(app_config, make_staff):
    with pytest.raises(RuntimeError, match="only in debug mode"):
        create_app({**app_config, "STAFF_TWO_FACTOR_REQUIRED": False})
    debug = create_app({**app_config, "STAFF_TWO_FACTOR_REQUIRED": False, "DEBUG": True})
    try:
        with session_scope(engine_of(debug)) as session, debug.app_context():
            from core.auth import create_staff
            create_staff(session, email="dev@sf.no", name="Dev", password=STAFF_PASSWORD,
                         county=None, is_admin=True)
        client = debug.test_client()
        response = client.post("/staff/login", data={"email": "dev@sf.no",
                                                     "password": STAFF_PASSWORD})
        assert response.headers["Location"] == "/staff/"
        assert client.get("/staff/audit").status_code == 200
    finally:
        debug.extensions["kp_engine"].dispose()


# --- the sign-in throttle ------------------------------------------------------------------------


def post_login(client, email: str, password: str):
    return client.post("/staff/login", data={"email": email, "password": password}, headers=EN)


@pytest.fixture
def slow_throttle(app):
    """Three free failures per account, ten per address, then 60 s, 120 s, … (so a busy
    machine never sees a delay run out in the middle of a test)."""
    app.config.update(LOGIN_THROTTLE_ACCOUNT_FREE=3, LOGIN_THROTTLE_ADDRESS_FREE=10,
                      LOGIN_THROTTLE_BASE_SECONDS=60, LOGIN_THROTTLE_MAX_SECONDS=600)


def run_out_the_delays(app) -> None:
    with session_scope(engine_of(app)) as session:
        for row in session.scalars(sa.select(LoginThrottle)):
            row.blocked_until = row.blocked_until and datetime.now(UTC) - timedelta(seconds=1)


@pytest.mark.usefixtures("slow_throttle")
@pytest.mark.parametrize("email", ["kari@sfvl.no", "nobody@sfvl.no"])
def test_failed_logins_wait_increasing_delays_known_or_unknown(app, client, make_staff, email):
    make_staff()
    make_staff(email="ola@sfvl.no")

    failures = [post_login(client, email, f"guess-{i}").status_code for i in range(3)]
    blocked = post_login(client, email.upper(), STAFF_PASSWORD)

    assert failures == [400, 400, 400]
    assert blocked.status_code == 429
    assert 59 <= int(blocked.headers["Retry-After"]) <= 60
    assert "Too many failed attempts. You can try again in 1 minute." in page(blocked)
    # Someone guessing at one account does not keep a colleague on the same network out.
    assert post_login(client, "ola@sfvl.no", STAFF_PASSWORD).status_code == 302

    run_out_the_delays(app)
    assert post_login(client, email, "guess-4").status_code == 400
    doubled = post_login(client, email, STAFF_PASSWORD)
    assert doubled.status_code == 429
    assert 119 <= int(doubled.headers["Retry-After"]) <= 120
    with session_scope(engine_of(app)) as session:
        assert sorted(session.scalars(sa.select(LoginThrottle.failures))) == [4, 4]
        assert not session.scalars(sa.select(LoginThrottle.key).where(
            LoginThrottle.key.contains("@"))).all()  # addresses are stored hashed


@pytest.mark.usefixtures("slow_throttle")
def test_failures_from_one_address_are_slowed_across_accounts(app, client, make_staff):
    make_staff()
    statuses = [post_login(client, f"guess{i}@sfvl.no", "wrong-password").status_code
                for i in range(10)]
    blocked = post_login(client, "kari@sfvl.no", STAFF_PASSWORD)
    elsewhere = app.test_client().post("/staff/login", headers=EN, data={
        "email": "kari@sfvl.no", "password": STAFF_PASSWORD},
        environ_base={"REMOTE_ADDR": "198.51.100.7"})

    assert statuses == [400] * 10
    assert blocked.status_code == 429
    assert '<html lang="en"' in page(blocked)
    assert elsewhere.status_code == 302


@pytest.mark.usefixtures("slow_throttle")
def test_a_successful_login_clears_the_accounts_failures(app, client, make_staff):
    make_staff()
    for i in range(2):
        post_login(client, "kari@sfvl.no", f"guess-{i}")
    staff_login(app, client)
    client.post("/staff/logout")

    assert [post_login(client, "kari@sfvl.no", f"again-{i}").status_code
            for i in range(3)] == [400] * 3


@pytest.mark.usefixtures("slow_throttle")
def test_the_emailed_reset_is_never_throttled_and_clears_the_delay(app, client, make_staff):
    make_staff()
    for i in range(3):
        post_login(client, "kari@sfvl.no", f"guess-{i}")
    assert post_login(client, "kari@sfvl.no", STAFF_PASSWORD).status_code == 429

    asked = client.post("/staff/password/forgot", data={"email": "kari@sfvl.no"}, headers=EN)
    with session_scope(engine_of(app)) as session, app.test_request_context():
        token = make_reset_token(session.scalar(sa.select(StaffUser)))
    form = client.get(f"/staff/password/reset/{token}")
    done = client.post(f"/staff/password/reset/{token}",
                       data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    assert asked.status_code == 302
    assert (form.status_code, done.status_code) == (200, 302)
    assert post_login(client, "kari@sfvl.no", NEW_PASSWORD).status_code == 302


@pytest.mark.usefixtures("slow_throttle")
def test_wrong_second_factor_codes_are_throttled_too(app, client, make_staff):
    make_staff()
    post_login(client, "kari@sfvl.no", STAFF_PASSWORD)

    wrong = [client.post("/staff/login/code", data={"code": "000000"}).status_code
             for _ in range(3)]
    blocked = client.post("/staff/login/code", data={"code": totp_code(app, "kari@sfvl.no")},
                          headers=EN)

    assert wrong == [400] * 3
    assert blocked.status_code == 429
    assert "Too many failed attempts." in page(blocked)
    assert sessions(app) == []
    # And the password step of the same account waits as well.
    assert post_login(app.test_client(), "kari@sfvl.no", STAFF_PASSWORD).status_code == 429


def test_throttle_messages_are_in_the_persons_language(app, client, make_staff):
    app.config.update(LOGIN_THROTTLE_ACCOUNT_FREE=1, LOGIN_THROTTLE_BASE_SECONDS=60)
    client.get("/lang/nn")
    client.post("/staff/login", data={"email": "x@sf.no", "password": "wrong-password"})
    blocked = client.post("/staff/login", data={"email": "x@sf.no", "password": "wrong"})

    assert blocked.status_code == 429
    assert '<html lang="nn"' in page(blocked)
    assert "Du kan prøve igjen om 1 minutt." in page(blocked)


# --- staff names and audit dates ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["Kari\x1b[31m Nordmann", "Kari\u202eNordmann",
                                  "Kari\nNordmann", "Kari\u200bNordmann", "Kari\u200dNordmann",
                                  "Kari\x00", "Kari\u2028Nordmann"])
def test_staff_names_with_control_characters_are_refused(app, make_staff, runner, name):
    make_staff(email="admin@sf.no", admin=True, name="Ada Admin")
    admin = logged_in(app, "admin@sf.no")

    response = admin.post("/staff/accounts/new", headers=EN, data={
        "name": name, "email": "per@sfvl.no", "county": "vestland", "locale": "nn"})
    result = runner.invoke(args=["staff", "create", "--email", "ola@sfvl.no", "--name", name,
                                 "--county", "vestland"],
                           env={"KURSPORTAL_STAFF_PASSWORD": STAFF_PASSWORD})

    assert response.status_code == 400
    assert "The name may not contain control characters" in page(response)
    assert result.exit_code != 0
    assert "no control characters" in result.output
    with session_scope(engine_of(app)) as session:
        assert session.scalars(sa.select(StaffUser.email).order_by(StaffUser.id)).all() == [
            "admin@sf.no"]
    assert actions(app) == []


def test_names_in_sami_and_with_accents_are_accepted(app, make_staff):
    make_staff(email="admin@sf.no", admin=True, name="Ada Admin")
    admin = logged_in(app, "admin@sf.no")

    response = admin.post("/staff/accounts/new", headers=EN, data={
        "name": "Máret Čuđđá-Ŋåvdå O'Neill", "email": "maret@sfvl.no", "county": "vestland",
        "locale": "nn"})

    assert response.status_code == 302


@pytest.mark.parametrize(("field", "value"), [("date_from", "0001-01-01"),
                                              ("date_to", "9999-12-31"),
                                              ("date_from", "1999-12-31"),
                                              ("date_to", "2101-01-01")])
def test_audit_dates_out_of_range_are_a_field_error(app, make_staff, field, value):
    make_staff()
    kari = logged_in(app)

    response = kari.get("/staff/audit", query_string={field: value}, headers=EN)

    assert response.status_code == 400
    assert "Choose a date between the years 2000 and 2100." in page(response)
    assert kari.get("/staff/audit", query_string={field: "2000-01-01"}).status_code == 200
    assert kari.get("/staff/audit", query_string={field: "2100-12-31"}).status_code == 200


# --- the throttle across two gunicorn workers ---------------------------------------------------


def start_two_workers(database_url: str, port: int, access_log: str) -> subprocess.Popen:
    """Two sync workers, production-like (CSRF on), each answer's worker pid in the log."""
    return start_gunicorn(database_url, port, access_log=access_log,
                          LOGIN_THROTTLE_BASE_SECONDS=60)


def wrong_password(port: int, email: str) -> tuple[int, str]:
    """One wrong password through the real form (its CSRF token first): status, Retry-After."""
    browser = HttpBrowser()
    status, form = browser.request(port, "GET", "/staff/login")
    assert status == 200
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    status, body = browser.request(port, "POST", "/staff/login", {
        "email": email, "password": "not-the-password", "csrf_token": token})
    retry = re.search(r"You can try again (in [^.]+)\.", html.unescape(body))
    return status, retry.group(1) if retry else ""


@pytest.mark.both_databases
def test_two_gunicorn_workers_throttle_exactly_as_one(app, database_url, make_staff, tmp_path):
    make_staff()
    port, log = free_port(), tmp_path / "access.log"
    server = start_two_workers(database_url, port, str(log))
    try:
        wait_until_up(server, port)
        started = time.monotonic()
        sequential = [wrong_password(port, "kari@sfvl.no") for _ in range(10)]
        took = time.monotonic() - started
        # At once: 12 wrong passwords for another account, two at a time on the two workers.
        with ThreadPoolExecutor(max_workers=2) as pool:
            burst = list(pool.map(lambda _: wrong_password(port, "KARI.BURST@sfvl.no"),
                                  range(12)))
    finally:
        stop(server)

    posts = [line.split() for line in log.read_text().splitlines() if " POST " in line]
    workers = {pid for pid, *_ in posts}
    print(f"throttle over 2 workers ({database_url.split(':')[0]}): sequential "
          f"{[s for s, _ in sequential]} in {took:.1f} s, answered by {len(workers)} workers "
          f"(POSTs per worker {sorted(Counter(p for p, *_ in posts).values())}); burst of 12: "
          f"{Counter(s for s, _ in burst)}")
    assert len(workers) == 2  # the attempts really were spread over both workers
    # Exactly as on one worker: five free attempts, then 429 with the time to wait.
    assert [s for s, _ in sequential] == [400] * 5 + [429] * 5
    assert {wait for _, wait in sequential[5:]} <= {"in 1 minute", "in 59 seconds"}
    # Two requests in flight at once can both pass the check before either is counted: at
    # most one more than the free five is checked, never a worker's worth more.
    assert 5 <= Counter(s for s, _ in burst)[400] <= 6
    with session_scope(engine_of(app)) as session:
        failures = sorted(session.scalars(sa.select(LoginThrottle.failures)
                                          .where(LoginThrottle.key.startswith("account:"))))
    assert failures[0] == 5
    assert failures[1] in (5, 6)
