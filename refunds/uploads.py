"""Receipt uploads: only real PDF, JPEG and PNG files, re-written clean before they are stored.

The type is sniffed from the magic bytes, never taken from the name or the browser, and a file
that is also a ZIP archive is refused. The stream is read in chunks and never beyond the size
limit plus one byte. Everything else is done by a maintained parser in a separate process with
CPU, memory and time limits (``core.sandbox``, job ``receipt``, code in ``core.sanitize``): a PDF
is re-written by qpdf without active content, an image decoded and encoded again by Pillow
without metadata, and what is stored is that re-written file. The original's sha256 is kept
for duplicate detection. The original file name is kept for display only, sanitised, and never
used as a path.

Parsing can take seconds, so it runs before the upload's database transaction, never inside it.
Every refusal raises ``ReceiptRefused`` with a ``code`` the web layer turns into a message.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from core import sandbox
from core.filetypes import (
    JPEG,
    MAX_PAGES,
    MAX_PIXELS,
    MAX_SIDE,
    PDF,
    PNG,
    Readable,
    read_within,
    sniff,
)
from refunds.errors import ReceiptRefused

MAX_RECEIPT_BYTES = 10 * 1024 * 1024
MAX_NAME_LENGTH = 120
CONTENT_TYPES = (PDF, JPEG, PNG)
# What the sandbox's ``receipt`` job allows.
RECEIPT_OPTIONS = {"max_pages": MAX_PAGES, "max_pixels": MAX_PIXELS, "max_side": MAX_SIDE}

__all__ = ["CONTENT_TYPES", "JPEG", "MAX_PAGES", "PDF", "PNG", "sniff"]

_ZIP_END_OF_CENTRAL_DIRECTORY = b"PK\x05\x06"
_ZIP_LOCAL_HEADER = b"PK\x03\x04"
_BAD_NAME_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


@dataclass(frozen=True)
class CheckedReceipt:
    """An upload that passed every check, re-written clean, ready to store: ``data`` and
    ``sha256`` are the clean file's, ``original_sha256`` the uploaded file's."""

    data: bytes
    content_type: str
    sha256: str
    original_sha256: str
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
    data = read_within(stream, limit)
    if data is None:
        raise ReceiptRefused("too_large")
    return data


# --- formats -----------------------------------------------------------------------------------


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


def _clean(data: bytes, name: str, limits: sandbox.Limits | None) -> CheckedReceipt:
    """Refuse what the first bytes already tell, then have the sandbox re-write the file."""
    if not data:
        raise ReceiptRefused("empty")
    if sniff(data) is None:
        raise ReceiptRefused("unknown_type")
    # A file that is also a ZIP archive is built to be read two ways: say so rather than store
    # a cleaned half of it.
    if _has_zip_directory(data) or data.startswith(_ZIP_LOCAL_HEADER):
        raise ReceiptRefused("polyglot", "also a ZIP archive")
    try:
        result = sandbox.run_job("receipt", data, limits=limits, options=RECEIPT_OPTIONS)
    except sandbox.Refused as exc:
        raise ReceiptRefused(exc.code, exc.detail) from exc
    return CheckedReceipt(
        data=result.data, content_type=result.header["content_type"],
        sha256=hashlib.sha256(result.data).hexdigest(),
        original_sha256=hashlib.sha256(data).hexdigest(), size=len(result.data),
        original_name=name, width=result.header.get("width"),
        height=result.header.get("height"),
    )


def check_receipt(data: bytes, original_name: str | None, *,
                  limits: sandbox.Limits | None = None) -> CheckedReceipt:
    """Check and clean bytes already in memory (at most ``MAX_RECEIPT_BYTES``) and a name."""
    name = check_name(original_name)
    if len(data) > MAX_RECEIPT_BYTES:
        raise ReceiptRefused("too_large")
    return _clean(data, name, limits)


def read_receipt(
    stream: Readable, original_name: str | None, *, limit: int = MAX_RECEIPT_BYTES,
    limits: sandbox.Limits | None = None,
) -> CheckedReceipt:
    """Read an upload from ``stream`` within ``limit``, check and clean it; the name is checked
    first, so a refused name costs no reading. Never call it inside a database transaction:
    the sandbox may take seconds."""
    name = check_name(original_name)
    return _clean(read_limited(stream, limit), name, limits)
