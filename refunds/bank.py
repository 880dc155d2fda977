"""Norwegian bank account numbers: eleven digits whose last is a MOD11 check digit.

People write them as ``8601 11 17947`` or ``8601.11.17947``; we accept spaces and dots on input
and store the eleven digits. The check digit is 11 − (Σ digit × weight mod 11) with the weights
5, 4, 3, 2, 7, 6, 5, 4, 3, 2 on the first ten digits; 11 becomes 0, and 10 means no valid
account number has these first ten digits.
"""

from __future__ import annotations

import re

from refunds.errors import InvalidAccountNumber

WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_SEPARATORS = re.compile(r"[ .\u00a0\u202f]")
_ELEVEN_DIGITS = re.compile(r"[0-9]{11}")


def check_digit(first_ten: str) -> int | None:
    """The MOD11 check digit for ten digits, or None when the remainder gives 10."""
    if len(first_ten) != 10 or not first_ten.isascii() or not first_ten.isdigit():
        raise ValueError("ten ASCII digits expected")
    remainder = sum(int(d) * w for d, w in zip(first_ten, WEIGHTS, strict=True)) % 11
    check = 11 - remainder
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def normalise_account(text: str) -> str:
    """The eleven digits of ``text`` with spaces and dots removed; raises on anything else."""
    digits = _SEPARATORS.sub("", text.strip())
    if not _ELEVEN_DIGITS.fullmatch(digits):
        raise InvalidAccountNumber("format")
    return digits


def validate_account(text: str) -> str:
    """The normalised account number, or ``InvalidAccountNumber`` if its check digit is wrong."""
    digits = normalise_account(text)
    if check_digit(digits[:10]) != int(digits[10]):
        raise InvalidAccountNumber("checksum")
    return digits


def is_valid_account(text: str) -> bool:
    """Whether ``text`` is a valid account number (spaces and dots allowed)."""
    try:
        validate_account(text)
    except InvalidAccountNumber:
        return False
    return True


def format_account(digits: str) -> str:
    """Eleven digits grouped the usual way: ``8601 11 17947``."""
    if not _ELEVEN_DIGITS.fullmatch(digits):
        return digits
    return f"{digits[:4]} {digits[4:6]} {digits[6:]}"
