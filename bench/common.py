"""What every benchmark shares: a fresh PostgreSQL database with seed data, gunicorn started on
127.0.0.1 with the repository's ``gunicorn.conf.py``, the workers' memory, and cleaning up.
The load generator, percentiles and the HTTP client are in ``http_load.py``.

PostgreSQL comes from ``BENCH_DATABASE_URL`` (default
``postgresql+psycopg://kp:kp@127.0.0.1/kp_bench``), created when missing; it is emptied and
migrated, so give the benchmarks a database of their own.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from http_load import get

from core.cli import alembic_config, load_counties
from core.db import session_scope
from core.models import County
from enrollment.cli import load_kinds
from enrollment.models import (
    CourseKind,
    CourseOffering,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    ManageLink,
    OfferingStatus,
    Participant,
    Role,
)

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
GUNICORN = Path(sys.executable).parent / "gunicorn"
DEFAULT_URL = "postgresql+psycopg://kp:kp@127.0.0.1/kp_bench"
SECRET_KEY = "bench-secret-key-" + "0" * 32
RSS_GOAL_MB = 120


def database_url() -> str:
    """The benchmark database (emptied by ``reset_database``)."""
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)


# --- machine ---------------------------------------------------------------------------------


def machine_summary(url: str) -> str:
    """CPU, memory, load, Python, PostgreSQL: what the figures depend on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    create_database_if_missing(url)  # first: a fresh machine has no kp_bench yet
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        pg = conn.scalar(sa.text("SHOW server_version"))
    engine.dispose()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"machine: {os.cpu_count()} CPUs ({cpu}), {mem_gb:.0f} GB RAM, load average {load}\n"
            f"software: Python {platform.python_version()}, PostgreSQL {pg}, "
            f"load generator {'wrk' if shutil.which('wrk') else 'Python threads (wrk missing)'}")


# --- data --------------------------------------------------------------------------------------


def create_database_if_missing(url: str) -> None:
    """Create the benchmark's database when it does not exist yet (the role needs CREATEDB,
    as `.ci/run` gives it), so a fresh checkout needs no manual `createdb`. What cannot be
    done here ends the run with one line saying what to do, not a traceback."""
    own = sa.engine.make_url(url)
    where = f"PostgreSQL at {own.host or 'localhost'}:{own.port or 5432} as {own.username}"
    maintenance = sa.create_engine(own.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with maintenance.connect() as conn:
            if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                               {"name": own.database}):
                conn.execute(sa.text(f'CREATE DATABASE "{own.database}"'))
    except sa.exc.ProgrammingError as exc:  # insufficient privilege
        raise SystemExit(
            f"bench: {where} may not create the database {own.database}: run "
            f"`su postgres -c \"createdb -O {own.username} {own.database}\"` (or give the role "
            f"CREATEDB), or set BENCH_DATABASE_URL to a database it owns"
        ) from exc
    except sa.exc.OperationalError as exc:  # no server, wrong password, ...
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise SystemExit(
            f"bench: cannot reach {where} ({reason}): start PostgreSQL "
            f"(`pg_ctlcluster 15 main start`; .ci/run sets it up) or set BENCH_DATABASE_URL"
        ) from exc
    finally:
        maintenance.dispose()


def reset_database(url: str) -> sa.Engine:
    """Empty the database (created if missing), migrate it to head, load the counties and
    course kinds."""
    create_database_if_missing(url)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    command.upgrade(alembic_config(url), "head")
    with session_scope(engine) as session:
        load_counties(session)
        load_kinds(session)
    return engine


def bulk_insert(conn: sa.Connection, table: sa.Table, rows: Iterable[dict],
                chunk: int = 5000) -> int:
    """Insert ``rows`` in batches; returns how many."""
    batch: list[dict] = []
    count = 0
    for row in rows:
        batch.append(row)
        if len(batch) == chunk:
            conn.execute(table.insert(), batch)
            count += len(batch)
            batch = []
    if batch:
        conn.execute(table.insert(), batch)
        count += len(batch)
    return count


def fix_sequences(conn: sa.Connection, tables: Sequence[str]) -> None:
    """Move each table's id sequence past the ids inserted explicitly."""
    for name in tables:
        conn.execute(sa.text(
            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608
            f"(SELECT coalesce(max(id), 0) + 1 FROM {name}), false)"))


