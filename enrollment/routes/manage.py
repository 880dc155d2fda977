"""A participant's own pages on their manage link: the enrollment, contact details, cancelling
("meld deg av"), withdrawing their other links, changing the e-mail address, and asking for
lost links.

GET shows a page or a question and never writes; the POST (with its CSRF token) does it. Every
page works without JavaScript, and none is cached (``PERSONAL_ENDPOINTS``).
"""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from core.db import get_session, utcnow
from core.jobs import queue_job
from core.limits import config_limit, form_email_key, limiter
from core.routes import Routes
from core.transaction import refusals
from core.web import no_store
from enrollment import errors
from enrollment.forms.public import (
    CancelForm,
    ContactForm,
    EmailChangeForm,
    LostLinkForm,
    OfferForm,
    WithdrawLinksForm,
)
from enrollment.mail.links import LOST_LINK_JOB
from enrollment.panels import cancel_notices, manage_panels
from enrollment.services import email_change as address_change
from enrollment.services import enrollments, links, messages, offers, privacy, seats

routes = Routes()

# Pages of one person: their enrollment, its manage link and the rails on it.
PERSONAL_ENDPOINTS = frozenset({"manage", "update_contact", "enrolled", "enroll",
                                "confirm_cancellation", "cancel", "confirm_withdraw_links",
                                "withdraw_links", "email_change_page", "email_change",
                                "accept_offer", "decline_offer"})


@routes.after_request
def _personal_pages_are_not_cached(response):
    if request.endpoint and request.endpoint.split(".")[-1] in PERSONAL_ENDPOINTS:
        no_store(response)
    return response


# --- lost links ---------------------------------------------------------------------------------


@routes.post("/manage/lost-link")
@limiter.limit(config_limit("LOST_LINK_IP_RATE_LIMIT"))
@limiter.limit(config_limit("LINK_EMAIL_RATE_LIMIT"), key_func=form_email_key)
def resend_links():
    """E-mail a new manage link to each active enrollment of the address; the links already
    sent keep working, and the answer, the work and so the time are the same whether the
    address is known or not."""
    form = LostLinkForm()
    if not form.validate_on_submit():
        return render_template("enrollment/lost_link.html", form=form), 400
    session = get_session()
    # One job row whatever the address: the answer, its time and the database work tell nothing
    # about whether it is known. The outbox sender does the lookup
    # (enrollment.mail.links.send_lost_links).
    queue_job(session, LOST_LINK_JOB, {"email": form.email.data.strip().lower()})
    return render_template("enrollment/lost_link_sent.html", email=form.email.data)


@routes.get("/manage/lost-link")
def lost_link():
    """The form asking for one's manage links."""
    return render_template("enrollment/lost_link.html", form=LostLinkForm())


# --- the participant's own page ---------------------------------------------------------------


def enrollment_or_404(token: str):
    """The enrollment the manage link opens, or 404."""
    enrollment = links.find_by_token(get_session(), token)
    if enrollment is None:
        abort(404)
    return enrollment


def _manage_page(enrollment, token, contact_form=None, status=200):
    session = get_session()
    if contact_form is None:
        contact_form = ContactForm(obj=enrollment.participant, needs=enrollment.needs)
    panels = [panel(enrollment, token) for panel in manage_panels()]
    return render_template(
        "enrollment/manage.html", enrollment=enrollment, token=token, form=contact_form,
        other_links=links.other_link_count(session, enrollment, token),
        position=seats.waitlist_position(session, enrollment),
        deadline=enrollments.cancellation_deadline(enrollment.offering), now=utcnow(),
        panels=[p for p in panels if p],
        erasure_request=privacy.pending_request(session, enrollment.participant_id),
        email_change=address_change.pending_change(session, enrollment.participant_id,
                                                   utcnow()),
        received_messages=messages.received(session, enrollment.id),
        offer_form=OfferForm(),
    ), status


@routes.get("/manage/<token>")
def manage(token: str):
    """A participant's own enrollment: status, sessions, contact details, cancel."""
    return _manage_page(enrollment_or_404(token), token)


@routes.post("/manage/<token>/contact")
def update_contact(token: str):
    """Save changed contact details; a new e-mail address waits for confirmation from a link
    sent to it, and the old address is told."""
    session = get_session()
    enrollment = enrollment_or_404(token)
    form = ContactForm()
    if not form.validate_on_submit():
        return _manage_page(enrollment, token, form, 400)
    enrollments.update_contact(
        session, enrollment, full_name=form.full_name.data, phone=form.phone.data,
        employer=form.employer.data, needs=form.needs.data or "", locale=form.locale.data,
    )
    hours = current_app.config["EMAIL_CHANGE_LINK_HOURS"]
    asked = address_change.request_change(session, enrollment, form.email.data, utcnow(),
                                          timedelta(hours=hours))
    flash(_("Your contact details are saved."), "success")
    if asked is not None:
        flash(_("To change your e-mail address to %(new)s, open the link we have sent there "
                "within %(hours)s hours. Until then we write to %(old)s, and we have told "
                "that address about the change.", new=asked.change.new_email, hours=hours,
                old=enrollment.participant.email), "success")
    return redirect(url_for("enrollment.manage", token=token))




