"""Staff pages for course offerings: the list, create and edit, publish, unpublish and cancel,
the sessions of an offering, and (administrators) the learning objectives of each course kind.

Views are thin: they load objects only through ``scoped_or_404`` / ``county_scope``, validate
the form, call ``enrollment.offerings`` and commit once.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy.orm import contains_eager, joinedload, selectinload
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    Optional,
    ValidationError,
)

from core.auth import admin_required, county_scope, scoped_or_404, staff_required, visible_counties
from core.db import get_session, utcnow
from core.forms import AppForm
from core.i18n import OSLO
from core.web import no_store
from enrollment import cohorts, offerings
from enrollment.forms import IntegerRange, no_control_characters, strip
from enrollment.models import (
    CohortScheme,
    CourseKind,
    CourseOffering,
    CourseSession,
    OfferingStatus,
)
from enrollment.views import bp

STATUS_TITLES = {
    OfferingStatus.DRAFT: _l("Draft"),
    OfferingStatus.PUBLISHED: _l("Published"),
    OfferingStatus.CANCELLED: _l("Cancelled"),
}
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]
FIRST_YEAR, LAST_YEAR = 2000, 2100

# The message next to the cohort field when it does not fit the course kind, by the kind's
# scheme and whether it needs a cohort.
COHORT_MESSAGES = {
    (CohortScheme.MUNICIPAL_START, True): _l(
        "Choose a spring or autumn cohort: this course follows the LIS1 doctors' start in the "
        "municipality."),
    (CohortScheme.MUNICIPAL_START, False): _l(
        "Choose a spring or autumn cohort, or none: supervisors of LIS1 doctors follow the "
        "doctors' start in the municipality."),
    (CohortScheme.TURNUS_YEAR, True): _l(
        "Choose an internship year: this course follows the physiotherapy interns' internship "
        "year."),
    (CohortScheme.TURNUS_YEAR, False): _l(
        "Choose an internship year, or none: supervisors of physiotherapy interns follow the "
        "interns' internship year."),
}


# --- forms ------------------------------------------------------------------------------------


def sensible_year(form, field):
    """Refuse dates outside the years the portal can mean (also keeps time-zone sums in range)."""
    if field.data is not None and not FIRST_YEAR <= field.data.year <= LAST_YEAR:
        raise ValidationError(_l("Enter a date between the years 2000 and 2100."))


def _text(label, max_length: int, *, area: bool = False, lang: str | None = None):
    field_class = TextAreaField if area else StringField
    return field_class(
        label, filters=[strip],
        validators=[Optional(), Length(max=max_length, message=_l(
            "At most %(max)d characters.")), no_control_characters],
        render_kw={"lang": lang} if lang else None,
    )


def _moment(label, *, required: bool = True):
    first = (InputRequired(message=_l("Enter a date and time.")) if required else Optional())
    return DateTimeLocalField(
        label, format=DATETIME_FORMATS, validators=[first, sensible_year],
        invalid_value_message=_l("Enter a date and time, like 2026-03-02 09:00."),
    )


def _choice(form, field, message):
    if field.data not in {value for value, _label in field.choices if value}:
        raise ValidationError(message)


class OfferingForm(AppForm):
    """An offering's details; ``county`` is removed for county staff (their own is used)."""

    kind = SelectField(_l("Course kind"), validate_choice=False)
    county = SelectField(_l("County governor office"), validate_choice=False)
    cohort = SelectField(_l("Cohort"), validate_choice=False)
    # The kinds by id, set by ``_offering_form``: the cohort rule depends on the kind chosen.
    kind_rows: dict[str, CourseKind] = {}
    title_nn = _text(_l("Title in Nynorsk"), 200, lang="nn")
    description_nn = _text(_l("Description in Nynorsk"), 5000, area=True, lang="nn")
    title_nb = _text(_l("Title in Bokmål"), 200, lang="nb")
    description_nb = _text(_l("Description in Bokmål"), 5000, area=True, lang="nb")
    title_en = _text(_l("Title in English"), 200, lang="en")
    description_en = _text(_l("Description in English"), 5000, area=True, lang="en")
    venue = _text(_l("Venue"), 300)
    capacity = IntegerField(
        _l("Seats"), invalid_value_message=_l("Enter the number of seats as a whole number."),
        validators=[InputRequired(message=_l("Enter the number of seats.")),
                    IntegerRange(min=1, max=offerings.MAX_CAPACITY,
                                 message=_l("Enter a number of seats from 1 to 1,000."))],
    )
    enroll_opens_at = _moment(_l("Enrollment opens"))
    enroll_closes_at = _moment(_l("Enrollment deadline"))
    cancel_deadline = _moment(_l("Participants may cancel themselves until (optional)"),
                              required=False)
    requires_approval = BooleanField(_l("Enrollments need approval by staff"))
    refund_eligible = BooleanField(_l("Participants may claim travel expenses"))
    min_share_percent = IntegerField(
        _l("Share of meetings needed for a certificate (percent)"),
        invalid_value_message=_l("Enter a whole number from 1 to 100."),
        validators=[InputRequired(message=_l("Enter a whole number from 1 to 100.")),
                    IntegerRange(min=1, max=100,
                                 message=_l("Enter a whole number from 1 to 100."))],
    )
    signer_name = _text(_l("Certificate signed by (name)"), 200)
    signer_title = _text(_l("Certificate signed by (title)"), 200)

    def validate_kind(self, field):
        """The kind must be one of the listed kinds."""
        _choice(self, field, _l("Choose a course kind from the list."))

    def validate_county(self, field):
        """The office must be one the user works for."""
        _choice(self, field, _l("Choose an office from the list."))

    def validate_cohort(self, field):
        """A listed cohort of the kind's scheme; none only where the kind needs none."""
        if field.data:
            _choice(self, field, _l("Choose a cohort from the list."))
        kind = self.kind_rows.get(self.kind.data)
        cohort = cohorts.parse_cohort(field.data) if field.data else None
        if kind is not None and not cohorts.cohort_fits(kind, cohort):
            raise ValidationError(
                COHORT_MESSAGES[(kind.cohort_scheme, kind.cohort_required)])

    def validate_enroll_closes_at(self, field):
        """The deadline comes after the opening."""
        if field.data and self.enroll_opens_at.data and field.data <= self.enroll_opens_at.data:
            raise ValidationError(_l("The enrollment deadline must be after enrollment opens."))


