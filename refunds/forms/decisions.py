"""The caseworker's forms: the queue's filters, approval (with adjusted amounts), rejection,
return for changes, and the payment date.
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import (
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, ValidationError

from core.forms import AppForm
from enrollment.forms import no_control_characters, strip
from refunds.forms.claim import MAX_COSTS, MAX_LEGS
from refunds.forms.fields import parse_date, parse_kroner, text_field


class QueueFilterForm(Form):
    """The queue's filters, read from the query string."""

    status = SelectField(_l("Status"), validate_choice=False)
    offering = SelectField(_l("Course"), validate_choice=False)
    cohort = SelectField(_l("Cohort"), validate_choice=False)

    def validate_status(self, field):
        """One of the listed statuses."""
        if field.data and field.data not in {value for value, _label in field.choices}:
            raise ValidationError(_l("Unknown status."))

    def validate_offering(self, field):
        """One of the listed courses."""
        if field.data and field.data not in {value for value, _label in field.choices}:
            raise ValidationError(_l("Unknown course."))

    def validate_cohort(self, field):
        """One of the listed cohorts."""
        if field.data and field.data not in {value for value, _label in field.choices}:
            raise ValidationError(_l("Unknown cohort."))


class AdjustmentForm(Form):
    """A caseworker's new amount for one line, with the reason."""

    line_id = HiddenField()
    amount = StringField(_l("Approved amount (kr)"), filters=[strip],
                         render_kw={"inputmode": "decimal", "autocomplete": "off"})
    note = text_field(_l("Why the amount is changed"), 500)

    def validate_amount(self, field):
        """Kroner and øre, when given."""
        if field.data:
            try:
                parse_kroner(field.data)
            except ValueError as exc:
                raise ValidationError(
                    _l("Write the amount in kroner, like 1 234,50.")) from exc

    def validate_note(self, field):
        """A changed amount needs a reason."""
        if self.amount.data and not field.data:
            raise ValidationError(_l("Say why the amount is changed."))


class ApproveForm(AppForm):
    """Approve in full, or with new amounts for some lines."""

    lines = FieldList(FormField(AdjustmentForm), max_entries=MAX_LEGS + MAX_COSTS + 10)
    # Required by the service when the claim has legs by own car.
    own_car_approved = RadioField(
        _l("Did the office approve the use of own car?"),
        choices=[("yes", _l("Yes")), ("no", _l("No"))], validate_choice=False,
    )
    staff_note = text_field(_l("Internal note (not sent to the participant)"), 2000)


    # Set by the view: the claim has legs by own car, so the answer is required.
    requires_own_car = False

    def validate_own_car_approved(self, field):
        """Yes or no; required when the claim has legs by own car."""
        if field.data in ("yes", "no"):
            return
        if field.data not in (None, "", "None") or self.requires_own_car:
            raise ValidationError(_l("Record whether the office approved the use of own car."))

    def own_car_answer(self) -> bool | None:
        """The recorded yes or no, None when not answered."""
        return {"yes": True, "no": False}.get(self.own_car_approved.data)


class RejectForm(AppForm):
    """Reject a claim; the participant reads the reason."""

    reason = TextAreaField(
        _l("Reason (sent to the participant)"), filters=[strip],
        validators=[DataRequired(message=_l("Write why the claim is rejected.")),
                    Length(max=2000, message=_l("At most 2,000 characters.")),
                    no_control_characters],
    )


class ReturnForm(AppForm):
    """Send a claim back for changes; the participant reads what to change."""

    reason = TextAreaField(
        _l("What should the participant change?"), filters=[strip],
        validators=[DataRequired(message=_l("Write what the participant should change.")),
                    Length(max=2000, message=_l("At most 2,000 characters.")),
                    no_control_characters],
    )


class PaidForm(AppForm):
    """The date a claim (or several) was paid."""

    payment_date = StringField(_l("Payment date"), filters=[strip],
                               render_kw={"type": "date"})

    def validate_payment_date(self, field):
        """A date is required."""
        if not field.data:
            raise ValidationError(_l("Enter the payment date."))
        parse_date(field)

    @property
    def day(self) -> date:
        """The payment date (call after ``validate``)."""
        return date.fromisoformat(self.payment_date.data)
