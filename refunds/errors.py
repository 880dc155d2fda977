"""The domain errors of refunds. Each carries a ``code`` the web layer turns into a message."""

from __future__ import annotations

from datetime import date

from refunds.bank import InvalidAccountNumber
from refunds.calc import CalcError
from refunds.models import ClaimStatus
from refunds.uploads import ReceiptRefused


class RefundError(Exception):
    """A domain rule refused the operation; ``code`` names which."""

    code = "error"

    def __init__(self, message: str = "", *, code: str | None = None):
        if code is not None:
            self.code = code
        super().__init__(message or self.code)


class NoRateScheme(RefundError):
    """No rate scheme applies to the county (run ``flask rates load``)."""

    code = "no_scheme"


class NotEligible(RefundError):
    """This enrollment gives no refund: ``not_confirmed``, ``offering_not_eligible``,
    ``role_not_refunded`` or ``no_sessions``."""


class OutsideClaimWindow(RefundError):
    """Claims are taken from the first session's date to the deadline: ``window_not_open`` or
    ``window_closed``; ``opens`` and ``closes`` say when."""

    def __init__(self, code: str, opens: date, closes: date):
        super().__init__(f"{code}: {opens}–{closes}", code=code)
        self.opens, self.closes = opens, closes


class NoAttendance(RefundError):
    """The participant has attended no session (none recorded present), so the claim cannot
    be submitted yet; a draft can still be kept."""

    code = "no_attendance"


class ClaimLocked(RefundError):
    """The claim is not a draft or returned claim, so it cannot be changed."""

    code = "locked"


class InvalidTransition(RefundError):
    """The status change is not in ``TRANSITIONS``."""

    code = "invalid_transition"

    def __init__(self, current: ClaimStatus, target: ClaimStatus, reference: str | None = None):
        super().__init__(f"{reference or 'claim'}: {current.value} → {target.value} not allowed")
        self.current, self.target, self.reference = current, target, reference


class ClaimIncomplete(RefundError):
    """The claim cannot be submitted yet; ``problems`` lists codes (``no_lines``,
    ``receipts_missing``, ``bank_account_missing``, ``bank_account_invalid``) and
    ``lines_missing_receipt`` the positions of the lines that need a receipt."""

    code = "incomplete"

    def __init__(self, problems: list[str], lines_missing_receipt: list[int]):
        super().__init__(", ".join(problems))
        self.problems = problems
        self.lines_missing_receipt = lines_missing_receipt


class SelfApproval(RefundError):
    """A caseworker may not approve a claim made with their own e-mail address."""

    code = "self_approval"


class NotPermitted(RefundError):
    """The staff member does not work for the claim's county."""

    code = "not_permitted"


class ReasonRequired(RefundError):
    """Rejecting or returning a claim needs a reason for the participant."""

    code = "reason_required"


class InvalidInput(RefundError):
    """A value is out of bounds: ``comment_too_long``, ``reason_too_long``,
    ``adjustment_invalid``, ``adjustment_note_missing``, ``unknown_line``,
    ``unknown_receipt``, ``too_many_receipts``, ``nothing_selected``, ``rate_overlap``,
    ``rate_invalid``."""


# Everything a view may catch and show; each carries a ``code``.
DOMAIN_ERRORS = (RefundError, CalcError, ReceiptRefused, InvalidAccountNumber)
