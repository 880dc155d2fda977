"""Public pages of the enrollment plugin: the catalog, the course page and its .ics file."""

from __future__ import annotations

from flask import Response, abort, current_app, render_template, request
from flask_babel import gettext as _

from core.caching import public_page
from core.db import get_session, utcnow
from core.i18n import current_locale
from core.routes import Routes
from core.web import external_url, public_host
from enrollment.calendar import offering_ics
from enrollment.forms.public import PUBLIC_ROLES, CatalogFilterForm
from enrollment.models import Role
from enrollment.services import catalog, cohorts

routes = Routes()


def _filter_form(session) -> tuple[CatalogFilterForm, list, list]:
    counties, kinds, known_cohorts = catalog.filter_choices(session)
    form = CatalogFilterForm(request.args)
    locale = current_locale()
    form.county.choices = [("", _("All offices"))] + [(c.slug, c.name(locale)) for c in counties]
    form.kind.choices = [("", _("All courses"))] + [(k.code, k.name(locale)) for k in kinds]
    form.role.choices = [("", _("Anyone"))] + [(r.value, r.title) for r in PUBLIC_ROLES]
    form.cohort.choices = [("", _("All cohorts"))] + [
        (cohorts.cohort_code(c), cohorts.cohort_label(c)) for c in known_cohorts
    ]
    return form, counties, kinds


def _public_pages_changed_at():
    return catalog.last_change(get_session(), utcnow())


@routes.get("/")
@public_page(_public_pages_changed_at)
def show_catalog():
    """The catalog of published offerings, filtered by the query string."""
    session = get_session()
    form, counties, kinds = _filter_form(session)
    if not form.validate():
        return render_template("enrollment/catalog.html", form=form, page=None), 400
    try:
        flt = catalog.make_filter(
            counties, kinds, county=form.county.data, kind=form.kind.data,
            role=Role(form.role.data) if form.role.data else None,
            cohort=cohorts.parse_cohort(form.cohort.data) if form.cohort.data else None,
            open_only=form.open.data,
        )
    except catalog.UnknownChoice:  # the form has checked the kind: an unknown office
        abort(404)
    per_page = current_app.config["CATALOG_PAGE_SIZE"]
    page = catalog.catalog_page(session, flt, form.page_number, per_page, utcnow(),
                                counties, kinds)
    if form.page_number > page.pages:
        abort(404)
    return render_template("enrollment/catalog.html", form=form, page=page, now=utcnow())


@routes.get("/courses/<int:offering_id>")
@public_page(_public_pages_changed_at)
def show_course(offering_id: int):
    """The public page of one offering."""
    offering = catalog.load_offering(get_session(), offering_id)
    if offering is None:
        abort(404)
    return render_template("enrollment/course.html", offering=offering, now=utcnow())


@routes.get("/courses/<int:offering_id>.ics")
@public_page(_public_pages_changed_at)
def download_ics(offering_id: int):
    """The offering's sessions as an iCalendar file."""
    offering = catalog.load_offering(get_session(), offering_id)
    if offering is None:
        abort(404)
    body = offering_ics(offering, current_locale(), public_host(),
                        external_url("enrollment.show_course", offering_id=offering.id))
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="course-{offering.id}.ics"'},
    )
