"""The certificate operations the rules refuse, each with the message a person reads.

A service raises one of these (``core.transaction.DomainError``); the request's edge or a
``with refusals(form):`` block turns it into its message from ``MESSAGES``, the one table of the
plugin. The participant's own certificate answers 404 for ``NotCompleted``,
``CertificateRevoked`` and ``BreachesRules`` (there is nothing to hand out), so their messages
are for staff pages and the command line.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l

from core.i18n import format_moment
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
