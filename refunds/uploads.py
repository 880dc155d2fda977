"""Receipt uploads: only real PDF, JPEG and PNG files, checked from their bytes.

The type is sniffed from the magic bytes, never taken from the name or the browser. Each format
is walked far enough to know it is whole (PNG to its IEND chunk, JPEG to its end marker, PDF to
a final ``%%EOF``), that it is not also a ZIP archive, that an image's pixel count is sane (a
small file can claim 50,000 × 50,000 pixels and exhaust the memory of whoever decodes it), and
that a PDF carries no scripts, launch actions or embedded files. The stream is read in chunks
and never beyond the size limit plus one byte. The original file name is kept for display only,
sanitised, and never used as a path.

Every refusal raises ``ReceiptRefused`` with a ``code`` the web layer turns into a message.
"""

from __future__ import annotations

import hashlib
import re
import struct
import unicodedata
import zlib
from dataclasses import dataclass
from typing import Protocol

MAX_RECEIPT_BYTES = 10 * 1024 * 1024
MAX_SIDE = 12_000
MAX_PIXELS = 80_000_000
MAX_NAME_LENGTH = 120
CHUNK_SIZE = 64 * 1024
# How much a PDF's object streams may inflate to while we look inside them.
MAX_INFLATED_BYTES = 32 * 1024 * 1024
# Where a PDF's final %%EOF must be: readers look in the last kilobyte.
PDF_EOF_WINDOW = 1024

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
CONTENT_TYPES = (PDF, JPEG, PNG)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Start-of-frame markers that carry the image size (not DHT C4, JPG C8 or DAC CC).
_JPEG_SOF = frozenset({*range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC),
                       *range(0xCD, 0xD0)})
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})

# PDF names that run code, open other programs or carry files.
PDF_ACTIVE_NAMES = frozenset({
    b"JavaScript", b"JS", b"Launch", b"EmbeddedFile", b"EmbeddedFiles", b"RichMedia",
    b"SubmitForm", b"ImportData", b"GoToE",
})
_PDF_NAME = re.compile(rb"/([^\x00\t\n\f\r /<>\[\]\(\){}%]*)")
_PDF_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_PDF_STREAM = re.compile(rb"(?<!end)stream(?:\r\n|\n)")
_PDF_OTHER_FILTERS = frozenset({
    b"ASCIIHexDecode", b"ASCII85Decode", b"LZWDecode", b"RunLengthDecode", b"Crypt",
    b"AHx", b"A85", b"LZW", b"RL",
})

_ZIP_END_OF_CENTRAL_DIRECTORY = b"PK\x05\x06"
_ZIP_LOCAL_HEADER = b"PK\x03\x04"
_BAD_NAME_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


class ReceiptRefused(Exception):
    """An upload is refused; ``code`` says why.

    Codes: ``empty``, ``too_large``, ``bad_name``, ``unknown_type``, ``polyglot``,
    ``truncated``, ``corrupt``, ``too_many_pixels``, ``pdf_active_content``,
    ``pdf_unreadable``.
    """

    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


class Readable(Protocol):
    """Anything with ``read(n)``: a file, ``werkzeug.FileStorage.stream``, ``io.BytesIO``."""

    def read(self, size: int = -1, /) -> bytes:  # noqa: D102
        ...


@dataclass(frozen=True)
class CheckedReceipt:
    """An upload that passed every check, ready to store."""

    data: bytes
    content_type: str
    sha256: str
    size: int
    original_name: str
    width: int | None = None
    height: int | None = None


# --- names -------------------------------------------------------------------------------------


def safe_display_name(raw: str | None) -> str:
    """A file name fit to show: no directories, control or direction characters, at most
    ``MAX_NAME_LENGTH`` characters (the extension kept). Empty when nothing is left."""
    name = unicodedata.normalize("NFC", raw or "")
    name = "".join(c for c in name if unicodedata.category(c) not in _BAD_NAME_CATEGORIES)
    name = re.split(r"[\\/]", name)[-1]
    name = " ".join(name.split()).lstrip(". ")
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = f"{stem[: MAX_NAME_LENGTH - len(ext) - 1]}.{ext}"
        else:
            name = name[:MAX_NAME_LENGTH]
    return name


def check_name(raw: str | None) -> str:
    """The display name for ``raw``; refuses names built to mislead (``bad_name``).

    Directory parts alone are stripped (old browsers send ``C:\\fakepath\\x.pdf``), but a name
    with ``..`` segments, NUL, control characters or text-direction overrides is refused.
    """
    raw = raw or ""
    if any(unicodedata.category(c) in _BAD_NAME_CATEGORIES for c in raw):
        raise ReceiptRefused("bad_name", "control character")
    if any(part.strip() == ".." for part in re.split(r"[\\/]", raw)):
        raise ReceiptRefused("bad_name", "parent directory")
    return safe_display_name(raw)


