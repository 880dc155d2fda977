"""The staff API of an offering (issue 19): its participants as the staff participant list
shows them, and its attendance, read and recorded with the attendance page's time rules.

Each operation needs a personal access token (``core.api.operations.staff``) and loads the
offering or course day through ``scoped_or_404``, as the pages do: another office's ids answer
404 and change nothing. The lists come from ``services.participants.roster`` and
``services.attendance``; marks are saved by ``services.attendance.save_attendance``, which
refuses a course day that has not begun and publishes ``attendance_recorded`` (the audit event,
and the certificates the marks make due).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field
from spectree import Response

from core.api.operations import staff
from core.api.problems import Problem, problem
from core.api.spec import link, spec
from core.api.web import BadCursor, bad_cursor, decode_cursor, encode_cursor, private_json
from core.auth import scoped_or_404
from core.db import get_session, utcnow
from core.routes import Routes
from enrollment.errors import EnrollmentError
from enrollment.models import (
    CourseOffering,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    Role,
)
from enrollment.services import attendance, participants

routes = Routes()

RoleValue = Literal[tuple(r.value for r in Role)]
StatusValue = Literal[tuple(s.value for s in EnrollmentStatus)]
MarkValue = Literal[tuple(m.value for m in attendance.Mark)]
TOKEN = {"token": []}
PATH = {"offering_id": "The offering's id.", "session_id": "The course day's id."}


def refused(error: EnrollmentError, **extra):
    """A rule's refusal as a problem with the page's words: 409 when the state of things does
    not allow it now, 422 when the request itself breaks the rule."""
    return problem(409 if error.status == 409 else 422, error.message, **extra)


def _offering_or_404(offering_id: int) -> CourseOffering:
    return scoped_or_404(sa.select(CourseOffering).where(CourseOffering.id == offering_id),
                         CourseOffering.county_id)


# --- participants --------------------------------------------------------------------------------


class ParticipantQuery(BaseModel):
    """Which page of an offering's participants."""

    model_config = ConfigDict(extra="forbid")

    cursor: str | None = Field(None, max_length=200,
                               description="The next_cursor of the previous page.")
    limit: int = Field(100, ge=1, le=200, description="At most this many on a page.")


class ParticipantOut(BaseModel):
    """One enrollment of the offering, as the staff participant list shows it."""

    enrollment_id: int = Field(description="The enrollment's id (attendance marks name it).")
    name: str = Field(description="The participant's full name.")
    email: str = Field(description="The participant's e-mail address.")
    phone: str = Field(description="The participant's mobile number, as given.")
    role: RoleValue = Field(description="The role the participant enrolled in.")
    hpr_number: str | None = Field(description="The HPR number, if given.")
    employer: str = Field(description="The employer, as given.")
    needs: str = Field(description="Needs the participant wrote (diet, access …).")
    start_month: date | None = Field(
        description="The first day of the month the participant starts in the municipality.")
    status: StatusValue = Field(description="Where the enrollment stands.")
    status_text: str = Field(description="The status in words, in the request's language "
                                         "('Course cancelled' when the office called it off).")
    status_reason: str = Field(description="The reason given for a rejection or a "
                                           "cancellation, if any.")
    waitlist_position: int | None = Field(
        description="The place on the waiting list (1 is next in line); null when not on it.")
    offer_expires_at: datetime | None = Field(
        description="Until when an offered seat may be accepted (status 'offered').")
    enrolled_at: datetime = Field(description="When the enrollment arrived.")


class ParticipantPage(BaseModel):
    """An offering's enrollments in the participant list's order: confirmed (by name), pending
    approval, offered a seat, the waiting list in order, then withdrawn and rejected."""

    offering_id: int = Field(description="The offering's id.")
    items: list[ParticipantOut] = Field(description="This page's enrollments.")
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null on "
                                                "the last page.")


def _participant(enrollment: Enrollment, place: int | None) -> ParticipantOut:
    person = enrollment.participant
    return ParticipantOut(
        enrollment_id=enrollment.id, name=person.full_name, email=person.email,
        phone=person.phone, role=enrollment.role.value, hpr_number=person.hpr_number,
        employer=person.employer, needs=enrollment.needs, start_month=enrollment.start_month,
        status=enrollment.status.value, status_text=str(enrollment.status_title),
        status_reason=enrollment.status_reason, waitlist_position=place,
        offer_expires_at=enrollment.offer_expires_at, enrolled_at=enrollment.arrived_at)


def _start(rows: list[tuple[Enrollment, int | None]], cursor: str | None) -> int:
    """Where a page starts: after the enrollment the cursor names, or, when that one has left
    the list meanwhile, after as many as were given."""
    if cursor is None:
        return 0
    given, last_id = decode_cursor(cursor, (int, int))
    for index, (enrollment, _place) in enumerate(rows):
        if enrollment.id == last_id:
            return index + 1
    return max(given, 0)


@routes.get("/api/v1/offerings/<int:offering_id>/participants")
@staff()
@spec.validate(query=ParticipantQuery,
               resp=Response(HTTP_200=ParticipantPage, HTTP_400=Problem, HTTP_401=Problem,
                             HTTP_404=Problem, HTTP_422=Problem),
               tags=["staff"], security=TOKEN, path_parameter_descriptions=PATH,
               operation_id="listParticipants")
def list_participants_api(offering_id: int, query: ParticipantQuery):
    """The participants of an offering

    Every enrollment, in the order and with the details of the staff participant list (the
    same service), a page at a time."""
    offering = _offering_or_404(offering_id)
    rows = participants.roster(get_session(), offering.id).rows()
    try:
        start = _start(rows, query.cursor)
    except BadCursor:
        return bad_cursor()
    page = rows[start:start + query.limit]
    after = start + len(page)
    return private_json(ParticipantPage(
        offering_id=offering.id, items=[_participant(e, place) for e, place in page],
        next_cursor=encode_cursor([after, page[-1][0].id]) if after < len(rows) else None))


