"""The attendance page's form: which button staff pressed."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SubmitField

from core.forms import AppForm


class AttendanceForm(AppForm):
    """Which button was pressed; each person's mark is a radio group of its own,
    ``mark-<enrollment id>``, read by ``_posted_marks`` (the roster decides the names)."""

    save = SubmitField(_l("Save attendance"))
    mark_all = SubmitField(_l("Mark everyone present"))
    mark_none = SubmitField(_l("Mark everyone absent"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        #: (id of the first radio button, message) for each person whose mark was refused:
        #: the error summary links them (core.forms.error_items).
        self.control_errors: list[tuple[str, str]] = []
