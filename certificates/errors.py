"""The certificate operations the rules refuse, each with the message a person reads.

A service raises one of these (``core.transaction.DomainError``); the request's edge or a
``with refusals(form):`` block turns it into its message from ``MESSAGES``, the one table of the
plugin. The participant's own certificate answers 404 for ``NotCompleted``,
``CertificateRevoked`` and ``BreachesRules`` (there is nothing to hand out), so their messages
are for staff pages and the command line.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l

from core.i18n import format_moment, format_number
from core.transaction import DomainError

MESSAGES = {
    "not_completed": _l("The attendance rule is not met by course days that have ended."),
    "not_issuable": _l("Only confirmed participants can get a certificate."),
    "revoked": _l("The certificate was revoked; only the office can issue a new one."),
    "already_revoked": _l("This certificate is already revoked."),
    "reason_required": _l("Write the reason."),
    "breaches_rules": _l("Certificate not valid: issue it again or revoke it"),
    "not_yet_ended": _l("Nothing was issued: a certificate can be issued by hand once the "
                        "course has ended, from %(when)s."),
    # A file uploaded to /verify to be checked (``FileRefused``).
    "no_file": _l("Choose the certificate's PDF file."),
    "empty": _l("The file is empty. Choose the PDF file of the certificate."),
    "too_large": _l("The file is larger than %(size)s. A certificate of attendance is a much "
                    "smaller PDF file: choose the file you were given."),
    "not_pdf": _l("The file is not a PDF file. Choose the PDF file of the certificate."),
    "corrupt": _l("The file is damaged and cannot be read. Check the verification code "
                  "printed on the certificate instead."),
    "too_complex": _l("The file took too long to check. Choose the PDF file of the "
                      "certificate as you were given it."),
}


class CertificateError(DomainError):
    """A certificate operation that the rules do not allow."""

    code = "certificate"
    MESSAGES = MESSAGES


class NotCompleted(CertificateError):
    """The participant has not met the completion rule."""

    code = "not_completed"


class NotIssuable(CertificateError):
    """Only confirmed enrollments get certificates."""

    code = "not_issuable"


class CertificateRevoked(CertificateError):
    """The enrollment's certificate was revoked; only staff can issue a new one."""

    code = "revoked"


class AlreadyRevoked(CertificateError):
    """The certificate is revoked already."""

    code = "already_revoked"


class ReasonRequired(CertificateError):
    """Issuing by hand and revoking need a reason (the forms ask for it first)."""

    code = "reason_required"
    field = "reason"
    status = 400


class BreachesRules(CertificateError):
    """The enrollment's certificate breaks the time or completion rules: it is not valid
    until staff issue it again or revoke it."""

    code = "breaches_rules"


def size_text(limit: int, locale: str | None = None) -> str:
    """A size limit in bytes for a person: '2 MB', '1,5 MB', '64 kB'."""
    if limit >= 1024 * 1024:
        megabytes = (Decimal(limit) / (1024 * 1024)).quantize(Decimal("0.1")).normalize()
        return f"{format_number(megabytes, locale)} MB"
    return f"{format_number(limit // 1024, locale)} kB"


class FileRefused(CertificateError):
    """A file uploaded to ``/verify`` that cannot be checked: ``no_file``, ``empty``,
    ``too_large`` (``limit``: the bytes allowed), ``not_pdf``, and from the sandbox
    ``corrupt`` or ``too_complex``. Shown next to the file field; 413 when too large."""

    code = "corrupt"
    field = "file"

    def __init__(self, detail: str = "", *, code: str | None = None, limit: int = 0):
        super().__init__(detail, code=code)
        self.limit = limit

    @property
    def message(self) -> str:
        """The message in the current language, with the size limit where it names one."""
        text = str(MESSAGES[self.code])
        return text % {"size": size_text(self.limit)} if self.code == "too_large" else text

    @property
    def status(self) -> int:  # type: ignore[override]
        """413 for a file over the size limit, else 400: the input is refused, nothing else."""
        return 413 if self.code == "too_large" else 400


class NotYetEnded(CertificateError):
    """Issued by hand, the certificate must wait until the course's sessions have ended."""

    code = "not_yet_ended"

    def __init__(self, ends_at: datetime):
        super().__init__(f"the course ends at {ends_at.isoformat()}")
        self.ends_at = ends_at

    @property
    def message(self) -> str:
        """The message, with the course's end in the active language and time zone."""
        return str(MESSAGES[self.code]) % {"when": format_moment(self.ends_at)}
