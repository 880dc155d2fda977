"""Staff writing to an offering's participants: write the message, check it with the number
of people it will reach ("Send to 31 participants?"), then send it (it cannot be undone).

The offering is loaded through ``scoped_or_404``, so another county's offering answers 404 on
every step, exactly like a missing one; the work is in ``enrollment.services.messages``.
Sending is limited per staff member and offering (``MESSAGE_RATE_LIMIT``); writing and
checking are not.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy.orm import joinedload

from core.auth import scoped_or_404, staff_required
from core.db import get_session, utcnow
from core.limits import config_limit, limiter, view_args_key
from core.routes import Routes
from core.transaction import refusals
from enrollment import errors
from enrollment.forms.messages import EDIT, SEND, MessageForm
from enrollment.models import CourseOffering, MessageAudience
from enrollment.services import messages

routes = Routes()


def _offering_or_404(offering_id: int) -> CourseOffering:
    return scoped_or_404(
        sa.select(CourseOffering).where(CourseOffering.id == offering_id)
        .options(joinedload(CourseOffering.county), joinedload(CourseOffering.kind)),
        CourseOffering.county_id)


def _counts(offering_id: int) -> dict[str, int]:
    """How many each audience reaches now, for the choices on the form."""
    session = get_session()
    return {a.value: messages.count_recipients(session, offering_id, a) for a in MessageAudience}


def _write_page(offering: CourseOffering, form: MessageForm, status: int | None = None):
    status = status or (400 if form.errors else 200)
    return render_template("enrollment/staff/message_form.html", offering=offering, form=form,
                           counts=_counts(offering.id)), status


def _confirm_page(offering: CourseOffering, form: MessageForm, count: int, status: int = 200):
    form.expected.data = count
    return render_template("enrollment/staff/message_confirm.html", offering=offering,
                           form=form, count=count,
                           audience=MessageAudience(form.audience.data)), status


def _sender() -> int | None:
    """The signed-in staff member, as the session check found them (``core.auth``) before the
    request's database session opened."""
    return g.get("staff_session_user")


def _not_sending() -> bool:
    return _sender() is None or request.form.get("step") != SEND


def _sender_key() -> str:
    """Per staff member and offering; read before anything opens the request's session (on
    SQLite a sending request holds the write lock from its first statement)."""
    return f"{view_args_key()}|staff:{_sender()}"


@routes.route("/staff/courses/<int:offering_id>/messages/new", methods=["GET", "POST"])
@limiter.limit(config_limit("MESSAGE_RATE_LIMIT"), methods=["POST"], key_func=_sender_key,
               exempt_when=_not_sending)
@staff_required
def write_message(offering_id: int):
    """Write a message (GET), check it and the number of recipients, change it, or send it."""
    offering = _offering_or_404(offering_id)
    form = MessageForm()
    if request.method == "GET" or request.form.get("step") == EDIT:
        return _write_page(offering, form, 200)
    if not form.validate_on_submit():
        return _write_page(offering, form)
    session = get_session()
    audience = MessageAudience(form.audience.data)
    with refusals(form) as refusal:
        if request.form.get("step") != SEND:
            messages.clean_text(form.subject.data, form.body.data)
            count = messages.count_recipients(session, offering.id, audience)
            if not count:
                raise errors.NoRecipients()
            return _confirm_page(offering, form, count)
        message = messages.send(session, offering, subject=form.subject.data,
                                body=form.body.data, audience=audience, actor=current_user,
                                now=utcnow(), expected=form.expected.data)
    if isinstance(refusal.error, errors.RecipientsChanged):
        return _confirm_page(offering, form, refusal.error.count, refusal.status)
    if refusal:
        return _write_page(offering, form, refusal.status)
    flash(ngettext("The message is sent to %(num)d participant.",
                   "The message is sent to %(num)d participants.", message.recipient_count),
          "success")
    return redirect(url_for("enrollment.edit_offering", offering_id=offering.id,
                            _anchor="messages"))
