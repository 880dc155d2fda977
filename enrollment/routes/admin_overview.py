"""The administrators' national overview: per turnus region, county and cohort, as a page with
charts and a table, and as CSV. County staff get 404, as for every administrators' page."""

from __future__ import annotations

from flask import abort, make_response, render_template, request

from core.auth import admin_required
from core.db import get_session, utcnow
from core.exports import CSV_CONTENT_TYPE, download
from core.i18n import to_local
from core.models import Region
from core.routes import Routes
from core.web import no_store
from enrollment import overview_exports
from enrollment.services import cohorts, dashboard, overview

routes = Routes()


def _choices() -> list:
    year = utcnow().year
    return sorted(c for scheme in cohorts.SCHEME_MONTHS
                  for c in cohorts.cohorts_between(scheme, year - 2, year + 1))


def _board() -> overview.Overview:
    now = utcnow()
    codes = request.args.getlist("cohort")
    chosen = [cohorts.parse_cohort(code) for code in codes if code]
    if any(c is None for c in chosen):
        abort(404)
    region = None
    if request.args.get("region"):
        try:
            region = Region(request.args["region"])
        except ValueError:
            abort(404)
    shown = chosen or list(dashboard.current_cohorts(to_local(now).date()))
    return overview.overview(get_session(), shown, now, region)


@routes.get("/staff/overview")
@admin_required
def show_overview():
    """Roster people, completions, waiting lists, no-shows and plugins' figures, per region,
    county and cohort."""
    board = _board()
    return no_store(make_response(render_template(
        "enrollment/staff/overview.html", board=board, choices=_choices(), regions=list(Region),
        percent=dashboard.percent, cohort_short=cohorts.cohort_short, args=request.args)))


@routes.get("/staff/overview.csv")
@admin_required
def download_overview():
    """The overview's figures as CSV, with the page's filters."""
    body = overview_exports.to_csv(_board())
    return no_store(download(body, CSV_CONTENT_TYPE, "national-overview.csv"))
