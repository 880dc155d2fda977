"""The domain errors of refunds, and what each means to a person.

Every refusal carries a ``code``; ``MESSAGES`` is the one table that says what each code means
(a line's calculation, a receipt, an account number, a claim's rules), ``LINE_FIELDS`` at which
field of a claim row a line's refusal is shown, and ``error_status`` the HTTP status (always 4xx)
a page answers with. The classes live here too, so an exception and its words are found in one
place; the modules that raise them (``calc``, ``journey``, ``uploads``, ``bank``, the services)
import them from here. Every one derives from ``RefundError``, a ``core.transaction.DomainError``:
a refusal no view catches is answered by the request's edge (its message flashed, nothing kept).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.filetypes import MAX_PAGES
from core.i18n import format_short_day
from core.transaction import DomainError
from refunds.models import ClaimStatus

if TYPE_CHECKING:
    from refunds.journey import JourneyWindow


class RefundError(DomainError):
    """A domain rule of refunds refused the operation; ``code`` names which, ``MESSAGES`` says
    what it means, ``status`` is the page's HTTP status (``error_status``)."""

    code = "error"

    @property
    def status(self) -> int:  # type: ignore[override]
        """The HTTP status of a page that shows this refusal (always 4xx)."""
        return error_status(self)

    @property
    def message(self) -> str:
        """What the refusal means, in the current language (the generic words for a code the
        table does not know)."""
        return str(message(self.code))


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

    @property
    def message(self) -> str:
        """Why the claim cannot be submitted now, with the dates."""
        return window_message(self)


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


# --- refusals of the pure parts: a line's calculation, an account number, a receipt ------------


class CalcError(RefundError):
    """A line cannot be computed; ``code`` says why, ``index`` which line (when known)."""

    def __init__(self, code: str, index: int | None = None):
        super().__init__(code if index is None else f"line {index}: {code}", code=code)
        self.index = index


class LinesRefused(CalcError):
    """One or more lines cannot be computed; ``errors`` has one ``CalcError`` per problem."""

    def __init__(self, errors: Sequence[CalcError]):
        super().__init__("lines_refused")
        self.errors = list(errors)


class OutsideJourney(CalcError):
    """A line is dated outside the journey window; ``first`` and ``last`` say which dates
    are allowed."""

    def __init__(self, index: int, window: JourneyWindow):
        super().__init__("outside_journey", index)
        self.first, self.last = window.first, window.last

    @property
    def message(self) -> str:
        """The dates the journey allows."""
        return journey_message(self.first, self.last)


class InvalidAccountNumber(RefundError, ValueError):
    """The text is not a valid Norwegian account number; ``code`` says why: ``format`` (not
    eleven digits) or ``checksum``."""

    field = "bank_account"

    def __init__(self, code: str):
        super().__init__(code, code=code)


class ReceiptRefused(RefundError):
    """An upload is refused; ``code`` says why.

    Codes: ``empty``, ``too_large``, ``bad_name``, ``unknown_type``, ``polyglot``, and from
    the sandbox ``truncated``, ``corrupt``, ``too_many_pixels``, ``too_complex``,
    ``pdf_encrypted``, ``pdf_unreadable``, ``pdf_no_pages``, ``pdf_too_many_pages`` and
    ``pdf_active_content``.
    """

    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code}: {detail}" if detail else code, code=code)
        self.detail = detail


# --- what each code means ----------------------------------------------------------------------

