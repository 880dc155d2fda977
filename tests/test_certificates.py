"""Certificates of attendance: the completion rule, issue, re-issue, issue by hand, revocation,
the PDF (names exactly, objectives, code, embedded fonts, a QR code that scans), the public
verification page, and bulk printing.

Tests that take ``app`` run on SQLite and on PostgreSQL. The PDF checks use pypdf and poppler's
``pdftotext``/``pdffonts``/``pdftoppm``, and ``zbarimg`` (Debian's zbar-tools) for the QR code.
"""

from __future__ import annotations

import html
import io
import random
import re
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from itertools import count

import pytest
import sqlalchemy as sa
from pypdf import PdfReader
from reportlab.graphics.barcode import qrencoder

from app import create_app
from certificates import codes, errors, qr, rules, wording
from certificates import completion as completion_rule
from certificates import services as certs
from certificates.models import Certificate
from certificates.pdf import (
    CertificateFact,
    CertificateObjective,
    CertificatePage,
    build_certificate,
    build_certificates,
)
from certificates.qr import qr_codewords, qr_matrix
from core.audit import AuditEvent
from core.db import get_session, session_scope
from core.i18n import format_moment
from core.pdf import PdfMetadata
from enrollment.models import (
    Attendance,
    CourseKind,
    CourseOffering,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    LearningObjective,
    ManageLink,
    Participant,
    Role,
)
from enrollment.services import links
from tests.conftest import require, staff_login
from tests.test_pdf import assert_only_embedded_bundled_fonts, pdftotext, pypdf_text
from tests.test_privacy import export_by_mail

# The page's behaviour; the data rules under it are tested on both databases (conftest).
pytestmark = pytest.mark.one_database

S = EnrollmentStatus
NAMES = ("Åse Ødegård", "Máret Čuđđá Ŋŧž")
TITLES = {"nn": "Kurs i offentleg helsearbeid, Bergen",
          "nb": "Kurs i offentlig helsearbeid, Bergen",
          "en": "Public health course, Bergen"}
HPR, PHONE, EMPLOYER = "1234567", "412 34 567", "Kautokeino kommune"
_emails = count(1)


# --- helpers ------------------------------------------------------------------------------------


def engine_of(app):
    return app.extensions["kp_engine"]


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def flat(text: str) -> str:
    """Whitespace collapsed, so wrapped lines compare with the original sentence."""
    return " ".join(text.split())


def pdf_texts(data: bytes) -> list[str]:
    """The PDF's text as pypdf and as pdftotext extract it, whitespace collapsed."""
    return [flat(pypdf_text(data)), flat(pdftotext(data))]


def zbarimg() -> str:
    path = shutil.which("zbarimg")
    if path is None:
        require("zbarimg (zbar-tools) is not installed")
    return path


def qr_codes_on_first_page(data: bytes, tmp_path) -> list[str]:
    """Render page 1 at 150 dpi with pdftoppm and decode every QR code on it with zbarimg."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        require("pdftoppm (poppler-utils) is not installed")
    (tmp_path / "certificate.pdf").write_bytes(data)
    subprocess.run([pdftoppm, "-r", "150", "-png", "-f", "1", "-l", "1", "-singlefile",
                    str(tmp_path / "certificate.pdf"), str(tmp_path / "page")], check=True)
    out = subprocess.run([zbarimg(), "--quiet", "--raw", str(tmp_path / "page.png")],
                         capture_output=True, check=True).stdout.decode()
    return out.split()


def past_first_day() -> datetime:
    """Midnight UTC 20 days ago: a course whose days (up to six) have all ended."""
    return (datetime.now(UTC) - timedelta(days=20)).replace(hour=0, minute=0, second=0,
                                                             microsecond=0)


def course(make_offering, kind: str = "public_health", days: int = 2, **values):
    """An offering with a title in each language and a signer, held in the past unless
    ``first_day`` says otherwise (certificates come only after the days have ended)."""
    defaults = dict(title_nn=TITLES["nn"], title_nb=TITLES["nb"], title_en=TITLES["en"],
                    signer_name="Kari Nordmann", signer_title="Assisterande fylkeslege",
                    venue="Bergen", first_day=past_first_day())
    defaults.update(values)
    return make_offering(kind=kind, days=days, **defaults)


def enroll(app, offering_id: int, name: str, *, locale: str = "nn",
           status: EnrollmentStatus = S.CONFIRMED) -> tuple[int, str]:
    """Enroll ``name``; returns the enrollment id and its manage token."""
    token, digest = links.new_token()
    with session_scope(engine_of(app)) as session:
        offering = session.get(CourseOffering, offering_id)
        participant = Participant(
            full_name=name, email=f"person{next(_emails)}@example.org", phone=PHONE,
            role=Role.LIS1, hpr_number=HPR, employer=EMPLOYER, locale=locale)
        enrollment = Enrollment(offering=offering, participant=participant, status=status,
                                manage_links=[ManageLink(token_hash=digest)])
        if status == S.CONFIRMED:
            offering.seats_taken += 1
        session.add(enrollment)
        session.flush()
        return enrollment.id, token


def attend(app, enrollment_id: int, present: int | None = None) -> None:
    """Mark the enrollment present at its offering's first ``present`` sessions (all by
    default) and absent at the rest."""
    with session_scope(engine_of(app)) as session:
        enrollment = session.get(Enrollment, enrollment_id)
        sessions = enrollment.offering.sessions
        present = len(sessions) if present is None else present
        for number, course_session in enumerate(sessions):
            session.add(Attendance(enrollment_id=enrollment_id, session_id=course_session.id,
                                   present=number < present))


def certificates_of(app, enrollment_id: int) -> list[Certificate]:
    with session_scope(engine_of(app)) as session:
        return list(session.scalars(sa.select(Certificate).where(
            Certificate.enrollment_id == enrollment_id).order_by(Certificate.id)))


def audit_actions(app) -> list[str]:
    with session_scope(engine_of(app)) as session:
        return list(session.scalars(sa.select(AuditEvent.action).where(
            AuditEvent.object_type == "certificate").order_by(AuditEvent.id)))


def objectives(app, kind: str = "public_health") -> list[LearningObjective]:
    with session_scope(engine_of(app)) as session:
        return list(session.scalars(
            sa.select(LearningObjective).join(LearningObjective.kind)
            .where(CourseKind.code == kind).order_by(LearningObjective.position)))


@pytest.fixture
def confirmed_objectives(app) -> list[LearningObjective]:
    """The public-health objectives as an office would confirm them: official number, wording
    and source. The numbers and wording here are test data, not Helsedirektoratet's."""
    with session_scope(engine_of(app)) as session:
        rows = session.scalars(
            sa.select(LearningObjective).join(LearningObjective.kind)
            .where(CourseKind.code == "public_health").order_by(LearningObjective.position))
        for number, objective in enumerate(rows, start=1):
            objective.official_number = f"TEST-{number:03d}"
            objective.confirmed = True
            objective.source_url = "https://example.org/official"
    return objectives(app)


