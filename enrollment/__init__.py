"""The enrollment plugin: catalog, course pages, enrollment, attendance and certificates."""

from flask import Flask

from enrollment import cli, views


def init_app(app: Flask) -> None:
    """Register the blueprint and CLI commands."""
    app.register_blueprint(views.bp)
    cli.init_app(app)