MESSAGES = {
    # A line's calculation (``CalcError``), shown at the row field ``LINE_FIELDS`` names.
    "no_rate": _l("There is no rate for this date. Check the date, or contact the county "
                  "governor."),
    "amount_missing": _l("Enter the amount you paid."),
    "amount_invalid": _l("The amount must be more than 0 kr."),
    "amount_too_large": _l("The amount is too large for one line. Check it, or split it."),
    "km_missing": _l("Enter the kilometres you drove."),
    "km_invalid": _l("Write the distance in kilometres from 0,1 to 5 000, with at most one "
                     "decimal."),
    "passengers_invalid": _l("Write the number of passengers, from 0 to 8."),
    "place_missing": _l("Enter where the leg started and ended."),
    "taxi_reason_missing": _l("A taxi is refunded only with a reason. Say why you needed it."),
    "text_too_long": _l("At most 300 characters."),
    "kind_invalid": _l("Choose a kind of cost from the list."),
    "allowances_disabled": _l("Meal allowances are not paid for this course."),
    # Shown with the allowed dates by ``journey_message`` where the window is known.
    "outside_journey": _l("The date is outside the days of your journey to the course."),
    "night_supplement_disabled": _l("Night supplements are not paid for this course."),
    "journey_km_missing": _l("Enter the distance to the course."),
    "journey_km_invalid": _l("Write the distance in kilometres from 0 to 5 000, with at most "
                             "one decimal."),
    "hours_missing": _l("Enter how many hours you were away this day."),
    "hours_invalid": _l("Write the hours from 0 to 24, with at most one decimal."),
    "allowance_too_short_distance": _l("A meal allowance is paid only for a journey of more "
                                       "than 15 km."),
    "allowance_too_short_time": _l("A meal allowance is paid only for a journey of 6 hours "
                                   "or more."),
    "night_with_lodging": _l("You claim accommodation for this night already. The night "
                             "supplement is only for a night without a lodging receipt."),
    "night_twice": _l("This night is already claimed."),
    # A receipt (``ReceiptRefused``).
    "empty": _l("The file is empty."),
    "too_large": _l("The file is larger than 10 MB. Scan it at a lower resolution or split "
                    "it."),
    "bad_name": _l("The file name is not allowed. Rename the file and try again."),
    "unknown_type": _l("Only PDF, JPEG and PNG files can be uploaded."),
    "polyglot": _l("The file is not a plain PDF, JPEG or PNG file."),
    "truncated": _l("The file is incomplete. Save or scan it again."),
    "corrupt": _l("The file is damaged and cannot be read."),
    "too_many_pixels": _l("The image is too large (too many pixels). Save it at a lower "
                          "resolution."),
    "pdf_active_content": _l("PDF files with scripts, actions or attached files cannot be "
                             "uploaded. Print the receipt to a new PDF and try again."),
    "pdf_unreadable": _l("The PDF cannot be checked (it may be encrypted). Print the receipt "
                         "to a new PDF and try again."),
    "pdf_encrypted": _l("The PDF is protected by a password. Save or print it to a new PDF "
                        "without a password and try again."),
    "pdf_no_pages": _l("The PDF has no pages."),
    "pdf_too_many_pages": _l("The PDF has more than %(num)d pages. Upload only the pages of "
                             "the receipt.", num=MAX_PAGES),
    "too_complex": _l("The file took too long to check. Save or scan it again at a lower "
                      "resolution, or print it to a new PDF, and try again."),
    # An account number (``InvalidAccountNumber``).
    "format": _l("An account number has 11 digits, like 8601 11 17947."),
    "checksum": _l("This is not a valid account number. Check the digits."),
    # A claim's rules (``RefundError`` codes) and the problems ``ClaimIncomplete`` lists.
    "no_scheme": _l("Travel claims are not set up yet. Please contact the county governor."),
    "not_confirmed": _l("Travel costs can be claimed once your enrollment is confirmed."),
    "offering_not_eligible": _l("Travel costs are not refunded for this course."),
    "role_not_refunded": _l("Travel costs are refunded for LIS1 doctors and interns, not for "
                            "supervisors."),
    "no_sessions": _l("The course has no dates yet, so travel costs cannot be claimed."),
    "window_not_open": _l("The claim can be submitted from the first course day."),
    "window_closed": _l("The deadline for travel claims for this course has passed."),
    "no_attendance": _l("The claim can be submitted once the county governor has recorded that "
                        "you attended the course. You can save the draft until then."),
    "locked": _l("This claim has been submitted and can no longer be changed."),
    "invalid_transition": _l("The claim has changed in the meantime. Look at it again."),
    "self_approval": _l("You cannot approve a claim made with your own e-mail address. Ask a "
                        "colleague."),
    "not_permitted": _l("You do not have access to this claim."),
    "reason_required": _l("Write a reason for the participant."),
    "comment_too_long": _l("The comment can be at most 2,000 characters."),
    "reason_too_long": _l("The reason can be at most 2,000 characters."),
    "adjustment_invalid": _l("The approved amount must be between 0 and 100 000 kr."),
    "adjustment_note_missing": _l("Say why the amount is changed."),
    "unknown_line": _l("The line no longer exists. Reload the page."),
    "unknown_receipt": _l("The receipt no longer exists. Reload the page."),
    "too_many_receipts": _l("A claim can have at most 20 receipts."),
    "nothing_selected": _l("Select at least one claim."),
    "incomplete": _l("The claim is not complete yet."),
    "rate_overlap": _l("A rate of this kind already starts on or after that date."),
    "rate_invalid": _l("The rate is not valid: an amount for amounts, a percentage for meal "
                       "deductions."),
    "no_lines": _l("Add at least one leg or cost before you submit the claim."),
    "receipts_missing": _l("Some lines need a receipt. Upload it below and choose it on the "
                           "line."),
    "bank_account_missing": _l("Enter the account number the refund should be paid to."),
    "bank_account_invalid": _l("This is not a valid account number. Check the digits."),
}
GENERIC_MESSAGE = _l("The request could not be carried out. Please check and try again.")
RefundError.MESSAGES = MESSAGES

