"""The public forms: the catalog filter, enrollment, contact details, lost links, and the
buttons on a participant's manage pages."""

from __future__ import annotations

import re
from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    Form,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from core.db import utcnow
from core.forms import AppForm
from core.i18n import format_short_month, to_local
from enrollment.forms import digits_only, no_control_characters, strip
from enrollment.models import CohortScheme, Role
from enrollment.services import cohorts
from enrollment.services.cohorts import parse_cohort
from enrollment.services.enrollments import PersonDetails

PUBLIC_ROLES = (Role.LIS1, Role.PHYSIO_INTERN, Role.CHIRO_INTERN, Role.SUPERVISOR)


class CatalogFilterForm(Form):
    """The catalog's filters, read from the query string so a filtered page can be bookmarked."""

    county = SelectField(_l("County governor office"), validate_choice=False)
    kind = SelectField(_l("Course"), validate_choice=False)
    role = SelectField(_l("I am a …"), validate_choice=False)
    cohort = SelectField(_l("Cohort"), validate_choice=False)
    open = BooleanField(_l("Open for enrollment only"))
    page = StringField(_l("Page"))

    def validate_kind(self, field):
        """A kind code must be one of the known kinds."""
        if field.data and field.data not in {code for code, _ in field.choices}:
            raise ValidationError(_l("Unknown course kind."))

    def validate_role(self, field):
        """A role must be one the catalog knows."""
        if field.data and field.data not in {r.value for r in PUBLIC_ROLES}:
            raise ValidationError(_l("Unknown role."))

    def validate_cohort(self, field):
        """A cohort is written like 2026-03 or 2026-09 (LIS1 doctors' March and September
        starts) or 2026-08 (the interns' turnus year that starts in August 2026)."""
        if field.data and parse_cohort(field.data) is None:
            raise ValidationError(_l("Unknown cohort."))

    def validate_page(self, field):
        """A page is a whole number from 1."""
        if field.data and not (field.data.isdecimal() and 1 <= int(field.data) <= 100000):
            raise ValidationError(_l("No such page."))

    @property
    def page_number(self) -> int:
        """The requested page, 1 when none was given."""
        return int(self.page.data) if self.page.data else 1


# --- enrollment -------------------------------------------------------------------------------

# [0-9], not \d: \d also takes other scripts' digits ("١٢٣٤٥٦٧"), which would slip past the
# duplicate check as a different number.
HPR_PATTERN = re.compile(r"^[0-9]{7,9}\Z")
PHONE_PATTERN = re.compile(r"^\+?[0-9][0-9 ]{6,18}[0-9]$")
ROLES_NEEDING_HPR = frozenset({Role.LIS1.value, Role.PHYSIO_INTERN.value, Role.CHIRO_INTERN.value})
LANGUAGE_CHOICES = [("nn", "Nynorsk"), ("nb", "Bokmål"), ("en", "English")]


class ContactForm(AppForm):
    """Contact details a participant can change later on the manage page."""

    full_name = StringField(
        _l("Full name"),
        filters=[strip],
        validators=[
            DataRequired(message=_l("Enter your full name.")),
            Length(max=200, message=_l("The name can be at most 200 characters.")),
            no_control_characters,
        ],
        render_kw={"autocomplete": "name"},
    )
    email = EmailField(
        _l("E-mail"),
        filters=[strip],
        validators=[
            DataRequired(message=_l("Enter your e-mail address.")),
            Length(max=254, message=_l("The e-mail address is too long.")),
            Email(message=_l("Enter a valid e-mail address, like name@example.no."),
                  check_deliverability=False),
        ],
        render_kw={"autocomplete": "email"},
    )
    phone = TelField(
        _l("Mobile number"),
        filters=[strip],
        validators=[
            DataRequired(message=_l("Enter your mobile number.")),
            Regexp(PHONE_PATTERN,
                   message=_l("Enter a phone number of 8 to 20 digits, like 412 34 567.")),
        ],
        render_kw={"autocomplete": "tel"},
    )
    employer = StringField(
        _l("Employer (municipality or workplace)"),
        filters=[strip],
        validators=[
            DataRequired(message=_l("Enter your employer.")),
            Length(max=200, message=_l("At most 200 characters.")),
            no_control_characters,
        ],
        render_kw={"autocomplete": "organization"},
    )
    needs = TextAreaField(
        _l("Dietary or accessibility needs (optional)"),
        filters=[strip],
        validators=[
            Optional(),
            Length(max=2000, message=_l("At most 2,000 characters.")),
            no_control_characters,
        ],
    )
    locale = SelectField(
        _l("Language for e-mails and documents"),
        choices=LANGUAGE_CHOICES,
        invalid_choice_message=_l("Choose a language from the list."),
        validators=[InputRequired(message=_l("Choose a language."))],
    )


