"""A participant downloads the certificate from the manage page; a stranger checks its code on
/verify by typing it loosely; staff revoke it and print the offering. axe-core on /verify, the
result pages and the manage page with the download, in all three languages."""

import io
import re

import pytest
from playwright.sync_api import Page
from pypdf import PdfReader

from certificates.codes import display_code
from tests.browser.conftest import assert_no_axe_violations
from tests.browser.test_staff_browser import log_in
from tests.test_certificates import attend, certificates_of, course, enroll


def download_pdf(page: Page, click_selector: str) -> bytes:
    with page.expect_download() as info:
        page.locator(click_selector).click()
    return open(info.value.path(), "rb").read()  # noqa: SIM115 - read once, closed by GC


@pytest.mark.parametrize("locale", ["nn", "nb", "en"])
@pytest.mark.one_database
def test_download_and_verify_pass_axe(app, live_server, page, make_offering, locale):
    offering = course(make_offering)
    enrollment_id, token = enroll(app, offering.id, "Máret Čuđđá Ŋŧž", locale=locale)
    attend(app, enrollment_id)

    page.goto(f"{live_server}/lang/{locale}?next=/manage/{token}")
    assert page.locator("html").get_attribute("lang") == locale
    assert page.locator("#certificate-lang").input_value() == locale
    assert_no_axe_violations(page)

    other = {"nn": "en", "nb": "nn", "en": "nb"}[locale]
    page.select_option("#certificate-lang", other)
    data = download_pdf(page, ".certificate-download button[type=submit]")
    reader = PdfReader(io.BytesIO(data))
    assert reader.trailer["/Root"]["/Lang"] == other
    assert "Máret Čuđđá Ŋŧž" in reader.pages[0].extract_text()
    (certificate,) = certificates_of(app, enrollment_id)

    page.goto(f"{live_server}/verify")
    assert_no_axe_violations(page)
    with page.expect_navigation():
        page.locator("main form[method=get] button[type=submit]").click()
    assert page.locator(".field-errors").count() == 1
    assert_no_axe_violations(page)

    page.fill("#code", f" {display_code(certificate.code).lower()} ")
    with page.expect_navigation():
        page.locator("main form[method=get] button[type=submit]").click()
    assert page.url.endswith(f"/verify/{certificate.code}")
    assert "Máret Čuđđá Ŋŧž" in page.locator("main").inner_text()
    assert_no_axe_violations(page)

    response = page.goto(f"{live_server}/verify/7K3M9QX2WP")
    assert response.status == 404
    assert_no_axe_violations(page)


@pytest.mark.parametrize("locale", ["nn", "en"])
@pytest.mark.one_database
def test_the_waiting_message_and_staff_pages_pass_axe(app, live_server, page, make_offering,
                                                      make_staff, locale):
    offering = course(make_offering, kind="group_guidance", days=6)
    enrollment_id, token = enroll(app, offering.id, "Åse Ødegård", locale=locale)
    attend(app, enrollment_id, present=4)
    page.goto(f"{live_server}/lang/{locale}?next=/manage/{token}")
    assert page.locator("#certificate").count() == 1
    assert page.locator("#certificate-lang").count() == 0
    assert_no_axe_violations(page)

    make_staff(email="kari@sfvl.no", county="vestland", locale=locale)
    log_in(page, live_server, "kari@sfvl.no", locale)
    page.goto(f"{live_server}/staff/enrollments/{enrollment_id}/certificate/issue")
    assert_no_axe_violations(page)
    page.fill("#reason", "Ill at one meeting, with a doctor's note.")
    with page.expect_navigation():
        page.locator("form[action$='/certificate/issue'] button[type=submit]").click()
    assert re.search(rf"/staff/courses/{offering.id}/participants$", page.url)
    assert_no_axe_violations(page)
    (certificate,) = certificates_of(app, enrollment_id)

    data = PdfReader(io.BytesIO(page.request.get(
        f"{live_server}/staff/courses/{offering.id}/certificates.pdf").body()))
    assert len(data.pages) == 1

    page.goto(f"{live_server}/staff/certificates/{certificate.id}/revoke")
    assert_no_axe_violations(page)
    page.fill("#reason", "Issued to the wrong person")
    with page.expect_navigation():
        page.locator("form[action$='/revoke'] button[type=submit]").click()
    page.goto(f"{live_server}/verify/{certificate.code}")
    assert "Issued to the wrong person" in page.locator("main").inner_text()
    assert_no_axe_violations(page)
