"""The refunds plugin: travel claims, receipts, rates, approval and payment export."""

from flask import Flask

from refunds import cli


def init_app(app: Flask) -> None:
    """Register the CLI commands (the blueprint and the manage-page panel come with the web
    half)."""
    app.config.setdefault("REFUND_CLAIM_MONTHS", 3)
    cli.init_app(app)