def download(client, token: str, lang: str | None = None):
    """What the manage page's button does: issue the certificate if it is due (a POST), then
    download it (the GET it is sent on to)."""
    data = {"lang": lang} if lang else {}
    return client.post(f"/manage/{token}/certificate", data=data, follow_redirects=True)


def fetch(client, token: str, lang: str | None = None):
    """Only the download itself, which never issues."""
    query = f"?lang={lang}" if lang else ""
    return client.get(f"/manage/{token}/certificate.pdf{query}")


def sample_page(**values) -> CertificatePage:
    defaults = dict(
        lang="nn", office="Statsforvaltaren i Vestland", heading="Kursbevis",
        certifies="Dette stadfestar at", name="Máret Čuđđá Ŋŧž", person="LIS1",
        completed="har delteke på", course_title="Kurs i offentleg helsearbeid",
        course_details="Vår 2026", facts=(CertificateFact("Dagar", "3. mars 2026"),),
        objectives_heading="Læringsmål", objectives=(CertificateObjective("OH-01", "Tekst"),),
        place_and_date="Bergen, 21. november 2026", signer_name="Kari Nordmann",
        signer_title="Fylkeslege", code_label="Kontrollkode", code="7K3M9-QX2WP",
        verify_label="Kontroller på", verify_url="https://kurs.example.no/verify/7K3M9QX2WP")
    defaults.update(values)
    return CertificatePage(**defaults)


# --- codes and the QR encoder (no database) -----------------------------------------------------


def test_new_codes_are_ten_unambiguous_characters():
    made = {codes.new_code() for _ in range(500)}
    assert len(made) == 500
    for code in made:
        assert len(code) == 10
        assert set(code) <= set(codes.CODE_ALPHABET)
        assert not set(code) & set("ILOU")


@pytest.mark.parametrize(("typed", "expected"), [
    ("7K3M9QX2WP", "7K3M9QX2WP"),
    ("7k3m9-qx2wp", "7K3M9QX2WP"),
    ("  7K3M9 QX2WP ", "7K3M9QX2WP"),
    ("7K3-M9Q-X2W-P", "7K3M9QX2WP"),
    ("7K3M9–QX2WP", "7K3M9QX2WP"),
    ("O0IL1ABCDE", "00111ABCDE"),
    ("7K3M9QX2W", None),
    ("7K3M9QX2WPX", None),
    ("7K3M9QX2WU", None),
    ("<script>", None),
    ("", None),
    (None, None),
])
def test_typed_codes_are_normalised(typed, expected):
    assert codes.normalise_code(typed) == expected


def test_display_code_groups_in_fives():
    assert codes.display_code("7K3M9QX2WP") == "7K3M9-QX2WP"


def test_qr_symbol_is_exactly_reportlabs_for_the_chosen_mask():
    texts = [f"https://kurs.statsforvaltaren.no/verify/{codes.new_code()}" for _ in range(20)]
    texts += ["http://localhost/verify/7K3M9QX2WP", "HELLO 123", "Åse Ødegård", "x" * 400]
    for text in texts:
        reference = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
        reference.addData(text)
        reference.version = reference.calculate_version()
        version, codewords = qr_codewords(text)
        assert version == reference.version
        assert codewords == qrencoder.QRCode.createData(
            version, reference.errorCorrectLevel, reference.dataList)
        ours = qr_matrix(text)
        symbols = []
        for mask in range(8):
            reference.makeImpl(False, mask)
            symbols.append(tuple("".join("1" if dark else "0" for dark in row)
                                 for row in reference.modules))
        assert ours in symbols, text


_RUNS_OF_FIVE = re.compile(r"0{5,}|1{5,}")


