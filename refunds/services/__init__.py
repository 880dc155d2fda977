"""Domain operations of refunds, one module per subject: ``claims`` (the participant's draft and
submission), ``receipts``, ``decisions`` (the caseworker's approve, reject, return, mark paid),
``status`` (the table of allowed moves and the one writer of a claim's status) and ``rates``
(schemes and rates).

Plain functions that take a session and plain values, flush and never commit; the request's
edge (``core.transaction``) or the CLI command commits once. A claim's status changes publish
``refunds.events``; the mail and the audit log subscribe.
"""
