"""PDFs: bundled, embedded fonts only; user text escaped; every name readable by text extraction.

The builder tests need no database; the download test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_babel import lazy_gettext
from pypdf import PdfReader
from reportlab.pdfgen.canvas import Canvas

from core import pdf
from core.db import session_scope
from enrollment.models import (
    CourseOffering,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    ManageLink,
    Participant,
    Role,
)
from enrollment.signin_sheet import SignInLabels, SignInRow, SignInSheet, build_sign_in_sheet
from tests.conftest import require

NAMES = ["Åse Ødegård", "Máret Čuđđá", "Ŋŧž Šđč", "Áŋŋe Čuđđá-Šiššiččiŧž", "Ærlige Æsa Øvrebø",
         "Tom & <Jerry>"]
BASE14 = ("Helvetica", "Times", "Courier", "Symbol", "ZapfDingbats")
LABELS = SignInLabels(heading="Signeringsliste", name="Namn", employer="Arbeidsgjevar",
                      signature="Signatur", page="Side %(current)s av %(total)s",
                      printed="Skrive ut 21. november 2026")


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        require(f"{name} (poppler-utils) is not installed")
    return path


def pdftotext(data: bytes) -> str:
    return subprocess.run([tool("pdftotext"), "-enc", "UTF-8", "-", "-"], input=data,
                          capture_output=True, check=True).stdout.decode()


def pdffonts(data: bytes) -> list[dict[str, str]]:
    """pdffonts' table as dicts (name, emb)."""
    out = subprocess.run([tool("pdffonts"), "-"], input=data, capture_output=True,
                         check=True).stdout.decode()
    rows = []
    for line in out.splitlines()[2:]:
        # name type... encoding emb sub uni object-id generation: count from the right.
        parts = line.split()
        rows.append({"name": parts[0], "emb": parts[-5], "sub": parts[-4], "uni": parts[-3]})
    return rows


