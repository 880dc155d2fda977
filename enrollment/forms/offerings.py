"""Staff forms for offerings: an offering's details, a session, the learning objectives of a
course kind, cancelling an offering, and the one-button action form."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
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

from core.forms import AppForm
from core.i18n import OSLO
from enrollment.forms import IntegerRange, no_control_characters, strip
from enrollment.models import CohortScheme, CourseKind
from enrollment.services import cohorts, offerings
from enrollment.services.reminders import MAX_REMINDER_DAYS

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
    reminder_days = IntegerField(
        _l("Days before the first course day to remind the participants (0: no reminder)"),
        invalid_value_message=_l("Enter a whole number of days from 0 to 60."),
        validators=[InputRequired(message=_l("Enter a whole number of days from 0 to 60.")),
                    IntegerRange(min=0, max=MAX_REMINDER_DAYS,
                                 message=_l("Enter a whole number of days from 0 to 60."))],
    )
    meeting_url = _text(_l("Meeting link (digital courses only)"), 500)
    offers_expire = BooleanField(
        _l("Offer a freed seat to the next on the waiting list, who must accept it in time"))
    offer_hours = IntegerField(
        _l("Hours to accept an offered seat"),
        invalid_value_message=_l("Enter a whole number of hours from 1 to 336."),
        validators=[Optional(), IntegerRange(
            min=1, max=offerings.MAX_OFFER_HOURS,
            message=_l("Enter a whole number of hours from 1 to 336."))],
    )

    def validate_meeting_url(self, field):
        """A web address on https, where the participants join the meeting."""
        if not field.data:
            return
        try:
            parts = urlsplit(field.data)
        except ValueError:
            parts = None
        if parts is None or parts.scheme != "https" or not parts.hostname or " " in field.data:
            raise ValidationError(_l("Enter the meeting's web address, starting with "
                                     "https://."))

    def validate_offer_hours(self, field):
        """Offers that expire need the hours to accept."""
        if self.offers_expire.data and not field.data:
            raise ValidationError(_l("Enter a whole number of hours from 1 to 336."))

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
        return (utc_from_oslo(datetime.combine(self.day.data, self.starts.data)),
                utc_from_oslo(datetime.combine(self.day.data, self.ends.data)))


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
        """The entry as the columns of ``services.objectives.ObjectiveValues`` (without the id)."""
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


def utc_from_oslo(local: datetime) -> datetime:
    """A wall-clock time in Norway, as aware UTC."""
    return local.replace(tzinfo=OSLO).astimezone(UTC)


def oslo_from_utc(moment: datetime | None) -> datetime | None:
    """An aware datetime as Norwegian wall-clock time (naive), for a datetime-local input."""
    return moment.astimezone(OSLO).replace(tzinfo=None) if moment else None
