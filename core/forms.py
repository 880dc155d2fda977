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
from werkzeug.datastructures import CombinedMultiDict, MultiDict

FILE_FIELDS = (FileField, MultipleFileField)


class AppForm(FlaskForm):
    """The base of every Flask-WTF form here (see the module's docstring)."""

    class Meta(FlaskForm.Meta):
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
