"""Checking a certificate by uploading its PDF at /verify, in a browser: the form refusing a
missing file, and the answers for an intact and for a changed file pass axe-core in nn, nb and
en. The cases are spread over the languages (each check of a file costs the sandbox some 0.6 s
of CPU): every language shows the refused form, Nynorsk and English an intact file, Bokmål and
English a changed one."""

import re

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import assert_no_axe_violations
from tests.test_certificates import attend, course, enroll

NAME = "Máret Čuđđá Ŋŧž"
HEADINGS = {
    "nn": {"error": "Kontroller ei PDF-fil", "intact": "Kursbeviset er gyldig",
           "modified": "Fila er endra"},
    "nb": {"error": "Kontroller en PDF-fil", "intact": "Kursbeviset er gyldig",
           "modified": "Filen er endret"},
    "en": {"error": "Check a PDF file", "intact": "The certificate is valid",
           "modified": "The file has been changed"},
}
CASES = {"nn": ("intact",), "nb": ("modified",), "en": ("intact", "modified")}


def changed(pdf: bytes) -> bytes:
    """The file with one byte changed inside a content stream (inside the signed bytes)."""
    at = pdf.index(b"stream\n") + len(b"stream\n") + 20
    data = bytearray(pdf)
    data[at] ^= 0x01
    return bytes(data)


def submit(page: Page, pdf: bytes | None) -> None:
    if pdf is not None:
        page.set_input_files("#file", files=[{"name": "kursbevis.pdf",
                                              "mimeType": "application/pdf", "buffer": pdf}])
    with page.expect_navigation():
        page.locator("main form[enctype='multipart/form-data'] button[type=submit]").click()


@pytest.mark.parametrize("locale", ["nn", "nb", "en"])
def test_upload_form_and_answers_pass_axe(app, live_server, page, make_offering, locale):
    offering = course(make_offering)
    enrollment_id, token = enroll(app, offering.id, NAME, locale=locale)
    attend(app, enrollment_id)
    # Downloaded through the live server: Playwright's loop runs in this thread, and signing
    # (asyncio inside pyHanko) refuses to run inside a running loop.
    got = page.request.post(f"{live_server}/manage/{token}/certificate", form={"lang": locale})
    assert got.headers["content-type"] == "application/pdf"
    pdf = got.body()
    words = HEADINGS[locale]

    page.goto(f"{live_server}/lang/{locale}?next=/verify")
    assert page.locator("html").get_attribute("lang") == locale
    assert page.locator("h2#by-file").inner_text() == words["error"]
    submit(page, None)
    assert page.locator("#file-error").count() == 1
    assert page.locator("#error-summary a[href='#file']").count() == 1
    assert page.locator("#file").get_attribute("aria-invalid") == "true"
    assert_no_axe_violations(page)

    for case in CASES[locale]:
        page.goto(f"{live_server}/verify")
        submit(page, pdf if case == "intact" else changed(pdf))
        assert re.search(r"/verify/file$", page.url)
        assert page.locator("h1").inner_text() == words[case]
        assert (NAME in page.locator("main").inner_text()) == (case == "intact")
        assert_no_axe_violations(page)
