"""Rate limits (Flask-Limiter) whose counters every worker and app server shares.

The counters live in the application's own database by default (``database://``: the
``rate_limit_counters`` table, in the SQLite file or PostgreSQL that ``DATABASE_URL`` names), so
two gunicorn workers, or three app servers on one PostgreSQL, count together without another
service to run. ``RATELIMIT_STORAGE_URI`` picks another store (``redis://…``, or ``memory://`` for
one process alone).

Each hit is one statement on a connection of the limiter's own, in autocommit, never in the
request's transaction: an upsert that starts a new window when the old one has expired and
returns the count (Flask-Limiter's fixed-window strategy). A worker deletes expired windows at
most once a minute. If the store fails, Flask-Limiter's in-memory fallback counts in each worker
alone until the store answers again (see docs/security.md, "Rate limits").
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlparse

import sqlalchemy as sa
from flask import Flask, current_app, g, request
from flask_babel import gettext as _
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits.errors import ConfigurationError
from limits.storage import Storage
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base
from core.errors import render_error
from core.i18n import format_clock

DATABASE_SCHEME = "database"
DATABASE_STORAGE_URI = f"{DATABASE_SCHEME}://"
# Keys longer than this (a limit string with a long key) are stored as their sha256.
KEY_LENGTH = 255
# A worker deletes windows that have expired at most this often.
SWEEP_SECONDS = 60.0
# How long a counter statement waits for SQLite's write lock before the store counts as failed.
SQLITE_BUSY_SECONDS = 10.0

limiter = Limiter(get_remote_address)


class RateLimitCounter(Base):
    """One fixed window of one limit: how many hits, and when the window ends.

    On PostgreSQL the table is UNLOGGED (the migration): counters need neither the WAL nor a
    standby, and a crash that empties them only gives everyone a fresh window.
    """

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(sa.String(KEY_LENGTH), primary_key=True)
    hits: Mapped[int] = mapped_column(sa.Integer)
    # A Unix time (seconds, UTC), as ``limits`` speaks it: no conversion on the hot path.
    expires_at: Mapped[float] = mapped_column(sa.Float)


COUNTERS = RateLimitCounter.__table__


def stored_key(key: str) -> str:
    """The key as stored: itself, or its sha256 when it is longer than the column."""
    if len(key) <= KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


class DatabaseStorage(Storage):
    """A ``limits`` storage in a SQL database (SQLite or PostgreSQL), fixed windows only.

    ``database_url`` is the database (``init_app`` passes ``DATABASE_URL``). The engine is made
    on first use and again in a forked child (gunicorn loads the app in its master), so no
    connection is ever shared between processes.
    """

    STORAGE_SCHEME = [DATABASE_SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False,
                 database_url: str | None = None, **options):
        if not database_url:
            raise ConfigurationError("database:// needs the database_url storage option")
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        self.database_url = database_url
        self.sqlite = database_url.startswith("sqlite")
        self._engine: sa.Engine | None = None
        self._pid = 0
        self._lock = threading.Lock()
        self._last_sweep = time.monotonic()
        self._local = threading.local()
        if self.sqlite:
            self._insert = sqlite.insert
        elif database_url.startswith("postgresql"):
            self._insert = postgresql.insert
        else:
            raise ConfigurationError("database:// works on SQLite and PostgreSQL")
        self._upsert_sql = ""
        self._upsert_params: Callable[[dict], object] = dict

    @property
    def base_exceptions(self) -> type[Exception]:  # noqa: D102
        return sa.exc.SQLAlchemyError

    # --- connections ---------------------------------------------------------------------------

    def _make_engine(self) -> sa.Engine:
        if self.sqlite:
            # Its own connections to the same file: a counter never joins the request's
            # transaction, and waits for the write lock like any other writer.
            engine = sa.create_engine(self.database_url, isolation_level="AUTOCOMMIT",
                                      connect_args={"timeout": SQLITE_BUSY_SECONDS},
                                      hide_parameters=True)

            @event.listens_for(engine, "connect")
            def _no_sync_per_hit(dbapi_connection, _record):
                # In WAL mode NORMAL syncs at checkpoints, not at every counter's commit; only
                # these connections, never the application's.
                dbapi_connection.execute("PRAGMA synchronous = NORMAL")

            return engine
        engine = sa.create_engine(self.database_url, isolation_level="AUTOCOMMIT", pool_size=2,
                                  max_overflow=8, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _asynchronous_commit(dbapi_connection, _record):
            # Only the limiter's own connections: losing the last counts in a crash is fine.
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET synchronous_commit = off")
            dbapi_connection.commit()

        return engine

    @property
    def engine(self) -> sa.Engine:
        """This process's engine (made again after a fork, without touching the parent's)."""
        pid = os.getpid()
        if self._engine is None or self._pid != pid:
            with self._lock:
                if self._engine is None or self._pid != pid:
                    if self._engine is not None:
                        self._engine.dispose(close=False)
                    self._engine = self._make_engine()
                    self._compile_upsert(self._engine)
                    self._pid = pid
        return self._engine

    def _compile_upsert(self, engine: sa.Engine) -> None:
        """The upsert, written once with SQLAlchemy and compiled once to the driver's SQL: the
        hot path then costs the statement and little more (measured: bench/rate_limits.py)."""
        stmt = self._insert(COUNTERS).values(key=sa.bindparam("key"),
                                             hits=sa.bindparam("amount"),
                                             expires_at=sa.bindparam("expires_at"))
        ended = COUNTERS.c.expires_at <= sa.bindparam("now")
        stmt = stmt.on_conflict_do_update(
            index_elements=[COUNTERS.c.key],
            set_={"hits": sa.case((ended, stmt.excluded.hits),
                                  else_=COUNTERS.c.hits + stmt.excluded.hits),
                  "expires_at": sa.case((ended, stmt.excluded.expires_at),
                                        else_=COUNTERS.c.expires_at)},
        ).returning(COUNTERS.c.hits, COUNTERS.c.expires_at)
        compiled = stmt.compile(dialect=engine.dialect)
        order = compiled.positiontup
        self._upsert_sql = str(compiled)
        self._upsert_params = (
            (lambda values: tuple(values[name] for name in order)) if order
            else (lambda values: values))

    def close(self) -> None:
        """Close this process's connections (tests, shutdown)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # --- what one request has already read -----------------------------------------------------

    def begin_request(self) -> None:
        """Remember counts read or written until ``end_request``: the X-RateLimit headers and the
        429 page then cost no statement beyond the hit itself."""
        self._local.seen = {}

    def end_request(self) -> None:
        """Forget what this request read; later reads go to the database."""
        self._local.seen = None

    def _remember(self, key: str, hits: int, expires_at: float) -> None:
        seen = getattr(self._local, "seen", None)
        if seen is not None:
            seen[key] = (hits, expires_at)

    def _window(self, key: str) -> tuple[int, float]:
        """(hits, end as a Unix time) of the key's current window; (0, now) when none."""
        seen = getattr(self._local, "seen", None)
        if seen is not None and key in seen:
            return seen[key]
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(COUNTERS.c.hits, COUNTERS.c.expires_at)
                               .where(COUNTERS.c.key == stored_key(key))).first()
        now = time.time()
        if row is None or row.expires_at <= now:
            window = (0, now)
        else:
            window = (row.hits, row.expires_at)
        self._remember(key, *window)
        return window

    # --- the storage interface -----------------------------------------------------------------

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add ``amount`` to the key's window (a new window of ``expiry`` seconds if the last one
        has ended) in one atomic statement; returns the window's count."""
        now = time.time()
        values = {"key": stored_key(key), "amount": amount, "expires_at": now + expiry,
                  "now": now}
        with self.engine.connect() as conn:
            hits, expires_at = conn.exec_driver_sql(
                self._upsert_sql, self._upsert_params(values)).one()
            if time.monotonic() - self._last_sweep > SWEEP_SECONDS:
                self._last_sweep = time.monotonic()
                conn.execute(sa.delete(COUNTERS).where(COUNTERS.c.expires_at <= now))
        self._remember(key, hits, expires_at)
        return hits

    def get(self, key: str) -> int:
        """The count of the key's current window (0 when it has ended)."""
        return self._window(key)[0]

    def get_expiry(self, key: str) -> float:
        """When the key's current window ends, as a Unix time."""
        return self._window(key)[1]

    def check(self) -> bool:
        """Whether the database answers."""
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.select(sa.func.count()).select_from(COUNTERS)
                             .where(COUNTERS.c.key == ""))
        except sa.exc.SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        """Delete every counter; returns how many there were."""
        with self.engine.connect() as conn:
            return conn.execute(sa.delete(COUNTERS)).rowcount

    def clear(self, key: str) -> None:
        """Delete one key's counter."""
        with self.engine.connect() as conn:
            conn.execute(sa.delete(COUNTERS).where(COUNTERS.c.key == stored_key(key)))
        seen = getattr(self._local, "seen", None)
        if seen is not None:
            seen.pop(key, None)

    def sweep(self) -> int:
        """Delete the windows that have ended; returns how many."""
        with self.engine.connect() as conn:
            return conn.execute(sa.delete(COUNTERS)
                                .where(COUNTERS.c.expires_at <= time.time())).rowcount