def pypdf_text(data: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def assert_only_embedded_bundled_fonts(data: bytes) -> None:
    fonts = pdffonts(data)
    assert fonts, "the PDF lists no fonts"
    for font in fonts:
        assert font["emb"] == "yes", font
        assert font["uni"] == "yes", font
        assert not any(base in font["name"] for base in BASE14), font
        assert "DejaVuSans" in font["name"], font
    raw_fonts = [str(f) for page in PdfReader(io.BytesIO(data)).pages
                 for f in (page["/Resources"].get("/Font") or {}).values()]
    assert raw_fonts


def sheet(rows=(), **values) -> SignInSheet:
    defaults = dict(office="Statsforvaltaren i Vestland", course_title="Kurs i offentleg "
                    "helsearbeid", when="tysdag 3. mars 2026, 09:00–15:00", place="Bergen",
                    labels=LABELS, rows=tuple(rows), lang="nn")
    defaults.update(values)
    return SignInSheet(**defaults)


# --- core.pdf -----------------------------------------------------------------------------------


def test_escape_text_makes_user_text_safe_for_paragraphs():
    assert pdf.escape_text("Tom & <b>Jerry</b>") == "Tom &amp; &lt;b&gt;Jerry&lt;/b&gt;"
    assert pdf.escape_text(None) == ""
    assert pdf.escape_text("a\x00b\x0bc\nd") == "abc\nd"
    assert pdf.escape_text(42) == "42"


def test_escape_text_turns_lazy_strings_into_str(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        value = pdf.escape_text(lazy_gettext("Name"))
    assert type(value) is str
    assert value == "Name"


def test_every_style_uses_the_bundled_fonts():
    styles = pdf.stylesheet()
    for name in ("Normal", "Small", "Title", "Heading1", "Heading2", "TableHeader", "TableCell"):
        assert styles[name].fontName in (pdf.SANS, pdf.SANS_BOLD), name
        assert styles[name].bulletFontName in (pdf.SANS, pdf.SANS_BOLD), name


def test_a_canvas_drawn_by_hand_embeds_only_the_bundled_font():
    meta = pdf.PdfMetadata(title="Kursbevis", author="Statsforvaltaren i Vestland",
                           subject="Kursbevis", lang="nb")
    buffer = io.BytesIO()
    canv = Canvas(buffer, **meta.canvas_kwargs())
    meta.apply(canv)
    canv.setFont(pdf.SANS, 12)
    canv.drawString(72, 720, "Máret Čuđđá")
    canv.showPage()
    canv.save()
    data = buffer.getvalue()

    assert_only_embedded_bundled_fonts(data)
    reader = PdfReader(io.BytesIO(data))
    assert reader.metadata.title == "Kursbevis"
    assert reader.metadata.author == "Statsforvaltaren i Vestland"
    assert reader.trailer["/Root"]["/Lang"] == "nb"
    assert "Máret Čuđđá" in pdftotext(data)


def test_fit_text_shortens_with_an_ellipsis():
    assert pdf.fit_text("Kort", 200) == "Kort"
    short = pdf.fit_text("Eit svært langt kursnamn " * 10, 100)
    assert short.endswith("…")
    assert pdf.fit_text(short, 100) == short


# --- the sign-in sheet builder ------------------------------------------------------------------


def test_sign_in_sheet_shows_every_name_exactly():
    rows = [SignInRow(name, "Kautokeino kommune") for name in NAMES]

    data = build_sign_in_sheet(sheet(rows))

    assert data.startswith(b"%PDF-")
    for text in (pypdf_text(data), pdftotext(data)):
        for name in NAMES:
            assert name in text
        for letter in "čđŋšŧžČŊŠ":
            assert letter in text
        assert "Signeringsliste" in text
        assert "Kurs i offentleg helsearbeid" in text
        assert "Side 1 av 1" in text
    assert_only_embedded_bundled_fonts(data)


def test_sign_in_sheet_has_metadata_and_language():
    data = build_sign_in_sheet(sheet([SignInRow("Åse Ødegård")]))

    reader = PdfReader(io.BytesIO(data))
    assert reader.metadata.title == ("Signeringsliste: Kurs i offentleg helsearbeid, "
                                     "tysdag 3. mars 2026, 09:00–15:00")
    assert reader.metadata.author == "Statsforvaltaren i Vestland"
    assert reader.trailer["/Root"]["/Lang"] == "nn"


def test_long_sign_in_sheet_repeats_header_and_counts_pages():
    rows = [SignInRow(f"Deltakar {i:02d} Čuđđá", "Tromsø kommune") for i in range(60)]

    data = build_sign_in_sheet(sheet(rows))

    reader = PdfReader(io.BytesIO(data))
    pages = len(reader.pages)
    assert pages >= 3
    texts = [p.extract_text() for p in reader.pages]
    for number, text in enumerate(texts, start=1):
        assert f"Side {number} av {pages}" in text
        assert "Namn" in text
        assert "Signatur" in text
    assert all(f"Deltakar {i:02d} Čuđđá" in "\n".join(texts) for i in range(60))


def test_empty_sign_in_sheet_still_has_lines_to_sign():
    data = build_sign_in_sheet(sheet([], blank_rows=5))
    assert "Namn" in pdftotext(data)
    assert_only_embedded_bundled_fonts(data)


# --- the download -------------------------------------------------------------------------------


def test_staff_download_sign_in_sheet_with_confirmed_participants_only(
        app, client, make_offering, make_staff, login, now):
    offering = make_offering(first_day=(now + timedelta(days=3)).replace(
        hour=0, minute=0, second=0, microsecond=0))
    with session_scope(app.extensions["kp_engine"]) as session:
        row = session.get(CourseOffering, offering.id)
        people = [(name, EnrollmentStatus.CONFIRMED) for name in NAMES]
        people.append(("Walter Waiting", EnrollmentStatus.WAITLISTED))
        for i, (name, status) in enumerate(people):
            participant = Participant(full_name=name, email=f"p{i}@example.org", role=Role.LIS1,
                                      employer=f"Arbeidsgjevar {i}")
            session.add(Enrollment(offering=row, participant=participant, status=status,
                                   manage_links=[ManageLink(token_hash=f"hash-{i}")]))
        row.seats_taken = len(NAMES)
        day = session.scalar(sa.select(CourseSession.id).where(
            CourseSession.offering_id == offering.id).order_by(CourseSession.starts_at))
    make_staff()
    login()

    response = client.get(f"/staff/sessions/{day}/sign-in.pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    assert "sign-in-" in response.headers["Content-Disposition"]
    data = response.data
    for text in (pypdf_text(data), pdftotext(data)):
        for i, name in enumerate(NAMES):
            assert name in text
            assert f"Arbeidsgjevar {i}" in text
        assert "Walter Waiting" not in text
        assert "Sign-in sheet" in text
        assert "Test course" in text
        assert "Page 1 of 1" in text
    assert_only_embedded_bundled_fonts(data)
    assert PdfReader(io.BytesIO(data)).trailer["/Root"]["/Lang"] == "en"


@pytest.mark.parametrize("lang", ["nn", "nb"])
def test_sign_in_sheet_is_in_the_staff_members_language(app, client, make_offering, make_staff,
                                                        login, lang):
    offering = make_offering()
    with session_scope(app.extensions["kp_engine"]) as session:
        day = session.scalar(sa.select(CourseSession.id).where(
            CourseSession.offering_id == offering.id).order_by(CourseSession.starts_at))
    make_staff()
    login()
    client.get(f"/lang/{lang}")

    data = client.get(f"/staff/sessions/{day}/sign-in.pdf").data

    assert PdfReader(io.BytesIO(data)).trailer["/Root"]["/Lang"] == lang
    assert "Testkurs" in pdftotext(data)
    assert_only_embedded_bundled_fonts(data)
