"""Travel claims in a real browser: a LIS1 doctor files a claim with two legs and a receipt,
the caseworker returns it, the doctor fixes it, the caseworker approves it, exports it and marks
it paid; the e-mails arrive through a real SMTP server. Every claim page passes axe-core in
Nynorsk, Bokmål and English."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from playwright.sync_api import Page

from core.db import session_scope
from core.i18n import to_local
from core.mail import send_pending
from refunds.calc import explain
from refunds.models import Claim, ClaimStatus
from tests.browser.conftest import assert_no_axe_violations
from tests.browser.test_staff_browser import log_in as staff_log_in
from tests.refunds_factories import attending_participant, load_rates
from tests.smtp import smtp_server  # noqa: F401
from tests.test_refunds_uploads import HOSTILE, png

S = ClaimStatus
RECEIPT = png(40, 20)
ENCRYPTED_PDF = HOSTILE["pdf_encrypted"][0]


@pytest.fixture
def app_config(app_config, smtp_server):  # noqa: F811
    """As in production: CSRF on, mail through the test SMTP server."""
    app_config.update(
        WTF_CSRF_ENABLED=True, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port,
        MAIL_FROM="kurs@statsforvaltaren.test",
    )
    return app_config


@pytest.fixture
def course(app, make_offering, make_staff, now):
    """A course that ran three days ago, a LIS1 doctor (Nynorsk) with a seat, a caseworker."""
    load_rates(app)
    first_day = (now - timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)
    offering = make_offering(first_day=first_day, title_nn="Offentleg helsearbeid i Bergen",
                             title_nb="Offentlig helsearbeid i Bergen",
                             title_en="Public health in Bergen")
    make_staff(email="kari@sfvl.no", county="vestland")
    _, token = attending_participant(app, offering.id)  # present at both days
    return {"token": token, "day": to_local(first_day + timedelta(hours=8)).date().isoformat()}


def claim(app) -> Claim:
    with session_scope(app.extensions["kp_engine"]) as session:
        row = session.scalar(sa.select(Claim).order_by(Claim.id.desc()))
        row.lines  # noqa: B018
        row.receipts  # noqa: B018
        return row


def log_in(page: Page, base: str, locale: str = "en") -> None:
    staff_log_in(page, base, "kari@sfvl.no", locale)


def submit(page: Page, selector: str) -> None:
    with page.expect_navigation():
        page.locator(selector).click()


def fill_leg(page: Page, index: int, day: str, frm: str, to: str, means: str, **values) -> None:
    page.fill(f"#legs-{index}-travel_date", day)
    page.fill(f"#legs-{index}-from_place", frm)
    page.fill(f"#legs-{index}-to_place", to)
    page.select_option(f"#legs-{index}-means", means)
    for name, value in values.items():
        page.fill(f"#legs-{index}-{name}", value)


def start_claim(page: Page, base: str, token: str) -> None:
    page.goto(f"{base}/manage/{token}")
    submit(page, f"a[href='/manage/{token}/claims']")
    submit(page, "main a.ds-button")
    submit(page, "main form button[type=submit]")
    page.wait_for_url(re.compile(r"/claims/\d+$"))


def test_claim_returned_fixed_approved_exported_and_paid(
    app, live_server, page, course, smtp_server  # noqa: F811
):
    token, day = course["token"], course["day"]
    start_claim(page, live_server, token)

    fill_leg(page, 0, day, "Florø", "Bergen", "own_car", km="312")
    page.locator("#add_leg").click()  # JavaScript adds the row in place
    assert page.locator("#legs-1-travel_date").count() == 1
    fill_leg(page, 1, day, "Bergen", "Florø", "flight", amount="1 500,00")
    page.fill("#bank_account", "8601.11.17947")
    submit(page, "#save")
    stored = claim(app)
    assert [line.amount_ore for line in stored.lines] == [165_360, 150_000]
    assert explain(stored.lines[0], "nn") in page.inner_text("main")
    assert "312 km × 5,30\u00a0kr = 1\u00a0653,60\u00a0kr" in page.inner_text("main")

    # The flight needs its ticket: upload it for that line, then submit.
    page.set_input_files("#files", files=[
        {"name": "billett.png", "mimeType": "image/png", "buffer": RECEIPT}])
    page.select_option("#line", str(stored.lines[1].id))
    submit(page, "form[enctype='multipart/form-data'] button[type=submit]")
    assert page.locator("#legs-1-receipt").input_value() == str(claim(app).receipts[0].id)
    submit(page, "#send")
    assert claim(app).status == S.SUBMITTED
    assert page.locator("#legs-0-travel_date").count() == 0  # read-only now
    assert_no_axe_violations(page)

    staff = page.context.browser.new_context(locale="en-GB")
    desk = staff.new_page()
    log_in(desk, live_server)
    desk.goto(f"{live_server}/staff/refunds/")
    desk.click(f"text={claim(app).reference}")
    desk.wait_for_url(re.compile(r"/staff/refunds/claims/\d+$"))
    image = desk.locator("img.receipt-image")
    assert image.evaluate("img => img.naturalWidth") == 40  # served inline, and it decodes
    desk.fill("#return-reason", "Køyrde du verkeleg 312 km? Sjekk avstanden.")
    submit(desk, "form[action$='/return'] button[type=submit]")
    assert claim(app).status == S.RETURNED

    page.reload()
    assert "Sjekk avstanden." in page.inner_text("main")
    page.fill("#legs-0-km", "300")
    submit(page, "#send")
    assert claim(app).status == S.RESUBMITTED
    assert claim(app).total_ore == 300 * 530 + 150_000

    desk.reload()
    desk.check("#own_car_approved-0")
    submit(desk, "form[action$='/approve'] button[type=submit]")
    approved = claim(app)
    assert approved.status == S.APPROVED
    assert approved.own_car_approved is True

    desk.goto(f"{live_server}/staff/refunds/?status=approved")
    with desk.expect_download() as csv_download:
        desk.locator("a[href*='export.csv']").click()
    assert csv_download.value.suggested_filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(
        Path(csv_download.value.path()).read_text(encoding="utf-8-sig")), delimiter=";"))
    # Norwegian Excel's dialect (core.exports): ";" between fields, a decimal comma.
    assert rows[1][:4] == ["Åse Ødegård", "86011117947", "3090,00", approved.reference]
    with desk.expect_download() as xlsx_download:
        desk.locator("a[href*='export.xlsx']").click()
    assert xlsx_download.value.suggested_filename.endswith(".xlsx")
    book = openpyxl.load_workbook(io.BytesIO(Path(xlsx_download.value.path()).read_bytes()))
    sheet = list(book.active.iter_rows(values_only=True))
    assert sheet[1][3] == approved.reference
    assert float(sheet[-1][2]) == 3090.00

    desk.check(f"#claim-{approved.id}")
    desk.fill("#payment_date", "2026-11-20")
    submit(desk, "form[action*='/staff/refunds/paid'] button[type=submit]")
    assert claim(app).status == S.PAID
    staff.close()

    page.reload()
    assert "3\u00a0090,00\u00a0kr" in page.inner_text("main")

    report = send_pending(app.extensions["kp_engine"], app.config)
    assert report.sent == 5
    messages = smtp_server.messages
    assert {m["To"] for m in messages} == {"ase@example.no"}
    assert {m["Content-Language"] for m in messages} == {"nn"}
    bodies = [m.get_body(("plain",)).get_content() for m in messages]
    assert "Sjekk avstanden." in bodies[1]
    assert "3\u00a0090,00\u00a0kr" in bodies[3]
    assert "7947" in bodies[4]
    assert all(approved.reference in str(m["Subject"]) for m in messages)


@pytest.mark.parametrize("locale", ["nn", "nb", "en"])
@pytest.mark.one_database
def test_claim_pages_pass_axe(app, live_server, page, course, locale):
    token, day = course["token"], course["day"]
    page.goto(f"{live_server}/lang/{locale}?next=/manage/{token}")
    assert page.locator("html").get_attribute("lang") == locale
    assert_no_axe_violations(page)  # the manage page with the panel
    start_claim(page, live_server, token)
    assert_no_axe_violations(page)  # the empty claim form

    # Errors next to the fields, and the amounts checked but not saved.
    fill_leg(page, 0, day, "Florø", "Bergen", "taxi", amount="12.500")
    submit(page, "#check")
    assert page.locator(".field-errors").count() >= 1
    assert_no_axe_violations(page)
    page.fill("#legs-0-amount", "450")
    page.fill("#legs-0-taxi_reason", "Ingen buss før kurset")
    page.fill("#bank_account", "8601 11 17947")
    submit(page, "#check")
    assert page.locator("table.amounts").count() == 1
    assert_no_axe_violations(page)
    submit(page, "#save")  # uploading reloads the page, so the draft is saved first

    page.set_input_files("#files", files=[
        {"name": "taxi.png", "mimeType": "image/png", "buffer": RECEIPT}])
    submit(page, "form[enctype='multipart/form-data'] button[type=submit]")
    page.select_option("#legs-0-receipt", str(claim(app).receipts[0].id))
    submit(page, "#send")
    assert claim(app).status == S.SUBMITTED
    assert_no_axe_violations(page)  # the claim, read-only, with its status
    page.goto(f"{live_server}/manage/{token}/claims")
    assert_no_axe_violations(page)  # the list of claims

    log_in(page, live_server, locale)
    page.goto(f"{live_server}/staff/refunds/")
    assert_no_axe_violations(page)  # the queue
    page.goto(f"{live_server}/staff/refunds/claims/{claim(app).id}")
    assert page.locator("img.receipt-image").count() == 1
    assert_no_axe_violations(page)  # the claim with its receipt and the decision forms
    page.goto(f"{live_server}/staff/refunds/?status=submitted")
    assert_no_axe_violations(page)


@pytest.mark.parametrize(("locale", "message"), [
    ("nn", "PDF-fila er verna med passord."),
    ("nb", "PDF-filen er beskyttet med passord."),
    ("en", "The PDF is protected by a password."),
])
def test_a_refused_receipt_is_explained_next_to_the_file_field(app, live_server, page, course,
                                                               locale, message):
    token = course["token"]
    start_claim(page, live_server, token)
    page.goto(f"{live_server}/lang/{locale}?next={page.url.removeprefix(live_server)}")
    page.set_input_files("#files", files=[
        {"name": "hemmeleg.pdf", "mimeType": "application/pdf", "buffer": ENCRYPTED_PDF}])
    submit(page, "form[enctype='multipart/form-data'] button[type=submit]")
    error = page.locator("#files-error")
    assert message in error.inner_text()
    assert "hemmeleg.pdf" in error.inner_text()
    # The field points at its message, so a screen reader reads it with the field.
    assert "files-error" in (page.get_attribute("#files", "aria-describedby") or "")
    assert claim(app).receipts == []
    assert_no_axe_violations(page)
