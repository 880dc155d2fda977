"""The refunds plugin's settings (checked at start like core's: core/settings.py)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from core.settings import Integer, Kind, RateLimit, Setting, Text
from refunds.bank import InvalidAccountNumber, validate_account
from refunds.queries import QUEUE_PAGE_SIZE
from refunds.uploads import MAX_RECEIPT_BYTES

UPLOAD_MAX_FILES = 5


class PayingAccount(Kind):
    """The office's account for the pain.001 file: eleven digits passing MOD11 (given as a
    number or a string, with spaces or dots), or an IBAN; stored as a string."""

    expected = ("a Norwegian account number (11 digits with a valid MOD11 check digit, "
                'e.g. "8601 11 17947") or an IBAN')

    def parse(self, value: Any) -> Any:  # noqa: D102
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # FLASK_REFUNDS_DEBTOR_ACCOUNT=86011117947 arrives as a number
        if not isinstance(value, str):
            raise ValueError
        compact = value.replace(" ", "").replace(".", "").upper()
        if compact[:2].isalpha():
            return _iban(compact)
        try:
            return validate_account(value)
        except InvalidAccountNumber:
            raise ValueError from None


def _iban(compact: str) -> str:
    """An IBAN whose ISO 13616 check digits are right (a Norwegian one: its BBAN passes MOD11)."""
    if not (15 <= len(compact) <= 34 and compact.isascii() and compact.isalnum()):
        raise ValueError
    rearranged = compact[4:] + compact[:4]
    if int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 != 1:
        raise ValueError
    if compact.startswith("NO"):
        try:
            validate_account(compact[4:])
        except InvalidAccountNumber:
            raise ValueError from None
    return compact


def _upload_request_limit(app: Flask) -> int:
    # The upload route (only) accepts that many receipts and a little form data.
    return app.config["REFUNDS_UPLOAD_MAX_FILES"] * MAX_RECEIPT_BYTES + 1024 * 1024


SETTINGS = (
    Setting("REFUND_CLAIM_MONTHS", Integer(), 3),
    Setting("REFUNDS_UPLOAD_MAX_FILES", Integer(most=50), UPLOAD_MAX_FILES),
    Setting("REFUNDS_UPLOAD_REQUEST_LIMIT", Integer(least=1024), _upload_request_limit),
    Setting("REFUNDS_QUEUE_PAGE_SIZE", Integer(), QUEUE_PAGE_SIZE),
    # Each receipt is parsed in a sandbox that may take seconds of CPU: per claim and per IP.
    Setting("RECEIPT_UPLOAD_RATE_LIMIT", RateLimit(), "20 per 10 minutes"),
    Setting("RECEIPT_UPLOAD_IP_RATE_LIMIT", RateLimit(), "200 per 10 minutes"),
    # The paying account for the pain.001 export; the export is offered only when both are set.
    Setting("REFUNDS_DEBTOR_NAME", Text("the paying office's name"), optional=True),
    Setting("REFUNDS_DEBTOR_ACCOUNT", PayingAccount(), optional=True),
    Setting("REFUNDS_DEBTOR_BIC", Text("a BIC of 8 or 11 letters and digits", check=lambda v: (
        len(v.strip()) in (8, 11) and v.strip().isascii() and v.strip().isalnum())),
        optional=True),
)