class SessionForm(AppForm):
    """When and where a course day or guidance meeting takes place (Norwegian time)."""

    day = DateField(_l("Date"), validators=[InputRequired(message=_l("Enter the date.")),
                                            sensible_year],
                    invalid_value_message=_l("Enter a date, like 2026-03-02."))
    starts = TimeField(_l("Starts at"), validators=[InputRequired(message=_l("Enter a time."))],
                       invalid_value_message=_l("Enter a time, like 09:00."))
    ends = TimeField(_l("Ends at"), validators=[InputRequired(message=_l("Enter a time."))],
                     invalid_value_message=_l("Enter a time, like 15:30."))
    place = _text(_l("Place (optional: else the course's venue)"), 300)

    def validate_ends(self, field):
        """A session ends after it starts, on the same day."""
        if field.data and self.starts.data and field.data <= self.starts.data:
            raise ValidationError(_l("The end must be after the start."))

    def period(self) -> tuple[datetime, datetime]:
        """Start and end as aware UTC datetimes."""
        return (_utc(datetime.combine(self.day.data, self.starts.data)),
                _utc(datetime.combine(self.day.data, self.ends.data)))


class ObjectiveEntry(Form):
    """One learning objective; a blank new entry and a removed one are not validated."""

    objective_id = HiddenField()
    code = StringField(_l("Key (our own, not printed)"), filters=[strip], validators=[
        DataRequired(message=_l("Enter a key.")),
        Length(max=20, message=_l("At most %(max)d characters.")), no_control_characters])
    official_number = StringField(
        _l("Official number (Helsedirektoratet's, for example DEL1-001)"), filters=[strip],
        validators=[Optional(), Length(max=30, message=_l("At most %(max)d characters.")),
                    no_control_characters])
    text_nb = _text(_l("Text in Bokmål (the official wording)"), 2000, area=True, lang="nb")
    text_nn = _text(_l("Text in Nynorsk"), 2000, area=True, lang="nn")
    nn_translated = BooleanField(_l("The Nynorsk text is our translation"))
    text_en = _text(_l("Text in English"), 2000, area=True, lang="en")
    en_translated = BooleanField(_l("The English text is our translation"))
    source_url = StringField(_l("Source (web address of the official text)"), filters=[strip],
                             validators=[Optional(), Length(max=500, message=_l(
                                 "At most %(max)d characters.")), no_control_characters])
    version_date = DateField(_l("Version in force from (optional)"),
                             validators=[Optional(), sensible_year],
                             invalid_value_message=_l("Enter a date, like 2026-03-02."))
    confirmed = BooleanField(_l(
        "Number and Bokmål wording are confirmed against the official source"))
    remove = BooleanField(_l("Remove this objective"))

    def is_blank(self) -> bool:
        """True for an untouched 'new objective' entry."""
        return not (self.objective_id.data or self.code.data or self.text_nn.data
                    or self.text_nb.data or self.text_en.data or self.official_number.data
                    or self.source_url.data or self.confirmed.data)

    def validate_source_url(self, field):
        """A web address, so staff and readers can check the official text."""
        if field.data and not field.data.startswith(("https://", "http://")):
            raise ValidationError(_l("Enter a web address starting with https://."))

    def validate(self, extra_validators=None) -> bool:
        """Validate unless removed or blank; one text in some language is required, and a
        confirmed objective needs its official number, Bokmål wording and source."""
        if self.remove.data or self.is_blank():
            return True
        valid = super().validate(extra_validators)
        if not (self.text_nn.data or self.text_nb.data or self.text_en.data):
            self.text_nn.errors.append(_l("Enter the text in at least one language."))
            valid = False
        if self.confirmed.data:
            for name, message in (
                    ("official_number", _l("A confirmed objective needs its official number.")),
                    ("text_nb", _l("A confirmed objective needs its official Bokmål wording.")),
                    ("source_url", _l("A confirmed objective needs its source."))):
                if not getattr(self, name).data:
                    getattr(self, name).errors.append(message)
                    valid = False
        return valid

    def values(self) -> dict:
        """The entry as the columns of ``offerings.ObjectiveValues`` (without the id)."""
        return {
            "code": self.code.data, "text_nn": self.text_nn.data or "",
            "text_nb": self.text_nb.data or "", "text_en": self.text_en.data or "",
            "official_number": self.official_number.data or None,
            "source_url": self.source_url.data or "", "version_date": self.version_date.data,
            "confirmed": bool(self.confirmed.data),
            "translated": " ".join(code for code, flag in (
                ("en", self.en_translated.data), ("nn", self.nn_translated.data)) if flag),
        }


