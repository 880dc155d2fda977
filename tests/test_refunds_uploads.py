"""Receipt uploads: a corpus of hostile files, each refused with its code and nothing stored;
real PDF, PNG and JPEG files accepted and read back from the database byte for byte."""

from __future__ import annotations

import hashlib
import io
import struct
import unicodedata
import zipfile
import zlib

import pytest
import sqlalchemy as sa
from reportlab.pdfgen import canvas

from core.db import session_scope
from refunds import services
from refunds.models import Receipt
from refunds.queries import receipt_select
from refunds.uploads import (
    MAX_NAME_LENGTH,
    MAX_RECEIPT_BYTES,
    ReceiptRefused,
    check_receipt,
    read_limited,
    read_receipt,
    safe_display_name,
)
from tests.refunds_factories import (
    IN_WINDOW,
    draft_claim,
    engine_of,
    load_rates,
    make_enrollment,
)

# --- builders ----------------------------------------------------------------------------------


def _chunk(kind: bytes, body: bytes, crc: int | None = None) -> bytes:
    crc = zlib.crc32(kind + body) if crc is None else crc
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def png(width: int = 3, height: int = 2, *, iend: bool = True, bad_crc: bool = False) -> bytes:
    """A real 8-bit greyscale PNG (pixels only built for small sizes)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = b"".join(b"\x00" + bytes(range(width)) for _ in range(height)) \
        if width * height <= 10_000 else b"\x00"
    idat = zlib.compress(pixels)
    data = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
    data += _chunk(b"IDAT", idat, crc=0xDEADBEEF if bad_crc else None)
    return data + (_chunk(b"IEND", b"") if iend else b"")


def jpeg(width: int = 640, height: int = 480) -> bytes:
    """A JPEG's marker structure: SOI, APP0, DQT, SOF0, SOS, scan data, EOI."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    dqt = b"\xff\xdb" + struct.pack(">H", 67) + b"\x00" + bytes(range(1, 65))
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    sos = b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x00\x00\x3f\x00"
    return b"\xff\xd8" + app0 + dqt + sof + sos + b"\x12\x34\x56\xff\x00\x78" + b"\xff\xd9"


def real_pdf() -> bytes:
    """A receipt as reportlab writes it."""
    out = io.BytesIO()
    pdf = canvas.Canvas(out)
    pdf.drawString(72, 720, "Kvittering: Bergen parkering 120,00 kr")
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def pdf(*objects: bytes, tail: bytes = b"%%EOF\n") -> bytes:
    """A small hand-written PDF with extra objects."""
    body = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    body += b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
    for number, obj in enumerate(objects, start=3):
        body += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    return body + b"trailer\n<< /Root 1 0 R >>\n" + tail


def object_stream(content: bytes, *, compress: bool = True) -> bytes:
    data = zlib.compress(content) if compress else b"\x8f" * 40
    return (b"<< /Type /ObjStm /N 1 /First 5 /Filter /FlateDecode /Length %d >>\nstream\n"
            % len(data) + data + b"\nendstream")


def zip_archive(comment: bytes = b"") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("payload.html", "<script>alert(1)</script>")
        archive.comment = comment
    return out.getvalue()


# --- the hostile corpus ------------------------------------------------------------------------

