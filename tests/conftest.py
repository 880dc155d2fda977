"""Fixtures in flaskr's shape: ``app`` on a fresh database, ``client``, ``runner``, factories.

Every test that takes ``app`` runs on SQLite and again on PostgreSQL when TEST_DATABASE_URL is
set. With CI=true a missing PostgreSQL or browser fails the test instead of skipping it.
"""

from __future__ import annotations

import gc
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import jinja2
import pytest
import sqlalchemy as sa
from alembic import command

from app import create_app
from certificates.models import Certificate  # noqa: F401  (its table on Base.metadata)
from core.cli import alembic_config, load_counties
from core.db import Base, session_scope
from core.models import County
from enrollment.cli import load_kinds
from enrollment.models import CourseKind, CourseOffering, CourseSession, OfferingStatus
from tests.timing import (  # noqa: F401  (hooks: pytest finds them here by name)
    pytest_runtest_logreport,
    pytest_runtest_makereport,
    pytest_sessionfinish,
    pytest_terminal_summary,
)

IN_CI = os.environ.get("CI", "").lower() == "true"


# --- what every test's app would otherwise compile again ----------------------------------------
# Each test builds its own app (create_app), and each app compiled two URL builders per route
# (werkzeug's Rule._compile_builder: an AST put through compile(), some 28 ms of the app's 38)
# and every template it renders (Jinja's parse and code generation, up to ~100 ms for a page
# with macros). Both results depend only on their source: a builder on the rule's parsed parts,
# its defaults and whether unknown arguments are appended (it is bound to its own rule when
# called), a template's bytecode on the template's name and source (Jinja's checksum). So the
# suite compiles each once per worker and every app reuses them; what an app does with them is
# unchanged. Production compiles them once per worker process anyway.


def _reuse_url_builders() -> None:
    from werkzeug.routing.rules import Rule

    compile_builder = Rule._compile_builder
    compiled: dict[tuple, object] = {}

    def reused(self, append_unknown: bool = True):
        key = (append_unknown, self.rule, tuple(self._trace),
               repr(sorted((self.defaults or {}).items())))
        if key not in compiled:
            compiled[key] = compile_builder(self, append_unknown)
        return compiled[key]

    Rule._compile_builder = reused


