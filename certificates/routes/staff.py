"""Staff pages for certificates: print an offering's certificates as one PDF, issue one by hand
(or re-issue after a correction), and revoke one.

Printing reads only: when participants have met the completion rule and have no certificate
yet, the print link answers with a page whose button (a POST) issues theirs, by the staff
member who pressed it, and then prints.

Every object is loaded through ``scoped_or_404``, so county staff reach only their own county's
certificates (others answer 404); the domain work is in ``certificates.services``.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import contains_eager, joinedload

from certificates import services as certs
from certificates import wording
from certificates.codes import display_code
from certificates.errors import NotIssuable
from certificates.forms import IssueForm, PrintForm, RevokeForm
from certificates.models import Certificate
from certificates.pdf import build_certificates
from certificates.printing import pdf_response, verify_url
from core.auth import scoped_or_404, staff_required
from core.db import get_session, utcnow
from core.i18n import current_locale
from core.pdf import PdfMetadata
from core.routes import Routes
from core.transaction import refusals
from core.web import no_store
from enrollment.models import CourseOffering, Enrollment

routes = Routes()

STAFF_ENDPOINTS = frozenset({"print_certificates", "issue_due_certificates", "issue_certificate",
                             "revoke_certificate"})


@routes.after_request
def _staff_certificate_pages_are_not_cached(response):
    if (request.endpoint or "").split(".")[-1] in STAFF_ENDPOINTS:
        no_store(response)
    return response


# --- loading, always scoped to the user's county -----------------------------------------------


def offering_or_404(offering_id: int) -> CourseOffering:
    """The offering, if it is the user's county's (404 otherwise)."""
    return scoped_or_404(
        sa.select(CourseOffering).join(CourseOffering.county)
        .where(CourseOffering.id == offering_id)
        .options(contains_eager(CourseOffering.county)),
        CourseOffering.county_id,
    )


def _enrollment_or_404(enrollment_id: int) -> Enrollment:
    return scoped_or_404(
        sa.select(Enrollment).join(Enrollment.offering)
        .where(Enrollment.id == enrollment_id)
        .options(contains_eager(Enrollment.offering).joinedload(CourseOffering.county),
                 contains_eager(Enrollment.offering).joinedload(CourseOffering.kind),
                 contains_eager(Enrollment.offering).selectinload(CourseOffering.sessions),
                 joinedload(Enrollment.participant)),
        CourseOffering.county_id,
    )


def certificate_or_404(certificate_id: int) -> Certificate:
    """The certificate, if its offering is the user's county's (404 otherwise)."""
    return scoped_or_404(
        sa.select(Certificate).join(Certificate.enrollment).join(Enrollment.offering)
        .where(Certificate.id == certificate_id)
        .options(contains_eager(Certificate.enrollment).contains_eager(Enrollment.offering)
                 .joinedload(CourseOffering.county),
                 contains_eager(Certificate.enrollment).joinedload(Enrollment.participant),
                 joinedload(Certificate.revoked_by)),
        CourseOffering.county_id,
    )


def _back_to_list(offering_id: int):
    return redirect(url_for("enrollment.list_participants", offering_id=offering_id))


# --- routes --------------------------------------------------------------------------------------


@routes.get("/staff/courses/<int:offering_id>/certificates.pdf")
@staff_required
def print_certificates(offering_id: int):
    """Every valid certificate of the offering in one PDF, a page each, each in its
    participant's language; first a page to issue those that are due, if any."""
    offering = offering_or_404(offering_id)
    session = get_session()
    due = certs.due(session, offering.id, utcnow())
    if due:
        return render_template("certificates/staff/print_due.html", offering=offering,
                               due=[enrollment for enrollment, _done in due], form=PrintForm())
    issued = certs.printable(session, offering.id)
    if not issued:
        flash(_("Nobody in this course has a certificate yet: none has met the attendance "
                "rule, and none was issued by hand."), "error")
        return _back_to_list(offering.id)
    locale = current_locale()
    heading = _("Certificates of attendance")
    metadata = PdfMetadata(title=f"{heading}: {offering.title(locale)}",
                           author=offering.county.office(locale), subject=heading, lang=locale)
    pages = (wording.page_for(c, c.locale, verify_url(c.code)) for c in issued)
    return pdf_response(build_certificates(pages, metadata),
                        f"certificates-{offering.id}.pdf", "inline")


@routes.post("/staff/courses/<int:offering_id>/certificates")
@staff_required
def issue_due_certificates(offering_id: int):
    """Issue the certificates that are due (audited as issued by whoever pressed the button),
    then print."""
    offering = offering_or_404(offering_id)
    if not PrintForm().validate_on_submit():
        abort(400)
    certs.issue_due(get_session(), offering.id, now=utcnow(), actor=current_user)
    return redirect(url_for("certificates.print_certificates", offering_id=offering.id), 303)


def _issue_page(enrollment: Enrollment, form: IssueForm, **context):
    return render_template(
        "certificates/staff/issue.html", enrollment=enrollment, form=form,
        status=certs.status_for(get_session(), enrollment), display_code=display_code,
        **context)


@routes.route("/staff/enrollments/<int:enrollment_id>/certificate/issue",
              methods=["GET", "POST"])
@staff_required
def issue_certificate(enrollment_id: int):
    """Issue a certificate by hand, whatever the attendance (once the course has ended), or
    issue the valid one again with corrected details (same code). A reason is required and
    audited."""
    enrollment = _enrollment_or_404(enrollment_id)
    form = IssueForm()
    if not form.validate_on_submit():
        return _issue_page(enrollment, form), 400 if form.errors else 200
    with refusals(form) as refusal:
        certificate, again = certs.issue_by_hand(get_session(), enrollment.id,
                                                 form.reason.data, actor=current_user,
                                                 now=utcnow())
    if isinstance(refusal.error, NotIssuable):
        flash(refusal.error.message, "error")
        return _back_to_list(enrollment.offering_id)
    if refusal:
        return _issue_page(enrollment, form, refused=refusal.error.message), refusal.status
    name, code = enrollment.participant.full_name, display_code(certificate.code)
    if again:
        flash(_("The certificate of %(name)s is issued again with the same code, %(code)s.",
                name=name, code=code), "success")
    else:
        flash(_("A certificate with code %(code)s is issued to %(name)s.", code=code,
                name=name), "success")
    return _back_to_list(enrollment.offering_id)


@routes.route("/staff/certificates/<int:certificate_id>/revoke", methods=["GET", "POST"])
@staff_required
def revoke_certificate(certificate_id: int):
    """Revoke a certificate, with a reason the public verification page shows. Audited."""
    certificate = certificate_or_404(certificate_id)
    form = RevokeForm()
    if not form.validate_on_submit():
        return render_template(
            "certificates/staff/revoke.html", certificate=certificate, form=form,
            code=display_code(certificate.code),
        ), 400 if form.errors else 200
    with refusals() as refusal:  # already revoked: said at the top of the list
        certs.revoke(get_session(), certificate.id, form.reason.data, actor=current_user,
                     now=utcnow())
    if not refusal:
        flash(_("Certificate %(code)s of %(name)s is revoked.",
                code=display_code(certificate.code),
                name=certificate.enrollment.participant.full_name), "success")
    return _back_to_list(certificate.enrollment.offering_id)