def plain_penalty(rows: list[int], size: int) -> int:
    """ISO/IEC 18004 7.8.3 read plainly, one symbol at a time, on strings of '0' and '1'."""
    lines = [format(row, f"0{size}b") for row in rows]
    lines += ["".join(column) for column in zip(*lines, strict=True)]
    score = sum(len(run) - 2 for line in lines for run in _RUNS_OF_FIVE.findall(line))
    score += 40 * sum(f"0000{line}0000".count(pattern) for line in lines
                      for pattern in ("10111010000", "00001011101"))
    grid = [[int(bit) for bit in line] for line in lines[:size]]
    score += 3 * sum(1 for r in range(size - 1) for c in range(size - 1)
                     if grid[r][c] == grid[r][c + 1] == grid[r + 1][c] == grid[r + 1][c + 1])
    dark = sum(map(sum, grid))
    return score + 10 * (abs(dark * 100 // (size * size) - 50) // 5)


def test_mask_penalties_of_all_eight_masks_at_once_match_the_plain_reading():
    rng = random.Random(5)
    for version in (1, 2, 4, 7, 10):
        layout = qr._layout(version)
        for rows in ([rng.getrandbits(layout.size) for _ in range(layout.size)],
                     list(layout.function_rows)):
            expected = [plain_penalty([r ^ m for r, m in zip(rows, layout.masks[k], strict=True)],
                                      layout.size) for k in range(8)]
            assert qr._penalties(rows, layout) == expected


def test_bulk_builder_reads_a_generator_and_gives_a_page_each(tmp_path):
    def pages():
        for number in range(25):
            yield sample_page(name=f"Deltakar {number:02d} Čuđđá",
                              verify_url=f"https://kurs.example.no/verify/CODE{number:06d}")

    data = build_certificates(pages(), PdfMetadata(title="Kursbevis", author="SF", lang="nn"))

    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 25
    for number, page in enumerate(reader.pages):
        assert f"Deltakar {number:02d} Čuđđá" in page.extract_text()
    assert reader.metadata.title == "Kursbevis"
    assert_only_embedded_bundled_fonts(data)
    assert qr_codes_on_first_page(data, tmp_path) == ["https://kurs.example.no/verify/CODE000000"]


def test_too_many_objectives_still_fit_on_one_page():
    many = tuple(CertificateObjective(f"OH-{n:02d}", "Gjere greie for korleis kommunen "
                                      "arbeider med folkehelse og smittevern. " * 3)
                 for n in range(40))
    data = build_certificate(sample_page(objectives=many))
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert "OH-00" in text
    assert "7K3M9-QX2WP" in text


# --- the participant's download -----------------------------------------------------------------


@pytest.mark.parametrize("lang", ["nn", "nb", "en"])
def test_participant_downloads_certificate_with_names_objectives_and_code(
        app, client, make_offering, lang, tmp_path, confirmed_objectives):
    offering = course(make_offering)
    people = {name: enroll(app, offering.id, name, locale="nn") for name in NAMES}
    for enrollment_id, _token in people.values():
        attend(app, enrollment_id)

    for name, (enrollment_id, token) in people.items():
        response = download(client, token, lang)

        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        assert response.headers["Cache-Control"] == "no-store"
        assert "attachment" in response.headers["Content-Disposition"]
        (certificate,) = certificates_of(app, enrollment_id)
        assert certificate.locale == "nn"
        assert certificate.snapshot["name"] == name
        data = response.data
        for text in pdf_texts(data):
            assert name in text
            assert TITLES[lang] in text
            assert codes.display_code(certificate.code) in text
            assert f"/verify/{certificate.code}" in text
            for objective in confirmed_objectives:
                assert objective.official_number in text
                assert flat(objective.text(lang)) in text
        assert_only_embedded_bundled_fonts(data)
        reader = PdfReader(io.BytesIO(data))
        assert len(reader.pages) == 1
        assert reader.trailer["/Root"]["/Lang"] == lang
        assert reader.metadata.author == {"nn": "Statsforvaltaren i Vestland",
                                          "nb": "Statsforvalteren i Vestland",
                                          "en": "The County Governor of Vestland"}[lang]
        assert name in reader.metadata.title

    # The QR code scans to the verification page, which a stranger can open.
    enrollment_id, token = people["Máret Čuđđá Ŋŧž"]
    (certificate,) = certificates_of(app, enrollment_id)
    assert qr_codes_on_first_page(download(client, token, lang).data, tmp_path) == [
        f"http://localhost/verify/{certificate.code}"]
    stranger = app.test_client()
    page = text_of(stranger.get(f"/verify/{certificate.code}"))
    assert "Máret Čuđđá Ŋŧž" in page


@pytest.mark.usefixtures("confirmed_objectives")
def test_english_certificate_states_the_facts(app, client, make_offering):
    offering = course(make_offering, days=3)
    enrollment_id, token = enroll(app, offering.id, "Åse Ødegård", locale="en")
    attend(app, enrollment_id)

    text = pdf_texts(download(client, token).data)[1]

    for expected in ("The County Governor of Vestland", "Certificate of attendance",
                     "Åse Ødegård", "LIS1 doctor · HPR number 1234567",
                     "Course in public health work", "Dates attended", "Total hours",
                     "21 hours", "Learning objectives covered", "Kari Nordmann",
                     "Assisterande fylkeslege", "Verification code"):
        assert expected in text
    assert "Attended" not in text  # every day attended: the dates say it all
    (certificate,) = certificates_of(app, enrollment_id)
    assert certificate.snapshot["attended"] == certificate.snapshot["total"] == 3
    assert certificate.snapshot["hours"] == 21


def test_downloading_again_gives_the_same_certificate(app, client, make_offering):
    offering = course(make_offering)
    enrollment_id, token = enroll(app, offering.id, "Åse Ødegård")
    attend(app, enrollment_id)

    first = download(client, token, "nn")
    second = download(client, token, "en")

    assert first.status_code == second.status_code == 200
    (certificate,) = certificates_of(app, enrollment_id)
    for response in (first, second):
        assert codes.display_code(certificate.code) in pdf_texts(response.data)[0]
    assert audit_actions(app) == []


def test_unknown_language_is_not_found(app, client, make_offering):
    offering = course(make_offering)
    enrollment_id, token = enroll(app, offering.id, "Åse Ødegård")
    attend(app, enrollment_id)
    assert download(client, token, "de").status_code == 404
    assert certificates_of(app, enrollment_id) == []


# --- the completion rule ------------------------------------------------------------------------


def test_missing_a_day_means_no_certificate_and_the_page_says_what_is_missing(
        app, client, make_offering):
    offering = course(make_offering, days=3)
    enrollment_id, token = enroll(app, offering.id, "Åse Ødegård")
    attend(app, enrollment_id, present=2)
    client.get("/lang/en")

    page = text_of(client.get(f"/manage/{token}"))

    assert "You attended 2 of 3 days." in page
    assert "once you have attended every day" in page
    assert "Download certificate of attendance" not in page
    assert download(client, token).status_code == 404
    assert certificates_of(app, enrollment_id) == []


def test_no_attendance_marked_yet(app, client, make_offering):
    offering = course(make_offering)
    _enrollment_id, token = enroll(app, offering.id, "Åse Ødegård")
    client.get("/lang/en")
    assert "You attended 0 of 2 days." in text_of(client.get(f"/manage/{token}"))
    assert download(client, token).status_code == 404


def test_every_day_attended_offers_the_download_with_a_language_choice(
        app, client, make_offering):
    offering = course(make_offering)
    enrollment_id, token = enroll(app, offering.id, "Åse Ødegård", locale="nb")
    attend(app, enrollment_id)
    client.get("/lang/en")

    page = text_of(client.get(f"/manage/{token}"))

    assert "Download certificate of attendance" in page
    assert f'method="post" action="/manage/{token}/certificate"' in page
    assert re.search(r'<option value="nb" lang="nb" selected>Bokmål</option>', page)
    assert certificates_of(app, enrollment_id) == []  # issued when the button is pressed


@pytest.mark.parametrize(("present", "met"), [(6, True), (5, True), (4, False), (0, False)])
def test_guidance_needs_the_minimum_share_of_meetings(app, client, make_offering, present, met):
    offering = course(make_offering, kind="group_guidance", days=6, min_share_percent=75)
    enrollment_id, token = enroll(app, offering.id, "Máret Čuđđá Ŋŧž", locale="en")
    attend(app, enrollment_id, present=present)
    client.get("/lang/en")

    response = download(client, token)

    page = text_of(client.get(f"/manage/{token}"))
    if met:
        assert response.status_code == 200
        text = pdf_texts(response.data)[1]
        assert f"Attended {present} of 6 meetings" in text
        assert "Meetings attended" in text
        assert "Download certificate of attendance" in page
        (certificate,) = certificates_of(app, enrollment_id)
        assert certificate.snapshot["attended"] == present
        assert certificate.snapshot["by_share"] is True
    else:
        assert response.status_code == 404
        assert f"You attended {present} of 6 meetings." in page
        assert "at least 5 of the 6 meetings" in page
        assert certificates_of(app, enrollment_id) == []


def test_completion_rule_in_the_service(app, make_offering):
    offering = course(make_offering, kind="group_guidance", days=6, min_share_percent=75)
    cases = {"five": (S.CONFIRMED, 5), "four": (S.CONFIRMED, 4), "gone": (S.CANCELLED, 6),
             "waiting": (S.WAITLISTED, 6)}
    ids = {}
    for label, (status, present) in cases.items():
        ids[label] = enroll(app, offering.id, f"Person {label}", status=status)[0]
        attend(app, ids[label], present=present)
    with session_scope(engine_of(app)) as session:
        results = {label: completion_rule.completion(session, session.get(Enrollment, eid))
                   for label, eid in ids.items()}
    assert {label: r.met for label, r in results.items()} == {
        "five": True, "four": False, "gone": False, "waiting": False}
    assert results["four"].required == 5
    assert (results["four"].attended, results["four"].total) == (4, 6)


def test_cancelled_enrollment_gets_no_certificate(app, client, make_offering):
    offering = course(make_offering)
    enrollment_id, token = enroll(app, offering.id, "Åse Ødegård", status=S.CANCELLED)
    attend(app, enrollment_id)

    assert download(client, token).status_code == 404
    assert "Certificate of attendance" not in text_of(client.get(f"/manage/{token}"))
    assert certificates_of(app, enrollment_id) == []


# --- staff: issue by hand, re-issue, revoke -----------------------------------------------------


def test_staff_issue_a_certificate_by_hand_with_a_reason(app, client, make_offering,
                                                         make_staff, login):
    offering = course(make_offering)
    enrollment_id, token = enroll(app, offering.id, "Åse Ødegård", locale="en")
    attend(app, enrollment_id, present=1)
    make_staff()
    login()
    url = f"/staff/enrollments/{enrollment_id}/certificate/issue"

    form = client.get(url)
    assert form.status_code == 200
    assert "Attended 1 of 2 days." in text_of(form)
    assert "The attendance rule is not met" in text_of(form)
    refused = client.post(url, data={"reason": "  "})
    assert refused.status_code == 400
    assert "Write why the certificate is issued by hand." in text_of(refused)
    assert certificates_of(app, enrollment_id) == []

    done = client.post(url, data={"reason": "Sick on day two; documented."})

    assert done.status_code == 302
    (certificate,) = certificates_of(app, enrollment_id)
    assert certificate.manual_reason == "Sick on day two; documented."
    assert certificate.issued_by_id is not None
    assert audit_actions(app) == ["certificate.issue_by_hand"]
    listing = text_of(client.get(done.headers["Location"]))
    assert f"A certificate with code {codes.display_code(certificate.code)} is issued" in listing
    text = pdf_texts(download(client, token).data)[1]
    assert "Attended 1 of 2 days" in text
    assert "Åse Ødegård" in text


def test_reissue_after_a_correction_keeps_the_code(app, client, make_offering, make_staff,
                                                   login):
    offering = course(make_offering)
    enrollment_id, token = enroll(app, offering.id, "Aase Odegard")
    attend(app, enrollment_id)
    assert download(client, token).status_code == 200
    (before,) = certificates_of(app, enrollment_id)
    with session_scope(engine_of(app)) as session:
        session.get(Enrollment, enrollment_id).participant.full_name = "Åse Ødegård"
    make_staff()
    login()

    response = client.post(f"/staff/enrollments/{enrollment_id}/certificate/issue",
                           data={"reason": "Name spelt without Å and Ø."})

    assert response.status_code == 302
    (after,) = certificates_of(app, enrollment_id)
    assert after.code == before.code
    assert after.snapshot["name"] == "Åse Ødegård"
    assert audit_actions(app) == ["certificate.reissue"]
    assert "Åse Ødegård" in pdf_texts(download(client, token).data)[1]
    assert "Åse Ødegård" in text_of(client.get(f"/verify/{after.code}"))


def test_staff_cannot_issue_to_a_waiting_list_enrollment(app, client, make_offering,
                                                          make_staff, login):
    offering = course(make_offering)
    enrollment_id, _token = enroll(app, offering.id, "Åse Ødegård", status=S.WAITLISTED)
    make_staff()
    login()
    url = f"/staff/enrollments/{enrollment_id}/certificate/issue"
    assert "Only confirmed participants can get a certificate." in text_of(client.get(url))
    response = client.post(url, data={"reason": "Because"}, follow_redirects=True)
    assert "Only confirmed participants can get a certificate." in text_of(response)
    assert certificates_of(app, enrollment_id) == []


def test_revoked_certificate_is_shown_as_revoked_and_no_longer_downloads(
        app, client, make_offering, make_staff, login):
    offering = course(make_offering)
    enrollment_id, token = enroll(app, offering.id, "Åse Ødegård")
    attend(app, enrollment_id)
    assert download(client, token).status_code == 200
    (certificate,) = certificates_of(app, enrollment_id)
    make_staff()
    login()
    url = f"/staff/certificates/{certificate.id}/revoke"
    assert client.post(url, data={"reason": ""}).status_code == 400

    response = client.post(url, data={"reason": "Attendance was registered by mistake"})

    assert response.status_code == 302
    (revoked,) = certificates_of(app, enrollment_id)
    assert revoked.revoked_at is not None
    assert revoked.revoked_reason == "Attendance was registered by mistake"
    assert audit_actions(app) == ["certificate.revoke"]
    stranger = app.test_client()
    stranger.get("/lang/en")
    verify = stranger.get(f"/verify/{certificate.code}")
    page = text_of(verify)
    assert verify.status_code == 200
    assert "The certificate is revoked" in page
    assert "(Attendance was registered by mistake)" in page
    assert "Åse Ødegård" not in page
    assert download(client, token).status_code == 404
    assert "was revoked on" in text_of(client.get(f"/manage/{token}"))
    again = client.post(url, data={"reason": "Twice"}, follow_redirects=True)
    assert "This certificate is already revoked." in text_of(again)
    # Only staff can issue a new one, and it gets a new code.
    client.post(f"/staff/enrollments/{enrollment_id}/certificate/issue",
                data={"reason": "Attendance checked again"})
    old, new = certificates_of(app, enrollment_id)
    assert new.code != old.code
    assert new.revoked_at is None
    assert download(client, token).status_code == 200


def test_participant_list_links_to_certificates(app, client, make_offering, make_staff, login):
    offering = course(make_offering)
    with_certificate, token = enroll(app, offering.id, "Åse Ødegård")
    without, _token = enroll(app, offering.id, "Máret Čuđđá Ŋŧž")
    attend(app, with_certificate)
    download(client, token)
    (certificate,) = certificates_of(app, with_certificate)
    make_staff()
    login()

    page = text_of(client.get(f"/staff/courses/{offering.id}/participants"))

    assert f"/staff/courses/{offering.id}/certificates.pdf" in page
    assert "For the printer: not digitally signed." in page
    assert f"/staff/certificates/{certificate.id}/revoke" in page
    assert f"/staff/enrollments/{with_certificate}/certificate/issue" in page
    assert f"/staff/enrollments/{without}/certificate/issue" in page


def test_code_collisions_are_retried(app, client, make_offering, monkeypatch):
    offering = course(make_offering)
    first, first_token = enroll(app, offering.id, "Åse Ødegård")
    second, second_token = enroll(app, offering.id, "Máret Čuđđá Ŋŧž")
    attend(app, first)
    attend(app, second)
    drawn = iter(["AAAAAAAAAA", "AAAAAAAAAA", "AAAAAAAAAA", "BBBBBBBBBB"])
    monkeypatch.setattr(certs, "new_code", lambda: next(drawn))

    assert download(client, first_token).status_code == 200
    assert download(client, second_token).status_code == 200

    assert [c.code for c in certificates_of(app, first)] == ["AAAAAAAAAA"]
    assert [c.code for c in certificates_of(app, second)] == ["BBBBBBBBBB"]


# --- the verification page ----------------------------------------------------------------------


def issued(app, client, make_offering, name: str = "Máret Čuđđá Ŋŧž") -> Certificate:
    offering = course(make_offering)
    enrollment_id, token = enroll(app, offering.id, name)
    attend(app, enrollment_id)
    assert download(client, token).status_code == 200
    return certificates_of(app, enrollment_id)[0]


def test_verification_shows_the_listed_fields_and_nothing_else(app, client, make_offering):
    certificate = issued(app, client, make_offering)
    client.get("/lang/en")

    response = client.get(f"/verify/{certificate.code}")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Robots-Tag"] == "noindex"
    page = text_of(response)
    main = page[page.index("<main"):page.index("</main>")]
    assert "The certificate is valid" in main
    assert "Máret Čuđđá Ŋŧž" in main
    assert TITLES["en"] in main
    assert "The County Governor of Vestland" in main
    assert ", ".join(wording.session_days(certificate.snapshot, "en")) in main
    assert date.fromisoformat(certificate.snapshot["issued_on"]).strftime("%B") in main
    assert re.findall(r"<dt>(.*?)</dt>", main) == [
        "Participant", "Course", "Dates", "Issued by", "Date of issue"]
    for private in ("@example.org", PHONE, HPR, EMPLOYER, "LIS1", "Kari Nordmann",
                    "Learning objectives"):
        assert private not in main


@pytest.mark.parametrize("typed", ["{code_lower}", "{dashed}", "{spaced}"])
def test_codes_typed_loosely_lead_to_the_certificate(app, client, make_offering, typed):
    certificate = issued(app, client, make_offering)
    code = certificate.code
    value = typed.format(code_lower=code.lower(), dashed=codes.display_code(code).lower(),
                         spaced=f" {code[:5]} {code[5:]} ")

    response = client.get("/verify", query_string={"code": value})

    assert response.status_code == 302
    assert response.headers["Location"] == f"/verify/{code}"
    assert client.get(f"/verify/{code.lower()}").headers["Location"] == f"/verify/{code}"


def test_verify_form_explains_bad_input(app, client):
    client.get("/lang/en")
    assert client.get("/verify").status_code == 200
    empty = client.get("/verify?code=")
    assert empty.status_code == 400
    assert "Enter the verification code printed on the certificate." in text_of(empty)
    short = client.get("/verify?code=ABC")
    assert short.status_code == 400
    assert "A verification code has 10 letters and digits" in text_of(short)


def test_unknown_code_is_no_such_certificate(app, client):
    client.get("/lang/en")
    for code in ("7K3M9QX2WP", "not-a-code", "<img src=x onerror=alert(1)>"):
        response = client.get(f"/verify/{code}")
        assert response.status_code == 404
        body = response.get_data(as_text=True)
        assert "No such certificate" in body
        assert "<img src=x" not in body


# --- snapshot -----------------------------------------------------------------------------------


def test_editing_the_offering_after_issue_changes_neither_pdf_nor_verification(
        app, client, make_offering, confirmed_objectives):
    offering = course(make_offering)
    enrollment_id, token = enroll(app, offering.id, "Åse Ødegård", locale="en")
    attend(app, enrollment_id)
    client.get("/lang/en")
    before_pdf = pdf_texts(download(client, token).data)
    (certificate,) = certificates_of(app, enrollment_id)
    before_page = client.get(f"/verify/{certificate.code}").get_data(as_text=True)
    old_objective = confirmed_objectives[0]
    with session_scope(engine_of(app)) as session:
        row = session.get(CourseOffering, offering.id)
        row.title_nn = row.title_nb = row.title_en = "Renamed course"
        row.signer_name = "Someone Else"
        row.sessions[0].starts_at = row.sessions[0].starts_at.replace(year=2030)
        row.sessions[0].ends_at = row.sessions[0].ends_at.replace(year=2030)
        objective = session.get(LearningObjective, old_objective.id)
        objective.text_nn = objective.text_nb = objective.text_en = "A new objective text"
        objective.code = "NEW-99"

    after_pdf = pdf_texts(download(client, token).data)
    after_page = client.get(f"/verify/{certificate.code}").get_data(as_text=True)

    assert after_pdf == before_pdf
    assert after_page == before_page
    for text in after_pdf:
        assert TITLES["en"] in text
        assert flat(old_objective.text_en) in text
        assert "Renamed course" not in text
        assert "NEW-99" not in text
        assert "Someone Else" not in text


# --- bulk printing ------------------------------------------------------------------------------


def test_bulk_print_gives_a_page_per_certificate_in_each_language(
        app, client, make_offering, make_staff, login, confirmed_objectives):
    offering = course(make_offering)
    people = {"nn": "Åse Ødegård", "nb": "Máret Čuđđá Ŋŧž", "en": "Zoe Smith"}
    ids = {}
    for lang, name in people.items():
        ids[lang] = enroll(app, offering.id, name, locale=lang)[0]
        attend(app, ids[lang])
    absent = enroll(app, offering.id, "Absent Person", locale="nn")[0]
    attend(app, absent, present=1)
    make_staff()
    login()
    client.get("/lang/en")
    url = f"/staff/courses/{offering.id}/certificates.pdf"

    # The print link only reads: those due are named, with the button that issues theirs.
    due = client.get(url)
    assert due.status_code == 200
    page = text_of(due)
    assert "3 participants have met the attendance rule and have no certificate yet" in page
    assert all(name in page for name in people.values())
    assert "Absent Person" not in page
    assert ("For the printer: not digitally signed. The copy each participant downloads is "
            "signed.") in page
    assert f'action="/staff/courses/{offering.id}/certificates"' in page
    assert all(certificates_of(app, ids[lang]) == [] for lang in people)
    assert audit_actions(app) == []

    response = client.post(f"/staff/courses/{offering.id}/certificates",
                           follow_redirects=True)

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    reader = PdfReader(io.BytesIO(response.data))
    assert len(reader.pages) == 3
    texts = [flat(page.extract_text()) for page in reader.pages]
    # In Norwegian name order: Zoe, Åse (Å last), and Máret next to M.
    order = ["nb", "en", "nn"]
    assert [people[lang] in text for lang, text in zip(order, texts, strict=True)] == [True] * 3
    for lang, text in zip(order, texts, strict=True):
        assert TITLES[lang] in text
        assert flat(confirmed_objectives[0].text(lang)) in text
        others = [TITLES[o] for o in TITLES if o != lang]
        assert not any(title in text for title in others)
    assert "Absent Person" not in " ".join(texts)
    # Paper for the printer: no digital signature, and no line claiming one.
    assert "/Sig" not in response.data.decode("latin-1")
    assert "Digitally signed" not in " ".join(texts)
    assert_only_embedded_bundled_fonts(response.data)
    for lang in people:
        (certificate,) = certificates_of(app, ids[lang])
        assert certificate.locale == lang
    assert certificates_of(app, absent) == []
    assert audit_actions(app) == ["certificate.issue"] * 3

    # Printing again issues nothing new, and goes straight to the PDF.
    again = client.get(url)
    assert again.mimetype == "application/pdf"
    assert len(PdfReader(io.BytesIO(again.data)).pages) == 3
    assert audit_actions(app) == ["certificate.issue"] * 3


def test_bulk_print_with_nobody_done_explains(app, client, make_offering, make_staff, login):
    offering = course(make_offering)
    enrollment_id = enroll(app, offering.id, "Åse Ødegård")[0]
    attend(app, enrollment_id, present=1)
    make_staff()
    login()

    response = client.get(f"/staff/courses/{offering.id}/certificates.pdf",
                          follow_redirects=True)

    assert "Nobody in this course has a certificate yet" in text_of(response)
    assert certificates_of(app, enrollment_id) == []


def test_staff_of_another_county_get_404(app, client, make_offering, make_staff, login):
    offering = course(make_offering)
    enrollment_id, token = enroll(app, offering.id, "Åse Ødegård")
    attend(app, enrollment_id)
    download(client, token)
    (certificate,) = certificates_of(app, enrollment_id)
    make_staff(email="rolf@sfro.no", county="rogaland")
    login("rolf@sfro.no")

    answers = [
        client.get(f"/staff/courses/{offering.id}/certificates.pdf").status_code,
        client.get(f"/staff/enrollments/{enrollment_id}/certificate/issue").status_code,
        client.post(f"/staff/enrollments/{enrollment_id}/certificate/issue",
                    data={"reason": "x"}).status_code,
        client.get(f"/staff/certificates/{certificate.id}/revoke").status_code,
        client.post(f"/staff/certificates/{certificate.id}/revoke",
                    data={"reason": "x"}).status_code,
    ]

    assert answers == [404] * 5
    (unchanged,) = certificates_of(app, enrollment_id)
    assert unchanged.revoked_at is None
    assert unchanged.issued_by_id is None
    assert audit_actions(app) == []


def test_certificate_issue_and_revoke_need_a_login(app, client, make_offering):
    offering = course(make_offering)
    enrollment_id, _token = enroll(app, offering.id, "Åse Ødegård")
    for url in (f"/staff/courses/{offering.id}/certificates.pdf",
                f"/staff/enrollments/{enrollment_id}/certificate/issue"):
        response = client.get(url)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/staff/login")


def test_issue_date_is_the_day_in_oslo(app, make_offering):
    offering = course(make_offering, first_day=datetime(2026, 3, 1, tzinfo=UTC))
    enrollment_id, _token = enroll(app, offering.id, "Åse Ødegård")
    attend(app, enrollment_id)
    late_evening = datetime(2026, 3, 3, 23, 30, tzinfo=UTC)  # 00:30 on 4 March in Oslo
    with app.app_context(), session_scope(engine_of(app)) as session:
        certificate = certs.issue(session, enrollment_id, now=late_evening)
        assert certificate.snapshot["issued_on"] == "2026-03-04"
        assert certificate.issued_at == late_evening


# --- the time rule: no certificate before the days it counts have ended -------------------------

READY = {"nn": "så kursbeviset kan kome tidlegast {when}.",
         "nb": "så kursbeviset kan komme tidligst {when}.",
         "en": "so the certificate can come at the earliest on {when}."}
NOT_VALID = {"nn": "Kursbeviset er ikkje gyldig", "nb": "Kursbeviset er ikke gyldig",
             "en": "The certificate is not valid"}


def mark_present(app, enrollment_id: int, marked_at: datetime | None = None) -> None:
    """Present at every session of the offering, marked at ``marked_at`` (default: now)."""
    with session_scope(engine_of(app)) as session:
        for course_session in session.get(Enrollment, enrollment_id).offering.sessions:
            session.add(Attendance(enrollment_id=enrollment_id, session_id=course_session.id,
                                   present=True, marked_at=marked_at or datetime.now(UTC)))


@pytest.mark.parametrize("lang", ["nn", "nb", "en"])
def test_no_certificate_until_the_last_counted_day_has_ended(
        app, client, make_offering, make_staff, login, lang):
    # Two days: yesterday's has ended; today's began an hour ago and ends in five hours.
    now = datetime.now(UTC)
    offering = course(make_offering, first_day=now - timedelta(days=1, hours=1),
                      session_hours=(0, 6))
    enrollment_id, token = enroll(app, offering.id, "Åse Ødegård", locale=lang)
    mark_present(app, enrollment_id)
    with session_scope(engine_of(app)) as session:
        last_end = session.get(CourseOffering, offering.id).sessions[-1].ends_at
    client.get(f"/lang/{lang}")

    manage = text_of(client.get(f"/manage/{token}"))
    assert READY[lang].format(when=format_moment(last_end, lang)) in manage
    assert 'action="/manage/' + token + '/certificate"' not in manage
    assert download(client, token).status_code == 404

    make_staff(locale=lang)
    login()
    client.get(f"/lang/{lang}")
    url = f"/staff/enrollments/{enrollment_id}/certificate/issue"
    assert 'name="reason"' not in text_of(client.get(url))
    refused = client.post(url, data={"reason": "Present both days"})
    assert refused.status_code == 409
    printed = client.get(f"/staff/courses/{offering.id}/certificates.pdf")
    assert printed.status_code == 302
    assert certificates_of(app, enrollment_id) == []
    assert audit_actions(app) == []

    # Once the last day is over, the certificate comes, dated no earlier than that day.
    with app.app_context(), session_scope(engine_of(app)) as session:
        certificate = certs.issue(session, enrollment_id, now=last_end)
        assert certificate.snapshot["attended"] == 2
        assert date.fromisoformat(certificate.snapshot["issued_on"]) >= last_end.date()
        assert rules.breaches(certificate) == ()


def test_present_marks_on_days_not_ended_do_not_count_in_the_service(app, make_offering):
    now = datetime.now(UTC)
    offering = course(make_offering, kind="group_guidance", days=4, min_share_percent=75,
                      first_day=now - timedelta(days=2, hours=1), session_hours=(0, 6))
    enrollment_id, _token = enroll(app, offering.id, "Máret Čuđđá Ŋŧž")
    mark_present(app, enrollment_id)
    with session_scope(engine_of(app)) as session:
        enrollment = session.get(Enrollment, enrollment_id)
        done = completion_rule.completion(session, enrollment, now)
        # Two meetings ended, one under way, one tomorrow: 2 of the 3 needed count.
        assert (done.attended, len(done.pending_sessions), done.required) == (2, 2, 3)
        assert not done.met
        assert done.ready_at == enrollment.offering.sessions[2].ends_at
        with pytest.raises(errors.NotCompleted):
            certs.issue(session, enrollment_id, now=now)


def plant_certificate(app, enrollment_id: int, issued_at: datetime, *, present: int | None = None,
                      manual_reason: str = "", revoked: bool = False) -> Certificate:
    """A certificate as the code before the time rules issued it: the snapshot counts every
    present mark, whether or not its session had ended, and lacks the required count and the
    course's end. Present at the first ``present`` sessions (all by default)."""
    with session_scope(engine_of(app)) as session:
        enrollment = session.get(Enrollment, enrollment_id)
        sessions = enrollment.offering.sessions
        ids = [s.id for s in sessions[:len(sessions) if present is None else present]]
        for s in sessions:
            session.add(Attendance(enrollment_id=enrollment_id, session_id=s.id,
                                   present=s.id in ids, marked_at=issued_at))
        done = completion_rule.completion_from(enrollment, ids,
                                               now=datetime(2100, 1, 1, tzinfo=UTC))
        snapshot = certs.take_snapshot(enrollment, done, issued_at)
        del snapshot["required"], snapshot["course_ends_at"]
        certificate = Certificate(
            enrollment_id=enrollment_id, code=codes.new_code(), locale="nn",
            issued_at=issued_at, manual_reason=manual_reason, snapshot=snapshot,
            revoked_at=issued_at if revoked else None,
            revoked_reason="Planted" if revoked else "")
        session.add(certificate)
        session.flush()
        session.expunge(certificate)
        return certificate


@pytest.mark.parametrize("lang", ["nn", "nb", "en"])
def test_verify_never_shows_a_certificate_issued_before_its_days_as_valid(
        app, client, make_offering, make_staff, login, lang):
    # The case of the issue: issued today for a course held months ahead.
    offering = course(make_offering, first_day=datetime.now(UTC) + timedelta(days=130))
    enrollment_id, token = enroll(app, offering.id, "Åse Ødegård", locale=lang)
    certificate = plant_certificate(app, enrollment_id, datetime.now(UTC))
    client.get(f"/lang/{lang}")

    response = client.get(f"/verify/{certificate.code}")

    assert response.status_code == 200
    main = text_of(response)[text_of(response).index("<main"):]
    assert NOT_VALID[lang] in main
    assert "Åse Ødegård" not in main
    assert {"nn": "Kursbeviset er gyldig", "nb": "Kursbeviset er gyldig",
            "en": "The certificate is valid"}[lang] not in main
    # Neither the participant's download nor the staff's printing hands it out.
    assert download(client, token).status_code == 404
    assert '/certificate"' not in text_of(client.get(f"/manage/{token}"))
    make_staff()
    login()
    assert "Certificate not valid: issue it again or revoke it" in text_of(
        client.get(f"/staff/courses/{offering.id}/participants"))
    assert client.get(f"/staff/courses/{offering.id}/certificates.pdf").status_code == 302
    (unchanged,) = certificates_of(app, enrollment_id)
    assert unchanged.revoked_at is None


# --- the audit command --------------------------------------------------------------------------


def test_audit_command_lists_exactly_the_planted_bad_certificates_and_early_marks(
        app, client, runner, make_offering):
    now = datetime.now(UTC)
    held = course(make_offering, days=2, first_day=now - timedelta(days=30))
    ahead = course(make_offering, days=2, first_day=now + timedelta(days=60))
    guidance = course(make_offering, kind="group_guidance", days=4, min_share_percent=75,
                      first_day=now - timedelta(days=30))
    other_county = course(make_offering, county="rogaland", first_day=now + timedelta(days=60))
    with session_scope(engine_of(app)) as session:
        start = {o.id: session.get(CourseOffering, o.id).sessions[0].starts_at
                 for o in (held, ahead, guidance, other_county)}

    def person(offering, name):
        return enroll(app, offering.id, name)[0]

    # Bad: issued before its days (the issue's case), automatically and by hand.
    early = plant_certificate(app, person(ahead, "Early Auto"), now)
    early_hand = plant_certificate(app, person(ahead, "Early Hand"), now, present=1,
                                   manual_reason="Ill on day two")
    # Bad: issued automatically though 2 of the 3 required meetings were attended.
    short = plant_certificate(app, person(guidance, "Short Share"),
                              start[guidance.id] + timedelta(days=10), present=2)
    # Bad, but in Rogaland: left out with --county vestland.
    elsewhere = plant_certificate(app, person(other_county, "Other County"), now)
    # Good: after the days ended; by hand after the course ended; bad but revoked already.
    plant_certificate(app, person(held, "Valid Auto"), now)
    plant_certificate(app, person(held, "Valid Hand"), now, present=1, manual_reason="Sick")
    plant_certificate(app, person(ahead, "Already Revoked"), now, revoked=True)
    # A valid certificate issued through the service.
    valid = person(held, "Through Service")
    mark_present(app, valid)
    with app.app_context(), session_scope(engine_of(app)) as session:
        certs.issue(session, valid, now=now)
    # Attendance: one mark recorded a day before its session began.
    early_mark_enrollment = person(ahead, "Marked Ahead")
    with session_scope(engine_of(app)) as session:
        first_ahead = session.get(CourseOffering, ahead.id).sessions[0]
        session.add(Attendance(enrollment_id=early_mark_enrollment,
                               session_id=first_ahead.id, present=False,
                               marked_at=first_ahead.starts_at - timedelta(days=1)))
    with session_scope(engine_of(app)) as session:
        before = (session.scalar(sa.select(sa.func.count()).select_from(Attendance)),
                  [(c.id, c.revoked_at, c.issued_at) for c in session.scalars(
                      sa.select(Certificate).order_by(Certificate.id))])

    result = runner.invoke(args=["certificates", "audit"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    listed = [line.split("\t") for line in lines if line.startswith("certificate ")]
    printed = {line[0].removeprefix("certificate ") for line in listed}
    assert printed == {codes.display_code(c.code) for c in (early, early_hand, short, elsewhere)}
    why = {line[1]: line[-1] for line in listed}
    assert why["Early Auto"] == ("issued before the end of the last session it counts; "
                                 "completion rule not met by ended sessions with present marks")
    assert why["Early Hand"] == "issued before the end of the last session it counts"
    assert why["Short Share"] == "completion rule not met by ended sessions with present marks"
    by_name = {line[1]: line for line in listed}
    assert by_name["Other County"][3] == "rogaland"
    assert by_name["Early Auto"][2] == TITLES["nn"]
    assert "by hand" in by_name["Early Hand"][4]
    # Early marks: the one planted, and those the old code wrote with the early certificates
    # (every mark on the courses ahead, revoked certificate or not); none on courses held.
    with session_scope(engine_of(app)) as session:
        expected = set(session.execute(
            sa.select(Attendance.enrollment_id, Attendance.session_id).join(Attendance.session)
            .where(CourseSession.offering_id.in_([ahead.id, other_county.id]))).all())
    marks = [line for line in lines if line.startswith("attendance ")]
    found = {tuple(int(n) for n in re.match(r"attendance enrollment (\d+) session (\d+)\t",
                                            line).groups()) for line in marks}
    assert found == expected
    assert (early_mark_enrollment, first_ahead.id) in found
    assert len(expected) == 9
    assert all(line.endswith("recorded before the session began") for line in marks)
    assert "Certificates breaking the rules: 4" in lines
    assert "Attendance marks recorded before their session began: 9" in lines

    only = runner.invoke(args=["certificates", "audit", "--county", "vestland"])
    assert "Other County" not in only.output
    assert "Certificates breaking the rules: 3" in only.output
    assert "Attendance marks recorded before their session began: 7" in only.output
    nowhere = runner.invoke(args=["certificates", "audit", "--county", "atlantis"])
    assert nowhere.exit_code != 0
    assert "no county 'atlantis'" in nowhere.output

    # The audit changes nothing.
    with session_scope(engine_of(app)) as session:
        after = (session.scalar(sa.select(sa.func.count()).select_from(Attendance)),
                 [(c.id, c.revoked_at, c.issued_at) for c in session.scalars(
                     sa.select(Certificate).order_by(Certificate.id))])
    assert after == before
    assert audit_actions(app) == []


# --- the plugin switched off ------------------------------------------------------------------


def test_without_the_certificates_plugin_no_page_offers_or_answers_for_certificates(
        app, app_config, client, make_offering, make_staff):
    offering = course(make_offering)
    enrollment_id, token = enroll(app, offering.id, "Åse Ødegård")
    attend(app, enrollment_id)
    make_staff()
    alone = create_app({**app_config, "PLUGINS": ["enrollment"]})
    own = alone.test_client()
    staff = alone.test_client()
    try:
        staff_login(alone, staff)
        own.get("/lang/en")
        manage = text_of(own.get(f"/manage/{token}"))
        participants = text_of(staff.get(f"/staff/courses/{offering.id}/participants"))
        with alone.app_context():
            email = links.find_by_token(get_session(), token).participant.email
        exported = export_by_mail(alone, own, token, email)
        assert exported.status_code == 200
        document = exported.get_json()
        missing = [own.get(url).status_code for url in (
            "/verify", f"/manage/{token}/certificate.pdf",
            f"/staff/enrollments/{enrollment_id}/certificate/issue")]
        demo = alone.test_cli_runner().invoke(args=["seed-demo"])
        audit = alone.test_cli_runner().invoke(args=["certificates", "audit"])

        assert "Your enrollment" in manage
        assert "certificate" not in manage.lower()
        assert "Åse Ødegård" in participants
        assert "certificate" not in participants.lower()
        assert "certificates" not in document["tables"]
        assert missing == [404, 404, 404]
        assert demo.exit_code == 0, demo.output
        assert audit.exit_code != 0
        assert "No such command" in audit.output
        with session_scope(engine_of(alone)) as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(Certificate)) == 0
            assert session.scalar(sa.select(sa.func.count()).select_from(Attendance)) > 2
    finally:
        alone.extensions["kp_engine"].dispose()

    # The same enrollment, with the plugin on, has its certificate section and download.
    client.get("/lang/en")
    assert "Download certificate of attendance" in text_of(client.get(f"/manage/{token}"))
    assert download(client, token).status_code == 200
    assert len(certificates_of(app, enrollment_id)) == 1
