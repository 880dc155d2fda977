"""Checking a certificate by uploading its PDF file to /verify (issue 18, part 3): a participant's
signed download is intact, ours and names its certificate; one changed byte, or bytes added, make
it "modified"; a certificate revoked since is reported revoked; a file signed by another key is
not ours; the office's bulk print has no signature; hostile uploads are refused with a message
next to the field, never a 500.

Each upload that reaches the sandbox costs some 0.6 s of CPU (pyHanko in a fresh process), so
this module sends eight of them; the refusals decided before the sandbox cost nothing.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes

from app import create_app
from certificates import file_check
from certificates import services as certs
from certificates.errors import FileRefused
from certificates.keys import load_key, make_test_keys
from certificates.models import Certificate
from certificates.pdf import build_certificate
from certificates.signing import sign_pdf
from core.auth import StaffUser
from core.db import session_scope
from tests.test_certificates import (
    TITLES,
    attend,
    certificates_of,
    course,
    download,
    engine_of,
    enroll,
    sample_page,
    text_of,
)

# The page's behaviour: what the sandbox says of a file does not depend on the database.
pytestmark = pytest.mark.one_database

NAME = "Máret Čuđđá Ŋŧž"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


# --- helpers ------------------------------------------------------------------------------------


def downloaded(app, client, make_offering, locale: str = "en") -> tuple[bytes, Certificate]:
    """A participant's own certificate as she downloads it (signed), and its record."""
    offering = course(make_offering)
    enrollment_id, token = enroll(app, offering.id, NAME, locale=locale)
    attend(app, enrollment_id)
    response = download(client, token, lang=locale)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    return response.data, certificates_of(app, enrollment_id)[0]


def upload(client, data: bytes | None, name: str = "kursbevis.pdf", lang: str = "en"):
    """Post ``data`` as the file of the /verify form, in language ``lang``."""
    client.get(f"/lang/{lang}")
    form = {} if data is None else {"file": (io.BytesIO(data), name, "application/pdf")}
    return client.post("/verify/file", data=form, content_type="multipart/form-data")


def main_of(response) -> str:
    page = " ".join(text_of(response).split())
    return page[page.index("<main"):page.index("</main>")]


def field_error(response) -> str:
    """The message next to the file field (Designsystemet's validation message)."""
    found = re.search(r'id="file-error">(.*?)</div>', text_of(response), re.S)
    assert found, "no message next to the file field"
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def signed_range(pdf: bytes) -> tuple[int, int, int, int]:
    """The signature's /ByteRange: the two signed spans around its /Contents."""
    found = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf)
    assert found
    return tuple(int(n) for n in found.groups())


def assert_private_answer(response) -> None:
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Robots-Tag"] == "noindex"


# --- pure parts (no sandbox) ---------------------------------------------------------------------


class Trickle:
    """A stream that remembers how much it was asked for."""

    def __init__(self, size: int):
        self.left, self.asked = size, 0

    def read(self, n: int = -1) -> bytes:
        self.asked += n
        give = min(n, self.left)
        self.left -= give
        return b"x" * give


def test_reading_an_upload_never_asks_for_more_than_the_limit_and_one_byte():
    stream = Trickle(10 * 1024 * 1024)
    with pytest.raises(FileRefused) as refused:
        file_check.read_upload(stream, 200_000)
    assert refused.value.code == "too_large"
    assert refused.value.status == 413
    assert stream.asked == 200_001
    assert file_check.read_upload(Trickle(5), 5) == b"xxxxx"
    with pytest.raises(FileRefused, match="empty"):
        file_check.read_upload(Trickle(0), 5)


