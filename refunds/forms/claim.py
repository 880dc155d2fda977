"""The participant's forms: the claim with its legs, costs, meal allowances and nights, receipt
uploads, and the confirm button.

The legs and costs are ``FieldList`` rows, so "Add another leg" is a plain submit button that
posts the form back with one more row; a row left empty, or ticked for removal, is not a line.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import Length, Optional, ValidationError

from core.forms import AppForm, FieldMarkup
from enrollment.forms import no_control_characters, strip
from refunds.bank import validate_account
from refunds.calc import MAX_PASSENGERS, MAX_TEXT
from refunds.errors import InvalidAccountNumber, message
from refunds.forms.fields import parse_date, parse_km, parse_kroner, text_field
from refunds.lines import AllowanceInput, CostInput, LegInput, NightInput
from refunds.models import COST_KINDS, LineKind, TravelMeans

MAX_LEGS = 30
MAX_COSTS = 20
MAX_ALLOWANCES = 14


class _LineRow(Form):
    """What a leg row and a cost row share: a date, an amount, a receipt, a remove box."""

    class Meta(FieldMarkup):
        """Its fields marked as AppForm's are (an invalid one says so)."""

    travel_date = StringField(_l("Date"), filters=[strip], render_kw={"type": "date"})
    amount = StringField(_l("Amount paid (kr)"), filters=[strip],
                         render_kw={"inputmode": "decimal", "autocomplete": "off"})
    # Choices (the claim's receipts) are set by the view.
    receipt = SelectField(_l("Receipt"), choices=[("", "—")], default="")

    def is_blank(self) -> bool:
        """A row ticked for removal, or one nobody filled in, is not a line."""
        return bool(self.remove.data) or not any(
            (self[name].data or "").strip() for name in self.TEXT_FIELDS
        )

    def validate(self, extra_validators=None):
        """Validate only rows that are lines."""
        if self.is_blank():
            return True
        return super().validate(extra_validators)

    def validate_travel_date(self, field):
        """A date is required on every line."""
        if not field.data:
            raise ValidationError(_l("Enter the date."))
        parse_date(field)

    def validate_amount(self, field):
        """An amount, when given, must be kroner and øre."""
        if field.data and self.needs_amount():
            try:
                parse_kroner(field.data)
            except ValueError as exc:
                raise ValidationError(
                    _l("Write the amount in kroner, like 1 234,50.")) from exc

    def needs_amount(self) -> bool:
        """Whether the amount field counts for this row."""
        return True

    def amount_ore(self) -> int | None:
        """The amount in øre, None when empty."""
        return parse_kroner(self.amount.data) if self.amount.data else None

    def receipt_id(self) -> int | None:
        """The chosen receipt's id, None for none."""
        return int(self.receipt.data) if self.receipt.data else None


class LegForm(_LineRow):
    """One leg of the journey."""

    ROW_LABEL = _l("Leg %(n)s")  # as its legend on the page: the error summary names the row

    TEXT_FIELDS = ("travel_date", "from_place", "to_place", "km", "amount", "taxi_reason")

    from_place = text_field(_l("From"))
    to_place = text_field(_l("To"))
    means = SelectField(_l("Means of travel"),
                        choices=[(m.value, m.title) for m in TravelMeans],
                        default=TravelMeans.OWN_CAR.value)
    km = StringField(_l("Kilometres"), filters=[strip],
                     render_kw={"inputmode": "decimal", "autocomplete": "off"})
    passengers = StringField(_l("Passengers"), filters=[strip], default="0",
                             render_kw={"inputmode": "numeric", "autocomplete": "off"})
    taxi_reason = text_field(_l("Why a taxi was needed"), MAX_TEXT)
    best_class = BooleanField(_l("Best class (train or boat)"))
    remove = BooleanField(_l("Remove this leg"))

    def is_car(self) -> bool:
        """Whether the leg was driven in one's own car."""
        return self.means.data == TravelMeans.OWN_CAR.value

    def needs_amount(self) -> bool:
        """Legs not driven in one's own car are refunded at what was paid."""
        return not self.is_car()

    def validate_km(self, field):
        """Kilometres, when driving: a number with at most one decimal."""
        if field.data and self.is_car():
            try:
                parse_km(field.data)
            except ValueError as exc:
                raise ValidationError(
                    _l("Write the distance in kilometres, like 312 or 312,5.")) from exc

    def validate_passengers(self, field):
        """Passengers, when driving: a whole number from 0 to 8."""
        if self.is_car() and field.data and not (
            field.data.isascii() and field.data.isdigit()
            and int(field.data) <= MAX_PASSENGERS
        ):
            raise ValidationError(_l("Write the number of passengers, from 0 to %(max)d.",
                                     max=MAX_PASSENGERS))

    def to_input(self) -> LegInput:
        """The leg as the calculation takes it (call after ``validate``)."""
        car = self.is_car()
        return LegInput(
            travel_date=date.fromisoformat(self.travel_date.data),
            from_place=self.from_place.data or "", to_place=self.to_place.data or "",
            means=TravelMeans(self.means.data),
            km=parse_km(self.km.data) if car and self.km.data else None,
            passengers=int(self.passengers.data) if car and self.passengers.data else 0,
            amount_paid_ore=None if car else self.amount_ore(),
            taxi_reason=(self.taxi_reason.data or "")
            if self.means.data == TravelMeans.TAXI.value else "",
            best_class=bool(self.best_class.data) and not car,
            receipt_id=self.receipt_id(),
        )