# --- reading -----------------------------------------------------------------------------------


def read_limited(stream: Readable, limit: int = MAX_RECEIPT_BYTES) -> bytes:
    """Read ``stream`` in chunks; refuse (``too_large``) once it passes ``limit`` bytes.

    Never asks the stream for more than ``limit + 1`` bytes in all.
    """
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = stream.read(min(CHUNK_SIZE, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total > limit:
        raise ReceiptRefused("too_large")
    return b"".join(chunks)


# --- formats -----------------------------------------------------------------------------------


def sniff(data: bytes) -> str | None:
    """The content type the magic bytes at offset 0 announce, if it is one we accept."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(PNG_SIGNATURE):
        return PNG
    return None


def _has_zip_directory(data: bytes) -> bool:
    """Whether a ZIP end-of-central-directory record ends the file, as ZIP readers look for."""
    start = max(0, len(data) - (22 + 0xFFFF))
    pos = data.rfind(_ZIP_END_OF_CENTRAL_DIRECTORY, start)
    while pos >= 0:
        if pos + 22 <= len(data):
            comment_length = int.from_bytes(data[pos + 20 : pos + 22], "little")
            if pos + 22 + comment_length == len(data):
                return True
        pos = data.rfind(_ZIP_END_OF_CENTRAL_DIRECTORY, start, pos)
    return False


def _check_dimensions(width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise ReceiptRefused("corrupt", "zero image size")
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise ReceiptRefused("too_many_pixels", f"{width}×{height}")


def _check_png(data: bytes) -> tuple[int, int]:
    """Walk the chunks to IEND, checking each CRC; returns (width, height)."""
    pos = len(PNG_SIGNATURE)
    width = height = 0
    seen_idat = False
    first = True
    while True:
        if pos + 8 > len(data):
            raise ReceiptRefused("truncated", "PNG without IEND")
        length, chunk_type = struct.unpack(">I4s", data[pos : pos + 8])
        if length > 0x7FFFFFFF or not chunk_type.isalpha():
            raise ReceiptRefused("corrupt", "bad PNG chunk")
        end = pos + 12 + length
        if end > len(data):
            raise ReceiptRefused("truncated", "PNG chunk cut short")
        body = data[pos + 8 : pos + 8 + length]
        if first:
            if chunk_type != b"IHDR" or length != 13:
                raise ReceiptRefused("corrupt", "PNG without IHDR")
            width, height = struct.unpack(">II", body[:8])
            _check_dimensions(width, height)
            first = False
        if zlib.crc32(chunk_type + body) != int.from_bytes(data[end - 4 : end], "big"):
            raise ReceiptRefused("corrupt", "PNG CRC mismatch")
        if chunk_type == b"IDAT":
            seen_idat = True
        elif chunk_type == b"IEND":
            if end != len(data):
                raise ReceiptRefused("polyglot", "data after PNG IEND")
            if not seen_idat:
                raise ReceiptRefused("corrupt", "PNG without image data")
            return width, height
        pos = end


def _check_jpeg(data: bytes) -> tuple[int, int]:
    """Walk the markers to the first scan, reading the size from the SOF; then check EOI."""
    pos = 2
    size: tuple[int, int] | None = None
    while True:
        if pos >= len(data):
            raise ReceiptRefused("truncated", "JPEG headers cut short")
        if data[pos] != 0xFF:
            raise ReceiptRefused("corrupt", "JPEG marker expected")
        while pos < len(data) and data[pos] == 0xFF:
            pos += 1
        if pos >= len(data):
            raise ReceiptRefused("truncated", "JPEG headers cut short")
        marker = data[pos]
        pos += 1
        if marker in _JPEG_STANDALONE:
            continue
        if marker == 0xD9:
            raise ReceiptRefused("corrupt", "JPEG ends before its image")
        if pos + 2 > len(data):
            raise ReceiptRefused("truncated", "JPEG segment cut short")
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2:
            raise ReceiptRefused("corrupt", "bad JPEG segment")
        if pos + length > len(data):
            raise ReceiptRefused("truncated", "JPEG segment cut short")
        if marker in _JPEG_SOF:
            if length < 8:
                raise ReceiptRefused("corrupt", "short JPEG frame header")
            height, width = struct.unpack(">HH", data[pos + 3 : pos + 7])
            _check_dimensions(width, height)
            size = (width, height)
        if marker == 0xDA:
            break
        pos += length
    if size is None:
        raise ReceiptRefused("corrupt", "JPEG without frame header")
    # Inside the scan a 0xFF byte is always followed by 0x00 or a restart marker, so the first
    # FF D9 after the scan header is the end of the image.
    end = data.find(b"\xff\xd9", pos)
    if end < 0:
        raise ReceiptRefused("truncated", "JPEG without end marker")
    # Some phones append their own metadata after the image; a ZIP there is a polyglot.
    if _ZIP_LOCAL_HEADER in data[end + 2 :]:
        raise ReceiptRefused("polyglot", "ZIP data after the JPEG")
    return size


def _pdf_names(chunk: bytes) -> set[bytes]:
    """Every /Name in ``chunk``, with #xx escapes decoded (``/J#61vaScript`` is JavaScript)."""
    return {
        _PDF_NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), m.group(1))
        for m in _PDF_NAME.finditer(chunk)
    }