def test_the_sandbox_answer_is_read_as_ours_only_for_our_signer():
    ours = {"CN=Kursportal certificate signing,OU=x,O=Kursportal (TEST),C=NO"}
    signed = {"state": "signed", "subject": next(iter(ours)), "keywords": "7k3m9-qx2wp",
              "signed_at": "2026-03-03T08:30:00+00:00"}
    assert file_check.interpret(signed, ours) == file_check.FileCheck(
        "ours", signer="Kursportal (TEST)", code="7K3M9QX2WP",
        signed_at=datetime(2026, 3, 3, 8, 30, tzinfo=UTC))
    stranger = {**signed, "subject": "CN=Someone,O=Falsk Etat AS,C=NO"}
    assert file_check.interpret(stranger, ours).outcome == "other"
    assert file_check.interpret(stranger, ours).signer == "Falsk Etat AS"
    assert file_check.interpret({**signed, "state": "untrusted"}, ours).outcome == "other"
    assert file_check.interpret({"state": "modified"}, ours).outcome == "modified"
    lost = {**signed, "fingerprint": "ab" * 32}
    assert file_check.interpret(lost, ours, frozenset({"ab" * 32})).outcome == "withdrawn"
    assert file_check.interpret(lost, ours, frozenset({"cd" * 32})).outcome == "ours"
    assert file_check.interpret({"state": "unsigned"}, ours).outcome == "unsigned"


# --- what a file says ----------------------------------------------------------------------------


def test_a_downloaded_certificate_is_intact_ours_and_valid(app, client, make_offering):
    pdf, certificate = downloaded(app, client, make_offering)

    response = upload(client, pdf)

    assert response.status_code == 200
    assert_private_answer(response)
    main = main_of(response)
    assert "<h1>The certificate is valid</h1>" in main
    assert "The signature is intact" in main
    assert "The file was signed by Kursportal (TEST) on " in main
    assert "nothing in it has been changed since" in main
    assert NAME in main
    assert TITLES["en"] in main
    assert "The County Governor of Vestland" in main
    assert f"{certificate.code[:5]}-{certificate.code[5:]}" in main
    assert main.count("<h1") == 1


def test_one_changed_byte_or_added_bytes_make_the_file_modified(app, client, make_offering):
    pdf, _certificate = downloaded(app, client, make_offering)
    start, first, second, _ = signed_range(pdf)
    # A byte inside a content stream, within the first signed span: the structure still reads.
    stream = pdf.index(b"stream\n", start) + len(b"stream\n") + 20
    assert stream < first
    changed = bytearray(pdf)
    changed[stream] ^= 0x01

    for tampered in (bytes(changed), pdf + b"\n% added after signing\n"):
        response = upload(client, tampered)

        assert response.status_code == 200
        main = main_of(response)
        assert "<h1>The file has been changed</h1>" in main
        assert "What it says cannot be trusted." in main
        assert "Check the verification code printed on the certificate instead" in main
        assert NAME not in main
    assert second > first


def test_a_certificate_revoked_after_download_is_intact_but_revoked(
        app, client, make_offering, make_staff):
    pdf, certificate = downloaded(app, client, make_offering)
    staff_id = make_staff()
    with app.app_context(), session_scope(engine_of(app)) as session:
        certs.revoke(session, certificate.id, "Issued to the wrong person",
                     actor=session.get(StaffUser, staff_id), now=datetime.now(UTC))

    response = upload(client, pdf)

    assert response.status_code == 200
    main = main_of(response)
    assert "<h1>The certificate is revoked</h1>" in main
    assert "The signature is intact" in main
    assert "(Issued to the wrong person). It is no longer valid." in main
    assert NAME not in main


def test_a_pdf_signed_by_another_key_is_not_ours_and_names_its_signer(
        app, client, make_offering, tmp_path):
    pdf, certificate = downloaded(app, client, make_offering)
    other = load_key(make_test_keys(tmp_path, "Falsk Etat AS", name="other"), None)
    # The same certificate's code, in a file made and signed by someone else.
    forged = sign_pdf(build_certificate(sample_page(code=certificate.code, name=NAME)),
                      other.signer, reason="Forged", name=other.signer_name)

    response = upload(client, forged, lang="nn")

    assert response.status_code == 200
    main = main_of(response)
    assert "<h1>Fila er ikkje signert av oss</h1>" in main
    assert "Falsk Etat AS (TEST)" in main
    assert NAME not in main
    assert pdf != forged


def test_the_bulk_print_has_no_signature(app, client, make_offering, make_staff, login):
    offering = course(make_offering)
    enrollment_id, _token = enroll(app, offering.id, NAME, locale="en")
    attend(app, enrollment_id)
    make_staff()
    login()
    printed = client.post(f"/staff/courses/{offering.id}/certificates", follow_redirects=True)
    assert printed.mimetype == "application/pdf"

    response = upload(app.test_client(), printed.data)

    assert response.status_code == 200
    main = main_of(response)
    assert "<h1>The file has no digital signature</h1>" in main
    assert "Check the verification code printed on the certificate instead." in main
    assert NAME not in main


