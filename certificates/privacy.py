"""Certificates' personal data: the certificates issued to a person.

Registered with ``core.privacy`` at ``init_app``. Anonymising keeps what certificate
verification needs: the certificate with the name it states, unless the person asked for
erasure; the HPR number goes either way. Erased, the certificate is revoked (its code then
says so) in the office's language.
"""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa
from flask import Flask
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session, joinedload

from certificates.models import Certificate
from core.privacy import Anonymisation, Provider, register_provider, row_dict
from enrollment.models import CourseOffering, Enrollment
from enrollment.services.privacy import audit_events_about


def _certificates(session: Session, person_id: int) -> list[Certificate]:
    return list(session.scalars(
        sa.select(Certificate).join(Enrollment, Enrollment.id == Certificate.enrollment_id)
        .where(Enrollment.participant_id == person_id)
        .options(joinedload(Certificate.enrollment).joinedload(Enrollment.offering)
                 .joinedload(CourseOffering.county))
        .order_by(Certificate.id)))


def export(session: Session, person_id: int) -> dict[str, list[dict]]:
    """The person's certificates and the audit events about them."""
    certificates = _certificates(session, person_id)
    return {
        "certificates": [row_dict(c) for c in certificates],
        "audit_events": audit_events_about(session, [("certificate",
                                                      [c.id for c in certificates])]),
    }


def _erase_certificate(certificate: Certificate, plan: Anonymisation, locale: str) -> int:
    snapshot = dict(certificate.snapshot)
    changed = snapshot.get("hpr_number") not in ("", None)
    snapshot["hpr_number"] = ""
    if plan.erasure and snapshot.get("name"):
        snapshot["name"] = ""
        changed = True
        if certificate.revoked_at is None:
            with force_locale(locale):
                certificate.revoked_reason = _("erased at the holder's request")
            certificate.revoked_at = plan.now
            certificate.revoked_by_id = getattr(plan.actor, "id", None)
    if changed:
        certificate.snapshot = snapshot
    return int(changed)


def anonymise(session: Session, person_id: int, plan: Anonymisation) -> Counter:
    """Blank the HPR number on the person's certificates, and on erasure their name too."""
    counts: Counter = Counter()
    for certificate in _certificates(session, person_id):
        counts["certificates"] += _erase_certificate(
            certificate, plan, certificate.enrollment.offering.county.default_locale)
    return counts


def register(app: Flask) -> None:
    """Register certificates' personal data with the privacy registry."""
    register_provider(app, Provider(name="certificates", export=export, anonymise=anonymise))