class ObjectivesForm(AppForm):
    """Every objective of a kind, plus one blank entry to add a new one."""

    objectives = FieldList(FormField(ObjectiveEntry), max_entries=200)
    new = FormField(ObjectiveEntry)

    def __init__(self, *args, known_ids=frozenset(), **kwargs):
        super().__init__(*args, **kwargs)
        self.known_ids = known_ids
        self.new.form.code.flags.required = False  # adding one is optional

    def validate(self, extra_validators=None) -> bool:
        """Also: ids must belong to the kind, and codes be unique among those kept."""
        valid = super().validate(extra_validators)
        seen: set[str] = set()
        for entry in self.kept_entries():
            if entry.objective_id.data and entry.objective_id.data not in self.known_ids:
                entry.code.errors.append(_l("This objective no longer exists. Reload the page."))
                valid = False
            if entry.code.data in seen:
                entry.code.errors.append(_l("Another objective has this key."))
                valid = False
            seen.add(entry.code.data)
        return valid

    def kept_entries(self) -> list[ObjectiveEntry]:
        """The entries that stay or are added (not removed, not blank)."""
        entries = [e.form for e in self.objectives if not e.form.remove.data]
        return entries + ([] if self.new.form.is_blank() else [self.new.form])


class ActionForm(AppForm):
    """A button that changes something; the CSRF token is its only field."""


