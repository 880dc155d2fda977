"""The certificate operations the rules refuse, each with the message a person reads.

A service raises one of these; the route turns it into its message (``message``). Errors that
end in a 404 for the participant (``NotCompleted``, ``CertificateRevoked``, ``BreachesRules``)
and ``ReasonRequired`` (the forms ask for the reason before a service is called) show no
message and have none.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l

from core.i18n import format_moment

MESSAGES = {
    "not_issuable": _l("Only confirmed participants can get a certificate."),
    "already_revoked": _l("This certificate is already revoked."),
    "not_yet_ended": _l("Nothing was issued: a certificate can be issued by hand once the "
                        "course has ended, from %(when)s."),
}


class CertificateError(Exception):
    """A certificate operation that the rules do not allow."""

    code = "certificate"

    def details(self) -> dict[str, str]:
        """The values the message names, formatted for the active language."""
        return {}


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
    """Issuing by hand and revoking need a reason."""

    code = "reason_required"


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

    def details(self) -> dict[str, str]:
        return {"when": format_moment(self.ends_at)}


def message(error: CertificateError) -> str:
    """What ``error`` means, in the active language."""
    return str(MESSAGES[error.code]) % error.details()