HOSTILE = {
    "empty": (b"", "empty"),
    "html_named_pdf": (b"<!DOCTYPE html><html><script>alert(1)</script></html>",
                       "unknown_type"),
    "html_with_pdf_magic_later": (b"<html>\n%PDF-1.4\n<script>x()</script>%%EOF",
                                  "unknown_type"),
    "pdf_magic_after_whitespace": (b"\n\n%PDF-1.4\n%%EOF\n", "unknown_type"),
    "svg_with_script": (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script>'
                        b"</svg>", "unknown_type"),
    "svg_with_xml_declaration": (b'<?xml version="1.0"?><svg onload="alert(1)"/>',
                                 "unknown_type"),
    "gif": (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "unknown_type"),
    "windows_exe": (b"MZ\x90\x00" + b"\x00" * 60, "unknown_type"),
    "zip": (zip_archive(), "unknown_type"),
    "pdf_javascript": (pdf(b"<< /Type /Action /S /JavaScript /JS (app.alert(1)) >>"),
                       "pdf_active_content"),
    "pdf_js_only": (pdf(b"<< /S /JavaScript >>".replace(b"/S /JavaScript", b"/JS 4 0 R")),
                    "pdf_active_content"),
    "pdf_obfuscated_name": (pdf(b"<< /S /J#61vaScript /JS (x) >>"), "pdf_active_content"),
    "pdf_launch": (pdf(b"<< /Type /Action /S /Launch /F (cmd.exe) >>"), "pdf_active_content"),
    "pdf_embedded_file": (pdf(b"<< /Type /EmbeddedFile /Length 3 >>\nstream\nabc\nendstream"),
                          "pdf_active_content"),
    "pdf_js_in_object_stream": (
        pdf(object_stream(b"4 0 << /S /JavaScript /JS (app.alert(1)) >>")),
        "pdf_active_content"),
    "pdf_unreadable_object_stream": (pdf(object_stream(b"", compress=False)), "pdf_unreadable"),
    "pdf_with_zip_appended": (real_pdf() + zip_archive(), "polyglot"),
    # The ZIP's comment ends the file with %%EOF, so both readers are satisfied.
    "pdf_with_zip_then_eof": (real_pdf() + zip_archive(comment=b"%%EOF\n"), "polyglot"),
    "jpeg_with_zip_appended": (jpeg() + zip_archive(), "polyglot"),
    "jpeg_with_zip_entry_appended": (jpeg() + zip_archive()[:60], "polyglot"),
    "png_with_data_after_iend": (png() + b"<script>alert(1)</script>", "polyglot"),
    "truncated_png": (png()[:40], "truncated"),
    "png_without_iend": (png(iend=False), "truncated"),
    "png_bad_crc": (png(bad_crc=True), "corrupt"),
    "truncated_jpeg": (jpeg()[:-2], "truncated"),
    "jpeg_cut_in_headers": (jpeg()[:30], "truncated"),
    "jpeg_without_frame": (b"\xff\xd8\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00\x12\xff\xd9",
                           "corrupt"),
    "truncated_pdf": (real_pdf()[:-200], "truncated"),
    "pdf_without_eof": (pdf(tail=b""), "truncated"),
    "png_bomb_50000": (png(50_000, 50_000), "too_many_pixels"),
    "png_too_wide": (png(12_001, 1), "too_many_pixels"),
    "png_90_megapixels": (png(10_000, 9_000), "too_many_pixels"),
    "jpeg_bomb_60000": (jpeg(60_000, 60_000), "too_many_pixels"),
    "png_zero_size": (png(0, 5), "corrupt"),
}


def test_the_corpus_is_large_enough():
    assert len(HOSTILE) >= 20


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_file_is_refused_with_its_code(name):
    data, code = HOSTILE[name]
    with pytest.raises(ReceiptRefused) as exc:
        read_receipt(io.BytesIO(data), "kvittering.pdf")
    assert exc.value.code == code


class LazyStream:
    """A stream of ``size`` bytes made up as they are read, counting what was asked for."""

    def __init__(self, size: int, head: bytes = b"%PDF-1.7\n"):
        self.size, self.head, self.position = size, head, 0

    def read(self, n: int = -1) -> bytes:
        assert n >= 0, "the reader must never ask for everything"
        n = min(n, self.size - self.position)
        start = self.position
        self.position += n
        block = (self.head + b"A" * n)[start:start + n] if start < len(self.head) else b"A" * n
        return block


def test_a_50_mb_stream_is_refused_without_reading_it_all():
    stream = LazyStream(50 * 1024 * 1024)
    with pytest.raises(ReceiptRefused) as exc:
        read_receipt(stream, "stor.pdf")
    assert exc.value.code == "too_large"
    assert stream.position <= MAX_RECEIPT_BYTES + 1
    assert stream.position < stream.size


def test_read_limited_stops_at_limit_plus_one_byte():
    stream = LazyStream(1000)
    with pytest.raises(ReceiptRefused):
        read_limited(stream, limit=100)
    assert stream.position == 101
    exact = LazyStream(100)
    assert len(read_limited(exact, limit=100)) == 100


def test_a_refused_name_costs_no_reading():
    stream = LazyStream(1000)
    with pytest.raises(ReceiptRefused) as exc:
        read_receipt(stream, "../../etc/passwd")
    assert exc.value.code == "bad_name"
    assert stream.position == 0


@pytest.mark.parametrize("name", [
    "../../etc/passwd", "..\\..\\windows\\win.ini", "kvittering/../../x.pdf",
    "kvittering\x00.pdf", "kvit\x1b[31mtering.pdf", "line\nbreak.pdf", "tab\t.pdf",
    "faktura\u202efdp.exe", "zero\u200bwidth.pdf", "del\x7f.pdf",
])
def test_names_with_traversal_nul_or_control_characters_are_refused(name):
    with pytest.raises(ReceiptRefused) as exc:
        check_receipt(real_pdf(), name)
    assert exc.value.code == "bad_name"