# --- hostile and mistaken uploads ----------------------------------------------------------------


def test_a_png_named_pdf_is_refused_next_to_the_field_in_nynorsk(client):
    response = upload(client, PNG, name="kursbevis.pdf", lang="nn")

    assert response.status_code == 400
    assert field_error(response) == "Fila er ikkje ei PDF-fil. Vel PDF-fila til kursbeviset."
    page = text_of(response)
    assert 'href="#file"' in page  # the error summary links to the field
    assert "<title>Feil:" in page
    assert_private_answer(response)


@pytest.mark.parametrize(("data", "message"), [
    (None, "Choose the certificate's PDF file."),
    (b"", "The file is empty. Choose the PDF file of the certificate."),
    (b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n",
     "The file is damaged and cannot be read."),
])
def test_missing_empty_and_garbage_files_are_refused_with_a_message(client, data, message):
    response = upload(client, data)

    assert response.status_code == 400
    assert field_error(response).startswith(message)
    assert 'href="#file"' in text_of(response)


def test_a_file_over_the_limit_is_refused_before_it_is_read(app_config, tmp_path):
    app_config["CERTIFICATE_UPLOAD_MAX_BYTES"] = 4096
    app = create_app(app_config)
    client = app.test_client()
    just_over = b"%PDF-1.7\n" + b"x" * 4096  # within the request's allowance: read, refused
    far_over = b"%PDF-1.7\n" + b"x" * 200_000  # over the request's limit: never read

    for data in (just_over, far_over):
        response = upload(client, data)

        assert response.status_code == 413
        assert field_error(response) == (
            "The file is larger than 4 kB. A certificate of attendance is a much smaller PDF "
            "file: choose the file you were given.")
        assert 'href="#file"' in text_of(response)
    app.extensions["kp_engine"].dispose()


def test_a_file_signed_by_our_key_naming_no_certificate_of_ours_says_so(
        app, client, signing_key_file):
    ours = load_key(Path(signing_key_file), None)
    pdf = sign_pdf(build_certificate(sample_page(code="7K3M9-QX2WP", name=NAME)), ours.signer,
                   reason="Kursbevis", name=ours.signer_name)

    response = upload(client, pdf, lang="nb")

    assert response.status_code == 200
    main = main_of(response)
    assert "<h1>Fant ikke kursbeviset</h1>" in main
    assert "Signaturen er i orden" in main
    assert "Vi har ikke registrert noe kursbevis med kontrollkoden 7K3M9-QX2WP." in main
    assert NAME not in main


def test_checks_by_file_are_limited_per_address(app_config):
    app_config.update(RATELIMIT_ENABLED=True, VERIFY_UPLOAD_RATE_LIMIT="2 per minute")
    app = create_app(app_config)
    client = app.test_client()

    answers = [upload(client, None).status_code for _ in range(3)]

    assert answers == [400, 400, 429]
    assert client.get("/verify").status_code == 200  # checking by code is limited apart
    app.extensions["kp_engine"].dispose()


def test_a_file_signed_with_a_withdrawn_key_proves_nothing(app, client, make_offering,
                                                          signing_key_file):
    """After a key is lost, its certificate's fingerprint goes in CERTIFICATE_DISTRUSTED (as
    openssl prints it, with colons): files signed with it no longer pass, the code still does."""
    pdf, certificate = downloaded(app, client, make_offering)
    signer = load_key(Path(signing_key_file), None).certificate
    fingerprint = signer.fingerprint(hashes.SHA256()).hex().upper()
    app.config["CERTIFICATE_DISTRUSTED"] = [
        ":".join(fingerprint[i:i + 2] for i in range(0, len(fingerprint), 2))]

    main = main_of(upload(client, pdf))

    assert "<h1>The file's signature is no longer trusted</h1>" in main
    assert "with a key the office no longer trusts" in main
    assert NAME not in main
    assert "The certificate is valid" in main_of(client.get(f"/verify/{certificate.code}"))
