"""The audit log's staff page: every staff member reads the events of their own county (an
administrator all of them), newest first, filtered by date, object, action and person.

The log is only read here: no route updates or deletes an event (``core.audit`` writes them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask import Flask, abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import Session
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from core import audit_view
from core.audit import AuditEvent, register_action, register_field, register_subject, words
from core.auth import (
    county_scope,
    staff_required,
)
from core.db import get_session
from core.forms import AppForm
from core.i18n import OSLO
from core.models import County
from core.staff import bp, register_nav

AUDIT_PAGE_SIZE = 50


# The audit log begins with Kursportal; a year far outside would overflow the conversion of
# Oslo midnight to UTC (year 1 or 9999: a 500), and means a typing error anyway.
AUDIT_YEARS = (2000, 2100)


def _iso_date(form, field) -> None:
    """A date written as the browser's date input sends it: 2026-03-01, in AUDIT_YEARS."""
    try:
        day = date.fromisoformat(field.data)
    except ValueError:
        raise ValidationError(_l("Write the date as YYYY-MM-DD.")) from None
    if not AUDIT_YEARS[0] <= day.year <= AUDIT_YEARS[1]:
        raise ValidationError(_l("Choose a date between the years %(first)s and %(last)s.",
                                 first=AUDIT_YEARS[0], last=AUDIT_YEARS[1]))


def _whole_number(form, field) -> None:
    if not (field.data.isdecimal() and 1 <= int(field.data) <= 2**31 - 1):
        raise ValidationError(_l("Enter a whole number."))


class AuditFilterForm(AppForm):
    """The audit log's filters, read from the query string so a search can be bookmarked."""

    class Meta:
        csrf = False  # a search: it changes nothing

    object_type = SelectField(_l("Object type"), validate_choice=False)
    object_id = StringField(_l("Object number"), validators=[Optional(), _whole_number])
    actor = StringField(_l("Done by (e-mail)"), validators=[Optional(), Length(max=254)])
    action = SelectField(_l("Action"), validate_choice=False)
    date_from = StringField(_l("From date"), validators=[Optional(), _iso_date],
                            render_kw={"type": "date"})
    date_to = StringField(_l("To date"), validators=[Optional(), _iso_date],
                          render_kw={"type": "date"})
    page = StringField(_l("Page"), validators=[Optional(), _whole_number])

    @property
    def page_number(self) -> int:
        """The requested page, 1 when none was given."""
        return int(self.page.data) if self.page.data else 1


def _oslo_midnight(day: date) -> datetime:
    """The start of ``day`` in Oslo, in UTC (the audit log stores UTC)."""
    return datetime.combine(day, time(), tzinfo=OSLO).astimezone(UTC)


def audit_conditions(form: AuditFilterForm) -> list[sa.ColumnElement[bool]]:
    """The WHERE clauses of a filtered audit search, always limited to the user's county."""
    conditions = [county_scope(AuditEvent.county_id)]
    if form.object_type.data:
        conditions.append(AuditEvent.object_type == form.object_type.data)
    if form.object_id.data:
        conditions.append(AuditEvent.object_id == int(form.object_id.data))
    if form.actor.data and form.actor.data.strip():
        conditions.append(sa.func.lower(AuditEvent.actor_email).contains(
            form.actor.data.strip().lower(), autoescape=True))
    if form.action.data:
        conditions.append(AuditEvent.action == form.action.data)
    if form.date_from.data:
        conditions.append(AuditEvent.at >= _oslo_midnight(date.fromisoformat(form.date_from.data)))
    if form.date_to.data:
        end = date.fromisoformat(form.date_to.data) + timedelta(days=1)
        conditions.append(AuditEvent.at < _oslo_midnight(end))
    return conditions


@dataclass(frozen=True)
class AuditPage:
    """One page of audit events, newest first."""

    events: list[AuditEvent]
    total: int
    page: int
    pages: int


def audit_page(session: Session, conditions, page: int, per_page: int) -> AuditPage:
    """The events matching ``conditions`` on ``page``: two queries whatever the page holds."""
    total = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(*conditions))
    events = session.scalars(
        sa.select(AuditEvent).where(*conditions)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    return AuditPage(list(events), total, page, max(1, math.ceil(total / per_page)))


def _distinct_values(session: Session, column) -> list[str]:
    """The values of ``column`` among the events the user may see, for the filter choices."""
    stmt = sa.select(column).where(county_scope(AuditEvent.county_id)).distinct().order_by(column)
    return list(session.scalars(stmt))


@bp.get("/audit")
@staff_required
def show_audit():
    """The audit log, newest first, filtered by the query string; read-only."""
    session = get_session()
    form = AuditFilterForm(request.args)
    form.object_type.choices = [("", _("All"))] + _titled(
        _distinct_values(session, AuditEvent.object_type), audit_view.object_type_title)
    form.action.choices = [("", _("All"))] + _titled(
        _distinct_values(session, AuditEvent.action), audit_view.action_title)
    if not form.validate():
        return render_template("staff/audit.html", form=form, page=None), 400
    page = audit_page(session, audit_conditions(form), form.page_number, AUDIT_PAGE_SIZE)
    if form.page_number > page.pages:
        abort(404)
    counties = {}
    if current_user.is_admin:
        counties = {c.id: c for c in session.scalars(sa.select(County))}
    return render_template("staff/audit.html", form=form, page=page, counties=counties,
                           rows=audit_view.describe(session, page.events))


def _titled(codes: list[str], title) -> list[tuple[str, str]]:
    """Filter choices: each code with its title, in the order of the titles."""
    registered = words()
    return sorted(((code, title(code, registered)) for code in codes),
                  key=lambda choice: choice[1].casefold())


# What core itself writes: the staff accounts' events.
CORE_ACTIONS = {
    "staff.create": _l("Staff account created"),
    "staff.activate": _l("Staff account activated"),
    "staff.deactivate": _l("Staff account deactivated"),
    "staff.change_scope": _l("Staff member's county office or rights changed"),
    "staff.password_reset": _l("Password reset"),
    "staff.logout_all": _l("Logged out everywhere"),
    "staff.two_factor_setup": _l("Second step of the login set up"),
    "staff.two_factor_reset": _l("Second step of the login reset"),
    "staff.recovery_code_used": _l("Recovery code used"),
}
CORE_FIELDS = {
    "email": _l("E-mail"), "name": _l("Name"), "county": _l("County office"),
    "admin": _l("Administrator"), "active": _l("Active"), "locale": _l("Language"),
    "sessions": _l("Sessions ended"), "sessions_ended": _l("Sessions ended"),
    "two_factor": _l("Second step of the login"), "left": _l("Recovery codes left"),
}


def init_app(app: Flask) -> None:
    """Add the audit log to the staff navigation, with the words of core's own events."""
    register_nav(app, "staff.show_audit", _l("Audit log"))
    register_subject(app, "staff_user", _l("Staff account"), audit_view.staff_names)
    register_subject(app, "county", _l("County office"), audit_view.county_names)
    for name, title in CORE_ACTIONS.items():
        register_action(app, name, title)
    for name, title in CORE_FIELDS.items():
        register_field(app, name, title)
    register_field(app, "county_id", _l("County office"), refers_to="county")