# --- attendance ----------------------------------------------------------------------------------


class AttendanceMarkOut(BaseModel):
    """A confirmed participant's mark for one course day."""

    enrollment_id: int = Field(description="The enrollment's id.")
    name: str = Field(description="The participant's full name.")
    mark: MarkValue = Field(description="present, absent (a no-show), or not_recorded.")


class AttendanceSessionOut(BaseModel):
    """One course day of the offering and the marks of its confirmed participants."""

    session_id: int = Field(description="The course day's id.")
    starts_at: datetime = Field(description="When the course day begins.")
    ends_at: datetime = Field(description="When the course day ends.")
    place: str = Field(description="Where it is held, if it differs from the venue.")
    open: bool = Field(description="Whether attendance can be recorded: the day has begun.")
    marks: list[AttendanceMarkOut] = Field(
        description="Each confirmed participant, in Norwegian name order.")


class AttendanceOut(BaseModel):
    """The attendance of every course day of an offering."""

    offering_id: int = Field(description="The offering's id.")
    sessions: list[AttendanceSessionOut] = Field(description="The course days, first first.")


def _day(course_session: CourseSession, people: list[Enrollment],
         marks: dict[tuple[int, int], bool], now: datetime) -> AttendanceSessionOut:
    return AttendanceSessionOut(
        session_id=course_session.id, starts_at=course_session.starts_at,
        ends_at=course_session.ends_at, place=course_session.place,
        open=attendance.is_open(course_session, now),
        marks=[AttendanceMarkOut(enrollment_id=e.id, name=e.participant.full_name,
                                 mark=attendance.Mark.of(marks.get((course_session.id, e.id))))
               for e in people])


@routes.get("/api/v1/offerings/<int:offering_id>/attendance")
@staff()
@spec.validate(resp=Response(HTTP_200=AttendanceOut, HTTP_401=Problem, HTTP_404=Problem),
               tags=["staff"], security=TOKEN, path_parameter_descriptions=PATH,
               operation_id="getAttendance")
def get_attendance(offering_id: int):
    """The attendance of an offering

    Per course day, each confirmed participant: present, absent or not recorded, as the
    attendance page shows them."""
    offering = _offering_or_404(offering_id)
    people, marks = attendance.offering_marks(get_session(), offering.id)
    now = utcnow()
    return private_json(AttendanceOut(offering_id=offering.id, sessions=[
        _day(day, people, marks, now) for day in offering.sessions]))


class AttendanceMarkIn(BaseModel):
    """One participant's mark for the course day."""

    model_config = ConfigDict(extra="forbid")

    enrollment_id: int = Field(ge=1, description="A confirmed enrollment of the offering.")
    present: bool | None = Field(description="true: present; false: absent (a no-show); "
                                             "null: remove the mark (not recorded).")


class AttendanceMarksIn(BaseModel):
    """The marks to record; participants not named keep their marks."""

    model_config = ConfigDict(extra="forbid")

    marks: list[AttendanceMarkIn] = Field(max_length=2000, description="One per participant.")


class AttendanceRecorded(BaseModel):
    """The course day's marks after the save."""

    session: AttendanceSessionOut = Field(description="The course day and every mark now.")
    changed: int = Field(description="How many marks the save changed.")
    ignored: list[int] = Field(description="Enrollment ids that are not confirmed in the "
                                           "offering (cancelled since, or not in it): no "
                                           "mark was stored for them.")


def _course_session_or_404(offering_id: int, session_id: int) -> CourseSession:
    return scoped_or_404(
        sa.select(CourseSession).join(CourseSession.offering)
        .where(CourseSession.id == session_id, CourseSession.offering_id == offering_id),
        CourseOffering.county_id)


@routes.route("/api/v1/offerings/<int:offering_id>/sessions/<int:session_id>/attendance",
              methods=["PUT"])
@staff(write=True)
@spec.validate(json=AttendanceMarksIn,
               resp=Response(HTTP_200=AttendanceRecorded, HTTP_401=Problem, HTTP_403=Problem,
                             HTTP_404=Problem, HTTP_409=Problem, HTTP_422=Problem),
               tags=["staff"], security=TOKEN, path_parameter_descriptions=PATH,
               operation_id="recordAttendance")
def record_attendance(offering_id: int, session_id: int, json: AttendanceMarksIn):
    """Record attendance for a course day

    As the attendance page saves it, by the same service and rules: only once the day has
    begun (409 before, with the page's message), corrections afterwards allowed; each save is
    in the audit log and makes due the certificates it completes. Needs a read-write token."""
    course_session = _course_session_or_404(offering_id, session_id)
    ids = [m.enrollment_id for m in json.marks]
    if len(set(ids)) != len(ids):
        return problem(422, _("Give each participant one mark only."))
    db = get_session()
    try:
        saved = attendance.save_attendance(
            db, course_session, {m.enrollment_id: attendance.Mark.of(m.present)
                                 for m in json.marks}, current_user._get_current_object())
    except EnrollmentError as error:
        return refused(error)
    people, marks = attendance.offering_marks(db, offering_id)
    return private_json(AttendanceRecorded(
        session=_day(course_session, people, marks, utcnow()), changed=saved.changed,
        ignored=[i for i in ids if i not in saved.after]))


link("getAttendance", 200, "recordAttendance", "recordAttendance",
     {"offering_id": "$response.body#/offering_id",
      "session_id": "$response.body#/sessions/0/session_id"})
