"""Staff forms for cohort rosters: upload a file, confirm or discard it, filter the completion
table, and choose the entry an ambiguous enrollment belongs to."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField
from wtforms.validators import InputRequired

from core.forms import AppForm
from enrollment.models import Role

# The roles a roster is kept for: those with mandatory items (course_kinds.json).
ROSTER_ROLES = (Role.LIS1, Role.PHYSIO_INTERN)


def _int_or_none(value):
    """An id from the form, None when it is not a number."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class RosterUploadForm(AppForm):
    """The office, role and cohort of a roster file, and the file (CSV or XLSX)."""

    county = SelectField(_l("Office"), coerce=_int_or_none,
                         validators=[InputRequired(message=_l("Choose the office."))])
    role = SelectField(_l("Role"), choices=[(r.value, r.title) for r in ROSTER_ROLES],
                       validators=[InputRequired(message=_l("Choose the role."))])
    cohort = SelectField(_l("Cohort"),
                         validators=[InputRequired(message=_l("Choose the cohort."))])
    file = FileField(_l("File (CSV or Excel)"),
                     validators=[FileRequired(message=_l("Choose the file to upload."))])


class ImportDecisionForm(AppForm):
    """A button (confirm or discard an uploaded file); the CSRF token is its only field."""


class CompletionFilterForm(AppForm):
    """Which people of a roster to list (read from the query string)."""

    class Meta(AppForm.Meta):
        csrf = False

    kind = SelectField(_l("Course"), validate_choice=False, default="")
    state = SelectField(_l("State"), validate_choice=False, default="")
    municipality = SelectField(_l("Municipality"), validate_choice=False, default="")


class MatchForm(AppForm):
    """The roster entry an ambiguous enrollment belongs to, or none of them ('0')."""

    entry = SelectField(_l("Belongs to"), coerce=_int_or_none, validate_choice=False,
                        validators=[InputRequired(message=_l("Choose who this is."))])
