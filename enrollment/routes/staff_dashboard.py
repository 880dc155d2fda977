"""The staff dashboard: seats, waiting lists and attendance of the current and next cohort's
offerings, limited by ``county_scope`` (administrators may pick a county)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import abort, make_response, render_template, request
from flask_login import current_user

from core.auth import county_scope, staff_required, visible_counties
from core.db import get_session, utcnow
from core.routes import Routes
from core.web import no_store
from enrollment.models import CourseOffering
from enrollment.services import dashboard

routes = Routes()


def _chart_labels(stats: list[dashboard.OfferingStats], with_county: bool) -> list[str]:
    return [f"{s.offering.title()} – {s.offering.county.name()}" if with_county
            else s.offering.title() for s in stats]


@routes.get("/staff/")
@staff_required
def show_dashboard():
    """Seats, waiting lists and attendance of the current and next cohort's offerings."""
    db = get_session()
    scope = county_scope(CourseOffering.county_id)
    counties = visible_counties(db) if current_user.is_admin else []
    county = None
    if request.args.get("county"):
        county = next((c for c in counties if c.slug == request.args["county"]), None)
        if county is None:
            abort(404)
        scope = sa.and_(scope, CourseOffering.county_id == county.id)
    now: datetime = utcnow()
    board = dashboard.dashboard(db, scope, now)
    labels = _chart_labels(board.offerings, current_user.is_admin and county is None)
    return no_store(make_response(render_template(
        "enrollment/staff/dashboard.html", board=board, counties=counties, county=county,
        labels=labels, seats_chart=dashboard.seats_chart(board.offerings, labels),
        attendance_chart=dashboard.attendance_chart(board.offerings, labels),
        percent=dashboard.percent, now=now)))
