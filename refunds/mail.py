"""E-mails to participants about their travel claims: one for every status change, in the
participant's own language.

A subscriber of the claim events (``refunds.events``) records the mail in the transaction of the
change (``core.mail_kinds.record_mail``: the kind, the address, the language and the claim's
id); it is rendered from the templates ``refunds/mail/<name>.txt`` and ``.html`` after the
commit. One kind of mail per status the claim moved to (``KINDS``).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from core.events import subscribe
from core.mail_kinds import Rendered, record_mail, register_mail
from core.web import external_url
from enrollment.models import about
from refunds import events
from refunds.models import Claim, ClaimStatus

S = ClaimStatus

# The kind of mail (and the template's name) for each status a claim can move to.
KINDS = {
    S.SUBMITTED: ("refunds.claim_submitted", "submitted"),
    S.RESUBMITTED: ("refunds.claim_resubmitted", "submitted"),
    S.RETURNED: ("refunds.claim_returned", "returned"),
    S.APPROVED: ("refunds.claim_approved", "approved"),
    S.REJECTED: ("refunds.claim_rejected", "rejected"),
    S.PAID: ("refunds.claim_paid", "paid"),
}


def _subject(status: ClaimStatus, reference: str) -> str:
    """The subject line for ``status``; called inside the row's ``force_locale``."""
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


def record_status_mail(_sender, *, session: Session, claim: Claim, status: ClaimStatus,
                       **_facts: Any) -> None:
    """Subscriber of every claim event: record the mail that tells the participant where their
    claim now stands (nothing for an anonymised person: nobody to write to)."""
    person = claim.enrollment.participant
    if not person.email:
        return
    record_mail(session, KINDS[status][0], to=person.email, locale=person.locale,
                about=about(person), claim_id=claim.id)


def _renderer(status: ClaimStatus):
    name = KINDS[status][1]

    def render(session: Session, params: dict[str, Any]) -> Rendered | None:
        claim = session.get(Claim, params.get("claim_id"))
        if claim is None or not claim.enrollment.participant.email:
            return None  # deleted or erased meanwhile
        enrollment = claim.enrollment
        person = enrollment.participant
        context = dict(
            claim=claim, enrollment=enrollment, offering=enrollment.offering, person=person,
            locale=person.locale, lost_link_url=external_url("enrollment.lost_link"),
            adjusted=[line for line in claim.lines if line.adjusted_amount_ore is not None],
        )
        return Rendered(subject=_subject(status, claim.reference),
                        text=render_template(f"refunds/mail/{name}.txt", **context),
                        html=render_template(f"refunds/mail/{name}.html", **context))

    render.__name__ = f"render_{status.value}"
    return render


def init_app(app: Flask) -> None:
    """Register a renderer for each kind, and record the mail on every claim event."""
    for status, (kind, _name) in KINDS.items():
        register_mail(app, kind, _renderer(status))
    for signal in (events.submitted, events.decided, events.paid):
        subscribe(app, signal, record_status_mail)