# --- keys ----------------------------------------------------------------------------------------


def config_limit(key: str):
    """A limit read from the configuration at request time, so tests and deployments set it."""
    return lambda: current_app.config[key]


def _digest(value: str) -> str:
    """A value in a key, hashed: the counters never hold an address or an HPR number."""
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def normalise_email(value: str) -> str:
    """An address as the limits see it: trimmed, lower case, without a ``+tag`` (one mailbox)."""
    local, at, domain = value.strip().lower()[:254].rpartition("@")
    if not at:
        return domain
    return f"{local.split('+', 1)[0]}@{domain}"


def normalise_hpr(value: str) -> str:
    """An HPR number as the limits see it: its digits."""
    return "".join(ch for ch in value if ch.isdigit())[:20]


def view_args_key() -> str:
    """Limit per object of the URL (e.g. one claim of one manage link): the endpoint and its
    arguments, hashed, so a token in the URL never lands in the counters."""
    args = ",".join(f"{k}={v}" for k, v in sorted((request.view_args or {}).items()))
    return f"{request.endpoint}:{_digest(args)}"


def form_email_key() -> str:
    """Limit by the e-mail address in the submitted form, so one address cannot be flooded."""
    return "email:" + _digest(normalise_email(request.form.get("email") or ""))


def view_arg_key(name: str) -> Callable[[], str]:
    """Limit by one of the URL's values (a manage link's token, kept only as a digest), so that
    whoever holds one link cannot flood the address it mails to."""

    def key() -> str:
        return f"{name}:" + _digest(str((request.view_args or {}).get(name, "")))

    return key


