"""Staff invite roster people to an offering: the people chosen on the roster page (or all
the filter shows), a course of the office that admits the roster's role, how many will be
invited and who is skipped and why, then the confirmation, which records one mail each.

The roster is loaded through ``scoped_or_404`` (another county's answers 404); the rules are
in ``enrollment.services.invitations``.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload

from core.auth import scoped_or_404, staff_required
from core.db import get_session, utcnow
from core.i18n import current_locale, format_short_day
from core.routes import Routes
from core.transaction import refusals
from core.web import no_store
from enrollment.errors import NotInvitable
from enrollment.forms.invitations import InvitationChoiceForm, InvitationConfirmForm, entry_ids
from enrollment.models import CourseOffering, Roster
from enrollment.routes import staff_rosters
from enrollment.services import invitations

routes = Routes()

STAFF_ENDPOINTS = frozenset({"choose_invitations", "send_invitations"})


@routes.after_request
def _invitation_pages_are_not_cached(response):
    if request.endpoint and request.endpoint.split(".")[-1] in STAFF_ENDPOINTS:
        no_store(response)
    return response


def _roster_or_404(roster_id: int) -> Roster:
    return scoped_or_404(sa.select(Roster).where(Roster.id == roster_id)
                         .options(joinedload(Roster.county)), Roster.county_id)


def offering_label(offering: CourseOffering) -> str:
    """A course's title with its first day and deadline, since offerings often share a title."""
    locale = current_locale()
    label = offering.title(locale)
    if offering.sessions:
        label = f"{label}, {format_short_day(offering.sessions[0].starts_at, locale)}"
    return _("%(course)s (deadline %(day)s)", course=label,
             day=format_short_day(offering.enroll_closes_at, locale))


def _chosen_ids(roster: Roster, form: InvitationChoiceForm) -> list[int]:
    if form.all.data:  # everybody the roster page's filter (its query string) shows
        _table, _filter, people = staff_rosters._completion(roster)
        return [person.entry.id for person in people]
    return [i for i in form.entry.data or [] if i is not None]


@routes.get("/staff/rosters/<int:roster_id>/invite")
@staff_required
def choose_invitations(roster_id: int):
    """The chosen people, the course to invite them to, and what inviting would do."""
    roster = _roster_or_404(roster_id)
    session, now = get_session(), utcnow()
    form = InvitationChoiceForm(request.args)
    ids = _chosen_ids(roster, form)
    if not ids:
        flash(_("Choose the people to invite."), "error")
        return redirect(url_for("enrollment.show_roster", roster_id=roster.id), 303)
    offerings = invitations.invitable_offerings(session, roster, now)
    form.offering.choices = [(o.id, offering_label(o)) for o in offerings]
    plan = confirm = None
    if form.offering.data is not None:
        try:
            plan = invitations.plan(session, roster, ids, form.offering.data, now)
        except NotInvitable as error:
            form.offering.errors = [error.message]
        else:
            confirm = InvitationConfirmForm(formdata=None, offering=plan.offering.id,
                                            entries=",".join(str(i) for i in ids))
    return render_template(
        "enrollment/staff/invite.html", roster=roster, form=form, ids=ids, plan=plan,
        confirm=confirm, title=staff_rosters.roster_title(roster),
        args=request.args.to_dict(flat=False)), 400 if form.offering.errors else 200


@routes.post("/staff/rosters/<int:roster_id>/invite")
@staff_required
def send_invitations(roster_id: int):
    """Record the invitations the page showed (one mail per person, once per course)."""
    roster = _roster_or_404(roster_id)
    form = InvitationConfirmForm()
    if not form.validate_on_submit() or not (form.offering.data or "").isdigit():
        abort(400)  # a forged or stale page: the confirmation only comes from the page
    with refusals() as refusal:
        plan = invitations.invite(get_session(), roster, entry_ids(form.entries.data),
                                  int(form.offering.data),
                                  actor=current_user._get_current_object(), now=utcnow())
    if not refusal:
        flash(_("Invitations sent: %(sent)s. Skipped: %(skipped)s.", sent=len(plan.invite),
                skipped=plan.skipped), "success")
    return redirect(url_for("enrollment.show_roster", roster_id=roster.id), 303)