# The field of a claim row each line refusal is shown at; any other code at the row's date.
LINE_FIELDS = {
    "no_rate": "travel_date",
    "amount_missing": "amount",
    "amount_invalid": "amount",
    "amount_too_large": "amount",
    "km_missing": "km",
    "km_invalid": "km",
    "passengers_invalid": "passengers",
    "place_missing": "from_place",
    "taxi_reason_missing": "taxi_reason",
    "text_too_long": "description",
    "kind_invalid": "kind",
    "allowances_disabled": "travel_date",
    "outside_journey": "travel_date",
    "night_supplement_disabled": "travel_date",
    "journey_km_missing": "journey_km",
    "journey_km_invalid": "journey_km",
    "hours_missing": "hours",
    "hours_invalid": "hours",
    "allowance_too_short_distance": "journey_km",
    "allowance_too_short_time": "hours",
    "night_with_lodging": "travel_date",
    "night_twice": "travel_date",
}


def message(code: str):
    """The message for a refusal's code (lazy); the generic one for a code it does not know."""
    return MESSAGES.get(code, GENERIC_MESSAGE)


def error_status(exc: Exception) -> int:
    """The HTTP status for a domain refusal: always 4xx."""
    if isinstance(exc, ReceiptRefused) and exc.code == "too_large":
        return 413
    if isinstance(exc, ClaimLocked | InvalidTransition):
        return 409
    if isinstance(exc, NotEligible | OutsideClaimWindow | NoAttendance | SelfApproval
                  | NotPermitted):
        return 403
    return 400


def window_message(exc: OutsideClaimWindow) -> str:
    """Why the claim cannot be submitted now, with the dates."""
    if exc.code == "window_not_open":
        return _("The claim can be submitted from %(day)s, the first course day.",
                 day=format_short_day(exc.opens))
    return _("The deadline for travel claims for this course was %(day)s.",
             day=format_short_day(exc.closes))


def journey_message(first, last) -> str:
    """Why a line's date is refused: the dates a journey to the course may have."""
    return _("Choose a date from %(first)s to %(last)s, the days of your journey to the "
             "course.", first=format_short_day(first), last=format_short_day(last))
