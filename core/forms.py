"""The base of every form in the app: Flask-WTF's, with uploads given only to file fields.

Flask-WTF hands a form ``request.form`` and ``request.files`` merged into one dictionary. A
hostile multipart post can then put a file under the name of a text field, and the text field's
validators receive a ``FileStorage`` instead of a string (a ``TypeError``, so a 500). Here a
file reaches a field only when that field takes files; a file under any other name is dropped,
so the field is simply missing and says so next to itself, like any other missing value.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from jinja2 import pass_context
from werkzeug.datastructures import CombinedMultiDict, MultiDict

FILE_FIELDS = (FileField, MultipleFileField)
SELECT_TYPES = ("SelectField", "QuerySelectField")


def error_items(*forms) -> list[tuple[str | None, str]]:
    """Every error of ``forms`` in page order, for an error summary: (the id of the control to
    move to, or None for an error of the whole form; the message, with the field's label
    first). The CSRF token's error is left out: the summary says it in words of its own.

    A radio group's first button is the target (the group's own id is on its list); fields in
    lists and sub-forms (a claim's legs) are flattened in their order, each named by its row
    when the row's form has a ``ROW_LABEL`` ("Leg %(n)s"). Controls a form does not declare
    (the attendance page's radio group per person) are given by the view as
    ``form.control_errors``, (id, message) pairs, after the form's own.
    """
    items: list[tuple[str | None, str]] = []
    for form in forms:
        if form is None:
            continue
        for error in getattr(form, "form_errors", []):
            items.append((None, str(error)))
        for field in in_page_order(form):
            items.extend(_field_items(field))
        items.extend(getattr(form, "control_errors", []))
    return items


def in_page_order(form) -> list:
    """The form's fields in the order its page shows them: its ``PAGE_ORDER`` (field names)
    first where it has one, as a subclass's fields come after its base's otherwise."""
    fields = list(form)
    order = getattr(form, "PAGE_ORDER", ())
    return sorted(fields, key=lambda f: order.index(f.name) if f.name in order else len(order))


def _field_items(field, row: str | None = None) -> list[tuple[str | None, str]]:
    if field.type == "CSRFTokenField":
        return []
    if field.type == "FieldList":
        items = []
        for number, entry in enumerate(field, start=1):
            # A row names itself as its legend does ("Leg 2"), so that "Date: Enter the date."
            # says which of the rows it is about.
            name = getattr(getattr(entry, "form", None), "ROW_LABEL", None)
            items.extend(_field_items(entry, str(name % {"n": number}) if name else row))
        return items
    if field.type == "FormField":
        return [item for sub in field.form for item in _field_items(sub, row)]
    target = f"{field.id}-0" if field.type == "RadioField" else field.id
    # "Label: message"; a label that is a sentence keeps no full stop before the colon.
    label = str(field.label.text).rstrip(" .:") if field.label else ""
    if row:
        label = f"{row}, {label}" if label else row
    # Messages are often lazy strings (``_l``), not ``str``: keep all but nested containers.
    return [(target, f"{label}: {error}" if label else str(error))
            for error in field.errors if not isinstance(error, dict | list | tuple)]


@pass_context
def page_has_errors(context) -> bool:
    """Whether a form the page shows was refused: its title then starts with "Error:"."""
    return any(isinstance(value, FlaskForm) and value.errors for value in context.values())


def init_app(app) -> None:
    """The templates' helpers for error summaries and titles."""
    app.jinja_env.globals.update(error_items=error_items, page_has_errors=page_has_errors)


class FieldMarkup:
    """The markup rules of every field (``render_field`` below), as a ``Meta`` mixin: AppForm
    has them, and so do the plain sub-forms of a ``FieldList`` (``class Meta(FieldMarkup)``),
    whose fields are rendered through their own form's meta."""

    def render_field(self, field, render_kw):
        """Every field's markup follows three rules, wherever a template renders it:

        - the CSRF token has no ``id``: a page with two forms would repeat ``csrf_token``;
        - an invalid field says so (``aria-invalid="true"``); the ``field`` macro adds
          ``aria-describedby`` pointing at the message next to it;
        - a required ``<select>`` whose first option is a real choice is not marked
          ``required``: HTML reserves that for a list that opens on an empty placeholder,
          and such a list can never be sent empty anyway.
        """
        render_kw = dict(render_kw)
        if field.type == "CSRFTokenField":
            render_kw.setdefault("id", False)
        if field.errors:
            render_kw.setdefault("aria-invalid", "true")
        if field.type in SELECT_TYPES and field.flags.required:
            choices = list(field.iter_choices())
            if choices and str(choices[0][0]) != "":
                render_kw["required"] = False
        return super().render_field(field, render_kw)


class AppForm(FlaskForm):
    """The base of every Flask-WTF form here (see the module's docstring)."""

    class Meta(FieldMarkup, FlaskForm.Meta):
        def wrap_formdata(self, form, formdata):
            formdata = super().wrap_formdata(form, formdata)
            if not isinstance(formdata, CombinedMultiDict):
                return formdata
            files, text = formdata.dicts[0], formdata.dicts[1:]
            wanted = {name for name, field in form._fields.items()
                      if isinstance(field, FILE_FIELDS)}
            kept = MultiDict([(name, value) for name, value in files.items(multi=True)
                              if name in wanted])
            return CombinedMultiDict([kept, *text])