def next_cohorts(now: datetime) -> list[date]:
    """The next two cohorts (March and September) after ``now``."""
    cohorts = []
    year = now.year
    while len(cohorts) < 2:
        for month in (3, 9):
            if date(year, month, 1) > now.date() and len(cohorts) < 2:
                cohorts.append(date(year, month, 1))
        year += 1
    return cohorts


def offering_row(number: int, county_id: int, kind_id: int, cohort: date, now: datetime,
                 capacity: int = 30, is_open: bool = True) -> dict:
    """Column values of a published offering."""
    return dict(
        id=number, county_id=county_id, kind_id=kind_id, cohort=cohort,
        title_nn=f"Kurs {number}", title_nb=f"Kurs {number}", title_en=f"Course {number}",
        description_nn="Eit kurs.", description_nb="Et kurs.", description_en="A course.",
        venue="Scandic Bergen City", capacity=capacity, seats_taken=0,
        status=OfferingStatus.PUBLISHED,
        enroll_opens_at=now - timedelta(days=10),
        enroll_closes_at=now + timedelta(days=20) if is_open else now - timedelta(days=1),
        cancel_deadline=now + timedelta(days=25),
        created_at=now, updated_at=now,
    )


@dataclass
class Catalog:
    """What ``seed_catalog`` made: offering ids and the cohort codes used."""

    offering_ids: list[int]
    cohorts: list[date]
    capacity: dict[int, int] = field(default_factory=dict)


