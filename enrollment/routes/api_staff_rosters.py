"""The staff API for cohort rosters (issue 19): the office's rosters, and importing a file into
one as the roster pages do, preview first, then confirm.

The file is read and checked by ``services.rosters.stage_import`` (the upload page's service:
the same formats, limits and line checks, the same messages); nothing of the roster changes
until ``confirm``, which is ``services.rosters.apply_import`` (a second confirmation is refused,
as on the page). Rosters and uploads are loaded through ``scoped_or_404``: another office's
ids answer 404 and change nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, Field
from spectree import Response
from spectree.model_adapter.pydantic_adapter import BaseFile
from werkzeug.datastructures import FileStorage

from core.api.operations import staff
from core.api.problems import FieldProblem, Problem, problem
from core.api.spec import link, spec
from core.api.web import private_json
from core.auth import county_scope, scoped_or_404
from core.db import get_session, utcnow
from core.routes import Routes
from enrollment import roster_files
from enrollment.errors import EnrollmentError, RosterFileRejected
from enrollment.models import ImportStatus, Roster, RosterImport
from enrollment.routes.api_staff import TOKEN, RoleValue, refused
from enrollment.services import rosters

routes = Routes()
PATH = {"roster_id": "The roster's id (listRosters).", "import_id": "The upload's id."}


class RosterOut(BaseModel):
    """A roster: the people of one role starting in one cohort at the office."""

    id: int = Field(description="The roster's id (imports go to it).")
    role: RoleValue = Field(description="Whom it lists.")
    cohort: date = Field(description="The cohort's first day.")
    people: int = Field(description="How many people it lists.")
    updated_at: datetime = Field(description="When it last changed.")


class RosterList(BaseModel):
    """The office's rosters, newest cohort first."""

    items: list[RosterOut] = Field(description="Every roster of the token's office.")


@routes.get("/api/v1/rosters")
@staff()
@spec.validate(resp=Response(HTTP_200=RosterList, HTTP_401=Problem), tags=["staff"],
               security=TOKEN,
               operation_id="listRosters")
def list_rosters_api():
    """The office's rosters

    With how many people each lists, as the roster page shows them."""
    rows = rosters.rosters_with_counts(get_session(), county_scope(Roster.county_id))
    return private_json(RosterList(items=[
        RosterOut(id=r.id, role=r.role.value, cohort=r.cohort, people=n, updated_at=r.updated_at)
        for r, n in rows]))


class RosterUpload(BaseModel):
    """A roster file, sent as multipart/form-data."""

    file: BaseFile = Field(description="The file: CSV (';' or ',', UTF-8 or Windows-1252) or "
                                       "an Excel workbook (.xlsx, first sheet).")


class RosterLineError(BaseModel):
    """What is wrong with a line."""

    code: str = Field(description="Which check the line fails (stable, for programs).")
    message: str = Field(description="The problem in words, in the request's language.")


class RosterImportLine(BaseModel):
    """One line of the file, checked."""

    line: int = Field(description="The line's number in the file (the header is line 1).")
    action: Literal["new", "update", "unchanged", "skip"] = Field(
        description="What confirming does with it: adds a person, updates one, changes "
                    "nothing, or skips it for its errors.")
    full_name: str = Field(description="The name, as read.")
    email: str = Field(description="The e-mail address, as read (lower case when valid).")
    hpr_number: str | None = Field(description="The HPR number, if given.")
    municipality: str | None = Field(description="The municipality found ('4601 Bergen'), "
                                                 "else as written.")
    start_date: str = Field(description="The start date (ISO when valid, else as written).")
    errors: list[RosterLineError] = Field(description="Empty for a good line.")


class RosterImportOut(BaseModel):
    """An uploaded file awaiting confirmation: what confirming would do, line by line."""

    import_id: int = Field(description="The upload's id, to confirm it.")
    roster_id: int = Field(description="The roster it is for.")
    status: Literal[tuple(s.value for s in ImportStatus)] = Field(
        description="Where it stands: staged (awaiting confirmation), applied or discarded.")
    lines: list[RosterImportLine] = Field(description="Every line of the file, in order.")


class RosterImportApplied(BaseModel):
    """What confirming an upload did to the roster."""

    roster_id: int = Field(description="The roster.")
    added: int = Field(description="People added.")
    updated: int = Field(description="People whose details changed.")
    unchanged: int = Field(description="Lines that changed nothing.")
    skipped: int = Field(description="Lines left out for their errors.")


