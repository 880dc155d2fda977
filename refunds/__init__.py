"""The refunds plugin: travel claims, receipts, rates, approval and payment export."""