class TemplateBytecode(jinja2.BytecodeCache):
    """Compiled templates kept in memory for every app of this worker (keys carry a checksum
    of the template's source, so a changed template is compiled afresh)."""

    def __init__(self) -> None:
        self.kept: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self.kept:
            bucket.bytecode_from_string(self.kept[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self.kept[bucket.key] = bucket.bytecode_to_string()


_reuse_url_builders()
TEMPLATE_BYTECODE = TemplateBytecode()


# --- SQL statements compiled once per worker, not once per test's engine -----------------------
# SQLAlchemy caches each statement's compiled form per engine (and the ORM's flush statements
# per mapper), keyed by the engine's dialect object. Every test's app has an engine of its own,
# so every test compiled every statement it ran afresh: about an eighth of the CPU of the tests
# of data. A compiled statement depends only on the statement and on the dialect's settings
# (its class, the server's version, the paramstyle...), which are the same for every engine
# make_engine creates on one kind of database. So the caches below key on those settings, not
# on the dialect object: the same caches, shared by all the engines of a worker, as production
# shares one engine's among all requests. A dialect with any setting of its own gets its own
# entries.

_PLAIN = (str, int, float, bool, tuple, frozenset, type(None))


def _dialect_settings(dialect) -> tuple:
    """The dialect's class and every plain setting it holds (what a compilation may read)."""
    return (type(dialect), tuple(sorted(
        (name, value) for name, value in vars(dialect).items() if isinstance(value, _PLAIN))))


class SharedCompiledCache:
    """A compiled-statement cache whose keys name the dialect by its settings (see above)."""

    def __init__(self, size: int) -> None:
        self.kept = sa.util.LRUCache(size)

    @staticmethod
    def _key(key: tuple) -> tuple:
        return (_dialect_settings(key[0]), *key[1:])

    def get(self, key: tuple, default=None):
        return self.kept.get(self._key(key), default)

    def __setitem__(self, key: tuple, value) -> None:
        self.kept[self._key(key)] = value

    def __len__(self) -> int:
        return len(self.kept)

    def clear(self) -> None:
        self.kept.clear()


COMPILED_STATEMENTS = SharedCompiledCache(5000)


def _share_flush_statements() -> None:
    """The ORM's INSERT/UPDATE/DELETE statements, cached per mapper, keyed the same way (for
    every mapper, once the plugins' models are imported)."""
    for mapper in Base.registry.mappers:
        if not isinstance(mapper.__dict__.get("_compiled_cache"), SharedCompiledCache):
            mapper.__dict__["_compiled_cache"] = SharedCompiledCache(mapper._compiled_cache_size)


def require(reason: str) -> None:
    """Skip locally, but fail in CI, when something a test needs is missing."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: required)")
    pytest.skip(reason)


# --- the garbage collector, tuned for a process that builds an application per test ------------
# Every test leaves its application, engine and sessions behind as cyclic garbage (tens of
# thousands of objects), which survives the young generations and piles up in the oldest; with
# Python's default thresholds the full collections that follow took a sixth of a test worker's
# CPU, most of it walking the same long-lived objects again (modules, mappers, the collected
# tests). After collection those are frozen (never walked again), and the young generations
# are collected less often. Garbage is still freed, a little later; no test depends on when.
GC_THRESHOLDS = (10_000, 20, 10)


def pytest_collection_finish(session):
    """Freeze what collection built and loosen the collector (see above)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def pytest_collection_modifyitems(config, items):
    """Which database a test runs on. Every test that takes ``app`` runs on SQLite and on
    PostgreSQL, except:

    - ``one_database``: SQLite only. For tests whose subject is the page (its markup, words,
      messages, headers, forms' refusals): the database under them is the same code either
      way, and what differs between the databases is tested where it lives, in the service,
      model, migration and concurrency tests, which run on both. Every page's own queries run
      on PostgreSQL in tests/browser/test_every_page.py (its Nynorsk crawl).
    - ``both_databases`` keeps a test on both in a module marked ``one_database``, or on the
      database its own parameters name.
    """
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        database = callspec.params.get("database_url") if callspec is not None else None
        sqlite_only = (item.get_closest_marker("one_database")
                       and not item.get_closest_marker("both_databases"))
        dropped = database == "postgresql" and sqlite_only
        (drop if dropped else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def migrate(url: str, revision: str = "head") -> None:
    """Run the Alembic migrations on ``url``."""
    command.upgrade(alembic_config(url), revision)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    """An SQLite file migrated once, copied for every test."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    migrate(f"sqlite:///{path}")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    return str(path)


@pytest.fixture(scope="session")
def sqlite_reference_template(sqlite_template, tmp_path_factory) -> str:
    """The migrated SQLite file with the reference data ``app`` promises, copied per test."""
    path = tmp_path_factory.mktemp("reference") / "reference.sqlite"
    shutil.copy(sqlite_template, path)
    engine = sa.create_engine(f"sqlite:///{path}")
    load_reference(engine)
    engine.dispose()
    return str(path)


def worker_database(url: str) -> str:
    """``url`` itself, or under pytest-xdist a database of this worker's own next to it.

    Workers run at the same time and every test empties the tables, so each worker gets
    ``<name>_gw0``, ``<name>_gw1``… created on first use (the role needs CREATEDB, which
    ``.ci/run`` gives it).
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    base = sa.engine.make_url(url)
    own = base.set(database=f"{base.database}_{worker}")
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                 {"name": own.database})
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{own.database}"'))
    except sa.exc.OperationalError as exc:
        require(f"PostgreSQL at TEST_DATABASE_URL is unreachable: {exc}")
    finally:
        engine.dispose()
    return own.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL test database (one per xdist worker), migrated to head once per run."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        require("TEST_DATABASE_URL is not set: PostgreSQL tests cannot run")
    url = worker_database(url)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    except sa.exc.OperationalError as exc:
        require(f"PostgreSQL at TEST_DATABASE_URL is unreachable: {exc}")
    finally:
        engine.dispose()
    migrate(url)
    return url


_TRUNCATE_ENGINES: dict[str, sa.Engine] = {}
# The tables ``app`` promises loaded (counties, course kinds): kept between tests when unchanged.
REFERENCE_TABLES = ("counties", "municipalities", "course_kinds", "kind_roles",
                    "learning_objectives")
# Databases whose reference data the ``database_url`` fixture has loaded for this test.
REFERENCE_LOADED: set[str] = set()
# The fingerprint of each PostgreSQL database's reference data as loaded.
_PRISTINE: dict[str, tuple[str, ...]] = {}
# Tables whose serial sequence has handed out a value since it was last restarted.
_USED_SEQUENCES = sa.text("""
    SELECT DISTINCT owner.relname
    FROM pg_sequences s
    JOIN pg_class seq ON seq.relname = s.sequencename AND seq.relkind = 'S'
    JOIN pg_depend dep ON dep.objid = seq.oid AND dep.deptype IN ('a', 'i')
    JOIN pg_class owner ON owner.oid = dep.refobjid
    WHERE s.schemaname = 'public' AND s.last_value IS NOT NULL
""")


def _engine_for(url: str) -> sa.Engine:
    engine = _TRUNCATE_ENGINES.get(url)
    if engine is None:
        engine = _TRUNCATE_ENGINES[url] = sa.create_engine(url, pool_size=1)
    return engine


def load_reference(engine: sa.Engine) -> None:
    """The counties and course kinds (with roles and learning objectives) ``app`` promises."""
    with session_scope(engine) as session:
        load_counties(session)
        load_kinds(session)


def reference_fingerprint(conn) -> tuple[str, ...]:
    """A digest of every row of the reference tables: equal only when nothing changed them."""
    return tuple(conn.scalar(sa.text(
        f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "  # noqa: S608
        f'FROM "{name}" t')) for name in REFERENCE_TABLES)


def truncate_all(url: str) -> None:
    """Empty every table of the models on PostgreSQL and restart their ids."""
    reset_postgres(url, keep_reference=False)


def reset_postgres(url: str, *, keep_reference: bool) -> bool:
    """Empty the tables a test touched (rows in them, or ids handed out) and restart their ids;
    with ``keep_reference``, leave the reference tables loaded when no test changed them (or
    load them). Returns whether the reference data is loaded.

    TRUNCATE costs about a millisecond per table and loading the reference data some 25 ms,
    while most tests touch a handful of the tables and none of the reference rows."""
    engine = _engine_for(url)
    names = [t.name for t in Base.metadata.sorted_tables]
    # Our own table names, not input.
    probe = " UNION ALL ".join(
        f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM \"{name}\")"  # noqa: S608
        for name in names)
    with engine.begin() as conn:
        touched = {row[0] for row in conn.execute(sa.text(probe))}
        touched |= {row[0] for row in conn.execute(_USED_SEQUENCES)}
        kept = (keep_reference and url in _PRISTINE
                and reference_fingerprint(conn) == _PRISTINE[url])
        if kept:
            touched -= set(REFERENCE_TABLES)
        if touched:
            listed = ", ".join(f'"{name}"' for name in sorted(touched))
            conn.execute(sa.text(f"TRUNCATE {listed} RESTART IDENTITY CASCADE"))
        if kept and reference_fingerprint(conn) == _PRISTINE[url]:
            return True
        if kept:  # a cascade reached the reference tables: start them afresh
            listed = ", ".join(f'"{name}"' for name in REFERENCE_TABLES)
            conn.execute(sa.text(f"TRUNCATE {listed} RESTART IDENTITY CASCADE"))
    if not keep_reference:
        return False
    load_reference(engine)
    with engine.connect() as conn:
        _PRISTINE[url] = reference_fingerprint(conn)
    return True


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> Iterator[str]:
    """A freshly migrated database of each kind: empty, or, for a test that uses ``app``, with
    the counties and course kinds ``app`` promises already loaded (by the same loaders, once per
    SQLite template or PostgreSQL database, and checked unchanged before each reuse)."""
    with_reference = "app" in request.fixturenames
    if request.param == "sqlite":
        path = tmp_path / "test.sqlite"
        template = "sqlite_reference_template" if with_reference else "sqlite_template"
        shutil.copy(request.getfixturevalue(template), path)
        url = f"sqlite:///{path}"
        if with_reference:
            REFERENCE_LOADED.add(url)
        yield url
    else:
        url = request.getfixturevalue("postgres_url")
        if reset_postgres(url, keep_reference=with_reference):
            REFERENCE_LOADED.add(url)
        else:
            REFERENCE_LOADED.discard(url)
        yield url


@pytest.fixture(scope="session")
def signing_key_file(tmp_path_factory) -> str:
    """A test signing key (and its test CA) made once per worker by the code behind ``flask
    certificates keys create``: every test's certificates are signed as in production."""
    from certificates.keys import make_test_keys

    return str(make_test_keys(tmp_path_factory.mktemp("certificate-keys")))


@pytest.fixture
def app_config(database_url, tmp_path, signing_key_file) -> dict:
    """The configuration ``app`` is built from; tests may change it before using ``app``."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": database_url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SERVER_NAME": None,
        # Real scrypt at a 32nd of the production cost (2**10, not 2**15): hundreds of tests
        # create and log in staff. test_staff_auth checks production's default.
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
        "CERTIFICATE_SIGNING_KEY": signing_key_file,
    }


@pytest.fixture
def app(app_config):
    """The application on a fresh database with counties and course kinds loaded."""
    application = create_app(app_config)
    application.jinja_env.bytecode_cache = TEMPLATE_BYTECODE
    application.extensions["kp_engine"]._compiled_cache = COMPILED_STATEMENTS
    _share_flush_statements()
    if app_config["DATABASE_URL"] not in REFERENCE_LOADED:  # e.g. a test's own database URL
        load_reference(application.extensions["kp_engine"])
    yield application
    application.extensions["kp_engine"].dispose()


@pytest.fixture
def client(app):
    """A test client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner."""
    return app.test_cli_runner()


@pytest.fixture
def db(app) -> Iterator[sa.orm.Session]:
    """A session on the test database for arranging and checking data (commit to share)."""
    with session_scope(app.extensions["kp_engine"]) as session:
        yield session


@pytest.fixture
def now() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)


@pytest.fixture
def make_offering(app, now) -> Callable[..., CourseOffering]:
    """Create and commit a published offering; keyword arguments override the defaults."""

    def factory(
        county: str = "vestland",
        kind: str = "public_health",
        days: int = 2,
        first_day: datetime | None = None,
        session_hours: tuple[int, int] = (8, 15),
        **values,
    ) -> CourseOffering:
        first_day = first_day or (now + timedelta(days=40)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        with session_scope(app.extensions["kp_engine"]) as session:
            county_row = session.scalar(sa.select(County).where(County.slug == county))
            kind_row = session.scalar(sa.select(CourseKind).where(CourseKind.code == kind))
            defaults = dict(
                county=county_row, kind=kind_row, cohort=date(first_day.year, 3, 1),
                title_nn="Testkurs", title_nb="Testkurs", title_en="Test course",
                venue="Bergen", capacity=10, status=OfferingStatus.PUBLISHED,
                enroll_opens_at=now - timedelta(days=10),
                enroll_closes_at=now + timedelta(days=20),
                cancel_deadline=now + timedelta(days=30),
            )
            defaults.update(values)
            offering = CourseOffering(**defaults)
            offering.sessions = [
                CourseSession(
                    starts_at=first_day + timedelta(days=i, hours=session_hours[0]),
                    ends_at=first_day + timedelta(days=i, hours=session_hours[1]),
                    place="Bergen",
                )
                for i in range(days)
            ]
            session.add(offering)
            session.flush()
            offering_id = offering.id
        with session_scope(app.extensions["kp_engine"]) as session:
            return session.get(CourseOffering, offering_id)

    return factory


@pytest.fixture
def count_queries(app) -> Callable:
    """A context manager counting the SQL statements the app's engine runs."""

    @contextmanager
    def counter():
        statements: list[str] = []

        def listener(conn, cursor, statement, *args):
            if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
                statements.append(statement)

        engine = app.extensions["kp_engine"]
        sa.event.listen(engine, "before_cursor_execute", listener)
        try:
            yield statements
        finally:
            sa.event.remove(engine, "before_cursor_execute", listener)

    return counter


STAFF_PASSWORD = "correct-horse-battery-staple"
# Every account make_staff creates has this authenticator secret, confirmed: the suite runs with
# two-factor sign-in on, as production does.
STAFF_TOTP_SECRET = "JBSWY3DPEHPK3PXPKURSPORTALTESTS2"


def totp_code(app, email: str) -> str:
    """A code the app accepts now for ``email``: the current one, or, when an earlier login of
    this account used it already (a code works once), after moving that record back a step as
    if the earlier login had been half a minute ago."""
    import pyotp

    from core.auth import StaffUser
    from core.two_factor import STEP

    step = int(datetime.now(UTC).timestamp()) // STEP
    with session_scope(app.extensions["kp_engine"]) as session:
        user = session.scalar(sa.select(StaffUser).where(StaffUser.email == email))
        if user is not None and user.totp_last_step is not None and user.totp_last_step >= step:
            user.totp_last_step = step - 1
    return pyotp.TOTP(STAFF_TOTP_SECRET).at(step * STEP)


def staff_login(app, client, email: str = "kari@sfvl.no", password: str = STAFF_PASSWORD,
                **kwargs):
    """Log ``client`` in through both steps (password, then the app's code); returns the
    answer to the code, a 302 to the page asked for."""
    first = client.post("/staff/login", data={"email": email, "password": password}, **kwargs)
    assert first.status_code == 302, first.get_data(as_text=True)
    assert first.headers["Location"].startswith("/staff/login/code"), first.headers["Location"]
    second = client.post("/staff/login/code", data={"code": totp_code(app, email)},
                         **{k: v for k, v in kwargs.items() if k != "query_string"})
    assert second.status_code == 302, second.get_data(as_text=True)
    return second


@pytest.fixture
def make_staff(app) -> Callable[..., int]:
    """Create a staff account (county staff by default, ``admin=True`` for an administrator);
    returns its id. The password is ``STAFF_PASSWORD``, the second factor ``STAFF_TOTP_SECRET``
    (``two_factor=False``: none set up yet, as for an account just created)."""
    from core.auth import create_staff
    from core.two_factor import seal

    def factory(email: str = "kari@sfvl.no", county: str | None = "vestland",
                admin: bool = False, name: str = "Kari Nordmann", locale: str = "en",
                two_factor: bool = True) -> int:
        with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
            county_row = None
            if not admin:
                county_row = session.scalar(sa.select(County).where(County.slug == county))
            user = create_staff(session, email=email, name=name, password=STAFF_PASSWORD,
                                county=county_row, is_admin=admin, locale=locale)
            if two_factor:
                user.totp_secret = seal(STAFF_TOTP_SECRET, app.config["SECRET_KEY"])
                user.totp_confirmed_at = datetime.now(UTC)
            session.flush()
            return user.id

    return factory


@pytest.fixture
def login(app, client) -> Callable[[str], None]:
    """Log the test client in as the staff member with ``email`` (English pages), password and
    second factor."""

    def do_login(email: str = "kari@sfvl.no", password: str = STAFF_PASSWORD) -> None:
        client.get("/lang/en")
        staff_login(app, client, email, password)

    return do_login
