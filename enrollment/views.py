"""Public pages of the enrollment plugin: the catalog and the course pages."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import gettext as _

from core.db import get_session, utcnow
from core.i18n import current_locale
from enrollment import catalog
from enrollment.calendar import offering_ics
from enrollment.forms import PUBLIC_ROLES, CatalogFilterForm
from enrollment.models import Role

bp = Blueprint("enrollment", __name__, template_folder="templates")


def _filter_form(session) -> tuple[CatalogFilterForm, list, list]:
    counties, kinds, cohorts = catalog.filter_choices(session)
    form = CatalogFilterForm(request.args)
    locale = current_locale()
    form.county.choices = [("", _("All offices"))] + [(c.slug, c.name(locale)) for c in counties]
    form.kind.choices = [("", _("All courses"))] + [(k.code, k.name(locale)) for k in kinds]
    form.role.choices = [("", _("Anyone"))] + [(r.value, r.title) for r in PUBLIC_ROLES]
    form.cohort.choices = [("", _("All cohorts"))] + [
        (catalog.cohort_code(c), catalog.cohort_label(c)) for c in cohorts
    ]
    return form, counties, kinds


@bp.get("/")
def show_catalog():
    """The catalog of published offerings, filtered by the query string."""
    session = get_session()
    form, counties, kinds = _filter_form(session)
    if not form.validate():
        return render_template("enrollment/catalog.html", form=form, page=None), 400
    county = next((c for c in counties if c.slug == form.county.data), None)
    if form.county.data and county is None:
        abort(404)
    flt = catalog.CatalogFilter(
        county_id=county.id if county else None,
        kind_id=next((k.id for k in kinds if k.code == form.kind.data), None),
        role=Role(form.role.data) if form.role.data else None,
        cohort=catalog.parse_cohort(form.cohort.data) if form.cohort.data else None,
        open_only=form.open.data,
    )
    per_page = current_app.config["CATALOG_PAGE_SIZE"]
    page = catalog.catalog_page(session, flt, form.page_number, per_page, utcnow())
    if form.page_number > page.pages:
        abort(404)
    return render_template("enrollment/catalog.html", form=form, page=page, now=utcnow())


@bp.get("/courses/<int:offering_id>")
def show_course(offering_id: int):
    """The public page of one offering."""
    offering = catalog.load_offering(get_session(), offering_id)
    if offering is None:
        abort(404)
    return render_template("enrollment/course.html", offering=offering, now=utcnow())


@bp.get("/courses/<int:offering_id>.ics")
def download_ics(offering_id: int):
    """The offering's sessions as an iCalendar file."""
    offering = catalog.load_offering(get_session(), offering_id)
    if offering is None:
        abort(404)
    body = offering_ics(offering, current_locale(), request.host)
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="course-{offering.id}.ics"'},
    )


@bp.app_template_global()
def cohort_label(cohort) -> str:
    """Template access to the translated cohort label."""
    return catalog.cohort_label(cohort)


@bp.app_template_global()
def roles_in_order(roles) -> list[Role]:
    """Roles in the order the forms list them."""
    return [r for r in Role if r in roles]