def _roster_or_404(roster_id: int) -> Roster:
    return scoped_or_404(sa.select(Roster).where(Roster.id == roster_id), Roster.county_id)


def _preview(upload: RosterImport, roster: Roster) -> RosterImportOut:
    lines = [RosterImportLine(
        line=p.line, action=p.action or "skip", full_name=p.values["full_name"],
        email=p.values["email"], hpr_number=p.values["hpr_number"],
        municipality=p.values.get("municipality"), start_date=p.values["start_date"],
        errors=[RosterLineError(code=c, message=m) for c, m in zip(p.problems, p.messages,
                                                                   strict=True)])
        for p in rosters.preview(get_session(), upload)]
    return RosterImportOut(import_id=upload.id, roster_id=roster.id,
                           status=upload.status.value, lines=lines)


@routes.post("/api/v1/rosters/<int:roster_id>/imports")
@staff(write=True)
@spec.validate(form=RosterUpload,
               resp=Response(HTTP_201=RosterImportOut, HTTP_401=Problem, HTTP_403=Problem,
                             HTTP_404=Problem, HTTP_413=Problem, HTTP_415=Problem,
                             HTTP_422=Problem),
               tags=["staff"], security=TOKEN, path_parameter_descriptions=PATH,
               operation_id="importRoster")
def import_roster(roster_id: int, form: RosterUpload):
    """Upload a file to a roster

    The body is multipart/form-data with the file in the part ``file``: CSV or an Excel
    workbook (.xlsx), with the columns of the roster upload page (name, e-mail, municipality,
    start date; HPR number and role may be added), at most 2 MB and 2,000 people. Every line is
    checked as on the page, and the answer lists each line with what confirming would do and
    its errors; nothing of the roster changes until the upload is confirmed. Needs a
    read-write token."""
    roster = _roster_or_404(roster_id)
    if form is None:  # spectree reads only a form body: anything else reaches here unread
        return problem(415, _("Send the file as multipart/form-data, in a part named file."))
    if not isinstance(form.file, FileStorage):
        return problem(422, _("Choose the file to upload."),
                       errors=[FieldProblem(field="file", message=_("Choose the file to "
                                                                    "upload."))])
    try:
        upload = rosters.stage_import(
            get_session(), county_id=roster.county_id, role=roster.role,
            cohort=roster.cohort, filename=form.file.filename or "",
            data=form.file.read(roster_files.MAX_BYTES + 1),
            actor=current_user._get_current_object())
    except RosterFileRejected as error:
        return refused(error, errors=[FieldProblem(field="file", message=error.message)])
    return private_json(_preview(upload, roster), status=201)


@routes.post("/api/v1/rosters/<int:roster_id>/imports/<int:import_id>/confirm")
@staff(write=True)
@spec.validate(resp=Response(HTTP_200=RosterImportApplied, HTTP_401=Problem, HTTP_403=Problem,
                             HTTP_404=Problem, HTTP_409=Problem, HTTP_422=Problem),
               tags=["staff"], security=TOKEN, path_parameter_descriptions=PATH,
               operation_id="confirmRosterImport")
def confirm_roster_import_api(roster_id: int, import_id: int):
    """Confirm an upload

    Applies the upload's good lines to the roster, as the page's Confirm button: a line
    updates the person with its HPR number, else its e-mail address, or adds one. An upload
    already confirmed or discarded is refused (409), and so is one whose every line has an
    error (422). Needs a read-write token."""
    roster = _roster_or_404(roster_id)
    upload = scoped_or_404(
        sa.select(RosterImport).where(
            RosterImport.id == import_id, RosterImport.county_id == roster.county_id,
            RosterImport.role == roster.role, RosterImport.cohort == roster.cohort),
        RosterImport.county_id)
    try:
        rosters.apply_import(get_session(), upload.id, actor=current_user._get_current_object(),
                             now=utcnow())
    except EnrollmentError as error:
        return refused(error)
    return private_json(RosterImportApplied(roster_id=roster.id, **upload.summary))


link("listRosters", 200, "importRoster", "importRoster",
     {"roster_id": "$response.body#/items/0/id"})
link("importRoster", 201, "confirmRosterImport", "confirmRosterImport",
     {"roster_id": "$response.body#/roster_id", "import_id": "$response.body#/import_id"})
