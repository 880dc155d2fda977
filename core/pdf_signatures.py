"""The signature of an uploaded PDF, checked in the sandbox: the job ``pdf_signature``.

Runs in ``core.sandbox``'s limited process (CPU, memory, wall clock; nothing but the bytes and
the options in), like receipts: a hostile PDF can make a parser spin or allocate without end.
pyHanko is imported with this module, before the worker limits itself and reads the bytes. The
job parses the file, validates its first signature against the trust roots it is given
(offline: nothing is fetched, and the chain is checked at the time the signature claims) and
answers, in its JSON header, with one ``state``:

- ``unsigned``: a PDF without a signature;
- ``modified``: a signature that does not match the file's bytes, does not cover the whole file
  (something was added after signing), or cannot be read;
- ``untrusted``: intact, but the signer's certificate does not chain to the trust roots;
- ``signed``: intact, covering the whole file, chained to a root; with the signer's subject
  (RFC 4514), its certificate's SHA-256 fingerprint, the claimed signing time and the
  document's keywords.

Whose signature it is and what the file's certificate code says now is for the caller to decide
(the certificates plugin's ``/verify``). A file that is not a PDF, or that cannot be read at
all, is refused (``not_pdf``, ``corrupt``).
"""

from __future__ import annotations

import base64
from io import BytesIO

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from core.sandbox import Refused


def options_for(roots: list[bytes]) -> dict:
    """The job's options: the trust roots (DER), base64-encoded for the JSON of its command."""
    return {"roots": [base64.b64encode(root).decode("ascii") for root in roots]}


def _keywords(reader: PdfFileReader) -> str:
    try:
        return str(reader.trailer["/Info"].get("/Keywords", ""))[:200]
    except (KeyError, TypeError, ValueError, AttributeError, PdfError):
        return ""


def check_signature(data: bytes, options: dict) -> tuple[dict, bytes]:
    """The sandbox job: the signature state of the PDF ``data`` (see the module's text)."""
    if data.lstrip()[:5] != b"%PDF-":
        raise Refused("not_pdf")
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
    except (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise Refused("corrupt", type(exc).__name__) from None
    if not signatures:
        return {"state": "unsigned"}, b""
    signature = signatures[0]
    roots = [asn1_x509.Certificate.load(base64.b64decode(root))
             for root in options.get("roots", [])]
    try:
        claimed = signature.self_reported_timestamp
        context = ValidationContext(trust_roots=roots, allow_fetching=False, moment=claimed)
        status = validate_pdf_signature(signature, signer_validation_context=context,
                                        skip_diff=True)
    except Exception:  # noqa: BLE001 (a damaged signature fails in many ways: none is valid)
        return {"state": "modified"}, b""
    if (not status.intact or not status.valid or len(signatures) > 1
            or status.coverage != SignatureCoverageLevel.ENTIRE_FILE):
        return {"state": "modified"}, b""
    certificate = x509.load_der_x509_certificate(status.signing_cert.dump())
    header = {"subject": certificate.subject.rfc4514_string(),
              "fingerprint": certificate.fingerprint(hashes.SHA256()).hex(),
              "signed_at": claimed.isoformat() if claimed else None}
    if not status.trusted:
        return {"state": "untrusted", **header}, b""
    return {"state": "signed", "keywords": _keywords(reader), **header}, b""
