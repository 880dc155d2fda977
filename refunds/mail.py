"""E-mails to participants about their travel claims: one for every status change, rendered in
the participant's own language and queued in the outbox in the transaction of the change."""

from __future__ import annotations

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from core.mail import queue_mail
from core.web import external_url
from enrollment.models import about
from refunds.models import Claim, ClaimStatus

S = ClaimStatus

# The template of each status a claim can move to.
TEMPLATES = {
    S.SUBMITTED: "submitted",
    S.RESUBMITTED: "submitted",
    S.RETURNED: "returned",
    S.APPROVED: "approved",
    S.REJECTED: "rejected",
    S.PAID: "paid",
}


def _subject(status: ClaimStatus, reference: str) -> str:
    """The subject line for ``status``; call inside ``force_locale``."""
    if status == S.SUBMITTED:
        return _("Travel claim %(ref)s received", ref=reference)
    if status == S.RESUBMITTED:
        return _("Travel claim %(ref)s received again", ref=reference)
    if status == S.RETURNED:
        return _("Travel claim %(ref)s returned for changes", ref=reference)
    if status == S.APPROVED:
        return _("Travel claim %(ref)s approved", ref=reference)
    if status == S.REJECTED:
        return _("Travel claim %(ref)s rejected", ref=reference)
    return _("Travel claim %(ref)s paid", ref=reference)


def notify_status(session: Session, claim: Claim) -> None:
    """Tell the participant where their claim now stands, in their own language."""
    enrollment = claim.enrollment
    person = enrollment.participant
    if not person.email:  # anonymised (privacy purge or erasure): nobody to write to
        return
    locale = person.locale
    name = TEMPLATES[claim.status]
    with force_locale(locale):
        context = dict(
            claim=claim, enrollment=enrollment, offering=enrollment.offering, person=person,
            locale=locale, lost_link_url=external_url("enrollment.lost_link"),
            adjusted=[line for line in claim.lines if line.adjusted_amount_ore is not None],
        )
        text = render_template(f"refunds/mail/{name}.txt", **context)
        html = render_template(f"refunds/mail/{name}.html", **context)
        queue_mail(session, to=person.email, subject=_subject(claim.status, claim.reference),
                   text=text, html=html, locale=locale, about=about(person))
