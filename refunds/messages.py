"""What the domain's refusals mean to a person: a message for every code that refunds' errors
carry (``refunds.errors.DOMAIN_ERRORS``), the field each concerns, and the HTTP status (always
4xx) a page answers with."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.i18n import format_short_day
from refunds.errors import (
    ClaimLocked,
    InvalidTransition,
    NoAttendance,
    NotEligible,
    NotPermitted,
    OutsideClaimWindow,
    SelfApproval,
)
from refunds.uploads import MAX_PAGES, ReceiptRefused

# refunds.calc.CalcError codes, shown at the row field they concern.
LINE_MESSAGES = {
    "no_rate": (_l("There is no rate for this date. Check the date, or contact the county "
                   "governor."), "travel_date"),
    "amount_missing": (_l("Enter the amount you paid."), "amount"),
    "amount_invalid": (_l("The amount must be more than 0 kr."), "amount"),
    "amount_too_large": (_l("The amount is too large for one line. Check it, or split it."),
                         "amount"),
    "km_missing": (_l("Enter the kilometres you drove."), "km"),
    "km_invalid": (_l("Write the distance in kilometres from 0,1 to 5 000, with at most one "
                      "decimal."), "km"),
    "passengers_invalid": (_l("Write the number of passengers, from 0 to 8."), "passengers"),
    "place_missing": (_l("Enter where the leg started and ended."), "from_place"),
    "taxi_reason_missing": (_l("A taxi is refunded only with a reason. Say why you needed it."),
                            "taxi_reason"),
    "text_too_long": (_l("At most 300 characters."), "description"),
    "kind_invalid": (_l("Choose a kind of cost from the list."), "kind"),
    "allowances_disabled": (_l("Meal allowances are not paid for this course."), "travel_date"),
    # Shown with the allowed dates by ``journey_message`` where the window is known.
    "outside_journey": (_l("The date is outside the days of your journey to the course."),
                        "travel_date"),
    "night_supplement_disabled": (_l("Night supplements are not paid for this course."),
                                  "travel_date"),
    "journey_km_missing": (_l("Enter the distance to the course."), "journey_km"),
    "journey_km_invalid": (_l("Write the distance in kilometres from 0 to 5 000, with at most "
                              "one decimal."), "journey_km"),
    "hours_missing": (_l("Enter how many hours you were away this day."), "hours"),
    "hours_invalid": (_l("Write the hours from 0 to 24, with at most one decimal."), "hours"),
    "allowance_too_short_distance": (_l("A meal allowance is paid only for a journey of more "
                                        "than 15 km."), "journey_km"),
    "allowance_too_short_time": (_l("A meal allowance is paid only for a journey of 6 hours "
                                    "or more."), "hours"),
    "night_with_lodging": (_l("You claim accommodation for this night already. The night "
                              "supplement is only for a night without a lodging receipt."),
                           "travel_date"),
    "night_twice": (_l("This night is already claimed."), "travel_date"),
}

RECEIPT_MESSAGES = {
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
}

ACCOUNT_MESSAGES = {
    "format": _l("An account number has 11 digits, like 8601 11 17947."),
    "checksum": _l("This is not a valid account number. Check the digits."),
}

# RefundError codes and ClaimIncomplete problems.
CLAIM_MESSAGES = {
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


def claim_message(code: str):
    """The message for a RefundError code or a ClaimIncomplete problem."""
    return CLAIM_MESSAGES.get(code, GENERIC_MESSAGE)


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
