"""Receipts of a claim: store one already checked and cleaned (``refunds.uploads``, outside the
transaction), and remove one. Only while the participant may change the claim.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from refunds.errors import (
    InvalidInput,
)
from refunds.models import ClaimLine, Receipt
from refunds.services.status import (
    check_editable,
    lock_claim,
)
from refunds.uploads import CheckedReceipt

MAX_RECEIPTS_PER_CLAIM = 20


def attach_receipt(
    session: Session, claim_id: int, checked: CheckedReceipt, *, now: datetime,
    line_id: int | None = None,
) -> Receipt:
    """Store a receipt already checked and cleaned (``uploads.read_receipt``, outside the
    transaction) on the claim, linked to one of its lines if ``line_id`` is given."""
    claim = lock_claim(session, claim_id)
    check_editable(claim)
    count = session.scalar(
        sa.select(sa.func.count()).select_from(Receipt).where(Receipt.claim_id == claim.id)
    )
    if count >= MAX_RECEIPTS_PER_CLAIM:
        raise InvalidInput(code="too_many_receipts")
    line = None
    if line_id is not None:
        line = session.scalar(
            sa.select(ClaimLine).where(ClaimLine.id == line_id, ClaimLine.claim_id == claim.id)
        )
        if line is None:
            raise InvalidInput(code="unknown_line")
    receipt = Receipt(
        claim_id=claim.id, data=checked.data, sha256=checked.sha256,
        original_sha256=checked.original_sha256, content_type=checked.content_type,
        size=checked.size, original_name=checked.original_name, width=checked.width,
        height=checked.height, uploaded_at=now,
    )
    session.add(receipt)
    session.flush()
    if line is not None:
        line.receipt_id = receipt.id
    claim.updated_at = now
    session.flush()
    return receipt


def remove_receipt(session: Session, claim_id: int, receipt_id: int, *, now: datetime) -> None:
    """Delete a receipt of an editable claim; lines it documented lose their link."""
    claim = lock_claim(session, claim_id)
    check_editable(claim)
    receipt = session.scalar(
        sa.select(Receipt).where(Receipt.id == receipt_id, Receipt.claim_id == claim.id)
    )
    if receipt is None:
        raise InvalidInput(code="unknown_receipt")
    session.execute(
        sa.update(ClaimLine).where(ClaimLine.receipt_id == receipt.id).values(receipt_id=None)
        .execution_options(synchronize_session="fetch")
    )
    session.delete(receipt)
    claim.updated_at = now
    session.flush()