class CancelOfferingForm(AppForm):
    """Confirm cancelling a whole offering, with a reason told to the participants."""

    reason = _text(_l("Reason, told to the participants (optional)"), 1000, area=True)


# --- helpers ----------------------------------------------------------------------------------


def _utc(local: datetime) -> datetime:
    """A wall-clock time in Norway, as aware UTC."""
    return local.replace(tzinfo=OSLO).astimezone(UTC)


def _local(moment: datetime | None) -> datetime | None:
    """An aware datetime as Norwegian wall-clock time (naive), for a datetime-local input."""
    return moment.astimezone(OSLO).replace(tzinfo=None) if moment else None


def _actor():
    return current_user._get_current_object()


def _cohort_choices(current: date | None) -> list[tuple[str, str]]:
    """The LIS1 doctors' March and September cohorts, then the interns' turnus years, from
    last year to two years ahead (and the offering's own); '—' is no cohort."""
    year = utcnow().year
    choices = [("", "—")]
    for scheme in cohorts.SCHEME_MONTHS:
        listed = cohorts.cohorts_between(scheme, year - 1, year + 2)
        if current is not None and cohorts.scheme_of(current) == scheme and current not in listed:
            listed = sorted([*listed, current])
        choices += [(cohorts.cohort_code(c), cohorts.cohort_label(c)) for c in listed]
    return choices


def _offering_form(session, offering: CourseOffering | None) -> OfferingForm:
    data = {"capacity": 30, "min_share_percent": 75, "refund_eligible": True}
    if offering is not None:
        data = {name: getattr(offering, name) for name in offerings.OFFERING_FIELDS}
        data.update(kind=str(offering.kind_id), county=str(offering.county_id),
                    cohort=cohorts.cohort_code(offering.cohort) if offering.cohort else "",
                    **{n: _local(getattr(offering, n)) for n in
                       ("enroll_opens_at", "enroll_closes_at", "cancel_deadline")})
    form = OfferingForm(data=data)
    kinds = list(session.scalars(sa.select(CourseKind).order_by(CourseKind.position)))
    form.kind.choices = [("", "—")] + [(str(k.id), k.name()) for k in kinds]
    form.kind_rows = {str(k.id): k for k in kinds}
    form.cohort.choices = _cohort_choices(offering.cohort if offering else None)
    if current_user.is_admin:
        form.county.choices = [("", "—")] + [(str(c.id), c.name())
                                              for c in visible_counties(session)]
    else:
        del form.county
    return form


def _moment_value(form: OfferingForm, name: str, offering: CourseOffering | None):
    """The field as UTC; an untouched field keeps the stored value, which may have seconds."""
    entered = form[name].data
    stored = getattr(offering, name) if offering is not None else None
    if entered is None:
        return None
    if stored is not None and _local(stored).replace(second=0, microsecond=0) == entered:
        return stored
    return _utc(entered)


def _values(form: OfferingForm, offering: CourseOffering | None) -> offerings.OfferingValues:
    county_id = int(form.county.data) if "county" in form else current_user.county_id
    text = {n: form[n].data or "" for n in offerings.OFFERING_FIELDS
            if n.startswith(("title_", "description_", "signer_")) or n == "venue"}
    return offerings.OfferingValues(
        county_id=county_id, kind_id=int(form.kind.data),
        cohort=cohorts.parse_cohort(form.cohort.data) if form.cohort.data else None,
        capacity=form.capacity.data,
        enroll_opens_at=_moment_value(form, "enroll_opens_at", offering),
        enroll_closes_at=_moment_value(form, "enroll_closes_at", offering),
        cancel_deadline=_moment_value(form, "cancel_deadline", offering),
        requires_approval=form.requires_approval.data, refund_eligible=form.refund_eligible.data,
        min_share_percent=form.min_share_percent.data, **text,
    )


