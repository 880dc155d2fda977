"""The baseline of ``bench/catalog.py``: a bare Flask app, served by the same gunicorn settings."""

from flask import Flask


def create_app() -> Flask:
    """A Flask app answering "Hello, World!" (and /healthz, for the start-up check)."""
    app = Flask(__name__)

    @app.get("/")
    def hello():
        return "Hello, World!"

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app
