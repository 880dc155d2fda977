"""Two-factor sign-in in a real browser: the first login sets up the authenticator app from
the QR page (pyotp stands in for the phone, reading the key the page shows), the recovery codes
are shown once, a recovery code logs in when the phone is gone, and "log out all my sessions"
ends the session. No JavaScript is needed: Chromium runs with it off."""

from __future__ import annotations

import re

import pyotp
import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser

from core.auth import StaffUser
from core.db import session_scope
from core.staff_sessions import StaffSession
from core.two_factor import RecoveryCode
from tests.browser.conftest import assert_no_axe_violations
from tests.conftest import STAFF_PASSWORD


def submit(page) -> None:
    with page.expect_navigation():
        page.locator("main form button[type=submit]").first.click()


def password_step(page, base: str) -> None:
    page.goto(f"{base}/lang/en?next=/staff/login")
    page.fill("#email", "kari@sfvl.no")
    page.fill("#password", STAFF_PASSWORD)
    submit(page)


def test_first_login_sets_up_the_app_then_a_recovery_code_logs_in(app, live_server,
                                                                  browser: Browser, make_staff):
    make_staff(two_factor=False)
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        password_step(page, live_server)
        assert page.url.endswith("/staff/login/setup")
        qr = page.locator("img.qr-code")
        assert qr.get_attribute("src").startswith("data:image/svg+xml")
        assert qr.bounding_box()["width"] > 200  # drawn, within the CSP (no script, no request)
        secret = page.locator("#totp-secret").inner_text().replace(" ", "")
        page.fill("#code", pyotp.TOTP(secret).now())
        submit(page)

        assert page.locator("h1").inner_text() == "Your recovery codes"
        codes = page.locator("ul.recovery-codes code").all_inner_texts()
        assert len(codes) == 10
        with page.expect_navigation():
            page.get_by_role("link", name="I have kept the codes, continue").click()
        assert page.url.endswith("/staff/")

        with page.expect_navigation():
            page.get_by_role("button", name="Log out").click()
        password_step(page, live_server)
        assert page.url.endswith("/staff/login/code")
        page.fill("#code", codes[0])
        submit(page)
        assert page.url.endswith("/staff/")
        assert "You used a recovery code. You have 9 left." in page.content()

        page.goto(f"{live_server}/staff/my-sessions")
        assert "(this session)" in page.content()
        with page.expect_navigation():
            page.get_by_role("button", name="Log out all my sessions").click()
        assert page.url.endswith("/staff/login")
        page.goto(f"{live_server}/staff/audit")
        assert "/staff/login" in page.url
    finally:
        context.close()

    with session_scope(app.extensions["kp_engine"]) as session:
        user = session.scalar(sa.select(StaffUser))
        assert user.totp_confirmed_at is not None
        assert session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode).where(
            RecoveryCode.used_at.is_not(None))) == 1
        ended = session.scalars(sa.select(StaffSession.end_reason).order_by(StaffSession.id))
        assert list(ended) == ["logout", "logout_all"]


@pytest.mark.one_database
def test_sign_in_pages_pass_axe(app, live_server, page, make_staff):
    make_staff(two_factor=False)
    password_step(page, live_server)
    assert_no_axe_violations(page)  # the set-up page with its QR code
    page.fill("#code", "123")
    submit(page)
    assert re.search(r"The code is wrong", page.content())
    assert_no_axe_violations(page)