def _offering_or_404(offering_id: int) -> CourseOffering:
    return scoped_or_404(
        sa.select(CourseOffering).where(CourseOffering.id == offering_id).options(
            joinedload(CourseOffering.county), joinedload(CourseOffering.kind),
            selectinload(CourseOffering.sessions)),
        CourseOffering.county_id,
    )


def _session_or_404(session_id: int) -> CourseSession:
    return scoped_or_404(
        sa.select(CourseSession).join(CourseSession.offering)
        .where(CourseSession.id == session_id).options(contains_eager(CourseSession.offering)),
        CourseOffering.county_id,
    )


ERROR_MESSAGES = {
    offerings.NoSessions: _l("Add at least one course day before you publish the course."),
    offerings.HasParticipants: _l("People are enrolled in this course, so it cannot be "
                                  "unpublished. Cancel it instead, so that they are told."),
    offerings.SessionHasAttendance: _l("Attendance is marked for this course day, so it cannot "
                                       "be removed."),
    offerings.AttendanceBeforeStart: _l("Attendance is already recorded for this course day, "
                                        "so it cannot be moved to start after the attendance "
                                        "was recorded."),
    offerings.LastSession: _l("A published course needs at least one course day. Add another "
                              "day first, or unpublish the course."),
    offerings.InvalidSchedule: _l("The times do not fit: something ends before it starts."),
    offerings.InvalidCapacity: _l("Enter a number of seats from 1 to 1,000."),
    offerings.UnknownReference: _l("The course kind or office no longer exists."),
    offerings.CohortMismatch: _l("The cohort does not fit the course kind."),
}


def _error_message(exc: offerings.OfferingError) -> str:
    if isinstance(exc, offerings.InvalidOfferingTransition):
        if exc.current == OfferingStatus.CANCELLED:
            return _("The course is cancelled; it cannot be changed that way.")
        if exc.target == OfferingStatus.PUBLISHED:
            return _("The course is already published.")
        return _("The course is not published.")
    if isinstance(exc, offerings.CapacityBelowTaken):
        return ngettext("%(num)d seat is taken, so the capacity cannot be lower than that.",
                        "%(num)d seats are taken, so the capacity cannot be lower than that.",
                        exc.seats_taken)
    for cls in type(exc).__mro__:
        if cls in ERROR_MESSAGES:
            return str(ERROR_MESSAGES[cls])
    return _("The change could not be made.")


def _edit_page(offering_id: int):
    return redirect(url_for("enrollment.edit_offering", offering_id=offering_id))


def _render(template: str, form, **context):
    return render_template(template, form=form, **context), 400 if form.errors else 200


@bp.after_request
def _staff_pages_are_personal(response):
    if request.path.startswith("/staff/"):
        no_store(response)
    return response


# --- offerings --------------------------------------------------------------------------------


@bp.get("/staff/courses")
@staff_required
def list_staff_offerings():
    """The offerings of the user's county (every county for an administrator), drafts too."""
    rows = get_session().scalars(
        sa.select(CourseOffering).where(county_scope(CourseOffering.county_id))
        .options(joinedload(CourseOffering.county), joinedload(CourseOffering.kind),
                 selectinload(CourseOffering.sessions))
        .order_by(CourseOffering.cohort.desc().nulls_last(), CourseOffering.id.desc())
    ).all()
    return render_template("enrollment/staff/offerings.html", offerings=rows,
                           status_titles=STATUS_TITLES, cohort_short=cohorts.cohort_short)