def seed_catalog(engine: sa.Engine, offerings: int, enrollments: int, now: datetime,
                 people: int | None = None) -> Catalog:
    """Published offerings spread over every county, kind and the next two cohorts, each with
    one to three days in the future, and ``enrollments`` enrollments among them (confirmed up
    to capacity, then waitlisted; one in ten cancelled) of ``people`` persons (default: one
    person each)."""
    with engine.begin() as conn:
        counties = conn.scalars(sa.select(County.id).order_by(County.id)).all()
        kinds = conn.scalars(sa.select(CourseKind.id).order_by(CourseKind.position)).all()
        cohorts = next_cohorts(now)
        rows, sessions = [], []
        day = now.replace(hour=8, minute=0, second=0, microsecond=0)
        for number in range(1, offerings + 1):
            rows.append(offering_row(
                number, counties[number % len(counties)], kinds[number % len(kinds)],
                cohorts[(number // len(kinds)) % 2], now, is_open=number % 7 != 0))
            first = day + timedelta(days=30 + number % 150)
            for index in range(1 + number % 3):
                sessions.append(dict(
                    offering_id=number, starts_at=first + timedelta(days=index),
                    ends_at=first + timedelta(days=index, hours=7), place=""))
        bulk_insert(conn, CourseOffering.__table__, rows)
        bulk_insert(conn, CourseSession.__table__, sessions)
        seats = seed_enrollments(conn, list(range(1, offerings + 1)), enrollments, now,
                                 people=people or enrollments)
        for offering_id, taken in seats.items():
            conn.execute(sa.update(CourseOffering.__table__)
                         .where(CourseOffering.__table__.c.id == offering_id)
                         .values(seats_taken=taken))
        fix_sequences(conn, ["course_offerings", "course_sessions", "participants",
                             "enrollments", "manage_links"])
    return Catalog(list(range(1, offerings + 1)), cohorts)


def seed_enrollments(conn: sa.Connection, offering_ids: list[int], count: int,
                     now: datetime, people: int, capacity: int = 30) -> dict[int, int]:
    """``count`` enrollments of ``people`` persons spread evenly over the offerings (a person
    never twice in one offering while ``people`` is no multiple of their number); returns the
    seats taken."""
    taken = dict.fromkeys(offering_ids, 0)
    arrived = now - timedelta(days=9)

    def participants() -> Iterator[dict]:
        for number in range(1, people + 1):
            yield dict(id=number, full_name=f"Deltakar {number}",
                       email=f"deltakar{number}@example.org", phone="412 34 567",
                       role=Role.LIS1, hpr_number=str(3000000 + number),
                       employer="Bergen kommune", locale="nn", created_at=arrived)

    def enrollment_rows() -> Iterator[dict]:
        for number in range(1, count + 1):
            offering_id = offering_ids[number % len(offering_ids)]
            if number % 10 == 0:
                status = EnrollmentStatus.CANCELLED
            elif taken[offering_id] < capacity:
                status = EnrollmentStatus.CONFIRMED
                taken[offering_id] += 1
            else:
                status = EnrollmentStatus.WAITLISTED
            at = arrived + timedelta(seconds=number)
            yield dict(id=number, offering_id=offering_id, participant_id=(number - 1) % people + 1,
                       status=status,
                       arrived_at=at, consent_at=at, created_at=at, updated_at=at)

    def link_rows() -> Iterator[dict]:
        for number in range(1, count + 1):
            yield dict(id=number, enrollment_id=number, created_at=arrived,
                       token_hash=hashlib.sha256(f"bench-{number}".encode()).hexdigest())

    bulk_insert(conn, Participant.__table__, participants())
    bulk_insert(conn, Enrollment.__table__, enrollment_rows())
    bulk_insert(conn, ManageLink.__table__, link_rows())
    return taken


# --- gunicorn ------------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (gunicorn's workers)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        return [int(p) for p in text.split()]
    except OSError:
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
        return found


def peak_rss_mb(pid: int) -> float:
    """The peak resident set size (VmHWM) of a process in MB, 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def memory_mb(pid: int) -> tuple[float, float]:
    """(private, proportional) memory of a process in MB: what it alone holds, and its share
    of pages shared with others (the master's imports, after fork); (0, 0) if it is gone."""
    values = {"Private_Clean": 0, "Private_Dirty": 0, "Pss": 0}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in values:
                values[name] = int(rest.split()[0])
    except OSError:
        pass
    return (values["Private_Clean"] + values["Private_Dirty"]) / 1024, values["Pss"] / 1024


class Gunicorn:
    """gunicorn with the repository's ``gunicorn.conf.py`` on a free port of 127.0.0.1.

    Samples the workers' peak RSS while it runs (workers replaced by ``max_requests`` count
    too) and stops the server it started, and only that one.
    """

    def __init__(self, app_spec: str, env: dict[str, str] | None = None,
                 workers: int | None = None, chdir: Path = ROOT, health: str = "/healthz"):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # Closed and removed in stop(): the server writes to it for as long as it runs.
        self.log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log",
                                               delete=False)
        environ = {**os.environ, **(env or {}), "BIND": f"127.0.0.1:{self.port}",
                   "ACCESS_LOG": "-"}
        if workers:
            environ["WEB_CONCURRENCY"] = str(workers)
        self.process = subprocess.Popen(
            [str(GUNICORN), "-c", str(ROOT / "gunicorn.conf.py"), "--chdir", str(chdir),
             app_spec],
            # Started in ``chdir``: gunicorn puts its starting directory on sys.path too, so
            # started in the repository root it would load this checkout's code, not chdir's.
            env=environ, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
            cwd=chdir,
        )
        self.peak_mb = 0.0
        self.peak_private_mb = 0.0
        self.peak_pss_mb = 0.0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._wait_until_up(health)
        self._sampler.start()

    def _wait_until_up(self, path: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: see {self.log.name}\n{self.log_tail()}")
            try:
                status, _body = get(self.base + path)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer {path} in {seconds} s")

    def _sample(self) -> None:
        while not self._stop.wait(0.25):
            self.sample()

    def sample(self) -> None:
        """Record the largest peak RSS among the current workers, and their private and
        proportional memory as sampled."""
        for pid in children(self.process.pid):
            self.peak_mb = max(self.peak_mb, peak_rss_mb(pid))
            private, pss = memory_mb(pid)
            self.peak_private_mb = max(self.peak_private_mb, private)
            self.peak_pss_mb = max(self.peak_pss_mb, pss)

    def memory_line(self) -> str:
        """The workers' peak RSS and what part of it is theirs alone."""
        return (f"{self.peak_mb:.1f} MB (sampled peaks: private {self.peak_private_mb:.1f} MB, "
                f"PSS {self.peak_pss_mb:.1f} MB)")

    def workers(self) -> list[int]:
        """The worker pids."""
        return children(self.process.pid)

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's log."""
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Stop gracefully (SIGTERM to the master), then by force; remove the log."""
        self.sample()
        self._stop.set()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)

    def __enter__(self) -> Gunicorn:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def app_env(url: str, **extra: str) -> dict[str, str]:
    """The environment that points the application at ``url`` (links and TRUSTED_HOSTS from
    127.0.0.1, where the benchmarks talk to it)."""
    return {"FLASK_DATABASE_URL": url, "FLASK_SECRET_KEY": SECRET_KEY,
            "FLASK_PUBLIC_BASE_URL": "http://127.0.0.1", **extra}


def now_utc() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)
