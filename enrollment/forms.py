"""Forms of the enrollment plugin."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, Form, SelectField, StringField
from wtforms.validators import ValidationError

from enrollment.catalog import parse_cohort
from enrollment.models import Role

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
        """A cohort is written like 2026-03 (March) or 2026-09 (September)."""
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