@bp.route("/staff/courses/new", methods=["GET", "POST"])
@staff_required
def create_offering():
    """Create a draft offering."""
    session = get_session()
    form = _offering_form(session, None)
    if form.validate_on_submit():
        try:
            offering = offerings.create_offering(session, _values(form, None), _actor())
        except offerings.OfferingError as exc:
            session.rollback()
            form.form_errors.append(_error_message(exc))
        else:
            session.commit()
            flash(_("The course is saved as a draft. Add its course days, then publish it."),
                  "success")
            return _edit_page(offering.id)
    return _render("enrollment/staff/offering_form.html", form, offering=None)


@bp.route("/staff/courses/<int:offering_id>/edit", methods=["GET", "POST"])
@staff_required
def edit_offering(offering_id: int):
    """Edit an offering; also lists its sessions and the publish/cancel buttons."""
    session = get_session()
    offering = _offering_or_404(offering_id)
    form = _offering_form(session, offering)
    if form.validate_on_submit():
        try:
            promoted = offerings.update_offering(session, offering, _values(form, offering),
                                                  _actor())
        except offerings.OfferingError as exc:
            session.rollback()
            target = form.capacity if isinstance(exc, offerings.InvalidCapacity) else None
            (target.errors if target else form.form_errors).append(_error_message(exc))
        else:
            session.commit()
            flash(_("The course is saved."), "success")
            if promoted:
                flash(ngettext("%(num)d person got a seat from the waiting list.",
                               "%(num)d people got a seat from the waiting list.",
                               len(promoted)), "success")
            return _edit_page(offering_id)
    return _render("enrollment/staff/offering_form.html", form, offering=offering,
                   action_form=ActionForm(), status_titles=STATUS_TITLES)


