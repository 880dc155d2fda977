"""What the audit log calls certificates' events and fields, and how it names a certificate: by
its participant's name (an anonymised one as such, and then without the name the certificate
stated). Registered with ``core.audit`` by ``init_app``."""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa
from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from certificates.models import Certificate
from core.audit import Subject, register_action, register_field, register_subject
from enrollment.audit_words import person
from enrollment.models import Enrollment, Participant

ACTIONS = {
    "certificate.issue": _l("Certificate issued"),
    "certificate.issue_by_hand": _l("Certificate issued by hand"),
    "certificate.reissue": _l("Certificate issued again"),
    "certificate.revoke": _l("Certificate revoked"),
}
FIELDS = {
    "code": _l("Verification code"),
    "attended": _l("Course days attended"),
    "total": _l("Course days in all"),
    "issued_on": _l("Issued on"),
    "manual_reason": _l("Why issued by hand"),
    "completed": _l("Completion rule met"),
    "revoked_at": _l("Revoked"),
    "revoked_reason": _l("Why revoked"),
}


def certificate_names(session: Session, ids: Collection[int]) -> dict[int, Subject]:
    """Certificates by their participant's name."""
    rows = session.execute(
        sa.select(Certificate.id, Participant)
        .join(Enrollment, Enrollment.id == Certificate.enrollment_id)
        .join(Participant, Participant.id == Enrollment.participant_id)
        .where(Certificate.id.in_(ids)))
    return {certificate_id: person(participant) for certificate_id, participant in rows}


def init_app(app: Flask) -> None:
    """Register certificates' words and namer with the audit log of ``app``."""
    register_subject(app, "certificate", _l("Certificate"), certificate_names)
    for name, title in ACTIONS.items():
        register_action(app, name, title)
    for name, title in FIELDS.items():
        register_field(app, name, title, object_type="certificate")
    # The name the certificate stated: never shown once the person's details are removed.
    register_field(app, "name", _l("Name on the certificate"), object_type="certificate",
                   personal=True)
