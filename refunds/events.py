"""What happens to a travel claim, told by the services (``core.events``): the participant's
mail (``refunds.mail``) and the audit log (``refunds.subscribers``) subscribe in ``init_app``.

Every event is published by ``services.status.change_claim_status``, the one writer of a
claim's status, after the change is flushed. Each carries the ``claim`` (its enrollment and
participant reachable), ``previous`` (the status it had), ``actor`` (the staff member who made
the change, or ``None`` for the participant's own step), ``now``, and ``before`` and ``after``:
the claim's audited columns (``status.AUDIT_FIELDS``) before and after the change, ``after``
with what the caller adds (an approval's adjusted lines).
"""

from __future__ import annotations

from core.events import Namespace

signals = Namespace()

# The participant sent a claim in: ``status`` is SUBMITTED (a draft) or RESUBMITTED (a claim
# returned for changes), with ``total_ore``.
submitted = signals.signal("claim-submitted")

# A caseworker decided a claim: ``status`` is APPROVED, REJECTED or RETURNED; ``actor`` is who;
# ``total_ore`` what was claimed and ``approved_total_ore`` what is approved (None unless
# approved); ``after["adjustments"]`` lists each changed line (from, to, note) of an approval.
decided = signals.signal("claim-decided")

# A caseworker marked an approved claim paid: ``status`` is PAID, with ``payment_date`` and
# ``approved_total_ore``. One event per claim, also when a batch is marked paid at once.
paid = signals.signal("claim-paid")
