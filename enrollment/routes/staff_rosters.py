"""Staff pages for cohort rosters: the list, uploading a file with its preview, confirming or
discarding it, a roster's completion table with its filters and exports, and the enrollments
whose match to an entry staff decide by hand.

Every roster and upload is loaded through ``scoped_or_404``: another county's answers 404, as a
missing one does. The rules are in ``enrollment.services.rosters`` and ``.completion``.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload

from core.auth import county_scope, scoped_or_404, staff_required, visible_counties
from core.db import get_session, utcnow
from core.exports import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE, download
from core.i18n import current_locale
from core.routes import Routes
from core.transaction import refusals
from core.web import no_store
from enrollment import roster_exports, roster_files
from enrollment.forms.rosters import (
    CompletionFilterForm,
    ImportDecisionForm,
    MatchForm,
    RosterUploadForm,
)
from enrollment.models import Role, Roster, RosterImport
from enrollment.services import cohorts, completion, rosters

routes = Routes()

STAFF_ENDPOINTS = frozenset({
    "list_rosters", "upload_roster", "show_roster_import", "confirm_roster_import",
    "discard_roster_import", "show_roster", "export_roster_csv", "export_roster_xlsx",
    "list_roster_matches", "choose_roster_match",
})


@routes.after_request
def _roster_pages_are_not_cached(response):
    if request.endpoint and request.endpoint.split(".")[-1] in STAFF_ENDPOINTS:
        no_store(response)
    return response


def _actor():
    return current_user._get_current_object()


def _roster_or_404(roster_id: int) -> Roster:
    return scoped_or_404(sa.select(Roster).where(Roster.id == roster_id)
                         .options(joinedload(Roster.county)), Roster.county_id)


def _upload_or_404(import_id: int) -> RosterImport:
    return scoped_or_404(sa.select(RosterImport).where(RosterImport.id == import_id)
                         .options(joinedload(RosterImport.county)), RosterImport.county_id)


def roster_title(roster: Roster | RosterImport) -> str:
    """'LIS1 doctors, Spring 2026 — Vestland': what a roster (or an upload for one) is."""
    return _("%(role)s, %(cohort)s — %(county)s", role=roster.role.title,
             cohort=cohorts.cohort_short(roster.cohort), county=roster.county.name())


@routes.get("/staff/rosters")
@staff_required
def list_rosters():
    """The office's rosters with how many people each lists, and the latest uploads."""
    session = get_session()
    listed = rosters.rosters_with_counts(session, county_scope(Roster.county_id))
    uploads = rosters.latest_uploads(session, county_scope(RosterImport.county_id))
    return render_template("enrollment/staff/rosters.html", rosters=listed, uploads=uploads,
                           title=roster_title)


def _cohort_choices() -> list[tuple[str, str]]:
    year = utcnow().year
    return [(cohorts.cohort_code(c), cohorts.cohort_label(c))
            for scheme in cohorts.SCHEME_MONTHS
            for c in cohorts.cohorts_between(scheme, year - 1, year + 1)]


@routes.route("/staff/rosters/upload", methods=["GET", "POST"])
@staff_required
def upload_roster():
    """Upload a roster file; it is checked and shown for review, not applied."""
    session = get_session()
    form = RosterUploadForm()
    form.county.choices = [(c.id, c.name()) for c in visible_counties(session)]
    form.cohort.choices = _cohort_choices()
    if form.validate_on_submit():
        role = Role(form.role.data)
        cohort = cohorts.parse_cohort(form.cohort.data, rosters.role_scheme(session, role))
        if cohort is None:
            form.cohort.errors.append(_("This cohort does not fit the role."))
        else:
            upload_file = form.file.data
            with refusals(form) as refusal:
                upload = rosters.stage_import(
                    session, county_id=form.county.data, role=role, cohort=cohort,
                    filename=upload_file.filename or "", data=upload_file.read(
                        roster_files.MAX_BYTES + 1), actor=_actor())
            if not refusal:
                return redirect(url_for("enrollment.show_roster_import", import_id=upload.id),
                                303)
    return render_template("enrollment/staff/roster_upload.html", form=form,
                           limits=roster_files), 400 if form.errors else 200


@routes.get("/staff/rosters/imports/<int:import_id>")
@staff_required
def show_roster_import(import_id: int):
    """An uploaded file's lines with their problems, and what confirming would do."""
    upload = _upload_or_404(import_id)
    lines = rosters.preview(get_session(), upload)
    return render_template("enrollment/staff/roster_preview.html", upload=upload, lines=lines,
                           form=ImportDecisionForm(), title=roster_title(upload))


@routes.post("/staff/rosters/imports/<int:import_id>/confirm")
@staff_required
def confirm_roster_import(import_id: int):
    """Apply an uploaded file's good lines to the roster."""
    upload = _upload_or_404(import_id)
    form = ImportDecisionForm()
    if not form.validate_on_submit():
        abort(400)  # no valid CSRF token (test_csrf): the button only comes from the page
    with refusals() as refusal:
        roster = rosters.apply_import(get_session(), upload.id, actor=_actor(), now=utcnow())
    if refusal:
        return redirect(url_for("enrollment.show_roster_import", import_id=upload.id), 303)
    flash(_("Imported: %(added)s added, %(updated)s updated, %(unchanged)s unchanged, "
            "%(skipped)s lines skipped.", **upload.summary), "success")
    return redirect(url_for("enrollment.show_roster", roster_id=roster.id), 303)