def test_etc_passwd_content_is_refused_too():
    with pytest.raises(ReceiptRefused):
        read_receipt(io.BytesIO(b"root:x:0:0:root:/root:/bin/bash\n"), "passwd")


@pytest.mark.parametrize(("raw", "shown"), [
    ("C:\\fakepath\\kvittering.pdf", "kvittering.pdf"),
    ("mappe/kvittering.pdf", "kvittering.pdf"),
    (".htaccess", "htaccess"),
    ("  Ferje   Lavik.pdf ", "Ferje Lavik.pdf"),
    ("Kvitteringe\u0301.pdf", "Kvitteringé.pdf"),
    (None, ""),
    ("", ""),
])
def test_display_names_are_sanitised(raw, shown):
    assert safe_display_name(raw) == unicodedata.normalize("NFC", shown)


def test_long_names_are_cut_keeping_the_extension():
    shown = safe_display_name("x" * 500 + ".pdf")
    assert len(shown) == MAX_NAME_LENGTH
    assert shown.endswith(".pdf")


# --- accepted files ----------------------------------------------------------------------------


def test_valid_files_are_accepted_with_their_sniffed_type_and_size():
    pdf_receipt = check_receipt(real_pdf(), "kvittering.PNG")
    assert pdf_receipt.content_type == "application/pdf"
    png_receipt = check_receipt(png(3, 2), "bilde.pdf")
    assert (png_receipt.content_type, png_receipt.width, png_receipt.height) == (
        "image/png", 3, 2)
    jpeg_receipt = check_receipt(jpeg(640, 480), "foto.jpg")
    assert (jpeg_receipt.content_type, jpeg_receipt.width, jpeg_receipt.height) == (
        "image/jpeg", 640, 480)
    big_but_fine = check_receipt(png(8_000, 10_000), "stor.png")
    assert big_but_fine.width == 8_000


def test_a_jpeg_with_a_phone_makers_trailer_is_accepted():
    # Samsung cameras append "SEFH/SEFT" metadata after the end-of-image marker.
    data = jpeg() + b"\x00\x00SEFHdata-of-the-phone\x00SEFT"
    assert check_receipt(data, "foto.jpg").content_type == "image/jpeg"


def test_a_pdf_with_a_harmless_object_stream_is_accepted():
    data = pdf(object_stream(b"4 0 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"))
    assert check_receipt(data, "ok.pdf").content_type == "application/pdf"


def test_the_limit_is_inclusive():
    data = real_pdf()
    assert read_receipt(io.BytesIO(data), "a.pdf", limit=len(data)).size == len(data)
    with pytest.raises(ReceiptRefused):
        read_receipt(io.BytesIO(data), "a.pdf", limit=len(data) - 1)


# --- through the database ----------------------------------------------------------------------


@pytest.fixture
def claim_id(app, make_offering) -> int:
    load_rates(app)
    return draft_claim(app, make_enrollment(app, make_offering))


@pytest.mark.parametrize("builder", [real_pdf, png, jpeg])
def test_valid_receipt_round_trips_byte_for_byte(app, claim_id, builder):
    data = builder()
    with session_scope(engine_of(app)) as session:
        receipt = services.attach_receipt(session, claim_id, io.BytesIO(data),
                                          "C:\\Users\\kari\\kvittering", now=IN_WINDOW)
        receipt_id = receipt.id
    with session_scope(engine_of(app)) as session:
        stored = session.scalar(receipt_select(receipt_id))
        assert stored.data == data
        assert hashlib.sha256(stored.data).hexdigest() == stored.sha256 == hashlib.sha256(
            data).hexdigest()
        assert stored.size == len(data)
        assert stored.original_name == "kvittering"


@pytest.mark.parametrize("name", ["html_named_pdf", "svg_with_script", "png_bomb_50000",
                                  "pdf_javascript", "pdf_with_zip_appended"])
def test_a_refused_upload_stores_nothing(app, claim_id, name):
    data, code = HOSTILE[name]
    with session_scope(engine_of(app)) as session, pytest.raises(ReceiptRefused) as exc:
        services.attach_receipt(session, claim_id, io.BytesIO(data), "x.pdf", now=IN_WINDOW)
    assert exc.value.code == code
    with pytest.raises(ReceiptRefused), session_scope(engine_of(app)) as session:
        services.attach_receipt(session, claim_id, LazyStream(50 * 1024 * 1024), "x.pdf",
                                now=IN_WINDOW)
    with pytest.raises(ReceiptRefused), session_scope(engine_of(app)) as session:
        services.attach_receipt(session, claim_id, io.BytesIO(real_pdf()), "../../etc/passwd",
                                now=IN_WINDOW)
    with session_scope(engine_of(app)) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Receipt)) == 0