class CostForm(_LineRow):
    """One extra cost refunded at what was paid: toll, parking, ferry, accommodation."""

    ROW_LABEL = _l("Cost %(n)s")  # as its legend on the page: the error summary names the row

    TEXT_FIELDS = ("travel_date", "amount", "description")

    kind = SelectField(_l("Kind of cost"), choices=[(k.value, k.title) for k in COST_KINDS],
                       default=LineKind.TOLL.value)
    description = text_field(_l("Description (optional)"), MAX_TEXT)
    remove = BooleanField(_l("Remove this cost"))

    def to_input(self) -> CostInput:
        """The cost as the calculation takes it (call after ``validate``)."""
        return CostInput(
            kind=LineKind(self.kind.data), travel_date=date.fromisoformat(self.travel_date.data),
            amount_paid_ore=self.amount_ore(), description=self.description.data or "",
            receipt_id=self.receipt_id(),
        )


def _number_text(field, message) -> Decimal | None:
    if not field.data:
        return None
    try:
        return parse_km(field.data)
    except ValueError as exc:
        raise ValidationError(message) from exc


class AllowanceForm(_LineRow):
    """A meal allowance for one day (døgn) of the journey, with what its conditions need."""

    ROW_LABEL = _l("Day %(n)s")  # as its legend on the page: the error summary names the row

    TEXT_FIELDS = ("travel_date", "journey_km", "hours", "description")

    journey_km = StringField(_l("Distance to the course (km)"), filters=[strip],
                             render_kw={"inputmode": "decimal", "autocomplete": "off"})
    hours = StringField(_l("Hours away this day"), filters=[strip],
                        render_kw={"inputmode": "decimal", "autocomplete": "off"})
    overnight = BooleanField(_l("With a night away"))
    breakfast_provided = BooleanField(_l("Breakfast was provided"))
    lunch_provided = BooleanField(_l("Lunch was provided"))
    dinner_provided = BooleanField(_l("Dinner was provided"))
    description = text_field(_l("Description (optional)"), MAX_TEXT)
    remove = BooleanField(_l("Remove this allowance"))

    def needs_amount(self) -> bool:
        """An allowance is paid at the rate, not at what was paid."""
        return False

    def validate_journey_km(self, field):
        """A distance in kilometres."""
        _number_text(field, _l("Write the distance in kilometres, like 312 or 312,5."))

    def validate_hours(self, field):
        """Hours, with at most one decimal."""
        _number_text(field, _l("Write the hours as a number, like 7 or 7,5."))

    def to_input(self) -> AllowanceInput:
        """The allowance as the calculation takes it (call after ``validate``)."""
        return AllowanceInput(
            travel_date=date.fromisoformat(self.travel_date.data),
            journey_km=parse_km(self.journey_km.data) if self.journey_km.data else None,
            hours=parse_km(self.hours.data) if self.hours.data else None,
            overnight=bool(self.overnight.data),
            breakfast_provided=bool(self.breakfast_provided.data),
            lunch_provided=bool(self.lunch_provided.data),
            dinner_provided=bool(self.dinner_provided.data),
            description=self.description.data or "",
        )


