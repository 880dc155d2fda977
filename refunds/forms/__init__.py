"""Forms of the refunds plugin, by subject: ``claim`` (the participant's claim and receipts),
``decisions`` (the caseworker's), and ``fields`` (how amounts, distances and dates are typed)."""
