"""What a printed certificate needs from the web: the public address its QR code holds, and
the PDF response that no cache keeps."""

from __future__ import annotations

from flask import Response

from core.web import external_url, no_store


def verify_url(code: str) -> str:
    """The public address of a certificate's verification page, as the QR code holds it."""
    return external_url("certificates.verify_certificate", code=code)


def pdf_response(body: bytes, filename: str, disposition: str = "attachment") -> Response:
    """A PDF download that no cache keeps."""
    response = Response(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return no_store(response)
