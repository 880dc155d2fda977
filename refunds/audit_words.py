"""What the audit log calls refunds' events and fields, and how it names a claim: by its
participant's name (an anonymised one as such). Registered with ``core.audit`` by
``init_app``."""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa
from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from core.audit import Subject, register_action, register_field, register_subject
from enrollment.audit_words import person
from enrollment.models import Enrollment, Participant
from refunds.models import Claim, ClaimStatus, RateKind

# The audit action of a staff member moving a claim to each status (``subscribers``).
CLAIM_ACTIONS = {
    ClaimStatus.DRAFT: "claim.draft",
    ClaimStatus.SUBMITTED: "claim.submitted",
    ClaimStatus.RETURNED: "claim.returned",
    ClaimStatus.RESUBMITTED: "claim.resubmitted",
    ClaimStatus.APPROVED: "claim.approved",
    ClaimStatus.REJECTED: "claim.rejected",
    ClaimStatus.PAID: "claim.paid",
}
ACTIONS = {
    "claim.draft": _l("Travel claim back to draft"),
    "claim.submitted": _l("Travel claim submitted"),
    "claim.returned": _l("Travel claim returned for changes"),
    "claim.resubmitted": _l("Travel claim resubmitted"),
    "claim.approved": _l("Travel claim approved"),
    "claim.rejected": _l("Travel claim rejected"),
    "claim.paid": _l("Travel claim paid"),
    "rate.add": _l("Travel rate added"),
}
CLAIM_FIELDS = [
    ("reason", _l("Reason"), {}),
    ("staff_note", _l("Note from the caseworker"), {}),
    ("total_ore", _l("Amount claimed"), {"money": True}),
    ("approved_total_ore", _l("Amount approved"), {"money": True}),
    ("decided_at", _l("Decided"), {}),
    ("decided_by_id", _l("Decided by"), {"refers_to": "staff_user"}),
    ("paid_at", _l("Marked paid"), {}),
    ("paid_by_id", _l("Marked paid by"), {"refers_to": "staff_user"}),
    ("payment_date", _l("Payment date"), {}),
    ("own_car_approved", _l("Use of own car approved"), {}),
    ("adjustments", _l("Amounts adjusted"), {}),
]
RATE_FIELDS = [
    ("closed", _l("Rates closed"), {"refers_to": "rate"}),
    ("kind", _l("Kind of rate"), {"values": {kind.value: kind.title for kind in RateKind}}),
    ("amount_ore", _l("Rate"), {"money": True}),
    ("percent", _l("Percent"), {}),
    ("valid_from", _l("Valid from"), {}),
    ("note", _l("Note"), {}),
]


def claim_names(session: Session, ids: Collection[int]) -> dict[int, Subject]:
    """Claims by their participant's name."""
    rows = session.execute(
        sa.select(Claim.id, Participant)
        .join(Enrollment, Enrollment.id == Claim.enrollment_id)
        .join(Participant, Participant.id == Enrollment.participant_id)
        .where(Claim.id.in_(ids)))
    return {claim_id: person(participant) for claim_id, participant in rows}


def init_app(app: Flask) -> None:
    """Register refunds' words and namer with the audit log of ``app``."""
    register_subject(app, "claim", _l("Travel claim"), claim_names)
    register_subject(app, "rate", _l("Travel rate"))
    for name, title in ACTIONS.items():
        register_action(app, name, title)
    register_field(app, "status", _l("Status"), object_type="claim",
                   values={status.value: status.title for status in ClaimStatus})
    for name, title, options in CLAIM_FIELDS:
        register_field(app, name, title, object_type="claim", **options)
    for name, title, options in RATE_FIELDS:
        register_field(app, name, title, object_type="rate", **options)