def _pdf_object_streams(data: bytes):
    """The inflated contents of each object stream, where dictionaries can hide compressed.

    Refuses (``pdf_unreadable``) one it cannot inflate, e.g. because the file is encrypted,
    or one that inflates beyond ``MAX_INFLATED_BYTES`` in all.
    """
    budget = MAX_INFLATED_BYTES
    for match in _PDF_STREAM.finditer(data):
        head_start = data.rfind(b"obj", max(0, match.start() - 8192), match.start())
        if head_start < 0:
            continue
        names = _pdf_names(data[head_start : match.start()])
        if b"ObjStm" not in names:
            continue
        end = data.find(b"endstream", match.end())
        if end < 0:
            raise ReceiptRefused("truncated", "PDF stream without end")
        inflatable = b"FlateDecode" in names or b"Fl" in names
        if not inflatable or names & _PDF_OTHER_FILTERS:
            raise ReceiptRefused("pdf_unreadable", "object stream we cannot inflate")
        inflater = zlib.decompressobj()
        try:
            content = inflater.decompress(data[match.end() : end], budget)
        except zlib.error as exc:
            raise ReceiptRefused("pdf_unreadable", "object stream does not inflate") from exc
        if inflater.unconsumed_tail:
            raise ReceiptRefused("pdf_unreadable", "object streams inflate too far")
        budget -= len(content)
        yield content


def _check_pdf(data: bytes) -> None:
    """A final %%EOF, and no active content in the file or its object streams."""
    if b"%%EOF" not in data[-PDF_EOF_WINDOW:]:
        raise ReceiptRefused("truncated", "PDF without %%EOF")
    if _pdf_names(data) & PDF_ACTIVE_NAMES:
        raise ReceiptRefused("pdf_active_content")
    for content in _pdf_object_streams(data):
        if _pdf_names(content) & PDF_ACTIVE_NAMES:
            raise ReceiptRefused("pdf_active_content", "in an object stream")


def check_content(data: bytes) -> tuple[str, int | None, int | None]:
    """Check the bytes of an upload; returns (content type, width, height)."""
    if not data:
        raise ReceiptRefused("empty")
    content_type = sniff(data)
    if content_type is None:
        raise ReceiptRefused("unknown_type")
    if _has_zip_directory(data) or data.startswith(_ZIP_LOCAL_HEADER):
        raise ReceiptRefused("polyglot", "also a ZIP archive")
    if content_type == PNG:
        return (PNG, *_check_png(data))
    if content_type == JPEG:
        return (JPEG, *_check_jpeg(data))
    _check_pdf(data)
    return PDF, None, None


def check_receipt(data: bytes, original_name: str | None) -> CheckedReceipt:
    """Check bytes already in memory (at most ``MAX_RECEIPT_BYTES``) and a name."""
    name = check_name(original_name)
    if len(data) > MAX_RECEIPT_BYTES:
        raise ReceiptRefused("too_large")
    content_type, width, height = check_content(data)
    return CheckedReceipt(
        data=data, content_type=content_type, sha256=hashlib.sha256(data).hexdigest(),
        size=len(data), original_name=name, width=width, height=height,
    )


def read_receipt(
    stream: Readable, original_name: str | None, *, limit: int = MAX_RECEIPT_BYTES
) -> CheckedReceipt:
    """Read an upload from ``stream`` within ``limit`` and check it; the name is checked first,
    so a refused name costs no reading."""
    name = check_name(original_name)
    data = read_limited(stream, limit)
    content_type, width, height = check_content(data)
    return CheckedReceipt(
        data=data, content_type=content_type, sha256=hashlib.sha256(data).hexdigest(),
        size=len(data), original_name=name, width=width, height=height,
    )