@routes.post("/staff/rosters/imports/<int:import_id>/discard")
@staff_required
def discard_roster_import(import_id: int):
    """Throw an uploaded file away without applying it."""
    upload = _upload_or_404(import_id)
    if not ImportDecisionForm().validate_on_submit():
        abort(400)
    with refusals() as refusal:
        rosters.discard_import(get_session(), upload.id, actor=_actor(), now=utcnow())
    if not refusal:
        flash(_("The file is discarded; no roster was changed."), "success")
    return redirect(url_for("enrollment.list_rosters"), 303)


def _completion(roster: Roster):
    """The roster's table, the filter form from the query string, and the people it keeps."""
    session = get_session()
    table = completion.roster_completion(session, roster, utcnow())
    form = CompletionFilterForm(request.args)
    form.kind.choices = [("", _("Any course"))] + [(k.code, k.name()) for k in table.kinds]
    form.state.choices = ([("", _("Any state"))]
                          + [(s.value, s.title) for s in completion.ItemState]
                          + [(completion.NO_CERTIFICATE, _("No certificate yet"))])
    municipalities = rosters.municipalities_of(session, roster.county_id)
    form.municipality.choices = [("", _("All municipalities"))] + [
        (str(m.id), f"{m.number} {m.name}") for m in municipalities]
    chosen = form.municipality.data
    people = table.filtered(form.kind.data or "", form.state.data or "",
                            int(chosen) if chosen and chosen.isdigit() else None)
    return table, form, people


@routes.get("/staff/rosters/<int:roster_id>")
@staff_required
def show_roster(roster_id: int):
    """Every person of the roster and where each mandatory item stands, filtered."""
    roster = _roster_or_404(roster_id)
    table, form, people = _completion(roster)
    return render_template("enrollment/staff/roster.html", roster=roster, table=table,
                           form=form, people=people, title=roster_title(roster),
                           args=request.args.to_dict())


def _download(roster: Roster, body: bytes, extension: str, content_type: str) -> Response:
    return download(body, content_type, f"roster-{roster.id}.{extension}")


@routes.get("/staff/rosters/<int:roster_id>.csv")
@staff_required
def export_roster_csv(roster_id: int):
    """The (filtered) completion table as CSV for Excel."""
    roster = _roster_or_404(roster_id)
    table, _form, people = _completion(roster)
    return _download(roster, roster_exports.to_csv(table, people), "csv",
                     CSV_CONTENT_TYPE)


@routes.get("/staff/rosters/<int:roster_id>.xlsx")
@staff_required
def export_roster_xlsx(roster_id: int):
    """The (filtered) completion table as an Excel workbook."""
    roster = _roster_or_404(roster_id)
    table, _form, people = _completion(roster)
    sheet = f"{cohorts.cohort_short(roster.cohort)} {roster.county.name(current_locale())}"
    return _download(roster, roster_exports.to_xlsx(table, people, sheet), "xlsx",
                     XLSX_CONTENT_TYPE)


def _match_form(ambiguity) -> MatchForm:
    form = MatchForm(prefix=f"e{ambiguity.enrollment.id}", formdata=None)
    form.entry.choices = [(c.id, f"{c.full_name} ({c.hpr_number or '—'}, {c.email})")
                          for c in ambiguity.candidates] + [(0, _("None of them"))]
    if ambiguity.chosen is not None:
        form.entry.data = ambiguity.chosen.entry_id or 0
    return form


@routes.get("/staff/rosters/<int:roster_id>/matches")
@staff_required
def list_roster_matches(roster_id: int):
    """The enrollments that could belong to more than one person, with staff's choices."""
    roster = _roster_or_404(roster_id)
    table = completion.roster_completion(get_session(), roster, utcnow())
    forms = {a.enrollment.id: _match_form(a) for a in table.ambiguities}
    return render_template("enrollment/staff/roster_matches.html", roster=roster, table=table,
                           forms=forms, title=roster_title(roster))


@routes.post("/staff/rosters/<int:roster_id>/matches/<int:enrollment_id>")
@staff_required
def choose_roster_match(roster_id: int, enrollment_id: int):
    """Record which person an ambiguous enrollment belongs to."""
    roster = _roster_or_404(roster_id)
    form = MatchForm(prefix=f"e{enrollment_id}")
    form.entry.choices = []
    if not form.validate_on_submit():
        abort(400)
    with refusals() as refusal:
        completion.choose_match(get_session(), roster, enrollment_id,
                                form.entry.data or None, actor=_actor(), now=utcnow())
    if not refusal:
        flash(_("The choice is saved."), "success")
    return redirect(url_for("enrollment.list_roster_matches", roster_id=roster.id), 303)
