"""The participant's own certificate on their manage link.

``GET /manage/<token>/certificate.pdf`` hands out the issued certificate as a PDF signed with
the office's key (``certificates.printing``), in the language asked for (``?lang=``) or the
participant's own, and writes nothing: a certificate
that is due but not issued yet gets a page with the button that issues it. ``POST
/manage/<token>/certificate`` is that button (also the manage page's download button): it
issues the certificate when the completion rule is met and none is issued yet, then sends the
person to the download.
"""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for

from certificates import services as certs
from certificates.forms import CertificateForm
from certificates.printing import pdf_response, signed_certificate
from core.db import get_session, utcnow
from core.i18n import LOCALES
from core.routes import Routes
from core.web import no_store
from enrollment.services.links import find_by_token

routes = Routes()

PRIVATE_ENDPOINTS = frozenset({"download_certificate", "get_certificate"})


@routes.after_request
def _private_headers(response):
    if (request.endpoint or "").split(".")[-1] in PRIVATE_ENDPOINTS:
        no_store(response)
        response.headers["X-Robots-Tag"] = "noindex"
    return response


def _enrollment_and_locale(token: str, lang: str | None):
    """The enrollment the manage link opens and the certificate's language, or 404."""
    enrollment = find_by_token(get_session(), token)
    if enrollment is None:
        abort(404)
    locale = lang or enrollment.participant.locale
    if locale not in LOCALES:
        abort(404)
    return enrollment, locale


@routes.get("/manage/<token>/certificate.pdf")
def download_certificate(token: str):
    """The participant's certificate as a PDF. 404 when none is valid and none is due."""
    enrollment, locale = _enrollment_and_locale(token, request.args.get("lang"))
    status = certs.status_for(get_session(), enrollment)
    if status.due:
        return render_template("certificates/not_issued.html", enrollment=enrollment,
                               token=token, selected_lang=locale)
    if not status.valid:
        abort(404)
    return pdf_response(signed_certificate(status.certificate, locale),
                        f"certificate-{status.certificate.code}-{locale}.pdf")


@routes.post("/manage/<token>/certificate")
def get_certificate(token: str):
    """Issue the participant's certificate if it is due, then download it. 404 when none is
    valid and none is due, as for the download."""
    enrollment, locale = _enrollment_and_locale(token, request.form.get("lang"))
    if not CertificateForm().validate_on_submit():
        abort(400)
    session = get_session()
    status = certs.status_for(session, enrollment)
    if not status.downloadable:
        abort(404)
    if status.due:
        certs.issue(session, enrollment.id, now=utcnow())
    return redirect(url_for("certificates.download_certificate", token=token, lang=locale), 303)
