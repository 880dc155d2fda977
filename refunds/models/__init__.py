"""Tables of the refunds plugin, by subject: ``rates`` (rate schemes and their rates) and
``claims`` (claims, their lines and receipts). Import them from here.

Money is integer øre throughout. Rates are data with validity dates, never constants in code.
"""

from refunds.models.claims import (
    ALLOWANCE_KINDS,
    AWAITING_DECISION,
    COST_KINDS,
    Claim,
    ClaimLine,
    ClaimStatus,
    LineKind,
    Receipt,
    TravelMeans,
)
from refunds.models.rates import (
    DEDUCTION_KINDS,
    AllowancePeriod,
    PassengerMode,
    Rate,
    RateKind,
    RateScheme,
    ReceiptRule,
)

__all__ = [
    "ALLOWANCE_KINDS",
    "AWAITING_DECISION",
    "COST_KINDS",
    "DEDUCTION_KINDS",
    "AllowancePeriod",
    "Claim",
    "ClaimLine",
    "ClaimStatus",
    "LineKind",
    "PassengerMode",
    "Rate",
    "RateKind",
    "RateScheme",
    "Receipt",
    "ReceiptRule",
    "TravelMeans",
]
