"""Every form of the certificates plugin: the verification code typed by hand, a certificate's
PDF file uploaded to be checked, the participant's button that gets their certificate, and the
reasons staff give for issuing a certificate by hand and for revoking one."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from certificates.codes import normalise_code
from certificates.services import MAX_REASON
from core.forms import AppForm
from enrollment.forms import no_control_characters, strip


def _looks_like_code(form, field):
    """A code has ten letters and digits; dashes and spaces between them do not matter."""
    if field.data and normalise_code(field.data) is None:
        raise ValidationError(_l("A verification code has 10 letters and digits, like "
                                 "7K3M9-QX2WP."))


class VerifyForm(AppForm):
    """The code printed on a certificate, typed by hand (read from the query string)."""

    class Meta:
        csrf = False

    code = StringField(
        _l("Verification code"),
        filters=[strip],
        validators=[
            DataRequired(message=_l("Enter the verification code printed on the certificate.")),
            Length(max=40, message=_l("A verification code has 10 letters and digits, like "
                                      "7K3M9-QX2WP.")),
            no_control_characters,
            _looks_like_code,
        ],
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"},
    )


class VerifyFileForm(AppForm):
    """A certificate's PDF file, uploaded to have its signature checked (never kept). Whether
    a file was chosen, and what is in it, the route checks (``certificates.file_check``)."""

    file = FileField(_l("The certificate's PDF file"),
                     render_kw={"accept": ".pdf,application/pdf"})

    def chosen_file(self):
        """The uploaded file, or None when none was chosen (browsers send an empty part)."""
        data = self.file.data
        return data if data is not None and getattr(data, "filename", None) else None


def _reason(label, message):
    return TextAreaField(label, filters=[strip], validators=[
        DataRequired(message=message),
        Length(max=MAX_REASON, message=_l("At most 2,000 characters.")),
        no_control_characters,
    ])


class CertificateForm(AppForm):
    """The participant's button that issues their certificate when it is due, then downloads
    it; the language (``lang``) is checked by the route, and the CSRF token is its only
    field."""


class PrintForm(AppForm):
    """The staff button that issues an offering's due certificates, then prints them; the
    CSRF token is its only field."""


class IssueForm(AppForm):
    """Why a certificate is issued by hand, or issued again."""

    reason = _reason(_l("Reason (kept in the audit log)"),
                     _l("Write why the certificate is issued by hand."))


class RevokeForm(AppForm):
    """Why a certificate is revoked; anyone who checks its code reads the reason."""

    reason = _reason(_l("Reason (shown on the public verification page)"),
                     _l("Write why the certificate is revoked."))
