"""Gunicorn settings for ``make serve`` and the benchmarks; every one can be set from the
environment.

Sync workers: each handles one request at a time, holds at most one database connection, and
the number of workers is the number of requests served at once. Requests are short (no
streaming, no long polling) and nginx in front buffers slow clients, which is the case sync
workers are made for.

    BIND             where to listen, comma-separated (default 127.0.0.1:8000)
    WEB_CONCURRENCY  number of workers (default 2 × CPUs + 1)
    GUNICORN_TIMEOUT seconds a request may take before its worker is restarted (default 30)
    ACCESS_LOG       file for the access log, "-" for stdout (default), "" for none

Neither log ever shows a manage link's token or a password-reset token (whoever reads the log
could otherwise open a participant's enrollment): every access-log field, and every error-log
message with its arguments and traceback (a worker timeout prints the request line), goes
through the same ``core.logging.redact`` as the application's own log.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import re

from gunicorn.glogging import Logger

from core.logging import RedactingFilter, redact

# The fields ``access_log_format`` names: ``%(r)s``, ``%({referer}i)s`` …
LOG_FIELD = re.compile(r"%\((\{[^}]*\}[ioe]|[^)]+)\)")


class RedactingLogger(Logger):
    """Gunicorn's logger with tokens taken out of every access-log field it writes (the request
    line, path, query, referrer: our own pages link to each other, any header) and out of every
    error-log line ("Error handling request GET /manage/…" and its traceback)."""

    def setup(self, cfg):  # noqa: D102
        super().setup(cfg)
        # On the logger, not a handler: gunicorn replaces its handlers when the logs reopen.
        if not any(isinstance(f, RedactingFilter) for f in self.error_log.filters):
            self.error_log.addFilter(RedactingFilter())

    def atoms(self, resp, req, environ, request_time):  # noqa: D102
        atoms = super().atoms(resp, req, environ, request_time)
        # Header fields are looked up in lower case (gunicorn's SafeAtoms).
        for name in LOG_FIELD.findall(self.cfg.access_log_format):
            key = name.lower() if name.startswith("{") else name
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms


bind = [part.strip() for part in os.environ.get("BIND", "127.0.0.1:8000").split(",")]
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)
graceful_timeout = 30
# A worker is replaced now and then, so a slow leak can never grow without bound.
max_requests = 5000
max_requests_jitter = 500
# Load the app once in the master and fork: workers share its memory pages and start at once.
preload_app = True

logger_class = RedactingLogger
accesslog = os.environ.get("ACCESS_LOG", "-") or None
# Apache's combined format and the time taken in milliseconds.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'
errorlog = "-"


def pre_fork(server, worker):
    """Keep the garbage collector in the workers off the objects made while loading the app, so
    the memory pages holding them stay shared with the master (measured: a worker's private
    memory 66 → 41 MB)."""
    gc.freeze()


def post_fork(server, worker):
    """Each worker opens its own database connections, never one inherited from the master."""
    app = getattr(server.app, "callable", None)
    engine = getattr(app, "extensions", {}).get("kp_engine")
    if engine is not None:
        engine.dispose(close=False)
# Gunicorn's control socket has one fixed path per user (~/.gunicorn/gunicorn.ctl), so two
# instances on one host (two ports, a deploy overlapping the old one, the test suite) would
# take it from each other. Nothing here uses `gunicornc`: off unless a path is given.
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
