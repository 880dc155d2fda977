"""Checking a certificate by its PDF file, uploaded to ``/verify``: what the signature in the
file says, and which certificate of ours it is.

The file is read within ``CERTIFICATE_UPLOAD_MAX_BYTES`` (never more than that plus one byte),
and its signature is read by the sandbox job ``pdf_signature`` (``core.pdf_signatures``: a
separate process with CPU, memory and time limits, as receipts are). Nothing of the file is
stored or logged: its bytes live only in this request. The outcome is one of:

- ``ours``: the signature is intact, covers the whole file, chains to our trust roots and was
  made by one of our signing certificates (``keys.our_signers``); ``code`` is the certificate
  code in the file's keywords, which the route looks up;
- ``modified``: the file was changed after it was signed, or is damaged;
- ``other``: intact, but not made by us (another issuer, or another holder of a certificate
  from our issuer); ``signer`` names its organisation;
- ``withdrawn``: intact and in our name, but made with a signing certificate the office has
  withdrawn (``CERTIFICATE_DISTRUSTED``: its key was lost or revoked), so it proves nothing;
- ``unsigned``: a PDF without a signature (the office's bulk print, a scan).

pyHanko is imported only when a file is checked (see ``certificates/printing.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask

from certificates.codes import normalise_code
from certificates.errors import FileRefused
from core import sandbox
from core.filetypes import read_within

# What a multipart request carries besides the file: the CSRF token, the part's headers and
# boundaries. A request larger than the limit plus this is refused before it is read.
MULTIPART_ALLOWANCE = 16 * 1024
REFUSED_BY_SANDBOX = frozenset({"not_pdf", "corrupt", "too_complex"})


@dataclass(frozen=True)
class FileCheck:
    """What the signature of an uploaded file says (see the module's text)."""

    outcome: str
    signer: str = ""
    signed_at: datetime | None = None
    code: str | None = None


def read_upload(stream, limit: int) -> bytes:
    """The uploaded file's bytes, read in chunks; refused (``too_large``) once it passes
    ``limit`` bytes, having asked the stream for at most ``limit + 1``; ``empty`` when empty."""
    data = read_within(stream, limit)
    if data is None:
        raise FileRefused(code="too_large", limit=limit)
    if not data:
        raise FileRefused(code="empty")
    return data


def signer_organisation(subject: str) -> str:
    """The organisation named in a certificate's subject (RFC 4514), else its common name,
    else the subject itself."""
    # Imported here: cryptography's X.509 module is loaded only when a file is checked.
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        name = x509.Name.from_rfc4514_string(subject)
    except ValueError:
        return subject[:200]
    for oid in (NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME):
        found = name.get_attributes_for_oid(oid)
        if found:
            return str(found[0].value)[:200]
    return subject[:200]


def _moment(value: str | None) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def interpret(header: dict, ours: set[str], withdrawn: frozenset[str] = frozenset()) -> FileCheck:
    """The outcome of the sandbox's answer ``header``, given the subjects of our signers and
    the SHA-256 fingerprints (hexadecimal) of signing certificates withdrawn."""
    state = header.get("state")
    if state == "unsigned":
        return FileCheck("unsigned")
    if state not in ("signed", "untrusted"):
        return FileCheck("modified")
    subject = str(header.get("subject") or "")
    signed_at = _moment(header.get("signed_at"))
    if state == "untrusted" or subject not in ours:
        return FileCheck("other", signer=signer_organisation(subject), signed_at=signed_at)
    if str(header.get("fingerprint") or "").lower() in withdrawn:
        return FileCheck("withdrawn", signer=signer_organisation(subject), signed_at=signed_at)
    return FileCheck("ours", signer=signer_organisation(subject), signed_at=signed_at,
                     code=normalise_code(str(header.get("keywords") or "")))


def check_file(data: bytes, app: Flask) -> FileCheck:
    """Read the signature of the PDF ``data`` in the sandbox and say whose it is. Refuses
    (``FileRefused``) a file that is not a PDF, is damaged beyond reading, or takes too long.
    Never call it inside a database transaction: the sandbox takes most of a second."""
    # What the job would refuse at its first line costs no process (some 0.6 s of CPU).
    if data.lstrip()[:5] != b"%PDF-":
        raise FileRefused("no PDF header", code="not_pdf")
    from certificates import keys  # pyHanko: see the module's text
    from core import pdf_signatures

    try:
        result = sandbox.run_job(
            "pdf_signature", data, limits=sandbox.Limits.from_config(app.config),
            options=pdf_signatures.options_for(keys.trust_roots(app)))
    except sandbox.Refused as exc:
        code = exc.code if exc.code in REFUSED_BY_SANDBOX else "corrupt"
        raise FileRefused(exc.code, code=code) from None
    withdrawn = frozenset(f.replace(":", "").lower()
                          for f in app.config.get("CERTIFICATE_DISTRUSTED") or ())
    return interpret(result.header, keys.our_signers(app), withdrawn)