def per_form_value(field: str, normalise: Callable[[str], str]):
    """A key function and its exemption for one form field per URL (per offering): the key is
    the field's normalised value with the view's arguments; a form without the value is exempt
    (the per-IP ceiling still counts it)."""

    def value() -> str:
        return normalise(request.form.get(field) or "")

    def key() -> str:
        where = ",".join(f"{k}={v}" for k, v in sorted((request.view_args or {}).items()))
        return f"{field}:{_digest(value())}|{where}"

    return {"key_func": key, "exempt_when": lambda: not value()}


# --- in the application --------------------------------------------------------------------------


def _database_storage() -> DatabaseStorage | None:
    storage = getattr(limiter, "_storage", None)
    return storage if isinstance(storage, DatabaseStorage) else None


def _begin_request() -> None:
    storage = _database_storage()
    if storage is not None:
        storage.begin_request()


def _end_request(_exc: BaseException | None = None) -> None:
    storage = _database_storage()
    if storage is not None:
        storage.end_request()


def _end_transaction_before_deductions(response):
    """A limit counted after the view (``deduct_when``) writes its counter after the view has
    returned. On SQLite the request's own write transaction would still hold the file's lock,
    and the counter would wait for it until the busy timeout: end that transaction first. The
    view has committed what it meant to; the rest was to be discarded at teardown anyway."""
    storage = _database_storage()
    if storage is not None and storage.sqlite and limiter.context.conditional_deductions:
        session = g.get("db_session")
        if session is not None:
            session.close()
    return response


def _too_many_requests(exc: RateLimitExceeded):
    """The 429 page in the person's language, saying when they may try again."""
    detail, headers = None, {}
    current = limiter.current_limit
    if current is not None:
        reset_at = current.reset_at
        detail = _("You can try again at %(time)s.",
                   time=format_clock(datetime.fromtimestamp(reset_at, UTC)))
        headers["Retry-After"] = str(max(1, int(reset_at - time.time())))
    html, code = render_error(429, detail)
    return html, code, headers


def init_app(app: Flask) -> None:
    """Attach the limiter, counting in the application's database unless
    ``RATELIMIT_STORAGE_URI`` names another store."""
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = DATABASE_STORAGE_URI
    if urlparse(app.config["RATELIMIT_STORAGE_URI"]).scheme == DATABASE_SCHEME:
        options = dict(app.config.get("RATELIMIT_STORAGE_OPTIONS") or {})
        options.setdefault("database_url", app.config["DATABASE_URL"])
        app.config["RATELIMIT_STORAGE_OPTIONS"] = options
    app.register_error_handler(RateLimitExceeded, _too_many_requests)
    if not app.config.get("RATELIMIT_ENABLED", True):
        limiter.init_app(app)
        return
    app.before_request(_begin_request)  # before the limiter's own check
    limiter.init_app(app)
    app.after_request(_end_transaction_before_deductions)  # runs before the limiter's
    app.teardown_request(_end_request)