class EnrollmentForm(ContactForm):
    """The sign-up form of an offering. No national identity number is ever asked for."""

    # As enroll.html shows them (the error summary lists them so).
    PAGE_ORDER = ("full_name", "email", "phone", "role", "hpr_number", "employer",
                  "start_month", "needs", "locale", "consent")

    role = SelectField(
        _l("I am a"),
        validate_choice=False,
        choices=[("", "—")] + [(r.value, r.title) for r in PUBLIC_ROLES],
        validators=[InputRequired(message=_l("Choose your role."))],
    )
    hpr_number = StringField(
        _l("HPR number"),
        filters=[digits_only],
        validators=[no_control_characters],
        render_kw={"inputmode": "numeric"},
    )
    start_month = SelectField(_l("Start of municipal service"), validate_choice=False)
    consent = BooleanField(
        _l("I have read the privacy notice and agree that my details are stored as it says."),
        validators=[DataRequired(message=_l("You must accept the privacy notice to enroll."))],
    )

    def __init__(self, *args, allowed_roles=frozenset(), start_months=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.allowed_roles = allowed_roles
        self.start_month.choices = [("", "—"), *start_months]

    def validate_role(self, field):
        """The role must exist and may enroll in this course kind."""
        if field.data not in {r.value for r in PUBLIC_ROLES}:
            raise ValidationError(_l("Choose your role."))
        if Role(field.data) not in self.allowed_roles:
            raise ValidationError(_l("This course is not open to your role. "
                                     "See who may enroll on the course page."))

    def validate_hpr_number(self, field):
        """Required for LIS1 doctors and interns; 7 to 9 digits when given."""
        if not field.data:
            if self.role.data in ROLES_NEEDING_HPR:
                raise ValidationError(_l("Enter your HPR number (7 to 9 digits)."))
            return
        if not HPR_PATTERN.match(field.data):
            raise ValidationError(_l("The HPR number is 7 to 9 digits, with no letters."))

    def validate_start_month(self, field):
        """LIS1 doctors tell when their municipal service starts."""
        known = {code for code, _ in self.start_month.choices if code}
        if field.data and field.data not in known:
            raise ValidationError(_l("Choose a month from the list."))
        if not field.data and self.role.data == Role.LIS1.value:
            raise ValidationError(_l("Choose when your municipal service starts."))

    def person(self) -> PersonDetails:
        """The person as the form gives them, for ``enrollments.enroll`` and staff's ``add``."""
        start = self.start_month.data
        return PersonDetails(
            full_name=self.full_name.data, email=self.email.data, phone=self.phone.data,
            role=Role(self.role.data), hpr_number=self.hpr_number.data or None,
            employer=self.employer.data, locale=self.locale.data, needs=self.needs.data or "",
            start_month=date(int(start[:4]), int(start[5:7]), 1) if start else None,
        )


def start_month_choices(offering) -> list[tuple[str, str]]:
    """The municipal-start months around the offering's cohort, for LIS1 doctors to choose
    from; for an offering of another scheme or none, around the start in service when the
    course begins (or today)."""
    anchor = offering.cohort
    if anchor is None or cohorts.scheme_of(anchor) != CohortScheme.MUNICIPAL_START:
        begins = offering.sessions[0].starts_at if offering.sessions else utcnow()
        anchor = cohorts.cohort_containing(CohortScheme.MUNICIPAL_START, to_local(begins).date())
    months = []
    for delta in (-12, -6, 0, 6, 12):
        total = anchor.year * 12 + anchor.month - 1 + delta
        month = date(total // 12, total % 12 + 1, 1)
        months.append((month.strftime("%Y-%m"), format_short_month(month)))
    return months


class LostLinkForm(AppForm):
    """Ask for the links to one's enrollments by e-mail."""

    email = EmailField(
        _l("Your e-mail address"),
        filters=[strip],
        validators=[
            DataRequired(message=_l("Enter your e-mail address.")),
            Length(max=254, message=_l("The e-mail address is too long.")),
            Email(message=_l("Enter a valid e-mail address, like name@example.no."),
                  check_deliverability=False),
        ],
        render_kw={"autocomplete": "email"},
    )


class EmailChangeForm(AppForm):
    """The button that confirms, or stops, a change of e-mail address; only the CSRF token."""


class CancelForm(AppForm):
    """A confirmation button; the CSRF token is its only field."""


class WithdrawLinksForm(AppForm):
    """The participant's confirmation that their other manage links stop working; the CSRF
    token is its only field."""


class OfferForm(AppForm):
    """Accepting, or declining, a seat offered from the waiting list: the button is the answer
    (each has its own address); the CSRF token is the only field."""