class NightForm(_LineRow):
    """A night away without a lodging receipt: the night supplement."""

    ROW_LABEL = _l("Night %(n)s")  # as its legend on the page: the error summary names the row

    TEXT_FIELDS = ("travel_date", "description")

    travel_date = StringField(_l("Night beginning on"), filters=[strip],
                              render_kw={"type": "date"})
    description = text_field(_l("Where you stayed (optional)"), MAX_TEXT)
    remove = BooleanField(_l("Remove this night"))

    def needs_amount(self) -> bool:
        """The supplement is paid at the rate."""
        return False

    def to_input(self) -> NightInput:
        """The night as the calculation takes it (call after ``validate``)."""
        return NightInput(travel_date=date.fromisoformat(self.travel_date.data),
                          description=self.description.data or "")


class ClaimForm(AppForm):
    """A draft claim: legs, extra costs, allowances (where the office pays them), bank account
    and a comment, with its buttons."""

    legs = FieldList(FormField(LegForm), min_entries=1, max_entries=MAX_LEGS)
    costs = FieldList(FormField(CostForm), min_entries=1, max_entries=MAX_COSTS)
    allowances = FieldList(FormField(AllowanceForm), min_entries=1, max_entries=MAX_ALLOWANCES)
    nights = FieldList(FormField(NightForm), min_entries=1, max_entries=MAX_ALLOWANCES)
    bank_account = StringField(
        _l("Bank account number"), filters=[strip],
        validators=[Optional(), Length(max=40, message=_l("At most 40 characters."))],
        render_kw={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"},
    )
    comment = TextAreaField(
        _l("Comment to the caseworker (optional)"), filters=[strip],
        validators=[Optional(), Length(max=2000, message=_l("At most 2,000 characters.")),
                    no_control_characters],
    )
    add_leg = SubmitField(_l("Add another leg"))
    add_cost = SubmitField(_l("Add another cost"))
    add_allowance = SubmitField(_l("Add another day"))
    add_night = SubmitField(_l("Add another night"))
    check = SubmitField(_l("Check amounts"))
    save = SubmitField(_l("Save draft"))
    send = SubmitField(_l("Submit claim"))

    def validate_bank_account(self, field):
        """Eleven digits with a valid MOD11 check digit (spaces and dots allowed)."""
        if not field.data:
            return
        try:
            validate_account(field.data)
        except InvalidAccountNumber as exc:
            raise ValidationError(message(exc.code)) from exc

    def set_receipt_choices(self, choices: list[tuple[str, str]]) -> None:
        """Offer the claim's receipts on every row."""
        for row in (*self.legs, *self.costs):
            row.form.receipt.choices = [("", _l("No receipt"))] + choices

    def line_rows(self) -> list[_LineRow]:
        """The rows that are lines, legs first, in the order the claim stores them."""
        return [row.form for row in (*self.legs, *self.costs, *self.allowances, *self.nights)
                if not row.form.is_blank()]

    def added_rows(self):
        """The list an "Add another …" button asks to grow, None when none was pressed."""
        for button, rows in ((self.add_leg, self.legs), (self.add_cost, self.costs),
                             (self.add_allowance, self.allowances),
                             (self.add_night, self.nights)):
            if button.data:
                return rows
        return None

    def refresh_errors(self) -> None:
        """Recollect the rows' errors after the view added some from the domain."""
        for rows in (self.legs, self.costs, self.allowances, self.nights):
            errors = [row.errors for row in rows]
            rows.errors = errors if any(errors) else []


class ConfirmForm(AppForm):
    """A button; the CSRF token is its only field."""


class UploadForm(AppForm):
    """Receipts to add to a claim, optionally for one of its lines."""

    files = MultipleFileField(
        _l("Receipts (PDF, JPEG or PNG, up to 10 MB each)"),
        render_kw={"accept": ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"},
    )
    # Choices (the claim's saved lines) are set by the view.
    line = SelectField(_l("Which line is the receipt for?"), choices=[("", "—")], default="")

    def chosen_files(self) -> list:
        """The files actually chosen (browsers send an empty part when none is)."""
        return [f for f in (self.files.data or []) if f and f.filename]

    def validate_files(self, field):
        """At least one file."""
        if not self.chosen_files():
            raise ValidationError(_l("Choose a file to upload."))
