"""The refunds blueprint: every routes table of the plugin, attached here and nowhere else.

Public (under a participant's manage link): ``claims`` (the list, a new claim, the claim form)
and ``receipts``. Staff: ``staff_claims`` (the queue, a claim, the decisions), ``staff_exports``
(the payment files) and ``staff_rates``; the staff API: ``api`` (its contract in
``api_models``). ``claim_page`` holds what the participant's pages share; it has no routes.
Every refunds page is personal, so none is stored by a browser or proxy (``no-store``).
"""

from __future__ import annotations

from flask import Blueprint

from core.routes import attach
from core.web import no_store
from refunds.errors import message
from refunds.routes import api, claims, receipts, staff_claims, staff_exports, staff_rates
from refunds.routes.claim_page import describe_claim_line, explain_line, masked_account

# The templates are the plugin's (refunds/templates/), one folder up from this package.
bp = Blueprint("refunds", __name__, template_folder="../templates")
attach(bp, claims.routes, receipts.routes, staff_claims.routes, staff_exports.routes,
       staff_rates.routes, api.routes)
bp.after_request(no_store)

bp.add_app_template_global(message, "refund_message")
bp.add_app_template_global(describe_claim_line)
bp.add_app_template_global(masked_account)
bp.add_app_template_filter(explain_line, "claim_explain")