def _status_action(offering_id: int, operation, done: str):
    session = get_session()
    offering = _offering_or_404(offering_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        operation(session, offering, _actor())
    except offerings.OfferingError as exc:
        session.rollback()
        flash(_error_message(exc), "error")
    else:
        session.commit()
        flash(done, "success")
    return _edit_page(offering_id)


@bp.post("/staff/courses/<int:offering_id>/publish")
@staff_required
def publish_offering(offering_id: int):
    """Publish a draft: it appears in the catalog."""
    return _status_action(offering_id, offerings.publish,
                          _("The course is published and shown in the catalog."))


@bp.post("/staff/courses/<int:offering_id>/unpublish")
@staff_required
def unpublish_offering(offering_id: int):
    """Take a published offering without participants back to draft."""
    return _status_action(offering_id, offerings.unpublish,
                          _("The course is a draft again and hidden from the catalog."))


@bp.route("/staff/courses/<int:offering_id>/cancel", methods=["GET", "POST"])
@staff_required
def cancel_offering(offering_id: int):
    """Confirm, then cancel an offering and every enrollment in it; participants are e-mailed."""
    session = get_session()
    offering = _offering_or_404(offering_id)
    form = CancelOfferingForm()
    if form.validate_on_submit():
        try:
            cancelled = offerings.cancel_offering(session, offering, _actor(),
                                                  form.reason.data or "")
        except offerings.OfferingError as exc:
            session.rollback()
            flash(_error_message(exc), "error")
            return _edit_page(offering_id)
        session.commit()
        flash(ngettext("The course is cancelled. %(num)d participant is told by e-mail.",
                       "The course is cancelled. %(num)d participants are told by e-mail.",
                       len(cancelled)), "success")
        return _edit_page(offering_id)
    return _render("enrollment/staff/cancel_offering.html", form, offering=offering,
                   active=offerings.active_count(session, offering.id))


# --- sessions ---------------------------------------------------------------------------------


@bp.route("/staff/courses/<int:offering_id>/sessions/new", methods=["GET", "POST"])
@staff_required
def add_session(offering_id: int):
    """Add a course day or guidance meeting."""
    session = get_session()
    offering = _offering_or_404(offering_id)
    form = SessionForm()
    if form.validate_on_submit():
        try:
            offerings.add_session(session, offering, *form.period(), form.place.data or "",
                                  _actor())
        except offerings.OfferingError as exc:
            session.rollback()
            form.form_errors.append(_error_message(exc))
        else:
            session.commit()
            flash(_("The course day is added."), "success")
            return _edit_page(offering_id)
    return _render("enrollment/staff/session_form.html", form, offering=offering,
                   course_session=None)


@bp.route("/staff/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@staff_required
def edit_session(session_id: int):
    """Move a session to another date, time or place."""
    session = get_session()
    course_session = _session_or_404(session_id)
    start, end = _local(course_session.starts_at), _local(course_session.ends_at)
    form = SessionForm(data={"day": start.date(), "starts": start.time(), "ends": end.time(),
                             "place": course_session.place})
    if form.validate_on_submit():
        try:
            offerings.move_session(session, course_session, *form.period(),
                                   form.place.data or "", _actor())
        except offerings.OfferingError as exc:
            session.rollback()
            form.form_errors.append(_error_message(exc))
        else:
            session.commit()
            flash(_("The course day is changed."), "success")
            return _edit_page(course_session.offering_id)
    return _render("enrollment/staff/session_form.html", form,
                   offering=course_session.offering, course_session=course_session)


@bp.post("/staff/sessions/<int:session_id>/delete")
@staff_required
def delete_session(session_id: int):
    """Remove a session that has no attendance marked."""
    session = get_session()
    course_session = _session_or_404(session_id)
    offering_id = course_session.offering_id
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        offerings.remove_session(session, course_session, _actor())
    except offerings.OfferingError as exc:
        session.rollback()
        flash(_error_message(exc), "error")
    else:
        session.commit()
        flash(_("The course day is removed."), "success")
    return _edit_page(offering_id)


# --- course kinds and learning objectives (administrators) -----------------------------------


@bp.get("/staff/kinds")
@admin_required
def list_kinds():
    """The course kinds with their learning objectives."""
    kinds = get_session().scalars(
        sa.select(CourseKind).options(selectinload(CourseKind.objectives))
        .order_by(CourseKind.position)
    ).all()
    return render_template("enrollment/staff/kinds.html", kinds=kinds)


def _kind_or_404(kind_id: int) -> CourseKind:
    kind = get_session().scalar(sa.select(CourseKind).where(CourseKind.id == kind_id)
                                .options(selectinload(CourseKind.objectives)))
    if kind is None:
        abort(404)
    return kind


@bp.route("/staff/kinds/<int:kind_id>/objectives", methods=["GET", "POST"])
@admin_required
def edit_objectives(kind_id: int):
    """Edit, add and remove the learning objectives of a course kind."""
    session = get_session()
    kind = _kind_or_404(kind_id)
    rows = [{"objective_id": str(o.id), "code": o.code, "text_nn": o.text_nn,
             "text_nb": o.text_nb, "text_en": o.text_en, "official_number": o.official_number,
             "source_url": o.source_url, "version_date": o.version_date,
             "confirmed": o.confirmed, "nn_translated": "nn" in o.translated_locales,
             "en_translated": "en" in o.translated_locales} for o in kind.objectives]
    form = ObjectivesForm(data={"objectives": rows},
                          known_ids=frozenset(str(o.id) for o in kind.objectives))
    if form.validate_on_submit():
        changed = [offerings.ObjectiveValues(
            id=int(e.objective_id.data) if e.objective_id.data else None, **e.values())
            for e in form.kept_entries()]
        removed = [int(e.form.objective_id.data) for e in form.objectives
                   if e.form.remove.data and e.form.objective_id.data in form.known_ids]
        try:
            offerings.update_objectives(session, kind, changed, removed, _actor())
        except offerings.OfferingError:
            session.rollback()
            form.form_errors.append(_("The objectives changed meanwhile. Reload the page."))
        else:
            session.commit()
            flash(_("The learning objectives are saved."), "success")
            return redirect(url_for("enrollment.edit_objectives", kind_id=kind_id))
    return _render("enrollment/staff/objectives.html", form, kind=kind)
