"""Refunds' personal data: travel claims, their lines and receipts.

Registered with ``core.privacy`` at ``init_app``. A paid claim is bookkeeping documentation:
the claim, its lines, its receipts and the payee's name and account number stay until
``PRIVACY_PAID_CLAIM_RETENTION_YEARS`` after the end of the year it was paid (bokføringsloven
§ 13), then go like the rest. An approved claim not yet paid is kept until it is paid. Every other
claim loses its account number and free text, and its receipts are deleted; amounts, dates,
status and reference stay for statistics.

The export lists each receipt's metadata and sha256, not its bytes: receipts are up to 10 MB
each, the person uploaded them and sees them on their claim, and the hash proves which file we
hold without putting megabytes of base64 into a JSON document.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import sqlalchemy as sa
from flask import Flask
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, selectinload

from core.i18n import format_short_day, to_local
from core.privacy import Anonymisation, Hold, Provider, Retention, register_provider, row_dict
from enrollment.models import Enrollment
from enrollment.services.privacy import audit_events_about
from refunds.models import Claim, ClaimStatus

LINE_TEXT = ("description", "from_place", "to_place", "taxi_reason", "adjust_note")


def _claims(session: Session, person_id: int) -> list[Claim]:
    return list(session.scalars(
        sa.select(Claim).join(Enrollment, Enrollment.id == Claim.enrollment_id)
        .where(Enrollment.participant_id == person_id)
        .options(selectinload(Claim.lines), selectinload(Claim.receipts))
        .order_by(Claim.id)))


def export(session: Session, person_id: int) -> dict[str, list[dict]]:
    """The person's claims, claim lines, receipts (without their bytes) and claim audit."""
    claims = _claims(session, person_id)
    return {
        "claims": [row_dict(c) for c in claims],
        "claim_lines": [row_dict(line) for c in claims for line in c.lines],
        "receipts": [row_dict(r, exclude=("data",)) for c in claims for r in c.receipts],
        "audit_events": audit_events_about(session, [("claim", [c.id for c in claims])]),
    }


def kept_until(claim: Claim, years: int) -> date | None:
    """The last day the bookkeeping rules keep a paid claim: the end of the year of payment
    plus ``years``."""
    paid = claim.payment_date or (to_local(claim.paid_at).date() if claim.paid_at else None)
    return date(paid.year + years, 12, 31) if paid else None


def claim_hold(claim: Claim, retention: Retention) -> Hold | None:
    """Why the law keeps ``claim`` on ``retention.as_of``, or None."""
    if claim.status == ClaimStatus.APPROVED:
        return Hold(ref=claim.reference or str(claim.id), until=None,
                    reason=_l("Travel claim %(ref)s is approved but not yet paid; it is kept "
                              "until it is paid.", ref=claim.reference))
    if claim.status == ClaimStatus.PAID:
        until = kept_until(claim, retention.paid_claim_years)
        if until is not None and retention.as_of <= until:
            return Hold(ref=claim.reference or str(claim.id), until=until,
                        reason=LazyString(lambda: _(
                            "Travel claim %(ref)s is paid. The bookkeeping rules require the "
                            "claim, its receipts, the name and the account number to be kept "
                            "until %(until)s.", ref=claim.reference,
                            until=format_short_day(until))))
    return None


def holds(session: Session, person_id: int, retention: Retention) -> list[Hold]:
    """The person's claims the law keeps for now."""
    found = (claim_hold(c, retention) for c in _claims(session, person_id))
    return [h for h in found if h is not None]


def anonymise(session: Session, person_id: int, plan: Anonymisation) -> Counter:
    """Blank account numbers and free text and delete receipts of every claim not held."""
    counts: Counter = Counter()
    for claim in _claims(session, person_id):
        if claim_hold(claim, plan.retention) is not None:
            continue
        changed = any(getattr(claim, name) for name in
                      ("bank_account", "comment", "reason", "staff_note"))
        claim.bank_account = claim.comment = claim.reason = claim.staff_note = ""
        for line in claim.lines:
            changed |= any(getattr(line, name) for name in LINE_TEXT) or bool(line.receipt_id)
            for name in LINE_TEXT:
                setattr(line, name, "")
            line.receipt_id = None
        session.flush()
        for receipt in list(claim.receipts):
            session.delete(receipt)
            counts["receipts deleted"] += 1
        counts["claims"] += int(changed)
    return counts


def register(app: Flask) -> None:
    """Register refunds' personal data with the privacy registry."""
    register_provider(app, Provider(name="refunds", export=export, anonymise=anonymise,
                                    holds=holds))
