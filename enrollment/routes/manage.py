"""The participant's rails on their manage link: cancelling ("meld deg av") and withdrawing
their other links, each asked on a page of its own that says what will happen.

GET shows the question and never writes; the POST (with its CSRF token) does it. Both work
without JavaScript, and are never cached (``views.PERSONAL_ENDPOINTS``).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from core.db import get_session, utcnow
from enrollment import email_change as email_change_service
from enrollment import links, notifications, services
from enrollment.forms import CancelForm, EmailChangeForm, WithdrawLinksForm
from enrollment.panels import cancel_notices
from enrollment.views import _enrollment_or_404, bp


def _back(token: str):
    return redirect(url_for("enrollment.manage", token=token))


# --- cancelling --------------------------------------------------------------------------------


@bp.get("/manage/<token>/cancel")
def confirm_cancellation(token: str):
    """The question "do you want to cancel?", with what cancelling would do."""
    enrollment = _enrollment_or_404(token)
    outlook = services.cancel_outlook(get_session(), enrollment, utcnow())
    notices = [n for n in (notice(enrollment) for notice in cancel_notices()) if n]
    return render_template("enrollment/cancel.html", enrollment=enrollment, token=token,
                           outlook=outlook, notices=notices, form=CancelForm())


@bp.post("/manage/<token>/cancel")
def cancel(token: str):
    """Cancel one's own enrollment; a freed seat goes to the first on the waiting list."""
    session = get_session()
    enrollment = _enrollment_or_404(token)
    if not CancelForm().validate_on_submit():
        abort(400)
    try:
        promoted = services.cancel(session, enrollment, utcnow())
    except services.CancelDeadlinePassed:
        session.rollback()
        flash(_("It is too late to cancel here. Please contact %(email)s.",
                email=enrollment.offering.county.email), "error")
        return _back(token)
    except services.InvalidTransition:
        session.rollback()
        flash(_("This enrollment cannot be cancelled."), "error")
        return _back(token)
    notifications.notify_cancelled(session, enrollment)
    for other in promoted:
        notifications.notify_promoted(session, other)
    session.commit()
    flash(_("Your enrollment is cancelled."), "success")
    return _back(token)


# --- the other links ---------------------------------------------------------------------------


@bp.get("/manage/<token>/links")
def confirm_withdraw_links(token: str):
    """How many other links open this enrollment, and the question whether to withdraw them."""
    enrollment = _enrollment_or_404(token)
    others = links.other_link_count(get_session(), enrollment, token)
    return render_template("enrollment/withdraw_links.html", enrollment=enrollment,
                           token=token, others=others, form=WithdrawLinksForm())


@bp.post("/manage/<token>/links")
def withdraw_links(token: str):
    """Withdraw every other link to this enrollment; the one in use keeps working."""
    session = get_session()
    enrollment = _enrollment_or_404(token)
    if not WithdrawLinksForm().validate_on_submit():
        abort(400)
    withdrawn = links.withdraw_other_links(session, enrollment, token, utcnow())
    session.commit()
    if withdrawn:
        flash(_("The other links to your enrollment no longer work. This link still works."),
              "success")
    else:
        flash(_("There were no other links to your enrollment."), "info")
    return _back(token)


# --- changing the e-mail address ----------------------------------------------------------------


def _change_or_404(token: str):
    found = email_change_service.find_change(get_session(), token, utcnow())
    if found is None:
        abort(404)
    return found


@bp.get("/email-change/<token>")
def email_change_page(token: str):
    """The link from a change-of-address mail: the question, confirm the new address (the link
    sent to it) or stop the change (the link sent to the old one). GET never writes, so a mail
    scanner that opens the link changes nothing."""
    change, kind = _change_or_404(token)
    return render_template("enrollment/email_change.html", change=change, kind=kind,
                           form=EmailChangeForm())


@bp.post("/email-change/<token>")
def email_change(token: str):
    """Confirm, or stop, a change of e-mail address; the link then stops working."""
    session = get_session()
    change, kind = _change_or_404(token)
    if not EmailChangeForm().validate_on_submit():
        abort(400)
    if kind == email_change_service.CANCEL:
        email_change_service.cancel_change(session, change, utcnow())
        session.commit()
        return render_template("enrollment/email_change_done.html", change=change, kind=kind)
    try:
        email_change_service.confirm_change(session, change, utcnow())
    except services.AlreadyEnrolled:
        session.rollback()
        return render_template("enrollment/email_change.html", change=change, kind=kind,
                               form=EmailChangeForm(), clash=True), 409
    session.commit()
    return render_template("enrollment/email_change_done.html", change=change, kind=kind)
