"""Public pages of certificates: checking one by its code (``/verify``, ``/verify/<code>``) and
the participant's own download (``/manage/<token>/certificate.pdf``).

The verification page states only what a certificate proves: the participant's name, the
course, its dates, the issuing office and the date of issue; nothing else about the person.
"""

from __future__ import annotations

from datetime import date

from flask import abort, current_app, redirect, render_template, request, url_for

from certificates import services as certs
from certificates import wording
from certificates.codes import display_code, normalise_code
from certificates.errors import BreachesRules, CertificateRevoked, NotCompleted
from certificates.forms import VerifyForm
from certificates.models import Certificate
from certificates.pdf import build_certificate
from certificates.printing import pdf_response, verify_url
from certificates.rules import breaches
from core.db import get_engine, get_session, session_scope, utcnow
from core.i18n import LOCALES, current_locale, format_short_day
from core.limits import limiter
from core.routes import Routes
from core.web import no_store
from enrollment.services.links import find_by_token

routes = Routes()

PRIVATE_ENDPOINTS = frozenset({"show_verify_form", "verify_certificate", "download_certificate"})


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
        return render_template("certificates/verify.html", form=form)
    if not form.validate():
        return render_template("certificates/verify.html", form=form), 400
    return redirect(url_for("certificates.verify_certificate",
                            code=normalise_code(form.code.data)))


def _verified_facts(certificate: Certificate, locale: str) -> dict[str, object]:
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
    locale = current_locale()
    # A certificate issued before the sessions it counts had ended, or without the
    # attendance the rule asks, is never vouched for, even before the office revokes it.
    invalid = not certificate.is_revoked and bool(breaches(certificate))
    return render_template(
        "certificates/verify_result.html", certificate=certificate,
        code=display_code(certificate.code), invalid=invalid,
        office=wording.office(certificate.snapshot, locale),
        facts=None if certificate.is_revoked or invalid
        else _verified_facts(certificate, locale),
    )


def _valid_certificate(enrollment_id: int) -> Certificate:
    """The enrollment's valid certificate; the first download issues it (in a write session of
    its own, as this is a GET). 404 when the rule is not met by sessions that have ended, or
    the certificate was revoked or breaks the rules."""
    certificate = certs.latest_certificate(get_session(), enrollment_id)
    if certificate is not None:
        if certificate.is_revoked or breaches(certificate):
            abort(404)
        return certificate
    with session_scope(get_engine()) as session:
        try:
            return certs.issue(session, enrollment_id, now=utcnow())
        except (NotCompleted, CertificateRevoked, BreachesRules):
            abort(404)


@routes.get("/manage/<token>/certificate.pdf")
def download_certificate(token: str):
    """The participant's certificate as a PDF, in the language asked for (``?lang=``) or
    their own."""
    enrollment = find_by_token(get_session(), token)
    if enrollment is None:
        abort(404)
    locale = request.args.get("lang") or enrollment.participant.locale
    if locale not in LOCALES:
        abort(404)
    certificate = _valid_certificate(enrollment.id)
    page = wording.page_for(certificate, locale, verify_url(certificate.code))
    return pdf_response(build_certificate(page), f"certificate-{certificate.code}-{locale}.pdf")
