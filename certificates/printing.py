"""What a printed certificate needs from the web: the public address its QR code holds, the
participant's own PDF, signed with the office's key, and the PDF response that no cache keeps.
"""

from __future__ import annotations

import logging

from flask import Response, current_app

from certificates import wording
from certificates.models import Certificate
from certificates.pdf import build_certificate
from core.web import external_url, no_store

log = logging.getLogger("kursportal.certificates")


def verify_url(code: str) -> str:
    """The public address of a certificate's verification page, as the QR code holds it."""
    return external_url("certificates.verify_certificate", code=code)


def signed_certificate(certificate: Certificate, locale: str) -> bytes:
    """The participant's own certificate in ``locale``: a PDF of one page, signed (PAdES) with
    the key of the office that issued it. Unsigned, and said so in the log, when no key is
    configured; signed without a time stamp, and logged, when the time-stamp authority fails.

    pyHanko is imported here, not with the application: it takes longer to import than the
    whole application, and most processes (commands, the sandbox) never sign."""
    from pyhanko.sign.timestamps import TimestampRequestError

    from certificates.keys import signing_key
    from certificates.signing import sign_pdf, time_stamper

    key = signing_key(certificate.enrollment.offering.county.slug)
    page = wording.page_for(
        certificate, locale, verify_url(certificate.code),
        signer=key.signer_name if key else "",
        verify_address=external_url("certificates.show_verify_form"))
    pdf = build_certificate(page)
    if key is None:
        log.warning("certificate %s handed out unsigned: no signing key is configured",
                    certificate.id)
        return pdf
    reason = wording.signature_reason(certificate, locale)
    tsa = current_app.config.get("CERTIFICATE_TSA_URL")
    if tsa:
        try:
            return sign_pdf(pdf, key.signer, reason=reason, name=key.signer_name,
                            timestamper=time_stamper(tsa))
        except TimestampRequestError as exc:
            log.warning("certificate %s signed without a time stamp: the authority failed "
                        "(%s)", certificate.id, type(exc).__name__)
    return sign_pdf(pdf, key.signer, reason=reason, name=key.signer_name)


def pdf_response(body: bytes, filename: str, disposition: str = "attachment") -> Response:
    """A PDF download that no cache keeps."""
    response = Response(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return no_store(response)
