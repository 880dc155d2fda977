"""Public pages of certificates: checking one by its code (``/verify``, ``/verify/<code>``);
checking one by its PDF file is ``routes.verify_file``, answered from the same form page.

The verification page states only what a certificate proves: the participant's name, the
course, its dates, the issuing office and the date of issue; nothing else about the person.
"""

from __future__ import annotations

from datetime import date

from flask import current_app, redirect, render_template, request, url_for

from certificates import services as certs
from certificates import wording
from certificates.codes import display_code, normalise_code
from certificates.errors import size_text
from certificates.forms import VerifyFileForm, VerifyForm
from certificates.models import Certificate
from certificates.rules import breaches
from core.db import get_session
from core.i18n import current_locale, format_short_day
from core.limits import limiter
from core.routes import Routes
from core.web import no_store

routes = Routes()

PRIVATE_ENDPOINTS = frozenset({"show_verify_form", "verify_certificate",
                               "check_certificate_file"})


def verify_limit() -> str:
    """The rate limit of the verification pages (``VERIFY_RATE_LIMIT``)."""
    return current_app.config["VERIFY_RATE_LIMIT"]


@routes.after_request
def _verification_headers(response):
    endpoint = (request.endpoint or "").split(".")[-1]
    if endpoint in PRIVATE_ENDPOINTS:
        # Revocation must show at once, and names on these pages are not for search engines.
        no_store(response)
        response.headers["X-Robots-Tag"] = "noindex"
    return response


@routes.get("/verify")
@limiter.limit(verify_limit)
def show_verify_form():
    """A form to type a certificate's code; a valid code goes on to its verification page."""
    form = VerifyForm(request.args)
    if "code" not in request.args:
        return verify_page(form)
    if not form.validate():
        return verify_page(form), 400
    return redirect(url_for("certificates.verify_certificate",
                            code=normalise_code(form.code.data)))


def verify_page(form: VerifyForm | None = None, file_form: VerifyFileForm | None = None) -> str:
    """The verification page with its two forms: a code, and a PDF file to check."""
    return render_template(
        "certificates/verify.html", form=form or VerifyForm(formdata=None),
        file_form=file_form or VerifyFileForm(formdata=None),
        max_size=size_text(current_app.config["CERTIFICATE_UPLOAD_MAX_BYTES"]))


def verified_facts(certificate: Certificate, locale: str) -> dict[str, object]:
    """The fields the verification page may show, and nothing more."""
    snap = certificate.snapshot
    return {
        "name": snap["name"],
        "course": wording.course_title(snap, locale),
        "days": wording.session_days(snap, locale),
        "office": wording.office(snap, locale),
        "issued_on": format_short_day(date.fromisoformat(snap["issued_on"]), locale),
    }


@routes.get("/verify/<code>")
@limiter.limit(verify_limit)
def verify_certificate(code: str):
    """Whether the certificate with this code is valid, revoked, or unknown (404)."""
    canonical = normalise_code(code)
    if canonical is not None and canonical != code:
        return redirect(url_for("certificates.verify_certificate", code=canonical), 301)
    certificate = certs.find_by_code(get_session(), canonical) if canonical else None
    if certificate is None:
        return render_template("certificates/verify_unknown.html", code=code[:40],
                               form=VerifyForm(formdata=None)), 404
    return render_template("certificates/verify_result.html", **verdict(certificate))


def verdict(certificate: Certificate) -> dict[str, object]:
    """What a verification page says of a certificate it found, by its code or in a file:
    valid (with its facts), revoked, or ``invalid`` by the rules."""
    locale = current_locale()
    # A certificate issued before the sessions it counts had ended, or without the
    # attendance the rule asks, is never vouched for, even before the office revokes it.
    invalid = not certificate.is_revoked and bool(breaches(certificate))
    return {
        "certificate": certificate, "code": display_code(certificate.code), "invalid": invalid,
        "office": wording.office(certificate.snapshot, locale),
        "facts": None if certificate.is_revoked or invalid
        else verified_facts(certificate, locale),
    }