def _back(token: str):
    return redirect(url_for("enrollment.manage", token=token))


# --- cancelling --------------------------------------------------------------------------------


@routes.get("/manage/<token>/cancel")
def confirm_cancellation(token: str):
    """The question "do you want to cancel?", with what cancelling would do."""
    enrollment = enrollment_or_404(token)
    outlook = enrollments.cancel_outlook(get_session(), enrollment, utcnow())
    notices = [n for n in (notice(enrollment) for notice in cancel_notices()) if n]
    return render_template("enrollment/cancel.html", enrollment=enrollment, token=token,
                           outlook=outlook, notices=notices, form=CancelForm())


@routes.post("/manage/<token>/cancel")
def cancel(token: str):
    """Cancel one's own enrollment; a freed seat goes to the first on the waiting list."""
    enrollment = enrollment_or_404(token)
    if not CancelForm().validate_on_submit():
        abort(400)
    with refusals() as refusal:  # too late, or not cancellable: said at the top of the page
        enrollments.cancel(get_session(), enrollment, utcnow())
    if not refusal:
        flash(_("Your enrollment is cancelled."), "success")
    return _back(token)


# --- a seat offered from the waiting list ---------------------------------------------------------


def _answer_offer(token: str, answer, done: str):
    """Accept or decline the seat offered; an offer that has run out (or was answered
    meanwhile) is refused with 409 and the page as it stands, nothing changed."""
    enrollment = enrollment_or_404(token)
    if not OfferForm().validate_on_submit():
        abort(400)
    with refusals() as refusal:
        answer(get_session(), enrollment, utcnow())
    if refusal:
        return _manage_page(enrollment, token, status=refusal.status)
    flash(done, "success")
    return _back(token)


@routes.post("/manage/<token>/offer/accept")
def accept_offer(token: str):
    """Take the seat offered from the waiting list."""
    return _answer_offer(token, offers.accept_offer,
                         _("You have accepted the seat. Your enrollment is confirmed."))


@routes.post("/manage/<token>/offer/decline")
def decline_offer(token: str):
    """Decline the seat offered: the enrollment ends and the seat goes to the next in line."""
    return _answer_offer(token, offers.decline_offer,
                         _("You have declined the seat, and your enrollment has ended."))


# --- the other links ---------------------------------------------------------------------------


@routes.get("/manage/<token>/links")
def confirm_withdraw_links(token: str):
    """How many other links open this enrollment, and the question whether to withdraw them."""
    enrollment = enrollment_or_404(token)
    others = links.other_link_count(get_session(), enrollment, token)
    return render_template("enrollment/withdraw_links.html", enrollment=enrollment,
                           token=token, others=others, form=WithdrawLinksForm())


@routes.post("/manage/<token>/links")
def withdraw_links(token: str):
    """Withdraw every other link to this enrollment; the one in use keeps working."""
    session = get_session()
    enrollment = enrollment_or_404(token)
    if not WithdrawLinksForm().validate_on_submit():
        abort(400)
    withdrawn = links.withdraw_other_links(session, enrollment, token, utcnow())
    if withdrawn:
        flash(_("The other links to your enrollment no longer work. This link still works."),
              "success")
    else:
        flash(_("There were no other links to your enrollment."), "info")
    return _back(token)


# --- changing the e-mail address ----------------------------------------------------------------


def _change_or_404(token: str):
    found = address_change.find_change(get_session(), token, utcnow())
    if found is None:
        abort(404)
    return found


@routes.get("/email-change/<token>")
def email_change_page(token: str):
    """The link from a change-of-address mail: the question, confirm the new address (the link
    sent to it) or stop the change (the link sent to the old one). GET never writes, so a mail
    scanner that opens the link changes nothing."""
    change, kind = _change_or_404(token)
    return render_template("enrollment/email_change.html", change=change, kind=kind,
                           form=EmailChangeForm())


@routes.post("/email-change/<token>")
def email_change(token: str):
    """Confirm, or stop, a change of e-mail address; the link then stops working."""
    session = get_session()
    change, kind = _change_or_404(token)
    if not EmailChangeForm().validate_on_submit():
        abort(400)
    if kind == address_change.CANCEL:
        address_change.cancel_change(session, change, utcnow())
        return render_template("enrollment/email_change_done.html", change=change, kind=kind)
    try:
        address_change.confirm_change(session, change, utcnow())
    except errors.AlreadyEnrolled:  # a 409: the request's edge keeps nothing
        return render_template("enrollment/email_change.html", change=change, kind=kind,
                               form=EmailChangeForm(), clash=True), 409
    return render_template("enrollment/email_change_done.html", change=change, kind=kind)
